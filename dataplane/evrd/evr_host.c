/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: host protocols - the small protocols evrd answers itself.
 *
 * evrd is an IP host, not a router: it answers ARP and ND for its
 * addresses and ICMP/ICMPv6 echo, and builds the ARP requests and
 * neighbour solicitations egress needs to resolve a next hop. Responders
 * turn the request around in the received mbuf (no allocation; an 802.1Q
 * tag on the request is kept) and return the reply for rx to hand to
 * egress on the same port, so this module never calls egress itself.
 * An ICMP echo body may span segments (checksummed and answered across
 * the chain); ND messages are parsed in the first segment.
 *
 * Learning: an ARP request or NS for one of our addresses creates an entry
 * for the sender (it is about to talk to us, and subscribers are often
 * also event sources); replies and unsolicited announcements only refresh
 * entries that exist, so a chatty segment cannot fill the table.
 *
 * Thread context: worker lcores (responders); evr_host_arp_request and
 * evr_host_nd_solicit from any lcore with a mempool cache or none.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_host.h"
#include "evr_neigh.h"

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2

struct nd_msg { /* NS and NA share this layout */
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	rte_be32_t flags; /* NA: R S O in the top bits; NS: reserved */
	uint8_t target[16];
} __rte_packed;

#define NA_FLAG_SOLICITED RTE_BE32(0x40000000)
#define NA_FLAG_OVERRIDE RTE_BE32(0x20000000)

const uint8_t evr_host_all_nodes6[16] = {0xff, 0x02, [15] = 0x01};

static void solicited_node(uint8_t out[16], const uint8_t *target)
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	memcpy(out, pfx, 13);
	memcpy(out + 13, target + 13, 3);
}

const uint8_t *evr_host_src6(const struct evr_port *p, const uint8_t *dst)
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
		evr_count(w, pi, EVR_CNT_NEIGH_LEARN_OFFLINK);
		return;
	}
	if (evr_neigh_learn(w->r->neigh, (uint16_t)pi, key, &a->arp_data.arp_sha,
	                    rte_rdtsc()) != 0)
		evr_count(w, pi, EVR_CNT_NEIGH_LEARN_UNNEEDED);
}

struct rte_mbuf *evr_host_arp(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                   struct rte_ether_hdr *eth, uint32_t l2)
{
	struct evr_router *r = w->r;
	struct evr_port *p = &r->ports[pi];
	struct rte_arp_hdr *a;
	uint8_t key[16];
	uint16_t op;

	if (m->data_len < l2 + sizeof(*a)) {
		evr_count(w, pi, EVR_CNT_RX_BAD_ARP);
		goto drop;
	}
	a = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, l2);
	if (a->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4) {
		evr_count(w, pi, EVR_CNT_RX_BAD_ARP);
		goto drop;
	}
	if (!p->has4) {
		evr_count(w, pi, EVR_CNT_RX_ARP_OTHER);
		goto drop;
	}
	op = rte_be_to_cpu_16(a->arp_opcode);
	evr_neigh_key4(key, a->arp_data.arp_sip);
	if (op == RTE_ARP_OP_REQUEST && a->arp_data.arp_tip == p->ip4) {
		evr_count(w, pi, EVR_CNT_ARP_REQUESTS_RX);
		learn4(w, pi, key, a);
		/* Turn the request around in place. */
		a->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
		a->arp_data.arp_tha = a->arp_data.arp_sha;
		a->arp_data.arp_tip = a->arp_data.arp_sip;
		a->arp_data.arp_sha = p->mac;
		a->arp_data.arp_sip = p->ip4;
		eth->dst_addr = eth->src_addr;
		eth->src_addr = p->mac;
		evr_count(w, pi, EVR_CNT_ARP_REPLIES_TX);
		return m;
	}
	if (op == RTE_ARP_OP_REPLY && a->arp_data.arp_tip == p->ip4)
		evr_count(w, pi, EVR_CNT_ARP_REPLIES_RX);
	else
		evr_count(w, pi, EVR_CNT_RX_ARP_OTHER);
	learn4(w, pi, key, a);
