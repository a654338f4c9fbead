/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIP parser: design note.
 *
 * Mirrored SIP (and later the SIP endpoint) reaches us as UDP datagrams on a
 * dataplane lcore, so the parser follows the hot-path rules: one pass over
 * the datagram, no allocation, no copy, no locale, no syscalls. The caller
 * owns a struct evr_sip_msg with fixed arrays (per-lcore, allocated at init);
 * every field is a view into the datagram.
 *
 * Framing. Leading CRLFs are skipped (RFC 3261 7.5; a datagram of nothing
 * else is an RFC 5626 keep-alive and gets its own status so it is counted,
 * not mistaken for garbage). Headers end at the first empty line; a message
 * that never has one is refused (TRUNCATED_HEADERS) rather than guessed at.
 * LF alone is accepted as a line end (captures and hand-made tools send it)
 * and flagged; a CR that is not followed by LF is refused, because it would
 * otherwise end a line for some peers and not for others. Over UDP the body
 * is Content-Length octets; octets beyond are ignored (RFC 3261 18.3, RFC
 * 4475 dblreq) and a Content-Length beyond the datagram is an error (clerr).
 *
 * Folding. A header continues while the next line starts with SP/HTAB. The
 * value view then still contains the CRLF+WSP bytes; rather than unfold into
 * a scratch buffer (a copy per header), every structured sub-parser treats
 * CR, LF, SP and HTAB alike as LWS. The header scanner guarantees CR/LF only
 * occur in a value as part of a fold, so that is exact.
 *
 * NUL bytes. A NUL anywhere in the start line or headers is refused
 * (NUL_BYTE), even as a quoted-pair, which RFC 3261 allows: the event layer
 * turns values into C strings, and a NUL would let a value match as a
 * shorter one. This knowingly refuses RFC 4475 3.1.1.2 (intmeth) as
 * published; the body may hold any octets.
 *
 * Strictness. Where RFC 4475 says an element "should respond 400" and the
 * field is one the router keys on (CSeq, Via, From, To, Call-ID,
 * Content-Length, start line), the message is refused with a named reason so
 * it shows up as a drop counter. Where it allows being liberal on fields we
 * only report (Max-Forwards > 255, Expires overflow), the field is treated
 * as absent and a flag in msg->flags says so. Structural errors stop the
 * parse at once; semantic ones (missing or repeated mandatory headers,
 * version, CSeq method mismatch) are decided at the end so msg is complete
 * and an endpoint could still answer 400/505 from it.
 *
 * Lists. Via and Contact values are split at commas outside quoted strings
 * and <...>. Every element is validated; the first EVR_SIP_MAX_VIA /
 * EVR_SIP_MAX_CONTACT are kept and the totals counted, because the top Via
 * is what matters and long Via stacks (RFC 4475 longreq: 34) are legal.
 *
 * Scanning. A mirror port feeds every message of every call through here,
 * so no octet is tested alone where a block test will do (the Suricata /
 * DPDK way): line ends are found sixteen octets at a time (SSE2; eight with
 * plain words elsewhere) together with the NUL / stray-CR check, so a clean
 * line is read once; header names are matched a word at a time; list
 * separators, quotes and Call-ID white space are found by block compares;
 * character classes come from one table. Every fast path falls back to the
 * octet-by-octet definition where it cannot decide, so statuses and views
 * are exactly those of the plain loops (tests/unit/core/sip/test_sip.c puts the
 * interesting octet at every offset).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "util/evr_bytes.h"
#include "evr_sip.h"

/* ---- names ---- */

static const char *const status_names[EVR_SIP__COUNT] = {
#define X(e, n, h) [EVR_SIP_##e] = n,
	EVR_SIP_STATUS(X)
#undef X
};

static const char *const status_texts[EVR_SIP__COUNT] = {
#define X(e, n, h) [EVR_SIP_##e] = h,
	EVR_SIP_STATUS(X)
#undef X
};

const char *evr_sip_status_name(enum evr_sip_status st)
{
	if ((unsigned)st >= EVR_SIP__COUNT)
		return "unknown";
	return status_names[st];
}

const char *evr_sip_status_text(enum evr_sip_status st)
{
	if ((unsigned)st >= EVR_SIP__COUNT)
		return "unknown SIP parse status";
	return status_texts[st];
}

struct name_len {
	const char *name;
	uint32_t len;
};

static const struct name_len method_names[EVR_SIP_METHOD__COUNT] = {
#define X(e, n) [EVR_SIP_METHOD_##e] = { n, sizeof(n) - 1 },
	EVR_SIP_METHODS(X)
#undef X
};

const char *evr_sip_method_name(enum evr_sip_method m)
{
	if ((unsigned)m >= EVR_SIP_METHOD__COUNT)
		return "";
	return method_names[m].name;
}

enum evr_sip_method evr_sip_method_lookup(const char *p, size_t len)
{
	/* Methods are case-sensitive: exact compare only. */
	for (unsigned i = 1; i < EVR_SIP_METHOD__COUNT; i++)
		if (method_names[i].len == len && memcmp(method_names[i].name, p, len) == 0)
			return (enum evr_sip_method)i;
	return EVR_SIP_METHOD_UNKNOWN;
}

static const struct name_len hdr_names[EVR_SIP_HDR__COUNT] = {
#define X(e, n, c) [EVR_SIP_HDR_##e] = { n, sizeof(n) - 1 },
	EVR_SIP_HEADERS(X)
#undef X
};

static const char hdr_compact[EVR_SIP_HDR__COUNT] = {
#define X(e, n, c) [EVR_SIP_HDR_##e] = c,
	EVR_SIP_HEADERS(X)
#undef X
};

_Static_assert(EVR_SIP_HDR__COUNT <= 32, "msg->present is a 32-bit mask");

const char *evr_sip_hdr_name(enum evr_sip_hdr h)
{
	if ((unsigned)h >= EVR_SIP_HDR__COUNT)
		return "";
	return hdr_names[h].name;
}

/*
 * Every header line is looked up, so the lookup is a table probe, not a
 * walk: candidates by (name length & 31, first letter & 31), at most
 * HDR_WAYS each (Call-ID and Contact share length 7 and 'c'). Compact forms
 * by letter. A candidate is confirmed a word at a time against its
 * lower-case name: OR-ing 0x20 into the input folds case only where the
 * name has a letter (hdr_fold), so '-' still has to match exactly and the
 * compare stays exact for any input byte. Built once at load time (a
 * constructor: the tables are read-only afterwards, so any thread may look
 * up).
 */
#define HDR_WAYS 3
#define HDR_NAME_CAP 24 /* longest known name (19) rounded up to words */
static uint8_t hdr_by_len_c[32][32][HDR_WAYS];
static uint8_t hdr_by_compact[32];
static char hdr_lc[EVR_SIP_HDR__COUNT][HDR_NAME_CAP];
static char hdr_fold[EVR_SIP_HDR__COUNT][HDR_NAME_CAP];

static void char_classes_init(void);

__attribute__((constructor)) static void hdr_tables_init(void)
{
	for (unsigned i = 1; i < EVR_SIP_HDR__COUNT; i++) {
		uint8_t *w = hdr_by_len_c[hdr_names[i].len & 31]
		                         [evr_lower((unsigned char)hdr_names[i].name[0]) & 31];
		unsigned k = 0;

		while (k < HDR_WAYS && w[k])
			k++;
		if (k == HDR_WAYS || hdr_names[i].len > HDR_NAME_CAP)
			abort(); /* a new header name: raise HDR_WAYS / HDR_NAME_CAP */
		w[k] = (uint8_t)i;
		if (hdr_compact[i])
			hdr_by_compact[hdr_compact[i] & 31] = (uint8_t)i;
		for (unsigned j = 0; j < hdr_names[i].len; j++) {
			unsigned char c = (unsigned char)hdr_names[i].name[j];

			hdr_lc[i][j] = (char)evr_lower(c);
			hdr_fold[i][j] = (char)((unsigned)(evr_lower(c) - 'a') < 26u ? 0x20 : 0);
		}
	}
	char_classes_init();
}

