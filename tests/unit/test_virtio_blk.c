// SPDX-License-Identifier: Apache-2.0
/* test_virtio_blk.c: virtio-blk requests through a real temp file, both engines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk.h"
#include "mmio.h"
#include "test_watcher.h"
#include "vq_builder.h"

#define DISK_SECTORS 128
#define DISK_BYTES   (DISK_SECTORS * 512)
#define ALL	     (~0ull)
#define NO_STATUS    0x5a /* what the status byte holds until the device writes it */

struct fx {
	enum blk_engine engine;
	const struct virtio_rate_limit *limiter;
	char path[64];
	struct vqb b;
	void *dev;
	struct virtio_mmio_dev *t;
	struct test_watcher *tw; /* the device's fds, as the monitor's loop would hold them */
	uint16_t next_desc;
	struct block_metrics mx; /* the group the disk counts into */
};

/* irq: counts into (ctx) when it is not NULL. */
static void irq(void *ctx)
{
	if (ctx != NULL)
		(*(int *)ctx)++;
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void make_disk(struct fx *f)
{
	uint8_t buf[DISK_BYTES];
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/ember-blk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < DISK_BYTES; i++)
		buf[i] = pattern(i);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
}

/* attach: create the device over f->path and bring the driver up. false: io_uring unavailable. */
static bool attach(struct fx *f, bool ro, const char *id)
{
	struct virtio_blk_config cfg = {.path = f->path,
					.read_only = ro,
					.id = id,
					.engine = f->engine,
					.limiter = f->limiter,
					.metrics = &f->mx};
	const struct virtio_device_ops *ops;

	vqb_init(&f->b, 16);
	f->next_desc = 0;
	memset(&f->mx, 0, sizeof(f->mx));
	f->dev = blk_create(&cfg, &ops, NULL);
	assert_non_null(f->dev);
	if (blk_engine(f->dev) != f->engine) {
		ops->destroy(f->dev);
		vqb_free(&f->b);
		return false;
	}
	assert_int_equal(!!(ops->features & VIRTIO_BIT(VIRTIO_BLK_F_RO)), ro);
	f->t = virtio_mmio_create(ops, f->dev, &f->b.gm, irq, NULL);
	assert_non_null(f->t);
	f->tw = tw_new();
	assert_int_equal(virtio_mmio_attach(f->t, &f->tw->w), 0);
	/* the completion eventfd with io_uring, the limiter's timer with a limiter */
	assert_int_equal(f->tw->live, (f->engine == BLK_ENGINE_IO_URING) + (f->limiter != NULL));
	assert_int_equal(vqb_driver_init(f->t, &f->b, 0, ALL),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return true;
}

/* destroy: the transport and its device; every fd the device watched is unwatched. */
static void destroy(struct fx *f)
{
	virtio_mmio_destroy(f->t);
	f->t = NULL;
	if (f->tw != NULL) {
		assert_true(tw_all_unwatched(f->tw));
		tw_free(f->tw);
		f->tw = NULL;
	}
}

static void detach(struct fx *f)
{
	destroy(f);
	vqb_free(&f->b);
}

/* wait_used: run the device until used->idx reaches (want). */
static void wait_used(struct fx *f, uint16_t want)
{
	for (int i = 0; i < 1000 && vqb_used_idx(&f->b) != want; i++) {
		assert_true(f->tw->live > 0);
		assert_int_equal(tw_poll(f->tw, f->t, 5000), 1);
	}
	assert_int_equal(vqb_used_idx(&f->b), want);
}

struct req {
	uint32_t type;
	uint64_t sector;
	uint32_t len;	 /* data bytes */
	bool data_write; /* data buffer device-writable */
	uint64_t data;	 /* gpa of the data buffer, filled by submit */
	uint64_t status; /* gpa of the status byte */
};

/* queue_req: header, data, status as three descriptors, published; returns the head. */
static uint16_t queue_req(struct fx *f, struct req *r)
{
	struct vqb *b = &f->b;
	uint64_t hdr = vqb_alloc(b, 16);
	uint16_t d = f->next_desc, head = d;

	memcpy(vqb_host(b, hdr), &r->type, 4);
	memset((uint8_t *)vqb_host(b, hdr) + 4, 0, 4);
	memcpy((uint8_t *)vqb_host(b, hdr) + 8, &r->sector, 8);
	r->status = vqb_alloc(b, 1);
	*(uint8_t *)vqb_host(b, r->status) = NO_STATUS;
	vqb_desc(b, b->desc, d, hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)((d + 1) % 16));
	d = (uint16_t)((d + 1) % 16);
	if (r->len > 0) {
		r->data = vqb_alloc(b, r->len);
		vqb_desc(b, b->desc, d, r->data, r->len,
			 VIRTQ_DESC_F_NEXT | (r->data_write ? VIRTQ_DESC_F_WRITE : 0),
			 (uint16_t)((d + 1) % 16));
		d = (uint16_t)((d + 1) % 16);
	}
	vqb_desc(b, b->desc, d, r->status, 1, VIRTQ_DESC_F_WRITE, 0);
	f->next_desc = (uint16_t)((d + 1) % 16);
	vqb_publish(b, head);
	return head;
}

