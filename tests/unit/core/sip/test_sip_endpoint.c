/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP event endpoint tests: every request path of evr_sip_endpoint.h (events,
 * OPTIONS, CANCEL, ACK, 405/413/416/420/489/400/505, drops), with each reply
 * parsed back by evr_sip_parse() and checked as a SIP response: status line,
 * the Via list identical to the request's except received/rport on the top
 * one, From, To with the deterministic tag, Call-ID, CSeq, Content-Length 0,
 * Server; the reply destination; the event name and attributes;
 * retransmission absorption and its expiry; table eviction; the counters.
 *
 * Messages are written with LF and sent with CRLF; run() appends the
 * Content-Length header and the body.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "codec/evr_decode.h"
#include "sip/evr_sip_endpoint.h"
#include "evr_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct evr_scratch g_s;
static char g_wire[70000];
static size_t g_len;
static struct evr_sip_msg g_req, g_resp;
static enum evr_sip_status g_st;
static char g_reply[EVR_SIP_ENDPOINT_REPLY_MAX];
static struct evr_sip_endpoint_out g_out;

static struct evr_sip_flow flow4(const char *ip, uint16_t port)
{
	struct evr_sip_flow f;

	memset(&f, 0, sizeof(f));
	f.family = 4;
	inet_pton(AF_INET, ip, f.src);
	inet_pton(AF_INET, "192.0.2.254", f.dst);
	f.sport = port;
	f.dport = 5060;
	return f;
}

static struct evr_sip_flow flow6(const char *ip, uint16_t port)
{
	struct evr_sip_flow f;

	memset(&f, 0, sizeof(f));
	f.family = 6;
	inet_pton(AF_INET6, ip, f.src);
	inet_pton(AF_INET6, "2001:db8::fe", f.dst);
	f.sport = port;
	f.dport = 5060;
	return f;
}

/* hdrs (start line + headers, LF-terminated lines) + Content-Length + body,
 * LF -> CRLF in hdrs, into g_wire; parse; handle. */
static void run_cap(struct evr_sip_endpoint *ep, const char *hdrs, const char *body,
                    const struct evr_sip_flow *f, uint64_t now, size_t cap)
{
	size_t blen = body ? strlen(body) : 0;

	g_len = 0;
	for (const char *p = hdrs; *p; p++) {
		if (*p == '\n')
			g_wire[g_len++] = '\r';
		g_wire[g_len++] = *p;
	}
	g_len += (size_t)sprintf(g_wire + g_len, "Content-Length: %zu\r\n\r\n", blen);
	if (blen)
		memcpy(g_wire + g_len, body, blen);
	g_len += blen;
	g_st = evr_sip_parse(g_wire, g_len, &g_req);
	memset(g_reply, 0, sizeof(g_reply));
	evr_sip_endpoint_handle(ep, g_st, &g_req, f, now, &g_s, g_reply, cap, &g_out);
}

static void run(struct evr_sip_endpoint *ep, const char *hdrs, const char *body,
                const struct evr_sip_flow *f, uint64_t now)
{
	run_cap(ep, hdrs, body, f, now, sizeof(g_reply));
}

/* Raw datagram, no CRLF conversion nor Content-Length. */
static void run_raw(struct evr_sip_endpoint *ep, const char *wire, size_t n,
                    const struct evr_sip_flow *f, uint64_t now)
{
	memcpy(g_wire, wire, n);
	g_len = n;
	g_st = evr_sip_parse(g_wire, g_len, &g_req);
	evr_sip_endpoint_handle(ep, g_st, &g_req, f, now, &g_s, g_reply, sizeof(g_reply), &g_out);
}

static bool veq(struct evr_sip_str a, struct evr_sip_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool vstr(struct evr_sip_str a, const char *s)
{
	return a.p != NULL && a.len == strlen(s) && memcmp(a.p, s, a.len) == 0;
}

static const char *hdr(const struct evr_sip_msg *m, const char *name)
{
	static char buf[1024];
	const struct evr_sip_header *h = evr_sip_find_name(m, name, strlen(name));

	if (h == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)h->value.len, h->value.p);
	return buf;
}

static int count_hdr(const struct evr_sip_msg *m, const char *name)
{
	int n = 0;

	for (unsigned i = 0; i < m->n_headers; i++)
		n += m->headers[i].name.len == strlen(name) &&
		     evr_ieq(m->headers[i].name.p, name, strlen(name));
	return n;
}

/* Value of the top Via header line of the reply, as text. */
static const char *top_via_text(void)
{
	return hdr(&g_resp, "Via");
}

/*
 * The reply is a valid SIP response for the request: code and reason, Via
 * list equal except for the top entry's received/rport (checked against
 * want_received/want_rport: NULL / 0 means absent), From/Call-ID/CSeq copied,
 * To copied with a tag (the request's, or a 16-hex one added), Server and
 * Content-Length: 0.
 */
