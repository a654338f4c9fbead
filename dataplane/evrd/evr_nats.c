/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: the NATS publisher thread (nats: destinations); contract in
 * evr_nats.h.
 *
 * Why a thread of its own: libnats takes locks, allocates and writes to a
 * socket on every publish, and blocks when the server is slow; none of
 * that may happen on a worker, and the control thread serves clients. The
 * workers hand over ready descriptors (subject + shared payload) on an
 * MP/SC ring and go on; a full ring is their only feedback (dropped,
 * counted). This thread is the ring's only consumer and the only writer of
 * r->nats_cnt.
 *
 * Outages: libnats reconnects forever (nats.reconnect_wait_ms apart) and
 * buffers publishes in its reconnect buffer (nats.max_pending_bytes),
 * sent once connected again; when that is full a publish fails at once
 * with NATS_INSUFFICIENT_BUFFER and the notification is dropped
 * (nats_buffer_full). So a dead server costs this thread one failed call
 * per notification and the workers nothing. A connection that cannot even
 * be created (e.g. an unreadable creds file) is retried here every
 * second, dropping meanwhile (nats_disconnected).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_thread.h>

#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_metrics.h"
#include "evr_nats.h"
#include "evr_nats_conn.h"

#define NATS_BURST 64
#define IDLE_MIN_US 20   /* first sleep of an idle ring, doubled up to: */
#define IDLE_MAX_US 1000 /* bounds the latency a notification waits here */
#define RETRY_CREATE_MS 1000
#define FLUSH_AT_STOP_MS 2000

struct evr_nats {
	struct evr_router *r;
	natsOptions *opts;
	natsConnection *nc;   /* written by start / this thread; read by the
	                       * control thread (atomic); destroyed at stop */
	pthread_t thread;
	bool running;
	int stop;             /* atomic */
	uint64_t reconnects;  /* atomic: libnats callbacks */
	char *buf;            /* a chained payload, linearised */
	uint64_t next_create_ms;
	bool create_logged;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- libnats callbacks (its threads): state changes, logged once each -- */

static void on_connected(natsConnection *nc, void *closure)
{
	char url[256] = "";

	(void)closure;
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	EVR_LOG(NOTICE, "nats: connected to %s", url);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct evr_nats *n = closure;

	(void)nc;
	if (__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE))
		return; /* evrd's own close at stop */
	EVR_LOG(WARNING, "nats: disconnected; reconnecting (publishes buffered up to "
	        "nats.max_pending_bytes, then dropped: nats_buffer_full)");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct evr_nats *n = closure;
	char url[256] = "";

	__atomic_fetch_add(&n->reconnects, 1, __ATOMIC_RELAXED);
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	EVR_LOG(NOTICE, "nats: reconnected to %s", url);
}

static void on_closed(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	EVR_LOG(NOTICE, "nats: connection closed");
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	EVR_LOG(WARNING, "nats: %s", natsStatus_GetText(s));
}

/* ---- options from the nats group --------------------------------------- */

static natsStatus make_options(struct evr_nats *n, const struct evr_cfg_nats *c)
{
	const struct evr_nats_conn_conf cc = {
		.url = c->url, .name = c->name, .user = c->user, .password = c->password,
		.token = c->token, .creds_file = c->creds_file,
		.tls_ca_file = c->tls_ca_file, .tls_cert_file = c->tls_cert_file,
		.tls_key_file = c->tls_key_file, .tls_hostname = c->tls_hostname,
		.reconnect_wait_ms = c->reconnect_wait_ms,
		.max_pending_bytes = c->max_pending_bytes,
	};
	natsOptions *o = NULL;
	natsStatus s = evr_nats_conn_options(&o, &cc);

	if (s != NATS_OK)
		return s;
	s = natsOptions_SetNoEcho(o, true);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, n);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, n);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(o, on_closed, n);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(o, on_error, n);
	/* an unreachable server at start: connect in the background */
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, n);
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		return s;
	}
	n->opts = o;
	return NATS_OK;
}

