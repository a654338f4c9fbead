/* SPDX-License-Identifier: Apache-2.0 */
/* Per-destination egress limits: see evr_destlimit.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/evr_seed.h"
#include "util/evr_destlimit.h"
#include "util/evr_hash.h"

#define WAYS 8u
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
	uint8_t family; /* 0: free */
	struct evr_bucket n, b;
	uint64_t used_us;
};

struct evr_destlimit {
	struct evr_destlimit_stats st;
	uint64_t seed, rate_n, rate_b;
	uint32_t burst_ms, mask;
	struct slot *slots;
};

struct evr_destlimit *evr_destlimit_create(uint64_t rate_n, uint64_t rate_b, uint32_t burst_ms,
                                           uint32_t slots)
{
	struct evr_destlimit *t;
	uint32_t n = WAYS;

	if ((!rate_n && !rate_b) || !burst_ms || burst_ms > 60000 || slots < WAYS ||
	    slots > (1u << 24) || rate_n > 1000000000ull || rate_b > 100000000000ull) {
		errno = EINVAL;
		return NULL;
	}
	while (n < slots)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->slots = calloc(n, sizeof(*t->slots)))) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->rate_n = rate_n;
	t->rate_b = rate_b;
	t->burst_ms = burst_ms;
	t->mask = n / WAYS - 1;
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
		memcpy(s->addr, key, 16);
		s->port = port;
		s->family = family;
		evr_bucket_init(&s->n, t->rate_n, t->burst_ms, now_us);
		evr_bucket_init(&s->b, t->rate_b, t->burst_ms, now_us);
	}
	s->used_us = now_us;
	/* both or neither: a notification refused for bytes keeps its token */
	if (!evr_bucket_take(&s->n, 1, now_us)) {
		t->st.over_rate++;
		return EVR_DL_RATE;
	}
	if (!evr_bucket_take(&s->b, bytes, now_us)) {
		if (s->n.rate)
			s->n.tok += SCALE; /* give the notification token back */
		t->st.over_bytes++;
		return EVR_DL_BYTES;
	}
	return EVR_DL_OK;
}
