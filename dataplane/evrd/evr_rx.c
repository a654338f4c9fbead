/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: rx - L2-L4 classification of received frames.
 *
 * evrd accepts frames for its MAC (plus broadcast and the IPv6 multicast
 * it listens to), hands ARP, ICMP and ND to the host protocols
 * (evr_host.c; their replies go out through egress on the same port), and
 * returns UDP datagrams for a configured listener port, or SIP observed on
 * a mirror port, to the worker with their rx kind (evr_rx.h). IP fragments
 * are reassembled here. Everything else is counted and dropped.
 *
 * Headers must sit in the first segment (every PMD puts at least the first
 * 2 KB there); a UDP payload may continue into further segments (scatter
 * RX, reassembled datagrams), and the caller linearises those (evr_rx_view).
 * Checksums are verified in software unless the PMD says it did so
 * (RTE_MBUF_F_RX_*_CKSUM_GOOD/BAD).
 *
 * Thread context: worker lcores; evr_rx_map_listeners on the main thread
 * at start-up.
 */
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "evr_config.h"
#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_host.h"
#include "evr_rx.h"

void evr_rx_map_listeners(struct evr_router *r, const struct evr_config *cfg)
{
	r->n_listeners = cfg->n_listeners < EVR_RX_MAX_LISTENERS ? cfg->n_listeners
	                                                          : EVR_RX_MAX_LISTENERS;
	for (uint32_t i = 0; i < r->n_listeners; i++) {
		uint32_t f = cfg->listeners[i].format;
		struct evr_rx_listener *l = &r->listeners[cfg->listeners[i].port];
		const struct evr_cfg_strlist *al = &cfg->listeners[i].allow;
		struct evr_rx_allow *a = &r->allow[i];

		l->id = (uint8_t)i;
		a->port = (uint16_t)cfg->listeners[i].port;
		a->n = 0;
		a->v = al->n ? calloc(al->n, sizeof(*a->v)) : NULL;
		if (a->v)
			for (uint32_t k = 0; k < al->n; k++)
				if (evr_cidr_parse(al->v[k], &a->v[a->n]) == 0) /* checked by config */
					a->n++;
		if (al->n && a->n == 0) {
			/* out of memory at start: take no source rather than any */
			static struct evr_cidr nothing = {.family = 0};

			a->v = &nothing;
			a->n = 1;
		}

		if (f == EVR_CFG_LISTEN_SIP) {
			l->kind = EVR_RX_SIP;
		} else if (f == EVR_CFG_LISTEN_HEP) {
			l->kind = EVR_RX_HEP;
		} else if (f == EVR_CFG_LISTEN_FS_MULTICAST) {
			struct evr_fs_mcast_listener *fl;

			l->kind = EVR_RX_EVENT;
			l->format = EVR_RX_FMT_FS_MCAST;
			fl = realloc(r->fsm, (r->n_fsm + 1) * sizeof(*fl));
			if (!fl)
				continue; /* the port then decodes nothing: EAL dies soon anyway */
			r->fsm = fl;
			fl = &r->fsm[r->n_fsm++];
			memset(fl, 0, sizeof(*fl));
			fl->port = (uint16_t)cfg->listeners[i].port;
			if (strchr(cfg->listeners[i].group, ':'))
				fl->has_group6 = inet_pton(AF_INET6, cfg->listeners[i].group,
				                           fl->group6) == 1;
			else if (cfg->listeners[i].group[0])
				evr_cfg_parse_ip4(cfg->listeners[i].group, &fl->group);
			fl->has_psk = cfg->listeners[i].psk[0] &&
			              evr_fs_mcast_psk_init(&fl->psk, cfg->listeners[i].psk) == 0;
		} else {
			l->kind = EVR_RX_EVENT;
			l->format = (uint8_t)f; /* enum evr_format, AUTO allowed */
		}
		if (l->kind != EVR_RX_EVENT)
			r->has_sip = true;
	}
}

/* Is dst (network order) the group of an fs_multicast listener? */
static inline bool fsm_group(const struct evr_router *r, uint32_t dst)
{
	for (unsigned i = 0; i < r->n_fsm; i++)
		if (r->fsm[i].group && r->fsm[i].group == dst)
			return true;
	return false;
}

