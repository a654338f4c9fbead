/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-destination egress limits: token buckets of notifications/s and
 * bytes/s per destination (address, port), so that however many
 * subscriptions point at one host, and whatever their formats inflate an
 * event to, it receives at most that rate (RFC 8085 section 3.1: a UDP
 * sender without congestion control must bound its rate; RFC 6446's event
 * rate control for SIP notifications is the same idea per subscription).
 * Buckets start full and hold burst_ms of their rate.
 *
 * Memory is bounded: `slots` buckets allocated at create, in sets of 8 by
 * a seeded hash; a new destination takes an idle bucket (full again), else
 * the least recently used one of its set (counted `evicted`: forgetting a
 * destination only refills its bucket early).
 *
 * Also one plain bucket (evr_bucket) for a global cap.
 *
 * Rates change at run time (evr_destlimit_set_rates, from the owner's
 * thread): each bucket takes the new rate and depth the next time its
 * destination is seen, keeping its tokens (up to the new depth).
 *
 * Figures: each bucket counts what its destination was sent and refused
 * since it took the bucket; evr_destlimit_figures reads them from any
 * thread without locks (a per-bucket sequence count tells a bucket being
 * given to another destination meanwhile: then the read retries).
 *
 * Ownership: one table per notifier (worker or control thread), updated by
 * its thread only: no locks, no allocation after create. A configured rate
 * is split between the notifiers by the caller. Pure C, no EAL.
 */
#ifndef EVR_DESTLIMIT_H
#define EVR_DESTLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "event/evr_event.h" /* EVR_API */

/* One token bucket: rate per second, depth burst_ms of it. */
struct evr_bucket {
	uint64_t rate;   /* per second; 0 = unlimited */
	uint64_t cap;    /* rate * burst_ms * 1000 (tokens are scaled by 1e6) */
	uint64_t tok;
	uint64_t last_us;
};

EVR_API void evr_bucket_init(struct evr_bucket *b, uint64_t rate, uint32_t burst_ms,
                             uint64_t now_us);
/* Take cost units at now_us; false (nothing taken) when not enough. */
EVR_API bool evr_bucket_take(struct evr_bucket *b, uint64_t cost, uint64_t now_us);

enum evr_destlimit_verdict { EVR_DL_OK = 0, EVR_DL_RATE, EVR_DL_BYTES };

struct evr_destlimit_stats {
	uint64_t over_rate, over_bytes, evicted;
};

struct evr_destlimit;

/* rate_n notifications/s and rate_b bytes/s per destination (0 = that
 * dimension unlimited; both 0: every take passes, figures are counted),
 * burst_ms >= 1, slots >= 8. NULL with errno EINVAL / ENOMEM. */
EVR_API struct evr_destlimit *evr_destlimit_create(uint64_t rate_n, uint64_t rate_b,
                                                   uint32_t burst_ms, uint32_t slots);
EVR_API void evr_destlimit_destroy(struct evr_destlimit *t);
/* One notification of bytes to (family 4/6, addr, port) at now_us. */
EVR_API enum evr_destlimit_verdict evr_destlimit_take(struct evr_destlimit *t, uint8_t family,
                                                      const uint8_t *addr, uint16_t port,
                                                      uint32_t bytes, uint64_t now_us);
EVR_API const struct evr_destlimit_stats *evr_destlimit_stats(const struct evr_destlimit *t);
/* New rates and depth (bounds as create; -EINVAL). Owner's thread. */
EVR_API int evr_destlimit_set_rates(struct evr_destlimit *t, uint64_t rate_n, uint64_t rate_b,
                                    uint32_t burst_ms);

/* One destination's figures since it took its bucket. */
struct evr_destlimit_figures {
	uint64_t sent;          /* notifications let through */
	uint64_t over_rate;     /* refused: notifications/s */
	uint64_t over_bytes;    /* refused: bytes/s */
};
/* Add the figures of (family, addr, port) to *f: true when the table
 * tracks that destination now. Any thread (relaxed reads). */
EVR_API bool evr_destlimit_figures(const struct evr_destlimit *t, uint8_t family,
                                   const uint8_t *addr, uint16_t port,
                                   struct evr_destlimit_figures *f);

#endif /* EVR_DESTLIMIT_H */
