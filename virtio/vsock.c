// SPDX-License-Identifier: Apache-2.0
/*
 * vsock.c: virtio-vsock proxied to host Unix sockets (Firecracker's hybrid
 * vsock): the device, its queues and its fds' events. Connections are in
 * vsock_conn.c, the host side in vsock_mux.c (vsock_impl.h).
 */
#include "vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mmio.h"
#include "queue.h"
#include "vlog.h"
#include "vsock_impl.h"

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_BYTES, "virtio 1.2, 5.10.6");

#define RX_BUDGET    512 /* rx packets per pass before yielding through the kick fd */
#define LOG_EVERY_MS 10000

/* ---- guest packets (tx queue) ------------------------------------------- */

static void tx_pass(struct vsock *v)
{
	struct virtq *q = virtio_mmio_queue(v->t, VSOCK_QUEUE_TX);
	int rc;

	while ((rc = vq_pop(q, &v->tx_chain)) == 1) {
		vsock_packet(v, &v->tx_chain);
		vq_push(q, &v->tx_chain, 0);
	}
	if (rc < 0 && rc != -ENODEV)
		virtio_mmio_needs_reset(v->t);
	virtio_mmio_signal_used(v->t, VSOCK_QUEUE_TX);
}

/* ---- packets to the guest (rx queue) ------------------------------------ */

void vsock_fill_hdr(const struct vsock *v, struct virtio_vsock_hdr *h, uint32_t host_port,
		    uint32_t guest_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->guest_cid;
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_CONN_BUF;
}

uint32_t vsock_put_hdr(struct vsock *v, struct virtio_vsock_hdr *h)
{
	vq_chain_write(&v->rx_chain, 0, h, sizeof(*h));
	return VSOCK_HDR_BYTES;
}

/* take_rx: make sure rx_chain holds a usable buffer. 1, 0 (none), -1 (queue broken). */
static int take_rx(struct vsock *v, struct virtq *q, bool *pushed)
{
	while (!v->have_rx) {
		int rc = vq_pop(q, &v->rx_chain);
		if (rc < 0 && rc != -ENODEV)
			virtio_mmio_needs_reset(v->t);
		if (rc <= 0)
			return rc < 0 ? -1 : 0;
		if (v->rx_chain.nread > 0 || v->rx_chain.write_len <= VSOCK_HDR_BYTES) {
			vlog_limited(
			    &v->log, VSOCK_WHO, ERR_RXBUF,
			    "rx buffer at head %u: %llu writable bytes (need > 44), %u readable "
			    "descriptors: returned unused",
			    v->rx_chain.head, (unsigned long long)v->rx_chain.write_len,
			    v->rx_chain.nread);
			vq_push(q, &v->rx_chain, 0);
			*pushed = true;
			continue;
		}
		v->have_rx = true;
	}
	return 1;
}

