// SPDX-License-Identifier: Apache-2.0
/* virtio_slots.c: virtio-mmio devices wired to KVM with ioeventfds and irqfds. */
#include "virtio_slots.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "isa_irq.h"
#include "kernel_cmdline.h"
#include "layout.h"
#include "log.h"
#include "mmio.h"
#include "vm.h"

void virtio_slots_init(struct virtio_slots *s, struct vm *vm, struct evloop *loop,
		       struct kernel_cmdline *cmdline)
{
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	s->loop = loop;
	s->cmdline = cmdline;
}

/*
 * raise_irq: the transport wants the guest interrupted (any thread). KVM
 * delivers the irqfd through the IOAPIC pin's MSI route (nothing when the
 * guest left the pin masked); the 8259 gets the same edge from here.
 */
static void raise_irq(void *ctx)
{
	struct virtio_slot *slot = ctx;
	uint64_t one = 1;

	if (write(slot->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_errno(errno, "virtio %s: irqfd write", slot->ops->name);
	isa_irq_pulse_pic(slot->owner->vm, slot->irq);
}

/* queue_notified: a queue's ioeventfd fired (VMM thread). */
static void queue_notified(void *opaque, int fd, uint32_t events)
{
	struct virtio_slot_queue *q = opaque;
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0)
		return; /* EAGAIN: another wakeup already drained it */
	virtio_mmio_notify(q->slot->transport, q->index);
}

/*
 * handoff: a QueueNotify write that no ioeventfd matched reached a vCPU
 * thread; ring the queue's ioeventfd ourselves, so the VMM thread serves
 * it as it serves every notification.
 */
static void handoff(void *ctx, unsigned int queue)
{
	struct virtio_slot *slot = ctx;
	uint64_t one = 1;

	if (queue >= slot->nqueues || slot->queues[queue].fd < 0)
		return;
	if (write(slot->queues[queue].fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_errno(errno, "virtio %s: queue eventfd write", slot->ops->name);
}

static void mmio_window(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_slot *slot = opaque;

	virtio_mmio_access(slot->transport, offset, data, len, is_write);
}

static int wire_queues(struct virtio_slots *s, struct virtio_slot *slot)
{
	for (unsigned int i = 0; i < slot->nqueues; i++) {
		struct virtio_slot_queue *q = &slot->queues[i];
		q->slot = slot;
		q->index = i;
		q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->fd < 0)
			return -errno;
		int ret = vm_ioeventfd(s->vm, q->fd, slot->base + VIRTIO_MMIO_QUEUE_NOTIFY,
				       sizeof(uint32_t), i);
		if (ret == 0)
			ret = evloop_add(s->loop, q->fd, EPOLLIN, queue_notified, q);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* device_event: the device's own fd (io_uring completions, a tap) is ready. */
static void device_event(void *opaque, int fd, uint32_t events)
{
	struct virtio_slot *slot = opaque;

	(void)fd;
	(void)events;
	virtio_mmio_event(slot->transport);
}

static int wire_device_fd(struct virtio_slots *s, struct virtio_slot *slot)
{
	slot->event_fd = virtio_mmio_event_fd(slot->transport);
	if (slot->event_fd < 0)
		return 0; /* a device without an fd of its own */
	return evloop_add(s->loop, slot->event_fd, EPOLLIN, device_event, slot);
}

static void release_slot(struct virtio_slots *s, struct virtio_slot *slot)
{
	for (unsigned int i = 0; i < slot->nqueues; i++) {
		if (slot->queues[i].fd < 0)
			continue;
		evloop_del(s->loop, slot->queues[i].fd);
		close(slot->queues[i].fd);
		slot->queues[i].fd = -1;
	}
	if (slot->event_fd >= 0)
		evloop_del(s->loop, slot->event_fd); /* the device closes it */
	if (slot->transport != NULL)
		virtio_mmio_destroy(slot->transport); /* destroys the device too */
	else if (slot->dev != NULL)
		slot->ops->destroy(slot->dev);
	if (slot->irqfd >= 0)
		close(slot->irqfd);
	memset(slot, 0, sizeof(*slot));
	slot->irqfd = -1;
	slot->event_fd = -1;
}

int virtio_slots_add(struct virtio_slots *s, const struct virtio_device_ops *ops, void *dev)
{
	int ret;

	if (s->count == CONFIG_MAX_DEVICES || ops->num_queues > VIRTIO_SLOT_MAX_QUEUES) {
		ops->destroy(dev);
		return -ENOSPC;
	}
	struct virtio_slot *slot = &s->slots[s->count];
	memset(slot, 0, sizeof(*slot));
	slot->owner = s;
	slot->ops = ops;
	slot->dev = dev;
	slot->base = LAYOUT_VIRTIO_MMIO_BASE + s->count * LAYOUT_VIRTIO_MMIO_SIZE;
	slot->irq = LAYOUT_VIRTIO_FIRST_IRQ + s->count;
	slot->nqueues = ops->num_queues;
	for (unsigned int i = 0; i < VIRTIO_SLOT_MAX_QUEUES; i++)
		slot->queues[i].fd = -1;
	slot->event_fd = -1;
	slot->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (slot->irqfd < 0) {
		ret = -errno;
		goto fail;
	}
	slot->transport = virtio_mmio_create(ops, dev, &s->vm->gmem, raise_irq, slot);
	if (slot->transport == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = vm_irqfd(s->vm, slot->irqfd, slot->irq);
	if (ret == 0)
		ret = bus_register(&s->vm->mmio, slot->base, LAYOUT_VIRTIO_MMIO_SIZE, mmio_window,
				   slot);
	if (ret == 0)
		ret = wire_queues(s, slot);
	if (ret == 0) {
		virtio_mmio_set_handoff(slot->transport, handoff, slot);
		ret = wire_device_fd(s, slot);
	}
	if (ret < 0)
		goto fail;
	s->count++;
	kernel_cmdline_add(s->cmdline, "virtio_mmio.device=4K@0x%" PRIx64 ":%u", slot->base,
			   slot->irq);
	return 0;
fail:
	log_error_errno(-ret, "virtio %s: cannot attach at 0x%" PRIx64, ops->name, slot->base);
	release_slot(s, slot);
	return ret;
}

void virtio_slots_destroy(struct virtio_slots *s)
{
	for (unsigned int i = 0; i < s->count; i++)
		release_slot(s, &s->slots[i]);
	s->count = 0;
}
