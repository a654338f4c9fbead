/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for evr_hep_parse(). The contract is checked, and a
 * violation aborts so libFuzzer keeps the input:
 *  - the status is a known one, with a name and a text;
 *  - on OK: the payload (non-empty) and the other octet views lie inside the
 *    input, the family is 4/6 and matches ip_family, proto_type is SIP,
 *    microseconds < 1e6, flow.ts_us agrees with them, the total length
 *    field equals the input length;
 *  - parsing is stateless (a second parse agrees);
 *  - on OK, evr_hep_build() of the result parses back to the same fields
 *    (the build/parse pair is a round trip for everything it carries).
 * The input is copied into a heap buffer of exactly its size so ASan sees
 * any read past the end.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/evr_hep.h"
#include "fuzz_views.h"


static bool view_eq(struct evr_sip_str a, struct evr_sip_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[70000];
	struct evr_hep h, h2, h3;
	enum evr_hep_status st;
	char *buf;
	int n;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	lo = buf;
	hi = buf + size;

	st = evr_hep_parse(buf, size, &h);
	check((unsigned)st < EVR_HEP__COUNT);
	check(evr_hep_status_name(st) != NULL && evr_hep_status_text(st) != NULL);
	check(evr_hep_parse(buf, size, &h2) == st);
	if (st == EVR_HEP_OK) {
		check_view(h.payload);
		check_view(h.auth_key);
		check_view(h.correlation_id);
		check(h.payload.len > 0);
		check(size >= 6 && (size_t)((unsigned char)buf[4] << 8 | (unsigned char)buf[5]) == size);
		check((h.flow.family == 4 && h.ip_family == EVR_HEP_AF_INET) ||
		      (h.flow.family == 6 && h.ip_family == EVR_HEP_AF_INET6));
		check(h.proto_type == EVR_HEP_PROTO_SIP);
		check(h.ts_usec < 1000000u);
		check(h.flow.ts_us == (uint64_t)h.ts_sec * 1000000u + h.ts_usec);
		check(memcmp(&h, &h2, sizeof(h)) == 0);
		if (h.flow.family == 4)
			for (int i = 4; i < 16; i++)
				check(h.flow.src[i] == 0 && h.flow.dst[i] == 0);

		n = evr_hep_build(&h, out, sizeof(out));
		check(n > 0 || n == -22 /* EINVAL: payload too big to re-wrap */);
		if (n > 0) {
			check(evr_hep_parse(out, (size_t)n, &h3) == EVR_HEP_OK);
			check(h3.flow.family == h.flow.family && h3.ip_proto == h.ip_proto);
			check(memcmp(h3.flow.src, h.flow.src, 16) == 0 &&
			      memcmp(h3.flow.dst, h.flow.dst, 16) == 0);
			check(h3.flow.sport == h.flow.sport && h3.flow.dport == h.flow.dport);
			check(h3.ts_sec == h.ts_sec && h3.ts_usec == h.ts_usec);
			check(h3.capture_id == h.capture_id);
			check(view_eq(h3.payload, h.payload));
			check(view_eq(h3.auth_key, h.auth_key));
			check(view_eq(h3.correlation_id, h.correlation_id));
		}
	}
	free(buf);
	return 0;
}
