/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hash finalisers shared by the core's tables (matcher index, SIP state).
 * Values stay the same across builds, processes and restarts: the SIP
 * state derives visible identifiers (Unique-ID) and the worker owning a
 * Call-ID from them. Header-only; any thread.
 */
#ifndef EVR_HASH_H
#define EVR_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* FNV-1a offset basis and prime: byte-at-a-time hashes of short keys. */
#define EVR_HASH_SEED 0xcbf29ce484222325ULL
#define EVR_HASH_MUL  0x100000001b3ULL

/* FNV-1a over n bytes, continuing from h (EVR_HASH_SEED to start). */
static inline uint64_t evr_fnv1a(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * EVR_HASH_MUL;
	return h;
}

/* ASCII A-Z -> a-z in all eight bytes of w at once; other bytes as they are. */
static inline uint64_t evr_lower8(uint64_t w)
{
	uint64_t low7 = w & 0x7f7f7f7f7f7f7f7fULL;
	uint64_t ge_a = low7 + 0x3f3f3f3f3f3f3f3fULL; /* bit 7 set iff >= 'A' */
	uint64_t gt_z = low7 + 0x2525252525252525ULL; /* bit 7 set iff > 'Z' */
	uint64_t upper = (ge_a ^ gt_z) & ~w & 0x8080808080808080ULL;

	return w | (upper >> 2); /* 0x80 >> 2 = 0x20, the case bit */
}

/*
 * Case-insensitive hash of a name (event names, attribute keys): eight
 * bytes per multiply. Every attribute of every event is hashed before its
 * key is looked up, and SIP-derived events carry 20-odd attributes, so a
 * byte-at-a-time FNV chain was a visible share of matching.
 */
static inline uint64_t evr_hash_lc(const char *p, size_t n)
{
	uint64_t h = EVR_HASH_SEED ^ ((uint64_t)n * EVR_HASH_MUL);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ evr_lower8(w)) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	if (i < n) {
		/* Tail by bytes: a variable-length memcpy here is a libc call. */
		uint64_t w = 0;

		for (unsigned k = 0; i + k < n; k++)
			w |= (uint64_t)(unsigned char)p[i + k] << (8 * k);
		h = (h ^ evr_lower8(w)) * 0x9e3779b97f4a7c15ULL;
	}
	return evr_mix64(h);
}

/*
 * An IP address as a 16-byte key (IPv4 in the first 4, the rest zero) and
 * its seeded hash; extra mixes in what else tells keys apart (family,
 * port). The rate-limit tables (evr_srclimit.c, evr_destlimit.c) place
 * their entries with it.
 */
static inline uint64_t evr_addr_key(uint8_t key[16], uint8_t family, const uint8_t *addr,
                                    uint64_t seed, uint64_t extra)
{
	uint64_t w0, w1;

	memset(key, 0, 16);
	memcpy(key, addr, family == 6 ? 16 : 4);
	memcpy(&w0, key, 8);
	memcpy(&w1, key + 8, 8);
	return evr_mix64(w0 ^ seed) ^ evr_mix64(w1 + extra + seed);
}

#endif /* EVR_HASH_H */