/* Create the connection: connected, or connecting in the background. */
static natsStatus create(struct evr_nats *n)
{
	natsConnection *nc = NULL;
	natsStatus s = natsConnection_Connect(&nc, n->opts);

	if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED) {
		if (s == NATS_OK)
			on_connected(nc, n);
		else
			EVR_LOG(WARNING, "nats: %s not reachable yet; connecting in the background "
			        "(publishes buffered meanwhile)", n->r->cfg->nats.url);
		__atomic_store_n(&n->nc, nc, __ATOMIC_RELEASE);
		n->create_logged = false;
		return NATS_OK;
	}
	if (!n->create_logged)
		EVR_LOG(ERR, "nats: cannot create the connection to %s: %s (%s); retrying "
		        "every %u ms, notifications dropped meanwhile (nats_disconnected)",
		        n->r->cfg->nats.url, natsStatus_GetText(s), nats_GetLastError(NULL),
		        RETRY_CREATE_MS);
	n->create_logged = true;
	n->next_create_ms = mono_ms() + RETRY_CREATE_MS;
	return s;
}

/* ---- the thread ---------------------------------------------------------- */

static void publish_one(struct evr_nats *n, struct evr_counters *cnt, struct rte_mbuf *h)
{
	struct rte_mbuf *pay = h->next;
	const char *subj = rte_pktmbuf_mtod(h, const char *);
	uint32_t len = pay ? pay->pkt_len : 0;
	const void *data = pay ? rte_pktmbuf_read(pay, 0, len, n->buf) : NULL;
	natsStatus s;

	if (!n->nc) {
		cnt->c[EVR_CNT_NATS_DISCONNECTED]++;
	} else {
		s = natsConnection_Publish(n->nc, subj, data, (int)len);
		switch (s) {
		case NATS_OK:
			cnt->c[EVR_CNT_NATS_PUBLISHED]++;
			break;
		case NATS_INSUFFICIENT_BUFFER:
			cnt->c[EVR_CNT_NATS_BUFFER_FULL]++;
			break;
		case NATS_CONNECTION_CLOSED:
		case NATS_CONNECTION_DISCONNECTED:
		case NATS_NOT_YET_CONNECTED:
		case NATS_STALE_CONNECTION:
			cnt->c[EVR_CNT_NATS_DISCONNECTED]++;
			break;
		default:
			cnt->c[EVR_CNT_NATS_FAILED]++;
			break;
		}
	}
	rte_pktmbuf_free(h);
}

static void *publisher(void *arg)
{
	struct evr_nats *n = arg;
	struct evr_router *r = n->r;
	struct evr_counters *cnt = &r->nats_cnt;
	struct rte_mbuf *d[NATS_BURST];
	unsigned idle_us = 0, k;

	for (;;) {
		if (!n->nc && mono_ms() >= n->next_create_ms)
			create(n);
		k = rte_ring_sc_dequeue_burst(r->nats_ring, (void **)d, NATS_BURST, NULL);
		if (k == 0) {
			if (__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE))
				break;
			idle_us = idle_us ? (idle_us * 2 > IDLE_MAX_US ? IDLE_MAX_US : idle_us * 2)
			                  : IDLE_MIN_US;
			usleep(idle_us);
			continue;
		}
		idle_us = 0;
		for (unsigned i = 0; i < k; i++)
			publish_one(n, cnt, d[i]);
	}
	/* stop: the producers have ended; publish what they left */
	while ((k = rte_ring_sc_dequeue_burst(r->nats_ring, (void **)d, NATS_BURST, NULL)))
		for (unsigned i = 0; i < k; i++)
			publish_one(n, cnt, d[i]);
	return NULL;
}

