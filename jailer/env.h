/* SPDX-License-Identifier: Apache-2.0 */
/* env.h: what the jailer inherits and drops first: fds, environment, netns. */
#ifndef JAILER_ENV_H
#define JAILER_ENV_H

#include "jerr.h"

/*
 * env_close_fds: close every fd above 2, so nothing the caller left open
 * reaches the jail (close_range, else a walk of /proc/self/fd).
 * Call first, before the jailer opens anything itself. Returns 0 or -errno.
 */
int env_close_fds(struct jerr *e);

/* env_clear: empty the environment (the monitor is exec'd with none). */
int env_clear(struct jerr *e);

/*
 * env_open_netns: open (path) and check it is a network namespace handle.
 * Returns an O_CLOEXEC fd, or -errno.
 */
int env_open_netns(const char *path, struct jerr *e);

/* env_join_netns: setns(fd, CLONE_NEWNET) and close (fd). Returns 0 or -errno. */
int env_join_netns(int fd, const char *path, struct jerr *e);

/* env_now_us: CLOCK_MONOTONIC in microseconds; env_cpu_us: this process's CPU time. */
unsigned long long env_now_us(void);
unsigned long long env_cpu_us(void);

#endif
