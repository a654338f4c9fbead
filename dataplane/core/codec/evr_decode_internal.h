/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the decoders (evr_decode*.c). Not installed, not part of the
 * API. Events are written with the builder (event/evr_event_build.h); the
 * JSON part of the scratch (simdjson state, evr_json_simd.h) is sized and
 * allocated by evr_scratch_init().
 */
#ifndef EVR_DECODE_INTERNAL_H
#define EVR_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event/evr_event_build.h"
#include "evr_decode.h"

#include "evr_json_simd.h"

/* JSON token budget (the root object, every member name, every value):
 * enough for a flat object of max_attrs members plus the few envelope
 * members (jsonrpc/method/params/id, _body); more means too many attributes
 * or a deeply structured document, both refused. */
static inline uint32_t evr_dec_tok_cap(const struct evr_limits *l)
{
	return 2u * l->max_attrs + 16u;
}

/* ---- common (evr_decode.c) ---- */

/* OVERSIZE before EMPTY, as every decoder must. */
static inline enum evr_decode_status evr_dec_precheck(size_t len,
                                                      const struct evr_scratch *s)
{
	if (len > s->lim.max_datagram)
		return EVR_DEC_OVERSIZE;
	if (len == 0)
		return EVR_DEC_EMPTY;
	return EVR_DEC_OK;
}

/* Events are written with evr_ev_begin/reserve/commit/push_attr
 * (event/evr_event_build.h). A full arena cannot happen for input within
 * lim.max_datagram (evr_scratch_buf_cap); decoders still check and report
 * OVERSIZE rather than write out of bounds. */

/* Copy n bytes into the scratch as a view; OVERSIZE when they do not fit. */
static inline enum evr_decode_status evr_dec_store(struct evr_scratch *s, struct evr_str *v,
                                                   const char *src, size_t n, uint32_t flags)
{
	return evr_ev_store(s, v, src, n, flags) ? EVR_DEC_OK : EVR_DEC_OVERSIZE;
}

/* Subclass and priority from the attributes (Event-Subclass, priority). */
void evr_dec_finish_meta(struct evr_scratch *s);

/* FreeSWITCH sources: ev.name from the Event-Name attribute, then meta. */
enum evr_decode_status evr_dec_finish_fs(struct evr_scratch *s);

/* ---- JSON (simdjson front end: evr_json_simd.h; helpers in evr_decode.c) ---- */

/*
 * Check js[0..len) as one JSON object and fill *d (evr_json_parse() with the
 * scratch's state and token budget). On EVR_DEC_TOO_MANY_TOKENS *d holds
 * what was recorded before the budget ran out, for evr_dec_json*_overflow()
 * to tell "too many attributes" apart.
 */
static inline enum evr_decode_status evr_dec_json_parse(const char *js, size_t len,
                                                        struct evr_scratch *s,
                                                        struct evr_json_doc *d)
{
	return evr_json_parse(s->json, js, len, s->tok_cap, d);
}

/* Index of the entry after top-level entry i and its children. */
static inline uint32_t evr_dec_json_next(const struct evr_json_doc *d, uint32_t i)
{
	return i + 1 + d->ent[i].kids;
}

/* Does p[0..n) equal lit (ASCII case-insensitively if icase)? Inline: the
 * member names compared are literals, so strlen folds away. */
static inline bool evr_dec_json_eq(const char *p, uint32_t n, const char *lit,
                                   bool icase)
{
	size_t ln = strlen(lit);

	if (n != ln)
		return false;
	return icase ? evr_ieq(p, lit, ln) : memcmp(p, lit, ln) == 0;
}

/* First top-level member named key (case-sensitive), or NULL. Works on a
 * partial table too. */
const struct evr_json_ent *evr_dec_json_member(const struct evr_json_doc *d,
                                               const char *key);

/* A scalar value into the scratch: string (unescaped), number/true/false
 * (EVR_STR_LITERAL, verbatim), null (EVR_STR_NULL, empty); object/array ->
 * NESTED_VALUE. Inline: once per attribute. */
static inline enum evr_decode_status evr_dec_json_store_scalar(struct evr_scratch *s,
                                                               const struct evr_json_ent *e,
                                                               struct evr_str *out)
{
	switch (e->kind) {
	case EVR_JK_STRING:
		return evr_dec_store(s, out, e->val, e->val_len, 0);
	case EVR_JK_LITERAL:
		return evr_dec_store(s, out, e->val, e->val_len, EVR_STR_LITERAL);
	case EVR_JK_NULL:
		return evr_dec_store(s, out, "", 0, EVR_STR_NULL);
	default:
		return EVR_DEC_NESTED_VALUE;
	}
}

/* Per-format bodies working on the table evr_dec_json_parse() filled, and
 * their refinement of TOO_MANY_TOKENS (shared with EVR_FMT_AUTO, which
 * parses once to sniff). */
enum evr_decode_status evr_dec_jsonrpc_doc(struct evr_scratch *s,
                                           const struct evr_json_doc *d);
enum evr_decode_status evr_dec_jsonrpc_overflow(struct evr_scratch *s,
                                                const struct evr_json_doc *d);
enum evr_decode_status evr_dec_json_doc(struct evr_scratch *s,
                                        const struct evr_json_doc *d);
enum evr_decode_status evr_dec_json_overflow(struct evr_scratch *s,
                                             const struct evr_json_doc *d);

#endif /* EVR_DECODE_INTERNAL_H */
