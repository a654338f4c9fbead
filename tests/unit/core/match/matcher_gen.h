/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared random generator for the matcher tests (test_matcher_diff.c,
 * test_matcher_rcu.c).
 *
 * - a seeded RNG (EVR_TEST_SEED overrides the default seed);
 * - hand-built events (struct evr_event over a fixed buffer, every view
 *   NUL-terminated as evr_event.h requires);
 * - subscription specs drawn from small pools (event names, subclasses,
 *   attribute keys, user/domain parts, destinations) so that random events
 *   hit random subscriptions often; filter values cover exact values,
 *   prefix/suffix/infix globs, '?', brackets (ranges, negation, classes),
 *   escapes and "*" alone, and remember how to build a matching value;
 * - a reference predicate over a spec written from the contract (evr_sub.h,
 *   seed 001) with the C library's fnmatch(3): independent of both matcher
 *   backends and of evr_glob.
 *
 * Everything is static inline so that each test uses only what it needs
 * without unused-function warnings.
 */
#ifndef EVR_TEST_MATCHER_GEN_H
#define EVR_TEST_MATCHER_GEN_H

#include <ctype.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/evr_matcher.h"

/* ---- RNG (splitmix64) -------------------------------------------------- */

struct mg_rng {
	uint64_t s;
};

