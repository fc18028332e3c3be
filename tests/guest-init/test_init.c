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
#include <sys/stat.h>
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
	/* root=: /proc/cmdline, fake files (/sys), block devices, mounts */
	const char *cmdline; /* NULL: /proc/cmdline cannot be read */
	const char *files[8][2]; /* path, content */
	const char *blocks[8];	 /* names in /sys/class/block */
	const char *blkdev[4];	 /* paths that are block devices... */
	int appear_after;	 /* ...once this many sleeps happened */
	const char *regular[4];	 /* paths that are regular files */
	const char *fail_fstype; /* mounts of this type on /newroot fail... */
	int fail_ret;		 /* ...with this */
	const char *fail_op;	 /* a trace entry ("chroot .") that fails with fail_ret */
	int nsleep;
	unsigned slept_ms;
	int free_ret, exec_ret;
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

/* Fail with fk.fail_ret if (op) is fk.fail_op. */
static int fail_op(const char *op)
{
	return fk.fail_op && !strcmp(fk.fail_op, op) ? fk.fail_ret : 0;
}

static int fake_mount(const char *source, const char *target, const char *fstype,
		      unsigned long flags, const char *data)
{
	char op[160];

	if (flags & MS_MOVE) {
		snprintf(op, sizeof(op), "move %s %s", source, target);
		trace("%s;", op);
		return fail_op(op);
	}
	if (strcmp(target, INIT_NEWROOT)) {
		trace("mount %s %s;", fstype, target);
		return fk.mount_ret;
	}
	trace("mount %s %s %s%s%s%s;", fstype, source, target, flags & MS_RDONLY ? " ro" : "",
	      data ? " data=" : "", data ? data : "");
	return fk.fail_fstype && !strcmp(fk.fail_fstype, fstype) ? fk.fail_ret : 0;
}

static long fake_read_file(const char *path, char *buf, size_t size)
{
	const char *text = NULL;

	if (!strcmp(path, "/proc/cmdline")) {
		text = fk.cmdline;
	} else {
		for (int i = 0; i < 8 && fk.files[i][0]; i++)
			if (!strcmp(fk.files[i][0], path))
				text = fk.files[i][1];
	}
	if (!text)
		return -ENOENT;
	snprintf(buf, size, "%s", text);
	return (long)strlen(buf);
}

static int fake_list_dir(const char *path, int (*fn)(const char *name, void *arg), void *arg)
{
	int r = 0;

	trace("list %s;", path);
	if (strcmp(path, "/sys/class/block"))
		return -ENOENT;
	for (int i = 0; r == 0 && i < 8 && fk.blocks[i]; i++)
		r = fn(fk.blocks[i], arg);
	return r;
}

static int fake_stat_mode(const char *path, unsigned *mode)
{
	for (int i = 0; i < 4 && fk.blkdev[i]; i++)
		if (!strcmp(fk.blkdev[i], path) && fk.nsleep >= fk.appear_after) {
			*mode = S_IFBLK | 0600;
			return 0;
		}
	for (int i = 0; i < 4 && fk.regular[i]; i++)
		if (!strcmp(fk.regular[i], path)) {
			*mode = S_IFREG | 0755;
			return 0;
		}
	return -ENOENT;
}

static void fake_sleep_ms(unsigned ms)
{
	fk.nsleep++;
	fk.slept_ms += ms;
}

static int fake_chdir(const char *path)
{
	char op[80];

	snprintf(op, sizeof(op), "chdir %s", path);
	trace("%s;", op);
	return fail_op(op);
}

static int fake_chroot(const char *path)
{
	char op[80];

	snprintf(op, sizeof(op), "chroot %s", path);
	trace("%s;", op);
	return fail_op(op);
}

static int fake_free_initramfs(void)
{
	trace("free;");
	return fk.free_ret;
}

