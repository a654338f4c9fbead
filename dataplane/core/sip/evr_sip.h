/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Zero-copy SIP message parser (RFC 3261 over UDP), the foundation for SIP as
 * an event source (mirrored SIP / HEPv3 -> derived events, SIP endpoint).
 *
 * Ownership: every view (struct evr_sip_str) points into the caller's input
 * buffer and is valid as long as that buffer is; views are NOT NUL-terminated
 * (copy into an evr_scratch before handing them to C-string consumers).
 * An absent field is { NULL, 0 }; a field present but empty (an empty reason
 * phrase, ";rport" without a value) has p != NULL and len 0.
 *
 * Values are raw: escapes (%HH, quoted-pair) are not decoded, display names
 * are given without their surrounding quotes, and a folded header value
 * (CRLF followed by SP/HTAB) keeps its folding bytes in the generic header
 * array. Structured fields (Via, CSeq, From/To, Contact...) are parsed
 * treating CR/LF/SP/HTAB alike as linear white space.
 *
 * Thread context: any thread; the parser keeps no state between calls, never
 * allocates, locks, or logs (hot path, STYLE rules 11 and 14).
 */
#ifndef EVR_SIP_H
#define EVR_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/evr_event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds of the fixed arrays in struct evr_sip_msg, and input limits. */
#define EVR_SIP_MAX_MSG     65535u /* datagram bytes (UDP payload) */
#define EVR_SIP_MAX_LINE    8192u  /* one logical header, folds included */
#define EVR_SIP_MAX_HEADERS 64u    /* header fields kept in msg->headers */
#define EVR_SIP_MAX_VIA     16u    /* via-parms kept (all are validated) */
#define EVR_SIP_MAX_CONTACT 16u    /* contact-params kept (all validated) */

/*
 * Parse results: X(ENUM_SUFFIX, "counter_name", "human text"). Order is ABI
 * for counters. Every value other than OK and KEEPALIVE is a drop reason.
 *
 * Statuses from BAD_VERSION on are semantic: they are decided after the whole
 * message has been parsed, and msg is then as complete as on OK (a SIP
 * endpoint can still answer 400/505 from it); see evr_sip_status_msg_complete.
 * CONTENT_LENGTH_MISMATCH is also reported after a complete header parse,
 * with msg->body empty.
 */
#define EVR_SIP_STATUS(X)                                                      \
	X(OK, "ok", "parsed")                                                  \
	X(KEEPALIVE, "keepalive", "CRLF keep-alive datagram, not a message")   \
	X(EMPTY, "empty", "empty datagram")                                    \
	X(OVERSIZE, "oversize", "datagram larger than EVR_SIP_MAX_MSG")        \
	X(NUL_BYTE, "nul_byte", "NUL byte in the start line or headers")       \
	X(BAD_START_LINE, "bad_start_line", "malformed Request-Line or Status-Line") \
	X(BAD_STATUS_CODE, "bad_status_code", "status code not 3 digits in 100..699") \
	X(BAD_REQUEST_URI, "bad_request_uri", "Request-URI not an absolute URI, or an invalid sip/sips/tel URI") \
	X(LINE_TOO_LONG, "line_too_long", "header longer than EVR_SIP_MAX_LINE") \
	X(BAD_HEADER, "bad_header", "header line without a token name and ':', or a stray CR") \
	X(TRUNCATED_HEADERS, "truncated_headers", "headers not ended by an empty line") \
	X(TOO_MANY_HEADERS, "too_many_headers", "more header fields than EVR_SIP_MAX_HEADERS") \
	X(BAD_CONTENT_LENGTH, "bad_content_length", "Content-Length not a decimal number, or repeated with another value") \
	X(BAD_CSEQ, "bad_cseq", "CSeq not '<number <= 2^32-1> <method>'")     \
	X(BAD_VIA, "bad_via", "Via not 'SIP/2.0/<transport> host[:port]' with well-formed parameters") \
	X(BAD_FROM, "bad_from", "From not a valid name-addr/addr-spec")        \
	X(BAD_TO, "bad_to", "To not a valid name-addr/addr-spec")              \
	X(BAD_CALL_ID, "bad_call_id", "Call-ID empty or containing white space") \
	X(BAD_CONTACT, "bad_contact", "Contact not '*' or a list of valid name-addr/addr-spec") \
	X(CONTENT_LENGTH_MISMATCH, "content_length_mismatch", "Content-Length larger than the bytes after the headers") \
	X(BAD_VERSION, "bad_version", "SIP-Version is not SIP/2.0")            \
	X(DUPLICATE_HEADER, "duplicate_header", "To, From, Call-ID, CSeq or Max-Forwards repeated") \
	X(MISSING_TO, "missing_to", "no To header")                            \
	X(MISSING_FROM, "missing_from", "no From header")                      \
	X(MISSING_CALL_ID, "missing_call_id", "no Call-ID header")             \
	X(MISSING_CSEQ, "missing_cseq", "no CSeq header")                      \
	X(MISSING_VIA, "missing_via", "no Via header")                         \
	X(CSEQ_METHOD_MISMATCH, "cseq_method_mismatch", "request method differs from the CSeq method")

