/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH event socket (ESL) for event consumers: inbound mode, as
 * mod_event_socket serves it (FreeSWITCH src/mod/event_handlers/
 * mod_event_socket/mod_event_socket.c: listener_run, read_packet,
 * parse_command, event_handler; read, not copied), so modesl, greenswitch,
 * python ESL and fs_cli-style clients connect unchanged.
 *
 * Protocol (what a client sees):
 *  - On connect: "Content-Type: auth/request\n\n". A peer outside esl.acl
 *    gets "Content-Type: text/rude-rejection" + "Access Denied, go away.\n"
 *    and is closed, as FreeSWITCH does; over esl.max_clients the same with
 *    "Too many connections.\n".
 *  - A command is a header block: the command line, optional "Name: value"
 *    lines, a blank line ("\r\n" or "\n"; leading blank lines skipped), and
 *    with a Content-Length header that many body bytes. Replies are
 *    "Content-Type: command/reply\nReply-Text: <text>\n\n", api ones
 *    "Content-Type: api/response\nContent-Length: N\n\n<text>".
 *  - auth <password> -> "+OK accepted" | "-ERR invalid" then the disconnect
 *    notice ("Content-Type: text/disconnect-notice\nContent-Length: N\n\n"
 *    text) and close. Before auth every other command answers
 *    "-ERR command not found"; no auth within 25 s closes (read_packet's
 *    timeout). exit -> "+OK bye", the disconnect notice, close.
 *  - event [plain|json|xml] <names...>: names accumulate over commands; ALL;
 *    CUSTOM then subclasses (every token after CUSTOM is a subclass, as in
 *    FreeSWITCH); -> "+OK event listener enabled <format>", or "-ERR no
 *    keywords supplied". nixevent <names...> -> "+OK events nixed" (after
 *    ALL it leaves every other event on); noevents -> "+OK no longer
 *    listening for events" | "-ERR not listening for events".
 *  - filter / filter delete: evr_esl_filter.c.
 *  - myevents <uuid> [plain|json|xml]: the channel events (FreeSWITCH's
 *    list) of that Unique-ID (or Job-Owner-UUID) only -> "+OK Events
 *    Enabled"; divert_events on|off, linger [s] / nolinger answer as for a
 *    connection following a session once myevents named one, else
 *    "-ERR not controlling a session"; log [level] / nolog are accepted
 *    (no log stream: evrd has no FreeSWITCH log).
 *  - sendevent <NAME> + headers [+ body] -> "+OK <Event-UUID>": the event
 *    (its "Command" header, the given headers, Event-UUID, and the
 *    standard headers when the client gave no Core-UUID) is raised through
 *    the control plane's raise path, i.e. matched and notified exactly as
 *    an event from a listener.
 *  - api status -> api/response with evrd's status text; other api
 *    commands -> api/response "-ERR <cmd> Command not found! ..."; bgapi
 *    status -> "+OK Job-UUID: <uuid>" then a BACKGROUND_JOB event with the
 *    text as body (modesl's bgapi waits for it); other bgapi -> -ERR.
 *  - Events: "Content-Length: N\nContent-Type: text/event-<format>\n\n"
 *    then the event as switch_event_serialize (plain, URL-encoded values),
 *    switch_event_serialize_json or switch_event_xmlize write it
 *    (codec/evr_encode.h).
 *
 * How events reach a connection: its interest (names, CUSTOM subclasses,
 * ALL) is a set of subscriptions in the matcher with destination
 * "esl:<connection id>" (format plain), so events nobody's connection asked
 * for cost nothing; workers hand matched notifications to this thread on
 * a ring (never a syscall on a worker) and evr_control_esl_deliver decodes
 * the plain payload, applies what the matcher cannot (nixevent after ALL,
 * header filters, myevents, CUSTOM without subclass), converts the format
 * and queues it. Each connection's queue holds at most esl.queue_max events
 * (FreeSWITCH's MAX_QUEUE_LEN 100000): a client that does not read loses
 * the overflow, counted per connection and in control.esl_events_lost, and
 * is disconnected after 500 lost in a row (MAX_MISSED), as FreeSWITCH does;
 * workers and the other clients never wait for it.
 *
 * Thread context: control thread only; every socket is non-blocking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "codec/evr_decode.h"
#include "codec/evr_encode.h"
#include "event/evr_event_build.h"
#include "net/evr_cidr.h"
#include "evr_control_internal.h"
#include "evr_esl.h"

#define ESL_AUTH_TIMEOUT_MS 25000u /* read_packet(listener, &event, 25) */
#define ESL_MAX_MISSED 500u        /* lost in a row before the client is killed */
#define ESL_CLOSE_GRACE_MS 1000u   /* a closing client's last bytes */
#define ESL_MAX_INTEREST 4096u     /* event names + subclasses per connection */
#define ESL_MAX_REPLY_BYTES (16u << 20) /* unread replies before a drop */
#define ESL_WRITEV 64
/* mod_event_socket's disconnect notice text after exit and a failed auth */
#define ESL_GOODBYE "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

struct esl_out {
	struct esl_out *next;
	uint32_t len, off;
	bool event;
	char data[];
};

struct strset {
	char **v;
	uint32_t n, cap;
};

/* One matcher subscription of a connection. */
struct esl_sub {
	char *event;
	char *subclass; /* NULL: any */
	uint64_t id;
};

struct esl_conn {
	uint64_t id;
	int fd;
	char peer[64];
	uint64_t since_ms, auth_by_ms, close_by_ms;
	bool authed, closing, events_on, logging, linger, divert;
	uint8_t fmt; /* enum evr_format: PLAIN, JSON, XML */
	/* interest, as mod_event_socket keeps it */
	bool all;
	struct strset names, subclasses, nixed, nixed_sub;
	char *myevents;
	struct esl_sub *subs;
	uint32_t n_subs;
	struct evr_esl_filters filters;
	/* output */
	struct esl_out *head, *tail;
	uint32_t q_events;
	size_t q_bytes, r_bytes; /* all queued; replies (not events) only */
	uint32_t lost_run;
	uint64_t lost, sent, filtered;
	/* input */
	char *in;
	size_t in_len, in_cap;
};

struct evr_esl {
	struct evr_control *c;
	int fd;
	char *listen, *password;
	struct evr_cidr *acl;
	uint32_t n_acl;
	uint32_t max_clients, queue_max;
	struct esl_conn **conns; /* max_clients slots */
	uint32_t n;
	uint64_t serial;
	uint32_t max_in;         /* header block + body bytes */
	struct evr_scratch sc;   /* deliveries are decoded here */
	char *enc;               /* and re-encoded here */
	size_t enc_cap;
	unsigned base;           /* first pollfd entry of ours */
};

#define CNT(e, f) ((e)->c->cnt.f++)

static const char *const channel_events[] = {
	"CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE",
	"CHANNEL_DATA", "CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
	"CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_UUID",
	"CHANNEL_OUTGOING", "CHANNEL_PARK", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
	"CHANNEL_STATE", "CHANNEL_UNBRIDGE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "DTMF",
	"NOTALK", "TALK",
};

/* ---- small sets (case-insensitive) ------------------------------------------ */

static int set_find(const struct strset *s, const char *v, size_t n)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == n && !strncasecmp(s->v[i], v, n))
			return (int)i;
	return -1;
}

