/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSIPS MI datagram and FIFO transports over real sockets and FIFOs: a
 * control server (stream socket + MI) on a temporary directory, driven from
 * this (registered QSBR) thread. The clients speak exactly what
 * opensips-cli sends: json.dumps() of {"jsonrpc","id","method","params"}
 * (string id, ", " and ": " spacing), one per datagram from a UDP socket or
 * a bound unix datagram socket, and ":opensips_fifo_reply_<n>:{json}" into
 * the request FIFO with the reply FIFO mkfifo'd in the reply directory.
 * Every wait is bounded (pump until a condition, with a deadline).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "evr_control.h"
#include "evr_test.h"

static struct evr_matcher *M;
static struct evr_control *C;

/* The audit trail, as evrd would log it: counted by kind. */
static struct {
	unsigned lines, ok_lines, summaries, refusals;
	uint64_t suppressed;
	char last[512];
} audit_seen;

static void on_audit(void *ctx, const char *line)
{
	const char *x = strstr(line, "\u00d7");

	(void)ctx;
	audit_seen.lines++;
	{
		size_t n = strlen(line);

		if (n >= sizeof(audit_seen.last))
			n = sizeof(audit_seen.last) - 1;
		memcpy(audit_seen.last, line, n);
		audit_seen.last[n] = '\0';
	}
	if (strstr(line, "refused"))
		audit_seen.refusals++;
	if (x && strstr(line, "(suppressed)")) {
		audit_seen.summaries++;
		audit_seen.suppressed += strtoull(x + strlen("\u00d7"), NULL, 10);
	} else if (strstr(line, "evr_subscribe ok")) {
		audit_seen.ok_lines++;
	}
}

static const struct evr_control_hooks audit_hooks = { .audit = on_audit };
static char dir[64], sock_path[100], mi_sock[100], fifo_path[100], sink_path[100];
static struct sockaddr_in udp_to;
static unsigned next_id = 100;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One server turn; returns how long it took (the control thread must never
 * stall on an MI peer). */
static uint64_t pump(int ms)
{
	uint64_t t0 = now_ms();
	int r = evr_control_poll(C, ms);

	CHECK_MSG(r >= 0 || r == -EINTR, "evr_control_poll: %d", r);
	return now_ms() - t0;
}

static json_int_t stat_control(const char *name)
{
	int code = 0;
	char msg[128];
	json_t *r = NULL;

	CHECK_EQ_INT(evr_action_stats(C, NULL, &r, &code, msg, sizeof(msg)), 0);
	json_t *v = json_object_get(json_object_get(r, "control"), name);
	CHECK_MSG(json_is_integer(v), "control.%s missing from stats", name);
	json_int_t n = json_integer_value(v);
	json_decref(r);
	return n;
}

/* json.dumps({"jsonrpc": "2.0", "id": ID, "method": M, "params": P}). */
static int request_text(char *buf, size_t cap, unsigned id, const char *method,
                        const char *params)
{
	return snprintf(buf, cap,
	                "{\"jsonrpc\": \"2.0\", \"id\": \"%u\", \"method\": \"%s\", "
	                "\"params\": %s}",
	                id, method, params);
}

/* A reply must be a JSON-RPC 2.0 response echoing the string id. */
static json_t *check_reply(const char *text, unsigned id, const char *what)
{
	json_error_t e;
	char ids[16];
	json_t *r = text ? json_loads(text, 0, &e) : NULL;

	snprintf(ids, sizeof(ids), "%u", id);
	CHECK_MSG(r != NULL, "%s: no JSON reply (%s)", what, text ? text : "none");
	if (!r)
		return NULL;
	CHECK_MSG(json_is_string(json_object_get(r, "jsonrpc")) &&
	                  strcmp(json_string_value(json_object_get(r, "jsonrpc")), "2.0") == 0,
	          "%s: %s", what, text);
	CHECK_MSG(json_is_string(json_object_get(r, "id")) &&
	                  strcmp(json_string_value(json_object_get(r, "id")), ids) == 0,
	          "%s: id not echoed: %s", what, text);
	return r;
}

static json_t *result_of(json_t *r)
{
	return json_object_get(r, "result");
}

static int error_code(json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* ---- datagram client ------------------------------------------------------- */

/* Send text to the server and read one reply datagram, pumping meanwhile
 * (bounded: 2 s). Malloc'd text or NULL. */
static char *dgram_exchange(int fd, const struct sockaddr *to, socklen_t tolen,
                            const char *text, size_t n)
{
	static char buf[70000];
	uint64_t end = now_ms() + 2000;

	CHECK(sendto(fd, text, n, 0, to, tolen) == (ssize_t)n);
	while (now_ms() < end) {
		pump(10);
		ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (r >= 0) {
			buf[r] = '\0';
			return strdup(buf);
		}
	}
	return NULL;
}

static json_t *dgram_call(int fd, const struct sockaddr *to, socklen_t tolen,
                          const char *method, const char *params)
{
	char req[4096];
	unsigned id = next_id++;
	int n = request_text(req, sizeof(req), id, method, params);
	char *rep = dgram_exchange(fd, to, tolen, req, (size_t)n);
	json_t *r = check_reply(rep, id, method);

	free(rep);
	return r;
}

/* The same with explicit SCM_CREDENTIALS: root may send another uid's
 * (CAP_SETUID/CAP_SETGID), which is how a non-admin sender is tested here.
 * uid (uid_t)-1: our own, as the kernel attaches them. */
static json_t *dgram_call_as(int fd, const struct sockaddr *to, socklen_t tolen,
                             uid_t uid, gid_t gid, const char *method, const char *params)
{
	static char buf[70000];
	char req[4096];
	unsigned id = next_id++;
	int n = request_text(req, sizeof(req), id, method, params);
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { .iov_base = req, .iov_len = (size_t)n };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov,
		             .msg_iovlen = 1, .msg_control = ctl.b,
		             .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct ucred cr = { .pid = getpid(), .uid = uid, .gid = gid };
	uint64_t end = now_ms() + 2000;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(cr));
	memcpy(CMSG_DATA(cm), &cr, sizeof(cr));
	CHECK_MSG(sendmsg(fd, &mh, 0) == n, "sendmsg as uid %u: %s", (unsigned)uid,
	          strerror(errno));
	while (now_ms() < end) {
		pump(10);
		ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (r >= 0) {
			buf[r] = '\0';
			json_t *j = json_loads(buf, 0, NULL);
			CHECK_MSG(j != NULL, "%s as uid %u: %s", method, (unsigned)uid, buf);
			return j;
		}
	}
	CHECK_MSG(0, "%s as uid %u: no reply", method, (unsigned)uid);
	return NULL;
}

