/* SPDX-License-Identifier: Apache-2.0 */
/* A hold of decoded events. See evr_event_hold.h. Owner thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evr_event_build.h"
#include "evr_event_hold.h"

int evr_ev_hold_init(struct evr_ev_hold *h, const struct evr_limits *l, uint32_t max_events)
{
	memset(h, 0, sizeof(*h));
	if (evr_limits_validate(l, NULL, 0) != 0 || max_events == 0)
		return -EINVAL;
	/* one event at its limits, and a typical burst's worth beside */
	uint32_t one = evr_scratch_buf_cap(l);
	h->buf_cap = one > 64u * 1024u ? one : 64u * 1024u;
	h->attrs_cap = l->max_attrs * (max_events < 8 ? max_events : 8);
	h->max_events = max_events;
	h->ev = calloc(max_events, sizeof(*h->ev));
	h->attrs = calloc(h->attrs_cap, sizeof(*h->attrs));
	h->buf = malloc(h->buf_cap);
	if (!h->ev || !h->attrs || !h->buf) {
		evr_ev_hold_fini(h);
		return -ENOMEM;
	}
	return 0;
}

void evr_ev_hold_fini(struct evr_ev_hold *h)
{
	free(h->ev);
	free(h->attrs);
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

struct rebase {
	const char *lo, *hi; /* the scratch arena's used bytes */
	char *to;            /* where they were copied */
	struct evr_ev_hold *h;
};

/* A view into the copied arena moves with it; any other view is copied
 * (NUL-terminated, as every value is). */
static bool move_str(struct rebase *rb, struct evr_str *v)
{
	if (rb->lo && v->p >= rb->lo && v->p < rb->hi) {
		v->p = rb->to + (v->p - rb->lo);
		return true;
	}
	if (v->len == 0 && v->p != NULL && v->p[0] == '\0')
		return true; /* "" literals: nothing to keep alive */
	if (rb->h->buf_used + v->len + 1 > rb->h->buf_cap)
		return false;
	char *d = rb->h->buf + rb->h->buf_used;
	memcpy(d, v->p, v->len);
	d[v->len] = '\0';
	rb->h->buf_used += v->len + 1;
	v->p = d;
	return true;
}

const struct evr_event *evr_ev_hold_add_event(struct evr_ev_hold *h, const struct evr_event *src,
                                              const char *arena, uint32_t used)
{
	if (arena == NULL)
		used = 0;
	if (h->n == h->max_events || h->attrs_used + src->n_attrs > h->attrs_cap ||
	    h->buf_used + used > h->buf_cap)
		return NULL;
	uint32_t save_buf = h->buf_used;
	struct rebase rb = {arena, arena ? arena + used : NULL, h->buf + h->buf_used, h};
	if (used)
		memcpy(rb.to, arena, used);
	h->buf_used += used;

	struct evr_event *e = &h->ev[h->n];
	*e = *src;
	e->attrs = h->attrs + h->attrs_used;
	memcpy(e->attrs, src->attrs, src->n_attrs * sizeof(*e->attrs));
	bool ok = move_str(&rb, &e->name) && move_str(&rb, &e->subclass) &&
	          move_str(&rb, &e->body);
	for (uint32_t i = 0; ok && i < e->n_attrs; i++)
		ok = move_str(&rb, &e->attrs[i].name) && move_str(&rb, &e->attrs[i].value);
	if (!ok) {
		h->buf_used = save_buf;
		return NULL;
	}
	h->attrs_used += src->n_attrs;
	return &h->ev[h->n++];
}
