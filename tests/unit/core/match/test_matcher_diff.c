/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matcher: directed cases with written-out expectations (run on both
 * backends), then a differential run: the hybrid index against its naive
 * twin, fed the same operations in the same order with the same simulated
 * clock, and both against a reference model written from the contract
 * (matcher_gen.h: selector rules + fnmatch(3) per filter, plus the store's
 * lifecycle: expiry, refresh, removal, once).
 *
 * Checks in the random run, per event:
 *   - diff:   hybrid and naive return the same set of logical subscriptions
 *             (the i-th subscription created in each; ids differ);
 *   - oracle: each equals the model's set. The hybrid may lag only on
 *             Hyperscan-indexed subscriptions not yet synced (the header
 *             allows that); everything else is visible on return;
 *   - a subscription is returned at most once per call, never after its
 *     removal, never when expired, a once subscription at most once ever.
 * and per operation: both backends return the same codes, refresh hits the
 * identical subscription, removals remove what the contract says.
 *
 * Environment: EVR_TEST_SEED (default 0x5eed2024), EVR_TEST_EVENTS
 * (default 100000), EVR_TEST_LIVE (live subscriptions aimed at, default
 * 1000), EVR_TEST_DIRECTED=0 skips the directed cases.
 */
#include <errno.h>
#include <stdarg.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#include "util/evr_hash.h" /* evr_hash_lc */
#include "evr_test.h"
#include "matcher_gen.h"

#define NM 2 /* 0 = hybrid, 1 = naive */
#define NONE UINT32_MAX
#define OUT_CAP 8192u
#define MAX_REPORTS 12u
#define T0 UINT64_C(1000000) /* simulated clock origin, ms */

static const char *const mname[NM] = {"hybrid", "naive"};

static struct evr_matcher *mk_matcher(enum evr_index_kind kind, int *reader)
{
	struct evr_matcher_conf c;
	evr_matcher_conf_default(&c);
	c.index = kind;
	c.no_background = true;
	struct evr_matcher *m = evr_matcher_create(&c);
	if (!m) {
		fprintf(stderr, "evr_matcher_create(%s): %s\n",
		        kind == EVR_INDEX_HYBRID ? "hybrid" : "naive",
		        strerror(errno));
		exit(2);
	}
	*reader = evr_matcher_reader_register(m);
	if (*reader < 0) {
		fprintf(stderr, "evr_matcher_reader_register: %d\n", *reader);
		exit(2);
	}
	return m;
}

/* What evr_matcher_get reports about one subscription. */
struct snap {
	bool found;
	uint64_t id, expires_ms;
	uint32_t expire_s, idx_filter, n_filters;
	int idx_cls; /* class of the filter it is indexed by, -1 if by event */
	uint8_t sel, format, once, lenient;
	char seltext[128];
};

static void snap_cb(const struct evr_sub *s, void *ctx)
{
	struct snap *sn = ctx;
	sn->found = true;
	sn->id = s->id;
	sn->expires_ms = __atomic_load_n(&s->expires_ms, __ATOMIC_RELAXED);
	sn->expire_s = s->expire_s;
	sn->idx_filter = s->idx_filter;
	sn->n_filters = s->n_filters;
	sn->idx_cls = s->idx_filter < s->n_filters ? (int)s->filters[s->idx_filter].cls
	                                           : -1;
	sn->sel = s->sel;
	sn->format = __atomic_load_n(&s->format, __ATOMIC_RELAXED);
	sn->once = s->once;
	sn->lenient = s->lenient;
	if (evr_sub_selector_text(s, sn->seltext, sizeof sn->seltext) < 0)
		sn->seltext[0] = '\0';
}

static int get_snap(struct evr_matcher *m, uint64_t id, struct snap *sn)
{
	memset(sn, 0, sizeof *sn);
	return evr_matcher_get(m, id, snap_cb, sn);
}

/* ======================================================================
 * Directed cases
 * ====================================================================== */

struct dctx {
	struct evr_matcher *m;
	int reader;
	uint64_t now;
	const char *kind;
};

#define D9(n) "udp:127.0.0.1:900" #n

static uint64_t dsub_(int line, struct dctx *d, const char *ev, const char *sub,
                      const char *const *f, uint32_t nf, const char *dest,
                      uint32_t expire, bool once, bool lenient,
                      struct evr_sub_info *out)
{
	struct evr_sub_spec sp = {
		.event = ev, .subclass = sub, .filters = f, .n_filters = nf,
		.dest = dest, .format = EVR_FMT_JSONRPC, .expire = expire,
		.once = once, .lenient = lenient,
	};
	struct evr_sub_info info;
	char err[256] = "";
	memset(&info, 0, sizeof info);
	int rc = evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err);
	CHECK_MSG(rc == 0, "[%s] line %d: subscribe %s: rc=%d err=%s", d->kind,
	          line, ev, rc, err);
	if (out)
		*out = info;
	return rc == 0 ? info.id : 0;
}

#define FL(...) ((const char *const[]){__VA_ARGS__}), \
	(uint32_t)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define NOF NULL, 0
#define DSUB(d, ev, sub, filters, dest, expire, once, lenient, info) \
	dsub_(__LINE__, d, ev, sub, filters, dest, expire, once, lenient, info)

static const struct evr_event *dev(struct mg_event *e, const char *name,
                                   const char *sub, ...)
{
	va_list ap;
	mg_ev_init(e, name, sub);
	va_start(ap, sub);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		mg_ev_add(e, k, v);
	}
	va_end(ap);
	return &e->ev;
}

/* Match; bit i set when ids[i] was returned, bit 31 for anything else. */
static uint32_t dmatch(struct dctx *d, const struct evr_event *ev,
                       const uint64_t *ids, unsigned nids)
{
	const struct evr_sub *out[64];
	struct evr_match_stats st;
	uint32_t mask = 0;
	memset(&st, 0, sizeof st);
	uint32_t n = evr_matcher_match(d->m, (unsigned)d->reader, ev, d->now, out,
	                               64, &st);
	for (uint32_t i = 0; i < n; i++) {
		unsigned j;
		for (j = 0; j < nids; j++)
			if (ids[j] && out[i]->id == ids[j])
				break;
		if (j < nids) {
			CHECK_MSG(!(mask & (1u << j)), "[%s] id %" PRIu64 " returned twice",
			          d->kind, ids[j]);
			mask |= 1u << j;
		} else {
			mask |= 1u << 31;
		}
	}
	urcu_qsbr_quiescent_state();
	return mask;
}

#define EXPECT(d, ev, ids, want)                                               \
	do {                                                                   \
		uint32_t got_ = dmatch(d, ev, ids, sizeof(ids) / sizeof(ids[0])); \
		CHECK_MSG(got_ == (uint32_t)(want),                             \
		          "[%s] got mask 0x%x, want 0x%x (t=%" PRIu64 ")",     \
		          (d)->kind, got_, (uint32_t)(want), (d)->now);        \
		if (got_ != (uint32_t)(want))                                   \
			mg_ev_print(stderr, ev);                               \
	} while (0)

enum { A = 1, B = 2, C = 4, D = 8, E = 16, F = 32, G = 64 };

static uint64_t live_count(struct evr_matcher *m)
{
	struct evr_matcher_stats st;
	memset(&st, 0, sizeof st);
	evr_matcher_get_stats(m, &st);
	return st.live;
}

static void case_strict_lenient(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[3];
	id[0] = DSUB(d, "E_UL_AOR_INSERT", NULL, FL("aor=bob*"), D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "E_UL_AOR_INSERT", NULL, FL("aor=bob*"), D9(1), 60, false, true, NULL);
	id[2] = DSUB(d, "E_UL_AOR_INSERT", NULL, FL("aor=bob*", "domain=x.com"), D9(2), 60,
	             false, true, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "contact", "x", NULL), id, B | C);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "aor", "bobby", NULL), id, A | B | C);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "aor", "alice", NULL), id, 0);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "aor", "bobby", "domain", "y.com", NULL),
	       id, A | B);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "domain", "x.com", NULL), id, B | C);
	EXPECT(d, dev(&e, "E_UL_CONTACT_INSERT", NULL, "aor", "bob", NULL), id, 0);
}

