// SPDX-License-Identifier: Apache-2.0
/* test_virtio_mmio.c: the virtio-mmio register machine over a dummy device. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mmio.h"
#include "vq_builder.h"

#define R(off)	   vqb_mmio_read(t, (off))
#define W(off, v)  vqb_mmio_write(t, (off), (v))
#define ACK	   VIRTIO_STATUS_ACKNOWLEDGE
#define DRV	   VIRTIO_STATUS_DRIVER
#define FOK	   VIRTIO_STATUS_FEATURES_OK
#define DOK	   VIRTIO_STATUS_DRIVER_OK
#define FAILED	   VIRTIO_STATUS_FAILED
#define NEEDS_RST  VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define DUMMY_FEAT (1ull << 3)
#define ALL	   (~0ull)

struct dummy {
	struct virtio_mmio_dev *t;
	int activated, notified, resets, destroyed;
	int config_reads; /* config_read calls: a refused access makes none */
	int activate_ret;
	uint8_t config[8];
	struct virtq_chain chain;
	bool hold; /* notify takes one chain and keeps it */
	/* snapshot ops (snap_ops): calls, and what load_state returns */
	int quiesces, resumes, restoreds, loads;
	uint8_t part[8]; /* the device's own part of a snapshot */
};

static int irqs;

static void irq(void *ctx)
{
	(void)ctx;
	irqs++;
}

static void d_config_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct dummy *d = dev;
	d->config_reads++;
	virtio_config_copy(d->config, sizeof(d->config), off, data, len);
}

static void d_config_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct dummy *d = dev;
	if (off < sizeof(d->config) && len <= sizeof(d->config) - off)
		memcpy(d->config + off, data, len);
}

static int d_activate(void *dev, struct virtio_mmio_dev *t)
{
	struct dummy *d = dev;
	d->activated++;
	d->t = t;
	return d->activate_ret;
}

static void d_notify(void *dev, unsigned int queue)
{
	struct dummy *d = dev;
	struct virtq *q = virtio_mmio_queue(d->t, queue);
	int rc;

	d->notified++;
	if (d->hold) {
		(void)vq_pop(q, &d->chain);
		return;
	}
	while ((rc = vq_pop(q, &d->chain)) == 1)
		vq_push(q, &d->chain, 0);
	if (rc < 0)
		virtio_mmio_needs_reset(d->t);
	virtio_mmio_signal_used(d->t, queue);
}

static void d_reset(void *dev)
{
	struct dummy *d = dev;
	d->resets++;
	d->t = NULL;
}

static void d_destroy(void *dev)
{
	struct dummy *d = dev;
	d->destroyed++;
}

static const struct virtio_device_ops dummy_ops = {
    .name = "dummy",
    .device_id = 42,
    .num_queues = 2,
    .max_queue_size = 16,
    .features = DUMMY_FEAT,
    .config_read = d_config_read,
    .config_write = d_config_write,
    .activate = d_activate,
    .notify = d_notify,
    .reset = d_reset,
    .destroy = d_destroy,
};

/* The dummy with every snapshot op: its part is (part), taken back only as saved. */
static int d_quiesce(void *dev)
{
	struct dummy *d = dev;
	d->quiesces++;
	d->hold = false; /* forgets the chain it held */
	return 0;
}

static void d_resume(void *dev)
{
	struct dummy *d = dev;
	d->resumes++;
	d_notify(dev, 0);
}

static uint32_t d_save_state(void *dev, void *buf, uint32_t cap)
{
	struct dummy *d = dev;
	assert_true(cap >= sizeof(d->part));
	memcpy(buf, d->part, sizeof(d->part));
	return sizeof(d->part);
}

static int d_load_state(void *dev, const void *buf, uint32_t len, struct vlog_err *err)
{
	struct dummy *d = dev;
	d->loads++;
	if (len != sizeof(d->part) || memcmp(buf, "dummy", 5) != 0) {
		vlog_err_set(err, 0, "dev: not a dummy's part");
		return -EINVAL;
	}
	memcpy(d->part, buf, sizeof(d->part));
	return 0;
}

static void d_restored(void *dev)
{
	struct dummy *d = dev;
	d->restoreds++;
	d_notify(dev, 0);
}

static const struct virtio_device_ops snap_ops = {
    .name = "dummy",
    .device_id = 42,
    .num_queues = 2,
    .max_queue_size = 16,
    .features = DUMMY_FEAT,
    .config_read = d_config_read,
    .config_write = d_config_write,
    .activate = d_activate,
    .notify = d_notify,
    .reset = d_reset,
    .destroy = d_destroy,
    .quiesce = d_quiesce,
    .resume = d_resume,
    .save_state = d_save_state,
    .load_state = d_load_state,
    .restored = d_restored,
};

