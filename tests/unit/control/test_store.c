/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The durable subscription store (control/evr_store.h) with a real LMDB in
 * a temp dir and a matcher without background threads: round trip of every
 * field, ids kept and continued, absolute expiry (expired while down,
 * remaining TTL kept), reaped expiries and refreshes persisted, a corrupt
 * or truncated file refused naming the path and --store-reset, a second
 * opener refused naming the holder, a full store counted and reported per
 * change. Single thread (a registered QSBR reader/writer) + the store's
 * writer thread.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "evr_test.h"
#include "evr_store.h"
#include "match/evr_matcher.h"

static char dir[64];

static struct evr_matcher *new_matcher(void)
{
	struct evr_matcher_conf mc;
	evr_matcher_conf_default(&mc);
	mc.no_background = true;
	return evr_matcher_create(&mc);
}

static struct evr_store *open_store(uint32_t map_mb, bool reset, char *err, size_t errlen)
{
	struct evr_store_conf c = {.kind = EVR_STORE_EMBEDDED, .path = dir,
	                           .map_mb = map_mb, .reset = reset};
	err[0] = 0;
	return evr_store_open(&c, err, errlen);
}

/* Until the writer covered every queued change (bounded: 5 s). */
static void settle(struct evr_store *s)
{
	for (int i = 0; i < 5000 && evr_store_done_seq(s) < evr_store_queued_seq(s); i++)
		usleep(1000);
	CHECK(evr_store_done_seq(s) == evr_store_queued_seq(s));
}

static uint64_t sub(struct evr_matcher *m, const char *ev, const char *dest,
                    const char *f1, uint32_t expire, bool once, bool lenient,
                    enum evr_format fmt)
{
	const char *f[2] = {f1, "n=1*"};
	struct evr_sub_spec sp = {.event = ev, .dest = dest, .filters = f,
	                          .n_filters = f1 ? 2 : 0, .expire = expire, .once = once,
	                          .lenient = lenient, .format = fmt};
	struct evr_sub_info info;
	char err[200];
	int rc = evr_matcher_subscribe(m, &sp, evr_now_ms(), &info, err, sizeof(err));
	CHECK_MSG(rc == 0, "subscribe %s: %s", ev, err);
	return rc ? 0 : info.id;
}

struct snap {
	char line[16][400];
	uint64_t id[16], exp[16];
	unsigned n;
};

static void snap_visit(const struct evr_sub *s, void *arg)
{
	struct snap *x = arg;
	char sel[200];
	if (x->n >= 16)
		return;
	evr_sub_selector_text(s, sel, sizeof(sel));
	int k = snprintf(x->line[x->n], sizeof(x->line[0]), "%llu|%s|%s|%u|%u|%u|%u|",
	                 (unsigned long long)s->id, sel, s->dest->text, s->format, s->once,
	                 s->lenient, s->expire_s);
	for (uint32_t i = 0; i < s->n_filters && k < 300; i++)
		k += snprintf(x->line[x->n] + k, sizeof(x->line[0]) - (size_t)k, "%s;",
		              s->filters[i].text);
	x->id[x->n] = s->id;
	x->exp[x->n] = s->expires_ms;
	x->n++;
}

