/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_rng.c: the entropy device (virtio 1.2, 5.4): one queue of
 * device-writable buffers that come back filled with random bytes.
 */
#include "virtio.h"

#define RNG_EMPTY_TRIES 8 /* zero-length completions tolerated in a row */

int rt_vrng_init(struct rt_virtio_dev *d)
{
	int ret;

	if (d == NULL || d->device_id != VIRTIO_ID_RNG)
		return RT_VIRTIO_EINVAL;
	ret = rt_virtio_begin(d, 0);
	if (ret == 0)
		ret = rt_virtio_queue(d, 0);
	if (ret == 0)
		rt_virtio_ready(d);
	return ret;
}

int64_t rt_vrng_read(struct rt_virtio_dev *d, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;
	unsigned int empty = 0;

	while (got < n) {
		struct rt_vbuf b = {p + got, (uint32_t)(n - got > 0x10000 ? 0x10000 : n - got), 1};
		int64_t len = rt_virtq_call(&d->vq[0], &b, 1, RT_VIRTIO_TIMEOUT_US);

		if (len < 0)
			return len;
		if ((uint64_t)len > b.len)
			return RT_VIRTIO_EDEVICE;
		if (len == 0 && ++empty >= RNG_EMPTY_TRIES)
			return RT_VIRTIO_EDEVICE;
		got += (size_t)len;
	}
	return (int64_t)got;
}
