/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: L2-L4 ingress and the small protocols evrd answers itself.
 *
 * evrd is an IP host, not a router: it accepts frames for its MAC (plus
 * broadcast and the IPv6 multicast it listens to), answers ARP and ND for
 * its addresses, answers ICMP/ICMPv6 echo, and hands UDP datagrams for a
 * configured listener port to the decoder. Everything else is counted and
 * dropped. Replies (ARP, echo) are built in the received mbuf and sent back
 * on the same port from the worker's own TX queue: no allocation, and an
 * 802.1Q tag on the request is kept on the reply.
 *
 * Headers must sit in the first segment (every PMD puts at least the first
 * 2 KB there); a UDP payload may continue into further segments (scatter
 * RX, reassembled datagrams), and the caller linearises those; an ICMP echo
 * body may too (checksummed and answered across the chain). Checksums are verified in software unless
 * the PMD says it did so (RTE_MBUF_F_RX_*_CKSUM_GOOD/BAD).
 *
 * Learning: an ARP request or NS for one of our addresses creates an entry
 * for the sender (it is about to talk to us, and subscribers are often
 * also event sources); replies and unsolicited announcements only refresh
 * entries that exist, so a chatty segment cannot fill the table.
 *
 * Thread context: worker lcores (evr_net_rx); evr_net_arp_request and
 * evr_net_nd_solicit from any lcore with a mempool cache or none.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "evr_dp.h"
#include "evr_neigh.h"

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define IPPROTO_ICMP6 58

struct nd_msg { /* NS and NA share this layout */
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	rte_be32_t flags; /* NA: R S O in the top bits; NS: reserved */
	uint8_t target[16];
} __rte_packed;

#define NA_FLAG_SOLICITED RTE_BE32(0x40000000)
#define NA_FLAG_OVERRIDE RTE_BE32(0x20000000)

static const uint8_t all_nodes6[16] = {0xff, 0x02, [15] = 0x01};

static inline void cnt_inc(struct evr_worker *w, unsigned pi, enum evr_counter c)
{
	w->cnt[pi].c[c]++;
}

static bool is_solicited_node(const uint8_t *a, const uint8_t *ours)
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	return memcmp(a, pfx, 13) == 0 && memcmp(a + 13, ours + 13, 3) == 0;
}

static void solicited_node(uint8_t out[16], const uint8_t *target)
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	memcpy(out, pfx, 13);
	memcpy(out + 13, target + 13, 3);
}

const uint8_t *evr_net_src6(const struct evr_port *p, const uint8_t *dst)
{
	if (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80)
		return p->ll6;
	return p->ip6;
}

/* Raw 16-bit sum of m[off, off+len), which may run over several segments
 * (scatter RX, reassembly); the caller checked off + len <= pkt_len. */
static uint16_t raw_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint16_t s = 0;

	if (off + len <= m->data_len)
		return rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const char *, off), len);
	rte_raw_cksum_mbuf(m, off, len, &s);
	return s;
}

/* Sum of the IPv6 pseudo header and an L4 message at m[off] is 0xffff
 * when intact. */
static bool l4_sum_ok6(const struct rte_ipv6_hdr *ip6, const struct rte_mbuf *m, uint32_t off,
                       uint32_t len)
{
	uint32_t sum = rte_ipv6_phdr_cksum(ip6, 0);

	sum += raw_sum(m, off, len);
	return __rte_raw_cksum_reduce(sum) == 0xffff;
}

static uint16_t l4_cksum6(const struct rte_ipv6_hdr *ip6, const void *l4, uint32_t len)
{
	uint32_t sum = rte_ipv6_phdr_cksum(ip6, 0);
	uint16_t c;

	sum += rte_raw_cksum(l4, len);
	c = (uint16_t)~__rte_raw_cksum_reduce(sum);
	return c == 0 ? 0xffff : c;
}

/* ---- ARP ------------------------------------------------------------ */

