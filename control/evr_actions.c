/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control actions: one function per operation (STYLE 8), the method table
 * that dispatches JSON-RPC to them and answers list_methods, and the
 * fallback delivery used by raise_event when no dataplane hook is set.
 *
 * Parameters are bound by evr_params.c, the same way for every method.
 *
 * raise_event builds a struct evr_event in one allocation sized from the
 * params (this is not the hot path; the dataplane decodes into per-core
 * scratch instead) and matches it as an ordinary matcher reader with the
 * index reserved at evr_control_create. The matched subscriptions stay
 * valid until the control thread's next quiescent state, which only comes
 * when evr_control_poll goes offline, well after delivery.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evr_control_internal.h"
#include "evr_store.h"
#include "codec/evr_encode.h"
#include "event/evr_event_build.h"

#define LIST_PAGE 1024u /* subscriptions visited per evr_matcher_list call */

/* ---- small helpers ------------------------------------------------------- */

json_t *evr_jstr(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	/* Not UTF-8 (e.g. a subscription loaded from a file): keep ASCII. */
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static int map_matcher_rc(int rc, const char *err, int *code, char *msg, size_t msglen)
{
	switch (rc) {
	case -EINVAL:
	case -EACCES: /* the destination policy; err names the rule */
		return evr_rpc_fail(code, EVR_RPC_INVALID_PARAMS, msg, msglen, rc, "%s", err);
	case -ENOENT:
		return evr_rpc_fail(code, EVR_RPC_NOT_FOUND, msg, msglen, rc, "%s", err);
	case -ENOSPC:
		return evr_rpc_fail(code, EVR_RPC_UNAVAILABLE, msg, msglen, rc, "%s", err);
	default:
		return evr_rpc_fail(code, EVR_RPC_INTERNAL, msg, msglen, rc, "%s",
		            err[0] ? err : strerror(-rc));
	}
}

/* ---- event_subscribe ------------------------------------------------------- */

static const char *const sub_names[] = { "event",  "socket", "expire", "filters",
	                                 "format", "once",   "lenient" };
enum { SP_EVENT, SP_SOCKET, SP_EXPIRE, SP_FILTERS, SP_FORMAT, SP_ONCE, SP_LENIENT, SP__N };

/* filters: ["k=v",..] | {"k":"v",..} | "k=v". Texts are malloc'd into ft. */
static int collect_filters(json_t *v, char **ft, uint32_t *nf, int *code, char *msg,
                           size_t msglen)
{
	const char *key;
	json_t *e;
	size_t i;

	*nf = 0;
	if (evr_rpc_absent(v))
		return 0;
	if (json_is_string(v)) {
		ft[0] = strdup(json_string_value(v));
		if (!ft[0])
			return NOMEM();
		*nf = 1;
		return 0;
	}
	if (json_is_array(v)) {
		if (json_array_size(v) > EVR_MAX_FILTERS)
			return BAD("too many filters (%zu > %u)", json_array_size(v),
			           EVR_MAX_FILTERS);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return BAD("filters[%zu] must be a \"key=value\" string", i);
			ft[*nf] = strdup(json_string_value(e));
			if (!ft[*nf])
				return NOMEM();
			(*nf)++;
		}
		return 0;
	}
	if (!json_is_object(v))
		return BAD("parameter 'filters' must be an array of \"key=value\" strings "
		           "or an object");
	if (json_object_size(v) > EVR_MAX_FILTERS)
		return BAD("too many filters (%zu > %u)", json_object_size(v), EVR_MAX_FILTERS);
	json_object_foreach(v, key, e) {
		char num[40];
		const char *val = num;

		if (json_is_string(e))
			val = json_string_value(e);
		else if (evr_rpc_scalar_text(e, num, sizeof(num)) < 0)
			return BAD("filters.%.64s must be a string", key);
		size_t kl = strlen(key), vl = strlen(val);
		ft[*nf] = malloc(kl + vl + 2);
		if (!ft[*nf])
			return NOMEM();
		memcpy(ft[*nf], key, kl);
		ft[*nf][kl] = '=';
		memcpy(ft[*nf] + kl + 1, val, vl + 1);
		(*nf)++;
	}
	return 0;
}

