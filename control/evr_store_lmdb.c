/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store backend: LMDB under store.path (evr_store.h).
 *
 * Threads: open and load on evrd's start-up thread, apply on the store's
 * writer thread only (LMDB allows one write transaction at a time; we have
 * one writer), close after the writer stopped.
 *
 * One evrd per directory: an flock on <path>/evrd.lock holding the pid, so
 * the second names the first, as evrd does for interfaces. LMDB's own
 * lock.mdb would let two processes share the file, which we do not want
 * (two routers restoring the same subscriptions would notify twice).
 *
 * Corruption: LMDB refuses a garbled header (MDB_INVALID) itself; a file
 * shorter than its meta pages say would be read through the map past its
 * end (SIGBUS), so the size is checked against the last page first; and
 * the load decodes every record. Each is a start-up error naming the path
 * and --store-reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "evr_store.h"

struct lmdb_be {
	MDB_env *env;
	MDB_dbi dbi;
	int lock_fd;
	char path[128];
};

#define RESET_HINT "start empty with evrd --store-reset, or move the directory away"

static int mdb_errno(int rc)
{
	switch (rc) {
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
	case ENOSPC:
	case EDQUOT:
		return -ENOSPC;
	case ENOMEM:
		return -ENOMEM;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

static void key_of(uint64_t id, unsigned char k[8])
{
	/* big-endian: LMDB's byte order is then id order (listing, load) */
	for (int i = 7; i >= 0; i--, id >>= 8)
		k[i] = (unsigned char)id;
}

static int take_lock(struct lmdb_be *b, char *err, size_t errlen)
{
	char lp[160], pid[32];
	snprintf(lp, sizeof(lp), "%s/evrd.lock", b->path);
	b->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (b->lock_fd < 0) {
		snprintf(err, errlen, "store.path %s: %s: %s", b->path, lp, strerror(errno));
		return -errno;
	}
	if (flock(b->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		ssize_t n = pread(b->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e == EWOULDBLOCK)
			snprintf(err, errlen,
			         "store.path %s is already in use by another evrd (pid %s, "
			         "lock %s): give each evrd its own store.path",
			         b->path, pid[0] ? pid : "unknown", lp);
		else
			snprintf(err, errlen, "store.path %s: %s: %s", b->path, lp, strerror(e));
		close(b->lock_fd);
		b->lock_fd = -1;
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(b->lock_fd, 0) != 0 || pwrite(b->lock_fd, pid, (size_t)n, 0) != n) {
		/* the lock holds without the pid; a refusal says "unknown" */
	}
	return 0;
}

static void lmdb_close(void *be)
{
	struct lmdb_be *b = be;
	if (!b)
		return;
	if (b->env)
		mdb_env_close(b->env);
	if (b->lock_fd >= 0)
		close(b->lock_fd); /* releases the flock */
	free(b);
}

static int lmdb_open(void **out, const struct evr_store_conf *c, char *err, size_t errlen)
{
	struct lmdb_be *b = calloc(1, sizeof(*b));
	char dp[160];
	struct stat st;
	int rc;

	if (!b)
		return -ENOMEM;
	b->lock_fd = -1;
	snprintf(b->path, sizeof(b->path), "%s", c->path);
	if (mkdir(b->path, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "store.path %s: cannot create: %s", b->path, strerror(errno));
		goto fail;
	}
	if ((rc = take_lock(b, err, errlen)))
		goto fail;
	snprintf(dp, sizeof(dp), "%s/data.mdb", b->path);
	if (c->reset) {
		char lp[160];
		snprintf(lp, sizeof(lp), "%s/lock.mdb", b->path);
		if ((unlink(dp) && errno != ENOENT) || (unlink(lp) && errno != ENOENT)) {
			rc = -errno;
			snprintf(err, errlen, "store.path %s: --store-reset: %s", b->path,
			         strerror(errno));
			goto fail;
		}
	}
	/* An empty data.mdb would be taken by LMDB for a new store: a store
	 * that was truncated to nothing must not start silently empty. */
	if (stat(dp, &st) == 0 && st.st_size < 2 * 4096) {
		snprintf(err, errlen, "store %s is corrupt (truncated to %lld bytes); " RESET_HINT,
		         dp, (long long)st.st_size);
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = mdb_env_create(&b->env)) ||
	    (rc = mdb_env_set_mapsize(b->env, (size_t)c->map_mb << 20))) {
		snprintf(err, errlen, "store %s: %s", b->path, mdb_strerror(rc));
		rc = mdb_errno(rc);
		goto fail;
	}
	rc = mdb_env_open(b->env, b->path, MDB_NOTLS, 0600);
	if (rc) {
		bool corrupt = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
		               rc == MDB_CORRUPTED;
		snprintf(err, errlen, "store %s %s (%s); %s", dp,
		         corrupt ? "is corrupt" : "cannot be opened", mdb_strerror(rc),
		         corrupt ? RESET_HINT : "check store.path and its permissions "
		                               "(evrd's account must own it)");
		rc = corrupt ? -EINVAL : mdb_errno(rc);
		goto fail;
	}
	{
		MDB_envinfo ei;
		MDB_stat ms;
		mdb_env_info(b->env, &ei);
		mdb_env_stat(b->env, &ms);
		if (stat(dp, &st) == 0 &&
		    (uint64_t)st.st_size < ((uint64_t)ei.me_last_pgno + 1) * ms.ms_psize) {
			snprintf(err, errlen, "store %s is corrupt (truncated: %lld bytes, its "
			         "pages need %llu); " RESET_HINT, dp, (long long)st.st_size,
			         (unsigned long long)((ei.me_last_pgno + 1) * ms.ms_psize));
			rc = -EINVAL;
			goto fail;
		}
	}
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(b->env, NULL, 0, &txn)) == 0) {
		rc = mdb_dbi_open(txn, NULL, 0, &b->dbi);
		rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
	}
	if (rc) {
		snprintf(err, errlen, "store %s is corrupt (%s); " RESET_HINT, dp,
		         mdb_strerror(rc));
		rc = -EINVAL;
		goto fail;
	}
	*out = b;
	return 0;
fail:
	lmdb_close(b);
	return rc < 0 ? rc : -EIO;
}