/* submit: queue_req, notify, wait for the answer. */
static uint8_t submit(struct fx *f, struct req *r, uint32_t *used_len)
{
	struct vqb *b = &f->b;
	uint16_t want = (uint16_t)(vqb_used_idx(b) + 1);
	uint16_t head = queue_req(f, r);
	uint32_t id;

	virtio_mmio_notify(f->t, 0);
	if (f->engine == BLK_ENGINE_IO_URING)
		wait_used(f, want);
	assert_int_equal(vqb_used_idx(b), want);
	vqb_used_elem(b, (uint16_t)(want - 1), &id, used_len);
	assert_int_equal(id, head);
	return *(uint8_t *)vqb_host(b, r->status);
}

static int setup_sync(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.engine = BLK_ENGINE_SYNC;
	make_disk(&f);
	*state = &f;
	return 0;
}

static int setup_uring(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.engine = BLK_ENGINE_IO_URING;
	make_disk(&f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	return 0;
}

#define ATTACH(f, ro, id)                                                                          \
	do {                                                                                       \
		if (!attach((f), (ro), (id)))                                                      \
			skip();                                                                    \
	} while (0)

static void test_in_out_flush(void **state)
{
	struct fx *f = *state;
	uint8_t buf[1024], *p;
	uint32_t used;
	int fd;

	ATTACH(f, false, NULL);
	struct req in = {.type = VIRTIO_BLK_T_IN, .sector = 2, .len = 1024, .data_write = true};
	assert_int_equal(submit(f, &in, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	p = vqb_host(&f->b, in.data);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(p[i], pattern(1024 + i));

	struct req out = {.type = VIRTIO_BLK_T_OUT, .sector = 4, .len = 512};
	assert_int_equal(submit(f, &out, &used), VIRTIO_BLK_S_OK); /* a fresh buffer: zeros */
	assert_int_equal(used, 1);
	struct req out2 = {.type = VIRTIO_BLK_T_OUT, .sector = 127, .len = 512};
	assert_int_equal(submit(f, &out2, &used), VIRTIO_BLK_S_OK); /* last sector */

	struct req fl = {.type = VIRTIO_BLK_T_FLUSH};
	assert_int_equal(submit(f, &fl, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);

	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, 512, 4 * 512), 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(pread(fd, buf, 512, 5 * 512), 512);
	assert_int_equal(buf[0], pattern(5 * 512));
	close(fd);

	/* read back what OUT wrote, through the device */
	struct req in2 = {.type = VIRTIO_BLK_T_IN, .sector = 4, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &in2, &used), VIRTIO_BLK_S_OK);
	p = vqb_host(&f->b, in2.data);
	assert_int_equal(p[0] | p[511], 0);
	detach(f);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	uint32_t used;
	uint8_t *p;

	ATTACH(f, false, "disk-one");
	struct req id = {.type = VIRTIO_BLK_T_GET_ID, .len = 20, .data_write = true};
	assert_int_equal(submit(f, &id, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	p = vqb_host(&f->b, id.data);
	assert_memory_equal(p, "disk-one\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	/* a shorter buffer gets a prefix */
	struct req id2 = {.type = VIRTIO_BLK_T_GET_ID, .len = 4, .data_write = true};
	assert_int_equal(submit(f, &id2, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 5);
	assert_memory_equal(vqb_host(&f->b, id2.data), "disk", 4);
	detach(f);

	/* default: derived from the file (digits of device and inode) */
	ATTACH(f, false, NULL);
	struct req id3 = {.type = VIRTIO_BLK_T_GET_ID, .len = 20, .data_write = true};
	assert_int_equal(submit(f, &id3, &used), VIRTIO_BLK_S_OK);
	p = vqb_host(&f->b, id3.data);
	assert_true(p[0] >= '0' && p[0] <= '9');
	detach(f);
}

static void test_past_the_end(void **state)
{
	struct fx *f = *state;
	uint32_t used;

	ATTACH(f, false, NULL);
	static const struct {
		uint32_t type;
		uint64_t sector;
		uint32_t len;
	} bad[] = {
	    {VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024},	  {VIRTIO_BLK_T_IN, DISK_SECTORS, 512},
	    {VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024},	  {VIRTIO_BLK_T_OUT, UINT64_MAX, 512},
	    {VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct req r = {.type = bad[i].type,
				.sector = bad[i].sector,
				.len = bad[i].len,
				.data_write = bad[i].type == VIRTIO_BLK_T_IN};
		assert_int_equal(submit(f, &r, &used), VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
	}
	/* the file did not grow */
	FILE *fp = fopen(f->path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	assert_int_equal(ftell(fp), DISK_BYTES);
	fclose(fp);
	/* zero-length at the very end is fine */
	struct req z = {.type = VIRTIO_BLK_T_IN, .sector = DISK_SECTORS};
	assert_int_equal(submit(f, &z, &used), VIRTIO_BLK_S_OK);
	detach(f);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	uint8_t buf[512];
	uint32_t used;
	int fd;

	ATTACH(f, true, NULL);
	struct req out = {.type = VIRTIO_BLK_T_OUT, .sector = 0, .len = 512};
	assert_int_equal(submit(f, &out, &used), VIRTIO_BLK_S_IOERR);
	struct req fl = {.type = VIRTIO_BLK_T_FLUSH};
	assert_int_equal(submit(f, &fl, &used), VIRTIO_BLK_S_OK);
	struct req in = {.type = VIRTIO_BLK_T_IN, .sector = 0, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &in, &used), VIRTIO_BLK_S_OK);
	fd = open(f->path, O_RDONLY);
	assert_int_equal(pread(fd, buf, 512, 0), 512);
	close(fd);
	for (int i = 0; i < 512; i++)
		assert_int_equal(buf[i], pattern(i)); /* untouched */
	/* the driver sees RO offered */
	vqb_mmio_write(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_true(vqb_mmio_read(f->t, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
	detach(f);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;

	ATTACH(f, false, NULL);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 0), DISK_SECTORS);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 4), 0);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 12), BLK_QUEUE_SIZE - 2);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 20), 512);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 0x40), 0);
	detach(f);
}

/* Requests that are wrong above the ring level get a status, not a reset. */
static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct vqb *b;
	uint32_t used, id;
	uint64_t hdr, st;
	uint32_t type = 77;

	ATTACH(f, false, NULL);
	b = &f->b;
	struct req unk = {.type = 77, .len = 8, .data_write = true};
	assert_int_equal(submit(f, &unk, &used), VIRTIO_BLK_S_UNSUPP);
	struct req odd = {.type = VIRTIO_BLK_T_IN, .len = 100, .data_write = true};
	assert_int_equal(submit(f, &odd, &used), VIRTIO_BLK_S_IOERR);
	struct req dir = {.type = VIRTIO_BLK_T_IN, .len = 512, .data_write = false};
	assert_int_equal(submit(f, &dir, &used), VIRTIO_BLK_S_IOERR);
	struct req dir2 = {.type = VIRTIO_BLK_T_OUT, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &dir2, &used), VIRTIO_BLK_S_IOERR);

	/* header of 8 bytes */
	hdr = vqb_alloc(b, 8);
	memcpy(vqb_host(b, hdr), &type, 4);
	st = vqb_alloc(b, 1);
	vqb_desc(b, b->desc, 10, hdr, 8, VIRTQ_DESC_F_NEXT, 11);
	vqb_desc(b, b->desc, 11, st, 1, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(b, 10);
	/* no status byte at all: returned with 0 bytes written */
	vqb_desc(b, b->desc, 12, vqb_alloc(b, 16), 16, 0, 0);
	vqb_publish(b, 12);
	virtio_mmio_notify(f->t, 0);
	if (f->engine == BLK_ENGINE_IO_URING)
		wait_used(f, 6);
	assert_int_equal(vqb_used_idx(b), 6);
	assert_int_equal(*(uint8_t *)vqb_host(b, st), VIRTIO_BLK_S_IOERR);
	vqb_used_elem(b, 5, &id, &used);
	assert_int_equal(id, 12);
	assert_int_equal(used, 0);
	assert_false(virtio_mmio_status(f->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	detach(f);
}

/*
 * A chain the device cannot follow breaks the queue: a descriptor whose NEXT
 * is itself, or a data buffer past the end of guest RAM. The device sets
 * DEVICE_NEEDS_RESET and says so with a configuration-change interrupt,
 * completes nothing, serves nothing more until the driver resets it, and
 * works again after the reset.
 */
static void test_broken_chain(void **state)
{
	struct fx *f = *state;

	for (int kind = 0; kind < 2; kind++) {
		ATTACH(f, false, NULL);
		struct vqb *b = &f->b;
		uint64_t hdr = vqb_alloc(b, 16), data = vqb_alloc(b, 512), st = vqb_alloc(b, 1);
		uint32_t type = VIRTIO_BLK_T_IN, used;

		memcpy(vqb_host(b, hdr), &type, 4);
		*(uint8_t *)vqb_host(b, st) = NO_STATUS;
		if (kind == 0) {
			vqb_desc(b, b->desc, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 0);
		} else {
			vqb_desc(b, b->desc, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
			vqb_desc(b, b->desc, 1, VQB_RAM_GPA + VQB_RAM_SIZE - 256, 512,
				 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
			vqb_desc(b, b->desc, 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
		}
		vqb_publish(b, 0);
		virtio_mmio_notify(f->t, 0);
		assert_true(virtio_mmio_status(f->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		assert_true(vqb_mmio_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS) &
			    VIRTIO_MMIO_INT_CONFIG);
		assert_int_equal(vqb_used_idx(b), 0);
		assert_int_equal(*(uint8_t *)vqb_host(b, st), NO_STATUS);

		/* a good request now waits: the device is stopped */
		vqb_desc(b, b->desc, 3, hdr, 16, VIRTQ_DESC_F_NEXT, 4);
		vqb_desc(b, b->desc, 4, data, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
		vqb_desc(b, b->desc, 5, st, 1, VIRTQ_DESC_F_WRITE, 0);
		vqb_publish(b, 3);
		virtio_mmio_notify(f->t, 0);
		assert_int_equal(vqb_used_idx(b), 0);
		assert_int_equal(*(uint8_t *)vqb_host(b, st), NO_STATUS);

		/* the driver resets it and sets it up again: it serves */
		vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, 0);
		assert_int_equal(virtio_mmio_status(f->t), 0);
		memset(vqb_host(b, b->used), 0, 4);
		vqb_set_avail_idx(b, 0);
		f->next_desc = 0;
		assert_int_equal(vqb_driver_init(f->t, b, 0, ALL) & VIRTIO_STATUS_DRIVER_OK,
				 VIRTIO_STATUS_DRIVER_OK);
		struct req in = {
		    .type = VIRTIO_BLK_T_IN, .sector = 2, .len = 512, .data_write = true};
		assert_int_equal(submit(f, &in, &used), VIRTIO_BLK_S_OK);
		assert_int_equal(((uint8_t *)vqb_host(b, in.data))[5], pattern(2 * 512 + 5));
		detach(f);
	}
}

/* Framing is the driver's choice (2.7.4): header split, data and status in one buffer. */
static void test_any_layout(void **state)
{
	struct fx *f = *state;
	struct vqb *b;
	uint64_t h1, h2, ds;
	uint32_t id, used, type = VIRTIO_BLK_T_IN;
	uint64_t sector = 3;
	uint8_t *p;

	ATTACH(f, false, NULL);
	b = &f->b;
	h1 = vqb_alloc(b, 4);
	h2 = vqb_alloc(b, 12);
	ds = vqb_alloc(b, 513);
	memcpy(vqb_host(b, h1), &type, 4);
	memset(vqb_host(b, h2), 0, 12);
	memcpy((uint8_t *)vqb_host(b, h2) + 4, &sector, 8);
	vqb_desc(b, b->desc, 0, h1, 4, VIRTQ_DESC_F_NEXT, 1);
	vqb_desc(b, b->desc, 1, h2, 12, VIRTQ_DESC_F_NEXT, 2);
	vqb_desc(b, b->desc, 2, ds, 513, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(b, 0);
	virtio_mmio_notify(f->t, 0);
	if (f->engine == BLK_ENGINE_IO_URING)
		wait_used(f, 1);
	vqb_used_elem(b, 0, &id, &used);
	assert_int_equal(used, 513);
	p = vqb_host(b, ds);
	assert_int_equal(p[512], VIRTIO_BLK_S_OK);
	for (int i = 0; i < 512; i++)
		assert_int_equal(p[i], pattern(3 * 512 + i));
	detach(f);
}

/* Reset with requests in flight: nothing completes into the old rings, nothing leaks. */
static void test_reset_mid_request(void **state)
{
	struct fx *f = *state;
	int before = open_fds();

	for (int cycle = 0; cycle < 3; cycle++) {
		ATTACH(f, false, NULL);
		struct vqb *b = &f->b;
		for (uint16_t i = 0; i < 4; i++) {
			uint64_t hdr = vqb_alloc(b, 16), data = vqb_alloc(b, 4096),
				 st = vqb_alloc(b, 1);
			uint32_t type = VIRTIO_BLK_T_IN;
			uint64_t sector = 8u * i;
			memcpy(vqb_host(b, hdr), &type, 4);
			memcpy((uint8_t *)vqb_host(b, hdr) + 8, &sector, 8);
			*(uint8_t *)vqb_host(b, st) = NO_STATUS;
			vqb_desc(b, b->desc, 3 * i, hdr, 16, VIRTQ_DESC_F_NEXT, 3 * i + 1);
			vqb_desc(b, b->desc, 3 * i + 1, data, 4096,
				 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * i + 2);
			vqb_desc(b, b->desc, 3 * i + 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
			vqb_publish(b, 3 * i);
		}
		virtio_mmio_notify(f->t, 0);
		if (f->engine == BLK_ENGINE_IO_URING) {
			/* in flight now; the driver resets before the completions are reaped */
			vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, 0);
			assert_int_equal(vqb_used_idx(b), 0);
			tw_fire_all(f->tw, f->t, EPOLLIN); /* a late wakeup is harmless */
			assert_int_equal(vqb_used_idx(b), 0);
		} else {
			assert_int_equal(vqb_used_idx(b), 4);
			vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, 0);
		}
		assert_int_equal(virtio_mmio_status(f->t), 0);
		/* and the device works again after the reset */
		memset(vqb_host(b, b->used), 0, 4);
		vqb_set_avail_idx(b, 0);
		f->next_desc = 0;
		assert_int_equal(vqb_driver_init(f->t, b, 0, ALL) & VIRTIO_STATUS_DRIVER_OK,
				 VIRTIO_STATUS_DRIVER_OK);
		uint32_t used;
		struct req in = {
		    .type = VIRTIO_BLK_T_IN, .sector = 1, .len = 512, .data_write = true};
		assert_int_equal(submit(f, &in, &used), VIRTIO_BLK_S_OK);
		detach(f);
	}
	assert_int_equal(open_fds(), before);
}

/*
 * The counters behind the metrics, in the group the disk was handed: a
 * refused request, a failed host read and a notification with nothing
 * queued each land in their own counter, and stay once the disk is gone.
 */
static void test_counters(void **state)
{
	struct fx *f = *state;
	const struct block_metrics *st = &f->mx;
	uint32_t used;

	ATTACH(f, false, NULL);
	virtio_mmio_notify(f->t, 0); /* nothing queued */
	struct req in = {.type = VIRTIO_BLK_T_IN, .sector = 0, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &in, &used), VIRTIO_BLK_S_OK);
	struct req past = {
	    .type = VIRTIO_BLK_T_IN, .sector = DISK_SECTORS, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &past, &used), VIRTIO_BLK_S_IOERR);
	/* the host file shrinks under the guest: the read fails on the host */
	assert_int_equal(truncate(f->path, 0), 0);
	struct req lost = {.type = VIRTIO_BLK_T_IN, .sector = 1, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &lost, &used), VIRTIO_BLK_S_IOERR);

	assert_int_equal(st->read_count, 1);
	assert_int_equal(st->read_bytes, 512);
	assert_int_equal(st->invalid_reqs_count, 1);
	assert_int_equal(st->execute_fails, 1);
	assert_int_equal(st->queue_event_count, 4);
	assert_int_equal(st->no_avail_buffer, 1);
	assert_int_equal(st->rate_limiter_throttled_events, 0);
	assert_int_equal(st->io_engine_throttled_events, 0);
	assert_int_equal(st->event_fails, 0);
	detach(f);
	assert_int_equal(st->read_count, 1); /* the group outlives the device */
}

/*
 * restore: what a new process does with (st): the same disk (configuration
 * as attach made it) on a transport over a copy of guest memory; the old
 * transport goes away as its process would. Returns the new transport's
 * interrupt count after the load.
 */
static int restore(struct fx *f, const struct virtio_mmio_state *st, int *irqs)
{
	struct virtio_blk_config cfg = {
	    .path = f->path, .engine = f->engine, .limiter = f->limiter};
	const struct virtio_device_ops *ops;
	struct vlog_err err = {0};
	struct vqb b2;
	void *dev;

	vqb_clone(&b2, &f->b);
	destroy(f);
	vqb_free(&f->b);
	f->b = b2;
	dev = blk_create(&cfg, &ops, NULL);
	assert_non_null(dev);
	f->dev = dev;
	*irqs = 0;
	f->t = virtio_mmio_create(ops, dev, &f->b.gm, irq, irqs);
	assert_non_null(f->t);
	f->tw = tw_new();
	assert_int_equal(virtio_mmio_attach(f->t, &f->tw->w), 0);
	if (virtio_mmio_load_state(f->t, st, &err) != 0)
		fail_msg("load: %s", err.msg);
	return *irqs;
}

/*
 * Saved after a quiesce and loaded in a new device, the disk goes on: with
 * io_uring the requests in flight at the quiesce are complete (their used
 * entries there) before the save; the saved interrupt is raised again; the
 * next request is served at the next used index; what was written is there.
 */
static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio_state st;
	struct req reads[3];
	uint32_t used;
	int irqs;

	ATTACH(f, false, NULL);
	struct req out = {.type = VIRTIO_BLK_T_OUT, .sector = 3, .len = 512};
	assert_int_equal(submit(f, &out, &used), VIRTIO_BLK_S_OK);
	for (int i = 0; i < 3; i++) {
		reads[i] = (struct req){.type = VIRTIO_BLK_T_IN,
					.sector = 8u * (unsigned int)i + 8,
					.len = 4096,
					.data_write = true};
		queue_req(f, &reads[i]);
	}
	virtio_mmio_notify(f->t, 0);
	if (f->engine == BLK_ENGINE_IO_URING)
		assert_int_equal(vqb_used_idx(&f->b), 1); /* in flight: nothing reaped yet */
	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	assert_int_equal(vqb_used_idx(&f->b), 4);
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = vqb_host(&f->b, reads[i].data);
		assert_int_equal(*(uint8_t *)vqb_host(&f->b, reads[i].status), VIRTIO_BLK_S_OK);
		assert_int_equal(p[100], pattern(reads[i].sector * 512 + 100));
	}
	virtio_mmio_save_state(f->t, &st);
	assert_int_equal(st.queues[0].used_idx, 4);
	assert_int_equal(st.queues[0].last_avail, 4);
	assert_int_equal(st.dev_len, sizeof(struct ratelimit_opt_state));

	assert_int_equal(restore(f, &st, &irqs), 1); /* InterruptStatus was left unacknowledged */
	assert_int_equal(virtio_mmio_status(f->t),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	vqb_set_used_event(&f->b, 4); /* an interrupt once entry 4 is used */
	struct req in = {.type = VIRTIO_BLK_T_IN, .sector = 2, .len = 1024, .data_write = true};
	assert_int_equal(submit(f, &in, &used), VIRTIO_BLK_S_OK); /* used index 5, its head */
	assert_int_equal(used, 1025);
	const uint8_t *p = vqb_host(&f->b, in.data);
	assert_int_equal(p[0], pattern(1024));
	assert_int_equal(p[512], 0); /* sector 3, written before the save */
	assert_int_equal(p[1023], 0);
	assert_int_equal(irqs, 2);
	detach(f);
}

static int set_limiter(void *dev, void *arg)
{
	return blk_set_limiter(dev, arg);
}

/*
 * A request waiting for the rate limiter at the save goes back to the ring
 * and waits again in the new device, whose limiter took the saved (empty)
 * bucket; lifting the limit serves it, in order.
 */
static void test_snapshot_rate_limited(void **state)
{
	static const struct virtio_rate_limit one_op = {.ops = {.size = 1, .refill_time = 100000}};
	static const struct virtio_rate_limit none;
	struct fx *f = *state;
	struct virtio_mmio_state st;
	struct vlog_err err = {0};
	uint32_t used, id;
	uint16_t head;
	int irqs;

	f->limiter = &one_op;
	ATTACH(f, false, NULL);
	struct req first = {.type = VIRTIO_BLK_T_IN, .sector = 1, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &first, &used), VIRTIO_BLK_S_OK);
	struct req second = {.type = VIRTIO_BLK_T_IN, .sector = 2, .len = 512, .data_write = true};
	head = queue_req(f, &second);
	virtio_mmio_notify(f->t, 0);
	assert_int_equal(vqb_used_idx(&f->b), 1); /* waiting for a token */
	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	virtio_mmio_save_state(f->t, &st);
	assert_int_equal(st.queues[0].last_avail, 1); /* given back */
	restore(f, &st, &irqs);
	assert_int_equal(vqb_used_idx(&f->b), 1); /* the saved bucket is empty: it waits */
	assert_int_equal(virtio_mmio_with_lock(f->t, set_limiter, (void *)&none), 0);
	if (f->engine == BLK_ENGINE_IO_URING)
		wait_used(f, 2);
	assert_int_equal(vqb_used_idx(&f->b), 2);
	vqb_used_elem(&f->b, 1, &id, &used);
	assert_int_equal(id, head);
	assert_int_equal(*(uint8_t *)vqb_host(&f->b, second.status), VIRTIO_BLK_S_OK);

	/* another configuration here (no limiter): the saved one is not applied */
	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	virtio_mmio_save_state(f->t, &st);
	f->limiter = NULL;
	restore(f, &st, &irqs);
	struct req third = {.type = VIRTIO_BLK_T_IN, .sector = 3, .len = 512, .data_write = true};
	assert_int_equal(submit(f, &third, &used), VIRTIO_BLK_S_OK);
	/* a read-only disk offers other features: refused */
	destroy(f);
	struct virtio_blk_config ro = {.path = f->path, .read_only = true, .engine = f->engine};
	const struct virtio_device_ops *ops;
	void *dev = blk_create(&ro, &ops, NULL);
	f->t = virtio_mmio_create(ops, dev, &f->b.gm, irq, NULL);
	assert_int_equal(virtio_mmio_load_state(f->t, &st, &err), -EINVAL);
	assert_int_equal(strncmp(err.msg, "device_features", 15), 0);
	/* a disk part that does not hold together: refused, the transport reset */
	f->limiter = &one_op;
	restore(f, &st, &irqs);
	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	virtio_mmio_save_state(f->t, &st);
	destroy(f);
	dev = blk_create(&(struct virtio_blk_config){.path = f->path, .engine = f->engine}, &ops,
			 NULL);
	f->t = virtio_mmio_create(ops, dev, &f->b.gm, irq, NULL);
	st.dev[0] = 2; /* present: 2 */
	assert_int_equal(virtio_mmio_load_state(f->t, &st, &err), -EINVAL);
	assert_string_equal(err.msg, "dev.present: 2 (pad 0)");
	assert_int_equal(virtio_mmio_status(f->t), 0);
	st.dev_len = 8;
	assert_int_equal(virtio_mmio_load_state(f->t, &st, &err), -EINVAL);
	assert_int_equal(strncmp(err.msg, "dev_len", 7), 0);
	detach(f);
	f->limiter = NULL;
}

/*
 * The device's fds go into the monitor's loop at attach, each once, for
 * EPOLLIN, with tags apart (the engine's completions, the limiter's timer),
 * and all leave it at destroy, before they close.
 */
static void test_fds_watched(void **state)
{
	static const struct virtio_rate_limit limit = {.ops = {.size = 1, .refill_time = 1000}};
	struct fx *f = *state;
	struct test_watcher *tw;

	f->limiter = &limit;
	ATTACH(f, false, NULL);
	tw = f->tw;
	assert_int_equal(tw->watches, tw->live);
	for (unsigned int i = 0; i < TW_MAX_FDS; i++)
		if (tw->fds[i].live)
			assert_int_equal(tw->fds[i].events, EPOLLIN);
	if (f->engine == BLK_ENGINE_IO_URING) {
		unsigned int a = 0, b = 0;
		while (!tw->fds[a].live)
			a++;
		b = a + 1;
		while (!tw->fds[b].live)
			b++;
		assert_true(tw->fds[a].tag != tw->fds[b].tag);
	}
	/* a request still served through them */
	struct req r = {.type = VIRTIO_BLK_T_IN, .sector = 1, .len = 512, .data_write = true};
	uint32_t used;
	assert_int_equal(submit(f, &r, &used), VIRTIO_BLK_S_OK);
	f->limiter = NULL;
	detach(f); /* every fd unwatched, none unknown */
}

static void test_create_errors(void **state)
{
	struct virtio_blk_config cfg = {.path = "/nonexistent/disk.img"};
	const struct virtio_device_ops *ops;
	struct vlog_err err;

	(void)state;
	/* Each failure says what failed, for the caller to name the disk. */
	assert_null(blk_create(&cfg, &ops, &err));
	assert_string_equal(err.msg, "open");
	assert_int_equal(err.errnum, ENOENT);
	cfg.path = "/tmp"; /* a directory */
	assert_null(blk_create(&cfg, &ops, &err));
	assert_string_equal(err.msg, "open");
	assert_int_equal(err.errnum, EISDIR);
	cfg.path = "/dev/null";
	cfg.read_only = true;
	assert_null(blk_create(&cfg, &ops, &err));
	assert_string_equal(err.msg, "not a regular file or block device");
	assert_int_equal(err.errnum, 0);
}

int main(void)
{
#define S(fn) cmocka_unit_test_setup_teardown(fn, setup_sync, teardown)
#define U(fn) cmocka_unit_test_setup_teardown(fn, setup_uring, teardown)
	const struct CMUnitTest tests[] = {
	    S(test_in_out_flush),
	    U(test_in_out_flush),
	    S(test_get_id),
	    U(test_get_id),
	    S(test_past_the_end),
	    U(test_past_the_end),
	    S(test_read_only),
	    U(test_read_only),
	    S(test_config_space),
	    S(test_malformed),
	    U(test_malformed),
	    S(test_broken_chain),
	    U(test_broken_chain),
	    S(test_any_layout),
	    U(test_any_layout),
	    S(test_reset_mid_request),
	    U(test_reset_mid_request),
	    S(test_counters),
	    U(test_counters),
	    S(test_snapshot),
	    U(test_snapshot),
	    S(test_snapshot_rate_limited),
	    U(test_snapshot_rate_limited),
	    S(test_fds_watched),
	    U(test_fds_watched),
	    cmocka_unit_test(test_create_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
