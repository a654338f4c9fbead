/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: evrd's counters over DPDK telemetry.
 *
 * EAL serves a telemetry socket (<runtime dir>/dpdk_telemetry.v2, on unless
 * --no-telemetry); libraries add commands to it, e.g. /ethdev/stats,<port>.
 * evrd adds /evr/stats, /evr/worker,<id>, /evr/port,<id|name>, /evr/workers,
 * /evr/ports and /evr/info, so that collectors that already speak DPDK
 * telemetry (dpdk-telemetry.py, collectd, telegraf) see every drop reason
 * (STYLE 14) without the JSON-RPC control socket.
 *
 * The counter dictionaries are built by evr_ctl_counters_json, the code
 * behind `evrctl stats`: same sums, same names, nothing to keep in step.
 *
 * Callbacks run on the telemetry library's threads, one per client, maybe
 * several at once. They read what evr_ctl_thread.c reads (counters with relaxed
 * loads, fields fixed at start-up), never lock and never write worker
 * state. Shutdown frees the workers while a client may be asking: fini
 * unpublishes the router and waits for the callbacks in flight (a counter
 * entered before the router is loaded, both sequentially consistent, so
 * either the callback sees NULL or fini sees it running).
 *
 * Limits (DPDK 22.11): a dictionary holds RTE_TEL_MAX_DICT_ENTRIES (256)
 * entries and a reply is at most 16 KiB (MAX_OUTPUT_LEN in
 * lib/telemetry/telemetry.c, announced as max_output_len). The biggest
 * reply, /evr/worker,<id> with SIP, is checked against both at compile time
 * from the X-macro lists; a counter that does not fit fails the reply
 * (null) rather than vanishing from it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "evr_ctl_thread.h"
#include "sip/evr_sip_endpoint.h"
#include "sip/state/evr_sip_state.h"
#include "evr_telemetry.h"
#include "evr_version.h"

/* ---- size of the biggest reply, from the X-macro lists -------------- */

#define EVR_TEL_MAX_OUTPUT (16 * 1024) /* telemetry.c MAX_OUTPUT_LEN, 22.11 */

/* "name":18446744073709551615, for a name of sizeof() s (NUL included) */
#define ENTRY(s) ((s) + 23)
#define X_CNT(e, n, h) +ENTRY(sizeof(n))
#define X_DEC(e, n, h) +ENTRY(sizeof("decode_") - 1 + sizeof(n))
#define X_SIP(e, n, h) +ENTRY(sizeof("sip_") - 1 + sizeof(n))
#define X_HEP(e, n, h) +ENTRY(sizeof("hep_") - 1 + sizeof(n))
#define X_SIP_STATE(e, n, h) +ENTRY(sizeof("sip_state_") - 1 + sizeof(n))
#define X_SIP_ENDPOINT(n, h) +ENTRY(sizeof("sip_endpoint_") - 1 + sizeof(#n))

/* /evr/stats with SIP: what evr_ctl_counters_json gives. */
#define STATS_ENTRIES                                                         \
	(EVR_CNT__COUNT + EVR_DEC__COUNT + EVR_SIP__COUNT + EVR_HEP__COUNT +  \
	 EVR_SIP_STATE__COUNT + EVR_SIP_ENDPOINT__COUNT + 2)
#define STATS_BYTES                                                           \
	(0 EVR_COUNTERS(X_CNT) EVR_DECODE_STATUS(X_DEC) EVR_SIP_STATUS(X_SIP) \
	 EVR_HEP_STATUS(X_HEP) EVR_SIP_STATE_COUNTERS(X_SIP_STATE)                    \
	 EVR_SIP_ENDPOINT_COUNTERS(X_SIP_ENDPOINT) + ENTRY(sizeof("sip_dialogs")) +         \
	 ENTRY(sizeof("sip_registrations")))
/* /evr/worker,<id> adds its own fields (worker_fields()), the reply
 * {"<cmd>":...} its command (< 56 bytes). */
#define WORKER_FIELDS 6
#define WORKER_FIELD_BYTES (WORKER_FIELDS * ENTRY(sizeof("arp_waiting")))

_Static_assert(STATS_ENTRIES + WORKER_FIELDS <= RTE_TEL_MAX_DICT_ENTRIES,
               "evrd counters exceed a telemetry dictionary: split /evr/stats "
               "(e.g. /evr/stats/sip) and document it in README.md");
