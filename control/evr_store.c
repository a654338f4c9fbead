/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The durable store's front: the change queue, the writer thread with its
 * group commit, the record codec and start-up loading (evr_store.h has the
 * threads and guarantees). Backends: evr_store_lmdb.c.
 *
 * Design note. The matcher's change hook runs under the matcher's writer
 * lock (the control thread, or the maintenance thread reaping a million
 * expiries), so it only encodes the record into the open batch (one mutex,
 * an append) and never waits: the writer thread swaps the open batch for
 * an empty one and commits it while new changes queue behind. Removals
 * the reaper makes (expired, `once` fired) wait for nobody: they have a
 * queue of their own, without sequence numbers, written BG_CHUNK per
 * transaction with a pause between, so reaping a million expiries never
 * takes the control thread's core for long, and a request's change never
 * waits behind them. The queues hold what arrives during one commit (and
 * the reaper's backlog); they are not bounded by count because refusing or
 * blocking a change would be worse than the memory (queue_peak shows it). A failed commit (store or disk full) is
 * counted, remembered by sequence range for the held replies that it
 * covered, and never stops the writer: the next batch is tried afresh.
 *
 * A shared backend (nats) also feeds other appliances' changes in from its
 * own thread: they queue here (remote queue, bytes copied) and the control
 * thread, the matcher's writer, applies them a budget per turn with
 * `applying` set, so on_change does not send them back to the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include <urcu-qsbr.h>

#include "evr_store.h"
#include "match/evr_matcher.h"

#define FAIL_RING 64u
#define STORE_NICE 5 /* the writer thread's nice value (see writer_main) */
#define BG_CHUNK 2048u /* background deletes per transaction */
#define BG_PAUSE_NS 2000000L /* between background transactions */

struct batch {
	struct evr_store_change *v; /* val holds an offset into bytes until commit */
	size_t n, cap;
	char *bytes;
	size_t blen, bcap;
	uint64_t first_seq, last_seq;
};

struct fail_range {
	uint64_t lo, hi;
	char msg[384];
};

/* Other appliances' changes waiting for the control thread: q[head, n). */
struct remote_q {
	struct batch q;
	size_t head;
};

struct evr_store {
	struct evr_store_conf conf;
	char path[160];
	const struct evr_store_backend_ops *ops;
	void *be;
	pthread_t thr;
	bool thr_running;
	pthread_mutex_t lock;  /* open batch, stop, fails, stats */
	pthread_cond_t kick;
	bool stop;
	struct batch open, work; /* requests' changes (someone waits for them) */
	uint64_t *bg;          /* ids removed by the reaper: [bg_head, bg_n) */
	uint64_t *dels;        /* the writer's chunk of them (BG_CHUNK) */
	size_t bg_head, bg_n, bg_cap;
	uint64_t seq;          /* last request change queued (lock) */
	uint64_t done_seq;     /* atomic: last committed or failed */
	int efd;
	struct fail_range fails[FAIL_RING];
	unsigned n_fails;
	struct evr_store_stats st;
	pthread_mutex_t rlock; /* remote queue (the feed's thread, control) */
	struct remote_q rq;
	bool stale;            /* rlock */
	uint64_t remote_applied, remote_refused, claimed, lost; /* rlock */
};

/* Set while the control thread applies another appliance's change: the
 * matcher's change hook runs in the same thread and must not store it. */
static __thread bool applying;

/* ---- record codec -----------------------------------------------------------
 * u8 version, u8 format, u8 flags (1 once, 2 lenient), u8 n_filters,
 * u32 expire_s, u64 expires_at (unix ms), then u16-length-prefixed strings:
 * event, subclass, destination, each filter's "key=value". Host byte order:
 * the file is not portable between architectures, like LMDB's own. */
#define REC_VERSION 1u
#define REC_HEAD 16u

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool put_str(unsigned char **p, unsigned char *end, const char *s, size_t n)
{
	if (n > UINT16_MAX || (size_t)(end - *p) < 2 + n)
		return false;
	uint16_t l = (uint16_t)n;
	memcpy(*p, &l, 2);
	memcpy(*p + 2, s, n);
	*p += 2 + n;
	return true;
}

size_t evr_store_encode(const struct evr_sub *sub, uint64_t expires_at_ms, void *buf,
                        size_t cap)
{
	unsigned char *p = buf, *end = p + cap;
	if (cap < REC_HEAD)
		return 0;
	p[0] = REC_VERSION;
	p[1] = __atomic_load_n(&sub->format, __ATOMIC_RELAXED);
	p[2] = (uint8_t)((sub->once ? 1 : 0) | (sub->lenient ? 2 : 0));
	p[3] = (uint8_t)sub->n_filters;
	memcpy(p + 4, &sub->expire_s, 4);
	memcpy(p + 8, &expires_at_ms, 8);
	p += REC_HEAD;
	if (!put_str(&p, end, sub->ev_name, sub->ev_name_len) ||
	    !put_str(&p, end, sub->subclass ? sub->subclass : "", sub->subclass_len) ||
	    !put_str(&p, end, sub->dest->text, strlen(sub->dest->text)))
		return 0;
	for (uint32_t i = 0; i < sub->n_filters; i++)
		if (!put_str(&p, end, sub->filters[i].text, strlen(sub->filters[i].text)))
			return 0;
	return (size_t)(p - (unsigned char *)buf);
}

/* A decoded record: strings point into the record, NUL-terminated copies
 * in text. */
struct rec {
	uint8_t format, flags;
	uint32_t expire_s, n_filters;
	uint64_t expires_at;
	const char *event, *subclass, *dest;
	const char *filters[EVR_MAX_FILTERS];
	char text[4096];
};

static int decode(const void *val, size_t len, struct rec *r)
{
	const unsigned char *p = val, *end = p + len;
	char *t = r->text, *tend = r->text + sizeof(r->text);
	const char **slots[3] = {&r->event, &r->subclass, &r->dest};

	if (len < REC_HEAD || p[0] != REC_VERSION || p[3] > EVR_MAX_FILTERS)
		return -EINVAL;
	r->format = p[1];
	r->flags = p[2];
	r->n_filters = p[3];
	memcpy(&r->expire_s, p + 4, 4);
	memcpy(&r->expires_at, p + 8, 8);
	p += REC_HEAD;
	for (uint32_t i = 0; i < 3 + r->n_filters; i++) {
		uint16_t l;
		if (end - p < 2)
			return -EINVAL;
		memcpy(&l, p, 2);
		if ((size_t)(end - p) < 2u + l || (size_t)(tend - t) < l + 1u)
			return -EINVAL;
		memcpy(t, p + 2, l);
		t[l] = 0;
		if (i < 3)
			*slots[i] = t;
		else
			r->filters[i - 3] = t;
		t += l + 1;
		p += 2 + l;
	}
	return p == end && r->format < EVR_FMT_AUTO ? 0 : -EINVAL;
}

/* ---- queue (any thread that changes the matcher) ---------------------------- */

/* Append a change (val NULL: delete) to b, its bytes copied. */
static bool vec_push(struct batch *b, uint64_t id, const void *val, size_t len)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct evr_store_change *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return false;
		b->v = v;
		b->cap = cap;
	}
	if (b->blen + len > b->bcap) {
		size_t cap = b->bcap ? b->bcap : 65536;
		while (cap < b->blen + len)
			cap *= 2;
		char *nb = realloc(b->bytes, cap);
		if (!nb)
			return false;
		b->bytes = nb;
		b->bcap = cap;
	}
	if (len)
		memcpy(b->bytes + b->blen, val, len);
	b->v[b->n++] = (struct evr_store_change){
		.id = id, .val = (const void *)(uintptr_t)b->blen, .len = (uint32_t)len};
	b->blen += len;
	return true;
}

