/* SPDX-License-Identifier: Apache-2.0 */
/*
 * INVITE dialog state machine: the dialog table (key Call-ID + the
 * initial INVITE's From tag), duplicate/fork/late-response handling, the
 * dialog timers, and the typed transitions (created, early, answered,
 * confirmed, ended with a cause) it hands to evr_sst_dispatch(). It knows
 * no platform vocabulary: the mappers (evr_sip_opensips.c,
 * evr_sip_freeswitch.c) turn transitions into events. The OpenSIPS-style
 * identifiers (h_entry/h_id) and the Unique-ID are derived here once per
 * dialog, at dlg_fill, so no event hashes again.
 *
 * Thread context: one shard = one worker thread; nothing here locks or
 * allocates.
 */
#include <stdbool.h>
#include <string.h>

#include "util/evr_bytes.h"
#include "util/evr_hash.h"
#include "evr_sip_state_internal.h"

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
uint32_t evr_sst_dlg_lookup(struct evr_sip_state *st, const struct evr_sip_msg *m,
                            bool *callee_side)
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

/* Move d to nstate and tell the platforms (a state change raises an
 * OpenSIPS event only when the state differs: the mapper checks). */
static void dlg_transit(struct evr_sip_state *st, struct dialog *d, enum evr_sst_tr_kind kind,
                        uint8_t nstate, uint8_t progress, const char *cause, unsigned sip_code)
{
	struct evr_sst_tr tr = {
		.kind = kind, .old_state = d->state, .new_state = nstate, .progress = progress,
		.sip_code = sip_code, .cause = cause, .dlg = d,
	};

	d->state = nstate;
	evr_sst_dispatch(st, &tr);
}

static void dlg_end(struct evr_sip_state *st, uint32_t i, const char *cause, unsigned sip_code)
{
	struct dialog *d = DLG(st, i);

	d->flags |= DF_ENDED;
	dlg_transit(st, d, EVR_SST_DLG_ENDED, DLG_DELETED, EVR_SST_PROGRESS_NONE, cause, sip_code);
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

void evr_sst_invite_request(struct evr_sip_state *st, const struct evr_sip_msg *m,
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
		i = evr_sst_alloc_evict(st, T_DLG, h, EVR_SIP_STATE_DIALOG_EVICTED);
		if (!dlg_fill(DLG(st, i), m, f)) {
			evr_sst_tab_free(&st->dlg, i);
			CNT(st, FIELD_TOO_LONG);
			return;
		}
	}
	dlg_transit(st, DLG(st, i), EVR_SST_DLG_CREATED, DLG(st, i)->state, EVR_SST_PROGRESS_NONE,
	            NULL, 0);
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

void evr_sst_invite_response(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	bool callee;
	uint32_t i = evr_sst_dlg_lookup(st, m, &callee);
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
		/* a first ringing/media progress raises a FreeSWITCH event
		 * (before OpenSIPS's state change: the dispatcher's order) */
		uint8_t progress = EVR_SST_PROGRESS_NONE;
		if (!(d->flags & need)) {
			d->flags |= need;
			progress = media ? EVR_SST_PROGRESS_MEDIA : EVR_SST_PROGRESS_RINGING;
		}
		dlg_transit(st, d, EVR_SST_DLG_EARLY, DLG_EARLY, progress, NULL, 0);
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
		dlg_transit(st, d, EVR_SST_DLG_ANSWERED, DLG_CONFIRMED_NA, EVR_SST_PROGRESS_NONE,
		            NULL, 0);
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

void evr_sst_dialog_request(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	bool callee;
	uint32_t i = evr_sst_dlg_lookup(st, m, &callee);
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
			dlg_transit(st, d, EVR_SST_DLG_CONFIRMED, DLG_CONFIRMED,
			            EVR_SST_PROGRESS_NONE, NULL, 0);
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

void evr_sst_dialog_other_response(struct evr_sip_state *st, const struct evr_sip_msg *m)
{
	bool callee;

	if (evr_sst_dlg_lookup(st, m, &callee) != NIL)
		CNT(st, ABSORBED);
	else
		CNT(st, ORPHAN_RESPONSE);
}

/* The dialog timer of record i fired: an ended dialog's linger is over, an
 * unanswered one timed out, an answered one reached max_dialog_ms. */
void evr_sst_dialog_expire(struct evr_sip_state *st, uint32_t i)
{
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
}
