/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evr_slab (util/evr_slab.h): records are 64-byte aligned, zeroed (also
 * when reused), distinct while live, reused after free, and frees from
 * another thread (the matcher frees from liburcu's call_rcu thread) are
 * safe against allocations on this one.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "util/evr_mem.h"
#include "util/evr_slab.h"
#include "evr_test.h"

#define N 20000 /* records of 200 -> 256 bytes: more than two 2 MiB chunks */

static struct evr_slab g_s = EVR_SLAB_INIT(200);
static void *g_p[N];

static void test_alloc_free(void)
{
	CHECK_EQ_INT((int)g_s.obj, 256);
	for (int i = 0; i < N; i++) {
		g_p[i] = evr_slab_alloc(&g_s);
		CHECK(g_p[i] != NULL);
		CHECK_EQ_INT((int)((uintptr_t)g_p[i] & 63), 0);
		const unsigned char *b = g_p[i];
		int zero = 1;
		for (size_t k = 0; k < g_s.obj; k++)
			zero &= b[k] == 0;
		CHECK(zero);
		memset(g_p[i], 0xa5, g_s.obj); /* overlapping records would clobber */
		memcpy(g_p[i], &i, sizeof(i));
	}
	for (int i = 0; i < N; i++) {
		int v;
		memcpy(&v, g_p[i], sizeof(v));
		CHECK_EQ_INT(v, i);
		CHECK_EQ_INT(((unsigned char *)g_p[i])[g_s.obj - 1], 0xa5);
	}
	CHECK_EQ_INT((int)g_s.live, N);
	/* the chunks are counted as table memory (what a heap measurement adds) */
	CHECK(evr_slab_bytes(&g_s) >= (size_t)N * g_s.obj);
	size_t bytes = evr_slab_bytes(&g_s);
	for (int i = 0; i < N; i++)
		evr_slab_free(&g_s, g_p[i]);
	CHECK_EQ_INT((int)g_s.live, 0);
	/* freed records are reused (and zeroed again): no new chunk */
	for (int i = 0; i < N; i++) {
		g_p[i] = evr_slab_alloc(&g_s);
		CHECK(g_p[i] != NULL);
		CHECK_EQ_INT(((unsigned char *)g_p[i])[g_s.obj - 1], 0);
	}
	CHECK_EQ_INT((int)evr_slab_bytes(&g_s), (int)bytes);
#if !defined(__SANITIZE_ADDRESS__)
	/* what is mapped and holds no record: the chunk tails only */
	CHECK_EQ_INT((int)evr_slab_idle_bytes(), (int)(bytes - (size_t)N * g_s.obj));
#endif
}

static void *freer(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i += 2)
		evr_slab_free(&g_s, g_p[i]);
	return NULL;
}

static void test_free_from_other_thread(void)
{
	pthread_t t;
	static void *q[N / 2];
	CHECK_EQ_INT(pthread_create(&t, NULL, freer, NULL), 0);
	for (int i = 0; i < N / 2; i++) {
		q[i] = evr_slab_alloc(&g_s);
		CHECK(q[i] != NULL);
	}
	CHECK_EQ_INT(pthread_join(t, NULL), 0);
	for (int i = 1; i < N; i += 2)
		evr_slab_free(&g_s, g_p[i]);
	for (int i = 0; i < N / 2; i++)
		evr_slab_free(&g_s, q[i]);
	CHECK_EQ_INT((int)g_s.live, 0);
}

int main(void)
{
	test_alloc_free();
	test_free_from_other_thread();
	EVR_TEST_DONE();
}
