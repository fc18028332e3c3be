/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evloop.h: the VMM thread's epoll loop. Each watched fd has one callback;
 * the loop runs until evloop_stop. Later the API socket and device eventfds
 * join the same loop.
 */
#ifndef EMBER_EVLOOP_H
#define EMBER_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#define EVLOOP_MAX_HANDLERS 64

/* evloop_fn: (fd) is ready with epoll (events). */
typedef void (*evloop_fn)(void *opaque, int fd, uint32_t events);

struct evloop_handler {
	int fd; /* -1: free slot */
	evloop_fn fn;
	void *opaque;
};

struct evloop {
	int epfd;
	bool done;
	struct evloop_handler handlers[EVLOOP_MAX_HANDLERS];
};

/* evloop_init: create the epoll instance. 0 or -errno. */
int evloop_init(struct evloop *loop);

/* evloop_add: watch (fd) for (events) (EPOLLIN...). 0 or -errno. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn fn, void *opaque);

/* evloop_del: stop watching (fd). */
void evloop_del(struct evloop *loop, int fd);

/* evloop_run: dispatch events until evloop_stop is called. 0 or -errno. */
int evloop_run(struct evloop *loop);

/* evloop_stop: make evloop_run return after the current callback. */
void evloop_stop(struct evloop *loop);

/* evloop_destroy: close the epoll fd (not the watched fds). */
void evloop_destroy(struct evloop *loop);

#endif /* EMBER_EVLOOP_H */