/*
 * May this source send to listener lk (listeners[].allow)? Without a list,
 * the sources on the receiving port's link: its IPv4 subnet, or its IPv6
 * prefix and link-local. Only a packet that passed the IP checks gets
 * here, so the cost is a mask compare, or a short CIDR walk where an
 * operator listed networks.
 */
static inline bool source_allowed(const struct evr_worker *w, const struct evr_port *p,
                                  struct evr_rx_listener lk, int family, const void *src)
{
	const struct evr_rx_allow *a = &w->r->allow[lk.id];

	if (a->n == 0) {
		if (family == AF_INET) {
			rte_be32_t s;

			memcpy(&s, src, sizeof(s));
			return p->has4 && ((s ^ p->ip4) & p->mask4) == 0;
		}
		return evr_port_onlink6(p, src);
	}
	for (uint32_t i = 0; i < a->n; i++)
		if (evr_cidr_contains(&a->v[i], family, src))
			return true;
	return false;
}

/* Drop (counted per port and per listener) a datagram from a source its
 * listener does not take. */
static inline bool source_refused(struct evr_worker *w, unsigned pi, struct evr_rx_listener lk,
                                  int family, const void *src)
{
	if (likely(source_allowed(w, &w->r->ports[pi], lk, family, src)))
		return false;
	evr_count(w, pi, EVR_CNT_RX_SOURCE_REFUSED);
	w->source_refused[lk.id]++;
	return true;
}

/* Is dst an IPv6 group of an fs_multicast listener? */
static inline bool fsm_group6(const struct evr_router *r, const uint8_t *dst)
{
	if (dst[0] != 0xff)
		return false;
	for (unsigned i = 0; i < r->n_fsm; i++)
		if (r->fsm[i].has_group6 && memcmp(r->fsm[i].group6, dst, 16) == 0)
			return true;
	return false;
}

static inline bool sip_port(const struct evr_router *r, uint16_t port)
{
	return (r->sip_ports[port >> 6] >> (port & 63)) & 1;
}

/* A host-protocol reply (or none) leaves on the port it answers. */
static inline void reply(struct evr_worker *w, unsigned pi, struct rte_mbuf *m)
{
	if (m != NULL)
		evr_egress_frame(w, pi, m);
}

/* ---- fragments ------------------------------------------------------ */

/* Counts what the reassembly table dropped during one call (its stats are
 * cumulative, per worker) on port pi. */
void evr_rx_count_reasm(struct evr_worker *w, unsigned pi, const struct evr_reasm_stats *before)
{
	const struct evr_reasm_stats *st = evr_reasm_stats(w->reasm);
	uint64_t inv = st->invalid - before->invalid, dup = st->duplicate - before->duplicate;
	uint64_t tmo = st->timeout - before->timeout, evi = st->evicted - before->evicted;
	uint64_t *c = w->cnt[pi].c;

	c[EVR_CNT_RX_FRAG_INVALID] += inv;
	c[EVR_CNT_RX_FRAG_DUPLICATE] += dup;
	c[EVR_CNT_RX_FRAG_TIMEOUT] += tmo;
	c[EVR_CNT_RX_FRAG_EVICTED] += evi;
	c[EVR_CNT_RX_FRAG_DROPPED] += inv + dup + tmo + evi;
}

/* Payload bytes a fragment carries: its IP length less its headers
 * (l3_len: the IPv4 header, or IPv6's fixed and fragment headers). */
static uint32_t frag_payload(const struct rte_mbuf *f, bool v6)
{
	const void *ip = rte_pktmbuf_mtod_offset(f, const void *, f->l2_len);

	if (v6)
		return sizeof(struct rte_ipv6_hdr) +
		       rte_be_to_cpu_16(((const struct rte_ipv6_hdr *)ip)->payload_len) - f->l3_len;
	return rte_be_to_cpu_16(((const struct rte_ipv4_hdr *)ip)->total_length) - f->l3_len;
}

/* Join the fragments of a complete datagram (offset order) into one mbuf
 * chain: the first keeps its Ethernet and IP headers, the others give
 * their payload only; trailing Ethernet padding goes. The IP header then
 * describes the whole datagram (IPv4: length, no fragment bits, checksum;
 * IPv6: payload length, fragment header removed), as the rest of the RX
 * path expects of an unfragmented one. NULL when a fragment is unusable
 * (counted; all freed). */