static void test_round_trip(void)
{
	char err[512];
	struct snap a = {.n = 0}, b = {.n = 0};
	struct evr_store_stats st;

	struct evr_store *s = open_store(64, true, err, sizeof(err));
	CHECK_MSG(s != NULL, "%s", err);
	if (!s)
		return;
	struct evr_matcher *m = new_matcher();
	/* a static subscription before attach: never stored */
	sub(m, "E_STATIC", "udp:127.0.0.1:9", NULL, EVR_SUB_EXPIRE_NEVER, false, false,
	    EVR_FMT_JSONRPC);
	evr_store_attach(s, m);
	sub(m, "E_A", "udp:127.0.0.1:9000", "aor=sip:a@x", 3600, false, false, EVR_FMT_JSON);
	uint64_t gone = sub(m, "E_B", "udp:[::1]:9001", NULL, 3600, false, false,
	                    EVR_FMT_PLAIN);
	sub(m, "CUSTOM sofia::register", "unix:/tmp/x.sock", "user=1*", 600, true, true,
	    EVR_FMT_XML);
	uint64_t short_id = sub(m, "E_SHORT", "udp:127.0.0.1:9002", NULL, 1, false, false,
	                        EVR_FMT_JSONRPC);
	uint64_t reaped = sub(m, "E_REAPED", "udp:127.0.0.1:9003", NULL, 1, false, false,
	                      EVR_FMT_JSONRPC);
	/* refreshed: the stored expiry follows */
	sub(m, "E_A", "udp:127.0.0.1:9000", "aor=sip:a@x", 7200, false, false, EVR_FMT_JSON);
	CHECK(evr_matcher_unsubscribe(m, gone) == 0);
	/* the reaper's removal is a change too */
	CHECK(evr_matcher_reap(m, evr_now_ms() + 1500) >= 2);
	sub(m, "E_SHORT", "udp:127.0.0.1:9002", NULL, 1, false, false, EVR_FMT_JSONRPC);
	settle(s);
	evr_matcher_list(m, 0, 16, snap_visit, &a);
	uint64_t next = evr_matcher_next_id(m);
	evr_store_close(s, m);
	evr_matcher_destroy(m);
	(void)short_id;
	(void)reaped;

	/* E_SHORT (1 s) expires while "down" */
	usleep(1100 * 1000);
	s = open_store(64, false, err, sizeof(err));
	CHECK_MSG(s != NULL, "%s", err);
	if (!s)
		return;
	m = new_matcher();
	CHECK_EQ_INT(evr_store_load(s, m, err, sizeof(err)), 0);
	evr_store_get_stats(s, &st);
	CHECK_EQ_INT(st.loaded, 2);       /* E_A, CUSTOM */
	CHECK_EQ_INT(st.load_expired, 1); /* E_SHORT */
	CHECK_EQ_INT(st.load_refused, 0);
	evr_matcher_list(m, 0, 16, snap_visit, &b);
	/* a: static, E_A, CUSTOM, E_SHORT (2nd); b: E_A, CUSTOM */
	CHECK_EQ_INT(a.n, 4);
	CHECK_EQ_INT(b.n, 2);
	if (a.n == 4 && b.n == 2) {
		CHECK_EQ_STR(b.line[0], a.line[1]);
		CHECK_EQ_STR(b.line[1], a.line[2]);
		/* remaining TTL kept (absolute expiry; two clocks: +-50 ms) */
		int64_t d = (int64_t)(b.exp[0] - a.exp[1]);
		CHECK_MSG(llabs(d) < 100, "expiry moved %lld ms", (long long)d);
	}
	/* ids continue above the restored ones */
	evr_store_attach(s, m);
	uint64_t nid = sub(m, "E_NEW", "udp:127.0.0.1:9004", NULL, 60, false, false,
	                   EVR_FMT_JSONRPC);
	CHECK(nid > b.id[1]);
	CHECK(nid <= next);
	/* the store deleted the expired record at load */
	settle(s);
	evr_store_close(s, m);
	evr_matcher_destroy(m);

	s = open_store(64, false, err, sizeof(err));
	m = new_matcher();
	CHECK_EQ_INT(evr_store_load(s, m, err, sizeof(err)), 0);
	evr_store_get_stats(s, &st);
	CHECK_EQ_INT(st.loaded, 3);
	CHECK_EQ_INT(st.load_expired, 0);
	evr_store_close(s, m);
	evr_matcher_destroy(m);
}

static void test_lock(void)
{
	char err[512], err2[512];
	struct evr_store *s = open_store(64, false, err, sizeof(err));
	CHECK_MSG(s != NULL, "%s", err);
	struct evr_store *s2 = open_store(64, false, err2, sizeof(err2));
	CHECK(s2 == NULL);
	CHECK_MSG(strstr(err2, "already in use by another evrd (pid") && strstr(err2, dir),
	          "%s", err2);
	evr_store_close(s, NULL);
}

static void test_corrupt(void)
{
	char err[512], p[128], junk[8192];
	struct stat st;

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	CHECK(stat(p, &st) == 0);
	/* truncated below its pages */
	CHECK(truncate(p, st.st_size / 2) == 0 || st.st_size < 8192);
	struct evr_store *s = open_store(64, false, err, sizeof(err));
	CHECK(s == NULL);
	CHECK_MSG(strstr(err, p) && strstr(err, "corrupt") && strstr(err, "--store-reset"),
	          "%s", err);
	/* garbled header */
	memset(junk, 0x5a, sizeof(junk));
	int fd = open(p, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, junk, sizeof(junk), 0) == (ssize_t)sizeof(junk));
	close(fd);
	s = open_store(64, false, err, sizeof(err));
	CHECK(s == NULL);
	CHECK_MSG(strstr(err, p) && strstr(err, "corrupt") && strstr(err, "--store-reset"),
	          "%s", err);
	/* emptied: not silently a new store */
	CHECK(truncate(p, 0) == 0);
	s = open_store(64, false, err, sizeof(err));
	CHECK(s == NULL);
	CHECK_MSG(strstr(err, "truncated"), "%s", err);
	/* --store-reset starts empty */
	s = open_store(64, true, err, sizeof(err));
	CHECK_MSG(s != NULL, "%s", err);
	struct evr_matcher *m = new_matcher();
	CHECK_EQ_INT(evr_store_load(s, m, err, sizeof(err)), 0);
	struct evr_store_stats sst;
	evr_store_get_stats(s, &sst);
	CHECK_EQ_INT(sst.loaded, 0);
	evr_store_close(s, m);
	evr_matcher_destroy(m);
}

