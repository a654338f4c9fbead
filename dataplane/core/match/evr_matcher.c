/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Subscription store: the writer side shared by both index backends.
 *
 * Design note. The store owns subscription lifetime: parsing a request into
 * an immutable struct evr_sub_node (outside the lock: allocation and glob
 * compilation are the expensive part), identity for refresh ("same event +
 * destination + filters": a canonical string, kept as its hash only), ids,
 * the expiry min-heap, the id-ordered list used for paginated listing,
 * interned destinations and event names, and the queue of `once`
 * subscriptions claimed by readers. Records come from a huge-page slab
 * (util/evr_slab.h) laid out for the read path (evr_matcher_internal.h).
 * Everything here runs under one writer mutex; readers never see the store,
 * only what the index backend publishes through RCU. The writer-side maps
 * are evr_rcuhash multimaps (O(1) id/identity lookups at 1M, no dependence
 * on grace periods to grow).
 *
 * A background thread (unless conf.no_background) reaps expired and fired
 * subscriptions on a timer and lets the backend compile Hyperscan deltas.
 * Readers independently refuse expired or fired subscriptions, so reaping
 * latency only affects memory, never correctness.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/evr_mem.h"
#include "util/evr_slab.h"
#include "evr_matcher_internal.h"
#include "evr_rcuhash.h"
#include "match/evr_dest_policy.h"

/* Subscription records of every matcher of the process (evr_slab.h: a record
 * freed from call_rcu after its matcher is gone still has its slab). */
static struct evr_slab g_nodes = EVR_SLAB_INIT(sizeof(struct evr_sub_node));


uint64_t evr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * The writer lock as the API's callers take it (the control thread, tests):
 * counted, so the background reaper, which gives the lock up between
 * batches, can let them in first. A mutex is not fair: without the count
 * the reaper would take it straight back and a waiting control request
 * would wait for every batch of a million expiries (issue 13).
 */
static void writer_lock(struct evr_matcher *m)
{
	__atomic_add_fetch(&m->lock_waiters, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&m->lock);
	__atomic_sub_fetch(&m->lock_waiters, 1, __ATOMIC_RELAXED);
}

void evr_matcher_conf_default(struct evr_matcher_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->index = EVR_INDEX_HYBRID;
	c->max_readers = 16;
	c->max_subs = 4u << 20;
	c->hs_delta_max = 512;
	c->hs_max_deltas = 8;
	c->reap_interval_ms = 200;
}

/* ---- expiry heap (writer) --------------------------------------------- */

static void heap_swap(struct evr_matcher *m, uint32_t a, uint32_t b)
{
	struct evr_sub_node *t = m->heap[a];
	m->heap[a] = m->heap[b];
	m->heap[b] = t;
	m->heap[a]->heap_idx = a;
	m->heap[b]->heap_idx = b;
}

static uint64_t heap_key(const struct evr_matcher *m, uint32_t i)
{
	return m->heap[i]->s.expires_ms;
}

static void heap_up(struct evr_matcher *m, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (heap_key(m, p) <= heap_key(m, i))
			break;
		heap_swap(m, i, p);
		i = p;
	}
}

static void heap_down(struct evr_matcher *m, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, s = i;
		if (l < m->heap_n && heap_key(m, l) < heap_key(m, s))
			s = l;
		if (r < m->heap_n && heap_key(m, r) < heap_key(m, s))
			s = r;
		if (s == i)
			return;
		heap_swap(m, i, s);
		i = s;
	}
}

static int heap_push(struct evr_matcher *m, struct evr_sub_node *n)
{
	if (m->heap_n == m->heap_cap) {
		uint32_t cap = m->heap_cap ? m->heap_cap * 2 : 1024;
		struct evr_sub_node **h = realloc(m->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		m->heap = h;
		m->heap_cap = cap;
	}
	n->heap_idx = m->heap_n;
	m->heap[m->heap_n++] = n;
	heap_up(m, n->heap_idx);
	return 0;
}

static void heap_remove(struct evr_matcher *m, struct evr_sub_node *n)
{
	uint32_t i = n->heap_idx;
	uint32_t last = --m->heap_n;
	if (i != last) {
		heap_swap(m, i, last);
		heap_up(m, i);
		heap_down(m, i);
	}
	n->heap_idx = UINT32_MAX;
}

static void heap_update(struct evr_matcher *m, struct evr_sub_node *n)
{
	heap_up(m, n->heap_idx);
	heap_down(m, n->heap_idx);
}

/* ---- writer maps --------------------------------------------------------
 * id -> subscription, identity -> subscription, destination text -> interned
 * destination. Only the writer (under m->lock) touches them; they are
 * evr_rcuhash multimaps (see evr_rcuhash.h) because liburcu's lfht grows through
 * grace periods, and a writer that subscribes a million entries without a
 * quiescent state in between was seen walking ever longer chains.
 */
static uint64_t hash_bytes(const char *p, size_t n)
{
	return evr_mix64(evr_fnv1a(EVR_HASH_SEED, p, n));
}

static struct evr_sub_node *id_lookup(struct evr_matcher *m, uint64_t id)
{
	const struct evr_rcuhash_table *t = m->id_map.t;
	struct evr_sub_node *n;
	EVR_RCUHASH_FOREACH(t, evr_mix64(id), i, n) {
		if (n->s.id == id)
			return n;
	}
	return NULL;
}

static char *build_canon(const struct evr_sub_node *n, const char *dest_text, uint64_t *hash);

/* The live subscription with the identity of canon (hash h), if any. Nodes
 * keep only the hash of their identity (a string per subscription was about
 * 100 heap bytes of each): a hash-equal node has its string rebuilt here to
 * compare, which a writer can afford. NULL also when that runs out of
 * memory: the caller then adds a duplicate, never loses one. */
static struct evr_sub_node *canon_lookup(struct evr_matcher *m, uint64_t h,
                                         const char *canon)
{
	const struct evr_rcuhash_table *t = m->canon_map.t;
	struct evr_sub_node *n;
	EVR_RCUHASH_FOREACH(t, h, i, n) {
		uint64_t h2;
		char *c = build_canon(n, n->s.dest->text, &h2);
		bool same = c && strcmp(c, canon) == 0;
		free(c);
		if (same)
			return n;
	}
	return NULL;
}

/* ---- destinations (interned, writer) ---------------------------------- */

static void dest_free_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct evr_dest_ref, rcu));
}

