/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matcher internals shared by the subscription store (evr_matcher.c) and the
 * index backends (evr_index_hybrid.c, evr_index_naive.c). Not installed.
 *
 * Ownership: struct evr_sub_node is allocated and freed by the store; the
 * index owns only its linkage fields. Everything marked "writer" is touched
 * only with m->lock held. Readers touch the public struct evr_sub fields
 * (immutable after publish, but for fired/removed/expires_ms/format which are
 * accessed atomically) and the index's RCU-published structures.
 */
#ifndef EVR_MATCHER_INTERNAL_H
#define EVR_MATCHER_INTERNAL_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE /* inline fast paths of liburcu (rcu_dereference, wfcq) */
#endif
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <urcu-qsbr.h>
#include <urcu/list.h>
#include <urcu/rculist.h>
#include <urcu/wfcqueue.h>

#include "util/evr_hash.h"
#include "evr_matcher.h"
#include "evr_rcuhash.h"

struct evr_dest_ref {
	struct evr_dest d;
	uint32_t refs;               /* writer */
	uint64_t hash;
	struct rcu_head rcu;
};

/* An interned event name or subclass: subscriptions share one copy, which
 * the read path compares for every candidate (so it stays cached). */
struct evr_name_ref {
	uint64_t hash;
	uint32_t refs;               /* writer */
	uint32_t len;
	struct rcu_head rcu;
	char s[];                    /* NUL-terminated, as given */
};

/* Where the hybrid index found a subscription. */
enum evr_idx_kind {
	EVR_IDX_NONE = 0,
	EVR_IDX_EVENT,  /* no filter (or lenient): by event selector */
	EVR_IDX_EXACT,
	EVR_IDX_PREFIX,
	EVR_IDX_SUFFIX,
	EVR_IDX_HS,     /* complex glob: per-key Hyperscan set */
	EVR_IDX_INFIX,  /* complex glob: by an 8-byte substring it requires */
};

struct evr_keyslot;
struct evr_hs_db;

#define EVR_NODE_INLINE 40 /* bytes for the indexed literal (line 0) */

/*
 * A subscription record. Records come from a slab on huge pages
 * (util/evr_slab.h), 64-byte aligned, and are laid out for the read path:
 * what stages D and E of the hybrid match (evr_hybrid_match.c) read of a
 * single-filter exact/prefix/suffix candidate is in its first two cache
 * lines, the index key and its literal in line 0 and the public part's hot
 * fields (evr_sub.h) in line 1; the event name they compare is interned
 * (shared between subscriptions, so it stays cached). NODE_LINES there
 * prefetches exactly these two lines; the asserts below keep them so.
 */
struct evr_sub_node {
	/* ---- line 0: read by readers for every candidate (stage D) ---- */
	struct evr_keyslot *slot;        /* hybrid: key of the indexed filter */
	const char *idx_lit;             /* indexed literal (inline when short) */
	uint32_t idx_lit_len;            /* indexed literal length (<= 63 for pre/suffix) */
	uint8_t idx_kind;                /* enum evr_idx_kind */
	uint8_t idx_truncated;           /* literal longer than indexed: verify fully */
	uint8_t hs_pending;              /* hybrid writer: on slot pending list */
	uint8_t inl_used;
	/* the indexed literal's copy, so the key check stays on this line */
	char inl[EVR_NODE_INLINE];
	/* ---- line 1 (hot) and line 2 (cold): the public part ---- */
	struct evr_sub s;
	/* ---- writer side ---- */
	union {
		struct cds_list_head naive_node; /* naive: RCU list */
		struct cds_list_head hs_link;    /* hybrid writer: HS pending list */
	};
	struct evr_hs_db *hs_db;         /* hybrid writer: db it lives in (or NULL) */
	uint64_t idx_hash;               /* hybrid writer: its index table hash */
	struct cds_list_head all;        /* id order */
	uint32_t heap_idx;               /* expiry heap position */
	int refs; /* atomic: 1 for being live/reachable + 1 while on the fired queue */
	uint64_t canon_hash;             /* identity (evr_matcher.c build_canon) */
	struct cds_wfcq_node fired_node; /* once: pushed by the winning reader */
	struct rcu_head rcu;
	struct evr_matcher *m;           /* set when the store takes the node: from
	                                  * then on its names are interned */
};
/* No aligned(64) on the type: the slab aligns every record, and an
 * over-aligned type makes the list walks' end test (container_of on the
 * list head, as every intrusive list does) a misaligned access for UBSan. */

