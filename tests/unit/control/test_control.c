/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control server tests over real sockets: a server on a temporary unix
 * socket with a real matcher, driven from the same (registered QSBR) thread
 * by non-blocking clients whose I/O is interleaved with evr_control_poll.
 * evr_raise_event notifications are received on real AF_UNIX datagram and UDP
 * sockets bound by the test and parsed with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "evr_control.h"
#include "evr_metrics.h"
#include "evr_version.h"
#include "evr_test.h"

#define MAX_LINE 8192u
#define MAX_OUTPUT (64u * 1024u)

static struct evr_matcher *M;
static struct evr_control *C;
static char dir[64];
static char sock_path[128];

/* ---- client side ------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("realloc");
		abort();
	}
	return p;
}

struct cli {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
	int err; /* errno of a failed recv (ECONNRESET) */
};

static json_int_t next_id = 1;

static void pump_ms(struct evr_control *c, int ms)
{
	int r = evr_control_poll(c, ms);
	CHECK_MSG(r >= 0 || r == -EINTR, "evr_control_poll: %d", r);
}

static json_int_t stat_control(const char *name);

/* Turns until the control thread has counted the client count back to
 * CLIENTS. How many turns a close takes to be seen depends on how much
 * output was pending and how slow the build is (ASan on a loaded 2-core
 * CI machine needed more than five), so the bound is time, not turns. */
static void pump_until_clients(struct evr_control *c, json_int_t clients)
{
	for (uint64_t end = evr_now_ms() + 3000;
	     stat_control("clients") != clients && evr_now_ms() < end;)
		pump_ms(c, 2);
	CHECK_EQ_INT(stat_control("clients"), clients);
}

