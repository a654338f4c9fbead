/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP event endpoint (contract and reply rules in evr_sip_endpoint.h).
 *
 * Design: the endpoint is a stateless UAS (RFC 3261 8.2.7) with one piece of
 * state, the dedupe table, which stands in for the Completed state of the
 * non-INVITE server transactions it would otherwise keep: an entry lives
 * dedup_ms (Timer J = 64*T1 = 32 s over UDP), absorbs retransmissions and
 * lets a CANCEL find what it targets. Because every reply is a pure function
 * of the request bytes, its source address and the configuration (the To tag
 * and the SIP-ETag are hashes of the request, not random), a retransmission
 * is answered by simply building the reply again; nothing of the reply is
 * stored.
 *
 * The table is set-associative (DD_WAYS slots per bucket, one bucket per
 * hash): lookups and inserts touch two cache lines, the memory is fixed at
 * create, and when a bucket is full of live entries the one expiring first
 * is evicted (counted). Bucket placement uses a per-instance random seed so
 * a sender cannot aim many keys at one bucket; the key is a 64-bit hash, not
 * a MAC: a false match needs a full 64-bit collision within dedup_ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event/evr_event_build.h"
#include "util/evr_seed.h"
#include "util/evr_bytes.h"
#include "limit/evr_srclimit.h"
#include "evr_sip_endpoint.h"

#define DD_WAYS 8u
#define DD_MAX_ENTRIES (1u << 22)
#define TEXT_MAX 128u
/* Methods we serve: the Allow header of 405 and OPTIONS replies. */
#define ALLOW "PUBLISH, NOTIFY, MESSAGE, OPTIONS, CANCEL"

struct dd_slot {
	uint64_t key;
	uint64_t meta; /* expiry_ms << 8 | method; 0 = never used */
};

struct evr_sip_endpoint {
	struct evr_sip_endpoint_stats st; /* first: its own cache lines for readers */
	uint64_t seed;
	uint32_t bucket_mask;
	uint32_t dedup_ms;
	uint32_t publish_expires;
	uint32_t server_len, allow_events_len;
	char server[TEXT_MAX + 1];
	char allow_events[TEXT_MAX + 1];
	struct dd_slot *slots;
	struct evr_srclimit *rl; /* NULL: no per-source limit */
	uint64_t rl_evicted_seen; /* its evictions counted so far (<= 1 per call) */
};

static const char *const counter_names[] = {
#define X(n, h) #n,
	EVR_SIP_ENDPOINT_COUNTERS(X)
#undef X
};
static const char *const counter_helps[] = {
#define X(n, h) h,
	EVR_SIP_ENDPOINT_COUNTERS(X)
#undef X
};

const char *evr_sip_endpoint_counter_name(unsigned i)
{
	return i < EVR_SIP_ENDPOINT__COUNT ? counter_names[i] : NULL;
}

const char *evr_sip_endpoint_counter_help(unsigned i)
{
	return i < EVR_SIP_ENDPOINT__COUNT ? counter_helps[i] : NULL;
}

/* Single writer (the owner thread): a relaxed load + store is enough for
 * readers on other threads to see whole values, and costs no locked RMW. */
static void inc(struct evr_sip_endpoint *ep, enum evr_sip_endpoint_counter c)
{
	uint64_t v = __atomic_load_n(&ep->st.c[c], __ATOMIC_RELAXED);

	__atomic_store_n(&ep->st.c[c], v + 1, __ATOMIC_RELAXED);
}

const struct evr_sip_endpoint_stats *evr_sip_endpoint_stats(const struct evr_sip_endpoint *ep)
{
	return &ep->st;
}

void evr_sip_endpoint_conf_default(struct evr_sip_endpoint_conf *c)
{
	c->dedup_entries = 4096;
	c->dedup_ms = 32000;
	c->server = "evrouter";
	c->publish_expires = 3600;
	c->allow_events = "presence, dialog, message-summary, reg, refer";
	c->rate_requests = 30;
	c->rate_window_ms = 2000;
	c->rate_sources = 16384;
}

/* Header text we emit: bounded, printable, no CR/LF to inject lines. */
static bool text_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return false;
	return true;
}

