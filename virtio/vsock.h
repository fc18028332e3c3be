/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock.h: virtio-vsock (virtio 1.2, 5.10, device ID 19) in Firecracker's
 * "hybrid" form, given a guest CID and a host socket path UDS_PATH: guest
 * AF_VSOCK stream sockets are proxied to host AF_UNIX stream sockets
 * (Firecracker docs/vsock.md).
 *
 *   Host-initiated: a host program connects to UDS_PATH and writes
 *   "CONNECT <port>\n"; the device sends the guest a REQUEST to <port> from a
 *   host port it allocates (1 << 30 upwards); on the guest's RESPONSE it
 *   writes "OK <host port>\n" to the host socket, and bytes flow both ways.
 *   Guest-initiated: a guest connect to CID 2 port P connects (non-blocking)
 *   to UDS_PATH_P; success is a RESPONSE, failure an RST.
 *
 * Queues rx 0, tx 1, event 2 (never used: no transport reset is ever sent).
 * Every packet starts with struct virtio_vsock_hdr (5.10.6). Stream sockets
 * only; credit-based flow control both ways (5.10.6.3): data from a host
 * socket is read straight into the guest's rx buffers, never beyond the
 * credit the guest advertised; data from the guest goes straight to the host
 * socket, and what the socket cannot take yet is buffered, up to the
 * VSOCK_CONN_BUF bytes of credit the device advertises per connection. A
 * guest that overruns it gets an RST. Half-close: host EOF is SHUTDOWN(SEND),
 * a guest SHUTDOWN(SEND) becomes shutdown(SHUT_WR) once buffered bytes are out.
 *
 * The guest is hostile: every header is checked (length against the chain,
 * src_cid, dst_cid, type, op) before anything else; what the device cannot
 * serve gets an RST (never in answer to an RST); credit numbers never size an
 * allocation; connections are bounded (VSOCK_MAX_CONNS, or fewer when the
 * monitor says the process cannot afford that many fds: vsock_set_max_conns;
 * host- and guest-initiated together, refused with an RST or a close and
 * counted); problems are logged rate-limited and counted.
 *
 * Snapshots (mmio.h): connections are host sockets and are not saved. A
 * device restored in a new process puts VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 * in the first buffer of the event queue (the next one the driver posts,
 * if it has none there), as Firecracker does, and the guest drops its
 * connections. Quiesced and resumed in the same process, they all go on.
 *
 * Threads: every host socket (listener and connections), a timer and a
 * wakeup eventfd is watched in the monitor's loop (ops->attach; a connection
 * from its accept or connect to its close), which calls
 * virtio_mmio_fd_ready() on the VMM thread for each that is ready; nothing
 * blocks (every socket is non-blocking). Connection fds are armed
 * EPOLLONESHOT and re-armed only when the device can act on them, so a socket
 * the guest has no credit or buffers for never spins the event loop.
 */
#ifndef EMBER_VIRTIO_VSOCK_H
#define EMBER_VIRTIO_VSOCK_H

#include <stdint.h>

#include "dev_metrics.h"
#include "device.h"
#include "vlog.h"

/* Queues (5.10.2). */
#define VSOCK_QUEUE_RX	  0
#define VSOCK_QUEUE_TX	  1
#define VSOCK_QUEUE_EVENT 2
#define VSOCK_QUEUE_SIZE  256

/* Well-known CIDs (5.10.4: CIDs 0, 1, 2 and 0xffffffff are reserved). */
#define VSOCK_HOST_CID 2

/* Packet header (5.10.6); all fields little-endian. */
struct virtio_vsock_hdr {
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

#define VSOCK_HDR_BYTES 44

/* Socket types and operations (5.10.6). */
#define VSOCK_TYPE_STREAM	1
#define VSOCK_OP_INVALID	0
#define VSOCK_OP_REQUEST	1
#define VSOCK_OP_RESPONSE	2
#define VSOCK_OP_RST		3
#define VSOCK_OP_SHUTDOWN	4
#define VSOCK_OP_RW		5
#define VSOCK_OP_CREDIT_UPDATE	6
#define VSOCK_OP_CREDIT_REQUEST 7
/* SHUTDOWN flags (5.10.6.5). */
#define VSOCK_SHUTDOWN_RCV  1u /* the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND 2u /* the sender will send no more */

/*
 * The event queue's one event (5.10.6, "Device Events"): the device lost
 * every connection (a snapshot restored in another process: host sockets
 * do not survive). The driver resets its sockets and reads the guest CID
 * again.
 */
#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0
struct virtio_vsock_event {
	uint32_t id;
} __attribute__((packed));

/* Limits. */
#define VSOCK_MAX_CONNS	       1024	  /* host sockets at once, all states, at most */
#define VSOCK_CONN_BUF	       65536u	  /* buf_alloc advertised = bytes buffered per connection */
#define VSOCK_MAX_PKT	       65536u	  /* payload per packet, both ways */
#define VSOCK_LOCAL_PORT_FIRST (1u << 30) /* host ports for host-initiated connections */
#define VSOCK_CONNECT_LINE_MAX 32	  /* "CONNECT 4294967295\n" fits */
#define VSOCK_TIMEOUT_MS       2000	  /* REQUEST answer, SHUTDOWN answer, drain */
#define VSOCK_LINE_TIMEOUT_MS  5000	  /* a host connection's CONNECT line */

/*
 * struct virtio_vsock_config: (guest_cid) >= 3, (uds_path) the host socket
 * path (must leave room for "_4294967295" in a sockaddr_un). (timeout_ms)
 * replaces every timeout above when non-zero (tests); leave it 0.
 * (max_conns): fewer host sockets than VSOCK_MAX_CONNS; 0 for that many.
 * (metrics): where the device counts; NULL: a group of its own.
 */
struct virtio_vsock_config {
	uint32_t guest_cid;
	const char *uds_path;
	uint32_t timeout_ms;
	unsigned int max_conns;
	struct vsock_metrics *metrics;
};

/*
 * vsock_create: a virtio-vsock device; (*ops) receives its ops table. Binds
 * and listens on (cfg->uds_path) (a stale socket file there is unlinked
 * first; any other file is an error) and creates its timerfd and eventfd,
 * so call it before seccomp is installed. Hand both
 * results to virtio_mmio_create(), which then owns the device; the socket
 * file is left in place at destroy. Returns NULL on failure, said in (err)
 * (may be NULL) and not logged: the caller names the device in its own
 * words. The device's log lines start "virtio-vsock: ".
 */
void *vsock_create(const struct virtio_vsock_config *cfg, const struct virtio_device_ops **ops,
		   struct vlog_err *err);

/*
 * vsock_set_max_conns: hold at most (max_conns) host sockets from now on
 * (capped at VSOCK_MAX_CONNS); connections beyond are refused, those open
 * stay. For the monitor's fd budget; call with the transport lock held.
 */
void vsock_set_max_conns(void *dev, unsigned int max_conns);

/* vsock_conn_count: host sockets the device holds now (tests, metrics). */
unsigned int vsock_conn_count(const void *dev);

#endif /* EMBER_VIRTIO_VSOCK_H */
