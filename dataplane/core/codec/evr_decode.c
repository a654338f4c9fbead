/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder core: the format dispatcher, status names, and what the three
 * decoders share (the scratch with its tokens, event metadata, and JSON).
 *
 * JSON is tokenized by jsmn (compiled once, here) in strict mode with parent
 * links. jsmn is a tokenizer, not a validator: it accepts missing or doubled
 * commas and colons ([1 2], {"a" "b"}, {"a":1,}), literals such as "tru" or
 * "01", raw control characters in strings, and several top-level values.
 * evr_dec_json_parse() therefore checks every byte jsmn did not put in a
 * token (the gaps between tokens must be whitespace with exactly the right
 * separator), the role of each token (object children are keys with one
 * value, scalars have no children), literals and numbers against the JSON
 * grammar, and string escapes. A document accepted here is valid RFC 8259
 * JSON, except that bytes >= 0x80 are passed through without UTF-8 checks
 * (the router is byte oriented) and "\u0000" is refused
 * (EVR_DEC_BAD_STRING_ESCAPE): every view is a C string for glob consumers,
 * and an embedded NUL would let a value match as a shorter one.
 *
 * Hot path: no allocation, no locks, no syscalls, no logging (the scratch
 * is allocated once, by evr_scratch_init at init time).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVR_DEC_JSMN_IMPL
#include "util/evr_bytes.h"
#include "evr_decode_internal.h"

static const char *const status_names[EVR_DEC__COUNT] = {
#define X(e, n, h) [EVR_DEC_##e] = n,
	EVR_DECODE_STATUS(X)
#undef X
};

static const char *const status_texts[EVR_DEC__COUNT] = {
#define X(e, n, h) [EVR_DEC_##e] = h,
	EVR_DECODE_STATUS(X)
#undef X
};

const char *evr_decode_status_name(enum evr_decode_status st)
{
	if ((unsigned)st >= EVR_DEC__COUNT)
		return "unknown";
	return status_names[st];
}

const char *evr_decode_status_text(enum evr_decode_status st)
{
	if ((unsigned)st >= EVR_DEC__COUNT)
		return "unknown decode status";
	return status_texts[st];
}

/* ---- common ---- */

/* The arena and slots are the event's (evr_ev_arena_init); the tokens,
 * whose layout depends on the JSMN_* settings, are sized here. */
int evr_scratch_init(struct evr_scratch *s, const struct evr_limits *l)
{
	int rc;

	if (s == NULL)
		return -EINVAL;
	if (evr_limits_validate(l, NULL, 0) != 0) {
		memset(s, 0, sizeof(*s));
		return -EINVAL;
	}
	rc = evr_ev_arena_init(s, l, evr_scratch_buf_cap(l));
	if (rc != 0)
		return rc;
	s->tok_cap = evr_dec_tok_cap(l);
	s->tok = calloc(s->tok_cap, sizeof(jsmntok_t));
	if (s->tok == NULL) {
		evr_ev_arena_fini(s);
		return -ENOMEM;
	}
	return 0;
}

void evr_scratch_fini(struct evr_scratch *s)
{
	if (s == NULL)
		return;
	free(s->tok);
	s->tok = NULL;
	s->tok_cap = 0;
	evr_ev_arena_fini(s);
}

static bool view_ieq(const struct evr_str *v, const char *lit, size_t n)
{
	return v->len == n && evr_ieq(v->p, lit, n);
}

void evr_dec_finish_meta(struct evr_scratch *s)
{
	const struct evr_attr *a;

	a = evr_event_find(&s->ev, EVR_LIT("Event-Subclass"));
	if (a != NULL)
		s->ev.subclass = a->value;

	/* Metadata only (seed 004): an unknown value is not an error. */
	a = evr_event_find(&s->ev, EVR_LIT("priority"));
	if (a != NULL) {
		if (view_ieq(&a->value, EVR_LIT("LOW")))
			s->ev.priority = EVR_PRIO_LOW;
		else if (view_ieq(&a->value, EVR_LIT("HIGH")))
			s->ev.priority = EVR_PRIO_HIGH;
	}
}

enum evr_decode_status evr_dec_finish_fs(struct evr_scratch *s)
{
	const struct evr_attr *a = evr_event_find(&s->ev, EVR_LIT("Event-Name"));

	if (a == NULL || a->value.len == 0)
		return EVR_DEC_NO_EVENT_NAME;
	if (a->value.len > s->lim.max_name_len)
		return EVR_DEC_NAME_TOO_LONG;
	s->ev.name = a->value;
	evr_dec_finish_meta(s);
	return EVR_DEC_OK;
}

/* ---- JSON ---- */

