/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP state -> derived events: table-driven flows of real SIP message text
 * (written with LF, sent with CRLF) through one shard, asserting the exact
 * sequence of events per message or tick and key attribute values; then
 * counters (duplicates, orphans, evictions), limits, families, Unique-ID
 * and the shard hash. Clocks are explicit: now_ms = step time, wall time
 * = 1700000000 s + step time.
 */
#include <errno.h>

#include "codec/evr_encode.h"
#include "sip/evr_sip.h"
#include "sip/state/evr_sip_state.h"
#include "evr_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WALL0_US 1700000000000000ULL
#define LIT_CID "a84b4c76e66710@pc33.atlanta.com"

/* ---- event recorder ---- */

#define REC_MAX 64
#define REC_ATTRS 80

struct rec_ev {
	char key[64]; /* name, or the subclass of a CUSTOM event */
	unsigned n;
	char an[REC_ATTRS][48];
	char av[REC_ATTRS][256];
};

static struct rec_ev g_rec[REC_MAX];
static unsigned g_nrec;
static struct evr_limits g_lim;

static void on_event(void *arg, const struct evr_event *ev)
{
	struct rec_ev *r;

	(void)arg;
	CHECK(ev->name.len > 0 && ev->name.p[ev->name.len] == '\0');
	CHECK(ev->n_attrs <= g_lim.max_attrs);
	if (ev->src_format == EVR_FMT_PLAIN) {
		/* FreeSWITCH events keep Event-Name among their attributes */
		CHECK(ev->n_attrs > 0 && strcmp(ev->attrs[0].name.p, "Event-Name") == 0);
	} else {
		CHECK(ev->src_format == EVR_FMT_JSONRPC);
	}
	if (g_nrec >= REC_MAX) {
		CHECK_MSG(0, "too many events");
		return;
	}
	r = &g_rec[g_nrec++];
	snprintf(r->key, sizeof(r->key), "%s", ev->subclass.len ? ev->subclass.p : ev->name.p);
	r->n = 0;
	for (uint32_t i = 0; i < ev->n_attrs && r->n < REC_ATTRS; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		CHECK(a->name.p[a->name.len] == '\0' && a->value.p[a->value.len] == '\0');
		/* Event-Name/Event-Subclass values are names (max_name_len) */
		CHECK(a->name.len <= g_lim.max_name_len
		      && a->value.len <= (strcmp(a->name.p, "Event-Name") == 0
		                                  || strcmp(a->name.p, "Event-Subclass") == 0
		                              ? g_lim.max_name_len
		                                                               : g_lim.max_value_len));
		snprintf(r->an[r->n], sizeof(r->an[0]), "%s", a->name.p);
		snprintf(r->av[r->n], sizeof(r->av[0]), "%s", a->value.p);
		r->n++;
	}
}

static const char *rec_attr(const struct rec_ev *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->an[i], name) == 0)
			return r->av[i];
	return NULL;
}

/* ---- feeding messages ---- */

static char g_wire[EVR_SIP_MAX_MSG];
static struct evr_sip_msg g_msg;

enum side { UA, SRV, UA2, UA6 }; /* the phone, the server, a second phone, a v6 phone */

