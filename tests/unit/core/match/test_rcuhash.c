/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RCU multimap's incremental growth (match/evr_rcuhash.h, issue 13).
 *
 * "model": random adds and deletes against a reference model, with
 * duplicate hashes (two keys per hash) so probe runs and tombstones form;
 * the table is checked against the model after every publish and at the
 * end, and while a copy runs adds and deletes are counted on both sides of
 * the cursor (both must happen). The copy must be incremental: a table of
 * 64k slots is replaced only after many writer calls, never in one.
 *
 * "tombstones": fill, delete nearly everything, then churn: the table is
 * purged at about its size instead of growing, and every live key stays
 * found.
 *
 * "readers": two QSBR reader threads look up a set of permanent keys in a
 * tight loop (each must be found exactly once, every time) and verify every
 * node they meet, while the writer churns other keys through many copies
 * and publishes (ASan/UBSan builds catch a table freed under a reader).
 */
#include <pthread.h>
#include <time.h>

#include <urcu-qsbr.h>

#include "util/evr_hash.h"
#include "match/evr_rcuhash.h"
#include "evr_test.h"

struct node {
	uint64_t key;
	bool in;
};

static uint64_t key_hash(uint64_t key)
{
	return evr_mix64(key / 2); /* two keys per hash: a multimap */
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* How many slots of t hold n under its key's hash (reader view). */
static unsigned count_in(const struct evr_rcuhash_table *t, const struct node *n)
{
	unsigned c = 0;
	struct node *p;
	EVR_RCUHASH_FOREACH(t, key_hash(n->key), i, p) {
		if (p == n)
			c++;
	}
	return c;
}

/* Slot index of n in t (UINT64_MAX: absent). */
static uint64_t slot_of(const struct evr_rcuhash_table *t, const struct node *n)
{
	uint64_t h = evr_rcuhash_fix(key_hash(n->key));
	for (uint64_t i = h & t->mask; t->slots[i].hash != EVR_RCUHASH_EMPTY;
	     i = (i + 1) & t->mask)
		if (t->slots[i].hash == h && t->slots[i].node == n)
			return i;
	return UINT64_MAX;
}

/* Keys of nodes[0, n) found a wrong number of times; adds the live ones
 * to *live. */
static unsigned check_nodes(const struct evr_rcuhash *rh, const struct node *nodes, unsigned n,
                            uint64_t *live)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned c = count_in(rh->t, &nodes[i]);
		*live += nodes[i].in;
		if (c != (nodes[i].in ? 1u : 0u))
			bad++;
	}
	return bad;
}

static unsigned check_all(const struct evr_rcuhash *rh, const struct node *nodes, unsigned n)
{
	uint64_t live = 0;
	unsigned bad = check_nodes(rh, nodes, n, &live);
	CHECK_EQ_INT(rh->t->live, live);
	return bad;
}