/*
 * Learning policy (RFC 826 merge, never create): a sender's MAC only
 * updates an entry we already hold, i.e. an address we are resolving or
 * sending to, and only when the sender is on the port's link. RFC 826
 * would also add the sender of a request for us; Linux does likewise
 * (a STALE entry). We do not: we answer from the frame itself, every
 * entry costs a slot shared with the subscribers we must reach, and a
 * flood of requests (or spoofed off-link senders) must not evict them.
 * The entry we need is created by the TX path and resolved by our own
 * request, or merged from the peer's request if that comes first.
 */
static void learn4(struct evr_worker *w, unsigned pi, const uint8_t key[16],
                   const struct rte_arp_hdr *a)
{
	const struct evr_port *p = &w->r->ports[pi];

	if (a->arp_data.arp_sip == 0 || !rte_is_unicast_ether_addr(&a->arp_data.arp_sha))
		return;
	if (((a->arp_data.arp_sip ^ p->ip4) & p->mask4) != 0) {
		cnt_inc(w, pi, EVR_CNT_NEIGH_LEARN_OFFLINK);
		return;
	}
	if (evr_neigh_learn(w->r->neigh, (uint16_t)pi, key, &a->arp_data.arp_sha,
	                    rte_rdtsc()) != 0)
		cnt_inc(w, pi, EVR_CNT_NEIGH_LEARN_UNNEEDED);
}

static void rx_arp(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                   struct rte_ether_hdr *eth, uint32_t l2)
{
	struct evr_router *r = w->r;
	struct evr_port *p = &r->ports[pi];
	struct rte_arp_hdr *a;
	uint8_t key[16];
	uint16_t op;

	if (m->data_len < l2 + sizeof(*a)) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_ARP);
		goto drop;
	}
	a = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, l2);
	if (a->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_ARP);
		goto drop;
	}
	if (!p->has4) {
		cnt_inc(w, pi, EVR_CNT_RX_ARP_OTHER);
		goto drop;
	}
	op = rte_be_to_cpu_16(a->arp_opcode);
	evr_neigh_key4(key, a->arp_data.arp_sip);
	if (op == RTE_ARP_OP_REQUEST && a->arp_data.arp_tip == p->ip4) {
		cnt_inc(w, pi, EVR_CNT_ARP_REQUESTS_RX);
		learn4(w, pi, key, a);
		/* Turn the request around in place. */
		a->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
		a->arp_data.arp_tha = a->arp_data.arp_sha;
		a->arp_data.arp_tip = a->arp_data.arp_sip;
		a->arp_data.arp_sha = p->mac;
		a->arp_data.arp_sip = p->ip4;
		eth->dst_addr = eth->src_addr;
		eth->src_addr = p->mac;
		cnt_inc(w, pi, EVR_CNT_ARP_REPLIES_TX);
		evr_tx_frame(w, pi, m);
		return;
	}
	if (op == RTE_ARP_OP_REPLY && a->arp_data.arp_tip == p->ip4)
		cnt_inc(w, pi, EVR_CNT_ARP_REPLIES_RX);
	else
		cnt_inc(w, pi, EVR_CNT_RX_ARP_OTHER);
	learn4(w, pi, key, a);
drop:
	rte_pktmbuf_free(m);
}

struct rte_mbuf *evr_net_arp_request(struct evr_router *r, unsigned pi,
                                     rte_be32_t target)
{
	struct evr_port *p = &r->ports[pi];
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->hdr_pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*a));
	a = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	a->arp_data.arp_sha = p->mac;
	a->arp_data.arp_sip = p->ip4;
	memset(&a->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	a->arp_data.arp_tip = target;
	return m;
}

/* ---- fragments ------------------------------------------------------ */

/* Counts what the reassembly table dropped during one call (its stats are
 * cumulative, per worker) on port pi. */
void evr_reasm_count(struct evr_worker *w, unsigned pi, const struct evr_reasm_stats *before)
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

	cnt_inc(w, pi, EVR_CNT_RX_FRAGMENTS);
	if (w->reasm == NULL) {
		cnt_inc(w, pi, EVR_CNT_RX_FRAG_DROPPED);
		cnt_inc(w, pi, EVR_CNT_RX_FRAG_OFF);
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
	evr_reasm_count(w, pi, &before);
	if (rc != EVR_REASM_DONE)
		return NULL;
	m = reasm_join(w, pi, &o, fh != NULL);
	if (m)
		cnt_inc(w, pi, EVR_CNT_RX_REASSEMBLED);
	return m;
}

