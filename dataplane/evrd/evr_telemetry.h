/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evrd's counters over DPDK telemetry (evr_telemetry.c): /evr/... commands
 * on EAL's telemetry socket, <runtime dir>/dpdk_telemetry.v2 (e.g.
 * /var/run/dpdk/<eal.file_prefix>/), same names as `evrctl stats`.
 *
 * Thread context: init and fini on the main lcore; the command callbacks run
 * on DPDK's telemetry threads (one per client connection, concurrently) and
 * only read the router: immutable fields, counters with relaxed loads.
 */
#ifndef EVR_TELEMETRY_H
#define EVR_TELEMETRY_H

#include "evr_dataplane.h"

/* Register the /evr/ commands (once per process) and serve r from now on.
 * Call once r's workers exist and its start time is set. 0 or -errno from
 * rte_telemetry_register_cmd. */
int evr_telemetry_init(struct evr_router *r);

/* Stop serving the router (the commands stay registered: 22.11 cannot
 * unregister; they answer null) and wait for callbacks in flight. Call
 * before the workers are freed. */
void evr_telemetry_fini(void);

#endif /* EVR_TELEMETRY_H */
