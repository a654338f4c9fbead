/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notification encoders: struct evr_event -> jsonrpc | plain | json | xml bytes.
 *
 * Design note. Each encoder is one pass over the event into the caller's
 * buffer: no allocation, no stdio, every write bounds-checked, and any
 * overflow turns the whole call into -ENOSPC (the buffer then holds garbage;
 * nothing is ever silently cut). The writers below take and return a cursor
 * and pass NULL through once the buffer is full, so the format code reads
 * as a straight sequence of writes with one check at the end. Each escape
 * set is one 256-entry table; since values are mostly clean and short, the
 * scanners find the clean prefix 16 bytes at a time (SSE2) or 8 (SWAR) and
 * copy runs with overlapping word moves instead of calling memcpy (see
 * "byte scanning"). Measured: a 65-header CHANNEL_CREATE (~2.4 KB) takes
 * ~0.85 us as JSON and ~1.15 us as plain on the dev VM, a 15-param OpenSIPS
 * contact event 0.18-0.28 us; the byte-at-a-time first version was 1.5x
 * slower.
 *
 * Where the formats come from (read, not copied):
 *
 *  jsonrpc - OpenSIPS 3.1..3.6 evi/evi_transport.c evi_build_payload() +
 *    payload_add_params(), called by modules/event_datagram/event_datagram.c
 *    datagram_raise() with id 0 and no extra param, printed by
 *    cJSON_PrintUnformatted() from OpenSIPS's lib/cJSON.c. (OpenSIPS 3.0
 *    event_datagram still sent its own line format, not JSON-RPC.) So:
 *    - keys "jsonrpc","method","params", in that order, no whitespace;
 *    - "params" is omitted when the event has no parameters (params NULL or
 *      empty list); with parameters it is an object in parameter order, or
 *      an array of the values when the first parameter has no name
 *      (core_cmds.c raise_event() without an attribute list calls
 *      evi_raise_script_event() with NULL names; payload_add_params() then
 *      builds a cJSON array);
 *    - integer parameters are printed as numbers ("%d"), a string parameter
 *      whose pointer is NULL as null, an empty string as "";
 *    - cJSON print_string_ptr() escapes '"' '\\' and \b \f \n \r \t with
 *      their short forms, every other byte below 0x20 as \u00xx with
 *      LOWERCASE hex, and passes everything else through unchanged: '/' is
 *      not escaped, 0x7f and bytes >= 0x80 (UTF-8 or not) go out raw. Keys
 *      are escaped the same way. (So does this encoder; a notification
 *      carrying non-UTF-8 bytes, possible only from a FreeSWITCH plain
 *      source, is refused by any strict JSON reader, this router's own
 *      decoders included: RFC 8259 JSON is UTF-8.)
 *    Our mapping: an event decoded from JSON-RPC keeps every param as
 *    received, Event-Name included (OpenSIPS forwards a script attribute of
 *    that name; the event name is the method). For events from FreeSWITCH
 *    sources an attribute named Event-Name (any case) is skipped, it is the
 *    method. An event marked positional (params arrived as an array, named
 *    "1","2",... for filters) is sent as an array of its values, in order.
 *    EVR_STR_LITERAL values go out verbatim if they are a valid JSON
 *    number/true/false/null, else as a string (so output is always valid
 *    JSON); EVR_STR_NULL with an empty value is null. The body, the
 *    subclass (unless present as an attribute) and seq are not carried.
 *    Known difference from OpenSIPS, for an input OpenSIPS cannot make: a
 *    NUL byte inside a value is written as \u0000 (cJSON works on C strings
 *    and would cut the value there).
 *
 *  plain - FreeSWITCH src/switch_event.c switch_event_serialize(encode=TRUE)
 *    and src/switch_utils.c switch_url_encode_opt(); envelope from
 *    src/mod/event_handlers/mod_event_socket/mod_event_socket.c (event loop:
 *    "Content-Length: %d\nContent-Type: text/event-%s\n\n" then the event);
 *    parsed by libs/esl/src/esl.c esl_recv_event(). So:
 *    - each header is "Name: value\n" with the value URL-encoded as %XX with
 *      UPPERCASE hex for bytes < 0x20, > 0x7e (0x7f and every high byte,
 *      since FreeSWITCH tests a signed char) and SWITCH_URL_UNSAFE
 *      "\r\n #%&+:;<=>?@[\\]^`{|}\""; space is %20, never '+';
 *    - a header whose encoded value is empty is written "Name: _undef_";
 *    - then, with a non-empty body, "Content-Length: M\n\n" + body (no
 *      trailing newline); without one, a single "\n".
 *    Header order (FreeSWITCH order comes from the event itself; ours is
 *    fixed so output is deterministic): Event-Name (ev->name), then
 *    Event-Subclass (ev->subclass) if set, then the attributes in order, with
 *    "Event-Sequence: <seq>" right after the first Event-Calling-Line-Number
 *    (where switch_event_prep_for_delivery puts it, after the standard
 *    headers), or last when there is none. Attributes skipped: Event-Name, Event-Sequence,
 *    Content-Length (ESL would take it as the body length), and
 *    Event-Subclass when ev->subclass is set (otherwise it stays in place).
 *    Deliberate differences from FreeSWITCH, both making the encoding
 *    lossless where FreeSWITCH's is not:
 *    - '%' is always encoded. FreeSWITCH leaves a '%' followed by two
 *      uppercase hex digits as is (no double encoding), so a value "%41"
 *      reaches the client as "A". Any URL decoder reads our form correctly.
 *    - a value that is literally "_undef_" is sent as "%5Fundef%5F", which
 *      decodes to the same text but is not the empty-value marker.
 *    - header names are written raw like FreeSWITCH does, except bytes that
 *      would break the framing (< 0x20, 0x7f, ':' and '%' to keep it
 *      reversible) which are %XX-encoded; FreeSWITCH's own names never
 *      contain them.
 *
 *  json - FreeSWITCH switch_event_serialize_json_obj() printed with
 *    cJSON_PrintUnformatted() from src/cJSON.c (cJSON 1.7.12, same escaping
 *    rules as OpenSIPS's copy above): a flat object of string values in
 *    header order, and with a body "Content-Length":"<M>" then "_body". Our
 *    header order and skip rules are the plain ones (a "_body" attribute is
 *    also skipped); "Event-Sequence" is a string; empty and null values are
 *    ""; literal flags are ignored, FreeSWITCH JSON carries strings. This is
 *    the event object alone: mod_event_socket would prefix it with an
 *    envelope (Content-Type: text/event-json), which evr_encode.h leaves out.
 *
 *  xml - FreeSWITCH switch_event_xmlize(event, SWITCH_VA_NONE) printed by
 *    switch_xml_toxml(xml, SWITCH_FALSE) (src/switch_event.c add_xml_header,
 *    src/switch_xml.c switch_xml_toxml_r / switch_xml_ampencode with
 *    USE_UTF_8_ENCODING), as mod_event_socket sends text/event-xml:
 *      <event>\n  <headers>\n    <Name>value</Name>\n ...  </headers>\n
 *      [  <Content-Length>M</Content-Length>\n  <body>text</body>\n]</event>\n
 *    - header order and skip rules are the plain ones; values are
 *      URL-encoded exactly as in plain (so no XML escape is ever needed in
 *      them); an empty value is an empty element, not _undef_; header names
 *      are written as plain writes them;
 *    - the body (only when non-empty) is escaped by switch_xml_ampencode's
 *      text rules: & < > as entities, CR as &#xD;, '"' LF TAB as they are,
 *      every UTF-8 sequence as &#xHEX; of its code point; a byte that cannot
 *      start or continue a sequence is dropped, as FreeSWITCH drops it (a
 *      sequence cut by another byte loses that byte too); "<!" copies the
 *      rest of the body verbatim (ezxml's CDATA/comment immunity); a NUL
 *      ends the body text, as it ends FreeSWITCH's C string.
 *    The ESL envelope is left out, as for json.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "util/evr_bytes.h"
#include "evr_encode.h"

/* ---- escape tables (built at compile time, standard C) ----------------- */

#define T4(F, b) F(b), F((b) + 1), F((b) + 2), F((b) + 3)
#define T16(F, b) T4(F, b), T4(F, (b) + 4), T4(F, (b) + 8), T4(F, (b) + 12)
#define T256(F)                                                                \
	T16(F, 0x00), T16(F, 0x10), T16(F, 0x20), T16(F, 0x30), T16(F, 0x40),  \
	T16(F, 0x50), T16(F, 0x60), T16(F, 0x70), T16(F, 0x80), T16(F, 0x90),  \
	T16(F, 0xa0), T16(F, 0xb0), T16(F, 0xc0), T16(F, 0xd0), T16(F, 0xe0),  \
	T16(F, 0xf0)

/* JSON: 0 = copy, else the letter after the backslash ('u' = \u00xx). */
#define JSON_ESC(c)                                                            \
	((c) == '"' ? '"' : (c) == '\\' ? '\\' : (c) == '\b' ? 'b'             \
	 : (c) == '\f' ? 'f' : (c) == '\n' ? 'n' : (c) == '\r' ? 'r'           \
	 : (c) == '\t' ? 't' : (c) < 0x20 ? 'u' : 0)
static const unsigned char json_esc[256] = { T256(JSON_ESC) };

/* FreeSWITCH value encoding: < ' ', > '~' or in SWITCH_URL_UNSAFE. */
#define URL_UNSAFE(c)                                                          \
	((c) < 0x20 || (c) > 0x7e || (c) == ' ' || (c) == '"' || (c) == '#'    \
	 || (c) == '%' || (c) == '&' || (c) == '+' || (c) == ':' || (c) == ';' \
	 || (c) == '<' || (c) == '=' || (c) == '>' || (c) == '?' || (c) == '@' \
	 || (c) == '[' || (c) == '\\' || (c) == ']' || (c) == '^' || (c) == '`' \
	 || (c) == '{' || (c) == '|' || (c) == '}')
static const unsigned char url_unsafe[256] = { T256(URL_UNSAFE) };

/* Header names: only what breaks "Name: value\n" framing, plus '%'. */
#define NAME_UNSAFE(c) ((c) < 0x20 || (c) == 0x7f || (c) == ':' || (c) == '%')
static const unsigned char name_unsafe[256] = { T256(NAME_UNSAFE) };

static const char hex_upper[] = "0123456789ABCDEF";

/* ---- byte scanning ------------------------------------------------------ */

/*
 * Values are mostly clean (no byte to escape) and short (a few to a few
 * dozen bytes), so the scanners answer "how long is the clean prefix" a
 * block at a time: 16 bytes with SSE2 (x86-64 baseline), else 8 bytes SWAR,
 * and cover the tail with one overlapping block instead of a byte loop. A
 * block test may over-report (the URL one flags rare safe bytes such as
 * '!' or '~'); the exact 256-entry table then decides byte by byte, so the
 * tables stay the single definition of each escape set.
 */

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return x;
}

/* Any byte < 0x20, '"' or '\\'. Exact as a yes/no answer. */
static inline bool json_dirty8(uint64_t x)
{
	uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
	uint64_t lt = (x - ONES * 0x20) & ~x;
	uint64_t zq = (q - ONES) & ~q;
	uint64_t zb = (b - ONES) & ~b;
	return ((lt | zq | zb) & HIGH) != 0;
}

/* Per byte of a 7-bit x: high bit set iff byte >= lo (no carry can cross
 * bytes because every byte and the addend stay below 0x80). */
static inline uint64_t ge7(uint64_t x, unsigned lo)
{
	return (x + ONES * (0x80u - lo)) & HIGH;
}

/* Any byte outside [-./0-9A-Za-z_]: a superset of the URL-unsafe set. */
static inline bool url_dirty8(uint64_t x)
{
	if (x & HIGH)
		return true;
	uint64_t y = x | (ONES * 0x20); /* folds A-Z onto a-z */
	uint64_t z = x ^ (ONES * '_');
	uint64_t digit = ge7(x, '-') & ~ge7(x, '9' + 1);
	uint64_t alpha = ge7(y, 'a') & ~ge7(y, 'z' + 1);
	uint64_t under = ~(((z & ~HIGH) + ~HIGH) | z) & HIGH;
	return (digit | alpha | under) != HIGH;
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Bit i set if byte i needs a JSON escape. */
static inline unsigned json_dirty16(const unsigned char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i c = _mm_set1_epi8(0x1f);
	__m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, c), c);
	__m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
	__m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(q, b)));
}