static inline uint64_t mg_next(struct mg_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint32_t mg_below(struct mg_rng *r, uint32_t n)
{
	return (uint32_t)(((mg_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline bool mg_pct(struct mg_rng *r, unsigned pct)
{
	return mg_below(r, 100) < pct;
}

/* Unsigned value from the environment (decimal or 0x..), or dflt. */
static inline uint64_t mg_env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	unsigned long long x = strtoull(v, &end, 0);
	return *end ? dflt : (uint64_t)x;
}

static inline uint64_t mg_fnv(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- bounded string builder -------------------------------------------- */

struct mg_buf {
	char *p;
	size_t cap, len;
	bool overflow;
};

static inline void mg_buf_init(struct mg_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
	p[0] = '\0';
}

static inline void mg_putc(struct mg_buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	} else {
		b->overflow = true;
	}
}

static inline void mg_putn(struct mg_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mg_putc(b, s[i]);
}

static inline void mg_puts(struct mg_buf *b, const char *s)
{
	mg_putn(b, s, strlen(s));
}

/* Append s with glob metacharacters escaped, so the pattern is literal. */
static inline void mg_put_escaped(struct mg_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr("*?[]\\", s[i]))
			mg_putc(b, '\\');
		mg_putc(b, s[i]);
	}
}

static inline void mg_lower(char *dst, const char *src, size_t cap)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* Copy src in a random letter case: as is, lower, upper or mixed. */
static inline void mg_randcase(struct mg_rng *r, char *dst, const char *src,
                               size_t cap)
{
	unsigned mode = mg_below(r, 10);
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++) {
		int c = (unsigned char)src[i];
		if (mode >= 4 && mode < 6)
			c = tolower(c);
		else if (mode >= 6 && mode < 8)
			c = toupper(c);
		else if (mode >= 8)
			c = mg_pct(r, 50) ? toupper(c) : tolower(c);
		dst[i] = (char)c;
	}
	dst[i] = '\0';
}

/* ---- pools --------------------------------------------------------------- */

#define MG_N_NAMES 5u
static inline const char *mg_pool_name(unsigned i)
{
	static const char *const v[MG_N_NAMES] = {
		"E_UL_AOR_INSERT", "E_UL_CONTACT_INSERT", "E_CALL_PICKUP",
		"CHANNEL_CREATE", "HEARTBEAT",
	};
	return v[i % MG_N_NAMES];
}

#define MG_N_SUBCLASSES 4u
static inline const char *mg_pool_subclass(unsigned i)
{
	static const char *const v[MG_N_SUBCLASSES] = {
		"sofia::register", "sofia::unregister", "callcenter::info",
		"conference::maintenance",
	};
	return v[i % MG_N_SUBCLASSES];
}

/* Attribute keys that filters use. */
#define MG_N_KEYS 6u
static inline const char *mg_pool_key(unsigned i)
{
	static const char *const v[MG_N_KEYS] = {
		"aor", "contact", "user", "domain", "group", "Caller-Username",
	};
	return v[i % MG_N_KEYS];
}

/* Attribute keys no filter uses. */
#define MG_N_OTHER_KEYS 3u
static inline const char *mg_pool_other_key(unsigned i)
{
	static const char *const v[MG_N_OTHER_KEYS] = {
		"Core-UUID", "Event-Date-Local", "x-other",
	};
	return v[i % MG_N_OTHER_KEYS];
}

#define MG_N_USERS 15u
static inline const char *mg_pool_user(unsigned i)
{
	static const char *const v[MG_N_USERS] = {
		"user1", "user12", "user123", "user2", "bob", "bobby", "alice",
		"carol", "u5er7", "a*b", "x?y", "[w]", "a=b", "b\\s", "Bob",
	};
	return v[i % MG_N_USERS];
}

#define MG_N_DOMAINS 6u
static inline const char *mg_pool_domain(unsigned i)
{
	static const char *const v[MG_N_DOMAINS] = {
		"d1.example", "d2.example", "d3.example", "x.com", "sub.x.com",
		"opensips.org",
	};
	return v[i % MG_N_DOMAINS];
}

#define MG_N_DESTS 10u
static inline void mg_dest(unsigned i, char *out, size_t cap)
{
	snprintf(out, cap, "udp:127.0.0.1:%u", 9000u + i % MG_N_DESTS);
}

/* A value from the grammar the patterns are built around. */
static inline void mg_gen_value(struct mg_rng *r, struct mg_buf *b)
{
	static const char rnd[] = "abcz0189@._-:*?[]\\!^= ";
	unsigned k = mg_below(r, 100);
	if (k < 55) {
		mg_puts(b, mg_pool_user(mg_below(r, MG_N_USERS)));
		mg_putc(b, '@');
		mg_puts(b, mg_pool_domain(mg_below(r, MG_N_DOMAINS)));
	} else if (k < 70) {
		mg_puts(b, mg_pool_user(mg_below(r, MG_N_USERS)));
	} else if (k < 80) {
		mg_puts(b, mg_pool_domain(mg_below(r, MG_N_DOMAINS)));
	} else if (k < 90) {
		char d[12];
		snprintf(d, sizeof d, "%u", 1 + mg_below(r, 20));
		mg_puts(b, d);
	} else if (k < 93) {
		/* empty value */
	} else {
		unsigned n = 1 + mg_below(r, 10);
		for (unsigned i = 0; i < n; i++)
			mg_putc(b, rnd[mg_below(r, sizeof rnd - 1)]);
	}
}

/* ---- filter value patterns ----------------------------------------------- */

enum mg_pat_kind {
	MG_PAT_EXACT = 0, /* escaped literal */
	MG_PAT_PREFIX,    /* lit*            */
	MG_PAT_SUFFIX,    /* *lit            */
	MG_PAT_INFIX,     /* *lit*           */
	MG_PAT_STAR,      /* "*"             */
	MG_PAT_MUTATED,   /* src with ?, *, brackets substituted */
	MG_PAT_TEMPLATE,  /* fixed multi-wildcard patterns */
};

#define MG_PAT_MAX 128
#define MG_LIT_MAX 48

struct mg_pat {
	char pat[MG_PAT_MAX];
	char lit[MG_LIT_MAX]; /* literal part (EXACT/PREFIX/SUFFIX/INFIX) */
	char src[MG_LIT_MAX]; /* a value known to match (MUTATED/TEMPLATE) */
	uint8_t kind;
	bool has_src;
};

static inline void mg_pat_template(struct mg_rng *r, struct mg_pat *p)
{
	/* pattern, a value it matches (or NULL) */
	static const char *const t[][2] = {
		{"u?er[0-9]*@*.com", "user1@x.com"},
		{"[!a]*", "bob"},
		{"[^a]*", "carol@d1.example"},
		{"user[12]*", "user12@d1.example"},
		{"*@d[1-3].example", "bob@d2.example"},
		{"[[:alpha:]]*", "alice"},
		{"?*", "x"},
		{"*.example", "carol@d3.example"},
		{"[]ab]*", "bob"},
		{"[!]]*", "alice"},
		{"*a*b*", "a*b"},
		{"[a-c]?b*", "a*b"},
		{"*\\**", "a*b@x.com"},
		{"*\\?*", "x?y"},
		{"\\[w\\]*", "[w]@x.com"},
		{"*[[:digit:]]", "user1"},
		{"bob*@*", "bobby@sub.x.com"},
		{"*@*", "bob@x.com"},
		{"**", ""},
		{"user1[!0-9]*", "user1@d1.example"},
		{"[[:upper:]]*", "Bob"},
		{"*[[:space:]]*", NULL},
		{"*b\\\\s*", "b\\s@x.com"},
		{"*bob*", "bobby@x.com"},
		{"[a-z][a-z]*[.]com", "alice@x.com"},
		{"?", "1"},
		{"??", "12"},
		{"*=*", "a=b"},
		{"[[:alnum:]_]*@opensips.org", "u5er7@opensips.org"},
		{"*[!@]", "d1.example"},
		/* literal runs of >= 8 bytes: the hybrid's substring index,
		 * including values that repeat the indexed substring */
		{"*aaaaaaaa*", "aaaaaaaaaaaaaaaa"},
		{"user123?@d1.exampl?", "user1234@d1.example"},
		{"?ser123@d[1-3].example", "user123@d2.example"},
		{"*@sub.x.co[m]", "bobby@sub.x.com"},
		{"*bobby@sub*", "bobby@sub.x.com"},
	};
	unsigned i = mg_below(r, sizeof t / sizeof t[0]);
	snprintf(p->pat, sizeof p->pat, "%s", t[i][0]);
	p->has_src = t[i][1] != NULL;
	snprintf(p->src, sizeof p->src, "%s", t[i][1] ? t[i][1] : "");
	p->kind = MG_PAT_TEMPLATE;
}

/* Substitute some characters of v with wildcards that still match them. */
static inline bool mg_pat_mutate(struct mg_rng *r, struct mg_pat *p,
                                 const char *v)
{
	static const char alnum[] = "abcxyz0123456789";
	struct mg_buf b;
	size_t n = strlen(v);
	bool wild = false;
	if (n == 0)
		return false;
	mg_buf_init(&b, p->pat, sizeof p->pat);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		unsigned k = mg_below(r, 100);
		if (k < 5) {
			mg_putc(&b, '*'); /* insert, keep c */
			wild = true;
			k = 100;
		}
		if (k < 13) {
			mg_putc(&b, '?');
			wild = true;
		} else if (k < 17) {
			mg_putc(&b, '*');
			wild = true;
		} else if (k < 27 && isalnum(c)) {
			char d = alnum[mg_below(r, sizeof alnum - 1)];
			char tmp[32];
			switch (mg_below(r, 6)) {
			case 0:
				snprintf(tmp, sizeof tmp, "[%c%c]", d, c);
				break;
			case 1:
				if (d == (char)c)
					d = c == 'a' ? 'b' : 'a';
				snprintf(tmp, sizeof tmp, "[%s%c]",
				         mg_pct(r, 50) ? "!" : "^", d);
				break;
			case 2:
				snprintf(tmp, sizeof tmp, "%s",
				         isdigit(c) ? "[0-9]"
				         : islower(c) ? "[a-z]" : "[A-Z]");
				break;
			case 3:
				snprintf(tmp, sizeof tmp, "%s",
				         isdigit(c) ? "[[:digit:]]" : "[[:alpha:]]");
				break;
			case 4:
				snprintf(tmp, sizeof tmp, "[[:alnum:]]");
				break;
			default:
				snprintf(tmp, sizeof tmp, "[%c-%c]",
				         c > '0' ? c - 1 : c, c);
				break;
			}
			mg_puts(&b, tmp);
			wild = true;
		} else {
			mg_put_escaped(&b, (const char *)&v[i], 1);
		}
	}
	if (!wild)
		mg_putc(&b, '*');
	if (b.overflow || n >= sizeof p->src)
		return false;
	memcpy(p->src, v, n + 1);
	p->has_src = true;
	p->kind = MG_PAT_MUTATED;
	return true;
}

