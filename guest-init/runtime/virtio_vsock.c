/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_vsock.c: the socket device (virtio 1.2, 5.10), stream connections
 * to and from the host (CID 2), up to RT_VSOCK_MAX_CONNS at once. Queues: rx
 * 0, tx 1, event 2. Every packet starts with the 44-byte struct
 * virtio_vsock_hdr.
 *
 * Receive: every rx buffer is shared by all connections, so a packet is
 * never left in the ring for its reader: its payload is copied at once into
 * its connection's own buffer of RT_VSOCK_CONN_BUF bytes, and the buffer is
 * posted again. Flow control (5.10.6.3) makes that safe: each connection
 * advertises buf_alloc = RT_VSOCK_CONN_BUF and fwd_cnt = the bytes its reader
 * took out, so the host never sends more than the buffer has room for; a
 * CREDIT_UPDATE goes out when the host's view of the buffer is more than half
 * full and the reader has freed some. Transmit is synchronous: one packet at
 * a time, never beyond the credit the host gave. One vsock device per guest.
 */
#include "virtio.h"

#define RXQ		  0
#define TXQ		  1
#define EVQ		  2
#define RX_BUFS		  RT_VQ_SIZE
#define RX_BUF_BYTES	  (VIRTIO_VSOCK_HDR_SIZE + RT_VSOCK_BUF)
#define TYPE_STREAM	  1
#define OP_REQUEST	  1
#define OP_RESPONSE	  2
#define OP_RST		  3
#define OP_SHUTDOWN	  4
#define OP_RW		  5
#define OP_CREDIT_UPDATE  6
#define OP_CREDIT_REQUEST 7
#define SHUTDOWN_RCV	  1
#define SHUTDOWN_SEND	  2
#define SHUTDOWN_BOTH	  (SHUTDOWN_RCV | SHUTDOWN_SEND)
#define EVENT_TRANSPORT_RESET 0 /* virtio 1.2, 5.10.6.6 */
#define LOCAL_PORT_BASE	  49152
#define LOCAL_PORT_SPAN	  16384

enum conn_state {
	CONN_FREE = 0,
	CONN_CONNECTING, /* our REQUEST is out */
	CONN_OPEN,	 /* RESPONSE seen (or sent, for an accepted one) */
	CONN_CLOSED,	 /* RST seen: the host forgot it */
};

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

struct conn {
	enum conn_state state;
	int refused;	  /* RST in answer to our REQUEST */
	int accepted;	  /* host-initiated, not yet returned by rt_vsock_accept */
	uint32_t shut;	  /* SHUTDOWN flags we sent */
	uint32_t peer_shut; /* SHUTDOWN flags the host sent */
	uint32_t local_port, peer_port;
	uint32_t rx_cnt;       /* payload bytes received */
	uint32_t fwd_cnt;      /* of which the reader took out */
	uint32_t fwd_reported; /* the fwd_cnt the host last heard */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt; /* payload bytes we sent */
	uint32_t rx_head, rx_len; /* the connection's receive ring in conn_buf[] */
};

static uint8_t rx_bufs[RX_BUFS][RX_BUF_BYTES]
    __attribute__((section(".bss.noinit.vsock"), aligned(64)));
static uint8_t conn_buf[RT_VSOCK_MAX_CONNS][RT_VSOCK_CONN_BUF]
    __attribute__((section(".bss.noinit.vsock"), aligned(64)));
static struct conn conns[RT_VSOCK_MAX_CONNS];
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
	memset(conns, 0, sizeof(conns));
	v->dev = d;
	v->cur = -1;
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

static struct conn *conn_of(int id)
{
	return id >= 0 && id < RT_VSOCK_MAX_CONNS && conns[id].state != CONN_FREE ? &conns[id]
										 : NULL;
}

/* tx_raw: one packet from (local_port) to the host's (peer_port), synchronously. */
static int64_t tx_raw(struct rt_vsock *v, uint32_t local_port, uint32_t peer_port, uint16_t op,
		      uint32_t flags, uint32_t fwd_cnt, const void *data, uint32_t len)
{
	struct rt_vbuf b[2] = {{&tx_hdr, sizeof(tx_hdr), 0}, {data, len, 0}};

	tx_hdr.src_cid = v->guest_cid;
	tx_hdr.dst_cid = VIRTIO_VSOCK_HOST_CID;
	tx_hdr.src_port = local_port;
	tx_hdr.dst_port = peer_port;
	tx_hdr.len = len;
	tx_hdr.type = TYPE_STREAM;
	tx_hdr.op = op;
	tx_hdr.flags = flags;
	tx_hdr.buf_alloc = RT_VSOCK_CONN_BUF;
	tx_hdr.fwd_cnt = fwd_cnt;
	return rt_virtq_call(&v->dev->vq[TXQ], b, len > 0 ? 2 : 1, RT_VIRTIO_TIMEOUT_US);
}