int evr_action_subscribe(struct evr_matcher *m, json_t *params, json_t **result,
                         int *code, char *msg, size_t msglen)
{
	json_t *p[SP__N];
	char *ft[EVR_MAX_FILTERS] = { 0 };
	const char *event = NULL, *sock = NULL, *fmt = NULL;
	uint64_t expire = EVR_EXPIRE_DEFAULT;
	bool once = false, lenient = false;
	struct evr_sub_spec spec;
	struct evr_sub_info info;
	enum evr_format f = EVR_FMT_JSONRPC;
	char err[256];
	uint32_t nf = 0;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, sub_names, SP__N, 3, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[SP_EVENT], "event", true, &event, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[SP_SOCKET], "socket", true, &sock, code, msg, msglen)) ||
	    (rc = evr_rpc_get_uint(p[SP_EXPIRE], "expire", UINT32_MAX, &expire, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[SP_FORMAT], "format", false, &fmt, code, msg, msglen)) ||
	    (rc = evr_rpc_get_bool(p[SP_ONCE], "once", &once, code, msg, msglen)) ||
	    (rc = evr_rpc_get_bool(p[SP_LENIENT], "lenient", &lenient, code, msg, msglen)))
		return rc;
	if (fmt && (evr_format_parse(fmt, &f) || f == EVR_FMT_AUTO))
		return BAD("format '%.32s': expected jsonrpc, plain, json or xml", fmt);
	if (evr_dest_is_esl(sock))
		return BAD("socket '%.32s': esl: destinations belong to ESL connections "
		           "(their event command), not to subscriptions", sock);
	rc = collect_filters(p[SP_FILTERS], ft, &nf, code, msg, msglen);
	if (rc)
		goto out;

	spec = (struct evr_sub_spec){
		.event = event,
		.filters = (const char *const *)ft,
		.n_filters = nf,
		.dest = sock,
		.format = f,
		.expire = (uint32_t)expire,
		.once = once,
		.lenient = lenient,
	};
	err[0] = '\0';
	rc = evr_matcher_subscribe(m, &spec, evr_now_ms(), &info, err, sizeof(err));
	if (rc) {
		rc = map_matcher_rc(rc, err, code, msg, msglen);
		goto out;
	}
	if (info.removed)
		*result = json_pack("{s:I,s:i,s:i}", "id", (json_int_t)info.id, "expire", 0,
		                    "removed", 1);
	else
		*result = json_pack("{s:I,s:I,s:b}", "id", (json_int_t)info.id, "expire",
		                    (json_int_t)info.expire_s, "refreshed", info.refreshed);
	if (!*result)
		rc = NOMEM();
out:
	for (uint32_t i = 0; i < nf; i++)
		free(ft[i]);
	return rc;
}

/* ---- event_unsubscribe ----------------------------------------------------- */

int evr_action_unsubscribe(struct evr_control *c, json_t *params, json_t **result,
                           int *code, char *msg, size_t msglen)
{
	static const char *const names[] = { "id", "event", "socket" };
	json_t *p[3];
	const char *event = NULL, *sock = NULL;
	uint64_t id = 0;
	int rc, removed;

	*result = NULL;
	if (json_is_array(params)) {
		/* [id] or [event, socket] */
		size_t k = json_array_size(params);

		memset(p, 0, sizeof(p));
		if (k == 1) {
			p[0] = json_array_get(params, 0);
		} else if (k == 2) {
			p[1] = json_array_get(params, 0);
			p[2] = json_array_get(params, 1);
		} else {
			return BAD("positional parameters are [id] or [event, socket]");
		}
	} else if ((rc = evr_rpc_bind(params, names, 3, 0, p, code, msg, msglen))) {
		return rc;
	}
	if (!evr_rpc_absent(p[0])) {
		if (!evr_rpc_absent(p[1]) || !evr_rpc_absent(p[2]))
			return BAD("give either 'id' or 'event' and 'socket', not both");
		if ((rc = evr_rpc_get_uint(p[0], "id", UINT64_MAX, &id, code, msg, msglen)))
			return rc;
		if (evr_matcher_unsubscribe(c->m, id) < 0)
			return evr_rpc_fail(code, EVR_RPC_NOT_FOUND, msg, msglen, -ENOENT,
			            "no subscription with id %llu", (unsigned long long)id);
		removed = 1;
	} else {
		struct evr_dest d;
		char err[256];

		if (evr_rpc_absent(p[1]) && evr_rpc_absent(p[2]))
			return BAD("missing parameter 'id' (or 'event' and 'socket')");
		if ((rc = evr_rpc_get_str(p[1], "event", true, &event, code, msg, msglen)) ||
		    (rc = evr_rpc_get_str(p[2], "socket", true, &sock, code, msg, msglen)))
			return rc;
		/* For the message: the matcher only says -EINVAL. */
		if (evr_dest_parse(sock, &d, err, sizeof(err)))
			return BAD("%s", err);
		removed = evr_matcher_unsubscribe_dest(c->m, event, NULL, sock);
		if (removed < 0)
			return BAD("event '%.128s': not a valid event selector", event);
		if (removed == 0)
			return evr_rpc_fail(code, EVR_RPC_NOT_FOUND, msg, msglen, -ENOENT,
			            "no subscription of %.128s for %.128s", event, d.text);
	}
	*result = json_pack("{s:i}", "removed", removed);
	return *result ? 0 : NOMEM();
}

/* ---- paging (events_list, subscribers_list) ---------------------------------- */

/*
 * Both list methods page the same way: "after" is an exclusive cursor (a
 * subscription id, an event name), "limit" is 1..list_max (default 100),
 * and the reply carries "next", the cursor of the next page or null. A
 * method collects up to limit + 1 entries; page_result trims the extra one,
 * whose presence only says that a next page exists.
 */
