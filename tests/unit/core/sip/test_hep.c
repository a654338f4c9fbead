/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HEPv3 decoder tests: build -> parse round trips (IPv4, IPv6, optional
 * chunks), a literal packet as Kamailio siptrace / heplify put it on the wire
 * (with vendor and unknown generic chunks), every failure status, and the
 * builder's errors. Packets are assembled by hand with a small chunk writer
 * so each test states exactly the bytes it sends.
 */
#include <errno.h>

#include "sip/evr_hep.h"
#include "evr_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK_ST(st, want)                                                     \
	CHECK_MSG((st) == (want), "%s, want %s", evr_hep_status_name(st),       \
	          evr_hep_status_name(want))

static const char sip_msg[] =
	"OPTIONS sip:proxy@192.0.2.10 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-1\r\n"
	"From: <sip:mon@192.0.2.20>;tag=1\r\n"
	"To: <sip:proxy@192.0.2.10>\r\n"
	"Call-ID: abc@192.0.2.20\r\n"
	"CSeq: 1 OPTIONS\r\n"
	"Content-Length: 0\r\n\r\n";

/* ---- a hand packet writer ---- */

struct pkt {
	unsigned char b[4096];
	size_t n;
};

static void p_begin(struct pkt *p)
{
	memcpy(p->b, "HEP3\0\0", 6);
	p->n = 6;
}

static void p_chunk(struct pkt *p, unsigned vendor, unsigned type,
                    const void *v, size_t len)
{
	size_t clen = 6 + len;

	p->b[p->n++] = (unsigned char)(vendor >> 8);
	p->b[p->n++] = (unsigned char)vendor;
	p->b[p->n++] = (unsigned char)(type >> 8);
	p->b[p->n++] = (unsigned char)type;
	p->b[p->n++] = (unsigned char)(clen >> 8);
	p->b[p->n++] = (unsigned char)clen;
	memcpy(p->b + p->n, v, len);
	p->n += len;
}

static void p_u8(struct pkt *p, unsigned type, unsigned v)
{
	unsigned char b = (unsigned char)v;

	p_chunk(p, 0, type, &b, 1);
}

static void p_u16(struct pkt *p, unsigned type, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	p_chunk(p, 0, type, b, 2);
}

static void p_u32(struct pkt *p, unsigned type, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                       (unsigned char)(v >> 8), (unsigned char)v };

	p_chunk(p, 0, type, b, 4);
}

static void p_end(struct pkt *p)
{
	p->b[4] = (unsigned char)(p->n >> 8);
	p->b[5] = (unsigned char)p->n;
}

static const unsigned char v4src[4] = { 192, 0, 2, 20 }, v4dst[4] = { 192, 0, 2, 10 };
static const unsigned char v6src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x20 };
static const unsigned char v6dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };

/* A complete valid IPv4 packet; omit: chunk type left out (0 = none). */
static void p_valid4(struct pkt *p, unsigned omit)
{
	p_begin(p);
	if (omit != 0x01) p_u8(p, 0x01, 2);
	if (omit != 0x02) p_u8(p, 0x02, 17);
	if (omit != 0x03) p_chunk(p, 0, 0x03, v4src, 4);
	if (omit != 0x04) p_chunk(p, 0, 0x04, v4dst, 4);
	if (omit != 0x07) p_u16(p, 0x07, 5060);
	if (omit != 0x08) p_u16(p, 0x08, 5062);
	if (omit != 0x09) p_u32(p, 0x09, 1700000000);
	if (omit != 0x0a) p_u32(p, 0x0a, 123456);
	if (omit != 0x0b) p_u8(p, 0x0b, 1);
	if (omit != 0x0c) p_u32(p, 0x0c, 2001);
	if (omit != 0x0f) p_chunk(p, 0, 0x0f, sip_msg, sizeof(sip_msg) - 1);
	p_end(p);
}

