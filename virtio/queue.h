/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue.h: the split virtqueue (virtio 1.2, 2.7), device side.
 *
 * The guest is hostile. vq_enable() checks the size and that the three rings
 * are aligned and lie inside guest RAM (through gmem, once); vq_pop() copies
 * each descriptor once before checking it, bounds the descriptor index, the
 * chain length (queue size, so loops end) and the avail index jump, follows
 * indirect tables only when negotiated (no nesting, no NEXT beside INDIRECT,
 * length a multiple of 16), refuses a readable descriptor after a writable
 * one, and turns every buffer into a host iovec through gmem_ptr. A broken
 * queue stays broken until vq_reset(): vq_pop() returns an error and the
 * device marks itself DEVICE_NEEDS_RESET (virtio_mmio_needs_reset). Each kind
 * of problem is logged once per queue, and counted.
 *
 * Memory ordering (2.7.13, 2.7.7): avail->idx is loaded with acquire before
 * ring entries and descriptors are read; used elements are written before a
 * release store of used->idx; with EVENT_IDX a full fence separates
 * publishing used->idx (or avail_event) from reading used_event (or avail->idx).
 *
 * Not thread-safe: the transport lock (mmio.h) serialises every call.
 */
#ifndef EMBER_VIRTIO_QUEUE_H
#define EMBER_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "gmem.h"
#include "state.h"
#include "vlog.h"