/* ---- IPv4 ----------------------------------------------------------- */

static void rx_icmp4(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                     struct rte_ether_hdr *eth, struct rte_ipv4_hdr *ip,
                     uint32_t l2, uint32_t hl, uint32_t tot)
{
	struct evr_port *p = &w->r->ports[pi];
	struct rte_icmp_hdr *ic;
	uint32_t len = tot - hl;

	/* The body may span segments (a jumbo echo with scatter RX, or a
	 * reassembled one): only the ICMP header must be in the first. */
	if (len < sizeof(*ic) || l2 + hl + sizeof(*ic) > m->data_len || l2 + tot > m->pkt_len ||
	    raw_sum(m, l2 + hl, len) != 0xffff) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
		goto drop;
	}
	ic = (struct rte_icmp_hdr *)((char *)ip + hl);
	if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0) {
		cnt_inc(w, pi, EVR_CNT_RX_ICMP_OTHER);
		goto drop;
	}
	if (tot > p->mtu) { /* reassembled: we do not fragment replies */
		cnt_inc(w, pi, EVR_CNT_ICMP_ECHO_TOO_BIG);
		goto drop;
	}
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~raw_sum(m, l2 + hl, len);
	ip->dst_addr = ip->src_addr;
	ip->src_addr = p->ip4;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	/* Ethernet padding of a short request must not grow the reply. */
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - (l2 + tot)));
	cnt_inc(w, pi, EVR_CNT_ICMP_ECHO_REPLIES);
	evr_tx_frame(w, pi, m);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* The UDP tuple of a SIP datagram (wall time: the worker's burst). */
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
	if (evr_sip_port(w->r, rte_be_to_cpu_16(udp->src_port)) ||
	    evr_sip_port(w->r, rte_be_to_cpu_16(udp->dst_port)))
		return true;
	cnt_inc(w, pi, EVR_CNT_MIRROR_NOT_SIP);
	return false;
}

/* Listener kind + 1 of a UDP datagram, or 0 when it is dropped (counted):
 * observed on a mirror port it is SIP or nothing; else its listener. */
static uint8_t udp_kind(struct evr_worker *w, unsigned pi, const struct rte_udp_hdr *udp,
                        bool observe)
{
	uint8_t lf;

	if (observe)
		return mirror_udp(w, pi, udp) ? EVR_RX_MIRROR + 1 : 0;
	lf = w->r->listener_fmt[rte_be_to_cpu_16(udp->dst_port)];
	if (lf == 0)
		cnt_inc(w, pi, EVR_CNT_RX_NO_LISTENER);
	return lf;
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
	uint8_t lf;

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
		cnt_inc(w, pi, EVR_CNT_RX_BAD_IP_CHECKSUM);
		goto drop;
	}
	if (!observe && (!p->has4 || ip->dst_addr != p->ip4)) {
		if (!p->mirror) {
			cnt_inc(w, pi, EVR_CNT_RX_NOT_FOR_US);
			goto drop;
		}
		observe = true;
		cnt_inc(w, pi, EVR_CNT_MIRROR_OBSERVED);
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
		cnt_inc(w, pi, EVR_CNT_MIRROR_NOT_SIP);
		goto drop;
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		rx_icmp4(w, pi, m, eth, ip, l2, hl, tot);
		return false;
	}
	if (ip->next_proto_id != IPPROTO_UDP) {
		cnt_inc(w, pi, EVR_CNT_RX_UNKNOWN_L4);
		goto drop;
	}
	if (tot < hl + sizeof(*udp) || l2 + hl + sizeof(*udp) > m->data_len) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_UDP_HEADER);
		goto drop;
	}
	udp = (struct rte_udp_hdr *)((char *)ip + hl);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen < sizeof(*udp) || ulen > tot - hl) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_UDP_HEADER);
		goto drop;
	}
	lf = udp_kind(w, pi, udp, observe);
	if (lf == 0)
		goto drop;
	if (observe)
		goto out;
	ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (udp->dgram_cksum != 0 && p->verify_udp &&
	    (ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	     (ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	      rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, (uint16_t)(l2 + hl)) != 0))) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_UDP_CHECKSUM);
		goto drop;
	}
