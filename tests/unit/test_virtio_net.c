// SPDX-License-Identifier: Apache-2.0
/* test_virtio_net.c: virtio-net over a socketpair standing in for the tap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mmio.h"
#include "net.h"
#include "test_watcher.h"
#include "vlog.h"
#include "vq_builder.h"

#define QSIZE 16
/* Frames test_tx_counters sends at most before the peer's socket is full. */
#define TX_FILL_MAX 2000
#define HDR	    VIRTIO_NET_HDR_BYTES
#define BASE	    (VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_F_VERSION_1))
#define MRG	    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define ALL	    (~0ull)

struct fx {
	struct vqb rx, tx; /* one RAM (rx's), two sets of rings */
	int peer;	   /* the "host" end of the tap */
	void *dev;
	struct virtio_mmio_dev *t;
	struct test_watcher *tw; /* the device's fds, as the monitor's loop would hold them */
	const struct virtio_device_ops *ops;
	uint16_t rx_desc, tx_desc;
	int irqs;
	struct net_metrics mx; /* the group the device counts into */
};

static void irq(void *ctx)
{
	struct fx *f = ctx;

	f->irqs++;
}

/* driver_init: 3.1.1 with both queues; features offered & (want). Returns the status. */
static uint32_t driver_init(struct fx *f, uint64_t want)
{
	uint64_t offered;
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, 0);
	vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, s);
	vqb_mmio_write(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = vqb_mmio_read(f->t, VIRTIO_MMIO_DEVICE_FEATURES);
	vqb_mmio_write(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)vqb_mmio_read(f->t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	offered &= want;
	vqb_mmio_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vqb_mmio_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)offered);
	vqb_mmio_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vqb_mmio_write(f->t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(offered >> 32));
	s |= VIRTIO_STATUS_FEATURES_OK;
	vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, s);
	vqb_queue_regs(f->t, &f->rx, NET_RXQ);
	vqb_queue_regs(f->t, &f->tx, NET_TXQ);
	vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	return vqb_mmio_read(f->t, VIRTIO_MMIO_STATUS);
}

#define RUNNING                                                                                    \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)

/* rings: the rx rings as vqb lays them out, the tx rings and buffers further up. */
static void rings(struct fx *f)
{
	vqb_init(&f->rx, QSIZE);
	f->tx = f->rx;
	f->tx.desc = vqb_alloc(&f->rx, VIRTQ_DESC_BYTES(QSIZE));
	f->tx.avail = vqb_alloc(&f->rx, VIRTQ_AVAIL_BYTES(QSIZE));
	f->tx.used = vqb_alloc(&f->rx, VIRTQ_USED_BYTES(QSIZE));
	f->tx.next_free = vqb_alloc(&f->rx, 1 << 20); /* tx buffers: 1 MiB of their own */
	f->rx_desc = f->tx_desc = 0;
	f->irqs = 0;
}

/* watch: the device's fds into a fresh test watcher: tap, kick and both limiters' timers. */
static void watch(struct fx *f)
{
	f->tw = tw_new();
	assert_int_equal(virtio_mmio_attach(f->t, &f->tw->w), 0);
	assert_int_equal(f->tw->live, 4);
}

/* destroy: the transport and its device; every fd the device watched is unwatched. */
static void destroy(struct fx *f)
{
	virtio_mmio_destroy(f->t);
	f->t = NULL;
	assert_true(tw_all_unwatched(f->tw));
	tw_free(f->tw);
	f->tw = NULL;
}

static void attach_cfg(struct fx *f, const struct virtio_net_config *cfg, uint64_t want)
{
	struct virtio_net_config counted = *cfg;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	rings(f);
	f->peer = sv[1];
	memset(&f->mx, 0, sizeof(f->mx));
	counted.metrics = &f->mx;
	f->dev = net_create_with_fd(&counted, sv[0], &f->ops, NULL);
	assert_non_null(f->dev);
	f->t = virtio_mmio_create(f->ops, f->dev, &f->rx.gm, irq, f);
	assert_non_null(f->t);
	watch(f);
	if (want != 0)
		assert_int_equal(driver_init(f, want), RUNNING);
}