struct fixture {
	struct dummy d;
	struct vqb b;
	struct virtio_mmio_dev *t;
	uint64_t activate_fails, cfg_fails; /* where the transport counts */
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f.d, 0, sizeof(f.d));
	memcpy(f.d.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	vqb_init(&f.b, 16);
	f.t = virtio_mmio_create(&dummy_ops, &f.d, &f.b.gm, irq, NULL);
	assert_non_null(f.t);
	f.activate_fails = f.cfg_fails = 0;
	virtio_mmio_set_counters(f.t,
				 &(struct virtio_mmio_counters){.activate_fails = &f.activate_fails,
								.cfg_fails = &f.cfg_fails});
	irqs = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_mmio_destroy(f->t);
	assert_int_equal(f->d.destroyed, 1);
	vqb_free(&f->b);
	return 0;
}

static void test_identity(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;

	assert_int_equal(R(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(R(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(R(VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(R(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(virtio_mmio_num_queues(t), 2);
	W(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	W(VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);
	/* no shared memory regions: length -1 */
	assert_int_equal(R(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(R(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* read-only registers ignore writes */
	W(VIRTIO_MMIO_MAGIC_VALUE, 0);
	W(VIRTIO_MMIO_DEVICE_ID, 7);
	assert_int_equal(R(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(R(VIRTIO_MMIO_DEVICE_ID), 42);
}

/*
 * config_read_at: a read of (len) bytes at (off) into a buffer filled with
 * 0xaa first. (refused): the transport refuses it and never asks the device;
 * either way every byte read is 0 (past the device's config, the device
 * copies nothing and the transport's zeros stay).
 */
static void config_read_at(struct fixture *f, uint64_t off, uint32_t len, bool refused)
{
	uint8_t buf[8];
	int reads = f->d.config_reads;

	memset(buf, 0xaa, sizeof(buf));
	virtio_mmio_access(f->t, off, buf, len, false);
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(buf[i], 0);
	for (uint32_t i = len; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xaa); /* nothing past (len) */
	assert_int_equal(f->d.config_reads, reads + (refused ? 0 : 1));
}

static void test_write_only_and_bad_access(void **state)
{
	static const uint64_t wo[] = {
	    VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	    VIRTIO_MMIO_DRIVER_FEATURES,
	    VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	    VIRTIO_MMIO_QUEUE_SEL,
	    VIRTIO_MMIO_QUEUE_NUM,
	    VIRTIO_MMIO_QUEUE_NOTIFY,
	    VIRTIO_MMIO_INTERRUPT_ACK,
	    VIRTIO_MMIO_QUEUE_DESC_LOW,
	    VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
	    VIRTIO_MMIO_QUEUE_USED_LOW,
	    0x0e0, /* unknown */
	};
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	uint8_t buf[8];

	W(VIRTIO_MMIO_QUEUE_SEL, 1);
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	for (size_t i = 0; i < sizeof(wo) / sizeof(wo[0]); i++)
		assert_int_equal(R(wo[i]), 0);

	/* registers: only aligned 32-bit accesses */
	memset(buf, 0xaa, sizeof(buf));
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC_VALUE, buf, 2, false);
	assert_int_equal(buf[0] | buf[1], 0);
	memset(buf, 0xaa, sizeof(buf));
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC_VALUE + 1, buf, 4, false);
	assert_int_equal(buf[0] | buf[1] | buf[2] | buf[3], 0);
	memset(buf, 0xaa, sizeof(buf));
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC_VALUE, buf, 8, false);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0);
	buf[0] = ACK;
	virtio_mmio_access(t, VIRTIO_MMIO_STATUS, buf, 1, true);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_access(t, VIRTIO_MMIO_STATUS + 2, buf, 4, true);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), 0);

	/* config: 1, 2, 4 bytes, naturally aligned; not 8, not unaligned, not past 4 KiB */
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 1, buf, 1, false);
	assert_int_equal(buf[0], 2);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 2, buf, 2, false);
	assert_memory_equal(buf, "\x03\x04", 2);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 4, buf, 4, false);
	assert_memory_equal(buf, "\x05\x06\x07\x08", 4);
	config_read_at(f, VIRTIO_MMIO_CONFIG + 1, 2, true);  /* unaligned */
	config_read_at(f, VIRTIO_MMIO_CONFIG, 8, true);	     /* 8 bytes */
	config_read_at(f, VIRTIO_MMIO_CONFIG + 8, 4, false); /* past the device's config */
	config_read_at(f, 0xffc, 4, false);		     /* the window's last word */
	config_read_at(f, 0xfff, 1, false);		     /* and its last byte */
	config_read_at(f, 0xffe, 4, true);		     /* across the window's end */
	config_read_at(f, 0x1000, 4, true);		     /* past the window */
	config_read_at(f, 0x1000, 1, true);
	config_read_at(f, UINT64_MAX - 1, 4, true); /* offsets that wrap around */
	config_read_at(f, UINT64_MAX - 3, 4, true);
	config_read_at(f, UINT64_MAX - 1, 2, true);
	config_read_at(f, UINT64_MAX, 1, true);
}

static void test_features(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;

	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(R(VIRTIO_MMIO_DEVICE_FEATURES),
			 (uint32_t)(DUMMY_FEAT | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
				    VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC)));
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(R(VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 = bit 32 */
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(R(VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* driver features before DRIVER are ignored */
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV); /* no VERSION_1 */

	/* VERSION_1 missing: FEATURES_OK stays clear */
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	W(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)DUMMY_FEAT);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV);

	/*
	 * A feature not offered (bit 33) beside the offered ones: dropped,
	 * as Firecracker does, and FEATURES_OK accepted; frozen afterwards.
	 */
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1 | 2);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FOK);
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_int_equal(virtio_mmio_driver_features(t),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1) | DUMMY_FEAT);

	/* what FEATURES_OK accepted reaches the queues */
	vqb_driver_init(t, &f->b, 0,
			VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_true(virtio_mmio_queue(t, 0)->event_idx);
	assert_false(virtio_mmio_queue(t, 0)->indirect);
}

static void test_status_machine(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;

	W(VIRTIO_MMIO_STATUS, DRV); /* DRIVER before ACKNOWLEDGE */
	assert_int_equal(R(VIRTIO_MMIO_STATUS), 0);
	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | DOK); /* DRIVER_OK before FEATURES_OK */
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	W(VIRTIO_MMIO_STATUS, ACK); /* clearing a bit */
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | 0x10); /* unknown bit */
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FAILED);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FAILED);
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* ignored after FAILED */
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FAILED | FOK);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FAILED);
	assert_int_equal(f->d.activated, 0);

	/* reset: back to 0, and a full init works from there */
	W(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), ACK | DRV | FOK | DOK);
	assert_int_equal(f->d.activated, 1);
	/* DRIVER_OK written again: nothing happens twice */
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK);
	assert_int_equal(f->d.activated, 1);
}

