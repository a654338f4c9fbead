/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP state -> derived events: the shard's API (create, input, tick), its
 * counters, and the dispatcher that hands the state machines' typed
 * transitions to the platform mappers. Where the rest lives:
 *   evr_sip_table.c      fixed tables, LRU order, timer heap
 *   evr_sip_reg.c        REGISTER transactions and contact bindings
 *   evr_sip_dialog.c     INVITE dialogs
 *   evr_sip_opensips.c   transitions -> OpenSIPS events (usrloc, dialog)
 *   evr_sip_freeswitch.c transitions -> FreeSWITCH events (sofia, CHANNEL_*)
 *
 * Design note:
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
#include "evr_sip_state_ev.h"


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
size_t evr_sst_fmt_ip(char *out, size_t cap, uint8_t family, const uint8_t *ip)
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
size_t evr_sst_fmt_addr(char *out, size_t cap, const char *prefix, uint8_t family,
                        const uint8_t *ip, uint16_t port)
{
	size_t n = strlen(prefix), k;

	if (cap < n + 50)
		return 0;
	memcpy(out, prefix, n);
	if (family == 6)
		out[n++] = '[';
	k = evr_sst_fmt_ip(out + n, cap - n, family, ip);
	n += k;
	if (family == 6)
		out[n++] = ']';
	out[n++] = ':';
	n += evr_u64dec(out + n, port);
	return n;
}

/* ---- dispatch ---- */

/*
 * Hand a transition to every enabled platform mapper, in the order the
 * platforms themselves raise their events for the same SIP message: on
 * dialogs FreeSWITCH's channel events come before OpenSIPS's state change;
 * on registrations usrloc's contact events come before mod_sofia's
 * register event. A new platform is one more mapper file and one more call
 * here.
 */
void evr_sst_dispatch(struct evr_sip_state *st, const struct evr_sst_tr *tr)
{
	uint32_t fam = st->conf.families;
	bool os_first = tr->kind >= EVR_SST_REG_BOUND;

	if (os_first && (fam & EVR_SIP_STATE_OPENSIPS))
		evr_sst_opensips_map(st, tr);
	if (fam & EVR_SIP_STATE_FREESWITCH)
		evr_sst_freeswitch_map(st, tr);
	if (!os_first && (fam & EVR_SIP_STATE_OPENSIPS))
		evr_sst_opensips_map(st, tr);
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
		return !m->is_request && !evr_sst_reg_txn_known(st, m);
	case EVR_SIP_METHOD_INVITE:
		/* a 100 Trying too: it raises nothing, but it is sent at once
		 * and overtakes its INVITE whenever the INVITE is slower (in
		 * another worker's hand-off ring, or reassembled from
		 * fragments), and without it would count as an orphan */
		return !m->is_request && evr_sst_dlg_lookup(st, m, &callee) == NIL;
	case EVR_SIP_METHOD_ACK:
	case EVR_SIP_METHOD_BYE:
	case EVR_SIP_METHOD_CANCEL:
		i = evr_sst_dlg_lookup(st, m, &callee);
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
	evr_fs_clock_init(&st->fs_clk);
	if (c->fs_std) {
		st->fs_std = c->fs_std;
	} else if ((rc = evr_fs_std_init(&st->fs_own, st->hostname, NULL, NULL, NULL)) == 0) {
		st->fs_std = &st->fs_own;
	} else {
		free(st);
		errno = -rc;
		return NULL;
	}
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
			evr_sst_reg_request(st, m, f);
		else
			evr_sst_reg_response(st, m);
		break;
	case EVR_SIP_METHOD_INVITE:
		if (m->is_request)
			evr_sst_invite_request(st, m, f);
		else
			evr_sst_invite_response(st, m);
		break;
	case EVR_SIP_METHOD_ACK:
	case EVR_SIP_METHOD_BYE:
	case EVR_SIP_METHOD_CANCEL:
		if (m->is_request)
			evr_sst_dialog_request(st, m);
		else
			evr_sst_dialog_other_response(st, m);
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
		evr_sst_reg_txn_expire(st, i);
		break;
	case T_CT:
		evr_sst_reg_contact_expire(st, i);
		break;
	default:
		evr_sst_dialog_expire(st, i);
		break;
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

const struct evr_scratch *evr_sip_state_arena(const struct evr_sip_state *st)
{
	return &st->ev;
}

const struct evr_sip_state_stats *evr_sip_state_stats(const struct evr_sip_state *st)
{
	return &st->stats;
}
