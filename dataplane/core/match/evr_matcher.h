/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The matcher: a subscription store plus an index that matches one event
 * against all live subscriptions.
 *
 * Two index backends sit behind the same interface:
 *  - EVR_INDEX_HYBRID (production): hash-first. Each subscription is indexed
 *    under its most selective filter: exact values -> one hash probe; prefix
 *    and suffix globs -> one probe per prefix/suffix length present for that
 *    attribute key (bitmask of lengths); other globs -> a per-key Hyperscan
 *    set (base database + small delta databases + tombstones; deltas are
 *    compiled by the maintenance thread, merges by the index's merge
 *    thread). Subscriptions without filters (and
 *    lenient ones) are indexed by event selector. Candidates are verified
 *    against all their filters.
 *  - EVR_INDEX_NAIVE (reference twin): OpenSIPS EBR's algorithm, a linear
 *    walk of every subscription with fnmatch(3) per filter.
 *
 * Threads and RCU (liburcu QSBR flavour):
 *  - Readers (dataplane lcores, test reader threads) call evr_matcher_match.
 *    They must be registered with urcu-qsbr (rcu_register_thread), online,
 *    and have a reader index from evr_matcher_reader_register. They never
 *    lock and never wait. Returned subscription pointers stay valid until the
 *    reader's next quiescent state.
 *  - Writers (control thread, config loader, tests) call the other
 *    functions; they serialise on an internal mutex, must be registered
 *    QSBR threads and online (the functions go offline around blocking).
 *  - Two background threads are owned by the matcher: the maintenance
 *    thread (store) reaps expired and fired `once` subscriptions and has the
 *    index compile pending Hyperscan deltas; the hybrid index's merge thread
 *    folds deltas and tombstones into a new base database. The reaper runs
 *    against evr_now_ms(): with it running, every now_ms given to the API
 *    must come from evr_now_ms(). Tests that simulate time set
 *    conf.no_background and drive evr_matcher_sync/evr_matcher_reap.
 *
 * Visibility: exact/prefix/suffix/no-filter subscriptions are visible to
 * readers when evr_matcher_subscribe returns; Hyperscan-indexed ones once the
 * maintenance thread publishes the delta database (milliseconds): a writer
 * that acknowledges subscriptions (the control plane) calls
 * evr_matcher_wait_visible before it answers, so an acknowledged
 * subscription matches the next event, as OpenSIPS EBR's does. After
 * evr_matcher_unsubscribe returns, no match that starts later returns that
 * subscription; readers also skip expired and already-fired `once` ones.
 */
#ifndef EVR_MATCHER_H
#define EVR_MATCHER_H

#include "evr_sub.h"

