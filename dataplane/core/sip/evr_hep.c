/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HEPv3 decoder and encoder (format in evr_hep.h).
 *
 * Design: one pass over the chunks with bounds checked before every read;
 * the chunks this decoder uses are recorded in a bit set so a repeat is
 * refused (two source addresses leave the flow ambiguous, and the agents
 * never send one twice); cross-chunk rules (family vs address, payload,
 * protocol type) are decided after the pass, so chunk order is free, as the
 * format allows. The order of the final checks gives each packet a single,
 * most specific reason: framing first, then addressing, then what is carried.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "evr_hep.h"

/* Generic (vendor 0) chunk types. */
enum {
	CH_IP_FAMILY = 0x01,
	CH_IP_PROTO = 0x02,
	CH_IP4_SRC = 0x03,
	CH_IP4_DST = 0x04,
	CH_IP6_SRC = 0x05,
	CH_IP6_DST = 0x06,
	CH_SPORT = 0x07,
	CH_DPORT = 0x08,
	CH_TS_SEC = 0x09,
	CH_TS_USEC = 0x0a,
	CH_PROTO_TYPE = 0x0b,
	CH_CAPTURE_ID = 0x0c,
	CH_AUTH_KEY = 0x0e,
	CH_PAYLOAD = 0x0f,
	CH_PAYLOAD_Z = 0x10,
	CH_CORRELATION = 0x11,
	CH__MAX = 0x12,
};

#define HDR_LEN 6u

static const char *const st_names[] = {
#define X(e, n, t) n,
	EVR_HEP_STATUS(X)
#undef X
};
static const char *const st_texts[] = {
#define X(e, n, t) t,
	EVR_HEP_STATUS(X)
#undef X
};

const char *evr_hep_status_name(enum evr_hep_status s)
{
	return (unsigned)s < EVR_HEP__COUNT ? st_names[s] : "unknown";
}

const char *evr_hep_status_text(enum evr_hep_status s)
{
	return (unsigned)s < EVR_HEP__COUNT ? st_texts[s] : "unknown";
}

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Exact value size of a fixed-size generic chunk, 0 for octet strings. */
static unsigned fixed_size(unsigned type)
{
	switch (type) {
	case CH_IP_FAMILY:
	case CH_IP_PROTO:
	case CH_PROTO_TYPE:
		return 1;
	case CH_IP4_SRC:
	case CH_IP4_DST:
	case CH_TS_SEC:
	case CH_TS_USEC:
		return 4;
	case CH_IP6_SRC:
	case CH_IP6_DST:
		return 16;
	case CH_SPORT:
	case CH_DPORT:
		return 2;
	default:
		return 0;
	}
}

enum evr_hep_status evr_hep_parse(const char *buf, size_t len, struct evr_hep *h)
{
	const unsigned char *b = (const unsigned char *)buf;
	const unsigned char *a4s = NULL, *a4d = NULL, *a6s = NULL, *a6d = NULL;
	uint32_t seen = 0;
	size_t pos;

	memset(h, 0, sizeof(*h));
	if (buf == NULL || len < HDR_LEN)
		return EVR_HEP_TOO_SHORT;
	/* HEPv1/v2 start with their version byte; worth telling apart from
	 * noise, as an agent configured for the old version is a common
	 * misconfiguration (Kamailio siptrace hep_version=1). */
	if (memcmp(b, "HEP3", 4) != 0)
		return (b[0] == 1 || b[0] == 2) ? EVR_HEP_OLD_VERSION : EVR_HEP_BAD_MAGIC;
	if (rd16(b + 4) != len)
		return EVR_HEP_BAD_LENGTH;

