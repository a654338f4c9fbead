/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OpenSIPS MI family of control methods: the MI commands an OpenSIPS
 * operator's tools call (opensips-cli, python-opensips, opensips-cp), by
 * their OpenSIPS names, parameters and result shapes, as OpenSIPS 3.x
 * answers them (evi/event_interface.c for the event commands, mi/mi_core.c
 * for which/version/uptime, statistics.c for the statistics ones). Each is
 * a thin adapter over evrd's own action (evr_actions.c): the operation is
 * written once, only the answer is shaped differently.
 *
 * Event ids (events_list): OpenSIPS numbers the events it registered from
 * 0 in registration order. evrd registers an event name the first time it
 * is subscribed to (either family, or a static subscription), or raised to
 * a subscriber, and keeps its id for the life of the process. Names compare
 * case-insensitively, as subscriptions do; the first spelling is shown.
 *
 * Statistics: every integer evrd counts, named "group:name" as OpenSIPS
 * names its statistics: matcher:* (the store and index), control:* (this
 * server), dataplane:* (the workers' totals, when a dataplane is attached).
 * Gauges are "non-incremental". reset_statistics keeps a baseline per
 * counter on this thread and reports the difference: the counters
 * themselves have other owners (workers, the matcher) and are never
 * written from here.
 *
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>

#include "evr_control_internal.h"

#define MI_OK() json_string("OK")

/* OpenSIPS's codes for the errors its MI clients see. */
#define MI_ERR_BAD_PARAM EVR_RPC_BAD_VALUE
#define MI_ERR_NOT_FOUND EVR_RPC_NOT_FOUND
#define MI_ERR_UNAVAILABLE EVR_RPC_NO_SUBSCRIBERS

/* ---- event names and their ids ---------------------------------------------- */

static void lower_copy(char *dst, const char *src, size_t cap)
{
	size_t i = 0;

	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	dst[i] = '\0';
}

int evr_mi_event_id(struct evr_control *c, const char *name, bool add)
{
	char key[EVR_MI_EVENT_MAX];
	json_t *id;

	if (!name || !name[0] || strlen(name) >= sizeof(key))
		return -EINVAL;
	if (!c->ev_ids && add) {
		c->ev_ids = json_object();
		c->ev_names = json_array();
		if (!c->ev_ids || !c->ev_names)
			return -ENOMEM;
	}
	if (!c->ev_ids)
		return -ENOENT;
	lower_copy(key, name, sizeof(key));
	id = json_object_get(c->ev_ids, key);
	if (id)
		return (int)json_integer_value(id);
	if (!add)
		return -ENOENT;
	int n = (int)json_array_size(c->ev_names);
	if (json_array_append_new(c->ev_names, evr_jstr(name)) ||
	    json_object_set_new(c->ev_ids, key, json_integer(n)))
		return -ENOMEM;
	return n;
}

void evr_control_note_event(struct evr_control *c, const char *name)
{
	/* names seen on the wire are anyone's to invent: bounded (subscribed
	 * and raised ones are bounded by the store and always get an id) */
	if (c->ev_names && json_array_size(c->ev_names) >= EVR_MI_EVENTS_MAX &&
	    evr_mi_event_id(c, name, false) < 0) {
		c->cnt.events_list_full++;
		return;
	}
	evr_mi_event_id(c, name, true);
}

/* Register the selectors of every live subscription (static ones from the
 * config file included): listing "every event evrd knows". */
struct known_ctx {
	struct evr_control *c;
	uint64_t now, last_id;
};

static void known_visit(const struct evr_sub *s, void *arg)
{
	struct known_ctx *k = arg;
	char sel[EVR_MI_EVENT_MAX];

	k->last_id = s->id;
	if (evr_rpc_sub_live(s, k->now) && evr_sub_selector_text(s, sel, sizeof(sel)) >= 0)
		evr_mi_event_id(k->c, sel, true);
}

static void register_live(struct evr_control *c)
{
	struct known_ctx k = {.c = c, .now = evr_now_ms()};

	while (evr_matcher_list(c->m, k.last_id, 1024, known_visit, &k) == 1024)
		;
}

/* ---- which -------------------------------------------------------------------- */

/* One recipe ("event socket expire") as an array of names. */
static json_t *recipe_json(const char *r, size_t len)
{
	json_t *a = json_array();

	while (a && len) {
		size_t n = strcspn(r, " ");

		if (n > len)
			n = len;
		if (n && json_array_append_new(a, json_stringn(r, n))) {
			json_decref(a);
			return NULL;
		}
		r += n;
		len -= n;
		while (len && *r == ' ') {
			r++;
			len--;
		}
	}
	return a;
}

int rpc_mi_which(struct evr_control *c, json_t *params, json_t **result, int *code,
                 char *msg, size_t msglen)
{
	static const char *const names[] = {"command"};
	const struct evr_control_method *m;
	const char *cmd = NULL;
	json_t *p[1], *arr;
	int rc;

	(void)c;
	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 1, 1, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[0], "command", false, &cmd, code, msg, msglen)))
		return rc;
	arr = json_array();
	if (!arr)
		return NOMEM();
	size_t cl = cmd ? strlen(cmd) : 0;
	if (!cmd || (cl && cmd[cl - 1] == ':')) {
		/* every name, or (OpenSIPS: "group:") those starting with it */
		for (unsigned i = 0; i < evr_control_n_methods; i++) {
			m = &evr_control_methods[i];
			if (cmd && strncmp(m->name, cmd, cl) != 0)
				continue;
			if (json_array_append_new(arr, json_string(m->name)))
				goto nomem;
		}
		if (cmd && json_array_size(arr) == 0) {
			json_decref(arr);
			return evr_rpc_fail(code, MI_ERR_NOT_FOUND, msg, msglen, -ENOENT,
			                    "unknown MI command");
		}
		*result = arr;
		return 0;
	}
	m = evr_control_method_find(cmd);
	if (!m) {
		json_decref(arr);
		return evr_rpc_fail(code, MI_ERR_NOT_FOUND, msg, msglen, -ENOENT,
		                    "unknown MI command");
	}
	for (const char *r = m->recipes;;) {
		size_t n = strcspn(r, "|");
		json_t *one = recipe_json(r, n);

		if (!one || json_array_append_new(arr, one))
			goto nomem;
		if (!r[n])
			break;
		r += n + 1;
	}
	*result = arr;
	return 0;
