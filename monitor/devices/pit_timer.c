// SPDX-License-Identifier: Apache-2.0
/* pit_timer.c: channel 0's OUT turned into IRQ 0 on the VMM thread (see pit_timer.h). */
#include "pit_timer.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "evloop.h"
#include "isa_irq.h"
#include "log.h"
#include "pit.h"

#define PIT_IRQ	   0
#define NS_PER_SEC 1000000000ULL

static struct timespec to_timespec(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / NS_PER_SEC),
				 .tv_nsec = (long)(ns % NS_PER_SEC)};
}

/* reprogrammed: a vCPU thread changed channel 0 (only an eventfd write here). */
static void reprogrammed(void *ctx)
{
	struct pit_timer *t = ctx;
	uint64_t one = 1;

	if (write(t->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_errno(errno, "pit: eventfd write");
}

/* rearm: set the timer for channel 0 as programmed now (VMM thread). */
static void rearm(void *opaque, int fd, uint32_t events)
{
	struct pit_timer *t = opaque;
	struct itimerspec its = {0};
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0)
		return; /* EAGAIN: nothing new */
	struct pit_irq0_schedule s = pit_irq0_schedule(t->pit);
	t->generation = s.generation;
	if (s.active) {
		/* A zero it_value disarms: the earliest edge is 1 ns after the epoch. */
		its.it_value = to_timespec(s.first_ns != 0 ? s.first_ns : 1);
		its.it_interval = to_timespec(s.period_ns);
	}
	if (timerfd_settime(t->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn_errno(errno, "pit: timerfd_settime");
}

/* expired: OUT0 rose (once or more since the last call): one IRQ 0 edge. */
static void expired(void *opaque, int fd, uint32_t events)
{
	struct pit_timer *t = opaque;
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0)
		return;
	/* Armed for an older programming whose re-arm is still queued: not an edge. */
	if (!pit_irq0_current(t->pit, t->generation))
		return;
	t->delivered++;
	isa_irq_pulse(t->vm, PIT_IRQ);
}

int pit_timer_init(struct pit_timer *t, struct pit *pit, struct vm *vm, struct evloop *loop)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->pit = pit;
	t->vm = vm;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->wake_fd < 0 || t->timer_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = evloop_add(loop, t->wake_fd, EPOLLIN, rearm, t);
	if (ret < 0)
		goto fail;
	ret = evloop_add(loop, t->timer_fd, EPOLLIN, expired, t);
	if (ret < 0) {
		evloop_del(loop, t->wake_fd);
		goto fail;
	}
	pit_watch_irq0(pit, reprogrammed, t);
	return 0;
fail:
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	t->wake_fd = t->timer_fd = -1;
	return ret;
}

void pit_timer_destroy(struct pit_timer *t, struct evloop *loop)
{
	if (t->pit == NULL || t->wake_fd < 0)
		return; /* never set up */
	pit_watch_irq0(t->pit, NULL, NULL);
	evloop_del(loop, t->wake_fd);
	evloop_del(loop, t->timer_fd);
	close(t->wake_fd);
	close(t->timer_fd);
	t->wake_fd = t->timer_fd = -1;
}