	for (pos = HDR_LEN; pos < len;) {
		unsigned vendor, type, clen, vlen;
		const unsigned char *v;

		if (len - pos < HDR_LEN)
			return EVR_HEP_BAD_CHUNK; /* trailing partial chunk header */
		vendor = rd16(b + pos);
		type = rd16(b + pos + 2);
		clen = rd16(b + pos + 4);
		if (clen < HDR_LEN || clen > len - pos)
			return EVR_HEP_BAD_CHUNK;
		v = b + pos + HDR_LEN;
		vlen = clen - HDR_LEN;
		pos += clen;
		if (vendor != 0 || type >= CH__MAX)
			continue;
		if (fixed_size(type) != 0 && vlen != fixed_size(type))
			return EVR_HEP_BAD_CHUNK_SIZE;
		switch (type) {
		case CH_IP_FAMILY:
			h->ip_family = v[0];
			break;
		case CH_IP_PROTO:
			h->ip_proto = v[0];
			break;
		case CH_IP4_SRC:
			a4s = v;
			break;
		case CH_IP4_DST:
			a4d = v;
			break;
		case CH_IP6_SRC:
			a6s = v;
			break;
		case CH_IP6_DST:
			a6d = v;
			break;
		case CH_SPORT:
			h->flow.sport = rd16(v);
			break;
		case CH_DPORT:
			h->flow.dport = rd16(v);
			break;
		case CH_TS_SEC:
			h->ts_sec = rd32(v);
			break;
		case CH_TS_USEC:
			h->ts_usec = rd32(v);
			break;
		case CH_PROTO_TYPE:
			h->proto_type = v[0];
			break;
		case CH_CAPTURE_ID:
			/* u32 in the HEP3 spec and every current agent; some
			 * older ones sent u16 */
			if (vlen == 4)
				h->capture_id = rd32(v);
			else if (vlen == 2)
				h->capture_id = rd16(v);
			else
				return EVR_HEP_BAD_CHUNK_SIZE;
			break;
		case CH_AUTH_KEY:
			h->auth_key = (struct evr_sip_str){ (const char *)v, vlen };
			break;
		case CH_PAYLOAD:
			h->payload = (struct evr_sip_str){ (const char *)v, vlen };
			break;
		case CH_CORRELATION:
			h->correlation_id = (struct evr_sip_str){ (const char *)v, vlen };
			break;
		case CH_PAYLOAD_Z:
			break;
		default:
			continue; /* generic types we do not read: no dup check */
		}
		if (seen & (1u << type))
			return EVR_HEP_DUPLICATE_CHUNK;
		seen |= 1u << type;
	}

	/* Addressing: the family decides which address chunks count (an
	 * agent may send both kinds; the other family's are ignored). */
	if (!(seen & (1u << CH_IP_FAMILY)))
		return EVR_HEP_MISSING_ADDR;
	if (h->ip_family == EVR_HEP_AF_INET) {
		h->flow.family = 4;
		if (a4s == NULL || a4d == NULL)
			return EVR_HEP_MISSING_ADDR;
		memcpy(h->flow.src, a4s, 4);
		memcpy(h->flow.dst, a4d, 4);
	} else if (h->ip_family == EVR_HEP_AF_INET6) {
		h->flow.family = 6;
		if (a6s == NULL || a6d == NULL)
			return EVR_HEP_MISSING_ADDR;
		memcpy(h->flow.src, a6s, 16);
		memcpy(h->flow.dst, a6d, 16);
	} else {
		return EVR_HEP_UNSUPPORTED_FAMILY;
	}
	if ((seen & (1u << CH_SPORT | 1u << CH_DPORT)) != (1u << CH_SPORT | 1u << CH_DPORT))
		return EVR_HEP_MISSING_ADDR;

	if (seen & (1u << CH_TS_USEC)) {
		if (!(seen & (1u << CH_TS_SEC)) || h->ts_usec >= 1000000u)
			return EVR_HEP_BAD_TIMESTAMP;
	}
	h->flow.ts_us = (uint64_t)h->ts_sec * 1000000u + h->ts_usec;

