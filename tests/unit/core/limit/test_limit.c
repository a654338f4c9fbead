/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Egress limits (limit/evr_destlimit.h) and the SIP endpoint's per-source
 * limiter (limit/evr_srclimit.h): rates held, buckets refill with time,
 * dimensions independent, tables bounded.
 */
#include <errno.h>
#include <string.h>

#include "limit/evr_destlimit.h"
#include "limit/evr_srclimit.h"
#include "evr_test.h"

static const uint8_t A[4] = { 198, 18, 0, 2 }, B[4] = { 198, 18, 0, 3 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static void test_rate(void)
{
	/* 100/s, 100 ms deep: 10 at once, then one per 10 ms */
	struct evr_destlimit *t = evr_destlimit_create(100, 0, 100, 64);
	unsigned ok = 0;

	CHECK(t != NULL);
	for (int i = 0; i < 10000; i++) /* one event to 10,000 subscriptions */
		ok += evr_destlimit_take(t, 4, A, 9000, 76, 1000000) == EVR_DL_OK;
	CHECK_EQ_INT(ok, 10);
	CHECK_EQ_INT(evr_destlimit_stats(t)->over_rate, 9990);
	/* another port or address is another destination */
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 9001, 76, 1000000), EVR_DL_OK);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, B, 9000, 76, 1000000), EVR_DL_OK);
	CHECK_EQ_INT(evr_destlimit_take(t, 6, A6, 9000, 76, 1000000), EVR_DL_OK);
	/* 50 ms later: 5 more */
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += evr_destlimit_take(t, 4, A, 9000, 76, 1050000) == EVR_DL_OK;
	CHECK_EQ_INT(ok, 5);
	/* an hour idle refills to the depth only */
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += evr_destlimit_take(t, 4, A, 9000, 76, 3600000000ull) == EVR_DL_OK;
	CHECK_EQ_INT(ok, 10);
	evr_destlimit_destroy(t);
}

static void test_bytes(void)
{
	/* 10 kB/s, 1 s deep: format conversion inflating one event to 1400 B
	 * per copy gets 7 copies through, not 10,000 */
	struct evr_destlimit *t = evr_destlimit_create(0, 10000, 1000, 64);
	unsigned ok = 0;

	for (int i = 0; i < 10000; i++)
		ok += evr_destlimit_take(t, 4, A, 9000, 1400, 5000000) == EVR_DL_OK;
	CHECK_EQ_INT(ok, 7);
	CHECK_EQ_INT(evr_destlimit_stats(t)->over_bytes, 9993);
	/* both dimensions: a refusal for bytes gives the rate token back */
	evr_destlimit_destroy(t);
	t = evr_destlimit_create(3, 1000, 1000, 64);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 1, 2000, 1), EVR_DL_BYTES);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 1, 10, 1), EVR_DL_OK);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 1, 10, 1), EVR_DL_OK);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 1, 10, 1), EVR_DL_OK);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 1, 10, 1), EVR_DL_RATE);
	evr_destlimit_destroy(t);
}

static void test_bounded(void)
{
	struct evr_destlimit *t = evr_destlimit_create(10, 0, 1000, 8);
	uint8_t a[4] = { 198, 18, 1, 0 };

	/* 1000 busy destinations through 8 slots: forgotten, never grown */
	for (int i = 0; i < 1000; i++) {
		a[3] = (uint8_t)i;
		a[2] = (uint8_t)(1 + i / 256);
		CHECK_EQ_INT(evr_destlimit_take(t, 4, a, 9000, 10, 1000), EVR_DL_OK);
	}
	CHECK(evr_destlimit_stats(t)->evicted >= 990);
	evr_destlimit_destroy(t);
	errno = 0;
	CHECK(evr_destlimit_create(1, 0, 0, 64) == NULL && errno == EINVAL);
	CHECK(evr_destlimit_create(1, 0, 100, 4) == NULL && errno == EINVAL);
}

/*
 * Runtime rates (config_set destinations.rate_*): a table made unlimited
 * (both rates 0) passes everything and counts figures; new rates apply to
 * known destinations at their next notification, keeping their figures.
 */
static void test_set_rates(void)
{
	struct evr_destlimit *t = evr_destlimit_create(0, 0, 100, 64);
	struct evr_destlimit_figures f = { 0 };
	unsigned ok = 0;

	CHECK(t != NULL);
	for (int i = 0; i < 1000; i++)
		ok += evr_destlimit_take(t, 4, A, 9000, 76, 1000000) == EVR_DL_OK;
	CHECK_EQ_INT(ok, 1000);
	CHECK(evr_destlimit_set_rates(t, 100, 0, 100) == 0); /* 10 deep */
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += evr_destlimit_take(t, 4, A, 9000, 76, 1000000) == EVR_DL_OK;
	CHECK_EQ_INT(ok, 10);
	CHECK(evr_destlimit_figures(t, 4, A, 9000, &f));
	CHECK_EQ_INT(f.sent, 1010);
	CHECK_EQ_INT(f.over_rate, 90);
	CHECK_EQ_INT(f.over_bytes, 0);
	CHECK(!evr_destlimit_figures(t, 4, B, 9000, &f)); /* never seen */
	/* bytes now: 760 B/s, 100 ms deep = 76 bytes: one notification */
	CHECK(evr_destlimit_set_rates(t, 0, 760, 100) == 0);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 9000, 76, 2000000), EVR_DL_OK);
	CHECK_EQ_INT(evr_destlimit_take(t, 4, A, 9000, 76, 2000000), EVR_DL_BYTES);
	memset(&f, 0, sizeof(f));
	CHECK(evr_destlimit_figures(t, 4, A, 9000, &f) && f.over_bytes == 1 && f.sent == 1011);
	CHECK(evr_destlimit_set_rates(t, 1, 0, 0) == -EINVAL);
	evr_destlimit_destroy(t);
}

static void test_bucket(void)
{
	struct evr_bucket b;

	evr_bucket_init(&b, 1000, 10, 0); /* 1000/s, 10 deep */
	unsigned ok = 0;
	for (int i = 0; i < 100; i++)
		ok += evr_bucket_take(&b, 1, 0);
	CHECK_EQ_INT(ok, 10);
	CHECK(!evr_bucket_take(&b, 1, 500));
	CHECK(evr_bucket_take(&b, 1, 1000));
	evr_bucket_init(&b, 0, 10, 0); /* unlimited */
	for (int i = 0; i < 1000; i++)
		CHECK(evr_bucket_take(&b, 1000000, 0));
}

static void test_srclimit(void)
{
	struct evr_srclimit *t = evr_srclimit_create(3, 1000, 8);
	unsigned over = 0;

	for (int i = 0; i < 10; i++)
		over += evr_srclimit_over(t, 4, A, 100);
	CHECK_EQ_INT(over, 7);
	CHECK(!evr_srclimit_over(t, 4, B, 100));
	CHECK(!evr_srclimit_over(t, 4, A, 1100)); /* next window */
	CHECK_EQ_INT(evr_srclimit_stats(t)->over, 7);
	evr_srclimit_destroy(t);
	CHECK(evr_srclimit_create(0, 1000, 8) == NULL);
}

int main(void)
{
	test_rate();
	test_bytes();
	test_bounded();
	test_set_rates();
	test_bucket();
	test_srclimit();
	EVR_TEST_DONE();
}
