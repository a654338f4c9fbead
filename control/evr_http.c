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
 * Roles (issue 13): bearer tokens (RFC 6750) read at start from
 * mi.http.admin_token_file and mi.http.read_token_file. A request whose
 * "Authorization: Bearer <token>" carries the admin token gets the admin
 * role, the read token the read role (R methods and /metrics; writes answer
 * 403 as on the control socket); with either file configured, a request
 * without a token or with another one gets 401 and "WWW-Authenticate:
 * Bearer" (counted http_refused_token, logged once per peer address).
 * Tokens are compared in constant time (their length aside). Without any
 * token file every request is admin, as before, and the listener must be
 * on loopback: a non-loopback mi.http.listen without tokens is refused at
 * open. A token file must not be readable by others (mode o-rwx): a
 * token is as good as the uid that holds it.
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
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evr_control_internal.h"
#include "evr_metrics.h"

#define TOKEN_MIN 16u   /* bytes: shorter is guessable */
#define TOKEN_MAX 1024u

struct evr_http {
	struct evr_control *c;
	struct MHD_Daemon *d;
	int epoll_fd;
	uint32_t max_body;
	char *token[2];         /* [EVR_ROLE_READ], [EVR_ROLE_ADMIN]; NULL = none */
	size_t token_len[2];
	struct body *held;      /* requests whose reply waits for the store */
};

/* One POST being received (and, once run, its reply held until the store
 * made its change durable: the connection is suspended meanwhile). */
struct body {
	char *p;
	size_t n, cap;
	bool too_large;
	bool ran;           /* executed: never again on a later call */
	bool ready;         /* the held reply is here: send it */
	char *out;          /* ... that reply */
	size_t out_len;
	struct MHD_Connection *con;
	struct body *prev, *next; /* on h->held while suspended */
};

/* evr_control_defer_reply's context: freed by the control library. */
struct held_ref {
	struct evr_http *h;
	struct body *b;
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

/* Equal, in a time that depends on the secret's length only. */
static bool token_equal(const char *given, size_t glen, const char *secret, size_t slen)
{
	volatile unsigned char diff = (unsigned char)(glen != slen);

	for (size_t i = 0; i < slen; i++)
		diff |= (unsigned char)((i < glen ? (unsigned char)given[i] : 0u) ^
		                        (unsigned char)secret[i]);
	return diff == 0;
}

/* The peer's address, for the audit trail and the refusal table. */
static void peer_text(struct MHD_Connection *con, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	buf[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, cap);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, cap);
}

/*
 * Set the caller of this request from its bearer token. false: answer 401
 * (no token, another token, not "Bearer"), counted and logged once per
 * peer address. Without token files every caller is admin.
 */
static bool authorize(struct evr_http *h, struct MHD_Connection *con)
{
	struct evr_control *c = h->c;
	const char *auth;
	char addr[INET6_ADDRSTRLEN];
	int role = EVR_ROLE_NONE;

	peer_text(con, addr, sizeof(addr));
	if (!h->token[0] && !h->token[1]) {
		evr_control_set_caller(c, EVR_ROLE_ADMIN, (uid_t)-1, (gid_t)-1, "http", addr);
		return true;
	}
	auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	                                   MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		const char *t = auth + 7;
		size_t n;

		while (*t == ' ')
			t++;
		n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			n--;
		/* both compared whatever the first gives: no early answer */
		bool adm = h->token[EVR_ROLE_ADMIN] &&
		           token_equal(t, n, h->token[EVR_ROLE_ADMIN], h->token_len[EVR_ROLE_ADMIN]);
		bool rd = h->token[EVR_ROLE_READ] &&
		          token_equal(t, n, h->token[EVR_ROLE_READ], h->token_len[EVR_ROLE_READ]);
		role = adm ? EVR_ROLE_ADMIN : rd ? EVR_ROLE_READ : EVR_ROLE_NONE;
	}
	evr_control_set_caller(c, role == EVR_ROLE_NONE ? EVR_ROLE_READ : role, (uid_t)-1,
	                       (gid_t)-1, "http", addr);
	if (role != EVR_ROLE_NONE)
		return true;
	c->cnt.http_refused_token++;
	if (evr_control_refusal_first(c))
		evr_control_audit(c, "request refused: %s bearer token",
		                  auth ? "wrong" : "no");
	return false;
}

