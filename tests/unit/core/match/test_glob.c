/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evr_glob against glibc fnmatch(3), flags 0, C locale:
 *  (a) hand cases: every bracket edge case probed on glibc 2.36, each
 *      asserting glibc's answer and ours; classification and literals;
 *      refused patterns with their messages (and what glibc would have done);
 *      regex translation; len-delimited values with NUL bytes.
 *  (b) random differential: >= 1,000,000 (pattern, value) pairs on accepted
 *      patterns, values mostly derived from the pattern so matches are common.
 *  (c) the Hyperscan translation (evr_glob_to_regex) against fnmatch: batches
 *      of 200 patterns per multi-pattern database, >= 200,000 pairs.
 * Seed: fixed, EVR_TEST_SEED overrides (printed, so a failure reproduces).
 */
#include <errno.h>
#include <fnmatch.h>
#include <hs/hs.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>

#include "match/evr_glob.h"
#include "evr_test.h"

static uint64_t rng_state;

/* splitmix64: tiny, seedable, good enough to drive a generator. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void hexdump(const char *what, const char *s, size_t n)
{
	fprintf(stderr, "  %s (%zu bytes):", what, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", (unsigned char)s[i]);
	fputc('\n', stderr);
}

static bool fn(const char *pat, const char *val)
{
	return fnmatch(pat, val, 0) == 0;
}

static struct evr_glob *compile(const char *pat)
{
	char err[160] = "";
	struct evr_glob *g = evr_glob_compile(pat, strlen(pat), err, sizeof(err));

	CHECK_MSG(g, "pattern '%s' refused: %s", pat, err);
	return g;
}

/* ---- (a) hand cases --------------------------------------------------- */

struct hcase {
	const char *pat, *val;
	bool m; /* glibc 2.36's answer, probed */
};

