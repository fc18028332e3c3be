// SPDX-License-Identifier: Apache-2.0
/*
 * test_logger.c: the logger and the metrics writer when what they write to
 * fails: a FIFO whose reader goes away (EPIPE), one nobody drains (EAGAIN),
 * a reader that takes only part of a metrics line. ember must never block
 * or die there, must say once that lines are being lost, and must keep the
 * lines it does write whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logger.h"
#include "metrics.h"

static char dir[64], fifo[128], errfile[128];
static int saved_stderr = -1;

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as main.c */
	strcpy(dir, "/tmp/ember-logger.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(errfile, sizeof(errfile), "%s/stderr", dir);
	return mkfifo(fifo, 0600);
}

static int teardown(void **state)
{
	(void)state;
	unlink(fifo);
	unlink(errfile);
	rmdir(dir);
	return 0;
}

/* capture_stderr / captured: what goes to fd 2 in between, as a string (static). */
static void capture_stderr(void)
{
	int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static const char *captured(void)
{
	static char buf[8192];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	fd = open(errfile, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static unsigned int count_of(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* read_all: everything waiting in (fd) (non-blocking), NUL-terminated, into (buf). */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

static int open_reader(void)
{
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void configure_logger(struct logger *lg)
{
	struct logger_config lc = {.set = true, .log_path = fifo, .level = CONFIG_LOG_INFO};
	char err[256];

	logger_init(lg);
	assert_int_equal(logger_configure(lg, &lc, "t", err, sizeof(err)), 0);
}

/* A FIFO with a reader is written write-only: the reader's going is seen at once. */
static void test_log_fifo_reader_goes(void **state)
{
	struct logger lg;
	char buf[4096];
	const char *err;
	int rd = open_reader();

	(void)state;
	configure_logger(&lg);
	assert_int_equal(fcntl(lg.fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	log_warn("first line");
	assert_true(read_all(rd, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "first line"));
	close(rd); /* the reader goes */

	capture_stderr();
	log_info("an info line");
	log_warn("a warning");
	log_warn("another warning");
	err = captured();
	logger_destroy(&lg);
	assert_int_equal(lg.log_fails, 3);
	assert_int_equal(lg.missed_log_count, 0);
	/* Said once, naming the FIFO and what happened ... */
	assert_int_equal(count_of(err, "has no reader any more"), 1);
	assert_non_null(strstr(err, "ember: logger: '"));
	assert_non_null(strstr(err, fifo));
	assert_non_null(strstr(err, "logger.log_fails"));
	/* ... and the warnings are not lost with the log; the info line is. */
	assert_non_null(strstr(err, "ember: a warning\n"));
	assert_non_null(strstr(err, "ember: another warning\n"));
	assert_null(strstr(err, "an info line"));
}

/* No reader at start: a read-write open that never blocks; a full pipe is said once. */
static void test_log_fifo_nobody_reads(void **state)
{
	struct logger lg;
	const char *err;
	int rd;

	(void)state;
	configure_logger(&lg);
	assert_int_equal(fcntl(lg.fd, F_GETFL) & O_ACCMODE, O_RDWR);
	capture_stderr();
	for (int i = 0; i < 2000; i++) /* about 100 bytes each: more than a pipe holds */
		log_info("line %d of many that nobody reads", i);
	err = captured();
	assert_true(lg.missed_log_count > 0);
	assert_int_equal(lg.log_fails, 0);
	assert_int_equal(count_of(err, "is full (its reader is gone or not keeping up)"), 1);
	assert_non_null(strstr(err, "logger.missed_log_count"));
	/* What the pipe held waits for a reader, whole lines only. */
	rd = open_reader();
	static char all[1 << 17];
	size_t n = read_all(rd, all, sizeof(all));
	assert_true(n > 0);
	assert_int_equal(all[n - 1], '\n');
	assert_non_null(strstr(all, "line 0 of many"));
	close(rd);
	logger_destroy(&lg);
}

static void configure_metrics(struct metrics *m)
{
	char err[256];

	metrics_init(m);
	assert_int_equal(metrics_configure(m, fifo, err, sizeof(err)), 0);
}

/* json_of: the one JSON line in (s) (whole, newline-terminated). */
static json_t *json_of(const char *s)
{
	size_t n = strlen(s);
	json_t *j;

	assert_true(n > 0);
	assert_int_equal(s[n - 1], '\n');
	assert_null(memchr(s, '\n', n - 1));
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	return j;
}

static long long counter(json_t *j, const char *group, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(j, group), name));
}

/* The metrics reader goes and comes back: one line said, no counts lost. */
static void test_metrics_fifo_reader_goes_and_comes_back(void **state)
{
	static char buf[1 << 16];
	struct metrics m;
	json_t *j;
	const char *err;
	int rd = open_reader();

	(void)state;
	configure_metrics(&m);
	assert_int_equal(fcntl(m.fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	metrics_add(&m.now.vmm.device_events, 2);
	assert_int_equal(metrics_flush(&m), 0);
	read_all(rd, buf, sizeof(buf));
	j = json_of(buf);
	assert_int_equal(counter(j, "vmm", "device_events"), 2);
	json_decref(j);
	close(rd); /* the reader goes */

	metrics_add(&m.now.vmm.device_events, 5);
	capture_stderr();
	assert_int_equal(metrics_flush(&m), -EPIPE);
	metrics_add(&m.now.vmm.device_events, 1);
	assert_int_equal(metrics_flush(&m), -EPIPE);
	err = captured();
	assert_int_equal(count_of(err, "has no reader any more"), 1);
	assert_non_null(strstr(err, "ember: metrics: '"));
	assert_non_null(strstr(err, fifo));
	assert_non_null(strstr(err, "logger.metrics_fails"));

	/* A new reader gets the counts the two lost lines had, and their count. */
	rd = open_reader();
	assert_int_equal(metrics_flush(&m), 0);
	read_all(rd, buf, sizeof(buf));
	j = json_of(buf);
	assert_int_equal(counter(j, "vmm", "device_events"), 6);
	assert_int_equal(counter(j, "logger", "metrics_fails"), 2);
	json_decref(j);
	close(rd);
	metrics_destroy(&m);
}

/*
 * A reader that takes only part of a metrics line (longer than its pipe):
 * the rest goes before the next line, so the reader only ever sees whole
 * lines; a flush that finds no room at all is counted, its counts kept.
 */
static void test_metrics_lines_stay_whole(void **state)
{
	static char buf[1 << 17], line[1 << 16];
	struct metrics m;
	size_t total;
	json_t *j;
	int rd = open_reader(), lines = 0;

	(void)state;
	assert_true(fcntl(rd, F_SETPIPE_SZ, 4096) >= 0);
	configure_metrics(&m);
	m.nvcpus = METRICS_MAX_VCPUS; /* a line well over 4096 bytes */
	capture_stderr();
	assert_int_equal(metrics_flush(&m), 0); /* partly written */
	assert_non_null(m.tail);
	metrics_add(&m.now.vmm.device_events, 3);
	assert_int_equal(metrics_flush(&m), -EAGAIN); /* no room for the rest */
	(void)captured();
	assert_int_equal(m.now.logger.missed_metrics_count, 1);
	/* The reader takes what is there and makes room: the rest, then a new line. */
	total = read_all(rd, buf, sizeof(buf));
	assert_int_equal(total, 4096);
	assert_null(memchr(buf, '\n', total));
	assert_true(fcntl(rd, F_SETPIPE_SZ, 1 << 16) >= 0);
	assert_int_equal(metrics_flush(&m), 0);
	assert_null(m.tail);
	total += read_all(rd, buf + total, sizeof(buf) - total);
	assert_true(total > 8192);
	assert_int_equal(buf[total - 1], '\n');
	/* Two whole lines: each parses; the second has what the refused flush counted. */
	for (char *p = buf, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		size_t len = (size_t)(nl - p) + 1;

		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		j = json_of(line);
		assert_int_equal(counter(j, "vmm", "device_events"), lines == 0 ? 0 : 3);
		assert_int_equal(counter(j, "logger", "missed_metrics_count"), lines == 0 ? 0 : 1);
		assert_non_null(json_object_get(j, "vcpu_31"));
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 2);
	close(rd);
	metrics_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_log_fifo_reader_goes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_fifo_nobody_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_fifo_reader_goes_and_comes_back, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_lines_stay_whole, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
