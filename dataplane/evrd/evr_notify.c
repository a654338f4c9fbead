/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: notify - match, encode once per format, fan out, publish.
 *
 * Fan-out (RCU read side): each matched event is encoded once per
 * notification format into a payload mbuf chain, right away, while the
 * event and the subscription pointers are still valid. Each subscriber then
 * gets a small header mbuf (hdr_pool) whose `next` is that payload: the
 * payload's reference count is raised once per format by the number of
 * subscribers, never copied. Destination, ports, subscription id and the
 * payload's ones'-complement sum go into the header's private area, so the
 * descriptor is self-contained once the owner passes its quiescent state.
 *
 * Publish: see evr_notify.h. Thread context: the notifier's owner (a
 * worker lcore: hot path, no malloc/locks/syscalls except the control
 * thread's unix: sends, which never run on a worker).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>

#include "codec/evr_encode.h"
#include "util/evr_hash.h"
#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_notify.h"
#include "match/evr_nats_subject.h"
#include "match/evr_sub.h"

/* unix: descriptors carry the destination in the header's data room,
 * nats: ones the rendered subject. */
_Static_assert(sizeof(struct evr_dest) <= EVR_HDR_DATA_ROOM - RTE_PKTMBUF_HEADROOM,
               "struct evr_dest must fit a header mbuf");
_Static_assert(EVR_NATS_SUBJECT_MAX + 1 <= EVR_HDR_DATA_ROOM - RTE_PKTMBUF_HEADROOM,
               "a NATS subject must fit a header mbuf");

/* Microseconds of the TSC: the limits' clock (no syscall). */
static inline uint64_t now_us(const struct evr_router *r)
{
	return (uint64_t)((double)rte_rdtsc() * 1e6 / (double)r->tsc_hz);
}

/* This notifier's share of a router-wide rate (0 stays unlimited). */
static uint64_t share(const struct evr_router *r, uint64_t rate)
{
	unsigned shares = r->n_workers ? r->n_workers : 1;

	return rate ? (rate + shares - 1) / shares : 0;
}

/* Apply rates published since the last look (config_set): one load and a
 * compare per notification otherwise. */
static void follow_rates(struct evr_notifier *nt)
{
	const struct evr_dl_rates *q = rcu_dereference(nt->r->dl_rates);

	if (!q || q->gen == nt->dl_gen)
		return;
	evr_destlimit_set_rates(nt->dl, share(nt->r, q->rate_n), share(nt->r, q->rate_b),
	                        q->burst_ms); /* validated by the config table */
	nt->dl_on = q->rate_n || q->rate_b;
	nt->dl_gen = q->gen;
}

static void rates_free(struct rcu_head *h)
{
	free(caa_container_of(h, struct evr_dl_rates, rcu));
}

int evr_notify_rates_publish(struct evr_router *r, const struct evr_cfg_destinations *d)
{
	struct evr_dl_rates *q = calloc(1, sizeof(*q)), *old = r->dl_rates;

	if (!q)
		return -ENOMEM;
	q->gen = old ? old->gen + 1 : 1;
	q->rate_n = d->rate_notifications;
	q->rate_b = d->rate_bytes;
	q->burst_ms = d->burst_ms;
	rcu_assign_pointer(r->dl_rates, q);
	if (old)
		call_rcu(&old->rcu, rates_free); /* workers may still read it */
	return 0;
}

/*
 * May one more notification of len payload bytes go to d? Per-destination
 * buckets, then the egress cap; a refusal is counted by reason. The rates
 * are the ones follow_rates applied at the start of this fan-out.
 */
