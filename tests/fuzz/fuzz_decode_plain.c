/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for evr_decode_plain(): see fuzz_decode_common.h. */
#define FUZZ_FMT EVR_FMT_PLAIN
#define FUZZ_DECODE evr_decode_plain
#include "fuzz_decode_common.h"
