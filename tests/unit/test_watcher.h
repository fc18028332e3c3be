/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_watcher.h: the monitor's event loop as a device sees it (struct
 * virtio_watcher, device.h), for device tests. Records every watch, rearm
 * and unwatch, and keeps the watched fds in a real epoll set, so a test can
 * wait for them and hand their events to the transport as the monitor does.
 * Aborts on misuse: it is test code.
 */
#ifndef EMBER_TEST_WATCHER_H
#define EMBER_TEST_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "mmio.h"

/* More than a vsock device may hold: its connections and its own three fds. */
#define TW_MAX_FDS 1100

struct tw_fd {
	bool live;
	int fd;
	uint32_t events; /* as last watched or rearmed */
	uint64_t tag;
	unsigned int rearms;
	bool quiet; /* refused while quiesced: off until tw_resume, as the monitor does */
};

struct test_watcher {
	struct virtio_watcher w; /* hand &w to virtio_mmio_attach */
	int epfd;
	unsigned int watches, rearms, unwatches;
	unsigned int strays; /* rearm or unwatch of an fd not watched */
	unsigned int live;   /* watched now */
	struct tw_fd fds[TW_MAX_FDS];
};

/* tw_new: an empty watcher (heap: it is large). tw_free: close its epoll set, free it. */
struct test_watcher *tw_new(void);
void tw_free(struct test_watcher *tw);

/*
 * tw_all_unwatched: a destroyed device left nothing behind: no fd watched,
 * as many unwatches as watches, no stray call. Says on stderr what is off.
 */
bool tw_all_unwatched(const struct test_watcher *tw);

/* tw_find: the record of (fd) while watched, or NULL. */
struct tw_fd *tw_find(struct test_watcher *tw, int fd);

/* tw_find_tag: the record watched with (tag), or NULL. */
struct tw_fd *tw_find_tag(struct test_watcher *tw, uint64_t tag);

/*
 * tw_poll: wait up to (timeout_ms) for one watched fd to be ready and hand
 * its events to (t) (virtio_mmio_fd_ready). 1 when one was, 0 when none.
 * An event the quiesced transport refuses quiets its fd, as the monitor
 * does (virtio_slots.c), until tw_resume.
 */
int tw_poll(struct test_watcher *tw, struct virtio_mmio_dev *t, int timeout_ms);

/* tw_resume: virtio_mmio_resume(t), then arm every quieted fd again with its events. */
void tw_resume(struct test_watcher *tw, struct virtio_mmio_dev *t);

/* tw_drain: tw_poll without waiting until nothing is ready (at most (max) events). */
void tw_drain(struct test_watcher *tw, struct virtio_mmio_dev *t, unsigned int max);

/* tw_ready: whether a watched fd is ready, without taking its event (an edge stays). */
bool tw_ready(struct test_watcher *tw);

/* tw_fire_all: hand (events) on every watched fd to (t), ready or not: a spurious wakeup each. */
void tw_fire_all(struct test_watcher *tw, struct virtio_mmio_dev *t, uint32_t events);

#endif /* EMBER_TEST_WATCHER_H */