static inline bool fold_eq64(const char *p, const char *lc, const char *fold)
{
	uint64_t a, b, f;

	memcpy(&a, p, 8);
	memcpy(&b, lc, 8);
	memcpy(&f, fold, 8);
	return (a | f) == b;
}

static inline bool fold_eq32(const char *p, const char *lc, const char *fold)
{
	uint32_t a, b, f;

	memcpy(&a, p, 4);
	memcpy(&b, lc, 4);
	memcpy(&f, fold, 4);
	return (a | f) == b;
}

static inline bool fold_eq16(const char *p, const char *lc, const char *fold)
{
	uint16_t a, b, f;

	memcpy(&a, p, 2);
	memcpy(&b, lc, 2);
	memcpy(&f, fold, 2);
	return (uint16_t)(a | f) == b;
}

/* p[0..n) equals header i's name, case-insensitively; 2 <= n <= its length.
 * Overlapping loads cover the tail without a byte loop. */
static inline bool hdr_name_eq(const char *p, unsigned i, size_t n)
{
	const char *lc = hdr_lc[i], *fo = hdr_fold[i];

	if (n >= 8) {
		for (size_t k = 0; k + 8 < n; k += 8)
			if (!fold_eq64(p + k, lc + k, fo + k))
				return false;
		return fold_eq64(p + n - 8, lc + n - 8, fo + n - 8);
	}
	if (n >= 4)
		return fold_eq32(p, lc, fo) && fold_eq32(p + n - 4, lc + n - 4, fo + n - 4);
	return fold_eq16(p, lc, fo) && fold_eq16(p + n - 2, lc + n - 2, fo + n - 2);
}

static inline enum evr_sip_hdr hdr_lookup(const char *p, size_t len)
{
	unsigned char c;
	const uint8_t *w;

	if (len == 0)
		return EVR_SIP_HDR_OTHER;
	c = evr_lower((unsigned char)p[0]);
	if (len == 1) {
		unsigned i = hdr_by_compact[c & 31];

		return i && hdr_compact[i] == c ? (enum evr_sip_hdr)i : EVR_SIP_HDR_OTHER;
	}
	if (len > 31)
		return EVR_SIP_HDR_OTHER;
	w = hdr_by_len_c[len][c & 31];
	for (unsigned k = 0; k < HDR_WAYS && w[k]; k++)
		if (hdr_names[w[k]].len == len && hdr_name_eq(p, w[k], len))
			return (enum evr_sip_hdr)w[k];
	return EVR_SIP_HDR_OTHER;
}

enum evr_sip_hdr evr_sip_hdr_lookup(const char *p, size_t len)
{
	return hdr_lookup(p, len);
}

/* ---- character classes (RFC 3261 25.1) ---- */

static inline bool is_alpha(unsigned char c)
{
	return (unsigned)(evr_lower(c) - 'a') < 26u;
}

static inline bool is_alnum(unsigned char c)
{
	return evr_is_digit(c) || is_alpha(c);
}

static inline bool is_hex(unsigned char c)
{
	return evr_is_digit(c) || (unsigned)(evr_lower(c) - 'a') < 6u;
}

static inline bool is_token(unsigned char c)
{
	if (is_alnum(c))
		return true;
	switch (c) {
	case '-': case '.': case '!': case '%': case '*':
	case '_': case '+': case '`': case '\'': case '~':
		return true;
	default:
		return false;
	}
}

/* CR and LF count as white space inside a value: see "Folding" above. */
static inline bool is_mark(unsigned char c)
{
	switch (c) {
	case '-': case '_': case '.': case '!': case '~':
	case '*': case '\'': case '(': case ')':
		return true;
	default:
		return false;
	}
}

static inline bool is_unreserved(unsigned char c)
{
	return is_alnum(c) || is_mark(c);
}

static inline bool is_user_unreserved(unsigned char c)
{
	switch (c) {
	case '&': case '=': case '+': case '$': case ',': case ';': case '?': case '/':
		return true;
	default:
		return false;
	}
}

static inline bool is_password_extra(unsigned char c)
{
	switch (c) {
	case '&': case '=': case '+': case '$': case ',':
		return true;
	default:
		return false;
	}
}

static inline bool is_param_unreserved(unsigned char c)
{
	switch (c) {
	case '[': case ']': case '/': case ':': case '&': case '+': case '$':
		return true;
	default:
		return false;
	}
}

static inline bool is_hnv_unreserved(unsigned char c)
{
	switch (c) {
	case '[': case ']': case '/': case '?': case ':': case '+': case '$':
		return true;
	default:
		return false;
	}
}

/*
 * The predicates above define the classes; the parser reads them from one
 * 256-entry table (a load and a test per byte instead of a chain of
 * compares and switches), filled from those predicates at load time so the
 * two cannot disagree.
 */
enum {
	C_TOKEN = 1u << 0,
	C_LWS = 1u << 1,
	C_DIGIT = 1u << 2,
	C_ALPHA = 1u << 3,
	C_HEX = 1u << 4,
	C_USER = 1u << 5,    /* URI user: unreserved / user-unreserved */
	C_PASS = 1u << 6,    /* URI password */
	C_PARAM = 1u << 7,   /* URI paramchar */
	C_HNV = 1u << 8,     /* URI header name/value */
	C_TEL = 1u << 9,     /* tel: subscriber number */
	C_HOST = 1u << 10,   /* hostname: alnum - . _ */
	C_V6 = 1u << 11,     /* inside [v6]: hex : . */
	C_SCHEME = 1u << 12, /* alnum + - . */
	C_PVAL = 1u << 13,   /* in an unquoted parameter value */
};

static uint16_t cc[256];

static inline bool cls(unsigned char c, unsigned mask)
{
	return (cc[c] & mask) != 0;
}

static void char_classes_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		unsigned char c = (unsigned char)i;
		unsigned v = 0;

		v |= is_token(c) ? C_TOKEN : 0;
		v |= evr_is_lws(c) ? C_LWS : 0;
		v |= evr_is_digit(c) ? C_DIGIT : 0;
		v |= is_alpha(c) ? C_ALPHA : 0;
		v |= is_hex(c) ? C_HEX : 0;
		v |= is_unreserved(c) || is_user_unreserved(c) ? C_USER : 0;
		v |= is_unreserved(c) || is_password_extra(c) ? C_PASS : 0;
		v |= is_unreserved(c) || is_param_unreserved(c) ? C_PARAM : 0;
		v |= is_unreserved(c) || is_hnv_unreserved(c) ? C_HNV : 0;
		v |= is_hex(c) || c == '+' || c == '-' || c == '.' || c == '(' ||
		     c == ')' || c == '*' || c == '#' ? C_TEL : 0;
		v |= is_alnum(c) || c == '-' || c == '.' || c == '_' ? C_HOST : 0;
		v |= is_hex(c) || c == ':' || c == '.' ? C_V6 : 0;
		v |= is_alnum(c) || c == '+' || c == '-' || c == '.' ? C_SCHEME : 0;
		v |= evr_is_lws(c) || c == ';' || c == ',' || c == '"' || c == '<' ||
		     c == '>' || c == '=' ? 0 : C_PVAL;
		cc[i] = (uint16_t)v;
	}
}

/* First byte of [p, e) not in class mask (a single class bit), or e.
 * Four octets per test: their class words ANDed keep the bit only if all
 * four have it, so the loop takes one branch per four octets of a host,
 * token or parameter instead of one per octet. */
static inline const char *span(const char *p, const char *e, unsigned mask)
{
	while (e - p >= 4 && (cc[(unsigned char)p[0]] & cc[(unsigned char)p[1]] &
	                      cc[(unsigned char)p[2]] & cc[(unsigned char)p[3]] & mask))
		p += 4;
	while (p < e && cls((unsigned char)*p, mask))
		p++;
	return p;
}