/* Lock held. Append a request's change (val NULL: delete). false: out of
 * memory, counted as an error (the change is not durable). */
static bool batch_add(struct evr_store *s, uint64_t id, const void *val, size_t len)
{
	struct batch *b = &s->open;
	if (!vec_push(b, id, val, len))
		return false;
	if (!b->first_seq)
		b->first_seq = s->seq + 1;
	b->last_seq = ++s->seq;
	s->st.queued++;
	if (b->n > s->st.queue_peak)
		s->st.queue_peak = b->n;
	/* the writer sleeps only with nothing queued: wake it once per batch */
	if (b->n == 1)
		pthread_cond_signal(&s->kick);
	return true;
}

/* Lock held. Queue a removal nobody waits for (an expiry or a `once`
 * reaped): no sequence number, committed in chunks behind the requests'
 * changes. Ids are never reused, so nothing queued later can concern the
 * same subscription: the order between the two queues does not matter. */
static bool bg_add(struct evr_store *s, uint64_t id)
{
	if (s->bg_n == s->bg_cap) {
		if (s->bg_head) {
			memmove(s->bg, s->bg + s->bg_head, (s->bg_n - s->bg_head) * sizeof(*s->bg));
			s->bg_n -= s->bg_head;
			s->bg_head = 0;
		}
		if (s->bg_n == s->bg_cap) {
			size_t cap = s->bg_cap ? s->bg_cap * 2 : 4096;
			uint64_t *v = realloc(s->bg, cap * sizeof(*v));
			if (!v)
				return false;
			s->bg = v;
			s->bg_cap = cap;
		}
	}
	s->bg[s->bg_n++] = id;
	s->st.queued++;
	if (s->bg_n - s->bg_head > s->st.queue_peak)
		s->st.queue_peak = s->bg_n - s->bg_head;
	if (s->bg_n - s->bg_head == 1 && !s->open.n)
		pthread_cond_signal(&s->kick);
	return true;
}

