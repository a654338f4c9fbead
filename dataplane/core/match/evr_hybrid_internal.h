/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the hybrid index (evr_index_hybrid.c: write path and lifecycle;
 * evr_hybrid_match.c: read path; evr_hybrid_hs.c: Hyperscan sets and their
 * background compiles). The design note is at the top of evr_index_hybrid.c.
 * Structures, the hashes writer and readers must agree on, and the presence
 * bitmap live here; thread context is stated per function.
 */
#ifndef EVR_HYBRID_INTERNAL_H
#define EVR_HYBRID_INTERNAL_H

#include <hs/hs.h>
#include <string.h>

#include "evr_matcher_internal.h"
#include "evr_rcuhash.h"

#define MAX_LIT 63u        /* prefix/suffix index length cap (mask bit 63) */
#define MAX_SET_DBS 32u    /* base + deltas in one published set */
#define KIND_EXACT 0x45ULL
#define KIND_PREFIX 0x50ULL
#define KIND_SUFFIX 0x53ULL
#define KIND_INFIX 0x49ULL
#define QGRAM 8u /* infix index: substrings of exactly one 64-bit load */
#define SLOT_SEED_MUL 0x9ddfea08eb382d69ULL

struct evr_hs_db {
	hs_database_t *db;
	uint32_t n;
	size_t bytes;
	struct evr_sub_node **subs; /* pattern id -> subscription */
};

struct evr_hs_set {
	uint32_t n_dbs;
	uint32_t n_readers;
	size_t scratch_bytes;
	struct rcu_head rcu;
	struct evr_hs_db *dbs[MAX_SET_DBS];
	hs_scratch_t *scratch[]; /* one per reader, valid for every db */
};

struct evr_keyslot {
	uint32_t id;
	uint64_t hash;
	char *key;
	uint32_t key_len;
	/* reader-visible (atomic) */
	uint64_t prefix_mask, suffix_mask;
	uint32_t n_exact;
	uint32_t n_infix;
	uint64_t *gram2; /* RCU-stable once set: first two bytes of indexed
	                  * substrings (65536 bits), checked before hashing */
	uint64_t n_seen;          /* writer: filters on this key ever subscribed */
	uint64_t n_seen_distinct; /* writer: ... with a pattern not seen before */
	uint32_t n_sel_all; /* value-indexed subscriptions with selector ALL */
	uint32_t n_sel_sub; /* ... with CUSTOM + subclass */
	struct evr_hs_set *hs; /* RCU */
	/* writer */
	uint32_t prefix_cnt[MAX_LIT + 1], suffix_cnt[MAX_LIT + 1];
	struct cds_list_head pending;
	uint32_t n_pending;
	uint32_t n_hs_live;
	uint32_t n_tomb;
	uint32_t n_compiling;
	bool merging;
};

struct keydir_ent {
	uint64_t hash;
	struct evr_keyslot *slot;
};

struct keydir {
	uint32_t mask;
	struct rcu_head rcu;
	struct keydir_ent e[];
};

/*
 * Presence filter in front of the evr_rcuhash table: most prefix/suffix probes
 * miss, and a miss still costs a cache-cold slot load. One bit per hash
 * answers "certainly absent" with one cache access. It is sized to the
 * index, about 16 bits per entry (a 6% false-positive rate with one
 * hash), so a small index keeps it in L2: at a fixed 2 MiB every probe of
 * a 100k index missed L2 and the prefetches queued behind each other.
 * Growing refills a new one from the table, a few slots per writer call,
 * and publishes it under RCU. Removal leaves bits set; enough removals
 * refill it at its size (bloom_del).
 */
#define BLOOM_MIN_LOG2 12u /* 256 entries: small indexes (and the tests) grow it */
#define BLOOM_MAX_LOG2 27u
#define BLOOM_BITS_PER_ENTRY_LOG2 4u
/* removals before a same-size rebuild, at the least (the tests cross it) */
#define BLOOM_REBUILD_MIN 256u
#define GRAM_SEEN_LOG2 20u
#define LIT_SEEN_LOG2 22u

struct evr_bloom {
	uint32_t log2;
	struct rcu_head rcu;
	uint64_t *words; /* reader-visible bits (atomic words) */
};

/* Stats slot of a subscription's index kind: enum evr_idx_kind, and
 * complex globs indexed as a prefix/suffix (anchored) apart. */
#define HYB_IDX_ANCHORED (EVR_IDX_INFIX + 1)

