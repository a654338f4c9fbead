/* SPDX-License-Identifier: Apache-2.0 */
/* Per-source request-rate limit: see evr_srclimit.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/evr_seed.h"
#include "limit/evr_ways.h"
#include "util/evr_hash.h"
#include "limit/evr_srclimit.h"

#define WAYS EVR_WAYS

struct slot {
	uint8_t addr[16]; /* IPv4 in the first 4, rest zero */
	uint64_t start;   /* window start, ms; 0 = free */
	uint32_t count;
	uint8_t family;
};

struct evr_srclimit {
	struct evr_srclimit_stats st;
	uint64_t seed;
	uint32_t limit, window_ms, mask;
	struct slot *slots;
};

struct evr_srclimit *evr_srclimit_create(uint32_t limit, uint32_t window_ms, uint32_t sources)
{
	struct evr_srclimit *t;

	if (!limit || !window_ms || sources < WAYS || sources > (1u << 26)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->slots = evr_ways_alloc(sources, sizeof(*t->slots), &t->mask))) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->limit = limit;
	t->window_ms = window_ms;
	t->seed = evr_table_seed(t);
	return t;
}

void evr_srclimit_destroy(struct evr_srclimit *t)
{
	if (t)
		free(t->slots);
	free(t);
}

const struct evr_srclimit_stats *evr_srclimit_stats(const struct evr_srclimit *t)
{
	return &t->st;
}

bool evr_srclimit_over(struct evr_srclimit *t, uint8_t family, const uint8_t *addr,
                       uint64_t now_ms)
{
	uint8_t key[16];
	uint64_t h = evr_addr_key(key, family, addr, t->seed, family);
	struct slot *b, *free_s = NULL, *oldest = NULL, *victim;
	uint64_t now = now_ms ? now_ms : 1; /* 0 marks a free slot */

	b = &t->slots[(h & t->mask) * WAYS];
	for (unsigned i = 0; i < WAYS; i++) {
		struct slot *s = &b[i];
		bool live = s->start && now - s->start < t->window_ms;

		if (s->start && s->family == family && !memcmp(s->addr, key, 16)) {
			if (!live) { /* a new window */
				s->start = now;
				s->count = 0;
			}
			if (++s->count > t->limit) {
				s->count = t->limit + 1; /* no wrap on a long flood */
				t->st.over++;
				return true;
			}
			return false;
		}
		if (!live) {
			if (!free_s)
				free_s = s;
		} else if (!oldest || s->start < oldest->start) {
			oldest = s;
		}
	}
	victim = free_s ? free_s : oldest;
	if (!free_s)
		t->st.evicted++;
	memcpy(victim->addr, key, 16);
	victim->family = family;
	victim->start = now;
	victim->count = 1;
	return false; /* limit >= 1 */
}