static void case_all(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[3];
	id[0] = DSUB(d, "ALL", NULL, NOF, D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "all", NULL, FL("aor=bob"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, NOF, D9(2), 60, false, false, NULL);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bob", NULL), id, A | B | C);
	EXPECT(d, dev(&e, "CUSTOM", "sofia::register", "x", "y", NULL), id, A);
	EXPECT(d, dev(&e, "HEARTBEAT", NULL, "AOR", "bob", NULL), id, A | B);
	EXPECT(d, dev(&e, "e_x", NULL, NULL), id, A | C);
}

static void case_custom(struct dctx *d)
{
	struct mg_event e;
	struct evr_sub_info info;
	struct snap sn;
	uint64_t id[5];
	id[0] = DSUB(d, "CUSTOM sofia::register", NULL, NOF, D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "custom", "sofia::register", NOF, D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "CUSTOM", NULL, NOF, D9(2), 60, false, false, NULL);
	id[3] = DSUB(d, "CUSTOM", "", NOF, D9(3), 60, false, false, NULL);
	id[4] = DSUB(d, "E_UL_AOR_INSERT", NULL, NOF, D9(4), 60, false, false, NULL);
	EXPECT(d, dev(&e, "CUSTOM", "sofia::register", NULL), id, A | B | C | D);
	EXPECT(d, dev(&e, "Custom", "sofia::register", NULL), id, A | B | C | D);
	EXPECT(d, dev(&e, "CUSTOM", "sofia::unregister", NULL), id, C | D);
	EXPECT(d, dev(&e, "CUSTOM", NULL, NULL), id, C | D);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, NULL), id, E);
	EXPECT(d, dev(&e, "sofia::register", NULL, NULL), id, 0);

	/* the split form and the subclass argument are the same selector */
	CHECK(get_snap(d->m, id[0], &sn) == 0);
	CHECK_EQ_INT(sn.sel, EVR_SEL_SUBCLASS);
	CHECK_EQ_STR(sn.seltext, "CUSTOM sofia::register");
	CHECK(get_snap(d->m, id[2], &sn) == 0);
	CHECK_EQ_INT(sn.sel, EVR_SEL_NAME);
	uint64_t again = DSUB(d, "CUSTOM", "sofia::register", NOF, D9(0), 60, false,
	                      false, &info);
	CHECK_MSG(info.refreshed && again == id[0],
	          "[%s] \"CUSTOM\"+\"sofia::register\" did not refresh \"CUSTOM "
	          "sofia::register\" (refreshed=%d id=%" PRIu64 " vs %" PRIu64 ")",
	          d->kind, info.refreshed, again, id[0]);
}

static void case_case_insensitive(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[2];
	id[0] = DSUB(d, "e_ul_aor_insert", NULL, FL("AOR=bob@x.com"), D9(0), 60, false,
	             false, NULL);
	id[1] = DSUB(d, "E_UL_AOR_INSERT", NULL, FL("Caller-Username=*ob*"), D9(1), 60,
	             false, false, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "Aor", "bob@x.com", NULL), id, A);
	EXPECT(d, dev(&e, "E_Ul_Aor_Insert", NULL, "aor", "bob@x.com", NULL), id, A);
	/* values are case-sensitive */
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "aor", "BOB@x.com", NULL), id, 0);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "CALLER-USERNAME", "Bob", NULL), id, B);
	EXPECT(d, dev(&e, "E_UL_AOR_INSERT", NULL, "caller-username", "BOB", NULL), id, 0);
}

/*
 * Boundary: a subscription made at t with expire E lives for E seconds,
 * i.e. it matches while now < t + E*1000 (expires_ms = t + E*1000 and
 * "expired" means now >= expires_ms). The header does not spell out the
 * comparison; this is the reading the test holds the matcher to.
 */
static void case_expire(struct dctx *d)
{
	struct mg_event e;
	struct evr_sub_info info;
	uint64_t id[5];
	d->now = T0;
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 10, false, false, &info);
	CHECK_EQ_INT(info.expires_ms, T0 + 10000);
	CHECK_EQ_INT(info.expire_s, 10);
	CHECK(!info.refreshed && !info.removed);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=*b?b*"), D9(1), 10, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=bo*"), D9(2), 10, false, false, NULL);
	id[3] = DSUB(d, "E_X", NULL, NOF, D9(3), 10, false, false, NULL);
	id[4] = DSUB(d, "E_X", NULL, FL("aor=*ob"), D9(4), 10, false, true, NULL);
	evr_matcher_sync(d->m);
	const struct evr_event *ev = dev(&e, "E_X", NULL, "aor", "bob", NULL);
	d->now = T0 + 9999;
	EXPECT(d, ev, id, A | B | C | D | E);
	CHECK_EQ_INT(evr_matcher_reap(d->m, d->now), 0);
	EXPECT(d, ev, id, A | B | C | D | E);
	d->now = T0 + 10000;
	EXPECT(d, ev, id, 0);
	CHECK_EQ_INT(evr_matcher_reap(d->m, d->now), 5);
	struct snap sn;
	CHECK_EQ_INT(get_snap(d->m, id[0], &sn), -ENOENT);
	CHECK_EQ_INT(live_count(d->m), 0);
	EXPECT(d, ev, id, 0);
}

static void case_refresh(struct dctx *d)
{
	struct mg_event e;
	struct evr_sub_info info;
	struct snap sn;
	uint64_t id[2];
	d->now = T0;
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob", "domain=*.com"), D9(0), 10, false,
	             false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=bob", "domain=*.com"), D9(1), 10, false,
	             false, NULL);
	d->now = T0 + 5000;
	struct evr_sub_spec sp = {
		.event = "E_X", .filters = (const char *const[]){"aor=bob", "domain=*.com"},
		.n_filters = 2, .dest = D9(0), .format = EVR_FMT_PLAIN, .expire = 10,
	};
	char err[256] = "";
	memset(&info, 0, sizeof info);
	CHECK_EQ_INT(evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err), 0);
	CHECK(info.refreshed);
	CHECK_EQ_INT(info.id, id[0]);
	CHECK_EQ_INT(info.expires_ms, T0 + 15000);
	CHECK_EQ_INT(live_count(d->m), 2);
	CHECK(get_snap(d->m, id[0], &sn) == 0);
	CHECK_EQ_INT(sn.expires_ms, T0 + 15000);
	CHECK_EQ_INT(sn.format, EVR_FMT_PLAIN); /* format refreshed in place */
	const struct evr_event *ev = dev(&e, "E_X", NULL, "aor", "bob", "domain", "x.com",
	                                 NULL);
	d->now = T0 + 9999;
	EXPECT(d, ev, id, A | B);
	d->now = T0 + 10000;
	EXPECT(d, ev, id, A);
	d->now = T0 + 14999;
	EXPECT(d, ev, id, A);
	d->now = T0 + 15000;
	EXPECT(d, ev, id, 0);
}

static void case_expire0(struct dctx *d)
{
	struct mg_event e;
	struct evr_sub_info info;
	struct snap sn;
	uint64_t id[4];
	d->now = T0;
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=*bo?"), D9(2), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	/* Hyperscan-indexed, removed before its delta is compiled */
	id[3] = DSUB(d, "E_X", NULL, FL("aor=[b]o*"), D9(3), 60, false, false, NULL);
	const struct evr_event *ev = dev(&e, "E_X", NULL, "aor", "bob", NULL);
	d->now = T0 + 1;
	CHECK_EQ_INT(live_count(d->m), 4);

	DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 0, false, false, &info);
	CHECK(info.removed);
	CHECK_EQ_INT(get_snap(d->m, id[0], &sn), -ENOENT);
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[0]), -ENOENT);
	DSUB(d, "E_X", NULL, FL("aor=*bo?"), D9(2), 0, false, false, &info);
	CHECK(info.removed);
	DSUB(d, "E_X", NULL, FL("aor=[b]o*"), D9(3), 0, false, false, &info);
	CHECK(info.removed);
	EXPECT(d, ev, id, B);
	evr_matcher_sync(d->m);
	EXPECT(d, ev, id, B);
	CHECK_EQ_INT(live_count(d->m), 1);
}

static void case_invalid(struct dctx *d)
{
	char err[256];
	struct evr_sub_info info;
	uint64_t before = live_count(d->m);
	for (unsigned i = 0; i < MG_N_INVALID; i++) {
		const char *bad = mg_invalid_filter(i);
		const char *f[2] = {"aor=bob", bad};
		struct evr_sub_spec sp = {
			.event = "E_X", .filters = f, .n_filters = 2, .dest = D9(0),
			.format = EVR_FMT_JSONRPC, .expire = 60,
		};
		err[0] = '\0';
		int rc = evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err);
		CHECK_MSG(rc == -EINVAL, "[%s] filter '%s': rc=%d", d->kind, bad, rc);
		CHECK_MSG(strstr(err, bad) != NULL,
		          "[%s] error does not name the filter '%s': \"%s\"", d->kind,
		          bad, err);
	}
	/* key longer than a name may be */
	char longk[200];
	memset(longk, 'k', 140);
	strcpy(longk + 140, "=x");
	const char *f1[1] = {longk};
	struct evr_sub_spec sp = {
		.event = "E_X", .filters = f1, .n_filters = 1, .dest = D9(0),
		.format = EVR_FMT_JSONRPC, .expire = 60,
	};
	err[0] = '\0';
	CHECK_EQ_INT(evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err),
	             -EINVAL);
	CHECK(err[0] != '\0');
	/* too many filters */
	const char *many[EVR_MAX_FILTERS + 1];
	for (unsigned i = 0; i <= EVR_MAX_FILTERS; i++)
		many[i] = "aor=*";
	sp.filters = many;
	sp.n_filters = EVR_MAX_FILTERS + 1;
	CHECK_EQ_INT(evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err),
	             -EINVAL);
	/* bad destination, names it */
	sp.filters = NULL;
	sp.n_filters = 0;
	sp.dest = "tcp:1.2.3.4:5";
	err[0] = '\0';
	CHECK_EQ_INT(evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err),
	             -EINVAL);
	CHECK_MSG(strstr(err, "tcp:1.2.3.4:5") != NULL, "[%s] err \"%s\"", d->kind, err);
	/* empty event name */
	sp.dest = D9(0);
	sp.event = "";
	CHECK_EQ_INT(evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err),
	             -EINVAL);
	/* AUTO is not a notification format */
	sp.event = "E_X";
	sp.format = EVR_FMT_AUTO;
	CHECK_EQ_INT(evr_matcher_subscribe(d->m, &sp, d->now, &info, err, sizeof err),
	             -EINVAL);
	CHECK_EQ_INT(live_count(d->m), before);
}

