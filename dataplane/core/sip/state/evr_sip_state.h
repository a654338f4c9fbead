/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP dialog and registration state -> derived events (mirrored SIP, HEP).
 *
 * A shard follows REGISTER transactions, registered contacts and INVITE
 * dialogs from the SIP messages it is handed, and raises the events the SIP
 * platforms themselves would raise: OpenSIPS usrloc/dialog events (as the
 * JSON-RPC decoder would produce them: src_format EVR_FMT_JSONRPC, name =
 * the event, attrs = params, integers flagged EVR_STR_LITERAL) and
 * FreeSWITCH mod_sofia / channel events (as the plain decoder would produce
 * them: src_format EVR_FMT_PLAIN, Event-Name and Event-Subclass kept among
 * the attributes, CUSTOM events carrying their subclass).
 *
 * Ownership and thread context: one shard = one thread (a dataplane worker),
 * no locks and no shared writable state. All memory (dialog, contact and
 * REGISTER-transaction tables, the timer heap, the event under construction)
 * is allocated by evr_sip_state_create() (init time); input and tick never
 * allocate, lock, log or make system calls. Hand-off is the caller's job:
 * requests and responses of one dialog arrive from different addresses and
 * so on different RSS queues, and evrd passes every SIP message to the
 * worker given by evr_sip_state_shard(Call-ID) (a software ring), so one shard
 * always sees a whole dialog/registration. (A shared table would need
 * per-bucket locks on the hot path; a Call-ID hand-off costs one ring
 * enqueue per message and keeps every table single-writer.) evrd hands
 * REGISTERs (requests and responses) to the shard of their AOR instead
 * (To user@host), so every binding of an AOR meets in one shard whatever
 * its Call-ID; any other caller that shards REGISTERs by Call-ID gets one
 * copy of a contact per shard, which at worst repeats an INSERT instead of
 * an UPDATE.
 *
 * Memory (create): about 0.9 KiB per contact (max_registrations), 0.65 KiB
 * per dialog (max_dialogs), 1.9 KiB per REGISTER transaction slot
 * (max_registrations / 16, clamped to 64..8192), allocated once; pages of
 * records never used are never touched.
 *
 * Events handed to the emit callback (and everything they point to) live in
 * shard memory and are valid during the call only.
 *
 * Events and their attributes (in order):
 *
 *  OpenSIPS (EVR_SIP_STATE_OPENSIPS), modules/usrloc ul_evi.c, dialog dlg_hash.c
 *   E_UL_AOR_INSERT / E_UL_AOR_DELETE      domain, aor
 *   E_UL_CONTACT_INSERT / _UPDATE / _DELETE
 *       domain ("location", the usrloc table, as OpenSIPS sends it), aor
 *       (user@host of the To URI), uri (Contact URI), received
 *       ("sip:ip:port" the REGISTER came from), path, qval (q*1000, -1 when
 *       absent), user_agent, socket ("udp:ip:port" the REGISTER was sent
 *       to), bflags (0), expires (UNIX time the contact expires), callid,
 *       cseq, attr (""), latency (0), shtag ("")
 *   E_DLG_STATE_CHANGED  id (OpenSIPS "h_entry.h_id" reverse hex), db_id
 *       (h_entry << 32 | h_id, decimal), callid, from_tag, to_tag,
 *       old_state, new_state (1 unconfirmed, 2 early, 3 confirmed not
 *       ACKed, 4 confirmed, 5 deleted); raised on changes only, as
 *       next_state_dlg() does: none at creation (state 1).
 *   E_UL_CONTACT_REFRESH  domain, aor, uri, received, user_agent, socket,
 *       bflags, expires, callid, attr, shtag, reason ("reg-refresh"),
 *       req_callid (""): as OpenSIPS's usrloc contact_refresh_timer with
 *       the registrar's pn_trigger_interval, only for RFC 8599 contacts
 *       (Contact URI with pn-provider) and only when conf.pn_refresh_s > 0
 *       (OpenSIPS: off by default): raised pn_refresh_s seconds before the
 *       contact expires unless a re-REGISTER came first. A re-REGISTER
 *       raises E_UL_CONTACT_UPDATE as in OpenSIPS.
 *
 *  FreeSWITCH (EVR_SIP_STATE_FREESWITCH), mod_sofia sofia_reg.c, switch_channel.c
 *   every event: Event-Name, [Event-Subclass], FreeSWITCH-Hostname,
 *       Event-Date-Timestamp (microseconds; no Core-UUID, Event-Date-Local/
 *       -GMT or Event-Calling-*: nothing meaningful to put there)
 *   CUSTOM sofia::register  profile-name, from-user, from-host (the To
 *       URI: mod_sofia names the registering user "from"), presence-hosts
 *       ("n/a"), contact, call-id, rpid ("unknown"), status
 *       ("Registered(UDP)"), expires (seconds granted), to-user, to-host
 *       (the From URI), network-ip, network-port, username, realm
 *       (Authorization username/realm, else "unknown"/from-host), user-agent
 *   CUSTOM sofia::unregister  profile-name, username, from-user, from-host,
 *       contact, call-id, rpid, realm, expires (0)
 *   CUSTOM sofia::expire  profile-name, call-id, user, host, contact,
 *       expires (UNIX time), user-agent, realm
 *   CUSTOM sofia::register_attempt (401/407)  profile-name, from-user,
 *       from-host, contact, call-id, rpid, status (reason phrase), expires,
 *       to-user, to-host, network-ip, network-port, username, realm,
 *       user-agent
 *   CUSTOM sofia::register_failure (other >= 300)  profile-name, to-user,
 *       to-host, network-ip, user-agent, network-port, registration-type
 *   CHANNEL_CREATE (initial INVITE), CHANNEL_PROGRESS (first 101..199
 *   other than a 183 with SDP: 180/181/182), CHANNEL_PROGRESS_MEDIA (first
 *   183 with SDP), CHANNEL_ANSWER (first 2xx), CHANNEL_HANGUP then
 *   CHANNEL_HANGUP_COMPLETE; per message the FreeSWITCH events come first,
 *   then E_DLG_STATE_CHANGED. Attributes:
 *       Channel-State, Channel-Call-State, Channel-State-Number,
 *       Channel-Name ("sofia/<profile>/<from-user>@<from-host>"), Unique-ID
 *       (UUID text hashed from Call-ID + From tag of the initial INVITE, so
 *       every shard and restart agrees), Call-Direction ("inbound"),
 *       Answer-State, [Hangup-Cause], Caller-Direction, Caller-Username,
 *       Caller-Dialplan ("XML"), Caller-Caller-ID-Name (From display name,
 *       else From user), Caller-Caller-ID-Number (From user), Caller-ANI,
 *       Caller-Destination-Number (Request-URI user), Caller-Unique-ID,
 *       Caller-Source ("mod_sofia"), Caller-Context ("public"),
 *       Caller-Channel-Name, Caller-Network-Addr, variable_sip_call_id,
 *       variable_sip_from_user, variable_sip_from_host,
 *       variable_sip_to_user, variable_sip_network_ip,
 *       variable_sip_network_port, [variable_proto_specific_hangup_cause
 *       "sip:<code>" when a SIP final response ended the call]
 *     States: CREATE CS_INIT/DOWN/ringing, PROGRESS CS_EXECUTE/RINGING/
 *     ringing, PROGRESS_MEDIA CS_EXECUTE/EARLY/early, ANSWER CS_EXECUTE/
 *     ACTIVE/answered, HANGUP CS_HANGUP/HANGUP/hangup, HANGUP_COMPLETE
 *     CS_REPORTING/HANGUP/hangup.
 *     Hangup-Cause: BYE NORMAL_CLEARING (or the Q.850 cause of a
 *     "Reason: Q.850;cause=N" header), CANCEL ORIGINATOR_CANCEL, a final
 *     failure evr_sip_status_to_cause(), no final answer within
 *     originate_timeout_ms NO_ANSWER (what FreeSWITCH's originate reports
 *     when its timeout elapses; NO_USER_RESPONSE is its cause for a 408 /
 *     an endpoint that never answers at the SIP level, ALLOTTED_TIMEOUT for
 *     a scheduled hangup of an answered call).
 *
 * Attributes and limits: an attribute that does not fit struct evr_limits
 * (max_attrs, max_name_len, max_value_len) is left out and counted
 * (attr_dropped); the event is still raised with the others, since a
 * truncated value (a cut Call-ID) would be worse than an absent one. An
 * event whose name exceeds max_name_len is not raised (event_dropped).
 */
