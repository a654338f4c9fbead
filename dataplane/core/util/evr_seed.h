/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A seed for a hash table's placement (dedupe, rate-limit tables), so that
 * a flood cannot aim its keys at one bucket without knowing it. Init time,
 * any thread.
 */
#ifndef EVR_SEED_H
#define EVR_SEED_H

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

static inline uint64_t evr_table_seed(const void *salt)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	/* no entropy yet (early boot): placement only gets less
	 * unpredictable, correctness does not depend on the seed */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)(uintptr_t)salt;
}

#endif /* EVR_SEED_H */