static inline void mg_gen_pattern(struct mg_rng *r, struct mg_pat *p)
{
	for (;;) {
		char v[MG_LIT_MAX];
		struct mg_buf vb, b;
		mg_buf_init(&vb, v, sizeof v);
		mg_gen_value(r, &vb);
		if (vb.overflow)
			continue;
		size_t n = vb.len;
		memset(p, 0, sizeof *p);
		mg_buf_init(&b, p->pat, sizeof p->pat);
		unsigned k = mg_below(r, 100);
		if (k < 25) {
			p->kind = MG_PAT_EXACT;
			memcpy(p->lit, v, n + 1);
			mg_put_escaped(&b, v, n);
		} else if (k < 43) {
			size_t cut = n ? 1 + mg_below(r, (uint32_t)n) : 0;
			p->kind = MG_PAT_PREFIX;
			memcpy(p->lit, v, cut);
			p->lit[cut] = '\0';
			mg_put_escaped(&b, v, cut);
			mg_putc(&b, '*');
		} else if (k < 58) {
			size_t cut = n ? mg_below(r, (uint32_t)n) : 0;
			p->kind = MG_PAT_SUFFIX;
			memcpy(p->lit, v + cut, n - cut + 1);
			mg_putc(&b, '*');
			mg_put_escaped(&b, v + cut, n - cut);
		} else if (k < 66) {
			size_t a = n ? mg_below(r, (uint32_t)n) : 0;
			size_t l = n - a ? 1 + mg_below(r, (uint32_t)(n - a)) : 0;
			p->kind = MG_PAT_INFIX;
			memcpy(p->lit, v + a, l);
			p->lit[l] = '\0';
			mg_putc(&b, '*');
			mg_put_escaped(&b, v + a, l);
			mg_putc(&b, '*');
		} else if (k < 68) {
			p->kind = MG_PAT_STAR;
			mg_putc(&b, '*');
		} else if (k < 88) {
			if (!mg_pat_mutate(r, p, v))
				continue;
			return;
		} else {
			mg_pat_template(r, p);
			return;
		}
		if (!b.overflow)
			return;
	}
}

