/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Destination policy (match/evr_dest_policy.h) and its use by the matcher:
 * every class of address an attacker would aim evrd's notifications at is
 * refused with the rule named, unless explicitly allowed; unix: paths only
 * below the directory; removals never checked.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "match/evr_dest_policy.h"
#include "match/evr_matcher.h"
#include "evr_test.h"

static struct evr_cidr allow[2], onlink[2], own[2];
static struct evr_dest_policy P;

static int check(const char *dest, char *err, size_t errlen)
{
	struct evr_dest d;
	int rc = evr_dest_parse(dest, &d, err, errlen);

	CHECK_MSG(rc == 0, "parse %s: %s", dest, err);
	return rc ? rc : evr_dest_policy_check(&P, &d, err, errlen);
}

#define REFUSED(dest, rule)                                                    \
	do {                                                                   \
		char e_[256] = "";                                             \
		CHECK_MSG(check(dest, e_, sizeof(e_)) == -EACCES && strstr(e_, rule), \
		          "%s: '%s' (want %s)", dest, e_, rule);               \
	} while (0)
#define ACCEPTED(dest)                                                         \
	do {                                                                   \
		char e_[256] = "";                                             \
		CHECK_MSG(check(dest, e_, sizeof(e_)) == 0, "%s: %s", dest, e_); \
	} while (0)

static void setup(void)
{
	/* a port 198.18.0.1/24 and 2001:db8::1/64; allow = those subnets */
	CHECK(evr_cidr_parse("198.18.0.1/24", &onlink[0]) == 0);
	CHECK(evr_cidr_parse("2001:db8::1/64", &onlink[1]) == 0);
	CHECK(evr_cidr_parse("198.18.0.1", &own[0]) == 0);
	CHECK(evr_cidr_parse("2001:db8::1", &own[1]) == 0);
	memcpy(allow, onlink, sizeof(allow));
	P = (struct evr_dest_policy){ .allow = allow, .n_allow = 2, .onlink = onlink,
		                      .n_onlink = 2, .own = own, .n_own = 2,
		                      .unix_dir = "/tmp/evr_dp_test" };
}

static void test_classes(void)
{
	ACCEPTED("udp:198.18.0.2:9000");
	ACCEPTED("udp:[2001:db8::2]:9000");
	ACCEPTED("udp:[::ffff:198.18.0.7]:9000");
	REFUSED("udp:255.255.255.255:9", "broadcast address refused (destinations.allow_broadcast)");
	REFUSED("udp:198.18.0.255:9", "broadcast");
	REFUSED("udp:224.0.0.1:9", "multicast address refused (destinations.allow_multicast)");
	REFUSED("udp:239.1.1.1:9", "multicast");
	REFUSED("udp:[ff02::1]:9", "multicast");
	REFUSED("udp:0.0.0.0:9", "unspecified");
	REFUSED("udp:[::]:9", "unspecified");
	REFUSED("udp:127.0.0.1:9", "loopback address refused (destinations.allow_loopback)");
	REFUSED("udp:[::1]:9", "loopback");
	REFUSED("udp:[::ffff:127.0.0.1]:9", "loopback");
	REFUSED("udp:198.18.0.1:9", "evrd's own address refused (destinations.allow_own)");
	REFUSED("udp:[2001:db8::1]:9", "own");
	REFUSED("udp:198.18.1.2:9", "outside the allowed networks (destinations.allow");
	REFUSED("udp:8.8.8.8:53", "outside the allowed networks");
	REFUSED("udp:[2001:db9::1]:9", "outside");

	/* explicit allowances: the class flag and the allow list both */
	P.allow_loopback = true;
	REFUSED("udp:127.0.0.1:9", "outside the allowed networks");
	CHECK(evr_cidr_parse("127.0.0.0/8", &allow[1]) == 0);
	ACCEPTED("udp:127.0.0.1:9");
	P.allow_loopback = false;
	memcpy(allow, onlink, sizeof(allow));
	P.allow_broadcast = P.allow_multicast = P.allow_own = true;
	ACCEPTED("udp:198.18.0.255:9");
	ACCEPTED("udp:198.18.0.1:9");
	P.allow_broadcast = P.allow_multicast = P.allow_own = false;
	/* a /31 or /32 subnet has no directed broadcast */
	struct evr_cidr p31;
	CHECK(evr_cidr_parse("198.18.5.0/31", &p31) == 0);
	P.onlink = &p31;
	P.n_onlink = 1;
	P.allow = &p31;
	P.n_allow = 1;
	ACCEPTED("udp:198.18.5.1:9");
	setup();
}

