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

/* Store node under fixed-up hash h in the first empty or tombstone slot of
 * its probe run; returns the slot index. */
static uint64_t table_put(struct evr_rcuhash_table *t, uint64_t h, void *node)
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
			return i;
		}
		i = (i + 1) & t->mask;
	}
}

/* Tombstone the slot holding node under fixed-up hash h; its index, or
 * UINT64_MAX when absent. */
static uint64_t table_del(struct evr_rcuhash_table *t, uint64_t h, void *node)
{
	for (uint64_t i = h & t->mask;; i = (i + 1) & t->mask) {
		uint64_t sh = t->slots[i].hash;
		if (sh == EVR_RCUHASH_EMPTY)
			return UINT64_MAX;
		if (sh == h && t->slots[i].node == node) {
			/* node stays readable: a reader may have loaded the hash */
			__atomic_store_n(&t->slots[i].hash, (uint64_t)EVR_RCUHASH_TOMB,
			                 __ATOMIC_RELEASE);
			t->live--;
			return i;
		}
	}
}

static void table_free_rcu(struct rcu_head *h)
{
	table_free(caa_container_of(h, struct evr_rcuhash_table, rcu));
}

int evr_rcuhash_init(struct evr_rcuhash *rh, uint64_t initial_cap)
{
	rh->next = NULL;
	rh->cursor = 0;
	rh->published = 0;
	rh->t = table_new(initial_cap);
	return rh->t ? 0 : -ENOMEM;
}

void evr_rcuhash_fini(struct evr_rcuhash *rh)
{
	table_free(rh->t);
	table_free(rh->next);
	rh->t = rh->next = NULL;
}

#define FAULT_STEP (2u << 20) /* a huge page (util/evr_mem.c) */

/* Allocate the shadow: room for the live entries and the adds that can come
 * before the copy ends (1/16 of the table) at a load <= 1/2. Mostly
 * tombstones: about this size; else grow, by 4x (load 3/16 after) or for a
 * compact map by 2x (3/8 after). The memory is touched (page faults, huge
 * pages zeroed) only as the copy fills it, step by step. */
static int migrate_start(struct evr_rcuhash *rh)
{
	const struct evr_rcuhash_table *t = rh->t;
	uint64_t want = t->live + (t->mask + 1) / 16 + 1;
	if (want > (t->mask + 1) / 4 && !rh->compact)
		want *= 2;
	rh->next = table_new(want * 2 + 64);
	if (!rh->next)
		return -ENOMEM;
	rh->cursor = 0;
	rh->faulted = 0;
	/* the pages within 1/32 of the table's adds: the copy gets the rest
	 * of the 1/8 between the start and the 3/4 limit */
	uint64_t pages = (rh->next->bytes + FAULT_STEP - 1) / FAULT_STEP;
	uint64_t every = (t->mask + 1) / 32 / pages;
	rh->fault_every = (uint32_t)(every < 1 ? 1 : every > 256 ? 256 : every);
	/* maps that grow at the same add (index, id, identity) fault at
	 * different calls */
	rh->fault_wait = (uint32_t)(((uintptr_t)rh >> 4) * 0x9e3779b1u % rh->fault_every);
	return 0;
}

/* Fault in the shadow's next page (a write, so one fault, not a read of
 * the zero page and then a copy-on-write one). */
static void fault_step(struct evr_rcuhash *rh)
{
	struct evr_rcuhash_table *nt = rh->next;
	uint64_t off = rh->faulted + FAULT_STEP - 1 < nt->bytes ? rh->faulted + FAULT_STEP - 1
	                                                         : nt->bytes - 1;
	__atomic_fetch_or((char *)nt + off, 0, __ATOMIC_RELAXED);
	rh->faulted = rh->faulted + FAULT_STEP < nt->bytes ? rh->faulted + FAULT_STEP : nt->bytes;
}

/* Copy up to n more slots into the shadow; publish it when the copy is
 * complete. Readers keep the old table until a grace period has passed. */
static void migrate_step(struct evr_rcuhash *rh, uint64_t n)
{
	struct evr_rcuhash_table *old = rh->t, *nt = rh->next;
	if (rh->faulted < nt->bytes) {
		if (n <= old->mask) {
			/* a page every fault_every calls; a forced copy goes on */
			if (++rh->fault_wait >= rh->fault_every) {
				rh->fault_wait = 0;
				fault_step(rh);
			}
			return;
		}
		while (rh->faulted < nt->bytes)
			fault_step(rh);
	}
	uint64_t end = rh->cursor + n;
	if (end > old->mask + 1)
		end = old->mask + 1;
	for (uint64_t i = rh->cursor; i < end; i++) {
		uint64_t sh = old->slots[i].hash;
		if (sh != EVR_RCUHASH_EMPTY && sh != EVR_RCUHASH_TOMB)
			table_put(nt, sh, old->slots[i].node);
	}
	rh->cursor = end;
	if (end <= old->mask)
		return;
	rcu_assign_pointer(rh->t, nt);
	call_rcu(&old->rcu, table_free_rcu);
	rh->next = NULL;
	rh->cursor = 0;
	rh->published++;
}

int evr_rcuhash_add(struct evr_rcuhash *rh, uint64_t h, void *node)
{
	struct evr_rcuhash_table *t = rh->t;
	uint64_t size = t->mask + 1;
	/* start the copy at a load (incl. tombstones) of 5/8; a failed
	 * allocation is retried by the next add */
	if (!rh->next && (t->used + 1) * 8 > size * 5)
		(void)migrate_start(rh);
	if (rh->next) {
		/* keep load <= 3/4 so probe runs stay short: STEP slots per
		 * call get there first; only a copy started late (allocation
		 * failures) finishes in one go */
		migrate_step(rh, (t->used + 1) * 4 > size * 3 ? size : EVR_RCUHASH_STEP);
		t = rh->t;
	}
	if ((t->used + 1) * 4 > (t->mask + 1) * 3)
		return -ENOMEM; /* no shadow could be allocated */
	uint64_t fh = evr_rcuhash_fix(h);
	uint64_t i = table_put(t, fh, node);
	if (rh->next && i < rh->cursor)
		table_put(rh->next, fh, node);
	return 0;
}

int evr_rcuhash_del(struct evr_rcuhash *rh, uint64_t h, void *node)
{
	uint64_t fh = evr_rcuhash_fix(h);
	uint64_t i = table_del(rh->t, fh, node);
	if (i == UINT64_MAX)
		return -ENOENT;
	if (rh->next) {
		if (i < rh->cursor)
			(void)table_del(rh->next, fh, node); /* copied: present */
		migrate_step(rh, EVR_RCUHASH_STEP);
	}
	return 0;
}

uint64_t evr_rcuhash_bytes(const struct evr_rcuhash *rh)
{
	return rh->t->bytes + (rh->next ? rh->next->bytes : 0);
}
