/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: egress - routing, neighbour resolution, headers, TX.
 *
 * Descriptors arrive from the notify stage (evr_notify.c) on the worker's
 * egress ring: a header mbuf per subscriber whose private area holds the
 * destination and the payload's sum, chained to the shared payload.
 *
 * TX stage: drain the egress ring in bursts; pick the egress port (the
 * one whose subnet holds the destination, else the first with a gateway);
 * look the next hop up in the shared neighbour table; prepend
 * Ethernet/IP/UDP into the header's headroom; fragment when the datagram
 * exceeds the port MTU (librte_ip_frag: fragments are direct header mbufs
 * plus indirect mbufs into the same payload); buffer for rte_eth_tx_burst.
 * The UDP checksum costs one pseudo-header sum per subscriber: the payload
 * part was summed once.
 *
 * Order: a next hop with notifications already waiting for resolution
 * gets new ones queued behind them, so per-subscriber FIFO survives ARP.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_udp.h>

#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_host.h"
#include "evr_neigh.h"
#include "match/evr_sub.h"

/* Everything on the egress ring when we got here (bounded). */
unsigned evr_egress_stage(struct evr_worker *w, uint64_t now)
{
	struct rte_mbuf *d[EVR_EGRESS_BURST];
	unsigned total = 0, n;
	unsigned budget = rte_ring_count(w->egress);

	do {
		n = rte_ring_sc_dequeue_burst(w->egress, (void **)d, EVR_EGRESS_BURST, NULL);
		for (unsigned i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_mbuf_to_priv(d[i + 1]));
			evr_egress_notification(w, d[i], now);
		}
		total += n;
	} while (n == EVR_EGRESS_BURST && total < budget);
	if (w->id == 0 && w->r->ctrl_ring) {
		n = rte_ring_sc_dequeue_burst(w->r->ctrl_ring, (void **)d, EVR_EGRESS_BURST, NULL);
		for (unsigned i = 0; i < n; i++)
			evr_egress_notification(w, d[i], now);
		total += n;
	}
	return total;
}

struct rte_mbuf *evr_egress_udp_desc(struct evr_router *r, struct evr_counters *cnt,
                                 const void *data, uint32_t len, uint8_t family,
                                 const uint8_t *dst, rte_be16_t dport,
                                 rte_be16_t sport, uint8_t in_port)
{
	struct rte_mbuf *pay, *h;
	struct evr_tx_meta *meta;
	uint16_t psum;

	pay = rte_pktmbuf_alloc(r->payload_pool);
	if (pay == NULL) {
		cnt->c[EVR_CNT_POOL_EMPTY]++;
		return NULL;
	}
	/* Usually one segment; a reply echoing many Vias may need a chain.
	 * Segment sizes are even (the pool's data room), so the chain sums
	 * like one buffer. */
	{
		struct rte_mbuf *seg = pay;
		uint32_t done = 0;

		for (;;) {
			uint32_t n = RTE_MIN(len - done, (uint32_t)rte_pktmbuf_tailroom(seg) & ~1u);

			memcpy(rte_pktmbuf_mtod(seg, char *), (const char *)data + done, n);
			seg->data_len = (uint16_t)n;
			done += n;
			if (done == len)
				break;
			seg->next = rte_pktmbuf_alloc(r->payload_pool);
			if (seg->next == NULL) {
				cnt->c[EVR_CNT_POOL_EMPTY]++;
				rte_pktmbuf_free(pay);
				return NULL;
			}
			seg = seg->next;
			pay->nb_segs++;
		}
		pay->pkt_len = len;
	}
	h = rte_pktmbuf_alloc(r->hdr_pool);
	if (h == NULL) {
		cnt->c[EVR_CNT_POOL_EMPTY]++;
		rte_pktmbuf_free(pay);
		return NULL;
	}
	if (rte_raw_cksum_mbuf(pay, 0, len, &psum) != 0)
		psum = 0;
	meta = evr_meta(h);
	memset(meta, 0, sizeof(*meta));
	meta->in_port = in_port;
	meta->sport = sport;
	meta->dport = dport;
	meta->psum = psum;
	if (family == 6) {
		meta->kind = EVR_TXK_UDP6;
		memcpy(meta->dst6, dst, 16);
	} else {
		meta->kind = EVR_TXK_UDP4;
		memcpy(&meta->dst4, dst, 4);
	}
	h->next = pay;
	h->nb_segs = (uint16_t)(1 + pay->nb_segs);
	h->pkt_len = h->data_len + len;
	return h;
}

