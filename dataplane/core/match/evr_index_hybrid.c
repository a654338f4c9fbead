/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hybrid index: hash first, Hyperscan only for what hashing cannot do.
 *
 * Design note. Linear matching (EBR) costs O(subscriptions) per event and
 * one Hyperscan database over every filter neither compiles at 1M nor scans
 * fast (shared suffixes like "@example.com" defeat its literal matcher). So:
 *
 *  - Each subscription is indexed under ONE filter, its most selective
 *    (exact > long prefix/suffix > complex glob > short prefix/suffix); the
 *    other filters are verified only for candidates. Subscriptions without
 *    filters, and lenient ones (a filter on a missing key passes, so no
 *    filter can be required), are indexed by event selector.
 *  - Attribute keys map to a keyslot through a small immutable open-
 *    addressing directory (copy-on-write, RCU-published; keys are few).
 *  - One liburcu lock-free hash table (lfht) holds every indexed subscription
 *    keyed by (keyslot, kind, literal): exact values, prefixes and suffixes
 *    (literals longer than 63 bytes are indexed by their first/last 63 bytes
 *    and fully verified). Per keyslot, a bitmask of the prefix/suffix lengths
 *    present tells the reader which lengths to probe; one forward and one
 *    backward pass over the value produce every prefix/suffix hash.
 *  - Complex globs go to a per-keyslot Hyperscan set: a base database plus
 *    small delta databases, compiled by background threads off the read
 *    path. Removal is a tombstone (the subscription's `removed` flag) until a
 *    merge recompiles the base without it. Per-reader scratch valid for every
 *    database of a set is allocated before the set is published.
 *
 * Readers (dataplane cores) take no lock: rcu_dereference of the directory
 * and sets, lfht lookups, hs_scan with their own scratch. Writers hold the
 * matcher lock; they publish with rcu_assign_pointer / lfht add+del and free
 * with call_rcu. The Hyperscan compile runs without the lock.
 */
#include <errno.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
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
 * Presence filter in front of the lfht: most prefix/suffix probes miss, and
 * an lfht miss still walks a chain of cache-cold nodes. One bit per hash
 * bucket (2 MiB, stays in L2/L3) answers "certainly absent" with one cache
 * access. Writer-side counts let bits be cleared on removal (a saturated
 * count keeps its bit: a false positive costs one lookup, never a miss).
 */
#define BLOOM_BITS_LOG2 24u
#define BLOOM_BITS (1u << BLOOM_BITS_LOG2)
#define GRAM_SEEN_LOG2 20u
#define LIT_SEEN_LOG2 22u

struct hybrid {
	struct evr_rh idx;   /* (kind, keyslot, literal) / event selector -> subs */
	uint64_t *bloom;     /* reader-visible bits (atomic words) */
	uint8_t *bloom_cnt;  /* writer counts per bit */
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
};

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

static uint64_t hash_forward(const struct evr_keyslot *k, const char *p, size_t n)
{
	return evr_fnv1a(slot_seed(k, 0), p, n);
}

static uint64_t hash_backward(const struct evr_keyslot *k, const char *p, size_t n)
{
	uint64_t s = slot_seed(k, 1);
	for (size_t i = n; i-- > 0;)
		s = (s ^ (unsigned char)p[i]) * EVR_HASH_MUL;
	return s;
}

/*
 * Value-indexed entries also hash their event selector, so an event only
 * finds subscriptions for its own name (subscribers of E_UL_AOR_INSERT
 * and E_UL_CONTACT_INSERT for the same AOR share a literal but not a
 * bucket). Readers probe the event's name, and only when the key has such
 * subscriptions its name+subclass and ALL.
 */
static inline uint64_t sel_mix(uint64_t base, uint64_t sel_hash)
{
	return evr_mix64(base ^ sel_hash);
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

static inline uint32_t bloom_bit(uint64_t h)
{
	return (uint32_t)(h >> (64 - BLOOM_BITS_LOG2));
}

static inline bool bloom_test(const struct hybrid *x, uint64_t h)
{
	uint32_t b = bloom_bit(h);
	return (__atomic_load_n(&x->bloom[b >> 6], __ATOMIC_RELAXED) >> (b & 63)) & 1;
}

/* writer: set before the node is published */
static void bloom_add(struct hybrid *x, uint64_t h)
{
	uint32_t b = bloom_bit(h);
	if (x->bloom_cnt[b] != UINT8_MAX && x->bloom_cnt[b]++ == 0)
		__atomic_or_fetch(&x->bloom[b >> 6], 1ULL << (b & 63), __ATOMIC_RELEASE);
}

/* writer: after the node is unpublished */
static void bloom_del(struct hybrid *x, uint64_t h)
{
	uint32_t b = bloom_bit(h);
	if (x->bloom_cnt[b] != UINT8_MAX && --x->bloom_cnt[b] == 0)
		__atomic_and_fetch(&x->bloom[b >> 6], ~(1ULL << (b & 63)), __ATOMIC_RELEASE);
}

/* ---- key directory ------------------------------------------------------ */

static struct evr_keyslot *keydir_find(const struct keydir *d, uint64_t h,
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

static void keydir_free_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct keydir, rcu));
}

