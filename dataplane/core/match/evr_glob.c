/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Glob patterns: fnmatch(3) flags-0 semantics, C locale, over bytes.
 *
 * Design. A pattern compiles into a token program where every token but
 * '*' consumes exactly one byte: LIT (one byte), ANY ('?'), SET (a 256-bit
 * bracket expression) and STAR. Bracket expressions are normalised (one
 * member -> LIT, all 256 -> ANY) and runs of '*' collapse, so "[a]*" is the
 * prefix "a" for the matcher's index. Header, sets, tokens, pattern text
 * and literal live in one allocation, immutable after compile, so matching
 * touches a few adjacent cache lines, never allocates and needs no locks.
 *
 * Matching first checks the fixed-width head (tokens before the first '*')
 * and tail (after the last '*') at both ends of the value, then runs the
 * middle with the classic single-backtrack star algorithm: since each
 * non-star token consumes one byte, retrying only from the most recent '*'
 * is complete, and the cost is O(len(value) * tokens) in the worst case.
 *
 * Bracket grammar reproduced from glibc 2.36 (probed empirically, see
 * tests/unit/core/match/test_glob.c for the table): after '[' an optional '!' or '^'
 * negates; a ']' right after that is a member; '\' escapes the next byte
 * (also as a range end); "x-y" is a range by byte value, empty when x > y;
 * a '-' right before the closing ']' or right after a character class is a
 * plain member unless it starts a range itself; a '[' not followed by ':',
 * '.' or '=' is a plain member. The constructs where glibc behaves
 * surprisingly or reports errors are refused instead, see bracket().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/evr_bytes.h"
#include "util/evr_err.h"
#include "evr_glob.h"

/* Token: op in the low 2 bits, argument (byte or set index) above. */
enum tok_op { TOK_LIT = 0, TOK_ANY, TOK_SET, TOK_STAR };
#define TOK(op, arg) ((uint32_t)(arg) << 2 | (uint32_t)(op))
#define TOK_OP(t)    ((t) & 3u)
#define TOK_ARG(t)   ((t) >> 2)

/* Token arguments are 30 bits; this bound also keeps every size below in
 * 32 bits. Real filters are bounded far lower by the value length limit. */
#define GLOB_MAX_LEN (1u << 24)

struct byteset {
	uint64_t w[4];
};

struct evr_glob {
	const struct byteset *sets;
	const uint32_t *tok;
	const char *pat;  /* NUL-terminated copy of the pattern */
	const char *lit;  /* unescaped literal, "" for COMPLEX */
	uint32_t n_tok;
	uint32_t head;    /* tokens before the first STAR (n_tok if none) */
	uint32_t tail;    /* tokens after the last STAR (0 if none) */
	uint32_t min_len; /* non-star tokens: the bytes every match consumes */
	uint32_t lit_len;
	uint32_t pat_len;
	uint8_t cls;      /* enum evr_glob_class */
	uint8_t has_star;
	uint64_t mem[];   /* sets | tokens | pattern | literal; 8-aligned */
};

static inline bool set_has(const struct byteset *s, unsigned c)
{
	return s->w[c >> 6] >> (c & 63) & 1;
}

static inline void set_add(struct byteset *s, unsigned c)
{
	s->w[c >> 6] |= (uint64_t)1 << (c & 63);
}

static unsigned set_count(const struct byteset *s)
{
	return (unsigned)(__builtin_popcountll(s->w[0]) + __builtin_popcountll(s->w[1]) +
	                  __builtin_popcountll(s->w[2]) + __builtin_popcountll(s->w[3]));
}

static unsigned set_first(const struct byteset *s)
{
	for (unsigned i = 0; i < 4; i++)
		if (s->w[i])
			return i * 64 + (unsigned)__builtin_ctzll(s->w[i]);
	return 256;
}

enum cclass {
	CL_ALPHA, CL_DIGIT, CL_ALNUM, CL_UPPER, CL_LOWER, CL_SPACE,
	CL_XDIGIT, CL_PUNCT, CL_PRINT, CL_GRAPH, CL_CNTRL, CL_BLANK, CL__COUNT
};

static const char *const class_names[CL__COUNT] = {
	[CL_ALPHA] = "alpha", [CL_DIGIT] = "digit", [CL_ALNUM] = "alnum",
	[CL_UPPER] = "upper", [CL_LOWER] = "lower", [CL_SPACE] = "space",
	[CL_XDIGIT] = "xdigit", [CL_PUNCT] = "punct", [CL_PRINT] = "print",
	[CL_GRAPH] = "graph", [CL_CNTRL] = "cntrl", [CL_BLANK] = "blank",
};