static struct rte_mbuf *reasm_join(struct evr_worker *w, unsigned pi,
                                   const struct evr_reasm_out *o, bool v6)
{
	struct rte_mbuf *h = o->frags[0];
	uint32_t l2 = h->l2_len, hl = h->l3_len;
	uint32_t i;

	for (i = 0; i < o->n; i++) {
		struct rte_mbuf *f = o->frags[i];
		uint32_t keep = f->l2_len + f->l3_len + frag_payload(f, v6);

		if (f->pkt_len < keep || (f->pkt_len > keep && rte_pktmbuf_trim(f, (uint16_t)(f->pkt_len - keep)) != 0))
			break;
		if (i == 0)
			continue;
		if (rte_pktmbuf_adj(f, (uint16_t)(f->l2_len + f->l3_len)) == NULL ||
		    rte_pktmbuf_chain(h, f) != 0)
			break;
	}
	if (i < o->n || (!v6 && hl + o->total > UINT16_MAX)) {
		/* h holds frags[1..i) already; free it and what was not chained */
		for (uint32_t j = i; j < o->n; j++)
			rte_pktmbuf_free(o->frags[j]);
		rte_pktmbuf_free(h);
		w->cnt[pi].c[EVR_CNT_RX_FRAG_INVALID] += o->n;
		w->cnt[pi].c[EVR_CNT_RX_FRAG_DROPPED] += o->n;
		return NULL;
	}
	if (v6) {
		struct rte_ipv6_hdr *ip6 = rte_pktmbuf_mtod_offset(h, struct rte_ipv6_hdr *, l2);
		struct rte_ipv6_fragment_ext *fh = (struct rte_ipv6_fragment_ext *)(ip6 + 1);

		ip6->proto = fh->next_header;
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)o->total);
		/* slide Ethernet + IPv6 headers over the fragment header */
		memmove(rte_pktmbuf_mtod_offset(h, char *, sizeof(*fh)),
		        rte_pktmbuf_mtod(h, char *), l2 + sizeof(*ip6));
		rte_pktmbuf_adj(h, sizeof(*fh));
		h->l3_len = sizeof(*ip6);
	} else {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(h, struct rte_ipv4_hdr *, l2);

		ip->total_length = rte_cpu_to_be_16((uint16_t)(hl + o->total));
		ip->fragment_offset &= RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	return h;
}

/* Hand a fragment to the worker's reassembly table (evr_reasm: every
 * fragment, IPv4 and IPv6, any count up to a 65,535-byte datagram; see
 * evr_reasm.h for why not librte_ip_frag). Returns the whole datagram
 * (headers of the first fragment, payload chained) or NULL when the
 * fragment was kept or dropped (counted). Fragments of one datagram hash
 * alike under RSS (fragments carry no ports, so NICs hash them on
 * addresses only), so one worker sees them all. */
