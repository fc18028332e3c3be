// SPDX-License-Identifier: Apache-2.0
/* virtio_slots.c: virtio-mmio devices wired to KVM with ioeventfds and irqfds. */
#include "virtio_slots.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev_metrics.h"
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

/*
 * device_fd_ready: one of a device's fds is ready. While the device is
 * quiesced (a snapshot) it refuses the event: the fd is quieted, so a
 * level-triggered one cannot spin the loop, and virtio_slots_resume arms it
 * again.
 */
static void device_fd_ready(void *opaque, int fd, uint32_t events)
{
	struct virtio_slot_fd *w = opaque;
	struct virtio_slot *slot = w->slot;

	if (virtio_mmio_fd_ready(slot->transport, w->tag, events)) {
		if (slot->owner->device_events != NULL)
			metrics_inc(slot->owner->device_events);
		return; /* (w) may be gone: the device may have unwatched its fd */
	}
	/* EPOLLONESHOT alone: at most one more error or hangup, then nothing. */
	if (!w->quiet && evloop_mod(slot->owner->loop, fd, EPOLLONESHOT) == 0)
		w->quiet = true;
}

/* find_fd: (slot)'s record of (fd), and the link that points to it; NULL when not watched. */
static struct virtio_slot_fd *find_fd(struct virtio_slot *slot, int fd,
				      struct virtio_slot_fd ***link)
{
	struct virtio_slot_fd **l = &slot->fds;

	while (*l != NULL && (*l)->fd != fd)
		l = &(*l)->next;
	if (link != NULL)
		*link = l;
	return *l;
}

/* The watcher a slot hands its device (device.h), on the loop. */
static int watch_fd(void *ctx, int fd, uint32_t events, uint64_t tag)
{
	struct virtio_slot *slot = ctx;
	struct virtio_slot_fd *w;
	int ret;

	if (find_fd(slot, fd, NULL) != NULL)
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	*w = (struct virtio_slot_fd){
	    .slot = slot, .fd = fd, .events = events, .tag = tag, .next = slot->fds};
	ret = evloop_add(slot->owner->loop, fd, events, device_fd_ready, w);
	if (ret < 0) {
		free(w);
		return ret;
	}
	slot->fds = w;
	return 0;
}

static int rearm_fd(void *ctx, int fd, uint32_t events)
{
	struct virtio_slot *slot = ctx;
	struct virtio_slot_fd *w = find_fd(slot, fd, NULL);

	if (w == NULL)
		return -ENOENT;
	w->events = events;
	if (w->quiet)
		return 0; /* virtio_slots_resume arms it with these */
	return evloop_mod(slot->owner->loop, fd, events);
}

static void unwatch_fd(void *ctx, int fd)
{
	struct virtio_slot *slot = ctx;
	struct virtio_slot_fd **link;
	struct virtio_slot_fd *w = find_fd(slot, fd, &link);

	if (w == NULL)
		return;
	*link = w->next;
	/* The loop never calls a removed handler again, so (w) can go now. */
	evloop_del(slot->owner->loop, fd);
	free(w);
}

static int attach_device(struct virtio_slot *slot)
{
	slot->watcher = (struct virtio_watcher){
	    .ctx = slot, .watch = watch_fd, .rearm = rearm_fd, .unwatch = unwatch_fd};
	return virtio_mmio_attach(slot->transport, &slot->watcher);
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
	if (slot->transport != NULL)
		virtio_mmio_destroy(slot->transport); /* destroys the device too */
	else if (slot->dev != NULL)
		slot->ops->destroy(slot->dev);
	/* A device unwatches its fds as it closes them; what one forgot leaves the loop here. */
	while (slot->fds != NULL) {
		struct virtio_slot_fd *w = slot->fds;
		log_warn("virtio %s: fd %d still watched at destroy", slot->ops->name, w->fd);
		slot->fds = w->next;
		evloop_del(s->loop, w->fd);
		free(w);
	}
	if (slot->irqfd >= 0)
		close(slot->irqfd);
	memset(slot, 0, sizeof(*slot));
	slot->irqfd = -1;
}

int virtio_slots_add(struct virtio_slots *s, const struct virtio_device_ops *ops, void *dev,
		     const struct virtio_mmio_counters *counts)
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
	virtio_mmio_set_counters(slot->transport, counts);
	ret = vm_irqfd(s->vm, slot->irqfd, slot->irq);
	if (ret == 0)
		ret = bus_register(&s->vm->mmio, slot->base, LAYOUT_VIRTIO_MMIO_SIZE, mmio_window,
				   slot);
	if (ret == 0)
		ret = wire_queues(s, slot);
	if (ret == 0) {
		virtio_mmio_set_handoff(slot->transport, handoff, slot);
		ret = attach_device(slot);
	}
	if (ret < 0)
		goto fail;
	s->count++;
	kernel_cmdline_add(s->cmdline, "virtio_mmio.device=4K@0x%" PRIx64 ":%u", slot->base,
			   slot->irq);
	return 0;
fail:
	/* The caller reports it, naming the device as its user configured it. */
	release_slot(s, slot);
	return ret;
}

void virtio_slots_resume(struct virtio_slots *s)
{
	for (unsigned int i = 0; i < s->count; i++) {
		struct virtio_slot *slot = &s->slots[i];
		virtio_mmio_resume(slot->transport);
		for (struct virtio_slot_fd *w = slot->fds; w != NULL; w = w->next) {
			if (!w->quiet)
				continue;
			w->quiet = false;
			int ret = evloop_mod(s->loop, w->fd, w->events);
			if (ret < 0)
				log_warn_errno(-ret, "virtio %s: cannot watch fd %d again",
					       slot->ops->name, w->fd);
		}
	}
}

void virtio_slots_destroy(struct virtio_slots *s)
{
	for (unsigned int i = 0; i < s->count; i++)
		release_slot(s, &s->slots[i]);
	s->count = 0;
}