static void test_map_full(void)
{
	char err[512], f[300], why[256];
	struct evr_store *s = open_store(1, true, err, sizeof(err));
	CHECK_MSG(s != NULL, "%s", err);
	if (!s)
		return;
	struct evr_matcher *m = new_matcher();
	evr_store_attach(s, m);
	memset(f, 'x', sizeof(f));
	for (int i = 0; i < 8000; i++) {
		int k = snprintf(f, sizeof(f), "aor=%d", i);
		f[k] = 'x';
		f[250] = 0;
		sub(m, "E_FULL", "udp:127.0.0.1:9000", f, 3600, false, false, EVR_FMT_JSONRPC);
	}
	settle(s);
	struct evr_store_stats st;
	evr_store_get_stats(s, &st);
	CHECK_MSG(st.errors_full > 0, "errors_full %llu", (unsigned long long)st.errors_full);
	CHECK(st.errors >= st.errors_full);
	CHECK(st.committed + st.errors == st.queued);
	/* a change that could not be made durable is known by its sequence
	 * (a held reply says so); a smaller batch after a failed one may fit */
	uint64_t failed = 0;
	why[0] = 0;
	for (uint64_t q = 1; q <= evr_store_queued_seq(s); q++)
		failed += evr_store_seq_failed(s, q, why, sizeof(why));
	CHECK(failed > 0);
	CHECK_MSG(strstr(why, "not durable") && strstr(why, dir), "%s", why);
	/* deletes still go through (they make room) and the store keeps going */
	evr_store_close(s, m);
	evr_matcher_destroy(m);
}

/* A cluster member's matcher (store.kind nats): its ids are its own range,
 * another member's restored ids never move them, and applying another
 * member's refresh takes that member's absolute expiry. */
static void test_id_ranges(void)
{
	struct evr_matcher_conf mc;
	const uint64_t base = UINT64_C(3) << EVR_ID_NODE_SHIFT;
	struct evr_sub_info info;
	char err[200];

	evr_matcher_conf_default(&mc);
	mc.no_background = true;
	mc.id_base = base;
	struct evr_matcher *m = evr_matcher_create(&mc);
	uint64_t now = evr_now_ms();

	CHECK_EQ_INT(sub(m, "E_A", "udp:127.0.0.1:9", NULL, 60, false, false, EVR_FMT_JSON),
	             base + 1);
	/* another member's subscription (node 5) */
	struct evr_sub_spec other = {.event = "E_B", .dest = "udp:127.0.0.1:9", .expire = 60,
	                             .format = EVR_FMT_JSON,
	                             .restore_id = (UINT64_C(5) << EVR_ID_NODE_SHIFT) + 7,
	                             .restore_expires_ms = now + 30000};
	CHECK_EQ_INT(evr_matcher_subscribe(m, &other, now, &info, err, sizeof(err)), 0);
	CHECK_EQ_INT(info.id, (UINT64_C(5) << EVR_ID_NODE_SHIFT) + 7);
	CHECK_EQ_INT(info.expires_ms, now + 30000);
	CHECK_EQ_INT(sub(m, "E_C", "udp:127.0.0.1:9", NULL, 60, false, false, EVR_FMT_JSON),
	             base + 2);
	/* one of its own restored: the next continue above it */
	struct evr_sub_spec own = other;
	own.event = "E_D";
	own.restore_id = base + 100;
	CHECK_EQ_INT(evr_matcher_subscribe(m, &own, now, &info, err, sizeof(err)), 0);
	CHECK_EQ_INT(sub(m, "E_E", "udp:127.0.0.1:9", NULL, 60, false, false, EVR_FMT_JSON),
	             base + 101);
	/* the other member refreshed E_B: same id, its expiry, not now + 60 s */
	other.restore_expires_ms = now + 45000;
	other.expire = 90;
	CHECK_EQ_INT(evr_matcher_subscribe(m, &other, now, &info, err, sizeof(err)), 0);
	CHECK(info.refreshed);
	CHECK_EQ_INT(info.id, (UINT64_C(5) << EVR_ID_NODE_SHIFT) + 7);
	CHECK_EQ_INT(info.expires_ms, now + 45000);
	evr_matcher_destroy(m);
}

/* A shared store that cannot be reached is a start-up error naming the
 * bucket and the servers, not a silent empty start. */
static void test_nats_unreachable(void)
{
	struct evr_store_conf c = {.kind = EVR_STORE_NATS, .bucket = "evr_t",
	                           .nats = {.url = "nats://127.0.0.1:1", .name = "t"},
	                           .replicas = 1, .node_id = 1, .timeout_ms = 500};
	char err[400];

	CHECK(evr_store_open(&c, err, sizeof(err)) == NULL);
	CHECK_MSG(strstr(err, "bucket evr_t") && strstr(err, "nats://127.0.0.1:1") &&
	          strstr(err, "cannot connect"), "%s", err);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/evr_store_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	rcu_register_thread();
	test_round_trip();
	test_lock();
	test_corrupt();
	test_map_full();
	test_id_ranges();
	test_nats_unreachable();
	rcu_unregister_thread();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0) {
		/* best effort */
	}
	EVR_TEST_DONE();
}
