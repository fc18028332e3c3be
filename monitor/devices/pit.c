// SPDX-License-Identifier: Apache-2.0
/* pit.c: the i8254 interval timer's counters and port B (see pit.h). */
#include "pit.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000ULL

/* Control word (port 0x43). */
#define CW_CHANNEL(v) ((v) >> 6)
#define CW_ACCESS(v)  (((v) >> 4) & 3)
#define CW_MODE(v)    (((v) >> 1) & 7)
#define CW_BCD	      0x01
#define CW_READ_BACK  3	   /* channel field 3: the read-back command */
#define RB_NO_COUNT   0x20 /* read-back: do not latch the counts */
#define RB_NO_STATUS  0x10 /* read-back: do not latch the statuses */
#define RB_CHANNEL(i) (0x02 << (i))
#define ACCESS_LATCH  0
#define ACCESS_LSB    1
#define ACCESS_MSB    2
#define ACCESS_WORD   3
#define STATUS_OUT    0x80
#define STATUS_NULL   0x40
#define MODE_ALIASES  4 /* modes 6 and 7 are 2 and 3 */
#define BINARY_RANGE  65536u
#define BCD_RANGE     10000u
#define CONTROL_PORT  3
#define UNUSED_READ   0xff /* the control port is write-only */

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

int pit_init(struct pit *pit, pit_clock_fn clock)
{
	memset(pit, 0, sizeof(*pit));
	if (pthread_mutex_init(&pit->lock, NULL) != 0)
		return -ENOMEM;
	pit->clock = clock != NULL ? clock : monotonic_ns;
	for (unsigned int i = 0; i < PIT_CHANNELS; i++) {
		pit->ch[i].access = ACCESS_WORD;
		pit->ch[i].gate = i != 2; /* channel 2's gate is port B bit 0, low at reset */
	}
	return 0;
}

void pit_destroy(struct pit *pit)
{
	pthread_mutex_destroy(&pit->lock);
}

static uint32_t from_bcd(uint32_t v)
{
	return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 +
	       (v & 0xf);
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
			  v % 10);
}

/* range: how many values the counter takes (65536 binary, 10000 BCD). */
static uint32_t range(const struct pit_channel *c)
{
	return c->bcd ? BCD_RANGE : BINARY_RANGE;
}

/* period: the initial count as a number, 0 meaning the whole range. */
static uint32_t period(const struct pit_channel *c)
{
	uint32_t n = c->bcd ? from_bcd(c->reload) % BCD_RANGE : c->reload;

	return n != 0 ? n : range(c);
}

static bool pauses(const struct pit_channel *c)
{
	return c->mode == 0 || c->mode == 2 || c->mode == 3 || c->mode == 4;
}

static bool waits_for_trigger(const struct pit_channel *c)
{
	return c->mode == 1 || c->mode == 5;
}

/* ticks: input clock periods counted since the count was loaded (or triggered). */
static uint64_t ticks(const struct pit_channel *c, uint64_t now)
{
	if (!c->armed || (waits_for_trigger(c) && !c->triggered))
		return 0;
	if (!c->gate && pauses(c))
		return c->paused_ticks;
	if (now < c->start_ns)
		return 0;
	return (uint64_t)((unsigned __int128)(now - c->start_ns) * PIT_HZ / NS_PER_S);
}

static uint64_t ticks_to_ns(uint64_t t)
{
	return (uint64_t)((unsigned __int128)t * NS_PER_S / PIT_HZ);
}

/* count: what the counting element holds now, as the guest reads it. */
static uint16_t count(const struct pit_channel *c, uint64_t now)
{
	uint64_t n = period(c), t = ticks(c, now), r = range(c);
	uint64_t v;

	if (!c->armed)
		return (uint16_t)c->reload;
	switch (c->mode) {
	case 2:
		v = n - t % n; /* n .. 1, reloading */
		break;
	case 3:
		v = n - (2 * t) % n; /* by twos */
		break;
	default: /* 0, 1, 4, 5: down to 0, then on from the top of the range */
		if (waits_for_trigger(c) && !c->triggered)
			v = n;
		else
			v = (n + r - t % r) % r;
		break;
	}
	v %= r;
	return c->bcd ? to_bcd((uint32_t)v) : (uint16_t)v;
}

