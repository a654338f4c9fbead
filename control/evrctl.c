/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evrctl: command-line client of evrd's control socket (newline-delimited
 * JSON-RPC 2.0, see evr_control.h).
 *
 *   evrctl [-s SOCKET] [--json] [--timeout SECONDS] COMMAND [ARGS...]
 *
 * Design note. Every command is a thin adapter that turns argv into one
 * JSON-RPC call (or a few, for subscribers --all) and the result into a
 * table; --json prints the raw result instead, for scripts. The CLI verbs
 * have their own table below (their syntax is the shell's, not JSON), while
 * the daemon's methods come from the one method table (evr_methods.h): help
 * asks the daemon for list_methods and falls back to the compiled-in copy
 * of the same table when it cannot connect.
 *
 * Exit codes: 0 ok, 1 JSON-RPC error (message on stderr), 2 usage error,
 * 3 cannot connect / no answer within the timeout / connection lost.
 *
 * Socket: -s wins over $EVR_SOCKET, which wins over /run/evrd/evrd.sock.
 * With no command and a terminal on stdin, evrctl reads commands
 * interactively (line editing and history with libedit when built with it).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef EVR_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "evr_methods.h"
#include "evr_version.h"

#define DEFAULT_SOCKET "/run/evrd/evrd.sock"
#define DEFAULT_TIMEOUT_MS 5000

enum { EX_OK = 0, EX_RPC = 1, EX_USAGE = 2, EX_CONN = 3 };

struct ctx {
	const char *path;
	int timeout_ms; /* -1: no timeout */
	bool json;
	bool interactive;
	bool quiet;     /* help's probe: being offline is not an error */
	int fd;         /* -1 until the first call */
	char *buf;      /* bytes received past the last response line */
	size_t len, cap;
	json_int_t next_id;
};

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(struct ctx *x, int argc, char **argv);
};

static const struct cmd cmds[];
static const struct cmd *find_cmd(const char *name);

/* ---- output helpers ---------------------------------------------------------- */

static int usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_err(const char *cmd, const char *fmt, ...)
{
	const struct cmd *c = cmd ? find_cmd(cmd) : NULL;
	va_list ap;

	fprintf(stderr, "evrctl: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		fprintf(stderr, "usage: evrctl %s %s\n", c->name, c->args);
	else
		fprintf(stderr, "try 'evrctl help'\n");
	return EX_USAGE;
}

static void print_json(json_t *v, bool compact)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | (compact ? JSON_COMPACT : JSON_INDENT(2)));

	if (s) {
		puts(s);
		free(s);
	}
}

/* Aligned text table: rows of ncols strings, last column not padded. */
struct table {
	size_t ncols, nrows, cap;
	char **cells;
};

static void table_row(struct table *t, const char *const *cols)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cols[i] ? cols[i] : "");
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t w[16] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols && i < 16; i++) {
			const char *s = t->cells[r * t->ncols + i];
			size_t l = s ? strlen(s) : 0;

			if (l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];

			if (i + 1 < t->ncols)
				printf("%-*s  ", (int)w[i], s ? s : "");
			else
				printf("%s\n", s ? s : "");
		}
	}
	for (size_t k = 0; k < t->nrows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* Scalar as display text into buf. */
static const char *scalar(json_t *v, char *buf, size_t cap)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, cap, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "-";
	default:
		return "?";
	}
}

/* ---- connection ------------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to become ready for ev until deadline (-1 none): 0, -ETIMEDOUT. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		int to = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			to = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		int r = poll(&p, 1, to);

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static void conn_close(struct ctx *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	x->len = 0;
}

static int conn_open(struct ctx *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = x->timeout_ms < 0 ? -1 : now_ms() + x->timeout_ms;
	int fd, rc = 0;

	if (x->fd >= 0)
		return EX_OK;
	if (strlen(x->path) >= sizeof(sa.sun_path)) {
		if (!x->quiet)
			fprintf(stderr, "evrctl: cannot connect to %s: path too long\n",
			        x->path);
		return EX_CONN;
	}
	memcpy(sa.sun_path, x->path, strlen(x->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			rc = -errno;
			goto fail;
		}
		/* Unix connect only waits when the listener's backlog is full. */
		int err = 0;
		socklen_t el = sizeof(err);

		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
			rc = -err;
		if (rc)
			goto fail;
	}
	x->fd = fd;
	x->len = 0;
	return EX_OK;
fail:
	if (fd >= 0)
		close(fd);
	if (!x->quiet)
		fprintf(stderr, "evrctl: cannot connect to %s: %s\n", x->path,
		        rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
	return EX_CONN;
}

