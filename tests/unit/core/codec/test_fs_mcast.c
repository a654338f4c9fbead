/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_event_multicast framing: trailer found/missing/damaged exactly as
 * process_packet() in mod_event_multicast.c decides, the text before it
 * decoded by the plain decoder, and two senders told apart by the
 * Multicast-Sender header kept as an attribute.
 */
#include <stdio.h>
#include <string.h>

#include "codec/evr_decode.h"
#include "codec/evr_fs_mcast.h"
#include "evr_test.h"

/* serialized text + magic + NUL + zero padding, as the sender lays it out */
static size_t frame(uint8_t *out, size_t cap, const char *text, size_t pad)
{
	size_t n = strlen(text);
	if (n + EVR_FS_MCAST_MAGIC_LEN + 1 + pad > cap)
		return 0;
	memcpy(out, text, n);
	memcpy(out + n, evr_fs_mcast_magic, EVR_FS_MCAST_MAGIC_LEN);
	memset(out + n + EVR_FS_MCAST_MAGIC_LEN, 0, 1 + pad);
	return n + EVR_FS_MCAST_MAGIC_LEN + 1 + pad;
}

static const char *sender_of(const struct evr_event *ev)
{
	static char v[64];
	for (uint32_t i = 0; i < ev->n_attrs; i++) {
		const struct evr_attr *a = &ev->attrs[i];
		if (a->name.len == 16 && !memcmp(a->name.p, "Multicast-Sender", 16)) {
			snprintf(v, sizeof(v), "%.*s", (int)a->value.len, a->value.p);
			return v;
		}
	}
	return "";
}

/* Independent encryption, made with the OpenSSL CLI:
 *   openssl enc -bf-cbc -provider legacy -provider default \
 *     -K $(printf 0123456789abcdef | xxd -p) -iv $(printf 0f1e2d3c | xxd -p)
 * of "Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister\n"
 * "Multicast-Sender: fs-psk\n\n" + magic (psk "0123456789abcdef", the
 * UUID string below; IV = its first 8 bytes, as mod_event_multicast). */
static const char psk_uuid[] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
static const uint8_t psk_ct[] = {
  0x5c, 0x8d, 0x6d, 0x54, 0x57, 0x4e, 0xc5, 0x75, 0xff, 0x72, 0xc3, 0x46,
  0xa0, 0xf7, 0xe4, 0x44, 0x8e, 0xa0, 0x7e, 0xe2, 0xd1, 0xd0, 0xab, 0x12,
  0xb7, 0x61, 0xee, 0x8e, 0x59, 0xd0, 0x6a, 0xb7, 0x07, 0x1d, 0x94, 0xb3,
  0xd8, 0x7d, 0x05, 0xbe, 0x0f, 0x2f, 0x45, 0xff, 0xb1, 0x82, 0xd2, 0x17,
  0x60, 0x1c, 0x20, 0xbe, 0x97, 0x72, 0xa0, 0xee, 0x57, 0x29, 0x6d, 0x97,
  0x61, 0x62, 0x1a, 0xc2, 0x12, 0xa9, 0x8c, 0xb8, 0xce, 0xa3, 0xe2, 0x73,
  0xc2, 0xde, 0x89, 0x78, 0x69, 0x4a, 0xa3, 0x34, 0xda, 0x6e, 0xa2, 0xd9,
  0x05, 0xe1, 0xf0, 0x62, 0x40, 0xeb, 0x11, 0xc6, 0x65, 0x27, 0xb2, 0x7f,
  0xd7, 0x9b, 0x7b, 0x17, 0xbe, 0x41, 0x33, 0x29
};