static int get_limit(struct evr_control *c, json_t *v, uint32_t *limit, int *code,
                     char *msg, size_t msglen)
{
	uint64_t l = 100;
	int rc = evr_rpc_get_uint(v, "limit", UINT32_MAX, &l, code, msg, msglen);

	if (rc)
		return rc;
	if (l < 1 || l > c->conf.list_max)
		return BAD("parameter 'limit' must be 1..%u (got %llu)", c->conf.list_max,
		           (unsigned long long)l);
	*limit = (uint32_t)l;
	return 0;
}

/* {name: arr[0..limit), "next": arr[limit-1][cursor] or null}; takes arr.
 * NULL when out of memory. */
static json_t *page_result(json_t *arr, uint32_t limit, const char *name,
                           const char *cursor)
{
	json_t *next;

	if (json_array_size(arr) > limit) {
		json_array_remove(arr, limit);
		next = json_incref(json_object_get(json_array_get(arr, limit - 1), cursor));
	} else {
		next = json_null();
	}
	return json_pack("{s:o,s:o}", name, arr, "next", next);
}

/* ---- events_list ------------------------------------------------------------ */

struct events_ctx {
	json_t *by_key; /* lowercased selector -> {"event","subscribers"} */
	const char *after; /* page cursor: only selectors sorting after it */
	uint64_t now, last_id;
	bool oom;
};

static void events_visit(const struct evr_sub *s, void *arg)
{
	struct events_ctx *x = arg;
	char sel[300], key[300];
	json_t *e;

	x->last_id = s->id;
	if (!evr_rpc_sub_live(s, x->now) || evr_sub_selector_text(s, sel, sizeof(sel)) < 0)
		return;
	if (x->after && strcasecmp(sel, x->after) <= 0)
		return; /* on an earlier page */
	for (size_t i = 0;; i++) {
		char ch = sel[i];

		key[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		if (!ch)
			break;
	}
	e = json_object_get(x->by_key, key);
	if (e) {
		json_t *n = json_object_get(e, "subscribers");

		json_integer_set(n, json_integer_value(n) + 1);
		return;
	}
	e = json_pack("{s:o,s:i}", "event", evr_jstr(sel), "subscribers", 1);
	if (!e || json_object_set_new(x->by_key, key, e))
		x->oom = true;
}

static int cmp_event(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "event"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "event"));

	return strcasecmp(x ? x : "", y ? y : "");
}

int evr_action_events_list(struct evr_control *c, json_t *params, json_t **result,
                           int *code, char *msg, size_t msglen)
{
	static const char *const names[] = { "after", "limit" };
	struct events_ctx x = { .now = evr_now_ms() };
	json_t *p[2], *arr = NULL, *v, **sorted = NULL;
	const char *key;
	uint32_t limit = 0;
	size_t n, i = 0;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 2, 2, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[0], "after", false, &x.after, code, msg, msglen)) ||
	    (rc = get_limit(c, p[1], &limit, code, msg, msglen)))
		return rc;
	x.by_key = json_object();
	if (!x.by_key)
		return NOMEM();
	/* Page through the store so the writer lock is held briefly each time. */
	do {
		n = evr_matcher_list(c->m, x.last_id, LIST_PAGE, events_visit, &x);
	} while (n == LIST_PAGE && !x.oom);
	if (x.oom)
		goto nomem;
	n = json_object_size(x.by_key);
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	arr = json_array();
	if (!sorted || !arr)
		goto nomem;
	json_object_foreach(x.by_key, key, v)
		sorted[i++] = v;
	qsort(sorted, n, sizeof(*sorted), cmp_event);
	for (i = 0; i < n && i <= limit; i++)
		if (json_array_append(arr, sorted[i]))
			goto nomem;
	free(sorted);
	json_decref(x.by_key);
	*result = page_result(arr, limit, "events", "event");
	return *result ? 0 : NOMEM();
nomem:
	json_decref(arr);
	free(sorted);
	json_decref(x.by_key);
	return NOMEM();
}

/* ---- subscribers_list --------------------------------------------------------- */

struct subs_ctx {
	struct evr_control *c;
	json_t *arr;
	const char *event; /* selector filter or NULL */
	uint32_t want;     /* limit + 1: one more tells whether a next page exists */
	uint64_t now, wall_ms, last_id;
	bool oom;
};