/* Bit i set if byte i is outside [-./0-9A-Za-z_] (signed compares leave
 * bytes >= 0x80 outside every range). */
static inline unsigned url_dirty16(const unsigned char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i y = _mm_or_si128(x, _mm_set1_epi8(0x20));
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('-' - 1)),
	                              _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(y, _mm_set1_epi8('a' - 1)),
	                              _mm_cmplt_epi8(y, _mm_set1_epi8('z' + 1)));
	__m128i under = _mm_cmpeq_epi8(x, _mm_set1_epi8('_'));
	__m128i ok = _mm_or_si128(_mm_or_si128(digit, alpha), under);
	return ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
}
#endif

enum scan { SCAN_JSON, SCAN_URL };

static inline bool dirty8(enum scan k, uint64_t x)
{
	return k == SCAN_JSON ? json_dirty8(x) : url_dirty8(x);
}

/* Length of the clean prefix of s[0..n): block tests, then the table.
 * Forced inline so the constant k folds away at each call site (left to
 * itself gcc 12 keeps one shared copy, 20% slower end to end). */
static inline __attribute__((always_inline)) size_t
clean_prefix(enum scan k, const unsigned char *s, size_t n)
{
	const unsigned char *tab = k == SCAN_JSON ? json_esc : url_unsafe;
	size_t i = 0;

#ifdef __SSE2__
	for (; i + 16 <= n; i += 16) {
		unsigned m = k == SCAN_JSON ? json_dirty16(s + i) : url_dirty16(s + i);
		if (m) {
			i += (size_t)__builtin_ctz(m);
			goto bytes;
		}
	}
	/* tail: one overlapping block, bytes before i are clean */
	if (n >= 16 && i < n
	    && !(k == SCAN_JSON ? json_dirty16(s + n - 16) : url_dirty16(s + n - 16)))
		return n;
#endif
	for (; i + 8 <= n; i += 8)
		if (dirty8(k, load64(s + i)))
			goto bytes;
	if (i == n)
		return n;
	if (n >= 8) {
		if (!dirty8(k, load64(s + n - 8)))
			return n;
	} else if (n >= 4) {
		uint64_t x = (uint64_t)load32(s) | (uint64_t)load32(s + n - 4) << 32;
		if (!dirty8(k, x))
			return n;
	}
bytes:
	while (i < n && !tab[s[i]])
		i++;
	return i;
}