static bool hex4(const char *p, size_t avail, uint32_t *out)
{
	uint32_t v = 0;

	if (avail < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		int h = evr_hexval(p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return true;
}

static size_t utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		if (o)
			o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		if (o) {
			o[0] = (char)(0xC0 | cp >> 6);
			o[1] = (char)(0x80 | (cp & 0x3F));
		}
		return 2;
	}
	if (cp < 0x10000) {
		if (o) {
			o[0] = (char)(0xE0 | cp >> 12);
			o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
			o[2] = (char)(0x80 | (cp & 0x3F));
		}
		return 3;
	}
	if (o) {
		o[0] = (char)(0xF0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
	}
	return 4;
}

/*
 * Unescape the inside of a JSON string (between the quotes). With out == NULL
 * only validates and measures. The output is never longer than the input
 * (an escape of 2, 6 or 12 chars yields 1..4 bytes), which the scratch sizing
 * relies on.
 */
/* Length of the leading run of bytes that need no unescaping (no '\\', no
 * control byte), eight bytes per step: most values have no escapes at all,
 * and this is the decoder's hottest loop. */
static inline size_t json_plain_run(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, bs;

		memcpy(&w, p + i, sizeof(w));
		bs = w ^ (ones * '\\');
		/* exact "some byte is zero" / "some byte is < 0x20" tests */
		if ((((bs - ones) & ~bs) | ((w - ones * 0x20) & ~w)) & highs)
			break;
	}
	while (i < n && (unsigned char)p[i] >= 0x20 && p[i] != '\\')
		i++;
	return i;
}

static enum evr_decode_status json_unescape(const char *in, size_t n, char *out,
                                            size_t *out_len)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t run = json_plain_run(in + i, n - i);
		if (run) {
			if (out)
				memcpy(out + o, in + i, run);
			o += run;
			i += run;
			if (i >= n)
				break;
		}
		unsigned char c = (unsigned char)in[i];
		uint32_t cp, lo;

		if (c < 0x20)
			return EVR_DEC_BAD_JSON; /* must be escaped in JSON */
		if (c != '\\') {
			if (out)
				out[o] = (char)c;
			o++;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return EVR_DEC_BAD_STRING_ESCAPE;
		c = (unsigned char)in[i + 1];
		i += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if (!hex4(in + i, n - i, &cp))
				return EVR_DEC_BAD_STRING_ESCAPE;
			i += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* A high surrogate is only valid as the first half
				 * of a \uD8xx\uDCxx pair. */
				if (n - i < 6 || in[i] != '\\' || in[i + 1] != 'u' ||
				    !hex4(in + i + 2, n - i - 2, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return EVR_DEC_BAD_STRING_ESCAPE;
				i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return EVR_DEC_BAD_STRING_ESCAPE; /* lone low half */
			} else if (cp == 0) {
				return EVR_DEC_BAD_STRING_ESCAPE; /* see design note */
			}
			o += utf8_put(out ? out + o : NULL, cp);
			continue;
		default:
			return EVR_DEC_BAD_STRING_ESCAPE;
		}
		if (out)
			out[o] = (char)c;
		o++;
	}
	*out_len = o;
	return EVR_DEC_OK;
}

