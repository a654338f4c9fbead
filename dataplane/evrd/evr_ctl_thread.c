/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: the control thread's dataplane side (main lcore).
 *
 * The control library (control/) serves JSON-RPC; evrd gives it two hooks:
 *  - stats: a snapshot of every counter, per worker (core), per port, per
 *    queue, plus rte_eth_stats, mempools, rings and the neighbour table,
 *    under "dataplane";
 *  - deliver: raise_event notifications, through the same notify stage
 *    as on a worker (evr_notify.c): udp: descriptors go to worker 0 over
 *    an SP/SC ring (only workers own TX queues), unix: ones are sent
 *    right here.
 * Between polls the thread drains the workers' unix: ring and sends each
 * notification on a kernel datagram socket: unix: destinations never touch
 * the fast path.
 *
 * Counters are read with relaxed atomic loads; each block has one writer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_lcore.h>

#include "evr_config_json.h"
#include "evr_ctl_thread.h"
#include "evr_metrics.h"
#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_nats.h"
#include "evr_neigh.h"
#include "evr_sip_ingest.h"
#include "sip/evr_sip_endpoint.h"
#include "sip/state/evr_sip_state.h"

static const char *const cnt_names[] = {
#define X(e, n, h) n,
	EVR_COUNTERS(X)
#undef X
};
static const char *const cnt_help[] = {
#define X(e, n, h) h,
	EVR_COUNTERS(X)
#undef X
};

const char *evr_counter_name(enum evr_counter c)
{
	return (unsigned)c < EVR_CNT__COUNT ? cnt_names[c] : "unknown";
}

const char *evr_counter_help(enum evr_counter c)
{
	return (unsigned)c < EVR_CNT__COUNT ? cnt_help[c] : "unknown";
}

/* ---- snapshots ------------------------------------------------------- */

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void add_block(struct evr_counters *acc, const struct evr_counters *c,
                      const struct evr_match_stats *ms)
{
	for (unsigned i = 0; i < EVR_CNT__COUNT; i++)
		acc->c[i] += ld(&c->c[i]);
	for (unsigned i = 0; i < EVR_DEC__COUNT; i++)
		acc->dec[i] += ld(&c->dec[i]);
	for (unsigned i = 0; i < EVR_SIP__COUNT; i++)
		acc->sip[i] += ld(&c->sip[i]);
	for (unsigned i = 0; i < EVR_HEP__COUNT; i++)
		acc->hep[i] += ld(&c->hep[i]);
	if (ms) {
		acc->c[EVR_CNT_MATCHES] += ld(&ms->matches);
		acc->c[EVR_CNT_FANOUT_OVERFLOW] += ld(&ms->overflow);
		acc->c[EVR_CNT_EXPIRED] += ld(&ms->skipped_expired);
		acc->c[EVR_CNT_ONCE_SKIPPED] += ld(&ms->skipped_fired);
		acc->c[EVR_CNT_MATCH_ERRORS] += ld(&ms->hs_errors);
	}
}

static json_t *counters_json(const struct evr_counters *c, bool nonzero_only)
{
	json_t *o = json_object();
	char name[64];

	for (unsigned i = 0; i < EVR_CNT__COUNT; i++)
		if (!nonzero_only || c->c[i])
			json_object_set_new(o, cnt_names[i], json_integer((json_int_t)c->c[i]));
	for (unsigned i = 0; i < EVR_DEC__COUNT; i++) {
		if (nonzero_only && !c->dec[i])
			continue;
		snprintf(name, sizeof(name), "decode_%s",
		         evr_decode_status_name((enum evr_decode_status)i));
		json_object_set_new(o, name, json_integer((json_int_t)c->dec[i]));
	}
	for (unsigned i = 0; i < EVR_SIP__COUNT; i++) {
		if (nonzero_only && !c->sip[i])
			continue;
		snprintf(name, sizeof(name), "sip_%s",
		         evr_sip_status_name((enum evr_sip_status)i));
		json_object_set_new(o, name, json_integer((json_int_t)c->sip[i]));
	}
	for (unsigned i = 0; i < EVR_HEP__COUNT; i++) {
		if (nonzero_only && !c->hep[i])
			continue;
		snprintf(name, sizeof(name), "hep_%s",
		         evr_hep_status_name((enum evr_hep_status)i));
		json_object_set_new(o, name, json_integer((json_int_t)c->hep[i]));
	}
	return o;
}

/* SIP state shard and endpoint counters of a set of workers, summed, as
 * "sip_state_<name>" / "sip_endpoint_<name>" plus the gauges. */
struct sip_sums {
	uint64_t st[EVR_SIP_STATE__COUNT];
	uint64_t ep[EVR_SIP_ENDPOINT__COUNT];
	uint64_t dialogs, registrations;
};

static void sip_add(struct sip_sums *a, const struct evr_worker *w)
{
	if (w->sip.state) {
		const struct evr_sip_state_stats *s = evr_sip_state_stats(w->sip.state);

		for (unsigned i = 0; i < EVR_SIP_STATE__COUNT; i++)
			a->st[i] += ld(&s->c[i]);
		a->dialogs += ld(&s->dialogs);
		a->registrations += ld(&s->registrations);
	}
	if (w->sip.endpoint) {
		const struct evr_sip_endpoint_stats *s = evr_sip_endpoint_stats(w->sip.endpoint);

		for (unsigned i = 0; i < EVR_SIP_ENDPOINT__COUNT; i++)
			a->ep[i] += ld(&s->c[i]);
	}
}