static void set_sun(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	CHECK(n < sizeof(sa->sun_path));
	if (n >= sizeof(sa->sun_path))
		n = sizeof(sa->sun_path) - 1;
	memcpy(sa->sun_path, path, n);
	sa->sun_path[n] = '\0';
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	set_sun(&sa, path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void cli_open_on(struct cli *k, struct evr_control *c, const char *path)
{
	memset(k, 0, sizeof(*k));
	k->fd = unix_connect(path);
	CHECK_MSG(k->fd >= 0, "connect %s: %s", path, strerror(-k->fd));
	pump_ms(c, 0); /* accept */
}

static void cli_open(struct cli *k)
{
	cli_open_on(k, C, sock_path);
}

static void cli_close(struct cli *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	free(k->buf);
	k->buf = NULL;
	k->len = k->cap = 0;
}

/* Send everything, pumping the server while the socket is full. false on
 * error (the server closed us). */
static bool cli_send_on(struct cli *k, struct evr_control *c, const char *p, size_t n)
{
	uint64_t deadline = evr_now_ms() + 5000;

	while (n) {
		ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno != EAGAIN)
				return false;
			if (evr_now_ms() > deadline)
				return false;
			pump_ms(c, 5);
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool cli_send(struct cli *k, const char *s)
{
	return cli_send_on(k, C, s, strlen(s));
}

/* Next response line (malloc'd) or NULL on EOF/timeout. */
static char *cli_line_on(struct cli *k, struct evr_control *c, int timeout_ms)
{
	uint64_t deadline = evr_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		char *nl = k->len ? memchr(k->buf, '\n', k->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - k->buf);
			char *line = strndup(k->buf, n);
			memmove(k->buf, nl + 1, k->len - n - 1);
			k->len -= n + 1;
			return line;
		}
		if (k->cap - k->len < 4096) {
			k->cap = k->cap ? k->cap * 2 : 65536;
			k->buf = xrealloc(k->buf, k->cap);
		}
		ssize_t r = recv(k->fd, k->buf + k->len, k->cap - k->len, MSG_DONTWAIT);
		if (r > 0) {
			k->len += (size_t)r;
			continue;
		}
		if (r == 0) {
			k->eof = true;
			return NULL;
		}
		if (errno != EAGAIN) {
			k->eof = true;
			k->err = errno;
			return NULL;
		}
		if (evr_now_ms() >= deadline)
			return NULL;
		pump_ms(c, 5);
	}
}

static char *cli_line(struct cli *k)
{
	return cli_line_on(k, C, 5000);
}

static json_t *parse(const char *line)
{
	json_error_t e;
	json_t *j = line ? json_loads(line, 0, &e) : NULL;
	CHECK_MSG(j != NULL, "response not JSON: %s", line ? line : "(none)");
	return j;
}

/* Send one raw line, return the parsed response line. */
static json_t *raw_on(struct cli *k, struct evr_control *c, const char *line)
{
	size_t n = strlen(line);
	char *s = xrealloc(NULL, n + 2);
	memcpy(s, line, n);
	s[n] = '\n';
	s[n + 1] = '\0';
	bool ok = cli_send_on(k, c, s, strlen(s));
	free(s);
	CHECK(ok);
	char *resp = cli_line_on(k, c, 5000);
	json_t *j = parse(resp);
	free(resp);
	return j;
}

static json_t *raw(struct cli *k, const char *line)
{
	return raw_on(k, C, line);
}

/* Call method with params given as JSON text (NULL: none). */
static json_t *call_on(struct cli *k, struct evr_control *c, const char *method,
                       const char *params)
{
	json_int_t id = next_id++;
	char *line;
	json_t *req = json_pack("{s:s,s:s,s:I}", "jsonrpc", "2.0", "method", method, "id", id);
	if (params) {
		json_error_t e;
		json_t *p = json_loads(params, JSON_DECODE_ANY, &e);
		CHECK_MSG(p != NULL, "bad test params %s: %s", params, e.text);
		json_object_set_new(req, "params", p);
	}
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	json_t *resp = raw_on(k, c, line);
	free(line);
	json_t *rid = json_object_get(resp, "id");
	CHECK_MSG(json_is_integer(rid) && json_integer_value(rid) == id,
	          "%s: response id mismatch", method);
	return resp;
}

static json_t *call(struct cli *k, const char *method, const char *params)
{
	return call_on(k, C, method, params);
}

static json_t *callf(struct cli *k, const char *method, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static json_t *callf(struct cli *k, const char *method, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return call(k, method, buf);
}

static json_t *res(json_t *r)
{
	return json_object_get(r, "result");
}

static int ecode(json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static const char *emsg(json_t *r)
{
	const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	return m ? m : "";
}

static json_int_t ival(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Subscribe and return the id (0 on failure, reported). */
static json_int_t subscribe(struct cli *k, const char *params)
{
	json_t *r = call(k, "evr_subscribe", params);
	json_int_t id = ival(res(r), "id");
	CHECK_MSG(id > 0, "subscribe %s: %d %s", params, ecode(r), emsg(r));
	json_decref(r);
	return id;
}

static json_int_t stat_control(const char *name)
{
	int code = 0;
	char msg[128];
	json_t *r = NULL;
	CHECK_EQ_INT(evr_action_stats(C, NULL, &r, &code, msg, sizeof(msg)), 0);
	json_int_t v = ival(json_object_get(r, "control"), name);
	json_decref(r);
	return v;
}

/* ---- datagram sinks ---------------------------------------------------------------- */

static int unix_sink(const char *name, char *path, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(path, cap, "%s/%s", dir, name);
	set_sun(&sa, path);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

/* One pending datagram (NUL-terminated, malloc'd) or NULL: delivery is
 * synchronous, so it is queued before the evr_raise_event response arrives. */
static char *sink_recv(int fd)
{
	static char buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}


/* ---- HEARTBEAT ----------------------------------------------------------------------- */

static void check_uptime(uint64_t us, const char *want)
{
	char b[200];

	CHECK_EQ_INT(evr_fs_uptime_text(b, sizeof(b), us), strlen(want));
	CHECK_EQ_STR(b, want);
}

/* Up-Time as switch_core_measure_time + send_heartbeat spell it: singular
 * for exactly 1, plural otherwise (0 too), 365-day years. */
static void test_uptime_text(void)
{
	const uint64_t S = 1000000, D = 86400 * S;
	char small[16];

	check_uptime(0, "0 years, 0 days, 0 hours, 0 minutes, 0 seconds, 0 milliseconds, "
	                "0 microseconds");
	check_uptime(62345678, "0 years, 0 days, 0 hours, 1 minute, 2 seconds, "
	                       "345 milliseconds, 678 microseconds");
	check_uptime(365 * D + D + 3600 * S + 60 * S + S + 1000 + 1,
	             "1 year, 1 day, 1 hour, 1 minute, 1 second, 1 millisecond, 1 microsecond");
	check_uptime(365 * D - 1, "0 years, 364 days, 23 hours, 59 minutes, 59 seconds, "
	                          "999 milliseconds, 999 microseconds");
	check_uptime(2 * 365 * D + 2 * D + 2 * 3600 * S,
	             "2 years, 2 days, 2 hours, 0 minutes, 0 seconds, 0 milliseconds, "
	             "0 microseconds");
	check_uptime(999, "0 years, 0 days, 0 hours, 0 minutes, 0 seconds, 0 milliseconds, "
	                  "999 microseconds");
	check_uptime(60 * S, "0 years, 0 days, 0 hours, 1 minute, 0 seconds, 0 milliseconds, "
	                     "0 microseconds");
	/* cut like snprintf, never past cap */
	CHECK_EQ_INT(evr_fs_uptime_text(small, sizeof(small), 0), 15);
	CHECK_EQ_STR(small, "0 years, 0 days");
}

static void test_heartbeat(void)
{
	char p_json[128], p_plain[128], p_rpc[128], params[512];
	int s_json = unix_sink("hb_json.sock", p_json, sizeof(p_json));
	int s_plain = unix_sink("hb_plain.sock", p_plain, sizeof(p_plain));
	int s_rpc = unix_sink("hb_rpc.sock", p_rpc, sizeof(p_rpc));
	struct evr_heartbeat_figures f = { .events_per_s = 12, .events_total = 345,
	                                   .drops_total = 6 };
	struct evr_raise_result rr;
	json_int_t beats = stat_control("heartbeats");
	json_int_t live;
	struct cli k;
	json_t *d, *r;
	char *dg;

	test_uptime_text();
	cli_open(&k);
	/* nobody subscribed: raised, nothing matched, nothing failed */
	CHECK_EQ_INT(evr_control_heartbeat(C, 1, 1704110400000000ull, &f, &rr), 0);
	CHECK_EQ_INT(rr.matched, 0);
	CHECK_EQ_INT(stat_control("heartbeats"), beats + 1);

	snprintf(params, sizeof(params),
	         "{\"event\":\"HEARTBEAT\",\"socket\":\"unix:%s\",\"format\":\"json\"}", p_json);
	subscribe(&k, params);
	snprintf(params, sizeof(params),
	         "{\"event\":\"HEARTBEAT\",\"socket\":\"unix:%s\",\"format\":\"plain\","
	         "\"filters\":[\"Event-Info=System Ready\"]}", p_plain);
	subscribe(&k, params);
	/* a filter the beat does not pass: matched like any event, so not sent */
	snprintf(params, sizeof(params),
	         "{\"event\":\"HEARTBEAT\",\"socket\":\"unix:%s\",\"filters\":[\"Event-Info=x\"]}",
	         p_rpc);
	subscribe(&k, params);
	r = call(&k, "evr_stats", NULL);
	live = ival(json_object_get(res(r), "matcher"), "live");
	json_decref(r);

	CHECK_EQ_INT(evr_control_heartbeat(C, 62345678, 1704110400123456ull, &f, &rr), 0);
	CHECK_EQ_INT(rr.matched, 2);
	CHECK_EQ_INT(rr.notified, 2);
	CHECK_EQ_INT(rr.failed, 0);
	CHECK_EQ_INT(stat_control("heartbeat_notified") >= 2, 1);

	dg = sink_recv(s_json);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "Event-Name"), "HEARTBEAT");
	CHECK_EQ_STR(sval(d, "Event-Info"), "System Ready");
	CHECK_EQ_STR(sval(d, "Up-Time"), "0 years, 0 days, 0 hours, 1 minute, 2 seconds, "
	                                 "345 milliseconds, 678 microseconds");
	CHECK_EQ_STR(sval(d, "Uptime-msec"), "62345");
	CHECK_EQ_STR(sval(d, "FreeSWITCH-Version"), EVR_VERSION);
	CHECK_EQ_STR(sval(d, "Event-Date-GMT"), "Mon, 01 Jan 2024 12:00:00 GMT");
	CHECK_EQ_STR(sval(d, "Event-Date-Timestamp"), "1704110400123456");
	CHECK_EQ_INT(strlen(sval(d, "Core-UUID")), 36);
	CHECK_EQ_STR(sval(d, "Event-Calling-File"), "evr_heartbeat.c");
	CHECK_EQ_STR(sval(d, "Event-Calling-Function"), "evr_control_heartbeat");
	CHECK_EQ_STR(sval(d, "Evr-Events-Per-Sec"), "12");
	CHECK_EQ_STR(sval(d, "Evr-Events-Total"), "345");
	CHECK_EQ_STR(sval(d, "Evr-Drops-Total"), "6");
	/* restart visibility: when this run started (unix seconds) */
	CHECK(sval(d, "Evr-Started") && llabs(atoll(sval(d, "Evr-Started")) - (long long)time(NULL)) < 120);
	/* earlier tests' subscriptions with an expiry may be reaped between
	 * the stats call and the beat (the reaper runs on its own clock), so
	 * the beat's figure lies between the counts taken around it */
	{
		json_t *r2 = call(&k, "evr_stats", NULL);
		json_int_t after = ival(json_object_get(res(r2), "matcher"), "live");
		long long hb = sval(d, "Evr-Live-Subscriptions") ?
		               atoll(sval(d, "Evr-Live-Subscriptions")) : -1;

		json_decref(r2);
		CHECK_MSG(hb <= live && hb >= after, "beat says %lld live, stats %lld then %lld",
		          hb, (long long)live, (long long)after);
	}
	CHECK(json_is_string(json_object_get(d, "Event-Sequence")));
	json_decref(d);
	free(dg);
	CHECK(sink_recv(s_json) == NULL); /* exactly one */

	/* plain: FreeSWITCH's header order, Event-Sequence from the encoder
	 * after the standard headers */
	dg = sink_recv(s_plain);
	CHECK(dg != NULL);
	if (dg) {
		static const char *const order[] = {
			"\nEvent-Name: HEARTBEAT\n", "\nCore-UUID: ", "\nFreeSWITCH-Hostname: ",
			"\nFreeSWITCH-Switchname: ", "\nFreeSWITCH-IPv4: ", "\nFreeSWITCH-IPv6: ",
			"\nEvent-Date-Local: ", "\nEvent-Date-GMT: Mon,%2001%20Jan%202024%2012%3A00%3A00%20GMT\n",
			"\nEvent-Date-Timestamp: 1704110400123456\n", "\nEvent-Calling-File: ",
			"\nEvent-Calling-Function: ", "\nEvent-Calling-Line-Number: ",
			"\nEvent-Sequence: ", /* where FreeSWITCH puts it */
			"\nEvent-Info: System%20Ready\n", "\nUp-Time: 0%20years,%200%20days,",
			"\nFreeSWITCH-Version: ", "\nUptime-msec: 62345\n", "\nEvr-Events-Per-Sec: 12\n",
			"\nEvr-Events-Total: 345\n", "\nEvr-Live-Subscriptions: ", "\nEvr-Drops-Total: 6\n",
		};
		const char *at = dg;
		for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			const char *p = strstr(at, order[i]);
			CHECK_MSG(p != NULL, "plain HEARTBEAT: '%s' missing or out of order", order[i]);
			if (p)
				at = p + 1;
		}
		free(dg);
	}
	CHECK(sink_recv(s_rpc) == NULL); /* its filter failed */

	/* raise_event: FreeSWITCH-vocabulary events get the standard headers
	 * (same Core-UUID as HEARTBEAT), OpenSIPS ones and events that bring
	 * their own do not */
	char uuid[40] = "";
	snprintf(params, sizeof(params),
	         "{\"event\":\"CHANNEL_CREATE\",\"socket\":\"unix:%s\",\"format\":\"json\"}", p_json);
	subscribe(&k, params);
	snprintf(params, sizeof(params), "{\"event\":\"E_STDH\",\"socket\":\"unix:%s\",\"format\":\"json\"}",
	         p_json);
	subscribe(&k, params);
	CHECK_EQ_INT(evr_control_heartbeat(C, 1, 1704110400000000ull, &f, &rr), 0);
	dg = sink_recv(s_json);
	d = parse(dg);
	snprintf(uuid, sizeof(uuid), "%s", sval(d, "Core-UUID"));
	CHECK_EQ_INT(strlen(uuid), 36);
	json_decref(d);
	free(dg);
	free(sink_recv(s_plain));
	r = call(&k, "evr_raise_event", "{\"event\":\"CHANNEL_CREATE\",\"params\":{\"Unique-ID\":\"u1\"}}");
	CHECK_EQ_INT(ival(res(r), "notified"), 1);
	json_decref(r);
	dg = sink_recv(s_json);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "Core-UUID"), uuid);
	CHECK_EQ_STR(sval(d, "Event-Calling-File"), "evr_actions.c");
	CHECK_EQ_INT(strlen(sval(d, "Event-Date-Local")), 19);
	CHECK_EQ_INT(strlen(sval(d, "Event-Date-GMT")), 29);
	CHECK_EQ_INT(strlen(sval(d, "Event-Date-Timestamp")), 16);
	CHECK_EQ_STR(sval(d, "FreeSWITCH-Hostname"), "evrd");
	/* order: standard headers first, then the caller's */
	{
		const char *k0 = NULL, *k1 = NULL;
		void *it = json_object_iter(d);
		if (it) {
			k0 = json_object_iter_key(it);
			it = json_object_iter_next(d, it);
			k1 = it ? json_object_iter_key(it) : NULL;
		}
		CHECK_EQ_STR(k0, "Event-Name");
		CHECK_EQ_STR(k1, "Core-UUID");
	}
	json_decref(d);
	free(dg);
	r = call(&k, "evr_raise_event",
	         "{\"event\":\"CHANNEL_CREATE\",\"params\":{\"Core-UUID\":\"theirs\"}}");
	json_decref(r);
	dg = sink_recv(s_json);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "Core-UUID"), "theirs");
	CHECK(!json_object_get(d, "Event-Date-GMT")); /* a relayed event keeps its own */
	json_decref(d);
	free(dg);
	r = call(&k, "evr_raise_event", "{\"event\":\"E_STDH\",\"params\":{\"aor\":\"a\"}}");
	json_decref(r);
	dg = sink_recv(s_json);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "aor"), "a");
	CHECK(!json_object_get(d, "Core-UUID")); /* OpenSIPS vocabulary: none */
	CHECK(!json_object_get(d, "Event-Date-Timestamp"));
	CHECK_EQ_INT(json_object_size(d), 3); /* Event-Name, aor, Event-Sequence */
	json_decref(d);
	free(dg);
	close(s_json);
	close(s_plain);
	close(s_rpc);
	cli_close(&k);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_create(void)
{
	struct evr_control_conf conf;
	char path[128], err[256];
	struct stat st;

	evr_control_conf_default(&conf);
	snprintf(path, sizeof(path), "%s/create.sock", dir);
	conf.socket_path = path;
	conf.socket_mode = 0640;

	/* a regular file is never replaced */
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	errno = 0;
	CHECK(evr_control_create(&conf, M, NULL, err, sizeof(err)) == NULL);
	CHECK_EQ_INT(errno, EEXIST);
	CHECK_MSG(strstr(err, "not a socket") != NULL, "%s", err);
	unlink(path);

	/* a stale socket (bound, nobody listening) is removed and replaced */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	set_sun(&sa, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	struct evr_control *a = evr_control_create(&conf, M, NULL, err, sizeof(err));
	CHECK_MSG(a != NULL, "stale socket: %s", err);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0640);

	/* a live one is refused */
	errno = 0;
	CHECK(evr_control_create(&conf, M, NULL, err, sizeof(err)) == NULL);
	CHECK_EQ_INT(errno, EADDRINUSE);
	CHECK_MSG(strstr(err, "another process") != NULL, "%s", err);
	pump_ms(a, 0); /* the probe connection comes and goes */
	evr_control_destroy(a);
	CHECK(stat(path, &st) < 0 && errno == ENOENT);

	/* bad configuration */
	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	conf.socket_path = longp;
	errno = 0;
	CHECK(evr_control_create(&conf, M, NULL, err, sizeof(err)) == NULL);
	CHECK_EQ_INT(errno, ENAMETOOLONG);
	conf.socket_path = path;
	conf.max_line = 10;
	errno = 0;
	CHECK(evr_control_create(&conf, M, NULL, err, sizeof(err)) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	CHECK_MSG(strstr(err, "max_line") != NULL, "%s", err);
}

static void test_subscribe(void)
{
	struct cli k;
	json_t *r;
	json_int_t id;

	cli_open(&k);
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"E_UL_AOR_INSERT\",\"socket\":\"udp:127.0.0.1:9000\","
	         "\"filters\":[\"aor=bob@*\"]}");
	id = ival(res(r), "id");
	CHECK(id > 0);
	CHECK_EQ_INT(ival(res(r), "expire"), 3600);
	CHECK(json_is_false(json_object_get(res(r), "refreshed")));
	json_decref(r);

	/* same event + socket + filters: refresh, same id, new expire */
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"e_ul_aor_insert\",\"socket\":\"udp:127.0.0.1:9000\","
	         "\"filters\":{\"AOR\":\"bob@*\"},\"expire\":120}");
	CHECK_EQ_INT(ival(res(r), "id"), id);
	CHECK_EQ_INT(ival(res(r), "expire"), 120);
	CHECK(json_is_true(json_object_get(res(r), "refreshed")));
	json_decref(r);

	/* invalid filter: -32602 naming the filter, from the matcher */
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"E_X\",\"socket\":\"udp:127.0.0.1:9000\",\"filters\":[\"aor=[bob\"]}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "filter 'aor=[bob'") && strstr(emsg(r), "unterminated"),
	          "%s", emsg(r));
	json_decref(r);

	/* invalid socket */
	r = call(&k, "evr_subscribe", "{\"event\":\"E_X\",\"socket\":\"tcp:1.2.3.4:5\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "tcp:1.2.3.4:5") != NULL, "%s", emsg(r));
	json_decref(r);
	r = call(&k, "evr_subscribe", "{\"event\":\"E_X\",\"socket\":\"udp:127.0.0.1:0\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);

	/* missing / unknown / mistyped parameters */
	r = call(&k, "evr_subscribe", "{\"event\":\"E_X\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_EQ_STR(emsg(r), "missing parameter 'socket'");
	json_decref(r);
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"E_X\",\"socket\":\"udp:127.0.0.1:9\",\"filter\":\"a=b\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_EQ_STR(emsg(r), "unknown parameter 'filter'");
	json_decref(r);
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"E_X\",\"socket\":\"udp:127.0.0.1:9\",\"expire\":-1}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "expire") != NULL, "%s", emsg(r));
	json_decref(r);
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"E_X\",\"socket\":\"udp:127.0.0.1:9\",\"format\":\"yaml\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "format 'yaml'") != NULL, "%s", emsg(r));
	json_decref(r);
	r = call(&k, "evr_subscribe",
	         "{\"event\":\"E_X\",\"socket\":\"udp:127.0.0.1:9\",\"once\":\"maybe\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);

	/* OpenSIPS MI positional form, strings as opensips-cli sends them */
	r = call(&k, "evr_subscribe", "[\"E_POS\",\"udp:127.0.0.1:9001\",\"60\"]");
	json_int_t pid = ival(res(r), "id");
	CHECK(pid > 0 && pid != id);
	CHECK_EQ_INT(ival(res(r), "expire"), 60);
	json_decref(r);
	r = call(&k, "evr_subscribe", "[\"E_POS\",\"udp:127.0.0.1:9001\",\"60\",\"x\"]");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);

	/* expire 0 unsubscribes; a second time there is nothing: 404 */
	r = call(&k, "evr_subscribe", "[\"E_POS\",\"udp:127.0.0.1:9001\",0]");
	CHECK_EQ_INT(ival(res(r), "id"), pid);
	CHECK_EQ_INT(ival(res(r), "removed"), 1);
	json_decref(r);
	r = call(&k, "evr_subscribe", "[\"E_POS\",\"udp:127.0.0.1:9001\",0]");
	CHECK_EQ_INT(ecode(r), 404);
	json_decref(r);

	/* unsubscribe by id */
	r = callf(&k, "event_unsubscribe", "{\"id\":%" JSON_INTEGER_FORMAT "}", id);
	CHECK_EQ_INT(ival(res(r), "removed"), 1);
	json_decref(r);
	r = callf(&k, "event_unsubscribe", "[%" JSON_INTEGER_FORMAT "]", id);
	CHECK_EQ_INT(ecode(r), 404);
	json_decref(r);
	r = call(&k, "event_unsubscribe", "{}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);
	cli_close(&k);
}

static void test_pagination(void)
{
	struct cli k;
	json_t *r, *seen = json_object();
	char line[MAX_LINE];
	json_int_t next = 0;
	int pages = 0, total = 0;

	cli_open(&k);
	/* 250 subscriptions, sent as 10 batches of 25 (one line each) */
	for (int b = 0; b < 10; b++) {
		size_t n = 0;
		line[n++] = '[';
		for (int i = 0; i < 25 && n < sizeof(line); i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			              "%s{\"jsonrpc\":\"2.0\",\"method\":\"evr_subscribe\",\"id\":%d,"
			              "\"params\":{\"event\":\"E_PAGE\",\"socket\":\"udp:127.0.0.1:9100\","
			              "\"filters\":[\"n=%d\"],\"expire\":600}}",
			              i ? "," : "", b * 25 + i, b * 25 + i);
		CHECK(n < sizeof(line) - 2);
		if (n >= sizeof(line) - 2)
			return;
		line[n++] = ']';
		line[n] = '\0';
		r = raw(&k, line);
		CHECK(json_is_array(r) && json_array_size(r) == 25);
		for (size_t i = 0; i < json_array_size(r); i++)
			CHECK(ival(res(json_array_get(r, i)), "id") > 0);
		json_decref(r);
	}
	/* a subscription of another event in the middle of the id space */
	json_int_t other = subscribe(&k, "{\"event\":\"E_OTHER\",\"socket\":\"udp:127.0.0.1:9100\"}");

	do {
		r = callf(&k, "evr_subscribers_list", "{\"event\":\"E_PAGE\",\"limit\":100,\"after\":%"
		          JSON_INTEGER_FORMAT "}", next);
		json_t *subs = json_object_get(res(r), "subscribers"), *s;
		size_t i;
		CHECK(json_is_array(subs));
		CHECK_EQ_INT(json_array_size(subs), pages < 2 ? 100 : 50);
		json_array_foreach(subs, i, s) {
			char key[32];
			json_int_t ttl = ival(s, "ttl"), created = ival(s, "created");
			snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT, ival(s, "id"));
			CHECK_MSG(!json_object_get(seen, key), "id %s listed twice", key);
			json_object_set_new(seen, key, json_true());
			CHECK(ival(s, "id") > next);
			CHECK_EQ_STR(sval(s, "event"), "E_PAGE");
			CHECK_EQ_STR(sval(s, "socket"), "udp:127.0.0.1:9100");
			CHECK_EQ_STR(sval(s, "format"), "jsonrpc");
			CHECK_EQ_INT(ival(s, "expire"), 600);
			CHECK_MSG(ttl >= 595 && ttl <= 600, "ttl %lld", (long long)ttl);
			CHECK_MSG(llabs((long long)(created - time(NULL))) <= 5, "created %lld",
			          (long long)created);
			CHECK(json_is_false(json_object_get(s, "once")));
			CHECK(json_array_size(json_object_get(s, "filters")) == 1);
			CHECK(!strncmp(json_string_value(json_array_get(json_object_get(s, "filters"), 0))
			                   ?: "", "n=", 2));
		}
		total += (int)json_array_size(subs);
		json_t *nx = json_object_get(res(r), "next");
		pages++;
		if (pages < 3)
			CHECK_EQ_INT(json_integer_value(nx),
			             ival(json_array_get(subs, json_array_size(subs) - 1), "id"));
		else
			CHECK(json_is_null(nx));
		next = json_is_integer(nx) ? json_integer_value(nx) : 0;
		json_decref(r);
	} while (next && pages < 5);
	CHECK_EQ_INT(pages, 3);
	CHECK_EQ_INT(total, 250);
	CHECK_EQ_INT(json_object_size(seen), 250);
	json_decref(seen);

	/* without the event filter the other subscription shows up too */
	r = call(&k, "evr_subscribers_list", "{\"limit\":1000}");
	CHECK_EQ_INT(json_array_size(json_object_get(res(r), "subscribers")), 251);
	json_decref(r);

	/* bounds */
	r = call(&k, "evr_subscribers_list", "{\"limit\":0}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "limit") != NULL, "%s", emsg(r));
	json_decref(r);
	r = call(&k, "evr_subscribers_list", "{\"limit\":1001}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);

	/* evr_events_list */
	r = call(&k, "evr_events_list", NULL);
	json_t *evs = json_object_get(res(r), "events"), *e;
	size_t i;
	int found = 0;
	json_array_foreach(evs, i, e) {
		if (!strcmp(sval(e, "event"), "E_PAGE")) {
			CHECK_EQ_INT(ival(e, "subscribers"), 250);
			found++;
		} else if (!strcmp(sval(e, "event"), "E_OTHER")) {
			CHECK_EQ_INT(ival(e, "subscribers"), 1);
			found++;
		}
	}
	CHECK_EQ_INT(found, 2);
	json_decref(r);

	/* unsubscribe by event + socket removes all 250 at once */
	r = call(&k, "event_unsubscribe", "{\"event\":\"E_PAGE\",\"socket\":\"udp:127.0.0.1:9100\"}");
	CHECK_EQ_INT(ival(res(r), "removed"), 250);
	json_decref(r);
	r = call(&k, "event_unsubscribe", "[\"E_PAGE\",\"udp:127.0.0.1:9100\"]");
	CHECK_EQ_INT(ecode(r), 404);
	json_decref(r);
	r = call(&k, "event_unsubscribe", "[\"E_PAGE\",\"udp:nowhere\"]");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);
	r = callf(&k, "event_unsubscribe", "{\"id\":%" JSON_INTEGER_FORMAT "}", other);
	CHECK_EQ_INT(ival(res(r), "removed"), 1);
	json_decref(r);
	r = call(&k, "evr_events_list", NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(res(r), "events")), 0);
	json_decref(r);
	cli_close(&k);
}

/* Static (config) subscriptions never expire: listed as expire 0, ttl null
 * (regression: they showed a TTL of 4294967295 s). */
static void test_static_never(void)
{
	struct cli k;
	const char *f[] = { "aor=static@*" };
	struct evr_sub_spec sp = { .event = "E_STATIC", .dest = "udp:127.0.0.1:9150",
		                   .format = EVR_FMT_JSON, .expire = UINT32_MAX,
		                   .filters = f, .n_filters = 1 };
	struct evr_sub_info info;
	char err[128];

	CHECK_EQ_INT(evr_matcher_subscribe(M, &sp, evr_now_ms(), &info, err, sizeof(err)), 0);
	cli_open(&k);
	json_t *r = call(&k, "evr_subscribers_list", "{\"event\":\"E_STATIC\"}");
	json_t *subs = json_object_get(res(r), "subscribers");
	CHECK_EQ_INT(json_array_size(subs), 1);
	json_t *s0 = json_array_get(subs, 0);
	CHECK(json_is_null(json_object_get(s0, "ttl")));
	CHECK_EQ_INT(json_integer_value(json_object_get(s0, "expire")), 0);
	json_decref(r);
	CHECK_EQ_INT(evr_matcher_unsubscribe(M, info.id), 0);
	cli_close(&k);
}

static void test_raise(void)
{
	char p_rpc[128], p_json[128], p_plain[128], p_custom[128];
	int s_rpc = unix_sink("rpc.sock", p_rpc, sizeof(p_rpc));
	int s_json = unix_sink("json.sock", p_json, sizeof(p_json));
	int s_plain = unix_sink("plain.sock", p_plain, sizeof(p_plain));
	int s_custom = unix_sink("custom.sock", p_custom, sizeof(p_custom));
	struct cli k;
	json_t *r, *d;
	char *dg;

	cli_open(&k);
	r = call(&k, "evr_raise_event", "{\"event\":\"E_NOBODY\"}");
	CHECK_EQ_INT(ecode(r), 480);
	CHECK_EQ_STR(emsg(r), "No subscribers for event");
	json_decref(r);

	json_int_t id_rpc = subscribe(&k, "{\"event\":\"E_RAISE\",\"socket\":\"unix:"
	                                  "/dev/null/x\"}");
	/* (a destination nobody listens on: counted as failed, never fatal) */
	r = callf(&k, "event_unsubscribe", "{\"id\":%" JSON_INTEGER_FORMAT "}", id_rpc);
	json_decref(r);

	char params[512];
	snprintf(params, sizeof(params), "{\"event\":\"E_RAISE\",\"socket\":\"unix:%s\"}", p_rpc);
	id_rpc = subscribe(&k, params);
	snprintf(params, sizeof(params),
	         "{\"event\":\"E_RAISE\",\"socket\":\"unix:%s\",\"format\":\"json\","
	         "\"filters\":[\"user=alice\"]}", p_json);
	subscribe(&k, params);
	snprintf(params, sizeof(params),
	         "{\"event\":\"E_RAISE\",\"socket\":\"unix:%s\",\"format\":\"plain\"}", p_plain);
	subscribe(&k, params);

	r = call(&k, "evr_raise_event",
	         "{\"event\":\"E_RAISE\",\"params\":{\"user\":\"alice\",\"n\":5,\"ok\":true,"
	         "\"x\":null,\"sp\":\"a b\"}}");
	CHECK_EQ_INT(ival(res(r), "matched"), 3);
	CHECK_EQ_INT(ival(res(r), "notified"), 3);
	CHECK_EQ_INT(ival(res(r), "failed"), 0);
	json_decref(r);

	/* jsonrpc: OpenSIPS event_datagram form, numbers stay numbers */
	dg = sink_recv(s_rpc);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "jsonrpc"), "2.0");
	CHECK_EQ_STR(sval(d, "method"), "E_RAISE");
	CHECK_EQ_STR(sval(json_object_get(d, "params"), "user"), "alice");
	CHECK(json_is_integer(json_object_get(json_object_get(d, "params"), "n")));
	CHECK_EQ_INT(ival(json_object_get(d, "params"), "n"), 5);
	CHECK(json_is_true(json_object_get(json_object_get(d, "params"), "ok")));
	CHECK(json_is_null(json_object_get(json_object_get(d, "params"), "x")));
	CHECK(!json_object_get(d, "id"));
	json_decref(d);
	free(dg);
	/* json: FreeSWITCH flat object of strings with a sequence number */
	dg = sink_recv(s_json);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "Event-Name"), "E_RAISE");
	CHECK_EQ_STR(sval(d, "user"), "alice");
	CHECK_EQ_STR(sval(d, "n"), "5");
	CHECK(json_is_string(json_object_get(d, "Event-Sequence")));
	json_decref(d);
	free(dg);
	/* plain: ESL envelope + url-encoded headers */
	dg = sink_recv(s_plain);
	CHECK(dg != NULL);
	if (dg) {
		CHECK_MSG(!strncmp(dg, "Content-Length: ", 16), "%s", dg);
		CHECK(strstr(dg, "Content-Type: text/event-plain\n\n") != NULL);
		CHECK(strstr(dg, "\nEvent-Name: E_RAISE\n") != NULL);
		CHECK(strstr(dg, "\nuser: alice\n") != NULL);
		CHECK(strstr(dg, "\nsp: a%20b\n") != NULL);
	}
	free(dg);
	CHECK(sink_recv(s_rpc) == NULL); /* exactly one each */

	/* the json subscriber filters user=alice out of this one */
	r = call(&k, "evr_raise_event", "[\"E_RAISE\",{\"user\":\"bob\"}]");
	CHECK_EQ_INT(ival(res(r), "matched"), 2);
	json_decref(r);
	CHECK(sink_recv(s_json) == NULL);
	free(sink_recv(s_rpc));
	free(sink_recv(s_plain));

	/* unsubscribe stops delivery */
	r = callf(&k, "event_unsubscribe", "{\"id\":%" JSON_INTEGER_FORMAT "}", id_rpc);
	CHECK_EQ_INT(ival(res(r), "removed"), 1);
	json_decref(r);
	r = call(&k, "evr_raise_event", "{\"event\":\"E_RAISE\",\"params\":{\"user\":\"alice\"}}");
	CHECK_EQ_INT(ival(res(r), "matched"), 2);
	json_decref(r);
	CHECK(sink_recv(s_rpc) == NULL);
	free(sink_recv(s_json));
	free(sink_recv(s_plain));

	/* udp: through the kernel fallback; positional params are "1","2" */
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	CHECK(bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(u, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(params, sizeof(params), "{\"event\":\"E_UDP\",\"socket\":\"udp:127.0.0.1:%u\"}",
	         ntohs(sin.sin_port));
	subscribe(&k, params);
	r = call(&k, "evr_raise_event", "{\"event\":\"E_UDP\",\"params\":[\"x\",7]}");
	CHECK_EQ_INT(ival(res(r), "notified"), 1);
	json_decref(r);
	struct pollfd pfd = { .fd = u, .events = POLLIN };
	CHECK(poll(&pfd, 1, 2000) == 1);
	dg = sink_recv(u);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "method"), "E_UDP");
	CHECK_EQ_STR(sval(json_object_get(d, "params"), "1"), "x");
	CHECK_EQ_INT(ival(json_object_get(d, "params"), "2"), 7);
	json_decref(d);
	free(dg);
	close(u);

	/* CUSTOM with a subclass, FreeSWITCH style */
	snprintf(params, sizeof(params),
	         "{\"event\":\"CUSTOM sofia::register\",\"socket\":\"unix:%s\",\"format\":\"json\"}",
	         p_custom);
	subscribe(&k, params);
	r = call(&k, "evr_raise_event", "{\"event\":\"CUSTOM other::thing\"}");
	CHECK_EQ_INT(ecode(r), 480);
	json_decref(r);
	r = call(&k, "evr_raise_event",
	         "{\"event\":\"CUSTOM sofia::register\",\"params\":{\"from-user\":\"1000\"}}");
	CHECK_EQ_INT(ival(res(r), "notified"), 1);
	json_decref(r);
	dg = sink_recv(s_custom);
	d = parse(dg);
	CHECK_EQ_STR(sval(d, "Event-Name"), "CUSTOM");
	CHECK_EQ_STR(sval(d, "Event-Subclass"), "sofia::register");
	CHECK_EQ_STR(sval(d, "from-user"), "1000");
	json_decref(d);
	free(dg);
	/* ... or with the subclass as an Event-Subclass attribute */
	r = call(&k, "evr_raise_event",
	         "{\"event\":\"CUSTOM\",\"params\":{\"Event-Subclass\":\"sofia::register\"}}");
	CHECK_EQ_INT(ival(res(r), "notified"), 1);
	json_decref(r);
	free(sink_recv(s_custom));

	/* once: notified at most once */
	snprintf(params, sizeof(params),
	         "{\"event\":\"E_ONCE\",\"socket\":\"unix:%s\",\"once\":true}", p_custom);
	subscribe(&k, params);
	r = call(&k, "evr_raise_event", "{\"event\":\"E_ONCE\"}");
	CHECK_EQ_INT(ival(res(r), "notified"), 1);
	json_decref(r);
	free(sink_recv(s_custom));
	r = call(&k, "evr_raise_event", "{\"event\":\"E_ONCE\"}");
	CHECK_EQ_INT(ecode(r), 480);
	json_decref(r);

	/* a destination nobody is bound to: matched but failed */
	subscribe(&k, "{\"event\":\"E_DEAD\",\"socket\":\"unix:/nonexistent/evr.sock\"}");
	r = call(&k, "evr_raise_event", "{\"event\":\"E_DEAD\"}");
	CHECK_EQ_INT(ival(res(r), "matched"), 1);
	CHECK_EQ_INT(ival(res(r), "failed"), 1);
	json_decref(r);

	/* invalid raise params */
	r = call(&k, "evr_raise_event", "{\"event\":\"E_RAISE\",\"params\":{\"a\":{\"b\":1}}}");
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "'a'") && strstr(emsg(r), "nested"), "%s", emsg(r));
	json_decref(r);
	r = call(&k, "evr_raise_event", "{\"params\":{}}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);
	r = call(&k, "evr_raise_event", "{\"event\":\"E_RAISE\",\"params\":\"x\"}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);
	char big[8200];
	int n = snprintf(big, sizeof(big), "{\"event\":\"E_RAISE\",\"params\":{\"v\":\"");
	memset(big + n, 'v', 4097);
	snprintf(big + n + 4097, sizeof(big) - (size_t)n - 4097, "\"}}");
	r = call(&k, "evr_raise_event", big); /* over max_value_len 4096 */
	CHECK_EQ_INT(ecode(r), -32602);
	CHECK_MSG(strstr(emsg(r), "value longer than 4096") != NULL, "%s", emsg(r));
	json_decref(r);

	cli_close(&k);
	close(s_rpc);
	close(s_json);
	close(s_plain);
	close(s_custom);
}

/*
 * An acknowledged subscription matches the next event, as in OpenSIPS EBR,
 * also when its filter is a glob only Hyperscan indexes (published by the
 * matcher's maintenance thread): the answer waits for it. Regression: CI saw
 * an event sent right after the reply miss `aor=sip:*li?e@*.com`.
 */
static void test_visible(void)
{
	struct cli k;
	char ev[32], params[256];
	json_t *r;

	cli_open(&k);
	for (int i = 0; i < 8; i++) {
		snprintf(ev, sizeof(ev), "E_VISIBLE%d", i);
		snprintf(params, sizeof(params),
		         "{\"event\":\"%s\",\"socket\":\"unix:/dev/null/x\","
		         "\"filters\":[\"aor=sip:*li?e%d@*.com\"]}", ev, i);
		json_int_t id = subscribe(&k, params);
		r = callf(&k, "evr_raise_event",
		          "{\"event\":\"%s\",\"params\":{\"aor\":\"sip:alice%d@example.com\"}}",
		          ev, i);
		CHECK_MSG(ival(res(r), "matched") == 1,
		          "round %d: raise right after the answer: %d %s", i, ecode(r),
		          emsg(r));
		json_decref(r);
		r = callf(&k, "event_unsubscribe", "{\"id\":%" JSON_INTEGER_FORMAT "}", id);
		json_decref(r);
	}
	int code = 0;
	char msg[128];
	r = NULL;
	CHECK_EQ_INT(evr_action_stats(C, NULL, &r, &code, msg, sizeof(msg)), 0);
	json_t *late = json_object_get(json_object_get(r, "control"), "visible_late");
	CHECK_MSG(json_is_integer(late) && json_integer_value(late) == 0,
	          "control.visible_late: answers sent before the subscription was published");
	json_decref(r);
	cli_close(&k);
}

/*
 * The OpenSIPS MI family, called the way opensips-cli calls it (positional
 * string params, array params nested, "statistics" as an array), answers
 * with OpenSIPS's shapes and codes (evi/event_interface.c, mi/mi_core.c).
 */
/* A call answered "OK" / with error code (and message, unless NULL). */
static void mi_ok(int line, struct cli *k, const char *method, const char *params)
{
	json_t *r = call(k, method, params);
	CHECK_MSG(!strcmp(sval(r, "result"), "OK"), "line %d: %s %s: %d %s", line, method,
	          params ? params : "", ecode(r), emsg(r));
	json_decref(r);
}

static void mi_err(int line, struct cli *k, const char *method, const char *params, int code,
                   const char *message)
{
	json_t *r = call(k, method, params);
	CHECK_MSG(ecode(r) == code && (!message || !strcmp(emsg(r), message)),
	          "line %d: %s %s: got %d '%s', want %d '%s'", line, method, params ? params : "",
	          ecode(r), emsg(r), code, message ? message : "*");
	json_decref(r);
}
#define MI_OK(k, m, p) mi_ok(__LINE__, k, m, p)
#define MI_ERR(k, m, p, c, s) mi_err(__LINE__, k, m, p, c, s)

static void test_mi(void)
{
	char sink_path[128], params[512];
	int sink = unix_sink("mi.sock", sink_path, sizeof(sink_path));
	struct cli k;
	json_t *r, *e;
	char *dg;

	cli_open(&k);
	/* which: every name; with a command, its parameter sets */
	r = call(&k, "which", NULL);
	CHECK(json_is_array(res(r)));
	bool has_mi = false, has_evr = false;
	size_t i;
	json_array_foreach(res(r), i, e) {
		has_mi |= !strcmp(json_string_value(e), "event_subscribe");
		has_evr |= !strcmp(json_string_value(e), "evr_subscribe");
	}
	CHECK(has_mi && has_evr);
	json_decref(r);
	r = call(&k, "which", "{\"command\":\"event_subscribe\"}");
	char *txt = json_dumps(res(r), JSON_COMPACT);
	CHECK_EQ_STR(txt, "[[\"event\",\"socket\"],[\"event\",\"socket\",\"expire\"]]");
	free(txt);
	json_decref(r);
	r = call(&k, "which", "[\"subscribers_list\"]");
	txt = json_dumps(res(r), JSON_COMPACT);
	CHECK_EQ_STR(txt, "[[],[\"event\"],[\"event\",\"socket\"]]");
	free(txt);
	json_decref(r);
	MI_ERR(&k, "which", "[\"nope\"]", 404, "unknown MI command");

	/* event_subscribe: positional strings as opensips-cli sends; "OK" */
	snprintf(params, sizeof(params), "[\"E_MI\",\"unix:%s\",\"60\"]", sink_path);
	MI_OK(&k, "event_subscribe", params);
	MI_ERR(&k, "event_subscribe", "[\"E_MI\"]", -32602, NULL);
	MI_ERR(&k, "event_subscribe", "[\"E_MI\",\"tcp:1.2.3.4:5\"]", 400, NULL);
	snprintf(params, sizeof(params),
	         "{\"event\":\"E_MI2\",\"socket\":\"unix:%s\",\"filters\":[\"user=bob\"]}",
	         sink_path);
	MI_OK(&k, "event_subscribe", params);

	/* events_list: {"Events":[{name,id}]}, ids stable */
	r = call(&k, "events_list", NULL);
	json_int_t id_mi = -1, id_mi2 = -1;
	json_array_foreach(json_object_get(res(r), "Events"), i, e) {
		if (!strcmp(sval(e, "name"), "E_MI"))
			id_mi = ival(e, "id");
		if (!strcmp(sval(e, "name"), "E_MI2"))
			id_mi2 = ival(e, "id");
		CHECK_EQ_INT(json_object_size(e), 2);
	}
	CHECK(id_mi >= 0 && id_mi2 == id_mi + 1);
	json_decref(r);
	r = call(&k, "events_list", "[]");
	json_array_foreach(json_object_get(res(r), "Events"), i, e)
		if (!strcmp(sval(e, "name"), "E_MI"))
			CHECK_EQ_INT(ival(e, "id"), id_mi);
	json_decref(r);

	/* subscribers_list: OpenSIPS's nesting */
	r = call(&k, "subscribers_list", NULL);
	bool seen = false;
	json_array_foreach(json_object_get(res(r), "Events"), i, e) {
		if (strcmp(sval(e, "name"), "E_MI"))
			continue;
		seen = true;
		CHECK_EQ_INT(ival(e, "id"), id_mi);
		json_t *subs = json_object_get(e, "Subscribers");
		CHECK_EQ_INT(json_array_size(subs), 1);
		json_t *s0 = json_array_get(subs, 0);
		char want[160];
		snprintf(want, sizeof(want), "unix:%s", sink_path);
		CHECK_EQ_STR(sval(s0, "socket"), want);
		CHECK_EQ_INT(ival(s0, "expire"), 60);
		CHECK(ival(s0, "ttl") >= 59 && ival(s0, "ttl") <= 60);
	}
	CHECK(seen);
	json_decref(r);
	r = call(&k, "subscribers_list", "[\"E_MI2\"]");
	e = json_object_get(res(r), "Event");
	CHECK_EQ_STR(sval(e, "name"), "E_MI2");
	CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(json_array_get(
	                 json_object_get(e, "Subscribers"), 0), "filters"), 0)), "user=bob");
	json_decref(r);
	snprintf(params, sizeof(params), "[\"E_MI\",\"unix:%s\"]", sink_path);
	r = call(&k, "subscribers_list", params);
	e = json_object_get(json_object_get(res(r), "Event"), "Subscriber");
	CHECK_EQ_INT(ival(e, "expire"), 60);
	json_decref(r);
	MI_ERR(&k, "subscribers_list", "[\"E_NOT_KNOWN\"]", 404, "Event not published");
	MI_ERR(&k, "subscribers_list", "[\"E_MI\",\"udp:192.0.2.1:9\"]", 404, "Subscriber does not exist");

	/* raise_event: "OK"; params as an array (opensips-cli nests them), an
	 * object, or a JSON string */
	while ((dg = sink_recv(sink)))
		free(dg);
	MI_OK(&k, "raise_event", "[\"E_MI\",[\"a\",\"b\"]]");
	dg = sink_recv(sink);
	CHECK_MSG(dg && strstr(dg, "\"method\":\"E_MI\"") && strstr(dg, "\"b\""), "%s",
	          dg ? dg : "(nothing)");
	free(dg);
	MI_OK(&k, "raise_event", "{\"event\":\"E_MI2\",\"params\":\"{\\\"user\\\":\\\"bob\\\"}\"}");
	dg = sink_recv(sink);
	CHECK_MSG(dg && strstr(dg, "\"user\":\"bob\""), "%s", dg ? dg : "(nothing)");
	free(dg);
	MI_ERR(&k, "raise_event", "{\"event\":\"E_MI2\",\"params\":\"{\\\"user\\\":\\\"al\\\"}\"}", 480, "Temporarily Unavailable");
	MI_ERR(&k, "raise_event", "{\"event\":\"E_MI2\",\"params\":\"not json\"}", 400, NULL);
	MI_ERR(&k, "raise_event", "[\"E_NEVER_HEARD_OF\"]", 404, "Event not registered");

	/* expire 0 unsubscribes ("OK"); the event stays known, listed empty */
	snprintf(params, sizeof(params), "[\"E_MI\",\"unix:%s\",\"0\"]", sink_path);
	MI_OK(&k, "event_subscribe", params);
	r = call(&k, "subscribers_list", "[\"E_MI\"]");
	CHECK_EQ_INT(json_object_size(json_object_get(res(r), "Event")), 0);
	json_decref(r);

	/* version, uptime */
	r = call(&k, "version", NULL);
	char want[64];
	snprintf(want, sizeof(want), "evrd (%s (", EVR_VERSION);
	CHECK_MSG(!strncmp(sval(res(r), "Server"), want, strlen(want)), "%s",
	          sval(res(r), "Server"));
	json_decref(r);
	r = call(&k, "uptime", NULL);
	CHECK_EQ_INT(json_object_size(res(r)), 3);
	CHECK(strlen(sval(res(r), "Now")) == 24 && strlen(sval(res(r), "Up since")) == 24);
	unsigned long up = 999;
	char tail[16] = "";
	CHECK(sscanf(sval(res(r), "Up time"), "%lu %15s", &up, tail) == 2 && up < 600 &&
	      !strcmp(tail, "[sec]"));
	json_decref(r);

	/* statistics, as opensips-cli sends them: [["all"]], {"statistics":[..]} */
	r = call(&k, "get_statistics", "[[\"all\"]]");
	CHECK(json_is_integer(json_object_get(res(r), "matcher:live")));
	CHECK(json_is_integer(json_object_get(res(r), "control:requests")));
	json_decref(r);
	r = call(&k, "get_statistics", "{\"statistics\":[\"matcher:\"]}");
	const char *key;
	json_object_foreach(res(r), key, e)
		CHECK_MSG(!strncmp(key, "matcher:", 8), "%s", key);
	CHECK(json_object_size(res(r)) > 5);
	json_decref(r);
	MI_ERR(&k, "get_statistics", "[[\"nope:x\"]]", 404, NULL);
	r = call(&k, "list_statistics", NULL);
	CHECK_EQ_STR(sval(res(r), "matcher:live"), "non-incremental");
	CHECK_EQ_STR(sval(res(r), "control:requests"), "incremental");
	json_decref(r);
	r = call(&k, "get_statistics", "[[\"control:requests\"]]");
	json_int_t before = ival(res(r), "control:requests");
	json_decref(r);
	CHECK(before > 20);
	MI_OK(&k, "reset_statistics", "[[\"control:requests\",\"matcher:live\"]]");
	r = call(&k, "get_statistics", "[[\"control:requests\",\"matcher:live\"]]");
	CHECK(ival(res(r), "control:requests") >= 1 && ival(res(r), "control:requests") <= 3);
	CHECK(ival(res(r), "matcher:live") >= 1); /* a gauge is not reset */
	json_decref(r);

	/* names seen on the wire are bounded; subscribed ones always get an id */
	r = call(&k, "events_list", NULL);
	size_t known = json_array_size(json_object_get(res(r), "Events"));
	json_decref(r);
	int code = 0;
	char m2[64];
	r = NULL;
	evr_action_stats(C, NULL, &r, &code, m2, sizeof(m2));
	json_int_t full0 = ival(json_object_get(r, "control"), "events_list_full");
	json_decref(r);
	for (int n = 0; n < 70000; n++) {
		char name[32];
		snprintf(name, sizeof(name), "E_WIRE_%d", n);
		evr_control_note_event(C, name);
	}
	evr_control_note_event(C, "E_MI"); /* known already: no id needed */
	r = NULL;
	evr_action_stats(C, NULL, &r, &code, m2, sizeof(m2));
	CHECK_EQ_INT(ival(json_object_get(r, "control"), "events_list_full") - full0,
	             70000 - (65536 - (json_int_t)known));
	json_decref(r);
	snprintf(params, sizeof(params), "[\"E_AFTER_CAP\",\"unix:%s\",\"60\"]", sink_path);
	MI_OK(&k, "event_subscribe", params);
	r = call(&k, "subscribers_list", "[\"E_AFTER_CAP\"]");
	CHECK_EQ_INT(ival(json_object_get(res(r), "Event"), "id"), 65536);
	json_decref(r);
	snprintf(params, sizeof(params), "[\"E_AFTER_CAP\",\"unix:%s\",\"0\"]", sink_path);
	MI_OK(&k, "event_subscribe", params);

	cli_close(&k);
	close(sink);
}