#ifndef EVR_SIP_STATE_H
#define EVR_SIP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/evr_event.h"
#include "event/evr_fs_std.h"
#include "sip/evr_sip.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_SIP_STATE_OPENSIPS   0x1u /* raise E_UL_* and E_DLG_STATE_CHANGED */
#define EVR_SIP_STATE_FREESWITCH 0x2u /* raise sofia::* CUSTOM and CHANNEL_* */

struct evr_sip_state_conf {
	uint32_t max_dialogs;          /* per shard, default 100000 */
	uint32_t max_registrations;    /* contacts per shard, default 100000 */
	uint32_t originate_timeout_ms; /* default 60000 (seed 004) */
	uint32_t max_dialog_ms;        /* confirmed dialog never BYEd: evicted after, default 4 h */
	uint32_t linger_ms;            /* ended transactions/dialogs kept to absorb retransmissions, default 32000 (64*T1) */
	uint32_t default_expires;      /* REGISTER without Expires nor ;expires=, default 3600 */
	uint32_t families;             /* EVR_SIP_STATE_*, default both */
	const char *profile;           /* FreeSWITCH profile-name, default "internal" (copied at create) */
	const char *hostname;          /* FreeSWITCH-Hostname, default "evrd" (copied) */
	/* FreeSWITCH standard headers of the run (Core-UUID, hostname, IPs),
	 * shared read-only by every shard; must outlive the state. NULL: the
	 * state makes its own from hostname (a Core-UUID of its own). */
	const struct evr_fs_std *fs_std;
	uint32_t pn_refresh_s;         /* > 0: E_UL_CONTACT_REFRESH this long before an
	                                * RFC 8599 contact expires; default 0 (off) */
};