static void sip_json(json_t *o, const struct sip_sums *a)
{
	char name[96];

	for (unsigned i = 0; i < EVR_SIP_STATE__COUNT; i++) {
		snprintf(name, sizeof(name), "sip_state_%s", evr_sip_state_counter_name(i));
		json_object_set_new(o, name, json_integer((json_int_t)a->st[i]));
	}
	for (unsigned i = 0; i < EVR_SIP_ENDPOINT__COUNT; i++) {
		snprintf(name, sizeof(name), "sip_endpoint_%s", evr_sip_endpoint_counter_name(i));
		json_object_set_new(o, name, json_integer((json_int_t)a->ep[i]));
	}
	json_object_set_new(o, "sip_dialogs", json_integer((json_int_t)a->dialogs));
	json_object_set_new(o, "sip_registrations",
	                    json_integer((json_int_t)a->registrations));
}

static json_t *pool_json(const struct rte_mempool *mp)
{
	if (mp == NULL)
		return json_null();
	return json_pack("{s:I,s:I,s:I}", "size", (json_int_t)mp->size, "avail",
	                 (json_int_t)rte_mempool_avail_count(mp), "in_use",
	                 (json_int_t)rte_mempool_in_use_count(mp));
}

static const char *const ns_names[] = {"free", "claiming", "incomplete", "reachable",
                                       "failed", "static"};

static json_t *neigh_json(const struct evr_router *r)
{
	json_t *a = json_array();
	const struct evr_neigh_table *t = r->neigh;
	unsigned shown = 0;

	for (uint32_t i = 0; i <= t->mask && shown < 256; i++) {
		const struct evr_neigh_entry *e = &t->e[i];
		uint32_t st = evr_neigh_state_of(__atomic_load_n(&e->state, __ATOMIC_ACQUIRE));
		char ip[INET6_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_ether_addr ea;
		uint64_t w = __atomic_load_n(&e->mac, __ATOMIC_RELAXED);

		if (st == EVR_NS_FREE || st == EVR_NS_CLAIMING)
			continue;
		if (e->v6)
			inet_ntop(AF_INET6, e->key, ip, sizeof(ip));
		else
			inet_ntop(AF_INET, e->key + 12, ip, sizeof(ip));
		memcpy(ea.addr_bytes, &w, RTE_ETHER_ADDR_LEN);
		rte_ether_format_addr(mac, sizeof(mac), &ea);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "port",
		                                   r->ports[e->port].name, "ip", ip, "mac",
		                                   st == EVR_NS_INCOMPLETE || st == EVR_NS_FAILED
		                                           ? "" : mac,
		                                   "state", st < 6 ? ns_names[st] : "?"));
		shown++;
	}
	return a;
}

/* Datagrams listener id refused by its allow list, over the workers. */
static uint64_t source_refused(const struct evr_router *r, unsigned id)
{
	uint64_t n = 0;

	for (unsigned wi = 0; wi < r->n_workers; wi++)
		n += ld(&r->workers[wi]->source_refused[id]);
	return n;
}

/* Each listener's port, the sources it takes and what it refused. */
static json_t *listeners_json(const struct evr_router *r)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < r->n_listeners; i++) {
		const struct evr_cfg_strlist *al = &r->cfg->listeners[i].allow;
		json_t *allow = json_array();

		for (uint32_t k = 0; k < al->n; k++)
			json_array_append_new(allow, json_string(al->v[k]));
		if (!al->n)
			json_array_append_new(allow, json_string("on-link"));
		json_array_append_new(a, json_pack("{s:i,s:o,s:I}", "port", (int)r->allow[i].port,
		                                   "allow", allow, "source_refused",
		                                   (json_int_t)source_refused(r, i)));
	}
	return a;
}

