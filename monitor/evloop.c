// SPDX-License-Identifier: Apache-2.0
/* evloop.c: epoll dispatch for the VMM thread. */
#include "evloop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"

#define EVLOOP_BATCH 16

int evloop_init(struct evloop *loop)
{
	loop->done = false;
	for (int i = 0; i < EVLOOP_MAX_HANDLERS; i++)
		loop->handlers[i].fd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	for (int i = 0; i < EVLOOP_MAX_HANDLERS; i++) {
		struct evloop_handler *h = &loop->handlers[i];
		if (h->fd >= 0)
			continue;
		struct epoll_event ev = {.events = events, .data.ptr = h};
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		*h = (struct evloop_handler){.fd = fd, .fn = fn, .opaque = opaque};
		return 0;
	}
	return -ENOSPC;
}

void evloop_del(struct evloop *loop, int fd)
{
	for (int i = 0; i < EVLOOP_MAX_HANDLERS; i++) {
		if (loop->handlers[i].fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		loop->handlers[i].fd = -1;
	}
}

int evloop_run(struct evloop *loop)
{
	struct epoll_event events[EVLOOP_BATCH];

	while (!loop->done) {
		int n = epoll_wait(loop->epfd, events, EVLOOP_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error_errno(errno, "evloop: epoll_wait");
			return -errno;
		}
		for (int i = 0; i < n && !loop->done; i++) {
			struct evloop_handler *h = events[i].data.ptr;
			if (h->fd >= 0)
				h->fn(h->opaque, h->fd, events[i].events);
		}
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	loop->done = true;
}

void evloop_destroy(struct evloop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}
