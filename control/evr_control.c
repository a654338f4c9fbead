/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control socket server: newline-delimited JSON-RPC 2.0 on a unix stream
 * socket, served by one control thread with poll().
 *
 * Design note. The control thread also runs the matcher's writer side and
 * raise_event, so the server must never block on a client: every socket is
 * non-blocking, and each client owns two buffers with hard bounds. Input is
 * kept across reads until a '\n' arrives, up to max_line (+1 for the
 * newline); a line that cannot fit is answered once and the client closed,
 * since there is no way to resynchronise inside a JSON text. Output is
 * written as far as the kernel takes it and the rest kept; a client whose
 * unread responses would exceed max_output is dropped rather than slowed
 * down, because slowing it down would mean either blocking or keeping its
 * requests unanswered for an unbounded time while it holds a slot (the
 * Redis client-output-buffer-limit model). Each poll turn reads at most one
 * chunk per client and serves at most TURN_MS of its requests (at least one
 * line; the rest on its next turn), so one busy client cannot starve the
 * others: a client loading a million subscriptions delays another's request
 * by about a turn (tests/e2e/control_stall_e2e.sh).
 *
 * Closing is a state, not an action: a client that half-closes (or sent an
 * oversize line) gets its pending responses flushed first, with a deadline
 * so one that never reads cannot hold its slot. Requests are parsed with
 * jansson and dispatched through the method table in evr_actions.c; this
 * file knows JSON-RPC framing and nothing about subscriptions.
 *
 * QSBR: the thread goes offline only around poll(), the one place it may
 * sleep; pointers handed out by the matcher during a request are never kept
 * across that point.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "evr_control_internal.h"
#include "evr_esl.h"
#include "evr_store.h"

#define READ_CHUNK (64u * 1024u)   /* bytes read per client per poll turn */
#define TURN_MS 2u                  /* a client's requests served per turn: at
                                     * least one line, then until this long */
#define IN_INITIAL 4096u            /* first input buffer size */
#define ACCEPT_BURST 32u            /* accepts per poll turn */
#define CLOSE_LINGER_MS 2000u       /* flush deadline of a closing client */
#define REMOTE_PER_TURN 4096u      /* other appliances' changes applied per turn */
#define VISIBLE_WAIT_MS 250u        /* cap on waiting for a subscription to be
                                     * published before answering */

struct evr_client {
	int fd;
	bool eof;         /* peer sent EOF: nothing more to read */
	bool hup;         /* peer closed both ways: nobody reads our answers */
	bool closing;     /* no more requests; flush output, then close */
	uint64_t close_by_ms;
	uid_t uid;        /* peer's uid (SO_PEERCRED) */
	gid_t gid;
	bool reader;      /* read role (evr_control_roles) */
	uint64_t last_ms; /* accept, last served line or send progress: idle */
	uint64_t partial_ms; /* first byte of an incomplete line, 0 = none */
	char *in;         /* unparsed bytes [0, in_len) */
	uint32_t in_len, in_cap;
	uint32_t scanned; /* in[0, scanned) is known to hold no '\n' */
	bool more;        /* its turn ended with lines left in `in` */
	char *out;        /* unsent bytes [out_off, out_len) */
	size_t out_off, out_len, out_cap;
	/* Replies held for the store (evr_store.h): output is counted in
	 * absolute bytes (out[i] is byte sent_abs + i - out_off), and a hold
	 * says that the reply [abs, end) may not be sent before the store has
	 * committed change seq. Holds are in output order; bytes before the
	 * first hold are sent as usual. */
	uint64_t sent_abs;
	struct hold {
		uint64_t abs, end, seq;
	} *holds;
	uint32_t h_head, h_n, h_cap;
};

#define seterr evr_control_seterr

void evr_control_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void evr_control_conf_default(struct evr_control_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->socket_mode = 0660;
	conf->max_clients = 64;
	conf->max_line = 1u << 20;
	conf->max_fanout = 65536;
	conf->list_max = 1000;
	conf->max_output = 16u << 20;
	conf->max_batch = 100;
	conf->max_per_uid = 16;
	conf->idle_timeout_ms = 60000;
	conf->request_timeout_ms = 10000;
}