nomem:
	json_decref(arr);
	return NOMEM();
}

/* ---- event_subscribe ---------------------------------------------------------- */

/* A parameter error of a shape OpenSIPS answers 400 "Bad parameter value"
 * (the action's message says which and why). */
static int as_mi_error(int rc, int *code)
{
	if (*code == EVR_RPC_INVALID_PARAMS)
		*code = MI_ERR_BAD_PARAM;
	return rc;
}

int rpc_mi_subscribe(struct evr_control *c, json_t *params, json_t **result, int *code,
                     char *msg, size_t msglen)
{
	json_t *r = NULL;
	int rc = evr_control_subscribe(c, params, &r, code, msg, msglen);
	bool both = json_is_array(params)
	                    ? json_array_size(params) >= 2
	                    : json_is_string(json_object_get(params, "event")) &&
	                              json_is_string(json_object_get(params, "socket"));

	*result = NULL;
	/* a missing event or socket stays -32602, as OpenSIPS's param error */
	if (rc)
		return both ? as_mi_error(rc, code) : rc;
	json_decref(r);
	*result = MI_OK();
	return *result ? 0 : NOMEM();
}

/* ---- events_list -------------------------------------------------------------- */

int rpc_mi_events_list(struct evr_control *c, json_t *params, json_t **result, int *code,
                       char *msg, size_t msglen)
{
	json_t *p[1], *arr, *name;
	size_t i;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, NULL, 0, 0, p, code, msg, msglen)))
		return rc;
	register_live(c);
	arr = json_array();
	if (!arr)
		return NOMEM();
	if (c->ev_names)
		json_array_foreach(c->ev_names, i, name)
			if (json_array_append_new(arr, json_pack("{s:O,s:I}", "name", name, "id",
			                                         (json_int_t)i))) {
				json_decref(arr);
				return NOMEM();
			}
	*result = json_pack("{s:o}", "Events", arr);
	return *result ? 0 : NOMEM();
}

/* ---- subscribers_list ----------------------------------------------------------- */