static struct evr_dest_ref *dest_get(struct evr_matcher *m, const struct evr_dest *d)
{
	uint64_t h = hash_bytes(d->text, strlen(d->text));
	const struct evr_rcuhash_table *t = m->dest_map.t;
	struct evr_dest_ref *r;
	EVR_RCUHASH_FOREACH(t, h, i, r) {
		if (strcmp(r->d.text, d->text) == 0) {
			r->refs++;
			return r;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->d = *d;
	r->refs = 1;
	r->hash = h;
	if (evr_rcuhash_add(&m->dest_map, h, r)) {
		free(r);
		return NULL;
	}
	return r;
}

static void dest_put(struct evr_matcher *m, const struct evr_dest *d)
{
	struct evr_dest_ref *r = caa_container_of(d, struct evr_dest_ref, d);
	if (--r->refs)
		return;
	evr_rcuhash_del(&m->dest_map, r->hash, r);
	/* Readers reach a destination only through a subscription they found
	 * before its removal: a grace period is enough. */
	call_rcu(&r->rcu, dest_free_rcu);
}

/* ---- event names and subclasses (interned, writer) --------------------- */

static void name_free_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct evr_name_ref, rcu));
}

static char *name_get(struct evr_matcher *m, const char *p, uint32_t len)
{
	uint64_t h = hash_bytes(p, len);
	const struct evr_rcuhash_table *t = m->name_map.t;
	struct evr_name_ref *r;
	EVR_RCUHASH_FOREACH(t, h, i, r) {
		if (r->len == len && memcmp(r->s, p, len) == 0) {
			r->refs++;
			return r->s;
		}
	}
	r = malloc(sizeof(*r) + len + 1);
	if (!r)
		return NULL;
	r->hash = h;
	r->refs = 1;
	r->len = len;
	memcpy(r->s, p, len);
	r->s[len] = 0;
	if (evr_rcuhash_add(&m->name_map, h, r)) {
		free(r);
		return NULL;
	}
	return r->s;
}

static void name_put(struct evr_matcher *m, const char *p)
{
	if (!p)
		return;
	struct evr_name_ref *r = caa_container_of(p, struct evr_name_ref, s[0]);
	if (--r->refs)
		return;
	evr_rcuhash_del(&m->name_map, r->hash, r);
	/* as destinations: readers reach a name only through a subscription
	 * they found before its removal (evr_sub_accept) */
	call_rcu(&r->rcu, name_free_rcu);
}

/* Replace n's parsed name and subclass by interned copies. Writer, lock held,
 * before n is published. */
static int names_intern(struct evr_matcher *m, struct evr_sub_node *n)
{
	char *name = name_get(m, n->s.ev_name, n->s.ev_name_len);
	if (!name)
		return -ENOMEM;
	char *sub = NULL;
	if (n->s.subclass) {
		sub = name_get(m, n->s.subclass, n->s.subclass_len);
		if (!sub) {
			name_put(m, name);
			return -ENOMEM;
		}
	}
	free(n->s.ev_name);
	free(n->s.subclass);
	n->s.ev_name = name;
	n->s.subclass = sub;
	n->m = m; /* marks the names interned (free_names) */
	return 0;
}

/* What a published node holds of the store's shared objects, released when
 * it is unlinked. Writer, lock held. */
static void node_put_shared(struct evr_matcher *m, struct evr_sub_node *n)
{
	dest_put(m, n->s.dest);
	name_put(m, n->s.ev_name);
	name_put(m, n->s.subclass);
}

/* ---- subscription nodes ----------------------------------------------- */

/* Names not (yet) interned (no n->m): the parser's copies. */
static void free_names(struct evr_sub_node *n)
{
	if (!n->m) {
		free(n->s.ev_name);
		free(n->s.subclass);
	}
	n->s.ev_name = n->s.subclass = NULL;
}

/* Bytes of a parsed filter's string block: key, literal, text (evr_filter.c). */
static size_t filter_block_len(const struct evr_filter *f)
{
	return (size_t)(f->text - f->key) + strlen(f->text) + 1;
}

/* Are n's filters in one allocation with their strings (pack_filters)? */
static bool filters_packed(const struct evr_sub_node *n)
{
	return n->s.n_filters &&
	       n->s.filters[0].key == (char *)(n->s.filters + n->s.n_filters);
}

/*
 * Move the filters and their string blocks into one allocation: a
 * subscription's filters then cost one malloc header and rounding, not
 * 1 + n of them (about 24 bytes of a one-filter subscription). Control
 * thread, before n is indexed (the index points at the literals).
 */
