/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Neighbour table (ARP for IPv4, ND for IPv6), shared by all workers.
 *
 * Any worker may learn (an ARP reply or NA arrives on whatever queue the
 * NIC picks) and any worker may need a MAC, so the table is one fixed array
 * of cache-line entries, lock-free. The MAC is one 64-bit word, timestamps
 * are single atomics, and `state` is one 32-bit atomic word holding the
 * state (low 8 bits) and a pin count (the rest).
 *
 * Ownership: a slot's key is written only by the thread that moved its
 * word to CLAIMING by CAS, either from FREE or, to reclaim the slot, from
 * an unpinned FAILED / INCOMPLETE / idle VALID state (never from STATIC).
 * Any thread that holds a slot index beyond one lookup holds a pin:
 * evr_neigh_find() returns the slot pinned and the holder calls
 * evr_neigh_put() when done (the TX path keeps the pin for as long as a
 * notification waits in its queue, so a waited-for entry is never
 * reclaimed). A pin is taken before the key is trusted, and reclaiming
 * needs a zero pin count in the same CAS, so a pinned slot's key is
 * stable. Reclaiming happens inline in whichever worker creates an entry
 * and finds its probe window full: no sweeper thread, no lock. Workers
 * never block; the only wait is a bounded spin while another worker
 * writes the key of a slot it has just claimed.
 *
 * Keys are 16 bytes: IPv6 addresses as they are, IPv4 as ::ffff:a.b.c.d;
 * the port index is part of the key.
 *
 * Notifications waiting for resolution are not here: each worker keeps its
 * own bounded FIFO (struct evr_worker.waiting) so per-destination order holds
 * and no queue is shared. `gen` changes whenever an entry resolves or fails,
 * telling workers to look at their waiting notifications again.
 */
#ifndef EVR_NEIGH_H
#define EVR_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

enum evr_neigh_state {
	EVR_NS_FREE = 0,
	EVR_NS_CLAIMING,   /* key being written */
	EVR_NS_INCOMPLETE, /* requests sent, no answer yet */
	EVR_NS_VALID,      /* learned; refreshed after reachable time */
	EVR_NS_FAILED,     /* max_retries requests unanswered */
	EVR_NS_STATIC,     /* from the config: never changes, never reclaimed */
};

#define EVR_NS_STATE_MASK 0xffu
#define EVR_NS_PIN_SHIFT 8

static inline uint32_t evr_neigh_state_of(uint32_t word)
{
	return word & EVR_NS_STATE_MASK;
}

struct evr_neigh_entry {
	uint32_t state;       /* atomic: enum evr_neigh_state | pins << 8 */
	uint16_t port;
	uint16_t v6;
	uint8_t key[16];
	uint64_t mac;         /* atomic; low 48 bits, byte 0 first */
	uint64_t updated_tsc; /* atomic: learned (VALID) or failed (FAILED) */
	uint64_t req_tsc;     /* atomic: last request, CAS-claimed by a sender */
	uint32_t tries;       /* atomic */
	uint64_t used_tsc;    /* atomic: created or last used to send (coarse) */
} __rte_cache_aligned;

struct evr_neigh_table {
	uint32_t mask;
	uint32_t max_retries;
	uint64_t reachable_tsc;
	uint64_t retry_tsc;
	uint64_t gen __rte_cache_aligned; /* atomic */
	struct evr_neigh_entry *e;
};

/* Init-time (main lcore). NULL on failure. */
struct evr_neigh_table *evr_neigh_create(uint32_t size, uint32_t reachable_s,
                                         uint32_t retry_ms, uint32_t max_retries,
                                         uint64_t tsc_hz, int socket);
void evr_neigh_free(struct evr_neigh_table *t);

void evr_neigh_key4(uint8_t key[16], rte_be32_t ip);

/* Table index hash of (port, key): every key bit reaches the low bits.
 * Pure; exported for the unit test. */
uint32_t evr_neigh_hash(uint16_t port, const uint8_t key[16]);

/* Slot of (port, key), PINNED (release with evr_neigh_put), creating an
 * INCOMPLETE entry if asked; to create, an unpinned failed, unanswered or
 * idle entry in the probe window may be reclaimed (*evicted set).
 * >= 0, -ENOENT (not there, create false) or -ENOSPC (window full of
 * pinned, static or busy entries). Any thread. */
int evr_neigh_find(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                   bool create, uint64_t now, bool *evicted);
void evr_neigh_put(struct evr_neigh_table *t, uint32_t slot);
/* Merge a MAC into an existing entry (never creates one: entries exist
 * because we need the address; RFC 826 merge, RFC 4861 7.2.5).
 * 0 if an entry took it, -ENOENT if there is none. Any thread. */
int evr_neigh_learn(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                    const struct rte_ether_addr *mac, uint64_t now);
/* Init-time: static entry. 0 or -ENOSPC. */
int evr_neigh_add_static(struct evr_neigh_table *t, uint16_t port,
                         const uint8_t key[16], const struct rte_ether_addr *mac);

enum evr_neigh_use {
	EVR_NU_SEND = 0, /* mac filled */
	EVR_NU_WAIT,     /* resolution in progress */
	EVR_NU_FAILED,   /* unresolvable for now */
};
/* What a sender should do with slot (pinned by the caller) now. *solicit is set when this caller
 * won the right to send a request (rate-limited, one sender per interval). */
enum evr_neigh_use evr_neigh_use(struct evr_neigh_table *t, uint32_t slot,
                                 uint64_t now, struct rte_ether_addr *mac,
                                 bool *solicit);

static inline uint64_t evr_neigh_gen(const struct evr_neigh_table *t)
{
	return __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
}

#endif /* EVR_NEIGH_H */
