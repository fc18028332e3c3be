/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vq_builder.h: the driver's side of a split virtqueue, for unit tests. Lays
 * out a descriptor table and the two rings in a malloc'd guest RAM (a gmem
 * with one region at VQB_RAM_GPA), hands out buffers, writes descriptors
 * (direct or in indirect tables), publishes heads and reads the used ring,
 * like Firecracker's VirtQueue test helper. Also a driver init sequence over
 * virtio-mmio registers. Aborts on misuse: it is test code.
 */
#ifndef EMBER_TEST_VQ_BUILDER_H
#define EMBER_TEST_VQ_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "queue.h"

#define VQB_RAM_GPA  0x100000ull
#define VQB_RAM_SIZE (4ull << 20)

struct vqb {
	struct gmem gm;
	uint8_t *ram;
	uint16_t size;
	uint64_t desc, avail, used; /* ring gpas */
	uint16_t avail_idx;	    /* the driver's next avail->idx */
	uint64_t next_free;	    /* bump allocator for buffers */
};

/* vqb_init: RAM plus rings for a queue of (size) entries (any size, even invalid ones). */
void vqb_init(struct vqb *b, uint16_t size);
void vqb_free(struct vqb *b);

/*
 * vqb_clone: (dst) as (src), over a RAM of its own holding a copy of
 * (src)'s at the same guest addresses: guest memory as a snapshot restores
 * it in a new process. vqb_share: (q), whose rings another queue's RAM
 * holds, now points into (owner)'s RAM (after a clone of that owner).
 */
void vqb_clone(struct vqb *dst, const struct vqb *src);
void vqb_share(struct vqb *q, const struct vqb *owner);

/* vqb_host: host pointer of (gpa), which must be in RAM. */
void *vqb_host(const struct vqb *b, uint64_t gpa);

/* vqb_alloc: (len) bytes of zeroed RAM aligned to 16; returns its gpa. */
uint64_t vqb_alloc(struct vqb *b, uint64_t len);

/* vqb_desc: descriptor (i) of the table at (table) (b->desc for the queue's own). */
void vqb_desc(struct vqb *b, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next);

/* vqb_chain: descriptors first..first+n-1 chained, each a fresh buffer of lens[i]
 * bytes, writable when write[i]; their gpas into (gpas) if not NULL. Returns first. */
uint16_t vqb_chain(struct vqb *b, uint16_t first, unsigned int n, const uint32_t *lens,
		   const bool *write, uint64_t *gpas);

/* vqb_publish: put (head) in the avail ring and bump avail->idx (release). */
void vqb_publish(struct vqb *b, uint16_t head);

/* Raw ring fields. */
void vqb_set_avail_idx(struct vqb *b, uint16_t idx);
void vqb_set_avail_flags(struct vqb *b, uint16_t flags);
void vqb_set_used_event(struct vqb *b, uint16_t v);
uint16_t vqb_avail_event(const struct vqb *b);
uint16_t vqb_used_idx(const struct vqb *b);
void vqb_used_elem(const struct vqb *b, uint16_t i, uint32_t *id, uint32_t *len);

/* vqb_queue: a struct virtq over this layout, enabled; returns vq_enable's result. */
int vqb_queue(struct vqb *b, struct virtq *q, uint16_t max_size, bool event_idx, bool indirect);

struct virtio_mmio_dev;
uint32_t vqb_mmio_read(struct virtio_mmio_dev *t, uint64_t off);
void vqb_mmio_write(struct virtio_mmio_dev *t, uint64_t off, uint32_t v);

/* vqb_queue_regs: queue (index)'s size, ring addresses (b's) and QueueReady over MMIO. */
void vqb_queue_regs(struct virtio_mmio_dev *t, const struct vqb *b, unsigned int index);

/*
 * vqb_driver_init: the Linux driver's sequence (3.1.1) over MMIO: reset,
 * ACKNOWLEDGE, DRIVER, features (what is offered & (want)), FEATURES_OK,
 * queue (index) at (b)'s rings, QueueReady, DRIVER_OK. Returns the final status.
 */
uint32_t vqb_driver_init(struct virtio_mmio_dev *t, struct vqb *b, unsigned int index,
			 uint64_t want);

#endif /* EMBER_TEST_VQ_BUILDER_H */
