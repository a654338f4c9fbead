/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd service integration (sd_notify, libsystemd): READY=1 once the
 * ports are up, static subscriptions loaded and the workers launched;
 * STATUS= with the router's figures every few seconds; WATCHDOG=1 every
 * half WatchdogSec, but only while every worker's loop counter advances
 * (a stuck worker stops the pings and systemd restarts evrd); STOPPING=1
 * at shutdown. Without NOTIFY_SOCKET (not under systemd) all are no-ops.
 *
 * Thread context: the control (main) thread only.
 */
#ifndef EVR_SD_H
#define EVR_SD_H

#include <stdint.h>

struct evr_router;

void evr_sd_ready(struct evr_router *r);
/* Called every control-loop turn with the TSC. */
void evr_sd_tick(struct evr_router *r, uint64_t now_tsc);
void evr_sd_stopping(void);

#endif /* EVR_SD_H */