static bool within_limits(struct evr_notifier *nt, struct evr_counters *cnt,
                          const struct evr_dest *d, uint32_t len, uint64_t now)
{
	if (nt->dl_on && d->kind == EVR_DEST_UDP) {
		bool v6 = d->addr.sa.sa_family == AF_INET6;
		enum evr_destlimit_verdict v = evr_destlimit_take(
			nt->dl, v6 ? 6 : 4,
			v6 ? d->addr.v6.sin6_addr.s6_addr : (const uint8_t *)&d->addr.v4.sin_addr,
			v6 ? d->addr.v6.sin6_port : d->addr.v4.sin_port, len, now);
		uint64_t ev = evr_destlimit_stats(nt->dl)->evicted;

		if (ev != nt->dl_evicted_seen) {
			cnt->c[EVR_CNT_DEST_LIMIT_EVICTED] += ev - nt->dl_evicted_seen;
			nt->dl_evicted_seen = ev;
		}
		if (v != EVR_DL_OK) {
			cnt->c[v == EVR_DL_RATE ? EVR_CNT_DEST_RATE_LIMITED
			                        : EVR_CNT_DEST_BYTES_LIMITED]++;
			return false;
		}
	}
	if (!evr_bucket_take(&nt->egress_n, 1, now) || !evr_bucket_take(&nt->egress_b, len, now)) {
		cnt->c[EVR_CNT_EGRESS_CAPPED]++;
		return false;
	}
	return true;
}

int evr_notify_init(struct evr_notifier *nt, struct evr_router *r, struct evr_worker *w)
{
	memset(nt, 0, sizeof(*nt));
	nt->r = r;
	nt->w = w;
	nt->reader = -1;
	nt->fan = calloc(r->max_fanout + 1, sizeof(*nt->fan));
	nt->fan_unix = calloc(r->max_fanout + 1, sizeof(*nt->fan_unix));
	nt->fan_nats = calloc(r->max_fanout + 1, sizeof(*nt->fan_nats));
	nt->fan_claim = calloc(r->max_fanout + 1, sizeof(*nt->fan_claim));
	nt->hdr = calloc(r->max_fanout + 1, sizeof(*nt->hdr));
	nt->encbuf = malloc(EVR_UDP_MAX_PAYLOAD + 1);
	if (!nt->fan || !nt->fan_unix || !nt->fan_nats || !nt->fan_claim || !nt->hdr ||
	    !nt->encbuf)
		return -ENOMEM;
	{
		/* each notifier (every worker, the control thread) enforces an
		 * equal share of the configured rates: no shared state. The
		 * table is made even when no rate is set, so that config_set
		 * can set one without allocating on a worker. */
		const struct evr_cfg_destinations *d = &r->cfg->destinations;
		uint64_t now = now_us(r);

		if (!(nt->dl = evr_destlimit_create(share(r, d->rate_notifications),
		                                    share(r, d->rate_bytes), d->burst_ms,
		                                    d->limit_slots)))
			return -errno;
		nt->dl_on = d->rate_notifications || d->rate_bytes;
		evr_bucket_init(&nt->egress_n, share(r, d->egress_notifications), d->burst_ms, now);
		evr_bucket_init(&nt->egress_b, share(r, d->egress_bytes), d->burst_ms, now);
	}
	/* only workers hold events and match bursts (the control thread
	 * matches its own, one event at a time); every event of a burst may
	 * fan out to max_fanout subscribers */
	if (w && ((nt->match = calloc((size_t)r->max_fanout * EVR_MATCH_BURST_MAX,
	                              sizeof(*nt->match))) == NULL ||
	          (nt->seen_names = calloc(EVR_SEEN_NAMES, sizeof(*nt->seen_names))) == NULL ||
	          evr_ev_hold_init(&nt->hold, &r->limits, EVR_MATCH_BURST_MAX) != 0))
		return -ENOMEM;
	return 0;
}

void evr_notify_fini(struct evr_notifier *nt)
{
	evr_destlimit_destroy(nt->dl);
	nt->dl = NULL;
	evr_ev_hold_fini(&nt->hold);
	free(nt->encbuf);
	free(nt->seen_names);
	free(nt->hdr);
	free(nt->fan_nats);
	free(nt->fan_claim);
	free(nt->fan_unix);
	free(nt->fan);
	free(nt->match);
	nt->encbuf = NULL;
	nt->hdr = nt->fan_unix = nt->fan_nats = nt->fan_claim = nt->fan = NULL;
	nt->match = NULL;
}