/* ---- FIFO client --------------------------------------------------------------- */

/* Write one request as opensips-cli does (open, write, close). */
static void fifo_write(const char *text, size_t n)
{
	int fd = open(fifo_path, O_WRONLY | O_NONBLOCK);

	CHECK_MSG(fd >= 0, "open %s: %s", fifo_path, strerror(errno));
	if (fd < 0)
		return;
	CHECK(write(fd, text, n) == (ssize_t)n);
	close(fd);
}

static void reply_fifo(char *path, size_t cap, unsigned n)
{
	snprintf(path, cap, "%s/opensips_fifo_reply_%u", dir, n);
	unlink(path);
	CHECK(mkfifo(path, 0666) == 0);
}

/* Read one reply line from a reply FIFO opened for reading (bounded). */
static char *fifo_read_reply(int rfd)
{
	char buf[65536];
	size_t len = 0;
	uint64_t end = now_ms() + 2000;

	while (now_ms() < end && len < sizeof(buf) - 1) {
		pump(10);
		ssize_t r = read(rfd, buf + len, sizeof(buf) - 1 - len);
		if (r > 0) {
			len += (size_t)r;
			if (buf[len - 1] == '\n')
				break;
		}
	}
	buf[len] = '\0';
	return len ? strdup(buf) : NULL;
}

static json_t *fifo_call(const char *method, const char *params)
{
	char path[128], req[4096];
	unsigned id = next_id++;
	int n = snprintf(req, sizeof(req), ":opensips_fifo_reply_%u:", id);

	reply_fifo(path, sizeof(path), id);
	n += request_text(req + n, sizeof(req) - (size_t)n, id, method, params);
	/* opensips-cli opens its reply FIFO only after writing the request. */
	fifo_write(req, (size_t)n);
	pump(0);
	int rfd = open(path, O_RDONLY | O_NONBLOCK);
	CHECK(rfd >= 0);
	char *rep = fifo_read_reply(rfd);
	close(rfd);
	unlink(path);
	CHECK_MSG(rep && rep[strlen(rep) - 1] == '\n', "%s: reply is not one line", method);
	json_t *r = check_reply(rep, id, method);
	free(rep);
	return r;
}

/* ---- the OpenSIPS MI method set over one transport ------------------------- */

typedef json_t *(*call_fn)(void *ctx, const char *method, const char *params);

struct dgram_ctx {
	int fd;
	const struct sockaddr *to;
	socklen_t tolen;
};

static json_t *call_dgram(void *ctx, const char *method, const char *params)
{
	struct dgram_ctx *d = ctx;

	return dgram_call(d->fd, d->to, d->tolen, method, params);
}

static json_t *call_fifo(void *ctx, const char *method, const char *params)
{
	(void)ctx;
	return fifo_call(method, params);
}

