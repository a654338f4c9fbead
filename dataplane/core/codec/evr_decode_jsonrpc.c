/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSIPS event_datagram decoder: a JSON-RPC 2.0 notification
 *   {"jsonrpc":"2.0","method":"E_UL_AOR_INSERT","params":{"aor":"..",..}}
 *
 * Members are found by name, in any order; the first occurrence of a
 * duplicated member wins, as evr_event_find() does for attributes. "id" (a
 * request rather than a notification) and unknown members are ignored, but
 * the whole document must still be valid JSON (evr_dec_json_parse()).
 * Checks run in a fixed order - version, method, params - so a document with
 * several faults always gets the same status.
 *
 * params as an array is positional: OpenSIPS script reads $param(1), so the
 * i-th element is named "1", "2", ... (the names are generated into the
 * scratch; evr_scratch_buf_cap() reserves room for them) and the event is
 * marked positional, so the jsonrpc encoder sends an array again.
 */
#include "evr_decode_internal.h"

static enum evr_decode_status add_param(struct evr_scratch *s, const char *js,
                                        const jsmntok_t *key, uint32_t pos,
                                        const jsmntok_t *val)
{
	struct evr_attr *a = evr_ev_push_attr(s);
	enum evr_decode_status st;

	if (a == NULL)
		return EVR_DEC_TOO_MANY_ATTRS;
	if (key != NULL) {
		st = evr_dec_json_store_str(s, js, key, &a->name);
	} else {
		char num[12];
		int n = 0;
		char *p;

		/* pos <= EVR_LIMITS_HARD_MAX_ATTRS: a few digits */
		do {
			num[n++] = (char)('0' + pos % 10);
			pos /= 10;
		} while (pos != 0);
		p = evr_ev_reserve(s, (size_t)n);
		if (p == NULL)
			return EVR_DEC_OVERSIZE;
		for (int i = 0; i < n; i++)
			p[i] = num[n - 1 - i];
		evr_ev_commit(s, &a->name, p, (size_t)n, 0);
		st = EVR_DEC_OK;
	}
	if (st != EVR_DEC_OK)
		return st;
	if (a->name.len > s->lim.max_name_len)
		return EVR_DEC_NAME_TOO_LONG;
	st = evr_dec_json_store_scalar(s, js, val, &a->value);
	if (st != EVR_DEC_OK)
		return st;
	if (a->value.len > s->lim.max_value_len)
		return EVR_DEC_VALUE_TOO_LONG;
	return EVR_DEC_OK;
}

enum evr_decode_status evr_dec_jsonrpc_tokens(const char *js,
                                              struct evr_scratch *s, int ntok)
{
	const jsmntok_t *t = s->tok;
	int ver = evr_dec_json_member(js, t, ntok, "jsonrpc");
	int meth = evr_dec_json_member(js, t, ntok, "method");
	int par = evr_dec_json_member(js, t, ntok, "params");
	enum evr_decode_status st;

	if (ver < 0 || !evr_dec_json_eq(js, &t[ver], "2.0", false))
		return EVR_DEC_BAD_JSONRPC_VERSION;
	if (meth < 0 || t[meth].type != JSMN_STRING)
		return EVR_DEC_NO_METHOD;
	st = evr_dec_json_store_str(s, js, &t[meth], &s->ev.name);
	if (st != EVR_DEC_OK)
		return st;
	if (s->ev.name.len == 0)
		return EVR_DEC_NO_METHOD;
	if (s->ev.name.len > s->lim.max_name_len)
		return EVR_DEC_NAME_TOO_LONG;

	if (par >= 0) {
		const jsmntok_t *pt = &t[par];
		int i = par + 1;

		if (pt->type == JSMN_OBJECT) {
			for (int m = 0; m < pt->size; m++) {
				st = add_param(s, js, &t[i], 0, &t[i + 1]);
				if (st != EVR_DEC_OK)
					return st;
				i = evr_dec_json_skip(t, ntok, i + 1);
			}
		} else if (pt->type == JSMN_ARRAY) {
			s->ev.positional = true;
			for (int m = 0; m < pt->size; m++) {
				st = add_param(s, js, NULL, (uint32_t)m + 1, &t[i]);
				if (st != EVR_DEC_OK)
					return st;
				i = evr_dec_json_skip(t, ntok, i);
			}
		} else {
			return EVR_DEC_BAD_PARAMS;
		}
	}
	evr_dec_finish_meta(s);
	return EVR_DEC_OK;
}

/* Out of tokens: a params container with more than max_attrs children so far
 * is a too-many-attributes event; anything else is just too big a document. */
enum evr_decode_status evr_dec_jsonrpc_overflow(const char *js,
                                                struct evr_scratch *s, int ntok)
{
	const jsmntok_t *t = s->tok;
	int par = evr_dec_json_member(js, t, ntok, "params");

	if (par >= 0 && (t[par].type == JSMN_OBJECT || t[par].type == JSMN_ARRAY) &&
	    (uint32_t)t[par].size > s->lim.max_attrs)
		return EVR_DEC_TOO_MANY_ATTRS;
	return EVR_DEC_TOO_MANY_TOKENS;
}

enum evr_decode_status evr_decode_jsonrpc(const char *buf, size_t len,
                                          struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	int ntok;

	if (st != EVR_DEC_OK)
		return st;
	evr_ev_begin(s, EVR_FMT_JSONRPC);
	st = evr_dec_json_parse(buf, len, s, &ntok);
	if (st == EVR_DEC_TOO_MANY_TOKENS)
		return evr_dec_jsonrpc_overflow(buf, s, ntok);
	if (st != EVR_DEC_OK)
		return st;
	return evr_dec_jsonrpc_tokens(buf, s, ntok);
}
