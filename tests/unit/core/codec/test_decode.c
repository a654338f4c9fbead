/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder tests: event model helpers, then table-driven valid and malformed
 * inputs for the three formats and EVR_FMT_AUTO, limits at and one past each
 * bound, scratch reuse, and inputs the fuzzers found. Every malformed case
 * asserts its exact status; every valid case asserts the whole event (name,
 * subclass, body, priority, source format, attributes with flags) and that
 * each view lies NUL-terminated inside the scratch.
 */
#include <errno.h>

#include "codec/evr_decode.h"
#include "evr_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXPECT 16

/* attribute expectation; idx < 0 means "the next one in order" */
struct kv {
	int idx;
	const char *name;
	const char *value;
	uint32_t flags;
};

struct valid_case {
	const char *label;
	enum evr_format fmt;
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum evr_format src;
	const char *name;
	const char *subclass;
	const char *body;
	enum evr_priority prio;
	uint32_t n_attrs;
	struct kv attrs[MAX_EXPECT]; /* all of them, or spot checks by idx */
};

struct bad_case {
	const char *label;
	enum evr_format fmt;
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum evr_decode_status st;
};

static bool view_in_scratch(const struct evr_scratch *s, const struct evr_str *v)
{
	const char *lo = s->buf, *hi = s->buf + s->buf_used;

	return v->p >= lo && v->p + v->len < hi && v->p[v->len] == '\0' &&
	       memchr(v->p, '\0', v->len) == NULL;
}

/* Structural contract of any successful decode. */
static void check_views(const char *label, const struct evr_scratch *s)
{
	const struct evr_event *ev = &s->ev;

	CHECK_MSG(view_in_scratch(s, &ev->name), "%s: name view", label);
	CHECK_MSG(view_in_scratch(s, &ev->subclass), "%s: subclass view", label);
	CHECK_MSG(view_in_scratch(s, &ev->body), "%s: body view", label);
	CHECK_MSG(ev->attrs == s->attrs, "%s: attrs in scratch", label);
	CHECK_MSG(ev->n_attrs <= s->lim.max_attrs, "%s: n_attrs", label);
	for (uint32_t i = 0; i < ev->n_attrs && i < s->lim.max_attrs; i++) {
		CHECK_MSG(view_in_scratch(s, &ev->attrs[i].name) &&
		          view_in_scratch(s, &ev->attrs[i].value),
		          "%s: attr %u views", label, i);
	}
}

static void run_valid(struct evr_scratch *s, const struct valid_case *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	enum evr_decode_status st = evr_decode(c->fmt, c->in, len, s);
	const struct evr_event *ev = &s->ev;
	int next = 0;

	CHECK_MSG(st == EVR_DEC_OK, "%s: status %s", c->label, evr_decode_status_name(st));
	if (st != EVR_DEC_OK)
		return;
	check_views(c->label, s);
	CHECK_MSG(ev->src_format == c->src, "%s: src_format %s", c->label,
	          evr_format_name(ev->src_format));
	CHECK_MSG(ev->name.len == strlen(c->name) && strcmp(ev->name.p, c->name) == 0,
	          "%s: name \"%s\"", c->label, ev->name.p);
	CHECK_MSG(strcmp(ev->subclass.p, c->subclass ? c->subclass : "") == 0 &&
	          ev->subclass.len == strlen(ev->subclass.p),
	          "%s: subclass \"%s\"", c->label, ev->subclass.p);
	CHECK_MSG(strcmp(ev->body.p, c->body ? c->body : "") == 0 &&
	          ev->body.len == strlen(ev->body.p),
	          "%s: body \"%s\"", c->label, ev->body.p);
	CHECK_MSG(ev->priority == c->prio, "%s: priority %d", c->label, ev->priority);
	CHECK_MSG(ev->n_attrs == c->n_attrs, "%s: n_attrs %u", c->label, ev->n_attrs);
	for (size_t i = 0; i < MAX_EXPECT && c->attrs[i].name; i++) {
		const struct kv *k = &c->attrs[i];
		int idx = k->idx >= 0 ? k->idx : next;
		const struct evr_attr *a;

		next = idx + 1;
		if ((uint32_t)idx >= ev->n_attrs) {
			CHECK_MSG(0, "%s: attr %d missing", c->label, idx);
			continue;
		}
		a = &ev->attrs[idx];
		CHECK_MSG(a->name.len == strlen(k->name) && strcmp(a->name.p, k->name) == 0,
		          "%s: attr %d name \"%s\" want \"%s\"", c->label, idx, a->name.p, k->name);
		CHECK_MSG(a->value.len == strlen(k->value) &&
		          strcmp(a->value.p, k->value) == 0,
		          "%s: attr %d (%s) value \"%s\" want \"%s\"", c->label, idx,
		          k->name, a->value.p, k->value);
		CHECK_MSG(a->value.flags == k->flags && a->name.flags == 0,
		          "%s: attr %d flags %u", c->label, idx, a->value.flags);
	}
}

static void run_bad(struct evr_scratch *s, const struct bad_case *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	enum evr_decode_status st = evr_decode(c->fmt, c->in, len, s);

	CHECK_MSG(st == c->st, "%s: got %s want %s", c->label,
	          evr_decode_status_name(st), evr_decode_status_name(c->st));
}

/* Which statuses the malformed tables and the limit tests produced. */
static bool seen[EVR_DEC__COUNT];

static enum evr_decode_status note(enum evr_decode_status st)
{
	if ((unsigned)st < EVR_DEC__COUNT)
		seen[st] = true;
	return st;
}

/* ------------------------------------------------------------------ */
/* event model helpers                                                 */

