/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hybrid index, Hyperscan side: per-keyslot sets of databases (a base plus
 * small deltas) for the complex globs, compiled off the read path by the
 * control thread (hyb_maintain, from evr_matcher_sync) and the merge thread
 * (hyb_merger_main). Compiles run without the matcher lock; publishing a set
 * takes it. Readers only scan published sets (evr_hybrid_match.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "evr_hybrid_internal.h"

/* ---- Hyperscan sets ----------------------------------------------------- */

void hyb_hs_db_free(struct evr_hs_db *db)
{
	if (!db)
		return;
	hs_free_database(db->db);
	free(db->subs);
	free(db);
}

void hyb_set_free(struct evr_hs_set *s)
{
	for (uint32_t r = 0; r < s->n_readers; r++)
		hs_free_scratch(s->scratch[r]);
	free(s);
}

static void set_free_rcu(struct rcu_head *h)
{
	hyb_set_free(caa_container_of(h, struct evr_hs_set, rcu));
}

/* Build a set over dbs with per-reader scratch; NULL on failure. */
static struct evr_hs_set *set_build(struct evr_matcher *m, struct evr_hs_db **dbs,
                                    uint32_t n)
{
	uint32_t nr = m->conf.max_readers;
	struct evr_hs_set *s = calloc(1, sizeof(*s) + nr * sizeof(s->scratch[0]));
	if (!s)
		return NULL;
	hs_scratch_t *proto = NULL;
	for (uint32_t i = 0; i < n; i++) {
		s->dbs[i] = dbs[i];
		if (hs_alloc_scratch(dbs[i]->db, &proto) != HS_SUCCESS)
			goto fail;
	}
	s->n_dbs = n;
	if (proto) {
		size_t sz = 0;
		hs_scratch_size(proto, &sz);
		for (uint32_t r = 0; r < nr; r++) {
			if (hs_clone_scratch(proto, &s->scratch[r]) != HS_SUCCESS)
				goto fail;
			s->n_readers = r + 1;
		}
		s->scratch_bytes = sz * nr;
		hs_free_scratch(proto);
	}
	return s;
fail:
	hs_free_scratch(proto);
	hyb_set_free(s);
	return NULL;
}

/*
 * Compile subs[0..n) (their indexed filter) into one database. A pattern
 * Hyperscan refuses is moved to the event index (fully verified there), so
 * one odd glob never blocks the others. Runs without the lock: it reads only
 * immutable filter data. Returns NULL with *n == 0 when nothing is left.
 */
static struct evr_hs_db *hs_compile_subs(struct evr_sub_node **subs,
                                         uint32_t *n, struct evr_sub_node **rejected,
                                         uint32_t *n_rej, uint64_t *compiles,
                                         uint64_t *errors)
{
	uint32_t cnt = *n;
	if (!cnt)
		return NULL;
	char **exprs = calloc(cnt, sizeof(*exprs));
	unsigned *flags = calloc(cnt, sizeof(*flags));
	unsigned *ids = calloc(cnt, sizeof(*ids));
	struct evr_hs_db *db = NULL;
	if (!exprs || !flags || !ids)
		goto out;
	for (uint32_t i = 0; i < cnt; i++) {
		const struct evr_filter *f = &subs[i]->s.filters[subs[i]->s.idx_filter];
		int len = -ENOSPC;
		for (size_t cap = 4096; len == -ENOSPC && cap <= (1u << 22); cap *= 4) {
			free(exprs[i]);
			exprs[i] = malloc(cap);
			len = exprs[i] ? evr_glob_to_regex(f->glob, exprs[i], cap) : -ENOMEM;
		}
		if (len < 0) {
			/* cannot translate: verify it the slow way */
			rejected[(*n_rej)++] = subs[i];
			subs[i] = NULL;
			continue;
		}
		flags[i] = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH;
	}
	for (;;) {
		/* compact out rejected entries */
		uint32_t w = 0;
		for (uint32_t i = 0; i < cnt; i++) {
			if (!subs[i]) {
				free(exprs[i]);
				continue;
			}
			subs[w] = subs[i];
			exprs[w] = exprs[i];
			flags[w] = flags[i];
			ids[w] = w;
			w++;
		}
		cnt = w;
		if (!cnt)
			break;
		hs_database_t *hdb = NULL;
		hs_compile_error_t *ce = NULL;
		(*compiles)++;
		hs_error_t rc = hs_compile_multi((const char *const *)exprs, flags, ids, cnt,
		                                 HS_MODE_BLOCK, NULL, &hdb, &ce);
		if (rc == HS_SUCCESS) {
			db = calloc(1, sizeof(*db));
			struct evr_sub_node **dsubs = malloc(cnt * sizeof(*dsubs));
			if (!db || !dsubs) {
				free(db);
				free(dsubs);
				hs_free_database(hdb);
				db = NULL;
				for (uint32_t i = 0; i < cnt; i++)
					rejected[(*n_rej)++] = subs[i];
				cnt = 0;
				break;
			}
			memcpy(dsubs, subs, cnt * sizeof(*dsubs));
			db->db = hdb;
			db->n = cnt;
			db->subs = dsubs;
			hs_database_size(hdb, &db->bytes);
			break;
		}
		(*errors)++;
		int bad = ce ? ce->expression : -1;
		hs_free_compile_error(ce);
		if (bad < 0 || (uint32_t)bad >= cnt) {
			/* whole-database failure (resource limit): give up on HS
			 * for this batch; the event index verifies them instead */
			for (uint32_t i = 0; i < cnt; i++) {
				rejected[(*n_rej)++] = subs[i];
				free(exprs[i]);
			}
			cnt = 0;
			break;
		}
		rejected[(*n_rej)++] = subs[bad];
		subs[bad] = NULL;
	}
	for (uint32_t i = 0; i < cnt; i++)
		free(exprs[i]);
out:
	free(exprs);
	free(flags);
	free(ids);
	*n = cnt;
	return db;
}

/* ---- background: deltas and merges --------------------------------------- */

/* Dropped databases and the tombstoned subscriptions only they referenced,
 * released after a grace period. */
struct grave {
	struct rcu_head rcu;
	uint32_t n_dbs, n_subs;
	struct evr_hs_db **dbs;
	struct evr_sub_node **subs;
};

static void grave_free_rcu(struct rcu_head *h)
{
	struct grave *g = caa_container_of(h, struct grave, rcu);
	for (uint32_t i = 0; i < g->n_dbs; i++)
		hyb_hs_db_free(g->dbs[i]);
	for (uint32_t i = 0; i < g->n_subs; i++)
		evr_sub_node_unref(g->subs[i]);
	free(g->dbs);
	free(g->subs);
	free(g);
}

enum compile_mode {
	CM_DELTA,   /* pending subscriptions -> one new delta database */
	CM_COMPACT, /* pending + every delta -> one new delta (base kept) */
	CM_MERGE,   /* every database -> one new base (merger thread) */
};

/* Writer lock held. */
static bool merge_due(struct evr_matcher *m, const struct evr_keyslot *k)
{
	const struct evr_hs_set *s = k->hs;
	if (!s || k->merging)
		return false;
	uint32_t deltas = s->n_dbs > 0 ? s->n_dbs - 1 : 0;
	uint32_t delta_pats = 0;
	for (uint32_t d = 1; d < s->n_dbs; d++)
		delta_pats += s->dbs[d]->n;
	if (deltas >= m->conf.hs_max_deltas || delta_pats >= m->conf.hs_delta_max)
		return true;
	if (k->n_tomb > 64 && k->n_tomb * 4 > k->n_hs_live)
		return true;
	return k->n_tomb && k->n_hs_live == 0;
}

#define COMPACT_AT (MAX_SET_DBS / 2)

/*
 * Compile a new database for keyslot k and publish the set that replaces the
 * databases it absorbed (see enum compile_mode). Pending subscriptions go
 * into deltas and compactions (the background thread evr_matcher_sync waits
 * for), never into a merge. The compile runs without the lock; the databases a
 * compaction or merge replaces are snapshotted first, and deltas published
 * meanwhile are kept. CM_COMPACT and CM_MERGE exclude each other through
 * k->merging (a subscription must never sit in two published databases);
 * CM_DELTA only adds a database, so it may run during a merge, but never
 * past the set's capacity.
 * Returns true when it did something.
 */
static bool do_compile(struct evr_matcher *m, struct evr_keyslot *k, enum compile_mode mode)
{
	struct hybrid *x = m->index;
	pthread_mutex_lock(&m->lock);
	struct evr_hs_set *cur = k->hs;
	uint32_t n_cur = cur ? cur->n_dbs : 0;
	if (mode == CM_DELTA && n_cur >= COMPACT_AT && !k->merging)
		mode = CM_COMPACT;
	if (mode != CM_DELTA && (k->merging || (mode == CM_MERGE && !merge_due(m, k)))) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	if (mode == CM_DELTA && (!k->n_pending || n_cur >= MAX_SET_DBS - 1)) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	/* databases absorbed by this compile */
	struct evr_hs_db *snap[MAX_SET_DBS];
	uint32_t n_snap = 0;
	if (mode != CM_DELTA)
		for (uint32_t d = (mode == CM_COMPACT ? 1 : 0); d < n_cur; d++)
			snap[n_snap++] = cur->dbs[d];
	/* A merge (merger thread, possibly seconds) leaves pending ones to the
	 * delta path, so evr_matcher_sync never waits for a merge. */
	bool take_pending = mode != CM_MERGE;
	uint32_t total = take_pending ? k->n_pending : 0;
	for (uint32_t d = 0; d < n_snap; d++)
		total += snap[d]->n;
	if (!total && !n_snap) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	struct evr_sub_node **subs = malloc((total + 1) * sizeof(*subs));
	struct evr_sub_node **rej = malloc((total + 1) * sizeof(*rej));
	struct grave *g = calloc(1, sizeof(*g));
	struct evr_sub_node **gsubs = calloc(total + 1, sizeof(*gsubs));
	struct evr_hs_db **gdbs = calloc(MAX_SET_DBS, sizeof(*gdbs));
	if (!subs || !rej || !g || !gsubs || !gdbs) {
		pthread_mutex_unlock(&m->lock);
		free(subs);
		free(rej);
		free(g);
		free(gsubs);
		free(gdbs);
		return false;
	}
	g->subs = gsubs;
	g->dbs = gdbs;
	uint32_t n = 0;
	struct evr_sub_node *sn, *tmp;
	if (take_pending) {
		cds_list_for_each_entry_safe(sn, tmp, &k->pending, hs_link) {
			cds_list_del(&sn->hs_link);
			sn->hs_pending = 0;
			subs[n++] = sn; /* hs_db == NULL marks "was pending" */
		}
		k->n_compiling += k->n_pending;
		k->n_pending = 0;
	}
	for (uint32_t d = 0; d < n_snap; d++)
		for (uint32_t j = 0; j < snap[d]->n; j++)
			if (!snap[d]->subs[j]->s.removed)
				subs[n++] = snap[d]->subs[j];
	if (mode != CM_DELTA)
		k->merging = true;
	pthread_mutex_unlock(&m->lock);

	uint32_t n_rej = 0;
	uint64_t compiles = 0, errors = 0;
	uint32_t n_in = n;
	struct evr_hs_db *db = hs_compile_subs(subs, &n, rej, &n_rej, &compiles, &errors);

	bool failed = n_in && !db && n_rej == 0; /* allocation failure */
	struct evr_hs_db *keep[MAX_SET_DBS];
	struct evr_hs_set *ns = NULL;
	uint32_t nk;
	pthread_mutex_lock(&m->lock);
	x->compiles += compiles;
	x->compile_errors += errors;
	/* Build the new set (scratch allocation for every reader is the slow
	 * part) without the lock, then publish it only if nothing else was
	 * published meanwhile; otherwise rebuild over the newer set. The
	 * databases read here cannot be freed: this thread is RCU-online. */
	for (;;) {
		cur = k->hs;
		nk = 0;
		g->n_dbs = 0;
		for (uint32_t d = 0; !failed && cur && d < cur->n_dbs; d++) {
			bool absorbed = false;
			for (uint32_t j = 0; j < n_snap; j++)
				absorbed |= snap[j] == cur->dbs[d];
			if (absorbed)
				g->dbs[g->n_dbs++] = cur->dbs[d];
			else
				keep[nk++] = cur->dbs[d];
		}
		if (!failed && db)
			keep[nk++] = db;
		if (failed || !nk)
			break;
		pthread_mutex_unlock(&m->lock);
		ns = set_build(m, keep, nk);
		pthread_mutex_lock(&m->lock);
		if (!ns) {
			failed = true;
			break;
		}
		if (k->hs == cur)
			break;
		hyb_set_free(ns);
		ns = NULL;
	}
	if (!failed) {
		struct evr_hs_set *old = k->hs;
		rcu_assign_pointer(k->hs, ns);
		if (old)
			call_rcu(&old->rcu, set_free_rcu);
	}
	if (failed) {
		/* keep what is published; pending ones go back on the list */
		hyb_hs_db_free(db);
		for (uint32_t i = 0; i < n + n_rej; i++) {
			struct evr_sub_node *s = i < n ? subs[i] : rej[i - n];
			if (s->hs_db)
				continue;
			k->n_compiling--;
			if (s->s.removed) {
				k->n_tomb--;
				evr_sub_node_free_rcu(s);
				continue;
			}
			s->hs_pending = 1;
			cds_list_add_tail(&s->hs_link, &k->pending);
			k->n_pending++;
		}
		if (mode != CM_DELTA)
			k->merging = false;
		pthread_mutex_unlock(&m->lock);
		free(subs);
		free(rej);
		free(g->subs);
		free(g->dbs);
		free(g);
		return false;
	}
	/* rejected by Hyperscan: verified through the event index instead */
	for (uint32_t i = 0; i < n_rej; i++) {
		struct evr_sub_node *s = rej[i];
		bool was_pending = s->hs_db == NULL;
		s->hs_db = NULL;
		if (was_pending)
			k->n_compiling--;
		if (s->s.removed) {
			k->n_tomb--;
			g->subs[g->n_subs++] = s;
		} else {
			if (!was_pending)
				k->n_hs_live--;
			s->s.idx_filter = UINT32_MAX;
			hyb_add_event_idx(x, s);
		}
	}
	/* subscriptions compiled in now live in db */
	for (uint32_t j = 0; db && j < db->n; j++) {
		struct evr_sub_node *s = db->subs[j];
		if (!s->hs_db) {
			k->n_compiling--;
			if (!s->s.removed)
				k->n_hs_live++;
		}
		s->hs_db = db;
	}
	/* tombstones only the absorbed databases held are released */
	for (uint32_t d = 0; d < g->n_dbs; d++) {
		struct evr_hs_db *odb = g->dbs[d];
		for (uint32_t j = 0; j < odb->n; j++) {
			struct evr_sub_node *s = odb->subs[j];
			if (s->hs_db == odb) {
				s->hs_db = NULL;
				k->n_tomb--;
				g->subs[g->n_subs++] = s;
			}
		}
		x->hs_bytes -= odb->bytes;
	}
	if (db)
		x->hs_bytes += db->bytes;
	if (mode != CM_DELTA)
		k->merging = false;
	call_rcu(&g->rcu, grave_free_rcu);
	pthread_mutex_unlock(&m->lock);
	free(subs);
	free(rej);
	return true;
}

bool hyb_maintain(struct evr_matcher *m, bool merge_now)
{
	struct hybrid *x = m->index;
	pthread_mutex_lock(&m->lock);
	uint32_t ns = x->n_slots;
	pthread_mutex_unlock(&m->lock);
	bool want_merge = false;
	for (uint32_t i = 0; i < ns; i++) {
		pthread_mutex_lock(&m->lock);
		struct evr_keyslot *k = x->slots[i];
		pthread_mutex_unlock(&m->lock);
		do_compile(m, k, CM_DELTA);
		pthread_mutex_lock(&m->lock);
		bool due = merge_due(m, k);
		pthread_mutex_unlock(&m->lock);
		if (due) {
			if (!x->merger_running || merge_now)
				do_compile(m, k, CM_MERGE);
			else
				want_merge = true;
		}
	}
	if (want_merge) {
		pthread_mutex_lock(&m->lock);
		pthread_cond_signal(&x->merge_kick);
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_lock(&m->lock);
	bool more = false;
	for (uint32_t i = 0; i < x->n_slots; i++)
		if (x->slots[i]->n_pending)
			more = true;
	pthread_mutex_unlock(&m->lock);
	return more;
}

void *hyb_merger_main(void *arg)
{
	struct evr_matcher *m = arg;
	struct hybrid *x = m->index;
	rcu_register_thread();
	pthread_mutex_lock(&m->lock);
	while (!x->merger_stop) {
		uint32_t ns = x->n_slots;
		pthread_mutex_unlock(&m->lock);
		for (uint32_t i = 0; i < ns; i++) {
			pthread_mutex_lock(&m->lock);
			struct evr_keyslot *k = x->slots[i];
			pthread_mutex_unlock(&m->lock);
			do_compile(m, k, CM_MERGE);
		}
		pthread_mutex_lock(&m->lock);
		if (x->merger_stop)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		rcu_thread_offline();
		pthread_cond_timedwait(&x->merge_kick, &m->lock, &ts);
		rcu_thread_online();
	}
	pthread_mutex_unlock(&m->lock);
	rcu_unregister_thread();
	return NULL;
}

