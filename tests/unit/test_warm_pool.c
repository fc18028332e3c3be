// SPDX-License-Identifier: Apache-2.0
/*
 * test_warm_pool.c: the restore server's pool of warm clones: oldest out
 * first across the ring's wrap, a clone that died taken out from anywhere
 * with the order of the rest kept, never more than the target, and
 * clearing closes every channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "warm_pool.h"

#define TARGET 4

static int pipe_end(void)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	close(p[0]);
	return p[1];
}

static void test_fifo_across_the_wrap(void **state)
{
	struct warm_pool p;
	struct warm_clone c;

	(void)state;
	assert_int_equal(warm_pool_init(&p, "a.snap", "a.mem", TARGET), 0);
	assert_true(warm_pool_short(&p));
	for (pid_t pid = 1; pid <= TARGET; pid++)
		assert_true(warm_pool_push(&p, pid, -1));
	assert_false(warm_pool_short(&p));
	assert_false(warm_pool_push(&p, 99, -1)); /* full */
	/* Take two, add two: the ring wraps, the order holds. */
	assert_true(warm_pool_pop(&p, &c));
	assert_int_equal(c.pid, 1);
	assert_true(warm_pool_pop(&p, &c));
	assert_int_equal(c.pid, 2);
	assert_true(warm_pool_push(&p, 5, -1));
	assert_true(warm_pool_push(&p, 6, -1));
	for (pid_t want = 3; want <= 6; want++) {
		assert_true(warm_pool_pop(&p, &c));
		assert_int_equal(c.pid, want);
	}
	assert_false(warm_pool_pop(&p, &c));
	warm_pool_clear(&p, NULL, NULL);
	assert_int_equal(p.target, 0);
	assert_false(warm_pool_short(&p)); /* an unused pool wants nothing */
}

static void test_remove_keeps_order(void **state)
{
	struct warm_pool p;
	struct warm_clone c;

	(void)state;
	assert_int_equal(warm_pool_init(&p, "a.snap", "a.mem", TARGET), 0);
	/* Wrap first, so the removal moves entries across the end of the ring. */
	assert_true(warm_pool_push(&p, 1, -1));
	assert_true(warm_pool_push(&p, 2, -1));
	assert_true(warm_pool_push(&p, 3, -1));
	assert_true(warm_pool_pop(&p, &c));
	assert_true(warm_pool_push(&p, 4, -1));
	assert_true(warm_pool_push(&p, 5, -1)); /* ring: 5 | 2 3 4 */
	assert_true(warm_pool_remove(&p, 3, &c));
	assert_int_equal(c.pid, 3);
	assert_false(warm_pool_remove(&p, 3, &c));
	assert_false(warm_pool_remove(&p, 42, &c));
	assert_true(warm_pool_short(&p));
	pid_t want[] = {2, 4, 5};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(warm_pool_pop(&p, &c));
		assert_int_equal(c.pid, want[i]);
	}
	warm_pool_clear(&p, NULL, NULL);
}

static pid_t seen[TARGET];
static int nseen;

static void note(void *opaque, pid_t pid)
{
	(void)opaque;
	seen[nseen++] = pid;
}

static void test_clear_closes_and_tells(void **state)
{
	struct warm_pool p;
	int fds[TARGET - 1];

	(void)state;
	assert_int_equal(warm_pool_init(&p, "a.snap", "a.mem", TARGET), 0);
	for (int i = 0; i < TARGET - 1; i++) {
		fds[i] = pipe_end();
		assert_true(warm_pool_push(&p, 10 + i, fds[i]));
	}
	nseen = 0;
	warm_pool_clear(&p, note, NULL);
	assert_int_equal(nseen, TARGET - 1);
	for (int i = 0; i < TARGET - 1; i++) {
		assert_int_equal(seen[i], 10 + i);
		assert_int_equal(fcntl(fds[i], F_GETFD), -1); /* closed */
	}
}

static void test_init_refusals(void **state)
{
	struct warm_pool p;
	char longpath[CONFIG_JSON_PATH_MAX + 1];

	(void)state;
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(warm_pool_init(&p, "a.snap", "a.mem", 0), -EINVAL);
	assert_int_equal(warm_pool_init(&p, longpath, "a.mem", 1), -ENAMETOOLONG);
	assert_int_equal(warm_pool_init(&p, "a.snap", longpath, 1), -ENAMETOOLONG);
	assert_int_equal(p.target, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_across_the_wrap),
	    cmocka_unit_test(test_remove_keeps_order),
	    cmocka_unit_test(test_clear_closes_and_tells),
	    cmocka_unit_test(test_init_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
