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
 * durable batch, load all, change feed). "embedded" is LMDB under
 * store.path; a JetStream KV backend ("nats") would implement the same ops
 * (a batch = one KV put/delete per change, acknowledged; the feed = a KV
 * watch, so another evrd could follow) and is refused until it exists.
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
	EVR_STORE_NATS,         /* JetStream KV: not implemented (refused) */
	EVR_STORE_NONE,
};

struct evr_store_conf {
	enum evr_store_kind kind;
	const char *path;  /* state directory (embedded) */
	uint32_t map_mb;   /* LMDB map size: the most the file grows to */
	bool reset;        /* start empty: remove what path holds (--store-reset) */
};

/* ---- backend interface ----------------------------------------------------- */

/* One change: val/len the encoded record of a put, len 0 a delete. */
struct evr_store_change {
	uint64_t id;
	const void *val;
	uint32_t len;
};

typedef int (*evr_store_record_fn)(void *ctx, uint64_t id, const void *val, size_t len);

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
	/* Change feed: fn for every change made by another writer, until
	 * close. NULL when the backend has one writer only (embedded). */
	int (*watch)(void *be, evr_store_record_fn fn, void *ctx);
	void (*close)(void *be);
};

extern const struct evr_store_backend_ops evr_store_lmdb_ops;

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
	X(load_refused, GAUGE, "stored subscriptions the matcher refused at start-up (dropped)")

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

/* Record codec (unit tests; the backends store these bytes). */
struct evr_sub;
size_t evr_store_encode(const struct evr_sub *sub, uint64_t expires_at_ms, void *buf,
                        size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* EVR_STORE_H */