/* ---- cursor writers: return the new cursor, NULL once out of room ------- */

static inline char *put(char *w, const char *end, const char *s, size_t n)
{
	if (!w || (size_t)(end - w) < n)
		return NULL;
	evr_copy_small(w, s, n);
	return w + n;
}

static inline char *put_c(char *w, const char *end, char c)
{
	if (!w || w == end)
		return NULL;
	*w++ = c;
	return w;
}

static inline char *put_u64(char *w, const char *end, uint64_t v)
{
	char tmp[20];
	size_t n = evr_u64dec(tmp, v);
	return put(w, end, tmp, n);
}

static inline unsigned ndigits(size_t v)
{
	unsigned d = 1;
	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* "..." with the cJSON escaping rules described in the design note. */
static char *put_json_str(char *w, const char *end, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	w = put_c(w, end, '"');
	while (w) {
		size_t run = clean_prefix(SCAN_JSON, s, n);
		w = put(w, end, (const char *)s, run);
		if (!w || run == n)
			break;
		unsigned char c = s[run], e = json_esc[c];
		if (e != 'u') {
			if ((size_t)(end - w) < 2)
				return NULL;
			w[0] = '\\';
			w[1] = (char)e;
			w += 2;
		} else {
			if ((size_t)(end - w) < 6)
				return NULL;
			memcpy(w, "\\u00", 4);
			w[4] = evr_hex_digit(c >> 4);
			w[5] = evr_hex_digit(c & 15);
			w += 6;
		}
		s += run + 1;
		n -= run + 1;
	}
	return put_c(w, end, '"');
}

/* FreeSWITCH value encoding: %XX for url_unsafe bytes, copy the rest. */
static char *put_url(char *w, const char *end, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	while (w) {
		size_t run = clean_prefix(SCAN_URL, s, n);
		w = put(w, end, (const char *)s, run);
		if (!w || run == n)
			break;
		if ((size_t)(end - w) < 3)
			return NULL;
		w[0] = '%';
		w[1] = hex_upper[s[run] >> 4];
		w[2] = hex_upper[s[run] & 15];
		w += 3;
		s += run + 1;
		n -= run + 1;
	}
	return w;
}

/* Header names: the block URL scan skips the usual [-_A-Za-z0-9] prefix
 * (its clean set holds no name-unsafe byte), the table does the rest. */
static char *put_name(char *w, const char *end, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, j = clean_prefix(SCAN_URL, s, n);

	while (w && i < n) {
		while (j < n && !name_unsafe[s[j]])
			j++;
		w = put(w, end, (const char *)s + i, j - i);
		if (!w || j == n)
			break;
		if ((size_t)(end - w) < 3)
			return NULL;
		w[0] = '%';
		w[1] = hex_upper[s[j] >> 4];
		w[2] = hex_upper[s[j] & 15];
		w += 3;
		i = ++j;
	}
	return w;
}

/* ---- attribute selection ------------------------------------------------ */

static inline bool name_is(const struct evr_str *n, const char *lit, size_t len)
{
	return n->len == len && evr_ieq(n->p, lit, len);
}

/* Attributes the FreeSWITCH formats regenerate or must not repeat. */
static inline bool fs_skip(const struct evr_event *ev, const struct evr_str *n,
                           bool json)
{
	switch (n->len) {
	case 5:
		return json && name_is(n, EVR_LIT("_body"));
	case 10:
		return name_is(n, EVR_LIT("Event-Name"));
	case 14:
		return name_is(n, EVR_LIT("Event-Sequence"))
		       || name_is(n, EVR_LIT("Content-Length"))
		       || (ev->subclass.len && name_is(n, EVR_LIT("Event-Subclass")));
	default:
		return false;
	}
}

/* FreeSWITCH writes Event-Sequence right after Event-Calling-Line-Number,
 * the last standard header (switch_event_prep_for_delivery_detailed). */
static inline bool fs_seq_slot(const struct evr_str *n)
{
	return n->len == 25 && name_is(n, EVR_LIT("Event-Calling-Line-Number"));
}

/* ---- jsonrpc -------------------------------------------------------------- */

/* A JSON number (RFC 8259 grammar), true, false or null. */
static bool json_literal_ok(const char *p, size_t n)
{
	const char *e = p + n;

	if ((n == 4 && (!memcmp(p, "true", 4) || !memcmp(p, "null", 4)))
	    || (n == 5 && !memcmp(p, "false", 5)))
		return true;
	if (p < e && *p == '-')
		p++;
	if (p == e)
		return false;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (p < e && *p == '.') {
		const char *d = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return false;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		const char *d = p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return false;
	}
	return p == e;
}

static char *put_jsonrpc_value(char *w, const char *end, const struct evr_str *v)
{
	if ((v->flags & EVR_STR_NULL) && v->len == 0)
		return put(w, end, EVR_LIT("null"));
	if ((v->flags & EVR_STR_LITERAL) && json_literal_ok(v->p, v->len))
		return put(w, end, v->p, v->len);
	return put_json_str(w, end, v->p, v->len);
}

static size_t clamp_cap(size_t cap)
{
	return cap > (size_t)INT_MAX ? (size_t)INT_MAX : cap;
}

int evr_encode_jsonrpc(const struct evr_event *ev, char *out, size_t cap)
{
	const char *end = out + clamp_cap(cap);
	char *w = out;
	bool any = false;
	/* FreeSWITCH sources carry Event-Name as a header: it is the method.
	 * A JSON-RPC param of that name is data and is kept. */
	bool skip_name = ev->src_format != EVR_FMT_JSONRPC;
	bool pos = ev->positional;

	w = put(w, end, EVR_LIT("{\"jsonrpc\":\"2.0\",\"method\":"));
	w = put_json_str(w, end, ev->name.p, ev->name.len);
	for (uint32_t i = 0; i < ev->n_attrs && w; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (skip_name && name_is(&a->name, EVR_LIT("Event-Name")))
			continue;
		/* params only appears with a first parameter, as in OpenSIPS */
		if (any)
			w = put_c(w, end, ',');
		else
			w = pos ? put(w, end, EVR_LIT(",\"params\":["))
			        : put(w, end, EVR_LIT(",\"params\":{"));
		any = true;
		if (!pos) {
			w = put_json_str(w, end, a->name.p, a->name.len);
			w = put_c(w, end, ':');
		}
		w = put_jsonrpc_value(w, end, &a->value);
	}
	if (any)
		w = put_c(w, end, pos ? ']' : '}');
	w = put_c(w, end, '}');
	return w ? (int)(w - out) : -ENOSPC;
}

/* ---- plain ---------------------------------------------------------------- */

static char *put_plain_header(char *w, const char *end, const char *name,
                              size_t nlen, const struct evr_str *v)
{
	w = put_name(w, end, name, nlen);
	w = put(w, end, EVR_LIT(": "));
	if (v->len == 0)
		w = put(w, end, EVR_LIT("_undef_"));
	else if (v->len == 7 && !memcmp(v->p, "_undef_", 7))
		w = put(w, end, EVR_LIT("%5Fundef%5F"));
	else
		w = put_url(w, end, v->p, v->len);
	return put_c(w, end, '\n');
}

static inline size_t plain_header_min(size_t nlen, size_t vlen)
{
	return nlen + 2 + (vlen ? vlen : 7) + 1;
}

#define ENV_PRE "Content-Length: "
#define ENV_POST "\nContent-Type: text/event-plain\n\n"

int evr_encode_plain(const struct evr_event *ev, uint64_t seq, char *out,
                     size_t cap)
{
	const char *end = out + clamp_cap(cap);
	char seqd[20];
	size_t seqn = evr_u64dec(seqd, seq);
	const struct evr_str seqv = { seqd, (uint32_t)seqn, 0 };

	/*
	 * The envelope's Content-Length precedes the event, so its digit count
	 * is guessed from a lower bound of the event size (the sizes before
	 * escaping: encoding only grows text). Escapes rarely change the digit
	 * count, and when they do the event is moved right by the difference.
	 * This is cheaper than a separate sizing pass over every byte.
	 */
	size_t lb = plain_header_min(10, ev->name.len) + plain_header_min(14, seqn);
	if (ev->subclass.len)
		lb += plain_header_min(14, ev->subclass.len);
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (!fs_skip(ev, &a->name, false))
			lb += plain_header_min(a->name.len, a->value.len);
	}
	lb += ev->body.len ? sizeof("Content-Length: \n\n") - 1
	                     + ndigits(ev->body.len) + ev->body.len
	                   : 1;

	unsigned dguess = ndigits(lb);
	size_t hdr = sizeof(ENV_PRE) - 1 + dguess + sizeof(ENV_POST) - 1;
	if ((size_t)(end - out) < hdr)
		return -ENOSPC;
	char *start = out + hdr, *w = start;

	w = put_plain_header(w, end, EVR_LIT("Event-Name"), &ev->name);
	if (ev->subclass.len)
		w = put_plain_header(w, end, EVR_LIT("Event-Subclass"), &ev->subclass);
	bool seq_done = false;
	for (uint32_t i = 0; i < ev->n_attrs && w; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (fs_skip(ev, &a->name, false))
			continue;
		w = put_plain_header(w, end, a->name.p, a->name.len, &a->value);
		if (!seq_done && fs_seq_slot(&a->name)) {
			w = put_plain_header(w, end, EVR_LIT("Event-Sequence"), &seqv);
			seq_done = true;
		}
	}
	if (!seq_done)
		w = put_plain_header(w, end, EVR_LIT("Event-Sequence"), &seqv);
	if (ev->body.len) {
		w = put(w, end, EVR_LIT("Content-Length: "));
		w = put_u64(w, end, ev->body.len);
		w = put(w, end, EVR_LIT("\n\n"));
		w = put(w, end, ev->body.p, ev->body.len);
	} else {
		w = put_c(w, end, '\n');
	}
	if (!w)
		return -ENOSPC;

	size_t n = (size_t)(w - start);
	unsigned d = ndigits(n);
	if (d > dguess) {
		size_t shift = d - dguess;
		if ((size_t)(end - w) < shift)
			return -ENOSPC;
		memmove(start + shift, start, n);
		w += shift;
	}
	char *h = out;
	h = put(h, end, EVR_LIT(ENV_PRE));
	h = put_u64(h, end, n);
	put(h, end, EVR_LIT(ENV_POST));
	return (int)(w - out);
}