static void test_queue_setup(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct virtq *q = virtio_mmio_queue(t, 0);

	/* before FEATURES_OK queue registers are ignored */
	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_NUM, 8);
	assert_int_equal(q->size, 16);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK);

	W(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)f->b.desc);
	W(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)f->b.avail);
	W(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)f->b.used);
	assert_int_equal(q->desc_gpa, f->b.desc);

	W(VIRTIO_MMIO_QUEUE_NUM, 32); /* above QueueNumMax */
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);
	W(VIRTIO_MMIO_QUEUE_NUM, 12); /* not a power of two */
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);
	W(VIRTIO_MMIO_QUEUE_NUM, 16);
	W(VIRTIO_MMIO_QUEUE_USED_HIGH, 0x10); /* far outside RAM */
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);
	W(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)f->b.avail + 1); /* misaligned */
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);
	W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)f->b.avail);
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 1);

	/* while ready, the layout is frozen */
	W(VIRTIO_MMIO_QUEUE_NUM, 4);
	W(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	assert_int_equal(q->size, 16);
	assert_int_equal(q->desc_gpa, f->b.desc);

	/* other selected queue is independent */
	W(VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);
	W(VIRTIO_MMIO_QUEUE_SEL, 5);
	W(VIRTIO_MMIO_QUEUE_READY, 1); /* no such queue */
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);

	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK);
	assert_int_equal(f->d.activated, 1);
	/* after DRIVER_OK the queues cannot be changed */
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void test_notify_and_interrupt(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct vqb *b = &f->b;

	vqb_desc(b, b->desc, 0, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_WRITE, 0);

	/* notifications before DRIVER_OK do nothing */
	virtio_mmio_notify(t, 0);
	W(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified, 0);

	assert_int_equal(vqb_driver_init(t, b, 0, ALL), ACK | DRV | FOK | DOK);
	vqb_publish(b, 0);
	virtio_mmio_notify(t, 1); /* queue 1 is not ready */
	virtio_mmio_notify(t, 7); /* no such queue */
	assert_int_equal(f->d.notified, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(f->d.notified, 1);
	assert_int_equal(vqb_used_idx(b), 1);
	assert_int_equal(irqs, 1);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	W(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* through the QueueNotify register as well (no ioeventfd) */
	vqb_publish(b, 0);
	W(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified, 2);
	assert_int_equal(vqb_used_idx(b), 2);

	/* EVENT_IDX: used_event is 0 in the ring, already passed: no interrupt */
	assert_int_equal(irqs, 1);
	vqb_set_used_event(b, 2); /* interrupt when entry 2 is used */
	vqb_publish(b, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(irqs, 2);
	vqb_set_used_event(b, 5);
	vqb_publish(b, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(vqb_used_idx(b), 4);
	assert_int_equal(irqs, 2);
}

static void test_config_generation(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	uint8_t v = 0x77;
	uint32_t gen = R(VIRTIO_MMIO_CONFIG_GENERATION);

	/* config writes before DRIVER are ignored, and counted */
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, &v, 1, true);
	assert_int_equal(f->d.config[0], 1);
	assert_int_equal(f->cfg_fails, 1);
	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, &v, 1, true);
	assert_int_equal(f->d.config[0], 0x77);
	assert_int_equal(f->cfg_fails, 1);

	/* before DRIVER_OK: generation moves, no interrupt */
	virtio_mmio_config_changed(t);
	assert_int_equal(R(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(irqs, 0);
	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), ACK | DRV | FOK | DOK);
	virtio_mmio_config_changed(t);
	assert_int_equal(R(VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	assert_int_equal(irqs, 1);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* survives reset: a driver never sees an old value come back */
	W(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(R(VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void test_activate_failure(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;

	f->d.activate_ret = -EINVAL;
	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), ACK | DRV | FOK | DOK | NEEDS_RST);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irqs, 1);
	virtio_mmio_notify(t, 0);
	assert_int_equal(f->d.notified, 0);
	/* the driver's read-modify-write carries NEEDS_RESET back: FAILED still lands */
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK | NEEDS_RST | FAILED);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK | NEEDS_RST | FAILED);
	W(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(f->d.resets, 0); /* never activated: nothing to reset */
	f->d.activate_ret = 0;
	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), ACK | DRV | FOK | DOK);
	assert_int_equal(f->activate_fails, 1);
	assert_int_equal(f->cfg_fails, 0);
}

static void test_hostile_chain_needs_reset(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct vqb *b = &f->b;

	assert_int_equal(vqb_driver_init(t, b, 0, ALL), ACK | DRV | FOK | DOK);
	vqb_desc(b, b->desc, 0, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_NEXT, 0); /* self loop */
	vqb_publish(b, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(virtio_mmio_status(t), ACK | DRV | FOK | DOK | NEEDS_RST);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* the device was stopped once the notification returned: it leaves the queue alone */
	assert_int_equal(f->d.resets, 1);
	virtio_mmio_notify(t, 0); /* ignored now */
	assert_int_equal(f->d.notified, 1);
	/* DRIVER_OK-style writes do nothing until reset */
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK | NEEDS_RST);
	assert_int_equal(f->d.activated, 1);
	/* reset: the device is not reset twice, queues clean, and it works again */
	W(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->d.resets, 1);
	assert_false(virtio_mmio_queue(t, 0)->ready);
	assert_false(virtio_mmio_queue(t, 0)->broken);
	assert_int_equal(virtio_mmio_driver_features(t), 0);
	vqb_desc(b, b->desc, 0, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_WRITE, 0);
	memset(vqb_host(b, b->used), 0, 4);
	vqb_set_avail_idx(b, 0);
	vqb_publish(b, 0);
	assert_int_equal(vqb_driver_init(t, b, 0, ALL), ACK | DRV | FOK | DOK);
	virtio_mmio_notify(t, 0);
	assert_int_equal(vqb_used_idx(b), 1);
	assert_int_equal(virtio_mmio_status(t), ACK | DRV | FOK | DOK);
}

/* resize: every queue-layout write a hostile driver can make on queue 0. */
static void resize(struct virtio_mmio_dev *t, uint32_t num, uint32_t addr)
{
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	W(VIRTIO_MMIO_QUEUE_NUM, num);
	W(VIRTIO_MMIO_QUEUE_DESC_LOW, addr);
	W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, addr);
	W(VIRTIO_MMIO_QUEUE_USED_LOW, addr);
	W(VIRTIO_MMIO_QUEUE_USED_HIGH, addr);
}

/*
 * QueueNum and the ring addresses written while QueueReady is 1, and after
 * DRIVER_OK (also QueueReady = 0 then): the driver must not (4.2.2.3), so
 * the device ignores them and keeps serving the rings it validated.
 */
static void test_queue_resize_while_live_is_ignored(void **state)
{
	static const uint32_t nums[] = {0, 3, 12, 32, 1024, UINT32_MAX};
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct vqb *b = &f->b;
	struct virtq *q = virtio_mmio_queue(t, 0);
	const uint32_t ram_end = (uint32_t)(VQB_RAM_GPA + VQB_RAM_SIZE);

	vqb_desc(b, b->desc, 0, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(vqb_driver_init(t, b, 0, ALL), ACK | DRV | FOK | DOK);
	/* vqb_driver_init wrote QueueReady before DRIVER_OK; redo that window by hand */
	W(VIRTIO_MMIO_STATUS, 0);
	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	W(VIRTIO_MMIO_QUEUE_NUM, 16);
	W(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)b->desc);
	W(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)b->avail);
	W(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)b->used);
	W(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 1);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		resize(t, nums[i], ram_end - 8);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		resize(t, nums[i], (uint32_t)b->desc);
	W(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(q->size, 16);
	assert_int_equal(q->desc_gpa, b->desc);
	assert_int_equal(q->avail_gpa, b->avail);
	assert_int_equal(q->used_gpa, b->used);
	/* then a notification: served from the rings validated at QueueReady */
	vqb_publish(b, 0);
	W(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified, 1);
	assert_int_equal(vqb_used_idx(b), 1);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK);
}

