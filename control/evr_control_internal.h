/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control plane internals shared by the server (evr_control.c), the method
 * families (evr_actions.c: evrd's, evr_mi.c: OpenSIPS MI's) and param
 * binding (evr_params.c). Not installed. Everything here is touched by the
 * control thread only.
 */
#ifndef EVR_CONTROL_INTERNAL_H
#define EVR_CONTROL_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "evr_control.h"
#include "event/evr_fs_std.h"
#include "evr_version.h"

/* Server counters, exported by `stats` under "control" in this order.
 * X(field, help) */
#define EVR_CONTROL_COUNTERS(X)                                                 \
	X(requests, "request objects handled (each batch element counts)")     \
	X(notifications, "requests without id (never answered)")               \
	X(batches, "batch (array) requests")                                   \
	X(responses, "response lines queued")                                  \
	X(bad_lines, "lines that were not JSON or were too large")             \
	X(clients_accepted, "connections accepted")                            \
	X(clients_refused, "connections refused over max_clients")             \
	X(clients_dropped, "clients dropped: unread output over max_output")   \
	X(clients_oversize, "clients closed after a line over max_line")       \
	X(clients_closed, "clients that disconnected or were closed")          \
	X(raised, "raise_event calls that reached the matcher")                \
	X(raise_matched, "subscriptions matched by raise_event")               \
	X(raise_notified, "notifications delivered or queued by raise_event")  \
	X(raise_failed, "notifications that could not be encoded or sent")     \
	X(raise_overflow, "matches over max_fanout, not notified")            \
	X(heartbeats, "HEARTBEAT events raised (heartbeat.interval_s)")       \
	X(heartbeat_notified, "HEARTBEAT notifications delivered or queued")  \
	X(heartbeat_failed, "HEARTBEAT events not built or not delivered")    \
	X(batch_limited, "batch elements answered 503: output bound reached")  \
	X(clients_refused_uid, "connections refused over max_per_uid")        \
	X(clients_idle, "clients closed after idle_timeout_ms")                \
	X(clients_timeout, "clients closed: line incomplete after request_timeout_ms") \
	X(store_not_durable, "replies that say their change could not be made durable (store full or failing)") \
	X(visible_late, "answers sent before a Hyperscan subscription was published (wait cap)") \
	X(mi_requests, "MI datagrams and FIFO requests received")               \
	X(mi_replies, "MI replies sent (datagram or reply FIFO)")             \
	X(mi_bad, "MI input not served: not JSON, oversize, truncated, bad reply name") \
	X(mi_send_failed, "MI datagram replies the kernel refused (no sender address, peer gone, queue full)") \
	X(mi_fifo_dropped, "MI FIFO replies dropped: reply fifo missing, never opened or not read") \
	X(http_mi, "HTTP POST /mi requests served")                               \
	X(http_metrics, "HTTP GET /metrics scrapes served")                       \
	X(http_bad, "HTTP requests refused: unknown path, wrong method, body over max_line, not JSON") \
	X(events_list_full, "names of events seen on the wire not listed: EVR_MI_EVENTS_MAX (65536) known already") \
	X(esl_accepted, "ESL connections accepted")                              \
	X(esl_refused_acl, "ESL connections refused: peer outside esl.acl")      \
	X(esl_refused_full, "ESL connections refused over esl.max_clients")      \
	X(esl_auth_ok, "ESL auth commands accepted")                             \
	X(esl_auth_failed, "ESL auth commands with a wrong password (closed)")   \
	X(esl_auth_timeout, "ESL connections closed: no auth within 25 s")       \
	X(esl_commands, "ESL commands handled")                                  \
	X(esl_bad_input, "ESL connections closed: command over max_line, bad Content-Length, replies unread") \
	X(esl_sendevent, "ESL sendevent commands")                               \
	X(esl_raise_failed, "ESL sendevent/bgapi events built but not raised (out of memory)") \
	X(esl_events_queued, "events queued to ESL connections")                 \
	X(esl_events_sent, "events written to ESL connections")                  \
	X(esl_events_filtered, "events an ESL connection's filters, nixevent or myevents kept out") \
	X(esl_events_lost, "events lost: an ESL connection's queue at esl.queue_max") \
	X(esl_killed_lost, "ESL connections closed after 500 events lost in a row") \
	X(esl_killed_operator, "ESL connections closed by evr_esl_kill")         \
	X(esl_stale, "ESL deliveries for a connection already gone or not listening") \
	X(esl_decode_failed, "ESL deliveries that did not decode or re-encode")  \
	X(esl_closed, "ESL connections closed")                                  \
	X(refused_role, "write methods refused: the peer has the read role (403)") \
	X(clients_refused_role, "connections refused: peer in no control.admin_*/read_* list") \
	X(mi_refused_role, "MI unix datagrams refused: sender without credentials or in no control.admin_*/read_* list; MI UDP datagrams refused: mi.datagram_udp_role none") \
	X(http_refused_token, "HTTP requests refused 401: no or wrong bearer token (mi.http.*_token_file)") \
	X(audit_suppressed, "audit lines folded into a once-a-second summary (same peer, method and outcome)")

