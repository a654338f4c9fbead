/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hybrid index, read path: a burst of events against every subscription.
 * Runs on the reader threads (dataplane workers, the control thread for
 * raise_event) inside an RCU read-side section; takes no lock, allocates
 * nothing, and touches only published structures and its reader's own
 * scratch (struct hyb_reader, one per reader index).
 *
 * Why stages: per event about four index probes find a candidate, and each
 * step of a probe (presence bit -> table slot -> subscription record ->
 * its filters) is a cache miss that depends on the one before. Matched one
 * event at a time that is a chain of misses paid one after another. Here
 * every stage runs over the whole burst before the next one starts, and
 * each stage prefetches what the next will read, so the misses of all
 * events in the burst are in flight together (group prefetching, as
 * rte_hash_lookup_bulk does):
 *
 *   A  per event: selector hashes, key directory, value hashes -> probes
 *      (prefetch presence words); Hyperscan scans -> direct candidates
 *   B  presence bits -> surviving probes (prefetch their table slots)
 *   C  table slots -> candidates whose full hash matched (prefetch records)
 *   D  candidate records: index key check (prefetch filters if needed)
 *   E  verify selector and filters, claim `once`, emit in event order
 *
 * The scratch is bounded; when it fills, the stages run over what was
 * collected so far (a flush) and collection goes on. Output stays in event
 * order because collection is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evr_hybrid_internal.h"

/* Cache lines of a subscription record a verification reads: a record is
 * 64-byte aligned and a single-filter exact/prefix/suffix candidate is
 * decided from its first two lines (evr_matcher_internal.h). */
#define NODE_LINES 2

static inline void prefetch_record(const struct evr_sub_node *n)
{
	for (unsigned l = 0; l < NODE_LINES; l++)
		__builtin_prefetch((const char *)n + 64 * l);
}

struct probe {
	uint64_t h;
	struct idx_key k;
	uint16_t ev;
	uint8_t dedupe; /* infix: a value may repeat a substring */
};

struct cand {
	const struct evr_sub_node *n;
	uint32_t skip; /* filter the index proved (not verified again) */
	uint16_t ev;
	uint8_t dedupe;
};

/* What stage E needs of each event of the burst. */
struct ev_state {
	struct evr_ev_sel es;
	bool dup_keys; /* the event repeats an indexed key: dedupe its output */
};

struct hyb_reader {
	uint32_t n_probe, n_hs;
	struct probe probe[HYB_BURST_PROBES];
	struct cand cand[HYB_BURST_CANDS];
	struct cand hs[HYB_BURST_HS];
	struct ev_state evs[EVR_MATCH_BURST_MAX];
};

struct bctx {
	struct evr_matcher *m;
	const struct hybrid *x;
	struct hyb_reader *rd;
	const struct evr_rcuhash_table *t;
	const struct evr_event *const *evs;
	struct evr_match_burst *b;
	uint32_t count[EVR_MATCH_BURST_MAX]; /* matches kept per event */
	uint32_t n;                          /* matches kept in all */
	uint16_t cur;                        /* event being collected (stage A) */
	uint64_t now;
	struct evr_match_stats *st;
	const struct evr_hs_db *db;          /* Hyperscan callback's database */
	const struct evr_bloom *bloom;
};

int hyb_readers_init(struct hybrid *x, uint32_t n)
{
	x->readers = calloc(n, sizeof(*x->readers));
	x->n_readers = x->readers ? n : 0;
	return x->readers ? 0 : -ENOMEM;
}

void hyb_readers_fini(struct hybrid *x)
{
	free(x->readers);
	x->readers = NULL;
}

/* ---- stage E: verify and emit ---------------------------------------- */

static void emit(struct bctx *c, const struct cand *cd)
{
	const struct evr_sub *s = &cd->n->s;
	uint32_t e = cd->ev;

	if (c->rd->evs[e].dup_keys || cd->dedupe) {
		/* this event's matches are the last count[e] of the output */
		for (uint32_t i = c->n - c->count[e]; i < c->n; i++)
			if (c->b->subs[i] == s)
				return;
	}
	if (!evr_sub_accept(s, c->evs[e], &c->rd->evs[e].es, cd->skip, c->now, c->st))
		return;
	if (c->count[e] < c->b->per_event_cap && c->n < c->b->cap) {
		c->b->subs[c->n++] = s;
		c->count[e]++;
	} else {
		c->st->overflow++;
	}
}

