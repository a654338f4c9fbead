/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control plane: newline-delimited JSON-RPC 2.0 over a unix stream socket
 * (one request per line, one response per line), parsed with jansson; and
 * the OpenSIPS MI datagram and FIFO transports (evr_control_mi_open below;
 * framing in evr_mi_datagram.c / evr_mi_fifo.c), which run the same
 * requests through the same executor.
 *
 * Methods, in two families (the table with parameter help and recipes is
 * EVR_CONTROL_METHODS in evr_methods.h):
 *  - OpenSIPS MI (evr_mi.c): which, event_subscribe, events_list,
 *    subscribers_list, raise_event, version, uptime, get_statistics,
 *    list_statistics, reset_statistics, with OpenSIPS's params, result
 *    shapes and error codes (event_subscribe -> "OK");
 *  - evrd's own (evr_actions.c), "evr_" prefixed, used by evrctl:
 *    evr_subscribe -> {"id","expire","refreshed"}, evr_unsubscribe ->
 *    {"removed"}, evr_events_list / evr_subscribers_list (paged: after,
 *    limit, next), evr_raise_event -> {"matched","notified","failed"},
 *    evr_stats, evr_config_get, evr_version, evr_list_methods.
 *
 * Wire protocol:
 *  - One JSON-RPC request (object) or batch (array) per line, at most
 *    conf.max_line bytes before the '\n' ("\r\n" accepted, blank lines
 *    ignored, a last line without '\n' before the client half-closes is
 *    still served). A longer line is answered with -32600 "request too
 *    large" and the connection is closed.
 *  - One compact JSON response per line, in request order. Requests
 *    without "id" are notifications: executed, never answered (an
 *    *invalid* request is answered with id null, as JSON-RPC requires).
 *  - Every client has a bounded output buffer (conf.max_output): a client
 *    whose unread responses would exceed it is disconnected and counted
 *    (control.clients_dropped), so a client that never reads cannot block
 *    the server or grow its memory. Over conf.max_clients, a new connection
 *    gets one error line (503) and is closed.
 *
 * Error codes (EVR_RPC_*):
 *   -32700 parse error          -32600 invalid request / request too large
 *   -32601 method not found     -32602 invalid params (message names the
 *                                      parameter, filter or destination)
 *   404 no such subscription (unsubscribe by id or event+socket, expire 0)
 *   480 "No subscribers for event" (evr_raise_event; raise_event says
 *       "Temporarily Unavailable", as OpenSIPS)
 *   400 bad parameter value, 404 unknown event (the MI family, as OpenSIPS)
 *   500 internal error (out of memory, delivery hook failure)
 *   503 resource limit (subscription table full, too many clients)
 *
 * Threads: the server runs on ONE control thread (the caller of
 * evr_control_poll), which must be a registered urcu-qsbr thread; it is
 * online while handling a request and offline while blocked in poll().
 * It never blocks the dataplane: it touches only the matcher's writer API,
 * its own reader index (raise_event) and the hooks below. Every function
 * here is control-thread only unless it says otherwise; callers enter
 * online and return online.
 *
 * Action functions (evr_action_*) are the single implementation of each
 * operation; the JSON-RPC handler, the config loader (static subscriptions)
 * and tests are thin adapters over them (STYLE 8).
 */
#ifndef EVR_CONTROL_H
#define EVR_CONTROL_H

#include <jansson.h>
#include <poll.h>
#include <sys/types.h>

#include "event/evr_event.h"
#include "event/evr_fs_std.h"
#include "match/evr_matcher.h"
#include "evr_methods.h"

