/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_slots.h: where virtio-mmio devices sit in the machine. Device i
 * gets the 4 KiB window LAYOUT_VIRTIO_MMIO_BASE + i * 4 KiB and IOAPIC pin
 * LAYOUT_VIRTIO_FIRST_IRQ + i, announced to Linux on the command line as
 * "virtio_mmio.device=4K@<base>:<irq>". Queue notifications arrive on an
 * ioeventfd per queue (KVM_IOEVENTFD on QueueNotify, datamatch = queue) and
 * are handled on the VMM thread; interrupts leave through an irqfd
 * (KVM_IRQFD), so neither passes through a vCPU exit handler. Each device
 * watches its own fds (a tap, io_uring completions, timers, host sockets) in
 * the same loop, through the watcher its slot hands it (device.h).
 */
#ifndef EMBER_VIRTIO_SLOTS_H
#define EMBER_VIRTIO_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "device.h"

#define VIRTIO_SLOT_MAX_QUEUES 8

struct evloop;
struct kernel_cmdline;
struct vm;
struct virtio_device_ops;
struct virtio_mmio_counters;
struct virtio_mmio_dev;
struct virtio_slots;

struct virtio_slot_queue {
	struct virtio_slot *slot;
	unsigned int index;
	int fd; /* ioeventfd */
};

/* One fd a device watches in the loop, with the device's tag for it. */
struct virtio_slot_fd {
	struct virtio_slot *slot;
	int fd;
	uint32_t events; /* as the device last asked */
	uint64_t tag;
	bool quiet; /* refused while the device was quiesced: off until virtio_slots_resume */
	struct virtio_slot_fd *next;
};

struct virtio_slot {
	struct virtio_slots *owner;
	const struct virtio_device_ops *ops;
	void *dev;
	struct virtio_mmio_dev *transport;
	uint64_t base;
	unsigned int irq;
	int irqfd;
	struct virtio_watcher watcher; /* the loop as the device sees it (ctx: this slot) */
	struct virtio_slot_fd *fds;    /* what the device watches */
	unsigned int nqueues;
	struct virtio_slot_queue queues[VIRTIO_SLOT_MAX_QUEUES];
};

struct virtio_slots {
	struct vm *vm;
	struct evloop *loop;
	struct kernel_cmdline *cmdline; /* each device announces itself here */
	unsigned int count;
	/* Device fd events taken: Firecracker's vmm.device_events, in the metrics (NULL: none). */
	uint64_t *device_events;
	struct virtio_slot slots[CONFIG_MAX_DEVICES];
};

/*
 * virtio_slots_init: an empty set for (vm), whose eventfds (loop) watches;
 * each device added announces itself on (cmdline) (virtio_mmio.device=).
 */
void virtio_slots_init(struct virtio_slots *s, struct vm *vm, struct evloop *loop,
		       struct kernel_cmdline *cmdline);

/*
 * virtio_slots_add: put device (dev, ops) in the next slot: transport, MMIO
 * window on the bus, irqfd, one ioeventfd per queue, and the device's own
 * fds in the loop (virtio_mmio_attach). The transport counts into
 * (counts), the device's metric group's (NULL: nowhere). On failure the
 * device is destroyed too. Returns 0 or -errno (logged).
 */
int virtio_slots_add(struct virtio_slots *s, const struct virtio_device_ops *ops, void *dev,
		     const struct virtio_mmio_counters *counts);

/*
 * virtio_slots_resume: after each transport was quiesced (a snapshot):
 * resume them (virtio_mmio_resume), then arm again every device fd that
 * fired meanwhile and was kept quiet; epoll reports what is still ready,
 * an edge-triggered tap's edge included.
 */
void virtio_slots_resume(struct virtio_slots *s);

/*
 * virtio_slots_destroy: stop watching, destroy devices (each unwatches its
 * own fds before closing them), close fds.
 */
void virtio_slots_destroy(struct virtio_slots *s);

#endif /* EMBER_VIRTIO_SLOTS_H */