drop:
	rte_pktmbuf_free(m);
	return NULL;
}

struct rte_mbuf *evr_host_arp_request(struct evr_router *r, unsigned pi,
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

/* ---- IGMP and MLD (mod_event_multicast groups) ------------------------ */

/*
 * An IGMPv2 Membership Report for group (RFC 2236 section 2): to the group,
 * TTL 1, with the Router Alert option as RFC 2236 asks, from the port's
 * address. IGMPv2 because every querier and snooping switch takes it (an
 * IGMPv3 querier falls back to v2 compatibility for the group). A leave
 * is the Leave Group message, to all-routers (224.0.0.2), section 3.
 */
struct rte_mbuf *evr_host_igmp_report(struct evr_router *r, unsigned pi, rte_be32_t group,
                                      bool leave)
{
	struct evr_port *p = &r->ports[pi];
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->hdr_pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	uint8_t *ra, *ig;
	rte_be32_t dst = leave ? RTE_BE32(RTE_IPV4(224, 0, 0, 2)) : group;
	uint32_t g = rte_be_to_cpu_32(dst);
	uint16_t ck;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*ip) + 4 + 8);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ra = (uint8_t *)(ip + 1);
	ig = ra + 4;
	/* 01:00:5e + the group's low 23 bits (RFC 1112) */
	eth->dst_addr = (struct rte_ether_addr){ { 0x01, 0x00, 0x5e, (uint8_t)(g >> 16 & 0x7f),
		                                   (uint8_t)(g >> 8), (uint8_t)g } };
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x46; /* 24-byte header: Router Alert */
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + 4 + 8);
	ip->time_to_live = 1;
	ip->next_proto_id = IPPROTO_IGMP;
	ip->src_addr = p->ip4;
	ip->dst_addr = dst;
	ra[0] = 0x94; /* Router Alert (RFC 2113), length 4, value 0 */
	ra[1] = 4;
	ra[2] = ra[3] = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, sizeof(*ip) + 4);
	ig[0] = leave ? 0x17 : 0x16; /* v2 Leave Group / v2 Membership Report */
	ig[1] = 0;
	ig[2] = ig[3] = 0;
	memcpy(ig + 4, &group, 4);
	ck = (uint16_t)~rte_raw_cksum(ig, 8);
	memcpy(ig + 2, &ck, 2);
	return m;
}

void evr_host_igmp4(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                    const struct rte_ipv4_hdr *ip, uint32_t l2, uint32_t hl, uint32_t tot)
{
	struct evr_router *r = w->r;
	const uint8_t *ig;
	rte_be32_t qgroup;

	if (tot < hl + 8 || l2 + tot > m->data_len) {
		evr_count(w, pi, EVR_CNT_RX_BAD_IGMP);
		goto out;
	}
	ig = rte_pktmbuf_mtod_offset(m, const uint8_t *, l2 + hl);
	if (rte_raw_cksum(ig, tot - hl) != 0xffff) {
		evr_count(w, pi, EVR_CNT_RX_BAD_IGMP);
		goto out;
	}
	if (ig[0] != 0x11) { /* only queries need us: others' reports, leaves */
		evr_count(w, pi, EVR_CNT_RX_IGMP_OTHER);
		goto out;
	}
	memcpy(&qgroup, ig + 4, 4);
	evr_count(w, pi, EVR_CNT_IGMP_QUERIES_RX);
	/* general query: every group; group-specific: that one if ours */
	for (unsigned i = 0; i < r->n_fsm; i++) {
		struct rte_mbuf *rep;

		if (!r->fsm[i].group || (qgroup && qgroup != r->fsm[i].group))
			continue;
		rep = evr_host_igmp_report(r, pi, r->fsm[i].group, false);
		if (rep == NULL) {
			evr_count(w, pi, EVR_CNT_POOL_EMPTY);
			continue;
		}
		evr_count(w, pi, EVR_CNT_IGMP_REPORTS_TX);
		evr_egress_frame(w, pi, rep);
	}
	(void)ip;
out:
	rte_pktmbuf_free(m);
}