/* QueueNotify with an index that names no queue is ignored, whatever its high bits. */
static void test_notify_bad_index(void **state)
{
	static const uint32_t bad[] = {1, 2, 16, 0x10000, 0x10001, 0x80000000u, UINT32_MAX};
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct vqb *b = &f->b;

	vqb_desc(b, b->desc, 0, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(vqb_driver_init(t, b, 0, ALL), ACK | DRV | FOK | DOK);
	vqb_publish(b, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		W(VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
		virtio_mmio_notify(t, bad[i]);
	}
	assert_int_equal(f->d.notified, 0);
	assert_int_equal(vqb_used_idx(b), 0);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK);
	W(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified, 1);
	assert_int_equal(vqb_used_idx(b), 1);
}

/* InterruptACK clears only what it names; bits never set change nothing, raise nothing. */
static void test_interrupt_ack_unset_bits(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct vqb *b = &f->b;

	W(VIRTIO_MMIO_INTERRUPT_ACK, UINT32_MAX); /* nothing pending at all */
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	vqb_desc(b, b->desc, 0, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(vqb_driver_init(t, b, 0, ALL), ACK | DRV | FOK | DOK);
	vqb_publish(b, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(irqs, 1);
	W(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG); /* never set */
	W(VIRTIO_MMIO_INTERRUPT_ACK, ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG));
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irqs, 1);
	W(VIRTIO_MMIO_INTERRUPT_ACK, UINT32_MAX);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(irqs, 1);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), ACK | DRV | FOK | DOK);
}

