/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rx (evr_rx.c): L2-L4 classification of received frames, and the rx
 * kinds a datagram is handed on with. The rx kind is evrd's own: config's
 * listener formats are mapped to it once, at start-up
 * (evr_rx_map_listeners), so the dataplane never reuses config numbering.
 *
 * Thread context: worker lcores, except evr_rx_map_listeners (main thread,
 * before the workers start).
 */
#ifndef EVR_RX_H
#define EVR_RX_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "net/evr_reasm.h"
#include "sip/evr_sip.h"
#include "codec/evr_fs_mcast.h"
#include "net/evr_cidr.h"

struct evr_config;
struct evr_router;
struct evr_worker;

enum evr_rx_kind {
	EVR_RX_NONE = 0, /* no listener: dropped (counted) */
	EVR_RX_EVENT,    /* an event datagram: decode as `format` */
	EVR_RX_SIP,      /* a request to the SIP endpoint */
	EVR_RX_HEP,      /* HEPv3 from a capture agent */
	EVR_RX_MIRROR,   /* SIP between other hosts, observed on a mirror port */
};

/* evr_rx_listener.format of a FreeSWITCH mod_event_multicast listener
 * (kind EVR_RX_EVENT): trailer/PSK first, then the plain decoder. */
#define EVR_RX_FMT_FS_MCAST 0xf0u

/* A mod_event_multicast listener's port, group and key (r->fsm). */
struct evr_fs_mcast_listener {
	uint16_t port;          /* host order */
	uint32_t group;         /* IPv4, network order; 0: none */
	bool has_group6;
	uint8_t group6[16];     /* IPv6 group (ff00::/8) when has_group6 */
	bool has_psk;
	struct evr_fs_mcast_psk psk; /* read-only after start: shared by workers */
};

/* What arrives on one UDP port (the router's per-port table). */
struct evr_rx_listener {
	uint8_t kind;   /* enum evr_rx_kind */
	uint8_t format; /* EVR_RX_EVENT: enum evr_format (AUTO allowed) */
	uint8_t id;     /* its index in the configuration (r->allow, refusals) */
};

/* Listeners at most (the settings table's bound on `listeners`). */
#define EVR_RX_MAX_LISTENERS 256u

/* Sources a listener takes datagrams from (listeners[].allow). n == 0:
 * the on-link subnets of the port a datagram arrives on. Read-only after
 * start: shared by the workers. */
struct evr_rx_allow {
	struct evr_cidr *v;
	uint32_t n;
	uint16_t port; /* host order, for stats */
};

/*
 * One received datagram handed from L2-L4 (evr_rx) to the worker.
 * flow is filled for the SIP kinds only.
 */
struct evr_rx_dgram {
	uint32_t off;
	uint32_t len;
	uint8_t kind;     /* enum evr_rx_kind */
	uint8_t format;   /* EVR_RX_EVENT: enum evr_format */
	rte_be16_t lport; /* our UDP port (listeners) */
	struct evr_sip_flow flow;
};

/* Classify and consume one received frame on port pi. Returns true with
 * *d filled when it is a datagram for a listener, or SIP observed on a
 * mirror port: *mp (which reassembly may have replaced by the whole
 * datagram) is then the caller's to free. Otherwise the frame was
 * answered (host protocols), kept for reassembly or dropped (counted).
 * Frames observed on a mirror port are never answered. */
bool evr_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf **mp,
            struct evr_rx_dgram *d);
/* Add to port pi's counters what w->reasm dropped since `before` (a copy
 * of its stats taken earlier). */
void evr_rx_count_reasm(struct evr_worker *w, unsigned pi,
                        const struct evr_reasm_stats *before);
/* Fill r->listeners (and r->has_sip) from the configured listeners. */
void evr_rx_map_listeners(struct evr_router *r, const struct evr_config *cfg);

/* Contiguous view of m[off, off+len): in place when the first segment holds
 * it, else copied to the worker's linbuf (reassembled or multi-segment RX).
 * NULL only if the range is outside the packet. */
static inline const char *evr_rx_view(char *linbuf, struct rte_mbuf *m, uint32_t off,
                                      uint32_t len)
{
	if (off + len <= m->data_len)
		return rte_pktmbuf_mtod_offset(m, const char *, off);
	return rte_pktmbuf_read(m, off, len, linbuf);
}

#endif /* EVR_RX_H */
