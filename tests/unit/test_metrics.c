// SPDX-License-Identifier: Apache-2.0
/*
 * test_metrics.c: the device groups of the metrics. A real virtio-blk over
 * a temporary file counts straight into the group the metrics registered
 * for its drive id; the group is found by id whatever order the drives came
 * in; and counts made before the device is destroyed reach the next flush
 * after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "metrics.h"
#include "mmio.h"
#include "vq_builder.h"

#define DISK_BYTES (64 * 1024)
#define QSIZE	   16
#define NO_STATUS  0xff
#define ALL	   (~0ull)

/* One disk on its transport, as the builder attaches it: group in hand, counters wired. */
struct disk {
	struct vqb b;
	struct virtio_mmio_dev *t;
	uint16_t next_desc;
};

static char path[64];

static void irq(void *ctx)
{
	(void)ctx;
}

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/ember-metrics-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	int ret = ftruncate(fd, DISK_BYTES);
	close(fd);
	return ret;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* attach: a disk counting into (g), its transport into (g)'s two counters. */
static void attach(struct disk *d, struct block_metrics *g)
{
	struct virtio_blk_config cfg = {.path = path, .engine = BLK_ENGINE_SYNC, .metrics = g};
	const struct virtio_device_ops *ops;
	void *dev;

	assert_non_null(g);
	vqb_init(&d->b, QSIZE);
	d->next_desc = 0;
	dev = blk_create(&cfg, &ops, NULL);
	assert_non_null(dev);
	d->t = virtio_mmio_create(ops, dev, &d->b.gm, irq, NULL);
	assert_non_null(d->t);
	virtio_mmio_set_counters(
	    d->t, &(struct virtio_mmio_counters){.activate_fails = &g->activate_fails,
						 .cfg_fails = &g->cfg_fails});
	assert_true(vqb_driver_init(d->t, &d->b, 0, ALL) & VIRTIO_STATUS_DRIVER_OK);
}

static void detach(struct disk *d)
{
	virtio_mmio_destroy(d->t); /* the device goes with its transport */
	vqb_free(&d->b);
}

/* read_sector: one IN request for (sector), served; its status byte. */
static uint8_t read_sector(struct disk *d, uint64_t sector)
{
	struct vqb *b = &d->b;
	uint32_t type = VIRTIO_BLK_T_IN;
	uint64_t hdr = vqb_alloc(b, VIRTIO_BLK_HDR_BYTES);
	uint64_t data = vqb_alloc(b, VIRTIO_BLK_SECTOR);
	uint64_t status = vqb_alloc(b, 1);
	uint16_t head = d->next_desc, data_desc = (head + 1) % QSIZE,
		 status_desc = (head + 2) % QSIZE;

	memset(vqb_host(b, hdr), 0, VIRTIO_BLK_HDR_BYTES);
	memcpy(vqb_host(b, hdr), &type, sizeof(type));
	memcpy((uint8_t *)vqb_host(b, hdr) + 8, &sector, sizeof(sector));
	*(uint8_t *)vqb_host(b, status) = NO_STATUS;
	vqb_desc(b, b->desc, head, hdr, VIRTIO_BLK_HDR_BYTES, VIRTQ_DESC_F_NEXT, data_desc);
	vqb_desc(b, b->desc, data_desc, data, VIRTIO_BLK_SECTOR,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, status_desc);
	vqb_desc(b, b->desc, status_desc, status, 1, VIRTQ_DESC_F_WRITE, 0);
	d->next_desc = (uint16_t)((head + 3) % QSIZE);
	vqb_publish(b, head);
	virtio_mmio_notify(d->t, 0);
	return *(uint8_t *)vqb_host(b, status);
}

/* line: the metrics line rendered now (a new baseline when (commit)), parsed. */
static json_t *line(struct metrics *m, int commit)
{
	char *s = metrics_render(m, commit);
	json_t *j;

	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	free(s);
	return j;
}

static long long counter(json_t *j, const char *group, const char *name)
{
	json_t *g = json_object_get(j, group);

	assert_non_null(g);
	return json_integer_value(json_object_get(g, name));
}