static int64_t tx(struct rt_vsock *v, struct conn *c, uint16_t op, uint32_t flags,
		  const void *data, uint32_t len)
{
	c->fwd_reported = c->fwd_cnt;
	return tx_raw(v, c->local_port, c->peer_port, op, flags, c->fwd_cnt, data, len);
}

/* maybe_credit: tell the host about freed room before it runs out of credit. */
static void maybe_credit(struct rt_vsock *v, struct conn *c)
{
	if (c->state == CONN_OPEN && c->fwd_cnt != c->fwd_reported &&
	    c->rx_cnt - c->fwd_reported > RT_VSOCK_CONN_BUF / 2)
		(void)tx(v, c, OP_CREDIT_UPDATE, 0, NULL, 0);
}

static int find(uint32_t local_port, uint32_t peer_port)
{
	int i;

	for (i = 0; i < RT_VSOCK_MAX_CONNS; i++)
		if (conns[i].state != CONN_FREE && conns[i].local_port == local_port &&
		    conns[i].peer_port == peer_port)
			return i;
	return -1;
}

static int alloc_conn(void)
{
	int i;

	for (i = 0; i < RT_VSOCK_MAX_CONNS; i++)
		if (conns[i].state == CONN_FREE) {
			memset(&conns[i], 0, sizeof(conns[i]));
			return i;
		}
	return -1;
}

/* store: (len) payload bytes into (c)'s ring; what does not fit is dropped (host overran). */
static void store(struct conn *c, const uint8_t *p, uint32_t len)
{
	uint32_t room = RT_VSOCK_CONN_BUF - c->rx_len;

	if (len > room)
		len = room;
	c->rx_cnt += len;
	while (len > 0) {
		uint32_t at = (c->rx_head + c->rx_len) % RT_VSOCK_CONN_BUF;
		uint32_t chunk = RT_VSOCK_CONN_BUF - at;

		if (chunk > len)
			chunk = len;
		memcpy(&conn_buf[c - conns][at], p, chunk);
		c->rx_len += chunk;
		p += chunk;
		len -= chunk;
	}
}

/* packet: one received packet, header (h) and (plen) payload bytes at (p). */
static void packet(struct rt_vsock *v, const struct vsock_hdr *h, const uint8_t *p, uint32_t plen)
{
	int id;
	struct conn *c;

	if (h->type != TYPE_STREAM || h->dst_cid != v->guest_cid)
		return;
	id = find(h->dst_port, h->src_port);
	if (id < 0) {
		if (h->op == OP_REQUEST && v->listening && h->dst_port == v->listen_port &&
		    (id = alloc_conn()) >= 0) {
			c = &conns[id];
			c->state = CONN_OPEN;
			c->accepted = 1;
			c->local_port = h->dst_port;
			c->peer_port = h->src_port;
			c->peer_buf_alloc = h->buf_alloc;
			c->peer_fwd_cnt = h->fwd_cnt;
			(void)tx(v, c, OP_RESPONSE, 0, NULL, 0);
		} else if (h->op != OP_RST) {
			(void)tx_raw(v, h->dst_port, h->src_port, OP_RST, 0, 0, NULL, 0);
		}
		return;
	}
	c = &conns[id];
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case OP_RESPONSE:
		if (c->state == CONN_CONNECTING)
			c->state = CONN_OPEN;
		break;
	case OP_RST:
		if (c->state == CONN_CONNECTING)
			c->refused = 1;
		c->state = CONN_CLOSED;
		break;
	case OP_SHUTDOWN:
		c->peer_shut |= h->flags & SHUTDOWN_BOTH;
		break;
	case OP_RW:
		if (c->state == CONN_OPEN)
			store(c, p, plen < h->len ? plen : h->len);
		break;
	case OP_CREDIT_REQUEST:
		if (c->state == CONN_OPEN)
			(void)tx(v, c, OP_CREDIT_UPDATE, 0, NULL, 0);
		break;
	default: /* CREDIT_UPDATE: taken above; a REQUEST on a live connection: ignored */
		break;
	}
}