static void on_change(void *ctx, enum evr_sub_change_kind k, const struct evr_sub *sub)
{
	struct evr_store *s = ctx;
	unsigned char buf[8192];
	size_t len = 0;

	/* config-owned and connection-owned subscriptions are not ours, and
	 * another appliance's change is in the store already */
	if (sub->dest->kind == EVR_DEST_ESL || applying)
		return;
	/* a shared store: the claim deleted the fired `once` (or another
	 * appliance's did) before its notification left */
	if (k == EVR_SUB_DEL_ONCE && s->ops->claim)
		return;
	if (k == EVR_SUB_PUT && sub->expire_s != EVR_SUB_EXPIRE_NEVER) {
		uint64_t exp = __atomic_load_n(&sub->expires_ms, __ATOMIC_RELAXED);
		uint64_t now = evr_now_ms(), wall = wall_ms();
		len = evr_store_encode(sub, exp > now ? wall + (exp - now) : wall, buf,
		                       sizeof(buf));
		if (!len) {
			pthread_mutex_lock(&s->lock);
			s->st.errors++;
			pthread_mutex_unlock(&s->lock);
			return;
		}
	} else if (k == EVR_SUB_PUT) {
		/* refreshed into a static one: the config owns it now */
		len = 0;
	}
	bool reaped = k == EVR_SUB_DEL_EXPIRED || k == EVR_SUB_DEL_ONCE;
	pthread_mutex_lock(&s->lock);
	if (!(reaped ? bg_add(s, sub->id) : batch_add(s, sub->id, buf, len)))
		s->st.errors++;
	pthread_mutex_unlock(&s->lock);
}

/* ---- writer thread ------------------------------------------------------------ */

static bool full_error(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT;
}

static void record_failure(struct evr_store *s, const struct batch *b, int rc,
                           const char *why)
{
	struct fail_range *f = &s->fails[s->n_fails++ % FAIL_RING];
	f->lo = b->first_seq;
	f->hi = b->last_seq;
	snprintf(f->msg, sizeof(f->msg), "not durable: store %s: %s", s->path, why);
	s->st.errors += b->n;
	if (full_error(rc))
		s->st.errors_full += b->n;
}