static const struct hcase hand[] = {
	/* basics: '*' and '?' cross '/' and match a leading '.' with flags 0 */
	{"", "", 1}, {"", "a", 0}, {"*", "", 1}, {"*", "/.x", 1}, {"*", ".hidden", 1},
	{"?", "", 0}, {"?", "/", 1}, {"?", ".", 1}, {"?", "\n", 1}, {"a/*", "a/b/c", 1},
	{"a?c", "a/c", 1}, {"a*", "a", 1}, {"*a", "ba", 1}, {"*a", "ab", 0},
	{"*@opensips.org", "bob@opensips.org", 1}, {"*@opensips.org", "bob@opensips.org.", 0},
	{"bob@*", "bob@x", 1}, {"bob@*", "alice@x", 0}, {"bob", "Bob", 0},
	{"a*b*c", "abc", 1}, {"a*b*c", "acb", 0}, {"a*b*c", "aXbYbZc", 1},
	{"a*b*c", "abcbc", 1}, {"a*b*c", "abcb", 0},
	{"*a*a*a*", "aaa", 1}, {"*a*a*a*", "aa", 0}, {"**", "", 1}, {"a**b", "ab", 1},
	{"*?", "", 0}, {"*?", "x", 1}, {"?*?", "ab", 1}, {"?*?", "a", 0},
	{"*ab*ab", "abab", 1}, {"*ab*ab", "aabab", 1}, {"*ab*ab", "abba", 0},
	{"*aab", "aaab", 1}, {"*a?b", "axxayb", 1}, {"a*", "b", 0},
	/* escapes outside brackets */
	{"\\*", "*", 1}, {"\\*", "a", 0}, {"\\?", "?", 1}, {"\\?", "a", 0},
	{"\\[a]", "[a]", 1}, {"\\[a]", "a", 0}, {"\\\\", "\\", 1}, {"\\a", "a", 1},
	{"a\\*b*", "a*bc", 1}, {"a\\*b*", "axbc", 0}, {"\\]", "]", 1},
	/* '-' first or last is a member */
	{"[a-]", "-", 1}, {"[a-]", "a", 1}, {"[a-]", "b", 0},
	{"[-a]", "-", 1}, {"[-a]", "a", 1}, {"[-a]", "b", 0},
	/* ']' first (after negation) is a member and may start a range */
	{"[]]", "]", 1}, {"[]]", "a", 0},
	{"[]-a]", "]", 1}, {"[]-a]", "^", 1}, {"[]-a]", "a", 1}, {"[]-a]", "-", 0},
	{"[]-a]", "b", 0}, {"[]-]", "-", 1}, {"[]-]", "]", 1}, {"[]-]", "a", 0},
	{"[]a-]", "-", 1}, {"[]a-]", "a", 1},
	{"[!]]", "]", 0}, {"[!]]", "a", 1}, {"[^]]", "]", 0}, {"[^]]", "x", 1},
	{"[!]-a]", "_", 0}, {"[!]-a]", "b", 1}, {"[!]-a]", "\\", 1},
	{"[!]a]", "`", 1}, {"[!]a]", "a", 0},
	/* negation: '!' and '^'; a second one is a member */
	{"[!a]", "a", 0}, {"[!a]", "\n", 1}, {"[!a]", "\xff", 1}, {"[^a]", "b", 1},
	{"[!!]", "!", 0}, {"[^!]", "!", 0}, {"[^!]", "^", 1}, {"[!^]", "^", 0},
	{"[!^]", "!", 1}, {"[!-]", "-", 0}, {"[!-]", "a", 1}, {"[!a]", "", 0},
	/* reversed ranges are empty, endpoints included */
	{"[z-ab]", "z", 0}, {"[z-ab]", "a", 0}, {"[z-ab]", "m", 0}, {"[z-ab]", "b", 1},
	{"[a--b]", "b", 1}, {"[a--b]", "-", 0}, {"[a--b]", "a", 0},
	{"[a-\\]b]", "b", 1}, {"[a-\\]b]", "a", 0}, {"[a-\\]b]", "]", 0},
	{"[\xff-ab]", "\xfe", 0}, {"[\xff-ab]", "b", 1},
	/* '\' escapes inside brackets, also as a range start or end */
	{"[\\]]", "]", 1}, {"[\\]]", "\\", 0}, {"[\\\\]", "\\", 1}, {"[\\\\]", "]", 0},
	{"[a\\-z]", "-", 1}, {"[a\\-z]", "b", 0}, {"[a\\-z]", "z", 1},
	{"[\\a-z]", "m", 1}, {"[a-\\z]", "m", 1}, {"[\\]-a]", "^", 1}, {"[\\]-a]", "b", 0},
	{"[A-\\]]", "]", 1}, {"[A-\\]]", "\\", 1}, {"[A-\\]]", "^", 0},
	{"[\\\\-a]", "\\", 1}, {"[\\\\-a]", "`", 1}, {"[\\\\-a]", "[", 0},
	{"[\\\\-\\]]", "]", 1}, {"[+-\\-]", ",", 1}, {"[+-\\-]", "*", 0},
	{"[\\!a]", "!", 1}, {"[\\!a]", "b", 0}, {"[\\^a]", "^", 1},
	/* '[' inside brackets is a member unless followed by ':' '.' '=' */
	{"[[]", "[", 1}, {"[[a]", "a", 1}, {"[[a]", "[", 1}, {"[a[]", "[", 1},
	{"[[-a]", "\\", 1}, {"[[-a]", "Z", 0}, {"[A-[]", "[", 1}, {"[A-[]", "Z", 1},
	{"[A-[]", "\\", 0}, {"[A-[a]", "a", 1}, {"[A-[a]", "b", 0},
	{"[-[]", "[", 1}, {"[[-]", "-", 1},
	/* an escaped '[' or ':' does not open a class: members, then ']' */
	{"[\\[:alpha:]]", "[]", 1}, {"[\\[:alpha:]]", "a]", 1}, {"[\\[:alpha:]]", "b]", 0},
	{"[[\\:alpha:]]", "p]", 1}, {"[[\\:alpha:]]", "a", 0},
	/* '-' around classes: a member, unless it starts a range itself */
	{"[[:alpha:]-z]", "-", 1}, {"[[:alpha:]-z]", "z", 1}, {"[[:alpha:]-z]", "0", 0},
	{"[[:digit:]-z]", "-", 1}, {"[[:digit:]-z]", "z", 1}, {"[[:digit:]-z]", "y", 0},
	{"[[:digit:]--z]", "y", 1}, {"[[:digit:]--z]", ".", 1}, {"[[:digit:]--z]", "{", 0},
	{"[[:digit:]-[:alpha:]]", "-", 1}, {"[[:digit:]-[:alpha:]]", "Q", 1},
	{"[[:digit:]-]", "-", 1}, {"[[:digit:]-]", "1", 1},
	/* chained ranges: after "a-z", '-' is a member (or starts a range) */
	{"[a-z-0]", "-", 1}, {"[a-z-0]", "0", 1}, {"[a-z-0]", "5", 0},
	{"[a-c-e]", "d", 0}, {"[a-c-e]", "-", 1}, {"[a-c-e]", "e", 1},
	{"[--0]", "/", 1}, {"[--0]", ",", 0}, {"[---]", "-", 1}, {"[--]", "-", 1},
	{"[+--]", ",", 1}, {"[+--]", "*", 0},
	/* classes, C locale */
	{"[[:alpha:]]", "Q", 1}, {"[[:alpha:]]", "\xe9", 0}, {"[![:alpha:]]", "\xe9", 1},
	{"[[:digit:]]", "5", 1}, {"[[:digit:]]", "a", 0}, {"[[:alnum:]]", "_", 0},
	{"[[:alnum:]]", "z", 1}, {"[[:upper:]]", "a", 0}, {"[[:upper:]]", "A", 1},
	{"[[:lower:]]", "a", 1}, {"[[:space:]]", "\v", 1}, {"[[:space:]]", "\xa0", 0},
	{"[[:blank:]]", "\t", 1}, {"[[:blank:]]", "\n", 0}, {"[[:punct:]]", "_", 1},
	{"[[:punct:]]", "a", 0}, {"[[:print:]]", " ", 1}, {"[[:graph:]]", " ", 0},
	{"[[:cntrl:]]", "\x7f", 1}, {"[[:cntrl:]]", "\x80", 0}, {"[[:xdigit:]]", "F", 1},
	{"[[:xdigit:]]", "g", 0}, {"[[:alpha:][:digit:]]", "5", 1},
	{"[^[:digit:]]", "5", 0}, {"[[:digit:]a]", "a", 1},
	/* bytes >= 0x80: ranges by byte value, never letters */
	{"[\x80-\xff]", "\xe9", 1}, {"[\x80-\xff]", "a", 0}, {"[a-\xff]", "\xff", 1},
	{"[a-\xff]", "`", 0}, {"\xe9t\xe9", "\xe9t\xe9", 1}, {"\xe9*", "\xe9t\xe9", 1},
	{"?", "\xff", 1}, {"*\xff", "a\xff", 1}, {"[!\x80]", "\x80", 0},
	/* normalised sets: one member is a literal, all 256 is '?' */
	{"[a]", "a", 1}, {"[a]*", "ab", 1}, {"[\\*]", "*", 1},
};

