// SPDX-License-Identifier: Apache-2.0
/*
 * test_init.c: guest-init's logic (guest-init/linux/init_core.c) through a
 * recording struct init_ops, plus one real run as PID 1 of a new PID and
 * mount namespace (root only; SKIP otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "init.h"
#include "layout.h"

/* ------------------------------------------------------------ recorder */

/* What the fake system does and what it saw. File scope: ops take no context. */
static struct fake {
	int mkdir_ret, mount_ret, mmio_ret, port_ret, console, reboot_ret;
	pid_t spawn_ret;
	/* wait_any returns these pids (and statuses) in turn, then -ECHILD. */
	pid_t wait_pids[8];
	int wait_status[8];
	int nwait, waited;
	char spawned[8][64];
	int nspawned;
	char trace[4096]; /* "op arg;" per call, in order */
	char logs[4096];  /* every logged line */
	int nlog;
} fk;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void trace(const char *fmt, ...)
{
	size_t len = strlen(fk.trace);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fk.trace + len, sizeof(fk.trace) - len, fmt, ap);
	va_end(ap);
}

static int fake_mkdir(const char *path)
{
	trace("mkdir %s;", path);
	return fk.mkdir_ret;
}

static int fake_mount(const char *source, const char *target, const char *fstype)
{
	(void)source;
	trace("mount %s %s;", fstype, target);
	return fk.mount_ret;
}

static int fake_mmio_write8(uint64_t addr, uint8_t val)
{
	trace("mmio %#llx %u;", (unsigned long long)addr, val);
	return fk.mmio_ret;
}

static int fake_port_write8(uint16_t port, uint8_t val)
{
	trace("port %#x %u;", port, val);
	return fk.port_ret;
}

static int fake_console(void)
{
	return fk.console;
}

static pid_t fake_spawn(char *const argv[])
{
	trace("spawn;");
	fk.nspawned = 0;
	for (int i = 0; argv[i] && i < 8; i++)
		snprintf(fk.spawned[fk.nspawned++], sizeof(fk.spawned[0]), "%s", argv[i]);
	return fk.spawn_ret;
}

static pid_t fake_wait_any(int *wstatus)
{
	if (fk.waited >= fk.nwait)
		return -ECHILD;
	*wstatus = fk.wait_status[fk.waited];
	return fk.wait_pids[fk.waited++];
}

static void fake_sync(void)
{
	trace("sync;");
}

static int fake_reboot(void)
{
	trace("reboot;");
	return fk.reboot_ret;
}

static void fake_log(const char *msg)
{
	size_t len = strlen(fk.logs);

	snprintf(fk.logs + len, sizeof(fk.logs) - len, "%s\n", msg);
	fk.nlog++;
}

static const struct init_ops fake_ops = {
    .mkdir = fake_mkdir,
    .mount = fake_mount,
    .mmio_write8 = fake_mmio_write8,
    .port_write8 = fake_port_write8,
    .console = fake_console,
    .spawn = fake_spawn,
    .wait_any = fake_wait_any,
    .sync = fake_sync,
    .reboot = fake_reboot,
    .log = fake_log,
};

static int reset(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.mkdir_ret = -EEXIST;
	fk.console = 1;
	fk.spawn_ret = 42;
	fk.reboot_ret = -EPERM;
	return 0;
}

/* The child (pid 42) exits with wait status (ws). */
static void child_ends(int ws)
{
	fk.wait_pids[fk.nwait] = 42;
	fk.wait_status[fk.nwait++] = ws;
}

static const char *after(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	return p ? p + strlen(needle) : NULL;
}

/* Wait statuses as the kernel encodes them (wait(2)). */
#define EXITED(code) (((code)&0xff) << 8)
#define KILLED(sig)  ((sig)&0x7f)

/* --------------------------------------------------------- status map */

static void test_status_exit(void **state)
{
	(void)state;
	assert_int_equal(init_exit_status(EXITED(0)), 0);
	assert_int_equal(init_exit_status(EXITED(1)), 1);
	assert_int_equal(init_exit_status(EXITED(42)), 42);
	assert_int_equal(init_exit_status(EXITED(255)), 255);
}

