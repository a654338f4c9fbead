/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control plane: newline-delimited JSON-RPC 2.0 over a unix stream socket
 * (one request per line, one response per line), parsed with jansson.
 *
 * Methods (OpenSIPS MI names; "evi:" aliases for the event ones):
 *   event_subscribe (evi:event_subscribe)   event, socket, expire, filters,
 *                                           format, once, lenient -> id, expire
 *   event_unsubscribe (evi:event_unsubscribe) id | event+socket
 *   events_list (evi:events_list)          events with live subscriptions
 *   subscribers_list (evi:subscribers_list) paginated: after, limit (+event filter)
 *   raise_event (evi:raise_event)          event, params -> notified count;
 *                                           error 480 when nobody is subscribed
 *   stats, version, list_methods
 *
 * Threads: the server runs on ONE control thread (the caller of
 * evr_control_poll), which must be a registered urcu-qsbr thread; it is
 * online while handling a request and offline while blocked in poll().
 * It never blocks the dataplane: it touches only the matcher's writer API
 * and the hooks below.
 *
 * Action functions (evr_action_*) are the single implementation of each
 * operation; the JSON-RPC handler, the config loader (static subscriptions)
 * and tests are thin adapters over them (STYLE 8).
 */
#ifndef EVR_CONTROL_H
#define EVR_CONTROL_H

#include <jansson.h>
#include <sys/types.h>

#include "evr_event.h"
#include "evr_matcher.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hooks the daemon (or a test) provides. All called on the control thread. */
struct evr_control_hooks {
	void *ctx;
	/* Add dataplane counters to `out` (an object): per core / port / queue.
	 * May be NULL. */
	void (*stats)(void *ctx, json_t *out);
	/* Deliver notifications for an event raised through the control socket.
	 * subs[0..n) are valid during the call (RCU read side). The callee
	 * encodes once per format and sends to each subscriber (dataplane TX
	 * for udp:, kernel socket for unix:). Returns how many were queued or
	 * -errno. May be NULL (then unix: destinations are sent directly and
	 * udp: ones counted as not deliverable). */
	int (*deliver)(void *ctx, const struct evr_event *ev,
	               const struct evr_sub *const *subs, uint32_t n);
};

struct evr_control_conf {
	const char *socket_path;  /* unix stream socket path */
	mode_t socket_mode;       /* e.g. 0660 */
	uint32_t max_clients;     /* default 64 */
	uint32_t max_line;        /* request line limit, default 1 MiB */
	const struct evr_limits *limits; /* for raise_event decoding */
	uint32_t max_fanout;      /* matches per raised event, default 65536 */
	uint32_t list_max;        /* subscribers_list page cap, default 1000 */
};

struct evr_control;

/* Bind and listen (removes a stale socket file). NULL + errno, message in err. */
EVR_API struct evr_control *evr_control_create(const struct evr_control_conf *conf,
                                               struct evr_matcher *m,
                                               const struct evr_control_hooks *hooks,
                                               char *err, size_t errlen);
/* Serve: wait up to timeout_ms for activity, handle whatever is ready.
 * Returns number of requests handled or -errno. Control thread. */
EVR_API int evr_control_poll(struct evr_control *c, int timeout_ms);
/* File descriptors to add to an external poll loop (listen + clients). */
EVR_API void evr_control_destroy(struct evr_control *c);

/* Handle one JSON-RPC request object (or batch) and return the response
 * (NULL for notifications). Used by the socket server and by tests. */
EVR_API json_t *evr_control_handle(struct evr_control *c, json_t *req);

/* ---- actions (one per operation) ----------------------------------------- */

/* Subscribe from a JSON-RPC-style params object; used by event_subscribe and
 * by the config loader. On error returns -errno and sets *code/msg. */
EVR_API int evr_action_subscribe(struct evr_matcher *m, json_t *params,
                                 json_t **result, int *code, char *msg, size_t msglen);

/* Send one payload to a unix: datagram destination (control thread only). */
EVR_API int evr_control_send_unix(const struct evr_dest *d, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* EVR_CONTROL_H */
