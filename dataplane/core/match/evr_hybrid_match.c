/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hybrid index, read path: one event against every subscription. Runs on
 * the reader threads (dataplane workers, the control thread for
 * raise_event) inside an RCU read-side section; takes no lock, allocates
 * nothing, and touches only published structures and its own scratch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evr_hybrid_internal.h"

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
	const struct evr_rcuhash_table *t;
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
		evr_rcuhash_prefetch(b->t, b->p[i].h);
		b->p[live++] = b->p[i];
	}
	b->n = live;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct probe *pr = &b->p[i];
		const struct evr_sub_node *n;
		EVR_RCUHASH_FOREACH(b->t, pr->h, si, n) {
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

uint32_t hyb_match(struct evr_matcher *m, unsigned reader, const struct evr_event *ev,
                   uint64_t now_ms, const struct evr_sub **out, uint32_t out_cap,
                   struct evr_match_stats *st)
{
	struct hybrid *x = m->index;
	struct evr_ev_sel es;
	evr_ev_sel_init(&es, ev);
	struct probe_batch batch;
	batch.n = 0;
	batch.t = evr_rcuhash_read(&x->idx);
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