/* ---- frames ---------------------------------------------------------- */

void evr_egress_frame(struct evr_worker *w, unsigned pi, struct rte_mbuf *m)
{
	struct evr_router *r = w->r;
	struct evr_port *p = &r->ports[pi];
	struct evr_counters *cnt = &w->cnt[pi];

	if (w->txb[pi] == NULL) {
		cnt->c[EVR_CNT_TX_NO_QUEUE]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (m->nb_segs > 1 && !p->multiseg) {
		struct rte_mbuf *lin = rte_pktmbuf_alloc(r->payload_pool);

		if (lin == NULL || rte_pktmbuf_tailroom(lin) < m->pkt_len) {
			cnt->c[lin ? EVR_CNT_TX_LINEARIZE_FAILED : EVR_CNT_POOL_EMPTY]++;
			rte_pktmbuf_free(lin);
			rte_pktmbuf_free(m);
			return;
		}
		rte_pktmbuf_read(m, 0, m->pkt_len, rte_pktmbuf_append(lin, (uint16_t)m->pkt_len));
		rte_pktmbuf_free(m);
		m = lin;
		cnt->c[EVR_CNT_TX_LINEARIZED]++;
	}
	cnt->c[EVR_CNT_TX_PACKETS]++;
	cnt->c[EVR_CNT_TX_BYTES] += m->pkt_len;
	if (likely(!p->txq_shared)) {
		rte_eth_tx_buffer(p->port_id, w->txq[pi], w->txb[pi], m);
		return;
	}
	/* The buffer is the worker's own; only a flush touches the queue,
	 * so only a flush takes its lock. */
	if (w->txb[pi]->length + 1 >= w->txb[pi]->size) {
		rte_spinlock_lock(&p->txq_lock[w->txq[pi]]);
		rte_eth_tx_buffer(p->port_id, w->txq[pi], w->txb[pi], m);
		rte_spinlock_unlock(&p->txq_lock[w->txq[pi]]);
	} else {
		rte_eth_tx_buffer(p->port_id, w->txq[pi], w->txb[pi], m);
	}
}

void evr_egress_flush(struct evr_worker *w)
{
	for (unsigned pi = 0; pi < w->r->n_ports; pi++) {
		struct evr_port *p = &w->r->ports[pi];

		if (w->txb[pi] == NULL || w->txb[pi]->length == 0)
			continue;
		if (p->txq_shared)
			rte_spinlock_lock(&p->txq_lock[w->txq[pi]]);
		rte_eth_tx_buffer_flush(p->port_id, w->txq[pi], w->txb[pi]);
		if (p->txq_shared)
			rte_spinlock_unlock(&p->txq_lock[w->txq[pi]]);
	}
}

static void put_eth(struct rte_ether_hdr *eth, const struct evr_port *p,
                    const struct rte_ether_addr *dmac, uint16_t type)
{
	eth->dst_addr = *dmac;
	eth->src_addr = p->mac;
	eth->ether_type = rte_cpu_to_be_16(type);
}

static uint16_t udp_sum(uint32_t phdr, const struct rte_udp_hdr *u, uint16_t psum)
{
	uint32_t sum = phdr + psum + rte_raw_cksum(u, sizeof(*u));
	uint16_t c = (uint16_t)~__rte_raw_cksum_reduce(sum);

	return c == 0 ? 0xffff : c;
}

static void tx_fragments(struct evr_worker *w, unsigned pi, struct rte_mbuf *hdr,
                         const struct rte_ether_addr *dmac, bool v6)
{
	struct evr_router *r = w->r;
	struct evr_port *p = &r->ports[pi];
	struct evr_counters *cnt = &w->cnt[pi];
	struct rte_mbuf *frag[EVR_MAX_FRAGS];
	int32_t n;

	if (v6)
		n = rte_ipv6_fragment_packet(hdr, frag, EVR_MAX_FRAGS, p->mtu,
		                             r->hdr_pool, r->indirect_pool);
	else
		n = rte_ipv4_fragment_packet(hdr, frag, EVR_MAX_FRAGS, p->mtu,
		                             r->hdr_pool, r->indirect_pool);
	/* Fragments hold their own references to the payload. */
	rte_pktmbuf_free(hdr);
	if (n <= 0) {
		cnt->c[EVR_CNT_FRAG_FAILED]++;
		return;
	}
	cnt->c[EVR_CNT_FRAGMENTED]++;
	cnt->c[EVR_CNT_FRAGMENTS_TX] += (uint64_t)n;
	for (int32_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eth =
			(struct rte_ether_hdr *)rte_pktmbuf_prepend(frag[i], sizeof(*eth));

		if (eth == NULL) {
			cnt->c[EVR_CNT_FRAG_FAILED]++;
			rte_pktmbuf_free(frag[i]);
			continue;
		}
		put_eth(eth, p, dmac, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
		if (!v6) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		frag[i]->ol_flags = 0;
		evr_egress_frame(w, pi, frag[i]);
	}
}

void evr_egress_send_resolved(struct evr_worker *w, struct rte_mbuf *hdr, unsigned pi,
                          const struct rte_ether_addr *dmac)
{
	struct evr_router *r = w->r;
	struct evr_port *p = &r->ports[pi];
	struct evr_tx_meta *meta = evr_meta(hdr);
	uint32_t ulen = hdr->pkt_len + (uint32_t)sizeof(struct rte_udp_hdr);
	struct rte_ether_hdr *eth;
	struct rte_udp_hdr *udp;

	if (meta->kind == EVR_TXK_UDP4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)
			rte_pktmbuf_prepend(hdr, sizeof(*ip) + sizeof(*udp));

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = 0;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(ulen + sizeof(*ip)));
		/* Unique per source across workers: fragments of two
		 * notifications must never share an ID. */
		ip->packet_id = rte_cpu_to_be_16((uint16_t)(w->ip_id++ * r->n_workers + w->id));
		ip->fragment_offset = 0;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->hdr_checksum = 0;
		ip->src_addr = p->ip4;
		ip->dst_addr = meta->dst4;
		udp = (struct rte_udp_hdr *)(ip + 1);
		udp->src_port = meta->sport;
		udp->dst_port = meta->dport;
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)ulen);
		udp->dgram_cksum = 0;
		udp->dgram_cksum = udp_sum(rte_ipv4_phdr_cksum(ip, 0), udp, meta->psum);
		if (ulen + sizeof(*ip) > p->mtu) {
			tx_fragments(w, pi, hdr, dmac, false);
			return;
		}
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(hdr, sizeof(*eth));
		put_eth(eth, p, dmac, RTE_ETHER_TYPE_IPV4);
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)
			rte_pktmbuf_prepend(hdr, sizeof(*ip6) + sizeof(*udp));

		ip6->vtc_flow = RTE_BE32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)ulen);
		ip6->proto = IPPROTO_UDP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, evr_host_src6(p, meta->dst6), 16);
		memcpy(ip6->dst_addr, meta->dst6, 16);
		udp = (struct rte_udp_hdr *)(ip6 + 1);
		udp->src_port = meta->sport;
		udp->dst_port = meta->dport;
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)ulen);
		udp->dgram_cksum = 0;
		udp->dgram_cksum = udp_sum(rte_ipv6_phdr_cksum(ip6, 0), udp, meta->psum);
		if (ulen + sizeof(*ip6) > p->mtu) {
			tx_fragments(w, pi, hdr, dmac, true);
			return;
		}
		eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(hdr, sizeof(*eth));
		put_eth(eth, p, dmac, RTE_ETHER_TYPE_IPV6);
	}
	evr_egress_frame(w, pi, hdr);
}

