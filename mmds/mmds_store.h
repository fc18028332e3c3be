/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_store.h: the microVM metadata service's data store (Firecracker's
 * MMDS): one JSON document per VM, which the host replaces (PUT /mmds),
 * merges into (PATCH /mmds, a JSON merge patch, RFC 7396) and reads (GET
 * /mmds), and which the guest reads key by key over HTTP (mmds_http.h). It
 * also holds what the guest side needs besides the document: the version
 * (V1 or V2, whose GETs need a session token), EC2 IMDS compatibility and
 * the session tokens (mmds_token.h).
 *
 * The document never grows past the limit given at creation (Firecracker's
 * --mmds-size-limit), measured as its compact JSON text: a PUT or PATCH
 * that would exceed it is refused and changes nothing.
 *
 * Thread-safe: one lock guards everything, so the API's writer and every
 * interface's reader see whole documents only. Time comes from the clock
 * given at creation (ms; tests pass their own to expire tokens).
 */
#ifndef EMBER_MMDS_STORE_H
#define EMBER_MMDS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmds_token.h"

/* Firecracker's default data store limit: its default API payload limit. */
#define MMDS_DEFAULT_LIMIT 51200

enum mmds_version { MMDS_V1, MMDS_V2 };

/* mmds_clock_fn: a monotonic clock in milliseconds. */
typedef uint64_t (*mmds_clock_fn)(void *opaque);

struct mmds_store;

/*
 * mmds_store_create: an empty store (version V1, no IMDS compatibility) of
 * at most (limit) bytes of document; (clock) NULL: CLOCK_MONOTONIC. NULL
 * when out of memory.
 */
struct mmds_store *mmds_store_create(size_t limit, mmds_clock_fn clock, void *clock_opaque);

/* mmds_store_destroy: release (s) (NULL is fine). No reader may be left. */
void mmds_store_destroy(struct mmds_store *s);

/* mmds_store_set_mode: the version and IMDS compatibility the guest side follows. */
void mmds_store_set_mode(struct mmds_store *s, enum mmds_version version, bool imds_compat);

/* mmds_store_version: the version set (V1 by default). */
enum mmds_version mmds_store_version(struct mmds_store *s);

/* mmds_store_now_ms: the store's clock. */
uint64_t mmds_store_now_ms(struct mmds_store *s);

/*
 * mmds_store_put / mmds_store_patch: replace the document with the JSON text
 * (text, len), or merge that text into it (RFC 7396). Return 0, or -EINVAL
 * (not JSON), -EFBIG (the result would exceed the limit), -ENOENT (a patch
 * before any put: nothing to merge into), -ENOMEM; (err, errsz) says why.
 */
int mmds_store_put(struct mmds_store *s, const char *text, size_t len, char *err, size_t errsz);
int mmds_store_patch(struct mmds_store *s, const char *text, size_t len, char *err, size_t errsz);

/* mmds_store_dump: the whole document as compact JSON ("{}" before any put), malloc'd; NULL: no
 * memory. */
char *mmds_store_dump(struct mmds_store *s);

enum mmds_lookup {
	MMDS_LOOKUP_OK,
	MMDS_LOOKUP_NOT_FOUND,	 /* no such key */
	MMDS_LOOKUP_UNSUPPORTED, /* neither a string nor an object, asked for as text */
	MMDS_LOOKUP_NOMEM,
};

/*
 * mmds_store_lookup: the value at URI path (path, len) (a JSON pointer,
 * RFC 6901, after runs of '/' are squeezed and one trailing '/' dropped).
 * As JSON when (want_json) and the store is not in IMDS compatibility mode,
 * else as IMDS text: a string's bytes, an object's keys one per line (sorted,
 * a '/' after those holding objects, no final newline). On OK (*out) is the
 * malloc'd body of (*out_len) bytes and (*as_json) says which format it is.
 */
enum mmds_lookup mmds_store_lookup(struct mmds_store *s, const char *path, size_t len,
				   bool want_json, char **out, size_t *out_len, bool *as_json);

/* mmds_store_issue_token: mmds_tokens_issue on the store's table and clock. */
int mmds_store_issue_token(struct mmds_store *s, uint64_t ttl_s, char out[MMDS_TOKEN_TEXT]);

/* mmds_store_token_valid: mmds_tokens_valid on the store's table and clock. */
bool mmds_store_token_valid(struct mmds_store *s, const char *text, size_t len);

#endif /* EMBER_MMDS_STORE_H */
