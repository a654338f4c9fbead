/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the decoders (evr_decode*.c). Not installed, not part of the
 * API. Events are written with the builder (event/evr_event_build.h); the
 * token part of the scratch is sized and allocated here (evr_scratch_init).
 *
 * jsmn is header-only: evr_decode.c defines EVR_DEC_JSMN_IMPL and gets the
 * one (static) copy of the tokenizer; every other includer only sees the
 * token type. JSMN_STRICT and JSMN_PARENT_LINKS are set here, once, because
 * they change the layout of jsmntok_t that evr_scratch_init() allocates.
 */
#ifndef EVR_DECODE_INTERNAL_H
#define EVR_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/evr_event_build.h"
#include "evr_decode.h"

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifdef EVR_DEC_JSMN_IMPL
#define JSMN_STATIC
#else
#define JSMN_HEADER
#endif
#include <jsmn.h>

/* Enough for a flat object of max_attrs members plus the few envelope
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

/* ---- JSON (jsmn + checks jsmn does not make; evr_decode.c) ---- */

/*
 * Tokenize js[0..len) into s->tok and check it is one well-formed JSON object
 * (separators, literals, numbers, string escapes, nothing after it). On
 * EVR_DEC_TOO_MANY_TOKENS *ntok is the number of tokens filled before jsmn ran
 * out, for evr_dec_json*_overflow() to tell "too many attributes" apart.
 */
enum evr_decode_status evr_dec_json_parse(const char *js, size_t len,
                                          struct evr_scratch *s, int *ntok);

/* Index of the token after t[i] and everything inside it. */
int evr_dec_json_skip(const jsmntok_t *t, int ntok, int i);

/* Does string token t, unescaped, equal lit (ASCII case-insensitively if
 * icase)? Never touches the scratch. */
bool evr_dec_json_eq(const char *js, const jsmntok_t *t, const char *lit,
                     bool icase);

/* Unescape JSON string token t into the scratch. */
enum evr_decode_status evr_dec_json_store_str(struct evr_scratch *s,
                                              const char *js,
                                              const jsmntok_t *t,
                                              struct evr_str *out);

/* A scalar value: string (unescaped), number/true/false (EVR_STR_LITERAL,
 * verbatim), null (EVR_STR_NULL, empty); object/array -> NESTED_VALUE. */
enum evr_decode_status evr_dec_json_store_scalar(struct evr_scratch *s,
                                                 const char *js,
                                                 const jsmntok_t *t,
                                                 struct evr_str *out);

/* Top-level member named key (case-sensitive): index of its value token, or
 * -1. Works on a partial token array too (uses parent links only). */
int evr_dec_json_member(const char *js, const jsmntok_t *t, int ntok,
                        const char *key);

/* Per-format bodies working on the tokens evr_dec_json_parse() left in
 * s->tok, and their refinement of TOO_MANY_TOKENS (shared with EVR_FMT_AUTO,
 * which tokenizes once to sniff). */
enum evr_decode_status evr_dec_jsonrpc_tokens(const char *js,
                                              struct evr_scratch *s, int ntok);
enum evr_decode_status evr_dec_jsonrpc_overflow(const char *js,
                                                struct evr_scratch *s, int ntok);
enum evr_decode_status evr_dec_json_tokens(const char *js, struct evr_scratch *s,
                                           int ntok);
enum evr_decode_status evr_dec_json_overflow(const char *js,
                                             struct evr_scratch *s, int ntok);

#endif /* EVR_DECODE_INTERNAL_H */
