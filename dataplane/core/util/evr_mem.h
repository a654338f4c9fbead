/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for large read-mostly tables that readers hit at random (the
 * matcher's presence bitmap and hash table): 2 MiB aligned and advised as
 * transparent huge pages, so a random probe costs a cache miss and not a
 * TLB miss (a 4 KiB-page walk per probe was a visible share of the match
 * time). When the kernel gives no huge page the memory is still good, just
 * on 4 KiB pages; evr_mem_huge_pages() reports what was obtained.
 *
 * Zeroed like calloc. Any thread; not on the hot path (mmap/munmap).
 */
#ifndef EVR_MEM_H
#define EVR_MEM_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* size bytes, zeroed; NULL on failure. huge: ask for huge pages. */
void *evr_mem_table_alloc(size_t size, bool huge);
/* p from evr_mem_table_alloc with the same size (NULL is fine). */
void evr_mem_table_free(void *p, size_t size);
/* Bytes mapped by evr_mem_table_alloc and not freed yet (all callers). */
size_t evr_mem_table_bytes(void);
/* Bytes of AnonHugePages in this process (/proc/self/smaps_rollup), or 0. */
size_t evr_mem_huge_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* EVR_MEM_H */