/* POSIX classes in the C locale, spelled out instead of calling <ctype.h>
 * so the result cannot depend on the process locale. */
static bool class_member(int k, unsigned c)
{
	bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
	bool digit = c >= '0' && c <= '9';
	bool graph = c >= 0x21 && c <= 0x7e;

	switch (k) {
	case CL_ALPHA: return upper || lower;
	case CL_DIGIT: return digit;
	case CL_ALNUM: return upper || lower || digit;
	case CL_UPPER: return upper;
	case CL_LOWER: return lower;
	case CL_SPACE: return c == ' ' || (c >= '\t' && c <= '\r');
	case CL_XDIGIT: return digit || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
	case CL_PUNCT: return graph && !upper && !lower && !digit;
	case CL_PRINT: return c == ' ' || graph;
	case CL_GRAPH: return graph;
	case CL_CNTRL: return c < 0x20 || c == 0x7f;
	default: return c == ' ' || c == '\t'; /* CL_BLANK */
	}
}

static int class_lookup(const char *name, size_t len)
{
	for (int k = 0; k < CL__COUNT; k++)
		if (strlen(class_names[k]) == len && memcmp(class_names[k], name, len) == 0)
			return k;
	return -1;
}

static bool opens_special(const char *p, size_t i, size_t len)
{
	return p[i] == '[' && i + 1 < len &&
	       (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=');
}

/*
 * Parse the bracket expression opening at p[open] into *set; *next gets the
 * offset after its ']'. Refused (glibc's behaviour in parentheses):
 *  - no closing ']'   (glibc matches the '[' literally: a typo users expect
 *                      to hear about)
 *  - "[=" and "[."    (equivalence classes / collating symbols: locale
 *                      machinery, and glibc is inconsistent on malformed ones)
 *  - "[:" that is not a known "[:name:]" (glibc silently reads a malformed
 *                      one as members '[' ':' ..., "[:z:]" included, and makes
 *                      an unknown name fail every match)
 *  - a class as a range end ("[a-[:alpha:]]": glibc ends the bracket early)
 *  - a set with no member at all ("[z-a]", negation of everything): it can
 *    never match and Hyperscan refuses any regex that can never match, so
 *    the matcher could not index it.
 */
static int bracket(const char *p, size_t len, size_t open, size_t *next,
                   struct byteset *set, char *err, size_t errlen)
{
	size_t i = open + 1;
	bool neg = false, first = true;

	memset(set, 0, sizeof(*set));
	if (i < len && (p[i] == '!' || p[i] == '^')) {
		neg = true;
		i++;
	}
	for (;;) {
		unsigned lo, hi;

		if (i >= len)
			goto unterminated;
		if (p[i] == ']' && !first)
			break;
		first = false;
		if (opens_special(p, i, len)) {
			size_t j = i + 2;
			int k;

			if (p[i + 1] != ':') {
				evr_seterr(err, errlen, "%s '[%c' at offset %zu not supported",
				       p[i + 1] == '=' ? "equivalence class" : "collating symbol",
				       p[i + 1], i);
				return -EINVAL;
			}
			while (j < len && p[j] >= 'a' && p[j] <= 'z')
				j++;
			if (j + 1 >= len || p[j] != ':' || p[j + 1] != ']') {
				evr_seterr(err, errlen,
				       "'[:' at offset %zu does not start a character class "
				       "(write '\\[' for a literal '[')", i);
				return -EINVAL;
			}
			k = class_lookup(p + i + 2, j - i - 2);
			if (k < 0) {
				evr_seterr(err, errlen, "unknown character class '[:%.*s:]' at offset %zu",
				       (int)(j - i - 2), p + i + 2, i);
				return -EINVAL;
			}
			for (unsigned c = 0; c < 256; c++)
				if (class_member(k, c))
					set_add(set, c);
			i = j + 2;
			continue;
		}
		if (p[i] == '\\' && ++i >= len)
			goto unterminated;
		lo = hi = (unsigned char)p[i++];
		if (i + 1 < len && p[i] == '-' && p[i + 1] != ']') {
			size_t j = i + 1;

			if (opens_special(p, j, len)) {
				evr_seterr(err, errlen,
				       "range at offset %zu ends in '[%c' (write '\\[' for a literal '[')",
				       i - 1, p[j + 1]);
				return -EINVAL;
			}
			if (p[j] == '\\' && ++j >= len)
				goto unterminated;
			hi = (unsigned char)p[j];
			i = j + 1;
		}
		for (unsigned c = lo; c <= hi; c++) /* lo > hi: empty, as glibc */
			set_add(set, c);
	}
	if (neg)
		for (unsigned w = 0; w < 4; w++)
			set->w[w] = ~set->w[w];
	if (!set_count(set)) {
		evr_seterr(err, errlen, "bracket expression at offset %zu matches no character", open);
		return -EINVAL;
	}
	*next = i + 1;
	return 0;

unterminated:
	evr_seterr(err, errlen, "unterminated '[' at offset %zu", open);
	return -EINVAL;
}

/* Token sink: counts on the first pass (tok == NULL) and writes on the
 * second, so the single allocation is sized exactly. */
struct emit {
	uint32_t *tok;
	struct byteset *sets;
	uint32_t n_tok, n_sets, n_lit, n_star;
	uint32_t after_star; /* n_tok right after the last STAR, to collapse "**" */
};

static void emit(struct emit *e, enum tok_op op, uint32_t arg)
{
	if (op == TOK_STAR) {
		if (e->n_star && e->after_star == e->n_tok)
			return;
		e->n_star++;
		e->after_star = e->n_tok + 1;
	} else if (op == TOK_LIT) {
		e->n_lit++;
	}
	if (e->tok)
		e->tok[e->n_tok] = TOK(op, arg);
	e->n_tok++;
}

static void emit_set(struct emit *e, const struct byteset *set)
{
	unsigned n = set_count(set);

	if (n == 256) {
		emit(e, TOK_ANY, 0);
	} else if (n == 1) {
		emit(e, TOK_LIT, set_first(set));
	} else {
		if (e->sets)
			e->sets[e->n_sets] = *set;
		emit(e, TOK_SET, e->n_sets++);
	}
}

static int parse(const char *p, size_t len, struct emit *e, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		struct byteset set;
		size_t next;

		switch (p[i]) {
		case '*':
			emit(e, TOK_STAR, 0);
			i++;
			break;
		case '?':
			emit(e, TOK_ANY, 0);
			i++;
			break;
		case '[':
			if (bracket(p, len, i, &next, &set, err, errlen))
				return -EINVAL;
			emit_set(e, &set);
			i = next;
			break;
		case '\\':
			/* glibc never matches a trailing '\': refuse rather than
			 * accept a filter that can never fire. */
			if (i + 1 >= len) {
				evr_seterr(err, errlen, "trailing '\\' at offset %zu", i);
				return -EINVAL;
			}
			emit(e, TOK_LIT, (unsigned char)p[i + 1]);
			i += 2;
			break;
		default:
			emit(e, TOK_LIT, (unsigned char)p[i]);
			i++;
			break;
		}
	}
	return 0;
}