/* ---- json (FreeSWITCH) ------------------------------------------------------ */

static char *put_json_pair(char *w, const char *end, const char *name,
                           size_t nlen, const char *v, size_t vlen)
{
	w = put_c(w, end, ',');
	w = put_json_str(w, end, name, nlen);
	w = put_c(w, end, ':');
	return put_json_str(w, end, v, vlen);
}

int evr_encode_json(const struct evr_event *ev, uint64_t seq, char *out,
                    size_t cap)
{
	const char *end = out + clamp_cap(cap);
	char *w = out;
	char tmp[20];
	size_t n;

	w = put(w, end, EVR_LIT("{\"Event-Name\":"));
	w = put_json_str(w, end, ev->name.p, ev->name.len);
	if (ev->subclass.len)
		w = put_json_pair(w, end, EVR_LIT("Event-Subclass"), ev->subclass.p,
		                  ev->subclass.len);
	bool seq_done = false;
	n = evr_u64dec(tmp, seq);
	for (uint32_t i = 0; i < ev->n_attrs && w; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (fs_skip(ev, &a->name, true))
			continue;
		w = put_json_pair(w, end, a->name.p, a->name.len, a->value.p, a->value.len);
		if (!seq_done && fs_seq_slot(&a->name)) {
			w = put_json_pair(w, end, EVR_LIT("Event-Sequence"), tmp, n);
			seq_done = true;
		}
	}
	if (!seq_done)
		w = put_json_pair(w, end, EVR_LIT("Event-Sequence"), tmp, n);
	if (ev->body.len) {
		n = evr_u64dec(tmp, ev->body.len);
		w = put(w, end, EVR_LIT(",\"Content-Length\":\""));
		w = put(w, end, tmp, n);
		w = put(w, end, EVR_LIT("\",\"_body\":"));
		w = put_json_str(w, end, ev->body.p, ev->body.len);
	}
	w = put_c(w, end, '}');
	return w ? (int)(w - out) : -ENOSPC;
}

