/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio.h: the runtime's virtio-mmio drivers (guest side): discovery from
 * the kernel command line, the transport and a split virtqueue (virtio.c),
 * and small synchronous drivers for rng, blk, net and vsock.
 *
 * Virtio 1.2: MMIO transport 4.2.2 (version 2 register layout), device
 * initialisation 3.1.1, split virtqueues 2.7, blk 5.2, net 5.1, rng 5.4,
 * vsock 5.10. Everything is synchronous and single-CPU: submit a chain,
 * notify, wait for the used ring (polling with a bounded spin by default,
 * or sleeping on the device's interrupt after rt_virtio_use_irq(1)). Every
 * wait is bounded, so a hostile or broken device cannot hang the guest.
 * Guest-physical == virtual (identity map), so buffers are plain pointers,
 * but they must lie in RAM (static or stack memory of the guest image).
 */
#ifndef EMBER_RT_VIRTIO_H
#define EMBER_RT_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

/* Device ids (virtio 1.2 section 5). */
#define VIRTIO_ID_NET	1
#define VIRTIO_ID_BLK	2
#define VIRTIO_ID_RNG	4
#define VIRTIO_ID_VSOCK 19

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED		 128

/* Reserved feature bits (6). */
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1	32

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

#define RT_VIRTIO_MAX_DEVS   16
#define RT_VIRTIO_MAX_QUEUES 3
#define RT_VQ_SIZE	     16 /* entries per queue, at most */

/* Error returns (negative); blk statuses are 0..2 and never collide. */
#define RT_VIRTIO_ETIMEDOUT -1 /* bounded wait expired */
#define RT_VIRTIO_EDEVICE   -2 /* device set NEEDS_RESET or FAILED */
#define RT_VIRTIO_EINVAL    -3 /* bad argument, no such device or queue */
#define RT_VIRTIO_ENOSPC    -4 /* not enough free descriptors */
#define RT_VIRTIO_EFEATURE  -5 /* VERSION_1 missing or FEATURES_OK refused */

/* Default bound on one request's wait, microseconds. */
#define RT_VIRTIO_TIMEOUT_US 5000000ULL

struct rt_vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct rt_vq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[RT_VQ_SIZE + 1]; /* ring[size] is used_event */
};

struct rt_vq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct rt_vq_used {
	uint16_t flags;
	uint16_t idx;
	struct rt_vq_used_elem ring[RT_VQ_SIZE];
	uint16_t avail_event_pad[2]; /* avail_event sits right after ring[size] */
};

struct rt_virtio_dev;

struct rt_virtqueue {
	struct rt_virtio_dev *dev;
	uint16_t index; /* queue number on the device */
	uint16_t size;	/* 0: not set up */
	struct rt_vq_desc *desc;
	struct rt_vq_avail *avail;
	struct rt_vq_used *used;
	uint16_t free_head; /* free descriptors are linked through .next */
	uint16_t num_free;
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t last_used; /* used entries consumed so far */
};

struct rt_virtio_dev {
	unsigned int index; /* position in the discovered list */
	uint64_t base;	    /* MMIO window, guest-physical */
	uint64_t size;
	unsigned int irq;   /* ISA IRQ = IOAPIC pin */
	uint32_t version;   /* 2 for every device listed */
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t offered;  /* device features */
	uint64_t features; /* negotiated */
	int event_idx;	   /* VIRTIO_F_RING_EVENT_IDX negotiated */
	int ready;	   /* DRIVER_OK written */
	volatile uint32_t isr; /* InterruptStatus bits seen by the handler */
	struct rt_virtqueue vq[RT_VIRTIO_MAX_QUEUES];
};

/* One buffer of a chain for rt_virtq_submit(). */
struct rt_vbuf {
	const void *addr;
	uint32_t len;
	int writable; /* device writes it (VIRTQ_DESC_F_WRITE) */
};

/* --- discovery ------------------------------------------------------- */

/*
 * rt_virtio_probe: parse every "virtio_mmio.device=<size>@<addr>:<irq>"
 * (size with K/M/G suffix) anywhere on the command line (QEMU microvm
 * appends its entries after the guest's " -- " args), keep
 * the windows whose MagicValue is "virt", Version 2 and DeviceID non-zero,
 * and return their number. Others are reported with "runtime: virtio ..."
 * lines. Call once; later calls return the same list.
 */
