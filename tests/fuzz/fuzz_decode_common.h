/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared body of the three decoder libFuzzer targets: each target defines
 * FUZZ_FMT and FUZZ_DECODE and includes this file. The input is decoded into
 * two scratches created once (default limits, and tiny limits so that every
 * limit path is reachable with short inputs), then through EVR_FMT_AUTO, and
 * the decoder's contract is checked; a violation aborts so libFuzzer keeps
 * the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/evr_decode.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* A view lies in the used part of the scratch, is NUL-terminated there and
 * holds no NUL of its own. */
static void check_view(const struct evr_scratch *s, const struct evr_str *v)
{
	const char *lo = s->buf, *hi = s->buf + s->buf_used;

	check(v->p != NULL && v->p >= lo && v->p < hi);
	check((size_t)(hi - v->p) > v->len);
	check(v->p[v->len] == '\0');
	check(memchr(v->p, '\0', v->len) == NULL);
	check((v->flags & ~(EVR_STR_LITERAL | EVR_STR_NULL)) == 0);
	check(!(v->flags & EVR_STR_NULL) || (v->len == 0 && !(v->flags & EVR_STR_LITERAL)));
}

static void check_result(const struct evr_scratch *s, enum evr_format fmt,
                         size_t len, enum evr_decode_status st)
{
	const struct evr_event *ev = &s->ev;
	const struct evr_attr *a;

	check((unsigned)st < EVR_DEC__COUNT && st != EVR_DEC_BAD_FORMAT);
	check(evr_decode_status_name(st) != NULL);
	/* OVERSIZE is also what a scratch too small would say: never below
	 * the limit. */
	check(st != EVR_DEC_OVERSIZE || len > s->lim.max_datagram);
	check(st != EVR_DEC_EMPTY || len == 0);
	check(s->buf_used <= s->buf_cap);
	if (st != EVR_DEC_OK)
		return;

	if (fmt == EVR_FMT_AUTO)
		check(ev->src_format != EVR_FMT_AUTO && ev->src_format < EVR_FMT__COUNT);
	else
		check(ev->src_format == fmt);
	check(ev->name.len > 0 && ev->name.len <= s->lim.max_name_len);
	check_view(s, &ev->name);
	check_view(s, &ev->subclass);
	check_view(s, &ev->body);
	check(ev->priority == EVR_PRIO_NORMAL || ev->priority == EVR_PRIO_LOW ||
	      ev->priority == EVR_PRIO_HIGH);
	check(ev->attrs == s->attrs && ev->n_attrs <= s->lim.max_attrs);
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		check_view(s, &ev->attrs[i].name);
		check_view(s, &ev->attrs[i].value);
		check(ev->attrs[i].name.len <= s->lim.max_name_len);
		check(ev->attrs[i].value.len <= s->lim.max_value_len);
	}
	a = evr_event_find(ev, "Event-Subclass", 14);
	check(a ? ev->subclass.p == a->value.p : ev->subclass.len == 0);
	/* only JSON-RPC params can be an array */
	check(!ev->positional || ev->src_format == EVR_FMT_JSONRPC);
	if (ev->src_format == EVR_FMT_JSONRPC) {
		check(ev->body.len == 0);
	} else {
		a = evr_event_find(ev, "Event-Name", 10);
		check(a != NULL && a->value.p == ev->name.p);
		/* Content-Length is framing, never an attribute */
		check(evr_event_find(ev, "Content-Length", 14) == NULL);
	}
}

static void run(struct evr_scratch *s, const char *buf, size_t len)
{
	enum evr_decode_status st = FUZZ_DECODE(buf, len, s), again;
	uint32_t n_attrs = s->ev.n_attrs;

	check_result(s, FUZZ_FMT, len, st);
	/* No state carried from one decode to the next. */
	again = evr_decode(FUZZ_FMT, buf, len, s);
	check(again == st && (st != EVR_DEC_OK || s->ev.n_attrs == n_attrs));
	check_result(s, EVR_FMT_AUTO, len, evr_decode(EVR_FMT_AUTO, buf, len, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct evr_scratch big, tiny;
	static bool ready;

	if (!ready) {
		struct evr_limits l;

		evr_limits_default(&l);
		if (evr_scratch_init(&big, &l) != 0)
			abort();
		l = (struct evr_limits){ .max_attrs = 4, .max_name_len = 12,
		                         .max_value_len = 16, .max_datagram = 512 };
		if (evr_scratch_init(&tiny, &l) != 0)
			abort();
		ready = true;
	}
	run(&big, (const char *)data, size);
	run(&tiny, (const char *)data, size);
	return 0;
}