/* Exhaustive over single bytes: the set semantics of each bracket. */
static const char *const bracket_sets[] = {
	"[a-]", "[-a]", "[]-a]", "[!]]", "[]]", "[!]-a]", "[\\]]", "[\\\\]", "[a\\-z]",
	"[\\a-z]", "[a-\\z]", "[A-\\]]", "[[]", "[[a]", "[a[]", "[[-a]", "[A-[]",
	"[[:alpha:]-z]", "[[:digit:]--z]", "[[:digit:]-[:alpha:]]", "[a-z-0]", "[a-c-e]",
	"[--0]", "[---]", "[--]", "[+--]", "[]-]", "[]a-]", "[\\-a]", "[!-]", "[!!]",
	"[^!]", "[!^]", "[+-\\-]", "[\\]-a]", "[\\\\-a]", "[\\\\-\\]]", "[[-\\]]",
	"[\x80-\xff]", "[a-\xff]", "[z-ab]", "[\\[:alpha:]]", "[[\\:alpha:]]",
	"[[:alpha:]]", "[[:digit:]]", "[[:alnum:]]", "[[:upper:]]", "[[:lower:]]",
	"[[:space:]]", "[[:xdigit:]]", "[[:punct:]]", "[[:print:]]", "[[:graph:]]",
	"[[:cntrl:]]", "[[:blank:]]", "[![:alpha:]]", "[![:cntrl:]]", "[^[:print:]]",
	"[![:alpha:]-]", "[[:alpha:][:digit:]]", "[![:graph:][:space:]]",
};

static void test_hand(void)
{
	for (size_t i = 0; i < sizeof(hand) / sizeof(hand[0]); i++) {
		const struct hcase *c = &hand[i];
		struct evr_glob *g = compile(c->pat);

		CHECK_MSG(fn(c->pat, c->val) == c->m, "glibc: '%s' vs '%s'", c->pat, c->val);
		if (g) {
			CHECK_MSG(evr_glob_match(g, c->val, strlen(c->val)) == c->m,
			          "'%s' vs '%s' expected %d", c->pat, c->val, c->m);
			evr_glob_free(g);
		}
	}
	for (size_t i = 0; i < sizeof(bracket_sets) / sizeof(bracket_sets[0]); i++) {
		const char *pat = bracket_sets[i];
		struct evr_glob *g = compile(pat);
		char v[2] = {0};

		if (!g)
			continue;
		for (unsigned c = 1; c < 256; c++) {
			v[0] = (char)c;
			CHECK_MSG(evr_glob_match(g, v, 1) == fn(pat, v), "'%s' vs byte %02x", pat, c);
		}
		evr_glob_free(g);
	}
}

/* Values with NUL bytes: the matcher is length-delimited (fnmatch cannot
 * see these, so the expected answers are by definition). */
static void test_nul_values(void)
{
	static const struct {
		const char *pat, *val;
		size_t len;
		bool m;
	} c[] = {
		{"a?b", "a\0b", 3, 1}, {"*", "\0\0", 2, 1}, {"a*", "a\0", 2, 1},
		{"a", "a\0", 2, 0}, {"*b", "\0b", 2, 1}, {"[!a]", "\0", 1, 1},
		{"*a*b*", "x\0a\0b", 5, 1}, {"[[:cntrl:]]", "\0", 1, 1}, {"", "", 0, 1},
		{"a*", NULL, 0, 0}, {"*", NULL, 0, 1}, {"", NULL, 0, 1}, {"*x", NULL, 0, 0},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_glob *g = compile(c[i].pat);

		if (!g)
			continue;
		CHECK_MSG(evr_glob_match(g, c[i].val, c[i].len) == c[i].m, "case %zu '%s'", i,
		          c[i].pat);
		evr_glob_free(g);
	}
}