static void test_model(void)
{
	enum { N = 60000, OPS = 400000 };
	struct node *nodes = calloc(N, sizeof(*nodes));
	struct evr_rcuhash rh = {0};
	CHECK(evr_rcuhash_init(&rh, 64) == 0);
	rh.compact = true;
	for (unsigned i = 0; i < N; i++)
		nodes[i].key = i;
	uint64_t pub = 0, below = 0, above = 0, del_below = 0, del_above = 0;
	unsigned bad = 0, max_run = 0, run = 0, big_copies = 0;
	for (unsigned op = 0; op < OPS; op++) {
		/* grow for the first half, then churn around a steady size */
		struct node *n = &nodes[rnd() % (op < OPS / 2 ? (op / 4 + 1 < N ? op / 4 + 1 : N) : N)];
		bool was = evr_rcuhash_migrating(&rh);
		uint64_t cur = rh.cursor;
		if (!n->in) {
			CHECK(evr_rcuhash_add(&rh, key_hash(n->key), n) == 0);
			n->in = true;
			if (was && evr_rcuhash_migrating(&rh)) {
				uint64_t s = slot_of(rh.t, n);
				if (s < cur)
					below++;
				else
					above++;
			}
		} else if (rnd() % 3 == 0) {
			uint64_t s = was ? slot_of(rh.t, n) : 0;
			CHECK(evr_rcuhash_del(&rh, key_hash(n->key), n) == 0);
			n->in = false;
			if (was && evr_rcuhash_migrating(&rh)) {
				if (s < cur)
					del_below++;
				else
					del_above++;
			}
		}
		if (evr_rcuhash_migrating(&rh)) {
			run++;
		} else if (run) {
			if (run > max_run)
				max_run = run;
			run = 0;
		}
		if (rh.published != pub) {
			pub = rh.published;
			if (rh.t->mask + 1 >= 65536)
				big_copies++;
			bad += check_all(&rh, nodes, N);
			CHECK(rh.t->used * 4 <= (rh.t->mask + 1) * 3);
		}
		CHECK(rh.t->used * 4 <= (rh.t->mask + 1) * 3);
		if ((op & 1023) == 0)
			rcu_quiescent_state();
	}
	bad += check_all(&rh, nodes, N);
	CHECK_MSG(bad == 0, "%u keys found a wrong number of times", bad);
	CHECK_MSG(pub >= 8, "only %" PRIu64 " tables published", pub);
	CHECK_MSG(below > 0 && above > 0, "adds during a copy: %" PRIu64 " below the cursor, %"
	          PRIu64 " above", below, above);
	CHECK_MSG(del_below > 0 && del_above > 0, "deletes during a copy: %" PRIu64
	          " below, %" PRIu64 " above", del_below, del_above);
	/* a 64k-slot table is copied over at least 64k / STEP writer calls
	 * (minus the ones that publish early): never in one */
	CHECK_MSG(big_copies >= 1 && max_run >= 65536 / EVR_RCUHASH_STEP / 2,
	          "longest copy %u writer calls", max_run);
	printf("model: %" PRIu64 " tables published, adds during copies %" PRIu64 "/%" PRIu64
	       " below/above the cursor, deletes %" PRIu64 "/%" PRIu64 ", longest copy %u calls\n",
	       pub, below, above, del_below, del_above, max_run);
	rcu_barrier();
	evr_rcuhash_fini(&rh);
	free(nodes);
}

static void test_tombstones(void)
{
	enum { N = 20000, FRESH = 8 * N };
	struct node *nodes = calloc(N + FRESH, sizeof(*nodes));
	struct evr_rcuhash rh = {0};
	CHECK(evr_rcuhash_init(&rh, 64) == 0);
	rh.compact = true;
	for (unsigned i = 0; i < N; i++) {
		nodes[i].key = i;
		CHECK(evr_rcuhash_add(&rh, key_hash(i), &nodes[i]) == 0);
		nodes[i].in = true;
	}
	/* keep every 64th */
	for (unsigned i = 0; i < N; i++)
		if (i % 64) {
			CHECK(evr_rcuhash_del(&rh, key_hash(i), &nodes[i]) == 0);
			nodes[i].in = false;
		}
	uint64_t size = rh.t->mask + 1, maxsize = size, pub0 = rh.published;
	/* a window of 300 live keys never seen before slides on: they take
	 * empty slots as often as tombstones, so the tombstones must be
	 * purged, not grown past */
	for (unsigned i = N; i < N + FRESH; i++)
		nodes[i].key = i;
	for (unsigned r = 0; r < FRESH; r++) {
		struct node *n = &nodes[N + r];
		CHECK(evr_rcuhash_add(&rh, key_hash(n->key), n) == 0);
		n->in = true;
		if (r >= 300) {
			n = &nodes[N + r - 300];
			CHECK(evr_rcuhash_del(&rh, key_hash(n->key), n) == 0);
			n->in = false;
		}
		if (rh.t->mask + 1 > maxsize)
			maxsize = rh.t->mask + 1;
		if ((r & 1023) == 0)
			rcu_quiescent_state();
	}
	unsigned bad = check_all(&rh, nodes, N + FRESH);
	CHECK_MSG(bad == 0, "%u keys found a wrong number of times", bad);
	CHECK_MSG(rh.published > pub0, "no purge in %u tombstone-making calls", 2 * FRESH);
	CHECK_MSG(maxsize <= size, "table grew from %" PRIu64 " to %" PRIu64 " slots on tombstones",
	          size, maxsize);
	printf("tombstones: %" PRIu64 " purges at %" PRIu64 " slots\n", rh.published - pub0, size);
	rcu_barrier();
	evr_rcuhash_fini(&rh);
	free(nodes);
}