/* Writer: find or create the keyslot for a lowercased key. */
static struct evr_keyslot *slot_get(struct hybrid *x, const char *key, uint32_t len)
{
	uint64_t h = evr_hash_lc(key, len);
	struct evr_keyslot *k = keydir_find(x->dir, h, key, len);
	if (k)
		return k;
	if (x->n_slots == x->cap_slots) {
		uint32_t cap = x->cap_slots ? x->cap_slots * 2 : 16;
		struct evr_keyslot **ns = realloc(x->slots, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		x->slots = ns;
		x->cap_slots = cap;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->key = strndup(key, len);
	if (!k->key) {
		free(k);
		return NULL;
	}
	k->key_len = len;
	k->hash = h;
	k->id = x->n_slots;
	CDS_INIT_LIST_HEAD(&k->pending);
	/* new directory with load factor <= 1/2 */
	uint32_t cap = 16;
	while (cap < 2 * (x->n_slots + 1))
		cap *= 2;
	struct keydir *d = calloc(1, sizeof(*d) + cap * sizeof(d->e[0]));
	if (!d) {
		free(k->key);
		free(k);
		return NULL;
	}
	d->mask = cap - 1;
	x->slots[x->n_slots++] = k;
	for (uint32_t s = 0; s < x->n_slots; s++) {
		struct evr_keyslot *ks = x->slots[s];
		uint32_t i = (uint32_t)ks->hash & d->mask;
		while (d->e[i].slot)
			i = (i + 1) & d->mask;
		d->e[i].hash = ks->hash;
		d->e[i].slot = ks;
	}
	struct keydir *old = x->dir;
	rcu_assign_pointer(x->dir, d);
	if (old)
		call_rcu(&old->rcu, keydir_free_rcu);
	return k;
}

/* ---- Hyperscan sets ----------------------------------------------------- */

static void hs_db_free(struct evr_hs_db *db)
{
	if (!db)
		return;
	hs_free_database(db->db);
	free(db->subs);
	free(db);
}

static void set_free(struct evr_hs_set *s)
{
	for (uint32_t r = 0; r < s->n_readers; r++)
		hs_free_scratch(s->scratch[r]);
	free(s);
}

static void set_free_rcu(struct rcu_head *h)
{
	set_free(caa_container_of(h, struct evr_hs_set, rcu));
}

/* Build a set over dbs with per-reader scratch; NULL on failure. */
static struct evr_hs_set *set_build(struct evr_matcher *m, struct evr_hs_db **dbs,
                                    uint32_t n)
{
	uint32_t nr = m->conf.max_readers;
	struct evr_hs_set *s = calloc(1, sizeof(*s) + nr * sizeof(s->scratch[0]));
	if (!s)
		return NULL;
	hs_scratch_t *proto = NULL;
	for (uint32_t i = 0; i < n; i++) {
		s->dbs[i] = dbs[i];
		if (hs_alloc_scratch(dbs[i]->db, &proto) != HS_SUCCESS)
			goto fail;
	}
	s->n_dbs = n;
	if (proto) {
		size_t sz = 0;
		hs_scratch_size(proto, &sz);
		for (uint32_t r = 0; r < nr; r++) {
			if (hs_clone_scratch(proto, &s->scratch[r]) != HS_SUCCESS)
				goto fail;
			s->n_readers = r + 1;
		}
		s->scratch_bytes = sz * nr;
		hs_free_scratch(proto);
	}
	return s;
fail:
	hs_free_scratch(proto);
	set_free(s);
	return NULL;
}

/*
 * Compile subs[0..n) (their indexed filter) into one database. A pattern
 * Hyperscan refuses is moved to the event index (fully verified there), so
 * one odd glob never blocks the others. Runs without the lock: it reads only
 * immutable filter data. Returns NULL with *n == 0 when nothing is left.
 */
static struct evr_hs_db *hs_compile_subs(struct evr_sub_node **subs,
                                         uint32_t *n, struct evr_sub_node **rejected,
                                         uint32_t *n_rej, uint64_t *compiles,
                                         uint64_t *errors)
{
	uint32_t cnt = *n;
	if (!cnt)
		return NULL;
	char **exprs = calloc(cnt, sizeof(*exprs));
	unsigned *flags = calloc(cnt, sizeof(*flags));
	unsigned *ids = calloc(cnt, sizeof(*ids));
	struct evr_hs_db *db = NULL;
	if (!exprs || !flags || !ids)
		goto out;
	for (uint32_t i = 0; i < cnt; i++) {
		const struct evr_filter *f = &subs[i]->s.filters[subs[i]->s.idx_filter];
		int len = -ENOSPC;
		for (size_t cap = 4096; len == -ENOSPC && cap <= (1u << 22); cap *= 4) {
			free(exprs[i]);
			exprs[i] = malloc(cap);
			len = exprs[i] ? evr_glob_to_regex(f->glob, exprs[i], cap) : -ENOMEM;
		}
		if (len < 0) {
			/* cannot translate: verify it the slow way */
			rejected[(*n_rej)++] = subs[i];
			subs[i] = NULL;
			continue;
		}
		flags[i] = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH;
	}
	for (;;) {
		/* compact out rejected entries */
		uint32_t w = 0;
		for (uint32_t i = 0; i < cnt; i++) {
			if (!subs[i]) {
				free(exprs[i]);
				continue;
			}
			subs[w] = subs[i];
			exprs[w] = exprs[i];
			flags[w] = flags[i];
			ids[w] = w;
			w++;
		}
		cnt = w;
		if (!cnt)
			break;
		hs_database_t *hdb = NULL;
		hs_compile_error_t *ce = NULL;
		(*compiles)++;
		hs_error_t rc = hs_compile_multi((const char *const *)exprs, flags, ids, cnt,
		                                 HS_MODE_BLOCK, NULL, &hdb, &ce);
		if (rc == HS_SUCCESS) {
			db = calloc(1, sizeof(*db));
			struct evr_sub_node **dsubs = malloc(cnt * sizeof(*dsubs));
			if (!db || !dsubs) {
				free(db);
				free(dsubs);
				hs_free_database(hdb);
				db = NULL;
				for (uint32_t i = 0; i < cnt; i++)
					rejected[(*n_rej)++] = subs[i];
				cnt = 0;
				break;
			}
			memcpy(dsubs, subs, cnt * sizeof(*dsubs));
			db->db = hdb;
			db->n = cnt;
			db->subs = dsubs;
			hs_database_size(hdb, &db->bytes);
			break;
		}
		(*errors)++;
		int bad = ce ? ce->expression : -1;
		hs_free_compile_error(ce);
		if (bad < 0 || (uint32_t)bad >= cnt) {
			/* whole-database failure (resource limit): give up on HS
			 * for this batch; the event index verifies them instead */
			for (uint32_t i = 0; i < cnt; i++) {
				rejected[(*n_rej)++] = subs[i];
				free(exprs[i]);
			}
			cnt = 0;
			break;
		}
		rejected[(*n_rej)++] = subs[bad];
		subs[bad] = NULL;
	}
	for (uint32_t i = 0; i < cnt; i++)
		free(exprs[i]);
out:
	free(exprs);
	free(flags);
	free(ids);
	*n = cnt;
	return db;
}

/* ---- writer: add/del ----------------------------------------------------- */

/*
 * Complex globs that require a literal run of at least QGRAM bytes are
 * indexed by one QGRAM-byte substring of it, chosen where the index is
 * least crowded (the presence bitmap's writer counts), so shared runs such
 * as ".example.com" are avoided once they fill up. Readers probe every
 * QGRAM-byte window of the value: one 64-bit load and a multiply each,
 * filtered by the presence bitmap. Only globs without such a run go to
 * Hyperscan.
 */
struct infix_pick {
	struct hybrid *x;
	const struct evr_keyslot *k;
	uint64_t selh;
	bool count;
	char best[QGRAM];
	uint32_t best_seen, best_cnt;
	bool found;
};

static inline uint32_t gram_slot(uint64_t h)
{
	return (uint32_t)(h >> (64 - GRAM_SEEN_LOG2));
}

/*
 * Crowding alone is the wrong measure: a substring every pattern shares
 * (".example") also occurs in almost every event value, so whoever is
 * indexed under it is a candidate for every event. gram_seen counts how
 * many complex patterns contained each substring; the pick minimises that
 * first, then the current crowding.
 */
static void infix_run(void *ctx, const char *run, size_t len)
{
	struct infix_pick *p = ctx;
	for (size_t i = 0; i + QGRAM <= len; i++) {
		uint64_t h = infix_hash(p->k, run + i);
		uint16_t *seen = &p->x->gram_seen[gram_slot(h)];
		if (p->count) {
			if (*seen != UINT16_MAX)
				(*seen)++;
			continue;
		}
		uint32_t c = p->x->bloom_cnt[bloom_bit(sel_mix(h, p->selh))];
		/* Before history accumulates every count is 0: a prior keeps the
		 * first subscriptions off shared text. Digit-rich windows are
		 * identifiers (user numbers, call-ids), letters are domains and
		 * product names. Later windows win ties ("0012345@" over
		 * "user0012"). */
		uint32_t digits = 0;
		for (uint32_t j = 0; j < QGRAM; j++)
			digits += (unsigned)(run[i + j] - '0') < 10u;
		uint32_t cost = *seen + 16u * (QGRAM - digits);
		if (!p->found || cost < p->best_seen ||
		    (cost == p->best_seen && c <= p->best_cnt)) {
			memcpy(p->best, run + i, QGRAM);
			p->best_seen = cost;
			p->best_cnt = c;
			p->found = true;
		}
	}
}

static bool pick_infix(struct hybrid *x, struct evr_keyslot *k, struct evr_sub_node *n,
                       const struct evr_filter *f)
{
	/* substrings were counted for every filter in hybrid_add */
	struct infix_pick p = {.x = x, .k = k, .count = false, .selh = n->s.ev_hash};
	evr_glob_literal_runs(f->glob, infix_run, &p);
	if (!p.found)
		return false;
	const char *lit = evr_node_inline(n, p.best, QGRAM);
	if (!lit)
		return false; /* no room: Hyperscan it is */
	if (!k->gram2) {
		uint64_t *g2 = calloc(65536 / 64, sizeof(uint64_t));
		if (!g2)
			return false;
		rcu_assign_pointer(k->gram2, g2);
	}
	unsigned b2 = (unsigned char)lit[0] | (unsigned)(unsigned char)lit[1] << 8;
	/* bits are never cleared: a stale one costs a hash, never a miss */
	__atomic_or_fetch(&k->gram2[b2 >> 6], 1ULL << (b2 & 63), __ATOMIC_RELEASE);
	n->idx_kind = EVR_IDX_INFIX;
	n->idx_lit = lit;
	n->idx_lit_len = QGRAM;
	n->idx_truncated = 1; /* the substring proves nothing: verify the glob */
	n->idx_hash = sel_mix(infix_hash(k, lit), n->s.ev_hash);
	__atomic_add_fetch(&k->n_infix, 1, __ATOMIC_RELEASE);
	return true;
}

static int filter_score(const struct evr_filter *f)
{
	switch (f->cls) {
	case EVR_GLOB_EXACT:
		return 1000 + (int)f->lit_len;
	case EVR_GLOB_PREFIX:
	case EVR_GLOB_SUFFIX:
		return f->lit_len >= 3 ? 100 + (int)(f->lit_len > MAX_LIT ? MAX_LIT : f->lit_len)
		                       : 10 + (int)f->lit_len;
	default:
		return 60;
	}
}

static int add_event_idx(struct hybrid *x, struct evr_sub_node *n)
{
	n->idx_kind = EVR_IDX_EVENT;
	n->slot = NULL;
	n->idx_hash = n->s.ev_hash;
	__atomic_add_fetch(&x->n_event, 1, __ATOMIC_RELEASE);
	bloom_add(x, n->idx_hash);
	return evr_rh_add(&x->idx, n->idx_hash, n);
}

/* Writer: selector-kind counts tell readers which hash variants to probe
 * (set before the node is published, cleared after it is gone). */
static void sel_count(struct evr_keyslot *k, const struct evr_sub *s, int d)
{
	if (s->sel == EVR_SEL_ALL)
		__atomic_add_fetch(&k->n_sel_all, (uint32_t)d, __ATOMIC_RELEASE);
	else if (s->sel == EVR_SEL_SUBCLASS)
		__atomic_add_fetch(&k->n_sel_sub, (uint32_t)d, __ATOMIC_RELEASE);
}

static int hybrid_add(struct evr_matcher *m, struct evr_sub_node *n)
{
	struct hybrid *x = m->index;
	struct evr_sub *s = &n->s;
	if (s->lenient || s->n_filters == 0) {
		s->idx_filter = UINT32_MAX;
		return add_event_idx(x, n);
	}
	/* Literal length alone is a poor proxy for selectivity: every
	 * "Grandstream*" user_agent prefix is long, but all such subscribers
	 * share one bucket that every Grandstream event probes, and most of
	 * them then fail their aor filter. Weigh each filter's class score by
	 * how distinct its key's indexed literals have been so far (AORs: all
	 * different; user agents: a handful). */
	uint32_t best = 0;
	double best_score = -1;
	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct evr_filter *fi = &s->filters[i];
		struct evr_keyslot *ki = slot_get(x, fi->key, fi->key_len);
		if (!ki)
			return -ENOMEM;
		/* every literal substring of every filter feeds the
		 * commonness counts the substring index picks by */
		struct infix_pick cp = {.x = x, .k = ki, .count = true};
		if (fi->glob)
			evr_glob_literal_runs(fi->glob, infix_run, &cp);
		else
			infix_run(&cp, fi->lit, fi->lit_len);
		/* every filter seen on this key, indexed or not, feeds its
		 * distinct-value ratio */
		uint64_t h = evr_mix64(hash_forward(ki, fi->text, strlen(fi->text)) ^ fi->cls);
		uint8_t *seen = &x->lit_seen[h >> (64 - LIT_SEEN_LOG2)];
		ki->n_seen++;
		if (*seen == 0)
			ki->n_seen_distinct++;
		if (*seen != UINT8_MAX)
			(*seen)++;
		double distinct = (double)ki->n_seen_distinct / (double)ki->n_seen;
		double sc = filter_score(fi) * distinct;
		if (sc > best_score) {
			best_score = sc;
			best = i;
		}
	}
	const struct evr_filter *f = &s->filters[best];
	struct evr_keyslot *k = slot_get(x, f->key, f->key_len);
	if (!k)
		return -ENOMEM;
	s->idx_filter = best;
	n->slot = k;
	switch (f->cls) {
	case EVR_GLOB_EXACT:
		n->idx_kind = EVR_IDX_EXACT;
		n->idx_lit = evr_node_inline(n, f->lit, f->lit_len);
		if (!n->idx_lit)
			n->idx_lit = f->lit;
		n->idx_lit_len = f->lit_len;
		n->idx_hash = sel_mix(fin(hash_forward(k, f->lit, f->lit_len), KIND_EXACT), s->ev_hash);
		__atomic_add_fetch(&k->n_exact, 1, __ATOMIC_RELEASE);
		break;
	case EVR_GLOB_PREFIX: {
		uint32_t L = f->lit_len > MAX_LIT ? MAX_LIT : f->lit_len;
		n->idx_kind = EVR_IDX_PREFIX;
		n->idx_lit = evr_node_inline(n, f->lit, L);
		if (!n->idx_lit)
			n->idx_lit = f->lit;
		n->idx_lit_len = L;
		n->idx_truncated = L != f->lit_len;
		n->idx_hash = sel_mix(fin(hash_forward(k, f->lit, L), KIND_PREFIX), s->ev_hash);
		/* mask bit before the node: a reader may probe in vain, never miss */
		if (k->prefix_cnt[L]++ == 0)
			__atomic_or_fetch(&k->prefix_mask, 1ULL << L, __ATOMIC_RELEASE);
		break;
	}
	case EVR_GLOB_SUFFIX: {
		uint32_t L = f->lit_len > MAX_LIT ? MAX_LIT : f->lit_len;
		n->idx_kind = EVR_IDX_SUFFIX;
		n->idx_lit = evr_node_inline(n, f->lit + (f->lit_len - L), L);
		if (!n->idx_lit)
			n->idx_lit = f->lit + (f->lit_len - L);
		n->idx_lit_len = L;
		n->idx_truncated = L != f->lit_len;
		n->idx_hash = sel_mix(fin(hash_backward(k, n->idx_lit, L), KIND_SUFFIX), s->ev_hash);
		if (k->suffix_cnt[L]++ == 0)
			__atomic_or_fetch(&k->suffix_mask, 1ULL << L, __ATOMIC_RELEASE);
		break;
	}
	default:
		if (pick_infix(x, k, n, f))
			break;
		n->idx_kind = EVR_IDX_HS;
		n->hs_pending = 1;
		cds_list_add_tail(&n->hs_link, &k->pending);
		k->n_pending++;
		return 0;
	}
	sel_count(k, &n->s, 1);
	bloom_add(x, n->idx_hash);
	return evr_rh_add(&x->idx, n->idx_hash, n);
}

static void hybrid_del(struct evr_matcher *m, struct evr_sub_node *n)
{
	struct hybrid *x = m->index;
	struct evr_keyslot *k = n->slot;
	switch (n->idx_kind) {
	case EVR_IDX_EVENT:
		evr_rh_del(&x->idx, n->idx_hash, n);
		__atomic_sub_fetch(&x->n_event, 1, __ATOMIC_RELAXED);
		break;
	case EVR_IDX_EXACT:
		evr_rh_del(&x->idx, n->idx_hash, n);
		__atomic_sub_fetch(&k->n_exact, 1, __ATOMIC_RELAXED);
		break;
	case EVR_IDX_INFIX:
		evr_rh_del(&x->idx, n->idx_hash, n);
		__atomic_sub_fetch(&k->n_infix, 1, __ATOMIC_RELAXED);
		break;
	case EVR_IDX_PREFIX:
		evr_rh_del(&x->idx, n->idx_hash, n);
		if (--k->prefix_cnt[n->idx_lit_len] == 0)
			__atomic_and_fetch(&k->prefix_mask, ~(1ULL << n->idx_lit_len),
			                   __ATOMIC_RELEASE);
		break;
	case EVR_IDX_SUFFIX:
		evr_rh_del(&x->idx, n->idx_hash, n);
		if (--k->suffix_cnt[n->idx_lit_len] == 0)
			__atomic_and_fetch(&k->suffix_mask, ~(1ULL << n->idx_lit_len),
			                   __ATOMIC_RELEASE);
		break;
	case EVR_IDX_HS:
		if (n->hs_pending) {
			/* never published to readers */
			cds_list_del(&n->hs_link);
			k->n_pending--;
			n->hs_pending = 0;
			evr_sub_node_free_rcu(n);
			return;
		}
		/* in a database (or being compiled into one): a tombstone until
		 * a merge drops it; the merge releases the node */
		k->n_tomb++;
		if (n->hs_db)
			k->n_hs_live--;
		return;
	default:
		break;
	}
	if (n->idx_kind != EVR_IDX_EVENT)
		sel_count(k, &n->s, -1);
	bloom_del(x, n->idx_hash);
	evr_sub_node_free_rcu(n);
}

/* ---- reader ------------------------------------------------------------- */

struct mctx {
	struct evr_matcher *m;
	const struct evr_event *ev;
	const struct evr_ev_sel *es;
	const struct evr_sub **out;
	uint32_t n, cap;
	bool dup_keys; /* the event repeats an indexed key: dedupe output */
	uint64_t now;
	struct evr_match_stats *st;
	const struct evr_hs_db *db;
	struct probe_batch *batch;
	const struct hybrid *x;
};

static inline void emit(struct mctx *c, const struct evr_sub *s, uint32_t skip)
{
	if (c->dup_keys) {
		for (uint32_t i = 0; i < c->n; i++)
			if (c->out[i] == s)
				return;
	}
	if (!evr_sub_accept(s, c->ev, c->es, skip, c->now, c->st))
		return;
	if (c->n < c->cap)
		c->out[c->n++] = s;
	else
		c->st->overflow++;
}

/*
 * Probes are collected per event, filtered through the presence bitmap, and
 * their home slots prefetched, so the cache misses of one event overlap
 * instead of being paid one after another.
 */
#define MAX_PROBES 256

struct probe {
	uint64_t h;
	struct idx_key k;
};

struct probe_batch {
	uint32_t n;
	const struct evr_rh_table *t;
	struct probe p[MAX_PROBES];
};

static void batch_run(struct mctx *c, struct probe_batch *b)
{
	/* pass 1: presence bits (prefetched by probe()); keep the survivors
	 * and prefetch their table slots, so only likely hits pull lines */
	uint32_t live = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		if (!bloom_test(c->x, b->p[i].h))
			continue;
		evr_rh_prefetch(b->t, b->p[i].h);
		b->p[live++] = b->p[i];
	}
	b->n = live;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct probe *pr = &b->p[i];
		const struct evr_sub_node *n;
		EVR_RH_FOREACH(b->t, pr->h, si, n) {
			if (!idx_match(n, &pr->k))
				continue;
			uint32_t skip = n->s.idx_filter;
			/* truncated prefix/suffix literal: verify the full filter */
			if (n->idx_truncated)
				skip = UINT32_MAX;
			/* a value may repeat a substring: same candidate twice */
			if (pr->k.kind == EVR_IDX_INFIX && !c->dup_keys) {
				c->dup_keys = true;
				emit(c, &n->s, skip);
				c->dup_keys = false;
				continue;
			}
			emit(c, &n->s, skip);
		}
	}
	b->n = 0;
}