static int pack_filters(struct evr_sub_node *n)
{
	uint32_t nf = n->s.n_filters;
	size_t sz = nf * sizeof(struct evr_filter);
	for (uint32_t i = 0; i < nf; i++)
		sz += filter_block_len(&n->s.filters[i]);
	struct evr_filter *pf = malloc(sz);
	if (!pf)
		return -ENOMEM;
	char *p = (char *)(pf + nf);
	for (uint32_t i = 0; i < nf; i++) {
		struct evr_filter *f = &n->s.filters[i];
		size_t bl = filter_block_len(f);
		memcpy(p, f->key, bl);
		pf[i] = *f;
		pf[i].key = p;
		pf[i].lit = p + (f->lit - f->key);
		pf[i].text = p + (f->text - f->key);
		free(f->key);
		p += bl;
	}
	free(n->s.filters);
	n->s.filters = pf;
	return 0;
}

void evr_sub_node_free(struct evr_sub_node *n)
{
	if (!n)
		return;
	bool packed = filters_packed(n);
	for (uint32_t i = 0; i < n->s.n_filters; i++) {
		if (packed)
			evr_glob_free(n->s.filters[i].glob);
		else
			evr_filter_fini(&n->s.filters[i]);
	}
	free(n->s.filters);
	free_names(n);
	evr_slab_free(&g_nodes, n);
}

void evr_sub_node_unref(struct evr_sub_node *n)
{
	if (__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) == 0)
		evr_sub_node_free(n);
}

static void sub_free_cb(struct rcu_head *h)
{
	evr_sub_node_unref(caa_container_of(h, struct evr_sub_node, rcu));
}

void evr_sub_node_free_rcu(struct evr_sub_node *n)
{
	call_rcu(&n->rcu, sub_free_cb);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split "CUSTOM sofia::register" and normalise the selector. */
static int parse_selector(const struct evr_sub_spec *sp, struct evr_sub_node *n,
                          char *err, size_t errlen)
{
	const char *ev = sp->event ? sp->event : "";
	while (*ev == ' ')
		ev++;
	size_t nlen = strcspn(ev, " \t");
	const char *sub = sp->subclass;
	char *tail = NULL;
	if (ev[nlen]) {
		const char *t = ev + nlen;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t) {
			if (sub && *sub) {
				snprintf(err, errlen, "event '%s': subclass given twice", ev);
				return -EINVAL;
			}
			tail = strdup(t);
			if (!tail)
				return -ENOMEM;
			size_t tl = strlen(tail);
			while (tl && (tail[tl - 1] == ' ' || tail[tl - 1] == '\t'))
				tail[--tl] = 0;
			sub = tail;
		}
	}
	if (nlen == 0 || nlen > 128) {
		snprintf(err, errlen, "event name %s", nlen ? "longer than 128 bytes" : "missing");
		free(tail);
		return -EINVAL;
	}
	n->s.ev_name = strndup(ev, nlen);
	if (!n->s.ev_name) {
		free(tail);
		return -ENOMEM;
	}
	n->s.ev_name_len = (uint32_t)nlen;
	n->s.ev_hash = evr_hash_lc(ev, nlen);
	if (nlen == 3 && evr_ieq(ev, "all", 3)) {
		n->s.sel = EVR_SEL_ALL;
		n->s.ev_hash = EVR_SEL_ALL_HASH;
		if (sub && *sub) {
			snprintf(err, errlen, "event ALL takes no subclass");
			free(tail);
			return -EINVAL;
		}
	} else if (sub && *sub) {
		size_t sl = strlen(sub);
		if (sl > 128) {
			snprintf(err, errlen, "subclass longer than 128 bytes");
			free(tail);
			return -EINVAL;
		}
		n->s.sel = EVR_SEL_SUBCLASS;
		n->s.subclass = tail ? tail : strdup(sub);
		tail = NULL;
		if (!n->s.subclass)
			return -ENOMEM;
		n->s.subclass_len = (uint32_t)sl;
		n->s.ev_hash = evr_sel_hash(n->s.ev_hash, sub, sl);
	} else {
		n->s.sel = EVR_SEL_NAME;
	}
	free(tail);
	return 0;
}

/*
 * Canonical identity: lowercased selector, destination, sorted filters with
 * lowercased keys. Two requests with the same identity are one subscription.
 * Returns the string (malloc'd, the caller frees it) and its hash, or NULL
 * when out of memory.
 */