/*
 * The Prometheus exposition: every sample under a family declared once,
 * before it, with HELP and TYPE; counters end in _total; the values are
 * the stats'; and promtool (Debian prometheus) accepts it.
 */
static void test_metrics(void)
{
	size_t len = 0;
	char *text = evr_metrics_render(C, &len);
	char path[256], cmd[1024];

	CHECK(text != NULL && len == strlen(text));
	if (!text)
		return;
	CHECK(strstr(text, "# TYPE evrouter_build_info gauge\nevrouter_build_info{version=\"" EVR_VERSION
	                   "\"} 1\n") != NULL);
	/* structure: families unique and declared before their samples */
	json_t *seen = json_object();
	char cur[128] = "", *save = NULL;
	unsigned samples = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[16];
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			CHECK_MSG(!json_object_get(seen, name), "family %s declared twice", name);
			json_object_set_new(seen, name, json_true());
			snprintf(cur, sizeof(cur), "%s", name);
			size_t n = strlen(name);
			CHECK_MSG((strcmp(type, "counter") == 0) == (n > 6 && !strcmp(name + n - 6, "_total")),
			          "%s: counters and only counters end in _total", name);
			CHECK_MSG(!strncmp(name, "evrouter_", 9), "%s: prefix", name);
			continue;
		}
		if (line[0] == '#')
			continue;
		size_t n = strcspn(line, "{ ");
		CHECK_MSG(n == strlen(cur) && !strncmp(line, cur, n), "sample outside its family: %s",
		          line);
		samples++;
	}
	CHECK(samples > 30);
	json_decref(seen);
	free(text);

	/* values: the matcher's live count */
	struct evr_matcher_stats st;
	evr_matcher_get_stats(M, &st);
	text = evr_metrics_render(C, &len);
	char want[64];
	snprintf(want, sizeof(want), "\nevrouter_subscriptions %llu\n", (unsigned long long)st.live);
	CHECK_MSG(strstr(text, want) != NULL, "%s", want);
	CHECK(strstr(text, "\nevrouter_control_errors_total{code=\"480\"} ") != NULL);

	/* promtool, as Prometheus's own check */
	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	free(text);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s.out' 2>&1", path, path);
	int rc = system(cmd);
	CHECK_MSG(rc == 0, "promtool check metrics failed (rc %d): see %s.out", rc, path);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s.out' >&2", path);
		if (system(cmd) != 0)
			fprintf(stderr, "(no promtool output)\n");
	}
}

