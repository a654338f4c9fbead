/* SPDX-License-Identifier: Apache-2.0 */
/*
 * FreeSWITCH standard headers (event/evr_fs_std.h): the date strings for
 * fixed times (local with an offset, RFC 1123 GMT, leap days, year
 * boundaries, before 1970), the v4 UUID shape, the header order of
 * switch_event_prep_for_delivery, the timestamp in microseconds, and that
 * the per-thread clock reformats only when the second changes.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "event/evr_event_build.h"
#include "event/evr_fs_std.h"
#include "evr_test.h"

static void check_local(int64_t t, int32_t off, const char *want)
{
	char b[EVR_FS_DATE_LOCAL_LEN + 1];

	evr_fs_date_local(b, t, off);
	CHECK_EQ_STR(b, want);
	CHECK_EQ_INT(strlen(b), EVR_FS_DATE_LOCAL_LEN);
}

static void check_gmt(int64_t t, const char *want)
{
	char b[EVR_FS_DATE_GMT_LEN + 1];

	evr_fs_date_gmt(b, t);
	CHECK_EQ_STR(b, want);
	CHECK_EQ_INT(strlen(b), EVR_FS_DATE_GMT_LEN);
}

static void test_dates(void)
{
	check_gmt(1704110400, "Mon, 01 Jan 2024 12:00:00 GMT");
	check_gmt(0, "Thu, 01 Jan 1970 00:00:00 GMT");
	check_gmt(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");   /* 400-year leap day */
	check_gmt(1709251199, "Thu, 29 Feb 2024 23:59:59 GMT");
	check_gmt(4102444799, "Thu, 31 Dec 2099 23:59:59 GMT");
	check_gmt(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
	check_local(1704110400, 0, "2024-01-01 12:00:00");
	check_local(1704110400, 3600, "2024-01-01 13:00:00");
	check_local(1704110400, -13 * 3600, "2023-12-31 23:00:00"); /* across the year */
	check_local(1704067199, 0, "2023-12-31 23:59:59");
	check_local(1735558457, -5 * 3600, "2024-12-30 06:34:17"); /* a real FreeSWITCH event's pair */
}

static void test_uuid(void)
{
	uint8_t rnd[16];
	char u[EVR_FS_UUID_LEN + 1];
	struct evr_fs_std a, b;

	memset(rnd, 0xff, sizeof(rnd));
	evr_fs_uuid4(u, rnd);
	CHECK_EQ_STR(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
	memset(rnd, 0, sizeof(rnd));
	evr_fs_uuid4(u, rnd);
	CHECK_EQ_STR(u, "00000000-0000-4000-8000-000000000000");

	CHECK_EQ_INT(evr_fs_std_init(&a, "pbx1", NULL, "198.18.0.1", NULL), 0);
	CHECK_EQ_INT(evr_fs_std_init(&b, NULL, NULL, NULL, NULL), 0);
	CHECK_EQ_INT(strlen(a.core_uuid), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			CHECK(a.core_uuid[i] == '-');
		else
			CHECK(isxdigit((unsigned char)a.core_uuid[i]) && !isupper((unsigned char)a.core_uuid[i]));
	}
	CHECK(a.core_uuid[14] == '4');
	CHECK(strchr("89ab", a.core_uuid[19]) != NULL);
	CHECK(strcmp(a.core_uuid, b.core_uuid) != 0); /* one per run, random */
	CHECK_EQ_STR(a.hostname, "pbx1");
	CHECK_EQ_STR(a.switchname, "pbx1"); /* defaults to the hostname */
	CHECK_EQ_STR(a.ipv4, "198.18.0.1");
	CHECK_EQ_STR(a.ipv6, "::1");
	CHECK_EQ_STR(b.hostname, "evrd");
	CHECK_EQ_STR(b.ipv4, "127.0.0.1");
}

static const char *const ORDER[] = {
	"Event-Name", "Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname",
	"FreeSWITCH-IPv4", "FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT",
	"Event-Date-Timestamp", "Event-Calling-File", "Event-Calling-Function",
	"Event-Calling-Line-Number", "x",
};

static void test_add(void)
{
	struct evr_limits lim;
	struct evr_scratch s = { 0 };
	struct evr_fs_std st;
	struct evr_fs_clock clk;
	unsigned line;

	evr_limits_default(&lim);
	CHECK_EQ_INT(evr_ev_arena_init(&s, &lim, 4096), 0);
	CHECK_EQ_INT(evr_fs_std_init(&st, "h", "sw", "198.18.0.1", "2001:db8:18::1"), 0);
	st.gmtoff = 3600;
	evr_fs_clock_init(&clk);
	evr_ev_begin(&s, EVR_FMT_PLAIN);
	s.ev.name = (struct evr_str){ "CHANNEL_CREATE", 14, 0 };
	CHECK(evr_ev_add(&s, "Event-Name", 10, "CHANNEL_CREATE", 14, 0, 64));
	line = __LINE__ + 1;
	CHECK(EVR_FS_STD_ADD(&s, &st, &clk, 1704110400123456ull));
	CHECK(evr_ev_add(&s, "x", 1, "y", 1, 0, 64));
	CHECK_EQ_INT(s.ev.n_attrs, 13);
	for (unsigned i = 0; i < 13 && i < s.ev.n_attrs; i++)
		CHECK_EQ_STR(s.ev.attrs[i].name.p, ORDER[i]);
	CHECK_EQ_STR(s.ev.attrs[1].value.p, st.core_uuid);
	CHECK_EQ_STR(s.ev.attrs[2].value.p, "h");
	CHECK_EQ_STR(s.ev.attrs[3].value.p, "sw");
	CHECK_EQ_STR(s.ev.attrs[4].value.p, "198.18.0.1");
	CHECK_EQ_STR(s.ev.attrs[5].value.p, "2001:db8:18::1");
	CHECK_EQ_STR(s.ev.attrs[6].value.p, "2024-01-01 13:00:00");
	CHECK_EQ_STR(s.ev.attrs[7].value.p, "Mon, 01 Jan 2024 12:00:00 GMT");
	CHECK_EQ_STR(s.ev.attrs[8].value.p, "1704110400123456"); /* microseconds */
	CHECK_EQ_STR(s.ev.attrs[9].value.p, "test_fs_std.c");
	CHECK_EQ_STR(s.ev.attrs[10].value.p, "test_add");
	char ln[16];
	snprintf(ln, sizeof(ln), "%u", line);
	CHECK_EQ_STR(s.ev.attrs[11].value.p, ln);

	/* same second: the cached strings are reused, not reformatted (no
	 * Event-Name this time: Date-Local is attrs[5], Date-GMT attrs[6]) */
	strcpy(clk.gmt, "cached");
	evr_ev_begin(&s, EVR_FMT_PLAIN);
	CHECK(EVR_FS_STD_ADD(&s, &st, &clk, 1704110400999999ull));
	CHECK_EQ_STR(s.ev.attrs[6].value.p, "cached");
	CHECK_EQ_STR(s.ev.attrs[7].value.p, "1704110400999999");
	/* next second: formatted again */
	evr_ev_begin(&s, EVR_FMT_PLAIN);
	CHECK(EVR_FS_STD_ADD(&s, &st, &clk, 1704110401000000ull));
	CHECK_EQ_STR(s.ev.attrs[6].value.p, "Mon, 01 Jan 2024 12:00:01 GMT");
	CHECK_EQ_STR(s.ev.attrs[5].value.p, "2024-01-01 13:00:01");
	evr_ev_arena_fini(&s);
}

int main(void)
{
	test_dates();
	test_uuid();
	test_add();
	EVR_TEST_DONE();
}