static enum evr_hep_status parse_pkt(const struct pkt *p, struct evr_hep *h)
{
	return evr_hep_parse((const char *)p->b, p->n, h);
}

/* ---- tests ---- */

static void test_names(void)
{
	for (unsigned i = 0; i < EVR_HEP__COUNT; i++) {
		CHECK(evr_hep_status_name(i) != NULL && evr_hep_status_name(i)[0] != '\0');
		CHECK(evr_hep_status_text(i) != NULL && evr_hep_status_text(i)[0] != '\0');
	}
	CHECK_EQ_STR(evr_hep_status_name(EVR_HEP_OK), "ok");
	CHECK_EQ_STR(evr_hep_status_name(EVR_HEP_BAD_CHUNK), "bad_chunk");
	CHECK_EQ_STR(evr_hep_status_name(EVR_HEP_NOT_SIP), "not_sip");
	CHECK_EQ_STR(evr_hep_status_name(EVR_HEP__COUNT), "unknown");
	CHECK_EQ_STR(evr_hep_status_text((enum evr_hep_status)1000), "unknown");
}

static void round_trip(int family)
{
	struct evr_hep in, out;
	char buf[2048];
	int n;

	memset(&in, 0, sizeof(in));
	in.flow.family = (uint8_t)family;
	if (family == 4) {
		memcpy(in.flow.src, v4src, 4);
		memcpy(in.flow.dst, v4dst, 4);
	} else {
		memcpy(in.flow.src, v6src, 16);
		memcpy(in.flow.dst, v6dst, 16);
	}
	in.flow.sport = 5060;
	in.flow.dport = 65535;
	in.ip_proto = 17;
	in.proto_type = EVR_HEP_PROTO_SIP;
	in.capture_id = 0xfedcba98u;
	in.ts_sec = 1700000000u;
	in.ts_usec = 999999u;
	in.payload = (struct evr_sip_str){ sip_msg, sizeof(sip_msg) - 1 };
	in.auth_key = (struct evr_sip_str){ "secret", 6 };
	in.correlation_id = (struct evr_sip_str){ "abc@192.0.2.20", 14 };

	n = evr_hep_build(&in, buf, sizeof(buf));
	CHECK(n > 0);
	/* header + 10 fixed chunks + 3 octet chunks */
	CHECK_EQ_INT(n, 6 + 6 * 13 + 1 + 1 + (family == 4 ? 8 : 32) + 2 + 2 + 4 + 4 + 1 + 4 +
	             6 + 14 + (int)sizeof(sip_msg) - 1);
	CHECK(memcmp(buf, "HEP3", 4) == 0);
	CHECK_EQ_INT((unsigned char)buf[4] << 8 | (unsigned char)buf[5], n);
	CHECK_ST(evr_hep_parse(buf, (size_t)n, &out), EVR_HEP_OK);
	CHECK_EQ_INT(out.flow.family, family);
	CHECK_EQ_INT(out.ip_family, family == 4 ? 2 : 10);
	CHECK(memcmp(out.flow.src, in.flow.src, 16) == 0);
	CHECK(memcmp(out.flow.dst, in.flow.dst, 16) == 0);
	CHECK_EQ_INT(out.flow.sport, 5060);
	CHECK_EQ_INT(out.flow.dport, 65535);
	CHECK_EQ_INT(out.ip_proto, 17);
	CHECK_EQ_INT(out.proto_type, 1);
	CHECK_EQ_INT(out.capture_id, 0xfedcba98u);
	CHECK_EQ_INT(out.ts_sec, 1700000000u);
	CHECK_EQ_INT(out.ts_usec, 999999u);
	CHECK_EQ_INT(out.flow.ts_us, 1700000000999999ull);
	CHECK_EQ_VIEW(out.payload.p, out.payload.len, sip_msg);
	CHECK(out.payload.p >= buf && out.payload.p + out.payload.len == buf + n); /* zero-copy */
	CHECK_EQ_VIEW(out.auth_key.p, out.auth_key.len, "secret");
	CHECK_EQ_VIEW(out.correlation_id.p, out.correlation_id.len, "abc@192.0.2.20");

	/* without the optional octet chunks */
	in.auth_key = (struct evr_sip_str){ NULL, 0 };
	in.correlation_id = (struct evr_sip_str){ NULL, 0 };
	n = evr_hep_build(&in, buf, sizeof(buf));
	CHECK_ST(evr_hep_parse(buf, (size_t)n, &out), EVR_HEP_OK);
	CHECK(out.auth_key.p == NULL && out.auth_key.len == 0);
	CHECK(out.correlation_id.p == NULL && out.correlation_id.len == 0);

	/* the builder's size errors: every shorter buffer is -ENOSPC */
	{
		int full = n;

		for (int cap = 0; cap < full; cap += (cap < 16 ? 1 : 37))
			CHECK_EQ_INT(evr_hep_build(&in, buf, (size_t)cap), -ENOSPC);
		CHECK_EQ_INT(evr_hep_build(&in, buf, (size_t)full), full);
	}
}