_Static_assert(STATS_BYTES + WORKER_FIELD_BYTES + 64 <= EVR_TEL_MAX_OUTPUT,
               "evrd counters exceed a telemetry reply: split /evr/stats");

/* ---- the router being served ---------------------------------------- */

static struct evr_router *tel_router; /* NULL: not serving */
static unsigned tel_busy;             /* callbacks between enter and leave */
static bool tel_registered;

static void leave(void)
{
	__atomic_sub_fetch(&tel_busy, 1, __ATOMIC_RELEASE);
}

/* NULL (nothing to leave) when evrd is not serving. */
static const struct evr_router *enter(void)
{
	const struct evr_router *r;

	__atomic_add_fetch(&tel_busy, 1, __ATOMIC_SEQ_CST);
	r = __atomic_load_n(&tel_router, __ATOMIC_SEQ_CST);
	if (r == NULL)
		leave();
	return r;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Every integer/string member of o into dict d; -ENOSPC/-EINVAL (reply
 * null) rather than a partial dictionary. Takes o's reference. */
static int put_json(struct rte_tel_data *d, json_t *o)
{
	const char *k;
	json_t *v;
	int rc = 0;

	if (o == NULL)
		return -ENOMEM;
	json_object_foreach(o, k, v) {
		if (json_is_integer(v))
			rc = rte_tel_data_add_dict_u64(d, k, (uint64_t)json_integer_value(v));
		else if (json_is_string(v))
			rc = rte_tel_data_add_dict_string(d, k, json_string_value(v));
		if (rc < 0)
			break;
	}
	json_decref(o);
	return rc < 0 ? rc : 0;
}

/* "3" -> 3 when below n; -EINVAL otherwise. */
static int parse_index(const char *s, unsigned n)
{
	unsigned long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= n)
		return -EINVAL;
	return (int)v;
}

/* ---- commands -------------------------------------------------------- */

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct evr_router *r = enter();
	int rc;

	(void)cmd;
	(void)params;
	if (r == NULL)
		return -EAGAIN;
	rte_tel_data_start_dict(d);
	rc = put_json(d, evr_ctl_counters_json(r, -1, -1));
	leave();
	return rc;
}

static int cmd_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct evr_router *r = enter();
	const struct evr_worker *w;
	int wi, rc;

	(void)cmd;
	if (r == NULL)
		return -EAGAIN;
	wi = parse_index(params, r->n_workers);
	if (wi < 0) {
		leave();
		return wi;
	}
	w = r->workers[wi];
	rte_tel_data_start_dict(d);
	/* WORKER_FIELDS entries, as in `evrctl stats` workers[] */
	rte_tel_data_add_dict_u64(d, "worker", w->id);
	rte_tel_data_add_dict_u64(d, "lcore", w->lcore);
	rte_tel_data_add_dict_u64(d, "loops", ld(&w->loops));
	rte_tel_data_add_dict_u64(d, "busy_loops", ld(&w->busy_loops));
	rte_tel_data_add_dict_u64(d, "sleeps", ld(&w->sleeps));
	rte_tel_data_add_dict_u64(d, "arp_waiting",
	                          __atomic_load_n(&w->waiting_n, __ATOMIC_RELAXED));
	rc = put_json(d, evr_ctl_counters_json(r, wi, -1));
	leave();
	return rc;
}

static int cmd_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct evr_router *r = enter();
	const struct evr_port *p;
	int pi, rc;

	(void)cmd;
	if (r == NULL)
		return -EAGAIN;
	pi = parse_index(params, r->n_ports);
	for (unsigned i = 0; pi < 0 && params && i < r->n_ports; i++)
		if (strcmp(params, r->ports[i].name) == 0)
			pi = (int)i;
	if (pi < 0) {
		leave();
		return -EINVAL;
	}
	p = &r->ports[pi];
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", p->name);
	rte_tel_data_add_dict_u64(d, "port_id", p->port_id);
	rte_tel_data_add_dict_u64(d, "rx_queues", p->nb_rxq);
	rte_tel_data_add_dict_u64(d, "tx_queues", p->nb_txq);
	rc = put_json(d, evr_ctl_counters_json(r, -1, pi));
	leave();
	return rc;
}

