// SPDX-License-Identifier: Apache-2.0
/* logger.c: Firecracker-style log lines to a file or FIFO, never blocking. */
#include "logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

void logger_init(struct logger *lg)
{
	memset(lg, 0, sizeof(*lg));
	lg->fd = -1;
	lg->level = CONFIG_LOG_INFO;
	strcpy(lg->id, CONFIG_DEFAULT_ID);
}

int logger_open_nonblocking(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		/* Write-only when there is a reader: when it goes, a write says EPIPE. */
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENXIO)
			return fd;
		/* No reader yet: O_RDWR never waits for (or fails without) one. */
		return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	}
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
}

const char *logger_lost_reason(int err)
{
	if (err == EPIPE)
		return "has no reader any more";
	if (err == EAGAIN)
		return "is full (its reader is gone or not keeping up)";
	return strerror(err);
}

int logger_write(int fd, const char *buf, unsigned long len)
{
	ssize_t n = write(fd, buf, len);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || errno == EAGAIN)
		return -EAGAIN;
	return -errno;
}

static const char *level_tag(enum log_level level)
{
	switch (level) {
	case LOG_ERROR:
		return "ERROR";
	case LOG_WARN:
		return "WARN";
	case LOG_INFO:
		return "INFO";
	default:
		return "DEBUG";
	}
}

/* sink: one line from log.c, "<time> [<id>:<thread>[:<LEVEL>]] <message>". */
static void sink(void *opaque, enum log_level level, const char *line)
{
	struct logger *lg = opaque;
	struct timespec ts;
	struct tm tm;
	char out[1400];
	int n;

	if (lg->level == CONFIG_LOG_OFF)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s%s%s%s] %s\n",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec, lg->id, "vmm", lg->show_level ? ":" : "",
		     lg->show_level ? level_tag(level) : "", lg->show_log_origin ? ":ember" : "",
		     line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out))
		n = sizeof(out) - 1;
	if (lg->fd < 0) {
		fputs(out, stderr);
		return;
	}
	int ret = logger_write(lg->fd, out, (unsigned long)n);
	if (ret == 0)
		return;
	if (ret == -EAGAIN)
		__atomic_add_fetch(&lg->missed_log_count, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&lg->log_fails, 1, __ATOMIC_RELAXED);
	/* Said once, on stderr: the log itself is what fails. */
	if (!__atomic_exchange_n(&lg->lost, true, __ATOMIC_RELAXED))
		fprintf(stderr,
			"ember: logger: '%s' %s: log lines are dropped (counted in logger.%s), "
			"warnings and errors come here instead\n",
			lg->path != NULL ? lg->path : "?", logger_lost_reason(-ret),
			ret == -EAGAIN ? "missed_log_count" : "log_fails");
	/* What the log could not take and matters comes here instead. */
	if (level <= LOG_WARN)
		fprintf(stderr, "ember: %s\n", line);
}

static enum log_level to_log_level(enum config_log_level l)
{
	switch (l) {
	case CONFIG_LOG_OFF:
	case CONFIG_LOG_ERROR:
		return LOG_ERROR;
	case CONFIG_LOG_WARNING:
		return LOG_WARN;
	case CONFIG_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

int logger_configure(struct logger *lg, const struct logger_config *lc, const char *id, char *err,
		     unsigned long errsz)
{
	int fd = -1;
	char *path = NULL;

	if (lc->log_path != NULL) {
		fd = logger_open_nonblocking(lc->log_path);
		if (fd < 0) {
			int e = errno;
			snprintf(err, errsz, "log_path: cannot open '%s': %s", lc->log_path,
				 strerror(e));
			return -e;
		}
		path = strdup(lc->log_path);
		if (path == NULL) {
			close(fd);
			snprintf(err, errsz, "log_path: out of memory");
			return -ENOMEM;
		}
	}
	if (lg->fd >= 0)
		close(lg->fd);
	free(lg->path);
	lg->fd = fd;
	lg->path = path;
	lg->lost = false;
	lg->show_level = lc->show_level;
	lg->show_log_origin = lc->show_log_origin;
	lg->level = lc->level;
	snprintf(lg->id, sizeof(lg->id), "%s", id);
	if (lc->level_set || lc->log_path != NULL)
		log_set_level(to_log_level(lc->level));
	/* Without a path, lines stay on stderr in ember's own shape. */
	log_set_sink(fd >= 0 ? sink : NULL, fd >= 0 ? lg : NULL);
	return 0;
}

void logger_destroy(struct logger *lg)
{
	log_set_sink(NULL, NULL);
	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
	free(lg->path);
	lg->path = NULL;
}