static void case_once(struct dctx *d)
{
	struct mg_event e;
	struct evr_matcher_stats st;
	uint64_t id[4];
	d->now = T0;
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 60, true, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=*o[b]"), D9(2), 60, true, false, NULL);
	id[3] = DSUB(d, "E_X", NULL, FL("aor=b*"), D9(3), 60, true, true, NULL);
	evr_matcher_sync(d->m);
	const struct evr_event *ev = dev(&e, "E_X", NULL, "aor", "bob", NULL);
	EXPECT(d, ev, id, A | B | C | D);
	EXPECT(d, ev, id, B);
	EXPECT(d, ev, id, B);
	CHECK_EQ_INT(evr_matcher_reap(d->m, d->now), 3);
	memset(&st, 0, sizeof st);
	evr_matcher_get_stats(d->m, &st);
	CHECK_EQ_INT(st.once_reaped, 3);
	CHECK_EQ_INT(st.live, 1);
	struct snap sn;
	CHECK_EQ_INT(get_snap(d->m, id[0], &sn), -ENOENT);
	EXPECT(d, ev, id, B);
	/* a once subscription the event does not match stays armed */
	id[0] = DSUB(d, "E_X", NULL, FL("aor=alice"), D9(0), 60, true, false, NULL);
	EXPECT(d, ev, id, B);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "alice", NULL), id, A);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "alice", NULL), id, 0);
}

static void case_dup_attrs(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[3];
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=alice"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=*ar*l"), D9(2), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "alice", "AOR", "bob", NULL), id, A | B);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "x", "x", "y", "Aor", "carol", NULL), id, C);
}

static void case_multi_filter(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[2];
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob*", "domain=x.com"), D9(0), 60, false,
	             false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=*b*", "aor=*y", "domain=?.com"), D9(1), 60,
	             false, false, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bobby", "domain", "x.com", NULL), id, A | B);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bob", "domain", "x.com", NULL), id, A);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bobby", "domain", "y.org", NULL), id, 0);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bobby", NULL), id, 0);
}

static void case_patterns(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[7];
	id[0] = DSUB(d, "E_X", NULL, FL("aor=a\\*b*"), D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=\\[w\\]"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=[!a]*"), D9(2), 60, false, false, NULL);
	id[3] = DSUB(d, "E_X", NULL, FL("aor=*"), D9(3), 60, false, false, NULL);
	id[4] = DSUB(d, "E_X", NULL, FL("aor="), D9(4), 60, false, false, NULL);
	id[5] = DSUB(d, "E_X", NULL, FL("aor=a=b"), D9(5), 60, false, false, NULL);
	id[6] = DSUB(d, "E_X", NULL, FL("aor=u?er[0-9]*@*.com"), D9(6), 60, false, false,
	             NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "a*bc", NULL), id, A | D);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "axbc", NULL), id, D);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "[w]", NULL), id, B | C | D);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "", NULL), id, D | E);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "a=b", NULL), id, D | F);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "user1@x.com", NULL), id, C | D | G);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "user1@x.co", NULL), id, C | D);
	EXPECT(d, dev(&e, "E_X", NULL, "other", "user1@x.com", NULL), id, 0);
}

/* Complex globs whose rarest literal is the run they start or end with are
 * indexed by that run (as a prefix or suffix that proves nothing), the
 * others by a substring: each still matches exactly as fnmatch does. */
static void case_anchors(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[5];
	id[0] = DSUB(d, "E_X", NULL, FL("aor=user123456?@domain01.example.com"), D9(0), 60,
	             false, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=sip:user7654321@198.51.*:*"), D9(1), 60, false,
	             false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=*?@e[a-z]ample-domain.example.org"), D9(2), 60,
	             false, false, NULL);
	id[3] = DSUB(d, "E_X", NULL, FL("aor=*1234567@*.example.com"), D9(3), 60, false, false,
	             NULL);
	id[4] = DSUB(d, "E_X", NULL, FL("aor=user123456?@*"), D9(4), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	if (!strncmp(d->kind, "hybrid", 6)) {
		struct evr_matcher_stats st;
		evr_matcher_get_stats(d->m, &st);
		CHECK_EQ_INT(st.idx_anchored, 4);
		CHECK_EQ_INT(st.idx_infix, 1);
	}
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "user1234567@domain01.example.com", NULL), id,
	       A | D | E);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "user123456@domain01.example.com", NULL), id, 0);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "user1234560@domain01.example.co", NULL), id, E);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "sip:user7654321@198.51.100.7:5060", NULL), id, B);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "sip:user7654321@198.51.100.7", NULL), id, 0);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "x@example-domain.example.org", NULL), id, C);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "@example-domain.example.org", NULL), id, 0);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "zz1234567@b.example.com", NULL), id, D);
	/* removal releases the prefix/suffix lengths they used */
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[i]), 0);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "user1234567@domain01.example.com", NULL), id, 0);
	if (!strncmp(d->kind, "hybrid", 6)) {
		struct evr_matcher_stats st;
		evr_matcher_get_stats(d->m, &st);
		CHECK_EQ_INT(st.idx_anchored + st.idx_infix + st.idx_prefix + st.idx_suffix, 0);
	}
}

static void case_visibility(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[5] = {0};
	/* exact, prefix, suffix and no-filter: visible on return, no sync */
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=bo*"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, FL("aor=*ob"), D9(2), 60, false, false, NULL);
	id[3] = DSUB(d, "E_X", NULL, NOF, D9(3), 60, false, false, NULL);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bob", NULL), id, A | B | C | D);
	/* Hyperscan-indexed: visible after sync */
	id[4] = DSUB(d, "E_X", NULL, FL("aor=*o?b*"), D9(4), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "xoxbx", NULL), id, D | E);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "bob", NULL), id, A | B | C | D);
}

static void case_unsub(struct dctx *d)
{
	struct mg_event e;
	uint64_t id[5];
	id[0] = DSUB(d, "E_X", NULL, FL("aor=1"), D9(1), 60, false, false, NULL);
	id[1] = DSUB(d, "E_X", NULL, FL("aor=*2*"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "E_X", NULL, NOF, D9(1), 60, false, false, NULL);
	id[3] = DSUB(d, "E_X", NULL, NOF, D9(2), 60, false, false, NULL);
	id[4] = DSUB(d, "E_Y", NULL, NOF, D9(1), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "1", NULL), id, A | C | D);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_X", NULL, "udp:127.0.0.1:7"), 0);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_X", NULL, D9(1)), 3);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_X", NULL, D9(1)), 0);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_X", NULL, "bogus"), -EINVAL);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "1", NULL), id, D);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "x2x", NULL), id, D);
	EXPECT(d, dev(&e, "E_Y", NULL, NULL), id, E);
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[3]), 0);
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[3]), -ENOENT);
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, 987654321), -ENOENT);
	EXPECT(d, dev(&e, "E_X", NULL, "aor", "1", NULL), id, 0);
	CHECK_EQ_INT(live_count(d->m), 1);
	/* ids are unique and never reused */
	uint64_t n = DSUB(d, "E_X", NULL, FL("aor=1"), D9(1), 60, false, false, NULL);
	for (unsigned i = 0; i < 5; i++)
		CHECK(n != id[i]);
}

/*
 * Unsubscribe by event and destination (OpenSIPS' expire 0) finds its
 * subscriptions through the (event, destination) map: more of them than one
 * chunk (32), event names in any case, CUSTOM subclasses told apart, and the
 * same destination's other events and the event's other destinations kept.
 */