#ifdef __cplusplus
extern "C" {
#endif

/* JSON-RPC error codes used by the control socket (see above). */
enum {
	EVR_RPC_PARSE_ERROR = -32700,
	EVR_RPC_INVALID_REQUEST = -32600,
	EVR_RPC_METHOD_NOT_FOUND = -32601,
	EVR_RPC_INVALID_PARAMS = -32602,
	EVR_RPC_BAD_VALUE = 400,   /* the MI family's "bad parameter value" */
	EVR_RPC_NOT_FOUND = 404,
	EVR_RPC_NO_SUBSCRIBERS = 480,
	EVR_RPC_INTERNAL = 500,
	EVR_RPC_UNAVAILABLE = 503,
	EVR_RPC_FORBIDDEN = 403,  /* a write method from a peer with the read role */
};

struct evr_metrics;

/* Hooks the daemon (or a test) provides. All called on the control thread. */
struct evr_control_hooks {
	void *ctx;
	/* Add dataplane counters to `out` (an object): per core / port / queue.
	 * May be NULL. */
	void (*stats)(void *ctx, json_t *out);
	/* Write the dataplane's Prometheus families (evr_metrics.h) after the
	 * matcher's and the control server's. May be NULL. */
	void (*metrics)(void *ctx, struct evr_metrics *m);
	/* Deliver notifications for an event raised through the control socket.
	 * subs[0..n) are valid during the call (RCU read side). The callee
	 * encodes once per format and sends to each subscriber (dataplane TX
	 * for udp:, kernel socket for unix:). Returns how many were queued or
	 * -errno. May be NULL: then the control thread encodes once per format
	 * itself and sends unix: destinations with evr_control_send_unix and
	 * udp: ones through an ordinary kernel UDP socket (the fallback when
	 * there is no dataplane: unit tests, tooling). */
	int (*deliver)(void *ctx, const struct evr_event *ev,
	               const struct evr_sub *const *subs, uint32_t n);
	/* The effective configuration as JSON (a new reference), or NULL when
	 * there is none. May be NULL (no config: unit tests, tooling). */
	json_t *(*config)(void *ctx);
	/* Change one runtime setting (evr_config_set): name is its path
	 * ("destinations.allow_loopback"), value a JSON string, number,
	 * boolean or list of strings. 0 with *result (a new object: setting,
	 * value, previous, ...) or -errno with err saying why ("setting X:
	 * reason"): -ENOENT unknown, -EPERM not changeable at runtime,
	 * -EINVAL a bad value. May be NULL (no config to change). Control
	 * thread, online. */
	int (*config_set)(void *ctx, const char *name, json_t *value, json_t **result,
	                  char *err, size_t errlen);
	/* What the router knows about a subscription's destination, merged
	 * into its evr_subscribers_list entry (evrd: the limiter's figures
	 * "limiter":{sent, rate_limited, bytes_limited}, and "refused" when
	 * today's destination policy would refuse it). A new object or NULL.
	 * Called with the matcher's writer lock held: must not call it. May
	 * be NULL. */
	json_t *(*dest_info)(void *ctx, const struct evr_dest *d);
	/* One line per write method executed and per refusal (who, method,
	 * outcome), e.g. "uid 1000 gid 1000 (stream): evr_subscribe ok".
	 * May be NULL (no audit trail). */
	void (*audit)(void *ctx, const char *line);
};

/*
 * Control-plane roles of unix-socket peers (SO_PEERCRED): root is admin;
 * a peer whose uid is in admin_uid or who is in a group of admin_gid
 * (primary or supplementary) is admin; else one in read_uid / read_gid
 * reads; else, when both read lists are empty, it reads too (what the
 * socket's file mode lets in), otherwise it is refused at accept. Admin may
 * call every method, read only those tagged R in evr_methods.h; a W method
 * from a reader answers 403 (counted, logged once per connection).
 */
struct evr_control_roles {
	const uint32_t *admin_uid, *admin_gid, *read_uid, *read_gid;
	uint32_t n_admin_uid, n_admin_gid, n_read_uid, n_read_gid;
};

struct evr_control_conf {
	const char *socket_path;  /* unix stream socket path */
	mode_t socket_mode;       /* e.g. 0660; 0 = leave as the umask made it */
	uint32_t max_clients;     /* default 64 */
	uint32_t max_line;        /* request line limit, default 1 MiB */
	const struct evr_limits *limits; /* for raise_event (NULL = defaults) */
	uint32_t max_fanout;      /* matches per raised event, default 65536 */
	uint32_t list_max;        /* subscribers_list page cap, default 1000 */
	uint32_t max_output;      /* unread response bytes per client before it
	                           * is dropped, default 16 MiB */
	uint32_t max_batch;       /* requests in one batch, default 100 */
	uint32_t max_per_uid;     /* connections per non-root uid, default 16 */
	uint32_t idle_timeout_ms; /* no request for this long: closed, 60000 */
	uint32_t request_timeout_ms; /* incomplete line this long: closed, 10000 */
	/* FreeSWITCH standard headers of the run (Core-UUID, hostname, ...)
	 * for HEARTBEAT and raise_event; must outlive the server. NULL: the
	 * server makes its own (a Core-UUID of its own). */
	const struct evr_fs_std *fs_std;
	/* NULL: every peer the socket's mode lets in is admin (library
	 * default: tests, tooling); evrd always gives its control.* roles */
	const struct evr_control_roles *roles;
};

/* Fill defaults (socket_path stays NULL: the caller must set it). */
EVR_API void evr_control_conf_default(struct evr_control_conf *conf);

struct evr_control;

/*
 * Bind and listen on conf->socket_path, chmod it to conf->socket_mode.
 * A stale socket file (nobody accepting) is removed first; a live one
 * (another daemon answers) is refused with EADDRINUSE, and anything that is
 * not a socket with EEXIST. Registers a matcher reader index for
 * raise_event. conf is copied (socket_path too); m and hooks->ctx must
 * outlive the server. NULL + errno, message in err.
 */
EVR_API struct evr_control *evr_control_create(const struct evr_control_conf *conf,
                                               struct evr_matcher *m,
                                               const struct evr_control_hooks *hooks,
                                               char *err, size_t errlen);
/* Serve: wait up to timeout_ms (-1 = forever) for activity, handle whatever
 * is ready (at most one read per client per call, so no client starves the
 * others). Goes QSBR-offline while blocked. Returns the number of requests
 * handled (batch elements and bad lines count one each) or -errno (-EINTR
 * when a signal interrupted the wait). Control thread. */
EVR_API int evr_control_poll(struct evr_control *c, int timeout_ms);

/* File descriptors to add to an external poll loop (listen + clients):
 * fills up to cap entries (events set, revents 0), returns how many are
 * needed (call again with a larger array if > cap; at most max_clients+1)
 * and sets *timeout_ms to the longest the loop may sleep (-1 = no limit).
 * After poll(), hand the same array to evr_control_process. Both go with no
 * other call in between. evr_control_poll is exactly these three steps. */
EVR_API unsigned evr_control_pollfds(struct evr_control *c, struct pollfd *fds,
                                     unsigned cap, int *timeout_ms);
/* Handle the revents of an array filled by evr_control_pollfds. Returns
 * requests handled. Control thread, online. */
EVR_API int evr_control_process(struct evr_control *c, const struct pollfd *fds,
                                unsigned n);

/*
 * OpenSIPS MI datagram and FIFO transports on the same control thread (the
 * framing is described in evr_mi_datagram.c and evr_mi_fifo.c): opened once
 * after evr_control_create; their fds join evr_control_pollfds /
 * evr_control_process / evr_control_poll, and evr_control_destroy closes
 * them. Each field NULL or "" = that transport off.
 */
struct evr_mi_conf {
	const char *datagram_socket; /* unix datagram socket path */
	const char *datagram_udp;    /* "IPv4:port" or "[IPv6]:port" */
	const char *fifo;            /* request FIFO path */
	const char *fifo_reply_dir;  /* reply FIFOs live here; NULL/"" = "/tmp/" */
	const char *http_listen;     /* POST /mi and GET /metrics (evr_http.c) */
	mode_t mode;                 /* of the datagram socket file; 0 = umask */
	mode_t fifo_mode;            /* of the request FIFO; 0 = 0600 */
	/* the role of every MI UDP sender (UDP has no peer identity):
	 * EVR_MI_UDP_READ (default), EVR_MI_UDP_ADMIN or EVR_MI_UDP_NONE */
	int udp_role;
	/* files holding the HTTP bearer tokens (evr_http.c), read at open;
	 * both NULL/"": no authentication, loopback listeners only */
	const char *http_admin_token_file;
	const char *http_read_token_file;
};
enum { EVR_MI_UDP_READ = 0, EVR_MI_UDP_ADMIN = 1, EVR_MI_UDP_NONE = 2 };

/* 0 or -errno; err names the setting ("mi.datagram_udp 127.0.0.1:8080:
 * bind: Address already in use"). Nothing stays open on failure. */
EVR_API int evr_control_mi_open(struct evr_control *c, const struct evr_mi_conf *conf,
                                char *err, size_t errlen);

/*
 * FreeSWITCH event socket (ESL, inbound mode as mod_event_socket serves it;
 * protocol and its differences in evr_esl.c) on the same control thread:
 * opened once after evr_control_create; its listener and connections join
 * evr_control_pollfds / evr_control_process / evr_control_poll, and
 * evr_control_destroy closes them.
 */
struct evr_esl_conf {
	const char *listen;        /* "IPv4:port" / "[IPv6]:port"; NULL or "" = off */
	const char *password;      /* auth <password>; required */
	const char *const *acl;    /* CIDRs a client may connect from; none = any */
	uint32_t n_acl;
	uint32_t max_clients;      /* connections at once, default 64 */
	uint32_t queue_max;        /* events queued per connection, default 100000 */
};

/* 0 or -errno; err names the setting ("esl.listen 127.0.0.1:8021: bind:
 * Address already in use"). Nothing stays open on failure. */
EVR_API int evr_control_esl_open(struct evr_control *c, const struct evr_esl_conf *conf,
                                 char *err, size_t errlen);

/*
 * A notification for ESL connection conn (destination esl:<conn>): payload
 * is the event in plain format with its ESL envelope, as the encoder makes
 * it for ESL subscriptions. The server applies the connection's filters,
 * converts it to the connection's format and queues it. 0 queued, 1 not
 * for this connection (its filters, nixevent, myevents), -ENOENT the
 * connection is gone, -ENOBUFS its queue is full (lost, counted),
 * -EINVAL the payload did not decode. Control thread.
 */
EVR_API int evr_control_esl_deliver(struct evr_control *c, uint64_t conn, const char *payload,
                                    size_t len);

/* An event seen on the wire: known to MI events_list from now on (its id
 * assigned now). Control thread. */
EVR_API void evr_control_note_event(struct evr_control *c, const char *name);

/* Close every client and the listening socket, remove the socket file if it
 * is still ours (same inode), free everything. NULL is a no-op. */
EVR_API void evr_control_destroy(struct evr_control *c);

/* Handle one JSON-RPC request object (or batch) and return the response
 * (NULL for notifications and all-notification batches). req is borrowed.
 * Used by the socket server and by tests. Control thread, online. */
EVR_API json_t *evr_control_handle(struct evr_control *c, json_t *req);

/* ---- actions (one per operation) ----------------------------------------- */

/*
 * Convention for every action: params is a borrowed JSON-RPC params value
 * (object, positional array, or NULL for none). On success returns 0 and
 * stores a new reference in *result. On failure returns -errno and sets
 * *code (EVR_RPC_*) and msg (a sentence for the user, naming what was wrong).
 */

/* Subscribe from a JSON-RPC-style params object; used by event_subscribe and
 * by the config loader. On error returns -errno and sets *code/msg.
 * params: {"event","socket","expire","filters","format","once","lenient"}
 * or positional [event, socket, expire] (OpenSIPS MI). Numbers and booleans
 * may also be strings ("3600", "true"): opensips-cli sends strings.
 * Result {"id":N,"expire":S,"refreshed":bool} ({"id","expire":0,"removed":1}
 * for expire 0). Writer (matcher). */
/* Durable subscriptions: from now on a stream client's reply to a request
 * that changed subscriptions is held until the store's group commit covers
 * the change (evr_store.h); NULL = no store. Control thread. */
struct evr_store;
EVR_API void evr_control_set_store(struct evr_control *c, struct evr_store *s);

EVR_API int evr_action_subscribe(struct evr_matcher *m, json_t *params,
                                 json_t **result, int *code, char *msg, size_t msglen);

/* {"id":N} | {"event":E,"socket":S} | [id] | [event, socket] ->
 * {"removed":N}; 404 when nothing was removed. */
EVR_API int evr_action_unsubscribe(struct evr_control *c, json_t *params,
                                   json_t **result, int *code, char *msg,
                                   size_t msglen);
/* -> {"events":[{"event":E,"subscribers":N},...]} sorted by event, live
 * (not expired, not fired) subscriptions only; selectors compare
 * case-insensitively, the first spelling seen is shown. */
EVR_API int evr_action_events_list(struct evr_control *c, json_t *params,
                                   json_t **result, int *code, char *msg,
                                   size_t msglen);
/* {"after":0,"limit":100,"event":E} -> {"subscribers":[{id, event, socket,
 * format, filters:[..], once, lenient, expire, ttl, created},..],
 * "next":ID|null}. ttl = whole seconds left (rounded up), created = unix
 * time. limit is 1..conf.list_max. */
EVR_API int evr_action_subscribers_list(struct evr_control *c, json_t *params,
                                        json_t **result, int *code, char *msg,
                                        size_t msglen);
/* {"event":"E_X" | "CUSTOM sub::class","params":{..}|[..]} | [event, params]
 * -> {"matched":N,"notified":M,"failed":F} (+ "overflow" when more than
 * max_fanout matched); 480 when nothing matched. Values: strings as is,
 * numbers/true/false as literals, null as empty; array params are named
 * "1","2",... Without a subclass in "event", an Event-Subclass param is the
 * subclass (FreeSWITCH CUSTOM events). Checked against conf.limits.
 * "failed": matched but not queued (encode error, destination refused). */
EVR_API int evr_action_raise_event(struct evr_control *c, json_t *params,
                                   json_t **result, int *code, char *msg,
                                   size_t msglen);
/* What evr_control_raise did: subscriptions matched, notifications queued
 * or sent, matched but not delivered, matches over max_fanout. */
struct evr_raise_result {
	uint32_t matched, notified, failed;
	uint64_t overflow;
};

/* The one "notify an event's subscribers" path of the control thread,
 * shared by raise_event and HEARTBEAT: match ev with the control's reader
 * index, deliver through hooks->deliver (or the kernel-socket fallback).
 * Counts nothing (callers do). 0, -ENOMEM, or the hook's -errno (then
 * matched/overflow are set). Control thread, online. */
EVR_API int evr_control_raise(struct evr_control *c, const struct evr_event *ev,
                              struct evr_raise_result *res);

/* evrd's own figures for HEARTBEAT (extra headers after FreeSWITCH's). */
struct evr_heartbeat_figures {
	uint64_t events_per_s;  /* Evr-Events-Per-Sec: decoded + SIP-derived, last interval */
	uint64_t events_total;  /* Evr-Events-Total */
	uint64_t drops_total;   /* Evr-Drops-Total: every named drop counter */
};

/*
 * Raise one HEARTBEAT as FreeSWITCH's send_heartbeat does (switch_core.c):
 * standard headers, Event-Info "System Ready", Up-Time in FreeSWITCH's
 * words, FreeSWITCH-Version (evrd's), Uptime-msec, then evrd's figures
 * (Evr-Events-Per-Sec, Evr-Events-Total, Evr-Live-Subscriptions,
 * Evr-Drops-Total). uptime_us is the time since start; wall_us now.
 * Counted in control.heartbeats / heartbeat_notified / heartbeat_failed.
 * 0 or -errno. Control thread, online.
 */
EVR_API int evr_control_heartbeat(struct evr_control *c, uint64_t uptime_us, uint64_t wall_us,
                                  const struct evr_heartbeat_figures *f,
                                  struct evr_raise_result *res);
/* Microseconds since evr_control_create (CLOCK_MONOTONIC). */
EVR_API uint64_t evr_control_uptime_us(const struct evr_control *c);

/* FreeSWITCH's Up-Time text for us microseconds ("0 years, 0 days, 0 hours,
 * 1 minute, 2 seconds, 345 milliseconds, 678 microseconds": singular for 1,
 * 365-day years, as switch_core_measure_time). Returns the length (the
 * text is cut to cap - 1 like snprintf). */
EVR_API size_t evr_fs_uptime_text(char *out, size_t cap, uint64_t us);

/* -> {"matcher":{..},"control":{..}, + whatever hooks->stats adds}. */
EVR_API int evr_action_stats(struct evr_control *c, json_t *params, json_t **result,
                             int *code, char *msg, size_t msglen);
/* -> {"name":"evrd","version":"X.Y.Z"}. */
EVR_API int evr_action_config_get(struct evr_control *c, json_t *params,
                                  json_t **result, int *code, char *msg, size_t msglen);
EVR_API int evr_action_version(struct evr_control *c, json_t *params,
                               json_t **result, int *code, char *msg, size_t msglen);
/* -> {"methods":[{"name","alias","params","summary"},..]}. */
EVR_API int evr_action_list_methods(struct evr_control *c, json_t *params,
                                    json_t **result, int *code, char *msg,
                                    size_t msglen);

/* Send one payload to a unix: datagram destination, non-blocking (-EAGAIN
 * when the receiver's queue is full, -ECONNREFUSED/-ENOENT when nobody is
 * bound there). 0 or -errno. Any thread (one shared socket, created on
 * first use, closed at exit). */
EVR_API int evr_control_send_unix(const struct evr_dest *d, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* EVR_CONTROL_H */
