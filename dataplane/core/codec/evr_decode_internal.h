/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the decoders (evr_decode*.c) and evr_event.c, which sizes the
 * scratch. Not installed, not part of the API.
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

#include "evr_decode.h"

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifdef EVR_DEC_JSMN_IMPL
#define JSMN_STATIC
#else
#define JSMN_HEADER
#endif
#include <jsmn.h>

/*
 * Scratch sizing. Every stored string comes from a disjoint span of the input
 * that is at least one byte longer than the string (quotes, ": ", "\n", a
 * primitive's terminator), so max_datagram bytes cover all of them with their
 * NULs. On top: the permanent empty string at buf[0], the terminator of a
 * trailing line or body at end of input, and the generated positional names
 * "1".."1024" (at most 5 bytes each with the NUL).
 */
static inline uint32_t evr_dec_buf_cap(const struct evr_limits *l)
{
	return l->max_datagram + 8u * l->max_attrs + 64u;
}

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

/* Start a decode: empty event, all views on the empty string at buf[0]. */
void evr_dec_begin(struct evr_scratch *s, enum evr_format fmt);

/* Room for n bytes plus a NUL at the end of the used part of s->buf, or NULL.
 * NULL cannot happen for input within lim.max_datagram (see evr_dec_buf_cap);
 * callers still check and report OVERSIZE rather than write out of bounds. */
static inline char *evr_dec_reserve(struct evr_scratch *s, size_t n)
{
	if (n >= (size_t)(s->buf_cap - s->buf_used))
		return NULL;
	return s->buf + s->buf_used;
}

/* Terminate and keep n bytes written at p (from evr_dec_reserve). */
static inline void evr_dec_commit(struct evr_scratch *s, struct evr_str *v,
                                  char *p, size_t n, uint32_t flags)
{
	p[n] = '\0';
	v->p = p;
	v->len = (uint32_t)n;
	v->flags = flags;
	s->buf_used += (uint32_t)n + 1;
}

/* Copy n bytes into the scratch as a view. */
enum evr_decode_status evr_dec_store(struct evr_scratch *s, struct evr_str *v,
                                     const char *src, size_t n, uint32_t flags);

/* Next attribute slot, or NULL when max_attrs are already used. */
static inline struct evr_attr *evr_dec_push_attr(struct evr_scratch *s)
{
	if (s->ev.n_attrs >= s->lim.max_attrs)
		return NULL;
	return &s->attrs[s->ev.n_attrs++];
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
