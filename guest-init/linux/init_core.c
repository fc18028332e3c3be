// SPDX-License-Identifier: Apache-2.0
/*
 * init_core.c: guest-init's logic, on top of struct init_ops (init.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "init.h"
#include "layout.h"

static void say(const struct init_ops *ops, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const struct init_ops *ops, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ops->log(line);
}

int init_mount_all(const struct init_ops *ops)
{
	static const struct {
		const char *source, *target, *fstype;
	} mounts[] = {
	    {"proc", "/proc", "proc"},
	    {"sysfs", "/sys", "sysfs"},
	    {"devtmpfs", "/dev", "devtmpfs"},
	};
	int failed = 0;

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		int r = ops->mkdir(mounts[i].target);

		if (r < 0 && r != -EEXIST)
			say(ops, "init: mkdir %s: %s", mounts[i].target, strerror(-r));
		r = ops->mount(mounts[i].source, mounts[i].target, mounts[i].fstype);
		/* EBUSY: already mounted (e.g. devtmpfs by the kernel). */
		if (r < 0 && r != -EBUSY) {
			say(ops, "init: mount %s on %s: %s", mounts[i].fstype, mounts[i].target,
			    strerror(-r));
			failed++;
		}
	}
	return failed;
}

int init_boot_done(const struct init_ops *ops)
{
	int r = ops->mmio_write8(LAYOUT_BOOT_TIMER_ADDR, LAYOUT_BOOT_TIMER_MAGIC);

	if (r == 0)
		return 0;
	/* No /dev/mem (or it refused the page): the older port boot timer. */
	r = ops->port_write8(LAYOUT_BOOT_TIMER_PORT, LAYOUT_BOOT_TIMER_MAGIC);
	if (r < 0)
		say(ops, "init: boot timer: %s", strerror(-r));
	return r;
}

int init_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus)) {
		int s = 128 + WTERMSIG(wstatus);

		return s > 255 ? 255 : s;
	}
	return INIT_STATUS_LOST;
}

void init_finish(const struct init_ops *ops, int status)
{
	int r;

	/* Before the exit port: it may end the VM at once, page cache and all. */
	ops->sync();
	r = ops->port_write8(LAYOUT_EXIT_PORT, (uint8_t)status);
	if (r < 0)
		say(ops, "init: exit port: %s", strerror(-r));
	/* Still here: no exit port on this monitor. The i8042 reset stops it. */
	r = ops->reboot();
	say(ops, "init: reboot: %s", strerror(r < 0 ? -r : EINVAL));
}

/* Wait for (child), reaping every orphan that is handed to PID 1 meanwhile. */
static int wait_child(const struct init_ops *ops, pid_t child)
{
	for (;;) {
		int wstatus = 0;
		pid_t pid = ops->wait_any(&wstatus);

		if (pid == child)
			return init_exit_status(wstatus);
		if (pid == -EINTR || pid > 0)
			continue;
		say(ops, "init: wait: %s", strerror(pid < 0 ? -pid : EINVAL));
		return INIT_STATUS_LOST;
	}
}

int init_main(const struct init_ops *ops, int argc, char *argv[])
{
	static char *shell[] = {INIT_SHELL, NULL};
	char **cmd = shell;
	int status, interactive;
	pid_t child;

	init_mount_all(ops);
	if (setenv("PATH", INIT_PATH, 1) < 0)
		say(ops, "init: setenv PATH: %s", strerror(errno));
	init_boot_done(ops);

	interactive = ops->console();
	if (argc > 1)
		cmd = argv + 1;
	else if (!interactive)
		say(ops, "init: no command and no console: running %s anyway", INIT_SHELL);

	child = ops->spawn(cmd);
	if (child < 0) {
		say(ops, "init: cannot start %s: %s", cmd[0], strerror(-child));
		status = INIT_STATUS_NOSTART;
	} else {
		status = wait_child(ops, child);
	}
	init_finish(ops, status);
	return status;
}