enum evr_sip_status {
#define X(e, n, h) EVR_SIP_##e,
	EVR_SIP_STATUS(X)
#undef X
	EVR_SIP__COUNT
};

/* Counter name ("bad_via") and human text, for any value ("unknown" past the
 * end). */
EVR_API const char *evr_sip_status_name(enum evr_sip_status st);
EVR_API const char *evr_sip_status_text(enum evr_sip_status st);

/* True when msg was filled completely despite st (OK or a semantic error). */
static inline bool evr_sip_status_msg_complete(enum evr_sip_status st)
{
	return st == EVR_SIP_OK || (st >= EVR_SIP_BAD_VERSION && st < EVR_SIP__COUNT);
}

/* Methods: X(ENUM_SUFFIX, "wire name"). Method names are case-sensitive
 * (RFC 3261 7.1): "invite" and "RE%47IST%45R" are extension methods. */
#define EVR_SIP_METHODS(X)                                                     \
	X(UNKNOWN, "")                                                         \
	X(INVITE, "INVITE")                                                    \
	X(ACK, "ACK")                                                          \
	X(BYE, "BYE")                                                          \
	X(CANCEL, "CANCEL")                                                    \
	X(REGISTER, "REGISTER")                                                \
	X(OPTIONS, "OPTIONS")                                                  \
	X(INFO, "INFO")                                                        \
	X(PRACK, "PRACK")                                                      \
	X(UPDATE, "UPDATE")                                                    \
	X(SUBSCRIBE, "SUBSCRIBE")                                              \
	X(NOTIFY, "NOTIFY")                                                    \
	X(PUBLISH, "PUBLISH")                                                  \
	X(MESSAGE, "MESSAGE")                                                  \
	X(REFER, "REFER")

enum evr_sip_method {
#define X(e, n) EVR_SIP_METHOD_##e,
	EVR_SIP_METHODS(X)
#undef X
	EVR_SIP_METHOD__COUNT
};

/* Wire name of a known method, "" for UNKNOWN (use the message's text). */
EVR_API const char *evr_sip_method_name(enum evr_sip_method m);
/* Exact, case-sensitive lookup; EVR_SIP_METHOD_UNKNOWN for anything else. */
EVR_API enum evr_sip_method evr_sip_method_lookup(const char *p, size_t len);

/*
 * Header fields the parser recognises, by full name and compact form
 * (RFC 3261 7.3.3 and the IANA registry). X(ENUM_SUFFIX, "Name", 'c' or 0).
 * Values are bit positions in msg->present, so there are at most 31.
 */
#define EVR_SIP_HEADERS(X)                                                     \
	X(OTHER, "", 0)                                                        \
	X(VIA, "Via", 'v')                                                     \
	X(FROM, "From", 'f')                                                   \
	X(TO, "To", 't')                                                       \
	X(CALL_ID, "Call-ID", 'i')                                             \
	X(CSEQ, "CSeq", 0)                                                     \
	X(CONTACT, "Contact", 'm')                                             \
	X(MAX_FORWARDS, "Max-Forwards", 0)                                     \
	X(EXPIRES, "Expires", 0)                                               \
	X(CONTENT_LENGTH, "Content-Length", 'l')                               \
	X(CONTENT_TYPE, "Content-Type", 'c')                                   \
	X(CONTENT_ENCODING, "Content-Encoding", 'e')                           \
	X(SUPPORTED, "Supported", 'k')                                         \
	X(EVENT, "Event", 'o')                                                 \
	X(SUBJECT, "Subject", 's')                                             \
	X(SESSION_EXPIRES, "Session-Expires", 'x')                             \
	X(REFER_TO, "Refer-To", 'r')                                           \
	X(REFERRED_BY, "Referred-By", 'b')                                     \
	X(ALLOW_EVENTS, "Allow-Events", 'u')                                   \
	X(ACCEPT_CONTACT, "Accept-Contact", 'a')                               \
	X(REJECT_CONTACT, "Reject-Contact", 'j')                               \
	X(REQUEST_DISPOSITION, "Request-Disposition", 'd')                     \
	X(IDENTITY, "Identity", 'y')                                           \
	X(USER_AGENT, "User-Agent", 0)                                         \
	X(SERVER, "Server", 0)                                                 \
	X(AUTHORIZATION, "Authorization", 0)                                   \
	X(PROXY_AUTHORIZATION, "Proxy-Authorization", 0)                       \
	X(WWW_AUTHENTICATE, "WWW-Authenticate", 0)                             \
	X(PROXY_AUTHENTICATE, "Proxy-Authenticate", 0)                         \
	X(ROUTE, "Route", 0)                                                   \
	X(RECORD_ROUTE, "Record-Route", 0)

