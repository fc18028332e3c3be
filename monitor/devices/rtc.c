// SPDX-License-Identifier: Apache-2.0
/* rtc.c: the MC146818 CMOS clock at ports 0x70/0x71 (see rtc.h). */
#include "rtc.h"

#include <errno.h>
#include <string.h>

#include "dev_state.h"
#include "log.h"

#define NS_PER_S     1000000000L
#define RTC_INDEX    0x7f /* port 0x70: bits 6-0 select the register; bit 7 masks NMI */
#define INDEX_READ   0xff /* port 0x70 is write-only on the chip */
#define A_WRITABLE   0x7f /* register A: all but UIP */
#define YEARS_PER_C  100
#define TM_YEAR_BASE 1900
#define MAX_YEAR     9999 /* a century byte of 99 */
/* The first and last second the chip can show, 0000-01-01 and 9999-12-31 (UTC). */
#define FIRST_TIME_S (-62167219200LL)
#define LAST_TIME_S  253402300799LL

static void host_clock(struct timespec *now)
{
	clock_gettime(CLOCK_REALTIME, now);
}

int rtc_init(struct rtc *rtc, rtc_clock_fn clock)
{
	memset(rtc, 0, sizeof(*rtc));
	if (pthread_mutex_init(&rtc->lock, NULL) != 0)
		return -ENOMEM;
	rtc->clock = clock != NULL ? clock : host_clock;
	rtc->ram[RTC_REG_A] = RTC_A_DEFAULT;
	rtc->ram[RTC_REG_B] = RTC_B_DEFAULT;
	return 0;
}

