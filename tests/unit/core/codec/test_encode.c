/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encoder tests: exact bytes for canonical notifications, escaping, -ENOSPC
 * at every short buffer size, every output re-parsed independently (jansson
 * for the JSON formats, a strict ESL-style parser with URL-decoding for
 * plain) and compared with the input, and decode(encode(ev)) round trips
 * through the evr_decode_* decoders, including random events.
 *
 * Expected bytes were worked out from the format rules in evr_encode.c's
 * design note (OpenSIPS evi_build_payload + cJSON; FreeSWITCH
 * switch_event_serialize / switch_url_encode / serialize_json).
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/evr_decode.h"
#include "codec/evr_encode.h"
#include "evr_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) { (s), sizeof(s) - 1, 0 }
#define NUM(s) { (s), sizeof(s) - 1, EVR_STR_LITERAL }
#define NULLV { "", 0, EVR_STR_NULL }
#define A(n, v) { S(n), S(v) }
#define EV(nm, sub, arr)                                                       \
	{ .name = S(nm), .subclass = S(sub), .attrs = (arr),                   \
	  .n_attrs = ARRAY_SIZE(arr) }
/* An event as the FreeSWITCH decoders build it (Event-Name is a header). */
#define FSEV(nm, sub, arr)                                                     \
	{ .name = S(nm), .subclass = S(sub), .attrs = (arr),                   \
	  .n_attrs = ARRAY_SIZE(arr), .src_format = EVR_FMT_PLAIN }
/* An OpenSIPS event raised without attribute names: params is an array. */
#define POSEV(nm, arr)                                                         \
	{ .name = S(nm), .subclass = S(""), .attrs = (arr),                    \
	  .n_attrs = ARRAY_SIZE(arr), .positional = true }

static const enum evr_format fmts[] = { EVR_FMT_JSONRPC, EVR_FMT_PLAIN,
	                                EVR_FMT_JSON };
static const char *const fmt_names[] = { "jsonrpc", "plain", "json", "xml" };

/* ---- canonical events ---------------------------------------------------- */

/* usrloc E_UL_AOR_INSERT (modules/usrloc/ul_evi.c: params domain, aor). */
static struct evr_attr aor_attrs[] = {
	A("domain", "location"),
	A("aor", "alice@example.com"),
};

/* Script event with OpenSIPS int params (sent as numbers), a null, an
 * empty string and a "literal" that is not valid JSON (sent as string). */
static struct evr_attr lit_attrs[] = {
	{ S("count"), NUM("3") },  { S("ratio"), NUM("-1.5e3") },
	{ S("ok"), NUM("true") },  { S("missing"), NULLV },
	{ S("empty"), S("") },     { S("bad"), NUM("12abc") },
	{ S("neg"), NUM("-0") },
};

static struct evr_attr onlyname_attrs[] = {
	A("Event-Name", "E_SCRIPT_CUSTOM_EVENT"),
};

/* raise_event("E_X", $avp(vals)) with vals "x", 5, "" and an unset
 * string: positional params, named "1".."4" for filters. */
static struct evr_attr pos_attrs[] = {
	{ S("1"), S("x") }, { S("2"), NUM("5") }, { S("3"), S("") },
	{ S("4"), NULLV },
};

/* An OpenSIPS script attribute that happens to be called Event-Name. */
static struct evr_attr rpcname_attrs[] = {
	A("Event-Name", "mine"), A("k", "v"),
};

/* CHANNEL_CREATE as decoded from FreeSWITCH (headers incl. Event-Name and
 * an Event-Sequence that the router replaces with its own). */
static struct evr_attr create_attrs[] = {
	A("Event-Name", "CHANNEL_CREATE"),
	A("Core-UUID", "6f1c3f5e-2b7a-4c5d-9e8f-0a1b2c3d4e5f"),
	A("FreeSWITCH-Hostname", "fs1.example.com"),
	A("Event-Date-Local", "2024-05-01 12:00:00"),
	A("Event-Sequence", "512"),
	A("Channel-State", "CS_INIT"),
	A("Channel-Name", "sofia/internal/1000@example.com"),
	A("Unique-ID", "0a6b2c9e-6d5f-4e3a-8b1c-2d3e4f5a6b7c"),
	A("Caller-Caller-ID-Name", "Alice Smith"),
	A("Caller-Caller-ID-Number", "1000"),
	A("variable_sip_h_X-Note", ""),
};

static struct evr_attr register_attrs[] = {
	A("Event-Name", "CUSTOM"),
	A("Event-Subclass", "sofia::register"),
	A("profile-name", "internal"),
	A("from-user", "1000"),
	A("from-host", "example.com"),
	A("contact", "\"Alice\" <sip:1000@10.0.0.5:5060;transport=udp>"),
	A("expires", "3600"),
	A("user-agent", "Z 5.6.1 v2.10.20.10"),
	A("network-ip", "10.0.0.5"),
};

static struct evr_attr job_attrs[] = {
	A("Event-Name", "BACKGROUND_JOB"),
	A("Job-UUID", "7f4db78a-17d7-11dd-b7a0-db4edd065621"),
	A("Job-Command", "originate"),
};

static struct evr_attr esc_attrs[] = {
	A("q", "a\"b"),
	A("bs", "a\\b"),
	A("ctl", "\x01\x1f\x7f"),
	A("ws", "\t\n\r\b\f"),
	A("utf8", "h\xc3\xa9llo \xe2\x82\xac"),
	A("slash", "a/b"),
	A("pct", "100%41"),
	A("sp", "a b+c"),
	A("set", "#&:;<=>?@[]^`{|}"),
	A("safe", "!$'()*,-./_~"),
	A("nl", "line1\nline2"),
	A("undef", "_undef_"),
};

/* Not valid UTF-8: checked byte-exact and by round trip, not by jansson
 * (which rejects invalid UTF-8 by design). */
static struct evr_attr high_attrs[] = {
	A("hi", "\xff\xfe\x80"),
	A("k\"e\\y\x01", "v"),
};

static struct evr_attr names_attrs[] = {
	A("a: b\nc%", "v"),
	A("\xc3\xa9", "w"),
};

/* Escapes push the plain event from 2 to 3 digits after the envelope
 * length was guessed from the unescaped size: exercises the move. */
static struct evr_attr shift_attrs[] = {
	A("v", "                       "),
};

static struct evr_attr skip_attrs[] = {
	A("event-subclass", "other"),
	A("Content-Length", "3"),
	A("_body", "zz"),
	A("EVENT-NAME", "CUSTOM"),
	A("event-sequence", "1"),
	A("k", "v"),
};

static struct evr_attr subattr_attrs[] = {
	A("Event-Subclass", "m::y"),
	A("k", "v"),
};

struct canon {
	const char *what;
	struct evr_event ev;
	uint64_t seq;
	bool utf8; /* output is valid UTF-8 (jansson can check it) */
	const char *exp[3]; /* by evr_format */
};

static struct canon canon[] = {
{ "E_UL_AOR_INSERT", EV("E_UL_AOR_INSERT", "", aor_attrs), 7, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_UL_AOR_INSERT\",\"params\":"
	"{\"domain\":\"location\",\"aor\":\"alice@example.com\"}}",

	"Content-Length: 89\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_UL_AOR_INSERT\n"
	"domain: location\n"
	"aor: alice%40example.com\n"
	"Event-Sequence: 7\n"
	"\n",

	"{\"Event-Name\":\"E_UL_AOR_INSERT\",\"domain\":\"location\","
	"\"aor\":\"alice@example.com\",\"Event-Sequence\":\"7\"}" } },

{ "literals", EV("E_SCRIPT_EVENT", "", lit_attrs), 8, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_SCRIPT_EVENT\",\"params\":"
	"{\"count\":3,\"ratio\":-1.5e3,\"ok\":true,\"missing\":null,"
	"\"empty\":\"\",\"bad\":\"12abc\",\"neg\":-0}}",

	"Content-Length: 129\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_SCRIPT_EVENT\n"
	"count: 3\n"
	"ratio: -1.5e3\n"
	"ok: true\n"
	"missing: _undef_\n"
	"empty: _undef_\n"
	"bad: 12abc\n"
	"neg: -0\n"
	"Event-Sequence: 8\n"
	"\n",

	"{\"Event-Name\":\"E_SCRIPT_EVENT\",\"count\":\"3\",\"ratio\":\"-1.5e3\","
	"\"ok\":\"true\",\"missing\":\"\",\"empty\":\"\",\"bad\":\"12abc\","
	"\"neg\":\"-0\",\"Event-Sequence\":\"8\"}" } },

