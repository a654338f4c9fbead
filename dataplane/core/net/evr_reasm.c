/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP reassembly bookkeeping (see evr_reasm.h). Layout, all preallocated:
 *  - flows[max_flows]: one incomplete datagram each, on a hash chain
 *    (buckets[]) and on an age list (oldest first: the list the timeout
 *    and the eviction both walk from its head);
 *  - slots[max_frags]: one held fragment each, linked per flow in offset
 *    order (tail kept: in-order arrival appends in O(1));
 *  - outv[max_frags]: the fragments of a completed datagram.
 *
 * A datagram found invalid (overlap, inconsistent ends) stays in the table
 * as a tombstone without fragments until its timeout or eviction: the rest
 * of its fragments are dropped as invalid too, not gathered into a new
 * datagram that could never complete (Linux does the same).
 *
 * Overlaps: IPv6 MUST drop the whole datagram (RFC 5722, RFC 8200 §4.5);
 * for IPv4 we do the same, as Linux has since 4.19 (RFC 791 allowed
 * overlap, but overlapping fragments serve only evasion and "teardrop"
 * attacks, never a real sender). Exact duplicates (same offset and length:
 * a copy made by the network) drop only the copy, as RFC 8200 §4.5 allows.
 */
#include "evr_reasm.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/evr_hash.h"

#define NIL UINT32_MAX
#define TOTAL_UNKNOWN UINT32_MAX

static_assert(sizeof(struct evr_reasm_key) == 40, "key compared with memcmp: no padding");

struct slot {
	void *frag;
	uint32_t off, len;
	uint32_t next; /* next fragment of the flow, or next free slot */
};

struct flow {
	struct evr_reasm_key key;
	uint64_t born;    /* arrival of the first fragment held */
	uint32_t total;   /* payload length, known once the last fragment came */
	uint32_t got;     /* payload bytes held (fragments never overlap) */
	uint32_t maxend;  /* largest off+len held */
	uint32_t head, tail, nfrag;
	uint32_t hnext;   /* hash chain, or next free flow */
	bool dead;        /* found invalid: later fragments dropped until timeout */
	uint32_t older, newer;
};

struct evr_reasm {
	uint32_t max_flows, max_frags, nbuckets;
	uint64_t timeout, seed;
	evr_reasm_release_fn release;
	void *ctx;
	struct flow *flows;
	struct slot *slots;
	uint32_t *buckets;
	void **outv;
	uint32_t free_flow, free_slot;
	uint32_t oldest, newest;
	uint32_t nflows, held;
	struct evr_reasm_stats st;
};