int evr_nats_start(struct evr_router *r, char *err, size_t errlen)
{
	const struct evr_cfg_nats *c = &r->cfg->nats;
	struct evr_nats *n;
	natsStatus s;
	int rc;

	if (!c->url || !c->url[0] || !r->nats_ring)
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->buf = malloc(EVR_UDP_MAX_PAYLOAD + 1))) {
		free(n);
		snprintf(err, errlen, "nats: out of memory");
		return -ENOMEM;
	}
	n->r = r;
	r->nats = n;
	s = make_options(n, c);
	if (s != NATS_OK) {
		snprintf(err, errlen, "nats: options: %s (%s)", natsStatus_GetText(s),
		         nats_GetLastError(NULL));
		return -EINVAL;
	}
	create(n); /* failures are retried by the thread */
	rc = rte_ctrl_thread_create(&n->thread, "evr-nats", NULL, publisher, n);
	if (rc != 0) {
		snprintf(err, errlen, "nats: publisher thread: %s", strerror(rc));
		return -rc;
	}
	n->running = true;
	return 0;
}

void evr_nats_stop(struct evr_router *r)
{
	struct evr_nats *n = r->nats;
	natsConnection *nc;

	if (!n)
		return;
	if (n->running) {
		__atomic_store_n(&n->stop, 1, __ATOMIC_RELEASE);
		pthread_join(n->thread, NULL);
	}
	nc = __atomic_exchange_n(&n->nc, NULL, __ATOMIC_ACQ_REL);
	if (nc) {
		/* bounded: a server that is gone does not hold the stop */
		if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED)
			natsConnection_FlushTimeout(nc, FLUSH_AT_STOP_MS);
		natsConnection_Destroy(nc);
	}
	natsOptions_Destroy(n->opts);
	free(n->buf);
	free(n);
	r->nats = NULL;
}

void evr_nats_lib_close(void)
{
	nats_CloseAndWait(FLUSH_AT_STOP_MS);
}

static const char *status_name(natsConnStatus s)
{
	switch (s) {
	case NATS_CONN_STATUS_DISCONNECTED: return "disconnected";
	case NATS_CONN_STATUS_CONNECTING: return "connecting";
	case NATS_CONN_STATUS_CONNECTED: return "connected";
	case NATS_CONN_STATUS_CLOSED: return "closed";
	case NATS_CONN_STATUS_RECONNECTING: return "reconnecting";
	default: return "draining";
	}
}

struct figures {
	const char *status;
	bool connected;
	uint64_t out_msgs, out_bytes, reconnects;
};

static bool figures(const struct evr_router *r, struct figures *f)
{
	const struct evr_nats *n = r->nats;
	natsConnection *nc;
	natsStatistics *st = NULL;

	memset(f, 0, sizeof(*f));
	if (!n)
		return false;
	nc = __atomic_load_n(&n->nc, __ATOMIC_ACQUIRE);
	f->status = nc ? status_name(natsConnection_Status(nc)) : "not created";
	f->connected = nc && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
	f->reconnects = __atomic_load_n(&n->reconnects, __ATOMIC_RELAXED);
	if (nc && natsStatistics_Create(&st) == NATS_OK) {
		if (natsConnection_GetStats(nc, st) == NATS_OK)
			natsStatistics_GetCounts(st, NULL, NULL, &f->out_msgs, &f->out_bytes, NULL);
		natsStatistics_Destroy(st);
	}
	return true;
}

json_t *evr_nats_json(const struct evr_router *r)
{
	struct figures f;

	if (!figures(r, &f))
		return NULL;
	return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I}", "url", r->cfg->nats.url,
	                 "status", f.status, "connected", f.connected, "reconnects",
	                 (json_int_t)f.reconnects, "out_msgs", (json_int_t)f.out_msgs,
	                 "out_bytes", (json_int_t)f.out_bytes, "ring",
	                 (json_int_t)rte_ring_count(r->nats_ring), "ring_size",
	                 (json_int_t)rte_ring_get_capacity(r->nats_ring));
}

void evr_nats_metrics(const struct evr_router *r, struct evr_metrics *m)
{
	struct figures f;

	if (!figures(r, &f))
		return;
	evr_metrics_family(m, EVR_METRIC_GAUGE, "nats_connected",
	                   "1 while the NATS connection is up (nats: destinations)");
	evr_metrics_sample(m, f.connected ? 1.0 : 0.0, NULL);
	evr_metrics_family(m, EVR_METRIC_COUNTER, "nats_reconnects",
	                   "NATS reconnections since start");
	evr_metrics_sample(m, (double)f.reconnects, NULL);
}