static int lmdb_apply(void *be, const struct evr_store_change *v, size_t n, char *err,
                      size_t errlen)
{
	struct lmdb_be *b = be;
	MDB_txn *txn;
	int rc = mdb_txn_begin(b->env, NULL, 0, &txn);

	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char k[8];
		key_of(v[i].id, k);
		MDB_val key = {.mv_size = 8, .mv_data = k};
		if (v[i].len) {
			MDB_val val = {.mv_size = v[i].len, .mv_data = (void *)v[i].val};
			rc = mdb_put(txn, b->dbi, &key, &val, 0);
		} else {
			rc = mdb_del(txn, b->dbi, &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0; /* never stored (queued and removed in one batch) */
		}
		if (rc) {
			mdb_txn_abort(txn);
			goto out;
		}
	}
	rc = mdb_txn_commit(txn); /* fsync/fdatasync of the data file: durable */
out:
	if (rc)
		snprintf(err, errlen, "%s", mdb_strerror(rc));
	return rc ? mdb_errno(rc) : 0;
}

static int lmdb_load(void *be, evr_store_record_fn fn, void *ctx, char *err, size_t errlen)
{
	struct lmdb_be *b = be;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_txn_begin(b->env, NULL, MDB_RDONLY, &txn);

	if (rc == 0 && (rc = mdb_cursor_open(txn, b->dbi, &cur)) != 0)
		mdb_txn_abort(txn);
	if (rc) {
		snprintf(err, errlen, "store %s: %s; " RESET_HINT, b->path, mdb_strerror(rc));
		return -EINVAL;
	}
	int op = MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		uint64_t id = 0;
		if (k.mv_size != 8) {
			rc = MDB_CORRUPTED;
			break;
		}
		for (int i = 0; i < 8; i++)
			id = id << 8 | ((unsigned char *)k.mv_data)[i];
		int r = fn(ctx, id, v.mv_data, v.mv_size);
		if (r) {
			mdb_cursor_close(cur);
			mdb_txn_abort(txn);
			return r;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND) {
		snprintf(err, errlen, "store %s/data.mdb is corrupt (%s); " RESET_HINT, b->path,
		         mdb_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

const struct evr_store_backend_ops evr_store_lmdb_ops = {
	.name = "embedded",
	.open = lmdb_open,
	.apply = lmdb_apply,
	.load = lmdb_load,
	.watch = NULL, /* one writer: this evrd */
	.close = lmdb_close,
};
