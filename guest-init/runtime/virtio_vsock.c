/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_vsock.c: the socket device (virtio 1.2, 5.10), one stream
 * connection to the host (CID 2) at a time. Queues: rx 0, tx 1, event 2.
 * Every packet starts with the 44-byte struct virtio_vsock_hdr; flow
 * control by buf_alloc/fwd_cnt credit (5.10.6.3). One vsock device per
 * guest; a received packet larger than the caller's buffer is truncated.
 */
#include "virtio.h"

#define RXQ		   0
#define TXQ		   1
#define EVQ		   2
#define RX_BUFS		   4
#define RX_BUF_BYTES	   (VIRTIO_VSOCK_HDR_SIZE + RT_VSOCK_BUF)
#define TYPE_STREAM	   1
#define OP_REQUEST	   1
#define OP_RESPONSE	   2
#define OP_RST		   3
#define OP_SHUTDOWN	   4
#define OP_RW		   5
#define OP_CREDIT_UPDATE   6
#define OP_CREDIT_REQUEST  7
#define SHUTDOWN_BOTH	   3
#define LOCAL_PORT_BASE	   49152
#define OUR_BUF_ALLOC	   (RX_BUFS * RT_VSOCK_BUF)

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct vsock_hdr) == VIRTIO_VSOCK_HDR_SIZE, "virtio 1.2 5.10.6");

static uint8_t rx_bufs[RX_BUFS][RX_BUF_BYTES] __attribute__((aligned(64)));
static int rx_buf_of[RT_VQ_SIZE];
static uint8_t ev_buf[8] __attribute__((aligned(8)));
static struct vsock_hdr tx_hdr __attribute__((aligned(16)));
static unsigned int next_port;

static int post_rx(struct rt_vsock *v, int buf)
{
	struct rt_vbuf b = {rx_bufs[buf], RX_BUF_BYTES, 1};
	int head = rt_virtq_submit(&v->dev->vq[RXQ], &b, 1);

	if (head >= 0)
		rx_buf_of[head] = buf;
	return head < 0 ? head : 0;
}

int rt_vsock_init(struct rt_vsock *v, struct rt_virtio_dev *d)
{
	struct rt_vbuf ev = {ev_buf, sizeof(ev_buf), 1};
	int ret, i;

	if (d == NULL || d->device_id != VIRTIO_ID_VSOCK)
		return RT_VIRTIO_EINVAL;
	memset(v, 0, sizeof(*v));
	v->dev = d;
	ret = rt_virtio_begin(d, 0);
	for (i = 0; ret == 0 && i < 3; i++)
		ret = rt_virtio_queue(d, (unsigned int)i);
	if (ret != 0)
		return ret;
	v->guest_cid = rt_virtio_config(d, 0, 8);
	for (i = 0; i < RT_VQ_SIZE; i++)
		rx_buf_of[i] = -1;
	for (i = 0; i < RX_BUFS && i < d->vq[RXQ].size; i++) {
		ret = post_rx(v, i);
		if (ret != 0)
			return ret;
	}
	ret = rt_virtq_submit(&d->vq[EVQ], &ev, 1);
	if (ret < 0)
		return ret;
	rt_virtio_ready(d);
	return 0;
}

static int64_t tx(struct rt_vsock *v, uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	struct rt_vbuf b[2] = {{&tx_hdr, sizeof(tx_hdr), 0}, {data, len, 0}};

	tx_hdr.src_cid = v->guest_cid;
	tx_hdr.dst_cid = VIRTIO_VSOCK_HOST_CID;
	tx_hdr.src_port = v->local_port;
	tx_hdr.dst_port = v->peer_port;
	tx_hdr.len = len;
	tx_hdr.type = TYPE_STREAM;
	tx_hdr.op = op;
	tx_hdr.flags = flags;
	tx_hdr.buf_alloc = OUR_BUF_ALLOC;
	tx_hdr.fwd_cnt = v->fwd_cnt;
	return rt_virtq_call(&v->dev->vq[TXQ], b, len > 0 ? 2 : 1, RT_VIRTIO_TIMEOUT_US);
}

/*
 * Take one packet for our connection off the rx queue: its header in (*h),
 * payload copied to (buf) (at most cap). Returns the payload length or
 * negative. Credit requests are answered here, other ports' packets dropped.
 */
