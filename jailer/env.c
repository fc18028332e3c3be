// SPDX-License-Identifier: Apache-2.0
/* env.c: inherited fds, the environment, the network namespace, clocks. */
#include "env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int env_close_fds(struct jerr *e)
{
	DIR *d;
	struct dirent *de;
	int dfd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return 0;
#endif
	/* Older kernels: walk /proc/self/fd, skipping the walk's own fd. */
	d = opendir("/proc/self/fd");
	if (!d)
		return jerr_set(e, -errno, "close_range, then opendir /proc/self/fd");
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd > 2 && fd != dfd)
			close(fd);
	}
	closedir(d);
	return 0;
}

int env_clear(struct jerr *e)
{
	if (clearenv())
		return jerr_set(e, -ENOMEM, "clearenv");
	return 0;
}

int env_open_netns(const char *path, struct jerr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int type;

	if (fd < 0)
		return jerr_set(e, -errno, "open %s", path);
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		int rc = type < 0 ? -errno : -EINVAL;

		close(fd);
		if (rc == -ENOTTY)
			rc = -EINVAL;
		return jerr_set(e, rc, "%s is not a network namespace handle", path);
	}
	return fd;
}

int env_join_netns(int fd, const char *path, struct jerr *e)
{
	int rc = 0;

	if (setns(fd, CLONE_NEWNET))
		rc = jerr_set(e, -errno, "setns %s", path);
	close(fd);
	return rc;
}

static unsigned long long clock_us(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

unsigned long long env_now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

unsigned long long env_cpu_us(void)
{
	return clock_us(CLOCK_PROCESS_CPUTIME_ID);
}