static void flow_for(enum side s, struct evr_sip_flow *f, uint64_t t_ms)
{
	static const uint8_t ua[4] = { 10, 0, 0, 5 }, srv[4] = { 10, 0, 0, 1 },
	                     ua2[4] = { 10, 0, 0, 7 };
	memset(f, 0, sizeof(*f));
	f->family = 4;
	memcpy(f->src, s == SRV ? srv : s == UA ? ua : ua2, 4);
	memcpy(f->dst, s == SRV ? ua : srv, 4);
	f->sport = s == SRV ? 5060 : s == UA ? 5062 : 5064;
	f->dport = s == SRV ? 5062 : 5060;
	f->ts_us = WALL0_US + t_ms * 1000u;
	if (s == UA6) {
		static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
		static const uint8_t v6s[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
		f->family = 6;
		f->sport = 5062;
		memcpy(f->src, v6, 16);
		memcpy(f->dst, v6s, 16);
	}
}

/* Parse LF text as CRLF and hand it to the shard; returns events. */
static uint32_t feed(struct evr_sip_state *st, const char *text, enum side s, uint64_t t_ms)
{
	size_t n = 0;
	struct evr_sip_flow f;
	enum evr_sip_status rc;

	for (const char *p = text; *p && n + 2 < sizeof(g_wire); p++) {
		if (*p == '\n')
			g_wire[n++] = '\r';
		g_wire[n++] = *p;
	}
	rc = evr_sip_parse(g_wire, n, &g_msg);
	CHECK_MSG(rc == EVR_SIP_OK, "parse %s:\n%s", evr_sip_status_name(rc), text);
	if (rc != EVR_SIP_OK)
		return 0;
	flow_for(s, &f, t_ms);
	return evr_sip_state_input(st, &g_msg, &f, t_ms, on_event, NULL);
}

/* ---- messages ---- */

#define REG_HDRS(cseq, ctc)                                                    \
	"Via: SIP/2.0/UDP 10.0.0.5:5062;rport;branch=z9hG4bK-r" cseq "\n"      \
	"Max-Forwards: 70\n"                                                   \
	"From: \"Bob\" <sip:bob@example.com>;tag=rf1\n"                        \
	"To: <sip:bob@example.com>\n"                                          \
	"Call-ID: reg-1@10.0.0.5\n"                                            \
	"CSeq: " cseq " REGISTER\n" ctc

#define REG(cseq, ctc, extra)                                                  \
	"REGISTER sip:example.com SIP/2.0\n" REG_HDRS(cseq, ctc) extra         \
	"User-Agent: Phone/1.0\nContent-Length: 0\n\n"
#define REG_RSP(code, cseq, ctc, extra)                                        \
	"SIP/2.0 " code "\n" REG_HDRS(cseq, ctc) extra "Content-Length: 0\n\n"

#define CT1 "Contact: <sip:bob@10.0.0.5:5062>"
#define CT2 "Contact: \"Bob2\" <sip:bob@10.0.0.6:5070>"
#define AUTHZ "Authorization: Digest username=\"bob\", realm=\"example.com\", nonce=\"n\", uri=\"sip:example.com\", response=\"00\"\n"

#define INV_HDRS(via, cseq, method, totag)                                     \
	"Via: SIP/2.0/UDP " via ";branch=z9hG4bK-i" cseq "\n"                  \
	"Max-Forwards: 70\n"                                                   \
	"From: \"Alice\" <sip:1000@example.com>;tag=c1\n"                      \
	"To: <sip:2000@example.com>" totag "\n"                                \
	"Call-ID: call-1@10.0.0.5\n"                                           \
	"CSeq: " cseq " " method "\n"

#define SDP "v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
#define SDP_LEN "85"

#define INV(cseq, totag)                                                       \
	"INVITE sip:2000@example.com SIP/2.0\n"                                \
	INV_HDRS("10.0.0.5:5062", cseq, "INVITE", totag)                       \
	"Contact: <sip:1000@10.0.0.5:5062>\nContent-Type: application/sdp\n"  \
	"Content-Length: " SDP_LEN "\n\n" SDP
/* the same INVITE forwarded by a proxy: another Via branch on top */
#define INV_PROXIED(cseq)                                                      \
	"INVITE sip:2000@10.0.0.9 SIP/2.0\n"                                   \
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-proxy" cseq "\n"        \
	INV_HDRS("10.0.0.5:5062", cseq, "INVITE", "")                          \
	"Contact: <sip:1000@10.0.0.5:5062>\nContent-Type: application/sdp\n"  \
	"Content-Length: " SDP_LEN "\n\n" SDP
#define RSP(code, cseq, method, totag, extra)                                  \
	"SIP/2.0 " code "\n" INV_HDRS("10.0.0.5:5062", cseq, method, totag)   \
	extra "Content-Length: 0\n\n"
#define RSP_SDP(code, cseq, totag)                                             \
	"SIP/2.0 " code "\n" INV_HDRS("10.0.0.5:5062", cseq, "INVITE", totag) \
	"Content-Type: application/sdp\nContent-Length: " SDP_LEN "\n\n" SDP
#define REQ(method, cseq, totag, extra)                                        \
	"" method " sip:2000@10.0.0.9 SIP/2.0\n"                               \
	INV_HDRS("10.0.0.5:5062", cseq, method, totag) extra                   \
	"Content-Length: 0\n\n"
/* BYE from the callee: tags swapped */
#define BYE_CALLEE(cseq, extra)                                                \
	"BYE sip:1000@10.0.0.5:5062 SIP/2.0\n"                                 \
	"Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-b" cseq "\n"            \
	"Max-Forwards: 70\n"                                                   \
	"From: <sip:2000@example.com>;tag=t2\n"                                \
	"To: \"Alice\" <sip:1000@example.com>;tag=c1\n"                        \
	"Call-ID: call-1@10.0.0.5\n"                                           \
	"CSeq: " cseq " BYE\n" extra "Content-Length: 0\n\n"

/* The callee's side of the dialog (RFC 3261 §12: its local tag t2 in From,
 * the caller's c1 in To) in the callee's own CSeq space, and the caller's
 * responses to it (same tags: a response copies the request's From/To). */
#define CALLEE_HDRS(cseq, method)                                              \
	"Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-u" method cseq "\n"    \
	"Max-Forwards: 70\n"                                                   \
	"From: <sip:2000@example.com>;tag=t2\n"                                \
	"To: \"Alice\" <sip:1000@example.com>;tag=c1\n"                        \
	"Call-ID: call-1@10.0.0.5\n"                                           \
	"CSeq: " cseq " " method "\n"
#define CALLEE_REQ(method, cseq, extra)                                        \
	method " sip:1000@10.0.0.5:5062 SIP/2.0\n" CALLEE_HDRS(cseq, method)  \
	"Contact: <sip:2000@10.0.0.9:5060>\n" extra "Content-Length: 0\n\n"
#define CALLEE_RSP(code, cseq, method, extra)                                  \
	"SIP/2.0 " code "\n" CALLEE_HDRS(cseq, method) extra "Content-Length: 0\n\n"
#define SESSION_TIMER "Session-Expires: 1800;refresher=uas\nSupported: timer\n"

/* ---- flows ---- */

struct step {
	const char *msg;     /* NULL: evr_sip_state_tick() */
	enum side side;
	uint64_t t_ms;
	const char *expect;  /* event keys in order, comma-separated */
	const char *check;   /* "key.attr=value|..." on this step's events */
};

struct flow {
	const char *name;
	struct step steps[20];
};

#define TICK(t, exp) { NULL, UA, (t), (exp), NULL }
#define TICKC(t, exp, chk) { NULL, UA, (t), (exp), (chk) }

static const struct flow flows[] = {
	{ "register, retransmissions, refresh, expiry", {
		{ REG("1", CT1 ";expires=600\n", ""), UA, 1000, "", NULL },
		{ REG_RSP("200 OK", "1", CT1 ";expires=300\n", ""), SRV, 1010,
		  "E_UL_AOR_INSERT,E_UL_CONTACT_INSERT,sofia::register",
		  "E_UL_AOR_INSERT.aor=bob@example.com|E_UL_AOR_INSERT.domain=location"
		  "|E_UL_CONTACT_INSERT.uri=sip:bob@10.0.0.5:5062"
		  "|E_UL_CONTACT_INSERT.expires=1700000301"
		  "|E_UL_CONTACT_INSERT.received=sip:10.0.0.5:5062"
		  "|E_UL_CONTACT_INSERT.socket=udp:10.0.0.1:5060"
		  "|E_UL_CONTACT_INSERT.callid=reg-1@10.0.0.5|E_UL_CONTACT_INSERT.cseq=1"
		  "|E_UL_CONTACT_INSERT.user_agent=Phone/1.0|E_UL_CONTACT_INSERT.qval=-1"
		  "|sofia::register.expires=300|sofia::register.from-user=bob"
		  "|sofia::register.from-host=example.com|sofia::register.network-ip=10.0.0.5"
		  "|sofia::register.network-port=5062|sofia::register.status=Registered(UDP)"
		  "|sofia::register.contact=<sip:bob@10.0.0.5:5062>"
		  "|sofia::register.profile-name=internal|sofia::register.call-id=reg-1@10.0.0.5"
		  "|sofia::register.user-agent=Phone/1.0|sofia::register.username=unknown" },
		{ REG("1", CT1 ";expires=600\n", ""), UA, 1500, "", NULL },
		{ REG_RSP("200 OK", "1", CT1 ";expires=300\n", ""), SRV, 1510, "", NULL },
		{ REG("2", CT1 "\n", "Expires: 600\n"), UA, 100000, "", NULL },
		{ REG_RSP("200 OK", "2", CT1 "\n", ""), SRV, 100010,
		  "E_UL_CONTACT_UPDATE,sofia::register",
		  "E_UL_CONTACT_UPDATE.expires=1700000700|E_UL_CONTACT_UPDATE.cseq=2"
		  "|sofia::register.expires=600" },
		TICK(700009, ""),
		TICKC(700010, "sofia::expire,E_UL_CONTACT_DELETE,E_UL_AOR_DELETE",
		  "sofia::expire.user=bob|sofia::expire.host=example.com"
		  "|sofia::expire.expires=1700000700|sofia::expire.call-id=reg-1@10.0.0.5"
		  "|E_UL_AOR_DELETE.aor=bob@example.com"),
		TICK(800000, ""),
	} },
	{ "second contact, update, unregister one, Contact: *", {
		{ REG("1", CT1 "\n", ""), UA, 0, "", NULL },
		{ REG_RSP("200 OK", "1", CT1 ";expires=3600\n", ""), SRV, 5,
		  "E_UL_AOR_INSERT,E_UL_CONTACT_INSERT,sofia::register", NULL },
		{ REG("2", CT2 ";q=0.5\n", ""), UA, 10, "", NULL },
		{ REG_RSP("200 OK", "2", CT1 ";expires=3590, <sip:bob@10.0.0.6:5070>;expires=3600\n", ""),
		  SRV, 15, "E_UL_CONTACT_INSERT,sofia::register",
		  "E_UL_CONTACT_INSERT.uri=sip:bob@10.0.0.6:5070|E_UL_CONTACT_INSERT.qval=500"
		  "|sofia::register.contact=\"Bob2\" <sip:bob@10.0.0.6:5070>" },
		{ REG("3", CT1 ";expires=0\n", ""), UA, 20, "", NULL },
		{ REG_RSP("200 OK", "3", CT2 ";expires=3595\n", ""), SRV, 25,
		  "E_UL_CONTACT_DELETE,sofia::unregister",
		  "E_UL_CONTACT_DELETE.uri=sip:bob@10.0.0.5:5062|sofia::unregister.expires=0"
		  "|sofia::unregister.from-user=bob" },
		{ REG("4", "Contact: *\n", "Expires: 0\n"), UA, 30, "", NULL },
		{ REG_RSP("200 OK", "4", "", ""), SRV, 35,
		  "E_UL_CONTACT_DELETE,E_UL_AOR_DELETE,sofia::unregister",
		  "E_UL_CONTACT_DELETE.uri=sip:bob@10.0.0.6:5070" },
		TICK(10000000, ""),
	} },
	{ "unregister the only contact", {
		{ REG("1", CT1 "\n", "Expires: 120\n"), UA, 0, "", NULL },
		{ REG_RSP("200 OK", "1", CT1 "\n", ""), SRV, 5,
		  "E_UL_AOR_INSERT,E_UL_CONTACT_INSERT,sofia::register", "sofia::register.expires=120" },
		{ REG("2", CT1 "\n", "Expires: 0\n"), UA, 50, "", NULL },
		{ REG_RSP("200 OK", "2", "", ""), SRV, 55,
		  "E_UL_CONTACT_DELETE,E_UL_AOR_DELETE,sofia::unregister", NULL },
		TICK(200000, ""),
	} },
	{ "default expires", {
		{ REG("1", CT1 "\n", ""), UA, 0, "", NULL },
		{ REG_RSP("200 OK", "1", "", ""), SRV, 5,
		  "E_UL_AOR_INSERT,E_UL_CONTACT_INSERT,sofia::register",
		  "sofia::register.expires=3600|E_UL_CONTACT_INSERT.expires=1700003600" },
		TICK(3599999, ""),
		TICK(3600005, "sofia::expire,E_UL_CONTACT_DELETE,E_UL_AOR_DELETE"),
	} },
	{ "401 challenge then 200", {
		{ REG("1", CT1 "\n", ""), UA, 0, "", NULL },
		{ REG_RSP("401 Unauthorized", "1", "", "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n\"\n"),
		  SRV, 5, "sofia::register_attempt",
		  "sofia::register_attempt.status=Unauthorized|sofia::register_attempt.from-user=bob" },
		{ REG_RSP("401 Unauthorized", "1", "", ""), SRV, 6, "", NULL },
		{ REG("2", CT1 "\n", AUTHZ), UA, 10, "", NULL },
		{ REG_RSP("200 OK", "2", CT1 ";expires=60\n", ""), SRV, 15,
		  "E_UL_AOR_INSERT,E_UL_CONTACT_INSERT,sofia::register",
		  "sofia::register.username=bob|sofia::register.realm=example.com"
		  "|E_UL_CONTACT_INSERT.cseq=2" },
	} },
	{ "407 and 403", {
		{ REG("1", CT1 "\n", ""), UA, 0, "", NULL },
		{ REG_RSP("407 Proxy Authentication Required", "1", "", ""), SRV, 5,
		  "sofia::register_attempt", NULL },
		{ REG("2", CT1 "\n", AUTHZ), UA, 10, "", NULL },
		{ REG_RSP("403 Forbidden", "2", "", ""), SRV, 15, "sofia::register_failure",
		  "sofia::register_failure.to-user=bob|sofia::register_failure.to-host=example.com"
		  "|sofia::register_failure.registration-type=REGISTER"
		  "|sofia::register_failure.network-ip=10.0.0.5" },
		{ REG_RSP("403 Forbidden", "2", "", ""), SRV, 16, "", NULL },
	} },
	{ "INVITE 100/180/200/ACK/BYE with retransmissions", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE",
		  "CHANNEL_CREATE.Channel-State=CS_INIT|CHANNEL_CREATE.Channel-Call-State=DOWN"
		  "|CHANNEL_CREATE.Caller-Caller-ID-Number=1000|CHANNEL_CREATE.Caller-Caller-ID-Name=Alice"
		  "|CHANNEL_CREATE.Caller-ANI=1000|CHANNEL_CREATE.Caller-Destination-Number=2000"
		  "|CHANNEL_CREATE.Channel-Name=sofia/internal/1000@example.com"
		  "|CHANNEL_CREATE.Caller-Channel-Name=sofia/internal/1000@example.com"
		  "|CHANNEL_CREATE.variable_sip_call_id=call-1@10.0.0.5|CHANNEL_CREATE.Call-Direction=inbound"
		  "|CHANNEL_CREATE.Answer-State=ringing|CHANNEL_CREATE.Caller-Network-Addr=10.0.0.5"
		  "|CHANNEL_CREATE.Event-Date-Timestamp=1700000000000000"
		  "|CHANNEL_CREATE.FreeSWITCH-Hostname=evrd" },
		{ INV("1", ""), UA, 500, "", NULL },
		{ INV_PROXIED("1"), SRV, 501, "", NULL },
		{ RSP("100 Trying", "1", "INVITE", "", ""), SRV, 10, "", NULL },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 1000,
		  "CHANNEL_PROGRESS,E_DLG_STATE_CHANGED",
		  "CHANNEL_PROGRESS.Channel-Call-State=RINGING|CHANNEL_PROGRESS.Channel-State=CS_EXECUTE"
		  "|E_DLG_STATE_CHANGED.old_state=1|E_DLG_STATE_CHANGED.new_state=2"
		  "|E_DLG_STATE_CHANGED.callid=call-1@10.0.0.5|E_DLG_STATE_CHANGED.from_tag=c1"
		  "|E_DLG_STATE_CHANGED.to_tag=t2" },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 1100, "", NULL },
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 5000, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED",
		  "CHANNEL_ANSWER.Channel-Call-State=ACTIVE|CHANNEL_ANSWER.Answer-State=answered"
		  "|E_DLG_STATE_CHANGED.old_state=2|E_DLG_STATE_CHANGED.new_state=3" },
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 5500, "", NULL },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 5600, "E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.old_state=3|E_DLG_STATE_CHANGED.new_state=4" },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 6000, "", NULL },
		{ BYE_CALLEE("7", ""), SRV, 60000,
		  "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=NORMAL_CLEARING|CHANNEL_HANGUP.Channel-State=CS_HANGUP"
		  "|CHANNEL_HANGUP.Channel-Call-State=HANGUP"
		  "|CHANNEL_HANGUP_COMPLETE.Channel-State=CS_REPORTING"
		  "|CHANNEL_HANGUP_COMPLETE.Hangup-Cause=NORMAL_CLEARING"
		  "|E_DLG_STATE_CHANGED.old_state=4|E_DLG_STATE_CHANGED.new_state=5" },
		{ BYE_CALLEE("7", ""), SRV, 60500, "", NULL },
		{ RSP("200 OK", "7", "BYE", ";tag=c1", ""), UA, 60600, "", NULL },
		TICK(100000, ""),
	} },
	{ "486 busy", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 100,
		  "CHANNEL_PROGRESS,E_DLG_STATE_CHANGED", NULL },
		{ RSP("486 Busy Here", "1", "INVITE", ";tag=t2", ""), SRV, 2000,
		  "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=USER_BUSY"
		  "|CHANNEL_HANGUP.variable_proto_specific_hangup_cause=sip:486"
		  "|CHANNEL_HANGUP_COMPLETE.Hangup-Cause=USER_BUSY"
		  "|E_DLG_STATE_CHANGED.old_state=2|E_DLG_STATE_CHANGED.new_state=5" },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 2010, "", NULL },
		{ RSP("486 Busy Here", "1", "INVITE", ";tag=t2", ""), SRV, 2500, "", NULL },
	} },
	{ "CANCEL + 487", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 100,
		  "CHANNEL_PROGRESS,E_DLG_STATE_CHANGED", NULL },
		{ REQ("CANCEL", "1", "", ""), UA, 3000,
		  "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=ORIGINATOR_CANCEL|E_DLG_STATE_CHANGED.new_state=5" },
		{ REQ("CANCEL", "1", "", ""), UA, 3100, "", NULL },
		{ RSP("200 OK", "1", "CANCEL", ";tag=t2", ""), SRV, 3010, "", NULL },
		{ RSP("487 Request Terminated", "1", "INVITE", ";tag=t2", ""), SRV, 3020, "", NULL },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 3030, "", NULL },
	} },
	{ "no answer: originate timeout", {
		{ INV("1", ""), UA, 1000, "CHANNEL_CREATE", NULL },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 1100,
		  "CHANNEL_PROGRESS,E_DLG_STATE_CHANGED", NULL },
		TICK(60999, ""),
		TICKC(61000, "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=NO_ANSWER|E_DLG_STATE_CHANGED.old_state=2"
		  "|E_DLG_STATE_CHANGED.new_state=5"),
		{ RSP("408 Request Timeout", "1", "INVITE", ";tag=t2", ""), SRV, 62000, "", NULL },
		TICK(200000, ""),
	} },
	{ "183 with SDP, then 180, answer", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP_SDP("183 Session Progress", "1", ";tag=t2"), SRV, 100,
		  "CHANNEL_PROGRESS_MEDIA,E_DLG_STATE_CHANGED",
		  "CHANNEL_PROGRESS_MEDIA.Channel-Call-State=EARLY|CHANNEL_PROGRESS_MEDIA.Answer-State=early" },
		{ RSP_SDP("183 Session Progress", "1", ";tag=t2"), SRV, 150, "", NULL },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 200, "CHANNEL_PROGRESS", NULL },
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 300, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED", NULL },
	} },
	{ "re-INVITE, BYE with Reason Q.850", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 100, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.old_state=1|E_DLG_STATE_CHANGED.new_state=3" },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 110, "E_DLG_STATE_CHANGED", NULL },
		{ INV("2", ";tag=t2"), UA, 5000, "", NULL },
		{ RSP_SDP("200 OK", "2", ";tag=t2"), SRV, 5010, "", NULL },
		{ REQ("ACK", "2", ";tag=t2", ""), UA, 5020, "", NULL },
		{ REQ("BYE", "3", ";tag=t2", "Reason: SIP;cause=200;text=\"x\", Q.850;cause=17;text=\"busy\"\n"),
		  UA, 9000, "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=USER_BUSY" },
		{ RSP("200 OK", "3", "BYE", ";tag=t2", ""), SRV, 9010, "", NULL },
	} },
	/* Every in-dialog message of the callee's side (its CSeq space starts
	 * at 1 too, colliding with the caller's INVITE): found from either
	 * tag, no event, nothing orphaned or taken for the initial INVITE's
	 * 2xx/ACK. */
	{ "callee re-INVITE, UPDATE, INFO, session refresh", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 100, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.new_state=3" },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 110, "E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.new_state=4" },
		{ CALLEE_REQ("INVITE", "1", ""), SRV, 1000, "", NULL },
		{ CALLEE_RSP("100 Trying", "1", "INVITE", ""), UA, 1001, "", NULL },
		{ CALLEE_RSP("200 OK", "1", "INVITE", ""), UA, 1010, "", NULL },
		{ CALLEE_RSP("200 OK", "1", "INVITE", ""), UA, 1500, "", NULL },
		{ CALLEE_REQ("ACK", "1", ""), SRV, 1510, "", NULL },
		{ CALLEE_REQ("UPDATE", "2", ""), SRV, 2000, "", NULL },
		{ CALLEE_RSP("200 OK", "2", "UPDATE", ""), UA, 2010, "", NULL },
		{ CALLEE_REQ("INFO", "3", ""), SRV, 3000, "", NULL },
		{ CALLEE_RSP("200 OK", "3", "INFO", ""), UA, 3010, "", NULL },
		{ CALLEE_REQ("INVITE", "4", SESSION_TIMER), SRV, 900000, "", NULL },
		{ CALLEE_RSP("200 OK", "4", "INVITE", SESSION_TIMER), UA, 900010, "", NULL },
		{ CALLEE_REQ("ACK", "4", ""), SRV, 900020, "", NULL },
		{ REQ("BYE", "2", ";tag=t2", ""), UA, 950000,
		  "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=NORMAL_CLEARING|E_DLG_STATE_CHANGED.new_state=5" },
		{ RSP("200 OK", "2", "BYE", ";tag=t2", ""), SRV, 950010, "", NULL },
	} },
	/* The caller's ACK is missed (capture loss): the callee's ACK of its
	 * own re-INVITE, CSeq 1 in its space, must not confirm the caller's
	 * INVITE 1; the callee's BYE still ends the dialog. */
	{ "callee ACK is not the caller's ACK", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 100, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.new_state=3" },
		{ CALLEE_REQ("UPDATE", "1", SESSION_TIMER), SRV, 200, "", NULL },
		{ CALLEE_RSP("200 OK", "1", "UPDATE", SESSION_TIMER), UA, 210, "", NULL },
		{ CALLEE_REQ("INVITE", "1", ""), SRV, 1000, "", NULL },
		{ CALLEE_RSP("200 OK", "1", "INVITE", ""), UA, 1010, "", NULL },
		{ CALLEE_REQ("ACK", "1", ""), SRV, 1020, "", NULL },
		{ BYE_CALLEE("2", ""), SRV, 5000,
		  "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.old_state=3|E_DLG_STATE_CHANGED.new_state=5" },
		{ RSP("200 OK", "2", "BYE", ";tag=t2", ""), UA, 5010, "", NULL },
	} },
	{ "forked early dialogs: first 2xx wins", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=fa", ""), SRV, 100,
		  "CHANNEL_PROGRESS,E_DLG_STATE_CHANGED", "E_DLG_STATE_CHANGED.to_tag=fa" },
		{ RSP("180 Ringing", "1", "INVITE", ";tag=fb", ""), SRV, 110, "", NULL },
		{ RSP_SDP("200 OK", "1", ";tag=fb"), SRV, 200, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.to_tag=fb" },
		{ RSP_SDP("200 OK", "1", ";tag=fa"), SRV, 210, "", NULL },
		{ RSP("486 Busy Here", "1", "INVITE", ";tag=fc", ""), SRV, 220, "", NULL },
	} },
	{ "challenged INVITE, then with credentials", {
		{ INV("1", ""), UA, 0, "CHANNEL_CREATE", NULL },
		{ RSP("407 Proxy Authentication Required", "1", "INVITE", ";tag=p1", ""), SRV, 10,
		  "CHANNEL_HANGUP,CHANNEL_HANGUP_COMPLETE,E_DLG_STATE_CHANGED",
		  "CHANNEL_HANGUP.Hangup-Cause=CALL_REJECTED"
		  "|CHANNEL_HANGUP.variable_proto_specific_hangup_cause=sip:407"
		  "|E_DLG_STATE_CHANGED.old_state=1|E_DLG_STATE_CHANGED.new_state=5" },
		{ REQ("ACK", "1", ";tag=p1", ""), UA, 20, "", NULL },
		{ INV("2", ""), UA, 30, "CHANNEL_CREATE", NULL },
		{ RSP_SDP("200 OK", "2", ";tag=t2"), SRV, 100, "CHANNEL_ANSWER,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.old_state=1|E_DLG_STATE_CHANGED.new_state=3" },
	} },
	{ "response before its request", {
		{ REG_RSP("200 OK", "1", CT1 ";expires=60\n", ""), SRV, 0, "", NULL },
		{ REG("1", CT1 "\n", ""), UA, 1, "", NULL },
		TICK(32000, ""),
		TICK(32001, ""),
		{ REG_RSP("200 OK", "1", CT1 ";expires=60\n", ""), SRV, 32002, "", NULL },
	} },
	{ "RFC 2543 peer: no From tag", {
		{ "INVITE sip:2000@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-n\n"
		  "From: <sip:1000@example.com>\nTo: <sip:2000@example.com>\nCall-ID: notag\n"
		  "CSeq: 1 INVITE\nContent-Length: 0\n\n", UA, 0, "CHANNEL_CREATE", NULL },
		{ "SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-n\n"
		  "From: <sip:1000@example.com>\nTo: <sip:2000@example.com>;tag=x\nCall-ID: notag\n"
		  "CSeq: 1 INVITE\nContent-Length: 0\n\n", SRV, 10, "CHANNEL_PROGRESS,E_DLG_STATE_CHANGED",
		  "E_DLG_STATE_CHANGED.from_tag=" },
	} },
	{ "orphans and untracked methods", {
		{ RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 0, "", NULL },
		{ BYE_CALLEE("2", ""), SRV, 1, "", NULL },
		{ REQ("ACK", "1", ";tag=t2", ""), UA, 2, "", NULL },
		{ REQ("CANCEL", "1", "", ""), UA, 3, "", NULL },
		{ REG_RSP("200 OK", "9", CT1 "\n", ""), SRV, 4, "", NULL },
		{ RSP("200 OK", "2", "BYE", ";tag=c1", ""), UA, 5, "", NULL },
		{ REQ("OPTIONS", "5", "", ""), UA, 6, "", NULL },
		{ REQ("MESSAGE", "6", "", ""), UA, 7, "", NULL },
		TICK(1000000, ""),
	} },
};

