/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP event endpoint: SIP requests addressed to the appliance become events,
 * answered statelessly (RFC 3261 8.2 UAS rules, 8.2.7 stateless UAS) so the
 * sender stops retransmitting.
 *
 * Requests and what they become:
 *   PUBLISH, NOTIFY  event named by the Event header's package ("presence",
 *                    "dialog", "message-summary"; parameters dropped), 200.
 *                    No/empty/non-token Event -> 489 Bad Event + Allow-Events.
 *                    PUBLISH: 200 carries SIP-ETag and Expires = min(request
 *                    Expires, conf publish_expires) (RFC 3903 6); a PUBLISH
 *                    with neither body nor SIP-If-Match -> 400 Missing Body.
 *   MESSAGE          event "MESSAGE", 200.
 *   OPTIONS          200 with Allow, Accept, Allow-Events; no event. Also with
 *                    Max-Forwards 0: we are the UAS it is addressed to, and
 *                    483 is a proxy's answer (RFC 3261 16.3 step 2).
 *   CANCEL           200 if it matches a request answered within dedup_ms
 *                    (same Call-ID, CSeq number, top Via), else 481: RFC 3261
 *                    9.2 answers 200 only for a matching transaction, and our
 *                    dedupe entries are exactly the non-INVITE server
 *                    transactions in their Completed state (Timer J).
 *   ACK              nothing (never answered).
 *   anything else    405 Method Not Allowed + Allow (INVITE, REGISTER,
 *                    SUBSCRIBE, extension methods).
 * Before the method rules: a Request-URI that is not sip/sips/tel -> 416; a
 * Require header (we support no extension) -> 420 Bad Extension listing it
 * in Unsupported (not for CANCEL, RFC 3261 9.1).
 * Limits: an event over the scratch limits (attribute count, name or value
 * length, scratch bytes) -> 413 Request Entity Too Large, no event.
 * Parse failures: a semantic error with the message still complete
 * (evr_sip_status_msg_complete) -> 400 with a reason naming it ("400 Missing
 * Call-ID", "400 CSeq Method Mismatch"...), 505 for a SIP version other than
 * 2.0; CONTENT_LENGTH_MISMATCH in a request -> 400 Content-Length Mismatch
 * (RFC 3261 18.3). Every other parse failure, any response, and any request
 * without a Via are dropped without reply and counted.
 *
 * Replies copy every Via header in order; the top one gets received= (source
 * IP) when it asked with ;rport or its sent-by host is not the source IP, and
 * rport= (source port) when it asked (RFC 3261 18.2.1, RFC 3581 4). From,
 * Call-ID and CSeq are copied; To gets ";tag=<16 hex>" when it has none, a
 * hash of Call-ID + From tag, so every retransmission (and every worker) sends
 * the same tag. Then Server, the code's extra headers, Content-Length: 0.
 * Folded header lines are unfolded in the copy. The reply goes to the source
 * IP, at the source port if ;rport was asked, else the top Via sent-by port
 * or 5060 (RFC 3261 18.2.2, RFC 3581 4; maddr is not honoured: no multicast).
 *
 * Retransmissions: an event-raising request whose Call-ID, CSeq number,
 * method, top Via (branch, sent-by) and From tag equal one raised within
 * dedup_ms is answered again (the reply is a pure function of the request and
 * its source, so byte-identical) and raises nothing. The table is a bounded
 * set-associative cache allocated at create; a live entry pushed out by a new
 * one is counted (dedup_evicted): its retransmission would raise again.
 *
 * Event attributes (all present, empty when the request lacks the part; the
 * names never collide case-insensitively with a header name, since EBR looks
 * attributes up case-insensitively):
 *   method        request method ("PUBLISH")
 *   request_uri   Request-URI;        ruri_user  its user part
 *   from_uri, from_user, from_host, from_display, from_tag
 *   to_uri, to_user, to_host, to_tag
 *   call_id       Call-ID;            cseq       CSeq number (a literal)
 *   content_type  media type without parameters ("application/pidf+xml")
 *   network_ip    source address of the datagram ("192.0.2.1", "2001:db8::1")
 *   network_port  its source port (a literal)
 *   body          the message body (the event's ev.body stays empty, so the
 *                 FreeSWITCH formats do not carry it twice)
 * then every header, by its canonical full name for the headers evr_sip.h
 * knows (compact "o" -> "Event") and as written otherwise, in first-seen
 * order, repeated headers joined with ", " (RFC 3261 7.3.1), except
 * Content-Length (framing) and CSeq (it is cseq + method). URI parts are raw
 * (no %HH decoding). A subscriber filters with from_user=alice*,
 * Event=dialog;* or body=*open*. The event's src_format is EVR_FMT_JSONRPC
 * (as for events raised over the control socket).
 *
 * Ownership and threads: one instance per worker lcore, used only by it
 * (no locks); evr_sip_endpoint_stats() may be read by any thread (relaxed loads of
 * counters the owner writes with relaxed stores). create/destroy are init
 * time (they allocate); handle never allocates, locks, logs or makes a
 * syscall.
 */
#ifndef EVR_SIP_ENDPOINT_H
#define EVR_SIP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/evr_event.h"
#include "evr_sip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A reply buffer this large takes any reply that fits a UDP datagram: a reply
 * copies the request's Via, From, To, Call-ID and CSeq and adds at most a few
 * hundred bytes. A reply that does not fit is counted (reply_overflow). */
#define EVR_SIP_ENDPOINT_REPLY_MAX EVR_UDP_MAX_PAYLOAD

/* Counters: X(name, "help"). Order is ABI for exported counters. */
#define EVR_SIP_ENDPOINT_COUNTERS(X)                                                  \
	X(publish, "PUBLISH requests raised as events")                        \
	X(notify, "NOTIFY requests raised as events")                          \
	X(message, "MESSAGE requests raised as events")                        \
	X(options, "OPTIONS answered 200 (keep-alive probes)")                 \
	X(cancel_matched, "CANCEL matching a recent request, answered 200")    \
	X(cancel_unmatched, "CANCEL matching nothing, answered 481")           \
	X(retrans_absorbed, "retransmissions answered again without a second event") \
	X(replies_2xx, "2xx replies built")                                    \
	X(replies_4xx, "4xx replies built")                                    \
	X(replies_5xx, "5xx replies built")                                    \
	X(bad_event, "PUBLISH/NOTIFY without a usable Event header, answered 489") \
	X(method_not_allowed, "methods we do not serve, answered 405")         \
	X(too_large, "events over the scratch limits, answered 413")           \
	X(bad_request, "semantic errors and PUBLISH without body or SIP-If-Match, answered 400") \
	X(bad_version, "SIP version other than 2.0, answered 505")             \
	X(unsupported_uri, "Request-URI scheme not sip/sips/tel, answered 416") \
	X(bad_extension, "requests with Require, answered 420")                \
	X(responses_ignored, "SIP responses received (we send no requests): dropped") \
	X(ack_ignored, "ACK requests: never answered")                         \
	X(keepalive_ignored, "CRLF keep-alive datagrams: dropped")             \
	X(unparsable, "parse failures leaving no usable message: dropped")     \
	X(no_via, "requests without a usable Via: no reply possible, dropped") \
	X(reply_overflow, "replies larger than the caller's buffer: not sent") \
	X(dedup_evicted, "live dedupe entries evicted by new ones")             \
	X(rate_limited, "datagrams over the per-source rate limit: dropped, never answered") \
	X(rate_evicted, "sources forgotten by the rate limiter for new ones (table full)")

enum evr_sip_endpoint_counter {
#define X(n, h) EVR_SIP_ENDPOINT_C_##n,
	EVR_SIP_ENDPOINT_COUNTERS(X)
#undef X
	EVR_SIP_ENDPOINT__COUNT
};

struct evr_sip_endpoint_conf {
	uint32_t dedup_entries;   /* dedupe table slots (default 4096, 8..1<<22;
	                           * rounded up to a power of two) */
	uint32_t dedup_ms;        /* retransmission window (default 32000 = 64*T1) */
	const char *server;       /* Server header (default "evrouter"; <= 128
	                           * bytes, no CR/LF; copied at create) */
	uint32_t publish_expires; /* largest PUBLISH Expires granted (default 3600) */
	const char *allow_events; /* Allow-Events of 489 and OPTIONS replies
	                           * (default "presence, dialog, message-summary,
	                           * reg, refer"; same limits as server) */
	/* Per source IP (limit/evr_srclimit.h, OpenSIPS pike): at most
	 * rate_requests datagrams per rate_window_ms, the rest dropped before
	 * parsing is looked at, never answered (a spoofed flood cannot make
	 * the endpoint reflect); 0 = off. rate_sources: table slots. */
	uint32_t rate_requests;   /* default 30 (pike's reqs_density_per_unit) */
	uint32_t rate_window_ms;  /* default 2000 (pike's sampling_time_unit) */
	uint32_t rate_sources;    /* default 16384 */
};

/* Fill defaults. */
EVR_API void evr_sip_endpoint_conf_default(struct evr_sip_endpoint_conf *c);

struct evr_sip_endpoint_stats {
	uint64_t c[EVR_SIP_ENDPOINT__COUNT];
};

/* Counter name ("retrans_absorbed") and help text; NULL past the end. */
EVR_API const char *evr_sip_endpoint_counter_name(unsigned i);
EVR_API const char *evr_sip_endpoint_counter_help(unsigned i);

struct evr_sip_endpoint;

/* Init time: allocate an endpoint (its dedupe table included). NULL with
 * errno EINVAL (conf out of bounds) or ENOMEM. */
EVR_API struct evr_sip_endpoint *evr_sip_endpoint_create(const struct evr_sip_endpoint_conf *c);
EVR_API void evr_sip_endpoint_destroy(struct evr_sip_endpoint *ep);

struct evr_sip_endpoint_out {
	bool raise;            /* s->ev holds the event to route */
	bool reply;            /* reply[0..reply_len) is to be sent */
	uint16_t code;         /* reply status code (also set when the reply
	                        * did not fit: reply_overflow) */
	uint32_t reply_len;
	uint8_t reply_family;  /* 4 or 6 */
	uint8_t reply_addr[16]; /* network byte order, IPv4 in [0..4) */
	uint16_t reply_port;   /* host byte order */
};

/*
 * Hot path. st/m: the result of evr_sip_parse() on the datagram; f: the
 * datagram's flow (f->src/sport: the sender); now_ms: a monotonic clock in
 * milliseconds (the caller's TSC-derived time); s: the worker's decode
 * scratch, where the event is built (valid until its next use, like a
 * decoder's); reply: caller buffer of reply_cap bytes (EVR_SIP_ENDPOINT_REPLY_MAX
 * always suffices). out is fully overwritten. Owner thread only.
 */
EVR_API void evr_sip_endpoint_handle(struct evr_sip_endpoint *ep, enum evr_sip_status st,
                              const struct evr_sip_msg *m,
                              const struct evr_sip_flow *f, uint64_t now_ms,
                              struct evr_scratch *s, char *reply,
                              size_t reply_cap, struct evr_sip_endpoint_out *out);

/* Counters; any thread may read them with relaxed loads
 * (__atomic_load_n(&st->c[i], __ATOMIC_RELAXED)). */
EVR_API const struct evr_sip_endpoint_stats *evr_sip_endpoint_stats(const struct evr_sip_endpoint *ep);

#ifdef __cplusplus
}
#endif
#endif /* EVR_SIP_ENDPOINT_H */
