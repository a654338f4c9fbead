/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP listener (libmicrohttpd): OpenSIPS MI over HTTP and Prometheus.
 *
 *   POST /mi       one JSON-RPC request or batch per request body, answered
 *                  with the JSON-RPC response as OpenSIPS's mi_http does
 *                  (200, application/json; errors are JSON-RPC error
 *                  objects in a 200). opensips-cli's `url` points here.
 *   GET  /metrics  the Prometheus exposition (evr_metrics.c).
 *   anything else  404 (unknown path) or 405 (wrong method), plain text.
 *
 * Threads: none of its own. libmicrohttpd runs in its epoll mode without
 * an internal thread; the control thread polls its epoll descriptor with
 * the other control sockets and calls evr_http_run, so every request runs
 * on the control thread like the stream socket's (the matcher's writer
 * API, the one executor, evr_control_exec). Bodies are bounded by
 * control.max_line (413 beyond), a connection idle for idle_timeout_ms is
 * closed by libmicrohttpd, and connections are capped (max_clients).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "evr_control_internal.h"
#include "evr_metrics.h"

struct evr_http {
	struct evr_control *c;
	struct MHD_Daemon *d;
	int epoll_fd;
	uint32_t max_body;
};

/* One POST being received. */
struct body {
	char *p;
	size_t n, cap;
	bool too_large;
};

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, const char *type,
                             char *text, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok;

	if (!r) {
		if (owned)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ok = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result plain(struct MHD_Connection *con, unsigned status, const char *text)
{
	return reply(con, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
	             false);
}

static enum MHD_Result serve_mi(struct evr_http *h, struct MHD_Connection *con,
                                struct body *b)
{
	struct evr_control *c = h->c;
	char *out = NULL;
	size_t len = 0;
	bool bad = false;
	int handled = 0, rc;

	c->cnt.http_mi++;
	evr_control_set_caller_admin(c, "http"); /* loopback only: see mi.http.listen */
	rc = evr_control_exec(c, b->p ? b->p : "", b->n, c->conf.max_output, &bad, &handled,
	                      &out, &len);
	if (bad)
		c->cnt.http_bad++;
	evr_control_wait_visible(c);
	if (rc < 0)
		return reply(con, MHD_HTTP_OK, "application/json", (char *)evr_control_oom_text,
		             strlen(evr_control_oom_text), false);
	if (rc == 0) /* notifications only: nothing to answer */
		return reply(con, MHD_HTTP_OK, "application/json", (char *)"", 0, false);
	return reply(con, MHD_HTTP_OK, "application/json", out, len, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **req_cls)
{
	struct evr_http *h = cls;
	struct evr_control *c = h->c;
	struct body *b = *req_cls;

	(void)version;
	if (strcmp(url, "/metrics") == 0) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			c->cnt.http_bad++;
			return plain(con, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n");
		}
		size_t len = 0;
		char *text = evr_metrics_render(c, &len);

		c->cnt.http_metrics++;
		if (!text)
			return plain(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(con, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
		             len, true);
	}
	if (strcmp(url, "/mi") != 0 && strcmp(url, "/mi/") != 0) {
		c->cnt.http_bad++;
		return plain(con, MHD_HTTP_NOT_FOUND, "not found: POST /mi, GET /metrics\n");
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		c->cnt.http_bad++;
		return plain(con, MHD_HTTP_METHOD_NOT_ALLOWED, "POST a JSON-RPC request to /mi\n");
	}
	if (!b) {
		/* first call: headers only */
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*req_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (b->n + *upload_size > h->max_body) {
			b->too_large = true; /* keep reading, answer at the end */
		} else if (!b->too_large) {
			if (b->n + *upload_size > b->cap) {
				size_t cap = b->cap ? b->cap : 4096;
				char *p;

				while (cap < b->n + *upload_size)
					cap *= 2;
				p = realloc(b->p, cap);
				if (!p)
					return MHD_NO;
				b->p = p;
				b->cap = cap;
			}
			memcpy(b->p + b->n, upload, *upload_size);
			b->n += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (b->too_large) {
		c->cnt.http_bad++;
		return plain(con, MHD_HTTP_CONTENT_TOO_LARGE, "request body over control.max_line\n");
	}
	return serve_mi(h, con, b);
}

static void on_done(void *cls, struct MHD_Connection *con, void **req_cls,
                    enum MHD_RequestTerminationCode why)
{
	struct body *b = *req_cls;

	(void)cls;
	(void)con;
	(void)why;
	if (b) {
		free(b->p);
		free(b);
		*req_cls = NULL;
	}
}

struct evr_http *evr_http_open(struct evr_control *c, const char *listen, char *err,
                               size_t errlen)
{
	struct sockaddr_storage ss;
	struct evr_http *h;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL; /* errors: reported by us, not on stderr */

	socklen_t sl;

	if (evr_control_parse_hostport(listen, SOCK_STREAM, &ss, &sl)) {
		evr_control_seterr(err, errlen, "'%s': expected ADDRESS:PORT (numeric, [v6]:port)",
		                   listen);
		errno = EINVAL;
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (!h) {
		evr_control_seterr(err, errlen, "out of memory");
		return NULL;
	}
	h->c = c;
	h->max_body = c->conf.max_line;
	errno = 0;
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, h, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)c->conf.max_clients, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)((c->conf.idle_timeout_ms + 999) / 1000), MHD_OPTION_END);
	if (!h->d) {
		int e = errno ? errno : EADDRNOTAVAIL;

		evr_control_seterr(err, errlen, "%s: cannot listen: %s", listen, strerror(e));
		free(h);
		errno = e;
		return NULL;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epoll_fd = info ? info->epoll_fd : -1;
	if (h->epoll_fd < 0) {
		evr_control_seterr(err, errlen, "'%s': no epoll descriptor", listen);
		MHD_stop_daemon(h->d);
		free(h);
		return NULL;
	}
	return h;
}

int evr_http_pollfd(const struct evr_http *h, int *timeout_ms)
{
	MHD_UNSIGNED_LONG_LONG to;

	/* connection timeouts are libmicrohttpd's to keep */
	if (MHD_get_timeout(h->d, &to) == MHD_YES && (long long)to < *timeout_ms)
		*timeout_ms = (int)to;
	return h->epoll_fd;
}

void evr_http_run(struct evr_http *h)
{
	MHD_run(h->d);
}

void evr_http_close(struct evr_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