/* Events of one step against "a,b,c" and the "key.attr=value|..." checks. */
static void check_step(const char *fname, unsigned si, const struct step *s)
{
	char exp[512], got[1024] = "";
	char chk[2048], *save = NULL;

	for (unsigned i = 0, n = 0; i < g_nrec && n < sizeof(got); i++) {
		int k = snprintf(got + n, sizeof(got) - n, "%s%s", i ? "," : "", g_rec[i].key);

		if (k < 0)
			break;
		n += (unsigned)k;
	}
	snprintf(exp, sizeof(exp), "%s", s->expect);
	CHECK_MSG(strcmp(exp, got) == 0, "%s step %u: expected [%s] got [%s]", fname, si, exp, got);
	if (s->check == NULL)
		return;
	snprintf(chk, sizeof(chk), "%s", s->check);
	for (char *item = strtok_r(chk, "|", &save); item; item = strtok_r(NULL, "|", &save)) {
		char *dot = strchr(item, '.'), *eq;
		const struct rec_ev *r = NULL;
		const char *v;

		if (dot == NULL || (eq = strchr(dot, '=')) == NULL) {
			CHECK_MSG(0, "bad check %s", item);
			continue;
		}
		*dot = *eq = '\0';
		for (unsigned i = 0; i < g_nrec && r == NULL; i++)
			if (strcmp(g_rec[i].key, item) == 0)
				r = &g_rec[i];
		if (r == NULL) {
			CHECK_MSG(0, "%s step %u: no %s event", fname, si, item);
			continue;
		}
		v = rec_attr(r, dot + 1);
		CHECK_MSG(v && strcmp(v, eq + 1) == 0, "%s step %u: %s.%s = \"%s\", want \"%s\"",
		          fname, si, item, dot + 1, v ? v : "(absent)", eq + 1);
	}
}