static struct rte_mbuf *reassemble(struct evr_worker *w, unsigned pi,
                                   struct rte_mbuf *m, uint32_t l2, uint32_t l3len,
                                   void *ip, struct rte_ipv6_fragment_ext *fh)
{
	struct evr_reasm_stats before;
	struct evr_reasm_key k;
	struct evr_reasm_out o;
	uint32_t off, len, max;
	enum evr_reasm_rc rc;
	bool more;

	evr_count(w, pi, EVR_CNT_RX_FRAGMENTS);
	if (w->reasm == NULL) {
		evr_count(w, pi, EVR_CNT_RX_FRAG_DROPPED);
		evr_count(w, pi, EVR_CNT_RX_FRAG_OFF);
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(&k, 0, sizeof(k));
	k.port = (uint16_t)pi;
	if (fh) {
		const struct rte_ipv6_hdr *ip6 = ip;
		uint16_t fd = rte_be_to_cpu_16(fh->frag_data);

		memcpy(k.src, ip6->src_addr, 16);
		memcpy(k.dst, ip6->dst_addr, 16);
		k.id = fh->id;
		k.v6 = 1;
		off = fd & 0xfff8u; /* offset in 8-byte units, 3 bits left */
		more = fd & 1u;
		len = (uint32_t)sizeof(*ip6) + rte_be_to_cpu_16(ip6->payload_len) - l3len;
		max = EVR_REASM_MAX_LEN; /* payload length: no jumbograms */
	} else {
		const struct rte_ipv4_hdr *ip4 = ip;
		uint16_t fo = rte_be_to_cpu_16(ip4->fragment_offset);

		k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
		memcpy(k.src + 12, &ip4->src_addr, 4);
		memcpy(k.dst + 12, &ip4->dst_addr, 4);
		k.id = ip4->packet_id;
		k.proto = ip4->next_proto_id;
		off = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;
		more = (fo & RTE_IPV4_HDR_MF_FLAG) != 0;
		len = rte_be_to_cpu_16(ip4->total_length) - l3len;
		max = EVR_REASM_MAX_LEN - l3len; /* total length 65,535 */
	}
	m->l2_len = l2;
	m->l3_len = l3len;
	before = *evr_reasm_stats(w->reasm);
	rc = evr_reasm_add(w->reasm, &k, off, len, more, max, m, rte_rdtsc(), &o);
	evr_rx_count_reasm(w, pi, &before);
	if (rc != EVR_REASM_DONE)
		return NULL;
	m = reasm_join(w, pi, &o, fh != NULL);
	if (m)
		evr_count(w, pi, EVR_CNT_RX_REASSEMBLED);
	return m;
}

/* ---- IPv4 / IPv6 / UDP --------------------------------------------- */

static void flow4(struct evr_rx_dgram *d, const struct rte_ipv4_hdr *ip,
                  const struct rte_udp_hdr *udp)
{
	memset(&d->flow, 0, sizeof(d->flow));
	d->flow.family = 4;
	memcpy(d->flow.src, &ip->src_addr, 4);
	memcpy(d->flow.dst, &ip->dst_addr, 4);
	d->flow.sport = rte_be_to_cpu_16(udp->src_port);
	d->flow.dport = rte_be_to_cpu_16(udp->dst_port);
}

static void flow6(struct evr_rx_dgram *d, const struct rte_ipv6_hdr *ip6,
                  const struct rte_udp_hdr *udp)
{
	d->flow.family = 6;
	memcpy(d->flow.src, ip6->src_addr, 16);
	memcpy(d->flow.dst, ip6->dst_addr, 16);
	d->flow.sport = rte_be_to_cpu_16(udp->src_port);
	d->flow.dport = rte_be_to_cpu_16(udp->dst_port);
	d->flow.ts_us = 0;
}

/* Observed on a mirror port: SIP iff either UDP port is a SIP port. The
 * UDP checksum is not verified: a passive copy is often taken before the
 * sender's checksum offload filled it in, and the endpoints judge. */
static bool mirror_udp(struct evr_worker *w, unsigned pi,
                       const struct rte_udp_hdr *udp)
{
	if (sip_port(w->r, rte_be_to_cpu_16(udp->src_port)) ||
	    sip_port(w->r, rte_be_to_cpu_16(udp->dst_port)))
		return true;
	evr_count(w, pi, EVR_CNT_MIRROR_NOT_SIP);
	return false;
}

/* The rx kind of a UDP datagram, EVR_RX_NONE when it is dropped
 * (counted): observed on a mirror port it is SIP or nothing; else its
 * listener's. */
static struct evr_rx_listener udp_kind(struct evr_worker *w, unsigned pi,
                                       const struct rte_udp_hdr *udp, bool observe)
{
	static const struct evr_rx_listener none = {EVR_RX_NONE, 0, 0};
	static const struct evr_rx_listener mirror = {EVR_RX_MIRROR, 0, 0};
	struct evr_rx_listener l;

	if (observe)
		return mirror_udp(w, pi, udp) ? mirror : none;
	l = w->r->listeners[rte_be_to_cpu_16(udp->dst_port)];
	if (l.kind == EVR_RX_NONE)
		evr_count(w, pi, EVR_CNT_RX_NO_LISTENER);
	return l;
}

/*
 * The UDP header at offset l4 with room bytes of IP payload behind it (the
 * IP header's own length): its length checked against both, then the
 * listener it is for (udp_kind counts a miss). The checksum is the
 * family's, so the callers check it. NULL: drop (counted).
 */
static inline struct rte_udp_hdr *udp_header(struct evr_worker *w, unsigned pi,
                                             const struct rte_mbuf *m, uint32_t l4,
                                             uint32_t room, bool observe, uint32_t *ulen,
                                             struct evr_rx_listener *lk)
{
	struct rte_udp_hdr *udp;

	if (room < sizeof(*udp) || l4 + sizeof(*udp) > m->data_len)
		goto bad;
	udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, l4);
	*ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (*ulen < sizeof(*udp) || *ulen > room)
		goto bad;
	*lk = udp_kind(w, pi, udp, observe);
	return lk->kind == EVR_RX_NONE ? NULL : udp;
bad:
	evr_count(w, pi, EVR_CNT_RX_BAD_UDP_HEADER);
	return NULL;
}