json_t *evr_ctl_stats_json(struct evr_router *r)
{
	json_t *dp = json_object(), *workers = json_array(), *ports = json_array();
	json_t *rings = json_object(), *egress = json_array(), *pools = json_object();
	struct evr_counters total, ctl;
	struct sip_sums sip_total;
	json_t *wc, *totals;
	double secs = (double)(rte_rdtsc() - r->start_tsc) / (double)r->tsc_hz;

	memset(&total, 0, sizeof(total));
	memset(&ctl, 0, sizeof(ctl));
	memset(&sip_total, 0, sizeof(sip_total));
	add_block(&ctl, &r->ctl_cnt, &r->ctl_mst);
	for (unsigned wi = 0; wi < r->n_workers; wi++) {
		const struct evr_worker *w = r->workers[wi];
		struct evr_counters sum;
		struct sip_sums ss;
		uint64_t loops = ld(&w->loops), busy = ld(&w->busy_loops);

		memset(&sum, 0, sizeof(sum));
		memset(&ss, 0, sizeof(ss));
		for (unsigned pi = 0; pi < r->n_ports; pi++)
			add_block(&sum, &w->cnt[pi], &w->match_stats[pi]);
		add_block(&total, &sum, NULL);
		sip_add(&ss, w);
		sip_add(&sip_total, w);
		wc = counters_json(&sum, false);
		if (r->has_sip)
			sip_json(wc, &ss);
		json_array_append_new(workers, json_pack(
			"{s:i,s:i,s:I,s:I,s:I,s:f,s:I,s:f,s:o}", "worker", (int)w->id, "lcore",
			(int)w->lcore, "loops", (json_int_t)loops, "busy_loops", (json_int_t)busy,
			"sleeps", (json_int_t)ld(&w->sleeps), "busy_ratio",
			loops ? (double)busy / (double)loops : 0.0, "arp_waiting",
			(json_int_t)__atomic_load_n(&w->waiting_n, __ATOMIC_RELAXED), "events_per_s",
			secs > 0 ? (double)sum.dec[EVR_DEC_OK] / secs : 0.0, "counters", wc));
		json_array_append_new(egress, json_integer(rte_ring_count(w->egress)));
	}
	add_block(&total, &ctl, NULL);
	add_block(&total, &r->nats_cnt, NULL);
	add_block(&total, &r->claim_cnt, NULL);
	for (unsigned pi = 0; pi < r->n_ports; pi++) {
		const struct evr_port *p = &r->ports[pi];
		struct rte_eth_stats es;
		struct evr_counters sum;
		json_t *queues = json_array(), *eth;
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		memset(&sum, 0, sizeof(sum));
		for (unsigned wi = 0; wi < r->n_workers; wi++) {
			const struct evr_worker *w = r->workers[wi];
			struct evr_counters q;

			memset(&q, 0, sizeof(q));
			add_block(&q, &w->cnt[pi], &w->match_stats[pi]);
			add_block(&sum, &q, NULL);
			if (w->has_rxq[pi] || w->txb[pi])
				json_array_append_new(queues, json_pack(
					"{s:i,s:i,s:o}", "queue", (int)wi, "worker", (int)wi,
					"counters", counters_json(&q, true)));
		}
		if (rte_eth_stats_get(p->port_id, &es) == 0)
			eth = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ipackets",
			                (json_int_t)es.ipackets, "opackets", (json_int_t)es.opackets,
			                "ibytes", (json_int_t)es.ibytes, "obytes",
			                (json_int_t)es.obytes, "imissed", (json_int_t)es.imissed,
			                "ierrors", (json_int_t)es.ierrors, "oerrors",
			                (json_int_t)es.oerrors, "rx_nombuf", (json_int_t)es.rx_nombuf);
		else
			eth = json_null();
		rte_ether_format_addr(mac, sizeof(mac), &p->mac);
		json_array_append_new(ports, json_pack(
			"{s:s,s:i,s:s,s:i,s:i,s:b,s:b,s:o,s:o,s:o}", "name", p->name, "port_id",
			(int)p->port_id, "mac", mac, "rx_queues", (int)p->nb_rxq, "tx_queues",
			(int)p->nb_txq, "rss", p->rss, "multiseg_tx", p->multiseg, "eth", eth,
			"counters", counters_json(&sum, false), "queues", queues));
		json_object_set_new(pools, p->name, pool_json(p->rx_pool));
	}
	json_object_set_new(pools, "payload", pool_json(r->payload_pool));
	json_object_set_new(pools, "header", pool_json(r->hdr_pool));
	json_object_set_new(pools, "indirect", pool_json(r->indirect_pool));
	json_object_set_new(rings, "egress", egress);
	json_object_set_new(rings, "unix", json_integer(rte_ring_count(r->unix_ring)));
	json_object_set_new(rings, "ctrl", json_integer(rte_ring_count(r->ctrl_ring)));
	if (r->nats_ring)
		json_object_set_new(rings, "nats", json_integer(rte_ring_count(r->nats_ring)));
	json_object_set_new(dp, "uptime_s", json_real(secs));
	json_object_set_new(dp, "sequence", json_integer((json_int_t)ld(&r->seq)));
	totals = counters_json(&total, false);
	if (r->has_sip)
		sip_json(totals, &sip_total);
	json_object_set_new(dp, "totals", totals);
	json_object_set_new(dp, "workers", workers);
	json_object_set_new(dp, "ports", ports);
	json_object_set_new(dp, "control", counters_json(&ctl, true));
	if (r->nats) {
		/* the publisher thread's counters (non-zero) and the connection */
		json_t *n = evr_nats_json(r);

		if (n) {
			struct evr_counters nc;

			memset(&nc, 0, sizeof(nc));
			add_block(&nc, &r->nats_cnt, NULL);
			json_object_set_new(n, "counters", counters_json(&nc, true));
			json_object_set_new(dp, "nats", n);
		}
	}
	json_object_set_new(dp, "pools", pools);
	json_object_set_new(dp, "rings", rings);
	json_object_set_new(dp, "neighbours", neigh_json(r));
	json_object_set_new(dp, "listeners", listeners_json(r));
	return dp;
}