struct hybrid {
	struct evr_rcuhash idx;   /* (kind, keyslot, literal) / event selector -> subs */
	struct evr_bloom *bloom;  /* RCU */
	uint64_t bloom_n;         /* writer: entries in the bloom */
	uint64_t bloom_stale;     /* writer: removed since the last rebuild */
	uint64_t bloom_rebuilds;  /* writer: refills published (growth or removals) */
	struct evr_bloom *bloom_next; /* writer: refill in progress (bloom_add) */
	const struct evr_rcuhash_table *bloom_src; /* writer: table it walks */
	uint64_t bloom_cursor;    /* writer: bloom_src slots [0, cursor) are in it */
	size_t bloom_faulted;     /* writer: its bytes [0, faulted) faulted in */
	uint16_t *gram_seen; /* writer: complex patterns seen per substring hash */
	uint8_t *lit_seen;   /* writer: filters seen per (key, pattern) hash */
	struct keydir *dir; /* RCU */
	struct evr_keyslot **slots;
	uint32_t n_slots, cap_slots;
	uint32_t n_event; /* atomic: subscriptions indexed by event selector */
	/* merge thread */
	pthread_t merger;
	bool merger_running, merger_stop;
	pthread_cond_t merge_kick;
	/* stats (writer) */
	uint64_t compiles, compile_errors, hs_bytes;
	uint64_t n_kind[HYB_IDX_ANCHORED + 1]; /* live, by hyb_stat_kind */
	/* read path: one burst scratch per reader index */
	struct hyb_reader *readers;
	uint32_t n_readers;
};

/* Read-path scratch bounds: a full scratch is flushed (the stages run over
 * what was collected) and collection goes on. */
#define HYB_BURST_PROBES 512u
#define HYB_BURST_CANDS 512u
#define HYB_BURST_HS 256u

struct idx_key {
	const struct evr_keyslot *slot;
	uint8_t kind;
	const char *p;
	uint32_t len;
	uint64_t sel_hash;
};

/* ---- hashing (writer and reader must agree) ---------------------------- */

static inline uint64_t slot_seed(const struct evr_keyslot *k, uint64_t dir)
{
	return EVR_HASH_SEED ^ ((uint64_t)(k->id + 1) * SLOT_SEED_MUL) ^ dir;
}

static inline uint64_t fin(uint64_t state, uint64_t kind)
{
	return evr_mix64(state ^ (kind * 0x8cb92ba72f3d8dd7ULL));
}

/*
 * Literal hashing, 8 bytes per step: the reader hashes every prefix (and
 * suffix) length a key has subscriptions for, so a per-byte chain (one
 * dependent multiply per byte) was most of a value's cost. Here the state
 * advances one multiply per word; the hash of length L is one more step on
 * its partial word, then one mix that also takes the length, the index
 * kind and the event selector (probe_hash). Writer and reader must agree:
 * lit_hash_prefix/lit_hash_suffix (writer, over the literal) and the
 * reader's loops in evr_hybrid_match.c compute the same words.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "word loads assume little endian");
#define LIT_MUL 0x9e3779b97f4a7c15ULL

static inline uint64_t lit_step(uint64_t s, uint64_t w)
{
	s = (s ^ w) * LIT_MUL;
	return s ^ (s >> 29); /* bring high bits down for the next step */
}

/* The low r (1..8) bytes of w. */
static inline uint64_t lit_low(uint64_t w, uint32_t r)
{
	return r >= 8 ? w : w & ((1ULL << (8 * r)) - 1);
}

/* v[off..off+8), zero past len (off < len). */
static inline uint64_t word_at(const char *v, uint32_t len, uint32_t off)
{
	uint64_t w = 0;
	if (off + 8 <= len) {
		memcpy(&w, v + off, 8);
	} else if (len >= 8) {
		memcpy(&w, v + len - 8, 8);
		w >>= 8 * (off + 8 - len);
	} else {
		for (uint32_t i = off; i < len; i++)
			w |= (uint64_t)(unsigned char)v[i] << (8 * (i - off));
	}
	return w;
}

/* v[end-8..end), zero before v (end may be < 8; len is v's length). */
static inline uint64_t word_end(const char *v, uint32_t len, uint32_t end)
{
	uint64_t w = 0;
	if (end >= 8) {
		memcpy(&w, v + end - 8, 8);
	} else if (len >= 8) {
		memcpy(&w, v, 8);
		w <<= 8 * (8 - end);
	} else {
		for (uint32_t i = 0; i < end; i++)
			w |= (uint64_t)(unsigned char)v[i] << (8 * (8 - end + i));
	}
	return w;
}

/* The top r (1..8) bytes of w, shifted down. */
static inline uint64_t lit_high(uint64_t w, uint32_t r)
{
	return r >= 8 ? w : w >> (8 * (8 - r));
}

