/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h: Firecracker's metrics: counters grouped as Firecracker groups
 * them (api_server, get/put/patch_api_requests, logger, vmm, vcpu, block
 * and block_<id>, net and net_<iface_id>, i8042, uart, entropy, mmds, plus
 * boot_timer), written as one
 * JSON object per line on each flush. Counters report what happened since
 * the previous flush, as Firecracker's do; the "store" values (start-up
 * and boot times) are absolute. A flush never blocks: a line the reader
 * has no room for is dropped and counted (logger.missed_metrics_count), and
 * what it would have counted goes into the next line that is written, so
 * a reader that comes back loses no counts. Lines stay whole: when a
 * reader takes only part of one, the rest is written before the next. The
 * first line dropped is said once (a FIFO's reader gone, or a full disk).
 *
 * Counters are plain uint64_t bumped with metrics_inc from any thread.
 * The groups the virtio devices and MMDS count into are declared beside
 * them (virtio/dev_metrics.h, mmds/mmds_stats.h), once, and rendered here
 * from those lists; (now) holds them for the life of the process, so a
 * flush after the VM is torn down still has every count.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dev_metrics.h"
#include "mmds_stats.h"

#define METRICS_MAX_VCPUS 32

#define METRICS_FIELD(n) uint64_t n;

#define METRICS_API_SERVER(X) X(sync_response_fails) X(sync_vmm_send_timeout_count)
#define METRICS_GET_API(X)                                                                         \
	X(instance_info_count)                                                                     \
	X(machine_cfg_count) X(mmds_count) X(vmm_version_count) X(vm_config_count)
#define METRICS_PUT_API(X)                                                                         \
	X(actions_count)                                                                           \
	X(actions_fails)                                                                           \
	X(boot_source_count) X(boot_source_fails) X(drive_count) X(drive_fails) X(logger_count)    \
	    X(logger_fails) X(machine_cfg_count) X(machine_cfg_fails) X(metrics_count)             \
		X(metrics_fails) X(network_count) X(network_fails) X(vsock_count) X(vsock_fails)   \
		    X(entropy_count) X(entropy_fails) X(mmds_count) X(mmds_fails)
#define METRICS_PATCH_API(X)                                                                       \
	X(drive_count)                                                                             \
	X(drive_fails)                                                                             \
	X(network_count) X(network_fails) X(machine_cfg_count) X(machine_cfg_fails) X(vm_count)    \
	    X(vm_fails) X(mmds_count) X(mmds_fails)
#define METRICS_LOGGER(X) X(missed_metrics_count) X(metrics_fails) X(missed_log_count) X(log_fails)
#define METRICS_VMM(X)	  X(device_events) X(panic_count)
#define METRICS_VCPU(X)                                                                            \
	X(exit_io_in) X(exit_io_out) X(exit_mmio_read) X(exit_mmio_write) X(failures)
#define METRICS_I8042(X)                                                                           \
	X(error_count)                                                                             \
	X(missed_read_count) X(missed_write_count) X(read_count) X(reset_count) X(write_count)
#define METRICS_UART(X)                                                                            \
	X(error_count)                                                                             \
	X(flush_count) X(missed_read_count) X(missed_write_count) X(read_count) X(write_count)         \
	    X(rate_limiter_dropped_bytes)

struct metrics_vcpu {
	METRICS_VCPU(METRICS_FIELD)
};
/* The legacy devices' groups, counted by serial.c and i8042.c. */
struct metrics_uart {
	METRICS_UART(METRICS_FIELD)
};
struct metrics_i8042 {
	METRICS_I8042(METRICS_FIELD)
};

/* Every counter, all uint64_t: a flush reports each one's growth. */
struct metrics_counters {
	struct {
		METRICS_API_SERVER(METRICS_FIELD)
	} api_server;
	struct {
		METRICS_GET_API(METRICS_FIELD)
	} get_api_requests;
	struct {
		METRICS_PUT_API(METRICS_FIELD)
	} put_api_requests;
	struct {
		METRICS_PATCH_API(METRICS_FIELD)
	} patch_api_requests;
	struct {
		METRICS_LOGGER(METRICS_FIELD)
	} logger;
	struct {
		METRICS_VMM(METRICS_FIELD)
	} vmm;
	struct metrics_i8042 i8042;
	struct metrics_uart uart;
	/*
	 * The devices' groups, counted by the devices themselves: the
	 * builder hands each device its group as it attaches it.
	 */
	struct entropy_metrics entropy;
	struct vsock_metrics vsock;
	struct mmds_stats mmds; /* every interface's MMDS stack counts here: the sum */
	struct metrics_vcpu vcpu[METRICS_MAX_VCPUS];
	struct block_metrics block[CONFIG_MAX_DEVICES]; /* block_<block_ids[i]> */
	struct net_metrics net[CONFIG_MAX_DEVICES];	/* net_<net_ids[i]> */
};

/* Absolute values, reported as they are. */
struct metrics_store {
	uint64_t process_startup_time_us;     /* exec (or --start-time-us) to API ready */
	uint64_t process_startup_time_cpu_us; /* CPU time used by then */
	uint64_t guest_boot_time_us;	      /* boot timer: build start to guest's signal */
	uint64_t boot_time_since_exec_us;     /* boot timer: exec to guest's signal */
};

struct metrics {
	int fd; /* -1: not configured */
	unsigned int nvcpus;
	unsigned int nblocks;
	char block_ids[CONFIG_MAX_DEVICES][CONFIG_ID_MAX + 1];
	unsigned int nnets;
	char net_ids[CONFIG_MAX_DEVICES][CONFIG_ID_MAX + 1];
	struct metrics_counters now;
	struct metrics_counters prev; /* at the last flush */
	struct metrics_store store;
	uint64_t *missed_log_count; /* the logger's, reported under "logger" */
	uint64_t *log_fails;
	char *path; /* the file or FIFO (fd >= 0), for the line saying lines are lost */
	bool lost;  /* a line was dropped and that was said */
	char *tail; /* a line the reader took only part of: the rest is at tail + tail_off */
	size_t tail_off, tail_len;
};

/* metrics_init: nothing configured, all zero. */
void metrics_init(struct metrics *m);

/*
 * metrics_set_vcpus: one vcpu_<n> group per (cfg)'s vCPUs, before the VM
 * starts. The virtio devices' groups are not named here: the builder
 * registers each as it attaches the device (metrics_block, metrics_net).
 */
void metrics_set_vcpus(struct metrics *m, const struct vm_config *cfg);

/*
 * metrics_forget_devices: a new machine is being built: drop the names of
 * the block_ and net_ groups a build before it registered (one that
 * failed), so that the groups follow the new machine's devices. Their
 * counts stay (a failed build's devices never ran a guest: there are none).
 */
void metrics_forget_devices(struct metrics *m);

/*
 * metrics_block: the group block_<drive_id> (block_disk<index> for a drive
 * with no id: a --disk flag's), registered on first use; the aggregate
 * "block" sums every registered one. The group lives as long as (m), so
 * counts made before the device goes still reach the next flush. NULL when
 * CONFIG_MAX_DEVICES groups are registered already.
 */
struct block_metrics *metrics_block(struct metrics *m, const char *drive_id, unsigned int index);

/* metrics_net: the group net_<iface_id>, as metrics_block; "net" sums them. */
struct net_metrics *metrics_net(struct metrics *m, const char *iface_id);

/*
 * metrics_configure: open (path) (file or FIFO, non-blocking). Only once,
 * as Firecracker: a second call is -EBUSY. 0 or -errno, message in (err).
 */
int metrics_configure(struct metrics *m, const char *path, char *err, unsigned long errsz);

/*
 * metrics_render: the current JSON line (malloc'd, no newline), and, when
 * (commit), make it the new baseline. NULL when out of memory.
 */
char *metrics_render(struct metrics *m, int commit);

/*
 * metrics_flush: write one line (after the rest of one a reader took only
 * part of). 0 (the line is written, or partly, and the rest goes first next
 * time); -ENODEV when not configured; -EAGAIN when the reader had no room
 * (counted, the counts wait for the next line); another -errno (counted, as
 * EAGAIN; EPIPE: the FIFO has no reader).
 */
int metrics_flush(struct metrics *m);

/* metrics_destroy: close the file (a line's unwritten rest is lost). */
void metrics_destroy(struct metrics *m);

#endif /* EMBER_METRICS_H */
