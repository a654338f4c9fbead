/* SPDX-License-Identifier: Apache-2.0 */
/* RCU open-addressing multimap: writer side. See evr_rcuhash.h. */
#include <errno.h>
#include <stdlib.h>

#include "util/evr_mem.h"
#include "evr_rcuhash.h"

/* Tables live on huge pages when they are big enough (util/evr_mem.h):
 * every probe lands on a random slot. */
static struct evr_rcuhash_table *table_new(uint64_t cap)
{
	uint64_t n = 64;
	while (n < cap)
		n <<= 1;
	size_t bytes = sizeof(struct evr_rcuhash_table) + n * sizeof(struct evr_rcuhash_slot);
	struct evr_rcuhash_table *t = evr_mem_table_alloc(bytes, true);
	if (t) {
		t->mask = n - 1;
		t->bytes = bytes;
	}
	return t;
}

static void table_free(struct evr_rcuhash_table *t)
{
	if (t)
		evr_mem_table_free(t, t->bytes);
}

static void table_put(struct evr_rcuhash_table *t, uint64_t h, void *node)
{
	uint64_t i = h & t->mask;
	for (;;) {
		uint64_t sh = t->slots[i].hash;
		if (sh == EVR_RCUHASH_EMPTY || sh == EVR_RCUHASH_TOMB) {
			if (sh == EVR_RCUHASH_EMPTY)
				t->used++;
			__atomic_store_n(&t->slots[i].node, node, __ATOMIC_RELAXED);
			__atomic_store_n(&t->slots[i].hash, h, __ATOMIC_RELEASE);
			t->live++;
			return;
		}
		i = (i + 1) & t->mask;
	}
}

static void table_free_rcu(struct rcu_head *h)
{
	table_free(caa_container_of(h, struct evr_rcuhash_table, rcu));
}

int evr_rcuhash_init(struct evr_rcuhash *rh, uint64_t initial_cap)
{
	rh->t = table_new(initial_cap);
	return rh->t ? 0 : -ENOMEM;
}

void evr_rcuhash_fini(struct evr_rcuhash *rh)
{
	table_free(rh->t);
	rh->t = NULL;
}

/* Rebuild at a size keeping the load <= 1/2 after the rebuild. */
static int rebuild(struct evr_rcuhash *rh, uint64_t want_live)
{
	struct evr_rcuhash_table *old = rh->t;
	struct evr_rcuhash_table *t = table_new(want_live * 2 + 64);
	if (!t)
		return -ENOMEM;
	for (uint64_t i = 0; i <= old->mask; i++) {
		uint64_t sh = old->slots[i].hash;
		if (sh != EVR_RCUHASH_EMPTY && sh != EVR_RCUHASH_TOMB)
			table_put(t, sh, old->slots[i].node);
	}
	rcu_assign_pointer(rh->t, t);
	call_rcu(&old->rcu, table_free_rcu);
	return 0;
}

int evr_rcuhash_add(struct evr_rcuhash *rh, uint64_t h, void *node)
{
	struct evr_rcuhash_table *t = rh->t;
	/* keep load (incl. tombstones) <= 3/4 so probe runs stay short */
	if ((t->used + 1) * 4 > (t->mask + 1) * 3) {
		/* mostly tombstones: rebuild at about this size; else grow, by 4x
		 * (load 3/16 after) or for a compact map by 2x (3/8 after) */
		uint64_t want = t->live + 1;
		if (want > (t->mask + 1) / 4 && !rh->compact)
			want *= 2;
		int rc = rebuild(rh, want);
		if (rc)
			return rc;
		t = rh->t;
	}
	table_put(t, evr_rcuhash_fix(h), node);
	return 0;
}

int evr_rcuhash_del(struct evr_rcuhash *rh, uint64_t h, void *node)
{
	struct evr_rcuhash_table *t = rh->t;
	uint64_t fh = evr_rcuhash_fix(h);
	for (uint64_t i = fh & t->mask;; i = (i + 1) & t->mask) {
		uint64_t sh = t->slots[i].hash;
		if (sh == EVR_RCUHASH_EMPTY)
			return -ENOENT;
		if (sh == fh && t->slots[i].node == node) {
			/* node stays readable: a reader may have loaded the hash */
			__atomic_store_n(&t->slots[i].hash, (uint64_t)EVR_RCUHASH_TOMB,
			                 __ATOMIC_RELEASE);
			t->live--;
			return 0;
		}
	}
}

uint64_t evr_rcuhash_bytes(const struct evr_rcuhash *rh)
{
	return rh->t->bytes;
}