/* events_list: {"Events":[{name,id}]} (OpenSIPS evi shape). */
static bool events_list_has(json_t *r, const char *event)
{
	json_t *evs = json_object_get(result_of(r), "Events"), *e;
	size_t i;

	json_array_foreach(evs, i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")), event) == 0)
			return true;
	return false;
}

static bool is_ok(json_t *r)
{
	json_t *v = result_of(r);

	return json_is_string(v) && strcmp(json_string_value(v), "OK") == 0;
}

/* The OpenSIPS MI commands an opensips-cli user runs (event_subscribe,
 * events_list, subscribers_list, raise_event, event_subscribe with expire
 * 0, event_unsubscribe), with the same results as over the stream socket. */
static void method_set(const char *what, call_fn call, void *ctx, int sink)
{
	char params[512], sub[400], event[64], sock[128];
	json_t *r;

	snprintf(event, sizeof(event), "E_MI_%s", what);
	snprintf(sock, sizeof(sock), "unix:%s", sink_path);
	snprintf(sub, sizeof(sub), "{\"event\": \"%s\", \"socket\": \"%s\"", event, sock);
	/* opensips-cli passes every value as a string */
	snprintf(params, sizeof(params), "%s, \"expire\": \"3600\"}", sub);
	r = call(ctx, "event_subscribe", params);
	CHECK_MSG(is_ok(r), "%s: event_subscribe: %d", what, error_code(r));
	json_decref(r);

	r = call(ctx, "events_list", "{}");
	CHECK_MSG(events_list_has(r, event), "%s: events_list lacks %s", what, event);
	json_decref(r);

	/* {"Event":{name,id,Subscriber:{socket,expire,..}}} */
	snprintf(params, sizeof(params), "%s}", sub);
	r = call(ctx, "subscribers_list", params);
	json_t *one = json_object_get(json_object_get(result_of(r), "Event"), "Subscriber");
	CHECK_MSG(json_is_string(json_object_get(one, "socket")) &&
	                  strcmp(json_string_value(json_object_get(one, "socket")), sock) == 0,
	          "%s: subscribers_list lacks %s", what, sock);
	json_decref(r);

	snprintf(params, sizeof(params), "{\"event\": \"%s\", \"params\": {\"k\": \"v\"}}",
	         event);
	r = call(ctx, "raise_event", params);
	CHECK_MSG(is_ok(r), "%s: raise_event: %d", what, error_code(r));
	json_decref(r);
	char got[4096];
	ssize_t gn = recv(sink, got, sizeof(got) - 1, MSG_DONTWAIT);
	CHECK_MSG(gn > 0, "%s: no notification at the sink", what);
	if (gn > 0) {
		got[gn] = '\0';
		CHECK_MSG(strstr(got, event) != NULL, "%s: notification %s", what, got);
	}

	/* expire 0 through event_subscribe removes it: nobody left to notify */
	snprintf(params, sizeof(params), "%s, \"expire\": \"0\"}", sub);
	r = call(ctx, "event_subscribe", params);
	CHECK_MSG(is_ok(r), "%s: expire 0: %d", what, error_code(r));
	json_decref(r);
	snprintf(params, sizeof(params), "{\"event\": \"%s\"}", event);
	r = call(ctx, "raise_event", params);
	CHECK_MSG(error_code(r) == 480, "%s: raise after expire 0: %d", what, error_code(r));
	json_decref(r);

	/* event_unsubscribe of a new subscription, then 404 for a repeat */
	snprintf(params, sizeof(params), "%s}", sub);
	json_decref(call(ctx, "event_subscribe", params));
	r = call(ctx, "event_unsubscribe", params);
	CHECK_MSG(json_integer_value(json_object_get(result_of(r), "removed")) == 1,
	          "%s: event_unsubscribe", what);
	json_decref(r);
	r = call(ctx, "event_unsubscribe", params);
	CHECK_MSG(error_code(r) == 404, "%s: second unsubscribe: %d", what, error_code(r));
	json_decref(r);

	r = call(ctx, "no_such_method", "{}");
	CHECK_MSG(error_code(r) == -32601, "%s: unknown method: %d", what, error_code(r));
	json_decref(r);
}

/* version: {"Server": "evrd (...)"} */
static bool is_version(json_t *r)
{
	json_t *v = json_object_get(result_of(r), "Server");

	return json_is_string(v) && strncmp(json_string_value(v), "evrd", 4) == 0;
}

/* ---- tests ------------------------------------------------------------------------ */

static int unix_dgram(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	CHECK(fd >= 0);
	if (path) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		unlink(path);
		CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	}
	return fd;
}

static void test_udp(int sink)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct dgram_ctx d = { fd, (struct sockaddr *)&udp_to, sizeof(udp_to) };
	json_int_t req0 = stat_control("mi_requests"), rep0 = stat_control("mi_replies");

	json_t *r = dgram_call(fd, d.to, d.tolen, "version", "{}");
	CHECK(is_version(r));
	json_decref(r);
	method_set("udp", call_dgram, &d, sink);
	CHECK(stat_control("mi_requests") - req0 == 11);
	CHECK(stat_control("mi_replies") - rep0 == 11);

	/* garbage: a parse error answer (id null), counted */
	json_int_t bad0 = stat_control("mi_bad");
	char *rep = dgram_exchange(fd, d.to, d.tolen, "not json", 8);
	json_t *e = rep ? json_loads(rep, 0, NULL) : NULL;
	CHECK_MSG(error_code(e) == -32700 && json_is_null(json_object_get(e, "id")),
	          "garbage: %s", rep ? rep : "no reply");
	json_decref(e);
	free(rep);
	CHECK(stat_control("mi_bad") == bad0 + 1);
	close(fd);
}

