/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NATS publisher (evr_nats.c): nats: destinations leave evrd here.
 *
 * Workers (and the control thread's raise_event) never talk to NATS: the
 * notify stage renders the subject into a header mbuf whose `next` is the
 * shared payload and queues it on r->nats_ring (MP/SC, nats.ring), in one
 * burst per event, dropping what does not fit (nats_ring_full). One
 * publisher thread (a DPDK control thread, "evr-nats") dequeues bursts and
 * publishes each with natsConnection_Publish; libnats flushes
 * asynchronously (its flusher thread), reconnects by itself forever and
 * buffers up to nats.max_pending_bytes while reconnecting. Outcomes are
 * counted on r->nats_cnt (this thread is its only writer): nats_published,
 * nats_buffer_full, nats_disconnected, nats_failed.
 *
 * Threads: start/stop on the main thread (stop after the workers and the
 * control loop ended); the _json/_metrics readers on the control thread.
 */
#ifndef EVR_NATS_H
#define EVR_NATS_H

#include <stddef.h>

#include <jansson.h>

struct evr_router;
struct evr_metrics;

/* Connect (or keep trying in the background: an unreachable server is not
 * an error) and start the publisher thread. No-op when nats.url is "".
 * 0, or -errno with err. */
int evr_nats_start(struct evr_router *r, char *err, size_t errlen);
/* Publish what is still queued, flush (bounded), close. */
void evr_nats_stop(struct evr_router *r);
/* libnats' own threads and memory, once every NATS client (this
 * publisher, a nats store) is closed. Main thread, at exit. */
void evr_nats_lib_close(void);
/* {url, status, connected, reconnects, out_msgs, out_bytes, ring, ring_size};
 * NULL when nats is off. */
json_t *evr_nats_json(const struct evr_router *r);
/* Prometheus gauges and counters of the connection (nothing when off). */
void evr_nats_metrics(const struct evr_router *r, struct evr_metrics *m);

#endif /* EVR_NATS_H */