static void test_status_signal(void **state)
{
	(void)state;
	assert_int_equal(init_exit_status(KILLED(SIGKILL)), 128 + SIGKILL);
	assert_int_equal(init_exit_status(KILLED(SIGSEGV)), 139);
	assert_int_equal(init_exit_status(KILLED(SIGTERM)), 143);
	assert_int_equal(init_exit_status(KILLED(SIGKILL) | 0x80), 137); /* core dumped */
	assert_int_equal(init_exit_status(KILLED(SIGRTMAX)), 128 + SIGRTMAX);
	assert_true(init_exit_status(KILLED(SIGRTMAX)) <= 255);
}

static void test_status_other(void **state)
{
	(void)state;
	/* Stopped (0x7f low byte) is neither exited nor signalled. */
	assert_int_equal(init_exit_status((SIGSTOP << 8) | 0x7f), INIT_STATUS_LOST);
}

/* ---------------------------------------------------------- arguments */

static void test_args_command(void **state)
{
	char *argv[] = {"/init", "echo", "hello world", "-n", NULL};

	(void)state;
	child_ends(EXITED(3));
	assert_int_equal(init_main(&fake_ops, 4, argv), 3);
	assert_int_equal(fk.nspawned, 3);
	assert_string_equal(fk.spawned[0], "echo");
	assert_string_equal(fk.spawned[1], "hello world");
	assert_string_equal(fk.spawned[2], "-n");
	assert_string_equal(getenv("PATH"), INIT_PATH);
}

static void test_args_none_console(void **state)
{
	char *argv[] = {"/init", NULL};

	(void)state;
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 1, argv), 0);
	assert_int_equal(fk.nspawned, 1);
	assert_string_equal(fk.spawned[0], INIT_SHELL);
	assert_null(strstr(fk.logs, "no console"));
}

static void test_args_none_no_console(void **state)
{
	char *argv[] = {"/init", NULL};

	(void)state;
	fk.console = 0;
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 1, argv), 0);
	assert_int_equal(fk.nspawned, 1);
	assert_string_equal(fk.spawned[0], INIT_SHELL);
	/* It says it runs the shell anyway. */
	assert_non_null(
	    strstr(fk.logs, "init: no command and no console: running /bin/sh anyway\n"));
}

static void test_spawn_fails(void **state)
{
	char *argv[] = {"/init", "nonexistent", NULL};

	(void)state;
	fk.spawn_ret = -ENOMEM;
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
	assert_non_null(strstr(fk.trace, "port 0xf4 127;"));
}

/* ------------------------------------------------------------ reaping */

static void test_reaps_orphans(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	/* Two orphans and an EINTR come back before the child itself. */
	fk.wait_pids[0] = 100;
	fk.wait_status[0] = EXITED(9);
	fk.wait_pids[1] = -EINTR;
	fk.wait_pids[2] = 101;
	fk.wait_status[2] = KILLED(SIGKILL);
	fk.nwait = 3;
	child_ends(EXITED(5));
	assert_int_equal(init_main(&fake_ops, 2, argv), 5);
	assert_int_equal(fk.waited, 4);
}

static void test_child_lost(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	/* wait_any says ECHILD before the child was ever seen. */
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_LOST);
	assert_non_null(strstr(fk.trace, "port 0xf4 255;"));
}

/* ------------------------------------------------------ mounts, timer */

static void test_mounts(void **state)
{
	(void)state;
	assert_int_equal(init_mount_all(&fake_ops), 0);
	assert_string_equal(fk.trace, "mkdir /proc;mount proc /proc;"
				      "mkdir /sys;mount sysfs /sys;"
				      "mkdir /dev;mount devtmpfs /dev;");
	assert_int_equal(fk.nlog, 0);
}

static void test_mounts_ebusy_tolerated(void **state)
{
	(void)state;
	fk.mount_ret = -EBUSY;
	assert_int_equal(init_mount_all(&fake_ops), 0);
	assert_int_equal(fk.nlog, 0);
}

