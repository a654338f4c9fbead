/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matcher under concurrency (liburcu QSBR), background thread on, real
 * clock (evr_now_ms: the background reaper uses it).
 *
 * Phase "churn" (per backend): two reader threads match a rotating set of
 * events in a tight loop (one quiescent state per turn) while a writer
 * thread subscribes, unsubscribes (by id, by expire=0, by destination),
 * refreshes, syncs and reaps exact, prefix, suffix, no-filter, lenient and
 * Hyperscan-indexed subscriptions on the same keys the events use; short
 * expiries make the background reaper remove them too. Bounded by time and
 * operation count. Readers assert, for every match:
 *   - removal: no returned subscription had its removal call return before
 *     the match started. The writer, after a removal call returns, stores a
 *     fresh sequence number s into removed_seq[k] and then into done_seq
 *     (both release). The reader loads G = done_seq (acquire) before calling
 *     match and, for each returned subscription k, loads removed_seq[k]
 *     (acquire) after: s != 0 && s <= G means the writer's removal had
 *     returned before G was published, hence before the match started;
 *     s > G or s == 0 is a removal racing with the match (allowed);
 *   - expiry: no returned subscription is expired at the now_ms passed
 *     (refresh only moves expires_ms forward, so a later load is safe);
 *   - liveness: the permanent subscriptions (created and synced before the
 *     phase, never removed, expiring in a day) that the event matches by the
 *     reference predicate (matcher_gen.h, fnmatch(3)) are all returned;
 *   - no duplicates in one result, no overflow, no Hyperscan error.
 *   ASan/UBSan (CI) catch use-after-free of what readers dereference
 *   (destination text, filter text) after the grace-period frees.
 *
 * Phase "once" (per backend): rounds of K once-subscriptions (exact, prefix,
 * Hyperscan, lenient), each round synced; two readers released together by a
 * barrier match the same K events (in opposite orders, twice each). Every
 * once-subscription an event matches must be delivered exactly once over
 * both readers. For the hybrid, a production-sized Hyperscan base (3000
 * patterns on the same key, never matching) makes merges slow, so deltas
 * published during a merge pile up as they would under a burst of
 * subscriptions.
 *
 * Phase "burst" (hybrid): a burst of Hyperscan subscriptions, each synced,
 * on a key with a large base, so deltas are published while merges run;
 * each must match right after its sync and all of them at the end.
 *
 * A watchdog (alarm) ends the program with a message if anything hangs.
 * Environment: EVR_TEST_SEED, EVR_TEST_RCU_MS (churn duration per backend,
 * default 3000), EVR_TEST_RCU_OPS (writer op cap, default 200000),
 * EVR_TEST_RCU_BALLAST (Hyperscan base size in the once phase, default 3000).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "evr_test.h"
#include "matcher_gen.h"

#define N_READERS 2
#define OUT_CAP 4096u
#define MAX_CHURN (1u << 18)
#define MAX_LIVE_CHURN 2500u
#define N_J 16u        /* distinct "perm<j>" values */
#define N_EVENTS 64u   /* rotating reader events */
#define MAX_PERM 128u
#define ONCE_K 16u     /* once-subscriptions per round */
#define MAX_PRINT 10

/* ---- watchdog ---------------------------------------------------------- */

static const char *volatile wd_phase = "setup";

static void wd_fire(int sig)
{
	(void)sig;
	static const char a[] = "test_matcher_rcu: WATCHDOG: timed out in phase ";
	const char *p = wd_phase;
	ssize_t r = write(2, a, sizeof a - 1);
	r = write(2, p, strlen(p));
	r = write(2, "\n", 1);
	(void)r;
	_exit(3);
}

static void wd_arm(const char *phase, unsigned secs)
{
	wd_phase = phase;
	alarm(secs);
}

/* ---- destinations encode what a subscription is --------------------------- */

enum dkind { D_OTHER = 0, D_PERM, D_CHURN, D_ONCE };

static void churn_dest(uint32_t k, char *out, size_t cap)
{
	snprintf(out, cap, "udp:127.%u.%u.%u:9000", (k >> 16) & 255, (k >> 8) & 255,
	         k & 255);
}

static void perm_dest(uint32_t p, char *out, size_t cap)
{
	snprintf(out, cap, "udp:10.0.%u.%u:7000", (p >> 8) & 255, p & 255);
}

static void once_dest(uint32_t i, char *out, size_t cap)
{
	snprintf(out, cap, "udp:10.2.%u.%u:%u", (i >> 8) & 255, i & 255,
	         8000 + (i >> 16));
}

static enum dkind dest_parse(const char *t, uint32_t *idx)
{
	unsigned a, b, c, d, port;
	if (sscanf(t, "udp:%u.%u.%u.%u:%u", &a, &b, &c, &d, &port) != 5)
		return D_OTHER;
	if (a == 127 && port == 9000) {
		*idx = b << 16 | c << 8 | d;
		return D_CHURN;
	}
	if (a == 10 && b == 0 && port == 7000) {
		*idx = c << 8 | d;
		return D_PERM;
	}
	if (a == 10 && b == 2 && port >= 8000) {
		*idx = (port - 8000) << 16 | c << 8 | d;
		return D_ONCE;
	}
	return D_OTHER;
}

