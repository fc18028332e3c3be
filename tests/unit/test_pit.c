// SPDX-License-Identifier: Apache-2.0
/* test_pit.c: the i8254 counters and port B against a clock the test moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pit.h"

#define CONTROL	   3
#define MS	   1000000ULL
#define TICKS_1MS  1193 /* PIT_HZ / 1000, rounded down */
#define LATCH_10MS 11932

static uint64_t fake_ns;

static uint64_t fake_clock(void)
{
	return fake_ns;
}

/* The clock of the process a snapshot is restored in: another origin, moved in step. */
static uint64_t other_ns;

static uint64_t other_clock(void)
{
	return other_ns;
}

static void out8(struct pit *pit, unsigned int port, uint8_t v)
{
	pit_io(pit, port, &v, 1, true);
}

static uint8_t in8(struct pit *pit, unsigned int port)
{
	uint8_t v = 0;

	pit_io(pit, port, &v, 1, false);
	return v;
}

static uint8_t port_b(struct pit *pit)
{
	uint8_t v = 0;

	pit_port_b_io(pit, 0, &v, 1, false);
	return v;
}

static void set_port_b(struct pit *pit, uint8_t v)
{
	pit_port_b_io(pit, 0, &v, 1, true);
}

/* latched: counter-latch command for (ch), then its count, LSB then MSB. */
static unsigned int latched(struct pit *pit, unsigned int ch)
{
	out8(pit, CONTROL, (uint8_t)(ch << 6));
	unsigned int lo = in8(pit, ch);
	return lo | (unsigned int)in8(pit, ch) << 8;
}

static int setup(void **state)
{
	static struct pit pit;

	fake_ns = 1000 * MS;
	assert_int_equal(pit_init(&pit, fake_clock), 0);
	*state = &pit;
	return 0;
}

static int teardown(void **state)
{
	pit_destroy(*state);
	return 0;
}

/* Channel 0, mode 2, as a guest calibrating against it programs it. */
static void test_rate_generator(void **state)
{
	struct pit *pit = *state;

	out8(pit, CONTROL, 0x34); /* channel 0, LSB then MSB, mode 2 */
	out8(pit, 0, LATCH_10MS & 0xff);
	out8(pit, 0, LATCH_10MS >> 8);
	assert_int_equal(latched(pit, 0), LATCH_10MS);
	fake_ns += MS;
	assert_int_equal(latched(pit, 0), LATCH_10MS - TICKS_1MS);
	fake_ns += 9 * MS;
	/* 10 ms = 11931.82 ticks: the period's last count, then reloaded */
	assert_int_equal(latched(pit, 0), 1);
	fake_ns += 2000; /* to tick 11934: two past the reload */
	assert_int_equal(latched(pit, 0), LATCH_10MS - 2);
	fake_ns += 5 * MS;
	unsigned int c = latched(pit, 0);
	assert_true(c > LATCH_10MS / 2 - 5 && c < LATCH_10MS / 2 + 5);
	/* a read without a latch follows the same LSB, MSB order */
	unsigned int lo = in8(pit, 0);
	unsigned int hi = in8(pit, 0);
	assert_int_equal(lo | hi << 8, c);
}

/* Linux's pit_calibrate_tsc: channel 2, mode 0, gate through port B, poll OUT2. */
static void test_one_shot_on_channel_2(void **state)
{
	struct pit *pit = *state;

	assert_int_equal(port_b(pit) & (PIT_PORT_B_GATE2 | PIT_PORT_B_OUT2), 0);
	set_port_b(pit, (port_b(pit) & ~PIT_PORT_B_SPKR) | PIT_PORT_B_GATE2);
	out8(pit, CONTROL, 0xb0); /* channel 2, LSB then MSB, mode 0 */
	out8(pit, 2, LATCH_10MS & 0xff);
	out8(pit, 2, LATCH_10MS >> 8);
	assert_false(port_b(pit) & PIT_PORT_B_OUT2);
	fake_ns += 9 * MS;
	assert_false(port_b(pit) & PIT_PORT_B_OUT2);
	fake_ns += MS + MS / 10;
	assert_true(port_b(pit) & PIT_PORT_B_OUT2);
	/* past terminal count it counts on down from 0xffff */
	unsigned int c = latched(pit, 2);
	assert_true(c > 0xff00);
	/* gate low: counting stops; high again: it resumes (mode 0) */
	out8(pit, CONTROL, 0xb0);
	out8(pit, 2, 0x00);
	out8(pit, 2, 0x10); /* 4096 */
	fake_ns += MS;
	set_port_b(pit, 0);
	c = latched(pit, 2);
	assert_int_equal(c, 4096 - TICKS_1MS);
	fake_ns += 50 * MS;
	assert_int_equal(latched(pit, 2), c);
	set_port_b(pit, PIT_PORT_B_GATE2);
	fake_ns += MS;
	assert_int_equal(latched(pit, 2), 4096 - 2 * TICKS_1MS);
}

