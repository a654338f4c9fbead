/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event hold (event/evr_event_hold.h): decoded events stay intact
 * while the decode scratch is reused, every kept string is NUL-terminated,
 * a full hold says so instead of overwriting, and views outside the
 * scratch arena are copied.
 */
#include <stdio.h>
#include <string.h>

#include "codec/evr_decode.h"
#include "event/evr_event_build.h"
#include "event/evr_event_hold.h"
#include "evr_test.h"

static const char *attr(const struct evr_event *e, const char *name)
{
	const struct evr_attr *a = evr_event_find(e, name, strlen(name));
	return a ? a->value.p : NULL;
}

static void decode(struct evr_scratch *s, unsigned i)
{
	char dg[256];
	int n = snprintf(dg, sizeof dg,
	                 "{\"jsonrpc\":\"2.0\",\"method\":\"E_UL_AOR_INSERT\","
	                 "\"params\":{\"aor\":\"user%u@example.com\",\"n\":%u}}",
	                 i, i);
	CHECK(evr_decode(EVR_FMT_JSONRPC, dg, (size_t)n, s) == EVR_DEC_OK);
	memset(dg, 'x', sizeof dg); /* the datagram is gone too */
}

static void test_keeps_events(void)
{
	struct evr_limits l;
	struct evr_scratch s;
	struct evr_ev_hold h;
	const struct evr_event *held[32];
	char want[64];

	evr_limits_default(&l);
	CHECK(evr_scratch_init(&s, &l) == 0);
	CHECK(evr_ev_hold_init(&h, &l, 32) == 0);
	for (unsigned i = 0; i < 32; i++) {
		decode(&s, i);
		held[i] = evr_ev_hold_add(&h, &s);
		CHECK(held[i] != NULL);
	}
	CHECK_EQ_INT(h.n, 32);
	decode(&s, 99);
	CHECK(evr_ev_hold_add(&h, &s) == NULL); /* full: not overwritten */
	for (unsigned i = 0; i < 32; i++) {
		snprintf(want, sizeof want, "user%u@example.com", i);
		CHECK_EQ_VIEW(held[i]->name.p, held[i]->name.len, "E_UL_AOR_INSERT");
		CHECK_EQ_STR(attr(held[i], "aor"), want);
		snprintf(want, sizeof want, "%u", i);
		CHECK_EQ_STR(attr(held[i], "n"), want);
		CHECK(held[i]->attrs[1].value.flags & EVR_STR_LITERAL);
		for (uint32_t a = 0; a < held[i]->n_attrs; a++)
			CHECK(held[i]->attrs[a].value.p[held[i]->attrs[a].value.len] == '\0');
	}
	evr_ev_hold_reset(&h);
	CHECK(evr_ev_hold_add(&h, &s) != NULL);
	CHECK_EQ_STR(attr(&h.ev[0], "aor"), "user99@example.com");
	evr_ev_hold_fini(&h);
	evr_scratch_fini(&s);
}

/* A view that points outside the scratch's arena is copied, so the hold
 * does not depend on where a decoder or builder put its strings. */
static void test_outside_views_copied(void)
{
	struct evr_limits l;
	struct evr_scratch s;
	struct evr_ev_hold h;
	char outside[] = "outside-value";

	evr_limits_default(&l);
	CHECK(evr_ev_arena_init(&s, &l, 4096) == 0);
	CHECK(evr_ev_hold_init(&h, &l, 4) == 0);
	evr_ev_begin(&s, EVR_FMT_JSONRPC);
	s.ev.name = (struct evr_str){"E_X", 3, 0};
	CHECK(evr_ev_add(&s, "k", 1, "v", 1, 0, l.max_value_len));
	s.ev.attrs[0].value = (struct evr_str){outside, (uint32_t)strlen(outside), 0};
	const struct evr_event *e = evr_ev_hold_add(&h, &s);
	CHECK(e != NULL);
	memset(outside, 'z', sizeof outside - 1);
	CHECK_EQ_STR(e->attrs[0].value.p, "outside-value");
	CHECK_EQ_VIEW(e->attrs[0].name.p, e->attrs[0].name.len, "k");
	evr_ev_hold_fini(&h);
	evr_ev_arena_fini(&s);
}

int main(void)
{
	test_keeps_events();
	test_outside_views_copied();
	EVR_TEST_DONE();
}
