/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the IP reassembly table (evr_reasm): completion in order,
 * in reverse and in random order, exact duplicates, overlaps (whole
 * datagram dropped), inconsistent ends, more than 8 fragments (the
 * librte_ip_frag limit that dropped 12 KB+ events) up to a 65,535-byte
 * datagram at MTU 576, timeout, eviction of the oldest datagram under a
 * storm of never-completing fragments, and the memory bound. Every
 * fragment handed in must come back exactly once: released (dropped) or
 * delivered in a completed datagram.
 */
#include <stdint.h>

#include "net/evr_reasm.h"
#include "evr_test.h"

#define MAXF 200000

/* Fragment handles are indexes + 1 into these arrays. */
static struct {
	uint32_t off, len;
	uint8_t state; /* 0 unused, 1 handed in, 2 released, 3 delivered */
} F[MAXF];
static uint32_t nf;
static unsigned bad_release;

static void release(void *ctx, void *frag)
{
	uintptr_t i = (uintptr_t)frag - 1;

	(void)ctx;
	if (i >= nf || F[i].state != 1)
		bad_release++;
	else
		F[i].state = 2;
}

static void *mk(uint32_t off, uint32_t len)
{
	F[nf].off = off;
	F[nf].len = len;
	F[nf].state = 1;
	return (void *)(uintptr_t)++nf;
}

static struct evr_reasm_key key(uint32_t id, bool v6)
{
	struct evr_reasm_key k;

	memset(&k, 0, sizeof(k));
	k.src[15] = 10;
	k.dst[15] = 1;
	if (!v6) {
		k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
		k.proto = 17;
	}
	k.v6 = v6;
	k.id = id;
	return k;
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* The delivered fragments tile [0, total) in order; mark them delivered. */
static bool check_out(const struct evr_reasm_out *o, uint32_t total)
{
	uint32_t at = 0;

	for (uint32_t i = 0; i < o->n; i++) {
		uintptr_t x = (uintptr_t)o->frags[i] - 1;

		if (x >= nf || F[x].state != 1 || F[x].off != at)
			return false;
		at += F[x].len;
		F[x].state = 3;
	}
	return at == total && o->total == total;
}

/* Fragment a datagram of `total` payload bytes into pieces of `step`
 * (multiple of 8), added in the order `ord` (indexes); returns the rc of
 * the last add and fills `o`. */
static enum evr_reasm_rc feed(struct evr_reasm *r, uint32_t id, uint32_t total,
                              uint32_t step, const uint32_t *ord, uint32_t n,
                              uint64_t now, struct evr_reasm_out *o)
{
	struct evr_reasm_key k = key(id, false);
	enum evr_reasm_rc rc = EVR_REASM_DROPPED;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = ord[i] * step;
		uint32_t len = off + step < total ? step : total - off;

		rc = evr_reasm_add(r, &k, off, len, off + len < total, EVR_REASM_MAX_LEN - 20,
		                   mk(off, len), now, o);
		if (i + 1 < n && rc != EVR_REASM_HELD)
			return EVR_REASM_DROPPED;
	}
	return rc;
}

static uint32_t nfrags(uint32_t total, uint32_t step)
{
	return (total + step - 1) / step;
}

static void test_orders(void)
{
	struct evr_reasm *r = evr_reasm_create(16, 512, 1000, 1, release, NULL);
	struct evr_reasm_out o;
	uint32_t ord[200];
	/* 3 KB and 12 KB at MTU 1500 (1480-byte fragments), 65,515 bytes of
	 * UDP at MTU 576 (552-byte fragments: 119 of them). */
	const struct { uint32_t total, step; } cases[] = {
		{3008, 1480}, {12008, 1480}, {30008, 1480}, {65515, 1480},
		{1508, 552}, {9008, 552}, {65515, 552},
	};

	CHECK(r != NULL);
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t n = nfrags(cases[c].total, cases[c].step);

		for (unsigned mode = 0; mode < 3; mode++) {
			for (uint32_t i = 0; i < n; i++)
				ord[i] = mode == 1 ? n - 1 - i : i;
			if (mode == 2)
				for (uint32_t i = n - 1; i > 0; i--) {
					uint32_t j = rnd(i + 1), t = ord[i];

					ord[i] = ord[j];
					ord[j] = t;
				}
			CHECK_EQ_INT(feed(r, c * 3 + mode, cases[c].total, cases[c].step, ord, n, 0, &o),
			             EVR_REASM_DONE);
			CHECK_EQ_INT(o.n, n);
			CHECK_MSG(check_out(&o, cases[c].total), "case %u mode %u", c, mode);
			CHECK_EQ_INT(evr_reasm_flows(r), 0);
			CHECK_EQ_INT(evr_reasm_held(r), 0);
		}
	}
	CHECK(nfrags(65515, 552) > 100);
	CHECK_EQ_INT(evr_reasm_stats(r)->completed, 21);
	evr_reasm_destroy(r);
}

