/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dataplane counters: ONE X-macro list (enum + name + help), STYLE 14.
 *
 * Every drop has a named counter. Counters live in per-worker, per-port
 * blocks (struct evr_counters inside struct evr_worker): a worker polls one
 * queue per port, so a (worker, port) block is also the per-queue view;
 * sums over ports give the per-core view, sums over workers the per-port
 * view. Ingress-side counts go to the port the packet came in on, egress
 * ones to the port the notification leaves by (or the ingress port when it
 * never got one). The control thread has a block of its own.
 *
 * Decoder failures reuse the decoder's X-macro (EVR_DECODE_STATUS): they
 * are exported as "decode_<reason>", decode_ok being the decoded events;
 * likewise the SIP parser's ("sip_<reason>") and HEP's ("hep_<reason>").
 * The SIP state shards and endpoints keep their own counter blocks
 * (evr_sip_state_stats, evr_sip_endpoint_stats), exported by name per worker.
 *
 * Thread context: each block has exactly one writer (its lcore), which
 * increments with plain stores; the control thread reads with relaxed
 * atomic loads (aligned 64-bit loads do not tear on the targets DPDK runs).
 */
#ifndef EVR_COUNTERS_H
#define EVR_COUNTERS_H

#include <stdint.h>

#include "codec/evr_decode.h"
#include "sip/evr_hep.h"
#include "sip/evr_sip.h"