/* Read-back: status then count, each latched once until read. */
static void test_read_back(void **state)
{
	struct pit *pit = *state;

	out8(pit, CONTROL, 0x36); /* channel 0, word, mode 3 */
	out8(pit, CONTROL, 0xe2); /* read-back, status only, channel 0 */
	/* OUT high, null count (no count written since the control word), word, mode 3 */
	assert_int_equal(in8(pit, 0), 0x80 | 0x40 | 0x36);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	out8(pit, CONTROL, 0xc2);
	assert_int_equal(in8(pit, 0), 0x80 | 0x36); /* OUT high, word, mode 3, binary */
	assert_int_equal(in8(pit, 0), 100);
	assert_int_equal(in8(pit, 0), 0);
	/* mode 3 counts by twos; OUT is high for the first half */
	fake_ns += 10000; /* 11.9 ticks */
	assert_int_equal(latched(pit, 0), 100 - 2 * 11);
	fake_ns += 40000;	  /* 59.6 ticks in all: second half */
	out8(pit, CONTROL, 0xe2); /* status only */
	assert_int_equal(in8(pit, 0) & 0x80, 0);
	/* a second latch does not replace the first before it is read */
	out8(pit, CONTROL, 0x00);
	fake_ns += MS;
	out8(pit, CONTROL, 0x00);
	unsigned int a = in8(pit, 0);
	a |= (unsigned int)in8(pit, 0) << 8;
	assert_int_equal(a, 100 - (2 * 59) % 100);
}

static void test_bcd_and_byte_access(void **state)
{
	struct pit *pit = *state;

	out8(pit, CONTROL, 0x91); /* channel 2, LSB only, mode 0, BCD */
	set_port_b(pit, PIT_PORT_B_GATE2);
	out8(pit, 2, 0x99);
	assert_int_equal(in8(pit, 2), 0x99);
	fake_ns += 10000; /* 11 ticks */
	assert_int_equal(in8(pit, 2), 0x88);
	out8(pit, CONTROL, 0x20); /* channel 0, MSB only, mode 0 */
	out8(pit, 0, 0x12);
	assert_int_equal(in8(pit, 0), 0x12);
	fake_ns += 1000 * MS;
	assert_int_equal(in8(pit, 0), (0x1200 + 65536 - (PIT_HZ % 65536)) % 65536 >> 8);
}

/* Garbage: every port, value and width; nothing crashes, OUT2 and the refresh bit move. */
static void test_garbage(void **state)
{
	struct pit *pit = *state;
	uint8_t wide[4] = {0xaa, 0xaa, 0xaa, 0xaa};
	bool toggled = false;

	for (unsigned int port = 0; port < PIT_PORT_COUNT; port++)
		for (unsigned int v = 0; v < 256; v++) {
			out8(pit, port, (uint8_t)v);
			(void)in8(pit, port);
			fake_ns += 777;
		}
	pit_io(pit, 0, wide, 4, false);
	assert_int_equal(wide[0], 0);
	pit_io(pit, 7, wide, 1, true);
	pit_port_b_io(pit, 0, wide, 2, false);
	assert_int_equal(wide[0], 0);
	assert_int_equal(in8(pit, CONTROL), 0xff);
	uint8_t first = port_b(pit) & PIT_PORT_B_REFRESH;
	for (int i = 0; i < 4 && !toggled; i++) {
		fake_ns += PIT_REFRESH_NS;
		toggled = (port_b(pit) & PIT_PORT_B_REFRESH) != first;
	}
	assert_true(toggled);
}

/* ticks_ns: (t) PIT input ticks in ns, as pit.c converts them. */
static uint64_t ticks_ns(uint64_t t)
{
	return t * 1000000000ULL / PIT_HZ;
}

static void count_reprograms(void *ctx)
{
	(*(unsigned int *)ctx)++;
}