static int set_add(struct strset *s, const char *v)
{
	if (set_find(s, v, strlen(v)) >= 0)
		return 0;
	if (s->n >= ESL_MAX_INTEREST)
		return -ENOSPC;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 8;
		char **nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(v)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static void set_del(struct strset *s, const char *v)
{
	int i = set_find(s, v, strlen(v));

	if (i < 0)
		return;
	free(s->v[i]);
	s->v[i] = s->v[--s->n];
}

static void set_clear(struct strset *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

static void set_free(struct strset *s)
{
	set_clear(s);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

/* ---- output ------------------------------------------------------------------ */

static int out_push(struct esl_conn *cn, const char *a, size_t al, const char *b, size_t bl,
                    bool event)
{
	struct esl_out *o;

	if (al + bl > UINT32_MAX || !(o = malloc(sizeof(*o) + al + bl)))
		return -ENOMEM;
	o->next = NULL;
	o->len = (uint32_t)(al + bl);
	o->off = 0;
	o->event = event;
	memcpy(o->data, a, al);
	if (bl)
		memcpy(o->data + al, b, bl);
	if (cn->tail)
		cn->tail->next = o;
	else
		cn->head = o;
	cn->tail = o;
	cn->q_bytes += o->len;
	cn->q_events += event;
	cn->r_bytes += event ? 0 : o->len;
	return 0;
}

static void out_flush_events(struct esl_conn *cn)
{
	struct esl_out **pp = &cn->head, *last = NULL;

	/* a partly written item stays: the client must get whole frames */
	while (*pp) {
		struct esl_out *o = *pp;

		if (o->event && o->off == 0) {
			*pp = o->next;
			cn->q_bytes -= o->len;
			cn->q_events--;
			free(o);
			continue;
		}
		last = o;
		pp = &o->next;
	}
	cn->tail = last;
}

static void send_text(struct esl_conn *cn, const char *ctype, const char *text)
{
	char hdr[160];
	size_t tl = strlen(text);
	int hl = snprintf(hdr, sizeof(hdr), "Content-Type: %s\nContent-Length: %zu\n\n", ctype, tl);

	out_push(cn, hdr, (size_t)hl, text, tl, false);
}

static void send_reply(struct esl_conn *cn, const char *text)
{
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), "Content-Type: command/reply\nReply-Text: ");

	/* the reply text is one line: what FreeSWITCH writes is "%s\n\n" */
	out_push(cn, hdr, (size_t)hl, text, strlen(text), false);
	out_push(cn, "\n\n", 2, NULL, 0, false);
}

/* Queue the disconnect notice and stop reading; closed once written. */
static void conn_closing(struct evr_esl *e, struct esl_conn *cn, const char *why)
{
	if (cn->closing)
		return;
	send_text(cn, "text/disconnect-notice", why);
	cn->closing = true;
	cn->close_by_ms = evr_now_ms() + ESL_CLOSE_GRACE_MS;
	(void)e;
}

/* ---- interest -> matcher subscriptions ---------------------------------------- */

static int sub_add(struct evr_esl *e, struct esl_conn *cn, const char *event,
                   const char *subclass, char *err, size_t errlen)
{
	char dest[32];
	struct evr_sub_spec spec;
	struct evr_sub_info info;
	struct esl_sub *ns;
	int rc;

	snprintf(dest, sizeof(dest), "esl:%llu", (unsigned long long)cn->id);
	spec = (struct evr_sub_spec){ .event = event, .subclass = subclass, .dest = dest,
	                              .format = EVR_FMT_PLAIN,
	                              .expire = EVR_SUB_EXPIRE_NEVER };
	ns = realloc(cn->subs, (cn->n_subs + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	cn->subs = ns;
	rc = evr_matcher_subscribe(e->c->m, &spec, evr_now_ms(), &info, err, errlen);
	if (rc)
		return rc;
	ns[cn->n_subs].event = strdup(event);
	ns[cn->n_subs].subclass = subclass ? strdup(subclass) : NULL;
	ns[cn->n_subs].id = info.id;
	if (!ns[cn->n_subs].event || (subclass && !ns[cn->n_subs].subclass)) {
		free(ns[cn->n_subs].event);
		free(ns[cn->n_subs].subclass);
		evr_matcher_unsubscribe(e->c->m, info.id);
		return -ENOMEM;
	}
	cn->n_subs++;
	return 0;
}

static bool want_sub(const struct esl_conn *cn, const struct esl_sub *s)
{
	if (!cn->events_on)
		return false;
	if (cn->all)
		return !strcmp(s->event, "ALL");
	if (!strcasecmp(s->event, "CUSTOM")) {
		if (set_find(&cn->names, "CUSTOM", 6) < 0)
			return false;
		if (!s->subclass)
			return cn->subclasses.n == 0;
		return set_find(&cn->subclasses, s->subclass, strlen(s->subclass)) >= 0;
	}
	return set_find(&cn->names, s->event, strlen(s->event)) >= 0;
}

static bool have_sub(const struct esl_conn *cn, const char *event, const char *subclass)
{
	for (uint32_t i = 0; i < cn->n_subs; i++) {
		const struct esl_sub *s = &cn->subs[i];

		if (!strcasecmp(s->event, event) && !s->subclass == !subclass &&
		    (!subclass || !strcmp(s->subclass, subclass)))
			return true;
	}
	return false;
}

/*
 * Make the connection's matcher subscriptions what its interest says: ALL
 * alone when ALL is on (nixed names are dropped at delivery); else one per
 * name, CUSTOM as one per subclass (or CUSTOM with any subclass when none
 * is named; delivery then keeps only events without one, as FreeSWITCH).
 */
static int sync_subs(struct evr_esl *e, struct esl_conn *cn, char *err, size_t errlen)
{
	uint32_t w = 0;
	int rc = 0;

	for (uint32_t i = 0; i < cn->n_subs; i++) {
		struct esl_sub *s = &cn->subs[i];

		if (want_sub(cn, s)) {
			cn->subs[w++] = *s;
			continue;
		}
		evr_matcher_unsubscribe(e->c->m, s->id);
		free(s->event);
		free(s->subclass);
	}
	cn->n_subs = w;
	if (!cn->events_on)
		return 0;
	if (cn->all)
		return have_sub(cn, "ALL", NULL) ? 0 : sub_add(e, cn, "ALL", NULL, err, errlen);
	for (uint32_t i = 0; i < cn->names.n && !rc; i++) {
		const char *nm = cn->names.v[i];

		if (strcasecmp(nm, "CUSTOM")) {
			if (!have_sub(cn, nm, NULL))
				rc = sub_add(e, cn, nm, NULL, err, errlen);
		} else if (!cn->subclasses.n) {
			if (!have_sub(cn, "CUSTOM", NULL))
				rc = sub_add(e, cn, "CUSTOM", NULL, err, errlen);
		} else {
			for (uint32_t k = 0; k < cn->subclasses.n && !rc; k++)
				if (!have_sub(cn, "CUSTOM", cn->subclasses.v[k]))
					rc = sub_add(e, cn, "CUSTOM", cn->subclasses.v[k], err,
					             errlen);
		}
	}
	return rc;
}

static void drop_subs(struct evr_esl *e, struct esl_conn *cn)
{
	for (uint32_t i = 0; i < cn->n_subs; i++) {
		evr_matcher_unsubscribe(e->c->m, cn->subs[i].id);
		free(cn->subs[i].event);
		free(cn->subs[i].subclass);
	}
	cn->n_subs = 0;
}

/* mod_event_socket's event_handler interest test, on the decoded event. */
static bool interest_pass(const struct esl_conn *cn, const struct evr_event *ev)
{
	bool custom = ev->name.len == 6 && evr_ieq(ev->name.p, "CUSTOM", 6);

	if (cn->all) {
		if (set_find(&cn->nixed, ev->name.p, ev->name.len) >= 0)
			return false;
		return !(custom && ev->subclass.len &&
		         set_find(&cn->nixed_sub, ev->subclass.p, ev->subclass.len) >= 0);
	}
	if (set_find(&cn->names, ev->name.p, ev->name.len) < 0)
		return false;
	return !custom || !ev->subclass.len ||
	       set_find(&cn->subclasses, ev->subclass.p, ev->subclass.len) >= 0;
}

/* myevents: the session's own events (Unique-ID) or its jobs'. */
static bool myevents_pass(const struct esl_conn *cn, const struct evr_event *ev)
{
	size_t ul = strlen(cn->myevents);
	const struct evr_attr *a = evr_event_find(ev, "Unique-ID", 9);

	if (a && a->value.len == ul && !memcmp(a->value.p, cn->myevents, ul))
		return true;
	a = evr_event_find(ev, "Job-Owner-UUID", 14);
	return a && a->value.len == ul && !memcmp(a->value.p, cn->myevents, ul);
}

/* ---- connections ------------------------------------------------------------- */

static struct esl_conn *conn_get(struct evr_esl *e, uint64_t id)
{
	uint64_t slot = id & 0xffffu;
	struct esl_conn *cn;

	if (slot >= e->max_clients || !(cn = e->conns[slot]) || cn->id != id)
		return NULL;
	return cn;
}

static void conn_free(struct evr_esl *e, uint32_t slot)
{
	struct esl_conn *cn = e->conns[slot];

	drop_subs(e, cn);
	free(cn->subs);
	while (cn->head) {
		struct esl_out *o = cn->head;

		cn->head = o->next;
		free(o);
	}
	set_free(&cn->names);
	set_free(&cn->subclasses);
	set_free(&cn->nixed);
	set_free(&cn->nixed_sub);
	evr_esl_filters_free(&cn->filters);
	free(cn->myevents);
	free(cn->in);
	if (cn->fd >= 0)
		close(cn->fd);
	free(cn);
	e->conns[slot] = NULL;
	e->n--;
	CNT(e, esl_closed);
}

static bool acl_allows(const struct evr_esl *e, const struct sockaddr_storage *ss)
{
	return !e->n_acl || evr_cidr_list_contains(e->acl, e->n_acl, (const struct sockaddr *)ss);
}

static void reject(int fd, const char *text)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "Content-Type: text/rude-rejection\nContent-Length: "
	                 "%zu\n\n%s", strlen(text), text);

	/* best effort, one non-blocking write: it is a fresh socket */
	if (write(fd, buf, (size_t)n) < 0) {
	}
	close(fd);
}

static void accept_conns(struct evr_esl *e)
{
	for (int k = 0; k < 16; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(e->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct esl_conn *cn;
		uint32_t slot;
		char host[INET6_ADDRSTRLEN];
		int one = 1;

		if (fd < 0)
			return;
		if (!acl_allows(e, &ss)) {
			CNT(e, esl_refused_acl);
			reject(fd, "Access Denied, go away.\n");
			continue;
		}
		if (e->n >= e->max_clients || !(cn = calloc(1, sizeof(*cn)))) {
			CNT(e, esl_refused_full);
			reject(fd, "Too many connections.\n");
			continue;
		}
		for (slot = 0; e->conns[slot]; slot++)
			;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cn->fd = fd;
		cn->id = (++e->serial << 16) | slot;
		cn->fmt = EVR_FMT_PLAIN;
		cn->since_ms = evr_now_ms();
		cn->auth_by_ms = cn->since_ms + ESL_AUTH_TIMEOUT_MS;
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			snprintf(cn->peer, sizeof(cn->peer), "[%s]:%u", host, ntohs(s6->sin6_port));
		} else {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			snprintf(cn->peer, sizeof(cn->peer), "%s:%u", host, ntohs(s4->sin_port));
		}
		e->conns[slot] = cn;
		e->n++;
		CNT(e, esl_accepted);
		out_push(cn, EVR_LIT("Content-Type: auth/request\n\n"), NULL, 0, false);
	}
}

/* ---- commands ---------------------------------------------------------------- */

struct esl_hdr {
	const char *name, *value;
};

struct esl_cmd {
	char *line;               /* the command line, NUL-terminated */
	struct esl_hdr *h;        /* the header lines after it */
	uint32_t nh;
	const char *body;
	size_t blen;
};

static bool is_fmt(const char *t, uint8_t *fmt)
{
	if (!strcasecmp(t, "plain"))
		*fmt = EVR_FMT_PLAIN;
	else if (!strcasecmp(t, "json"))
		*fmt = EVR_FMT_JSON;
	else if (!strcasecmp(t, "xml"))
		*fmt = EVR_FMT_XML;
	else
		return false;
	return true;
}

/* Space-separated tokens of s (in place), as strchr(cur, ' ') walks them. */
static char *next_tok(char **cur)
{
	char *t = *cur, *sp;

	if (!t)
		return NULL;
	sp = strchr(t, ' ');
	if (sp) {
		*sp = '\0';
		*cur = sp + 1;
	} else {
		*cur = NULL;
	}
	return t;
}

static int cmd_event(struct evr_esl *e, struct esl_conn *cn, char *args, char *rep, size_t rl)
{
	char err[256] = "";
	unsigned count = 0, keys = 0;
	bool custom = false;
	int rc = 0;

	for (char *t; (t = next_tok(&args)) != NULL && !rc; count++) {
		if (!count && is_fmt(t, &cn->fmt))
			continue;
		if (!*t)
			continue;
		if (custom) {
			set_del(&cn->nixed_sub, t);
			rc = set_add(&cn->subclasses, t);
			continue;
		}
		keys++;
		if (!strcasecmp(t, "ALL")) {
			cn->all = true;
			set_clear(&cn->nixed);
			set_clear(&cn->nixed_sub);
			continue;
		}
		if (!strcasecmp(t, "CUSTOM"))
			custom = true;
		set_del(&cn->nixed, t);
		rc = set_add(&cn->names, t);
	}
	if (rc) {
		snprintf(rep, rl, "-ERR %s", rc == -ENOSPC ? "too many events" : "out of memory");
		return 0;
	}
	if (!keys) {
		snprintf(rep, rl, "-ERR no keywords supplied");
		return 0;
	}
	cn->events_on = true;
	if ((rc = sync_subs(e, cn, err, sizeof(err)))) {
		snprintf(rep, rl, "-ERR %s", err[0] ? err : strerror(-rc));
		return 0;
	}
	evr_control_wait_visible(e->c);
	snprintf(rep, rl, "+OK event listener enabled %s", evr_format_name(cn->fmt));
	return 0;
}

static int cmd_nixevent(struct evr_esl *e, struct esl_conn *cn, char *args, char *rep,
                        size_t rl)
{
	char err[256] = "";
	unsigned keys = 0;
	bool custom = false;

	for (char *t; (t = next_tok(&args)) != NULL;) {
		if (!*t)
			continue;
		if (custom) {
			set_del(&cn->subclasses, t);
			if (cn->all)
				set_add(&cn->nixed_sub, t);
			continue;
		}
		keys++;
		if (!strcasecmp(t, "CUSTOM")) {
			custom = true; /* FreeSWITCH leaves CUSTOM itself on */
		} else if (!strcasecmp(t, "ALL")) {
			cn->all = false;
			set_clear(&cn->names);
			set_clear(&cn->nixed);
			set_clear(&cn->nixed_sub);
		} else if (cn->all) {
			set_add(&cn->nixed, t);
		} else {
			set_del(&cn->names, t);
		}
	}
	if (!keys) {
		snprintf(rep, rl, "-ERR no keywords supplied");
		return 0;
	}
	cn->events_on = true;
	if (sync_subs(e, cn, err, sizeof(err))) {
		snprintf(rep, rl, "-ERR %s", err);
		return 0;
	}
	snprintf(rep, rl, "+OK events nixed");
	return 0;
}

static void cmd_noevents(struct evr_esl *e, struct esl_conn *cn, char *rep, size_t rl)
{
	out_flush_events(cn);
	if (!cn->events_on) {
		snprintf(rep, rl, "-ERR not listening for events");
		return;
	}
	cn->events_on = cn->all = false;
	set_clear(&cn->names);
	set_clear(&cn->subclasses);
	set_clear(&cn->nixed);
	set_clear(&cn->nixed_sub);
	drop_subs(e, cn);
	snprintf(rep, rl, "+OK no longer listening for events");
}

static void cmd_filter(struct esl_conn *cn, char *args, char *rep, size_t rl)
{
	char *name = args, *val, err[200];

	while (*name == ' ')
		name++;
	if ((val = strchr(name, ' ')))
		*val++ = '\0';
	if (!strcasecmp(name, "delete") && val) {
		name = val;
		if ((val = strchr(name, ' ')))
			*val++ = '\0';
		if (!strcasecmp(name, "all"))
			evr_esl_filters_clear(&cn->filters);
		else
			evr_esl_filter_del(&cn->filters, name, val);
		snprintf(rep, rl, "+OK filter deleted. [%s][%s]", name, val ? val : "");
		return;
	}
	if (!val) {
		snprintf(rep, rl, "-ERR invalid syntax");
		return;
	}
	if (!strcasecmp(name, "add")) {
		name = val;
		if ((val = strchr(name, ' ')))
			*val++ = '\0';
		if (!val) {
			snprintf(rep, rl, "-ERR invalid syntax");
			return;
		}
	}
	if (evr_esl_filter_add(&cn->filters, name, val, err, sizeof(err)))
		snprintf(rep, rl, "-ERR %s", err);
	else
		snprintf(rep, rl, "+OK filter added. [%s]=[%s]", name, val);
}

static void cmd_myevents(struct evr_esl *e, struct esl_conn *cn, char *args, char *rep,
                         size_t rl)
{
	char err[256] = "", *uuid = args, *fmt;

	if (cn->myevents) {
		snprintf(rep, rl, "-ERR aready enabled."); /* sic, FreeSWITCH's text */
		return;
	}
	while (*uuid == ' ')
		uuid++;
	if ((fmt = strchr(uuid, ' ')))
		*fmt++ = '\0';
	if (!*uuid) {
		snprintf(rep, rl, "-ERR invalid uuid");
		return;
	}
	if (fmt && !is_fmt(fmt, &cn->fmt)) {
		snprintf(rep, rl, "-ERR invalid format %s", fmt);
		return;
	}
	if (!(cn->myevents = strdup(uuid))) {
		snprintf(rep, rl, "-ERR out of memory");
		return;
	}
	for (size_t i = 0; i < sizeof(channel_events) / sizeof(channel_events[0]); i++)
		if (set_add(&cn->names, channel_events[i])) {
			snprintf(rep, rl, "-ERR too many events");
			return;
		}
	cn->events_on = true;
	if (sync_subs(e, cn, err, sizeof(err))) {
		snprintf(rep, rl, "-ERR %s", err);
		return;
	}
	evr_control_wait_visible(e->c);
	snprintf(rep, rl, "+OK Events Enabled");
}

/* switch_log_str2level's names and numbers; -1 when not a level. */
static int log_level(const char *s)
{
	static const char *const names[] = { "console", "alert", "crit", "err",
		                             "warning", "notice", "info", "debug" };
	char *end;
	long v;

	for (int i = 0; i < 8; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	if (!strcasecmp(s, "error"))
		return 3;
	v = strtol(s, &end, 10);
	return *s && !*end && v >= 0 && v <= 7 ? (int)v : -1;
}

static void cmd_log(struct esl_conn *cn, char *args, char *rep, size_t rl)
{
	char *lv = args, *sp;
	int level = 7; /* SWITCH_LOG_DEBUG */

	while (*lv == ' ')
		lv++;
	if ((sp = strchr(lv, ' ')))
		*sp = '\0';
	if (*lv && (level = log_level(lv)) < 0) {
		snprintf(rep, rl, "-ERR invalid log level");
		return;
	}
	cn->logging = true;
	snprintf(rep, rl, "+OK log level %s [%d]", lv, level);
}

static size_t status_text(struct evr_esl *e, char *out, size_t cap)
{
	struct evr_matcher_stats st;
	char up[256];

	evr_matcher_get_stats(e->c->m, &st);
	evr_fs_uptime_text(up, sizeof(up), evr_control_uptime_us(e->c));
	int n = snprintf(out, cap,
	                 "UP %s\n%s (Version %s) is ready\n%llu subscription(s) live\n"
	                 "%u ESL client(s) of %u\n",
	                 up, "evrd", EVR_VERSION, (unsigned long long)st.live, e->n,
	                 e->max_clients);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void new_uuid(char out[EVR_FS_UUID_LEN + 1])
{
	if (evr_fs_uuid_random(out) != 0) { /* cannot happen past early boot */
		memset(out, '0', EVR_FS_UUID_LEN);
		out[EVR_FS_UUID_LEN] = '\0';
	}
}

/*
 * Build the event of a sendevent (or bgapi's BACKGROUND_JOB) and raise it
 * through the control plane's one raise path. hdrs: the client's headers
 * in order (Content-Length left out: encoders write their own). Once the
 * event is built, before it is raised, ok (the command's reply, with its
 * own headers when it starts with "Content-Type") is queued to cn: the
 * client reads the reply before the event it raised, as FreeSWITCH writes
 * them (its reply is written at once, the event later by the listener).
 */
static int raise_built(struct evr_esl *e, struct esl_conn *cn, const char *ok,
                       const char *name, const char *command,
                       const struct esl_hdr *h, uint32_t nh, const char *uuid,
                       const char *body, size_t blen, char *err, size_t errlen)
{
	const struct evr_limits *lim = &e->c->limits;
	struct evr_scratch s;
	struct evr_raise_result res;
	size_t cap = strlen(name) + (command ? strlen(command) : 0) + 64 + EVR_FS_STD_BYTES + blen;
	bool std = true, custom = !strcasecmp(name, "CUSTOM");

	for (uint32_t i = 0; i < nh; i++)
		cap += strlen(h[i].name) + strlen(h[i].value) + 2;
	if (cap >= UINT32_MAX || evr_ev_arena_init(&s, lim, (uint32_t)cap + 1)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	evr_ev_begin(&s, EVR_FMT_PLAIN);
	if (!evr_ev_store(&s, &s.ev.name, name, strlen(name), 0))
		goto full;
	if (command && !evr_ev_add(&s, "Command", 7, command, strlen(command), 0,
	                           lim->max_value_len))
		goto full;
	for (uint32_t i = 0; i < nh; i++) {
		size_t nl = strlen(h[i].name);

		if (nl == 14 && !strcasecmp(h[i].name, "Content-Length"))
			continue;
		if (nl == 9 && !strcasecmp(h[i].name, "Core-UUID"))
			std = false; /* relayed from a FreeSWITCH: its own headers */
		if (!evr_ev_add_copy(&s, h[i].name, nl, h[i].value, strlen(h[i].value), 0,
		                     lim->max_value_len))
			goto full;
	}
	if (uuid && !evr_ev_add(&s, "Event-UUID", 10, uuid, strlen(uuid), 0, lim->max_value_len))
		goto full;
	if (std && !EVR_FS_STD_ADD(&s, e->c->fs_std, &e->c->fs_clk, evr_control_wall_us()))
		goto full;
	if (custom) {
		const struct evr_attr *a = evr_event_find(&s.ev, "Event-Subclass", 14);

		if (a)
			s.ev.subclass = a->value;
	}
	if (blen && !evr_ev_store(&s, &s.ev.body, body, blen, 0))
		goto full;
	if (!strncmp(ok, "Content-Type", 12))
		out_push(cn, ok, strlen(ok), NULL, 0, false);
	else
		send_reply(cn, ok);
	/* the reply is out: a failure now is counted, not answered */
	if (evr_control_raise(e->c, &s.ev, &res))
		CNT(e, esl_raise_failed);
	evr_ev_arena_fini(&s);
	return 0;
full:
	snprintf(err, errlen, "event over the limits (max_attrs %u, max_name_len %u, "
	         "max_value_len %u)", lim->max_attrs, lim->max_name_len, lim->max_value_len);
	evr_ev_arena_fini(&s);
	return -E2BIG;
}

static void cmd_sendevent(struct evr_esl *e, struct esl_conn *cn, struct esl_cmd *k,
                          char *args, char *rep, size_t rl)
{
	char uuid[EVR_FS_UUID_LEN + 1], err[256], ok[EVR_FS_UUID_LEN + 8];
	const char *name = args;

	while (*name == ' ' || *name == '\t')
		name++;
	if (!*name)
		for (uint32_t i = 0; i < k->nh; i++)
			if (!strcasecmp(k->h[i].name, "Event-Name"))
				name = k->h[i].value;
	if (!*name) {
		snprintf(rep, rl, "-ERR missing event name");
		return;
	}
	new_uuid(uuid);
	CNT(e, esl_sendevent);
	snprintf(ok, sizeof(ok), "+OK %s", uuid);
	if (raise_built(e, cn, ok, name, k->line, k->h, k->nh, uuid, k->body, k->blen, err,
	                sizeof(err)))
		snprintf(rep, rl, "-ERR %s", err);
}

static void cmd_api(struct evr_esl *e, struct esl_conn *cn, const struct esl_cmd *k,
                    char *args, bool bg, char *rep,
                    size_t rl)
{
	char text[1024], uuid[EVR_FS_UUID_LEN + 1], err[256], ok[192];
	char *cmd = args, *arg;

	while (*cmd == ' ')
		cmd++;
	if ((arg = strchr(cmd, ' ')))
		*arg++ = '\0';
	if (strcasecmp(cmd, "status")) {
		if (bg) {
			snprintf(rep, rl, "-ERR %s Command not found! evrd routes events: only "
			         "'status' is served", cmd);
			return;
		}
		snprintf(text, sizeof(text), "-ERR %s Command not found! evrd routes events: "
		         "only 'api status' is served\n", cmd);
		send_text(cn, "api/response", text);
		return;
	}
	status_text(e, text, sizeof(text));
	if (!bg) {
		send_text(cn, "api/response", text);
		return;
	}
	/* bgapi: the job id now, the result as a BACKGROUND_JOB event. The
	 * client's Job-UUID header names the job when given (modesl always
	 * sends one and waits for BACKGROUND_JOB::<it>), as parse_command
	 * takes "job-uuid"; else a new one */
	new_uuid(uuid);
	for (uint32_t i = 0; i < k->nh; i++)
		if (!strcasecmp(k->h[i].name, "Job-UUID") && k->h[i].value[0] &&
		    strlen(k->h[i].value) <= EVR_FS_UUID_LEN) {
			snprintf(uuid, sizeof(uuid), "%s", k->h[i].value);
			break;
		}
	snprintf(ok, sizeof(ok), "Content-Type: command/reply\nReply-Text: +OK Job-UUID: "
	         "%s\nJob-UUID: %s\n\n", uuid, uuid);
	struct esl_hdr h[] = { { "Job-UUID", uuid }, { "Job-Command", cmd },
		               { "Job-Command-Arg", arg ? arg : "" } };
	if (raise_built(e, cn, ok, "BACKGROUND_JOB", NULL, h, arg ? 3 : 2, NULL, text,
	                strlen(text), err, sizeof(err)))
		snprintf(rep, rl, "-ERR %s", err);
}

/* One command; its reply (if any) is queued. parse_command's order. */
static void command(struct evr_esl *e, struct esl_conn *cn, struct esl_cmd *k)
{
	char rep[1024] = "", *cmd = k->line;
	bool known = true; /* api, sendevent, bgapi queue their own answer */

	CNT(e, esl_commands);
	if (!strncasecmp(cmd, "exit", 4) || !strncasecmp(cmd, "...", 3)) {
		send_reply(cn, "+OK bye");
		conn_closing(e, cn, ESL_GOODBYE);
		return;
	}
	if (!cn->authed) {
		if (!strncasecmp(cmd, "auth ", 5)) {
			if (!strcmp(cmd + 5, e->password)) {
				cn->authed = true;
				CNT(e, esl_auth_ok);
				send_reply(cn, "+OK accepted");
			} else {
				CNT(e, esl_auth_failed);
				send_reply(cn, "-ERR invalid");
				conn_closing(e, cn, ESL_GOODBYE);
			}
			return;
		}
		send_reply(cn, "-ERR command not found");
		return;
	}
	if (!strncasecmp(cmd, "filter ", 7)) {
		cmd_filter(cn, cmd + 7, rep, sizeof(rep));
	} else if (!strncasecmp(cmd, "myevents", 8)) {
		cmd_myevents(e, cn, cmd + 8, rep, sizeof(rep));
	} else if (!strncasecmp(cmd, "divert_events", 13)) {
		char *v = cmd + 13;

		while (*v == ' ')
			v++;
		if (!cn->myevents)
			snprintf(rep, sizeof(rep), "-ERR not controlling a session.");
		else if (!*v)
			snprintf(rep, sizeof(rep), "-ERR missing value.");
		else if ((cn->divert = !strcasecmp(v, "on")))
			snprintf(rep, sizeof(rep), "+OK events diverted");
		else
			snprintf(rep, sizeof(rep), "+OK events not diverted");
	} else if (!strncasecmp(cmd, "sendevent", 9)) {
		cmd_sendevent(e, cn, k, cmd + 9, rep, sizeof(rep));
	} else if (!strncasecmp(cmd, "api ", 4)) {
		cmd_api(e, cn, k, cmd + 4, false, rep, sizeof(rep));
	} else if (!strncasecmp(cmd, "bgapi ", 6)) {
		cmd_api(e, cn, k, cmd + 6, true, rep, sizeof(rep));
	} else if (!strncasecmp(cmd, "log", 3)) {
		cmd_log(cn, cmd + 3, rep, sizeof(rep));
	} else if (!strncasecmp(cmd, "linger", 6)) {
		if (!cn->myevents) {
			snprintf(rep, sizeof(rep), "-ERR not controlling a session");
		} else {
			cn->linger = true;
			if (cmd[6] == ' ' && cmd[7])
				snprintf(rep, sizeof(rep), "+OK will linger %d seconds", atoi(cmd + 7));
			else
				snprintf(rep, sizeof(rep), "+OK will linger");
		}
	} else if (!strncasecmp(cmd, "nolinger", 8)) {
		if (!cn->myevents) {
			snprintf(rep, sizeof(rep), "-ERR not controlling a session");
		} else {
			cn->linger = false;
			snprintf(rep, sizeof(rep), "+OK will not linger");
		}
	} else if (!strncasecmp(cmd, "nolog", 5)) {
		snprintf(rep, sizeof(rep), cn->logging ? "+OK no longer logging" : "-ERR not loging");
		cn->logging = false;
	} else if (!strncasecmp(cmd, "event", 5)) {
		char *sp = strchr(cmd + 5, ' ');

		if (sp)
			cmd_event(e, cn, sp + 1, rep, sizeof(rep));
		else
			snprintf(rep, sizeof(rep), "-ERR no keywords supplied");
	} else if (!strncasecmp(cmd, "nixevent", 8)) {
		char *sp = strchr(cmd + 8, ' ');

		if (sp)
			cmd_nixevent(e, cn, sp + 1, rep, sizeof(rep));
		else
			snprintf(rep, sizeof(rep), "-ERR no keywords supplied");
	} else if (!strncasecmp(cmd, "noevents", 8)) {
		cmd_noevents(e, cn, rep, sizeof(rep));
	} else {
		known = false;
	}
	if (!rep[0] && !known)
		snprintf(rep, sizeof(rep), "-ERR command not found");
	if (rep[0])
		send_reply(cn, rep);
}

/* ---- input -------------------------------------------------------------------- */

static void strip_cr(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/*
 * Take complete commands off cn->in: a header block up to two '\n' (any
 * '\r' between them ignored, as read_packet counts), then Content-Length
 * body bytes. False when the connection must close (bad input counted).
 */
static bool conn_parse(struct evr_esl *e, struct esl_conn *cn)
{
	while (cn->in_len && !cn->closing) {
		size_t s = 0, i, end, clen = 0;
		unsigned crs = 0;
		struct esl_hdr h[64];
		struct esl_cmd k = { 0 };
		char *p, *line, *next;

		while (s < cn->in_len && (cn->in[s] == '\r' || cn->in[s] == '\n'))
			s++;
		memmove(cn->in, cn->in + s, cn->in_len - s);
		cn->in_len -= s;
		for (i = 0; i < cn->in_len; i++) {
			if (cn->in[i] == '\n') {
				if (++crs == 2)
					break;
			} else if (cn->in[i] != '\r') {
				crs = 0;
			}
		}
		if (i == cn->in_len) { /* header block incomplete: wait, within max_in */
			if (cn->in_len < e->max_in)
				return true;
			CNT(e, esl_bad_input);
			return false;
		}
		end = i + 1;
		/* Content-Length first, before anything is cut in place */
		for (p = memchr(cn->in, '\n', end); p && p < cn->in + end; p = memchr(p, '\n', (size_t)(cn->in + end - p))) {
			p++;
			if ((size_t)(cn->in + end - p) > 15 && !strncasecmp(p, "Content-Length:", 15)) {
				char *ep;
				unsigned long v = strtoul(p + 15, &ep, 10);

				if (v > e->max_in) {
					CNT(e, esl_bad_input);
					return false;
				}
				clen = v;
			}
		}
		if (cn->in_len < end + clen) { /* body incomplete */
			if (end + clen <= e->max_in)
				return true;
			CNT(e, esl_bad_input);
			return false;
		}
		/* the block as NUL-terminated lines (the body follows it) */
		char *blk = malloc(end + 1 + clen + 1);

		if (!blk)
			return false;
		memcpy(blk, cn->in, end);
		blk[end] = '\0';
		memcpy(blk + end + 1, cn->in + end, clen);
		blk[end + 1 + clen] = '\0';
		k.body = blk + end + 1;
		k.blen = clen;
		k.h = h;
		line = blk;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		strip_cr(line);
		k.line = line;
		for (line = next; line && *line; line = next) {
			char *val;

			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			strip_cr(line);
			if (!*line || !(val = strchr(line, ':')))
				continue;
			*val++ = '\0';
			while (*val == ' ')
				val++;
			if (k.nh < sizeof(h) / sizeof(h[0]))
				h[k.nh++] = (struct esl_hdr){ line, val };
		}
		memmove(cn->in, cn->in + end + clen, cn->in_len - end - clen);
		cn->in_len -= end + clen;
		command(e, cn, &k);
		free(blk);
	}
	return true;
}

/* Read what is there. False: closed by the peer, or an error. */
static bool conn_read(struct evr_esl *e, struct esl_conn *cn)
{
	for (int k = 0; k < 4; k++) {
		ssize_t r;

		if (cn->in_cap - cn->in_len < 4096) {
			size_t cap = cn->in_cap ? cn->in_cap * 2 : 8192;
			char *n;

			if (cap > (size_t)e->max_in + 8192)
				cap = (size_t)e->max_in + 8192;
			if (cap <= cn->in_len || !(n = realloc(cn->in, cap))) {
				CNT(e, esl_bad_input);
				return false;
			}
			cn->in = n;
			cn->in_cap = cap;
		}
		r = read(cn->fd, cn->in + cn->in_len, cn->in_cap - cn->in_len);
		if (r == 0)
			return false;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		cn->in_len += (size_t)r;
		if (!conn_parse(e, cn))
			return false;
		if ((size_t)r < cn->in_cap - cn->in_len)
			break;
	}
	return true;
}

static bool conn_write(struct evr_esl *e, struct esl_conn *cn)
{
	while (cn->head) {
		struct iovec iov[ESL_WRITEV];
		int n = 0;
		ssize_t w;

		for (struct esl_out *o = cn->head; o && n < ESL_WRITEV; o = o->next)
			iov[n++] = (struct iovec){ o->data + o->off, o->len - o->off };
		w = writev(cn->fd, iov, n);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		while (w > 0) {
			struct esl_out *o = cn->head;
			size_t left = o->len - o->off;

			if ((size_t)w < left) {
				o->off += (uint32_t)w;
				break;
			}
			w -= (ssize_t)left;
			cn->head = o->next;
			if (!cn->head)
				cn->tail = NULL;
			cn->q_bytes -= o->len;
			cn->r_bytes -= o->event ? 0 : o->len;
			if (o->event) {
				cn->q_events--;
				cn->sent++;
				CNT(e, esl_events_sent);
			}
			free(o);
		}
	}
	return true;
}

/* ---- delivery ------------------------------------------------------------------ */

int evr_control_esl_deliver(struct evr_control *c, uint64_t conn, const char *payload,
                            size_t len)
{
	struct evr_esl *e = c->esl;
	struct esl_conn *cn = e ? conn_get(e, conn) : NULL;
	const struct evr_event *ev;
	const struct evr_attr *sa;
	uint64_t seq = 0;
	const char *out = payload;
	size_t olen = len;

	if (!cn || !cn->events_on || cn->closing) {
		if (e)
			CNT(e, esl_stale);
		return -ENOENT;
	}
	if (evr_decode(EVR_FMT_PLAIN, payload, len, &e->sc) != EVR_DEC_OK) {
		CNT(e, esl_decode_failed);
		return -EINVAL;
	}
	ev = &e->sc.ev;
	if (!interest_pass(cn, ev) || !evr_esl_filters_pass(&cn->filters, ev) ||
	    (cn->myevents && !myevents_pass(cn, ev))) {
		cn->filtered++;
		CNT(e, esl_events_filtered);
		return 1;
	}
	if (cn->q_events >= e->queue_max) {
		cn->lost++;
		CNT(e, esl_events_lost);
		if (++cn->lost_run > ESL_MAX_MISSED) {
			CNT(e, esl_killed_lost);
			out_flush_events(cn);
			conn_closing(e, cn, "killed listener because of lost events\n");
		}
		return -ENOBUFS;
	}
	if (cn->fmt != EVR_FMT_PLAIN) {
		char hdr[96];
		int n, hl;

		if ((sa = evr_event_find(ev, "Event-Sequence", 14)))
			seq = strtoull(sa->value.p, NULL, 10);
		n = evr_encode((enum evr_format)cn->fmt, ev, seq, e->enc, e->enc_cap);
		if (n < 0) {
			CNT(e, esl_decode_failed);
			return -EINVAL;
		}
		hl = snprintf(hdr, sizeof(hdr), "Content-Length: %d\nContent-Type: text/event-%s\n\n",
		              n, evr_format_name((enum evr_format)cn->fmt));
		if (out_push(cn, hdr, (size_t)hl, e->enc, (size_t)n, true))
			goto nomem;
	} else if (out_push(cn, out, olen, NULL, 0, true)) {
		goto nomem;
	}
	cn->lost_run = 0;
	CNT(e, esl_events_queued);
	return 0;
nomem:
	cn->lost++;
	CNT(e, esl_events_lost);
	return -ENOBUFS;
}

/* ---- the poll loop ------------------------------------------------------------- */

unsigned evr_esl_max_fds(const struct evr_esl *e)
{
	return e->max_clients + 1;
}

unsigned evr_esl_pollfds(struct evr_esl *e, struct pollfd *fds, unsigned cap, int *timeout_ms)
{
	unsigned need = 0;
	uint64_t now = evr_now_ms();

	if (need < cap)
		fds[need] = (struct pollfd){ .fd = e->fd, .events = POLLIN };
	need++;
	for (uint32_t i = 0; i < e->max_clients; i++) {
		struct esl_conn *cn = e->conns[i];
		uint64_t due;
		short ev = 0;

		if (!cn)
			continue;
		if (!cn->closing)
			ev |= POLLIN;
		if (cn->head)
			ev |= POLLOUT;
		due = cn->closing ? cn->close_by_ms : cn->authed ? UINT64_MAX : cn->auth_by_ms;
		if (due != UINT64_MAX) {
			uint64_t left = due > now ? due - now : 0;
			int l = left > INT32_MAX ? INT32_MAX : (int)left;

			if (*timeout_ms < 0 || l < *timeout_ms)
				*timeout_ms = l;
		}
		if (need < cap)
			fds[need] = (struct pollfd){ .fd = cn->fd, .events = ev };
		need++;
	}
	return need;
}

int evr_esl_process(struct evr_esl *e, const struct pollfd *fds, unsigned n)
{
	uint64_t before = e->c->cnt.esl_commands, now = evr_now_ms();
	unsigned k = 1;

	for (uint32_t i = 0; i < e->max_clients; i++) {
		struct esl_conn *cn = e->conns[i];
		short re = 0;

		if (!cn)
			continue;
		if (k < n && fds[k].fd == cn->fd)
			re = fds[k].revents;
		k++;
		if (re & POLLNVAL)
			goto close;
		if ((re & (POLLIN | POLLHUP | POLLERR)) && !cn->closing && !conn_read(e, cn))
			goto close;
		if (cn->head && !conn_write(e, cn))
			goto close;
		if (cn->closing && (!cn->head || now >= cn->close_by_ms))
			goto close;
		if (!cn->authed && now >= cn->auth_by_ms) {
			CNT(e, esl_auth_timeout);
			goto close;
		}
		if (cn->r_bytes > ESL_MAX_REPLY_BYTES) {
			/* commands sent, their replies never read: events are
			 * bounded by queue_max, replies by this */
			CNT(e, esl_bad_input);
			goto close;
		}
		continue;
close:
		conn_free(e, i);
	}
	if (n && (fds[0].revents & POLLIN))
		accept_conns(e);
	return (int)(e->c->cnt.esl_commands - before);
}

/* ---- lifecycle ------------------------------------------------------------------ */

void evr_esl_free(struct evr_esl *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; e->conns && i < e->max_clients; i++)
		if (e->conns[i])
			conn_free(e, i);
	if (e->fd >= 0)
		close(e->fd);
	evr_scratch_fini(&e->sc);
	free(e->enc);
	free(e->conns);
	free(e->acl);
	free(e->listen);
	free(e->password);
	free(e);
}

int evr_control_esl_open(struct evr_control *c, const struct evr_esl_conf *conf, char *err,
                         size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct evr_esl *e;
	struct evr_limits lim = c->limits;
	struct pollfd *pf;
	int one = 1, rc;

	if (!conf->listen || !conf->listen[0])
		return 0;
	if (c->esl) {
		evr_control_seterr(err, errlen, "esl: already open");
		return -EBUSY;
	}
	if (!conf->password || !conf->password[0]) {
		evr_control_seterr(err, errlen, "esl.password: required with esl.listen");
		return -EINVAL;
	}
	if (evr_control_parse_hostport(conf->listen, SOCK_STREAM, &ss, &sl)) {
		evr_control_seterr(err, errlen, "esl.listen %s: not IPv4:port or [IPv6]:port",
		                   conf->listen);
		return -EINVAL;
	}
	if (!(e = calloc(1, sizeof(*e))))
		goto nomem;
	e->c = c;
	e->fd = -1;
	e->max_clients = conf->max_clients ? conf->max_clients : 64;
	if (e->max_clients > 0xffffu)
		e->max_clients = 0xffffu;
	e->queue_max = conf->queue_max ? conf->queue_max : 100000;
	e->max_in = c->conf.max_line;
	/* deliveries were encoded by us within the limits, with the standard
	 * headers on top: decode them with room to spare */
	lim.max_attrs = 1024;
	lim.max_datagram = EVR_UDP_MAX_PAYLOAD;
	e->enc_cap = (size_t)EVR_UDP_MAX_PAYLOAD * 8u + 65536u; /* xml: &#x...; per byte */
	e->listen = strdup(conf->listen);
	e->password = strdup(conf->password);
	e->conns = calloc(e->max_clients, sizeof(*e->conns));
	e->acl = calloc(conf->n_acl ? conf->n_acl : 1, sizeof(*e->acl));
	e->enc = malloc(e->enc_cap);
	if (!e->listen || !e->password || !e->conns || !e->acl || !e->enc ||
	    evr_scratch_init(&e->sc, &lim))
		goto nomem;
	for (uint32_t i = 0; i < conf->n_acl; i++)
		if (evr_cidr_parse(conf->acl[i], &e->acl[e->n_acl++])) {
			evr_control_seterr(err, errlen, "esl.acl[%u] %s: not an address or "
			                   "address/prefix", i, conf->acl[i]);
			evr_esl_free(e);
			return -EINVAL;
		}
	pf = realloc(c->pfds, (c->pfds_cap + evr_esl_max_fds(e)) * sizeof(*pf));
	if (!pf)
		goto nomem;
	c->pfds = pf;
	e->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0 || setsockopt(e->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(e->fd, (struct sockaddr *)&ss, sl) || listen(e->fd, 64)) {
		rc = -errno;
		evr_control_seterr(err, errlen, "esl.listen %s: %s", conf->listen, strerror(-rc));
		evr_esl_free(e);
		return rc;
	}
	c->pfds_cap += evr_esl_max_fds(e);
	c->esl = e;
	return 0;
nomem:
	evr_esl_free(e);
	evr_control_seterr(err, errlen, "esl: out of memory");
	return -ENOMEM;
}

/* ---- evrctl: list and disconnect clients ---------------------------------------- */

static json_t *set_json(const struct strset *s)
{
	json_t *a = json_array();

	for (uint32_t i = 0; a && i < s->n; i++)
		json_array_append_new(a, evr_jstr(s->v[i]));
	return a;
}

int evr_esl_rpc_list(struct evr_control *c, json_t *params, json_t **result, int *code,
                     char *msg, size_t msglen)
{
	struct evr_esl *e = c->esl;
	json_t *arr = json_array();
	uint64_t now = evr_now_ms();

	(void)params;
	if (!arr)
		return NOMEM();
	for (uint32_t i = 0; e && i < e->max_clients; i++) {
		const struct esl_conn *cn = e->conns[i];
		json_t *o, *f;

		if (!cn)
			continue;
		f = json_array();
		for (uint32_t k = 0; f && k < cn->filters.n; k++)
			json_array_append_new(f, json_pack("[s,s]", cn->filters.v[k].name,
			                                   cn->filters.v[k].value));
		o = json_pack("{s:I,s:s,s:b,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:s?,s:I,s:I,s:I,s:I,s:I}",
		              "id", (json_int_t)cn->id, "peer", cn->peer, "authed", cn->authed,
		              "format", evr_format_name((enum evr_format)cn->fmt), "all", cn->all,
		              "events", set_json(&cn->names), "subclasses", set_json(&cn->subclasses),
		              "nixed", set_json(&cn->nixed), "filters", f ? f : json_array(),
		              "subscriptions", json_integer(cn->n_subs), "myevents", cn->myevents,
		              "queued", (json_int_t)cn->q_events, "sent", (json_int_t)cn->sent,
		              "lost", (json_int_t)cn->lost, "filtered", (json_int_t)cn->filtered,
		              "age_ms", (json_int_t)(now - cn->since_ms));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NOMEM();
		}
	}
	*result = json_pack("{s:o,s:s,s:I,s:I}", "clients", arr, "listen",
	                    e ? e->listen : "", "max_clients", (json_int_t)(e ? e->max_clients : 0),
	                    "queue_max", (json_int_t)(e ? e->queue_max : 0));
	return *result ? 0 : NOMEM();
}

int evr_esl_rpc_kill(struct evr_control *c, json_t *params, json_t **result, int *code,
                     char *msg, size_t msglen)
{
	static const char *const names[] = { "id" };
	json_t *p[1];
	uint64_t id = 0;
	struct esl_conn *cn;
	int rc;

	if ((rc = evr_rpc_bind(params, names, 1, 1, p, code, msg, msglen)))
		return rc;
	if (evr_rpc_absent(p[0]))
		return BAD("missing parameter 'id'");
	if ((rc = evr_rpc_get_uint(p[0], "id", UINT64_MAX, &id, code, msg, msglen)))
		return rc;
	if (!c->esl || !(cn = conn_get(c->esl, id)))
		return evr_rpc_fail(code, EVR_RPC_NOT_FOUND, msg, msglen, -ENOENT,
		                    "no ESL client %llu", (unsigned long long)id);
	conn_closing(c->esl, cn, "Disconnected by the operator.\n");
	CNT(c->esl, esl_killed_operator);
	*result = json_pack("{s:I}", "disconnected", (json_int_t)id);
	return *result ? 0 : NOMEM();
}