static void test_protocol(void)
{
	struct cli k;
	json_t *r;
	char *line;

	cli_open(&k);
	/* malformed JSON: -32700, id null, and the connection still works */
	r = raw(&k, "{oops");
	CHECK_EQ_INT(ecode(r), -32700);
	CHECK(json_is_null(json_object_get(r, "id")));
	CHECK(json_is_string(json_object_get(json_object_get(r, "error"), "data")));
	json_decref(r);
	r = call(&k, "evr_version", NULL);
	CHECK_EQ_STR(sval(res(r), "name"), "evrd");
	CHECK(sval(res(r), "version")[0] != '\0');
	json_decref(r);

	/* invalid requests */
	r = raw(&k, "42");
	CHECK_EQ_INT(ecode(r), -32600);
	json_decref(r);
	r = raw(&k, "[]");
	CHECK_EQ_INT(ecode(r), -32600);
	json_decref(r);
	r = raw(&k, "{\"jsonrpc\":\"1.0\",\"method\":\"evr_version\",\"id\":9}");
	CHECK_EQ_INT(ecode(r), -32600);
	CHECK_EQ_INT(ival(r, "id"), 9);
	json_decref(r);
	r = raw(&k, "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":\"s\"}");
	CHECK_EQ_INT(ecode(r), -32600);
	CHECK_EQ_STR(sval(r, "id"), "s");
	json_decref(r);
	r = raw(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"params\":\"x\",\"id\":1}");
	CHECK_EQ_INT(ecode(r), -32600);
	json_decref(r);
	r = raw(&k, "{\"jsonrpc\":\"2.0\",\"method\":1}"); /* invalid: answered anyway */
	CHECK_EQ_INT(ecode(r), -32600);
	json_decref(r);
	r = call(&k, "nope", NULL);
	CHECK_EQ_INT(ecode(r), -32601);
	CHECK_EQ_STR(emsg(r), "Method not found: nope");
	json_decref(r);
	r = call(&k, "stats", "[1]");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);

	/* notifications are executed and never answered */
	json_int_t notif = stat_control("notifications");
	CHECK(cli_send(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\"}\n"
	                   "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}\n"));
	r = call(&k, "evr_version", NULL); /* its response is the next line */
	CHECK_EQ_STR(sval(res(r), "name"), "evrd");
	json_decref(r);
	CHECK_EQ_INT(stat_control("notifications"), notif + 2);

	/* batch: responses for the requests with ids only */
	r = raw(&k, "[{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":1},"
	            "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\"},"
	            "{\"jsonrpc\":\"2.0\",\"method\":\"bogus\",\"id\":3},7]");
	CHECK(json_is_array(r) && json_array_size(r) == 3);
	CHECK_EQ_INT(ival(json_array_get(r, 0), "id"), 1);
	CHECK_EQ_STR(sval(res(json_array_get(r, 0)), "name"), "evrd");
	CHECK_EQ_INT(ival(json_array_get(r, 1), "id"), 3);
	CHECK_EQ_INT(ecode(json_array_get(r, 1)), -32601);
	CHECK_EQ_INT(ecode(json_array_get(r, 2)), -32600);
	json_decref(r);
	/* a batch of notifications gets no response at all */
	CHECK(cli_send(&k, "[{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\"}]\n"));
	/* CRLF and blank lines are fine */
	CHECK(cli_send(&k, "\r\n\n  \n"));
	r = raw(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":\"crlf\"}\r");
	CHECK_EQ_STR(sval(r, "id"), "crlf");
	json_decref(r);

	/* pipelined requests in one write, answered in order; partial lines
	 * are kept across reads */
	CHECK(cli_send(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":101}\n"
	                   "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":102}\n"
	                   "{\"jsonrpc\":\"2.0\",\"meth"));
	for (int i = 0; i < 5; i++)
		pump_ms(C, 1);
	CHECK(cli_send(&k, "od\":\"version\",\"id\":103}\n"));
	for (int id = 101; id <= 103; id++) {
		line = cli_line(&k);
		r = parse(line);
		CHECK_EQ_INT(ival(r, "id"), id);
		json_decref(r);
		free(line);
	}

	/* evr_list_methods (alias list_methods): every method of both
	 * families, in table order, with help */
	r = call(&k, "list_methods", NULL);
	json_t *ms = json_object_get(res(r), "methods"), *m;
	size_t i;
	const char *want[] = { "which", "event_subscribe", "events_list", "subscribers_list",
		               "raise_event", "version", "uptime", "get_statistics",
		               "list_statistics", "reset_statistics", "evr_subscribe",
		               "evr_unsubscribe", "evr_events_list", "evr_subscribers_list",
		               "evr_raise_event", "evr_stats", "evr_config_get", "evr_config_set",
		               "evr_version",
		               "evr_list_methods", "evr_esl_list", "evr_esl_kill" };
	const size_t nwant = sizeof(want) / sizeof(want[0]);
	CHECK_EQ_INT(json_array_size(ms), nwant);
	json_array_foreach(ms, i, m) {
		CHECK_MSG(i < nwant && !strcmp(sval(m, "name"), want[i]), "method %zu: %s", i,
		          sval(m, "name"));
		CHECK_EQ_STR(sval(m, "family"), i < 10 ? "mi" : "evr");
		CHECK(sval(m, "summary")[0] != '\0');
		CHECK(json_is_string(json_object_get(m, "params")));
	}
	CHECK_EQ_STR(sval(json_array_get(ms, 11), "alias"), "event_unsubscribe");
	json_decref(r);

	/* a request line of exactly max_line bytes is served */
	char *exact = xrealloc(NULL, MAX_LINE + 2);
	int n = snprintf(exact, MAX_LINE + 1, "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":55}");
	memset(exact + n, ' ', MAX_LINE - (size_t)n);
	exact[MAX_LINE] = '\0';
	r = raw(&k, exact);
	CHECK_EQ_INT(ival(r, "id"), 55);
	json_decref(r);
	free(exact);
	cli_close(&k);
}