static int send_all(struct ctx *x, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(x->fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			int rc = wait_fd(x->fd, POLLOUT, deadline);

			if (rc)
				return rc;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line into a new string (without '\n'); -errno, -EPIPE on EOF. */
static int recv_line(struct ctx *x, char **line, int64_t deadline)
{
	for (;;) {
		char *nl = x->len ? memchr(x->buf, '\n', x->len) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - x->buf);

			*line = strndup(x->buf, n);
			if (!*line)
				return -ENOMEM;
			memmove(x->buf, nl + 1, x->len - n - 1);
			x->len -= n + 1;
			return 0;
		}
		if (x->cap - x->len < 4096) {
			size_t cap = x->cap ? x->cap * 2 : 65536;
			char *b = realloc(x->buf, cap);

			if (!b)
				return -ENOMEM;
			x->buf = b;
			x->cap = cap;
		}
		ssize_t r = recv(x->fd, x->buf + x->len, x->cap - x->len, MSG_DONTWAIT);

		if (r > 0) {
			x->len += (size_t)r;
			continue;
		}
		if (r == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int rc = wait_fd(x->fd, POLLIN, deadline);

		if (rc)
			return rc;
	}
}

/*
 * One JSON-RPC call. params is stolen (may be NULL). EX_OK with *result,
 * EX_RPC or EX_CONN with the message printed on stderr (unless x->quiet).
 */
static int call(struct ctx *x, const char *method, json_t *params, json_t **result)
{
	bool quiet = x->quiet;

	int64_t deadline;
	json_t *req, *resp = NULL, *err, *rid;
	json_error_t jerr;
	char *s = NULL, *line = NULL;
	json_int_t id;
	int rc;

	*result = NULL;
	if (x->fd >= 0) {
		struct pollfd p = { .fd = x->fd, .events = POLLIN };

		/* Between requests the daemon has nothing to say unless it
		 * closed an idle session (control.idle_timeout_ms, one error
		 * line then EOF): reconnect instead of taking that line for the
		 * answer to this request. */
		if (poll(&p, 1, 0) > 0)
			conn_close(x);
	}
	rc = conn_open(x);
	if (rc) {
		json_decref(params);
		return rc;
	}
	id = ++x->next_id;
	req = json_pack("{s:s,s:s,s:o*,s:I}", "jsonrpc", "2.0", "method", method, "params",
	                params, "id", id);
	s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!s) {
		fprintf(stderr, "evrctl: out of memory\n");
		return EX_CONN;
	}
	size_t n = strlen(s);
	s[n] = '\n';
	deadline = x->timeout_ms < 0 ? -1 : now_ms() + x->timeout_ms;
	rc = send_all(x, s, n + 1, deadline);
	free(s);
	/* a refusal at accept (permission denied, too many clients) is one
	 * error line then close: our write may fail, the line is still there */
	if (!rc || rc == -EPIPE || rc == -ECONNRESET)
		rc = recv_line(x, &line, deadline);
	if (rc) {
		if (quiet)
			;
		else if (rc == -ETIMEDOUT)
			fprintf(stderr, "evrctl: no answer from %s within %.1fs\n", x->path,
			        x->timeout_ms / 1000.0);
		else if (rc == -EPIPE || rc == -ECONNRESET)
			fprintf(stderr, "evrctl: %s closed the connection\n", x->path);
		else
			fprintf(stderr, "evrctl: %s: %s\n", x->path, strerror(-rc));
		conn_close(x);
		return EX_CONN;
	}
	resp = json_loads(line, 0, &jerr);
	free(line);
	rid = json_object_get(resp, "id");
	if (!json_is_object(resp) ||
	    !(json_is_null(rid) || (json_is_integer(rid) && json_integer_value(rid) == id))) {
		if (!quiet)
			fprintf(stderr, "evrctl: %s: unexpected response\n", x->path);
		json_decref(resp);
		conn_close(x);
		return EX_CONN;
	}
	err = json_object_get(resp, "error");
	if (err) {
		json_t *data = json_object_get(err, "data");

		if (!quiet) {
			fprintf(stderr, "evrctl: error %" JSON_INTEGER_FORMAT ": %s",
			        json_integer_value(json_object_get(err, "code")),
			        json_string_value(json_object_get(err, "message"))
			            ? json_string_value(json_object_get(err, "message"))
			            : "(no message)");
			if (json_is_string(data))
				fprintf(stderr, " (%s)", json_string_value(data));
			fputc('\n', stderr);
		}
		json_decref(resp);
		return EX_RPC;
	}
	*result = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	if (!*result)
		*result = json_null();
	return EX_OK;
}

/* ---- argument helpers ----------------------------------------------------------------- */

/* --name VALUE or --name=VALUE at argv[*i]; advances *i past the value. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* ---- commands ---------------------------------------------------------------------------- */

