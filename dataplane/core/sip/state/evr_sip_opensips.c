/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSIPS vocabulary: maps the state machines' typed transitions
 * (evr_sip_state_internal.h) to the events OpenSIPS's usrloc and dialog
 * modules would raise (E_UL_AOR_*, E_UL_CONTACT_* with usrloc's parameter
 * lists; E_DLG_STATE_CHANGED with its state numbers and ids), through the
 * event builder (evr_sip_state_ev.h). Only called when the OpenSIPS family
 * is enabled; it reads records and never changes state.
 *
 * Thread context: one shard = one worker thread; nothing here locks or
 * allocates.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/evr_bytes.h"
#include "evr_sip_state_ev.h"

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

static void os_aor_event(struct evr_sip_state *st, const char *name, const struct contact *c)
{
	if (!ev_begin(st, EVR_SIP_STATE_OPENSIPS, name, NULL))
		return;
	adds(st, "domain", "location");
	ADDF(st, "aor", c, aor);
	ev_emit(st);
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

/* E_DLG_STATE_CHANGED, when the dialog's state changed. */
static void os_dlg_state(struct evr_sip_state *st, const struct dialog *d, uint8_t ostate,
                         uint8_t nstate)
{
	uint32_t h_entry = d->h_entry, h_id = d->h_id;
	char id[24];
	size_t n;

	if (ostate == nstate)
		return;
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

void evr_sst_opensips_map(struct evr_sip_state *st, const struct evr_sst_tr *tr)
{
	switch (tr->kind) {
	case EVR_SST_DLG_CREATED:
		break; /* OpenSIPS raises nothing for a new dialog */
	case EVR_SST_DLG_EARLY:
	case EVR_SST_DLG_ANSWERED:
	case EVR_SST_DLG_CONFIRMED:
	case EVR_SST_DLG_ENDED:
		os_dlg_state(st, tr->dlg, tr->old_state, tr->new_state);
		break;
	case EVR_SST_REG_BOUND:
		if (tr->aor_new)
			os_aor_event(st, "E_UL_AOR_INSERT", tr->ct);
		os_ct_event(st, tr->fresh ? "E_UL_CONTACT_INSERT" : "E_UL_CONTACT_UPDATE", tr->ct);
		break;
	case EVR_SST_REG_DELETED:
		os_ct_event(st, "E_UL_CONTACT_DELETE", tr->ct);
		if (tr->aor_last)
			os_aor_event(st, "E_UL_AOR_DELETE", tr->ct);
		break;
	case EVR_SST_REG_REFRESH:
		os_ct_refresh_event(st, tr->ct);
		break;
	case EVR_SST_REG_UNBOUND:    /* usrloc's events come with REG_DELETED */
	case EVR_SST_REG_CHALLENGED: /* the registrar raises nothing for these */
	case EVR_SST_REG_FAILED:
	case EVR_SST_REG_EXPIRED:    /* E_UL_CONTACT_DELETE comes with REG_DELETED */
		break;
	}
}