static void test_oversize(void)
{
	char *big = xrealloc(NULL, MAX_LINE + 200);
	struct cli k;
	char *line;
	json_t *r;
	json_int_t before = stat_control("clients_oversize");

	/* no newline in sight and already over max_line */
	memset(big, 'x', MAX_LINE + 100);
	cli_open(&k);
	CHECK(cli_send_on(&k, C, big, MAX_LINE + 100));
	line = cli_line(&k);
	r = parse(line);
	CHECK_EQ_INT(ecode(r), -32600);
	CHECK_EQ_STR(emsg(r), "request too large");
	json_decref(r);
	free(line);
	line = cli_line(&k);
	CHECK_MSG(line == NULL && k.eof, "connection not closed after oversize line");
	free(line);
	cli_close(&k);

	/* a complete line that is one byte too long */
	memset(big, ' ', MAX_LINE + 1);
	big[MAX_LINE + 1] = '\n';
	cli_open(&k);
	CHECK(cli_send_on(&k, C, big, MAX_LINE + 2));
	line = cli_line(&k);
	r = parse(line);
	CHECK_EQ_INT(ecode(r), -32600);
	json_decref(r);
	free(line);
	CHECK(cli_line(&k) == NULL && k.eof);
	cli_close(&k);
	free(big);
	CHECK_EQ_INT(stat_control("clients_oversize"), before + 2);
}