static int cmd_subscribe(struct ctx *x, int argc, char **argv)
{
	const char *pos[2] = { 0 }, *v, *expire = NULL, *format = NULL;
	json_t *params, *filters = json_array(), *res;
	bool once = false, lenient = false;
	int npos = 0, r, rc;
	uint64_t e = 0;

	for (int i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--filter", &v)) != 0 ||
		    (r = opt_value(argc, argv, &i, "-f", &v)) != 0) {
			if (r < 0)
				goto needs;
			json_array_append_new(filters, json_string(v));
		} else if ((r = opt_value(argc, argv, &i, "--expire", &expire)) != 0 ||
		           (r = opt_value(argc, argv, &i, "--format", &format)) != 0) {
			if (r < 0)
				goto needs;
		} else if (!strcmp(argv[i], "--once")) {
			once = true;
		} else if (!strcmp(argv[i], "--lenient")) {
			lenient = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			json_decref(filters);
			return usage_err(argv[0], "unknown option '%s'", argv[i]);
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			json_decref(filters);
			return usage_err(argv[0], "unexpected argument '%s'", argv[i]);
		}
	}
	if (npos < 2) {
		json_decref(filters);
		return usage_err(argv[0], "missing %s", npos ? "SOCKET" : "EVENT");
	}
	if (expire && !parse_u64(expire, &e)) {
		json_decref(filters);
		return usage_err(argv[0], "--expire wants seconds, got '%s'", expire);
	}
	params = json_pack("{s:s,s:s}", "event", pos[0], "socket", pos[1]);
	if (expire)
		json_object_set_new(params, "expire", json_integer((json_int_t)e));
	if (json_array_size(filters))
		json_object_set(params, "filters", filters);
	json_decref(filters);
	if (format)
		json_object_set_new(params, "format", json_string(format));
	if (once)
		json_object_set_new(params, "once", json_true());
	if (lenient)
		json_object_set_new(params, "lenient", json_true());
	rc = call(x, "evr_subscribe", params, &res);
	if (rc)
		return rc;
	if (x->json) {
		print_json(res, true);
	} else if (json_object_get(res, "removed")) {
		printf("unsubscribed: id %" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(res, "id")));
	} else {
		printf("%s: id %" JSON_INTEGER_FORMAT ", expire %" JSON_INTEGER_FORMAT "s\n",
		       json_is_true(json_object_get(res, "refreshed")) ? "refreshed"
		                                                       : "subscribed",
		       json_integer_value(json_object_get(res, "id")),
		       json_integer_value(json_object_get(res, "expire")));
	}
	json_decref(res);
	return EX_OK;
needs: /* opt_value only fails on the last argument */
	json_decref(filters);
	return usage_err(argv[0], "%s needs a value", argv[argc - 1]);
}

static int cmd_unsubscribe(struct ctx *x, int argc, char **argv)
{
	json_t *params, *res;
	uint64_t id;
	int rc;

	if (argc == 2) {
		if (!parse_u64(argv[1], &id))
			return usage_err(argv[0], "'%s' is not a subscription id", argv[1]);
		params = json_pack("{s:I}", "id", (json_int_t)id);
	} else if (argc == 3) {
		params = json_pack("{s:s,s:s}", "event", argv[1], "socket", argv[2]);
	} else {
		return usage_err(argv[0], argc < 2 ? "missing ID or EVENT SOCKET"
		                                   : "too many arguments");
	}
	rc = call(x, "evr_unsubscribe", params, &res);
	if (rc)
		return rc;
	if (x->json)
		print_json(res, true);
	else
		printf("removed %" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(res, "removed")));
	json_decref(res);
	return EX_OK;
}

static void subscriber_row(struct table *t, json_t *s)
{
	char id[24], ttl[24], expire[24], flags[48], limiter[72], *filters;
	json_t *lim = json_object_get(s, "limiter");
	json_t *f;
	size_t i, len = 1;

	snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(s, "id")));
	if (json_is_integer(json_object_get(s, "ttl"))) {
		snprintf(ttl, sizeof(ttl), "%" JSON_INTEGER_FORMAT "s",
		         json_integer_value(json_object_get(s, "ttl")));
		snprintf(expire, sizeof(expire), "%" JSON_INTEGER_FORMAT "s",
		         json_integer_value(json_object_get(s, "expire")));
	} else { /* static subscription */
		strcpy(ttl, "never");
		strcpy(expire, "never");
	}
	bool once = json_is_true(json_object_get(s, "once"));
	bool len_ = json_is_true(json_object_get(s, "lenient"));
	bool refused = json_is_string(json_object_get(s, "refused"));
	snprintf(flags, sizeof(flags), "%s%s%s%s%s", once ? "once" : "",
	         once && len_ ? "," : "", len_ ? "lenient" : "",
	         refused && (once || len_) ? "," : "", refused ? "refused" : "");
	if (!flags[0])
		strcpy(flags, "-");
	/* the destination's limiter figures: sent/rate-limited/bytes-limited */
	if (json_is_object(lim))
		snprintf(limiter, sizeof(limiter), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
		         "/%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(lim, "sent")),
		         json_integer_value(json_object_get(lim, "rate_limited")),
		         json_integer_value(json_object_get(lim, "bytes_limited")));
	else
		strcpy(limiter, "-");
	json_array_foreach(json_object_get(s, "filters"), i, f)
		len += strlen(json_string_value(f) ? json_string_value(f) : "") + 4;
	filters = calloc(1, len);
	if (filters) {
		/* one column: filters with a space or comma are quoted */
		json_array_foreach(json_object_get(s, "filters"), i, f) {
			const char *ft = json_string_value(f) ? json_string_value(f) : "";
			bool q = strpbrk(ft, " ,") != NULL;

			if (i)
				strcat(filters, ",");
			strcat(filters, q ? "'" : "");
			strcat(filters, ft);
			strcat(filters, q ? "'" : "");
		}
	}
	const char *cols[] = {
		id, json_string_value(json_object_get(s, "event")),
		json_string_value(json_object_get(s, "socket")),
		json_string_value(json_object_get(s, "format")), ttl, expire, flags, limiter,
		filters && filters[0] ? filters : "-",
	};
	table_row(t, cols);
	free(filters);
}

/*
 * Call a paged list method (subscribers_list, events_list: "after" cursor,
 * "limit", reply {key: [..], "next": cursor|null}) and append the entries
 * under key to acc; with all, follow "next" until it is null. params is
 * taken; its "after" is replaced page by page. *next gets the last reply's
 * cursor (a new reference; JSON null at the end).
 */