enum evr_sip_hdr {
#define X(e, n, c) EVR_SIP_HDR_##e,
	EVR_SIP_HEADERS(X)
#undef X
	EVR_SIP_HDR__COUNT
};

/* Full name of a known header ("" for OTHER). */
EVR_API const char *evr_sip_hdr_name(enum evr_sip_hdr h);
/* Case-insensitive lookup of a full or compact name; OTHER if unknown. */
EVR_API enum evr_sip_hdr evr_sip_hdr_lookup(const char *p, size_t len);

/* A view into the input buffer; see the ownership note above. */
struct evr_sip_str {
	const char *p;
	uint32_t len;
};

enum evr_sip_scheme {
	EVR_SIP_SCHEME_OTHER = 0, /* any other absolute URI: scheme + opaque */
	EVR_SIP_SCHEME_SIP,
	EVR_SIP_SCHEME_SIPS,
	EVR_SIP_SCHEME_TEL,
};

/*
 * URI parts. For sip/sips: user, password, host ("[v6]" keeps its brackets),
 * port (0 when absent), params (raw text after the first ';' of the host
 * part, without it), headers (after '?'), and the common parameters.
 * For tel: user is the telephone-subscriber number, params follow it.
 * For other schemes only scheme and opaque are set.
 */
struct evr_sip_uri {
	enum evr_sip_scheme scheme;
	uint16_t port;
	bool lr;                      /* ";lr" present */
	struct evr_sip_str scheme_name;
	struct evr_sip_str opaque;    /* everything after "scheme:" */
	struct evr_sip_str user;
	struct evr_sip_str password;
	struct evr_sip_str host;
	struct evr_sip_str port_str;
	struct evr_sip_str params;
	struct evr_sip_str headers;
	struct evr_sip_str transport; /* ;transport= */
	struct evr_sip_str user_param; /* ;user= (phone, ip, dialstring) */
	struct evr_sip_str maddr;     /* ;maddr= */
	struct evr_sip_str method;    /* ;method= */
};

/*
 * Parse an absolute URI p[0..len) (no surrounding <> or white space).
 * 0, or -EINVAL when the scheme is malformed, or a sip/sips/tel URI breaks
 * RFC 3261 25.1 / RFC 3966 syntax (bad %HH escape, bad host, port > 65535,
 * empty parameter name, white space...). Unknown schemes are not checked
 * beyond "scheme:non-empty". Hot-path safe.
 */
EVR_API int evr_sip_uri_parse(const char *p, size_t len, struct evr_sip_uri *u);

/* From / To: name-addr or addr-spec, with the parsed URI. */
struct evr_sip_addr {
	struct evr_sip_str display; /* without quotes; absent if none */
	struct evr_sip_str uri_str; /* without <> */
	struct evr_sip_str tag;     /* ;tag= value */
	struct evr_sip_str params;  /* raw header params after the address */
	struct evr_sip_uri uri;
};

struct evr_sip_via {
	struct evr_sip_str protocol;  /* "SIP" */
	struct evr_sip_str version;   /* "2.0" */
	struct evr_sip_str transport; /* "UDP", "TCP", "TLS", "WS", ... */
	struct evr_sip_str host;      /* sent-by host, "[v6]" keeps brackets */
	uint16_t port;                /* 0 when absent */
	bool rport;                   /* ";rport" present (with or without value) */
	struct evr_sip_str branch;
	struct evr_sip_str received;
	struct evr_sip_str rport_value; /* present-but-empty for bare ";rport" */
	struct evr_sip_str maddr;
	struct evr_sip_str params;    /* raw, after the sent-by */
};

struct evr_sip_contact {
	struct evr_sip_str display;
	struct evr_sip_str uri_str;
	struct evr_sip_str params;  /* raw header params */
	int64_t expires;            /* ;expires=, -1 when absent or invalid */
	struct evr_sip_str q;       /* ;q= as written ("0.33") */
};

struct evr_sip_header {
	struct evr_sip_str name;  /* as written: "v", "VIA", "Unknown-Name" */
	struct evr_sip_str value; /* trimmed; folds kept */
	enum evr_sip_hdr id;
};

/*
 * Where a SIP message was seen: the UDP 4-tuple of the datagram that carried
 * it (for HEP, the tuple the capture agent reported) and the capture time.
 * Addresses are in network byte order; an IPv4 address fills src[0..4) /
 * dst[0..4) and leaves the rest zero. Ports are in host byte order.
 */
struct evr_sip_flow {
	uint8_t family; /* 4 or 6 */
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint64_t ts_us; /* wall clock, microseconds since the Unix epoch */
};

