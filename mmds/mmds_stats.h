/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_stats.h: what one interface's MMDS saw, under Firecracker's
 * MmdsMetrics names ("rx" is what the guest sent to MMDS, "tx" what MMDS
 * sent back). Kept by the stack (mmds_stack.h), some bumped by the HTTP
 * layer it calls (mmds_http.h); read on the stack's thread.
 */
#ifndef EMBER_MMDS_STATS_H
#define EMBER_MMDS_STATS_H

#include <stdint.h>

struct mmds_stats {
	uint64_t rx_accepted;	      /* frames for MMDS, consumed */
	uint64_t rx_accepted_err;     /* ... of which malformed (bad length, checksum, fragment) */
	uint64_t rx_accepted_unusual; /* ... of which unexpected (other protocol or port, no
					 connection) */
	uint64_t rx_bad_eth;	      /* frames too short for an Ethernet header */
	uint64_t rx_invalid_token;    /* GETs naming a token that is unknown or expired */
	uint64_t rx_no_token;	      /* GETs naming none */
	uint64_t rx_count;	      /* HTTP requests */
	uint64_t tx_bytes;	      /* bytes of frames for the guest */
	uint64_t tx_count;	      /* HTTP responses */
	uint64_t tx_errors;	      /* replies MMDS had to drop (its small queue was full) */
	uint64_t tx_frames;	      /* frames for the guest */
	uint64_t connections_created;
	uint64_t connections_destroyed;
};

#endif /* EMBER_MMDS_STATS_H */
