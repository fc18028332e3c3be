// SPDX-License-Identifier: Apache-2.0
/* pit.c: the i8254 interval timer's counters and port B (see pit.h). */
#include "pit.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "dev_state.h"

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
#define MODE_MAX      5
#define CONTROL_CH    2 /* the channel whose gate is port B's bit 0 */

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

/* ns_ticks: input clock periods in (ns), whole ones. */
static uint64_t ns_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_S);
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
	return ns_ticks(now - c->start_ns);
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

/* schedule: channel 0's IRQ 0 edges since its count was loaded; lock held. */
static struct pit_irq0_schedule schedule(const struct pit *pit)
{
	struct pit_irq0_schedule s = {0};
	uint64_t first, every;

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
	return s;
}

struct pit_irq0_schedule pit_irq0_schedule(struct pit *pit)
{
	pthread_mutex_lock(&pit->lock);
	struct pit_irq0_schedule s = schedule(pit);
	pthread_mutex_unlock(&pit->lock);
	return s;
}

struct pit_irq0_schedule pit_irq0_next(struct pit *pit)
{
	pthread_mutex_lock(&pit->lock);
	struct pit_irq0_schedule s = schedule(pit);
	uint64_t now = pit->clock();
	pthread_mutex_unlock(&pit->lock);
	if (!s.active || s.first_ns > now)
		return s;
	if (s.period_ns == 0) {
		s.active = false; /* the one edge has come and gone */
		s.first_ns = 0;
		return s;
	}
	s.first_ns += ((now - s.first_ns) / s.period_ns + 1) * s.period_ns;
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

/* tick_ns: the first ns at which (t) ticks have been counted (ns_ticks' inverse, rounded up). */
static unsigned __int128 tick_ns(uint64_t t)
{
	return ((unsigned __int128)t * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

/*
 * fold: the least tick count (c) cannot tell apart from (t): its count and
 * OUT, and IRQ 0's next edges, are the same for both. Modes 2 and 3 depend
 * only on the place in the period; the others count down through the
 * range, and past the terminal count (at most one range in) only the place
 * in the range shows.
 */
static uint64_t fold(const struct pit_channel *c, uint64_t t)
{
	uint64_t r = range(c);

	if (c->mode == 2 || c->mode == 3)
		return t % period(c);
	return t < 2 * r ? t : 2 * r + t % r;
}

/*
 * fold_ns: (e) ns counted, folded as fold() does the ticks, at the same
 * place within the tick (to the ns): less than three ranges' worth.
 */
static uint64_t fold_ns(const struct pit_channel *c, uint64_t e)
{
	uint64_t t = ns_ticks(e), f = fold(c, t);
	uint64_t into = (uint64_t)(e - tick_ns(t)), len = (uint64_t)(tick_ns(f + 1) - tick_ns(f));

	return (uint64_t)tick_ns(f) + (into < len ? into : len - 1);
}

/* counting: whether (c) counts from start_ns now, rather than standing still. */
static bool counting(const struct pit_channel *c)
{
	return c->armed && (!waits_for_trigger(c) || c->triggered) && (c->gate || !pauses(c));
}

/* paused: whether (c)'s gate holds it at paused_ticks. */
static bool paused(const struct pit_channel *c)
{
	return c->armed && !c->gate && pauses(c);
}

void pit_save_state(struct pit *pit, struct pit_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&pit->lock);
	uint64_t now = pit->clock();
	for (unsigned int i = 0; i < PIT_CHANNELS; i++) {
		const struct pit_channel *c = &pit->ch[i];
		struct pit_channel_state *cs = &st->ch[i];
		if (counting(c) && now > c->start_ns)
			cs->elapsed_ns = now - c->start_ns;
		if (paused(c))
			cs->paused_ticks = c->paused_ticks;
		cs->reload = (uint16_t)c->reload;
		cs->latched = c->latched;
		cs->mode = c->mode;
		cs->access = c->access;
		cs->bcd = c->bcd;
		cs->armed = c->armed;
		cs->triggered = c->triggered;
		cs->gate = c->gate;
		cs->write_msb = c->write_msb;
		cs->write_lsb = c->write_lsb;
		cs->read_msb = c->read_msb;
		cs->count_latched = c->count_latched;
		cs->latched_msb = c->latched_msb;
		cs->status_latched = c->status_latched;
		cs->status = c->status;
	}
	st->port_b = pit->port_b;
	pthread_mutex_unlock(&pit->lock);
}

/* check_channel: whether (cs) is a state counter (i) can be in beside (port_b); else why not. */
static int check_channel(const struct pit_channel_state *cs, unsigned int i, uint8_t port_b,
			 char *err, size_t errsz)
{
	const struct {
		const char *field;
		uint8_t value;
	} flags[] = {
	    {"bcd", cs->bcd},
	    {"armed", cs->armed},
	    {"triggered", cs->triggered},
	    {"gate", cs->gate},
	    {"write_msb", cs->write_msb},
	    {"read_msb", cs->read_msb},
	    {"count_latched", cs->count_latched},
	    {"latched_msb", cs->latched_msb},
	    {"status_latched", cs->status_latched},
	};
	const bool gate = i == CONTROL_CH ? (port_b & PIT_PORT_B_GATE2) != 0 : true;

	if (cs->mode > MODE_MAX)
		return dev_state_reject(err, errsz, "pit: channel %u mode %u is not 0-%u", i,
					cs->mode, MODE_MAX);
	if (cs->access < ACCESS_LSB || cs->access > ACCESS_WORD)
		return dev_state_reject(err, errsz, "pit: channel %u access %u is not %u-%u", i,
					cs->access, ACCESS_LSB, ACCESS_WORD);
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
		if (flags[f].value > 1)
			return dev_state_reject(err, errsz, "pit: channel %u %s %u is not 0 or 1",
						i, flags[f].field, flags[f].value);
	/* Channels 0 and 1 have their gates tied high; channel 2's is port B's bit 0. */
	if (cs->gate != gate)
		return dev_state_reject(err, errsz, "pit: channel %u gate %u disagrees with %s", i,
					cs->gate,
					i == CONTROL_CH ? "port_b's bit 0" : "its tied-high input");
	/* Any duration is one a counter can have run for; ticks must fit the ns clock. */
	if (cs->paused_ticks > ns_ticks(UINT64_MAX))
		return dev_state_reject(
		    err, errsz, "pit: channel %u paused_ticks %llu exceeds %llu", i,
		    (unsigned long long)cs->paused_ticks, (unsigned long long)ns_ticks(UINT64_MAX));
	if (!dev_state_zero(cs->pad, sizeof(cs->pad)))
		return dev_state_reject(err, errsz, "pit: channel %u pad is not zero", i);
	return 0;
}

/* check: whether (st) is a state this PIT can be in; else the line saying why. */
static int check(const struct pit_state *st, char *err, size_t errsz)
{
	const uint8_t port_b_bits = PIT_PORT_B_GATE2 | PIT_PORT_B_SPKR;
	int ret;

	if (st->port_b & ~port_b_bits)
		return dev_state_reject(err, errsz, "pit: port_b 0x%02x sets bits outside 0x%02x",
					st->port_b, port_b_bits);
	if (!dev_state_zero(st->pad, sizeof(st->pad)))
		return dev_state_reject(err, errsz, "pit: pad is not zero");
	for (unsigned int i = 0; i < PIT_CHANNELS; i++) {
		ret = check_channel(&st->ch[i], i, st->port_b, err, errsz);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int pit_load_state(struct pit *pit, const struct pit_state *st, char *err, size_t errsz)
{
	int ret = check(st, err, errsz);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&pit->lock);
	uint64_t now = pit->clock();
	for (unsigned int i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *c = &pit->ch[i];
		const struct pit_channel_state *cs = &st->ch[i];
		c->reload = cs->reload;
		c->latched = cs->latched;
		c->mode = cs->mode;
		c->access = cs->access;
		c->bcd = cs->bcd;
		c->armed = cs->armed;
		c->triggered = cs->triggered;
		c->gate = cs->gate;
		c->write_msb = cs->write_msb;
		c->write_lsb = cs->write_lsb;
		c->read_msb = cs->read_msb;
		c->count_latched = cs->count_latched;
		c->latched_msb = cs->latched_msb;
		c->status_latched = cs->status_latched;
		c->status = cs->status;
		/* On a clock younger than the time counted, the least equivalent time. */
		uint64_t e = cs->elapsed_ns, p = cs->paused_ticks;
		if (e > now)
			e = fold_ns(c, e);
		if (tick_ns(p) > now)
			p = fold(c, p);
		c->start_ns = now >= e ? now - e : 0;
		c->paused_ticks = p;
	}
	pit->port_b = st->port_b;
	pit->generation++;
	pthread_mutex_unlock(&pit->lock);
	return 0;
}