struct subs_ctx {
	struct evr_control *c;
	json_t *by_id;       /* event id (as text) -> {"name","id","Subscribers":[..]} */
	int only_id;         /* -1: every event */
	const char *socket;  /* one subscriber: canonical destination text */
	json_t *found;       /* its entry */
	uint64_t now, last_id;
	bool oom;
};

/* {"socket","expire","ttl"} as OpenSIPS prints a subscriber, expire being
 * what was asked ("never" for a static subscription); ttl and the EBR-style
 * filters are evrd's additions. */
static json_t *subscriber_json(const struct evr_sub *s, uint64_t now)
{
	uint64_t exp = __atomic_load_n(&s->expires_ms, __ATOMIC_ACQUIRE);
	bool never = s->expire_s == EVR_SUB_EXPIRE_NEVER;
	json_t *o = json_pack("{s:o,s:o,s:o}", "socket", evr_jstr(s->dest->text), "expire",
	                      never ? json_string("never") : json_integer(s->expire_s), "ttl",
	                      never ? json_string("never")
	                            : json_integer((json_int_t)(exp > now ? (exp - now + 999) / 1000
	                                                                   : 0)));

	if (o && s->n_filters) {
		json_t *f = json_array();

		for (uint32_t i = 0; f && i < s->n_filters; i++)
			if (json_array_append_new(f, evr_jstr(s->filters[i].text))) {
				json_decref(f);
				f = NULL;
			}
		if (!f || json_object_set_new(o, "filters", f)) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static void subs_visit(const struct evr_sub *s, void *arg)
{
	struct subs_ctx *x = arg;
	char sel[EVR_MI_EVENT_MAX], key[16];
	json_t *ev, *sub;
	int id;

	x->last_id = s->id;
	if (x->oom || !evr_rpc_sub_live(s, x->now) ||
	    evr_sub_selector_text(s, sel, sizeof(sel)) < 0)
		return;
	id = evr_mi_event_id(x->c, sel, true);
	if (id < 0) {
		x->oom = id == -ENOMEM;
		return;
	}
	if (x->only_id >= 0 && id != x->only_id)
		return;
	if (x->socket) {
		if (!x->found && strcmp(s->dest->text, x->socket) == 0) {
			x->found = subscriber_json(s, x->now);
			x->oom = !x->found;
		}
		return;
	}
	snprintf(key, sizeof(key), "%d", id);
	ev = json_object_get(x->by_id, key);
	if (!ev) {
		ev = json_pack("{s:O,s:i,s:[]}", "name", json_array_get(x->c->ev_names, (size_t)id),
		               "id", id, "Subscribers");
		if (!ev || json_object_set_new(x->by_id, key, ev)) {
			x->oom = true;
			return;
		}
	}
	sub = subscriber_json(s, x->now);
	if (!sub || json_array_append_new(json_object_get(ev, "Subscribers"), sub))
		x->oom = true;
}

static int by_event_id(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return x < y ? -1 : x > y;
}

int rpc_mi_subscribers_list(struct evr_control *c, json_t *params, json_t **result,
                            int *code, char *msg, size_t msglen)
{
	static const char *const names[] = {"event", "socket"};
	struct subs_ctx x = {.c = c, .only_id = -1, .now = evr_now_ms()};
	const char *event = NULL, *sock = NULL;
	struct evr_dest d;
	char err[256];
	json_t *p[2];
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 2, 2, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[0], "event", false, &event, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[1], "socket", false, &sock, code, msg, msglen)))
		return rc;
	if (sock && !event)
		return BAD("'socket' needs 'event'");
	if (sock) {
		if (evr_dest_parse(sock, &d, err, sizeof(err)))
			return as_mi_error(BAD("%s", err), code);
		x.socket = d.text;
	}
	register_live(c);
	if (event) {
		x.only_id = evr_mi_event_id(c, event, false);
		if (x.only_id < 0)
			return evr_rpc_fail(code, MI_ERR_NOT_FOUND, msg, msglen, -ENOENT,
			                    "Event not published");
	}
	x.by_id = json_object();
	if (!x.by_id)
		return NOMEM();
	while (evr_matcher_list(c->m, x.last_id, 1024, subs_visit, &x) == 1024 && !x.oom)
		;
	if (x.oom)
		goto nomem;
	if (sock) {
		json_decref(x.by_id);
		if (!x.found)
			return evr_rpc_fail(code, MI_ERR_NOT_FOUND, msg, msglen, -ENOENT,
			                    "Subscriber does not exist");
		*result = json_pack("{s:{s:O,s:i,s:o}}", "Event", "name",
		                    json_array_get(c->ev_names, (size_t)x.only_id), "id",
		                    x.only_id, "Subscriber", x.found);
		return *result ? 0 : NOMEM();
	}
	if (event) {
		char key[16];
		json_t *ev;

		snprintf(key, sizeof(key), "%d", x.only_id);
		ev = json_object_get(x.by_id, key);
		/* a known event nobody subscribes to now: OpenSIPS prints it empty */
		*result = ev ? json_pack("{s:O}", "Event", ev)
		             : json_pack("{s:o}", "Event", json_object());
		json_decref(x.by_id);
		return *result ? 0 : NOMEM();
	}
	/* every event with subscribers, in id order */
	size_t n = json_object_size(x.by_id), i = 0;
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *arr = json_array(), *e;
	const char *k;

	if (!v || !arr) {
		free(v);
		json_decref(arr);
		goto nomem;
	}
	json_object_foreach(x.by_id, k, e)
		v[i++] = e;
	qsort(v, n, sizeof(*v), by_event_id);
	for (i = 0; i < n; i++)
		if (json_array_append(arr, v[i])) {
			free(v);
			json_decref(arr);
			goto nomem;
		}
	free(v);
	json_decref(x.by_id);
	*result = json_pack("{s:o}", "Events", arr);
	return *result ? 0 : NOMEM();