_Static_assert(offsetof(struct evr_sub_node, s) == 64, "record line 0 is the index key");
_Static_assert(offsetof(struct evr_sub_node, s) + offsetof(struct evr_sub, id) == 128,
               "the public part's hot fields fill record line 1");
_Static_assert(sizeof(struct evr_sub_node) <= 256, "a record is four cache lines");

/* Copy a short string into the node's inline area; NULL if it does not fit.
 * Writer, before the node is published. */
static inline const char *evr_node_inline(struct evr_sub_node *n, const char *p, size_t len)
{
	if (len + 1 > (size_t)(EVR_NODE_INLINE - n->inl_used))
		return NULL;
	char *d = n->inl + n->inl_used;
	memcpy(d, p, len);
	d[len] = 0;
	n->inl_used = (uint8_t)(n->inl_used + len + 1);
	return d;
}

static inline struct evr_sub_node *evr_sub_node_of(const struct evr_sub *s)
{
	return caa_container_of(s, struct evr_sub_node, s);
}

/* Index backend function table: both backends implement it (STYLE 16). */
struct evr_index_ops {
	const char *name;
	int (*init)(struct evr_matcher *m);
	void (*fini)(struct evr_matcher *m);
	/* writer, lock held: make n visible (or queue it for the next delta) */
	int (*add)(struct evr_matcher *m, struct evr_sub_node *n);
	/* writer, lock held: n->s.removed already set; unlink and arrange for
	 * evr_sub_node_free() after a grace period (or later, for tombstones) */
	void (*del)(struct evr_matcher *m, struct evr_sub_node *n);
	/* reader: evr_matcher_match_burst's contract, 1 <= n <= max */
	uint32_t (*match)(struct evr_matcher *m, unsigned reader,
	                  const struct evr_event *const *evs, uint32_t n, uint64_t now_ms,
	                  struct evr_match_burst *b, struct evr_match_stats *st);
	/* background/sync: compile pending deltas; merge when due. Called
	 * without the lock. Returns true if work remains pending. */
	bool (*maintain)(struct evr_matcher *m, bool merge_now);
	void (*stats)(struct evr_matcher *m, struct evr_matcher_stats *st);
};

extern const struct evr_index_ops evr_index_hybrid_ops;
extern const struct evr_index_ops evr_index_naive_ops;

struct evr_matcher {
	struct evr_matcher_conf conf;
	const struct evr_index_ops *ops;
	void *index;                     /* backend state */
	pthread_mutex_t lock;            /* writer lock */
	unsigned lock_waiters;           /* atomic: API callers waiting for it
	                                  * (evr_matcher.c writer_lock) */
	pthread_cond_t kick;             /* wakes the background thread */
	pthread_cond_t idle;             /* background thread finished a pass */
	pthread_t bg;
	bool bg_running, bg_stop;
	uint64_t bg_work_seq, bg_done_seq;
	uint64_t bg_visible_seq;         /* bg_work_seq that publishes the last
	                                  * Hyperscan-indexed subscription */
	int readers;                     /* registered reader indexes */
	uint64_t next_id;
	struct evr_rcuhash id_map, canon_map, dest_map, name_map; /* writer-only maps */
	struct cds_list_head all;        /* live subscriptions in id order */
	struct evr_sub_node **heap;      /* min-heap on expires_ms */
	uint32_t heap_n, heap_cap;
	struct cds_wfcq_head fired_head; /* once subscriptions claimed by readers */
	struct cds_wfcq_tail fired_tail;
	struct evr_matcher_stats st;     /* writer counters */
	const struct evr_dest_policy *policy; /* NULL: any destination */
	evr_sub_change_fn change_fn;     /* durable store's hook (evr_matcher.h) */
	void *change_ctx;
	uint64_t sub_bytes;              /* heap bytes of live subs' own allocations */
};

/* Free a never-published node. */
void evr_sub_node_free(struct evr_sub_node *n);
/* Drop the "reachable" reference once no reader can reach n any more. */
void evr_sub_node_unref(struct evr_sub_node *n);
/* Drop it after a grace period (call_rcu). */
void evr_sub_node_free_rcu(struct evr_sub_node *n);

/* ---- reader-side helpers shared by both backends ----------------------- */

/* evr_mix64, evr_hash_lc (util/evr_hash.h): table indexes use the low
 * bits, the presence bitmap the high ones. */