/* ---- routing and resolution ----------------------------------------- */

/* Egress port index and next-hop key, or -1 (no route). */
static int route(const struct evr_router *r, const struct evr_tx_meta *meta,
                 uint8_t key[16])
{
	if (meta->kind == EVR_TXK_UDP4) {
		for (unsigned i = 0; i < r->n_ports; i++) {
			const struct evr_port *p = &r->ports[i];

			if (p->has4 && ((meta->dst4 ^ p->ip4) & p->mask4) == 0) {
				evr_neigh_key4(key, meta->dst4);
				return (int)i;
			}
		}
		for (unsigned i = 0; i < r->n_ports; i++)
			if (r->ports[i].has_gw4) {
				evr_neigh_key4(key, r->ports[i].gw4);
				return (int)i;
			}
		return -1;
	}
	for (unsigned i = 0; i < r->n_ports; i++) {
		if (evr_port_onlink6(&r->ports[i], meta->dst6)) {
			memcpy(key, meta->dst6, 16);
			return (int)i;
		}
	}
	for (unsigned i = 0; i < r->n_ports; i++)
		if (r->ports[i].has_gw6) {
			memcpy(key, r->ports[i].gw6, 16);
			return (int)i;
		}
	return -1;
}

static void solicit(struct evr_worker *w, unsigned pi, uint32_t slot)
{
	struct evr_router *r = w->r;
	const struct evr_neigh_entry *e = &r->neigh->e[slot];
	struct rte_mbuf *m;

	if (e->v6) {
		m = evr_host_nd_solicit(r, pi, e->key);
		w->cnt[pi].c[EVR_CNT_ND_NS_TX] += m != NULL;
	} else {
		rte_be32_t ip;

		memcpy(&ip, e->key + 12, 4);
		m = evr_host_arp_request(r, pi, ip);
		w->cnt[pi].c[EVR_CNT_ARP_REQUESTS_TX] += m != NULL;
	}
	if (m == NULL) {
		w->cnt[pi].c[EVR_CNT_POOL_EMPTY]++;
		return;
	}
	evr_egress_frame(w, pi, m);
}

