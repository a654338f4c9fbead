/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the SIP event endpoint: arbitrary bytes are parsed
 * with evr_sip_parse() and handed to evr_sip_endpoint_handle(), twice with the
 * same clock (the second must be absorbed or answered identically). Checks:
 *  - out is consistent: a reply fits its buffer, has a known code, and
 *    parses back as a SIP response with the request's Call-ID, CSeq and
 *    as many Via entries; raise only with a 200;
 *  - an event has a non-empty name and NUL-terminated attribute views;
 *  - the second handling never raises and gives the same reply bytes (the
 *    first one, if it raised, left a dedupe entry; nothing else changes).
 * The first byte picks the source family and whether ;rport paths run with a
 * port of 0; the rest is the datagram.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/evr_decode.h"
#include "sip/evr_sip_endpoint.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static struct evr_sip_endpoint *ep;
static struct evr_scratch scratch;
static char reply1[EVR_SIP_ENDPOINT_REPLY_MAX], reply2[EVR_SIP_ENDPOINT_REPLY_MAX];
static struct evr_sip_msg req, resp;
static uint64_t clock_ms = 1000;

static void init_once(void)
{
	struct evr_sip_endpoint_conf c;
	struct evr_limits l;

	if (ep != NULL)
		return;
	evr_sip_endpoint_conf_default(&c);
	c.dedup_entries = 64; /* small: eviction paths run too */
	ep = evr_sip_endpoint_create(&c);
	evr_limits_default(&l);
	check(ep != NULL && evr_scratch_init(&scratch, &l) == 0);
}

static void check_event(const struct evr_event *ev)
{
	check(ev->name.len > 0 && ev->name.p[ev->name.len] == '\0');
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		check(ev->attrs[i].name.len > 0);
		check(ev->attrs[i].name.p[ev->attrs[i].name.len] == '\0');
		check(ev->attrs[i].value.p[ev->attrs[i].value.len] == '\0');
	}
}

static void check_reply(const struct evr_sip_endpoint_out *o, const char *r,
                        enum evr_sip_status st)
{
	enum evr_sip_status rs;

	if (!o->reply)
		return;
	check(o->reply_len > 0 && o->reply_len <= EVR_SIP_ENDPOINT_REPLY_MAX);
	check(o->code >= 200 && o->code <= 599);
	check(o->reply_family == 4 || o->reply_family == 6);
	rs = evr_sip_parse(r, o->reply_len, &resp);
	check(evr_sip_status_msg_complete(rs) || rs == EVR_SIP_CONTENT_LENGTH_MISMATCH);
	check(!resp.is_request && resp.status_code == o->code);
	check(resp.via_total == req.via_total);
	if (st == EVR_SIP_OK) {
		check(rs == EVR_SIP_OK);
		check(resp.call_id.len == req.call_id.len &&
		      memcmp(resp.call_id.p, req.call_id.p, req.call_id.len) == 0);
		check(resp.cseq == req.cseq);
		check(resp.to.tag.len > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evr_sip_endpoint_out o1, o2;
	struct evr_sip_flow f;
	enum evr_sip_status st;
	char *buf;

	init_once();
	if (size < 1)
		return 0;
	memset(&f, 0, sizeof(f));
	f.family = (data[0] & 1) ? 6 : 4;
	f.src[0] = 192;
	f.src[1] = 0;
	f.src[2] = 2;
	f.src[3] = data[0];
	if (f.family == 6) {
		f.src[0] = 0x20;
		f.src[1] = 0x01;
		f.src[2] = 0x0d;
		f.src[3] = 0xb8;
		f.src[15] = data[0];
	}
	f.sport = (data[0] & 2) ? 0 : 5070;
	f.dport = 5060;
	data++;
	size--;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	clock_ms += 100; /* entries expire as the run goes on */

	st = evr_sip_parse(buf, size, &req);
	evr_sip_endpoint_handle(ep, st, &req, &f, clock_ms, &scratch, reply1, sizeof(reply1), &o1);
	check_reply(&o1, reply1, st);
	if (o1.raise) {
		check(o1.code == 200);
		check_event(&scratch.ev);
	}
	evr_sip_endpoint_handle(ep, st, &req, &f, clock_ms, &scratch, reply2, sizeof(reply2), &o2);
	check(!o2.raise);
	check(o2.reply == o1.reply && o2.code == o1.code);
	if (o1.reply)
		check(o2.reply_len == o1.reply_len && memcmp(reply1, reply2, o1.reply_len) == 0);
	free(buf);
	return 0;
}