/* Largest queue a device may offer; also the most segments in one chain. */
#define VIRTQ_MAX_SIZE 256
/* Room for a queue's log prefix; a longer device name is cut short. */
#define VIRTQ_WHO_BYTES 32

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags / used->flags (2.7.6, 2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/* Ring layout (2.7.5 - 2.7.8): sizes include used_event / avail_event. */
#define VIRTQ_DESC_SIZE	     16
#define VIRTQ_DESC_ALIGN     16
#define VIRTQ_AVAIL_ALIGN    2
#define VIRTQ_USED_ALIGN     4
#define VIRTQ_DESC_BYTES(n)  (16ull * (n))
#define VIRTQ_AVAIL_BYTES(n) (6ull + 2ull * (n))
#define VIRTQ_USED_BYTES(n)  (6ull + 8ull * (n))

/* What went wrong on a queue; each kind is logged once per queue. */
enum vq_error {
	VQ_ERR_AVAIL_IDX, /* avail->idx more than the queue size ahead of us or of used->idx */
	VQ_ERR_HEAD,	  /* head index >= queue size */
	VQ_ERR_NEXT,	  /* next index >= queue (or table) size */
	VQ_ERR_LOOP,	  /* chain longer than the queue size */
	VQ_ERR_ADDR,	  /* buffer not inside guest RAM */
	VQ_ERR_ORDER,	  /* readable descriptor after a writable one */
	VQ_ERR_INDIRECT,  /* indirect not negotiated, nested, with NEXT, bad length */
	VQ_ERR_TOO_LONG,  /* total length overflows */
	VQ_ERR_SETUP,	  /* bad size, ring address or ring overlap at QUEUE_READY */
	VQ_ERR_KINDS
};

/*
 * struct virtq_chain: one validated descriptor chain. iov[0, nread) are the
 * device-readable buffers, iov[nread, niov) the device-writable ones, each a
 * host pointer straight into guest RAM (ready for preadv/pwritev/readv/
 * writev). Zero-length descriptors are checked for order but left out.
 * Owned by the device between vq_pop and vq_push; (epoch) ties it to one
 * queue setup so a chain that survived a reset is never pushed into new rings.
 */
struct virtq_chain {
	uint16_t head; /* descriptor index to return in the used ring */
	uint32_t epoch;
	unsigned int niov;
	unsigned int nread;
	uint64_t read_len;  /* sum of readable lengths */
	uint64_t write_len; /* sum of writable lengths */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct virtq {
	/* Fixed at vq_init. */
	char who[VIRTQ_WHO_BYTES]; /* "virtio-<device>: queue <index>": its log lines' start */
	unsigned int index;
	uint16_t max_size;

	/* Written by the transport while the queue is not ready. */
	uint32_t size; /* QueueNum as written (validated at enable) */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_RING_INDIRECT_DESC negotiated */

	/* Set by vq_enable, cleared by vq_reset. */
	bool ready;
	bool broken;
	const struct gmem *gm;
	uint8_t *desc;	     /* host pointers to the validated rings */
	uint16_t *avail;     /* [0] flags, [1] idx, [2..] ring, [2 + size] used_event */
	uint8_t *used;	     /* flags, idx, ring of {u32 id, u32 len}, avail_event */
	uint16_t last_avail; /* next avail entry to consume */
	uint16_t used_idx;   /* next used entry to fill (= used->idx we published) */
	uint16_t signalled_used;
	bool signalled_valid;
	uint32_t epoch; /* bumped by every vq_reset */

	/* Survives resets: kinds logged (a bit per enum vq_error), every problem counted. */
	struct vlog_limit log;
};

/* vq_init: a not-ready queue (index) of device (name), up to (max_size) entries. */
void vq_init(struct virtq *q, const char *name, unsigned int index, uint16_t max_size);

/*
 * vq_enable: the driver wrote QueueReady = 1. Checks size (non-zero, power of
 * two, <= max_size), alignment (desc 16, avail 2, used 4), that each ring
 * lies inside guest RAM (gm), used_event and avail_event included, and that
 * the used ring overlaps neither the descriptor table nor the available ring;
 * then caches the rings' host pointers and starts at index 0. Returns 0, or
 * -EINVAL (logged once) and the queue stays not ready.
 */
int vq_enable(struct virtq *q, const struct gmem *gm);

/*
 * vq_reset: back to the vq_init state (size = max_size, addresses 0, not
 * ready, not broken); the epoch changes so chains popped before are dropped
 * by vq_push. Rate-limit state and counters stay.
 */
void vq_reset(struct virtq *q);

/*
 * vq_pop: take the next available chain into (chain).
 * Returns 1 (got one), 0 (ring empty; with EVENT_IDX, avail_event is set so
 * the driver notifies on the next buffer), or -EIO when the queue is broken
 * (among others: avail->idx more than the queue size ahead of the next entry
 * or of used->idx, i.e. more buffers posted than the driver has descriptors)
 * (now or earlier; the caller marks the device DEVICE_NEEDS_RESET) or -ENODEV
 * when it is not ready.
 */
int vq_pop(struct virtq *q, struct virtq_chain *chain);

/*
 * vq_push: return (chain) to the driver with (written) bytes written into
 * its writable buffers (clamped to chain->write_len). Writes the used element,
 * then publishes used->idx with release order. Ignored when the queue is not
 * ready, the chain is from an earlier epoch, or every chain popped has been
 * returned already (the used ring never runs ahead of what was taken).
 */
void vq_push(struct virtq *q, const struct virtq_chain *chain, uint32_t written);

/*
 * vq_fill / vq_flush: vq_push in two steps, for a device that returns
 * several chains as one unit (virtio-net's mergeable receive buffers, 5.1.6.4:
 * the driver must never see the first buffer of a frame before the rest).
 * vq_fill writes (chain)'s used element (written clamped to its write_len) as
 * the (n)th unpublished one, n counting from 0 since the last vq_flush /
 * vq_push; vq_flush(count) then publishes the (count) filled elements with one
 * release store of used->idx. vq_fill returns 0, or -ESTALE when the queue is
 * not ready, the chain is from an earlier epoch, or (n) is not below the
 * number of chains popped and not yet returned (nothing written: leave it out
 * of the count); vq_flush publishes at most that many. Do not call vq_push
 * between the two.
 */
int vq_fill(struct virtq *q, const struct virtq_chain *chain, uint32_t written, uint16_t n);
void vq_flush(struct virtq *q, uint16_t count);

/*
 * vq_should_signal: true when the driver wants an interrupt for what was
 * pushed since the last call (EVENT_IDX: used_event crossed; otherwise unless
 * VIRTQ_AVAIL_F_NO_INTERRUPT). False when nothing new was pushed.
 */
bool vq_should_signal(struct virtq *q);

/*
 * Snapshots (state.h). The device first finishes or forgets every chain it
 * holds, then vq_rewind gives the forgotten ones back to the avail ring, so
 * a saved queue owes the driver nothing and a restored one takes them again.
 *
 * vq_rewind: every chain popped and not yet returned goes back: the next
 * vq_pop takes the oldest of them again (its avail entry is still there: the
 * driver cannot reuse it before the chain comes back through the used ring).
 * The epoch changes, so vq_push and vq_fill drop any of them still held.
 * Returns how many went back; 0 for a queue that is not ready.
 */
uint16_t vq_rewind(struct virtq *q);

/* vq_save: (q)'s registers and ring indexes into (st) (pad zeroed). */
void vq_save(const struct virtq *q, struct virtio_queue_state *st);

/*
 * vq_check_state: whether vq_load_state would take (st) for (q) over (gm),
 * changing nothing. (enable): a ready queue is to be made ready again (the
 * status allows it); then its size and rings are checked as vq_enable does,
 * and it must owe no chain (last_avail == used_idx). The indexes of a queue
 * not made ready are ignored (the next enable starts at 0). 0, or -EINVAL
 * with one line in (err) naming the field ("queues[1].size: ...").
 */
int vq_check_state(const struct virtq *q, const struct gmem *gm,
		   const struct virtio_queue_state *st, bool enable, struct vlog_err *err);

/*
 * vq_load_state: (q) (reset, as vq_init or vq_reset leave it) takes the
 * registers of (st) and, when (enable) and (st) is ready, becomes ready over
 * (gm) at the saved indexes, as vq_enable then the saved traffic would have
 * left it. Call after vq_check_state accepted the same arguments; returns
 * -EINVAL (the queue left not ready) only if it did not.
 */
int vq_load_state(struct virtq *q, const struct gmem *gm, const struct virtio_queue_state *st,
		  bool enable);

/*
 * vq_chain_read / vq_chain_write: copy between (buf, len) and the chain's
 * readable / writable bytes starting (offset) bytes into that area. Return the
 * number of bytes copied (short when the area ends first).
 */
uint64_t vq_chain_read(const struct virtq_chain *chain, uint64_t offset, void *buf, uint64_t len);
uint64_t vq_chain_write(const struct virtq_chain *chain, uint64_t offset, const void *buf,
			uint64_t len);

#endif /* EMBER_VIRTIO_QUEUE_H */
