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
/* Exit status when the command could not be started at all. */
#define INIT_STATUS_NOSTART 127
/* Exit status when the command vanished without a wait status. */
#define INIT_STATUS_LOST 255

/*
 * The seam between the logic and the system. Every member returns 0 (or a
 * pid) on success and -errno on failure unless it says otherwise.
 */
struct init_ops {
	/* mkdir (path), mode 0755; -EEXIST is fine for the caller. */
	int (*mkdir)(const char *path);
	/* mount (fstype) from (source) on (target), no flags, no data. */
	int (*mount)(const char *source, const char *target, const char *fstype);
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
};

/*
 * init_main: run guest-init with (ops) and the arguments the kernel passed
 * (argc, argv): argv[1..] is the command (the words after " -- " on the
 * kernel command line); none means INIT_SHELL. Returns only when neither
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