/* true | false | null | -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_primitive_ok(const char *p, size_t n)
{
	size_t i = 0;

	if ((n == 4 && memcmp(p, "true", 4) == 0) ||
	    (n == 5 && memcmp(p, "false", 5) == 0) ||
	    (n == 4 && memcmp(p, "null", 4) == 0))
		return true;
	if (i < n && p[i] == '-')
		i++;
	if (i >= n || !evr_is_digit(p[i]))
		return false;
	if (p[i] == '0') {
		i++;
	} else {
		while (i < n && evr_is_digit(p[i]))
			i++;
	}
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || !evr_is_digit(p[i]))
			return false;
		while (i < n && evr_is_digit(p[i]))
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !evr_is_digit(p[i]))
			return false;
		while (i < n && evr_is_digit(p[i]))
			i++;
	}
	return i == n;
}

static bool is_container(const jsmntok_t *t)
{
	return t->type == JSMN_OBJECT || t->type == JSMN_ARRAY;
}

/* Token span in the text, quotes included for strings. */
static int raw_start(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int raw_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/* js[a..b) is whitespace, or whitespace around exactly one sep if sep != 0. */
static bool gap_ok(const char *js, int a, int b, char sep)
{
	bool seen = (sep == 0);

	if (a > b)
		return false;
	for (int i = a; i < b; i++) {
		if (evr_is_lws(js[i]))
			continue;
		if (!seen && js[i] == sep) {
			seen = true;
			continue;
		}
		return false;
	}
	return seen;
}

/*
 * Close the subtrees that end between token j and the next token (or the end
 * of the document): walk up from j to the child of stop_parent, checking that
 * only whitespace precedes each closing bracket. *end is the text offset just
 * past the last closed thing; *sib the top of the walk (the previous sibling).
 */
static bool close_upto(const char *js, const jsmntok_t *t, int j,
                       int stop_parent, int *end, int *sib)
{
	/* j is a leaf: a scalar value or an empty container. */
	if (is_container(&t[j])) {
		if (t[j].size != 0 || !gap_ok(js, t[j].start + 1, t[j].end - 1, 0))
			return false;
		*end = t[j].end;
	} else {
		*end = raw_end(&t[j]);
	}
	while (t[j].parent != stop_parent) {
		j = t[j].parent;
		if (j < 0)
			return false;
		if (is_container(&t[j])) {
			if (!gap_ok(js, *end, t[j].end - 1, 0))
				return false;
			*end = t[j].end;
		}
		/* a key string closes with its value: *end stays */
	}
	*sib = j;
	return true;
}

static enum evr_decode_status json_validate(const char *js, size_t len,
                                            const jsmntok_t *t, int n)
{
	int end, sib;

	if (t[0].type != JSMN_OBJECT)
		return EVR_DEC_NOT_OBJECT;
	if (!gap_ok(js, 0, t[0].start, 0))
		return EVR_DEC_BAD_JSON;

	for (int i = 0; i < n; i++) {
		const jsmntok_t *ti = &t[i];
		int p = ti->parent;
		bool is_key = false;

		if (i > 0 && p < 0)
			return EVR_DEC_BAD_JSON; /* a second top-level value */
		if (p >= 0) {
			const jsmntok_t *tp = &t[p];

			if (tp->type == JSMN_OBJECT) {
				if (ti->type != JSMN_STRING || ti->size != 1)
					return EVR_DEC_BAD_JSON;
				is_key = true;
			} else if (tp->type == JSMN_PRIMITIVE) {
				return EVR_DEC_BAD_JSON;
			}
			/* under an array or a key: a value */
		}
		if (!is_key && !is_container(ti) && ti->size != 0)
			return EVR_DEC_BAD_JSON;

		if (ti->type == JSMN_STRING) {
			size_t ol;
			enum evr_decode_status st =
				json_unescape(js + ti->start,
				              (size_t)(ti->end - ti->start), NULL, &ol);
			if (st != EVR_DEC_OK)
				return st;
		} else if (ti->type == JSMN_PRIMITIVE) {
			if (!json_primitive_ok(js + ti->start,
			                       (size_t)(ti->end - ti->start)))
				return EVR_DEC_BAD_JSON;
		}

		if (i == 0)
			continue;
		if (p == i - 1) {
			/* first child: after '{' / '[' or after a key */
			if (t[p].type == JSMN_STRING) {
				if (!gap_ok(js, raw_end(&t[p]), raw_start(ti), ':'))
					return EVR_DEC_BAD_JSON;
			} else if (!gap_ok(js, t[p].start + 1, raw_start(ti), 0)) {
				return EVR_DEC_BAD_JSON;
			}
		} else {
			if (!close_upto(js, t, i - 1, p, &end, &sib) ||
			    !gap_ok(js, end, raw_start(ti), ','))
				return EVR_DEC_BAD_JSON;
		}
	}
	if (!close_upto(js, t, n - 1, -1, &end, &sib) ||
	    !gap_ok(js, end, (int)len, 0))
		return EVR_DEC_BAD_JSON;
	return EVR_DEC_OK;
}

enum evr_decode_status evr_dec_json_parse(const char *js, size_t len,
                                          struct evr_scratch *s, int *ntok)
{
	jsmntok_t *t = s->tok;
	jsmn_parser parser;
	size_t i = 0;
	int r;

	*ntok = 0;
	while (i < len && evr_is_lws(js[i]))
		i++;
	if (i == len)
		return EVR_DEC_BAD_JSON;
	if (js[i] != '{')
		return EVR_DEC_NOT_OBJECT;

	jsmn_init(&parser);
	r = jsmn_parse(&parser, js, len, t, s->tok_cap);
	if (r == JSMN_ERROR_NOMEM) {
		*ntok = (int)parser.toknext;
		return EVR_DEC_TOO_MANY_TOKENS;
	}
	/* jsmn refuses an unknown escape or a non-hex \u digit itself; it
	 * then leaves pos on the string's opening quote, and no other error
	 * stops there. */
	if (r == JSMN_ERROR_INVAL && parser.pos < len && js[parser.pos] == '"')
		return EVR_DEC_BAD_STRING_ESCAPE;
	if (r <= 0)
		return EVR_DEC_BAD_JSON;
	*ntok = r;
	return json_validate(js, len, t, r);
}

int evr_dec_json_skip(const jsmntok_t *t, int ntok, int i)
{
	int j = i + 1;

	if (!is_container(&t[i]))
		return j;
	while (j < ntok && t[j].start < t[i].end)
		j++;
	return j;
}

bool evr_dec_json_eq(const char *js, const jsmntok_t *t, const char *lit,
                     bool icase)
{
	/* Only short member names are compared; 6 raw chars per byte at most. */
	char tmp[128];
	size_t n = strlen(lit), raw = (size_t)(t->end - t->start), ol;
	const char *p = js + t->start;

	if (t->type != JSMN_STRING || raw < n)
		return false;
	/* Escapes only shrink text: a longer raw key can match only if it has
	 * one (the common case, a plain key of another length, stops here). */
	if (raw != n) {
		if (raw > sizeof(tmp) || memchr(p, '\\', raw) == NULL ||
		    json_unescape(p, raw, tmp, &ol) != EVR_DEC_OK || ol != n)
			return false;
		p = tmp;
	}
	return icase ? evr_ieq(p, lit, n) : memcmp(p, lit, n) == 0;
}

enum evr_decode_status evr_dec_json_store_str(struct evr_scratch *s,
                                              const char *js,
                                              const jsmntok_t *t,
                                              struct evr_str *out)
{
	size_t raw = (size_t)(t->end - t->start), ol;
	char *p = evr_ev_reserve(s, raw);
	enum evr_decode_status st;

	if (p == NULL)
		return EVR_DEC_OVERSIZE;
	st = json_unescape(js + t->start, raw, p, &ol);
	if (st != EVR_DEC_OK)
		return st;
	evr_ev_commit(s, out, p, ol, 0);
	return EVR_DEC_OK;
}

enum evr_decode_status evr_dec_json_store_scalar(struct evr_scratch *s,
                                                 const char *js,
                                                 const jsmntok_t *t,
                                                 struct evr_str *out)
{
	size_t n = (size_t)(t->end - t->start);

	switch (t->type) {
	case JSMN_STRING:
		return evr_dec_json_store_str(s, js, t, out);
	case JSMN_PRIMITIVE:
		if (n == 4 && memcmp(js + t->start, "null", 4) == 0)
			return evr_dec_store(s, out, "", 0, EVR_STR_NULL);
		return evr_dec_store(s, out, js + t->start, n, EVR_STR_LITERAL);
	default:
		return EVR_DEC_NESTED_VALUE;
	}
}

int evr_dec_json_member(const char *js, const jsmntok_t *t, int ntok,
                        const char *key)
{
	for (int i = 1; i + 1 < ntok; i++) {
		if (t[i].parent == 0 && t[i + 1].parent == i &&
		    evr_dec_json_eq(js, &t[i], key, false))
			return i + 1;
	}
	return -1;
}

/* ---- dispatcher ---- */

static enum evr_decode_status decode_auto(const char *buf, size_t len,
                                          struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	size_t i = 0;
	int ntok;
	bool rpc;

	if (st != EVR_DEC_OK)
		return st;
	while (i < len && evr_is_lws(buf[i]))
		i++;
	if (i == len || buf[i] != '{')
		return evr_decode_plain(buf, len, s);

	/* Tokenize once; the member test works on partial tokens too, so an
	 * overflow is still refined by the right format. */
	st = evr_dec_json_parse(buf, len, s, &ntok);
	rpc = ntok > 0 && evr_dec_json_member(buf, s->tok, ntok, "jsonrpc") >= 0;
	evr_ev_begin(s, rpc ? EVR_FMT_JSONRPC : EVR_FMT_JSON);
	if (st == EVR_DEC_TOO_MANY_TOKENS)
		return rpc ? evr_dec_jsonrpc_overflow(buf, s, ntok)
		           : evr_dec_json_overflow(buf, s, ntok);
	if (st != EVR_DEC_OK)
		return st;
	return rpc ? evr_dec_jsonrpc_tokens(buf, s, ntok)
	           : evr_dec_json_tokens(buf, s, ntok);
}

enum evr_decode_status evr_decode(enum evr_format fmt, const char *buf,
                                  size_t len, struct evr_scratch *s)
{
	switch (fmt) {
	case EVR_FMT_JSONRPC:
		return evr_decode_jsonrpc(buf, len, s);
	case EVR_FMT_PLAIN:
		return evr_decode_plain(buf, len, s);
	case EVR_FMT_JSON:
		return evr_decode_json(buf, len, s);
	case EVR_FMT_AUTO:
		return decode_auto(buf, len, s);
	default:
		return EVR_DEC_BAD_FORMAT;
	}
}