/*
 * A packet laid out as Kamailio's siptrace (hep_version=3) sends it:
 * family, protocol, addresses, ports, seconds, microseconds, protocol type,
 * capture id, a vendor chunk (vendor 0x0002, which is skipped), the
 * keep-alive timer and a node-name chunk (generic types this decoder does
 * not read), then the payload. Byte for byte, with lengths written out.
 */
static const unsigned char kamailio_pkt[] = {
	'H', 'E', 'P', '3', 0x00, 0x00, /* length patched below */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x02,                   /* family AF_INET */
	0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 0x11,                   /* proto UDP */
	0x00, 0x00, 0x00, 0x03, 0x00, 0x0a, 10, 0, 0, 1,            /* src 10.0.0.1 */
	0x00, 0x00, 0x00, 0x04, 0x00, 0x0a, 10, 0, 0, 2,            /* dst 10.0.0.2 */
	0x00, 0x00, 0x00, 0x07, 0x00, 0x08, 0x13, 0xc4,             /* sport 5060 */
	0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x13, 0xc5,             /* dport 5061 */
	0x00, 0x00, 0x00, 0x09, 0x00, 0x0a, 0x65, 0x53, 0xf1, 0x00, /* 1700000000 */
	0x00, 0x00, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x2a, /* 42 us */
	0x00, 0x00, 0x00, 0x0b, 0x00, 0x07, 0x01,                   /* SIP */
	0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x00, 0x07, 0xd1, /* capture 2001 */
	0x00, 0x02, 0x00, 0x0f, 0x00, 0x0a, 'x', 'x', 'x', 'x',     /* vendor 2 */
	0x00, 0x00, 0x00, 0x0d, 0x00, 0x08, 0x00, 0x1e,             /* keep-alive 30 */
	0x00, 0x00, 0x00, 0x13, 0x00, 0x0b, 'n', 'o', 'd', 'e', '1', /* node name */
	0x00, 0x00, 0x00, 0x0f, 0x00, 0x1c,                         /* payload, 22 */
	'M', 'E', 'S', 'S', 'A', 'G', 'E', ' ', 's', 'i', 'p', ':', 'a', '@', 'b', ' ',
	'S', 'I', 'P', '/', '2', '.',
};

