/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH standard event headers (evr_fs_std.h): the run constants, the
 * date formats (civil calendar arithmetic, so a worker needs neither
 * strftime nor the tz lock of localtime_r), and the builder step that
 * appends them. Thread context: see evr_fs_std.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/evr_bytes.h"
#include "evr_event_build.h"
#include "evr_fs_std.h"

static uint32_t cpy(char *dst, size_t cap, const char *src, const char *dflt)
{
	size_t n;

	if (src == NULL || src[0] == '\0')
		src = dflt;
	n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return (uint32_t)n;
}

void evr_fs_uuid4(char out[EVR_FS_UUID_LEN + 1], const uint8_t rnd[16])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	size_t w = 0;

	memcpy(b, rnd, 16);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 (RFC 4122) */
	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[w++] = '-';
		out[w++] = hex[b[i] >> 4];
		out[w++] = hex[b[i] & 15];
	}
	out[w] = '\0';
}

void evr_fs_std_refresh_tz(struct evr_fs_std *s)
{
	time_t now = time(NULL);
	struct tm tm;
	int32_t off = 0;

	if (localtime_r(&now, &tm))
		off = (int32_t)tm.tm_gmtoff;
	__atomic_store_n(&s->gmtoff, off, __ATOMIC_RELAXED);
}

int evr_fs_uuid_random(char out[EVR_FS_UUID_LEN + 1])
{
	uint8_t rnd[16];
	size_t got = 0;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	evr_fs_uuid4(out, rnd);
	return 0;
}

int evr_fs_std_init(struct evr_fs_std *s, const char *hostname, const char *switchname,
                    const char *ipv4, const char *ipv6)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = evr_fs_uuid_random(s->core_uuid)) != 0)
		return rc;
	s->hostname_len = cpy(s->hostname, sizeof(s->hostname), hostname, "evrd");
	s->switchname_len = cpy(s->switchname, sizeof(s->switchname), switchname, s->hostname);
	s->ipv4_len = cpy(s->ipv4, sizeof(s->ipv4), ipv4, "127.0.0.1");
	s->ipv6_len = cpy(s->ipv6, sizeof(s->ipv6), ipv6, "::1");
	evr_fs_std_refresh_tz(s);
	return 0;
}

/* Days since 1970-01-01 to civil year/month/day (proleptic Gregorian; the
 * well-known era/day-of-era decomposition). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *two(char *w, unsigned v)
{
	w[0] = (char)('0' + v / 10 % 10);
	w[1] = (char)('0' + v % 10);
	return w + 2;
}

static char *four(char *w, int64_t y)
{
	unsigned v = y < 0 ? 0 : y > 9999 ? 9999 : (unsigned)y;

	w = two(w, v / 100);
	return two(w, v % 100);
}

/* Split unix seconds into days and seconds of the day (floor). */
static void split(int64_t t, int64_t *days, unsigned *sod)
{
	*days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	*sod = (unsigned)(t - *days * 86400);
}

static char *hms(char *w, unsigned sod)
{
	w = two(w, sod / 3600);
	*w++ = ':';
	w = two(w, sod / 60 % 60);
	*w++ = ':';
	return two(w, sod % 60);
}

void evr_fs_date_local(char out[EVR_FS_DATE_LOCAL_LEN + 1], int64_t unix_s, int32_t off)
{
	int64_t days, y;
	unsigned sod, m, d;
	char *w = out;

	split(unix_s + off, &days, &sod);
	civil(days, &y, &m, &d);
	w = four(w, y);
	*w++ = '-';
	w = two(w, m);
	*w++ = '-';
	w = two(w, d);
	*w++ = ' ';
	w = hms(w, sod);
	*w = '\0';
}

void evr_fs_date_gmt(char out[EVR_FS_DATE_GMT_LEN + 1], int64_t unix_s)
{
	static const char wday[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t days, y;
	unsigned sod, m, d;
	char *w = out;

	split(unix_s, &days, &sod);
	civil(days, &y, &m, &d);
	memcpy(w, wday[((days % 7) + 7) % 7], 3); /* 1970-01-01 was a Thursday */
	w += 3;
	*w++ = ',';
	*w++ = ' ';
	w = two(w, d);
	*w++ = ' ';
	memcpy(w, mon[m - 1], 3);
	w += 3;
	*w++ = ' ';
	w = four(w, y);
	*w++ = ' ';
	w = hms(w, sod);
	memcpy(w, " GMT", 5);
}

void evr_fs_clock_init(struct evr_fs_clock *c)
{
	memset(c, 0, sizeof(*c));
	c->sec = UINT64_MAX;
}

#define ADD(name, p, n) ok &= evr_ev_add(sc, name, sizeof(name) - 1, (p), (n), 0, lim)

bool evr_fs_std_add(struct evr_scratch *sc, const struct evr_fs_std *s,
                    struct evr_fs_clock *clk, uint64_t wall_us, const char *file,
                    const char *func, unsigned line)
{
	uint64_t sec = wall_us / 1000000u;
	int32_t off = __atomic_load_n(&s->gmtoff, __ATOMIC_RELAXED);
	uint32_t lim = sc->lim.max_value_len;
	char num[24];
	bool ok = true;

	if (clk->sec != sec || clk->off != off) {
		/* once per second per thread */
		evr_fs_date_local(clk->local, (int64_t)sec, off);
		evr_fs_date_gmt(clk->gmt, (int64_t)sec);
		clk->sec = sec;
		clk->off = off;
	}
	ADD("Core-UUID", s->core_uuid, EVR_FS_UUID_LEN);
	ADD("FreeSWITCH-Hostname", s->hostname, s->hostname_len);
	ADD("FreeSWITCH-Switchname", s->switchname, s->switchname_len);
	ADD("FreeSWITCH-IPv4", s->ipv4, s->ipv4_len);
	ADD("FreeSWITCH-IPv6", s->ipv6, s->ipv6_len);
	ADD("Event-Date-Local", clk->local, EVR_FS_DATE_LOCAL_LEN);
	ADD("Event-Date-GMT", clk->gmt, EVR_FS_DATE_GMT_LEN);
	ADD("Event-Date-Timestamp", num, evr_u64dec(num, wall_us));
	ADD("Event-Calling-File", file, strlen(file));
	ADD("Event-Calling-Function", func, strlen(func));
	ADD("Event-Calling-Line-Number", num, evr_u64dec(num, line));
	return ok;
}