static int fake_exec(char *const argv[])
{
	trace("exec %s;", argv[0]);
	return fk.exec_ret;
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
    .read_file = fake_read_file,
    .list_dir = fake_list_dir,
    .stat_mode = fake_stat_mode,
    .sleep_ms = fake_sleep_ms,
    .chdir = fake_chdir,
    .chroot = fake_chroot,
    .free_initramfs = fake_free_initramfs,
    .exec = fake_exec,
};

static int reset(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.mkdir_ret = -EEXIST;
	fk.console = 1;
	fk.spawn_ret = 42;
	fk.reboot_ret = -EPERM;
	fk.cmdline = "console=ttyS0 reboot=k panic=-1 -- cmd";
	fk.blkdev[0] = "/dev/vda";
	fk.fail_ret = -EINVAL;
	fk.exec_ret = -ENOENT;
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

/* -------------------------------------------------------------- root= */

#define SWITCH_TAIL                                                                        \
	"move /dev /newroot/dev;move /proc /newroot/proc;move /sys /newroot/sys;"          \
	"chdir /newroot;free;move . /;chroot .;chdir /;"

static void test_parse_cmdline(void **state)
{
	struct init_root r;

	(void)state;
	assert_int_equal(init_parse_cmdline("console=ttyS0 quiet", &r), 0);
	assert_string_equal(r.dev, "");
	assert_string_equal(r.fstype, "ext4");
	assert_int_equal(r.readonly, 1); /* the kernel's default */
	assert_int_equal(r.wait_ms, INIT_ROOT_WAIT_MS);

	assert_int_equal(init_parse_cmdline("root=/dev/vdb rw rootfstype=xfs,ext4 "
					    "rootflags=\"data=ordered,noatime\" init=/bin/x "
					    "rootdelay=2 root=/dev/vda",
					    &r),
			 1);
	assert_string_equal(r.dev, "/dev/vda"); /* the last one wins */
	assert_string_equal(r.fstype, "xfs,ext4");
	assert_string_equal(r.data, "data=ordered,noatime");
	assert_string_equal(r.init, "/bin/x");
	assert_int_equal(r.readonly, 0);
	assert_int_equal(r.wait_ms, 2000);

	assert_int_equal(init_parse_cmdline("rw root=PARTUUID=ab-01 ro rootwait\n", &r), 1);
	assert_string_equal(r.dev, "PARTUUID=ab-01");
	assert_int_equal(r.readonly, 1);
	assert_int_equal(r.wait_ms, INIT_ROOT_WAIT_MAX_MS);
	assert_int_equal(init_parse_cmdline("rootdelay=99999 root=vda", &r), 1);
	assert_int_equal(r.wait_ms, INIT_ROOT_WAIT_MAX_MS);

	/* After " -- " the words are init's argv, not kernel options. */
	assert_int_equal(init_parse_cmdline("console=ttyS0 -- sh -c \"x root=/dev/vda\" root=/x",
					    &r),
			 0);
	assert_int_equal(init_parse_cmdline("rootfs=/dev/vda xroot=/dev/vdb rootfstype=", &r), 0);
	assert_string_equal(r.fstype, "ext4");
}

static void test_root_none_stays(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	assert_null(strstr(fk.trace, "/newroot"));
	assert_null(strstr(fk.trace, "chroot"));
	assert_null(strstr(fk.trace, "free;"));
	assert_non_null(strstr(fk.trace, "spawn;"));
	assert_null(strstr(fk.logs, "root"));
}

static void test_root_cmdline_unreadable(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = NULL;
	child_ends(EXITED(4));
	assert_int_equal(init_main(&fake_ops, 2, argv), 4);
	assert_null(strstr(fk.trace, "chroot"));
	assert_non_null(strstr(fk.logs, "init: /proc/cmdline: "));
}

static void test_root_vda_ro(void **state)
{
	char *argv[] = {"/init", "cmd", "arg", NULL};
	const char *p;

	(void)state;
	fk.cmdline = "console=ttyS0 root=/dev/vda ro -- cmd arg";
	child_ends(EXITED(6));
	assert_int_equal(init_main(&fake_ops, 3, argv), 6);
	/* Mounted ext4 read-only on /newroot, then the moves and the switch, in order. */
	p = after(fk.trace, "mount devtmpfs /dev;");
	assert_non_null(p);
	p = strstr(p, "mkdir /newroot;mount ext4 /dev/vda /newroot ro;" SWITCH_TAIL "spawn;");
	assert_non_null(p);
	/* The boot timer and the console come first; the command after the switch. */
	assert_true(strstr(fk.trace, "mmio ") < p);
	assert_int_equal(fk.nspawned, 2);
	assert_string_equal(fk.spawned[0], "cmd");
	assert_null(strstr(fk.trace, "exec"));
	assert_non_null(strstr(fk.logs, "init: switched to root=/dev/vda (/dev/vda, ro)\n"));
	assert_non_null(strstr(fk.trace, "port 0xf4 6;"));
	assert_int_equal(fk.nsleep, 0);
}

static void test_root_rw_fstype_flags(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=vda rw rootfstype=xfs,ext2 rootflags=noatime -- cmd";
	fk.fail_fstype = "xfs";
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	/* xfs fails (logged), ext2 works; no MS_RDONLY with rw; rootflags is the data. */
	assert_non_null(strstr(fk.trace, "mount xfs /dev/vda /newroot data=noatime;"
					  "mount ext2 /dev/vda /newroot data=noatime;" SWITCH_TAIL
					  "spawn;"));
	assert_non_null(strstr(fk.logs, "init: mount root /dev/vda (xfs) on /newroot: "));
}

static void test_root_partuuid(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=PARTUUID=0badcafe-02 -- cmd";
	fk.blocks[0] = "vda";
	fk.blocks[1] = "vda1";
	fk.blocks[2] = "vda2";
	fk.files[0][0] = "/sys/class/block/vda/uevent";
	fk.files[0][1] = "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=1\n";
	fk.files[1][0] = "/sys/class/block/vda1/uevent";
	fk.files[1][1] = "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\n"
			 "PARTN=1\nPARTUUID=0badcafe-01\n";
	fk.files[2][0] = "/sys/class/block/vda2/uevent";
	fk.files[2][1] = "MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\n"
			 "PARTN=2\nPARTUUID=0BADCAFE-02\n";
	fk.blkdev[1] = "/dev/vda2";
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	assert_non_null(strstr(fk.trace, "list /sys/class/block;mkdir /newroot;"
					  "mount ext4 /dev/vda2 /newroot ro;" SWITCH_TAIL));
}

static void test_root_find(void **state)
{
	char path[64];

	(void)state;
	fk.files[0][0] = "/sys/dev/block/254:1/uevent";
	fk.files[0][1] = "MAJOR=254\nMINOR=1\nDEVNAME=vda1\n";
	assert_int_equal(init_find_root(&fake_ops, "254:1", path, sizeof(path)), 0);
	assert_string_equal(path, "/dev/vda1");
	assert_int_equal(init_find_root(&fake_ops, "254:9", path, sizeof(path)), -ENOENT);
	assert_int_equal(init_find_root(&fake_ops, "/dev/vdb", path, sizeof(path)), 0);
	assert_string_equal(path, "/dev/vdb");
	assert_int_equal(init_find_root(&fake_ops, "vdc", path, sizeof(path)), 0);
	assert_string_equal(path, "/dev/vdc");
	assert_int_equal(init_find_root(&fake_ops, "PARTUUID=nope", path, sizeof(path)), -ENOENT);
	assert_int_equal(init_find_root(&fake_ops, "PARTUUID=", path, sizeof(path)), -EINVAL);
	assert_int_equal(init_find_root(&fake_ops, "PARTUUID=ab/PARTNROFF=1", path, sizeof(path)),
			 -EINVAL);
	assert_int_equal(init_find_root(&fake_ops, "UUID=1234", path, sizeof(path)), -EINVAL);
	assert_int_equal(init_find_root(&fake_ops, "LABEL=root", path, sizeof(path)), -EINVAL);
}

static void test_root_appears_late(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda -- cmd";
	fk.appear_after = 7;
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	assert_int_equal(fk.nsleep, 7);
	assert_non_null(strstr(fk.trace, "mount ext4 /dev/vda /newroot ro;"));
	assert_non_null(strstr(fk.logs, "init: waiting up to 5000 ms for root=/dev/vda\n"));
}

static void test_root_never_appears(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vdz -- cmd";
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
	/* Bounded: INIT_ROOT_WAIT_MS in INIT_ROOT_POLL_MS steps, then the exit port. */
	assert_int_equal(fk.slept_ms, INIT_ROOT_WAIT_MS);
	assert_int_equal(fk.nsleep, INIT_ROOT_WAIT_MS / INIT_ROOT_POLL_MS);
	assert_null(strstr(fk.trace, "/newroot"));
	assert_null(strstr(fk.trace, "spawn;"));
	assert_non_null(strstr(fk.trace, "sync;port 0xf4 127;reboot;"));
	assert_non_null(strstr(fk.logs, "init: root=/dev/vdz: no such block device after 5000 ms"));
	assert_non_null(strstr(fk.logs, "init: no root file system: exit status 127\n"));
}

static void test_root_delay_bounds_wait(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=PARTUUID=00-01 rootdelay=1 -- cmd";
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
	assert_int_equal(fk.slept_ms, 1000);
}

static void test_root_not_block(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=/dev/file rootdelay=0 -- cmd";
	fk.regular[0] = "/dev/file";
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
	assert_non_null(strstr(fk.logs, strerror(ENOTBLK)));
	assert_null(strstr(fk.trace, "mount ext4 /dev/file"));
}

static void test_root_unsupported(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=UUID=1234 -- cmd";
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
	assert_int_equal(fk.nsleep, 0); /* no waiting for what cannot appear */
	assert_non_null(strstr(fk.logs, "init: root=UUID=1234: not supported"));
	assert_non_null(strstr(fk.trace, "port 0xf4 127;"));
}

static void test_root_mount_fails(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda -- cmd";
	fk.fail_fstype = "ext4";
	assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
	assert_non_null(
	    strstr(fk.logs, "init: mount root /dev/vda (ext4, ro) on /newroot: Invalid argument\n"
			    "init: no root file system: exit status 127\n"));
	assert_null(strstr(fk.trace, "move"));
	assert_null(strstr(fk.trace, "chroot"));
	assert_null(strstr(fk.trace, "spawn;"));
	assert_non_null(strstr(fk.trace, "sync;port 0xf4 127;reboot;"));
}

static void test_root_move_missing_dir(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	/* The new root has no /sys: logged, the switch goes on. */
	fk.cmdline = "root=/dev/vda -- cmd";
	fk.fail_op = "move /sys /newroot/sys";
	fk.fail_ret = -ENOENT;
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	assert_non_null(strstr(fk.trace, SWITCH_TAIL "spawn;"));
	assert_non_null(strstr(fk.logs, "init: move /sys to /newroot/sys: "));
}

static void test_root_switch_steps_fail(void **state)
{
	static const char *const steps[] = {"move . /", "chroot .", "chdir /newroot", "chdir /"};
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		reset(NULL);
		fk.cmdline = "root=/dev/vda -- cmd";
		fk.fail_op = steps[i];
		fk.fail_ret = -EPERM;
		assert_int_equal(init_main(&fake_ops, 2, argv), INIT_STATUS_NOSTART);
		assert_null(strstr(fk.trace, "spawn;"));
		assert_non_null(strstr(fk.trace, "port 0xf4 127;"));
		assert_non_null(strstr(fk.logs, "init: no root file system"));
	}
}

