/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.h: guest-init, the PID 1 of ember's Linux guests, as testable logic.
 *
 * init_main() does the work (mounts, boot timer, run the command, reap,
 * report the exit status, stop the VM) and touches the system only through
 * a struct init_ops: init_sys.c fills it with the real system calls,
 * tests/guest-init/test_init.c with a recorder.
 */
#ifndef EMBER_GUEST_INIT_H
#define EMBER_GUEST_INIT_H

#include <stdint.h>
#include <sys/types.h>

/* PATH the command is looked up in (execvp). */
#define INIT_PATH "/bin:/sbin:/usr/bin:/usr/sbin"
/* Run when the kernel passed init no arguments. */
#define INIT_SHELL "/bin/sh"
/*
 * Exit status when the command could not be started at all: not found, no
 * root file system (root= could not be found, mounted or switched to).
 */
#define INIT_STATUS_NOSTART 127
/* Exit status when the command vanished without a wait status. */
#define INIT_STATUS_LOST 255

/* Where root= is mounted before it becomes "/". */
#define INIT_NEWROOT "/newroot"
/* rootfstype= when the command line has none. */
#define INIT_ROOT_FSTYPE "ext4"
/* How long root= may take to appear: default, with `rootwait`, poll step. */
#define INIT_ROOT_WAIT_MS     5000u
#define INIT_ROOT_WAIT_MAX_MS 60000u
#define INIT_ROOT_POLL_MS     10u
/* Run after a switch when there are no arguments, if the new root has it. */
#define INIT_ROOT_INIT "/sbin/init"

/*
 * The seam between the logic and the system. Every member returns 0 (or a
 * pid) on success and -errno on failure unless it says otherwise.
 */
struct init_ops {
	/* mkdir (path), mode 0755; -EEXIST is fine for the caller. */
	int (*mkdir)(const char *path);
	/*
	 * mount (fstype) from (source) on (target) with mount(2) (flags)
	 * (MS_RDONLY, MS_MOVE) and (data) (NULL for none).
	 */
	int (*mount)(const char *source, const char *target, const char *fstype,
		     unsigned long flags, const char *data);
	/* Store the byte (val) at guest-physical (addr) (through /dev/mem). */
	int (*mmio_write8)(uint64_t addr, uint8_t val);
	/* Write the byte (val) to I/O port (port) (ioperm + outb). */
	int (*port_write8)(uint16_t port, uint8_t val);
	/*
	 * Make sure fds 0-2 are open (on /dev/console if the kernel could not
	 * open it before /dev was mounted); nonzero when stdin is a terminal.
	 */
	int (*console)(void);
	/* Start (argv) (NULL-terminated) as a child; return its pid. */
	pid_t (*spawn)(char *const argv[]);
	/* Wait for any child; store its wait status in (*wstatus), return its pid. */
	pid_t (*wait_any)(int *wstatus);
	/* Flush file systems to their devices; cannot fail. */
	void (*sync)(void);
	/* Restart the machine (RB_AUTOBOOT): returns only on failure. */
	int (*reboot)(void);
	/* Print one line (msg, no newline) on the console. */
	void (*log)(const char *msg);

	/* ---- root= (init_switch_root) */
	/*
	 * Read at most (size - 1) bytes of the file (path) into (buf) and
	 * NUL-terminate them; return the length.
	 */
	long (*read_file)(const char *path, char *buf, size_t size);
	/*
	 * Call (fn)(name, arg) for each entry of the directory (path) but "."
	 * and "..", until (fn) returns nonzero; return that value, or 0.
	 */
	int (*list_dir)(const char *path, int (*fn)(const char *name, void *arg), void *arg);
	/* stat(2) (path), following symlinks; store its st_mode in (*mode). */
	int (*stat_mode)(const char *path, unsigned *mode);
	/* Sleep (ms) milliseconds; cannot fail. */
	void (*sleep_ms)(unsigned ms);
	int (*chdir)(const char *path);
	int (*chroot)(const char *path);
	/*
	 * Delete the initramfs's files before the switch (from the current
	 * directory's point of view they are "/", the new root is cwd), as
	 * busybox switch_root does, without crossing into other file systems.
	 * Refuses (-EPERM) unless this is PID 1 on a ramfs/tmpfs root.
	 */
	int (*free_initramfs)(void);
	/* Replace this process with (argv) (execvp); returns only on failure. */
	int (*exec)(char *const argv[]);
};