static inline void probe(struct mctx *c, struct hybrid *x, uint64_t h,
                         const struct idx_key *k)
{
	struct probe_batch *b = c->batch;
	if (b->n == MAX_PROBES)
		batch_run(c, b);
	/* the presence bit is loaded now and tested in batch_run */
	__builtin_prefetch(&x->bloom[bloom_bit(h) >> 6]);
	b->p[b->n].h = h;
	b->p[b->n].k = *k;
	b->n++;
}

static inline void probe_sel(struct mctx *c, struct hybrid *x, const struct evr_keyslot *k,
                             uint64_t base, const struct idx_key *key)
{
	probe(c, x, sel_mix(base, c->es->name_hash), key);
	if (c->es->sub_hash && __atomic_load_n(&k->n_sel_sub, __ATOMIC_ACQUIRE))
		probe(c, x, sel_mix(base, c->es->sub_hash), key);
	if (__atomic_load_n(&k->n_sel_all, __ATOMIC_ACQUIRE))
		probe(c, x, sel_mix(base, EVR_SEL_ALL_HASH), key);
}

static int hs_on_match(unsigned int id, unsigned long long from, unsigned long long to,
                       unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	struct mctx *c = ctx;
	if (id < c->db->n) {
		const struct evr_sub_node *n = c->db->subs[id];
		emit(c, &n->s, n->s.idx_filter);
	}
	return 0;
}