/* out: the channel's OUT pin now. */
static bool out(const struct pit_channel *c, uint64_t now)
{
	uint64_t n = period(c), t = ticks(c, now);

	if (!c->armed)
		return c->mode != 0;
	switch (c->mode) {
	case 0:
		return t >= n;
	case 1:
		return !c->triggered || t >= n;
	case 2:
		return !c->gate || t % n != n - 1;
	case 3:
		return !c->gate || t % n < (n + 1) / 2;
	case 4:
		return t != n;
	default: /* 5 */
		return !c->triggered || t != n;
	}
}

static uint8_t status(const struct pit_channel *c, uint64_t now)
{
	return (uint8_t)((out(c, now) ? STATUS_OUT : 0) | (c->armed ? 0 : STATUS_NULL) |
			 c->access << 4 | c->mode << 1 | (c->bcd ? CW_BCD : 0));
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return; /* the first latch holds until it is read */
	c->latched = count(c, now);
	c->count_latched = true;
	c->latched_msb = false;
}

static void control(struct pit *pit, uint8_t v, uint64_t now)
{
	unsigned int sc = CW_CHANNEL(v);

	if (sc == CW_READ_BACK) {
		for (unsigned int i = 0; i < PIT_CHANNELS; i++) {
			struct pit_channel *c = &pit->ch[i];
			if (!(v & RB_CHANNEL(i)))
				continue;
			if (!(v & RB_NO_COUNT))
				latch_count(c, now);
			if (!(v & RB_NO_STATUS) && !c->status_latched) {
				c->status = status(c, now);
				c->status_latched = true;
			}
		}
		return;
	}
	struct pit_channel *c = &pit->ch[sc];
	if (CW_ACCESS(v) == ACCESS_LATCH) {
		latch_count(c, now);
		return;
	}
	c->mode = CW_MODE(v) >= 6 ? CW_MODE(v) - MODE_ALIASES : CW_MODE(v);
	c->access = CW_ACCESS(v);
	c->bcd = v & CW_BCD;
	c->armed = false;
	c->triggered = false;
	c->write_msb = c->read_msb = false;
	c->count_latched = c->status_latched = false;
}

static void load(struct pit_channel *c, uint32_t reload, uint64_t now)
{
	c->reload = reload;
	c->armed = true;
	c->triggered = false;
	c->start_ns = now;
	c->paused_ticks = 0;
}

static void write_count(struct pit_channel *c, uint8_t v, uint64_t now)
{
	switch (c->access) {
	case ACCESS_LSB:
		load(c, v, now);
		break;
	case ACCESS_MSB:
		load(c, (uint32_t)v << 8, now);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
		} else {
			c->write_msb = false;
			load(c, c->write_lsb | (uint32_t)v << 8, now);
		}
		break;
	}
}

static uint8_t read_count(struct pit_channel *c, uint64_t now)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latched;
		if (c->access == ACCESS_WORD && !c->latched_msb) {
			c->latched_msb = true;
			return (uint8_t)v;
		}
		c->count_latched = false;
		return (uint8_t)(c->access == ACCESS_LSB ? v : v >> 8);
	}
	v = count(c, now);
	switch (c->access) {
	case ACCESS_LSB:
		return (uint8_t)v;
	case ACCESS_MSB:
		return (uint8_t)(v >> 8);
	default:
		c->read_msb = !c->read_msb;
		return (uint8_t)(c->read_msb ? v : v >> 8);
	}
}

void pit_watch_irq0(struct pit *pit, pit_reprogram_fn fn, void *ctx)
{
	pthread_mutex_lock(&pit->lock);
	pit->reprogrammed = fn;
	pit->reprogrammed_ctx = ctx;
	pthread_mutex_unlock(&pit->lock);
}

/*
 * irq0_edges: OUT0's rising edges, in ticks from the load: the first, and
 * the period (0: none after it). Channel 0's gate is always high, so modes 1
 * and 5, which wait for a gate edge, never start and never interrupt.
 */
