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

	evr_scratch_fini(&s);
	EVR_TEST_DONE();
}