static void case_unsub_dest_many(struct dctx *d)
{
	char f[32];
	for (unsigned i = 0; i < 100; i++) {
		snprintf(f, sizeof(f), "aor=%u*", i);
		DSUB(d, i % 2 ? "E_X" : "e_x", NULL, FL(f), D9(5), 60, false, false, NULL);
	}
	DSUB(d, "E_Y", NULL, NOF, D9(5), 60, false, false, NULL);
	DSUB(d, "E_X", NULL, NOF, D9(6), 60, false, false, NULL);
	DSUB(d, "CUSTOM", "sofia::register", NOF, D9(5), 60, false, false, NULL);
	DSUB(d, "CUSTOM", "sofia::register", FL("a=1"), D9(5), 60, false, false, NULL);
	DSUB(d, "CUSTOM", "sofia::expire", NOF, D9(5), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	CHECK_EQ_INT(live_count(d->m), 105);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_X", NULL, D9(5)), 100);
	CHECK_EQ_INT(live_count(d->m), 5);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "CUSTOM", "SOFIA::REGISTER", D9(5)), 2);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "CUSTOM", "sofia::register", D9(5)), 0);
	CHECK_EQ_INT(live_count(d->m), 3);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_Y", NULL, D9(6)), 0);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_Y", NULL, D9(5)), 1);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "E_X", NULL, D9(6)), 1);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(d->m, "CUSTOM", "sofia::expire", D9(5)), 1);
	CHECK_EQ_INT(live_count(d->m), 0);
}

/*
 * Event names and subclasses are interned per matcher, shared by every
 * subscription that spells them the same and released with the last one
 * (a refcount off by one is a use-after-free the ASan run reports, or a
 * listing that shows another subscription's spelling).
 */
static void case_interned_names(struct dctx *d)
{
	struct mg_event e;
	struct snap sn;
	uint64_t id[4];
	id[0] = DSUB(d, "custom sofia::register", NULL, FL("aor=1"), D9(0), 60, false, false, NULL);
	id[1] = DSUB(d, "CUSTOM", "sofia::register", FL("aor=1"), D9(1), 60, false, false, NULL);
	id[2] = DSUB(d, "CUSTOM", "Sofia::Register", NOF, D9(2), 60, false, false, NULL);
	id[3] = DSUB(d, "custom", "sofia::register", NOF, D9(3), 60, false, false, NULL);
	evr_matcher_sync(d->m);
	EXPECT(d, dev(&e, "CUSTOM", "sofia::register", "aor", "1", NULL), id, A | B | C | D);
	/* the first of two subscriptions sharing "custom" goes: the second keeps
	 * its spelling, the others theirs */
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[0]), 0);
	CHECK(get_snap(d->m, id[3], &sn) == 0);
	CHECK_EQ_STR(sn.seltext, "custom sofia::register");
	CHECK(get_snap(d->m, id[1], &sn) == 0);
	CHECK_EQ_STR(sn.seltext, "CUSTOM sofia::register");
	CHECK(get_snap(d->m, id[2], &sn) == 0);
	CHECK_EQ_STR(sn.seltext, "CUSTOM Sofia::Register");
	EXPECT(d, dev(&e, "Custom", "SOFIA::register", "aor", "1", NULL), id, B | C | D);
	/* every holder of "custom" and of "sofia::register" gone: a new one
	 * interns them afresh */
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[3]), 0);
	CHECK_EQ_INT(evr_matcher_unsubscribe(d->m, id[1]), 0);
	/* let the released names be freed (offline: a barrier waits for
	 * grace periods, which an online caller would hold up) */
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	uint64_t n = DSUB(d, "custom", "sofia::register", NOF, D9(4), 60, false, false, NULL);
	CHECK(get_snap(d->m, n, &sn) == 0);
	CHECK_EQ_STR(sn.seltext, "custom sofia::register");
	CHECK(get_snap(d->m, id[2], &sn) == 0);
	CHECK_EQ_STR(sn.seltext, "CUSTOM Sofia::Register");
	evr_matcher_sync(d->m);
	uint64_t ids2[2] = {n, id[2]};
	EXPECT(d, dev(&e, "CUSTOM", "sofia::register", NULL), ids2, A | B);
}

typedef void (*dcase_fn)(struct dctx *d);

/* EVR_SUB_EXPIRE_NEVER: no clock reaches it, the reaper leaves it alone,
 * a refresh with a finite expire makes it mortal again. */
static void case_never(struct dctx *d)
{
	struct mg_event e;
	struct evr_sub_info info;
	uint64_t id[2];
	d->now = T0;
	id[0] = DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), EVR_SUB_EXPIRE_NEVER, false, false,
	             &info);
	CHECK(info.expires_ms == UINT64_MAX);
	id[1] = DSUB(d, "E_X", NULL, NOF, D9(1), 10, false, false, NULL);
	evr_matcher_sync(d->m);
	const struct evr_event *ev = dev(&e, "E_X", NULL, "aor", "bob", NULL);
	d->now = T0 + 1000ull * UINT32_MAX * 2; /* past any finite expire */
	EXPECT(d, ev, id, A);
	CHECK_EQ_INT(evr_matcher_reap(d->m, d->now), 1);
	CHECK_EQ_INT(live_count(d->m), 1);
	EXPECT(d, ev, id, A);
	DSUB(d, "E_X", NULL, FL("aor=bob"), D9(0), 5, false, false, &info);
	CHECK(info.refreshed);
	CHECK(info.expires_ms == d->now + 5000);
	d->now += 5000;
	EXPECT(d, ev, id, 0);
	CHECK_EQ_INT(evr_matcher_reap(d->m, d->now), 1);
	CHECK_EQ_INT(live_count(d->m), 0);
}

static void run_directed(enum evr_index_kind kind)
{
	static const struct {
		const char *name;
		dcase_fn fn;
	} cases[] = {
		{"strict_lenient", case_strict_lenient},
		{"all", case_all},
		{"custom", case_custom},
		{"case_insensitive", case_case_insensitive},
		{"expire", case_expire},
		{"refresh", case_refresh},
		{"expire0", case_expire0},
		{"invalid", case_invalid},
		{"once", case_once},
		{"dup_attrs", case_dup_attrs},
		{"multi_filter", case_multi_filter},
		{"patterns", case_patterns},
		{"anchors", case_anchors},
		{"visibility", case_visibility},
		{"unsub", case_unsub},
		{"unsub_dest_many", case_unsub_dest_many},
		{"never", case_never},
		{"interned_names", case_interned_names},
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char kname[64];
		struct dctx d;
		snprintf(kname, sizeof kname, "%s/%s",
		         kind == EVR_INDEX_HYBRID ? "hybrid" : "naive", cases[i].name);
		d.kind = kname;
		d.now = T0;
		d.m = mk_matcher(kind, &d.reader);
		unsigned before = evr_test_failures;
		cases[i].fn(&d);
		evr_matcher_destroy(d.m);
		if (evr_test_failures != before)
			fprintf(stderr, "directed %s: %u failed checks\n", kname,
			        evr_test_failures - before);
	}
}

/* ======================================================================
 * Differential run
 * ====================================================================== */

/* Logical subscription: the same request made to both matchers. */
struct lsub {
	struct mg_spec spec;
	uint64_t id[NM];        /* 0: never created in that matcher */
	uint64_t expires[NM];
	uint32_t seen[NM];      /* event stamp when last returned */
	uint32_t delivered[NM]; /* once: times returned */
	bool present[NM];       /* in the store (not removed/reaped) */
	bool fired[NM];         /* once: claimed */
	bool pending;           /* hybrid: Hyperscan-indexed, not synced yet */
	bool in_cand;
};

struct idmap {
	uint64_t *k;
	uint32_t *v;
	uint32_t cap, n;
};

static struct {
	struct evr_matcher *m[NM];
	int reader[NM];
	struct mg_rng rng;
	uint64_t now;
	struct lsub *l;
	uint32_t nl, capl;
	uint32_t *cand; /* logical subs present in at least one matcher */
	uint32_t ncand, capcand;
	struct idmap map[NM];
	uint32_t stamp;
	const struct evr_sub **out[NM];
	/* totals */
	uint64_t events, created, matches[NM], ops, syncs, refreshes, removals;
	uint64_t once_delivered[NM];
	uint64_t alive_sum, alive_samples, pending_skips;
	uint64_t diff_mismatch, oracle_err[NM], op_err, reports;
} T;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void map_put(struct idmap *m, uint64_t k, uint32_t v)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct idmap o = *m;
		m->cap = o.cap ? o.cap * 2 : 4096;
		m->k = calloc(m->cap, sizeof *m->k);
		m->v = calloc(m->cap, sizeof *m->v);
		if (!m->k || !m->v)
			exit(2);
		m->n = 0;
		for (uint32_t i = 0; i < o.cap; i++)
			if (o.k[i])
				map_put(m, o.k[i], o.v[i]);
		free(o.k);
		free(o.v);
	}
	uint32_t i = (uint32_t)(k * 0x9e3779b97f4a7c15ull >> 32) & (m->cap - 1);
	while (m->k[i] && m->k[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->k[i])
		m->n++;
	m->k[i] = k;
	m->v[i] = v;
}

