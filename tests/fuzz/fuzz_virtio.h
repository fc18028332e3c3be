/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_virtio.h: a hostile virtio driver for the device harnesses
 * (fuzz_virtio_{blk,net,vsock,rng}.c). The input is a little program: each
 * operation is one byte of opcode and its operands, read with fuzz_util's
 * reader. Operations write transport registers (status, features, queue
 * set-up, reset) through virtio_mmio_access, lay out descriptor chains
 * (direct and indirect, with input-chosen lengths, directions, addresses
 * and contents) in a fake guest RAM, publish them, notify queues, run the
 * device's event handler, poke raw guest memory, and hand device-specific
 * host actions (a frame from the tap, a host socket) to the harness.
 *
 * Snapshots: an operation quiesces the device (and resumes it), or saves
 * it and loads the state, faithful or with input bytes patched in, into the
 * transport reset as new, over guest memory as it was at the save; the
 * traffic then goes on. A faithful state must load; any other must load or
 * be refused with the transport left at status 0.
 *
 * The device and its transport live for the whole process; each input
 * starts from zeroed RAM and a transport reset and ends with one, so the
 * device is reset once per input as a guest would do it.
 */
#ifndef EMBER_FUZZ_VIRTIO_H
#define EMBER_FUZZ_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "gmem.h"
#include "mmio.h"

/* Guest RAM: one main region and a small second one, so chains can cross between regions. */
#define FZV_RAM_GPA    0x10000ull
#define FZV_RAM_SIZE   (256ull << 10)
#define FZV_RAM2_GPA   0x100000ull
#define FZV_RAM2_SIZE  0x2000ull
#define FZV_MAX_QUEUES 3
/*
 * The usual ring layout: queue i at FZV_RAM_GPA + i * FZV_RING_STRIDE,
 * descriptors, avail and used ring one page apart (room for 256 entries).
 * Buffers come from the rest of the main region.
 */
#define FZV_RING_STRIDE 0x3000ull
#define FZV_DATA_GPA	(FZV_RAM_GPA + FZV_MAX_QUEUES * FZV_RING_STRIDE)
#define FZV_DATA_END	(FZV_RAM_GPA + FZV_RAM_SIZE)

/* The driver's view of one queue, as it set it up. */
struct fzv_queue {
	uint16_t size; /* 0: never set up in this input */
	uint64_t desc, avail, used;
	uint16_t avail_idx; /* the avail->idx the driver publishes next */
	uint16_t next_desc; /* where the next chain starts */
};

struct fzv;

/* What a device harness adds to the driver. Both hooks may be NULL. */
struct fzv_hooks {
	/* host_op: one action of the host side, its operands from (in). */
	void (*host_op)(struct fzv *v, struct fz *in);
	/* cleanup: the input is over: give back host resources before the final reset. */
	void (*cleanup)(struct fzv *v);
};

/* Fds the device may watch at once, indexed by number (a vsock's connections included). */
#define FZV_MAX_FDS 4096

struct fzv {
	uint8_t *ram, *ram2;
	uint8_t *saved_ram, *saved_ram2; /* guest memory at a snapshot */
	unsigned int loads;		 /* snapshots loaded in this input */
	struct gmem gm;
	struct virtio_mmio_dev *t;
	void *dev;
	unsigned int nq;
	struct fzv_queue q[FZV_MAX_QUEUES];
	uint64_t heap; /* next free byte for buffers, from FZV_DATA_GPA */
	unsigned long irqs;
	const struct fzv_hooks *hooks;
	void *ctx; /* the harness's own state for this device */
	/* The monitor's loop as the device sees it: an epoll set, each fd's tag by its number. */
	struct virtio_watcher watcher;
	int epfd;
	uint64_t tags[FZV_MAX_FDS];
};

/*
 * fzv_attach: guest RAM, and a transport over (ops, dev) (created by the
 * harness, which then belongs to the transport). Aborts on failure: it is
 * set-up, not input.
 */
void fzv_attach(struct fzv *v, const struct virtio_device_ops *ops, void *dev,
		const struct fzv_hooks *hooks, void *ctx);

/*
 * fzv_run: one input: zeroed RAM, reset, the operations, cleanup, reset,
 * settle; then the device, reset, must not write guest memory whatever it
 * is asked (notifications, events).
 */
void fzv_run(struct fzv *v, struct fz *in);

/*
 * fzv_event: hand the device one of its fds' events, as the monitor's loop
 * would; false when none is ready.
 */
bool fzv_event(struct fzv *v);

/*
 * fzv_driver_up: the driver's initialisation (3.1.1) with features, queue
 * sizes and ring addresses from (in); an exhausted (in) gives the usual
 * layout, every feature offered, and DRIVER_OK.
 */
void fzv_driver_up(struct fzv *v, struct fz *in);

/*
 * fzv_settle: hand the device its ready fds, one per round, until none is
 * ready (at most SETTLE_MAX rounds), as the VMM thread's loop would (a reset
 * may leave work for it, e.g. sockets to close).
 */
void fzv_settle(struct fzv *v);

/* fzv_reset: write status 0 and forget the queues' layout. */
void fzv_reset(struct fzv *v);

/* fzv_gpa: a guest address for a buffer: mostly inside RAM, sometimes at or past an edge. */
uint64_t fzv_gpa(struct fzv *v, struct fz *in);

/* fzv_clear_rings: zero the usual ring pages (nothing queued there any more). */
void fzv_clear_rings(struct fzv *v);

/*
 * fzv_quiet_logs: fz_quiet_logs for the virtio library's lines (vlog.h):
 * every line is formatted, none printed unless FUZZ_LOG is set.
 */
void fzv_quiet_logs(void);

/* fzv_reg_write / fzv_reg_read: one aligned 32-bit register access. */
void fzv_reg_write(struct fzv *v, uint64_t off, uint32_t val);
uint32_t fzv_reg_read(struct fzv *v, uint64_t off);

#endif /* EMBER_FUZZ_VIRTIO_H */