#define MLD_QUERY 130
#define MLD2_REPORT 143
static const uint8_t all_mld2_routers6[16] = {0xff, 0x02, [15] = 0x16}; /* ff02::16 */

/*
 * One's complement sum of the ICMPv6 message l4 (len bytes) of ip6 with
 * its pseudo-header (RFC 8200 section 8.1): the addresses, the
 * upper-layer length and next header 58, which are not the packet's own
 * (MLD sits behind a Hop-by-Hop header). Summed as the bytes lie, as
 * rte_raw_cksum sums.
 */
static uint16_t mld_sum(const struct rte_ipv6_hdr *ip6, const uint8_t *l4, uint32_t len)
{
	struct {
		uint8_t addrs[32];
		rte_be32_t len;
		uint8_t zero[3];
		uint8_t nh;
	} __rte_packed ph;
	uint32_t sum;

	memcpy(ph.addrs, ip6->src_addr, 32);
	ph.len = rte_cpu_to_be_32(len);
	memset(ph.zero, 0, sizeof(ph.zero));
	ph.nh = IPPROTO_ICMPV6;
	sum = (uint32_t)rte_raw_cksum(&ph, sizeof(ph)) + rte_raw_cksum(l4, len);
	return (uint16_t)__rte_raw_cksum_reduce(sum);
}

/*
 * An MLDv2 Report with one record for group (RFC 3810 section 5.2): from
 * the port's link-local address to all-MLDv2-routers (ff02::16), hop
 * limit 1, behind a Hop-by-Hop header holding Router Alert (RFC 2711,
 * value 0: MLD) as section 5 requires. MLDv2 because it is what Linux
 * hosts send and every snooping switch since 2004 takes; an MLDv1-only
 * querier is not answered (documented).
 */
struct rte_mbuf *evr_host_mld_report(struct evr_router *r, unsigned pi,
                                     const uint8_t group[16], uint8_t rtype)
{
	const struct evr_port *p = &r->ports[pi];
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->hdr_pool);
	enum { HBH = 8, REP = 8 + 20 };
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip6;
	uint8_t *h, *rp;
	uint16_t ck;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*ip6) + HBH + REP);
	ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	h = (uint8_t *)(ip6 + 1);
	rp = h + HBH;
	eth->dst_addr = (struct rte_ether_addr){ {0x33, 0x33, 0, 0, 0, 0x16} };
	eth->src_addr = p->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip6->vtc_flow = RTE_BE32(6u << 28);
	ip6->payload_len = RTE_BE16(HBH + REP);
	ip6->proto = IPPROTO_HOPOPTS;
	ip6->hop_limits = 1;
	memcpy(ip6->src_addr, p->ll6, 16);
	memcpy(ip6->dst_addr, all_mld2_routers6, 16);
	/* next header ICMPv6, length 0 (8 bytes), Router Alert 0, PadN 0 */
	const uint8_t hbh[HBH] = {IPPROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0};
	memcpy(h, hbh, HBH);
	memset(rp, 0, REP);
	rp[0] = MLD2_REPORT;
	rp[7] = 1; /* one record */
	rp[8] = rtype;
	memcpy(rp + 12, group, 16);
	ck = (uint16_t)~mld_sum(ip6, rp, REP);
	memcpy(rp + 2, &ck, 2);
	return m;
}