static void attach(struct fx *f, uint64_t want)
{
	struct virtio_net_config cfg = {
	    .tap_name = "test0", .has_mac = true, .mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};

	attach_cfg(f, &cfg, want);
}

static void detach(struct fx *f)
{
	destroy(f);
	close(f->peer);
	vqb_free(&f->rx);
}

/* stats: the device's group as it stands. */
static struct net_metrics stats(const struct fx *f)
{
	return f->mx;
}

/* readable: is one of the device's fds ready now? */
static bool readable(struct fx *f)
{
	return tw_ready(f->tw);
}

/* pump: hand the device its fds' events while one is ready (at most a few). */
static void pump(struct fx *f)
{
	for (int i = 0; i < 16 && readable(f); i++)
		tw_poll(f->tw, f->t, 0);
	assert_false(readable(f)); /* nothing left: the monitor would not spin */
}

/* frame: header (flags, gso) then an Ethernet frame of (len) bytes, byte i = seed + i. */
static void frame(uint8_t *buf, uint32_t len, uint8_t seed, uint8_t flags, uint8_t gso)
{
	memset(buf, 0, HDR);
	buf[0] = flags;
	buf[1] = gso;
	for (uint32_t i = 0; i < len; i++)
		buf[HDR + i] = (uint8_t)(seed + i);
}

/* host_send: the tap has a frame for the guest. */
static void host_send(struct fx *f, uint32_t len, uint8_t seed, uint8_t flags)
{
	uint8_t *buf = malloc(HDR + len);

	frame(buf, len, seed, flags, 0);
	assert_int_equal(send(f->peer, buf, HDR + len, 0), (ssize_t)(HDR + len));
	free(buf);
}

/* post_rx: one receive chain of (n) writable buffers of (len) bytes; returns its head. */
static uint16_t post_rx(struct fx *f, unsigned int n, uint32_t len, uint64_t *gpas)
{
	uint32_t lens[4];
	bool wr[4] = {true, true, true, true};
	uint16_t head = f->rx_desc;

	for (unsigned int i = 0; i < n; i++)
		lens[i] = len;
	vqb_chain(&f->rx, head, n, lens, wr, gpas);
	f->rx_desc = (uint16_t)((f->rx_desc + n) % QSIZE);
	vqb_publish(&f->rx, head);
	return head;
}

/* send_tx: a transmit chain of (n) segments; notify. Returns the head. */
static uint16_t send_tx(struct fx *f, unsigned int n, const uint32_t *lens, const bool *wr,
			const uint8_t *data)
{
	uint64_t gpas[4];
	uint16_t head = f->tx_desc;
	uint64_t off = 0;

	vqb_chain(&f->tx, head, n, lens, wr, gpas);
	for (unsigned int i = 0; i < n; i++) {
		memcpy(vqb_host(&f->tx, gpas[i]), data + off, lens[i]);
		off += lens[i];
	}
	f->tx_desc = (uint16_t)((f->tx_desc + n) % QSIZE);
	vqb_publish(&f->tx, head);
	virtio_mmio_notify(f->t, NET_TXQ);
	return head;
}

/* host_recv: what the tap got, or -1 when nothing. */
static ssize_t host_recv(struct fx *f, uint8_t *buf, size_t cap)
{
	return recv(f->peer, buf, cap, MSG_DONTWAIT);
}

static uint16_t num_buffers(const uint8_t *hdr)
{
	return (uint16_t)(hdr[10] | hdr[11] << 8);
}

