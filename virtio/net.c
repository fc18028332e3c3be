// SPDX-License-Identifier: Apache-2.0
/* net.c: virtio-net over a tap, frames moved with readv/writev straight to guest memory. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mmio.h"
#include "queue.h"
#include "state.h"
#include "vlog.h"

_Static_assert(sizeof(struct virtio_net_config_space) == 12, "virtio-net config layout (5.1.4)");

/* Firecracker's offer: checksums and segmentation both ways, mergeable buffers, MAC. */
#define NET_FEATURES                                                                               \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                     \
	 VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |                      \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |                \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |                 \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |                  \
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS))

/*
 * Receive chains held at once: with mergeable buffers a frame may need
 * NET_BUF_MAX / 1536 = 43 of Linux's smallest; held chains cost 4 KiB each.
 */
#define RX_HELD	  64
#define RX_BUDGET 256  /* frames per wakeup before resuming through the kick */
#define TX_BUDGET 256  /* chains per wakeup, likewise */
#define RX_IOV	  1024 /* UIO_MAXIOV: most iovecs one readv takes */

/* The tags of the device's fds in the monitor's loop (ops->fd_ready). */
#define TAG_TAP	     0
#define TAG_KICK     1
#define TAG_RX_TIMER 2 /* rate limiters' timerfds */
#define TAG_TX_TIMER 3

/* Guest and host problems, each logged once per device and counted. */
enum net_error {
	ERR_TX_WRITABLE, /* transmit chain with a device-writable descriptor */
	ERR_TX_LENGTH,	 /* header shorter than 12 bytes, frame too short or long */
	ERR_TX_OFFLOAD,	 /* header asks for an offload not negotiated */
	ERR_TX_IO,	 /* writev to the tap failed */
	ERR_RX_SMALL,	 /* receive chain with fewer than 12 writable bytes */
	ERR_RX_FIT,	 /* frame larger than the buffers the driver gave */
	ERR_RX_OFFLOAD,	 /* frame from the tap with offloads the driver lacks */
	ERR_RX_IO,	 /* readv from the tap failed */
	ERR_OFFLOAD_SET, /* TUNSETOFFLOAD failed */
};

struct net {
	char *who; /* "virtio-net: <tap>": what its log lines start with */
	int fd;	   /* the tap (or a test's socket) */
	int kick;  /* eventfd: work left over after a wakeup's budget */
	/* The monitor's loop (net_attach): the tap (edge-triggered), kick, timers. */
	struct virtio_watcher w;
	bool is_tap;
	bool gone;	/* the tap is unusable: not watched, link down */
	bool tap_ready; /* an edge came since the tap last said EAGAIN */
	struct virtio_net_config_space cfg;
	struct virtio_mmio_dev *t; /* set between activate and reset */
	uint64_t acked;		   /* driver features, while active */
	unsigned int offloads;	   /* TUN_F_* for (acked) */
	bool offloads_dirty;	   /* TUNSETOFFLOAD still to be done (VMM thread) */
	bool tx_more;		   /* transmit budget ran out: resume on the kick */
	struct vlog_limit log;	   /* guest and host problems, each kind logged once, all counted */
	/* Where it counts: the monitor's group (dev_metrics.h), or (own). */
	struct net_metrics *metrics;
	struct net_metrics own;

	/* Receive chains popped and held, oldest first, a ring of RX_HELD. */
	struct virtq_chain *held;
	unsigned int held_first, held_n;
	uint64_t held_bytes; /* writable bytes in them */
	uint8_t *bounce;     /* NET_BUF_MAX: a frame read when the chains held were too few */
	uint32_t pending;    /* its length; 0: none */
	struct iovec rx_iov[RX_IOV];

	struct virtq_chain tx;
	bool tx_deferred; /* (tx) popped, waiting for the transmit limiter */
	struct iovec tx_iov[VIRTQ_MAX_SIZE + 1];

	struct ratelimit rx_rl, tx_rl;

	/* The detour (net.h): a copy of each transmitted frame, and its next reply with a header.
	 */
	struct net_detour detour; /* tx NULL: none */
	uint8_t *detour_tx;	  /* NET_FRAME_MAX */
	uint8_t *detour_rx;	  /* VIRTIO_NET_HDR_BYTES + NET_DETOUR_FRAME_MAX */
	uint32_t detour_pending;  /* its length with the header; 0: none */
	bool detour_fed;	  /* the detour took a frame: it may have replies */
	bool detour_turn;	  /* the detour's reply goes before the tap's next frame */
};

static void rx_process(struct net *n);

static bool has(uint64_t features, unsigned int bit)
{
	return features & VIRTIO_BIT(bit);
}

