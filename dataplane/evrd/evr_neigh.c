/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: neighbour table (see evr_neigh.h for the concurrency contract).
 *
 * Open addressing with a short linear probe: the table is sized by the
 * operator for the number of next hops (subscribers on the link plus
 * gateways), which is small, and entries are never deleted, so probing
 * never meets tombstones. A full probe window is reported as
 * neigh_table_full by the caller rather than evicting: eviction would
 * need a way to tell the workers' waiting queues, and a table too small is
 * a configuration error the counter makes visible.
 *
 * Request pacing lives in the entry (req_tsc claimed by CAS), so however
 * many workers wait for the same next hop, one request goes out per
 * retry interval.
 */
#include "evr_neigh.h"

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_pause.h>

#define PROBE_MAX 32

struct evr_neigh_table *evr_neigh_create(uint32_t size, uint32_t reachable_s,
                                         uint32_t retry_ms, uint32_t max_retries,
                                         uint64_t tsc_hz, int socket)
{
	struct evr_neigh_table *t;

	t = rte_zmalloc_socket("evr_neigh", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->e = rte_zmalloc_socket("evr_neigh_e", sizeof(*t->e) * size,
	                          RTE_CACHE_LINE_SIZE, socket);
	if (t->e == NULL) {
		rte_free(t);
		return NULL;
	}
	t->mask = size - 1;
	t->max_retries = max_retries;
	t->reachable_tsc = tsc_hz * reachable_s;
	t->retry_tsc = tsc_hz * retry_ms / 1000;
	return t;
}

void evr_neigh_free(struct evr_neigh_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->e);
	rte_free(t);
}

void evr_neigh_key4(uint8_t key[16], rte_be32_t ip)
{
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &ip, 4);
}