/* ---- concurrent readers ------------------------------------------------ */

#define PERM 2048u
#define CHURN 200000u

static struct evr_rcuhash g_rh;
static struct node g_perm[PERM];
static struct node *g_churn;
static volatile int g_stop;
static uint64_t g_lookups[2], g_bad[2];

static void *reader_main(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	rcu_register_thread();
	uint64_t k = id * 977, n = 0, bad = 0;
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		const struct evr_rcuhash_table *t = evr_rcuhash_read(&g_rh);
		for (unsigned j = 0; j < 64; j++) {
			const struct node *want = &g_perm[k++ % PERM];
			unsigned c = 0;
			struct node *p;
			EVR_RCUHASH_FOREACH(t, key_hash(want->key), i, p) {
				/* every node met is a real one with this hash */
				if (key_hash(p->key) != key_hash(want->key))
					bad++;
				if (p == want)
					c++;
			}
			bad += c != 1;
			n++;
		}
		rcu_quiescent_state();
	}
	g_lookups[id] = n;
	g_bad[id] = bad;
	rcu_unregister_thread();
	return NULL;
}

static void test_readers(void)
{
	CHECK(evr_rcuhash_init(&g_rh, 64) == 0);
	g_rh.compact = true;
	g_churn = calloc(CHURN, sizeof(*g_churn));
	for (unsigned i = 0; i < PERM; i++) {
		g_perm[i].key = 2 * i; /* shares its hash with churn key 2i+1 */
		CHECK(evr_rcuhash_add(&g_rh, key_hash(g_perm[i].key), &g_perm[i]) == 0);
		g_perm[i].in = true;
	}
	for (unsigned i = 0; i < CHURN; i++)
		g_churn[i].key = i < PERM ? 2 * i + 1 : 2 * (uint64_t)i;
	pthread_t th[2];
	for (unsigned i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader_main, (void *)(uintptr_t)i);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t pub0 = g_rh.published;
	/* grow to CHURN, shrink to a tenth by deletes, grow again: copies
	 * while readers probe, tombstones, purges */
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < CHURN; i++) {
			struct node *n = &g_churn[i];
			if (!n->in) {
				CHECK(evr_rcuhash_add(&g_rh, key_hash(n->key), n) == 0);
				n->in = true;
			}
			if ((i & 255) == 0)
				rcu_quiescent_state();
		}
		for (unsigned i = 0; i < CHURN; i++) {
			struct node *n = &g_churn[i];
			if (n->in && i % 10) {
				CHECK(evr_rcuhash_del(&g_rh, key_hash(n->key), n) == 0);
				n->in = false;
			}
			if ((i & 255) == 0)
				rcu_quiescent_state();
		}
	}
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
	rcu_thread_offline();
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	rcu_thread_online();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_MSG(g_bad[0] + g_bad[1] == 0, "readers saw %" PRIu64 " wrong results",
	          g_bad[0] + g_bad[1]);
	CHECK(g_lookups[0] > 0 && g_lookups[1] > 0);
	CHECK_MSG(g_rh.published - pub0 >= 4, "%" PRIu64 " tables published",
	          g_rh.published - pub0);
	uint64_t live = 0;
	unsigned bad = check_nodes(&g_rh, g_perm, PERM, &live) +
	               check_nodes(&g_rh, g_churn, CHURN, &live);
	CHECK_EQ_INT(g_rh.t->live, live);
	CHECK_MSG(bad == 0, "%u keys found a wrong number of times", bad);
	printf("readers: %" PRIu64 " lookups during %" PRIu64 " publishes, %.2f s\n",
	       g_lookups[0] + g_lookups[1], g_rh.published - pub0,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rcu_barrier();
	evr_rcuhash_fini(&g_rh);
	free(g_churn);
}

int main(void)
{
	rcu_register_thread();
	test_model();
	test_tombstones();
	test_readers();
	rcu_unregister_thread();
	EVR_TEST_DONE();
}