static uint32_t map_get(const struct idmap *m, uint64_t k)
{
	if (!m->cap || !k)
		return NONE;
	uint32_t i = (uint32_t)(k * 0x9e3779b97f4a7c15ull >> 32) & (m->cap - 1);
	while (m->k[i]) {
		if (m->k[i] == k)
			return m->v[i];
		i = (i + 1) & (m->cap - 1);
	}
	return NONE;
}

static uint32_t lnew(const struct mg_spec *s)
{
	if (T.nl == T.capl) {
		T.capl = T.capl ? T.capl * 2 : 4096;
		T.l = xrealloc(T.l, T.capl * sizeof *T.l);
	}
	struct lsub *l = &T.l[T.nl];
	memset(l, 0, sizeof *l);
	l->spec = *s;
	return T.nl++;
}

static void cand_add(uint32_t L)
{
	if (T.l[L].in_cand)
		return;
	if (T.ncand == T.capcand) {
		T.capcand = T.capcand ? T.capcand * 2 : 4096;
		T.cand = xrealloc(T.cand, T.capcand * sizeof *T.cand);
	}
	T.cand[T.ncand++] = L;
	T.l[L].in_cand = true;
}

static void cand_compact(void)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < T.ncand; i++) {
		struct lsub *l = &T.l[T.cand[i]];
		if (l->present[0] || l->present[1])
			T.cand[j++] = T.cand[i];
		else
			l->in_cand = false;
	}
	T.ncand = j;
}

static bool alive(const struct lsub *l, unsigned m)
{
	return l->present[m] && T.now < l->expires[m] && !l->fired[m];
}

/* The two backends' stores legitimately differ on l (a once subscription
 * the naive fired, and maybe reaped, while the hybrid had it pending). */
static bool diverged(const struct lsub *l)
{
	return l->present[0] != l->present[1] || l->fired[0] != l->fired[1];
}

static bool any_diverged_ident(uint64_t ident)
{
	for (uint32_t i = 0; i < T.ncand; i++)
		if (T.l[T.cand[i]].spec.ident == ident && diverged(&T.l[T.cand[i]]))
			return true;
	return false;
}

static bool expired(const struct lsub *l, unsigned m)
{
	return T.now >= l->expires[m];
}

static bool spec_exact_same(const struct mg_spec *a, const struct mg_spec *b)
{
	if (strcmp(a->event, b->event) || a->subclass_arg != b->subclass_arg ||
	    (a->subclass_arg && strcmp(a->subclass, b->subclass)) || a->nf != b->nf ||
	    strcmp(a->dest, b->dest))
		return false;
	for (unsigned i = 0; i < a->nf; i++)
		if (strcmp(a->ftext[i], b->ftext[i]))
			return false;
	return true;
}

static void print_lsub(const char *tag, uint32_t L)
{
	const struct lsub *l = &T.l[L];
	fprintf(stderr, "    %s L%u: ", tag, L);
	mg_spec_print(stderr, &l->spec);
	fputc('\n', stderr);
	for (unsigned m = 0; m < NM; m++)
		fprintf(stderr,
		        "      %-6s id=%" PRIu64 " present=%d expires=%" PRIu64
		        " (now%+lld) fired=%d delivered=%u%s\n",
		        mname[m], l->id[m], l->present[m], l->expires[m],
		        (long long)T.now - (long long)l->expires[m], l->fired[m],
		        l->delivered[m], m == 0 && l->pending ? " pending-hs" : "");
}

static void op_error(const char *what)
{
	T.op_err++;
	if (T.reports++ < MAX_REPORTS * 3)
		fprintf(stderr, "OP ERROR (t=%" PRIu64 ", op #%" PRIu64 "): %s\n", T.now,
		        T.ops, what);
}

/* ---- resync after operations that remove an unknown set ---------------- */

enum rs_kind { RS_EXPIRE0, RS_DEST, RS_REAP };

struct rs_arg {
	const struct mg_spec *spec; /* RS_EXPIRE0 */
	const char *event, *subclass, *dest; /* RS_DEST */
	int ret;                             /* RS_DEST, RS_REAP */
};

static bool dest_must_remove(const struct lsub *l, const struct rs_arg *a)
{
	const struct mg_spec *s = &l->spec;
	if (strcmp(s->dest, a->dest) || strcasecmp(s->sel_name, a->event))
		return false;
	if (a->subclass)
		return s->sel == EVR_SEL_SUBCLASS && !strcmp(s->sel_sub, a->subclass);
	return s->sel == EVR_SEL_NAME;
}

static bool dest_may_remove(const struct lsub *l, const struct rs_arg *a)
{
	const struct mg_spec *s = &l->spec;
	if (dest_must_remove(l, a))
		return true;
	/* event without subclass: subclass subscriptions may go too */
	return !a->subclass && !strcmp(s->dest, a->dest) &&
	       !strcasecmp(s->sel_name, a->event);
}

static void resync(unsigned m, enum rs_kind k, const struct rs_arg *a)
{
	static const char *const kn[] = {"expire=0", "unsubscribe_dest", "reap"};
	uint32_t gone = 0;
	char msg[512];
	for (uint32_t i = 0; i < T.ncand; i++) {
		uint32_t L = T.cand[i];
		struct lsub *l = &T.l[L];
		struct snap sn;
		if (!l->present[m])
			continue;
		int rc = get_snap(T.m[m], l->id[m], &sn);
		bool ok;
		if (rc == 0) {
			switch (k) {
			case RS_EXPIRE0:
				ok = !(spec_exact_same(&l->spec, a->spec) && alive(l, m));
				break;
			case RS_DEST:
				ok = !dest_must_remove(l, a);
				break;
			default:
				ok = !expired(l, m) && !l->fired[m];
				break;
			}
			if (!ok) {
				snprintf(msg, sizeof msg, "[%s] %s left L%u in place",
				         mname[m], kn[k], L);
				op_error(msg);
				print_lsub("kept", L);
			}
			continue;
		}
		if (rc != -ENOENT) {
			snprintf(msg, sizeof msg, "[%s] evr_matcher_get rc=%d", mname[m], rc);
			op_error(msg);
		}
		l->present[m] = false;
		gone++;
		switch (k) {
		case RS_EXPIRE0:
			ok = l->spec.ident == a->spec->ident;
			break;
		case RS_DEST:
			ok = dest_may_remove(l, a);
			break;
		default:
			ok = expired(l, m) || l->fired[m];
			break;
		}
		if (!ok) {
			snprintf(msg, sizeof msg, "[%s] %s removed L%u it should not have",
			         mname[m], kn[k], L);
			op_error(msg);
			print_lsub("removed", L);
		}
	}
	if (k != RS_EXPIRE0 && (uint32_t)a->ret != gone) {
		snprintf(msg, sizeof msg, "[%s] %s returned %d but %u disappeared",
		         mname[m], kn[k], a->ret, gone);
		op_error(msg);
	}
}

/* ---- operations ------------------------------------------------------------ */
/*
 * A subscribe may drop a dead (expired, or fired once) subscription with the
 * same identity and create a fresh one instead of reviving it. Learn which,
 * and insist only that no live one was dropped.
 */
static void resync_ident(unsigned m, uint64_t ident, uint32_t keep)
{
	char msg[256];
	for (uint32_t i = 0; i < T.ncand; i++) {
		uint32_t L = T.cand[i];
		struct lsub *l = &T.l[L];
		struct snap sn;
		if (L == keep || !l->present[m] || l->spec.ident != ident)
			continue;
		if (get_snap(T.m[m], l->id[m], &sn) == 0)
			continue;
		l->present[m] = false;
		if (alive(l, m)) {
			snprintf(msg, sizeof msg, "[%s] subscribe dropped live L%u", mname[m], L);
			op_error(msg);
			print_lsub("dropped", L);
		}
	}
}


/* Subscribe s with expire in both; target = the logical subscription s is an
 * exact duplicate of (refresh / remove), or NONE for a new identity. */
