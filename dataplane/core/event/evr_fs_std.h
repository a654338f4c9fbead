/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH's standard event headers on the events evrd itself raises in
 * the FreeSWITCH vocabulary (SIP-derived CHANNEL_* and sofia::*, HEARTBEAT,
 * raise_event without them), in the order switch_event_prep_for_delivery
 * writes them: Core-UUID, FreeSWITCH-Hostname, -Switchname, -IPv4, -IPv6,
 * Event-Date-Local, Event-Date-GMT, Event-Date-Timestamp (us since the
 * epoch), Event-Calling-File, -Function, -Line-Number. Event-Sequence,
 * which FreeSWITCH writes next, comes from the encoder. OpenSIPS-vocabulary
 * events never get them (OpenSIPS subscribers see OpenSIPS's params only).
 *
 * Ownership and thread context: one struct evr_fs_std per evrd run, filled
 * once at start (evr_fs_std_init: the only place that makes syscalls) and
 * then shared read-only by every thread, except gmtoff, which the control
 * thread refreshes (evr_fs_std_refresh_tz, DST) and workers load relaxed.
 * A struct evr_fs_clock belongs to one thread: it keeps the two date
 * strings of the current second, so a worker formats them once per second
 * from its TSC-derived wall clock (no strftime, no syscall, no malloc per
 * event).
 */
#ifndef EVR_FS_STD_H
#define EVR_FS_STD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evr_event.h"

#define EVR_FS_UUID_LEN 36
#define EVR_FS_DATE_LOCAL_LEN 19 /* "YYYY-MM-DD HH:MM:SS" */
#define EVR_FS_DATE_GMT_LEN 29   /* "Mon, 01 Jan 2024 12:00:00 GMT" */

struct evr_fs_std {
	char core_uuid[EVR_FS_UUID_LEN + 1];
	char hostname[64];
	char switchname[64];
	char ipv4[16];
	char ipv6[46];
	uint32_t hostname_len, switchname_len, ipv4_len, ipv6_len;
	int32_t gmtoff; /* local time minus UTC, seconds (atomic, relaxed) */
};

struct evr_fs_clock {
	uint64_t sec;    /* unix second the strings spell; UINT64_MAX: none yet */
	int32_t off;     /* gmtoff they were made with */
	char local[EVR_FS_DATE_LOCAL_LEN + 1];
	char gmt[EVR_FS_DATE_GMT_LEN + 1];
};

/* Fill s: a fresh v4 Core-UUID (getrandom), the names and addresses given
 * (NULL or "": hostname "evrd", switchname = hostname, IPv4 "127.0.0.1",
 * IPv6 "::1"; longer ones are cut) and the local UTC offset. 0 or -errno. */
EVR_API int evr_fs_std_init(struct evr_fs_std *s, const char *hostname, const char *switchname,
                            const char *ipv4, const char *ipv6);
/* Re-read the local UTC offset (DST changes). Control thread. */
EVR_API void evr_fs_std_refresh_tz(struct evr_fs_std *s);
/* 36 characters + NUL from 16 random bytes, version 4 / variant 10 set. */
EVR_API void evr_fs_uuid4(char out[EVR_FS_UUID_LEN + 1], const uint8_t rnd[16]);
/* A random v4 UUID (getrandom; blocks only before the kernel has entropy).
 * 0 or -errno. */
EVR_API int evr_fs_uuid_random(char out[EVR_FS_UUID_LEN + 1]);
/* "YYYY-MM-DD HH:MM:SS" of unix_s shifted by off seconds; 19 + NUL. */
EVR_API void evr_fs_date_local(char out[EVR_FS_DATE_LOCAL_LEN + 1], int64_t unix_s, int32_t off);
/* RFC 1123 "Mon, 01 Jan 2024 12:00:00 GMT" as switch_rfc822_date; 29 + NUL. */
EVR_API void evr_fs_date_gmt(char out[EVR_FS_DATE_GMT_LEN + 1], int64_t unix_s);
/* An empty clock (formats on first use). */
EVR_API void evr_fs_clock_init(struct evr_fs_clock *c);

/*
 * Append the standard headers to the event under construction in sc (right
 * after its name, so they come first as in FreeSWITCH), wall_us being the
 * event's time; file/func/line name the raise in evrd's source (use
 * EVR_FS_STD_ADD). False when a header did not fit (sc's limits): those
 * written stay, the caller counts it as it counts any dropped attribute.
 */
EVR_API bool evr_fs_std_add(struct evr_scratch *sc, const struct evr_fs_std *s,
                            struct evr_fs_clock *clk, uint64_t wall_us, const char *file,
                            const char *func, unsigned line);

/* What evr_fs_std_add adds, for sizing an arena: 11 attributes; their
 * names are literals, their values at most uuid + hostname + switchname +
 * addresses + dates + file, function, numbers (each + NUL). */
#define EVR_FS_STD_N 11u
#define EVR_FS_STD_BYTES 512u

#ifdef __FILE_NAME__
#define EVR_FILE_NAME __FILE_NAME__
#else
#define EVR_FILE_NAME __FILE__
#endif
#define EVR_FS_STD_ADD(sc, s, clk, wall_us)                                                    \
	evr_fs_std_add((sc), (s), (clk), (wall_us), EVR_FILE_NAME, __func__, __LINE__)

#endif /* EVR_FS_STD_H */