struct evr_control_counters {
#define X(f, h) uint64_t f;
	EVR_CONTROL_COUNTERS(X)
#undef X
};

/* Error codes counted one by one in stats ("errors": {"-32700": n, ...});
 * anything else goes to "other". */
#define EVR_CONTROL_ERROR_CODES(X)                                              \
	X(EVR_RPC_PARSE_ERROR) X(EVR_RPC_INVALID_REQUEST)                       \
	X(EVR_RPC_METHOD_NOT_FOUND) X(EVR_RPC_INVALID_PARAMS)                   \
	X(EVR_RPC_BAD_VALUE) X(EVR_RPC_NOT_FOUND) X(EVR_RPC_NO_SUBSCRIBERS)      \
	X(EVR_RPC_INTERNAL)                                                     \
	X(EVR_RPC_UNAVAILABLE) X(EVR_RPC_FORBIDDEN)

enum {
#define X(c) EVR_ERRIDX_##c,
	EVR_CONTROL_ERROR_CODES(X)
#undef X
	EVR_ERRIDX_OTHER,
	EVR_ERRIDX__COUNT
};

struct evr_client;
struct evr_mi_dgram;
struct evr_audit_agg;

/* Roles a transport gives its caller (peer_role, mi.datagram_udp_role). */
#define EVR_ROLE_NONE (-1)
#define EVR_ROLE_READ 0
#define EVR_ROLE_ADMIN 1

/* Peers remembered as refused lately (logged once each), and for how long. */
#define EVR_REFUSED_SLOTS 64u
#define EVR_REFUSED_TTL_MS (10u * 60u * 1000u)
struct evr_mi_fifo;

/* MI datagram transports: [0] unix datagram socket, [1] UDP. */
#define EVR_MI_DGRAM_UNIX 0
#define EVR_MI_DGRAM_UDP 1
/* pollfd entries the MI transports may add (2 sockets, the request FIFO and
 * its pending replies). */
#define EVR_MI_FIFO_PENDING 8
#define EVR_MI_MAX_FDS (2u + 1u + EVR_MI_FIFO_PENDING + 1u /* HTTP */)

