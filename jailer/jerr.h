/* SPDX-License-Identifier: Apache-2.0 */
/* jerr.h: what a jailer step was doing when it failed, for main.c to print. */
#ifndef JAILER_JERR_H
#define JAILER_JERR_H

struct jerr {
	char what[512];	/* e.g. "mkdir /srv/jailer/ember/a1/root" */
};

/*
 * jerr_set: describe the failing operation in (e); returns (rc) unchanged so
 * library code can write `return jerr_set(e, -errno, "open %s", p);`.
 * (e) may be NULL.
 */
int jerr_set(struct jerr *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
