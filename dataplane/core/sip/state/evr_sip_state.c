/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP state -> derived events. Design note:
 *
 *  - Three fixed tables per shard, allocated at create: REGISTER
 *    transactions (the request's fields kept until its final response),
 *    contacts (bindings, chained under the hash of their AOR so one bucket
 *    walk finds every contact of an AOR: "Contact: *", AOR insert/delete)
 *    and INVITE dialogs (key Call-ID + From tag of the initial INVITE).
 *    Records copy what later events need into fixed-size fields: the
 *    caller's message buffer is gone once input returns. A field longer
 *    than its slot means the message is not tracked (field_too_long): a
 *    cut Call-ID or tag would never match again.
 *  - Full table: the oldest record is evicted (counted per kind) rather
 *    than the new one refused. A monitoring appliance that lost a BYE or
 *    an expiry should keep following new calls and registrations; the
 *    oldest record is the likeliest stale one. Contacts are kept in
 *    least-recently-refreshed order, dialogs and transactions in creation
 *    order. Eviction raises no event: the platform still holds that state.
 *  - One timer per record in an indexed binary min-heap (the record keeps
 *    its heap position, so re-arming is O(log n) and nothing is ever
 *    scanned): pending/ended REGISTER transactions and ended dialogs linger
 *    linger_ms to absorb retransmissions, contacts expire, unanswered
 *    dialogs time out, answered ones age out after max_dialog_ms.
 *  - Duplicates are recognised by state, not by Via branch (a mirror sees
 *    the same request on both legs of a proxy with different branches):
 *    REGISTER by Call-ID + CSeq (a final response done once), dialogs by
 *    the INVITE CSeq and per-dialog flags (progress/media/answered/acked/
 *    ended), which is Call-ID + CSeq + method (+ status class) in effect.
 *  - Events are built with the event builder (event/evr_event_build.h) in
 *    one shard-owned scratch (attribute slots and string arena sized at
 *    create) and handed to the callback; names point to static strings,
 *    values are copied NUL-terminated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event/evr_event_build.h"
#include "util/evr_bytes.h"
#include "util/evr_hash.h"
#include "evr_sip_state_internal.h"


/* ---- counters ---- */

static const char *const counter_names[EVR_SIP_STATE__COUNT] = {
#define X(e, n, h) [EVR_SIP_STATE_##e] = n,
	EVR_SIP_STATE_COUNTERS(X)
#undef X
};

static const char *const counter_helps[EVR_SIP_STATE__COUNT] = {
#define X(e, n, h) [EVR_SIP_STATE_##e] = h,
	EVR_SIP_STATE_COUNTERS(X)
#undef X
};

const char *evr_sip_state_counter_name(unsigned i)
{
	return i < EVR_SIP_STATE__COUNT ? counter_names[i] : "unknown";
}

const char *evr_sip_state_counter_help(unsigned i)
{
	return i < EVR_SIP_STATE__COUNT ? counter_helps[i] : "unknown";
}

/* ---- fields ---- */

static bool fset(char *dst, uint16_t *dlen, size_t cap, const char *p, size_t n)
{
	if (n > cap)
		return false;
	if (n)
		memcpy(dst, p, n);
	*dlen = (uint16_t)n;
	return true;
}

#define SETF(rec, f, v) fset((rec)->f, &(rec)->f##_len, sizeof((rec)->f), (v).p, (v).len)
/* an absent view is { NULL, 0 }: memcmp must not see its NULL */
#define EQF(rec, f, v)                                                         \
	((rec)->f##_len == (v).len && ((v).len == 0 || memcmp((rec)->f, (v).p, (v).len) == 0))

/* "0".."255" */
static size_t u8dec(char *out, unsigned v)
{
	size_t n = 0;

	if (v >= 100) {
		out[n++] = (char)('0' + v / 100);
		v %= 100;
		out[n++] = (char)('0' + v / 10);
	} else if (v >= 10) {
		out[n++] = (char)('0' + v / 10);
	}
	out[n++] = (char)('0' + v % 10);
	return n;
}

/* Dotted quad / RFC 5952 text, NUL-terminated; 0 when it does not fit cap.
 * IPv4 is formatted here: glibc's inet_ntop goes through sprintf for it
 * (~5% of parse + state, for a dotted quad). */
static size_t fmt_ip(char *out, size_t cap, uint8_t family, const uint8_t *ip)
{
	if (family != 6) {
		char tmp[16];
		size_t n = 0;

		for (unsigned i = 0; i < 4; i++) {
			if (i)
				tmp[n++] = '.';
			n += u8dec(tmp + n, ip[i]);
		}
		if (n + 1 > cap)
			return 0;
		memcpy(out, tmp, n);
		out[n] = '\0';
		return n;
	}
	if (inet_ntop(AF_INET6, ip, out, (socklen_t)cap) == NULL)
		return 0;
	return strlen(out);
}

/* prefix + ip (v6 in brackets) + ":" + port */
static size_t fmt_addr(char *out, size_t cap, const char *prefix, uint8_t family,
                       const uint8_t *ip, uint16_t port)
{
	size_t n = strlen(prefix), k;

	if (cap < n + 50)
		return 0;
	memcpy(out, prefix, n);
	if (family == 6)
		out[n++] = '[';
	k = fmt_ip(out + n, cap - n, family, ip);
	n += k;
	if (family == 6)
		out[n++] = ']';
	out[n++] = ':';
	n += evr_u64dec(out + n, port);
	return n;
}

/* ---- event builder ---- */

/*
 * Attribute and event names are string literals (or shard strings whose
 * length is kept): the builders take the length, and the always-inline
 * wrappers below take strlen() of a literal, which the compiler folds, so
 * no name is measured at run time (strlen was ~3% of parse + state).
 */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

static bool ev_begin_n(struct evr_sip_state *st, uint32_t family, const char *name, size_t nl,
                       const char *subclass, size_t sl)
{
	st->ev_on = false;
	if (!(st->conf.families & family))
		return false;
	if (nl > st->lim.max_name_len) {
		CNT(st, EVENT_DROPPED);
		return false;
	}
	st->ev_on = true;
	evr_ev_begin(&st->ev,
	             family == EVR_SIP_STATE_FREESWITCH ? EVR_FMT_PLAIN : EVR_FMT_JSONRPC);
	st->ev.ev.name = (struct evr_str){ name, (uint32_t)nl, 0 };
	if (subclass)
		st->ev.ev.subclass = (struct evr_str){ subclass, (uint32_t)sl, 0 };
	return true;
}

ALWAYS_INLINE bool ev_begin(struct evr_sip_state *st, uint32_t family, const char *name,
                            const char *subclass)
{
	return ev_begin_n(st, family, name, strlen(name), subclass,
	                  subclass ? strlen(subclass) : 0);
}

/* Append one attribute; vmax bounds the value (max_value_len, or
 * max_name_len for Event-Name/Event-Subclass, which are names). */
static void add_lim_n(struct evr_sip_state *st, const char *name, size_t nl, const char *p,
                      size_t n, uint32_t flags, uint32_t vmax)
{
	if (st->ev_on && !evr_ev_add(&st->ev, name, nl, p, n, flags, vmax))
		CNT(st, ATTR_DROPPED);
}

ALWAYS_INLINE void add_lim(struct evr_sip_state *st, const char *name, const char *p, size_t n,
                           uint32_t flags, uint32_t vmax)
{
	add_lim_n(st, name, strlen(name), p, n, flags, vmax);
}

ALWAYS_INLINE void add(struct evr_sip_state *st, const char *name, const char *p, size_t n,
                       uint32_t flags)
{
	add_lim_n(st, name, strlen(name), p, n, flags, st->lim.max_value_len);
}

ALWAYS_INLINE void adds(struct evr_sip_state *st, const char *name, const char *s)
{
	add(st, name, s, strlen(s), 0);
}

ALWAYS_INLINE void addv(struct evr_sip_state *st, const char *name, struct evr_sip_str v)
{
	add(st, name, v.p ? v.p : "", v.len, 0);
}

static void addu_n(struct evr_sip_state *st, const char *name, size_t nl, uint64_t v,
                   bool literal)
{
	char tmp[24];

	add_lim_n(st, name, nl, tmp, evr_u64dec(tmp, v), literal ? EVR_STR_LITERAL : 0,
	          st->lim.max_value_len);
}

ALWAYS_INLINE void addu(struct evr_sip_state *st, const char *name, uint64_t v, bool literal)
{
	addu_n(st, name, strlen(name), v, literal);
}

static void addi_n(struct evr_sip_state *st, const char *name, size_t nl, int64_t v)
{
	char tmp[24];
	size_t n = 0;

	if (v < 0) {
		tmp[n++] = '-';
		n += evr_u64dec(tmp + n, (uint64_t)0 - (uint64_t)v);
	} else {
		n = evr_u64dec(tmp, (uint64_t)v);
	}
	add_lim_n(st, name, nl, tmp, n, EVR_STR_LITERAL, st->lim.max_value_len);
}

ALWAYS_INLINE void addi(struct evr_sip_state *st, const char *name, int64_t v)
{
	addi_n(st, name, strlen(name), v);
}

#define ADDF(st, name, rec, f) add((st), (name), (rec)->f, (rec)->f##_len, 0)

/* FreeSWITCH events carry these first (switch_event_prep_for_delivery). */
static bool fs_begin_n(struct evr_sip_state *st, const char *name, size_t nl,
                       const char *subclass, size_t sl)
{
	if (!ev_begin_n(st, EVR_SIP_STATE_FREESWITCH, name, nl, subclass, sl))
		return false;
	add_lim(st, "Event-Name", name, nl, 0, st->lim.max_name_len);
	if (subclass)
		add_lim(st, "Event-Subclass", subclass, sl, 0, st->lim.max_name_len);
	add(st, "FreeSWITCH-Hostname", st->hostname, st->hostname_len, 0);
	/* every event of a call carries the same time: format it once */
	if (st->ts_len == 0 || st->ts_of != st->wall_us) {
		st->ts_len = (uint8_t)evr_u64dec(st->ts_txt, st->wall_us);
		st->ts_of = st->wall_us;
	}
	add(st, "Event-Date-Timestamp", st->ts_txt, st->ts_len, 0);
	return true;
}

ALWAYS_INLINE bool fs_begin(struct evr_sip_state *st, const char *name, const char *subclass)
{
	return fs_begin_n(st, name, strlen(name), subclass, subclass ? strlen(subclass) : 0);
}

static void ev_emit(struct evr_sip_state *st)
{
	if (!st->ev_on)
		return;
	st->ev_on = false;
	st->emit(st->arg, &st->ev.ev);
	st->emitted++;
	CNT(st, EVENTS);
}

/* ---- registrations ---- */

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

static void os_aor_event(struct evr_sip_state *st, const char *name, const struct contact *c)
{
	if (!ev_begin(st, EVR_SIP_STATE_OPENSIPS, name, NULL))
		return;
	adds(st, "domain", "location");
	ADDF(st, "aor", c, aor);
	ev_emit(st);
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

/* usrloc's E_UL_CONTACT_REFRESH (its parameter list differs from the
 * other contact events: no path/qval/cseq/latency, plus reason and
 * req_callid). */
static void os_ct_refresh_event(struct evr_sip_state *st, const struct contact *c)
{
	if (!ev_begin(st, EVR_SIP_STATE_OPENSIPS, "E_UL_CONTACT_REFRESH", NULL))
		return;
	adds(st, "domain", "location");
	ADDF(st, "aor", c, aor);
	ADDF(st, "uri", c, uri);
	ADDF(st, "received", c, rcv);
	ADDF(st, "user_agent", c, ua);
	ADDF(st, "socket", c, sock);
	addu(st, "bflags", 0, true);
	addu(st, "expires", c->expires_unix, true);
	ADDF(st, "callid", c, cid);
	adds(st, "attr", "");
	adds(st, "shtag", "");
	adds(st, "reason", "reg-refresh");
	adds(st, "req_callid", "");
	ev_emit(st);
}

static void os_ct_event(struct evr_sip_state *st, const char *name, const struct contact *c)
{
	if (!ev_begin(st, EVR_SIP_STATE_OPENSIPS, name, NULL))
		return;
	adds(st, "domain", "location");
	ADDF(st, "aor", c, aor);
	ADDF(st, "uri", c, uri);
	ADDF(st, "received", c, rcv);
	adds(st, "path", "");
	addi(st, "qval", c->q);
	ADDF(st, "user_agent", c, ua);
	ADDF(st, "socket", c, sock);
	addu(st, "bflags", 0, true);
	addu(st, "expires", c->expires_unix, true);
	ADDF(st, "callid", c, cid);
	addu(st, "cseq", c->cseq, true);
	adds(st, "attr", "");
	addu(st, "latency", 0, true);
	adds(st, "shtag", "");
	ev_emit(st);
}

/* FreeSWITCH writes the contact as name-addr: "display" <uri>. */
static void add_fs_contact(struct evr_sip_state *st, const char *disp, size_t dl,
                           const char *uri, size_t ul)
{
	char tmp[DISP_CAP + URI_CAP + 8];
	size_t n = 0;

	if (dl) {
		tmp[n++] = '"';
		memcpy(tmp + n, disp, dl);
		n += dl;
		tmp[n++] = '"';
		tmp[n++] = ' ';
	}
	tmp[n++] = '<';
	memcpy(tmp + n, uri, ul);
	n += ul;
	tmp[n++] = '>';
	add(st, "contact", tmp, n, 0);
}

static void add_net(struct evr_sip_state *st, const struct evr_sip_flow *f)
{
	char ip[INET6_ADDRSTRLEN];

	add(st, "network-ip", ip, fmt_ip(ip, sizeof(ip), f->family, f->src), 0);
	addu(st, "network-port", f->sport, false);
}

static void add_user_realm(struct evr_sip_state *st, const struct txn *t)
{
	if (t->auser_len)
		ADDF(st, "username", t, auser);
	else
		adds(st, "username", "unknown");
	if (t->arealm_len)
		ADDF(st, "realm", t, arealm);
	else
		ADDF(st, "realm", t, thost);
}

/* sofia::register (status NULL: "Registered(<TRANSPORT>)") and
 * sofia::register_attempt (status: the challenge's reason phrase). */
static void fs_register(struct evr_sip_state *st, const struct txn *t, unsigned k,
                        const char *subclass, uint64_t expires, const struct evr_sip_str *status)
{
	char reg_desc[32];
	size_t n;

	if (!fs_begin(st, "CUSTOM", subclass))
		return;
	add(st, "profile-name", st->profile, st->profile_len, 0);
	ADDF(st, "from-user", t, tuser);
	ADDF(st, "from-host", t, thost);
	if (status == NULL)
		adds(st, "presence-hosts", "n/a");
	if (k < t->n_ct)
		add_fs_contact(st, t->ct[k].disp, t->ct[k].disp_len, t->ct[k].uri, t->ct[k].uri_len);
	ADDF(st, "call-id", t, cid);
	adds(st, "rpid", "unknown");
	if (status) {
		addv(st, "status", *status);
	} else {
		/* mod_sofia: "Registered(%s)" with the transport in capitals */
		memcpy(reg_desc, "Registered(", 11);
		n = 11;
		for (uint16_t i = 0; i < t->transport_len; i++) {
			char c = t->transport[i];
			reg_desc[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
		}
		reg_desc[n++] = ')';
		add(st, "status", reg_desc, n, 0);
	}
	addu(st, "expires", expires, false);
	ADDF(st, "to-user", t, fuser);
	ADDF(st, "to-host", t, fhost);
	add_net(st, &t->flow);
	add_user_realm(st, t);
	ADDF(st, "user-agent", t, ua);
	ev_emit(st);
}

/* sofia::unregister for request contact k (none when k >= n_ct). */
static void fs_unregister(struct evr_sip_state *st, const struct txn *t, unsigned k)
{
	if (!fs_begin(st, "CUSTOM", "sofia::unregister"))
		return;
	add(st, "profile-name", st->profile, st->profile_len, 0);
	if (t->auser_len)
		ADDF(st, "username", t, auser);
	else
		adds(st, "username", "unknown");
	ADDF(st, "from-user", t, tuser);
	ADDF(st, "from-host", t, thost);
	if (k < t->n_ct)
		add_fs_contact(st, t->ct[k].disp, t->ct[k].disp_len, t->ct[k].uri, t->ct[k].uri_len);
	ADDF(st, "call-id", t, cid);
	adds(st, "rpid", "unknown");
	if (t->arealm_len)
		ADDF(st, "realm", t, arealm);
	else
		ADDF(st, "realm", t, thost);
	addu(st, "expires", 0, false);
	ev_emit(st);
}

static void fs_register_failure(struct evr_sip_state *st, const struct txn *t)
{
	if (!fs_begin(st, "CUSTOM", "sofia::register_failure"))
		return;
	add(st, "profile-name", st->profile, st->profile_len, 0);
	ADDF(st, "to-user", t, tuser);
	ADDF(st, "to-host", t, thost);
	char ip[INET6_ADDRSTRLEN];
	add(st, "network-ip", ip, fmt_ip(ip, sizeof(ip), t->flow.family, t->flow.src), 0);
	ADDF(st, "user-agent", t, ua);
	addu(st, "network-port", t->flow.sport, false);
	adds(st, "registration-type", "REGISTER");
	ev_emit(st);
}

static void fs_expire(struct evr_sip_state *st, const struct contact *c)
{
	if (!fs_begin(st, "CUSTOM", "sofia::expire"))
		return;
	add(st, "profile-name", st->profile, st->profile_len, 0);
	ADDF(st, "call-id", c, cid);
	add(st, "user", c->aor, c->user_len, 0);
	if (c->user_len < c->aor_len)
		add(st, "host", c->aor + c->user_len + 1, c->aor_len - c->user_len - 1, 0);
	else
		add(st, "host", c->aor, c->aor_len, 0);
	add_fs_contact(st, c->disp, c->disp_len, c->uri, c->uri_len);
	addu(st, "expires", c->expires_unix, false);
	ADDF(st, "user-agent", c, ua);
	ADDF(st, "realm", c, realm);
	ev_emit(st);
}

/* Remove contact i: E_UL_CONTACT_DELETE, then E_UL_AOR_DELETE when it was
 * the AOR's last (OpenSIPS order). */
static void ct_delete(struct evr_sip_state *st, uint32_t i)
{
	struct contact *c = CT(st, i);
	uint64_t h = c->l.hash;

	os_ct_event(st, "E_UL_CONTACT_DELETE", c);
	evr_sst_timer_del(st, TID(T_CT, i));
	evr_sst_tab_free(&st->ct, i);
	if (aor_count(st, c->aor, c->aor_len, h) == 0)
		os_aor_event(st, "E_UL_AOR_DELETE", c); /* c's fields survive the free */
}

static uint32_t ct_alloc(struct evr_sip_state *st, uint64_t h)
{
	uint32_t i = evr_sst_tab_alloc(&st->ct, h);

	if (i == NIL) {
		uint32_t old = st->ct.head;
		evr_sst_timer_del(st, TID(T_CT, old));
		evr_sst_tab_free(&st->ct, old);
		CNT(st, CONTACT_EVICTED);
		i = evr_sst_tab_alloc(&st->ct, h);
	}
	return i;
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
		fs_unregister(st, t, TXN_CONTACTS);
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
			fs_unregister(st, t, k);
			continue;
		}
		bool fresh = i == NIL, aor_new = false;
		if (fresh) {
			i = ct_alloc(st, h);
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
		c->rcv_len = (uint16_t)fmt_addr(c->rcv, sizeof(c->rcv), "sip:", f->family, f->src, f->sport);
		c->sock_len = (uint16_t)fmt_addr(c->sock, sizeof(c->sock), "udp:", f->family, f->dst, f->dport);
		c->cseq = t->cseq;
		c->q = t->ct[k].q;
		c->expires_unix = wall_s + exp;
		c->exp_ms = st->now_ms + exp * 1000u;
		c->pn = has_pn_provider(c->uri, c->uri_len);
		/* RFC 8599 contacts get a first deadline at the refresh point */
		c->refresh_armed = st->conf.pn_refresh_s && c->pn && exp > st->conf.pn_refresh_s;
		evr_sst_timer_set(st, TID(T_CT, i), c->refresh_armed
		          ? c->exp_ms - (uint64_t)st->conf.pn_refresh_s * 1000u : c->exp_ms);
		if (aor_new)
			os_aor_event(st, "E_UL_AOR_INSERT", c);
		os_ct_event(st, fresh ? "E_UL_CONTACT_INSERT" : "E_UL_CONTACT_UPDATE", c);
		fs_register(st, t, k, "sofia::register", exp, NULL);
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

static void reg_request(struct evr_sip_state *st, const struct evr_sip_msg *m,
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
	i = evr_sst_tab_alloc(&st->txn, h);
	if (i == NIL) {
		uint32_t old = st->txn.head;
		evr_sst_timer_del(st, TID(T_TXN, old));
		evr_sst_tab_free(&st->txn, old);
		CNT(st, REG_TXN_EVICTED);
		i = evr_sst_tab_alloc(&st->txn, h);
	}
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

static void reg_response(struct evr_sip_state *st, const struct evr_sip_msg *m)
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
		fs_register(st, t, 0, "sofia::register_attempt",
		            t->n_ct ? ct_expires(st, t, 0, m) : 0, &m->reason);
	else
		fs_register_failure(st, t);
}

/* ---- dialogs ---- */

static uint64_t dlg_hash(struct evr_sip_str cid, struct evr_sip_str tag)
{
	return evr_sst_qhash2(cid.p, cid.len, tag.p ? tag.p : "", tag.len);
}

static uint32_t dlg_find_h(struct evr_sip_state *st, struct evr_sip_str cid, struct evr_sip_str tag,
                           uint64_t h)
{
	for (uint32_t i = st->dlg.buckets[h & st->dlg.mask]; i != NIL; i = L(&st->dlg, i)->hnext) {
		struct dialog *d = DLG(st, i);
		if (d->l.hash == h && EQF(d, cid, cid) && EQF(d, ftag, tag))
			return i;
	}
	return NIL;
}

static uint32_t dlg_find(struct evr_sip_state *st, struct evr_sip_str cid, struct evr_sip_str tag)
{
	return dlg_find_h(st, cid, tag, dlg_hash(cid, tag));
}

/*
 * The dialog an in-dialog message belongs to, from either side. RFC 3261
 * §12: each UA identifies the dialog by Call-ID, its own (local) tag and
 * the peer's (remote) tag, and a request carries its sender's tag in From.
 * Dialogs are indexed by Call-ID + the caller's tag (the initial INVITE's
 * From tag), so a message of the caller's side (a request it sent, or a
 * response to one) is found by its From tag, and one of the callee's side
 * (a callee re-INVITE/UPDATE/ACK/BYE, or the caller's response to it) by
 * its To tag. *callee_side says which: the two sides number their requests
 * in separate CSeq spaces, and only the caller's holds the initial INVITE
 * (d->inv_cseq). Every in-dialog path (requests, responses, premature)
 * uses this one lookup.
 */
static uint32_t dlg_lookup(struct evr_sip_state *st, const struct evr_sip_msg *m, bool *callee_side)
{
	uint32_t i = dlg_find(st, m->call_id, m->from.tag);

	*callee_side = false;
	if (i != NIL || m->to.tag.len == 0)
		return i;
	i = dlg_find(st, m->call_id, m->to.tag);
	*callee_side = i != NIL;
	return i;
}

/* 8-4-4-4-12, version 8 (RFC 9562 custom) and the RFC variant bits; a is
 * the dialog's FNV hash of Call-ID + From tag (dlg_fill). */
static void dlg_uuid(const struct dialog *d, uint64_t a, char out[36])
{
	uint64_t b = evr_mix64(a ^ evr_fnv1a(0x9e3779b97f4a7c15ULL, d->cid, d->cid_len));

	a = (a & ~0xf000ULL) | 0x8000ULL;
	b = (b & ~(3ULL << 62)) | (2ULL << 62);
	evr_hex_lower(out, a >> 32, 8);
	out[8] = '-';
	evr_hex_lower(out + 9, a >> 16, 4);
	out[13] = '-';
	evr_hex_lower(out + 14, a, 4);
	out[18] = '-';
	evr_hex_lower(out + 19, b >> 48, 4);
	out[23] = '-';
	evr_hex_lower(out + 24, b, 12);
}

/* OpenSIPS int2reverse_hex(): hex digits, least significant first. */
static size_t rev_hex(char *out, uint32_t v)
{
	size_t n = 0;

	do {
		out[n++] = evr_hex_digit(v);
		v >>= 4;
	} while (v);
	return n;
}

static void os_dlg_state(struct evr_sip_state *st, struct dialog *d, uint8_t nstate)
{
	uint8_t ostate = d->state;
	uint32_t h_entry = d->h_entry, h_id = d->h_id;
	char id[24];
	size_t n;

	if (ostate == nstate)
		return;
	d->state = nstate;
	if (!ev_begin(st, EVR_SIP_STATE_OPENSIPS, "E_DLG_STATE_CHANGED", NULL))
		return;
	n = rev_hex(id, h_entry);
	id[n++] = '.';
	n += rev_hex(id + n, h_id);
	add(st, "id", id, n, 0);
	addu(st, "db_id", ((uint64_t)h_entry << 32) | h_id, false);
	ADDF(st, "callid", d, cid);
	ADDF(st, "from_tag", d, ftag);
	ADDF(st, "to_tag", d, ttag);
	addu(st, "old_state", ostate, true);
	addu(st, "new_state", nstate, true);
	ev_emit(st);
}

/* A channel event and its states; lengths kept so nothing is measured per
 * event. */
struct chan_state {
	const char *name;
	uint32_t name_len;
	const char *cs;
	uint32_t cs_len;
	unsigned cs_num;
	const char *call_state;
	uint32_t call_state_len;
	const char *answer_state;
	uint32_t answer_state_len;
};

#define LS(s) s, sizeof(s) - 1
static const struct chan_state CH_CREATE = { LS("CHANNEL_CREATE"), LS("CS_INIT"), 1, LS("DOWN"), LS("ringing") };
static const struct chan_state CH_RINGING = { LS("CHANNEL_PROGRESS"), LS("CS_EXECUTE"), 4, LS("RINGING"), LS("ringing") };
static const struct chan_state CH_EARLY = { LS("CHANNEL_PROGRESS_MEDIA"), LS("CS_EXECUTE"), 4, LS("EARLY"), LS("early") };
static const struct chan_state CH_ACTIVE = { LS("CHANNEL_ANSWER"), LS("CS_EXECUTE"), 4, LS("ACTIVE"), LS("answered") };
static const struct chan_state CH_HANGUP = { LS("CHANNEL_HANGUP"), LS("CS_HANGUP"), 10, LS("HANGUP"), LS("hangup") };
static const struct chan_state CH_COMPLETE = { LS("CHANNEL_HANGUP_COMPLETE"), LS("CS_REPORTING"), 11, LS("HANGUP"), LS("hangup") };
#undef LS

static void fs_chan(struct evr_sip_state *st, const struct dialog *d,
                    const struct chan_state *cs, const char *cause, unsigned sip_code)
{
	char chan[16 + 64 + USER_CAP + HOST_CAP], ip[INET6_ADDRSTRLEN], tmp[16];
	size_t cn, pl = st->profile_len, iplen;

	if (!fs_begin_n(st, cs->name, cs->name_len, NULL, 0))
		return;
	/* sofia/<profile>/<user>@<host> */
	memcpy(chan, "sofia/", 6);
	cn = 6;
	memcpy(chan + cn, st->profile, pl);
	cn += pl;
	chan[cn++] = '/';
	memcpy(chan + cn, d->fuser, d->fuser_len);
	cn += d->fuser_len;
	chan[cn++] = '@';
	memcpy(chan + cn, d->fhost, d->fhost_len);
	cn += d->fhost_len;
	iplen = fmt_ip(ip, sizeof(ip), d->family, d->ip);

	add(st, "Channel-State", cs->cs, cs->cs_len, 0);
	add(st, "Channel-Call-State", cs->call_state, cs->call_state_len, 0);
	addu(st, "Channel-State-Number", cs->cs_num, false);
	add(st, "Channel-Name", chan, cn, 0);
	add(st, "Unique-ID", d->uuid, 36, 0);
	adds(st, "Call-Direction", "inbound");
	add(st, "Answer-State", cs->answer_state, cs->answer_state_len, 0);
	if (cause)
		adds(st, "Hangup-Cause", cause);
	adds(st, "Caller-Direction", "inbound");
	ADDF(st, "Caller-Username", d, fuser);
	adds(st, "Caller-Dialplan", "XML");
	if (d->disp_len)
		ADDF(st, "Caller-Caller-ID-Name", d, disp);
	else
		ADDF(st, "Caller-Caller-ID-Name", d, fuser);
	ADDF(st, "Caller-Caller-ID-Number", d, fuser);
	ADDF(st, "Caller-ANI", d, fuser);
	ADDF(st, "Caller-Destination-Number", d, dest);
	add(st, "Caller-Unique-ID", d->uuid, 36, 0);
	adds(st, "Caller-Source", "mod_sofia");
	adds(st, "Caller-Context", "public");
	add(st, "Caller-Channel-Name", chan, cn, 0);
	add(st, "Caller-Network-Addr", ip, iplen, 0);
	ADDF(st, "variable_sip_call_id", d, cid);
	ADDF(st, "variable_sip_from_user", d, fuser);
	ADDF(st, "variable_sip_from_host", d, fhost);
	ADDF(st, "variable_sip_to_user", d, tuser);
	add(st, "variable_sip_network_ip", ip, iplen, 0);
	addu(st, "variable_sip_network_port", d->port, false);
	if (sip_code) {
		memcpy(tmp, "sip:", 4);
		add(st, "variable_proto_specific_hangup_cause", tmp, 4 + evr_u64dec(tmp + 4, sip_code), 0);
	}
	ev_emit(st);
}

static void dlg_end(struct evr_sip_state *st, uint32_t i, const char *cause, unsigned sip_code)
{
	struct dialog *d = DLG(st, i);

	d->flags |= DF_ENDED;
	fs_chan(st, d, &CH_HANGUP, cause, sip_code);
	fs_chan(st, d, &CH_COMPLETE, cause, sip_code);
	os_dlg_state(st, d, DLG_DELETED);
	evr_sst_timer_set(st, TID(T_DLG, i), st->now_ms + st->conf.linger_ms);
}

static bool dlg_fill(struct dialog *d, const struct evr_sip_msg *m, const struct evr_sip_flow *f)
{
	uint64_t hc, fh;

	d->state = DLG_UNCONFIRMED;
	d->flags = 0;
	d->inv_cseq = m->cseq;
	d->family = f->family;
	memcpy(d->ip, f->src, 16);
	d->port = f->sport;
	d->ttag_len = 0;
	if (!(SETF(d, cid, m->call_id) && SETF(d, ftag, m->from.tag)
	      && SETF(d, fuser, m->from.uri.user) && SETF(d, fhost, m->from.uri.host)
	      && SETF(d, disp, m->from.display) && SETF(d, dest, m->ruri.user)
	      && SETF(d, tuser, m->to.uri.user)))
		return false;
	/* OpenSIPS h_entry: the Call-ID's slot in its 4096-entry default hash
	 * table; h_id, a per-entry counter there, is a stable hash here: FNV-1a
	 * of the Call-ID, continued over 0xff-separated From tag (so ("ab","c")
	 * != ("a","bc")), mixed with the Call-ID length. */
	hc = evr_fnv1a(EVR_HASH_SEED, d->cid, d->cid_len);
	fh = evr_mix64(evr_fnv1a(hc ^ 0xff, d->ftag, d->ftag_len) ^ d->cid_len);
	d->h_entry = (uint16_t)(hc & 4095u);
	d->h_id = (uint32_t)(fh >> 32);
	dlg_uuid(d, fh, d->uuid);
	return true;
}

static void invite_request(struct evr_sip_state *st, const struct evr_sip_msg *m,
                           const struct evr_sip_flow *f)
{
	uint32_t i;
	uint64_t h;

	if (m->to.tag.len) {
		CNT(st, REINVITE);
		return;
	}
	h = dlg_hash(m->call_id, m->from.tag);
	i = dlg_find_h(st, m->call_id, m->from.tag, h);
	if (i != NIL) {
		struct dialog *d = DLG(st, i);
		if (m->cseq == d->inv_cseq) {
			CNT(st, DUP_REQUEST);
			return;
		}
		if (!(d->flags & DF_ENDED) || m->cseq < d->inv_cseq) {
			CNT(st, ABSORBED);
			return;
		}
		/* same Call-ID/From tag, higher CSeq after the first attempt ended
		 * (INVITE resent with credentials after a 401/407): a new call */
		if (!dlg_fill(d, m, f)) {
			CNT(st, FIELD_TOO_LONG);
			return;
		}
	} else {
		i = evr_sst_tab_alloc(&st->dlg, h);
		if (i == NIL) {
			uint32_t old = st->dlg.head;
			evr_sst_timer_del(st, TID(T_DLG, old));
			evr_sst_tab_free(&st->dlg, old);
			CNT(st, DIALOG_EVICTED);
			i = evr_sst_tab_alloc(&st->dlg, h);
		}
		if (!dlg_fill(DLG(st, i), m, f)) {
			evr_sst_tab_free(&st->dlg, i);
			CNT(st, FIELD_TOO_LONG);
			return;
		}
	}
	fs_chan(st, DLG(st, i), &CH_CREATE, NULL, 0);
	evr_sst_timer_set(st, TID(T_DLG, i), st->now_ms + st->conf.originate_timeout_ms);
}

static bool has_sdp(const struct evr_sip_msg *m)
{
	const struct evr_sip_str *ct = &m->content_type;

	if (m->body.len == 0 || ct->len < 3)
		return false;
	for (uint32_t k = 0; k + 3 <= ct->len; k++)
		if (evr_ieq(ct->p + k, "sdp", 3))
			return true;
	return false;
}

static void invite_response(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	bool callee;
	uint32_t i = dlg_lookup(st, m, &callee);
	unsigned code = m->status_code;
	struct dialog *d;

	if (i == NIL) {
		CNT(st, ORPHAN_RESPONSE);
		return;
	}
	d = DLG(st, i);
	/* 100 Trying, a caller re-INVITE's response, or any response to a
	 * callee re-INVITE (the callee's CSeq space: never the initial one) */
	if (callee || m->cseq != d->inv_cseq || code == 100) {
		CNT(st, ABSORBED);
		return;
	}
	if (code < 200) {
		bool media = code == 183 && has_sdp(m);
		uint8_t need = media ? DF_MEDIA : DF_PROGRESS;
		if (d->flags & (DF_ENDED | DF_ANSWERED)) {
			CNT(st, ABSORBED);
			return;
		}
		if ((d->flags & need) && d->state == DLG_EARLY) {
			CNT(st, DUP_RESPONSE);
			return;
		}
		if (d->ttag_len == 0 && m->to.tag.len)
			(void)SETF(d, ttag, m->to.tag);
		/* FreeSWITCH event first, then OpenSIPS's, as on answer/hangup */
		if (!(d->flags & need)) {
			d->flags |= need;
			if (media)
				fs_chan(st, d, &CH_EARLY, NULL, 0);
			else
				fs_chan(st, d, &CH_RINGING, NULL, 0);
		}
		os_dlg_state(st, d, DLG_EARLY);
		return;
	}
	if (code < 300) {
		if (d->flags & DF_ANSWERED) {
			if (EQF(d, ttag, m->to.tag))
				CNT(st, DUP_RESPONSE);
			else
				CNT(st, FORK_2XX);
			return;
		}
		if (d->flags & DF_ENDED) {
			CNT(st, LATE_2XX);
			return;
		}
		if (!SETF(d, ttag, m->to.tag))
			d->ttag_len = 0;
		d->flags |= DF_ANSWERED;
		fs_chan(st, d, &CH_ACTIVE, NULL, 0);
		os_dlg_state(st, d, DLG_CONFIRMED_NA);
		evr_sst_timer_set(st, TID(T_DLG, i), st->now_ms + st->conf.max_dialog_ms);
		return;
	}
	if (d->flags & DF_ENDED) {
		/* 487 after our CANCEL-hangup is expected; a repeated final is not */
		if (code == 487)
			CNT(st, ABSORBED);
		else
			CNT(st, DUP_RESPONSE);
		return;
	}
	if (d->flags & DF_ANSWERED) {
		CNT(st, ABSORBED); /* another fork's failure after the answer */
		return;
	}
	if (d->ttag_len == 0 && m->to.tag.len)
		(void)SETF(d, ttag, m->to.tag);
	dlg_end(st, i, evr_sip_status_to_cause(code, NULL), code);
}

/* "Reason: SIP;cause=200, Q.850;cause=16;text=..." -> 16, or 0. */
static unsigned reason_q850(const struct evr_sip_msg *m)
{
	for (uint32_t k = 0; k < m->n_headers; k++) {
		const struct evr_sip_header *h = &m->headers[k];
		const char *p, *end;

		if (h->name.len != 6 || !evr_ieq(h->name.p, "Reason", 6))
			continue;
		p = h->value.p;
		end = p + h->value.len;
		for (; p + 5 <= end; p++) {
			if (!evr_ieq(p, "Q.850", 5))
				continue;
			for (const char *q = p + 5; q + 6 <= end && *q != ','; q++) {
				if (evr_ieq(q, "cause=", 6)) {
					unsigned v = 0;
					q += 6;
					while (q < end && *q >= '0' && *q <= '9' && v < 1000)
						v = v * 10 + (unsigned)(*q++ - '0');
					return v;
				}
			}
		}
	}
	return 0;
}

static void dialog_request(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	bool callee;
	uint32_t i = dlg_lookup(st, m, &callee);
	struct dialog *d;

	if (i == NIL) {
		CNT(st, ORPHAN_REQUEST);
		return;
	}
	d = DLG(st, i);
	switch (m->method) {
	case EVR_SIP_METHOD_ACK:
		/* the callee ACKs only its own re-INVITEs: its CSeq space */
		if (callee || m->cseq != d->inv_cseq || (d->flags & DF_ENDED)
		    || !(d->flags & DF_ANSWERED))
			CNT(st, ABSORBED); /* ACK of a failure or of a re-INVITE */
		else if (d->state == DLG_CONFIRMED_NA)
			os_dlg_state(st, d, DLG_CONFIRMED);
		else
			CNT(st, DUP_REQUEST);
		return;
	case EVR_SIP_METHOD_BYE: {
		unsigned q;
		if (d->flags & DF_ENDED) {
			CNT(st, DUP_REQUEST);
			return;
		}
		q = reason_q850(m);
		dlg_end(st, i, q ? evr_sip_q850_name(q) : "NORMAL_CLEARING", 0);
		return;
	}
	default: /* CANCEL */
		if (d->flags & DF_ENDED)
			CNT(st, DUP_REQUEST);
		else if (callee || (d->flags & DF_ANSWERED))
			/* too late, the call was answered; or the callee
			 * cancelling its own request */
			CNT(st, ABSORBED);
		else
			dlg_end(st, i, "ORIGINATOR_CANCEL", 0);
		return;
	}
}

static void dialog_other_response(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	bool callee;

	if (dlg_lookup(st, m, &callee) != NIL)
		CNT(st, ABSORBED);
	else
		CNT(st, ORPHAN_RESPONSE);
}

/*
 * Would m find the state it refers to missing right now? A response
 * without its REGISTER transaction or INVITE dialog, an ACK/BYE/CANCEL
 * without its dialog, an ACK of the INVITE before its final response, a
 * BYE before the answer. With several workers the request can still be in
 * another worker's hand-off ring (or behind its idle sleep), so evrd holds
 * such messages a little and retries them (sip.reorder_ms) instead of
 * counting an orphan at once. Read-only: no state, no counter changes.
 */
bool evr_sip_state_premature(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	uint32_t i;
	struct dialog *d;
	bool callee;

	switch (m->method) {
	case EVR_SIP_METHOD_REGISTER:
		return !m->is_request &&
		       txn_find(st, m->call_id, m->cseq, txn_hash(m->call_id, m->cseq)) == NIL;
	case EVR_SIP_METHOD_INVITE:
		/* a 100 Trying too: it raises nothing, but it is sent at once
		 * and overtakes its INVITE whenever the INVITE is slower (in
		 * another worker's hand-off ring, or reassembled from
		 * fragments), and without it would count as an orphan */
		return !m->is_request && dlg_lookup(st, m, &callee) == NIL;
	case EVR_SIP_METHOD_ACK:
	case EVR_SIP_METHOD_BYE:
	case EVR_SIP_METHOD_CANCEL:
		i = dlg_lookup(st, m, &callee);
		if (!m->is_request)
			/* they raise nothing, but without their dialog they
			 * would count as orphans: the INVITE may still be in
			 * another worker's hand-off ring */
			return i == NIL;
		if (i == NIL)
			return true;
		d = DLG(st, i);
		if (d->flags & (DF_ENDED | DF_ANSWERED))
			return false;
		/* still unanswered: an ACK of the INVITE or a BYE means its
		 * final response is on its way through another worker (a
		 * callee's ACK is of its own re-INVITE: the dialog was
		 * answered, the 2xx is still in flight) */
		return (m->method == EVR_SIP_METHOD_ACK && (callee || m->cseq == d->inv_cseq)) ||
		       m->method == EVR_SIP_METHOD_BYE;
	default:
		return false;
	}
}

/* ---- API ---- */

void evr_sip_state_conf_default(struct evr_sip_state_conf *c)
{
	*c = (struct evr_sip_state_conf){
		.max_dialogs = 100000,
		.max_registrations = 100000,
		.originate_timeout_ms = 60000,
		.max_dialog_ms = 4u * 3600u * 1000u,
		.linger_ms = 32000,
		.default_expires = 3600,
		.families = EVR_SIP_STATE_OPENSIPS | EVR_SIP_STATE_FREESWITCH,
		.profile = "internal",
		.hostname = "evrd",
	};
}

struct evr_sip_state *evr_sip_state_create(const struct evr_sip_state_conf *c, const struct evr_limits *lim)
{
	struct evr_sip_state *st;
	uint32_t ntxn;
	int rc;

	if (c == NULL || c->max_dialogs == 0 || c->max_registrations == 0
	    || c->max_dialogs >= (1u << 30) || c->max_registrations >= (1u << 30)
	    || (c->profile && strlen(c->profile) >= 64)
	    || (c->hostname && strlen(c->hostname) >= 128)) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	st->conf = *c;
	if (lim)
		st->lim = *lim;
	else
		evr_limits_default(&st->lim);
	if (evr_limits_validate(&st->lim, NULL, 0) != 0) {
		free(st);
		errno = EINVAL;
		return NULL;
	}
	strcpy(st->profile, c->profile ? c->profile : "internal");
	strcpy(st->hostname, c->hostname ? c->hostname : "evrd");
	st->conf.profile = st->profile;
	st->conf.hostname = st->hostname;
	st->profile_len = (uint32_t)strlen(st->profile);
	st->hostname_len = (uint32_t)strlen(st->hostname);
	/* REGISTER transactions live one round trip plus linger: a fraction of
	 * the contacts is plenty */
	ntxn = c->max_registrations / 16;
	ntxn = ntxn < 64 ? 64 : ntxn > 8192 ? 8192 : ntxn;
	rc = evr_sst_tab_init(&st->txn, ntxn, sizeof(struct txn));
	if (rc == 0)
		rc = evr_sst_tab_init(&st->ct, c->max_registrations, sizeof(struct contact));
	if (rc == 0)
		rc = evr_sst_tab_init(&st->dlg, c->max_dialogs, sizeof(struct dialog));
	st->heap_cap = ntxn + c->max_registrations + c->max_dialogs;
	st->heap = malloc(sizeof(*st->heap) * st->heap_cap);
	/* +1: the builder keeps buf[0] as the empty string */
	if (rc == 0)
		rc = evr_ev_arena_init(&st->ev, &st->lim, EVB_BUF_CAP + 1);
	if (rc != 0 || st->heap == NULL) {
		evr_sip_state_destroy(st);
		errno = ENOMEM;
		return NULL;
	}
	return st;
}

void evr_sip_state_destroy(struct evr_sip_state *st)
{
	if (st == NULL)
		return;
	evr_sst_tab_fini(&st->txn);
	evr_sst_tab_fini(&st->ct);
	evr_sst_tab_fini(&st->dlg);
	free(st->heap);
	evr_ev_arena_fini(&st->ev);
	free(st);
}

static void call_begin(struct evr_sip_state *st, uint64_t now_ms, uint64_t wall_us,
                       evr_sip_state_emit_fn emit, void *arg)
{
	st->now_ms = now_ms;
	st->wall_us = wall_us;
	st->emit = emit;
	st->arg = arg;
	st->emitted = 0;
}

static void call_end(struct evr_sip_state *st)
{
	st->stats.dialogs = st->dlg.n;
	st->stats.registrations = st->ct.n;
}

uint32_t evr_sip_state_input(struct evr_sip_state *st, const struct evr_sip_msg *m,
                         const struct evr_sip_flow *f, uint64_t now_ms,
                         evr_sip_state_emit_fn emit, void *arg)
{
	call_begin(st, now_ms, f->ts_us, emit, arg);
	CNT(st, MSGS);
	switch (m->method) {
	case EVR_SIP_METHOD_REGISTER:
		if (m->is_request)
			reg_request(st, m, f);
		else
			reg_response(st, m);
		break;
	case EVR_SIP_METHOD_INVITE:
		if (m->is_request)
			invite_request(st, m, f);
		else
			invite_response(st, m);
		break;
	case EVR_SIP_METHOD_ACK:
	case EVR_SIP_METHOD_BYE:
	case EVR_SIP_METHOD_CANCEL:
		if (m->is_request)
			dialog_request(st, m);
		else
			dialog_other_response(st, m);
		break;
	default:
		CNT(st, UNTRACKED);
		break;
	}
	call_end(st);
	return st->emitted;
}

static void expire_one(struct evr_sip_state *st, uint32_t id)
{
	uint32_t i = id & 0x3fffffffu;

	switch (id >> 30) {
	case T_TXN:
		if (!TXN(st, i)->done)
			CNT(st, REG_TXN_TIMEOUT);
		evr_sst_tab_free(&st->txn, i);
		break;
	case T_CT: {
		struct contact *c = CT(st, i);

		if (c->refresh_armed) { /* the refresh point, not the end */
			c->refresh_armed = 0;
			CNT(st, CONTACT_REFRESH);
			os_ct_refresh_event(st, c);
			evr_sst_timer_set(st, TID(T_CT, i), c->exp_ms);
			break;
		}
		CNT(st, CONTACT_EXPIRED);
		fs_expire(st, c);
		ct_delete(st, i);
		break;
	}
	default: {
		struct dialog *d = DLG(st, i);
		if (d->flags & DF_ENDED) {
			evr_sst_tab_free(&st->dlg, i);
		} else if (!(d->flags & DF_ANSWERED)) {
			CNT(st, DIALOG_TIMEOUT);
			dlg_end(st, i, "NO_ANSWER", 0);
		} else {
			CNT(st, DIALOG_MAX_AGE);
			evr_sst_tab_free(&st->dlg, i);
		}
		break;
	}
	}
}

uint32_t evr_sip_state_tick(struct evr_sip_state *st, uint64_t now_ms, uint64_t wall_us,
                        evr_sip_state_emit_fn emit, void *arg)
{
	unsigned budget = EVR_SIP_STATE_TICK_BUDGET;

	call_begin(st, now_ms, wall_us, emit, arg);
	while (budget-- && st->heap_n && st->heap[0].at <= now_ms) {
		uint32_t id = st->heap[0].id;
		evr_sst_timer_del(st, id);
		expire_one(st, id);
	}
	call_end(st);
	return st->emitted;
}

const struct evr_sip_state_stats *evr_sip_state_stats(const struct evr_sip_state *st)
{
	return &st->stats;
}
