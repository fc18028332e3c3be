/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sock_guard.h: a thread that removes a Unix socket file at exit, after
 * seccomp filters that forbid unlink are on. See sock_guard.c.
 */
#ifndef EMBER_SOCK_GUARD_H
#define EMBER_SOCK_GUARD_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* The guard thread's name in /proc/PID/task/TID/comm (at most 15 bytes). */
#define SOCK_GUARD_THREAD_NAME "ember_sockguard"

/* The guard of one socket file; zeroed fds are -1 before sock_guard_start. */
struct sock_guard {
	pthread_t thread; /* detached; parked for good once it has acted */
	bool running;
	int done;    /* futex word: 0 until it has acted (or could not confine itself) */
	bool known;  /* (dev, ino) are the socket we bound */
	int read_fd; /* its pipe: one byte says unlink or keep; then it ends */
	int cmd_fd;
	int dir_fd;	/* O_PATH of the socket's directory */
	char name[108]; /* the socket's name in it */
	dev_t dev;
	ino_t ino;
};

/*
 * sock_guard_start: remember that the socket at (path), just bound, is ours
 * and start its guard. Call before any seccomp filter. Failures only log:
 * sock_guard_stop can still remove the file when the caller may unlink.
 */
void sock_guard_start(struct sock_guard *g, const char *path);

/*
 * sock_guard_stop: if (unlink_file), remove the socket file when it is
 * still ours: through the guard, or directly when the guard is not running
 * and (may_unlink) says the calling thread's filter (if any) allows it.
 * Releases the guard's fds; the thread itself stays parked.
 */
void sock_guard_stop(struct sock_guard *g, bool unlink_file, bool may_unlink);

#endif
