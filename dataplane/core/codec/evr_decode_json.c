/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH JSON event decoder (switch_event_serialize_json() output): a
 * flat object {"Event-Name":"CHANNEL_CREATE","Core-UUID":"..",..,"_body":".."}.
 *
 * Every member is an attribute, in document order, except two that
 * FreeSWITCH derives from the event body:
 *  - "_body" is the body (ev.body), not an attribute. Like FreeSWITCH's own
 *    switch_event_create_json() it is matched case-insensitively; if it
 *    occurs twice the last one wins (FreeSWITCH replaces the body too). The
 *    body is bounded by max_datagram only, not by max_value_len.
 *  - "Content-Length" is dropped: FreeSWITCH writes it next to "_body",
 *    computed from it, and the plain decoder treats it as body framing too,
 *    so an event has the same attributes whichever FreeSWITCH format it came
 *    in (and an encoder that writes Content-Length from ev.body never writes
 *    it twice).
 * Numbers and booleans keep their text (EVR_STR_LITERAL), null is an empty
 * value (EVR_STR_NULL). FreeSWITCH writes multi-valued headers as arrays;
 * they are refused (EVR_DEC_NESTED_VALUE) like any nested value, since an
 * attribute has one value.
 */
#include "evr_decode_internal.h"

enum evr_decode_status evr_dec_json_doc(struct evr_scratch *s,
                                        const struct evr_json_doc *d)
{
	enum evr_decode_status st;

	for (uint32_t i = 0; i < d->n; i = evr_dec_json_next(d, i)) {
		const struct evr_json_ent *e = &d->ent[i];

		if (evr_dec_json_eq(e->key, e->key_len, "_body", true)) {
			st = evr_dec_json_store_scalar(s, e, &s->ev.body);
			if (st != EVR_DEC_OK)
				return st;
			continue;
		}
		if (evr_dec_json_eq(e->key, e->key_len, "Content-Length", true)) {
			if (e->kind == EVR_JK_OBJECT || e->kind == EVR_JK_ARRAY)
				return EVR_DEC_NESTED_VALUE;
			continue;
		}

		struct evr_attr *a = evr_ev_push_attr(s);
		if (a == NULL)
			return EVR_DEC_TOO_MANY_ATTRS;
		if (e->key_len > s->lim.max_name_len)
			return EVR_DEC_NAME_TOO_LONG;
		st = evr_dec_store(s, &a->name, e->key, e->key_len, 0);
		if (st != EVR_DEC_OK)
			return st;
		st = evr_dec_json_store_scalar(s, e, &a->value);
		if (st != EVR_DEC_OK)
			return st;
		if (a->value.len > s->lim.max_value_len)
			return EVR_DEC_VALUE_TOO_LONG;
	}
	return evr_dec_finish_fs(s);
}

/* Out of tokens with more than max_attrs members so far: too many
 * attributes; otherwise the document is too structured. The member count
 * may include _body and Content-Length, but the token budget leaves a
 * margin of several members over max_attrs. */
enum evr_decode_status evr_dec_json_overflow(struct evr_scratch *s,
                                             const struct evr_json_doc *d)
{
	if (d->members > s->lim.max_attrs + 2)
		return EVR_DEC_TOO_MANY_ATTRS;
	return EVR_DEC_TOO_MANY_TOKENS;
}

enum evr_decode_status evr_decode_json(const char *buf, size_t len,
                                       struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	struct evr_json_doc d;

	if (st != EVR_DEC_OK)
		return st;
	evr_ev_begin(s, EVR_FMT_JSON);
	st = evr_dec_json_parse(buf, len, s, &d);
	if (st == EVR_DEC_TOO_MANY_TOKENS)
		return evr_dec_json_overflow(s, &d);
	if (st != EVR_DEC_OK)
		return st;
	return evr_dec_json_doc(s, &d);
}