static void check_reply(unsigned code, const char *reason, const char *want_received,
                        int want_rport)
{
	enum evr_sip_status rs;

	CHECK(g_out.reply);
	CHECK_EQ_INT(g_out.code, code);
	if (!g_out.reply)
		return;
	CHECK(g_out.reply_len > 0 && g_out.reply_len < sizeof(g_reply));
	rs = evr_sip_parse(g_reply, g_out.reply_len, &g_resp);
	CHECK_MSG(evr_sip_status_msg_complete(rs), "%s:\n%.*s", evr_sip_status_name(rs),
	          (int)g_out.reply_len, g_reply);
	CHECK(!g_resp.is_request);
	CHECK_EQ_INT(g_resp.status_code, code);
	if (reason)
		CHECK_MSG(vstr(g_resp.reason, reason), "reason \"%.*s\" want \"%s\"",
		          (int)g_resp.reason.len, g_resp.reason.p, reason);
	CHECK(g_resp.version_major == 2 && g_resp.version_minor == 0);
	/* Via: same count, same entries */
	CHECK_EQ_INT(g_resp.via_total, g_req.via_total);
	CHECK_EQ_INT(g_resp.n_via, g_req.n_via);
	for (unsigned i = 0; i < g_req.n_via && i < g_resp.n_via; i++) {
		const struct evr_sip_via *a = &g_req.via[i], *b = &g_resp.via[i];

		CHECK(veq(a->transport, b->transport) && veq(a->host, b->host));
		CHECK(a->port == b->port && veq(a->branch, b->branch));
		CHECK(veq(a->maddr, b->maddr));
		if (i > 0) {
			CHECK(veq(a->params, b->params));
			CHECK(veq(a->received, b->received) && a->rport == b->rport);
		}
	}
	if (g_resp.n_via > 0) {
		const struct evr_sip_via *t = &g_resp.via[0];

		if (want_received)
			CHECK_MSG(vstr(t->received, want_received), "received=%.*s want %s",
			          (int)t->received.len, t->received.p ? t->received.p : "", want_received);
		else
			CHECK(veq(t->received, g_req.via[0].received));
		if (want_rport) {
			char num[8];

			snprintf(num, sizeof(num), "%d", want_rport);
			CHECK(t->rport && vstr(t->rport_value, num));
		} else {
			CHECK(t->rport == g_req.via[0].rport);
		}
	}
	/* dialog identifiers */
	if (evr_sip_has(&g_req, EVR_SIP_HDR_FROM))
		CHECK(veq(g_resp.from.uri_str, g_req.from.uri_str) &&
		      veq(g_resp.from.tag, g_req.from.tag));
	if (evr_sip_has(&g_req, EVR_SIP_HDR_TO)) {
		CHECK(veq(g_resp.to.uri_str, g_req.to.uri_str));
		if (g_req.to.tag.p)
			CHECK(veq(g_resp.to.tag, g_req.to.tag));
		else
			CHECK_EQ_INT(g_resp.to.tag.len, 16);
	}
	CHECK(veq(g_resp.call_id, g_req.call_id));
	if (evr_sip_has(&g_req, EVR_SIP_HDR_CSEQ)) {
		CHECK_EQ_INT(g_resp.cseq, g_req.cseq);
		CHECK(veq(g_resp.cseq_method_name, g_req.cseq_method_name));
	}
	CHECK(evr_sip_has(&g_resp, EVR_SIP_HDR_CONTENT_LENGTH) && g_resp.content_length == 0);
	CHECK(g_resp.body.len == 0 && g_resp.trailing == 0);
	CHECK(vstr(g_resp.server, "evrouter"));
}

static const char *attr(const char *name)
{
	const struct evr_attr *a = evr_event_find(&g_s.ev, name, strlen(name));

	return a ? a->value.p : NULL;
}

static uint64_t ctr(struct evr_sip_endpoint *ep, enum evr_sip_endpoint_counter c)
{
	return __atomic_load_n(&evr_sip_endpoint_stats(ep)->c[c], __ATOMIC_RELAXED);
}

static struct evr_sip_endpoint *mk(uint32_t entries, uint32_t ms)
{
	struct evr_sip_endpoint_conf c;
	struct evr_sip_endpoint *ep;

	evr_sip_endpoint_conf_default(&c);
	if (entries)
		c.dedup_entries = entries;
	if (ms)
		c.dedup_ms = ms;
	ep = evr_sip_endpoint_create(&c);
	CHECK(ep != NULL);
	return ep;
}

/* ---- requests ---- */

#define PUBLISH_HDRS                                                           \
	"PUBLISH sip:alice@example.com SIP/2.0\n"                              \
	"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub1\n"                 \
	"Max-Forwards: 70\n"                                                   \
	"From: \"Alice\" <sip:alice@example.com>;tag=a1\n"                    \
	"To: <sip:alice@example.com>\n"                                        \
	"Call-ID: pub-1@192.0.2.1\n"                                           \
	"CSeq: 7 PUBLISH\n"                                                    \
	"Event: presence\n"                                                    \
	"Expires: 7200\n"                                                      \
	"Content-Type: application/pidf+xml;charset=utf-8\n"

static const char pidf[] =
	"<?xml version=\"1.0\"?><presence entity=\"sip:alice@example.com\">"
	"<tuple id=\"t1\"><status><basic>open</basic></status></tuple></presence>";

