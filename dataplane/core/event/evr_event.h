/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event model.
 *
 * An event is a name (Event-Name), an optional subclass (Event-Subclass, used
 * with CUSTOM, e.g. "sofia::register"), a priority carried as metadata only
 * (seed 004: dispatch is FIFO, priority never reorders), an ordered list of
 * attributes (name, value) in their original order, and an optional body.
 *
 * Ownership: an event is a set of views into an evr_scratch owned by exactly
 * one thread (a dataplane lcore, a test, the control thread). Every string
 * view is NUL-terminated inside the scratch (the NUL is not counted in len),
 * so fnmatch()-style consumers can use it directly. An event stays valid until
 * the next decode into the same scratch.
 *
 * Limits are explicit (struct evr_limits): anything over a limit is a decode
 * error with its own reason code, never a truncation.
 */
#ifndef EVR_EVENT_H
#define EVR_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_API __attribute__((visibility("default")))

/* Largest UDP payload over IPv4 (65535 - 20 - 8). */
#define EVR_UDP_MAX_PAYLOAD 65507u

/* evr_str.flags: how a value was written on the wire, so encoders can
 * reproduce it (OpenSIPS sends integer attributes as JSON numbers). */
#define EVR_STR_LITERAL 0x1u /* JSON number/true/false: text kept verbatim */
#define EVR_STR_NULL    0x2u /* JSON null / FreeSWITCH "_undef_": empty value */

struct evr_str {
	const char *p;
	uint32_t len;
	uint32_t flags; /* EVR_STR_* (fills what would be padding) */
};

struct evr_attr {
	struct evr_str name;
	struct evr_str value;
};

/* Wire formats, for ingress (decode) and notifications (encode). */
enum evr_format {
	EVR_FMT_JSONRPC = 0, /* OpenSIPS event_datagram JSON-RPC 2.0 notification */
	EVR_FMT_PLAIN,       /* FreeSWITCH text/event-plain (ESL envelope optional on ingress) */
	EVR_FMT_JSON,        /* FreeSWITCH JSON event (flat object of strings) */
	EVR_FMT_XML,         /* FreeSWITCH XML event (notifications only) */
	EVR_FMT_AUTO,        /* ingress only: sniff the first byte(s) */
	EVR_FMT__COUNT
};

/* "jsonrpc" | "plain" | "json" | "xml" | "auto"; returns -EINVAL on anything else. */
EVR_API int evr_format_parse(const char *s, enum evr_format *out);
EVR_API const char *evr_format_name(enum evr_format f);

enum evr_priority {
	EVR_PRIO_NORMAL = 0,
	EVR_PRIO_LOW,
	EVR_PRIO_HIGH,
};

struct evr_limits {
	uint32_t max_attrs;     /* attributes per event (default 64, hard max 1024) */
	uint32_t max_name_len;  /* attribute/event name bytes (default 128) */
	uint32_t max_value_len; /* attribute value bytes, after unescaping (default 4096) */
	uint32_t max_datagram;  /* input bytes (default and max EVR_UDP_MAX_PAYLOAD) */
};

#define EVR_LIMITS_HARD_MAX_ATTRS 1024u

/* Fill defaults. */
EVR_API void evr_limits_default(struct evr_limits *l);
/* 0 or -EINVAL with a message naming the bad field. */
EVR_API int evr_limits_validate(const struct evr_limits *l, char *err, size_t errlen);

struct evr_event {
	struct evr_str name;     /* Event-Name / JSON-RPC method; never empty */
	struct evr_str subclass; /* Event-Subclass or len 0 */
	struct evr_str body;     /* FreeSWITCH body or len 0 */
	enum evr_priority priority;
	enum evr_format src_format; /* format it was decoded from */
	/* JSON-RPC "params" arrived as an array (OpenSIPS raise_event without
	 * attribute names): attributes are named "1","2",... for filters, and
	 * the jsonrpc encoder sends them back as an array. Set only by the
	 * jsonrpc decoder; every other source builds named events (false). */
	bool positional;
	uint32_t n_attrs;
	struct evr_attr *attrs;  /* in original order; for FreeSWITCH sources this
	                          * includes Event-Name/Event-Subclass headers */
};

/*
 * Per-thread decode scratch: all memory a decoder may touch, sized from the
 * limits once at init, so decoding never allocates.
 */
struct evr_scratch {
	struct evr_event ev;
	struct evr_limits lim;
	struct evr_attr *attrs; /* lim.max_attrs entries */
	char *buf;              /* unescaped strings, each NUL-terminated */
	uint32_t buf_cap;
	uint32_t buf_used;
	void *json;             /* JSON decoder state (codec/evr_json_simd.h) */
	uint32_t tok_cap;       /* JSON token budget (codec/evr_decode_internal.h) */
};

/* evr_scratch_init/fini (a decode scratch, JSON state included) are the
 * decoders' (codec/evr_decode.h); evr_ev_arena_init below is for events
 * built rather than decoded. */

/* Attribute slots (l->max_attrs) and a buf_cap-byte string arena only, no
 * JSON state: for events built rather than decoded (evr_event_build.h).
 * Init-time only. 0 or -ENOMEM/-EINVAL. */
EVR_API int evr_ev_arena_init(struct evr_scratch *s, const struct evr_limits *l,
                              uint32_t buf_cap);
EVR_API void evr_ev_arena_fini(struct evr_scratch *s);

/* Attribute lookup by name, case-insensitive (first match), or NULL. */
EVR_API const struct evr_attr *evr_event_find(const struct evr_event *ev,
                                              const char *name, size_t len);

/* ASCII case-insensitive compare of two byte ranges of equal length. */
static inline bool evr_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if ((unsigned)(x - 'A') < 26u)
			x += 32;
		if ((unsigned)(y - 'A') < 26u)
			y += 32;
		if (x != y)
			return false;
	}
	return true;
}

#ifdef __cplusplus
}
#endif
#endif /* EVR_EVENT_H */
