/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evrd's shared runtime state: the router (shared, read-mostly, built at
 * start-up by the main lcore), its ports, and the per-lcore worker. Each
 * module's own types and functions are in its header (evr_rx.h,
 * evr_host.h, evr_sip_ingest.h, evr_notify.h, evr_egress.h, ...).
 *
 * Ownership and threads:
 *  - struct evr_router and struct evr_port are written only before the
 *    workers are launched and read-only afterwards, except the fields
 *    marked atomic (seq, state).
 *  - struct evr_worker belongs to one worker lcore; the control thread only
 *    reads its counters (relaxed loads).
 */
#ifndef EVR_DATAPLANE_H
#define EVR_DATAPLANE_H

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
#include "event/evr_fs_std.h"
#include "evr_notify.h"
#include "evr_rx.h"
#include "evr_sip_ingest.h"
#include "event/evr_event.h"
#include "match/evr_matcher.h"
#include "net/evr_reasm.h"
#include "sip/evr_sip.h"

extern int evr_logtype;
#define EVR_LOG(level, fmt, ...)                                              \
	rte_log(RTE_LOG_##level, evr_logtype, "evrd: " fmt "\n", ##__VA_ARGS__)

#define EVR_MAX_PORTS EVR_CFG_MAX_PORTS
#define EVR_MAX_WORKERS EVR_CFG_MAX_WORKERS

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

struct evr_router;
struct evr_waiting;

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
	/* Notifications waiting for ARP/ND (egress): FIFO ring of waiting_cap
	 * entries. */
	struct evr_waiting *waiting;
	uint32_t waiting_head;
	uint32_t waiting_n;
	uint32_t waiting_cap;
	uint16_t *waiting_by_slot; /* per neighbour slot: entries waiting */
	uint64_t neigh_gen_seen;
	uint64_t waiting_retry_tsc; /* next look at them without a table change */
	uint16_t ip_id;
	struct evr_reasm *reasm; /* IP reassembly (own); NULL: off */
	char *linbuf;    /* ingress datagram linearised (multi-segment RX) */
	uint8_t *fsm_buf; /* a decrypted mod_event_multicast datagram */
	struct evr_sip_ingest sip; /* SIP state shard, endpoint, hand-off */
	uint64_t loops;
	uint64_t busy_loops;
	uint64_t sleeps;
	struct evr_counters cnt[EVR_MAX_PORTS] __rte_cache_aligned;
	struct evr_match_stats match_stats[EVR_MAX_PORTS];
	/* datagrams refused by listeners[].allow, by listener id (also
	 * counted per port as rx_source_refused) */
	uint64_t source_refused[EVR_RX_MAX_LISTENERS];
} __rte_cache_aligned;

struct evr_neigh_table;

/* An element of names_ring: an event name ("CUSTOM sub" with its
 * subclass), NUL-terminated; longer names are not passed. */
#define EVR_EVENT_NAME_MAX 63
struct evr_event_name {
	char s[EVR_EVENT_NAME_MAX + 1];
};

struct evr_dl_rates;
struct evr_live_policy;
struct evr_nats;

struct evr_router {
	const struct evr_config *cfg;
	struct evr_matcher *matcher;
	struct evr_limits limits;
	uint32_t max_fanout;
	unsigned n_ports;
	struct evr_port ports[EVR_MAX_PORTS];
	unsigned n_workers;
	struct evr_worker *workers[EVR_MAX_WORKERS];
	struct evr_rx_listener listeners[65536]; /* by UDP port (evr_rx.h) */
	uint64_t sip_ports[65536 / 64]; /* bitmap: sip.mirror_ports */
	bool has_sip;                /* a mirror port, a sip or hep listener */
	struct evr_fs_mcast_listener *fsm; /* fs_multicast listeners (n_fsm) */
	unsigned n_fsm;
	struct evr_rx_allow allow[EVR_RX_MAX_LISTENERS]; /* by listener id */
	unsigned n_listeners;
	uint64_t wall0_us;           /* wall clock at start_tsc */
	/* FreeSWITCH standard headers of this run (Core-UUID, hostname, IPs):
	 * written once before the workers start, then read-only (gmtoff:
	 * refreshed by the control thread, see event/evr_fs_std.h) */
	struct evr_fs_std fs_std;
	/* HEARTBEAT (control thread): next beat, events at the last one */
	uint64_t hb_next_tsc, hb_events;
	uint64_t tz_next_tsc; /* next re-read of the local UTC offset */
	rte_be16_t default_sport;    /* for raise_event notifications */
	struct rte_mempool *payload_pool;
	struct rte_mempool *hdr_pool;
	struct rte_mempool *indirect_pool;
	struct rte_ring *unix_ring; /* workers -> control thread (MP/SC) */
	/* workers -> control thread (MP/SC, struct evr_event_name): names of
	 * events nobody subscribes to, so MI events_list knows them too */
	struct rte_ring *names_ring;
	int unix_fd; /* control thread's unix: datagram socket; -1: not open */
	/* esl: notifications go to the control server's ESL connections
	 * (evr_ctl_esl_deliver on ctl); NULL: no ESL server */
	int (*esl_deliver)(void *ctx, uint64_t conn, const char *data, size_t len);
	void *esl_ctx;
	struct rte_ring *ctrl_ring; /* control thread, claim thread -> worker 0 (MP/SC) */
	/* fired `once` descriptors waiting for their cluster-wide claim,
	 * workers and control thread -> the claim thread (MP/SC); NULL:
	 * no shared store (evr_claim.c) */
	struct rte_ring *claim_ring;
	struct evr_claim *claim;
	/* nats: descriptors, workers and control thread -> the NATS publisher
	 * thread (MP/SC); NULL: nats.url not set (evr_nats.c) */
	struct rte_ring *nats_ring;
	struct evr_nats *nats;
	struct evr_neigh_table *neigh;
	uint64_t tsc_hz;
	uint64_t drain_tsc;
	uint64_t idle_polls;
	uint32_t idle_sleep_us;
	uint32_t burst;
	/* Control thread's own counters (raise_event, unix: sends). */
	struct evr_counters ctl_cnt;
	/* The NATS publisher thread's (its only writer). */
	struct evr_counters nats_cnt;
	/* The claim thread's (its only writer). */
	struct evr_counters claim_cnt;
	struct evr_match_stats ctl_mst;
	struct evr_notifier ctl_notifier; /* raise_event's notify stage */
	/* runtime settings (config_set, evr_ctl_thread.c): the limiter's
	 * rates (RCU, read by every notifier) and the destination policy the
	 * matcher checks subscribes against (control thread) */
	struct evr_dl_rates *dl_rates;
	struct evr_live_policy *policy;
	uint64_t start_tsc;
	/* Router-wide Event-Sequence; workers reserve blocks per burst. */
	uint64_t seq __rte_cache_aligned;
	int state __rte_cache_aligned; /* enum evr_run_state (atomic) */
};

#define EVR_CNT(cnt, name) ((cnt)->c[EVR_CNT_##name])

/* Count one on worker w's block for port pi (its only writer). */
static inline void evr_count(struct evr_worker *w, unsigned pi, enum evr_counter c)
{
	w->cnt[pi].c[c]++;
}

/* ---- evr_worker.c ---- */
int evr_worker_init(struct evr_router *r, struct evr_worker *w, unsigned id,
                    unsigned lcore);
void evr_worker_fini(struct evr_worker *w);
int evr_worker_main(void *arg); /* lcore entry */

#endif /* EVR_DATAPLANE_H */