static void op_subscribe(const struct mg_spec *s, uint32_t expire, uint32_t target)
{
	struct evr_sub_spec sp;
	const char *fp[MG_MAX_F];
	int rc[NM];
	struct evr_sub_info info[NM];
	char err[NM][256], msg[1024];
	mg_spec_to_sub(s, expire, &sp, fp);
	for (unsigned m = 0; m < NM; m++) {
		memset(&info[m], 0, sizeof info[m]);
		err[m][0] = '\0';
		rc[m] = evr_matcher_subscribe(T.m[m], &sp, T.now, &info[m], err[m],
		                              sizeof err[m]);
	}
	T.ops++;
	if (any_diverged_ident(s->ident))
		; /* per-backend model checks below still apply */
	else if (rc[0] != rc[1] ||
	    (rc[0] == 0 && (info[0].refreshed != info[1].refreshed ||
	                    info[0].removed != info[1].removed))) {
		snprintf(msg, sizeof msg,
		         "subscribe expire=%u differs: hybrid rc=%d refreshed=%d removed=%d "
		         "(%s) / naive rc=%d refreshed=%d removed=%d (%s)",
		         expire, rc[0], info[0].refreshed, info[0].removed, err[0], rc[1],
		         info[1].refreshed, info[1].removed, err[1]);
		op_error(msg);
	}
	if (expire == 0) {
		struct rs_arg a = {.spec = s};
		T.removals++;
		for (unsigned m = 0; m < NM; m++) {
			bool live = target != NONE && alive(&T.l[target], m);
			if (live && (rc[m] != 0 || !info[m].removed)) {
				snprintf(msg, sizeof msg,
				         "[%s] expire=0 of live L%u: rc=%d removed=%d err=%s",
				         mname[m], target, rc[m], info[m].removed, err[m]);
				op_error(msg);
			}
			resync(m, RS_EXPIRE0, &a);
		}
		return;
	}
	uint32_t L = NONE;
	for (unsigned m = 0; m < NM; m++) {
		uint64_t want_exp = T.now + (uint64_t)expire * 1000;
		if (rc[m] != 0) {
			snprintf(msg, sizeof msg, "[%s] valid subscription refused: rc=%d %s",
			         mname[m], rc[m], err[m]);
			op_error(msg);
			mg_spec_print(stderr, s);
			fputc('\n', stderr);
			continue;
		}
		if (info[m].expires_ms != want_exp || info[m].expire_s != expire) {
			snprintf(msg, sizeof msg,
			         "[%s] info.expires_ms=%" PRIu64 " expire_s=%u, want %" PRIu64
			         " %u",
			         mname[m], info[m].expires_ms, info[m].expire_s, want_exp, expire);
			op_error(msg);
		}
		if (info[m].refreshed) {
			uint32_t R = map_get(&T.map[m], info[m].id);
			T.refreshes++;
			if (R == NONE) {
				snprintf(msg, sizeof msg, "[%s] refreshed unknown id %" PRIu64,
				         mname[m], info[m].id);
				op_error(msg);
				continue;
			}
			if (!T.l[R].present[m] ||
			    (R != target && !spec_exact_same(&T.l[R].spec, s))) {
				snprintf(msg, sizeof msg,
				         "[%s] refresh hit L%u (present=%d), target %d", mname[m],
				         R, T.l[R].present[m], target == NONE ? -1 : (int)target);
				op_error(msg);
				print_lsub("hit", R);
				fprintf(stderr, "    request: ");
				mg_spec_print(stderr, s);
				fputc('\n', stderr);
			}
			if (T.l[R].fired[m]) {
				snprintf(msg, sizeof msg,
				         "[%s] refresh revived fired once L%u: it can never "
				         "notify again", mname[m], R);
				op_error(msg);
			}
			T.l[R].present[m] = true;
			T.l[R].expires[m] = want_exp;
			T.l[R].spec.fmt = s->fmt;
			cand_add(R);
			resync_ident(m, s->ident, R);
			continue;
		}
		if (target != NONE && alive(&T.l[target], m)) {
			snprintf(msg, sizeof msg,
			         "[%s] identical live subscription L%u not refreshed "
			         "(new id %" PRIu64 ")",
			         mname[m], target, info[m].id);
			op_error(msg);
			print_lsub("target", target);
		}
		if (map_get(&T.map[m], info[m].id) != NONE || info[m].id == 0) {
			snprintf(msg, sizeof msg, "[%s] new subscription reuses id %" PRIu64,
			         mname[m], info[m].id);
			op_error(msg);
			continue;
		}
		if (L == NONE) {
			L = lnew(s);
			T.created++;
		}
		struct lsub *l = &T.l[L];
		l->id[m] = info[m].id;
		l->present[m] = true;
		l->expires[m] = want_exp;
		map_put(&T.map[m], info[m].id, L);
		cand_add(L);
		resync_ident(m, s->ident, L);
		struct snap sn;
		if (get_snap(T.m[m], info[m].id, &sn) != 0) {
			op_error("evr_matcher_get of a new subscription failed");
			continue;
		}
		if (sn.expires_ms != want_exp || sn.once != s->once ||
		    sn.lenient != s->lenient || sn.format != s->fmt ||
		    sn.n_filters != s->nf || sn.sel != s->sel) {
			snprintf(msg, sizeof msg,
			         "[%s] stored subscription differs: expires=%" PRIu64
			         " once=%u lenient=%u fmt=%u nf=%u sel=%u",
			         mname[m], sn.expires_ms, sn.once, sn.lenient, sn.format,
			         sn.n_filters, sn.sel);
			op_error(msg);
			print_lsub("stored", L);
		}
		if (m == 0 && sn.idx_cls == EVR_GLOB_COMPLEX)
			l->pending = true;
	}
}

static uint32_t pick_cand(bool need_both)
{
	for (int tries = 0; tries < 20 && T.ncand; tries++) {
		uint32_t L = T.cand[mg_below(&T.rng, T.ncand)];
		const struct lsub *l = &T.l[L];
		if (need_both ? (l->present[0] && l->present[1])
		              : (l->present[0] || l->present[1]))
			return L;
	}
	return NONE;
}

static void op_new(void)
{
	struct mg_spec s;
	mg_gen_spec(&T.rng, &s);
	/* A live subscription with the same loose identity turns this into a
	 * refresh (exact duplicate), so the identity rule is never guessed. */
	uint32_t hit = NONE;
	for (uint32_t i = 0; i < T.ncand; i++) {
		const struct lsub *l = &T.l[T.cand[i]];
		if (l->spec.ident == s.ident && (hit == NONE || T.cand[i] > hit))
			hit = T.cand[i];
	}
	if (hit != NONE) {
		struct mg_spec d = T.l[hit].spec;
		d.expire = s.expire;
		d.fmt = s.fmt;
		op_subscribe(&d, d.expire, hit);
		return;
	}
	op_subscribe(&s, s.expire, NONE);
}

static void op_refresh(void)
{
	uint32_t L = pick_cand(true);
	if (L == NONE)
		return;
	struct mg_spec d = T.l[L].spec;
	static const uint32_t ex[] = {1, 5, 10, 30, 60, 600};
	d.expire = ex[mg_below(&T.rng, 6)];
	d.fmt = (uint8_t)mg_below(&T.rng, 3);
	op_subscribe(&d, d.expire, L);
}

static void op_remove0(void)
{
	uint32_t L = pick_cand(false);
	if (L == NONE)
		return;
	struct mg_spec d = T.l[L].spec;
	op_subscribe(&d, 0, L);
}

static void op_unsub_id(void)
{
	uint32_t L;
	char msg[256];
	if (T.nl == 0)
		return;
	L = mg_pct(&T.rng, 75) ? pick_cand(false) : mg_below(&T.rng, T.nl);
	if (L == NONE)
		return;
	struct lsub *l = &T.l[L];
	int rc[NM] = {0, 0};
	bool was[NM] = {l->present[0], l->present[1]};
	T.ops++;
	for (unsigned m = 0; m < NM; m++) {
		if (!l->id[m])
			continue;
		rc[m] = evr_matcher_unsubscribe(T.m[m], l->id[m]);
		bool ok = l->present[m] ? (rc[m] == 0 || (expired(l, m) && rc[m] == -ENOENT))
		                        : rc[m] == -ENOENT;
		if (!ok) {
			snprintf(msg, sizeof msg, "[%s] unsubscribe(L%u id %" PRIu64 ") = %d",
			         mname[m], L, l->id[m], rc[m]);
			op_error(msg);
			print_lsub("unsub", L);
		}
		l->present[m] = false;
	}
	/* (the backends' states may differ legitimately: a once subscription
	 * the naive fired and reaped while the hybrid had not compiled it yet) */
	if (l->id[0] && l->id[1] && rc[0] != rc[1] && was[0] == was[1]) {
		snprintf(msg, sizeof msg, "unsubscribe(L%u) differs: %d / %d", L, rc[0], rc[1]);
		op_error(msg);
		print_lsub("unsub", L);
	}
	T.removals++;
}

static void op_unsub_dest(void)
{
	uint32_t L = pick_cand(false);
	char msg[256];
	if (L == NONE || T.l[L].spec.sel == EVR_SEL_ALL)
		return;
	struct mg_spec s = T.l[L].spec;
	struct rs_arg a = {
		.event = s.sel_name,
		.subclass = s.sel == EVR_SEL_SUBCLASS ? s.sel_sub : NULL,
		.dest = s.dest,
	};
	int rc[NM];
	bool div = false;
	for (uint32_t i = 0; i < T.ncand; i++) {
		const struct lsub *c = &T.l[T.cand[i]];
		div |= dest_may_remove(c, &a) && diverged(c);
	}
	T.ops++;
	for (unsigned m = 0; m < NM; m++) {
		rc[m] = evr_matcher_unsubscribe_dest(T.m[m], a.event, a.subclass, a.dest);
		if (rc[m] < 0) {
			snprintf(msg, sizeof msg, "[%s] unsubscribe_dest(%s, %s, %s) = %d",
			         mname[m], a.event, a.subclass ? a.subclass : "NULL", a.dest,
			         rc[m]);
			op_error(msg);
			continue;
		}
		a.ret = rc[m];
		resync(m, RS_DEST, &a);
	}
	if (rc[0] != rc[1] && !div) {
		snprintf(msg, sizeof msg, "unsubscribe_dest(%s, %s, %s) differs: %d / %d",
		         a.event, a.subclass ? a.subclass : "NULL", a.dest, rc[0], rc[1]);
		op_error(msg);
	}
	T.removals++;
}