/* ---- stages D and E ---------------------------------------------------- */

#define VERIFY_AHEAD 4

static inline void prefetch_filter_strings(const struct cand *cd)
{
	const struct evr_sub *s = &cd->n->s;

	for (uint32_t f = 0; f < s->n_filters && f < 4; f++) {
		if (f == cd->skip)
			continue;
		__builtin_prefetch(s->filters[f].key);
		__builtin_prefetch(s->filters[f].lit);
	}
}

/*
 * D then E over cand[0..nc). *hs is how many of Hyperscan's candidates
 * were emitted already: they are merged in by event, so the output stays
 * in event order (both lists are in collection order, and every
 * Hyperscan candidate of an event up to the last one here goes out here).
 */
static void verify(struct bctx *c, uint32_t nc, uint32_t *hs)
{
	struct hyb_reader *rd = c->rd;
	uint32_t keep = 0, h = *hs;

	c->st->candidates += nc;
	/* D: key check on the (prefetched) records; a survivor with filters
	 * left to verify gets them prefetched */
	for (uint32_t i = 0; i < nc; i++) {
		struct cand cd = rd->cand[i];
		const struct probe *pr = &rd->probe[cd.skip];

		if (!idx_match(cd.n, &pr->k))
			continue;
		/* truncated prefix/suffix literal: verify the full filter */
		cd.skip = cd.n->idx_truncated ? UINT32_MAX : cd.n->s.idx_filter;
		if (cd.n->s.n_filters > 1 || cd.skip == UINT32_MAX)
			__builtin_prefetch(cd.n->s.filters);
		rd->cand[keep++] = cd;
	}
	/* E, with the filters' own strings (keys, literals: separate
	 * allocations) prefetched a few candidates ahead: the filter arrays
	 * were prefetched in D, so their pointers are in cache by now */
	for (uint32_t i = 0; i < keep; i++) {
		if (i + VERIFY_AHEAD < keep)
			prefetch_filter_strings(&rd->cand[i + VERIFY_AHEAD]);
		while (h < rd->n_hs && rd->hs[h].ev <= rd->cand[i].ev)
			emit(c, &rd->hs[h++]);
		emit(c, &rd->cand[i]);
	}
	*hs = h;
}

/* ---- stages B and C over what was collected ----------------------------- */

static void flush(struct bctx *c)
{
	struct hyb_reader *rd = c->rd;
	const struct evr_rcuhash_table *t = c->t;
	uint32_t live = 0, nc = 0, hs = 0;

	c->st->probes += rd->n_probe;
	/* B: presence bits (their words were prefetched in A); keep the
	 * survivors and prefetch their table slots */
	for (uint32_t i = 0; i < rd->n_probe; i++) {
		if (!bloom_test(c->bloom, rd->probe[i].h))
			continue;
		evr_rcuhash_prefetch(t, rd->probe[i].h);
		rd->probe[live++] = rd->probe[i];
	}
	c->st->probes_present += live;
	/* C: walk the slots; a full-hash match is a candidate, whose record
	 * is prefetched (the key check needs the record: stage D) */
	for (uint32_t i = 0; i < live; i++) {
		const struct probe *pr = &rd->probe[i];
		const struct evr_sub_node *n;

		EVR_RCUHASH_FOREACH(t, pr->h, si, n) {
			if (nc == HYB_BURST_CANDS) {
				/* a popular value: verify what is gathered */
				verify(c, nc, &hs);
				nc = 0;
			}
			prefetch_record(n);
			/* the probe index rides in skip until stage D */
			rd->cand[nc++] = (struct cand){.n = n, .skip = i, .ev = pr->ev,
			                               .dedupe = pr->dedupe};
		}
	}
	verify(c, nc, &hs);
	while (hs < rd->n_hs)
		emit(c, &rd->hs[hs++]);
	rd->n_probe = rd->n_hs = 0;
}

/* ---- stage A: collect ------------------------------------------------- */

