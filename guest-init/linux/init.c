// SPDX-License-Identifier: Apache-2.0
/*
 * init.c: guest-init, the static PID 1 of ember's Linux guests.
 *
 * Mounts /proc, /sys and /dev, tells the monitor user space is up (boot
 * timer), runs its arguments (the words after " -- " on the kernel command
 * line; /bin/sh without any), reaps orphans, and ends the VM with the
 * command's exit status through the exit port (reboot as the fallback).
 * The logic is init_core.c; the system calls are init_sys.c.
 */
#include "init.h"

int main(int argc, char *argv[])
{
	return init_main(&init_sys_ops, argc, argv);
}