static void test_model(void)
{
	enum evr_format f;
	struct evr_limits l, d;
	struct evr_scratch s;
	char err[128];

	CHECK_EQ_INT(evr_format_parse("jsonrpc", &f), 0);
	CHECK_EQ_INT(f, EVR_FMT_JSONRPC);
	CHECK_EQ_INT(evr_format_parse("plain", &f), 0);
	CHECK_EQ_INT(f, EVR_FMT_PLAIN);
	CHECK_EQ_INT(evr_format_parse("json", &f), 0);
	CHECK_EQ_INT(f, EVR_FMT_JSON);
	CHECK_EQ_INT(evr_format_parse("auto", &f), 0);
	CHECK_EQ_INT(f, EVR_FMT_AUTO);
	CHECK_EQ_INT(evr_format_parse("JSON", &f), -EINVAL);
	CHECK_EQ_INT(evr_format_parse("", &f), -EINVAL);
	CHECK_EQ_INT(evr_format_parse("yaml", &f), -EINVAL);
	CHECK_EQ_INT(evr_format_parse("xml", &f), 0);
	CHECK_EQ_INT(f, EVR_FMT_XML);
	for (int i = 0; i < EVR_FMT__COUNT; i++) {
		CHECK_EQ_INT(evr_format_parse(evr_format_name((enum evr_format)i), &f), 0);
		CHECK_EQ_INT(f, i);
	}
	CHECK_EQ_STR(evr_format_name(EVR_FMT__COUNT), "unknown");

	/* status tables: every status named, names unique */
	for (int i = 0; i < EVR_DEC__COUNT; i++) {
		const char *n = evr_decode_status_name((enum evr_decode_status)i);
		CHECK(n != NULL && *n != '\0');
		CHECK(*evr_decode_status_text((enum evr_decode_status)i) != '\0');
		for (int j = 0; j < i; j++)
			CHECK(strcmp(n, evr_decode_status_name((enum evr_decode_status)j)) != 0);
	}
	CHECK_EQ_STR(evr_decode_status_name(EVR_DEC_OK), "ok");
	CHECK_EQ_STR(evr_decode_status_name(EVR_DEC_BAD_URL_ESCAPE), "bad_url_escape");
	CHECK_EQ_STR(evr_decode_status_text(EVR_DEC_OVERSIZE), "datagram larger than max_datagram");
	CHECK_EQ_STR(evr_decode_status_name(EVR_DEC__COUNT), "unknown");

	evr_limits_default(&d);
	CHECK_EQ_INT(d.max_attrs, 64);
	CHECK_EQ_INT(d.max_name_len, 128);
	CHECK_EQ_INT(d.max_value_len, 4096);
	CHECK_EQ_INT(d.max_datagram, 65507);
	CHECK_EQ_INT(evr_limits_validate(&d, err, sizeof(err)), 0);

	l = d;
	l.max_attrs = 0;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max_attrs") != NULL);
	l.max_attrs = EVR_LIMITS_HARD_MAX_ATTRS + 1;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max_attrs") != NULL && strstr(err, "1025") != NULL);
	l.max_attrs = EVR_LIMITS_HARD_MAX_ATTRS;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), 0);
	l = d;
	l.max_name_len = 0;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max_name_len") != NULL);
	l = d;
	l.max_value_len = 0;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max_value_len") != NULL);
	l = d;
	l.max_datagram = 0;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max_datagram") != NULL);
	l.max_datagram = EVR_UDP_MAX_PAYLOAD + 1;
	CHECK_EQ_INT(evr_limits_validate(&l, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max_datagram") != NULL && strstr(err, "65508") != NULL);
	CHECK_EQ_INT(evr_limits_validate(&l, NULL, 0), -EINVAL);
	CHECK_EQ_INT(evr_scratch_init(&s, &l), -EINVAL);
	CHECK(s.buf == NULL && s.attrs == NULL && s.json == NULL);
	CHECK_EQ_INT(evr_scratch_init(&s, NULL), -EINVAL);

	CHECK_EQ_INT(evr_scratch_init(&s, &d), 0);
	CHECK(s.attrs != NULL && s.buf != NULL && s.json != NULL);
	CHECK(s.buf_cap > d.max_datagram);
	CHECK(s.tok_cap >= 2 * d.max_attrs + 16);
	CHECK_EQ_INT(s.lim.max_attrs, 64);
	evr_scratch_fini(&s);
	CHECK(s.buf == NULL && s.attrs == NULL && s.json == NULL);
	evr_scratch_fini(&s); /* idempotent */

	/* evr_event_find: case-insensitive, first match, exact length */
	{
		struct evr_attr at[3] = {
			{ { "Event-Name", 10, 0 }, { "A", 1, 0 } },
			{ { "event-name", 10, 0 }, { "B", 1, 0 } },
			{ { "X", 1, 0 }, { "", 0, EVR_STR_NULL } },
		};
		struct evr_event ev = { .n_attrs = 3, .attrs = at };

		CHECK(evr_event_find(&ev, "EVENT-NAME", 10) == &at[0]);
		CHECK(evr_event_find(&ev, "x", 1) == &at[2]);
		CHECK(evr_event_find(&ev, "Event-Nam", 9) == NULL);
		CHECK(evr_event_find(&ev, "Event-Names", 11) == NULL);
		ev.n_attrs = 0;
		CHECK(evr_event_find(&ev, "X", 1) == NULL);
	}
}

/* ------------------------------------------------------------------ */
/* valid inputs                                                        */

#define E_UL_CONTACT_INSERT                                                    \
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_UL_CONTACT_INSERT\",\"params\":{"  \
	"\"aor\":\"alice@example.com\","                                       \
	"\"uri\":\"sip:alice@198.51.100.23:5060;transport=udp\","              \
	"\"received\":\"sip:203.0.113.9:41234\",\"path\":\"\",\"qval\":-1,"    \
	"\"socket\":\"udp:192.0.2.1:5060\",\"bflags\":0,\"expires\":3600,"     \
	"\"callid\":\"a84b4c76e66710@pc33.example.com\",\"cseq\":314159,"      \
	"\"attr\":null,\"latency\":0,"                                         \
	"\"user_agent\":\"Linphone/5.2 (belle-sip/5.2.0)\"}}"

#define FS_CHANNEL_CREATE                                                      \
	"Event-Name: CHANNEL_CREATE\n"                                         \
	"Core-UUID: 2130a7d1-c1f7-44cd-8fae-8ed5946f3cec\n"                    \
	"FreeSWITCH-Hostname: fs01.example.com\n"                              \
	"FreeSWITCH-Switchname: fs01.example.com\n"                            \
	"FreeSWITCH-IPv4: 192.0.2.20\n"                                        \
	"FreeSWITCH-IPv6: %3A%3A1\n"                                           \
	"Event-Date-Local: 2024-03-05%2014%3A22%3A07\n"                        \
	"Event-Date-GMT: Tue,%2005%20Mar%202024%2013%3A22%3A07%20GMT\n"        \
	"Event-Date-Timestamp: 1709644927466079\n"                             \
	"Event-Calling-File: switch_core_state_machine.c\n"                    \
	"Event-Calling-Function: switch_core_session_run\n"                    \
	"Event-Calling-Line-Number: 604\n"                                     \
	"Event-Sequence: 5147\n"                                               \
	"Channel-State: CS_INIT\n"                                             \
	"Channel-Call-State: DOWN\n"                                           \
	"Channel-State-Number: 2\n"                                            \
	"Channel-Name: sofia/internal/1000%40192.0.2.20\n"                     \
	"Unique-ID: 8d5a3b2e-6f1c-4d7a-9e8b-1c2d3e4f5a6b\n"                    \
	"Call-Direction: inbound\n"                                            \
	"Presence-Call-Direction: inbound\n"                                   \
	"Channel-HIT-Dialplan: true\n"                                         \
	"Channel-Presence-ID: 1000%40192.0.2.20\n"                             \
	"Answer-State: ringing\n"                                              \
	"Caller-Direction: inbound\n"                                          \
	"Caller-Logical-Direction: inbound\n"                                  \
	"Caller-Username: 1000\n"                                              \
	"Caller-Dialplan: XML\n"                                               \
	"Caller-Caller-ID-Name: Alice%20Smith\n"                               \
	"Caller-Caller-ID-Number: 1000\n"                                      \
	"Caller-Orig-Caller-ID-Name: Alice%20Smith\n"                          \
	"Caller-Orig-Caller-ID-Number: 1000\n"                                 \
	"Caller-Network-Addr: 198.51.100.23\n"                                 \
	"Caller-ANI: 1000\n"                                                   \
	"Caller-Destination-Number: 2000\n"                                    \
	"Caller-Unique-ID: 8d5a3b2e-6f1c-4d7a-9e8b-1c2d3e4f5a6b\n"             \
	"Caller-Source: mod_sofia\n"                                           \
	"Caller-Context: default\n"                                            \
	"Caller-Channel-Name: sofia/internal/1000%40192.0.2.20\n"              \
	"Caller-Profile-Index: 1\n"                                            \
	"Caller-Profile-Created-Time: 1709644927466079\n"                      \
	"Caller-Channel-Created-Time: 1709644927466079\n"                      \
	"Caller-Channel-Answered-Time: 0\n"                                    \
	"Caller-Screen-Bit: true\n"                                            \
	"Caller-Privacy-Hide-Name: false\n"                                    \
	"variable_sip_from_user: 1000\n"                                       \
	"variable_sip_from_display: Alice+Smith\n"                             \
	"variable_sip_user_agent: Linphone%2F5.2%20(belle-sip%2F5.2.0)\n"      \
	"variable_sip_h_X-Account: _undef_\n"                                  \
	"\n"
#define FS_CHANNEL_CREATE_ATTRS 48

#define FS_SOFIA_REGISTER                                                      \
	"Event-Name: CUSTOM\n"                                                 \
	"Core-UUID: 2130a7d1-c1f7-44cd-8fae-8ed5946f3cec\n"                    \
	"FreeSWITCH-Hostname: fs01.example.com\n"                              \
	"Event-Date-Timestamp: 1709644930112233\n"                             \
	"Event-Calling-File: sofia_reg.c\n"                                    \
	"Event-Calling-Function: sofia_reg_handle_register_token\n"            \
	"Event-Calling-Line-Number: 2101\n"                                    \
	"Event-Sequence: 5160\n"                                               \
	"Event-Subclass: sofia%3A%3Aregister\n"                                \
	"profile-name: internal\n"                                             \
	"from-user: 1000\n"                                                    \
	"from-host: example.com\n"                                             \
	"presence-hosts: example.com,192.0.2.20\n"                             \
	"contact: %22Alice%22%20%3Csip%3A1000%40198.51.100.23%3A5060%3Btransport%3Dudp%3E\n" \
	"call-id: a84b4c76e66710%40pc33.example.com\n"                         \
	"rpid: unknown\n"                                                      \
	"status: Registered(UDP)\n"                                            \
	"expires: 3600\n"                                                      \
	"to-user: 1000\n"                                                      \
	"to-host: example.com\n"                                               \
	"network-ip: 198.51.100.23\n"                                          \
	"network-port: 5060\n"                                                 \
	"username: 1000\n"                                                     \
	"realm: example.com\n"                                                 \
	"user-agent: Linphone%2F5.2\n"                                         \
	"\n"

#define FS_MSG_BODY                                                            \
	"Event-Name: MESSAGE\n"                                                \
	"Event-Subclass: _undef_\n"                                            \
	"priority: LOW\n"                                                      \
	"Content-Type: text/plain\n"                                           \
	"Content-Length: 12\n"                                                 \
	"\n"                                                                   \
	"hello\nworld!"

/* the same event in the ESL envelope, CRLF and Content-Type first */
#define FS_ENVELOPED_BODY                                                      \
	"Content-Type: text/event-plain\r\n"                                   \
	"Content-Length: 115\r\n"                                              \
	"\r\n" FS_MSG_BODY

#define ENVELOPE_HB_INNER "Event-Name: HEARTBEAT\nUp-Time: 0%20years\n\n"

static const struct valid_case valid_cases[] = {
	/* ---- OpenSIPS JSON-RPC ---- */
	{ "rpc aor insert", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_UL_AOR_INSERT\",\"params\":"
	  "{\"aor\":\"bob@example.com\",\"domain\":\"example.com\"}}", 0,
	  EVR_FMT_JSONRPC, "E_UL_AOR_INSERT", NULL, NULL, EVR_PRIO_NORMAL, 2,
	  { { -1, "aor", "bob@example.com", 0 }, { -1, "domain", "example.com", 0 } } },
	{ "rpc contact insert", EVR_FMT_JSONRPC, E_UL_CONTACT_INSERT, 0,
	  EVR_FMT_JSONRPC, "E_UL_CONTACT_INSERT", NULL, NULL, EVR_PRIO_NORMAL, 13,
	  { { -1, "aor", "alice@example.com", 0 },
	    { -1, "uri", "sip:alice@198.51.100.23:5060;transport=udp", 0 },
	    { -1, "received", "sip:203.0.113.9:41234", 0 },
	    { -1, "path", "", 0 },
	    { -1, "qval", "-1", EVR_STR_LITERAL },
	    { -1, "socket", "udp:192.0.2.1:5060", 0 },
	    { -1, "bflags", "0", EVR_STR_LITERAL },
	    { -1, "expires", "3600", EVR_STR_LITERAL },
	    { -1, "callid", "a84b4c76e66710@pc33.example.com", 0 },
	    { -1, "cseq", "314159", EVR_STR_LITERAL },
	    { -1, "attr", "", EVR_STR_NULL },
	    { -1, "latency", "0", EVR_STR_LITERAL },
	    { -1, "user_agent", "Linphone/5.2 (belle-sip/5.2.0)", 0 } } },
	{ "rpc positional params", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_MY_EVENT\",\"params\":"
	  "[\"x\",42,true,false,null,-1.5e3,\"\"]}", 0,
	  EVR_FMT_JSONRPC, "E_MY_EVENT", NULL, NULL, EVR_PRIO_NORMAL, 7,
	  { { -1, "1", "x", 0 }, { -1, "2", "42", EVR_STR_LITERAL },
	    { -1, "3", "true", EVR_STR_LITERAL }, { -1, "4", "false", EVR_STR_LITERAL },
	    { -1, "5", "", EVR_STR_NULL }, { -1, "6", "-1.5e3", EVR_STR_LITERAL },
	    { -1, "7", "", 0 } } },
	{ "rpc no params", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_CORE_SHUTDOWN\"}", 0,
	  EVR_FMT_JSONRPC, "E_CORE_SHUTDOWN", NULL, NULL, EVR_PRIO_NORMAL, 0, { { 0 } } },
	{ "rpc empty params object and array", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_A\",\"params\":{}}", 0,
	  EVR_FMT_JSONRPC, "E_A", NULL, NULL, EVR_PRIO_NORMAL, 0, { { 0 } } },
	{ "rpc empty params array", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_A\",\"params\":[ ]}", 0,
	  EVR_FMT_JSONRPC, "E_A", NULL, NULL, EVR_PRIO_NORMAL, 0, { { 0 } } },
	{ "rpc id tolerated, unknown members and member order", EVR_FMT_JSONRPC,
	  "{\"params\":{\"ip\":\"198.51.100.7\"},\"id\":{\"x\":[1,{}]},"
	  "\"x-extra\":[null],\"method\":\"E_PIKE_BLOCKED\",\"jsonrpc\":\"2.0\"}", 0,
	  EVR_FMT_JSONRPC, "E_PIKE_BLOCKED", NULL, NULL, EVR_PRIO_NORMAL, 1,
	  { { -1, "ip", "198.51.100.7", 0 } } },
	{ "rpc duplicate member: first wins", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_FIRST\",\"method\":\"E_SECOND\"}", 0,
	  EVR_FMT_JSONRPC, "E_FIRST", NULL, NULL, EVR_PRIO_NORMAL, 0, { { 0 } } },
	{ "rpc pretty printed", EVR_FMT_JSONRPC,
	  " \r\n{\n\t\"jsonrpc\" : \"2.0\" ,\n\t\"method\" : \"E_X\" ,\n\t\"params\" : "
	  "{ \"a\" : 1 , \"b\" : null }\n}\n", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_NORMAL, 2,
	  { { -1, "a", "1", EVR_STR_LITERAL }, { -1, "b", "", EVR_STR_NULL } } },
	{ "rpc escapes, subclass, priority", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"meth\\u006fd\":\"E_\\u00c9V\",\"params\":{"
	  "\"s\":\"q\\\"b\\\\s\\/f\\b\\f\\n\\r\\t.\","
	  "\"u\":\"\\u20ac\\ud83d\\ude00\\uD834\\uDD1E\","
	  "\"event-subclass\":\"sofia::register\",\"Priority\":\"high\","
	  "\"k\\u00e9y\":\"\\u007f\"}}", 0,
	  EVR_FMT_JSONRPC, "E_\xc3\x89V", "sofia::register", NULL, EVR_PRIO_HIGH, 5,
	  { { -1, "s", "q\"b\\s/f\b\f\n\r\t.", 0 },
	    { -1, "u", "\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9d\x84\x9e", 0 },
	    { -1, "event-subclass", "sofia::register", 0 },
	    { -1, "Priority", "high", 0 },
	    { -1, "k\xc3\xa9y", "\x7f", 0 } } },
	{ "rpc priority LOW, unknown priority value", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{\"priority\":\"LOW\","
	  "\"PRIORITY\":\"HIGH\"}}", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_LOW, 2,
	  { { -1, "priority", "LOW", 0 }, { -1, "PRIORITY", "HIGH", 0 } } },
	{ "rpc bogus priority is NORMAL", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{\"priority\":\"URGENT\"}}", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_NORMAL, 1,
	  { { -1, "priority", "URGENT", 0 } } },
	{ "rpc Content-Length param is an ordinary attribute", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{\"Content-Length\":\"5\"}}", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_NORMAL, 1,
	  { { -1, "Content-Length", "5", 0 } } },
	{ "rpc raw non-UTF-8 bytes pass through", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":\"\xed\xa0\x80\",\"params\":"
	  "{\"n\":\"Jos\xc3\xa9 \xff\",\"\xc0\xaf\":\"\xe9t\xe9\"}}", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_NORMAL, 2,
	  { { -1, "n", "Jos\xc3\xa9 \xff", 0 }, { -1, "\xc0\xaf", "\xe9t\xe9", 0 } } },
	{ "rpc UTF-8 passes through", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{\"n\":\"Jos\xc3\xa9 \xf0\x9f\x98\x80\"}}", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_NORMAL, 1,
	  { { -1, "n", "Jos\xc3\xa9 \xf0\x9f\x98\x80", 0 } } },

	/* ---- FreeSWITCH plain ---- */
	{ "plain CHANNEL_CREATE", EVR_FMT_PLAIN, FS_CHANNEL_CREATE, 0,
	  EVR_FMT_PLAIN, "CHANNEL_CREATE", NULL, NULL, EVR_PRIO_NORMAL,
	  FS_CHANNEL_CREATE_ATTRS,
	  { { 0, "Event-Name", "CHANNEL_CREATE", 0 },
	    { 5, "FreeSWITCH-IPv6", "::1", 0 },
	    { 6, "Event-Date-Local", "2024-03-05 14:22:07", 0 },
	    { 7, "Event-Date-GMT", "Tue, 05 Mar 2024 13:22:07 GMT", 0 },
	    { 16, "Channel-Name", "sofia/internal/1000@192.0.2.20", 0 },
	    { 27, "Caller-Caller-ID-Name", "Alice Smith", 0 },
	    { 28, "Caller-Caller-ID-Number", "1000", 0 },
	    { 32, "Caller-ANI", "1000", 0 },
	    { 33, "Caller-Destination-Number", "2000", 0 },
	    { 45, "variable_sip_from_display", "Alice+Smith", 0 },
	    { 46, "variable_sip_user_agent", "Linphone/5.2 (belle-sip/5.2.0)", 0 },
	    { 47, "variable_sip_h_X-Account", "", EVR_STR_NULL } } },
	{ "plain CUSTOM sofia::register", EVR_FMT_PLAIN, FS_SOFIA_REGISTER, 0,
	  EVR_FMT_PLAIN, "CUSTOM", "sofia::register", NULL, EVR_PRIO_NORMAL, 25,
	  { { 0, "Event-Name", "CUSTOM", 0 },
	    { 8, "Event-Subclass", "sofia::register", 0 },
	    { 9, "profile-name", "internal", 0 },
	    { 13, "contact", "\"Alice\" <sip:1000@198.51.100.23:5060;transport=udp>", 0 },
	    { 14, "call-id", "a84b4c76e66710@pc33.example.com", 0 },
	    { 16, "status", "Registered(UDP)", 0 },
	    { 24, "user-agent", "Linphone/5.2", 0 } } },
	{ "plain body, Content-Length not kept", EVR_FMT_PLAIN, FS_MSG_BODY, 0,
	  EVR_FMT_PLAIN, "MESSAGE", NULL, "hello\nworld!", EVR_PRIO_LOW, 4,
	  { { -1, "Event-Name", "MESSAGE", 0 }, { -1, "Event-Subclass", "", EVR_STR_NULL },
	    { -1, "priority", "LOW", 0 }, { -1, "Content-Type", "text/plain", 0 } } },
	{ "plain ESL envelope", EVR_FMT_PLAIN,
	  "Content-Length: 42\nContent-Type: text/event-plain\n\n" ENVELOPE_HB_INNER, 0,
	  EVR_FMT_PLAIN, "HEARTBEAT", NULL, NULL, EVR_PRIO_NORMAL, 2,
	  { { -1, "Event-Name", "HEARTBEAT", 0 }, { -1, "Up-Time", "0 years", 0 } } },
	{ "plain ESL envelope, CRLF, type first, inner body", EVR_FMT_PLAIN,
	  FS_ENVELOPED_BODY, 0,
	  EVR_FMT_PLAIN, "MESSAGE", NULL, "hello\nworld!", EVR_PRIO_LOW, 4,
	  { { 3, "Content-Type", "text/plain", 0 } } },
	{ "plain envelope type case-insensitive, trailing newline", EVR_FMT_PLAIN,
	  "content-length: 42\ncontent-type: Text/Event-Plain\n\n" ENVELOPE_HB_INNER "\r\n", 0,
	  EVR_FMT_PLAIN, "HEARTBEAT", NULL, NULL, EVR_PRIO_NORMAL, 2, { { 0 } } },
	{ "plain event starting with Content-Length", EVR_FMT_PLAIN,
	  "Content-Length: 3\nContent-Type: text/plain\nEvent-Name: X\n\nabc", 0,
	  EVR_FMT_PLAIN, "X", NULL, "abc", EVR_PRIO_NORMAL, 2,
	  { { -1, "Content-Type", "text/plain", 0 }, { -1, "Event-Name", "X", 0 } } },
	{ "plain CRLF lines, no space after colon, end without blank line", EVR_FMT_PLAIN,
	  "Event-Name:RE_SCHEDULE\r\nTask-ID: 2\r\nTask-Desc:heartbeat", 0,
	  EVR_FMT_PLAIN, "RE_SCHEDULE", NULL, NULL, EVR_PRIO_NORMAL, 3,
	  { { -1, "Event-Name", "RE_SCHEDULE", 0 }, { -1, "Task-ID", "2", 0 },
	    { -1, "Task-Desc", "heartbeat", 0 } } },
	{ "plain url decoding: either case, '+' kept, colons in value", EVR_FMT_PLAIN,
	  "Event-Name: X\nA: %2b+%2B%7e%7E%c3%a9\nB: a:b: c\nC:\nD: \nE: %25\n", 0,
	  EVR_FMT_PLAIN, "X", NULL, NULL, EVR_PRIO_NORMAL, 6,
	  { { -1, "Event-Name", "X", 0 }, { -1, "A", "+++~~\xc3\xa9", 0 },
	    { -1, "B", "a:b: c", 0 }, { -1, "C", "", 0 }, { -1, "D", "", 0 },
	    { -1, "E", "%", 0 } } },
	{ "plain leading blank lines, Content-Length 0, trailing CRLF", EVR_FMT_PLAIN,
	  "\r\n\nEvent-Name: X\nContent-Length: 0\n\n\r\n", 0,
	  EVR_FMT_PLAIN, "X", NULL, NULL, EVR_PRIO_NORMAL, 1,
	  { { -1, "Event-Name", "X", 0 } } },
	{ "plain Content-Length 0 at end of input", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 0", 0,
	  EVR_FMT_PLAIN, "X", NULL, NULL, EVR_PRIO_NORMAL, 1, { { 0 } } },
	{ "plain first Event-Name wins, case-insensitive", EVR_FMT_PLAIN,
	  "event-name: FIRST\nEvent-Name: SECOND\nEVENT-SUBCLASS: a%3A%3Ab\npriority: high\n\n", 0,
	  EVR_FMT_PLAIN, "FIRST", "a::b", NULL, EVR_PRIO_HIGH, 4,
	  { { -1, "event-name", "FIRST", 0 }, { -1, "Event-Name", "SECOND", 0 } } },
	{ "plain _undef_ is exact", EVR_FMT_PLAIN,
	  "Event-Name: X\nA: _UNDEF_\nB: %5Fundef%5F\n\n", 0,
	  EVR_FMT_PLAIN, "X", NULL, NULL, EVR_PRIO_NORMAL, 3,
	  { { 1, "A", "_UNDEF_", 0 }, { 2, "B", "_undef_", 0 } } },

	/* ---- FreeSWITCH JSON ---- */
	{ "json CHANNEL_CREATE", EVR_FMT_JSON,
	  "{\"Event-Name\":\"CHANNEL_CREATE\",\"Core-UUID\":\"2130a7d1-c1f7-44cd-8fae-8ed5946f3cec\","
	  "\"FreeSWITCH-Hostname\":\"fs01.example.com\",\"Event-Date-Local\":\"2024-03-05 14:22:07\","
	  "\"Event-Sequence\":\"5147\",\"Channel-State\":\"CS_INIT\","
	  "\"Channel-Name\":\"sofia/internal/1000@192.0.2.20\","
	  "\"Unique-ID\":\"8d5a3b2e-6f1c-4d7a-9e8b-1c2d3e4f5a6b\","
	  "\"Caller-Caller-ID-Name\":\"Alice Smith\",\"Caller-Caller-ID-Number\":\"1000\","
	  "\"Caller-ANI\":\"1000\",\"Caller-Destination-Number\":\"2000\","
	  "\"variable_sip_user_agent\":\"Linphone/5.2 (belle-sip/5.2.0)\"}", 0,
	  EVR_FMT_JSON, "CHANNEL_CREATE", NULL, NULL, EVR_PRIO_NORMAL, 13,
	  { { 0, "Event-Name", "CHANNEL_CREATE", 0 },
	    { 3, "Event-Date-Local", "2024-03-05 14:22:07", 0 },
	    { 8, "Caller-Caller-ID-Name", "Alice Smith", 0 },
	    { 9, "Caller-Caller-ID-Number", "1000", 0 },
	    { 12, "variable_sip_user_agent", "Linphone/5.2 (belle-sip/5.2.0)", 0 } } },
	{ "json CUSTOM sofia::register", EVR_FMT_JSON,
	  "{\"Event-Name\":\"CUSTOM\",\"Core-UUID\":\"2130a7d1\",\"Event-Subclass\":\"sofia::register\","
	  "\"profile-name\":\"internal\",\"from-user\":\"1000\",\"expires\":\"3600\","
	  "\"contact\":\"\\\"Alice\\\" <sip:1000@198.51.100.23:5060>\"}", 0,
	  EVR_FMT_JSON, "CUSTOM", "sofia::register", NULL, EVR_PRIO_NORMAL, 7,
	  { { 2, "Event-Subclass", "sofia::register", 0 },
	    { 6, "contact", "\"Alice\" <sip:1000@198.51.100.23:5060>", 0 } } },
	{ "json body, Content-Length dropped", EVR_FMT_JSON,
	  "{\"Event-Name\":\"MESSAGE\",\"priority\":\"HIGH\",\"Content-Length\":\"12\","
	  "\"_body\":\"hello\\nworld!\",\"Job-UUID\":\"7f4\"}", 0,
	  EVR_FMT_JSON, "MESSAGE", NULL, "hello\nworld!", EVR_PRIO_HIGH, 3,
	  { { -1, "Event-Name", "MESSAGE", 0 }, { -1, "priority", "HIGH", 0 },
	    { -1, "Job-UUID", "7f4", 0 } } },
	{ "json literals and null, _BODY case-insensitive, last body wins", EVR_FMT_JSON,
	  "{\"Event-Name\":\"X\",\"n\":-0.5E+2,\"t\":true,\"f\":false,\"z\":null,"
	  "\"_BODY\":\"first\",\"_body\":\"second\"}", 0,
	  EVR_FMT_JSON, "X", NULL, "second", EVR_PRIO_NORMAL, 5,
	  { { -1, "Event-Name", "X", 0 }, { -1, "n", "-0.5E+2", EVR_STR_LITERAL },
	    { -1, "t", "true", EVR_STR_LITERAL }, { -1, "f", "false", EVR_STR_LITERAL },
	    { -1, "z", "", EVR_STR_NULL } } },
	{ "json Event-Name key case-insensitive, escaped", EVR_FMT_JSON,
	  "{\"event-name\":\"HEART\\u0042EAT\"}", 0,
	  EVR_FMT_JSON, "HEARTBEAT", NULL, NULL, EVR_PRIO_NORMAL, 1,
	  { { -1, "event-name", "HEARTBEAT", 0 } } },
	{ "json escaped _body key", EVR_FMT_JSON,
	  "{\"Event-Name\":\"X\",\"_b\\u006Fdy\":\"B\",\"_bod\":\"c\"}", 0,
	  EVR_FMT_JSON, "X", NULL, "B", EVR_PRIO_NORMAL, 2, { { 1, "_bod", "c", 0 } } },
	{ "json empty key is an attribute", EVR_FMT_JSON,
	  "{\"Event-Name\":\"X\",\"\":\"v\"}", 0,
	  EVR_FMT_JSON, "X", NULL, NULL, EVR_PRIO_NORMAL, 2, { { 1, "", "v", 0 } } },

	/* ---- auto ---- */
	{ "auto jsonrpc", EVR_FMT_AUTO,
	  "\n {\"method\":\"E_X\",\"jsonrpc\":\"2.0\"}", 0,
	  EVR_FMT_JSONRPC, "E_X", NULL, NULL, EVR_PRIO_NORMAL, 0, { { 0 } } },
	{ "auto json", EVR_FMT_AUTO, "\t{\"Event-Name\":\"X\",\"method\":\"m\"}", 0,
	  EVR_FMT_JSON, "X", NULL, NULL, EVR_PRIO_NORMAL, 2, { { 1, "method", "m", 0 } } },
	{ "auto: jsonrpc only at top level", EVR_FMT_AUTO,
	  "{\"Event-Name\":\"X\",\"o\":\"{\\\"jsonrpc\\\":1}\"}", 0,
	  EVR_FMT_JSON, "X", NULL, NULL, EVR_PRIO_NORMAL, 2, { { 0 } } },
	{ "auto plain", EVR_FMT_AUTO, FS_SOFIA_REGISTER, 0,
	  EVR_FMT_PLAIN, "CUSTOM", "sofia::register", NULL, EVR_PRIO_NORMAL, 25, { { 0 } } },
	{ "auto plain envelope", EVR_FMT_AUTO, FS_ENVELOPED_BODY, 0,
	  EVR_FMT_PLAIN, "MESSAGE", NULL, "hello\nworld!", EVR_PRIO_LOW, 4, { { 0 } } },
};

/* ------------------------------------------------------------------ */
/* malformed inputs                                                    */

#define RPC(params) "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":" params "}"
#define RPC_P(s) RPC("{\"p\":\"" s "\"}")

static const struct bad_case bad_cases[] = {
	/* generic */
	{ "empty jsonrpc", EVR_FMT_JSONRPC, "", 0, EVR_DEC_EMPTY },
	{ "empty plain", EVR_FMT_PLAIN, "", 0, EVR_DEC_EMPTY },
	{ "empty json", EVR_FMT_JSON, "", 0, EVR_DEC_EMPTY },
	{ "empty auto", EVR_FMT_AUTO, "", 0, EVR_DEC_EMPTY },
	{ "bad format", (enum evr_format)EVR_FMT__COUNT, "{}", 0, EVR_DEC_BAD_FORMAT },
	{ "bad format 99", (enum evr_format)99, "Event-Name: X\n", 0, EVR_DEC_BAD_FORMAT },

	/* JSON syntax: a tokenizer may tolerate these, the decoder must not */
	{ "ws only", EVR_FMT_JSONRPC, " \n\t ", 0, EVR_DEC_BAD_JSON },
	{ "unclosed", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\"", 0, EVR_DEC_BAD_JSON },
	{ "unclosed string", EVR_FMT_JSON, "{\"Event-Name\":\"X", 0, EVR_DEC_BAD_JSON },
	{ "trailing garbage", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\"} x", 0, EVR_DEC_BAD_JSON },
	{ "trailing number", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\"} 1 ", 0, EVR_DEC_BAD_JSON },
	{ "two objects", EVR_FMT_JSON, "{\"Event-Name\":\"X\"}{}", 0, EVR_DEC_BAD_JSON },
	{ "trailing NUL", EVR_FMT_JSON, "{\"Event-Name\":\"X\"}\0", 19, EVR_DEC_BAD_JSON },
	{ "NUL inside string", EVR_FMT_JSON, "{\"Event-Name\":\"X\0\"}", 19, EVR_DEC_BAD_JSON },
	{ "missing comma", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\" \"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSON },
	{ "missing colon", EVR_FMT_JSON, "{\"Event-Name\" \"X\"}", 0, EVR_DEC_BAD_JSON },
	{ "double colon", EVR_FMT_JSON, "{\"Event-Name\"::\"X\"}", 0, EVR_DEC_BAD_JSON },
	{ "double comma", EVR_FMT_JSON, "{\"Event-Name\":\"X\",,\"a\":\"b\"}", 0, EVR_DEC_BAD_JSON },
	{ "leading comma", EVR_FMT_JSON, "{,\"Event-Name\":\"X\"}", 0, EVR_DEC_BAD_JSON },
	{ "trailing comma object", EVR_FMT_JSON, "{\"Event-Name\":\"X\",}", 0, EVR_DEC_BAD_JSON },
	{ "trailing comma array", EVR_FMT_JSONRPC, RPC("[1,]"), 0, EVR_DEC_BAD_JSON },
	{ "array without commas", EVR_FMT_JSONRPC, RPC("[1 2]"), 0, EVR_DEC_BAD_JSON },
	{ "array strings without commas", EVR_FMT_JSONRPC, RPC("[\"a\" \"b\"]"), 0, EVR_DEC_BAD_JSON },
	{ "colon in array", EVR_FMT_JSONRPC, RPC("[\"a\":\"b\"]"), 0, EVR_DEC_BAD_JSON },
	{ "value with two colons", EVR_FMT_JSON, "{\"Event-Name\":\"X\":\"Y\"}", 0, EVR_DEC_BAD_JSON },
	{ "primitive with colon", EVR_FMT_JSON, "{\"Event-Name\":1:2}", 0, EVR_DEC_BAD_JSON },
	{ "key without value", EVR_FMT_JSON, "{\"Event-Name\":}", 0, EVR_DEC_BAD_JSON },
	{ "key only", EVR_FMT_JSON, "{\"Event-Name\"}", 0, EVR_DEC_BAD_JSON },
	{ "number key", EVR_FMT_JSON, "{1:\"X\"}", 0, EVR_DEC_BAD_JSON },
	{ "mismatched bracket", EVR_FMT_JSONRPC, RPC("[1}"), 0, EVR_DEC_BAD_JSON },
	{ "extra closing", EVR_FMT_JSON, "{\"Event-Name\":\"X\"}}", 0, EVR_DEC_BAD_JSON },
	{ "literal tru", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":tru}", 0, EVR_DEC_BAD_JSON },
	{ "literal nulll", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":nulll}", 0, EVR_DEC_BAD_JSON },
	{ "number 01", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":01}", 0, EVR_DEC_BAD_JSON },
	{ "number 1.", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":1.}", 0, EVR_DEC_BAD_JSON },
	{ "number -", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":-}", 0, EVR_DEC_BAD_JSON },
	{ "number 1e", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":1e}", 0, EVR_DEC_BAD_JSON },
	{ "number 1.2.3", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":1.2.3}", 0, EVR_DEC_BAD_JSON },
	{ "number +1", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":+1}", 0, EVR_DEC_BAD_JSON },
	{ "bare word", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":abc}", 0, EVR_DEC_BAD_JSON },
	{ "single quotes", EVR_FMT_JSON, "{'Event-Name':'X'}", 0, EVR_DEC_BAD_JSON },
	{ "raw newline in string", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":\"l1\nl2\"}", 0, EVR_DEC_BAD_JSON },
	{ "raw tab in key", EVR_FMT_JSONRPC, RPC("{\"a\tb\":1}"), 0, EVR_DEC_BAD_JSON },
	{ "escape cut by end", EVR_FMT_JSON, "{\"Event-Name\":\"X\\u12", 0, EVR_DEC_BAD_JSON },
	{ "unclosed inner object", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":{}", 0, EVR_DEC_BAD_JSON },
	{ "bad literal deep in ignored member", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":[[{\"a\":[01]}]]}", 0, EVR_DEC_BAD_JSON },
	{ "bad ignored member still parsed", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":[1 2]}", 0, EVR_DEC_BAD_JSON },
	{ "object as key", EVR_FMT_JSON, "{{}:1}", 0, EVR_DEC_BAD_JSON },

	/* top level */
	{ "array top", EVR_FMT_JSONRPC, "[{\"jsonrpc\":\"2.0\"}]", 0, EVR_DEC_NOT_OBJECT },
	{ "string top", EVR_FMT_JSON, "\"Event-Name\"", 0, EVR_DEC_NOT_OBJECT },
	{ "number top", EVR_FMT_JSON, " 42", 0, EVR_DEC_NOT_OBJECT },
	{ "null top", EVR_FMT_JSONRPC, "null", 0, EVR_DEC_NOT_OBJECT },
	{ "plain text as json", EVR_FMT_JSON, "Event-Name: X\n", 0, EVR_DEC_NOT_OBJECT },

	/* JSON-RPC envelope */
	{ "no jsonrpc", EVR_FMT_JSONRPC, "{\"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "jsonrpc 1.0", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"1.0\",\"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "jsonrpc number", EVR_FMT_JSONRPC, "{\"jsonrpc\":2.0,\"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "jsonrpc 2.00", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.00\",\"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "jsonrpc nested", EVR_FMT_JSONRPC, "{\"jsonrpc\":[\"2.0\"],\"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "JSONRPC key case", EVR_FMT_JSONRPC, "{\"JSONRPC\":\"2.0\",\"method\":\"E_X\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "version checked before method", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"3\"}", 0, EVR_DEC_BAD_JSONRPC_VERSION },
	{ "no method", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"params\":{}}", 0, EVR_DEC_NO_METHOD },
	{ "empty method", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":\"\"}", 0, EVR_DEC_NO_METHOD },
	{ "number method", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":7}", 0, EVR_DEC_NO_METHOD },
	{ "null method", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":null}", 0, EVR_DEC_NO_METHOD },
	{ "object method", EVR_FMT_JSONRPC, "{\"jsonrpc\":\"2.0\",\"method\":{}}", 0, EVR_DEC_NO_METHOD },
	{ "params string", EVR_FMT_JSONRPC, RPC("\"a\""), 0, EVR_DEC_BAD_PARAMS },
	{ "params null", EVR_FMT_JSONRPC, RPC("null"), 0, EVR_DEC_BAD_PARAMS },
	{ "params number", EVR_FMT_JSONRPC, RPC("1"), 0, EVR_DEC_BAD_PARAMS },
	{ "params true", EVR_FMT_JSONRPC, RPC("true"), 0, EVR_DEC_BAD_PARAMS },
	{ "method checked before params", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"params\":3}", 0, EVR_DEC_NO_METHOD },

	/* nested values */
	{ "param object", EVR_FMT_JSONRPC, RPC("{\"a\":\"1\",\"b\":{\"c\":1}}"), 0, EVR_DEC_NESTED_VALUE },
	{ "param empty array", EVR_FMT_JSONRPC, RPC("{\"a\":[]}"), 0, EVR_DEC_NESTED_VALUE },
	{ "positional array", EVR_FMT_JSONRPC, RPC("[1,[2]]"), 0, EVR_DEC_NESTED_VALUE },
	{ "positional object", EVR_FMT_JSONRPC, RPC("[{}]"), 0, EVR_DEC_NESTED_VALUE },
	{ "json array value", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"multi\":[\"a\",\"b\"]}", 0, EVR_DEC_NESTED_VALUE },
	{ "json object value", EVR_FMT_JSON, "{\"Event-Name\":{}}", 0, EVR_DEC_NESTED_VALUE },
	{ "json nested body", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"_body\":[]}", 0, EVR_DEC_NESTED_VALUE },
	{ "json nested Content-Length", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"Content-Length\":{}}", 0, EVR_DEC_NESTED_VALUE },

	/* string escapes */
	{ "escape \\x", EVR_FMT_JSONRPC, RPC_P("\\x41"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "escape \\'", EVR_FMT_JSON, "{\"Event-Name\":\"\\'\"}", 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "escape \\u non-hex", EVR_FMT_JSONRPC, RPC_P("\\u12G4"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "escape \\u short", EVR_FMT_JSONRPC, RPC_P("\\u12"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "escape \\U", EVR_FMT_JSONRPC, RPC_P("\\U0041"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "lone high surrogate", EVR_FMT_JSONRPC, RPC_P("\\ud83d"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "high surrogate + text", EVR_FMT_JSONRPC, RPC_P("\\ud83dx"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "high + high", EVR_FMT_JSONRPC, RPC_P("\\ud83d\\ud83d"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "high + BMP", EVR_FMT_JSONRPC, RPC_P("\\ud83d\\u0041"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "high + \\n", EVR_FMT_JSONRPC, RPC_P("\\ud83d\\n"), 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "lone low surrogate", EVR_FMT_JSON, "{\"Event-Name\":\"\\udc00\"}", 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "escaped NUL", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\":\"\\u0000\"}", 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "escaped NUL in key", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\"a\\u0000\":\"1\"}", 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "bad escape in nested ignored member", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":{\"a\":[1,\"\\q\"]}}", 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "bad escape in key", EVR_FMT_JSON, "{\"a\\q\":\"1\"}", 0, EVR_DEC_BAD_STRING_ESCAPE },
	{ "bad escape in ignored member", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"x\":\"\\ud800\"}", 0, EVR_DEC_BAD_STRING_ESCAPE },

	/* FreeSWITCH event name */
	{ "json no Event-Name", EVR_FMT_JSON, "{\"Core-UUID\":\"x\"}", 0, EVR_DEC_NO_EVENT_NAME },
	{ "json empty object", EVR_FMT_JSON, "{}", 0, EVR_DEC_NO_EVENT_NAME },
	{ "json empty Event-Name", EVR_FMT_JSON, "{\"Event-Name\":\"\"}", 0, EVR_DEC_NO_EVENT_NAME },
	{ "json null Event-Name", EVR_FMT_JSON, "{\"Event-Name\":null}", 0, EVR_DEC_NO_EVENT_NAME },
	{ "json Event-Name only in _body", EVR_FMT_JSON, "{\"_body\":\"Event-Name\"}", 0, EVR_DEC_NO_EVENT_NAME },
	{ "plain no Event-Name", EVR_FMT_PLAIN, "Core-UUID: x\n\n", 0, EVR_DEC_NO_EVENT_NAME },
	{ "plain empty Event-Name", EVR_FMT_PLAIN, "Event-Name: \nA: b\n\n", 0, EVR_DEC_NO_EVENT_NAME },
	{ "plain _undef_ Event-Name", EVR_FMT_PLAIN, "Event-Name: _undef_\n\n", 0, EVR_DEC_NO_EVENT_NAME },
	{ "plain only newlines", EVR_FMT_PLAIN, "\r\n\n", 0, EVR_DEC_NO_EVENT_NAME },
	{ "plain envelope of nothing", EVR_FMT_PLAIN,
	  "Content-Length: 0\nContent-Type: text/event-plain\n\n", 0, EVR_DEC_NO_EVENT_NAME },
	{ "auto json no name", EVR_FMT_AUTO, "{\"a\":\"b\"}", 0, EVR_DEC_NO_EVENT_NAME },

	/* plain header lines */
	{ "no colon", EVR_FMT_PLAIN, "Event-Name: X\nbogus line\n\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "empty name", EVR_FMT_PLAIN, "Event-Name: X\n: v\n\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "space in name", EVR_FMT_PLAIN, "Event Name: X\n\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "leading space", EVR_FMT_PLAIN, " Event-Name: X\n\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "tab in name", EVR_FMT_PLAIN, "Event-Name: X\nA\tB: c\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "name with DEL", EVR_FMT_PLAIN, "Event-Name: X\nA\x7f: c\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "bad line in envelope", EVR_FMT_PLAIN,
	  "Content-Type: text/event-plain\nnonsense\nContent-Length: 0\n\n", 0, EVR_DEC_BAD_HEADER_LINE },
	{ "auto: json-looking plain", EVR_FMT_AUTO, "Event-Name {X}\n", 0, EVR_DEC_BAD_HEADER_LINE },

	/* URL escapes */
	{ "%zz", EVR_FMT_PLAIN, "Event-Name: X\nA: %zz\n\n", 0, EVR_DEC_BAD_URL_ESCAPE },
	{ "%g0", EVR_FMT_PLAIN, "Event-Name: X\nA: %g0\n\n", 0, EVR_DEC_BAD_URL_ESCAPE },
	{ "%4 at end of line", EVR_FMT_PLAIN, "Event-Name: X\nA: ab%4\n\n", 0, EVR_DEC_BAD_URL_ESCAPE },
	{ "% at end of input", EVR_FMT_PLAIN, "Event-Name: X\nA: ab%", 0, EVR_DEC_BAD_URL_ESCAPE },
	{ "% space", EVR_FMT_PLAIN, "Event-Name: X\nA: % 1\n", 0, EVR_DEC_BAD_URL_ESCAPE },
	{ "%+1 (sscanf would take it)", EVR_FMT_PLAIN, "Event-Name: X\nA: %+1\n", 0, EVR_DEC_BAD_URL_ESCAPE },
	{ "bad escape in Event-Name", EVR_FMT_PLAIN, "Event-Name: %\n", 0, EVR_DEC_BAD_URL_ESCAPE },

	/* envelope and body framing */
	{ "envelope truncated", EVR_FMT_PLAIN,
	  "Content-Length: 43\nContent-Type: text/event-plain\n\n" ENVELOPE_HB_INNER, 0,
	  EVR_DEC_TRUNCATED_ENVELOPE },
	{ "envelope without content", EVR_FMT_PLAIN,
	  "Content-Length: 10\nContent-Type: text/event-plain\n\n", 0, EVR_DEC_TRUNCATED_ENVELOPE },
	{ "envelope ends at end of input", EVR_FMT_PLAIN,
	  "Content-Length: 10\nContent-Type: text/event-plain", 0, EVR_DEC_TRUNCATED_ENVELOPE },
	{ "envelope huge length", EVR_FMT_PLAIN,
	  "Content-Length: 99999999999999999999\nContent-Type: text/event-plain\n\nx", 0,
	  EVR_DEC_TRUNCATED_ENVELOPE },
	{ "envelope other type", EVR_FMT_PLAIN,
	  "Content-Length: 42\nContent-Type: text/event-json\n\n" ENVELOPE_HB_INNER, 0,
	  EVR_DEC_BAD_CONTENT_TYPE },
	{ "envelope api/response", EVR_FMT_PLAIN,
	  "Content-Type: api/response\nContent-Length: 3\n\n+OK", 0, EVR_DEC_BAD_CONTENT_TYPE },
	{ "envelope type with params", EVR_FMT_PLAIN,
	  "Content-Type: text/event-plain; x=1\nContent-Length: 0\n\n", 0, EVR_DEC_BAD_CONTENT_TYPE },
	{ "envelope without length", EVR_FMT_PLAIN,
	  "Content-Type: text/event-plain\n\n" ENVELOPE_HB_INNER, 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "envelope bad length", EVR_FMT_PLAIN,
	  "Content-Length: 4x\nContent-Type: text/event-plain\n\n" ENVELOPE_HB_INNER, 0,
	  EVR_DEC_BAD_CONTENT_LENGTH },
	{ "envelope two lengths", EVR_FMT_PLAIN,
	  "Content-Length: 42\nContent-Length: 42\nContent-Type: text/event-plain\n\n"
	  ENVELOPE_HB_INNER, 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "envelope junk after content", EVR_FMT_PLAIN,
	  "Content-Length: 42\nContent-Type: text/event-plain\n\n" ENVELOPE_HB_INNER "x", 0,
	  EVR_DEC_BAD_CONTENT_LENGTH },
	{ "envelope inner error", EVR_FMT_PLAIN,
	  "Content-Length: 16\nContent-Type: text/event-plain\n\nEvent-Name: %zz\n", 0,
	  EVR_DEC_BAD_URL_ESCAPE },
	{ "nested envelope is not unwrapped", EVR_FMT_PLAIN,
	  "Content-Length: 50\nContent-Type: text/event-plain\n\n"
	  "Content-Length: 0\nContent-Type: text/event-plain\n\n", 0, EVR_DEC_NO_EVENT_NAME },
	{ "body length non-numeric", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: abc\n\nabc", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body length negative", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: -1\n\n", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body length with space", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 3 \n\nabc", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body length empty", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length:\n\n", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body length _undef_", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: _undef_\n\n", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "two body lengths", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 3\ncontent-length: 3\n\nabc", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body longer than length", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 3\n\nabcd", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body without length", EVR_FMT_PLAIN,
	  "Event-Name: X\n\nsome body", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "headers after blank line", EVR_FMT_PLAIN,
	  "Event-Name: X\n\nA: b\n", 0, EVR_DEC_BAD_CONTENT_LENGTH },
	{ "body truncated", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 50\n\nshort", 0, EVR_DEC_TRUNCATED_BODY },
	{ "body length at end of headers", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 5", 0, EVR_DEC_TRUNCATED_BODY },
	{ "body length, blank line missing", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 5\n", 0, EVR_DEC_TRUNCATED_BODY },
	{ "body by one byte", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 6\n\nhello", 0, EVR_DEC_TRUNCATED_BODY },
	{ "inner body truncated by envelope", EVR_FMT_PLAIN,
	  "Content-Length: 39\nContent-Type: text/event-plain\n\n"
	  "Event-Name: X\nContent-Length: 10\n\n12345", 0, EVR_DEC_TRUNCATED_BODY },
	{ "body huge length", EVR_FMT_PLAIN,
	  "Event-Name: X\nContent-Length: 4294967296\n\nabc", 0, EVR_DEC_TRUNCATED_BODY },

	/* NUL bytes in text */
	{ "raw NUL in value", EVR_FMT_PLAIN, "Event-Name: X\nA: a\0b\n\n", 22, EVR_DEC_NUL_BYTE },
	{ "raw NUL in body", EVR_FMT_PLAIN, "Event-Name: X\nContent-Length: 3\n\na\0b", 36, EVR_DEC_NUL_BYTE },
	{ "raw NUL first", EVR_FMT_PLAIN, "\0Event-Name: X\n", 15, EVR_DEC_NUL_BYTE },
	{ "%00", EVR_FMT_PLAIN, "Event-Name: X\nA: a%00b\n\n", 0, EVR_DEC_NUL_BYTE },
	{ "auto raw NUL", EVR_FMT_AUTO, "Event-Name: X\0\n", 15, EVR_DEC_NUL_BYTE },

	/* Bytes that are not UTF-8 pass through a document without escapes
	 * (OpenSIPS's cJSON copies SIP bytes as they came: see the ok table);
	 * outside strings they are as malformed as any stray byte, and in a
	 * document with an escape (unescaped by simdjson, which refuses them)
	 * the document is refused */
	{ "non-UTF-8 byte with an escape elsewhere", EVR_FMT_JSONRPC,
	  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{\"n\":\"Jos\xc3\xa9 \xff\",\"e\":\"\\n\"}}", 0,
	  EVR_DEC_BAD_JSON },
	{ "non-UTF-8 byte between members", EVR_FMT_JSON, "{\"Event-Name\":\"X\",\xff\"a\":\"v\"}", 0,
	  EVR_DEC_BAD_JSON },
	{ "truncated UTF-8 at end", EVR_FMT_JSON, "{\"Event-Name\":\"X\"}\xe2\x82", 0, EVR_DEC_BAD_JSON },

	/* regressions (fuzzer and differential runs against jansson) */
	{ "NUL inside a number", EVR_FMT_JSON,
	  "{\"jms\":[0,-11111.1111111111111111\0]}", 36, EVR_DEC_BAD_JSON },
};

/* ------------------------------------------------------------------ */
/* limits                                                              */

static char big[EVR_UDP_MAX_PAYLOAD + 64];

/* Append printf-style into big at *pos. */
#define APPEND(pos, ...)                                                       \
	((pos) += (size_t)snprintf(big + (pos), sizeof(big) - (pos), __VA_ARGS__))

static size_t fill(size_t pos, char c, size_t n)
{
	memset(big + pos, c, n);
	big[pos + n] = '\0';
	return pos + n;
}

/* event with n attributes a0..a(n-1) = "v" in format f */
static size_t make_attrs(enum evr_format f, unsigned n)
{
	size_t pos = 0;

	switch (f) {
	case EVR_FMT_JSONRPC:
		APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{");
		for (unsigned i = 0; i < n; i++)
			APPEND(pos, "%s\"a%u\":\"v\"", i ? "," : "", i);
		APPEND(pos, "}}");
		break;
	case EVR_FMT_JSON:
		APPEND(pos, "{\"Event-Name\":\"X\"");
		for (unsigned i = 1; i < n; i++)
			APPEND(pos, ",\"a%u\":\"v\"", i);
		APPEND(pos, "}");
		break;
	default:
		APPEND(pos, "Event-Name: X\n");
		for (unsigned i = 1; i < n; i++)
			APPEND(pos, "a%u: v\n", i);
		APPEND(pos, "\n");
		break;
	}
	return pos;
}

/* event with one attribute whose name has nlen bytes and value vlen
 * bytes (value written with escapes when esc, to test the after-unescape
 * rule), or an event name of nlen bytes when name_is_event */
static size_t make_sized(enum evr_format f, size_t nlen, size_t vlen, bool esc,
                         bool name_is_event)
{
	size_t pos = 0;
	const char *e = f == EVR_FMT_PLAIN ? "%41" : "\\u0041";

	if (name_is_event) {
		if (f == EVR_FMT_JSONRPC)
			APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"");
		else if (f == EVR_FMT_JSON)
			APPEND(pos, "{\"Event-Name\":\"");
		else
			APPEND(pos, "Event-Name: ");
		pos = fill(pos, 'E', nlen);
		APPEND(pos, f == EVR_FMT_PLAIN ? "\n\n" : "\"}");
		return pos;
	}
	if (f == EVR_FMT_JSONRPC)
		APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":{\"");
	else if (f == EVR_FMT_JSON)
		APPEND(pos, "{\"Event-Name\":\"X\",\"");
	else
		APPEND(pos, "Event-Name: X\n");
	pos = fill(pos, 'n', nlen);
	APPEND(pos, f == EVR_FMT_PLAIN ? ": " : "\":\"");
	for (size_t i = 0; i < vlen; i++) {
		if (esc)
			APPEND(pos, "%s", e);
		else
			big[pos++] = 'v';
	}
	big[pos] = '\0';
	APPEND(pos, f == EVR_FMT_JSONRPC ? "\"}}" : f == EVR_FMT_JSON ? "\"}" : "\n\n");
	return pos;
}

static void expect(struct evr_scratch *s, enum evr_format f, size_t len,
                   enum evr_decode_status want, const char *what)
{
	enum evr_decode_status st = note(evr_decode(f, big, len, s));

	CHECK_MSG(st == want, "%s (%s, %zu bytes): got %s want %s", what,
	          evr_format_name(f), len, evr_decode_status_name(st),
	          evr_decode_status_name(want));
	if (st == EVR_DEC_OK && want == EVR_DEC_OK)
		check_views(what, s);
}

/* Last attribute of the current event, or an empty one if there is none,
 * so a failed decode fails checks instead of indexing out of bounds. */
static const struct evr_attr *last_attr(const struct evr_scratch *s)
{
	static const struct evr_attr none = { { "", 0, 0 }, { "", 0, 0 } };

	return s->ev.n_attrs ? &s->ev.attrs[s->ev.n_attrs - 1] : &none;
}

static void test_limits(struct evr_scratch *s)
{
	const enum evr_format fmts[] = { EVR_FMT_JSONRPC, EVR_FMT_PLAIN, EVR_FMT_JSON };
	const struct evr_limits *l = &s->lim;

	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		enum evr_format f = fmts[i];
		size_t n;

		expect(s, f, make_attrs(f, l->max_attrs), EVR_DEC_OK, "max_attrs");
		CHECK_EQ_INT(s->ev.n_attrs, l->max_attrs);
		expect(s, f, make_attrs(f, l->max_attrs + 1), EVR_DEC_TOO_MANY_ATTRS,
		       "max_attrs+1");
		/* past the token budget: still reported as too many attributes */
		expect(s, f, make_attrs(f, 4 * l->max_attrs), EVR_DEC_TOO_MANY_ATTRS,
		       "4*max_attrs");

		expect(s, f, make_sized(f, l->max_name_len, 1, false, false), EVR_DEC_OK,
		       "max_name_len");
		CHECK_EQ_INT(last_attr(s)->name.len, l->max_name_len);
		expect(s, f, make_sized(f, l->max_name_len + 1, 1, false, false),
		       EVR_DEC_NAME_TOO_LONG, "max_name_len+1");
		expect(s, f, make_sized(f, l->max_name_len, 0, false, true), EVR_DEC_OK,
		       "event name max_name_len");
		CHECK_EQ_INT(s->ev.name.len, l->max_name_len);
		expect(s, f, make_sized(f, l->max_name_len + 1, 0, false, true),
		       EVR_DEC_NAME_TOO_LONG, "event name max_name_len+1");

		expect(s, f, make_sized(f, 1, l->max_value_len, false, false), EVR_DEC_OK,
		       "max_value_len");
		CHECK_EQ_INT(last_attr(s)->value.len, l->max_value_len);
		expect(s, f, make_sized(f, 1, l->max_value_len + 1, false, false),
		       EVR_DEC_VALUE_TOO_LONG, "max_value_len+1");
		/* the limit applies after unescaping: 3 or 6 wire bytes per byte */
		n = make_sized(f, 1, l->max_value_len, true, false);
		expect(s, f, n, EVR_DEC_OK, "escaped max_value_len");
		CHECK_EQ_INT(last_attr(s)->value.len, l->max_value_len);
		CHECK(last_attr(s)->value.p[0] == 'A');
		expect(s, f, make_sized(f, 1, l->max_value_len + 1, true, false),
		       EVR_DEC_VALUE_TOO_LONG, "escaped max_value_len+1");
	}

	/* positional names count as names too */
	{
		struct evr_limits tl;
		struct evr_scratch t;

		evr_limits_default(&tl);
		tl.max_name_len = 1;
		CHECK_EQ_INT(evr_scratch_init(&t, &tl), 0);
		expect(&t, EVR_FMT_JSONRPC,
		       (size_t)snprintf(big, sizeof(big), "%s",
		                        "{\"jsonrpc\":\"2.0\",\"method\":\"E\",\"params\":"
		                        "[1,2,3,4,5,6,7,8,9]}"),
		       EVR_DEC_OK, "positional 9 with max_name_len 1");
		expect(&t, EVR_FMT_JSONRPC,
		       (size_t)snprintf(big, sizeof(big), "%s",
		                        "{\"jsonrpc\":\"2.0\",\"method\":\"E\",\"params\":"
		                        "[1,2,3,4,5,6,7,8,9,10]}"),
		       EVR_DEC_NAME_TOO_LONG, "positional 10 with max_name_len 1");
		evr_scratch_fini(&t);
	}
}

/* Datagrams of exactly max_datagram bytes decode; one more is OVERSIZE,
 * whatever the content. */
static void test_datagram_size(struct evr_scratch *s)
{
	const size_t max = EVR_UDP_MAX_PAYLOAD;
	size_t pos;

	CHECK_EQ_INT(s->lim.max_datagram, max);

	/* plain: the body fills it (5-digit length, so the header is fixed) */
	{
		const size_t hdr = strlen("Event-Name: BIG\nContent-Length: 65468\n\n");

		pos = (size_t)snprintf(big, sizeof(big),
		                       "Event-Name: BIG\nContent-Length: %zu\n\n", max - hdr);
		CHECK_EQ_INT(pos, hdr);
		pos = fill(pos, 'b', max - pos);
		expect(s, EVR_FMT_PLAIN, pos, EVR_DEC_OK, "plain 65507");
		CHECK_EQ_INT(s->ev.body.len, max - hdr);
		expect(s, EVR_FMT_AUTO, pos, EVR_DEC_OK, "auto plain 65507");
		big[pos] = 'b';
		expect(s, EVR_FMT_PLAIN, pos + 1, EVR_DEC_OVERSIZE, "plain 65508");
	}

	/* plain in the envelope, 63 attributes of 1000 bytes, CRLF padding */
	{
#define ENV "Content-Length: %5zu\nContent-Type: text/event-plain\n\n"
		size_t hdr = (size_t)snprintf(big, sizeof(big), ENV, (size_t)0), n;
		char save;

		pos = hdr;
		APPEND(pos, "Event-Name: BIG\n");
		for (int i = 1; i < 64; i++) {
			APPEND(pos, "a%02d: ", i);
			pos = fill(pos, 'v', 1000);
			APPEND(pos, "\n");
		}
		APPEND(pos, "\n");
		n = pos - hdr;
		save = big[hdr];
		snprintf(big, hdr + 1, ENV, n); /* same width: rewrite in place */
		big[hdr] = save;
#undef ENV
		pos = fill(pos, '\n', max - pos);
		expect(s, EVR_FMT_PLAIN, pos, EVR_DEC_OK, "enveloped 65507");
		CHECK_EQ_INT(s->ev.n_attrs, 64);
	}

	/* JSON: _body fills it */
	pos = 0;
	APPEND(pos, "{\"Event-Name\":\"BIG\",\"_body\":\"");
	pos = fill(pos, 'b', max - pos - 2);
	APPEND(pos, "\"}");
	CHECK_EQ_INT(pos, max);
	expect(s, EVR_FMT_JSON, pos, EVR_DEC_OK, "json 65507");
	CHECK_EQ_INT(s->ev.body.len, max - 31);
	expect(s, EVR_FMT_AUTO, pos, EVR_DEC_OK, "auto json 65507");

	/* JSON-RPC: 64 params of 1000 bytes, then whitespace */
	pos = 0;
	APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_BIG\",\"params\":[");
	for (int i = 0; i < 64; i++) {
		APPEND(pos, "%s\"", i ? "," : "");
		pos = fill(pos, 'v', 1000);
		APPEND(pos, "\"");
	}
	APPEND(pos, "]}");
	pos = fill(pos, ' ', max - pos);
	expect(s, EVR_FMT_JSONRPC, pos, EVR_DEC_OK, "jsonrpc 65507");
	CHECK_EQ_INT(s->ev.n_attrs, 64);
	if (s->ev.n_attrs == 64)
		CHECK_EQ_STR(s->ev.attrs[63].name.p, "64");
	big[pos] = ' ';
	expect(s, EVR_FMT_JSONRPC, pos + 1, EVR_DEC_OVERSIZE, "jsonrpc 65508");
	expect(s, EVR_FMT_JSON, pos + 1, EVR_DEC_OVERSIZE, "json 65508");
	expect(s, EVR_FMT_AUTO, pos + 1, EVR_DEC_OVERSIZE, "auto 65508");
	/* OVERSIZE is checked before anything else */
	expect(s, EVR_FMT_JSON, max + 10, EVR_DEC_OVERSIZE, "oversize garbage");

	/* a smaller max_datagram */
	{
		struct evr_limits tl;
		struct evr_scratch t;

		evr_limits_default(&tl);
		tl.max_datagram = 32;
		CHECK_EQ_INT(evr_scratch_init(&t, &tl), 0);
		pos = (size_t)snprintf(big, sizeof(big), "Event-Name: X\nA: 0123456789abcd\n");
		CHECK_EQ_INT(pos, 32);
		expect(&t, EVR_FMT_PLAIN, pos, EVR_DEC_OK, "32 of 32");
		pos = (size_t)snprintf(big, sizeof(big), "Event-Name: X\nA: 0123456789abcde\n");
		expect(&t, EVR_FMT_PLAIN, pos, EVR_DEC_OVERSIZE, "33 of 32");
		evr_scratch_fini(&t);
	}
}

/* The scratch must hold any datagram within limits: the worst cases are
 * many tiny attributes (NULs), and generated positional names, which are
 * longer than their one-byte wire form. */
static void test_scratch_worst_case(void)
{
	struct evr_limits l;
	struct evr_scratch t;
	size_t pos = 0;

	evr_limits_default(&l);
	l.max_attrs = EVR_LIMITS_HARD_MAX_ATTRS;
	APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E\",\"params\":[");
	for (unsigned i = 0; i < l.max_attrs; i++)
		APPEND(pos, "%s0", i ? "," : "");
	APPEND(pos, "]}");
	l.max_datagram = (uint32_t)pos;
	CHECK_EQ_INT(evr_scratch_init(&t, &l), 0);
	expect(&t, EVR_FMT_JSONRPC, pos, EVR_DEC_OK, "1024 positional zeros");
	CHECK_EQ_INT(t.ev.n_attrs, 1024);
	if (t.ev.n_attrs == 1024)
		CHECK_EQ_STR(t.ev.attrs[1023].name.p, "1024");
	evr_scratch_fini(&t);

	/* 1024 one-letter plain headers without values */
	pos = 0;
	APPEND(pos, "Event-Name:E\n");
	for (unsigned i = 1; i < 1024; i++)
		APPEND(pos, "a:\n");
	evr_limits_default(&l);
	l.max_attrs = 1024;
	l.max_datagram = (uint32_t)pos;
	CHECK_EQ_INT(evr_scratch_init(&t, &l), 0);
	expect(&t, EVR_FMT_PLAIN, pos, EVR_DEC_OK, "1024 tiny headers");
	CHECK_EQ_INT(t.ev.n_attrs, 1024);
	evr_scratch_fini(&t);

	/* JSON null values and empty strings */
	pos = 0;
	APPEND(pos, "{\"Event-Name\":\"E\"");
	for (unsigned i = 1; i < 1024; i++)
		APPEND(pos, ",\"\":%s", i % 2 ? "null" : "\"\"");
	APPEND(pos, "}");
	l.max_datagram = (uint32_t)pos;
	CHECK_EQ_INT(evr_scratch_init(&t, &l), 0);
	expect(&t, EVR_FMT_JSON, pos, EVR_DEC_OK, "1024 empty json members");
	CHECK_EQ_INT(t.ev.n_attrs, 1024);
	evr_scratch_fini(&t);
}

/* Past the token budget with few attributes: TOO_MANY_TOKENS. */
static void test_tokens(struct evr_scratch *s)
{
	size_t pos = 0;

	APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":[");
	for (unsigned i = 0; i < s->tok_cap; i++)
		APPEND(pos, "%s1", i ? "," : "");
	APPEND(pos, "],\"params\":{\"a\":\"b\"}}");
	expect(s, EVR_FMT_JSONRPC, pos, EVR_DEC_TOO_MANY_TOKENS, "big id array");
	expect(s, EVR_FMT_AUTO, pos, EVR_DEC_TOO_MANY_TOKENS, "auto big id array");

	pos = 0;
	APPEND(pos, "{\"Event-Name\":\"X\",\"a\":");
	for (unsigned i = 0; i < s->tok_cap; i++)
		APPEND(pos, "[");
	for (unsigned i = 0; i < s->tok_cap; i++)
		APPEND(pos, "]");
	APPEND(pos, "}");
	expect(s, EVR_FMT_JSON, pos, EVR_DEC_TOO_MANY_TOKENS, "deep nesting");

	/* just within the budget, the same shape is a nested value */
	pos = 0;
	APPEND(pos, "{\"Event-Name\":\"X\",\"a\":[[[[[[[[[[]]]]]]]]]]}");
	expect(s, EVR_FMT_JSON, pos, EVR_DEC_NESTED_VALUE, "shallow nesting");

	/* nesting: EVR_DECODE_JSON_MAX_DEPTH levels are checked (and accepted
	 * in an ignored member), one more is refused even within the token
	 * budget */
	for (unsigned extra = 0; extra <= 1; extra++) {
		unsigned n = EVR_DECODE_JSON_MAX_DEPTH + extra;

		CHECK(n + 16 < s->tok_cap);
		pos = 0;
		APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":");
		for (unsigned i = 0; i < n; i++)
			APPEND(pos, "%s", i % 2 ? "{\"k\":" : "[");
		APPEND(pos, "\"\\u0041\"");
		for (unsigned i = n; i-- > 0;)
			APPEND(pos, "%s", i % 2 ? "}" : "]");
		APPEND(pos, "}");
		expect(s, EVR_FMT_JSONRPC, pos, extra ? EVR_DEC_TOO_MANY_TOKENS : EVR_DEC_OK,
		       extra ? "nesting one past the limit" : "nesting at the limit");
		/* a fault at the bottom is still found */
		if (!extra) {
			memcpy(strstr(big, "\\u0041"), "\\u0000", 6);
			expect(s, EVR_FMT_JSONRPC, pos, EVR_DEC_BAD_STRING_ESCAPE,
			       "escape fault at the deepest level");
		}
	}

	/* The byte after the datagram is not the decoder's: a '}' there must
	 * not close the object (simdjson reads a padded copy). */
	pos = 0;
	APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"id\":{}}");
	expect(s, EVR_FMT_JSONRPC, pos, EVR_DEC_OK, "closed");
	expect(s, EVR_FMT_JSONRPC, pos - 1, EVR_DEC_BAD_JSON, "closed only past len");

	/* many positional params overflow tokens: too many attributes */
	pos = 0;
	APPEND(pos, "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":[");
	for (unsigned i = 0; i < s->tok_cap; i++)
		APPEND(pos, "%s1", i ? "," : "");
	APPEND(pos, "]}");
	expect(s, EVR_FMT_JSONRPC, pos, EVR_DEC_TOO_MANY_ATTRS, "positional overflow");
	expect(s, EVR_FMT_AUTO, pos, EVR_DEC_TOO_MANY_ATTRS, "auto positional overflow");
}

/* Decoding into the same scratch leaves nothing of the previous event. */
static void test_reuse(struct evr_scratch *s)
{
	static const char rich[] =
		"Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister\n"
		"priority: HIGH\nA: 1\nB: 2\nContent-Length: 4\n\nbody";
	static const char plain2[] = "Event-Name: HEARTBEAT\n\n";
	static const char rpc[] = "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\"}";
	static const char json[] = "{\"Event-Name\":\"J\",\"k\":\"v\"}";
	const char *first_buf;

	for (int round = 0; round < 2; round++) {
		CHECK_EQ_INT(evr_decode_plain(rich, strlen(rich), s), EVR_DEC_OK);
		CHECK_EQ_INT(s->ev.n_attrs, 5);
		CHECK_EQ_STR(s->ev.subclass.p, "sofia::register");
		CHECK_EQ_INT(s->ev.priority, EVR_PRIO_HIGH);
		CHECK_EQ_STR(s->ev.body.p, "body");
		first_buf = s->ev.name.p;

		CHECK_EQ_INT(evr_decode_plain(plain2, strlen(plain2), s), EVR_DEC_OK);
		CHECK_EQ_INT(s->ev.n_attrs, 1);
		CHECK_EQ_STR(s->ev.name.p, "HEARTBEAT");
		CHECK_EQ_INT(s->ev.subclass.len, 0);
		CHECK_EQ_STR(s->ev.subclass.p, "");
		CHECK_EQ_INT(s->ev.body.len, 0);
		CHECK_EQ_INT(s->ev.priority, EVR_PRIO_NORMAL);
		/* storage is reused from the start, not appended to */
		CHECK(s->ev.name.p == first_buf);
		check_views("reuse plain", s);

		CHECK_EQ_INT(evr_decode_jsonrpc(rpc, strlen(rpc), s), EVR_DEC_OK);
		CHECK_EQ_INT(s->ev.n_attrs, 0);
		CHECK_EQ_INT(s->ev.src_format, EVR_FMT_JSONRPC);
		CHECK_EQ_INT(s->ev.body.len, 0);

		/* a failed decode, then a good one */
		CHECK_EQ_INT(evr_decode_json("{\"Event-Name\":\"J\",\"k\":[1]}", 26, s),
		             EVR_DEC_NESTED_VALUE);
		CHECK_EQ_INT(evr_decode_json(json, strlen(json), s), EVR_DEC_OK);
		CHECK_EQ_INT(s->ev.n_attrs, 2);
		if (s->ev.n_attrs == 2)
			CHECK_EQ_STR(s->ev.attrs[1].value.p, "v");
		CHECK_EQ_INT(s->ev.src_format, EVR_FMT_JSON);
		check_views("reuse json", s);
	}
}

/* Two scratches are independent (per-lcore use). */
static void test_two_scratches(struct evr_scratch *s)
{
	struct evr_scratch t;
	static const char a[] = "Event-Name: A\n\n";
	static const char b[] = "{\"Event-Name\":\"B\"}";

	CHECK_EQ_INT(evr_scratch_init(&t, &s->lim), 0);
	CHECK_EQ_INT(evr_decode_plain(a, strlen(a), s), EVR_DEC_OK);
	CHECK_EQ_INT(evr_decode_json(b, strlen(b), &t), EVR_DEC_OK);
	CHECK_EQ_STR(s->ev.name.p, "A");
	CHECK_EQ_STR(t.ev.name.p, "B");
	evr_scratch_fini(&t);
}

int main(void)
{
	struct evr_limits l;
	struct evr_scratch s;
	static const struct evr_limits tiny = { .max_attrs = 2, .max_name_len = 8,
		                                .max_value_len = 8, .max_datagram = 256 };
	struct evr_scratch ts;

	test_model();

	evr_limits_default(&l);
	if (evr_scratch_init(&s, &l) != 0 || evr_scratch_init(&ts, &tiny) != 0) {
		fprintf(stderr, "scratch init failed\n");
		return 1;
	}

	for (size_t i = 0; i < ARRAY_SIZE(valid_cases); i++)
		run_valid(&s, &valid_cases[i]);
	/* the valid corpus also decodes under tiny limits or fails on one */
	for (size_t i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		const struct valid_case *c = &valid_cases[i];
		enum evr_decode_status st = evr_decode(c->fmt, c->in,
		                                       c->len ? c->len : strlen(c->in), &ts);
		CHECK_MSG(st == EVR_DEC_OK || st == EVR_DEC_OVERSIZE ||
		          st == EVR_DEC_TOO_MANY_ATTRS || st == EVR_DEC_TOO_MANY_TOKENS ||
		          st == EVR_DEC_NAME_TOO_LONG || st == EVR_DEC_VALUE_TOO_LONG,
		          "%s under tiny limits: %s", c->label, evr_decode_status_name(st));
		if (st == EVR_DEC_OK)
			check_views(c->label, &ts);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		run_bad(&s, &bad_cases[i]);
		note(bad_cases[i].st);
	}

	test_limits(&s);
	test_tokens(&s);
	test_datagram_size(&s);
	test_scratch_worst_case();
	test_reuse(&s);
	test_two_scratches(&s);

	/* every failure status is exercised somewhere above */
	for (int i = 0; i < EVR_DEC__COUNT; i++) {
		if (i == EVR_DEC_OK)
			continue;
		CHECK_MSG(seen[i], "status %s not covered",
		          evr_decode_status_name((enum evr_decode_status)i));
	}

	evr_scratch_fini(&ts);
	evr_scratch_fini(&s);
	EVR_TEST_DONE();
}