/* msg->flags: anomalies tolerated where RFC 4475 lets an element be liberal. */
#define EVR_SIP_F_BAD_MAX_FORWARDS 0x1u /* not 0..255: treated as absent */
#define EVR_SIP_F_BAD_EXPIRES      0x2u /* Expires not delta-seconds <= 2^32-1 */
#define EVR_SIP_F_BAD_CONTACT_EXPIRES 0x4u /* a Contact ;expires= invalid */
#define EVR_SIP_F_BARE_LF          0x8u /* a line ended with LF, not CRLF */

struct evr_sip_msg {
	bool is_request;
	uint8_t version_major, version_minor;
	enum evr_sip_method method;      /* request method; for a response the CSeq method */
	struct evr_sip_str method_name;  /* request: start-line method; response: CSeq method */
	struct evr_sip_str ruri_str;     /* request only */
	struct evr_sip_uri ruri;
	uint16_t status_code;            /* response only, else 0 */
	struct evr_sip_str reason;

	struct evr_sip_addr from, to;
	struct evr_sip_str call_id;
	uint32_t cseq;
	enum evr_sip_method cseq_method;
	struct evr_sip_str cseq_method_name;
	int32_t max_forwards;            /* -1 when absent or invalid */
	int64_t expires;                 /* Expires header; -1 when absent or invalid */
	struct evr_sip_str content_type; /* media type without parameters */
	struct evr_sip_str event;        /* event type without parameters */
	struct evr_sip_str user_agent;
	struct evr_sip_str server;
	uint32_t content_length;         /* valid when present has CONTENT_LENGTH */
	struct evr_sip_str body;         /* by Content-Length, else the rest */
	uint32_t trailing;               /* octets after the body, ignored (RFC 3261 18.3) */
	uint16_t route_count;            /* Route entries (comma-separated included) */
	uint16_t record_route_count;
	uint32_t present;                /* 1u << EVR_SIP_HDR_x for each header seen */
	uint32_t flags;                  /* EVR_SIP_F_* */

	uint16_t n_via;                  /* kept in via[], <= EVR_SIP_MAX_VIA */
	uint16_t via_total;              /* all via-parms in the message */
	uint16_t n_contact;
	uint16_t contact_total;
	bool contact_star;               /* "Contact: *" */
	uint16_t n_headers;
	struct evr_sip_via via[EVR_SIP_MAX_VIA];             /* top first */
	struct evr_sip_contact contact[EVR_SIP_MAX_CONTACT];
	struct evr_sip_header headers[EVR_SIP_MAX_HEADERS];  /* in wire order */
};

static inline bool evr_sip_has(const struct evr_sip_msg *m, enum evr_sip_hdr h)
{
	return (m->present >> h) & 1u;
}

/*
 * Parse one SIP message from a UDP datagram buf[0..len) into msg (caller
 * storage, fully overwritten). Leading CRLFs are skipped (RFC 3261 7.5); a
 * datagram of CRLFs only is EVR_SIP_KEEPALIVE (RFC 5626 keep-alive). Without
 * Content-Length the body is the rest of the datagram; octets after a
 * Content-Length body are ignored and counted in msg->trailing.
 * On statuses for which evr_sip_status_msg_complete() is false, msg is
 * partially filled and must not be used. Hot-path safe.
 */
EVR_API enum evr_sip_status evr_sip_parse(const char *buf, size_t len,
                                          struct evr_sip_msg *msg);

/* First header with id h (OTHER matches none), or NULL. */
EVR_API const struct evr_sip_header *evr_sip_find(const struct evr_sip_msg *m,
                                                  enum evr_sip_hdr h);
/* First header whose name equals name[0..len) case-insensitively, or NULL.
 * Compact and full forms are distinct names here. */
EVR_API const struct evr_sip_header *evr_sip_find_name(const struct evr_sip_msg *m,
                                                       const char *name, size_t len);

/*
 * FreeSWITCH hangup cause (switch_call_cause_t name, e.g. "USER_BUSY") for a
 * final SIP status, per seed 004 and mod_sofia's sip -> cause table
 * (RFC 4497 8.4.4). *q850 (if non-NULL) gets the cause value (FreeSWITCH-
 * specific causes such as ORIGINATOR_CANCEL carry their own value, 487).
 * Returns NULL for codes outside 100..699.
 */
EVR_API const char *evr_sip_status_to_cause(unsigned status, unsigned *q850);

/* FreeSWITCH hangup cause name of a Q.850 cause value (a Reason header's
 * "Q.850;cause=N"), "UNKNOWN" for a value FreeSWITCH does not name. */
EVR_API const char *evr_sip_q850_name(unsigned q850);

#ifdef __cplusplus
}
#endif
#endif /* EVR_SIP_H */
