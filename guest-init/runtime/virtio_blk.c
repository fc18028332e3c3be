/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_blk.c: the block device (virtio 1.2, 5.2). A request is a chain:
 * a 16-byte header {le32 type, le32 reserved, le64 sector} the device
 * reads, the data (device-readable for writes, device-writable for reads
 * and GET_ID), and one status byte the device writes. Capacity (in 512-byte
 * sectors) is at config offset 0, blk_size at 20.
 */
#include "virtio.h"

#define CFG_CAPACITY 0
#define CFG_BLK_SIZE 20

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One request at a time: header and status live here, in RAM. */
static struct blk_hdr hdr __attribute__((aligned(16)));
static uint8_t status __attribute__((aligned(16)));

int rt_vblk_init(struct rt_vblk *b, struct rt_virtio_dev *d)
{
	int ret;

	if (d == NULL || d->device_id != VIRTIO_ID_BLK)
		return RT_VIRTIO_EINVAL;
	b->dev = d;
	ret = rt_virtio_begin(d, 1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
				     1ULL << VIRTIO_BLK_F_FLUSH);
	if (ret == 0)
		ret = rt_virtio_queue(d, 0);
	if (ret != 0)
		return ret;
	b->capacity = rt_virtio_config(d, CFG_CAPACITY, 8);
	b->blk_size = rt_virtio_has(d, VIRTIO_BLK_F_BLK_SIZE)
			  ? (uint32_t)rt_virtio_config(d, CFG_BLK_SIZE, 4)
			  : VIRTIO_BLK_SECTOR;
	b->ro = rt_virtio_offered(d, VIRTIO_BLK_F_RO);
	b->flush = rt_virtio_has(d, VIRTIO_BLK_F_FLUSH);
	rt_virtio_ready(d);
	return 0;
}

int rt_vblk_request(struct rt_vblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	struct rt_vbuf bufs[3];
	unsigned int n = 0;
	int64_t ret;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	bufs[n++] = (struct rt_vbuf){&hdr, sizeof(hdr), 0};
	if (len > 0)
		bufs[n++] = (struct rt_vbuf){data, len, type != VIRTIO_BLK_T_OUT};
	bufs[n++] = (struct rt_vbuf){&status, 1, 1};
	ret = rt_virtq_call(&b->dev->vq[0], bufs, n, RT_VIRTIO_TIMEOUT_US);
	if (ret < 0)
		return (int)ret;
	return *(volatile uint8_t *)&status;
}

int rt_vblk_rw(struct rt_vblk *b, int write, uint64_t sector, void *buf, uint32_t nsect)
{
	if (nsect == 0 || nsect > (1U << 22) / VIRTIO_BLK_SECTOR)
		return RT_VIRTIO_EINVAL;
	return rt_vblk_request(b, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, buf,
			       nsect * VIRTIO_BLK_SECTOR);
}

int rt_vblk_flush(struct rt_vblk *b)
{
	return rt_vblk_request(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
}

int rt_vblk_get_id(struct rt_vblk *b, char id[VIRTIO_BLK_ID_BYTES + 1])
{
	int ret;

	memset(id, 0, VIRTIO_BLK_ID_BYTES + 1);
	ret = rt_vblk_request(b, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	id[VIRTIO_BLK_ID_BYTES] = '\0';
	return ret;
}
