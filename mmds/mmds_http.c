// SPDX-License-Identifier: Apache-2.0
/* mmds_http.c: one guest HTTP request -> one response, by Firecracker's MMDS rules. */
#include "mmds_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEAD_END	"\r\n\r\n"
#define HEAD_END_LEN	4
#define LINE_END_LEN	2
#define STATUS_LINE_MAX 64
#define HEADERS_MAX	256 /* our response head, without the status line */
#define TOKEN_PATH	"/latest/api/token"
#define DEC_BASE	10
#define TTL_DIGITS_MAX	10 /* more digits than any u32 */

enum http_status {
	HTTP_OK = 200,
	HTTP_BAD_REQUEST = 400,
	HTTP_UNAUTHORIZED = 401,
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405,
	HTTP_INTERNAL_ERROR = 500,
	HTTP_NOT_IMPLEMENTED = 501,
};

/* A slice of the request. */
struct span {
	const char *p;
	size_t len;
};

/* What a request says that MMDS reads. */
struct head {
	struct span method, target, version;
	struct span accept, token, ttl, connection;
	bool has_token, has_ttl, forwarded, has_length, chunked;
	size_t content_length;
	size_t head_len; /* through the blank line */
};

static bool is(struct span s, const char *word)
{
	return s.len == strlen(word) && memcmp(s.p, word, s.len) == 0;
}

static bool is_nocase(struct span s, const char *word)
{
	return s.len == strlen(word) && strncasecmp(s.p, word, s.len) == 0;
}

/* contains_nocase: (word) occurs in (s), any case. */
static bool contains_nocase(struct span s, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= s.len; i++)
		if (strncasecmp(s.p + i, word, n) == 0)
			return true;
	return false;
}

static struct span trim(const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return (struct span){p, len};
}

/* find: (needle) in (p, len) from (from); its offset, or (len) when absent. */
static size_t find(const char *p, size_t len, size_t from, const char *needle, size_t n)
{
	for (size_t i = from; i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return i;
	return len;
}

/* parse_u64: all digits, at most (max_digits), into (*out). */
static bool parse_u64(struct span s, size_t max_digits, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0 || s.len > max_digits)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * DEC_BASE + (uint64_t)(s.p[i] - '0');
	}
	*out = v;
	return true;
}

/* header: one "Name: value" line of (line, len) into (h). false when malformed. */
static bool header(struct head *h, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	uint64_t n;

	if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
		return false;
	struct span name = {line, (size_t)(colon - line)};
	struct span value = trim(colon + 1, len - name.len - 1);
	if (memchr(name.p, ' ', name.len) != NULL || memchr(name.p, '\t', name.len) != NULL)
		return false;
	if (is_nocase(name, "Accept")) {
		h->accept = value;
	} else if (is_nocase(name, "X-metadata-token") ||
		   is_nocase(name, "X-aws-ec2-metadata-token")) {
		h->token = value;
		h->has_token = true;
	} else if (is_nocase(name, "X-metadata-token-ttl-seconds") ||
		   is_nocase(name, "X-aws-ec2-metadata-token-ttl-seconds")) {
		h->ttl = value;
		h->has_ttl = true;
	} else if (is_nocase(name, "X-Forwarded-For")) {
		h->forwarded = true;
	} else if (is_nocase(name, "Connection")) {
		h->connection = value;
	} else if (is_nocase(name, "Content-Length")) {
		if (!parse_u64(value, TTL_DIGITS_MAX, &n) || n > MMDS_HTTP_REQUEST_MAX)
			return false;
		h->has_length = true;
		h->content_length = (size_t)n;
	} else if (is_nocase(name, "Transfer-Encoding")) {
		h->chunked = true;
	}
	return true;
}

/*
 * parse_head: the request line and headers of (buf, len). 1: whole and well
 * formed; 0: the blank line has not come yet; -1: malformed.
 */
static int parse_head(const char *buf, size_t len, struct head *h)
{
	size_t end = find(buf, len, 0, HEAD_END, HEAD_END_LEN);
	size_t line_end, sp1, sp2;

	memset(h, 0, sizeof(*h));
	if (end == len)
		return len >= MMDS_HTTP_REQUEST_MAX ? -1 : 0;
	h->head_len = end + HEAD_END_LEN;
	line_end = find(buf, end + LINE_END_LEN, 0, "\r\n", LINE_END_LEN);
	sp1 = find(buf, line_end, 0, " ", 1);
	sp2 = sp1 < line_end ? find(buf, line_end, sp1 + 1, " ", 1) : line_end;
	if (sp1 == 0 || sp1 >= line_end || sp2 >= line_end || sp2 == sp1 + 1 ||
	    find(buf, line_end, sp2 + 1, " ", 1) != line_end)
		return -1;
	h->method = (struct span){buf, sp1};
	h->target = (struct span){buf + sp1 + 1, sp2 - sp1 - 1};
	h->version = (struct span){buf + sp2 + 1, line_end - sp2 - 1};
	if (!is(h->version, "HTTP/1.1") && !is(h->version, "HTTP/1.0"))
		return -1;
	for (size_t at = line_end + LINE_END_LEN; at < end + LINE_END_LEN;) {
		size_t eol = find(buf, end + LINE_END_LEN, at, "\r\n", LINE_END_LEN);
		if (!header(h, buf + at, eol - at))
			return -1;
		at = eol + LINE_END_LEN;
	}
	if (h->chunked)
		return -1;
	return 1;
}