static enum MHD_Result unauthorized(struct MHD_Connection *con, bool had_header)
{
	static const char text[] = "401 Unauthorized: Authorization: Bearer <token> "
	                           "(mi.http.admin_token_file / read_token_file)\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(
		sizeof(text) - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	                        had_header ? "Bearer realm=\"evrd\", error=\"invalid_token\""
	                                   : "Bearer realm=\"evrd\"");
	ok = MHD_queue_response(con, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ok;
}

static void held_unlink(struct evr_http *h, struct body *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		h->held = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->prev = b->next = NULL;
}

/* The store made the request's change durable (or says why not): resume
 * the connection; its next call sends the reply. Control thread. */
static void held_ready(struct evr_control *c, void *ctx, char *text, size_t len)
{
	struct held_ref *ref = ctx;
	struct body *b = ref->b;

	(void)c;
	b->out = text;
	b->out_len = len;
	b->ready = true;
	held_unlink(ref->h, b);
	MHD_resume_connection(b->con);
}

static enum MHD_Result serve_mi(struct evr_http *h, struct MHD_Connection *con,
                                struct body *b)
{
	struct evr_control *c = h->c;
	char *out = NULL;
	size_t len = 0;
	bool bad = false;
	int handled = 0, rc;
	uint64_t seq0 = evr_control_store_seq(c);

	c->cnt.http_mi++;
	b->ran = true;
	rc = evr_control_exec(c, b->p ? b->p : "", b->n, c->conf.max_output, &bad, &handled,
	                      &out, &len);
	if (bad)
		c->cnt.http_bad++;
	evr_control_wait_visible(c);
	if (rc > 0) {
		/* a change: answered once durable, as every transport does; the
		 * connection sleeps meanwhile, other requests are served */
		struct held_ref *ref = malloc(sizeof(*ref));
		if (ref) {
			*ref = (struct held_ref){.h = h, .b = b};
			if (evr_control_defer_reply(c, seq0, out, len, held_ready, ref)) {
				b->con = con;
				b->next = h->held;
				if (h->held)
					h->held->prev = b;
				h->held = b;
				MHD_suspend_connection(con);
				return MHD_YES;
			}
			free(ref);
		}
	}
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
	/* the first call (headers only) decides: a refused body is never read */
	if (!b && !authorize(h, con))
		return unauthorized(con, MHD_lookup_connection_value(
			con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) != NULL);
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
	if (b->ready) { /* resumed: the held reply */
		char *out = b->out;
		b->out = NULL;
		return reply(con, MHD_HTTP_OK, "application/json", out, b->out_len, true);
	}
	if (b->ran) /* resumed at stop without a reply: close */
		return MHD_NO;
	if (b->too_large) {
		c->cnt.http_bad++;
		return plain(con, MHD_HTTP_CONTENT_TOO_LARGE, "request body over control.max_line\n");
	}
	/* other connections' requests ran since the headers: whose is this */
	if (!authorize(h, con))
		return unauthorized(con, true);
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
		free(b->out);
		free(b);
		*req_cls = NULL;
	}
}

/*
 * Read one token file (setting names it in errors): the first line, blanks
 * at its end cut, TOKEN_MIN..TOKEN_MAX bytes of printable ASCII, the file
 * a regular one not readable or writable by others. *tok malloc'd.
 */