struct evr_control {
	struct evr_control_conf conf; /* socket_path points at path below */
	struct evr_limits limits;     /* conf.limits copied (or defaults) */
	char *path;
	dev_t sock_dev;               /* identity of the socket file we made, */
	ino_t sock_ino;               /* so destroy never unlinks a successor's */
	int listen_fd;
	struct evr_matcher *m;
	struct evr_control_hooks hooks;
	unsigned reader;              /* matcher reader index for raise_event */
	struct evr_client **clients;  /* conf.max_clients slots */
	uint32_t n_clients;
	struct pollfd *pfds;          /* evr_control_poll's own array */
	uint64_t seq;                 /* Event-Sequence of fallback notifications */
	int udp4_fd, udp6_fd;         /* fallback udp: senders, opened on first use */
	struct evr_control_counters cnt;
	uint64_t errors[EVR_ERRIDX__COUNT];
	/* MI family (evr_mi.c) */
	time_t started;               /* uptime */
	struct timespec started_mono; /* HEARTBEAT Up-Time */
	/* FreeSWITCH standard headers (event/evr_fs_std.h): evrd's run-wide
	 * set (conf.fs_std) or our own; the control thread's date cache */
	const struct evr_fs_std *fs_std;
	struct evr_fs_std fs_own;
	struct evr_fs_clock fs_clk;
	json_t *ev_ids;               /* lowercased event name -> id */
	json_t *ev_names;             /* id -> name as first seen */
	json_t *stat_base;            /* reset_statistics baselines */
	/* OpenSIPS MI transports (evr_mi_datagram.c, evr_mi_fifo.c); NULL = off */
	struct evr_mi_dgram *mi_dgram[2];
	struct evr_mi_fifo *mi_fifo;
	struct evr_http *http;        /* POST /mi, GET /metrics (evr_http.c) */
	unsigned mi_base;             /* pollfd index of the first MI entry */
	struct evr_esl *esl;          /* FreeSWITCH event socket (evr_esl.c) */
	unsigned esl_base;            /* pollfd index of its first entry */
	unsigned pfds_cap;            /* entries of pfds */
	struct evr_store *store;      /* durable subscriptions (evr_store.h), NULL = none */
	struct evr_deferred *defer_head, *defer_tail; /* MI replies held for the store */
	unsigned store_base;          /* pollfd index of the store's eventfd */
	/* who runs the request at hand: set by each transport before
	 * evr_control_exec (handle_one checks write methods against it) */
	struct evr_caller {
		bool reader;          /* read role: R methods only */
		uid_t uid;            /* (uid_t)-1: not a unix peer */
		gid_t gid;
		const char *via;      /* "stream", "mi-datagram", "mi-udp", "fifo", "http" */
		char peer[48];        /* network peer's address ("" for unix peers) */
	} caller;
	int mi_udp_role;              /* EVR_ROLE_* of every MI UDP sender */
	/* refusals are logged once per peer: the peers refused lately */
	struct evr_refused {
		char key[64];         /* via + uid or address; "" = free */
		uint64_t at_ms;
	} refused[EVR_REFUSED_SLOTS];
	struct evr_audit_agg *audit_agg; /* audit bursts (evr_control_audit) */
	uint64_t audit_sec;              /* the second audit_agg counts */
};

/* The caller of the request at hand: role (EVR_ROLE_ADMIN / _READ), the
 * unix peer's uid/gid ((uid_t)-1 when none) or the network peer's address
 * (NULL when none), and the transport's name for the audit trail. */
void evr_control_set_caller(struct evr_control *c, int role, uid_t uid, gid_t gid,
                            const char *via, const char *peer);
/* The FIFO: admin, as the FIFO's file mode (mi.fifo_mode) guards it. */
void evr_control_set_caller_admin(struct evr_control *c, const char *via);
/* The role of a unix peer by its credentials (struct evr_control_roles):
 * EVR_ROLE_ADMIN, EVR_ROLE_READ or EVR_ROLE_NONE (refused). */
int evr_control_peer_role(const struct evr_control *c, uid_t uid, gid_t gid);
/* One audit line through hooks.audit, prefixed with the caller; bursts of
 * the same caller, method and outcome are folded (evr_control.c). */