static void test_classify(void)
{
	static const struct {
		const char *pat;
		enum evr_glob_class cls;
		const char *lit;
	} c[] = {
		{"", EVR_GLOB_EXACT, ""}, {"abc", EVR_GLOB_EXACT, "abc"},
		{"a\\*b", EVR_GLOB_EXACT, "a*b"}, {"\\\\", EVR_GLOB_EXACT, "\\"},
		{"[a]", EVR_GLOB_EXACT, "a"}, {"x[\\]]", EVR_GLOB_EXACT, "x]"},
		{"\xe9t\xe9", EVR_GLOB_EXACT, "\xe9t\xe9"}, {"[a-a]", EVR_GLOB_EXACT, "a"},
		{"*", EVR_GLOB_PREFIX, ""}, {"**", EVR_GLOB_PREFIX, ""},
		{"bob@*", EVR_GLOB_PREFIX, "bob@"}, {"a\\*b*", EVR_GLOB_PREFIX, "a*b"},
		{"a**", EVR_GLOB_PREFIX, "a"}, {"\xe9*", EVR_GLOB_PREFIX, "\xe9"},
		{"*@x.org", EVR_GLOB_SUFFIX, "@x.org"}, {"**x", EVR_GLOB_SUFFIX, "x"},
		{"*\\*", EVR_GLOB_SUFFIX, "*"}, {"*[.]org", EVR_GLOB_SUFFIX, ".org"},
		{"*a*", EVR_GLOB_COMPLEX, ""}, {"a*b", EVR_GLOB_COMPLEX, ""},
		{"?", EVR_GLOB_COMPLEX, ""}, {"a?", EVR_GLOB_COMPLEX, ""},
		{"[ab]*", EVR_GLOB_COMPLEX, ""}, {"a*?", EVR_GLOB_COMPLEX, ""},
		{"[!a]", EVR_GLOB_COMPLEX, ""}, {"[[:alpha:]]", EVR_GLOB_COMPLEX, ""},
		{"*?", EVR_GLOB_COMPLEX, ""}, {"?*", EVR_GLOB_COMPLEX, ""},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_glob *g = compile(c[i].pat);
		const char *lit = NULL;
		size_t lit_len = 99;

		if (!g)
			continue;
		CHECK_MSG(evr_glob_classify(g, &lit, &lit_len) == c[i].cls, "'%s'", c[i].pat);
		CHECK(lit != NULL);
		if (lit)
			CHECK_EQ_VIEW(lit, lit_len, c[i].lit);
		CHECK_EQ_STR(evr_glob_pattern(g), c[i].pat);
		evr_glob_free(g);
	}
}

/* Literal runs and where they must sit: "S" prefix, "E" suffix, "SE" both. */
static void run_cat(void *ctx, const char *run, size_t len, unsigned flags)
{
	char *out = ctx;
	size_t o = strlen(out);
	snprintf(out + o, 256 - o, "%s%.*s/%s%s", o ? " " : "", (int)len, run,
	         flags & EVR_GLOB_RUN_START ? "S" : "", flags & EVR_GLOB_RUN_END ? "E" : "");
}

