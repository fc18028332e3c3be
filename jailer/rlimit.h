/* SPDX-License-Identifier: Apache-2.0 */
/* rlimit.h: --resource-limit, installed as both soft and hard limit. */
#ifndef JAILER_RLIMIT_H
#define JAILER_RLIMIT_H

#include "args.h"
#include "jerr.h"

/*
 * rlimit_check: the limits in (a) can be installed: no-file is at most
 * fs.nr_open. Part of validation, before anything is created. 0 or -errno.
 */
int rlimit_check(const struct jailer_args *a, struct jerr *e);

/*
 * rlimit_apply: set RLIMIT_NOFILE (ARGS_DEFAULT_NOFILE unless given) and,
 * if given, RLIMIT_FSIZE, soft = hard, for the jailer and the monitor it
 * becomes. Hard limits only go down: the monitor cannot raise them.
 * Returns 0 or -errno.
 */
int rlimit_apply(const struct jailer_args *a, struct jerr *e);

#endif
