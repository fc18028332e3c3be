// SPDX-License-Identifier: Apache-2.0
/* log.c: one-line messages on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level max_level = LOG_WARN;
static log_sink_fn sink;
static void *sink_opaque;

void log_set_sink(log_sink_fn fn, void *opaque)
{
	sink = fn;
	sink_opaque = opaque;
}

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
	/* (ap) is started by both callers; the analyzer loses track through log_msg_errno. */
	n = vsnprintf(line, sizeof(line), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	if (n < 0)
		return;
	if (sink != NULL) {
		char full[1200];
		if (errnum != 0)
			snprintf(full, sizeof(full), "%.1023s: %.100s", line, strerror(errnum));
		else
			snprintf(full, sizeof(full), "%s", line);
		sink(sink_opaque, level, full);
		return;
	}
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

void log_vmsg(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	vlog(level, errnum, fmt, ap);
}

void log_report(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (n < 0)
		return;
	if (sink != NULL)
		sink(sink_opaque, LOG_INFO, line);
	else
		fprintf(stderr, "ember: %s\n", line);
}