static char *build_canon(const struct evr_sub_node *n, const char *dest_text, uint64_t *hash)
{
	size_t len = n->s.ev_name_len + n->s.subclass_len + strlen(dest_text) + 8;
	char **ft = NULL;
	if (n->s.n_filters) {
		ft = calloc(n->s.n_filters, sizeof(*ft));
		if (!ft)
			return NULL;
	}
	for (uint32_t i = 0; i < n->s.n_filters; i++) {
		const struct evr_filter *f = &n->s.filters[i];
		const char *eq = strchr(f->text, '=');
		size_t vlen = strlen(eq + 1);
		ft[i] = malloc(f->key_len + vlen + 2);
		if (!ft[i])
			goto nomem;
		memcpy(ft[i], f->key, f->key_len);
		ft[i][f->key_len] = '=';
		memcpy(ft[i] + f->key_len + 1, eq + 1, vlen + 1);
		len += f->key_len + vlen + 2;
	}
	if (n->s.n_filters > 1)
		qsort(ft, n->s.n_filters, sizeof(*ft), cmp_str);
	char *canon = malloc(len);
	if (!canon)
		goto nomem;
	char *p = canon;
	for (uint32_t i = 0; i < n->s.ev_name_len; i++) {
		char c = n->s.ev_name[i];
		*p++ = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	*p++ = '\x1f';
	for (uint32_t i = 0; i < n->s.subclass_len; i++) {
		char c = n->s.subclass[i];
		*p++ = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	*p++ = '\x1f';
	p = stpcpy(p, dest_text);
	for (uint32_t i = 0; i < n->s.n_filters; i++) {
		*p++ = '\x1f';
		p = stpcpy(p, ft[i]);
		free(ft[i]);
	}
	*p = 0;
	free(ft);
	*hash = hash_bytes(canon, (size_t)(p - canon));
	return canon;
nomem:
	for (uint32_t i = 0; i < n->s.n_filters; i++)
		free(ft[i]);
	free(ft);
	return NULL;
}

static int node_from_spec(const struct evr_sub_spec *sp, struct evr_sub_node **out,
                          char **canon, struct evr_dest *dest, char *err, size_t errlen)
{
	int rc;
	if (sp->n_filters > EVR_MAX_FILTERS) {
		snprintf(err, errlen, "too many filters (%u > %u)", sp->n_filters,
		         EVR_MAX_FILTERS);
		return -EINVAL;
	}
	if (sp->format >= EVR_FMT_AUTO) {
		snprintf(err, errlen, "notification format must be jsonrpc, plain, json or xml");
		return -EINVAL;
	}
	rc = evr_dest_parse(sp->dest ? sp->dest : "", dest, err, errlen);
	if (rc)
		return rc;
	struct evr_sub_node *n = evr_slab_alloc(&g_nodes);
	if (!n)
		return -ENOMEM;
	n->heap_idx = UINT32_MAX;
	n->refs = 1;
	rc = parse_selector(sp, n, err, errlen);
	if (rc)
		goto fail;
	if (sp->n_filters) {
		n->s.filters = calloc(sp->n_filters, sizeof(*n->s.filters));
		if (!n->s.filters) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	for (uint32_t i = 0; i < sp->n_filters; i++) {
		struct evr_filter *f = &n->s.filters[i];
		rc = evr_filter_parse(sp->filters[i] ? sp->filters[i] : "", f, err, errlen);
		if (rc)
			goto fail;
		n->s.n_filters++;
		/* literal classes match with memcmp on f->lit: the compiled glob
		 * would only cost memory (the naive twin uses f->text) */
		if (f->cls != EVR_GLOB_COMPLEX) {
			evr_glob_free(f->glob);
			f->glob = NULL;
		}
	}
	if (n->s.n_filters) {
		rc = pack_filters(n);
		if (rc)
			goto fail;
	}
	*canon = build_canon(n, dest->text, &n->canon_hash);
	if (!*canon) {
		rc = -ENOMEM;
		goto fail;
	}
	n->s.format = (uint8_t)sp->format;
	n->s.once = sp->once;
	n->s.lenient = sp->lenient;
	n->s.expire_s = sp->expire;
	n->s.idx_filter = UINT32_MAX;
	*out = n;
	return 0;
fail:
	evr_sub_node_free(n);
	return rc;
}

/* Heap bytes of n's own allocations (its record is counted with the slab,
 * interned names and destinations not per subscription); malloc rounds
 * each to 16 bytes with an 8-byte header (MALLOC_BYTES). */
#define MALLOC_BYTES(x) ((((size_t)(x) + 8 + 15) / 16) * 16)
static size_t node_bytes(const struct evr_sub_node *n)
{
	size_t fb = n->s.n_filters * sizeof(struct evr_filter), b = 0;
	for (uint32_t i = 0; i < n->s.n_filters; i++) {
		const struct evr_filter *f = &n->s.filters[i];
		/* key + literal + text (packed with the array), compiled glob
		 * (approximate: pattern + tokens) */
		fb += filter_block_len(f);
		b += f->glob ? MALLOC_BYTES(2 * strlen(f->text) + 48) : 0;
	}
	return b + (n->s.n_filters ? MALLOC_BYTES(fb) : 0);
}

/* Tell the store hook (if any) about a change. Writer, lock held. */
static void notify_change(struct evr_matcher *m, enum evr_sub_change_kind k,
                          const struct evr_sub_node *n)
{
	if (m->change_fn)
		m->change_fn(m->change_ctx, k, &n->s);
}

/* The writer-side maps a live subscription is in (id, identity): both or
 * none (-ENOMEM). Writer, lock held. */
static int writer_maps_add(struct evr_matcher *m, struct evr_sub_node *n)
{
	if (evr_rcuhash_add(&m->id_map, evr_mix64(n->s.id), n))
		return -ENOMEM;
	if (evr_rcuhash_add(&m->canon_map, n->canon_hash, n)) {
		evr_rcuhash_del(&m->id_map, evr_mix64(n->s.id), n);
		return -ENOMEM;
	}
	return 0;
}

/* Unlink everywhere (writer, lock held) and hand to the index for freeing;
 * why (k) goes to the store hook. */
static void remove_locked(struct evr_matcher *m, struct evr_sub_node *n,
                          enum evr_sub_change_kind k)
{
	notify_change(m, k, n);
	__atomic_store_n(&n->s.removed, 1, __ATOMIC_RELEASE);
	evr_rcuhash_del(&m->id_map, evr_mix64(n->s.id), n);
	evr_rcuhash_del(&m->canon_map, n->canon_hash, n);
	cds_list_del(&n->all);
	if (n->heap_idx != UINT32_MAX)
		heap_remove(m, n);
	node_put_shared(m, n);
	m->sub_bytes -= node_bytes(n);
	m->st.live--;
	m->ops->del(m, n);
}

/* ---- public API --------------------------------------------------------- */

static void *bg_main(void *arg);
static uint32_t reap_locked(struct evr_matcher *m, uint64_t now_ms, uint32_t max);

struct evr_matcher *evr_matcher_create(const struct evr_matcher_conf *c)
{
	struct evr_matcher *m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	if (c)
		m->conf = *c;
	else
		evr_matcher_conf_default(&m->conf);
	if (!m->conf.max_readers)
		m->conf.max_readers = 16;
	if (!m->conf.max_subs)
		m->conf.max_subs = 4u << 20;
	if (!m->conf.hs_delta_max)
		m->conf.hs_delta_max = 512;
	if (!m->conf.hs_max_deltas)
		m->conf.hs_max_deltas = 8;
	if (m->conf.hs_max_deltas > 30)
		m->conf.hs_max_deltas = 30;
	if (!m->conf.reap_interval_ms)
		m->conf.reap_interval_ms = 200;
	m->ops = m->conf.index == EVR_INDEX_NAIVE ? &evr_index_naive_ops
	                                          : &evr_index_hybrid_ops;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->kick, NULL);
	pthread_cond_init(&m->idle, NULL);
	m->next_id = m->conf.id_base + 1;
	CDS_INIT_LIST_HEAD(&m->all);
	cds_wfcq_init(&m->fired_head, &m->fired_tail);
	if (evr_rcuhash_init(&m->id_map, 1024) || evr_rcuhash_init(&m->canon_map, 1024) ||
	    evr_rcuhash_init(&m->dest_map, 64) || evr_rcuhash_init(&m->name_map, 64))
		goto fail;
	/* writer-only maps: walked by the writer alone, so denser */
	m->id_map.compact = m->canon_map.compact = true;
	if (m->ops->init(m))
		goto fail;
	if (!m->conf.no_background) {
		m->bg_running = true;
		if (pthread_create(&m->bg, NULL, bg_main, m)) {
			m->bg_running = false;
			m->ops->fini(m);
			goto fail;
		}
	}
	return m;
fail:
	evr_rcuhash_fini(&m->id_map);
	evr_rcuhash_fini(&m->canon_map);
	evr_rcuhash_fini(&m->dest_map);
	evr_rcuhash_fini(&m->name_map);
	free(m);
	errno = ENOMEM;
	return NULL;
}

void evr_matcher_destroy(struct evr_matcher *m)
{
	if (!m)
		return;
	if (m->bg_running) {
		pthread_mutex_lock(&m->lock);
		m->bg_stop = true;
		pthread_cond_broadcast(&m->kick);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->bg, NULL);
	}
	pthread_mutex_lock(&m->lock);
	m->change_fn = NULL; /* tearing down is no change to persist */
	reap_locked(m, 0, UINT32_MAX); /* drains the fired queue */
	struct evr_sub_node *n, *tmp;
	cds_list_for_each_entry_safe(n, tmp, &m->all, all)
		remove_locked(m, n, EVR_SUB_DEL_REQUEST);
	pthread_mutex_unlock(&m->lock);
	/* Callers guarantee no reader is left; wait for queued frees. */
	rcu_barrier();
	m->ops->fini(m);
	rcu_barrier();
	evr_rcuhash_fini(&m->id_map);
	evr_rcuhash_fini(&m->canon_map);
	evr_rcuhash_fini(&m->dest_map);
	evr_rcuhash_fini(&m->name_map);
	free(m->heap);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->kick);
	pthread_cond_destroy(&m->idle);
	free(m);
}