int rt_vsock_events(struct rt_vsock *v)
{
	struct rt_virtqueue *q = &v->dev->vq[EVQ];
	struct rt_vbuf ev = {ev_buf, sizeof(ev_buf), 1};
	int resets = 0;

	for (;;) {
		uint32_t len = 0, id;
		int head = rt_virtq_get(q, &len);

		if (head == -1)
			return resets;
		if (head < 0)
			return head;
		memcpy(&id, ev_buf, sizeof(id));
		if (len >= sizeof(id) && id == EVENT_TRANSPORT_RESET) {
			/* The host side forgot every stream: so do we. */
			for (int i = 0; i < RT_VSOCK_MAX_CONNS; i++)
				if (conns[i].state != CONN_FREE)
					conns[i].state = CONN_CLOSED;
			v->guest_cid = rt_virtio_config(v->dev, 0, 8);
			v->resets++;
			resets++;
		}
		head = rt_virtq_submit(q, &ev, 1);
		if (head < 0)
			return head;
	}
}

int rt_vsock_poll(struct rt_vsock *v, uint64_t timeout_us)
{
	struct rt_virtqueue *q = &v->dev->vq[RXQ];
	int ret, n = 0;

	ret = rt_vsock_events(v);
	if (ret < 0)
		return ret;
	ret = rt_virtq_wait(q, timeout_us);
	if (ret < 0)
		return ret;
	for (;;) {
		struct vsock_hdr h;
		uint32_t len = 0;
		int id = rt_virtq_get(q, &len), rb;

		if (id == -1)
			return n;
		if (id < 0)
			return id;
		rb = rx_buf_of[id];
		rx_buf_of[id] = -1;
		if (rb < 0 || len < sizeof(h) || len > RX_BUF_BYTES)
			return RT_VIRTIO_EDEVICE;
		memcpy(&h, rx_bufs[rb], sizeof(h));
		packet(v, &h, rx_bufs[rb] + sizeof(h), len - (uint32_t)sizeof(h));
		ret = post_rx(v, rb);
		if (ret < 0)
			return ret;
		n++;
	}
}

int rt_vsock_open(struct rt_vsock *v, uint32_t port)
{
	int id = alloc_conn(), tries;
	struct conn *c;
	int64_t ret;

	if (id < 0)
		return RT_VIRTIO_ENOSPC;
	c = &conns[id];
	for (tries = 0; tries < LOCAL_PORT_SPAN; tries++) {
		c->local_port = LOCAL_PORT_BASE + next_port++ % LOCAL_PORT_SPAN;
		if (find(c->local_port, port) < 0)
			break;
	}
	c->peer_port = port;
	c->state = CONN_CONNECTING;
	ret = tx(v, c, OP_REQUEST, 0, NULL, 0);
	if (ret < 0) {
		c->state = CONN_FREE;
		return (int)ret;
	}
	return id;
}

void rt_vsock_listen(struct rt_vsock *v, uint32_t port)
{
	v->listen_port = port;
	v->listening = 1;
}

int rt_vsock_accept(struct rt_vsock *v)
{
	int i;

	(void)v;
	for (i = 0; i < RT_VSOCK_MAX_CONNS; i++)
		if (conns[i].state != CONN_FREE && conns[i].accepted) {
			conns[i].accepted = 0;
			return i;
		}
	return -1;
}

int rt_vsock_state(const struct rt_vsock *v, int id)
{
	const struct conn *c = conn_of(id);

	(void)v;
	if (c == NULL)
		return RT_VIRTIO_EINVAL;
	if (c->state == CONN_CONNECTING)
		return RT_VSOCK_CONNECTING;
	if (c->refused)
		return RT_VSOCK_EREFUSED;
	if (c->state == CONN_CLOSED)
		return RT_VSOCK_RESET;
	if ((c->peer_shut & SHUTDOWN_SEND) && c->rx_len == 0)
		return RT_VSOCK_PEER_DONE;
	return RT_VSOCK_OPEN;
}

uint32_t rt_vsock_pending(const struct rt_vsock *v, int id)
{
	const struct conn *c = conn_of(id);

	(void)v;
	return c != NULL ? c->rx_len : 0;
}

