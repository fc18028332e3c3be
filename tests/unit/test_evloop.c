// SPDX-License-Identifier: Apache-2.0
/*
 * test_evloop.c: the process's event loop: no fixed limit on watched fds,
 * and handlers removed from inside a callback (their own or another whose
 * event waits in the same batch) are never called afterwards.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"

#define MANY 300 /* well past the 64 handlers the loop once had */

static struct evloop loop;
static int fds[MANY];
static unsigned int calls[MANY];

static int index_of(int fd)
{
	for (int i = 0; i < MANY; i++)
		if (fds[i] == fd)
			return i;
	fail_msg("callback for an fd the test never added: %d", fd);
	return -1;
}

/* count: read the eventfd and count the call. */
static void count(void *opaque, int fd, uint32_t events)
{
	uint64_t n;

	(void)opaque;
	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &n, sizeof(n)), sizeof(n));
	calls[index_of(fd)]++;
}

/* remove_all: the first callback to run removes every handler, its own included. */
static void remove_all(void *opaque, int fd, uint32_t events)
{
	(void)opaque;
	(void)events;
	calls[index_of(fd)]++;
	for (int i = 0; i < MANY; i++)
		evloop_del(&loop, fds[i]);
}

static void ring(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(evloop_init(&loop), 0);
	for (int i = 0; i < MANY; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(fds[i] >= 0);
		calls[i] = 0;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	evloop_destroy(&loop);
	for (int i = 0; i < MANY; i++)
		close(fds[i]);
	return 0;
}

static void test_many_fds(void **state)
{
	(void)state;
	for (int i = 0; i < MANY; i++)
		assert_int_equal(evloop_add(&loop, fds[i], EPOLLIN, count, NULL), 0);
	assert_int_equal(loop.count, MANY);
	for (int i = 0; i < MANY; i++)
		ring(fds[i]);
	int seen = 0;
	while (seen < MANY) {
		int n = evloop_poll(&loop, 0);
		assert_true(n > 0);
		seen += n;
	}
	for (int i = 0; i < MANY; i++)
		assert_int_equal(calls[i], 1);
	/* Removed ones stay quiet; the rest still work. */
	for (int i = 0; i < MANY; i += 2)
		evloop_del(&loop, fds[i]);
	assert_int_equal(loop.count, MANY / 2);
	for (int i = 0; i < MANY; i++)
		ring(fds[i]);
	while (evloop_poll(&loop, 0) > 0)
		;
	for (int i = 0; i < MANY; i++)
		assert_int_equal(calls[i], i % 2 ? 2 : 1);
}

static void test_removed_in_the_same_batch(void **state)
{
	(void)state;
	for (int i = 0; i < MANY; i++)
		assert_int_equal(evloop_add(&loop, fds[i], EPOLLIN, remove_all, NULL), 0);
	for (int i = 0; i < MANY; i++)
		ring(fds[i]);
	/* One batch holds several ready handlers; the first removes them all. */
	assert_true(evloop_poll(&loop, 0) > 1);
	unsigned int total = 0;
	for (int i = 0; i < MANY; i++)
		total += calls[i];
	assert_int_equal(total, 1);
	assert_int_equal(loop.count, 0);
	assert_int_equal(evloop_poll(&loop, 0), 0);
}

/* seen: count the call, take nothing: the eventfd stays readable. */
static void seen(void *opaque, int fd, uint32_t events)
{
	(void)opaque;
	(void)events;
	calls[index_of(fd)]++;
}

/*
 * An EPOLLONESHOT fd fires once and stays quiet, readable or not, until
 * evloop_mod arms it again; armed while still readable, it fires at once.
 * Modifying an fd the loop does not watch is -ENOENT; edge-triggered fds
 * fire once per edge.
 */
static void test_mod_oneshot(void **state)
{
	(void)state;
	assert_int_equal(evloop_add(&loop, fds[0], EPOLLIN | EPOLLONESHOT, seen, NULL), 0);
	assert_int_equal(evloop_add(&loop, fds[1], EPOLLIN | EPOLLET, seen, NULL), 0);
	ring(fds[0]);
	ring(fds[1]);
	assert_int_equal(evloop_poll(&loop, 0), 2);
	assert_int_equal(evloop_poll(&loop, 0), 0); /* both still readable, both quiet */
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 1);
	assert_int_equal(evloop_mod(&loop, fds[0], EPOLLIN | EPOLLONESHOT), 0);
	assert_int_equal(evloop_poll(&loop, 0), 1);
	assert_int_equal(calls[0], 2);
	assert_int_equal(evloop_poll(&loop, 0), 0);
	/* a new edge on the edge-triggered one; a rearm to nothing keeps the other quiet */
	ring(fds[1]);
	assert_int_equal(evloop_mod(&loop, fds[0], 0), 0);
	assert_int_equal(evloop_poll(&loop, 0), 1);
	assert_int_equal(calls[1], 2);
	/* an edge-triggered fd rearmed while readable reports it again */
	assert_int_equal(evloop_mod(&loop, fds[1], EPOLLIN | EPOLLET), 0);
	assert_int_equal(evloop_poll(&loop, 0), 1);
	assert_int_equal(calls[1], 3);
	assert_int_equal(evloop_mod(&loop, fds[2], EPOLLIN), -ENOENT);
	evloop_del(&loop, fds[0]);
	assert_int_equal(evloop_mod(&loop, fds[0], EPOLLIN), -ENOENT);
}

static void stop_it(void *opaque, int fd, uint32_t events)
{
	(void)opaque;
	(void)events;
	calls[index_of(fd)]++;
	evloop_stop(&loop);
}

/* evloop_run can run again after a stop: the process runs one loop through boot. */
static void test_run_stop_run(void **state)
{
	(void)state;
	assert_int_equal(evloop_add(&loop, fds[0], EPOLLIN, stop_it, NULL), 0);
	ring(fds[0]);
	assert_int_equal(evloop_run(&loop), 0);
	ring(fds[0]); /* still readable: the counter was not read */
	assert_int_equal(evloop_run(&loop), 0);
	assert_true(calls[0] >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_many_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_in_the_same_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_stop_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mod_oneshot, setup, teardown),
	};
	return cmocka_run_group_tests_name("evloop", tests, NULL, NULL);
}