nomem:
	json_decref(x.by_id);
	return NOMEM();
}

/* ---- raise_event ---------------------------------------------------------------- */

int rpc_mi_raise_event(struct evr_control *c, json_t *params, json_t **result, int *code,
                       char *msg, size_t msglen)
{
	static const char *const names[] = {"event", "params"};
	const char *event = NULL;
	json_t *p[2], *attrs = NULL, *req, *r = NULL;
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, names, 2, 2, p, code, msg, msglen)) ||
	    (rc = evr_rpc_get_str(p[0], "event", true, &event, code, msg, msglen)))
		return rc;
	if (json_is_string(p[1])) {
		/* OpenSIPS: a string is a JSON object of params */
		json_error_t je;

		attrs = json_loads(json_string_value(p[1]), JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(attrs)) {
			json_decref(attrs);
			return evr_rpc_fail(code, MI_ERR_BAD_PARAM, msg, msglen, -EINVAL,
			                    "Bad Params: not a JSON object: %s",
			                    attrs ? "another JSON value" : je.text);
		}
	} else if (!evr_rpc_absent(p[1])) {
		attrs = json_incref(p[1]);
	}
	if (evr_mi_event_id(c, event, false) < 0) {
		register_live(c);
		if (evr_mi_event_id(c, event, false) < 0) {
			json_decref(attrs);
			return evr_rpc_fail(code, MI_ERR_NOT_FOUND, msg, msglen, -ENOENT,
			                    "Event not registered");
		}
	}
	req = attrs ? json_pack("{s:s,s:o}", "event", event, "params", attrs)
	            : json_pack("{s:s}", "event", event);
	if (!req)
		return NOMEM();
	rc = evr_action_raise_event(c, req, &r, code, msg, msglen);
	json_decref(req);
	if (rc) {
		if (*code == EVR_RPC_NO_SUBSCRIBERS) {
			*code = MI_ERR_UNAVAILABLE;
			snprintf(msg, msglen, "Temporarily Unavailable");
		}
		return as_mi_error(rc, code);
	}
	json_decref(r);
	*result = MI_OK();
	return *result ? 0 : NOMEM();
}

/* ---- version, uptime -------------------------------------------------------------- */

int rpc_mi_version(struct evr_control *c, json_t *params, json_t **result, int *code,
                   char *msg, size_t msglen)
{
	json_t *p[1];
	struct utsname u;
	char server[256];
	int rc;

	(void)c;
	*result = NULL;
	if ((rc = evr_rpc_bind(params, NULL, 0, 0, p, code, msg, msglen)))
		return rc;
	/* OpenSIPS: "OpenSIPS (3.4.0 (x86_64/linux))", its Server header */
	if (uname(&u) == 0) {
		char os[sizeof(u.sysname)];

		lower_copy(os, u.sysname, sizeof(os));
		snprintf(server, sizeof(server), "evrd (%s (%s/%s))", EVR_VERSION, u.machine, os);
	} else {
		snprintf(server, sizeof(server), "evrd (%s)", EVR_VERSION);
	}
	*result = json_pack("{s:s}", "Server", server);
	return *result ? 0 : NOMEM();
}