/* raise_event("E_SCRIPT_CUSTOM_EVENT") without parameters: OpenSIPS
 * leaves "params" out entirely. */
{ "no params", { .name = S("E_SCRIPT_CUSTOM_EVENT"), .subclass = S("") }, 9,
  true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_SCRIPT_CUSTOM_EVENT\"}",

	"Content-Length: 53\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_SCRIPT_CUSTOM_EVENT\n"
	"Event-Sequence: 9\n"
	"\n",

	"{\"Event-Name\":\"E_SCRIPT_CUSTOM_EVENT\",\"Event-Sequence\":\"9\"}" } },

/* From a FreeSWITCH source the Event-Name header is the method. */
{ "only Event-Name", FSEV("E_SCRIPT_CUSTOM_EVENT", "", onlyname_attrs), 9, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_SCRIPT_CUSTOM_EVENT\"}",

	"Content-Length: 53\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_SCRIPT_CUSTOM_EVENT\n"
	"Event-Sequence: 9\n"
	"\n",

	"{\"Event-Name\":\"E_SCRIPT_CUSTOM_EVENT\",\"Event-Sequence\":\"9\"}" } },

{ "CHANNEL_CREATE", FSEV("CHANNEL_CREATE", "", create_attrs), 4242, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"CHANNEL_CREATE\",\"params\":{"
	"\"Core-UUID\":\"6f1c3f5e-2b7a-4c5d-9e8f-0a1b2c3d4e5f\","
	"\"FreeSWITCH-Hostname\":\"fs1.example.com\","
	"\"Event-Date-Local\":\"2024-05-01 12:00:00\","
	"\"Event-Sequence\":\"512\",\"Channel-State\":\"CS_INIT\","
	"\"Channel-Name\":\"sofia/internal/1000@example.com\","
	"\"Unique-ID\":\"0a6b2c9e-6d5f-4e3a-8b1c-2d3e4f5a6b7c\","
	"\"Caller-Caller-ID-Name\":\"Alice Smith\","
	"\"Caller-Caller-ID-Number\":\"1000\",\"variable_sip_h_X-Note\":\"\"}}",

	"Content-Length: 395\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: CHANNEL_CREATE\n"
	"Core-UUID: 6f1c3f5e-2b7a-4c5d-9e8f-0a1b2c3d4e5f\n"
	"FreeSWITCH-Hostname: fs1.example.com\n"
	"Event-Date-Local: 2024-05-01%2012%3A00%3A00\n"
	"Channel-State: CS_INIT\n"
	"Channel-Name: sofia/internal/1000%40example.com\n"
	"Unique-ID: 0a6b2c9e-6d5f-4e3a-8b1c-2d3e4f5a6b7c\n"
	"Caller-Caller-ID-Name: Alice%20Smith\n"
	"Caller-Caller-ID-Number: 1000\n"
	"variable_sip_h_X-Note: _undef_\n"
	"Event-Sequence: 4242\n"
	"\n",

	"{\"Event-Name\":\"CHANNEL_CREATE\","
	"\"Core-UUID\":\"6f1c3f5e-2b7a-4c5d-9e8f-0a1b2c3d4e5f\","
	"\"FreeSWITCH-Hostname\":\"fs1.example.com\","
	"\"Event-Date-Local\":\"2024-05-01 12:00:00\","
	"\"Channel-State\":\"CS_INIT\","
	"\"Channel-Name\":\"sofia/internal/1000@example.com\","
	"\"Unique-ID\":\"0a6b2c9e-6d5f-4e3a-8b1c-2d3e4f5a6b7c\","
	"\"Caller-Caller-ID-Name\":\"Alice Smith\","
	"\"Caller-Caller-ID-Number\":\"1000\",\"variable_sip_h_X-Note\":\"\","
	"\"Event-Sequence\":\"4242\"}" } },

{ "CUSTOM sofia::register", FSEV("CUSTOM", "sofia::register", register_attrs),
  99, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"CUSTOM\",\"params\":{"
	"\"Event-Subclass\":\"sofia::register\",\"profile-name\":\"internal\","
	"\"from-user\":\"1000\",\"from-host\":\"example.com\","
	"\"contact\":\"\\\"Alice\\\" <sip:1000@10.0.0.5:5060;transport=udp>\","
	"\"expires\":\"3600\",\"user-agent\":\"Z 5.6.1 v2.10.20.10\","
	"\"network-ip\":\"10.0.0.5\"}}",

	"Content-Length: 284\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: CUSTOM\n"
	"Event-Subclass: sofia%3A%3Aregister\n"
	"profile-name: internal\n"
	"from-user: 1000\n"
	"from-host: example.com\n"
	"contact: %22Alice%22%20%3Csip%3A1000%4010.0.0.5%3A5060%3Btransport%3Dudp%3E\n"
	"expires: 3600\n"
	"user-agent: Z%205.6.1%20v2.10.20.10\n"
	"network-ip: 10.0.0.5\n"
	"Event-Sequence: 99\n"
	"\n",

	"{\"Event-Name\":\"CUSTOM\",\"Event-Subclass\":\"sofia::register\","
	"\"profile-name\":\"internal\",\"from-user\":\"1000\","
	"\"from-host\":\"example.com\","
	"\"contact\":\"\\\"Alice\\\" <sip:1000@10.0.0.5:5060;transport=udp>\","
	"\"expires\":\"3600\",\"user-agent\":\"Z 5.6.1 v2.10.20.10\","
	"\"network-ip\":\"10.0.0.5\",\"Event-Sequence\":\"99\"}" } },

{ "BACKGROUND_JOB with body",
  { .name = S("BACKGROUND_JOB"), .subclass = S(""), .body = S("+OK Job done\n"),
    .attrs = job_attrs, .n_attrs = ARRAY_SIZE(job_attrs),
    .src_format = EVR_FMT_PLAIN }, 5, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"BACKGROUND_JOB\",\"params\":{"
	"\"Job-UUID\":\"7f4db78a-17d7-11dd-b7a0-db4edd065621\","
	"\"Job-Command\":\"originate\"}}",

	"Content-Length: 148\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: BACKGROUND_JOB\n"
	"Job-UUID: 7f4db78a-17d7-11dd-b7a0-db4edd065621\n"
	"Job-Command: originate\n"
	"Event-Sequence: 5\n"
	"Content-Length: 13\n"
	"\n"
	"+OK Job done\n",

	"{\"Event-Name\":\"BACKGROUND_JOB\","
	"\"Job-UUID\":\"7f4db78a-17d7-11dd-b7a0-db4edd065621\","
	"\"Job-Command\":\"originate\",\"Event-Sequence\":\"5\","
	"\"Content-Length\":\"13\",\"_body\":\"+OK Job done\\n\"}" } },

{ "escaping", EV("E_ESC", "", esc_attrs), 10, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_ESC\",\"params\":{"
	"\"q\":\"a\\\"b\",\"bs\":\"a\\\\b\",\"ctl\":\"\\u0001\\u001f\x7f\","
	"\"ws\":\"\\t\\n\\r\\b\\f\",\"utf8\":\"h\xc3\xa9llo \xe2\x82\xac\","
	"\"slash\":\"a/b\",\"pct\":\"100%41\",\"sp\":\"a b+c\","
	"\"set\":\"#&:;<=>?@[]^`{|}\",\"safe\":\"!$'()*,-./_~\","
	"\"nl\":\"line1\\nline2\",\"undef\":\"_undef_\"}}",

	"Content-Length: 270\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_ESC\n"
	"q: a%22b\n"
	"bs: a%5Cb\n"
	"ctl: %01%1F%7F\n"
	"ws: %09%0A%0D%08%0C\n"
	"utf8: h%C3%A9llo%20%E2%82%AC\n"
	"slash: a/b\n"
	"pct: 100%2541\n"
	"sp: a%20b%2Bc\n"
	"set: %23%26%3A%3B%3C%3D%3E%3F%40%5B%5D%5E%60%7B%7C%7D\n"
	"safe: !$'()*,-./_~\n"
	"nl: line1%0Aline2\n"
	"undef: %5Fundef%5F\n"
	"Event-Sequence: 10\n"
	"\n",

	"{\"Event-Name\":\"E_ESC\","
	"\"q\":\"a\\\"b\",\"bs\":\"a\\\\b\",\"ctl\":\"\\u0001\\u001f\x7f\","
	"\"ws\":\"\\t\\n\\r\\b\\f\",\"utf8\":\"h\xc3\xa9llo \xe2\x82\xac\","
	"\"slash\":\"a/b\",\"pct\":\"100%41\",\"sp\":\"a b+c\","
	"\"set\":\"#&:;<=>?@[]^`{|}\",\"safe\":\"!$'()*,-./_~\","
	"\"nl\":\"line1\\nline2\",\"undef\":\"_undef_\","
	"\"Event-Sequence\":\"10\"}" } },