json_t *evr_ctl_counters_json(const struct evr_router *r, int worker, int port)
{
	struct evr_counters sum;
	struct sip_sums ss;
	json_t *o;

	if (worker >= (int)r->n_workers || port >= (int)r->n_ports)
		return NULL;
	memset(&sum, 0, sizeof(sum));
	memset(&ss, 0, sizeof(ss));
	for (unsigned wi = 0; wi < r->n_workers; wi++) {
		if (worker >= 0 && wi != (unsigned)worker)
			continue;
		for (unsigned pi = 0; pi < r->n_ports; pi++)
			if (port < 0 || pi == (unsigned)port)
				add_block(&sum, &r->workers[wi]->cnt[pi], &r->workers[wi]->match_stats[pi]);
		sip_add(&ss, r->workers[wi]);
	}
	if (worker < 0 && port < 0) {
		add_block(&sum, &r->ctl_cnt, &r->ctl_mst);
		add_block(&sum, &r->nats_cnt, NULL);
		add_block(&sum, &r->claim_cnt, NULL);
	}
	o = counters_json(&sum, false);
	if (r->has_sip && port < 0)
		sip_json(o, &ss);
	return o;
}

/* ---- hooks ----------------------------------------------------------- */

static void hook_stats(void *ctx, json_t *out)
{
	json_object_set_new(out, "dataplane", evr_ctl_stats_json(ctx));
}

/* A counter's metric name: its stats name, but where that reads as an
 * abbreviated unit to Prometheus ("_ns_", "_us": promtool refuses them). */
static const char *metric_name(unsigned i)
{
	switch (i) {
	case EVR_CNT_ND_NS_RX:
		return "nd_solicitations_rx";
	case EVR_CNT_ND_NS_TX:
		return "nd_solicitations_tx";
	case EVR_CNT_RX_NOT_FOR_US:
		return "rx_not_ours";
	default:
		return cnt_names[i];
	}
}

static const char *dec_name(unsigned i)
{
	return evr_decode_status_name((enum evr_decode_status)i);
}

static const char *sip_name(unsigned i)
{
	return evr_sip_status_name((enum evr_sip_status)i);
}

static const char *hep_name(unsigned i)
{
	return evr_hep_status_name((enum evr_hep_status)i);
}

/* One counter family by result: the n counters at offset off of each
 * worker's block, labelled with name(i). */
static void result_family(struct evr_metrics *m, const char *family, const char *help,
                          const struct evr_counters *cw, unsigned nw, char (*wname)[12],
                          size_t off, unsigned n, const char *(*name)(unsigned))
{
	evr_metrics_family(m, EVR_METRIC_COUNTER, family, help);
	for (unsigned i = 0; i < n; i++)
		for (unsigned wi = 0; wi <= nw; wi++)
			evr_metrics_sample(m,
			                   (double)((const uint64_t *)((const char *)&cw[wi] + off))[i],
			                   "worker", wname[wi], "result", name(i), NULL);
}

/*
 * Prometheus families of the dataplane (control/evr_metrics.h): every
 * counter by worker ("ctl": the control thread's own sends), results by
 * reason, SIP state gauges, ports, pools, rings. Family first, then one
 * sample per label set, as the exposition wants.
 */
