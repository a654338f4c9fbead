/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control-thread side of the dataplane (evr_ctl_thread.c): control hooks (stats,
 * raise_event delivery), the unix: notification ring drain, and the stats
 * snapshot also written by `evrd --stats-file`.
 *
 * Thread context: the control thread (main lcore) only, registered with
 * urcu-qsbr.
 */
#ifndef EVR_CTL_H
#define EVR_CTL_H

#include <jansson.h>

#include "evr_control.h"
#include "evr_dataplane.h"

/* New reference: {"totals", "workers", "ports", ...}. */
json_t *evr_ctl_stats_json(struct evr_router *r);
/* New reference: the counters of workers x ports, named as in the stats
 * snapshot: worker and port < 0 = "totals" (every worker and the control
 * thread), worker only = workers[worker].counters, port only =
 * ports[port].counters, both = that queue's block; SIP state and endpoint
 * counters when no port is given. NULL when an index is out of range. Any
 * thread (telemetry): only relaxed loads of the counter blocks. */
json_t *evr_ctl_counters_json(const struct evr_router *r, int worker, int port);
/* Send every queued unix: notification; returns how many. */
unsigned evr_ctl_drain_unix(struct evr_router *r);

/* Register the event names workers saw unmatched (names_ring) with the
 * control server (MI events_list). Control thread. */
unsigned evr_ctl_drain_names(struct evr_router *r, struct evr_control *ctl);

/* Raise HEARTBEAT when heartbeat.interval_s is due (evrd's main loop calls
 * it every control.poll_ms; the first beat comes one interval after start,
 * FreeSWITCH's every 20 s after), and re-read the local UTC offset of the
 * standard headers once a minute. Control thread. */
void evr_ctl_heartbeat_tick(struct evr_router *r, struct evr_control *ctl, uint64_t now_tsc);
void evr_ctl_hooks(struct evr_router *r, struct evr_control_hooks *h);
/* Build the destination policy from r->cfg (destinations.*, the ports'
 * addresses) and give it to the matcher; the one it replaces is freed
 * after a grace period. Main thread at start (before any subscribe), then
 * the control thread (config_set). 0 or -ENOMEM (the old one stays). */
int evr_ctl_policy_publish(struct evr_router *r);
/* At exit, after the matcher is gone: the last policy and rates. */
void evr_ctl_runtime_free(struct evr_router *r);
/* Events decoded or derived, and every named drop, over all workers and the
 * control thread (HEARTBEAT's and systemd STATUS's figures). Any thread:
 * relaxed loads. */
void evr_ctl_totals(const struct evr_router *r, uint64_t *events, uint64_t *drops);
/* r->esl_deliver: an esl: notification to the ESL server of ctx (the
 * struct evr_control). Control thread. */
int evr_ctl_esl_deliver(void *ctx, uint64_t conn, const char *data, size_t len);

#endif /* EVR_CTL_H */