static json_t *sub_entry(const struct evr_sub *s, const struct subs_ctx *x,
                         const char *sel)
{
	json_t *filters = json_array(), *e;
	uint64_t exp = __atomic_load_n(&s->expires_ms, __ATOMIC_ACQUIRE);
	uint64_t ttl = exp > x->now ? (exp - x->now + 999) / 1000 : 0;
	uint64_t age = x->now > s->created_ms ? x->now - s->created_ms : 0;
	uint8_t fmt = __atomic_load_n(&s->format, __ATOMIC_RELAXED);

	if (!filters)
		return NULL;
	for (uint32_t i = 0; i < s->n_filters; i++)
		if (json_array_append_new(filters, evr_jstr(s->filters[i].text))) {
			json_decref(filters);
			return NULL;
		}
	/* static subscriptions (config expire = 0) never expire: listed as
	 * expire 0 (the config's word for it), ttl null */
	bool never = s->expire_s == EVR_SUB_EXPIRE_NEVER;
	e = json_pack("{s:I,s:o,s:o,s:s,s:o,s:b,s:b,s:I,s:o,s:I}", "id", (json_int_t)s->id,
	              "event", evr_jstr(sel), "socket", evr_jstr(s->dest->text), "format",
	              evr_format_name((enum evr_format)fmt), "filters", filters, "once",
	              (int)s->once, "lenient", (int)s->lenient, "expire",
	              (json_int_t)(never ? 0 : s->expire_s), "ttl",
	              never ? json_null() : json_integer((json_int_t)ttl), "created",
	              (json_int_t)((x->wall_ms - age) / 1000));
	if (e && x->c->hooks.dest_info) {
		json_t *more = x->c->hooks.dest_info(x->c->hooks.ctx, s->dest);

		if (more && json_object_update(e, more)) {
			json_decref(e);
			e = NULL;
		}
		json_decref(more);
	}
	return e;
}

static void subs_visit(const struct evr_sub *s, void *arg)
{
	struct subs_ctx *x = arg;
	char sel[300];
	json_t *e;

	if (x->oom || json_array_size(x->arr) >= x->want)
		return; /* evr_matcher_list cannot stop early; this page is done */
	x->last_id = s->id;
	if (!evr_rpc_sub_live(s, x->now) || evr_sub_selector_text(s, sel, sizeof(sel)) < 0)
		return;
	if (x->event && strcasecmp(sel, x->event) != 0)
		return;
	e = sub_entry(s, x, sel);
	if (!e || json_array_append_new(x->arr, e))
		x->oom = true;
}

int evr_action_subscribers_list(struct evr_control *c, json_t *params, json_t **result,
                                int *code, char *msg, size_t msglen)
{
	static const char *const names[] = { "after", "limit", "event" };
	struct subs_ctx x = { .c = c };
	struct timespec ts;
	json_t *p[3];
	uint64_t after = 0;
	uint32_t chunk, n, limit = 0;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 3, 3, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_uint(p[0], "after", UINT64_MAX, &after, code, msg, msglen)) ||
	    (rc = get_limit(c, p[1], &limit, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[2], "event", false, &x.event, code, msg, msglen)))
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	x.wall_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	x.now = evr_now_ms();
	x.want = limit + 1;
	x.last_id = after;
	x.arr = json_array();
	if (!x.arr)
		return NOMEM();
	/* With an event filter a page of the store may hold few matches: keep
	 * paging until the result is full or the store is exhausted. */
	chunk = x.event ? (x.want > LIST_PAGE ? x.want : LIST_PAGE) : x.want;
	do {
		n = evr_matcher_list(c->m, x.last_id, chunk, subs_visit, &x);
	} while (n == chunk && json_array_size(x.arr) < x.want && !x.oom);
	if (x.oom) {
		json_decref(x.arr);
		return NOMEM();
	}
	*result = page_result(x.arr, limit, "subscribers", "id");
	return *result ? 0 : NOMEM();
}

/* ---- raise_event ---------------------------------------------------------------- */

/* The event is built in a scratch arena (event/evr_event_build.h) sized for
 * exactly this request: every string NUL-terminated, names copied. */
struct raise_ev {
	struct evr_scratch s;
	size_t cap;
};

static int raise_attr(struct raise_ev *r, const struct evr_limits *lim, const char *name,
                      json_t *v, int *code, char *msg, size_t msglen)
{
	size_t nl = strlen(name);
	char num[40];
	const char *val = num;
	size_t vl;
	uint32_t flags = 0;
	int n;

	if (!nl)
		return BAD("params: empty attribute name");
	if (nl > lim->max_name_len)
		return BAD("param '%.40s...': name longer than %u bytes", name,
		           lim->max_name_len);
	if (json_is_string(v)) {
		val = json_string_value(v);
		vl = json_string_length(v);
		if (vl > lim->max_value_len)
			return BAD("param '%.64s': value longer than %u bytes", name,
			           lim->max_value_len);
	} else if (json_is_null(v)) {
		val = "";
		vl = 0;
		flags = EVR_STR_NULL;
	} else if ((n = evr_rpc_scalar_text(v, num, sizeof(num))) >= 0) {
		vl = (size_t)n;
		flags = EVR_STR_LITERAL;
	} else {
		return BAD("param '%.64s': nested objects and arrays are not supported", name);
	}
	/* limits checked above with their messages; the arena is sized for
	 * the request (attr_bytes), so this cannot fail short of a bug */
	if (!evr_ev_add_copy(&r->s, name, nl, val, vl, flags, UINT32_MAX))
		return NOMEM();
	return 0;
}

/* Bytes the arena needs for one attribute (name, value, two NULs). */
static size_t attr_bytes(const char *name, json_t *v)
{
	return strlen(name) + 2 + (json_is_string(v) ? json_string_length(v) : 40);
}