static void op_reap(void)
{
	T.ops++;
	for (unsigned m = 0; m < NM; m++) {
		struct rs_arg a = {.ret = (int)evr_matcher_reap(T.m[m], T.now)};
		resync(m, RS_REAP, &a);
	}
	cand_compact();
}

static void op_invalid(void)
{
	struct mg_spec s;
	mg_gen_spec(&T.rng, &s);
	const char *bad = mg_invalid_filter(mg_below(&T.rng, MG_N_INVALID));
	unsigned at = s.nf < MG_MAX_F ? s.nf++ : mg_below(&T.rng, s.nf);
	snprintf(s.ftext[at], sizeof s.ftext[at], "%s", bad);
	struct evr_sub_spec sp;
	const char *fp[MG_MAX_F];
	mg_spec_to_sub(&s, s.expire, &sp, fp);
	T.ops++;
	for (unsigned m = 0; m < NM; m++) {
		struct evr_sub_info info;
		char err[256] = "", msg[512];
		int rc = evr_matcher_subscribe(T.m[m], &sp, T.now, &info, err, sizeof err);
		if (rc != -EINVAL || !strstr(err, bad)) {
			snprintf(msg, sizeof msg, "[%s] invalid filter '%s': rc=%d err=\"%s\"",
			         mname[m], bad, rc, err);
			op_error(msg);
		}
	}
}

static void op_sync(void)
{
	for (unsigned m = 0; m < NM; m++)
		evr_matcher_sync(T.m[m]);
	for (uint32_t i = 0; i < T.ncand; i++)
		T.l[T.cand[i]].pending = false;
	T.syncs++;
}

static uint64_t alive_count(unsigned m)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < T.ncand; i++)
		n += alive(&T.l[T.cand[i]], m);
	return n;
}

static uint64_t present_count(unsigned m)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < T.ncand; i++)
		n += T.l[T.cand[i]].present[m];
	return n;
}

/* ---- events ------------------------------------------------------------------ */

static void gen_event(struct mg_event *e)
{
	struct mg_rng *r = &T.rng;
	uint32_t L = T.ncand && mg_pct(r, 55) ? pick_cand(false) : NONE;
	if (L != NONE) {
		const struct mg_spec *s = &T.l[L].spec;
		mg_ev_head_for(r, e, s);
		unsigned pre = mg_below(r, 4), post = mg_below(r, 4);
		for (unsigned i = 0; i < pre; i++)
			mg_ev_add_noise(r, e);
		mg_ev_add_for(r, e, s);
		for (unsigned i = 0; i < post; i++)
			mg_ev_add_noise(r, e);
		if (e->ev.n_attrs == 0)
			mg_ev_add_noise(r, e);
		return;
	}
	mg_ev_random_head(r, e);
	unsigned n = 1 + mg_below(r, 12);
	for (unsigned i = 0; i < n; i++) {
		uint32_t S = T.ncand && mg_pct(r, 40) ? T.cand[mg_below(r, T.ncand)] : NONE;
		if (S != NONE && T.l[S].spec.nf) {
			const struct mg_spec *s = &T.l[S].spec;
			unsigned f = mg_below(r, s->nf);
			char key[40], vbuf[MG_LIT_MAX * 3];
			struct mg_buf vb;
			mg_randcase(r, key, s->fkey[f], sizeof key);
			mg_buf_init(&vb, vbuf, sizeof vbuf);
			mg_pat_instance(r, &s->fpat[f], &vb);
			mg_ev_add(e, key, vbuf);
		} else {
			mg_ev_add_noise(r, e);
		}
	}
}

static void report_event(const struct evr_event *ev, const char *why, uint32_t L,
                         const bool *got, const bool *exp)
{
	if (T.reports++ >= MAX_REPORTS * 3)
		return;
	fprintf(stderr,
	        "%s at event #%" PRIu64 " (t=%" PRIu64 "): hybrid got=%d want=%d, "
	        "naive got=%d want=%d\n",
	        why, T.events, T.now, got[0], exp[0], got[1], exp[1]);
	mg_ev_print(stderr, ev);
	print_lsub("sub", L);
}

/*
 * Check one event's results (res[m][0..n[m]) for matcher m) against the
 * model. Events of a burst are checked in burst order: a `once`
 * subscription goes to the first event of the burst that matches it.
 */
static void check_event(const struct mg_event *ev, const struct evr_sub *const *res[NM],
                        const uint32_t n[NM])
{
	T.stamp++;
	T.events++;
	for (unsigned m = 0; m < NM; m++) {
		T.matches[m] += n[m];
		for (uint32_t i = 0; i < n[m] && i < OUT_CAP; i++) {
			const struct evr_sub *s = res[m][i];
			uint32_t L = map_get(&T.map[m], s->id);
			bool g[NM] = {false, false}, x[NM] = {false, false};
			g[m] = true;
			if (L == NONE) {
				char msg[128];
				snprintf(msg, sizeof msg, "[%s] match returned unknown id %" PRIu64,
				         mname[m], s->id);
				op_error(msg);
				continue;
			}
			struct lsub *l = &T.l[L];
			if (l->seen[m] == T.stamp) {
				T.oracle_err[m]++;
				report_event(&ev->ev, "DUPLICATE in one result", L, g, x);
			}
			l->seen[m] = T.stamp;
			if (!l->present[m]) {
				T.oracle_err[m]++;
				report_event(&ev->ev, "REMOVED subscription returned", L, g, x);
			}
			if (__atomic_load_n(&s->expires_ms, __ATOMIC_RELAXED) <= T.now) {
				T.oracle_err[m]++;
				report_event(&ev->ev, "EXPIRED subscription returned", L, g, x);
			}
		}
	}
	for (uint32_t i = 0; i < T.ncand; i++) {
		uint32_t L = T.cand[i];
		struct lsub *l = &T.l[L];
		bool got[NM], exp[NM], al[NM];
		for (unsigned m = 0; m < NM; m++) {
			got[m] = l->seen[m] == T.stamp;
			al[m] = alive(l, m);
		}
		if (!got[0] && !got[1] && !al[0] && !al[1])
			continue;
		bool base = mg_spec_match(&l->spec, &ev->ev);
		for (unsigned m = 0; m < NM; m++)
			exp[m] = al[m] && base;
		if (got[1] != exp[1]) {
			T.oracle_err[1]++;
			report_event(&ev->ev, "ORACLE MISMATCH (naive)", L, got, exp);
		}
		if (got[0] != exp[0] && l->pending && exp[0])
			T.pending_skips++;
		if (got[0] != exp[0] && !(l->pending && exp[0])) {
			T.oracle_err[0]++;
			report_event(&ev->ev, "ORACLE MISMATCH (hybrid)", L, got, exp);
		}
		if (got[0] != got[1] && !(l->pending && !got[0]) && al[0] == al[1]) {
			T.diff_mismatch++;
			report_event(&ev->ev, "DIFF MISMATCH hybrid vs naive", L, got, exp);
		}
		for (unsigned m = 0; m < NM; m++) {
			if (got[m] && l->spec.once) {
				l->fired[m] = true;
				l->delivered[m]++;
				T.once_delivered[m]++;
			}
		}
	}
}

/*
 * A burst of k events (1 = the single-event API) through both matchers,
 * each with the burst API as the dataplane calls it, then checked event by
 * event in burst order.
 */