static void test_mounts_fail_go_on(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.mount_ret = -ENODEV;
	fk.mkdir_ret = -EROFS;
	assert_int_equal(init_mount_all(&fake_ops), 3);
	assert_int_equal(fk.nlog, 6);
	/* The command still runs. */
	child_ends(EXITED(0));
	fk.trace[0] = '\0';
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	assert_non_null(strstr(fk.trace, "spawn;"));
}

static void test_boot_timer_mmio(void **state)
{
	char want[64];

	(void)state;
	assert_int_equal(init_boot_done(&fake_ops), 0);
	snprintf(want, sizeof(want), "mmio %#llx %u;", (unsigned long long)LAYOUT_BOOT_TIMER_ADDR,
		 LAYOUT_BOOT_TIMER_MAGIC);
	assert_string_equal(fk.trace, want);
}

static void test_boot_timer_port_fallback(void **state)
{
	char want[64];

	(void)state;
	fk.mmio_ret = -ENOENT;
	assert_int_equal(init_boot_done(&fake_ops), 0);
	snprintf(want, sizeof(want), "port %#x %u;", LAYOUT_BOOT_TIMER_PORT,
		 LAYOUT_BOOT_TIMER_MAGIC);
	assert_non_null(strstr(fk.trace, want));
	assert_ptr_equal(strstr(fk.trace, "mmio"), fk.trace); /* mmio first */
	assert_int_equal(fk.nlog, 0);
}

static void test_boot_timer_both_fail(void **state)
{
	(void)state;
	fk.mmio_ret = -ENOENT;
	fk.port_ret = -EPERM;
	assert_int_equal(init_boot_done(&fake_ops), -EPERM);
	assert_int_equal(fk.nlog, 1);
}

static void test_boot_timer_before_command(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};
	const char *timer, *spawn;

	(void)state;
	child_ends(EXITED(0));
	init_main(&fake_ops, 2, argv);
	timer = strstr(fk.trace, "mmio ");
	spawn = strstr(fk.trace, "spawn;");
	assert_non_null(timer);
	assert_non_null(spawn);
	assert_true(timer < spawn);
	assert_true(strstr(fk.trace, "mount devtmpfs /dev;") < timer);
}

/* -------------------------------------------------------------- finish */

static void test_finish_order(void **state)
{
	char want[64];

	(void)state;
	init_finish(&fake_ops, 7);
	snprintf(want, sizeof(want), "sync;port %#x 7;reboot;", LAYOUT_EXIT_PORT);
	assert_string_equal(fk.trace, want);
}

static void test_finish_exit_port_fails(void **state)
{
	const char *p;

	(void)state;
	fk.port_ret = -EPERM;
	init_finish(&fake_ops, 1);
	/* Reboot is still tried, after the failed port write; both logged. */
	p = after(fk.trace, "port 0xf4 1;");
	assert_non_null(p);
	assert_string_equal(p, "reboot;");
	assert_int_equal(fk.nlog, 2);
}

static void test_finish_status_byte(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	child_ends(KILLED(SIGSEGV));
	assert_int_equal(init_main(&fake_ops, 2, argv), 139);
	assert_non_null(strstr(fk.trace, "sync;port 0xf4 139;reboot;"));
}

/* ------------------------------------------- real run as PID 1 (root) */

/*
 * The recorder for the namespace run: the real init_sys_ops for mounts,
 * spawn and wait, but ports, /dev/mem, sync and reboot are written as lines
 * to a pipe, so nothing reaches the host's hardware.
 */
static int rec_fd = -1;

static void rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void rec(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(rec_fd, line, (size_t)n) < 0)
		_exit(99);
}

static int rec_mmio_write8(uint64_t addr, uint8_t val)
{
	rec("mmio %#llx %u pid %d\n", (unsigned long long)addr, val, (int)getpid());
	return 0;
}

