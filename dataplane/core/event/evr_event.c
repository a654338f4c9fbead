/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event model helpers: format names, limits, the attribute slots and
 * string arena of a scratch (evr_ev_arena_init).
 *
 * The arena is the whole memory an event builder writes, fixed at init, so
 * that building an event on an lcore never allocates. The decoders' scratch
 * (evr_scratch_init, codec/evr_decode.c) sizes it so that a datagram within
 * the limits never fails for lack of room (evr_event_build.h says why) and
 * adds the JSON parser state, whose type is the codec's.
 * Init/fini: any thread, init time only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evr_event.h"
#include "evr_event_build.h"

static const char *const format_names[EVR_FMT__COUNT] = {
	[EVR_FMT_JSONRPC] = "jsonrpc",
	[EVR_FMT_PLAIN] = "plain",
	[EVR_FMT_JSON] = "json",
	[EVR_FMT_XML] = "xml",
	[EVR_FMT_AUTO] = "auto",
};

int evr_format_parse(const char *s, enum evr_format *out)
{
	if (s == NULL || out == NULL)
		return -EINVAL;
	for (int f = 0; f < EVR_FMT__COUNT; f++) {
		if (strcmp(s, format_names[f]) == 0) {
			*out = (enum evr_format)f;
			return 0;
		}
	}
	return -EINVAL;
}

const char *evr_format_name(enum evr_format f)
{
	if ((unsigned)f >= EVR_FMT__COUNT)
		return "unknown";
	return format_names[f];
}

void evr_limits_default(struct evr_limits *l)
{
	l->max_attrs = 64;
	l->max_name_len = 128;
	l->max_value_len = 4096;
	l->max_datagram = EVR_UDP_MAX_PAYLOAD;
}

/* Upper bounds on name/value lengths are the datagram size: a longer limit
 * could never be reached, and keeping them small keeps length arithmetic in
 * uint32_t far from overflow. */
int evr_limits_validate(const struct evr_limits *l, char *err, size_t errlen)
{
	const char *field;
	unsigned long got, max;

	if (l == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "limits: missing");
		return -EINVAL;
	}
	if (l->max_attrs == 0 || l->max_attrs > EVR_LIMITS_HARD_MAX_ATTRS) {
		field = "max_attrs";
		got = l->max_attrs;
		max = EVR_LIMITS_HARD_MAX_ATTRS;
	} else if (l->max_name_len == 0 || l->max_name_len > EVR_UDP_MAX_PAYLOAD) {
		field = "max_name_len";
		got = l->max_name_len;
		max = EVR_UDP_MAX_PAYLOAD;
	} else if (l->max_value_len == 0 || l->max_value_len > EVR_UDP_MAX_PAYLOAD) {
		field = "max_value_len";
		got = l->max_value_len;
		max = EVR_UDP_MAX_PAYLOAD;
	} else if (l->max_datagram == 0 || l->max_datagram > EVR_UDP_MAX_PAYLOAD) {
		field = "max_datagram";
		got = l->max_datagram;
		max = EVR_UDP_MAX_PAYLOAD;
	} else {
		return 0;
	}
	if (err && errlen)
		snprintf(err, errlen, "limits: %s must be between 1 and %lu (got %lu)",
		         field, max, got);
	return -EINVAL;
}

int evr_ev_arena_init(struct evr_scratch *s, const struct evr_limits *l, uint32_t buf_cap)
{
	if (s == NULL)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	if (evr_limits_validate(l, NULL, 0) != 0 || buf_cap == 0)
		return -EINVAL;

	s->lim = *l;
	s->attrs = calloc(l->max_attrs, sizeof(*s->attrs));
	s->buf_cap = buf_cap;
	s->buf = malloc(buf_cap);
	if (s->attrs == NULL || s->buf == NULL) {
		evr_ev_arena_fini(s);
		return -ENOMEM;
	}
	/* A valid empty event until the first one is built. */
	evr_ev_begin(s, EVR_FMT_JSONRPC);
	return 0;
}

void evr_ev_arena_fini(struct evr_scratch *s)
{
	if (s == NULL)
		return;
	free(s->buf);
	free(s->attrs);
	memset(s, 0, sizeof(*s));
}

const struct evr_attr *evr_event_find(const struct evr_event *ev,
                                      const char *name, size_t len)
{
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (a->name.len == len && evr_ieq(a->name.p, name, len))
			return a;
	}
	return NULL;
}
