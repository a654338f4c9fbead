/* SPDX-License-Identifier: Apache-2.0 */
/*
 * REGISTER state machine: transactions (the request's fields kept until
 * its final response, key Call-ID + CSeq), contact bindings chained under
 * the hash of their AOR (so one bucket walk finds every contact of an AOR:
 * "Contact: *", AOR insert/delete), binding expiry and the RFC 8599
 * refresh point, and the typed transitions (bound, unbound, deleted,
 * challenged, failed, refresh, expired) it hands to evr_sst_dispatch().
 * It knows no platform vocabulary: the mappers (evr_sip_opensips.c,
 * evr_sip_freeswitch.c) turn transitions into events.
 *
 * Thread context: one shard = one worker thread; nothing here locks or
 * allocates.
 */
#include <stdbool.h>
#include <string.h>

#include "util/evr_bytes.h"
#include "evr_sip_state_internal.h"

static uint64_t aor_hash(const char *aor, size_t n)
{
	return evr_sst_qhash2(aor, n, "", 0);
}

static uint32_t ct_find(struct evr_sip_state *st, const char *aor, size_t an, uint64_t h,
                        const char *uri, size_t un)
{
	for (uint32_t i = st->ct.buckets[h & st->ct.mask]; i != NIL; i = L(&st->ct, i)->hnext) {
		struct contact *c = CT(st, i);
		if (c->l.hash == h && c->aor_len == an && memcmp(c->aor, aor, an) == 0
		    && c->uri_len == un && memcmp(c->uri, uri, un) == 0)
			return i;
	}
	return NIL;
}

static uint32_t aor_count(struct evr_sip_state *st, const char *aor, size_t an, uint64_t h)
{
	uint32_t n = 0;

	for (uint32_t i = st->ct.buckets[h & st->ct.mask]; i != NIL; i = L(&st->ct, i)->hnext) {
		struct contact *c = CT(st, i);
		n += c->l.hash == h && c->aor_len == an && memcmp(c->aor, aor, an) == 0;
	}
	return n;
}

/* RFC 8599: a push-notification contact carries pn-provider in its URI
 * parameters (case-insensitive parameter name). */
static bool has_pn_provider(const char *uri, size_t n)
{
	static const char key[] = ";pn-provider";
	const size_t k = sizeof(key) - 1;

	for (size_t i = 0; i + k <= n; i++)
		if (uri[i] == ';' && evr_ieq(uri + i, key, k) &&
		    (i + k == n || uri[i + k] == '=' || uri[i + k] == ';' || uri[i + k] == '>'))
			return true;
	return false;
}

/* Remove contact i and say so (REG_DELETED; aor_last when it was the
 * AOR's last binding). */
static void ct_delete(struct evr_sip_state *st, uint32_t i)
{
	struct contact *c = CT(st, i);
	uint64_t h = c->l.hash;
	struct evr_sst_tr tr = { .kind = EVR_SST_REG_DELETED, .ct = c };

	evr_sst_timer_del(st, TID(T_CT, i));
	evr_sst_tab_free(&st->ct, i);
	/* c's fields survive the free until the next allocation */
	tr.aor_last = aor_count(st, c->aor, c->aor_len, h) == 0;
	evr_sst_dispatch(st, &tr);
}

/* RFC 3261 delta-seconds are at most 2^32-1; bounding them keeps the
 * millisecond deadline arithmetic far from overflow. */
static uint64_t clamp_exp(int64_t v)
{
	return v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint64_t)v;
}

/* Expires of request contact k: the registrar's word (2xx Contact
 * ;expires=) first, then the request's ;expires=, its Expires header, the
 * default. */
static uint64_t ct_expires(const struct evr_sip_state *st, const struct txn *t, unsigned k,
                           const struct evr_sip_msg *rsp)
{
	for (unsigned j = 0; j < rsp->n_contact; j++) {
		const struct evr_sip_contact *rc = &rsp->contact[j];
		if (rc->expires >= 0 && rc->uri_str.len == t->ct[k].uri_len
		    && memcmp(rc->uri_str.p, t->ct[k].uri, rc->uri_str.len) == 0)
			return clamp_exp(rc->expires);
	}
	if (t->ct[k].expires >= 0)
		return clamp_exp(t->ct[k].expires);
	if (t->expires_hdr >= 0)
		return clamp_exp(t->expires_hdr);
	return st->conf.default_expires;
}