{ "high bytes", EV("E_HIGH", "", high_attrs), 11, false, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_HIGH\",\"params\":{"
	"\"hi\":\"\xff\xfe\x80\",\"k\\\"e\\\\y\\u0001\":\"v\"}}",

	"Content-Length: 65\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_HIGH\n"
	"hi: %FF%FE%80\n"
	"k\"e\\y%01: v\n"
	"Event-Sequence: 11\n"
	"\n",

	"{\"Event-Name\":\"E_HIGH\",\"hi\":\"\xff\xfe\x80\","
	"\"k\\\"e\\\\y\\u0001\":\"v\",\"Event-Sequence\":\"11\"}" } },

{ "odd names", EV("E_NAMES", "", names_attrs), 12, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_NAMES\",\"params\":{"
	"\"a: b\\nc%\":\"v\",\"\xc3\xa9\":\"w\"}}",

	"Content-Length: 63\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_NAMES\n"
	"a%3A b%0Ac%25: v\n"
	"\xc3\xa9: w\n"
	"Event-Sequence: 12\n"
	"\n",

	"{\"Event-Name\":\"E_NAMES\",\"a: b\\nc%\":\"v\",\"\xc3\xa9\":\"w\","
	"\"Event-Sequence\":\"12\"}" } },

{ "envelope digits grow", EV("X", "", shift_attrs), 1, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"X\",\"params\":"
	"{\"v\":\"                       \"}}",

	"Content-Length: 106\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: X\n"
	"v: %20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20\n"
	"Event-Sequence: 1\n"
	"\n",

	"{\"Event-Name\":\"X\",\"v\":\"                       \","
	"\"Event-Sequence\":\"1\"}" } },

{ "skipped headers", FSEV("CUSTOM", "m::x", skip_attrs), 13, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"CUSTOM\",\"params\":{"
	"\"event-subclass\":\"other\",\"Content-Length\":\"3\",\"_body\":\"zz\","
	"\"event-sequence\":\"1\",\"k\":\"v\"}}",

	"Content-Length: 79\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: CUSTOM\n"
	"Event-Subclass: m%3A%3Ax\n"
	"_body: zz\n"
	"k: v\n"
	"Event-Sequence: 13\n"
	"\n",

	"{\"Event-Name\":\"CUSTOM\",\"Event-Subclass\":\"m::x\",\"k\":\"v\","
	"\"Event-Sequence\":\"13\"}" } },

/* No ev.subclass: an Event-Subclass attribute stays where it is. */
{ "subclass as attribute", FSEV("CUSTOM", "", subattr_attrs), 14, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"CUSTOM\",\"params\":"
	"{\"Event-Subclass\":\"m::y\",\"k\":\"v\"}}",

	"Content-Length: 69\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: CUSTOM\n"
	"Event-Subclass: m%3A%3Ay\n"
	"k: v\n"
	"Event-Sequence: 14\n"
	"\n",

	"{\"Event-Name\":\"CUSTOM\",\"Event-Subclass\":\"m::y\",\"k\":\"v\","
	"\"Event-Sequence\":\"14\"}" } },

/* OpenSIPS evi_build_payload() for a params list whose first name is NULL:
 * payload_add_params() builds a cJSON array of the values (integer as
 * %d, NULL string as null, "" as ""), printed unformatted. The FreeSWITCH
 * formats keep the names filters use. */
{ "positional", POSEV("E_X", pos_attrs), 15, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":[\"x\",5,\"\",null]}",

	"Content-Length: 68\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_X\n"
	"1: x\n"
	"2: 5\n"
	"3: _undef_\n"
	"4: _undef_\n"
	"Event-Sequence: 15\n"
	"\n",

	"{\"Event-Name\":\"E_X\",\"1\":\"x\",\"2\":\"5\",\"3\":\"\",\"4\":\"\","
	"\"Event-Sequence\":\"15\"}" } },

/* A JSON-RPC param called Event-Name is data: OpenSIPS forwards it and so
 * does jsonrpc; plain/json keep their mapping (Event-Name is the name). */
{ "JSON-RPC Event-Name param", EV("E_X", "", rpcname_attrs), 16, true, {
	"{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":"
	"{\"Event-Name\":\"mine\",\"k\":\"v\"}}",

	"Content-Length: 41\n"
	"Content-Type: text/event-plain\n"
	"\n"
	"Event-Name: E_X\n"
	"k: v\n"
	"Event-Sequence: 16\n"
	"\n",

	"{\"Event-Name\":\"E_X\",\"k\":\"v\",\"Event-Sequence\":\"16\"}" } },
};

/* ---- expected content, from the documented rules ------------------------ */

enum kind { K_STR, K_LIT, K_NULL };

struct kv {
	const char *k, *v;
	size_t kl, vl;
	enum kind kind;
};

#define MAX_KV (EVR_LIMITS_HARD_MAX_ATTRS + 8)

static bool ieq_lit(const struct evr_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->len == n && evr_ieq(s->p, lit, n);
}

/* Independent check of the literal rule: jansson must read it as a scalar
 * number/true/false/null, with nothing around it. */
static bool literal_ok(const char *p, size_t n)
{
	if (!n || p[0] == ' ' || p[n - 1] == ' ' || p[0] == '\t' || p[n - 1] == '\t'
	    || p[0] == '\n' || p[n - 1] == '\n' || p[0] == '\r' || p[n - 1] == '\r')
		return false;
	json_error_t err;
	json_t *j = json_loadb(p, n, JSON_DECODE_ANY, &err);
	bool ok = j && (json_is_number(j) || json_is_boolean(j) || json_is_null(j));
	json_decref(j);
	return ok;
}

static size_t rpc_expect(const struct evr_event *ev, struct kv *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		/* only a FreeSWITCH header Event-Name is the method */
		if (ev->src_format != EVR_FMT_JSONRPC && ieq_lit(&a->name, "Event-Name"))
			continue;
		enum kind k = K_STR;
		if ((a->value.flags & EVR_STR_NULL) && !a->value.len)
			k = K_NULL;
		else if ((a->value.flags & EVR_STR_LITERAL)
		         && literal_ok(a->value.p, a->value.len))
			k = K_LIT;
		if (k == K_LIT && a->value.len == 4 && !memcmp(a->value.p, "null", 4))
			out[n++] = (struct kv){ a->name.p, "", a->name.len, 0, K_NULL };
		else
			out[n++] = (struct kv){ a->name.p, a->value.p, a->name.len,
				                a->value.len, k };
	}
	return n;
}

/* FreeSWITCH header list: Event-Name, Event-Subclass, attributes, then
 * Event-Sequence (and for json Content-Length, _body). */
static size_t fs_expect(const struct evr_event *ev, const char *seqs, bool json,
                        struct kv *out)
{
	size_t n = 0;
	out[n++] = (struct kv){ "Event-Name", ev->name.p, 10, ev->name.len, K_STR };
	if (ev->subclass.len)
		out[n++] = (struct kv){ "Event-Subclass", ev->subclass.p, 14,
			                ev->subclass.len, K_STR };
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (ieq_lit(&a->name, "Event-Name")
		    || ieq_lit(&a->name, "Event-Sequence")
		    || ieq_lit(&a->name, "Content-Length")
		    || (json && ieq_lit(&a->name, "_body"))
		    || (ev->subclass.len && ieq_lit(&a->name, "Event-Subclass")))
			continue;
		out[n++] = (struct kv){ a->name.p, a->value.p, a->name.len,
			                a->value.len, K_STR };
	}
	out[n++] = (struct kv){ "Event-Sequence", seqs, 14, strlen(seqs), K_STR };
	if (json && ev->body.len) {
		static char blen[24]; /* valid until the next call */
		snprintf(blen, sizeof(blen), "%u", (unsigned)ev->body.len);
		out[n++] = (struct kv){ "Content-Length", blen, 14, strlen(blen), K_STR };
		out[n++] = (struct kv){ "_body", ev->body.p, 5, ev->body.len, K_STR };
	}
	return n;
}

