// SPDX-License-Identifier: Apache-2.0
//
// JSON front end of the decoders (C API and contract: evr_json_simd.h):
// simdjson On-Demand, error codes only (built with -fno-exceptions; nothing
// throws across the C boundary).
//
// On-Demand is lazy: stage 1 (run over the whole document by iterate())
// checks UTF-8, string bounds and raw control bytes, but separators,
// literals, numbers and escapes are only checked where the document is
// walked. So the walk below visits every member and every element of every
// container, has simdjson unescape every string of a document that has a
// backslash at all (it refuses bad escapes there; without a backslash a
// string is its raw text), checks every literal's text against the JSON
// grammar (simdjson would only look at a number when asked for its value,
// and we keep numbers verbatim), then requires that nothing follows the
// root object.
//
// simdjson needs SIMDJSON_PADDING readable bytes after the document, which
// an mbuf's tailroom does not promise, so every document is first copied
// into a padded buffer owned by the scratch (allocated once, at init).
//
// Thread context: the thread owning the scratch; no allocation after
// evr_json_new(). Stage 1 and string unescaping run in libsimdjson's
// runtime-selected kernel (haswell/westmere/...), whatever this file was
// compiled for; the inline On-Demand walk itself needs no SIMD.
#include <simdjson.h>

#include <cstring>
#include <new>
#include <utility>

#include "evr_json_simd.h"

namespace {

namespace od = simdjson::ondemand;

// The per-value steps of the walk, inlined into its loops (each is called
// once per member or element of every event).
#define EVR_JSON_HOT inline __attribute__((always_inline))

struct json_state {
	od::parser parser;
	char *pad = nullptr; // max_datagram + SIMDJSON_PADDING bytes
	size_t pad_cap = 0;
	evr_json_ent *ent = nullptr; // tok_cap entries
};

struct walker {
	json_state *js;
	uint32_t tok_cap;
	uint32_t ntok; // tokens so far: the root, every key, every value
	uint32_t nent;
	// The document has a backslash. Without one no string has an escape,
	// so every string is its raw text (stage 1 has checked its bounds,
	// UTF-8 and control bytes), taken as is instead of unescaped by
	// simdjson; with one, strings are unescaped and, since an escape may
	// have produced a NUL (raw NULs are refused by stage 1), searched.
	bool has_bs;
};

inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

evr_decode_status map_err(simdjson::error_code e)
{
	switch (e) {
	case simdjson::STRING_ERROR: // bad escape, \u digits or surrogate
		return EVR_DEC_BAD_STRING_ESCAPE;
	case simdjson::DEPTH_ERROR:
		return EVR_DEC_TOO_MANY_TOKENS;
	case simdjson::CAPACITY:
		return EVR_DEC_OVERSIZE;
	default:
		return EVR_DEC_BAD_JSON;
	}
}

// number | true | false (null is told apart by the caller):
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool literal_ok(const char *p, size_t n)
{
	size_t i = 0;

	if ((n == 4 && memcmp(p, "true", 4) == 0) || (n == 5 && memcmp(p, "false", 5) == 0))
		return true;
	if (i < n && p[i] == '-')
		i++;
	if (i >= n || !is_digit(p[i]))
		return false;
	if (p[i] == '0') {
		i++;
	} else {
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || !is_digit(p[i]))
			return false;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !is_digit(p[i]))
			return false;
		while (i < n && is_digit(p[i]))
			i++;
	}
	return i == n;
}

// A string simdjson unescaped (get_string(), unescaped_key()): its error
// mapped, and a NUL (only an escape can have produced one) refused.
evr_decode_status unescaped(simdjson::simdjson_result<std::string_view> r, std::string_view *out)
{
	simdjson::error_code e = std::move(r).get(*out);

	if (e)
		return map_err(e);
	if (memchr(out->data(), '\0', out->size()) != nullptr)
		return EVR_DEC_BAD_STRING_ESCAPE;
	return EVR_DEC_OK;
}

