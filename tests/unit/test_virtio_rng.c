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
	struct vqb b;
	void *dev;

	(void)state;
	vqb_init(&b, 16);
	dev = rng_create(&ops, NULL);
	assert_non_null(dev);
	assert_int_equal(ops->device_id, VIRTIO_ID_RNG);
	t = virtio_mmio_create(ops, dev, &b.gm, irq, NULL);
	assert_non_null(t);
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
	/* What the metrics report: one notification, the bytes really served. */
	struct rng_stats st;
	rng_get_stats(dev, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.bytes, 320 + RNG_MAX_PER_REQUEST);
	assert_int_equal(st.host_fails, 0);
	assert_int_equal(st.throttled, 0);

	/* a hostile chain: device needs reset, then recovers after a reset */
	vqb_desc(&b, b.desc, 7, VQB_RAM_GPA + VQB_RAM_SIZE, 8, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(&b, 7);
	virtio_mmio_notify(t, 0);
	assert_true(virtio_mmio_status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	virtio_mmio_destroy(t);
	vqb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fills_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