/* A value the pattern matches, in out (cap >= 2*MG_LIT_MAX+MG_LIT_MAX). */
static inline void mg_pat_instance(struct mg_rng *r, const struct mg_pat *p,
                                   struct mg_buf *b)
{
	switch (p->kind) {
	case MG_PAT_EXACT:
		mg_puts(b, p->lit);
		return;
	case MG_PAT_PREFIX:
		mg_puts(b, p->lit);
		if (mg_pct(r, 60))
			mg_gen_value(r, b);
		return;
	case MG_PAT_SUFFIX:
		if (mg_pct(r, 60))
			mg_gen_value(r, b);
		mg_puts(b, p->lit);
		return;
	case MG_PAT_INFIX:
		if (mg_pct(r, 50))
			mg_gen_value(r, b);
		mg_puts(b, p->lit);
		if (mg_pct(r, 50))
			mg_gen_value(r, b);
		return;
	case MG_PAT_STAR:
		mg_gen_value(r, b);
		return;
	default:
		if (p->has_src)
			mg_puts(b, p->src);
		else
			mg_gen_value(r, b);
		return;
	}
}

/* Filters every implementation must refuse (-EINVAL, err naming it). */
#define MG_N_INVALID 9u
static inline const char *mg_invalid_filter(unsigned i)
{
	static const char *const v[MG_N_INVALID] = {
		"aor=[bob",     "aor=bob\\",      "user=[[=a=]]",
		"domain=[[.a.]]", "aor=[[:nope:]]x", "noequals",
		"=value",       "contact=x[",     "group=[!",
	};
	return v[i % MG_N_INVALID];
}

