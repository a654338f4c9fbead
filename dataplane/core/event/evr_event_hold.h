/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hold of decoded events kept alive together, so a worker can match a
 * whole burst at once (match/evr_matcher.h, evr_matcher_match_burst): it
 * decodes each datagram into its one decode scratch and keeps a copy here.
 * The copy is one memcpy of the bytes the scratch's arena used plus a
 * rebase of the views into it (a view outside the arena, which no decoder
 * makes today, is copied on its own), so it costs about the event's size
 * and leaves the decoder free to reuse its scratch and the datagram free
 * to be released.
 *
 * Sized at init; adding never allocates. Owned by one thread (a worker
 * lcore); not shared.
 */
#ifndef EVR_EVENT_HOLD_H
#define EVR_EVENT_HOLD_H

#include <stdint.h>

#include "evr_event.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evr_ev_hold {
	uint32_t n, max_events;
	struct evr_event *ev;     /* max_events */
	struct evr_attr *attrs;
	uint32_t attrs_used, attrs_cap;
	char *buf;
	uint32_t buf_used, buf_cap;
};

/* Room for max_events events within limits l (any one event within the
 * limits always fits an empty hold). Init time. 0 or -EINVAL/-ENOMEM. */
EVR_API int evr_ev_hold_init(struct evr_ev_hold *h, const struct evr_limits *l,
                             uint32_t max_events);
EVR_API void evr_ev_hold_fini(struct evr_ev_hold *h);

static inline void evr_ev_hold_reset(struct evr_ev_hold *h)
{
	h->n = h->attrs_used = h->buf_used = 0;
}

/* Keep a copy of ev, whose views point into arena[0..arena_used) (copied
 * in one piece) or anywhere else (copied one by one; arena may be NULL).
 * NULL when the hold is full: use what it holds, reset it and add again. */
EVR_API const struct evr_event *evr_ev_hold_add_event(struct evr_ev_hold *h,
                                                      const struct evr_event *ev,
                                                      const char *arena, uint32_t arena_used);

/* The event built in s (a decoder's or builder's scratch). */
static inline const struct evr_event *evr_ev_hold_add(struct evr_ev_hold *h,
                                                      const struct evr_scratch *s)
{
	return evr_ev_hold_add_event(h, &s->ev, s->buf, s->buf_used);
}

#ifdef __cplusplus
}
#endif
#endif /* EVR_EVENT_HOLD_H */
