/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder core: the format dispatcher, status names, and what the three
 * decoders share (the scratch with its tokens, event metadata, and JSON).
 *
 * JSON goes through simdjson On-Demand (evr_json_simd.cc, behind the C API
 * of evr_json_simd.h), which checks the whole document before a decoder
 * looks at it: a document accepted here is valid RFC 8259 JSON (UTF-8
 * included), one object and nothing after it, except that "\u0000" is
 * refused (EVR_DEC_BAD_STRING_ESCAPE): every view is a C string for glob
 * consumers, and an embedded NUL would let a value match as a shorter one.
 *
 * Hot path: no allocation, no locks, no syscalls, no logging (the scratch
 * is allocated once, by evr_scratch_init at init time).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/evr_bytes.h"
#include "evr_decode_internal.h"

static const char *const status_names[EVR_DEC__COUNT] = {
#define X(e, n, h) [EVR_DEC_##e] = n,
	EVR_DECODE_STATUS(X)
#undef X
};

static const char *const status_texts[EVR_DEC__COUNT] = {
#define X(e, n, h) [EVR_DEC_##e] = h,
	EVR_DECODE_STATUS(X)
#undef X
};

const char *evr_decode_status_name(enum evr_decode_status st)
{
	if ((unsigned)st >= EVR_DEC__COUNT)
		return "unknown";
	return status_names[st];
}

const char *evr_decode_status_text(enum evr_decode_status st)
{
	if ((unsigned)st >= EVR_DEC__COUNT)
		return "unknown decode status";
	return status_texts[st];
}

/* ---- common ---- */

/* The arena and slots are the event's (evr_ev_arena_init); the JSON state
 * (simdjson parser for max_datagram bytes, padded input copy, member table
 * of tok_cap entries) is the decoders'. */
int evr_scratch_init(struct evr_scratch *s, const struct evr_limits *l)
{
	int rc;

	if (s == NULL)
		return -EINVAL;
	if (evr_limits_validate(l, NULL, 0) != 0) {
		memset(s, 0, sizeof(*s));
		return -EINVAL;
	}
	rc = evr_ev_arena_init(s, l, evr_scratch_buf_cap(l));
	if (rc != 0)
		return rc;
	s->tok_cap = evr_dec_tok_cap(l);
	s->json = evr_json_new(l->max_datagram, s->tok_cap);
	if (s->json == NULL) {
		evr_ev_arena_fini(s);
		return -ENOMEM;
	}
	return 0;
}

void evr_scratch_fini(struct evr_scratch *s)
{
	if (s == NULL)
		return;
	evr_json_free(s->json);
	s->json = NULL;
	s->tok_cap = 0;
	evr_ev_arena_fini(s);
}

static bool view_ieq(const struct evr_str *v, const char *lit, size_t n)
{
	return v->len == n && evr_ieq(v->p, lit, n);
}

void evr_dec_finish_meta(struct evr_scratch *s)
{
	const struct evr_attr *a;

	a = evr_event_find(&s->ev, EVR_LIT("Event-Subclass"));
	if (a != NULL)
		s->ev.subclass = a->value;

	/* Metadata only (seed 004): an unknown value is not an error. */
	a = evr_event_find(&s->ev, EVR_LIT("priority"));
	if (a != NULL) {
		if (view_ieq(&a->value, EVR_LIT("LOW")))
			s->ev.priority = EVR_PRIO_LOW;
		else if (view_ieq(&a->value, EVR_LIT("HIGH")))
			s->ev.priority = EVR_PRIO_HIGH;
	}
}

enum evr_decode_status evr_dec_finish_fs(struct evr_scratch *s)
{
	const struct evr_attr *a = evr_event_find(&s->ev, EVR_LIT("Event-Name"));

	if (a == NULL || a->value.len == 0)
		return EVR_DEC_NO_EVENT_NAME;
	if (a->value.len > s->lim.max_name_len)
		return EVR_DEC_NAME_TOO_LONG;
	s->ev.name = a->value;
	evr_dec_finish_meta(s);
	return EVR_DEC_OK;
}

/* ---- JSON (the table evr_json_parse() filled) ---- */

const struct evr_json_ent *evr_dec_json_member(const struct evr_json_doc *d,
                                               const char *key)
{
	for (uint32_t i = 0; i < d->n; i = evr_dec_json_next(d, i)) {
		const struct evr_json_ent *e = &d->ent[i];

		if (evr_dec_json_eq(e->key, e->key_len, key, false))
			return e;
	}
	return NULL;
}

/* ---- dispatcher ---- */

static enum evr_decode_status decode_auto(const char *buf, size_t len,
                                          struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	struct evr_json_doc d;
	size_t i = 0;
	bool rpc;

	if (st != EVR_DEC_OK)
		return st;
	while (i < len && evr_is_lws(buf[i]))
		i++;
	if (i == len || buf[i] != '{')
		return evr_decode_plain(buf, len, s);

	/* Parse once; the member lookup works on a partial table too, so an
	 * overflow is still refined by the right format. */
	st = evr_dec_json_parse(buf, len, s, &d);
	rpc = evr_dec_json_member(&d, "jsonrpc") != NULL;
	evr_ev_begin(s, rpc ? EVR_FMT_JSONRPC : EVR_FMT_JSON);
	if (st == EVR_DEC_TOO_MANY_TOKENS)
		return rpc ? evr_dec_jsonrpc_overflow(s, &d) : evr_dec_json_overflow(s, &d);
	if (st != EVR_DEC_OK)
		return st;
	return rpc ? evr_dec_jsonrpc_doc(s, &d) : evr_dec_json_doc(s, &d);
}

enum evr_decode_status evr_decode(enum evr_format fmt, const char *buf,
                                  size_t len, struct evr_scratch *s)
{
	switch (fmt) {
	case EVR_FMT_JSONRPC:
		return evr_decode_jsonrpc(buf, len, s);
	case EVR_FMT_PLAIN:
		return evr_decode_plain(buf, len, s);
	case EVR_FMT_JSON:
		return evr_decode_json(buf, len, s);
	case EVR_FMT_AUTO:
		return decode_auto(buf, len, s);
	default:
		return EVR_DEC_BAD_FORMAT;
	}
}