out:
	d->kind = (uint8_t)(lf - 1);
	d->off = l2 + hl + sizeof(*udp);
	d->len = ulen - (uint32_t)sizeof(*udp);
	d->lport = udp->dst_port;
	if (d->kind >= EVR_CFG_LISTEN_SIP)
		flow4(d, ip, udp);
	return true;

bad_hdr:
	cnt_inc(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
	goto drop;
truncated:
	cnt_inc(w, pi, EVR_CNT_RX_TRUNCATED);
drop:
	rte_pktmbuf_free(m);
	return false;
}

/* ---- IPv6 / ND ------------------------------------------------------ */

/* Find a link-layer address option of `type` in ND options. */
static const struct rte_ether_addr *nd_lladdr(const uint8_t *opt, uint32_t len,
                                              uint8_t type, bool *bad)
{
	const struct rte_ether_addr *found = NULL;

	while (len >= 2) {
		uint32_t olen = (uint32_t)opt[1] * 8;

		if (olen == 0 || olen > len) {
			*bad = true;
			return NULL;
		}
		if (opt[0] == type && olen >= 8)
			found = (const struct rte_ether_addr *)(opt + 2);
		opt += olen;
		len -= olen;
	}
	return found;
}

/* One neighbour-discovery frame (NS or NA) with our link-layer address as
 * its single option: both messages share everything but the addresses, the
 * type, the flags and the option type. */
static struct rte_mbuf *build_nd(struct evr_router *r, unsigned pi,
                                 const struct rte_ether_addr *dmac, const uint8_t *src,
                                 const uint8_t *dst, uint8_t type, rte_be32_t flags,
                                 const uint8_t *target, uint8_t opt_type)
{
	struct evr_port *p = &r->ports[pi];
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->hdr_pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip6;
	struct nd_msg *nd;
	uint8_t *opt;
	const uint32_t l4 = sizeof(*nd) + 8;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*ip6) + l4);
	ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	nd = (struct nd_msg *)(ip6 + 1);
	opt = (uint8_t *)(nd + 1);
	eth->dst_addr = *dmac;
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip6->vtc_flow = RTE_BE32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16((uint16_t)l4);
	ip6->proto = IPPROTO_ICMP6;
	ip6->hop_limits = 255;
	memcpy(ip6->src_addr, src, 16);
	memcpy(ip6->dst_addr, dst, 16);
	nd->type = type;
	nd->code = 0;
	nd->cksum = 0;
	nd->flags = flags;
	memcpy(nd->target, target, 16);
	opt[0] = opt_type;
	opt[1] = 1;
	memcpy(opt + 2, p->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	nd->cksum = l4_cksum6(ip6, nd, l4);
	return m;
}

static struct rte_mbuf *build_na(struct evr_router *r, unsigned pi,
                                 const struct rte_ether_addr *dmac,
                                 const uint8_t *dst, const uint8_t *target,
                                 bool solicited)
{
	return build_nd(r, pi, dmac, target, dst, ND_NA,
	                NA_FLAG_OVERRIDE | (solicited ? NA_FLAG_SOLICITED : 0), target,
	                ND_OPT_TLLA);
}

struct rte_mbuf *evr_net_nd_solicit(struct evr_router *r, unsigned pi,
                                    const uint8_t target[16])
{
	struct evr_port *p = &r->ports[pi];
	struct rte_ether_addr dmac = {{0x33, 0x33}};
	uint8_t dst[16];

	/* to the target's solicited-node multicast group and its MAC */
	solicited_node(dst, target);
	memcpy(&dmac.addr_bytes[2], dst + 12, 4);
	return build_nd(r, pi, &dmac, evr_net_src6(p, target), dst, ND_NS, 0, target,
	                ND_OPT_SLLA);
}