// Classify value v and check a scalar: a string is its raw text, or (the
// document has escapes) unescaped into the parser's string buffer; a
// literal's text is checked. *text is the string or literal.
EVR_JSON_HOT evr_decode_status scalar(walker &w, od::value &v, evr_json_kind *kind,
                                      std::string_view *text)
{
	// From the value's first byte up to the next structural: a string's
	// closing quote or a literal's last byte, then blanks.
	std::string_view raw = v.raw_json_token();

	while (!raw.empty() && is_ws(raw.back()))
		raw.remove_suffix(1);
	if (raw.empty())
		return EVR_DEC_BAD_JSON;
	switch (raw[0]) {
	case '"': {
		*kind = EVR_JK_STRING;
		if (!w.has_bs) {
			*text = raw.substr(1, raw.size() - 2);
			return EVR_DEC_OK;
		}
		return unescaped(v.get_string(), text);
	}
	case '{':
		*kind = EVR_JK_OBJECT;
		*text = std::string_view();
		return EVR_DEC_OK;
	case '[':
		*kind = EVR_JK_ARRAY;
		*text = std::string_view();
		return EVR_DEC_OK;
	default:
		if (raw == "null") {
			*kind = EVR_JK_NULL;
			*text = std::string_view();
			return EVR_DEC_OK;
		}
		if (!literal_ok(raw.data(), raw.size()))
			return EVR_DEC_BAD_JSON;
		*kind = EVR_JK_LITERAL;
		*text = raw;
		return EVR_DEC_OK;
	}
}

inline bool take_token(walker &w)
{
	return ++w.ntok <= w.tok_cap;
}

// A member name: counted as a token, unescaped, no NUL.
EVR_JSON_HOT evr_decode_status member_key(walker &w, od::field &f, std::string_view *k)
{
	if (!take_token(w))
		return EVR_DEC_TOO_MANY_TOKENS;
	if (!w.has_bs) {
		// No escapes: the name is the raw text up to its closing quote,
		// found back from the value. simdjson has checked the ':' (and
		// only blanks can surround it: anything else would have been a
		// token of its own), and the name starts the structure.
		const char *p = f.key().raw();
		const char *q = f.value().raw_json_token().data() - 1;
		while (is_ws(*q))
			q--;
		q--; // the ':'
		while (is_ws(*q))
			q--;
		*k = std::string_view(p, (size_t)(q - p));
		return EVR_DEC_OK;
	}
	return unescaped(f.unescaped_key(), k);
}

// Walk the children of container v (kind OBJECT or ARRAY), counting and
// unescaping member names: child(value, key or nullptr) for each. Fields
// and values are used in place (value_unsafe() after the error check), not
// copied out with get(): GCC copies simdjson's iterator with a 16-byte load
// right after narrower stores, a store-forwarding stall per member.
template <typename F>
evr_decode_status each_child(walker &w, od::value &v, evr_json_kind kind, F &&child)
{
	simdjson::error_code e;
	evr_decode_status st;

	if (kind == EVR_JK_OBJECT) {
		od::object o;
		if ((e = v.get_object().get(o)))
			return map_err(e);
		for (auto fr : o) {
			std::string_view k;
			if ((e = fr.error()))
				return map_err(e);
			od::field &&f = std::move(fr).value_unsafe(); // no copy: see below
			if ((st = member_key(w, f, &k)) != EVR_DEC_OK ||
			    (st = child(f.value(), &k)) != EVR_DEC_OK)
				return st;
		}
	} else {
		od::array a;
		if ((e = v.get_array().get(a)))
			return map_err(e);
		for (auto vr : a) {
			if ((e = vr.error()))
				return map_err(e);
			od::value &&c = std::move(vr).value_unsafe();
			if ((st = child(c, nullptr)) != EVR_DEC_OK)
				return st;
		}
	}
	return EVR_DEC_OK;
}

inline bool is_container(evr_json_kind k)
{
	return k == EVR_JK_OBJECT || k == EVR_JK_ARRAY;
}