static int fetch_pages(struct ctx *x, const char *method, json_t *params, const char *key,
                       bool all, json_t *acc, json_t **next)
{
	json_t *res = NULL, *n;
	int rc;

	*next = NULL;
	for (;;) {
		rc = call(x, method, json_incref(params), &res);
		if (rc)
			break;
		json_array_extend(acc, json_object_get(res, key));
		n = json_object_get(res, "next");
		*next = json_incref(n ? n : json_null());
		json_decref(res);
		if (!all || json_is_null(*next))
			break;
		json_object_set(params, "after", *next);
		json_decref(*next);
		*next = NULL;
	}
	json_decref(params);
	return rc;
}

static int cmd_subscribers(struct ctx *x, int argc, char **argv)
{
	/* LIMITER: the destination's sent/rate-limited/bytes-limited figures */
	static const char *const head[] = { "ID",  "EVENT",  "SOCKET", "FORMAT", "TTL",
		                            "EXPIRE", "FLAGS", "LIMITER", "FILTERS" };
	const char *event = NULL, *limit_s = NULL, *after_s = NULL;
	uint64_t limit = 0, after = 0;
	bool all = false;
	json_t *acc = json_array(), *next = NULL;
	int r, rc = EX_OK;

	for (int i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--event", &event)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--limit", &limit_s)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--after", &after_s)) != 0) {
			if (r < 0) {
				json_decref(acc);
				return usage_err(argv[0], "%s needs a value", argv[i]);
			}
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else {
			json_decref(acc);
			return usage_err(argv[0], "unexpected argument '%s'", argv[i]);
		}
	}
	if ((limit_s && (!parse_u64(limit_s, &limit) || !limit)) ||
	    (after_s && !parse_u64(after_s, &after))) {
		json_decref(acc);
		return usage_err(argv[0], "--limit and --after want positive numbers");
	}
	json_t *params = json_pack("{s:I}", "after", (json_int_t)after);

	if (limit)
		json_object_set_new(params, "limit", json_integer((json_int_t)limit));
	if (event)
		json_object_set_new(params, "event", json_string(event));
	rc = fetch_pages(x, "evr_subscribers_list", params, "subscribers", all, acc, &next);
	if (rc)
		goto out;
	if (x->json) {
		json_t *o = json_pack("{s:O,s:O?}", "subscribers", acc, "next", next);

		print_json(o, true);
		json_decref(o);
	} else {
		struct table t = { .ncols = 9 };
		size_t i;
		json_t *s;

		if (json_array_size(acc)) {
			table_row(&t, head);
			json_array_foreach(acc, i, s)
				subscriber_row(&t, s);
			table_print(&t);
		} else {
			printf("no subscriptions\n");
		}
		if (json_is_integer(next))
			fprintf(stderr, "(more: evrctl subscribers --after %" JSON_INTEGER_FORMAT
			                " or --all)\n", json_integer_value(next));
	}
out:
	json_decref(next);
	json_decref(acc);
	return rc;
}

/* All events by default (following the cursor, so no reply has to hold
 * them all); --limit/--after ask for one page. */
static int cmd_events(struct ctx *x, int argc, char **argv)
{
	const char *limit_s = NULL, *after = NULL;
	uint64_t limit = 0;
	json_t *acc = json_array(), *next = NULL, *params, *res, *e;
	size_t i;
	int r, rc;

	for (int k = 1; k < argc; k++) {
		if ((r = opt_value(argc, argv, &k, "--limit", &limit_s)) != 0 ||
		    (r = opt_value(argc, argv, &k, "--after", &after)) != 0) {
			if (r < 0) {
				json_decref(acc);
				return usage_err(argv[0], "%s needs a value", argv[k]);
			}
		} else {
			json_decref(acc);
			return usage_err(argv[0], "unexpected argument '%s'", argv[k]);
		}
	}
	if (limit_s && (!parse_u64(limit_s, &limit) || !limit)) {
		json_decref(acc);
		return usage_err(argv[0], "--limit wants a positive number");
	}
	params = json_object();
	if (limit)
		json_object_set_new(params, "limit", json_integer((json_int_t)limit));
	if (after)
		json_object_set_new(params, "after", json_string(after));
	rc = fetch_pages(x, "evr_events_list", params, "events", !limit && !after, acc, &next);
	if (rc) {
		json_decref(acc);
		json_decref(next);
		return rc;
	}
	res = json_pack("{s:o,s:o}", "events", acc, "next", next ? next : json_null());
	if (x->json) {
		print_json(res, true);
	} else if (!json_array_size(json_object_get(res, "events"))) {
		printf("no subscriptions\n");
	} else {
		struct table t = { .ncols = 2 };
		static const char *const head[] = { "EVENT", "SUBSCRIBERS" };

		table_row(&t, head);
		json_array_foreach(json_object_get(res, "events"), i, e) {
			char n[24];
			const char *row[] = { json_string_value(json_object_get(e, "event")), n };

			snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(json_object_get(e, "subscribers")));
			table_row(&t, row);
		}
		table_print(&t);
		if (json_is_string(json_object_get(res, "next")))
			fprintf(stderr, "(more: evrctl events --after '%s')\n",
			        json_string_value(json_object_get(res, "next")));
	}
	json_decref(res);
	return EX_OK;
}

