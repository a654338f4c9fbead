/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH text/event-plain decoder (switch_event_serialize() output):
 *
 *   Event-Name: CHANNEL_CREATE\n
 *   Caller-Caller-ID-Number: 1000\n
 *   ...
 *   Content-Length: 11\n          (only when the event has a body)
 *   \n
 *   body bytes                    (exactly Content-Length of them)
 *
 * optionally inside the ESL envelope
 *   Content-Length: N\nContent-Type: text/event-plain\n\n<N bytes of event>
 *
 * Decisions, where the wire format leaves room:
 *  - Lines end in "\n"; one "\r" before it is dropped. Leading blank lines
 *    are skipped. A header is "Name: value" or "Name:value"; a line without
 *    ':' or with an empty name or a name with spaces/control characters is
 *    EVR_DEC_BAD_HEADER_LINE. Names are not encoded; values are.
 *  - Values are URL-decoded like switch_url_decode(): %XX (either case) is a
 *    byte and '+' stays '+' (FreeSWITCH's decoder does not map it, and its
 *    encoder escapes a literal '+' as %2B). Unlike switch_url_decode(), which
 *    copies a malformed escape through, "%", "%4" or "%zz" is
 *    EVR_DEC_BAD_URL_ESCAPE; "%00" is EVR_DEC_NUL_BYTE, as is a raw NUL
 *    anywhere in the input (views are C strings for glob consumers).
 *  - "_undef_" is how switch_event_serialize() writes an empty value: it
 *    decodes to an empty value flagged EVR_STR_NULL.
 *  - Every header is an attribute, in order, Event-Name and Event-Subclass
 *    included, except Content-Length: that is the framing of the body
 *    (FreeSWITCH appends it from the body length), so it is consumed, not
 *    kept. A second Content-Length is EVR_DEC_BAD_CONTENT_LENGTH rather than
 *    a guess at which one frames the body.
 *  - The frame ends at the blank line, or after the body. Bytes after the
 *    frame other than CR/LF mean the datagram disagrees with the declared
 *    length (or has a body without one): EVR_DEC_BAD_CONTENT_LENGTH. The same
 *    holds after the envelope's N bytes. A Content-Length beyond the bytes
 *    present is EVR_DEC_TRUNCATED_BODY (TRUNCATED_ENVELOPE for the envelope).
 *  - Envelope or event? The first header block is an envelope when it has a
 *    Content-Type header and no Event-Name header; an event may well start
 *    with Content-Length, but never lacks Event-Name. An envelope needs
 *    Content-Length and Content-Type text/event-plain (case-insensitive, as
 *    MIME types are); its other headers, if any, are ignored. Envelopes do
 *    not nest.
 */
#include <string.h>

#include "util/evr_bytes.h"
#include "evr_decode_internal.h"

struct line {
	const char *p;
	size_t len;
};

/* Next line of buf[*pos..len) without its "\n" / "\r\n"; false at the end. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct line *l)
{
	const char *start = buf + *pos, *nl;
	size_t n;

	if (*pos >= len)
		return false;
	nl = memchr(start, '\n', len - *pos);
	if (nl != NULL) {
		n = (size_t)(nl - start);
		*pos += n + 1;
	} else {
		n = len - *pos;
		*pos = len;
	}
	if (n > 0 && start[n - 1] == '\r')
		n--;
	l->p = start;
	l->len = n;
	return true;
}

/* "Name: value" / "Name:value" */
static bool split_header(const struct line *l, struct line *name,
                         struct line *value)
{
	const char *colon = memchr(l->p, ':', l->len);
	size_t vstart;

	if (colon == NULL || colon == l->p)
		return false;
	name->p = l->p;
	name->len = (size_t)(colon - l->p);
	for (size_t i = 0; i < name->len; i++) {
		unsigned char c = (unsigned char)name->p[i];
		if (c <= ' ' || c >= 0x7f)
			return false;
	}
	vstart = name->len + 1;
	if (vstart < l->len && l->p[vstart] == ' ')
		vstart++;
	value->p = l->p + vstart;
	value->len = l->len - vstart;
	return true;
}

static bool line_ieq(const struct line *l, const char *lit, size_t n)
{
	return l->len == n && evr_ieq(l->p, lit, n);
}

static bool only_crlf(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	}
	return true;
}

/* Decimal digits only; values past UINT32_MAX saturate (they are never
 * satisfiable by a datagram, so they end as TRUNCATED, not BAD). */
static bool parse_length(const struct line *v, uint32_t *out)
{
	uint64_t n = 0;

	if (v->len == 0)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		char c = v->p[i];
		if (c < '0' || c > '9')
			return false;
		n = n * 10 + (uint64_t)(c - '0');
		if (n > UINT32_MAX)
			n = UINT32_MAX;
	}
	*out = (uint32_t)n;
	return true;
}

static enum evr_decode_status store_value(struct evr_scratch *s,
                                          const struct line *v,
                                          struct evr_str *out)
{
	char *p, *o;