// Check container v (already counted and classified) at nesting level
// `level` (top-level member values are level 1) and everything inside it,
// recording nothing.
evr_decode_status check_inside(walker &w, od::value &v, evr_json_kind kind, unsigned level)
{
	if (level > EVR_DECODE_JSON_MAX_DEPTH)
		return EVR_DEC_TOO_MANY_TOKENS;
	return each_child(w, v, kind, [&w, level](od::value &c, const std::string_view *) {
		evr_json_kind ck;
		std::string_view text;
		evr_decode_status st;

		if (!take_token(w))
			return EVR_DEC_TOO_MANY_TOKENS;
		st = scalar(w, c, &ck, &text);
		if (st != EVR_DEC_OK || !is_container(ck))
			return st;
		return check_inside(w, c, ck, level + 1);
	});
}

// Record value v (member name k, or an array element when k is null) as
// the next entry, counted in the kids of entry `parent` (or a top-level
// member when parent < 0); *ent_out is the entry, *kind_out its kind.
// Containers are left to the caller.
EVR_JSON_HOT evr_decode_status record_one(walker &w, od::value &v, const std::string_view *k,
                                          int32_t parent, uint32_t *me, evr_json_kind *kind)
{
	std::string_view text;
	evr_decode_status st;

	if (!take_token(w))
		return EVR_DEC_TOO_MANY_TOKENS;
	st = scalar(w, v, kind, &text);
	if (st != EVR_DEC_OK)
		return st;
	// ntok >= nent + 2 (the root, this value), so nent < tok_cap
	*me = w.nent++;
	evr_json_ent *ent = &w.js->ent[*me];
	ent->key = k ? k->data() : nullptr;
	ent->key_len = k ? (uint32_t)k->size() : 0;
	ent->val = text.data() ? text.data() : "";
	ent->val_len = (uint32_t)text.size();
	ent->kids = 0;
	ent->kind = *kind;
	if (parent >= 0)
		w.js->ent[parent].kids++;
	return EVR_DEC_OK;
}

// A top-level member's value: recorded, and so are a container's children
// (anything below them is only checked).
evr_decode_status record_top(walker &w, od::value &v, const std::string_view *k)
{
	evr_json_kind kind;
	uint32_t me;
	evr_decode_status st = record_one(w, v, k, -1, &me, &kind);

	if (st != EVR_DEC_OK || !is_container(kind))
		return st;
	return each_child(w, v, kind, [&w, me](od::value &c, const std::string_view *ck) {
		evr_json_kind ckind;
		uint32_t cme;
		evr_decode_status cst = record_one(w, c, ck, (int32_t)me, &cme, &ckind);

		if (cst != EVR_DEC_OK || !is_container(ckind))
			return cst;
		return check_inside(w, c, ckind, 2);
	});
}

/*
 * Replace every byte that is not part of a well-formed UTF-8 sequence
 * (RFC 3629) with '?'; returns how many. Why: OpenSIPS builds its JSON-RPC
 * events with cJSON, which copies a value's bytes as they came in SIP
 * (a Latin-1 display name, a raw byte in a User-Agent), and simdjson
 * refuses such documents in stage 1 whatever else is right with them. '?'
 * is as invalid as the byte outside a string, so the masked document
 * parses only where the original was JSON but for its encoding.
 */
size_t mask_bad_utf8(char *s, size_t n)
{
	size_t i = 0, bad = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t need, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c == 0xE0)
			need = 2, lo = 0xA0;
		else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
			need = 2;
		else if (c == 0xED)
			need = 2, hi = 0x9F; /* no UTF-16 surrogates */
		else if (c == 0xF0)
			need = 3, lo = 0x90;
		else if (c >= 0xF1 && c <= 0xF3)
			need = 3;
		else if (c == 0xF4)
			need = 3, hi = 0x8F;
		else
			need = 0; /* 0x80..0xC1, 0xF5..0xFF never start a sequence */
		for (k = 1; need && k <= need; k++) {
			unsigned char d = i + k < n ? (unsigned char)s[i + k] : 0;
			if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF))
				break;
		}
		if (need && k > need) {
			i += need + 1;
			continue;
		}
		s[i++] = '?'; /* the lead; its followers are masked in turn */
		bad++;
	}
	return bad;
}

} // namespace