static void test_publish(void)
{
	struct evr_sip_endpoint *ep = mk(0, 0);
	struct evr_sip_flow f = flow4("192.0.2.1", 5070);

	run(ep, PUBLISH_HDRS, pidf, &f, 1000);
	CHECK(g_st == EVR_SIP_OK);
	CHECK(g_out.raise);
	check_reply(200, "OK", NULL, 0);
	/* sent-by is the source address and no rport: no received=, reply
	 * to the sent-by port */
	CHECK(g_resp.via[0].received.p == NULL && !g_resp.via[0].rport);
	CHECK_EQ_STR(top_via_text(), "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub1");
	CHECK_EQ_INT(g_out.reply_family, 4);
	CHECK(memcmp(g_out.reply_addr, f.src, 4) == 0);
	CHECK_EQ_INT(g_out.reply_port, 5070);
	/* RFC 3903: SIP-ETag and Expires lowered to the configured maximum */
	CHECK(hdr(&g_resp, "SIP-ETag") != NULL && strlen(hdr(&g_resp, "SIP-ETag")) == 16);
	CHECK_EQ_STR(hdr(&g_resp, "Expires"), "3600");

	/* the event */
	CHECK_EQ_STR(g_s.ev.name.p, "presence");
	CHECK_EQ_INT(g_s.ev.body.len, 0);
	CHECK_EQ_STR(attr("method"), "PUBLISH");
	CHECK_EQ_STR(attr("request_uri"), "sip:alice@example.com");
	CHECK_EQ_STR(attr("ruri_user"), "alice");
	CHECK_EQ_STR(attr("from_uri"), "sip:alice@example.com");
	CHECK_EQ_STR(attr("from_user"), "alice");
	CHECK_EQ_STR(attr("from_host"), "example.com");
	CHECK_EQ_STR(attr("from_display"), "Alice");
	CHECK_EQ_STR(attr("from_tag"), "a1");
	CHECK_EQ_STR(attr("to_uri"), "sip:alice@example.com");
	CHECK_EQ_STR(attr("to_user"), "alice");
	CHECK_EQ_STR(attr("to_host"), "example.com");
	CHECK_EQ_STR(attr("to_tag"), "");
	CHECK_EQ_STR(attr("call_id"), "pub-1@192.0.2.1");
	CHECK_EQ_STR(attr("cseq"), "7");
	CHECK(evr_event_find(&g_s.ev, "cseq", 4)->value.flags == EVR_STR_LITERAL);
	CHECK_EQ_STR(attr("content_type"), "application/pidf+xml");
	CHECK_EQ_STR(attr("network_ip"), "192.0.2.1");
	CHECK_EQ_STR(attr("network_port"), "5070");
	CHECK_EQ_STR(attr("body"), pidf);
	/* headers by canonical name; CSeq and Content-Length are not repeated */
	CHECK_EQ_STR(attr("Via"), "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub1");
	CHECK_EQ_STR(attr("Max-Forwards"), "70");
	CHECK_EQ_STR(attr("From"), "\"Alice\" <sip:alice@example.com>;tag=a1");
	CHECK_EQ_STR(attr("Event"), "presence");
	CHECK_EQ_STR(attr("Expires"), "7200");
	CHECK_EQ_STR(attr("Content-Type"), "application/pidf+xml;charset=utf-8");
	CHECK(evr_event_find(&g_s.ev, "Content-Length", 14) == NULL);
	CHECK_EQ_INT(g_s.ev.n_attrs, 18 + 8);
	/* names are unique case-insensitively: the first match is the only one */
	for (uint32_t i = 0; i < g_s.ev.n_attrs; i++)
		CHECK(evr_event_find(&g_s.ev, g_s.ev.attrs[i].name.p, g_s.ev.attrs[i].name.len) ==
		      &g_s.ev.attrs[i]);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_publish), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_replies_2xx), 1);

	/* a shorter Expires is kept; 0 (removal) too */
	run(ep, "PUBLISH sip:alice@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub2\n"
	        "From: <sip:alice@example.com>;tag=a1\n"
	        "To: <sip:alice@example.com>\n"
	        "Call-ID: pub-1@192.0.2.1\n"
	        "CSeq: 8 PUBLISH\n"
	        "Event: presence\n"
	        "SIP-If-Match: abc\n"
	        "Expires: 60\n", NULL, &f, 1000);
	CHECK(g_out.raise);
	check_reply(200, "OK", NULL, 0);
	CHECK_EQ_STR(hdr(&g_resp, "Expires"), "60");
	CHECK_EQ_STR(attr("body"), "");
	CHECK_EQ_STR(attr("SIP-If-Match"), "abc");
	run(ep, "PUBLISH sip:alice@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub3\n"
	        "From: <sip:alice@example.com>;tag=a1\n"
	        "To: <sip:alice@example.com>\n"
	        "Call-ID: pub-1@192.0.2.1\n"
	        "CSeq: 9 PUBLISH\n"
	        "Event: presence\n"
	        "SIP-If-Match: abc\n"
	        "Expires: 0\n", NULL, &f, 1000);
	check_reply(200, "OK", NULL, 0);
	CHECK_EQ_STR(hdr(&g_resp, "Expires"), "0");
	/* no Expires: the configured maximum */
	run(ep, "PUBLISH sip:alice@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub4\n"
	        "From: <sip:alice@example.com>;tag=a1\n"
	        "To: <sip:alice@example.com>\n"
	        "Call-ID: pub-1@192.0.2.1\n"
	        "CSeq: 10 PUBLISH\n"
	        "Event: presence\n", "x", &f, 1000);
	check_reply(200, "OK", NULL, 0);
	CHECK_EQ_STR(hdr(&g_resp, "Expires"), "3600");

	/* neither body nor SIP-If-Match: 400 (RFC 3903 6 step 4) */
	run(ep, "PUBLISH sip:alice@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKpub5\n"
	        "From: <sip:alice@example.com>;tag=a1\n"
	        "To: <sip:alice@example.com>\n"
	        "Call-ID: pub-1@192.0.2.1\n"
	        "CSeq: 11 PUBLISH\n"
	        "Event: presence\n", NULL, &f, 1000);
	CHECK(!g_out.raise);
	check_reply(400, "Missing Body", NULL, 0);
	CHECK(hdr(&g_resp, "SIP-ETag") == NULL);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_publish), 4);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_bad_request), 1);
	evr_sip_endpoint_destroy(ep);
}

