/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal assertion helpers for evrouter unit tests. Each test program runs
 * its cases, prints one line per failed check, and exits non-zero if any
 * check failed (meson test counts the program as failed).
 */
#ifndef EVR_TEST_H
#define EVR_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned evr_test_checks, evr_test_failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		evr_test_checks++;                                             \
		if (!(cond)) {                                                 \
			evr_test_failures++;                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,  \
			        __LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_MSG(cond, ...)                                                   \
	do {                                                                   \
		evr_test_checks++;                                             \
		if (!(cond)) {                                                 \
			evr_test_failures++;                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__,  \
			        __LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                     \
	do {                                                                   \
		long long va_ = (long long)(a), vb_ = (long long)(b);          \
		CHECK_MSG(va_ == vb_, "%lld != %lld", va_, vb_);               \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                     \
	do {                                                                   \
		const char *sa_ = (a), *sb_ = (b);                             \
		CHECK_MSG(sa_ && sb_ && strcmp(sa_, sb_) == 0, "\"%s\" != \"%s\"", \
		          sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");         \
	} while (0)

/* Compare a (ptr,len) view with a C string. */
#define CHECK_EQ_VIEW(p, len, s)                                               \
	do {                                                                   \
		const char *sv_ = (s);                                         \
		size_t lv_ = (size_t)(len);                                    \
		CHECK_MSG(lv_ == strlen(sv_) && memcmp((p), sv_, lv_) == 0,     \
		          "\"%.*s\" != \"%s\"", (int)lv_, (const char *)(p), sv_); \
	} while (0)

#define EVR_TEST_DONE()                                                        \
	do {                                                                   \
		printf("%u checks, %u failed\n", evr_test_checks,              \
		       evr_test_failures);                                     \
		return evr_test_failures ? 1 : 0;                              \
	} while (0)

#endif
