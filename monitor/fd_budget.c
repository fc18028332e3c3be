// SPDX-License-Identifier: Apache-2.0
/* fd_budget.c: the fds a guest may make ember hold (see fd_budget.h). */
#include "fd_budget.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

void fd_budget_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_debug("fd budget: cannot raise the soft RLIMIT_NOFILE");
}

unsigned long fd_budget_spare(unsigned int reserve)
{
	struct rlimit rl;
	int probe;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	/* The lowest free number: how many fds are open, when none was closed. */
	probe = eventfd(0, EFD_CLOEXEC);
	if (probe < 0)
		return 0;
	close(probe);
	if (rl.rlim_cur == RLIM_INFINITY)
		return (unsigned long)-1;
	if (rl.rlim_cur <= (rlim_t)probe + reserve)
		return 0;
	return (unsigned long)(rl.rlim_cur - (rlim_t)probe - reserve);
}
