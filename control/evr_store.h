/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durable runtime subscriptions: what survives an evrd restart (issue 14 §1).
 *
 * Ownership and threads. evrd owns one struct evr_store (dataplane/evrd/
 * evrd.c): it opens it before the ports come up, loads it into the matcher
 * (evr_store_load), then attaches it (evr_store_attach): from then on the
 * matcher's change hook (evr_matcher_set_change_hook) copies every change
 * into the store's queue under the matcher's writer lock, from the control
 * thread (subscribe, refresh, unsubscribe) or the matcher's maintenance
 * thread (expired, `once` fired). The store's own writer thread takes the
 * whole queue, writes it in one backend transaction that is on disk when it
 * returns (group commit), then publishes the last sequence number it covers
 * and wakes the control thread through an eventfd. The control thread holds
 * each changing request's reply until that sequence is committed
 * (evr_control.c) and serves other clients meanwhile: nothing waits on the
 * disk but the writer thread. Dataplane workers never touch the store.
 *
 * Backends sit behind struct evr_store_backend_ops (put/delete as one
 * durable batch, load all, change feed, `once` claim). "embedded" is LMDB
 * under store.path (evr_store_lmdb.c). "nats" is a JetStream KV bucket that
 * several appliances share (evr_store_nats.c): a batch is one KV put or
 * delete per change, durable when JetStream acknowledged all of them; the
 * feed is a KV watch whose entries from other appliances the control thread
 * applies to the matcher (evr_store_apply_remote) without feeding them back
 * to the store; a fired `once` is claimed cluster-wide (a create-if-absent
 * in a claims bucket) before its notification leaves (evr_store_claim_once).
 *
 * Records are keyed by subscription id and keep absolute (wall clock)
 * expiry times, so at load an expired one is dropped and the others keep
 * their remaining TTL. Static subscriptions of the config (expire never)
 * and ESL connections' subscriptions (esl: destinations) are never stored.
 */
#ifndef EVR_STORE_H
#define EVR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evr_matcher;

enum evr_store_kind {
	EVR_STORE_EMBEDDED = 0, /* LMDB */
	EVR_STORE_NATS,         /* JetStream KV shared by a cluster */
	EVR_STORE_NONE,
};

/* A NATS connection's settings (the config's nats group): the store's own
 * connection and the nats: publisher build their options from it
 * (evr_nats_conn.h). */
struct evr_nats_conn_conf {
	const char *url;   /* "nats://a:4222,nats://b:4222" */
	const char *name;  /* client name */
	const char *user, *password, *token, *creds_file; /* "" = unused */
	/* TLS ("" = unused; any of them, or a tls:// URL, turns it on) */
	const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_hostname;
	uint32_t reconnect_wait_ms;
	uint32_t max_pending_bytes; /* reconnect buffer; 0 = libnats default */
};

struct evr_store_conf {
	enum evr_store_kind kind;
	const char *path;  /* state directory (embedded) */
	uint32_t map_mb;   /* LMDB map size: the most the file grows to */
	bool reset;        /* start empty: remove what path holds (--store-reset) */
	/* nats */
	struct evr_nats_conn_conf nats;
	const char *bucket;
	uint32_t replicas;
	uint32_t claim_replicas; /* <bucket>_claims (once claims); 0 = 1 */
	uint32_t node_id;    /* 1..4095: ids are node_id << EVR_ID_NODE_SHIFT | n */
	uint32_t timeout_ms; /* acknowledgement and load wait */
	/* who this appliance is (host and control socket): the owner of
	 * node_id in the cluster; NULL = the host name */
	const char *instance;
};

/* ---- backend interface ----------------------------------------------------- */

/* Why a change is made: a shared backend deletes what a reaper found
 * expired only if nobody changed it since (compare-and-set), so a cluster
 * reaps each expiry once. */
enum evr_store_why {
	EVR_STORE_REQUEST = 0, /* subscribe, refresh, unsubscribe */
	EVR_STORE_REAPED,      /* expired (or dropped at load) */
};

/* One change: val/len the encoded record of a put, len 0 a delete. */
struct evr_store_change {
	uint64_t id;
	const void *val;
	uint32_t len;
	uint8_t why; /* enum evr_store_why */
};

typedef int (*evr_store_record_fn)(void *ctx, uint64_t id, const void *val, size_t len);

/* What a shared backend tells the store from its own threads: another
 * writer's change (val/len a put, len 0 a delete), and whether it is cut
 * off from the others (stale) or back. */
struct evr_store_feed {
	void (*change)(void *ctx, uint64_t id, const void *val, size_t len);
	void (*stale)(void *ctx, bool stale);
	void *ctx;
};

/* Counters a shared backend keeps (read with its stats op). */
struct evr_store_be_stats {
	uint64_t resyncs, disconnects, reap_raced, node_conflicts;
};

struct evr_store_backend_ops {
	const char *name;
	/* Open or create; -errno with err naming the path (corrupt, locked,
	 * permission). */
	int (*open)(void **be, const struct evr_store_conf *c, char *err, size_t errlen);
	/* Apply every change in order, all or none, durable when it returns 0.
	 * -ENOSPC (store or disk full), -EIO. Writer thread. */
	int (*apply)(void *be, const struct evr_store_change *v, size_t n, char *err,
	             size_t errlen);
	/* Every record in id order; fn returning non-zero stops (and is
	 * returned). Start-up, before the writer thread runs. */
	int (*load)(void *be, evr_store_record_fn fn, void *ctx, char *err, size_t errlen);
	/* Change feed: from now until close, every change another writer
	 * makes, and staleness, on the backend's own thread. NULL when the
	 * backend has one writer only (embedded). After load. */
	int (*watch)(void *be, const struct evr_store_feed *feed, char *err, size_t errlen);
	/* Claim a fired `once` for this appliance (delete it if nobody
	 * changed it since): 1 claimed, 0 someone else did, -errno (not
	 * reachable: not claimed). NULL: single writer, always claimed. Any
	 * thread but the writer's. */
	int (*claim)(void *be, uint64_t id);
	void (*stats)(void *be, struct evr_store_be_stats *st);
	void (*close)(void *be);
};

