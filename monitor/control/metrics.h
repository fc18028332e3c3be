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
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

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
/* Firecracker's BlockDeviceMetrics but its latency objects and remaining_reqs_count. */
#define METRICS_BLOCK(X)                                                                           \
	X(activate_fails)                                                                          \
	X(cfg_fails)                                                                               \
	X(event_fails) X(execute_fails) X(flush_count) X(invalid_reqs_count) X(no_avail_buffer)    \
	    X(queue_event_count) X(rate_limiter_event_count) X(rate_limiter_throttled_events)      \
		X(io_engine_throttled_events) X(read_bytes) X(read_count) X(update_count)          \
		    X(update_fails) X(write_bytes) X(write_count)
/*
 * Firecracker's NetDeviceMetrics, but its tap_write_agg latency object.
 * Never counted by ember (so always 0): mac_address_updates (the MAC is not
 * writable), tx_partial_reads, tx_spoofed_mac_count (no MMDS, no MAC filter),
 * tx_remaining_reqs_count.
 */
#define METRICS_NET(X)                                                                             \
	X(activate_fails)                                                                          \
	X(cfg_fails)                                                                               \
	X(mac_address_updates) X(no_rx_avail_buffer) X(no_tx_avail_buffer) X(event_fails)          \
	    X(rx_queue_event_count) X(rx_event_rate_limiter_count) X(rx_rate_limiter_throttled)    \
		X(rx_tap_event_count) X(rx_bytes_count) X(rx_packets_count) X(rx_fails)            \
		    X(rx_count) X(tap_read_fails) X(tap_write_fails) X(tx_bytes_count)             \
			X(tx_malformed_frames) X(tx_fails) X(tx_count) X(tx_packets_count)         \
			    X(tx_partial_reads) X(tx_queue_event_count)                            \
				X(tx_rate_limiter_event_count) X(tx_rate_limiter_throttled)        \
				    X(tx_spoofed_mac_count) X(tx_remaining_reqs_count)
#define METRICS_I8042(X)                                                                           \
	X(error_count)                                                                             \
	X(missed_read_count) X(missed_write_count) X(read_count) X(reset_count) X(write_count)
#define METRICS_UART(X)                                                                            \
	X(error_count)                                                                             \
	X(flush_count) X(missed_read_count) X(missed_write_count) X(read_count) X(write_count)
#define METRICS_ENTROPY(X)                                                                         \
	X(activate_fails)                                                                          \
	X(entropy_event_fails)                                                                     \
	X(entropy_event_count) X(entropy_bytes) X(host_rng_fails)                                  \
	    X(entropy_rate_limiter_throttled) X(rate_limiter_event_count)
/*
 * Firecracker's VsockDeviceMetrics. Never counted by ember (so always 0):
 * the queue eventfd and event-queue failures (the VMM reads the ioeventfds,
 * and ember sends no transport-reset events) and killq_resync (no kill queue).
 * conns_refused is ember's own: connections refused because the device held
 * as many host sockets as the process can afford (RLIMIT_NOFILE).
 */
#define METRICS_VSOCK(X)                                                                           \
	X(activate_fails)                                                                          \
	X(cfg_fails)                                                                               \
	X(rx_queue_event_fails) X(tx_queue_event_fails) X(ev_queue_event_fails)                    \
	    X(muxer_event_fails) X(conn_event_fails) X(rx_queue_event_count)                       \
		X(tx_queue_event_count) X(rx_bytes_count) X(tx_bytes_count) X(rx_packets_count)    \
		    X(tx_packets_count) X(conns_added) X(conns_killed) X(conns_removed)            \
			X(killq_resync) X(tx_flush_fails) X(tx_write_fails) X(rx_read_fails)    \
			    X(conns_refused)

/* Firecracker's MmdsMetrics, summed over the interfaces that reach MMDS (mmds/mmds_stats.h). */
#define METRICS_MMDS(X)                                                                            \
	X(rx_accepted)                                                                             \
	X(rx_accepted_err)                                                                         \
	X(rx_accepted_unusual) X(rx_bad_eth) X(rx_invalid_token) X(rx_no_token) X(rx_count)        \
	    X(tx_bytes) X(tx_count) X(tx_errors) X(tx_frames) X(connections_created)               \
		X(connections_destroyed)

struct metrics_vcpu {
	METRICS_VCPU(METRICS_FIELD)
};
struct metrics_block {
	METRICS_BLOCK(METRICS_FIELD)
};
struct metrics_net {
	METRICS_NET(METRICS_FIELD)
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
	struct {
		METRICS_I8042(METRICS_FIELD)
	} i8042;
	struct {
		METRICS_UART(METRICS_FIELD)
	} uart;
	struct {
		METRICS_ENTROPY(METRICS_FIELD)
	} entropy;
	struct {
		METRICS_VSOCK(METRICS_FIELD)
	} vsock;
	struct {
		METRICS_MMDS(METRICS_FIELD)
	} mmds;
	struct metrics_vcpu vcpu[METRICS_MAX_VCPUS];
	struct metrics_block block[CONFIG_MAX_DEVICES];
	struct metrics_net net[CONFIG_MAX_DEVICES];
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
	char block_ids[CONFIG_MAX_DEVICES][CONFIG_DISK_ID_MAX + 1];
	unsigned int nnets;
	char net_ids[CONFIG_MAX_DEVICES][CONFIG_ID_MAX + 1];
	struct metrics_counters now;
	struct metrics_counters prev; /* at the last flush */
	struct metrics_store store;
	uint64_t *missed_log_count; /* the logger's, reported under "logger" */
	/*
	 * collect: copies counters that devices keep themselves (block,
	 * net, entropy, vsock) into (now) before each flush; NULL until a VM exists.
	 */
	void (*collect)(void *ctx, struct metrics_counters *now);
	void *collect_ctx;
	uint64_t *log_fails;
	char *path; /* the file or FIFO (fd >= 0), for the line saying lines are lost */
	bool lost;  /* a line was dropped and that was said */
	char *tail; /* a line the reader took only part of: the rest is at tail + tail_off */
	size_t tail_off, tail_len;
};

/* metrics_inc: add one to counter (c). Any thread. */
static inline void metrics_inc(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* metrics_add: add (n) to counter (c). Any thread. */
static inline void metrics_add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* metrics_init: nothing configured, all zero. */
void metrics_init(struct metrics *m);

/*
 * metrics_set_devices: name the per-device groups after (cfg)'s vCPUs,
 * drives (block_<drive_id>) and interfaces (net_<iface_id>), before the VM
 * starts.
 */
void metrics_set_devices(struct metrics *m, const struct vm_config *cfg);

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