unsigned int rt_virtio_probe(const struct boot_info *bi);
/* rt_virtio_count: devices kept by rt_virtio_probe(). */
unsigned int rt_virtio_count(void);
/* rt_virtio_dev: device (index), or NULL. */
struct rt_virtio_dev *rt_virtio_dev(unsigned int index);
/* rt_virtio_find: the (nth) (0-based) device with (device_id), or NULL. */
struct rt_virtio_dev *rt_virtio_find(uint32_t device_id, unsigned int nth);

/* --- transport ------------------------------------------------------- */

/*
 * rt_virtio_begin: reset, ACKNOWLEDGE, DRIVER, negotiate (device features &
 * (wanted)) | VERSION_1 (EVENT_IDX too when offered, unless
 * rt_virtio_set_event_idx(0)), FEATURES_OK and check it stuck. 0 or
 * RT_VIRTIO_EFEATURE (status FAILED is then set).
 */
int rt_virtio_begin(struct rt_virtio_dev *d, uint64_t wanted);
/* rt_virtio_queue: set up queue (q) (size min(QueueNumMax, RT_VQ_SIZE)). */
int rt_virtio_queue(struct rt_virtio_dev *d, unsigned int q);
/*
 * rt_virtio_ready: DRIVER_OK; notify each queue that already has buffers
 * (none is notified before DRIVER_OK); enable the IRQ when in interrupt mode.
 */
void rt_virtio_ready(struct rt_virtio_dev *d);
/* rt_virtio_reset: write 0 to Status and forget the queues. */
void rt_virtio_reset(struct rt_virtio_dev *d);
/* rt_virtio_status: the device's Status register. */
uint32_t rt_virtio_status(const struct rt_virtio_dev *d);
/* rt_virtio_has: nonzero when feature (bit) was negotiated. */
int rt_virtio_has(const struct rt_virtio_dev *d, unsigned int bit);
/* rt_virtio_offered: nonzero when the device offers feature (bit). */
int rt_virtio_offered(const struct rt_virtio_dev *d, unsigned int bit);
/*
 * rt_virtio_config: read (len) (1, 2, 4 or 8) bytes of device config at
 * (off), consistent under ConfigGeneration.
 */
uint64_t rt_virtio_config(const struct rt_virtio_dev *d, unsigned int off, unsigned int len);
/*
 * rt_virtio_use_irq: (on) nonzero: wait for completions by sleeping on the
 * devices' interrupts (every ready device's pin is enabled now, later ones
 * at rt_virtio_ready()); zero: poll (default).
 */
void rt_virtio_use_irq(int on);
/* rt_virtio_set_event_idx: (on) zero: never negotiate EVENT_IDX (default 1). */
void rt_virtio_set_event_idx(int on);
/*
 * rt_virtio_ack_unoffered: also write (bits) to the driver features from
 * now on, offered or not, as some platforms' drivers do (tests of a
 * monitor's tolerance); the driver itself uses only what was negotiated.
 */
void rt_virtio_ack_unoffered(uint64_t bits);

/* --- split virtqueue ------------------------------------------------- */

/* rt_virtq_alloc: take a free descriptor index, or -1. */
int rt_virtq_alloc(struct rt_virtqueue *q);
/*
 * rt_virtq_publish: put the chain starting at descriptor (head) in the
 * avail ring, publish the index and notify the device (unless it asked not
 * to be notified, or DRIVER_OK is not set yet: rt_virtio_ready notifies).
 */
void rt_virtq_publish(struct rt_virtqueue *q, uint16_t head);
/* rt_virtq_notify: write the queue's index to QueueNotify. */
void rt_virtq_notify(struct rt_virtqueue *q);
/*
 * rt_virtq_submit: build a chain from (n) buffers (device-readable ones
 * first, as the spec wants), publish it and notify. Returns the head
 * descriptor, or RT_VIRTIO_ENOSPC / RT_VIRTIO_EINVAL.
 */
int rt_virtq_submit(struct rt_virtqueue *q, const struct rt_vbuf *bufs, unsigned int n);
/*
 * rt_virtq_wait: wait until the used ring has an entry we have not
 * consumed, at most (timeout_us). 0, RT_VIRTIO_ETIMEDOUT, or
 * RT_VIRTIO_EDEVICE when the device sets NEEDS_RESET/FAILED meanwhile.
 */