/* Takes over the caller's pin on slot: it is released when the
 * notification leaves the queue (sent, dropped or overflowing). */
static void waiting_push(struct evr_worker *w, struct rte_mbuf *m, uint32_t slot,
                      unsigned pi)
{
	struct evr_waiting *e;

	if (w->waiting_n == w->waiting_cap) {
		w->cnt[pi].c[EVR_CNT_ARP_QUEUE_OVERFLOW]++;
		rte_pktmbuf_free(m);
		evr_neigh_put(w->r->neigh, slot);
		return;
	}
	e = &w->waiting[(w->waiting_head + w->waiting_n) % w->waiting_cap];
	e->m = m;
	e->slot = slot;
	e->port = (uint16_t)pi;
	w->waiting_n++;
	w->waiting_by_slot[slot]++;
}

void evr_egress_notification(struct evr_worker *w, struct rte_mbuf *hdr, uint64_t now)
{
	struct evr_router *r = w->r;
	struct evr_tx_meta *meta = evr_meta(hdr);
	struct rte_ether_addr mac;
	enum evr_neigh_use u;
	uint8_t key[16];
	bool sol, evicted;
	int pi, slot;

	pi = route(r, meta, key);
	if (pi < 0) {
		w->cnt[meta->in_port].c[EVR_CNT_NO_ROUTE]++;
		rte_pktmbuf_free(hdr);
		return;
	}
	slot = evr_neigh_find(r->neigh, (uint16_t)pi, key, true, now, &evicted);
	if (slot < 0) {
		w->cnt[pi].c[EVR_CNT_NEIGH_TABLE_FULL]++;
		rte_pktmbuf_free(hdr);
		return;
	}
	w->cnt[pi].c[EVR_CNT_NEIGH_EVICTED] += evicted;
	if (w->waiting_by_slot[slot]) { /* keep FIFO behind the waiting ones */
		waiting_push(w, hdr, (uint32_t)slot, (unsigned)pi);
		return;
	}
	/* The slot stays pinned until the request is out (solicit reads the
	 * key) and, when waiting, for as long as the notification waits. */
	u = evr_neigh_use(r->neigh, (uint32_t)slot, now, &mac, &sol);
	if (sol)
		solicit(w, (unsigned)pi, (uint32_t)slot);
	switch (u) {
	case EVR_NU_SEND:
		evr_neigh_put(r->neigh, (uint32_t)slot);
		evr_egress_send_resolved(w, hdr, (unsigned)pi, &mac);
		break;
	case EVR_NU_WAIT:
		waiting_push(w, hdr, (uint32_t)slot, (unsigned)pi);
		if (w->waiting_n == 1)
			w->waiting_retry_tsc = now + r->neigh->retry_tsc / 4;
		break;
	case EVR_NU_FAILED:
		evr_neigh_put(r->neigh, (uint32_t)slot);
		w->cnt[pi].c[EVR_CNT_ARP_UNRESOLVED]++;
		rte_pktmbuf_free(hdr);
		break;
	}
}