/* ---- shared state --------------------------------------------------------- */

struct reader_res {
	uint64_t iters, matches, churn_seen, late_removals, events_with_perm;
	uint64_t viol_removed, viol_expired, viol_missed, viol_dup, viol_other;
};

static struct {
	struct evr_matcher *m;
	const char *kind;
	uint64_t seed;
	/* permanent subscriptions and the events the readers rotate over */
	struct mg_spec perm[MAX_PERM];
	uint32_t n_perm;
	struct mg_event ev[N_EVENTS];
	uint64_t expect[N_EVENTS][MAX_PERM / 64]; /* permanent subs each matches */
	/* churn */
	uint64_t removed_seq[MAX_CHURN]; /* atomic */
	uint64_t done_seq;               /* atomic */
	int stop;                        /* atomic */
	uint64_t deadline_ms;
	int reader_idx[N_READERS];
	struct reader_res res[N_READERS];
	int printed; /* atomic */
	/* once phase */
	pthread_barrier_t bar;
	uint32_t once_round, once_base; /* set by main before each round */
	struct mg_event once_ev[ONCE_K];
	uint32_t once_deliv[ONCE_K];    /* atomic */
	uint64_t once_errors;           /* atomic (readers) */
} S;

static bool should_print(void)
{
	return __atomic_fetch_add(&S.printed, 1, __ATOMIC_RELAXED) < MAX_PRINT;
}

static struct evr_matcher *mk(enum evr_index_kind kind)
{
	struct evr_matcher_conf c;
	evr_matcher_conf_default(&c);
	c.index = kind;
	c.no_background = false;
	c.hs_delta_max = 8;  /* many deltas and merges under churn */
	c.hs_max_deltas = 2;
	c.reap_interval_ms = 10;
	struct evr_matcher *m = evr_matcher_create(&c);
	if (!m) {
		fprintf(stderr, "evr_matcher_create: %s\n", strerror(errno));
		exit(2);
	}
	return m;
}

static int subscribe_spec(const struct mg_spec *s, uint32_t expire,
                          struct evr_sub_info *info)
{
	struct evr_sub_spec sp;
	const char *fp[MG_MAX_F];
	char err[256] = "";
	mg_spec_to_sub(s, expire, &sp, fp);
	memset(info, 0, sizeof *info);
	int rc = evr_matcher_subscribe(S.m, &sp, evr_now_ms(), info, err, sizeof err);
	if (rc != 0 && !(expire == 0 && rc == -ENOENT)) {
		fprintf(stderr, "[%s] subscribe rc=%d err=%s: ", S.kind, rc, err);
		mg_spec_print(stderr, s);
		fputc('\n', stderr);
	}
	return rc;
}

/* Spec with one filter (or none), all fields as given. */
static void spec1(struct mg_spec *s, const char *event, const char *f1,
                  const char *f2, const char *dest, bool lenient, bool once)
{
	memset(s, 0, sizeof *s);
	mg_spec_set_selector(s, strcasecmp(event, "ALL") ? EVR_SEL_NAME : EVR_SEL_ALL,
	                     event, NULL, 2);
	const char *f[2] = {f1, f2};
	for (unsigned i = 0; i < 2 && f[i]; i++) {
		const char *eq = strchr(f[i], '=');
		char key[40];
		struct mg_pat p;
		memset(&p, 0, sizeof p);
		snprintf(key, sizeof key, "%.*s", (int)(eq - f[i]), f[i]);
		snprintf(p.pat, sizeof p.pat, "%s", eq + 1);
		p.kind = MG_PAT_TEMPLATE;
		mg_spec_set_filter(s, i, key, &p);
		s->nf = i + 1;
	}
	snprintf(s->dest, sizeof s->dest, "%s", dest);
	s->fmt = EVR_FMT_JSONRPC;
	s->expire = 86400;
	s->lenient = lenient;
	s->once = once;
	s->ident = mg_spec_ident(s);
}

/* ---- permanent subscriptions and reader events ------------------------------ */