void evr_control_audit(struct evr_control *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A refusal of the current caller: true the first time this peer (via +
 * uid or address) is refused within EVR_REFUSED_TTL_MS, so that it is
 * logged once, not once per request. */
bool evr_control_refusal_first(struct evr_control *c);

/* The one request executor of every transport (evr_control.c): see there.
 * 1 = *out to send, 0 = nothing to answer, -ENOMEM = send the text below. */
int evr_control_exec(struct evr_control *c, const char *p, size_t n, size_t room,
                     bool *bad, int *handled, char **out, size_t *outlen);
extern const char evr_control_oom_text[];

/* Before answering what a turn ran: wait (capped) until subscriptions made
 * in it are published, so "subscribed" means "matches" (visible_late). */
void evr_control_wait_visible(struct evr_control *c);

/*
 * Replies of the MI datagram and FIFO transports held until durable, as the
 * stream socket holds its own (evr_control.c): take evr_control_store_seq
 * before evr_control_exec, then offer the answer. true: the request changed
 * subscriptions and the reply is taken (text, malloc'd with a spare byte
 * after len, and ctx, malloc'd and freed by the control after fn); fn gets
 * the text to own and send once the store has committed the change (it
 * then says "durable": false if it could not); at evrd's stop held ones
 * are dropped. false: nothing to wait for, the caller answers now.
 * Control thread.
 */
typedef void (*evr_deferred_fn)(struct evr_control *c, void *ctx, char *text, size_t len);
uint64_t evr_control_store_seq(struct evr_control *c);
bool evr_control_defer_reply(struct evr_control *c, uint64_t seq0, char *text, size_t len,
                             evr_deferred_fn fn, void *ctx);

/* printf into err (when err and errlen). */
void evr_control_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Remove a stale unix socket file of the given type at path; a live one is
 * -EADDRINUSE, a non-socket -EEXIST. label names the setting in err. */
int evr_control_clear_stale(const char *label, const char *path, int type, char *err,
                            size_t errlen);

/* "IPv4:port" or "[IPv6]:port" (numeric only: no resolver at start-up)
 * into a socket address for socktype. 0 or -EINVAL. */
int evr_control_parse_hostport(const char *s, int socktype, struct sockaddr_storage *ss,
                               socklen_t *len);

/* CLOCK_REALTIME in µs: the standard headers' dates. */
uint64_t evr_control_wall_us(void);

/* Unlink the file at path if it is still the one (dev, ino) we made. */
void evr_control_unlink_ours(const char *path, dev_t dev, ino_t ino);

/* Per transport: add its pollfd entries (at most cap), return how many,
 * lower *timeout_ms to its next deadline; process the same entries after
 * poll() (entries are matched by fd); free. Control thread. */
unsigned evr_mi_dgram_pollfds(struct evr_mi_dgram *d, struct pollfd *fds, unsigned cap);
int evr_mi_dgram_process(struct evr_control *c, struct evr_mi_dgram *d,
                         const struct pollfd *fds, unsigned n);
int evr_mi_dgram_open(struct evr_control *c, int kind, const char *where, mode_t mode,
                      char *err, size_t errlen);
void evr_mi_dgram_free(struct evr_mi_dgram *d);

unsigned evr_mi_fifo_pollfds(struct evr_control *c, struct pollfd *fds, unsigned cap,
                             int *timeout_ms);
int evr_mi_fifo_process(struct evr_control *c, const struct pollfd *fds, unsigned n);
int evr_mi_fifo_open(struct evr_control *c, const char *path, const char *reply_dir,
                     mode_t mode, char *err, size_t errlen);
void evr_mi_fifo_free(struct evr_mi_fifo *f);

/* The HTTP listener (evr_http.c): open on "IPv4:port" / "[IPv6]:port"
 * with the bearer tokens in admin_file / read_file (NULL or "": none; err
 * says why not, naming the setting after "mi.http."); the descriptor to
 * poll (lowers *timeout_ms to its next deadline); run what is ready (every
 * turn); close. */
struct evr_http;
struct evr_http *evr_http_open(struct evr_control *c, const char *listen,
                               const char *admin_file, const char *read_file, char *err,
                               size_t errlen);
int evr_http_pollfd(const struct evr_http *h, int *timeout_ms);
void evr_http_run(struct evr_http *h);
void evr_http_close(struct evr_http *h);

/* Method dispatch entry, expanded from EVR_CONTROL_METHODS. */
typedef int (*evr_control_method_fn)(struct evr_control *c, json_t *params,
                                     json_t **result, int *code, char *msg,
                                     size_t msglen);
enum evr_method_family { EVR_FAMILY_MI, EVR_FAMILY_EVR };
enum evr_method_access { EVR_ACCESS_R, EVR_ACCESS_W };

struct evr_control_method {
	enum evr_method_family family;
	enum evr_method_access access;
	const char *name;
	const char *alias;
	const char *recipes;
	const char *params;
	const char *summary;
	evr_control_method_fn fn;
};

/* The MI family's handlers (evr_mi.c), named rpc_<id> as the table wants
 * (evrd's own are in evr_actions.c, static). */
#define EVR_DECL_MI(id)                                                          \
	int rpc_##id(struct evr_control *c, json_t *params, json_t **result, int *code, \
	             char *msg, size_t msglen);