/* kick: make the kick eventfd readable, to come back and finish leftover work. */
static void kick(struct net *n)
{
	uint64_t one = 1;

	if (write(n->kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vlog_warn_errno(errno, "%s: kick eventfd", n->who);
}

/* tap_gone: the interface vanished (or the fd broke): stop watching, link down. */
static void tap_gone(struct net *n, int err, const char *what)
{
	if (n->gone)
		return;
	n->gone = true;
	n->tap_ready = false;
	if (err != 0)
		vlog_error_errno(err, "%s: %s: tap unusable, link down", n->who, what);
	else
		vlog_error("%s: %s: tap unusable, link down", n->who, what);
	/* Edge-triggered: its EPOLLERR came once; it stays watched, quiet, until destroy. */
	n->cfg.status = 0;
	if (n->t != NULL)
		virtio_mmio_config_changed(n->t);
}

/* dead_errno: errors after which the tap will not work again (interface deleted). */
static bool dead_errno(int e)
{
	return e == EBADFD || e == ENODEV || e == ENXIO || e == EBADF;
}

/*
 * hdr_ok: the offloads header (h) asks for were negotiated for that direction
 * (rx: GUEST_*, tx: CSUM and HOST_*), 5.1.6.2 and 5.1.6.4. ECN is never offered.
 */
static bool hdr_ok(const uint8_t *h, uint64_t acked, bool rx)
{
	uint8_t flags = h[VIRTIO_NET_HDR_OFF_FLAGS], gso = h[VIRTIO_NET_HDR_OFF_GSO_TYPE];
	uint8_t allowed = VIRTIO_NET_HDR_F_NEEDS_CSUM | (rx ? VIRTIO_NET_HDR_F_DATA_VALID : 0);

	if (flags & ~allowed)
		return false;
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !has(acked, rx ? VIRTIO_NET_F_GUEST_CSUM : VIRTIO_NET_F_CSUM))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(acked, rx ? VIRTIO_NET_F_GUEST_TSO4 : VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(acked, rx ? VIRTIO_NET_F_GUEST_TSO6 : VIRTIO_NET_F_HOST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(acked, rx ? VIRTIO_NET_F_GUEST_UFO : VIRTIO_NET_F_HOST_UFO);
	default:
		return false;
	}
}

/*
 * tun_offloads: what the tap may hand us for this driver (TUNSETOFFLOAD).
 * Segmentation needs checksum offload (5.1.3.1, and the tap refuses it too).
 */
static unsigned int tun_offloads(uint64_t acked)
{
	unsigned int f;

	if (!has(acked, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	f = TUN_F_CSUM;
	if (has(acked, VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (has(acked, VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if (has(acked, VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}

/* apply_offloads: TUNSETOFFLOAD, on the VMM thread before the next read. */
static void apply_offloads(struct net *n)
{
	if (!n->offloads_dirty)
		return;
	n->offloads_dirty = false;
	if (n->is_tap && !n->gone && ioctl(n->fd, TUNSETOFFLOAD, n->offloads) < 0)
		vlog_limited(&n->log, n->who, ERR_OFFLOAD_SET, "TUNSETOFFLOAD 0x%x: %s",
			     n->offloads, strerror(errno));
}

/* ---- transmit ---- */

/*
 * finish_csum: the checksum the driver left to the device (5.1.6.2): the
 * ones' complement sum from csum_start to the end, stored at csum_start +
 * csum_offset (which holds the pseudo-header's sum). Out-of-range offsets
 * leave the frame as it is (the detour's own check then refuses it).
 */
static void finish_csum(uint8_t *frame, uint64_t len, const uint8_t *hdr)
{
	uint64_t start = (uint64_t)hdr[VIRTIO_NET_HDR_OFF_CSUM_START] |
			 (uint64_t)hdr[VIRTIO_NET_HDR_OFF_CSUM_START + 1] << 8;
	uint64_t off = (uint64_t)hdr[VIRTIO_NET_HDR_OFF_CSUM_OFFSET] |
		       (uint64_t)hdr[VIRTIO_NET_HDR_OFF_CSUM_OFFSET + 1] << 8;
	uint32_t sum = 0;

	if (!(hdr[VIRTIO_NET_HDR_OFF_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) || start >= len ||
	    off > len - start || len - start - off < 2)
		return;
	for (uint64_t i = start; i < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | (i + 1 < len ? frame[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	frame[start + off] = (uint8_t)(sum >> 8);
	frame[start + off + 1] = (uint8_t)sum;
}

/* detour_tx: offer the frame of chain (c) to the detour; true when it took it. */
static bool detour_tx(struct net *n, const struct virtq_chain *c, const uint8_t *hdr,
		      uint64_t frame)
{
	/* Most frames are not the detour's: a look at their start decides. */
	uint64_t head = frame < NET_DETOUR_PEEK ? frame : NET_DETOUR_PEEK;
	vq_chain_read(c, VIRTIO_NET_HDR_BYTES, n->detour_tx, head);
	if (n->detour.may_take != NULL &&
	    !n->detour.may_take(n->detour.opaque, n->detour_tx, (size_t)head))
		return false;
	if (frame > head)
		vq_chain_read(c, VIRTIO_NET_HDR_BYTES + head, n->detour_tx + head, frame - head);
	finish_csum(n->detour_tx, frame, hdr);
	if (!n->detour.tx(n->detour.opaque, n->detour_tx, (size_t)frame))
		return false;
	n->detour_fed = true;
	return true;
}

/* tx_one: send chain (c) to the tap (or the detour), or drop it. */
static void tx_one(struct net *n, const struct virtq_chain *c)
{
	uint8_t hdr[VIRTIO_NET_HDR_BYTES];
	uint64_t skip = VIRTIO_NET_HDR_BYTES, frame;
	unsigned int k = 1;
	ssize_t rc;

	if (c->niov != c->nread) {
		vlog_limited(&n->log, n->who, ERR_TX_WRITABLE,
			     "transmit chain at head %u has writable buffers", c->head);
		goto malformed;
	}
	frame = c->read_len - (c->read_len < skip ? c->read_len : skip);
	if (c->read_len < skip || frame < NET_FRAME_MIN || frame > NET_FRAME_MAX) {
		vlog_limited(&n->log, n->who, ERR_TX_LENGTH,
			     "transmit chain at head %u: %llu bytes (header %u, frame %u..%u)",
			     c->head, (unsigned long long)c->read_len, VIRTIO_NET_HDR_BYTES,
			     NET_FRAME_MIN, NET_FRAME_MAX);
		goto malformed;
	}
	/* Check a copy and send that copy: the guest may rewrite its own under us. */
	vq_chain_read(c, 0, hdr, sizeof(hdr));
	if (!hdr_ok(hdr, n->acked, false)) {
		vlog_limited(&n->log, n->who, ERR_TX_OFFLOAD,
			     "transmit header flags 0x%x gso_type 0x%x not negotiated",
			     hdr[VIRTIO_NET_HDR_OFF_FLAGS], hdr[VIRTIO_NET_HDR_OFF_GSO_TYPE]);
		goto malformed;
	}
	hdr[VIRTIO_NET_HDR_OFF_NUM_BUFFERS] = hdr[VIRTIO_NET_HDR_OFF_NUM_BUFFERS + 1] = 0;
	if (n->detour.tx != NULL && detour_tx(n, c, hdr, frame))
		return;
	if (n->gone)
		goto drop;
	n->tx_iov[0].iov_base = hdr;
	n->tx_iov[0].iov_len = sizeof(hdr);
	for (unsigned int i = 0; i < c->nread; i++) {
		uint64_t len = c->iov[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		n->tx_iov[k].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
		n->tx_iov[k].iov_len = len - skip;
		skip = 0;
		k++;
	}
	do
		rc = writev(n->fd, n->tx_iov, (int)k);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		metrics_inc(&n->metrics->tap_write_fails);
		if (dead_errno(errno))
			tap_gone(n, errno, "writev");
		else
			vlog_limited(&n->log, n->who, ERR_TX_IO, "writev: %s (frame dropped)",
				     strerror(errno));
		goto drop;
	}
	metrics_inc(&n->metrics->tx_packets_count);
	metrics_inc(&n->metrics->tx_count); /* frames too, as Firecracker's */
	metrics_add(&n->metrics->tx_bytes_count, frame);
	return;
malformed:
	metrics_inc(&n->metrics->tx_malformed_frames);
drop:
	metrics_inc(&n->metrics->tx_fails);
}

/* tx_process: send what the driver queued, up to TX_BUDGET chains; how many went. */
static unsigned int tx_process(struct net *n)
{
	struct virtq *q = virtio_mmio_queue(n->t, NET_TXQ);
	unsigned int done = 0;
	int rc = 0;

	n->tx_more = false;
	while (done < TX_BUDGET) {
		if (!n->tx_deferred && (rc = vq_pop(q, &n->tx)) != 1)
			break;
		if (!ratelimit_consume(&n->tx_rl, n->tx.read_len, 1)) {
			n->tx_deferred = true; /* the transmit timer resumes */
			metrics_inc(&n->metrics->tx_rate_limiter_throttled);
			break;
		}
		n->tx_deferred = false;
		tx_one(n, &n->tx);
		vq_push(q, &n->tx, 0);
		done++;
	}
	if (rc < 0) {
		virtio_mmio_needs_reset(n->t);
	} else if (done == TX_BUDGET) {
		n->tx_more = true;
		kick(n);
	}
	virtio_mmio_signal_used(n->t, NET_TXQ);
	if (n->detour_fed) {
		n->detour_fed = false;
		rx_process(n); /* the detour's replies, while the guest waits for them */
	}
	return done;
}

/* ---- receive ---- */

static struct virtq_chain *held(struct net *n, unsigned int i)
{
	return &n->held[(n->held_first + i) % RX_HELD];
}

/*
 * take: pop one more receive chain to hold. Returns 1, 0 when the ring is
 * empty or RX_HELD are held, -EIO when the queue broke. Chains too small for
 * the header (5.1.6.3.1) go back at once, empty.
 */
static int take(struct net *n, struct virtq *q)
{
	for (unsigned int tries = 0; tries < NET_QUEUE_SIZE; tries++) {
		struct virtq_chain *c;
		int rc;

		if (n->held_n == RX_HELD)
			return 0;
		c = held(n, n->held_n);
		rc = vq_pop(q, c);
		if (rc <= 0)
			return rc;
		if (c->write_len < VIRTIO_NET_HDR_BYTES) {
			vlog_limited(&n->log, n->who, ERR_RX_SMALL,
				     "receive chain at head %u: %llu writable bytes", c->head,
				     (unsigned long long)c->write_len);
			vq_push(q, c, 0);
			continue;
		}
		n->held_n++;
		n->held_bytes += c->write_len;
		return 1;
	}
	return 0;
}

/* hold: take chains until (want) writable bytes are held (at least one chain). */
static int hold(struct net *n, struct virtq *q, uint64_t want)
{
	int rc = 1;

	while ((n->held_n == 0 || n->held_bytes < want) && (rc = take(n, q)) == 1)
		;
	return rc < 0 ? rc : 0;
}

/* read_back: the first (len) bytes of chain (c)'s writable area, which the tap filled. */
static void read_back(const struct virtq_chain *c, uint8_t *buf, uint64_t len)
{
	for (unsigned int i = c->nread; i < c->niov && len > 0; i++) {
		uint64_t part = c->iov[i].iov_len < len ? c->iov[i].iov_len : len;
		memcpy(buf, c->iov[i].iov_base, part);
		buf += part;
		len -= part;
	}
}

/*
 * deliver: the frame of (len) bytes, header first, is in the first held
 * chains (or at (src), then copied there). Fix and check its header, set
 * num_buffers, return the chains it used as one unit. The caller made sure
 * they are big enough (without MRG_RXBUF: the first alone).
 */
static void deliver(struct net *n, struct virtq *q, uint32_t len, const uint8_t *src)
{
	uint32_t used[RX_HELD];
	uint8_t hdr[VIRTIO_NET_HDR_BYTES] = {0};
	uint64_t left = len, off = 0;
	uint16_t k = 0, filled = 0;

	if (src != NULL)
		memcpy(hdr, src, sizeof(hdr));
	else
		read_back(held(n, 0), hdr, sizeof(hdr));
	/* DATA_VALID is only for a driver with GUEST_CSUM (5.1.6.4); it is a hint, drop it. */
	if (!has(n->acked, VIRTIO_NET_F_GUEST_CSUM))
		hdr[VIRTIO_NET_HDR_OFF_FLAGS] &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	if (!hdr_ok(hdr, n->acked, true)) {
		/* Queued in the tap before TUNSETOFFLOAD took effect: the driver cannot take it. */
		vlog_limited(&n->log, n->who, ERR_RX_OFFLOAD,
			     "frame with flags 0x%x gso_type 0x%x not negotiated",
			     hdr[VIRTIO_NET_HDR_OFF_FLAGS], hdr[VIRTIO_NET_HDR_OFF_GSO_TYPE]);
		metrics_inc(&n->metrics->rx_fails);
		return;
	}
	while (left > 0 && k < n->held_n) {
		struct virtq_chain *c = held(n, k);
		uint64_t part = c->write_len < left ? c->write_len : left;
		if (src != NULL)
			vq_chain_write(c, 0, src + off, part);
		used[k++] = (uint32_t)part;
		left -= part;
		off += part;
	}
	hdr[VIRTIO_NET_HDR_OFF_NUM_BUFFERS] = (uint8_t)k;
	hdr[VIRTIO_NET_HDR_OFF_NUM_BUFFERS + 1] = (uint8_t)(k >> 8);
	vq_chain_write(held(n, 0), 0, hdr, sizeof(hdr));
	for (uint16_t i = 0; i < k; i++) {
		if (vq_fill(q, held(n, i), used[i], filled) == 0)
			filled++;
		n->held_bytes -= held(n, i)->write_len;
	}
	vq_flush(q, filled);
	n->held_first = (n->held_first + k) % RX_HELD;
	n->held_n -= k;
	metrics_inc(&n->metrics->rx_packets_count);
	metrics_inc(&n->metrics->rx_count); /* frames too, as Firecracker's */
	metrics_add(&n->metrics->rx_bytes_count, len - VIRTIO_NET_HDR_BYTES);
}

/* read_error: readv/read from the tap failed with (err); EAGAIN: it is empty for now. */
static void read_error(struct net *n, int err, const char *what)
{
	if (err == EAGAIN) {
		n->tap_ready = false;
		return;
	}
	metrics_inc(&n->metrics->tap_read_fails);
	if (dead_errno(err)) {
		tap_gone(n, err, what);
	} else {
		/* Unknown: wait for the next edge rather than spin on it. */
		n->tap_ready = false;
		vlog_limited(&n->log, n->who, ERR_RX_IO, "%s: %s", what, strerror(err));
	}
}

/*
 * read_direct: one frame straight into the held chains' buffers (the first
 * one only without MRG_RXBUF). Returns 1 (a frame was consumed), 0 (none).
 * Sets (*bounce) instead of reading when the chains cannot take any frame.
 */
static int read_direct(struct net *n, struct virtq *q, bool mrg, bool *bounce)
{
	unsigned int niov = 0, chains = mrg ? n->held_n : 1;
	uint64_t room = 0;
	ssize_t len;

	for (unsigned int i = 0; i < chains && room < NET_BUF_MAX; i++) {
		const struct virtq_chain *c = held(n, i);
		for (unsigned int j = c->nread; j < c->niov && room < NET_BUF_MAX; j++) {
			if (niov == RX_IOV)
				break;
			n->rx_iov[niov++] = c->iov[j];
			room += c->iov[j].iov_len;
		}
	}
	if (mrg && room < NET_BUF_MAX) {
		*bounce = true;
		return 0;
	}
	do
		len = readv(n->fd, n->rx_iov, (int)niov);
	while (len < 0 && errno == EINTR);
	if (len < 0) {
		read_error(n, errno, "readv");
		return 0;
	}
	ratelimit_charge(&n->rx_rl, (uint64_t)len, 1);
	if ((uint64_t)len > room || len < VIRTIO_NET_HDR_BYTES) {
		/* The tap returns the whole length of a frame it had to cut. */
		vlog_limited(&n->log, n->who, ERR_RX_FIT,
			     "frame of %zd bytes for %llu-byte receive buffers (dropped)", len,
			     (unsigned long long)room);
		metrics_inc(&n->metrics->rx_fails);
		return 1;
	}
	deliver(n, q, (uint32_t)len, NULL);
	return 1;
}

/* read_bounce: one frame into the host buffer, to wait there for guest buffers. 1 or 0. */
static int read_bounce(struct net *n)
{
	ssize_t len;

	do
		len = read(n->fd, n->bounce, NET_BUF_MAX);
	while (len < 0 && errno == EINTR);
	if (len < 0) {
		read_error(n, errno, "read");
		return 0;
	}
	ratelimit_charge(&n->rx_rl, (uint64_t)len, 1);
	if (len > NET_BUF_MAX || len < VIRTIO_NET_HDR_BYTES) {
		vlog_limited(&n->log, n->who, ERR_RX_FIT,
			     "frame of %zd bytes from the tap (dropped)", len);
		metrics_inc(&n->metrics->rx_fails);
		return 1;
	}
	n->pending = (uint32_t)len;
	return 1;
}

/*
 * place_frame: deliver the frame of (*len) bytes (header first) waiting at
 * (buf). 1 when it went (or was dropped: it can never fit) and (*len) is 0
 * again, 0 when the driver must give more buffers first, -EIO when the
 * queue broke.
 */
static int place_frame(struct net *n, struct virtq *q, bool mrg, const uint8_t *buf, uint32_t *len)
{
	int rc = hold(n, q, *len);
	uint64_t room = mrg ? n->held_bytes : n->held_n ? held(n, 0)->write_len : 0;

	if (rc < 0)
		return rc;
	if (room < *len) {
		if (n->held_n == 0 || (mrg && n->held_n < RX_HELD))
			return 0;
		vlog_limited(&n->log, n->who, ERR_RX_FIT,
			     "frame of %u bytes for %llu-byte receive buffers (dropped)", *len,
			     (unsigned long long)room);
		metrics_inc(&n->metrics->rx_fails);
	} else {
		deliver(n, q, *len, buf);
	}
	*len = 0;
	return 1;
}

/*
 * detour_rx: make sure the detour's next reply waits in (detour_rx), with
 * a zero header (no offload: its checksums are whole). Whether one waits.
 */
static bool detour_rx(struct net *n)
{
	if (n->detour_pending == 0 && n->detour.rx != NULL) {
		size_t len = n->detour.rx(n->detour.opaque, n->detour_rx + VIRTIO_NET_HDR_BYTES,
					  NET_DETOUR_FRAME_MAX);
		if (len > 0 && len <= NET_DETOUR_FRAME_MAX) {
			memset(n->detour_rx, 0, VIRTIO_NET_HDR_BYTES);
			n->detour_pending = (uint32_t)(VIRTIO_NET_HDR_BYTES + len);
		}
	}
	return n->detour_pending != 0;
}

/*
 * rx_process: move frames from the tap into the receive queue until the tap
 * is empty, the driver's buffers run out (the frames wait in the tap; the
 * driver's next receive notification resumes) or the budget is spent (the
 * kick resumes).
 */
static void rx_process(struct net *n)
{
	struct virtq *q = virtio_mmio_queue(n->t, NET_RXQ);
	bool mrg = has(n->acked, VIRTIO_NET_F_MRG_RXBUF);
	unsigned int frames = 0;
	int rc = 0;

	apply_offloads(n);
	for (;;) {
		bool bounce = false;

		if (frames++ == RX_BUDGET) {
			kick(n);
			break;
		}
		if (n->pending != 0) {
			rc = place_frame(n, q, mrg, n->bounce, &n->pending);
			if (rc == 0)
				metrics_inc(&n->metrics->no_rx_avail_buffer);
			if (rc <= 0)
				break;
			continue;
		}
		/* The detour's replies and the tap's frames take turns: neither starves. */
		bool tap = n->tap_ready && !n->gone;
		if ((n->detour_turn || !tap) && detour_rx(n)) {
			if (!ratelimit_ready(&n->rx_rl)) {
				metrics_inc(&n->metrics->rx_rate_limiter_throttled);
				break; /* the reply waits; the receive timer resumes */
			}
			uint32_t len = n->detour_pending;
			rc = place_frame(n, q, mrg, n->detour_rx, &n->detour_pending);
			if (rc == 0) /* it waits for the driver's next buffers */
				metrics_inc(&n->metrics->no_rx_avail_buffer);
			if (rc <= 0)
				break;
			ratelimit_charge(&n->rx_rl, len, 1);
			n->detour_turn = false;
			continue;
		}
		n->detour_turn = true;
		if (!tap)
			break;
		if (!ratelimit_ready(&n->rx_rl)) {
			metrics_inc(&n->metrics->rx_rate_limiter_throttled);
			break; /* the frames wait in the tap; the receive timer resumes */
		}
		rc = hold(n, q, mrg ? NET_BUF_MAX : 1);
		if (rc == 0 && n->held_n == 0) /* the frames wait in the tap */
			metrics_inc(&n->metrics->no_rx_avail_buffer);
		if (rc < 0 || n->held_n == 0)
			break;
		if (read_direct(n, q, mrg, &bounce) == 1)
			continue;
		if (!bounce || read_bounce(n) == 0)
			break;
	}
	if (rc < 0)
		virtio_mmio_needs_reset(n->t);
	virtio_mmio_signal_used(n->t, NET_RXQ);
}

/* ---- ops ---- */

static void net_config_read(void *dev, uint64_t offset, void *data, uint32_t len)
{
	const struct net *n = dev;

	virtio_config_copy(&n->cfg, sizeof(n->cfg), offset, data, len);
}

static int net_activate(void *dev, struct virtio_mmio_dev *t)
{
	struct net *n = dev;
	const struct virtq *rx = virtio_mmio_queue(t, NET_RXQ);
	const struct virtq *tx = virtio_mmio_queue(t, NET_TXQ);

	if (rx == NULL || tx == NULL || !rx->ready || !tx->ready)
		return -EINVAL;
	n->acked = virtio_mmio_driver_features(t);
	n->offloads = tun_offloads(n->acked);
	n->offloads_dirty = true; /* set by the VMM thread before it reads: see apply_offloads */
	n->t = t;
	return 0;
}

static void net_notify(void *dev, unsigned int queue)
{
	struct net *n = dev;

	if (queue == NET_TXQ) {
		bool held_back = n->tx_deferred;
		metrics_inc(&n->metrics->tx_queue_event_count);
		if (tx_process(n) == 0 && !held_back && !n->tx_deferred)
			metrics_inc(&n->metrics->no_tx_avail_buffer);
	} else if (queue == NET_RXQ) {
		metrics_inc(&n->metrics->rx_queue_event_count);
		rx_process(n);
	}
}

/* net_fd_ready: one of the device's fds fired: a tap edge, the kick or a limiter's timer. */
static void net_fd_ready(void *dev, uint64_t tag, uint32_t events)
{
	struct net *n = dev;
	uint64_t count;
	bool tx_timer = false;

	if (tag == TAG_RX_TIMER) {
		ratelimit_event(&n->rx_rl);
		metrics_inc(&n->metrics->rx_event_rate_limiter_count);
	} else if (tag == TAG_TX_TIMER) {
		ratelimit_event(&n->tx_rl);
		metrics_inc(&n->metrics->tx_rate_limiter_event_count);
		tx_timer = true;
	} else if (tag == TAG_KICK) {
		if (read(n->kick, &count, sizeof(count)) < 0 && errno != EAGAIN) {
			metrics_inc(&n->metrics->event_fails);
			vlog_warn_errno(errno, "%s: kick eventfd", n->who);
		}
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		tap_gone(n, 0, "poll reports an error (interface deleted?)");
	} else {
		n->tap_ready = true;
		metrics_inc(&n->metrics->rx_tap_event_count);
	}
	if (n->t == NULL)
		return; /* frames wait in the tap; activation's first notify or edge takes them */
	if (n->tx_more || tx_timer)
		tx_process(n);
	rx_process(n);
}

/* net_attach: the tap edge-triggered (net_fd_ready reads it to EAGAIN), the rest level. */
static int net_attach(void *dev, const struct virtio_watcher *w)
{
	struct net *n = dev;
	int rc;

	n->w = *w;
	rc = virtio_watch(&n->w, n->fd, EPOLLIN | EPOLLET, TAG_TAP);
	if (rc == 0)
		rc = virtio_watch(&n->w, n->kick, EPOLLIN, TAG_KICK);
	if (rc == 0)
		rc = virtio_watch(&n->w, ratelimit_fd(&n->rx_rl), EPOLLIN, TAG_RX_TIMER);
	if (rc == 0)
		rc = virtio_watch(&n->w, ratelimit_fd(&n->tx_rl), EPOLLIN, TAG_TX_TIMER);
	return rc;
}

static void net_reset(void *dev)
{
	struct net *n = dev;

	n->t = NULL;
	n->held_first = n->held_n = 0;
	n->held_bytes = 0;
	if (n->pending != 0)
		metrics_inc(&n->metrics->rx_fails);
	n->pending = 0;
	n->detour_pending = 0; /* a reply lost here is sent again by the detour's own rules */
	n->tx_more = false;
	n->tx_deferred = false;
	n->acked = 0;
	n->offloads = 0;
	n->offloads_dirty = true;
	/* A frame may have arrived since: look at the tap after the next activation. */
	n->tap_ready = !n->gone;
}

/*
 * net_quiesce: for a snapshot: the receive chains held and a transmit chain
 * waiting for tokens are forgotten (the transport puts them back in their
 * rings). A frame waiting in the host buffer stays for net_resume; a
 * snapshot drops it.
 */
static int net_quiesce(void *dev)
{
	struct net *n = dev;

	n->held_first = n->held_n = 0;
	n->held_bytes = 0;
	n->tx_deferred = false;
	n->tx_more = false;
	return 0;
}

/* net_resume: after quiesce or a load: send what the driver queued, read the tap again. */
static void net_resume(void *dev)
{
	struct net *n = dev;

	if (n->t == NULL)
		return;
	/* The tap may hold frames whose edge came while quiesced: read it until EAGAIN. */
	n->tap_ready = !n->gone;
	tx_process(n);
	rx_process(n);
}

/*
 * What a snapshot keeps of the device besides its queues (state.h): its two
 * rate limiters. The tap, the MAC and the offloads (from the driver's
 * features) come again from the configuration and the activation.
 */
struct net_state {
	struct ratelimit_state rx, tx;
};

_Static_assert(sizeof(struct net_state) == 256 && sizeof(struct net_state) <= VIRTIO_DEV_STATE_MAX,
	       "net_state layout");

static uint32_t net_save_state(void *dev, void *buf, uint32_t cap)
{
	const struct net *n = dev;
	struct net_state st;

	if (cap < sizeof(st))
		return 0;
	ratelimit_save(&n->rx_rl, &st.rx);
	ratelimit_save(&n->tx_rl, &st.tx);
	memcpy(buf, &st, sizeof(st));
	return sizeof(st);
}

static int net_load_state(void *dev, const void *buf, uint32_t len, struct vlog_err *err)
{
	struct net *n = dev;
	struct net_state st;

	if (len != sizeof(st)) {
		vlog_err_set(err, 0, "dev_len: %u, virtio-net's part is %zu bytes", len,
			     sizeof(st));
		return -EINVAL;
	}
	memcpy(&st, buf, sizeof(st));
	if (ratelimit_check_state(&st.rx, "dev.rx", err) < 0 ||
	    ratelimit_check_state(&st.tx, "dev.tx", err) < 0)
		return -EINVAL;
	ratelimit_load(&n->rx_rl, &st.rx);
	ratelimit_load(&n->tx_rl, &st.tx);
	return 0;
}

static void net_destroy(void *dev)
{
	struct net *n = dev;

	/* Out of the loop before their fds close (unwatching one never watched does nothing). */
	virtio_unwatch(&n->w, n->fd);
	virtio_unwatch(&n->w, n->kick);
	virtio_unwatch(&n->w, ratelimit_fd(&n->rx_rl));
	virtio_unwatch(&n->w, ratelimit_fd(&n->tx_rl));
	if (n->kick >= 0)
		close(n->kick);
	ratelimit_destroy(&n->rx_rl);
	ratelimit_destroy(&n->tx_rl);
	if (n->fd >= 0)
		close(n->fd);
	free(n->held);
	free(n->bounce);
	free(n->detour_tx);
	free(n->detour_rx);
	free(n->who);
	free(n);
}

/* Two offers: VIRTIO_NET_F_MTU only when an MTU is configured, as Firecracker. */
#define NET_OPS(feat)                                                                              \
	{                                                                                          \
		.name = "net", .device_id = VIRTIO_ID_NET, .num_queues = 2,                        \
		.max_queue_size = NET_QUEUE_SIZE, .features = (feat),                              \
		.config_read = net_config_read, .activate = net_activate, .notify = net_notify,    \
		.reset = net_reset, .attach = net_attach, .fd_ready = net_fd_ready,                \
		.destroy = net_destroy, .quiesce = net_quiesce, .resume = net_resume,              \
		.save_state = net_save_state, .load_state = net_load_state,                        \
	}

static const struct virtio_device_ops net_ops = NET_OPS(NET_FEATURES);
static const struct virtio_device_ops net_ops_mtu =
    NET_OPS(NET_FEATURES | VIRTIO_BIT(VIRTIO_NET_F_MTU));

/* random_mac: a locally administered unicast address (IEEE 802: bit 1 set, bit 0 clear). */
static void random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, GRND_NONBLOCK) != 6) {
		pid_t pid = getpid();
		memset(mac, 0, 6);
		memcpy(mac + 2, &pid, sizeof(pid) < 4 ? sizeof(pid) : 4);
	}
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

void *net_create_with_fd(const struct virtio_net_config *cfg, int fd,
			 const struct virtio_device_ops **ops, struct vlog_err *err)
{
	const char *name = cfg->tap_name != NULL ? cfg->tap_name : "(fd)";
	struct net *n = calloc(1, sizeof(*n));
	struct ifreq ifr;
	int rc;

	if (n == NULL)
		goto nomem;
	n->metrics = cfg->metrics != NULL ? cfg->metrics : &n->own;
	n->fd = fd;
	n->kick = -1;
	n->rx_rl.timer_fd = n->tx_rl.timer_fd = -1;
	n->held = calloc(RX_HELD, sizeof(*n->held));
	n->bounce = malloc(NET_BUF_MAX);
	if (asprintf(&n->who, "virtio-net: %s", name) < 0) {
		n->who = NULL;
		goto nomem;
	}
	if (n->held == NULL || n->bounce == NULL)
		goto nomem;
	if (cfg->detour != NULL && cfg->detour->tx != NULL) {
		n->detour = *cfg->detour;
		n->detour_tx = malloc(NET_FRAME_MAX);
		n->detour_rx = malloc(VIRTIO_NET_HDR_BYTES + NET_DETOUR_FRAME_MAX);
		if (n->detour_tx == NULL || n->detour_rx == NULL)
			goto nomem;
	}
	memset(&ifr, 0, sizeof(ifr));
	n->is_tap = ioctl(fd, TUNGETIFF, &ifr) == 0;
	n->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->kick < 0) {
		vlog_err_set(err, errno, "eventfd");
		goto fail;
	}
	rc = ratelimit_init(&n->rx_rl, cfg->rx_limiter);
	if (rc == 0)
		rc = ratelimit_init(&n->tx_rl, cfg->tx_limiter);
	if (rc < 0) {
		vlog_err_set(err, -rc, "rate limiter timers");
		goto fail;
	}
	if (cfg->has_mac)
		memcpy(n->cfg.mac, cfg->mac, 6);
	else
		random_mac(n->cfg.mac);
	n->cfg.status = VIRTIO_NET_S_LINK_UP;
	n->cfg.mtu = cfg->mtu;
	n->tap_ready = true;
	*ops = cfg->mtu != 0 ? &net_ops_mtu : &net_ops;
	return n;
nomem:
	vlog_err_set(err, 0, "out of memory");
fail:
	if (n == NULL)
		close(fd);
	else
		net_destroy(n);
	return NULL;
}

void *net_create(const struct virtio_net_config *cfg, const struct virtio_device_ops **ops,
		 struct vlog_err *err)
{
	const char *name = cfg->tap_name;
	struct ifreq ifr;
	int fd, hdr = VIRTIO_NET_HDR_BYTES;

	if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ) {
		vlog_err_set(err, 0, "a tap name is 1 to %d characters", IFNAMSIZ - 1);
		return NULL;
	}
	/* TUNSETIFF would create a missing interface: insist on one set up beforehand. */
	if (if_nametoindex(name) == 0) {
		vlog_err_set(err, 0,
			     "no such network interface (create it first: "
			     "ip tuntap add dev %s mode tap)",
			     name);
		return NULL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		vlog_err_set(err, errno, "/dev/net/tun");
		return NULL;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		if (e == EINVAL)
			vlog_err_set(err, 0, "TUNSETIFF: not a tap device");
		else if (e == EBUSY)
			vlog_err_set(err, 0, "TUNSETIFF: tap already in use");
		else
			vlog_err_set(err, e, "TUNSETIFF");
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		vlog_err_set(err, errno, "TUNSETVNETHDRSZ");
		goto fail;
	}
	/* A persistent tap keeps its last user's offloads: none until a driver acks some. */
	if (ioctl(fd, TUNSETOFFLOAD, 0u) < 0) {
		vlog_err_set(err, errno, "TUNSETOFFLOAD");
		goto fail;
	}
	return net_create_with_fd(cfg, fd, ops, err);
fail:
	close(fd);
	return NULL;
}

void net_set_limiters(void *dev, const struct virtio_rate_limit *rx,
		      const struct virtio_rate_limit *tx)
{
	struct net *n = dev;

	if (rx != NULL)
		ratelimit_update(&n->rx_rl, rx);
	if (tx != NULL)
		ratelimit_update(&n->tx_rl, tx);
	if (n->t == NULL)
		return;
	if (tx != NULL && n->tx_deferred)
		tx_process(n);
	if (rx != NULL)
		rx_process(n);
}
