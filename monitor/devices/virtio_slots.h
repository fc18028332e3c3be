/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_slots.h: where virtio-mmio devices sit in the machine. Device i
 * gets the 4 KiB window LAYOUT_VIRTIO_MMIO_BASE + i * 4 KiB and IOAPIC pin
 * LAYOUT_VIRTIO_FIRST_IRQ + i, announced to Linux on the command line as
 * "virtio_mmio.device=4K@<base>:<irq>". Queue notifications arrive on an
 * ioeventfd per queue (KVM_IOEVENTFD on QueueNotify, datamatch = queue) and
 * are handled on the VMM thread; interrupts leave through an irqfd
 * (KVM_IRQFD), so neither passes through a vCPU exit handler.
 */
#ifndef EMBER_VIRTIO_SLOTS_H
#define EMBER_VIRTIO_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define VIRTIO_SLOT_MAX_QUEUES 8

struct evloop;
struct kernel_cmdline;
struct vm;
struct virtio_device_ops;
struct virtio_mmio_dev;
struct virtio_slots;

struct virtio_slot_queue {
	struct virtio_slot *slot;
	unsigned int index;
	int fd; /* ioeventfd */
};

struct virtio_slot {
	struct virtio_slots *owner;
	const struct virtio_device_ops *ops;
	void *dev;
	struct virtio_mmio_dev *transport;
	uint64_t base;
	unsigned int irq;
	int irqfd;
	int event_fd; /* the device's own fd (io_uring, tap), or -1 */
	unsigned int nqueues;
	struct virtio_slot_queue queues[VIRTIO_SLOT_MAX_QUEUES];
};

struct virtio_slots {
	struct vm *vm;
	struct evloop *loop;
	struct kernel_cmdline *cmdline; /* each device announces itself here */
	unsigned int count;
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
 * window on the bus, irqfd, one ioeventfd per queue. On failure the device
 * is destroyed too. Returns 0 or -errno (logged).
 */
int virtio_slots_add(struct virtio_slots *s, const struct virtio_device_ops *ops, void *dev);

/* virtio_slots_destroy: stop watching, destroy devices, close fds. */
void virtio_slots_destroy(struct virtio_slots *s);

#endif /* EMBER_VIRTIO_SLOTS_H */