uint64_t evr_control_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Does a raised event get FreeSWITCH's standard headers? Events in the
 * FreeSWITCH vocabulary do, as switch_event_fire adds them; OpenSIPS's
 * (E_*, or positional params as OpenSIPS MI raises them) never do, their
 * subscribers see exactly the params given. A caller that gives any of them
 * itself (an event relayed from a FreeSWITCH) keeps its own.
 */
static bool fs_vocabulary(const char *name, size_t nlen, json_t *attrs)
{
	static const char *const std[] = {
		"Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname", "FreeSWITCH-IPv4",
		"FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT", "Event-Date-Timestamp",
		"Event-Calling-File", "Event-Calling-Function", "Event-Calling-Line-Number",
	};

	if ((nlen >= 2 && name[0] == 'E' && name[1] == '_') || json_is_array(attrs))
		return false;
	if (json_is_object(attrs))
		for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
			if (json_object_get(attrs, std[i]))
				return false;
	return true;
}

static int build_event(struct evr_control *c, struct raise_ev *r, const struct evr_limits *lim,
                       const char *event, json_t *attrs, int *code, char *msg,
                       size_t msglen)
{
	bool std;
	const char *name = event, *sub, *key;
	size_t nlen, slen, n = 0, i;
	char idx[24];
	json_t *v;
	int rc;

	while (*name == ' ' || *name == '\t')
		name++;
	nlen = strcspn(name, " \t");
	sub = name + nlen;
	while (*sub == ' ' || *sub == '\t')
		sub++;
	slen = strlen(sub);
	while (slen && (sub[slen - 1] == ' ' || sub[slen - 1] == '\t'))
		slen--;
	if (!nlen)
		return BAD("missing parameter 'event'");
	if (nlen > lim->max_name_len || slen > lim->max_name_len)
		return BAD("event '%.64s...': name longer than %u bytes", name,
		           lim->max_name_len);
	if (!evr_rpc_absent(attrs) && !json_is_object(attrs) && !json_is_array(attrs))
		return BAD("parameter 'params' must be an object or an array");
	if (json_is_object(attrs))
		n = json_object_size(attrs);
	else if (json_is_array(attrs))
		n = json_array_size(attrs);
	if (n > lim->max_attrs)
		return BAD("too many params (%zu > max_attrs %u)", n, lim->max_attrs);

	r->cap = nlen + slen + 2;
	if (json_is_object(attrs))
		json_object_foreach(attrs, key, v)
			r->cap += attr_bytes(key, v);
	else if (json_is_array(attrs))
		json_array_foreach(attrs, i, v)
			r->cap += attr_bytes("12345678901234567890", v);
	std = fs_vocabulary(name, nlen, attrs) && n + EVR_FS_STD_N <= lim->max_attrs;
	if (std)
		r->cap += EVR_FS_STD_BYTES;
	/* +1: the builder keeps buf[0] as the empty string */
	if (r->cap + 1 > UINT32_MAX || evr_ev_arena_init(&r->s, lim, (uint32_t)r->cap + 1))
		return NOMEM();
	evr_ev_begin(&r->s, EVR_FMT_JSONRPC);
	if (!evr_ev_store(&r->s, &r->s.ev.name, name, nlen, 0) ||
	    !evr_ev_store(&r->s, &r->s.ev.subclass, sub, slen, 0))
		return NOMEM();
	if (std && !EVR_FS_STD_ADD(&r->s, c->fs_std, &c->fs_clk, evr_control_wall_us()))
		return NOMEM(); /* sized above: a bug if ever seen */
	if (json_is_object(attrs)) {
		json_object_foreach(attrs, key, v)
			if ((rc = raise_attr(r, lim, key, v, code, msg, msglen)))
				return rc;
	} else if (json_is_array(attrs)) {
		/* Positional, named "1","2",... as OpenSIPS $param(1). */
		json_array_foreach(attrs, i, v) {
			snprintf(idx, sizeof(idx), "%zu", i + 1);
			if ((rc = raise_attr(r, lim, idx, v, code, msg, msglen)))
				return rc;
		}
	}
	if (!slen) {
		/* FreeSWITCH style: CUSTOM with its subclass as a header. */
		const struct evr_attr *a = evr_event_find(&r->s.ev, "Event-Subclass", 14);

		if (a)
			r->s.ev.subclass = a->value;
	}
	return 0;
}

static int udp_socket(struct evr_control *c, int family)
{
	int *fd = family == AF_INET6 ? &c->udp6_fd : &c->udp4_fd;

	if (*fd < 0)
		*fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return *fd;
}

