// SPDX-License-Identifier: Apache-2.0
/*
 * test_pit_timer.c: IRQ 0 from channel 0 on a real timerfd and event loop,
 * and the timer's part of a snapshot: an edge due at the save is delivered
 * once on each side, and a restored timer goes on from the PIT's schedule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "evloop.h"
#include "isa_irq.h"
#include "pit.h"
#include "pit_timer.h"
#include "vm.h"

#define MS	   1000000ULL
#define CONTROL	   3
#define TICKS_10MS 11932

/* One machine's PIT and its timer, and the IRQ 0 edges it got. */
struct side {
	struct vm vm;
	struct pit pit;
	struct pit_timer timer;
	int pulses;
};

static struct evloop loop;
static struct side a, b;

/* Test double for isa_irq.c: count each side's edges. */
void isa_irq_pulse(struct vm *vm, unsigned int irq)
{
	assert_int_equal(irq, 0);
	assert_true(vm == &a.vm || vm == &b.vm);
	(vm == &a.vm ? &a : &b)->pulses++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 * MS + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / (1000 * MS)),
			      .tv_nsec = (long)(ns % (1000 * MS))};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* run_for: the VMM thread's loop for (ns). */
static void run_for(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	for (uint64_t t = now_ns(); t < end; t = now_ns())
		assert_true(evloop_poll(&loop, (int)((end - t) / MS) + 1) >= 0);
}

/* run_until_pulse: the loop until (s) gets its next edge (at most 1 s). */
static void run_until_pulse(struct side *s)
{
	int n = s->pulses;
	uint64_t end = now_ns() + 1000 * MS;

	while (s->pulses == n && now_ns() < end)
		assert_true(evloop_poll(&loop, 10) >= 0);
	assert_int_equal(s->pulses, n + 1);
}

static void side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(pit_init(&s->pit, NULL), 0);
	assert_int_equal(pit_timer_init(&s->timer, &s->pit, &s->vm, &loop), 0);
}

static void side_destroy(struct side *s)
{
	pit_timer_destroy(&s->timer, &loop);
	pit_destroy(&s->pit);
}

/* program: channel 0 in (mode), LSB then MSB, with (count), as a guest does. */
static void program(struct side *s, unsigned int mode, uint16_t count)
{
	uint8_t v = (uint8_t)(0x30 | mode << 1);

	pit_io(&s->pit, CONTROL, &v, 1, true);
	v = (uint8_t)count;
	pit_io(&s->pit, 0, &v, 1, true);
	v = (uint8_t)(count >> 8);
	pit_io(&s->pit, 0, &v, 1, true);
}

/* armed_in: how long until (s)'s timer fires next, 0 when disarmed; its interval. */
static uint64_t armed_in(const struct side *s, uint64_t *interval)
{
	struct itimerspec its;

	assert_int_equal(timerfd_gettime(s->timer.timer_fd, &its), 0);
	if (interval != NULL)
		*interval = (uint64_t)its.it_interval.tv_sec * 1000 * MS +
			    (uint64_t)its.it_interval.tv_nsec;
	return (uint64_t)its.it_value.tv_sec * 1000 * MS + (uint64_t)its.it_value.tv_nsec;
}

