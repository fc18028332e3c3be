// SPDX-License-Identifier: Apache-2.0
/* rlimit.c: resource limits for the jailed monitor. */
#include "rlimit.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

static uint64_t nofile(const struct jailer_args *a)
{
	return a->nofile.set ? a->nofile.value : ARGS_DEFAULT_NOFILE;
}

int rlimit_check(const struct jailer_args *a, struct jerr *e)
{
	unsigned long long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (!f)
		return 0;	/* setrlimit will say so, if it matters */
	if (fscanf(f, "%llu", &nr_open) != 1)
		nr_open = 0;
	fclose(f);
	if (nr_open && nofile(a) > nr_open)
		return jerr_set(e, -EINVAL, "no-file=%llu is above fs.nr_open (%llu)",
				(unsigned long long)nofile(a), nr_open);
	return 0;
}

int rlimit_apply(const struct jailer_args *a, struct jerr *e)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = (rlim_t)nofile(a);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return jerr_set(e, -errno, "setrlimit no-file=%llu", (unsigned long long)rl.rlim_cur);
	if (a->fsize.set) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)a->fsize.value;
		if (setrlimit(RLIMIT_FSIZE, &rl))
			return jerr_set(e, -errno, "setrlimit fsize=%llu",
					(unsigned long long)rl.rlim_cur);
	}
	return 0;
}