static bool is_v4mapped(const uint8_t key[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(key, pfx, 12) == 0;
}

static uint32_t key_hash(uint16_t port, const uint8_t key[16])
{
	uint64_t a, b, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = (a * 0x9e3779b97f4a7c15ull) ^ (b + port) * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(h ^ (h >> 29));
}

static uint64_t mac_word(const struct rte_ether_addr *mac)
{
	uint64_t w = 0;

	memcpy(&w, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	return w;
}

static bool key_is(const struct evr_neigh_entry *e, uint16_t port,
                   const uint8_t key[16])
{
	return e->port == port && memcmp(e->key, key, 16) == 0;
}

int evr_neigh_find(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                   bool create)
{
	uint32_t h = key_hash(port, key);

	for (uint32_t i = 0; i < PROBE_MAX && i <= t->mask; i++) {
		uint32_t slot = (h + i) & t->mask;
		struct evr_neigh_entry *e = &t->e[slot];
		uint32_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);

		if (st == EVR_NS_FREE) {
			uint32_t exp = EVR_NS_FREE;

			if (!create)
				return -ENOENT;
			if (__atomic_compare_exchange_n(&e->state, &exp, EVR_NS_CLAIMING,
			                                false, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE)) {
				e->port = port;
				e->v6 = !is_v4mapped(key);
				memcpy(e->key, key, 16);
				__atomic_store_n(&e->tries, 0, __ATOMIC_RELAXED);
				__atomic_store_n(&e->req_tsc, 0, __ATOMIC_RELAXED);
				__atomic_store_n(&e->state, EVR_NS_INCOMPLETE,
				                 __ATOMIC_RELEASE);
				return (int)slot;
			}
			st = exp; /* lost the race: look at what won */
		}
		/* The claimer writes 20 bytes and publishes: a few ns. */
		while (st == EVR_NS_CLAIMING) {
			rte_pause();
			st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
		}
		if (key_is(e, port, key))
			return (int)slot;
	}
	return -ENOSPC;
}

void evr_neigh_learn(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                     const struct rte_ether_addr *mac, bool create, uint64_t now)
{
	int slot = evr_neigh_find(t, port, key, create);
	struct evr_neigh_entry *e;
	uint32_t st;

	if (slot < 0)
		return;
	e = &t->e[slot];
	st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
	if (st == EVR_NS_STATIC)
		return;
	__atomic_store_n(&e->mac, mac_word(mac), __ATOMIC_RELAXED);
	__atomic_store_n(&e->updated_tsc, now, __ATOMIC_RELAXED);
	__atomic_store_n(&e->tries, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->state, EVR_NS_VALID, __ATOMIC_RELEASE);
	if (st != EVR_NS_VALID)
		__atomic_fetch_add(&t->gen, 1, __ATOMIC_RELEASE);
}

int evr_neigh_add_static(struct evr_neigh_table *t, uint16_t port,
                         const uint8_t key[16], const struct rte_ether_addr *mac)
{
	int slot = evr_neigh_find(t, port, key, true);

	if (slot < 0)
		return slot;
	__atomic_store_n(&t->e[slot].mac, mac_word(mac), __ATOMIC_RELAXED);
	__atomic_store_n(&t->e[slot].state, EVR_NS_STATIC, __ATOMIC_RELEASE);
	return 0;
}

/* One request per retry interval per entry, whoever asks. */
static bool claim_request(struct evr_neigh_table *t, struct evr_neigh_entry *e,
                          uint64_t now)
{
	uint64_t last = __atomic_load_n(&e->req_tsc, __ATOMIC_RELAXED);

	if (last != 0 && now - last < t->retry_tsc)
		return false;
	return __atomic_compare_exchange_n(&e->req_tsc, &last, now, false,
	                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

enum evr_neigh_use evr_neigh_use(struct evr_neigh_table *t, uint32_t slot,
                                 uint64_t now, struct rte_ether_addr *mac,
                                 bool *solicit)
{
	struct evr_neigh_entry *e = &t->e[slot];
	uint32_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
	uint64_t w;

	*solicit = false;
	switch (st) {
	case EVR_NS_STATIC:
	case EVR_NS_VALID:
		w = __atomic_load_n(&e->mac, __ATOMIC_RELAXED);
		memcpy(mac->addr_bytes, &w, RTE_ETHER_ADDR_LEN);
		/* Past reachable time: keep using it, ask again (a reply
		 * refreshes it; silence keeps the old MAC, as a stale
		 * entry on a quiet link is still the best guess). */
		if (st == EVR_NS_VALID &&
		    now - __atomic_load_n(&e->updated_tsc, __ATOMIC_RELAXED) > t->reachable_tsc)
			*solicit = claim_request(t, e, now);
		return EVR_NU_SEND;
	case EVR_NS_FAILED:
		/* Hold down for as long as the failed attempt took, then
		 * try again: the subscriber may have come back. */
		if (now - __atomic_load_n(&e->updated_tsc, __ATOMIC_RELAXED) <
		    t->retry_tsc * t->max_retries)
			return EVR_NU_FAILED;
		{
			uint32_t exp = EVR_NS_FAILED;

			if (__atomic_compare_exchange_n(&e->state, &exp, EVR_NS_INCOMPLETE,
			                                false, __ATOMIC_ACQ_REL,
			                                __ATOMIC_RELAXED)) {
				__atomic_store_n(&e->tries, 0, __ATOMIC_RELAXED);
				__atomic_store_n(&e->req_tsc, 0, __ATOMIC_RELAXED);
			}
		}
		/* fall through */
	case EVR_NS_INCOMPLETE:
		if (claim_request(t, e, now)) {
			uint32_t n = __atomic_add_fetch(&e->tries, 1, __ATOMIC_RELAXED);

			if (n > t->max_retries) {
				uint32_t exp = EVR_NS_INCOMPLETE;

				__atomic_store_n(&e->updated_tsc, now, __ATOMIC_RELAXED);
				if (__atomic_compare_exchange_n(&e->state, &exp, EVR_NS_FAILED,
				                                false, __ATOMIC_ACQ_REL,
				                                __ATOMIC_RELAXED))
					__atomic_fetch_add(&t->gen, 1, __ATOMIC_RELEASE);
				return EVR_NU_FAILED;
			}
			*solicit = true;
		}
		return EVR_NU_WAIT;
	default:
		return EVR_NU_WAIT;
	}
}
