/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evloop.h: the VMM thread's epoll loop, one for the life of the process:
 * the API, signals and the metrics timer before boot, then the VM's stop
 * eventfd, console and device fds beside them. Each watched fd has one
 * callback; there is no fixed limit on how many fds are watched, and a
 * component may watch as many as it needs.
 *
 * A callback may add or remove any handler, its own included: a removed
 * handler is never called again, and its memory is released only after
 * the batch of events being dispatched is done.
 */
#ifndef EMBER_EVLOOP_H
#define EMBER_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

/* evloop_fn: (fd) is ready with epoll (events). */
typedef void (*evloop_fn)(void *opaque, int fd, uint32_t events);

struct evloop_handler {
	int fd; /* -1 once removed */
	evloop_fn fn;
	void *opaque;
	struct evloop_handler *next;
};

struct evloop {
	int epfd;
	bool done;
	unsigned int count;		/* handlers watched */
	struct evloop_handler *live;	/* watched */
	struct evloop_handler *removed; /* waiting for the batch to end */
};

/* evloop_init: create the epoll instance. 0 or -errno. */
int evloop_init(struct evloop *loop);

/*
 * evloop_add: watch (fd) for (events): EPOLLIN, EPOLLOUT, with EPOLLET or
 * EPOLLONESHOT as the caller needs (the loop passes them to epoll as they
 * are). 0 or -errno.
 */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *opaque);

/*
 * evloop_mod: watch (fd), added before, for (events) from now on: arms an
 * EPOLLONESHOT fd that fired again, or quiets one (0, or EPOLLONESHOT alone
 * to hear at most one more error or hangup). epoll looks at the fd again:
 * if it is ready, an event comes, an edge-triggered fd's included. 0,
 * -ENOENT when (fd) is not watched, or -errno.
 */
int evloop_mod(struct evloop *loop, int fd, uint32_t events);

/* evloop_del: stop watching (fd) (every handler on it). */
void evloop_del(struct evloop *loop, int fd);

/*
 * evloop_poll: wait up to (timeout_ms) (-1: for ever) for one batch of
 * events and dispatch it. Returns the number of events, or -errno.
 */
int evloop_poll(struct evloop *loop, int timeout_ms);

/* evloop_run: dispatch events until evloop_stop is called. 0 or -errno. */
int evloop_run(struct evloop *loop);

/* evloop_stop: make evloop_run return after the current callback. */
void evloop_stop(struct evloop *loop);

/* evloop_destroy: close the epoll fd (not the watched fds), free the handlers. */
void evloop_destroy(struct evloop *loop);

#endif /* EMBER_EVLOOP_H */
