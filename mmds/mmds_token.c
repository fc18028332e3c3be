// SPDX-License-Identifier: Apache-2.0
/* mmds_token.c: V2 session tokens: random, hex, a bounded table with expiries. */
#include "mmds_token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define MS_PER_S 1000ULL

_Static_assert(MMDS_TOKEN_TEXT == 2 * MMDS_TOKEN_BYTES, "two hex digits a byte");

static const char hex_digits[] = "0123456789abcdef";

/* pick_slot: a free or expired slot, else the one expiring soonest. */
static struct mmds_token *pick_slot(struct mmds_tokens *t, uint64_t now_ms)
{
	struct mmds_token *best = &t->slot[0];

	for (unsigned int i = 0; i < MMDS_TOKENS_MAX; i++) {
		struct mmds_token *s = &t->slot[i];
		if (s->expires_ms <= now_ms)
			return s;
		if (s->expires_ms < best->expires_ms)
			best = s;
	}
	return best;
}

int mmds_tokens_issue(struct mmds_tokens *t, uint64_t ttl_s, uint64_t now_ms,
		      char out[MMDS_TOKEN_TEXT])
{
	uint8_t raw[MMDS_TOKEN_BYTES];
	struct mmds_token *s;

	if (ttl_s < MMDS_TOKEN_TTL_MIN || ttl_s > MMDS_TOKEN_TTL_MAX)
		return -EINVAL;
	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw))
		return -EAGAIN;
	s = pick_slot(t, now_ms);
	for (size_t i = 0; i < MMDS_TOKEN_BYTES; i++) {
		s->text[(size_t)2 * i] = hex_digits[raw[i] >> 4];
		s->text[(size_t)2 * i + 1] = hex_digits[raw[i] & 0xf];
	}
	/* ttl_s is at most six hours: no overflow. */
	s->expires_ms = now_ms + ttl_s * MS_PER_S;
	memcpy(out, s->text, MMDS_TOKEN_TEXT);
	return 0;
}

/* same: compare the whole text whatever differs, so timing says nothing of a prefix. */
static bool same(const char *a, const char *b)
{
	unsigned int diff = 0;

	for (unsigned int i = 0; i < MMDS_TOKEN_TEXT; i++)
		diff |= (unsigned int)(a[i] ^ b[i]);
	return diff == 0;
}

bool mmds_tokens_valid(const struct mmds_tokens *t, const char *text, size_t len, uint64_t now_ms)
{
	bool ok = false;

	if (len != MMDS_TOKEN_TEXT)
		return false;
	for (unsigned int i = 0; i < MMDS_TOKENS_MAX; i++) {
		const struct mmds_token *s = &t->slot[i];
		if (s->expires_ms > now_ms && same(s->text, text))
			ok = true;
	}
	return ok;
}

void mmds_tokens_clear(struct mmds_tokens *t)
{
	memset(t, 0, sizeof(*t));
}
