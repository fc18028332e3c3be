/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock_impl.h: what the three parts of virtio-vsock share; not for other
 * code (vsock.h is the device's public surface). The parts, as Firecracker
 * splits its vsock (device.rs, csm/connection.rs, unix/muxer.rs):
 *
 *   vsock.c       the virtio device: its ops, the tx queue (each guest
 *                 packet to the muxer) and the rx queue (RSTs, then what
 *                 each connection owes the guest), its fds' events.
 *   vsock_conn.c  one connection's state machine: credit both ways, guest
 *                 packets on an open connection, bytes to and from its host
 *                 socket, the packet it owes the guest next.
 *   vsock_mux.c   the host side: the connection table and lifecycle (add,
 *                 kill, reap), the RSTs owed to the guest, the listening
 *                 socket and CONNECT lines, guest connects to UDS_PATH_<port>,
 *                 timeouts, and the routing of each guest packet.
 *
 * Everything runs with the transport lock held (device.h), on the VMM
 * thread, except vsock_reset on the vCPU thread that wrote status 0.
 */
#ifndef EMBER_VIRTIO_VSOCK_IMPL_H
#define EMBER_VIRTIO_VSOCK_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "queue.h"
#include "vlog.h"
#include "vsock.h"

#define HASH_SIZE 1024 /* connection table buckets, a power of two */
#define RST_RING  2048 /* RSTs waiting for an rx buffer */
#define RECENT_GONE                                                                                \
	32 /* connections remembered after they end (see recently_gone in vsock_mux.c) */
#define VSOCK_WHO "virtio-vsock" /* what its log lines start with */

/*
 * The tags of the fds that are not connections, in the monitor's loop; a
 * connection's tag is its address (vsock_conn_tag), never this small.
 */
#define TAG_LISTEN 1
#define TAG_TIMER  2
#define TAG_KICK   3

/* Rate-limited problems, each logged at most once per LOG_EVERY_MS (vsock.c). */
enum vsock_error {
	ERR_SHORT,  /* tx chain without a whole header */
	ERR_LEN,    /* header len past the chain or above VSOCK_MAX_PKT */
	ERR_CID,    /* wrong src_cid or dst_cid */
	ERR_TYPE,   /* not a stream packet */
	ERR_OP,	    /* unknown op */
	ERR_STATE,  /* op not valid for the connection (or no connection) */
	ERR_CREDIT, /* guest sent past the credit it was given */
	ERR_LIMIT,  /* max_conns reached */
	ERR_RXBUF,  /* unusable rx buffer */
	ERR_HOST,   /* host socket error */
	ERR_RING,   /* RST dropped: no rx buffers for too long */
	ERR_KINDS
};
_Static_assert(ERR_KINDS <= VLOG_KINDS, "one vlog_limit slot per kind");

enum conn_state {
	ST_LINE,	/* host-initiated: reading "CONNECT <port>\n" */
	ST_REQUESTING,	/* host-initiated: REQUEST to the guest, awaiting RESPONSE */
	ST_ESTABLISHED, /* data flows */
	ST_CLOSING,	/* sent SHUTDOWN(both) after host hangup, awaiting RST */
	ST_DRAINING,	/* guest closed, flushing buffered bytes to the host; no ports */
	ST_DEAD,	/* closed, freed at the end of the current entry point */
};

/* Control packets a connection owes the guest. */
#define PEND_REQUEST	    0x01u
#define PEND_RESPONSE	    0x02u
#define PEND_CREDIT_UPDATE  0x04u
#define PEND_CREDIT_REQUEST 0x08u
#define PEND_SHUTDOWN	    0x10u

struct conn {
	struct conn *hnext;		/* hash chain */
	struct conn *prev, *next;	/* every connection */
	struct conn *rq_prev, *rq_next; /* rx service queue */
	bool in_rxq;
	int fd;
	enum conn_state state;
	uint32_t host_port, guest_port;
	uint32_t armed;	     /* events armed (EPOLLONESHOT); 0 once fired */
	bool readable;	     /* EPOLLIN seen and not yet drained */
	bool host_eof;	     /* read returned 0 */
	bool host_hup;	     /* the host side hung up both ways */
	uint32_t guest_shut; /* VSOCK_SHUTDOWN_* the guest sent */
	uint32_t pending;    /* PEND_* */
	uint32_t shut_flags; /* for PEND_SHUTDOWN */
	bool credit_requested;
	/* host -> guest: what the guest allows us */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool peer_bogus; /* the last fwd_cnt went back or past tx_cnt: no credit */
	/* guest -> host: what we allow the guest */
	uint32_t rx_cnt, fwd_cnt, fwd_sent;
	uint8_t *buf; /* ring of VSOCK_CONN_BUF bytes, allocated while non-empty */
	uint32_t buf_head, buf_len;
	uint32_t unacct; /* bytes at the ring's head that are not guest data ("OK ...") */
	char line[VSOCK_CONNECT_LINE_MAX];
	unsigned int line_len;
	uint64_t deadline; /* ms, CLOCK_MONOTONIC; 0: none */
};

/* vsock_conn_tag: (c)'s tag in the monitor's loop. vsock_tag_conn: the connection it names. */
static inline uint64_t vsock_conn_tag(const struct conn *c)
{
	return (uint64_t)(uintptr_t)c;
}

static inline struct conn *vsock_tag_conn(uint64_t tag)
{
	// NOLINTNEXTLINE(performance-no-int-to-ptr): the loop gives back the address it was given
	return (struct conn *)(uintptr_t)tag;
}

struct rst {
	uint32_t host_port, guest_port;
};

struct vsock {
	uint32_t guest_cid;
	char *path;
	uint32_t timeout_ms, line_timeout_ms;
	int listen_fd, timer_fd, kick_fd;
	struct virtio_watcher w; /* the monitor's loop, from vsock_attach */
	bool timer_on, listen_paused;
	struct virtio_mmio_dev *t; /* set between activate and reset */

	struct conn *buckets[HASH_SIZE];
	struct conn *all;		/* every live connection */
	struct conn *rq_head, *rq_tail; /* connections with something for the guest */
	struct conn *grave;		/* killed, its socket not yet closed */
	unsigned int nconns;
	unsigned int max_conns; /* host sockets at once: what the process can afford */
	uint32_t next_port;

	struct rst rsts[RST_RING];
	unsigned int rst_head, rst_len;
	/*
	 * The port pairs of the last connections that ended while the guest
	 * knew them: packets it sent before it heard of the end still arrive,
	 * and get their RST without a warning each.
	 */
	struct rst gone[RECENT_GONE];
	unsigned int gone_next;

	bool have_rx; /* rx_chain popped and unused */
	struct virtq_chain rx_chain;
	struct virtq_chain tx_chain;
	bool reset_event; /* TRANSPORT_RESET owed to the driver (restored from a snapshot) */
	struct virtq_chain ev_chain;

	struct vlog_limit log; /* each kind of problem logged at most once per LOG_EVERY_MS */
	/* Where it counts: the monitor's group (dev_metrics.h), or (own). */
	struct vsock_metrics *metrics;
	struct vsock_metrics own;
	struct {
		uint64_t cid;
	} __attribute__((packed)) cfg;
};

/* vsock.c: packets into the rx chain. */

/* vsock_fill_hdr: (h) for a packet from the host's (host_port) to the guest's (guest_port). */
void vsock_fill_hdr(const struct vsock *v, struct virtio_vsock_hdr *h, uint32_t host_port,
		    uint32_t guest_port, uint16_t op);
/* vsock_put_hdr: write (h) at the start of the rx chain; the bytes written. */
uint32_t vsock_put_hdr(struct vsock *v, struct virtio_vsock_hdr *h);

/* vsock_conn.c: one connection. */

/* vsock_peer_credit: take the guest's buf_alloc and fwd_cnt for (c), unless they are bogus. */
void vsock_peer_credit(struct conn *c, uint32_t buf_alloc, uint32_t fwd_cnt);
/* vsock_credit: bytes the guest can take on (c) now. */
uint32_t vsock_credit(const struct conn *c);
/* vsock_conn_update: after anything changed (c): its place in the rx queue, its armed events. */
void vsock_conn_update(struct vsock *v, struct conn *c);
/* vsock_guest_response, _shutdown, _rw: the guest's RESPONSE, SHUTDOWN, RW on (c). */
void vsock_guest_response(struct vsock *v, struct conn *c);
void vsock_guest_shutdown(struct vsock *v, struct conn *c, uint32_t flags);
void vsock_guest_rw(struct vsock *v, struct conn *c, const struct virtio_vsock_hdr *h);
/* vsock_conn_emit: the next packet (c) owes the guest, into the rx chain: its length, or 0. */
uint32_t vsock_conn_emit(struct vsock *v, struct conn *c);
/* vsock_conn_event: (events) from the loop on (c)'s host socket. */
void vsock_conn_event(struct vsock *v, struct conn *c, uint32_t events);

/* vsock_mux.c: the host side. */

/* vsock_set_deadline: end (c) in (ms) unless it moves on; starts the timer. */
void vsock_set_deadline(struct vsock *v, struct conn *c, uint32_t ms);
/* vsock_hash_del: take (c) out of the connection table (it keeps its socket). */
void vsock_hash_del(struct vsock *v, struct conn *c);
/* vsock_rxq_add, vsock_rxq_del: (c) joins or leaves the queue of those owing the guest. */
void vsock_rxq_add(struct vsock *v, struct conn *c);
void vsock_rxq_del(struct vsock *v, struct conn *c);
/* vsock_rst_queue: an RST from (host_port) to the guest's (guest_port); (stray): no connection. */
void vsock_rst_queue(struct vsock *v, uint32_t host_port, uint32_t guest_port, bool stray);
/*
 * vsock_conn_kill: forget (c); vsock_reap closes its socket and frees it
 * later, on the VMM thread. vsock_conn_reset also owes the guest an RST when
 * it knows (c); vsock_conn_abort is a reset that counts as a failure;
 * vsock_conn_drop a kill that does.
 */
void vsock_conn_kill(struct vsock *v, struct conn *c);
void vsock_conn_reset(struct vsock *v, struct conn *c);
void vsock_conn_abort(struct vsock *v, struct conn *c);
void vsock_conn_drop(struct vsock *v, struct conn *c);
/* vsock_reap: close and free what vsock_conn_kill forgot (VMM thread). */
void vsock_reap(struct vsock *v);
/* vsock_read_line: read (c)'s CONNECT line; once whole, REQUEST the guest. */
void vsock_read_line(struct vsock *v, struct conn *c);
/* vsock_accept_all: the listening socket is readable: take what connected. */
void vsock_accept_all(struct vsock *v);
/* vsock_expire: the timer ticked: end what waited too long. */
void vsock_expire(struct vsock *v);
/* vsock_packet: one guest packet from the tx queue, header first: check it, route it. */
void vsock_packet(struct vsock *v, const struct virtq_chain *ch);
/* vsock_listen: bind and listen on (path), a stale socket replaced: the fd, or -errno. */
int vsock_listen(const char *path, struct vlog_err *err);

#endif /* EMBER_VIRTIO_VSOCK_IMPL_H */