/* RFC 3581 / RFC 3261 18.2.1 on the top Via, and the other Vias untouched. */
static void test_via(void)
{
	struct evr_sip_endpoint *ep = mk(0, 0);
	struct evr_sip_flow f = flow4("198.51.100.7", 40123);

	/* rport asked, hostname sent-by: received + rport (RFC 3581 order),
	 * three Vias over two headers (one comma list, one compact form) */
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP pc33.example.com;rport;branch=z9hG4bK776,\n"
	        " SIP/2.0/UDP proxy.example.com:5080;branch=z9hG4bKp2;received=10.1.1.1\n"
	        "v: SIP/2.0/TCP edge.example.com;branch=z9hG4bKp3\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: sip:bob@example.com\n"
	        "Call-ID: via-1\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	CHECK(g_out.raise);
	check_reply(200, "OK", "198.51.100.7", 40123);
	CHECK_EQ_STR(top_via_text(), "SIP/2.0/UDP pc33.example.com;received=198.51.100.7;"
	                             "rport=40123;branch=z9hG4bK776, SIP/2.0/UDP "
	                             "proxy.example.com:5080;branch=z9hG4bKp2;received=10.1.1.1");
	CHECK_EQ_INT(count_hdr(&g_resp, "Via"), 2);
	CHECK_EQ_INT(g_resp.via_total, 3);
	CHECK_EQ_INT(g_out.reply_port, 40123); /* rport: the source port */
	/* addr-spec To: the tag is a header parameter */
	CHECK_EQ_INT(g_resp.to.tag.len, 16);
	CHECK(vstr(g_resp.to.uri_str, "sip:bob@example.com"));
	/* the event keeps both Via headers joined, unfolded */
	CHECK_EQ_STR(attr("Via"), "SIP/2.0/UDP pc33.example.com;rport;branch=z9hG4bK776, "
	                          "SIP/2.0/UDP proxy.example.com:5080;branch=z9hG4bKp2;"
	                          "received=10.1.1.1, SIP/2.0/TCP edge.example.com;branch=z9hG4bKp3");

	/* no rport, sent-by another IP: received only, reply to sent-by port */
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKnat\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-2\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", "198.51.100.7", 0);
	CHECK_EQ_STR(top_via_text(), "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKnat;received=198.51.100.7");
	CHECK_EQ_INT(g_out.reply_port, 5062);

	/* no port in sent-by: 5060; an old received= is replaced in place;
	 * rport with a value is overwritten */
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP host.example.com ; received=1.2.3.4 ;branch=z9hG4bKold ; rport=9\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-3\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", "198.51.100.7", 40123);
	CHECK_EQ_STR(top_via_text(), "SIP/2.0/UDP host.example.com ;received=198.51.100.7;"
	                             "branch=z9hG4bKold;rport=40123");
	CHECK_EQ_INT(g_out.reply_port, 40123);
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKnp\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-4\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", "198.51.100.7", 0);
	CHECK_EQ_INT(g_out.reply_port, 5060);

	/* sent-by equal to the source but rport asked: received anyway
	 * (RFC 3581 4) */
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKeq;rport\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-5\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", "198.51.100.7", 40123);
	CHECK_EQ_STR(top_via_text(), "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKeq;"
	                             "received=198.51.100.7;rport=40123");

	/* IPv6: bracketed sent-by equal to the source (other spelling) */
	f = flow6("2001:db8::1", 5060);
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP [2001:DB8:0::1]:5060;branch=z9hG4bK6a\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-6\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", NULL, 0);
	CHECK(g_resp.via[0].received.p == NULL);
	CHECK_EQ_INT(g_out.reply_family, 6);
	CHECK(memcmp(g_out.reply_addr, f.src, 16) == 0);
	CHECK_EQ_STR(attr("network_ip"), "2001:db8::1");
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP [2001:db8::99];rport;branch=z9hG4bK6b\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-7\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", "2001:db8::1", 5060);
	/* an IPv4 sent-by from an IPv6 source is another address */
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK6c\n"
	        "From: <sip:alice@example.com>;tag=x\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: via-8\n"
	        "CSeq: 1 MESSAGE\n", "hi", &f, 1000);
	check_reply(200, "OK", "2001:db8::1", 0);
	evr_sip_endpoint_destroy(ep);
}

static void test_notify_message(void)
{
	struct evr_sip_endpoint *ep = mk(0, 0);
	struct evr_sip_flow f = flow4("192.0.2.1", 5060);

	/* compact Event ("o"), params dropped from the name, kept in the
	 * header attribute; in-dialog To tag is kept */
	run(ep, "NOTIFY sip:watcher@192.0.2.254 SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKn1\n"
	        "From: <sip:bob@example.com>;tag=n1\n"
	        "To: <sip:watcher@example.com>;tag=w1\n"
	        "Call-ID: sub-1\n"
	        "CSeq: 2 NOTIFY\n"
	        "o: dialog;id=42\n"
	        "Subscription-State: active;expires=3600\n"
	        "X-Custom: one\n"
	        "x-custom: two\n"
	        "Content-Type: application/dialog-info+xml\n", "<dialog-info/>", &f, 1000);
	CHECK(g_out.raise);
	check_reply(200, "OK", NULL, 0);
	CHECK(vstr(g_resp.to.tag, "w1"));
	CHECK_EQ_STR(g_s.ev.name.p, "dialog");
	CHECK_EQ_STR(attr("Event"), "dialog;id=42");
	CHECK_EQ_STR(attr("Subscription-State"), "active;expires=3600");
	CHECK_EQ_STR(attr("X-Custom"), "one, two");
	CHECK_EQ_STR(attr("to_tag"), "w1");
	CHECK_EQ_STR(attr("body"), "<dialog-info/>");
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_notify), 1);

	/* message-summary (MWI), with a folded header */
	run(ep, "NOTIFY sip:1000@192.0.2.254 SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKn2\n"
	        "From: <sip:vm@example.com>;tag=v\n"
	        "To: <sip:1000@example.com>\n"
	        "Call-ID: mwi-1\n"
	        "CSeq: 1 NOTIFY\n"
	        "Event: message-summary\n"
	        "Subject: you have\n"
	        " mail\n", "Messages-Waiting: yes\r\n", &f, 1000);
	CHECK(g_out.raise);
	check_reply(200, "OK", NULL, 0);
	CHECK_EQ_STR(g_s.ev.name.p, "message-summary");
	CHECK_EQ_STR(attr("Subject"), "you have mail");

	/* MESSAGE: named MESSAGE, no Event needed */
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKm1\n"
	        "From: \"Al\" <sip:alice@example.com>;tag=m\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: msg-1\n"
	        "CSeq: 1 MESSAGE\n"
	        "c: text/plain\n", "Watson, come here.", &f, 1000);
	CHECK(g_out.raise);
	check_reply(200, "OK", NULL, 0);
	CHECK(hdr(&g_resp, "SIP-ETag") == NULL && hdr(&g_resp, "Expires") == NULL);
	CHECK_EQ_STR(g_s.ev.name.p, "MESSAGE");
	CHECK_EQ_STR(attr("content_type"), "text/plain");
	CHECK_EQ_STR(attr("Content-Type"), "text/plain");
	CHECK_EQ_STR(attr("body"), "Watson, come here.");
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_message), 1);

	/* tel: Request-URI and From */
	run(ep, "MESSAGE tel:+15551234 SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKm2\n"
	        "From: <tel:+15550000>;tag=m\n"
	        "To: <tel:+15551234>\n"
	        "Call-ID: msg-2\n"
	        "CSeq: 1 MESSAGE\n", "x", &f, 1000);
	CHECK(g_out.raise);
	CHECK_EQ_STR(attr("ruri_user"), "+15551234");
	CHECK_EQ_STR(attr("from_user"), "+15550000");
	CHECK_EQ_STR(attr("from_host"), "");

	/* no / empty / malformed Event: 489 with Allow-Events, no event */
	{
		static const char *const ev_hdrs[] = { "", "Event: ;id=1\n", "Event: pres ence\n" };
		static const char *const methods[] = { "PUBLISH", "NOTIFY" };
		char buf[1024];

		for (size_t m = 0; m < ARRAY_SIZE(methods); m++) {
			for (size_t i = 0; i < ARRAY_SIZE(ev_hdrs); i++) {
				snprintf(buf, sizeof(buf),
				         "%s sip:x@example.com SIP/2.0\n"
				         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKe%zu%zu\n"
				         "From: <sip:a@example.com>;tag=1\n"
				         "To: <sip:x@example.com>\n"
				         "Call-ID: ev-%zu\n"
				         "CSeq: 1 %s\n%s",
				         methods[m], m, i, i, methods[m], ev_hdrs[i]);
				run(ep, buf, "body", &f, 1000);
				CHECK(!g_out.raise);
				check_reply(489, "Bad Event", NULL, 0);
				CHECK_EQ_STR(hdr(&g_resp, "Allow-Events"),
				             "presence, dialog, message-summary, reg, refer");
			}
		}
		CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_bad_event), 6);
	}
	evr_sip_endpoint_destroy(ep);
}