static void test_literal(void)
{
	unsigned char buf[sizeof(kamailio_pkt)];
	struct evr_hep h;

	memcpy(buf, kamailio_pkt, sizeof(buf));
	buf[4] = (unsigned char)(sizeof(buf) >> 8);
	buf[5] = (unsigned char)sizeof(buf);
	CHECK_ST(evr_hep_parse((const char *)buf, sizeof(buf), &h), EVR_HEP_OK);
	CHECK_EQ_INT(h.flow.family, 4);
	CHECK_EQ_INT(h.flow.src[0], 10);
	CHECK_EQ_INT(h.flow.src[3], 1);
	CHECK_EQ_INT(h.flow.dst[3], 2);
	CHECK_EQ_INT(h.flow.sport, 5060);
	CHECK_EQ_INT(h.flow.dport, 5061);
	CHECK_EQ_INT(h.ts_sec, 1700000000u);
	CHECK_EQ_INT(h.ts_usec, 42);
	CHECK_EQ_INT(h.flow.ts_us, 1700000000000042ull);
	CHECK_EQ_INT(h.capture_id, 2001);
	CHECK_EQ_INT(h.ip_proto, 17);
	CHECK_EQ_VIEW(h.payload.p, h.payload.len, "MESSAGE sip:a@b SIP/2.");
	CHECK(h.auth_key.p == NULL && h.correlation_id.p == NULL);
}

/* Chunk order is free, a 2-byte capture id (old agents) is accepted, and a
 * packet may carry the other family's addresses too. */
static void test_variants(void)
{
	struct pkt p;
	struct evr_hep h;

	p_begin(&p);
	p_chunk(&p, 0, 0x0f, sip_msg, sizeof(sip_msg) - 1);
	p_chunk(&p, 0, 0x06, v6dst, 16);
	p_u16(&p, 0x08, 5060);
	p_u8(&p, 0x0b, 1);
	p_chunk(&p, 0, 0x03, v4src, 4); /* ignored: the family is IPv6 */
	p_chunk(&p, 0, 0x05, v6src, 16);
	p_u16(&p, 0x07, 1234);
	p_chunk(&p, 0, 0x0c, "\x01\x02", 2);
	p_u8(&p, 0x01, 10);
	p_chunk(&p, 0x1234, 0x0001, "whatever", 8); /* vendor: skipped, even type 1 */
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_OK);
	CHECK_EQ_INT(h.flow.family, 6);
	CHECK(memcmp(h.flow.src, v6src, 16) == 0 && memcmp(h.flow.dst, v6dst, 16) == 0);
	CHECK_EQ_INT(h.flow.sport, 1234);
	CHECK_EQ_INT(h.capture_id, 0x0102);
	CHECK_EQ_INT(h.flow.ts_us, 0); /* no timestamp: the caller uses its own */
	CHECK_EQ_INT(h.ip_proto, 0);

	/* IPv4 family with IPv6 chunks too: the IPv4 ones count, the rest of
	 * the 16-byte arrays stays zero */
	p_begin(&p);
	p_chunk(&p, 0, 0x05, v6src, 16);
	p_chunk(&p, 0, 0x06, v6dst, 16);
	p_u8(&p, 0x01, 2);
	p_chunk(&p, 0, 0x03, v4src, 4);
	p_chunk(&p, 0, 0x04, v4dst, 4);
	p_u16(&p, 0x07, 1);
	p_u16(&p, 0x08, 2);
	p_u8(&p, 0x0b, 1);
	p_chunk(&p, 0, 0x0f, "x", 1);
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_OK);
	CHECK(memcmp(h.flow.src, v4src, 4) == 0);
	for (int i = 4; i < 16; i++)
		CHECK(h.flow.src[i] == 0 && h.flow.dst[i] == 0);

	/* an empty vendor chunk (length exactly 6) is fine */
	p_valid4(&p, 0);
	p_chunk(&p, 7, 7, "", 0);
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_OK);
}