/* IRQ 0's schedule follows channel 0's mode: periodic (2, 3), once (0, 4), never (1, 5). */
static void test_irq0_schedule(void **state)
{
	struct pit *pit = *state;
	unsigned int calls = 0;
	struct pit_irq0_schedule s;
	uint64_t load_ns;

	pit_watch_irq0(pit, count_reprograms, &calls);
	s = pit_irq0_schedule(pit);
	assert_false(s.active); /* nothing loaded yet */

	out8(pit, CONTROL, 0x34); /* channel 0, LSB then MSB, mode 2 */
	out8(pit, 0, TICKS_1MS & 0xff);
	load_ns = fake_ns;
	out8(pit, 0, TICKS_1MS >> 8);
	assert_int_equal(calls, 3);
	s = pit_irq0_schedule(pit);
	assert_true(s.active);
	assert_int_equal(s.first_ns, load_ns + ticks_ns(TICKS_1MS));
	assert_int_equal(s.period_ns, ticks_ns(TICKS_1MS));
	assert_true(pit_irq0_current(pit, s.generation));

	/* Latches and other channels leave the schedule (and the timer) alone. */
	(void)latched(pit, 0);
	out8(pit, CONTROL, 0xb0);
	out8(pit, 2, 1);
	out8(pit, 2, 0);
	set_port_b(pit, PIT_PORT_B_GATE2);
	assert_int_equal(calls, 3);
	assert_true(pit_irq0_current(pit, s.generation));

	/* Mode 3: the square wave rises at each reload. */
	out8(pit, CONTROL, 0x36);
	assert_false(pit_irq0_current(pit, s.generation));
	assert_false(pit_irq0_schedule(pit).active); /* a control word stops the count */
	out8(pit, 0, 0x00);
	out8(pit, 0, 0x00); /* 0: the full 65536 */
	s = pit_irq0_schedule(pit);
	assert_true(s.active);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(65536));
	assert_int_equal(s.period_ns, ticks_ns(65536));

	/* Mode 0: once, at the terminal count; mode 4: one tick later. */
	out8(pit, CONTROL, 0x30);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	s = pit_irq0_schedule(pit);
	assert_true(s.active);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(100));
	assert_int_equal(s.period_ns, 0);
	out8(pit, CONTROL, 0x38);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	s = pit_irq0_schedule(pit);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(101));
	assert_int_equal(s.period_ns, 0);

	/* Modes 1 and 5 wait for a gate edge channel 0 never sees. */
	out8(pit, CONTROL, 0x32);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	assert_false(pit_irq0_schedule(pit).active);
	out8(pit, CONTROL, 0x3a);
	out8(pit, 0, 100);
	out8(pit, 0, 0);
	assert_false(pit_irq0_schedule(pit).active);

	/* A period shorter than the floor is delivered at the floor's rate. */
	out8(pit, CONTROL, 0x34);
	out8(pit, 0, 2);
	out8(pit, 0, 0);
	s = pit_irq0_schedule(pit);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(2));
	assert_int_equal(s.period_ns, PIT_MIN_IRQ_PERIOD_NS);

	/* Writes in BCD mode, byte by byte: LSB only (0x50 = 50 BCD ticks). */
	out8(pit, CONTROL, 0x15); /* channel 0, LSB only, mode 2, BCD */
	out8(pit, 0, 0x50);
	s = pit_irq0_schedule(pit);
	assert_int_equal(s.first_ns, fake_ns + ticks_ns(50));
	assert_int_equal(s.period_ns, PIT_MIN_IRQ_PERIOD_NS); /* 50 ticks = 42 us */
	pit_watch_irq0(pit, NULL, NULL);
}

/* ---- snapshots ---- */

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * restore: (pit)'s state saved, loaded into (other) on the other clock,
 * which has run longer than the counters (nothing folded: saved again, the
 * same bytes).
 */
static void restore(struct pit *pit, struct pit *other, struct pit_state *st)
{
	struct pit_state again;
	char err[128] = "";

	assert_int_equal(pit_init(other, other_clock), 0);
	pit_save_state(pit, st);
	assert_int_equal(pit_load_state(other, st, err, sizeof(err)), 0);
	pit_save_state(other, &again);
	assert_memory_equal(st, &again, sizeof(again));
}