static void unbound(struct evr_sip_state *st, const struct txn *t, unsigned k)
{
	evr_sst_dispatch(st, &(struct evr_sst_tr){ .kind = EVR_SST_REG_UNBOUND, .txn = t, .k = k });
}

static void reg_2xx(struct evr_sip_state *st, struct txn *t, const struct evr_sip_msg *rsp)
{
	char aor[AOR_CAP];
	size_t an = 0;
	uint64_t h, wall_s = st->wall_us / 1000000u;
	const struct evr_sip_flow *f = &t->flow;

	if (t->tuser_len) {
		memcpy(aor, t->tuser, t->tuser_len);
		an = t->tuser_len;
		aor[an++] = '@';
	}
	memcpy(aor + an, t->thost, t->thost_len);
	an += t->thost_len;
	h = aor_hash(aor, an);

	if (t->star) {
		/* Contact: * (with Expires: 0): every binding of the AOR goes */
		uint32_t i = st->ct.buckets[h & st->ct.mask];
		while (i != NIL) {
			uint32_t nx = L(&st->ct, i)->hnext;
			struct contact *c = CT(st, i);
			if (c->l.hash == h && c->aor_len == an && memcmp(c->aor, aor, an) == 0)
				ct_delete(st, i);
			i = nx;
		}
		unbound(st, t, TXN_CONTACTS);
		return;
	}
	if (t->n_ct == 0) {
		CNT(st, REG_QUERY);
		return;
	}
	for (unsigned k = 0; k < t->n_ct; k++) {
		uint64_t exp = ct_expires(st, t, k, rsp);
		uint32_t i = ct_find(st, aor, an, h, t->ct[k].uri, t->ct[k].uri_len);
		struct contact *c;

		if (exp == 0) {
			if (i != NIL)
				ct_delete(st, i);
			unbound(st, t, k);
			continue;
		}
		bool fresh = i == NIL, aor_new = false;
		if (fresh) {
			i = evr_sst_alloc_evict(st, T_CT, h, EVR_SIP_STATE_CONTACT_EVICTED);
			c = CT(st, i);
			memcpy(c->aor, aor, an);
			c->aor_len = (uint16_t)an;
			c->user_len = t->tuser_len ? t->tuser_len : (uint16_t)an;
			memcpy(c->uri, t->ct[k].uri, t->ct[k].uri_len);
			c->uri_len = t->ct[k].uri_len;
			/* eviction may have taken the AOR's last other contact */
			aor_new = aor_count(st, aor, an, h) == 1;
		} else {
			c = CT(st, i);
			evr_sst_tab_touch(&st->ct, i);
		}
		memcpy(c->disp, t->ct[k].disp, t->ct[k].disp_len);
		c->disp_len = t->ct[k].disp_len;
		memcpy(c->cid, t->cid, t->cid_len);
		c->cid_len = t->cid_len;
		memcpy(c->ua, t->ua, t->ua_len);
		c->ua_len = t->ua_len;
		memcpy(c->realm, t->arealm_len ? t->arealm : t->thost,
		       t->arealm_len ? t->arealm_len : t->thost_len);
		c->realm_len = t->arealm_len ? t->arealm_len : t->thost_len;
		c->rcv_len = (uint16_t)evr_sst_fmt_addr(c->rcv, sizeof(c->rcv), "sip:", f->family, f->src, f->sport);
		c->sock_len = (uint16_t)evr_sst_fmt_addr(c->sock, sizeof(c->sock), "udp:", f->family, f->dst, f->dport);
		c->cseq = t->cseq;
		c->q = t->ct[k].q;
		c->expires_unix = wall_s + exp;
		c->exp_ms = st->now_ms + exp * 1000u;
		c->pn = has_pn_provider(c->uri, c->uri_len);
		/* RFC 8599 contacts get a first deadline at the refresh point */
		c->refresh_armed = st->conf.pn_refresh_s && c->pn && exp > st->conf.pn_refresh_s;
		evr_sst_timer_set(st, TID(T_CT, i), c->refresh_armed
		          ? c->exp_ms - (uint64_t)st->conf.pn_refresh_s * 1000u : c->exp_ms);
		evr_sst_dispatch(st, &(struct evr_sst_tr){ .kind = EVR_SST_REG_BOUND, .txn = t,
		                                           .k = k, .ct = c, .fresh = fresh,
		                                           .aor_new = aor_new, .expires = exp });
	}
}