/* ---- hand-built events ----------------------------------------------------- */

#define MG_MAX_ATTRS 24u
#define MG_EV_BUF 6144u

struct mg_event {
	struct evr_event ev;
	struct evr_attr attrs[MG_MAX_ATTRS];
	char buf[MG_EV_BUF];
	uint32_t used;
};

/* Copy s[0..n) into e->buf NUL-terminated; false when full. */
static inline bool mg_ev_str(struct mg_event *e, const char *s, size_t n,
                             struct evr_str *out)
{
	if (e->used + n + 1 > sizeof e->buf)
		return false;
	char *p = e->buf + e->used;
	memcpy(p, s, n);
	p[n] = '\0';
	e->used += (uint32_t)n + 1;
	out->p = p;
	out->len = (uint32_t)n;
	out->flags = 0;
	return true;
}

static inline void mg_ev_init(struct mg_event *e, const char *name,
                              const char *subclass)
{
	memset(&e->ev, 0, sizeof e->ev);
	e->used = 0;
	e->ev.attrs = e->attrs;
	e->ev.n_attrs = 0;
	e->ev.src_format = EVR_FMT_JSONRPC;
	mg_ev_str(e, name, strlen(name), &e->ev.name);
	if (!subclass)
		subclass = "";
	mg_ev_str(e, subclass, strlen(subclass), &e->ev.subclass);
	mg_ev_str(e, "", 0, &e->ev.body);
}

static inline bool mg_ev_add(struct mg_event *e, const char *k, const char *v)
{
	struct evr_attr a;
	if (e->ev.n_attrs >= MG_MAX_ATTRS)
		return false;
	if (!mg_ev_str(e, k, strlen(k), &a.name) ||
	    !mg_ev_str(e, v, strlen(v), &a.value))
		return false;
	e->attrs[e->ev.n_attrs++] = a;
	return true;
}

static inline void mg_ev_print(FILE *f, const struct evr_event *ev)
{
	fprintf(f, "  event name=\"%s\" subclass=\"%s\" attrs=%u:", ev->name.p,
	        ev->subclass.p, ev->n_attrs);
	for (uint32_t i = 0; i < ev->n_attrs; i++)
		fprintf(f, " [%s=\"%s\"]", ev->attrs[i].name.p,
		        ev->attrs[i].value.p);
	fputc('\n', f);
}

/* ---- subscription specs ------------------------------------------------------ */

#define MG_MAX_F 4u
#define MG_FTEXT_MAX (MG_PAT_MAX + 40)

struct mg_spec {
	char event[80];    /* spec.event as passed (may be "CUSTOM sub") */
	char subclass[48]; /* spec.subclass as passed when subclass_arg */
	bool subclass_arg;
	/* normalized selector, for the reference predicate */
	uint8_t sel;       /* enum evr_sel_kind */
	char sel_name[48]; /* event name part, as given */
	char sel_sub[48];  /* subclass for EVR_SEL_SUBCLASS */
	uint32_t nf;
	char ftext[MG_MAX_F][MG_FTEXT_MAX]; /* "key=pattern" as passed */
	uint8_t fpat_off[MG_MAX_F];          /* pattern = ftext + off */
	char fkey[MG_MAX_F][40];             /* lowercased key */
	struct mg_pat fpat[MG_MAX_F];        /* how to build matching values */
	char dest[40];
	uint8_t fmt;
	uint32_t expire;
	bool once, lenient;
	uint64_t ident; /* loose identity, see mg_spec_ident */
};

static inline const char *mg_spec_pat(const struct mg_spec *s, unsigned i)
{
	return s->ftext[i] + s->fpat_off[i];
}

/*
 * Loose identity: the coarsest reading of "identical event+dest+filters"
 * any implementation may use (names and keys case-folded, filter order and
 * duplicates ignored). Tests turn a new spec that collides with a live one
 * into an exact duplicate, so the matcher's exact rule never has to be
 * guessed.
 */