int rt_virtq_wait(struct rt_virtqueue *q, uint64_t timeout_us);
/*
 * rt_virtq_get: consume one used entry: return its id and store the length
 * written in (*len) (may be NULL), and free its chain; -1 when none is
 * pending, RT_VIRTIO_EDEVICE when the id is not a descriptor we gave out.
 */
int rt_virtq_get(struct rt_virtqueue *q, uint32_t *len);
/*
 * rt_virtq_call: submit, wait (timeout_us) and consume the completion of
 * this chain. Returns the length the device wrote, or a negative error.
 */
int64_t rt_virtq_call(struct rt_virtqueue *q, const struct rt_vbuf *bufs, unsigned int n,
		      uint64_t timeout_us);

/* --- virtio-rng ------------------------------------------------------ */

/* rt_vrng_init: initialise (d) (an rng device): 0 or negative. */
int rt_vrng_init(struct rt_virtio_dev *d);
/* rt_vrng_read: fill (buf) with (n) random bytes: n or negative. */
int64_t rt_vrng_read(struct rt_virtio_dev *d, void *buf, size_t n);

/* --- virtio-blk ------------------------------------------------------ */

#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_F_RO	    5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH  9
#define VIRTIO_BLK_SECTOR   512
#define VIRTIO_BLK_ID_BYTES 20

struct rt_vblk {
	struct rt_virtio_dev *dev;
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t blk_size; /* 512 unless VIRTIO_BLK_F_BLK_SIZE says otherwise */
	int ro;		   /* VIRTIO_BLK_F_RO offered */
	int flush;	   /* VIRTIO_BLK_F_FLUSH negotiated */
};

/* rt_vblk_init: initialise (d) as (b): 0 or negative. */
int rt_vblk_init(struct rt_vblk *b, struct rt_virtio_dev *d);
/*
 * rt_vblk_rw: read ((write) == 0) or write (nsect) sectors at (sector)
 * from/to (buf). Returns the device's status (VIRTIO_BLK_S_*) or negative.
 */
int rt_vblk_rw(struct rt_vblk *b, int write, uint64_t sector, void *buf, uint32_t nsect);
/* rt_vblk_flush: VIRTIO_BLK_T_FLUSH: status or negative. */
int rt_vblk_flush(struct rt_vblk *b);
/* rt_vblk_get_id: the device id string, NUL-terminated: status or negative. */
int rt_vblk_get_id(struct rt_vblk *b, char id[VIRTIO_BLK_ID_BYTES + 1]);
/*
 * rt_vblk_request: one raw request: header {type, 0, sector}, the optional
 * (data, len) (device-writable unless type is T_OUT), 1-byte status.
 */
int rt_vblk_request(struct rt_vblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len);

/* --- virtio-net ------------------------------------------------------ */

#define VIRTIO_NET_F_MTU    3
#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_CFG_MTU  10 /* config offset of the advised MTU (5.1.4) */
#define VIRTIO_NET_HDR_SIZE 12 /* struct virtio_net_hdr_v1 */
#define RT_VNET_FRAME_MAX   1514
#define RT_VNET_RX_BUFS	    4

struct rt_vnet {
	struct rt_virtio_dev *dev;
	uint8_t mac[6]; /* from config when VIRTIO_NET_F_MAC, else 52:54:00:12:34:56 */
	int has_mac;
	uint16_t mtu; /* the device's advice when VIRTIO_NET_F_MTU, else 0 */
};

/* rt_vnet_init: initialise (d) as (n), post receive buffers: 0 or negative. */
int rt_vnet_init(struct rt_vnet *n, struct rt_virtio_dev *d);
/* rt_vnet_send: send one Ethernet frame (no FCS): 0 or negative. */
int rt_vnet_send(struct rt_vnet *n, const void *frame, size_t len);
/*
 * rt_vnet_recv: wait at most (timeout_us) for one frame, copy at most (cap)
 * bytes to (buf). Returns the frame length (without the virtio header) or
 * negative.
 */
int64_t rt_vnet_recv(struct rt_vnet *n, void *buf, size_t cap, uint64_t timeout_us);

/* --- virtio-vsock ---------------------------------------------------- */

#define VIRTIO_VSOCK_HOST_CID 2
#define VIRTIO_VSOCK_HDR_SIZE 44
#define RT_VSOCK_BUF	      4096 /* payload per packet, both ways */
#define RT_VSOCK_MAX_CONNS    128  /* streams at once, both directions */
#define RT_VSOCK_CONN_BUF     4096 /* receive buffer per stream (= buf_alloc) */

