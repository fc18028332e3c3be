/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dev_state.h: what the legacy devices' *_load_state functions share. A
 * saved state comes from a file and is checked field by field before a
 * device takes any of it; a refusal is one line naming the field, written
 * into the caller's buffer, and -EINVAL.
 */
#ifndef EMBER_DEV_STATE_H
#define EMBER_DEV_STATE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * dev_state_reject: format one line into (err) (of (errsz) bytes; NULL or
 * 0 for none) and return -EINVAL, so a check reads
 * "return dev_state_reject(err, errsz, "serial: ...", ...);".
 */
static inline int dev_state_reject(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int dev_state_reject(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* dev_state_zero: whether the (n) bytes at (p) (padding, unused slots) are all zero. */
static inline bool dev_state_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

#endif /* EMBER_DEV_STATE_H */