static void test_other_methods(void)
{
	struct evr_sip_endpoint *ep = mk(0, 0);
	struct evr_sip_flow f = flow4("192.0.2.1", 5060);
	static const char *const methods[] = { "INVITE", "REGISTER", "SUBSCRIBE", "BYE",
	                                       "INFO", "REFER", "UPDATE", "FOO" };
	char buf[1024];

	/* OPTIONS: 200 with Allow/Accept, no event, also at Max-Forwards 0 */
	run(ep, "OPTIONS sip:evr@192.0.2.254 SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKo1\n"
	        "Max-Forwards: 0\n"
	        "From: <sip:ping@example.com>;tag=p\n"
	        "To: <sip:evr@192.0.2.254>\n"
	        "Call-ID: opt-1\n"
	        "CSeq: 1 OPTIONS\n", NULL, &f, 1000);
	CHECK(!g_out.raise);
	check_reply(200, "OK", NULL, 0);
	CHECK_EQ_STR(hdr(&g_resp, "Allow"), "PUBLISH, NOTIFY, MESSAGE, OPTIONS, CANCEL");
	CHECK_EQ_STR(hdr(&g_resp, "Accept"), "*/*");
	CHECK(hdr(&g_resp, "Allow-Events") != NULL);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_options), 1);

	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		snprintf(buf, sizeof(buf),
		         "%s sip:x@example.com SIP/2.0\n"
		         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK405-%zu\n"
		         "From: <sip:a@example.com>;tag=1\n"
		         "To: <sip:x@example.com>\n"
		         "Call-ID: m-%zu\n"
		         "Contact: <sip:a@192.0.2.1>\n"
		         "Event: presence\n"
		         "CSeq: 1 %s\n",
		         methods[i], i, i, methods[i]);
		run(ep, buf, NULL, &f, 1000);
		CHECK(!g_out.raise);
		check_reply(405, "Method Not Allowed", NULL, 0);
		CHECK_EQ_STR(hdr(&g_resp, "Allow"), "PUBLISH, NOTIFY, MESSAGE, OPTIONS, CANCEL");
	}
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_method_not_allowed), ARRAY_SIZE(methods));

	/* ACK: never answered */
	run(ep, "ACK sip:x@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK405-0\n"
	        "From: <sip:a@example.com>;tag=1\n"
	        "To: <sip:x@example.com>;tag=t\n"
	        "Call-ID: m-0\n"
	        "CSeq: 1 ACK\n", NULL, &f, 1000);
	CHECK(!g_out.raise && !g_out.reply && g_out.code == 0);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_ack_ignored), 1);

	/* 416: not sip/sips/tel; 420: Require */
	run(ep, "MESSAGE mailto:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKu1\n"
	        "From: <sip:a@example.com>;tag=1\n"
	        "To: <mailto:bob@example.com>\n"
	        "Call-ID: u-1\n"
	        "CSeq: 1 MESSAGE\n", "x", &f, 1000);
	CHECK(!g_out.raise);
	check_reply(416, "Unsupported URI Scheme", NULL, 0);
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1\n"
	        "From: <sip:a@example.com>;tag=1\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: r-1\n"
	        "Require: 100rel, foo\n"
	        "CSeq: 1 MESSAGE\n", "x", &f, 1000);
	CHECK(!g_out.raise);
	check_reply(420, "Bad Extension", NULL, 0);
	CHECK_EQ_STR(hdr(&g_resp, "Unsupported"), "100rel, foo");
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_unsupported_uri), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_bad_extension), 1);
	evr_sip_endpoint_destroy(ep);
}

#define MSG_FMT                                                                \
	"%s sip:bob@example.com SIP/2.0\n"                                     \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK%s\n"                   \
	"From: <sip:alice@example.com>;tag=%s\n"                               \
	"To: <sip:bob@example.com>\n"                                          \
	"Call-ID: %s\n"                                                        \
	"CSeq: %u %s\n"

static void msg(char *buf, size_t n, const char *branch, const char *ftag,
                const char *callid, unsigned cseq, const char *method)
{
	snprintf(buf, n, MSG_FMT, method, branch, ftag, callid, cseq, method);
}