static int rec_port_write8(uint16_t port, uint8_t val)
{
	rec("port %#x %u\n", port, val);
	return 0;
}

static pid_t rec_wait_any(int *wstatus)
{
	pid_t pid = init_sys_ops.wait_any(wstatus);

	rec("wait %d\n", (int)pid);
	return pid;
}

static void rec_sync(void)
{
	rec("sync\n");
}

static int rec_reboot(void)
{
	rec("reboot\n");
	return -ENOSYS;
}

static void rec_log(const char *msg)
{
	rec("log %s\n", msg);
}

static void test_pid1_namespace(void **state)
{
	/* The subshell leaves an orphan that PID 1 must reap before sh exits 7. */
	char *argv[] = {"/init", "sh", "-c", "(sh -c 'exit 3' &) ; sleep 0.3; exit 7", NULL};
	struct init_ops ops = init_sys_ops;
	char buf[4096];
	size_t len = 0;
	int fds[2], ws, waits = 0;
	ssize_t n;
	pid_t pid;

	(void)state;
	if (geteuid() != 0) {
		printf("SKIP: test_pid1_namespace needs root (unshare PID + mount namespace)\n");
		skip();
	}
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		rec_fd = fds[1];
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
			rec("unshare failed %d\n", errno);
			_exit(77);
		}
		/* Keep our /proc, /sys and /dev mounts out of the host's tree. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(98);
		pid = fork();
		if (pid == 0) {
			/* No terminal: spawn must not take the host's tty. */
			int null = open("/dev/null", O_RDWR);

			if (null < 0 || dup2(null, STDIN_FILENO) < 0)
				_exit(95);
			ops.mmio_write8 = rec_mmio_write8;
			ops.port_write8 = rec_port_write8;
			ops.wait_any = rec_wait_any;
			ops.sync = rec_sync;
			ops.reboot = rec_reboot;
			ops.log = rec_log;
			_exit(init_main(&ops, 5, argv));
		}
		if (pid < 0 || waitpid(pid, &ws, 0) != pid)
			_exit(97);
		_exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 96);
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 77) {
		printf("SKIP: test_pid1_namespace: unshare: %s", buf);
		skip();
	}
	print_message("%s", buf);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 7);
	/* It ran as PID 1, signalled boot, reaped the orphan, reported 7. */
	assert_non_null(strstr(buf, "mmio 0xc0000000 123 pid 1\n"));
	for (const char *p = buf; (p = strstr(p, "wait ")); p++)
		waits++;
	assert_true(waits >= 2);
	assert_non_null(strstr(buf, "sync\nport 0xf4 7\nreboot\n"));
	assert_null(strstr(buf, "log init: mount"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_status_exit, reset),
	    cmocka_unit_test_setup(test_status_signal, reset),
	    cmocka_unit_test_setup(test_status_other, reset),
	    cmocka_unit_test_setup(test_args_command, reset),
	    cmocka_unit_test_setup(test_args_none_console, reset),
	    cmocka_unit_test_setup(test_args_none_no_console, reset),
	    cmocka_unit_test_setup(test_spawn_fails, reset),
	    cmocka_unit_test_setup(test_reaps_orphans, reset),
	    cmocka_unit_test_setup(test_child_lost, reset),
	    cmocka_unit_test_setup(test_mounts, reset),
	    cmocka_unit_test_setup(test_mounts_ebusy_tolerated, reset),
	    cmocka_unit_test_setup(test_mounts_fail_go_on, reset),
	    cmocka_unit_test_setup(test_boot_timer_mmio, reset),
	    cmocka_unit_test_setup(test_boot_timer_port_fallback, reset),
	    cmocka_unit_test_setup(test_boot_timer_both_fail, reset),
	    cmocka_unit_test_setup(test_boot_timer_before_command, reset),
	    cmocka_unit_test_setup(test_finish_order, reset),
	    cmocka_unit_test_setup(test_finish_exit_port_fails, reset),
	    cmocka_unit_test_setup(test_finish_status_byte, reset),
	    cmocka_unit_test_setup(test_pid1_namespace, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