/* The datagram's payload and what it is for. */
static inline void dgram_set(struct evr_rx_dgram *d, struct evr_rx_listener lk,
                             const struct rte_udp_hdr *udp, uint32_t l4, uint32_t ulen)
{
	d->kind = lk.kind;
	d->format = lk.format;
	d->off = l4 + (uint32_t)sizeof(*udp);
	d->len = ulen - (uint32_t)sizeof(*udp);
	d->lport = udp->dst_port;
}

static bool rx_ip4(struct evr_worker *w, unsigned pi, struct rte_mbuf **mp,
                   struct rte_ether_hdr *eth, uint32_t l2, bool observe,
                   struct evr_rx_dgram *d)
{
	struct evr_port *p = &w->r->ports[pi];
	struct rte_mbuf *m = *mp;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint32_t hl, tot, ulen;
	uint64_t ck;
	bool mcast;
	struct evr_rx_listener lk;

	if (m->data_len < l2 + sizeof(*ip))
		goto bad_hdr;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
	hl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;
	tot = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || hl < sizeof(*ip) || tot < hl ||
	    l2 + hl > m->data_len)
		goto bad_hdr;
	/* A sound header whose datagram runs past the frame was cut on
	 * receive (af_packet frame size, mbuf data room): say so. */
	if (l2 + tot > m->pkt_len)
		goto truncated;
	ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, hl) != 0xffff)) {
		evr_count(w, pi, EVR_CNT_RX_BAD_IP_CHECKSUM);
		goto drop;
	}
	mcast = !observe && fsm_group(w->r, ip->dst_addr);
	/* IGMP queries come to all-hosts (224.0.0.1) or to the group */
	if (!observe && w->r->n_fsm && ip->next_proto_id == IPPROTO_IGMP &&
	    (mcast || ip->dst_addr == RTE_BE32(RTE_IPV4(224, 0, 0, 1)))) {
		evr_host_igmp4(w, pi, m, ip, l2, hl, tot);
		return false;
	}
	if (!observe && !mcast && (!p->has4 || ip->dst_addr != p->ip4)) {
		if (!p->mirror) {
			evr_count(w, pi, EVR_CNT_RX_NOT_FOR_US);
			goto drop;
		}
		observe = true;
		evr_count(w, pi, EVR_CNT_MIRROR_OBSERVED);
	}
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		m = reassemble(w, pi, m, l2, hl, ip, NULL);
		if (m == NULL)
			return false;
		*mp = m;
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
		hl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4; /* first fragment's */
		tot = rte_be_to_cpu_16(ip->total_length);
		if (l2 + tot > m->pkt_len)
			goto bad_hdr;
	}
	if (observe && ip->next_proto_id != IPPROTO_UDP) {
		evr_count(w, pi, EVR_CNT_MIRROR_NOT_SIP);
		goto drop;
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		reply(w, pi, evr_host_icmp4(w, pi, m, eth, ip, l2, hl, tot));
		return false;
	}
	if (ip->next_proto_id != IPPROTO_UDP) {
		evr_count(w, pi, EVR_CNT_RX_UNKNOWN_L4);
		goto drop;
	}
	udp = udp_header(w, pi, m, l2 + hl, tot >= hl ? tot - hl : 0, observe, &ulen, &lk);
	if (udp == NULL)
		goto drop;
	ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (!observe && udp->dgram_cksum != 0 && p->verify_udp &&
	    (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	     (ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	      rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, (uint16_t)(l2 + hl)) != 0))) {
		evr_count(w, pi, EVR_CNT_RX_BAD_UDP_CHECKSUM);
		goto drop;
	}
	/* a group datagram is for its mod_event_multicast listener only */
	if (mcast && lk.format != EVR_RX_FMT_FS_MCAST) {
		evr_count(w, pi, EVR_CNT_RX_NOT_FOR_US);
		goto drop;
	}
	if (!observe && source_refused(w, pi, lk, AF_INET, &ip->src_addr))
		goto drop;
	dgram_set(d, lk, udp, l2 + hl, ulen);
	if (d->kind != EVR_RX_EVENT)
		flow4(d, ip, udp);
	return true;