/* X(ENUM_SUFFIX, "name", "help") */
#define EVR_COUNTERS(X)                                                        \
	/* ---- RX and L2/L3/L4 ---- */                                        \
	X(RX_PACKETS, "rx_packets", "frames received")                         \
	X(RX_BYTES, "rx_bytes", "bytes received")                              \
	X(RX_RUNT, "rx_runt", "frame shorter than its headers")                \
	X(RX_NOT_FOR_US, "rx_not_for_us", "destination MAC or IP is not ours") \
	X(RX_VLAN, "rx_vlan", "802.1Q tagged frames (processed)")              \
	X(RX_UNKNOWN_ETHERTYPE, "rx_unknown_ethertype", "neither ARP, IPv4 nor IPv6") \
	X(RX_BAD_IP_HEADER, "rx_bad_ip_header", "invalid IPv4/IPv6 header or length") \
	X(RX_TRUNCATED, "rx_truncated", "frame shorter than its IP length: cut on receive (PMD frame or mbuf too small)") \
	X(RX_BAD_IP_CHECKSUM, "rx_bad_ip_checksum", "IPv4 header checksum wrong") \
	X(RX_FRAGMENTS, "rx_fragments", "IP fragments received")               \
	X(RX_REASSEMBLED, "rx_reassembled", "datagrams reassembled from fragments") \
	X(RX_FRAG_DROPPED, "rx_frag_dropped", "fragments dropped: reassembly off, failed, timed out, duplicated or evicted (the sum of the next five)") \
	X(RX_FRAG_OFF, "rx_frag_off", "fragments dropped: reassembly off (limits.reassembly_flows 0)") \
	X(RX_FRAG_INVALID, "rx_frag_invalid", "fragments dropped while reassembling: bad length or offset, over 65,535 bytes, overlap (the whole datagram), inconsistent ends") \
	X(RX_FRAG_DUPLICATE, "rx_frag_duplicate", "fragments dropped as exact duplicates of one held") \
	X(RX_FRAG_EVICTED, "rx_frag_evicted", "fragments of the oldest incomplete datagrams dropped to make room (limits.reassembly_flows / reassembly_fragments full)") \
	X(RX_FRAG_TIMEOUT, "rx_frag_timeout", "fragments of datagrams still incomplete after limits.reassembly_timeout_ms") \
	X(RX_IPV6_EXT_HEADER, "rx_ipv6_ext_header", "IPv6 extension header (unsupported)") \
	X(RX_UNKNOWN_L4, "rx_unknown_l4", "IP protocol neither UDP nor ICMP")  \
	X(RX_BAD_UDP_HEADER, "rx_bad_udp_header", "UDP length inconsistent")   \
	X(RX_BAD_UDP_CHECKSUM, "rx_bad_udp_checksum", "UDP checksum wrong")    \
	X(RX_NO_LISTENER, "rx_no_listener", "UDP to a port without listener")  \
	X(RX_SOURCE_REFUSED, "rx_source_refused", "datagrams to a listener from a source outside its allow list (default: the port's on-link subnets)") \
	X(RX_BAD_ARP, "rx_bad_arp", "malformed or non-Ethernet/IPv4 ARP")      \
	X(RX_ARP_OTHER, "rx_arp_other", "ARP not for our addresses")           \
	X(RX_BAD_ICMP, "rx_bad_icmp", "malformed ICMP/ICMPv6 or bad checksum") \
	X(RX_ICMP_OTHER, "rx_icmp_other", "ICMP/ICMPv6 types we do not answer") \
	X(ARP_REQUESTS_RX, "arp_requests_rx", "ARP requests for our addresses") \
	X(ARP_REPLIES_TX, "arp_replies_tx", "ARP replies sent")                \
	X(ARP_REPLIES_RX, "arp_replies_rx", "ARP replies received")            \
	X(ND_NS_RX, "nd_ns_rx", "neighbour solicitations for our addresses")   \
	X(ND_NA_TX, "nd_na_tx", "neighbour advertisements sent")               \
	X(ND_NA_RX, "nd_na_rx", "neighbour advertisements received")           \
	X(ICMP_ECHO_REPLIES, "icmp_echo_replies", "ICMP echo replies sent")    \
	X(ICMP6_ECHO_REPLIES, "icmp6_echo_replies", "ICMPv6 echo replies sent") \
	X(ICMP_ECHO_TOO_BIG, "icmp_echo_too_big", "echo requests (v4/v6) whose reply exceeds the port MTU: not fragmented, dropped") \
	X(MIRROR_OBSERVED, "mirror_observed", "frames for other hosts seen on mirror ports") \
	X(MIRROR_NOT_SIP, "mirror_not_sip", "observed frames not UDP to/from sip.mirror_ports (ignored)") \
	/* ---- SIP (parse reasons: sip_<reason>, HEP: hep_<reason>) ---- */   \
	X(SIP_RX, "sip_rx", "SIP datagrams: mirrored, HEP payloads, endpoint requests") \
	X(SIP_HANDOFF, "sip_handoff", "SIP messages handed to the worker owning their Call-ID") \
	X(SIP_HANDOFF_FULL, "sip_handoff_full", "hand-off ring of the owning worker full (dropped)") \
	X(SIP_HELD, "sip_held", "SIP messages held for their request (late on another worker)") \
	X(SIP_HELD_FULL, "sip_held_full", "hold queue full: applied at once (may count an orphan)") \
	X(SIP_HELD_EXPIRED, "sip_held_expired", "held messages whose request never came within sip.reorder_ms (orphans)") \
	X(SIP_TOO_LARGE, "sip_too_large", "SIP datagram over limits.max_datagram (dropped)") \
	X(SIP_EVENTS, "sip_events", "events derived from SIP or raised by the SIP endpoint") \
	X(SIP_REPLIES, "sip_replies", "SIP endpoint replies queued for TX")    \
	/* ---- events and matching ---- */                                    \
	X(EVENTS_RX, "events_rx", "datagrams handed to a decoder")             \
	X(EVENTS_UNMATCHED, "events_unmatched", "decoded events nobody subscribed to") \
	X(EVENT_NAMES_FULL, "event_names_full", "names of unmatched events not passed to the control thread for MI events_list (ring full; retried on the next such event)") \
	X(HOLD_FULL, "hold_full", "decoded event did not fit an empty burst hold (dropped; a bug if ever seen)") \
	/* these five are the matcher's evr_match_stats, folded in on export */ \
	X(MATCHES, "matches", "subscriptions matched")                         \
	X(FANOUT_OVERFLOW, "fanout_overflow", "matches over limits.max_fanout (dropped)") \
	X(EXPIRED, "expired", "matched expired subscriptions (not notified)")  \
	X(ONCE_SKIPPED, "once_skipped", "once subscriptions fired elsewhere")  \
	X(MATCH_ERRORS, "match_errors", "Hyperscan scan failures")             \
	/* ---- notifications ---- */                                          \
	X(ENCODE_OVERFLOW, "encode_overflow", "notification larger than a UDP datagram") \
	X(POOL_EMPTY, "pool_empty", "no mbuf for a payload, header or reply")  \
	X(RING_FULL, "ring_full", "egress ring full")                          \
	X(UNIX_RING_FULL, "unix_ring_full", "ring to the control thread full (unix: and esl:)") \
	X(NOTIFICATIONS, "notifications", "notification descriptors queued")   \
	X(NO_ROUTE, "no_route", "no port/gateway for the destination")         \
	X(NEIGH_TABLE_FULL, "neigh_table_full", "neighbour table full")        \
	X(NEIGH_EVICTED, "neigh_evicted", "neighbour entries reclaimed (failed, unanswered or idle, nobody waiting)") \
	X(NEIGH_LEARN_OFFLINK, "neigh_learn_offlink", "ARP/ND sender outside the port's prefix: not learned") \
	X(NEIGH_LEARN_UNNEEDED, "neigh_learn_unneeded", "ARP/ND sender we hold no entry for: not learned") \
	X(ARP_UNRESOLVED, "arp_unresolved", "destination MAC never resolved (dropped)") \
	X(ARP_QUEUE_OVERFLOW, "arp_queue_overflow", "notifications waiting for ARP/ND over arp.pending_max") \
	X(ARP_REQUESTS_TX, "arp_requests_tx", "ARP requests sent")             \
	X(ND_NS_TX, "nd_ns_tx", "neighbour solicitations sent")                \
	X(FRAGMENTED, "fragmented", "notifications fragmented")                \
	X(FRAGMENTS_TX, "fragments_tx", "fragments produced")                  \
	X(FRAG_FAILED, "frag_failed", "fragmentation failed (dropped)")        \
	X(TX_PACKETS, "tx_packets", "frames handed to the PMD")                \
	X(TX_BYTES, "tx_bytes", "bytes handed to the PMD")                     \
	X(TX_FULL, "tx_full", "frames the PMD did not take (dropped)")         \
	X(TX_NO_QUEUE, "tx_no_queue", "no TX queue for this worker on the port") \
	X(TX_LINEARIZED, "tx_linearized", "chains copied for a PMD without multi-segment TX") \
	X(TX_LINEARIZE_FAILED, "tx_linearize_failed", "chain too long to copy for such a PMD (dropped)") \
	X(UNIX_SENT, "unix_sent", "unix: notifications sent")                  \
	X(UNIX_FAILED, "unix_failed", "unix: sends that failed")               \
	X(ESL_HANDED, "esl_handed", "esl: notifications handed to the ESL server") \
	X(ESL_FAILED, "esl_failed", "esl: notifications the ESL server was not running to take") \
	X(HEP_AUTH_FAILED, "hep_auth_failed", "HEP packets without sip.hep_password in their auth-key chunk: dropped") \
	X(DEST_RATE_LIMITED, "dest_rate_limited", "notifications over their destination's destinations.rate_notifications: dropped") \
	X(DEST_BYTES_LIMITED, "dest_bytes_limited", "notifications over their destination's destinations.rate_bytes: dropped") \
	X(EGRESS_CAPPED, "egress_capped", "notifications over destinations.egress_notifications/egress_bytes: dropped") \
	X(DEST_LIMIT_EVICTED, "dest_limit_evicted", "destinations forgotten by the rate limiter for new ones (table full)") \
	X(RX_BAD_IGMP, "rx_bad_igmp", "IGMP messages too short or with a bad checksum") \
	X(RX_IGMP_OTHER, "rx_igmp_other", "IGMP messages other than queries (others' reports, leaves)") \
	X(IGMP_QUERIES_RX, "igmp_queries_rx", "IGMP membership queries received") \
	X(IGMP_REPORTS_TX, "igmp_reports_tx", "IGMPv2 membership reports sent (start, answers to queries)") \
	X(MLD_QUERIES_RX, "mld_queries_rx", "MLD multicast listener queries received (fs_multicast IPv6 groups)") \
	X(MLD_REPORTS_TX, "mld_reports_tx", "MLDv2 reports sent (start, answers to queries)") \
	X(RX_MLD_OTHER, "rx_mld_other", "Hop-by-Hop packets other than MLD queries (others' reports, other options): dropped") \
	X(MCAST_LEAVES_TX, "mcast_leaves_tx", "IGMPv2 Leave Group and MLDv2 leave records sent at stop") \
	X(FS_MCAST_NO_MAGIC, "fs_mcast_no_magic", "fs_multicast datagrams without mod_event_multicast's trailer: dropped") \
	X(FS_MCAST_BAD_MAGIC, "fs_mcast_bad_magic", "fs_multicast datagrams whose trailer is damaged (or a wrong psk): dropped") \
	X(FS_MCAST_BAD_CIPHER, "fs_mcast_bad_cipher", "fs_multicast PSK datagrams too short to decrypt: dropped") \
	/* ---- nats: destinations (workers queue, the publisher thread sends) ---- */ \
	X(ONCE_CLAIM_RING_FULL, "once_claim_ring_full", "once notifications dropped: the ring to the claim thread was full (store.kind nats; rings.ctrl_size)") \
	X(NATS_RING_FULL, "nats_ring_full", "nats: notifications dropped: the ring to the NATS publisher thread was full (nats.ring)") \
	X(NATS_SUBJECT_TOO_LONG, "nats_subject_too_long", "nats: notifications dropped: subject with {event} expanded longer than 255 bytes") \
	X(NATS_PUBLISHED, "nats_published", "nats: notifications published (sent, or buffered by libnats while reconnecting)") \
	X(NATS_BUFFER_FULL, "nats_buffer_full", "nats: notifications dropped while NATS was unreachable: reconnect buffer (nats.max_pending_bytes) full") \
	X(NATS_DISCONNECTED, "nats_disconnected", "nats: notifications dropped: no NATS connection to publish or buffer on (closed, or nats off)") \
	X(NATS_FAILED, "nats_failed", "nats: notifications libnats refused otherwise (e.g. larger than the server's max_payload)") \
	X(SHUTDOWN_DROPPED, "shutdown_dropped", "notifications dropped at shutdown")

enum evr_counter {
#define X(e, n, h) EVR_CNT_##e,
	EVR_COUNTERS(X)
#undef X
	EVR_CNT__COUNT
};

struct evr_counters {
	uint64_t c[EVR_CNT__COUNT];
	uint64_t dec[EVR_DEC__COUNT]; /* by enum evr_decode_status */
	uint64_t sip[EVR_SIP__COUNT]; /* by enum evr_sip_status ("sip_<name>") */
	uint64_t hep[EVR_HEP__COUNT]; /* by enum evr_hep_status ("hep_<name>") */
};

/* "rx_packets"... for any counter. */
const char *evr_counter_name(enum evr_counter c);
const char *evr_counter_help(enum evr_counter c);

#endif /* EVR_COUNTERS_H */
