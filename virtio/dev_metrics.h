/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dev_metrics.h: the metric groups the virtio devices count into, each
 * declared once here: a list of Firecracker's field names in Firecracker's
 * order (an X-macro: X(name) per field) and the struct it makes. The
 * monitor renders a group as its list says (monitor/control/metrics.h), so
 * a field added here is counted, stored and written with no other change.
 *
 * A device is handed its group when it is created (NULL: it counts into
 * one of its own, which only its tests read) and counts with metrics_inc
 * and metrics_add: relaxed atomic adds, since a device counts on the VMM
 * thread, its transport on a vCPU thread, and the monitor reads the group
 * with neither's lock. Two fields of each group, activate_fails and
 * cfg_fails, are the transport's: the monitor points the transport at them
 * (virtio_mmio_set_counters, mmio.h).
 */
#ifndef EMBER_VIRTIO_DEV_METRICS_H
#define EMBER_VIRTIO_DEV_METRICS_H

#include <stdint.h>

#define DEV_METRICS_FIELD(n) uint64_t n;

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

// clang-format off

/*
 * virtio-blk: Firecracker's BlockDeviceMetrics but its latency objects and
 * remaining_reqs_count. update_count and update_fails are the monitor's
 * (PATCH /drives that took effect, that failed).
 */
#define DEV_METRICS_BLOCK(X)                                                                       \
	X(activate_fails)                /* transport: DRIVER_OK refused by the device */          \
	X(cfg_fails)                     /* transport: config writes dropped */                    \
	X(event_fails)                   /* the completion eventfd could not be read */            \
	X(execute_fails)                 /* the host's read, write or fdatasync failed */          \
	X(flush_count)                                                                             \
	X(invalid_reqs_count)            /* malformed, read-only, past the end, unsupported */     \
	X(no_avail_buffer)               /* notifications that found no request queued */          \
	X(queue_event_count)             /* driver notifications */                                \
	X(rate_limiter_event_count)      /* the limiter's timer fired */                           \
	X(rate_limiter_throttled_events) /* a request waited for tokens */                         \
	X(io_engine_throttled_events)    /* io_uring: every slot busy, the ring waits */           \
	X(read_bytes)                                                                              \
	X(read_count)                                                                              \
	X(update_count)                                                                            \
	X(update_fails)                                                                            \
	X(write_bytes)                                                                             \
	X(write_count)

/*
 * virtio-net: Firecracker's NetDeviceMetrics but its tap_write_agg latency
 * object. Never counted by ember (so always 0): mac_address_updates (the
 * MAC is not writable), tx_partial_reads, tx_spoofed_mac_count (no MAC
 * filter), tx_remaining_reqs_count. rx_count and tx_count are frames, as
 * rx_packets_count and tx_packets_count.
 */
#define DEV_METRICS_NET(X)                                                                         \
	X(activate_fails)                                                                          \
	X(cfg_fails)                                                                               \
	X(mac_address_updates)                                                                     \
	X(no_rx_avail_buffer)          /* receive stopped for want of a guest buffer */            \
	X(no_tx_avail_buffer)          /* a transmit notification found nothing queued */          \
	X(event_fails)                 /* the kick eventfd could not be read */                    \
	X(rx_queue_event_count)                                                                    \
	X(rx_event_rate_limiter_count) /* the receive limiter's timer fired */                     \
	X(rx_rate_limiter_throttled)   /* the receive limiter held frames back */                  \
	X(rx_tap_event_count)          /* the tap became readable */                               \
	X(rx_bytes_count)                                                                          \
	X(rx_packets_count)                                                                        \
	X(rx_fails)                    /* frames for the guest dropped */                          \
	X(rx_count)                                                                                \
	X(tap_read_fails)              /* besides EAGAIN */                                        \
	X(tap_write_fails)             /* besides EAGAIN */                                        \
	X(tx_bytes_count)                                                                          \
	X(tx_malformed_frames)         /* chains dropped: bad layout, length or header */          \
	X(tx_fails)                    /* guest frames dropped, malformed or refused by the tap */ \
	X(tx_count)                                                                                \
	X(tx_packets_count)                                                                        \
	X(tx_partial_reads)                                                                        \
	X(tx_queue_event_count)                                                                    \
	X(tx_rate_limiter_event_count) /* the transmit limiter's timer fired */                    \
	X(tx_rate_limiter_throttled)   /* the transmit limiter held a frame back */                \
	X(tx_spoofed_mac_count)                                                                    \
	X(tx_remaining_reqs_count)

/*
 * virtio-rng: Firecracker's EntropyDeviceMetrics (no cfg_fails: the device
 * has no config space). Never counted by ember: entropy_event_fails,
 * rate_limiter_event_count.
 */
#define DEV_METRICS_ENTROPY(X)                                                                     \
	X(activate_fails)                                                                          \
	X(entropy_event_fails)                                                                     \
	X(entropy_event_count)            /* queue notifications handled */                        \
	X(entropy_bytes)                  /* random bytes served */                                \
	X(host_rng_fails)                 /* getrandom() failed or came up short */                \
	X(entropy_rate_limiter_throttled) /* a request waited for the rate limiter */              \
	X(rate_limiter_event_count)

/*
 * virtio-vsock: Firecracker's VsockDeviceMetrics ("rx": to the guest).
 * Never counted by ember (so always 0): the queue eventfd and event-queue
 * failures (the VMM reads the ioeventfds, and ember sends no
 * transport-reset events) and killq_resync (no kill queue). conns_refused
 * is ember's own: connections refused because the device held as many
 * host sockets as the process can afford (RLIMIT_NOFILE).
 */
#define DEV_METRICS_VSOCK(X)                                                                       \
	X(activate_fails)                                                                          \
	X(cfg_fails)                                                                               \
	X(rx_queue_event_fails)                                                                    \
	X(tx_queue_event_fails)                                                                    \
	X(ev_queue_event_fails)                                                                    \
	X(muxer_event_fails)    /* accept() on the listening socket failed */                      \
	X(conn_event_fails)     /* a host socket reported an error */                              \
	X(rx_queue_event_count)                                                                    \
	X(tx_queue_event_count)                                                                    \
	X(rx_bytes_count)       /* stream bytes put on the rx queue */                             \
	X(tx_bytes_count)       /* stream bytes of well-formed guest packets */                    \
	X(rx_packets_count)                                                                        \
	X(tx_packets_count)                                                                        \
	X(conns_added)          /* host sockets taken on */                                        \
	X(conns_killed)         /* ended by the device: RST, timeout, error */                     \
	X(conns_removed)        /* host sockets let go */                                          \
	X(killq_resync)                                                                            \
	X(tx_flush_fails)       /* the host socket refused buffered guest bytes */                 \
	X(tx_write_fails)       /* the host socket refused guest bytes sent at once */             \
	X(rx_read_fails)        /* reading the host socket failed */                               \
	X(conns_refused)

// clang-format on

struct block_metrics {
	DEV_METRICS_BLOCK(DEV_METRICS_FIELD)
};

struct net_metrics {
	DEV_METRICS_NET(DEV_METRICS_FIELD)
};

struct entropy_metrics {
	DEV_METRICS_ENTROPY(DEV_METRICS_FIELD)
};

struct vsock_metrics {
	DEV_METRICS_VSOCK(DEV_METRICS_FIELD)
};

#endif /* EMBER_VIRTIO_DEV_METRICS_H */
