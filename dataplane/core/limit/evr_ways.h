/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The limiters' tables (evr_destlimit.c, evr_srclimit.c): set-associative,
 * EVR_WAYS slots a set, a power-of-two number of sets, so a lookup is one
 * hash, one mask and a scan of one cache-friendly set, and memory is
 * bounded at create. Private to limit/.
 */
#ifndef EVR_WAYS_H
#define EVR_WAYS_H

#include <stdint.h>
#include <stdlib.h>

#define EVR_WAYS 8u

/* Zeroed slots (slot_size bytes each) for at least want of them: *mask
 * becomes the set count less one. NULL when out of memory. */
static inline void *evr_ways_alloc(uint32_t want, size_t slot_size, uint32_t *mask)
{
	uint32_t n = EVR_WAYS;
	void *v;

	while (n < want)
		n <<= 1;
	v = calloc(n, slot_size);
	if (v)
		*mask = n / EVR_WAYS - 1;
	return v;
}

#endif /* EVR_WAYS_H */