struct evr_reasm *evr_reasm_create(uint32_t max_flows, uint32_t max_frags,
                                   uint64_t timeout, uint64_t seed,
                                   evr_reasm_release_fn release, void *ctx)
{
	struct evr_reasm *r;
	uint32_t nb = 1;

	if (max_flows == 0 || max_frags == 0 || release == NULL)
		return NULL;
	while (nb < max_flows && nb < (1u << 30))
		nb <<= 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->max_flows = max_flows;
	r->max_frags = max_frags;
	r->nbuckets = nb;
	r->timeout = timeout;
	r->seed = seed;
	r->release = release;
	r->ctx = ctx;
	r->flows = calloc(max_flows, sizeof(*r->flows));
	r->slots = calloc(max_frags, sizeof(*r->slots));
	r->buckets = malloc(nb * sizeof(*r->buckets));
	r->outv = calloc(max_frags, sizeof(*r->outv));
	if (!r->flows || !r->slots || !r->buckets || !r->outv) {
		evr_reasm_destroy(r);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		r->buckets[i] = NIL;
	for (uint32_t i = 0; i < max_flows; i++)
		r->flows[i].hnext = i + 1 < max_flows ? i + 1 : NIL;
	for (uint32_t i = 0; i < max_frags; i++)
		r->slots[i].next = i + 1 < max_frags ? i + 1 : NIL;
	r->free_flow = 0;
	r->free_slot = 0;
	r->oldest = r->newest = NIL;
	return r;
}

static uint32_t key_bucket(const struct evr_reasm *r, const struct evr_reasm_key *k)
{
	uint64_t h = r->seed, w;

	for (unsigned i = 0; i < 32; i += 8) {
		memcpy(&w, (const uint8_t *)k + i, 8);
		h = evr_mix64(h ^ w);
	}
	memcpy(&w, (const uint8_t *)k + 32, 8);
	h = evr_mix64(h ^ w);
	return (uint32_t)h & (r->nbuckets - 1);
}

/* Unlink flow fi from its chain and the age list and free it and its slots;
 * `why` counts its fragments (NULL: handed to the caller, not released). */
static void flow_remove(struct evr_reasm *r, uint32_t fi, uint64_t *why)
{
	struct flow *f = &r->flows[fi];
	uint32_t *pp = &r->buckets[key_bucket(r, &f->key)];

	while (*pp != fi)
		pp = &r->flows[*pp].hnext;
	*pp = f->hnext;
	if (f->older != NIL)
		r->flows[f->older].newer = f->newer;
	else
		r->oldest = f->newer;
	if (f->newer != NIL)
		r->flows[f->newer].older = f->older;
	else
		r->newest = f->older;
	for (uint32_t s = f->head, next; s != NIL; s = next) {
		next = r->slots[s].next;
		if (why) {
			r->release(r->ctx, r->slots[s].frag);
			(*why)++;
		}
		r->slots[s].frag = NULL;
		r->slots[s].next = r->free_slot;
		r->free_slot = s;
	}
	r->held -= f->nfrag;
	r->nflows--;
	f->hnext = r->free_flow;
	r->free_flow = fi;
}

/* Whether flow f outlived the timeout. `now` may be a little older than
 * its birth (the caller samples its clock once per loop, fragments are
 * stamped as they come): that is not expiry, never an unsigned wrap. */
static bool expired(const struct evr_reasm *r, const struct flow *f, uint64_t now)
{
	return now > f->born && now - f->born > r->timeout;
}

static void evict_oldest(struct evr_reasm *r)
{
	r->st.flows_evicted++;
	flow_remove(r, r->oldest, &r->st.evicted);
}

void evr_reasm_expire(struct evr_reasm *r, uint64_t now)
{
	while (r->oldest != NIL && expired(r, &r->flows[r->oldest], now))
		flow_remove(r, r->oldest, &r->st.timeout);
}

static void drop_frag(struct evr_reasm *r, void *frag, uint64_t *why)
{
	r->release(r->ctx, frag);
	(*why)++;
}

enum evr_reasm_rc evr_reasm_add(struct evr_reasm *r, const struct evr_reasm_key *k,
                                uint32_t off, uint32_t len, bool more,
                                uint32_t max_len, void *frag, uint64_t now,
                                struct evr_reasm_out *out)
{
	uint32_t b = key_bucket(r, k), fi, prev = NIL, cur, s;
	struct flow *f;

	if (off == 0 && !more) { /* atomic fragment (RFC 6946): whole already */
		if (len > max_len)
			goto invalid;
		r->outv[0] = frag;
		out->frags = r->outv;
		out->n = 1;
		out->total = len;
		r->st.completed++;
		return EVR_REASM_DONE;
	}
	/* Every fragment but the last carries a multiple of 8 bytes (the
	 * offset unit); nothing may end beyond the largest datagram. */
	if ((more && (len == 0 || len % 8 != 0)) || off % 8 != 0 ||
	    (uint64_t)off + len > max_len)
		goto invalid;
	for (fi = r->buckets[b]; fi != NIL; fi = r->flows[fi].hnext)
		if (memcmp(&r->flows[fi].key, k, sizeof(*k)) == 0)
			break;
	if (fi != NIL && expired(r, &r->flows[fi], now)) {
		flow_remove(r, fi, &r->st.timeout);
		fi = NIL;
	}
	if (fi == NIL) {
		evr_reasm_expire(r, now);
		if (r->free_flow == NIL)
			evict_oldest(r);
		fi = r->free_flow;
		f = &r->flows[fi];
		r->free_flow = f->hnext;
		f->key = *k;
		f->born = now;
		f->total = TOTAL_UNKNOWN;
		f->got = f->maxend = f->nfrag = 0;
		f->head = f->tail = NIL;
		f->dead = false;
		f->hnext = r->buckets[b];
		r->buckets[b] = fi;
		f->older = r->newest;
		f->newer = NIL;
		if (r->newest != NIL)
			r->flows[r->newest].newer = fi;
		else
			r->oldest = fi;
		r->newest = fi;
		r->nflows++;
	}
	f = &r->flows[fi];
	if (f->dead)
		goto invalid;

	/* Ends: the last fragment fixes the length; nothing may pass it. */
	if (!more) {
		if ((f->total != TOTAL_UNKNOWN && f->total != off + len) || f->maxend > off + len)
			goto invalid_flow;
	} else if (f->total != TOTAL_UNKNOWN && off + len > f->total) {
		goto invalid_flow;
	}
	/* Position in offset order; appending after the tail is the common case. */
	if (f->tail != NIL && r->slots[f->tail].off < off) {
		prev = f->tail;
		cur = NIL;
	} else {
		cur = f->head;
		while (cur != NIL && r->slots[cur].off < off) {
			prev = cur;
			cur = r->slots[cur].next;
		}
	}
	if (cur != NIL && r->slots[cur].off == off && r->slots[cur].len == len &&
	    (more || f->total == off + len)) {
		drop_frag(r, frag, &r->st.duplicate);
		return EVR_REASM_DROPPED;
	}
	if ((prev != NIL && r->slots[prev].off + r->slots[prev].len > off) ||
	    (cur != NIL && off + len > r->slots[cur].off))
		goto invalid_flow;
	/* Room: evict the oldest other datagrams; a datagram that alone
	 * needs more than max_frags fragments cannot be held at all. */
	while (r->free_slot == NIL) {
		if (r->oldest == fi && r->newest == fi) {
			r->st.flows_evicted++;
			flow_remove(r, fi, &r->st.evicted);
			drop_frag(r, frag, &r->st.evicted);
			return EVR_REASM_DROPPED;
		}
		if (r->oldest == fi) { /* evict the next oldest: keep ours */
			uint32_t v = r->flows[fi].newer;

			r->st.flows_evicted++;
			flow_remove(r, v, &r->st.evicted);
		} else {
			evict_oldest(r);
		}
	}
	s = r->free_slot;
	r->free_slot = r->slots[s].next;
	r->slots[s].frag = frag;
	r->slots[s].off = off;
	r->slots[s].len = len;
	r->slots[s].next = cur;
	if (prev == NIL)
		f->head = s;
	else
		r->slots[prev].next = s;
	if (cur == NIL)
		f->tail = s;
	f->nfrag++;
	r->held++;
	f->got += len;
	if (off + len > f->maxend)
		f->maxend = off + len;
	if (!more)
		f->total = off + len;
	if (f->total == TOTAL_UNKNOWN || f->got != f->total)
		return EVR_REASM_HELD;

	/* Complete: fragments never overlap and all lie in [0, total), so
	 * got == total means no hole is left. */
	out->n = 0;
	for (uint32_t i = f->head; i != NIL; i = r->slots[i].next)
		r->outv[out->n++] = r->slots[i].frag;
	out->frags = r->outv;
	out->total = f->total;
	flow_remove(r, fi, NULL);
	r->st.completed++;
	return EVR_REASM_DONE;

invalid_flow:
	for (uint32_t i = f->head, next; i != NIL; i = next) {
		next = r->slots[i].next;
		drop_frag(r, r->slots[i].frag, &r->st.invalid);
		r->slots[i].frag = NULL;
		r->slots[i].next = r->free_slot;
		r->free_slot = i;
	}
	r->held -= f->nfrag;
	f->nfrag = 0;
	f->head = f->tail = NIL;
	f->dead = true;
invalid:
	drop_frag(r, frag, &r->st.invalid);
	return EVR_REASM_DROPPED;
}

void evr_reasm_destroy(struct evr_reasm *r)
{
	if (r == NULL)
		return;
	if (r->flows && r->slots && r->buckets)
		while (r->oldest != NIL)
			flow_remove(r, r->oldest, &r->st.timeout);
	free(r->outv);
	free(r->buckets);
	free(r->slots);
	free(r->flows);
	free(r);
}

const struct evr_reasm_stats *evr_reasm_stats(const struct evr_reasm *r)
{
	return &r->st;
}

uint32_t evr_reasm_flows(const struct evr_reasm *r)
{
	return r->nflows;
}

uint32_t evr_reasm_held(const struct evr_reasm *r)
{
	return r->held;
}
