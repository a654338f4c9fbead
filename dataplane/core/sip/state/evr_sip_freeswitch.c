/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH vocabulary: maps the state machines' typed transitions
 * (evr_sip_state_internal.h) to the events mod_sofia and the core would
 * raise (sofia::register, register_attempt, register_failure, unregister,
 * expire; CHANNEL_* with their channel states), through the event builder
 * (evr_sip_state_ev.h). Only called when the FreeSWITCH family is enabled;
 * it reads records and never changes state.
 *
 * Thread context: one shard = one worker thread; nothing here locks or
 * allocates.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/evr_bytes.h"
#include "evr_sip_state_ev.h"

/* A mod_sofia CUSTOM event: its subclass, then the profile it came from.
 * func/line: the raise, for Event-Calling-Function/-Line-Number. */
static bool sofia_begin_at(struct evr_sip_state *st, const char *subclass, const char *func,
                           unsigned line)
{
	if (!fs_begin_at(st, "CUSTOM", 6, subclass, strlen(subclass), EVR_FILE_NAME, func, line))
		return false;
	add(st, "profile-name", st->profile, st->profile_len, 0);
	return true;
}

/* FreeSWITCH writes the contact as name-addr: "display" <uri>. */
#define sofia_begin(st, subclass) sofia_begin_at((st), (subclass), __func__, __LINE__)

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

	add(st, "network-ip", ip, evr_sst_fmt_ip(ip, sizeof(ip), f->family, f->src), 0);
	addu(st, "network-port", f->sport, false);
}

/* The digest realm, or the To host when the request carried none. */
static void add_realm(struct evr_sip_state *st, const struct txn *t)
{
	if (t->arealm_len)
		ADDF(st, "realm", t, arealm);
	else
		ADDF(st, "realm", t, thost);
}

static void add_user_realm(struct evr_sip_state *st, const struct txn *t)
{
	if (t->auser_len)
		ADDF(st, "username", t, auser);
	else
		adds(st, "username", "unknown");
	add_realm(st, t);
}

/* sofia::register (status NULL: "Registered(<TRANSPORT>)") and
 * sofia::register_attempt (status: the challenge's reason phrase). */
static void fs_register(struct evr_sip_state *st, const struct txn *t, unsigned k,
                        const char *subclass, uint64_t expires, const struct evr_sip_str *status)
{
	char reg_desc[32];
	size_t n;

	if (!sofia_begin(st, subclass))
		return;
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
	if (!sofia_begin(st, "sofia::unregister"))
		return;
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
	add_realm(st, t);
	addu(st, "expires", 0, false);
	ev_emit(st);
}

static void fs_register_failure(struct evr_sip_state *st, const struct txn *t)
{
	if (!sofia_begin(st, "sofia::register_failure"))
		return;
	ADDF(st, "to-user", t, tuser);
	ADDF(st, "to-host", t, thost);
	char ip[INET6_ADDRSTRLEN];
	add(st, "network-ip", ip, evr_sst_fmt_ip(ip, sizeof(ip), t->flow.family, t->flow.src), 0);
	ADDF(st, "user-agent", t, ua);
	addu(st, "network-port", t->flow.sport, false);
	adds(st, "registration-type", "REGISTER");
	ev_emit(st);
}

static void fs_expire(struct evr_sip_state *st, const struct contact *c)
{
	if (!sofia_begin(st, "sofia::expire"))
		return;
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
	iplen = evr_sst_fmt_ip(ip, sizeof(ip), d->family, d->ip);

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

void evr_sst_freeswitch_map(struct evr_sip_state *st, const struct evr_sst_tr *tr)
{
	const struct dialog *d = tr->dlg;

	switch (tr->kind) {
	case EVR_SST_DLG_CREATED:
		fs_chan(st, d, &CH_CREATE, NULL, 0);
		break;
	case EVR_SST_DLG_EARLY:
		if (tr->progress == EVR_SST_PROGRESS_MEDIA)
			fs_chan(st, d, &CH_EARLY, NULL, 0);
		else if (tr->progress == EVR_SST_PROGRESS_RINGING)
			fs_chan(st, d, &CH_RINGING, NULL, 0);
		break;
	case EVR_SST_DLG_ANSWERED:
		fs_chan(st, d, &CH_ACTIVE, NULL, 0);
		break;
	case EVR_SST_DLG_CONFIRMED:
		break; /* the ACK changes no channel state */
	case EVR_SST_DLG_ENDED:
		fs_chan(st, d, &CH_HANGUP, tr->cause, tr->sip_code);
		fs_chan(st, d, &CH_COMPLETE, tr->cause, tr->sip_code);
		break;
	case EVR_SST_REG_BOUND:
		fs_register(st, tr->txn, tr->k, "sofia::register", tr->expires, NULL);
		break;
	case EVR_SST_REG_UNBOUND:
		fs_unregister(st, tr->txn, tr->k);
		break;
	case EVR_SST_REG_CHALLENGED:
		fs_register(st, tr->txn, tr->k, "sofia::register_attempt", tr->expires, tr->status);
		break;
	case EVR_SST_REG_FAILED:
		fs_register_failure(st, tr->txn);
		break;
	case EVR_SST_REG_EXPIRED:
		fs_expire(st, tr->ct);
		break;
	case EVR_SST_REG_DELETED: /* mod_sofia says it with unregister/expire */
	case EVR_SST_REG_REFRESH: /* FreeSWITCH has no refresh point */
		break;
	}
}