static void match_value(struct mctx *c, struct hybrid *x, struct evr_keyslot *k,
                        unsigned reader, const char *v, uint32_t len)
{
	uint64_t pm = __atomic_load_n(&k->prefix_mask, __ATOMIC_ACQUIRE);
	uint64_t sm = __atomic_load_n(&k->suffix_mask, __ATOMIC_ACQUIRE);
	uint32_t ne = __atomic_load_n(&k->n_exact, __ATOMIC_ACQUIRE);
	struct idx_key key = {.slot = k, .p = v};

	if (ne || pm) {
		uint64_t s = slot_seed(k, 0);
		/* lengths above the highest mask bit need no prefix probe; the
		 * exact probe needs the whole value */
		uint32_t stop = ne ? len : (pm ? 64u - (uint32_t)__builtin_clzll(pm) : 0);
		if (stop > len)
			stop = len;
		if (pm & 1) {
			key.kind = EVR_IDX_PREFIX;
			key.len = 0;
			probe_sel(c, x, k, fin(s, KIND_PREFIX), &key);
		}
		for (uint32_t i = 0; i < stop; i++) {
			s = (s ^ (unsigned char)v[i]) * EVR_HASH_MUL;
			uint32_t L = i + 1;
			if (L <= MAX_LIT && ((pm >> L) & 1)) {
				key.kind = EVR_IDX_PREFIX;
				key.len = L;
				probe_sel(c, x, k, fin(s, KIND_PREFIX), &key);
			}
		}
		if (ne && stop == len) {
			key.kind = EVR_IDX_EXACT;
			key.len = len;
			probe_sel(c, x, k, fin(s, KIND_EXACT), &key);
		}
	}
	if (sm) {
		uint64_t s = slot_seed(k, 1);
		uint32_t stop = 64u - (uint32_t)__builtin_clzll(sm);
		if (stop > len)
			stop = len;
		key.kind = EVR_IDX_SUFFIX;
		if (sm & 1) {
			key.p = v + len;
			key.len = 0;
			probe_sel(c, x, k, fin(s, KIND_SUFFIX), &key);
		}
		for (uint32_t i = 0; i < stop; i++) {
			s = (s ^ (unsigned char)v[len - 1 - i]) * EVR_HASH_MUL;
			uint32_t L = i + 1;
			if ((sm >> L) & 1) {
				key.p = v + len - L;
				key.len = L;
				probe_sel(c, x, k, fin(s, KIND_SUFFIX), &key);
			}
		}
	}
	if (len >= QGRAM && __atomic_load_n(&k->n_infix, __ATOMIC_ACQUIRE)) {
		key.kind = EVR_IDX_INFIX;
		key.len = QGRAM;
		const uint64_t *g2 = rcu_dereference(k->gram2);
		for (uint32_t i = 0; g2 && i + QGRAM <= len; i++) {
			unsigned b2 = (unsigned char)v[i] | (unsigned)(unsigned char)v[i + 1] << 8;
			if (!((__atomic_load_n(&g2[b2 >> 6], __ATOMIC_RELAXED) >> (b2 & 63)) & 1))
				continue;
			key.p = v + i;
			probe_sel(c, x, k, infix_hash(k, v + i), &key);
		}
	}
	struct evr_hs_set *set = rcu_dereference(k->hs);
	if (set && reader < set->n_readers) {
		for (uint32_t d = 0; d < set->n_dbs; d++) {
			c->db = set->dbs[d];
			if (hs_scan(c->db->db, v, len, 0, set->scratch[reader], hs_on_match, c) !=
			    HS_SUCCESS)
				c->st->hs_errors++;
		}
	}
}

