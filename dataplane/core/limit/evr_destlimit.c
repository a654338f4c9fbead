/* SPDX-License-Identifier: Apache-2.0 */
/* Per-destination egress limits: see evr_destlimit.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/evr_seed.h"
#include "limit/evr_ways.h"
#include "limit/evr_destlimit.h"
#include "util/evr_hash.h"

#define WAYS EVR_WAYS
#define SCALE 1000000u /* tokens per unit: refill is rate * elapsed µs */

void evr_bucket_init(struct evr_bucket *b, uint64_t rate, uint32_t burst_ms, uint64_t now_us)
{
	b->rate = rate;
	b->cap = rate * (uint64_t)burst_ms * 1000u;
	b->tok = b->cap;
	b->last_us = now_us;
}

bool evr_bucket_take(struct evr_bucket *b, uint64_t cost, uint64_t now_us)
{
	uint64_t need = cost * SCALE;

	if (!b->rate)
		return true;
	if (now_us > b->last_us) {
		uint64_t el = now_us - b->last_us;

		/* at most a full bucket's worth: no overflow after a long idle */
		if (el > b->cap / b->rate + 1)
			el = b->cap / b->rate + 1;
		b->tok += el * b->rate;
		if (b->tok > b->cap)
			b->tok = b->cap;
		b->last_us = now_us;
	}
	if (b->tok < need)
		return false;
	b->tok -= need;
	return true;
}

struct slot {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;  /* 0: free */
	uint32_t seq;    /* odd while the slot changes destination */
	uint32_t gen;    /* the table's rates the buckets have */
	struct evr_bucket n, b;
	uint64_t used_us;
	uint64_t sent, over_rate, over_bytes; /* figures (one writer) */
};

struct evr_destlimit {
	struct evr_destlimit_stats st;
	uint64_t seed, rate_n, rate_b;
	uint32_t burst_ms, mask, gen;
	struct slot *slots;
};

/* A bucket to a new rate and depth: its tokens kept up to the new depth
 * (a bucket that was unlimited starts full). */
static void bucket_retune(struct evr_bucket *b, uint64_t rate, uint32_t burst_ms)
{
	uint64_t cap = rate * (uint64_t)burst_ms * 1000u;

	if (!b->rate || b->tok > cap)
		b->tok = cap;
	b->rate = rate;
	b->cap = cap;
}

/* One writer, readers on other threads: relaxed atomic counters. */
static inline void bump(uint64_t *p)
{
	__atomic_store_n(p, *p + 1, __ATOMIC_RELAXED);
}

static bool rates_valid(uint64_t rate_n, uint64_t rate_b, uint32_t burst_ms)
{
	return burst_ms && burst_ms <= 60000 && rate_n <= 1000000000ull &&
	       rate_b <= 100000000000ull;
}

int evr_destlimit_set_rates(struct evr_destlimit *t, uint64_t rate_n, uint64_t rate_b,
                            uint32_t burst_ms)
{
	if (!rates_valid(rate_n, rate_b, burst_ms))
		return -EINVAL;
	t->rate_n = rate_n;
	t->rate_b = rate_b;
	t->burst_ms = burst_ms;
	t->gen++; /* every bucket retunes when next used */
	return 0;
}

struct evr_destlimit *evr_destlimit_create(uint64_t rate_n, uint64_t rate_b, uint32_t burst_ms,
                                           uint32_t slots)
{
	struct evr_destlimit *t;

	if (!rates_valid(rate_n, rate_b, burst_ms) || slots < WAYS || slots > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->slots = evr_ways_alloc(slots, sizeof(*t->slots), &t->mask))) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->rate_n = rate_n;
	t->rate_b = rate_b;
	t->burst_ms = burst_ms;
	t->seed = evr_table_seed(t);
	return t;
}

void evr_destlimit_destroy(struct evr_destlimit *t)
{
	if (t)
		free(t->slots);
	free(t);
}

const struct evr_destlimit_stats *evr_destlimit_stats(const struct evr_destlimit *t)
{
	return &t->st;
}