struct evr_sip_endpoint *evr_sip_endpoint_create(const struct evr_sip_endpoint_conf *c)
{
	struct evr_sip_endpoint *ep;
	uint32_t n = DD_WAYS;

	if (c == NULL || c->dedup_entries < DD_WAYS || c->dedup_entries > DD_MAX_ENTRIES ||
	    c->dedup_ms == 0 || !text_ok(c->server) || !text_ok(c->allow_events)) {
		errno = EINVAL;
		return NULL;
	}
	while (n < c->dedup_entries)
		n <<= 1;
	ep = aligned_alloc(64, (sizeof(*ep) + 63) & ~(size_t)63);
	if (ep == NULL)
		goto err_nomem;
	memset(ep, 0, sizeof(*ep));
	ep->slots = aligned_alloc(64, (size_t)n * sizeof(struct dd_slot));
	if (ep->slots == NULL)
		goto err_free_ep;
	memset(ep->slots, 0, (size_t)n * sizeof(struct dd_slot));
	ep->bucket_mask = n / DD_WAYS - 1;
	ep->dedup_ms = c->dedup_ms;
	ep->publish_expires = c->publish_expires;
	ep->server_len = (uint32_t)strlen(c->server);
	memcpy(ep->server, c->server, ep->server_len + 1);
	if (c->rate_requests &&
	    !(ep->rl = evr_srclimit_create(c->rate_requests, c->rate_window_ms, c->rate_sources))) {
		free(ep->slots);
		free(ep);
		return NULL; /* errno from evr_srclimit_create */
	}
	ep->allow_events_len = (uint32_t)strlen(c->allow_events);
	memcpy(ep->allow_events, c->allow_events, ep->allow_events_len + 1);
	ep->seed = evr_table_seed(ep);
	return ep;

err_free_ep:
	free(ep);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

void evr_sip_endpoint_destroy(struct evr_sip_endpoint *ep)
{
	if (ep == NULL)
		return;
	evr_srclimit_destroy(ep->rl);
	free(ep->slots);
	free(ep);
}

/* ---- hashing ---- */

static uint64_t fmix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Length-prefixed, so ("ab","c") and ("a","bc") differ. */
static uint64_t hash_add(uint64_t h, const char *p, size_t n)
{
	uint64_t v;

	h = fmix(h ^ n);
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		h = (h ^ v) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	if (n) {
		v = 0;
		memcpy(&v, p, n);
		h = (h ^ v) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	return h;
}

static uint64_t hash_view(uint64_t h, struct evr_sip_str v)
{
	return hash_add(h, v.p ? v.p : "", v.len);
}

static uint64_t hash_u32(uint64_t h, uint32_t x)
{
	return fmix(h ^ ((uint64_t)x << 1 | 1));
}

/* What identifies a transaction for retransmission and CANCEL matching
 * (RFC 3261 17.2.3, plus From tag and Call-ID for RFC 2543 peers that send
 * no magic-cookie branch). The method is kept beside the key. */
static uint64_t txn_hash(uint64_t seed, const struct evr_sip_msg *m)
{
	uint64_t h = seed;

	h = hash_view(h, m->call_id);
	h = hash_u32(h, m->cseq);
	h = hash_view(h, m->via[0].branch);
	h = hash_view(h, m->via[0].host);
	h = hash_u32(h, m->via[0].port);
	h = hash_view(h, m->from.tag);
	return fmix(h);
}

/* Fixed seeds: the To tag and SIP-ETag must not change with the instance
 * (another worker, a restart) or retransmissions would get other replies. */
#define SEED_TO_TAG 0x746f2d746167ull
#define SEED_ETAG   0x657461672d31ull

/* ---- dedupe table ---- */

static struct dd_slot *dd_bucket(struct evr_sip_endpoint *ep, uint64_t key)
{
	/* any bits of a 64-bit hash will do; the whole key is compared in
	 * the bucket */
	return &ep->slots[(size_t)((key >> 40) & ep->bucket_mask) * DD_WAYS];
}

static bool dd_live(const struct dd_slot *s, uint64_t now_ms)
{
	return s->meta != 0 && (s->meta >> 8) > now_ms;
}

/* Live entry with key and method (0: any method), or NULL. */
static const struct dd_slot *dd_find(struct evr_sip_endpoint *ep, uint64_t key,
                                     unsigned method, uint64_t now_ms)
{
	const struct dd_slot *b = dd_bucket(ep, key);

	for (unsigned i = 0; i < DD_WAYS; i++)
		if (b[i].key == key && dd_live(&b[i], now_ms) &&
		    (method == 0 || (b[i].meta & 0xff) == method))
			return &b[i];
	return NULL;
}

static void dd_insert(struct evr_sip_endpoint *ep, uint64_t key, unsigned method,
                      uint64_t now_ms)
{
	struct dd_slot *b = dd_bucket(ep, key), *victim = NULL;
	uint64_t exp = now_ms + ep->dedup_ms;

	if (exp > UINT64_MAX >> 8 || exp < now_ms)
		exp = UINT64_MAX >> 8;
	for (unsigned i = 0; i < DD_WAYS; i++) {
		if (!dd_live(&b[i], now_ms)) {
			victim = &b[i];
			break;
		}
		if (victim == NULL || (b[i].meta >> 8) < (victim->meta >> 8))
			victim = &b[i];
	}
	if (dd_live(victim, now_ms))
		inc(ep, EVR_SIP_ENDPOINT_C_dedup_evicted);
	victim->key = key;
	victim->meta = exp << 8 | (method & 0xff);
}

/* ---- reply writer ---- */

struct wr {
	char *p;
	size_t cap, len;
	bool over;
};

static void w_put(struct wr *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

#define W_LIT(w, s) w_put((w), EVR_LIT(s))

/* Copy a header value, unfolding it: a fold is CRLF + WSP, and dropping the
 * CR and LF leaves the WSP, which is still LWS (RFC 3261 7.3.1). */
static void w_unfold(struct wr *w, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != '\r' && s[j] != '\n')
			j++;
		w_put(w, s + i, j - i);
		while (j < n && (s[j] == '\r' || s[j] == '\n'))
			j++;
		i = j;
	}
}

static void w_u32(struct wr *w, uint32_t v)
{
	char buf[10];

	w_put(w, buf, evr_u64dec(buf, v));
}

static void w_hex64(struct wr *w, uint64_t v)
{
	char buf[16];

	evr_hex_lower(buf, v, 16);
	w_put(w, buf, 16);
}

/* ---- reply ---- */

/* Per-request facts the reply needs. */
struct rctx {
	char ip[INET6_ADDRSTRLEN]; /* source address text */
	size_t ip_len;
	uint16_t sport;
	bool add_received;
};

enum {
	X_ALLOW = 1u << 0,
	X_ACCEPT = 1u << 1,
	X_ALLOW_EVENTS = 1u << 2,
	X_ETAG = 1u << 3,
	X_UNSUPPORTED = 1u << 4,
};

/* End of the via-param starting at p (the next ';' outside quotes). */
static const char *param_end(const char *p, const char *e)
{
	for (; p < e && *p != ';'; p++) {
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\' && p + 1 < e)
					p++;
			if (p == e)
				return e;
		}
	}
	return p;
}