static bool mem_eq(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* ---- independent re-parsing ------------------------------------------------ */

static bool json_str_eq(json_t *j, const char *v, size_t vl)
{
	return json_is_string(j) && mem_eq(json_string_value(j), json_string_length(j), v, vl);
}

static void verify_jsonrpc(const char *what, const struct evr_event *ev,
                           const char *out, size_t n)
{
	static struct kv exp[MAX_KV];
	size_t ne = rpc_expect(ev, exp);
	json_error_t err;
	json_t *root = json_loadb(out, n, JSON_ALLOW_NUL, &err);

	CHECK_MSG(root && json_is_object(root), "%s: jansson: %s", what, err.text);
	if (!root)
		return;
	void *it = json_object_iter(root);
	CHECK_MSG(it && !strcmp(json_object_iter_key(it), "jsonrpc")
	          && json_str_eq(json_object_iter_value(it), "2.0", 3), "%s", what);
	it = it ? json_object_iter_next(root, it) : NULL;
	CHECK_MSG(it && !strcmp(json_object_iter_key(it), "method")
	          && json_str_eq(json_object_iter_value(it), ev->name.p, ev->name.len),
	          "%s: method", what);
	it = it ? json_object_iter_next(root, it) : NULL;
	if (ne == 0) {
		CHECK_MSG(!it, "%s: params present for an event without params", what);
		json_decref(root);
		return;
	}
	CHECK_MSG(it && !strcmp(json_object_iter_key(it), "params")
	          && (ev->positional ? json_is_array(json_object_iter_value(it))
	                             : json_is_object(json_object_iter_value(it))),
	          "%s: params", what);
	if (!it) {
		json_decref(root);
		return;
	}
	CHECK_MSG(!json_object_iter_next(root, it), "%s: key after params", what);
	json_t *params = json_object_iter_value(it);
	size_t np = ev->positional ? json_array_size(params) : json_object_size(params);
	CHECK_MSG(np == ne, "%s: %zu params, want %zu", what, np, ne);
	size_t i = 0;
	void *p = ev->positional ? NULL : json_object_iter(params);
	for (; i < ne && (ev->positional ? i < np : p != NULL); i++) {
		json_t *v;
		if (ev->positional) {
			/* an array: values only, in order */
			v = json_array_get(params, i);
		} else {
			size_t kl = json_object_iter_key_len(p);
			const char *k = json_object_iter_key(p);
			v = json_object_iter_value(p);
			p = json_object_iter_next(params, p);
			CHECK_MSG(mem_eq(k, kl, exp[i].k, exp[i].kl), "%s: param %zu name",
			          what, i);
		}
		if (exp[i].kind == K_NULL) {
			CHECK_MSG(json_is_null(v), "%s: param %zu not null", what, i);
		} else if (exp[i].kind == K_LIT) {
			json_t *l = json_loadb(exp[i].v, exp[i].vl, JSON_DECODE_ANY, &err);
			CHECK_MSG(l && json_equal(l, v), "%s: literal param %zu", what, i);
			json_decref(l);
		} else {
			CHECK_MSG(json_str_eq(v, exp[i].v, exp[i].vl), "%s: param %zu value",
			          what, i);
		}
	}
	json_decref(root);
}

static void verify_fsjson(const char *what, const struct evr_event *ev,
                          uint64_t seq, const char *out, size_t n)
{
	static struct kv exp[MAX_KV];
	char seqs[24];
	snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
	size_t ne = fs_expect(ev, seqs, true, exp);
	json_error_t err;
	json_t *root = json_loadb(out, n, JSON_ALLOW_NUL, &err);

	CHECK_MSG(root && json_is_object(root), "%s: jansson: %s", what, err.text);
	if (!root)
		return;
	CHECK_MSG(json_object_size(root) == ne, "%s: %zu keys, want %zu", what,
	          json_object_size(root), ne);
	size_t i = 0;
	for (void *p = json_object_iter(root); p && i < ne;
	     p = json_object_iter_next(root, p), i++) {
		CHECK_MSG(mem_eq(json_object_iter_key(p), json_object_iter_key_len(p),
		                 exp[i].k, exp[i].kl), "%s: key %zu", what, i);
		CHECK_MSG(json_str_eq(json_object_iter_value(p), exp[i].v, exp[i].vl),
		          "%s: value %zu (%.*s)", what, i, (int)exp[i].kl, exp[i].k);
	}
	json_decref(root);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* the encoder promises uppercase */
}

/* URL-decode p[0..n) into *w; false on a bad escape. */
static bool url_decode(const char *p, size_t n, char **w)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			*(*w)++ = p[i];
			continue;
		}
		int h, l;
		if (i + 2 >= n || (h = hexval(p[i + 1])) < 0
		    || (l = hexval(p[i + 2])) < 0)
			return false;
		*(*w)++ = (char)(h << 4 | l);
		i += 2;
	}
	return true;
}

/* What FreeSWITCH would have escaped must never appear raw in a value. */
static bool raw_value_byte_ok(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && !strchr("\r\n #&+:;<=>?@[\\]^`{|}\"", c);
}

/*
 * Strict parse of an ESL text/event-plain message: envelope, then
 * "Name: value" lines (both URL-decoded, _undef_ read as empty), then either
 * a blank line at the very end or Content-Length + blank line + body.
 */
static bool parse_plain(const char *b, size_t n, struct kv *h, size_t *nh,
                        char *store, const char **body, size_t *blen)
{
	static const char pre[] = "Content-Length: ";
	static const char post[] = "\nContent-Type: text/event-plain\n\n";
	size_t pos = sizeof(pre) - 1, len = 0;
	char *w = store;

	*nh = 0;
	*body = NULL;
	*blen = 0;
	if (n < pos || memcmp(b, pre, pos))
		return false;
	if (pos >= n || b[pos] < '1' || b[pos] > '9')
		return false; /* no leading zero, not empty */
	while (pos < n && b[pos] >= '0' && b[pos] <= '9')
		len = len * 10 + (size_t)(b[pos++] - '0');
	if (n - pos < sizeof(post) - 1 || memcmp(b + pos, post, sizeof(post) - 1))
		return false;
	pos += sizeof(post) - 1;
	if (n - pos != len)
		return false;

	for (;;) {
		const char *nl = memchr(b + pos, '\n', n - pos);
		if (!nl)
			return false;
		size_t ll = (size_t)(nl - (b + pos));
		if (ll == 0)
			return pos + 1 == n; /* blank line ends a body-less event */
		const char *line = b + pos, *col = memchr(line, ':', ll);
		if (!col || (size_t)(col - line) + 2 > ll || col[1] != ' ')
			return false;
		const char *v = col + 2;
		size_t vl = ll - (size_t)(v - line);
		for (size_t i = 0; i < vl; i++)
			if (v[i] != '%' && !raw_value_byte_ok((unsigned char)v[i]))
				return false;
		struct kv *e = &h[*nh];
		e->k = w;
		if (!url_decode(line, (size_t)(col - line), &w))
			return false;
		e->kl = (size_t)(w - e->k);
		e->v = w;
		if (vl == 7 && !memcmp(v, "_undef_", 7)) {
			e->vl = 0;
		} else {
			if (!url_decode(v, vl, &w))
				return false;
			e->vl = (size_t)(w - e->v);
		}
		e->kind = K_STR;
		pos += ll + 1;
		if (e->kl == 14 && evr_ieq(e->k, "Content-Length", 14)) {
			size_t m = 0;
			for (size_t i = 0; i < e->vl; i++) {
				if (e->v[i] < '0' || e->v[i] > '9')
					return false;
				m = m * 10 + (size_t)(e->v[i] - '0');
			}
			if (pos >= n || b[pos] != '\n' || n - pos - 1 != m || m == 0)
				return false;
			*body = b + pos + 1;
			*blen = m;
			return true;
		}
		(*nh)++;
	}
}

static void verify_plain(const char *what, const struct evr_event *ev,
                         uint64_t seq, const char *out, size_t n)
{
	static struct kv exp[MAX_KV], got[MAX_KV];
	static char store[1 << 20];
	char seqs[24];
	const char *body;
	size_t ng, blen;

	snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
	size_t ne = fs_expect(ev, seqs, false, exp);
	bool ok = parse_plain(out, n, got, &ng, store, &body, &blen);
	CHECK_MSG(ok, "%s: plain output does not parse", what);
	if (!ok)
		return;
	CHECK_MSG(ng == ne, "%s: %zu headers, want %zu", what, ng, ne);
	for (size_t i = 0; i < ng && i < ne; i++) {
		CHECK_MSG(mem_eq(got[i].k, got[i].kl, exp[i].k, exp[i].kl),
		          "%s: header %zu name", what, i);
		CHECK_MSG(mem_eq(got[i].v, got[i].vl, exp[i].v, exp[i].vl),
		          "%s: header %zu (%.*s) value", what, i, (int)exp[i].kl, exp[i].k);
	}
	CHECK_MSG(mem_eq(body, blen, ev->body.p, ev->body.len), "%s: body", what);
}