uint32_t rt_vsock_credit(const struct rt_vsock *v, int id)
{
	const struct conn *c = conn_of(id);
	uint32_t in_flight;

	(void)v;
	if (c == NULL || c->state != CONN_OPEN || (c->peer_shut & SHUTDOWN_RCV))
		return 0;
	in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

int64_t rt_vsock_write(struct rt_vsock *v, int id, const void *buf, size_t len)
{
	struct conn *c = conn_of(id);
	uint32_t credit = rt_vsock_credit(v, id);
	int64_t ret;

	if (c == NULL || c->state != CONN_OPEN || (c->shut & SHUTDOWN_SEND))
		return RT_VIRTIO_EINVAL;
	if (len > credit)
		len = credit;
	if (len > RT_VSOCK_BUF)
		len = RT_VSOCK_BUF;
	if (len == 0)
		return 0;
	ret = tx(v, c, OP_RW, 0, buf, (uint32_t)len);
	if (ret < 0)
		return ret;
	c->tx_cnt += (uint32_t)len;
	return (int64_t)len;
}

int64_t rt_vsock_read(struct rt_vsock *v, int id, void *buf, size_t cap)
{
	struct conn *c = conn_of(id);
	uint8_t *out = buf;
	uint32_t n, done = 0;

	if (c == NULL)
		return RT_VIRTIO_EINVAL;
	n = c->rx_len < cap ? c->rx_len : (uint32_t)cap;
	while (done < n) {
		uint32_t chunk = RT_VSOCK_CONN_BUF - c->rx_head;

		if (chunk > n - done)
			chunk = n - done;
		memcpy(out + done, &conn_buf[id][c->rx_head], chunk);
		c->rx_head = (c->rx_head + chunk) % RT_VSOCK_CONN_BUF;
		c->rx_len -= chunk;
		done += chunk;
	}
	c->fwd_cnt += done;
	if (done > 0)
		maybe_credit(v, c);
	return done;
}

void rt_vsock_shutdown(struct rt_vsock *v, int id)
{
	struct conn *c = conn_of(id);

	if (c == NULL || c->state != CONN_OPEN || c->shut == SHUTDOWN_BOTH)
		return;
	c->shut = SHUTDOWN_BOTH;
	(void)tx(v, c, OP_SHUTDOWN, SHUTDOWN_BOTH, NULL, 0);
}

void rt_vsock_release(struct rt_vsock *v, int id)
{
	struct conn *c = conn_of(id);

	if (c == NULL)
		return;
	if (c->state == CONN_OPEN || c->state == CONN_CONNECTING)
		(void)tx(v, c, OP_RST, 0, NULL, 0);
	c->state = CONN_FREE;
	if (v->cur == id)
		v->cur = -1;
}

/* --- one stream at a time, as the single-connection words use it ----- */

int rt_vsock_connect(struct rt_vsock *v, uint32_t port, uint64_t timeout_us)
{
	uint64_t per_us = rt_tsc_per_us(), start = rt_tsc();
	int id, st;

	if (v->cur >= 0)
		rt_vsock_release(v, v->cur);
	id = rt_vsock_open(v, port);
	if (id < 0)
		return id;
	while ((st = rt_vsock_state(v, id)) == RT_VSOCK_CONNECTING) {
		uint64_t spent = (rt_tsc() - start) / per_us;
		int ret;

		if (spent >= timeout_us) {
			rt_vsock_release(v, id);
			return RT_VIRTIO_ETIMEDOUT;
		}
		ret = rt_vsock_poll(v, timeout_us - spent);
		if (ret < 0 && ret != RT_VIRTIO_ETIMEDOUT) {
			rt_vsock_release(v, id);
			return ret;
		}
	}
	if (st != RT_VSOCK_OPEN) {
		conns[id].state = CONN_FREE;
		return RT_VSOCK_EREFUSED;
	}
	v->cur = id;
	return 0;
}

int64_t rt_vsock_send(struct rt_vsock *v, const void *buf, size_t len)
{
	return v->cur < 0 ? RT_VIRTIO_EINVAL : rt_vsock_write(v, v->cur, buf, len);
}

int64_t rt_vsock_recv(struct rt_vsock *v, void *buf, size_t cap, uint64_t timeout_us)
{
	uint64_t per_us = rt_tsc_per_us(), start = rt_tsc();

	if (v->cur < 0)
		return RT_VIRTIO_EINVAL;
	for (;;) {
		uint64_t spent = (rt_tsc() - start) / per_us;
		int64_t n = rt_vsock_read(v, v->cur, buf, cap);
		int st = rt_vsock_state(v, v->cur), ret;

		if (n != 0)
			return n;
		if (st != RT_VSOCK_OPEN)
			return 0; /* the host shut down or reset the stream */
		if (spent >= timeout_us)
			return RT_VIRTIO_ETIMEDOUT;
		ret = rt_vsock_poll(v, timeout_us - spent);
		if (ret < 0 && ret != RT_VIRTIO_ETIMEDOUT)
			return ret;
	}
}

void rt_vsock_close(struct rt_vsock *v)
{
	if (v->cur < 0)
		return;
	rt_vsock_shutdown(v, v->cur);
	/* The host answers SHUTDOWN(both) with an RST; the slot is reused either way. */
	conns[v->cur].state = CONN_FREE;
	v->cur = -1;
}