static int64_t rx(struct rt_vsock *v, struct vsock_hdr *h, void *buf, size_t cap,
		  uint64_t timeout_us)
{
	struct rt_virtqueue *q = &v->dev->vq[RXQ];
	uint64_t per_us = rt_tsc_per_us(), start = rt_tsc();

	for (;;) {
		uint64_t spent = (rt_tsc() - start) / per_us;
		uint32_t len = 0, plen;
		int ret, id, rb;

		if (spent >= timeout_us)
			return RT_VIRTIO_ETIMEDOUT;
		ret = rt_virtq_wait(q, timeout_us - spent);
		if (ret < 0)
			return ret;
		id = rt_virtq_get(q, &len);
		if (id < 0)
			return id == -1 ? RT_VIRTIO_ETIMEDOUT : id;
		rb = rx_buf_of[id];
		rx_buf_of[id] = -1;
		if (rb < 0 || len < sizeof(*h) || len > RX_BUF_BYTES)
			return RT_VIRTIO_EDEVICE;
		memcpy(h, rx_bufs[rb], sizeof(*h));
		plen = len - (uint32_t)sizeof(*h);
		if (plen > h->len)
			plen = h->len;
		if (buf != NULL)
			memcpy(buf, rx_bufs[rb] + sizeof(*h), plen < cap ? plen : cap);
		ret = post_rx(v, rb);
		if (ret < 0)
			return ret;
		if (h->dst_port != v->local_port || h->src_port != v->peer_port ||
		    h->type != TYPE_STREAM)
			continue;
		v->peer_buf_alloc = h->buf_alloc;
		v->peer_fwd_cnt = h->fwd_cnt;
		if (h->op == OP_CREDIT_REQUEST) {
			(void)tx(v, OP_CREDIT_UPDATE, 0, NULL, 0);
			continue;
		}
		if (h->op == OP_CREDIT_UPDATE)
			continue;
		return plen < cap ? plen : (int64_t)cap;
	}
}

int rt_vsock_connect(struct rt_vsock *v, uint32_t port, uint64_t timeout_us)
{
	struct vsock_hdr h;
	int64_t ret;

	v->local_port = LOCAL_PORT_BASE + next_port++ % 16384;
	v->peer_port = port;
	v->connected = 0;
	v->fwd_cnt = v->tx_cnt = 0;
	ret = tx(v, OP_REQUEST, 0, NULL, 0);
	if (ret < 0)
		return (int)ret;
	ret = rx(v, &h, NULL, 0, timeout_us);
	if (ret < 0)
		return (int)ret;
	if (h.op != OP_RESPONSE)
		return RT_VSOCK_EREFUSED;
	v->connected = 1;
	return 0;
}

int64_t rt_vsock_send(struct rt_vsock *v, const void *buf, size_t len)
{
	uint32_t credit;
	int64_t ret;

	if (!v->connected)
		return RT_VIRTIO_EINVAL;
	credit = v->peer_buf_alloc - (v->tx_cnt - v->peer_fwd_cnt);
	if (len > credit)
		len = credit;
	if (len > RT_VSOCK_BUF)
		len = RT_VSOCK_BUF;
	if (len == 0)
		return 0;
	ret = tx(v, OP_RW, 0, buf, (uint32_t)len);
	if (ret < 0)
		return ret;
	v->tx_cnt += (uint32_t)len;
	return (int64_t)len;
}

int64_t rt_vsock_recv(struct rt_vsock *v, void *buf, size_t cap, uint64_t timeout_us)
{
	struct vsock_hdr h;
	int64_t ret;

	if (!v->connected)
		return RT_VIRTIO_EINVAL;
	for (;;) {
		ret = rx(v, &h, buf, cap, timeout_us);
		if (ret < 0)
			return ret;
		if (h.op == OP_SHUTDOWN || h.op == OP_RST) {
			v->connected = h.op == OP_SHUTDOWN && !(h.flags & 2);
			return 0;
		}
		if (h.op == OP_RW) {
			v->fwd_cnt += h.len;
			return ret;
		}
	}
}

void rt_vsock_close(struct rt_vsock *v)
{
	if (v->connected)
		(void)tx(v, OP_SHUTDOWN, SHUTDOWN_BOTH, NULL, 0);
	v->connected = 0;
}