static void verify(enum evr_format f, const char *what, const struct evr_event *ev,
                   uint64_t seq, const char *out, size_t n, bool utf8)
{
	if (f == EVR_FMT_PLAIN)
		verify_plain(what, ev, seq, out, n);
	else if (!utf8)
		return; /* jansson rejects invalid UTF-8; covered by exact bytes */
	else if (f == EVR_FMT_JSONRPC)
		verify_jsonrpc(what, ev, out, n);
	else
		verify_fsjson(what, ev, seq, out, n);
}

/* -ENOSPC for every cap below the exact size, success at exact; each cap
 * gets its own heap block so ASan catches any write past it. */
static void check_enospc(enum evr_format f, const char *what,
                         const struct evr_event *ev, uint64_t seq,
                         const char *exp, size_t n)
{
	unsigned bad = 0;
	for (size_t cap = 0; cap <= n; cap++) {
		char *buf = malloc(cap ? cap : 1);
		int rc = evr_encode(f, ev, seq, buf, cap);
		if (cap < n && rc != -ENOSPC)
			bad++;
		if (cap == n)
			CHECK_MSG(rc == (int)n && !memcmp(buf, exp, n),
			          "%s/%s: exact cap %zu gave %d", what, fmt_names[f], n, rc);
		free(buf);
	}
	CHECK_MSG(bad == 0, "%s/%s: %u short caps did not give -ENOSPC", what,
	          fmt_names[f], bad);
}

static void test_canonical(void)
{
	static char buf[8192];

	for (size_t c = 0; c < ARRAY_SIZE(canon); c++) {
		const struct canon *t = &canon[c];
		for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
			enum evr_format f = fmts[i];
			const char *exp = t->exp[f];
			size_t el = strlen(exp);
			int rc = evr_encode(f, &t->ev, t->seq, buf, sizeof(buf));
			CHECK_MSG(rc == (int)el && !memcmp(buf, exp, el),
			          "%s/%s: got %d bytes\n%.*s\nwant %zu bytes\n%s", t->what,
			          fmt_names[f], rc, rc > 0 ? rc : 0, buf, el, exp);
			if (rc > 0)
				verify(f, t->what, &t->ev, t->seq, buf, (size_t)rc, t->utf8);
			check_enospc(f, t->what, &t->ev, t->seq, exp, el);
		}
	}
}

static void test_api(void)
{
	char a[512], b[512];
	const struct evr_event *ev = &canon[0].ev;

	CHECK_EQ_INT(evr_encode(EVR_FMT_AUTO, ev, 1, a, sizeof(a)), -EINVAL);
	CHECK_EQ_INT(evr_encode(EVR_FMT__COUNT, ev, 1, a, sizeof(a)), -EINVAL);
	/* dispatch == direct calls */
	int n1 = evr_encode(EVR_FMT_JSONRPC, ev, 1, a, sizeof(a));
	int n2 = evr_encode_jsonrpc(ev, b, sizeof(b));
	CHECK(n1 > 0 && n1 == n2 && !memcmp(a, b, (size_t)n1));
	n1 = evr_encode(EVR_FMT_PLAIN, ev, 77, a, sizeof(a));
	n2 = evr_encode_plain(ev, 77, b, sizeof(b));
	CHECK(n1 > 0 && n1 == n2 && !memcmp(a, b, (size_t)n1));
	n1 = evr_encode(EVR_FMT_JSON, ev, 77, a, sizeof(a));
	n2 = evr_encode_json(ev, 77, b, sizeof(b));
	CHECK(n1 > 0 && n1 == n2 && !memcmp(a, b, (size_t)n1));

	/* full uint64 sequence number */
	struct evr_event e = { .name = S("HEARTBEAT"), .subclass = S("") };
	n1 = evr_encode_json(&e, UINT64_MAX, a, sizeof(a));
	CHECK_EQ_VIEW(a, n1 > 0 ? n1 : 0,
	              "{\"Event-Name\":\"HEARTBEAT\",\"Event-Sequence\":\"18446744073709551615\"}");
	n1 = evr_encode_plain(&e, 0, a, sizeof(a));
	CHECK_EQ_VIEW(a, n1 > 0 ? n1 : 0,
	              "Content-Length: 41\nContent-Type: text/event-plain\n\n"
	              "Event-Name: HEARTBEAT\nEvent-Sequence: 0\n\n");

	/* empty views may have NULL pointers */
	struct evr_attr na[] = { { S("k"), { NULL, 0, 0 } } };
	struct evr_event en = { .name = S("E"), .subclass = { NULL, 0, 0 },
		                .body = { NULL, 0, 0 }, .attrs = na, .n_attrs = 1 };
	n1 = evr_encode_jsonrpc(&en, a, sizeof(a));
	CHECK_EQ_VIEW(a, n1 > 0 ? n1 : 0,
	              "{\"jsonrpc\":\"2.0\",\"method\":\"E\",\"params\":{\"k\":\"\"}}");

	/* a NUL byte in a value: \u0000 in JSON, %00 in plain */
	struct evr_attr za[] = { { S("z"), { "a\0b", 3, 0 } } };
	struct evr_event ez = { .name = S("E"), .subclass = S(""), .attrs = za,
		                .n_attrs = 1 };
	n1 = evr_encode_jsonrpc(&ez, a, sizeof(a));
	CHECK_EQ_VIEW(a, n1 > 0 ? n1 : 0,
	              "{\"jsonrpc\":\"2.0\",\"method\":\"E\",\"params\":{\"z\":\"a\\u0000b\"}}");
	n1 = evr_encode_plain(&ez, 1, a, sizeof(a));
	CHECK(n1 > 0 && memmem(a, (size_t)n1, "\nz: a%00b\n", 10) != NULL);

	/* invalid literals fall back to strings; NULL flag with data keeps it */
	struct evr_attr la[] = {
		{ S("a"), NUM("01") }, { S("b"), NUM("1.") }, { S("c"), NUM("+1") },
		{ S("d"), NUM("") },   { S("e"), NUM("1e") }, { S("f"), NUM("tru") },
		{ S("g"), NUM("0.5E+10") }, { S("h"), NUM("null") },
		{ S("i"), { "x", 1, EVR_STR_NULL } }, { S("j"), NUM("-") },
		{ S("k"), NUM(".5") }, { S("l"), NUM("1 ") },
	};
	struct evr_event el = { .name = S("L"), .subclass = S(""), .attrs = la,
		                .n_attrs = ARRAY_SIZE(la) };
	n1 = evr_encode_jsonrpc(&el, a, sizeof(a));
	CHECK_EQ_VIEW(a, n1 > 0 ? n1 : 0,
	              "{\"jsonrpc\":\"2.0\",\"method\":\"L\",\"params\":{\"a\":\"01\","
	              "\"b\":\"1.\",\"c\":\"+1\",\"d\":\"\",\"e\":\"1e\",\"f\":\"tru\","
	              "\"g\":0.5E+10,\"h\":null,\"i\":\"x\",\"j\":\"-\",\"k\":\".5\","
	              "\"l\":\"1 \"}}");
	if (n1 > 0)
		verify_jsonrpc("literal fallback", &el, a, (size_t)n1);
}

/* ---- block scanners vs a naive per-byte reference -------------------------- */

static size_t ref_json(const unsigned char *v, size_t n, char *o)
{
	size_t k = 0;
	o[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = v[i];
		const char *sh = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
		                 : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
		                 : c == '\t' ? "\\t" : NULL;
		if (sh)
			k += (size_t)sprintf(o + k, "%s", sh);
		else if (c < 0x20)
			k += (size_t)sprintf(o + k, "\\u%04x", c);
		else
			o[k++] = (char)c;
	}
	o[k++] = '"';
	return k;
}

static size_t ref_url(const unsigned char *v, size_t n, char *o)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = v[i];
		if (c < 0x20 || c > 0x7e || strchr("\r\n #%&+:;<=>?@[\\]^`{|}\"", c))
			k += (size_t)sprintf(o + k, "%%%02X", c);
		else
			o[k++] = (char)c;
	}
	return k;
}

/*
 * One odd byte at every position of clean runs of every length up to 40:
 * covers the 16-byte blocks, the 8-byte SWAR blocks, the overlapping tails
 * and the byte fallback, for each byte value, in all three encoders. Two
 * backgrounds: bytes the block tests pass, and safe bytes that the URL block
 * test over-reports (so the table has to clear them).
 */
