/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: neighbour table (see evr_neigh.h for the concurrency contract).
 *
 * Open addressing with a linear probe window of PROBE_MAX slots from the
 * home slot, hashed over the whole 16-byte key and the port (evr_mix64:
 * IPv4 keys ::ffff:a.b.c.d differ only in their last 4 bytes, so every
 * key bit must reach the low bits that index the table).
 *
 * Entries are reclaimed, never freed: a slot whose entry nobody pins and
 * nobody used lately is re-keyed in place (a slot never returns to FREE,
 * so probe chains stay intact and need no tombstones), and the table
 * never fills for good with failed or forgotten next hops. Only a window full
 * of pinned, static or recently used entries reports -ENOSPC
 * (neigh_table_full): that table is too small for the traffic.
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

#include "util/evr_hash.h"

#define PROBE_MAX 64u

#define W_STATE(w) ((w) & EVR_NS_STATE_MASK)
#define W_PINS(w) ((w) >> EVR_NS_PIN_SHIFT)
#define PIN ((uint32_t)1 << EVR_NS_PIN_SHIFT)

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

uint32_t evr_neigh_hash(uint16_t port, const uint8_t key[16])
{
	uint64_t a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (uint32_t)evr_mix64(a ^ evr_mix64(b ^ ((uint64_t)port << 48)));
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

/* Move the state part of the word from one of the states in `from` (a
 * bit set of 1 << state) to `to`, keeping the pins. Returns the old word
 * or UINT32_MAX if the state was not in `from`. */
static uint32_t set_state(struct evr_neigh_entry *e, uint32_t from, uint32_t to)
{
	uint32_t w = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);

	do {
		if (!(from & (1u << W_STATE(w))))
			return UINT32_MAX;
	} while (!__atomic_compare_exchange_n(&e->state, &w, (w & ~EVR_NS_STATE_MASK) | to,
	                                      false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return w;
}

static uint32_t wait_claimed(struct evr_neigh_entry *e, uint32_t w)
{
	/* The claimer writes 20 bytes and publishes: a few ns. */
	while (W_STATE(w) == EVR_NS_CLAIMING) {
		rte_pause();
		w = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
	}
	return w;
}

/* Pin e if it holds (port, key). The pin is taken before the key is
 * trusted: a reclaimer needs zero pins, so once our increment lands on a
 * live state the key cannot change until we unpin. */
static bool pin_if(struct evr_neigh_entry *e, uint16_t port, const uint8_t key[16])
{
	uint32_t w = __atomic_fetch_add(&e->state, PIN, __ATOMIC_ACQ_REL);
	uint32_t st = W_STATE(w);

	if (st != EVR_NS_FREE && st != EVR_NS_CLAIMING && key_is(e, port, key))
		return true;
	__atomic_fetch_sub(&e->state, PIN, __ATOMIC_RELEASE);
	return false;
}

void evr_neigh_put(struct evr_neigh_table *t, uint32_t slot)
{
	__atomic_fetch_sub(&t->e[slot].state, PIN, __ATOMIC_RELEASE);
}

/* Nobody waits on it and nobody used it lately: the slot may be re-keyed.
 * Failed and never-answered entries go first (rank 2), then reachable
 * ones idle for longer than the reachable time (rank 1, oldest first). */
static int victim_rank(const struct evr_neigh_table *t, const struct evr_neigh_entry *e,
                       uint32_t w, uint64_t now, uint64_t *age)
{
	uint64_t used = __atomic_load_n(&e->used_tsc, __ATOMIC_RELAXED);

	if (W_PINS(w) != 0)
		return 0;
	*age = now - used;
	switch (W_STATE(w)) {
	case EVR_NS_FAILED:
		return 2;
	case EVR_NS_INCOMPLETE:
		/* Unpinned and silent for a whole resolution attempt. */
		return *age > t->retry_tsc * (t->max_retries + 1) ? 2 : 0;
	case EVR_NS_VALID:
		return *age > t->reachable_tsc ? 1 : 0;
	default:
		return 0;
	}
}

static void init_entry(struct evr_neigh_entry *e, uint16_t port, const uint8_t key[16],
                       uint64_t now)
{
	e->port = port;
	e->v6 = !is_v4mapped(key);
	memcpy(e->key, key, 16);
	__atomic_store_n(&e->tries, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->req_tsc, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->updated_tsc, now, __ATOMIC_RELAXED);
	__atomic_store_n(&e->used_tsc, now, __ATOMIC_RELAXED);
}

int evr_neigh_find(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                   bool create, uint64_t now, bool *evicted)
{
	uint32_t h = evr_neigh_hash(port, key);
	uint32_t n = PROBE_MAX <= t->mask + 1 ? PROBE_MAX : t->mask + 1;
	int victim = -1, best = 0;
	uint64_t best_age = 0;

	if (evicted)
		*evicted = false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = (h + i) & t->mask;
		struct evr_neigh_entry *e = &t->e[slot];
		uint32_t w = wait_claimed(e, __atomic_load_n(&e->state, __ATOMIC_ACQUIRE));
		uint64_t age;
		int rank;

		while (W_STATE(w) == EVR_NS_FREE) {
			/* End of the chain: the key is nowhere in the table. */
			if (!create)
				return -ENOENT;
			if (__atomic_compare_exchange_n(&e->state, &w, EVR_NS_CLAIMING | PIN, false,
			                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				init_entry(e, port, key, now);
				set_state(e, 1u << EVR_NS_CLAIMING, EVR_NS_INCOMPLETE);
				return (int)slot;
			}
			/* Lost the race: look at what won. */
			w = wait_claimed(e, w);
		}
		if (key_is(e, port, key) && pin_if(e, port, key))
			return (int)slot;
		rank = create ? victim_rank(t, e, w, now, &age) : 0;
		if (rank > best || (rank == best && rank && age > best_age)) {
			best = rank;
			best_age = age;
			victim = (int)slot;
		}
	}
	if (victim < 0)
		return create ? -ENOSPC : -ENOENT;
	{
		struct evr_neigh_entry *e = &t->e[victim];
		uint32_t w = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);

		/* Only with zero pins: a pinned entry is someone's. */
		if (W_PINS(w) != 0 || W_STATE(w) == EVR_NS_CLAIMING ||
		    !__atomic_compare_exchange_n(&e->state, &w, EVR_NS_CLAIMING | PIN, false,
		                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return -ENOSPC; /* raced: the caller counts it, the next try wins */
		if (evicted)
			*evicted = true;
		init_entry(e, port, key, now);
		set_state(e, 1u << EVR_NS_CLAIMING, EVR_NS_INCOMPLETE);
		return victim;
	}
}

int evr_neigh_learn(struct evr_neigh_table *t, uint16_t port, const uint8_t key[16],
                    const struct rte_ether_addr *mac, uint64_t now)
{
	uint32_t h = evr_neigh_hash(port, key);
	uint32_t n = PROBE_MAX <= t->mask + 1 ? PROBE_MAX : t->mask + 1;
	int found = -ENOENT;

	/* Every copy in the window: two workers creating the same key while
	 * a third reclaims a slot ahead of it can leave a duplicate, and each
	 * must resolve. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = (h + i) & t->mask;
		struct evr_neigh_entry *e = &t->e[slot];
		uint32_t w = wait_claimed(e, __atomic_load_n(&e->state, __ATOMIC_ACQUIRE));
		uint32_t old;

		if (W_STATE(w) == EVR_NS_FREE)
			break;
		if (!key_is(e, port, key) || !pin_if(e, port, key))
			continue;
		found = 0;
		if (W_STATE(__atomic_load_n(&e->state, __ATOMIC_ACQUIRE)) != EVR_NS_STATIC) {
			__atomic_store_n(&e->mac, mac_word(mac), __ATOMIC_RELAXED);
			__atomic_store_n(&e->updated_tsc, now, __ATOMIC_RELAXED);
			__atomic_store_n(&e->tries, 0, __ATOMIC_RELAXED);
			old = set_state(e, (1u << EVR_NS_INCOMPLETE) | (1u << EVR_NS_VALID) |
			                           (1u << EVR_NS_FAILED),
			                EVR_NS_VALID);
			if (old != UINT32_MAX && W_STATE(old) != EVR_NS_VALID)
				__atomic_fetch_add(&t->gen, 1, __ATOMIC_RELEASE);
		}
		evr_neigh_put(t, slot);
	}
	return found;
}

int evr_neigh_add_static(struct evr_neigh_table *t, uint16_t port,
                         const uint8_t key[16], const struct rte_ether_addr *mac)
{
	int slot = evr_neigh_find(t, port, key, true, 0, NULL);

	if (slot < 0)
		return slot;
	__atomic_store_n(&t->e[slot].mac, mac_word(mac), __ATOMIC_RELAXED);
	set_state(&t->e[slot], ~0u, EVR_NS_STATIC);
	evr_neigh_put(t, (uint32_t)slot);
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
	uint32_t st = W_STATE(__atomic_load_n(&e->state, __ATOMIC_ACQUIRE));
	uint64_t w;

	*solicit = false;
	/* Recency for reclaiming; written at most once per retry interval
	 * so busy next hops do not bounce the line between workers. */
	if (now - __atomic_load_n(&e->used_tsc, __ATOMIC_RELAXED) > t->retry_tsc)
		__atomic_store_n(&e->used_tsc, now, __ATOMIC_RELAXED);
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
		if (set_state(e, 1u << EVR_NS_FAILED, EVR_NS_INCOMPLETE) != UINT32_MAX) {
			__atomic_store_n(&e->tries, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&e->req_tsc, 0, __ATOMIC_RELAXED);
		}
		/* fall through */
	case EVR_NS_INCOMPLETE:
		if (claim_request(t, e, now)) {
			uint32_t n = __atomic_add_fetch(&e->tries, 1, __ATOMIC_RELAXED);

			if (n > t->max_retries) {
				__atomic_store_n(&e->updated_tsc, now, __ATOMIC_RELAXED);
				if (set_state(e, 1u << EVR_NS_INCOMPLETE, EVR_NS_FAILED) != UINT32_MAX)
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
