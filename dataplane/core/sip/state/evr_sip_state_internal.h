/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to sip/state/: the shard struct, its record layouts, the
 * table/timer functions (evr_sip_table.c) the state machines use, and the
 * typed transitions the state machines (evr_sip_reg.c, evr_sip_dialog.c)
 * hand to the dispatcher, which maps each to the enabled platforms' events
 * (evr_sip_opensips.c, evr_sip_freeswitch.c). Not installed, not part of
 * the API.
 *
 * Thread context: a shard is owned by one thread (the worker lcore whose
 * Call-IDs hash to it); nothing here locks.
 */
#ifndef EVR_SIP_STATE_INTERNAL_H
#define EVR_SIP_STATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event/evr_event.h"
#include "evr_sip_state.h"

#define NIL UINT32_MAX

/* Stored field sizes (bytes). Generous for real traffic, bounded memory:
 * about 0.9 KiB per contact, 0.65 KiB per dialog, 1.9 KiB per REGISTER
 * transaction; pages of records never used are never touched. */
#define CALLID_CAP 128
#define TAG_CAP 64
#define USER_CAP 64
#define HOST_CAP 64
#define AOR_CAP (USER_CAP + 1 + HOST_CAP)
#define URI_CAP 192
#define DISP_CAP 64
#define UA_CAP 160
#define ADDR_CAP 64   /* "sip:[v6]:port" */
#define TXN_CONTACTS 4 /* contacts kept per REGISTER transaction */

#define EVB_BUF_CAP 32768u /* event string buffer */

/* OpenSIPS dialog states (modules/dialog/dlg_hash.h). */
enum { DLG_UNCONFIRMED = 1, DLG_EARLY, DLG_CONFIRMED_NA, DLG_CONFIRMED, DLG_DELETED };

/* dialog flags */
#define DF_PROGRESS 0x1u
#define DF_MEDIA    0x2u
#define DF_ANSWERED 0x4u
#define DF_ENDED    0x8u

/* ---- records ---- */

/* Common head of every record: hash chain, age/LRU list (free list when
 * unused), heap position. */
struct link {
	uint32_t hnext, prev, next, hpos;
	uint64_t hash;
	bool used;
};

#define FLD(name, cap) uint16_t name##_len; char name[cap]

struct txn {
	struct link l;
	bool done, star;
	uint8_t n_ct;
	uint32_t cseq;
	int64_t expires_hdr;
	struct evr_sip_flow flow;
	FLD(cid, CALLID_CAP);
	FLD(tuser, USER_CAP);
	FLD(thost, HOST_CAP);
	FLD(fuser, USER_CAP);
	FLD(fhost, HOST_CAP);
	FLD(ua, UA_CAP);
	FLD(auser, USER_CAP);
	FLD(arealm, HOST_CAP);
	FLD(transport, 8);
	struct {
		int64_t expires;
		int32_t q;
		FLD(uri, URI_CAP);
		FLD(disp, DISP_CAP);
	} ct[TXN_CONTACTS];
};

struct contact {
	struct link l;
	uint32_t cseq;
	int32_t q;
	uint64_t expires_unix;
	uint64_t exp_ms;   /* monotonic expiry (the refresh timer re-arms for it) */
	uint8_t pn;        /* RFC 8599 contact (pn-provider in the URI) */
	uint8_t refresh_armed; /* the contact's timer is the refresh point */
	uint16_t user_len; /* aor[0..user_len) is the user part, if any '@' */
	FLD(aor, AOR_CAP);
	FLD(uri, URI_CAP);
	FLD(disp, DISP_CAP);
	FLD(cid, CALLID_CAP);
	FLD(ua, UA_CAP);
	FLD(rcv, ADDR_CAP);
	FLD(sock, ADDR_CAP);
	FLD(realm, HOST_CAP);
};

struct dialog {
	struct link l;
	uint8_t state, flags;
	uint32_t inv_cseq;
	uint16_t port;
	uint8_t family;
	uint8_t ip[16];
	FLD(cid, CALLID_CAP);
	FLD(ftag, TAG_CAP);
	FLD(ttag, TAG_CAP);
	FLD(fuser, USER_CAP);
	FLD(fhost, HOST_CAP);
	FLD(disp, DISP_CAP);
	FLD(dest, USER_CAP);
	FLD(tuser, USER_CAP);
	/* derived from Call-ID + From tag once, at dlg_fill, instead of
	 * hashing them again for every event */
	uint16_t h_entry;
	uint32_t h_id;
	char uuid[36];
};

/* A table of fixed-stride records with a chained hash index and an age
 * list (head = oldest). */
