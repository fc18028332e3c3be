/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_engine.h: how virtio-blk (blk.c) moves a request's data between guest
 * memory and the backing file, kept apart from the device as kvmtool keeps
 * disk/raw.c apart from virtio/blk.c. The device parses requests, holds
 * their buffers and completes them; an engine does only the host I/O:
 *
 *   sync      (blk_sync.c)  preadv/pwritev/fdatasync within the call; also
 *                           what serves a request another engine declines.
 *   io_uring  (blk_uring.c) readv/writev/fsync queued on a ring; they finish
 *                           later, announced on an eventfd the device
 *                           watches.
 *
 * An engine is a const ops table and its own state, which every op gets as
 * (eng) (NULL for sync). Not thread-safe: the transport lock serialises.
 */
#ifndef EMBER_VIRTIO_BLK_ENGINE_H
#define EMBER_VIRTIO_BLK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum blk_io_op { BLK_IO_READ, BLK_IO_WRITE, BLK_IO_FLUSH };

/*
 * struct blk_io: one request's host I/O: (len) bytes at (offset) of the file
 * through (iov), or a flush. The struct need only last through submit; the
 * iovecs, until the request is reaped. An engine may advance them.
 */
struct blk_io {
	enum blk_io_op op;
	struct iovec *iov;
	unsigned int niov;
	uint64_t offset;
	uint64_t len;
};

/* What submit returns besides 0 (done) and -errno (failed). */
#define BLK_IO_QUEUED	1 /* it finishes later, and reap gives its tag back */
#define BLK_IO_DECLINED 2 /* the engine cannot take it now: serve it otherwise */

/*
 * struct blk_engine_ops:
 *
 * call: how a log line names the host call that failed for (op) ("preadv",
 *   "io_uring request"); push_call, the one push makes ("io_uring_submit").
 * submit: start (io) on the file (fd). 0 when done, -errno when it failed,
 *   BLK_IO_QUEUED (then (tag) identifies it) or BLK_IO_DECLINED.
 * push: hand what submit queued to the host: 0, or -errno and it stays
 *   queued for the next push.
 * reap: one queued request that finished: true with its (*tag) and (*res),
 *   the bytes moved or -errno; false when none has.
 * wait: block until a queued request has finished: 0 or -errno. The one
 *   op a vCPU thread may call (a reset waits for what is in flight).
 * ack: the event fd was readable: consume the wakeup. 0 or -errno.
 * event_fd: readable when queued requests have finished.
 * destroy: release the engine (reap what it finished first).
 *
 * An engine that never queues needs only call and submit; the device calls
 * push, reap, wait and ack only with requests queued, and event_fd and
 * destroy only when present.
 */
struct blk_engine_ops {
	const char *(*call)(enum blk_io_op op);
	const char *push_call;
	int (*submit)(void *eng, int fd, struct blk_io *io, uint64_t tag);
	int (*push)(void *eng);
	bool (*reap)(void *eng, uint64_t *tag, int *res);
	int (*wait)(void *eng);
	int (*ack)(void *eng);
	int (*event_fd)(void *eng);
	void (*destroy)(void *eng);
};

/* The sync engine: no state ((eng) NULL); it never queues or declines. */
extern const struct blk_engine_ops blk_sync_engine;

/*
 * blk_uring_create: an io_uring engine with room for (depth) requests and
 * its completion eventfd, before seccomp (io_uring_setup). 0 with (*ops,
 * *eng) set, or -errno (the host refuses io_uring) and both untouched.
 */
int blk_uring_create(unsigned int depth, const struct blk_engine_ops **ops, void **eng);

#endif /* EMBER_VIRTIO_BLK_ENGINE_H */