/* next_edge_in: how far ahead of its clock (pit)'s next IRQ 0 edge is, or -1 for none. */
static int64_t next_edge_in(struct pit *pit)
{
	struct pit_irq0_schedule s = pit_irq0_next(pit);

	return s.active ? (int64_t)(s.first_ns - pit->clock()) : -1;
}

/*
 * exact_next_edge_in: channel 0's next rising OUT after now from its count
 * (mode 2 or 3), not from a schedule that adds rounded periods; -1 for none.
 */
static int64_t exact_next_edge_in(struct pit *pit)
{
	const struct pit_channel *c = &pit->ch[0];
	uint64_t now = pit->clock(), n = c->reload ? c->reload : 65536;
	uint64_t t = (uint64_t)((unsigned __int128)(now - c->start_ns) * PIT_HZ / 1000000000ULL);
	uint64_t edge =
	    c->start_ns + (uint64_t)((unsigned __int128)((t / n + 1) * n) * 1000000000ULL / PIT_HZ);

	return (int64_t)(edge - now);
}

/*
 * step: one guest access or passage of time chosen by (r), the same on
 * (pit) and its restored twin (other), both clocks moved alike; what each
 * reads must match (port B's refresh bit follows the host's clock itself).
 */
static void step_both(struct pit *pit, struct pit *other, uint32_t r)
{
	unsigned int port = r % PIT_PORT_COUNT;
	uint8_t v = (uint8_t)(r >> 24), a = 0, b = 0;

	switch ((r >> 4) % 5) {
	case 0:
		/* not channel 0's control or count: keep IRQ 0's schedule as set up */
		if (port == 0 || (port == CONTROL && (v >> 6) == 0))
			port = 1;
		out8(pit, port, v);
		out8(other, port, v);
		break;
	case 1:
		assert_int_equal(in8(pit, port), in8(other, port));
		break;
	case 2:
		set_port_b(pit, v & 3);
		set_port_b(other, v & 3);
		break;
	case 3:
		a = port_b(pit) & (uint8_t)~PIT_PORT_B_REFRESH;
		b = port_b(other) & (uint8_t)~PIT_PORT_B_REFRESH;
		assert_int_equal(a, b);
		break;
	default: {
		uint64_t d = (r >> 8) % (3 * MS);
		fake_ns += d;
		other_ns += d;
		break;
	}
	}
}

/* A guest mid-flight on every channel, saved, loaded on a clock with another origin: the same. */
static void test_state_round_trip(void **state)
{
	struct pit *pit = *state;
	struct pit other;
	struct pit_state st;
	uint32_t seed = 0x8254;

	out8(pit, CONTROL, 0x34); /* channel 0, mode 2, 10 ms */
	out8(pit, 0, LATCH_10MS & 0xff);
	out8(pit, 0, LATCH_10MS >> 8);
	out8(pit, CONTROL, 0x79); /* channel 1, word, mode 4, BCD */
	out8(pit, 1, 0x34);
	out8(pit, 1, 0x12);
	set_port_b(pit, PIT_PORT_B_GATE2 | PIT_PORT_B_SPKR);
	out8(pit, CONTROL, 0xb0); /* channel 2, mode 0 */
	out8(pit, 2, 0x00);
	out8(pit, 2, 0x40);
	fake_ns += 25 * MS + 300;	  /* channel 0 two and a half periods in */
	set_port_b(pit, PIT_PORT_B_SPKR); /* channel 2 paused by its gate */
	out8(pit, 1, 0x99);		  /* half of a new count on channel 1 */
	out8(pit, CONTROL, 0x40);	  /* channel 1's count latched, LSB read */
	(void)in8(pit, 1);
	out8(pit, CONTROL, 0xe8); /* channel 2's status latched */
	fake_ns += 1234;
	other_ns = 7200 * 1000 * MS; /* a host up for two hours */
	restore(pit, &other, &st);
	assert_int_equal(st.ch[0].elapsed_ns, 25 * MS + 300 + 1234);
	assert_int_equal(st.ch[1].write_msb, 1);
	assert_int_equal(st.ch[1].latched_msb, 1);
	assert_int_equal(st.ch[2].status_latched, 1);
	assert_int_equal(st.ch[2].elapsed_ns, 0);
	assert_true(st.ch[2].paused_ticks > 0);
	/* IRQ 0: the next edge as far ahead on both, from the counter's own reloads */
	int64_t ahead = next_edge_in(&other), exact = exact_next_edge_in(pit);
	assert_true(ahead > 0 && ahead <= 10 * (int64_t)MS);
	assert_true(ahead - exact <= 2 && exact - ahead <= 2);
	assert_int_equal(pit_irq0_next(&other).period_ns, pit_irq0_schedule(pit).period_ns);
	for (int i = 0; i < 20000; i++)
		step_both(pit, &other, next_rand(&seed));
	/* the timers add whole-ns periods from their own starts: a few ns apart by now */
	int64_t a = next_edge_in(&other), b = next_edge_in(pit);
	assert_true(a - b <= 3 && b - a <= 3);
	pit_destroy(&other);
}

