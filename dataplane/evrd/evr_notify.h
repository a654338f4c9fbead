/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notify stage: one matched event -> its notifications. Every producer
 * of events goes through it: workers (decoded datagrams), SIP ingest
 * (events derived from SIP state and the endpoint) and the control thread
 * (raise_event, whose subscribers the control library matched already).
 *
 *   match -> encode once per format -> fan-out -> publish
 *
 * Publish differs by owner only: a worker queues udp: descriptors on its
 * own egress ring (running its egress stage inline when the ring is full)
 * and unix:/esl: ones on the control thread's ring; the control thread queues
 * udp: descriptors to worker 0 (only workers own TX queues) and sends
 * unix: ones itself and hands esl: ones to the ESL server. Both queue nats:
 * descriptors (subject rendered into the header) on the NATS publisher
 * thread's MP/SC ring, in one burst per event; a full ring drops them
 * (counted nats_ring_full), never waits.
 *
 * Ownership and threads: a notifier belongs to one thread (a worker lcore
 * or the control thread) and is used by it only; init/fini run on the main
 * thread before the workers start / after they stopped. Match results are
 * RCU read-side pointers: valid until the owner's next quiescent state,
 * which is why fan-out copies everything TX needs into each descriptor.
 */
#ifndef EVR_NOTIFY_H
#define EVR_NOTIFY_H

#include "limit/evr_destlimit.h"
#include <stdint.h>

#include <urcu-qsbr.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "event/evr_event.h"
#include "event/evr_event_hold.h"
#include "match/evr_matcher.h"

struct evr_router;
struct evr_worker;
struct evr_counters;
struct evr_cfg_destinations;

/*
 * The per-destination rates (destinations.rate_notifications, rate_bytes,
 * burst_ms) as the router publishes them: an immutable object behind an
 * RCU pointer (r->dl_rates), replaced whole by config_set and freed after
 * a grace period. Each notifier compares gen with the one it applied and
 * retunes its own limiter table (its share of the rates): no lock, and no
 * allocation on a worker.
 */
struct evr_dl_rates {
	uint64_t gen;
	uint64_t rate_n, rate_b;
	uint32_t burst_ms;
	struct rcu_head rcu;
};
/* Publish d's rates (main thread at start, then the control thread only).
 * 0 or -ENOMEM. */
int evr_notify_rates_publish(struct evr_router *r, const struct evr_cfg_destinations *d);

/* Unmatched event names a worker remembers having passed on. */
#define EVR_SEEN_NAMES 1024u

struct evr_notifier {
	struct evr_router *r;
	struct evr_worker *w;          /* owner; NULL: the control thread */
	int reader;                    /* matcher reader index (workers) */
	const struct evr_sub **match;  /* workers: max_fanout per event of a burst */
	struct rte_mbuf **fan;         /* udp: descriptors of one event */
	struct rte_mbuf **fan_unix;    /* unix: descriptors of one event */
	struct rte_mbuf **fan_nats;    /* nats: descriptors of one event */
	struct rte_mbuf **fan_claim;   /* fired `once` ones awaiting a claim */
	struct rte_mbuf **hdr;         /* header mbufs of one event, allocated
	                                * in one bulk call */
	uint64_t *seen_names;          /* workers: hashes of the unmatched event
	                                * names passed to the control thread
	                                * (direct-mapped, EVR_SEEN_NAMES) */
	/* egress limits (destinations.rate_*, egress_*): this notifier's share */
	struct evr_destlimit *dl;      /* always made: rates may be set later */
	uint64_t dl_gen;               /* r->dl_rates generation applied */
	bool dl_on;                    /* a per-destination rate is set */
	uint64_t dl_evicted_seen;
	struct evr_bucket egress_n, egress_b;
	char *encbuf; /* notifications that do not fit one mbuf; the control
	               * thread also linearises unix: payloads into it */
	/* workers: events held for the next burst match (all of one ingress
	 * port: another port's event flushes first) */
	struct evr_ev_hold hold;
	struct evr_counters *hold_cnt;
	struct evr_match_stats *hold_stats;
	uint8_t hold_port;
	rte_be16_t hold_sport[EVR_MATCH_BURST_MAX];
	uint64_t hold_seq[EVR_MATCH_BURST_MAX];
};

/* Main thread. w NULL: the control thread's notifier. 0 or -ENOMEM. */
int evr_notify_init(struct evr_notifier *nt, struct evr_router *r, struct evr_worker *w);
void evr_notify_fini(struct evr_notifier *nt);

/* Pass seq as EVR_NOTIFY_SEQ_NEXT to take the next Event-Sequence number
 * only when the event matched (events raised one at a time); a worker
 * decoding a burst reserves one block for the burst instead. */
#define EVR_NOTIFY_SEQ_NEXT UINT64_MAX

/* Match evs[0..n) (n <= EVR_MATCH_BURST_MAX) as one burst, then notify
 * each event's subscribers in order (event i came from source port
 * sport[i] and carries sequence number seq[i]); counted on cnt (the
 * ingress port's block) and stats. Returns the number of matches. Worker
 * only (RCU read side, the worker is online). */
uint32_t evr_notify_burst(struct evr_notifier *nt, struct evr_counters *cnt,
                          struct evr_match_stats *stats, uint8_t in_port,
                          const rte_be16_t *sport, const struct evr_event *const *evs,
                          const uint64_t *seq, uint32_t n, uint64_t now_ms, uint64_t now_tsc);

/*
 * Workers: keep ev for the next burst match instead of matching it alone.
 * ev's views point into arena[0..arena_used) (copied in one piece) or into
 * memory that outlives the call (copied one by one). A full hold, or an
 * event of another ingress port, flushes what is held first. The caller
 * flushes at the end of its burst, before its quiescent state.
 */
void evr_notify_hold(struct evr_notifier *nt, struct evr_counters *cnt,
                     struct evr_match_stats *stats, uint8_t in_port, rte_be16_t sport,
                     const struct evr_event *ev, const char *arena, uint32_t arena_used,
                     uint64_t seq, uint64_t now_ms, uint64_t now_tsc);
/* Match what is held as one burst and notify, in order. */
void evr_notify_flush(struct evr_notifier *nt, uint64_t now_ms, uint64_t now_tsc);

/* Notify subs[0..n) (already matched) of ev: encode, fan out, publish.
 * Returns the notifications queued or sent. */
uint32_t evr_notify_subs(struct evr_notifier *nt, struct evr_counters *cnt,
                         uint8_t in_port, rte_be16_t sport,
                         const struct evr_event *ev, uint64_t seq,
                         const struct evr_sub *const *subs, uint32_t n,
                         uint64_t now_tsc);

#endif /* EVR_NOTIFY_H */