/* The writer's one transaction for a batch; when it fails for lack of
 * room the deletes alone are tried again (they make room, and losing a
 * `once` that fired would bring it back at the next start). */
static int commit_batch(struct evr_store *s, struct batch *b, const uint64_t *dels,
                        size_t nd, char *err, size_t errlen)
{
	for (size_t i = 0; i < b->n; i++)
		b->v[i].val = b->bytes + (uintptr_t)b->v[i].val;
	if (b->n + nd > b->cap) {
		struct evr_store_change *v = realloc(b->v, (b->n + nd) * sizeof(*v));
		if (!v) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		b->v = v;
		b->cap = b->n + nd;
	}
	for (size_t i = 0; i < nd; i++)
		b->v[b->n + i] = (struct evr_store_change){.id = dels[i], .why = EVR_STORE_REAPED};
	size_t total = b->n + nd;
	int rc = s->ops->apply(s->be, b->v, total, err, errlen);
	if (rc && full_error(rc)) {
		size_t k = 0;
		for (size_t i = 0; i < total; i++)
			if (!b->v[i].len)
				b->v[k++] = b->v[i];
		char e2[64];
		if (k)
			(void)s->ops->apply(s->be, b->v, k, e2, sizeof(e2));
	}
	return rc;
}

static void *writer_main(void *arg)
{
	struct evr_store *s = arg;
	char err[192];

	/* It shares the control thread's core (threads made after the EAL
	 * inherit the main lcore's affinity): a commit of a million reaped
	 * expiries must not take the CPU from requests being served (nice is
	 * per thread on Linux). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), STORE_NICE) != 0) {
		/* unprivileged without CAP_SYS_NICE can still lower priority;
		 * if even that fails the writer runs at the normal one */
	}

	uint64_t *dels = s->dels;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->open.n && s->bg_head == s->bg_n && !s->stop)
			pthread_cond_wait(&s->kick, &s->lock);
		if (!s->open.n && s->bg_head == s->bg_n && s->stop)
			break;
		/* every request's change queued so far (replies wait for them),
		 * and a bounded chunk of the reaper's removals: a million reaped
		 * expiries are written a chunk at a time with pauses between, so
		 * this thread, on the control thread's core, never holds the CPU
		 * for long */
		struct batch t = s->work;
		s->work = s->open;
		s->open = t;
		s->open.n = s->open.blen = 0;
		s->open.first_seq = s->open.last_seq = 0;
		size_t nd = s->bg_n - s->bg_head;
		if (nd > BG_CHUNK)
			nd = BG_CHUNK;
		if (nd)
			memcpy(dels, s->bg + s->bg_head, nd * sizeof(*dels));
		s->bg_head += nd;
		if (s->bg_head == s->bg_n)
			s->bg_head = s->bg_n = 0;
		bool backlog = s->bg_n != 0;
		pthread_mutex_unlock(&s->lock);

		struct batch *b = &s->work;
		struct timespec a, z;
		clock_gettime(CLOCK_MONOTONIC, &a);
		err[0] = 0;
		int rc = commit_batch(s, b, dels, nd, err, sizeof(err));
		clock_gettime(CLOCK_MONOTONIC, &z);

		pthread_mutex_lock(&s->lock);
		s->st.commits++;
		s->st.last_commit_microseconds = (uint64_t)(z.tv_sec - a.tv_sec) * 1000000u +
		                       (uint64_t)(z.tv_nsec - a.tv_nsec) / 1000u;
		if (rc) {
			record_failure(s, b, rc, err[0] ? err : strerror(-rc));
			s->st.errors += nd;
			if (full_error(rc))
				s->st.errors_full += nd;
		} else {
			s->st.committed += b->n + nd;
		}
		bool waited = b->n != 0, pause = backlog && !s->stop;
		if (waited)
			__atomic_store_n(&s->done_seq, b->last_seq, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&s->lock);
		uint64_t one = 1;
		if (waited && write(s->efd, &one, sizeof(one)) < 0) {
			/* counter saturated: the control thread wakes anyway */
		}
		if (pause) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = BG_PAUSE_NS};
			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------- */