static void test_duplicates_and_overlaps(void)
{
	struct evr_reasm *r = evr_reasm_create(16, 512, 1000, 2, release, NULL);
	struct evr_reasm_key k = key(7, true);
	struct evr_reasm_out o;

	/* exact duplicates: only the copies go */
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 1448, true, 65535, mk(0, 1448), 0, &o), EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 1448, true, 65535, mk(0, 1448), 0, &o), EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1448, 100, false, 65535, mk(1448, 100), 0, &o), EVR_REASM_DONE);
	CHECK(check_out(&o, 1548));
	CHECK_EQ_INT(evr_reasm_stats(r)->duplicate, 1);

	/* overlap (IPv6, RFC 5722): the whole datagram goes */
	k.id = 8;
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 1448, true, 65535, mk(0, 1448), 0, &o), EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 2896, 8, false, 65535, mk(2896, 8), 0, &o), EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1440, 1456, true, 65535, mk(1440, 1456), 0, &o),
	             EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_stats(r)->invalid, 3);
	CHECK_EQ_INT(evr_reasm_held(r), 0);
	/* the rest of it is dropped too (the datagram stays dead until its
	 * timeout), never gathered into a new one */
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1448, 1448, true, 65535, mk(1448, 1448), 0, &o),
	             EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_stats(r)->invalid, 4);
	/* same offset, other length: overlap */
	k.id = 80;
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1448, 1448, true, 65535, mk(1448, 1448), 0, &o),
	             EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1448, 8, true, 65535, mk(1448, 8), 0, &o),
	             EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_stats(r)->invalid, 6);

	/* inconsistent ends: two different last fragments; data past the end */
	k.id = 9;
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1448, 10, false, 65535, mk(1448, 10), 0, &o), EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 2896, 10, false, 65535, mk(2896, 10), 0, &o), EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_stats(r)->invalid, 8);
	k.id = 10;
	CHECK_EQ_INT(evr_reasm_add(r, &k, 2896, 1448, true, 65535, mk(2896, 1448), 0, &o), EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1448, 10, false, 65535, mk(1448, 10), 0, &o), EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_stats(r)->invalid, 10);

	/* bad lengths, too big: the fragment only */
	k.id = 11;
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 1447, true, 65535, mk(0, 1447), 0, &o), EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 0, true, 65535, mk(0, 0), 0, &o), EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 65528, 8, false, 65535, mk(65528, 8), 0, &o),
	             EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 65520, 16, false, 65535, mk(65520, 16), 0, &o),
	             EVR_REASM_DROPPED);
	CHECK_EQ_INT(evr_reasm_stats(r)->invalid, 14);
	/* 65,535 exactly is fine */
	CHECK_EQ_INT(evr_reasm_add(r, &k, 65528, 7, false, 65535, mk(65528, 7), 0, &o),
	             EVR_REASM_HELD);

	/* atomic fragment: whole at once */
	k.id = 12;
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 100, false, 65535, mk(0, 100), 0, &o), EVR_REASM_DONE);
	CHECK(o.n == 1 && check_out(&o, 100));
	evr_reasm_destroy(r);
}

static void test_timeout(void)
{
	struct evr_reasm *r = evr_reasm_create(16, 64, 100, 3, release, NULL);
	struct evr_reasm_key k = key(1, false);
	struct evr_reasm_out o;

	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 1480, true, 65515, mk(0, 1480), 1, &o), EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_add(r, &k, 1480, 1480, true, 65515, mk(1480, 1480), 50, &o),
	             EVR_REASM_HELD);
	evr_reasm_expire(r, 100);
	CHECK_EQ_INT(evr_reasm_flows(r), 1);
	/* a clock sampled before the fragment came: not expired (no wrap) */
	evr_reasm_expire(r, 0);
	CHECK_EQ_INT(evr_reasm_flows(r), 1);
	evr_reasm_expire(r, 101);
	CHECK_EQ_INT(evr_reasm_flows(r), 1);
	evr_reasm_expire(r, 102);
	CHECK_EQ_INT(evr_reasm_flows(r), 0);
	CHECK_EQ_INT(evr_reasm_stats(r)->timeout, 2);
	/* late last fragment: alone, starts a new datagram */
	CHECK_EQ_INT(evr_reasm_add(r, &k, 2960, 8, false, 65515, mk(2960, 8), 102, &o),
	             EVR_REASM_HELD);
	/* the stale datagram is also dropped when its own key comes back */
	CHECK_EQ_INT(evr_reasm_add(r, &k, 0, 1480, true, 65515, mk(0, 1480), 300, &o),
	             EVR_REASM_HELD);
	CHECK_EQ_INT(evr_reasm_stats(r)->timeout, 3);
	CHECK_EQ_INT(evr_reasm_held(r), 1);
	evr_reasm_destroy(r);
}