#define MAX_SEEN_SLOTS 64

static uint32_t hybrid_match(struct evr_matcher *m, unsigned reader,
                             const struct evr_event *ev, uint64_t now_ms,
                             const struct evr_sub **out, uint32_t out_cap,
                             struct evr_match_stats *st)
{
	struct hybrid *x = m->index;
	struct evr_ev_sel es;
	evr_ev_sel_init(&es, ev);
	struct probe_batch batch;
	batch.n = 0;
	batch.t = evr_rh_read(&x->idx);
	struct mctx c = {.m = m, .ev = ev, .es = &es, .out = out, .cap = out_cap,
	                 .now = now_ms, .st = st, .batch = &batch, .x = x};

	if (__atomic_load_n(&x->n_event, __ATOMIC_ACQUIRE)) {
		struct idx_key k = {.kind = EVR_IDX_EVENT};
		k.sel_hash = es.name_hash;
		probe(&c, x, k.sel_hash, &k);
		if (es.sub_hash && es.sub_hash != es.name_hash) {
			k.sel_hash = es.sub_hash;
			probe(&c, x, k.sel_hash, &k);
		}
		k.sel_hash = EVR_SEL_ALL_HASH;
		probe(&c, x, k.sel_hash, &k);
	}

	const struct keydir *dir = rcu_dereference(x->dir);
	if (!dir) {
		batch_run(&c, &batch);
		return c.n;
	}
	const struct evr_keyslot *seen[MAX_SEEN_SLOTS];
	uint32_t n_seen = 0;
	for (uint32_t a = 0; a < ev->n_attrs; a++) {
		const struct evr_attr *at = &ev->attrs[a];
		uint64_t h = evr_hash_lc(at->name.p, at->name.len);
		struct evr_keyslot *k = keydir_find(dir, h, at->name.p, at->name.len);
		if (!k)
			continue;
		if (!c.dup_keys) {
			for (uint32_t i = 0; i < n_seen; i++)
				if (seen[i] == k)
					c.dup_keys = true;
			if (n_seen < MAX_SEEN_SLOTS)
				seen[n_seen++] = k;
			else
				c.dup_keys = true; /* cannot tell: be safe */
		}
		match_value(&c, x, k, reader, at->value.p, at->value.len);
	}
	batch_run(&c, &batch);
	return c.n;
}

