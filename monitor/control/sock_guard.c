// SPDX-License-Identifier: Apache-2.0
/*
 * sock_guard.c: removes the API socket file when ember ends, although the
 * VMM thread's seccomp filter has no unlink (it cannot create, truncate or
 * delete files). A small thread, started before any filter, keeps the
 * socket's directory open and confines itself to read, futex and
 * unlinkat/newfstatat on that one directory fd; at exit it removes the file
 * if it is still the socket ember bound (same device and inode).
 *
 * Its filter is built here rather than by seccomp_gen.c: it depends on a
 * file descriptor known only at run time.
 */
#include "sock_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NS_PER_MS 1000000ULL

/* The guard's filter: what it needs, unlinkat/newfstatat only in its directory. */
#define GUARD_MAX_INSNS 32
/* Its commands, and what it reports in (done). */
#define GUARD_UNLINK 'u'
#define GUARD_KEEP   'k'
#define GUARD_DONE   1
#define GUARD_FAILED (-1)
/* How long api_server_close waits for it: steps of GUARD_WAIT_STEP_MS. */
#define GUARD_WAIT_STEP_MS 10
#define GUARD_WAIT_STEPS   100

/*
 * guard_filter: build the guard thread's seccomp program into (f) for
 * directory fd (dir_fd). Anything else fails with EPERM (the guard checks
 * what it calls; nothing it does not call can matter). Returns its length.
 */
static unsigned short guard_filter(struct sock_filter *f, int dir_fd)
{
	static const int plain[] = {
	    __NR_read,	/* the command */
	    __NR_futex, /* report, then park for good */
	};
	static const int in_dir[] = {__NR_unlinkat, __NR_newfstatat};
	const unsigned short nplain = sizeof(plain) / sizeof(plain[0]);
	const unsigned short ndir = sizeof(in_dir) / sizeof(in_dir[0]);
	unsigned short n = 0;
	/* Layout: arch check (3), load nr (1), plain tests, dir tests, deny, fd check (2), allow,
	 * deny. */
	const unsigned short first_test = 4;
	const unsigned short deny1 = first_test + nplain + ndir;
	const unsigned short check_fd = deny1 + 1;
	const unsigned short allow = check_fd + 2;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (unsigned short i = 0; i < nplain; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)plain[i],
						    (uint8_t)(allow - n - 1), 0);
	for (unsigned short i = 0; i < ndir; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)in_dir[i],
						    (uint8_t)(check_fd - n - 1), 0);
	if (n != deny1)
		return 0; /* cannot happen: the layout above is fixed */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	/* The kernel takes the directory fd as an int: its low 32 bits decide. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[0]));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)dir_fd, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	return n;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* same_socket: (name) in (dir_fd) is still the socket (dev, ino). */
static bool same_socket(int dir_fd, const char *name, dev_t dev, ino_t ino)
{
	struct stat st;

	return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == dev && st.st_ino == ino;
}

/* futex: the raw call (the C library has no wrapper); the guard's filter allows it. */
static long futex(int *word, int op, int val, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

/* guard_report: tell sock_guard_stop the guard is through ((result) for g->done). */
static void guard_report(struct sock_guard *g, int result)
{
	__atomic_store_n(&g->done, result, __ATOMIC_RELEASE);
	futex(&g->done, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/*
 * guard_main: confine this thread, wait for its one command (a byte, or
 * end of file), act on it, report, then park until the process ends: a
 * thread exit (the C library's, a sanitizer's) wants more than the filter
 * allows. Unconfined (the filter failed), it reports and returns at once.
 */
static void *guard_main(void *arg)
{
	struct sock_guard *g = arg;
	struct sock_filter insns[GUARD_MAX_INSNS];
	struct sock_fprog prog = {.len = guard_filter(insns, g->dir_fd), .filter = insns};
	int parked = 0;
	char cmd = 0;

	/* A name of its own beside Firecracker's (fc_vcpu N), before the filter: no prctl after. */
	prctl(PR_SET_NAME, SOCK_GUARD_THREAD_NAME);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		guard_report(g, GUARD_FAILED);
		return NULL;
	}
	while (read(g->read_fd, &cmd, 1) < 0 && errno == EINTR)
		;
	if (cmd == GUARD_UNLINK && same_socket(g->dir_fd, g->name, g->dev, g->ino))
		unlinkat(g->dir_fd, g->name, 0);
	guard_report(g, GUARD_DONE); /* (g) may be gone once this returns */
	for (;;)
		futex(&parked, FUTEX_WAIT_PRIVATE, 0, NULL);
	return NULL;
}

/*
 * guard_start: remember which socket (path) is ours and start its guard.
 * The file is removed by api_server_close without it too, as long as the
 * caller may unlink; so failures here only log.
 */
void sock_guard_start(struct sock_guard *g, const char *path)
{
	char dir[sizeof(g->name)], base[sizeof(g->name)];
	int fds[2];
	struct stat st;

	g->dir_fd = g->read_fd = g->cmd_fd = -1;
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	snprintf(g->name, sizeof(g->name), "%s", basename(base));
	g->dir_fd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g->dir_fd < 0 || fstatat(g->dir_fd, g->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		log_warn_errno(errno, "api: '%s': the socket file will stay after exit", path);
		return;
	}
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	g->known = true;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return;
	g->read_fd = fds[0];
	g->cmd_fd = fds[1];
	/* Signals are for the threads that handle them, never this one: block all in it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	g->done = 0;
	int ret = pthread_create(&g->thread, NULL, guard_main, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret == 0)
		pthread_detach(g->thread);
	if (ret != 0) {
		log_warn(
		    "api: no guard thread: the socket file stays after the VM ran under seccomp");
		return;
	}
	g->running = true;
}

/* guard_stop: remove the socket file if it is still ours, then release the guard. */
void sock_guard_stop(struct sock_guard *g, bool unlink_file, bool may_unlink)
{
	bool done = false;

	if (g->running) {
		const char cmd = unlink_file ? GUARD_UNLINK : GUARD_KEEP;
		const struct timespec step = {.tv_nsec = (long)(GUARD_WAIT_STEP_MS * NS_PER_MS)};
		int result = 0;
		if (write(g->cmd_fd, &cmd, 1) == 1)
			for (int i = 0; i < GUARD_WAIT_STEPS; i++) {
				result = __atomic_load_n(&g->done, __ATOMIC_ACQUIRE);
				if (result != 0)
					break;
				futex(&g->done, FUTEX_WAIT_PRIVATE, 0, &step);
			}
		done = result == GUARD_DONE;
		g->running = false;
	}
	if (!done && unlink_file && may_unlink && g->known &&
	    same_socket(g->dir_fd, g->name, g->dev, g->ino))
		unlinkat(g->dir_fd, g->name, 0);
	g->known = false;
	close_fd(&g->dir_fd);
	close_fd(&g->read_fd);
	close_fd(&g->cmd_fd);
}