/* A storm of never-completing datagrams interleaved with legitimate ones:
 * 5 storm fragments between two fragments of a legitimate datagram. (25 at
 * most between its first and last: fewer than the 32 flows) With
 * the table full of the storm, the oldest is evicted, never the newcomer:
 * every legitimate datagram completes, and the table stays in its bound. */
static void test_storm(void)
{
	const uint32_t flows = 32, cap = 96;
	struct evr_reasm *r = evr_reasm_create(flows, cap, 1u << 30, 4, release, NULL);
	struct evr_reasm_out o;
	unsigned done = 0, bogus = 0, over = 0;

	for (uint32_t ev = 0; ev < 200; ev++) {
		struct evr_reasm_key k = key(100000 + ev, ev & 1);
		uint32_t n = 3 + ev % 4, total = n * 1448 - 100;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t off = i * 1448, len = i + 1 < n ? 1448 : total - off;
			enum evr_reasm_rc rc;

			for (unsigned b = 0; b < 5; b++) {
				struct evr_reasm_key kb = key(bogus++, b & 1);

				kb.src[0] = 0x20; /* the attacker's address */
				CHECK_EQ_INT(evr_reasm_add(r, &kb, 0, 1448, true, 65535, mk(0, 1448),
				                           ev, &o),
				             EVR_REASM_HELD);
			}
			rc = evr_reasm_add(r, &k, off, len, i + 1 < n, 65535, mk(off, len), ev, &o);
			if (rc == EVR_REASM_DONE && check_out(&o, total))
				done++;
			if (evr_reasm_flows(r) > flows || evr_reasm_held(r) > cap)
				over++;
		}
	}
	CHECK_EQ_INT(done, 200);
	CHECK_EQ_INT(over, 0);
	CHECK(evr_reasm_stats(r)->flows_evicted > 1000);
	CHECK_EQ_INT(evr_reasm_stats(r)->evicted, evr_reasm_stats(r)->flows_evicted);
	evr_reasm_destroy(r);
}

/* max_frags bounds what is held: a datagram of more fragments than the
 * bound is dropped (counted as evicted), older ones make room for a new
 * datagram that fits. */
static void test_memory_bound(void)
{
	struct evr_reasm *r = evr_reasm_create(8, 16, 1000, 5, release, NULL);
	struct evr_reasm_key k = key(1, false);
	struct evr_reasm_out o;
	uint32_t ord[32];
	unsigned over = 0;

	for (uint32_t i = 0; i < 17; i++) {
		evr_reasm_add(r, &k, i * 8, 8, true, 65535, mk(i * 8, 8), 0, &o);
		if (evr_reasm_held(r) > 16)
			over++;
	}
	CHECK_EQ_INT(over, 0);
	CHECK_EQ_INT(evr_reasm_held(r), 0);
	CHECK_EQ_INT(evr_reasm_stats(r)->evicted, 17);
	/* 4 incomplete datagrams of 3 fragments (12 held), then one of 10 */
	for (uint32_t d = 0; d < 4; d++) {
		k.id = 10 + d;
		for (uint32_t i = 0; i < 3; i++)
			CHECK_EQ_INT(evr_reasm_add(r, &k, i * 8, 8, true, 65535, mk(i * 8, 8), d, &o),
			             EVR_REASM_HELD);
	}
	for (uint32_t i = 0; i < 10; i++)
		ord[i] = i;
	CHECK_EQ_INT(feed(r, 99, 80, 8, ord, 10, 5, &o), EVR_REASM_DONE);
	CHECK(check_out(&o, 80));
	/* the two oldest went (6 fragments) to make room */
	CHECK_EQ_INT(evr_reasm_stats(r)->flows_evicted, 3);
	CHECK_EQ_INT(evr_reasm_flows(r), 2);
	CHECK_EQ_INT(evr_reasm_held(r), 6);
	evr_reasm_destroy(r);
}

int main(void)
{
	test_orders();
	test_duplicates_and_overlaps();
	test_timeout();
	test_storm();
	test_memory_bound();
	/* every fragment came back exactly once */
	for (uint32_t i = 0; i < nf; i++)
		CHECK_MSG(F[i].state == 2 || F[i].state == 3, "fragment %u state %u", i, F[i].state);
	CHECK_EQ_INT(bad_release, 0);
	EVR_TEST_DONE();
}
