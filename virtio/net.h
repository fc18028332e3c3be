/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.h: virtio-net (virtio 1.2, 5.1, device ID 1) over a Linux tap, with a
 * given or random MAC. Queue 0 receives, queue 1 transmits; no control queue.
 *
 * The tap is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte
 * vnet header, which is exactly struct virtio_net_hdr_v1 (VERSION_1 always
 * has num_buffers), so frames move between the tap and guest memory with
 * readv/writev and no copy. The guest's checksum and segmentation offloads
 * are offered (Firecracker's set) and, once the driver has acked them, set on
 * the tap with TUNSETOFFLOAD (what the kernel may hand us for the guest).
 *
 * Receive. The device watches the tap edge-triggered in the monitor's loop
 * (ops->attach), so the loop wakes once per burst of frames and never spins: when the receive ring
 * has no buffer left the frames stay in the tap (its queue, then the kernel, drops when full, as
 * for a real NIC) and reading resumes on the next receive notification. With VIRTIO_NET_F_MRG_RXBUF
 * a frame spreads over several chains (num_buffers); a frame lands straight in guest memory when
 * the chains held can take any frame, else it goes through one host buffer and waits there, never
 * lost, for enough guest buffers. Work per wakeup is bounded; the rest is resumed through a kick
 * eventfd, watched beside it.
 *
 * The guest is hostile: a transmit chain with a writable descriptor, a header
 * shorter than 12 bytes, a frame too short or too long, or offload bits the
 * driver did not negotiate are dropped (completed with length 0), counted and
 * logged once per kind. A tap whose interface vanished (EBADFD, or the one
 * edge-triggered EPOLLERR) is never read again, the link goes down
 * (VIRTIO_NET_F_STATUS, config interrupt) and transmitted frames are
 * discarded from then on. A tap that is merely down (writev EIO) drops frames.
 */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev_metrics.h"
#include "device.h"
#include "ratelimit.h"
#include "vlog.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

/* struct virtio_net_hdr_v1 (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start,
 * csum_offset, num_buffers; little-endian. */
#define VIRTIO_NET_HDR_BYTES	       12
#define VIRTIO_NET_HDR_OFF_FLAGS       0
#define VIRTIO_NET_HDR_OFF_GSO_TYPE    1
#define VIRTIO_NET_HDR_OFF_CSUM_START  6
#define VIRTIO_NET_HDR_OFF_CSUM_OFFSET 8
#define VIRTIO_NET_HDR_OFF_NUM_BUFFERS 10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM    1
#define VIRTIO_NET_HDR_F_DATA_VALID    2
#define VIRTIO_NET_HDR_GSO_NONE	       0
#define VIRTIO_NET_HDR_GSO_TCPV4       1
#define VIRTIO_NET_HDR_GSO_UDP	       3
#define VIRTIO_NET_HDR_GSO_TCPV6       4
#define VIRTIO_NET_HDR_GSO_ECN	       0x80
#define VIRTIO_NET_S_LINK_UP	       1

/* Largest frame either way, a GSO one included, and with its header (Firecracker's bound). */
#define NET_FRAME_MAX  65550
#define NET_BUF_MAX    (VIRTIO_NET_HDR_BYTES + NET_FRAME_MAX)
#define NET_FRAME_MIN  14 /* an Ethernet header */
#define NET_QUEUE_SIZE 256
#define NET_RXQ	       0
#define NET_TXQ	       1

/* The config space the driver reads (5.1.4), up to mtu. */
struct virtio_net_config_space {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs; /* 0: VIRTIO_NET_F_MQ is not offered */
	uint16_t mtu;		      /* valid when VIRTIO_NET_F_MTU is offered */
} __attribute__((packed));

/*
 * A detour (the monitor's MMDS, say) takes some of the guest's frames out of
 * its traffic and answers them. (tx) sees every frame the guest sends, its
 * checksum completed when the driver left it to the device
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM), and returns true when it took the frame,
 * which then never reaches the tap. (rx) writes the next frame the detour
 * has for the guest into (buf, cap) (cap is NET_DETOUR_FRAME_MAX) and
 * returns its length, 0 when none: it is asked whenever the device fills
 * receive buffers, taking turns with the tap so neither starves the other,
 * and a frame it gave waits in the device (never lost) until the driver
 * posts buffers. Both run on the device's thread, never at once.
 */
#define NET_DETOUR_FRAME_MAX 2048

struct net_detour {
	/*
	 * may_take (optional): from a frame's first NET_DETOUR_PEEK bytes (or
	 * all of a shorter one), whether it could be the detour's; the device
	 * then copies the whole frame for tx. NULL: every frame is offered.
	 */
	bool (*may_take)(void *opaque, const uint8_t *head, size_t len);
	bool (*tx)(void *opaque, const uint8_t *frame, size_t len);
	size_t (*rx)(void *opaque, uint8_t *buf, size_t cap);
	void *opaque;
};

/* Bytes of a frame's start a detour's may_take sees. */
#define NET_DETOUR_PEEK 64

/* What the monitor asks for: one network interface. */
struct virtio_net_config {
	const char *tap_name;
	bool has_mac;
	uint8_t mac[6]; /* when has_mac; else a random locally administered one */
	uint16_t mtu;	/* advised to the driver (VIRTIO_NET_F_MTU); 0: not offered */
	/* Rate limits, NULL: unlimited (until net_set_limiters). */
	const struct virtio_rate_limit *rx_limiter;
	const struct virtio_rate_limit *tx_limiter;
	const struct net_detour *detour; /* NULL: every frame goes to the tap */
	struct net_metrics *metrics;	 /* its group (dev_metrics.h); NULL: one of its own */
};

/*
 * net_create: open /dev/net/tun, attach to (cfg->tap_name) with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, TUNSETVNETHDRSZ 12, offloads off until
 * the driver acks some, non-blocking. (*ops) receives the ops table; hand both
 * to virtio_mmio_create, which then owns the device. Returns NULL on failure,
 * said in (err) (may be NULL) and not logged: the caller names the interface
 * in its own words. Before seccomp (open, TUNSETIFF). The device's log lines
 * start "virtio-net: TAP: ".
 */
void *net_create(const struct virtio_net_config *cfg, const struct virtio_device_ops **ops,
		 struct vlog_err *err);

/*
 * net_create_with_fd: as net_create over (fd), already a tap set up as above
 * or, for tests, one end of an AF_UNIX datagram socketpair standing in for it
 * (TUNSETOFFLOAD is then skipped). Takes (fd) in every case: closed on failure.
 */
void *net_create_with_fd(const struct virtio_net_config *cfg, int fd,
			 const struct virtio_device_ops **ops, struct vlog_err *err);

/*
 * Rate limiting (Firecracker's rx_rate_limiter / tx_rate_limiter, see
 * ratelimit.h): a frame costs one operation and its bytes with the 12-byte
 * header. Transmit: a chain that does not fit stays popped and the queue is
 * not read until the limiter's timer fires. Receive: the size is known only
 * once read, so frames are read while the limiter has tokens and each is
 * charged after; the excess is a debt that stops reading the tap (frames
 * wait there) until it has refilled. Both timerfds are watched in the
 * monitor's loop and are created with the device, limited or not, so that
 * net_set_limiters can limit later.
 *
 * net_set_limiters: replace the receive (rx) and transmit (tx) limits; NULL
 * leaves that one as it is. Retries deferred work. Call with the transport
 * lock held (virtio_mmio_with_lock).
 */
void net_set_limiters(void *dev, const struct virtio_rate_limit *rx,
		      const struct virtio_rate_limit *tx);

#endif /* EMBER_VIRTIO_NET_H */