static void test_unix_dgram(int sink)
{
	char cli_path[100];
	struct sockaddr_un to = { .sun_family = AF_UNIX };

	snprintf(to.sun_path, sizeof(to.sun_path), "%s", mi_sock);
	snprintf(cli_path, sizeof(cli_path), "%s/cli.sock", dir);
	int fd = unix_dgram(cli_path);
	struct dgram_ctx d = { fd, (struct sockaddr *)&to, sizeof(to) };

	method_set("unix", call_dgram, &d, sink);

	/* over the 65457-byte datagram limit (MSG_TRUNC): -32600, counted */
	size_t big = 70000;
	char *p = malloc(big);
	int n = request_text(p, big, 7, "version", "{\"pad\": \"");
	memset(p + n, 'x', big - (size_t)n - 2);
	memcpy(p + big - 2, "\"}", 2);
	json_int_t bad0 = stat_control("mi_bad");
	char *rep = dgram_exchange(fd, d.to, d.tolen, p, big);
	json_t *e = rep ? json_loads(rep, 0, NULL) : NULL;
	CHECK_MSG(error_code(e) == -32600, "oversize: %s", rep ? rep : "no reply");
	json_decref(e);
	free(rep);
	free(p);
	CHECK(stat_control("mi_bad") == bad0 + 1);

	/* a result over the datagram limit is answered with a 503 error that
	 * carries the request's id, never split or truncated */
	char params[256];
	for (int i = 0; i < 600; i++) {
		snprintf(params, sizeof(params),
		         "{\"event\": \"E_MI_BULK\", \"socket\": \"unix:%s\", "
		         "\"filters\": [\"k%03d=some-long-enough-filter-value-*\"]}",
		         sink_path, i);
		json_decref(dgram_call(fd, d.to, d.tolen, "evr_subscribe", params));
	}
	json_t *r = dgram_call(fd, d.to, d.tolen, "evr_subscribers_list",
	                       "{\"limit\": \"1000\"}");
	CHECK_MSG(error_code(r) == 503, "oversize result: %d", error_code(r));
	json_decref(r);
	snprintf(params, sizeof(params), "{\"event\": \"E_MI_BULK\", \"socket\": \"unix:%s\"}",
	         sink_path);
	r = dgram_call(fd, d.to, d.tolen, "event_unsubscribe", params);
	CHECK(json_integer_value(json_object_get(result_of(r), "removed")) == 600);
	json_decref(r);
	close(fd);
	unlink(cli_path);

	/* an unbound sender: the request runs, the reply has nowhere to go */
	fd = unix_dgram(NULL);
	json_int_t fail0 = stat_control("mi_send_failed"), req0 = stat_control("requests");
	char req[256];
	n = request_text(req, sizeof(req), 8, "version", "{}");
	CHECK(sendto(fd, req, (size_t)n, 0, d.to, d.tolen) == n);
	for (int i = 0; i < 50 && stat_control("mi_send_failed") == fail0; i++)
		pump(10);
	CHECK(stat_control("mi_send_failed") == fail0 + 1);
	CHECK(stat_control("requests") == req0 + 1);
	close(fd);
}

/*
 * Roles over the unix datagram socket (issue 13): the server's roles are
 * admin uid 4001, read uid 4002; root is admin. A reader's version works
 * and its subscribe gets 403; a uid in no list is refused before anything
 * runs (403 permission denied, control.mi_refused_role, logged once).
 */
static void test_unix_dgram_roles(void)
{
	char cli_path[100], params[256];
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	json_t *r;

	if (geteuid() != 0) {
		printf("# test_unix_dgram_roles: skipped (sending another uid's "
		       "credentials needs root)\n");
		return;
	}
	snprintf(to.sun_path, sizeof(to.sun_path), "%s", mi_sock);
	snprintf(cli_path, sizeof(cli_path), "%s/roles.sock", dir);
	int fd = unix_dgram(cli_path);
	const struct sockaddr *t = (const struct sockaddr *)&to;
	json_int_t refused0 = stat_control("mi_refused_role"),
		   role0 = stat_control("refused_role");

	snprintf(params, sizeof(params), "{\"event\": \"E_MI_ROLES\", \"socket\": \"unix:%s\"}",
	         sink_path);
	r = dgram_call_as(fd, t, sizeof(to), 4002, 4002, "version", "{}");
	CHECK_MSG(is_version(r), "reader: version answered");
	json_decref(r);
	r = dgram_call_as(fd, t, sizeof(to), 4002, 4002, "evr_subscribe", params);
	CHECK_MSG(error_code(r) == 403, "reader: subscribe refused 403 (got %d)", error_code(r));
	json_decref(r);
	CHECK(stat_control("refused_role") == role0 + 1);
	r = dgram_call_as(fd, t, sizeof(to), 4003, 4003, "version", "{}");
	CHECK_MSG(error_code(r) == 403 &&
	                  strstr(json_string_value(json_object_get(json_object_get(r, "error"),
	                                                           "data")), "uid 4003"),
	          "no role: refused");
	json_decref(r);
	r = dgram_call_as(fd, t, sizeof(to), 4003, 4003, "evr_subscribe", params);
	CHECK(error_code(r) == 403);
	json_decref(r);
	CHECK(stat_control("mi_refused_role") == refused0 + 2);
	r = dgram_call_as(fd, t, sizeof(to), 4001, 4001, "evr_subscribe", params);
	CHECK_MSG(json_is_integer(json_object_get(result_of(r), "id")), "admin uid: subscribed");
	json_decref(r);
	r = dgram_call_as(fd, t, sizeof(to), 0, 0, "event_unsubscribe", params);
	CHECK(json_integer_value(json_object_get(result_of(r), "removed")) == 1);
	json_decref(r);
	close(fd);
	unlink(cli_path);
}

/* A free loopback port of type (bound, learnt, released). */
static unsigned free_port(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, type, 0);

	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	      getsockname(fd, (struct sockaddr *)&a, &l) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A second server with only the MI transports of mc; NULL on failure. */
static struct evr_control *second_server(const char *name, const struct evr_mi_conf *mc,
                                         char *err, size_t errlen, int *rc)
{
	struct evr_control_conf conf;
	char p2[128];
	struct evr_control *c2;

	snprintf(p2, sizeof(p2), "%s/%s.sock", dir, name);
	evr_control_conf_default(&conf);
	conf.socket_path = p2;
	c2 = evr_control_create(&conf, M, &audit_hooks, err, errlen);
	CHECK_MSG(c2 != NULL, "%s", err);
	if (!c2)
		return NULL;
	*rc = evr_control_mi_open(c2, mc, err, errlen);
	if (*rc) {
		evr_control_destroy(c2);
		return NULL;
	}
	return c2;
}

/*
 * MI over UDP has no peer identity: its senders get mi.datagram_udp_role,
 * "read" unless configured (lists work, subscribe answers 403), or "none"
 * (everything refused, counted mi_refused_role).
 */