enum evr_destlimit_verdict evr_destlimit_take(struct evr_destlimit *t, uint8_t family,
                                              const uint8_t *addr, uint16_t port,
                                              uint32_t bytes, uint64_t now_us)
{
	uint8_t key[16];
	uint64_t h = evr_addr_key(key, family, addr, t->seed, (uint64_t)port << 8 | family);
	struct slot *set, *s = NULL, *lru = NULL;
	uint64_t idle_us = (uint64_t)t->burst_ms * 1000u;

	set = &t->slots[(h & t->mask) * WAYS];
	for (unsigned i = 0; i < WAYS && !s; i++) {
		struct slot *x = &set[i];

		if (x->family == family && x->port == port && !memcmp(x->addr, key, 16))
			s = x;
		else if (!lru || !x->family || (lru->family && x->used_us < lru->used_us))
			lru = x;
	}
	if (!s) {
		/* a bucket idle for a burst window is full again anyway: reusing
		 * it forgets nothing; a busier one is an eviction */
		s = lru;
		if (s->family && now_us - s->used_us < idle_us)
			t->st.evicted++;
		/* readers of the figures see an odd seq meanwhile */
		__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memcpy(s->addr, key, 16);
		s->port = port;
		s->family = family;
		s->sent = s->over_rate = s->over_bytes = 0;
		__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
		evr_bucket_init(&s->n, t->rate_n, t->burst_ms, now_us);
		evr_bucket_init(&s->b, t->rate_b, t->burst_ms, now_us);
		s->gen = t->gen;
	} else if (s->gen != t->gen) {
		bucket_retune(&s->n, t->rate_n, t->burst_ms);
		bucket_retune(&s->b, t->rate_b, t->burst_ms);
		s->gen = t->gen;
	}
	s->used_us = now_us;
	/* both or neither: a notification refused for bytes keeps its token */
	if (!evr_bucket_take(&s->n, 1, now_us)) {
		t->st.over_rate++;
		bump(&s->over_rate);
		return EVR_DL_RATE;
	}
	if (!evr_bucket_take(&s->b, bytes, now_us)) {
		if (s->n.rate)
			s->n.tok += SCALE; /* give the notification token back */
		t->st.over_bytes++;
		bump(&s->over_bytes);
		return EVR_DL_BYTES;
	}
	bump(&s->sent);
	return EVR_DL_OK;
}

bool evr_destlimit_figures(const struct evr_destlimit *t, uint8_t family, const uint8_t *addr,
                           uint16_t port, struct evr_destlimit_figures *f)
{
	uint8_t key[16];
	uint64_t h = evr_addr_key(key, family, addr, t->seed, (uint64_t)port << 8 | family);
	const struct slot *set = &t->slots[(h & t->mask) * WAYS];

	for (unsigned i = 0; i < WAYS; i++) {
		const struct slot *x = &set[i];

		for (int tries = 0; tries < 4; tries++) {
			uint32_t s1 = __atomic_load_n(&x->seq, __ATOMIC_ACQUIRE);
			uint8_t a[16];
			uint16_t p;
			uint8_t fam;
			uint64_t sent, orate, obytes;

			if (s1 & 1)
				continue; /* changing destination right now */
			for (unsigned k = 0; k < 16; k++)
				a[k] = __atomic_load_n(&x->addr[k], __ATOMIC_RELAXED);
			p = __atomic_load_n(&x->port, __ATOMIC_RELAXED);
			fam = __atomic_load_n(&x->family, __ATOMIC_RELAXED);
			sent = __atomic_load_n(&x->sent, __ATOMIC_RELAXED);
			orate = __atomic_load_n(&x->over_rate, __ATOMIC_RELAXED);
			obytes = __atomic_load_n(&x->over_bytes, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&x->seq, __ATOMIC_RELAXED) != s1)
				continue;
			if (fam != family || p != port || memcmp(a, key, 16) != 0)
				break;
			f->sent += sent;
			f->over_rate += orate;
			f->over_bytes += obytes;
			return true;
		}
	}
	return false;
}