static int cmd_raise(struct ctx *x, int argc, char **argv)
{
	json_t *attrs, *res;
	int rc;

	if (argc < 2)
		return usage_err(argv[0], "missing EVENT");
	attrs = json_object();
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			json_decref(attrs);
			return usage_err(argv[0], "'%s' is not key=value", argv[i]);
		}
		char *k = strndup(argv[i], (size_t)(eq - argv[i]));
		json_object_set_new(attrs, k ? k : "", json_string(eq + 1));
		free(k);
	}
	rc = call(x, "evr_raise_event", json_pack("{s:s,s:o}", "event", argv[1], "params", attrs),
	          &res);
	if (rc)
		return rc;
	if (x->json) {
		print_json(res, true);
	} else {
		json_int_t f = json_integer_value(json_object_get(res, "failed"));

		printf("notified %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
		       " subscriber(s)", json_integer_value(json_object_get(res, "notified")),
		       json_integer_value(json_object_get(res, "matched")));
		if (f)
			printf(", %" JSON_INTEGER_FORMAT " failed", f);
		putchar('\n');
	}
	json_decref(res);
	return EX_OK;
}

/* Flatten nested objects into "a.b.c  value" rows. */
static void flatten(struct table *t, const char *prefix, json_t *v)
{
	char key[256], buf[64];
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
			flatten(t, key, e);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
			flatten(t, key, e);
		}
	} else {
		const char *row[] = { prefix, scalar(v, buf, sizeof(buf)) };
		table_row(t, row);
	}
}

static int cmd_stats(struct ctx *x, int argc, char **argv)
{
	json_t *res;
	int rc;

	if (argc > 1)
		return usage_err(argv[0], "unexpected argument '%s'", argv[1]);
	rc = call(x, "evr_stats", NULL, &res);
	if (rc)
		return rc;
	if (x->json) {
		print_json(res, true);
	} else {
		struct table t = { .ncols = 2 };

		flatten(&t, "", res);
		table_print(&t);
	}
	json_decref(res);
	return EX_OK;
}

/* The effective configuration: "setting = value" rows (the paths a config
 * file uses), or one setting/group; --json prints the daemon's JSON. */
static int cmd_config(struct ctx *x, int argc, char **argv)
{
	json_t *params = NULL, *res, *v;
	int rc;

	if (argc > 2)
		return usage_err(argv[0], "unexpected argument '%s'", argv[2]);
	if (argc == 2)
		params = json_pack("{s:s}", "setting", argv[1]);
	rc = call(x, "evr_config_get", params, &res); /* takes params */
	if (rc)
		return rc;
	v = argc == 2 ? json_object_get(res, "value") : json_object_get(res, "config");
	if (x->json) {
		print_json(v, true);
	} else if (json_is_object(v) || json_is_array(v)) {
		struct table t = { .ncols = 2 };

		flatten(&t, argc == 2 ? argv[1] : "", v);
		table_print(&t);
	} else {
		char buf[64];

		printf("%s\n", scalar(v, buf, sizeof(buf)));
	}
	json_decref(res);
	return EX_OK;
}

static int cmd_version(struct ctx *x, int argc, char **argv)
{
	json_t *res;
	int rc;

	if (argc > 1)
		return usage_err(argv[0], "unexpected argument '%s'", argv[1]);
	rc = call(x, "evr_version", NULL, &res);
	if (rc)
		return rc;
	if (x->json)
		print_json(res, true);
	else
		printf("%s %s (evrctl %s)\n", json_string_value(json_object_get(res, "name")),
		       json_string_value(json_object_get(res, "version")), EVR_VERSION);
	json_decref(res);
	return EX_OK;
}

/* "a,b,c" of a JSON array of strings (or of [name, value] pairs: "n=v"). */
static void join_strings(const json_t *a, char *out, size_t cap)
{
	size_t i, l = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(a, i, v) {
		int n = json_is_array(v)
		        ? snprintf(out + l, cap - l, "%s%s=%s", i ? "," : "",
		                   json_string_value(json_array_get(v, 0)),
		                   json_string_value(json_array_get(v, 1)))
		        : snprintf(out + l, cap - l, "%s%s", i ? "," : "", json_string_value(v));

		if (n < 0 || (size_t)n >= cap - l)
			break;
		l += (size_t)n;
	}
}