int evr_matcher_reader_register(struct evr_matcher *m)
{
	writer_lock(m);
	int r = m->readers < (int)m->conf.max_readers ? m->readers++ : -ENOSPC;
	pthread_mutex_unlock(&m->lock);
	return r;
}

uint32_t evr_matcher_match_burst(struct evr_matcher *m, unsigned reader,
                                 const struct evr_event *const *evs, uint32_t n,
                                 uint64_t now_ms, struct evr_match_burst *b,
                                 struct evr_match_stats *st)
{
	if (n > EVR_MATCH_BURST_MAX)
		n = EVR_MATCH_BURST_MAX;
	st->events += n;
	uint32_t got = m->ops->match(m, reader, evs, n, now_ms, b, st);
	st->matches += got;
	return got;
}

uint32_t evr_matcher_match(struct evr_matcher *m, unsigned reader,
                           const struct evr_event *ev, uint64_t now_ms,
                           const struct evr_sub **out, uint32_t out_cap,
                           struct evr_match_stats *st)
{
	struct evr_match_burst b = {.subs = out, .cap = out_cap, .per_event_cap = out_cap};

	return evr_matcher_match_burst(m, reader, &ev, 1, now_ms, &b, st);
}

static void kick_bg(struct evr_matcher *m)
{
	m->bg_work_seq++;
	if (m->bg_running)
		pthread_cond_signal(&m->kick);
}

/* The id-ordered list (paginated listing relies on it): new ids go to the
 * tail; a restored id lower than the tail's (a store loaded after static
 * subscriptions) is walked back into place. Writer, lock held. */
static void list_insert_by_id(struct evr_matcher *m, struct evr_sub_node *n)
{
	struct cds_list_head *pos = m->all.prev;
	while (pos != &m->all &&
	       caa_container_of(pos, struct evr_sub_node, all)->s.id > n->s.id)
		pos = pos->prev;
	cds_list_add(&n->all, pos);
}

void evr_matcher_set_change_hook(struct evr_matcher *m, evr_sub_change_fn fn, void *ctx)
{
	writer_lock(m);
	m->change_fn = fn;
	m->change_ctx = ctx;
	pthread_mutex_unlock(&m->lock);
}

uint64_t evr_matcher_next_id(struct evr_matcher *m)
{
	writer_lock(m);
	uint64_t id = m->next_id;
	pthread_mutex_unlock(&m->lock);
	return id;
}

void evr_matcher_set_dest_policy(struct evr_matcher *m, const struct evr_dest_policy *p)
{
	writer_lock(m);
	m->policy = p;
	pthread_mutex_unlock(&m->lock);
}