static void w_received(struct wr *w, const struct rctx *c)
{
	W_LIT(w, ";received=");
	w_put(w, c->ip, c->ip_len);
}

/*
 * The top Via, with received= and rport= filled (RFC 3581 example order:
 * received before rport). Only its parameters are rewritten; protocol,
 * sent-by, the other parameters and any further via-parms of the same header
 * are copied. The parser validated the parameters, so a plain ';' split
 * (quotes respected) finds them again.
 */
static void w_top_via(struct wr *w, const struct evr_sip_str *hv,
                      const struct evr_sip_via *v, const struct rctx *c)
{
	const char *vs = hv->p, *ve = hv->p + hv->len;
	const char *ps = v->params.p, *pe = ps + v->params.len, *p;
	bool rec_done = false;

	if (ps == NULL || ps < vs || pe > ve) { /* cannot happen: be safe */
		w_unfold(w, vs, hv->len);
		return;
	}
	w_unfold(w, vs, (size_t)(ps - vs));
	for (p = ps; p < pe;) {
		const char *is, *ie, *ne;

		while (p < pe && evr_is_lws(*p))
			p++;
		if (p == pe || *p != ';') { /* not a parameter list: copy */
			w_unfold(w, p, (size_t)(pe - p));
			break;
		}
		is = p + 1;
		while (is < pe && evr_is_lws(*is))
			is++;
		p = param_end(is, pe);
		ie = p;
		while (ie > is && evr_is_lws(ie[-1]))
			ie--;
		for (ne = is; ne < ie && *ne != '=' && !evr_is_lws(*ne);)
			ne++;
		if ((size_t)(ne - is) == 5 && evr_ieq(is, "rport", 5)) {
			if (c->add_received && v->received.p == NULL && !rec_done) {
				w_received(w, c);
				rec_done = true;
			}
			W_LIT(w, ";rport=");
			w_u32(w, c->sport);
		} else if ((size_t)(ne - is) == 8 && evr_ieq(is, "received", 8) &&
		           c->add_received) {
			if (!rec_done)
				w_received(w, c);
			rec_done = true;
		} else {
			W_LIT(w, ";");
			w_unfold(w, is, (size_t)(ie - is));
		}
	}
	if (c->add_received && !rec_done)
		w_received(w, c);
	w_unfold(w, pe, (size_t)(ve - pe));
}