/* What the kernel command line says about the root file system. */
struct init_root {
	char dev[256];	  /* root=: /dev/vda, vda, PARTUUID=..., MAJ:MIN; "" for none */
	char fstype[64];  /* rootfstype=, a comma-separated list; INIT_ROOT_FSTYPE */
	char data[256];	  /* rootflags= (mount data), "" for none */
	char init[256];	  /* init=: run after the switch when argv has no command */
	int readonly;	  /* 1 unless `rw` (like the kernel: `ro` is the default) */
	unsigned wait_ms; /* rootdelay=N s, `rootwait`: INIT_ROOT_WAIT_MAX_MS */
};

/*
 * init_parse_cmdline: fill (root) from the kernel command line (cmdline),
 * up to " -- " (what follows is init's argv). The last of a repeated
 * option wins; a value may be in double quotes. Returns 1 if it has root=,
 * else 0.
 */
int init_parse_cmdline(const char *cmdline, struct init_root *root);

/*
 * init_find_root: the device node for root= (spec) into (path): /dev/... as
 * is, a bare name under /dev, MAJ:MIN through /sys/dev/block/MAJ:MIN/uevent,
 * PARTUUID=... by scanning /sys/class/block/<dev>/uevent for that PARTUUID=
 * (case-insensitive), whose DEVNAME= names the node. Returns 0, -ENOENT
 * when nothing matches (yet), -EINVAL for a form it does not know (UUID=,
 * LABEL=).
 */
int init_find_root(const struct init_ops *ops, const char *spec, char *path, size_t size);

/*
 * init_switch_root: if /proc/cmdline has root=, wait (bounded by wait_ms)
 * for its block device, mount it on INIT_NEWROOT, move /dev, /proc and /sys
 * into it, free the initramfs, make it "/" (chdir, MS_MOVE onto "/",
 * chroot ".", chdir "/"). Fills (root) either way. Returns 0 when there is
 * no root= (nothing done), 1 after a switch, -errno (logged) on failure.
 */
int init_switch_root(const struct init_ops *ops, struct init_root *root);

/*
 * init_main: run guest-init with (ops) and the arguments the kernel passed
 * (argc, argv): argv[1..] is the command (the words after " -- " on the
 * kernel command line); none means INIT_SHELL. With root= on the command
 * line it first switches to that file system (init_switch_root); then
 * without a command it execs init= or INIT_ROOT_INIT if the new root has it
 * (guest-init is replaced: that init owns the VM from there). A failed
 * switch ends the VM with INIT_STATUS_NOSTART. Returns only when neither
 * the exit port nor the reboot stopped the VM, with the command's exit
 * status; main() then returns it and the kernel panics on PID 1's exit,
 * which with panic=N also ends the VM.
 */
int init_main(const struct init_ops *ops, int argc, char *argv[]);

/*
 * init_mount_all: mount /proc, /sys and /dev (devtmpfs), creating the
 * directories first. A mount point that is already mounted (-EBUSY) is
 * fine; any other failure is logged and skipped. Returns the number of
 * mounts that failed.
 */
int init_mount_all(const struct init_ops *ops);

/*
 * init_boot_done: tell the monitor user space is up: store
 * LAYOUT_BOOT_TIMER_MAGIC at LAYOUT_BOOT_TIMER_ADDR, or, if that fails, write
 * it to LAYOUT_BOOT_TIMER_PORT. Returns 0 if either worked, else -errno of
 * the port write.
 */
int init_boot_done(const struct init_ops *ops);

/*
 * init_exit_status: the one-byte status for a wait status (wstatus): the exit
 * code, 128 + the signal number for a signal death (capped at 255), or
 * INIT_STATUS_LOST for anything else.
 */
int init_exit_status(int wstatus);

/*
 * init_finish: stop the VM with (status): sync, write it to
 * LAYOUT_EXIT_PORT, and if still running, reboot (i8042 reset with
 * reboot=k). Returns only if all of that failed to stop the VM.
 */
void init_finish(const struct init_ops *ops, int status);

/* The real system calls (init_sys.c). */
extern const struct init_ops init_sys_ops;

#endif /* EMBER_GUEST_INIT_H */
