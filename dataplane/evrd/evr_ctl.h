/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control-thread side of the dataplane (evr_ctl.c): control hooks (stats,
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
#include "evr_dp.h"

/* New reference: {"totals", "workers", "ports", ...}. */
json_t *evr_ctl_stats_json(struct evr_router *r);
/* Send every queued unix: notification; returns how many. */
unsigned evr_ctl_drain_unix(struct evr_router *r);
void evr_ctl_hooks(struct evr_router *r, struct evr_control_hooks *h);

#endif /* EVR_CTL_H */