extern const struct evr_store_backend_ops evr_store_lmdb_ops;
extern const struct evr_store_backend_ops evr_store_nats_ops;

/* ---- the store -------------------------------------------------------------- */

#define EVR_STORE_STATS(X)                                                       \
	X(queued, COUNTER, "changes queued to the store writer")                        \
	X(committed, COUNTER, "changes made durable")                                   \
	X(commits, COUNTER, "group commits (one transaction + sync each)")              \
	X(errors, COUNTER, "changes that could not be made durable")                    \
	X(errors_full, COUNTER, "... of them because the store or disk was full")       \
	X(queue_peak, GAUGE, "most changes waiting for one commit")                     \
	X(last_commit_microseconds, GAUGE, "duration of the last commit (write + sync)")          \
	X(loaded, GAUGE, "subscriptions restored at start-up")                          \
	X(load_expired, GAUGE, "stored subscriptions that expired while evrd was down") \
	X(load_refused, GAUGE, "stored subscriptions the matcher refused at start-up (dropped)") \
	X(stale, GAUGE, "1 while a shared store (nats) is unreachable: matching goes on with the set held") \
	X(remote_applied, COUNTER, "changes other appliances made, applied to this matcher")  \
	X(remote_refused, COUNTER, "... that this matcher refused (policy, limits): counted, not applied") \
	X(resyncs, COUNTER, "full resynchronisations with a shared store after it came back") \
	X(nats_disconnects, COUNTER, "times the shared store's NATS connection was lost") \
	X(reap_raced, COUNTER, "expired subscriptions another appliance reaped (or refreshed) first") \
	X(node_conflicts, COUNTER, "times another appliance was found holding this one's store.node_id (after an outage longer than its 30 s lease): ids may collide") \
	X(once_claimed, COUNTER, "fired once subscriptions this appliance claimed (notified)") \
	X(once_lost, COUNTER, "fired once subscriptions claimed elsewhere or not claimable: not notified")

struct evr_store_stats {
#define X(f, k, h) uint64_t f;
	EVR_STORE_STATS(X)
#undef X
};

struct evr_store;

/* Open (kind none: NULL, no error) and take the directory's lock; start the
 * writer thread. NULL with err (naming store.path and how to start empty)
 * on failure. Start-up thread. */
struct evr_store *evr_store_open(const struct evr_store_conf *c, char *err, size_t errlen);

/* Restore every stored subscription into m (their ids and absolute expiry
 * times; expired ones and refused ones are deleted from the store).
 * Before evr_store_attach, before static subscriptions get ids. 0 or
 * -errno with err (a record that cannot be decoded: corrupt). Start-up
 * thread, a registered QSBR thread. */
int evr_store_load(struct evr_store *s, struct evr_matcher *m, char *err, size_t errlen);

/* From now on every change of m goes to the store. */
void evr_store_attach(struct evr_store *s, struct evr_matcher *m);

/* Detach from m, commit what is queued, stop the writer, close. */
void evr_store_close(struct evr_store *s, struct evr_matcher *m);

/* Sequence of the last request's change queued (control thread, after a
 * request). The reaper's removals have none: nobody waits for them. */
uint64_t evr_store_queued_seq(struct evr_store *s);
/* Sequence up to which changes are committed (or failed: see
 * evr_store_seq_failed). Any thread. */
uint64_t evr_store_done_seq(struct evr_store *s);
/* Did the commit covering seq fail? msg says why (recent failures only:
 * the last 64 batches that failed). Control thread. */
bool evr_store_seq_failed(struct evr_store *s, uint64_t seq, char *msg, size_t len);
/* Readable when done_seq advanced; evr_store_drain_fd empties it. */
int evr_store_fd(const struct evr_store *s);
void evr_store_drain_fd(struct evr_store *s);
void evr_store_get_stats(struct evr_store *s, struct evr_store_stats *st);
const char *evr_store_path(const struct evr_store *s);

/* Apply the changes other appliances made (queued by the backend's feed)
 * to m, at most budget of them; they are not fed back to the store.
 * Returns how many are still queued. Control thread (the matcher's
 * writer), every turn; evr_store_fd turns readable when some arrive. */
size_t evr_store_apply_remote(struct evr_store *s, struct evr_matcher *m, size_t budget);

/* Does a fired `once` need a claim before it is notified (a shared store)?
 * Any thread. */
bool evr_store_claims(const struct evr_store *s);
/* Claim it (evr_store_backend_ops.claim): true when this appliance may
 * notify. Counted. The claiming thread (never a worker: a round trip). */
bool evr_store_claim_once(struct evr_store *s, uint64_t id);

/* Record codec (unit tests; the backends store these bytes). */
struct evr_sub;
size_t evr_store_encode(const struct evr_sub *sub, uint64_t expires_at_ms, void *buf,
                        size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* EVR_STORE_H */
