// SPDX-License-Identifier: Apache-2.0
/* vlog.c: the virtio library's lines, to the embedding program's sink or stderr. */
#include "vlog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 1024 /* one formatted line, as monitor/log.c */
#define NOTE_MAX_BYTES 256  /* what a limited problem says, before its prefix */

static void to_stderr(void *opaque, enum vlog_level level, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* to_stderr: the sink until one is set: errors and warnings, one write per line. */
static void to_stderr(void *opaque, enum vlog_level level, int errnum, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];

	(void)opaque;
	if (level > VLOG_WARN)
		return;
	/* (ap) is started by vlog_msg; the analyzer loses track through the sink pointer. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		return;
	if (errnum != 0)
		fprintf(stderr, "%s: %s\n", line, strerror(errnum));
	else
		fprintf(stderr, "%s\n", line);
}

/* Process-wide, set once before threads start (vlog.h): not per-VM state. */
static vlog_sink_fn sink = to_stderr;
static void *sink_opaque;

void vlog_set_sink(vlog_sink_fn fn, void *opaque)
{
	sink = fn != NULL ? fn : to_stderr;
	sink_opaque = fn != NULL ? opaque : NULL;
}

void vlog_msg(enum vlog_level level, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink(sink_opaque, level, errnum, fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void vlog_limited(struct vlog_limit *lim, const char *who, unsigned int kind, const char *fmt, ...)
{
	uint32_t bit;
	uint64_t now = 0;
	char msg[NOTE_MAX_BYTES];
	va_list ap;

	if (kind >= VLOG_KINDS)
		kind = VLOG_KINDS - 1; /* a reporter's own mistake: share the last kind */
	bit = 1u << kind;
	lim->count++;
	if (lim->logged & bit) {
		if (lim->every_ms == VLOG_ONCE)
			return;
		now = now_ms();
		if (now - lim->last_ms[kind] < lim->every_ms) {
			lim->held[kind]++;
			return;
		}
	} else if (lim->every_ms != VLOG_ONCE) {
		now = now_ms();
	}
	va_start(ap, fmt);
	/* clang-analyzer 14 loses va_start when it inlines this into a caller. */
	vsnprintf(msg, sizeof(msg), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (lim->every_ms == VLOG_ONCE)
		vlog_warn("%s: %s (further errors of this kind not logged)", who, msg);
	else if (lim->held[kind] > 0)
		vlog_warn("%s: %s (%llu more like it not logged)", who, msg,
			  (unsigned long long)lim->held[kind]);
	else
		vlog_warn("%s: %s", who, msg);
	lim->logged |= bit;
	lim->last_ms[kind] = now;
	lim->held[kind] = 0;
}

void vlog_err_set(struct vlog_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->errnum = errnum;
	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): as in vlog_limited
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}