static void test_scanner_positions(void)
{
	static const char *const bg[] = { "az09-._/AZ", "!~*'()$,!~" };
	unsigned char v[48];
	char out[512], exp[512], frag[400];
	unsigned bad = 0;

	for (size_t b = 0; b < ARRAY_SIZE(bg); b++)
		for (size_t n = 1; n <= 40; n++)
			for (unsigned c = 1; c < 256; c++)
				for (size_t pos = 0; pos < n; pos++) {
					for (size_t i = 0; i < n; i++)
						v[i] = (unsigned char)bg[b][i % 10];
					v[pos] = (unsigned char)c;
					struct evr_attr a = { S("v"), { (const char *)v, (uint32_t)n, 0 } };
					struct evr_event ev = { .name = S("E"), .subclass = S(""),
						                .attrs = &a, .n_attrs = 1 };
					size_t fl = ref_json(v, n, frag);
					int el = snprintf(exp, sizeof(exp),
					                  "{\"jsonrpc\":\"2.0\",\"method\":\"E\","
					                  "\"params\":{\"v\":%.*s}}", (int)fl, frag);
					int rc = evr_encode_jsonrpc(&ev, out, sizeof(out));
					bad += rc != el || memcmp(out, exp, (size_t)el) != 0;
					el = snprintf(exp, sizeof(exp), "{\"Event-Name\":\"E\",\"v\":%.*s,"
					              "\"Event-Sequence\":\"1\"}", (int)fl, frag);
					rc = evr_encode_json(&ev, 1, out, sizeof(out));
					bad += rc != el || memcmp(out, exp, (size_t)el) != 0;
					fl = ref_url(v, n, frag);
					el = snprintf(exp, sizeof(exp), "Event-Name: E\nv: %.*s\n"
					              "Event-Sequence: 1\n\n", (int)fl, frag);
					rc = evr_encode_plain(&ev, 1, out, sizeof(out));
					bad += rc <= el || memcmp(out + rc - el, exp, (size_t)el) != 0;
				}
	CHECK_MSG(bad == 0, "%u scanner mismatches against the reference", bad);
}

/* ---- random events ---------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

static uint32_t rnd_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

/* n bytes of either valid UTF-8 (any code point but U+0000 and
 * surrogates) or arbitrary non-NUL bytes. */