static void test_literal_runs(void)
{
	static const struct {
		const char *pat;
		unsigned runs;
		const char *want;
	} c[] = {
		{"user123456?@domain01.example.com", 2, "user123456/S @domain01.example.com/E"},
		{"*1234567@*.example.com", 2, "1234567@/ .example.com/E"},
		{"u?er1234567@*", 2, "u/S er1234567@/"},
		{"sip:user1@198.51.*:*", 2, "sip:user1@198.51./S :/"},
		{"a[0-9]b\\*c", 2, "a/S b*c/E"},
		{"*a*", 1, "a/"},
		{"[ab]?*", 0, ""},
		{"x[y]z?", 1, "xyz/S"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_glob *g = compile(c[i].pat);
		char out[256] = "";
		if (!g)
			continue;
		CHECK_EQ_INT(evr_glob_literal_runs(g, run_cat, out), c[i].runs);
		CHECK_MSG(!strcmp(out, c[i].want), "'%s': runs '%s', want '%s'", c[i].pat, out,
		          c[i].want);
		evr_glob_free(g);
	}
}

static void test_refused(void)
{
	static const struct {
		const char *pat;
		const char *msg;
	} c[] = {
		{"[", "unterminated '[' at offset 0"},
		{"ab[c", "unterminated '[' at offset 2"},
		{"[]", "unterminated '[' at offset 0"},
		{"[!]", "unterminated '[' at offset 0"},
		{"x[\\]", "unterminated '[' at offset 1"},
		{"[a-", "unterminated '[' at offset 0"},
		{"[a-\\", "unterminated '[' at offset 0"},
		{"[a\\", "unterminated '[' at offset 0"},
		{"[a-]x[b", "unterminated '[' at offset 5"},
		{"[[:alpha:]", "unterminated '[' at offset 0"},
		{"\\", "trailing '\\' at offset 0"},
		{"ab\\", "trailing '\\' at offset 2"},
		{"a\\\\\\", "trailing '\\' at offset 3"},
		{"[[=a=]]", "equivalence class '[=' at offset 1 not supported"},
		{"[[=]", "equivalence class '[=' at offset 1 not supported"},
		{"[[.a.]]", "collating symbol '[.' at offset 1 not supported"},
		{"[x[.]", "collating symbol '[.' at offset 2 not supported"},
		{"[[:foo:]]", "unknown character class '[:foo:]' at offset 1"},
		{"[[::]]", "unknown character class '[::]' at offset 1"},
		{"[[:ALPHA:]]", "'[:' at offset 1 does not start a character class "
		                "(write '\\[' for a literal '[')"},
		{"[[:]", "'[:' at offset 1 does not start a character class "
		         "(write '\\[' for a literal '[')"},
		{"[[:alpha]", "'[:' at offset 1 does not start a character class "
		              "(write '\\[' for a literal '[')"},
		{"[[:alpha\\:]]", "'[:' at offset 1 does not start a character class "
		                  "(write '\\[' for a literal '[')"},
		{"[a-[:alpha:]]", "range at offset 1 ends in '[:' (write '\\[' for a literal '[')"},
		{"[A-[.z.]]", "range at offset 1 ends in '[.' (write '\\[' for a literal '[')"},
		{"[A-[=z=]]", "range at offset 1 ends in '[=' (write '\\[' for a literal '[')"},
		{"[z-a]", "bracket expression at offset 0 matches no character"},
		{"ab[\xff-\x80]", "bracket expression at offset 2 matches no character"},
		{"[![:cntrl:][:print:]\x80-\xff]",
		 "bracket expression at offset 0 matches no character"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char err[160] = "";
		struct evr_glob *g;

		errno = 0;
		g = evr_glob_compile(c[i].pat, strlen(c[i].pat), err, sizeof(err));
		CHECK_MSG(!g, "'%s' accepted", c[i].pat);
		CHECK_EQ_INT(errno, EINVAL);
		CHECK_EQ_STR(err, c[i].msg);
		evr_glob_free(g);
	}

	/* NUL inside the pattern, a tiny error buffer, and no buffer at all */
	{
		char err[160] = "", tiny[8];

		CHECK(!evr_glob_compile("a\0b", 3, err, sizeof(err)));
		CHECK_EQ_STR(err, "NUL byte at offset 1");
		CHECK(!evr_glob_compile("[", 1, tiny, sizeof(tiny)));
		CHECK_EQ_STR(tiny, "untermi");
		CHECK(!evr_glob_compile("[", 1, NULL, 0));
	}

	/* Why they are refused: what glibc would silently do instead. */
	CHECK(fn("[ab", "[ab"));                    /* unterminated: literal '[' */
	CHECK(fn("[]", "[]") && fn("[!]", "[!]"));
	CHECK(fn("[\\]", "[]"));
	CHECK(!fn("\\", "\\") && !fn("ab\\", "ab\\")); /* trailing '\': never */
	CHECK(fn("[[:alpha:]", "[a"));               /* literal '[' then a class */
	CHECK(!fn("[[:foo:]]", "f") && !fn("[[:foo:]]", "[]")); /* unknown: never */
	CHECK(!fn("[[::]]", ":") && !fn("[[::]]", "[]"));
	CHECK(fn("[[:ALPHA:]]", "[]") && !fn("[[:ALPHA:]]", "A")); /* members + ']' */
	CHECK(fn("[[:z:]]", "z]") && fn("[[:alphaz:]]", "a]")); /* 'z' breaks a name */
	CHECK(fn("[[:alpha]", "h") && fn("[[:]", ":"));
	CHECK(fn("[a-[:alpha:]]", "a]") && !fn("[a-[:alpha:]]", "b")); /* ends early */
	CHECK(fn("[A-[=z=]]", "[]") && !fn("[A-[=z=]]", "B"));
	CHECK(fn("[A-[.z.]]", "m") && fn("[[.a.]]", "a") && fn("[[=a=]]", "a"));
	CHECK(!fn("[[.]", ".") && !fn("[[.]", "["));   /* malformed: never */
	CHECK(fn("[[=]", "=") && fn("[[=]", "["));     /* ...but this one: members */
	for (unsigned b = 1; b < 256; b++) {           /* empty sets never match */
		char v[2] = {(char)b, 0};

		CHECK(!fn("[z-a]", v));
	}
}

static void test_regex_text(void)
{
	static const struct {
		const char *pat, *re;
	} c[] = {
		{"", "\\A\\z"},
		{"a", "\\A\\x61\\z"},
		{"*", "\\A.*\\z"},
		{"**a", "\\A.*\\x61\\z"},
		{"a?*", "\\A\\x61..*\\z"},
		{"[a-c]", "\\A[\\x61-\\x63]\\z"},
		{"[ab]", "\\A[\\x61\\x62]\\z"},
		{"[!a]", "\\A[^\\x61]\\z"},
		{"[!a-c]x", "\\A[^\\x61-\\x63]\\x78\\z"},
		{"[\x80-\xff]", "\\A[\\x80-\\xff]\\z"},
		{"[!\x80-\xff]", "\\A[\\x00-\\x7f]\\z"}, /* a tie: not negated */
		{"[[:digit:]x]", "\\A[\\x30-\\x39\\x78]\\z"},
		{"[[:space:]]", "\\A[\\x09-\\x0d\\x20]\\z"},
		{"\\*\\\\\n", "\\A\\x2a\\x5c\\x0a\\z"},
		{"[a]", "\\A\\x61\\z"},
		/* the complement is chosen by written length, not by range count */
		{"a[!0z\xff" "a-t]", "\\A\\x61[^\\x30\\x61-\\x74\\x7a\\xff]\\z"},
		{"[!^\xff-]", "\\A[^\\x2d\\x5e\\xff]\\z"},
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct evr_glob *g = compile(c[i].pat);
		int n;

		if (!g)
			continue;
		n = evr_glob_to_regex(g, buf, sizeof(buf));
		CHECK_EQ_INT(n, strlen(c[i].re));
		CHECK_EQ_STR(buf, c[i].re);
		/* exact fit needs room for the NUL */
		CHECK_EQ_INT(evr_glob_to_regex(g, buf, strlen(c[i].re) + 1), n);
		CHECK_EQ_INT(evr_glob_to_regex(g, buf, strlen(c[i].re)), -ENOSPC);
		CHECK_EQ_INT(evr_glob_to_regex(g, NULL, 0), -ENOSPC);
		evr_glob_free(g);
	}
}

/* ---- random patterns and values ---------------------------------------- */

#define PAT_MAX 96
#define VAL_MAX 64

static const char soup[] = "ab/.\\-]![^*?:";
static const char vchars[] = "ab/.\\-]![^*?:zA0 \n";
static const unsigned char high[] = {0x80, 0xe9, 0xff};

static char rnd_vchar(void)
{
	if (rn(10) == 0)
		return (char)high[rn(sizeof(high))];
	return vchars[rn(sizeof(vchars) - 1)];
}

static char rnd_soup(void)
{
	if (rn(12) == 0)
		return (char)high[rn(sizeof(high))];
	return soup[rn(sizeof(soup) - 1)];
}

/* A member or range endpoint for a bracket: the characters that matter. */
static char rnd_bchar(void)
{
	static const char b[] = "ab-]^!\\[:z0";

	if (rn(10) == 0)
		return (char)high[rn(sizeof(high))];
	return b[rn(sizeof(b) - 1)];
}

static size_t put_c(char *p, size_t n, char c)
{
	if (n < PAT_MAX)
		p[n++] = c;
	return n;
}

static size_t put_s(char *p, size_t n, const char *s)
{
	while (*s)
		n = put_c(p, n, *s++);
	return n;
}

static const char *const classes[] = {
	"[:alpha:]", "[:digit:]", "[:alnum:]", "[:upper:]", "[:lower:]", "[:space:]",
	"[:xdigit:]", "[:punct:]", "[:print:]", "[:graph:]", "[:cntrl:]", "[:blank:]",
};

static size_t gen_bracket(char *p, size_t n)
{
	unsigned items = 1 + rn(4);

	n = put_c(p, n, '[');
	if (rn(10) < 4)
		n = put_c(p, n, rn(2) ? '!' : '^');
	if (rn(5) == 0)
		n = put_c(p, n, ']');
	for (unsigned i = 0; i < items; i++) {
		switch (rn(8)) {
		case 0: /* class */
			n = put_s(p, n, classes[rn(12)]);
			break;
		case 1: /* escaped member */
			n = put_c(p, n, '\\');
			n = put_c(p, n, rnd_bchar());
			break;
		case 2:
		case 3: /* range, sometimes with escaped ends */
			if (rn(4) == 0)
				n = put_c(p, n, '\\');
			n = put_c(p, n, rnd_bchar());
			n = put_c(p, n, '-');
			if (rn(4) == 0)
				n = put_c(p, n, '\\');
			n = put_c(p, n, rnd_bchar());
			break;
		case 4: /* a plausible letter range */
			n = put_c(p, n, (char)('a' + rn(3)));
			n = put_c(p, n, '-');
			n = put_c(p, n, (char)('a' + rn(26)));
			break;
		default:
			n = put_c(p, n, rnd_bchar());
			break;
		}
	}
	if (rn(10) == 0)
		n = put_c(p, n, '-');
	if (rn(30) != 0)
		n = put_c(p, n, ']');
	return n;
}

static size_t gen_pattern(char *p)
{
	size_t n = 0;

	if (rn(10) < 3) { /* raw soup: finds what structure would not */
		unsigned len = rn(9);

		for (unsigned i = 0; i < len; i++)
			n = put_c(p, n, rn(8) == 0 ? '[' : rnd_soup());
	} else {
		unsigned elems = rn(7);

		for (unsigned i = 0; i < elems; i++) {
			unsigned k = rn(20);

			if (k < 7) {
				n = put_c(p, n, rnd_soup() == '[' ? 'a' : rnd_vchar());
			} else if (k < 9) {
				n = put_c(p, n, '\\');
				n = put_c(p, n, rnd_soup());
			} else if (k < 11) {
				n = put_c(p, n, '?');
			} else if (k < 14) {
				n = put_c(p, n, '*');
			} else {
				n = gen_bracket(p, n);
			}
		}
	}
	p[n] = '\0';
	return n;
}

/* Loose reading of the pattern, producing a value that often matches it;
 * exactness does not matter, fnmatch is the judge. */
static size_t expand(const char *p, size_t plen, char *v)
{
	size_t n = 0, i = 0;

	while (i < plen && n < VAL_MAX - 4) {
		char c = p[i];

		if (c == '*') {
			for (unsigned k = rn(4); k; k--)
				v[n++] = rnd_vchar();
			i++;
		} else if (c == '?') {
			v[n++] = rnd_vchar();
			i++;
		} else if (c == '\\' && i + 1 < plen) {
			v[n++] = p[i + 1];
			i += 2;
		} else if (c == '[') {
			size_t j = i + 1, start;
			bool neg = false;

			if (j < plen && (p[j] == '!' || p[j] == '^')) {
				neg = true;
				j++;
			}
			start = j;
			if (j < plen && p[j] == ']')
				j++;
			while (j < plen && p[j] != ']')
				j++;
			if (j >= plen) {
				v[n++] = '[';
				i++;
				continue;
			}
			if (neg || j == start)
				v[n++] = rnd_vchar();
			else
				v[n++] = p[start + rn((unsigned)(j - start))];
			i = j + 1;
		} else {
			v[n++] = c;
			i++;
		}
	}
	return n;
}

static size_t gen_value(const char *p, size_t plen, char *v)
{
	size_t n;

	if (rn(2)) {
		n = expand(p, plen, v);
		if (rn(2)) { /* mutate */
			unsigned pos = n ? rn((unsigned)n) : 0;

			switch (rn(3)) {
			case 0:
				if (n) {
					memmove(v + pos, v + pos + 1, n - pos - 1);
					n--;
				}
				break;
			case 1:
				memmove(v + pos + 1, v + pos, n - pos);
				v[pos] = rnd_vchar();
				n++;
				break;
			default:
				if (n)
					v[pos] = rnd_vchar();
				break;
			}
		}
	} else if (rn(4)) {
		n = rn(9);
		for (size_t i = 0; i < n; i++)
			v[i] = rnd_vchar();
	} else { /* long runs over a tiny alphabet: star backtracking */
		n = rn(32);
		for (size_t i = 0; i < n; i++)
			v[i] = "ab"[rn(2)];
	}
	v[n] = '\0';
	return n;
}

/* The class literal must agree with the matcher (evr_filter_value_match
 * relies on it). */
static bool class_agrees(const struct evr_glob *g, const char *v, size_t n, bool m)
{
	const char *lit;
	size_t ll;

	switch (evr_glob_classify(g, &lit, &ll)) {
	case EVR_GLOB_EXACT:
		return m == (n == ll && memcmp(v, lit, n) == 0);
	case EVR_GLOB_PREFIX:
		return m == (n >= ll && memcmp(v, lit, ll) == 0);
	case EVR_GLOB_SUFFIX:
		return m == (n >= ll && memcmp(v + n - ll, lit, ll) == 0);
	default:
		return true;
	}
}

static void test_differential(uint64_t seed)
{
	const uint64_t want = 1000000;
	uint64_t pairs = 0, matches = 0, mismatches = 0, refused = 0, patterns = 0;
	char p[PAT_MAX + 1], v[VAL_MAX + 1];

	rng_state = seed;
	while (pairs < want) {
		size_t plen = gen_pattern(p);
		struct evr_glob *g = evr_glob_compile(p, plen, NULL, 0);

		if (!g) {
			refused++;
			continue;
		}
		patterns++;
		{
			static char re[4 * PAT_MAX + 8];
			int rc = evr_glob_to_regex(g, re, sizeof(re));

			CHECK_MSG(rc >= 0 && (size_t)rc <= 4 * plen + 4, "to_regex: %d", rc);
		}
		for (unsigned k = 0; k < 16; k++) {
			size_t vlen = gen_value(p, plen, v);
			bool want_m = fn(p, v), got = evr_glob_match(g, v, vlen);

			pairs++;
			matches += want_m;
			if (got != want_m || !class_agrees(g, v, vlen, want_m)) {
				if (mismatches++ < 20) {
					fprintf(stderr, "glob mismatch: fnmatch %d evr %d\n", want_m, got);
					hexdump("pattern", p, plen);
					hexdump("value", v, vlen);
				}
			}
		}
		evr_glob_free(g);
	}
	printf("glob differential: %" PRIu64 " pairs (%" PRIu64 " patterns, %" PRIu64
	       " refused), %" PRIu64 " matches, %" PRIu64 " mismatches\n",
	       pairs, patterns, refused, matches, mismatches);
	CHECK_EQ_INT(mismatches, 0);
	CHECK(matches > pairs / 5); /* the generator must really exercise matches */
}

/* ---- (c) Hyperscan translation ------------------------------------------ */

#define HS_BATCH  200
#define HS_VALUES 100

struct hits {
	uint8_t id[HS_BATCH];
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
                    unsigned flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	((struct hits *)ctx)->id[id] = 1;
	return 0;
}

static void test_hyperscan(uint64_t seed)
{
	const uint64_t want = 200000;
	uint64_t pairs = 0, matches = 0, mismatches = 0, batches = 0;
	static char pats[HS_BATCH][PAT_MAX + 1], vals[HS_VALUES][VAL_MAX + 1];
	static char regex[HS_BATCH][4096];
	size_t plen[HS_BATCH], vlen[HS_VALUES];
	const char *exprs[HS_BATCH];
	unsigned flags[HS_BATCH], ids[HS_BATCH];
	struct evr_glob *globs[HS_BATCH];
	hs_scratch_t *scratch = NULL;

	rng_state = seed ^ 0x4859505253434e31ull;
	while (pairs < want) {
		hs_database_t *db = NULL;
		hs_compile_error_t *ce = NULL;
		unsigned n = 0;
		int rc;

		while (n < HS_BATCH) {
			plen[n] = gen_pattern(pats[n]);
			globs[n] = evr_glob_compile(pats[n], plen[n], NULL, 0);
			if (!globs[n])
				continue;
			rc = evr_glob_to_regex(globs[n], regex[n], sizeof(regex[n]));
			/* the documented size bound */
			if (rc < 0 || (size_t)rc > 4 * plen[n] + 4) {
				CHECK_MSG(0, "to_regex: %d", rc);
				hexdump("pattern", pats[n], plen[n]);
				evr_glob_free(globs[n]);
				continue;
			}
			exprs[n] = regex[n];
			flags[n] = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH;
			ids[n] = n;
			n++;
		}
		if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, &db, &ce) !=
		    HS_SUCCESS) {
			CHECK_MSG(0, "hs_compile_multi: %s (expression %d: %s)", ce->message,
			          ce->expression,
			          ce->expression >= 0 ? exprs[ce->expression] : "-");
			hs_free_compile_error(ce);
			for (unsigned i = 0; i < n; i++)
				evr_glob_free(globs[i]);
			break;
		}
		if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
			CHECK_MSG(0, "hs_alloc_scratch");
			hs_free_database(db);
			for (unsigned i = 0; i < n; i++)
				evr_glob_free(globs[i]);
			break;
		}

		for (unsigned k = 0; k < HS_VALUES; k++) {
			if (k == 0) {
				vlen[k] = 0; /* empty values: "*" matches, through Hyperscan too */
				vals[k][0] = '\0';
			} else {
				unsigned src = rn(n);

				vlen[k] = gen_value(pats[src], plen[src], vals[k]);
			}
		}
		for (unsigned k = 0; k < HS_VALUES; k++) {
			struct hits h;

			memset(&h, 0, sizeof(h));
			/* hs_scan wants a non-NULL buffer even for length 0 */
			if (hs_scan(db, vals[k], (unsigned)vlen[k], 0, scratch, on_match, &h) !=
			    HS_SUCCESS) {
				CHECK_MSG(0, "hs_scan failed");
				continue;
			}
			for (unsigned i = 0; i < n; i++) {
				bool want_m = fn(pats[i], vals[k]);
				bool ev = evr_glob_match(globs[i], vals[k], vlen[k]);

				pairs++;
				matches += want_m;
				if (h.id[i] != want_m || ev != want_m) {
					if (mismatches++ < 20) {
						fprintf(stderr,
						        "hyperscan mismatch: fnmatch %d hs %d evr %d regex %s\n",
						        want_m, h.id[i], ev, regex[i]);
						hexdump("pattern", pats[i], plen[i]);
						hexdump("value", vals[k], vlen[k]);
					}
				}
			}
		}
		for (unsigned i = 0; i < n; i++)
			evr_glob_free(globs[i]);
		hs_free_database(db);
		batches++;
	}
	hs_free_scratch(scratch);
	printf("hyperscan differential: %" PRIu64 " pairs (%" PRIu64 " databases of %d), %" PRIu64
	       " matches, %" PRIu64 " mismatches\n",
	       pairs, batches, HS_BATCH, matches, mismatches);
	CHECK(pairs >= want);
	CHECK_EQ_INT(mismatches, 0);
	CHECK(matches > pairs / 100);
}

