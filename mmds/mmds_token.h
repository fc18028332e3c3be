/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_token.h: MMDS session tokens (Firecracker's MMDS V2, after EC2's
 * IMDSv2). A guest asks for a token with PUT /latest/api/token and a time to
 * live of 1..21600 seconds; every GET then names it. A token is 32 random
 * bytes (getrandom) written as 64 hex digits, remembered with its expiry in
 * a table of MMDS_TOKENS_MAX: the guest cannot make the monitor hold more.
 * When the table is full, an expired token goes first, else the one that
 * would expire soonest. Time is whatever clock the caller passes (ms).
 * Not thread-safe: the store's lock serialises (mmds_store.h).
 */
#ifndef EMBER_MMDS_TOKEN_H
#define EMBER_MMDS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMDS_TOKEN_TTL_MIN 1	 /* seconds */
#define MMDS_TOKEN_TTL_MAX 21600 /* six hours */
#define MMDS_TOKEN_BYTES   32
#define MMDS_TOKEN_TEXT	   64 /* hex digits of MMDS_TOKEN_BYTES, no NUL */
#define MMDS_TOKENS_MAX	   64

struct mmds_token {
	char text[MMDS_TOKEN_TEXT];
	uint64_t expires_ms; /* 0: free slot */
};

struct mmds_tokens {
	struct mmds_token slot[MMDS_TOKENS_MAX];
};

/*
 * mmds_tokens_issue: a new token valid for (ttl_s) seconds from (now_ms),
 * written to (out) (MMDS_TOKEN_TEXT bytes, no NUL). Returns 0, -EINVAL when
 * (ttl_s) is outside MMDS_TOKEN_TTL_MIN..MAX, -EAGAIN when no randomness.
 */
int mmds_tokens_issue(struct mmds_tokens *t, uint64_t ttl_s, uint64_t now_ms,
		      char out[MMDS_TOKEN_TEXT]);

/* mmds_tokens_valid: (text, len) is a token issued and not expired at (now_ms). */
bool mmds_tokens_valid(const struct mmds_tokens *t, const char *text, size_t len, uint64_t now_ms);

/* mmds_tokens_clear: forget every token. */
void mmds_tokens_clear(struct mmds_tokens *t);

#endif /* EMBER_MMDS_TOKEN_H */
