/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host protocols (evr_host.c): ARP, ND and ICMP/ICMPv6 echo responders,
 * and the ARP requests / neighbour solicitations egress sends.
 *
 * Responders take ownership of m and return the reply frame to send on
 * port pi (rx hands it to egress), or NULL when nothing is to be sent (m
 * freed, counted). Worker lcores.
 */
#ifndef EVR_HOST_H
#define EVR_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "evr_dataplane.h"

#define IPPROTO_ICMP6 58

struct rte_mbuf *evr_host_arp(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                              struct rte_ether_hdr *eth, uint32_t l2);
struct rte_mbuf *evr_host_icmp4(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                                struct rte_ether_hdr *eth, struct rte_ipv4_hdr *ip,
                                uint32_t l2, uint32_t hl, uint32_t tot);
struct rte_mbuf *evr_host_icmp6(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                                struct rte_ether_hdr *eth, struct rte_ipv6_hdr *ip6,
                                uint32_t l2, uint32_t plen);

/* Build an ARP request / neighbour solicitation for target on port pi;
 * NULL when out of mbufs. Any lcore. */
struct rte_mbuf *evr_host_arp_request(struct evr_router *r, unsigned pi,
                                      rte_be32_t target);
struct rte_mbuf *evr_host_nd_solicit(struct evr_router *r, unsigned pi,
                                     const uint8_t target[16]);
/* Our IPv6 source for a destination on port p (link-local for fe80::/10). */
const uint8_t *evr_host_src6(const struct evr_port *p, const uint8_t *dst);
/* IGMPv2 Membership Report (leave: Leave Group) for group on port pi
 * (NULL: pool empty). Any thread with the router (workers). */
struct rte_mbuf *evr_host_igmp_report(struct evr_router *r, unsigned pi, rte_be32_t group,
                                      bool leave);
/* MLDv2 record types (RFC 3810 section 5.2.12) evrd reports. */
#define EVR_MLD_IS_EXCLUDE 2u /* answer to a query: listening */
#define EVR_MLD_TO_INCLUDE 3u /* with no source: leaving */
#define EVR_MLD_TO_EXCLUDE 4u /* unsolicited: joining */
/* MLDv2 Report of one record for group on port pi (NULL: pool empty). */
struct rte_mbuf *evr_host_mld_report(struct evr_router *r, unsigned pi,
                                     const uint8_t group[16], uint8_t rtype);
/* Join (or, leave, leave) every mod_event_multicast group on every port
 * of its family: IGMPv2 on IPv4 ports, MLDv2 on IPv6 ports. Worker 0, at
 * start (twice, RFC 2236 section 3 / RFC 3810 section 6.1) and at stop. */
void evr_host_mcast_announce(struct evr_worker *w, bool leave);
/* An IPv6 packet with a Hop-by-Hop header to all-nodes or one of our
 * groups: MLD queries answered with reports for our groups, anything
 * else counted and dropped; m consumed. Worker. */
void evr_host_mld6(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                   const struct rte_ipv6_hdr *ip6, uint32_t l2, uint32_t plen);
/* An IGMP message to all-hosts or one of our groups: queries answered with
 * reports for our mod_event_multicast groups; m consumed. Worker. */
void evr_host_igmp4(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                    const struct rte_ipv4_hdr *ip, uint32_t l2, uint32_t hl, uint32_t tot);

extern const uint8_t evr_host_all_nodes6[16]; /* ff02::1 */

/* One of port p's own IPv6 addresses (global or link-local). */
static inline bool evr_host_ours6(const struct evr_port *p, const uint8_t *a)
{
	return memcmp(a, p->ip6, 16) == 0 || memcmp(a, p->ll6, 16) == 0;
}

/* a is the solicited-node multicast group (ff02::1:ffXX:XXXX) of ours. */
static inline bool evr_host_solicited_node(const uint8_t *a, const uint8_t *ours)
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	return memcmp(a, pfx, 13) == 0 && memcmp(a + 13, ours + 13, 3) == 0;
}

/* An IPv6 destination port p accepts: its addresses, their solicited-node
 * groups, all-nodes. */
static inline bool evr_host_accepts6(const struct evr_port *p, const uint8_t *dst)
{
	return evr_host_ours6(p, dst) || evr_host_solicited_node(dst, p->ip6) ||
	       evr_host_solicited_node(dst, p->ll6) ||
	       memcmp(dst, evr_host_all_nodes6, 16) == 0;
}

#endif /* EVR_HOST_H */