static void hook_metrics(void *ctx, struct evr_metrics *m)
{
	struct evr_router *r = ctx;
	/* blocks: the workers, "ctl" (the control thread), "nats" (the NATS
	 * publisher thread, when on); the last at index nl */
	struct evr_counters cw[EVR_MAX_WORKERS + 2];
	struct sip_sums sw[EVR_MAX_WORKERS];
	char wname[EVR_MAX_WORKERS + 2][12];
	unsigned nw = r->n_workers, nl = nw + (r->nats ? 1 : 0);

	memset(cw, 0, sizeof(cw));
	memset(sw, 0, sizeof(sw));
	for (unsigned wi = 0; wi < nw; wi++) {
		for (unsigned pi = 0; pi < r->n_ports; pi++)
			add_block(&cw[wi], &r->workers[wi]->cnt[pi], &r->workers[wi]->match_stats[pi]);
		sip_add(&sw[wi], r->workers[wi]);
		snprintf(wname[wi], sizeof(wname[wi]), "%u", wi);
	}
	add_block(&cw[nw], &r->ctl_cnt, &r->ctl_mst);
	snprintf(wname[nw], sizeof(wname[nw]), "ctl");
	if (r->nats) {
		add_block(&cw[nl], &r->nats_cnt, NULL);
		snprintf(wname[nl], sizeof(wname[nl]), "nats");
	}

	for (unsigned i = 0; i < EVR_CNT__COUNT; i++) {
		evr_metrics_family(m, EVR_METRIC_COUNTER, metric_name(i), cnt_help[i]);
		for (unsigned wi = 0; wi <= nl; wi++)
			evr_metrics_sample(m, (double)cw[wi].c[i], "worker", wname[wi], NULL);
	}
	result_family(m, "decode", "event datagrams decoded, by result (ok or the reason refused)",
	              cw, nw, wname, offsetof(struct evr_counters, dec), EVR_DEC__COUNT, dec_name);
	result_family(m, "sip_parse", "SIP messages parsed, by result (ok or the reason refused)",
	              cw, nw, wname, offsetof(struct evr_counters, sip), EVR_SIP__COUNT, sip_name);
	result_family(m, "hep_parse", "HEPv3 packets parsed, by result (ok or the reason refused)",
	              cw, nw, wname, offsetof(struct evr_counters, hep), EVR_HEP__COUNT, hep_name);
	if (r->has_sip) {
		evr_metrics_family(m, EVR_METRIC_COUNTER, "sip_state",
		                   "SIP dialog and registration state: transitions and drops");
		for (unsigned i = 0; i < EVR_SIP_STATE__COUNT; i++)
			for (unsigned wi = 0; wi < nw; wi++)
				evr_metrics_sample(m, (double)sw[wi].st[i], "worker", wname[wi], "what",
				                   evr_sip_state_counter_name(i), NULL);
		evr_metrics_family(m, EVR_METRIC_COUNTER, "sip_endpoint",
		                   "SIP endpoint requests and replies, by result");
		for (unsigned i = 0; i < EVR_SIP_ENDPOINT__COUNT; i++)
			for (unsigned wi = 0; wi < nw; wi++)
				evr_metrics_sample(m, (double)sw[wi].ep[i], "worker", wname[wi], "result",
				                   evr_sip_endpoint_counter_name(i), NULL);
		evr_metrics_family(m, EVR_METRIC_GAUGE, "sip_dialogs", "dialogs held now");
		for (unsigned wi = 0; wi < nw; wi++)
			evr_metrics_sample(m, (double)sw[wi].dialogs, "worker", wname[wi], NULL);
		evr_metrics_family(m, EVR_METRIC_GAUGE, "sip_registrations",
		                   "registrations (bindings) held now");
		for (unsigned wi = 0; wi < nw; wi++)
			evr_metrics_sample(m, (double)sw[wi].registrations, "worker", wname[wi], NULL);
	}
	static const struct {
		const char *name, *help;
		size_t off;
	} loops[] = {
		{"worker_loops", "worker poll loop iterations", offsetof(struct evr_worker, loops)},
		{"worker_busy_loops", "worker loop iterations that found work",
		 offsetof(struct evr_worker, busy_loops)},
		{"worker_sleeps", "worker idle sleeps", offsetof(struct evr_worker, sleeps)},
	};
	for (unsigned i = 0; i < RTE_DIM(loops); i++) {
		evr_metrics_family(m, EVR_METRIC_COUNTER, loops[i].name, loops[i].help);
		for (unsigned wi = 0; wi < nw; wi++)
			evr_metrics_sample(m, (double)ld((const uint64_t *)((const char *)r->workers[wi] +
			                                                    loops[i].off)),
			                   "worker", wname[wi], NULL);
	}
	evr_metrics_family(m, EVR_METRIC_COUNTER, "listener_source_refused",
	                   "datagrams a listener refused: source outside its allow list");
	for (unsigned i = 0; i < r->n_listeners; i++) {
		char port[8];

		snprintf(port, sizeof(port), "%u", r->allow[i].port);
		evr_metrics_sample(m, (double)source_refused(r, i), "listener", port, NULL);
	}
	/* ports: the PMD's own counters */
	static const struct {
		const char *name, *help;
		size_t off;
	} eth[] = {
		{"port_rx_packets", "packets the port received (PMD)", offsetof(struct rte_eth_stats, ipackets)},
		{"port_tx_packets", "packets the port sent (PMD)", offsetof(struct rte_eth_stats, opackets)},
		{"port_rx_bytes", "bytes the port received (PMD)", offsetof(struct rte_eth_stats, ibytes)},
		{"port_tx_bytes", "bytes the port sent (PMD)", offsetof(struct rte_eth_stats, obytes)},
		{"port_rx_missed", "packets dropped by the port: RX queues full", offsetof(struct rte_eth_stats, imissed)},
		{"port_rx_errors", "erroneous packets received (PMD)", offsetof(struct rte_eth_stats, ierrors)},
		{"port_tx_errors", "packets the port failed to send (PMD)", offsetof(struct rte_eth_stats, oerrors)},
		{"port_rx_nombuf", "RX mbuf allocation failures (PMD)", offsetof(struct rte_eth_stats, rx_nombuf)},
	};
	struct rte_eth_stats es[EVR_MAX_PORTS];
	bool have[EVR_MAX_PORTS];
	for (unsigned pi = 0; pi < r->n_ports; pi++)
		have[pi] = rte_eth_stats_get(r->ports[pi].port_id, &es[pi]) == 0;
	for (unsigned i = 0; i < RTE_DIM(eth); i++) {
		evr_metrics_family(m, EVR_METRIC_COUNTER, eth[i].name, eth[i].help);
		for (unsigned pi = 0; pi < r->n_ports; pi++)
			if (have[pi])
				evr_metrics_sample(m, (double)*(const uint64_t *)((const char *)&es[pi] +
				                                                  eth[i].off),
				                   "port", r->ports[pi].name, NULL);
	}
	/* pools and rings: how full */
	const struct rte_mempool *pools[EVR_MAX_PORTS + 3];
	const char *pnames[EVR_MAX_PORTS + 3];
	unsigned np = 0;
	for (unsigned pi = 0; pi < r->n_ports; pi++) {
		pnames[np] = r->ports[pi].name;
		pools[np++] = r->ports[pi].rx_pool;
	}
	pnames[np] = "payload";
	pools[np++] = r->payload_pool;
	pnames[np] = "header";
	pools[np++] = r->hdr_pool;
	pnames[np] = "indirect";
	pools[np++] = r->indirect_pool;
	evr_metrics_family(m, EVR_METRIC_GAUGE, "mempool_size", "mbufs in the pool");
	for (unsigned i = 0; i < np; i++)
		if (pools[i])
			evr_metrics_sample(m, (double)pools[i]->size, "pool", pnames[i], NULL);
	evr_metrics_family(m, EVR_METRIC_GAUGE, "mempool_in_use", "mbufs of the pool in use");
	for (unsigned i = 0; i < np; i++)
		if (pools[i])
			evr_metrics_sample(m, (double)rte_mempool_in_use_count(pools[i]), "pool",
			                   pnames[i], NULL);
	evr_metrics_family(m, EVR_METRIC_GAUGE, "ring_used", "entries waiting in the ring");
	for (unsigned wi = 0; wi < nw; wi++)
		evr_metrics_sample(m, (double)rte_ring_count(r->workers[wi]->egress), "ring",
		                   "egress", "worker", wname[wi], NULL);
	evr_metrics_sample(m, (double)rte_ring_count(r->unix_ring), "ring", "unix", "worker",
	                   "ctl", NULL);
	evr_metrics_sample(m, (double)rte_ring_count(r->ctrl_ring), "ring", "ctrl", "worker",
	                   "ctl", NULL);
	if (r->nats_ring)
		evr_metrics_sample(m, (double)rte_ring_count(r->nats_ring), "ring", "nats",
		                   "worker", "nats", NULL);
	evr_nats_metrics(r, m);
}

