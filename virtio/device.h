/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device.h: what a virtio device implements, and the spec constants devices
 * and the transport share. No MMIO offsets, no KVM.
 *
 * A device fills one const struct virtio_device_ops and hands it, with its
 * opaque state, to virtio_mmio_create(). The transport owns registers, status,
 * feature negotiation, queue addresses and interrupt status; it calls the ops
 * below with its lock held (see mmio.h), so a device never needs a lock of its
 * own for state shared between the vCPU and VMM threads.
 */
#ifndef EMBER_VIRTIO_DEVICE_H
#define EMBER_VIRTIO_DEVICE_H

#include <stdint.h>
#include <string.h>

/* Device IDs (virtio 1.2, 5 "Device Types"). */
#define VIRTIO_ID_NET	1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG	4
#define VIRTIO_ID_VSOCK 19

/* Device status bits (virtio 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1u
#define VIRTIO_STATUS_DRIVER		 2u
#define VIRTIO_STATUS_DRIVER_OK		 4u
#define VIRTIO_STATUS_FEATURES_OK	 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED		 128u

/* Transport feature bits (virtio 1.2, 6 "Reserved Feature Bits"). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

#define VIRTIO_BIT(b) (1ull << (b))

struct virtio_mmio_dev;
struct vlog_err;

/*
 * struct virtio_watcher: the monitor's one event loop, as a device sees it.
 * A device watches each of its fds with the epoll events it needs (EPOLLIN,
 * EPOLLOUT, EPOLLET, EPOLLONESHOT...) and a tag of its own choosing (a small
 * enum, a connection's address); when the fd is ready the monitor calls
 * ops->fd_ready with that tag. The device gets the watcher once, through
 * ops->attach, and calls it on the VMM thread only.
 *
 * watch: start watching (fd) for (events), reporting (tag). 0 or -errno.
 * rearm: watch (fd) for (events) from now on (arms an EPOLLONESHOT fd that
 *   fired again). 0 or -errno.
 * unwatch: stop watching (fd); call it before closing (fd). A no-op for an
 *   fd not watched. Events already fetched for (fd) are dropped.
 */
struct virtio_watcher {
	void *ctx;
	int (*watch)(void *ctx, int fd, uint32_t events, uint64_t tag);
	int (*rearm)(void *ctx, int fd, uint32_t events);
	void (*unwatch)(void *ctx, int fd);
};

/*
 * struct virtio_device_ops: one const table per device type.
 *
 * Every callback runs with the transport lock held: config_read/config_write
 * and activate/reset on a vCPU thread (guest register access), notify,
 * attach and fd_ready on the VMM thread, destroy wherever the monitor tears
 * down. The watcher (attach) is only used on the VMM thread: from notify,
 * fd_ready, resume, restored, destroy and the monitor's locked calls, never
 * from activate or reset (a vCPU thread's filter has no epoll_ctl).
 *
 * (features) are the device-specific bits offered; the transport adds
 * VERSION_1, RING_EVENT_IDX and RING_INDIRECT_DESC and handles them itself.
 * (max_queue_size) must be a power of two, at most VIRTQ_MAX_SIZE (queue.h);
 * (num_queues) at most VIRTIO_STATE_MAX_QUEUES (state.h), so that every
 * transport can be saved.
 *
 * config_read: fill (data, len) from the device config space at (offset);
 *   the transport zeroes (data) first, so bytes past the end may be skipped.
 * config_write: the driver wrote (data, len) at (offset); ignore what is
 *   read-only. Both may be NULL (no config space).
 * activate: DRIVER_OK was set, every ready queue is validated and its host
 *   pointers cached. (t) is the transport to use for virtio_mmio_queue() and
 *   the signalling functions until reset. Returns 0 or -errno: on failure the
 *   transport sets DEVICE_NEEDS_RESET and raises a config interrupt.
 * notify: queue (queue) has new buffers; pop and serve them (VMM thread).
 * reset: the driver wrote status 0 while the device was active. Drop every
 *   reference to guest memory (wait for in-flight I/O) and return to the
 *   pre-activate state; must not leak fds or memory across cycles.
 * attach: optional: (w) is the monitor's event loop (struct virtio_watcher
 *   below). Watch every fd the device has with it now, and keep (w) to
 *   watch, rearm and unwatch fds as they come and go (connections) until
 *   destroy. Called once, after creation, on the VMM thread, through
 *   virtio_mmio_attach(). 0 or -errno: the monitor then destroys the device,
 *   which unwatches what it had watched.
 * fd_ready: optional: an fd watched with (tag) is ready with (events)
 *   (EPOLLIN...); called through virtio_mmio_fd_ready() on the VMM thread,
 *   never while the transport is quiesced. Must cope with being called
 *   before activate or after reset.
 * destroy: free everything; called once by virtio_mmio_destroy().
 *
 * Snapshots (state.h; mmio.h says when the transport calls these), all
 * optional, all on the VMM thread:
 *
 * quiesce: the device is active and its VM about to be saved (vCPUs
 *   parked): finish what is in flight (used entries pushed, the driver
 *   signalled), forget every chain still held (the transport then gives
 *   them back to the avail ring: vq_rewind) and write no guest memory until
 *   resume. 0 or -errno (nothing is given back then).
 * resume: after quiesce, in the same process: take host input again and
 *   serve what the queues hold (their notifications meanwhile were dropped).
 *   NULL: the transport calls notify for every ready queue instead.
 * save_state: write the device's own part, what its configuration does not
 *   give again, into (buf, cap) (cap is VIRTIO_DEV_STATE_MAX); returns its
 *   length. Fixed-width fields, explicit pads, as in state.h.
 * load_state: the device takes (buf, len), bytes a save_state wrote in
 *   another process, or hostile ones: check them all first and change
 *   nothing unless all are good. 0, or -EINVAL with one line in (err) (may
 *   be NULL) naming the field. Called whether or not the load activated the
 *   device. NULL: only len 0 is taken.
 * restored: a load left the device active, in a new process, over the same
 *   guest memory: tell the driver what did not survive (host connections),
 *   then as resume. NULL: resume (or its NULL) is used.
 */
