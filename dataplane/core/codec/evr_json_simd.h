/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decoders' JSON front end: simdjson On-Demand (libsimdjson-dev) in one
 * C++ translation unit (evr_json_simd.cc) behind this C API. Private to
 * codec/ (included through evr_decode_internal.h).
 *
 * evr_json_parse() runs the whole document through simdjson and checks
 * every byte of it, whatever the format decoder will later keep: one object
 * at the top, RFC 8259 grammar everywhere (separators, literals, numbers,
 * escapes, UTF-8), nothing after it. What the format decoders need comes out
 * as a flat table, like a tokenizer's tokens but already unescaped: one
 * entry per top-level member, each container member followed by one entry
 * per child. Deeper content is checked but not recorded (it can only ever be
 * a NESTED_VALUE). The table and the unescaped strings live in the scratch's
 * JSON state and are valid until the next evr_json_parse() on that scratch;
 * decoders copy what they keep into the event arena.
 *
 * Thread context: the thread owning the scratch. evr_json_new/free are
 * init-time; evr_json_parse is the hot path (no allocation: the parser and
 * the padded input copy are sized at init from max_datagram).
 */
#ifndef EVR_JSON_SIMD_H
#define EVR_JSON_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "evr_decode.h"

#ifdef __cplusplus
extern "C" {
#endif

enum evr_json_kind {
	EVR_JK_STRING,  /* val: the unescaped string */
	EVR_JK_LITERAL, /* number, true or false; val: its text */
	EVR_JK_NULL,    /* val: "" */
	EVR_JK_OBJECT,  /* val: ""; kids: children recorded after it */
	EVR_JK_ARRAY,   /* as OBJECT; children have no key */
};

struct evr_json_ent {
	const char *key; /* unescaped member name; NULL for an array element */
	const char *val; /* see enum evr_json_kind; not NUL-terminated */
	uint32_t key_len;
	uint32_t val_len;
	uint32_t kids;   /* top-level containers only: entries that follow */
	uint32_t kind;   /* enum evr_json_kind */
};

struct evr_json_doc {
	const struct evr_json_ent *ent;
	uint32_t n;       /* entries filled (also when parsing stopped early) */
	uint32_t members; /* top-level members seen */
};

/*
 * State for documents of up to max_datagram bytes with at most tok_cap
 * tokens (the root object, every member name, every value, as a tokenizer
 * counts them): NULL when out of memory.
 */
void *evr_json_new(uint32_t max_datagram, uint32_t tok_cap);
void evr_json_free(void *js);

/*
 * Check buf[0..len) (1 <= len <= max_datagram) and fill *d. Statuses:
 * OK; NOT_OBJECT (the first non-blank byte is not '{'); BAD_JSON (any
 * grammar fault, invalid UTF-8, a raw control byte in a string, anything
 * after the object); BAD_STRING_ESCAPE (unknown escape, bad \u digits, a
 * lone surrogate, and \u0000: every view is a C string for glob consumers,
 * and an embedded NUL would let a value match as a shorter one);
 * TOO_MANY_TOKENS (past tok_cap tokens, or nested deeper than
 * EVR_DECODE_JSON_MAX_DEPTH, evr_decode.h): then *d holds what was recorded before the budget ran
 * out, for the decoders to tell "too many attributes" apart.
 */
enum evr_decode_status evr_json_parse(void *js, const char *buf, size_t len,
                                      uint32_t tok_cap, struct evr_json_doc *d);

#ifdef __cplusplus
}
#endif
#endif /* EVR_JSON_SIMD_H */
