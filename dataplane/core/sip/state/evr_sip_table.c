/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP state tables: fixed-stride records with a chained hash index and an
 * age (LRU) list, the indexed timer heap over all of a shard's records, and
 * the hashes that place records and Call-IDs (evr_sip_state_shard).
 * The design note is in evr_sip_state.c.
 *
 * Thread context: the shard's owning thread; allocation at create only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/evr_hash.h"
#include "evr_sip_state_internal.h"

/* ---- hashing ---- */

/*
 * Visible hashes are FNV-1a (evr_fnv1a) finished by a murmur mix: stable
 * across builds, shards and restarts (Unique-ID and shard choice depend on
 * them).
 *
 * Table index hash. The FNV hashes are visible (Unique-ID, the
 * OpenSIPS dialog id, the shard) and must stay as they are, but they take
 * a multiply per octet in one dependent chain (~200 cycles for a Call-ID +
 * tag), and every message looks up its transaction or dialog. Bucket
 * choice is internal, so the tables hash eight octets per multiply; the
 * visible values are computed once, when a dialog is created.
 */
#define QH_MUL 0x9fb21c651e98df25ULL

static inline uint64_t qtail(const char *p, size_t n) /* n < 8 */
{
	if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return (uint64_t)a << 32 | b;
	}
	if (n)
		return (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n / 2] << 8
		       | (unsigned char)p[n - 1];
	return 0;
}

static uint64_t qbytes(uint64_t h, const char *p, size_t n)
{
	h ^= (uint64_t)n << 56;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		h = (h ^ v) * QH_MUL;
		h ^= h >> 32;
	}
	h = (h ^ qtail(p, n)) * QH_MUL;
	return h ^ (h >> 29);
}

/* Two fields, separated as the FNV form is. */
uint64_t evr_sst_qhash2(const char *a, size_t an, const char *b, size_t bn)
{
	return evr_mix64(qbytes(qbytes(EVR_HASH_SEED, a, an) ^ 0xff, b, bn));
}

unsigned evr_sip_state_shard(const char *call_id, size_t len, unsigned n)
{
	if (n == 0)
		return 0;
	uint64_t h = evr_mix64(evr_fnv1a(EVR_HASH_SEED, call_id, len));
	/* multiply-shift: uniform over n without a division bias worth noting */
	return (unsigned)(((h >> 32) * (uint64_t)n) >> 32);
}

/* ---- tables ---- */

int evr_sst_tab_init(struct tab *t, uint32_t cap, size_t stride)
{
	uint32_t nb = 1;

	while (nb < cap && nb < (1u << 30))
		nb <<= 1;
	t->stride = stride;
	t->cap = cap;
	t->mask = nb - 1;
	t->n = 0;
	t->base = calloc(cap, stride);
	t->buckets = malloc(sizeof(uint32_t) * nb);
	if (t->base == NULL || t->buckets == NULL)
		return -ENOMEM;
	memset(t->buckets, 0xff, sizeof(uint32_t) * nb);
	t->free = NIL;
	t->fresh = 0;
	t->head = t->tail = NIL;
	return 0;
}

void evr_sst_tab_fini(struct tab *t)
{
	free(t->base);
	free(t->buckets);
}

static void age_unlink(struct tab *t, uint32_t i)
{
	struct link *l = L(t, i);

	if (l->prev != NIL)
		L(t, l->prev)->next = l->next;
	else
		t->head = l->next;
	if (l->next != NIL)
		L(t, l->next)->prev = l->prev;
	else
		t->tail = l->prev;
}

static void age_append(struct tab *t, uint32_t i)
{
	struct link *l = L(t, i);

	l->prev = t->tail;
	l->next = NIL;
	if (t->tail != NIL)
		L(t, t->tail)->next = i;
	else
		t->head = i;
	t->tail = i;
}

