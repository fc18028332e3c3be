/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmio.h: the virtio-mmio transport (virtio 1.2, 4.2.2: modern, Version 2),
 * one per device. The register machine in its 4 KiB window: magic, version,
 * IDs, feature negotiation in two 32-bit halves (VERSION_1 required), the
 * status state machine (FAILED, DEVICE_NEEDS_RESET), queue setup, reset,
 * config space with a generation counter, interrupt status and ack.
 *
 * Threads: virtio_mmio_access runs on vCPU threads, virtio_mmio_notify and
 * virtio_mmio_fd_ready on the VMM thread. One mutex per transport guards the
 * registers, the queues and the device: those three entry points take it and
 * call the device ops with it held. The functions in the "for devices" group
 * below assume it is held, i.e. they are called from inside an op.
 */
#ifndef EMBER_VIRTIO_MMIO_H
#define EMBER_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "gmem.h"
#include "queue.h"
#include "state.h"
#include "vlog.h"

/* Register offsets (4.2.2, Table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050 /* one ioeventfd per queue, datamatch = index */
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW	0x090 /* "QueueDriver" */
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW	0x0a0 /* "QueueDevice" */
#define VIRTIO_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100
#define VIRTIO_MMIO_WINDOW		0x1000

#define VIRTIO_MMIO_MAGIC    0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION2 2
#define VIRTIO_MMIO_VENDOR   0x454d4252 /* "EMBR"; any value is allowed */

/* InterruptStatus bits. */
#define VIRTIO_MMIO_INT_VRING  1u
#define VIRTIO_MMIO_INT_CONFIG 2u

/* Feature bits the transport offers and handles on top of the device's. */
#define VIRTIO_MMIO_TRANSPORT_FEATURES                                                             \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |                    \
	 VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC))

/* virtio_irq_fn: raise the device's interrupt line (an irqfd write). */
typedef void (*virtio_irq_fn)(void *ctx);

struct virtio_mmio_dev;

/*
 * virtio_mmio_create: a transport for device (dev) of type (ops) over guest
 * memory (gm), raising interrupts through (irq)(irq_ctx). (gm) must outlive
 * the transport. The transport owns (dev) from here: virtio_mmio_destroy()
 * calls ops->destroy. Returns NULL (errno set, logged) on failure, and then
 * (dev) still belongs to the caller.
 */
struct virtio_mmio_dev *virtio_mmio_create(const struct virtio_device_ops *ops, void *dev,
					   const struct gmem *gm, virtio_irq_fn irq, void *irq_ctx);

/* virtio_mmio_destroy: reset the device if active, destroy it, free (t). NULL is a no-op. */
void virtio_mmio_destroy(struct virtio_mmio_dev *t);

/*
 * virtio_mmio_access: one guest access of (len) bytes at (offset) in the
 * 4 KiB window, reading into or writing from (data) (vCPU thread). Registers
 * below 0x100 take only aligned 32-bit accesses; config space takes aligned
 * 1, 2 and 4-byte ones. Anything else reads as 0 and is ignored on write, as
 * are reads of write-only and writes of read-only registers.
 */
void virtio_mmio_access(struct virtio_mmio_dev *t, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write);

/*
 * virtio_mmio_notify: queue (queue) was notified (its ioeventfd fired; VMM
 * thread). Ignored before DRIVER_OK, after FAILED or DEVICE_NEEDS_RESET, and
 * for a queue that is not ready.
 */
void virtio_mmio_notify(struct virtio_mmio_dev *t, unsigned int queue);

/*
 * virtio_mmio_set_handoff: where a QueueNotify write that reaches
 * virtio_mmio_access goes (one no ioeventfd matched). (fn)(ctx, queue) is
 * called on the vCPU thread, with the lock held, for a queue that may be
 * served now, and must only wake the VMM thread (write the queue's
 * eventfd), which then calls virtio_mmio_notify. Without a handoff (unit
 * tests, fuzzers) the queue is served at once, on the calling thread.
 */