/* A request the disk serves lands in its block_<id> group and in "block". */
static void test_device_counts_into_its_group(void **state)
{
	struct metrics m;
	struct disk d;

	(void)state;
	metrics_init(&m);
	attach(&d, metrics_block(&m, "rootfs", 0));
	assert_int_equal(read_sector(&d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(read_sector(&d, DISK_BYTES / VIRTIO_BLK_SECTOR), VIRTIO_BLK_S_IOERR);

	json_t *j = line(&m, 1);
	assert_int_equal(counter(j, "block_rootfs", "read_count"), 1);
	assert_int_equal(counter(j, "block_rootfs", "read_bytes"), VIRTIO_BLK_SECTOR);
	assert_int_equal(counter(j, "block_rootfs", "invalid_reqs_count"), 1);
	assert_int_equal(counter(j, "block_rootfs", "queue_event_count"), 2);
	assert_int_equal(counter(j, "block_rootfs", "activate_fails"), 0);
	assert_int_equal(counter(j, "block", "read_count"), 1);
	json_decref(j);
	/* Growth since the last line: nothing new. */
	j = line(&m, 1);
	assert_int_equal(counter(j, "block_rootfs", "read_count"), 0);
	json_decref(j);
	detach(&d);
	metrics_destroy(&m);
}

/*
 * Two drives attached in an order unlike their ids' ("zeta", then
 * "alpha"): each group is found by id, a --disk drive without one is
 * disk<index>, the lines keep the attach order, and "block" sums them.
 */
static void test_groups_named_by_id(void **state)
{
	struct metrics m;
	struct disk zeta, alpha;

	(void)state;
	metrics_init(&m);
	attach(&zeta, metrics_block(&m, "zeta", 0));
	attach(&alpha, metrics_block(&m, "alpha", 1));
	assert_ptr_equal(metrics_block(&m, "alpha", 5), &m.now.block[1]); /* by id, not index */
	assert_ptr_equal(metrics_block(&m, "", 2), &m.now.block[2]);
	assert_string_equal(m.block_ids[2], "disk2");
	assert_int_equal(read_sector(&alpha, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(read_sector(&alpha, 2), VIRTIO_BLK_S_OK);
	assert_int_equal(read_sector(&zeta, 0), VIRTIO_BLK_S_OK);

	char *s = metrics_render(&m, 0);
	assert_non_null(s);
	char *z = strstr(s, "\"block_zeta\""), *a = strstr(s, "\"block_alpha\"");
	assert_true(z != NULL && a != NULL && z < a);
	free(s);
	json_t *j = line(&m, 1);
	assert_int_equal(counter(j, "block_alpha", "read_count"), 2);
	assert_int_equal(counter(j, "block_zeta", "read_count"), 1);
	assert_int_equal(counter(j, "block_disk2", "read_count"), 0);
	assert_int_equal(counter(j, "block", "read_count"), 3);
	json_decref(j);

	/* A new machine: the old names go, its drives register afresh. */
	metrics_forget_devices(&m);
	assert_ptr_equal(metrics_block(&m, "alpha", 0), &m.now.block[0]);
	j = line(&m, 1);
	assert_null(json_object_get(j, "block_zeta"));
	assert_int_equal(counter(j, "block_alpha", "read_count"), 0);
	json_decref(j);
	detach(&zeta);
	detach(&alpha);
	metrics_destroy(&m);
}

/* Counts made before the device is destroyed are in the next flush after. */
static void test_counts_outlive_the_device(void **state)
{
	char file[96], buf[16384];
	char err[256];
	struct metrics m;
	struct disk d;
	json_t *j;

	(void)state;
	snprintf(file, sizeof(file), "%s.json", path);
	metrics_init(&m);
	assert_int_equal(metrics_configure(&m, file, err, sizeof(err)), 0);
	attach(&d, metrics_block(&m, "data", 0));
	assert_int_equal(read_sector(&d, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(metrics_flush(&m), 0);
	assert_int_equal(read_sector(&d, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(read_sector(&d, 2), VIRTIO_BLK_S_OK);
	detach(&d);
	assert_int_equal(metrics_flush(&m), 0);

	FILE *f = fopen(file, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f)); /* before the teardown */
	j = json_loads(buf, 0, NULL);
	assert_int_equal(counter(j, "block_data", "read_count"), 1);
	json_decref(j);
	assert_non_null(fgets(buf, sizeof(buf), f)); /* after it */
	j = json_loads(buf, 0, NULL);
	assert_int_equal(counter(j, "block_data", "read_count"), 2);
	assert_int_equal(counter(j, "block_data", "read_bytes"), 2 * VIRTIO_BLK_SECTOR);
	json_decref(j);
	fclose(f);
	unlink(file);
	metrics_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_device_counts_into_its_group),
	    cmocka_unit_test(test_groups_named_by_id),
	    cmocka_unit_test(test_counts_outlive_the_device),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
