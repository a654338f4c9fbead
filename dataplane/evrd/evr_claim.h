/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `once` claims (evr_claim.c): with a shared store (store.kind nats) a
 * fired `once` subscription is notified by at most one appliance of the
 * cluster, so its notification waits here for the claim.
 *
 * The notify stage queues a fired `once`'s descriptor on r->claim_ring
 * (MP/SC) instead of its egress ring; one claim thread (a DPDK control
 * thread, "evr-claim") claims it with the store (a compare-and-set delete
 * on the bucket: one NATS round trip, never on a worker) and forwards the
 * winners where the notify stage would have sent them: udp: to worker 0
 * (r->ctrl_ring), unix:/esl: to the control thread (r->unix_ring), nats:
 * to the publisher (r->nats_ring). Losers are freed, counted by the store
 * (once_lost). The thread is the only writer of r->claim_cnt.
 *
 * Threads: start/stop on the main thread (stop after the workers and the
 * control loop ended, before the store closes).
 */
#ifndef EVR_CLAIM_H
#define EVR_CLAIM_H

#include <stddef.h>

struct evr_router;
struct evr_store;

/* No-op (r->claim_ring NULL) unless s needs claims. 0 or -errno with err. */
int evr_claim_start(struct evr_router *r, struct evr_store *s, char *err, size_t errlen);
/* Claim what is still queued, stop the thread, free the ring. */
void evr_claim_stop(struct evr_router *r);

#endif /* EVR_CLAIM_H */