bad_hdr:
	evr_count(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
	goto drop;
truncated:
	evr_count(w, pi, EVR_CNT_RX_TRUNCATED);
drop:
	rte_pktmbuf_free(m);
	return false;
}

static bool rx_ip6(struct evr_worker *w, unsigned pi, struct rte_mbuf **mp,
                   struct rte_ether_hdr *eth, uint32_t l2, bool observe,
                   struct evr_rx_dgram *d)
{
	struct evr_port *p = &w->r->ports[pi];
	struct rte_mbuf *m = *mp;
	struct rte_ipv6_hdr *ip6;
	struct rte_udp_hdr *udp;
	uint32_t plen, ulen;
	uint64_t ck;
	bool mcast;
	struct evr_rx_listener lk;

	if (m->data_len < l2 + sizeof(*ip6)) {
		evr_count(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
		goto drop;
	}
	ip6 = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l2);
	plen = rte_be_to_cpu_16(ip6->payload_len);
	if ((rte_be_to_cpu_32(ip6->vtc_flow) >> 28) != 6) {
		evr_count(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
		goto drop;
	}
	if (l2 + sizeof(*ip6) + plen > m->pkt_len) {
		/* cut on receive, as in rx_ip4 */
		evr_count(w, pi, EVR_CNT_RX_TRUNCATED);
		goto drop;
	}
	mcast = !observe && w->r->n_fsm && fsm_group6(w->r, ip6->dst_addr);
	/* MLD queries (behind a Hop-by-Hop header with Router Alert) come to
	 * all-nodes or to the group */
	if (!observe && w->r->n_fsm && p->has6 && ip6->proto == IPPROTO_HOPOPTS &&
	    (mcast || memcmp(ip6->dst_addr, evr_host_all_nodes6, 16) == 0)) {
		evr_host_mld6(w, pi, m, ip6, l2, plen);
		return false;
	}
	if (!observe && !mcast &&
	    (!p->has6 ||
	     !evr_host_accepts6(p, ip6->dst_addr))) {
		if (!p->mirror) {
			evr_count(w, pi, EVR_CNT_RX_NOT_FOR_US);
			goto drop;
		}
		observe = true;
		evr_count(w, pi, EVR_CNT_MIRROR_OBSERVED);
	}
	if (observe && ip6->proto != IPPROTO_UDP && ip6->proto != IPPROTO_FRAGMENT) {
		evr_count(w, pi, EVR_CNT_MIRROR_NOT_SIP);
		goto drop;
	}
	if (ip6->proto == IPPROTO_ICMP6) {
		reply(w, pi, evr_host_icmp6(w, pi, m, eth, ip6, l2, plen));
		return false;
	}
	if (ip6->proto == IPPROTO_FRAGMENT) {
		struct rte_ipv6_fragment_ext *fh;

		if (l2 + sizeof(*ip6) + sizeof(*fh) > m->data_len || plen < sizeof(*fh)) {
			evr_count(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
			goto drop;
		}
		fh = (struct rte_ipv6_fragment_ext *)(ip6 + 1); /* follows the fixed header */
		m = reassemble(w, pi, m, l2, sizeof(*ip6) + sizeof(*fh), ip6, fh);
		if (m == NULL)
			return false;
		*mp = m;
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		ip6 = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l2);
		plen = rte_be_to_cpu_16(ip6->payload_len);
		if (l2 + sizeof(*ip6) + plen > m->pkt_len) {
			evr_count(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
			goto drop;
		}
	}
	if (observe && ip6->proto != IPPROTO_UDP) {
		evr_count(w, pi, EVR_CNT_MIRROR_NOT_SIP);
		goto drop;
	}
	if (ip6->proto == IPPROTO_ICMP6) {
		/* only reachable after reassembly: echo with a big payload */
		reply(w, pi, evr_host_icmp6(w, pi, m, eth, ip6, l2, plen));
		return false;
	}
	if (ip6->proto != IPPROTO_UDP) {
		bool ext = ip6->proto == IPPROTO_HOPOPTS || ip6->proto == IPPROTO_ROUTING ||
		           ip6->proto == IPPROTO_DSTOPTS || ip6->proto == 135 /* mobility */;

		evr_count(w, pi, ext ? EVR_CNT_RX_IPV6_EXT_HEADER : EVR_CNT_RX_UNKNOWN_L4);
		goto drop;
	}
	if (!observe && !mcast && !evr_host_ours6(p, ip6->dst_addr)) { /* UDP to all-nodes... */
		evr_count(w, pi, EVR_CNT_RX_NOT_FOR_US);
		goto drop;
	}
	udp = udp_header(w, pi, m, l2 + (uint32_t)sizeof(*ip6), plen, observe, &ulen, &lk);
	if (udp == NULL)
		goto drop;
	/* Over IPv6 the UDP checksum is mandatory (RFC 8200 8.1). */
	ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (!observe &&
	    (udp->dgram_cksum == 0 ||
	     (p->verify_udp && ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) ||
	     (p->verify_udp && ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	      rte_ipv6_udptcp_cksum_mbuf_verify(m, ip6, (uint16_t)(l2 + sizeof(*ip6))) != 0))) {
		evr_count(w, pi, EVR_CNT_RX_BAD_UDP_CHECKSUM);
		goto drop;
	}
	/* a group datagram is for its mod_event_multicast listener only */
	if (mcast && lk.format != EVR_RX_FMT_FS_MCAST) {
		evr_count(w, pi, EVR_CNT_RX_NOT_FOR_US);
		goto drop;
	}
	if (!observe && source_refused(w, pi, lk, AF_INET6, ip6->src_addr))
		goto drop;
	dgram_set(d, lk, udp, l2 + (uint32_t)sizeof(*ip6), ulen);
	if (d->kind != EVR_RX_EVENT)
		flow6(d, ip6, udp);
	return true;
drop:
	rte_pktmbuf_free(m);
	return false;
}

/* ---- entry ---------------------------------------------------------- */

bool evr_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf **mp,
                struct evr_rx_dgram *d)
{
	struct evr_port *p = &w->r->ports[pi];
	struct rte_mbuf *m = *mp;
	struct rte_ether_hdr *eth;
	uint32_t l2 = sizeof(*eth);
	rte_be16_t et;
	bool observe = false;