/* Encode once into a payload chain; NULL (counted) on failure. */
static struct rte_mbuf *build_payload(struct evr_notifier *nt, struct evr_counters *cnt,
                                      enum evr_format fmt, const struct evr_event *ev,
                                      uint64_t seq, uint16_t *psum)
{
	struct evr_router *r = nt->r;
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->payload_pool), *seg;
	const char *src;
	uint32_t done = 0;
	int n;

	if (m == NULL) {
		cnt->c[EVR_CNT_POOL_EMPTY]++;
		return NULL;
	}
	/* Most notifications fit one mbuf: encode straight into it. */
	n = evr_encode(fmt, ev, seq, rte_pktmbuf_mtod(m, char *), rte_pktmbuf_tailroom(m));
	if (n >= 0) {
		m->data_len = (uint16_t)n;
		m->pkt_len = (uint32_t)n;
		goto sum;
	}
	n = evr_encode(fmt, ev, seq, nt->encbuf, EVR_UDP_MAX_PAYLOAD);
	if (n < 0) {
		cnt->c[EVR_CNT_ENCODE_OVERFLOW]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* Larger: copy into a chain. Every segment but the last is filled
	 * to an even length, so the chain sums like one buffer. */
	src = nt->encbuf;
	seg = m;
	for (;;) {
		uint32_t chunk = RTE_MIN((uint32_t)n - done,
		                         (uint32_t)rte_pktmbuf_tailroom(seg) & ~1u);

		memcpy(rte_pktmbuf_mtod(seg, char *), src + done, chunk);
		seg->data_len = (uint16_t)chunk;
		m->pkt_len += chunk;
		done += chunk;
		if (done == (uint32_t)n)
			break;
		seg->next = rte_pktmbuf_alloc(r->payload_pool);
		if (seg->next == NULL) {
			cnt->c[EVR_CNT_POOL_EMPTY]++;
			rte_pktmbuf_free(m);
			return NULL;
		}
		seg = seg->next;
		m->nb_segs++;
	}
sum:
	if (rte_raw_cksum_mbuf(m, 0, m->pkt_len, psum) != 0)
		*psum = 0; /* cannot happen: offsets are within the chain */
	return m;
}

/* Fan one event out to its subscribers: descriptors for udp: land in
 * nt->fan[0..*n_udp), for unix: and esl: in nt->fan_unix[0..*n_unix), for
 * nats: in nt->fan_nats[0..*n_nats); fired `once` ones that need a
 * cluster-wide claim first (a shared store) in nt->fan_claim[0..*n_claim). */
