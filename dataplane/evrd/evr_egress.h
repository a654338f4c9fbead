/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Egress (evr_egress.c): the notification descriptor and the TX stage.
 *
 * A notification descriptor is a header mbuf from hdr_pool: its private
 * area holds struct evr_tx_meta (destination, ports, payload checksum);
 * its `next` is the shared payload chain (one per event and format,
 * reference counted, never copied per subscriber). For unix: destinations
 * the header's data holds a copy of the struct evr_dest. Everything TX
 * needs is copied at match time (evr_notify.c), so no subscription pointer
 * outlives the matching thread's quiescent state.
 *
 * Thread context: worker lcores, except evr_egress_local_send (control
 * thread) and evr_egress_udp_desc (any thread with the router).
 */
#ifndef EVR_EGRESS_H
#define EVR_EGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

struct evr_router;
struct evr_worker;
struct evr_counters;

#define EVR_TX_BURST 32
#define EVR_EGRESS_BURST 64
#define EVR_MAX_FRAGS 128 /* 65535 / (576 - 20) < 128 */

/* Header mbuf room: Ethernet + VLAN-less IPv6 + UDP in front of the
 * payload, a struct evr_dest copy for unix: destinations, or a rendered
 * NATS subject (EVR_NATS_SUBJECT_MAX + NUL) for nats: ones. */
#define EVR_HDR_DATA_ROOM (RTE_PKTMBUF_HEADROOM + 256)

enum evr_tx_kind {
	EVR_TXK_UDP4 = 0,
	EVR_TXK_UDP6,
	EVR_TXK_LOCAL, /* unix: and esl: (the control thread delivers) */
	EVR_TXK_NATS,  /* nats: the header's data is the subject, NUL-terminated
	                * (the NATS publisher thread publishes, evr_nats.c) */
};

/* In the private area of every header mbuf (hdr_pool priv_size). */
struct evr_tx_meta {
	uint8_t kind;       /* enum evr_tx_kind */
	uint8_t in_port;    /* router port index the event came in on */
	rte_be16_t sport;   /* notification source port */
	rte_be16_t dport;
	uint16_t psum;      /* raw (folded, not inverted) sum of the payload */
	rte_be32_t dst4;
	uint8_t dst6[16];
	uint64_t sub_id;
};

struct evr_waiting {
	struct rte_mbuf *m; /* header with meta, headers not built yet */
	uint32_t slot;      /* neighbour entry */
	uint16_t port;      /* egress port index */
};

static inline struct evr_tx_meta *evr_meta(struct rte_mbuf *m)
{
	return (struct evr_tx_meta *)rte_mbuf_to_priv(m);
}

/* Egress stage: drain the worker's egress ring (and, on worker 0, the
 * control thread's ring) once, bounded; returns descriptors handled. */
unsigned evr_egress_stage(struct evr_worker *w, uint64_t now_tsc);
/* TX stage: route, resolve, build headers, fragment, buffer for TX. */
void evr_egress_notification(struct evr_worker *w, struct rte_mbuf *hdr,
                         uint64_t now_tsc);
/* Send a built frame on port index pi from worker w (counts, frees). */
void evr_egress_frame(struct evr_worker *w, unsigned pi, struct rte_mbuf *m);
void evr_egress_flush(struct evr_worker *w);
/* Walk the notifications waiting for ARP/ND once (drop_all: shutdown). */
void evr_egress_waiting(struct evr_worker *w, uint64_t now, bool drop_all);
/* Build headers for a notification whose next hop MAC is known. */
void evr_egress_send_resolved(struct evr_worker *w, struct rte_mbuf *hdr,
                          unsigned pi, const struct rte_ether_addr *dmac);
/* A self-contained UDP descriptor (header mbuf + payload copy of
 * data[0..len)) for the egress ring, e.g. a SIP endpoint reply; NULL when
 * out of mbufs or too large (counted in cnt). dst/dport network order. */
struct rte_mbuf *evr_egress_udp_desc(struct evr_router *r, struct evr_counters *cnt,
                                 const void *data, uint32_t len, uint8_t family,
                                 const uint8_t *dst, rte_be16_t dport,
                                 rte_be16_t sport, uint8_t in_port);
/* Control thread: deliver a unix: descriptor (header + payload) on a
 * kernel datagram socket, or an esl: one to the ESL server's connection
 * queue; free it; counted on cnt. */
void evr_egress_local_send(struct evr_router *r, struct rte_mbuf *hdr,
                           struct evr_counters *cnt);
/* Main thread at shutdown, after the control thread stopped. */
void evr_egress_unix_close(struct evr_router *r);

#endif /* EVR_EGRESS_H */
