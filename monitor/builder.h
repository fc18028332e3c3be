/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder.h: build a microVM from a struct vm_config in one visible recipe,
 * run it to its end, and tear it down in reverse.
 *
 *   machine_build -> machine_run -> machine_destroy
 */
#ifndef EMBER_BUILDER_H
#define EMBER_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "boot_timer.h"
#include "config.h"
#include "console.h"
#include "ember_err.h"
#include "evloop.h"
#include "generation.h"
#include "i8042.h"
#include "kernel_cmdline.h"
#include "ioapic.h"
#include "loader.h"
#include "pic.h"
#include "pit.h"
#include "pit_timer.h"
#include "ratelimit.h"
#include "rtc.h"
#include "seccomp.h"
#include "serial.h"
#include "snap_uffd.h"
#include "virtio_slots.h"
#include "vm.h"

struct metrics;
struct mmds_store;
struct mmds_stack;

struct machine {
	struct vm vm;
	struct ioapic ioapic;
	struct serial serial;
	int serial_out_fd; /* PUT /serial's file or FIFO, or -1: stdout */
	struct ratelimit serial_limit; /* its rate_limiter, when set */
	struct i8042 i8042;
	struct rtc rtc;
	struct pic pic;
	struct pit pit;
	struct pit_timer pit_timer;
	struct boot_timer boot_timer;
	struct generation generation;
	struct virtio_slots virtio;
	struct kernel_info kernel;
	struct kernel_cmdline cmdline; /* each attach step adds its part */
	struct seccomp_user_filters user_filter; /* --seccomp-filter, read before boot */
	struct evloop *loop; /* the process's; the machine's fds join it and leave it */
	struct console console;
	struct snap_uffd uffd; /* a restore with the Uffd backend; zeroed otherwise */
	unsigned int built; /* how far machine_build got, for teardown */
	/*
	 * The metadata service: the process's store (set before a build, kept
	 * by it; NULL: none) and the stack on each interface mmds-config names.
	 */
	struct mmds_store *mmds;
	struct mmds_stack *mmds_stacks[CONFIG_MAX_DEVICES];
	/*
	 * The process's metrics (set before a build, kept by it, never NULL):
	 * each device counts into its group there, which outlives the machine.
	 */
	struct metrics *metrics;
};

/*
 * machine_build: create the VM, its devices and vCPUs, load the kernel,
 * initrd and boot structures for (cfg). (startup) holds the exec instant
 * (CLOCK_MONOTONIC) and receives the build phases' stamps; it must outlive
 * the machine (vCPU 0 stamps its first KVM_RUN). The machine's fds (stop
 * eventfd, devices, console) join (loop), the process's one event loop,
 * and leave it in machine_destroy. On failure everything is torn down,
 * (err) holds the one line that says what failed, naming the resource as
 * the interface that configured it does (--kernel PATH, drive 'rootfs'),
 * and the return value is the exit status to use (EMBER_EXIT_CONFIG for
 * bad input, EMBER_EXIT_HOST_ERROR for KVM or host trouble); 0 on success.
 * Nothing is logged: the caller reports (err).
 */
int machine_build(struct machine *m, const struct vm_config *cfg, struct startup_trace *startup,
		  struct evloop *loop, struct ember_err *err);

struct snapshot_image;

/*
 * machine_restore: build the machine a snapshot describes: (cfg) is the
 * snapshot's configuration (snapshot_open), RAM is mapped from its memory
 * file, and the vCPUs and devices take their saved state instead of a
 * kernel being loaded. Returns 0 or an exit status, (err) saying what
 * failed, as machine_build does.
 */
int machine_restore(struct machine *m, const struct vm_config *cfg,
		    const struct snapshot_image *img, struct startup_trace *startup,
		    struct evloop *loop, struct ember_err *err);

/*
 * machine_run: start the vCPUs and run the process's loop until the VM
 * stops (the guest, the API, or a signal through vm_request_stop). Returns
 * the exit status: the guest's, or an ember status from exit_status.h.
 */
int machine_run(struct machine *m);

/* machine_destroy: join vCPUs, release devices and the VM. */
void machine_destroy(struct machine *m);

/*
 * machine_rate_limit: a configured rate limiter (Firecracker's RateLimiter)
 * in virtio/'s terms; unset buckets are all zero, i.e. unlimited.
 */
struct virtio_rate_limit machine_rate_limit(const struct rate_limiter *rl);

#endif /* EMBER_BUILDER_H */