/* boundary_safe: no counting channel of (pit) is within 2 ns of a tick's edge now. */
static bool boundary_safe(struct pit *pit)
{
	for (unsigned int i = 0; i < PIT_CHANNELS; i++) {
		const struct pit_channel *c = &pit->ch[i];
		uint64_t phase = (uint64_t)((unsigned __int128)(pit->clock() - c->start_ns) *
					    PIT_HZ % 1000000000ULL);
		if (phase < 2 * PIT_HZ || phase > 1000000000ULL - 2 * PIT_HZ)
			return false;
	}
	return true;
}

/*
 * Counters that have run for days, restored on a host up for less time:
 * folded, they read the same (but within 1 ns of a tick's edge, where the
 * restored counter may tick that much earlier or later).
 */
static void test_state_long_running(void **state)
{
	struct pit *pit = *state;
	struct pit other;
	struct pit_state st;
	uint32_t seed = 42;
	unsigned int compared = 0;

	out8(pit, CONTROL, 0x36); /* channel 0, mode 3 */
	out8(pit, 0, 0x9b);
	out8(pit, 0, 0x2e);
	out8(pit, CONTROL, 0x70); /* channel 1, mode 0: long past its terminal count */
	out8(pit, 1, 0x10);
	out8(pit, 1, 0x00);
	set_port_b(pit, PIT_PORT_B_GATE2);
	out8(pit, CONTROL, 0xb0); /* channel 2, mode 0, paused by its gate after a day */
	out8(pit, 2, 0x00);
	out8(pit, 2, 0x00);
	fake_ns += 24ULL * 3600 * 1000 * MS + 555;
	set_port_b(pit, 0);
	fake_ns += 2ULL * 24 * 3600 * 1000 * MS + 777;
	other_ns = 200 * MS; /* a host booted a moment ago */
	assert_int_equal(pit_init(&other, other_clock), 0);
	pit_save_state(pit, &st);
	assert_true(st.ch[0].elapsed_ns > other_ns);
	assert_true(st.ch[2].paused_ticks > 24 * 3600 * PIT_HZ - 1);
	assert_int_equal(pit_load_state(&other, &st, NULL, 0), 0);
	for (unsigned int i = 0; i < PIT_CHANNELS; i++)
		assert_true(other.ch[i].start_ns <= other_ns); /* no wrap round the clock */
	int64_t a = next_edge_in(&other), b = exact_next_edge_in(pit);
	assert_true(a - b <= 2 && b - a <= 2);
	set_port_b(pit, PIT_PORT_B_GATE2); /* channel 2 counts on from where it stood */
	set_port_b(&other, PIT_PORT_B_GATE2);
	for (int i = 0; i < 20000; i++) {
		uint32_t r = next_rand(&seed);
		uint64_t d = r % (3 * MS);
		fake_ns += d;
		other_ns += d;
		if (!boundary_safe(pit))
			continue;
		for (unsigned int ch = 0; ch < PIT_CHANNELS; ch++)
			assert_int_equal(latched(pit, ch), latched(&other, ch));
		out8(pit, CONTROL, 0xee); /* read-back of every status */
		out8(&other, CONTROL, 0xee);
		for (unsigned int ch = 0; ch < PIT_CHANNELS; ch++)
			assert_int_equal(in8(pit, ch), in8(&other, ch));
		assert_int_equal(port_b(pit) & PIT_PORT_B_OUT2, port_b(&other) & PIT_PORT_B_OUT2);
		compared++;
	}
	assert_true(compared > 19000);
	pit_destroy(&other);
}