EVR_API void evr_sip_state_conf_default(struct evr_sip_state_conf *c);

/* X(ENUM_SUFFIX, "counter_name", "help"). Order is ABI for counters. */
#define EVR_SIP_STATE_COUNTERS(X)                                                  \
	X(MSGS, "msgs", "SIP messages handed to the shard")                    \
	X(EVENTS, "events", "events raised")                                   \
	X(DUP_REQUEST, "dup_request", "request seen again (retransmission or second leg of a proxy): no event") \
	X(DUP_RESPONSE, "dup_response", "response seen again: no event")       \
	X(ABSORBED, "absorbed", "message of a known transaction/dialog that changes nothing (100 Trying, 487 after CANCEL, responses to BYE/ACK...)") \
	X(ORPHAN_RESPONSE, "orphan_response", "response without a known REGISTER transaction or dialog") \
	X(ORPHAN_REQUEST, "orphan_request", "ACK/BYE/CANCEL without a known dialog") \
	X(UNTRACKED, "untracked", "method not followed (OPTIONS, MESSAGE, SUBSCRIBE...)") \
	X(REINVITE, "reinvite", "in-dialog INVITE (To tag present): no dialog created") \
	X(FORK_2XX, "fork_2xx", "2xx from another fork after the dialog was answered: ignored (first 2xx wins)") \
	X(LATE_2XX, "late_2xx", "2xx after the dialog had ended (CANCEL race, timeout)") \
	X(FIELD_TOO_LONG, "field_too_long", "Call-ID, tag, AOR or Contact longer than the stored field: not tracked") \
	X(REG_TOO_LARGE, "reg_too_large", "REGISTER larger than a transaction slot: not tracked") \
	X(REG_TXN_EVICTED, "reg_txn_evicted", "pending REGISTER transaction evicted (table full, oldest first)") \
	X(REG_TXN_TIMEOUT, "reg_txn_timeout", "REGISTER without a final response within linger_ms") \
	X(REG_QUERY, "reg_query", "REGISTER 2xx without Contact (binding query): no event") \
	X(CONTACTS_CAPPED, "contacts_capped", "REGISTER with more contacts than the parser keeps") \
	X(CONTACT_EVICTED, "contact_evicted", "contact evicted to make room (table full, least recently refreshed first)") \
	X(CONTACT_EXPIRED, "contact_expired", "contact lifetime elapsed without refresh") \
	X(CONTACT_REFRESH, "contact_refresh", "RFC 8599 contact near expiry without re-registration: E_UL_CONTACT_REFRESH") \
	X(DIALOG_EVICTED, "dialog_evicted", "dialog evicted to make room (table full, oldest first)") \
	X(DIALOG_TIMEOUT, "dialog_timeout", "no final answer within originate_timeout_ms") \
	X(DIALOG_MAX_AGE, "dialog_max_age", "confirmed dialog never ended within max_dialog_ms: dropped without events") \
	X(ATTR_DROPPED, "attr_dropped", "attribute left out of an event (evr_limits)") \
	X(EVENT_DROPPED, "event_dropped", "event not raised: name longer than max_name_len")