static struct evr_sip_state *make(uint32_t max_dlg, uint32_t max_reg, uint32_t families)
{
	struct evr_sip_state_conf c;
	struct evr_sip_state *st;

	evr_sip_state_conf_default(&c);
	c.max_dialogs = max_dlg;
	c.max_registrations = max_reg;
	c.families = families;
	st = evr_sip_state_create(&c, &g_lim);
	CHECK(st != NULL);
	return st;
}

static void run_flows(void)
{
	for (unsigned fi = 0; fi < ARRAY_SIZE(flows); fi++) {
		const struct flow *fl = &flows[fi];
		struct evr_sip_state *st = make(64, 64, EVR_SIP_STATE_OPENSIPS | EVR_SIP_STATE_FREESWITCH);
		uint32_t total = 0;

		if (st == NULL)
			return;
		for (unsigned si = 0; si < ARRAY_SIZE(fl->steps) && fl->steps[si].expect; si++) {
			const struct step *s = &fl->steps[si];
			uint32_t n;
			g_nrec = 0;
			if (s->msg)
				n = feed(st, s->msg, s->side, s->t_ms);
			else
				n = evr_sip_state_tick(st, s->t_ms, WALL0_US + s->t_ms * 1000u, on_event, NULL);
			CHECK_EQ_INT(n, g_nrec);
			total += n;
			check_step(fl->name, si, s);
		}
		CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_EVENTS], total);
		evr_sip_state_destroy(st);
	}
}

/* ---- counters of the flows above, replayed ---- */

static const struct evr_sip_state_stats *replay(struct evr_sip_state *st, unsigned fi)
{
	const struct flow *fl = &flows[fi];

	for (unsigned si = 0; si < ARRAY_SIZE(fl->steps) && fl->steps[si].expect; si++) {
		const struct step *s = &fl->steps[si];
		g_nrec = 0;
		if (s->msg)
			feed(st, s->msg, s->side, s->t_ms);
		else
			evr_sip_state_tick(st, s->t_ms, WALL0_US + s->t_ms * 1000u, on_event, NULL);
	}
	return evr_sip_state_stats(st);
}

static unsigned flow_index(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(flows); i++)
		if (strcmp(flows[i].name, name) == 0)
			return i;
	CHECK_MSG(0, "no flow %s", name);
	return 0;
}

static void test_counters(void)
{
	struct evr_sip_state *st0 = make(64, 64, 3);
	const struct evr_sip_state_stats *s0 = replay(st0, flow_index("response before its request"));
	CHECK_EQ_INT(s0->c[EVR_SIP_STATE_ORPHAN_RESPONSE], 2);
	CHECK_EQ_INT(s0->c[EVR_SIP_STATE_REG_TXN_TIMEOUT], 1);
	evr_sip_state_destroy(st0);

	struct evr_sip_state *st;
	const struct evr_sip_state_stats *s;

	st = make(64, 64, 3);
	s = replay(st, flow_index("register, retransmissions, refresh, expiry"));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_REQUEST], 1);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_RESPONSE], 1);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_CONTACT_EXPIRED], 1);
	CHECK_EQ_INT(s->registrations, 0);
	evr_sip_state_destroy(st);

	st = make(64, 64, 3);
	s = replay(st, flow_index("INVITE 100/180/200/ACK/BYE with retransmissions"));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_REQUEST], 4); /* INVITE x2, ACK, BYE */
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_RESPONSE], 2); /* 180, 200 */
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_ABSORBED], 2);     /* 100, 200 to BYE */
	CHECK_EQ_INT(s->dialogs, 0);                   /* reaped after linger */
	evr_sip_state_destroy(st);

	st = make(64, 64, 3);
	s = replay(st, flow_index("orphans and untracked methods"));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_ORPHAN_RESPONSE], 3);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_ORPHAN_REQUEST], 3);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_UNTRACKED], 2);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_EVENTS], 0);
	evr_sip_state_destroy(st);

	st = make(64, 64, 3);
	s = replay(st, flow_index("no answer: originate timeout"));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DIALOG_TIMEOUT], 1);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_RESPONSE], 1); /* the 408 after our timeout */
	CHECK_EQ_INT(s->dialogs, 0);
	evr_sip_state_destroy(st);

	st = make(64, 64, 3);
	s = replay(st, flow_index("forked early dialogs: first 2xx wins"));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_FORK_2XX], 1);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_RESPONSE], 1);
	evr_sip_state_destroy(st);

	st = make(64, 64, 3);
	s = replay(st, flow_index("re-INVITE, BYE with Reason Q.850"));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_REINVITE], 1);
	evr_sip_state_destroy(st);

	/* the callee's side: nothing orphaned, duplicated or forked */
	static const char *const callee_flows[] = {
		"callee re-INVITE, UPDATE, INFO, session refresh",
		"callee ACK is not the caller's ACK",
	};
	static const unsigned absorbed[] = {
		/* 100, 200, 200 again, ACK, refresh 200 and ACK, 200 to BYE */
		7,
		/* re-INVITE's 200 and ACK, 200 to BYE */
		3,
	};
	for (unsigned k = 0; k < ARRAY_SIZE(callee_flows); k++) {
		st = make(64, 64, 3);
		s = replay(st, flow_index(callee_flows[k]));
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_ORPHAN_REQUEST], 0);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_ORPHAN_RESPONSE], 0);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_REQUEST], 0);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_DUP_RESPONSE], 0);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_FORK_2XX], 0);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_LATE_2XX], 0);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_ABSORBED], absorbed[k]);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_REINVITE], 2 - k);
		CHECK_EQ_INT(s->c[EVR_SIP_STATE_UNTRACKED], 4 - 2 * k); /* UPDATE/INFO + 200s */
		evr_sip_state_destroy(st);
	}
}

/* ---- bounded state ---- */

static void test_eviction(void)
{
	char msg[2048];
	struct evr_sip_state *st = make(2, 2, 3);

	if (st == NULL)
		return;
	for (int k = 0; k < 3; k++) {
		snprintf(msg, sizeof(msg),
		         "INVITE sip:2000@example.com SIP/2.0\n"
		         "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-e%d\n"
		         "From: <sip:1000@example.com>;tag=e%d\nTo: <sip:2000@example.com>\n"
		         "Call-ID: evict-%d\nCSeq: 1 INVITE\nContent-Length: 0\n\n", k, k, k);
		g_nrec = 0;
		CHECK_EQ_INT(feed(st, msg, UA, (uint64_t)k), 1);
	}
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_DIALOG_EVICTED], 1);
	CHECK_EQ_INT(evr_sip_state_stats(st)->dialogs, 2);
	/* the oldest (evict-0) is gone: its 180 is an orphan */
	g_nrec = 0;
	feed(st, "SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-e0\n"
	         "From: <sip:1000@example.com>;tag=e0\nTo: <sip:2000@example.com>;tag=x\n"
	         "Call-ID: evict-0\nCSeq: 1 INVITE\nContent-Length: 0\n\n", SRV, 10);
	CHECK_EQ_INT(g_nrec, 0);
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_ORPHAN_RESPONSE], 1);

	for (int k = 0; k < 3; k++) {
		snprintf(msg, sizeof(msg),
		         "REGISTER sip:example.com SIP/2.0\n"
		         "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-r%d\n"
		         "From: <sip:u%d@example.com>;tag=r%d\nTo: <sip:u%d@example.com>\n"
		         "Call-ID: reg-evict-%d\nCSeq: 1 REGISTER\nContact: <sip:u%d@10.0.0.5>\n"
		         "Content-Length: 0\n\n", k, k, k, k, k, k);
		feed(st, msg, UA, 100 + (uint64_t)k);
		snprintf(msg, sizeof(msg),
		         "SIP/2.0 200 OK\n"
		         "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-r%d\n"
		         "From: <sip:u%d@example.com>;tag=r%d\nTo: <sip:u%d@example.com>;tag=s\n"
		         "Call-ID: reg-evict-%d\nCSeq: 1 REGISTER\nContact: <sip:u%d@10.0.0.5>;expires=60\n"
		         "Content-Length: 0\n\n", k, k, k, k, k, k);
		g_nrec = 0;
		CHECK_EQ_INT(feed(st, msg, SRV, 100 + (uint64_t)k), 3);
	}
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_CONTACT_EVICTED], 1);
	CHECK_EQ_INT(evr_sip_state_stats(st)->registrations, 2);
	/* the two left expire; the evicted one raises nothing */
	g_nrec = 0;
	/* 2 x (sofia::expire, E_UL_CONTACT_DELETE, E_UL_AOR_DELETE) + the two
	 * unanswered dialogs timing out: 2 x (HANGUP, HANGUP_COMPLETE, E_DLG) */
	CHECK_EQ_INT(evr_sip_state_tick(st, 100000, WALL0_US, on_event, NULL), 12);
	CHECK_EQ_INT(evr_sip_state_stats(st)->registrations, 0);
	evr_sip_state_destroy(st);
}

