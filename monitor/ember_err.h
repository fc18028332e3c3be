/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember_err.h: why something failed, as a value. The layer that fails says
 * what it found, the layers above put in front what they were doing, and
 * the one that answers the user (main.c's exit, an API fault) logs or
 * sends the line once. Nothing is kept anywhere else, so one request's
 * reason can never become another's.
 *
 * The shape is the virtio library's struct vlog_err (a line and an errno),
 * so a device's reason passes through unchanged; the errno stays apart
 * until the line is rendered, so context goes in front of the reason and
 * strerror() at the end, as log_error_errno() prints it.
 */
#ifndef EMBER_ERR_H
#define EMBER_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define EMBER_ERR_MAX 512

struct ember_err {
	int errnum; /* an errno value the line ends with, or 0 */
	char msg[EMBER_ERR_MAX];
};

/* ember_err_set: fill (e) (NULL: the caller does not want the reason). */
static inline void ember_err_set(struct ember_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void ember_err_set(struct ember_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	e->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* ember_err_cut: a line too long lost its end (its start says the most): show it. */
static inline void ember_err_cut(struct ember_err *e)
{
	static const char more[] = "...";

	memcpy(e->msg + sizeof(e->msg) - sizeof(more), more, sizeof(more));
}

/* ember_err_prefix: put "(fmt...): " before the reason already in (e). */
static inline void ember_err_prefix(struct ember_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void ember_err_prefix(struct ember_err *e, const char *fmt, ...)
{
	char head[EMBER_ERR_MAX], reason[EMBER_ERR_MAX];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(reason, e->msg, sizeof(reason));
	if (snprintf(e->msg, sizeof(e->msg), "%s: %s", head, reason) >= (int)sizeof(e->msg))
		ember_err_cut(e);
}

/* ember_err_line: the whole line in (buf): the reason, then ": strerror(errnum)". */
static inline const char *ember_err_line(const struct ember_err *e, char *buf, size_t size)
{
	if (e->errnum != 0)
		snprintf(buf, size, "%.400s: %.100s", e->msg, strerror(e->errnum));
	else
		snprintf(buf, size, "%s", e->msg);
	return buf;
}

#endif /* EMBER_ERR_H */
