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
 *  - One RCU open-addressing multimap (evr_rcuhash, evr_rcuhash.h: a probe reads
 *    one 16-byte slot and touches a node only on a full-hash match) holds
 *    every indexed subscription keyed by (keyslot, kind, literal) and event
 *    selector: exact values, prefixes and suffixes
 *    (literals longer than 63 bytes are indexed by their first/last 63 bytes
 *    and fully verified). Per keyslot, a bitmask of the prefix/suffix lengths
 *    present tells the reader which lengths to probe; one forward and one
 *    backward pass over the value produce every prefix/suffix hash.
 *  - Complex globs go to a per-keyslot Hyperscan set: a base database plus
 *    small delta databases, compiled off the read path (deltas by the
 *    matcher's maintenance thread, merges by this index's merge thread:
 *    evr_hybrid_hs.c). Removal is a tombstone (the subscription's `removed` flag) until a
 *    merge recompiles the base without it. Per-reader scratch valid for every
 *    database of a set is allocated before the set is published.
 *
 * Readers (dataplane cores; evr_hybrid_match.c) take no lock: rcu_dereference
 * of the directory and sets, evr_rcuhash probes batched and prefetched per event,
 * hs_scan with their own scratch. Writers (this file) hold the matcher lock;
 * they publish with rcu_assign_pointer / evr_rcuhash insert+delete and free with
 * call_rcu. The Hyperscan compile runs without the lock.
 *
 * Files: this one is the write path (key directory, add/del, lifecycle,
 * stats, the ops table); evr_hybrid_match.c the read path;
 * evr_hybrid_hs.c the Hyperscan sets and their compiles and merges;
 * evr_hybrid_internal.h what they share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/evr_mem.h"
#include "evr_hybrid_internal.h"

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
/* A literal run the pattern is anchored by (its prefix or suffix), and the
 * cost of its best window: within the first/last EVR_NODE_INLINE - 1 bytes,
 * which is what is indexed. */
struct anchor {
	char lit[EVR_NODE_INLINE];
	uint32_t len;
	uint32_t cost; /* UINT32_MAX: no window */
};

struct infix_pick {
	struct hybrid *x;
	const struct evr_keyslot *k;
	uint64_t selh;
	bool count;
	char best[QGRAM];
	uint32_t best_seen, best_cnt;
	bool found;
	struct anchor pre, suf;
};

static inline uint32_t gram_slot(uint64_t h)
{
	return (uint32_t)(h >> (64 - GRAM_SEEN_LOG2));
}

/* Entries indexed under hash h now (writer): what a reader probing it walks. */
static uint32_t idx_crowding(const struct hybrid *x, uint64_t h)
{
	const struct evr_rcuhash_table *t = x->idx.t;
	const void *n;
	uint32_t c = 0;
	EVR_RCUHASH_FOREACH(t, h, i, n)
		c++;
	return c;
}

/*
 * Crowding alone is the wrong measure: a substring every pattern shares
 * (".example") also occurs in almost every event value, so whoever is
 * indexed under it is a candidate for every event. gram_seen counts how
 * many complex patterns contained each substring; the pick minimises that
 * first, then the current crowding.
 */
static void infix_run(void *ctx, const char *run, size_t len, unsigned flags)
{
	struct infix_pick *p = ctx;
	/* an anchored run is indexed whole, as far as a record holds it */
	const size_t cap = EVR_NODE_INLINE - 1;
	struct anchor *an = NULL;
	size_t a_from = 0;
	if (!p->count && (flags & EVR_GLOB_RUN_START)) {
		an = &p->pre;
		an->len = (uint32_t)(len < cap ? len : cap);
		memcpy(an->lit, run, an->len);
	} else if (!p->count && (flags & EVR_GLOB_RUN_END)) {
		an = &p->suf;
		an->len = (uint32_t)(len < cap ? len : cap);
		a_from = len - an->len;
		memcpy(an->lit, run + a_from, an->len);
	}
	for (size_t i = 0; i + QGRAM <= len; i++) {
		uint64_t h = infix_hash(p->k, run + i);
		uint16_t *seen = &p->x->gram_seen[gram_slot(h)];
		if (p->count) {
			if (*seen != UINT16_MAX)
				(*seen)++;
			continue;
		}
		uint32_t c = idx_crowding(p->x, probe_hash(h, QGRAM, KIND_INFIX, p->selh));
		/* Before history accumulates every count is 0: a prior keeps the
		 * first subscriptions off shared text. Digit-rich windows are
		 * identifiers (user numbers, call-ids), letters are domains and
		 * product names. Later windows win ties ("0012345@" over
		 * "user0012"). */
		uint32_t digits = 0;
		for (uint32_t j = 0; j < QGRAM; j++)
			digits += (unsigned)(run[i + j] - '0') < 10u;
		uint32_t cost = *seen + 16u * (QGRAM - digits);
		if (an && i >= a_from && i + QGRAM <= a_from + an->len && cost < an->cost)
			an->cost = cost;
		if (!p->found || cost < p->best_seen ||
		    (cost == p->best_seen && c <= p->best_cnt)) {
			memcpy(p->best, run + i, QGRAM);
			p->best_seen = cost;
			p->best_cnt = c;
			p->found = true;
		}
	}
}

/* Index a complex glob under the run it starts (ends) with, as a prefix
 * (suffix) that proves nothing: the glob is verified. One probe per event
 * at a length the key may have already, instead of a window per byte. */
static bool pick_anchor(struct evr_keyslot *k, struct evr_sub_node *n, const struct anchor *an,
                        bool prefix)
{
	const char *lit = evr_node_inline(n, an->lit, an->len);
	if (!lit)
		return false;
	uint32_t L = an->len;
	n->idx_lit = lit;
	n->idx_lit_len = L;
	n->idx_truncated = 1; /* the anchor proves nothing: verify the glob */
	if (prefix) {
		n->idx_kind = EVR_IDX_PREFIX;
		n->idx_hash = probe_hash(lit_hash_prefix(slot_seed(k, 0), lit, L), L, KIND_PREFIX,
		                         n->s.ev_hash);
		if (k->prefix_cnt[L]++ == 0)
			__atomic_or_fetch(&k->prefix_mask, 1ULL << L, __ATOMIC_RELEASE);
	} else {
		n->idx_kind = EVR_IDX_SUFFIX;
		n->idx_hash = probe_hash(lit_hash_suffix(slot_seed(k, 1), lit, L), L, KIND_SUFFIX,
		                         n->s.ev_hash);
		if (k->suffix_cnt[L]++ == 0)
			__atomic_or_fetch(&k->suffix_mask, 1ULL << L, __ATOMIC_RELEASE);
	}
	return true;
}

static bool pick_infix(struct hybrid *x, struct evr_keyslot *k, struct evr_sub_node *n,
                       const struct evr_filter *f)
{
	/* substrings were counted for every filter in hybrid_add */
	struct infix_pick p = {.x = x, .k = k, .count = false, .selh = n->s.ev_hash,
	                       .pre.cost = UINT32_MAX, .suf.cost = UINT32_MAX};
	evr_glob_literal_runs(f->glob, infix_run, &p);
	if (!p.found)
		return false;
	/* the rarest substring lies in the run the pattern starts or ends
	 * with: that whole run is at least as selective */
	if (p.pre.cost <= p.best_seen && pick_anchor(k, n, &p.pre, true))
		return true;
	if (p.suf.cost <= p.best_seen && pick_anchor(k, n, &p.suf, false))
		return true;
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
	n->idx_hash = probe_hash(infix_hash(k, lit), QGRAM, KIND_INFIX, n->s.ev_hash);
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

/* ---- presence bitmap (writer) ---------------------------------------- */

static struct evr_bloom *bloom_new(uint32_t log2)
{
	struct evr_bloom *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->log2 = log2;
	b->words = evr_mem_table_alloc(((size_t)1 << log2) / 8, true);
	if (!b->words) {
		free(b);
		return NULL;
	}
	return b;
}

static void bloom_free(struct evr_bloom *b)
{
	if (!b)
		return;
	evr_mem_table_free(b->words, ((size_t)1 << b->log2) / 8);
	free(b);
}

static void bloom_free_rcu(struct rcu_head *h)
{
	bloom_free(caa_container_of(h, struct evr_bloom, rcu));
}

static size_t bloom_bytes(const struct evr_bloom *b)
{
	return ((size_t)1 << b->log2) / 8;
}

static void bloom_set(struct evr_bloom *b, uint64_t h)
{
	uint32_t i = bloom_bit(b, h);
	uint64_t bit = 1ULL << (i & 63);
	/* a set bit stays clean in other cores' caches */
	if (!(__atomic_load_n(&b->words[i >> 6], __ATOMIC_RELAXED) & bit))
		__atomic_or_fetch(&b->words[i >> 6], bit, __ATOMIC_RELEASE);
}

/*
 * A bitmap of 2^log2 bits refilled from every hash in the index table,
 * published for readers that start from then on (those that started before
 * keep the old one, which stays valid for them until a grace period has
 * passed). Growth doubles the bits; a refill at the same size drops the
 * bits of removed entries.
 *
 * The refill is incremental, as evr_rcuhash's growth is: a one-pass refill
 * walked the whole table under the matcher lock (issue 13). The new bitmap
 * is a shadow only the writer sees; every add and delete walks the next
 * BLOOM_STEP slots of the index table into it, and adds meanwhile set their
 * bit in both bitmaps, so when the walk ends the shadow holds a bit for
 * every live entry and is published. Deletes need nothing: a stale bit costs
 * a reader one table lookup, never a miss. When the index table itself is
 * replaced during the walk (its own growth), the walk starts over on the new
 * one, which holds the same live entries.
 */
#define BLOOM_STEP 64u
#define BLOOM_FAULT_STEP ((size_t)2 << 20)

static int bloom_refill_start(struct hybrid *x, uint32_t log2)
{
	struct evr_bloom *nb = bloom_new(log2);
	if (!nb)
		return -ENOMEM;
	x->bloom_next = nb;
	x->bloom_faulted = 0;
	x->bloom_src = NULL; /* bloom_refill_step starts the walk */
	x->bloom_stale = 0;
	return 0;
}

static void bloom_refill_step(struct hybrid *x)
{
	struct evr_bloom *nb = x->bloom_next, *old = x->bloom;
	if (!nb)
		return;
	size_t bytes = bloom_bytes(nb);
	if (x->bloom_faulted < bytes) {
		/* fault the shadow in a huge page per call, as evr_rcuhash
		 * does: the walk sets bits at random */
		size_t off = x->bloom_faulted + BLOOM_FAULT_STEP - 1 < bytes
		                     ? x->bloom_faulted + BLOOM_FAULT_STEP - 1
		                     : bytes - 1;
		__atomic_fetch_or((char *)nb->words + off, 0, __ATOMIC_RELAXED);
		x->bloom_faulted = off + 1;
		return;
	}
	const struct evr_rcuhash_table *t = x->idx.t;
	if (x->bloom_src != t) {
		x->bloom_src = t;
		x->bloom_cursor = 0;
	}
	uint64_t end = x->bloom_cursor + BLOOM_STEP;
	if (end > t->mask + 1)
		end = t->mask + 1;
	for (uint64_t i = x->bloom_cursor; i < end; i++) {
		uint64_t h = t->slots[i].hash;
		if (h != EVR_RCUHASH_EMPTY && h != EVR_RCUHASH_TOMB)
			bloom_set(nb, h);
	}
	x->bloom_cursor = end;
	if (end <= t->mask)
		return;
	rcu_assign_pointer(x->bloom, nb);
	call_rcu(&old->rcu, bloom_free_rcu);
	x->bloom_next = NULL;
	x->bloom_src = NULL;
	x->bloom_rebuilds++;
}

/* Before the node with hash h is published. A growth that cannot be
 * allocated keeps the current bitmap (more false positives, never a miss)
 * and is retried by the next add. */
static void bloom_add(struct hybrid *x, uint64_t h)
{
	if (++x->bloom_n > ((uint64_t)1 << x->bloom->log2) >> BLOOM_BITS_PER_ENTRY_LOG2 &&
	    x->bloom->log2 < BLOOM_MAX_LOG2 && !x->bloom_next)
		(void)bloom_refill_start(x, x->bloom->log2 + 1);
	bloom_set(x->bloom, h);
	if (x->bloom_next)
		bloom_set(x->bloom_next, h);
	bloom_refill_step(x);
}

/*
 * After the node with hash h is gone from the table. Its bit stays set (it
 * may be another entry's too): a stale bit costs a reader one table lookup,
 * never a miss. Once as many entries went as remain, and so the false
 * positives have about doubled, the bitmap is refilled at its size. Per-bit
 * counts that cleared bits at once cost a byte per bit, 16 MiB at a million
 * entries; the refill is a sequential walk over the table, amortised over
 * at least as many removals as there are entries.
 */
static void bloom_del(struct hybrid *x, uint64_t h)
{
	(void)h;
	x->bloom_n--;
	if (++x->bloom_stale > x->bloom_n && x->bloom_stale >= BLOOM_REBUILD_MIN &&
	    !x->bloom_next)
		(void)bloom_refill_start(x, x->bloom->log2); /* on failure: retried next time */
	bloom_refill_step(x);
}

static unsigned hyb_stat_kind(const struct evr_sub_node *n)
{
	if ((n->idx_kind == EVR_IDX_PREFIX || n->idx_kind == EVR_IDX_SUFFIX) &&
	    n->s.filters[n->s.idx_filter].cls == EVR_GLOB_COMPLEX)
		return HYB_IDX_ANCHORED;
	return n->idx_kind;
}

int hyb_add_event_idx(struct hybrid *x, struct evr_sub_node *n)
{
	n->idx_kind = EVR_IDX_EVENT;
	n->slot = NULL;
	n->idx_hash = n->s.ev_hash;
	__atomic_add_fetch(&x->n_event, 1, __ATOMIC_RELEASE);
	bloom_add(x, n->idx_hash);
	int rc = evr_rcuhash_add(&x->idx, n->idx_hash, n);
	if (!rc)
		x->n_kind[EVR_IDX_EVENT]++;
	return rc;
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
		return hyb_add_event_idx(x, n);
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
			infix_run(&cp, fi->lit, fi->lit_len, 0);
		/* every filter seen on this key, indexed or not, feeds its
		 * distinct-value ratio */
		uint64_t h = evr_mix64(evr_fnv1a(slot_seed(ki, 0), fi->text, strlen(fi->text)) ^ fi->cls);
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
		n->idx_hash = probe_hash(lit_hash_prefix(slot_seed(k, 0), f->lit, f->lit_len),
		                         f->lit_len, KIND_EXACT, s->ev_hash);
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
		n->idx_hash = probe_hash(lit_hash_prefix(slot_seed(k, 0), f->lit, L), L, KIND_PREFIX,
		                         s->ev_hash);
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
		n->idx_hash = probe_hash(lit_hash_suffix(slot_seed(k, 1), n->idx_lit, L), L, KIND_SUFFIX,
		                         s->ev_hash);
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
	int rc = evr_rcuhash_add(&x->idx, n->idx_hash, n);
	if (!rc)
		x->n_kind[hyb_stat_kind(n)]++;
	return rc;
}

static void hybrid_del(struct evr_matcher *m, struct evr_sub_node *n)
{
	struct hybrid *x = m->index;
	struct evr_keyslot *k = n->slot;
	switch (n->idx_kind) {
	case EVR_IDX_EVENT:
		evr_rcuhash_del(&x->idx, n->idx_hash, n);
		__atomic_sub_fetch(&x->n_event, 1, __ATOMIC_RELAXED);
		break;
	case EVR_IDX_EXACT:
		evr_rcuhash_del(&x->idx, n->idx_hash, n);
		__atomic_sub_fetch(&k->n_exact, 1, __ATOMIC_RELAXED);
		break;
	case EVR_IDX_INFIX:
		evr_rcuhash_del(&x->idx, n->idx_hash, n);
		__atomic_sub_fetch(&k->n_infix, 1, __ATOMIC_RELAXED);
		break;
	case EVR_IDX_PREFIX:
		evr_rcuhash_del(&x->idx, n->idx_hash, n);
		if (--k->prefix_cnt[n->idx_lit_len] == 0)
			__atomic_and_fetch(&k->prefix_mask, ~(1ULL << n->idx_lit_len),
			                   __ATOMIC_RELEASE);
		break;
	case EVR_IDX_SUFFIX:
		evr_rcuhash_del(&x->idx, n->idx_hash, n);
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
	x->n_kind[hyb_stat_kind(n)]--;
	if (n->idx_kind != EVR_IDX_EVENT)
		sel_count(k, &n->s, -1);
	bloom_del(x, n->idx_hash);
	evr_sub_node_free_rcu(n);
}

/* ---- lifecycle / stats ---------------------------------------------------- */

static int hybrid_init(struct evr_matcher *m)
{
	struct hybrid *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	if (evr_rcuhash_init(&x->idx, 1u << 12)) {
		free(x);
		return -ENOMEM;
	}
	/* grown 2x like the writer maps: 16 bytes a slot at a load of 3/8..3/4
	 * (32 bytes an entry at 1M instead of 64); BM_match/1000000 measured
	 * the same either way (issue 10) */
	x->idx.compact = true;
	x->bloom = bloom_new(BLOOM_MIN_LOG2);
	x->gram_seen = calloc(1u << GRAM_SEEN_LOG2, sizeof(uint16_t));
	x->lit_seen = calloc(1u << LIT_SEEN_LOG2, 1);
	if (!x->bloom || !x->gram_seen || !x->lit_seen ||
	    hyb_readers_init(x, m->conf.max_readers)) {
		hyb_readers_fini(x);
		free(x->lit_seen);
		bloom_free(x->bloom);
		free(x->gram_seen);
		evr_rcuhash_fini(&x->idx);
		free(x);
		return -ENOMEM;
	}
	pthread_cond_init(&x->merge_kick, NULL);
	m->index = x;
	if (!m->conf.no_background) {
		x->merger_running = true;
		if (pthread_create(&x->merger, NULL, hyb_merger_main, m)) {
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
				hyb_hs_db_free(db);
			}
			hyb_set_free(s);
		}
		free(k->gram2);
		free(k->key);
		free(k);
	}
	free(x->slots);
	if (x->dir)
		free(x->dir);
	evr_rcuhash_fini(&x->idx);
	pthread_cond_destroy(&x->merge_kick);
	hyb_readers_fini(x);
	bloom_free(x->bloom);
	bloom_free(x->bloom_next);
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
	st->idx_event = x->n_kind[EVR_IDX_EVENT];
	st->idx_exact = x->n_kind[EVR_IDX_EXACT];
	st->idx_prefix = x->n_kind[EVR_IDX_PREFIX];
	st->idx_suffix = x->n_kind[EVR_IDX_SUFFIX];
	st->idx_anchored = x->n_kind[HYB_IDX_ANCHORED];
	st->idx_infix = x->n_kind[EVR_IDX_INFIX];
	st->mem_bytes += evr_rcuhash_bytes(&x->idx) + bloom_bytes(x->bloom) +
	                 (x->bloom_next ? bloom_bytes(x->bloom_next) : 0) +
	                 ((size_t)1 << GRAM_SEEN_LOG2) * sizeof(*x->gram_seen) +
	                 ((size_t)1 << LIT_SEEN_LOG2) * sizeof(*x->lit_seen) +
	                 x->cap_slots * sizeof(*x->slots) + x->n_slots * sizeof(struct evr_keyslot);
}

const struct evr_index_ops evr_index_hybrid_ops = {
	.name = "hybrid",
	.init = hybrid_init,
	.fini = hybrid_fini,
	.add = hybrid_add,
	.del = hybrid_del,
	.match = hyb_match,
	.maintain = hyb_maintain,
	.stats = hybrid_stats,
};