	if (h->proto_type != EVR_HEP_PROTO_SIP)
		return EVR_HEP_NOT_SIP;
	if (h->payload.len == 0) {
		h->payload = (struct evr_sip_str){ NULL, 0 };
		return (seen & (1u << CH_PAYLOAD_Z)) ? EVR_HEP_COMPRESSED
		                                     : EVR_HEP_MISSING_PAYLOAD;
	}
	return EVR_HEP_OK;
}

/* ---- encoder ---- */

struct wbuf {
	unsigned char *p;
	size_t cap, len;
	bool overflow;
};

static void put_chunk(struct wbuf *w, unsigned type, const void *v, size_t n)
{
	size_t clen = HDR_LEN + n;

	if (w->overflow || clen > w->cap - w->len) {
		w->overflow = true;
		w->len += clen; /* keep counting: the caller reports the size */
		return;
	}
	w->p[w->len] = 0;
	w->p[w->len + 1] = 0;
	w->p[w->len + 2] = (unsigned char)(type >> 8);
	w->p[w->len + 3] = (unsigned char)type;
	w->p[w->len + 4] = (unsigned char)(clen >> 8);
	w->p[w->len + 5] = (unsigned char)clen;
	if (n)
		memcpy(w->p + w->len + HDR_LEN, v, n);
	w->len += clen;
}

static void put_u8(struct wbuf *w, unsigned type, uint8_t x)
{
	put_chunk(w, type, &x, 1);
}

static void put_u16(struct wbuf *w, unsigned type, uint16_t x)
{
	unsigned char b[2] = { (unsigned char)(x >> 8), (unsigned char)x };

	put_chunk(w, type, b, 2);
}

static void put_u32(struct wbuf *w, unsigned type, uint32_t x)
{
	unsigned char b[4] = { (unsigned char)(x >> 24), (unsigned char)(x >> 16),
	                       (unsigned char)(x >> 8), (unsigned char)x };

	put_chunk(w, type, b, 4);
}

int evr_hep_build(const struct evr_hep *h, char *out, size_t cap)
{
	struct wbuf w = { (unsigned char *)out, cap, HDR_LEN, cap < HDR_LEN };
	bool v6 = h->flow.family == 6;

	if (h->flow.family != 4 && !v6)
		return -EINVAL;
	/* Same chunk order as Kamailio/OpenSIPS agents: family, protocol,
	 * addresses, ports, time, type, capture id, then the octet chunks. */
	put_u8(&w, CH_IP_FAMILY, v6 ? EVR_HEP_AF_INET6 : EVR_HEP_AF_INET);
	put_u8(&w, CH_IP_PROTO, h->ip_proto);
	put_chunk(&w, v6 ? CH_IP6_SRC : CH_IP4_SRC, h->flow.src, v6 ? 16 : 4);
	put_chunk(&w, v6 ? CH_IP6_DST : CH_IP4_DST, h->flow.dst, v6 ? 16 : 4);
	put_u16(&w, CH_SPORT, h->flow.sport);
	put_u16(&w, CH_DPORT, h->flow.dport);
	put_u32(&w, CH_TS_SEC, h->ts_sec);
	put_u32(&w, CH_TS_USEC, h->ts_usec);
	put_u8(&w, CH_PROTO_TYPE, h->proto_type);
	put_u32(&w, CH_CAPTURE_ID, h->capture_id);
	if (h->auth_key.len)
		put_chunk(&w, CH_AUTH_KEY, h->auth_key.p, h->auth_key.len);
	if (h->correlation_id.len)
		put_chunk(&w, CH_CORRELATION, h->correlation_id.p, h->correlation_id.len);
	put_chunk(&w, CH_PAYLOAD, h->payload.p, h->payload.len);
	if (w.len > 65535u)
		return -EINVAL;
	if (w.overflow)
		return -ENOSPC;
	memcpy(out, "HEP3", 4);
	w.p[4] = (unsigned char)(w.len >> 8);
	w.p[5] = (unsigned char)w.len;
	return (int)w.len;
}
