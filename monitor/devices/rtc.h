/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtc.h: the CMOS real-time clock (Motorola MC146818) at ports 0x70 (index,
 * bit 7 the NMI mask, ignored) and 0x71 (data), as PC guests read it: the
 * host's wall-clock time (UTC) in the registers 0x00-0x09 and the century
 * at 0x32, BCD or binary and 24 or 12 hours as register B asks, register A's
 * update-in-progress bit high around each second's update as on the chip,
 * register D's valid-time bit set, and the rest of the 128 bytes as plain
 * CMOS RAM. A guest that sets the time (SET in register B, then the
 * registers) moves its own clock only: ember keeps an offset to the host's.
 * No interrupts: periodic, alarm and update-ended flags stay clear
 * (register C reads 0), and IRQ 8 is never raised.
 *
 * Accessed from vCPU threads: one lock per clock; no syscalls beyond
 * reading the clock (vDSO or clock_gettime).
 */
#ifndef EMBER_RTC_H
#define EMBER_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RTC_PORT       0x70 /* index; 0x71: data */
#define RTC_PORT_COUNT 2
#define RTC_CMOS_BYTES 128

/* Registers (MC146818 data sheet; 0x32 the century, as PC firmware has it). */
#define RTC_SECONDS	  0x00
#define RTC_MINUTES	  0x02
#define RTC_HOURS	  0x04
#define RTC_WEEKDAY	  0x06 /* 1 = Sunday */
#define RTC_DAY		  0x07
#define RTC_MONTH	  0x08
#define RTC_YEAR	  0x09 /* two digits */
#define RTC_REG_A	  0x0a
#define RTC_REG_B	  0x0b
#define RTC_REG_C	  0x0c
#define RTC_REG_D	  0x0d
#define RTC_CENTURY	  0x32
#define RTC_A_UIP	  0x80 /* update in progress */
#define RTC_B_SET	  0x80 /* updates stopped: the guest sets the time */
#define RTC_B_BINARY	  0x04 /* data mode: binary, not BCD */
#define RTC_B_24H	  0x02
#define RTC_D_VRT	  0x80 /* valid RAM and time */
#define RTC_HOUR_PM	  0x80 /* 12-hour mode */
#define RTC_A_DEFAULT	  0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define RTC_B_DEFAULT	  RTC_B_24H
#define RTC_UIP_BEFORE_NS 244000  /* UIP rises this long before the update */
#define RTC_UPDATE_NS	  1984000 /* and the update takes this long */

/* rtc_clock_fn: the wall-clock time now (CLOCK_REALTIME unless a test says). */
typedef void (*rtc_clock_fn)(struct timespec *now);

struct rtc {
	pthread_mutex_t lock;
	rtc_clock_fn clock;
	uint8_t index;
	uint8_t ram[RTC_CMOS_BYTES]; /* registers A-D and the RAM; time while SET */
	int64_t offset_s;	     /* the guest's time less the host's */
};

/* rtc_init: the clock at power-on, reading (clock), or the host's when NULL. 0 or -errno. */
int rtc_init(struct rtc *rtc, rtc_clock_fn clock);

/* rtc_io: a bus handler for ports RTC_PORT .. RTC_PORT + 1 (offset 0 or 1). */
void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* rtc_destroy: release the lock. */
void rtc_destroy(struct rtc *rtc);

/*
 * The clock as a snapshot keeps it: the index, the 128 bytes (registers A
 * to D, the time registers as last frozen or set, the RAM), and the
 * guest's time less the host's wall-clock time, never a host instant. So a
 * restored guest's clock reads the host's time now plus what the guest
 * moved it by: like a PC's battery clock, it went on while the VM was saved.
 */
struct rtc_state {
	int64_t offset_s; /* guest time less host time, in seconds */
	uint8_t ram[RTC_CMOS_BYTES];
	uint8_t index;
	uint8_t pad[7];
};
_Static_assert(sizeof(struct rtc_state) == 8 + RTC_CMOS_BYTES + 8, "rtc_state has holes");

/*
 * rtc_save_state: (rtc)'s guest-visible state into (st), zeroed first.
 * VMM thread, vCPUs parked.
 */
void rtc_save_state(struct rtc *rtc, struct rtc_state *st);

/*
 * rtc_load_state: put (rtc), freshly initialised, into (st)'s state. Every
 * field is checked first (the offset must put the clock, read now, within
 * the years 0000-9999 it can show); on a bad one returns -EINVAL with one
 * line naming it in (err) (of (errsz) bytes) and leaves (rtc) unchanged.
 * Returns 0. VMM thread, before any vCPU runs.
 */
int rtc_load_state(struct rtc *rtc, const struct rtc_state *st, char *err, size_t errsz);

#endif /* EMBER_RTC_H */