/* A free record linked at the young end, indexed under hash; NIL if full. */
uint32_t evr_sst_tab_alloc(struct tab *t, uint64_t hash)
{
	uint32_t i = t->free;
	struct link *l;
	size_t b;

	if (i != NIL) {
		t->free = L(t, i)->next;
	} else if (t->fresh < t->cap) {
		i = t->fresh++; /* calloc'd: first touch of this record */
	} else {
		return NIL;
	}
	l = L(t, i);
	/* The record body is not cleared: the caller sets every field it
	 * reads (reg_request, reg_2xx, dlg_fill), and clearing a whole record
	 * (1.9 KiB for a REGISTER transaction) wrote ~30 cold cache lines per
	 * message for nothing. */
	l->used = true;
	l->hash = hash;
	l->hpos = NIL;
	b = hash & t->mask;
	l->hnext = t->buckets[b];
	t->buckets[b] = i;
	age_append(t, i);
	t->n++;
	return i;
}

void evr_sst_tab_free(struct tab *t, uint32_t i)
{
	struct link *l = L(t, i);
	uint32_t *pp = &t->buckets[l->hash & t->mask];

	while (*pp != i)
		pp = &L(t, *pp)->hnext;
	*pp = l->hnext;
	age_unlink(t, i);
	l->used = false;
	l->next = t->free;
	t->free = i;
	t->n--;
}

void evr_sst_tab_touch(struct tab *t, uint32_t i)
{
	age_unlink(t, i);
	age_append(t, i);
}

/* ---- timer heap ---- */

static struct tab *tab_of(struct evr_sip_state *st, uint32_t id)
{
	switch (id >> 30) {
	case T_TXN:
		return &st->txn;
	case T_CT:
		return &st->ct;
	default:
		return &st->dlg;
	}
}

static inline uint32_t *hpos_of(struct evr_sip_state *st, uint32_t id)
{
	return &L(tab_of(st, id), id & 0x3fffffffu)->hpos;
}

static void heap_place(struct evr_sip_state *st, uint32_t pos, struct hent e)
{
	st->heap[pos] = e;
	*hpos_of(st, e.id) = pos;
}

static void heap_up(struct evr_sip_state *st, uint32_t pos)
{
	struct hent e = st->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (st->heap[parent].at <= e.at)
			break;
		heap_place(st, pos, st->heap[parent]);
		pos = parent;
	}
	heap_place(st, pos, e);
}

static void heap_down(struct evr_sip_state *st, uint32_t pos)
{
	struct hent e = st->heap[pos];

	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= st->heap_n)
			break;
		if (c + 1 < st->heap_n && st->heap[c + 1].at < st->heap[c].at)
			c++;
		if (st->heap[c].at >= e.at)
			break;
		heap_place(st, pos, st->heap[c]);
		pos = c;
	}
	heap_place(st, pos, e);
}

void evr_sst_timer_del(struct evr_sip_state *st, uint32_t id)
{
	uint32_t *hp = hpos_of(st, id), pos = *hp;

	if (pos == NIL)
		return;
	*hp = NIL;
	if (--st->heap_n == pos)
		return;
	/* the last entry fills the hole, then settles either way */
	uint32_t moved = st->heap[st->heap_n].id;
	heap_place(st, pos, st->heap[st->heap_n]);
	heap_up(st, pos);
	heap_down(st, *hpos_of(st, moved));
}

void evr_sst_timer_set(struct evr_sip_state *st, uint32_t id, uint64_t at)
{
	uint32_t pos = *hpos_of(st, id);

	if (pos == NIL) {
		/* heap_cap is the sum of the table sizes: one entry per record */
		pos = st->heap_n++;
		st->heap[pos] = (struct hent){ at, id };
		*hpos_of(st, id) = pos;
		heap_up(st, pos);
		return;
	}
	st->heap[pos].at = at;
	heap_up(st, pos);
	heap_down(st, *hpos_of(st, id));
}


/* A free record of kind k under hash; when the table is full its oldest
 * record goes first (timer disarmed, no event: the platform still holds
 * that state) and counter evicted_cnt counts it. */
uint32_t evr_sst_alloc_evict(struct evr_sip_state *st, enum tkind k, uint64_t hash,
                             unsigned evicted_cnt)
{
	struct tab *t = k == T_TXN ? &st->txn : k == T_CT ? &st->ct : &st->dlg;
	uint32_t i = evr_sst_tab_alloc(t, hash);

	if (i == NIL) {
		uint32_t old = t->head;
		evr_sst_timer_del(st, TID(k, old));
		evr_sst_tab_free(t, old);
		st->stats.c[evicted_cnt]++;
		i = evr_sst_tab_alloc(t, hash);
	}
	return i;
}