/* The control plane's audit trail: one log line per write (who, method,
 * outcome) and per refusal, at NOTICE (journald keeps it). */
static void hook_audit(void *ctx, const char *line)
{
	(void)ctx;
	EVR_LOG(NOTICE, "audit: %s", line);
}

int evr_ctl_esl_deliver(void *ctx, uint64_t conn, const char *data, size_t len)
{
	return evr_control_esl_deliver(ctx, conn, data, len);
}

static json_t *hook_config(void *ctx)
{
	const struct evr_router *r = ctx;

	return evr_config_json(r->cfg, NULL);
}

static int hook_deliver(void *ctx, const struct evr_event *ev,
                        const struct evr_sub *const *subs, uint32_t n)
{
	struct evr_router *r = ctx;
	struct evr_counters *cnt = &r->ctl_cnt;

	if (__atomic_load_n(&r->state, __ATOMIC_RELAXED) != EVR_RUNNING)
		return -ESHUTDOWN;
	if (n > r->max_fanout) {
		cnt->c[EVR_CNT_FANOUT_OVERFLOW] += n - r->max_fanout;
		n = r->max_fanout;
	}
	cnt->c[EVR_CNT_MATCHES] += n;
	return (int)evr_notify_subs(&r->ctl_notifier, cnt, 0, r->default_sport, ev,
	                            EVR_NOTIFY_SEQ_NEXT, subs, n, rte_rdtsc());
}

unsigned evr_ctl_drain_unix(struct evr_router *r)
{
	struct rte_mbuf *d[64];
	unsigned n, total = 0;

	do {
		n = rte_ring_sc_dequeue_burst(r->unix_ring, (void **)d, RTE_DIM(d), NULL);
		for (unsigned i = 0; i < n; i++)
			evr_egress_local_send(r, d[i], &r->ctl_cnt);
		total += n;
	} while (n == RTE_DIM(d));
	return total;
}

unsigned evr_ctl_drain_names(struct evr_router *r, struct evr_control *ctl)
{
	struct evr_event_name d[32];
	unsigned n, total = 0;

	do {
		n = rte_ring_sc_dequeue_burst_elem(r->names_ring, d, sizeof(d[0]), RTE_DIM(d),
		                                   NULL);
		for (unsigned i = 0; i < n; i++) {
			d[i].s[EVR_EVENT_NAME_MAX] = '\0';
			evr_control_note_event(ctl, d[i].s);
		}
		total += n;
	} while (n == RTE_DIM(d));
	return total;
}

/* Named drops summed for HEARTBEAT's Evr-Drops-Total: every counter that
 * stands for an event or notification lost (not the ignored-frame ones). */
static const enum evr_counter drop_counters[] = {
	EVR_CNT_RX_FRAG_DROPPED, EVR_CNT_SIP_HANDOFF_FULL, EVR_CNT_SIP_TOO_LARGE,
	EVR_CNT_HOLD_FULL, EVR_CNT_FANOUT_OVERFLOW, EVR_CNT_ENCODE_OVERFLOW,
	EVR_CNT_POOL_EMPTY, EVR_CNT_RING_FULL, EVR_CNT_UNIX_RING_FULL,
	EVR_CNT_NO_ROUTE, EVR_CNT_NEIGH_TABLE_FULL, EVR_CNT_ARP_UNRESOLVED,
	EVR_CNT_ARP_QUEUE_OVERFLOW, EVR_CNT_FRAG_FAILED, EVR_CNT_TX_FULL,
	EVR_CNT_TX_LINEARIZE_FAILED, EVR_CNT_UNIX_FAILED, EVR_CNT_SHUTDOWN_DROPPED,
	EVR_CNT_ESL_FAILED, EVR_CNT_HEP_AUTH_FAILED, EVR_CNT_DEST_RATE_LIMITED,
	EVR_CNT_DEST_BYTES_LIMITED, EVR_CNT_EGRESS_CAPPED, EVR_CNT_FS_MCAST_NO_MAGIC,
	EVR_CNT_FS_MCAST_BAD_MAGIC, EVR_CNT_FS_MCAST_BAD_CIPHER, EVR_CNT_NATS_RING_FULL,
	EVR_CNT_NATS_SUBJECT_TOO_LONG, EVR_CNT_NATS_BUFFER_FULL, EVR_CNT_NATS_DISCONNECTED,
	EVR_CNT_NATS_FAILED,
};

