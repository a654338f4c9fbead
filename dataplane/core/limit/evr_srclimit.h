/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-source request-rate limit, as OpenSIPS's pike module limits a source
 * IP: at most `limit` datagrams per `window_ms` from one address; the rest
 * of that window is "over" (the caller drops them silently and counts).
 * Fixed windows per source, like pike's sampling_time_unit.
 *
 * Memory is bounded: `sources` slots allocated at create, in buckets of 8
 * found by a seeded hash (a flood cannot aim sources at one bucket without
 * the seed). A new source takes a free or expired slot of its bucket, else
 * the one whose window started first (counted `evicted`: a spoofed-source
 * flood can only make evrd forget sources, never grow it).
 *
 * Ownership: one table per worker, used by that worker only (no locks, no
 * allocation after create). Pure C, no EAL.
 */
#ifndef EVR_SRCLIMIT_H
#define EVR_SRCLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "event/evr_event.h" /* EVR_API */

struct evr_srclimit;

struct evr_srclimit_stats {
	uint64_t over;    /* datagrams over the limit */
	uint64_t evicted; /* live sources forgotten for a new one */
};

/* limit >= 1, window_ms >= 1, sources >= 8 (rounded up to a power of two).
 * NULL with errno EINVAL / ENOMEM. */
EVR_API struct evr_srclimit *evr_srclimit_create(uint32_t limit, uint32_t window_ms,
                                                 uint32_t sources);
EVR_API void evr_srclimit_destroy(struct evr_srclimit *t);
/* Count one datagram from addr (family 4: 4 bytes, 6: 16) at now_ms; true
 * when the source is over its limit in this window. Owner thread. */
EVR_API bool evr_srclimit_over(struct evr_srclimit *t, uint8_t family, const uint8_t *addr,
                               uint64_t now_ms);
EVR_API const struct evr_srclimit_stats *evr_srclimit_stats(const struct evr_srclimit *t);

#endif /* EVR_SRCLIMIT_H */