static int cmd_esl(struct ctx *x, int argc, char **argv)
{
	static const char *const head[] = { "ID", "PEER", "FORMAT", "EVENTS", "FILTERS",
		                            "QUEUED", "SENT", "LOST" };
	json_t *res, *c;
	size_t i;
	int rc;

	if (argc > 1)
		return usage_err(argv[0], "unexpected argument '%s'", argv[1]);
	if ((rc = call(x, "evr_esl_list", NULL, &res)))
		return rc;
	if (x->json) {
		print_json(res, true);
	} else if (!json_array_size(json_object_get(res, "clients"))) {
		printf(*json_string_value(json_object_get(res, "listen"))
		       ? "no ESL clients\n" : "ESL is off (esl.listen)\n");
	} else {
		struct table t = { .ncols = 8 };

		table_row(&t, head);
		json_array_foreach(json_object_get(res, "clients"), i, c) {
			char id[24], ev[512], sub[256], fl[512], q[24], s[24], l[24];
			const char *row[] = { id, json_string_value(json_object_get(c, "peer")),
				              json_string_value(json_object_get(c, "format")),
				              ev, fl, q, s, l };

			snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(json_object_get(c, "id")));
			if (json_is_true(json_object_get(c, "all")))
				snprintf(ev, sizeof(ev), "ALL");
			else
				join_strings(json_object_get(c, "events"), ev, sizeof(ev));
			join_strings(json_object_get(c, "subclasses"), sub, sizeof(sub));
			if (sub[0]) {
				size_t el = strlen(ev);

				snprintf(ev + el, sizeof(ev) - el, " (%s)", sub);
			}
			if (!json_is_true(json_object_get(c, "authed")))
				snprintf(ev, sizeof(ev), "(not authenticated)");
			join_strings(json_object_get(c, "filters"), fl, sizeof(fl));
			snprintf(q, sizeof(q), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(json_object_get(c, "queued")));
			snprintf(s, sizeof(s), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(json_object_get(c, "sent")));
			snprintf(l, sizeof(l), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(json_object_get(c, "lost")));
			table_row(&t, row);
		}
		table_print(&t);
	}
	json_decref(res);
	return EX_OK;
}

/* config-set NAME VALUE: VALUE as JSON when it parses (true, 100,
 * ["10.0.0.0/8"]), else as a string (/run/evrd/notify). */
static int cmd_config_set(struct ctx *x, int argc, char **argv)
{
	json_t *v, *res, *refused;
	int rc;

	if (argc != 3)
		return usage_err(argv[0], "wants SETTING VALUE (evrctl config shows them)");
	v = json_loads(argv[2], JSON_DECODE_ANY, NULL);
	if (!v)
		v = json_string(argv[2]);
	rc = call(x, "evr_config_set", json_pack("{s:s,s:o}", "setting", argv[1], "value", v),
	          &res);
	if (rc)
		return rc;
	refused = json_object_get(res, "refused_subscriptions");
	if (x->json) {
		print_json(res, true);
	} else {
		char *val = json_dumps(json_object_get(res, "value"), JSON_ENCODE_ANY | JSON_COMPACT);

		printf("%s = %s\n", argv[1], val ? val : "?");
		free(val);
		if (json_integer_value(refused) > 0)
			printf("%" JSON_INTEGER_FORMAT " live subscription(s) now outside the "
			       "destination policy, kept (evrctl subscribers: FLAGS refused)\n",
			       json_integer_value(refused));
	}
	json_decref(res);
	return EX_OK;
}

static int cmd_esl_kill(struct ctx *x, int argc, char **argv)
{
	uint64_t id;
	json_t *res;
	int rc;

	if (argc != 2 || !parse_u64(argv[1], &id))
		return usage_err(argv[0], "wants one client ID (evrctl esl)");
	rc = call(x, "evr_esl_kill", json_pack("{s:I}", "id", (json_int_t)id), &res);
	if (rc)
		return rc;
	if (x->json)
		print_json(res, true);
	else
		printf("ESL client %llu disconnected\n", (unsigned long long)id);
	json_decref(res);
	return EX_OK;
}

static int cmd_call(struct ctx *x, int argc, char **argv)
{
	json_t *params = NULL, *res;
	json_error_t jerr;
	int rc;

	if (argc < 2)
		return usage_err(argv[0], "missing METHOD");
	if (argc > 3)
		return usage_err(argv[0], "params must be one JSON argument (quote it)");
	if (argc == 3) {
		params = json_loads(argv[2], JSON_DECODE_ANY, &jerr);
		if (!params)
			return usage_err(argv[0], "params are not JSON: %s", jerr.text);
		if (!json_is_object(params) && !json_is_array(params)) {
			json_decref(params);
			return usage_err(argv[0], "params must be a JSON object or array");
		}
	}
	rc = call(x, argv[1], params, &res);
	if (rc)
		return rc;
	print_json(res, x->json);
	json_decref(res);
	return EX_OK;
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: evrctl [-s SOCKET] [--json] [--timeout SECONDS] COMMAND [ARGS...]\n"
	           "\n"
	           "Commands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %s %s\n      %s\n", c->name, c->args, c->help);
	fprintf(f, "\n"
	           "Options:\n"
	           "  -s, --socket PATH     control socket (default $EVR_SOCKET, else "
	           DEFAULT_SOCKET ")\n"
	           "  -j, --json            print raw JSON results (for scripts)\n"
	           "  -t, --timeout SECS    connect/answer timeout, 0 = none (default 5)\n"
	           "  -h, --help            this help, without asking the daemon\n"
	           "\n"
	           "Exit status: 0 ok, 1 error from the daemon, 2 usage error,\n"
	           "3 cannot connect or no answer.\n"
	           "Without a COMMAND on a terminal, evrctl reads commands interactively.\n");
}

static void print_methods_table(json_t *methods)
{
	struct table t = { .ncols = 4 };
	static const char *const head[] = { "METHOD", "ACCESS", "PARAMS", "SUMMARY" };
	json_t *m;
	size_t i;

	table_row(&t, head);
	json_array_foreach(methods, i, m) {
		const char *acc = json_string_value(json_object_get(m, "access"));
		const char *row[] = { json_string_value(json_object_get(m, "name")),
			              acc ? acc : "",
			              json_string_value(json_object_get(m, "params")),
			              json_string_value(json_object_get(m, "summary")) };
		table_row(&t, row);
	}
	table_print(&t);
}