static void setup_perm(void)
{
	char d[64], f[128], f2[128];
	uint32_t p = 0;
	S.n_perm = 0;
	for (uint32_t j = 0; j < N_J; j++) {
		static const char *const pats[] = {
			"aor=perm%u@d.example", /* exact */
			"aor=perm%u@*",          /* prefix */
			"aor=*m%u@d.example",    /* suffix */
			"aor=*rm%u@d?example",   /* Hyperscan */
			"aor=p[e]rm%u@*",        /* Hyperscan */
			"AOR=perm%u*",           /* prefix, with a second filter */
		};
		for (unsigned i = 0; i < sizeof pats / sizeof pats[0]; i++) {
			snprintf(f, sizeof f, pats[i], j);
			perm_dest(p, d, sizeof d);
			spec1(&S.perm[p++], i == 5 ? "e_perm" : "E_PERM", f,
			      i == 5 ? "user=u*" : NULL, d, false, false);
		}
	}
	perm_dest(p, d, sizeof d);
	spec1(&S.perm[p++], "ALL", NULL, NULL, d, false, false);
	perm_dest(p, d, sizeof d);
	spec1(&S.perm[p++], "E_PERM", "group=1", NULL, d, true, false);
	perm_dest(p, d, sizeof d);
	snprintf(f2, sizeof f2, "user=*[13579]");
	spec1(&S.perm[p++], "E_PERM", f2, NULL, d, false, false);
	S.n_perm = p;

	for (uint32_t p2 = 0; p2 < S.n_perm; p2++) {
		struct evr_sub_info info;
		if (subscribe_spec(&S.perm[p2], S.perm[p2].expire, &info) != 0 ||
		    info.refreshed) {
			fprintf(stderr, "[%s] permanent subscription %u failed\n", S.kind, p2);
			exit(2);
		}
	}
	evr_matcher_sync(S.m);

	for (uint32_t i = 0; i < N_EVENTS; i++) {
		struct mg_event *e = &S.ev[i];
		uint32_t j = i % N_J, v = i / N_J;
		char aor[64], user[32];
		snprintf(aor, sizeof aor, "perm%u@d.example", j);
		snprintf(user, sizeof user, "u%u", j);
		switch (v) {
		case 0:
			mg_ev_init(e, "E_PERM", NULL);
			mg_ev_add(e, "aor", aor);
			mg_ev_add(e, "user", user);
			break;
		case 1:
			mg_ev_init(e, "e_perm", NULL);
			mg_ev_add(e, "Core-UUID", "x");
			mg_ev_add(e, "AOR", aor);
			mg_ev_add(e, "group", "2");
			break;
		case 2:
			mg_ev_init(e, "E_PERM", NULL);
			mg_ev_add(e, "aor", "decoy@d.example");
			mg_ev_add(e, "Aor", aor);
			mg_ev_add(e, "user", user);
			mg_ev_add(e, "group", "1");
			break;
		default:
			mg_ev_init(e, "E_CHURN", NULL);
			mg_ev_add(e, "aor", aor);
			mg_ev_add(e, "user", user);
			break;
		}
		memset(S.expect[i], 0, sizeof S.expect[i]);
		for (uint32_t p2 = 0; p2 < S.n_perm; p2++)
			if (mg_spec_match(&S.perm[p2], &e->ev))
				S.expect[i][p2 / 64] |= UINT64_C(1) << (p2 % 64);
	}
}

/* ---- churn: writer ------------------------------------------------------------ */

/* The subscription with destination k (deterministic from seed and k). */
static void churn_spec(uint32_t k, struct mg_spec *s)
{
	struct mg_rng r = {S.seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (k + 1))};
	char d[64], f[128];
	uint32_t j = mg_below(&r, N_J);
	unsigned kind = mg_below(&r, 8);
	static const char *const pats[] = {
		"aor=perm%u@d.example", "aor=perm%u@*", "aor=*m%u@d.example",
		"aor=*rm%u@*",          "aor=p?rm%u@d.*", "aor=[p]erm%u*",
	};
	churn_dest(k, d, sizeof d);
	if (kind < 6) {
		snprintf(f, sizeof f, pats[kind], j);
		spec1(s, mg_pct(&r, 75) ? "E_PERM" : "E_CHURN", f,
		      mg_pct(&r, 20) ? "user=u*" : NULL, d, mg_pct(&r, 15), false);
	} else if (kind == 6) {
		spec1(s, "E_CHURN", NULL, NULL, d, false, false);
	} else {
		snprintf(f, sizeof f, "user=u%u", j);
		spec1(s, "E_PERM", "nokey=*", f, d, true, false);
	}
	static const uint32_t ex[] = {1, 1, 2, 30};
	s->expire = ex[k % 4];
}

struct wstats {
	uint64_t ops, subs, refreshes, unsubs, expire0, unsub_dest, reaps, syncs, reaped;
	uint64_t errors;
};

/* Writer-side bookkeeping for churn subscriptions. */
static uint64_t *c_id;   /* current id of k (0 = none) */
static uint32_t *c_live; /* k of live (not removed by us) subscriptions */
static uint32_t c_nlive, c_next;
static uint64_t c_seq;

static void mark_removed(uint32_t slot)
{
	uint32_t k = c_live[slot];
	uint64_t s = ++c_seq;
	__atomic_store_n(&S.removed_seq[k], s, __ATOMIC_RELEASE);
	__atomic_store_n(&S.done_seq, s, __ATOMIC_RELEASE);
	c_live[slot] = c_live[--c_nlive];
}

