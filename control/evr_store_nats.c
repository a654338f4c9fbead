/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared store backend: runtime subscriptions in a JetStream KV bucket
 * (issue 14 §2). Every appliance of a cluster names the same bucket; each
 * watches it and applies what the others change (evr_store.h has the
 * front, the threads and the guarantees).
 *
 * Keys are "s.<id>" with the store's record as value; ids are cluster-
 * unique because each appliance gives ids in its own range (store.node_id,
 * EVR_ID_NODE_SHIFT). History 1: the bucket holds the live set.
 *
 * Threads.
 *  - the store's writer thread: apply() publishes one KV put or delete per
 *    change asynchronously and waits until JetStream acknowledged them all
 *    (js_PublishAsyncComplete): a batch is durable on the bucket's replicas
 *    when it returns 0.
 *  - the feed thread (watch_main): a KV watcher over the whole bucket.
 *    The first snapshot is read at start-up by load() on the start-up
 *    thread, before the ports come up; afterwards the feed thread follows
 *    the changes, and after the connection came back it reads a fresh
 *    snapshot and hands the differences on (resync).
 *  - any claiming thread: claim() creates the key "c.<id>" in a second
 *    bucket, <bucket>_claims (create = put only if the key has no value):
 *    of several appliances that fired the `once`, one creates it and
 *    notifies, then deletes the subscription. The claims bucket has its
 *    own replicas (store.claim_replicas, default 1): nats-server before
 *    2.9.21 checks the expected sequence of a replicated stream only
 *    before the proposal, so two concurrent creates can both succeed
 *    there (nats-server issue #4320; Debian 12 ships 2.9.10); on one
 *    replica the check is serialised. Its entries expire after a day.
 *  - libnats' own threads: connection callbacks and publish acknowledgements.
 *
 * node_id ownership. Two appliances given one store.node_id would hand out
 * the same ids and overwrite each other's subscriptions, so the node_id is
 * taken, not trusted: the key "n.<node_id>" in <bucket>_nodes holds the
 * owner's identity (host and control socket). open() creates it, or takes
 * it back when it holds this appliance's own identity (a restart), and
 * refuses to start when another appliance holds it; the feed thread renews
 * it every NODE_BEAT_MS; a clean close deletes it. The bucket's max age
 * (NODE_TTL_NS) frees the node_id of an appliance that died. The bucket
 * has store.replicas replicas, as an appliance cannot start without it; on
 * nats-server < 2.9.21 two appliances starting with one node_id in the
 * same instant might both create the key (issue #4320, as for claims):
 * the first renewal then finds the other's identity (node_conflicts).
 *
 * The revision map. `lock` guards a table id -> {revision seen on the
 * feed, hash of the value this appliance holds, deleted here}. The feed
 * compares each entry with it: older revisions are skipped, and so is the
 * echo of a change this appliance made (same value hash), so only other
 * appliances' changes reach the matcher. Revisions come from the feed only,
 * never from acknowledgements: when two appliances change one id at once,
 * both then apply the later revision and converge. The reaper's deletes and
 * reaper's deletes use the revision as their expected last sequence, so an
 * expiry is reaped once for the cluster (the others count reap_raced) and a
 * subscription refreshed meanwhile elsewhere is not deleted (on a
 * replicated bucket of nats-server < 2.9.21 two reapers may both delete:
 * harmless, a delete is idempotent).
 *
 * A batch that failed while connected (no quorum during an election, a
 * timeout) leaves this appliance holding what the bucket does not: the
 * feed thread then reads a fresh snapshot (resync), which undoes here what
 * did not land, as after a lost connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include <nats/nats.h>

#include "evr_nats_conn.h"
#include "evr_store.h"
#include "util/evr_hash.h"

#define KEY_PREFIX "s."
#define WATCH_POLL_MS 250   /* the feed thread looks at stop/resync this often */
#define RETRY_MS 500        /* between attempts to watch again */
#define CLAIM_TTL_NS (24LL * 3600 * 1000000000LL) /* claims bucket max age */
#define MAX_INFLIGHT 65536  /* asynchronous publishes awaiting acknowledgement */
/* Every delete leaves a marker in the bucket's stream (history 1 keeps
 * one per key ever used); markers older than libnats' default (30 min)
 * are purged this often, by each appliance at its own phase (idempotent). */
#define PURGE_EVERY_MS (10u * 60u * 1000u)
/* A watcher whose consumer died with its server (the client stays
 * connected to another one, so nothing tells it) goes silent: when idle,
 * the stream's last sequence is compared with the last revision seen this
 * often, and twice behind in a row means read everything again. */
#define WATCHDOG_MS 1000u
#define NODE_TTL_NS (30LL * 1000000000LL) /* an unrenewed node_id is free again */
#define NODE_BEAT_MS 5000u                 /* renewal period, well inside the TTL */

struct slot {
	uint64_t id;   /* 0: empty */
	uint64_t rev;  /* last revision seen on the feed (0: none yet) */
	uint64_t hash; /* value this appliance holds */
	uint64_t seen; /* snapshot generation that last carried it */
	uint64_t touch;/* local put counter when this appliance last put it */
	bool deleted;  /* this appliance deleted it (its echo drops the slot) */
};

struct nats_be {
	struct evr_store_conf conf;
	char bucket[64], subj_prefix[96];
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	kvStore *claims;       /* <bucket>_claims */
	kvStore *nodes;        /* <bucket>_nodes: node_id ownership */
	char node_key[24];     /* "n.<node_id>" */
	char node_val[320];    /* this appliance's identity */
	uint64_t node_rev;     /* its key's revision (open, then the feed thread) */
	bool node_lost;        /* feed thread: another appliance holds node_id */
	kvWatcher *w;          /* feed thread's after load */

	pthread_mutex_t lock;  /* map, counters, acks */
	struct slot *map;
	size_t mask, used;
	uint64_t gen, puts;
	uint64_t max_rev;      /* highest revision the feed delivered */
	char stream[80];       /* "KV_<bucket>" */
	struct evr_store_be_stats st;
	/* the batch being acknowledged */
	unsigned batch_errs;
	char batch_err[160];

	struct evr_store_feed feed;
	pthread_t thr;
	bool thr_running;
	bool stop;             /* lock */
	bool resync;           /* lock: read a fresh snapshot */
	bool connected;        /* lock */
	bool stale_reported;   /* feed thread */
};

/* ---- the revision map (lock held) ------------------------------------------ */

static struct slot *map_find(struct nats_be *b, uint64_t id)
{
	for (size_t i = evr_mix64(id) & b->mask;; i = (i + 1) & b->mask) {
		if (b->map[i].id == id)
			return &b->map[i];
		if (!b->map[i].id)
			return NULL;
	}
}

static int map_grow(struct nats_be *b)
{
	size_t n = b->mask + 1, nn = n * 2;
	struct slot *old = b->map, *m = calloc(nn, sizeof(*m));

	if (!m)
		return -ENOMEM;
	b->map = m;
	b->mask = nn - 1;
	for (size_t i = 0; i < n; i++) {
		if (!old[i].id)
			continue;
		size_t j = evr_mix64(old[i].id) & b->mask;
		while (m[j].id)
			j = (j + 1) & b->mask;
		m[j] = old[i];
	}
	free(old);
	return 0;
}

static struct slot *map_get(struct nats_be *b, uint64_t id)
{
	struct slot *s = map_find(b, id);

	if (s)
		return s;
	if ((b->used + 1) * 4 > (b->mask + 1) * 3 && map_grow(b))
		return NULL;
	size_t i = evr_mix64(id) & b->mask;
	while (b->map[i].id)
		i = (i + 1) & b->mask;
	b->map[i] = (struct slot){.id = id};
	b->used++;
	return &b->map[i];
}

/* Linear probing without tombstones: shift the run back over the hole. */
static void map_del(struct nats_be *b, struct slot *s)
{
	size_t i = (size_t)(s - b->map), j = i;

	b->used--;
	for (;;) {
		b->map[i].id = 0;
		for (;;) {
			j = (j + 1) & b->mask;
			if (!b->map[j].id)
				return;
			size_t home = evr_mix64(b->map[j].id) & b->mask;
			/* can the entry at j move to the hole at i? */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		b->map[i] = b->map[j];
		i = j;
	}
}

static uint64_t value_hash(const void *v, size_t len)
{
	return evr_fnv1a(0xcbf29ce484222325ull, v, len) | 1; /* never 0 */
}

/* ---- keys -------------------------------------------------------------------- */

static void subject(const struct nats_be *b, uint64_t id, char *out, size_t cap)
{
	snprintf(out, cap, "%s" KEY_PREFIX "%" PRIu64, b->subj_prefix, id);
}

/* "s.<id>" -> id; 0 for any other key (not ours). */
static uint64_t key_id(const char *key)
{
	char *end;
	unsigned long long v;

	if (strncmp(key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1) != 0)
		return 0;
	key += sizeof(KEY_PREFIX) - 1;
	if (*key < '1' || *key > '9')
		return 0;
	errno = 0;
	v = strtoull(key, &end, 10);
	return errno || *end ? 0 : (uint64_t)v;
}

static void set_err(char *err, size_t errlen, const struct nats_be *b, const char *what,
                    natsStatus s)
{
	const char *last = nats_GetLastError(NULL);

	snprintf(err, errlen, "store nats bucket %s (%s): %s: %s%s%s", b->bucket, b->conf.nats.url,
	         what, natsStatus_GetText(s), last && *last ? ": " : "", last ? last : "");
}

/* ---- connection ------------------------------------------------------------- */

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct nats_be *b = closure;
	(void)nc;
	pthread_mutex_lock(&b->lock);
	if (b->connected)
		b->st.disconnects++;
	b->connected = false;
	pthread_mutex_unlock(&b->lock);
	if (b->feed.stale)
		b->feed.stale(b->feed.ctx, true);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct nats_be *b = closure;
	(void)nc;
	/* the watcher's consumer may be gone with the servers: a fresh
	 * snapshot, then the differences (the feed thread clears stale) */
	pthread_mutex_lock(&b->lock);
	b->connected = true;
	b->resync = true;
	pthread_mutex_unlock(&b->lock);
}

/* Acknowledgements of apply()'s publishes (a libnats thread). */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct nats_be *b = closure;
	(void)js;
	(void)pa;
	if (pae) {
		pthread_mutex_lock(&b->lock);
		if (pae->ErrCode == JSStreamWrongLastSequenceErr) {
			/* a reaped expiry: another appliance deleted or refreshed
			 * it first; either way not ours to delete */
			b->st.reap_raced++;
		} else {
			if (!b->batch_errs++)
				snprintf(b->batch_err, sizeof(b->batch_err), "%s%s%s",
				         natsStatus_GetText(pae->Err), pae->ErrText ? ": " : "",
				         pae->ErrText ? pae->ErrText : "");
		}
		pthread_mutex_unlock(&b->lock);
	}
	natsMsg_Destroy(msg);
}

/* Bind the bucket, creating it when missing (replicas, max age ns: 0 =
 * none). */
static natsStatus bind_bucket(struct nats_be *b, kvStore **kv, const char *name,
                              const char *what, uint32_t replicas, int64_t ttl)
{
	natsStatus s = js_KeyValue(kv, b->js, name);

	if (s == NATS_NOT_FOUND) {
		kvConfig kc;

		kvConfig_Init(&kc);
		kc.Bucket = name;
		kc.Description = what;
		kc.History = 1;
		kc.Replicas = (int)replicas;
		kc.TTL = ttl;
		kc.StorageType = js_FileStorage;
		s = js_CreateKeyValue(kv, b->js, &kc);
		/* another appliance created it meanwhile */
		if (s != NATS_OK)
			s = js_KeyValue(kv, b->js, name);
	}
	return s;
}

/* ---- node_id ownership ------------------------------------------------------ */

static bool wrong_last_seq(void)
{
	const char *e = nats_GetLastError(NULL);
	return e && strstr(e, "wrong last sequence");
}

/* Take n.<node_id>: 0 ours (node_rev set), 1 held by another appliance
 * (its identity in who), -1 NATS failed. Start-up and feed thread. */
static int node_take(struct nats_be *b, char *who, size_t wholen)
{
	int len = (int)strlen(b->node_val);

	for (int tries = 0; tries < 4; tries++) {
		kvEntry *e = NULL;
		uint64_t rev = 0;
		natsStatus s = kvStore_Get(&e, b->nodes, b->node_key);

		if (s == NATS_NOT_FOUND) {
			s = kvStore_Create(&rev, b->nodes, b->node_key, b->node_val, len);
			if (s == NATS_OK) {
				b->node_rev = rev;
				return 0;
			}
			if (wrong_last_seq())
				continue; /* created meanwhile: look at it */
			return -1;
		}
		if (s != NATS_OK)
			return -1;
		const char *v = kvEntry_ValueString(e);
		uint64_t last = kvEntry_Revision(e);
		bool mine = v && strcmp(v, b->node_val) == 0;
		if (!mine)
			snprintf(who, wholen, "%s", v ? v : "?");
		kvEntry_Destroy(e);
		if (!mine)
			return 1;
		s = kvStore_Update(&rev, b->nodes, b->node_key, b->node_val, len, last);
		if (s == NATS_OK) {
			b->node_rev = rev;
			return 0;
		}
		if (!wrong_last_seq())
			return -1;
	}
	return -1;
}

/* Renew the node_id (feed thread, connected). A key that expired during
 * an outage is taken again; one another appliance took meanwhile is
 * counted (node_conflicts): ids may collide until one of them stops. */
static void node_beat(struct nats_be *b)
{
	char who[320];
	uint64_t rev = 0;

	if (!b->node_lost && kvStore_Update(&rev, b->nodes, b->node_key, b->node_val,
	                                    (int)strlen(b->node_val), b->node_rev) == NATS_OK) {
		b->node_rev = rev;
		return;
	}
	int r = node_take(b, who, sizeof(who));
	pthread_mutex_lock(&b->lock);
	if (r == 1 && !b->node_lost)
		b->st.node_conflicts++;
	pthread_mutex_unlock(&b->lock);
	if (r >= 0)
		b->node_lost = r == 1;
}

static void be_close(void *be);

static int be_open(void **out, const struct evr_store_conf *c, char *err, size_t errlen)
{
	struct nats_be *b = calloc(1, sizeof(*b));
	natsStatus s;
	jsOptions jo;

	if (!b) {
		snprintf(err, errlen, "store: out of memory");
		return -ENOMEM;
	}
	b->conf = *c;
	snprintf(b->bucket, sizeof(b->bucket), "%s", c->bucket);
	snprintf(b->subj_prefix, sizeof(b->subj_prefix), "$KV.%s.", c->bucket);
	snprintf(b->stream, sizeof(b->stream), "KV_%s", c->bucket);
	pthread_mutex_init(&b->lock, NULL);
	b->mask = 1023;
	b->map = calloc(b->mask + 1, sizeof(*b->map));
	if (!b->map) {
		be_close(b);
		snprintf(err, errlen, "store: out of memory");
		return -ENOMEM;
	}
	s = evr_nats_conn_options(&b->opts, &c->nats);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(b->opts, on_disconnected, b);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(b->opts, on_reconnected, b);
	if (s != NATS_OK) {
		set_err(err, errlen, b, "options", s);
		be_close(b);
		return -EINVAL;
	}
	/* The whole set is loaded before the ports come up: a server that
	 * cannot be reached is a start-up error (systemd restarts evrd). */
	s = natsConnection_Connect(&b->nc, b->opts);
	if (s != NATS_OK) {
		set_err(err, errlen, b, "cannot connect", s);
		be_close(b);
		return -EHOSTUNREACH;
	}
	b->connected = true;
	jsOptions_Init(&jo);
	jo.Wait = c->timeout_ms;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = b;
	jo.PublishAsync.MaxPending = MAX_INFLIGHT;
	jo.PublishAsync.StallWait = c->timeout_ms;
	s = natsConnection_JetStream(&b->js, b->nc, &jo);
	if (s == NATS_OK)
		s = bind_bucket(b, &b->kv, b->bucket, "evrouter runtime subscriptions",
		                c->replicas, 0);
	if (s == NATS_OK) {
		char claims[80];
		snprintf(claims, sizeof(claims), "%s_claims", b->bucket);
		s = bind_bucket(b, &b->claims, claims, "evrouter once claims",
		                c->claim_replicas ? c->claim_replicas : 1, CLAIM_TTL_NS);
	}
	if (s == NATS_OK) {
		char nodes[80];
		snprintf(nodes, sizeof(nodes), "%s_nodes", b->bucket);
		s = bind_bucket(b, &b->nodes, nodes, "evrouter node_id owners",
		                c->replicas, NODE_TTL_NS);
	}
	if (s != NATS_OK) {
		set_err(err, errlen, b, "JetStream KV bucket", s);
		be_close(b);
		return -EIO;
	}
	snprintf(b->node_key, sizeof(b->node_key), "n.%u", c->node_id);
	if (c->instance && *c->instance) {
		snprintf(b->node_val, sizeof(b->node_val), "%s", c->instance);
	} else {
		char host[256] = "?";
		(void)gethostname(host, sizeof(host) - 1);
		snprintf(b->node_val, sizeof(b->node_val), "%s", host);
	}
	{
		char who[320];
		int r = node_take(b, who, sizeof(who));
		if (r == 1) {
			snprintf(err, errlen, "store nats bucket %s: store.node_id %u is held by %s "
			         "(renewed within the last %lld s); give every appliance its own node_id",
			         b->bucket, c->node_id, who, NODE_TTL_NS / 1000000000LL);
			be_close(b);
			return -EADDRINUSE;
		}
		if (r < 0) {
			set_err(err, errlen, b, "taking store.node_id", NATS_ERR);
			be_close(b);
			return -EIO;
		}
	}
	*out = b;
	return 0;
}

/* ---- writer: one batch ------------------------------------------------------ */

/* What this appliance now holds for c's id (its slot), whether or not the
 * change reaches the bucket: the feed's echo and a resync compare with it.
 * Returns the revision a delete must still find (0: any), or UINT64_MAX
 * without memory. */
static uint64_t note_local(struct nats_be *b, const struct evr_store_change *c)
{
	uint64_t expect = 0;

	pthread_mutex_lock(&b->lock);
	struct slot *sl = map_get(b, c->id);
	if (!sl) {
		expect = UINT64_MAX;
	} else if (c->len) {
		sl->hash = value_hash(c->val, c->len);
		sl->deleted = false;
		sl->touch = ++b->puts;
	} else {
		/* a reaped expiry goes only if nobody changed it since (the
		 * cluster reaps it once); a request's delete always goes */
		if (c->why == EVR_STORE_REAPED)
			expect = sl->rev;
		sl->deleted = true;
	}
	pthread_mutex_unlock(&b->lock);
	return expect;
}

static natsStatus publish_change(struct nats_be *b, const struct evr_store_change *c)
{
	char subj[128];
	natsMsg *msg = NULL;
	jsPubOptions po;
	natsStatus s;
	uint64_t expect = note_local(b, c);

	if (expect == UINT64_MAX)
		return NATS_NO_MEMORY;
	subject(b, c->id, subj, sizeof(subj));
	jsPubOptions_Init(&po);
	po.ExpectLastSubjectSeq = expect;
	s = natsMsg_Create(&msg, subj, NULL, c->len ? c->val : NULL, (int)c->len);
	if (s == NATS_OK && !c->len)
		s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
	if (s == NATS_OK)
		s = js_PublishMsgAsync(b->js, &msg, &po);
	natsMsg_Destroy(msg); /* no-op when libnats took it */
	return s;
}

static int be_apply(void *be, const struct evr_store_change *v, size_t n, char *err,
                    size_t errlen)
{
	struct nats_be *b = be;
	natsStatus s = NATS_OK;
	jsPubOptions po;
	size_t i;

	pthread_mutex_lock(&b->lock);
	bool up = b->connected;
	b->batch_errs = 0;
	b->batch_err[0] = 0;
	pthread_mutex_unlock(&b->lock);
	for (i = 0; i < n && s == NATS_OK; i++) {
		/* cut off: fail at once rather than after timeout_ms (the slots
		 * are still updated, so the resync undoes what did not land) */
		if (up)
			s = publish_change(b, &v[i]);
		else
			(void)note_local(b, &v[i]);
	}
	if (!up) {
		snprintf(err, errlen, "NATS unreachable (%s): the change is applied here only",
		         b->conf.nats.url);
		return -EHOSTUNREACH;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = b->conf.timeout_ms;
	natsStatus w = js_PublishAsyncComplete(b->js, &po);
	if (w != NATS_OK) {
		/* take back what is still unacknowledged: a late ack must not
		 * count against the next batch */
		natsMsgList pend = {0};
		if (js_PublishAsyncGetPendingList(&pend, b->js) == NATS_OK)
			natsMsgList_Destroy(&pend);
	}
	pthread_mutex_lock(&b->lock);
	unsigned errs = b->batch_errs;
	if (s != NATS_OK || w != NATS_OK || errs)
		b->resync = true; /* undo here what did not land */
	if (s != NATS_OK)
		snprintf(err, errlen, "publish to JetStream: %s", natsStatus_GetText(s));
	else if (w != NATS_OK)
		snprintf(err, errlen, "JetStream did not acknowledge within %u ms: %s",
		         b->conf.timeout_ms, natsStatus_GetText(w));
	else if (errs)
		snprintf(err, errlen, "JetStream refused %u change(s): %s", errs, b->batch_err);
	pthread_mutex_unlock(&b->lock);
	return s != NATS_OK || w != NATS_OK || errs ? -EIO : 0;
}

/* ---- the feed ----------------------------------------------------------------- */

/*
 * One watcher entry. In a snapshot (gen != 0) it marks the slot seen; a put
 * whose value this appliance does not hold, or holds deleted, is handed on.
 * Live (gen 0): entries older than the slot's revision are skipped, the
 * echo of this appliance's own put (same hash) too. fn/ctx receive what is
 * handed on (load: the front's loader; afterwards the feed).
 */
static void entry(struct nats_be *b, kvEntry *e, uint64_t gen, evr_store_record_fn fn,
                  void *ctx)
{
	uint64_t id = key_id(kvEntry_Key(e)), rev = kvEntry_Revision(e);
	kvOperation op = kvEntry_Operation(e);
	const void *val = kvEntry_Value(e);
	int len = kvEntry_ValueLen(e);
	bool hand = false, del = false;

	pthread_mutex_lock(&b->lock);
	if (rev > b->max_rev)
		b->max_rev = rev;
	if (!id) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	struct slot *sl = map_find(b, id);
	if (op == kvOp_Put && len > 0) {
		uint64_t h = value_hash(val, (size_t)len);
		if (!sl)
			sl = map_get(b, id);
		if (sl && (gen || rev > sl->rev)) {
			hand = !sl->rev && !sl->hash ? true : (sl->deleted || sl->hash != h);
			sl->rev = rev;
			sl->hash = h;
			sl->deleted = false;
			if (gen)
				sl->seen = gen;
		}
	} else if (sl && !gen && rev > sl->rev) {
		/* deleted (or purged) elsewhere, or the echo of our delete */
		del = !sl->deleted;
		map_del(b, sl);
	}
	pthread_mutex_unlock(&b->lock);
	if (hand)
		fn(ctx, id, val, (size_t)len);
	else if (del)
		fn(ctx, id, NULL, 0);
}

/* The bucket stream's last sequence; 0 when it cannot be asked. */
static uint64_t stream_last_seq(struct nats_be *b)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	uint64_t last = 0;

	if (js_GetStreamInfo(&si, b->js, b->stream, NULL, &jerr) == NATS_OK && si)
		last = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	return last;
}

static natsStatus watch_start(struct nats_be *b, kvWatcher **w)
{
	kvWatchOptions wo;

	kvWatchOptions_Init(&wo);
	wo.Timeout = b->conf.timeout_ms;
	return kvStore_WatchAll(w, b->kv, &wo);
}

/*
 * Read a snapshot through w (until its end marker), then hand on the
 * deletes it implies: slots it did not carry, unless put here after the
 * snapshot began (their echo is still to come). NATS_OK when complete.
 */
static natsStatus snapshot(struct nats_be *b, kvWatcher *w, evr_store_record_fn fn, void *ctx)
{
	uint64_t gen, start;
	natsStatus s;

	/* the snapshot covers at least this much of the stream: a last
	 * message since purged (a delete marker) must not look unseen */
	uint64_t covered = stream_last_seq(b);

	pthread_mutex_lock(&b->lock);
	gen = ++b->gen;
	start = b->puts;
	pthread_mutex_unlock(&b->lock);
	for (;;) {
		kvEntry *e = NULL;
		s = kvWatcher_Next(&e, w, b->conf.timeout_ms);
		if (s != NATS_OK)
			return s;
		if (!e)
			break; /* the initial values are all here */
		entry(b, e, gen, fn, ctx);
		kvEntry_Destroy(e);
	}
	pthread_mutex_lock(&b->lock);
	if (covered > b->max_rev)
		b->max_rev = covered;
	pthread_mutex_unlock(&b->lock);
	/* the sweep collects ids first: handing on runs without the lock */
	size_t cap = 256, n = 0;
	uint64_t *gone = malloc(cap * sizeof(*gone));
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i <= b->mask; i++) {
		struct slot *sl = &b->map[i];
		if (!sl->id || sl->seen == gen || sl->touch > start)
			continue;
		if (n == cap) {
			uint64_t *g = gone ? realloc(gone, cap * 2 * sizeof(*g)) : NULL;
			if (!g)
				break;
			gone = g;
			cap *= 2;
		}
		if (gone)
			gone[n++] = sl->id;
	}
	for (size_t k = 0; k < n; k++) {
		struct slot *sl = map_find(b, gone[k]);
		bool held = sl && !sl->deleted;
		if (sl)
			map_del(b, sl);
		if (!held)
			gone[k] = 0;
	}
	pthread_mutex_unlock(&b->lock);
	for (size_t k = 0; k < n; k++)
		if (gone[k])
			fn(ctx, gone[k], NULL, 0);
	free(gone);
	return NATS_OK;
}