enum evr_sip_state_counter {
#define X(e, n, h) EVR_SIP_STATE_##e,
	EVR_SIP_STATE_COUNTERS(X)
#undef X
	EVR_SIP_STATE__COUNT
};

struct evr_sip_state_stats {
	uint64_t c[EVR_SIP_STATE__COUNT];
	uint64_t dialogs;       /* gauge: dialogs held (lingering ones included) */
	uint64_t registrations; /* gauge: contacts held */
};

/* Counter name / help, "unknown" past the end. */
EVR_API const char *evr_sip_state_counter_name(unsigned i);
EVR_API const char *evr_sip_state_counter_help(unsigned i);

/* ev is valid during the call only; its views point into static strings
 * and the arena evr_sip_state_arena() names. */
typedef void (*evr_sip_state_emit_fn)(void *arg, const struct evr_event *ev);

struct evr_sip_state;

/* Init time: allocates every table. NULL and errno (EINVAL, ENOMEM). lim is
 * copied (NULL: evr_limits_default). */
EVR_API struct evr_sip_state *evr_sip_state_create(const struct evr_sip_state_conf *c,
                                           const struct evr_limits *lim);
EVR_API void evr_sip_state_destroy(struct evr_sip_state *st);

/* The scratch the shard builds its events in: during an emit call, a
 * caller that keeps the event copies buf[0..buf_used) in one piece
 * (event/evr_event_hold.h) instead of string by string. */
EVR_API const struct evr_scratch *evr_sip_state_arena(const struct evr_sip_state *st);

/*
 * Hot path, the shard's thread: one message parsed with status EVR_SIP_OK,
 * belonging to this shard. now_ms is a monotonic clock for timers; f->ts_us
 * the wall time for event timestamps. Returns events emitted.
 */
EVR_API uint32_t evr_sip_state_input(struct evr_sip_state *st, const struct evr_sip_msg *m,
                                 const struct evr_sip_flow *f, uint64_t now_ms,
                                 evr_sip_state_emit_fn emit, void *arg);

/*
 * Timers (originate timeout, contact expiry, dialog max age, linger
 * reaping), the shard's thread; at most EVR_SIP_STATE_TICK_BUDGET expirations
 * per call (the rest wait for the next call); call it every ~10 ms. wall_us
 * stamps the events. Returns events emitted.
 */
#define EVR_SIP_STATE_TICK_BUDGET 256u
EVR_API uint32_t evr_sip_state_tick(struct evr_sip_state *st, uint64_t now_ms, uint64_t wall_us,
                                evr_sip_state_emit_fn emit, void *arg);

/* Counters: single writer (the shard's thread), plain increments; other
 * threads read them with relaxed loads. */
EVR_API const struct evr_sip_state_stats *evr_sip_state_stats(const struct evr_sip_state *st);
/* True when m refers to state this shard does not hold yet (a response
 * before its request, an ACK or BYE before the INVITE's final response...):
 * the caller may hold m and offer it again later, then evr_sip_state_input()
 * it anyway once its patience is over (it is then counted as an orphan).
 * Read-only; hot path. */
EVR_API bool evr_sip_state_premature(struct evr_sip_state *st, const struct evr_sip_msg *m);

/*
 * Shard owning a Call-ID among n (stable hash of the exact Call-ID bytes;
 * 0 when n is 0). Any thread. evrd hands every SIP message to the worker
 * owning its Call-ID, so one shard sees the whole dialog even when requests
 * and responses arrive on different RSS queues.
 */
EVR_API unsigned evr_sip_state_shard(const char *call_id, size_t len, unsigned n);

#ifdef __cplusplus
}
#endif
#endif /* EVR_SIP_STATE_H */