static inline void probe(struct bctx *c, uint64_t h, const struct idx_key *k, bool dedupe)
{
	struct hyb_reader *rd = c->rd;

	if (rd->n_probe == HYB_BURST_PROBES)
		flush(c);
	/* the presence bit is loaded now and tested in stage B */
	bloom_prefetch(c->bloom, h);
	rd->probe[rd->n_probe++] = (struct probe){.h = h, .k = *k, .ev = c->cur, .dedupe = dedupe};
}

/* The probes of one literal state: under the event's name, and when the key
 * has such subscriptions its name+subclass and ALL. */
static inline void probe_sel(struct bctx *c, const struct evr_keyslot *k, uint64_t state,
                             const struct idx_key *key, uint64_t kind, bool dedupe)
{
	const struct evr_ev_sel *es = &c->rd->evs[c->cur].es;

	probe(c, probe_hash(state, key->len, kind, es->name_hash), key, dedupe);
	if (es->sub_hash && __atomic_load_n(&k->n_sel_sub, __ATOMIC_ACQUIRE))
		probe(c, probe_hash(state, key->len, kind, es->sub_hash), key, dedupe);
	if (__atomic_load_n(&k->n_sel_all, __ATOMIC_ACQUIRE))
		probe(c, probe_hash(state, key->len, kind, EVR_SEL_ALL_HASH), key, dedupe);
}

static int hs_on_match(unsigned int id, unsigned long long from, unsigned long long to,
                       unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	struct bctx *c = ctx;
	struct hyb_reader *rd = c->rd;

	if (id >= c->db->n)
		return 0;
	if (rd->n_hs == HYB_BURST_HS)
		flush(c); /* no scan state is touched: safe inside the callback */
	const struct evr_sub_node *n = c->db->subs[id];
	prefetch_record(n);
	rd->hs[rd->n_hs++] = (struct cand){.n = n, .skip = n->s.idx_filter, .ev = c->cur};
	return 0;
}

