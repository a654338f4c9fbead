/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSIPS event_datagram decoder: a JSON-RPC 2.0 notification
 *   {"jsonrpc":"2.0","method":"E_UL_AOR_INSERT","params":{"aor":"..",..}}
 *
 * Members are found by name, in any order; the first occurrence of a
 * duplicated member wins, as evr_event_find() does for attributes. "id" (a
 * request rather than a notification) and unknown members are ignored, but
 * the whole document must still be valid JSON (evr_dec_json_parse() checks
 * all of it before any member is looked at).
 * Checks run in a fixed order - version, method, params - so a document with
 * several faults always gets the same status.
 *
 * params as an array is positional: OpenSIPS script reads $param(1), so the
 * i-th element is named "1", "2", ... (the names are generated into the
 * scratch; evr_scratch_buf_cap() reserves room for them) and the event is
 * marked positional, so the jsonrpc encoder sends an array again.
 */
#include "evr_decode_internal.h"

static enum evr_decode_status add_param(struct evr_scratch *s, uint32_t pos,
                                        const struct evr_json_ent *e)
{
	struct evr_attr *a = evr_ev_push_attr(s);
	enum evr_decode_status st;

	if (a == NULL)
		return EVR_DEC_TOO_MANY_ATTRS;
	if (e->key != NULL) {
		st = evr_dec_store(s, &a->name, e->key, e->key_len, 0);
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
	st = evr_dec_json_store_scalar(s, e, &a->value);
	if (st != EVR_DEC_OK)
		return st;
	if (a->value.len > s->lim.max_value_len)
		return EVR_DEC_VALUE_TOO_LONG;
	return EVR_DEC_OK;
}

enum evr_decode_status evr_dec_jsonrpc_doc(struct evr_scratch *s,
                                           const struct evr_json_doc *d)
{
	const struct evr_json_ent *ver = NULL, *meth = NULL, *par = NULL;
	enum evr_decode_status st;

	/* One pass over the top-level members; the first of each name wins. */
	for (uint32_t i = 0; i < d->n; i = evr_dec_json_next(d, i)) {
		const struct evr_json_ent *e = &d->ent[i];

		if (ver == NULL && evr_dec_json_eq(e->key, e->key_len, "jsonrpc", false))
			ver = e;
		else if (meth == NULL && evr_dec_json_eq(e->key, e->key_len, "method", false))
			meth = e;
		else if (par == NULL && evr_dec_json_eq(e->key, e->key_len, "params", false))
			par = e;
	}

	if (ver == NULL || ver->kind != EVR_JK_STRING ||
	    !evr_dec_json_eq(ver->val, ver->val_len, "2.0", false))
		return EVR_DEC_BAD_JSONRPC_VERSION;
	if (meth == NULL || meth->kind != EVR_JK_STRING || meth->val_len == 0)
		return EVR_DEC_NO_METHOD;
	if (meth->val_len > s->lim.max_name_len)
		return EVR_DEC_NAME_TOO_LONG;
	st = evr_dec_store(s, &s->ev.name, meth->val, meth->val_len, 0);
	if (st != EVR_DEC_OK)
		return st;

	if (par != NULL) {
		/* children follow their container in the table */
		const struct evr_json_ent *e = par + 1;

		if (par->kind == EVR_JK_ARRAY)
			s->ev.positional = true;
		else if (par->kind != EVR_JK_OBJECT)
			return EVR_DEC_BAD_PARAMS;
		for (uint32_t m = 0; m < par->kids; m++) {
			st = add_param(s, m + 1, &e[m]);
			if (st != EVR_DEC_OK)
				return st;
		}
	}
	evr_dec_finish_meta(s);
	return EVR_DEC_OK;
}

/* Out of tokens: a params container with more than max_attrs children so far
 * is a too-many-attributes event; anything else is just too big a document. */
enum evr_decode_status evr_dec_jsonrpc_overflow(struct evr_scratch *s,
                                                const struct evr_json_doc *d)
{
	const struct evr_json_ent *par = evr_dec_json_member(d, "params");

	if (par != NULL && (par->kind == EVR_JK_OBJECT || par->kind == EVR_JK_ARRAY) &&
	    par->kids > s->lim.max_attrs)
		return EVR_DEC_TOO_MANY_ATTRS;
	return EVR_DEC_TOO_MANY_TOKENS;
}

enum evr_decode_status evr_decode_jsonrpc(const char *buf, size_t len,
                                          struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	struct evr_json_doc d;

	if (st != EVR_DEC_OK)
		return st;
	evr_ev_begin(s, EVR_FMT_JSONRPC);
	st = evr_dec_json_parse(buf, len, s, &d);
	if (st == EVR_DEC_TOO_MANY_TOKENS)
		return evr_dec_jsonrpc_overflow(s, &d);
	if (st != EVR_DEC_OK)
		return st;
	return evr_dec_jsonrpc_doc(s, &d);
}