static void test_retransmission(void)
{
	struct evr_sip_endpoint *ep = mk(0, 32000), *ep2 = mk(0, 0);
	struct evr_sip_flow f = flow4("192.0.2.1", 5060);
	char buf[1024], first[2048], tag[17];
	uint32_t first_len;

	msg(buf, sizeof(buf), "rt1", "ft", "rt-call", 5, "MESSAGE");
	run(ep, buf, "hello", &f, 10000);
	CHECK(g_out.raise);
	check_reply(200, "OK", NULL, 0);
	memcpy(first, g_reply, g_out.reply_len);
	first_len = g_out.reply_len;
	snprintf(tag, sizeof(tag), "%.*s", (int)g_resp.to.tag.len, g_resp.to.tag.p);

	/* retransmissions within the window: same bytes, no event */
	for (uint64_t t = 10000; t < 10000 + 32000; t += 8000) {
		run(ep, buf, "hello", &f, t);
		CHECK(!g_out.raise);
		CHECK(g_out.reply && g_out.code == 200);
		CHECK(g_out.reply_len == first_len && memcmp(g_reply, first, first_len) == 0);
	}
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_retrans_absorbed), 4);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_message), 1);

	/* the To tag is a function of Call-ID + From tag only: another
	 * instance, another CSeq or branch give the same one */
	msg(buf, sizeof(buf), "rt2", "ft", "rt-call", 6, "MESSAGE");
	run(ep2, buf, "hello", &f, 0);
	check_reply(200, "OK", NULL, 0);
	CHECK(vstr(g_resp.to.tag, tag));
	msg(buf, sizeof(buf), "rt3", "other", "rt-call", 6, "MESSAGE");
	run(ep2, buf, "hello", &f, 0);
	CHECK(g_resp.to.tag.len == 16 && !vstr(g_resp.to.tag, tag));
	msg(buf, sizeof(buf), "rt4", "ft", "rt-other", 6, "MESSAGE");
	run(ep2, buf, "hello", &f, 0);
	CHECK(g_resp.to.tag.len == 16 && !vstr(g_resp.to.tag, tag));

	/* a new transaction (CSeq, branch) is a new event */
	msg(buf, sizeof(buf), "rt5", "ft", "rt-call", 7, "MESSAGE");
	run(ep, buf, "hello", &f, 12000);
	CHECK(g_out.raise);

	/* CANCEL of the MESSAGE (same Call-ID, CSeq number, top Via): 200;
	 * a CANCEL matching nothing: 481 */
	msg(buf, sizeof(buf), "rt1", "ft", "rt-call", 5, "CANCEL");
	run(ep, buf, NULL, &f, 20000);
	CHECK(!g_out.raise);
	check_reply(200, "OK", NULL, 0);
	msg(buf, sizeof(buf), "rt9", "ft", "rt-call", 5, "CANCEL");
	run(ep, buf, NULL, &f, 20000);
	check_reply(481, "Call/Transaction Does Not Exist", NULL, 0);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_cancel_matched), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_cancel_unmatched), 1);

	/* the window ends dedup_ms after the first: it raises again, and a
	 * late CANCEL no longer matches */
	msg(buf, sizeof(buf), "rt1", "ft", "rt-call", 5, "MESSAGE");
	run(ep, buf, "hello", &f, 10000 + 32000);
	CHECK(g_out.raise);
	CHECK(g_out.reply_len == first_len && memcmp(g_reply, first, first_len) == 0);
	msg(buf, sizeof(buf), "rt5", "ft", "rt-call", 7, "CANCEL");
	run(ep, buf, NULL, &f, 12000 + 32000);
	CHECK_EQ_INT(g_out.code, 481);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_message), 3);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_dedup_evicted), 0);

	/* same transaction identifiers, another method (a PUBLISH reusing a
	 * MESSAGE's): not a retransmission */
	run(ep, "PUBLISH sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKrt1\n"
	        "From: <sip:alice@example.com>;tag=ft\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: rt-call\n"
	        "Event: presence\n"
	        "CSeq: 5 PUBLISH\n", "x", &f, 42001);
	CHECK(g_out.raise);
	evr_sip_endpoint_destroy(ep);
	evr_sip_endpoint_destroy(ep2);
}

static void test_eviction(void)
{
	struct evr_sip_endpoint *ep = mk(8, 32000); /* one bucket of 8 */
	struct evr_sip_flow f = flow4("192.0.2.1", 5060);
	char buf[1024], id[32];

	for (unsigned i = 0; i < 9; i++) {
		snprintf(id, sizeof(id), "ev-%u", i);
		msg(buf, sizeof(buf), id, "t", id, 1, "MESSAGE");
		run(ep, buf, "x", &f, 1000 + i);
		CHECK(g_out.raise);
	}
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_dedup_evicted), 1);
	/* the oldest went: its retransmission raises again (evicting the
	 * next oldest); the newest is still absorbed */
	msg(buf, sizeof(buf), "ev-8", "t", "ev-8", 1, "MESSAGE");
	run(ep, buf, "x", &f, 2000);
	CHECK(!g_out.raise);
	msg(buf, sizeof(buf), "ev-0", "t", "ev-0", 1, "MESSAGE");
	run(ep, buf, "x", &f, 2000);
	CHECK(g_out.raise);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_dedup_evicted), 2);
	/* expired entries are reused without counting an eviction */
	for (unsigned i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "late-%u", i);
		msg(buf, sizeof(buf), id, "t", id, 1, "MESSAGE");
		run(ep, buf, "x", &f, 100000);
		CHECK(g_out.raise);
	}
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_dedup_evicted), 2);
	evr_sip_endpoint_destroy(ep);
}