static void test_features_and_config(void **state)
{
	struct fx *f = *state;
	struct virtio_net_config cfg = {.tap_name = "test0"};
	uint32_t w0, w1;
	uint8_t mac[6];

	attach(f, 0);
	for (unsigned int b = 0; b <= VIRTIO_NET_F_STATUS; b++) {
		bool want = b == VIRTIO_NET_F_CSUM || b == VIRTIO_NET_F_GUEST_CSUM ||
			    b == VIRTIO_NET_F_MAC || b == VIRTIO_NET_F_GUEST_TSO4 ||
			    b == VIRTIO_NET_F_GUEST_TSO6 || b == VIRTIO_NET_F_GUEST_UFO ||
			    b == VIRTIO_NET_F_HOST_TSO4 || b == VIRTIO_NET_F_HOST_TSO6 ||
			    b == VIRTIO_NET_F_HOST_UFO || b == VIRTIO_NET_F_MRG_RXBUF ||
			    b == VIRTIO_NET_F_STATUS;
		assert_int_equal(!!(f->ops->features & VIRTIO_BIT(b)), want);
	}
	assert_int_equal(f->ops->num_queues, 2);
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	w0 = vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG);
	w1 = vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 4);
	memcpy(mac, &w0, 4);
	memcpy(mac + 4, &w1, 2);
	assert_memory_equal(mac, "\x02\x11\x22\x33\x44\x55", 6);
	assert_int_equal(w1 >> 16, VIRTIO_NET_S_LINK_UP);
	detach(f);

	/* no MAC given: a random locally administered unicast one */
	attach_cfg(f, &cfg, 0);
	w0 = vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG);
	assert_int_equal(w0 & 3, 2);
	detach(f);
}

static void test_tx_frame(void **state)
{
	struct fx *f = *state;
	uint8_t data[HDR + 60], got[2048];
	uint32_t lens[3] = {HDR, 60};
	bool wr[3] = {false, false};
	uint32_t id, len;
	uint16_t head;

	attach(f, ALL);
	frame(data, 60, 7, 0, 0);
	head = send_tx(f, 2, lens, wr, data);
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);
	assert_memory_equal(got, data, HDR + 60);
	assert_int_equal(vqb_used_idx(&f->tx), 1);
	vqb_used_elem(&f->tx, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_true(f->irqs > 0);

	/* header split over two descriptors, frame over two more; num_buffers is cleared */
	frame(data, 60, 9, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4);
	data[10] = 0x77;
	uint32_t lens4[4] = {5, 7, 20, 40};
	bool wr4[4] = {false, false, false, false};
	send_tx(f, 4, lens4, wr4, data);
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);
	data[10] = 0;
	assert_memory_equal(got, data, HDR + 60);
	assert_int_equal(stats(f).tx_packets_count, 2);
	assert_int_equal(stats(f).tx_bytes_count, 120);
	detach(f);
}

static void test_rx_frame(void **state)
{
	struct fx *f = *state;
	uint64_t gpa;
	uint32_t id, len;
	uint16_t head;
	uint8_t *p;

	attach(f, BASE);
	head = post_rx(f, 1, HDR + 1514, &gpa);
	p = vqb_host(&f->rx, gpa);
	memset(p, 0xee, HDR + 1514); /* num_buffers must be written, not left as found */
	host_send(f, 100, 3, VIRTIO_NET_HDR_F_DATA_VALID);
	assert_true(readable(f));
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 1);
	vqb_used_elem(&f->rx, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 100);
	assert_int_equal(p[0], 0); /* DATA_VALID cleared: GUEST_CSUM not negotiated */
	assert_int_equal(num_buffers(p), 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[HDR + i], (uint8_t)(3 + i));
	assert_int_equal(p[HDR + 100], 0xee);
	assert_true(f->irqs > 0);

	/* two frames, two buffers, one wakeup */
	post_rx(f, 1, HDR + 1514, NULL);
	post_rx(f, 2, (HDR + 1514) / 2 + 1, NULL); /* one chain of two descriptors */
	host_send(f, 60, 1, 0);
	host_send(f, 1514, 2, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 3);
	vqb_used_elem(&f->rx, 2, &id, &len);
	assert_int_equal(len, HDR + 1514);
	assert_int_equal(stats(f).rx_packets_count, 3);
	detach(f);
}

