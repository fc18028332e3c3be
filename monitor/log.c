// SPDX-License-Identifier: Apache-2.0
/* log.c: one-line messages on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level max_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	max_level = level;
}

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > max_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (errnum != 0)
		fprintf(stderr, "ember: %s: %s\n", line, strerror(errnum));
	else
		fprintf(stderr, "ember: %s\n", line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

void log_msg_errno(enum log_level level, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, errnum, fmt, ap);
	va_end(ap);
}
