/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evrd dataplane state: the router (shared, read-mostly, built at start-up
 * by the main lcore), ports, per-worker state, and the notification
 * descriptor that travels on the egress rings.
 *
 * Ownership and threads:
 *  - struct evr_router and struct evr_port are written only before the
 *    workers are launched and read-only afterwards, except the fields
 *    marked atomic (seq, state).
 *  - struct evr_worker belongs to one worker lcore; the control thread only
 *    reads its counters (relaxed loads).
 *  - A notification descriptor is a header mbuf from hdr_pool: its private
 *    area holds struct evr_tx_meta (destination, ports, payload checksum);
 *    its `next` is the shared payload chain (one per event and format,
 *    reference counted, never copied per subscriber). For unix:
 *    destinations the header's data holds a copy of the struct evr_dest.
 *    Everything TX needs is copied at match time, so no subscription
 *    pointer outlives the matching thread's quiescent state.
 */
#ifndef EVR_DP_H
#define EVR_DP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "evr_config.h"
#include "evr_counters.h"
#include "evr_notify.h"
#include "event/evr_event.h"
#include "match/evr_matcher.h"
#include "net/evr_reasm.h"
#include "sip/evr_sip.h"

extern int evr_logtype;
#define EVR_LOG(level, fmt, ...)                                              \
	rte_log(RTE_LOG_##level, evr_logtype, "evrd: " fmt "\n", ##__VA_ARGS__)

#define EVR_MAX_PORTS EVR_CFG_MAX_PORTS
#define EVR_MAX_WORKERS EVR_CFG_MAX_WORKERS
#define EVR_TX_BURST 32
#define EVR_EGRESS_BURST 64
#define EVR_MAX_FRAGS 128 /* 65535 / (576 - 20) < 128 */

/* Header mbuf room: Ethernet + VLAN-less IPv6 + UDP in front of the
 * payload, or a struct evr_dest copy for unix: destinations. */
#define EVR_HDR_DATA_ROOM (RTE_PKTMBUF_HEADROOM + 256)

enum evr_run_state {
	EVR_RUNNING = 0,
	EVR_STOPPING, /* workers: stop RX, drain egress, flush TX, exit */
};

struct evr_port {
	uint16_t port_id;
	uint16_t idx;
	char name[32];
	struct rte_ether_addr mac;
	bool has4;
	bool has6;
	bool has_gw4;
	bool has_gw6;
	rte_be32_t ip4, mask4, gw4;
	uint8_t ip6[16];
	uint8_t ll6[16]; /* fe80::/64 from the MAC (EUI-64) */
	uint8_t gw6[16];
	uint8_t plen6;
	uint16_t mtu;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	bool multiseg; /* PMD takes chained mbufs on TX */
	bool rss;      /* RSS on UDP 4-tuple configured */
	bool verify_udp; /* ports[].verify_udp_checksum */
	bool mirror;     /* ports[].mirror: observe SIP for other hosts */
	bool txq_shared; /* fewer TX queues than workers: see txq_lock */
	/* Only when txq_shared: worker w sends on queue w % nb_txq under
	 * txq_lock[queue] (the PMD's TX is not thread-safe). */
	rte_spinlock_t txq_lock[EVR_MAX_WORKERS];
	bool started;
	struct rte_mempool *rx_pool;
};

/* Is IPv6 address a on port p's link: link-local (fe80::/10) or inside
 * the port's prefix. Any thread (reads configuration only). */
static inline bool evr_port_onlink6(const struct evr_port *p, const uint8_t *a)
{
	uint8_t plen = p->plen6;

	if (!p->has6)
		return false;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	for (unsigned i = 0; i < 16 && plen; i++) {
		unsigned bits = plen >= 8 ? 8 : plen;
		uint8_t mask = (uint8_t)(0xff00u >> bits);

		if ((a[i] & mask) != (p->ip6[i] & mask))
			return false;
		plen = (uint8_t)(plen - bits);
	}
	return true;
}

enum evr_tx_kind {
	EVR_TXK_UDP4 = 0,
	EVR_TXK_UDP6,
	EVR_TXK_UNIX,
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

struct evr_pend {
	struct rte_mbuf *m; /* header with meta, headers not built yet */
	uint32_t slot;      /* neighbour entry */
	uint16_t port;      /* egress port index */
};

/*
 * One received datagram handed from L2-L4 (evr_net_rx) to the worker.
 * kind: a listener kind (enum evr_format incl. AUTO, EVR_CFG_LISTEN_SIP,
 * EVR_CFG_LISTEN_HEP) or EVR_RX_MIRROR (observed on a mirror port).
 * flow is filled for the SIP kinds only.
 */
#define EVR_RX_MIRROR EVR_CFG_LISTEN__COUNT
struct evr_rx_dgram {
	uint32_t off;
	uint32_t len;
	uint8_t kind;
	rte_be16_t lport; /* our UDP port (listeners) */
	struct evr_sip_flow flow;
};

/*
 * SIP hand-off element (rte_ring of elements, MP/SC, one per worker): a SIP
 * message whose Call-ID another worker owns. The mbuf travels with its
 * reference; the owner parses it again (cheaper than copying the parsed
 * message, which is ~10 KiB of views) and frees it.
 */
struct evr_sip_handoff {
	struct rte_mbuf *m;
	uint32_t off; /* SIP message (HEP already unwrapped) */
	uint32_t len;
	uint8_t in_port;
	uint8_t pad[7];
	struct evr_sip_flow flow;
};

/* A SIP message held for the request it answers (see evr_sipio.c). */
struct evr_sip_held {
	struct evr_sip_handoff h;
	uint64_t deadline_tsc;
	uint64_t cid_hash; /* Call-ID: what a newly applied request may resolve */
};

struct evr_router;
struct evr_sip_state;
struct evr_sip_endpoint;

struct evr_worker {
	unsigned id;
	unsigned lcore;
	struct evr_router *r;
	struct evr_scratch scratch;
	struct evr_notifier notifier; /* match -> fan-out -> egress ring */
	struct rte_ring *egress;      /* match stage -> TX stage (SP/SC, own) */
	struct rte_eth_dev_tx_buffer *txb[EVR_MAX_PORTS];
	uint16_t txq[EVR_MAX_PORTS]; /* TX queue used on each port */
	bool has_rxq[EVR_MAX_PORTS];
	/* Notifications waiting for ARP/ND: FIFO ring of pend_cap entries. */
	struct evr_pend *pend;
	uint32_t pend_head;
	uint32_t pend_n;
	uint32_t pend_cap;
	uint16_t *pend_by_slot; /* per neighbour slot: entries waiting */
	uint64_t neigh_gen_seen;
	uint64_t pend_next_tsc;
	uint16_t ip_id;
	struct evr_reasm *reasm; /* IP reassembly (own); NULL: off */
	char *linbuf;    /* ingress datagram linearised (multi-segment RX) */
	/* SIP: this worker's shard of dialog/registration state (the Call-IDs
	 * evr_sip_state_shard() gives it), the endpoint's retransmission cache,
	 * the ring other workers hand this shard's messages to. */
	struct evr_sip_state *sipst;
	struct evr_sip_endpoint *sipep;
	struct rte_ring *handoff;
	struct evr_sip_msg *sipmsg; /* parse output (large: heap, once) */
	struct evr_sip_held *held;  /* FIFO ring of held messages */
	uint32_t held_head, held_n, held_cap;
	uint64_t reorder_tsc;
	uint64_t held_bloom[16]; /* Call-ID hashes held (1024-bit filter) */
	uint64_t held_next_due;  /* earliest deadline held (TSC) */
	char *replybuf;             /* endpoint replies */
	uint64_t sip_tick_tsc;
	uint64_t loops;
	uint64_t busy_loops;
	uint64_t sleeps;
	struct evr_counters cnt[EVR_MAX_PORTS] __rte_cache_aligned;
	struct evr_match_stats mst[EVR_MAX_PORTS];
} __rte_cache_aligned;

struct evr_neigh_table;

struct evr_router {
	const struct evr_config *cfg;
	struct evr_matcher *matcher;
	struct evr_limits limits;
	uint32_t max_fanout;
	unsigned n_ports;
	struct evr_port ports[EVR_MAX_PORTS];
	unsigned n_workers;
	struct evr_worker *workers[EVR_MAX_WORKERS];
	uint8_t listener_fmt[65536]; /* 0 = none, else listener kind + 1 */
	uint64_t sip_ports[65536 / 64]; /* bitmap: sip.mirror_ports */
	bool has_sip;                /* a mirror port, a sip or hep listener */
	uint64_t wall0_us;           /* wall clock at start_tsc */
	rte_be16_t default_sport;    /* for raise_event notifications */
	struct rte_mempool *payload_pool;
	struct rte_mempool *hdr_pool;
	struct rte_mempool *indirect_pool;
	struct rte_ring *unix_ring; /* workers -> control thread (MP/SC) */
	struct rte_ring *ctrl_ring; /* control thread -> worker 0 (SP/SC) */
	struct evr_neigh_table *neigh;
	uint64_t tsc_hz;
	uint64_t drain_tsc;
	uint64_t idle_polls;
	uint32_t idle_sleep_us;
	uint32_t burst;
	/* Control thread's own counters (raise_event, unix: sends). */
	struct evr_counters ctl_cnt;
	struct evr_match_stats ctl_mst;
	struct evr_notifier ctl_notifier; /* raise_event's notify stage */
	uint64_t start_tsc;
	/* Router-wide Event-Sequence; workers reserve blocks per burst. */
	uint64_t seq __rte_cache_aligned;
	int state __rte_cache_aligned; /* enum evr_run_state (atomic) */
};

static inline struct evr_tx_meta *evr_meta(struct rte_mbuf *m)
{
	return (struct evr_tx_meta *)rte_mbuf_to_priv(m);
}

#define EVR_CNT(cnt, name) ((cnt)->c[EVR_CNT_##name])

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

static inline bool evr_sip_port(const struct evr_router *r, uint16_t port)
{
	return (r->sip_ports[port >> 6] >> (port & 63)) & 1;
}

/* ---- evr_worker.c ---- */
int evr_worker_init(struct evr_router *r, struct evr_worker *w, unsigned id,
                    unsigned lcore);
void evr_worker_fini(struct evr_worker *w);
int evr_worker_main(void *arg); /* lcore entry */

/* ---- evr_tx.c ---- */
/* Egress stage: drain the worker's egress ring (and, on worker 0, the
 * control thread's ring) once, bounded; returns descriptors handled. */
unsigned evr_tx_stage(struct evr_worker *w, uint64_t now_tsc);
/* TX stage: route, resolve, build headers, fragment, buffer for TX. */
void evr_tx_notification(struct evr_worker *w, struct rte_mbuf *hdr,
                         uint64_t now_tsc);
/* Send a built frame on port index pi from worker w (counts, frees). */
void evr_tx_frame(struct evr_worker *w, unsigned pi, struct rte_mbuf *m);
void evr_tx_flush(struct evr_worker *w);
/* Walk the notifications waiting for ARP/ND once (drop_all: shutdown). */
void evr_tx_pending(struct evr_worker *w, uint64_t now, bool drop_all);
/* Build headers for a notification whose next hop MAC is known. */
void evr_tx_send_resolved(struct evr_worker *w, struct rte_mbuf *hdr,
                          unsigned pi, const struct rte_ether_addr *dmac);
/* A self-contained UDP descriptor (header mbuf + payload copy of
 * data[0..len)) for the egress ring, e.g. a SIP endpoint reply; NULL when
 * out of mbufs or too large (counted in cnt). dst/dport network order. */
struct rte_mbuf *evr_tx_udp_desc(struct evr_router *r, struct evr_counters *cnt,
                                 const void *data, uint32_t len, uint8_t family,
                                 const uint8_t *dst, rte_be16_t dport,
                                 rte_be16_t sport, uint8_t in_port);
/* Control thread: send a unix: descriptor (header + payload), free it. */
void evr_tx_unix_send(struct evr_router *r, struct rte_mbuf *hdr,
                      struct evr_counters *cnt);

/* ---- evr_net.c ---- */
/* Classify and consume one received frame. Returns true with *d filled
 * when it is a datagram for a listener, or SIP observed on a mirror port:
 * *mp (which reassembly may have replaced by the whole datagram) is then
 * the caller's to free. Otherwise the frame was answered, kept for
 * reassembly or dropped (counted). Frames observed on a mirror port are
 * never answered. */
bool evr_net_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf **mp,
                struct evr_rx_dgram *d);
/* Add to port pi's counters what w->reasm dropped since `before` (a copy
 * of its stats taken earlier). Worker thread. */
void evr_reasm_count(struct evr_worker *w, unsigned pi, const struct evr_reasm_stats *before);
/* Build an ARP request / neighbour solicitation for target on port pi. */
struct rte_mbuf *evr_net_arp_request(struct evr_router *r, unsigned pi,
                                     rte_be32_t target);
struct rte_mbuf *evr_net_nd_solicit(struct evr_router *r, unsigned pi,
                                    const uint8_t target[16]);
/* Our IPv6 source for a destination on port p (link-local for fe80::/10). */
const uint8_t *evr_net_src6(const struct evr_port *p, const uint8_t *dst);


/* ---- evr_sipio.c: SIP glue (mirror/HEP -> state shard, endpoint) ---- */
int evr_sipio_init(struct evr_router *r, struct evr_worker *w);
void evr_sipio_fini(struct evr_worker *w);
/* RX: one SIP datagram of kind EVR_RX_MIRROR / HEP / SIP (endpoint). Takes
 * ownership of m. */
void evr_sipio_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                  const struct evr_rx_dgram *d, uint64_t now_tsc);
/* Messages other workers handed over, and the state timers; returns work
 * done (for the idle logic). */
unsigned evr_sipio_poll(struct evr_worker *w, uint64_t now_tsc);
uint64_t evr_wall_us(const struct evr_router *r, uint64_t tsc);

#endif /* EVR_DP_H */