/* A long Call-ID is not tracked (never truncated). */
static void test_field_too_long(void)
{
	char msg[2048], cid[300];
	struct evr_sip_state *st = make(4, 4, 3);

	memset(cid, 'a', 200);
	cid[200] = '\0';
	snprintf(msg, sizeof(msg),
	         "INVITE sip:2000@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-l\n"
	         "From: <sip:1000@example.com>;tag=l\nTo: <sip:2000@example.com>\n"
	         "Call-ID: %s\nCSeq: 1 INVITE\nContent-Length: 0\n\n", cid);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, msg, UA, 0), 0);
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_FIELD_TOO_LONG], 1);
	CHECK_EQ_INT(evr_sip_state_stats(st)->dialogs, 0);
	evr_sip_state_destroy(st);
}

/* ---- limits and families ---- */

static void test_limits(void)
{
	struct evr_limits saved = g_lim;
	struct evr_sip_state *st;

	/* few attributes: raised with what fits */
	g_lim.max_attrs = 5;
	st = make(4, 4, 3);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, INV("1", ""), UA, 0), 1);
	CHECK_EQ_INT(g_rec[0].n, 5);
	CHECK(evr_sip_state_stats(st)->c[EVR_SIP_STATE_ATTR_DROPPED] > 0);
	evr_sip_state_destroy(st);
	g_lim = saved;

	/* short values: the Call-ID does not fit and is left out, not cut */
	g_lim.max_value_len = 10;
	st = make(4, 4, 3);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, INV("1", ""), UA, 0), 1);
	CHECK(rec_attr(&g_rec[0], "variable_sip_call_id") == NULL);
	CHECK_EQ_STR(rec_attr(&g_rec[0], "Caller-ANI"), "1000");
	CHECK(evr_sip_state_stats(st)->c[EVR_SIP_STATE_ATTR_DROPPED] > 0);
	evr_sip_state_destroy(st);
	g_lim = saved;

	/* short names: E_UL_CONTACT_INSERT (19) is dropped, CUSTOM kept */
	g_lim.max_name_len = 16;
	st = make(4, 4, 3);
	feed(st, REG("1", CT1 "\n", ""), UA, 0);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, REG_RSP("200 OK", "1", "", ""), SRV, 1), 2);
	CHECK_EQ_STR(g_rec[0].key, "E_UL_AOR_INSERT");
	CHECK_EQ_STR(g_rec[1].key, "sofia::register");
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_EVENT_DROPPED], 1);
	CHECK(rec_attr(&g_rec[1], "FreeSWITCH-Hostname") == NULL); /* 19 chars */
	CHECK_EQ_STR(rec_attr(&g_rec[1], "from-user"), "bob");
	evr_sip_state_destroy(st);
	g_lim = saved;
}

static void test_families(void)
{
	struct evr_sip_state *st = make(4, 4, EVR_SIP_STATE_OPENSIPS);

	g_nrec = 0;
	CHECK_EQ_INT(feed(st, INV("1", ""), UA, 0), 0);
	CHECK_EQ_INT(feed(st, RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 1), 1);
	CHECK_EQ_STR(g_rec[0].key, "E_DLG_STATE_CHANGED");
	evr_sip_state_destroy(st);

	st = make(4, 4, EVR_SIP_STATE_FREESWITCH);
	feed(st, REG("1", CT1 "\n", ""), UA, 0);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, REG_RSP("200 OK", "1", "", ""), SRV, 1), 1);
	CHECK_EQ_STR(g_rec[0].key, "sofia::register");
	evr_sip_state_destroy(st);
}


/* FreeSWITCH's standard headers on the FreeSWITCH-vocabulary events, in
 * switch_event_prep_for_delivery's order right after Event-Name (and
 * Event-Subclass), from the run's shared set (conf.fs_std); the OpenSIPS
 * events of the same transitions get none of them. */
static void test_std_headers(void)
{
	static const char *const std[] = {
		"Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname", "FreeSWITCH-IPv4",
		"FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT", "Event-Date-Timestamp",
		"Event-Calling-File", "Event-Calling-Function", "Event-Calling-Line-Number",
	};
	struct evr_sip_state_conf c;
	struct evr_fs_std fs;
	struct evr_sip_state *st;
	unsigned nfs = 0, nos = 0;

	CHECK_EQ_INT(evr_fs_std_init(&fs, "pbx", "sw1", "198.18.0.1", "2001:db8:18::1"), 0);
	fs.gmtoff = -3600;
	evr_sip_state_conf_default(&c);
	c.max_dialogs = c.max_registrations = 8;
	c.fs_std = &fs;
	st = evr_sip_state_create(&c, &g_lim);
	CHECK(st != NULL);
	if (!st)
		return;
	g_nrec = 0;
	feed(st, INV("1", ""), UA, 0);                                      /* CHANNEL_CREATE */
	feed(st, RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 1); /* + E_DLG_* */
	feed(st, REG("1", CT1 "\n", ""), UA, 2);
	feed(st, REG_RSP("200 OK", "1", "", ""), SRV, 3); /* E_UL_* + sofia::register */
	CHECK(g_nrec >= 5);
	for (unsigned i = 0; i < g_nrec; i++) {
		const struct rec_ev *r = &g_rec[i];

		if (strncmp(r->key, "E_", 2) == 0) {
			nos++;
			for (unsigned k = 0; k < ARRAY_SIZE(std); k++)
				CHECK_MSG(rec_attr(r, std[k]) == NULL, "%s carries %s", r->key, std[k]);
			continue;
		}
		nfs++;
		unsigned first = strcmp(r->an[1], "Event-Subclass") == 0 ? 2 : 1;
		for (unsigned k = 0; k < ARRAY_SIZE(std); k++)
			CHECK_MSG(first + k < r->n && strcmp(r->an[first + k], std[k]) == 0,
			          "%s: header %u is %s, want %s", r->key, first + k,
			          first + k < r->n ? r->an[first + k] : "(none)", std[k]);
		CHECK_EQ_STR(rec_attr(r, "Core-UUID"), fs.core_uuid);
		CHECK_EQ_STR(rec_attr(r, "FreeSWITCH-Hostname"), "pbx");
		CHECK_EQ_STR(rec_attr(r, "FreeSWITCH-Switchname"), "sw1");
		CHECK_EQ_STR(rec_attr(r, "FreeSWITCH-IPv4"), "198.18.0.1");
		CHECK_EQ_STR(rec_attr(r, "FreeSWITCH-IPv6"), "2001:db8:18::1");
		/* WALL0_US = 2023-11-14 22:13:20 UTC; local is UTC-1 here */
		CHECK_EQ_STR(rec_attr(r, "Event-Date-GMT"), "Tue, 14 Nov 2023 22:13:20 GMT");
		CHECK_EQ_STR(rec_attr(r, "Event-Date-Local"), "2023-11-14 21:13:20");
		CHECK_EQ_STR(rec_attr(r, "Event-Calling-File"), "evr_sip_freeswitch.c");
		const char *fn = rec_attr(r, "Event-Calling-Function");
		CHECK(fn && (strcmp(fn, "fs_chan") == 0 || strcmp(fn, "fs_register") == 0));
		const char *ln = rec_attr(r, "Event-Calling-Line-Number");
		CHECK(ln && atoi(ln) > 0);
		const char *ts = rec_attr(r, "Event-Date-Timestamp");
		CHECK(ts && strtoull(ts, NULL, 10) >= WALL0_US && strtoull(ts, NULL, 10) < WALL0_US + 10000);
	}
	CHECK(nfs >= 3 && nos >= 2);
	evr_sip_state_destroy(st);
}

/* REGISTER over IPv6: received/socket/network-ip in OpenSIPS/FreeSWITCH form. */
static void test_ipv6(void)
{
	struct evr_sip_state *st = make(4, 4, 3);

	feed(st, REG("1", CT1 "\n", ""), UA6, 0);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, REG_RSP("200 OK", "1", "", ""), SRV, 1), 3);
	CHECK_EQ_STR(rec_attr(&g_rec[1], "received"), "sip:[2001:db8::5]:5062");
	CHECK_EQ_STR(rec_attr(&g_rec[1], "socket"), "udp:[2001:db8::1]:5060");
	CHECK_EQ_STR(rec_attr(&g_rec[2], "network-ip"), "2001:db8::5");
	evr_sip_state_destroy(st);
}

static unsigned g_count;

static void on_count(void *arg, const struct evr_event *ev)
{
	(void)arg;
	(void)ev;
	g_count++;
}

/* Expirations beyond EVR_SIP_STATE_TICK_BUDGET wait for the next tick. */
static void test_tick_budget(void)
{
	char msg[1024];
	struct evr_sip_state *st = make(4, 400, EVR_SIP_STATE_OPENSIPS);

	for (unsigned k = 0; k < 300; k++) {
		snprintf(msg, sizeof(msg),
		         "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-%u\n"
		         "From: <sip:u%u@example.com>;tag=a\nTo: <sip:u%u@example.com>\n"
		         "Call-ID: budget-%u\nCSeq: 1 REGISTER\nContact: <sip:u%u@10.0.0.5>;expires=10\n"
		         "Content-Length: 0\n\n", k, k, k, k, k);
		feed(st, msg, UA, 0);
		snprintf(msg, sizeof(msg),
		         "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-%u\n"
		         "From: <sip:u%u@example.com>;tag=a\nTo: <sip:u%u@example.com>;tag=b\n"
		         "Call-ID: budget-%u\nCSeq: 1 REGISTER\nContent-Length: 0\n\n", k, k, k, k);
		g_nrec = 0;
		feed(st, msg, SRV, 0);
	}
	CHECK_EQ_INT(evr_sip_state_stats(st)->registrations, 300);
	/* the REGISTER transactions (linger 32 s) are behind the contacts (10 s) */
	g_count = 0;
	CHECK_EQ_INT(evr_sip_state_tick(st, 20000, WALL0_US, on_count, NULL), 2 * EVR_SIP_STATE_TICK_BUDGET);
	CHECK_EQ_INT(g_count, 2 * EVR_SIP_STATE_TICK_BUDGET); /* CONTACT_DELETE + AOR_DELETE */
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_CONTACT_EXPIRED], EVR_SIP_STATE_TICK_BUDGET);
	evr_sip_state_tick(st, 20010, WALL0_US, on_count, NULL);
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_CONTACT_EXPIRED], 300);
	CHECK_EQ_INT(evr_sip_state_stats(st)->registrations, 0);
	evr_sip_state_destroy(st);
}

