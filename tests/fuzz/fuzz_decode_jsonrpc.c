/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for evr_decode_jsonrpc(): see fuzz_decode_common.h. */
#define FUZZ_FMT EVR_FMT_JSONRPC
#define FUZZ_DECODE evr_decode_jsonrpc
#include "fuzz_decode_common.h"
