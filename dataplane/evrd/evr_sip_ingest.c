/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: SIP ingest - mirrored SIP and HEP into state shards, the SIP endpoint.
 *
 * Three rx kinds of SIP reach a worker from evr_rx():
 *  - EVR_RX_MIRROR: frames between other hosts observed on a mirror port
 *    (SPAN / tc mirred), UDP to or from sip.mirror_ports;
 *  - EVR_RX_HEP: HEPv3 datagrams to a "hep" listener, the copies a
 *    proxy's capture agent (Kamailio siptrace, OpenSIPS proto_hep) sends;
 *  - EVR_RX_SIP: requests to the appliance's own SIP endpoint.
 *
 * Mirror and HEP messages feed the dialog/registration state (evr_sip_state),
 * which raises the events the platforms themselves would raise.
 *
 * Cross-worker design: hand-off by Call-ID. A dialog's requests and
 * responses travel between different address pairs (UAC->proxy,
 * proxy->UAS, replies the other way), so RSS puts them on different queues
 * and workers. Each worker owns one state shard: the Call-IDs for which
 * evr_sip_state_shard(call_id, n_workers) gives its id. The receiving worker
 * parses the message (it must, to find the Call-ID, compact form "i:"
 * included) and, when another worker owns it, enqueues {mbuf, offsets,
 * flow} on that worker's MP/SC element ring; the owner parses again and
 * applies it. State therefore has exactly one writer, without a lock or
 * a shared cache line, and the cost of a hand-off is one ring slot and a
 * second parse of (n-1)/n of the messages. Order: one ring per owner, fed
 * in each sender's arrival order; messages of one dialog coming through two
 * workers can reach the owner in another order than the wire's (the other
 * worker may be mid-burst or asleep). A message whose request has not
 * arrived yet is held briefly and offered again (see "Holding" below); the
 * state machine tolerates the rest (a 200 before its 180 is still an
 * answer).
 *
 * REGISTER transactions are the exception: they go by AOR (To URI
 * user@host) instead, because the registration state is per AOR and two
 * devices (two Call-IDs) registering one AOR must meet in one shard, or
 * each shard would raise its own E_UL_AOR_INSERT. A REGISTER and its
 * responses carry the same To, so the transaction stays together too.
 *
 * Endpoint requests need no shard: the stateless answer and the
 * retransmission cache only need the request itself, and a sender's
 * retransmissions come from the same address (same RSS queue, same
 * worker). The reply goes onto the worker's egress ring like a
 * notification, so it shares routing, ARP/ND resolution and TX.
 *
 * Thread context: worker lcores (hot path); init/fini on the main thread
 * before the workers start / after they stopped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_notify.h"
#include "evr_rx.h"
#include "evr_sip_ingest.h"
#include "sip/evr_hep.h"
#include "sip/evr_sip_endpoint.h"
#include "sip/state/evr_sip_state.h"

#define HANDOFF_BURST 32
#define REPLY_CAP EVR_SIP_ENDPOINT_REPLY_MAX /* always enough for any request */
/* State timers run every 100 us: a tick handles at most
 * EVR_SIP_STATE_TICK_BUDGET expirations, and at a million messages per second
 * about a third of them end a dialog or transaction, so 10 ms ticks
 * (25.6k expirations/s) would fall behind; a tick with nothing due costs
 * one heap-top compare. */
#define TICK_HZ 10000

struct emit_ctx {
	struct evr_worker *w;
	unsigned pi;
	uint64_t now_tsc;
	uint64_t now_ms;
	const struct evr_scratch *arena; /* where the emitted events are built */
};

uint64_t evr_wall_us(const struct evr_router *r, uint64_t tsc)
{
	return r->wall0_us + (tsc - r->start_tsc) * 1000000u / r->tsc_hz;
}

