// SPDX-License-Identifier: Apache-2.0
/* test_virtio_rng.c: virtio-rng fills the driver's buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mmio.h"
#include "rng.h"
#include "vq_builder.h"

#define ALL (~0ull)

static int irqs;

static void irq(void *ctx)
{
	(void)ctx;
	irqs++;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void test_fills_buffers(void **state)
{
	static const uint32_t lens[] = {256, 64};
	static const bool write[] = {true, true};
	const struct virtio_device_ops *ops;
	struct virtio_mmio_dev *t;
	uint64_t gpas[2], big;
	uint32_t id, len;
	struct entropy_metrics st = {0};
	struct vqb b;
	void *dev;

	(void)state;
	vqb_init(&b, 16);
	dev = rng_create(&st, &ops, NULL);
	assert_non_null(dev);
	assert_int_equal(ops->device_id, VIRTIO_ID_RNG);
	t = virtio_mmio_create(ops, dev, &b.gm, irq, NULL);
	assert_non_null(t);
	virtio_mmio_set_counters(
	    t, &(struct virtio_mmio_counters){.activate_fails = &st.activate_fails});
	assert_int_equal(vqb_driver_init(t, &b, 0, ALL) & VIRTIO_STATUS_DRIVER_OK,
			 VIRTIO_STATUS_DRIVER_OK);

	vqb_publish(&b, vqb_chain(&b, 0, 2, lens, write, gpas));
	/* one huge buffer: served up to RNG_MAX_PER_REQUEST */
	big = vqb_alloc(&b, 1 << 20);
	vqb_desc(&b, b.desc, 5, big, 1 << 20, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(&b, 5);
	/* a readable-only chain: nothing to fill, returned with 0 */
	vqb_desc(&b, b.desc, 6, vqb_alloc(&b, 32), 32, 0, 0);
	vqb_publish(&b, 6);
	virtio_mmio_notify(t, 0);

	assert_int_equal(vqb_used_idx(&b), 3);
	vqb_used_elem(&b, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 320);
	assert_false(all_zero(vqb_host(&b, gpas[0]), 256));
	assert_false(all_zero(vqb_host(&b, gpas[1]), 64));
	vqb_used_elem(&b, 1, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, RNG_MAX_PER_REQUEST);
	assert_true(all_zero((uint8_t *)vqb_host(&b, big) + RNG_MAX_PER_REQUEST, 4096));
	vqb_used_elem(&b, 2, &id, &len);
	assert_int_equal(id, 6);
	assert_int_equal(len, 0);
	assert_int_equal(irqs, 1);
	/* What the device's group reports: one notification, the bytes really served. */
	assert_int_equal(st.entropy_event_count, 1);
	assert_int_equal(st.entropy_bytes, 320 + RNG_MAX_PER_REQUEST);
	assert_int_equal(st.host_rng_fails, 0);
	assert_int_equal(st.entropy_rate_limiter_throttled, 0);
	assert_int_equal(st.activate_fails, 0);

	/* a hostile chain: device needs reset, then recovers after a reset */
	vqb_desc(&b, b.desc, 7, VQB_RAM_GPA + VQB_RAM_SIZE, 8, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(&b, 7);
	virtio_mmio_notify(t, 0);
	assert_true(virtio_mmio_status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	virtio_mmio_destroy(t);
	vqb_free(&b);
}

static int set_limiter(void *dev, void *arg)
{
	return rng_set_limiter(dev, arg);
}

/* post: a chain of one writable buffer of (len) bytes at descriptor (i), published. */
static uint64_t post(struct vqb *b, uint16_t i, uint32_t len)
{
	uint64_t gpa = vqb_alloc(b, len);

	vqb_desc(b, b->desc, i, gpa, len, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(b, i);
	return gpa;
}

/*
 * Saved and loaded in a new device over a copy of guest memory: the request
 * waiting for the rate limiter at the save (given back to the ring) waits
 * again, the bucket being as empty as saved; lifting the limit serves it at
 * the next used index, and the next request after it.
 */
static void test_snapshot(void **state)
{
	static const struct virtio_rate_limit one_op = {.ops = {.size = 1, .refill_time = 100000}};
	static const struct virtio_rate_limit none;
	const struct virtio_device_ops *ops;
	struct virtio_mmio_dev *t, *t2;
	struct virtio_mmio_state st;
	struct vlog_err err = {0};
	uint32_t id, len;
	struct vqb b, b2, saved;
	struct entropy_metrics before = {0}, after = {0};
	uint64_t gpa;
	void *dev;

	(void)state;
	vqb_init(&b, 16);
	dev = rng_create_limited(&one_op, &before, &ops, NULL);
	assert_non_null(dev);
	t = virtio_mmio_create(ops, dev, &b.gm, irq, NULL);
	assert_int_equal(vqb_driver_init(t, &b, 0, ALL) & VIRTIO_STATUS_DRIVER_OK,
			 VIRTIO_STATUS_DRIVER_OK);
	post(&b, 0, 32);
	post(&b, 1, 32);
	virtio_mmio_notify(t, 0);
	assert_int_equal(vqb_used_idx(&b), 1); /* the second waits for a token */
	assert_int_equal(virtio_mmio_quiesce(t), 0);
	virtio_mmio_save_state(t, &st);
	assert_int_equal(st.queues[0].last_avail, 1);
	assert_int_equal(st.dev_len, sizeof(struct ratelimit_opt_state));

	vqb_clone(&saved, &b); /* the memory file */
	vqb_clone(&b2, &saved);
	virtio_mmio_destroy(t);
	vqb_free(&b);
	dev = rng_create_limited(&one_op, &after, &ops, NULL);
	t2 = virtio_mmio_create(ops, dev, &b2.gm, irq, NULL);
	irqs = 0;
	assert_int_equal(virtio_mmio_load_state(t2, &st, &err), 0);
	assert_int_equal(irqs, 1); /* InterruptStatus raised again */
	assert_int_equal(vqb_used_idx(&b2), 1);
	assert_int_equal(virtio_mmio_with_lock(t2, set_limiter, (void *)&none), 0);
	assert_int_equal(vqb_used_idx(&b2), 2);
	vqb_used_elem(&b2, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 32);
	gpa = post(&b2, 2, 64);
	virtio_mmio_notify(t2, 0);
	assert_int_equal(vqb_used_idx(&b2), 3);
	vqb_used_elem(&b2, 2, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 64);
	assert_false(all_zero(vqb_host(&b2, gpa), 64));
	/* The restored device counts from zero, into its own group. */
	assert_int_equal(before.entropy_event_count, 1);
	assert_int_equal(before.entropy_bytes, 32);
	assert_int_equal(after.entropy_event_count, 1);
	assert_int_equal(after.entropy_bytes, 32 + 64);
	virtio_mmio_destroy(t2);
	vqb_free(&b2);

	/* a device without a limiter takes the state, its configuration winning */
	vqb_clone(&b2, &saved);
	dev = rng_create(NULL, &ops, NULL);
	t2 = virtio_mmio_create(ops, dev, &b2.gm, irq, NULL);
	assert_int_equal(virtio_mmio_load_state(t2, &st, &err), 0);
	assert_int_equal(vqb_used_idx(&b2), 2); /* served at once */
	virtio_mmio_destroy(t2);
	vqb_free(&b2);
	vqb_free(&saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fills_buffers),
	    cmocka_unit_test(test_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
