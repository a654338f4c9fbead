/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH mod_event_multicast framing (issue 12 §2), pure C, no EAL.
 *
 * Plain datagram, as mod_event_multicast builds it: the
 * switch_event_serialize() text (URL-encoded plain), then the 21-byte
 * validation string EVR_FS_MCAST_MAGIC, then a NUL and (OpenSSL builds of
 * FreeSWITCH) zero padding up to the length it computed; the receiver
 * (process_packet) finds the first byte equal to the magic's first byte
 * (0xE2, never present in URL-encoded text), requires all 21 bytes there and
 * cuts the text at it; what follows the magic is ignored.
 *
 * PSK datagram: 36-byte UUID string in clear, then Blowfish-CBC (EVP
 * default PKCS padding) of text + magic, key = the psk's bytes (key length
 * strlen(psk)), IV = the first 8 bytes of that UUID string. A wrong key
 * shows as a missing/damaged magic after decryption, as in FreeSWITCH.
 */
#ifndef EVR_FS_MCAST_H
#define EVR_FS_MCAST_H

#include <stddef.h>
#include <stdint.h>

#include "event/evr_event.h" /* EVR_API */

#define EVR_FS_MCAST_MAGIC_LEN 21u
#define EVR_FS_MCAST_UUID_LEN 36u

EVR_API extern const uint8_t evr_fs_mcast_magic[EVR_FS_MCAST_MAGIC_LEN];

enum evr_fs_mcast_status {
	EVR_FS_MCAST_OK = 0,
	EVR_FS_MCAST_NO_MAGIC,      /* no byte 0xE2 at all: fs_mcast_no_magic */
	EVR_FS_MCAST_BAD_MAGIC,     /* 0xE2 found, the 21 bytes differ */
	EVR_FS_MCAST_BAD_CIPHER,    /* PSK: shorter than UUID + one block */
};

/* Finds the trailer in buf[0..len) the way mod_event_multicast does; on
 * EVR_FS_MCAST_OK *body_len is the length of the serialized event text
 * before it. Does not write to buf. */
EVR_API enum evr_fs_mcast_status evr_fs_mcast_strip(const uint8_t *buf, size_t len,
                                            size_t *body_len);


/* Blowfish key schedule (BF_KEY: 18 + 4*256 words), read-only once made:
 * one per listener, shared by the workers. */
#define EVR_FS_MCAST_PSK_MAX 56u
struct evr_fs_mcast_psk {
	uint32_t sched[18 + 4 * 256];
};

/* Init-time: key schedule from psk (1..56 bytes). 0 or -EINVAL. */
EVR_API int evr_fs_mcast_psk_init(struct evr_fs_mcast_psk *k, const char *psk);

/* PSK datagram buf[0..len) decrypted into out[0..cap) (cap >= len is
 * enough), then evr_fs_mcast_strip on it: on EVR_FS_MCAST_OK the event text
 * is out[0..*body_len). No allocation; bounded by len. */
EVR_API enum evr_fs_mcast_status evr_fs_mcast_decrypt(const struct evr_fs_mcast_psk *k,
                                                      const uint8_t *buf, size_t len,
                                                      uint8_t *out, size_t cap,
                                                      size_t *body_len);

#endif
