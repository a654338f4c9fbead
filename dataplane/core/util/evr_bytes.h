/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte helpers shared by the core's parsers, decoders, encoders and event
 * builders: SWAR byte scans, ASCII case, hex and decimal text, short copies.
 * One definition each, so a fix or a faster form reaches every user.
 * Header-only, no state; any thread.
 */
#ifndef EVR_BYTES_H
#define EVR_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A string literal as (pointer, length) arguments; the length is folded. */
#define EVR_LIT(s) (s), (sizeof(s) - 1)

/* Non-zero iff some byte of v is zero (exact as to existence; the lowest
 * flagged byte is the first zero byte). */
static inline uint64_t evr_has_zero8(uint64_t v)
{
	return (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull;
}

/* c in all eight bytes. */
static inline uint64_t evr_bcast8(uint8_t c)
{
	return 0x0101010101010101ull * c;
}

/* ASCII A-Z -> a-z; every other byte as it is. */
static inline unsigned char evr_lower(unsigned char c)
{
	return (unsigned)(c - 'A') < 26u ? (unsigned char)(c + 32) : c;
}

/* '0'..'9'. */
static inline bool evr_is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10u;
}

/* Linear white space of SIP and JSON: SP, HTAB, CR, LF. */
static inline bool evr_is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Value of a hex digit (either case), or -1. */
static inline int evr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Lowercase hex digit of the low four bits of v. */
static inline char evr_hex_digit(unsigned v)
{
	return "0123456789abcdef"[v & 0xf];
}

/* Exactly `digits` lowercase hex digits of v, most significant first. */
static inline void evr_hex_lower(char *out, uint64_t v, unsigned digits)
{
	for (unsigned i = 0; i < digits; i++)
		out[i] = evr_hex_digit((unsigned)(v >> (4 * (digits - 1 - i))));
}

/* "00".."99": two decimal digits per table step. */
static inline const char *evr_dec_pairs(void)
{
	static const char d2[201] =
	        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	        "8081828384858687888990919293949596979899";
	return d2;
}

/* Exactly eight digits of v < 10^8, as four independent pairs. */
static inline void evr_dec8(char *out, uint32_t v)
{
	const char *d2 = evr_dec_pairs();
	uint32_t a = v / 10000, b = v % 10000;

	memcpy(out, d2 + 2 * (a / 100), 2);
	memcpy(out + 2, d2 + 2 * (a % 100), 2);
	memcpy(out + 4, d2 + 2 * (b / 100), 2);
	memcpy(out + 6, d2 + 2 * (b % 100), 2);
}

/*
 * Decimal text of v at out (at most 20 bytes, no NUL); returns its length.
 * Every FreeSWITCH event carries a 16-digit microsecond timestamp: the low
 * eight digits are formatted as independent pairs, the rest two digits per
 * step, instead of one dependent division per digit.
 */
static inline size_t evr_u64dec(char *out, uint64_t v)
{
	const char *d2 = evr_dec_pairs();
	char tmp[24];
	size_t n = sizeof(tmp);

	if (v >= 100000000u) {
		size_t hi = evr_u64dec(out, v / 100000000u);

		evr_dec8(out + hi, (uint32_t)(v % 100000000u));
		return hi + 8;
	}
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);

		v /= 100;
		tmp[--n] = d2[2 * r + 1];
		tmp[--n] = d2[2 * r];
	}
	if (v >= 10) {
		tmp[--n] = d2[2 * v + 1];
		tmp[--n] = d2[2 * v];
	} else {
		tmp[--n] = (char)('0' + v);
	}
	memcpy(out, tmp + n, sizeof(tmp) - n);
	return sizeof(tmp) - n;
}

/*
 * Copy n bytes. Most attribute values are a few to a few dozen octets,
 * where a library memcpy call costs more than the copy: up to 16 octets
 * are moved as two overlapping loads and stores (as rte_memcpy does), only
 * longer ones go to memcpy. p may be NULL when n is 0 (an empty view).
 */
static inline void evr_copy_small(char *d, const char *p, size_t n)
{
	if (n >= 8) {
		uint64_t a, b;

		if (n > 16) {
			memcpy(d, p, n);
			return;
		}
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n) {
		d[0] = p[0];
		d[n / 2] = p[n / 2];
		d[n - 1] = p[n - 1];
	}
}

#endif /* EVR_BYTES_H */