static inline uint64_t mg_spec_ident(const struct mg_spec *s)
{
	char lc[80];
	unsigned f[MG_MAX_F];
	uint64_t h = 0xcbf29ce484222325ull;
	mg_lower(lc, s->sel_name, sizeof lc);
	h = mg_fnv(lc, strlen(lc) + 1, h);
	mg_lower(lc, s->sel_sub, sizeof lc);
	h = mg_fnv(lc, strlen(lc) + 1, h);
	h = mg_fnv(s->dest, strlen(s->dest) + 1, h);
	for (unsigned i = 0; i < s->nf; i++)
		f[i] = i;
	/* sort by (lowercased key, pattern), then skip duplicates */
	for (unsigned i = 1; i < s->nf; i++) {
		for (unsigned j = i; j > 0; j--) {
			unsigned a = f[j - 1], b = f[j];
			int c = strcmp(s->fkey[a], s->fkey[b]);
			if (c == 0)
				c = strcmp(mg_spec_pat(s, a), mg_spec_pat(s, b));
			if (c <= 0)
				break;
			f[j - 1] = b;
			f[j] = a;
		}
	}
	for (unsigned i = 0; i < s->nf; i++) {
		unsigned a = f[i];
		if (i > 0 && !strcmp(s->fkey[a], s->fkey[f[i - 1]]) &&
		    !strcmp(mg_spec_pat(s, a), mg_spec_pat(s, f[i - 1])))
			continue;
		h = mg_fnv(s->fkey[a], strlen(s->fkey[a]) + 1, h);
		h = mg_fnv(mg_spec_pat(s, a), strlen(mg_spec_pat(s, a)) + 1, h);
	}
	return h;
}

/* Set filter i of s from key (as written) and a generated pattern. */
static inline bool mg_spec_set_filter(struct mg_spec *s, unsigned i,
                                      const char *key, const struct mg_pat *p)
{
	int n = snprintf(s->ftext[i], sizeof s->ftext[i], "%s=%s", key, p->pat);
	if (n < 0 || (size_t)n >= sizeof s->ftext[i])
		return false;
	s->fpat_off[i] = (uint8_t)(strlen(key) + 1);
	mg_lower(s->fkey[i], key, sizeof s->fkey[i]);
	s->fpat[i] = *p;
	return true;
}

/* Selector: set event/subclass and the normalized form. */
static inline void mg_spec_set_selector(struct mg_spec *s, enum evr_sel_kind k,
                                        const char *name, const char *sub,
                                        unsigned form)
{
	s->sel = (uint8_t)k;
	snprintf(s->sel_name, sizeof s->sel_name, "%s", name);
	s->sel_sub[0] = '\0';
	s->subclass[0] = '\0';
	s->subclass_arg = false;
	if (k == EVR_SEL_SUBCLASS) {
		snprintf(s->sel_sub, sizeof s->sel_sub, "%s", sub);
		if (form == 0) { /* "CUSTOM sofia::register" */
			snprintf(s->event, sizeof s->event, "%s %s", name, sub);
		} else {
			snprintf(s->event, sizeof s->event, "%s", name);
			snprintf(s->subclass, sizeof s->subclass, "%s", sub);
			s->subclass_arg = true;
		}
	} else {
		snprintf(s->event, sizeof s->event, "%s", name);
		if (form == 1) { /* explicit empty subclass = any */
			s->subclass_arg = true;
		}
	}
}

