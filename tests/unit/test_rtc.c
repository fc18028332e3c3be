// SPDX-License-Identifier: Apache-2.0
/* test_rtc.c: the MC146818 CMOS clock against a clock the test sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtc.h"

/* 2026-12-05 13:07:09 UTC, a Saturday. */
#define T0 1796476029L

static struct timespec fake_now;

static void fake_clock(struct timespec *now)
{
	*now = fake_now;
}

static void set_now(long sec, long nsec)
{
	fake_now.tv_sec = sec;
	fake_now.tv_nsec = nsec;
}

static uint8_t rd(struct rtc *rtc, uint8_t index)
{
	uint8_t v = index;

	rtc_io(rtc, 0, &v, 1, true);
	rtc_io(rtc, 1, &v, 1, false);
	return v;
}

static void wr(struct rtc *rtc, uint8_t index, uint8_t v)
{
	rtc_io(rtc, 0, &index, 1, true);
	rtc_io(rtc, 1, &v, 1, true);
}

static int setup(void **state)
{
	static struct rtc rtc;

	set_now(T0, 500000000L);
	assert_int_equal(rtc_init(&rtc, fake_clock), 0);
	*state = &rtc;
	return 0;
}

static int teardown(void **state)
{
	rtc_destroy(*state);
	return 0;
}