static void match_value(struct bctx *c, struct evr_keyslot *k, unsigned reader,
                        const char *v, uint32_t len)
{
	uint64_t pm = __atomic_load_n(&k->prefix_mask, __ATOMIC_ACQUIRE);
	uint64_t sm = __atomic_load_n(&k->suffix_mask, __ATOMIC_ACQUIRE);
	uint32_t ne = __atomic_load_n(&k->n_exact, __ATOMIC_ACQUIRE);
	struct idx_key key = {.slot = k, .p = v};

	/* prefixes and the exact value: one state step per word; every
	 * length the key has subscriptions for costs one more step on its
	 * partial word (lit_hash_prefix computes the same) */
	if (ne || pm) {
		uint64_t s = slot_seed(k, 0);
		uint32_t top = pm ? 64u - (uint32_t)__builtin_clzll(pm) : 0;
		if (ne || top > len)
			top = len;
		if (pm & 1) {
			key.kind = EVR_IDX_PREFIX;
			key.len = 0;
			probe_sel(c, k, s, &key, KIND_PREFIX, false);
		}
		if (ne && len == 0) {
			key.kind = EVR_IDX_EXACT;
			key.len = 0;
			probe_sel(c, k, s, &key, KIND_EXACT, false);
		}
		for (uint32_t off = 0; off < top; off += 8) {
			uint64_t w = word_at(v, len, off);
			uint32_t rem = top - off < 8 ? top - off : 8;
			/* prefix lengths off+1 .. off+rem present (bit L) */
			uint64_t bits = off + 1 <= MAX_LIT ? (pm >> (off + 1)) & ((1ULL << rem) - 1) : 0;
			while (bits) {
				uint32_t r = (uint32_t)__builtin_ctzll(bits) + 1;
				bits &= bits - 1;
				key.kind = EVR_IDX_PREFIX;
				key.len = off + r;
				probe_sel(c, k, lit_step(s, lit_low(w, r)), &key, KIND_PREFIX, false);
			}
			if (ne && off + rem == len) {
				key.kind = EVR_IDX_EXACT;
				key.len = len;
				probe_sel(c, k, lit_step(s, lit_low(w, rem)), &key, KIND_EXACT, false);
			}
			s = lit_step(s, w);
		}
	}
	/* suffixes: the same from the end (lit_hash_suffix) */
	if (sm) {
		uint64_t s = slot_seed(k, 1);
		uint32_t top = 64u - (uint32_t)__builtin_clzll(sm);
		if (top > len)
			top = len;
		key.kind = EVR_IDX_SUFFIX;
		if (sm & 1) {
			key.p = v + len;
			key.len = 0;
			probe_sel(c, k, s, &key, KIND_SUFFIX, false);
		}
		for (uint32_t off = 0; off < top; off += 8) {
			uint64_t w = word_end(v, len, len - off);
			uint32_t rem = top - off < 8 ? top - off : 8;
			uint64_t bits = (sm >> (off + 1)) & ((1ULL << rem) - 1);
			while (bits) {
				uint32_t r = (uint32_t)__builtin_ctzll(bits) + 1;
				bits &= bits - 1;
				key.len = off + r;
				key.p = v + len - key.len;
				probe_sel(c, k, lit_step(s, lit_high(w, r)), &key, KIND_SUFFIX, false);
			}
			s = lit_step(s, w);
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
			probe_sel(c, k, infix_hash(k, v + i), &key, KIND_INFIX, true);
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

static void collect(struct bctx *c, unsigned reader, const struct keydir *dir)
{
	struct hybrid *x = (struct hybrid *)c->x;
	const struct evr_event *ev = c->evs[c->cur];
	struct ev_state *es = &c->rd->evs[c->cur];

	evr_ev_sel_init(&es->es, ev);
	es->dup_keys = false;
	if (__atomic_load_n(&x->n_event, __ATOMIC_ACQUIRE)) {
		struct idx_key k = {.kind = EVR_IDX_EVENT};
		k.sel_hash = es->es.name_hash;
		probe(c, k.sel_hash, &k, false);
		if (es->es.sub_hash && es->es.sub_hash != es->es.name_hash) {
			k.sel_hash = es->es.sub_hash;
			probe(c, k.sel_hash, &k, false);
		}
		k.sel_hash = EVR_SEL_ALL_HASH;
		probe(c, k.sel_hash, &k, false);
	}
	if (!dir)
		return;
	const struct evr_keyslot *seen[MAX_SEEN_SLOTS];
	uint32_t n_seen = 0;
	for (uint32_t a = 0; a < ev->n_attrs; a++) {
		const struct evr_attr *at = &ev->attrs[a];
		uint64_t h = evr_hash_lc(at->name.p, at->name.len);
		struct evr_keyslot *k = keydir_find(dir, h, at->name.p, at->name.len);
		if (!k)
			continue;
		if (!es->dup_keys) {
			for (uint32_t i = 0; i < n_seen; i++)
				if (seen[i] == k)
					es->dup_keys = true;
			if (n_seen < MAX_SEEN_SLOTS)
				seen[n_seen++] = k;
			else
				es->dup_keys = true; /* cannot tell: be safe */
		}
		match_value(c, k, reader, at->value.p, at->value.len);
	}
}

uint32_t hyb_match(struct evr_matcher *m, unsigned reader, const struct evr_event *const *evs,
                   uint32_t n_ev, uint64_t now_ms, struct evr_match_burst *b,
                   struct evr_match_stats *st)
{
	struct hybrid *x = m->index;
	struct bctx c = {.m = m, .x = x, .evs = evs, .b = b, .now = now_ms, .st = st};

	if (reader >= x->n_readers) {
		/* not a registered reader: no scratch of its own to use */
		st->overflow += n_ev;
		for (uint32_t e = 0; e <= n_ev; e++)
			b->first[e] = 0;
		return 0;
	}
	c.rd = &x->readers[reader];
	c.rd->n_probe = c.rd->n_hs = 0;
	c.t = evr_rcuhash_read(&x->idx);
	c.bloom = rcu_dereference(x->bloom);
	const struct keydir *dir = rcu_dereference(x->dir);
	for (uint32_t e = 0; e < n_ev; e++) {
		c.cur = (uint16_t)e;
		collect(&c, reader, dir);
	}
	flush(&c);
	uint32_t at = 0;
	for (uint32_t e = 0; e < n_ev; e++) {
		b->first[e] = at;
		at += c.count[e];
	}
	b->first[n_ev] = at;
	return c.n;
}