/* No dataplane: encode once per format in use, send with kernel sockets. */
static uint32_t deliver_fallback(struct evr_control *c, const struct evr_event *ev,
                                 const struct evr_sub *const *subs, uint32_t n,
                                 uint32_t *failed)
{
	char *enc[EVR_FMT_AUTO] = { 0 };
	int len[EVR_FMT_AUTO];
	uint64_t seq = ++c->seq;
	uint32_t ok = 0;

	*failed = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct evr_dest *d = subs[i]->dest;
		unsigned f = __atomic_load_n(&subs[i]->format, __ATOMIC_RELAXED);
		int rc;

		if (f >= EVR_FMT_AUTO)
			goto failed;
		if (!enc[f]) {
			enc[f] = malloc(EVR_UDP_MAX_PAYLOAD);
			if (!enc[f])
				goto failed;
			len[f] = evr_encode((enum evr_format)f, ev, seq, enc[f],
			                    EVR_UDP_MAX_PAYLOAD);
		}
		if (len[f] < 0)
			goto failed;
		if (d->kind == EVR_DEST_UNIX) {
			rc = evr_control_send_unix(d, enc[f], (size_t)len[f]);
		} else if (d->kind == EVR_DEST_ESL) {
			rc = evr_control_esl_deliver(c, d->addr.esl_conn, enc[f], (size_t)len[f]);
			rc = rc < 0 ? rc : 0;
		} else if (d->kind == EVR_DEST_NATS) {
			rc = -ENOTCONN; /* only evrd's NATS thread publishes */
		} else {
			int fd = udp_socket(c, d->addr.sa.sa_family);

			rc = fd >= 0 && sendto(fd, enc[f], (size_t)len[f],
			                       MSG_DONTWAIT | MSG_NOSIGNAL, &d->addr.sa,
			                       d->salen) == len[f] ? 0 : -1;
		}
		if (rc == 0) {
			ok++;
			continue;
		}
failed:
		(*failed)++;
	}
	for (unsigned f = 0; f < EVR_FMT_AUTO; f++)
		free(enc[f]);
	return ok;
}

int evr_control_raise(struct evr_control *c, const struct evr_event *ev,
                      struct evr_raise_result *res)
{
	struct evr_match_stats st = { 0 };
	const struct evr_sub **out;
	uint32_t n;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	out = malloc(c->conf.max_fanout * sizeof(*out));
	if (!out)
		return -ENOMEM;
	n = evr_matcher_match(c->m, c->reader, ev, evr_now_ms(), out, c->conf.max_fanout, &st);
	res->matched = n;
	res->overflow = st.overflow;
	if (n && c->hooks.deliver) {
		int d = c->hooks.deliver(c->hooks.ctx, ev, out, n);

		if (d < 0) {
			rc = d;
		} else {
			res->notified = (uint32_t)d < n ? (uint32_t)d : n;
			res->failed = n - res->notified;
		}
	} else if (n) {
		res->notified = deliver_fallback(c, ev, out, n, &res->failed);
	}
	free(out);
	return rc;
}

int evr_action_raise_event(struct evr_control *c, json_t *params, json_t **result,
                           int *code, char *msg, size_t msglen)
{
	static const char *const names[] = { "event", "params" };
	struct raise_ev r = { 0 };
	struct evr_raise_result rr;
	json_t *p[2];
	const char *event = NULL;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 2, 2, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[0], "event", true, &event, code, msg, msglen)))
		return rc;
	rc = build_event(c, &r, &c->limits, event, p[1], code, msg, msglen);
	if (rc)
		goto out;
	rc = evr_control_raise(c, &r.s.ev, &rr);
	if (rc == -ENOMEM) {
		rc = NOMEM();
		goto out;
	}
	c->cnt.raised++;
	c->cnt.raise_matched += rr.matched;
	c->cnt.raise_overflow += rr.overflow;
	if (!rr.matched) {
		rc = evr_rpc_fail(code, EVR_RPC_NO_SUBSCRIBERS, msg, msglen, -ENOENT,
		          "No subscribers for event");
		goto out;
	}
	if (rc < 0) {
		rc = evr_rpc_fail(code, EVR_RPC_INTERNAL, msg, msglen, rc, "delivery failed: %s",
		          strerror(-rc));
		goto out;
	}
	c->cnt.raise_notified += rr.notified;
	evr_mi_event_id(c, event, true); /* raised to a subscriber: a known event */
	c->cnt.raise_failed += rr.failed;
	*result = json_pack("{s:i,s:i,s:i}", "matched", (int)rr.matched, "notified",
	                    (int)rr.notified, "failed", (int)rr.failed);
	if (*result && rr.overflow)
		json_object_set_new(*result, "overflow", json_integer((json_int_t)rr.overflow));
	if (!*result)
		rc = NOMEM();
out:
	evr_ev_arena_fini(&r.s);
	return rc;
}

/* ---- stats, version, list_methods ------------------------------------------------- */