static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	uint64_t g1, g2;
	uint32_t id, len;
	uint16_t h1, h2;
	uint8_t *p1, *p2;

	/* Buffers too few for any frame: the frame waits in a host buffer. */
	attach(f, BASE | MRG);
	h1 = post_rx(f, 1, 1000, &g1);
	host_send(f, 1500, 5, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 0); /* 1512 bytes do not fit 1000 */
	h2 = post_rx(f, 1, 1000, &g2);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_int_equal(vqb_used_idx(&f->rx), 2);
	vqb_used_elem(&f->rx, 0, &id, &len);
	assert_int_equal(id, h1);
	assert_int_equal(len, 1000);
	vqb_used_elem(&f->rx, 1, &id, &len);
	assert_int_equal(id, h2);
	assert_int_equal(len, 512);
	p1 = vqb_host(&f->rx, g1);
	p2 = vqb_host(&f->rx, g2);
	assert_int_equal(num_buffers(p1), 2);
	for (int i = 0; i < 988; i++)
		assert_int_equal(p1[HDR + i], (uint8_t)(5 + i));
	for (int i = 0; i < 512; i++)
		assert_int_equal(p2[i], (uint8_t)(5 + 988 + i));
	detach(f);

	/* Buffers for the largest frame: readv straight into two chains. */
	attach(f, BASE | MRG);
	h1 = post_rx(f, 1, 40000, &g1);
	h2 = post_rx(f, 1, 40000, &g2);
	host_send(f, 50000, 9, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 2);
	vqb_used_elem(&f->rx, 0, &id, &len);
	assert_int_equal(id, h1);
	assert_int_equal(len, 40000);
	vqb_used_elem(&f->rx, 1, &id, &len);
	assert_int_equal(id, h2);
	assert_int_equal(len, 50012 - 40000);
	p1 = vqb_host(&f->rx, g1);
	p2 = vqb_host(&f->rx, g2);
	assert_int_equal(num_buffers(p1), 2);
	assert_int_equal(p1[HDR + 39987], (uint8_t)(9 + 39987));
	assert_int_equal(p2[0], (uint8_t)(9 + 39988));
	assert_int_equal(p2[50012 - 40000 - 1], (uint8_t)(9 + 49999));
	detach(f);
}

static void test_rx_no_buffers(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	uint16_t head;

	attach(f, BASE);
	for (int i = 0; i < 3; i++)
		host_send(f, 64, (uint8_t)i, 0);
	pump(f); /* returns, and leaves the fd quiet: no busy loop */
	assert_int_equal(vqb_used_idx(&f->rx), 0);
	assert_true(stats(f).rx_tap_event_count >= 1);
	assert_int_equal(stats(f).no_rx_avail_buffer, 1);
	pump(f);
	/* The frames waited in the tap: a buffer and a notify bring the first. */
	head = post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_int_equal(vqb_used_idx(&f->rx), 1);
	vqb_used_elem(&f->rx, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 64);
	post_rx(f, 1, 2048, NULL);
	post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_int_equal(vqb_used_idx(&f->rx), 3);
	assert_int_equal(stats(f).rx_fails, 0);
	assert_int_equal(stats(f).rx_queue_event_count, 2);
	assert_int_equal(stats(f).tap_read_fails, 0);
	assert_int_equal(virtio_mmio_status(f->t), RUNNING);
	detach(f);
}

/*
 * Transmit counters: a notification with nothing queued, then a tap that
 * takes no more (the peer never reads: writev says EAGAIN), which drops the
 * frame and counts one write failure, never blocks.
 */
static void test_tx_counters(void **state)
{
	struct fx *f = *state;
	uint8_t data[HDR + 60];
	uint32_t lens[2] = {HDR, 60};
	bool wr[2] = {false, false};
	uint64_t sent = 0;

	attach(f, BASE);
	virtio_mmio_notify(f->t, NET_TXQ);
	assert_int_equal(stats(f).no_tx_avail_buffer, 1);
	frame(data, 60, 0, 0, 0);
	while (sent < TX_FILL_MAX && stats(f).tap_write_fails == 0) {
		send_tx(f, 2, lens, wr, data);
		sent++;
	}
	assert_int_equal(stats(f).tap_write_fails, 1);
	assert_int_equal(stats(f).tx_fails, 1);
	assert_int_equal(stats(f).tx_packets_count, sent - 1);
	assert_int_equal(stats(f).tx_queue_event_count, sent + 1);
	assert_int_equal(stats(f).no_tx_avail_buffer, 1);
	assert_int_equal(stats(f).tx_malformed_frames, 0);
	assert_int_equal(vqb_used_idx(&f->tx), (uint16_t)sent);
	assert_int_equal(virtio_mmio_status(f->t), RUNNING);
	detach(f);
}

