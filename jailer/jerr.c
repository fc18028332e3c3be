// SPDX-License-Identifier: Apache-2.0
/* jerr.c: failure descriptions for the jailer's steps. */
#include "jerr.h"

#include <stdarg.h>
#include <stdio.h>

int jerr_set(struct jerr *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->what, sizeof(e->what), fmt, ap);
		va_end(ap);
	}
	return rc;
}
