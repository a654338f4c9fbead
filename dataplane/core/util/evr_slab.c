/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed-size records on huge pages. See evr_slab.h. */
#include <stdlib.h>
#include <string.h>

#include "util/evr_mem.h"
#include "util/evr_slab.h"

#define SLAB_CHUNK (2u << 20)

/* Mapped chunk bytes of every slab that hold no record (free lists and
 * chunk tails): evr_slab_idle_bytes. */
static size_t g_idle;

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif

void *evr_slab_alloc(struct evr_slab *s)
{
#ifdef SLAB_ASAN
	void *p = aligned_alloc(64, s->obj);
	if (p) {
		memset(p, 0, s->obj);
		pthread_mutex_lock(&s->lock);
		s->live++;
		pthread_mutex_unlock(&s->lock);
	}
	return p;
#else
	void *p = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->free_list) {
		p = s->free_list;
		s->free_list = *(void **)p;
		__atomic_sub_fetch(&g_idle, s->obj, __ATOMIC_RELAXED);
	} else {
		if ((size_t)(s->end - s->bump) < s->obj) {
			/* the tail of the old chunk (< one record) is left unused */
			char *c = evr_mem_table_alloc(SLAB_CHUNK, true);
			if (!c) {
				pthread_mutex_unlock(&s->lock);
				return NULL;
			}
			s->bump = c;
			s->end = c + SLAB_CHUNK;
			s->chunk_bytes += SLAB_CHUNK;
			__atomic_add_fetch(&g_idle, SLAB_CHUNK, __ATOMIC_RELAXED);
		}
		p = s->bump;
		s->bump += s->obj;
		__atomic_sub_fetch(&g_idle, s->obj, __ATOMIC_RELAXED);
	}
	s->live++;
	pthread_mutex_unlock(&s->lock);
	/* fresh chunk memory is zero already; a reused record is not */
	memset(p, 0, s->obj);
	return p;
#endif
}

void evr_slab_free(struct evr_slab *s, void *p)
{
	if (!p)
		return;
#ifdef SLAB_ASAN
	free(p);
	pthread_mutex_lock(&s->lock);
	s->live--;
	pthread_mutex_unlock(&s->lock);
#else
	pthread_mutex_lock(&s->lock);
	*(void **)p = s->free_list;
	s->free_list = p;
	s->live--;
	__atomic_add_fetch(&g_idle, s->obj, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
#endif
}

size_t evr_slab_bytes(struct evr_slab *s)
{
	pthread_mutex_lock(&s->lock);
#ifdef SLAB_ASAN
	size_t b = s->live * s->obj;
#else
	size_t b = s->chunk_bytes;
#endif
	pthread_mutex_unlock(&s->lock);
	return b;
}

size_t evr_slab_idle_bytes(void)
{
	return __atomic_load_n(&g_idle, __ATOMIC_RELAXED);
}
