/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Naive twin: OpenSIPS EBR's algorithm, kept as the reference the hybrid
 * index is tested and benchmarked against (STYLE 16).
 *
 * Every event walks every subscription; each filter finds the event
 * attribute by name and calls fnmatch(3) with flags 0, exactly as EBR does
 * per notification. The only liberties are the ones the product defines for
 * both backends alike: case-insensitive keys, strict/lenient missing keys,
 * expiry checked by the reader, and the `once` claim (evr_sub_accept).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "evr_matcher_internal.h"

struct naive {
	struct cds_list_head head; /* RCU list of all published subscriptions */
	uint64_t n;
};

static int naive_init(struct evr_matcher *m)
{
	struct naive *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	CDS_INIT_LIST_HEAD(&x->head);
	m->index = x;
	return 0;
}

static void naive_fini(struct evr_matcher *m)
{
	free(m->index);
	m->index = NULL;
}

static int naive_add(struct evr_matcher *m, struct evr_sub_node *n)
{
	struct naive *x = m->index;
	n->idx_kind = EVR_IDX_EVENT;
	cds_list_add_tail_rcu(&n->naive_node, &x->head);
	x->n++;
	return 0;
}

static void naive_del(struct evr_matcher *m, struct evr_sub_node *n)
{
	struct naive *x = m->index;
	cds_list_del_rcu(&n->naive_node);
	x->n--;
	evr_sub_node_free_rcu(n);
}

/* EBR's check: fnmatch() on the NUL-terminated value (event contract). */
static bool naive_filter(const struct evr_sub *s, const struct evr_filter *f,
                         const struct evr_event *ev)
{
	bool seen = false;
	const char *pat = strchr(f->text, '=') + 1; /* the pattern as given */
	for (uint32_t a = 0; a < ev->n_attrs; a++) {
		const struct evr_attr *at = &ev->attrs[a];
		if (at->name.len != f->key_len || !evr_ieq(at->name.p, f->key, f->key_len))
			continue;
		seen = true;
		if (fnmatch(pat, at->value.p, 0) == 0)
			return true;
	}
	return !seen && s->lenient;
}

static uint32_t naive_match_one(struct naive *x, const struct evr_event *ev,
                                uint64_t now_ms, const struct evr_sub **out,
                                uint32_t out_cap, struct evr_match_stats *st)
{
	struct evr_ev_sel es;
	uint32_t n = 0;
	evr_ev_sel_init(&es, ev);
	struct evr_sub_node *sn;
	cds_list_for_each_entry_rcu(sn, &x->head, naive_node) {
		const struct evr_sub *s = &sn->s;
		/* as evr_sub_accept: a removed one's interned names may be gone */
		if (__atomic_load_n(&s->removed, __ATOMIC_ACQUIRE) || !evr_sel_match(s, ev, &es))
			continue;
		bool ok = true;
		for (uint32_t i = 0; i < s->n_filters && ok; i++)
			ok = naive_filter(s, &s->filters[i], ev);
		if (!ok || !evr_sub_commit(s, now_ms, st))
			continue;
		if (n < out_cap)
			out[n++] = s;
		else
			st->overflow++;
	}
	return n;
}

/* The reference twin matches one event after the other. */
static uint32_t naive_match(struct evr_matcher *m, unsigned reader,
                            const struct evr_event *const *evs, uint32_t n_ev,
                            uint64_t now_ms, struct evr_match_burst *b,
                            struct evr_match_stats *st)
{
	(void)reader;
	uint32_t n = 0;

	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t cap = b->cap - n < b->per_event_cap ? b->cap - n : b->per_event_cap;

		b->first[e] = n;
		n += naive_match_one(m->index, evs[e], now_ms, b->subs + n, cap, st);
	}
	b->first[n_ev] = n;
	return n;
}

static bool naive_maintain(struct evr_matcher *m, bool merge_now)
{
	(void)m;
	(void)merge_now;
	return false;
}

static void naive_stats(struct evr_matcher *m, struct evr_matcher_stats *st)
{
	struct naive *x = m->index;
	st->keys = 0;
	st->mem_bytes += x->n * sizeof(struct cds_list_head);
}

const struct evr_index_ops evr_index_naive_ops = {
	.name = "naive",
	.init = naive_init,
	.fini = naive_fini,
	.add = naive_add,
	.del = naive_del,
	.match = naive_match,
	.maintain = naive_maintain,
	.stats = naive_stats,
};