static void test_disconnects(void)
{
	struct cli k;
	json_t *r;
	json_int_t clients = stat_control("clients");

	/* mid-line: the partial request is dropped with the client */
	cli_open(&k);
	CHECK(cli_send(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"vers"));
	pump_ms(C, 5);
	CHECK_EQ_INT(stat_control("clients"), clients + 1);
	cli_close(&k);
	pump_until_clients(C, clients);

	/* mid-response: the client leaves with output pending */
	cli_open(&k);
	for (int i = 0; i < 20; i++)
		CHECK(cli_send(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"list_methods\",\"id\":1}\n"));
	pump_ms(C, 5);
	cli_close(&k);
	pump_until_clients(C, clients);

	/* fire and forget: complete requests run even if the client is gone
	 * before their answers are written; its unterminated tail does not */
	cli_open(&k);
	size_t blen = 0;
	char *burst = xrealloc(NULL, 700 * 160);
	for (int i = 0; i < 700; i++) /* > 64 KiB: several server reads */
		blen += (size_t)snprintf(burst + blen, 160,
		         "{\"jsonrpc\":\"2.0\",\"method\":\"evr_subscribe\",\"id\":%d,"
		         "\"params\":{\"event\":\"E_FIRE\",\"socket\":\"udp:127.0.0.1:%d\"}}\n",
		         i, 2000 + i);
	CHECK(blen > 64 * 1024);
	CHECK(cli_send_on(&k, C, burst, blen));
	free(burst);
	CHECK(cli_send(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"event_unsubscribe\",\"params\":"));
	cli_close(&k);
	pump_until_clients(C, clients);
	json_t *req = json_pack("{s:s,s:s,s:{s:s},s:i}", "jsonrpc", "2.0", "method",
	                        "evr_subscribers_list", "params", "event", "E_FIRE", "id", 1);
	json_object_set_new(json_object_get(req, "params"), "limit", json_integer(1000));
	r = evr_control_handle(C, req);
	CHECK_EQ_INT(json_array_size(json_object_get(res(r), "subscribers")), 700);
	json_decref(r);
	json_decref(req);
	CHECK_EQ_INT(evr_matcher_unsubscribe_dest(M, "E_FIRE", NULL, "udp:127.0.0.1:2000"), 1);

	/* half-close: the last line without '\n' is still served, then EOF */
	cli_open(&k);
	CHECK(cli_send(&k, "{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":\"last\"}"));
	shutdown(k.fd, SHUT_WR);
	char *line = cli_line(&k);
	r = parse(line);
	CHECK_EQ_STR(sval(r, "id"), "last");
	json_decref(r);
	free(line);
	CHECK(cli_line(&k) == NULL && k.eof && k.err == 0);
	cli_close(&k);
	pump_until_clients(C, clients);
}

static void test_slow_reader(void)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"method\":\"list_methods\",\"id\":1}\n";
	struct cli slow, fast;
	json_int_t dropped = stat_control("clients_dropped");
	uint64_t deadline = evr_now_ms() + 10000;
	bool gone = false;
	int sent = 0;

	cli_open(&slow);
	cli_open(&fast);
	/* The slow client writes and never reads: the server must drop it
	 * once its unread output passes max_output, and keep serving others. */
	while (!gone && evr_now_ms() < deadline) {
		ssize_t w = send(slow.fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN)
			gone = true; /* EPIPE/ECONNRESET: dropped */
		else if (w > 0)
			sent++;
		if (sent % 16 == 0 || w < 0)
			pump_ms(C, 0);
		if (stat_control("clients_dropped") > dropped)
			gone = true;
	}
	CHECK_MSG(stat_control("clients_dropped") == dropped + 1, "slow client not dropped "
	          "after %d requests", sent);
	CHECK(sent > 50);
	json_t *r = call(&fast, "evr_version", NULL);
	CHECK_EQ_STR(sval(res(r), "name"), "evrd");
	json_decref(r);
	cli_close(&slow);
	cli_close(&fast);
	for (int i = 0; i < 3; i++)
		pump_ms(C, 1);
}

/* ---- a second server: hooks, max_clients --------------------------------------- */

struct hook_rec {
	int calls;
	uint32_t last_n;
	int ret; /* < 0: fail with that */
	char last_event[64];
};

static void hook_stats(void *ctx, json_t *out)
{
	struct hook_rec *h = ctx;
	json_object_set_new(out, "dataplane", json_pack("{s:i}", "hook_calls", h->calls));
}

static int hook_deliver(void *ctx, const struct evr_event *ev,
                        const struct evr_sub *const *subs, uint32_t n)
{
	struct hook_rec *h = ctx;
	h->calls++;
	h->last_n = n;
	snprintf(h->last_event, sizeof(h->last_event), "%.*s", (int)ev->name.len, ev->name.p);
	for (uint32_t i = 0; i < n; i++)
		CHECK(subs[i]->dest != NULL && subs[i]->id > 0);
	return h->ret < 0 ? h->ret : (int)n;
}

/* What evrd's config hook returns: the settings table walked over a
 * config (a fixed stand-in here). */
static json_t *hook_config(void *ctx)
{
	(void)ctx;
	return json_pack("{s:{s:i,s:[i,i]},s:[{s:s,s:i},{s:s,s:i}],s:s}", "sip", "linger_ms",
	                 32000, "mirror_ports", 5060, 5080, "ports", "name", "p0", "mtu", 1500,
	                 "name", "p1", "mtu", 9000, "file", "t.conf");
}

static void test_hooks_and_limits(void)
{
	struct hook_rec h = { 0 };
	struct evr_control_hooks hooks = { .ctx = &h, .stats = hook_stats,
		                           .deliver = hook_deliver, .config = hook_config };
	struct evr_control_conf conf;
	char path[128], err[256];
	struct cli a, b, c3;
	json_t *r;

	evr_control_conf_default(&conf);
	snprintf(path, sizeof(path), "%s/second.sock", dir);
	conf.socket_path = path;
	/* the last slot is kept for root: a non-root test needs one more */
	conf.max_clients = geteuid() == 0 ? 2 : 3;
	struct evr_control *c2 = evr_control_create(&conf, M, &hooks, err, sizeof(err));
	CHECK_MSG(c2 != NULL, "%s", err);
	if (!c2)
		return;

	cli_open_on(&a, c2, path);
	cli_open_on(&b, c2, path);
	cli_open_on(&c3, c2, path); /* one too many: one error line, then EOF */
	char *line = cli_line_on(&c3, c2, 2000);
	r = parse(line);
	CHECK_EQ_INT(ecode(r), 503);
	json_decref(r);
	free(line);
	CHECK(cli_line_on(&c3, c2, 2000) == NULL && c3.eof);
	cli_close(&c3);

	/* both servers share the matcher: a subscription made here is raised
	 * through the deliver hook, not the fallback */
	r = call_on(&a, c2, "evr_subscribe",
	            "{\"event\":\"E_HOOK\",\"socket\":\"udp:192.0.2.1:9\",\"filters\":{\"k\":\"v*\"}}");
	json_int_t id = ival(res(r), "id");
	CHECK(id > 0);
	json_decref(r);
	r = call_on(&b, c2, "evr_raise_event", "{\"event\":\"E_HOOK\",\"params\":{\"k\":\"value\"}}");
	CHECK_EQ_INT(ival(res(r), "notified"), 1);
	json_decref(r);
	CHECK_EQ_INT(h.calls, 1);
	CHECK_EQ_INT(h.last_n, 1);
	CHECK_EQ_STR(h.last_event, "E_HOOK");
	h.ret = -EIO;
	r = call_on(&b, c2, "evr_raise_event", "{\"event\":\"E_HOOK\",\"params\":{\"k\":\"v\"}}");
	CHECK_EQ_INT(ecode(r), 500);
	CHECK_MSG(strstr(emsg(r), "delivery failed") != NULL, "%s", emsg(r));
	json_decref(r);

	/* stats: control counters + what the hook adds */
	r = call_on(&a, c2, "stats", NULL);
	json_t *st = res(r);
	CHECK_EQ_INT(ival(json_object_get(st, "dataplane"), "hook_calls"), 2);
	CHECK_EQ_INT(ival(json_object_get(st, "control"), "clients_refused"), 1);
	CHECK_EQ_INT(ival(json_object_get(st, "control"), "raised"), 2);
	CHECK_EQ_INT(ival(json_object_get(json_object_get(st, "control"), "errors"), "500"), 1);
	CHECK_EQ_INT(ival(json_object_get(json_object_get(st, "control"), "errors"), "503"), 1);
	CHECK(ival(json_object_get(st, "matcher"), "live") >= 1);
	json_decref(r);

	/* config_get: everything, a group, a list element's member, an array
	 * element; unknown paths and bad params are errors */
	r = call_on(&a, c2, "config_get", NULL);
	CHECK_EQ_STR(sval(json_object_get(res(r), "config"), "file"), "t.conf");
	json_decref(r);
	r = call_on(&a, c2, "config_get", "{\"setting\":\"sip.linger_ms\"}");
	CHECK_EQ_STR(sval(res(r), "setting"), "sip.linger_ms");
	CHECK_EQ_INT(json_integer_value(json_object_get(res(r), "value")), 32000);
	json_decref(r);
	r = call_on(&a, c2, "config_get", "[\"ports[1].mtu\"]");
	CHECK_EQ_INT(json_integer_value(json_object_get(res(r), "value")), 9000);
	json_decref(r);
	r = call_on(&a, c2, "config_get", "[\"sip.mirror_ports[1]\"]");
	CHECK_EQ_INT(json_integer_value(json_object_get(res(r), "value")), 5080);
	json_decref(r);
	r = call_on(&a, c2, "config_get", "[\"ports[0]\"]");
	CHECK_EQ_STR(sval(json_object_get(res(r), "value"), "name"), "p0");
	json_decref(r);
	static const char *const bad_paths[] = {"sip.nope", "ports[2]", "ports[x]", "ports.mtu",
	                                        "sip.linger_ms.x", "ports[0]mtu"};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		char q[96];

		snprintf(q, sizeof(q), "[\"%s\"]", bad_paths[i]);
		r = call_on(&a, c2, "config_get", q);
		CHECK_MSG(ecode(r) == 404, "config_get %s: %d", bad_paths[i], ecode(r));
		json_decref(r);
	}
	r = call_on(&a, c2, "config_get", "{\"setting\":5}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);

	/* evr_control_handle directly (no socket): notifications give NULL */
	json_t *req = json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", "evr_version");
	CHECK(evr_control_handle(c2, req) == NULL);
	json_object_set_new(req, "id", json_integer(4));
	r = evr_control_handle(c2, req);
	CHECK_EQ_STR(sval(res(r), "name"), "evrd");
	json_decref(r);
	json_decref(req);

	/* action called directly: the config loader's path */
	int code = 0;
	char msg[256];
	json_t *p = json_pack("{s:s,s:s,s:[s]}", "event", "E_CFG", "socket", "udp:127.0.0.1:7",
	                      "filters", "from=*@example.com");
	CHECK_EQ_INT(evr_action_subscribe(M, p, &r, &code, msg, sizeof(msg)), 0);
	CHECK(ival(r, "id") > 0);
	json_decref(r);
	json_decref(p);
	p = json_pack("{s:s}", "event", "E_CFG");
	r = NULL;
	CHECK_EQ_INT(evr_action_subscribe(M, p, &r, &code, msg, sizeof(msg)), -EINVAL);
	CHECK(r == NULL);
	CHECK_EQ_INT(code, -32602);
	json_decref(p);
	r = call_on(&a, c2, "event_unsubscribe", "[\"E_CFG\",\"udp:127.0.0.1:7\"]");
	CHECK_EQ_INT(ival(res(r), "removed"), 1);
	json_decref(r);
	char idp[64];
	snprintf(idp, sizeof(idp), "{\"id\":%" JSON_INTEGER_FORMAT "}", id);
	r = call_on(&a, c2, "event_unsubscribe", idp);
	CHECK_EQ_INT(ival(res(r), "removed"), 1);
	json_decref(r);

	cli_close(&a);
	cli_close(&b);
	evr_control_destroy(c2);
}