/* ---- background: deltas and merges --------------------------------------- */

/* Dropped databases and the tombstoned subscriptions only they referenced,
 * released after a grace period. */
struct grave {
	struct rcu_head rcu;
	uint32_t n_dbs, n_subs;
	struct evr_hs_db **dbs;
	struct evr_sub_node **subs;
};

static void grave_free_rcu(struct rcu_head *h)
{
	struct grave *g = caa_container_of(h, struct grave, rcu);
	for (uint32_t i = 0; i < g->n_dbs; i++)
		hs_db_free(g->dbs[i]);
	for (uint32_t i = 0; i < g->n_subs; i++)
		evr_sub_node_unref(g->subs[i]);
	free(g->dbs);
	free(g->subs);
	free(g);
}

enum compile_mode {
	CM_DELTA,   /* pending subscriptions -> one new delta database */
	CM_COMPACT, /* pending + every delta -> one new delta (base kept) */
	CM_MERGE,   /* every database -> one new base (merger thread) */
};

/* Writer lock held. */
static bool merge_due(struct evr_matcher *m, const struct evr_keyslot *k)
{
	const struct evr_hs_set *s = k->hs;
	if (!s || k->merging)
		return false;
	uint32_t deltas = s->n_dbs > 0 ? s->n_dbs - 1 : 0;
	uint32_t delta_pats = 0;
	for (uint32_t d = 1; d < s->n_dbs; d++)
		delta_pats += s->dbs[d]->n;
	if (deltas >= m->conf.hs_max_deltas || delta_pats >= m->conf.hs_delta_max)
		return true;
	if (k->n_tomb > 64 && k->n_tomb * 4 > k->n_hs_live)
		return true;
	return k->n_tomb && k->n_hs_live == 0;
}

#define COMPACT_AT (MAX_SET_DBS / 2)

/*
 * Compile a new database for keyslot k and publish the set that replaces the
 * databases it absorbed (see enum compile_mode). Pending subscriptions go
 * into deltas and compactions (the background thread evr_matcher_sync waits
 * for), never into a merge. The compile runs without the lock; the databases a
 * compaction or merge replaces are snapshotted first, and deltas published
 * meanwhile are kept. CM_COMPACT and CM_MERGE exclude each other through
 * k->merging (a subscription must never sit in two published databases);
 * CM_DELTA only adds a database, so it may run during a merge, but never
 * past the set's capacity.
 * Returns true when it did something.
 */
