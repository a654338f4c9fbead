/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP ingest (evr_sip_ingest.c): mirrored SIP, HEP and the SIP endpoint's
 * requests into the worker's state shard and endpoint; it owns the
 * hand-off ring between shards and the held-message queue.
 *
 * Thread context: worker lcores; init/fini on the main thread before the
 * workers start / after they stopped.
 */
#ifndef EVR_SIP_INGEST_H
#define EVR_SIP_INGEST_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "evr_rx.h"
#include "sip/evr_sip.h"

struct evr_router;
struct evr_worker;
struct evr_sip_state;
struct evr_sip_endpoint;

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

/* A SIP message held for the request it answers (see "Holding" in evr_sip_ingest.c). */
struct evr_sip_held {
	struct evr_sip_handoff h;
	uint64_t deadline_tsc;
	uint64_t cid_hash; /* Call-ID: what a newly applied request may resolve */
};

/*
 * A worker's SIP ingest (embedded in struct evr_worker, used by that
 * worker only; all NULL when no SIP is configured): its shard of
 * dialog/registration state (the Call-IDs evr_sip_state_shard() gives it),
 * the endpoint's retransmission cache, the ring other workers hand this
 * shard's messages to, and the messages held for their request.
 */
struct evr_sip_ingest {
	struct evr_sip_state *state;
	struct evr_sip_endpoint *endpoint;
	struct rte_ring *handoff;
	struct evr_sip_msg *msg; /* parse output (large: heap, once) */
	struct evr_sip_held *held;  /* FIFO ring of held messages */
	uint32_t held_head, held_n, held_cap;
	uint64_t reorder_tsc;
	uint64_t held_bloom[16]; /* Call-ID hashes held (1024-bit filter) */
	uint64_t held_next_due;  /* earliest deadline held (TSC) */
	char *replybuf;             /* endpoint replies */
	uint64_t tick_tsc; /* next state timer tick */
	uint32_t hep_pw_len; /* sip.hep_password's length; 0 = not checked */
};

int evr_sip_ingest_init(struct evr_router *r, struct evr_worker *w);
void evr_sip_ingest_fini(struct evr_worker *w);
/* One SIP datagram of rx kind EVR_RX_MIRROR / HEP / SIP (endpoint). Takes
 * ownership of m. */
void evr_sip_ingest_rx(struct evr_worker *w, unsigned pi, struct rte_mbuf *m,
                  const struct evr_rx_dgram *d, uint64_t now_tsc);
/* Messages other workers handed over, and the state timers; returns work
 * done (for the idle logic). */
unsigned evr_sip_ingest_poll(struct evr_worker *w, uint64_t now_tsc);
uint64_t evr_wall_us(const struct evr_router *r, uint64_t tsc);

#endif /* EVR_SIP_INGEST_H */