long mmds_http_frame(const uint8_t *buf, size_t len)
{
	struct head h;
	int ret = parse_head((const char *)buf, len, &h);

	if (ret <= 0)
		return ret;
	if (h.content_length > MMDS_HTTP_REQUEST_MAX - h.head_len)
		return -1;
	if (len < h.head_len + h.content_length)
		return 0;
	return (long)(h.head_len + h.content_length);
}

static const char *reason(int status)
{
	switch (status) {
	case HTTP_OK:
		return "OK";
	case HTTP_BAD_REQUEST:
		return "Bad Request";
	case HTTP_UNAUTHORIZED:
		return "Unauthorized";
	case HTTP_NOT_FOUND:
		return "Not Found";
	case HTTP_METHOD_NOT_ALLOWED:
		return "Method Not Allowed";
	case HTTP_NOT_IMPLEMENTED:
		return "Not Implemented";
	default:
		return "Internal Server Error";
	}
}

/*
 * build: the response (status, body) in (version) ("HTTP/1.1" when NULL);
 * 0 or -ENOMEM. (body) is copied.
 */
static int build(struct mmds_http_response *out, const struct head *h, int status, bool json,
		 const char *body, size_t body_len)
{
	char head[STATUS_LINE_MAX + HEADERS_MAX];
	const char *version = h != NULL && is(h->version, "HTTP/1.0") ? "HTTP/1.0" : "HTTP/1.1";
	int n;

	n = snprintf(head, sizeof(head),
		     "%s %d %s\r\nServer: ember MMDS\r\nContent-Type: %s\r\nContent-Length: "
		     "%zu\r\n%s%s\r\n",
		     version, status, reason(status), json ? "application/json" : "text/plain",
		     body_len, status == HTTP_METHOD_NOT_ALLOWED ? "Allow: GET, PUT\r\n" : "",
		     out->close ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENOMEM;
	out->data = malloc((size_t)n + body_len);
	if (out->data == NULL)
		return -ENOMEM;
	memcpy(out->data, head, (size_t)n);
	if (body_len > 0)
		memcpy(out->data + n, body, body_len);
	out->len = (size_t)n + body_len;
	return 0;
}

static int text(struct mmds_http_response *out, const struct head *h, int status, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

/* text: a plain-text response of (fmt, ...), at most MMDS_HTTP_REQUEST_MAX bytes. */
static int text(struct mmds_http_response *out, const struct head *h, int status, const char *fmt,
		...)
{
	char body[MMDS_HTTP_REQUEST_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return build(out, h, status, false, body,
		     (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

int mmds_http_refuse(struct mmds_http_response *out)
{
	memset(out, 0, sizeof(*out));
	out->close = true;
	return text(out, NULL, HTTP_BAD_REQUEST,
		    "Invalid request: a malformed HTTP request, or "
		    "one larger than %d bytes.",
		    MMDS_HTTP_REQUEST_MAX);
}

/*
 * uri_path: the path of (target): an absolute-form "http://host/path" loses
 * its scheme and host, a query its '?...'. false when no path is left.
 */
static bool uri_path(struct span target, struct span *path)
{
	static const char scheme[] = "http://";
	struct span t = target;

	if (t.len >= sizeof(scheme) - 1 && strncasecmp(t.p, scheme, sizeof(scheme) - 1) == 0) {
		const char *slash =
		    memchr(t.p + sizeof(scheme) - 1, '/', t.len - (sizeof(scheme) - 1));
		if (slash == NULL)
			return false;
		t = (struct span){slash, t.len - (size_t)(slash - t.p)};
	}
	if (t.len == 0 || t.p[0] != '/')
		return false;
	const char *q = memchr(t.p, '?', t.len);
	if (q != NULL)
		t.len = (size_t)(q - t.p);
	*path = t;
	return true;
}

/* is_token_path: (path) with runs of '/' squeezed is TOKEN_PATH. */
static bool is_token_path(struct span path)
{
	const char *want = TOKEN_PATH;
	size_t k = 0, n = strlen(want);

	for (size_t i = 0; i < path.len; i++) {
		if (path.p[i] == '/' && i > 0 && path.p[i - 1] == '/')
			continue;
		if (k == n || path.p[i] != want[k])
			return false;
		k++;
	}
	return k == n;
}

static int put_token(struct mmds_store *s, const struct head *h, struct span path,
		     struct mmds_http_response *out)
{
	char token[MMDS_TOKEN_TEXT];
	uint64_t ttl;

	if (h->forwarded)
		return text(
		    out, h, HTTP_BAD_REQUEST,
		    "Invalid header. Reason: Unsupported header name. Key: X-Forwarded-For");
	if (!is_token_path(path))
		return text(out, h, HTTP_NOT_FOUND, "Resource not found: %.*s.", (int)path.len,
			    path.p);
	if (!h->has_ttl)
		return text(
		    out, h, HTTP_BAD_REQUEST,
		    "Token time to live value not found. Use `X-metadata-token-ttl-seconds` "
		    "or `X-aws-ec2-metadata-token-ttl-seconds` header to specify the "
		    "token's lifetime.");
	if (!parse_u64(h->ttl, TTL_DIGITS_MAX, &ttl))
		return text(
		    out, h, HTTP_BAD_REQUEST,
		    "Invalid header. Reason: Invalid value. Key:X-metadata-token-ttl-seconds; "
		    "Value:%.*s",
		    (int)h->ttl.len, h->ttl.p);
	int ret = mmds_store_issue_token(s, ttl, token);
	if (ret == -EINVAL)
		return text(out, h, HTTP_BAD_REQUEST,
			    "Invalid time to live value provided for token: %llu. Please provide a "
			    "value between %d and %d.",
			    (unsigned long long)ttl, MMDS_TOKEN_TTL_MIN, MMDS_TOKEN_TTL_MAX);
	if (ret < 0)
		return text(out, h, HTTP_INTERNAL_ERROR, "No randomness for a token: try again.");
	return build(out, h, HTTP_OK, false, token, sizeof(token));
}

static int get(struct mmds_store *s, struct mmds_stats *st, const struct head *h, struct span path,
	       struct mmds_http_response *out)
{
	bool valid = h->has_token && mmds_store_token_valid(s, h->token.p, h->token.len);
	bool json = contains_nocase(h->accept, "application/json"), as_json;
	char *body;
	size_t body_len;

	if (!h->has_token)
		mmds_stats_add(&st->rx_no_token, 1);
	else if (!valid)
		mmds_stats_add(&st->rx_invalid_token, 1);
	/* V1 answers without a token, or with a bad one, not to break old guests. */
	if (!valid && mmds_store_version(s) == MMDS_V2)
		return text(out, h, HTTP_UNAUTHORIZED, "%s",
			    h->has_token ? "MMDS token not valid."
					 : "No MMDS token provided. Use `X-metadata-token` or "
					   "`X-aws-ec2-metadata-token` header to specify the "
					   "session token.");
	switch (mmds_store_lookup(s, path.p, path.len, json, &body, &body_len, &as_json)) {
	case MMDS_LOOKUP_OK: {
		int ret = build(out, h, HTTP_OK, as_json, body, body_len);
		free(body);
		return ret;
	}
	case MMDS_LOOKUP_NOT_FOUND:
		return text(out, h, HTTP_NOT_FOUND, "Resource not found: %.*s.", (int)path.len,
			    path.p);
	case MMDS_LOOKUP_UNSUPPORTED:
		return text(out, h, HTTP_NOT_IMPLEMENTED,
			    "Cannot retrieve value. The value has an unsupported type.");
	default:
		return -ENOMEM;
	}
}

int mmds_http_respond(struct mmds_store *s, struct mmds_stats *st, const uint8_t *req, size_t len,
		      struct mmds_http_response *out)
{
	struct head h;
	struct span path;
	int ret;

	memset(out, 0, sizeof(*out));
	mmds_stats_add(&st->rx_count, 1);
	if (parse_head((const char *)req, len, &h) != 1)
		return mmds_http_refuse(out);
	/* HTTP/1.0 closes unless asked to keep alive; HTTP/1.1 stays unless asked to close. */
	if (is(h.version, "HTTP/1.0"))
		out->close = !contains_nocase(h.connection, "keep-alive");
	else
		out->close = contains_nocase(h.connection, "close");
	if (!uri_path(h.target, &path)) {
		out->close = true;
		ret = text(out, &h, HTTP_BAD_REQUEST, "Invalid URI.");
	} else if (is(h.method, "GET")) {
		ret = get(s, st, &h, path, out);
	} else if (is(h.method, "PUT")) {
		ret = put_token(s, &h, path, out);
	} else {
		ret = text(out, &h, HTTP_METHOD_NOT_ALLOWED, "Not allowed HTTP method.");
	}
	if (ret == 0)
		mmds_stats_add(&st->tx_count, 1);
	return ret;
}