/*
 * ND learning, as learn4(): merge only, on-link only. An NA for an
 * address we hold no entry for is discarded (RFC 4861 7.2.5). An NS
 * from a unicast source updates its entry if we hold one; RFC 4861 7.2.3
 * says a missing entry SHOULD be created (STALE). We deviate for the
 * reason learn4() gives: our NA goes to the frame's source MAC and needs
 * no entry, and a flood of solicitations must not take the slots of the
 * subscribers we have to reach; if we later send to that address, the
 * TX path creates the entry and resolves it (one NS).
 */
static void learn6(struct evr_worker *w, unsigned pi, const uint8_t *addr,
                   const struct rte_ether_addr *ll)
{
	if (!evr_port_onlink6(&w->r->ports[pi], addr)) {
		cnt_inc(w, pi, EVR_CNT_NEIGH_LEARN_OFFLINK);
		return;
	}
	if (evr_neigh_learn(w->r->neigh, (uint16_t)pi, addr, ll, rte_rdtsc()) != 0)
		cnt_inc(w, pi, EVR_CNT_NEIGH_LEARN_UNNEEDED);
}

static bool ours6(const struct evr_port *p, const uint8_t *a)
{
	return memcmp(a, p->ip6, 16) == 0 || memcmp(a, p->ll6, 16) == 0;
}

