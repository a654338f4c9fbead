/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the SIP-family fuzzers: contract checks that abort (so
 * libFuzzer keeps the input) and the bounds every zero-copy view must stay
 * in. The target sets lo/hi to the heap copy of its input (exactly its
 * size, so ASan also sees a read past the end).
 */
#ifndef FUZZ_VIEWS_H
#define FUZZ_VIEWS_H

#include <stdbool.h>
#include <stdlib.h>

#include "sip/evr_sip.h"

static const char *lo, *hi;

static inline void check(bool ok)
{
	if (!ok)
		abort();
}

/* Absent ({NULL, 0}) or inside [lo, hi). */
static inline void check_view(struct evr_sip_str v)
{
	if (v.p == NULL) {
		check(v.len == 0);
		return;
	}
	check(v.p >= lo && v.p <= hi && v.len <= (size_t)(hi - v.p));
}

#endif /* FUZZ_VIEWS_H */
