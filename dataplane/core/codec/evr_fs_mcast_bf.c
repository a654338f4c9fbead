/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_event_multicast PSK mode: Blowfish-CBC through OpenSSL's low-level
 * BF_* API, which needs no provider (EVP Blowfish is in OpenSSL 3's legacy
 * provider). BF_* is deprecated in OpenSSL 3: the warning is switched off
 * for this file's OpenSSL calls only.
 */
#include "codec/evr_fs_mcast.h"

#include <errno.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <openssl/blowfish.h>

_Static_assert(sizeof(BF_KEY) <= sizeof(struct evr_fs_mcast_psk),
               "evr_fs_mcast_psk holds a BF_KEY");

int evr_fs_mcast_psk_init(struct evr_fs_mcast_psk *k, const char *psk)
{
	size_t n = psk ? strlen(psk) : 0;
	if (n == 0 || n > EVR_FS_MCAST_PSK_MAX)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	BF_set_key((BF_KEY *)(void *)k->sched, (int)n, (const unsigned char *)psk);
	return 0;
}

enum evr_fs_mcast_status evr_fs_mcast_decrypt(const struct evr_fs_mcast_psk *k,
                                              const uint8_t *buf, size_t len,
                                              uint8_t *out, size_t cap,
                                              size_t *body_len)
{
	if (len < EVR_FS_MCAST_UUID_LEN)
		return EVR_FS_MCAST_BAD_CIPHER;
	size_t clen = len - EVR_FS_MCAST_UUID_LEN;
	/* the sender's NUL after the ciphertext is not part of it */
	clen -= clen % BF_BLOCK;
	if (clen == 0 || clen > cap)
		return EVR_FS_MCAST_BAD_CIPHER;
	unsigned char iv[BF_BLOCK];
	memcpy(iv, buf, BF_BLOCK); /* first 8 bytes of the UUID string */
	BF_cbc_encrypt(buf + EVR_FS_MCAST_UUID_LEN, out, (long)clen,
	               (const BF_KEY *)(const void *)k->sched, iv, BF_DECRYPT);
	/* As process_packet: padding unchecked, the magic decides. */
	return evr_fs_mcast_strip(out, clen, body_len);
}
#pragma GCC diagnostic pop