static bool do_compile(struct evr_matcher *m, struct evr_keyslot *k, enum compile_mode mode)
{
	struct hybrid *x = m->index;
	pthread_mutex_lock(&m->lock);
	struct evr_hs_set *cur = k->hs;
	uint32_t n_cur = cur ? cur->n_dbs : 0;
	if (mode == CM_DELTA && n_cur >= COMPACT_AT && !k->merging)
		mode = CM_COMPACT;
	if (mode != CM_DELTA && (k->merging || (mode == CM_MERGE && !merge_due(m, k)))) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	if (mode == CM_DELTA && (!k->n_pending || n_cur >= MAX_SET_DBS - 1)) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	/* databases absorbed by this compile */
	struct evr_hs_db *snap[MAX_SET_DBS];
	uint32_t n_snap = 0;
	if (mode != CM_DELTA)
		for (uint32_t d = (mode == CM_COMPACT ? 1 : 0); d < n_cur; d++)
			snap[n_snap++] = cur->dbs[d];
	/* A merge (merger thread, possibly seconds) leaves pending ones to the
	 * delta path, so evr_matcher_sync never waits for a merge. */
	bool take_pending = mode != CM_MERGE;
	uint32_t total = take_pending ? k->n_pending : 0;
	for (uint32_t d = 0; d < n_snap; d++)
		total += snap[d]->n;
	if (!total && !n_snap) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	struct evr_sub_node **subs = malloc((total + 1) * sizeof(*subs));
	struct evr_sub_node **rej = malloc((total + 1) * sizeof(*rej));
	struct grave *g = calloc(1, sizeof(*g));
	struct evr_sub_node **gsubs = calloc(total + 1, sizeof(*gsubs));
	struct evr_hs_db **gdbs = calloc(MAX_SET_DBS, sizeof(*gdbs));
	if (!subs || !rej || !g || !gsubs || !gdbs) {
		pthread_mutex_unlock(&m->lock);
		free(subs);
		free(rej);
		free(g);
		free(gsubs);
		free(gdbs);
		return false;
	}
	g->subs = gsubs;
	g->dbs = gdbs;
	uint32_t n = 0;
	struct evr_sub_node *sn, *tmp;
	if (take_pending) {
		cds_list_for_each_entry_safe(sn, tmp, &k->pending, hs_link) {
			cds_list_del(&sn->hs_link);
			sn->hs_pending = 0;
			subs[n++] = sn; /* hs_db == NULL marks "was pending" */
		}
		k->n_compiling += k->n_pending;
		k->n_pending = 0;
	}
	for (uint32_t d = 0; d < n_snap; d++)
		for (uint32_t j = 0; j < snap[d]->n; j++)
			if (!snap[d]->subs[j]->s.removed)
				subs[n++] = snap[d]->subs[j];
	if (mode != CM_DELTA)
		k->merging = true;
	pthread_mutex_unlock(&m->lock);

	uint32_t n_rej = 0;
	uint64_t compiles = 0, errors = 0;
	uint32_t n_in = n;
	struct evr_hs_db *db = hs_compile_subs(subs, &n, rej, &n_rej, &compiles, &errors);

	bool failed = n_in && !db && n_rej == 0; /* allocation failure */
	struct evr_hs_db *keep[MAX_SET_DBS];
	struct evr_hs_set *ns = NULL;
	uint32_t nk;
	pthread_mutex_lock(&m->lock);
	x->compiles += compiles;
	x->compile_errors += errors;
	/* Build the new set (scratch allocation for every reader is the slow
	 * part) without the lock, then publish it only if nothing else was
	 * published meanwhile; otherwise rebuild over the newer set. The
	 * databases read here cannot be freed: this thread is RCU-online. */
	for (;;) {
		cur = k->hs;
		nk = 0;
		g->n_dbs = 0;
		for (uint32_t d = 0; !failed && cur && d < cur->n_dbs; d++) {
			bool absorbed = false;
			for (uint32_t j = 0; j < n_snap; j++)
				absorbed |= snap[j] == cur->dbs[d];
			if (absorbed)
				g->dbs[g->n_dbs++] = cur->dbs[d];
			else
				keep[nk++] = cur->dbs[d];
		}
		if (!failed && db)
			keep[nk++] = db;
		if (failed || !nk)
			break;
		pthread_mutex_unlock(&m->lock);
		ns = set_build(m, keep, nk);
		pthread_mutex_lock(&m->lock);
		if (!ns) {
			failed = true;
			break;
		}
		if (k->hs == cur)
			break;
		set_free(ns);
		ns = NULL;
	}
	if (!failed) {
		struct evr_hs_set *old = k->hs;
		rcu_assign_pointer(k->hs, ns);
		if (old)
			call_rcu(&old->rcu, set_free_rcu);
	}
	if (failed) {
		/* keep what is published; pending ones go back on the list */
		hs_db_free(db);
		for (uint32_t i = 0; i < n + n_rej; i++) {
			struct evr_sub_node *s = i < n ? subs[i] : rej[i - n];
			if (s->hs_db)
				continue;
			k->n_compiling--;
			if (s->s.removed) {
				k->n_tomb--;
				evr_sub_node_free_rcu(s);
				continue;
			}
			s->hs_pending = 1;
			cds_list_add_tail(&s->hs_link, &k->pending);
			k->n_pending++;
		}
		if (mode != CM_DELTA)
			k->merging = false;
		pthread_mutex_unlock(&m->lock);
		free(subs);
		free(rej);
		free(g->subs);
		free(g->dbs);
		free(g);
		return false;
	}
	/* rejected by Hyperscan: verified through the event index instead */
	for (uint32_t i = 0; i < n_rej; i++) {
		struct evr_sub_node *s = rej[i];
		bool was_pending = s->hs_db == NULL;
		s->hs_db = NULL;
		if (was_pending)
			k->n_compiling--;
		if (s->s.removed) {
			k->n_tomb--;
			g->subs[g->n_subs++] = s;
		} else {
			if (!was_pending)
				k->n_hs_live--;
			s->s.idx_filter = UINT32_MAX;
			add_event_idx(x, s);
		}
	}
	/* subscriptions compiled in now live in db */
	for (uint32_t j = 0; db && j < db->n; j++) {
		struct evr_sub_node *s = db->subs[j];
		if (!s->hs_db) {
			k->n_compiling--;
			if (!s->s.removed)
				k->n_hs_live++;
		}
		s->hs_db = db;
	}
	/* tombstones only the absorbed databases held are released */
	for (uint32_t d = 0; d < g->n_dbs; d++) {
		struct evr_hs_db *odb = g->dbs[d];
		for (uint32_t j = 0; j < odb->n; j++) {
			struct evr_sub_node *s = odb->subs[j];
			if (s->hs_db == odb) {
				s->hs_db = NULL;
				k->n_tomb--;
				g->subs[g->n_subs++] = s;
			}
		}
		x->hs_bytes -= odb->bytes;
	}
	if (db)
		x->hs_bytes += db->bytes;
	if (mode != CM_DELTA)
		k->merging = false;
	call_rcu(&g->rcu, grave_free_rcu);
	pthread_mutex_unlock(&m->lock);
	free(subs);
	free(rej);
	return true;
}