	if (v->len == 7 && memcmp(v->p, "_undef_", 7) == 0)
		return evr_dec_store(s, out, "", 0, EVR_STR_NULL);
	p = evr_ev_reserve(s, v->len);
	if (p == NULL)
		return EVR_DEC_OVERSIZE;
	o = p;
	for (size_t i = 0; i < v->len; i++) {
		char c = v->p[i];

		if (c == '%') {
			int hi, lo;

			if (v->len - i < 3)
				return EVR_DEC_BAD_URL_ESCAPE;
			hi = evr_hexval(v->p[i + 1]);
			lo = evr_hexval(v->p[i + 2]);
			if (hi < 0 || lo < 0)
				return EVR_DEC_BAD_URL_ESCAPE;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return EVR_DEC_NUL_BYTE;
			i += 2;
		}
		*o++ = c;
	}
	evr_ev_commit(s, out, p, (size_t)(o - p), 0);
	return EVR_DEC_OK;
}

/* One serialized event: header lines, blank line, optional body. */
static enum evr_decode_status decode_event(const char *buf, size_t len,
                                           struct evr_scratch *s)
{
	struct line l, name, value;
	size_t pos = 0;
	bool blank = false, have_cl = false;
	uint32_t cl = 0;
	enum evr_decode_status st;

	while (next_line(buf, len, &pos, &l)) {
		struct evr_attr *a;

		if (l.len == 0) {
			blank = true;
			break;
		}
		if (!split_header(&l, &name, &value))
			return EVR_DEC_BAD_HEADER_LINE;
		if (line_ieq(&name, EVR_LIT("Content-Length"))) {
			if (have_cl || !parse_length(&value, &cl))
				return EVR_DEC_BAD_CONTENT_LENGTH;
			have_cl = true;
			continue;
		}
		a = evr_ev_push_attr(s);
		if (a == NULL)
			return EVR_DEC_TOO_MANY_ATTRS;
		if (name.len > s->lim.max_name_len)
			return EVR_DEC_NAME_TOO_LONG;
		st = evr_dec_store(s, &a->name, name.p, name.len, 0);
		if (st != EVR_DEC_OK)
			return st;
		st = store_value(s, &value, &a->value);
		if (st != EVR_DEC_OK)
			return st;
		if (a->value.len > s->lim.max_value_len)
			return EVR_DEC_VALUE_TOO_LONG;
	}

	if (have_cl && cl > 0) {
		if (!blank || len - pos < cl)
			return EVR_DEC_TRUNCATED_BODY;
		st = evr_dec_store(s, &s->ev.body, buf + pos, cl, 0);
		if (st != EVR_DEC_OK)
			return st;
		pos += cl;
	}
	if (!only_crlf(buf + pos, len - pos))
		return EVR_DEC_BAD_CONTENT_LENGTH;
	return evr_dec_finish_fs(s);
}

/* Is the first header block an ESL envelope? (see the design note) */
static bool is_envelope(const char *buf, size_t len)
{
	struct line l, name, value;
	size_t pos = 0;
	bool ct = false;

	while (next_line(buf, len, &pos, &l) && l.len != 0) {
		if (!split_header(&l, &name, &value))
			continue;
		if (line_ieq(&name, EVR_LIT("Event-Name")))
			return false;
		if (line_ieq(&name, EVR_LIT("Content-Type")))
			ct = true;
	}
	return ct;
}

static enum evr_decode_status decode_envelope(const char *buf, size_t len,
                                              struct evr_scratch *s)
{
	struct line l, name, value;
	size_t pos = 0;
	bool have_cl = false;
	uint32_t cl = 0;

	while (next_line(buf, len, &pos, &l) && l.len != 0) {
		if (!split_header(&l, &name, &value))
			return EVR_DEC_BAD_HEADER_LINE;
		if (line_ieq(&name, EVR_LIT("Content-Length"))) {
			if (have_cl || !parse_length(&value, &cl))
				return EVR_DEC_BAD_CONTENT_LENGTH;
			have_cl = true;
		} else if (line_ieq(&name, EVR_LIT("Content-Type"))) {
			if (!line_ieq(&value, EVR_LIT("text/event-plain")))
				return EVR_DEC_BAD_CONTENT_TYPE;
		}
	}
	if (!have_cl)
		return EVR_DEC_BAD_CONTENT_LENGTH;
	/* An envelope block that ends at end of input has no room for its
	 * content either: pos == len. */
	if (len - pos < cl)
		return EVR_DEC_TRUNCATED_ENVELOPE;
	if (!only_crlf(buf + pos + cl, len - pos - cl))
		return EVR_DEC_BAD_CONTENT_LENGTH;
	return decode_event(buf + pos, cl, s);
}

enum evr_decode_status evr_decode_plain(const char *buf, size_t len,
                                        struct evr_scratch *s)
{
	enum evr_decode_status st = evr_dec_precheck(len, s);
	size_t skip = 0;

	if (st != EVR_DEC_OK)
		return st;
	evr_ev_begin(s, EVR_FMT_PLAIN);
	if (memchr(buf, '\0', len) != NULL)
		return EVR_DEC_NUL_BYTE;
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	buf += skip;
	len -= skip;
	if (is_envelope(buf, len))
		return decode_envelope(buf, len, s);
	return decode_event(buf, len, s);
}