static void test_limits(void)
{
	struct evr_sip_endpoint *ep = mk(0, 0);
	struct evr_sip_flow f = flow4("192.0.2.1", 5060);
	struct evr_scratch saved = g_s, small;
	struct evr_limits l;
	static char body[5000];
	char buf[4096];

	/* a body over max_value_len (4096) */
	memset(body, 'b', 4097);
	body[4097] = '\0';
	msg(buf, sizeof(buf), "big1", "t", "big-1", 1, "MESSAGE");
	run(ep, buf, body, &f, 1000);
	CHECK(!g_out.raise);
	check_reply(413, "Request Entity Too Large", NULL, 0);
	body[4096] = '\0';
	run(ep, buf, body, &f, 1000);
	CHECK(g_out.raise); /* exactly the limit: fine; 413 made no entry */
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_too_large), 1);

	/* more attributes than max_attrs, a header name over max_name_len */
	evr_limits_default(&l);
	l.max_attrs = 20;
	l.max_name_len = 12;
	CHECK(evr_scratch_init(&small, &l) == 0);
	g_s = small;
	msg(buf, sizeof(buf), "big2", "t", "big-2", 1, "MESSAGE");
	run(ep, buf, "x", &f, 1000); /* 18 + Via, From, To, Call-ID = 22 */
	check_reply(413, NULL, NULL, 0);
	l.max_attrs = 64;
	evr_scratch_fini(&small);
	CHECK(evr_scratch_init(&small, &l) == 0);
	g_s = small;
	run(ep, buf, "x", &f, 1000);
	CHECK(g_out.raise);
	run(ep, "MESSAGE sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbig3\n"
	        "From: <sip:a@example.com>;tag=1\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: big-3\n"
	        "X-A-Very-Long-Header-Name: 1\n"
	        "CSeq: 1 MESSAGE\n", "x", &f, 1000);
	check_reply(413, NULL, NULL, 0);
	/* an event name over max_name_len */
	run(ep, "NOTIFY sip:bob@example.com SIP/2.0\n"
	        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbig4\n"
	        "From: <sip:a@example.com>;tag=1\n"
	        "To: <sip:bob@example.com>\n"
	        "Call-ID: big-4\n"
	        "Event: conference-event-package\n"
	        "CSeq: 1 NOTIFY\n", "x", &f, 1000);
	check_reply(413, NULL, NULL, 0);
	evr_scratch_fini(&small);
	g_s = saved;

	/* a reply that does not fit: not sent, counted; the event is still
	 * raised (the sender's retransmission gets absorbed) */
	msg(buf, sizeof(buf), "small", "t", "small-1", 1, "MESSAGE");
	run_cap(ep, buf, "x", &f, 1000, 100);
	CHECK(g_out.raise && !g_out.reply && g_out.code == 200);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_reply_overflow), 1);
	evr_sip_endpoint_destroy(ep);
}

static void test_bad_requests(void)
{
	struct evr_sip_endpoint *ep = mk(0, 0);
	struct evr_sip_flow f = flow4("192.0.2.1", 5060);
	static const struct {
		const char *wire;
		unsigned code;
		const char *reason;
	} cases[] = {
		{ "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCSeq: 1 MESSAGE\n",
		  400, "Missing Call-ID" },
		{ "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "To: <sip:b@example.com>\nCall-ID: c\nCSeq: 1 MESSAGE\n",
		  400, "Missing From" },
		{ "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nCall-ID: c\nCSeq: 1 MESSAGE\n",
		  400, "Missing To" },
		{ "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\n",
		  400, "Missing CSeq" },
		{ "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\n"
		  "CSeq: 1 NOTIFY\n",
		  400, "CSeq Method Mismatch" },
		{ "MESSAGE sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\n"
		  "Call-ID: d\nCSeq: 1 MESSAGE\n",
		  400, "Duplicate Header" },
		{ "MESSAGE sip:b@example.com SIP/7.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\n"
		  "CSeq: 1 MESSAGE\n",
		  505, "Version Not Supported" },
		/* a semantic error in an ACK: still never answered */
		{ "ACK sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCSeq: 1 ACK\n",
		  0, NULL },
		/* no Via: nowhere to send a reply */
		{ "MESSAGE sip:b@example.com SIP/2.0\n"
		  "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>\nCall-ID: c\n"
		  "CSeq: 1 MESSAGE\n",
		  0, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		run(ep, cases[i].wire, NULL, &f, 1000);
		CHECK(evr_sip_status_msg_complete(g_st) && g_st != EVR_SIP_OK);
		CHECK(!g_out.raise);
		if (cases[i].code) {
			check_reply(cases[i].code, cases[i].reason, "192.0.2.1", 0);
		} else {
			CHECK(!g_out.reply);
		}
	}
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_bad_request), 6);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_bad_version), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_replies_5xx), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_ack_ignored), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_no_via), 1);

	/* Content-Length past the datagram: 400 (RFC 3261 18.3) */
	{
		static const char w[] =
			"MESSAGE sip:b@example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP h;rport;branch=z9hG4bK1\r\n"
			"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n"
			"Call-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 50\r\n\r\nshort";

		run_raw(ep, w, sizeof(w) - 1, &f, 1000);
		CHECK(g_st == EVR_SIP_CONTENT_LENGTH_MISMATCH);
		check_reply(400, "Content-Length Mismatch", "192.0.2.1", 5060);
	}

	/* dropped without reply: garbage, keep-alive, responses */
	run_raw(ep, "hello world\r\n\r\n", 15, &f, 1000);
	CHECK(!g_out.reply && !g_out.raise);
	run_raw(ep, "\r\n\r\n", 4, &f, 1000);
	CHECK(!g_out.reply && !g_out.raise);
	run(ep, "SIP/2.0 200 OK\n"
	        "Via: SIP/2.0/UDP 192.0.2.254;branch=z9hG4bKx\n"
	        "From: <sip:a@example.com>;tag=1\nTo: <sip:b@example.com>;tag=2\n"
	        "Call-ID: c\nCSeq: 1 OPTIONS\n", NULL, &f, 1000);
	CHECK(g_st == EVR_SIP_OK && !g_out.reply && !g_out.raise);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_unparsable), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_keepalive_ignored), 1);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_responses_ignored), 1);
	evr_sip_endpoint_destroy(ep);
}

static void test_api(void)
{
	struct evr_sip_endpoint_conf c;

	for (unsigned i = 0; i < EVR_SIP_ENDPOINT__COUNT; i++) {
		CHECK(evr_sip_endpoint_counter_name(i) != NULL && evr_sip_endpoint_counter_help(i) != NULL);
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(evr_sip_endpoint_counter_name(i), evr_sip_endpoint_counter_name(j)) != 0);
	}
	CHECK(evr_sip_endpoint_counter_name(EVR_SIP_ENDPOINT__COUNT) == NULL);
	CHECK(evr_sip_endpoint_counter_help(EVR_SIP_ENDPOINT__COUNT) == NULL);
	CHECK_EQ_STR(evr_sip_endpoint_counter_name(EVR_SIP_ENDPOINT_C_retrans_absorbed), "retrans_absorbed");

	evr_sip_endpoint_conf_default(&c);
	CHECK_EQ_INT(c.dedup_entries, 4096);
	CHECK_EQ_INT(c.dedup_ms, 32000);
	CHECK_EQ_STR(c.server, "evrouter");
	CHECK_EQ_INT(c.publish_expires, 3600);
	CHECK(evr_sip_endpoint_create(NULL) == NULL && errno == EINVAL);
	c.dedup_entries = 7;
	CHECK(evr_sip_endpoint_create(&c) == NULL && errno == EINVAL);
	evr_sip_endpoint_conf_default(&c);
	c.dedup_ms = 0;
	CHECK(evr_sip_endpoint_create(&c) == NULL && errno == EINVAL);
	evr_sip_endpoint_conf_default(&c);
	c.server = "evil\r\nX-Injected: 1";
	CHECK(evr_sip_endpoint_create(&c) == NULL && errno == EINVAL);
	c.server = "";
	CHECK(evr_sip_endpoint_create(&c) == NULL && errno == EINVAL);
	evr_sip_endpoint_conf_default(&c);
	c.allow_events = NULL;
	CHECK(evr_sip_endpoint_create(&c) == NULL && errno == EINVAL);
	evr_sip_endpoint_destroy(NULL);
}