static inline const char *skip_lws(const char *p, const char *e)
{
	return span(p, e, C_LWS);
}

static inline const char *trim_lws_end(const char *s, const char *e)
{
	while (e > s && cls((unsigned char)e[-1], C_LWS))
		e--;
	return e;
}

static inline const char *token_end(const char *p, const char *e)
{
	return span(p, e, C_TOKEN);
}

/* First c in [p, e), or NULL: memchr for the short runs of a header value,
 * where the call costs more than the scan. */
static inline const char *find_byte(const char *p, const char *e, char c)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (e - p >= 8) {
		uint64_t v, m;

		memcpy(&v, p, sizeof(v));
		m = evr_has_zero8(v ^ evr_bcast8(c));
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	for (; p < e; p++)
		if (*p == c)
			return p;
	return NULL;
}

static inline struct evr_sip_str view(const char *s, const char *e)
{
	return (struct evr_sip_str){ .p = s, .len = (uint32_t)(e - s) };
}

static inline bool view_ieq(struct evr_sip_str v, const char *lit, size_t n)
{
	return v.len == n && evr_ieq(v.p, lit, n);
}
#define VIEW_IEQ(v, lit) view_ieq((v), (lit), sizeof(lit) - 1)

/*
 * Decimal digits in [p, e) into *out; false when empty, not all digits, or
 * above max. Long runs of leading zeros ("0009") are legal.
 */
static bool parse_uint(const char *p, const char *e, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (p == e)
		return false;
	for (; p < e; p++) {
		if (!evr_is_digit((unsigned char)*p))
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/*
 * Zero n bytes (a struct of a few hundred bytes). GCC expands a memset of
 * that constant size as "rep stos", whose start-up cost dominated it (the
 * msg and Via clears were ~13% of a parse); 64-byte blocks of 16-byte
 * stores do the same work in a few cycles. n >= 16.
 */
static inline void zero_block(void *dst, size_t n)
{
	char *d = dst;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i z = _mm_setzero_si128();

	for (; i + 64 <= n; i += 64) {
		_mm_storeu_si128((__m128i *)(void *)(d + i), z);
		_mm_storeu_si128((__m128i *)(void *)(d + i + 16), z);
		_mm_storeu_si128((__m128i *)(void *)(d + i + 32), z);
		_mm_storeu_si128((__m128i *)(void *)(d + i + 48), z);
	}
	for (; i + 16 <= n; i += 16)
		_mm_storeu_si128((__m128i *)(void *)(d + i), z);
	if (i < n)
		_mm_storeu_si128((__m128i *)(void *)(d + n - 16), z);
#else
	memset(d, 0, n);
#endif
}

/*
 * First byte of [p, e) equal to one of a, b, c, d (repeat one to look for
 * fewer), or e. For the scans that would otherwise test every byte of a
 * header value: list element ends, quoted strings, white space in a
 * Call-ID. Sixteen bytes per step with SSE2, eight with plain words.
 */
static inline const char *find_any4(const char *p, const char *e, char a, char b, char c,
                                    char d)
{
#ifdef __SSE2__
	const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
	const __m128i vc = _mm_set1_epi8(c), vd = _mm_set1_epi8(d);

	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
		                           _mm_or_si128(_mm_cmpeq_epi8(v, vc), _mm_cmpeq_epi8(v, vd)));
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);

		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (e - p >= 8) {
		uint64_t v, mask;

		memcpy(&v, p, sizeof(v));
		mask = evr_has_zero8(v ^ evr_bcast8(a)) | evr_has_zero8(v ^ evr_bcast8(b)) |
		       evr_has_zero8(v ^ evr_bcast8(c)) | evr_has_zero8(v ^ evr_bcast8(d));
		if (mask)
			return p + (__builtin_ctzll(mask) >> 3);
		p += 8;
	}
#endif
	for (; p < e; p++)
		if (*p == a || *p == b || *p == c || *p == d)
			break;
	return p;
}

/*
 * Name of the header line [ls, le): its end (token_end) and id
 * (evr_sip_hdr_lookup of it), without walking the name octet by octet in
 * the common case. The name nearly always ends at the first ':', SP, HTAB
 * or CR (found sixteen octets at a time); when the octets before it are a
 * known name, they are all letters and '-' (token characters) and the
 * delimiter is not one, so that is exactly where token_end would stop.
 * Otherwise the token is scanned and looked up as before.
 */
static inline const char *header_name(const char *ls, const char *le, enum evr_sip_hdr *id)
{
	const char *q = find_any4(ls, le, ':', ' ', '\t', '\r'), *ne;
	enum evr_sip_hdr h = hdr_lookup(ls, (size_t)(q - ls));

	if (h != EVR_SIP_HDR_OTHER) {
		*id = h;
		return q;
	}
	ne = token_end(ls, le);
	*id = ne == q ? EVR_SIP_HDR_OTHER : hdr_lookup(ls, (size_t)(ne - ls));
	return ne;
}

/* ---- URI (RFC 3261 19.1, 25.1; RFC 3966 for tel) ---- */

/* Any octet <= ' ' or DEL in [p, e)? Eight at a time: "some byte < 0x21"
 * is exact as to existence for a bound <= 0x80, and octets >= 0x80 are
 * never flagged, as they must not be. */
static bool has_ctl_or_sp(const char *p, const char *e)
{
	while (e - p >= 8) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		if (((v - evr_bcast8(0x21)) & ~v & evr_bcast8(0x80)) | evr_has_zero8(v ^ evr_bcast8(0x7f)))
			return true;
		p += 8;
	}
	for (; p < e; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return true;
	return false;
}

/* A run of URI characters of class mask, with %HH escapes; p at end of
 * run, false on a broken escape. ('%' is in none of the URI classes.) */
static bool uri_run(const char **pp, const char *e, unsigned mask)
{
	const char *p = *pp;

	for (;;) {
		p = span(p, e, mask);
		if (p == e || *p != '%')
			break;
		if (e - p < 3 || !cls((unsigned char)p[1], C_HEX) || !cls((unsigned char)p[2], C_HEX))
			return false;
		p += 3;
	}
	*pp = p;
	return true;
}

/* ;name[=value] list up to '?' or e; records the common ones. */
static bool uri_params(const char **pp, const char *e, struct evr_sip_uri *u)
{
	const char *p = *pp;

	while (p < e && *p == ';') {
		const char *ns = ++p, *ne, *vs = NULL, *ve = NULL;
		struct evr_sip_str n, v;

		if (!uri_run(&p, e, C_PARAM))
			return false;
		ne = p;
		if (ne == ns)
			return false; /* ";;" or ";=x" */
		if (p < e && *p == '=') {
			vs = ++p;
			if (!uri_run(&p, e, C_PARAM))
				return false;
			ve = p;
			if (ve == vs)
				return false;
		}
		n = view(ns, ne);
		v = vs ? view(vs, ve) : (struct evr_sip_str){ NULL, 0 };
		if (VIEW_IEQ(n, "lr"))
			u->lr = true;
		else if (VIEW_IEQ(n, "transport"))
			u->transport = v;
		else if (VIEW_IEQ(n, "user"))
			u->user_param = v;
		else if (VIEW_IEQ(n, "maddr"))
			u->maddr = v;
		else if (VIEW_IEQ(n, "method"))
			u->method = v;
	}
	*pp = p;
	return true;
}

static bool uri_headers(const char *p, const char *e)
{
	while (p < e) {
		if (!uri_run(&p, e, C_HNV))
			return false;
		if (p == e)
			break;
		if (*p != '=' && *p != '&')
			return false;
		p++;
	}
	return true;
}

/* host = hostname / IPv4address / IPv6reference. Hostnames are letters,
 * digits, '-', '.' (and '_', seen in the wild from SRV-derived names). */