static size_t rnd_bytes(struct rng *r, char *w, size_t n, bool utf8)
{
	size_t i = 0;
	while (i < n) {
		if (!utf8) {
			w[i++] = (char)(1 + rnd_below(r, 255));
			continue;
		}
		uint32_t cp, pick = rnd_below(r, 10);
		if (pick < 6)
			cp = 1 + rnd_below(r, 0x7f);
		else if (pick < 8)
			cp = 0x80 + rnd_below(r, 0x800 - 0x80);
		else if (pick < 9)
			do
				cp = 0x800 + rnd_below(r, 0x10000 - 0x800);
			while (cp >= 0xd800 && cp <= 0xdfff);
		else
			cp = 0x10000 + rnd_below(r, 0x110000 - 0x10000);
		unsigned need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (i + need > n)
			break;
		if (need == 1) {
			w[i++] = (char)cp;
		} else if (need == 2) {
			w[i++] = (char)(0xc0 | cp >> 6);
			w[i++] = (char)(0x80 | (cp & 0x3f));
		} else if (need == 3) {
			w[i++] = (char)(0xe0 | cp >> 12);
			w[i++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			w[i++] = (char)(0x80 | (cp & 0x3f));
		} else {
			w[i++] = (char)(0xf0 | cp >> 18);
			w[i++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			w[i++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			w[i++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	return i;
}

struct rand_ev {
	struct evr_event ev;
	struct evr_attr attrs[40];
	char store[1 << 16];
	size_t used;
};

static struct evr_str rnd_str_from(struct rand_ev *re, const char *alpha,
                                   size_t min, size_t max, struct rng *r)
{
	size_t n = min + rnd_below(r, (uint32_t)(max - min + 1)), al = strlen(alpha);
	char *p = re->store + re->used;
	for (size_t i = 0; i < n; i++)
		p[i] = alpha[rnd_below(r, (uint32_t)al)];
	p[n] = '\0';
	re->used += n + 1;
	return (struct evr_str){ p, (uint32_t)n, 0 };
}

static void rand_event(struct rng *r, struct rand_ev *re, bool utf8)
{
	static const char *const reserved[] = { "Event-Name", "Event-Subclass",
		"Event-Sequence", "Content-Length", "_body" };
	static const char *const lits[] = { "0", "-12", "3.25", "1e9", "-0.5E-3",
		"true", "false", "2147483647" };
	static const char name_alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

	memset(&re->ev, 0, sizeof(re->ev));
	re->used = 0;
	re->ev.name = rnd_str_from(re, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_", 1, 24, r);
	if (rnd_below(r, 3) == 0) {
		struct evr_str m = rnd_str_from(re, "abcdefghij", 1, 8, r);
		char *p = re->store + re->used;
		size_t n = (size_t)sprintf(p, "%s::%s", m.p, "event");
		re->used += n + 1;
		re->ev.subclass = (struct evr_str){ p, (uint32_t)n, 0 };
	}
	if (rnd_below(r, 4) == 0) {
		char *p = re->store + re->used;
		size_t n = rnd_bytes(r, p, 1 + rnd_below(r, 200), utf8);
		p[n] = '\0';
		re->used += n + 1;
		re->ev.body = (struct evr_str){ p, (uint32_t)n, 0 };
	}
	uint32_t na = rnd_below(r, 31);
	for (uint32_t i = 0; i < na; i++) {
		struct evr_attr *a = &re->attrs[re->ev.n_attrs];
		if (rnd_below(r, 12) == 0) {
			const char *s = reserved[rnd_below(r, ARRAY_SIZE(reserved))];
			a->name = (struct evr_str){ s, (uint32_t)strlen(s), 0 };
		} else {
			a->name = rnd_str_from(re, name_alpha, 1, 30, r);
		}
		/* unique names, so a JSON object compares one to one */
		bool dup = false;
		for (uint32_t j = 0; j < re->ev.n_attrs; j++)
			if (re->attrs[j].name.len == a->name.len
			    && evr_ieq(re->attrs[j].name.p, a->name.p, a->name.len))
				dup = true;
		if (dup)
			continue;
		uint32_t kind = rnd_below(r, 20);
		if (kind < 2) {
			const char *s = lits[rnd_below(r, ARRAY_SIZE(lits))];
			a->value = (struct evr_str){ s, (uint32_t)strlen(s), EVR_STR_LITERAL };
		} else if (kind < 4) {
			a->value = (struct evr_str){ "", 0, EVR_STR_NULL };
		} else if (kind < 5) {
			a->value = (struct evr_str){ "", 0, 0 };
		} else {
			char *p = re->store + re->used;
			size_t max = rnd_below(r, 20) == 0 ? 1000 : 80;
			size_t n = rnd_bytes(r, p, rnd_below(r, (uint32_t)max + 1), utf8);
			p[n] = '\0';
			re->used += n + 1;
			a->value = (struct evr_str){ p, (uint32_t)n, 0 };
		}
		re->ev.n_attrs++;
	}
	re->ev.attrs = re->attrs;
	/* every source: the jsonrpc Event-Name rule depends on it */
	re->ev.src_format = (enum evr_format)rnd_below(r, 3);
	/* some JSON-RPC events positional: names "1".."n", as decoded */
	if (re->ev.src_format == EVR_FMT_JSONRPC && rnd_below(r, 4) == 0) {
		re->ev.positional = true;
		for (uint32_t i = 0; i < re->ev.n_attrs; i++) {
			char *p = re->store + re->used;
			size_t n = (size_t)sprintf(p, "%u", i + 1);
			re->used += n + 1;
			re->attrs[i].name = (struct evr_str){ p, (uint32_t)n, 0 };
		}
	}
}

static void test_random_reparse(void)
{
	static struct rand_ev re;
	static char buf[1 << 18];
	struct rng r = { 0x9e3779b97f4a7c15ull };

	for (int it = 0; it < 3000; it++) {
		rand_event(&r, &re, true);
		uint64_t seq = rnd(&r) >> rnd_below(&r, 64);
		for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
			int rc = evr_encode(fmts[i], &re.ev, seq, buf, sizeof(buf));
			CHECK_MSG(rc > 0, "random %d/%s: rc %d", it, fmt_names[i], rc);
			if (rc <= 0)
				continue;
			verify(fmts[i], "random", &re.ev, seq, buf, (size_t)rc, true);
			/* a few full -ENOSPC sweeps on random shapes too */
			if (it < 30)
				check_enospc(fmts[i], "random", &re.ev, seq, buf, (size_t)rc);
		}
	}
}

/* ---- round trips through the decoders -------------------------------------- */

static bool rt_attrs_eq(const struct evr_event *d, const struct kv *exp, size_t ne,
                        bool check_kind)
{
	if (d->n_attrs != ne)
		return false;
	for (size_t i = 0; i < ne; i++) {
		const struct evr_attr *a = &d->attrs[i];
		if (!mem_eq(a->name.p, a->name.len, exp[i].k, exp[i].kl)
		    || !mem_eq(a->value.p, a->value.len, exp[i].v, exp[i].vl))
			return false;
		if (!check_kind)
			continue;
		uint32_t want = exp[i].kind == K_LIT ? EVR_STR_LITERAL
		                : exp[i].kind == K_NULL ? EVR_STR_NULL : 0;
		if ((a->value.flags & (EVR_STR_LITERAL | EVR_STR_NULL)) != want)
			return false;
	}
	return true;
}

/* The plain decoder takes names as FreeSWITCH writes them: raw, printable
 * ASCII without space. Names outside that set (only possible from JSON-RPC
 * sources) cannot round-trip through plain, by design on both sides. */
static bool plain_names_ok(const struct kv *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < h[i].kl; j++) {
			unsigned char c = (unsigned char)h[i].k[j];
			if (c <= ' ' || c >= 0x7f || c == ':' || c == '%')
				return false;
		}
	return true;
}

/* Decoders set ev.subclass from the first Event-Subclass attribute. */
static void expect_subclass(const struct kv *h, size_t n, const char **p,
                            size_t *len)
{
	*p = "";
	*len = 0;
	for (size_t i = 0; i < n; i++)
		if (h[i].kl == 14 && evr_ieq(h[i].k, "Event-Subclass", 14)) {
			*p = h[i].v;
			*len = h[i].vl;
			return;
		}
}

static unsigned rt_done, rt_skipped, rt_not_utf8;

/* RFC 3629 UTF-8: shortest form, no surrogates, at most U+10FFFF. */
static bool utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1, cp = c & 0x1F, min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2, cp = c & 0x0F, min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

static void roundtrip_one(struct evr_scratch *s, enum evr_format f,
                          const char *what, const struct evr_event *ev,
                          uint64_t seq, char *buf, size_t cap)
{
	static struct kv exp[MAX_KV];
	char seqs[24];
	const char *sub;
	size_t ne, sublen;

	snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
	if (f == EVR_FMT_JSONRPC) {
		ne = rpc_expect(ev, exp);
	} else {
		/* FreeSWITCH: the decoded event lists every header, Event-Name,
		 * Event-Subclass and Event-Sequence included, in wire order;
		 * _body and the body's Content-Length are the body. */
		ne = fs_expect(ev, seqs, f == EVR_FMT_JSON, exp);
		if (f == EVR_FMT_JSON && ev->body.len)
			ne -= 2;
		if (f == EVR_FMT_PLAIN && !plain_names_ok(exp, ne)) {
			rt_skipped++;
			return;
		}
	}
	expect_subclass(exp, ne, &sub, &sublen);

	int rc = evr_encode(f, ev, seq, buf, cap);
	CHECK_MSG(rc > 0, "%s/%s: encode %d", what, fmt_names[f], rc);
	if (rc <= 0 || (size_t)rc > s->lim.max_datagram) {
		rt_skipped++;
		return;
	}
	enum evr_decode_status st = evr_decode(f, buf, (size_t)rc, s);
	/* The JSON encoders pass bytes >= 0x80 through raw, as OpenSIPS's
	 * cJSON does. The decoders take such bytes back verbatim from a
	 * document without escapes (so the round trip below holds), and
	 * refuse one with an escape (simdjson unescapes it, and cannot keep
	 * bytes that are not UTF-8). */
	if (f != EVR_FMT_PLAIN && !utf8_ok((const unsigned char *)buf, (size_t)rc) &&
	    memchr(buf, '\\', (size_t)rc) != NULL) {
		CHECK_MSG(st == EVR_DEC_BAD_JSON, "%s/%s: non-UTF-8 JSON decoded: %s",
		          what, fmt_names[f], evr_decode_status_name(st));
		rt_not_utf8++;
		return;
	}
	CHECK_MSG(st == EVR_DEC_OK, "%s/%s: decode: %s\n%.*s", what, fmt_names[f],
	          evr_decode_status_name(st), rc, buf);
	if (st != EVR_DEC_OK)
		return;
	rt_done++;
	const struct evr_event *d = &s->ev;
	CHECK_MSG(mem_eq(d->name.p, d->name.len, ev->name.p, ev->name.len),
	          "%s/%s: name", what, fmt_names[f]);
	CHECK_MSG(d->src_format == f, "%s/%s: src_format %d", what, fmt_names[f],
	          (int)d->src_format);
	/* the array form survives jsonrpc (OpenSIPS omits an empty params) */
	CHECK_MSG(d->positional == (f == EVR_FMT_JSONRPC && ev->positional && ne > 0),
	          "%s/%s: positional %d", what, fmt_names[f], (int)d->positional);
	CHECK_MSG(rt_attrs_eq(d, exp, ne, f == EVR_FMT_JSONRPC),
	          "%s/%s: attrs\n%.*s", what, fmt_names[f], rc, buf);
	CHECK_MSG(mem_eq(d->subclass.p, d->subclass.len, sub, sublen),
	          "%s/%s: subclass", what, fmt_names[f]);
	if (f != EVR_FMT_JSONRPC) /* JSON-RPC has no body */
		CHECK_MSG(mem_eq(d->body.p, d->body.len, ev->body.p, ev->body.len),
		          "%s/%s: body", what, fmt_names[f]);
}

static void test_roundtrip(void)
{
	static struct rand_ev re;
	static char buf[1 << 18];
	struct evr_scratch s;
	struct evr_limits lim;
	struct rng r = { 0x243f6a8885a308d3ull };

	evr_limits_default(&lim);
	CHECK_EQ_INT(evr_scratch_init(&s, &lim), 0);
	for (size_t c = 0; c < ARRAY_SIZE(canon); c++)
		for (size_t i = 0; i < ARRAY_SIZE(fmts); i++)
			roundtrip_one(&s, fmts[i], canon[c].what, &canon[c].ev,
			              canon[c].seq, buf, sizeof(buf));
	for (int it = 0; it < 4000; it++) {
		rand_event(&r, &re, it & 1);
		uint64_t seq = rnd(&r) >> rnd_below(&r, 64);
		for (size_t i = 0; i < ARRAY_SIZE(fmts); i++)
			roundtrip_one(&s, fmts[i], it & 1 ? "random utf8" : "random bytes",
			              &re.ev, seq, buf, sizeof(buf));
	}
	evr_scratch_fini(&s);
	/* plain skips: only events with names plain cannot carry; JSON: the
	 * "random bytes" half is mostly not UTF-8 */
	CHECK_MSG(rt_done > 3 * 4000 * 6 / 10, "only %u round trips ran (%u skipped, %u not UTF-8)",
	          rt_done, rt_skipped, rt_not_utf8);
	/* ...but the refusal was checked on those */
	CHECK_MSG(rt_not_utf8 > 0, "no non-UTF-8 JSON round trip");
	printf("round trips: %u decoded and compared, %u skipped, %u non-UTF-8 JSON "
	       "refused\n", rt_done, rt_skipped, rt_not_utf8);
}

/* What OpenSIPS's evi_build_payload() sends (built by hand from its rules:
 * keys jsonrpc, method, params; no whitespace; params left out without
 * parameters; an object for named params, an array when the first name is
 * NULL; integers as numbers, a NULL string as null) goes through the
 * jsonrpc decoder and comes out of the jsonrpc encoder byte for byte. */
static void test_opensips_bytes(void)
{
	static const struct {
		const char *what, *wire, *filter_key, *filter_val;
	} t[] = {
		{ "named", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":"
		  "{\"s\":\"x\",\"n\":5,\"e\":\"\",\"z\":null}}", "n", "5" },
		{ "positional", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":"
		  "[\"x\",5,\"\",null]}", "2", "5" },
		{ "positional one", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":"
		  "[-7]}", "1", "-7" },
		{ "positional escapes", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\","
		  "\"params\":[\"a\\\"b\\\\c\\u0001/\"]}", "1", "a\"b\\c\001/" },
		{ "empty", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\"}", NULL, NULL },
		{ "Event-Name param", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\","
		  "\"params\":{\"Event-Name\":\"mine\",\"k\":\"v\"}}",
		  "Event-Name", "mine" },
		{ "only Event-Name param", "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\","
		  "\"params\":{\"event-name\":1}}", "Event-Name", "1" },
	};
	/* Other spellings of the same events: the encoder writes OpenSIPS's. */
	static const struct {
		const char *in, *out;
	} norm[] = {
		{ "{ \"params\" : [ \"x\" , 5 ], \"method\":\"E_X\",\"jsonrpc\":\"2.0\" }",
		  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":[\"x\",5]}" },
		/* an empty array is no params: OpenSIPS never prints [] */
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\",\"params\":[]}",
		  "{\"jsonrpc\":\"2.0\",\"method\":\"E_X\"}" },
	};
	struct evr_scratch s;
	struct evr_limits lim;
	char buf[512];

	evr_limits_default(&lim);
	CHECK_EQ_INT(evr_scratch_init(&s, &lim), 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n = strlen(t[i].wire);
		enum evr_decode_status st = evr_decode(EVR_FMT_JSONRPC, t[i].wire, n, &s);
		CHECK_MSG(st == EVR_DEC_OK, "%s: decode %s", t[i].what,
		          evr_decode_status_name(st));
		if (t[i].filter_key) {
			/* filters address the params by name, "1".. when positional */
			const struct evr_attr *a = evr_event_find(&s.ev, t[i].filter_key,
			                                          strlen(t[i].filter_key));
			CHECK_MSG(a && mem_eq(a->value.p, a->value.len, t[i].filter_val,
			                      strlen(t[i].filter_val)),
			          "%s: attribute %s", t[i].what, t[i].filter_key);
		}
		int rc = evr_encode(EVR_FMT_JSONRPC, &s.ev, 1, buf, sizeof(buf));
		CHECK_MSG(rc == (int)n && !memcmp(buf, t[i].wire, n),
		          "%s: re-encoded as\n%.*s\nwant\n%s", t[i].what,
		          rc > 0 ? rc : 0, buf, t[i].wire);
	}
	for (size_t i = 0; i < ARRAY_SIZE(norm); i++) {
		size_t n = strlen(norm[i].out);
		CHECK_EQ_INT(evr_decode(EVR_FMT_JSONRPC, norm[i].in, strlen(norm[i].in), &s),
		             EVR_DEC_OK);
		int rc = evr_encode(EVR_FMT_JSONRPC, &s.ev, 1, buf, sizeof(buf));
		CHECK_MSG(rc == (int)n && !memcmp(buf, norm[i].out, n),
		          "normalise %zu: got\n%.*s", i, rc > 0 ? rc : 0, buf);
	}
	/* a named event from another source stays named, whatever its names */
	CHECK_EQ_INT(evr_decode(EVR_FMT_JSON, "{\"Event-Name\":\"E\",\"1\":\"a\"}", 26,
	                        &s), EVR_DEC_OK);
	CHECK(!s.ev.positional);
	int rc = evr_encode(EVR_FMT_JSONRPC, &s.ev, 1, buf, sizeof(buf));
	static const char fsexp[] = "{\"jsonrpc\":\"2.0\",\"method\":\"E\",\"params\":"
	                            "{\"1\":\"a\"}}";
	CHECK_MSG(rc == (int)sizeof(fsexp) - 1 && !memcmp(buf, fsexp, sizeof(fsexp) - 1),
	          "json source: %.*s", rc > 0 ? rc : 0, buf);
	evr_scratch_fini(&s);
}


/* Event-Sequence goes where switch_event_prep_for_delivery writes it: right
 * after Event-Calling-Line-Number (the last standard header), once; last
 * when the event has none (already covered above). */
static void test_seq_slot(void)
{
	char a[512];
	int n;
	struct evr_attr at[] = {
		A("Core-UUID", "u"), A("Event-Calling-Line-Number", "42"), A("Event-Info", "System Ready"),
		A("Event-Calling-Line-Number", "43"),
	};
	struct evr_event e = { .name = S("HEARTBEAT"), .subclass = S(""), .attrs = at, .n_attrs = 4 };

	n = evr_encode_plain(&e, 9, a, sizeof(a));
	CHECK(n > 0 && memmem(a, (size_t)n, "\n\nEvent-Name: HEARTBEAT\nCore-UUID: u\n"
	                      "Event-Calling-Line-Number: 42\nEvent-Sequence: 9\n"
	                      "Event-Info: System%20Ready\nEvent-Calling-Line-Number: 43\n\n", 143) != NULL);
	n = evr_encode_json(&e, 9, a, sizeof(a));
	CHECK_EQ_VIEW(a, n > 0 ? n : 0,
	              "{\"Event-Name\":\"HEARTBEAT\",\"Core-UUID\":\"u\","
	              "\"Event-Calling-Line-Number\":\"42\",\"Event-Sequence\":\"9\","
	              "\"Event-Info\":\"System Ready\",\"Event-Calling-Line-Number\":\"43\"}");
}

/* XML as switch_event_xmlize + switch_xml_toxml print it (traced by hand
 * through switch_xml_toxml_r and switch_xml_ampencode). */
static void test_xml(void)
{
	static char buf[4096];
	struct evr_attr at[] = {
		A("Event-Name", "CUSTOM"), A("Event-Subclass", "sofia::register"),
		A("Core-UUID", "u-1"), A("Event-Calling-Line-Number", "7"),
		A("contact", "\"A\" <sip:1000@h>"), A("empty", ""), A("k", "_undef_"),
	};
	struct evr_event e = { .name = S("CUSTOM"), .subclass = S("sofia::register"),
	                       .attrs = at, .n_attrs = ARRAY_SIZE(at),
	                       .src_format = EVR_FMT_PLAIN };
	/* & < > CR as entities, '"' LF TAB raw, UTF-8 as code points, a stray
	 * continuation byte dropped, a cut sequence losing the byte that cut
	 * it, then "<!" copying the rest verbatim */
	static const char body[] = "a&b<c>d\"e\r\nf\tg\xc3\xa9h\xe2\x82\xac\xf0\x9f\x98\x80"
	                           "\x80i\xc3j<!x&\xc3\xa9";
	const char *exp =
		"<event>\n  <headers>\n"
		"    <Event-Name>CUSTOM</Event-Name>\n"
		"    <Event-Subclass>sofia%3A%3Aregister</Event-Subclass>\n"
		"    <Core-UUID>u-1</Core-UUID>\n"
		"    <Event-Calling-Line-Number>7</Event-Calling-Line-Number>\n"
		"    <Event-Sequence>42</Event-Sequence>\n"
		"    <contact>%22A%22%20%3Csip%3A1000%40h%3E</contact>\n"
		"    <empty></empty>\n"
		"    <k>_undef_</k>\n"
		"  </headers>\n"
		"  <Content-Length>34</Content-Length>\n"
		"  <body>a&amp;b&lt;c&gt;d\"e&#xD;\nf\tg&#xE9;h&#x20AC;&#x1F600;i<!x&\xc3\xa9</body>\n"
		"</event>\n";
	int n;

	e.body = (struct evr_str){ body, sizeof(body) - 1, 0 };
	CHECK_EQ_INT((int)e.body.len, 34);
	n = evr_encode(EVR_FMT_XML, &e, 42, buf, sizeof(buf));
	CHECK_EQ_VIEW(buf, n > 0 ? n : 0, exp);
	check_enospc(EVR_FMT_XML, "xml body", &e, 42, exp, strlen(exp));

	/* no body, no Event-Calling-Line-Number: Event-Sequence last, no
	 * Content-Length element; a body cut by a NUL is measured to it */
	struct evr_attr at2[] = { A("Event-Name", "HEARTBEAT"), A("Up-Time", "0 years") };
	struct evr_event e2 = { .name = S("HEARTBEAT"), .subclass = S(""), .attrs = at2,
	                        .n_attrs = 2, .src_format = EVR_FMT_PLAIN };
	n = evr_encode_xml(&e2, 1, buf, sizeof(buf));
	CHECK_EQ_VIEW(buf, n > 0 ? n : 0,
	              "<event>\n  <headers>\n    <Event-Name>HEARTBEAT</Event-Name>\n"
	              "    <Up-Time>0%20years</Up-Time>\n    <Event-Sequence>1</Event-Sequence>\n"
	              "  </headers>\n</event>\n");
	e2.body = (struct evr_str){ "ab\0cd", 5, 0 };
	n = evr_encode_xml(&e2, 1, buf, sizeof(buf));
	CHECK(n > 0 && memmem(buf, (size_t)n, "  <Content-Length>2</Content-Length>\n"
	                      "  <body>ab</body>\n</event>\n", 61) != NULL);
	CHECK_EQ_INT(evr_format_parse("xml", &(enum evr_format){0}), 0);
}

int main(void)
{
	test_api();
	test_xml();
	test_seq_slot();
	test_canonical();
	test_opensips_bytes();
	test_scanner_positions();
	test_random_reparse();
	test_roundtrip();
	EVR_TEST_DONE();
}
