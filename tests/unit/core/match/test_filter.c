/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Filters ("key=value") and destinations: what is accepted, how it is
 * normalised (lowercased key, class + literal, canonical destination text),
 * and that every refusal explains itself naming the input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>

#include "match/evr_sub.h"
#include "evr_test.h"

static void test_filter_valid(void)
{
	static const struct {
		const char *text, *key;
		enum evr_glob_class cls;
		const char *lit;
		const char *yes, *no; /* a value it accepts and one it refuses */
	} c[] = {
		{"aor=bob@*", "aor", EVR_GLOB_PREFIX, "bob@", "bob@example.com", "alice@x"},
		{"AOR=*@opensips.org", "aor", EVR_GLOB_SUFFIX, "@opensips.org",
		 "bob@opensips.org", "bob@opensips.org.uk"},
		{"Caller-Caller-ID-Number=1000", "caller-caller-id-number", EVR_GLOB_EXACT,
		 "1000", "1000", "10000"},
		{"group=1", "group", EVR_GLOB_EXACT, "1", "1", "11"},
		{"uri=sip:*;x=y*", "uri", EVR_GLOB_COMPLEX, "", "sip:bob;x=yz", "sip:bob;x=z"},
		{"k==", "k", EVR_GLOB_EXACT, "=", "=", ""},
		{"k=a=b", "k", EVR_GLOB_EXACT, "a=b", "a=b", "a"},
		{"k=", "k", EVR_GLOB_EXACT, "", "", "x"},
		{"k=*", "k", EVR_GLOB_PREFIX, "", "", NULL},
		{"k=**", "k", EVR_GLOB_PREFIX, "", "anything", NULL},
		{"k=\\*x*", "k", EVR_GLOB_PREFIX, "*x", "*xy", "axy"},
		{"k=[Bb]ob", "k", EVR_GLOB_COMPLEX, "", "Bob", "cob"},
		{"k=[b]ob", "k", EVR_GLOB_EXACT, "bob", "bob", "Bob"},
		{"k=?", "k", EVR_GLOB_COMPLEX, "", "x", ""},
		{"k=[[:digit:]]*", "k", EVR_GLOB_COMPLEX, "", "1x", "x1"},
		{"K\xc9Y=\xe9*", "k\xc9y", EVR_GLOB_PREFIX, "\xe9", "\xe9t\xe9", "e"},
		{"Mixed_Case.Key-9=v", "mixed_case.key-9", EVR_GLOB_EXACT, "v", "v", "V"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_filter f;
		char err[256] = "";
		int rc = evr_filter_parse(c[i].text, &f, err, sizeof(err));

		CHECK_MSG(rc == 0, "'%s': %s", c[i].text, err);
		if (rc)
			continue;
		CHECK_EQ_STR(f.key, c[i].key);
		CHECK_EQ_INT(f.key_len, strlen(c[i].key));
		CHECK_EQ_STR(f.text, c[i].text);
		CHECK_EQ_INT(f.cls, c[i].cls);
		CHECK(f.lit != NULL);
		CHECK_EQ_VIEW(f.lit, f.lit_len, c[i].lit);
		CHECK(f.glob != NULL);
		CHECK_EQ_STR(evr_glob_pattern(f.glob), strchr(c[i].text, '=') + 1);
		CHECK_MSG(evr_filter_value_match(&f, c[i].yes, (uint32_t)strlen(c[i].yes)),
		          "'%s' should accept '%s'", c[i].text, c[i].yes);
		CHECK(evr_glob_match(f.glob, c[i].yes, strlen(c[i].yes)));
		if (c[i].no) {
			CHECK_MSG(!evr_filter_value_match(&f, c[i].no, (uint32_t)strlen(c[i].no)),
			          "'%s' should refuse '%s'", c[i].text, c[i].no);
			CHECK(!evr_glob_match(f.glob, c[i].no, strlen(c[i].no)));
		}
		evr_filter_fini(&f);
		CHECK(f.key == NULL && f.glob == NULL && f.text == NULL && f.lit == NULL);
		evr_filter_fini(&f); /* twice is harmless */
	}
	evr_filter_fini(NULL);

	/* the key length limit is inclusive */
	{
		char text[160];
		struct evr_filter f;

		memset(text, 'K', 128);
		strcpy(text + 128, "=v");
		CHECK_EQ_INT(evr_filter_parse(text, &f, NULL, 0), 0);
		CHECK_EQ_INT(f.key_len, 128);
		CHECK(f.key[0] == 'k' && f.key[127] == 'k' && f.key[128] == '\0');
		evr_filter_fini(&f);
	}
}

static void test_filter_invalid(void)
{
	static const struct {
		const char *text, *msg;
	} c[] = {
		{"aor", "filter 'aor': expected key=value"},
		{"", "filter '': expected key=value"},
		{"=bob", "filter '=bob': empty key"},
		{"=", "filter '=': empty key"},
		{"aor=[bob", "filter 'aor=[bob': unterminated '[' at offset 0"},
		{"aor=bob[", "filter 'aor=bob[': unterminated '[' at offset 3"},
		{"aor=bob\\", "filter 'aor=bob\\': trailing '\\' at offset 3"},
		{"k=[[:foo:]]", "filter 'k=[[:foo:]]': unknown character class '[:foo:]' at offset 1"},
		{"k=[[=a=]]", "filter 'k=[[=a=]]': equivalence class '[=' at offset 1 not supported"},
		{"k=[z-a]", "filter 'k=[z-a]': bracket expression at offset 0 matches no character"},
		{"k\x01=[", "filter 'k\\x01=[': unterminated '[' at offset 0"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_filter f;
		char err[256] = "";

		memset(&f, 0xa5, sizeof(f));
		CHECK_EQ_INT(evr_filter_parse(c[i].text, &f, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, c[i].msg);
		/* a failed parse leaves nothing to free, fini is still safe */
		CHECK(f.key == NULL && f.glob == NULL && f.text == NULL);
		evr_filter_fini(&f);
	}

	{
		char text[400], err[256];
		struct evr_filter f;

		memset(text, 'k', 129);
		strcpy(text + 129, "=v");
		CHECK_EQ_INT(evr_filter_parse(text, &f, err, sizeof(err)), -EINVAL);
		/* long inputs are quoted truncated */
		CHECK_EQ_STR(err, "filter 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		                  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...': key longer than 128 bytes");
		CHECK_EQ_INT(evr_filter_parse(NULL, &f, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, "filter missing");
		memset(text, 'v', sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		text[0] = 'k';
		text[1] = '=';
		text[300] = '[';
		CHECK_EQ_INT(evr_filter_parse(text, &f, err, 40), -EINVAL);
		CHECK_EQ_INT(strlen(err), 39); /* truncated to the buffer, terminated */
		CHECK_EQ_INT(evr_filter_parse(text, &f, NULL, 0), -EINVAL);
	}
}

static void test_dest_valid(void)
{
	static const struct {
		const char *in, *canon;
		enum evr_dest_kind kind;
		int family;
		unsigned port;
	} c[] = {
		{"udp:198.18.0.2:9000", "udp:198.18.0.2:9000", EVR_DEST_UDP, AF_INET, 9000},
		{"udp:127.0.0.1:1", "udp:127.0.0.1:1", EVR_DEST_UDP, AF_INET, 1},
		{"udp:localhost:65535", "udp:127.0.0.1:65535", EVR_DEST_UDP, AF_INET, 65535},
		{"UDP:LocalHost:9", "udp:127.0.0.1:9", EVR_DEST_UDP, AF_INET, 9},
		{"udp:10.0.0.1:09000", "udp:10.0.0.1:9000", EVR_DEST_UDP, AF_INET, 9000},
		{"udp:[::1]:9", "udp:[::1]:9", EVR_DEST_UDP, AF_INET6, 9},
		{"udp:[2001:DB8:0:0::1]:5060", "udp:[2001:db8::1]:5060", EVR_DEST_UDP, AF_INET6,
		 5060},
		{"udp:[::ffff:192.0.2.1]:53", "udp:[::ffff:192.0.2.1]:53", EVR_DEST_UDP, AF_INET6,
		 53},
		{"unix:/run/evr.sock", "unix:/run/evr.sock", EVR_DEST_UNIX, AF_UNIX, 0},
		{"unix:/", "unix:/", EVR_DEST_UNIX, AF_UNIX, 0},
		/* nats: the subject kept as given (case-sensitive); port = templated */
		{"nats:evr.{event}", "nats:evr.{event}", EVR_DEST_NATS, 0, 1},
		{"NATS:Evr.Notify", "nats:Evr.Notify", EVR_DEST_NATS, 0, 0},
		{"nats:a", "nats:a", EVR_DEST_NATS, 0, 0},
		{"nats:x{event}y.{event}", "nats:x{event}y.{event}", EVR_DEST_NATS, 0, 1},
		{"nats:$JS.API.x", "nats:$JS.API.x", EVR_DEST_NATS, 0, 0}, /* policy refuses */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_dest d;
		char err[256] = "";
		int rc = evr_dest_parse(c[i].in, &d, err, sizeof(err));

		CHECK_MSG(rc == 0, "'%s': %s", c[i].in, err);
		if (rc)
			continue;
		CHECK_EQ_STR(d.text, c[i].canon);
		CHECK_EQ_INT(d.kind, c[i].kind);
		if (c[i].kind == EVR_DEST_NATS) {
			CHECK_EQ_INT(d.addr.nats.len, strlen(c[i].canon) - 5);
			CHECK_EQ_INT(d.addr.nats.templated, c[i].port); /* port: templated */
			continue;
		}
		CHECK_EQ_INT(d.addr.sa.sa_family, c[i].family);
		if (c[i].family == AF_INET) {
			CHECK_EQ_INT(d.salen, sizeof(struct sockaddr_in));
			CHECK_EQ_INT(ntohs(d.addr.v4.sin_port), c[i].port);
		} else if (c[i].family == AF_INET6) {
			CHECK_EQ_INT(d.salen, sizeof(struct sockaddr_in6));
			CHECK_EQ_INT(ntohs(d.addr.v6.sin6_port), c[i].port);
			CHECK_EQ_INT(d.addr.v6.sin6_scope_id, 0);
		} else {
			const char *path = c[i].in + 5;

			CHECK_EQ_STR(d.addr.un.sun_path, path);
			CHECK_EQ_INT(d.salen, offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
		}
		/* the canonical text parses to itself */
		{
			struct evr_dest d2;

			CHECK_EQ_INT(evr_dest_parse(d.text, &d2, NULL, 0), 0);
			CHECK_EQ_STR(d2.text, d.text);
			CHECK(d2.salen == d.salen && memcmp(&d2.addr, &d.addr, d.salen) == 0);
		}
	}

	{
		struct evr_dest d;
		char in[200] = "unix:/";

		CHECK_EQ_INT(evr_dest_parse("udp:127.0.0.1:9", &d, NULL, 0), 0);
		CHECK_EQ_INT(ntohl(d.addr.v4.sin_addr.s_addr), 0x7f000001);
		/* the longest path that still leaves room for the NUL */
		memset(in + 6, 'p', sizeof(d.addr.un.sun_path) - 2);
		CHECK_EQ_INT(evr_dest_parse(in, &d, NULL, 0), 0);
		CHECK_EQ_INT(strlen(d.addr.un.sun_path), sizeof(d.addr.un.sun_path) - 1);
		CHECK_EQ_INT(strlen(d.text), 5 + sizeof(d.addr.un.sun_path) - 1);
		in[6 + sizeof(d.addr.un.sun_path) - 2] = 'p';
		CHECK_EQ_INT(evr_dest_parse(in, &d, NULL, 0), -EINVAL);
	}
}

static void test_dest_invalid(void)
{
	static const struct {
		const char *in, *msg;
	} c[] = {
		{"", "destination '': expected udp:host:port, unix:/path or nats:subject"},
		{"tcp:1.2.3.4:5", "destination 'tcp:1.2.3.4:5': expected udp:host:port, unix:/path or nats:subject"},
		{"1.2.3.4:5", "destination '1.2.3.4:5': expected udp:host:port, unix:/path or nats:subject"},
		{"nats:", "destination 'nats:': empty NATS subject"},
		{"nats:evr.*", "destination 'nats:evr.*': NATS subject wildcard '*' at offset 4: "
		               "notifications are published to one subject"},
		{"nats:evr.>", "destination 'nats:evr.>': NATS subject wildcard '>' at offset 4: "
		               "notifications are published to one subject"},
		{"nats:evr..x", "destination 'nats:evr..x': empty NATS subject token at offset 4"},
		{"nats:.evr", "destination 'nats:.evr': empty NATS subject token at offset 0"},
		{"nats:evr.", "destination 'nats:evr.': empty NATS subject token at the end"},
		{"nats:evr x", "destination 'nats:evr x': NATS subject byte 0x20 at offset 3: only "
		               "printable ASCII without spaces"},
		{"nats:evr.{name}", "destination 'nats:evr.{name}': unknown placeholder at offset 4 "
		                    "(only {event})"},
		{"nats:evr.{event", "destination 'nats:evr.{event': unknown placeholder at offset 4 "
		                    "(only {event})"},
		{"nats:evr.}", "destination 'nats:evr.}': '}' at offset 4 without '{event'"},
		{"udp:1.2.3.4", "destination 'udp:1.2.3.4': missing ':port'"},
		{"udp::9", "destination 'udp::9': missing host"},
		{"udp:1.2.3.4:", "destination 'udp:1.2.3.4:': port must be a number in 1..65535"},
		{"udp:1.2.3.4:0", "destination 'udp:1.2.3.4:0': port must be a number in 1..65535"},
		{"udp:1.2.3.4:65536",
		 "destination 'udp:1.2.3.4:65536': port must be a number in 1..65535"},
		{"udp:1.2.3.4:000001",
		 "destination 'udp:1.2.3.4:000001': port must be a number in 1..65535"},
		{"udp:1.2.3.4:+9", "destination 'udp:1.2.3.4:+9': port must be a number in 1..65535"},
		{"udp:1.2.3.4:9 ", "destination 'udp:1.2.3.4:9 ': port must be a number in 1..65535"},
		{"udp:1.2.3:9",
		 "destination 'udp:1.2.3:9': host must be a numeric IPv4 address or localhost"},
		{"udp:1.2.3.256:9",
		 "destination 'udp:1.2.3.256:9': host must be a numeric IPv4 address or localhost"},
		{"udp:example.com:9",
		 "destination 'udp:example.com:9': host must be a numeric IPv4 address or localhost"},
		{"udp: 1.2.3.4:9",
		 "destination 'udp: 1.2.3.4:9': host must be a numeric IPv4 address or localhost"},
		{"udp:::1:9", "destination 'udp:::1:9': host contains ':' (IPv6 addresses go in "
		              "brackets, e.g. udp:[::1]:9000)"},
		{"udp:[::1:9", "destination 'udp:[::1:9': missing ']' after IPv6 address"},
		{"udp:[::1]9", "destination 'udp:[::1]9': expected ':port' after ']'"},
		{"udp:[::1]", "destination 'udp:[::1]': expected ':port' after ']'"},
		{"udp:[]:9", "destination 'udp:[]:9': missing host"},
		{"udp:[1.2.3.4]:9", "destination 'udp:[1.2.3.4]:9': not a numeric IPv6 address"},
		{"udp:[fe80::1%eth0]:9", "destination 'udp:[fe80::1%eth0]:9': not a numeric IPv6 address"},
		{"udp:[localhost]:9", "destination 'udp:[localhost]:9': not a numeric IPv6 address"},
		{"unix:", "destination 'unix:': unix socket path must be absolute"},
		{"unix:run/x", "destination 'unix:run/x': unix socket path must be absolute"},
		{"udp:\x7f\xff:9", "destination 'udp:\\x7f\\xff:9': host must be a numeric IPv4 "
		                   "address or localhost"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_dest d;
		char err[256] = "";

		CHECK_EQ_INT(evr_dest_parse(c[i].in, &d, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, c[i].msg);
	}

	{
		struct evr_dest d;
		char err[256], in[300] = "unix:/";

		CHECK_EQ_INT(evr_dest_parse(NULL, &d, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, "destination missing");
		memset(in + 6, 'p', 200);
		CHECK_EQ_INT(evr_dest_parse(in, &d, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, "destination 'unix:/ppppppppppppppppppppppppppppp"
		                  "ppppppppppppppppppppppppppppp...': "
		                  "unix socket path longer than 107 bytes");
		CHECK_EQ_INT(evr_dest_parse("udp:[0000:0000:0000:0000:0000:0000:0000:0000:1]:9",
		                            &d, err, sizeof(err)), -EINVAL);
		CHECK_EQ_STR(err, "destination 'udp:[0000:0000:0000:0000:0000:0000:0000:0000:1]:9': "
		                  "not a numeric IPv6 address");
	}
}

int main(void)
{
	test_filter_valid();
	test_filter_invalid();
	test_dest_valid();
	test_dest_invalid();
	EVR_TEST_DONE();
}