static json_t *matcher_stats(struct evr_matcher *m)
{
	struct evr_matcher_stats s;
	json_t *o = json_object();
	int bad = !o;

	evr_matcher_get_stats(m, &s);
#define X(f, k, h) bad |= !bad && json_object_set_new(o, #f, json_integer((json_int_t)s.f));
	EVR_MATCHER_STATS(X)
#undef X
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *control_stats(struct evr_control *c)
{
	json_t *o = json_object(), *errs = json_object();
	char k[16];
	int bad = !o || !errs;

#define X(f, h) bad |= json_object_set_new(o, #f, json_integer((json_int_t)c->cnt.f));
	if (!bad) {
		EVR_CONTROL_COUNTERS(X)
	}
#undef X
	bad |= json_object_set_new(o, "clients", json_integer(c->n_clients));
	for (unsigned i = 0; !bad && i < EVR_ERRIDX__COUNT; i++) {
		evr_control_error_name(i, k, sizeof(k));
		bad |= json_object_set_new(errs, k, json_integer((json_int_t)c->errors[i]));
	}
	if (!bad)
		return json_object_set_new(o, "errors", errs) ? (json_decref(o), NULL) : o;
	json_decref(errs);
	json_decref(o);
	return NULL;
}

int evr_action_stats(struct evr_control *c, json_t *params, json_t **result, int *code,
                     char *msg, size_t msglen)
{
	json_t *slot[1];
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, NULL, 0, 0, slot, code, msg, msglen)))
		return rc;
	*result = json_pack("{s:o,s:o}", "matcher", matcher_stats(c->m), "control",
	                    control_stats(c));
	if (!*result)
		return NOMEM();
	if (c->store) {
		struct evr_store_stats ss;
		json_t *o = json_object();

		evr_store_get_stats(c->store, &ss);
#define X(f, k, h) if (o) json_object_set_new(o, #f, json_integer((json_int_t)ss.f));
		EVR_STORE_STATS(X)
#undef X
		if (o)
			json_object_set_new(o, "path", json_string(evr_store_path(c->store)));
		if (!o || json_object_set_new(*result, "store", o))
			return NOMEM();
	}
	if (c->hooks.stats)
		c->hooks.stats(c->hooks.ctx, *result);
	return 0;
}

/*
 * One setting or group of the configuration by path: dotted names with
 * [i] for list elements ("sip.linger_ms", "ports[0]", "listeners[1].format").
 * Returns a borrowed reference into root, or NULL.
 */
static json_t *config_path(json_t *root, const char *path)
{
	json_t *cur = root;
	const char *p = path;

	while (*p && cur) {
		char name[128];
		size_t n = strcspn(p, ".[");

		if (n >= sizeof(name))
			return NULL;
		if (n) {
			memcpy(name, p, n);
			name[n] = '\0';
			cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
			p += n;
		}
		while (cur && *p == '[') {
			char *end;
			unsigned long i = strtoul(p + 1, &end, 10);

			if (end == p + 1 || *end != ']' || !json_is_array(cur))
				return NULL;
			cur = json_array_get(cur, i);
			p = end + 1;
		}
		if (*p == '.')
			p++;
		else if (*p)
			return NULL;
	}
	return cur;
}

int evr_action_config_get(struct evr_control *c, json_t *params, json_t **result,
                          int *code, char *msg, size_t msglen)
{
	static const char *const names[] = {"setting"};
	json_t *slot[1], *all, *sel;
	const char *path = NULL;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 1, 1, slot, code, msg, msglen)))
		return rc;
	if (!evr_rpc_absent(slot[0])) {
		if (!json_is_string(slot[0]))
			return BAD("setting: expected a string such as \"sip.linger_ms\"");
		path = json_string_value(slot[0]);
	}
	all = c->hooks.config ? c->hooks.config(c->hooks.ctx) : NULL;
	if (all == NULL)
		return evr_rpc_fail(code, EVR_RPC_UNAVAILABLE, msg, msglen, -ENOENT,
		            "no configuration: this server does not run from a config file");
	if (path == NULL || path[0] == '\0') {
		*result = json_pack("{s:o}", "config", all);
		return *result ? 0 : NOMEM();
	}
	sel = config_path(all, path);
	if (sel == NULL) {
		json_decref(all);
		return evr_rpc_fail(code, EVR_RPC_NOT_FOUND, msg, msglen, -ENOENT,
		            "no setting '%s' (paths look like sip.linger_ms or ports[0].mtu)",
		            path);
	}
	*result = json_pack("{s:s,s:O}", "setting", path, "value", sel);
	json_decref(all);
	return *result ? 0 : NOMEM();
}

/*
 * evr_config_set: one runtime setting through the hook (evrd checks it
 * with the config file's table and applies it); errors keep the hook's
 * words ("setting X: reason"): 404 unknown setting, 400 not runtime or a
 * bad value.
 */
static int rpc_config_set(struct evr_control *c, json_t *params, json_t **result, int *code,
                          char *msg, size_t msglen)
{
	static const char *const names[] = {"setting", "value"};
	json_t *slot[2];
	const char *name = NULL;
	char err[400];
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 2, 2, slot, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(slot[0], "setting", true, &name, code, msg, msglen)))
		return rc;
	if (evr_rpc_absent(slot[1]))
		return BAD("value: required (true, 100, \"text\" or [\"a\", \"b\"])");
	if (!c->hooks.config_set)
		return evr_rpc_fail(code, EVR_RPC_UNAVAILABLE, msg, msglen, -ENOENT,
		                    "no configuration: this server does not run from a "
		                    "config file");
	err[0] = '\0';
	rc = c->hooks.config_set(c->hooks.ctx, name, slot[1], result, err, sizeof(err));
	if (rc == -ENOMEM)
		return NOMEM();
	if (rc)
		return evr_rpc_fail(code, rc == -ENOENT ? EVR_RPC_NOT_FOUND : EVR_RPC_BAD_VALUE,
		                    msg, msglen, rc, "%s", err[0] ? err : strerror(-rc));
	return 0;
}

