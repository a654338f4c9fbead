/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for evr_decode_json(): see fuzz_decode_common.h. */
#define FUZZ_FMT EVR_FMT_JSON
#define FUZZ_DECODE evr_decode_json
#include "fuzz_decode_common.h"