int evr_matcher_subscribe(struct evr_matcher *m, const struct evr_sub_spec *sp,
                          uint64_t now_ms, struct evr_sub_info *info, char *err,
                          size_t errlen)
{
	struct evr_sub_node *n = NULL;
	struct evr_dest dest;
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	memset(info, 0, sizeof(*info));
	char *canon = NULL;
	int rc = node_from_spec(sp, &n, &canon, &dest, err, errlen);
	if (rc)
		return rc;
	if (sp->expire && m->policy &&
	    (rc = evr_dest_policy_check(m->policy, &dest, err, errlen))) {
		writer_lock(m);
		m->st.dest_refused++;
		pthread_mutex_unlock(&m->lock);
		free(canon);
		evr_sub_node_free(n);
		return rc;
	}

	writer_lock(m);
	struct evr_sub_node *ex = canon_lookup(m, n->canon_hash, canon);
	free(canon);
	if (ex && (__atomic_load_n(&ex->s.fired, __ATOMIC_ACQUIRE) ||
	           now_ms >= ex->s.expires_ms)) {
		/* A fired `once` or an expired subscription is dead already:
		 * re-subscribing creates a fresh one rather than reviving it. */
		bool fired = ex->s.fired;
		remove_locked(m, ex, fired ? EVR_SUB_DEL_ONCE : EVR_SUB_DEL_EXPIRED);
		if (fired)
			m->st.once_reaped++;
		else
			m->st.expired++;
		ex = NULL;
	}
	if (sp->expire == 0) {
		if (ex) {
			info->id = ex->s.id;
			info->removed = true;
			remove_locked(m, ex, EVR_SUB_DEL_REQUEST);
			m->st.unsubscribed++;
			rc = 0;
		} else {
			snprintf(err, errlen, "no such subscription to remove");
			rc = -ENOENT;
		}
		pthread_mutex_unlock(&m->lock);
		evr_sub_node_free(n);
		return rc;
	}
	if (ex) {
		uint64_t exp = sp->restore_expires_ms ? sp->restore_expires_ms
		                                      : evr_sub_expires_ms(sp->expire, now_ms);
		__atomic_store_n(&ex->s.expires_ms, exp, __ATOMIC_RELEASE);
		__atomic_store_n(&ex->s.format, (uint8_t)sp->format, __ATOMIC_RELAXED);
		ex->s.expire_s = sp->expire;
		heap_update(m, ex);
		m->st.refreshed++;
		notify_change(m, EVR_SUB_PUT, ex);
		info->id = ex->s.id;
		info->expire_s = sp->expire;
		info->expires_ms = exp;
		info->refreshed = true;
		pthread_mutex_unlock(&m->lock);
		evr_sub_node_free(n);
		return 0;
	}
	if (sp->restore_id && id_lookup(m, sp->restore_id)) {
		pthread_mutex_unlock(&m->lock);
		snprintf(err, errlen, "id %llu already in use",
		         (unsigned long long)sp->restore_id);
		evr_sub_node_free(n);
		return -EEXIST;
	}
	if (m->st.live >= m->conf.max_subs) {
		pthread_mutex_unlock(&m->lock);
		snprintf(err, errlen, "subscription table full (%u)", m->conf.max_subs);
		evr_sub_node_free(n);
		return -ENOSPC;
	}
	struct evr_dest_ref *dr = dest_get(m, &dest);
	if (!dr)
		goto nomem;
	n->s.dest = &dr->d;
	if (names_intern(m, n)) {
		dest_put(m, n->s.dest);
		goto nomem;
	}
	if (sp->restore_id) {
		n->s.id = sp->restore_id;
		if (m->next_id <= n->s.id &&
		    n->s.id - m->conf.id_base < (UINT64_C(1) << EVR_ID_NODE_SHIFT))
			m->next_id = n->s.id + 1;
	} else {
		n->s.id = m->next_id++;
	}
	n->s.created_ms = now_ms;
	n->s.expires_ms = sp->restore_expires_ms ? sp->restore_expires_ms
	                                         : evr_sub_expires_ms(sp->expire, now_ms);
	if (heap_push(m, n)) {
		node_put_shared(m, n);
		goto nomem;
	}
	rc = m->ops->add(m, n);
	if (rc) {
		heap_remove(m, n);
		node_put_shared(m, n);
		pthread_mutex_unlock(&m->lock);
		snprintf(err, errlen, "index insert failed: %s", strerror(-rc));
		evr_sub_node_free(n);
		return rc;
	}
	if (writer_maps_add(m, n)) {
		/* published: unpublish through the index, which frees it */
		__atomic_store_n(&n->s.removed, 1, __ATOMIC_RELEASE);
		heap_remove(m, n);
		node_put_shared(m, n);
		m->ops->del(m, n);
		pthread_mutex_unlock(&m->lock);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	list_insert_by_id(m, n);
	m->st.live++;
	m->st.subscribed++;
	m->sub_bytes += node_bytes(n);
	info->id = n->s.id;
	info->expire_s = sp->expire;
	info->expires_ms = n->s.expires_ms;
	notify_change(m, EVR_SUB_PUT, n);
	if (n->idx_kind == EVR_IDX_HS) {
		kick_bg(m);
		m->bg_visible_seq = m->bg_work_seq;
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
nomem:
	pthread_mutex_unlock(&m->lock);
	snprintf(err, errlen, "out of memory");
	evr_sub_node_free(n);
	return -ENOMEM;
}

int evr_matcher_unsubscribe(struct evr_matcher *m, uint64_t id)
{
	writer_lock(m);
	struct evr_sub_node *n = id_lookup(m, id);
	if (n) {
		remove_locked(m, n, EVR_SUB_DEL_REQUEST);
		m->st.unsubscribed++;
	}
	pthread_mutex_unlock(&m->lock);
	return n ? 0 : -ENOENT;
}

int evr_matcher_unsubscribe_dest(struct evr_matcher *m, const char *event,
                                 const char *subclass, const char *dest)
{
	struct evr_sub_node probe;
	struct evr_dest d;
	char err[160];
	memset(&probe, 0, sizeof(probe));
	struct evr_sub_spec sp = {.event = event, .subclass = subclass};
	if (evr_dest_parse(dest ? dest : "", &d, err, sizeof(err)))
		return -EINVAL;
	if (parse_selector(&sp, &probe, err, sizeof(err))) {
		free_names(&probe);
		return -EINVAL;
	}
	/* A walk of every subscription: 25 ms at 1M (bench BM_unsubscribe_dest).
	 * An (event, destination) multimap made it O(matches), but an EBR set
	 * (many filters, one event, one socket) is thousands of equal keys in one
	 * open-addressing run there: subscribing 1M got twice as slow. */
	int count = 0;
	writer_lock(m);
	struct evr_sub_node *n, *tmp;
	cds_list_for_each_entry_safe(n, tmp, &m->all, all) {
		if (n->s.sel != probe.s.sel || n->s.ev_hash != probe.s.ev_hash ||
		    n->s.ev_name_len != probe.s.ev_name_len ||
		    !evr_ieq(n->s.ev_name, probe.s.ev_name, probe.s.ev_name_len) ||
		    strcmp(n->s.dest->text, d.text) != 0)
			continue;
		if (n->s.sel == EVR_SEL_SUBCLASS &&
		    (n->s.subclass_len != probe.s.subclass_len ||
		     !evr_ieq(n->s.subclass, probe.s.subclass, probe.s.subclass_len)))
			continue;
		remove_locked(m, n, EVR_SUB_DEL_REQUEST);
		m->st.unsubscribed++;
		count++;
	}
	pthread_mutex_unlock(&m->lock);
	free_names(&probe);
	return count;
}

/*
 * Reaping is bounded: at most REAP_BATCH removals per hold of the writer
 * lock, the lock given up between batches and waiting writers let in first
 * (writer_lock), so a control request waits for one batch (about a
 * millisecond), not for a million expiries at once (0.41 s measured,
 * issue 13). A removal costs the same either way, so the reaper keeps up
 * as before; how far it is behind shows as matcher.reap_lag.
 */
#define REAP_BATCH 1024u
#define REAP_YIELD_NS 50000u  /* one wait for a waiting writer to get in */
#define REAP_YIELD_MAX 40u    /* at most 2 ms of them per batch */

/* Age of the oldest expired subscription still in the heap. Lock held. */
static uint64_t reap_lag(const struct evr_matcher *m, uint64_t now_ms)
{
	if (!m->heap_n || m->heap[0]->s.expires_ms > now_ms)
		return 0;
	return now_ms - m->heap[0]->s.expires_ms;
}

/* Writer, lock held: reap at most max; how many were. */
static uint32_t reap_locked(struct evr_matcher *m, uint64_t now_ms, uint32_t max)
{
	uint32_t count = 0;
	struct cds_wfcq_node *qn;
	/* Fired `once` subscriptions pushed by readers. A node may have been
	 * removed by the writer meanwhile (unsubscribe raced with firing); the
	 * queue's own reference keeps it allocated until here. */
	while (count < max &&
	       (qn = __cds_wfcq_dequeue_nonblocking(&m->fired_head, &m->fired_tail)) &&
	       qn != CDS_WFCQ_WOULDBLOCK) {
		struct evr_sub_node *n = caa_container_of(qn, struct evr_sub_node, fired_node);
		if (!n->s.removed) {
			remove_locked(m, n, EVR_SUB_DEL_ONCE);
			m->st.once_reaped++;
			count++;
		}
		evr_sub_node_unref(n); /* the queue's reference */
	}
	while (count < max && m->heap_n && m->heap[0]->s.expires_ms <= now_ms) {
		remove_locked(m, m->heap[0], EVR_SUB_DEL_EXPIRED);
		m->st.expired++;
		count++;
	}
	m->st.reap_batches++;
	m->st.reap_lag = reap_lag(m, now_ms);
	return count;
}

/* Lock held, online; the caller's batch is done and more is due. Give the
 * lock up until the writers waiting for it had their turn (bounded: a
 * writer that never comes must not stall reaping), passing a quiescent
 * state meanwhile so the removals' grace periods advance. */
static void reap_yield(struct evr_matcher *m)
{
	pthread_mutex_unlock(&m->lock);
	rcu_quiescent_state();
	for (unsigned i = 0; i < REAP_YIELD_MAX &&
	                     __atomic_load_n(&m->lock_waiters, __ATOMIC_RELAXED);
	     i++) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = REAP_YIELD_NS};
		rcu_thread_offline();
		nanosleep(&ts, NULL);
		rcu_thread_online();
	}
	pthread_mutex_lock(&m->lock);
}

