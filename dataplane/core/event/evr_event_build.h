/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event builder: the one way the core writes an event into a scratch
 * (struct evr_scratch, event/evr_event.h). Used by the decoders (codec/),
 * the SIP endpoint and SIP state (sip/) and raise_event (control/).
 *
 * An event under construction is the scratch's ev, its attribute slots
 * (lim.max_attrs of them) and its string arena (buf). Values are always
 * copied into the arena, NUL-terminated; names are kept by reference
 * (evr_ev_add: literals and strings that outlive the event) or copied
 * (evr_ev_add_copy). Every failure is a false return with nothing half
 * written, which the caller counts or reports as it always has: the
 * builder itself counts nothing.
 *
 * Thread context: the thread owning the scratch. Header-only and inline:
 * these run once per attribute of every event on the worker lcores.
 */
#ifndef EVR_EVENT_BUILD_H
#define EVR_EVENT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/evr_bytes.h"
#include "evr_event.h"

/*
 * String arena needed to decode any datagram within l. Every stored string
 * comes from a disjoint span of the input that is at least one byte longer
 * than the string (quotes, ": ", "\n", a primitive's terminator), so
 * max_datagram bytes cover all of them with their NULs. On top: the
 * permanent empty string at buf[0], the terminator of a trailing line or
 * body at end of input, and the generated positional names "1".."1024" (at
 * most 5 bytes each with the NUL).
 */
static inline uint32_t evr_scratch_buf_cap(const struct evr_limits *l)
{
	return l->max_datagram + 8u * l->max_attrs + 64u;
}

/* Start an event of format fmt: no attributes, empty arena, every view on
 * the empty string at buf[0]. */
static inline void evr_ev_begin(struct evr_scratch *s, enum evr_format fmt)
{
	struct evr_str empty = { .p = s->buf, .len = 0, .flags = 0 };

	s->buf[0] = '\0';
	s->buf_used = 1;
	s->ev.name = s->ev.subclass = s->ev.body = empty;
	s->ev.priority = EVR_PRIO_NORMAL;
	s->ev.src_format = fmt;
	s->ev.positional = false;
	s->ev.n_attrs = 0;
	s->ev.attrs = s->attrs;
}

/* Room for n bytes plus a NUL at the end of the used arena, or NULL. */
static inline char *evr_ev_reserve(struct evr_scratch *s, size_t n)
{
	if (n >= (size_t)(s->buf_cap - s->buf_used))
		return NULL;
	return s->buf + s->buf_used;
}

/* Terminate and keep n bytes written at p (from evr_ev_reserve) as *v. */
static inline void evr_ev_commit(struct evr_scratch *s, struct evr_str *v, char *p, size_t n,
                                 uint32_t flags)
{
	p[n] = '\0';
	v->p = p;
	v->len = (uint32_t)n;
	v->flags = flags;
	s->buf_used += (uint32_t)n + 1;
}

/* Copy n bytes into the arena as *v; false when they do not fit. */
static inline bool evr_ev_store(struct evr_scratch *s, struct evr_str *v, const char *src,
                                size_t n, uint32_t flags)
{
	char *p = evr_ev_reserve(s, n);

	if (p == NULL)
		return false;
	evr_copy_small(p, src, n);
	evr_ev_commit(s, v, p, n, flags);
	return true;
}

/* Next attribute slot, or NULL when lim.max_attrs are already used. */
static inline struct evr_attr *evr_ev_push_attr(struct evr_scratch *s)
{
	if (s->ev.n_attrs >= s->lim.max_attrs)
		return NULL;
	return &s->attrs[s->ev.n_attrs++];
}

/*
 * Append attribute (name by reference, value copied). False, with nothing
 * added, when the slots are used up, the name is longer than max_name_len,
 * the value longer than vmax (max_value_len, or max_name_len for values
 * that are names) or the arena is full.
 */
static inline bool evr_ev_add(struct evr_scratch *s, const char *name, size_t nl,
                              const char *p, size_t n, uint32_t flags, uint32_t vmax)
{
	struct evr_attr *a;
	char *d;

	if (s->ev.n_attrs >= s->lim.max_attrs || nl > s->lim.max_name_len || n > vmax
	    || n + 1 > s->buf_cap - s->buf_used)
		return false;
	a = &s->attrs[s->ev.n_attrs++];
	a->name = (struct evr_str){ name, (uint32_t)nl, 0 };
	d = s->buf + s->buf_used;
	evr_copy_small(d, p, n);
	d[n] = '\0';
	a->value = (struct evr_str){ d, (uint32_t)n, flags };
	s->buf_used += (uint32_t)n + 1;
	return true;
}

/* As evr_ev_add, the name copied too (names that die before the event). */
static inline bool evr_ev_add_copy(struct evr_scratch *s, const char *name, size_t nl,
                                   const char *p, size_t n, uint32_t flags, uint32_t vmax)
{
	struct evr_str nm;

	if (s->ev.n_attrs >= s->lim.max_attrs || nl > s->lim.max_name_len
	    || nl + 1 + n + 1 > s->buf_cap - s->buf_used || !evr_ev_store(s, &nm, name, nl, 0))
		return false;
	if (!evr_ev_add(s, nm.p, nl, p, n, flags, vmax)) {
		s->buf_used -= (uint32_t)nl + 1;
		return false;
	}
	return true;
}

#endif /* EVR_EVENT_BUILD_H */