static void test_failures(void)
{
	struct pkt p;
	struct evr_hep h;
	char big[32];

	/* framing */
	CHECK_ST(evr_hep_parse(NULL, 0, &h), EVR_HEP_TOO_SHORT);
	CHECK_ST(evr_hep_parse("HEP3\0", 5, &h), EVR_HEP_TOO_SHORT);
	CHECK_ST(evr_hep_parse("HEP2\0\x06", 6, &h), EVR_HEP_BAD_MAGIC);
	CHECK_ST(evr_hep_parse("hep3\0\x06", 6, &h), EVR_HEP_BAD_MAGIC);
	CHECK_ST(evr_hep_parse("\x01\x10\x02\x11\0\0\0\0", 8, &h), EVR_HEP_OLD_VERSION);
	CHECK_ST(evr_hep_parse("\x02\x10\x02\x11\0\0\0\0", 8, &h), EVR_HEP_OLD_VERSION);
	CHECK_ST(evr_hep_parse("INVITE sip:a@b SIP/2.0", 22, &h), EVR_HEP_BAD_MAGIC);

	p_valid4(&p, 0);
	CHECK_ST(evr_hep_parse((const char *)p.b, p.n - 1, &h), EVR_HEP_BAD_LENGTH);
	p.b[5]++;
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_LENGTH); /* datagram shorter than declared */
	p_valid4(&p, 0);
	p.b[p.n++] = 0; /* one byte more than declared */
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_LENGTH);
	p_end(&p); /* declared too: now a 1-byte partial chunk header */
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_CHUNK);
	p_valid4(&p, 0);
	memcpy(p.b + p.n, "\0\0\0\x01\0", 5); /* 5 of the 6 header bytes */
	p.n += 5;
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_CHUNK);
	/* header only: no chunks at all -> no family */
	CHECK_ST(evr_hep_parse("HEP3\0\x06", 6, &h), EVR_HEP_MISSING_ADDR);

	/* chunk lengths: below 6, past the end */
	p_valid4(&p, 0);
	p.b[6 + 5] = 5; /* first chunk's length 5 */
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_CHUNK);
	p_valid4(&p, 0);
	p.b[6 + 5] = 0;
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_CHUNK);
	p_valid4(&p, 0);
	p.b[p.n - (sizeof(sip_msg) - 1) - 2]++; /* payload length past the end */
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_CHUNK);
	p_begin(&p);
	p_chunk(&p, 0x55, 0x66, "abc", 3);
	p.b[p.n - 3 - 2] = 0xff; /* vendor chunk lengths are checked too */
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_CHUNK);

	/* fixed sizes */
	{
		static const struct {
			unsigned type, len;
		} wrong[] = {
			{ 0x01, 2 }, { 0x02, 0 }, { 0x03, 16 }, { 0x04, 3 }, { 0x05, 4 },
			{ 0x06, 15 }, { 0x07, 4 }, { 0x08, 1 }, { 0x09, 8 }, { 0x0a, 2 },
			{ 0x0b, 2 }, { 0x0c, 3 }, { 0x0c, 8 },
		};

		memset(big, 0, sizeof(big));
		for (size_t i = 0; i < ARRAY_SIZE(wrong); i++) {
			p_valid4(&p, wrong[i].type);
			p_chunk(&p, 0, wrong[i].type, big, wrong[i].len);
			p_end(&p);
			CHECK_MSG(parse_pkt(&p, &h) == EVR_HEP_BAD_CHUNK_SIZE, "type %u len %u: %s",
			          wrong[i].type, wrong[i].len, evr_hep_status_name(parse_pkt(&p, &h)));
		}
	}

	/* duplicates of chunks the decoder reads; unknown generic ones may repeat */
	{
		static const unsigned dup_types[] = { 0x01, 0x03, 0x07, 0x09, 0x0b, 0x0c, 0x0f };

		for (size_t i = 0; i < ARRAY_SIZE(dup_types); i++) {
			p_valid4(&p, 0);
			switch (dup_types[i]) {
			case 0x01: p_u8(&p, 0x01, 2); break;
			case 0x03: p_chunk(&p, 0, 0x03, v4src, 4); break;
			case 0x07: p_u16(&p, 0x07, 1); break;
			case 0x09: p_u32(&p, 0x09, 1); break;
			case 0x0b: p_u8(&p, 0x0b, 1); break;
			case 0x0c: p_u32(&p, 0x0c, 1); break;
			default: p_chunk(&p, 0, 0x0f, "x", 1); break;
			}
			p_end(&p);
			CHECK_MSG(parse_pkt(&p, &h) == EVR_HEP_DUPLICATE_CHUNK, "type %u",
			          dup_types[i]);
		}
		p_valid4(&p, 0);
		p_u16(&p, 0x0d, 1);
		p_u16(&p, 0x0d, 2);
		p_end(&p);
		CHECK_ST(parse_pkt(&p, &h), EVR_HEP_OK);
	}

	/* family and addresses */
	p_valid4(&p, 0x01);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_ADDR);
	p_valid4(&p, 0x01);
	p_u8(&p, 0x01, 1);
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_UNSUPPORTED_FAMILY);
	p_valid4(&p, 0x01);
	p_u8(&p, 0x01, 10); /* IPv6 family, only IPv4 addresses */
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_ADDR);
	p_valid4(&p, 0x03);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_ADDR);
	p_valid4(&p, 0x04);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_ADDR);
	p_valid4(&p, 0x07);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_ADDR);
	p_valid4(&p, 0x08);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_ADDR);

	/* time */
	p_valid4(&p, 0x0a);
	p_u32(&p, 0x0a, 1000000);
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_TIMESTAMP);
	p_valid4(&p, 0x09);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_BAD_TIMESTAMP); /* usec without sec */
	p_valid4(&p, 0x0a);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_OK); /* sec alone is fine */
	CHECK_EQ_INT(h.flow.ts_us, 1700000000000000ull);

	/* what is carried */
	p_valid4(&p, 0x0b);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_NOT_SIP);
	p_valid4(&p, 0x0b);
	p_u8(&p, 0x0b, 5); /* RTCP */
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_NOT_SIP);
	p_valid4(&p, 0x0b);
	p_u8(&p, 0x0b, 100); /* log */
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_NOT_SIP);
	p_valid4(&p, 0x0f);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_PAYLOAD);
	p_valid4(&p, 0x0f);
	p_chunk(&p, 0, 0x0f, "", 0);
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_MISSING_PAYLOAD);
	p_valid4(&p, 0x0f);
	p_chunk(&p, 0, 0x10, "\x78\x9c\x01", 3);
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_COMPRESSED);
	p_valid4(&p, 0);
	p_chunk(&p, 0, 0x10, "\x78\x9c\x01", 3); /* both: the plain one is used */
	p_end(&p);
	CHECK_ST(parse_pkt(&p, &h), EVR_HEP_OK);
}

static void test_build_errors(void)
{
	static char payload[65536];
	static char out[70000];
	struct evr_hep h;

	memset(&h, 0, sizeof(h));
	h.payload = (struct evr_sip_str){ "x", 1 };
	CHECK_EQ_INT(evr_hep_build(&h, out, sizeof(out)), -EINVAL); /* family 0 */
	h.flow.family = 5;
	CHECK_EQ_INT(evr_hep_build(&h, out, sizeof(out)), -EINVAL);
	h.flow.family = 4;
	CHECK(evr_hep_build(&h, out, sizeof(out)) > 0);
	/* largest payload that still fits the 16-bit total length */
	memset(payload, 'a', sizeof(payload));
	h.payload = (struct evr_sip_str){ payload, 65535 - 6 - 6 * 11 - 1 - 1 - 4 - 4 - 2 - 2 - 4 - 4 - 1 - 4 };
	CHECK_EQ_INT(evr_hep_build(&h, out, sizeof(out)), 65535);
	h.payload.len++;
	CHECK_EQ_INT(evr_hep_build(&h, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	test_names();
	round_trip(4);
	round_trip(6);
	test_literal();
	test_variants();
	test_failures();
	test_build_errors();
	EVR_TEST_DONE();
}
