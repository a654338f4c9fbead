/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shell wildcard patterns with exactly fnmatch(3) semantics, flags 0, in the
 * C locale, over bytes: '*' any string (crosses '/', matches leading '.'),
 * '?' any one byte, '[...]' bracket expressions (ranges by byte value, '!'
 * or '^' negation, ']' first is literal, '\' escapes inside and outside
 * brackets, POSIX classes [:alpha:] etc.), '\x' is a literal x.
 *
 * A pattern is compiled once (control thread) into an immutable evr_glob that
 * any number of threads may match concurrently without locks or allocation.
 * Patterns fnmatch() would treat in a surprising way are refused with a
 * message instead (unterminated '[', trailing '\', equivalence/collating
 * classes [= =] [. .], unknown [:class:], any other unescaped "[:" inside
 * brackets, a class as a range end, NUL bytes), and so is a bracket
 * expression that matches no byte at all ("[z-a]"): such a pattern can never
 * match and Hyperscan refuses every regex that can never match.
 *
 * Classification drives the matcher's index: a pattern that is
 *   - only literals                 -> EVR_GLOB_EXACT  (lit = the value)
 *   - literals then one trailing '*' -> EVR_GLOB_PREFIX (lit = the prefix;
 *                                       "*" alone is a prefix of length 0)
 *   - one leading '*' then literals -> EVR_GLOB_SUFFIX (lit = the suffix)
 *   - anything else                 -> EVR_GLOB_COMPLEX (Hyperscan regex)
 * Literals are unescaped ("a\*b*" is the prefix "a*b"); a bracket
 * expression with one member is a literal ("[a]*" is the prefix "a") and
 * runs of '*' count as one ("a**" is the prefix "a"). A COMPLEX pattern
 * never matches the empty value.
 */
#ifndef EVR_GLOB_H
#define EVR_GLOB_H

#include "event/evr_event.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evr_glob;

enum evr_glob_class {
	EVR_GLOB_EXACT = 0,
	EVR_GLOB_PREFIX,
	EVR_GLOB_SUFFIX,
	EVR_GLOB_COMPLEX,
};

/*
 * Compile pat[0..len). Returns NULL with errno=EINVAL and a message in err
 * (e.g. "unterminated '[' at offset 3") or errno=ENOMEM.
 * Control thread (allocates).
 */
EVR_API struct evr_glob *evr_glob_compile(const char *pat, size_t len,
                                          char *err, size_t errlen);
EVR_API void evr_glob_free(struct evr_glob *g);

/* fnmatch(pat, s, 0) == 0, for s[0..len) (s may contain NUL bytes). Any thread. */
EVR_API bool evr_glob_match(const struct evr_glob *g, const char *s, size_t len);

/* Class and, for EXACT/PREFIX/SUFFIX, the unescaped literal (owned by g). */
EVR_API enum evr_glob_class evr_glob_classify(const struct evr_glob *g,
                                              const char **lit, size_t *lit_len);

/*
 * Hyperscan regex equivalent to the pattern over a whole value, for use with
 * HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH (anchored at both ends with \A and \z,
 * every byte written as \xHH or a class). Returns the length written
 * (NUL-terminated), at most 4 * pattern length + 4, or -ENOSPC. Anchored patterns that match the empty value
 * ("*", "") compile without HS_FLAG_ALLOWEMPTY and report on a 0-length
 * hs_scan, whose data pointer must still be non-NULL.
 */
EVR_API int evr_glob_to_regex(const struct evr_glob *g, char *out, size_t cap);

/*
 * Visit every maximal run of literal bytes of the pattern (unescaped), in
 * order: what a value matching the pattern must contain verbatim. flags
 * say where a run must sit in the value: EVR_GLOB_RUN_START (the pattern
 * starts with it: the value's prefix), EVR_GLOB_RUN_END (its suffix). The
 * matcher indexes complex globs by a selective substring of one of them,
 * or by the whole run when it is anchored. Returns the number of runs.
 * Control thread (allocates).
 */
#define EVR_GLOB_RUN_START 1u
#define EVR_GLOB_RUN_END 2u
typedef void (*evr_glob_run_fn)(void *ctx, const char *run, size_t len, unsigned flags);
EVR_API unsigned evr_glob_literal_runs(const struct evr_glob *g, evr_glob_run_fn fn,
                                       void *ctx);

/* Original pattern text (NUL-terminated, owned by g). */
EVR_API const char *evr_glob_pattern(const struct evr_glob *g);

#ifdef __cplusplus
}
#endif
#endif /* EVR_GLOB_H */