static void rx_icmp6(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                     struct rte_ether_hdr *eth, struct rte_ipv6_hdr *ip6,
                     uint32_t l2, uint32_t plen)
{
	struct evr_router *r = w->r;
	struct evr_port *p = &r->ports[pi];
	uint8_t *l4 = (uint8_t *)(ip6 + 1);
	const uint32_t off = l2 + (uint32_t)sizeof(*ip6);
	const struct rte_ether_addr *ll;
	struct rte_mbuf *na;
	bool bad = false;

	/* An echo body may span segments (as in rx_icmp4); ND messages are
	 * small and parsed in place: they must sit in the first segment. */
	if (plen < 4 || off + 4 > m->data_len || off + plen > m->pkt_len ||
	    (l4[0] != ICMP6_ECHO_REQUEST && off + plen > m->data_len) ||
	    !l4_sum_ok6(ip6, m, off, plen)) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
		goto drop;
	}
	switch (l4[0]) {
	case ICMP6_ECHO_REQUEST: {
		uint8_t dst[16];

		if (plen < 8 || l4[1] != 0) {
			cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		if (sizeof(*ip6) + plen > p->mtu) { /* reassembled: not fragmented back */
			cnt_inc(w, pi, EVR_CNT_ICMP_ECHO_TOO_BIG);
			goto drop;
		}
		/* A ping to a multicast group is answered from our own
		 * address, never from the group's. */
		memcpy(dst, ip6->dst_addr, 16);
		memcpy(ip6->dst_addr, ip6->src_addr, 16);
		memcpy(ip6->src_addr, ours6(p, dst) ? dst : evr_net_src6(p, ip6->dst_addr), 16);
		ip6->hop_limits = 64;
		l4[0] = ICMP6_ECHO_REPLY;
		l4[2] = l4[3] = 0;
		{
			uint32_t sum = rte_ipv6_phdr_cksum(ip6, 0) + raw_sum(m, off, plen);
			uint16_t c = (uint16_t)~__rte_raw_cksum_reduce(sum);

			if (c == 0)
				c = 0xffff;
			memcpy(l4 + 2, &c, 2);
		}
		eth->dst_addr = eth->src_addr;
		eth->src_addr = p->mac;
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - (l2 + sizeof(*ip6) + plen)));
		cnt_inc(w, pi, EVR_CNT_ICMP6_ECHO_REPLIES);
		evr_tx_frame(w, pi, m);
		return;
	}
	case ND_NS: {
		struct nd_msg *ns = (struct nd_msg *)l4;
		static const uint8_t unspec[16];
		bool dad;

		if (plen < sizeof(*ns) || ip6->hop_limits != 255 || l4[1] != 0) {
			cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		if (!ours6(p, ns->target)) {
			cnt_inc(w, pi, EVR_CNT_RX_ICMP_OTHER);
			goto drop;
		}
		ll = nd_lladdr(l4 + sizeof(*ns), plen - (uint32_t)sizeof(*ns), ND_OPT_SLLA, &bad);
		if (bad) {
			cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		cnt_inc(w, pi, EVR_CNT_ND_NS_RX);
		dad = memcmp(ip6->src_addr, unspec, 16) == 0;
		if (!dad && ll && rte_is_unicast_ether_addr(ll))
			learn6(w, pi, ip6->src_addr, ll);
		if (dad) {
			struct rte_ether_addr mc = {{0x33, 0x33, 0, 0, 0, 1}};

			na = build_na(r, pi, &mc, all_nodes6, ns->target, false);
		} else {
			na = build_na(r, pi, &eth->src_addr, ip6->src_addr, ns->target, true);
		}
		if (na == NULL) {
			cnt_inc(w, pi, EVR_CNT_POOL_EMPTY);
		} else {
			cnt_inc(w, pi, EVR_CNT_ND_NA_TX);
			evr_tx_frame(w, pi, na);
		}
		goto drop;
	}
	case ND_NA: {
		struct nd_msg *nam = (struct nd_msg *)l4;

		if (plen < sizeof(*nam) || ip6->hop_limits != 255 || l4[1] != 0) {
			cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		ll = nd_lladdr(l4 + sizeof(*nam), plen - (uint32_t)sizeof(*nam), ND_OPT_TLLA, &bad);
		if (bad) {
			cnt_inc(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		cnt_inc(w, pi, EVR_CNT_ND_NA_RX);
		if (ll == NULL)
			ll = &eth->src_addr;
		if (rte_is_unicast_ether_addr(ll))
			learn6(w, pi, nam->target, ll);
		goto drop;
	}
	default:
		cnt_inc(w, pi, EVR_CNT_RX_ICMP_OTHER);
		goto drop;
	}
drop:
	rte_pktmbuf_free(m);
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
	uint8_t lf;

	if (m->data_len < l2 + sizeof(*ip6)) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
		goto drop;
	}
	ip6 = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l2);
	plen = rte_be_to_cpu_16(ip6->payload_len);
	if ((rte_be_to_cpu_32(ip6->vtc_flow) >> 28) != 6) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
		goto drop;
	}
	if (l2 + sizeof(*ip6) + plen > m->pkt_len) {
		/* cut on receive, as in rx_ip4 */
		cnt_inc(w, pi, EVR_CNT_RX_TRUNCATED);
		goto drop;
	}
	if (!observe &&
	    (!p->has6 ||
	     !(ours6(p, ip6->dst_addr) || is_solicited_node(ip6->dst_addr, p->ip6) ||
	       is_solicited_node(ip6->dst_addr, p->ll6) ||
	       memcmp(ip6->dst_addr, all_nodes6, 16) == 0))) {
		if (!p->mirror) {
			cnt_inc(w, pi, EVR_CNT_RX_NOT_FOR_US);
			goto drop;
		}
		observe = true;
		cnt_inc(w, pi, EVR_CNT_MIRROR_OBSERVED);
	}
	if (observe && ip6->proto != IPPROTO_UDP && ip6->proto != IPPROTO_FRAGMENT) {
		cnt_inc(w, pi, EVR_CNT_MIRROR_NOT_SIP);
		goto drop;
	}
	if (ip6->proto == IPPROTO_ICMP6) {
		rx_icmp6(w, pi, m, eth, ip6, l2, plen);
		return false;
	}
	if (ip6->proto == IPPROTO_FRAGMENT) {
		struct rte_ipv6_fragment_ext *fh;

		if (l2 + sizeof(*ip6) + sizeof(*fh) > m->data_len || plen < sizeof(*fh)) {
			cnt_inc(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
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
			cnt_inc(w, pi, EVR_CNT_RX_BAD_IP_HEADER);
			goto drop;
		}
	}
	if (observe && ip6->proto != IPPROTO_UDP) {
		cnt_inc(w, pi, EVR_CNT_MIRROR_NOT_SIP);
		goto drop;
	}
	if (ip6->proto == IPPROTO_ICMP6) {
		/* only reachable after reassembly: echo with a big payload */
		rx_icmp6(w, pi, m, eth, ip6, l2, plen);
		return false;
	}
	if (ip6->proto != IPPROTO_UDP) {
		bool ext = ip6->proto == IPPROTO_HOPOPTS || ip6->proto == IPPROTO_ROUTING ||
		           ip6->proto == IPPROTO_DSTOPTS || ip6->proto == 135 /* mobility */;

		cnt_inc(w, pi, ext ? EVR_CNT_RX_IPV6_EXT_HEADER : EVR_CNT_RX_UNKNOWN_L4);
		goto drop;
	}
	if (!observe && !ours6(p, ip6->dst_addr)) { /* UDP to a multicast group */
		cnt_inc(w, pi, EVR_CNT_RX_NOT_FOR_US);
		goto drop;
	}
	if (plen < sizeof(*udp) || l2 + sizeof(*ip6) + sizeof(*udp) > m->data_len) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_UDP_HEADER);
		goto drop;
	}
	udp = (struct rte_udp_hdr *)(ip6 + 1);
	ulen = rte_be_to_cpu_16(udp->dgram_len);
	if (ulen < sizeof(*udp) || ulen > plen) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_UDP_HEADER);
		goto drop;
	}
	lf = udp_kind(w, pi, udp, observe);
	if (lf == 0)
		goto drop;
	if (observe)
		goto out;
	/* Over IPv6 the UDP checksum is mandatory (RFC 8200 8.1). */
	ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (udp->dgram_cksum == 0 ||
	    (p->verify_udp && ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) ||
	    (p->verify_udp && ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	     rte_ipv6_udptcp_cksum_mbuf_verify(m, ip6, (uint16_t)(l2 + sizeof(*ip6))) != 0)) {
		cnt_inc(w, pi, EVR_CNT_RX_BAD_UDP_CHECKSUM);
		goto drop;
	}
