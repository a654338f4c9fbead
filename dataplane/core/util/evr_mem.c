/* SPDX-License-Identifier: Apache-2.0 */
/* Table memory on transparent huge pages. See evr_mem.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "util/evr_mem.h"

#define HUGE_SZ (2u << 20)

/* Bytes mapped by evr_mem_table_alloc and not yet freed: mallinfo2() does
 * not see them, and a heap measurement must (evr_mem_table_bytes). */
static size_t g_table_bytes;

/* Small tables stay on the heap: a huge page per small table would waste
 * more than it saves. */
#define HUGE_MIN (HUGE_SZ / 2)

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* What a table of size bytes maps: evr_mem_table_free recomputes it from
 * the size alone, so it must not depend on `huge`. */
static size_t mapped_len(size_t size)
{
	return size < HUGE_MIN ? round_up(size, 4096) : round_up(size, HUGE_SZ);
}

void *evr_mem_table_alloc(size_t size, bool huge)
{
	if (size == 0)
		return NULL;
	if (!huge || size < HUGE_MIN) {
		size_t len = mapped_len(size);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		__atomic_add_fetch(&g_table_bytes, len, __ATOMIC_RELAXED);
		return p;
	}
	/* over-map by one huge page and trim to a 2 MiB aligned window */
	size_t len = round_up(size, HUGE_SZ);
	uint8_t *raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)raw + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1);
	size_t head = a - (uintptr_t)raw, tail = HUGE_SZ - head;
	if (head)
		munmap(raw, head);
	if (tail)
		munmap((uint8_t *)a + len, tail);
	/* advice only: without THP the table works on 4 KiB pages */
	(void)madvise((void *)a, len, MADV_HUGEPAGE);
	__atomic_add_fetch(&g_table_bytes, len, __ATOMIC_RELAXED);
	return (void *)a;
}

void evr_mem_table_free(void *p, size_t size)
{
	if (p == NULL || size == 0)
		return;
	size_t len = mapped_len(size);
	munmap(p, len);
	__atomic_sub_fetch(&g_table_bytes, len, __ATOMIC_RELAXED);
}

size_t evr_mem_table_bytes(void)
{
	return __atomic_load_n(&g_table_bytes, __ATOMIC_RELAXED);
}

size_t evr_mem_huge_bytes(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	size_t kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}
