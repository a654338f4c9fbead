/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the IP reassembly table (evr_reasm). The input is a
 * sequence of 6-byte records: datagram id (a small key space so datagrams
 * collide), offset in 8-byte units, length, flags (more, IPv6, time
 * advance). The contract is checked, a violation aborts:
 *  - the table never holds more than its flows and fragments bounds;
 *  - a completed datagram's fragments tile [0, total) in order and
 *    total <= the length limit;
 *  - every fragment handed in comes back exactly once: released by the
 *    table (dropped, including at destroy) or delivered.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/evr_reasm.h"

#define FLOWS 8
#define FRAGS 64

static struct {
	uint32_t off, len;
	uint8_t state; /* 1 held, 2 released, 3 delivered */
} F[8192];
static uint32_t nf;

static void release(void *ctx, void *frag)
{
	uintptr_t i = (uintptr_t)frag - 1;

	(void)ctx;
	if (i >= nf || F[i].state != 1)
		abort();
	F[i].state = 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evr_reasm *r = evr_reasm_create(FLOWS, FRAGS, 50, 1, release, NULL);
	struct evr_reasm_out o;
	uint64_t now = 0;

	if (r == NULL)
		abort();
	nf = 0;
	for (size_t p = 0; p + 6 <= size && nf < 8192; p += 6) {
		struct evr_reasm_key k;
		uint32_t off = (uint32_t)((data[p + 1] | data[p + 2] << 8) & 0x1fff) * 8;
		uint32_t len = (uint32_t)(data[p + 3] | data[p + 4] << 8);
		uint8_t fl = data[p + 5];
		uint32_t max = (fl & 2) ? 65535 : 65515;
		enum evr_reasm_rc rc;

		memset(&k, 0, sizeof(k));
		k.id = data[p] & 15;
		k.v6 = (fl & 2) != 0;
		k.proto = k.v6 ? 0 : 17;
		now += fl >> 4;
		F[nf].off = off;
		F[nf].len = len;
		F[nf].state = 1;
		nf++;
		rc = evr_reasm_add(r, &k, off, len, fl & 1, max, (void *)(uintptr_t)nf, now, &o);
		if (rc == EVR_REASM_DONE) {
			uint32_t at = 0;

			for (uint32_t i = 0; i < o.n; i++) {
				uintptr_t x = (uintptr_t)o.frags[i] - 1;

				if (x >= nf || F[x].state != 1 || F[x].off != at)
					abort();
				at += F[x].len;
				F[x].state = 3;
			}
			if (at != o.total || o.total > max)
				abort();
		}
		if (fl & 4)
			evr_reasm_expire(r, now);
		if (evr_reasm_flows(r) > FLOWS || evr_reasm_held(r) > FRAGS)
			abort();
	}
	evr_reasm_destroy(r);
	for (uint32_t i = 0; i < nf; i++)
		if (F[i].state != 2 && F[i].state != 3)
			abort();
	return 0;
}