static void test_psk(struct evr_scratch *s)
{
	uint8_t dgram[256], out[256];
	size_t body = 0;
	struct evr_fs_mcast_psk k, wrong;

	CHECK_EQ_INT(sizeof(psk_uuid) - 1, EVR_FS_MCAST_UUID_LEN);
	memcpy(dgram, psk_uuid, EVR_FS_MCAST_UUID_LEN);
	memcpy(dgram + EVR_FS_MCAST_UUID_LEN, psk_ct, sizeof(psk_ct));
	size_t n = EVR_FS_MCAST_UUID_LEN + sizeof(psk_ct);
	dgram[n] = 0; /* the sender's trailing NUL, sent or not */

	CHECK_EQ_INT(evr_fs_mcast_psk_init(&k, "0123456789abcdef"), 0);
	CHECK_EQ_INT(evr_fs_mcast_psk_init(&wrong, "0123456789abcdeX"), 0);
	CHECK(evr_fs_mcast_psk_init(&wrong, "") != 0);
	for (size_t extra = 0; extra <= 1; extra++) {
		CHECK_EQ_INT(evr_fs_mcast_decrypt(&k, dgram, n + extra, out, sizeof(out), &body),
		             EVR_FS_MCAST_OK);
		CHECK_EQ_INT(evr_decode_plain((const char *)out, body, s), EVR_DEC_OK);
		CHECK_EQ_STR(sender_of(&s->ev), "fs-psk");
	}
	/* wrong key: refused, as FreeSWITCH does, by the magic */
	enum evr_fs_mcast_status st =
		evr_fs_mcast_decrypt(&wrong, dgram, n, out, sizeof(out), &body);
	CHECK(st == EVR_FS_MCAST_NO_MAGIC || st == EVR_FS_MCAST_BAD_MAGIC);
	/* too short, output too small */
	CHECK_EQ_INT(evr_fs_mcast_decrypt(&k, dgram, 40, out, sizeof(out), &body),
	             EVR_FS_MCAST_BAD_CIPHER);
	CHECK_EQ_INT(evr_fs_mcast_decrypt(&k, dgram, n, out, 16, &body),
	             EVR_FS_MCAST_BAD_CIPHER);
	/* a plain datagram to a PSK listener is refused too */
	static const char plain[] = "Event-Name: HEARTBEAT\nMulticast-Sender: x\n\n";
	memcpy(dgram, plain, sizeof(plain) - 1);
	memcpy(dgram + sizeof(plain) - 1, evr_fs_mcast_magic, EVR_FS_MCAST_MAGIC_LEN);
	st = evr_fs_mcast_decrypt(&k, dgram, sizeof(plain) - 1 + EVR_FS_MCAST_MAGIC_LEN,
	                          out, sizeof(out), &body);
	CHECK(st != EVR_FS_MCAST_OK);
}

int main(void)
{
	uint8_t buf[2048];
	size_t body = 0, n;
	struct evr_limits l;
	struct evr_scratch s;

	evr_limits_default(&l);
	CHECK_EQ_INT(evr_scratch_init(&s, &l), 0);

	/* magic bytes (UTF-8 of the FreeSWITCH string), first byte 0xE2 */
	CHECK_EQ_INT(evr_fs_mcast_magic[0], 0xE2);
	CHECK_EQ_INT(evr_fs_mcast_magic[EVR_FS_MCAST_MAGIC_LEN - 1], 166);

	static const char *const node[2] = {"fs-a", "fs-b"};
	for (int i = 0; i < 2; i++) {
		char text[512];
		snprintf(text, sizeof(text),
		         "Event-Name: CUSTOM\nEvent-Subclass: sofia%%3A%%3Aregister\n"
		         "from-user: 100%d\nMulticast-Sender: %s\n\n", i, node[i]);
		/* no padding (non-OpenSSL FreeSWITCH) and 52 bytes (UUID+IV room) */
		for (size_t pad = 0; pad <= 52; pad += 52) {
			n = frame(buf, sizeof(buf), text, pad);
			CHECK(n > 0);
			CHECK_EQ_INT(evr_fs_mcast_strip(buf, n, &body), EVR_FS_MCAST_OK);
			CHECK_EQ_INT(body, strlen(text));
			CHECK_EQ_INT(evr_decode_plain((const char *)buf, body, &s), EVR_DEC_OK);
			CHECK_EQ_STR(sender_of(&s.ev), node[i]);
		}
	}

	/* no trailer at all */
	static const char bare[] = "Event-Name: HEARTBEAT\n\n";
	CHECK_EQ_INT(evr_fs_mcast_strip((const uint8_t *)bare, sizeof(bare) - 1, &body),
	             EVR_FS_MCAST_NO_MAGIC);
	/* truncated trailer, damaged trailer */
	n = frame(buf, sizeof(buf), bare, 0);
	CHECK_EQ_INT(evr_fs_mcast_strip(buf, n - 6, &body), EVR_FS_MCAST_BAD_MAGIC);
	buf[sizeof(bare) - 1 + 10] ^= 1;
	CHECK_EQ_INT(evr_fs_mcast_strip(buf, n, &body), EVR_FS_MCAST_BAD_MAGIC);
	/* magic after a NUL is not seen (the sender's C-string view) */
	n = frame(buf, sizeof(buf), bare, 0);
	buf[3] = 0;
	CHECK_EQ_INT(evr_fs_mcast_strip(buf, n, &body), EVR_FS_MCAST_NO_MAGIC);
	/* empty datagram */
	CHECK_EQ_INT(evr_fs_mcast_strip(buf, 0, &body), EVR_FS_MCAST_NO_MAGIC);

	test_psk(&s);
	evr_scratch_fini(&s);
	EVR_TEST_DONE();
}