static const char *reason_of(unsigned code)
{
	switch (code) {
	case 200: return "OK";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 481: return "Call/Transaction Does Not Exist";
	case 489: return "Bad Event";
	case 505: return "Version Not Supported";
	default: return "Bad Request";
	}
}

static void build_reply(struct evr_sip_endpoint *ep, const struct evr_sip_msg *m,
                        const struct rctx *c, unsigned code, const char *reason,
                        unsigned extras, char *buf, size_t cap,
                        struct evr_sip_endpoint_out *out)
{
	struct wr w = { buf, cap, 0, buf == NULL };
	const struct evr_sip_header *h;
	bool top = true;

	out->code = (uint16_t)code;
	W_LIT(&w, "SIP/2.0 ");
	w_u32(&w, code);
	W_LIT(&w, " ");
	if (reason == NULL)
		reason = reason_of(code);
	w_put(&w, reason, strlen(reason));
	W_LIT(&w, "\r\n");

	for (uint32_t i = 0; i < m->n_headers; i++) {
		h = &m->headers[i];
		if (h->id != EVR_SIP_HDR_VIA)
			continue;
		W_LIT(&w, "Via: ");
		if (top)
			w_top_via(&w, &h->value, &m->via[0], c);
		else
			w_unfold(&w, h->value.p, h->value.len);
		W_LIT(&w, "\r\n");
		top = false;
	}
	if ((h = evr_sip_find(m, EVR_SIP_HDR_FROM)) != NULL) {
		W_LIT(&w, "From: ");
		w_unfold(&w, h->value.p, h->value.len);
		W_LIT(&w, "\r\n");
	}
	if ((h = evr_sip_find(m, EVR_SIP_HDR_TO)) != NULL) {
		W_LIT(&w, "To: ");
		w_unfold(&w, h->value.p, h->value.len);
		if (m->to.tag.p == NULL) {
			/* appended after any header params: for an addr-spec
			 * To, ';' params are header params too (RFC 3261 20) */
			uint64_t t = hash_view(SEED_TO_TAG, m->call_id);

			t = fmix(hash_view(t, m->from.tag));
			W_LIT(&w, ";tag=");
			w_hex64(&w, t);
		}
		W_LIT(&w, "\r\n");
	}
	if (m->call_id.len) {
		W_LIT(&w, "Call-ID: ");
		w_put(&w, m->call_id.p, m->call_id.len);
		W_LIT(&w, "\r\n");
	}
	if (evr_sip_has(m, EVR_SIP_HDR_CSEQ) && m->cseq_method_name.len) {
		W_LIT(&w, "CSeq: ");
		w_u32(&w, m->cseq);
		W_LIT(&w, " ");
		w_put(&w, m->cseq_method_name.p, m->cseq_method_name.len);
		W_LIT(&w, "\r\n");
	}
	if (extras & X_ETAG) {
		/* RFC 3903: a fresh entity-tag per accepted PUBLISH; derived
		 * from the transaction so a retransmission gets the same */
		uint64_t t = hash_view(SEED_ETAG, m->call_id);
		uint32_t exp = ep->publish_expires;

		t = hash_u32(t, m->cseq);
		t = fmix(hash_view(t, m->via[0].branch));
		W_LIT(&w, "SIP-ETag: ");
		w_hex64(&w, t);
		W_LIT(&w, "\r\n");
		/* the ESC may shorten the requested duration, never extend
		 * it (RFC 3903 6, step 5); 0 removes the publication */
		if (m->expires >= 0 && (uint64_t)m->expires < exp)
			exp = (uint32_t)m->expires;
		W_LIT(&w, "Expires: ");
		w_u32(&w, exp);
		W_LIT(&w, "\r\n");
	}
	if (extras & X_ALLOW)
		W_LIT(&w, "Allow: " ALLOW "\r\n");
	if (extras & X_ACCEPT)
		W_LIT(&w, "Accept: */*\r\n"); /* bodies are carried, never interpreted */
	if (extras & X_ALLOW_EVENTS) {
		W_LIT(&w, "Allow-Events: ");
		w_put(&w, ep->allow_events, ep->allow_events_len);
		W_LIT(&w, "\r\n");
	}
	if (extras & X_UNSUPPORTED) {
		for (uint32_t i = 0; i < m->n_headers; i++) {
			h = &m->headers[i];
			if (h->name.len == 7 && evr_ieq(h->name.p, "Require", 7)) {
				W_LIT(&w, "Unsupported: ");
				w_unfold(&w, h->value.p, h->value.len);
				W_LIT(&w, "\r\n");
			}
		}
	}
	W_LIT(&w, "Server: ");
	w_put(&w, ep->server, ep->server_len);
	W_LIT(&w, "\r\nContent-Length: 0\r\n\r\n");