/* The timer heap under churn: 200 dialogs created at pseudo-random times,
 * a third answered (re-armed to max_dialog_ms), a third cancelled (re-armed
 * to linger), the rest must time out exactly originate_timeout_ms after
 * their INVITE, each within the tick that covers that instant. */
struct hev {
	uint64_t t;
	int kind; /* 0 INVITE, 1 200 OK, 2 CANCEL */
	unsigned k;
};

static int hev_cmp(const void *a, const void *b)
{
	const struct hev *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t ? 1 : x->kind - y->kind;
}

static void test_timer_heap(void)
{
	enum { N = 200 };
	static struct hev evs[2 * N];
	uint64_t created[N], prev = 0;
	unsigned nev = 0, expect_timeouts = 0, timeouts = 0, answered = 0;
	uint32_t x = 12345;
	char msg[1024];
	struct evr_sip_state *st = make(N, 4, EVR_SIP_STATE_FREESWITCH);

	for (unsigned k = 0; k < N; k++) {
		x = x * 1103515245u + 12345u;
		created[k] = 1 + (x >> 8) % 50000u;
		evs[nev++] = (struct hev){ created[k], 0, k };
		if (k % 3 == 1) {
			evs[nev++] = (struct hev){ created[k] + 50, 1, k };
			answered++;
		} else if (k % 3 == 2) {
			evs[nev++] = (struct hev){ created[k] + 100, 2, k };
		} else {
			expect_timeouts++;
		}
	}
	qsort(evs, nev, sizeof(evs[0]), hev_cmp);
	unsigned e = 0;
	for (uint64_t t = 7; t < 200000; t += 7) {
		for (; e < nev && evs[e].t <= t; e++) {
			unsigned k = evs[e].k;
			static const char *const fmt[] = {
				"INVITE sip:2000@example.com SIP/2.0\n%s%u",
				"SIP/2.0 200 OK\n%s%u",
				"CANCEL sip:2000@example.com SIP/2.0\n%s%u",
			};
			char hdrs[512];
			snprintf(hdrs, sizeof(hdrs),
			         "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-h\n"
			         "From: <sip:1000@example.com>;tag=h\nTo: <sip:2000@example.com>%s\n"
			         "Call-ID: h-%llu-", evs[e].kind == 1 ? ";tag=x" : "",
			         (unsigned long long)created[k]);
			int n = snprintf(msg, sizeof(msg), fmt[evs[e].kind], hdrs, k);
			snprintf(msg + n, sizeof(msg) - (size_t)n, "\nCSeq: 1 %s\nContent-Length: 0\n\n",
			         evs[e].kind == 2 ? "CANCEL" : "INVITE");
			g_nrec = 0;
			feed(st, msg, evs[e].kind == 1 ? SRV : UA, evs[e].t);
		}
		g_nrec = 0;
		evr_sip_state_tick(st, t, WALL0_US + t * 1000u, on_event, NULL);
		for (unsigned i = 0; i < g_nrec; i++) {
			const char *cause = rec_attr(&g_rec[i], "Hangup-Cause");
			unsigned long long c0 = 0;
			if (strcmp(g_rec[i].key, "CHANNEL_HANGUP") != 0)
				continue;
			CHECK_EQ_STR(cause, "NO_ANSWER");
			sscanf(rec_attr(&g_rec[i], "variable_sip_call_id"), "h-%llu-", &c0);
			CHECK_MSG(c0 + 60000 > prev && c0 + 60000 <= t, "created %llu fired at %llu",
			          c0, (unsigned long long)t);
			timeouts++;
		}
		prev = t;
	}
	CHECK_EQ_INT(timeouts, expect_timeouts);
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_DIALOG_TIMEOUT], expect_timeouts);
	CHECK_EQ_INT(evr_sip_state_stats(st)->dialogs, answered); /* the rest reaped after linger */
	evr_sip_state_destroy(st);
}

/* OpenSIPS dialog id "h_entry.h_id" in reverse hex agrees with db_id. */
static void test_dlg_ids(void)
{
	struct evr_sip_state *st = make(4, 4, EVR_SIP_STATE_OPENSIPS);
	const char *id, *db;
	unsigned long long dbv, he = 0, hi = 0;
	const char *dot;

	feed(st, INV("1", ""), UA, 0);
	g_nrec = 0;
	feed(st, RSP("180 Ringing", "1", "INVITE", ";tag=t2", ""), SRV, 1);
	id = rec_attr(&g_rec[0], "id");
	db = rec_attr(&g_rec[0], "db_id");
	CHECK(id && db && (dot = strchr(id, '.')) != NULL);
	if (id && db && dot) {
		dbv = strtoull(db, NULL, 10);
		for (const char *p = dot - 1; p >= id; p--)
			he = he * 16 + (unsigned)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
		for (const char *p = id + strlen(id) - 1; p > dot; p--)
			hi = hi * 16 + (unsigned)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
		CHECK_EQ_INT(dbv >> 32, he);
		CHECK_EQ_INT(dbv & 0xffffffffULL, hi);
		CHECK(he < 4096);
	}
	evr_sip_state_destroy(st);
}

/* Events go through the encoders as decoded ones would: OpenSIPS integers
 * as JSON numbers, FreeSWITCH CUSTOM with its subclass. */
static char g_enc[8192];
static int g_enc_len;

static void on_encode(void *arg, const struct evr_event *ev)
{
	enum evr_format fmt = *(const enum evr_format *)arg;

	if (ev->src_format == fmt)
		g_enc_len = evr_encode(fmt, ev, 7, g_enc, sizeof(g_enc) - 1);
}

static void test_encode(void)
{
	struct evr_sip_state *st = make(4, 4, 3);
	struct evr_sip_flow f;
	enum evr_format fmt = EVR_FMT_JSONRPC;

	feed(st, REG("1", CT1 "\n", ""), UA, 0);
	g_wire[0] = 0;
	/* the 200 OK, by hand so the callback is the encoder */
	{
		const char *text = REG_RSP("200 OK", "1", CT1 ";expires=60\n", "");
		size_t n = 0;
		for (const char *p = text; *p; p++) {
			if (*p == '\n')
				g_wire[n++] = '\r';
			g_wire[n++] = *p;
		}
		CHECK(evr_sip_parse(g_wire, n, &g_msg) == EVR_SIP_OK);
	}
	flow_for(SRV, &f, 5);
	g_enc_len = -1;
	evr_sip_state_input(st, &g_msg, &f, 5, on_encode, &fmt); /* keeps the last JSON-RPC one */
	CHECK(g_enc_len > 0);
	if (g_enc_len > 0) {
		g_enc[g_enc_len] = '\0';
		CHECK_MSG(strstr(g_enc, "{\"jsonrpc\":\"2.0\",\"method\":\"E_UL_CONTACT_INSERT\","
		                        "\"params\":{\"domain\":\"location\",\"aor\":\"bob@example.com\"") == g_enc,
		          "%s", g_enc);
		CHECK_MSG(strstr(g_enc, "\"expires\":1700000060,") != NULL, "%s", g_enc);
		CHECK_MSG(strstr(g_enc, "\"cseq\":1,") != NULL, "%s", g_enc);
	}
	fmt = EVR_FMT_PLAIN;
	g_enc_len = -1;
	feed(st, REG("2", CT1 "\n", ""), UA, 10);
	{
		const char *text = REG_RSP("200 OK", "2", CT1 ";expires=60\n", "");
		size_t n = 0;
		for (const char *p = text; *p; p++) {
			if (*p == '\n')
				g_wire[n++] = '\r';
			g_wire[n++] = *p;
		}
		CHECK(evr_sip_parse(g_wire, n, &g_msg) == EVR_SIP_OK);
	}
	flow_for(SRV, &f, 15);
	evr_sip_state_input(st, &g_msg, &f, 15, on_encode, &fmt);
	CHECK(g_enc_len > 0);
	if (g_enc_len > 0) {
		g_enc[g_enc_len] = '\0';
		CHECK_MSG(strstr(g_enc, "\nEvent-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister\n") != NULL,
		          "%s", g_enc);
		CHECK_MSG(strstr(g_enc, "\nfrom-user: bob\n") != NULL, "%s", g_enc);
		CHECK_MSG(strstr(g_enc, "\nEvent-Sequence: 7\n") != NULL, "%s", g_enc);
	}
	evr_sip_state_destroy(st);
}

/* ---- identity ---- */

static void test_unique_id(void)
{
	struct evr_sip_state *a = make(4, 4, 3), *b = make(8, 8, 3);
	char ua[64], ub[64];
	const char *u;

	g_nrec = 0;
	feed(a, INV("1", ""), UA, 0);
	u = rec_attr(&g_rec[0], "Unique-ID");
	CHECK(u != NULL && strlen(u) == 36 && u[8] == '-' && u[13] == '-' && u[18] == '-'
	      && u[23] == '-' && u[14] == '8');
	CHECK_EQ_STR(rec_attr(&g_rec[0], "Caller-Unique-ID"), u);
	snprintf(ua, sizeof(ua), "%s", u ? u : "");
	g_nrec = 0;
	feed(b, INV("1", ""), UA2, 777);
	snprintf(ub, sizeof(ub), "%s", rec_attr(&g_rec[0], "Unique-ID"));
	CHECK_EQ_STR(ua, ub); /* another shard, another time: same call, same UUID */
	g_nrec = 0;
	feed(b, "INVITE sip:2000@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK-o\n"
	        "From: <sip:1000@example.com>;tag=other\nTo: <sip:2000@example.com>\n"
	        "Call-ID: call-1@10.0.0.5\nCSeq: 1 INVITE\nContent-Length: 0\n\n", UA, 800);
	CHECK(strcmp(rec_attr(&g_rec[0], "Unique-ID"), ua) != 0);
	evr_sip_state_destroy(a);
	evr_sip_state_destroy(b);
}

static void test_shard(void)
{
	unsigned hist[8] = { 0 };
	char cid[64];

	CHECK_EQ_INT(evr_sip_state_shard("x", 1, 0), 0);
	CHECK_EQ_INT(evr_sip_state_shard("x", 1, 1), 0);
	CHECK_EQ_INT(evr_sip_state_shard(LIT_CID, sizeof(LIT_CID) - 1, 8),
	             evr_sip_state_shard(LIT_CID, sizeof(LIT_CID) - 1, 8));
	for (unsigned i = 0; i < 16000; i++) {
		int n = snprintf(cid, sizeof(cid), "%u-a84b4c76e66710@pc33.atlanta.com", i);
		unsigned s = evr_sip_state_shard(cid, (size_t)n, 8);
		CHECK(s < 8);
		if (s < 8)
			hist[s]++;
	}
	for (unsigned s = 0; s < 8; s++)
		CHECK_MSG(hist[s] > 1700 && hist[s] < 2300, "shard %u got %u of 16000", s, hist[s]);
}

