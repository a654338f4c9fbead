/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Neighbour table hash (dataplane/evrd/evr_neigh.c, evr_neigh_hash): pure,
 * no EAL. IPv4 keys (::ffff:a.b.c.d) differ only in their last 4 bytes;
 * every one of those bits must reach the low bits that pick the home
 * slot (issue 8 item 5: 10,000 addresses of one /17 all had one home
 * slot of 4,096, and 40 addresses of one /24 overflowed a 32-slot probe).
 */
#include <arpa/inet.h>

#include "evr_neigh.h"
#include "evr_test.h"

/* Distinct home slots and the largest number of keys sharing one. */
static void spread(uint32_t n, uint32_t first, uint32_t table, uint16_t port,
                   uint32_t *distinct, uint32_t *maxload)
{
	static uint16_t load[1u << 16];
	uint8_t key[16];

	memset(load, 0, sizeof(load));
	*distinct = *maxload = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h;

		evr_neigh_key4(key, htonl(first + i));
		h = evr_neigh_hash(port, key) & (table - 1);
		if (load[h]++ == 0)
			(*distinct)++;
		if (load[h] > *maxload)
			*maxload = load[h];
	}
}

int main(void)
{
	uint32_t d, m;
	uint8_t k1[16], k2[16];

	/* 10,000 addresses of 10.0.0.0/17 in 4,096 slots: a uniform hash
	 * leaves ~3,700 slots used and no slot with more than ~12. */
	spread(10000, 0x0a000000u, 4096, 0, &d, &m);
	CHECK_MSG(d > 3400 && m <= 16, "/17 in 4096: %u slots used, max %u", d, m);
	/* 40 addresses of one /24 in 64 slots (the e2e's table). */
	spread(40, 0xc6120101u, 64, 0, &d, &m);
	CHECK_MSG(d >= 20 && m <= 5, "/24 x40 in 64: %u slots used, max %u", d, m);
	/* Port is part of the key; so are the IPv6 bytes 0-11. */
	evr_neigh_key4(k1, htonl(0xc6120101u));
	CHECK(evr_neigh_hash(0, k1) != evr_neigh_hash(1, k1));
	memcpy(k2, k1, 16);
	k2[0] = 0x20;
	CHECK(evr_neigh_hash(0, k1) != evr_neigh_hash(0, k2));
	/* Stable: the same key always hashes the same. */
	CHECK(evr_neigh_hash(3, k1) == evr_neigh_hash(3, k1));
	EVR_TEST_DONE();
}