typedef void (*virtio_handoff_fn)(void *ctx, unsigned int queue);
void virtio_mmio_set_handoff(struct virtio_mmio_dev *t, virtio_handoff_fn fn, void *ctx);

/* virtio_mmio_num_queues: how many queues the device has (ioeventfds to register). */
unsigned int virtio_mmio_num_queues(const struct virtio_mmio_dev *t);

/*
 * virtio_mmio_attach: hand the device the monitor's event loop (w)
 * (ops->attach, device.h), once, before any virtio_mmio_fd_ready (VMM
 * thread). (w) must outlive the transport. 0 (also for a device with no fd
 * of its own) or -errno from the device.
 *
 * virtio_mmio_fd_ready: an fd the device watched with (tag) is ready with
 * (events) (VMM thread); calls ops->fd_ready. False while the transport is
 * quiesced: the device did not see the event, and the caller keeps the fd
 * quiet (so a level-triggered fd does not spin) and arms it again after
 * virtio_mmio_resume (epoll then reports what is still ready, an edge
 * included). True otherwise; the fd may be unwatched by then.
 */
int virtio_mmio_attach(struct virtio_mmio_dev *t, const struct virtio_watcher *w);
bool virtio_mmio_fd_ready(struct virtio_mmio_dev *t, uint64_t tag, uint32_t events);

/*
 * virtio_mmio_with_lock: run (fn)(dev, arg) on (t)'s device with the
 * transport lock held, for a caller outside the ops (the monitor applying an
 * API request on the VMM thread: a new backing file, new rate limits). (fn)
 * may use the "for devices" functions below. Returns what (fn) returns.
 */
typedef int (*virtio_locked_fn)(void *dev, void *arg);
int virtio_mmio_with_lock(struct virtio_mmio_dev *t, virtio_locked_fn fn, void *arg);

/* virtio_mmio_status: the device status register (for tests and logs). */
uint32_t virtio_mmio_status(struct virtio_mmio_dev *t);

/*
 * What the driver got wrong at the transport, counted into its device's
 * metric group (dev_metrics.h, Firecracker's names); NULL: not counted.
 */
struct virtio_mmio_counters {
	uint64_t *activate_fails; /* DRIVER_OK refused by the device */
	uint64_t *cfg_fails;	  /* config writes dropped: outside DRIVER, or nothing writable */
};

/*
 * virtio_mmio_set_counters: count into (c)'s counters from now on (NULL:
 * none, as after virtio_mmio_create). Takes the lock.
 */
void virtio_mmio_set_counters(struct virtio_mmio_dev *t, const struct virtio_mmio_counters *c);

/*
 * Snapshots (state.h, Firecracker's snapshot create and load). Saving: the
 * VMM thread, vCPUs parked, calls virtio_mmio_quiesce then
 * virtio_mmio_save_state on every transport; the VM then ends, or goes on
 * after virtio_mmio_resume. Loading: a new process creates the same devices
 * (type and configuration) and their transports over guest memory restored
 * at the same addresses, and calls virtio_mmio_load_state on each before
 * any vCPU runs. All take the lock; none needs a syscall the VMM thread's
 * seccomp filter lacks (no fd is created).
 *
 * virtio_mmio_quiesce: the device finishes what is in flight (virtio-blk's
 * requests complete and their used entries are pushed, the driver
 * signalled), every chain it still held goes back to its avail ring
 * (vq_rewind: taken again later), and until virtio_mmio_resume the
 * transport drops notifications and refuses device events
 * (virtio_mmio_notify does nothing, virtio_mmio_fd_ready returns false; the
 * device writes no guest memory). The device's fds may stay ready
 * meanwhile: quiet each one refused, or do not run the loop, until resume. Register accesses still
 * work; do not change the device through virtio_mmio_with_lock meanwhile (a new backing file or
 * limit serves the queue at once). 0, or -errno from the device (say virtio-blk could not wait for
 * its requests; the transport is then not quiesced).
 */