/* Walk the waiting notifications once, in order: send what resolved, drop
 * what failed, keep the rest (rotating through the ring keeps their order). */
void evr_egress_waiting(struct evr_worker *w, uint64_t now, bool drop_all)
{
	struct evr_router *r = w->r;
	uint32_t n = w->waiting_n;

	w->neigh_gen_seen = evr_neigh_gen(r->neigh);
	w->waiting_retry_tsc = now + r->neigh->retry_tsc / 4;
	for (uint32_t i = 0; i < n; i++) {
		struct evr_waiting e = w->waiting[w->waiting_head];
		struct rte_ether_addr mac;
		enum evr_neigh_use u;
		bool sol = false;

		w->waiting_head = (w->waiting_head + 1) % w->waiting_cap;
		w->waiting_n--;
		if (drop_all) {
			w->waiting_by_slot[e.slot]--;
			evr_neigh_put(r->neigh, e.slot);
			w->cnt[e.port].c[EVR_CNT_SHUTDOWN_DROPPED]++;
			rte_pktmbuf_free(e.m);
			continue;
		}
		u = evr_neigh_use(r->neigh, e.slot, now, &mac, &sol);
		if (sol)
			solicit(w, e.port, e.slot);
		switch (u) {
		case EVR_NU_SEND:
			w->waiting_by_slot[e.slot]--;
			evr_neigh_put(r->neigh, e.slot);
			evr_egress_send_resolved(w, e.m, e.port, &mac);
			break;
		case EVR_NU_FAILED:
			w->waiting_by_slot[e.slot]--;
			evr_neigh_put(r->neigh, e.slot);
			w->cnt[e.port].c[EVR_CNT_ARP_UNRESOLVED]++;
			rte_pktmbuf_free(e.m);
			break;
		case EVR_NU_WAIT:
			w->waiting[(w->waiting_head + w->waiting_n) % w->waiting_cap] = e;
			w->waiting_n++;
			break;
		}
	}
}

/* ---- unix: and esl: (control thread) ---------------------------------- */

/*
 * unix: destinations get their datagram from the control thread, on one
 * non-blocking kernel socket it opens at its first send: a full receiver
 * or a missing path is a counted failure (unix_failed), never a wait.
 * Workers never send here; they queue unix: descriptors on unix_ring.
 */
static int unix_send(struct evr_router *r, const struct evr_dest *d, const void *buf,
                     size_t len)
{
	if (d->kind != EVR_DEST_UNIX)
		return -EINVAL;
	if (r->unix_fd < 0) {
		r->unix_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (r->unix_fd < 0)
			return -errno;
	}
	if (sendto(r->unix_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, &d->addr.sa,
	           d->salen) < 0)
		return -errno;
	return 0;
}

/* esl: descriptors go to the ESL server of the control plane (its
 * per-connection queues, filters and formats; control/evr_esl.c). */
void evr_egress_local_send(struct evr_router *r, struct rte_mbuf *hdr,
                           struct evr_counters *cnt)
{
	struct evr_dest d;
	struct rte_mbuf *pay = hdr->next;
	const void *data;
	int rc;

	memcpy(&d, rte_pktmbuf_mtod(hdr, const void *), sizeof(d));
	data = rte_pktmbuf_read(pay, 0, pay->pkt_len, r->ctl_notifier.encbuf);
	if (d.kind == EVR_DEST_ESL) {
		rc = r->esl_deliver ? r->esl_deliver(r->esl_ctx, d.addr.esl_conn, data,
		                                     pay->pkt_len)
		                    : -ENOTCONN;
		cnt->c[rc < 0 ? EVR_CNT_ESL_FAILED : EVR_CNT_ESL_HANDED]++;
	} else {
		rc = unix_send(r, &d, data, pay->pkt_len);
		cnt->c[rc < 0 ? EVR_CNT_UNIX_FAILED : EVR_CNT_UNIX_SENT]++;
	}
	rte_pktmbuf_free(hdr);
}

void evr_egress_unix_close(struct evr_router *r)
{
	if (r->unix_fd >= 0)
		close(r->unix_fd);
	r->unix_fd = -1;
}