static int be_load(void *be, evr_store_record_fn fn, void *ctx, char *err, size_t errlen)
{
	struct nats_be *b = be;
	natsStatus s = watch_start(b, &b->w);

	if (s == NATS_OK)
		s = snapshot(b, b->w, fn, ctx);
	if (s != NATS_OK) {
		set_err(err, errlen, b, "loading the bucket", s);
		return -EIO;
	}
	return 0;
}

/* fn adapter: the feed's change callback has no return value. */
static int feed_fn(void *ctx, uint64_t id, const void *val, size_t len)
{
	struct nats_be *b = ctx;
	b->feed.change(b->feed.ctx, id, val, len);
	return 0;
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Is the watcher behind the stream (watchdog)? Unknown counts as no. */
static bool watcher_behind(struct nats_be *b)
{
	uint64_t last = stream_last_seq(b);
	bool behind;

	pthread_mutex_lock(&b->lock);
	behind = last > b->max_rev;
	pthread_mutex_unlock(&b->lock);
	return behind;
}

static void *watch_main(void *arg)
{
	struct nats_be *b = arg;
	/* spread the appliances' purges over the period */
	uint64_t next_purge = mono_ms() + PURGE_EVERY_MS / 2 +
	                      (b->conf.node_id * 7919u) % (PURGE_EVERY_MS / 2);
	uint64_t next_check = mono_ms() + WATCHDOG_MS;
	uint64_t next_beat = mono_ms() + NODE_BEAT_MS;
	unsigned behind = 0;

	for (;;) {
		if (mono_ms() >= next_purge) {
			kvPurgeOptions po;
			kvPurgeOptions_Init(&po);
			po.Timeout = b->conf.timeout_ms;
			(void)kvStore_PurgeDeletes(b->kv, &po); /* retried next period */
			next_purge = mono_ms() + PURGE_EVERY_MS;
		}
		pthread_mutex_lock(&b->lock);
		bool stop = b->stop, again = b->resync, up = b->connected;
		b->resync = false;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		if (up && mono_ms() >= next_beat) {
			node_beat(b); /* a failure is retried next period */
			next_beat = mono_ms() + NODE_BEAT_MS;
		}
		if (again && up) {
			kvWatcher *w = NULL;
			if (b->w) {
				kvWatcher_Destroy(b->w);
				b->w = NULL;
			}
			natsStatus s = watch_start(b, &w);
			if (s == NATS_OK)
				s = snapshot(b, w, feed_fn, b);
			if (s != NATS_OK) {
				/* JetStream not ready yet (a leader being elected):
				 * stale until a snapshot is complete */
				if (w)
					kvWatcher_Destroy(w);
				pthread_mutex_lock(&b->lock);
				b->resync = true;
				pthread_mutex_unlock(&b->lock);
				nap_ms(RETRY_MS);
				continue;
			}
			b->w = w;
			pthread_mutex_lock(&b->lock);
			b->st.resyncs++;
			pthread_mutex_unlock(&b->lock);
			b->feed.stale(b->feed.ctx, false);
			continue;
		}
		if (!b->w || !up) {
			nap_ms(WATCH_POLL_MS);
			continue;
		}
		kvEntry *e = NULL;
		natsStatus s = kvWatcher_Next(&e, b->w, WATCH_POLL_MS);
		if (s == NATS_OK && e) {
			entry(b, e, 0, feed_fn, b);
			kvEntry_Destroy(e);
			behind = 0;
		} else if (s == NATS_TIMEOUT) {
			if (mono_ms() >= next_check) {
				next_check = mono_ms() + WATCHDOG_MS;
				behind = watcher_behind(b) ? behind + 1 : 0;
				if (behind >= 2) {
					behind = 0;
					pthread_mutex_lock(&b->lock);
					b->resync = true;
					pthread_mutex_unlock(&b->lock);
				}
			}
		} else {
			/* the watcher itself failed: read everything again */
			pthread_mutex_lock(&b->lock);
			b->resync = true;
			pthread_mutex_unlock(&b->lock);
			nap_ms(RETRY_MS);
		}
	}
	return NULL;
}

static int be_watch(void *be, const struct evr_store_feed *feed, char *err, size_t errlen)
{
	struct nats_be *b = be;

	b->feed = *feed;
	if (pthread_create(&b->thr, NULL, watch_main, b)) {
		snprintf(err, errlen, "store: cannot start the feed thread");
		return -EAGAIN;
	}
	b->thr_running = true;
	return 0;
}

/* ---- once claims ---------------------------------------------------------------- */

static int be_claim(void *be, uint64_t id)
{
	struct nats_be *b = be;
	char key[40], who[16];
	uint64_t rev = 0;

	pthread_mutex_lock(&b->lock);
	struct slot *sl = map_find(b, id);
	bool gone = !sl || sl->deleted;
	pthread_mutex_unlock(&b->lock);
	if (gone)
		return 0; /* deleted: claimed elsewhere, or unsubscribed */
	snprintf(key, sizeof(key), "c.%" PRIu64, id);
	snprintf(who, sizeof(who), "%u", b->conf.node_id);
	natsStatus s = kvStore_Create(&rev, b->claims, key, who, (int)strlen(who));
	if (s != NATS_OK)
		return wrong_last_seq() ? 0 : -EIO; /* 0: another appliance claimed it */
	/* ours: the subscription goes for everyone (the others' local copies
	 * fire no more: their claims fail) */
	pthread_mutex_lock(&b->lock);
	if ((sl = map_find(b, id)))
		sl->deleted = true;
	pthread_mutex_unlock(&b->lock);
	snprintf(key, sizeof(key), KEY_PREFIX "%" PRIu64, id);
	(void)kvStore_Delete(b->kv, key); /* failing: it expires; claims stop it firing */
	return 1;
}

/* ---- stats, close -------------------------------------------------------------- */

static void be_stats(void *be, struct evr_store_be_stats *st)
{
	struct nats_be *b = be;

	pthread_mutex_lock(&b->lock);
	*st = b->st;
	pthread_mutex_unlock(&b->lock);
}

static void be_close(void *be)
{
	struct nats_be *b = be;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_mutex_unlock(&b->lock);
	if (b->thr_running)
		pthread_join(b->thr, NULL);
	/* a clean stop frees the node_id at once (a crash: after NODE_TTL) */
	if (b->nodes && b->node_rev && !b->node_lost)
		(void)kvStore_Delete(b->nodes, b->node_key);
	if (b->w)
		kvWatcher_Destroy(b->w);
	if (b->kv)
		kvStore_Destroy(b->kv);
	if (b->claims)
		kvStore_Destroy(b->claims);
	if (b->nodes)
		kvStore_Destroy(b->nodes);
	if (b->js)
		jsCtx_Destroy(b->js);
	if (b->nc) {
		natsConnection_Close(b->nc);
		natsConnection_Destroy(b->nc);
	}
	if (b->opts)
		natsOptions_Destroy(b->opts);
	free(b->map);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

const struct evr_store_backend_ops evr_store_nats_ops = {
	.name = "nats",
	.open = be_open,
	.apply = be_apply,
	.load = be_load,
	.watch = be_watch,
	.claim = be_claim,
	.stats = be_stats,
	.close = be_close,
};
