// SPDX-License-Identifier: Apache-2.0
/* evloop.c: epoll dispatch for the VMM thread (see evloop.h). */
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"

#define EVLOOP_BATCH 16

int evloop_init(struct evloop *loop)
{
	loop->done = false;
	loop->count = 0;
	loop->live = loop->removed = NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	struct evloop_handler *h = malloc(sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	*h = (struct evloop_handler){.fd = fd, .fn = fn, .opaque = opaque, .next = loop->live};
	struct epoll_event ev = {.events = events, .data.ptr = h};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;
		free(h);
		return -err;
	}
	loop->live = h;
	loop->count++;
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	for (struct evloop_handler *h = loop->live; h != NULL; h = h->next) {
		if (h->fd != fd)
			continue;
		struct epoll_event ev = {.events = events, .data.ptr = h};
		return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

void evloop_del(struct evloop *loop, int fd)
{
	struct evloop_handler **link = &loop->live;

	while (*link != NULL) {
		struct evloop_handler *h = *link;
		if (h->fd != fd) {
			link = &h->next;
			continue;
		}
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		*link = h->next;
		/* Events for it may sit in the batch being dispatched: keep it until then. */
		h->fd = -1;
		h->next = loop->removed;
		loop->removed = h;
		loop->count--;
	}
}

/* release_removed: free handlers removed during the batch just dispatched. */
static void release_removed(struct evloop *loop)
{
	while (loop->removed != NULL) {
		struct evloop_handler *h = loop->removed;
		loop->removed = h->next;
		free(h);
	}
}

int evloop_poll(struct evloop *loop, int timeout_ms)
{
	struct epoll_event events[EVLOOP_BATCH];
	int n = epoll_wait(loop->epfd, events, EVLOOP_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !loop->done; i++) {
		struct evloop_handler *h = events[i].data.ptr;
		if (h->fd >= 0)
			h->fn(h->opaque, h->fd, events[i].events);
	}
	release_removed(loop);
	return n;
}

int evloop_run(struct evloop *loop)
{
	loop->done = false;
	while (!loop->done) {
		int n = evloop_poll(loop, -1);
		if (n < 0) {
			log_error_errno(-n, "evloop: epoll_wait");
			return n;
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
	while (loop->live != NULL) {
		struct evloop_handler *h = loop->live;
		loop->live = h->next;
		free(h);
	}
	release_removed(loop);
	loop->count = 0;
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}