static inline void mg_gen_spec(struct mg_rng *r, struct mg_spec *s)
{
	static const uint32_t expires[] = {1, 2, 3, 5, 10, 20, 30, 60, 120,
	                                   600, EVR_EXPIRE_DEFAULT};
	char name[48];
	memset(s, 0, sizeof *s);
	unsigned k = mg_below(r, 100);
	if (k < 8) {
		mg_randcase(r, name, "ALL", sizeof name);
		mg_spec_set_selector(s, EVR_SEL_ALL, name, NULL, mg_below(r, 2));
	} else if (k < 26) {
		mg_randcase(r, name, "CUSTOM", sizeof name);
		if (mg_pct(r, 75))
			mg_spec_set_selector(s, EVR_SEL_SUBCLASS, name,
			                     mg_pool_subclass(mg_below(r, MG_N_SUBCLASSES)),
			                     mg_below(r, 2));
		else
			mg_spec_set_selector(s, EVR_SEL_NAME, name, NULL, mg_below(r, 2));
	} else {
		mg_randcase(r, name, mg_pool_name(mg_below(r, MG_N_NAMES)), sizeof name);
		mg_spec_set_selector(s, EVR_SEL_NAME, name, NULL, mg_below(r, 2));
	}
	k = mg_below(r, 100);
	s->nf = k < 10 ? 0 : k < 50 ? 1 : k < 80 ? 2 : k < 92 ? 3 : 4;
	for (unsigned i = 0; i < s->nf; i++) {
		struct mg_pat p;
		char key[40];
		do {
			mg_gen_pattern(r, &p);
			mg_randcase(r, key, mg_pool_key(mg_below(r, MG_N_KEYS)),
			            sizeof key);
		} while (!mg_spec_set_filter(s, i, key, &p));
	}
	mg_dest(mg_below(r, MG_N_DESTS), s->dest, sizeof s->dest);
	s->fmt = (uint8_t)mg_below(r, 3);
	s->expire = expires[mg_below(r, sizeof expires / sizeof expires[0])];
	s->once = mg_pct(r, 10);
	s->lenient = mg_pct(r, 25);
	s->ident = mg_spec_ident(s);
}

/* The evr_sub_spec view of s; fptr must hold MG_MAX_F pointers. */
static inline void mg_spec_to_sub(const struct mg_spec *s, uint32_t expire,
                                  struct evr_sub_spec *out,
                                  const char **fptr)
{
	for (unsigned i = 0; i < s->nf; i++)
		fptr[i] = s->ftext[i];
	memset(out, 0, sizeof *out);
	out->event = s->event;
	out->subclass = s->subclass_arg ? s->subclass : NULL;
	out->filters = fptr;
	out->n_filters = s->nf;
	out->dest = s->dest;
	out->format = (enum evr_format)s->fmt;
	out->expire = expire;
	out->once = s->once;
	out->lenient = s->lenient;
}