struct evr_glob *evr_glob_compile(const char *pat, size_t len, char *err, size_t errlen)
{
	struct emit e = {0};
	const void *nul;
	struct evr_glob *g;
	enum evr_glob_class cls;
	size_t sets_sz, tok_sz, lit_sz;
	char *text;
	uint32_t i;

	if (!pat && len) {
		evr_seterr(err, errlen, "NULL pattern");
		errno = EINVAL;
		return NULL;
	}
	if (len >= GLOB_MAX_LEN) {
		evr_seterr(err, errlen, "pattern longer than %u bytes", GLOB_MAX_LEN - 1);
		errno = EINVAL;
		return NULL;
	}
	/* fnmatch() would stop at a NUL; a value never contains one anyway. */
	nul = len ? memchr(pat, 0, len) : NULL;
	if (nul) {
		evr_seterr(err, errlen, "NUL byte at offset %zu", (size_t)((const char *)nul - pat));
		errno = EINVAL;
		return NULL;
	}
	if (parse(pat, len, &e, err, errlen)) {
		errno = EINVAL;
		return NULL;
	}

	if (e.n_lit == e.n_tok)
		cls = EVR_GLOB_EXACT;
	else if (e.n_star == 1 && e.n_lit + 1 == e.n_tok && e.after_star == e.n_tok)
		cls = EVR_GLOB_PREFIX; /* also "*" alone: prefix "" */
	else if (e.n_star == 1 && e.n_lit + 1 == e.n_tok && e.after_star == 1)
		cls = EVR_GLOB_SUFFIX;
	else
		cls = EVR_GLOB_COMPLEX;