/* ---- xml (FreeSWITCH) ------------------------------------------------------- */

/* switch_xml_ampencode(a=0, use_utf8_encoding=TRUE) over body text. */
static char *put_xml_text(char *w, const char *end, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + n;
	uint32_t cp = 0;
	unsigned more = 0;

	for (; s < e && w; s++) {
		unsigned c = *s;

		if (c == 0)
			break;
		if (more) {
			if ((c & 0xc0) != 0x80) { /* cut sequence: this byte is lost too */
				more = 0;
				continue;
			}
			cp = cp << 6 | (c & 0x3f);
			if (--more == 0) {
				bool lead = true;

				/* digits straight to the cursor: no scratch
				 * buffer for the compiler to bound */
				w = put(w, end, EVR_LIT("&#x"));
				for (int sh = 28; sh >= 0; sh -= 4) {
					unsigned d = (cp >> sh) & 15;

					if (lead && !d && sh)
						continue;
					lead = false;
					w = put_c(w, end, "0123456789ABCDEF"[d]);
				}
				w = put_c(w, end, ';');
			}
			continue;
		}
		if (c & 0x80) {
			if ((c & 0xe0) == 0xc0)
				cp = c & 0x1f, more = 1;
			else if ((c & 0xf0) == 0xe0)
				cp = c & 0x0f, more = 2;
			else if ((c & 0xc0) == 0xc0) /* 11110xxx and 11111xxx alike */
				cp = c & 0x07, more = 3;
			/* else a stray continuation byte: dropped */
			continue;
		}
		switch (c) {
		case '&':
			w = put(w, end, EVR_LIT("&amp;"));
			break;
		case '<':
			if (s + 1 < e && s[1] == '!') {
				size_t rest = strnlen((const char *)s, (size_t)(e - s));
				return put(w, end, (const char *)s, rest);
			}
			w = put(w, end, EVR_LIT("&lt;"));
			break;
		case '>':
			w = put(w, end, EVR_LIT("&gt;"));
			break;
		case '\r':
			w = put(w, end, EVR_LIT("&#xD;"));
			break;
		default:
			w = put_c(w, end, (char)c);
		}
	}
	return w;
}