static void hb_add(const struct evr_counters *b, uint64_t *events, uint64_t *drops)
{
	*events += ld(&b->dec[EVR_DEC_OK]) + ld(&b->c[EVR_CNT_SIP_EVENTS]);
	for (unsigned i = 0; i < RTE_DIM(drop_counters); i++)
		*drops += ld(&b->c[drop_counters[i]]);
	for (unsigned i = 1; i < EVR_DEC__COUNT; i++) /* every decode failure */
		*drops += ld(&b->dec[i]);
}

void evr_ctl_totals(const struct evr_router *r, uint64_t *events, uint64_t *drops)
{
	*events = *drops = 0;
	for (unsigned wi = 0; wi < r->n_workers; wi++)
		for (unsigned pi = 0; pi < r->n_ports; pi++)
			hb_add(&r->workers[wi]->cnt[pi], events, drops);
	hb_add(&r->ctl_cnt, events, drops);
	hb_add(&r->nats_cnt, events, drops);
	hb_add(&r->claim_cnt, events, drops);
}

void evr_ctl_heartbeat_tick(struct evr_router *r, struct evr_control *ctl, uint64_t now_tsc)
{
	uint64_t iv = r->cfg->heartbeat.interval_s, events = 0, drops = 0;
	struct evr_heartbeat_figures f;
	struct evr_raise_result res;

	/* Event-Date-Local follows DST changes: the offset is re-read once a
	 * minute here (localtime_r takes the tz lock: never on a worker) */
	if (now_tsc >= r->tz_next_tsc) {
		evr_fs_std_refresh_tz(&r->fs_std);
		r->tz_next_tsc = now_tsc + 60 * r->tsc_hz;
	}
	if (ctl == NULL || iv == 0)
		return;
	if (r->hb_next_tsc == 0) {
		r->hb_next_tsc = r->start_tsc + iv * r->tsc_hz;
		return;
	}
	if (now_tsc < r->hb_next_tsc)
		return;
	/* a late loop beats once, then keeps the cadence */
	while (r->hb_next_tsc <= now_tsc)
		r->hb_next_tsc += iv * r->tsc_hz;
	evr_ctl_totals(r, &events, &drops);
	f.events_total = events;
	f.events_per_s = (events - r->hb_events) / iv;
	f.drops_total = drops;
	r->hb_events = events;
	evr_control_heartbeat(ctl, evr_control_uptime_us(ctl), evr_wall_us(r, now_tsc), &f, &res);
}

/* ---- runtime settings (config_set) ------------------------------------

 * The destination policy is one immutable object: the policy struct, its
 * CIDRs and its own copy of unix_dir (the config's string is replaced by
 * the next config_set). Subscribes read it on the control thread, which
 * is also where config_set replaces it; it is still handed over like any
 * RCU object (published, the old one freed by call_rcu) so that no reader
 * can ever see it freed. */
struct evr_live_policy {
	struct evr_dest_policy p;
	struct evr_cidr *cidrs;
	char *unix_dir;
	struct rcu_head rcu;
};

static void policy_free(struct evr_live_policy *lp)
{
	if (!lp)
		return;
	free(lp->cidrs);
	free(lp->unix_dir);
	free(lp);
}

static void policy_free_rcu(struct rcu_head *h)
{
	policy_free(caa_container_of(h, struct evr_live_policy, rcu));
}

int evr_ctl_policy_publish(struct evr_router *r)
{
	struct evr_live_policy *lp = calloc(1, sizeof(*lp)), *old = r->policy;

	if (!lp || evr_config_dest_policy(r->cfg, &lp->p, &lp->cidrs) != 0 ||
	    !(lp->unix_dir = strdup(r->cfg->destinations.unix_dir))) {
		policy_free(lp);
		return -ENOMEM;
	}
	lp->p.unix_dir = lp->unix_dir;
	rcu_assign_pointer(r->policy, lp);
	evr_matcher_set_dest_policy(r->matcher, &lp->p);
	if (old)
		call_rcu(&old->rcu, policy_free_rcu);
	return 0;
}

void evr_ctl_runtime_free(struct evr_router *r)
{
	policy_free(r->policy);
	free(r->dl_rates);
	r->policy = NULL;
	r->dl_rates = NULL;
}

/* Live subscriptions the current policy refuses (kept: see config_set). */
struct refused_ctx {
	const struct evr_dest_policy *p;
	uint64_t now, last_id;
	uint64_t n;
	json_t *ids; /* the first REFUSED_IDS_MAX */
};
#define REFUSED_IDS_MAX 100u