int evr_sip_ingest_init(struct evr_router *r, struct evr_worker *w)
{
	const struct evr_cfg_sip *c = &r->cfg->sip;
	struct evr_sip_state_conf sc;
	struct evr_sip_endpoint_conf ec;
	char name[RTE_RING_NAMESIZE];
	unsigned n = r->n_workers ? r->n_workers : 1;

	evr_sip_state_conf_default(&sc);
	/* Limits are router-wide; Call-ID hashing spreads them evenly. */
	sc.max_dialogs = (c->max_dialogs + n - 1) / n;
	sc.max_registrations = (c->max_registrations + n - 1) / n;
	sc.originate_timeout_ms = c->originate_timeout_s * 1000u;
	sc.max_dialog_ms = c->max_dialog_s * 1000u;
	sc.linger_ms = c->linger_ms;
	sc.default_expires = c->default_expires;
	sc.pn_refresh_s = c->pn_refresh_s;
	sc.families = c->events == EVR_CFG_SIP_EV_OPENSIPS     ? EVR_SIP_STATE_OPENSIPS
	              : c->events == EVR_CFG_SIP_EV_FREESWITCH ? EVR_SIP_STATE_FREESWITCH
	                                                       : EVR_SIP_STATE_OPENSIPS |
	                                                                 EVR_SIP_STATE_FREESWITCH;
	sc.profile = c->profile;
	sc.hostname = c->hostname;
	sc.fs_std = &r->fs_std; /* one Core-UUID for the run, shared read-only */
	w->sip.state = evr_sip_state_create(&sc, &r->limits);
	if (w->sip.state == NULL)
		return -errno;

	evr_sip_endpoint_conf_default(&ec);
	ec.dedup_entries = c->endpoint_dedup;
	w->sip.hep_pw_len = (uint32_t)strlen(c->hep_password);
	ec.server = c->server;
	ec.rate_requests = c->endpoint_rate_requests;
	ec.rate_window_ms = c->endpoint_rate_window_ms;
	ec.rate_sources = c->endpoint_rate_sources;
	w->sip.endpoint = evr_sip_endpoint_create(&ec);
	if (w->sip.endpoint == NULL)
		return -errno;

	snprintf(name, sizeof(name), "evr_sipho%u", w->id);
	w->sip.handoff = rte_ring_create_elem(name, sizeof(struct evr_sip_handoff),
	                                  c->handoff_ring,
	                                  (int)rte_lcore_to_socket_id(w->lcore),
	                                  RING_F_SC_DEQ);
	if (w->sip.handoff == NULL)
		return -rte_errno;
	/* Also with one worker: a capture agent may send the HEP copy of a
	 * reply before the request's (Kamailio siptrace does, at times), and
	 * two mirror ports are two paths. The Call-ID filter keeps it cheap. */
	w->sip.held_cap = c->reorder_ms ? c->reorder_max : 0;
	w->sip.held_next_due = UINT64_MAX;
	w->sip.reorder_tsc = r->tsc_hz * c->reorder_ms / 1000u;
	if (w->sip.held_cap) {
		w->sip.held = calloc(w->sip.held_cap, sizeof(*w->sip.held));
		if (w->sip.held == NULL)
			return -ENOMEM;
	}
	w->sip.msg = malloc(sizeof(*w->sip.msg));
	w->sip.replybuf = malloc(REPLY_CAP);
	if (w->sip.msg == NULL || w->sip.replybuf == NULL)
		return -ENOMEM;
	return 0;
}

void evr_sip_ingest_fini(struct evr_worker *w)
{
	struct evr_sip_handoff h;

	if (w->sip.handoff) {
		/* Workers have stopped: what is still queued is freed. */
		while (rte_ring_sc_dequeue_elem(w->sip.handoff, &h, sizeof(h)) == 0)
			rte_pktmbuf_free(h.m);
		rte_ring_free(w->sip.handoff);
		w->sip.handoff = NULL;
	}
	for (uint32_t k = 0; k < w->sip.held_n; k++)
		rte_pktmbuf_free(w->sip.held[(w->sip.held_head + k) % w->sip.held_cap].h.m);
	w->sip.held_n = 0;
	free(w->sip.held);
	w->sip.held = NULL;
	evr_sip_state_destroy(w->sip.state);
	w->sip.state = NULL;
	evr_sip_endpoint_destroy(w->sip.endpoint);
	w->sip.endpoint = NULL;
	free(w->sip.msg);
	w->sip.msg = NULL;
	free(w->sip.replybuf);
	w->sip.replybuf = NULL;
}

/* An event derived from SIP (or raised by the endpoint): the notify
 * stage. RCU read side: the worker is online. */