static bool uri_host(const char **pp, const char *e, struct evr_sip_str *host)
{
	const char *p = *pp, *s = p;

	if (p < e && *p == '[') {
		p++;
		p = span(p, e, C_V6);
		if (p == s + 1 || p == e || *p != ']')
			return false;
		p++;
	} else {
		p = span(p, e, C_HOST);
		if (p == s)
			return false;
	}
	*host = view(s, p);
	*pp = p;
	return true;
}

static bool uri_port(const char **pp, const char *e, uint16_t *port,
                     struct evr_sip_str *port_str)
{
	const char *p = *pp, *s = p;
	uint64_t v;

	p = span(p, e, C_DIGIT);
	if (p - s > 5 || !parse_uint(s, p, 65535, &v))
		return false;
	*port = (uint16_t)v;
	*port_str = view(s, p);
	*pp = p;
	return true;
}

static int uri_sip(const char *s, const char *e, struct evr_sip_uri *u)
{
	const char *at = find_byte(s, e, '@'), *p = s;

	if (at) {
		const char *colon = find_byte(s, at, ':');
		const char *ue = colon ? colon : at;

		if (!uri_run(&p, ue, C_USER) || p != ue || ue == s)
			return -EINVAL;
		u->user = view(s, ue);
		if (colon) {
			p = colon + 1;
			if (!uri_run(&p, at, C_PASS) || p != at)
				return -EINVAL;
			u->password = view(colon + 1, at);
		}
		p = at + 1;
	}
	if (!uri_host(&p, e, &u->host))
		return -EINVAL;
	if (p < e && *p == ':') {
		p++;
		if (!uri_port(&p, e, &u->port, &u->port_str))
			return -EINVAL;
	}
	if (p < e && *p == ';') {
		const char *ps = p + 1;

		if (!uri_params(&p, e, u))
			return -EINVAL;
		u->params = view(ps, p);
	}
	if (p < e && *p == '?') {
		if (!uri_headers(p + 1, e))
			return -EINVAL;
		u->headers = view(p + 1, e);
		p = e;
	}
	return p == e ? 0 : -EINVAL;
}

static int uri_tel(const char *s, const char *e, struct evr_sip_uri *u)
{
	const char *p = s;

	p = span(p, e, C_TEL);
	if (p == s)
		return -EINVAL;
	u->user = view(s, p);
	if (p < e && *p == ';') {
		const char *ps = p + 1;

		if (!uri_params(&p, e, u))
			return -EINVAL;
		u->params = view(ps, p);
	}
	return p == e ? 0 : -EINVAL;
}

int evr_sip_uri_parse(const char *p, size_t len, struct evr_sip_uri *u)
{
	const char *e, *s = p;

	zero_block(u, sizeof(*u));
	if (p == NULL || len == 0 || len > EVR_SIP_MAX_MSG)
		return -EINVAL;
	e = p + len;
	if (!cls((unsigned char)*p, C_ALPHA))
		return -EINVAL;
	p = span(p, e, C_SCHEME);
	if (p == e || *p != ':' || p + 1 == e)
		return -EINVAL;
	u->scheme_name = view(s, p);
	u->opaque = view(p + 1, e);
	/* No white space or control octets in any URI; the caller passes the
	 * URI alone (RFC 4475 lwsruri, badaspec). */
	if (has_ctl_or_sp(p + 1, e))
		return -EINVAL;
	if (VIEW_IEQ(u->scheme_name, "sip")) {
		u->scheme = EVR_SIP_SCHEME_SIP;
		return uri_sip(p + 1, e, u);
	}
	if (VIEW_IEQ(u->scheme_name, "sips")) {
		u->scheme = EVR_SIP_SCHEME_SIPS;
		return uri_sip(p + 1, e, u);
	}
	if (VIEW_IEQ(u->scheme_name, "tel")) {
		u->scheme = EVR_SIP_SCHEME_TEL;
		return uri_tel(p + 1, e, u);
	}
	u->scheme = EVR_SIP_SCHEME_OTHER;
	return 0;
}

/* ---- header value helpers ---- */

/* Closing quote of the quoted-string opening at *p (p[0] == '"'); NULL if
 * unterminated. quoted-pair is '\' followed by any octet. */
static const char *quoted_end(const char *p, const char *e)
{
	for (p++;; p++) {
		p = find_any4(p, e, '\\', '"', '"', '"');
		if (p == e)
			return NULL;
		if (*p == '"')
			return p;
		if (++p == e) /* quoted-pair: skip the escaped octet */
			return NULL;
	}
}

/*
 * End of the list element starting at p: the next comma outside a
 * quoted-string and <...>, or e. NULL on an unterminated quote or '<'.
 */
static const char *elem_end(const char *p, const char *e)
{
	bool angle = false;

	for (;; p++) {
		p = find_any4(p, e, '"', '<', '>', ',');
		if (p == e)
			break;
		if (*p == '"') {
			p = quoted_end(p, e);
			if (p == NULL)
				return NULL;
		} else if (*p == '<') {
			angle = true;
		} else if (*p == '>') {
			angle = false;
		} else if (*p == ',' && !angle) {
			return p;
		}
	}
	return angle ? NULL : e;
}

/*
 * Next generic parameter: LWS ";" LWS name [LWS "=" LWS value] with value a
 * token/host-like run or a quoted-string (view without the quotes). 1 with a
 * parameter, 0 at e, -1 on a syntax error. A name without value gets an
 * absent value view.
 */
static int next_param(const char **pp, const char *e, struct evr_sip_str *name,
                      struct evr_sip_str *val)
{
	const char *p = skip_lws(*pp, e), *s;

	if (p == e)
		return 0;
	if (*p != ';')
		return -1;
	p = skip_lws(p + 1, e);
	s = p;
	p = token_end(p, e);
	if (p == s)
		return -1;
	*name = view(s, p);
	*val = (struct evr_sip_str){ NULL, 0 };
	p = skip_lws(p, e);
	if (p < e && *p == '=') {
		p = skip_lws(p + 1, e);
		if (p < e && *p == '"') {
			const char *q = quoted_end(p, e);

			if (q == NULL)
				return -1;
			*val = view(p + 1, q);
			p = q + 1;
		} else {
			s = p;
			p = span(p, e, C_PVAL);
			if (p == s)
				return -1;
			*val = view(s, p);
		}
	}
	*pp = p;
	return 1;
}

/*
 * name-addr / addr-spec element [s, e) (RFC 3261 20.10, 25.1):
 *   [ quoted-string | *(token LWS) ] "<" URI ">" params
 *   URI params   (addr-spec: the URI ends at LWS or ';')
 * Sets display, uri_str, and *params_at to where the parameters start.
 */
static bool parse_addr(const char *s, const char *e, struct evr_sip_str *display,
                       struct evr_sip_str *uri_str, const char **params_at)
{
	const char *p = skip_lws(s, e), *q;

	*display = (struct evr_sip_str){ NULL, 0 };
	if (p == e)
		return false;
	if (*p == '"') {
		q = quoted_end(p, e);
		if (q == NULL)
			return false; /* RFC 4475 quotbal */
		*display = view(p + 1, q);
		p = skip_lws(q + 1, e);
		if (p == e || *p != '<')
			return false;
	} else if (*p != '<') {
		const char *ds = p, *de = p;

		q = token_end(p, e);
		if (q < e && *q == ':' && q > p && cls((unsigned char)*p, C_ALPHA)) {
			/* addr-spec: a URI, no display name, no <> */
			const char *us = p;

			while (p < e && !cls((unsigned char)*p, C_LWS) && *p != ';')
				p++;
			*uri_str = view(us, p);
			*params_at = p;
			return true;
		}
		/* unquoted display name: tokens separated by LWS, then '<'
		 * (RFC 4475 lwsdisp has none before it; baddn's ',' is not a
		 * token character) */
		while (p < e && *p != '<') {
			q = token_end(p, e);
			if (q == p)
				return false;
			de = q;
			p = skip_lws(q, e);
		}
		if (p == e)
			return false;
		*display = view(ds, de);
	}
	/* p at '<': the URI runs to '>' with no LWS (RFC 4475 badaspec) */
	q = find_byte(p, e, '>');
	if (q == NULL || q == p + 1)
		return false;
	*uri_str = view(p + 1, q);
	*params_at = q + 1;
	return true;
}

