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

enum evr_decode_status evr_dec_json_tokens(const char *js, struct evr_scratch *s,
                                           int ntok)
{
	const jsmntok_t *t = s->tok;
	enum evr_decode_status st;
	int i = 1;

	for (int m = 0; m < t[0].size; m++) {
		const jsmntok_t *k = &t[i], *v = &t[i + 1];

		i = evr_dec_json_skip(t, ntok, i + 1);
		if (evr_dec_json_eq(js, k, "_body", true)) {
			st = evr_dec_json_store_scalar(s, js, v, &s->ev.body);
			if (st != EVR_DEC_OK)
				return st;
			continue;
		}
		if (evr_dec_json_eq(js, k, "Content-Length", true)) {
			if (v->type == JSMN_OBJECT || v->type == JSMN_ARRAY)
				return EVR_DEC_NESTED_VALUE;
			continue;
		}

		struct evr_attr *a = evr_ev_push_attr(s);
		if (a == NULL)
			return EVR_DEC_TOO_MANY_ATTRS;
		st = evr_dec_json_store_str(s, js, k, &a->name);
		if (st != EVR_DEC_OK)
			return st;
		if (a->name.len > s->lim.max_name_len)
			return EVR_DEC_NAME_TOO_LONG;
		st = evr_dec_json_store_scalar(s, js, v, &a->value);
		if (st != EVR_DEC_OK)
			return st;
		if (a->value.len > s->lim.max_value_len)
			return EVR_DEC_VALUE_TOO_LONG;
	}
	return evr_dec_finish_fs(s);
}

/* Out of tokens with more than max_attrs members so far: too many
 * attributes; otherwise the document is too structured. The root's size
 * may count _body and Content-Length, but the token budget leaves a margin
 * of several members over max_attrs. */
enum evr_decode_status evr_dec_json_overflow(const char *js,
                                             struct evr_scratch *s, int ntok)
{
	const jsmntok_t *t = s->tok;

	(void)js;
	if (ntok > 0 && t[0].type == JSMN_OBJECT &&
	    (uint32_t)t[0].size > s->lim.max_attrs + 2)
		return EVR_DEC_TOO_MANY_ATTRS;
	return EVR_DEC_TOO_MANY_TOKENS;
}

enum evr_decode_status evr_decode_json(const char *buf, size_t len,
                                       struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	int ntok;

	if (st != EVR_DEC_OK)
		return st;
	evr_ev_begin(s, EVR_FMT_JSON);
	st = evr_dec_json_parse(buf, len, s, &ntok);
	if (st == EVR_DEC_TOO_MANY_TOKENS)
		return evr_dec_json_overflow(buf, s, ntok);
	if (st != EVR_DEC_OK)
		return st;
	return evr_dec_json_tokens(buf, s, ntok);
}