int evr_action_version(struct evr_control *c, json_t *params, json_t **result, int *code,
                       char *msg, size_t msglen)
{
	json_t *slot[1];
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, NULL, 0, 0, slot, code, msg, msglen)))
		return rc;
	/* instance: this run's Core-UUID (new at every start), started: when;
	 * a client that sees either change knows evrd restarted and its
	 * runtime subscriptions are gone (Event-Sequence restarts at 1 too) */
	*result = json_pack("{s:s,s:s,s:s,s:I}", "name", "evrd", "version", EVR_VERSION,
	                    "instance", c->fs_std->core_uuid, "started",
	                    (json_int_t)c->started);
	return *result ? 0 : NOMEM();
}

int evr_action_list_methods(struct evr_control *c, json_t *params, json_t **result,
                            int *code, char *msg, size_t msglen)
{
	json_t *slot[1], *arr;
	int rc;

	(void)c;
	*result = NULL;
	if ((rc = evr_rpc_bind(params, NULL, 0, 0, slot, code, msg, msglen)))
		return rc;
	arr = json_array();
	if (!arr)
		return NOMEM();
	for (unsigned i = 0; i < evr_control_n_methods; i++) {
		const struct evr_control_method *m = &evr_control_methods[i];

		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s}", "name",
		                                         m->name, "family",
		                                         m->family == EVR_FAMILY_MI ? "mi" : "evr",
		                                         "access",
		                                         m->access == EVR_ACCESS_W ? "write" : "read",
		                                         "alias", m->alias, "params",
		                                         m->params, "summary", m->summary))) {
			json_decref(arr);
			return NOMEM();
		}
	}
	*result = json_pack("{s:o}", "methods", arr);
	return *result ? 0 : NOMEM();
}

/* ---- the method table --------------------------------------------------------- */

/* Subscribe is matcher-level (the config loader calls it before a control
 * socket exists); through the control socket it also registers the event
 * name for the MI family's events_list. */
int evr_control_subscribe(struct evr_control *c, json_t *params, json_t **result, int *code,
                          char *msg, size_t msglen)
{
	int rc = evr_action_subscribe(c->m, params, result, code, msg, msglen);
	json_t *ev = json_is_array(params) ? json_array_get(params, 0)
	                                   : json_object_get(params, "event");

	if (rc == 0 && json_is_string(ev) && !json_object_get(*result, "removed"))
		evr_mi_event_id(c, json_string_value(ev), true);
	return rc;
}
#define rpc_subscribe evr_control_subscribe
#define rpc_unsubscribe evr_action_unsubscribe
#define rpc_events_list evr_action_events_list
#define rpc_subscribers_list evr_action_subscribers_list
#define rpc_raise_event evr_action_raise_event
#define rpc_stats evr_action_stats
#define rpc_config_get evr_action_config_get
#define rpc_version evr_action_version
#define rpc_list_methods evr_action_list_methods
#define rpc_esl_list evr_esl_rpc_list
#define rpc_esl_kill evr_esl_rpc_kill

const struct evr_control_method evr_control_methods[] = {
#define X(id, fam, acc, name, alias, recipes, params, summary)                   \
	{ EVR_FAMILY_##fam, EVR_ACCESS_##acc, name, alias, recipes, params, summary, rpc_##id },
	EVR_CONTROL_METHODS(X)
#undef X
};
const unsigned evr_control_n_methods =
	sizeof(evr_control_methods) / sizeof(evr_control_methods[0]);

const struct evr_control_method *evr_control_method_find(const char *name)
{
	for (unsigned i = 0; i < evr_control_n_methods; i++) {
		const struct evr_control_method *m = &evr_control_methods[i];

		if (strcmp(m->name, name) == 0 || (m->alias && strcmp(m->alias, name) == 0))
			return m;
	}
	return NULL;
}

/* ---- unix: datagram sender -------------------------------------------------------- */

static int unix_fd = -1;

__attribute__((destructor)) static void unix_fd_close(void)
{
	int fd = __atomic_exchange_n(&unix_fd, -1, __ATOMIC_ACQ_REL);

	if (fd >= 0)
		close(fd);
}

int evr_control_send_unix(const struct evr_dest *d, const void *buf, size_t len)
{
	int fd = __atomic_load_n(&unix_fd, __ATOMIC_ACQUIRE);

	if (d->kind != EVR_DEST_UNIX)
		return -EINVAL;
	if (fd < 0) {
		int expected = -1;

		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!__atomic_compare_exchange_n(&unix_fd, &expected, fd, false,
		                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			close(fd); /* another thread won the race */
			fd = expected;
		}
	}
	if (sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, &d->addr.sa, d->salen) < 0)
		return -errno;
	return 0;
}