static bool parse_from_to(const char *s, const char *e, struct evr_sip_addr *a)
{
	struct evr_sip_str n, v;
	const char *p;
	int r;

	if (!parse_addr(s, e, &a->display, &a->uri_str, &p))
		return false;
	if (evr_sip_uri_parse(a->uri_str.p, a->uri_str.len, &a->uri) != 0)
		return false;
	p = skip_lws(p, e);
	a->params = view(p, trim_lws_end(p, e));
	while ((r = next_param(&p, e, &n, &v)) > 0)
		if (VIEW_IEQ(n, "tag"))
			a->tag = v;
	return r == 0;
}

static bool parse_contact(const char *s, const char *e, struct evr_sip_contact *c,
                          uint32_t *flags)
{
	struct evr_sip_str n, v;
	struct evr_sip_uri u;
	const char *p;
	int r;

	c->expires = -1;
	if (!parse_addr(s, e, &c->display, &c->uri_str, &p))
		return false;
	if (evr_sip_uri_parse(c->uri_str.p, c->uri_str.len, &u) != 0)
		return false;
	p = skip_lws(p, e);
	c->params = view(p, trim_lws_end(p, e));
	while ((r = next_param(&p, e, &n, &v)) > 0) {
		if (VIEW_IEQ(n, "expires")) {
			uint64_t x;

			/* RFC 4475 scalar02: an overlarge expiry may be treated
			 * as absent (the registrar's default applies) */
			if (v.p && parse_uint(v.p, v.p + v.len, UINT32_MAX, &x))
				c->expires = (int64_t)x;
			else
				*flags |= EVR_SIP_F_BAD_CONTACT_EXPIRES;
		} else if (VIEW_IEQ(n, "q")) {
			c->q = v;
		}
	}
	return r == 0;
}

/* via-parm: sent-protocol LWS sent-by *(SEMI via-params) (RFC 3261 20.42) */
static bool parse_via(const char *s, const char *e, struct evr_sip_via *v)
{
	const char *p = skip_lws(s, e), *q;
	struct evr_sip_str n, val;
	int r;

	q = token_end(p, e);
	if (q == p)
		return false;
	v->protocol = view(p, q);
	p = skip_lws(q, e);
	if (p == e || *p != '/')
		return false;
	p = skip_lws(p + 1, e);
	q = token_end(p, e);
	if (q == p)
		return false;
	v->version = view(p, q);
	p = skip_lws(q, e);
	if (p == e || *p != '/')
		return false;
	p = skip_lws(p + 1, e);
	q = token_end(p, e);
	if (q == p)
		return false;
	v->transport = view(p, q);
	p = skip_lws(q, e);
	if (p == q) /* LWS is mandatory between protocol and sent-by */
		return false;
	if (!VIEW_IEQ(v->protocol, "SIP"))
		return false;
	if (!uri_host(&p, e, &v->host))
		return false;
	q = skip_lws(p, e);
	if (q < e && *q == ':') {
		struct evr_sip_str ps;

		p = skip_lws(q + 1, e);
		if (!uri_port(&p, e, &v->port, &ps))
			return false;
	}
	q = skip_lws(p, e);
	v->params = view(q, trim_lws_end(q, e));
	while ((r = next_param(&p, e, &n, &val)) > 0) {
		if (VIEW_IEQ(n, "branch")) {
			v->branch = val;
		} else if (VIEW_IEQ(n, "received")) {
			v->received = val;
		} else if (VIEW_IEQ(n, "maddr")) {
			v->maddr = val;
		} else if (VIEW_IEQ(n, "rport")) {
			v->rport = true;
			v->rport_value = val.p ? val : view(n.p + n.len, n.p + n.len);
		}
	}
	return r == 0;
}

/* ---- message ---- */

struct pstate {
	struct evr_sip_msg *m;
	enum evr_sip_status late; /* first semantic error, reported at the end */
};

static void late(struct pstate *st, enum evr_sip_status s)
{
	if (st->late == EVR_SIP_OK)
		st->late = s;
}

static enum evr_sip_status hdr_via(struct pstate *st, const char *s, const char *e)
{
	struct evr_sip_msg *m = st->m;
	const char *p = s;

	for (;;) {
		const char *ee = elem_end(p, e);
		struct evr_sip_via tmp, *v;

		if (ee == NULL)
			return EVR_SIP_BAD_VIA;
		v = m->n_via < EVR_SIP_MAX_VIA ? &m->via[m->n_via] : &tmp;
		zero_block(v, sizeof(*v));
		if (!parse_via(p, ee, v))
			return EVR_SIP_BAD_VIA;
		if (m->n_via < EVR_SIP_MAX_VIA)
			m->n_via++;
		if (m->via_total < UINT16_MAX)
			m->via_total++;
		if (ee == e)
			return EVR_SIP_OK;
		p = ee + 1;
	}
}

static enum evr_sip_status hdr_contact(struct pstate *st, const char *s, const char *e)
{
	struct evr_sip_msg *m = st->m;
	const char *p = s;

	if (e - s == 1 && *s == '*') {
		if (m->contact_total > 0 || m->contact_star)
			return EVR_SIP_BAD_CONTACT;
		m->contact_star = true;
		return EVR_SIP_OK;
	}
	if (m->contact_star)
		return EVR_SIP_BAD_CONTACT; /* '*' must stand alone */
	for (;;) {
		const char *ee = elem_end(p, e);
		struct evr_sip_contact tmp, *c;

		if (ee == NULL)
			return EVR_SIP_BAD_CONTACT;
		c = m->n_contact < EVR_SIP_MAX_CONTACT ? &m->contact[m->n_contact] : &tmp;
		memset(c, 0, sizeof(*c));
		if (!parse_contact(p, ee, c, &m->flags))
			return EVR_SIP_BAD_CONTACT;
		if (m->n_contact < EVR_SIP_MAX_CONTACT)
			m->n_contact++;
		if (m->contact_total < UINT16_MAX)
			m->contact_total++;
		if (ee == e)
			return EVR_SIP_OK;
		p = ee + 1;
	}
}

/* Route / Record-Route: count the comma-separated entries. */
static bool count_list(const char *s, const char *e, uint16_t *count)
{
	const char *p = s;

	for (;;) {
		const char *ee = elem_end(p, e);

		if (ee == NULL)
			return false;
		if (*count < UINT16_MAX)
			(*count)++;
		if (ee == e)
			return true;
		p = ee + 1;
	}
}

static enum evr_sip_status hdr_cseq(struct pstate *st, const char *s, const char *e)
{
	struct evr_sip_msg *m = st->m;
	const char *p = s, *q;
	uint64_t v;

	while (p < e && evr_is_digit((unsigned char)*p))
		p++;
	/* RFC 4475 scalar02 / scalarlg: > 2^32-1 is an error */
	if (!parse_uint(s, p, UINT32_MAX, &v))
		return EVR_SIP_BAD_CSEQ;
	q = skip_lws(p, e);
	if (q == p)
		return EVR_SIP_BAD_CSEQ;
	p = token_end(q, e);
	if (p == q || skip_lws(p, e) != e)
		return EVR_SIP_BAD_CSEQ;
	m->cseq = (uint32_t)v;
	m->cseq_method_name = view(q, p);
	m->cseq_method = evr_sip_method_lookup(q, (size_t)(p - q));
	return EVR_SIP_OK;
}

/* Value up to the first ';' (media type, event type), trimmed. */
static struct evr_sip_str before_params(const char *s, const char *e)
{
	const char *p = find_byte(s, e, ';');

	return view(s, trim_lws_end(s, p ? p : e));
}