static int read_token(const char *setting, const char *path, char **tok, size_t *len,
                      char *err, size_t errlen)
{
	char buf[TOKEN_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t k;
	int fd, rc = -EINVAL;

	*tok = NULL;
	if (!path || !path[0])
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "%s %s: %s", setting, path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		evr_control_seterr(err, errlen, "%s %s: not a regular file", setting, path);
		goto out;
	}
	if (st.st_mode & 0007) {
		evr_control_seterr(err, errlen, "%s %s: mode %04o lets every user read or "
		                   "change the token (chmod o-rwx)", setting, path,
		                   (unsigned)(st.st_mode & 07777));
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "%s %s: %s", setting, path, strerror(-rc));
		goto out;
	}
	buf[n] = '\0';
	k = strcspn(buf, "\r\n");
	while (k && (buf[k - 1] == ' ' || buf[k - 1] == '\t'))
		k--;
	buf[k] = '\0';
	if (k < TOKEN_MIN || k > TOKEN_MAX) {
		evr_control_seterr(err, errlen, "%s %s: the token must be %u..%u bytes (got %zu)",
		                   setting, path, TOKEN_MIN, TOKEN_MAX, k);
		goto out;
	}
	for (size_t i = 0; i < k; i++)
		if (buf[i] <= ' ' || buf[i] > '~') {
			evr_control_seterr(err, errlen, "%s %s: the token must be printable "
			                   "ASCII without blanks", setting, path);
			goto out;
		}
	*tok = strdup(buf);
	*len = k;
	rc = *tok ? 0 : -ENOMEM;
	if (rc)
		evr_control_seterr(err, errlen, "%s: out of memory", setting);
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static void free_tokens(struct evr_http *h)
{
	for (int i = 0; i < 2; i++)
		if (h->token[i]) {
			explicit_bzero(h->token[i], h->token_len[i]);
			free(h->token[i]);
		}
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

struct evr_http *evr_http_open(struct evr_control *c, const char *listen,
                               const char *admin_file, const char *read_file, char *err,
                               size_t errlen)
{
	struct sockaddr_storage ss;
	struct evr_http *h;
	const union MHD_DaemonInfo *info;
	/* errors: reported by us, not on stderr; suspend: replies held for
	 * the store */
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;

	socklen_t sl;

	if (evr_control_parse_hostport(listen, SOCK_STREAM, &ss, &sl)) {
		evr_control_seterr(err, errlen, "listen '%s': expected ADDRESS:PORT (numeric, "
		                   "[v6]:port)", listen);
		errno = EINVAL;
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (!h) {
		evr_control_seterr(err, errlen, "listen: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	int rc = read_token("admin_token_file", admin_file, &h->token[EVR_ROLE_ADMIN],
	                    &h->token_len[EVR_ROLE_ADMIN], err, errlen);
	if (!rc)
		rc = read_token("read_token_file", read_file, &h->token[EVR_ROLE_READ],
		                &h->token_len[EVR_ROLE_READ], err, errlen);
	if (!rc && h->token[0] && h->token[1] && h->token_len[0] == h->token_len[1] &&
	    memcmp(h->token[0], h->token[1], h->token_len[0]) == 0) {
		evr_control_seterr(err, errlen, "read_token_file %s: the same token as "
		                   "admin_token_file", read_file);
		rc = -EINVAL;
	}
	if (!rc && !h->token[0] && !h->token[1] && !is_loopback(&ss)) {
		/* no access control: only what runs on this host may call */
		evr_control_seterr(err, errlen, "listen %s: not a loopback address, and no "
		                   "mi.http.admin_token_file / read_token_file: HTTP without "
		                   "tokens is served on loopback only", listen);
		rc = -EPERM;
	}
	if (rc) {
		free_tokens(h);
		free(h);
		errno = -rc;
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

		evr_control_seterr(err, errlen, "listen %s: cannot listen: %s", listen, strerror(e));
		free_tokens(h);
		free(h);
		errno = e;
		return NULL;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epoll_fd = info ? info->epoll_fd : -1;
	if (h->epoll_fd < 0) {
		evr_control_seterr(err, errlen, "listen '%s': no epoll descriptor", listen);
		MHD_stop_daemon(h->d);
		free_tokens(h);
		free(h);
		errno = EIO;
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
	/* replies still held (evrd stops before the store answered): the
	 * connections close; libmicrohttpd wants none suspended at stop */
	while (h->held) {
		struct body *b = h->held;
		held_unlink(h, b);
		MHD_resume_connection(b->con);
	}
	MHD_stop_daemon(h->d);
	free_tokens(h);
	free(h);
}