static void *writer_main(void *arg)
{
	struct wstats *w = arg;
	struct mg_rng r = {S.seed ^ 0x77};
	const uint64_t max_ops = mg_env_u64("EVR_TEST_RCU_OPS", 200000);
	urcu_qsbr_register_thread();
	while (w->ops < max_ops && evr_now_ms() < S.deadline_ms) {
		struct mg_spec s;
		struct evr_sub_info info;
		unsigned op = mg_below(&r, 100);
		if (c_nlive >= MAX_LIVE_CHURN && op < 45)
			op = 45 + mg_below(&r, 55);
		if (c_nlive == 0 || c_next >= MAX_CHURN)
			op = c_next < MAX_CHURN ? 0 : 99;
		w->ops++;
		if (op < 45) { /* new */
			uint32_t k = c_next++;
			churn_spec(k, &s);
			if (subscribe_spec(&s, s.expire, &info) != 0 || info.refreshed) {
				w->errors++;
				continue;
			}
			c_id[k] = info.id;
			c_live[c_nlive++] = k;
			w->subs++;
		} else if (op < 60) { /* refresh */
			uint32_t k = c_live[mg_below(&r, c_nlive)];
			churn_spec(k, &s);
			if (subscribe_spec(&s, s.expire, &info) != 0) {
				w->errors++;
				continue;
			}
			/* an expired one may have been reaped: then it is new */
			c_id[k] = info.id;
			w->refreshes++;
		} else if (op < 82) { /* unsubscribe by id */
			uint32_t slot = mg_below(&r, c_nlive);
			int rc = evr_matcher_unsubscribe(S.m, c_id[c_live[slot]]);
			if (rc != 0 && rc != -ENOENT) /* -ENOENT: reaped after expiry */
				w->errors++;
			mark_removed(slot);
			w->unsubs++;
		} else if (op < 88) { /* expire = 0 */
			uint32_t slot = mg_below(&r, c_nlive);
			churn_spec(c_live[slot], &s);
			int rc = subscribe_spec(&s, 0, &info);
			if (rc != 0 && rc != -ENOENT)
				w->errors++;
			mark_removed(slot);
			w->expire0++;
		} else if (op < 91) { /* by destination */
			uint32_t slot = mg_below(&r, c_nlive);
			churn_spec(c_live[slot], &s);
			int rc = evr_matcher_unsubscribe_dest(S.m, s.sel_name, NULL, s.dest);
			if (rc < 0 || rc > 1)
				w->errors++;
			mark_removed(slot);
			w->unsub_dest++;
		} else if (op < 99 || mg_below(&r, 4)) {
			w->reaped += evr_matcher_reap(S.m, evr_now_ms());
			w->reaps++;
		} else { /* rare: each waits for a compile */
			evr_matcher_sync(S.m);
			w->syncs++;
		}
		urcu_qsbr_quiescent_state();
	}
	__atomic_store_n(&S.stop, 1, __ATOMIC_RELEASE);
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* ---- churn: readers -------------------------------------------------------------- */

static void *reader_main(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	struct reader_res *res = &S.res[me];
	const struct evr_sub **out = calloc(OUT_CAP, sizeof *out);
	const uint64_t hard_stop = S.deadline_ms + 5000;
	uint32_t i = me * 7;
	if (!out)
		exit(2);
	urcu_qsbr_register_thread();
	while (!__atomic_load_n(&S.stop, __ATOMIC_ACQUIRE)) {
		struct evr_match_stats st;
		uint64_t found[MAX_PERM / 64] = {0};
		urcu_qsbr_quiescent_state();
		uint64_t G = __atomic_load_n(&S.done_seq, __ATOMIC_ACQUIRE);
		uint64_t now = evr_now_ms();
		if (now > hard_stop)
			break; /* the writer is stuck; the watchdog reports it */
		i = (i + 1) % N_EVENTS;
		const struct evr_event *ev = &S.ev[i].ev;
		memset(&st, 0, sizeof st);
		uint32_t n = evr_matcher_match(S.m, (unsigned)S.reader_idx[me], ev, now,
		                               out, OUT_CAP, &st);
		res->iters++;
		res->matches += n;
		if (st.overflow || st.hs_errors || n > OUT_CAP) {
			res->viol_other++;
			if (should_print())
				fprintf(stderr,
				        "[%s] reader %u: n=%u overflow=%" PRIu64
				        " hs_errors=%" PRIu64 "\n",
				        S.kind, me, n, st.overflow, st.hs_errors);
			continue;
		}
		for (uint32_t a = 0; a < n; a++) {
			const struct evr_sub *s = out[a];
			uint32_t idx = 0;
			/* touch what a reader would use: dest and filter text */
			enum dkind dk = dest_parse(s->dest->text, &idx);
			for (uint32_t f = 0; f < s->n_filters; f++)
				if (strlen(s->filters[f].text) == 0)
					res->viol_other++;
			for (uint32_t b = 0; b < a; b++) {
				if (out[b] == s || out[b]->id == s->id) {
					res->viol_dup++;
					if (should_print())
						fprintf(stderr,
						        "[%s] reader %u: id %" PRIu64
						        " twice in one result\n",
						        S.kind, me, s->id);
				}
			}
			uint64_t exp = __atomic_load_n(&s->expires_ms, __ATOMIC_ACQUIRE);
			if (exp <= now) {
				res->viol_expired++;
				if (should_print())
					fprintf(stderr,
					        "[%s] reader %u: expired subscription %" PRIu64
					        " (%s) returned: expires_ms=%" PRIu64
					        " now=%" PRIu64 "\n",
					        S.kind, me, s->id, s->dest->text, exp, now);
			}
			if (dk == D_PERM && idx < MAX_PERM) {
				found[idx / 64] |= UINT64_C(1) << (idx % 64);
			} else if (dk == D_CHURN && idx < MAX_CHURN) {
				res->churn_seen++;
				uint64_t rs = __atomic_load_n(&S.removed_seq[idx], __ATOMIC_ACQUIRE);
				if (rs && rs <= G) {
					res->viol_removed++;
					if (should_print())
						fprintf(stderr,
						        "[%s] reader %u: subscription %" PRIu64
						        " (%s) returned by a match that started after "
						        "its removal returned (removal seq %" PRIu64
						        " <= %" PRIu64 ")\n",
						        S.kind, me, s->id, s->dest->text, rs, G);
				} else if (rs) {
					res->late_removals++;
				}
			} else {
				res->viol_other++;
				if (should_print())
					fprintf(stderr, "[%s] reader %u: unexpected subscription %s\n",
					        S.kind, me, s->dest->text);
			}
		}
		bool any = false;
		for (unsigned w = 0; w < MAX_PERM / 64; w++) {
			uint64_t miss = S.expect[i][w] & ~found[w];
			any |= S.expect[i][w] != 0;
			if (miss) {
				res->viol_missed++;
				if (should_print()) {
					fprintf(stderr,
					        "[%s] reader %u: permanent subscription(s) missed "
					        "(word %u mask 0x%" PRIx64 "), e.g. ",
					        S.kind, me, w, miss);
					mg_spec_print(stderr,
					              &S.perm[w * 64 + (unsigned)__builtin_ctzll(miss)]);
					fputc('\n', stderr);
					mg_ev_print(stderr, ev);
				}
			}
		}
		res->events_with_perm += any;
	}
	urcu_qsbr_unregister_thread();
	free(out);
	return NULL;
}

static void run_churn(enum evr_index_kind kind, uint64_t ms)
{
	pthread_t wt, rt[N_READERS];
	struct wstats w;
	memset(&w, 0, sizeof w);
	memset(S.res, 0, sizeof S.res);
	memset(S.removed_seq, 0, sizeof S.removed_seq);
	S.done_seq = 0;
	S.stop = 0;
	S.printed = 0;
	S.kind = kind == EVR_INDEX_HYBRID ? "hybrid" : "naive";
	c_id = calloc(MAX_CHURN, sizeof *c_id);
	c_live = calloc(MAX_CHURN, sizeof *c_live);
	if (!c_id || !c_live)
		exit(2);
	c_nlive = c_next = 0;
	c_seq = 0;

	wd_arm("churn setup", 60);
	S.m = mk(kind);
	for (unsigned i = 0; i < N_READERS; i++) {
		S.reader_idx[i] = evr_matcher_reader_register(S.m);
		CHECK(S.reader_idx[i] >= 0);
	}
	setup_perm();

	wd_arm("churn", (unsigned)(ms / 1000) + 60);
	S.deadline_ms = evr_now_ms() + ms;
	urcu_qsbr_thread_offline(); /* main only waits from here on */
	for (unsigned i = 0; i < N_READERS; i++)
		pthread_create(&rt[i], NULL, reader_main, (void *)(uintptr_t)i);
	pthread_create(&wt, NULL, writer_main, &w);
	pthread_join(wt, NULL);
	for (unsigned i = 0; i < N_READERS; i++)
		pthread_join(rt[i], NULL);
	urcu_qsbr_thread_online();

	wd_arm("churn teardown", 60);
	struct evr_matcher_stats ms_;
	memset(&ms_, 0, sizeof ms_);
	evr_matcher_sync(S.m);
	evr_matcher_get_stats(S.m, &ms_);
	struct reader_res t;
	memset(&t, 0, sizeof t);
	for (unsigned i = 0; i < N_READERS; i++) {
		struct reader_res *r = &S.res[i];
		t.iters += r->iters;
		t.matches += r->matches;
		t.churn_seen += r->churn_seen;
		t.late_removals += r->late_removals;
		t.events_with_perm += r->events_with_perm;
		t.viol_removed += r->viol_removed;
		t.viol_expired += r->viol_expired;
		t.viol_missed += r->viol_missed;
		t.viol_dup += r->viol_dup;
		t.viol_other += r->viol_other;
	}
	printf("churn[%s]: writer ops=%" PRIu64 " subs=%" PRIu64 " refresh=%" PRIu64
	       " unsub=%" PRIu64 " expire0=%" PRIu64 " unsub_dest=%" PRIu64
	       " reaps=%" PRIu64 " (reaped %" PRIu64 ") syncs=%" PRIu64
	       " errors=%" PRIu64 "\n",
	       S.kind, w.ops, w.subs, w.refreshes, w.unsubs, w.expire0, w.unsub_dest,
	       w.reaps, w.reaped, w.syncs, w.errors);
	printf("churn[%s]: readers iterations=%" PRIu64 " matches=%" PRIu64
	       " churn_matches=%" PRIu64 " racing_removals=%" PRIu64
	       " | store live=%" PRIu64 " expired=%" PRIu64 " hs_compiles=%" PRIu64
	       " hs_compile_errors=%" PRIu64 "\n",
	       S.kind, t.iters, t.matches, t.churn_seen, t.late_removals, ms_.live,
	       ms_.expired, ms_.hs_compiles, ms_.hs_compile_errors);
	printf("churn[%s]: violations removed=%" PRIu64 " expired=%" PRIu64
	       " missed_permanent=%" PRIu64 " dup=%" PRIu64 " other=%" PRIu64 "\n",
	       S.kind, t.viol_removed, t.viol_expired, t.viol_missed, t.viol_dup,
	       t.viol_other);
	CHECK_EQ_INT(w.errors, 0);
	CHECK_EQ_INT(t.viol_removed, 0);
	CHECK_EQ_INT(t.viol_expired, 0);
	CHECK_EQ_INT(t.viol_missed, 0);
	CHECK_EQ_INT(t.viol_dup, 0);
	CHECK_EQ_INT(t.viol_other, 0);
	CHECK_EQ_INT(ms_.hs_compile_errors, 0);
	CHECK(t.iters > 0 && t.events_with_perm > 0);
	CHECK(t.churn_seen > 0);

	evr_matcher_destroy(S.m);
	S.m = NULL;
	free(c_id);
	free(c_live);
}

/* ---- once race ---------------------------------------------------------------- */

static bool barrier_wait_offline(void)
{
	urcu_qsbr_thread_offline();
	int rc = pthread_barrier_wait(&S.bar);
	urcu_qsbr_thread_online();
	return rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD;
}

static void *once_reader(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	const struct evr_sub *out[64];
	_Static_assert(ONCE_K <= EVR_MATCH_BURST_MAX, "one burst holds a round");
	urcu_qsbr_register_thread();
	for (;;) {
		barrier_wait_offline(); /* round start (or exit) */
		if (__atomic_load_n(&S.stop, __ATOMIC_ACQUIRE))
			break;
		for (unsigned rep = 0; rep < 2; rep++) {
			/* reader 0 matches one event at a time; reader 1 the
			 * same events in one burst (in the other order), so a
			 * `once` is raced by both APIs and, inside the burst, by
			 * several events of one call */
			const struct evr_event *evs[ONCE_K];
			struct evr_match_burst b = {.subs = out, .cap = 64, .per_event_cap = 64};
			for (unsigned x = 0; x < ONCE_K; x++)
				evs[x] = &S.once_ev[me ? ONCE_K - 1 - x : x].ev;
			for (unsigned x = 0; x < (me ? 1u : ONCE_K); x++) {
				struct evr_match_stats st;
				memset(&st, 0, sizeof st);
				uint32_t n = me ? evr_matcher_match_burst(S.m, (unsigned)S.reader_idx[me],
				                                          evs, ONCE_K, evr_now_ms(),
				                                          &b, &st)
				                : evr_matcher_match(S.m, (unsigned)S.reader_idx[me],
				                                    evs[x], evr_now_ms(), out, 64, &st);
				if (st.overflow)
					__atomic_fetch_add(&S.once_errors, 1, __ATOMIC_RELAXED);
				for (uint32_t a = 0; a < n; a++) {
					uint32_t idx;
					if (dest_parse(out[a]->dest->text, &idx) != D_ONCE ||
					    idx < S.once_base || idx >= S.once_base + ONCE_K) {
						__atomic_fetch_add(&S.once_errors, 1, __ATOMIC_RELAXED);
						continue;
					}
					__atomic_fetch_add(&S.once_deliv[idx - S.once_base], 1,
					                   __ATOMIC_RELAXED);
				}
				urcu_qsbr_quiescent_state();
			}
		}
		barrier_wait_offline(); /* round end */
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void run_once(enum evr_index_kind kind, uint32_t rounds, uint64_t ms)
{
	pthread_t rt[N_READERS];
	struct mg_spec sp[ONCE_K];
	uint64_t bad_rounds = 0, delivered = 0, expected = 0, err_subs = 0;
	S.kind = kind == EVR_INDEX_HYBRID ? "hybrid" : "naive";
	S.stop = 0;
	S.once_errors = 0;
	wd_arm("once setup", 60);
	S.m = mk(kind);
	for (unsigned i = 0; i < N_READERS; i++) {
		S.reader_idx[i] = evr_matcher_reader_register(S.m);
		CHECK(S.reader_idx[i] >= 0);
	}
	pthread_barrier_init(&S.bar, NULL, N_READERS + 1);
	for (unsigned i = 0; i < N_READERS; i++)
		pthread_create(&rt[i], NULL, once_reader, (void *)(uintptr_t)i);
	/* Ballast: a production-sized Hyperscan base on the same key, so that
	 * merges take long and deltas pile up meanwhile. Never matches. */
	uint32_t ballast = kind == EVR_INDEX_HYBRID
	                           ? (uint32_t)mg_env_u64("EVR_TEST_RCU_BALLAST", 3000)
	                           : 0;
	for (uint32_t i = 0; i < ballast; i++) {
		struct mg_spec b;
		struct evr_sub_info info;
		char d[64], f[96];
		snprintf(d, sizeof d, "udp:10.3.%u.%u:7000", (i >> 8) & 255, i & 255);
		snprintf(f, sizeof f, "aor=*zz%u?q*", i);
		spec1(&b, "E_BALLAST", f, NULL, d, false, false);
		if (subscribe_spec(&b, 3600, &info) != 0)
			err_subs++;
	}
	evr_matcher_sync(S.m);
	uint64_t deadline = evr_now_ms() + ms;
	uint32_t r;
	wd_arm("once rounds", (unsigned)(ms / 1000) + 60);
	for (r = 0; r < rounds && evr_now_ms() < deadline; r++) {
		S.once_base = r * ONCE_K;
		for (unsigned s = 0; s < ONCE_K; s++) {
			char d[64], f[96], v[96];
			once_dest(S.once_base + s, d, sizeof d);
			switch (s % 4) {
			case 0:
				snprintf(f, sizeof f, "aor=once%u-%u", r, s);
				snprintf(v, sizeof v, "once%u-%u", r, s);
				spec1(&sp[s], "E_ONCE", f, NULL, d, false, true);
				break;
			case 1:
				snprintf(f, sizeof f, "aor=once%u-%u@*", r, s);
				snprintf(v, sizeof v, "once%u-%u@x", r, s);
				spec1(&sp[s], "E_ONCE", f, NULL, d, false, true);
				break;
			case 2:
				snprintf(f, sizeof f, "aor=*nce%u-%u@*", r, s);
				snprintf(v, sizeof v, "once%u-%u@x", r, s);
				spec1(&sp[s], "E_ONCE", f, NULL, d, false, true);
				break;
			default:
				snprintf(f, sizeof f, "aor=once%u-%u", r, s);
				snprintf(v, sizeof v, "once%u-%u", r, s);
				spec1(&sp[s], "E_ONCE", "nokey=x", f, d, true, true);
				break;
			}
			struct evr_sub_info info;
			if (subscribe_spec(&sp[s], 60, &info) != 0)
				err_subs++;
			mg_ev_init(&S.once_ev[s], "E_ONCE", NULL);
			mg_ev_add(&S.once_ev[s], "aor", v);
			S.once_deliv[s] = 0;
		}
		evr_matcher_sync(S.m); /* Hyperscan ones visible */
		barrier_wait_offline(); /* go */
		barrier_wait_offline(); /* done */
		bool bad = false;
		for (unsigned s = 0; s < ONCE_K; s++) {
			bool matched = false;
			for (unsigned e = 0; e < ONCE_K; e++)
				matched |= mg_spec_match(&sp[s], &S.once_ev[e].ev);
			uint32_t got = __atomic_load_n(&S.once_deliv[s], __ATOMIC_RELAXED);
			delivered += got;
			expected += matched;
			if (got != (matched ? 1u : 0u)) {
				bad = true;
				if (bad_rounds < MAX_PRINT) {
					fprintf(stderr,
					        "[%s] once round %u: delivered %u times (want %u): ",
					        S.kind, r, got, matched ? 1u : 0u);
					mg_spec_print(stderr, &sp[s]);
					fputc('\n', stderr);
				}
			}
		}
		bad_rounds += bad;
		if (r % 8 == 7)
			evr_matcher_reap(S.m, evr_now_ms());
		urcu_qsbr_quiescent_state();
	}
	__atomic_store_n(&S.stop, 1, __ATOMIC_RELEASE);
	barrier_wait_offline();
	for (unsigned i = 0; i < N_READERS; i++)
		pthread_join(rt[i], NULL);
	pthread_barrier_destroy(&S.bar);
	wd_arm("once teardown", 60);
	evr_matcher_reap(S.m, evr_now_ms());
	struct evr_matcher_stats st;
	memset(&st, 0, sizeof st);
	evr_matcher_get_stats(S.m, &st);
	printf("once[%s]: ballast=%u rounds=%u once_subs=%u delivered=%" PRIu64
	       " expected=%" PRIu64 " bad_rounds=%" PRIu64 " stray=%" PRIu64
	       " once_reaped=%" PRIu64 " live_after=%" PRIu64 "\n",
	       S.kind, ballast, r, r * ONCE_K, delivered, expected, bad_rounds, S.once_errors,
	       st.once_reaped, st.live);
	CHECK_EQ_INT(err_subs, 0);
	CHECK_EQ_INT(bad_rounds, 0);
	CHECK_EQ_INT(delivered, expected);
	CHECK_EQ_INT(S.once_errors, 0);
	CHECK_EQ_INT(st.once_reaped, delivered);
	CHECK_EQ_INT(st.live, ballast);
	CHECK(r > 0);
	evr_matcher_destroy(S.m);
	S.m = NULL;
}

/* ---- burst of deltas during a long merge ------------------------------------ */

static uint32_t burst_match(int reader, const char *val, uint32_t *idx_out)
{
	static struct mg_event e;
	const struct evr_sub *out[8];
	struct evr_match_stats st;
	memset(&st, 0, sizeof st);
	mg_ev_init(&e, "E_BURST", NULL);
	mg_ev_add(&e, "aor", val);
	uint32_t n = evr_matcher_match(S.m, (unsigned)reader, &e.ev, evr_now_ms(), out,
	                               8, &st);
	*idx_out = UINT32_MAX;
	if (n == 1 && dest_parse(out[0]->dest->text, idx_out) != D_ONCE)
		*idx_out = UINT32_MAX;
	urcu_qsbr_quiescent_state();
	return n;
}

/*
 * Phase "burst": nbase Hyperscan subscriptions on one key (a production-sized
 * base), then nburst more, each followed by evr_matcher_sync, so deltas are
 * published one by one while the background merges. Each must match right
 * after its sync, and all must still match at the end.
 */
static void run_burst(enum evr_index_kind kind, uint32_t nbase, uint32_t nburst)
{
	char d[64], f[96], v[64];
	uint64_t late = 0, lost = 0, errs = 0;
	S.kind = kind == EVR_INDEX_HYBRID ? "hybrid" : "naive";
	wd_arm("burst", 120);
	S.m = mk(kind);
	int reader = evr_matcher_reader_register(S.m);
	CHECK(reader >= 0);
	for (uint32_t i = 0; i < nbase; i++) {
		struct mg_spec b;
		struct evr_sub_info info;
		snprintf(d, sizeof d, "udp:10.3.%u.%u:7000", (i >> 8) & 255, i & 255);
		snprintf(f, sizeof f, "aor=*x%uy*", i);
		spec1(&b, "E_BURST", f, NULL, d, false, false);
		errs += subscribe_spec(&b, 3600, &info) != 0;
	}
	evr_matcher_sync(S.m);
	uint64_t t0 = evr_now_ms();
	for (uint32_t i = 0; i < nburst; i++) {
		struct mg_spec b;
		struct evr_sub_info info;
		uint32_t got;
		once_dest(i, d, sizeof d);
		snprintf(f, sizeof f, "aor=*q%uz*", i);
		spec1(&b, "E_BURST", f, NULL, d, false, false);
		errs += subscribe_spec(&b, 3600, &info) != 0;
		evr_matcher_sync(S.m);
		snprintf(v, sizeof v, "q%uz", i);
		if (burst_match(reader, v, &got) != 1 || got != i) {
			if (late++ < MAX_PRINT)
				fprintf(stderr,
				        "[%s] burst: \"%s\" (subscription %u of the burst) "
				        "not matched right after evr_matcher_sync\n",
				        S.kind, f, i);
		}
	}
	uint64_t t1 = evr_now_ms();
	/* give running merges time to finish, then everything must match */
	urcu_qsbr_thread_offline();
	for (int w = 0; w < 20; w++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	urcu_qsbr_thread_online();
	evr_matcher_sync(S.m);
	for (uint32_t i = 0; i < nburst; i++) {
		uint32_t got;
		snprintf(v, sizeof v, "q%uz", i);
		if (burst_match(reader, v, &got) != 1 || got != i)
			lost++;
	}
	struct evr_matcher_stats st;
	memset(&st, 0, sizeof st);
	evr_matcher_get_stats(S.m, &st);
	printf("burst[%s]: base=%u burst=%u (%" PRIu64 " ms) missed_after_sync=%" PRIu64
	       " missed_at_end=%" PRIu64 " live=%" PRIu64 " hs_compiles=%" PRIu64 "\n",
	       S.kind, nbase, nburst, t1 - t0, late, lost, st.live, st.hs_compiles);
	CHECK_EQ_INT(errs, 0);
	CHECK_EQ_INT(late, 0);
	CHECK_EQ_INT(lost, 0);
	CHECK_EQ_INT(st.live, nbase + nburst);
	evr_matcher_destroy(S.m);
	S.m = NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = wd_fire;
	sigaction(SIGALRM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	S.seed = mg_env_u64("EVR_TEST_SEED", 0x5eed2024);
	uint64_t ms = mg_env_u64("EVR_TEST_RCU_MS", 3000);
	printf("seed=0x%" PRIx64 " churn=%" PRIu64 "ms per backend\n", S.seed, ms);
	urcu_qsbr_register_thread();
	run_churn(EVR_INDEX_HYBRID, ms);
	run_churn(EVR_INDEX_NAIVE, ms / 3 + 1);
	run_burst(EVR_INDEX_HYBRID,
	          (uint32_t)mg_env_u64("EVR_TEST_RCU_BALLAST", 3000), 64);
	run_once(EVR_INDEX_HYBRID, 400, 4000);
	run_once(EVR_INDEX_NAIVE, 200, 2000);
	wd_arm("exit", 60);
	urcu_qsbr_barrier();
	urcu_qsbr_unregister_thread();
	alarm(0);
	EVR_TEST_DONE();
}
