/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixed-size records on huge pages: the matcher's subscription records,
 * which readers load at random (one per candidate) and so should cost a
 * cache miss and not also a TLB walk, start on a cache line (so what the
 * read path prefetches is a known number of lines) and carry no malloc
 * header.
 *
 * Chunks of 2 MiB come from evr_mem_table_alloc and are kept for the life of
 * the slab: freed records go on a free list and are reused. A slab is
 * process-wide state with static storage (EVR_SLAB_INIT), so a record freed
 * late (call_rcu, after its owner is gone) still has its slab.
 *
 * Thread context: any thread; alloc and free take the slab's mutex (writer
 * and call_rcu side, never a reader). Built with AddressSanitizer, records
 * come from aligned_alloc instead, so use-after-free stays detectable.
 */
#ifndef EVR_SLAB_H
#define EVR_SLAB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evr_slab {
	pthread_mutex_t lock;
	size_t obj;        /* record size: a multiple of 64 */
	void *free_list;   /* freed records, linked through their first word */
	char *bump, *end;  /* the unused rest of the newest chunk */
	size_t chunk_bytes; /* mapped */
	uint64_t live;     /* records handed out and not freed */
};

/* A slab of records of size bytes (rounded up to a cache line). */
#define EVR_SLAB_INIT(size) \
	{.lock = PTHREAD_MUTEX_INITIALIZER, .obj = ((size) + 63) / 64 * 64}

/* A zeroed, 64-byte aligned record; NULL when out of memory. */
void *evr_slab_alloc(struct evr_slab *s);
/* p from evr_slab_alloc of the same slab (NULL is fine). */
void evr_slab_free(struct evr_slab *s, void *p);
/* Bytes the slab has mapped (live and free records). */
size_t evr_slab_bytes(struct evr_slab *s);
/* Mapped bytes of all slabs that hold no record. A heap measurement
 * subtracts them from evr_mem_table_bytes(), as mallinfo2().uordblks
 * leaves out malloc's free chunks: records freed by one matcher and
 * reused by the next are then counted once, by the one using them. */
size_t evr_slab_idle_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* EVR_SLAB_H */