static int cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct evr_router *r = enter();

	(void)cmd;
	(void)params;
	if (r == NULL)
		return -EAGAIN;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (unsigned i = 0; i < r->n_workers; i++)
		rte_tel_data_add_array_int(d, (int)r->workers[i]->id);
	leave();
	return 0;
}

static int cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct evr_router *r = enter();

	(void)cmd;
	(void)params;
	if (r == NULL)
		return -EAGAIN;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (unsigned i = 0; i < r->n_ports; i++)
		rte_tel_data_add_array_string(d, r->ports[i].name);
	leave();
	return 0;
}

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct evr_router *r = enter();
	uint64_t ms;

	(void)cmd;
	(void)params;
	if (r == NULL)
		return -EAGAIN;
	ms = (rte_rdtsc() - r->start_tsc) / (r->tsc_hz / 1000);
	rte_tel_data_start_dict(d);
	/* the string `evrctl version` shows (one generated header) */
	rte_tel_data_add_dict_string(d, "version", EVR_VERSION);
	rte_tel_data_add_dict_string(d, "dpdk", rte_version());
	rte_tel_data_add_dict_u64(d, "pid", (uint64_t)getpid());
	rte_tel_data_add_dict_u64(d, "uptime_s", ms / 1000);
	rte_tel_data_add_dict_u64(d, "uptime_ms", ms);
	rte_tel_data_add_dict_u64(d, "workers", r->n_workers);
	rte_tel_data_add_dict_u64(d, "ports", r->n_ports);
	rte_tel_data_add_dict_u64(d, "listeners", r->cfg->n_listeners);
	rte_tel_data_add_dict_u64(d, "sip", r->has_sip);
	rte_tel_data_add_dict_u64(d, "sequence", ld(&r->seq));
	rte_tel_data_add_dict_string(d, "state",
	                             __atomic_load_n(&r->state, __ATOMIC_RELAXED) ==
	                                             EVR_RUNNING ? "running" : "stopping");
	leave();
	return 0;
}

/* ---- init / fini ----------------------------------------------------- */

static const struct {
	const char *cmd;
	telemetry_cb fn;
	const char *help; /* < RTE_TEL_MAX_STRING_LEN */
} cmds[] = {
	{"/evr/stats", cmd_stats,
	 "evrd router totals: every counter, as `evrctl stats` totals. No parameters"},
	{"/evr/worker", cmd_worker,
	 "One worker's counters (all its ports). Parameter: worker id (/evr/workers)"},
	{"/evr/port", cmd_port,
	 "One port's counters (all workers). Parameter: port index or name (/evr/ports)"},
	{"/evr/workers", cmd_workers, "evrd worker ids. No parameters"},
	{"/evr/ports", cmd_ports, "evrd port names, by port index. No parameters"},
	{"/evr/info", cmd_info,
	 "evrd version, DPDK version, uptime, workers, ports, listeners. No parameters"},
};

int evr_telemetry_init(struct evr_router *r)
{
	if (!tel_registered) {
		for (unsigned i = 0; i < RTE_DIM(cmds); i++) {
			int rc = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn,
			                                    cmds[i].help);

			if (rc != 0) {
				EVR_LOG(ERR, "telemetry: cannot register %s: %s", cmds[i].cmd,
				        strerror(-rc));
				return rc;
			}
		}
		tel_registered = true;
	}
	__atomic_store_n(&tel_router, r, __ATOMIC_SEQ_CST);
	EVR_LOG(INFO, "telemetry: /evr/ commands on %s/dpdk_telemetry.v2 (unless "
	        "--no-telemetry); /evr/stats has up to %u of %u entries",
	        rte_eal_get_runtime_dir(), (unsigned)STATS_ENTRIES,
	        (unsigned)RTE_TEL_MAX_DICT_ENTRIES);
	return 0;
}

void evr_telemetry_fini(void)
{
	unsigned i;

	__atomic_store_n(&tel_router, NULL, __ATOMIC_SEQ_CST);
	/* A callback lasts microseconds; bounded anyway (2 s). */
	for (i = 0; i < 20000 && __atomic_load_n(&tel_busy, __ATOMIC_SEQ_CST); i++)
		rte_delay_us_sleep(100);
	if (i == 20000)
		EVR_LOG(WARNING, "telemetry: a callback is still running at shutdown");
}