int virtio_mmio_quiesce(struct virtio_mmio_dev *t);

/*
 * virtio_mmio_resume: after virtio_mmio_quiesce: take notifications and
 * events again, and serve what every ready queue holds (what was notified
 * meanwhile, and the chains given back), as a notification of each would.
 * A no-op on a transport that is not quiesced.
 */
void virtio_mmio_resume(struct virtio_mmio_dev *t);

/*
 * virtio_mmio_save_state: the registers, every queue and the device's own
 * part (ops->save_state) into (st), all of it written (unused bytes zero).
 * Call after virtio_mmio_quiesce: a queue of an active device that still
 * owes chains is refused at load.
 */
void virtio_mmio_save_state(struct virtio_mmio_dev *t, struct virtio_mmio_state *st);

/*
 * virtio_mmio_load_state: (t), at status 0 as virtio_mmio_create made it
 * (or a driver reset left it), for a device of the type and configuration
 * saved, takes (st), which is not trusted. Every field is checked before anything
 * changes: device_id, num_queues and device_features those of this device;
 * a status the register machine can reach; with FEATURES_OK, driver
 * features offered and VERSION_1; interrupt_status bits known, and only
 * after DRIVER_OK; flags 0 or 1, pads and unused queues zero; for each
 * ready queue to enable, its size and rings as a QueueReady write checks
 * them and no chain owed; dev_len within VIRTIO_DEV_STATE_MAX (0 without
 * ops->load_state). Then the registers are set; a ready queue (with
 * FEATURES_OK, without FAILED or DEVICE_NEEDS_RESET: else it is left not
 * ready, the driver must reset anyway) is enabled as QueueReady would and
 * continues at its saved indexes; with DRIVER_OK the device is activated as
 * a DRIVER_OK write would; the device takes its own part (ops->load_state);
 * an activated device is told it was restored (ops->restored: virtio-vsock
 * sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, every device serves what its
 * queues hold); a saved interrupt_status is raised again (irq), for a
 * level-triggered guest. Returns 0; -EINVAL with one line in (err) (may be
 * NULL) naming the field, and (t) left at status 0 as it was; or -EBUSY
 * when (t) was not at status 0 or was quiesced (nothing changed).
 */
int virtio_mmio_load_state(struct virtio_mmio_dev *t, const struct virtio_mmio_state *st,
			   struct vlog_err *err);

/* ---- for devices: call with the transport lock held (from an op) ---- */

/* virtio_mmio_queue: queue (index), or NULL past the last one. */
struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *t, unsigned int index);

/* virtio_mmio_driver_features: the features the driver accepted at FEATURES_OK. */
uint64_t virtio_mmio_driver_features(const struct virtio_mmio_dev *t);

/*
 * virtio_mmio_signal_used: the device pushed used buffers on (queue): set
 * InterruptStatus bit 0 and raise the interrupt if the driver wants one
 * (vq_should_signal: EVENT_IDX or NO_INTERRUPT).
 */
void virtio_mmio_signal_used(struct virtio_mmio_dev *t, unsigned int queue);

/* virtio_mmio_config_changed: generation++, InterruptStatus bit 1, interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio_dev *t);

/*
 * virtio_mmio_needs_reset: status |= DEVICE_NEEDS_RESET and, after DRIVER_OK,
 * a config-change interrupt (2.1.2). Notifications are ignored from then on
 * until the driver resets the device, and a running device is stopped (its
 * reset op) as soon as the op that called this returns: its own events
 * (a tap, host sockets, completions) then no longer touch the broken queues.
 */
void virtio_mmio_needs_reset(struct virtio_mmio_dev *t);

#endif /* EMBER_VIRTIO_MMIO_H */