static void emit(void *arg, const struct evr_event *ev)
{
	struct emit_ctx *x = arg;
	struct evr_worker *w = x->w;
	struct evr_counters *cnt = &w->cnt[x->pi];

	cnt->c[EVR_CNT_SIP_EVENTS]++;
	/* held for the burst match; the caller's burst ends with a flush */
	evr_notify_hold(&w->notifier, cnt, &w->match_stats[x->pi], (uint8_t)x->pi,
	                w->r->default_sport, ev, x->arena->buf, x->arena->buf_used,
	                EVR_NOTIFY_SEQ_NEXT, x->now_ms, x->now_tsc);
}

static inline const char *view(struct evr_worker *w, struct rte_mbuf *m, uint32_t off,
                               uint32_t len)
{
	return evr_rx_view(w->linbuf, m, off, len);
}

/* The worker owning a parsed message: REGISTERs by AOR (the user@host
 * bytes of the To URI, as the shard keys its contacts), the rest by
 * Call-ID. */
static unsigned owner_of(const struct evr_sip_msg *m, unsigned n)
{
	const struct evr_sip_uri *u = &m->to.uri;
	char aor[512];

	if (n == 1)
		return 0;
	if (m->cseq_method == EVR_SIP_METHOD_REGISTER && u->host.len &&
	    (size_t)u->user.len + 1 + u->host.len <= sizeof(aor)) {
		size_t k = 0;

		if (u->user.len) {
			memcpy(aor, u->user.p, u->user.len);
			k = u->user.len;
			aor[k++] = '@';
		}
		memcpy(aor + k, u->host.p, u->host.len);
		return evr_sip_state_shard(aor, k + u->host.len, n);
	}
	return evr_sip_state_shard(m->call_id.p, m->call_id.len, n);
}

/* Parse a message of the state path; counts the parse result. */
static bool parse_state(struct evr_worker *w, unsigned pi, const char *p, uint32_t len)
{
	enum evr_sip_status st = evr_sip_parse(p, len, w->sip.msg);

	w->cnt[pi].sip[st]++;
	return st == EVR_SIP_OK;
}

static void state_input(struct evr_worker *w, unsigned pi, const struct evr_sip_flow *f,
                        uint64_t now_tsc)
{
	struct emit_ctx x = {
		.w = w, .pi = pi, .now_tsc = now_tsc, .now_ms = evr_now_ms(),
		.arena = evr_sip_state_arena(w->sip.state),
	};

	evr_sip_state_input(w->sip.state, w->sip.msg, f, x.now_ms, emit, &x);
}

/*
 * Holding messages that arrive before their request.
 *
 * The shard sees one Call-ID's messages in the order they reach it, which
 * is not the wire order when they came through different workers: the
 * request may sit in another worker's hand-off ring or behind its idle
 * sleep while the response, on this worker's own queue, is already here
 * (a 401 0.3 ms after its REGISTER, an ACK 0.1 ms after the 200). Such a
 * message (evr_sip_state_premature) waits in a bounded FIFO for up to
 * sip.reorder_ms. Whenever a message that creates or advances state is
 * applied, the held ones with the same Call-ID are offered again, in
 * their order; the timer applies what is still waiting at its deadline
 * (then counted as an orphan by the shard, and sip_held_expired here).
 * A 1024-bit filter of the held Call-IDs and the earliest deadline keep
 * this off the common path: the held list is scanned only when an applied
 * message's Call-ID may be among them, or a deadline has passed (a capture
 * that starts mid-call holds many orphans; scanning them per message cost
 * a third of the worker in the SIP benchmark).
 */
static uint64_t cid_hash(const struct evr_sip_msg *m)
{
	return rte_hash_crc(m->call_id.p, m->call_id.len, 0x5eed);
}

static inline bool held_maybe(const struct evr_worker *w, uint64_t cid)
{
	return (w->sip.held_bloom[(cid >> 6) & 15] >> (cid & 63)) & 1;
}

static void held_push(struct evr_worker *w, const struct evr_sip_held *e)
{
	w->sip.held[(w->sip.held_head + w->sip.held_n++) % w->sip.held_cap] = *e;
	w->sip.held_bloom[(e->cid_hash >> 6) & 15] |= 1ull << (e->cid_hash & 63);
	if (e->deadline_tsc < w->sip.held_next_due)
		w->sip.held_next_due = e->deadline_tsc;
}

static struct evr_sip_held held_pop(struct evr_worker *w)
{
	struct evr_sip_held e = w->sip.held[w->sip.held_head];

	w->sip.held_head = (w->sip.held_head + 1) % w->sip.held_cap;
	w->sip.held_n--;
	return e;
}