static void test_rx_before_activation(void **state)
{
	struct fx *f = *state;

	attach(f, 0);
	host_send(f, 64, 1, 0);
	pump(f); /* no driver yet: nothing to do, and no spin */
	assert_int_equal(driver_init(f, BASE), RUNNING);
	post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_int_equal(vqb_used_idx(&f->rx), 1);
	detach(f);
}

static void test_hostile_tx(void **state)
{
	struct fx *f = *state;
	uint8_t data[HDR + 60], got[256];
	uint32_t id, len;

	attach(f, BASE);
	frame(data, 60, 0, 0, 0);

	/* a writable descriptor in a transmit chain */
	uint32_t l1[2] = {HDR, 60};
	bool w1[2] = {false, true};
	send_tx(f, 2, l1, w1, data);
	/* header shorter than 12 bytes, and the whole chain at that */
	uint32_t l2[1] = {8};
	bool w2[1] = {false};
	send_tx(f, 1, l2, w2, data);
	/* a frame shorter than an Ethernet header */
	uint32_t l3[2] = {HDR, 10};
	bool w3[2] = {false, false};
	send_tx(f, 2, l3, w3, data);
	/* offloads not negotiated: checksum, then TSO */
	bool w4[2] = {false, false};
	frame(data, 60, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	send_tx(f, 2, l1, w4, data);
	frame(data, 60, 0, 0, VIRTIO_NET_HDR_GSO_TCPV6);
	send_tx(f, 2, l1, w4, data);

	assert_int_equal(host_recv(f, got, sizeof(got)), -1);
	assert_int_equal(vqb_used_idx(&f->tx), 5);
	for (uint16_t i = 0; i < 5; i++) {
		vqb_used_elem(&f->tx, i, &id, &len);
		assert_int_equal(len, 0);
	}
	assert_int_equal(stats(f).tx_fails, 5);
	assert_int_equal(stats(f).tx_malformed_frames, 5);
	assert_int_equal(stats(f).tap_write_fails, 0);
	assert_int_equal(virtio_mmio_status(f->t), RUNNING);

	/* the device still works */
	frame(data, 60, 0, 0, 0);
	send_tx(f, 2, l1, w4, data);
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);
	detach(f);
}