struct evr_store *evr_store_open(const struct evr_store_conf *c, char *err, size_t errlen)
{
	if (c->kind == EVR_STORE_NONE)
		return NULL;
	struct evr_store *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "store: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->conf = *c;
	if (c->kind == EVR_STORE_NATS)
		snprintf(s->path, sizeof(s->path), "nats bucket %s", c->bucket);
	else
		snprintf(s->path, sizeof(s->path), "%s", c->path);
	s->conf.path = s->path;
	s->ops = c->kind == EVR_STORE_NATS ? &evr_store_nats_ops : &evr_store_lmdb_ops;
	s->efd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->kick, NULL);
	int rc = s->ops->open(&s->be, &s->conf, err, errlen);
	if (rc) {
		errno = -rc;
		goto fail;
	}
	s->dels = malloc(BG_CHUNK * sizeof(*s->dels));
	if (!s->dels) {
		snprintf(err, errlen, "store: out of memory");
		errno = ENOMEM;
		goto fail_be;
	}
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		snprintf(err, errlen, "store: eventfd: %s", strerror(errno));
		goto fail_be;
	}
	if (pthread_create(&s->thr, NULL, writer_main, s)) {
		snprintf(err, errlen, "store: cannot start its writer thread");
		errno = EAGAIN;
		goto fail_be;
	}
	s->thr_running = true;
	return s;
fail_be:
	s->ops->close(s->be);
fail:
	if (s->efd >= 0)
		close(s->efd);
	free(s->dels);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->kick);
	free(s);
	return NULL;
}

/*
 * Applying another appliance's put refreshed a local subscription with a
 * different id: two appliances made the same subscription (event,
 * destination, filters) at the same moment, each with its own id. Every
 * appliance keeps the lower id and the higher one leaves the bucket, so
 * the cluster converges on one: a local higher id is deleted from the
 * bucket and unsubscribed here, and the remote one applied in its
 * place; a remote higher id is deleted from the bucket (if nobody changed
 * it since). Control thread with `applying` set, or the start-up load
 * (before the change hook is attached).
 */
static void dedupe(struct evr_store *s, struct evr_matcher *m,
                   const struct evr_sub_spec *spec, uint64_t remote, uint64_t local,
                   uint64_t mono)
{
	struct evr_sub_info info;
	char e[256];
	uint64_t loser = remote < local ? local : remote;

	pthread_mutex_lock(&s->lock);
	if (!bg_add(s, loser))
		s->st.errors++;
	pthread_mutex_unlock(&s->lock);
	if (loser == local) {
		(void)evr_matcher_unsubscribe(m, local);
		(void)evr_matcher_subscribe(m, spec, mono, &info, e, sizeof(e));
	}
}

struct load_ctx {
	struct evr_store *s;
	struct evr_matcher *m;
	uint64_t wall, mono;
	char *err;
	size_t errlen;
};

/* A decoded record as a restoring subscribe spec (strings point into r). */
static void rec_spec(const struct rec *r, uint64_t id, uint64_t wall, uint64_t mono,
                     struct evr_sub_spec *spec)
{
	*spec = (struct evr_sub_spec){
		.event = r->event,
		.subclass = r->subclass[0] ? r->subclass : NULL,
		.filters = r->filters,
		.n_filters = r->n_filters,
		.dest = r->dest,
		.format = (enum evr_format)r->format,
		.expire = r->expire_s,
		.once = r->flags & 1,
		.lenient = (r->flags & 2) != 0,
		.restore_id = id,
		.restore_expires_ms = mono + (r->expires_at - wall),
	};
}