/* rx_pass: hand the guest what is pending while it has rx buffers. */
static void rx_pass(struct vsock *v)
{
	struct virtq *q;
	bool pushed = false;
	unsigned int budget = RX_BUDGET;

	if (v->t == NULL)
		return;
	q = virtio_mmio_queue(v->t, VSOCK_QUEUE_RX);
	while (v->rst_len > 0 || v->rq_head != NULL) {
		uint32_t used;

		if (budget-- == 0) {
			uint64_t one = 1;
			/* Yield: the kick fd brings us back through ops->fd_ready. */
			if (write(v->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
				vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "kick eventfd: %s",
					     strerror(errno));
			break;
		}
		if (take_rx(v, q, &pushed) <= 0)
			break;
		if (v->rst_len > 0) {
			struct rst r = v->rsts[v->rst_head];
			struct virtio_vsock_hdr h;
			v->rst_head = (v->rst_head + 1) % RST_RING;
			v->rst_len--;
			vsock_fill_hdr(v, &h, r.host_port, r.guest_port, VSOCK_OP_RST);
			used = vsock_put_hdr(v, &h);
		} else {
			struct conn *c = v->rq_head;
			used = vsock_conn_emit(v, c);
			vsock_rxq_del(v, c); /* to the back of the queue, if it has more */
			vsock_conn_update(v, c);
		}
		if (used > 0) {
			vq_push(q, &v->rx_chain, used);
			v->have_rx = false;
			pushed = true;
			metrics_inc(&v->metrics->rx_packets_count);
			metrics_add(&v->metrics->rx_bytes_count, used - VSOCK_HDR_BYTES);
		}
	}
	if (pushed)
		virtio_mmio_signal_used(v->t, VSOCK_QUEUE_RX);
}

/* ---- events to the guest (event queue) ---------------------------------- */

/* event_pass: a TRANSPORT_RESET owed goes into the driver's first usable event buffer. */
static void event_pass(struct vsock *v)
{
	struct virtq *q = virtio_mmio_queue(v->t, VSOCK_QUEUE_EVENT);
	struct virtq_chain *c = &v->ev_chain;
	bool pushed = false;
	int rc = 0;

	while (v->reset_event && (rc = vq_pop(q, c)) == 1) {
		const struct virtio_vsock_event ev = {.id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET};

		pushed = true;
		if (c->nread > 0 || c->write_len < sizeof(ev)) {
			vlog_limited(&v->log, VSOCK_WHO, ERR_RXBUF,
				     "event buffer at head %u: %llu writable bytes (need %zu), %u "
				     "readable descriptors: returned unused",
				     c->head, (unsigned long long)c->write_len, sizeof(ev),
				     c->nread);
			vq_push(q, c, 0);
			continue;
		}
		vq_chain_write(c, 0, &ev, sizeof(ev));
		vq_push(q, c, sizeof(ev));
		v->reset_event = false;
	}
	/* A driver may leave the event queue unset (-ENODEV): the event then waits. */
	if (rc < 0 && rc != -ENODEV)
		virtio_mmio_needs_reset(v->t);
	if (pushed)
		virtio_mmio_signal_used(v->t, VSOCK_QUEUE_EVENT);
}

/* ---- device ops --------------------------------------------------------- */

/*
 * vsock_fd_ready: one of the device's fds is ready. A connection's tag
 * stays good until vsock_reap unwatches and frees it, so the reap of what
 * a reset on a vCPU thread left comes after its event, never before.
 */
static void vsock_fd_ready(void *dev, uint64_t tag, uint32_t events)
{
	struct vsock *v = dev;
	uint64_t count;

	if (tag == TAG_LISTEN) {
		vsock_reap(v); /* what a reset left: its fds closed before new ones come */
		vsock_accept_all(v);
	} else if (tag == TAG_TIMER) {
		vsock_expire(v);
	} else if (tag == TAG_KICK) {
		if (read(v->kick_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "kick eventfd: %s",
				     strerror(errno));
	} else {
		vsock_conn_event(v, vsock_tag_conn(tag), events);
	}
	rx_pass(v);
	vsock_reap(v);
}

/* vsock_attach: the listener, the timer and the kick; connections as they come. */
static int vsock_attach(void *dev, const struct virtio_watcher *w)
{
	struct vsock *v = dev;
	int rc;

	v->w = *w;
	rc = virtio_watch(&v->w, v->listen_fd, EPOLLIN, TAG_LISTEN);
	if (rc == 0)
		rc = virtio_watch(&v->w, v->timer_fd, EPOLLIN, TAG_TIMER);
	if (rc == 0)
		rc = virtio_watch(&v->w, v->kick_fd, EPOLLIN, TAG_KICK);
	return rc;
}

static int vsock_activate(void *dev, struct virtio_mmio_dev *t)
{
	struct vsock *v = dev;
	const struct virtq *rx = virtio_mmio_queue(t, VSOCK_QUEUE_RX);
	const struct virtq *tx = virtio_mmio_queue(t, VSOCK_QUEUE_TX);

	/* The event queue is never used: a driver may leave it unset. */
	if (rx == NULL || tx == NULL || !rx->ready || !tx->ready)
		return -EINVAL;
	v->t = t;
	v->have_rx = false;
	v->rst_head = v->rst_len = 0; /* RSTs for connections this driver never saw */
	return 0;
}

static void vsock_notify(void *dev, unsigned int queue)
{
	struct vsock *v = dev;

	vsock_reap(v); /* what a reset on a vCPU thread left, before new connections */
	if (v->t == NULL)
		return;
	if (queue == VSOCK_QUEUE_TX) {
		metrics_inc(&v->metrics->tx_queue_event_count);
		tx_pass(v);
	} else if (queue == VSOCK_QUEUE_RX) {
		metrics_inc(&v->metrics->rx_queue_event_count);
	} else if (queue == VSOCK_QUEUE_EVENT) {
		event_pass(v); /* a buffer for an event owed */
	}
	if (queue == VSOCK_QUEUE_TX || queue == VSOCK_QUEUE_RX)
		rx_pass(v);
	vsock_reap(v);
}

/* drop_all: the guest forgot every connection (reset) or the device goes away. */
static void drop_all(struct vsock *v)
{
	while (v->all != NULL)
		vsock_conn_kill(v, v->all);
	v->rst_head = v->rst_len = 0;
	v->have_rx = false;
}

/*
 * vsock_reset: on the vCPU thread that wrote status 0. The connections are
 * forgotten at once; their sockets are unwatched and closed on the VMM
 * thread, which the kick wakes (vsock_fd_ready reaps).
 */
static void vsock_reset(void *dev)
{
	struct vsock *v = dev;
	uint64_t one = 1;

	drop_all(v);
	v->t = NULL;
	v->reset_event = false;
	if (v->grave != NULL && write(v->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "kick eventfd: %s", strerror(errno));
}

/*
 * vsock_quiesce: for a snapshot: the rx buffer held goes back to the ring
 * (the transport rewinds it); connections stay, for vsock_resume.
 */
static int vsock_quiesce(void *dev)
{
	struct vsock *v = dev;

	v->have_rx = false;
	return 0;
}

/* vsock_resume: after quiesce: what the guest queued, what the host owes it, events owed. */
static void vsock_resume(void *dev)
{
	struct vsock *v = dev;

	vsock_reap(v);
	if (v->t == NULL)
		return;
	tx_pass(v);
	rx_pass(v);
	event_pass(v);
	vsock_reap(v);
}

/*
 * vsock_restored: a new process over a saved guest: the guest's connections
 * had host sockets in the old process, gone now. TRANSPORT_RESET tells the
 * driver to drop them all (Firecracker does the same after a restore).
 */
static void vsock_restored(void *dev)
{
	struct vsock *v = dev;

	v->reset_event = true;
	vsock_resume(v);
}

static void vsock_destroy(void *dev)
{
	struct vsock *v = dev;

	drop_all(v);
	vsock_reap(v); /* unwatches each connection's socket, then closes it */
	virtio_unwatch(&v->w, v->listen_fd);
	virtio_unwatch(&v->w, v->timer_fd);
	virtio_unwatch(&v->w, v->kick_fd);
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	free(v->path);
	free(v);
}

static void vsock_config_read(void *dev, uint64_t offset, void *data, uint32_t len)
{
	const struct vsock *v = dev;

	virtio_config_copy(&v->cfg, sizeof(v->cfg), offset, data, len);
}

static const struct virtio_device_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .max_queue_size = VSOCK_QUEUE_SIZE,
    .features = 0, /* no feature bit: stream sockets only (5.10.3) */
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .notify = vsock_notify,
    .reset = vsock_reset,
    .attach = vsock_attach,
    .fd_ready = vsock_fd_ready,
    .destroy = vsock_destroy,
    .quiesce = vsock_quiesce,
    .resume = vsock_resume,
    .restored = vsock_restored,
};

void *vsock_create(const struct virtio_vsock_config *cfg, const struct virtio_device_ops **ops,
		   struct vlog_err *err)
{
	const char *path = cfg->uds_path != NULL ? cfg->uds_path : "";
	struct vsock *v;

	if (cfg->guest_cid < 3 || cfg->guest_cid == UINT32_MAX) {
		vlog_err_set(err, 0, "guest CID %u is reserved (use 3 or more)", cfg->guest_cid);
		return NULL;
	}
	/* Room for the longest guest-initiated path, "<path>_4294967295". */
	if (path[0] == '\0' ||
	    strlen(path) + sizeof("_4294967295") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		vlog_err_set(err, 0, "empty or too long for a Unix socket path");
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL || (v->path = strdup(path)) == NULL) {
		vlog_err_set(err, 0, "out of memory");
		free(v);
		return NULL;
	}
	v->listen_fd = v->timer_fd = v->kick_fd = -1;
	v->metrics = cfg->metrics != NULL ? cfg->metrics : &v->own;
	v->guest_cid = cfg->guest_cid;
	v->cfg.cid = cfg->guest_cid;
	v->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : VSOCK_TIMEOUT_MS;
	v->line_timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : VSOCK_LINE_TIMEOUT_MS;
	v->log.every_ms = LOG_EVERY_MS;
	v->next_port = VSOCK_LOCAL_PORT_FIRST;
	v->max_conns = VSOCK_MAX_CONNS;
	if (cfg->max_conns != 0 && cfg->max_conns < VSOCK_MAX_CONNS)
		v->max_conns = cfg->max_conns;
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	v->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->timer_fd < 0 || v->kick_fd < 0) {
		vlog_err_set(err, errno, "timerfd/eventfd");
		goto fail;
	}
	v->listen_fd = vsock_listen(path, err);
	if (v->listen_fd < 0)
		goto fail;
	*ops = &vsock_ops;
	return v;
fail:
	vsock_destroy(v);
	return NULL;
}

void vsock_set_max_conns(void *dev, unsigned int max_conns)
{
	struct vsock *v = dev;

	v->max_conns = max_conns < VSOCK_MAX_CONNS ? max_conns : VSOCK_MAX_CONNS;
}

unsigned int vsock_conn_count(const void *dev)
{
	const struct vsock *v = dev;

	return v->nconns;
}