void evr_control_count_error(struct evr_control *c, int code)
{
	switch (code) {
#define X(k)                                                                   \
	case k:                                                                \
		c->errors[EVR_ERRIDX_##k]++;                                   \
		return;
		EVR_CONTROL_ERROR_CODES(X)
#undef X
	default:
		c->errors[EVR_ERRIDX_OTHER]++;
	}
}

void evr_control_error_name(unsigned idx, char *buf, size_t cap)
{
	static const int codes[] = {
#define X(k) k,
		EVR_CONTROL_ERROR_CODES(X)
#undef X
	};

	if (idx < sizeof(codes) / sizeof(codes[0]))
		snprintf(buf, cap, "%d", codes[idx]);
	else
		snprintf(buf, cap, "other");
}

/* ---- JSON-RPC framing ----------------------------------------------------- */

/* The answer when even an error object cannot be built. */
const char evr_control_oom_text[] =
	"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":500,\"message\":\"out of memory\"},"
	"\"id\":null}";

static json_t *rpc_error(struct evr_control *c, json_t *id, int code, const char *msg,
                         const char *data)
{
	json_t *e = json_object();
	json_t *r = json_object();

	evr_control_count_error(c, code);
	if (!e || !r)
		goto nomem;
	if (json_object_set_new(e, "code", json_integer(code)) ||
	    json_object_set_new(e, "message", evr_jstr(msg)) ||
	    (data && json_object_set_new(e, "data", evr_jstr(data))))
		goto nomem;
	if (json_object_set_new(r, "jsonrpc", json_string("2.0")) ||
	    json_object_set_new(r, "error", e) ||
	    json_object_set_new(r, "id", id ? json_incref(id) : json_null()))
		goto nomem_r;
	return r;
nomem:
	json_decref(e);
nomem_r:
	json_decref(r);
	return NULL;
}

/* Map an action's -errno when it did not choose a code itself. */
static int code_for_errno(int rc)
{
	switch (rc) {
	case -EINVAL:
		return EVR_RPC_INVALID_PARAMS;
	case -ENOENT:
		return EVR_RPC_NOT_FOUND;
	case -ENOSPC:
		return EVR_RPC_UNAVAILABLE;
	default:
		return EVR_RPC_INTERNAL;
	}
}

static json_t *handle_one(struct evr_control *c, json_t *req)
{
	json_t *id, *ver, *method, *params, *result = NULL, *resp;
	const struct evr_control_method *m;
	char msg[512];
	int code = 0, rc;

	c->cnt.requests++;
	if (!json_is_object(req))
		return rpc_error(c, NULL, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: not an object", NULL);
	id = json_object_get(req, "id");
	if (id && !json_is_string(id) && !json_is_number(id) && !json_is_null(id))
		return rpc_error(c, NULL, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: id must be a string, a number or null",
		                 NULL);
	ver = json_object_get(req, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
		return rpc_error(c, id, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: jsonrpc must be \"2.0\"", NULL);
	method = json_object_get(req, "method");
	if (!json_is_string(method))
		return rpc_error(c, id, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: method must be a string", NULL);
	params = json_object_get(req, "params");
	if (params && !json_is_object(params) && !json_is_array(params))
		return rpc_error(c, id, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: params must be an object or an array",
		                 NULL);
	if (!id)
		c->cnt.notifications++;

	m = evr_control_method_find(json_string_value(method));
	if (!m) {
		snprintf(msg, sizeof(msg), "Method not found: %s", json_string_value(method));
		resp = rpc_error(c, id, EVR_RPC_METHOD_NOT_FOUND, msg, NULL);
		goto out;
	}
	if (m->access == EVR_ACCESS_W && c->caller.reader) {
		c->cnt.refused_role++;
		if (evr_control_refusal_first(c))
			evr_control_audit(c, "%s refused: read role", m->name);
		if (c->caller.uid != (uid_t)-1)
			snprintf(msg, sizeof(msg), "Forbidden: %s changes the router and needs "
			         "the admin role (uid %u has read; control.admin_uids / "
			         "admin_gids)", m->name, (unsigned)c->caller.uid);
		else
			snprintf(msg, sizeof(msg), "Forbidden: %s changes the router and needs "
			         "the admin role (%s callers have read)", m->name, c->caller.via);
		resp = rpc_error(c, id, EVR_RPC_FORBIDDEN, msg, NULL);
		goto out;
	}
	msg[0] = '\0';
	rc = m->fn(c, params, &result, &code, msg, sizeof(msg));
	if (m->access == EVR_ACCESS_W) {
		if (rc == 0 && result)
			evr_control_audit(c, "%s ok", m->name);
		else
			evr_control_audit(c, "%s error %d %s", m->name, code ? code : code_for_errno(rc), msg);
	}
	if (rc == 0 && !result) {
		rc = -ENOMEM;
		code = EVR_RPC_INTERNAL;
	}
	if (rc) {
		json_decref(result);
		if (!code)
			code = code_for_errno(rc);
		if (!msg[0])
			snprintf(msg, sizeof(msg), "%s", strerror(-rc));
		resp = rpc_error(c, id, code, msg, NULL);
		goto out;
	}
	resp = json_object();
	if (!resp || json_object_set_new(resp, "jsonrpc", json_string("2.0")) ||
	    json_object_set_new(resp, "result", result) ||
	    json_object_set_new(resp, "id", id ? json_incref(id) : json_null())) {
		json_decref(resp);
		resp = rpc_error(c, id, EVR_RPC_INTERNAL, "out of memory", NULL);
	}
out:
	if (!id) {
		/* Notification: executed (and counted), never answered. */
		json_decref(resp);
		return NULL;
	}
	return resp;
}

/*
 * Batches. A batch line is small (max_line) but each element may build a
 * large result (subscribers_list), so results are serialised one by one
 * into `budget` bytes as they are built and each JSON tree is freed at
 * once: memory stays bounded by the budget, not by batch length x result
 * size. Room for one error object per remaining answered element is
 * reserved up front, so once a result does not fit, it and every later
 * element are answered with a 503 error object carrying its id (the later
 * ones are not executed) and the line still fits the client's output.
 */
#define BATCH_ERR_ROOM 160u /* an error object without its id, + ',' */

static const char batch_msg_result[] =
	"batch output limit reached: request executed, result too large to return";
static const char batch_msg_skipped[] =
	"batch output limit reached: request not executed";

struct batch_text {
	char *buf;
	size_t len, cap;
};

/* Room for n more bytes (+2: the closing ']' and the line's '\n'). */
static bool bt_room(struct batch_text *t, size_t n)
{
	if (t->len + n + 2 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *b;

		while (cap < t->len + n + 2)
			cap *= 2;
		b = realloc(t->buf, cap);
		if (!b)
			return false;
		t->buf = b;
		t->cap = cap;
	}
	return true;
}

static bool bt_append(struct batch_text *t, const char *p, size_t n)
{
	if (!bt_room(t, n))
		return false;
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	return true;
}

/* Bytes reserved to answer element e with a limit error (0: notification). */
static size_t batch_reserve(json_t *e)
{
	json_t *id = json_is_object(e) ? json_object_get(e, "id") : json_null();

	if (json_is_object(e) && !id)
		return 0;
	return BATCH_ERR_ROOM + json_dumpb(id, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Serialise r (consumed) into t if it fits within budget, keeping `reserve`
 * bytes free. 1 appended, 0 did not fit, -1 out of memory. */
static int batch_put(struct batch_text *t, json_t *r, size_t reserve, size_t budget)
{
	size_t n = json_dumpb(r, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t sep = t->len > 1 ? 1 : 0;
	int rc = 0;

	if (n && t->len + sep + n + 1 + reserve <= budget) {
		rc = -1;
		if (bt_append(t, ",", sep) && bt_room(t, n)) {
			t->len += json_dumpb(r, t->buf + t->len, n,
			                     JSON_COMPACT | JSON_ENCODE_ANY);
			rc = 1;
		}
	}
	json_decref(r);
	return rc;
}

/*
 * Run a batch (a non-empty array of at most max_batch elements) and return
 * its response text "[..]" (no newline) of at most budget bytes in *out, or
 * NULL when every element was a notification. -ENOMEM, or -ENOSPC when not
 * even the error objects would fit the budget (nothing was executed).
 */
static int batch_run(struct evr_control *c, json_t *req, size_t budget, char **out,
                     size_t *outlen)
{
	struct batch_text t = { 0 };
	size_t n = json_array_size(req), reserve = 0, i;
	bool stopped = false;

	*out = NULL;
	*outlen = 0;
	for (i = 0; i < n; i++)
		reserve += batch_reserve(json_array_get(req, i));
	if (reserve + 2 > budget)
		return -ENOSPC;
	if (!bt_append(&t, "[", 1))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(req, i), *r;
		const char *why = batch_msg_skipped;
		size_t mine = batch_reserve(e);
		int rc;

		reserve -= mine;
		if (!stopped) {
			r = handle_one(c, e);
			if (!r)
				continue; /* notification */
			rc = batch_put(&t, r, reserve + mine, budget);
			if (rc > 0)
				continue;
			if (rc < 0)
				goto nomem;
			stopped = true;
			why = batch_msg_result;
		} else {
			c->cnt.requests++;
			if (!mine) {
				c->cnt.batch_limited++; /* notification: not executed */
				continue;
			}
		}
		c->cnt.batch_limited++;
		json_t *id = json_is_object(e) ? json_object_get(e, "id") : NULL;
		if (id && !json_is_string(id) && !json_is_number(id))
			id = NULL;
		r = rpc_error(c, id, EVR_RPC_UNAVAILABLE, why, NULL);
		if (!r || batch_put(&t, r, reserve, budget) <= 0)
			goto nomem; /* its room was reserved: only malloc can fail */
	}
	if (t.len == 1) {
		free(t.buf); /* a batch of notifications gets no response at all */
		return 0;
	}
	if (!bt_append(&t, "]", 1))
		goto nomem;
	*out = t.buf;
	*outlen = t.len;
	return 0;
nomem:
	free(t.buf);
	return -ENOMEM;
}

/* A batch line: NULL response for all notifications, else the text in
 * *out, or an error object (too long, no room, out of memory). */
static json_t *batch_handle(struct evr_control *c, json_t *req, size_t budget, char **out,
                            size_t *outlen)
{
	char data[96];
	int rc;

	*out = NULL;
	c->cnt.batches++;
	if (json_array_size(req) == 0) {
		c->cnt.requests++;
		return rpc_error(c, NULL, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: empty batch", NULL);
	}
	if (json_array_size(req) > c->conf.max_batch) {
		c->cnt.requests++;
		snprintf(data, sizeof(data), "%zu requests, control.max_batch is %u",
		         json_array_size(req), c->conf.max_batch);
		return rpc_error(c, NULL, EVR_RPC_INVALID_REQUEST,
		                 "Invalid Request: batch too long", data);
	}
	rc = batch_run(c, req, budget, out, outlen);
	if (rc == -ENOSPC) {
		c->cnt.requests++;
		c->cnt.batch_limited++;
		snprintf(data, sizeof(data), "error answers alone exceed the %zu bytes left",
		         budget);
		return rpc_error(c, NULL, EVR_RPC_UNAVAILABLE,
		                 "batch output limit reached: batch not executed", data);
	}
	if (rc < 0)
		return rpc_error(c, NULL, EVR_RPC_INTERNAL, "out of memory", NULL);
	return NULL;
}

json_t *evr_control_handle(struct evr_control *c, json_t *req)
{
	json_error_t jerr;
	json_t *r;
	char *text;
	size_t len;

	if (!json_is_array(req))
		return handle_one(c, req);
	r = batch_handle(c, req, c->conf.max_output, &text, &len);
	if (r || !text)
		return r;
	r = json_loadb(text, len, 0, &jerr);
	free(text);
	return r ? r : rpc_error(c, NULL, EVR_RPC_INTERNAL, "out of memory", NULL);
}

/* ---- clients ---------------------------------------------------------------- */

static void client_free(struct evr_client *cl)
{
	close(cl->fd);
	free(cl->in);
	free(cl->out);
	free(cl->holds);
	free(cl);
}

static void client_start_closing(struct evr_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	cl->close_by_ms = evr_now_ms() + CLOSE_LINGER_MS;
	/* Whatever else was buffered will never be served. */
	cl->in_len = cl->scanned = 0;
}

/* Queue bytes for the client; false when it had to be dropped (over
 * max_output), and the caller then closes it. */
static bool client_queue(struct evr_control *c, struct evr_client *cl, const char *p,
                         size_t n)
{
	size_t pending = cl->out_len - cl->out_off;

	if (cl->hup)
		return true; /* nobody to read it; the request still ran */
	if (pending + n > c->conf.max_output) {
		c->cnt.clients_dropped++;
		return false;
	}
	if (cl->out_off && cl->out_len + n > cl->out_cap) {
		memmove(cl->out, cl->out + cl->out_off, pending);
		cl->out_len = pending;
		cl->out_off = 0;
	}
	if (cl->out_len + n > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *o;

		while (cap < cl->out_len + n)
			cap *= 2;
		if (cap > c->conf.max_output)
			cap = c->conf.max_output;
		o = realloc(cl->out, cap);
		if (!o) {
			c->cnt.clients_dropped++;
			return false;
		}
		cl->out = o;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, p, n);
	cl->out_len += n;
	return true;
}

static bool client_queue_oom(struct evr_control *c, struct evr_client *cl)
{
	return client_queue(c, cl, evr_control_oom_text, strlen(evr_control_oom_text)) &&
	       client_queue(c, cl, "\n", 1);
}

static bool client_queue_json(struct evr_control *c, struct evr_client *cl, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);
	bool ok;

	c->cnt.responses++;
	if (!s)
		return client_queue_oom(c, cl);
	size_t n = strlen(s);
	s[n] = '\n'; /* replaces the NUL: we send by length */
	ok = client_queue(c, cl, s, n + 1);
	free(s);
	return ok;
}

/* End (out index) of what may be sent now: up to the first held reply. */
static size_t client_sendable(const struct evr_client *cl)
{
	if (!cl->h_n)
		return cl->out_len;
	size_t end = cl->out_off + (size_t)(cl->holds[cl->h_head].abs - cl->sent_abs);
	return end < cl->out_len ? end : cl->out_len;
}

/* Write what the kernel takes. -errno when the client is gone. */
static int client_flush(struct evr_client *cl)
{
	size_t lim;

	while (cl->out_off < (lim = client_sendable(cl))) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, lim - cl->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		cl->out_off += (size_t)w;
		cl->sent_abs += (uint64_t)w;
	}
	if (cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	return 0;
}

/* ---- replies held until durable (evr_store.h) ------------------------------ */

void evr_control_set_store(struct evr_control *c, struct evr_store *s)
{
	c->store = s;
}

static uint64_t client_out_abs(const struct evr_client *cl)
{
	return cl->sent_abs + (cl->out_len - cl->out_off);
}

/* Hold the reply [abs, end) until change seq is committed. false: out of
 * memory (the reply then goes out unheld, as before the store). */
static bool client_hold(struct evr_client *cl, uint64_t abs, uint64_t end, uint64_t seq)
{
	if (cl->h_head + cl->h_n == cl->h_cap) {
		if (cl->h_head) {
			memmove(cl->holds, cl->holds + cl->h_head, cl->h_n * sizeof(*cl->holds));
			cl->h_head = 0;
		} else {
			uint32_t cap = cl->h_cap ? cl->h_cap * 2 : 16;
			struct hold *h = realloc(cl->holds, cap * sizeof(*h));
			if (!h)
				return false;
			cl->holds = h;
			cl->h_cap = cap;
		}
	}
	cl->holds[cl->h_head + cl->h_n++] = (struct hold){abs, end, seq};
	return true;
}

/* The change of a held reply could not be made durable: say so in it
 * ("durable": false and "store_error" in each result), in place. */
static void mark_not_durable(json_t *r, const char *why)
{
	json_t *res = json_object_get(r, "result");
	if (json_is_object(res)) {
		json_object_set_new(res, "durable", json_false());
		json_object_set_new(res, "store_error", json_string(why));
	}
}

/* The reply text[0, len) with every result marked not durable (why), as
 * new malloc'd text (NUL-terminated, the NUL a spare byte), or NULL. */
static char *annotate_not_durable(const char *text, size_t len, const char *why)
{
	json_t *r = json_loadb(text, len, JSON_DECODE_ANY, NULL);
	char *out;

	if (!r)
		return NULL;
	if (json_is_array(r)) {
		size_t k;
		json_t *e;
		json_array_foreach(r, k, e)
			mark_not_durable(e, why);
	} else {
		mark_not_durable(r, why);
	}
	out = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(r);
	return out;
}

static void client_rewrite_hold(struct evr_control *c, struct evr_client *cl,
                                struct hold *h, const char *why)
{
	size_t i0 = cl->out_off + (size_t)(h->abs - cl->sent_abs);
	size_t len = (size_t)(h->end - h->abs);
	char *text;

	c->cnt.store_not_durable++;
	text = len ? annotate_not_durable(cl->out + i0, len - 1, why) : NULL;
	if (!text)
		return;
	size_t nlen = strlen(text) + 1, tail = cl->out_len - (i0 + len);
	if (nlen > len && cl->out_len + (nlen - len) > cl->out_cap) {
		char *o = realloc(cl->out, cl->out_len + (nlen - len));
		if (!o) {
			free(text);
			return;
		}
		cl->out = o;
		cl->out_cap = cl->out_len + (nlen - len);
	}
	memmove(cl->out + i0 + nlen, cl->out + i0 + len, tail);
	memcpy(cl->out + i0, text, nlen - 1);
	cl->out[i0 + nlen - 1] = '\n';
	cl->out_len = cl->out_len - len + nlen;
	free(text);
	/* later holds moved with the bytes */
	int64_t d = (int64_t)nlen - (int64_t)len;
	h->end = (uint64_t)((int64_t)h->end + d);
	for (uint32_t j = 1; j < cl->h_n; j++) {
		struct hold *n = &cl->holds[cl->h_head + j];
		n->abs = (uint64_t)((int64_t)n->abs + d);
		n->end = (uint64_t)((int64_t)n->end + d);
	}
}

/* An MI reply held for the store (evr_control_defer_reply). */
struct evr_deferred {
	struct evr_deferred *next;
	uint64_t seq;
	char *text;
	size_t len;
	evr_deferred_fn fn;
	void *ctx;
};

uint64_t evr_control_store_seq(struct evr_control *c)
{
	return c->store ? evr_store_queued_seq(c->store) : 0;
}

bool evr_control_defer_reply(struct evr_control *c, uint64_t seq0, char *text, size_t len,
                             evr_deferred_fn fn, void *ctx)
{
	uint64_t seq = evr_control_store_seq(c);
	struct evr_deferred *d;

	if (seq <= seq0 || !(d = malloc(sizeof(*d)))) {
		if (seq > seq0)
			c->cnt.store_not_durable++; /* no memory to hold it: sent now */
		return false;
	}
	*d = (struct evr_deferred){.seq = seq, .text = text, .len = len, .fn = fn, .ctx = ctx};
	if (c->defer_tail)
		c->defer_tail->next = d;
	else
		c->defer_head = d;
	c->defer_tail = d;
	return true;
}

static void release_deferred(struct evr_control *c, uint64_t done, bool all)
{
	char why[192];
	struct evr_deferred *d;

	while ((d = c->defer_head) && (all || d->seq <= done)) {
		c->defer_head = d->next;
		if (!c->defer_head)
			c->defer_tail = NULL;
		if (!all && evr_store_seq_failed(c->store, d->seq, why, sizeof(why))) {
			char *t = annotate_not_durable(d->text, d->len, why);
			c->cnt.store_not_durable++;
			if (t) {
				free(d->text);
				d->text = t;
				d->len = strlen(t);
			}
		}
		if (!all)
			d->fn(c, d->ctx, d->text, d->len); /* takes the text */
		else
			free(d->text);
		free(d->ctx);
		free(d);
	}
}

/* Release the replies whose changes the store has committed (or failed to:
 * those say so); then send what may be sent. Control thread. */
static void release_holds(struct evr_control *c)
{
	uint64_t done = evr_store_done_seq(c->store);
	char why[192];

	release_deferred(c, done, false);
	for (uint32_t i = 0; i < c->n_clients; i++) {
		struct evr_client *cl = c->clients[i];
		bool any = false;

		if (!cl)
			continue;
		while (cl->h_n && cl->holds[cl->h_head].seq <= done) {
			struct hold *h = &cl->holds[cl->h_head];
			if (evr_store_seq_failed(c->store, h->seq, why, sizeof(why)))
				client_rewrite_hold(c, cl, h, why);
			cl->h_head++;
			cl->h_n--;
			any = true;
		}
		if (!cl->h_n)
			cl->h_head = 0;
		if (any)
			(void)client_flush(cl); /* a dead peer shows at the next poll */
	}
}

/*
 * The one request executor of every transport (stream lines, MI datagrams,
 * MI FIFO requests): parse the text, run the request or batch, and return
 * the answer as compact JSON text in at most `room` bytes. A single result
 * larger than room is replaced by a 503 error carrying its id (the request
 * did run); a batch is answered within min(room, max_output) - 1 bytes as
 * batch_run explains. *bad is set when the text was not JSON (the caller
 * counts it under its own name); *handled grows by the requests run.
 * Returns 1 with *out (malloc'd, *outlen bytes, one spare byte after them
 * for a '\n') to send, 0 when nothing is answered (notifications), -ENOMEM
 * (then send evr_control_oom_text). Control thread, online.
 */

int evr_control_exec(struct evr_control *c, const char *p, size_t n, size_t room,
                     bool *bad, int *handled, char **out, size_t *outlen)
{
	json_error_t jerr;
	json_t *req, *resp;
	char *text = NULL;
	size_t tlen = 0;

	*out = NULL;
	*outlen = 0;
	*bad = false;
	req = json_loadb(p, n, JSON_DECODE_ANY, &jerr);
	if (!req) {
		char data[JSON_ERROR_TEXT_LENGTH + 48];

		*bad = true;
		(*handled)++;
		snprintf(data, sizeof(data), "%s (column %d)", jerr.text, jerr.column);
		resp = rpc_error(c, NULL, EVR_RPC_PARSE_ERROR, "Parse error", data);
	} else {
		uint64_t before = c->cnt.requests;

		if (json_is_array(req)) {
			size_t budget = room < c->conf.max_output ? room : c->conf.max_output;

			resp = batch_handle(c, req, budget - 1, &text, &tlen);
		} else {
			resp = handle_one(c, req);
			if (resp && json_dumpb(resp, NULL, 0, JSON_COMPACT) + 1 > room) {
				/* Answer rather than drop the client for one
				 * oversized result (list_max x long filters). */
				json_t *id = json_object_get(req, "id");

				json_decref(resp);
				resp = rpc_error(c, id, EVR_RPC_UNAVAILABLE,
				                 "result larger than the output limit", NULL);
			}
		}
		json_decref(req);
		*handled += (int)(c->cnt.requests - before);
	}
	if (text) {
		json_decref(resp); /* batch_handle returns one or the other */
		*out = text;      /* batch_text keeps room for a '\n' */
		*outlen = tlen;
		return 1;
	}
	if (!resp)
		return 0;
	text = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(resp);
	if (!text)
		return -ENOMEM;
	*out = text; /* the NUL is the spare byte */
	*outlen = strlen(text);
	return 1;
}

/* One request line (without its '\n'). false when the client was dropped. */
static bool client_line(struct evr_control *c, struct evr_client *cl, const char *p,
                        size_t n, int *handled)
{
	size_t pending = cl->out_len - cl->out_off, i, len;
	char *text;
	bool bad;
	int rc;

	if (n && p[n - 1] == '\r')
		n--;
	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			break;
	if (i == n)
		return true; /* blank line: keep-alive from interactive tools */

	evr_control_set_caller(c, cl->reader ? EVR_ROLE_READ : EVR_ROLE_ADMIN, cl->uid, cl->gid,
	                       "stream", NULL);
	uint64_t q0 = c->store ? evr_store_queued_seq(c->store) : 0;
	uint64_t abs0 = client_out_abs(cl);
	/* A closed peer reads nothing: no output bound applies to it. */
	rc = evr_control_exec(c, p, n,
	                      cl->hup ? SIZE_MAX
	                      : pending >= c->conf.max_output ? c->conf.max_output
	                                                      : c->conf.max_output - pending,
	                      &bad, handled, &text, &len);
	if (bad)
		c->cnt.bad_lines++;
	if (rc == 0)
		return true;
	c->cnt.responses++;
	if (rc < 0) {
		return client_queue_oom(c, cl);
	}
	text[len] = '\n';
	bool ok = client_queue(c, cl, text, len + 1);
	free(text);
	/* A request that changed subscriptions is answered once the change is
	 * durable: its reply waits for the store's group commit while the
	 * thread goes on serving (the store may also have queued a reaper's
	 * change meanwhile: that reply then waits one commit for nothing). */
	uint64_t q1 = c->store ? evr_store_queued_seq(c->store) : 0;
	if (ok && q1 > q0 && !cl->hup && !client_hold(cl, abs0, client_out_abs(cl), q1))
		c->cnt.store_not_durable++;
	return ok;
}

/* Serve the complete lines in the input buffer for one turn: at least one,
 * then until TURN_MS have passed (the rest waits for the client's next turn,
 * cl->more), so a client loading a million subscriptions cannot keep the
 * others waiting for more than a turn of its own (issue 13). At EOF the
 * unterminated tail too. false when the client must be closed now. */
static bool client_serve(struct evr_control *c, struct evr_client *cl, int *handled)
{
	uint32_t pos = 0;
	uint64_t t0 = evr_now_ms();

	cl->more = false;
	while (!cl->closing) {
		if (pos && evr_now_ms() - t0 >= TURN_MS) {
			cl->more = memchr(cl->in + pos, '\n', cl->in_len - pos) != NULL;
			if (cl->more)
				break;
		}
		char *start = cl->in + pos;
		char *nl = memchr(cl->in + cl->scanned, '\n', cl->in_len - cl->scanned);

		if (!nl) {
			cl->scanned = cl->in_len;
			if (cl->in_len - pos > c->conf.max_line)
				goto too_large;
			break;
		}
		size_t len = (size_t)(nl - start);
		if (len > c->conf.max_line)
			goto too_large;
		pos += (uint32_t)len + 1;
		cl->scanned = pos;
		if (!client_line(c, cl, start, len, handled))
			return false;
	}
	if (cl->closing)
		return true;
	if (pos) {
		memmove(cl->in, cl->in + pos, cl->in_len - pos);
		cl->in_len -= pos;
		cl->scanned -= pos;
		cl->last_ms = evr_now_ms();
		cl->partial_ms = 0;
	}
	if (cl->more)
		return true; /* the tail is not the last line yet */
	if (cl->in_len && !cl->partial_ms)
		cl->partial_ms = evr_now_ms();
	if (cl->eof) {
		/* After a half-close (shutdown(SHUT_WR), as `nc -U` and socat
		 * do) an unterminated last line is a request still awaited; after
		 * a full close it is a fragment nobody will read an answer to. */
		if (cl->in_len && !cl->hup &&
		    !client_line(c, cl, cl->in, cl->in_len, handled))
			return false;
		client_start_closing(cl);
	}
	return true;

too_large: {
	char data[64];
	json_t *resp;

	c->cnt.bad_lines++;
	c->cnt.clients_oversize++;
	(*handled)++;
	snprintf(data, sizeof(data), "line longer than %u bytes", c->conf.max_line);
	resp = rpc_error(c, NULL, EVR_RPC_INVALID_REQUEST, "request too large", data);
	client_start_closing(cl);
	bool ok = !resp || client_queue_json(c, cl, resp);
	json_decref(resp);
	return ok;
}
}

void evr_control_wait_visible(struct evr_control *c)
{
	if (!evr_matcher_wait_visible(c->m, VISIBLE_WAIT_MS))
		c->cnt.visible_late++;
}

/* Readable: one read, then serve. false when the client must be closed. */
static bool client_input(struct evr_control *c, struct evr_client *cl, int *handled)
{
	char discard[4096];
	ssize_t r;

	if (cl->closing) {
		/* Drain so the peer does not see a reset while our last
		 * response is in flight; the bytes are never served. */
		r = recv(cl->fd, discard, sizeof(discard), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			cl->eof = true;
		return true;
	}
	if (cl->more)
		goto serve; /* lines left from its last turn: no more input yet */
	uint32_t limit = c->conf.max_line + 1; /* a full line and its '\n' */
	if (cl->in_len == cl->in_cap && cl->in_cap < limit) {
		uint32_t cap = cl->in_cap ? cl->in_cap * 2 : IN_INITIAL;
		char *in;

		if (cap > limit || cap < cl->in_cap)
			cap = limit;
		in = realloc(cl->in, cap);
		if (!in)
			return false;
		cl->in = in;
		cl->in_cap = cap;
	}
	size_t room = cl->in_cap - cl->in_len;
	if (room > READ_CHUNK)
		room = READ_CHUNK;
	r = recv(cl->fd, cl->in + cl->in_len, room, MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return true;
		return false;
	}
	if (r == 0)
		cl->eof = true;
	cl->in_len += (uint32_t)r;
serve:;
	bool ok = client_serve(c, cl, handled);
	/* Answer "subscribed" only when the subscription matches: Hyperscan-
	 * indexed ones are published by the matcher's maintenance thread
	 * within milliseconds, once per turn for all of this turn's requests. */
	evr_control_wait_visible(c);
	return ok;
}

static void client_close(struct evr_control *c, uint32_t i)
{
	client_free(c->clients[i]);
	c->clients[i] = NULL;
	c->cnt.clients_closed++;
}

/*
 * The table is full: before refusing a newcomer, close clients whose peer has
 * already gone and left nothing unread (a burst of short-lived evrctl calls
 * otherwise holds slots until the next poll turn notices the hang-up).
 */
static void reap_hungup(struct evr_control *c)
{
	for (uint32_t i = c->n_clients; i-- > 0;) {
		char b;
		ssize_t r = recv(c->clients[i]->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			client_close(c, i);
	}
	uint32_t w = 0;
	for (uint32_t i = 0; i < c->n_clients; i++)
		if (c->clients[i])
			c->clients[w++] = c->clients[i];
	c->n_clients = w;
}

/* Answer a connection we will not serve with one error line, then close
 * it. Best effort: the peer may not read, and the refusal is what matters. */
static void refuse(struct evr_control *c, int fd, int code, const char *msg, const char *data)
{
	json_t *e = rpc_error(c, NULL, code, msg, data);
	char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;

	if (s) {
		size_t n = strlen(s);

		s[n] = '\n';
		ssize_t w = send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
	}
	free(s);
	json_decref(e);
	close(fd);
}

static uid_t peer_uid(int fd, gid_t *gid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	/* Unknown peers count as one unprivileged uid, never as root. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
		*gid = (gid_t)-1;
		return (uid_t)-1;
	}
	*gid = cr.gid;
	return cr.uid;
}

static bool in_ids(const uint32_t *v, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* Is uid (primary gid) or any of its supplementary groups in v? The
 * groups come from the user database (getgrouplist): once per accept, on
 * the control thread. */
static bool in_groups(const uint32_t *v, uint32_t n, uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = 256;

	if (!n)
		return false;
	if (in_ids(v, n, gid))
		return true;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res ||
	    getgrouplist(res->pw_name, gid, groups, &ng) < 0)
		return false;
	for (int i = 0; i < ng; i++)
		if (in_ids(v, n, groups[i]))
			return true;
	return false;
}

/* See struct evr_control_roles. */
int evr_control_peer_role(const struct evr_control *c, uid_t uid, gid_t gid)
{
	const struct evr_control_roles *r = c->conf.roles;

	if (!r || uid == 0)
		return EVR_ROLE_ADMIN;
	if (uid == (uid_t)-1)
		return EVR_ROLE_NONE;
	if (in_ids(r->admin_uid, r->n_admin_uid, uid) ||
	    in_groups(r->admin_gid, r->n_admin_gid, uid, gid))
		return EVR_ROLE_ADMIN;
	if (in_ids(r->read_uid, r->n_read_uid, uid) ||
	    in_groups(r->read_gid, r->n_read_gid, uid, gid) ||
	    (!r->n_read_uid && !r->n_read_gid))
		return EVR_ROLE_READ;
	return EVR_ROLE_NONE;
}

void evr_control_set_caller(struct evr_control *c, int role, uid_t uid, gid_t gid,
                            const char *via, const char *peer)
{
	c->caller = (struct evr_caller){ .reader = role != EVR_ROLE_ADMIN, .uid = uid,
		                         .gid = gid, .via = via };
	if (peer)
		snprintf(c->caller.peer, sizeof(c->caller.peer), "%s", peer);
}

void evr_control_set_caller_admin(struct evr_control *c, const char *via)
{
	evr_control_set_caller(c, EVR_ROLE_ADMIN, (uid_t)-1, (gid_t)-1, via, NULL);
}

/* The caller as the audit trail names it: "uid 1000 gid 1000 (stream): ",
 * "http 127.0.0.1: ", "fifo: ". */
static int caller_prefix(const struct evr_control *c, char *buf, size_t cap)
{
	int n;

	if (c->caller.uid != (uid_t)-1)
		n = snprintf(buf, cap, "uid %u gid %u (%s): ", (unsigned)c->caller.uid,
		             (unsigned)c->caller.gid, c->caller.via);
	else if (c->caller.peer[0])
		n = snprintf(buf, cap, "%s %s: ", c->caller.via, c->caller.peer);
	else
		n = snprintf(buf, cap, "%s: ", c->caller.via ? c->caller.via : "internal");
	return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}

bool evr_control_refusal_first(struct evr_control *c)
{
	struct evr_refused *slot = NULL;
	uint64_t now = evr_now_ms();
	char key[sizeof(c->refused[0].key)];

	/* the key is the audit prefix: via and uid/gid or address */
	caller_prefix(c, key, sizeof(key));
	for (unsigned i = 0; i < EVR_REFUSED_SLOTS; i++) {
		struct evr_refused *r = &c->refused[i];

		if (r->key[0] && strcmp(r->key, key) == 0) {
			if (now - r->at_ms < EVR_REFUSED_TTL_MS)
				return false;
			slot = r;
			break;
		}
		if (!slot || !r->key[0] || (slot->key[0] && r->at_ms < slot->at_ms))
			slot = r; /* a free slot, else the oldest */
	}
	memcpy(slot->key, key, sizeof(key));
	slot->at_ms = now;
	return true;
}

/*
 * Audit bursts. Every write is one line, but a client loading 100k
 * subscriptions must not write 100k lines: per caller + method + outcome
 * (the line's first three words: "evr_subscribe ok", "evr_subscribe error
 * 400"), the first AUDIT_BURST lines of a second are written, the rest
 * counted and summarised once at the end of that second ("... ok x5234
 * (suppressed)"). AUDIT_AGG_SLOTS keys are followed per second; a key
 * beyond them is written line by line (distinct writes stay visible).
 */
#define AUDIT_BURST 10u
#define AUDIT_AGG_SLOTS 32u

struct evr_audit_agg {
	char key[192];      /* caller prefix + first three words; "" = free */
	uint32_t lines;     /* written this second */
	uint64_t suppressed;
};

/* Write the summaries of the second that ended and start a new one. */
static void audit_flush(struct evr_control *c)
{
	char line[256];

	if (!c->audit_agg)
		return;
	for (unsigned i = 0; i < AUDIT_AGG_SLOTS; i++) {
		struct evr_audit_agg *a = &c->audit_agg[i];

		if (a->key[0] && a->suppressed && c->hooks.audit) {
			snprintf(line, sizeof(line), "%s \u00d7%" PRIu64 " (suppressed)", a->key,
			         a->suppressed);
			c->hooks.audit(c->hooks.ctx, line);
		}
		a->key[0] = '\0';
		a->lines = 0;
		a->suppressed = 0;
	}
}

static void audit_tick(struct evr_control *c, uint64_t now_ms)
{
	if (now_ms / 1000u != c->audit_sec) {
		audit_flush(c);
		c->audit_sec = now_ms / 1000u;
	}
}

/* false: fold this line into its key's summary. */
static bool audit_admit(struct evr_control *c, const char *line, size_t prefix)
{
	char key[sizeof(c->audit_agg[0].key)];
	struct evr_audit_agg *free_slot = NULL;
	size_t n = prefix;
	int words = 0;

	if (!c->audit_agg && !(c->audit_agg = calloc(AUDIT_AGG_SLOTS, sizeof(*c->audit_agg))))
		return true;
	audit_tick(c, evr_now_ms());
	for (; line[n] && n + 1 < sizeof(key); n++)
		if (line[n] == ' ' && ++words == 3)
			break;
	memcpy(key, line, n);
	key[n] = '\0';
	for (unsigned i = 0; i < AUDIT_AGG_SLOTS; i++) {
		struct evr_audit_agg *a = &c->audit_agg[i];

		if (!a->key[0]) {
			if (!free_slot)
				free_slot = a;
			continue;
		}
		if (strcmp(a->key, key) != 0)
			continue;
		if (a->lines < AUDIT_BURST) {
			a->lines++;
			return true;
		}
		a->suppressed++;
		c->cnt.audit_suppressed++;
		return false;
	}
	if (free_slot) {
		memcpy(free_slot->key, key, n + 1);
		free_slot->lines = 1;
	}
	return true;
}

void evr_control_audit(struct evr_control *c, const char *fmt, ...)
{
	char line[512];
	int n;
	va_list ap;

	if (!c->hooks.audit)
		return;
	n = caller_prefix(c, line, sizeof(line));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (audit_admit(c, line, (size_t)n))
		c->hooks.audit(c->hooks.ctx, line);
}

/*
 * Admission: max_clients in all, the last slot kept for root (uid 0) so an
 * operator can always get in, and at most max_per_uid connections for any
 * other uid, so one local user cannot hold every slot (slowloris); idle and
 * half-sent connections are timed out in evr_control_process.
 */
static void accept_clients(struct evr_control *c)
{
	char data[96];

	for (unsigned k = 0; k < ACCEPT_BURST; k++) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or a transient error: retried next turn */
		gid_t gid;
		uid_t uid = peer_uid(fd, &gid);
		uint32_t cap = c->conf.max_clients;
		int role = evr_control_peer_role(c, uid, gid);

		if (role == EVR_ROLE_NONE) {
			c->cnt.clients_refused_role++;
			snprintf(data, sizeof(data), "uid %u is in no control.admin_* / read_* list",
			         (unsigned)uid);
			evr_control_set_caller(c, EVR_ROLE_READ, uid, gid, "stream", NULL);
			if (evr_control_refusal_first(c))
				evr_control_audit(c, "connection refused: no role");
			refuse(c, fd, EVR_RPC_FORBIDDEN, "permission denied", data);
			continue;
		}

		if (uid != 0 && cap > 1)
			cap--; /* the root slot */
		if (c->n_clients >= cap)
			reap_hungup(c);
		if (c->n_clients >= cap) {
			c->cnt.clients_refused++;
			refuse(c, fd, EVR_RPC_UNAVAILABLE, "too many clients", NULL);
			continue;
		}
		if (uid != 0) {
			uint32_t same = 0;

			for (uint32_t i = 0; i < c->n_clients; i++)
				same += c->clients[i]->uid == uid;
			if (same >= c->conf.max_per_uid) {
				c->cnt.clients_refused_uid++;
				snprintf(data, sizeof(data),
				         "uid %u holds %u connections, control.max_per_uid is %u",
				         (unsigned)uid, same, c->conf.max_per_uid);
				refuse(c, fd, EVR_RPC_UNAVAILABLE, "too many connections from this user", data);
				continue;
			}
		}
		struct evr_client *cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			c->cnt.clients_refused++;
			continue;
		}
		cl->fd = fd;
		cl->uid = uid;
		cl->gid = gid;
		cl->reader = role == EVR_ROLE_READ;
		cl->last_ms = evr_now_ms();
		c->clients[c->n_clients++] = cl;
		c->cnt.clients_accepted++;
	}
}

/* Time a client out: an incomplete line after request_timeout_ms, or no
 * request after idle_timeout_ms. Returns the next deadline (ms) otherwise. */
static uint64_t client_deadline(struct evr_control *c, struct evr_client *cl, uint64_t now)
{
	uint64_t due;
	json_t *e;

	if (cl->closing)
		return cl->close_by_ms;
	due = cl->partial_ms ? cl->partial_ms + c->conf.request_timeout_ms
	                     : cl->last_ms + c->conf.idle_timeout_ms;
	if (now < due)
		return due;
	if (cl->partial_ms) {
		c->cnt.clients_timeout++;
		e = rpc_error(c, NULL, EVR_RPC_INVALID_REQUEST,
		              "request timeout: line incomplete after control.request_timeout_ms",
		              NULL);
	} else {
		c->cnt.clients_idle++;
		e = rpc_error(c, NULL, EVR_RPC_UNAVAILABLE,
		              "idle timeout: no request for control.idle_timeout_ms", NULL);
	}
	client_start_closing(cl);
	if (e && !client_queue_json(c, cl, e))
		cl->close_by_ms = now; /* cannot even say why: close now */
	json_decref(e);
	return cl->close_by_ms;
}

/* ---- server loop --------------------------------------------------------- */

unsigned evr_control_pollfds(struct evr_control *c, struct pollfd *fds, unsigned cap,
                             int *timeout_ms)
{
	unsigned need = c->n_clients + 1, k;
	uint64_t now = 0;

	*timeout_ms = -1;
	if (cap >= 1)
		fds[0] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	for (uint32_t i = 0; i < c->n_clients; i++) {
		struct evr_client *cl = c->clients[i];
		short ev = 0;

		if (!cl->eof)
			ev |= POLLIN;
		if (cl->more)
			*timeout_ms = 0; /* its next turn comes without new input */
		if (cl->out_off < client_sendable(cl))
			ev |= POLLOUT; /* held replies wait for the store's eventfd */
		if (!now)
			now = evr_now_ms();
		uint64_t due = client_deadline(c, cl, now);
		if (cl->out_off < client_sendable(cl))
			ev |= POLLOUT; /* a timeout may just have queued its answer */
		uint64_t left64 = due > now ? due - now : 0;
		int left = left64 > INT32_MAX ? INT32_MAX : (int)left64;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = left;
		if (i + 1 < cap)
			fds[i + 1] = (struct pollfd){ .fd = cl->fd, .events = ev };
	}
	/* MI entries follow the clients; process finds them at mi_base. */
	c->mi_base = need;
	for (k = 0; k < 2; k++)
		if (c->mi_dgram[k])
			need += evr_mi_dgram_pollfds(c->mi_dgram[k], fds + need,
			                             need < cap ? cap - need : 0);
	if (c->mi_fifo)
		need += evr_mi_fifo_pollfds(c, fds + need, need < cap ? cap - need : 0,
		                            timeout_ms);
	if (c->http) {
		int fd = evr_http_pollfd(c->http, timeout_ms);

		if (need < cap)
			fds[need] = (struct pollfd){.fd = fd, .events = POLLIN};
		need++;
	}
	c->esl_base = need;
	if (c->esl)
		need += evr_esl_pollfds(c->esl, fds + need, need < cap ? cap - need : 0,
		                        timeout_ms);
	c->store_base = need;
	if (c->store) {
		if (need < cap)
			fds[need] = (struct pollfd){.fd = evr_store_fd(c->store), .events = POLLIN};
		need++;
	}
	return need;
}

int evr_control_process(struct evr_control *c, const struct pollfd *fds, unsigned n)
{
	uint32_t nc = n ? n - 1 : 0, w = 0;
	uint64_t now = evr_now_ms();
	int handled = 0;
	unsigned base = c->mi_base, k;

	if (nc > c->n_clients)
		nc = c->n_clients;
	/* MI first: the client walk below closes and compacts clients. */
	if (base && base <= n) {
		for (k = 0; k < 2; k++)
			if (c->mi_dgram[k])
				handled += evr_mi_dgram_process(c, c->mi_dgram[k], fds + base,
				                                n - base);
		if (c->mi_fifo)
			handled += evr_mi_fifo_process(c, fds + base, n - base);
	}
	/* every turn: libmicrohttpd also keeps its connection timeouts here */
	if (c->http)
		evr_http_run(c->http);
	audit_tick(c, now); /* the last second's audit summaries */
	/* every turn too: ESL auth and close deadlines */
	if (c->esl)
		handled += evr_esl_process(c->esl, c->esl_base <= n ? fds + c->esl_base : fds,
		                           c->esl_base <= n ? n - c->esl_base : 0);
	if (c->store) {
		if (c->store_base < n && (fds[c->store_base].revents & POLLIN))
			evr_store_drain_fd(c->store);
		release_holds(c);
		/* other appliances' changes (a shared store), a bounded share of
		 * the turn: requests keep being served while a resync applies */
		evr_store_apply_remote(c->store, c->m, REMOTE_PER_TURN);
	}
	for (uint32_t i = 0; i < c->n_clients; i++) {
		struct evr_client *cl = c->clients[i];
		short re = 0;

		if (i < nc && fds[i + 1].fd == cl->fd)
			re = fds[i + 1].revents;
		if (re & POLLNVAL)
			goto close;
		if ((re & POLLHUP) && !cl->hup) {
			/* AF_UNIX reports it only when the peer closed both ways:
			 * what it already sent is still executed (a fire-and-forget
			 * client), the answers are discarded. */
			cl->hup = true;
			cl->sent_abs += cl->out_len - cl->out_off;
			cl->out_off = cl->out_len = 0;
			cl->h_head = cl->h_n = 0; /* nothing left to hold */
		}
		if (re & POLLOUT) {
			if (client_flush(cl) < 0)
				goto close;
			cl->last_ms = now; /* reading its answers is not idling */
		}
		if ((re & (POLLIN | POLLHUP | POLLERR)) || cl->more) {
			if (!client_input(c, cl, &handled))
				goto close;
			if (client_flush(cl) < 0)
				goto close;
		}
		client_deadline(c, cl, now);
		if (cl->closing && (cl->out_off == cl->out_len || now >= cl->close_by_ms))
			goto close;
		continue;
close:
		client_close(c, i);
	}
	/* Compact after the walk: fds[] indexes must stay valid during it. */
	for (uint32_t i = 0; i < c->n_clients; i++)
		if (c->clients[i])
			c->clients[w++] = c->clients[i];
	c->n_clients = w;
	if (n && (fds[0].revents & POLLIN))
		accept_clients(c);
	return handled;
}

int evr_control_poll(struct evr_control *c, int timeout_ms)
{
	int to, r, e;
	unsigned n = evr_control_pollfds(c, c->pfds, c->pfds_cap, &to);

	if (to < 0 || (timeout_ms >= 0 && timeout_ms < to))
		to = timeout_ms;
	rcu_thread_offline();
	r = poll(c->pfds, n, to);
	e = errno;
	rcu_thread_online();
	if (r < 0)
		return -e;
	return evr_control_process(c, c->pfds, n);
}

/* ---- lifecycle --------------------------------------------------------------- */

int evr_control_parse_hostport(const char *s, int socktype, struct sockaddr_storage *ss,
                               socklen_t *len)
{
	char host[64];
	const char *port;
	struct addrinfo hints = { .ai_socktype = socktype,
	                          .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	size_t hl;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':')
			return -EINVAL;
		hl = (size_t)(e - s - 1);
		port = e + 2;
		s++;
	} else {
		port = strrchr(s, ':');
		if (!port)
			return -EINVAL;
		hl = (size_t)(port - s);
		port++;
	}
	if (!hl || hl >= sizeof(host) || !*port)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}


/* Remove a stale socket file; refuse a live one or a non-socket. label
 * names the setting in errors; type is the socket type served there. */
int evr_control_clear_stale(const char *label, const char *path, int type, char *err,
                            size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		seterr(err, errlen, "%s %s: %s", label, path, strerror(-rc));
		return rc;
	}
	if (!S_ISSOCK(st.st_mode)) {
		seterr(err, errlen, "%s %s: exists and is not a socket, "
		       "refusing to replace it", label, path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		seterr(err, errlen, "%s: socket(): %s", label, strerror(-rc));
		return rc;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
	close(fd);
	if (rc == 0 || rc == -EAGAIN || rc == -EINPROGRESS) {
		/* Someone accepts (or has a full backlog): a live daemon. */
		seterr(err, errlen, "%s %s: another process is serving it", label,
		       path);
		return -EADDRINUSE;
	}
	if (rc != -ECONNREFUSED) {
		seterr(err, errlen, "%s %s: cannot probe it: %s", label, path,
		       strerror(-rc));
		return rc;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		seterr(err, errlen, "%s %s: cannot remove stale socket: %s", label,
		       path, strerror(-rc));
		return rc;
	}
	return 0;
}

static int check_conf(struct evr_control_conf *cf, char *err, size_t errlen)
{
	struct sockaddr_un sa;

	if (!cf->socket_path || !cf->socket_path[0]) {
		seterr(err, errlen, "control socket: socket_path missing");
		return -EINVAL;
	}
	if (strlen(cf->socket_path) >= sizeof(sa.sun_path)) {
		seterr(err, errlen, "control socket %s: path longer than %zu bytes",
		       cf->socket_path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (!cf->max_clients)
		cf->max_clients = 64;
	if (!cf->max_line)
		cf->max_line = 1u << 20;
	if (!cf->max_fanout)
		cf->max_fanout = 65536;
	if (!cf->list_max)
		cf->list_max = 1000;
	if (!cf->max_output)
		cf->max_output = 16u << 20;
	if (!cf->max_batch)
		cf->max_batch = 100;
	if (!cf->max_per_uid)
		cf->max_per_uid = 16;
	if (!cf->idle_timeout_ms)
		cf->idle_timeout_ms = 60000;
	if (!cf->request_timeout_ms)
		cf->request_timeout_ms = 10000;
	if (cf->max_clients > 65536) {
		seterr(err, errlen, "control socket: max_clients must be 1..65536 (got %u)",
		       cf->max_clients);
		return -EINVAL;
	}
	if (cf->max_line < 64 || cf->max_line > (1u << 30)) {
		seterr(err, errlen, "control socket: max_line must be 64..%u (got %u)",
		       1u << 30, cf->max_line);
		return -EINVAL;
	}
	if (cf->max_output < 4096) {
		seterr(err, errlen, "control socket: max_output must be >= 4096 (got %u)",
		       cf->max_output);
		return -EINVAL;
	}
	if (cf->socket_mode & ~07777u) {
		seterr(err, errlen, "control socket: socket_mode %o is not a mode",
		       (unsigned)cf->socket_mode);
		return -EINVAL;
	}
	return 0;
}

struct evr_control *evr_control_create(const struct evr_control_conf *conf,
                                       struct evr_matcher *m,
                                       const struct evr_control_hooks *hooks,
                                       char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct evr_control *c;
	struct stat st;
	int rc, reader;

	if (!conf || !m) {
		seterr(err, errlen, "control socket: missing %s", conf ? "matcher" : "conf");
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		seterr(err, errlen, "control socket: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	c->listen_fd = c->udp4_fd = c->udp6_fd = -1;
	c->m = m;
	c->started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &c->started_mono);
	evr_fs_clock_init(&c->fs_clk);
	if (conf->fs_std) {
		c->fs_std = conf->fs_std;
	} else if ((rc = evr_fs_std_init(&c->fs_own, NULL, NULL, NULL, NULL)) == 0) {
		c->fs_std = &c->fs_own;
	} else {
		seterr(err, errlen, "control socket: Core-UUID: %s", strerror(-rc));
		free(c);
		errno = -rc;
		return NULL;
	}
	if (hooks)
		c->hooks = *hooks;
	c->conf = *conf;
	rc = check_conf(&c->conf, err, errlen);
	if (rc)
		goto fail_conf;
	if (conf->limits)
		c->limits = *conf->limits;
	else
		evr_limits_default(&c->limits);
	rc = evr_limits_validate(&c->limits, err, errlen);
	if (rc)
		goto fail_conf;
	c->conf.limits = &c->limits;
	rc = -ENOMEM;
	c->path = strdup(conf->socket_path);
	c->clients = calloc(c->conf.max_clients, sizeof(*c->clients));
	c->pfds_cap = c->conf.max_clients + 1u + EVR_MI_MAX_FDS + 1u /* store */;
	c->pfds = calloc(c->pfds_cap, sizeof(*c->pfds));
	if (!c->path || !c->clients || !c->pfds) {
		seterr(err, errlen, "control socket: out of memory");
		goto fail_alloc;
	}
	c->conf.socket_path = c->path;

	rc = evr_control_clear_stale("control socket", c->path, SOCK_STREAM, err, errlen);
	if (rc)
		goto fail_alloc;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		rc = -errno;
		seterr(err, errlen, "control socket: socket(): %s", strerror(-rc));
		goto fail_alloc;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		seterr(err, errlen, "control socket %s: bind: %s", c->path, strerror(-rc));
		goto fail_socket;
	}
	if (stat(c->path, &st) == 0) {
		c->sock_dev = st.st_dev;
		c->sock_ino = st.st_ino;
	}
	if (c->conf.socket_mode && chmod(c->path, c->conf.socket_mode) < 0) {
		rc = -errno;
		seterr(err, errlen, "control socket %s: chmod %o: %s", c->path,
		       (unsigned)c->conf.socket_mode, strerror(-rc));
		goto fail_bound;
	}
	if (listen(c->listen_fd, SOMAXCONN) < 0) {
		rc = -errno;
		seterr(err, errlen, "control socket %s: listen: %s", c->path, strerror(-rc));
		goto fail_bound;
	}
	/* Last: a matcher reader index cannot be given back. */
	reader = evr_matcher_reader_register(m);
	if (reader < 0) {
		rc = reader;
		seterr(err, errlen, "control socket: no free matcher reader index "
		       "(raise max_readers)");
		goto fail_bound;
	}
	c->reader = (unsigned)reader;
	return c;

fail_bound:
	unlink(c->path);
fail_socket:
	close(c->listen_fd);
fail_alloc:
	free(c->pfds);
	free(c->clients);
	free(c->path);
fail_conf:
	free(c);
	errno = -rc;
	return NULL;
}

void evr_control_unlink_ours(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	/* A successor may have replaced the file meanwhile: only ours. */
	if (path && stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}

void evr_control_destroy(struct evr_control *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n_clients; i++)
		client_free(c->clients[i]);
	release_deferred(c, 0, true); /* evrd stops: nobody will send them */
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		evr_control_unlink_ours(c->path, c->sock_dev, c->sock_ino);
	}
	evr_mi_dgram_free(c->mi_dgram[0]);
	evr_mi_dgram_free(c->mi_dgram[1]);
	evr_mi_fifo_free(c->mi_fifo);
	evr_http_close(c->http);
	evr_esl_free(c->esl);
	audit_flush(c);
	free(c->audit_agg);
	if (c->udp4_fd >= 0)
		close(c->udp4_fd);
	if (c->udp6_fd >= 0)
		close(c->udp6_fd);
	json_decref(c->ev_ids);
	json_decref(c->ev_names);
	json_decref(c->stat_base);
	free(c->pfds);
	free(c->clients);
	free(c->path);
	free(c);
}

int evr_control_mi_open(struct evr_control *c, const struct evr_mi_conf *conf, char *err,
                        size_t errlen)
{
	int rc = 0;

	if (c->mi_dgram[0] || c->mi_dgram[1] || c->mi_fifo || c->http) {
		seterr(err, errlen, "mi: already open");
		return -EALREADY;
	}
	c->mi_udp_role = conf->udp_role == EVR_MI_UDP_ADMIN  ? EVR_ROLE_ADMIN
	                 : conf->udp_role == EVR_MI_UDP_NONE ? EVR_ROLE_NONE
	                                                     : EVR_ROLE_READ;
	if (conf->datagram_socket && conf->datagram_socket[0])
		rc = evr_mi_dgram_open(c, EVR_MI_DGRAM_UNIX, conf->datagram_socket, conf->mode,
		                       err, errlen);
	if (!rc && conf->datagram_udp && conf->datagram_udp[0])
		rc = evr_mi_dgram_open(c, EVR_MI_DGRAM_UDP, conf->datagram_udp, 0, err, errlen);
	if (!rc && conf->fifo && conf->fifo[0])
		rc = evr_mi_fifo_open(c, conf->fifo,
		                      conf->fifo_reply_dir && conf->fifo_reply_dir[0]
		                              ? conf->fifo_reply_dir
		                              : "/tmp/",
		                      conf->fifo_mode ? conf->fifo_mode : 0600, err, errlen);
	if (!rc && conf->http_listen && conf->http_listen[0]) {
		char herr[200];

		c->http = evr_http_open(c, conf->http_listen, conf->http_admin_token_file,
		                        conf->http_read_token_file, herr, sizeof(herr));
		if (!c->http) {
			rc = -errno;
			seterr(err, errlen, "mi.http.%s", herr); /* herr names the setting */
		}
	}
	if (rc) {
		evr_mi_dgram_free(c->mi_dgram[0]);
		evr_mi_dgram_free(c->mi_dgram[1]);
		evr_mi_fifo_free(c->mi_fifo);
		c->mi_dgram[0] = c->mi_dgram[1] = NULL;
		c->mi_fifo = NULL;
	}
	return rc;
}
