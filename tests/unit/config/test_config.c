/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evr_config unit tests (no EAL): a valid file with defaults filled in, the
 * embedded demo and the shipped example load, and each kind of invalid file
 * is refused with a message naming the line and the setting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evr_test.h"
#include "evr_config.h"

#define BASE                                                                   \
	"ports = ( { name = \"p0\"; device = \"net_null0\";\n"                 \
	"            ipv4 = \"198.18.0.1/15\"; } );\n"                         \
	"listeners = ( { port = 8090; } );\n"

static void test_valid(void)
{
	char err[512] = "";
	const char *text =
		"eal = { lcores = \"0-1\"; no_huge = true; vdevs = [\"net_null0\"]; };\n"
		"ports = ( { name = \"p0\"; device = \"net_null0\";\n"
		"  ipv4 = \"198.18.0.1/15\"; gateway = \"198.18.0.254\";\n"
		"  ipv6 = \"2001:db8::1/64\"; mtu = 9000;\n"
		"  neighbours = ( { ip = \"198.18.0.2\"; mac = \"02:00:00:00:00:02\"; },\n"
		"                 { ip = \"2001:db8::2\"; mac = \"02:00:00:00:00:03\"; } ); } );\n"
		"listeners = ( { port = 8090; format = \"jsonrpc\"; },\n"
		"              { port = 8021; format = \"PLAIN\"; } );\n"
		"limits = { max_fanout = 10; };\n"
		"subscriptions = ( { event = \"E_UL_AOR_INSERT\"; socket = \"udp:198.18.0.2:9000\";\n"
		"   filters = [\"aor=sip:*\", \"expires=3?\"]; format = \"json\"; },\n"
		"  { event = \"CUSTOM sofia::register\"; socket = \"unix:/tmp/x.sock\"; expire = 60; } );\n";
	struct evr_config *c = evr_config_load_string(text, "t.conf", err, sizeof(err));
	struct evr_sub_spec sp;

	CHECK_MSG(c != NULL, "%s", err);
	if (c == NULL)
		return;
	CHECK_EQ_STR(c->eal.lcores, "0-1");
	CHECK(c->eal.no_huge);
	CHECK_EQ_INT(c->eal.memory_mb, 512); /* default */
	CHECK_EQ_INT(c->eal.vdevs.n, 1);
	CHECK_EQ_STR(c->eal.vdevs.v[0], "net_null0");
	CHECK_EQ_INT(c->n_ports, 1);
	CHECK_EQ_INT(c->ports[0].mtu, 9000);
	CHECK_EQ_INT(c->ports[0].rx_desc, 1024);
	CHECK(c->ports[0].rss);
	CHECK(c->ports[0].verify_udp_checksum);
	CHECK_EQ_INT(c->limits.reassembly_flows, 1024);
	CHECK_EQ_INT(c->limits.reassembly_timeout_ms, 2000);
	CHECK_EQ_INT(c->ports[0].n_neighbours, 2);
	CHECK_EQ_STR(c->ports[0].neighbours[1].mac, "02:00:00:00:00:03");
	CHECK_EQ_INT(c->n_listeners, 2);
	CHECK_EQ_INT(c->listeners[0].format, EVR_FMT_JSONRPC);
	CHECK_EQ_INT(c->listeners[1].format, EVR_FMT_PLAIN);
	CHECK_EQ_INT(c->limits.max_fanout, 10);
	CHECK_EQ_INT(c->limits.max_attrs, 64);
	CHECK_EQ_INT(c->arp.table_size, 1024);
	CHECK_EQ_STR(c->control.mode, "0660");
	CHECK_EQ_INT(c->n_subscriptions, 2);
	CHECK_EQ_INT(c->subscriptions[0].format, EVR_FMT_JSON);
	CHECK_EQ_INT(c->subscriptions[0].filters.n, 2);
	CHECK_EQ_INT(c->subscriptions[1].format, EVR_FMT_JSONRPC);
	evr_config_sub_spec(&c->subscriptions[0], &sp);
	CHECK_EQ_INT(sp.expire, EVR_CFG_EXPIRE_NEVER); /* 0 = never */
	CHECK_EQ_STR(sp.filters[1], "expires=3?");
	evr_config_sub_spec(&c->subscriptions[1], &sp);
	CHECK_EQ_INT(sp.expire, 60);
	/* nats off by default: the policy refuses nats: destinations */
	CHECK_EQ_STR(c->nats.url, "");
	CHECK(!c->dest_policy.nats_on);
	CHECK_EQ_INT(c->nats.ring, 4096);
	CHECK_EQ_INT(c->nats.max_pending_bytes, 8388608);
	CHECK_EQ_STR(c->nats.name, "evrd");
	evr_config_free(c);

	/* a nats group: on, credentials kept, the policy lets nats: through */
	c = evr_config_load_string(BASE "nats = { url = \"nats://127.0.0.1:4222,nats://[::1]:4223\";\n"
	                           " user = \"evrd\"; password = \"s3cret\"; ring = 128;\n"
	                           " max_pending_bytes = 4096; };\n"
	                           "subscriptions = ( { event = \"E_X\"; socket = "
	                           "\"nats:evr.{event}\"; } );\n", "t.conf", err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	if (c == NULL)
		return;
	CHECK(c->dest_policy.nats_on);
	CHECK_EQ_STR(c->nats.user, "evrd");
	CHECK_EQ_STR(c->nats.password, "s3cret");
	CHECK_EQ_INT(c->nats.ring, 128);
	CHECK_EQ_INT(c->nats.max_pending_bytes, 4096);
	CHECK_EQ_STR(c->subscriptions[0].socket, "nats:evr.{event}");
	evr_config_free(c);

	/* TLS: tls:// servers, a CA and a client certificate */
	c = evr_config_load_string(BASE "nats = { url = \"tls://10.0.0.1:4222,tls://10.0.0.2:4222\";\n"
	                           " tls_ca_file = \"/etc/evrd/nats-ca.pem\";\n"
	                           " tls_cert_file = \"/etc/evrd/evrd.pem\";"
	                           " tls_key_file = \"/etc/evrd/evrd.key\";\n"
	                           " tls_hostname = \"nats.example\"; };\n", "t.conf", err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	if (c == NULL)
		return;
	CHECK_EQ_STR(c->nats.url, "tls://10.0.0.1:4222,tls://10.0.0.2:4222");
	CHECK_EQ_STR(c->nats.tls_ca_file, "/etc/evrd/nats-ca.pem");
	CHECK_EQ_STR(c->nats.tls_cert_file, "/etc/evrd/evrd.pem");
	CHECK_EQ_STR(c->nats.tls_key_file, "/etc/evrd/evrd.key");
	CHECK_EQ_STR(c->nats.tls_hostname, "nats.example");
	evr_config_free(c);
}

struct bad_case {
	const char *text;
	const char *want; /* substring of the message */
};

static void test_invalid(void)
{
	static const struct bad_case cases[] = {
		/* syntax */
		{"ports = ( { name = \"p0\" } \n", "t.conf:2: syntax error"},
		/* unknown setting (typo) */
		{BASE "workers = { cuont = 2; };\n", "t.conf:4: workers.cuont: unknown setting"},
		/* wrong type */
		{BASE "workers = { count = \"2\"; };\n", "t.conf:4: workers.count: expected an integer"},
		/* out of bounds */
		{BASE "workers = { burst = 0; };\n", "t.conf:4: workers.burst: 0 is out of range 1..512"},
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"198.18.0.1/15\";\n"
		 "  mtu = 100000; } );\nlisteners = ( { port = 1; } );\n",
		 "t.conf:2: ports[0].mtu: 100000 is out of range"},
		/* bad address */
		{"ports = ( { name = \"p0\"; device = \"d\";\n ipv4 = \"198.18.0.1/33\"; } );\n"
		 "listeners = ( { port = 1; } );\n",
		 "t.conf:2: ports[0].ipv4: '198.18.0.1/33' is not an IPv4 address/prefix"},
		{BASE "ports = ();\n", "t.conf:4: syntax error: duplicate setting name"},
		/* bad MAC in a static neighbour */
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\";\n"
		 "  neighbours = ( { ip = \"10.0.0.2\";\n mac = \"02:00:00:00:00\"; } ); } );\n"
		 "listeners = ( { port = 1; } );\n",
		 "t.conf:3: ports[0].neighbours[0].mac: '02:00:00:00:00' is not a MAC"},
		/* gateway outside the subnet */
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/24\";\n"
		 "  gateway = \"10.0.1.1\"; } );\nlisteners = ( { port = 1; } );\n",
		 "t.conf:1: ports[0]: port 'p0': gateway 10.0.1.1 is not a neighbour"},
		/* no address */
		{"ports = ( { name = \"p0\"; device = \"d\"; } );\nlisteners = ( { port = 1; } );\n",
		 "ports[0]: port 'p0' has neither ipv4 nor ipv6"},
		/* required */
		{"ports = ( { device = \"d\"; ipv4 = \"10.0.0.1/8\"; } );\nlisteners = ( { port = 1; } );\n",
		 "t.conf:1: ports[0].name: required setting missing"},
		{"listeners = ( { port = 1; } );\n", "ports: required setting missing"},
		/* enum */
		{BASE "listeners2 = 1;\n", "t.conf:4: listeners2: unknown setting"},
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\"; } );\n"
		 "listeners = ( { port = 1; format = \"yaml\"; } );\n",
		 "t.conf:2: listeners[0].format: expected one of \"jsonrpc\", \"plain\", \"json\", \"xml\", \"auto\""},
		/* xml is a notification format only */
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\"; } );\n"
		 "listeners = ( { port = 1; format = \"xml\"; } );\n",
		 "t.conf:2: listeners[0].format: \"xml\" is a notification format only"},
		/* duplicate listener */
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\"; } );\n"
		 "listeners = ( { port = 1; },\n { port = 1; } );\n",
		 "t.conf:3: listeners[1].port: UDP port 1 has two listeners"},
		/* static subscriptions: bad filter, bad destination, auto format */
		{BASE "subscriptions = ( { event = \"E_X\"; socket = \"udp:1.2.3.4:5\";\n"
		 "  filters = [\"aor=[bob\"]; } );\n",
		 "t.conf:5: subscriptions[0].filters[0]: filter 'aor=[bob'"},
		{BASE "subscriptions = ( { event = \"E_X\";\n socket = \"tcp:1.2.3.4:5\"; } );\n",
		 "t.conf:5: subscriptions[0].socket: destination 'tcp:1.2.3.4:5'"},
		{BASE "subscriptions = ( { event = \"E_X\"; socket = \"udp:1.2.3.4:5\";\n"
		 " format = \"auto\"; } );\n",
		 "t.conf:5: subscriptions[0].format: expected one of"},
		{BASE "subscriptions = ( { socket = \"udp:1.2.3.4:5\"; } );\n",
		 "t.conf:4: subscriptions[0].event: required setting missing"},
		/* validators */
		{BASE "limits = { max_fanout = 70000; };\n", "t.conf:4: limits.max_fanout: 70000 is out of range 1..65534"},
		{BASE "arp = { table_size = 1000; };\n", "t.conf:4: arp.table_size: 1000 is not a power of two"},
		{BASE "control = { mode = \"0999\"; };\n", "t.conf:4: control.mode: '0999' is not an octal"},
		{BASE "control = { socket = \"rel.sock\"; };\n", "control.socket: 'rel.sock' is not an absolute path"},
		{BASE "eal = { vdevs = \"net_null0\"; };\n", "t.conf:4: eal.vdevs: expected a list of strings"},
		{BASE "eal = { no_huge = true;\n in_memory = true; };\n", "t.conf:4: eal.in_memory: EAL refuses"},
		/* SIP: a mirror port needs SIP ports; listeners needed without one */
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\"; } );\n",
		 "listeners: at least one listener (or a mirror port) is required"},
		{"ports = ( { name = \"m\"; device = \"d\"; mirror = true; } );\n"
		 "sip = { mirror_ports = [ ]; };\n",
		 "t.conf:2: sip.mirror_ports: a mirror port needs at least one SIP port"},
		{BASE "sip = { mirror_ports = [ 5060, 70000 ]; };\n",
		 "t.conf:4: sip.mirror_ports[1]: 70000 is out of range 1..65535"},
		{BASE "sip = { mirror_ports = 5060; };\n",
		 "t.conf:4: sip.mirror_ports: expected a list of integers"},
		{BASE "sip = { mirror_ports = [ \"5060\" ]; };\n",
		 "t.conf:4: sip.mirror_ports[0]: expected an integer"},
		{BASE "sip = { events = \"kamailio\"; };\n",
		 "t.conf:4: sip.events: expected one of \"opensips\", \"freeswitch\", \"both\""},
		{BASE "sip = { handoff_ring = 1000; };\n",
		 "t.conf:4: sip.handoff_ring: 1000 is not a power of two"},
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv6 = \"2001:db8::1/64\"; mtu = 1000; } );\n"
		 "listeners = ( { port = 1; } );\n", "mtu 1000 is below the IPv6 minimum"},
		{"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\";\n"
		 "  neighbours = ( { ip = \"2001:db8::2\"; mac = \"02:00:00:00:00:01\"; } ); } );\n"
		 "listeners = ( { port = 1; } );\n", "neighbour 2001:db8::2 has no IPv6 address"},
		/* nats: URL form, credentials never in the URL, one way to authenticate */
		{BASE "nats = {\n url = \"127.0.0.1:4222\"; };\n",
		 "t.conf:5: nats.url: '127.0.0.1:4222' is not nats://host:port or tls://host:port"},
		{BASE "nats = {\n url = \"nats://a:1,tcp://b:2\"; };\n",
		 "t.conf:5: nats.url: 'tcp://b:2' is not nats://host:port or tls://host:port"},
		{BASE "nats = {\n url = \"nats://u:p@h:4222\"; };\n",
		 "t.conf:5: nats.url: credentials in the URL are refused"},
		{BASE "nats = { url = \"nats://h:4222\"; password = \"x\"; };\n",
		 "t.conf:4: nats.password: needs nats.user"},
		{BASE "nats = { url = \"nats://h:4222\"; user = \"u\"; };\n",
		 "t.conf:4: nats.user: needs nats.password"},
		{BASE "nats = { url = \"nats://h:4222\"; user = \"u\"; password = \"p\";\n"
		 " token = \"t\"; };\n",
		 "t.conf:4: nats.token: give one of user/password, token or creds_file"},
		{BASE "nats = { creds_file = \"x.creds\"; };\n",
		 "t.conf:4: nats.creds_file: 'x.creds' is not an absolute path"},
		{BASE "nats = { url = \"tls://h:4222\"; tls_cert_file = \"/etc/evrd/c.pem\"; };\n",
		 "t.conf:4: nats.tls_cert_file: give both tls_cert_file and tls_key_file"},
		{BASE "nats = { url = \"tls://h:4222\"; tls_key_file = \"/etc/evrd/c.key\"; };\n",
		 "t.conf:4: nats.tls_key_file: give both tls_cert_file and tls_key_file"},
		{BASE "nats = { tls_ca_file = \"ca.pem\"; };\n",
		 "t.conf:4: nats.tls_ca_file: 'ca.pem' is not an absolute path"},
		{BASE "nats = { ring = 10; };\n", "t.conf:4: nats.ring: 10 is out of range 64..1048576"},
		{BASE "nats = { max_pending_bytes = 0; };\n",
		 "t.conf:4: nats.max_pending_bytes: 0 is out of range 1024..1073741824"},
		{BASE "subscriptions = ( { event = \"E_X\"; socket = \"udp:1.2.3.4:5\"; },\n"
		 " { event = \"E_X\"; socket = \"nats:evr.x\"; } );\n",
		 "t.conf:5: subscriptions[1].socket: nats: destinations need nats.url"},
		{BASE "store = { kind = \"nats\"; };\n",
		 "t.conf:4: store.kind: \"nats\" needs nats.url (the JetStream servers)"},
		{BASE "nats = { url = \"nats://127.0.0.1:4222\"; };\n"
		 "store = { kind = \"nats\"; };\n",
		 "t.conf:5: store.node_id: required with store.kind \"nats\""},
		{BASE "store = { bucket = \"evr.subs\"; };\n",
		 "t.conf:4: store.bucket: 'evr.subs' is not a KV bucket name"},
		{BASE "store = { node_id = 4096; };\n",
		 "t.conf:4: store.node_id"},
		{BASE "store = { path = \"var/lib/evrd\"; };\n",
		 "t.conf:4: store.path: 'var/lib/evrd' is not an absolute path"},
		{BASE "subscriptions = ( { event = \"E_X\";\n socket = \"nats:evr.*\"; } );\n",
		 "t.conf:5: subscriptions[0].socket: destination 'nats:evr.*': NATS subject "
		 "wildcard '*'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		struct evr_config *c;

		errno = 0;
		c = evr_config_load_string(cases[i].text, "t.conf", err, sizeof(err));
		CHECK_MSG(c == NULL, "case %zu accepted", i);
		CHECK_EQ_INT(errno, EINVAL);
		CHECK_MSG(strstr(err, cases[i].want) != NULL,
		          "case %zu: message \"%s\" lacks \"%s\"", i, err, cases[i].want);
		evr_config_free(c);
	}
}