static void test_bcd_24h(void **state)
{
	struct rtc *rtc = *state;

	assert_int_equal(rd(rtc, RTC_SECONDS), 0x09);
	assert_int_equal(rd(rtc, RTC_MINUTES), 0x07);
	assert_int_equal(rd(rtc, RTC_HOURS), 0x13);
	assert_int_equal(rd(rtc, RTC_WEEKDAY), 7); /* Saturday; Sunday is 1 */
	assert_int_equal(rd(rtc, RTC_DAY), 0x05);
	assert_int_equal(rd(rtc, RTC_MONTH), 0x12);
	assert_int_equal(rd(rtc, RTC_YEAR), 0x26);
	assert_int_equal(rd(rtc, RTC_CENTURY), 0x20);
	assert_int_equal(rd(rtc, RTC_REG_A), RTC_A_DEFAULT);
	assert_int_equal(rd(rtc, RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(rtc, RTC_REG_C), 0);
	assert_int_equal(rd(rtc, RTC_REG_D), RTC_D_VRT);
	/* the clock runs */
	set_now(T0 + 61, 0);
	assert_int_equal(rd(rtc, RTC_MINUTES), 0x08);
	assert_int_equal(rd(rtc, RTC_SECONDS), 0x10);
}

static void test_binary_12h(void **state)
{
	struct rtc *rtc = *state;

	wr(rtc, RTC_REG_B, RTC_B_BINARY); /* binary, 12 hours */
	assert_int_equal(rd(rtc, RTC_HOURS), RTC_HOUR_PM | 1);
	assert_int_equal(rd(rtc, RTC_MONTH), 12);
	assert_int_equal(rd(rtc, RTC_YEAR), 26);
	assert_int_equal(rd(rtc, RTC_CENTURY), 20);
	set_now(T0 - 13 * 3600 + 3600 * 12, 0); /* 12:07: noon is 12 PM */
	assert_int_equal(rd(rtc, RTC_HOURS), RTC_HOUR_PM | 12);
	set_now(T0 - 13 * 3600, 0); /* 00:07: midnight is 12 AM */
	assert_int_equal(rd(rtc, RTC_HOURS), 12);
	wr(rtc, RTC_REG_B, 0);	   /* BCD, 12 hours */
	set_now(T0 - 2 * 3600, 0); /* 11:07 */
	assert_int_equal(rd(rtc, RTC_HOURS), 0x11);
}

/* UIP: high from 244 us before each update until the update's end. */
static void test_update_in_progress(void **state)
{
	struct rtc *rtc = *state;

	set_now(T0, 500000000L);
	assert_false(rd(rtc, RTC_REG_A) & RTC_A_UIP);
	set_now(T0, 1000000000L - RTC_UIP_BEFORE_NS - 1);
	assert_false(rd(rtc, RTC_REG_A) & RTC_A_UIP);
	set_now(T0, 1000000000L - RTC_UIP_BEFORE_NS);
	assert_true(rd(rtc, RTC_REG_A) & RTC_A_UIP);
	set_now(T0 + 1, RTC_UPDATE_NS - 1);
	assert_true(rd(rtc, RTC_REG_A) & RTC_A_UIP);
	set_now(T0 + 1, RTC_UPDATE_NS);
	assert_false(rd(rtc, RTC_REG_A) & RTC_A_UIP);
	/* UIP is read-only; the rest of A is the guest's */
	wr(rtc, RTC_REG_A, 0xff);
	set_now(T0, 0);
	assert_int_equal(rd(rtc, RTC_REG_A), 0xff);
	set_now(T0, 500000000L);
	assert_int_equal(rd(rtc, RTC_REG_A), 0x7f);
}

/* Linux's way: SET, the registers, SET cleared; the guest's clock then runs from there. */
static void test_guest_sets_time(void **state)
{
	struct rtc *rtc = *state;

	wr(rtc, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	set_now(T0 + 5, 0); /* stopped: still the frozen time */
	assert_int_equal(rd(rtc, RTC_SECONDS), 0x09);
	wr(rtc, RTC_YEAR, 0x30);
	wr(rtc, RTC_MONTH, 0x01);
	wr(rtc, RTC_DAY, 0x02);
	wr(rtc, RTC_HOURS, 0x03);
	wr(rtc, RTC_MINUTES, 0x04);
	wr(rtc, RTC_SECONDS, 0x05);
	wr(rtc, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(rtc, RTC_YEAR), 0x30);
	assert_int_equal(rd(rtc, RTC_MONTH), 0x01);
	assert_int_equal(rd(rtc, RTC_HOURS), 0x03);
	set_now(T0 + 5 + 10, 0);
	assert_int_equal(rd(rtc, RTC_SECONDS), 0x15);
	/* one register of the running clock */
	wr(rtc, RTC_HOURS, 0x22);
	assert_int_equal(rd(rtc, RTC_HOURS), 0x22);
	assert_int_equal(rd(rtc, RTC_MINUTES), 0x04);
	assert_int_equal(rd(rtc, RTC_DAY), 0x02);
}

/* Garbage from a hostile guest: nothing crashes, an impossible time changes nothing. */
static void test_garbage(void **state)
{
	struct rtc *rtc = *state;
	uint8_t v;

	wr(rtc, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(rtc, RTC_MONTH, 0x1a); /* not BCD */
	wr(rtc, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(rtc, RTC_MONTH), 0x12);
	assert_int_equal(rd(rtc, RTC_YEAR), 0x26);
	wr(rtc, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(rtc, RTC_MONTH, 0x13); /* month 13 */
	wr(rtc, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(rtc, RTC_MONTH), 0x12);
	wr(rtc, RTC_HOURS, 0x24); /* hour 24 */
	assert_int_equal(rd(rtc, RTC_HOURS), 0x13);
	wr(rtc, RTC_REG_B, RTC_B_BINARY); /* binary 12h: hour 0 is not a 12-hour value */
	wr(rtc, RTC_HOURS, 0);
	assert_int_equal(rd(rtc, RTC_HOURS), RTC_HOUR_PM | 1);
	/* C and D are read-only; the NMI bit of the index is ignored */
	wr(rtc, RTC_REG_C, 0xff);
	wr(rtc, RTC_REG_D, 0);
	assert_int_equal(rd(rtc, RTC_REG_C), 0);
	assert_int_equal(rd(rtc, 0x80 | RTC_REG_D), RTC_D_VRT);
	/* wrong widths are ignored and read 0; the index port reads 0xff */
	uint8_t two[2] = {0xaa, 0xaa};
	rtc_io(rtc, 1, two, 2, false);
	assert_int_equal(two[0], 0);
	rtc_io(rtc, 0, &v, 1, false);
	assert_int_equal(v, 0xff);
	/* every register, every value: no crash, and the RAM keeps what it is given */
	for (unsigned int i = 0; i < 256; i++)
		for (unsigned int b = 0; b < 256; b += 17)
			wr(rtc, (uint8_t)i, (uint8_t)b);
	wr(rtc, 0x40, 0x5a);
	assert_int_equal(rd(rtc, 0x40), 0x5a);
	assert_int_equal(rd(rtc, 0x80 | 0x40), 0x5a);
}

/* ---- snapshots ---- */

/* The first and the last second the chip can show: 0000-01-01, 9999-12-31 23:59:59 UTC. */
#define FIRST_S (-62167219200LL)
#define LAST_S	253402300799LL

/* restore: (rtc)'s state saved and loaded into (other), fresh. */
static void restore(struct rtc *rtc, struct rtc *other, struct rtc_state *st)
{
	struct rtc_state again;
	char err[128] = "";

	assert_int_equal(rtc_init(other, fake_clock), 0);
	rtc_save_state(rtc, st);
	assert_int_equal(rtc_load_state(other, st, err, sizeof(err)), 0);
	rtc_save_state(other, &again);
	assert_memory_equal(st, &again, sizeof(again));
}

/* same_regs: (a) and (b) read alike, every register through the index port, now. */
static void same_regs(struct rtc *a, struct rtc *b)
{
	uint8_t ia = 0, ib = 0;

	for (unsigned int i = 0; i < RTC_CMOS_BYTES; i++)
		assert_int_equal(rd(a, (uint8_t)i), rd(b, (uint8_t)i));
	rtc_io(a, 0, &ia, 1, false);
	rtc_io(b, 0, &ib, 1, false);
	assert_int_equal(ia, ib);
}

/*
 * A guest that moved its clock, set binary 12-hour mode and wrote its RAM:
 * restored three hours later, its clock reads the host's time plus its
 * offset (it went on meanwhile), and everything else is as it was.
 */
static void test_state_round_trip(void **state)
{
	struct rtc *rtc = *state;
	struct rtc other;
	struct rtc_state st;

	wr(rtc, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(rtc, RTC_YEAR, 0x30);
	wr(rtc, RTC_HOURS, 0x03);
	wr(rtc, RTC_REG_B, RTC_B_24H);	  /* the time set */
	wr(rtc, RTC_REG_B, RTC_B_BINARY); /* then binary, 12 hours */
	wr(rtc, RTC_REG_A, 0x2f);
	for (unsigned int i = 0x0e; i < RTC_CMOS_BYTES; i++)
		if (i != RTC_CENTURY)
			wr(rtc, (uint8_t)i, (uint8_t)(i * 7));
	wr(rtc, 0x55, 0xaa);
	uint8_t index = 0x40; /* the index left pointing somewhere */
	rtc_io(rtc, 0, &index, 1, true);
	assert_int_equal(rd(rtc, RTC_YEAR), 30);
	assert_int_equal(rd(rtc, RTC_HOURS), 3); /* 3 AM */
	rtc_io(rtc, 0, &index, 1, true);
	restore(rtc, &other, &st);
	assert_int_equal(st.index, 0x40);
	assert_int_equal(st.offset_s, rtc->offset_s);
	same_regs(rtc, &other);
	set_now(T0 + 3 * 3600, 0);
	assert_int_equal(rd(&other, RTC_YEAR), 30);
	assert_int_equal(rd(&other, RTC_HOURS), 6);
	same_regs(rtc, &other);
	rtc_destroy(&other);
}

/* Stopped (SET) while saved: the frozen time stays frozen, and commits alike. */
static void test_state_while_set(void **state)
{
	struct rtc *rtc = *state;
	struct rtc other;
	struct rtc_state st;

	wr(rtc, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(rtc, RTC_MINUTES, 0x45);
	restore(rtc, &other, &st);
	set_now(T0 + 100, 0);
	same_regs(rtc, &other);
	assert_int_equal(rd(&other, RTC_MINUTES), 0x45);
	wr(rtc, RTC_REG_B, RTC_B_24H);
	wr(&other, RTC_REG_B, RTC_B_24H);
	set_now(T0 + 200, 0);
	same_regs(rtc, &other);
	rtc_destroy(&other);
}

static void test_state_rejects(void **state)
{
	struct rtc *rtc = *state;
	struct rtc other;
	struct rtc_state good, before, after;
	struct {
		struct rtc_state st;
		const char *field;
	} bad[12];
	unsigned int n = 0;

	wr(rtc, 0x20, 0x11);
	rtc_save_state(rtc, &good);
#define BAD(field_, ...)                                                                           \
	do {                                                                                       \
		bad[n].st = good;                                                                  \
		__VA_ARGS__;                                                                       \
		bad[n++].field = (field_);                                                         \
	} while (0)
	BAD("index 0x80", bad[n].st.index = 0x80);
	BAD("register A 0xa6 sets UIP", bad[n].st.ram[RTC_REG_A] |= RTC_A_UIP);
	BAD("register C 0x80", bad[n].st.ram[RTC_REG_C] = 0x80);
	BAD("register D 0x80", bad[n].st.ram[RTC_REG_D] = RTC_D_VRT);
	BAD("offset_s -63963695230 puts the clock outside", bad[n].st.offset_s = FIRST_S - T0 - 1);
	BAD("offset_s 251605824771 puts the clock outside", bad[n].st.offset_s = LAST_S - T0 + 1);
	BAD("offset_s -9223372036854775808", bad[n].st.offset_s = INT64_MIN);
	BAD("offset_s 9223372036854775807", bad[n].st.offset_s = INT64_MAX);
	BAD("pad", bad[n].st.pad[2] = 1);
#undef BAD
	assert_int_equal(rtc_init(&other, fake_clock), 0);
	rtc_save_state(&other, &before);
	for (unsigned int i = 0; i < n; i++) {
		char err[128] = "";
		assert_int_equal(rtc_load_state(&other, &bad[i].st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "rtc: ", 5) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		rtc_save_state(&other, &after);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	/* the furthest offsets are taken: the first and the last second the clock shows */
	good.offset_s = FIRST_S - T0;
	assert_int_equal(rtc_load_state(&other, &good, NULL, 0), 0);
	assert_int_equal(rd(&other, RTC_CENTURY), 0x00);
	assert_int_equal(rd(&other, RTC_YEAR), 0x00);
	assert_int_equal(rd(&other, RTC_MONTH), 0x01);
	good.offset_s = LAST_S - T0;
	assert_int_equal(rtc_load_state(&other, &good, NULL, 0), 0);
	assert_int_equal(rd(&other, RTC_CENTURY), 0x99);
	assert_int_equal(rd(&other, RTC_YEAR), 0x99);
	assert_int_equal(rd(&other, RTC_SECONDS), 0x59);
	rtc_destroy(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_bcd_24h),	     T(test_binary_12h),    T(test_update_in_progress),
	    T(test_guest_sets_time), T(test_garbage),	    T(test_state_round_trip),
	    T(test_state_while_set), T(test_state_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