/* Channel 2's gate: a mode 1 count it triggered, a mode 5 count still waiting for it. */
static void test_state_gate_triggers(void **state)
{
	struct pit *pit = *state;
	struct pit other;
	struct pit_state st;
	uint32_t seed = 0x1f;

	out8(pit, CONTROL, 0xb2); /* channel 2, mode 1 */
	out8(pit, 2, 0x00);
	out8(pit, 2, 0x20);
	set_port_b(pit, PIT_PORT_B_GATE2); /* the trigger */
	fake_ns += 3 * MS;
	other_ns = 3600 * 1000 * MS;
	restore(pit, &other, &st);
	assert_int_equal(st.ch[2].triggered, 1);
	for (int i = 0; i < 5000; i++)
		step_both(pit, &other, next_rand(&seed));
	pit_destroy(&other);

	set_port_b(pit, 0);
	out8(pit, CONTROL, 0xba); /* channel 2, mode 5: waits for the gate */
	out8(pit, 2, 0x00);
	out8(pit, 2, 0x20);
	fake_ns += 3 * MS;
	restore(pit, &other, &st);
	assert_int_equal(st.ch[2].triggered, 0);
	fake_ns += MS;
	other_ns += MS;
	set_port_b(pit, PIT_PORT_B_GATE2);
	set_port_b(&other, PIT_PORT_B_GATE2);
	for (int i = 0; i < 5000; i++)
		step_both(pit, &other, next_rand(&seed));
	pit_destroy(&other);
}

/*
 * Folding keeps what OUT shows: mode 4 with the full range as its count is
 * at its strobe only at the terminal count, not at the same place in the
 * range three ranges on.
 */
static void test_state_fold_keeps_out(void **state)
{
	struct pit *pit = *state;
	struct pit other;
	struct pit_state st;

	out8(pit, CONTROL, 0x38); /* channel 0, mode 4, count 0: 65536 */
	out8(pit, 0, 0);
	out8(pit, 0, 0);
	fake_ns += (3 * 65536 * 1000000000ULL + PIT_HZ - 1) / PIT_HZ + 100; /* tick 196608 */
	other_ns = 150 * MS; /* younger than that: folded (so saved again, another elapsed_ns) */
	assert_int_equal(pit_init(&other, other_clock), 0);
	pit_save_state(pit, &st);
	assert_int_equal(pit_load_state(&other, &st, NULL, 0), 0);
	out8(pit, CONTROL, 0xe2);
	out8(&other, CONTROL, 0xe2);
	assert_int_equal(in8(pit, 0), in8(&other, 0));
	assert_int_equal(latched(pit, 0), latched(&other, 0));
	pit_destroy(&other);
}

/* A one-shot IRQ 0 already past at the save does not come again; one still ahead does. */
static void test_state_one_shot(void **state)
{
	struct pit *pit = *state;
	struct pit other;
	struct pit_state st;

	out8(pit, CONTROL, 0x30); /* channel 0, mode 0, 1 ms */
	out8(pit, 0, TICKS_1MS & 0xff);
	out8(pit, 0, TICKS_1MS >> 8);
	fake_ns += MS / 4;
	other_ns = 500 * MS;
	restore(pit, &other, &st);
	int64_t ahead = next_edge_in(&other);
	assert_true(ahead > (int64_t)MS / 2 && ahead < (int64_t)MS);
	assert_int_equal(pit_irq0_next(&other).period_ns, 0);
	pit_destroy(&other);
	fake_ns += MS;
	restore(pit, &other, &st);
	assert_false(pit_irq0_next(&other).active);
	assert_true(pit_irq0_schedule(&other).active); /* it did happen, once */
	pit_destroy(&other);
}

/* Loading tells no watcher (pit_timer_load_state re-arms) and makes older timers stale. */
static void test_state_generation(void **state)
{
	struct pit *pit = *state;
	struct pit other;
	struct pit_state st;
	unsigned int calls = 0;

	out8(pit, CONTROL, 0x34);
	out8(pit, 0, 0x00);
	out8(pit, 0, 0x10);
	assert_int_equal(pit_init(&other, other_clock), 0);
	pit_watch_irq0(&other, count_reprograms, &calls);
	uint64_t gen = pit_irq0_schedule(&other).generation;
	pit_save_state(pit, &st);
	assert_int_equal(pit_load_state(&other, &st, NULL, 0), 0);
	assert_int_equal(calls, 0);
	assert_false(pit_irq0_current(&other, gen));
	assert_true(pit_irq0_current(&other, pit_irq0_next(&other).generation));
	pit_destroy(&other);
}