static bool hybrid_maintain(struct evr_matcher *m, bool merge_now)
{
	struct hybrid *x = m->index;
	pthread_mutex_lock(&m->lock);
	uint32_t ns = x->n_slots;
	pthread_mutex_unlock(&m->lock);
	bool want_merge = false;
	for (uint32_t i = 0; i < ns; i++) {
		pthread_mutex_lock(&m->lock);
		struct evr_keyslot *k = x->slots[i];
		pthread_mutex_unlock(&m->lock);
		do_compile(m, k, CM_DELTA);
		pthread_mutex_lock(&m->lock);
		bool due = merge_due(m, k);
		pthread_mutex_unlock(&m->lock);
		if (due) {
			if (!x->merger_running || merge_now)
				do_compile(m, k, CM_MERGE);
			else
				want_merge = true;
		}
	}
	if (want_merge) {
		pthread_mutex_lock(&m->lock);
		pthread_cond_signal(&x->merge_kick);
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_lock(&m->lock);
	bool more = false;
	for (uint32_t i = 0; i < x->n_slots; i++)
		if (x->slots[i]->n_pending)
			more = true;
	pthread_mutex_unlock(&m->lock);
	return more;
}

static void *merger_main(void *arg)
{
	struct evr_matcher *m = arg;
	struct hybrid *x = m->index;
	rcu_register_thread();
	pthread_mutex_lock(&m->lock);
	while (!x->merger_stop) {
		uint32_t ns = x->n_slots;
		pthread_mutex_unlock(&m->lock);
		for (uint32_t i = 0; i < ns; i++) {
			pthread_mutex_lock(&m->lock);
			struct evr_keyslot *k = x->slots[i];
			pthread_mutex_unlock(&m->lock);
			do_compile(m, k, CM_MERGE);
		}
		pthread_mutex_lock(&m->lock);
		if (x->merger_stop)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		rcu_thread_offline();
		pthread_cond_timedwait(&x->merge_kick, &m->lock, &ts);
		rcu_thread_online();
	}
	pthread_mutex_unlock(&m->lock);
	rcu_unregister_thread();
	return NULL;
}

/* ---- lifecycle / stats ---------------------------------------------------- */

static int hybrid_init(struct evr_matcher *m)
{
	struct hybrid *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	if (evr_rh_init(&x->idx, 1u << 12)) {
		free(x);
		return -ENOMEM;
	}
	x->bloom = calloc(BLOOM_BITS / 64, sizeof(uint64_t));
	x->bloom_cnt = calloc(BLOOM_BITS, 1);
	x->gram_seen = calloc(1u << GRAM_SEEN_LOG2, sizeof(uint16_t));
	x->lit_seen = calloc(1u << LIT_SEEN_LOG2, 1);
	if (!x->bloom || !x->bloom_cnt || !x->gram_seen || !x->lit_seen) {
		free(x->lit_seen);
		free(x->bloom);
		free(x->bloom_cnt);
		free(x->gram_seen);
		evr_rh_fini(&x->idx);
		free(x);
		return -ENOMEM;
	}
	pthread_cond_init(&x->merge_kick, NULL);
	m->index = x;
	if (!m->conf.no_background) {
		x->merger_running = true;
		if (pthread_create(&x->merger, NULL, merger_main, m)) {
			x->merger_running = false;
		}
	}
	return 0;
}

static void hybrid_fini(struct evr_matcher *m)
{
	struct hybrid *x = m->index;
	if (!x)
		return;
	if (x->merger_running) {
		pthread_mutex_lock(&m->lock);
		x->merger_stop = true;
		pthread_cond_broadcast(&x->merge_kick);
		pthread_mutex_unlock(&m->lock);
		pthread_join(x->merger, NULL);
	}
	/* Every subscription was removed by the store; what is left are
	 * published sets and tombstones inside them. No reader remains. */
	for (uint32_t i = 0; i < x->n_slots; i++) {
		struct evr_keyslot *k = x->slots[i];
		struct evr_hs_set *s = k->hs;
		if (s) {
			for (uint32_t d = 0; d < s->n_dbs; d++) {
				struct evr_hs_db *db = s->dbs[d];
				for (uint32_t j = 0; j < db->n; j++)
					if (db->subs[j]->hs_db == db)
						evr_sub_node_unref(db->subs[j]);
				hs_db_free(db);
			}
			set_free(s);
		}
		free(k->gram2);
		free(k->key);
		free(k);
	}
	free(x->slots);
	if (x->dir)
		free(x->dir);
	evr_rh_fini(&x->idx);
	pthread_cond_destroy(&x->merge_kick);
	free(x->bloom);
	free(x->bloom_cnt);
	free(x->gram_seen);
	free(x->lit_seen);
	free(x);
	m->index = NULL;
}

static void hybrid_stats(struct evr_matcher *m, struct evr_matcher_stats *st)
{
	struct hybrid *x = m->index;
	uint64_t live = 0, tomb = 0, scratch = 0;
	for (uint32_t i = 0; i < x->n_slots; i++) {
		const struct evr_keyslot *k = x->slots[i];
		live += k->n_hs_live + k->n_pending + k->n_compiling;
		tomb += k->n_tomb;
		if (k->hs)
			scratch += k->hs->scratch_bytes;
	}
	st->hs_patterns = live;
	st->hs_tombstones = tomb;
	st->hs_compiles = x->compiles;
	st->hs_compile_errors = x->compile_errors;
	st->hs_bytes = x->hs_bytes + scratch;
	st->keys = x->n_slots;
	st->mem_bytes += evr_rh_bytes(&x->idx) + BLOOM_BITS / 8 + BLOOM_BITS;
}

const struct evr_index_ops evr_index_hybrid_ops = {
	.name = "hybrid",
	.init = hybrid_init,
	.fini = hybrid_fini,
	.add = hybrid_add,
	.del = hybrid_del,
	.match = hybrid_match,
	.maintain = hybrid_maintain,
	.stats = hybrid_stats,
};