/* A markdown table cell: '|' escaped. */
static void md_cell(const char *s)
{
	fputs("| ", stdout);
	for (; s && *s; s++) {
		if (*s == '|')
			putchar('\\');
		putchar(*s);
	}
	putchar(' ');
}

/* The compiled-in method table as the README shows it (generated: the
 * tests compare the README's copy with this output). */
static void print_methods_markdown(void)
{
	puts("| method | family | access | alias | params | summary |");
	puts("|---|---|---|---|---|---|");
#define X(id, fam, acc, name, alias, recipes, params, summary)                   \
	do {                                                                    \
		char nm[64];                                                    \
		snprintf(nm, sizeof(nm), "`%s`", name);                          \
		md_cell(nm);                                                    \
		md_cell(#fam[0] == 'M' ? "OpenSIPS MI" : "evrd");                \
		md_cell(#acc[0] == 'W' ? "write" : "read");                     \
		md_cell(alias ? alias : "");                                    \
		md_cell(params);                                                \
		md_cell(summary);                                               \
		puts("|");                                                      \
	} while (0);
	EVR_CONTROL_METHODS(X)
#undef X
}

static int cmd_help(struct ctx *x, int argc, char **argv)
{
	json_t *res = NULL, *methods;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
		print_methods_markdown();
		return EX_OK;
	}
	if (argc > 1) {
		const struct cmd *c = find_cmd(argv[1]);

		if (!c)
			return usage_err(argv[0], "no command '%s'", argv[1]);
		printf("usage: evrctl %s %s\n  %s\n", c->name, c->args, c->help);
		return EX_OK;
	}
	print_usage(stdout);
	/* Ask the daemon: it knows exactly which methods it serves. Quietly:
	 * being offline is not an error for help. */
	x->quiet = true;
	rc = call(x, "evr_list_methods", NULL, &res);
	x->quiet = false;
	printf("\nDaemon methods (evrctl call METHOD '{\"param\":...}'):\n");
	if (rc == EX_OK && json_is_array(json_object_get(res, "methods"))) {
		if (x->json)
			print_json(res, true);
		else
			print_methods_table(json_object_get(res, "methods"));
		json_decref(res);
		return EX_OK;
	}
	/* Offline: the compiled-in copy of the same table. */
	methods = json_array();
#define X(id, fam, acc, name, alias, recipes, params, summary)                   \
	json_array_append_new(methods, json_pack("{s:s,s:s,s:s,s:s}", "name", name, "params", \
	                                         params, "summary", summary, "access",   \
	                                         #acc[0] == 'W' ? "write" : "read"));
	EVR_CONTROL_METHODS(X)
#undef X
	print_methods_table(methods);
	printf("(%s not reachable: built-in list)\n", x->path);
	json_decref(methods);
	json_decref(res);
	return EX_OK;
}

static const struct cmd cmds[] = {
	{ "subscribe", "EVENT SOCKET [--filter k=v]... [--expire N] [--format F] [--once] [--lenient]",
	  "subscribe SOCKET (udp:host:port | unix:/path | nats:subject) to EVENT; --expire 0 removes",
	  cmd_subscribe },
	{ "unsubscribe", "ID | EVENT SOCKET",
	  "remove a subscription by id, or every one of EVENT for SOCKET", cmd_unsubscribe },
	{ "subscribers", "[--event E] [--limit N] [--after ID] [--all]",
	  "list subscriptions (one page; --all follows the cursors)", cmd_subscribers },
	{ "events", "[--limit N] [--after EVENT]",
	  "events with live subscriptions and their counts (all pages unless --limit/--after)",
	  cmd_events },
	{ "raise", "EVENT [key=value]...", "raise EVENT and notify its subscribers",
	  cmd_raise },
	{ "stats", "", "matcher, control and dataplane counters", cmd_stats },
	{ "config", "[SETTING]", "effective configuration, or one setting (sip.linger_ms, "
	  "ports[0])", cmd_config },
	{ "config-set", "SETTING VALUE", "change a runtime setting (destinations.allow, "
	  "allow_*, unix_dir, rate_*, burst_ms); VALUE as JSON or a string", cmd_config_set },
	{ "version", "", "daemon and evrctl versions", cmd_version },
	{ "esl", "", "FreeSWITCH event-socket clients: peer, format, events, filters, "
	  "queued, sent, lost", cmd_esl },
	{ "esl-kill", "ID", "disconnect an ESL client", cmd_esl_kill },
	{ "call", "METHOD [JSON-PARAMS]", "call any daemon method, print the JSON result",
	  cmd_call },
	{ "help", "[COMMAND]", "this help and the daemon's method list", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

static const struct cmd *find_cmd(const char *name)
{
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* Run argv[0..argc) as a command; a stray --json anywhere counts as global. */
static int run(struct ctx *x, int argc, char **argv)
{
	const struct cmd *c;
	bool json = x->json;
	int n = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || (i > 0 && !strcmp(argv[i], "-j")))
			x->json = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if (!argc)
		return usage_err(NULL, "missing COMMAND");
	c = find_cmd(argv[0]);
	if (!c)
		rc = usage_err(NULL, "unknown command '%s'", argv[0]);
	else
		rc = c->fn(x, argc, argv);
	fflush(stdout);
	x->json = json;
	return rc;
}

/* ---- interactive mode ------------------------------------------------------------------ */

/* Split a line shell-style ('..', "..", backslash). argc, or -1 if a quote
 * is left open. Words are written back into line. */
static int split_words(char *line, char **argv, int max)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\n')
			r++;
		if (!*r)
			return argc;
		if (argc == max)
			return argc;
		argv[argc++] = w;
		char q = 0;
		for (; *r; r++) {
			if (q) {
				if (*r == q)
					q = 0;
				else if (*r == '\\' && q == '"' && r[1])
					*w++ = *++r;
				else
					*w++ = *r;
			} else if (*r == '\'' || *r == '"') {
				q = *r;
			} else if (*r == '\\' && r[1]) {
				*w++ = *++r;
			} else if (*r == ' ' || *r == '\t' || *r == '\n') {
				break;
			} else {
				*w++ = *r;
			}
		}
		if (q)
			return -1;
		/* w <= r: words only shrink in place (quotes, escapes) */
		if (*r)
			r++;
		*w++ = '\0';
	}
}

#ifdef EVR_HAVE_LIBEDIT
/* Completion: CLI verbs for the first word, daemon methods (the one method
 * table) after "call". Generators keep their cursor between calls, as the
 * readline API wants. */
static const char *const method_names[] = {
#define X(id, fam, acc, name, alias, recipes, params, summary) name,
	EVR_CONTROL_METHODS(X)
#undef X
	NULL,
};

static char *complete_cmd(const char *text, int state)
{
	static const struct cmd *c;
	static size_t len;

	if (!state) {
		c = cmds;
		len = strlen(text);
	}
	for (; c->name; c++)
		if (!strncmp(c->name, text, len))
			return strdup((c++)->name);
	return NULL;
}

static char *complete_method(const char *text, int state)
{
	static const char *const *m;
	static size_t len;

	if (!state) {
		m = method_names;
		len = strlen(text);
	}
	for (; *m; m++)
		if (!strncmp(*m, text, len))
			return strdup(*m++);
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	const char *l = rl_line_buffer;

	(void)end;
	while (*l == ' ')
		l++;
	if (start == 0 || l == rl_line_buffer + start)
		return rl_completion_matches(text, complete_cmd);
	if (!strncmp(l, "call ", 5)) {
		const char *w = l + 5;

		while (*w == ' ')
			w++;
		if (w == rl_line_buffer + start)
			return rl_completion_matches(text, complete_method);
	}
	return NULL; /* arguments: default (file names, for unix: paths) */
}
#endif

static char *read_cmd_line(const char *prompt)
{
#ifdef EVR_HAVE_LIBEDIT
	char *l = readline(prompt);

	if (l && *l)
		add_history(l);
	return l;
#else
	char *l = NULL;
	size_t cap = 0;

	fputs(prompt, stdout);
	fflush(stdout);
	if (getline(&l, &cap, stdin) < 0) {
		free(l);
		return NULL;
	}
	return l;
#endif
}

static int interactive(struct ctx *x)
{
	char *argv[128];
	char *line;

	x->interactive = true;
#ifdef EVR_HAVE_LIBEDIT
	rl_readline_name = "evrctl";
	rl_attempted_completion_function = complete;
#endif
	printf("evrctl %s on %s; 'help' lists commands, 'quit' leaves\n", EVR_VERSION,
	       x->path);
	while ((line = read_cmd_line("evrctl> ")) != NULL) {
		int argc = split_words(line, argv, 128);

		if (argc < 0)
			fprintf(stderr, "evrctl: unbalanced quote\n");
		else if (argc > 0 && (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit"))) {
			free(line);
			break;
		} else if (argc > 0) {
			run(x, argc, argv);
		}
		free(line);
	}
	putchar('\n');
	return EX_OK;
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx x = { .fd = -1, .timeout_ms = DEFAULT_TIMEOUT_MS };
	const char *env = getenv("EVR_SOCKET");
	int o, rc;

	x.path = env && *env ? env : DEFAULT_SOCKET;
	/* '+': stop at the command, whose options are its own. */
	while ((o = getopt_long(argc, argv, "+s:jt:h", lopts, NULL)) != -1) {
		switch (o) {
		case 's':
			x.path = optarg;
			break;
		case 'j':
			x.json = true;
			break;
		case 't': {
			char *end;
			double s = strtod(optarg, &end);

			if (*end || end == optarg || s < 0 || s > 86400)
				return usage_err(NULL, "--timeout wants seconds (0..86400), got '%s'",
				                 optarg);
			x.timeout_ms = s == 0 ? -1 : (int)(s * 1000 + 0.5);
			if (s > 0 && x.timeout_ms == 0)
				x.timeout_ms = 1;
			break;
		}
		case 'h':
			print_usage(stdout);
			return EX_OK;
		default:
			fprintf(stderr, "try 'evrctl --help'\n");
			return EX_USAGE;
		}
	}
	if (optind == argc) {
		if (isatty(STDIN_FILENO))
			rc = interactive(&x);
		else
			rc = usage_err(NULL, "missing COMMAND");
	} else {
		rc = run(&x, argc - optind, argv + optind);
	}
	conn_close(&x);
	free(x.buf);
	return rc;
}