static void refused_visit(const struct evr_sub *s, void *arg)
{
	struct refused_ctx *x = arg;
	char why[8];
	uint64_t exp = __atomic_load_n(&s->expires_ms, __ATOMIC_ACQUIRE);

	x->last_id = s->id;
	if (__atomic_load_n(&s->removed, __ATOMIC_ACQUIRE) || exp <= x->now ||
	    evr_dest_policy_check(x->p, s->dest, why, sizeof(why)) == 0)
		return;
	if (x->n++ < REFUSED_IDS_MAX)
		json_array_append_new(x->ids, json_integer((json_int_t)s->id));
}

/*
 * evr_config_set: the value checked by the config table (same messages as
 * the file, naming the setting), swapped into r->cfg, then applied: the
 * destination policy rebuilt and published, or the limiter rates
 * published to every notifier. Subscriptions the new policy would refuse
 * are kept (an operator who narrows the policy by mistake loses nothing;
 * unsubscribing is one call away) and reported: their count and first ids
 * here, "refused" in evr_subscribers_list.
 */
static int hook_config_set(void *ctx, const char *name, json_t *value, json_t **result,
                           char *err, size_t errlen)
{
	struct evr_router *r = ctx;
	/* the control thread is the runtime settings' one writer; workers read
	 * only what r->dl_rates publishes */
	struct evr_config *cfg = (struct evr_config *)r->cfg;
	struct evr_config_change *ch;
	const struct evr_setting *s;
	json_t *prev;
	int rc;

	ch = evr_config_change_prepare_json(cfg, name, value, err, errlen);
	if (!ch)
		return -errno;
	s = evr_config_change_setting(ch);
	prev = evr_config_json(cfg, name);
	evr_config_change_commit(cfg, ch);
	bool rates = strcmp(s->name, "rate_notifications") == 0 ||
	             strcmp(s->name, "rate_bytes") == 0 || strcmp(s->name, "burst_ms") == 0;
	rc = rates ? evr_notify_rates_publish(r, &cfg->destinations) : evr_ctl_policy_publish(r);
	if (rc) {
		evr_config_change_commit(cfg, ch); /* back as it was */
		evr_config_change_free(ch);
		json_decref(prev);
		snprintf(err, errlen, "setting %s: out of memory", name);
		return rc;
	}
	evr_config_change_free(ch); /* the old value */
	{
		json_t *now = s->secret ? NULL : evr_config_json(cfg, name);
		char *t = now ? json_dumps(now, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

		EVR_LOG(NOTICE, "config_set %s = %s", name, t ? t : "********");
		free(t);
		json_decref(now);
	}

	struct refused_ctx x = { .p = &r->policy->p, .now = evr_now_ms(), .ids = json_array() };
	uint32_t got;

	if (!rates)
		do
			got = evr_matcher_list(r->matcher, x.last_id, 4096, refused_visit, &x);
		while (got == 4096);
	*result = json_pack("{s:s,s:o,s:o,s:I,s:o}", "setting", name, "value", evr_config_json(cfg, name),
	                    "previous", prev ? prev : json_null(), "refused_subscriptions",
	                    (json_int_t)x.n, "refused_ids", x.ids ? x.ids : json_array());
	if (x.n)
		EVR_LOG(WARNING, "config_set %s: %" PRIu64 " live subscription(s) now outside "
		        "the destination policy, kept (evrctl subscribers shows them refused)",
		        name, x.n);
	return *result ? 0 : -ENOMEM;
}

/* evr_subscribers_list's extra fields: the limiter's figures for the
 * destination (every notifier's table summed; read without locks) and the
 * policy's verdict when it would refuse the destination today. */
static json_t *hook_dest_info(void *ctx, const struct evr_dest *d)
{
	struct evr_router *r = ctx;
	struct evr_destlimit_figures f = { 0 };
	char why[160];
	bool known = false;
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (d->kind == EVR_DEST_UDP) {
		bool v6 = d->addr.sa.sa_family == AF_INET6;
		const uint8_t *a = v6 ? d->addr.v6.sin6_addr.s6_addr
		                      : (const uint8_t *)&d->addr.v4.sin_addr;
		uint16_t port = v6 ? d->addr.v6.sin6_port : d->addr.v4.sin_port;

		for (unsigned i = 0; i < r->n_workers; i++)
			if (r->workers[i] && r->workers[i]->notifier.dl)
				known |= evr_destlimit_figures(r->workers[i]->notifier.dl, v6 ? 6 : 4,
				                               a, port, &f);
		if (r->ctl_notifier.dl)
			known |= evr_destlimit_figures(r->ctl_notifier.dl, v6 ? 6 : 4, a, port, &f);
	}
	if (known)
		json_object_set_new(o, "limiter",
		                    json_pack("{s:I,s:I,s:I}", "sent", (json_int_t)f.sent,
		                              "rate_limited", (json_int_t)f.over_rate,
		                              "bytes_limited", (json_int_t)f.over_bytes));
	if (r->policy && evr_dest_policy_check(&r->policy->p, d, why, sizeof(why)) != 0)
		json_object_set_new(o, "refused", json_string(why));
	return o;
}

void evr_ctl_hooks(struct evr_router *r, struct evr_control_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->ctx = r;
	h->stats = hook_stats;
	h->metrics = hook_metrics;
	h->deliver = hook_deliver;
	h->config = hook_config;
	h->audit = hook_audit;
	h->config_set = hook_config_set;
	h->dest_info = hook_dest_info;
}
