// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_virtio_blk.c: virtio-blk driven by a hostile driver (fuzz_virtio.c)
 * over small files in a temp directory. The first input byte picks one of
 * four disks made once per process: read-write and read-only on the sync
 * engine, read-write on io_uring (sync where the host refuses it), and one
 * with a rate limiter. Host actions: new limits, a new backing file (another
 * size, or one that does not exist), a look at the disk's metric group.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "fuzz_util.h"
#include "fuzz_virtio.h"

#define DISK_A_BYTES (64u << 10)
#define DISK_B_BYTES 1000u /* not whole sectors */
#define NDISKS	     4

struct disk {
	struct fzv v;
	bool swapped; /* the backing file is not disk A any more */
	bool limits_set;
	struct block_metrics mx; /* the disk's group, the transport's counters in it */
};

/* Harness state: the devices live as long as the process. */
static struct disk disks[NDISKS];
static char path_a[300], path_b[300], path_missing[300];
static int fd_a = -1, fd_b = -1;

static int set_backing(void *dev, void *arg)
{
	return blk_set_backing(dev, arg, NULL);
}

static int set_limiter(void *dev, void *arg)
{
	return blk_set_limiter(dev, arg);
}

static void read_bucket(struct fz *in, struct virtio_rate_bucket *b)
{
	uint8_t m = fz_u8(in);

	b->size = (m & 1) ? fz_u16(in) : 0;
	b->one_time_burst = (m & 2) ? fz_u16(in) : 0;
	b->refill_time = (m & 4) ? fz_u8(in) : 0;
	if (m & 8)
		b->size = fz_u64(in);
	if (m & 16)
		b->refill_time = fz_u64(in);
}

static void host_op(struct fzv *v, struct fz *in)
{
	struct disk *d = v->ctx;
	uint8_t op = fz_u8(in);

	switch (op % 4) {
	case 0: {
		struct virtio_rate_limit l;
		read_bucket(in, &l.bandwidth);
		read_bucket(in, &l.ops);
		(void)virtio_mmio_with_lock(v->t, set_limiter, &l);
		d->limits_set = true;
		break;
	}
	case 1: {
		static char *const paths[] = {path_a, path_b, path_missing};
		char *p = paths[(op >> 2) % 3];
		(void)virtio_mmio_with_lock(v->t, set_backing, p);
		d->swapped = d->swapped || p != path_a;
		break;
	}
	default:
		/* A notification that found nothing queued is a notification. */
		FZ_CHECK(d->mx.no_avail_buffer <= d->mx.queue_event_count,
			 "%llu notifications found nothing, of %llu",
			 (unsigned long long)d->mx.no_avail_buffer,
			 (unsigned long long)d->mx.queue_event_count);
		break;
	}
}

static void cleanup(struct fzv *v)
{
	struct disk *d = v->ctx;

	if (d->limits_set) {
		struct virtio_rate_limit none = {0};
		(void)virtio_mmio_with_lock(v->t, set_limiter, &none);
		d->limits_set = false;
	}
	if (d->swapped) {
		FZ_CHECK(virtio_mmio_with_lock(v->t, set_backing, path_a) == 0, "back to disk A");
		d->swapped = false;
	}
}

static const struct fzv_hooks hooks = {.host_op = host_op, .cleanup = cleanup};

static int make_file(const char *path, unsigned int size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FZ_CHECK(fd >= 0 && ftruncate(fd, size) == 0, "create %s", path);
	return fd;
}

/* zero_file: the disk back to all zeros and its size, so no input sees an earlier one's data. */
static void zero_file(int fd, unsigned int size)
{
	FZ_CHECK(ftruncate(fd, 0) == 0 && ftruncate(fd, size) == 0, "truncate");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fz_tmpdir("blk");
	static const struct virtio_rate_limit unlimited;

	(void)argc;
	(void)argv;
	fzv_quiet_logs();
	snprintf(path_a, sizeof(path_a), "%s/a.img", dir);
	snprintf(path_b, sizeof(path_b), "%s/b.img", dir);
	snprintf(path_missing, sizeof(path_missing), "%s/missing.img", dir);
	fd_a = make_file(path_a, DISK_A_BYTES);
	fd_b = make_file(path_b, DISK_B_BYTES);
	for (int i = 0; i < NDISKS; i++) {
		struct virtio_blk_config cfg = {
		    .path = path_a,
		    .read_only = i == 1,
		    .id = i == 0 ? "fuzzdisk" : NULL,
		    .engine = i == 2 ? BLK_ENGINE_IO_URING : BLK_ENGINE_SYNC,
		    .limiter = i == 3 ? &unlimited : NULL,
		    .metrics = &disks[i].mx,
		};
		const struct virtio_device_ops *ops = NULL;
		void *dev = blk_create(&cfg, &ops, NULL);

		FZ_CHECK(dev != NULL, "blk_create");
		fzv_attach(&disks[i].v, ops, dev, &hooks, &disks[i]);
		virtio_mmio_set_counters(
		    disks[i].v.t,
		    &(struct virtio_mmio_counters){.activate_fails = &disks[i].mx.activate_fails,
						   .cfg_fails = &disks[i].mx.cfg_fails});
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds = fz_fd_count();
	struct fz in;
	struct disk *d;

	fz_init(&in, data, size);
	d = &disks[fz_u8(&in) % NDISKS];
	zero_file(fd_a, DISK_A_BYTES);
	zero_file(fd_b, DISK_B_BYTES);
	fzv_run(&d->v, &in);
	FZ_CHECK(fz_fd_count() == fds, "file descriptors: %d open, %d before the input",
		 fz_fd_count(), fds);
	return 0;
}
