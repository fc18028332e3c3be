/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vlog.h: how the virtio library reports, without knowing who listens.
 *
 * Lines go to one sink for the whole process, which the program embedding
 * the library installs once, before it starts threads (ember sends them on
 * to its own log, so its level, logger and API errors apply). Without a
 * sink, errors and warnings go to stderr. A process has one stderr and one
 * logger, so one sink serves every device of every VM in it; all other
 * reporting state (what was logged, how often) belongs to each device.
 *
 * A line names the device by what its creator gave it ("virtio-blk: PATH:
 * ...", "virtio-net: TAP: ...") and never an interface of the program (a
 * flag, an API path): a device's create function that fails fills a struct
 * vlog_err instead of logging, and its caller reports it in its own words.
 */
#ifndef EMBER_VIRTIO_VLOG_H
#define EMBER_VIRTIO_VLOG_H

#include <stdarg.h>
#include <stdint.h>

enum vlog_level { VLOG_ERROR, VLOG_WARN, VLOG_INFO, VLOG_DEBUG };

/*
 * vlog_sink_fn: receives each line as (fmt, ap), without a trailing
 * newline; (errnum), when not 0, is an errno value the line should end with.
 * Called on whichever thread logs (a vCPU or the VMM thread); must not block.
 */
typedef void (*vlog_sink_fn)(void *opaque, enum vlog_level level, int errnum, const char *fmt,
			     va_list ap);

/* vlog_set_sink: send lines to (fn) (NULL: back to stderr). Once, before threads start. */
void vlog_set_sink(vlog_sink_fn fn, void *opaque);

/* vlog_msg: one line at (level); (errnum) not 0 appends its strerror. */
void vlog_msg(enum vlog_level level, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define vlog_error(...)		 vlog_msg(VLOG_ERROR, 0, __VA_ARGS__)
#define vlog_warn(...)		 vlog_msg(VLOG_WARN, 0, __VA_ARGS__)
#define vlog_info(...)		 vlog_msg(VLOG_INFO, 0, __VA_ARGS__)
#define vlog_debug(...)		 vlog_msg(VLOG_DEBUG, 0, __VA_ARGS__)
#define vlog_error_errno(e, ...) vlog_msg(VLOG_ERROR, (e), __VA_ARGS__)
#define vlog_warn_errno(e, ...)	 vlog_msg(VLOG_WARN, (e), __VA_ARGS__)

/*
 * Problems a guest can cause over and over are logged through a struct
 * vlog_limit, one per reporter (a device, a transport, a queue), so that a
 * hostile guest cannot flood the log. Each kind of problem (a small number
 * the reporter chooses, below VLOG_KINDS) is logged at VLOG_WARN either once
 * for the reporter's life (every_ms VLOG_ONCE; the line says so) or at most
 * once per every_ms (the next line says how many were held back). Every
 * problem is counted, logged or not. Zeroed is a reporter in VLOG_ONCE mode
 * that has logged nothing; the state survives device resets.
 */
#define VLOG_KINDS 16
#define VLOG_ONCE  0

struct vlog_limit {
	uint32_t every_ms;	      /* VLOG_ONCE, or the least time between two lines of a kind */
	uint32_t logged;	      /* bit per kind logged at least once */
	uint64_t count;		      /* problems reported, logged or not */
	uint64_t last_ms[VLOG_KINDS]; /* CLOCK_MONOTONIC ms of a kind's last line */
	uint64_t held[VLOG_KINDS];    /* lines of a kind not logged since then */
};

/*
 * vlog_limited: problem (kind) of reporter (lim), whose lines start with
 * (who) ("virtio-blk: PATH"); logs "(who): (fmt...)" if (lim) allows it now.
 * Not thread-safe: a reporter's caller serialises (the transport lock).
 */
void vlog_limited(struct vlog_limit *lim, const char *who, unsigned int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * struct vlog_err: why a create function failed, for its caller to report:
 * (msg) says what failed without naming the device ("open", "exists and is
 * not a socket"), (errnum) is the errno value to add, or 0.
 */
#define VLOG_ERR_MAX 256

struct vlog_err {
	int errnum;
	char msg[VLOG_ERR_MAX];
};

/* vlog_err_set: fill (err) (may be NULL: nothing is kept). */
void vlog_err_set(struct vlog_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* EMBER_VIRTIO_VLOG_H */