/* Hash of an event selector: name, or name+subclass, or ALL. */
#define EVR_SEL_ALL_HASH 0x9e3779b97f4a7c15ULL
static inline uint64_t evr_sel_hash(uint64_t name_hash, const char *sub, size_t n)
{
	if (!n)
		return name_hash;
	return evr_mix64(name_hash ^ (evr_hash_lc(sub, n) * 31));
}

/* Event-side precomputed selector hashes. */
struct evr_ev_sel {
	uint64_t name_hash; /* evr_hash_lc(name) */
	uint64_t sub_hash;  /* evr_sel_hash(name_hash, subclass) or 0 */
};

static inline void evr_ev_sel_init(struct evr_ev_sel *es, const struct evr_event *ev)
{
	es->name_hash = evr_hash_lc(ev->name.p, ev->name.len);
	es->sub_hash = ev->subclass.len
	                   ? evr_sel_hash(es->name_hash, ev->subclass.p, ev->subclass.len)
	                   : 0;
}

static inline bool evr_sel_match(const struct evr_sub *s, const struct evr_event *ev,
                                 const struct evr_ev_sel *es)
{
	switch (s->sel) {
	case EVR_SEL_ALL:
		return true;
	case EVR_SEL_NAME:
		return s->ev_hash == es->name_hash && s->ev_name_len == ev->name.len &&
		       evr_ieq(s->ev_name, ev->name.p, ev->name.len);
	default:
		return s->ev_hash == es->sub_hash && s->ev_name_len == ev->name.len &&
		       evr_ieq(s->ev_name, ev->name.p, ev->name.len) &&
		       s->subclass_len == ev->subclass.len &&
		       evr_ieq(s->subclass, ev->subclass.p, ev->subclass.len);
	}
}

/* Filter i against the event: any attribute with that key matching passes;
 * a missing key passes only for lenient subscriptions. */
static inline bool evr_filter_check(const struct evr_sub *s, const struct evr_filter *f,
                                    const struct evr_event *ev)
{
	bool seen = false;
	for (uint32_t a = 0; a < ev->n_attrs; a++) {
		const struct evr_attr *at = &ev->attrs[a];
		if (at->name.len != f->key_len || !evr_ieq(at->name.p, f->key, f->key_len))
			continue;
		seen = true;
		if (evr_filter_value_match(f, at->value.p, at->value.len))
			return true;
	}
	return !seen && s->lenient;
}

/*
 * Commit a candidate whose selector and filters passed: not removed, not
 * expired, and for `once` the claim (exactly one reader ever wins).
 * RCU read side.
 */
static inline bool evr_sub_commit(const struct evr_sub *cs, uint64_t now_ms,
                                  struct evr_match_stats *st)
{
	struct evr_sub *s = (struct evr_sub *)cs;
	if (__atomic_load_n(&s->removed, __ATOMIC_ACQUIRE))
		return false;
	if (now_ms >= __atomic_load_n(&s->expires_ms, __ATOMIC_RELAXED)) {
		st->skipped_expired++;
		return false;
	}
	if (s->once) {
		if (__atomic_exchange_n(&s->fired, 1, __ATOMIC_ACQ_REL)) {
			st->skipped_fired++;
			return false;
		}
		struct evr_sub_node *n = evr_sub_node_of(s);
		/* the queue holds its own reference: the writer may remove and
		 * release the node before the reaper drains the queue */
		__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
		cds_wfcq_node_init(&n->fired_node);
		cds_wfcq_enqueue(&n->m->fired_head, &n->m->fired_tail, &n->fired_node);
	}
	return true;
}

/* Full decision for an index candidate: selector, every filter but the one
 * the index already proved (skip_filter), then commit. RCU read side. */
static inline bool evr_sub_accept(const struct evr_sub *s, const struct evr_event *ev,
                                  const struct evr_ev_sel *es, uint32_t skip_filter,
                                  uint64_t now_ms, struct evr_match_stats *st)
{
	/* a removed subscription's interned names may be released once a grace
	 * period has passed, and a Hyperscan tombstone stays reachable longer:
	 * look at nothing else of it (evr_sub_commit checks again, after the
	 * filters) */
	if (__atomic_load_n(&s->removed, __ATOMIC_ACQUIRE))
		return false;
	if (!evr_sel_match(s, ev, es))
		return false;
	for (uint32_t i = 0; i < s->n_filters; i++) {
		if (i == skip_filter)
			continue;
		if (!evr_filter_check(s, &s->filters[i], ev))
			return false;
	}
	return evr_sub_commit(s, now_ms, st);
}

#endif /* EVR_MATCHER_INTERNAL_H */