#define EVR_DECL_EVR(id)
#define X(id, fam, acc, name, alias, recipes, params, summary) EVR_DECL_##fam(id)
EVR_CONTROL_METHODS(X)
#undef X
#undef EVR_DECL_MI
#undef EVR_DECL_EVR

/* Longest event selector text handled ("CUSTOM" + subclass). */
#define EVR_MI_EVENT_MAX 300
/* Event names only seen on the wire MI events_list gives ids to, at most. */
#define EVR_MI_EVENTS_MAX 65536
/* The id of an event name (case-insensitive), registering it when add.
 * -ENOENT (unknown, !add), -EINVAL, -ENOMEM. */
int evr_mi_event_id(struct evr_control *c, const char *name, bool add);

/* ESL clients for evrctl (evr_esl.c): list, disconnect one. */
int evr_esl_rpc_list(struct evr_control *c, json_t *params, json_t **result, int *code,
                     char *msg, size_t msglen);
int evr_esl_rpc_kill(struct evr_control *c, json_t *params, json_t **result, int *code,
                     char *msg, size_t msglen);

/* Subscribe (evr_action_subscribe) and register the event's name. */
int evr_control_subscribe(struct evr_control *c, json_t *params, json_t **result, int *code,
                          char *msg, size_t msglen);

/* The table (evr_actions.c) and lookup by name or alias (NULL if none). */
extern const struct evr_control_method evr_control_methods[];
extern const unsigned evr_control_n_methods;
const struct evr_control_method *evr_control_method_find(const char *name);

/* json_string() that never fails on bad UTF-8 (bytes >= 0x80 become '?');
 * json_null() for NULL. New reference or NULL on out of memory. */
json_t *evr_jstr(const char *s);

/* Count an error response code (server and actions). */
void evr_control_count_error(struct evr_control *c, int code);
/* The code an error index counts ("-32700", ..., "other"), into buf. */
void evr_control_error_name(unsigned idx, char *buf, size_t cap);

/* ---- params (evr_params.c) ------------------------------------------------ */

/* Set *code and msg (printf) and return rc: every error path of a method. */
int evr_rpc_fail(int *code, int c, char *msg, size_t msglen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
#define BAD(...) evr_rpc_fail(code, EVR_RPC_INVALID_PARAMS, msg, msglen, -EINVAL, __VA_ARGS__)
#define NOMEM() evr_rpc_fail(code, EVR_RPC_INTERNAL, msg, msglen, -ENOMEM, "out of memory")

/* Absent: missing or JSON null. */
bool evr_rpc_absent(const json_t *v);
/* Bind params to slot[0..n) by name (object) or position (array, at most
 * npos). JSON null counts as absent. */
int evr_rpc_bind(json_t *params, const char *const *names, unsigned n, unsigned npos,
                 json_t **slot, int *code, char *msg, size_t msglen);
/* A string; *out untouched when absent and not required. */
int evr_rpc_get_str(json_t *v, const char *name, bool required, const char **out,
                    int *code, char *msg, size_t msglen);
/* Non-negative integer, also as a decimal string; *out untouched if absent. */
int evr_rpc_get_uint(json_t *v, const char *name, uint64_t max, uint64_t *out, int *code,
                     char *msg, size_t msglen);
/* true/false, 0/1, or those as strings ("yes"/"no" too); untouched if absent. */
int evr_rpc_get_bool(json_t *v, const char *name, bool *out, int *code, char *msg,
                     size_t msglen);
/* Scalar JSON value as text (numbers in their shortest round-trip form);
 * the length, or -1 for anything else. */
int evr_rpc_scalar_text(json_t *v, char *buf, size_t cap);
/* Live now: not removed, not fired, not expired. */
bool evr_rpc_sub_live(const struct evr_sub *s, uint64_t now_ms);

#endif /* EVR_CONTROL_INTERNAL_H */