/* rt_vsock_state values (the negative ones are errors too). */
#define RT_VSOCK_OPEN	    0  /* data flows */
#define RT_VSOCK_CONNECTING 1  /* our REQUEST is unanswered */
#define RT_VSOCK_PEER_DONE  2  /* the host shut its sending side; all read */
#define RT_VSOCK_RESET	    -7 /* the host reset the stream */
#define RT_VSOCK_EREFUSED   -6 /* our REQUEST was answered with RST */

struct rt_vsock {
	struct rt_virtio_dev *dev;
	uint64_t guest_cid;
	unsigned int resets; /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET events seen */
	int cur; /* the stream of the single-stream calls below, -1 none */
	int listening;
	uint32_t listen_port;
};

/* rt_vsock_init: initialise (d) as (v), post receive buffers. */
int rt_vsock_init(struct rt_vsock *v, struct rt_virtio_dev *d);

/*
 * Many streams at once. A stream is an id (0 .. RT_VSOCK_MAX_CONNS-1);
 * nothing below waits except rt_vsock_poll (and the synchronous transmit of
 * each packet). Received bytes are kept per stream until read.
 *
 * rt_vsock_open: send a REQUEST to host (port); the stream id or negative.
 * rt_vsock_listen: accept host-initiated streams to (port) from now on.
 * rt_vsock_accept: a stream accepted since the last call, or -1.
 * rt_vsock_poll: wait at most (timeout_us) for packets and take every one
 *   there is (0: do not wait); the number taken or negative
 *   (RT_VIRTIO_ETIMEDOUT when none came).
 * rt_vsock_state: RT_VSOCK_OPEN, _CONNECTING, _PEER_DONE, _RESET, _EREFUSED.
 * rt_vsock_pending / rt_vsock_credit: bytes waiting to be read / that
 *   rt_vsock_write may send now.
 * rt_vsock_write: send at most (len) bytes (credit and RT_VSOCK_BUF bound
 *   it): bytes sent (0: no credit now) or negative.
 * rt_vsock_read: copy at most (cap) received bytes: bytes (0: none) or negative.
 * rt_vsock_shutdown: SHUTDOWN both ways; the host answers with an RST.
 * rt_vsock_release: forget the stream (RST to the host if it is live).
 */
int rt_vsock_open(struct rt_vsock *v, uint32_t port);
void rt_vsock_listen(struct rt_vsock *v, uint32_t port);
int rt_vsock_accept(struct rt_vsock *v);
int rt_vsock_poll(struct rt_vsock *v, uint64_t timeout_us);
/*
 * rt_vsock_events: take the device's events (rt_vsock_poll does it too).
 * A transport reset (virtio 1.2, 5.10.6.6: the VM was restored from a
 * snapshot, say) ends every stream, which then reads RT_VSOCK_RESET, and the
 * guest CID is read again. Returns how many resets it took, or negative.
 */
int rt_vsock_events(struct rt_vsock *v);
int rt_vsock_state(const struct rt_vsock *v, int id);
uint32_t rt_vsock_pending(const struct rt_vsock *v, int id);
uint32_t rt_vsock_credit(const struct rt_vsock *v, int id);
int64_t rt_vsock_write(struct rt_vsock *v, int id, const void *buf, size_t len);
int64_t rt_vsock_read(struct rt_vsock *v, int id, void *buf, size_t cap);
void rt_vsock_shutdown(struct rt_vsock *v, int id);
void rt_vsock_release(struct rt_vsock *v, int id);

/* One stream at a time, on top of the calls above. */
/* rt_vsock_connect: stream connect to host CID 2 (port): 0 or negative (-6 refused). */
int rt_vsock_connect(struct rt_vsock *v, uint32_t port, uint64_t timeout_us);
/* rt_vsock_send: send (len) bytes: len or negative. */
int64_t rt_vsock_send(struct rt_vsock *v, const void *buf, size_t len);
/* rt_vsock_recv: wait for data, copy at most (cap): bytes, 0 on shutdown, negative. */
int64_t rt_vsock_recv(struct rt_vsock *v, void *buf, size_t cap, uint64_t timeout_us);
/* rt_vsock_close: SHUTDOWN (both directions), then forget the connection. */
void rt_vsock_close(struct rt_vsock *v);

#endif /* EMBER_RT_VIRTIO_H */