static void test_api(void)
{
	struct evr_sip_state_conf c;

	evr_sip_state_conf_default(&c);
	CHECK_EQ_INT(c.originate_timeout_ms, 60000);
	CHECK_EQ_INT(c.linger_ms, 32000);
	CHECK_EQ_INT(c.max_dialog_ms, 4u * 3600u * 1000u);
	CHECK_EQ_STR(c.profile, "internal");
	c.max_dialogs = 0;
	errno = 0;
	CHECK(evr_sip_state_create(&c, NULL) == NULL && errno == EINVAL);
	CHECK_EQ_STR(evr_sip_state_counter_name(EVR_SIP_STATE_DUP_REQUEST), "dup_request");
	CHECK_EQ_STR(evr_sip_state_counter_name(EVR_SIP_STATE__COUNT), "unknown");
	for (unsigned i = 0; i < EVR_SIP_STATE__COUNT; i++)
		CHECK(strlen(evr_sip_state_counter_help(i)) > 0);
	evr_sip_state_destroy(NULL);
}

/* ---- RFC 8599 contacts: E_UL_CONTACT_REFRESH before expiry (opt-in) ---- */

#define CT_PN "Contact: <sip:bob@10.0.0.5:5062;pn-provider=apns;pn-prid=dev1;pn-param=app>"

static void test_pn_refresh(void)
{
	struct evr_sip_state_conf c;
	struct evr_sip_state *st;
	const struct evr_sip_state_stats *s;

	evr_sip_state_conf_default(&c);
	CHECK_EQ_INT(c.pn_refresh_s, 0); /* off by default, as in OpenSIPS */
	c.families = EVR_SIP_STATE_OPENSIPS;
	c.pn_refresh_s = 120;
	st = evr_sip_state_create(&c, &g_lim);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	s = evr_sip_state_stats(st);
	/* a push contact for 600 s, and a plain one (never refreshed) */
	feed(st, REG("1", CT_PN ";expires=600\n" CT2 ";expires=600\n", ""), UA, 0);
	g_nrec = 0;
	feed(st, REG_RSP("200 OK", "1", CT_PN ";expires=600\n" CT2 ";expires=600\n", ""), SRV, 10);
	CHECK_EQ_INT(g_nrec, 3); /* AOR_INSERT + two CONTACT_INSERT */
	g_nrec = 0;
	evr_sip_state_tick(st, 480009, WALL0_US + 480009000ull, on_event, NULL);
	CHECK_EQ_INT(g_nrec, 0); /* one ms before the refresh point */
	evr_sip_state_tick(st, 480010, WALL0_US + 480010000ull, on_event, NULL);
	CHECK_EQ_INT(g_nrec, 1);
	if (g_nrec == 1) {
		CHECK_EQ_STR(g_rec[0].key, "E_UL_CONTACT_REFRESH");
		CHECK_EQ_STR(rec_attr(&g_rec[0], "reason"), "reg-refresh");
		CHECK_EQ_STR(rec_attr(&g_rec[0], "uri"),
		             "sip:bob@10.0.0.5:5062;pn-provider=apns;pn-prid=dev1;pn-param=app");
		CHECK_EQ_STR(rec_attr(&g_rec[0], "req_callid"), "");
		CHECK(rec_attr(&g_rec[0], "cseq") == NULL); /* not in this event */
	}
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_CONTACT_REFRESH], 1);
	/* not refreshed: both expire at 600 s, the refresh fired once only */
	g_nrec = 0;
	evr_sip_state_tick(st, 600010, WALL0_US + 600010000ull, on_event, NULL);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_CONTACT_EXPIRED], 2);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_CONTACT_REFRESH], 1);
	CHECK_EQ_INT(s->registrations, 0);

	/* a re-REGISTER before the refresh point pushes it back */
	feed(st, REG("2", CT_PN ";expires=600\n", ""), UA, 700000);
	feed(st, REG_RSP("200 OK", "2", CT_PN ";expires=600\n", ""), SRV, 700000);
	feed(st, REG("3", CT_PN ";expires=600\n", ""), UA, 1100000);
	feed(st, REG_RSP("200 OK", "3", CT_PN ";expires=600\n", ""), SRV, 1100000);
	g_nrec = 0;
	evr_sip_state_tick(st, 1180000, WALL0_US + 1180000000ull, on_event, NULL); /* old point */
	CHECK_EQ_INT(g_nrec, 0);
	evr_sip_state_tick(st, 1580000, WALL0_US + 1580000000ull, on_event, NULL); /* new one */
	CHECK_EQ_INT(g_nrec, 1);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_CONTACT_REFRESH], 2);
	/* a lifetime shorter than pn_refresh_s: no refresh point at all */
	feed(st, REG("4", CT_PN ";expires=60\n", ""), UA, 1590000);
	feed(st, REG_RSP("200 OK", "4", CT_PN ";expires=60\n", ""), SRV, 1590000);
	g_nrec = 0;
	evr_sip_state_tick(st, 1650001, WALL0_US + 1650001000ull, on_event, NULL);
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_CONTACT_REFRESH], 2);
	CHECK_EQ_INT(s->registrations, 0);
	evr_sip_state_destroy(st);
}

/* ---- evr_sip_state_premature: what evrd holds for a late request ---- */

static bool premature_of(struct evr_sip_state *st, const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p && n + 2 < sizeof(g_wire); p++) {
		if (*p == '\n')
			g_wire[n++] = '\r';
		g_wire[n++] = *p;
	}
	CHECK(evr_sip_parse(g_wire, n, &g_msg) == EVR_SIP_OK);
	return evr_sip_state_premature(st, &g_msg);
}

static void test_premature(void)
{
	struct evr_sip_state *st = make(64, 64, 3);
	const struct evr_sip_state_stats *s = evr_sip_state_stats(st);

	/* a 401 before its REGISTER, until the REGISTER arrives */
	CHECK(premature_of(st, REG_RSP("401 Unauthorized", "1", CT1 "\n", "")));
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_MSGS], 0); /* read-only */
	CHECK_EQ_INT(s->c[EVR_SIP_STATE_ORPHAN_RESPONSE], 0);
	CHECK(!premature_of(st, REG("1", CT1 "\n", ""))); /* requests never are */
	feed(st, REG("1", CT1 "\n", ""), UA, 0);
	CHECK(!premature_of(st, REG_RSP("401 Unauthorized", "1", CT1 "\n", "")));
	CHECK(premature_of(st, REG_RSP("200 OK", "2", CT1 "\n", ""))); /* CSeq 2 not seen */

	/* INVITE: responses before it; ACK and BYE before its final answer */
	CHECK(premature_of(st, RSP("180 Ringing", "1", "INVITE", ";tag=t2", "")));
	/* a 100 Trying as well (it raised orphan_response when it overtook
	 * a fragmented INVITE in sip_mirror_e2e under stress-ng) */
	CHECK(premature_of(st, RSP("100 Trying", "1", "INVITE", "", "")));
	CHECK(premature_of(st, REQ("ACK", "1", ";tag=t2", "")));
	CHECK(premature_of(st, REQ("CANCEL", "1", "", "")));
	/* responses to CANCEL/BYE raise nothing, but without the dialog they
	 * would be orphans: held too (a 200 CANCEL overtaking its INVITE
	 * through another worker, seen under CPU load in sip_mirror_e2e) */
	CHECK(premature_of(st, RSP("200 OK", "1", "CANCEL", ";tag=t2", "")));
	CHECK(premature_of(st, RSP("200 OK", "2", "BYE", ";tag=t2", "")));
	feed(st, INV("1", ""), UA, 0);
	CHECK(!premature_of(st, RSP("200 OK", "1", "CANCEL", ";tag=t2", "")));
	CHECK(!premature_of(st, RSP("180 Ringing", "1", "INVITE", ";tag=t2", "")));
	CHECK(premature_of(st, REQ("ACK", "1", ";tag=t2", "")));  /* the 200 is late */
	CHECK(premature_of(st, REQ("BYE", "2", ";tag=t2", "")));
	CHECK(!premature_of(st, REQ("CANCEL", "1", "", "")));     /* a CANCEL while ringing */
	CHECK(!premature_of(st, REQ("ACK", "3", ";tag=t2", "")));  /* not the INVITE's ACK */
	feed(st, RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 1);
	CHECK(!premature_of(st, REQ("ACK", "1", ";tag=t2", "")));
	CHECK(!premature_of(st, REQ("BYE", "2", ";tag=t2", "")));
	CHECK(!premature_of(st, RSP("200 OK", "2", "BYE", ";tag=t2", ""))); /* never held */
	evr_sip_state_destroy(st);

	/* The callee's side of a known dialog, found by its To tag: never
	 * held, whatever its CSeq. Unknown dialog: held as for the caller. */
	static const char *const callee_side[] = {
		CALLEE_REQ("INVITE", "1", ""),
		CALLEE_RSP("100 Trying", "1", "INVITE", ""),
		CALLEE_RSP("200 OK", "1", "INVITE", ""),
		CALLEE_REQ("ACK", "1", ""),
		CALLEE_REQ("UPDATE", "2", SESSION_TIMER),
		CALLEE_RSP("200 OK", "2", "UPDATE", SESSION_TIMER),
		CALLEE_REQ("INFO", "3", ""),
		CALLEE_RSP("200 OK", "3", "INFO", ""),
		CALLEE_REQ("INVITE", "4", SESSION_TIMER),
		CALLEE_RSP("200 OK", "4", "INVITE", SESSION_TIMER),
		CALLEE_REQ("ACK", "4", ""),
		BYE_CALLEE("5", ""),
		CALLEE_RSP("200 OK", "5", "BYE", ""),
	};
	st = make(64, 64, 3);
	CHECK(premature_of(st, CALLEE_RSP("200 OK", "1", "INVITE", "")));
	CHECK(premature_of(st, CALLEE_REQ("ACK", "1", "")));
	feed(st, INV("1", ""), UA, 0);
	/* unanswered here: a callee ACK means the 2xx is still in flight */
	CHECK(premature_of(st, CALLEE_REQ("ACK", "1", "")));
	feed(st, RSP_SDP("200 OK", "1", ";tag=t2"), SRV, 1);
	feed(st, REQ("ACK", "1", ";tag=t2", ""), UA, 2);
	for (unsigned k = 0; k < ARRAY_SIZE(callee_side); k++)
		CHECK_MSG(!premature_of(st, callee_side[k]), "callee side %u held:\n%s", k,
		          callee_side[k]);
	evr_sip_state_destroy(st);
}

