/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h: what a snapshot keeps of a virtio-mmio transport and its device,
 * as plain bytes. The monitor stores a struct virtio_mmio_state as it is
 * (memcpy) in its state file and hands the bytes back to a new process,
 * which loads them into a freshly created transport and device of the same
 * type and configuration, over guest memory restored at the same
 * guest-physical addresses (so ring addresses stay valid).
 *
 * Every field is a fixed-width integer, every gap an explicit pad field
 * (zero when saved, refused when not zero), and the sizes are asserted, so
 * the bytes are the same in every build of this version. Host byte order
 * (x86-64: little-endian, as the rings). The bytes that come back are not
 * trusted: virtio_mmio_load_state checks every field before using any.
 *
 * Not here: what belongs to the host and does not survive the process
 * (fds, io_uring, host sockets, a frame half read from a tap), counters,
 * and what the device's configuration gives again (a disk's capacity and
 * id, a MAC, a guest CID, rate limits).
 */
#ifndef EMBER_VIRTIO_STATE_H
#define EMBER_VIRTIO_STATE_H

#include <stdint.h>

/* Queues a transport may have (virtio-vsock has the most: 3). */
#define VIRTIO_STATE_MAX_QUEUES 4
/* Bytes for the device's own part (virtio-net's two rate limiters take 256). */
#define VIRTIO_DEV_STATE_MAX 512

/*
 * struct virtio_queue_state: one queue's registers and, for a ready queue,
 * where the device is in its rings. (ready), (event_idx), (indirect) and
 * (signalled_valid) are 0 or 1. A saved ready queue has given back every
 * chain it took (virtio_mmio_quiesce): last_avail == used_idx.
 */
struct virtio_queue_state {
	uint32_t size;	/* QueueNum as the driver wrote it */
	uint32_t ready; /* QueueReady */
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint16_t last_avail;	 /* next avail entry the device takes */
	uint16_t used_idx;	 /* used->idx the device published */
	uint16_t signalled_used; /* used_idx at the last interrupt decision (EVENT_IDX) */
	uint8_t signalled_valid; /* signalled_used means something */
	uint8_t event_idx;	 /* VIRTIO_F_RING_EVENT_IDX negotiated */
	uint8_t indirect;	 /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
	uint8_t pad[7];
};

_Static_assert(sizeof(struct virtio_queue_state) == 48, "virtio_queue_state layout");

/*
 * struct virtio_mmio_state: the transport's registers, each of its
 * (num_queues) queues (the rest all zero), and the device's own part:
 * (dev_len) bytes of (dev) (the rest zero) that only the device reads.
 * (device_features) are what the device offered: a device created with
 * another configuration (a read-only disk for a read-write one) offers
 * others, and the load is refused.
 */
struct virtio_mmio_state {
	uint32_t device_id;
	uint32_t num_queues;
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint64_t device_features;
	uint64_t driver_features;
	struct virtio_queue_state queues[VIRTIO_STATE_MAX_QUEUES];
	uint32_t dev_len;
	uint32_t pad;
	uint8_t dev[VIRTIO_DEV_STATE_MAX];
};

_Static_assert(sizeof(struct virtio_mmio_state) ==
		   48 + VIRTIO_STATE_MAX_QUEUES * sizeof(struct virtio_queue_state) + 8 +
		       VIRTIO_DEV_STATE_MAX,
	       "virtio_mmio_state layout: no hidden padding");
_Static_assert(sizeof(struct virtio_mmio_state) == 760, "virtio_mmio_state size");

#endif /* EMBER_VIRTIO_STATE_H */
