/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Neighbour table (ARP for IPv4, ND for IPv6), shared by all workers.
 *
 * Any worker may learn (an ARP reply or NA arrives on whatever queue the
 * NIC picks) and any worker may need a MAC, so the table is one fixed array
 * of cache-line entries, lock-free: a slot is claimed once by CAS and its
 * key never changes afterwards (entries are refreshed, never deleted), the
 * MAC is one 64-bit word, state and timestamps are single atomics. Workers
 * never block on it; the only wait is a bounded spin while another worker
 * writes the key of a slot it has just claimed.
 *
 * Keys are 16 bytes: IPv6 addresses as they are, IPv4 as ::ffff:a.b.c.d;
 * the port index is part of the key.
 *
 * Notifications waiting for resolution are not here: each worker keeps its
 * own bounded FIFO (struct evr_worker.pend) so per-destination order holds
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
	EVR_NS_STATIC,     /* from the config: never changes */
};

struct evr_neigh_entry {
	uint32_t state;       /* atomic */
	uint16_t port;
	uint16_t v6;
	uint8_t key[16];
	uint64_t mac;         /* atomic; low 48 bits, byte 0 first */
	uint64_t updated_tsc; /* atomic: learned (VALID) or failed (FAILED) */
	uint64_t req_tsc;     /* atomic: last request, CAS-claimed by a sender */
	uint32_t tries;       /* atomic */
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

/* Slot of (port, key), creating an INCOMPLETE entry if asked.
 * >= 0, -ENOENT (not there, create false) or -ENOSPC. Any thread. */
int evr_neigh_find(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                   bool create);
/* Learn a MAC. create: also for an address we never asked about. */
void evr_neigh_learn(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                     const struct rte_ether_addr *mac, bool create, uint64_t now);
/* Init-time: static entry. 0 or -ENOSPC. */
int evr_neigh_add_static(struct evr_neigh_table *t, uint16_t port,
                         const uint8_t key[16], const struct rte_ether_addr *mac);

enum evr_neigh_use {
	EVR_NU_SEND = 0, /* mac filled */
	EVR_NU_WAIT,     /* resolution in progress */
	EVR_NU_FAILED,   /* unresolvable for now */
};
/* What a sender should do with slot now. *solicit is set when this caller
 * won the right to send a request (rate-limited, one sender per interval). */
enum evr_neigh_use evr_neigh_use(struct evr_neigh_table *t, uint32_t slot,
                                 uint64_t now, struct rte_ether_addr *mac,
                                 bool *solicit);

static inline uint64_t evr_neigh_gen(const struct evr_neigh_table *t)
{
	return __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
}

#endif /* EVR_NEIGH_H */
