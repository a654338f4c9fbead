/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: worker lcores - run to completion.
 *
 * Each worker owns RX queue `id` and TX queue `id` on every port, its
 * decode scratch, its matcher reader slot, its egress ring and its ARP
 * waiting queue; nothing it writes on the fast path is shared, except the
 * neighbour table (lock-free) and one atomic per burst on the router-wide
 * sequence counter.
 *
 * A packet's walk is one way, one module per stage:
 *   worker -> rx (evr_rx.c; host protocols answered by evr_host.c)
 *          -> decode | SIP ingest (evr_sip_ingest.c)
 *          -> notify (evr_notify.c: match, encode once per format,
 *             fan-out, publish) -> egress (evr_egress.c).
 *
 * One loop turn:
 *   1. RX burst per port -> rx (L2/L3/L4) -> event datagrams of the burst
 *      collected; SIP goes to SIP ingest at once;
 *   2. one atomic reserves Event-Sequence numbers for the whole burst, then
 *      per datagram: decode -> notify (descriptors onto the egress ring,
 *      unix: ones onto the control thread's ring);
 *   3. egress stage drains the egress ring (and, on worker 0, the control
 *      thread's raise_event ring): route, resolve, headers, fragment, TX;
 *   4. waiting notifications are revisited when the neighbour table
 *      changed or a retry is due; TX buffers flushed on a TSC drain timer;
 *   5. rcu_quiescent_state(): matcher results of this turn are dead now.
 * Idle turns beyond workers.idle_polls sleep workers.idle_sleep_us with the
 * thread RCU-offline, so a 2-core test box is not starved and writers never
 * wait on a sleeping worker. A busy worker never sleeps.
 *
 * Flow order: RSS keeps one source flow on one worker, the worker handles
 * its burst in order, the egress ring is FIFO and the ARP queue keeps FIFO
 * per next hop, so a subscriber sees one flow's events in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <urcu-qsbr.h>

#include "codec/evr_decode.h"
#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_host.h"
#include "evr_neigh.h"
#include "evr_notify.h"
#include "evr_rx.h"
#include "evr_sip_ingest.h"

#define PREFETCH_AHEAD 3
#define MAX_BURST 512

/* Fragments the reassembly table drops go back to their pool. */
static void reasm_release(void *ctx, void *frag)
{
	(void)ctx;
	rte_pktmbuf_free(frag);
}

int evr_worker_init(struct evr_router *r, struct evr_worker *w, unsigned id,
                    unsigned lcore)
{
	const struct evr_config *c = r->cfg;
	int socket = (int)rte_lcore_to_socket_id(lcore);
	char name[RTE_RING_NAMESIZE];
	int rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->lcore = lcore;
	w->r = r;
	w->ip_id = (uint16_t)rte_rand();
	rc = evr_scratch_init(&w->scratch, &r->limits);
	if (rc != 0)
		return rc;
	w->waiting_cap = c->arp.pending_max;
	w->waiting = calloc(w->waiting_cap, sizeof(*w->waiting));
	w->waiting_by_slot = calloc(c->arp.table_size, sizeof(*w->waiting_by_slot));
	w->linbuf = malloc(EVR_UDP_MAX_PAYLOAD + 1);
	/* decrypted mod_event_multicast PSK datagrams */
	if (r->n_fsm && !(w->fsm_buf = malloc(EVR_UDP_MAX_PAYLOAD + 64)))
		return -ENOMEM;
	if (!w->waiting || !w->waiting_by_slot || !w->linbuf ||
	    evr_notify_init(&w->notifier, r, w) != 0)
		return -ENOMEM;
	snprintf(name, sizeof(name), "evr_egress%u", id);
	w->egress = rte_ring_create(name, c->rings.egress_size, socket,
	                            RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (w->egress == NULL)
		return -rte_errno;
	for (unsigned pi = 0; pi < r->n_ports; pi++) {
		struct evr_port *p = &r->ports[pi];

		w->has_rxq[pi] = id < p->nb_rxq;
		/* Beyond the port's TX queues, workers share them (locked). */
		w->txq[pi] = (uint16_t)(id % p->nb_txq);
		w->txb[pi] = rte_zmalloc_socket("evr_txb", RTE_ETH_TX_BUFFER_SIZE(EVR_TX_BURST),
		                                RTE_CACHE_LINE_SIZE, socket);
		if (w->txb[pi] == NULL)
			return -ENOMEM;
		rte_eth_tx_buffer_init(w->txb[pi], EVR_TX_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[pi], rte_eth_tx_buffer_count_callback,
		                                   &w->cnt[pi].c[EVR_CNT_TX_FULL]);
	}
	if (c->limits.reassembly_flows) {
		w->reasm = evr_reasm_create(c->limits.reassembly_flows,
		                            c->limits.reassembly_fragments,
		                            r->tsc_hz * c->limits.reassembly_timeout_ms / 1000,
		                            rte_rand(), reasm_release, NULL);
		if (w->reasm == NULL)
			return -ENOMEM;
	}
	rc = evr_matcher_reader_register(r->matcher);
	if (rc < 0)
		return rc;
	w->notifier.reader = rc;
	return r->has_sip ? evr_sip_ingest_init(r, w) : 0;
}

void evr_worker_fini(struct evr_worker *w)
{
	if (w == NULL)
		return;
	evr_sip_ingest_fini(w);
	for (unsigned pi = 0; pi < EVR_MAX_PORTS; pi++)
		rte_free(w->txb[pi]);
	rte_ring_free(w->egress);
	evr_reasm_destroy(w->reasm);
	free(w->linbuf);
	free(w->fsm_buf);
	free(w->waiting_by_slot);
	free(w->waiting);
	evr_notify_fini(&w->notifier);
	evr_scratch_fini(&w->scratch);
}

struct cand {
	struct rte_mbuf *m;
	struct evr_rx_dgram d;
};

/*
 * A mod_event_multicast datagram's event text: the trailer checked (and the
 * PSK decrypted into w->fsm_buf) as the module's receiver does; NULL when
 * dropped (counted by reason).
 */
static const char *fs_mcast_body(struct evr_worker *w, struct evr_counters *cnt,
                                 uint16_t port, const char *data, uint32_t len, size_t *blen)
{
	const struct evr_fs_mcast_listener *fl = NULL;
	enum evr_fs_mcast_status st;

	for (unsigned i = 0; i < w->r->n_fsm; i++)
		if (w->r->fsm[i].port == port)
			fl = &w->r->fsm[i];
	if (fl && fl->has_psk) {
		st = evr_fs_mcast_decrypt(&fl->psk, (const uint8_t *)data, len, w->fsm_buf,
		                          EVR_UDP_MAX_PAYLOAD + 64, blen);
		data = (const char *)w->fsm_buf;
	} else {
		st = evr_fs_mcast_strip((const uint8_t *)data, len, blen);
	}
	switch (st) {
	case EVR_FS_MCAST_OK:
		return data;
	case EVR_FS_MCAST_NO_MAGIC:
		cnt->c[EVR_CNT_FS_MCAST_NO_MAGIC]++;
		break;
	case EVR_FS_MCAST_BAD_MAGIC:
		cnt->c[EVR_CNT_FS_MCAST_BAD_MAGIC]++;
		break;
	default:
		cnt->c[EVR_CNT_FS_MCAST_BAD_CIPHER]++;
		break;
	}
	return NULL;
}

static void rx_burst(struct evr_worker *w, unsigned pi, struct rte_mbuf **pkts,
                     unsigned nb, uint64_t now)
{
	struct evr_router *r = w->r;
	struct evr_counters *cnt = &w->cnt[pi];
	struct cand c[MAX_BURST];
	unsigned nc = 0;
	uint64_t seq, now_ms;

	for (unsigned i = 0; i < nb && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (unsigned i = 0; i < nb; i++) {
		if (i + PREFETCH_AHEAD < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		c[nc].m = pkts[i];
		if (!evr_rx(w, pi, &c[nc].m, &c[nc].d))
			continue;
		/* SIP goes its own way (state shards, endpoint) at once: it is
		 * rare next to event datagrams on one port in practice. */
		if (c[nc].d.kind != EVR_RX_EVENT) {
			evr_sip_ingest_rx(w, pi, c[nc].m, &c[nc].d, now);
			continue;
		}
		nc++;
	}
	if (nc == 0) {
		if (w->notifier.hold.n) /* events derived from SIP */
			evr_notify_flush(&w->notifier, evr_now_ms(), now);
		return;
	}
	/* One atomic per burst: gaps (undecodable datagrams) are fine,
	 * subscribers only ever see a subset of the sequence anyway. */
	seq = __atomic_fetch_add(&r->seq, nc, __ATOMIC_RELAXED);
	now_ms = evr_now_ms();
	/* Decode into the one scratch; the notify stage keeps a copy of each
	 * event and matches them as one burst (the matcher overlaps the cache
	 * misses of its events): full hold or end of the RX burst. */
	for (unsigned k = 0; k < nc; k++) {
		struct rte_mbuf *m = c[k].m;
		const char *data;
		enum evr_decode_status st;

		cnt->c[EVR_CNT_EVENTS_RX]++;
		data = evr_rx_view(w->linbuf, m, c[k].d.off, c[k].d.len);
		if (c[k].d.format == EVR_RX_FMT_FS_MCAST) {
			size_t blen;

			if (!(data = fs_mcast_body(w, cnt, rte_be_to_cpu_16(c[k].d.lport), data,
			                           c[k].d.len, &blen))) {
				rte_pktmbuf_free(m);
				continue;
			}
			st = evr_decode(EVR_FMT_PLAIN, data, blen, &w->scratch);
		} else {
			st = evr_decode((enum evr_format)c[k].d.format, data, c[k].d.len,
			                &w->scratch);
		}
		cnt->dec[st]++;
		if (st == EVR_DEC_OK)
			evr_notify_hold(&w->notifier, cnt, &w->match_stats[pi], (uint8_t)pi,
			                c[k].d.lport, &w->scratch.ev, w->scratch.buf,
			                w->scratch.buf_used, seq + k, now_ms, now);
		rte_pktmbuf_free(m);
	}
	evr_notify_flush(&w->notifier, now_ms, now);
}

/* Incomplete datagrams past their timeout leave the table here too, not
 * only when a fragment of theirs or a new datagram arrives. Cheap: looks
 * at the oldest datagram only, unless it expired. */
static void expire_fragments(struct evr_worker *w, uint64_t now)
{
	struct evr_reasm_stats before = *evr_reasm_stats(w->reasm);

	evr_reasm_expire(w->reasm, now);
	evr_rx_count_reasm(w, 0, &before);
}

static void drain_on_stop(struct evr_worker *w)
{
	uint64_t now = rte_rdtsc();
	uint64_t until = now + w->r->tsc_hz / 10; /* 100 ms at most */

	/* Egress rings first (they may feed the ARP queue), then one more
	 * look at waiting notifications: what resolved goes, the rest is
	 * dropped and counted. */
	while (evr_egress_stage(w, now) != 0 && now < until)
		now = rte_rdtsc();
	if (w->waiting_n)
		evr_egress_waiting(w, now, false);
	if (w->waiting_n)
		evr_egress_waiting(w, now, true);
	evr_egress_flush(w);
}

int evr_worker_main(void *arg)
{
	struct evr_worker *w = arg;
	struct evr_router *r = w->r;
	struct rte_mbuf *pkts[MAX_BURST];
	uint64_t prev_drain = rte_rdtsc(), idle = 0;
	unsigned burst = RTE_MIN(r->burst, (unsigned)MAX_BURST);

	/* worker 0 joins the mod_event_multicast groups (IGMPv2 / MLDv2
	 * reports): now and in 1 s, as a host joining sends them, and leaves
	 * them at stop */
	bool announces = w->id == 0 && r->n_fsm;
	uint64_t igmp_again = announces ? rte_rdtsc() + r->tsc_hz : 0;

	rcu_register_thread();
	EVR_LOG(INFO, "worker %u running on lcore %u", w->id, w->lcore);
	if (announces)
		evr_host_mcast_announce(w, false);
	while (__atomic_load_n(&r->state, __ATOMIC_RELAXED) == EVR_RUNNING) {
		uint64_t now = rte_rdtsc();
		unsigned busy = 0;

		if (igmp_again && now >= igmp_again) {
			evr_host_mcast_announce(w, false);
			igmp_again = 0;
		}
		for (unsigned pi = 0; pi < r->n_ports; pi++) {
			uint16_t nb;

			if (!w->has_rxq[pi])
				continue;
			nb = rte_eth_rx_burst(r->ports[pi].port_id, (uint16_t)w->id, pkts,
			                      (uint16_t)burst);
			if (nb) {
				busy += nb;
				rx_burst(w, pi, pkts, nb, now);
			}
		}
		if (w->sip.state)
			busy += evr_sip_ingest_poll(w, now);
		busy += evr_egress_stage(w, now);
		if (w->waiting_n && (now >= w->waiting_retry_tsc ||
		                  evr_neigh_gen(r->neigh) != w->neigh_gen_seen))
			evr_egress_waiting(w, now, false);
		if (now - prev_drain > r->drain_tsc) {
			evr_egress_flush(w);
			prev_drain = now;
			if (w->reasm)
				expire_fragments(w, now);
		}
		rcu_quiescent_state();
		w->loops++;
		if (busy) {
			idle = 0;
			w->busy_loops++;
		} else if (++idle > r->idle_polls && r->idle_sleep_us) {
			evr_egress_flush(w);
			rcu_thread_offline();
			rte_delay_us_sleep(r->idle_sleep_us);
			rcu_thread_online();
			w->sleeps++;
		}
	}
	if (announces)
		evr_host_mcast_announce(w, true);
	drain_on_stop(w);
	rcu_unregister_thread();
	EVR_LOG(INFO, "worker %u stopped", w->id);
	return 0;
}
