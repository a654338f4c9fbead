/* SPDX-License-Identifier: Apache-2.0 */
/* systemd service integration: see evr_sd.h. */
#include <stdbool.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "evr_ctl_thread.h"
#include "evr_dataplane.h"
#include "evr_sd.h"

#define STATUS_EVERY_S 5

static struct {
	bool on;               /* NOTIFY_SOCKET set */
	uint64_t wd_tsc;       /* ping period (half WatchdogSec); 0 = no watchdog */
	uint64_t next_wd, next_status;
	uint64_t seen[EVR_MAX_WORKERS];
	bool stalled_logged;
} sd;

static void status(struct evr_router *r)
{
	struct evr_matcher_stats ms;
	uint64_t events, drops;

	evr_ctl_totals(r, &events, &drops);
	evr_matcher_get_stats(r->matcher, &ms);
	sd_notifyf(0, "STATUS=%u worker(s), %llu subscription(s), %llu event(s), %llu drop(s)",
	           r->n_workers, (unsigned long long)ms.live, (unsigned long long)events,
	           (unsigned long long)drops);
}

void evr_sd_ready(struct evr_router *r)
{
	uint64_t usec = 0;

	sd.on = getenv("NOTIFY_SOCKET") != NULL;
	if (!sd.on)
		return;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec)
		sd.wd_tsc = r->tsc_hz * usec / 2000000u;
	for (unsigned i = 0; i < r->n_workers; i++)
		sd.seen[i] = __atomic_load_n(&r->workers[i]->loops, __ATOMIC_RELAXED);
	sd_notify(0, "READY=1");
	status(r);
	sd.next_status = rte_rdtsc() + STATUS_EVERY_S * r->tsc_hz;
	sd.next_wd = rte_rdtsc() + sd.wd_tsc;
	if (sd.wd_tsc)
		sd_notify(0, "WATCHDOG=1");
}

/* Every worker's loop moved since the last ping (idle loops count: an idle
 * worker still turns; a stuck one does not). */
static bool workers_progress(struct evr_router *r)
{
	bool ok = true;

	for (unsigned i = 0; i < r->n_workers; i++) {
		uint64_t l = __atomic_load_n(&r->workers[i]->loops, __ATOMIC_RELAXED);

		if (l == sd.seen[i]) {
			ok = false;
			if (!sd.stalled_logged)
				EVR_LOG(ERR, "worker %u made no progress for %.1f s: watchdog "
				        "not fed", i, (double)sd.wd_tsc / (double)r->tsc_hz);
		}
		sd.seen[i] = l;
	}
	sd.stalled_logged = !ok;
	return ok;
}

void evr_sd_tick(struct evr_router *r, uint64_t now_tsc)
{
	if (!sd.on)
		return;
	if (sd.wd_tsc && now_tsc >= sd.next_wd) {
		sd.next_wd = now_tsc + sd.wd_tsc;
		if (workers_progress(r))
			sd_notify(0, "WATCHDOG=1");
	}
	if (now_tsc >= sd.next_status) {
		sd.next_status = now_tsc + STATUS_EVERY_S * r->tsc_hz;
		status(r);
	}
}

void evr_sd_stopping(void)
{
	if (sd.on)
		sd_notify(0, "STOPPING=1");
}