/* Patterns that match the empty value compile without HS_FLAG_ALLOWEMPTY
 * (they are anchored) and report on a 0-length scan of a non-NULL buffer. */
static void test_hyperscan_empty(void)
{
	static const char *const pats[] = {"", "*", "**", "?", "*?", "a*", "[!a]*", "\\*"};
	enum { N = sizeof(pats) / sizeof(pats[0]) };
	char regex[N][64];
	const char *exprs[N];
	unsigned flags[N], ids[N];
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	hs_scratch_t *scratch = NULL;
	struct hits h;

	for (unsigned i = 0; i < N; i++) {
		struct evr_glob *g = compile(pats[i]);

		if (!g)
			return;
		CHECK(evr_glob_to_regex(g, regex[i], sizeof(regex[i])) > 0);
		evr_glob_free(g);
		exprs[i] = regex[i];
		flags[i] = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH;
		ids[i] = i;
	}
	if (hs_compile_multi(exprs, flags, ids, N, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
		CHECK_MSG(0, "hs_compile_multi: %s", ce->message);
		hs_free_compile_error(ce);
		return;
	}
	CHECK(hs_alloc_scratch(db, &scratch) == HS_SUCCESS);
	memset(&h, 0, sizeof(h));
	CHECK(hs_scan(db, "", 0, 0, scratch, on_match, &h) == HS_SUCCESS);
	for (unsigned i = 0; i < N; i++)
		CHECK_MSG(h.id[i] == fn(pats[i], ""), "'%s' on the empty value", pats[i]);
	CHECK(h.id[0] && h.id[1] && h.id[2] && !h.id[3]);
	/* a NULL buffer is refused even for length 0: callers pass "" */
	CHECK(hs_scan(db, NULL, 0, 0, scratch, on_match, &h) == HS_INVALID);
	hs_free_scratch(scratch);
	hs_free_database(db);
}

int main(void)
{
	const char *env = getenv("EVR_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x65767220676c6f62ull;

	setlocale(LC_ALL, "C"); /* the contract is the C locale */
	printf("seed 0x%" PRIx64 " (EVR_TEST_SEED overrides)\n", seed);
	test_hand();
	test_nul_values();
	test_classify();
	test_literal_runs();
	test_refused();
	test_regex_text();
	test_differential(seed);
	test_hyperscan_empty();
	test_hyperscan(seed);
	EVR_TEST_DONE();
}