	w->cnt[pi].c[EVR_CNT_RX_PACKETS]++;
	w->cnt[pi].c[EVR_CNT_RX_BYTES] += m->pkt_len;
	if (m->data_len < sizeof(*eth)) {
		evr_count(w, pi, EVR_CNT_RX_RUNT);
		goto drop;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
		if (!rte_is_same_ether_addr(&eth->dst_addr, &p->mac))
			observe = true;
	} else if (!rte_is_broadcast_ether_addr(&eth->dst_addr) &&
	           !(p->has6 && eth->dst_addr.addr_bytes[0] == 0x33 &&
	             eth->dst_addr.addr_bytes[1] == 0x33) &&
	           /* IPv4 multicast MACs when mod_event_multicast groups are
	            * joined: the group itself is checked at L3 */
	           !(w->r->n_fsm && eth->dst_addr.addr_bytes[0] == 0x01 &&
	             eth->dst_addr.addr_bytes[1] == 0x00 &&
	             eth->dst_addr.addr_bytes[2] == 0x5e)) {
		observe = true;
	}
	if (observe) {
		/* Another host's frame: a mirror port follows its SIP. */
		if (!p->mirror) {
			evr_count(w, pi, EVR_CNT_RX_NOT_FOR_US);
			goto drop;
		}
		evr_count(w, pi, EVR_CNT_MIRROR_OBSERVED);
	}
	et = eth->ether_type;
	if (et == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		struct rte_vlan_hdr *vh;

		if (m->data_len < sizeof(*eth) + sizeof(*vh)) {
			evr_count(w, pi, EVR_CNT_RX_RUNT);
			goto drop;
		}
		vh = (struct rte_vlan_hdr *)(eth + 1);
		et = vh->eth_proto;
		l2 += sizeof(*vh);
		evr_count(w, pi, EVR_CNT_RX_VLAN);
	}
	switch (et) {
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		if (observe) {
			evr_count(w, pi, EVR_CNT_MIRROR_NOT_SIP);
			goto drop;
		}
		reply(w, pi, evr_host_arp(w, pi, m, eth, l2));
		return false;
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		return rx_ip4(w, pi, mp, eth, l2, observe, d);
	case RTE_BE16(RTE_ETHER_TYPE_IPV6):
		return rx_ip6(w, pi, mp, eth, l2, observe, d);
	default:
		evr_count(w, pi, EVR_CNT_RX_UNKNOWN_ETHERTYPE);
		break;
	}
drop:
	rte_pktmbuf_free(m);
	return false;
}