static inline void mg_spec_print(FILE *f, const struct mg_spec *s)
{
	fprintf(f, "event=\"%s\"", s->event);
	if (s->subclass_arg)
		fprintf(f, " subclass=\"%s\"", s->subclass);
	fprintf(f, " filters={");
	for (unsigned i = 0; i < s->nf; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", s->ftext[i]);
	fprintf(f, "} dest=%s fmt=%u expire=%u%s%s", s->dest, s->fmt, s->expire,
	        s->once ? " once" : "", s->lenient ? " lenient" : "");
}

/* ---- reference predicate (contract + fnmatch(3)) ------------------------------- */

static inline bool mg_str_ieq(const struct evr_str *a, const char *b)
{
	size_t n = strlen(b);
	return a->len == n && evr_ieq(a->p, b, n);
}

static inline bool mg_sel_match(const struct mg_spec *s,
                                const struct evr_event *ev)
{
	switch (s->sel) {
	case EVR_SEL_ALL:
		return true;
	case EVR_SEL_NAME:
		return mg_str_ieq(&ev->name, s->sel_name);
	default:
		return mg_str_ieq(&ev->name, s->sel_name) &&
		       ev->subclass.len == strlen(s->sel_sub) &&
		       memcmp(ev->subclass.p, s->sel_sub, ev->subclass.len) == 0;
	}
}

/* Every filter must pass; a missing key passes only when lenient; a key
 * present several times passes if any value matches. */
static inline bool mg_filters_match(const struct mg_spec *s,
                                    const struct evr_event *ev)
{
	for (unsigned i = 0; i < s->nf; i++) {
		bool seen = false, ok = false;
		for (uint32_t a = 0; a < ev->n_attrs && !ok; a++) {
			if (!mg_str_ieq(&ev->attrs[a].name, s->fkey[i]))
				continue;
			seen = true;
			ok = fnmatch(mg_spec_pat(s, i), ev->attrs[a].value.p, 0) == 0;
		}
		if (!ok && !(s->lenient && !seen))
			return false;
	}
	return true;
}

static inline bool mg_spec_match(const struct mg_spec *s,
                                 const struct evr_event *ev)
{
	return mg_sel_match(s, ev) && mg_filters_match(s, ev);
}

/* ---- random events ---------------------------------------------------------- */

/* Random noise attribute. */
static inline void mg_ev_add_noise(struct mg_rng *r, struct mg_event *e)
{
	char key[40], vbuf[MG_LIT_MAX * 3];
	struct mg_buf vb;
	if (mg_pct(r, 75))
		mg_randcase(r, key, mg_pool_key(mg_below(r, MG_N_KEYS)), sizeof key);
	else
		mg_randcase(r, key, mg_pool_other_key(mg_below(r, MG_N_OTHER_KEYS)),
		            sizeof key);
	mg_buf_init(&vb, vbuf, sizeof vbuf);
	mg_gen_value(r, &vb);
	mg_ev_add(e, key, vbuf);
}

/* Start an event with a random name (random case) and subclass. */
static inline void mg_ev_random_head(struct mg_rng *r, struct mg_event *e)
{
	char name[48];
	if (mg_pct(r, 25)) {
		mg_randcase(r, name, "CUSTOM", sizeof name);
		mg_ev_init(e, name,
		           mg_pct(r, 85) ? mg_pool_subclass(mg_below(r, MG_N_SUBCLASSES))
		                         : NULL);
	} else {
		mg_randcase(r, name, mg_pool_name(mg_below(r, MG_N_NAMES)), sizeof name);
		mg_ev_init(e, name, NULL);
	}
}

/* Start an event that the selector of s accepts. */
static inline void mg_ev_head_for(struct mg_rng *r, struct mg_event *e,
                                  const struct mg_spec *s)
{
	char name[48];
	switch (s->sel) {
	case EVR_SEL_ALL:
		mg_ev_random_head(r, e);
		break;
	case EVR_SEL_NAME:
		mg_randcase(r, name, s->sel_name, sizeof name);
		mg_ev_init(e, name,
		           !strcasecmp(s->sel_name, "CUSTOM") && mg_pct(r, 70)
		                   ? mg_pool_subclass(mg_below(r, MG_N_SUBCLASSES))
		                   : NULL);
		break;
	default:
		mg_randcase(r, name, s->sel_name, sizeof name);
		mg_ev_init(e, name, s->sel_sub);
		break;
	}
}

/* Add attributes that satisfy the filters of s (values built from the
 * patterns), sometimes dropping one or perturbing one. */
static inline void mg_ev_add_for(struct mg_rng *r, struct mg_event *e,
                                 const struct mg_spec *s)
{
	for (unsigned i = 0; i < s->nf; i++) {
		char key[40], vbuf[MG_LIT_MAX * 3];
		struct mg_buf vb;
		if (mg_pct(r, 7))
			continue; /* missing key */
		mg_randcase(r, key, s->fkey[i], sizeof key);
		mg_buf_init(&vb, vbuf, sizeof vbuf);
		mg_pat_instance(r, &s->fpat[i], &vb);
		if (mg_pct(r, 7) && vb.len > 0)
			vbuf[mg_below(r, (uint32_t)vb.len)] ^= 0x01; /* near miss */
		if (mg_pct(r, 8)) {
			/* the same name twice: one decoy, order random */
			char d[MG_LIT_MAX * 3];
			struct mg_buf db;
			mg_buf_init(&db, d, sizeof d);
			mg_gen_value(r, &db);
			if (mg_pct(r, 50)) {
				mg_ev_add(e, key, d);
				mg_ev_add(e, key, vbuf);
			} else {
				mg_ev_add(e, key, vbuf);
				mg_ev_add(e, key, d);
			}
		} else {
			mg_ev_add(e, key, vbuf);
		}
	}
}

#endif /* EVR_TEST_MATCHER_GEN_H */