static void test_stats(void)
{
	struct cli k;
	json_t *r, *ctl, *errs;

	cli_open(&k);
	/* a server without a config hook (tooling, tests) says so */
	r = call(&k, "config_get", NULL);
	CHECK_EQ_INT(ecode(r), 503);
	CHECK_MSG(strstr(emsg(r), "no configuration") != NULL, "%s", emsg(r));
	json_decref(r);
	r = call(&k, "stats", NULL);
	ctl = json_object_get(res(r), "control");
	errs = json_object_get(ctl, "errors");
	CHECK(ival(ctl, "requests") > 50);
	CHECK(ival(ctl, "notifications") >= 3);
	CHECK(ival(ctl, "batches") >= 7);
	CHECK(ival(ctl, "bad_lines") >= 3); /* one parse error, two oversize */
	CHECK(ival(ctl, "clients_oversize") == 2);
	CHECK(ival(ctl, "clients_dropped") == 1);
	CHECK(ival(ctl, "clients_accepted") >= 10);
	CHECK_EQ_INT(ival(ctl, "clients"), 1);
	CHECK(ival(ctl, "raised") >= 10);
	CHECK(ival(ctl, "raise_failed") >= 1);
	CHECK(ival(errs, "-32700") == 1);
	CHECK(ival(errs, "-32600") >= 5);
	CHECK(ival(errs, "-32601") >= 2);
	CHECK(ival(errs, "-32602") >= 5);
	CHECK(ival(errs, "404") >= 3);
	CHECK(ival(errs, "480") >= 3);
	CHECK(json_is_integer(json_object_get(errs, "other")));
	json_t *mt = json_object_get(res(r), "matcher");
	CHECK(json_is_integer(json_object_get(mt, "live")));
	CHECK(ival(mt, "subscribed") >= 250);
	json_decref(r);
	cli_close(&k);
}

/* ---- issue 8: bounded batches, paged evr_events_list, slowloris -------------------- */

static json_int_t stat_on(struct evr_control *c, const char *name)
{
	int code = 0;
	char msg[128];
	json_t *r = NULL;
	CHECK_EQ_INT(evr_action_stats(c, NULL, &r, &code, msg, sizeof(msg)), 0);
	json_int_t v = ival(json_object_get(r, "control"), name);
	json_decref(r);
	return v;
}

/* n subscriptions to event (distinct ports, `filters` filters each) made
 * through the action API; ids stored in ids[]. */
static void bulk_subscribe(const char *event, bool distinct, unsigned n, unsigned filters,
                           json_int_t *ids)
{
	for (unsigned i = 0; i < n; i++) {
		char params[1024], msg[256];
		int code = 0, off;
		json_t *p, *r = NULL;

		off = snprintf(params, sizeof(params), "{\"event\":\"%s", event);
		if (distinct)
			off += snprintf(params + off, sizeof(params) - (size_t)off, "_%05u", i);
		off += snprintf(params + off, sizeof(params) - (size_t)off,
		                "\",\"socket\":\"udp:127.0.0.1:%u\",\"filters\":{", 1024 + i);
		for (unsigned f = 0; f < filters; f++)
			off += snprintf(params + off, sizeof(params) - (size_t)off,
			                "%s\"attribute_%u\":\"some-value-%u-*\"", f ? "," : "", f, i);
		snprintf(params + off, sizeof(params) - (size_t)off, "}}");
		p = json_loads(params, 0, NULL);
		CHECK(p != NULL);
		CHECK_MSG(evr_action_subscribe(M, p, &r, &code, msg, sizeof(msg)) == 0, "%s", msg);
		ids[i] = ival(r, "id");
		json_decref(r);
		json_decref(p);
	}
}

static void bulk_unsubscribe(struct evr_control *c, unsigned n, const json_int_t *ids)
{
	for (unsigned i = 0; i < n; i++) {
		char msg[256];
		int code = 0;
		json_t *p = json_pack("{s:I}", "id", ids[i]), *r = NULL;
		CHECK(evr_action_unsubscribe(c, p, &r, &code, msg, sizeof(msg)) == 0);
		json_decref(r);
		json_decref(p);
	}
}

/* A batch whose results exceed max_output: the first results, then one 503
 * error per remaining id; never a dropped client. A batch longer than
 * max_batch is refused whole. The server then serves others at once. */
static void test_batch_bound(void)
{
	enum { NSUB = 300, B = 8 };
	static json_int_t ids[NSUB];
	struct cli k, o;
	char *line, req[8192];
	int off = 0;

	bulk_subscribe("E_BATCH", false, NSUB, 2, ids);
	off += snprintf(req + off, sizeof(req) - (size_t)off, "[");
	for (int i = 0; i < B; i++)
		off += snprintf(req + off, sizeof(req) - (size_t)off,
		                "%s{\"jsonrpc\":\"2.0\",\"method\":\"evr_subscribers_list\","
		                "\"params\":{\"event\":\"E_BATCH\",\"limit\":100},\"id\":\"b%d\"}",
		                i ? "," : "", i);
	snprintf(req + off, sizeof(req) - (size_t)off, "]\n");

	json_int_t limited = stat_control("batch_limited");
	cli_open(&k);
	CHECK(cli_send(&k, req));
	line = cli_line(&k);
	CHECK_MSG(line != NULL, "no answer to an over-size batch (eof %d)", k.eof);
	CHECK(line == NULL || strlen(line) + 1 <= MAX_OUTPUT);
	json_t *r = parse(line);
	free(line);
	CHECK_EQ_INT((int)json_array_size(r), B);
	int results = 0;
	for (int i = 0; i < B; i++) {
		json_t *e = json_array_get(r, (size_t)i);
		char id[8];

		snprintf(id, sizeof(id), "b%d", i);
		CHECK_EQ_STR(sval(e, "id"), id);
		if (res(e)) {
			CHECK_MSG(results == i, "a result after an error, at %d", i);
			CHECK_EQ_INT((int)json_array_size(json_object_get(res(e), "subscribers")), 100);
			results++;
			continue;
		}
		CHECK_EQ_INT(ecode(e), 503);
		CHECK_MSG(strstr(emsg(e), "batch output limit reached") != NULL, "%s", emsg(e));
		CHECK_MSG(strstr(emsg(e), i == results ? "executed, result too large"
		                                       : "not executed") != NULL,
		          "%d: %s", i, emsg(e));
	}
	CHECK_MSG(results >= 1 && results < B, "%d results of %d", results, B);
	CHECK_EQ_INT(stat_control("batch_limited") - limited, B - results);
	json_decref(r);

	/* the connection still works, and so does another client, at once */
	r = call(&k, "evr_version", NULL);
	CHECK(res(r) != NULL);
	json_decref(r);
	cli_open(&o);
	uint64_t t0 = evr_now_ms();
	r = call(&o, "evr_version", NULL);
	CHECK(res(r) != NULL);
	CHECK_MSG(evr_now_ms() - t0 < 1000, "another client waited %llu ms",
	          (unsigned long long)(evr_now_ms() - t0));
	json_decref(r);
	cli_close(&o);

	/* longer than max_batch (100): refused whole, nothing executed */
	off = snprintf(req, sizeof(req), "[");
	for (int i = 0; i < 101; i++)
		off += snprintf(req + off, sizeof(req) - (size_t)off,
		                "%s{\"jsonrpc\":\"2.0\",\"method\":\"evr_version\",\"id\":%d}",
		                i ? "," : "", i);
	snprintf(req + off, sizeof(req) - (size_t)off, "]");
	r = raw(&k, req);
	CHECK_EQ_INT(ecode(r), -32600);
	CHECK_MSG(strstr(emsg(r), "batch too long") != NULL, "%s", emsg(r));
	CHECK_MSG(strstr(sval(json_object_get(r, "error"), "data"), "max_batch is 100") != NULL,
	          "data names the setting");
	json_decref(r);
	cli_close(&k);
	bulk_unsubscribe(C, NSUB, ids);
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Issue 8: B x evr_subscribers_list {"limit":1000} in one line used to build
 * every result before max_output was checked (+398 MB for a 23 KB line).
 * With default limits (16 MiB output) the peak RSS of the process (server
 * and this client) must stay within a bound while the server answers. */
static void test_batch_memory(void)
{
	enum { NSUB = 1000, B = 100 };
	static json_int_t ids[NSUB];
	struct evr_control_conf conf;
	char path[128], err[256];
	struct cli k, o;

	bulk_subscribe("E_RSS", false, NSUB, 4, ids);
	evr_control_conf_default(&conf);
	snprintf(path, sizeof(path), "%s/rss.sock", dir);
	conf.socket_path = path;
	struct evr_control *c2 = evr_control_create(&conf, M, NULL, err, sizeof(err));
	CHECK_MSG(c2 != NULL, "%s", err);
	if (!c2)
		return;

	size_t cap = (size_t)B * 120 + 8, off = 0;
	char *req = xrealloc(NULL, cap);
	off += (size_t)snprintf(req, cap, "[");
	for (int i = 0; i < B; i++)
		off += (size_t)snprintf(req + off, cap - off,
		                        "%s{\"jsonrpc\":\"2.0\",\"method\":\"evr_subscribers_list\","
		                        "\"params\":{\"limit\":1000},\"id\":%d}",
		                        i ? "," : "", i);
	snprintf(req + off, cap - off, "]\n");

	cli_open_on(&k, c2, path);
	long before = maxrss_kb();
	uint64_t t0 = evr_now_ms();
	CHECK(cli_send_on(&k, c2, req, strlen(req)));
	free(req);
	/* the server answers the whole line in one turn: wait for its first
	 * bytes, then take the peak before this client buffers the reply */
	struct pollfd p = { .fd = k.fd, .events = POLLIN };
	while (poll(&p, 1, 0) == 0 && evr_now_ms() - t0 < 20000)
		pump_ms(c2, 5);
	long grown_mb = (maxrss_kb() - before) / 1024;
	uint64_t took = evr_now_ms() - t0;
	printf("batch of %d x evr_subscribers_list(1000): peak RSS +%ld MiB, %llu ms\n", B,
	       grown_mb, (unsigned long long)took);
#if TEST_ASAN
	/* ASan's quarantine keeps freed blocks resident: no RSS bound here. */
	(void)grown_mb;
#else
	CHECK_MSG(grown_mb < 48, "peak RSS grew %ld MiB (bound 48)", grown_mb);
#endif

	char *line = cli_line_on(&k, c2, 20000);
	CHECK_MSG(line != NULL, "batch answer missing (eof %d)", k.eof);
	CHECK(line == NULL || strlen(line) + 1 <= conf.max_output);
	json_t *r = parse(line);
	free(line);
	CHECK_EQ_INT((int)json_array_size(r), B);
	CHECK_EQ_INT((int)json_array_size(json_object_get(res(json_array_get(r, 0)), "subscribers")),
	             1000);
	CHECK_EQ_INT(ecode(json_array_get(r, B - 1)), 503);
	CHECK_EQ_INT(ival(json_array_get(r, B - 1), "id"), B - 1);
	json_decref(r);

	cli_open_on(&o, c2, path);
	t0 = evr_now_ms();
	r = call_on(&o, c2, "evr_version", NULL);
	CHECK(res(r) != NULL);
	CHECK(evr_now_ms() - t0 < 1000);
	json_decref(r);
	cli_close(&o);
	cli_close(&k);
	evr_control_destroy(c2);
	bulk_unsubscribe(C, NSUB, ids);
}

/* evr_events_list pages like evr_subscribers_list (after/limit/next): 2500 distinct
 * events (~100 KB, over this server's 64 KiB max_output) listed in pages,
 * each reply under max_output, every event exactly once. */
static void test_events_paging(void)
{
	enum { N = 2500 };
	static json_int_t ids[N];
	static unsigned char seen[N];
	struct cli k;
	char req[256], after[64] = "";
	int pages = 0, total = 0;

	bulk_subscribe("E_EVP", true, N, 0, ids);
	cli_open(&k);
	for (;;) {
		if (after[0])
			snprintf(req, sizeof(req),
			         "{\"jsonrpc\":\"2.0\",\"method\":\"evr_events_list\",\"id\":1,"
			         "\"params\":{\"limit\":1000,\"after\":\"%s\"}}\n", after);
		else
			snprintf(req, sizeof(req),
			         "{\"jsonrpc\":\"2.0\",\"method\":\"evr_events_list\",\"id\":1,"
			         "\"params\":{\"limit\":1000}}\n");
		CHECK(cli_send(&k, req));
		char *line = cli_line(&k);
		CHECK_MSG(line != NULL, "page %d missing", pages);
		if (!line)
			break;
		CHECK_MSG(strlen(line) + 1 < MAX_OUTPUT, "page of %zu bytes", strlen(line));
		json_t *r = parse(line);
		free(line);
		json_t *ev = json_object_get(res(r), "events"), *e;
		size_t i;
		CHECK_MSG(ev != NULL, "evr_events_list: %s", emsg(r));
		CHECK(json_array_size(ev) <= 1000);
		json_array_foreach(ev, i, e) {
			const char *name = sval(e, "event");
			unsigned n;
			if (sscanf(name, "E_EVP_%u", &n) == 1 && n < N) {
				seen[n]++;
				total++;
			}
		}
		pages++;
		json_t *next = json_object_get(res(r), "next");
		if (!json_is_string(next)) {
			CHECK(json_is_null(next));
			json_decref(r);
			break;
		}
		snprintf(after, sizeof(after), "%s", json_string_value(next));
		json_decref(r);
		if (pages > 10)
			break;
	}
	CHECK_MSG(pages >= 3, "%d pages", pages);
	CHECK_EQ_INT(total, N);
	for (int i = 0; i < N; i++)
		CHECK_MSG(seen[i] == 1, "E_EVP_%05d listed %d times", i, seen[i]);

	/* defaults and cursor semantics: limit 100; "after" is exclusive and
	 * compares case-insensitively, as selectors do; bad limits refused */
	json_t *r = call(&k, "evr_events_list", NULL);
	CHECK_EQ_INT((int)json_array_size(json_object_get(res(r), "events")), 100);
	CHECK(json_is_string(json_object_get(res(r), "next")));
	json_decref(r);
	r = call(&k, "evr_events_list", "{\"after\":\"e_evp_00099\",\"limit\":1}");
	CHECK_EQ_STR(sval(json_array_get(json_object_get(res(r), "events"), 0), "event"),
	             "E_EVP_00100");
	CHECK_EQ_STR(sval(res(r), "next"), "E_EVP_00100");
	json_decref(r);
	r = call(&k, "evr_events_list", "{\"limit\":0}");
	CHECK_EQ_INT(ecode(r), -32602);
	json_decref(r);
	r = call(&k, "evr_events_list", "[\"E_EVP_02498\",1]");
	CHECK_EQ_STR(sval(json_array_get(json_object_get(res(r), "events"), 0), "event"),
	             "E_EVP_02499");
	json_decref(r);
	cli_close(&k);
	bulk_unsubscribe(C, N, ids);
}

/* ---- slowloris ---- */

#define HOLD_MAX 8

/* Child: become uid, open n connections (the first `partial` send half a
 * request), tell the parent (readyfd), then report for each connection the
 * first line it got (code, message, data), whether it was closed and after
 * how many ms, on wfd. Waits at most 8 s. */
static void hold_child(const char *path, uid_t uid, int n, int partial, int readyfd,
                       int wfd)
{
	int fds[HOLD_MAX];
	char buf[HOLD_MAX][1024];
	size_t len[HOLD_MAX] = { 0 };
	long closed_ms[HOLD_MAX];
	uint64_t t0;

	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		_exit(3);
	for (int i = 0; i < n; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		set_sun(&sa, path);
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(4);
		if (i < partial && write(fds[i], "{\"jsonrpc\":\"2.0\",\"me", 20) != 20)
			_exit(5);
		closed_ms[i] = -1;
	}
	t0 = evr_now_ms();
	if (write(readyfd, "r", 1) != 1)
		_exit(6);
	for (int open = n; open > 0 && evr_now_ms() - t0 < 8000;) {
		struct pollfd p[HOLD_MAX];
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = closed_ms[i] < 0 ? fds[i] : -1,
				                .events = POLLIN };
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[1024];
			ssize_t r = recv(fds[i], tmp, sizeof(tmp), 0);
			if (r <= 0) {
				closed_ms[i] = (long)(evr_now_ms() - t0);
				open--;
				continue;
			}
			size_t take = (size_t)r < sizeof(buf[i]) - 1 - len[i]
			                      ? (size_t)r : sizeof(buf[i]) - 1 - len[i];
			memcpy(buf[i] + len[i], tmp, take);
			len[i] += take;
		}
	}
	for (int i = 0; i < n; i++) {
		char out[512];
		buf[i][len[i]] = '\0';
		json_t *j = json_loads(buf[i], JSON_DISABLE_EOF_CHECK, NULL);
		json_t *e = json_object_get(j, "error");
		int m = snprintf(out, sizeof(out), "%ld %d %s|%s\n", closed_ms[i],
		                 (int)json_integer_value(json_object_get(e, "code")),
		                 sval(e, "message"), sval(e, "data"));
		if (write(wfd, out, (size_t)m) != m)
			_exit(7);
		json_decref(j);
	}
	_exit(0);
}