static int load_one(void *arg, uint64_t id, const void *val, size_t len)
{
	struct load_ctx *x = arg;
	struct evr_store *s = x->s;
	struct rec r;

	if (decode(val, len, &r)) {
		snprintf(x->err, x->errlen,
		         "store %s: subscription %llu cannot be decoded (corrupt store); "
		         "start empty with evrd --store-reset or move %s away",
		         s->path, (unsigned long long)id, s->path);
		return -EINVAL;
	}
	if (r.expires_at <= x->wall) {
		/* expired while evrd was down */
		s->st.load_expired++;
		goto drop;
	}
	struct evr_sub_spec spec;
	rec_spec(&r, id, x->wall, x->mono, &spec);
	struct evr_sub_info info;
	char e[256];
	if (evr_matcher_subscribe(x->m, &spec, x->mono, &info, e, sizeof(e)) == 0) {
		s->st.loaded++;
		if (info.refreshed && info.id != id && s->ops->claim)
			dedupe(s, x->m, &spec, id, info.id, x->mono);
		return 0;
	}
	/* the destination policy or the limits changed since: it is gone
	 * (from a shared store only when it expired: another appliance's
	 * policy may well take it) */
	s->st.load_refused++;
	if (s->ops->claim)
		return 0;
drop:
	pthread_mutex_lock(&s->lock);
	if (!bg_add(s, id))
		s->st.errors++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int evr_store_load(struct evr_store *s, struct evr_matcher *m, char *err, size_t errlen)
{
	struct load_ctx x = {.s = s, .m = m, .wall = wall_ms(), .mono = evr_now_ms(),
	                     .err = err, .errlen = errlen};
	return s->ops->load(s->be, load_one, &x, err, errlen);
}

/* ---- other appliances' changes (a shared backend) --------------------------- */

static void wake_control(struct evr_store *s)
{
	uint64_t one = 1;
	if (write(s->efd, &one, sizeof(one)) < 0) {
		/* counter saturated: the control thread wakes anyway */
	}
}

/* The backend's feed thread: copy and queue; the control thread applies. */
static void feed_change(void *ctx, uint64_t id, const void *val, size_t len)
{
	struct evr_store *s = ctx;
	struct remote_q *r = &s->rq;
	bool wake;

	pthread_mutex_lock(&s->rlock);
	if (r->head && r->head == r->q.n)
		r->head = r->q.n = r->q.blen = 0;
	if (!vec_push(&r->q, id, val, len)) {
		s->remote_refused++;
		pthread_mutex_unlock(&s->rlock);
		return;
	}
	wake = r->q.n - r->head == 1;
	pthread_mutex_unlock(&s->rlock);
	if (wake)
		wake_control(s);
}

static void feed_stale(void *ctx, bool stale)
{
	struct evr_store *s = ctx;

	pthread_mutex_lock(&s->rlock);
	s->stale = stale;
	pthread_mutex_unlock(&s->rlock);
}

size_t evr_store_apply_remote(struct evr_store *s, struct evr_matcher *m, size_t budget)
{
	struct remote_q *r = &s->rq;
	struct batch *q = &r->q;
	uint64_t wall = wall_ms(), mono = evr_now_ms();
	size_t left;

	applying = true;
	pthread_mutex_lock(&s->rlock);
	while (r->head < q->n && budget--) {
		struct evr_store_change c = q->v[r->head++];
		struct rec rec;
		int rc = 0;

		/* the record is copied out so the feed may append meanwhile */
		if (c.len) {
			const char *val = q->bytes + (uintptr_t)c.val;
			rc = decode(val, c.len, &rec);
		}
		pthread_mutex_unlock(&s->rlock);
		if (!c.len) {
			(void)evr_matcher_unsubscribe(m, c.id); /* -ENOENT: not here */
			rc = 0;
		} else if (rc == 0 && rec.expires_at > wall) {
			struct evr_sub_spec spec;
			struct evr_sub_info info;
			char e[256];

			rec_spec(&rec, c.id, wall, mono, &spec);
			rc = evr_matcher_subscribe(m, &spec, mono, &info, e, sizeof(e));
			if (rc == 0 && info.refreshed && info.id != c.id)
				dedupe(s, m, &spec, c.id, info.id, mono);
		}
		/* an expired record: the reapers delete it from the store */
		pthread_mutex_lock(&s->rlock);
		if (rc)
			s->remote_refused++;
		else
			s->remote_applied++;
	}
	left = q->n - r->head;
	pthread_mutex_unlock(&s->rlock);
	applying = false;
	if (left)
		wake_control(s); /* the next turn goes on */
	return left;
}

bool evr_store_claims(const struct evr_store *s)
{
	return s && s->ops->claim;
}

bool evr_store_claim_once(struct evr_store *s, uint64_t id)
{
	int rc = s->ops->claim(s->be, id);

	pthread_mutex_lock(&s->rlock);
	if (rc == 1)
		s->claimed++;
	else
		s->lost++;
	pthread_mutex_unlock(&s->rlock);
	return rc == 1;
}

void evr_store_attach(struct evr_store *s, struct evr_matcher *m)
{
	evr_matcher_set_change_hook(m, on_change, s);
	if (s->ops->watch) {
		struct evr_store_feed f = {.change = feed_change, .stale = feed_stale, .ctx = s};
		char err[160];

		if (s->ops->watch(s->be, &f, err, sizeof(err)) != 0) {
			/* the feed's thread could not start: this appliance stops
			 * following the others, which it reports as stale */
			feed_stale(s, true);
		}
	}
}

void evr_store_close(struct evr_store *s, struct evr_matcher *m)
{
	if (!s)
		return;
	if (m)
		evr_matcher_set_change_hook(m, NULL, NULL);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->kick);
	pthread_mutex_unlock(&s->lock);
	if (s->thr_running)
		pthread_join(s->thr, NULL); /* commits what is queued first */
	s->ops->close(s->be);
	close(s->efd);
	free(s->open.v);
	free(s->open.bytes);
	free(s->work.v);
	free(s->work.bytes);
	free(s->bg);
	free(s->dels);
	free(s->rq.q.v);
	free(s->rq.q.bytes);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->kick);
	free(s);
}