/* State of the first L bytes of p (p holds exactly L bytes). */
static inline uint64_t lit_hash_prefix(uint64_t s, const char *p, uint32_t L)
{
	if (L == 0)
		return s;
	uint32_t k = (L - 1) / 8;
	for (uint32_t i = 0; i < k; i++)
		s = lit_step(s, word_at(p, L, 8 * i));
	return lit_step(s, lit_low(word_at(p, L, 8 * k), L - 8 * k));
}

/* State of the L bytes of p read from the end (p is the suffix itself). */
static inline uint64_t lit_hash_suffix(uint64_t s, const char *p, uint32_t L)
{
	if (L == 0)
		return s;
	uint32_t k = (L - 1) / 8;
	for (uint32_t i = 0; i < k; i++)
		s = lit_step(s, word_end(p, L, L - 8 * i));
	return lit_step(s, lit_high(word_end(p, L, L - 8 * k), L - 8 * k));
}

/*
 * The index hash of a value-indexed entry: its literal's state, length,
 * kind and event selector in one mix. The selector is in the hash so an
 * event only finds subscriptions for its own name (subscribers of
 * E_UL_AOR_INSERT and E_UL_CONTACT_INSERT for the same AOR share a literal
 * but not a bucket). Readers probe the event's name, and only when the key
 * has such subscriptions its name+subclass and ALL.
 */
static inline uint64_t probe_hash(uint64_t state, uint32_t len, uint64_t kind,
                                  uint64_t sel_hash)
{
	return evr_mix64(state ^ ((uint64_t)len * 0xd6e8feb86659fd93ULL) ^
	                 (kind * 0x8cb92ba72f3d8dd7ULL) ^ sel_hash);
}

static inline uint64_t infix_hash(const struct evr_keyslot *k, const char *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return fin(slot_seed(k, 2) ^ (w * 0x9e3779b97f4a7c15ULL), KIND_INFIX);
}

static inline int idx_match(const struct evr_sub_node *n, const struct idx_key *k)
{
	if (n->idx_kind != k->kind)
		return 0;
	if (k->kind == EVR_IDX_EVENT)
		return n->s.ev_hash == k->sel_hash;
	return n->slot == k->slot && n->idx_lit_len == k->len &&
	       memcmp(n->idx_lit, k->p, k->len) == 0;
}

static inline uint32_t bloom_bit(const struct evr_bloom *b, uint64_t h)
{
	return (uint32_t)(h >> (64 - b->log2));
}

static inline bool bloom_test(const struct evr_bloom *b, uint64_t h)
{
	uint32_t i = bloom_bit(b, h);
	return (__atomic_load_n(&b->words[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1;
}

static inline void bloom_prefetch(const struct evr_bloom *b, uint64_t h)
{
	__builtin_prefetch(&b->words[bloom_bit(b, h) >> 6]);
}

/* ---- key directory ------------------------------------------------------ */

static inline struct evr_keyslot *keydir_find(const struct keydir *d, uint64_t h,
                                       const char *name, uint32_t len)
{
	if (!d)
		return NULL;
	for (uint32_t i = (uint32_t)h & d->mask;; i = (i + 1) & d->mask) {
		const struct keydir_ent *e = &d->e[i];
		if (!e->slot)
			return NULL;
		if (e->hash == h && e->slot->key_len == len &&
		    evr_ieq(e->slot->key, name, len))
			return e->slot;
	}
}

/* ---- across the three files ---------------------------------------------- */

/* Write path (evr_index_hybrid.c), matcher lock held: index n under its
 * event selector (also where patterns Hyperscan refuses end up). */
int hyb_add_event_idx(struct hybrid *x, struct evr_sub_node *n);

/* Hyperscan sets (evr_hybrid_hs.c). */
void hyb_hs_db_free(struct evr_hs_db *db);
void hyb_set_free(struct evr_hs_set *s);
/* Writer lock NOT held (takes it around each step): compile pending
 * filters into deltas, merge when due. The matcher's maintenance thread,
 * or evr_matcher_sync's caller when there is none (tests). */
bool hyb_maintain(struct evr_matcher *m, bool merge_now);
/* The merge thread's body (started by hybrid_init). */
void *hyb_merger_main(void *arg);

/* Read path (evr_hybrid_match.c): any registered reader thread, using
 * its own reader index's scratch. */
uint32_t hyb_match(struct evr_matcher *m, unsigned reader, const struct evr_event *const *evs,
                   uint32_t n_ev, uint64_t now_ms, struct evr_match_burst *b,
                   struct evr_match_stats *st);
/* The per-reader scratch (init/fini run with the index). */
int hyb_readers_init(struct hybrid *x, uint32_t n);
void hyb_readers_fini(struct hybrid *x);

#endif /* EVR_HYBRID_INTERNAL_H */
