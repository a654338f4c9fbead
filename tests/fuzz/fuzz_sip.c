/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for evr_sip_parse() and evr_sip_uri_parse(). The input is
 * parsed as a datagram, and the parser's contract is checked; a violation
 * aborts so libFuzzer keeps the input:
 *  - the status is a known one, with a name;
 *  - every view of a message that evr_sip_status_msg_complete() calls
 *    usable is absent or lies inside the input, counts are within their
 *    arrays, kept <= total, headers are in wire order;
 *  - on OK: body + trailing octets end exactly at the end of the datagram,
 *    the body has Content-Length octets when that header is present, the
 *    mandatory headers are there, the From/To/R-URI views re-parse alone;
 *  - parsing is stateless (a second parse agrees).
 * The whole input is also fed to evr_sip_uri_parse() with the same view
 * checks. Inputs are copied into a heap buffer of exactly their size, so
 * ASan sees any read past the end.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/evr_sip.h"
#include "fuzz_views.h"


static void check_uri(const struct evr_sip_uri *u)
{
	check_view(u->scheme_name);
	check_view(u->opaque);
	check_view(u->user);
	check_view(u->password);
	check_view(u->host);
	check_view(u->port_str);
	check_view(u->params);
	check_view(u->headers);
	check_view(u->transport);
	check_view(u->user_param);
	check_view(u->maddr);
	check_view(u->method);
	check(u->scheme <= EVR_SIP_SCHEME_TEL);
}

static void check_addr(const struct evr_sip_addr *a, bool ok)
{
	struct evr_sip_uri u;

	check_view(a->display);
	check_view(a->uri_str);
	check_view(a->tag);
	check_view(a->params);
	check_uri(&a->uri);
	if (ok) {
		check(a->uri_str.len > 0);
		check(evr_sip_uri_parse(a->uri_str.p, a->uri_str.len, &u) == 0);
		check(u.scheme == a->uri.scheme && u.host.p == a->uri.host.p);
	}
}

static void check_msg(const struct evr_sip_msg *m, enum evr_sip_status st, size_t len)
{
	bool ok = st == EVR_SIP_OK;

	check((unsigned)st < EVR_SIP__COUNT);
	check(evr_sip_status_name(st) != NULL && evr_sip_status_text(st) != NULL);
	check(st != EVR_SIP_EMPTY || len == 0);
	check(st != EVR_SIP_OVERSIZE || len > EVR_SIP_MAX_MSG);
	if (!evr_sip_status_msg_complete(st))
		return;

	check_view(m->method_name);
	check_view(m->ruri_str);
	check_uri(&m->ruri);
	check_view(m->reason);
	check_addr(&m->from, ok);
	check_addr(&m->to, ok);
	check_view(m->call_id);
	check_view(m->cseq_method_name);
	check_view(m->content_type);
	check_view(m->event);
	check_view(m->user_agent);
	check_view(m->server);
	check_view(m->body);
	check(m->max_forwards >= -1 && m->max_forwards <= 255);
	check(m->expires >= -1 && m->expires <= (int64_t)UINT32_MAX);
	check(m->n_via <= EVR_SIP_MAX_VIA && m->n_via <= m->via_total);
	check(m->n_contact <= EVR_SIP_MAX_CONTACT && m->n_contact <= m->contact_total);
	check(!m->contact_star || m->contact_total == 0);
	check(m->n_headers <= EVR_SIP_MAX_HEADERS);
	check((m->present & 1u) == 0); /* OTHER is never a present bit */
	for (unsigned i = 0; i < m->n_headers; i++) {
		const struct evr_sip_header *h = &m->headers[i];

		check_view(h->name);
		check_view(h->value);
		check(h->name.len > 0 && h->value.p >= h->name.p + h->name.len);
		check((unsigned)h->id < EVR_SIP_HDR__COUNT);
		check(h->id == EVR_SIP_HDR_OTHER || evr_sip_has(m, h->id));
		check(evr_sip_hdr_lookup(h->name.p, h->name.len) == h->id);
		if (i > 0)
			check(h->name.p > m->headers[i - 1].value.p);
	}
	for (unsigned i = 0; i < m->n_via; i++) {
		const struct evr_sip_via *v = &m->via[i];

		check_view(v->protocol);
		check_view(v->version);
		check_view(v->transport);
		check_view(v->host);
		check_view(v->branch);
		check_view(v->received);
		check_view(v->rport_value);
		check_view(v->maddr);
		check_view(v->params);
		check(v->host.len > 0 && v->transport.len > 0);
		check(!v->rport == !v->rport_value.p);
	}
	for (unsigned i = 0; i < m->n_contact; i++) {
		const struct evr_sip_contact *c = &m->contact[i];
		struct evr_sip_uri u;

		check_view(c->display);
		check_view(c->uri_str);
		check_view(c->params);
		check_view(c->q);
		check(c->expires >= -1 && c->expires <= (int64_t)UINT32_MAX);
		check(c->uri_str.len > 0 && evr_sip_uri_parse(c->uri_str.p, c->uri_str.len, &u) == 0);
	}
	if (!ok)
		return;

	check(m->body.p != NULL);
	check((size_t)(m->body.p - lo) + m->body.len + m->trailing == len);
	if (evr_sip_has(m, EVR_SIP_HDR_CONTENT_LENGTH))
		check(m->body.len == m->content_length);
	else
		check(m->trailing == 0);
	check(evr_sip_has(m, EVR_SIP_HDR_TO) && evr_sip_has(m, EVR_SIP_HDR_FROM) &&
	      evr_sip_has(m, EVR_SIP_HDR_CALL_ID) && evr_sip_has(m, EVR_SIP_HDR_CSEQ));
	check(m->via_total > 0 && m->n_via > 0 && m->call_id.len > 0);
	check(m->version_major == 2 && m->version_minor == 0);
	if (m->is_request) {
		struct evr_sip_uri u;

		check(m->status_code == 0 && m->method_name.len > 0);
		check(evr_sip_uri_parse(m->ruri_str.p, m->ruri_str.len, &u) == 0);
		check(m->method == evr_sip_method_lookup(m->method_name.p, m->method_name.len));
		check(m->method_name.len == m->cseq_method_name.len &&
		      memcmp(m->method_name.p, m->cseq_method_name.p, m->method_name.len) == 0);
	} else {
		check(m->status_code >= 100 && m->status_code <= 699);
		check(m->ruri_str.p == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct evr_sip_msg m;
	struct evr_sip_uri u;
	enum evr_sip_status st;
	uint32_t n_headers;
	char *buf;
	int r;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	lo = buf;
	hi = buf + size;

	st = evr_sip_parse(buf, size, &m);
	check_msg(&m, st, size);
	n_headers = m.n_headers;
	check(evr_sip_parse(buf, size, &m) == st);
	check(!evr_sip_status_msg_complete(st) || m.n_headers == n_headers);

	r = evr_sip_uri_parse(buf, size, &u);
	check(r == 0 || r == -EINVAL);
	check_uri(&u);
	if (r == 0)
		check(u.scheme_name.p == buf && u.opaque.len > 0);

	free(buf);
	return 0;
}