static void fanout(struct evr_notifier *nt, struct evr_counters *cnt, uint8_t in_port,
                   rte_be16_t sport, const struct evr_event *ev, uint64_t seq,
                   const struct evr_sub *const *subs, uint32_t n,
                   uint32_t *n_udp, uint32_t *n_unix, uint32_t *n_nats, uint32_t *n_claim)
{
	uint32_t nc = 0;
	const bool claims = nt->r->claim_ring != NULL;

	follow_rates(nt); /* once per event: one load and a compare */
	struct rte_mbuf *pay[EVR_FMT__COUNT] = {NULL};
	uint32_t refs[EVR_FMT__COUNT] = {0};
	uint16_t psum[EVR_FMT__COUNT] = {0};
	bool failed[EVR_FMT__COUNT] = {false};
	uint32_t nu = 0, nx = 0, nn = 0, nh = 0, used = 0;
	uint64_t now = now_us(nt->r);

	/* every subscriber's header in one pool operation; when the pool
	 * cannot give them all, one at a time (each failure counted) */
	if (rte_pktmbuf_alloc_bulk(nt->r->hdr_pool, nt->hdr, n) == 0)
		nh = n;
	for (uint32_t i = 0; i < n; i++) {
		const struct evr_sub *s = subs[i];
		const struct evr_dest *d = s->dest;
		unsigned fmt = __atomic_load_n(&s->format, __ATOMIC_RELAXED);
		struct evr_tx_meta *meta;
		struct rte_mbuf *h;

		if (fmt >= EVR_FMT_AUTO || failed[fmt])
			continue;
		if (pay[fmt] == NULL) {
			pay[fmt] = build_payload(nt, cnt, (enum evr_format)fmt, ev, seq, &psum[fmt]);
			if (pay[fmt] == NULL) {
				failed[fmt] = true;
				continue;
			}
		}
		if (!within_limits(nt, cnt, d, pay[fmt]->pkt_len, now))
			continue;
		h = used < nh ? nt->hdr[used++] : rte_pktmbuf_alloc(nt->r->hdr_pool);
		if (h == NULL) {
			cnt->c[EVR_CNT_POOL_EMPTY]++;
			continue;
		}
		meta = evr_meta(h);
		meta->in_port = in_port;
		meta->sport = sport;
		meta->psum = psum[fmt];
		meta->sub_id = s->id;
		/* where the descriptor goes: its kind's list, or to be claimed */
		struct rte_mbuf **list;
		uint32_t *ln;
		if (d->kind == EVR_DEST_NATS) {
			/* the publisher thread's: the subject, {event} rendered */
			char *subj = rte_pktmbuf_mtod(h, char *);
			int sl = evr_nats_subject_render(
				d->text + 5, d->addr.nats.len, d->addr.nats.templated,
				ev->name.p, ev->name.len, ev->subclass.p, ev->subclass.len, subj,
				(uint32_t)rte_pktmbuf_tailroom(h));

			if (sl < 0) {
				cnt->c[EVR_CNT_NATS_SUBJECT_TOO_LONG]++;
				rte_pktmbuf_free(h);
				continue;
			}
			meta->kind = EVR_TXK_NATS;
			h->data_len = (uint16_t)(sl + 1);
			list = nt->fan_nats;
			ln = &nn;
		} else if (d->kind == EVR_DEST_UNIX || d->kind == EVR_DEST_ESL) {
			/* the control thread's: unix: sends, ESL connections */
			meta->kind = EVR_TXK_LOCAL;
			memcpy(rte_pktmbuf_append(h, sizeof(*d)), d, sizeof(*d));
			list = nt->fan_unix;
			ln = &nx;
		} else if (d->addr.sa.sa_family == AF_INET6) {
			meta->kind = EVR_TXK_UDP6;
			memcpy(meta->dst6, &d->addr.v6.sin6_addr, 16);
			meta->dport = d->addr.v6.sin6_port;
			list = nt->fan;
			ln = &nu;
		} else {
			meta->kind = EVR_TXK_UDP4;
			meta->dst4 = d->addr.v4.sin_addr.s_addr;
			meta->dport = d->addr.v4.sin_port;
			list = nt->fan;
			ln = &nu;
		}
		/* a connection's (esl:) subscriptions are not shared */
		if (claims && s->once && d->kind != EVR_DEST_ESL) {
			list = nt->fan_claim;
			ln = &nc;
		}
		list[(*ln)++] = h;
		h->next = pay[fmt];
		h->nb_segs = (uint16_t)(1 + pay[fmt]->nb_segs);
		h->pkt_len = h->data_len + pay[fmt]->pkt_len;
		refs[fmt]++;
	}
	if (used < nh) /* subscribers whose format failed to encode */
		rte_pktmbuf_free_bulk(nt->hdr + used, nh - used);
	/* One reference per subscriber; ours becomes the first of them. Done
	 * before any descriptor is published: the control thread frees
	 * unix: ones concurrently. */
	for (unsigned f = 0; f < EVR_FMT__COUNT; f++) {
		if (pay[f] == NULL)
			continue;
		if (refs[f] == 0) {
			rte_pktmbuf_free(pay[f]);
			continue;
		}
		for (struct rte_mbuf *seg = pay[f]; seg; seg = seg->next) {
			uint32_t add = refs[f] - 1;

			/* The update takes an int16_t; max_fanout < 65535. */
			while (add) {
				uint32_t step = RTE_MIN(add, (uint32_t)INT16_MAX);

				rte_mbuf_refcnt_update(seg, (int16_t)step);
				add -= step;
			}
		}
	}
	*n_udp = nu;
	*n_unix = nx;
	*n_nats = nn;
	*n_claim = nc;
}

/* Queue one event's fired `once` descriptors to the claim thread (MP);
 * what does not fit is dropped, counted. Returns the descriptors queued. */
static uint32_t publish_claim(struct evr_notifier *nt, struct evr_counters *cnt, uint32_t nc)
{
	unsigned k;

	if (nc == 0)
		return 0;
	k = rte_ring_mp_enqueue_burst(nt->r->claim_ring, (void **)nt->fan_claim, nc, NULL);
	if (k < nc) {
		cnt->c[EVR_CNT_ONCE_CLAIM_RING_FULL] += nc - k;
		rte_pktmbuf_free_bulk(&nt->fan_claim[k], nc - k);
	}
	return k;
}