uint64_t evr_store_queued_seq(struct evr_store *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t q = s->seq;
	pthread_mutex_unlock(&s->lock);
	return q;
}

uint64_t evr_store_done_seq(struct evr_store *s)
{
	return __atomic_load_n(&s->done_seq, __ATOMIC_ACQUIRE);
}

bool evr_store_seq_failed(struct evr_store *s, uint64_t seq, char *msg, size_t len)
{
	bool failed = false;
	pthread_mutex_lock(&s->lock);
	unsigned n = s->n_fails < FAIL_RING ? s->n_fails : FAIL_RING;
	for (unsigned i = 0; i < n && !failed; i++) {
		const struct fail_range *f = &s->fails[i];
		if (seq >= f->lo && seq <= f->hi) {
			snprintf(msg, len, "%s", f->msg);
			failed = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return failed;
}

int evr_store_fd(const struct evr_store *s)
{
	return s->efd;
}

void evr_store_drain_fd(struct evr_store *s)
{
	uint64_t v;
	if (read(s->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing new */
	}
}

void evr_store_get_stats(struct evr_store *s, struct evr_store_stats *st)
{
	struct evr_store_be_stats b = {0};

	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&s->rlock);
	st->stale = s->stale;
	st->remote_applied = s->remote_applied;
	st->remote_refused = s->remote_refused;
	st->once_claimed = s->claimed;
	st->once_lost = s->lost;
	pthread_mutex_unlock(&s->rlock);
	if (s->ops->stats)
		s->ops->stats(s->be, &b);
	st->resyncs = b.resyncs;
	st->nats_disconnects = b.disconnects;
	st->reap_raced = b.reap_raced;
	st->node_conflicts = b.node_conflicts;
}

const char *evr_store_path(const struct evr_store *s)
{
	return s->path;
}