static void test_udp_roles(void)
{
	char udp[64], err[256], params[256];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct evr_control *saved = C;
	int rc, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	json_t *r;

	snprintf(params, sizeof(params), "{\"event\": \"E_MI_UDP\", \"socket\": \"unix:%s\"}",
	         sink_path);
	for (int role = EVR_MI_UDP_READ; role <= EVR_MI_UDP_NONE; role += 2) {
		to.sin_port = htons((uint16_t)free_port(SOCK_DGRAM));
		snprintf(udp, sizeof(udp), "127.0.0.1:%u", ntohs(to.sin_port));
		struct evr_mi_conf mc = { .datagram_udp = udp, .udp_role = role };
		C = second_server("udp_role", &mc, err, sizeof(err), &rc);
		CHECK_MSG(C != NULL, "udp role %d: %s", role, err);
		if (!C)
			break;
		json_int_t refused0 = stat_control("mi_refused_role");
		if (role == EVR_MI_UDP_READ) {
			r = dgram_call(fd, (struct sockaddr *)&to, sizeof(to), "version", "{}");
			CHECK_MSG(is_version(r), "udp role read: version");
			json_decref(r);
			r = dgram_call(fd, (struct sockaddr *)&to, sizeof(to), "evr_subscribe",
			               params);
		} else {
			/* refused unread: the answer's id is null */
			char req[512], *rep;
			int n = request_text(req, sizeof(req), 1, "version", "{}");

			rep = dgram_exchange(fd, (struct sockaddr *)&to, sizeof(to), req, (size_t)n);
			r = rep ? json_loads(rep, 0, NULL) : NULL;
			CHECK_MSG(error_code(r) == 403, "udp role none: %s", rep ? rep : "no reply");
			json_decref(r);
			free(rep);
			n = request_text(req, sizeof(req), 2, "evr_subscribe", params);
			rep = dgram_exchange(fd, (struct sockaddr *)&to, sizeof(to), req, (size_t)n);
			r = rep ? json_loads(rep, 0, NULL) : NULL;
			free(rep);
		}
		CHECK_MSG(error_code(r) == 403, "udp role %d: subscribe refused (%d)", role,
		          error_code(r));
		if (role == EVR_MI_UDP_READ)
			CHECK(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
			                                               "message")), "mi-udp"));
		json_decref(r);
		CHECK(stat_control("mi_refused_role") - refused0 ==
		      (role == EVR_MI_UDP_NONE ? 2 : 0));
		evr_control_destroy(C);
	}
	C = saved;
	close(fd);
}

/* ---- HTTP ------------------------------------------------------------------------- */

/* One HTTP/1.0 exchange with the server C (pumped meanwhile): the status,
 * the whole response in resp. */
static int http_call(unsigned port, const char *method, const char *path, const char *token,
                     const char *body, char *resp, size_t cap)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	char req[2048], auth[256] = "";
	size_t len = 0, sent = 0;
	uint64_t end = now_ms() + 3000;
	int status = -1;

	if (token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                 method, path, auth, body ? strlen(body) : 0, body ? body : "");
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
	resp[0] = '\0';
	while (now_ms() < end) {
		pump(5);
		if (sent < (size_t)n) {
			ssize_t w = send(fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			continue;
		}
		ssize_t r = recv(fd, resp + len, cap - 1 - len, 0);
		if (r == 0)
			break;
		if (r > 0)
			len += (size_t)r;
	}
	resp[len] = '\0';
	close(fd);
	sscanf(resp, "HTTP/1.%*d %d", &status);
	return status;
}

static void write_token(const char *path, const char *tok, mode_t mode)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	CHECK(fd >= 0 && write(fd, tok, strlen(tok)) == (ssize_t)strlen(tok));
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

/*
 * HTTP roles by bearer token: none or a wrong one 401 with WWW-Authenticate
 * (counted, logged once per address), the read token reads (and scrapes
 * /metrics) but cannot subscribe, the admin token may; token files
 * readable by others, too short ones, and a non-loopback listener without
 * tokens are refused at open, naming the setting.
 */