extern "C" {

void *evr_json_new(uint32_t max_datagram, uint32_t tok_cap)
{
	json_state *js = new (std::nothrow) json_state;

	if (js == nullptr)
		return nullptr;
	js->pad_cap = (size_t)max_datagram + simdjson::SIMDJSON_PADDING;
	js->pad = new (std::nothrow) char[js->pad_cap];
	js->ent = new (std::nothrow) evr_json_ent[tok_cap ? tok_cap : 1];
	// Capacity max_datagram up front: iterate() would allocate on the hot
	// path for a larger document, and the decoders refuse those before.
	// Depth: a margin above EVR_DECODE_JSON_MAX_DEPTH (the root object, the
	// top-level members), so the walk's own limit is the one that applies.
	if (js->pad == nullptr || js->ent == nullptr ||
	    js->parser.allocate(max_datagram, EVR_DECODE_JSON_MAX_DEPTH + 8) != simdjson::SUCCESS) {
		evr_json_free(js);
		return nullptr;
	}
	memset(js->pad, 0, js->pad_cap);
	return js;
}

void evr_json_free(void *p)
{
	json_state *js = static_cast<json_state *>(p);

	if (js == nullptr)
		return;
	delete[] js->pad;
	delete[] js->ent;
	delete js;
}

enum evr_decode_status evr_json_parse(void *p, const char *buf, size_t len,
                                      uint32_t tok_cap, struct evr_json_doc *d)
{
	json_state *js = static_cast<json_state *>(p);
	walker w{js, tok_cap, 1, 0, memchr(buf, '\\', len) != nullptr};
	simdjson::error_code e;
	evr_decode_status st = EVR_DEC_OK;
	od::document doc;
	od::object root;
	size_t i = 0;

	d->ent = js->ent;
	d->n = 0;
	d->members = 0;
	while (i < len && is_ws(buf[i]))
		i++;
	if (i == len)
		return EVR_DEC_BAD_JSON;
	if (buf[i] != '{')
		return EVR_DEC_NOT_OBJECT;
	if (len + simdjson::SIMDJSON_PADDING > js->pad_cap)
		return EVR_DEC_OVERSIZE; // callers check max_datagram first
	memcpy(js->pad, buf, len);
	// Zero padding: simdjson looks at the byte after the last structural
	// to spot an unbalanced document, and a '}' left there by an earlier,
	// longer document would send it down its slow full-scan check.
	memset(js->pad + len, 0, simdjson::SIMDJSON_PADDING);

	e = js->parser.iterate(js->pad, len, js->pad_cap).get(doc);
	// Not UTF-8: parse the masked copy, then put the original bytes back
	// under the raw strings the entries point at (same offsets). With a
	// backslash strings are unescaped into simdjson's own buffer, where
	// the bytes cannot be put back: refused as before.
	bool masked = false;
	if (e == simdjson::UTF8_ERROR && !w.has_bs && mask_bad_utf8(js->pad, len)) {
		masked = true;
		e = js->parser.iterate(js->pad, len, js->pad_cap).get(doc);
	}
	if (e || (e = doc.get_object().get(root)))
		return map_err(e);
	for (auto fr : root) {
		std::string_view k;
		if ((e = fr.error())) {
			st = map_err(e);
			break;
		}
		od::field &&f = std::move(fr).value_unsafe();
		if ((st = member_key(w, f, &k)) != EVR_DEC_OK)
			break;
		d->members++;
		st = record_top(w, f.value(), &k);
		if (st != EVR_DEC_OK)
			break;
	}
	d->n = w.nent;
	if (st != EVR_DEC_OK)
		return st;
	// Nothing may follow the root object: at the end of the document
	// current_location() has nothing to point at.
	if (!doc.current_location().error())
		return EVR_DEC_BAD_JSON;
	if (masked)
		memcpy(js->pad, buf, len);
	return EVR_DEC_OK;
}

} // extern "C"