void evr_host_mld6(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                   const struct rte_ipv6_hdr *ip6, uint32_t l2, uint32_t plen)
{
	struct evr_router *r = w->r;
	static const uint8_t any[16];
	const uint8_t *h, *l4, *qgroup;
	uint32_t hlen, len;

	if (plen < 8 || l2 + sizeof(*ip6) + plen > m->data_len) {
		evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
		goto out;
	}
	h = (const uint8_t *)(ip6 + 1);
	hlen = ((uint32_t)h[1] + 1) * 8;
	if (h[0] != IPPROTO_ICMPV6 || plen < hlen + 4) {
		evr_count(w, pi, EVR_CNT_RX_MLD_OTHER);
		goto out;
	}
	l4 = h + hlen;
	len = plen - hlen;
	if (l4[0] != MLD_QUERY) { /* others' reports and dones */
		evr_count(w, pi, EVR_CNT_RX_MLD_OTHER);
		goto out;
	}
	/* a query is from a link-local router, hop limit 1, 24 (MLDv1) or at
	 * least 28 (MLDv2) bytes (RFC 3810 sections 5.1.14, 6.2) */
	if (len < 24 || (len > 24 && len < 28) || ip6->hop_limits != 1 ||
	    !(ip6->src_addr[0] == 0xfe && (ip6->src_addr[1] & 0xc0) == 0x80) ||
	    mld_sum(ip6, l4, len) != 0xffff) {
		evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
		goto out;
	}
	qgroup = l4 + 8;
	evr_count(w, pi, EVR_CNT_MLD_QUERIES_RX);
	/* general query (::): every group; group-specific: that one if ours */
	for (unsigned i = 0; i < r->n_fsm; i++) {
		struct rte_mbuf *rep;

		if (!r->fsm[i].has_group6 ||
		    (memcmp(qgroup, any, 16) != 0 && memcmp(qgroup, r->fsm[i].group6, 16) != 0))
			continue;
		rep = evr_host_mld_report(r, pi, r->fsm[i].group6, EVR_MLD_IS_EXCLUDE);
		if (rep == NULL) {
			evr_count(w, pi, EVR_CNT_POOL_EMPTY);
			continue;
		}
		evr_count(w, pi, EVR_CNT_MLD_REPORTS_TX);
		evr_egress_frame(w, pi, rep);
	}
out:
	rte_pktmbuf_free(m);
}

void evr_host_mcast_announce(struct evr_worker *w, bool leave)
{
	struct evr_router *r = w->r;

	for (unsigned pi = 0; pi < r->n_ports; pi++) {
		const struct evr_port *p = &r->ports[pi];

		if (p->mirror)
			continue;
		for (unsigned i = 0; i < r->n_fsm; i++) {
			const struct evr_fs_mcast_listener *fl = &r->fsm[i];
			struct rte_mbuf *m;
			unsigned what;

			if (fl->group && p->has4) {
				m = evr_host_igmp_report(r, pi, fl->group, leave);
				what = EVR_CNT_IGMP_REPORTS_TX;
			} else if (fl->has_group6 && p->has6) {
				m = evr_host_mld_report(r, pi, fl->group6,
				                        leave ? EVR_MLD_TO_INCLUDE : EVR_MLD_TO_EXCLUDE);
				what = EVR_CNT_MLD_REPORTS_TX;
			} else {
				continue;
			}
			if (m == NULL) {
				evr_count(w, pi, EVR_CNT_POOL_EMPTY);
				continue;
			}
			evr_count(w, pi, leave ? EVR_CNT_MCAST_LEAVES_TX : what);
			evr_egress_frame(w, pi, m);
		}
	}
}

/* ---- ICMP ----------------------------------------------------------- */

struct rte_mbuf *evr_host_icmp4(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
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
		evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
		goto drop;
	}
	ic = (struct rte_icmp_hdr *)((char *)ip + hl);
	if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0) {
		evr_count(w, pi, EVR_CNT_RX_ICMP_OTHER);
		goto drop;
	}
	if (tot > p->mtu) { /* reassembled: we do not fragment replies */
		evr_count(w, pi, EVR_CNT_ICMP_ECHO_TOO_BIG);
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
	evr_count(w, pi, EVR_CNT_ICMP_ECHO_REPLIES);
	return m;
drop:
	rte_pktmbuf_free(m);
	return NULL;
}

/* The UDP tuple of a SIP datagram (wall time: the worker's burst). */
/* ---- ICMPv6 / ND ---------------------------------------------------- */

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