static void test_unix(void)
{
	mkdir("/tmp/evr_dp_test", 0700);
	ACCEPTED("unix:/tmp/evr_dp_test/sub.sock");
	ACCEPTED("unix:/tmp/evr_dp_test/a/b.sock");
	REFUSED("unix:/dev/log", "unix: paths must be below /tmp/evr_dp_test (destinations.unix_dir)");
	REFUSED("unix:/run/systemd/notify", "below");
	REFUSED("unix:/tmp/evr_dp_testX/s", "below");
	REFUSED("unix:/tmp/evr_dp_test/../../dev/log", "'..'");
	REFUSED("unix:/tmp/evr_dp_test/./s", "'.'");
	REFUSED("unix:/tmp/evr_dp_test//s", "'//'");
	CHECK(symlink("/dev/log", "/tmp/evr_dp_test/link") == 0 || errno == EEXIST);
	REFUSED("unix:/tmp/evr_dp_test/link", "symbolic link");
	unlink("/tmp/evr_dp_test/link");
	P.unix_dir = "";
	REFUSED("unix:/tmp/evr_dp_test/sub.sock", "unix: destinations are off");
	P.unix_dir = "/tmp/evr_dp_test";
	rmdir("/tmp/evr_dp_test");
}

/* The matcher applies it to subscribe, counts refusals, never to removal. */
static void test_matcher(void)
{
	struct evr_matcher_conf mc;
	struct evr_matcher *m;
	struct evr_matcher_stats st;
	struct evr_sub_info info;
	char err[256];

	evr_matcher_conf_default(&mc);
	mc.no_background = true;
	m = evr_matcher_create(&mc);
	CHECK(m != NULL);
	if (!m)
		return;
	struct evr_sub_spec ok = { .event = "E", .dest = "udp:127.0.0.1:9000",
		                   .format = EVR_FMT_JSON, .expire = 60 };
	/* without a policy (library default) anything parses */
	CHECK_EQ_INT(evr_matcher_subscribe(m, &ok, 0, &info, err, sizeof(err)), 0);
	evr_matcher_set_dest_policy(m, &P);
	struct evr_sub_spec bad = ok;
	bad.dest = "udp:255.255.255.255:9000";
	CHECK_EQ_INT(evr_matcher_subscribe(m, &bad, 0, &info, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, "destinations.allow_broadcast") != NULL);
	/* the loopback one made before the policy can still be removed */
	struct evr_sub_spec rm = ok;
	rm.expire = 0;
	CHECK_EQ_INT(evr_matcher_subscribe(m, &rm, 0, &info, err, sizeof(err)), 0);
	CHECK(info.removed);
	struct evr_sub_spec good = ok;
	good.dest = "udp:198.18.0.9:9000";
	CHECK_EQ_INT(evr_matcher_subscribe(m, &good, 0, &info, err, sizeof(err)), 0);
	evr_matcher_get_stats(m, &st);
	CHECK_EQ_INT(st.dest_refused, 1);
	CHECK_EQ_INT(st.live, 1);
	evr_matcher_destroy(m);
}

int main(void)
{
	rcu_register_thread();
	setup();
	test_classes();
	test_unix();
	test_matcher();
	rcu_unregister_thread();
	EVR_TEST_DONE();
}
