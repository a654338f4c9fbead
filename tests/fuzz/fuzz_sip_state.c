/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the SIP state shard (evr_sip_state). The input is a
 * sequence of chunks separated by NUL bytes; each chunk is one control byte
 * and a SIP datagram. Control bits 0-1 pick the sender (four addresses),
 * bits 2-7 advance the clock by that many seconds before the message (so
 * originate timeouts, lingers and contact expiry fire in between). Every
 * datagram the parser accepts is handed to a small shard (4 dialogs,
 * 4 contacts: evictions happen), followed by a tick. Checked, aborting on a
 * violation:
 *  - every event has a name, at most max_attrs attributes, NUL-terminated
 *    names and values within the limits (tight ones, so drops happen);
 *  - the gauges never exceed the table sizes;
 *  - once the clock jumps far ahead, every dialog and contact is gone.
 * Each chunk is copied into a heap buffer of its exact size for ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/evr_sip.h"
#include "sip/state/evr_sip_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct evr_limits lim;
static struct evr_sip_msg msg;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void on_event(void *arg, const struct evr_event *ev)
{
	(void)arg;
	check(ev->name.len > 0 && ev->name.p[ev->name.len] == '\0');
	check(ev->n_attrs <= lim.max_attrs);
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		check(a->name.len <= lim.max_name_len && a->name.p[a->name.len] == '\0');
		check(a->value.p[a->value.len] == '\0');
		check(a->value.len <= lim.max_value_len || a->value.len <= lim.max_name_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evr_sip_state_conf c;
	struct evr_sip_state *st;
	uint64_t now = 1000, wall = 1700000000000000ULL;
	size_t pos = 0;

	evr_limits_default(&lim);
	lim.max_attrs = 24;
	lim.max_value_len = 48;
	evr_sip_state_conf_default(&c);
	c.max_dialogs = 4;
	c.max_registrations = 4;
	c.originate_timeout_ms = 5000;
	c.linger_ms = 2000;
	c.max_dialog_ms = 30000;
	st = evr_sip_state_create(&c, &lim);
	check(st != NULL);

	while (pos < size) {
		const uint8_t *end = memchr(data + pos, 0, size - pos);
		size_t n = end ? (size_t)(end - (data + pos)) : size - pos;

		if (n >= 2) {
			uint8_t ctl = data[pos];
			char *buf = malloc(n - 1);
			struct evr_sip_flow f = { .family = 4, .sport = 5060, .dport = 5060 };

			check(buf != NULL);
			memcpy(buf, data + pos + 1, n - 1);
			now += (uint64_t)(ctl >> 2) * 1000u;
			f.src[0] = 10;
			f.src[3] = (uint8_t)(ctl & 3);
			f.dst[0] = 10;
			f.dst[3] = 9;
			f.ts_us = wall + now * 1000u;
			if (evr_sip_parse(buf, n - 1, &msg) == EVR_SIP_OK)
				evr_sip_state_input(st, &msg, &f, now, on_event, NULL);
			free(buf);
			evr_sip_state_tick(st, now, wall + now * 1000u, on_event, NULL);
			check(evr_sip_state_stats(st)->dialogs <= 4 && evr_sip_state_stats(st)->registrations <= 4);
		}
		pos += n + 1;
	}
	/* far ahead: timeouts, then their lingers, then nothing is left */
	for (int k = 0; k < 4; k++) {
		now += 100000000u;
		evr_sip_state_tick(st, now, wall + now * 1000u, on_event, NULL);
	}
	check(evr_sip_state_stats(st)->dialogs == 0 && evr_sip_state_stats(st)->registrations == 0);
	evr_sip_state_destroy(st);
	return 0;
}