struct virtio_device_ops {
	const char *name;   /* "blk", "rng": used in log lines */
	uint32_t device_id; /* VIRTIO_ID_* */
	unsigned int num_queues;
	uint16_t max_queue_size;
	uint64_t features;
	void (*config_read)(void *dev, uint64_t offset, void *data, uint32_t len);
	void (*config_write)(void *dev, uint64_t offset, const void *data, uint32_t len);
	int (*activate)(void *dev, struct virtio_mmio_dev *t);
	void (*notify)(void *dev, unsigned int queue);
	void (*reset)(void *dev);
	int (*attach)(void *dev, const struct virtio_watcher *w);
	void (*fd_ready)(void *dev, uint64_t tag, uint32_t events);
	void (*destroy)(void *dev);
	int (*quiesce)(void *dev);
	void (*resume)(void *dev);
	uint32_t (*save_state)(void *dev, void *buf, uint32_t cap);
	int (*load_state)(void *dev, const void *buf, uint32_t len, struct vlog_err *err);
	void (*restored)(void *dev);
};

/*
 * virtio_watch, virtio_rearm, virtio_unwatch: a device's calls on the
 * watcher (w) it was attached to. Before attach (ctx and functions NULL)
 * nothing is watched: they do nothing and return 0.
 */
static inline int virtio_watch(const struct virtio_watcher *w, int fd, uint32_t events,
			       uint64_t tag)
{
	return w->watch != NULL ? w->watch(w->ctx, fd, events, tag) : 0;
}

static inline int virtio_rearm(const struct virtio_watcher *w, int fd, uint32_t events)
{
	return w->rearm != NULL ? w->rearm(w->ctx, fd, events) : 0;
}

static inline void virtio_unwatch(const struct virtio_watcher *w, int fd)
{
	if (w->unwatch != NULL && fd >= 0)
		w->unwatch(w->ctx, fd);
}

/*
 * virtio_config_copy: helper for config_read: copy the part of (cfg, cfg_len)
 * that [offset, offset + len) overlaps into (data); the rest stays as the
 * transport left it (zero).
 */
static inline void virtio_config_copy(const void *cfg, uint64_t cfg_len, uint64_t offset,
				      void *data, uint32_t len)
{
	if (offset >= cfg_len)
		return;
	if (len > cfg_len - offset)
		len = (uint32_t)(cfg_len - offset);
	memcpy(data, (const uint8_t *)cfg + offset, len);
}

#endif /* EMBER_VIRTIO_DEVICE_H */