static void test_http_tokens(void)
{
	static const char adm_tok[] = "admin-0123456789abcdef", rd_tok[] = "read-0123456789abcdef";
	char adm[128], rd[128], listen[64], err[256], resp[65536], body[512];
	struct evr_control *saved = C;
	unsigned port = free_port(SOCK_STREAM);
	int rc, st;

	snprintf(adm, sizeof(adm), "%s/admin.token", dir);
	snprintf(rd, sizeof(rd), "%s/read.token", dir);
	write_token(adm, "admin-0123456789abcdef\n", 0600);
	write_token(rd, rd_tok, 0640);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);

	/* refused at open */
	struct evr_mi_conf mc = { .http_listen = listen, .http_admin_token_file = adm };
	write_token(adm, "admin-0123456789abcdef\n", 0644);
	CHECK(second_server("http_bad", &mc, err, sizeof(err), &rc) == NULL && rc == -EINVAL);
	CHECK_MSG(strncmp(err, "mi.http.admin_token_file", 24) == 0 && strstr(err, "o-rwx"), "%s",
	          err);
	write_token(adm, "short", 0600);
	CHECK(second_server("http_bad", &mc, err, sizeof(err), &rc) == NULL && rc == -EINVAL);
	CHECK_MSG(strstr(err, "16..1024"), "%s", err);
	mc = (struct evr_mi_conf){ .http_listen = "0.0.0.0:1" };
	CHECK(second_server("http_bad", &mc, err, sizeof(err), &rc) == NULL && rc == -EPERM);
	CHECK_MSG(strncmp(err, "mi.http.listen", 14) == 0 && strstr(err, "loopback"), "%s", err);

	write_token(adm, "admin-0123456789abcdef\n", 0600);
	mc = (struct evr_mi_conf){ .http_listen = listen, .http_admin_token_file = adm,
		                   .http_read_token_file = rd };
	C = second_server("http", &mc, err, sizeof(err), &rc);
	CHECK_MSG(C != NULL, "http with tokens: %s", err);
	if (!C) {
		C = saved;
		return;
	}
	unsigned refusals0 = audit_seen.refusals;
	json_int_t refused0 = stat_control("http_refused_token");
	const char ver[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"version\"}";

	st = http_call(port, "POST", "/mi", NULL, ver, resp, sizeof(resp));
	CHECK_MSG(st == 401 && strstr(resp, "WWW-Authenticate: Bearer"), "no token: %d %s", st,
	          resp);
	st = http_call(port, "POST", "/mi", "wrong-0123456789abcdef", ver, resp, sizeof(resp));
	CHECK_MSG(st == 401 && strstr(resp, "invalid_token"), "wrong token: %d %s", st, resp);
	st = http_call(port, "GET", "/metrics", "admin-0123456789abcde", NULL, resp, sizeof(resp));
	CHECK_MSG(st == 401, "a prefix of the admin token: %d", st);
	CHECK(stat_control("http_refused_token") == refused0 + 3);
	CHECK_MSG(audit_seen.refusals == refusals0 + 1, "refusals logged once per address: %u",
	          audit_seen.refusals - refusals0);

	st = http_call(port, "POST", "/mi", rd_tok, ver, resp, sizeof(resp));
	CHECK_MSG(st == 200 && strstr(resp, "\"Server\""), "read token: version: %d %s", st,
	          resp);
	st = http_call(port, "GET", "/metrics", rd_tok, NULL, resp, sizeof(resp));
	CHECK_MSG(st == 200 && strstr(resp, "# TYPE"), "read token: /metrics: %d", st);
	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"evr_subscribe\","
	         "\"params\":{\"event\":\"E_HTTP\",\"socket\":\"unix:%s\"}}", sink_path);
	st = http_call(port, "POST", "/mi", rd_tok, body, resp, sizeof(resp));
	CHECK_MSG(st == 200 && strstr(resp, "\"code\":403"), "read token: subscribe 403: %s",
	          resp);
	st = http_call(port, "POST", "/mi", adm_tok, body, resp, sizeof(resp));
	CHECK_MSG(st == 200 && strstr(resp, "\"result\"") && strstr(resp, "\"id\":"),
	          "admin token: subscribe: %s", resp);
	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
	         "\"event_unsubscribe\",\"params\":{\"event\":\"E_HTTP\",\"socket\":"
	         "\"unix:%s\"}}", sink_path);
	st = http_call(port, "POST", "/mi", adm_tok, body, resp, sizeof(resp));
	CHECK_MSG(st == 200 && strstr(resp, "\"removed\":1"), "admin token: unsubscribe: %s",
	          resp);
	evr_control_destroy(C);
	C = saved;
}

/*
 * Audit bursts: 300 subscribes from one caller within a second or two
 * give at most AUDIT_BURST (10) lines a second plus one summary a second,
 * and lines + suppressed account for every one of them.
 */
static void test_audit_burst(void)
{
	char cli_path[100], params[256];
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	json_t *r;

	for (int i = 0; i < 110; i++) /* earlier tests' second summarised first */
		pump(10);
	unsigned ok0 = audit_seen.ok_lines, sum0 = audit_seen.summaries;
	uint64_t sup0 = audit_seen.suppressed, t0 = now_ms();

	snprintf(to.sun_path, sizeof(to.sun_path), "%s", mi_sock);
	snprintf(cli_path, sizeof(cli_path), "%s/audit.sock", dir);
	int fd = unix_dgram(cli_path);
	for (int i = 0; i < 300; i++) {
		snprintf(params, sizeof(params), "{\"event\": \"E_AUDIT_%d\", \"socket\": "
		         "\"unix:%s\"}", i, sink_path);
		r = dgram_call(fd, (struct sockaddr *)&to, sizeof(to), "evr_subscribe", params);
		json_decref(r);
	}
	uint64_t secs = (now_ms() - t0) / 1000u + 2;
	for (int i = 0; i < 150; i++) /* past the second: summaries written */
		pump(10);
	unsigned lines = audit_seen.ok_lines - ok0;
	uint64_t sup = audit_seen.suppressed - sup0;
	/* the aggregator's seconds are the wall clock's, not this loop's: the
	 * burst may touch one second more than its length says (CI saw 21
	 * lines for a sub-second burst); unaggregated it would be 300 */
	CHECK_MSG(lines <= 10 * (secs + 1), "audit: %u lines for 300 subscribes in %" PRIu64 " s",
	          lines, secs);
	CHECK_MSG(lines + sup == 300, "audit: %u lines + %" PRIu64 " suppressed != 300 (%s)",
	          lines, sup, audit_seen.last);
	CHECK(audit_seen.summaries - sum0 >= 1 && audit_seen.summaries - sum0 <= secs);
	CHECK(stat_control("audit_suppressed") >= (json_int_t)sup);
	r = dgram_call(fd, (struct sockaddr *)&to, sizeof(to), "evr_unsubscribe",
	               "{\"event\": \"E_AUDIT_0\", \"socket\": \"x\"}");
	json_decref(r);
	close(fd);
	unlink(cli_path);
}