static enum evr_sip_status on_header(struct pstate *st, enum evr_sip_hdr id,
                                     const char *s, const char *e)
{
	struct evr_sip_msg *m = st->m;
	bool dup = evr_sip_has(m, id);
	uint64_t v;

	if (id != EVR_SIP_HDR_OTHER)
		m->present |= 1u << id;
	switch (id) {
	case EVR_SIP_HDR_VIA:
		return hdr_via(st, s, e);
	case EVR_SIP_HDR_FROM:
		if (dup) {
			late(st, EVR_SIP_DUPLICATE_HEADER);
			return EVR_SIP_OK;
		}
		return parse_from_to(s, e, &m->from) ? EVR_SIP_OK : EVR_SIP_BAD_FROM;
	case EVR_SIP_HDR_TO:
		if (dup) {
			late(st, EVR_SIP_DUPLICATE_HEADER);
			return EVR_SIP_OK;
		}
		return parse_from_to(s, e, &m->to) ? EVR_SIP_OK : EVR_SIP_BAD_TO;
	case EVR_SIP_HDR_CALL_ID:
		if (dup) {
			late(st, EVR_SIP_DUPLICATE_HEADER);
			return EVR_SIP_OK;
		}
		if (s == e)
			return EVR_SIP_BAD_CALL_ID;
		if (find_any4(s, e, ' ', '\t', '\r', '\n') != e)
			return EVR_SIP_BAD_CALL_ID;
		m->call_id = view(s, e);
		return EVR_SIP_OK;
	case EVR_SIP_HDR_CSEQ:
		if (dup) {
			late(st, EVR_SIP_DUPLICATE_HEADER);
			return EVR_SIP_OK;
		}
		return hdr_cseq(st, s, e);
	case EVR_SIP_HDR_CONTACT:
		return hdr_contact(st, s, e);
	case EVR_SIP_HDR_MAX_FORWARDS:
		if (dup) {
			late(st, EVR_SIP_DUPLICATE_HEADER);
			return EVR_SIP_OK;
		}
		/* RFC 4475 scalar02: out of range may be treated as absent */
		if (parse_uint(s, e, 255, &v))
			m->max_forwards = (int32_t)v;
		else
			m->flags |= EVR_SIP_F_BAD_MAX_FORWARDS;
		return EVR_SIP_OK;
	case EVR_SIP_HDR_EXPIRES:
		if (parse_uint(s, e, UINT32_MAX, &v))
			m->expires = (int64_t)v;
		else
			m->flags |= EVR_SIP_F_BAD_EXPIRES;
		return EVR_SIP_OK;
	case EVR_SIP_HDR_CONTENT_LENGTH: {
		const char *p = s;

		/* Saturate instead of failing on huge values: any value past
		 * the datagram is a mismatch, whatever its size. */
		v = 0;
		if (p == e)
			return EVR_SIP_BAD_CONTENT_LENGTH;
		for (; p < e; p++) {
			if (!evr_is_digit((unsigned char)*p))
				return EVR_SIP_BAD_CONTENT_LENGTH; /* ncl: -999 */
			if (v <= UINT32_MAX)
				v = v * 10 + (uint64_t)(*p - '0');
		}
		if (v > UINT32_MAX)
			v = UINT32_MAX;
		/* mcl01: two different values leave the framing unknown */
		if (dup && m->content_length != (uint32_t)v)
			return EVR_SIP_BAD_CONTENT_LENGTH;
		m->content_length = (uint32_t)v;
		return EVR_SIP_OK;
	}
	case EVR_SIP_HDR_CONTENT_TYPE:
		if (!dup)
			m->content_type = before_params(s, e);
		return EVR_SIP_OK;
	case EVR_SIP_HDR_EVENT:
		if (!dup)
			m->event = before_params(s, e);
		return EVR_SIP_OK;
	case EVR_SIP_HDR_USER_AGENT:
		if (!dup)
			m->user_agent = view(s, e);
		return EVR_SIP_OK;
	case EVR_SIP_HDR_SERVER:
		if (!dup)
			m->server = view(s, e);
		return EVR_SIP_OK;
	case EVR_SIP_HDR_ROUTE:
		count_list(s, e, &m->route_count);
		return EVR_SIP_OK;
	case EVR_SIP_HDR_RECORD_ROUTE:
		count_list(s, e, &m->record_route_count);
		return EVR_SIP_OK;
	default:
		return EVR_SIP_OK;
	}
}

/* "SIP/" 1*DIGIT "." 1*DIGIT, whole of [p, e). */
static bool parse_version(const char *p, const char *e, struct evr_sip_msg *m)
{
	const char *d;
	uint64_t maj, min;

	if (e - p < 7 || !evr_ieq(p, "SIP/", 4))
		return false;
	p += 4;
	d = find_byte(p, e, '.');
	if (d == NULL)
		return false;
	/* saturate: SIP/300.0 is well-formed, just not a version we speak */
	if (!parse_uint(p, d, UINT64_MAX / 10, &maj) || !parse_uint(d + 1, e, UINT64_MAX / 10, &min))
		return false;
	m->version_major = maj > 255 ? 255 : (uint8_t)maj;
	m->version_minor = min > 255 ? 255 : (uint8_t)min;
	return true;
}

static enum evr_sip_status parse_start(const char *s, const char *e, struct evr_sip_msg *m)
{
	const char *p, *q;

	if (e - s >= 4 && evr_ieq(s, "SIP/", 4)) {
		uint64_t code;

		m->is_request = false;
		p = find_byte(s, e, ' ');
		if (p == NULL || !parse_version(s, p, m))
			return EVR_SIP_BAD_START_LINE;
		q = ++p;
		while (q < e && evr_is_digit((unsigned char)*q))
			q++;
		if (q - p != 3 || !parse_uint(p, q, 699, &code) || code < 100)
			return EVR_SIP_BAD_STATUS_CODE; /* RFC 4475 bigcode */
		m->status_code = (uint16_t)code;
		if (q == e) /* no SP before an empty reason: be liberal */
			m->reason = view(q, q);
		else if (*q == ' ')
			m->reason = view(q + 1, e);
		else
			return EVR_SIP_BAD_STATUS_CODE;
		return EVR_SIP_OK;
	}

	/* Method SP Request-URI SP SIP-Version, single SPs (RFC 4475 lwsstart,
	 * trws and lwsruri are refused) */
	m->is_request = true;
	p = token_end(s, e);
	if (p == s || p == e || *p != ' ')
		return EVR_SIP_BAD_START_LINE;
	m->method_name = view(s, p);
	m->method = evr_sip_method_lookup(s, (size_t)(p - s));
	p++;
	q = find_byte(p, e, ' ');
	if (q == NULL)
		q = e;
	if (q == p || q == e)
		return EVR_SIP_BAD_START_LINE;
	m->ruri_str = view(p, q);
	if (!parse_version(q + 1, e, m))
		return EVR_SIP_BAD_START_LINE;
	if (evr_sip_uri_parse(p, (size_t)(q - p), &m->ruri) != 0)
		return EVR_SIP_BAD_REQUEST_URI; /* ltgtruri */
	return EVR_SIP_OK;
}

/* NUL anywhere, or CR not followed by LF, in a logical line. Every header
 * byte passes here, so words without NUL or CR (nearly all of them: CR
 * only ends physical lines) are skipped eight bytes at a time. */
static enum evr_sip_status check_line(const char *p, const char *e)
{
	while (e - p >= 8) {
		const char *q = p + 8;
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		if ((evr_has_zero8(v) | evr_has_zero8(v ^ 0x0d0d0d0d0d0d0d0dull)) == 0) {
			p = q;
			continue;
		}
		for (; p < q; p++) {
			if (*p == '\0')
				return EVR_SIP_NUL_BYTE;
			if (*p == '\r' && (p + 1 == e || p[1] != '\n'))
				return EVR_SIP_BAD_HEADER;
		}
	}
	for (; p < e; p++) {
		if (*p == '\0')
			return EVR_SIP_NUL_BYTE;
		if (*p == '\r' && (p + 1 == e || p[1] != '\n'))
			return EVR_SIP_BAD_HEADER;
	}
	return EVR_SIP_OK;
}