struct holder {
	pid_t pid;
	int rfd;      /* reports */
	char rep[4096];
};

static void holder_start(struct holder *h, struct evr_control *c, const char *path,
                         uid_t uid, int n, int partial)
{
	int rp[2], rd[2];
	char b;

	CHECK(pipe(rp) == 0 && pipe(rd) == 0);
	fflush(NULL);
	h->pid = fork();
	CHECK(h->pid >= 0);
	if (h->pid == 0) {
		close(rp[0]);
		close(rd[0]);
		hold_child(path, uid, n, partial, rd[1], rp[1]);
	}
	close(rp[1]);
	close(rd[1]);
	h->rfd = rp[0];
	/* the server is this thread: serve it while the child connects */
	struct pollfd p = { .fd = rd[0], .events = POLLIN };
	uint64_t t0 = evr_now_ms();
	while (poll(&p, 1, 0) == 0 && evr_now_ms() - t0 < 5000)
		pump_ms(c, 5);
	CHECK_MSG(read(rd[0], &b, 1) == 1, "holder uid %u did not connect", (unsigned)uid);
	close(rd[0]);
}

/* Serve until the child exited, then take its report. */
static void holder_finish(struct holder *h, struct evr_control *c)
{
	uint64_t t0 = evr_now_ms();
	int st = -1;
	ssize_t got = 0, r;

	while (waitpid(h->pid, &st, WNOHANG) == 0 && evr_now_ms() - t0 < 12000)
		pump_ms(c, 10);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "holder status %d", st);
	while ((r = read(h->rfd, h->rep + got, sizeof(h->rep) - 1 - (size_t)got)) > 0)
		got += r;
	h->rep[got] = '\0';
	close(h->rfd);
}

/* Line i of a holder's report: "closed_ms code message|data". */
static const char *holder_line(const struct holder *h, int i, char *out, size_t cap)
{
	const char *p = h->rep;
	for (int k = 0; k < i && p; k++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	snprintf(out, cap, "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
	return out;
}

/* Issue 8 item 7: non-root peers holding every slot (idle, half-sent) must
 * not lock out root; one uid cannot take more than max_per_uid; idle and
 * half-sent connections are closed after their timeouts with a reason. */
static void test_slowloris(void)
{
	struct evr_control_conf conf;
	char path[128], err[256], l[512];
	struct holder a, b, cl;
	struct cli root;
	json_t *r;

	if (geteuid() != 0) {
		printf("test_slowloris: skipped (needs root to act as uid 65534)\n");
		return;
	}
	CHECK(chmod(dir, 0711) == 0);
	evr_control_conf_default(&conf);
	snprintf(path, sizeof(path), "%s/slow.sock", dir);
	conf.socket_path = path;
	conf.socket_mode = 0666;
	conf.max_clients = 6;
	conf.max_per_uid = 4;
	conf.idle_timeout_ms = 1000;
	conf.request_timeout_ms = 1000;
	struct evr_control *c2 = evr_control_create(&conf, M, NULL, err, sizeof(err));
	CHECK_MSG(c2 != NULL, "%s", err);
	if (!c2)
		return;

	/* uid 65534: 5 connections, 2 half-sent: 4 held, the 5th refused */
	holder_start(&a, c2, path, 65534, 5, 2);
	uint64_t t0 = evr_now_ms();
	while (stat_on(c2, "clients_accepted") + stat_on(c2, "clients_refused_uid") < 5 &&
	       evr_now_ms() - t0 < 3000)
		pump_ms(c2, 5);
	CHECK_EQ_INT(stat_on(c2, "clients_accepted"), 4);
	CHECK_EQ_INT(stat_on(c2, "clients_refused_uid"), 1);
	/* uid 65533: takes the last non-root slot; its second is refused */
	holder_start(&b, c2, path, 65533, 2, 0);
	t0 = evr_now_ms();
	while (stat_on(c2, "clients_accepted") + stat_on(c2, "clients_refused") < 6 &&
	       evr_now_ms() - t0 < 3000)
		pump_ms(c2, 5);
	CHECK_EQ_INT(stat_on(c2, "clients_accepted"), 5);
	CHECK_EQ_INT(stat_on(c2, "clients_refused"), 1);
	/* every non-root slot is held: root still gets in and is served */
	cli_open_on(&root, c2, path);
	r = call_on(&root, c2, "evr_version", NULL);
	CHECK_MSG(res(r) != NULL, "root refused: %d %s", ecode(r), emsg(r));
	json_decref(r);
	CHECK_EQ_INT(stat_on(c2, "clients_accepted"), 6);

	/* the holders are closed by the timeouts (bounded: they give up at 8 s) */
	holder_finish(&a, c2);
	holder_finish(&b, c2);
	for (int i = 0; i < 4; i++) {
		long ms = -2;
		int code = 0;
		holder_line(&a, i, l, sizeof(l));
		CHECK_MSG(sscanf(l, "%ld %d", &ms, &code) == 2, "report %s", l);
		CHECK_MSG(ms >= 0 && ms < 1000 + 2500, "connection %d closed at %ld ms", i, ms);
		if (i < 2) /* half-sent */
			CHECK_MSG(code == -32600 && strstr(l, "request timeout"), "%d: %s", i, l);
		else
			CHECK_MSG(code == 503 && strstr(l, "idle timeout"), "%d: %s", i, l);
	}
	holder_line(&a, 4, l, sizeof(l));
	CHECK_MSG(strstr(l, " 503 too many connections from this user|uid 65534 holds 4 "
	                    "connections, control.max_per_uid is 4"),
	          "per-uid refusal: %s", l);
	CHECK_MSG(atol(l) >= 0 && atol(l) < 1000, "refused connection closed at %ld", atol(l));
	holder_line(&b, 0, l, sizeof(l));
	CHECK_MSG(strstr(l, " 503 idle timeout"), "b0: %s", l);
	holder_line(&b, 1, l, sizeof(l));
	CHECK_MSG(strstr(l, " 503 too many clients"), "b1: %s", l);
	CHECK_EQ_INT(stat_on(c2, "clients_timeout"), 2);
	CHECK(stat_on(c2, "clients_idle") >= 3);

	/* slots free again: an ordinary non-root client is served */
	holder_start(&cl, c2, path, 65533, 1, 0);
	holder_finish(&cl, c2); /* it only idles: closed by idle timeout */
	holder_line(&cl, 0, l, sizeof(l));
	CHECK_MSG(strstr(l, " 503 idle timeout"), "later client: %s", l);
	CHECK_EQ_INT(stat_on(c2, "clients_accepted"), 7);
	cli_close(&root);
	evr_control_destroy(c2);
	CHECK(chmod(dir, 0700) == 0);
}

int main(void)
{
	struct evr_matcher_conf mc;
	struct evr_control_conf conf;
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/evr_ctl_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/evrd.sock", dir);
	rcu_register_thread();
	evr_matcher_conf_default(&mc);
	M = evr_matcher_create(&mc);
	CHECK(M != NULL);
	evr_control_conf_default(&conf);
	conf.socket_path = sock_path;
	conf.max_line = MAX_LINE;
	conf.max_output = MAX_OUTPUT;
	C = evr_control_create(&conf, M, NULL, err, sizeof(err));
	CHECK_MSG(C != NULL, "create: %s", err);
	if (!C)
		EVR_TEST_DONE();

	test_create();
	test_subscribe();
	test_pagination();
	test_static_never();
	test_raise();
	test_heartbeat();
	test_visible();
	test_mi();
	test_metrics();
	test_protocol();
	test_oversize();
	test_disconnects();
	test_slow_reader();
	test_hooks_and_limits();
	test_stats();
	test_batch_bound();
	test_batch_memory();
	test_events_paging();
	test_slowloris();

	evr_control_destroy(C);
	struct stat st;
	CHECK(stat(sock_path, &st) < 0 && errno == ENOENT);
	evr_matcher_destroy(M);
	rcu_unregister_thread();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	EVR_TEST_DONE();
}