static void run_burst(unsigned k)
{
	static struct mg_event ev[EVR_MATCH_BURST_MAX];
	const struct evr_event *evs[EVR_MATCH_BURST_MAX];
	const struct evr_sub *const *res[NM];
	uint32_t n[NM], total[NM];
	struct evr_match_burst b[NM];

	for (unsigned i = 0; i < k; i++) {
		gen_event(&ev[i]);
		evs[i] = &ev[i].ev;
	}
	for (unsigned m = 0; m < NM; m++) {
		struct evr_match_stats st;
		memset(&st, 0, sizeof st);
		if (k == 1) {
			total[m] = evr_matcher_match(T.m[m], (unsigned)T.reader[m], evs[0], T.now,
			                             T.out[m], OUT_CAP, &st);
			b[m].first[0] = 0;
			b[m].first[1] = total[m];
		} else {
			b[m] = (struct evr_match_burst){.subs = T.out[m],
			                                .cap = OUT_CAP * EVR_MATCH_BURST_MAX,
			                                .per_event_cap = OUT_CAP};
			total[m] = evr_matcher_match_burst(T.m[m], (unsigned)T.reader[m], evs, k,
			                                   T.now, &b[m], &st);
		}
		bool bad_first = b[m].first[0] != 0 || b[m].first[k] != total[m];
		for (unsigned i = 0; i < k; i++)
			bad_first |= b[m].first[i] > b[m].first[i + 1];
		if (st.overflow || st.hs_errors || st.events != k || st.matches != total[m] ||
		    bad_first) {
			char msg[256];
			snprintf(msg, sizeof msg,
			         "[%s] match stats: burst=%u n=%u events=%" PRIu64 " matches=%" PRIu64
			         " overflow=%" PRIu64 " hs_errors=%" PRIu64 " first[] ordered=%d",
			         mname[m], k, total[m], st.events, st.matches, st.overflow,
			         st.hs_errors, !bad_first);
			op_error(msg);
			return;
		}
	}
	for (unsigned i = 0; i < k; i++) {
		for (unsigned m = 0; m < NM; m++) {
			res[m] = T.out[m] + b[m].first[i];
			n[m] = b[m].first[i + 1] - b[m].first[i];
		}
		check_event(&ev[i], res, n);
	}
	urcu_qsbr_quiescent_state();
}

static void run_random(uint64_t seed, uint64_t n_events)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&T, 0, sizeof T);
	T.rng.s = seed;
	T.now = T0;
	T.m[0] = mk_matcher(EVR_INDEX_HYBRID, &T.reader[0]);
	T.m[1] = mk_matcher(EVR_INDEX_NAIVE, &T.reader[1]);
	for (unsigned m = 0; m < NM; m++) {
		T.out[m] = calloc((size_t)OUT_CAP * EVR_MATCH_BURST_MAX, sizeof *T.out[m]);
		if (!T.out[m])
			exit(2);
	}
	const uint64_t target_live = mg_env_u64("EVR_TEST_LIVE", 1000);
	for (uint64_t i = 0; i < target_live * 2 / 3; i++)
		op_new();
	op_sync();

	while (T.events < n_events) {
		uint64_t live = alive_count(0);
		T.alive_sum += live;
		T.alive_samples++;
		unsigned nops = live < target_live ? 8 + mg_below(&T.rng, 40)
		                                   : mg_below(&T.rng, 12);
		for (unsigned i = 0; i < nops; i++) {
			unsigned k = mg_below(&T.rng, 100);
			unsigned w_new = live < target_live ? 55 : 25;
			if (k < w_new)
				op_new();
			else if (k < w_new + 12)
				op_refresh();
			else if (k < w_new + 18)
				op_remove0();
			else if (k < w_new + 36)
				op_unsub_id();
			else if (k < w_new + 39)
				op_unsub_dest();
			else if (k < w_new + 42)
				op_invalid();
			else if (k < w_new + 47)
				op_reap();
			else
				T.now += mg_below(&T.rng, 3000);
		}
		if (mg_pct(&T.rng, 50))
			op_sync();
		unsigned nev = 50 + mg_below(&T.rng, 200);
		for (unsigned i = 0; i < nev && T.events < n_events;) {
			/* half the rounds one event at a time, half in bursts of
			 * 2..32 sharing one clock, as a worker's burst does */
			unsigned k = mg_pct(&T.rng, 50) ? 1 : 2 + mg_below(&T.rng, 31);
			if (k > n_events - T.events)
				k = (unsigned)(n_events - T.events);
			T.now += mg_below(&T.rng, 4);
			run_burst(k);
			i += k;
		}
		if (mg_pct(&T.rng, 2))
			T.now += 1000 + mg_below(&T.rng, 10000);
		if (mg_pct(&T.rng, 2)) {
			/* store size agrees with the model */
			op_reap();
			for (unsigned m = 0; m < NM; m++) {
				uint64_t lc = live_count(T.m[m]), pc = present_count(m);
				if (lc != pc) {
					char msg[128];
					snprintf(msg, sizeof msg,
					         "[%s] stats.live=%" PRIu64 " but model has %" PRIu64,
					         mname[m], lc, pc);
					op_error(msg);
				}
			}
		}
	}
	struct evr_matcher_stats hs;
	memset(&hs, 0, sizeof hs);
	evr_matcher_get_stats(T.m[0], &hs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("differential: seed=0x%" PRIx64 " events=%" PRIu64
	       " subscriptions_created=%" PRIu64 " ops=%" PRIu64 " refreshes=%" PRIu64
	       " removals=%" PRIu64 " syncs=%" PRIu64 "\n",
	       seed, T.events, T.created, T.ops, T.refreshes, T.removals, T.syncs);
	printf("differential: matches hybrid=%" PRIu64 " naive=%" PRIu64
	       " once_delivered hybrid=%" PRIu64 " naive=%" PRIu64 " live_end=%" PRIu64
	       " hs_compiles=%" PRIu64 " sim_time=%" PRIu64 "s\n",
	       T.matches[0], T.matches[1], T.once_delivered[0], T.once_delivered[1],
	       present_count(0), hs.hs_compiles, (T.now - T0) / 1000);
	printf("differential: avg_alive=%" PRIu64 " hybrid_pending_excused=%" PRIu64 "\n",
	       T.alive_samples ? T.alive_sum / T.alive_samples : 0, T.pending_skips);
	printf("differential: mismatches=%" PRIu64 " oracle_errors hybrid=%" PRIu64
	       " naive=%" PRIu64 " op_errors=%" PRIu64 " (%.1fs)\n",
	       T.diff_mismatch, T.oracle_err[0], T.oracle_err[1], T.op_err, secs);
	CHECK_EQ_INT(T.diff_mismatch, 0);
	CHECK_EQ_INT(T.oracle_err[0], 0);
	CHECK_EQ_INT(T.oracle_err[1], 0);
	CHECK_EQ_INT(T.op_err, 0);
	CHECK_EQ_INT(hs.hs_compile_errors, 0);
	CHECK(T.matches[1] > n_events / 4); /* the generator does hit */

	for (unsigned m = 0; m < NM; m++) {
		evr_matcher_destroy(T.m[m]);
		free(T.out[m]);
		free(T.map[m].k);
		free(T.map[m].v);
	}
	free(T.l);
	free(T.cand);
}

/* evr_hash_lc: ASCII case folds to one hash at every length and alignment
 * (the word-at-a-time tail and body), anything else keeps names apart. */
static void test_hash_lc(void)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.:@[`{~";
	char a[80], b[80];
	uint64_t x = 0x1234567;
	unsigned collisions = 0;

	for (unsigned len = 0; len < 64; len++) {
		for (unsigned t = 0; t < 200; t++) {
			for (unsigned i = 0; i < len; i++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				a[i + 1] = alpha[(x >> 33) % (sizeof(alpha) - 1)];
				b[i] = (char)((x >> 20) & 1 && a[i + 1] >= 'a' && a[i + 1] <= 'z'
				                      ? a[i + 1] - 32 : a[i + 1]);
			}
			/* a is read at an odd address, b at an even one */
			CHECK(evr_hash_lc(a + 1, len) == evr_hash_lc(b, len));
			if (len) {
				b[len - 1] ^= 0x40; /* not a case flip: '0'->'p', 'a'->'!' ... */
				collisions += evr_hash_lc(a + 1, len) == evr_hash_lc(b, len);
			}
		}
		CHECK(evr_hash_lc(a + 1, len) != evr_hash_lc(a + 1, len + 1));
	}
	CHECK_EQ_INT(collisions, 0);
	CHECK(evr_hash_lc("Call-ID", 7) == evr_hash_lc("call-id", 7));
	CHECK(evr_hash_lc("@", 1) != evr_hash_lc("`", 1)); /* 0x40 vs 0x60: not letters */
	CHECK(evr_hash_lc("[", 1) != evr_hash_lc("{", 1));
	CHECK(evr_hash_lc("\xc4", 1) != evr_hash_lc("\xe4", 1)); /* bytes >= 0x80 as they are */
}

int main(void)
{
	uint64_t seed = mg_env_u64("EVR_TEST_SEED", 0x5eed2024);
	uint64_t n_events = mg_env_u64("EVR_TEST_EVENTS", 100000);
	setvbuf(stdout, NULL, _IOLBF, 0);
	urcu_qsbr_register_thread();
	test_hash_lc();
	if (mg_env_u64("EVR_TEST_DIRECTED", 1)) {
		run_directed(EVR_INDEX_HYBRID);
		run_directed(EVR_INDEX_NAIVE);
	}
	run_random(seed, n_events);
	urcu_qsbr_barrier();
	urcu_qsbr_unregister_thread();
	EVR_TEST_DONE();
}