/* Physical line from p: *le = end of content (before CR LF), returns the
 * start of the next line, or NULL if no LF before e. */
static const char *line_end(const char *p, const char *e, const char **le,
                            uint32_t *flags)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	if (nl == NULL)
		return NULL;
	if (nl > p && nl[-1] == '\r') {
		*le = nl - 1;
	} else {
		*le = nl;
		*flags |= EVR_SIP_F_BARE_LF;
	}
	return nl + 1;
}

/* First '\n', '\r' or NUL in [p, e), or e. */
static inline const char *find_eol(const char *p, const char *e)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	const __m128i z = _mm_setzero_si128();

	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, cr)),
		                           _mm_cmpeq_epi8(v, z));
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);

		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (e - p >= 8) {
		uint64_t v, mask;

		memcpy(&v, p, sizeof(v));
		/* each term's lowest flag is exact, so the lowest of the OR is */
		mask = evr_has_zero8(v) | evr_has_zero8(v ^ evr_bcast8('\n'))
		       | evr_has_zero8(v ^ evr_bcast8('\r'));
		if (mask)
			return p + (__builtin_ctzll(mask) >> 3);
		p += 8;
	}
#endif
	for (; p < e; p++)
		if (*p == '\n' || *p == '\r' || *p == '\0')
			break;
	return p;
}

/*
 * line_end() and check_line() in one pass, for the common line: the first
 * of LF, CR, NUL is either the CR of a CRLF or a bare LF, and then the
 * physical line is proven free of NUL and stray CR as well as delimited.
 * Anything else (a NUL, a lone CR, no line end) sets *dirty and falls back
 * to line_end(); the caller then runs check_line() over the logical line,
 * so statuses and their precedence are exactly the two-pass ones.
 */
static inline const char *line_next(const char *p, const char *e, const char **le,
                                    uint32_t *flags, bool *dirty)
{
	const char *q = find_eol(p, e);

	if (q < e) {
		if (*q == '\n') {
			*le = q;
			*flags |= EVR_SIP_F_BARE_LF;
			return q + 1;
		}
		if (*q == '\r' && q + 1 < e && q[1] == '\n') {
			*le = q;
			return q + 2;
		}
	}
	*dirty = true;
	return line_end(p, e, le, flags);
}

enum evr_sip_status evr_sip_parse(const char *buf, size_t len, struct evr_sip_msg *m)
{
	struct pstate st = { .m = m, .late = EVR_SIP_OK };
	const char *p = buf, *e, *le, *next;
	enum evr_sip_status r;
	bool dirty = false;

	/* Clear the scalar part only: the arrays are bounded by their counts,
	 * and zeroing ~8 KiB per datagram would dominate small messages. */
	zero_block(m, offsetof(struct evr_sip_msg, via));
	m->max_forwards = -1;
	m->expires = -1;
	if (len == 0 || buf == NULL)
		return EVR_SIP_EMPTY;
	if (len > EVR_SIP_MAX_MSG)
		return EVR_SIP_OVERSIZE;
	e = buf + len;

	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	if (p == e)
		return EVR_SIP_KEEPALIVE;

	next = line_next(p, e, &le, &m->flags, &dirty);
	if (next == NULL)
		return EVR_SIP_TRUNCATED_HEADERS;
	if (le - p > (ptrdiff_t)EVR_SIP_MAX_LINE)
		return EVR_SIP_LINE_TOO_LONG;
	if (dirty && (r = check_line(p, le)) != EVR_SIP_OK)
		return r == EVR_SIP_BAD_HEADER ? EVR_SIP_BAD_START_LINE : r;
	if ((r = parse_start(p, le, m)) != EVR_SIP_OK)
		return r;
	p = next;

	for (;;) {
		const char *ls = p, *ne, *vs, *ve;
		struct evr_sip_header *h;
		enum evr_sip_hdr id;

		if (p == e)
			return EVR_SIP_TRUNCATED_HEADERS;
		if (*p == '\n') {
			m->flags |= EVR_SIP_F_BARE_LF;
			p++;
			break;
		}
		if (*p == '\r') {
			if (p + 1 < e && p[1] == '\n') {
				p += 2;
				break;
			}
			return p + 1 == e ? EVR_SIP_TRUNCATED_HEADERS : EVR_SIP_BAD_HEADER;
		}
		if (*p == ' ' || *p == '\t')
			return EVR_SIP_BAD_HEADER; /* continuation of nothing */
		/* logical line: physical lines while the next starts with WSP */
		dirty = false;
		for (;;) {
			next = line_next(p, e, &le, &m->flags, &dirty);
			if (next == NULL)
				return EVR_SIP_TRUNCATED_HEADERS;
			if (le - ls > (ptrdiff_t)EVR_SIP_MAX_LINE)
				return EVR_SIP_LINE_TOO_LONG;
			if (next < e && (*next == ' ' || *next == '\t'))
				p = next;
			else
				break;
		}
		if (dirty && (r = check_line(ls, le)) != EVR_SIP_OK)
			return r;
		ne = header_name(ls, le, &id);
		if (ne == ls)
			return EVR_SIP_BAD_HEADER;
		vs = ne;
		while (vs < le && (*vs == ' ' || *vs == '\t'))
			vs++;
		if (vs == le || *vs != ':')
			return EVR_SIP_BAD_HEADER;
		vs = skip_lws(vs + 1, le);
		ve = trim_lws_end(vs, le);
		if (m->n_headers == EVR_SIP_MAX_HEADERS)
			return EVR_SIP_TOO_MANY_HEADERS;
		h = &m->headers[m->n_headers++];
		h->name = view(ls, ne);
		h->value = view(vs, ve);
		h->id = id;
		if ((r = on_header(&st, id, vs, ve)) != EVR_SIP_OK)
			return r;
		p = next;
	}

	/* body */
	{
		size_t avail = (size_t)(e - p);

		if (evr_sip_has(m, EVR_SIP_HDR_CONTENT_LENGTH)) {
			if (m->content_length > avail)
				return EVR_SIP_CONTENT_LENGTH_MISMATCH; /* clerr */
			m->body = view(p, p + m->content_length);
			m->trailing = (uint32_t)(avail - m->content_length);
		} else {
			m->body = view(p, e);
		}
	}

	if (!m->is_request) {
		m->method = m->cseq_method;
		m->method_name = m->cseq_method_name;
	}
	if (m->version_major != 2 || m->version_minor != 0)
		return EVR_SIP_BAD_VERSION; /* badvers: the endpoint answers 505 */
	if (st.late != EVR_SIP_OK)
		return st.late;
	if (!evr_sip_has(m, EVR_SIP_HDR_TO))
		return EVR_SIP_MISSING_TO;
	if (!evr_sip_has(m, EVR_SIP_HDR_FROM))
		return EVR_SIP_MISSING_FROM;
	if (!evr_sip_has(m, EVR_SIP_HDR_CALL_ID))
		return EVR_SIP_MISSING_CALL_ID;
	if (!evr_sip_has(m, EVR_SIP_HDR_CSEQ))
		return EVR_SIP_MISSING_CSEQ;
	if (m->via_total == 0)
		return EVR_SIP_MISSING_VIA;
	/* RFC 3261 8.1.1.5: the CSeq method matches the request method, octet
	 * for octet (mismatch01, mismatch02) */
	if (m->is_request && (m->method_name.len != m->cseq_method_name.len ||
	                      memcmp(m->method_name.p, m->cseq_method_name.p,
	                             m->method_name.len) != 0))
		return EVR_SIP_CSEQ_METHOD_MISMATCH;
	return EVR_SIP_OK;
}