/* max_ticks: the most ticks a 64-bit ns clock can count. */
static uint64_t max_ticks(void)
{
	return (uint64_t)((unsigned __int128)UINT64_MAX * PIT_HZ / 1000000000ULL);
}

/* pit_state_flag: the (i)th of a channel state's 0-or-1 fields, or NULL past the last. */
static uint8_t *pit_state_flag(struct pit_channel_state *c, unsigned int i)
{
	uint8_t *flags[] = {&c->bcd,	       &c->armed,	&c->triggered,
			    &c->gate,	       &c->write_msb,	&c->read_msb,
			    &c->count_latched, &c->latched_msb, &c->status_latched};

	return i < sizeof(flags) / sizeof(flags[0]) ? flags[i] : NULL;
}

static void test_state_rejects(void **state)
{
	static const char *const flag_names[] = {"bcd",		  "armed",	 "triggered",
						 "gate",	  "write_msb",	 "read_msb",
						 "count_latched", "latched_msb", "status_latched"};
	struct pit *pit = *state;
	struct pit other;
	struct pit_state good, before, after;
	struct {
		struct pit_state st;
		char field[64];
	} bad[48];
	unsigned int n = 0;

	out8(pit, CONTROL, 0x34);
	out8(pit, 0, 0x00);
	out8(pit, 0, 0x10);
	set_port_b(pit, PIT_PORT_B_GATE2);
	fake_ns += MS;
	pit_save_state(pit, &good);
#define BAD(field_, ...)                                                                           \
	do {                                                                                       \
		bad[n].st = good;                                                                  \
		__VA_ARGS__;                                                                       \
		snprintf(bad[n].field, sizeof(bad[n].field), "%s", (field_));                      \
		n++;                                                                               \
	} while (0)
	BAD("channel 1 mode 6", bad[n].st.ch[1].mode = 6);
	BAD("channel 0 access 0", bad[n].st.ch[0].access = 0);
	BAD("channel 2 access 4", bad[n].st.ch[2].access = 4);
	BAD("channel 0 gate 0", bad[n].st.ch[0].gate = 0);
	BAD("channel 2 gate 1 disagrees with port_b", bad[n].st.port_b = 0);
	BAD("channel 2 paused_ticks 22010322987356911",
	    bad[n].st.ch[2].paused_ticks = max_ticks() + 1);
	BAD("channel 1 pad", bad[n].st.ch[1].pad[6] = 1);
	BAD("port_b 0x05", bad[n].st.port_b = 0x05);
	BAD("pit: pad", bad[n].st.pad[0] = 1);
	for (unsigned int ch = 0; ch < PIT_CHANNELS; ch++)
		for (unsigned int i = 0; pit_state_flag(&bad[n].st.ch[ch], i) != NULL; i++) {
			BAD("", *pit_state_flag(&bad[n].st.ch[ch], i) = 2);
			snprintf(bad[n - 1].field, sizeof(bad[n - 1].field), "channel %u %s 2", ch,
				 flag_names[i]);
		}
#undef BAD
	assert_int_equal(pit_init(&other, other_clock), 0);
	pit_save_state(&other, &before);
	for (unsigned int i = 0; i < n; i++) {
		char err[128] = "";
		assert_int_equal(pit_load_state(&other, &bad[i].st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "pit: ", 5) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		pit_save_state(&other, &after);
		assert_memory_equal(&before, &after, sizeof(before));
		assert_true(pit_irq0_current(&other, 0)); /* not even a new generation */
	}
	/* the largest durations are taken, even on a young clock */
	good.ch[0].elapsed_ns = UINT64_MAX;
	good.ch[2].paused_ticks = max_ticks();
	good.port_b = 0;
	good.ch[2].gate = 0;
	good.ch[2].armed = 1;
	assert_int_equal(pit_load_state(&other, &good, NULL, 0), 0);
	assert_true(other.ch[0].start_ns <= other_ns);
	assert_true(other.ch[2].paused_ticks < 3 * 65536);
	pit_destroy(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_rate_generator),
	    T(test_one_shot_on_channel_2),
	    T(test_read_back),
	    T(test_bcd_and_byte_access),
	    T(test_garbage),
	    T(test_irq0_schedule),
	    T(test_state_round_trip),
	    T(test_state_long_running),
	    T(test_state_gate_triggers),
	    T(test_state_fold_keeps_out),
	    T(test_state_one_shot),
	    T(test_state_generation),
	    T(test_state_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