/* Config space: odd sizes and offsets up to the end of the window, in both directions. */
static void test_config_edges(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	const uint64_t last = VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG;
	uint8_t buf[8], v[8] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};

	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	for (uint32_t len = 0; len <= 8; len++) {
		for (uint64_t off = last - 8; off < last + 8; off++) {
			memset(buf, 0xaa, sizeof(buf));
			virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + off, buf, len, false);
			for (uint32_t i = 0; i < len; i++)
				assert_int_equal(buf[i], 0);
			virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + off, v, len, true);
		}
	}
	/* odd sizes inside the config: refused both ways */
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, v, 3, true);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 6, v, 4, true); /* unaligned, straddles the end */
	assert_memory_equal(f->d.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	memset(buf, 0xaa, sizeof(buf));
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, buf, 3, false);
	assert_int_equal(buf[0] | buf[1] | buf[2], 0);
	/* the 2 bytes at the very end of the config are fine */
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 6, buf, 2, false);
	assert_memory_equal(buf, "\x07\x08", 2);
}

/* ---- snapshots ---- */

#define RUNNING	    (ACK | DRV | FOK | DOK)
#define NO_EVENTIDX (ALL & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

/* post: a one-descriptor chain at descriptor (i), published. */
static void post(struct vqb *b, uint16_t i)
{
	vqb_desc(b, b->desc, i, vqb_alloc(b, 8), 8, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(b, i);
}

static int bump_generation(void *dev, void *arg)
{
	struct dummy *d = dev;
	(void)arg;
	virtio_mmio_config_changed(d->t);
	return 0;
}

/*
 * A saved transport continues in a new one over a copy of guest memory:
 * registers read back the same, the saved interrupt is raised again, the
 * chain the driver published but whose notification was lost is served at
 * once, and the next request lands at the next used index, in the new RAM only.
 */
static void test_snapshot_round_trip(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t, *t2;
	struct virtio_mmio_state st;
	struct dummy d2 = {0};
	struct vlog_err err = {0};
	struct vqb b2;
	uint32_t id, len;

	assert_int_equal(vqb_driver_init(t, &f->b, 0, NO_EVENTIDX), RUNNING);
	for (uint16_t i = 0; i < 3; i++)
		post(&f->b, i);
	virtio_mmio_notify(t, 0);
	assert_int_equal(vqb_used_idx(&f->b), 3);
	post(&f->b, 3); /* its notification is lost with the old process */
	assert_int_equal(virtio_mmio_with_lock(t, bump_generation, NULL), 0);
	W(VIRTIO_MMIO_QUEUE_SEL, 1);
	W(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);

	assert_int_equal(virtio_mmio_quiesce(t), 0);
	virtio_mmio_save_state(t, &st);
	assert_int_equal(st.device_id, 42);
	assert_int_equal(st.num_queues, 2);
	assert_int_equal(st.status, RUNNING);
	assert_int_equal(st.interrupt_status, VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(st.config_generation, 1);
	assert_int_equal(st.queues[0].ready, 1);
	assert_int_equal(st.queues[0].size, 16);
	assert_int_equal(st.queues[0].used_idx, 3);
	assert_int_equal(st.queues[0].last_avail, 3);
	assert_int_equal(st.queues[1].ready, 0);
	assert_int_equal(st.dev_len, 0);

	vqb_clone(&b2, &f->b);
	t2 = virtio_mmio_create(&dummy_ops, &d2, &b2.gm, irq, NULL);
	assert_non_null(t2);
	irqs = 0;
	assert_int_equal(virtio_mmio_load_state(t2, &st, &err), 0);
	assert_int_equal(d2.activated, 1);
	assert_int_equal(d2.notified, 1); /* queue 0 only: queue 1 is not ready */
	assert_int_equal(irqs, 2);	  /* the 4th chain served, the saved status raised */
	t = t2;
	assert_int_equal(R(VIRTIO_MMIO_STATUS), RUNNING);
	assert_int_equal(R(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(R(VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 0);     /* queue 1 selected */
	assert_int_equal(R(VIRTIO_MMIO_DEVICE_FEATURES), 1); /* the high word: VERSION_1 */
	W(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(R(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(vqb_used_idx(&b2), 4);
	vqb_used_elem(&b2, 3, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(vqb_used_idx(&f->b), 3); /* the old RAM is not the device's any more */

	post(&b2, 4);
	W(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(vqb_used_idx(&b2), 5);
	vqb_used_elem(&b2, 4, &id, &len);
	assert_int_equal(id, 4);
	assert_int_equal(irqs, 3);
	/* and the driver can reset it and start over */
	W(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(d2.resets, 1);
	virtio_mmio_destroy(t2);
	vqb_free(&b2);
}

/*
 * corrupt: spoil field (i) of a good state of the fixture's running
 * transport; returns the field the load must name, NULL past the last.
 */
static const char *corrupt(struct virtio_mmio_state *st, int i)
{
	struct virtio_queue_state *q = &st->queues[0];

	switch (i) {
	case 0:
		st->device_id = VIRTIO_ID_BLOCK;
		return "device_id";
	case 1:
		st->num_queues = 3;
		return "num_queues";
	case 2:
		st->device_features &= ~DUMMY_FEAT;
		return "device_features";
	case 3:
		st->status = DRV | FOK | DOK; /* no ACKNOWLEDGE */
		return "status";
	case 4:
		st->status |= 0x10; /* no such bit */
		return "status";
	case 5:
		st->status = ACK | DRV | FOK | NEEDS_RST; /* broken before it ran */
		st->interrupt_status = 0;
		return "status";
	case 6:
		st->status = FAILED | NEEDS_RST;
		st->interrupt_status = 0;
		return "status";
	case 7:
		st->driver_features |= 1ull << 40; /* never offered */
		return "driver_features";
	case 8:
		st->driver_features &= ~VIRTIO_BIT(VIRTIO_F_VERSION_1);
		return "driver_features";
	case 9:
		st->interrupt_status |= 4;
		return "interrupt_status";
	case 10:
		st->status = ACK | DRV | FOK; /* an interrupt before DRIVER_OK */
		return "interrupt_status";
	case 11:
		st->pad = 1;
		return "pad";
	case 12:
		st->dev_len = 1; /* the dummy has no part of its own */
		return "dev_len";
	case 13:
		st->dev[100] = 1;
		return "dev_len";
	case 14:
		st->dev_len = VIRTIO_DEV_STATE_MAX + 1;
		return "dev_len";
	case 15:
		q->size = 3;
		return "queues[0].size";
	case 16:
		q->size = 32; /* more than the device's 16 */
		return "queues[0].size";
	case 17:
		q->desc_gpa = VQB_RAM_GPA + VQB_RAM_SIZE - 16;
		return "queues[0].desc_gpa";
	case 18:
		q->desc_gpa = 0xffffffffffff0000ull;
		return "queues[0].desc_gpa";
	case 19:
		q->avail_gpa += 1;
		return "queues[0].avail_gpa";
	case 20:
		q->used_gpa = q->desc_gpa;
		return "queues[0].used_gpa";
	case 21:
		q->last_avail++; /* a chain taken and never given back */
		return "queues[0].last_avail";
	case 22:
		q->ready = 2;
		return "queues[0].ready";
	case 23:
		q->event_idx ^= 1;
		return "queues[0].event_idx";
	case 24:
		q->signalled_valid = 7;
		return "queues[0].signalled_valid";
	case 25:
		q->pad[3] = 1;
		return "queues[0].pad";
	case 26:
		st->queues[2].size = 16; /* the device has 2 queues */
		return "queues[2]";
	case 27:
		st->status = ACK | DRV; /* a ready queue before FEATURES_OK */
		st->interrupt_status = 0;
		q->event_idx = q->indirect = 0;
		return "queues[0].ready";
	default:
		return NULL;
	}
}

/*
 * Every hostile field is refused with -EINVAL, one line naming it, and the
 * transport stays as created: the good state then loads into the same one.
 */
static void test_snapshot_rejects(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t, *t2;
	struct virtio_mmio_state good, bad;
	struct dummy d2 = {0};
	struct vlog_err err;
	const char *field;
	struct vqb b2;

	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), RUNNING);
	post(&f->b, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(virtio_mmio_quiesce(t), 0);
	virtio_mmio_save_state(t, &good);
	assert_int_equal(good.interrupt_status, VIRTIO_MMIO_INT_VRING);
	/* not a fresh transport */
	assert_int_equal(virtio_mmio_load_state(t, &good, &err), -EBUSY);
	assert_int_equal(R(VIRTIO_MMIO_STATUS), RUNNING);

	vqb_clone(&b2, &f->b);
	t2 = virtio_mmio_create(&dummy_ops, &d2, &b2.gm, irq, NULL);
	assert_non_null(t2);
	irqs = 0;
	for (int i = 0; (field = corrupt(memcpy(&bad, &good, sizeof(bad)), i)) != NULL; i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(virtio_mmio_load_state(t2, &bad, &err), -EINVAL);
		if (strncmp(err.msg, field, strlen(field)) != 0)
			fail_msg("corruption %d: \"%s\" does not name %s", i, err.msg, field);
		assert_int_equal(virtio_mmio_status(t2), 0);
		assert_int_equal(vqb_mmio_read(t2, VIRTIO_MMIO_CONFIG_GENERATION), 0);
		assert_int_equal(vqb_mmio_read(t2, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
		assert_int_equal(d2.activated, 0);
		assert_int_equal(irqs, 0);
	}
	/* the device refuses to start: the transport is reset again */
	d2.activate_ret = -EIO;
	assert_int_equal(virtio_mmio_load_state(t2, &good, &err), -EINVAL);
	assert_int_equal(strncmp(err.msg, "status", 6), 0);
	assert_int_equal(virtio_mmio_status(t2), 0);
	assert_int_equal(vqb_mmio_read(t2, VIRTIO_MMIO_QUEUE_READY), 0);
	d2.activate_ret = 0;
	/* the untouched transport takes the good state */
	assert_int_equal(virtio_mmio_load_state(t2, &good, &err), 0);
	assert_int_equal(virtio_mmio_status(t2), RUNNING);
	assert_int_equal(vqb_used_idx(&b2), 1);
	virtio_mmio_destroy(t2);
	vqb_free(&b2);
}

/*
 * States a live transport reaches besides a running device: mid set-up (a
 * queue ready, no DRIVER_OK yet: the driver finishes after the load), and
 * FAILED (the queues wait for the driver's reset, not served).
 */
static void test_snapshot_other_states(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t, *t2;
	struct virtio_mmio_state st;
	struct dummy d2 = {0};
	struct vqb b2;

	/* mid set-up */
	W(VIRTIO_MMIO_STATUS, ACK);
	W(VIRTIO_MMIO_STATUS, ACK | DRV);
	W(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	W(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	W(VIRTIO_MMIO_STATUS, ACK | DRV | FOK);
	vqb_queue_regs(t, &f->b, 0);
	assert_int_equal(virtio_mmio_quiesce(t), 0);
	virtio_mmio_save_state(t, &st);
	assert_int_equal(st.queues[0].ready, 1);
	vqb_clone(&b2, &f->b);
	t2 = virtio_mmio_create(&dummy_ops, &d2, &b2.gm, irq, NULL);
	assert_int_equal(virtio_mmio_load_state(t2, &st, NULL), 0);
	assert_int_equal(d2.activated, 0);
	assert_int_equal(vqb_mmio_read(t2, VIRTIO_MMIO_QUEUE_READY), 1);
	vqb_mmio_write(t2, VIRTIO_MMIO_STATUS, ACK | DRV | FOK | DOK);
	assert_int_equal(d2.activated, 1);
	post(&b2, 0);
	virtio_mmio_notify(t2, 0);
	assert_int_equal(vqb_used_idx(&b2), 1);
	virtio_mmio_destroy(t2);
	vqb_free(&b2);

	/* FAILED while running */
	W(VIRTIO_MMIO_STATUS, RUNNING);
	assert_int_equal(f->d.activated, 1);
	W(VIRTIO_MMIO_STATUS, RUNNING | FAILED);
	virtio_mmio_save_state(t, &st);
	memset(&d2, 0, sizeof(d2));
	vqb_clone(&b2, &f->b);
	t2 = virtio_mmio_create(&dummy_ops, &d2, &b2.gm, irq, NULL);
	assert_int_equal(virtio_mmio_load_state(t2, &st, NULL), 0);
	assert_int_equal(virtio_mmio_status(t2), RUNNING | FAILED);
	assert_int_equal(d2.activated, 0);
	assert_int_equal(vqb_mmio_read(t2, VIRTIO_MMIO_QUEUE_READY), 0);
	vqb_mmio_write(t2, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vqb_driver_init(t2, &b2, 0, ALL), RUNNING);
	virtio_mmio_destroy(t2);
	vqb_free(&b2);
}

static int push_held(void *dev, void *arg)
{
	struct dummy *d = dev;
	(void)arg;
	vq_push(virtio_mmio_queue(d->t, 0), &d->chain, 8);
	return 0;
}

/*
 * Quiesce gives back a chain the device holds, and drops notifications
 * until resume, which serves everything in order; a chain held across the
 * quiesce can no longer be pushed.
 */
static void test_quiesce_resume(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t = f->t;
	struct virtio_mmio_state st;
	uint32_t id, len;

	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), RUNNING);
	f->d.hold = true;
	post(&f->b, 5);
	virtio_mmio_notify(t, 0);
	assert_int_equal(f->d.notified, 1);
	assert_int_equal(virtio_mmio_quiesce(t), 0);
	virtio_mmio_save_state(t, &st);
	assert_int_equal(st.queues[0].last_avail, 0);
	assert_int_equal(st.queues[0].used_idx, 0);

	f->d.hold = false;
	post(&f->b, 6);
	virtio_mmio_notify(t, 0);
	W(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified, 1); /* dropped while quiesced */
	assert_int_equal(virtio_mmio_with_lock(t, push_held, NULL), 0);
	assert_int_equal(vqb_used_idx(&f->b), 0); /* its chain went back: stale */

	virtio_mmio_resume(t);
	assert_int_equal(f->d.notified, 2);
	assert_int_equal(vqb_used_idx(&f->b), 2);
	vqb_used_elem(&f->b, 0, &id, &len);
	assert_int_equal(id, 5);
	vqb_used_elem(&f->b, 1, &id, &len);
	assert_int_equal(id, 6);
	virtio_mmio_resume(t); /* not quiesced: nothing */
	assert_int_equal(f->d.notified, 2);
}

/*
 * The device's own snapshot ops: its part travels, load_state refusing it
 * leaves the transport reset (the device stopped again), and restored
 * replaces the transport's notifications.
 */
static void test_snapshot_device_ops(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_dev *t, *t2;
	struct virtio_mmio_state st;
	struct dummy d = {0}, d2 = {0};
	struct vlog_err err = {0};
	struct vqb b2;

	t = virtio_mmio_create(&snap_ops, &d, &f->b.gm, irq, NULL);
	assert_non_null(t);
	memcpy(d.part, "dummy-1", 8);
	assert_int_equal(vqb_driver_init(t, &f->b, 0, ALL), RUNNING);
	d.hold = true;
	post(&f->b, 0);
	virtio_mmio_notify(t, 0);
	assert_int_equal(virtio_mmio_quiesce(t), 0);
	assert_int_equal(d.quiesces, 1);
	virtio_mmio_save_state(t, &st);
	assert_int_equal(st.dev_len, 8);
	assert_memory_equal(st.dev, "dummy-1", 8);
	virtio_mmio_resume(t);
	assert_int_equal(d.resumes, 1);
	assert_int_equal(vqb_used_idx(&f->b), 1);
	virtio_mmio_destroy(t);

	/* a part the device refuses: activated, then reset */
	vqb_clone(&b2, &f->b);
	t2 = virtio_mmio_create(&snap_ops, &d2, &b2.gm, irq, NULL);
	st.dev[0] = 'X';
	assert_int_equal(virtio_mmio_load_state(t2, &st, &err), -EINVAL);
	assert_string_equal(err.msg, "dev: not a dummy's part");
	assert_int_equal(d2.activated, 1);
	assert_int_equal(d2.resets, 1);
	assert_int_equal(d2.restoreds, 0);
	assert_int_equal(virtio_mmio_status(t2), 0);
	st.dev[0] = 'd';
	assert_int_equal(virtio_mmio_load_state(t2, &st, &err), 0);
	assert_memory_equal(d2.part, "dummy-1", 8);
	assert_int_equal(d2.restoreds, 1);
	assert_int_equal(d2.notified, 1); /* from restored, not from the transport */
	virtio_mmio_destroy(t2);
	vqb_free(&b2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_identity),
	    T(test_write_only_and_bad_access),
	    T(test_features),
	    T(test_status_machine),
	    T(test_queue_setup),
	    T(test_notify_and_interrupt),
	    T(test_config_generation),
	    T(test_activate_failure),
	    T(test_hostile_chain_needs_reset),
	    T(test_queue_resize_while_live_is_ignored),
	    T(test_notify_bad_index),
	    T(test_interrupt_ack_unset_bits),
	    T(test_config_edges),
	    T(test_snapshot_round_trip),
	    T(test_snapshot_rejects),
	    T(test_snapshot_other_states),
	    T(test_quiesce_resume),
	    T(test_snapshot_device_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