#ifdef __cplusplus
extern "C" {
#endif

enum evr_index_kind {
	EVR_INDEX_HYBRID = 0,
	EVR_INDEX_NAIVE,
};

struct evr_matcher_conf {
	enum evr_index_kind index;
	uint32_t max_readers;     /* reader indexes (dataplane cores + tests); default 16 */
	uint32_t max_subs;        /* refuse (-ENOSPC) beyond this; default 4M */
	uint32_t hs_delta_max;    /* patterns per delta db before a merge; default 512 */
	uint32_t hs_max_deltas;   /* delta dbs per key before a merge; default 8 */
	uint32_t reap_interval_ms; /* background reaping period; default 200 */
	bool no_background;       /* tests: no threads; call evr_matcher_sync and
	                           * evr_matcher_reap */
	/* Ids this matcher gives are id_base + 1, + 2, ... (a cluster member's
	 * own range: node_id << EVR_ID_NODE_SHIFT, control/evr_store.h). A
	 * restored id moves the next one only when it is in that range, so
	 * other members' ids never push this one's into theirs. 0: ids from 1. */
	uint64_t id_base;
};
#define EVR_ID_NODE_SHIFT 40 /* ids per node: 2^40; node ids < 2^12 keep ids < 2^53 (JSON) */

EVR_API void evr_matcher_conf_default(struct evr_matcher_conf *c);

struct evr_matcher;

/* Create/destroy. destroy only after all readers stopped. Control thread. */
EVR_API struct evr_matcher *evr_matcher_create(const struct evr_matcher_conf *c);
EVR_API void evr_matcher_destroy(struct evr_matcher *m);

/* Subscribe checks every new destination against p (match/
 * evr_dest_policy.h; removals are never checked) from now on; NULL = any
 * destination (the library default: tests, embedders). p stays the
 * caller's and must outlive its use. Control thread (the writer). */
struct evr_dest_policy;
EVR_API void evr_matcher_set_dest_policy(struct evr_matcher *m,
                                         const struct evr_dest_policy *p);

/*
 * Change feed for a durable store (control/evr_store.h). fn is called for
 * every subscription added or refreshed (put, with the live record) and
 * every one removed, whatever removed it: unsubscribe, expire 0, the reaper
 * (expired, fired `once`), re-subscribing a dead one (del, the record still
 * readable). It runs under the writer lock, in the writer's or the
 * maintenance thread's context, so it must only copy and queue: never
 * block, never call the matcher. Subscriptions added before the hook is set
 * (static ones of the config, those being restored) are not reported; the
 * hook is cleared before evr_matcher_destroy, whose removals are no change.
 * Writer.
 */
enum evr_sub_change_kind {
	EVR_SUB_PUT = 0,      /* added or refreshed */
	EVR_SUB_DEL_REQUEST,  /* unsubscribe, expire 0, replaced */
	EVR_SUB_DEL_EXPIRED,  /* reaped: expired */
	EVR_SUB_DEL_ONCE,     /* reaped: `once` fired */
};
typedef void (*evr_sub_change_fn)(void *ctx, enum evr_sub_change_kind kind,
                                  const struct evr_sub *s);
EVR_API void evr_matcher_set_change_hook(struct evr_matcher *m, evr_sub_change_fn fn,
                                         void *ctx);

/* The id the next new subscription gets (ids continue above restored
 * ones). Writer. */
EVR_API uint64_t evr_matcher_next_id(struct evr_matcher *m);

/* Reader index for per-reader scratch (Hyperscan). Init time. >=0 or -ENOSPC. */
EVR_API int evr_matcher_reader_register(struct evr_matcher *m);

/* Per-call reader counters (added to, never reset by the matcher). */
struct evr_match_stats {
	uint64_t events;
	uint64_t matches;
	uint64_t skipped_expired; /* matched but expired: not notified */
	uint64_t skipped_fired;   /* once already notified (other core won) */
	uint64_t overflow;        /* more matches than out_cap: dropped, counted */
	uint64_t hs_errors;       /* hs_scan failures */
	/* index work (hybrid): where a match's time goes */
	uint64_t probes;          /* index hashes probed */
	uint64_t probes_present;  /* ... whose presence bit was set */
	uint64_t candidates;      /* records whose full hash matched, verified */
};

/*
 * Match a burst of events against every live subscription. The hybrid
 * index runs the burst stage by stage (probe hashes of every event, then
 * presence bits, then table slots, then candidate records, then verify),
 * prefetching each stage's loads for the whole burst before the next stage
 * reads them, so the cache misses of different events overlap instead of
 * forming one dependent chain per event.
 *
 * Results go to b->subs event by event: event i's matches are
 * b->subs[b->first[i] .. b->first[i + 1]), each subscription at most once
 * per event; at most b->per_event_cap per event and b->cap in all (the rest
 * is counted in st->overflow). `once` subscriptions are claimed here: at
 * most one reader ever gets one. n <= EVR_MATCH_BURST_MAX (more is a
 * caller bug: only the first EVR_MATCH_BURST_MAX are matched). Returns the
 * total written. RCU read side; reader = index from
 * evr_matcher_reader_register, used by one thread at a time.
 */
#define EVR_MATCH_BURST_MAX 32u

struct evr_match_burst {
	const struct evr_sub **subs; /* caller's array of cap entries */
	uint32_t cap;
	uint32_t per_event_cap;      /* e.g. limits.max_fanout */
	uint32_t first[EVR_MATCH_BURST_MAX + 1]; /* out */
};

EVR_API uint32_t evr_matcher_match_burst(struct evr_matcher *m, unsigned reader,
                                         const struct evr_event *const *evs, uint32_t n,
                                         uint64_t now_ms, struct evr_match_burst *b,
                                         struct evr_match_stats *st);

/* One event: a burst of one (out_cap is both caps). */
EVR_API uint32_t evr_matcher_match(struct evr_matcher *m, unsigned reader,
                                   const struct evr_event *ev, uint64_t now_ms,
                                   const struct evr_sub **out, uint32_t out_cap,
                                   struct evr_match_stats *st);

/*
 * Subscribe (or refresh the identical event+dest+filters subscription, or
 * with expire == 0 remove it). A subscription is live while
 * now_ms < expires_ms (= subscribe time + expire * 1000): at expires_ms it is
 * expired. Re-subscribing an expired or already-fired `once` subscription
 * creates a fresh one (new id). Event names and subclasses compare
 * case-insensitively. 0 or -EINVAL (err says why, naming the
 * filter/destination/event), -ENOENT (expire == 0 and nothing to remove),
 * -ENOSPC, -ENOMEM. Writer.
 * With spec->restore_id (a store loading at start-up, or applying another
 * cluster member's change) the subscription keeps that id (-EEXIST if
 * taken) and next ids continue above it when it is in this matcher's range
 * (conf.id_base); with spec->restore_expires_ms it expires then, not expire
 * seconds from now (also when it refreshes an existing one).
 */
EVR_API int evr_matcher_subscribe(struct evr_matcher *m,
                                  const struct evr_sub_spec *spec,
                                  uint64_t now_ms, struct evr_sub_info *info,
                                  char *err, size_t errlen);

/* Remove by id: 0 or -ENOENT. Writer. */
EVR_API int evr_matcher_unsubscribe(struct evr_matcher *m, uint64_t id);

/* Remove every subscription for event (+subclass) and destination text:
 * the selector must be the same as subscribed (subclass NULL removes only
 * subscriptions without a subclass; "ALL" removes ALL subscriptions).
 * Returns how many (>= 0) or -EINVAL. Writer. */
EVR_API int evr_matcher_unsubscribe_dest(struct evr_matcher *m, const char *event,
                                         const char *subclass, const char *dest);

/* Reap expired and fired `once` subscriptions now; returns how many. In
 * batches of at most 1024 per hold of the writer lock, other writers let in
 * between them. Writer. */
EVR_API uint32_t evr_matcher_reap(struct evr_matcher *m, uint64_t now_ms);

/*
 * With no_background: compile pending Hyperscan deltas and run due merges
 * synchronously (tests). Otherwise wait until the maintenance thread has
 * published everything pending at the time of the call. Writer.
 */
EVR_API void evr_matcher_sync(struct evr_matcher *m);

/*
 * Wait until every subscription added so far is visible to readers (the
 * Hyperscan-indexed ones published), at most timeout_ms; returns at once
 * when none is waiting, so a caller may call it after every batch of
 * requests. true when visible. With no_background it compiles them itself.
 * Writer.
 */
EVR_API bool evr_matcher_wait_visible(struct evr_matcher *m, uint32_t timeout_ms);

/* Visit live subscriptions in id order with id > after_id, at most limit.
 * Returns how many were visited. The callback must not call the matcher.
 * Writer (holds the writer lock while visiting). */
typedef void (*evr_sub_visit_fn)(const struct evr_sub *s, void *ctx);
EVR_API uint32_t evr_matcher_list(struct evr_matcher *m, uint64_t after_id,
                                  uint32_t limit, evr_sub_visit_fn fn, void *ctx);

/* Look one up by id (copying under the lock): 0 or -ENOENT. Writer. */
EVR_API int evr_matcher_get(struct evr_matcher *m, uint64_t id,
                            evr_sub_visit_fn fn, void *ctx);

/* Matcher statistics: X(field, COUNTER, help). Control and metrics export each
 * under its field name. */
#define EVR_MATCHER_STATS(X)                                                       \
	X(live, GAUGE, "live subscriptions")                                              \
	X(subscribed, COUNTER, "successful subscribe calls that added")                     \
	X(refreshed, COUNTER, "subscribe calls that refreshed an identical subscription")   \
	X(unsubscribed, COUNTER, "subscriptions removed on request")                        \
	X(dest_refused, COUNTER, "subscribe calls refused by the destination policy")      \
	X(expired, COUNTER, "subscriptions reaped because expired")                         \
	X(once_reaped, COUNTER, "once subscriptions reaped after firing")                   \
	X(reap_batches, COUNTER, "reaper passes under the writer lock (at most 1024 removals each)") \
	X(reap_lag, GAUGE, "milliseconds since the oldest expired subscription not yet reaped expired (0: the reaper keeps up)") \
	X(hs_patterns, GAUGE, "live Hyperscan-indexed subscriptions")                     \
	X(hs_tombstones, GAUGE, "removed but still in a compiled database")               \
	X(hs_compiles, COUNTER, "Hyperscan databases compiled (deltas + merges)")           \
	X(hs_compile_errors, COUNTER, "Hyperscan compiles that failed")                     \
	X(hs_bytes, GAUGE, "bytes of compiled databases + scratch")                       \
	X(mem_bytes, GAUGE, "approximate heap bytes of subscriptions + index")            \
	X(keys, GAUGE, "indexed attribute keys")                                          \
	X(idx_event, GAUGE, "live subscriptions indexed by event selector (no filter, lenient)") \
	X(idx_exact, GAUGE, "live subscriptions indexed by an exact value")               \
	X(idx_prefix, GAUGE, "live subscriptions indexed by a prefix glob")               \
	X(idx_suffix, GAUGE, "live subscriptions indexed by a suffix glob")               \
	X(idx_anchored, GAUGE, "live complex globs indexed by the literal they start or end with") \
	X(idx_infix, GAUGE, "live complex globs indexed by an 8-byte substring")

struct evr_matcher_stats {
#define X(f, k, h) uint64_t f;
	EVR_MATCHER_STATS(X)
#undef X
};
EVR_API void evr_matcher_get_stats(struct evr_matcher *m, struct evr_matcher_stats *st);

/* Monotonic milliseconds (CLOCK_MONOTONIC; vDSO, no syscall on Linux x86). */
EVR_API uint64_t evr_now_ms(void);

/* Names for the event selector of a subscription ("ALL", "E_X", "CUSTOM sofia::register"). */
EVR_API int evr_sub_selector_text(const struct evr_sub *s, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* EVR_MATCHER_H */