struct rte_mbuf *evr_host_nd_solicit(struct evr_router *r, unsigned pi,
                                    const uint8_t target[16])
{
	struct evr_port *p = &r->ports[pi];
	struct rte_ether_addr dmac = {{0x33, 0x33}};
	uint8_t dst[16];

	/* to the target's solicited-node multicast group and its MAC */
	solicited_node(dst, target);
	memcpy(&dmac.addr_bytes[2], dst + 12, 4);
	return build_nd(r, pi, &dmac, evr_host_src6(p, target), dst, ND_NS, 0, target,
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
		evr_count(w, pi, EVR_CNT_NEIGH_LEARN_OFFLINK);
		return;
	}
	if (evr_neigh_learn(w->r->neigh, (uint16_t)pi, addr, ll, rte_rdtsc()) != 0)
		evr_count(w, pi, EVR_CNT_NEIGH_LEARN_UNNEEDED);
}

struct rte_mbuf *evr_host_icmp6(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
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
		evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
		goto drop;
	}
	switch (l4[0]) {
	case ICMP6_ECHO_REQUEST: {
		uint8_t dst[16];

		if (plen < 8 || l4[1] != 0) {
			evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		if (sizeof(*ip6) + plen > p->mtu) { /* reassembled: not fragmented back */
			evr_count(w, pi, EVR_CNT_ICMP_ECHO_TOO_BIG);
			goto drop;
		}
		/* A ping to a multicast group is answered from our own
		 * address, never from the group's. */
		memcpy(dst, ip6->dst_addr, 16);
		memcpy(ip6->dst_addr, ip6->src_addr, 16);
		memcpy(ip6->src_addr, evr_host_ours6(p, dst) ? dst : evr_host_src6(p, ip6->dst_addr), 16);
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
		evr_count(w, pi, EVR_CNT_ICMP6_ECHO_REPLIES);
		return m;
	}
	case ND_NS: {
		struct nd_msg *ns = (struct nd_msg *)l4;
		static const uint8_t unspec[16];
		bool dad;

		if (plen < sizeof(*ns) || ip6->hop_limits != 255 || l4[1] != 0) {
			evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		if (!evr_host_ours6(p, ns->target)) {
			evr_count(w, pi, EVR_CNT_RX_ICMP_OTHER);
			goto drop;
		}
		ll = nd_lladdr(l4 + sizeof(*ns), plen - (uint32_t)sizeof(*ns), ND_OPT_SLLA, &bad);
		if (bad) {
			evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		evr_count(w, pi, EVR_CNT_ND_NS_RX);
		dad = memcmp(ip6->src_addr, unspec, 16) == 0;
		if (!dad && ll && rte_is_unicast_ether_addr(ll))
			learn6(w, pi, ip6->src_addr, ll);
		if (dad) {
			struct rte_ether_addr mc = {{0x33, 0x33, 0, 0, 0, 1}};

			na = build_na(r, pi, &mc, evr_host_all_nodes6, ns->target, false);
		} else {
			na = build_na(r, pi, &eth->src_addr, ip6->src_addr, ns->target, true);
		}
		evr_count(w, pi, na == NULL ? EVR_CNT_POOL_EMPTY : EVR_CNT_ND_NA_TX);
		rte_pktmbuf_free(m); /* the NA is a new frame */
		return na;
	}
	case ND_NA: {
		struct nd_msg *nam = (struct nd_msg *)l4;

		if (plen < sizeof(*nam) || ip6->hop_limits != 255 || l4[1] != 0) {
			evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		ll = nd_lladdr(l4 + sizeof(*nam), plen - (uint32_t)sizeof(*nam), ND_OPT_TLLA, &bad);
		if (bad) {
			evr_count(w, pi, EVR_CNT_RX_BAD_ICMP);
			goto drop;
		}
		evr_count(w, pi, EVR_CNT_ND_NA_RX);
		if (ll == NULL)
			ll = &eth->src_addr;
		if (rte_is_unicast_ether_addr(ll))
			learn6(w, pi, nam->target, ll);
		goto drop;
	}
	default:
		evr_count(w, pi, EVR_CNT_RX_ICMP_OTHER);
		goto drop;
	}
drop:
	rte_pktmbuf_free(m);
	return NULL;
}