/* Queue one event's nats: descriptors to the publisher thread (MP: every
 * worker and the control thread); what does not fit is dropped, counted.
 * Returns the descriptors queued. */
static uint32_t publish_nats(struct evr_notifier *nt, struct evr_counters *cnt, uint32_t nn)
{
	struct rte_ring *ring = nt->r->nats_ring;
	unsigned k;

	if (nn == 0)
		return 0;
	k = ring ? rte_ring_mp_enqueue_burst(ring, (void **)nt->fan_nats, nn, NULL) : 0;
	cnt->c[EVR_CNT_NOTIFICATIONS] += k;
	if (k < nn) {
		cnt->c[ring ? EVR_CNT_NATS_RING_FULL : EVR_CNT_NATS_DISCONNECTED] += nn - k;
		rte_pktmbuf_free_bulk(&nt->fan_nats[k], nn - k);
	}
	return k;
}


/* Worker: queue one event's descriptors. A fan-out larger than the free
 * ring space runs the egress stage inline: the ring bounds memory, not
 * fan-out. */
static uint32_t publish_worker(struct evr_notifier *nt, struct evr_counters *cnt,
                               uint32_t nu, uint32_t nx, uint64_t now)
{
	struct evr_worker *w = nt->w;
	uint32_t done = 0, sent;

	while (done < nu) {
		unsigned k = rte_ring_sp_enqueue_burst(w->egress, (void **)&nt->fan[done],
		                                       nu - done, NULL);

		done += k;
		if (done < nu && evr_egress_stage(w, now) == 0)
			break; /* nothing drained: cannot happen, but never spin */
	}
	if (done < nu) {
		cnt->c[EVR_CNT_RING_FULL] += nu - done;
		rte_pktmbuf_free_bulk(&nt->fan[done], nu - done);
	}
	cnt->c[EVR_CNT_NOTIFICATIONS] += done;
	sent = done;
	if (nx) {
		unsigned k = rte_ring_mp_enqueue_burst(nt->r->unix_ring, (void **)nt->fan_unix,
		                                       nx, NULL);

		cnt->c[EVR_CNT_NOTIFICATIONS] += k;
		sent += k;
		if (k < nx) {
			cnt->c[EVR_CNT_UNIX_RING_FULL] += nx - k;
			rte_pktmbuf_free_bulk(&nt->fan_unix[k], nx - k);
		}
	}
	return sent;
}

/* Control thread: udp: descriptors to worker 0, unix: ones sent here. */
static uint32_t publish_control(struct evr_notifier *nt, struct evr_counters *cnt,
                                uint32_t nu, uint32_t nx)
{
	struct evr_router *r = nt->r;
	uint32_t k = rte_ring_mp_enqueue_burst(r->ctrl_ring, (void **)nt->fan, nu, NULL);

	if (k < nu) {
		cnt->c[EVR_CNT_RING_FULL] += nu - k;
		rte_pktmbuf_free_bulk(&nt->fan[k], nu - k);
	}
	cnt->c[EVR_CNT_NOTIFICATIONS] += k;
	for (uint32_t i = 0; i < nx; i++)
		evr_egress_local_send(r, nt->fan_unix[i], cnt);
	return k + nx;
}

uint32_t evr_notify_subs(struct evr_notifier *nt, struct evr_counters *cnt,
                         uint8_t in_port, rte_be16_t sport,
                         const struct evr_event *ev, uint64_t seq,
                         const struct evr_sub *const *subs, uint32_t n,
                         uint64_t now_tsc)
{
	uint32_t nu, nx, nn, nc, sent;

	if (seq == EVR_NOTIFY_SEQ_NEXT)
		seq = __atomic_fetch_add(&nt->r->seq, 1, __ATOMIC_RELAXED);
	fanout(nt, cnt, in_port, sport, ev, seq, subs, n, &nu, &nx, &nn, &nc);
	sent = publish_nats(nt, cnt, nn) + publish_claim(nt, cnt, nc);
	if (nt->w == NULL)
		return sent + publish_control(nt, cnt, nu, nx);
	return sent + publish_worker(nt, cnt, nu, nx, now_tsc);
}

/*
 * An event nobody subscribes to: its name goes to the control thread once
 * (MI events_list lists every event evrd knows, seen ones too). Matched
 * events need nothing: their names were subscribed to. A hash and one L1
 * load per unmatched event; a cache miss costs one ring slot.
 */
