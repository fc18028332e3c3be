// SPDX-License-Identifier: Apache-2.0
/* test_virtio_vlog.c: the virtio library's reporting: sinks, the limited helper, create errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vlog.h"

#define MAX_LINES 8
#define LINE_LEN  512
/* Long enough that two calls in a row fall inside it, short enough to wait out. */
#define PERIOD_MS 300

/* What the capturing sink saw since reset_lines. */
static struct {
	unsigned int n;
	enum vlog_level level[MAX_LINES];
	int errnum[MAX_LINES];
	char text[MAX_LINES][LINE_LEN];
} seen;

static void capture(void *opaque, enum vlog_level level, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void capture(void *opaque, enum vlog_level level, int errnum, const char *fmt, va_list ap)
{
	assert_ptr_equal(opaque, &seen);
	assert_true(seen.n < MAX_LINES);
	seen.level[seen.n] = level;
	seen.errnum[seen.n] = errnum;
	vsnprintf(seen.text[seen.n], LINE_LEN, fmt, ap);
	seen.n++;
}

static int setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	vlog_set_sink(capture, &seen);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vlog_set_sink(NULL, NULL);
	return 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void test_levels_and_errno(void **state)
{
	(void)state;
	vlog_debug("virtio-x: %d", 1);
	vlog_error_errno(ENOENT, "virtio-x: open %s", "f");
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.level[0], VLOG_DEBUG);
	assert_int_equal(seen.errnum[0], 0);
	assert_string_equal(seen.text[0], "virtio-x: 1");
	assert_int_equal(seen.level[1], VLOG_ERROR);
	assert_int_equal(seen.errnum[1], ENOENT);
	assert_string_equal(seen.text[1], "virtio-x: open f");
}

/* VLOG_ONCE: the first of a kind is logged, and says so; every one is counted. */
static void test_once_per_kind(void **state)
{
	struct vlog_limit lim = {0};

	(void)state;
	vlog_limited(&lim, "virtio-x: q", 3, "bad %u", 1u);
	vlog_limited(&lim, "virtio-x: q", 3, "bad %u", 2u);
	vlog_limited(&lim, "virtio-x: q", 4, "worse");
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.level[0], VLOG_WARN);
	assert_string_equal(seen.text[0],
			    "virtio-x: q: bad 1 (further errors of this kind not logged)");
	assert_string_equal(seen.text[1],
			    "virtio-x: q: worse (further errors of this kind not logged)");
	assert_int_equal(lim.count, 3);
	assert_int_equal(lim.logged, (1u << 3) | (1u << 4));
}

/* A period: what came inside it is held back, and the next line says how many. */
static void test_periodic(void **state)
{
	struct vlog_limit lim = {.every_ms = PERIOD_MS};

	(void)state;
	vlog_limited(&lim, "virtio-y", 0, "drop %d", 1);
	vlog_limited(&lim, "virtio-y", 0, "drop %d", 2);
	vlog_limited(&lim, "virtio-y", 0, "drop %d", 3);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.text[0], "virtio-y: drop 1");
	sleep_ms(PERIOD_MS + PERIOD_MS / 2);
	vlog_limited(&lim, "virtio-y", 0, "drop %d", 4);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.text[1], "virtio-y: drop 4 (2 more like it not logged)");
	assert_int_equal(lim.count, 4);
}

/* A kind past VLOG_KINDS shares the last slot instead of writing past the arrays. */
static void test_kind_out_of_range(void **state)
{
	struct vlog_limit lim = {0};

	(void)state;
	vlog_limited(&lim, "virtio-z", VLOG_KINDS + 5, "odd");
	vlog_limited(&lim, "virtio-z", VLOG_KINDS - 1, "odd again");
	assert_int_equal(seen.n, 1);
	assert_int_equal(lim.logged, 1u << (VLOG_KINDS - 1));
	assert_int_equal(lim.count, 2);
}

static void test_err_set(void **state)
{
	struct vlog_err err = {0};
	char longer[VLOG_ERR_MAX * 2];

	(void)state;
	vlog_err_set(NULL, EIO, "nowhere"); /* allowed: the caller does not want it */
	vlog_err_set(&err, EACCES, "open %s", "x");
	assert_int_equal(err.errnum, EACCES);
	assert_string_equal(err.msg, "open x");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	vlog_err_set(&err, 0, "%s", longer);
	assert_int_equal(err.errnum, 0);
	assert_int_equal(strlen(err.msg), VLOG_ERR_MAX - 1);
	assert_int_equal(seen.n, 0); /* said to the caller, not logged */
}

/* Without a sink: warnings and errors on stderr, one line each, the rest dropped. */
static void test_default_sink(void **state)
{
	char out[LINE_LEN] = {0};
	int pipefd[2], saved;
	ssize_t n;

	(void)state;
	vlog_set_sink(NULL, NULL);
	assert_int_equal(pipe(pipefd), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(pipefd[1], STDERR_FILENO) >= 0);
	vlog_info("virtio-x: not shown");
	vlog_warn_errno(EPIPE, "virtio-x: %s", "send");
	vlog_error("virtio-x: gone");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	assert_true(n > 0);
	assert_string_equal(out, "virtio-x: send: Broken pipe\nvirtio-x: gone\n");
	assert_int_equal(seen.n, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_levels_and_errno),  T(test_once_per_kind), T(test_periodic),
	    T(test_kind_out_of_range), T(test_err_set),	      T(test_default_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
