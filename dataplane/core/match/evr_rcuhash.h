/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RCU open-addressing multimap: 64-bit hash -> node pointer, duplicates
 * allowed. Built for the matcher's read path, where liburcu's lfht costs a
 * chain of cache-cold node visits per probe: here a probe reads one 16-byte
 * slot (usually one cache line) and touches a node only when the full hash
 * matches, and callers can prefetch the home slots of a whole batch.
 *
 * Concurrency: one writer at a time (the matcher lock), any number of
 * readers inside an RCU read-side section (QSBR online). Writers never turn
 * an occupied slot back into an empty one (removal leaves a tombstone), so a
 * reader's probe sequence is never cut short; a slot is filled by storing the
 * node, then the hash with release semantics. A reused tombstone may show a
 * reader a different node than the one it hashed to: readers always verify
 * the node's key.
 *
 * Growth (or purging tombstones) is incremental, so no writer call holds the
 * matcher lock for a pass over the whole table (a one-pass rebuild of the
 * index, id and identity maps at ~786k entries held it for a quarter of a
 * second, and the control thread with it; issue 13). Once the load
 * (tombstones included) passes 5/8, the next table is allocated as a shadow
 * that only the writer sees, and every writer call copies the next
 * EVR_RCUHASH_STEP slots of the current table into it (a copy cursor). An
 * add that lands in the current table below the cursor is also put in the
 * shadow; a delete of an entry below the cursor also removes it from the
 * shadow; above the cursor the copy will see the change. When the cursor
 * reaches the end, the shadow holds exactly the live entries and is
 * published with rcu_assign_pointer; the old table is freed with call_rcu.
 * STEP slots per call finish the copy within (1/16 of the table) adds, so
 * the load stays under 3/4 as before. Before the copy, the shadow's memory
 * is faulted in one huge page every few writer calls (up to 256, within
 * the first half of the slack): the copy writes at random, and faulting a
 * whole fresh table in a few calls cost tens of ms each (a 2 MiB fault is
 * 2-9 ms on a virtual machine, and the index, id and identity maps grow at
 * the same subscription). Readers only ever see one table: the
 * read path is unchanged.
 */
#ifndef EVR_RCUHASH_H
#define EVR_RCUHASH_H

#include <stdbool.h>
#include <stdint.h>

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu-qsbr.h>

#define EVR_RCUHASH_EMPTY 0u
#define EVR_RCUHASH_TOMB 1u

struct evr_rcuhash_slot {
	uint64_t hash; /* EVR_RCUHASH_EMPTY, EVR_RCUHASH_TOMB, or a (fixed-up) hash */
	void *node;
};

struct evr_rcuhash_table {
	uint64_t mask;
	uint64_t used; /* live + tombstones (writer) */
	uint64_t live; /* (writer) */
	uint64_t bytes; /* allocation size */
	struct rcu_head rcu;
	struct evr_rcuhash_slot slots[];
};

struct evr_rcuhash {
	struct evr_rcuhash_table *t; /* RCU: the table readers probe */
	struct evr_rcuhash_table *next; /* writer: the shadow being filled, or NULL */
	uint64_t cursor;   /* writer: t's slots [0, cursor) are in next */
	uint64_t faulted;  /* writer: next's bytes [0, faulted) are faulted in */
	uint32_t fault_every, fault_wait; /* writer: calls per faulted page */
	uint64_t published; /* writer: tables published (growth or purge) */
	/* set before the first add: grow 2x instead of 4x, a load of 3/8..3/4
	 * instead of 3/16..3/4 (longer probe runs, half the slots: at a
	 * million entries 32 bytes an entry instead of 64) */
	bool compact;
};

/* Hash values 0 and 1 are reserved. */
static inline uint64_t evr_rcuhash_fix(uint64_t h)
{
	return h < 2 ? h + 2 : h;
}

/* Reader: the table to probe (once per match call). */
static inline const struct evr_rcuhash_table *evr_rcuhash_read(const struct evr_rcuhash *rh)
{
	return rcu_dereference(((struct evr_rcuhash *)rh)->t);
}

static inline void evr_rcuhash_prefetch(const struct evr_rcuhash_table *t, uint64_t h)
{
	__builtin_prefetch(&t->slots[evr_rcuhash_fix(h) & t->mask]);
}

/* Slots of the current table a writer call copies into the shadow. */
#define EVR_RCUHASH_STEP 16u

/* Writer API (matcher lock held). 0 or -ENOMEM. */
int evr_rcuhash_init(struct evr_rcuhash *rh, uint64_t initial_cap);
void evr_rcuhash_fini(struct evr_rcuhash *rh);
int evr_rcuhash_add(struct evr_rcuhash *rh, uint64_t h, void *node);
/* Remove the slot holding node (hash h). Returns 0 or -ENOENT. */
int evr_rcuhash_del(struct evr_rcuhash *rh, uint64_t h, void *node);
/* Both tables while a copy runs. */
uint64_t evr_rcuhash_bytes(const struct evr_rcuhash *rh);
/* Writer: is a shadow being filled (tests)? */
static inline bool evr_rcuhash_migrating(const struct evr_rcuhash *rh)
{
	return rh->next != NULL;
}

/* Reader: iterate nodes stored under hash h: for (EVR_RCUHASH_FOREACH...) */
#define EVR_RCUHASH_FOREACH(t, h, i, nodevar)                                              \
	for (uint64_t h_##i = evr_rcuhash_fix(h), i = h_##i & (t)->mask;                      \
	     __atomic_load_n(&(t)->slots[i].hash, __ATOMIC_ACQUIRE) != EVR_RCUHASH_EMPTY;     \
	     i = (i + 1) & (t)->mask)                                                   \
		if (__atomic_load_n(&(t)->slots[i].hash, __ATOMIC_ACQUIRE) == h_##i &&  \
		    ((nodevar) = __atomic_load_n(&(t)->slots[i].node, __ATOMIC_RELAXED)) != NULL)

#endif
