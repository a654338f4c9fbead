/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoders: byte buffer -> struct evr_event, using only the caller's
 * per-thread evr_scratch (hot path: no malloc, no locks, no syscalls).
 *
 * Formats:
 *  - EVR_FMT_JSONRPC: OpenSIPS event_datagram JSON-RPC 2.0 notification
 *    {"jsonrpc":"2.0","method":"E_UL_AOR_INSERT","params":{"aor":"..",..}}.
 *    params may be an object (named) or an array (positional: the i-th
 *    element, counting from 1, is named "1", "2", ... as OpenSIPS script
 *    addresses positional parameters with $param(1)). params may be absent
 *    (event without attributes). Numbers/true/false keep their literal text,
 *    null is an empty value. Nested objects/arrays as values are refused
 *    (EVR_DEC_NESTED_VALUE). Parsed with simdjson On-Demand
 *    (libsimdjson-dev): the whole document must be valid JSON, UTF-8 included.
 *  - EVR_FMT_PLAIN: FreeSWITCH switch_event_serialize() text: lines
 *    "Header-Name: url-encoded-value", "_undef_" meaning empty, optional body
 *    after a Content-Length header + blank line; optionally wrapped in the ESL
 *    envelope "Content-Length: N\nContent-Type: text/event-plain\n\n".
 *  - EVR_FMT_JSON: FreeSWITCH JSON event: flat object of strings, "_body" is
 *    the body.
 *  - EVR_FMT_AUTO: '{' with "jsonrpc" key -> JSONRPC, '{' otherwise -> JSON,
 *    anything else -> PLAIN.
 *
 * Thread context: any thread, with its own scratch.
 */
#ifndef EVR_DECODE_H
#define EVR_DECODE_H

#include "event/evr_event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(ENUM_SUFFIX, "counter_name", "human text"). Order is ABI for counters. */
#define EVR_DECODE_STATUS(X)                                                   \
	X(OK, "ok", "decoded")                                                 \
	X(EMPTY, "empty", "empty datagram")                                    \
	X(OVERSIZE, "oversize", "datagram larger than max_datagram")           \
	X(BAD_JSON, "bad_json", "malformed JSON")                              \
	X(TOO_MANY_TOKENS, "too_many_tokens", "JSON has too many tokens or nesting levels")      \
	X(NOT_OBJECT, "not_object", "JSON top level is not an object")         \
	X(BAD_JSONRPC_VERSION, "bad_jsonrpc_version", "jsonrpc member is not \"2.0\"") \
	X(NO_METHOD, "no_method", "JSON-RPC method missing or not a string")   \
	X(BAD_PARAMS, "bad_params", "JSON-RPC params neither object nor array") \
	X(NESTED_VALUE, "nested_value", "attribute value is an object or array") \
	X(BAD_STRING_ESCAPE, "bad_string_escape", "invalid JSON string escape") \
	X(NO_EVENT_NAME, "no_event_name", "event name missing or empty")       \
	X(BAD_HEADER_LINE, "bad_header_line", "header line without ': '")     \
	X(BAD_URL_ESCAPE, "bad_url_escape", "invalid %XX escape")              \
	X(TOO_MANY_ATTRS, "too_many_attrs", "more attributes than max_attrs")  \
	X(NAME_TOO_LONG, "name_too_long", "name longer than max_name_len")     \
	X(VALUE_TOO_LONG, "value_too_long", "value longer than max_value_len") \
	X(TRUNCATED_ENVELOPE, "truncated_envelope", "ESL envelope shorter than its Content-Length") \
	X(BAD_CONTENT_LENGTH, "bad_content_length", "Content-Length invalid, duplicated, missing from an envelope, or framing bytes after it") \
	X(BAD_CONTENT_TYPE, "bad_content_type", "ESL envelope Content-Type is not text/event-plain") \
	X(TRUNCATED_BODY, "truncated_body", "body shorter than its Content-Length") \
	X(NUL_BYTE, "nul_byte", "NUL byte in text format")                     \
	X(BAD_FORMAT, "bad_format", "unknown ingress format")

enum evr_decode_status {
#define X(e, n, h) EVR_DEC_##e,
	EVR_DECODE_STATUS(X)
#undef X
	EVR_DEC__COUNT
};

/* JSON containers nested deeper than this (a top-level member's value is
 * level 1) are refused as EVR_DEC_TOO_MANY_TOKENS, even within the token
 * budget: the walk that checks every byte recurses once per level. */
#define EVR_DECODE_JSON_MAX_DEPTH 64u

/* Counter name ("bad_json") and human text, for any status value. */
/* Allocate scratch for decoding within limits l: attribute slots, string
 * arena and the JSON parser state (simdjson parser, padded input copy),
 * which only the decoders know the size of. Init-time only. 0 or
 * -ENOMEM/-EINVAL. */
EVR_API int evr_scratch_init(struct evr_scratch *s, const struct evr_limits *l);
/* Frees what evr_scratch_init allocated. */
EVR_API void evr_scratch_fini(struct evr_scratch *s);

EVR_API const char *evr_decode_status_name(enum evr_decode_status st);
EVR_API const char *evr_decode_status_text(enum evr_decode_status st);

/*
 * Decode buf[0..len) in format fmt into s->ev. On EVR_DEC_OK the event is
 * s->ev; on any other status s->ev is unspecified.
 */
EVR_API enum evr_decode_status evr_decode(enum evr_format fmt, const char *buf,
                                          size_t len, struct evr_scratch *s);

EVR_API enum evr_decode_status evr_decode_jsonrpc(const char *buf, size_t len,
                                                  struct evr_scratch *s);
EVR_API enum evr_decode_status evr_decode_plain(const char *buf, size_t len,
                                                struct evr_scratch *s);
EVR_API enum evr_decode_status evr_decode_json(const char *buf, size_t len,
                                               struct evr_scratch *s);

#ifdef __cplusplus
}
#endif
#endif /* EVR_DECODE_H */