	if (w.over) {
		inc(ep, EVR_SIP_ENDPOINT_C_reply_overflow);
		return;
	}
	out->reply = true;
	out->reply_len = (uint32_t)w.len;
	inc(ep, code < 300 ? EVR_SIP_ENDPOINT_C_replies_2xx
	        : code < 500 ? EVR_SIP_ENDPOINT_C_replies_4xx : EVR_SIP_ENDPOINT_C_replies_5xx);
}

/* ---- event ---- */

static bool add_attr(struct evr_scratch *s, const char *name, size_t name_len,
                     const char *v, size_t n, uint32_t flags)
{
	struct evr_attr *a = evr_ev_push_attr(s);
	char *p, *o;

	if (a == NULL || name_len > s->lim.max_name_len || n > s->lim.max_value_len)
		return false;
	p = evr_ev_reserve(s, n);
	if (p == NULL)
		return false;
	/* names: static literals (NUL-terminated, immutable) or copied by
	 * the caller into the scratch */
	a->name = (struct evr_str){ name, (uint32_t)name_len, 0 };
	o = p;
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n') /* unfold */
			*o++ = v[i];
	evr_ev_commit(s, &a->value, p, (size_t)(o - p), flags);
	return true;
}

static bool add_view(struct evr_scratch *s, const char *name, struct evr_sip_str v)
{
	return add_attr(s, name, strlen(name), v.p ? v.p : "", v.len, 0);
}

