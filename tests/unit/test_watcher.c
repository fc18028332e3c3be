// SPDX-License-Identifier: Apache-2.0
/* test_watcher.c: a recording fake of the monitor's loop (see test_watcher.h). */
#include "test_watcher.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "test_watcher: %s\n", what);
	abort();
}

bool tw_all_unwatched(const struct test_watcher *tw)
{
	if (tw->live == 0 && tw->unwatches == tw->watches && tw->strays == 0)
		return true;
	fprintf(stderr, "test watcher: %u still watched, %u watches, %u unwatches, %u strays\n",
		tw->live, tw->watches, tw->unwatches, tw->strays);
	return false;
}

struct tw_fd *tw_find(struct test_watcher *tw, int fd)
{
	for (unsigned int i = 0; i < TW_MAX_FDS; i++)
		if (tw->fds[i].live && tw->fds[i].fd == fd)
			return &tw->fds[i];
	return NULL;
}

struct tw_fd *tw_find_tag(struct test_watcher *tw, uint64_t tag)
{
	for (unsigned int i = 0; i < TW_MAX_FDS; i++)
		if (tw->fds[i].live && tw->fds[i].tag == tag)
			return &tw->fds[i];
	return NULL;
}

static int tw_watch(void *ctx, int fd, uint32_t events, uint64_t tag)
{
	struct test_watcher *tw = ctx;
	unsigned int i = 0;

	if (tw_find(tw, fd) != NULL)
		die("an fd watched twice");
	while (i < TW_MAX_FDS && tw->fds[i].live)
		i++;
	if (i == TW_MAX_FDS)
		die("too many fds");
	struct epoll_event ev = {.events = events, .data.u64 = i};
	if (epoll_ctl(tw->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	tw->fds[i] = (struct tw_fd){.live = true, .fd = fd, .events = events, .tag = tag};
	tw->watches++;
	tw->live++;
	return 0;
}

static int tw_rearm(void *ctx, int fd, uint32_t events)
{
	struct test_watcher *tw = ctx;
	struct tw_fd *f = tw_find(tw, fd);

	if (f == NULL) {
		tw->strays++;
		return -ENOENT;
	}
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(f - tw->fds)};
	if (!f->quiet && epoll_ctl(tw->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	f->events = events;
	f->rearms++;
	tw->rearms++;
	return 0;
}

static void tw_unwatch(void *ctx, int fd)
{
	struct test_watcher *tw = ctx;
	struct tw_fd *f = tw_find(tw, fd);

	if (f == NULL) {
		tw->strays++;
		return;
	}
	epoll_ctl(tw->epfd, EPOLL_CTL_DEL, fd, NULL);
	f->live = false;
	tw->unwatches++;
	tw->live--;
}

struct test_watcher *tw_new(void)
{
	struct test_watcher *tw = calloc(1, sizeof(*tw));

	if (tw == NULL)
		die("out of memory");
	tw->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (tw->epfd < 0)
		die("epoll_create1");
	tw->w = (struct virtio_watcher){
	    .ctx = tw, .watch = tw_watch, .rearm = tw_rearm, .unwatch = tw_unwatch};
	return tw;
}

void tw_free(struct test_watcher *tw)
{
	if (tw == NULL)
		return;
	close(tw->epfd);
	free(tw);
}

int tw_poll(struct test_watcher *tw, struct virtio_mmio_dev *t, int timeout_ms)
{
	struct epoll_event ev;
	int n;

	do
		n = epoll_wait(tw->epfd, &ev, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	/* One event per wait: nothing can unwatch its fd between the wait and here. */
	const struct tw_fd *f = &tw->fds[ev.data.u64];
	if (!f->live)
		die("an event for an fd not watched");
	if (!virtio_mmio_fd_ready(t, f->tag, ev.events) && !f->quiet) {
		struct tw_fd *q = &tw->fds[ev.data.u64];
		struct epoll_event off = {.events = EPOLLONESHOT, .data.u64 = ev.data.u64};
		if (epoll_ctl(tw->epfd, EPOLL_CTL_MOD, q->fd, &off) < 0)
			die("quieting an fd");
		q->quiet = true;
	}
	return 1;
}

void tw_resume(struct test_watcher *tw, struct virtio_mmio_dev *t)
{
	virtio_mmio_resume(t);
	for (unsigned int i = 0; i < TW_MAX_FDS; i++) {
		struct tw_fd *f = &tw->fds[i];
		if (!f->live || !f->quiet)
			continue;
		struct epoll_event ev = {.events = f->events, .data.u64 = i};
		if (epoll_ctl(tw->epfd, EPOLL_CTL_MOD, f->fd, &ev) < 0)
			die("arming a quieted fd");
		f->quiet = false;
	}
}

void tw_drain(struct test_watcher *tw, struct virtio_mmio_dev *t, unsigned int max)
{
	while (max-- > 0 && tw_poll(tw, t, 0) == 1)
		;
}

void tw_fire_all(struct test_watcher *tw, struct virtio_mmio_dev *t, uint32_t events)
{
	for (unsigned int i = 0; i < TW_MAX_FDS; i++)
		if (tw->fds[i].live)
			(void)virtio_mmio_fd_ready(t, tw->fds[i].tag, events);
}

bool tw_ready(struct test_watcher *tw)
{
	struct pollfd p = {.fd = tw->epfd, .events = POLLIN};

	/* An epoll fd polls readable while its ready list holds something. */
	return poll(&p, 1, 0) == 1;
}
