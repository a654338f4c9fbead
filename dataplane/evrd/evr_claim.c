/* SPDX-License-Identifier: Apache-2.0 */
/* `once` claims before notifying (evr_claim.h has the design). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_thread.h>

#include "evr_claim.h"
#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_store.h"

#define CLAIM_BURST 32u
#define IDLE_SLEEP_NS 1000000L /* nothing queued: look again in 1 ms */

struct evr_claim {
	struct evr_router *r;
	struct evr_store *store;
	pthread_t thread;
	bool running;
	int stop; /* atomic */
};

/* A claimed descriptor goes where the notify stage would have sent it. */
static void forward(struct evr_router *r, struct rte_mbuf *h)
{
	struct evr_counters *cnt = &r->claim_cnt;
	const struct evr_tx_meta *meta = evr_meta(h);
	struct rte_ring *ring;
	enum evr_counter full;

	switch (meta->kind) {
	case EVR_TXK_NATS:
		ring = r->nats_ring;
		full = EVR_CNT_NATS_RING_FULL;
		break;
	case EVR_TXK_LOCAL:
		ring = r->unix_ring;
		full = EVR_CNT_UNIX_RING_FULL;
		break;
	default: /* udp: only workers own TX queues */
		ring = r->ctrl_ring;
		full = EVR_CNT_RING_FULL;
		break;
	}
	if (ring && rte_ring_mp_enqueue(ring, h) == 0) {
		cnt->c[EVR_CNT_NOTIFICATIONS]++;
		return;
	}
	cnt->c[full]++;
	rte_pktmbuf_free(h);
}

static unsigned claim_burst(struct evr_claim *c)
{
	struct rte_mbuf *d[CLAIM_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(c->r->claim_ring, (void **)d, CLAIM_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		if (evr_store_claim_once(c->store, evr_meta(d[i])->sub_id))
			forward(c->r, d[i]);
		else
			rte_pktmbuf_free(d[i]); /* claimed elsewhere: counted once_lost */
	}
	return n;
}

static void *claimer(void *arg)
{
	struct evr_claim *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		if (claim_burst(c) == 0) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = IDLE_SLEEP_NS};
			nanosleep(&ts, NULL);
		}
	}
	while (claim_burst(c) != 0) {
		/* what the producers left before they stopped */
	}
	return NULL;
}

int evr_claim_start(struct evr_router *r, struct evr_store *s, char *err, size_t errlen)
{
	struct evr_claim *c;
	int rc;

	if (!evr_store_claims(s))
		return 0;
	r->claim_ring = rte_ring_create("evr_claim", r->cfg->rings.ctrl_size, rte_socket_id(),
	                                RING_F_SC_DEQ | RING_F_EXACT_SZ);
	c = calloc(1, sizeof(*c));
	if (!r->claim_ring || !c) {
		free(c);
		snprintf(err, errlen, "once claims: %s", r->claim_ring ? "out of memory"
		                                                       : rte_strerror(rte_errno));
		return -ENOMEM;
	}
	c->r = r;
	c->store = s;
	r->claim = c;
	rc = rte_ctrl_thread_create(&c->thread, "evr-claim", NULL, claimer, c);
	if (rc != 0) {
		snprintf(err, errlen, "once claims: thread: %s", strerror(rc));
		return -rc;
	}
	c->running = true;
	return 0;
}

void evr_claim_stop(struct evr_router *r)
{
	struct evr_claim *c = r->claim;

	if (c && c->running) {
		__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
		pthread_join(c->thread, NULL);
	}
	free(c);
	r->claim = NULL;
	if (r->claim_ring) {
		struct rte_mbuf *h;
		while (rte_ring_dequeue(r->claim_ring, (void **)&h) == 0)
			rte_pktmbuf_free(h);
		rte_ring_free(r->claim_ring);
		r->claim_ring = NULL;
	}
}