/* Every header by name, repeats joined (see the header file). */
static bool add_headers(struct evr_scratch *s, const struct evr_sip_msg *m)
{
	uint32_t done = 0; /* known header ids already emitted */

	for (uint32_t i = 0; i < m->n_headers; i++) {
		const struct evr_sip_header *h = &m->headers[i];
		struct evr_attr *a;
		const char *name;
		size_t total = 0, name_len;
		char *p, *o;
		bool seen = false;

		if (h->id == EVR_SIP_HDR_CONTENT_LENGTH || h->id == EVR_SIP_HDR_CSEQ)
			continue;
		if (h->id != EVR_SIP_HDR_OTHER) {
			if (done & (1u << h->id))
				continue;
			done |= 1u << h->id;
		} else {
			for (uint32_t j = 0; j < i && !seen; j++)
				seen = m->headers[j].id == EVR_SIP_HDR_OTHER &&
				       m->headers[j].name.len == h->name.len &&
				       evr_ieq(m->headers[j].name.p, h->name.p, h->name.len);
			if (seen)
				continue;
		}
		for (uint32_t j = i; j < m->n_headers; j++) {
			const struct evr_sip_header *g = &m->headers[j];

			if (g->id == h->id && (h->id != EVR_SIP_HDR_OTHER ||
			                       (g->name.len == h->name.len &&
			                        evr_ieq(g->name.p, h->name.p, h->name.len))))
				total += g->value.len + (j > i ? 2 : 0);
		}
		if (h->id != EVR_SIP_HDR_OTHER) {
			name = evr_sip_hdr_name(h->id);
			name_len = strlen(name);
		} else {
			struct evr_str copy;

			if (h->name.len > s->lim.max_name_len ||
			    !evr_ev_store(s, &copy, h->name.p, h->name.len, 0))
				return false;
			name = copy.p;
			name_len = copy.len;
		}
		if (name_len > s->lim.max_name_len)
			return false;
		a = evr_ev_push_attr(s);
		if (a == NULL)
			return false;
		a->name = (struct evr_str){ name, (uint32_t)name_len, 0 };
		p = evr_ev_reserve(s, total);
		if (p == NULL)
			return false;
		o = p;
		for (uint32_t j = i; j < m->n_headers; j++) {
			const struct evr_sip_header *g = &m->headers[j];

			if (g->id != h->id || (h->id == EVR_SIP_HDR_OTHER &&
			                       (g->name.len != h->name.len ||
			                        !evr_ieq(g->name.p, h->name.p, h->name.len))))
				continue;
			if (o != p) {
				*o++ = ',';
				*o++ = ' ';
			}
			for (uint32_t k = 0; k < g->value.len; k++)
				if (g->value.p[k] != '\r' && g->value.p[k] != '\n')
					*o++ = g->value.p[k];
		}
		if ((size_t)(o - p) > s->lim.max_value_len)
			return false;
		evr_ev_commit(s, &a->value, p, (size_t)(o - p), 0);
	}
	return true;
}

static bool build_event(const struct evr_sip_msg *m, const struct rctx *c,
                        struct evr_scratch *s)
{
	struct evr_sip_str name = m->method == EVR_SIP_METHOD_MESSAGE
	                        ? (struct evr_sip_str){ "MESSAGE", 7 } : m->event;
	char num[10];

	evr_ev_begin(s, EVR_FMT_JSONRPC);
	if (name.len > s->lim.max_name_len ||
	    !evr_ev_store(s, &s->ev.name, name.p, name.len, 0))
		return false;
	if (!add_view(s, "method", m->method_name) ||
	    !add_view(s, "request_uri", m->ruri_str) ||
	    !add_view(s, "ruri_user", m->ruri.user) ||
	    !add_view(s, "from_uri", m->from.uri_str) ||
	    !add_view(s, "from_user", m->from.uri.user) ||
	    !add_view(s, "from_host", m->from.uri.host) ||
	    !add_view(s, "from_display", m->from.display) ||
	    !add_view(s, "from_tag", m->from.tag) ||
	    !add_view(s, "to_uri", m->to.uri_str) ||
	    !add_view(s, "to_user", m->to.uri.user) ||
	    !add_view(s, "to_host", m->to.uri.host) ||
	    !add_view(s, "to_tag", m->to.tag) ||
	    !add_view(s, "call_id", m->call_id) ||
	    !add_attr(s, EVR_LIT("cseq"), num, evr_u64dec(num, m->cseq), EVR_STR_LITERAL) ||
	    !add_view(s, "content_type", m->content_type) ||
	    !add_attr(s, EVR_LIT("network_ip"), c->ip, c->ip_len, 0) ||
	    !add_attr(s, EVR_LIT("network_port"), num, evr_u64dec(num, c->sport), EVR_STR_LITERAL) ||
	    !add_view(s, "body", m->body))
		return false;
	return add_headers(s, m);
}

/* ---- request handling ---- */