out:
	d->kind = (uint8_t)(lf - 1);
	d->off = l2 + (uint32_t)(sizeof(*ip6) + sizeof(*udp));
	d->len = ulen - (uint32_t)sizeof(*udp);
	d->lport = udp->dst_port;
	if (d->kind >= EVR_CFG_LISTEN_SIP)
		flow6(d, ip6, udp);
	return true;
drop:
	rte_pktmbuf_free(m);
	return false;
}

/* ---- entry ---------------------------------------------------------- */

bool evr_net_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf **mp,
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
		cnt_inc(w, pi, EVR_CNT_RX_RUNT);
		goto drop;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
		if (!rte_is_same_ether_addr(&eth->dst_addr, &p->mac))
			observe = true;
	} else if (!rte_is_broadcast_ether_addr(&eth->dst_addr) &&
	           !(p->has6 && eth->dst_addr.addr_bytes[0] == 0x33 &&
	             eth->dst_addr.addr_bytes[1] == 0x33)) {
		observe = true;
	}
	if (observe) {
		/* Another host's frame: a mirror port follows its SIP. */
		if (!p->mirror) {
			cnt_inc(w, pi, EVR_CNT_RX_NOT_FOR_US);
			goto drop;
		}
		cnt_inc(w, pi, EVR_CNT_MIRROR_OBSERVED);
	}
	et = eth->ether_type;
	if (et == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		struct rte_vlan_hdr *vh;

		if (m->data_len < sizeof(*eth) + sizeof(*vh)) {
			cnt_inc(w, pi, EVR_CNT_RX_RUNT);
			goto drop;
		}
		vh = (struct rte_vlan_hdr *)(eth + 1);
		et = vh->eth_proto;
		l2 += sizeof(*vh);
		cnt_inc(w, pi, EVR_CNT_RX_VLAN);
	}
	switch (et) {
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		if (observe) {
			cnt_inc(w, pi, EVR_CNT_MIRROR_NOT_SIP);
			goto drop;
		}
		rx_arp(w, pi, m, eth, l2);
		return false;
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		return rx_ip4(w, pi, mp, eth, l2, observe, d);
	case RTE_BE16(RTE_ETHER_TYPE_IPV6):
		return rx_ip6(w, pi, mp, eth, l2, observe, d);
	default:
		cnt_inc(w, pi, EVR_CNT_RX_UNKNOWN_ETHERTYPE);
		break;
	}
drop:
	rte_pktmbuf_free(m);
	return false;
}
