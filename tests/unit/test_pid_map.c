// SPDX-License-Identifier: Apache-2.0
/*
 * test_pid_map.c: the restore server's pid table: every entry put can be
 * found and taken until it is taken, whatever was removed around it (the
 * backward shift that replaces tombstones), across growth, and the refusals.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pid_map.h"

/* Past several doublings of the table, and as many pids as the density bench holds. */
#define MANY 40000
/* pids in (0, PID_SPAN]: dense, as the kernel hands them out, so probe runs collide. */
#define PID_SPAN (MANY * 2)

static void test_put_take_replace(void **state)
{
	struct pid_map m = {0};
	int a, b;

	(void)state;
	assert_null(pid_map_take(&m, 7)); /* an empty map has no table yet */
	assert_int_equal(pid_map_put(&m, 7, &a), 0);
	assert_int_equal(pid_map_put(&m, 7, &b), 0); /* replaces */
	assert_int_equal(m.count, 1);
	assert_ptr_equal(pid_map_take(&m, 7), &b);
	assert_null(pid_map_take(&m, 7));
	assert_int_equal(m.count, 0);
	assert_int_equal(pid_map_put(&m, 0, &a), -EINVAL);
	assert_int_equal(pid_map_put(&m, -3, &a), -EINVAL);
	assert_null(pid_map_take(&m, 0));
	pid_map_free(&m);
}

/*
 * Random puts and takes against a plain array indexed by pid: after each
 * step every pid present in one is present, with the same value, in the
 * other (checked in full at intervals, and once at the end).
 */
static void test_against_an_array(void **state)
{
	struct pid_map m = {0};
	static void *ref[PID_SPAN + 1];
	static char cell[PID_SPAN + 1];
	size_t live = 0;

	(void)state;
	srand(12345);
	for (int step = 0; step < MANY * 4; step++) {
		pid_t pid = (pid_t)(1 + rand() % PID_SPAN);
		if (ref[pid] == NULL) {
			assert_int_equal(pid_map_put(&m, pid, &cell[pid]), 0);
			ref[pid] = &cell[pid];
			live++;
		} else if (rand() % 3 != 0) { /* more takes than puts once half full */
			assert_ptr_equal(pid_map_take(&m, pid), ref[pid]);
			ref[pid] = NULL;
			live--;
		}
		assert_int_equal(m.count, live);
		if (step % (MANY / 2) == 0)
			for (pid_t p = 1; p <= PID_SPAN; p++)
				if (ref[p] != NULL) {
					assert_ptr_equal(pid_map_take(&m, p), ref[p]);
					assert_int_equal(pid_map_put(&m, p, ref[p]), 0);
				}
	}
	/* Walk the slots, as a caller emptying the map does, then take what remains. */
	size_t walked = 0;
	for (size_t i = 0; i < m.cap; i++)
		if (m.slots[i].pid != 0) {
			assert_ptr_equal(m.slots[i].value, ref[m.slots[i].pid]);
			walked++;
		}
	assert_int_equal(walked, live);
	for (pid_t p = 1; p <= PID_SPAN; p++) {
		assert_ptr_equal(pid_map_take(&m, p), ref[p]);
		assert_null(pid_map_take(&m, p));
	}
	assert_int_equal(m.count, 0);
	pid_map_free(&m);
}

/* reserve makes the room puts need, and keeps what is there. */
static void test_reserve(void **state)
{
	struct pid_map m = {0};
	int v;

	(void)state;
	assert_int_equal(pid_map_put(&m, 100, &v), 0);
	assert_int_equal(pid_map_reserve(&m, MANY), 0);
	assert_true(m.cap >= (size_t)MANY * 2);
	size_t cap = m.cap;
	for (pid_t p = 1; p <= MANY - 1; p++)
		if (p != 100)
			assert_int_equal(pid_map_put(&m, p, &v), 0);
	assert_int_equal(m.cap, cap); /* no growth within the reservation */
	assert_ptr_equal(pid_map_take(&m, 100), &v);
	pid_map_free(&m);
	assert_null(m.slots);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_take_replace),
	    cmocka_unit_test(test_against_an_array),
	    cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