/* Offer the held messages again: those of Call-ID hash `cid` (all when
 * any_cid), and those past their deadline. Returns how many were applied. */
static unsigned held_retry(struct evr_worker *w, uint64_t cid, bool any_cid,
                           uint64_t now_tsc)
{
	uint32_t n = w->sip.held_n;
	unsigned applied = 0;

	/* rebuilt from what stays held */
	memset(w->sip.held_bloom, 0, sizeof(w->sip.held_bloom));
	w->sip.held_next_due = UINT64_MAX;
	for (uint32_t k = 0; k < n; k++) {
		struct evr_sip_held e = held_pop(w);
		bool due = now_tsc >= e.deadline_tsc;
		const char *p;

		if (!due && !any_cid && e.cid_hash != cid) {
			held_push(w, &e);
			continue;
		}
		p = view(w, e.h.m, e.h.off, e.h.len);
		if (p == NULL || evr_sip_parse(p, e.h.len, w->sip.msg) != EVR_SIP_OK) {
			rte_pktmbuf_free(e.h.m); /* parsed fine before: cannot happen */
			continue;
		}
		if (evr_sip_state_premature(w->sip.state, w->sip.msg)) {
			if (!due) {
				held_push(w, &e);
				continue;
			}
			w->cnt[e.h.in_port].c[EVR_CNT_SIP_HELD_EXPIRED]++;
		}
		state_input(w, e.h.in_port, &e.h.flow, now_tsc);
		rte_pktmbuf_free(e.h.m);
		applied++;
	}
	return applied;
}

/* A parsed message (in w->sip.msg) of this worker's shard: hold it, or
 * apply it and retry what it may have resolved. Takes m. */
static void shard_offer(struct evr_worker *w, const struct evr_sip_handoff *h,
                        uint64_t now_tsc)
{
	const struct evr_sip_msg *m = w->sip.msg;
	uint64_t cid;

	if (w->sip.held_cap && evr_sip_state_premature(w->sip.state, m)) {
		if (w->sip.held_n < w->sip.held_cap) {
			struct evr_sip_held e = {
				.h = *h, .deadline_tsc = now_tsc + w->sip.reorder_tsc,
				.cid_hash = cid_hash(m),
			};

			held_push(w, &e);
			w->cnt[h->in_port].c[EVR_CNT_SIP_HELD]++;
			return;
		}
		w->cnt[h->in_port].c[EVR_CNT_SIP_HELD_FULL]++;
	}
	cid = w->sip.held_n ? cid_hash(m) : 0;
	state_input(w, h->in_port, &h->flow, now_tsc);
	rte_pktmbuf_free(h->m);
	if (w->sip.held_n && held_maybe(w, cid))
		held_retry(w, cid, false, now_tsc);
}

static void endpoint(struct evr_worker *w, unsigned pi, const char *p, uint32_t len,
                     const struct evr_rx_dgram *d, const struct evr_sip_flow *f,
                     uint64_t now_tsc)
{
	struct evr_router *r = w->r;
	struct evr_counters *cnt = &w->cnt[pi];
	struct emit_ctx x = {
		.w = w, .pi = pi, .now_tsc = now_tsc, .now_ms = evr_now_ms(),
		.arena = &w->scratch,
	};
	struct evr_sip_endpoint_out out;
	enum evr_sip_status st;
	struct rte_mbuf *h;

	st = evr_sip_parse(p, len, w->sip.msg);
	cnt->sip[st]++;
	evr_sip_endpoint_handle(w->sip.endpoint, st, w->sip.msg, f, x.now_ms, &w->scratch, w->sip.replybuf,
	                 REPLY_CAP, &out);
	if (out.raise)
		emit(&x, &w->scratch.ev);
	if (!out.reply)
		return;
	h = evr_egress_udp_desc(r, cnt, w->sip.replybuf, out.reply_len, out.reply_family,
	                    out.reply_addr, rte_cpu_to_be_16(out.reply_port), d->lport,
	                    (uint8_t)pi);
	if (h == NULL)
		return;
	if (rte_ring_sp_enqueue(w->egress, h) != 0) {
		cnt->c[EVR_CNT_RING_FULL]++;
		rte_pktmbuf_free(h);
		return;
	}
	cnt->c[EVR_CNT_SIP_REPLIES]++;
}

