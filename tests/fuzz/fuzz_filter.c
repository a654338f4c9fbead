/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for filters and globs. The input up to its first NUL is a
 * filter "key=value"; the bytes after it, split at NULs, are values. When
 * the filter parses, every value, plus a few derived from the pattern so that
 * matches are common, is matched with evr_glob_match and
 * evr_filter_value_match (the class/literal fast path) and compared with
 * glibc fnmatch(3) flags 0: any difference aborts. The regex translation must
 * succeed; with EVR_FUZZ_HS=1 it is also compiled with Hyperscan and scanned
 * (slow: a separate run). The input is also parsed as a destination, whose
 * canonical text must parse to itself.
 */
#include <fnmatch.h>
#include <hs/hs.h>
#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/evr_sub.h"

#define MAX_VALUES 8
#define VAL_CAP    512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool use_hs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("EVR_FUZZ_HS");

	(void)argc;
	(void)argv;
	setlocale(LC_ALL, "C");
	use_hs = e && *e == '1';
	return 0;
}

static void die(const char *what, const char *pat, const char *v, size_t n, int want, int got)
{
	fprintf(stderr, "%s: fnmatch %d, got %d\npattern:", what, want, got);
	for (const char *p = pat; *p; p++)
		fprintf(stderr, " %02x", (unsigned char)*p);
	fprintf(stderr, "\nvalue:");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", (unsigned char)v[i]);
	fputc('\n', stderr);
	abort();
}

/* A value the pattern likely matches: stars as `star`, '?' as 'a', a
 * bracket as its first listed byte. */
static size_t derive(const char *p, const char *star, char *v)
{
	size_t n = 0;

	while (*p && n < VAL_CAP - 8) {
		if (*p == '*') {
			for (const char *s = star; *s; s++)
				v[n++] = *s;
			p++;
		} else if (*p == '?') {
			v[n++] = 'a';
			p++;
		} else if (*p == '\\' && p[1]) {
			v[n++] = p[1];
			p += 2;
		} else if (*p == '[') {
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == '\\' && q[1])
				q++;
			if (!*q)
				break;
			v[n++] = *q;
			q++;
			while (*q && *q != ']')
				q++;
			p = *q ? q + 1 : q;
		} else {
			v[n++] = *p++;
		}
	}
	v[n] = '\0';
	return n;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
                    unsigned flags, void *ctx)
{
	(void)id;
	(void)from;
	(void)to;
	(void)flags;
	*(int *)ctx = 1;
	return 1; /* one is enough */
}

static void check_value(const struct evr_filter *f, const char *pat, const char *v, size_t n,
                        hs_database_t *db, hs_scratch_t *scratch)
{
	int want = fnmatch(pat, v, 0) == 0;
	int got = evr_glob_match(f->glob, v, n);
	int fast = evr_filter_value_match(f, v, (uint32_t)n);

	if (got != want)
		die("evr_glob_match", pat, v, n, want, got);
	if (fast != want)
		die("evr_filter_value_match", pat, v, n, want, fast);
	if (db) {
		int hit = 0;

		if (hs_scan(db, v, (unsigned)n, 0, scratch, on_match, &hit) == HS_SCAN_TERMINATED)
			hit = 1;
		if (hit != want)
			die("hyperscan", pat, v, n, want, hit);
	}
}

static void fuzz_dest(const char *s)
{
	struct evr_dest d, d2;
	char err[256];

	if (evr_dest_parse(s, &d, err, sizeof(err)) != 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return;
	}
	if (evr_dest_parse(d.text, &d2, err, sizeof(err)) != 0 || strcmp(d.text, d2.text) ||
	    d.salen != d2.salen || memcmp(&d.addr, &d2.addr, d.salen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *re = NULL, err[256];
	struct evr_filter f;
	const char *pat;
	size_t text_len, pos;
	hs_database_t *db = NULL;
	hs_scratch_t *scratch = NULL;
	static char v[VAL_CAP];
	static const char *const stars[] = {"", "a", "ab/.", ("\xff" "a\n")};

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	text_len = strlen(buf);

	fuzz_dest(buf);
	if (evr_filter_parse(buf, &f, err, sizeof(err)) != 0) {
		if (!err[0] || !strstr(err, "filter '"))
			abort(); /* every refusal explains itself */
		free(buf);
		return 0;
	}
	pat = strchr(buf, '=') + 1;

	{
		size_t cap = 64 + 64 * strlen(pat) + 1;
		int n;

		re = malloc(cap);
		if (!re)
			goto out;
		n = evr_glob_to_regex(f.glob, re, cap);
		/* exact length, within the bound evr_glob.h documents */
		if (n < 0 || (size_t)n != strlen(re) || (size_t)n > 4 * strlen(pat) + 4)
			abort();
	}
	if (use_hs) {
		hs_compile_error_t *ce = NULL;

		if (hs_compile(re, HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, NULL, &db,
		               &ce) != HS_SUCCESS) {
			fprintf(stderr, "hs_compile(%s): %s\n", re, ce->message);
			abort();
		}
		if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS)
			abort();
	}

	for (size_t i = 0; i < sizeof(stars) / sizeof(stars[0]); i++) {
		size_t n = derive(pat, stars[i], v);

		check_value(&f, pat, v, n, db, scratch);
		if (n) { /* one byte short */
			char last = v[n - 1];

			v[n - 1] = '\0';
			check_value(&f, pat, v, n - 1, db, scratch);
			v[n - 1] = last;
		}
		v[n] = 'a'; /* one byte too many */
		v[n + 1] = '\0';
		check_value(&f, pat, v, n + 1, db, scratch);
	}
	check_value(&f, pat, "", 0, db, scratch);

	/* values after the filter's NUL, split at NULs */
	pos = text_len + 1;
	for (unsigned k = 0; k < MAX_VALUES && pos <= size; k++) {
		size_t n = strnlen(buf + pos, size - pos);

		if (n >= VAL_CAP)
			n = VAL_CAP - 1;
		memcpy(v, buf + pos, n);
		v[n] = '\0';
		check_value(&f, pat, v, n, db, scratch);
		pos += strnlen(buf + pos, size - pos) + 1;
	}

out:
	hs_free_scratch(scratch);
	hs_free_database(db);
	free(re);
	evr_filter_fini(&f);
	free(buf);
	return 0;
}