static bool irq0_edges(const struct pit_channel *c, uint64_t *first, uint64_t *period_ticks)
{
	uint64_t n = period(c);

	*period_ticks = 0;
	switch (c->mode) {
	case 0: /* OUT rises at the terminal count */
		*first = n;
		return true;
	case 2: /* OUT drops for the last tick of each period and rises at the reload */
	case 3: /* the square wave rises at each reload */
		*first = n;
		*period_ticks = n;
		return true;
	case 4: /* OUT strobes low for one tick at the terminal count */
		*first = n + 1;
		return true;
	default:
		return false;
	}
}

struct pit_irq0_schedule pit_irq0_schedule(struct pit *pit)
{
	struct pit_irq0_schedule s = {0};
	uint64_t first, every;

	pthread_mutex_lock(&pit->lock);
	const struct pit_channel *c = &pit->ch[0];
	s.generation = pit->generation;
	if (c->armed && irq0_edges(c, &first, &every)) {
		s.active = true;
		s.first_ns = c->start_ns + ticks_to_ns(first);
		if (every != 0) {
			s.period_ns = ticks_to_ns(every);
			if (s.period_ns < PIT_MIN_IRQ_PERIOD_NS)
				s.period_ns = PIT_MIN_IRQ_PERIOD_NS;
		}
	}
	pthread_mutex_unlock(&pit->lock);
	return s;
}

bool pit_irq0_current(struct pit *pit, uint64_t generation)
{
	pthread_mutex_lock(&pit->lock);
	bool current = pit->generation == generation;
	pthread_mutex_unlock(&pit->lock);
	return current;
}

/* reprograms_irq0: whether this write to the PIT's ports changes channel 0's schedule. */
static bool reprograms_irq0(uint64_t offset, uint8_t v)
{
	if (offset == 0)
		return true;
	return offset == CONTROL_PORT && CW_CHANNEL(v) == 0 && CW_ACCESS(v) != ACCESS_LATCH;
}

void pit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pit *pit = opaque;

	if (len != 1 || offset >= PIT_PORT_COUNT) {
		if (!is_write)
			memset(data, 0, len);
		return; /* 8-bit ports */
	}
	pthread_mutex_lock(&pit->lock);
	uint64_t now = pit->clock();
	pit_reprogram_fn notify = NULL;
	if (is_write && reprograms_irq0(offset, data[0])) {
		pit->generation++;
		notify = pit->reprogrammed;
	}
	if (offset == CONTROL_PORT) {
		if (is_write)
			control(pit, data[0], now);
		else
			data[0] = UNUSED_READ;
	} else if (is_write) {
		write_count(&pit->ch[offset], data[0], now);
	} else {
		data[0] = read_count(&pit->ch[offset], now);
	}
	void *ctx = pit->reprogrammed_ctx;
	pthread_mutex_unlock(&pit->lock);
	if (notify != NULL)
		notify(ctx);
}

/* gate2: channel 2's gate changed (port B bit 0). */
static void gate2(struct pit_channel *c, bool high, uint64_t now)
{
	if (!high) {
		if (c->armed && pauses(c))
			c->paused_ticks = ticks(c, now);
		c->gate = false;
		return;
	}
	c->gate = true;
	if (!c->armed)
		return;
	if (c->mode == 0 || c->mode == 4) {
		c->start_ns = now - ticks_to_ns(c->paused_ticks); /* counting resumes */
	} else {
		c->start_ns = now; /* a rising edge triggers (1, 5) or reloads (2, 3) */
		c->triggered = true;
		c->paused_ticks = 0;
	}
}

void pit_port_b_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pit *pit = opaque;
	struct pit_channel *c2 = &pit->ch[2];

	(void)offset;
	if (len != 1) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&pit->lock);
	uint64_t now = pit->clock();
	if (is_write) {
		bool gate = data[0] & PIT_PORT_B_GATE2;
		if (gate != c2->gate)
			gate2(c2, gate, now);
		pit->port_b = data[0] & (PIT_PORT_B_GATE2 | PIT_PORT_B_SPKR);
	} else {
		data[0] =
		    (uint8_t)(pit->port_b | ((now / PIT_REFRESH_NS) & 1 ? PIT_PORT_B_REFRESH : 0) |
			      (out(c2, now) ? PIT_PORT_B_OUT2 : 0));
	}
	pthread_mutex_unlock(&pit->lock);
}