static void test_hostile_rx(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	uint16_t small, good;

	attach(f, BASE);
	small = post_rx(f, 1, 8, NULL); /* shorter than the header */
	good = post_rx(f, 1, 2048, NULL);
	host_send(f, 64, 0, 0);
	host_send(f, 64, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM); /* the driver has no GUEST_CSUM */
	host_send(f, 64, 0, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 2);
	vqb_used_elem(&f->rx, 0, &id, &len);
	assert_int_equal(id, small);
	assert_int_equal(len, 0);
	vqb_used_elem(&f->rx, 1, &id, &len);
	assert_int_equal(id, good);
	assert_int_equal(len, HDR + 64);
	/* The unchecksummed frame was dropped, the next one waits for a buffer. */
	post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_int_equal(vqb_used_idx(&f->rx), 3);
	assert_int_equal(stats(f).rx_packets_count, 2);
	assert_int_equal(stats(f).rx_fails, 1);

	/* an avail index jump breaks the queue: NEEDS_RESET, never a crash */
	vqb_set_avail_idx(&f->rx, (uint16_t)(f->rx.avail_idx + 100));
	host_send(f, 64, 0, 0);
	pump(f);
	assert_true(virtio_mmio_status(f->t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* stopped: later frames wait in the tap, the broken ring is not read again */
	uint64_t frames = stats(f).rx_packets_count;
	host_send(f, 64, 0, 0);
	pump(f);
	assert_int_equal(stats(f).rx_packets_count, frames);
	assert_int_equal(vqb_used_idx(&f->rx), 3);
	/* and a driver reset brings it back (fresh rings): the waiting frames arrive */
	memset(vqb_host(&f->rx, f->rx.used), 0, 4);
	vqb_set_avail_idx(&f->rx, 0);
	f->rx_desc = 0;
	assert_int_equal(driver_init(f, BASE), RUNNING);
	post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_true(stats(f).rx_packets_count > frames);
	detach(f);
}

static void test_csum_offload_rx(void **state)
{
	struct fx *f = *state;
	uint64_t gpa;
	uint8_t *p;

	attach(f, BASE | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	post_rx(f, 1, 2048, &gpa);
	host_send(f, 64, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 1);
	p = vqb_host(&f->rx, gpa);
	assert_int_equal(p[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	detach(f);
}

static void test_tap_gone(void **state)
{
	struct fx *f = *state;
	uint8_t data[HDR + 60];
	uint32_t lens[2] = {HDR, 60}, id, len;
	bool wr[2] = {false, false};
	uint32_t isr;

	attach(f, BASE | VIRTIO_BIT(VIRTIO_NET_F_STATUS));
	post_rx(f, 1, 2048, NULL);
	close(f->peer); /* the interface went away */
	f->peer = -1;
	assert_true(readable(f));
	pump(f); /* and the fd is quiet afterwards */
	assert_int_equal(vqb_mmio_read(f->t, VIRTIO_MMIO_CONFIG + 4) >> 16, 0); /* link down */
	isr = vqb_mmio_read(f->t, VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_true(isr & VIRTIO_MMIO_INT_CONFIG);
	/* transmit still completes (the frame is dropped) */
	frame(data, 60, 0, 0, 0);
	send_tx(f, 2, lens, wr, data);
	assert_int_equal(vqb_used_idx(&f->tx), 1);
	vqb_used_elem(&f->tx, 0, &id, &len);
	assert_int_equal(len, 0);
	virtio_mmio_notify(f->t, NET_RXQ);
	assert_int_equal(vqb_used_idx(&f->rx), 0);
	pump(f);
	assert_int_equal(virtio_mmio_status(f->t), RUNNING);
	detach(f);
}

static void test_reset_drops_held_chains(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	uint16_t head;

	attach(f, BASE | MRG);
	post_rx(f, 1, 1000, NULL);
	host_send(f, 1500, 0, 0); /* held chain and a pending frame */
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 0);
	vqb_mmio_write(f->t, VIRTIO_MMIO_STATUS, 0);
	vqb_free(&f->rx);
	rings(f); /* fresh rings, as a rebooted driver would make */
	assert_int_equal(driver_init(f, BASE), RUNNING);
	head = post_rx(f, 1, 2048, NULL);
	host_send(f, 64, 0, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 1);
	vqb_used_elem(&f->rx, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, HDR + 64);
	detach(f);
}

/*
 * restore: what a new process does with (st): the tap opened again (a new
 * socketpair), the device configured as attach_cfg was with (cfg), a
 * transport over a copy of guest memory; the old ones go away with the old
 * process.
 */
static void restore(struct fx *f, const struct virtio_net_config *cfg,
		    const struct virtio_mmio_state *st)
{
	struct vlog_err err = {0};
	struct vqb rx2;
	int sv[2];

	vqb_clone(&rx2, &f->rx);
	destroy(f);
	close(f->peer);
	vqb_free(&f->rx);
	f->rx = rx2;
	vqb_share(&f->tx, &f->rx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	f->peer = sv[1];
	f->dev = net_create_with_fd(cfg, sv[0], &f->ops, NULL);
	assert_non_null(f->dev);
	f->irqs = 0;
	f->t = virtio_mmio_create(f->ops, f->dev, &f->rx.gm, irq, f);
	assert_non_null(f->t);
	watch(f);
	if (virtio_mmio_load_state(f->t, st, &err) != 0)
		fail_msg("load: %s", err.msg);
}

/*
 * Frames both ways, a receive chain held at the save (the tap empty): in
 * the new device the held chain is taken again and receives the next
 * frame, at the next used index; transmit goes on at its own.
 */
static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct virtio_net_config cfg = {
	    .tap_name = "test0", .has_mac = true, .mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
	struct virtio_mmio_state st;
	uint8_t data[HDR + 60], got[2048];
	uint32_t lens[1] = {HDR + 60}, id, len;
	bool wr[1] = {false};
	uint16_t held;
	uint64_t gpa;

	attach_cfg(f, &cfg, BASE);
	post_rx(f, 1, 2048, NULL);
	held = post_rx(f, 1, 2048, &gpa);
	virtio_mmio_notify(f->t, NET_RXQ);
	host_send(f, 60, 1, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 1); /* and the second chain held, the tap empty */
	frame(data, 60, 4, 0, 0);
	send_tx(f, 1, lens, wr, data);
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);

	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	virtio_mmio_save_state(f->t, &st);
	assert_int_equal(st.queues[NET_RXQ].last_avail, 1); /* the held chain given back */
	assert_int_equal(st.queues[NET_RXQ].used_idx, 1);
	assert_int_equal(st.queues[NET_TXQ].used_idx, 1);
	assert_int_equal(st.dev_len, 256);

	restore(f, &cfg, &st);
	assert_int_equal(virtio_mmio_status(f->t), RUNNING);
	host_send(f, 100, 7, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 2);
	vqb_used_elem(&f->rx, 1, &id, &len);
	assert_int_equal(id, held);
	assert_int_equal(len, HDR + 100);
	assert_int_equal(((uint8_t *)vqb_host(&f->rx, gpa))[HDR + 99], (uint8_t)(7 + 99));
	frame(data, 60, 9, 0, 0);
	send_tx(f, 1, lens, wr, data);
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);
	assert_memory_equal(got, data, HDR + 60);
	assert_int_equal(vqb_used_idx(&f->tx), 2);
	vqb_used_elem(&f->tx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_true(f->irqs > 0);
	detach(f);
}

static int lift_tx_limit(void *dev, void *arg)
{
	net_set_limiters(dev, NULL, arg);
	return 0;
}

/*
 * Quiesced, the device takes nothing from the tap (the frame waits there)
 * and no notification; resumed, it serves both. A transmit chain waiting
 * for the limiter at a save waits again in the new device (its bucket as
 * empty as saved) until the limit is lifted.
 */
static void test_quiesce_and_tx_limited(void **state)
{
	static const struct virtio_rate_limit one_frame = {
	    .ops = {.size = 1, .refill_time = 100000}};
	static const struct virtio_rate_limit none;
	struct fx *f = *state;
	struct virtio_net_config cfg = {.tap_name = "test0", .tx_limiter = &one_frame};
	struct virtio_mmio_state st;
	uint8_t data[HDR + 60], got[2048];
	uint32_t lens[1] = {HDR + 60}, id, len;
	bool wr[1] = {false};

	attach_cfg(f, &cfg, BASE);
	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	host_send(f, 60, 1, 0);
	/* the tap's edge comes while quiesced: refused, the frame waits for the resume */
	assert_true(tw_ready(f->tw));
	assert_int_equal(tw_poll(f->tw, f->t, 0), 1);
	assert_false(virtio_mmio_fd_ready(f->t, 0, EPOLLIN));
	assert_int_equal(vqb_used_idx(&f->rx), 0);
	virtio_mmio_resume(f->t);
	assert_int_equal(vqb_used_idx(&f->rx), 1);

	frame(data, 60, 4, 0, 0);
	send_tx(f, 1, lens, wr, data);
	send_tx(f, 1, lens, wr, data);
	assert_int_equal(vqb_used_idx(&f->tx), 1); /* the second waits for a token */
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);
	assert_int_equal(virtio_mmio_quiesce(f->t), 0);
	virtio_mmio_save_state(f->t, &st);
	assert_int_equal(st.queues[NET_TXQ].last_avail, 1);
	restore(f, &cfg, &st);
	assert_int_equal(vqb_used_idx(&f->tx), 1);
	assert_int_equal(host_recv(f, got, sizeof(got)), -1);
	assert_int_equal(virtio_mmio_with_lock(f->t, lift_tx_limit, (void *)&none), 0);
	assert_int_equal(vqb_used_idx(&f->tx), 2);
	vqb_used_elem(&f->tx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(host_recv(f, got, sizeof(got)), HDR + 60);
	detach(f);
}

static void test_create_errors(void **state)
{
	struct virtio_net_config cfg = {.tap_name = "embnosuchtap0"};
	const struct virtio_device_ops *ops;
	struct vlog_err err;

	(void)state;
	/* Each failure says what failed, for the caller to name the interface. */
	assert_null(net_create(&cfg, &ops, &err));
	assert_string_equal(err.msg, "no such network interface (create it first: "
				     "ip tuntap add dev embnosuchtap0 mode tap)");
	cfg.tap_name = "a-name-far-too-long-for-linux";
	assert_null(net_create(&cfg, &ops, &err));
	assert_string_equal(err.msg, "a tap name is 1 to 15 characters");
	cfg.tap_name = "";
	assert_null(net_create(&cfg, &ops, &err));
	assert_string_equal(err.msg, "a tap name is 1 to 15 characters");
	cfg.tap_name = "lo"; /* exists, not a tap (or no permission) */
	assert_null(net_create(&cfg, &ops, NULL));
}

/*
 * The device's four fds go into the monitor's loop at attach, each once,
 * with tags apart: the tap edge-triggered (a burst of frames wakes the loop
 * once), the kick and both limiters' timers level-triggered; a frame comes
 * through them; all leave the loop at destroy.
 */
static void test_fds_watched(void **state)
{
	struct fx *f = *state;
	unsigned int edge = 0, level = 0;
	uint64_t tags = 0;

	attach(f, BASE);
	for (unsigned int i = 0; i < TW_MAX_FDS; i++) {
		const struct tw_fd *w = &f->tw->fds[i];
		if (!w->live)
			continue;
		assert_true(w->tag < 64 && !(tags & (1ull << w->tag)));
		tags |= 1ull << w->tag;
		if (w->events == (EPOLLIN | EPOLLET))
			edge++;
		else if (w->events == EPOLLIN)
			level++;
	}
	assert_int_equal(edge, 1);
	assert_int_equal(level, 3);
	post_rx(f, 1, 2048, NULL);
	virtio_mmio_notify(f->t, NET_RXQ);
	host_send(f, 60, 1, 0);
	pump(f);
	assert_int_equal(vqb_used_idx(&f->rx), 1);
	detach(f); /* every fd unwatched, none unknown */
}

static void errors_only(void *opaque, enum vlog_level level, int errnum, const char *fmt,
			va_list ap) __attribute__((format(printf, 4, 0)));

/* errors_only: the device's lines, less the warnings these tests provoke on purpose. */
static void errors_only(void *opaque, enum vlog_level level, int errnum, const char *fmt,
			va_list ap)
{
	(void)opaque;
	if (level != VLOG_ERROR)
		return;
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

int main(void)
{
	static struct fx f;
#define T(fn) cmocka_unit_test_prestate(fn, &f)
	const struct CMUnitTest tests[] = {
	    T(test_features_and_config),
	    T(test_tx_frame),
	    T(test_rx_frame),
	    T(test_rx_mergeable),
	    T(test_rx_no_buffers),
	    T(test_rx_before_activation),
	    T(test_tx_counters),
	    T(test_hostile_tx),
	    T(test_hostile_rx),
	    T(test_csum_offload_rx),
	    T(test_tap_gone),
	    T(test_reset_drops_held_chains),
	    T(test_snapshot),
	    T(test_quiesce_and_tx_limited),
	    T(test_fds_watched),
	    T(test_create_errors),
	};

	vlog_set_sink(errors_only, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