/* restore: (from)'s timer, then its PIT, saved; loaded into (to), fresh, PIT first. */
static void restore(struct side *from, struct side *to, struct pit_timer_state *ts)
{
	struct pit_state ps;
	char err[128] = "";

	pit_timer_save_state(&from->timer, ts);
	pit_save_state(&from->pit, &ps);
	side_init(to);
	assert_int_equal(pit_load_state(&to->pit, &ps, err, sizeof(err)), 0);
	assert_int_equal(pit_timer_load_state(&to->timer, ts, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(evloop_init(&loop), 0);
	side_init(&a);
	memset(&b, 0, sizeof(b));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	side_destroy(&a);
	if (b.timer.pit != NULL)
		side_destroy(&b);
	evloop_destroy(&loop);
	return 0;
}

static void test_periodic(void **state)
{
	(void)state;
	run_for(20 * MS);
	assert_int_equal(a.pulses, 0); /* nothing loaded: no timer */
	program(&a, 2, TICKS_10MS);
	run_for(55 * MS);
	assert_in_range(a.pulses, 3, 6);
}

/* Restored between two edges: nothing due, the timer goes on at the same place and rate. */
static void test_state_round_trip(void **state)
{
	struct pit_timer_state ts;
	uint64_t ia, ib;

	(void)state;
	program(&a, 2, TICKS_10MS);
	run_until_pulse(&a);
	run_until_pulse(&a);
	restore(&a, &b, &ts);
	assert_int_equal(ts.irq0_due, 0);
	assert_int_equal(b.pulses, 0);
	uint64_t in_a = armed_in(&a, &ia), in_b = armed_in(&b, &ib);
	assert_int_equal(ia, ib);
	assert_in_range(in_b, in_a > MS ? in_a - MS : 0, in_a + MS);
	run_for(52 * MS);
	assert_in_range(b.pulses, 4, 6);
	assert_in_range(a.pulses - 2, b.pulses - 1, b.pulses + 1);
}

/* A re-arm the loop has not run yet, its one-shot edge past by the save: one edge each. */
static void test_state_due_with_rearm_pending(void **state)
{
	struct pit_timer_state ts;

	(void)state;
	program(&a, 0, 10); /* OUT0 rises 8 us after the load */
	sleep_ns(2 * MS);
	restore(&a, &b, &ts);
	assert_int_equal(ts.irq0_due, 1);
	assert_int_equal(a.pulses, 1); /* the saving side delivered it */
	assert_int_equal(b.pulses, 1); /* and the restored side too */
	assert_int_equal(armed_in(&a, NULL), 0);
	assert_int_equal(armed_in(&b, NULL), 0);
	run_for(20 * MS);
	assert_int_equal(a.pulses, 1);
	assert_int_equal(b.pulses, 1);
}

/* An expiry the loop has not read yet: delivered by the save, and once by the restore. */
static void test_state_due_expired(void **state)
{
	struct pit_timer_state ts;

	(void)state;
	program(&a, 0, 10);
	assert_true(evloop_poll(&loop, 0) >= 0); /* the re-arm, not the expiry */
	assert_int_equal(a.pulses, 0);
	sleep_ns(2 * MS);
	restore(&a, &b, &ts);
	assert_int_equal(ts.irq0_due, 1);
	assert_int_equal(a.pulses, 1);
	assert_int_equal(b.pulses, 1);
	run_for(20 * MS);
	assert_int_equal(a.pulses, 1);
	assert_int_equal(b.pulses, 1);
}

/* A one-shot still ahead at the save comes once, on time, on the restored side. */
static void test_state_one_shot_ahead(void **state)
{
	struct pit_timer_state ts;

	(void)state;
	program(&a, 0, 4 * TICKS_10MS);
	assert_true(evloop_poll(&loop, 0) >= 0);
	sleep_ns(5 * MS);
	restore(&a, &b, &ts);
	assert_int_equal(ts.irq0_due, 0);
	assert_int_equal(b.pulses, 0);
	assert_in_range(armed_in(&b, NULL), 20 * MS, 36 * MS);
	run_for(60 * MS);
	assert_int_equal(a.pulses, 1);
	assert_int_equal(b.pulses, 1);
}

static void test_state_rejects(void **state)
{
	struct pit_timer_state good = {0}, st;
	static const struct {
		unsigned int offset;
		uint8_t value;
		const char *field;
	} bad[] = {
	    {offsetof(struct pit_timer_state, irq0_due), 2, "irq0_due 2"},
	    {offsetof(struct pit_timer_state, pad) + 6, 1, "pad"},
	};

	(void)state;
	program(&a, 2, TICKS_10MS); /* a schedule the timer would arm for */
	side_init(&b);
	uint8_t v = 0x34;
	pit_io(&b.pit, CONTROL, &v, 1, true);
	v = 0x10;
	pit_io(&b.pit, 0, &v, 1, true);
	pit_io(&b.pit, 0, &v, 1, true);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";
		st = good;
		((uint8_t *)&st)[bad[i].offset] = bad[i].value;
		assert_int_equal(pit_timer_load_state(&b.timer, &st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "pit_timer: ", 11) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		assert_int_equal(armed_in(&b, NULL), 0); /* not armed */
		assert_int_equal(b.pulses, 0);
	}
	assert_int_equal(pit_timer_load_state(&b.timer, &good, NULL, 0), 0);
	assert_true(armed_in(&b, NULL) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_periodic),
	    T(test_state_round_trip),
	    T(test_state_due_with_rearm_pending),
	    T(test_state_due_expired),
	    T(test_state_one_shot_ahead),
	    T(test_state_rejects),
	};
	return cmocka_run_group_tests_name("pit_timer", tests, NULL, NULL);
}
