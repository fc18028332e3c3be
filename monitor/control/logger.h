/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger.h: Firecracker's logger: log lines go to a file or FIFO with a
 * timestamp, the instance id and optionally the level, at the level the
 * configuration asks for. Writes are non-blocking: a line a slow reader has
 * no room for is dropped and counted (missed_log_count), never waited for.
 *
 * A FIFO whose reader goes away is not fatal: ember says so once on stderr
 * (logger_lost_reason), counts the lines it drops, and puts the warnings
 * and errors among them on stderr, so that they are not lost with it.
 */
#ifndef EMBER_LOGGER_H
#define EMBER_LOGGER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct logger {
	int fd; /* -1: stderr through log.c */
	bool show_level;
	bool show_log_origin;
	enum config_log_level level;
	char id[CONFIG_ID_MAX + 1];
	uint64_t missed_log_count; /* lines dropped: the reader was slow (atomic) */
	uint64_t log_fails;	   /* lines lost to other write errors (atomic) */
	char *path;		   /* the file or FIFO (fd >= 0), for the line below */
	bool lost;		   /* a line was dropped and that was said on stderr (atomic) */
};

/* logger_init: an unconfigured logger (messages stay on stderr). */
void logger_init(struct logger *lg);

/*
 * logger_configure: apply (lc) for instance (id): open lc->log_path (a FIFO
 * is opened read-write so a missing reader never blocks or fails us; a
 * file is created if needed and appended to), set the level, and route
 * log.c's lines here. Returns 0, or -errno with a message in (err, errsz).
 */
int logger_configure(struct logger *lg, const struct logger_config *lc, const char *id, char *err,
		     unsigned long errsz);

/*
 * logger_open_nonblocking: open (path) for non-blocking appends (metrics
 * share this). A FIFO is opened write-only when it has a reader, so that the
 * reader going away shows as EPIPE; without a reader (where a write-only
 * open fails, and a blocking one would wait) it is opened read-write, as
 * Firecracker does, and lines wait in the pipe until a reader comes or the
 * pipe is full. Never blocks.
 */
int logger_open_nonblocking(const char *path);

/*
 * logger_lost_reason: why a write of a line failed with (err), for the one
 * line that says lines are being dropped: "has no reader any more" (EPIPE),
 * "is full (its reader is gone or not keeping up)" (EAGAIN), else strerror.
 */
const char *logger_lost_reason(int err);

/*
 * logger_write: write (len) bytes of (buf) to (fd) in one non-blocking
 * write. Returns 0, -EAGAIN when the reader had no room (nothing or part
 * written), or another -errno.
 */
int logger_write(int fd, const char *buf, unsigned long len);

/* logger_destroy: close the file and give log.c back its stderr. */
void logger_destroy(struct logger *lg);

#endif /* EMBER_LOGGER_H */