/* A spoofed OPTIONS flood from one source: answered at most
 * rate_requests times per window, the rest dropped unanswered and
 * counted; other sources unaffected; the next window answers again. */
static void test_rate_limit(void)
{
	struct evr_sip_endpoint_conf c;
	struct evr_sip_endpoint *ep;
	struct evr_sip_flow victim = flow4("198.18.9.9", 5060), other = flow4("198.18.9.10", 5060);
	struct evr_sip_flow v6 = flow6("2001:db8::9", 5060);
	char buf[512];
	unsigned replies = 0;

	evr_sip_endpoint_conf_default(&c);
	CHECK_EQ_INT(c.rate_requests, 30);
	CHECK_EQ_INT(c.rate_window_ms, 2000);
	c.rate_requests = 5;
	c.rate_window_ms = 1000;
	c.rate_sources = 8;
	ep = evr_sip_endpoint_create(&c);
	CHECK(ep != NULL);
	if (!ep)
		return;
	for (int i = 0; i < 200; i++) {
		snprintf(buf, sizeof(buf),
		         "OPTIONS sip:evr@198.18.0.1 SIP/2.0\n"
		         "Via: SIP/2.0/UDP 198.18.9.9:5060;branch=z9hG4bKflood%d\n"
		         "From: <sip:x@example.com>;tag=f%d\n"
		         "To: <sip:evr@198.18.0.1>\n"
		         "Call-ID: flood-%d\n"
		         "CSeq: 1 OPTIONS\n", i, i, i);
		run(ep, buf, NULL, &victim, 10000 + (uint64_t)i);
		replies += g_out.reply;
	}
	CHECK_EQ_INT(replies, 5);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_rate_limited), 195);
	CHECK_EQ_INT(ctr(ep, EVR_SIP_ENDPOINT_C_options), 5);
	/* another source (IPv4 and IPv6) is answered meanwhile */
	run(ep, "OPTIONS sip:evr@198.18.0.1 SIP/2.0\nVia: SIP/2.0/UDP 198.18.9.10;branch=z9hG4bKo2\n"
	        "From: <sip:y@example.com>;tag=y\nTo: <sip:evr@198.18.0.1>\nCall-ID: o2\n"
	        "CSeq: 1 OPTIONS\n", NULL, &other, 10300);
	CHECK(g_out.reply);
	run(ep, "OPTIONS sip:evr@198.18.0.1 SIP/2.0\nVia: SIP/2.0/UDP [2001:db8::9];branch=z9hG4bKo3\n"
	        "From: <sip:y@example.com>;tag=y\nTo: <sip:evr@198.18.0.1>\nCall-ID: o3\n"
	        "CSeq: 1 OPTIONS\n", NULL, &v6, 10300);
	CHECK(g_out.reply);
	/* the next window answers the first source again */
	run(ep, "OPTIONS sip:evr@198.18.0.1 SIP/2.0\nVia: SIP/2.0/UDP 198.18.9.9;branch=z9hG4bKo4\n"
	        "From: <sip:y@example.com>;tag=y\nTo: <sip:evr@198.18.0.1>\nCall-ID: o4\n"
	        "CSeq: 1 OPTIONS\n", NULL, &victim, 11100);
	CHECK(g_out.reply);
	/* memory is bounded: 100 spoofed sources in an 8-slot table evict */
	for (int i = 0; i < 100; i++) {
		char ip[32];
		struct evr_sip_flow f;

		snprintf(ip, sizeof(ip), "198.18.%d.%d", 100 + i / 200, 1 + i % 200);
		f = flow4(ip, 5060);
		run(ep, "OPTIONS sip:evr@198.18.0.1 SIP/2.0\nVia: SIP/2.0/UDP 198.18.100.1;branch=z9hG4bKs\n"
		        "From: <sip:y@example.com>;tag=y\nTo: <sip:evr@198.18.0.1>\nCall-ID: s\n"
		        "CSeq: 1 OPTIONS\n", NULL, &f, 11200);
	}
	CHECK(ctr(ep, EVR_SIP_ENDPOINT_C_rate_evicted) >= 90);
	evr_sip_endpoint_destroy(ep);

	/* 0 = off: a flood is answered whole */
	evr_sip_endpoint_conf_default(&c);
	c.rate_requests = 0;
	ep = evr_sip_endpoint_create(&c);
	replies = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(buf, sizeof(buf),
		         "OPTIONS sip:evr@198.18.0.1 SIP/2.0\nVia: SIP/2.0/UDP 198.18.9.9;branch=z9hG4bKn%d\n"
		         "From: <sip:y@example.com>;tag=y\nTo: <sip:evr@198.18.0.1>\nCall-ID: n%d\n"
		         "CSeq: 1 OPTIONS\n", i, i);
		run(ep, buf, NULL, &victim, 20000);
		replies += g_out.reply;
	}
	CHECK_EQ_INT(replies, 50);
	evr_sip_endpoint_destroy(ep);
}

int main(void)
{
	struct evr_limits l;

	evr_limits_default(&l);
	if (evr_scratch_init(&g_s, &l) != 0)
		return 1;
	test_api();
	test_publish();
	test_via();
	test_notify_message();
	test_other_methods();
	test_retransmission();
	test_eviction();
	test_limits();
	test_bad_requests();
	test_rate_limit();
	evr_scratch_fini(&g_s);
	EVR_TEST_DONE();
}
