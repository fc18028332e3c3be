/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_http.h: the guest's side of MMDS: HTTP/1.x requests in, responses
 * out, as Firecracker's MMDS answers them (docs/mmds/mmds-user-guide.md):
 *
 *   GET /a/b        the value at JSON pointer /a/b: a string's text, an
 *                   object's keys one per line ('/' after sub-objects), or
 *                   with "Accept: application/json" the JSON itself (not in
 *                   IMDS compatibility mode); 404 when absent, 501 for other
 *                   values as text. V2: 401 without a valid
 *                   X-metadata-token (or X-aws-ec2-metadata-token).
 *   PUT /latest/api/token with X-metadata-token-ttl-seconds (or
 *                   X-aws-ec2-metadata-token-ttl-seconds) 1..21600: a
 *                   session token (text); 400 without it, out of range, or
 *                   with X-Forwarded-For; 404 for any other PUT path.
 *   other methods   405 with "Allow: GET, PUT".
 *
 * Bodies of errors are plain text. Requests are bounded: head and body
 * together at most MMDS_HTTP_REQUEST_MAX bytes; no chunked bodies.
 */
#ifndef EMBER_MMDS_HTTP_H
#define EMBER_MMDS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmds_stats.h"
#include "mmds_store.h"

#define MMDS_HTTP_REQUEST_MAX 4096

struct mmds_http_response {
	char *data; /* malloc'd: status line, headers, body */
	size_t len;
	bool close; /* the connection ends after this response */
};

/*
 * mmds_http_frame: the length of the first request in (buf, len) once it is
 * whole; 0 while more bytes are needed (and could fit); -1 when no more
 * bytes can make it a request we take (too long, a bad head, a body we do
 * not read): answer with mmds_http_refuse.
 */
long mmds_http_frame(const uint8_t *buf, size_t len);

/*
 * mmds_http_respond: the response to the whole request (req, len) from
 * (s), counting into (st). 0, or -ENOMEM (nothing in (out)).
 */
int mmds_http_respond(struct mmds_store *s, struct mmds_stats *st, const uint8_t *req, size_t len,
		      struct mmds_http_response *out);

/* mmds_http_refuse: a 400 response that closes the connection, for what mmds_http_frame refused. */
int mmds_http_refuse(struct mmds_http_response *out);

#endif /* EMBER_MMDS_HTTP_H */
