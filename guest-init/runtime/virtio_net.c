/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_net.c: the network device (virtio 1.2, 5.1), minimal: receiveq 0
 * and transmitq 1, no offloads, no mergeable buffers. Every frame is
 * preceded by the 12-byte struct virtio_net_hdr_v1 (all zero on transmit:
 * no checksum offload, no GSO). The MAC comes from config offset 0 when
 * VIRTIO_NET_F_MAC is offered, and the MTU the device advises from offset
 * 10 when VIRTIO_NET_F_MTU is. One net device per guest.
 */
#include "virtio.h"

#define RXQ	     0
#define TXQ	     1
#define RX_BUF_BYTES (VIRTIO_NET_HDR_SIZE + RT_VNET_FRAME_MAX)

static uint8_t rx_bufs[RT_VNET_RX_BUFS][RX_BUF_BYTES] __attribute__((aligned(64)));
static int rx_buf_of[RT_VQ_SIZE]; /* descriptor -> rx buffer, -1 none */
static uint8_t tx_hdr[VIRTIO_NET_HDR_SIZE] __attribute__((aligned(16)));

static int post_rx(struct rt_vnet *n, int buf)
{
	struct rt_vbuf b = {rx_bufs[buf], RX_BUF_BYTES, 1};
	int head = rt_virtq_submit(&n->dev->vq[RXQ], &b, 1);

	if (head >= 0)
		rx_buf_of[head] = buf;
	return head < 0 ? head : 0;
}

int rt_vnet_init(struct rt_vnet *n, struct rt_virtio_dev *d)
{
	static const uint8_t fallback[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	int ret, i;

	if (d == NULL || d->device_id != VIRTIO_ID_NET)
		return RT_VIRTIO_EINVAL;
	n->dev = d;
	ret = rt_virtio_begin(d, (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_MTU));
	if (ret == 0)
		ret = rt_virtio_queue(d, RXQ);
	if (ret == 0)
		ret = rt_virtio_queue(d, TXQ);
	if (ret != 0)
		return ret;
	n->has_mac = rt_virtio_has(d, VIRTIO_NET_F_MAC);
	n->mtu = rt_virtio_has(d, VIRTIO_NET_F_MTU)
		     ? (uint16_t)rt_virtio_config(d, VIRTIO_NET_CFG_MTU, sizeof(uint16_t))
		     : 0;
	for (i = 0; i < 6; i++)
		n->mac[i] = n->has_mac ? (uint8_t)rt_virtio_config(d, (unsigned int)i, 1)
				       : fallback[i];
	for (i = 0; i < RT_VQ_SIZE; i++)
		rx_buf_of[i] = -1;
	/* 3.1.1: buffers may be made available before DRIVER_OK. */
	for (i = 0; i < RT_VNET_RX_BUFS && i < d->vq[RXQ].size; i++) {
		ret = post_rx(n, i);
		if (ret != 0)
			return ret;
	}
	rt_virtio_ready(d);
	return 0;
}

int rt_vnet_send(struct rt_vnet *n, const void *frame, size_t len)
{
	struct rt_vbuf b[2] = {{tx_hdr, VIRTIO_NET_HDR_SIZE, 0}, {frame, (uint32_t)len, 0}};
	int64_t ret;

	if (len == 0 || len > RT_VNET_FRAME_MAX)
		return RT_VIRTIO_EINVAL;
	memset(tx_hdr, 0, sizeof(tx_hdr));
	ret = rt_virtq_call(&n->dev->vq[TXQ], b, 2, RT_VIRTIO_TIMEOUT_US);
	return ret < 0 ? (int)ret : 0;
}

int64_t rt_vnet_recv(struct rt_vnet *n, void *buf, size_t cap, uint64_t timeout_us)
{
	struct rt_virtqueue *q = &n->dev->vq[RXQ];
	uint32_t len = 0;
	int ret, id, rb;

	ret = rt_virtq_wait(q, timeout_us);
	if (ret < 0)
		return ret;
	id = rt_virtq_get(q, &len);
	if (id < 0)
		return id == -1 ? RT_VIRTIO_ETIMEDOUT : id;
	rb = rx_buf_of[id];
	rx_buf_of[id] = -1;
	if (rb < 0 || len < VIRTIO_NET_HDR_SIZE || len > RX_BUF_BYTES)
		return RT_VIRTIO_EDEVICE;
	len -= VIRTIO_NET_HDR_SIZE;
	memcpy(buf, rx_bufs[rb] + VIRTIO_NET_HDR_SIZE, len < cap ? len : cap);
	ret = post_rx(n, rb);
	return ret < 0 ? ret : (int64_t)len;
}
