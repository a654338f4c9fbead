/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HEARTBEAT: evrd's own liveness event, raised every heartbeat.interval_s
 * from the control thread's loop (evrd.c), as FreeSWITCH's core raises one
 * every 20 s (switch_core.c send_heartbeat). It is built here and goes to
 * its subscribers through evr_control_raise, the path raise_event uses, so
 * it is matched like any event (name, filters on its headers).
 *
 * Headers, in FreeSWITCH's order: the standard ones (event/evr_fs_std.h),
 * Event-Info "System Ready", Up-Time (switch_core_measure_time's words),
 * FreeSWITCH-Version (evrd's version: subscribers read it as the peer's
 * version), Uptime-msec; then evrd's figures under Evr- names, where
 * FreeSWITCH has session figures that mean nothing for a router.
 *
 * Thread context: control thread only; the event is built in a scratch
 * allocated per beat (every interval_s, not a hot path).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "evr_control_internal.h"
#include "event/evr_event_build.h"

size_t evr_fs_uptime_text(char *out, size_t cap, uint64_t us)
{
	/* switch_core_measure_time: microseconds, milliseconds, then seconds
	 * up to 365-day years */
	uint64_t t = us / 1000;
	unsigned mms = (unsigned)(us % 1000), ms = (unsigned)(t % 1000), sec, min, hr, day;
	uint64_t yr;
	int n;

	t /= 1000;
	sec = (unsigned)(t % 60);
	t /= 60;
	min = (unsigned)(t % 60);
	t /= 60;
	hr = (unsigned)(t % 24);
	t /= 24;
	day = (unsigned)(t % 365);
	yr = t / 365;
#define PL(v) (v) == 1 ? "" : "s"
	n = snprintf(out, cap,
	             "%llu year%s, %u day%s, %u hour%s, %u minute%s, %u second%s, "
	             "%u millisecond%s, %u microsecond%s",
	             (unsigned long long)yr, PL(yr), day, PL(day), hr, PL(hr), min, PL(min), sec,
	             PL(sec), ms, PL(ms), mms, PL(mms));
#undef PL
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}

uint64_t evr_control_uptime_us(const struct evr_control *c)
{
	struct timespec now;
	int64_t d;

	clock_gettime(CLOCK_MONOTONIC, &now);
	d = (int64_t)(now.tv_sec - c->started_mono.tv_sec) * 1000000
	    + (now.tv_nsec - c->started_mono.tv_nsec) / 1000;
	return d > 0 ? (uint64_t)d : 0;
}

static bool add_u64(struct evr_scratch *s, const char *name, size_t nl, uint64_t v)
{
	char num[24];

	return evr_ev_add(s, name, nl, num, evr_u64dec(num, v), 0, s->lim.max_value_len);
}

#define ADDS(s, name, v, n) evr_ev_add((s), name, sizeof(name) - 1, (v), (n), 0, (s)->lim.max_value_len)
#define ADDU(s, name, v) add_u64((s), name, sizeof(name) - 1, (v))

int evr_control_heartbeat(struct evr_control *c, uint64_t uptime_us, uint64_t wall_us,
                          const struct evr_heartbeat_figures *f, struct evr_raise_result *res)
{
	struct evr_scratch s = { 0 };
	struct evr_matcher_stats ms;
	char up[160];
	size_t upn = evr_fs_uptime_text(up, sizeof(up), uptime_us);
	bool ok;
	int rc;

	memset(res, 0, sizeof(*res));
	c->cnt.heartbeats++;
	if (evr_ev_arena_init(&s, &c->limits, 2048)) {
		c->cnt.heartbeat_failed++;
		return -ENOMEM;
	}
	evr_matcher_get_stats(c->m, &ms);
	evr_ev_begin(&s, EVR_FMT_PLAIN);
	s.ev.name = (struct evr_str){ "HEARTBEAT", 9, 0 };
	ok = ADDS(&s, "Event-Name", "HEARTBEAT", 9);
	ok &= EVR_FS_STD_ADD(&s, c->fs_std, &c->fs_clk, wall_us);
	ok &= ADDS(&s, "Event-Info", "System Ready", 12);
	ok &= ADDS(&s, "Up-Time", up, upn);
	ok &= ADDS(&s, "FreeSWITCH-Version", EVR_VERSION, strlen(EVR_VERSION));
	ok &= ADDU(&s, "Uptime-msec", uptime_us / 1000);
	ok &= ADDU(&s, "Evr-Events-Per-Sec", f->events_per_s);
	ok &= ADDU(&s, "Evr-Events-Total", f->events_total);
	ok &= ADDU(&s, "Evr-Live-Subscriptions", ms.live);
	ok &= ADDU(&s, "Evr-Drops-Total", f->drops_total);
	/* restart visibility: Core-UUID is the run's id; when it started */
	ok &= ADDU(&s, "Evr-Started", (uint64_t)c->started);
	if (!ok) {
		/* limits.max_attrs / max_value_len too small for it */
		evr_ev_arena_fini(&s);
		c->cnt.heartbeat_failed++;
		return -E2BIG;
	}
	rc = evr_control_raise(c, &s.ev, res);
	evr_ev_arena_fini(&s);
	c->cnt.heartbeat_notified += res->notified;
	if (rc < 0 || res->failed)
		c->cnt.heartbeat_failed++;
	return rc;
}