/* SIP ingest settings: defaults, a pure mirror appliance, listener kinds. */
static void test_sip(void)
{
	char err[512] = "";
	struct evr_config *c = evr_config_load_string(BASE, "t.conf", err, sizeof(err));

	CHECK_MSG(c != NULL, "%s", err);
	if (c) {
		CHECK_EQ_INT(c->sip.mirror_ports.n, 1);
		CHECK_EQ_INT(c->sip.mirror_ports.v[0], 5060);
		CHECK_EQ_INT(c->sip.events, EVR_CFG_SIP_EV_BOTH);
		CHECK_EQ_INT(c->sip.originate_timeout_s, 60);
		CHECK_EQ_INT(c->sip.linger_ms, 32000);
		CHECK_EQ_STR(c->sip.profile, "internal");
		CHECK(!c->ports[0].mirror);
	}
	evr_config_free(c);

	c = evr_config_load_string(
		"ports = ( { name = \"m\"; device = \"d0\"; mirror = true; },\n"
		"          { name = \"s\"; device = \"d1\"; ipv4 = \"198.18.5.1/24\"; } );\n"
		"sip = { mirror_ports = [ 5060, 5080 ]; events = \"freeswitch\";\n"
		"        originate_timeout_s = 5; profile = \"mirror\"; };\n",
		"t.conf", err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	if (c) {
		CHECK_EQ_INT(c->n_listeners, 0);
		CHECK(c->ports[0].mirror);
		CHECK(c->ports[0].ipv4 == NULL);
		CHECK_EQ_INT(c->sip.mirror_ports.n, 2);
		CHECK_EQ_INT(c->sip.mirror_ports.v[1], 5080);
		CHECK_EQ_INT(c->sip.events, EVR_CFG_SIP_EV_FREESWITCH);
		CHECK_EQ_INT(c->sip.originate_timeout_s, 5);
		CHECK_EQ_STR(c->sip.profile, "mirror");
	}
	evr_config_free(c);

	c = evr_config_load_string(
		"ports = ( { name = \"p0\"; device = \"d\"; ipv4 = \"10.0.0.1/8\"; } );\n"
		"listeners = ( { port = 9060; format = \"hep\"; }, { port = 5060; format = \"sip\"; } );\n",
		"t.conf", err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	if (c) {
		CHECK_EQ_INT(c->listeners[0].format, EVR_CFG_LISTEN_HEP);
		CHECK_EQ_INT(c->listeners[1].format, EVR_CFG_LISTEN_SIP);
	}
	evr_config_free(c);
}

static void test_files(void)
{
	char err[512] = "";
	struct evr_config *c;

	c = evr_config_load_string(evr_config_demo_text, "<demo>", err, sizeof(err));
	CHECK_MSG(c != NULL, "demo: %s", err);
	if (c) {
		CHECK(c->n_subscriptions >= 1);
		CHECK(c->n_listeners >= 1);
	}
	evr_config_free(c);

	c = evr_config_load_file(EVR_SRCDIR "/deploy/evrd.conf.example", err, sizeof(err));
	CHECK_MSG(c != NULL, "example: %s", err);
	evr_config_free(c);

	c = evr_config_load_file("/nonexistent/evrd.conf", err, sizeof(err));
	CHECK(c == NULL);
	CHECK_MSG(strstr(err, "/nonexistent/evrd.conf: cannot read") != NULL, "%s", err);
}

static void test_reference(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	evr_config_print_reference(f);
	fclose(f);
	CHECK(strstr(buf, "| `ports[].ipv4` | string |") != NULL);
	CHECK(strstr(buf, "| `workers.burst` | integer | `32` | 1..512 |") != NULL);
	CHECK(strstr(buf, "| `subscriptions[].format` | enum | `jsonrpc` | jsonrpc, plain, json, xml |") != NULL);
	CHECK(strstr(buf, "`arp.table_size`") != NULL);
	free(buf);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_sip();
	test_files();
	test_reference();
	EVR_TEST_DONE();
}