static uint32_t txn_find(struct evr_sip_state *st, struct evr_sip_str cid, uint32_t cseq, uint64_t h)
{
	for (uint32_t i = st->txn.buckets[h & st->txn.mask]; i != NIL; i = L(&st->txn, i)->hnext) {
		struct txn *t = TXN(st, i);
		if (t->l.hash == h && t->cseq == cseq && EQF(t, cid, cid))
			return i;
	}
	return NIL;
}

static uint64_t txn_hash(struct evr_sip_str cid, uint32_t cseq)
{
	char c[4] = { (char)cseq, (char)(cseq >> 8), (char)(cseq >> 16), (char)(cseq >> 24) };

	return evr_sst_qhash2(cid.p, cid.len, c, 4);
}

/* First ' ', ',' or HTAB in [p, e), or e. */
static const char *next_delim(const char *p, const char *e)
{
	while (e - p >= 8) {
		uint64_t v, m;

		memcpy(&v, p, sizeof(v));
		m = evr_has_zero8(v ^ evr_bcast8(' ')) | evr_has_zero8(v ^ evr_bcast8(','))
		    | evr_has_zero8(v ^ evr_bcast8('\t'));
		if (m)
			break; /* the byte loop below finds which */
		p += 8;
	}
	for (; p < e; p++)
		if (*p == ' ' || *p == ',' || *p == '\t')
			return p;
	return e;
}

/* Authorization: Digest username="bob", realm="example.com", ... */
static struct evr_sip_str auth_param(const struct evr_sip_header *h, const char *name, size_t nl)
{
	struct evr_sip_str r = { NULL, 0 };
	const char *p, *end;

	if (h == NULL)
		return r;
	p = h->value.p;
	end = p + h->value.len;
	/* candidates: the start and every octet after ' ', ',' or HTAB; the
	 * delimiters are found with memchr-like scans instead of testing every
	 * position (name is lower case: its first letter is tested first) */
	while (p + nl + 1 < end) {
		if ((*p | 0x20) == name[0] && evr_ieq(p, name, nl) && p[nl] == '=') {
			const char *v = p + nl + 1, *e;
			if (v < end && *v == '"') {
				v++;
				for (e = v; e < end && *e != '"'; e++)
					;
			} else {
				for (e = v; e < end && *e != ',' && *e != ' '; e++)
					;
			}
			r.p = v;
			r.len = (uint32_t)(e - v);
			return r;
		}
		p = next_delim(p, end);
		if (p == end)
			break;
		p++;
	}
	return r;
}