static void test_root_free_refused_is_quiet(void **state)
{
	char *argv[] = {"/init", "cmd", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda -- cmd";
	fk.free_ret = -EPERM;
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 2, argv), 0);
	assert_null(strstr(fk.logs, "freeing"));
	assert_non_null(strstr(fk.trace, SWITCH_TAIL "spawn;"));
}

static void test_root_no_args_execs_sbin_init(void **state)
{
	char *argv[] = {"/init", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda rw";
	fk.regular[0] = "/sbin/init";
	fk.exec_ret = 0; /* only a test double returns from a successful exec */
	init_main(&fake_ops, 1, argv);
	assert_non_null(strstr(fk.trace, SWITCH_TAIL "exec /sbin/init;"));
	assert_null(strstr(fk.trace, "spawn;"));
}

static void test_root_no_args_init_option(void **state)
{
	char *argv[] = {"/init", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda init=/usr/lib/systemd/systemd";
	fk.exec_ret = -ENOENT;
	assert_int_equal(init_main(&fake_ops, 1, argv), INIT_STATUS_NOSTART);
	assert_non_null(strstr(fk.trace, SWITCH_TAIL "exec /usr/lib/systemd/systemd;"));
	assert_non_null(strstr(fk.logs, "init: exec /usr/lib/systemd/systemd: "));
	assert_null(strstr(fk.trace, "spawn;"));
	assert_non_null(strstr(fk.trace, "port 0xf4 127;"));
}

static void test_root_no_args_no_init_shell(void **state)
{
	char *argv[] = {"/init", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda";
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 1, argv), 0);
	assert_null(strstr(fk.trace, "exec"));
	assert_string_equal(fk.spawned[0], INIT_SHELL);
}

static void test_root_args_ignore_sbin_init(void **state)
{
	char *argv[] = {"/init", "fio", "job.fio", NULL};

	(void)state;
	fk.cmdline = "root=/dev/vda init=/sbin/init -- fio job.fio";
	fk.regular[0] = "/sbin/init";
	child_ends(EXITED(0));
	assert_int_equal(init_main(&fake_ops, 3, argv), 0);
	assert_null(strstr(fk.trace, "exec"));
	assert_string_equal(fk.spawned[0], "fio");
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

/* The host's /proc/cmdline must not send the test to its root=. */
static long rec_read_file(const char *path, char *buf, size_t size)
{
	if (!strcmp(path, "/proc/cmdline"))
		return (long)snprintf(buf, size, "console=ttyS0");
	return init_sys_ops.read_file(path, buf, size);
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
			ops.read_file = rec_read_file;
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
	    cmocka_unit_test_setup(test_parse_cmdline, reset),
	    cmocka_unit_test_setup(test_root_none_stays, reset),
	    cmocka_unit_test_setup(test_root_cmdline_unreadable, reset),
	    cmocka_unit_test_setup(test_root_vda_ro, reset),
	    cmocka_unit_test_setup(test_root_rw_fstype_flags, reset),
	    cmocka_unit_test_setup(test_root_partuuid, reset),
	    cmocka_unit_test_setup(test_root_find, reset),
	    cmocka_unit_test_setup(test_root_appears_late, reset),
	    cmocka_unit_test_setup(test_root_never_appears, reset),
	    cmocka_unit_test_setup(test_root_delay_bounds_wait, reset),
	    cmocka_unit_test_setup(test_root_not_block, reset),
	    cmocka_unit_test_setup(test_root_unsupported, reset),
	    cmocka_unit_test_setup(test_root_mount_fails, reset),
	    cmocka_unit_test_setup(test_root_move_missing_dir, reset),
	    cmocka_unit_test_setup(test_root_switch_steps_fail, reset),
	    cmocka_unit_test_setup(test_root_free_refused_is_quiet, reset),
	    cmocka_unit_test_setup(test_root_no_args_execs_sbin_init, reset),
	    cmocka_unit_test_setup(test_root_no_args_init_option, reset),
	    cmocka_unit_test_setup(test_root_no_args_no_init_shell, reset),
	    cmocka_unit_test_setup(test_root_args_ignore_sbin_init, reset),
	    cmocka_unit_test_setup(test_pid1_namespace, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
