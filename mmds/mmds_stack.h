/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_stack.h: MMDS's network stack on one guest interface (Firecracker's
 * "Dumbo"): the frames the guest sends to the MMDS address are taken out of
 * its traffic and answered here, everything else passes untouched.
 *
 *   ARP    a request for the MMDS address gets a reply with MMDS's MAC.
 *   IPv4   to the MMDS address, unfragmented, checksum right; TCP only.
 *   TCP    a passive-open server on port 80 (RFC 793, small): SYN -> SYN-ACK,
 *          in-order data acknowledged, responses sent within the guest's
 *          window and MSS, FIN both ways, RST for what has no connection.
 *          Unacknowledged data is sent again when the guest acknowledges the
 *          same point twice or MMDS_STACK_RTO_MS pass without progress.
 *   HTTP   one request at a time per connection (mmds_http.h).
 *
 * Everything the guest can make it hold is bounded: MMDS_STACK_MAX_CONNS
 * connections (a new one when all are taken replaces one idle for
 * MMDS_STACK_IDLE_MS, else is reset), MMDS_HTTP_REQUEST_MAX bytes of request
 * per connection, one response per connection (at most the store's limit
 * plus a head), MMDS_STACK_CTRL_MAX queued control frames (ARP replies,
 * resets; more are dropped and counted in tx_errors). Malformed frames for
 * MMDS are dropped and counted (mmds_stats.h), never answered.
 *
 * Replies are made when asked for (mmds_stack_guest_rx), so nothing is lost
 * while the guest has no receive buffer. Not thread-safe: one thread (the
 * interface's device thread) calls everything on a stack.
 */
#ifndef EMBER_MMDS_STACK_H
#define EMBER_MMDS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmds_stats.h"
#include "mmds_store.h"

#define MMDS_STACK_MAX_CONNS 30	  /* as Firecracker's */
#define MMDS_STACK_CTRL_MAX  16	  /* ARP replies and resets waiting for the guest */
#define MMDS_STACK_RTO_MS    1000 /* unacknowledged data goes again after this */
#define MMDS_STACK_IDLE_MS   5000 /* a connection this quiet may be replaced when all are taken */
#define MMDS_STACK_MSS	     1460 /* the most TCP payload per frame we send */
#define MMDS_STACK_PORT	     80
/* The largest frame the stack hands out: Ethernet, IPv4 and TCP headers with an option, MSS. */
#define MMDS_STACK_FRAME_MAX (14 + 20 + 24 + MMDS_STACK_MSS)

/* Firecracker's defaults: 169.254.169.254, and MMDS's own MAC 06:01:23:45:67:01. */
#define MMDS_DEFAULT_IPV4 0xa9fea9feU
#define MMDS_DEFAULT_MAC                                                                           \
	{                                                                                          \
		0x06, 0x01, 0x23, 0x45, 0x67, 0x01                                                 \
	}

struct mmds_stack_config {
	uint32_t ipv4;		  /* the MMDS address, host byte order */
	uint8_t mac[6];		  /* MMDS's MAC, what its ARP replies say */
	struct mmds_stats *stats; /* its group (mmds_stats.h), may be shared; NULL: its own */
};

struct mmds_stack;

/*
 * mmds_stack_create: a stack answering for (cfg) from (store), which must
 * outlive it. NULL when out of memory.
 */
struct mmds_stack *mmds_stack_create(struct mmds_store *store, const struct mmds_stack_config *cfg);

/* mmds_stack_destroy: release (s) and its connections (NULL is fine). */
void mmds_stack_destroy(struct mmds_stack *s);

/*
 * mmds_stack_guest_tx: the guest sent the Ethernet frame (frame, len) (no
 * FCS, checksums complete). true when it was MMDS's (ARP for, or IPv4 to,
 * the MMDS address): consumed, it must not reach the tap. false: pass it on.
 */
bool mmds_stack_guest_tx(struct mmds_stack *s, const uint8_t *frame, size_t len);

/* Bytes of a frame mmds_stack_may_take needs: Ethernet and an ARP body. */
#define MMDS_STACK_PEEK_LEN 42

/*
 * mmds_stack_may_take: whether a frame starting with (head, len) (its first
 * MMDS_STACK_PEEK_LEN bytes, or all of a shorter one) could be MMDS's, so
 * that the device copies a whole frame only for those: false for IPv4 to
 * another address and ARP for another address, true for anything
 * mmds_stack_guest_tx must see to count or take.
 */
bool mmds_stack_may_take(const struct mmds_stack *s, const uint8_t *head, size_t len);

/*
 * mmds_stack_guest_rx: the next frame for the guest, written to (buf, cap):
 * its length, or 0 when there is none (or (cap) is below
 * MMDS_STACK_FRAME_MAX, counted as a tx error). A frame handed out is gone.
 */
size_t mmds_stack_guest_rx(struct mmds_stack *s, uint8_t *buf, size_t cap);

/* mmds_stack_has_rx: whether mmds_stack_guest_rx would hand out a frame now. */
bool mmds_stack_has_rx(struct mmds_stack *s);

#endif /* EMBER_MMDS_STACK_H */