void evr_sst_reg_request(struct evr_sip_state *st, const struct evr_sip_msg *m,
                        const struct evr_sip_flow *f)
{
	uint64_t h = txn_hash(m->call_id, m->cseq);
	uint32_t i = txn_find(st, m->call_id, m->cseq, h);
	const struct evr_sip_header *auth;
	struct txn *t;
	bool ok;

	if (i != NIL) {
		CNT(st, DUP_REQUEST);
		return;
	}
	i = evr_sst_alloc_evict(st, T_TXN, h, EVR_SIP_STATE_REG_TXN_EVICTED);
	t = TXN(st, i);
	t->done = false;
	t->transport_len = 0;
	auth = evr_sip_find(m, EVR_SIP_HDR_AUTHORIZATION);
	if (auth == NULL)
		auth = evr_sip_find(m, EVR_SIP_HDR_PROXY_AUTHORIZATION);
	ok = SETF(t, cid, m->call_id) && SETF(t, tuser, m->to.uri.user)
	     && SETF(t, thost, m->to.uri.host) && SETF(t, fuser, m->from.uri.user)
	     && SETF(t, fhost, m->from.uri.host) && SETF(t, ua, m->user_agent)
	     && SETF(t, auser, auth_param(auth, EVR_LIT("username")))
	     && SETF(t, arealm, auth_param(auth, EVR_LIT("realm")));
	if (m->n_via)
		ok = ok && SETF(t, transport, m->via[0].transport);
	if (m->contact_total > TXN_CONTACTS || m->contact_total > m->n_contact)
		CNT(st, CONTACTS_CAPPED);
	t->n_ct = (uint8_t)(m->n_contact < TXN_CONTACTS ? m->n_contact : TXN_CONTACTS);
	for (unsigned k = 0; ok && k < t->n_ct; k++) {
		const struct evr_sip_contact *c = &m->contact[k];
		ok = SETF(&t->ct[k], uri, c->uri_str) && SETF(&t->ct[k], disp, c->display);
		t->ct[k].expires = c->expires;
		t->ct[k].q = -1;
		if (c->q.len) {
			/* "0.5" -> 500, as OpenSIPS's qvalue_t */
			int32_t q = 0, scale = 1000;
			bool frac = false;
			for (uint32_t j = 0; j < c->q.len && scale; j++) {
				char ch = c->q.p[j];
				if (ch == '.') {
					frac = true;
					continue;
				}
				if (ch < '0' || ch > '9')
					break;
				if (frac) {
					scale /= 10;
					q += (ch - '0') * scale;
				} else {
					q = q * 10 + (ch - '0') * 1000;
				}
			}
			t->ct[k].q = q;
		}
	}
	if (!ok || t->thost_len == 0) {
		evr_sst_timer_del(st, TID(T_TXN, i));
		evr_sst_tab_free(&st->txn, i);
		CNT(st, FIELD_TOO_LONG);
		return;
	}
	t->star = m->contact_star;
	t->cseq = m->cseq;
	t->expires_hdr = m->expires;
	t->flow = *f;
	evr_sst_timer_set(st, TID(T_TXN, i), st->now_ms + st->conf.linger_ms);
}

void evr_sst_reg_response(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	uint64_t h = txn_hash(m->call_id, m->cseq);
	uint32_t i = txn_find(st, m->call_id, m->cseq, h);
	struct txn *t;

	if (i == NIL) {
		CNT(st, ORPHAN_RESPONSE);
		return;
	}
	t = TXN(st, i);
	if (m->status_code < 200) {
		CNT(st, ABSORBED);
		return;
	}
	if (t->done) {
		CNT(st, DUP_RESPONSE);
		return;
	}
	t->done = true;
	/* keep it linger_ms from the final response, for retransmissions */
	evr_sst_timer_set(st, TID(T_TXN, i), st->now_ms + st->conf.linger_ms);
	if (m->status_code < 300)
		reg_2xx(st, t, m);
	else if (m->status_code == 401 || m->status_code == 407)
		evr_sst_dispatch(st, &(struct evr_sst_tr){
			.kind = EVR_SST_REG_CHALLENGED, .txn = t, .k = 0, .status = &m->reason,
			.expires = t->n_ct ? ct_expires(st, t, 0, m) : 0 });
	else
		evr_sst_dispatch(st, &(struct evr_sst_tr){ .kind = EVR_SST_REG_FAILED, .txn = t });
}

bool evr_sst_reg_txn_known(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	return txn_find(st, m->call_id, m->cseq, txn_hash(m->call_id, m->cseq)) != NIL;
}

void evr_sst_reg_txn_expire(struct evr_sip_state *st, uint32_t i)
{
	if (!TXN(st, i)->done)
		CNT(st, REG_TXN_TIMEOUT);
	evr_sst_tab_free(&st->txn, i);
}

void evr_sst_reg_contact_expire(struct evr_sip_state *st, uint32_t i)
{
	struct contact *c = CT(st, i);

	if (c->refresh_armed) { /* the refresh point, not the end */
		c->refresh_armed = 0;
		CNT(st, CONTACT_REFRESH);
		evr_sst_dispatch(st, &(struct evr_sst_tr){ .kind = EVR_SST_REG_REFRESH, .ct = c });
		evr_sst_timer_set(st, TID(T_CT, i), c->exp_ms);
		return;
	}
	CNT(st, CONTACT_EXPIRED);
	evr_sst_dispatch(st, &(struct evr_sst_tr){ .kind = EVR_SST_REG_EXPIRED, .ct = c });
	ct_delete(st, i);
}