/* Lock held: reap everything due, batch by batch. */
static uint32_t reap_all_locked(struct evr_matcher *m, uint64_t now_ms)
{
	uint32_t total = 0, c;
	while ((c = reap_locked(m, now_ms, REAP_BATCH)) == REAP_BATCH) {
		total += c;
		reap_yield(m);
	}
	return total + c;
}

uint32_t evr_matcher_reap(struct evr_matcher *m, uint64_t now_ms)
{
	writer_lock(m);
	uint32_t c = reap_all_locked(m, now_ms);
	pthread_mutex_unlock(&m->lock);
	return c;
}

static void *bg_main(void *arg)
{
	struct evr_matcher *m = arg;
	rcu_register_thread();
	pthread_mutex_lock(&m->lock);
	while (!m->bg_stop) {
		uint64_t seq = m->bg_work_seq;
		pthread_mutex_unlock(&m->lock);
		bool more = m->ops->maintain(m, false);
		pthread_mutex_lock(&m->lock);
		reap_all_locked(m, evr_now_ms());
		if (!more) {
			m->bg_done_seq = seq;
			pthread_cond_broadcast(&m->idle);
		}
		if (m->bg_work_seq != seq || m->bg_stop)
			continue;
		/* work left over (a Hyperscan set is full while a merge runs):
		 * retry soon instead of spinning */
		uint64_t wait_ms = more ? 1 : m->conf.reap_interval_ms;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t ns = (uint64_t)ts.tv_nsec + wait_ms * 1000000u;
		ts.tv_sec += (time_t)(ns / 1000000000u);
		ts.tv_nsec = (long)(ns % 1000000000u);
		rcu_thread_offline();
		pthread_cond_timedwait(&m->kick, &m->lock, &ts);
		rcu_thread_online();
	}
	pthread_mutex_unlock(&m->lock);
	rcu_unregister_thread();
	return NULL;
}

