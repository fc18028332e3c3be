/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_stack_impl.h: what mmds_stack.c (frames, ARP, IPv4, the output
 * queue) and mmds_tcp.c (connections) share. Internal to mmds/.
 */
#ifndef EMBER_MMDS_STACK_IMPL_H
#define EMBER_MMDS_STACK_IMPL_H

#include "mmds_http.h"
#include "mmds_stack.h"
#include "mmds_wire.h"

#define CTRL_FRAME_MAX                                                                             \
	(ETH_HDR_LEN + IP_HDR_MIN + TCP_HDR_MIN) /* an RST; ARP replies are smaller */

struct mmds_conn {
	bool used;
	bool established; /* the guest acknowledged our SYN */
	bool synack_due;  /* (re)send the SYN-ACK */
	bool ack_due;	  /* the guest sent something to acknowledge */
	bool fin_rcvd;	  /* the guest closed its side (rcv_nxt counts its FIN) */
	bool close_after; /* send FIN once the response is out */
	bool fin_sent;	  /* our FIN is out at fin_seq (and not to be sent again) */
	bool fin_out;	  /* our FIN went at least once: fin_seq holds */
	uint8_t mac[ETH_ADDR_LEN];
	uint32_t ip;
	uint16_t port;
	uint16_t mss; /* what we send per segment */
	uint32_t iss, rcv_nxt, snd_una, snd_nxt;
	uint32_t snd_max; /* the highest seq sent: acknowledgements up to it count */
	uint32_t fin_seq;
	uint32_t snd_wnd;		/* the guest's window (no scaling: we offer none) */
	uint32_t tx_seq0;		/* seq of resp.data[tx_off] */
	size_t tx_off;			/* bytes of the response acknowledged */
	struct mmds_http_response resp; /* data NULL: none */
	uint64_t last_ms;		/* last segment from the guest */
	uint64_t sent_ms;		/* when unacknowledged data last went */
	size_t rx_len;
	uint8_t rx[MMDS_HTTP_REQUEST_MAX];
};

struct mmds_stack {
	struct mmds_store *store;
	uint32_t ip;
	uint8_t mac[ETH_ADDR_LEN];
	/* Where it counts: the monitor's group (mmds_stats.h), or (own). */
	struct mmds_stats *st;
	struct mmds_stats own;
	uint16_t ip_id;
	uint32_t isn;
	/* Control frames (ARP replies, resets), oldest first. */
	uint8_t ctrl[MMDS_STACK_CTRL_MAX][CTRL_FRAME_MAX];
	uint16_t ctrl_len[MMDS_STACK_CTRL_MAX];
	unsigned int ctrl_first, ctrl_n;
	unsigned int rr; /* the connection to look at first for output */
	struct mmds_conn conns[MMDS_STACK_MAX_CONNS];
};

/* A TCP segment to build. */
struct tcp_seg {
	const uint8_t *mac; /* the guest's */
	uint32_t ip;
	uint16_t port;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss_opt; /* 0: no option */
	const uint8_t *data;
	size_t len;
};

/* build_tcp: (seg) as a whole frame from MMDS in (buf, cap): its length, 0 if it does not fit. */
size_t build_tcp(struct mmds_stack *s, uint8_t *buf, size_t cap, const struct tcp_seg *seg);

/* queue_ctrl: (frame, len) to the control queue, or count it dropped. */
void queue_ctrl(struct mmds_stack *s, const uint8_t *frame, size_t len);

/*
 * tcp_input: a TCP segment (tcp, len) from the guest (mac, ip), checksum
 * and lengths already checked.
 */
void tcp_input(struct mmds_stack *s, const uint8_t *mac, uint32_t ip, const uint8_t *tcp,
	       size_t len);

/* tcp_output: the next segment of any connection into (buf, cap): its length, or 0. */
size_t tcp_output(struct mmds_stack *s, uint8_t *buf, size_t cap);

/* tcp_pending: whether tcp_output would give a segment now. */
bool tcp_pending(struct mmds_stack *s);

/* tcp_destroy_all: release every connection's buffers. */
void tcp_destroy_all(struct mmds_stack *s);

#endif /* EMBER_MMDS_STACK_IMPL_H */