struct tab {
	char *base;
	size_t stride;
	uint32_t cap, mask, n;
	uint32_t *buckets;
	uint32_t head, tail, free;
	uint32_t fresh; /* records [fresh, cap) never used: their pages stay untouched */
};

enum tkind { T_TXN = 0, T_CT = 1, T_DLG = 2 };
#define TID(k, i) (((uint32_t)(k) << 30) | (i))

struct hent {
	uint64_t at;
	uint32_t id;
};

struct evr_sip_state {
	struct evr_sip_state_conf conf;
	struct evr_limits lim;
	char profile[64];
	char hostname[128];
	uint32_t profile_len, hostname_len;
	struct tab txn, ct, dlg;
	struct hent *heap;
	uint32_t heap_n, heap_cap;

	/* per call */
	uint64_t now_ms, wall_us;
	/* FreeSWITCH standard headers: the run's (conf.fs_std) or our own,
	 * and this shard's per-second date cache */
	const struct evr_fs_std *fs_std;
	struct evr_fs_std fs_own;
	struct evr_fs_clock fs_clk;
	evr_sip_state_emit_fn emit;
	void *arg;
	uint32_t emitted;

	/* event under construction (event/evr_event_build.h); ev_on: the
	 * current event's family is enabled and its name fitted */
	struct evr_scratch ev;
	bool ev_on;

	struct evr_sip_state_stats stats;
};

#define CNT(st, e) ((st)->stats.c[EVR_SIP_STATE_##e]++)

static inline struct link *L(const struct tab *t, uint32_t i)
{
	return (struct link *)(t->base + (size_t)i * t->stride);
}

#define TXN(st, i) ((struct txn *)L(&(st)->txn, i))
#define CT(st, i) ((struct contact *)L(&(st)->ct, i))
#define DLG(st, i) ((struct dialog *)L(&(st)->dlg, i))

/* ---- records, LRU and timers (evr_sip_table.c) ---- */

/* Internal table-index hash of two fields (not visible, not stable). */
uint64_t evr_sst_qhash2(const char *a, size_t an, const char *b, size_t bn);

/* cap records of stride bytes; 0 or -ENOMEM. */
int evr_sst_tab_init(struct tab *t, uint32_t cap, size_t stride);
void evr_sst_tab_fini(struct tab *t);
/* A free record linked at the young end, indexed under hash; NIL if full
 * (the caller evicts the oldest and retries). */
uint32_t evr_sst_tab_alloc(struct tab *t, uint64_t hash);
void evr_sst_tab_free(struct tab *t, uint32_t i);
/* Move record i to the young end of the age list. */
void evr_sst_tab_touch(struct tab *t, uint32_t i);

/* Arm (or re-arm) / disarm the timer of record id (TID(kind, index)). */
void evr_sst_timer_set(struct evr_sip_state *st, uint32_t id, uint64_t at);
void evr_sst_timer_del(struct evr_sip_state *st, uint32_t id);
/* A free record of kind k indexed under hash, evicting the table's oldest
 * (counted in stats.c[evicted_cnt]) when full. */
uint32_t evr_sst_alloc_evict(struct evr_sip_state *st, enum tkind k, uint64_t hash,
                             unsigned evicted_cnt);

/* ---- fields ---- */

/* Copy a message view into a fixed record field; false if it does not fit
 * (the message is then not tracked: a cut Call-ID or tag never matches). */
static inline bool evr_sst_fset(char *dst, uint16_t *dlen, size_t cap, const char *p, size_t n)
{
	if (n > cap)
		return false;
	if (n)
		memcpy(dst, p, n);
	*dlen = (uint16_t)n;
	return true;
}