/* ":name:" + a version request, written as opensips-cli does. */
static void fifo_version(const char *name, unsigned id)
{
	char req[512];
	int n = snprintf(req, sizeof(req), ":%s:", name);

	n += request_text(req + n, sizeof(req) - (size_t)n, id, "version", "{}");
	fifo_write(req, (size_t)n);
}

static void test_fifo(int sink)
{
	char path[128], req[512];
	int n;

	method_set("fifo", call_fifo, NULL, sink);

	/* two requests in one write, the second without a reply ("::") */
	json_int_t req0 = stat_control("mi_requests");
	reply_fifo(path, sizeof(path), 1);
	n = snprintf(req, sizeof(req), ":opensips_fifo_reply_1:");
	n += request_text(req + n, sizeof(req) - (size_t)n, 41, "version", "{}");
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\n::");
	n += request_text(req + n, sizeof(req) - (size_t)n, 42, "events_list", "{}");
	int rfd = open(path, O_RDONLY | O_NONBLOCK);
	fifo_write(req, (size_t)n);
	char *rep = fifo_read_reply(rfd);
	json_decref(check_reply(rep, 41, "first of two"));
	free(rep);
	close(rfd);
	unlink(path);
	CHECK(stat_control("mi_requests") == req0 + 2);

	/* a reply FIFO nobody opens: dropped after a bounded wait, and no
	 * server turn stalls meanwhile */
	json_int_t drop0 = stat_control("mi_fifo_dropped");
	reply_fifo(path, sizeof(path), 2);
	fifo_version("opensips_fifo_reply_2", 43);
	uint64_t worst = 0, end = now_ms() + 3000;
	while (stat_control("mi_fifo_dropped") == drop0 && now_ms() < end) {
		uint64_t t = pump(50);
		if (t > worst)
			worst = t;
	}
	CHECK(stat_control("mi_fifo_dropped") == drop0 + 1);
	CHECK_MSG(worst < 400, "a server turn took %llu ms", (unsigned long long)worst);
	unlink(path);

	/* a reply FIFO that does not exist: dropped at once */
	fifo_version("opensips_fifo_reply_3", 44);
	pump(10);
	CHECK(stat_control("mi_fifo_dropped") == drop0 + 2);

	/* a regular file where the reply FIFO should be: never written */
	snprintf(path, sizeof(path), "%s/opensips_fifo_reply_6", dir);
	int reg = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	close(reg);
	fifo_version("opensips_fifo_reply_6", 46);
	pump(10);
	CHECK(stat_control("mi_fifo_dropped") == drop0 + 3);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size == 0);
	unlink(path);

	/* a reply name leaving fifo_reply_dir, garbage: counted, dropped */
	json_int_t bad0 = stat_control("mi_bad");
	fifo_version("../etc/x", 45);
	pump(10);
	CHECK(stat_control("mi_bad") == bad0 + 1);
	fifo_write("garbage\n", 8);
	pump(10);
	CHECK(stat_control("mi_bad") == bad0 + 2);

	/* not JSON after a valid reply name: the parse error is the reply */
	reply_fifo(path, sizeof(path), 4);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	fifo_write(":opensips_fifo_reply_4:{nope}", 29);
	rep = fifo_read_reply(rfd);
	json_t *e = rep ? json_loads(rep, 0, NULL) : NULL;
	CHECK_MSG(error_code(e) == -32700, "fifo parse error: %s", rep ? rep : "none");
	json_decref(e);
	free(rep);
	close(rfd);
	unlink(path);
	CHECK(stat_control("mi_bad") == bad0 + 3);

	/* a writer that vanishes mid-request: the fragment is dropped when
	 * the last writer closes, and the next request is served whole */
	n = snprintf(req, sizeof(req), ":opensips_fifo_reply_5:{\"jsonrpc\": \"2.0\", \"me");
	fifo_write(req, (size_t)n);
	pump(10);
	CHECK(stat_control("mi_bad") == bad0 + 4);
	json_t *r = fifo_call("version", "{}");
	CHECK(is_version(r));
	json_decref(r);
}

/* The stream socket keeps working next to the MI transports. */
static void test_stream_alongside(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t len = 0;
	uint64_t end;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	const char line[] = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"version\"}\n";
	CHECK(write(fd, line, sizeof(line) - 1) == (ssize_t)(sizeof(line) - 1));
	end = now_ms() + 2000;
	while (now_ms() < end && !memchr(buf, '\n', len)) {
		pump(10);
		ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (r > 0)
			len += (size_t)r;
	}
	buf[len] = '\0';
	CHECK_MSG(strstr(buf, "\"result\"") && strstr(buf, "\"id\":5"), "stream: %s", buf);
	close(fd);
}

