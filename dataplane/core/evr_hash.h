/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hash finalisers shared by the core's tables (matcher index, SIP state).
 * Values stay the same across builds, processes and restarts: the SIP
 * state derives visible identifiers (Unique-ID) and the worker owning a
 * Call-ID from them. Header-only; any thread.
 */
#ifndef EVR_HASH_H
#define EVR_HASH_H

#include <stdint.h>

/* 64-bit finaliser (MurmurHash3 fmix64): every input bit reaches every
 * output bit, so low bits index tables and high bits fill bitmaps. */
static inline uint64_t evr_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

#endif /* EVR_HASH_H */