void evr_sip_ingest_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                  const struct evr_rx_dgram *d, uint64_t now_tsc)
{
	struct evr_router *r = w->r;
	struct evr_counters *cnt = &w->cnt[pi];
	struct evr_sip_flow flow = d->flow;
	uint32_t off = d->off, len = d->len;
	const char *p;
	unsigned owner;

	cnt->c[EVR_CNT_SIP_RX]++;
	if (len > r->limits.max_datagram) {
		cnt->c[EVR_CNT_SIP_TOO_LARGE]++;
		goto free;
	}
	p = view(w, m, off, len);
	if (p == NULL) { /* cannot happen: evr_rx checked the lengths */
		cnt->c[EVR_CNT_RX_BAD_UDP_HEADER]++;
		goto free;
	}
	flow.ts_us = evr_wall_us(r, now_tsc);
	if (d->kind == EVR_RX_SIP) {
		endpoint(w, pi, p, len, d, &flow, now_tsc);
		goto free;
	}
	if (d->kind == EVR_RX_HEP) {
		struct evr_hep hep;
		enum evr_hep_status hs = evr_hep_parse(p, len, &hep);

		cnt->hep[hs]++;
		if (hs != EVR_HEP_OK)
			goto free;
		/* a capture agent proves itself with the HEP auth key
		 * (chunk 0x0e, heplify -hp / Kamailio siptrace auth_key) */
		if (w->sip.hep_pw_len &&
		    (hep.auth_key.len != w->sip.hep_pw_len ||
		     memcmp(hep.auth_key.p, r->cfg->sip.hep_password, w->sip.hep_pw_len))) {
			cnt->c[EVR_CNT_HEP_AUTH_FAILED]++;
			goto free;
		}
		/* The capture agent's tuple and time describe the message. */
		flow = hep.flow;
		if (flow.ts_us == 0)
			flow.ts_us = evr_wall_us(r, now_tsc);
		off += (uint32_t)(hep.payload.p - p);
		len = hep.payload.len;
		p = hep.payload.p;
	}
	if (!parse_state(w, pi, p, len))
		goto free;
	owner = owner_of(w->sip.msg, r->n_workers);
	if (owner != w->id) {
		struct evr_sip_handoff h = {
			.m = m, .off = off, .len = len, .in_port = (uint8_t)pi, .flow = flow,
		};

		if (rte_ring_mp_enqueue_elem(r->workers[owner]->sip.handoff, &h, sizeof(h)) != 0) {
			cnt->c[EVR_CNT_SIP_HANDOFF_FULL]++;
			goto free;
		}
		cnt->c[EVR_CNT_SIP_HANDOFF]++;
		return; /* the owner frees m */
	}
	{
		struct evr_sip_handoff h = {
			.m = m, .off = off, .len = len, .in_port = (uint8_t)pi, .flow = flow,
		};

		shard_offer(w, &h, now_tsc);
		return;
	}
free:
	rte_pktmbuf_free(m);
}

unsigned evr_sip_ingest_poll(struct evr_worker *w, uint64_t now_tsc)
{
	struct evr_sip_handoff h[HANDOFF_BURST];
	unsigned n, done = 0;

	n = rte_ring_sc_dequeue_burst_elem(w->sip.handoff, h, sizeof(h[0]), HANDOFF_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		const char *p = view(w, h[i].m, h[i].off, h[i].len);

		/* Parsed fine on the sender; counted there, so not again. */
		if (p && evr_sip_parse(p, h[i].len, w->sip.msg) == EVR_SIP_OK)
			shard_offer(w, &h[i], now_tsc);
		else
			rte_pktmbuf_free(h[i].m);
	}
	done += n;
	if (now_tsc >= w->sip.tick_tsc) {
		struct emit_ctx x = {
			.w = w, .pi = 0, .now_tsc = now_tsc, .now_ms = evr_now_ms(),
			.arena = evr_sip_state_arena(w->sip.state),
		};

		done += evr_sip_state_tick(w->sip.state, x.now_ms, evr_wall_us(w->r, now_tsc), emit, &x);
		if (w->sip.held_n && now_tsc >= w->sip.held_next_due) /* deadlines */
			done += held_retry(w, 0, false, now_tsc);
		w->sip.tick_tsc = now_tsc + w->r->tsc_hz / TICK_HZ;
	}
	/* what the hand-offs, held retries and timers derived */
	if (w->notifier.hold.n)
		evr_notify_flush(&w->notifier, evr_now_ms(), now_tsc);
	return done;
}
