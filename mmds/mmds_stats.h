/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_stats.h: what MMDS saw, as Firecracker's MmdsMetrics group, declared
 * once: the list of its fields in Firecracker's order (an X-macro) and the
 * struct it makes; the monitor renders the group as the list says. "rx" is
 * what the guest sent to MMDS, "tx" what MMDS sent back. A stack counts
 * into the group it is handed (mmds_stack.h), some counts made by the HTTP
 * layer it calls (mmds_http.h); every interface's stack may share one
 * group, which then sums them. Counts are relaxed atomic adds
 * (mmds_stats_add), so the monitor may read a group at any time.
 */
#ifndef EMBER_MMDS_STATS_H
#define EMBER_MMDS_STATS_H

#include <stdint.h>

// clang-format off
#define MMDS_STATS(X)                                                                              \
	X(rx_accepted)           /* frames for MMDS, consumed */                                   \
	X(rx_accepted_err)       /* ... of which malformed (bad length, checksum, fragment) */     \
	X(rx_accepted_unusual)   /* ... unexpected: other protocol or port, no connection */       \
	X(rx_bad_eth)            /* frames too short for an Ethernet header */                     \
	X(rx_invalid_token)      /* GETs naming a token that is unknown or expired */              \
	X(rx_no_token)           /* GETs naming none */                                            \
	X(rx_count)              /* HTTP requests */                                               \
	X(tx_bytes)              /* bytes of frames for the guest */                               \
	X(tx_count)              /* HTTP responses */                                              \
	X(tx_errors)             /* replies MMDS had to drop (its small queue was full) */         \
	X(tx_frames)             /* frames for the guest */                                        \
	X(connections_created)                                                                     \
	X(connections_destroyed)
// clang-format on

#define MMDS_STATS_FIELD(n) uint64_t n;

struct mmds_stats {
	MMDS_STATS(MMDS_STATS_FIELD)
};

/* mmds_stats_add: add (n) to counter (c). Any thread. */
static inline void mmds_stats_add(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

#endif /* EMBER_MMDS_STATS_H */