/* ctime(3) without its newline, as OpenSIPS prints times */
static void ctime_text(time_t t, char *buf, size_t cap)
{
	char tmp[32];

	if (!ctime_r(&t, tmp))
		snprintf(tmp, sizeof(tmp), "%lld", (long long)t);
	tmp[strcspn(tmp, "\n")] = '\0';
	snprintf(buf, cap, "%s", tmp);
}

int rpc_mi_uptime(struct evr_control *c, json_t *params, json_t **result, int *code,
                  char *msg, size_t msglen)
{
	json_t *p[1];
	char now_s[32], since_s[32], up[48];
	time_t now = time(NULL);
	int rc;

	*result = NULL;
	if ((rc = evr_rpc_bind(params, NULL, 0, 0, p, code, msg, msglen)))
		return rc;
	ctime_text(now, now_s, sizeof(now_s));
	ctime_text(c->started, since_s, sizeof(since_s));
	snprintf(up, sizeof(up), "%lu [sec]",
	         (unsigned long)(now > c->started ? now - c->started : 0));
	*result = json_pack("{s:s,s:s,s:s}", "Now", now_s, "Up since", since_s, "Up time", up);
	return *result ? 0 : NOMEM();
}

/* ---- statistics ------------------------------------------------------------------ */

/* Gauges among the counters (OpenSIPS: "non-incremental"): what goes down
 * as well as up. Everything else only grows. */
static bool is_gauge(const char *group, const char *name)
{
	static const char *const matcher_gauges[] = {
#define EVR_GAUGE_NAME_GAUGE(f) #f,
#define EVR_GAUGE_NAME_COUNTER(f)
#define X(f, k, h) EVR_GAUGE_NAME_##k(f)
		EVR_MATCHER_STATS(X)
#undef X
#undef EVR_GAUGE_NAME_GAUGE
#undef EVR_GAUGE_NAME_COUNTER
		NULL};
	/* the control server's and the dataplane's (evr_ctl_thread.c) */
	static const char *const other[] = {"clients", "sip_dialogs", "sip_registrations",
	                                    NULL};
	const char *const *g = strcmp(group, "matcher") == 0 ? matcher_gauges : other;

	for (; *g; g++)
		if (strcmp(*g, name) == 0)
			return true;
	return false;
}

/* Every integer of one group object as "group:name" into out. */
static int flatten(json_t *out, const char *group, json_t *obj)
{
	const char *k;
	json_t *v;
	char name[160];

	json_object_foreach(obj, k, v) {
		if (!json_is_integer(v))
			continue;
		snprintf(name, sizeof(name), "%s:%s", group, k);
		if (json_object_set(out, name, v))
			return -ENOMEM;
	}
	return 0;
}

/* Current values, "group:name" -> integer, in group order. */
static json_t *stats_now(struct evr_control *c, int *code, char *msg, size_t msglen)
{
	json_t *all = NULL, *out;
	int rc = evr_action_stats(c, NULL, &all, code, msg, msglen);

	if (rc)
		return NULL;
	out = json_object();
	if (!out || flatten(out, "matcher", json_object_get(all, "matcher")) ||
	    flatten(out, "control", json_object_get(all, "control")) ||
	    flatten(out, "dataplane",
	            json_object_get(json_object_get(all, "dataplane"), "totals"))) {
		json_decref(out);
		out = NULL;
	}
	json_decref(all);
	return out;
}

/* The "statistics" param: array of "all", "group:", "group:name" (a bare
 * string is taken as a one-element array). */