const struct evr_sip_header *evr_sip_find(const struct evr_sip_msg *m,
                                          enum evr_sip_hdr h)
{
	if (h == EVR_SIP_HDR_OTHER || !evr_sip_has(m, h))
		return NULL;
	for (uint32_t i = 0; i < m->n_headers; i++)
		if (m->headers[i].id == h)
			return &m->headers[i];
	return NULL;
}

const struct evr_sip_header *evr_sip_find_name(const struct evr_sip_msg *m,
                                               const char *name, size_t len)
{
	for (uint32_t i = 0; i < m->n_headers; i++)
		if (m->headers[i].name.len == len && evr_ieq(m->headers[i].name.p, name, len))
			return &m->headers[i];
	return NULL;
}

/* ---- SIP status -> FreeSWITCH hangup cause ---- */

/*
 * Seed 004 ("SIP Status Code Mapping") first, then mod_sofia's
 * sip -> switch_call_cause_t table (RFC 4497 8.4.4) for the other codes. The
 * seed page attributes the table to switch_core.c; in FreeSWITCH it lives in
 * mod_sofia (sofia_glue_sip_cause_to_freeswitch). Where the two disagree the
 * page wins, as the brief asks:
 *  - 408: page NO_USER_RESPONSE; mod_sofia RECOVERY_ON_TIMER_EXPIRE (which
 *    it also uses for 504, kept here).
 *  - 480: page NO_ANSWER; mod_sofia NO_USER_RESPONSE.
 *  - 503: page SWITCH_CONGESTION; mod_sofia NORMAL_TEMPORARY_FAILURE.
 *  - 404: UNALLOCATED_NUMBER in both (older mod_sofia had
 *    NO_ROUTE_DESTINATION).
 */
/* X(ENUM, value): FreeSWITCH switch_call_cause_t names and values: the
 * Q.850 causes it names, and its own ORIGINATOR_CANCEL. The one table of
 * cause names (SIP state names a Reason header's Q.850 value with it). */
#define FS_CAUSES(X)                                                           \
	X(UNALLOCATED_NUMBER, 1)                                               \
	X(NO_ROUTE_TRANSIT_NET, 2)                                             \
	X(NO_ROUTE_DESTINATION, 3)                                             \
	X(CHANNEL_UNACCEPTABLE, 6)                                             \
	X(CALL_AWARDED_DELIVERED, 7)                                           \
	X(NORMAL_CLEARING, 16)                                                 \
	X(USER_BUSY, 17)                                                       \
	X(NO_USER_RESPONSE, 18)                                                \
	X(NO_ANSWER, 19)                                                       \
	X(SUBSCRIBER_ABSENT, 20)                                               \
	X(CALL_REJECTED, 21)                                                   \
	X(NUMBER_CHANGED, 22)                                                  \
	X(REDIRECTION_TO_NEW_DESTINATION, 23)                                  \
	X(EXCHANGE_ROUTING_ERROR, 25)                                          \
	X(DESTINATION_OUT_OF_ORDER, 27)                                        \
	X(INVALID_NUMBER_FORMAT, 28)                                           \
	X(FACILITY_REJECTED, 29)                                               \
	X(RESPONSE_TO_STATUS_ENQUIRY, 30)                                      \
	X(NORMAL_UNSPECIFIED, 31)                                              \
	X(NORMAL_CIRCUIT_CONGESTION, 34)                                       \
	X(NETWORK_OUT_OF_ORDER, 38)                                            \
	X(NORMAL_TEMPORARY_FAILURE, 41)                                        \
	X(SWITCH_CONGESTION, 42)                                               \
	X(ACCESS_INFO_DISCARDED, 43)                                           \
	X(REQUESTED_CHAN_UNAVAIL, 44)                                          \
	X(PRE_EMPTED, 45)                                                      \
	X(FACILITY_NOT_SUBSCRIBED, 50)                                         \
	X(OUTGOING_CALL_BARRED, 52)                                            \
	X(INCOMING_CALL_BARRED, 54)                                            \
	X(BEARERCAPABILITY_NOTAUTH, 57)                                        \
	X(BEARERCAPABILITY_NOTAVAIL, 58)                                       \
	X(SERVICE_UNAVAILABLE, 63)                                             \
	X(BEARERCAPABILITY_NOTIMPL, 65)                                        \
	X(CHAN_NOT_IMPLEMENTED, 66)                                            \
	X(FACILITY_NOT_IMPLEMENTED, 69)                                        \
	X(SERVICE_NOT_IMPLEMENTED, 79)                                         \
	X(INVALID_CALL_REFERENCE, 81)                                          \
	X(INCOMPATIBLE_DESTINATION, 88)                                        \
	X(INVALID_MSG_UNSPECIFIED, 95)                                         \
	X(MANDATORY_IE_MISSING, 96)                                            \
	X(MESSAGE_TYPE_NONEXIST, 97)                                           \
	X(WRONG_MESSAGE, 98)                                                   \
	X(IE_NONEXIST, 99)                                                     \
	X(INVALID_IE_CONTENTS, 100)                                            \
	X(WRONG_CALL_STATE, 101)                                               \
	X(RECOVERY_ON_TIMER_EXPIRE, 102)                                       \
	X(MANDATORY_IE_LENGTH_ERROR, 103)                                      \
	X(PROTOCOL_ERROR, 111)                                                 \
	X(INTERWORKING, 127)                                                   \
	X(ORIGINATOR_CANCEL, 487) /* FreeSWITCH-specific, not Q.850 */

enum fs_cause {
#define X(e, v) FS_##e,
	FS_CAUSES(X)
#undef X
};

static const struct {
	const char *name;
	unsigned value;
} fs_causes[] = {
#define X(e, v) [FS_##e] = { #e, v },
	FS_CAUSES(X)
#undef X
};

static enum fs_cause sip_cause(unsigned status)
{
	switch (status) {
	case 200:
		return FS_NORMAL_CLEARING;
	case 401: case 402: case 403: case 407: case 603:
		return FS_CALL_REJECTED;
	case 404:
		return FS_UNALLOCATED_NUMBER;
	case 485: case 604:
		return FS_NO_ROUTE_DESTINATION;
	case 408:
		return FS_NO_USER_RESPONSE;
	case 504:
		return FS_RECOVERY_ON_TIMER_EXPIRE;
	case 410:
		return FS_NUMBER_CHANGED;
	case 413: case 414: case 416: case 420: case 421: case 423: case 505: case 513:
		return FS_INTERWORKING;
	case 480:
		return FS_NO_ANSWER;
	case 400: case 481: case 500:
		return FS_NORMAL_TEMPORARY_FAILURE;
	case 503:
		return FS_SWITCH_CONGESTION;
	case 486: case 600:
		return FS_USER_BUSY;
	case 484:
		return FS_INVALID_NUMBER_FORMAT;
	case 488: case 606:
		return FS_INCOMPATIBLE_DESTINATION;
	case 502:
		return FS_NETWORK_OUT_OF_ORDER;
	case 405:
		return FS_SERVICE_UNAVAILABLE;
	case 406: case 415: case 501:
		return FS_SERVICE_NOT_IMPLEMENTED;
	case 482: case 483:
		return FS_EXCHANGE_ROUTING_ERROR;
	case 487:
		return FS_ORIGINATOR_CANCEL;
	default:
		return FS_NORMAL_UNSPECIFIED;
	}
}

const char *evr_sip_status_to_cause(unsigned status, unsigned *q850)
{
	enum fs_cause c;

	if (status < 100 || status > 699)
		return NULL;
	c = sip_cause(status);
	if (q850)
		*q850 = fs_causes[c].value;
	return fs_causes[c].name;
}

const char *evr_sip_q850_name(unsigned q850)
{
	if (q850 > 127) /* Q.850 values; ORIGINATOR_CANCEL is not one */
		return "UNKNOWN";
	switch (q850) {
#define X(e, v) case v: return #e;
	FS_CAUSES(X)
#undef X
	default:
		return "UNKNOWN"; /* switch_channel_cause2str() of an unlisted value */
	}
}