static void note_unmatched(struct evr_notifier *nt, struct evr_counters *cnt,
                           const struct evr_event *ev)
{
	struct evr_event_name n;
	uint32_t len = ev->name.len, sl = ev->subclass.len;
	uint64_t h;

	if (len == 0 || len + (sl ? sl + 1 : 0) > EVR_EVENT_NAME_MAX)
		return; /* not listed: OpenSIPS names are short */
	h = evr_hash_lc(ev->name.p, len) ^ (sl ? evr_mix64(evr_hash_lc(ev->subclass.p, sl)) : 0);
	h |= 1; /* 0 marks an empty slot */
	uint64_t *slot = &nt->seen_names[h % EVR_SEEN_NAMES];
	if (*slot == h)
		return;
	memcpy(n.s, ev->name.p, len);
	if (sl) {
		n.s[len] = ' ';
		memcpy(n.s + len + 1, ev->subclass.p, sl);
		len += sl + 1;
	}
	n.s[len] = '\0';
	if (rte_ring_mp_enqueue_elem(nt->r->names_ring, &n, sizeof(n)) != 0) {
		cnt->c[EVR_CNT_EVENT_NAMES_FULL]++;
		return;
	}
	*slot = h;
}

uint32_t evr_notify_burst(struct evr_notifier *nt, struct evr_counters *cnt,
                          struct evr_match_stats *stats, uint8_t in_port,
                          const rte_be16_t *sport, const struct evr_event *const *evs,
                          const uint64_t *seq, uint32_t n, uint64_t now_ms, uint64_t now_tsc)
{
	struct evr_router *r = nt->r;
	struct evr_match_burst b = {.subs = nt->match,
	                            .cap = r->max_fanout * EVR_MATCH_BURST_MAX,
	                            .per_event_cap = r->max_fanout};
	uint32_t got = evr_matcher_match_burst(r->matcher, (unsigned)nt->reader, evs, n, now_ms,
	                                       &b, stats);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = b.first[i + 1] - b.first[i];

		if (k == 0) {
			cnt->c[EVR_CNT_EVENTS_UNMATCHED]++;
			note_unmatched(nt, cnt, evs[i]);
			continue;
		}
		evr_notify_subs(nt, cnt, in_port, sport[i], evs[i], seq[i], b.subs + b.first[i], k,
		                now_tsc);
	}
	return got;
}

void evr_notify_flush(struct evr_notifier *nt, uint64_t now_ms, uint64_t now_tsc)
{
	struct evr_ev_hold *h = &nt->hold;
	const struct evr_event *evs[EVR_MATCH_BURST_MAX];

	if (h->n == 0)
		return;
	for (uint32_t i = 0; i < h->n; i++)
		evs[i] = &h->ev[i];
	evr_notify_burst(nt, nt->hold_cnt, nt->hold_stats, nt->hold_port, nt->hold_sport, evs,
	                 nt->hold_seq, h->n, now_ms, now_tsc);
	evr_ev_hold_reset(h);
}

void evr_notify_hold(struct evr_notifier *nt, struct evr_counters *cnt,
                     struct evr_match_stats *stats, uint8_t in_port, rte_be16_t sport,
                     const struct evr_event *ev, const char *arena, uint32_t arena_used,
                     uint64_t seq, uint64_t now_ms, uint64_t now_tsc)
{
	struct evr_ev_hold *h = &nt->hold;

	if (h->n && (in_port != nt->hold_port || cnt != nt->hold_cnt))
		evr_notify_flush(nt, now_ms, now_tsc);
	if (evr_ev_hold_add_event(h, ev, arena, arena_used) == NULL) {
		evr_notify_flush(nt, now_ms, now_tsc);
		if (evr_ev_hold_add_event(h, ev, arena, arena_used) == NULL) {
			/* cannot happen within the limits: an empty hold takes
			 * any event built within them; never lose it silently */
			cnt->c[EVR_CNT_HOLD_FULL]++;
			return;
		}
	}
	nt->hold_cnt = cnt;
	nt->hold_stats = stats;
	nt->hold_port = in_port;
	nt->hold_sport[h->n - 1] = sport;
	nt->hold_seq[h->n - 1] = seq;
}