/*
 * Records are reused without being cleared: whatever an earlier REGISTER
 * transaction, contact or dialog left in a slot must not show through. One
 * dialog and one contact per shard, and the transaction freed just before,
 * make every new record land in the slot the previous one used.
 */
static void test_record_reuse(void)
{
	struct evr_sip_state *st = make(1, 1, EVR_SIP_STATE_OPENSIPS | EVR_SIP_STATE_FREESWITCH);
	const char *uid;
	char uid_a[64];

	if (st == NULL)
		return;
	/* bob: Authorization, a display name, q and an Expires header */
	feed(st, "REGISTER sip:example.com SIP/2.0\n"
	         "Via: SIP/2.0/TCP 10.0.0.5:5062;branch=z9hG4bK-ru1\n"
	         "From: \"Bob\" <sip:bob@example.com>;tag=ru1\nTo: <sip:bob@example.com>\n"
	         "Call-ID: reuse-bob\nCSeq: 7 REGISTER\n"
	         "Contact: \"Bob Phone\" <sip:bob@10.0.0.5:5062>;q=0.5\nExpires: 600\n" AUTHZ
	         "User-Agent: Bobphone/2\nContent-Length: 0\n\n", UA, 0);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, "SIP/2.0 200 OK\n"
	                      "Via: SIP/2.0/TCP 10.0.0.5:5062;branch=z9hG4bK-ru1\n"
	                      "From: \"Bob\" <sip:bob@example.com>;tag=ru1\n"
	                      "To: <sip:bob@example.com>;tag=s1\n"
	                      "Call-ID: reuse-bob\nCSeq: 7 REGISTER\n"
	                      "Contact: <sip:bob@10.0.0.5:5062>;expires=600\n"
	                      "Content-Length: 0\n\n", SRV, 10), 3);
	CHECK(g_nrec == 3 && strcmp(rec_attr(&g_rec[2], "username"), "bob") == 0
	      && strcmp(rec_attr(&g_rec[2], "status"), "Registered(TCP)") == 0
	      && strcmp(rec_attr(&g_rec[1], "qval"), "500") == 0);
	/* the transaction lingers, then its slot is free */
	CHECK_EQ_INT(evr_sip_state_tick(st, 40000, WALL0_US, on_event, NULL), 0);

	/* carol: none of that; her transaction takes bob's slot, her contact
	 * evicts his */
	feed(st, "REGISTER sip:example.net SIP/2.0\n"
	         "Via: SIP/2.0/UDP 10.0.0.7:5064;branch=z9hG4bK-ru2\n"
	         "From: <sip:carol@example.net>;tag=ru2\nTo: <sip:carol@example.net>\n"
	         "Call-ID: reuse-carol\nCSeq: 1 REGISTER\nContact: <sip:carol@10.0.0.7>\n"
	         "Content-Length: 0\n\n", UA2, 41000);
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, "SIP/2.0 200 OK\n"
	                      "Via: SIP/2.0/UDP 10.0.0.7:5064;branch=z9hG4bK-ru2\n"
	                      "From: <sip:carol@example.net>;tag=ru2\n"
	                      "To: <sip:carol@example.net>;tag=s2\n"
	                      "Call-ID: reuse-carol\nCSeq: 1 REGISTER\n"
	                      "Contact: <sip:carol@10.0.0.7>;expires=60\n"
	                      "Content-Length: 0\n\n", SRV, 41010), 3);
	CHECK_EQ_INT(evr_sip_state_stats(st)->c[EVR_SIP_STATE_CONTACT_EVICTED], 1);
	if (g_nrec == 3) {
		const struct rec_ev *ct = &g_rec[1], *reg = &g_rec[2];

		CHECK(strcmp(g_rec[0].key, "E_UL_AOR_INSERT") == 0);
		CHECK(strcmp(rec_attr(ct, "aor"), "carol@example.net") == 0);
		CHECK(strcmp(rec_attr(ct, "qval"), "-1") == 0);
		CHECK(strcmp(rec_attr(ct, "user_agent"), "") == 0);
		CHECK(strcmp(rec_attr(ct, "callid"), "reuse-carol") == 0);
		CHECK(strcmp(rec_attr(ct, "received"), "sip:10.0.0.7:5064") == 0);
		CHECK(strcmp(rec_attr(reg, "username"), "unknown") == 0);
		CHECK(strcmp(rec_attr(reg, "realm"), "example.net") == 0);
		CHECK(strcmp(rec_attr(reg, "contact"), "<sip:carol@10.0.0.7>") == 0);
		CHECK(strcmp(rec_attr(reg, "status"), "Registered(UDP)") == 0);
		CHECK(strcmp(rec_attr(reg, "expires"), "60") == 0);
		CHECK(strcmp(rec_attr(reg, "user-agent"), "") == 0);
	}

	/* a dialog with a display name and a To tag, ended and reaped */
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, INV("1", ""), UA, 50000), 1);
	CHECK(g_nrec == 1 && strcmp(rec_attr(&g_rec[0], "Caller-Caller-ID-Name"), "Alice") == 0);
	snprintf(uid_a, sizeof(uid_a), "%s", g_nrec ? rec_attr(&g_rec[0], "Unique-ID") : "");
	CHECK_EQ_INT(feed(st, RSP("200 OK", "1", "INVITE", ";tag=t2", ""), SRV, 50010), 2);
	CHECK_EQ_INT(feed(st, REQ("BYE", "2", ";tag=t2", ""), UA, 50020), 3);
	CHECK_EQ_INT(evr_sip_state_tick(st, 90000, WALL0_US, on_event, NULL), 0);
	CHECK_EQ_INT(evr_sip_state_stats(st)->dialogs, 0);

	/* the next one takes its slot: no display name, no To tag yet */
	g_nrec = 0;
	CHECK_EQ_INT(feed(st, "INVITE sip:4000@example.org SIP/2.0\n"
	                      "Via: SIP/2.0/UDP 10.0.0.7:5064;branch=z9hG4bK-ru3\n"
	                      "From: <sip:3000@example.org>;tag=d1\nTo: <sip:4000@example.org>\n"
	                      "Call-ID: reuse-call-2\nCSeq: 5 INVITE\nContent-Length: 0\n\n",
	                  UA2, 91000), 1);
	CHECK_EQ_INT(feed(st, "SIP/2.0 180 Ringing\n"
	                      "Via: SIP/2.0/UDP 10.0.0.7:5064;branch=z9hG4bK-ru3\n"
	                      "From: <sip:3000@example.org>;tag=d1\nTo: <sip:4000@example.org>\n"
	                      "Call-ID: reuse-call-2\nCSeq: 5 INVITE\nContent-Length: 0\n\n",
	                  SRV, 91010), 2);
	if (g_nrec == 3) {
		const struct rec_ev *cr = &g_rec[0], *dlg = &g_rec[2];

		CHECK(strcmp(rec_attr(cr, "Caller-Caller-ID-Name"), "3000") == 0);
		CHECK(strcmp(rec_attr(cr, "Caller-Destination-Number"), "4000") == 0);
		CHECK(strcmp(rec_attr(cr, "variable_sip_from_host"), "example.org") == 0);
		CHECK(strcmp(rec_attr(cr, "variable_sip_call_id"), "reuse-call-2") == 0);
		CHECK(strcmp(rec_attr(cr, "Channel-Name"), "sofia/internal/3000@example.org") == 0);
		CHECK(strcmp(rec_attr(cr, "Caller-Network-Addr"), "10.0.0.7") == 0);
		uid = rec_attr(cr, "Unique-ID");
		CHECK(uid && strlen(uid) == 36 && strcmp(uid, uid_a) != 0);
		CHECK(uid && strcmp(rec_attr(&g_rec[1], "Unique-ID"), uid) == 0);
		CHECK(strcmp(dlg->key, "E_DLG_STATE_CHANGED") == 0);
		CHECK(strcmp(rec_attr(dlg, "to_tag"), "") == 0);
		CHECK(strcmp(rec_attr(dlg, "callid"), "reuse-call-2") == 0);
		CHECK(strcmp(rec_attr(dlg, "from_tag"), "d1") == 0);
		CHECK(strcmp(rec_attr(dlg, "old_state"), "1") == 0);
	} else {
		CHECK_MSG(0, "%u events", g_nrec);
	}
	evr_sip_state_destroy(st);
}

/* Digest parameters are found after the start, a space, a comma or a tab
 * only (the scan jumps between those), in any case, quoted or not. */
static void test_auth_params(void)
{
	static const struct {
		const char *authz, *user, *realm;
	} cases[] = {
		{ "Digest username=\"u1\", realm=\"r1\"", "u1", "r1" },
		{ "Digest realm=\"r2\",username=\"u2\"", "u2", "r2" },
		{ "Digest xusername=\"no\", username=\"yes\",\trealm=r3", "yes", "r3" },
		{ "Digest USERNAME=\"U4\", Realm=\"R4\", nonce=\"n\"", "U4", "R4" },
		{ "Digest nonce=\"n\", uri=\"sip:x\", response=\"0\"", "unknown", "example.com" },
		{ "Digest username=u7,realm=r7", "u7", "r7" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct evr_sip_state *st = make(4, 4, EVR_SIP_STATE_FREESWITCH);
		char msg[1024];

		if (st == NULL)
			return;
		snprintf(msg, sizeof(msg), REG("1", CT1 "\n", "Authorization: %s\n"), cases[i].authz);
		feed(st, msg, UA, 0);
		g_nrec = 0;
		CHECK_EQ_INT(feed(st, REG_RSP("200 OK", "1", CT1 ";expires=60\n", ""), SRV, 5), 1);
		if (g_nrec == 1) {
			CHECK_MSG(strcmp(rec_attr(&g_rec[0], "username"), cases[i].user) == 0,
			          "#%zu username %s", i, rec_attr(&g_rec[0], "username"));
			CHECK_MSG(strcmp(rec_attr(&g_rec[0], "realm"), cases[i].realm) == 0,
			          "#%zu realm %s", i, rec_attr(&g_rec[0], "realm"));
		}
		evr_sip_state_destroy(st);
	}
}

int main(void)
{
	evr_limits_default(&g_lim);
	run_flows();
	test_counters();
	test_eviction();
	test_field_too_long();
	test_limits();
	test_families();
	test_std_headers();
	test_ipv6();
	test_tick_budget();
	test_dlg_ids();
	test_timer_heap();
	test_encode();
	test_unique_id();
	test_shard();
	test_api();
	test_premature();
	test_record_reuse();
	test_auth_params();
	test_pn_refresh();
	EVR_TEST_DONE();
}
