/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h: messages on stderr, "ember: <subsystem>: <what failed>: <detail>".
 *
 * The level is process-wide (set once from the command line before any VM
 * exists), so it is not per-VM state.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* log_set_level: messages above (level) are dropped. Default LOG_WARN. */
void log_set_level(enum log_level level);

/*
 * log_sink_fn: receives each line that passes the level (without "ember: "
 * and without the newline) instead of stderr, when set with log_set_sink.
 * Called on the logging thread; must not block.
 */
typedef void (*log_sink_fn)(void *opaque, enum log_level level, const char *line);

/* log_set_sink: send lines to (fn) (NULL: back to stderr). Set before threads start. */
void log_set_sink(log_sink_fn fn, void *opaque);

/* log_msg: print one line at (level); the _errno variant appends strerror(errnum). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_msg_errno(enum log_level level, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_vmsg: log_msg_errno for a caller holding (fmt, ap) (another library's lines). */
void log_vmsg(enum log_level level, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * log_report: a line the user asked for (e.g. --boot-timer), printed
 * whatever the level: on stderr, or to the logger at Info when one is set.
 */
void log_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...)		log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)		log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)		log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)		log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_error_errno(e, ...) log_msg_errno(LOG_ERROR, (e), __VA_ARGS__)
#define log_warn_errno(e, ...)	log_msg_errno(LOG_WARN, (e), __VA_ARGS__)

#endif /* EMBER_LOG_H */