#define SETF(rec, f, v) evr_sst_fset((rec)->f, &(rec)->f##_len, sizeof((rec)->f), (v).p, (v).len)
/* an absent view is { NULL, 0 }: memcmp must not see its NULL */
#define EQF(rec, f, v)                                                         \
	((rec)->f##_len == (v).len && ((v).len == 0 || memcmp((rec)->f, (v).p, (v).len) == 0))

/* Dotted quad / RFC 5952 text, NUL-terminated; 0 when it does not fit cap. */
size_t evr_sst_fmt_ip(char *out, size_t cap, uint8_t family, const uint8_t *ip);
/* prefix + ip (v6 in brackets) + ":" + port */
size_t evr_sst_fmt_addr(char *out, size_t cap, const char *prefix, uint8_t family,
                        const uint8_t *ip, uint16_t port);

/* ---- transitions ---- */

/*
 * What a state machine did, typed and platform-neutral; the mappers turn
 * it into their platform's events. Pointers refer to shard records (or a
 * record just freed, whose fields survive) and stay valid only during the
 * dispatch. No allocation: a transition lives on the caller's stack.
 */
enum evr_sst_tr_kind {
	/* dialogs: the platforms see these FreeSWITCH first, then OpenSIPS */
	EVR_SST_DLG_CREATED,   /* initial INVITE */
	EVR_SST_DLG_EARLY,     /* 1xx; progress says whether it is a new one */
	EVR_SST_DLG_ANSWERED,  /* 2xx to the initial INVITE */
	EVR_SST_DLG_CONFIRMED, /* ACK of that 2xx */
	EVR_SST_DLG_ENDED,     /* failure, CANCEL, BYE, timeout; cause, sip_code */
	/* registrations: OpenSIPS first (usrloc raises while the registrar
	 * saves, before mod_sofia's event for the same REGISTER) */
	EVR_SST_REG_BOUND,      /* a 2xx bound request contact k: ct (fresh,
	                         * aor_new: first of its AOR), expires */
	EVR_SST_REG_DELETED,    /* contact ct removed; aor_last: AOR now empty */
	EVR_SST_REG_UNBOUND,    /* a 2xx removed request contact k (k ==
	                         * TXN_CONTACTS: "Contact: *") */
	EVR_SST_REG_CHALLENGED, /* 401/407: expires of contact 0, status */
	EVR_SST_REG_FAILED,     /* any other final failure */
	EVR_SST_REG_REFRESH,    /* an RFC 8599 contact's refresh point */
	EVR_SST_REG_EXPIRED,    /* contact ct's binding ran out (a REG_DELETED
	                         * follows) */
};

/* EVR_SST_DLG_EARLY: which first provisional this is, if any */
enum { EVR_SST_PROGRESS_NONE = 0, EVR_SST_PROGRESS_RINGING, EVR_SST_PROGRESS_MEDIA };

struct evr_sst_tr {
	enum evr_sst_tr_kind kind;
	uint8_t old_state, new_state; /* dialog state (DLG_*) before/after */
	uint8_t progress;             /* EVR_SST_PROGRESS_* */
	unsigned sip_code;            /* final status that ended a dialog, or 0 */
	const char *cause;            /* FreeSWITCH hangup cause of an end */
	const struct dialog *dlg;
	/* registrations */
	bool fresh, aor_new, aor_last;
	unsigned k;                      /* request contact index */
	uint64_t expires;                /* seconds */
	const struct evr_sip_str *status; /* a challenge's reason phrase */
	const struct txn *txn;
	const struct contact *ct;
};

/* Map tr to the events of every enabled platform, in today's order. */
void evr_sst_dispatch(struct evr_sip_state *st, const struct evr_sst_tr *tr);

/* The platform mappers (one file each); called only when enabled. */
void evr_sst_opensips_map(struct evr_sip_state *st, const struct evr_sst_tr *tr);
void evr_sst_freeswitch_map(struct evr_sip_state *st, const struct evr_sst_tr *tr);

/* ---- registrations (evr_sip_reg.c) ---- */

void evr_sst_reg_request(struct evr_sip_state *st, const struct evr_sip_msg *m,
                         const struct evr_sip_flow *f);
void evr_sst_reg_response(struct evr_sip_state *st, const struct evr_sip_msg *m);
/* Is there a REGISTER transaction for m (Call-ID + CSeq)? */
bool evr_sst_reg_txn_known(struct evr_sip_state *st, const struct evr_sip_msg *m);
/* the timer of transaction i / contact i fired */
void evr_sst_reg_txn_expire(struct evr_sip_state *st, uint32_t i);
void evr_sst_reg_contact_expire(struct evr_sip_state *st, uint32_t i);

/* ---- dialogs (evr_sip_dialog.c) ---- */

void evr_sst_invite_request(struct evr_sip_state *st, const struct evr_sip_msg *m,
                            const struct evr_sip_flow *f);
void evr_sst_invite_response(struct evr_sip_state *st, const struct evr_sip_msg *m);
/* ACK/BYE/CANCEL requests, and responses to them */
void evr_sst_dialog_request(struct evr_sip_state *st, const struct evr_sip_msg *m);
void evr_sst_dialog_other_response(struct evr_sip_state *st, const struct evr_sip_msg *m);
/* the dialog timer of record i fired */
void evr_sst_dialog_expire(struct evr_sip_state *st, uint32_t i);
/* The dialog an in-dialog message belongs to (NIL if none); *callee_side:
 * found by the To tag, i.e. the callee's side of the dialog. */
uint32_t evr_sst_dlg_lookup(struct evr_sip_state *st, const struct evr_sip_msg *m,
                            bool *callee_side);

#endif /* EVR_SIP_STATE_INTERNAL_H */