static int stat_selectors(json_t *params, json_t **sel, bool required, int *code, char *msg,
                          size_t msglen)
{
	static const char *const names[] = {"statistics"};
	json_t *p[1];
	int rc;

	*sel = NULL;
	if ((rc = evr_rpc_bind(params, names, 1, 1, p, code, msg, msglen)))
		return rc;
	if (evr_rpc_absent(p[0])) {
		if (required)
			return BAD("missing parameter 'statistics'");
		return 0;
	}
	if (json_is_string(p[0])) {
		*sel = json_pack("[O]", p[0]);
		return *sel ? 0 : NOMEM();
	}
	if (!json_is_array(p[0]))
		return BAD("parameter 'statistics' must be an array of names");
	size_t i;
	json_t *v;
	json_array_foreach(p[0], i, v)
		if (!json_is_string(v))
			return BAD("statistics[%zu] must be a string", i);
	*sel = json_incref(p[0]);
	return 0;
}

static bool selected(json_t *sel, const char *name)
{
	size_t i;
	json_t *v;

	if (!sel)
		return true;
	json_array_foreach(sel, i, v) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);

		if (strcmp(s, "all") == 0 || strcmp(s, name) == 0 ||
		    (n && s[n - 1] == ':' && strncmp(s, name, n) == 0))
			return true;
	}
	return false;
}

/* Group of "group:name" into buf; the name part returned. */
static const char *split_name(const char *full, char *group, size_t cap)
{
	size_t g = strcspn(full, ":");

	snprintf(group, cap, "%.*s", (int)g, full);
	return full[g] ? full + g + 1 : full + g;
}

/* What a statistics query yields per selected counter. */
enum stat_view {
	SV_VALUE, /* get_statistics: value since the last reset */
	SV_KIND,  /* list_statistics: "incremental" / "non-incremental" */
	SV_RESET, /* reset_statistics: the baselines are set, "OK" */
};

/* The three statistics methods: select by the "statistics" param (all of
 * them when absent and !required), then view. 404 "Statistics Not Found"
 * when nothing is selected, as OpenSIPS. */
static int stats_query(struct evr_control *c, json_t *params, bool required,
                       enum stat_view view, json_t **result, int *code, char *msg,
                       size_t msglen)
{
	json_t *sel, *now, *out, *v, *base;
	const char *k;
	char group[64];
	int rc;

	*result = NULL;
	if ((rc = stat_selectors(params, &sel, required, code, msg, msglen)))
		return rc;
	now = stats_now(c, code, msg, msglen);
	out = json_object();
	if (view == SV_RESET && !c->stat_base)
		c->stat_base = json_object();
	if (!now || !out || (view == SV_RESET && !c->stat_base)) {
		json_decref(sel);
		json_decref(now);
		json_decref(out);
		return *code ? -EIO : NOMEM();
	}
	json_object_foreach(now, k, v) {
		if (!selected(sel, k))
			continue;
		const char *name = split_name(k, group, sizeof(group));
		bool gauge = is_gauge(group, name);
		json_int_t x = json_integer_value(v);

		switch (view) {
		case SV_VALUE:
			base = c->stat_base ? json_object_get(c->stat_base, k) : NULL;
			if (base && !gauge)
				x -= json_integer_value(base);
			json_object_set_new(out, k, json_integer(x));
			break;
		case SV_KIND:
			json_object_set_new(out, k,
			                    json_string(gauge ? "non-incremental" : "incremental"));
			break;
		case SV_RESET:
			json_object_set_new(out, k, json_true());
			if (!gauge)
				json_object_set(c->stat_base, k, v);
			break;
		}
	}
	json_decref(sel);
	json_decref(now);
	if (json_object_size(out) == 0) {
		json_decref(out);
		return evr_rpc_fail(code, MI_ERR_NOT_FOUND, msg, msglen, -ENOENT,
		                    "Statistics Not Found");
	}
	if (view == SV_RESET) {
		json_decref(out);
		out = MI_OK();
		if (!out)
			return NOMEM();
	}
	*result = out;
	return 0;
}

int rpc_mi_get_statistics(struct evr_control *c, json_t *params, json_t **result, int *code,
                          char *msg, size_t msglen)
{
	return stats_query(c, params, true, SV_VALUE, result, code, msg, msglen);
}

int rpc_mi_list_statistics(struct evr_control *c, json_t *params, json_t **result, int *code,
                           char *msg, size_t msglen)
{
	return stats_query(c, params, false, SV_KIND, result, code, msg, msglen);
}

int rpc_mi_reset_statistics(struct evr_control *c, json_t *params, json_t **result,
                            int *code, char *msg, size_t msglen)
{
	return stats_query(c, params, true, SV_RESET, result, code, msg, msglen);
}
