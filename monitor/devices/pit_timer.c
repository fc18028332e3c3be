// SPDX-License-Identifier: Apache-2.0
/* pit_timer.c: channel 0's OUT turned into IRQ 0 on the VMM thread (see pit_timer.h). */
#include "pit_timer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "dev_state.h"
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

/* arm: set the timer for (s), or disarm it when inactive. 0 or -errno. */
static int arm(struct pit_timer *t, const struct pit_irq0_schedule *s)
{
	struct itimerspec its = {0};

	t->generation = s->generation;
	if (s->active) {
		/* A zero it_value disarms: the earliest edge is 1 ns after the epoch. */
		its.it_value = to_timespec(s->first_ns != 0 ? s->first_ns : 1);
		its.it_interval = to_timespec(s->period_ns);
	}
	if (timerfd_settime(t->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		int ret = -errno;
		log_warn_errno(-ret, "pit: timerfd_settime");
		return ret;
	}
	return 0;
}

/* rearm: set the timer for channel 0 as programmed now (VMM thread). */
static void rearm(void *opaque, int fd, uint32_t events)
{
	struct pit_timer *t = opaque;
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0)
		return; /* EAGAIN: nothing new */
	struct pit_irq0_schedule s = pit_irq0_schedule(t->pit);
	(void)arm(t, &s);
}

/* pulse: one IRQ 0 edge. */
static void pulse(struct pit_timer *t)
{
	t->delivered++;
	isa_irq_pulse(t->vm, PIT_IRQ);
}

/* deliver_due: the timer's pending expiries as one IRQ 0 edge; whether there was one. */
static bool deliver_due(struct pit_timer *t)
{
	uint64_t count;

	if (read(t->timer_fd, &count, sizeof(count)) < 0)
		return false;
	/* Armed for an older programming whose re-arm is still queued: not an edge. */
	if (!pit_irq0_current(t->pit, t->generation))
		return false;
	pulse(t);
	return true;
}

/* expired: OUT0 rose (once or more since the last call): one IRQ 0 edge. */
static void expired(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	(void)deliver_due(opaque);
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

/*
 * catch_up: arm the timer for channel 0's first edge after now, never one
 * already past; (*skipped): whether the programming has had an edge by now
 * (which this arming does not deliver). 0 or -errno.
 */
static int catch_up(struct pit_timer *t, bool *skipped)
{
	struct pit_irq0_schedule all = pit_irq0_schedule(t->pit);
	struct pit_irq0_schedule next = pit_irq0_next(t->pit);

	*skipped = all.active && (!next.active || next.first_ns != all.first_ns);
	return arm(t, &next);
}

void pit_timer_save_state(struct pit_timer *t, struct pit_timer_state *st)
{
	uint64_t count;
	bool due;

	memset(st, 0, sizeof(*st));
	if (read(t->wake_fd, &count, sizeof(count)) > 0) {
		/* A re-arm the loop has not run: arming anew (which drops the old
		 * timer's expiries) and the edges already due, as one. */
		(void)catch_up(t, &due);
		if (due)
			pulse(t);
	} else {
		due = deliver_due(t);
	}
	st->irq0_due = due;
}

int pit_timer_load_state(struct pit_timer *t, const struct pit_timer_state *st, char *err,
			 size_t errsz)
{
	bool past;

	if (st->irq0_due > 1)
		return dev_state_reject(err, errsz, "pit_timer: irq0_due %u is not 0 or 1",
					st->irq0_due);
	if (!dev_state_zero(st->pad, sizeof(st->pad)))
		return dev_state_reject(err, errsz, "pit_timer: pad is not zero");
	/* Edges before the save were the saving process's to deliver. */
	int ret = catch_up(t, &past);
	if (ret < 0) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "pit_timer: cannot arm the timer");
		return ret;
	}
	if (st->irq0_due)
		pulse(t);
	return 0;
}