/* Lock held, online. Until the background thread has finished a pass that
 * began at or after work sequence `want`, at most until deadline_ns
 * (CLOCK_REALTIME; 0: no deadline). true when it has. */
static bool wait_pass(struct evr_matcher *m, uint64_t want, uint64_t deadline_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
	                      .tv_nsec = (long)(deadline_ns % 1000000000u)};
	while (m->bg_done_seq < want && m->bg_running) {
		/* QSBR: never block while online, or the background thread's
		 * grace periods would wait for us. */
		rcu_thread_offline();
		int rc = deadline_ns ? pthread_cond_timedwait(&m->idle, &m->lock, &ts)
		                     : pthread_cond_wait(&m->idle, &m->lock);
		rcu_thread_online();
		if (rc == ETIMEDOUT)
			return m->bg_done_seq >= want;
	}
	return m->bg_done_seq >= want;
}

void evr_matcher_sync(struct evr_matcher *m)
{
	if (!m->bg_running) {
		while (m->ops->maintain(m, false))
			;
		return;
	}
	writer_lock(m);
	uint64_t want = ++m->bg_work_seq;
	pthread_cond_signal(&m->kick);
	wait_pass(m, want, 0);
	pthread_mutex_unlock(&m->lock);
}

bool evr_matcher_wait_visible(struct evr_matcher *m, uint32_t timeout_ms)
{
	if (!m->bg_running) {
		while (m->ops->maintain(m, false))
			;
		return true;
	}
	writer_lock(m);
	bool ok = m->bg_done_seq >= m->bg_visible_seq;
	if (!ok) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t dl = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
		              (uint64_t)timeout_ms * 1000000u;
		ok = wait_pass(m, m->bg_visible_seq, dl);
	}
	pthread_mutex_unlock(&m->lock);
	return ok;
}

uint32_t evr_matcher_list(struct evr_matcher *m, uint64_t after_id, uint32_t limit,
                          evr_sub_visit_fn fn, void *ctx)
{
	uint32_t count = 0;
	writer_lock(m);
	struct evr_sub_node *n = NULL;
	struct cds_list_head *pos;
	if (after_id) {
		n = id_lookup(m, after_id);
		pos = n ? n->all.next : m->all.next;
	} else {
		pos = m->all.next;
	}
	for (; pos != &m->all && count < limit; pos = pos->next) {
		struct evr_sub_node *e = caa_container_of(pos, struct evr_sub_node, all);
		if (e->s.id <= after_id)
			continue; /* cursor vanished: ids are increasing, skip */
		fn(&e->s, ctx);
		count++;
	}
	pthread_mutex_unlock(&m->lock);
	return count;
}

int evr_matcher_get(struct evr_matcher *m, uint64_t id, evr_sub_visit_fn fn, void *ctx)
{
	writer_lock(m);
	struct evr_sub_node *n = id_lookup(m, id);
	if (n)
		fn(&n->s, ctx);
	pthread_mutex_unlock(&m->lock);
	return n ? 0 : -ENOENT;
}

void evr_matcher_get_stats(struct evr_matcher *m, struct evr_matcher_stats *st)
{
	writer_lock(m);
	*st = m->st;
	/* the reaper's lag as of now (with the reaper on, time is evr_now_ms) */
	if (m->bg_running)
		st->reap_lag = reap_lag(m, evr_now_ms());
	/* everything the store holds: records, their own allocations, the
	 * writer maps and the expiry heap (the index adds its tables) */
	st->mem_bytes = m->sub_bytes + m->st.live * sizeof(struct evr_sub_node) +
	                evr_rcuhash_bytes(&m->id_map) + evr_rcuhash_bytes(&m->canon_map) +
	                evr_rcuhash_bytes(&m->dest_map) + evr_rcuhash_bytes(&m->name_map) +
	                m->heap_cap * sizeof(*m->heap);
	m->ops->stats(m, st);
	pthread_mutex_unlock(&m->lock);
}

int evr_sub_selector_text(const struct evr_sub *s, char *out, size_t cap)
{
	int n;
	if (s->sel == EVR_SEL_ALL)
		n = snprintf(out, cap, "ALL");
	else if (s->sel == EVR_SEL_SUBCLASS)
		n = snprintf(out, cap, "%s %s", s->ev_name, s->subclass);
	else
		n = snprintf(out, cap, "%s", s->ev_name);
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : n;
}