	sets_sz = (size_t)e.n_sets * sizeof(struct byteset);
	tok_sz = (size_t)e.n_tok * sizeof(uint32_t);
	lit_sz = cls == EVR_GLOB_COMPLEX ? 0 : (size_t)e.n_lit + 1;
	g = malloc(sizeof(*g) + sets_sz + tok_sz + len + 1 + lit_sz);
	if (!g) {
		evr_seterr(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	memset(g, 0, sizeof(*g));
	e = (struct emit){
		.sets = (struct byteset *)(void *)g->mem,
		.tok = (uint32_t *)(void *)((char *)g->mem + sets_sz),
	};
	parse(pat, len, &e, NULL, 0); /* same input: cannot fail now */
	text = (char *)g->mem + sets_sz + tok_sz;
	if (len)
		memcpy(text, pat, len);
	text[len] = '\0';

	g->sets = e.sets;
	g->tok = e.tok;
	g->pat = text;
	g->pat_len = (uint32_t)len;
	g->n_tok = e.n_tok;
	g->min_len = e.n_tok - e.n_star;
	g->cls = (uint8_t)cls;
	g->has_star = e.n_star > 0;
	g->head = e.n_tok;
	for (i = 0; i < e.n_tok; i++)
		if (TOK_OP(e.tok[i]) == TOK_STAR) {
			g->head = i;
			break;
		}
	g->tail = e.n_star ? e.n_tok - e.after_star : 0;

	if (cls == EVR_GLOB_COMPLEX) {
		g->lit = text + len; /* "" */
	} else {
		char *lit = text + len + 1;
		uint32_t n = 0;

		for (i = 0; i < e.n_tok; i++)
			if (TOK_OP(e.tok[i]) == TOK_LIT)
				lit[n++] = (char)TOK_ARG(e.tok[i]);
		lit[n] = '\0';
		g->lit = lit;
		g->lit_len = n;
	}
	return g;
}

void evr_glob_free(struct evr_glob *g)
{
	free(g);
}

static inline bool tok_match(const struct evr_glob *g, uint32_t t, unsigned char c)
{
	switch (TOK_OP(t)) {
	case TOK_LIT:
		return TOK_ARG(t) == c;
	case TOK_ANY:
		return true;
	default: /* TOK_SET; never called with TOK_STAR */
		return set_has(&g->sets[TOK_ARG(t)], c);
	}
}

/* Tokens m[0..nm) start and end with STAR (nm >= 3); value v[0..vl). */
static bool match_middle(const struct evr_glob *g, const uint32_t *m, size_t nm,
                         const unsigned char *v, size_t vl)
{
	size_t ti = 0, si = 0, star_t = 0, star_s = 0;

	for (;;) {
		if (TOK_OP(m[ti]) == TOK_STAR) {
			if (ti == nm - 1)
				return true; /* the last star takes the rest */
			star_t = ++ti;
			star_s = si;
		} else if (si < vl && tok_match(g, m[ti], v[si])) {
			ti++;
			si++;
			continue;
		} else {
			/* Let the most recent star take one more byte and
			 * retry the segment after it. */
			if (star_s >= vl)
				return false;
			star_s++;
			ti = star_t;
		}
		/* A segment starting with a literal can only start where
		 * that byte occurs. */
		if (TOK_OP(m[ti]) == TOK_LIT) {
			const unsigned char *q = memchr(v + star_s, (int)TOK_ARG(m[ti]), vl - star_s);

			if (!q)
				return false;
			star_s = (size_t)(q - v);
		}
		si = star_s;
	}
}

static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

bool evr_glob_match(const struct evr_glob *g, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t i, mid;

	if (len < g->min_len)
		return false;
	switch (g->cls) {
	case EVR_GLOB_EXACT:
		return len == g->lit_len && bytes_eq(s, g->lit, len);
	case EVR_GLOB_PREFIX:
		return bytes_eq(s, g->lit, g->lit_len);
	case EVR_GLOB_SUFFIX:
		return g->lit_len == 0 || memcmp(s + len - g->lit_len, g->lit, g->lit_len) == 0;
	default:
		break;
	}
	if (!g->has_star && len != g->n_tok)
		return false;
	for (i = 0; i < g->head; i++)
		if (!tok_match(g, g->tok[i], u[i]))
			return false;
	if (!g->has_star)
		return true;
	for (i = 0; i < g->tail; i++)
		if (!tok_match(g, g->tok[g->n_tok - g->tail + i], u[len - g->tail + i]))
			return false;
	mid = g->n_tok - g->head - g->tail;
	if (mid == 1)
		return true; /* a single star between head and tail */
	return match_middle(g, g->tok + g->head, mid, u + g->head, len - g->head - g->tail);
}

enum evr_glob_class evr_glob_classify(const struct evr_glob *g, const char **lit,
                                      size_t *lit_len)
{
	if (lit)
		*lit = g->lit;
	if (lit_len)
		*lit_len = g->lit_len;
	return (enum evr_glob_class)g->cls;
}

const char *evr_glob_pattern(const struct evr_glob *g)
{
	return g->pat;
}

/* Regex writer: counts everything, stores only what fits (with the NUL). */
struct out {
	char *p;
	size_t cap, n;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->n + n < o->cap)
		memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void put_hex(struct out *o, unsigned c)
{
	char b[4] = {'\\', 'x', evr_hex_digit(c >> 4), evr_hex_digit(c)};

	put(o, b, sizeof(b));
}

/* Bytes put_set writes for the members (or, neg, the non-members). */
static unsigned set_cost(const struct byteset *s, bool neg)
{
	unsigned n = neg ? 3 : 2, c = 0;

	while (c < 256) {
		unsigned lo = c;

		if (set_has(s, c) == neg) {
			c++;
			continue;
		}
		while (c + 1 < 256 && set_has(s, c + 1) != neg)
			c++;
		n += c == lo ? 4 : c == lo + 1 ? 8 : 9;
		c++;
	}
	return n;
}

/* Writes whichever of the set and its complement is shorter: "[!a]" becomes
 * [^\x61]. Either way it is at most 4 bytes per pattern byte of the bracket
 * (the listed members, merged into ranges, negated back if needed), hence
 * the bound in evr_glob.h. A negated class matches '\n' in Hyperscan as in
 * PCRE. */
static void put_set(struct out *o, const struct byteset *s)
{
	bool neg = set_cost(s, true) < set_cost(s, false);
	unsigned c = 0;

	put(o, neg ? "[^" : "[", neg ? 2 : 1);
	while (c < 256) {
		unsigned lo;

		if (set_has(s, c) == neg) {
			c++;
			continue;
		}
		lo = c;
		while (c + 1 < 256 && set_has(s, c + 1) != neg)
			c++;
		put_hex(o, lo);
		if (c > lo + 1)
			put(o, "-", 1);
		if (c > lo)
			put_hex(o, c);
		c++;
	}
	put(o, "]", 1);
}

/* \A and \z rather than ^ and $: Hyperscan's '$' also matches before a
 * final '\n', which a value may end with. */
int evr_glob_to_regex(const struct evr_glob *g, char *out, size_t cap)
{
	struct out o = {out, cap, 0};

	put(&o, "\\A", 2);
	for (uint32_t i = 0; i < g->n_tok; i++) {
		uint32_t t = g->tok[i];

		switch (TOK_OP(t)) {
		case TOK_LIT:
			put_hex(&o, TOK_ARG(t));
			break;
		case TOK_ANY:
			put(&o, ".", 1);
			break;
		case TOK_SET:
			put_set(&o, &g->sets[TOK_ARG(t)]);
			break;
		default:
			put(&o, ".*", 2);
			break;
		}
	}
	put(&o, "\\z", 2);
	if (o.n >= cap || o.n > INT32_MAX) {
		if (cap)
			out[0] = '\0';
		return -ENOSPC;
	}
	out[o.n] = '\0';
	return (int)o.n;
}

unsigned evr_glob_literal_runs(const struct evr_glob *g, evr_glob_run_fn fn, void *ctx)
{
	/* a run is at most the whole pattern; control thread, may allocate */
	char *buf = malloc(g->n_tok + 1);
	unsigned runs = 0;
	size_t n = 0;
	uint32_t start = 0;
	if (!buf)
		return 0;
	for (uint32_t i = 0; i <= g->n_tok; i++) {
		if (i < g->n_tok && TOK_OP(g->tok[i]) == TOK_LIT) {
			if (!n)
				start = i;
			buf[n++] = (char)TOK_ARG(g->tok[i]);
			continue;
		}
		if (n) {
			fn(ctx, buf, n, (start == 0 ? EVR_GLOB_RUN_START : 0u) |
			                (i == g->n_tok ? EVR_GLOB_RUN_END : 0u));
			runs++;
			n = 0;
		}
	}
	free(buf);
	return runs;
}
