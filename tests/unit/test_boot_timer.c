// SPDX-License-Identifier: Apache-2.0
/* test_boot_timer.c: the "booted" signal, its one report, and its snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "boot_timer.h"
#include "layout.h"
#include "log.h"
#include "metrics.h"
#include "vm.h"

#define MS 1000000ULL

/* Test double for vm.c: a clock the test moves. */
static uint64_t fake_ns;

uint64_t vm_now_ns(void)
{
	return fake_ns;
}

/* The report lines, caught on their way to the log. */
static int reports;
static char last_report[256];

static void catch_line(void *opaque, enum log_level level, const char *line)
{
	(void)opaque;
	(void)level;
	reports++;
	strncpy(last_report, line, sizeof(last_report) - 1);
}

struct machine {
	struct vm vm;
	struct metrics metrics;
	struct boot_timer bt;
};

/* build: a VM built at (t_build) with a boot timer that reports; the clock then. */
static void build(struct machine *m, uint64_t t_build)
{
	memset(m, 0, sizeof(*m));
	m->vm.metrics = &m->metrics;
	m->vm.t_exec_ns = t_build - MS;
	m->vm.t_build_ns = t_build;
	fake_ns = t_build;
	assert_int_equal(boot_timer_init(&m->bt, &m->vm, true), 0);
}

/* signal: the guest writes (v) to the MMIO register. */
static void signal_booted(struct machine *m, uint8_t v)
{
	assert_true(bus_access(&m->vm.mmio, LAYOUT_BOOT_TIMER_ADDR, &v, 1, true));
}

static int setup(void **state)
{
	(void)state;
	reports = 0;
	last_report[0] = '\0';
	log_set_sink(catch_line, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	return 0;
}

static void test_reports_once(void **state)
{
	static struct machine m;

	(void)state;
	build(&m, 1000 * MS);
	signal_booted(&m, 122); /* not the magic byte */
	assert_int_equal(reports, 0);
	fake_ns += 7 * MS;
	signal_booted(&m, LAYOUT_BOOT_TIMER_MAGIC);
	assert_int_equal(reports, 1);
	assert_string_equal(last_report, "guest boot time 7000 us (8000 us since exec)");
	assert_int_equal(m.metrics.store.guest_boot_time_us, 7000);
	signal_booted(&m, LAYOUT_BOOT_TIMER_MAGIC);
	assert_int_equal(reports, 1);
}

/* A booted guest restored in a new process: no second report, though it signals again. */
static void test_state_round_trip_booted(void **state)
{
	static struct machine m, r;
	struct boot_timer_state st, again;
	char err[128] = "";

	(void)state;
	build(&m, 1000 * MS);
	fake_ns += 7 * MS;
	signal_booted(&m, LAYOUT_BOOT_TIMER_MAGIC);
	boot_timer_save_state(&m.bt, &st);
	assert_int_equal(st.fired, 1);
	assert_int_equal(st.boot_ns, 7 * MS);

	build(&r, 5 * MS); /* another process, its own clock */
	assert_int_equal(boot_timer_load_state(&r.bt, &st, err, sizeof(err)), 0);
	fake_ns += 3 * MS;
	signal_booted(&r, LAYOUT_BOOT_TIMER_MAGIC);
	assert_int_equal(reports, 1); /* the original's only */
	assert_int_equal(r.metrics.store.guest_boot_time_us, 0);
	boot_timer_save_state(&r.bt, &again);
	assert_memory_equal(&st, &again, sizeof(st));
}

/* Saved before the guest booted: the restored one reports its boot as usual. */
static void test_state_round_trip_not_booted(void **state)
{
	static struct machine m, r;
	struct boot_timer_state st;

	(void)state;
	build(&m, 1000 * MS);
	boot_timer_save_state(&m.bt, &st);
	assert_int_equal(st.fired, 0);
	assert_int_equal(st.boot_ns, 0);
	build(&r, 5 * MS);
	assert_int_equal(boot_timer_load_state(&r.bt, &st, NULL, 0), 0);
	fake_ns += 2 * MS;
	signal_booted(&r, LAYOUT_BOOT_TIMER_MAGIC);
	assert_int_equal(reports, 1);
	assert_int_equal(r.metrics.store.guest_boot_time_us, 2000);
}

static void test_state_rejects(void **state)
{
	static struct machine r;
	struct boot_timer_state good = {.boot_ns = 7 * MS, .fired = 1}, st, before, after;
	struct {
		struct boot_timer_state st;
		const char *field;
	} bad[4];
	unsigned int n = 0;

	(void)state;
	bad[n].st = good;
	bad[n].st.fired = 2;
	bad[n++].field = "fired 2";
	bad[n].st = good;
	bad[n].st.fired = 0;
	bad[n++].field = "boot_ns 7000000 without fired";
	bad[n].st = good;
	bad[n].st.pad[0] = 1;
	bad[n++].field = "pad";
	build(&r, 5 * MS);
	boot_timer_save_state(&r.bt, &before);
	for (unsigned int i = 0; i < n; i++) {
		char err[128] = "";
		st = bad[i].st;
		assert_int_equal(boot_timer_load_state(&r.bt, &st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "boot_timer: ", 12) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		boot_timer_save_state(&r.bt, &after);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	/* still not fired: the guest's signal reports */
	signal_booted(&r, LAYOUT_BOOT_TIMER_MAGIC);
	assert_int_equal(reports, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_reports_once),
	    T(test_state_round_trip_booted),
	    T(test_state_round_trip_not_booted),
	    T(test_state_rejects),
	};
	return cmocka_run_group_tests_name("boot_timer", tests, NULL, NULL);
}