void rtc_destroy(struct rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

static bool binary(const struct rtc *rtc)
{
	return rtc->ram[RTC_REG_B] & RTC_B_BINARY;
}

static bool hours24(const struct rtc *rtc)
{
	return rtc->ram[RTC_REG_B] & RTC_B_24H;
}

/* enc: (v), 0..99, as the data mode says. */
static uint8_t enc(const struct rtc *rtc, int v)
{
	return binary(rtc) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

/* dec: a register's value, or -1 for a BCD byte with a nibble above 9. */
static int dec(const struct rtc *rtc, uint8_t b)
{
	if (binary(rtc))
		return b;
	if ((b >> 4) > 9 || (b & 0xf) > 9)
		return -1;
	return (b >> 4) * 10 + (b & 0xf);
}

static uint8_t enc_hour(const struct rtc *rtc, int h)
{
	if (hours24(rtc))
		return enc(rtc, h);
	return enc(rtc, h % 12 != 0 ? h % 12 : 12) | (h >= 12 ? RTC_HOUR_PM : 0);
}

static int dec_hour(const struct rtc *rtc, uint8_t b)
{
	int h;

	if (hours24(rtc))
		return dec(rtc, b);
	h = dec(rtc, b & (uint8_t)~RTC_HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + ((b & RTC_HOUR_PM) ? 12 : 0);
}

/* guest_time: the guest's wall-clock time now, broken down (UTC); (frac) its nanoseconds. */
static bool guest_time(struct rtc *rtc, struct tm *tm, long *frac)
{
	struct timespec now;
	time_t t;

	rtc->clock(&now);
	t = (time_t)(now.tv_sec + rtc->offset_s);
	if (frac != NULL)
		*frac = now.tv_nsec;
	return gmtime_r(&t, tm) != NULL;
}

/* freeze: the time registers take the guest's time now (updates stop while SET). */
static void freeze(struct rtc *rtc)
{
	struct tm tm;
	int year;

	if (!guest_time(rtc, &tm, NULL))
		return;
	year = tm.tm_year + TM_YEAR_BASE;
	rtc->ram[RTC_SECONDS] = enc(rtc, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	rtc->ram[RTC_MINUTES] = enc(rtc, tm.tm_min);
	rtc->ram[RTC_HOURS] = enc_hour(rtc, tm.tm_hour);
	rtc->ram[RTC_WEEKDAY] = enc(rtc, tm.tm_wday + 1);
	rtc->ram[RTC_DAY] = enc(rtc, tm.tm_mday);
	rtc->ram[RTC_MONTH] = enc(rtc, tm.tm_mon + 1);
	rtc->ram[RTC_YEAR] = enc(rtc, year % YEARS_PER_C);
	rtc->ram[RTC_CENTURY] = enc(rtc, (year / YEARS_PER_C) % YEARS_PER_C);
}

/*
 * commit: the guest set the time registers: keep the difference to the
 * host's clock. Values no clock can hold (BCD garbage, month 13) change
 * nothing; a day past its month's end rolls over, as timegm does.
 */
static void commit(struct rtc *rtc)
{
	struct tm tm = {0};
	struct timespec now;
	int cent = dec(rtc, rtc->ram[RTC_CENTURY]), year = dec(rtc, rtc->ram[RTC_YEAR]);

	tm.tm_sec = dec(rtc, rtc->ram[RTC_SECONDS]);
	tm.tm_min = dec(rtc, rtc->ram[RTC_MINUTES]);
	tm.tm_hour = dec_hour(rtc, rtc->ram[RTC_HOURS]);
	tm.tm_mday = dec(rtc, rtc->ram[RTC_DAY]);
	tm.tm_mon = dec(rtc, rtc->ram[RTC_MONTH]) - 1;
	if (tm.tm_sec < 0 || tm.tm_sec > 59 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11 || year < 0 || year >= YEARS_PER_C || cent < 0 || cent >= YEARS_PER_C) {
		log_debug("rtc: the guest set an impossible time: ignored");
		return;
	}
	tm.tm_year = cent * YEARS_PER_C + year - TM_YEAR_BASE;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return;
	rtc->clock(&now);
	rtc->offset_s = (int64_t)t - (int64_t)now.tv_sec;
}

static uint8_t read_time_reg(struct rtc *rtc, uint8_t index)
{
	struct tm tm;
	int year;

	if (rtc->ram[RTC_REG_B] & RTC_B_SET)
		return rtc->ram[index]; /* stopped: what the guest set */
	if (!guest_time(rtc, &tm, NULL))
		return 0;
	year = tm.tm_year + TM_YEAR_BASE;
	switch (index) {
	case RTC_SECONDS:
		return enc(rtc, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return enc(rtc, tm.tm_min);
	case RTC_HOURS:
		return enc_hour(rtc, tm.tm_hour);
	case RTC_WEEKDAY:
		return enc(rtc, tm.tm_wday + 1);
	case RTC_DAY:
		return enc(rtc, tm.tm_mday);
	case RTC_MONTH:
		return enc(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return enc(rtc, year % YEARS_PER_C);
	default: /* RTC_CENTURY */
		return enc(rtc, (year / YEARS_PER_C) % YEARS_PER_C);
	}
}

static bool is_time_reg(uint8_t index)
{
	return index == RTC_SECONDS || index == RTC_MINUTES || index == RTC_HOURS ||
	       index == RTC_WEEKDAY || index == RTC_DAY || index == RTC_MONTH ||
	       index == RTC_YEAR || index == RTC_CENTURY;
}

/* uip: UIP is high from RTC_UIP_BEFORE_NS before each second's update to its end. */
static bool uip(struct rtc *rtc)
{
	struct tm tm;
	long frac;

	if ((rtc->ram[RTC_REG_B] & RTC_B_SET) || !guest_time(rtc, &tm, &frac))
		return false;
	return frac >= NS_PER_S - RTC_UIP_BEFORE_NS || frac < RTC_UPDATE_NS;
}

static uint8_t read_data(struct rtc *rtc)
{
	uint8_t i = rtc->index;

	if (is_time_reg(i))
		return read_time_reg(rtc, i);
	switch (i) {
	case RTC_REG_A:
		return (uint8_t)((rtc->ram[RTC_REG_A] & A_WRITABLE) | (uip(rtc) ? RTC_A_UIP : 0));
	case RTC_REG_C:
		return 0; /* no interrupt flags: none is ever raised */
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return rtc->ram[i];
	}
}

static void write_data(struct rtc *rtc, uint8_t v)
{
	uint8_t i = rtc->index;

	if (is_time_reg(i)) {
		bool set = rtc->ram[RTC_REG_B] & RTC_B_SET;
		if (!set)
			freeze(rtc); /* one register of a running clock: the others stay */
		rtc->ram[i] = v;
		if (!set)
			commit(rtc);
		return;
	}
	switch (i) {
	case RTC_REG_A:
		rtc->ram[RTC_REG_A] = v & A_WRITABLE;
		break;
	case RTC_REG_B: {
		uint8_t old = rtc->ram[RTC_REG_B];
		rtc->ram[RTC_REG_B] = v;
		if (!(old & RTC_B_SET) && (v & RTC_B_SET))
			freeze(rtc);
		else if ((old & RTC_B_SET) && !(v & RTC_B_SET))
			commit(rtc);
		break;
	}
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		rtc->ram[i] = v;
		break;
	}
}

void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *rtc = opaque;

	if (len != 1) {
		if (!is_write)
			memset(data, 0, len);
		return; /* the chip's ports are 8 bits wide */
	}
	pthread_mutex_lock(&rtc->lock);
	if (offset == 0) {
		if (is_write)
			rtc->index = data[0] & RTC_INDEX;
		else
			data[0] = INDEX_READ;
	} else if (is_write) {
		write_data(rtc, data[0]);
	} else {
		data[0] = read_data(rtc);
	}
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_save_state(struct rtc *rtc, struct rtc_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&rtc->lock);
	st->offset_s = rtc->offset_s;
	memcpy(st->ram, rtc->ram, sizeof(st->ram));
	st->index = rtc->index;
	pthread_mutex_unlock(&rtc->lock);
}

/* check: whether (st) is a state this clock can be in at (now); else the line saying why. */
static int check(const struct rtc_state *st, struct timespec now, char *err, size_t errsz)
{
	if (st->index & ~RTC_INDEX)
		return dev_state_reject(err, errsz, "rtc: index 0x%02x exceeds 0x%02x", st->index,
					RTC_INDEX);
	/* UIP is the clock's to show; C and D are never written. */
	if (st->ram[RTC_REG_A] & ~A_WRITABLE)
		return dev_state_reject(err, errsz, "rtc: register A 0x%02x sets UIP",
					st->ram[RTC_REG_A]);
	if (st->ram[RTC_REG_C] != 0)
		return dev_state_reject(err, errsz, "rtc: register C 0x%02x is not 0",
					st->ram[RTC_REG_C]);
	if (st->ram[RTC_REG_D] != 0)
		return dev_state_reject(err, errsz, "rtc: register D 0x%02x is not 0",
					st->ram[RTC_REG_D]);
	if (st->offset_s < FIRST_TIME_S - (int64_t)now.tv_sec ||
	    st->offset_s > LAST_TIME_S - (int64_t)now.tv_sec)
		return dev_state_reject(
		    err, errsz, "rtc: offset_s %lld puts the clock outside the years 0000-%d",
		    (long long)st->offset_s, MAX_YEAR);
	if (!dev_state_zero(st->pad, sizeof(st->pad)))
		return dev_state_reject(err, errsz, "rtc: pad is not zero");
	return 0;
}

int rtc_load_state(struct rtc *rtc, const struct rtc_state *st, char *err, size_t errsz)
{
	struct timespec now;

	pthread_mutex_lock(&rtc->lock);
	rtc->clock(&now);
	int ret = check(st, now, err, errsz);
	if (ret < 0) {
		pthread_mutex_unlock(&rtc->lock);
		return ret;
	}
	rtc->offset_s = st->offset_s;
	memcpy(rtc->ram, st->ram, sizeof(rtc->ram));
	rtc->index = st->index;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}