static void test_open_errors(void)
{
	struct evr_mi_conf mc = { .datagram_udp = "127.0.0.1:notaport" };
	char err[256];

	CHECK(evr_control_mi_open(C, &mc, err, sizeof(err)) == -EALREADY);
	/* a second server: the live socket / FIFO / port are refused, and the
	 * error names the setting */
	struct evr_control_conf conf;
	char p2[128];
	snprintf(p2, sizeof(p2), "%s/second.sock", dir);
	evr_control_conf_default(&conf);
	conf.socket_path = p2;
	struct evr_control *c2 = evr_control_create(&conf, M, NULL, err, sizeof(err));
	CHECK(c2 != NULL);
	if (!c2)
		return;
	CHECK(evr_control_mi_open(c2, &mc, err, sizeof(err)) == -EINVAL);
	CHECK_MSG(strncmp(err, "mi.datagram_udp", 15) == 0, "%s", err);
	char udp[64];
	snprintf(udp, sizeof(udp), "127.0.0.1:%u", ntohs(udp_to.sin_port));
	mc = (struct evr_mi_conf){ .datagram_udp = udp };
	CHECK(evr_control_mi_open(c2, &mc, err, sizeof(err)) == -EADDRINUSE);
	CHECK_MSG(strstr(err, "mi.datagram_udp") && strstr(err, "in use"), "%s", err);
	mc = (struct evr_mi_conf){ .datagram_socket = mi_sock };
	CHECK(evr_control_mi_open(c2, &mc, err, sizeof(err)) == -EADDRINUSE);
	CHECK_MSG(strncmp(err, "mi.datagram_socket", 18) == 0, "%s", err);
	mc = (struct evr_mi_conf){ .fifo = fifo_path, .fifo_reply_dir = dir };
	CHECK(evr_control_mi_open(c2, &mc, err, sizeof(err)) == -EADDRINUSE);
	CHECK_MSG(strncmp(err, "mi.fifo", 7) == 0, "%s", err);
	/* HTTP: a bad address, a port in use, both named */
	mc = (struct evr_mi_conf){ .http_listen = "localhost:8888" };
	CHECK(evr_control_mi_open(c2, &mc, err, sizeof(err)) == -EINVAL);
	CHECK_MSG(strncmp(err, "mi.http.listen", 14) == 0, "%s", err);
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in ta = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t tl = sizeof(ta);
	CHECK(tcp >= 0 && bind(tcp, (struct sockaddr *)&ta, sizeof(ta)) == 0 && listen(tcp, 1) == 0 &&
	      getsockname(tcp, (struct sockaddr *)&ta, &tl) == 0);
	char http[64];
	snprintf(http, sizeof(http), "127.0.0.1:%u", ntohs(ta.sin_port));
	mc = (struct evr_mi_conf){ .http_listen = http };
	CHECK(evr_control_mi_open(c2, &mc, err, sizeof(err)) == -EADDRINUSE);
	CHECK_MSG(strncmp(err, "mi.http.listen", 14) == 0 && strstr(err, "in use"), "%s", err);
	close(tcp);
	evr_control_destroy(c2);
	/* the first server's files survived the attempts */
	struct stat st;
	CHECK(stat(mi_sock, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK(stat(fifo_path, &st) == 0 && S_ISFIFO(st.st_mode));
}

int main(void)
{
	struct evr_matcher_conf mc;
	struct evr_control_conf conf;
	char err[256], udp[64];

	snprintf(dir, sizeof(dir), "/tmp/evr_mi_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/evrd.sock", dir);
	snprintf(mi_sock, sizeof(mi_sock), "%s/evrd_mi.sock", dir);
	snprintf(fifo_path, sizeof(fifo_path), "%s/evrd_fifo", dir);
	snprintf(sink_path, sizeof(sink_path), "%s/sink.sock", dir);

	/* A free loopback UDP port: bind port 0, learn it, release it. */
	int probe = socket(AF_INET, SOCK_DGRAM, 0);
	socklen_t sl = sizeof(udp_to);
	udp_to.sin_family = AF_INET;
	udp_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(probe, (struct sockaddr *)&udp_to, sizeof(udp_to)) == 0);
	CHECK(getsockname(probe, (struct sockaddr *)&udp_to, &sl) == 0);
	close(probe);
	snprintf(udp, sizeof(udp), "127.0.0.1:%u", ntohs(udp_to.sin_port));

	rcu_register_thread();
	evr_matcher_conf_default(&mc);
	M = evr_matcher_create(&mc);
	CHECK(M != NULL);
	evr_control_conf_default(&conf);
	conf.socket_path = sock_path;
	conf.request_timeout_ms = 1000;
	static const uint32_t admin_uid[] = { 4001 }, read_uid[] = { 4002 };
	static const struct evr_control_roles roles = { .admin_uid = admin_uid, .n_admin_uid = 1,
		                                        .read_uid = read_uid, .n_read_uid = 1 };
	conf.roles = &roles; /* root (this test) stays admin */
	C = evr_control_create(&conf, M, &audit_hooks, err, sizeof(err));
	CHECK_MSG(C != NULL, "create: %s", err);
	if (!C)
		EVR_TEST_DONE();
	struct evr_mi_conf mic = {
		.datagram_socket = mi_sock,
		.datagram_udp = udp,
		.fifo = fifo_path,
		.fifo_reply_dir = dir,
		.mode = 0660,
		.udp_role = EVR_MI_UDP_ADMIN, /* the method set below writes too */
	};
	int rc = evr_control_mi_open(C, &mic, err, sizeof(err));
	CHECK_MSG(rc == 0, "mi open: %s", err);
	if (rc)
		EVR_TEST_DONE();

	int sink = unix_dgram(sink_path);
	test_udp(sink);
	test_unix_dgram(sink);
	test_unix_dgram_roles();
	test_udp_roles();
	test_http_tokens();
	test_audit_burst();
	test_fifo(sink);
	test_stream_alongside();
	test_open_errors();
	close(sink);

	evr_control_destroy(C);
	struct stat st;
	CHECK(stat(mi_sock, &st) < 0 && errno == ENOENT);
	CHECK(stat(fifo_path, &st) < 0 && errno == ENOENT);
	evr_matcher_destroy(M);
	rcu_unregister_thread();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	EVR_TEST_DONE();
}