static char *put_xml_header(char *w, const char *end, const char *name, size_t nlen,
                            const char *v, size_t vlen, const char *indent, size_t ilen)
{
	w = put(w, end, indent, ilen);
	w = put_c(w, end, '<');
	w = put_name(w, end, name, nlen);
	w = put_c(w, end, '>');
	w = put_url(w, end, v, vlen);
	w = put(w, end, EVR_LIT("</"));
	w = put_name(w, end, name, nlen);
	return put(w, end, EVR_LIT(">\n"));
}

static inline char *XH(char *w, const char *end, const char *n, size_t nl,
                       const char *v, size_t vl)
{
	return put_xml_header(w, end, n, nl, v, vl, EVR_LIT("    "));
}

int evr_encode_xml(const struct evr_event *ev, uint64_t seq, char *out, size_t cap)
{
	const char *end = out + clamp_cap(cap);
	char *w = out;
	char tmp[20];
	size_t n = evr_u64dec(tmp, seq);
	bool seq_done = false;

	w = put(w, end, EVR_LIT("<event>\n  <headers>\n"));
	w = XH(w, end, EVR_LIT("Event-Name"), ev->name.p, ev->name.len);
	if (ev->subclass.len)
		w = XH(w, end, EVR_LIT("Event-Subclass"), ev->subclass.p, ev->subclass.len);
	for (uint32_t i = 0; i < ev->n_attrs && w; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (fs_skip(ev, &a->name, false))
			continue;
		w = XH(w, end, a->name.p, a->name.len, a->value.p, a->value.len);
		if (!seq_done && fs_seq_slot(&a->name)) {
			w = XH(w, end, EVR_LIT("Event-Sequence"), tmp, n);
			seq_done = true;
		}
	}
	if (!seq_done)
		w = XH(w, end, EVR_LIT("Event-Sequence"), tmp, n);
	w = put(w, end, EVR_LIT("  </headers>\n"));
	/* FreeSWITCH measures the body with strlen: up to a NUL */
	size_t blen = ev->body.len ? strnlen(ev->body.p, ev->body.len) : 0;
	if (blen) {
		n = evr_u64dec(tmp, blen);
		w = put_xml_header(w, end, EVR_LIT("Content-Length"), tmp, n, EVR_LIT("  "));
		w = put(w, end, EVR_LIT("  <body>"));
		w = put_xml_text(w, end, ev->body.p, blen);
		w = put(w, end, EVR_LIT("</body>\n"));
	}
	w = put(w, end, EVR_LIT("</event>\n"));
	return w ? (int)(w - out) : -ENOSPC;
}

/* ---- dispatch ------------------------------------------------------------- */

int evr_encode(enum evr_format fmt, const struct evr_event *ev, uint64_t seq,
               char *out, size_t cap)
{
	switch (fmt) {
	case EVR_FMT_JSONRPC:
		return evr_encode_jsonrpc(ev, out, cap);
	case EVR_FMT_PLAIN:
		return evr_encode_plain(ev, seq, out, cap);
	case EVR_FMT_JSON:
		return evr_encode_json(ev, seq, out, cap);
	case EVR_FMT_XML:
		return evr_encode_xml(ev, seq, out, cap);
	default:
		/* EVR_FMT_AUTO is ingress-only; not a notification format */
		return -EINVAL;
	}
}
