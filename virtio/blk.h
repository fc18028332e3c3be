/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.h: virtio-blk (virtio 1.2, 5.2, device ID 2) over a raw image file or a
 * block device, read-write or read-only, with a GET_ID string and a choice
 * of engine (sync or io_uring). Requests IN, OUT, FLUSH (fdatasync) and
 * GET_ID. Data moves with preadv/pwritev (or io_uring readv/writev) straight
 * between the file and guest memory, no bounce buffer. Read-only is enforced
 * here: the file is opened O_RDONLY, VIRTIO_BLK_F_RO is offered, and an OUT
 * gets VIRTIO_BLK_S_IOERR. A request reaching past the end of the disk gets
 * VIRTIO_BLK_S_IOERR, a malformed one IOERR too, an unknown type
 * VIRTIO_BLK_S_UNSUPP.
 *
 * Engines (blk_engine.h: blk_sync.c, blk_uring.c; this device is blk.c).
 * sync: the request is served inside ops->notify on the VMM thread,
 * with the transport lock held (acceptable for now: the lock only delays a
 * vCPU touching this device's registers). io_uring: notify submits and
 * returns; completions arrive on the engine's eventfd, which the device
 * watches in the monitor's loop (ops->attach), and on EPOLLIN the monitor
 * calls virtio_mmio_fd_ready(t), which pushes the used buffers and
 * interrupts. If the
 * host refuses io_uring (old kernel, seccomp, container) blk_create logs a
 * warning and uses the sync engine.
 */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "dev_metrics.h"
#include "device.h"
#include "ratelimit.h"
#include "vlog.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO	      5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR    512
#define VIRTIO_BLK_ID_BYTES  20
#define VIRTIO_BLK_HDR_BYTES 16 /* le32 type, le32 reserved, le64 sector */
#define BLK_QUEUE_SIZE	     256

/* The config space the driver reads (5.2.4), up to num_queues. */
struct virtio_blk_config_space {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
} __attribute__((packed));

/* What the monitor asks for: one disk. */
struct virtio_blk_config {
	const char *path;
	bool read_only;
	const char *id; /* NULL: derived from the file's device and inode */
	enum blk_engine { BLK_ENGINE_SYNC, BLK_ENGINE_IO_URING } engine;
	/*
	 * NULL: never rate limited (no timer). Else the limiter to enforce
	 * (all zero: unlimited for now), changeable later with blk_set_limiter.
	 */
	const struct virtio_rate_limit *limiter;
	struct block_metrics *metrics; /* its group (dev_metrics.h); NULL: one of its own */
};

/*
 * Rate limiting (Firecracker's RateLimiter, see ratelimit.h): each request
 * that needs I/O (IN, OUT, FLUSH) costs one operation and its data length in
 * bytes. One that does not fit stays popped and parsed, the queue is not
 * read further, and the limiter's timerfd, watched in the monitor's loop
 * beside the completion eventfd, resumes it. Nothing fails for it.
 *
 * blk_create: open (cfg->path) (O_RDONLY when read_only, else O_RDWR) and
 * size it; with BLK_ENGINE_IO_URING also set up the ring and its completion
 * eventfd (here, before seccomp: io_uring_setup/register are not needed
 * later). (*ops) receives the ops table; hand both to virtio_mmio_create,
 * which then owns the device. Returns NULL on failure, said in (err) (may be
 * NULL) and not logged: the caller names the disk in its own words. Warnings
 * (a size that is not whole sectors, io_uring refused) are logged as
 * "virtio-blk: PATH: ...".
 */
void *blk_create(const struct virtio_blk_config *cfg, const struct virtio_device_ops **ops,
		 struct vlog_err *err);

/* blk_engine: the engine actually in use (io_uring may have fallen back to sync). */
enum blk_engine blk_engine(const void *dev);

/*
 * blk_set_limiter: enforce (limit) from now on (buckets whose configuration
 * changed start full) and retry a deferred request. Call with the transport
 * lock held (virtio_mmio_with_lock). 0, or -ENOTSUP when the disk was created
 * without a limiter (cfg->limiter NULL).
 */
int blk_set_limiter(void *dev, const struct virtio_rate_limit *limit);

/*
 * blk_set_backing: make (path) the disk's backing file (Firecracker's PATCH
 * /drives path_on_host): open it as the disk was (O_RDONLY when read-only),
 * let the requests in flight finish on the old file, swap the fds, publish
 * the new capacity in config space and, once the driver is up, raise a
 * configuration-change interrupt (5.2.4). A deferred request is re-checked
 * against the new size. The disk's id does not change. Call with the
 * transport lock held (virtio_mmio_with_lock), after boot from the VMM
 * thread (it opens a file: seccomp allows openat there for this). 0 or
 * -errno with (err) saying what failed (not naming the disk, as for
 * blk_create); on failure the old file stays.
 */
int blk_set_backing(void *dev, const char *path, struct vlog_err *err);

#endif /* EMBER_VIRTIO_BLK_H */
