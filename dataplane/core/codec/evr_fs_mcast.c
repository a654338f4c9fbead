/* SPDX-License-Identifier: Apache-2.0 */
#include "codec/evr_fs_mcast.h"

#include <string.h>

/* mod_event_multicast.c MAGIC[] (21 bytes, no NUL in the array). */
const uint8_t evr_fs_mcast_magic[EVR_FS_MCAST_MAGIC_LEN] = {
	226, 132, 177, 197, 152, 198, 142, 211, 172, 197, 158,
	208, 169, 208, 135, 197, 166, 207, 154, 196, 166,
};

enum evr_fs_mcast_status evr_fs_mcast_strip(const uint8_t *buf, size_t len,
                                            size_t *body_len)
{
	/* The sender stops at the first NUL (strchr on a C string). */
	const uint8_t *nul = memchr(buf, 0, len);
	if (nul)
		len = (size_t)(nul - buf);
	const uint8_t *m = memchr(buf, evr_fs_mcast_magic[0], len);
	if (!m)
		return EVR_FS_MCAST_NO_MAGIC;
	size_t off = (size_t)(m - buf);
	if (len - off < EVR_FS_MCAST_MAGIC_LEN ||
	    memcmp(m, evr_fs_mcast_magic, EVR_FS_MCAST_MAGIC_LEN) != 0)
		return EVR_FS_MCAST_BAD_MAGIC;
	*body_len = off;
	return EVR_FS_MCAST_OK;
}