/* Event package: a token (RFC 6665 8.2.1 event-type), non-empty. */
static bool event_token_ok(struct evr_sip_str e)
{
	if (e.p == NULL || e.len == 0)
		return false;
	for (uint32_t i = 0; i < e.len; i++) {
		unsigned char ch = (unsigned char)e.p[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z') || (ch != 0 && strchr("-.!%*_+`'~", ch) != NULL)))
			return false;
	}
	return true;
}

/* Does the top Via sent-by host name the source address? A domain name never
 * does (RFC 3261 18.2.1 then requires received=). */
static bool sent_by_is_source(const struct evr_sip_via *v, const struct evr_sip_flow *f)
{
	char host[INET6_ADDRSTRLEN + 2];
	unsigned char addr[16];
	const char *p = v->host.p;
	size_t n = v->host.len;

	if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
		if (f->family != 6)
			return false;
	} else if (f->family != 4) {
		return false;
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	if (inet_pton(f->family == 6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return false;
	return memcmp(addr, f->src, f->family == 6 ? 16 : 4) == 0;
}

/* Reason phrase of a 400 for a semantic parse error, naming the problem. */
static const char *bad_request_reason(enum evr_sip_status st)
{
	switch (st) {
	case EVR_SIP_DUPLICATE_HEADER: return "Duplicate Header";
	case EVR_SIP_MISSING_TO: return "Missing To";
	case EVR_SIP_MISSING_FROM: return "Missing From";
	case EVR_SIP_MISSING_CALL_ID: return "Missing Call-ID";
	case EVR_SIP_MISSING_CSEQ: return "Missing CSeq";
	case EVR_SIP_CSEQ_METHOD_MISMATCH: return "CSeq Method Mismatch";
	case EVR_SIP_CONTENT_LENGTH_MISMATCH: return "Content-Length Mismatch";
	default: return "Bad Request";
	}
}

void evr_sip_endpoint_handle(struct evr_sip_endpoint *ep, enum evr_sip_status st,
                      const struct evr_sip_msg *m, const struct evr_sip_flow *f,
                      uint64_t now_ms, struct evr_scratch *s, char *reply,
                      size_t reply_cap, struct evr_sip_endpoint_out *out)
{
	struct rctx c;
	const struct evr_sip_via *v;
	enum evr_sip_endpoint_counter ev_counter;
	uint64_t key;

	memset(out, 0, sizeof(*out));
	if (ep->rl && evr_srclimit_over(ep->rl, f->family, f->src, now_ms)) {
		inc(ep, EVR_SIP_ENDPOINT_C_rate_limited);
		return;
	}
	if (ep->rl) {
		uint64_t ev = evr_srclimit_stats(ep->rl)->evicted;

		if (ev != ep->rl_evicted_seen) {
			ep->rl_evicted_seen = ev;
			inc(ep, EVR_SIP_ENDPOINT_C_rate_evicted);
		}
	}
	if (st == EVR_SIP_KEEPALIVE) {
		inc(ep, EVR_SIP_ENDPOINT_C_keepalive_ignored);
		return;
	}
	/* CONTENT_LENGTH_MISMATCH comes after a complete header parse: a
	 * request can still be answered 400 (RFC 3261 18.3) */
	if (!evr_sip_status_msg_complete(st) && st != EVR_SIP_CONTENT_LENGTH_MISMATCH) {
		inc(ep, EVR_SIP_ENDPOINT_C_unparsable);
		return;
	}
	if (!m->is_request) {
		inc(ep, EVR_SIP_ENDPOINT_C_responses_ignored);
		return;
	}
	if (m->method == EVR_SIP_METHOD_ACK) {
		inc(ep, EVR_SIP_ENDPOINT_C_ack_ignored);
		return;
	}
	if (m->n_via == 0 || (f->family != 4 && f->family != 6)) {
		inc(ep, EVR_SIP_ENDPOINT_C_no_via);
		return;
	}

	v = &m->via[0];
	if (inet_ntop(f->family == 6 ? AF_INET6 : AF_INET, f->src, c.ip, sizeof(c.ip)) == NULL)
		c.ip[0] = '\0'; /* cannot happen with a valid family and buffer */
	c.ip_len = strlen(c.ip);
	c.sport = f->sport;
	c.add_received = v->rport || !sent_by_is_source(v, f);
	out->reply_family = f->family;
	memcpy(out->reply_addr, f->src, 16);
	out->reply_port = v->rport ? f->sport : (v->port ? v->port : 5060);

	if (st == EVR_SIP_BAD_VERSION) {
		inc(ep, EVR_SIP_ENDPOINT_C_bad_version);
		build_reply(ep, m, &c, 505, NULL, 0, reply, reply_cap, out);
		return;
	}
	if (st != EVR_SIP_OK) {
		inc(ep, EVR_SIP_ENDPOINT_C_bad_request);
		build_reply(ep, m, &c, 400, bad_request_reason(st), 0, reply, reply_cap, out);
		return;
	}
	if (m->ruri.scheme == EVR_SIP_SCHEME_OTHER) {
		inc(ep, EVR_SIP_ENDPOINT_C_unsupported_uri);
		build_reply(ep, m, &c, 416, NULL, 0, reply, reply_cap, out);
		return;
	}
	if (m->method != EVR_SIP_METHOD_CANCEL && evr_sip_find_name(m, EVR_LIT("Require")) != NULL) {
		inc(ep, EVR_SIP_ENDPOINT_C_bad_extension);
		build_reply(ep, m, &c, 420, NULL, X_UNSUPPORTED, reply, reply_cap, out);
		return;
	}

	switch (m->method) {
	case EVR_SIP_METHOD_OPTIONS:
		inc(ep, EVR_SIP_ENDPOINT_C_options);
		build_reply(ep, m, &c, 200, NULL, X_ALLOW | X_ACCEPT | X_ALLOW_EVENTS,
		            reply, reply_cap, out);
		return;
	case EVR_SIP_METHOD_CANCEL:
		key = txn_hash(ep->seed, m);
		if (dd_find(ep, key, 0, now_ms) != NULL) {
			inc(ep, EVR_SIP_ENDPOINT_C_cancel_matched);
			build_reply(ep, m, &c, 200, NULL, 0, reply, reply_cap, out);
		} else {
			inc(ep, EVR_SIP_ENDPOINT_C_cancel_unmatched);
			build_reply(ep, m, &c, 481, NULL, 0, reply, reply_cap, out);
		}
		return;
	case EVR_SIP_METHOD_PUBLISH:
		ev_counter = EVR_SIP_ENDPOINT_C_publish;
		break;
	case EVR_SIP_METHOD_NOTIFY:
		ev_counter = EVR_SIP_ENDPOINT_C_notify;
		break;
	case EVR_SIP_METHOD_MESSAGE:
		ev_counter = EVR_SIP_ENDPOINT_C_message;
		break;
	default:
		inc(ep, EVR_SIP_ENDPOINT_C_method_not_allowed);
		build_reply(ep, m, &c, 405, NULL, X_ALLOW, reply, reply_cap, out);
		return;
	}

	if (m->method != EVR_SIP_METHOD_MESSAGE && !event_token_ok(m->event)) {
		inc(ep, EVR_SIP_ENDPOINT_C_bad_event);
		build_reply(ep, m, &c, 489, NULL, X_ALLOW_EVENTS, reply, reply_cap, out);
		return;
	}
	/* RFC 3903 6 step 4: neither a body nor an entity-tag to refresh */
	if (m->method == EVR_SIP_METHOD_PUBLISH && m->body.len == 0 &&
	    evr_sip_find_name(m, EVR_LIT("SIP-If-Match")) == NULL) {
		inc(ep, EVR_SIP_ENDPOINT_C_bad_request);
		build_reply(ep, m, &c, 400, "Missing Body", 0, reply, reply_cap, out);
		return;
	}
	key = txn_hash(ep->seed, m);
	if (dd_find(ep, key, (unsigned)m->method, now_ms) != NULL) {
		inc(ep, EVR_SIP_ENDPOINT_C_retrans_absorbed);
	} else if (!build_event(m, &c, s)) {
		inc(ep, EVR_SIP_ENDPOINT_C_too_large);
		build_reply(ep, m, &c, 413, NULL, 0, reply, reply_cap, out);
		return;
	} else {
		dd_insert(ep, key, (unsigned)m->method, now_ms);
		inc(ep, ev_counter);
		out->raise = true;
	}
	build_reply(ep, m, &c, 200, NULL,
	            m->method == EVR_SIP_METHOD_PUBLISH ? X_ETAG : 0, reply, reply_cap, out);
}
