// SPDX-License-Identifier: Apache-2.0
/* api.c: the API's HTTP/1.1 server on a Unix socket (http_parser), on an evloop. */
#include "api.h"

#include <errno.h>
#include <limits.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config_json.h"
#include "log.h"

#define IN_BUF	  4096
#define HDR_SMALL 32

struct api_conn {
	struct api_server *srv;
	int fd;
	http_parser parser;
	/* The request being read. */
	char url[API_URL_MAX + 1];
	size_t url_len;
	char *body;
	size_t body_len, body_cap;
	char field[HDR_SMALL];
	char value[HDR_SMALL];
	bool in_value;
	bool expect_continue;
	const char *error; /* a bound we enforce was crossed: answer 400 and close */
	bool close_after;
	/* Bytes read but not yet parsed (a request waits for its answer to go out). */
	char in[IN_BUF];
	size_t in_off, in_len;
	/* The answer not yet written. */
	char *out;
	size_t out_off, out_len;
	bool want_out; /* watched for EPOLLOUT instead of EPOLLIN */
};

static void conn_event(void *opaque, int fd, uint32_t events);

static const char *reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	default:
		return "Internal Server Error";
	}
}

char *api_format_response(int status, const char *body, bool close, size_t *len)
{
	size_t blen = body != NULL ? strlen(body) : 0;
	size_t cap = 256 + blen;
	char *out = malloc(cap);
	int n;

	if (out == NULL)
		return NULL;
	if (status == 204 || body == NULL)
		n = snprintf(
		    out, cap,
		    "HTTP/1.1 %d %s\r\nServer: Firecracker API\r\nConnection: %s\r\n%s\r\n", status,
		    reason(status), close ? "close" : "keep-alive",
		    status == 204 ? "" : "Content-Length: 0\r\n");
	else
		n = snprintf(out, cap,
			     "HTTP/1.1 %d %s\r\nServer: Firecracker API\r\nConnection: %s\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     status, reason(status), close ? "close" : "keep-alive", blen, body);
	if (n < 0 || (size_t)n >= cap) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return out;
}

/* ------------------------------------------------------------ connections */

static void conn_watch(struct api_conn *c, bool out)
{
	struct evloop *loop = c->srv->loop;

	if (loop == NULL)
		return;
	evloop_del(loop, c->fd);
	if (evloop_add(loop, c->fd, out ? EPOLLOUT : EPOLLIN, conn_event, c) < 0)
		log_warn("api: cannot watch a connection");
	c->want_out = out;
}

static void conn_close(struct api_conn *c)
{
	struct api_server *srv = c->srv;

	if (srv->loop != NULL)
		evloop_del(srv->loop, c->fd);
	close(c->fd);
	for (int i = 0; i < API_MAX_CONNS; i++)
		if (srv->conns[i] == c)
			srv->conns[i] = NULL;
	free(c->body);
	free(c->out);
	free(c);
}

static void reset_request(struct api_conn *c)
{
	c->url_len = 0;
	c->url[0] = '\0';
	c->body_len = 0;
	c->field[0] = c->value[0] = '\0';
	c->in_value = false;
	c->expect_continue = false;
}

/* flush: write what is pending. false when the connection was closed. */
static bool flush(struct api_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->want_out)
				conn_watch(c, true);
			return true;
		}
		if (n <= 0) {
			conn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	if (c->close_after) {
		conn_close(c);
		return false;
	}
	if (c->want_out)
		conn_watch(c, false);
	return true;
}

/* queue: the answer (status, body) for this connection. */
static void queue(struct api_conn *c, int status, const char *body)
{
	size_t len;
	char *out = api_format_response(status, body, c->close_after, &len);

	if (out == NULL) {
		c->close_after = true;
		return;
	}
	free(c->out);
	c->out = out;
	c->out_off = 0;
	c->out_len = len;
}

static void queue_fault(struct api_conn *c, int status, const char *msg)
{
	char *body = config_json_fault(msg);
	queue(c, status, body);
	free(body);
}

/* ------------------------------------------------------------ http_parser callbacks */

static int on_message_begin(http_parser *p)
{
	reset_request(p->data);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = p->data;

	if (len > API_URL_MAX - c->url_len) {
		c->error = "the request URL is longer than 2048 bytes";
		return -1;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	c->url[c->url_len] = '\0';
	return 0;
}

static void append_small(char *dst, const char *at, size_t len)
{
	size_t n = strlen(dst);

	if (n + len >= HDR_SMALL)
		len = HDR_SMALL - 1 - n;
	memcpy(dst + n, at, len);
	dst[n + len] = '\0';
}

static void end_header(struct api_conn *c)
{
	if (strcasecmp(c->field, "Expect") == 0 && strcasecmp(c->value, "100-continue") == 0)
		c->expect_continue = true;
	c->field[0] = c->value[0] = '\0';
	c->in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = p->data;

	if (c->in_value)
		end_header(c);
	append_small(c->field, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = p->data;

	c->in_value = true;
	append_small(c->value, at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct api_conn *c = p->data;
	size_t max = c->srv->max_payload;

	if (c->in_value)
		end_header(c);
	/* ULLONG_MAX: no Content-Length (chunked, or no body). */
	if (p->content_length != ULLONG_MAX && p->content_length > max) {
		c->error = "payload";
		return -1;
	}
	if (c->expect_continue) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (write(c->fd, cont, sizeof(cont) - 1) < 0)
			log_debug("api: 100 Continue not sent");
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = p->data;
	size_t max = c->srv->max_payload;

	if (len > max - c->body_len) {
		c->error = "payload";
		return -1;
	}
	if (c->body_len + len + 1 > c->body_cap) {
		size_t cap = c->body_len + len + 1;
		cap = cap < 1024 ? 1024 : cap;
		char *b = realloc(c->body, cap);
		if (b == NULL) {
			c->error = "out of memory";
			return -1;
		}
		c->body = b;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct api_conn *c = p->data;

	c->close_after = !http_should_keep_alive(p);
	/* One request at a time: stop here until it is answered. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ------------------------------------------------------------ dispatch */

static void answer(struct api_conn *c)
{
	struct api_server *srv = c->srv;
	struct http_parser_url u;
	struct api_response resp = {0};
	char path[API_URL_MAX + 1];

	http_parser_url_init(&u);
	if (http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		char msg[API_URL_MAX + 64];
		snprintf(msg, sizeof(msg), "invalid request URL '%s'", c->url);
		queue_fault(c, 400, msg);
		return;
	}
	memcpy(path, c->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	path[u.field_data[UF_PATH].len] = '\0';

	struct api_request req = {
	    .method_name = http_method_str(c->parser.method),
	    .path = path,
	    .body = c->body != NULL ? c->body : "",
	    .body_len = c->body_len,
	};
	if (c->body != NULL)
		c->body[c->body_len] = '\0';
	switch (c->parser.method) {
	case HTTP_GET:
		req.method = API_GET;
		break;
	case HTTP_PUT:
		req.method = API_PUT;
		break;
	case HTTP_PATCH:
		req.method = API_PATCH;
		break;
	default:
		req.method = API_OTHER;
	}
	srv->handler(srv->opaque, &req, &resp);
	queue(c, resp.status, resp.body);
	free(resp.body);
}

/*
 * process: parse what was read, answering each complete request in turn;
 * stop while an answer waits to be written. false when (c) was closed.
 */
static bool process(struct api_conn *c)
{
	while (c->out_len == 0 && c->in_off < c->in_len) {
		size_t n = http_parser_execute(&c->parser, &settings, c->in + c->in_off,
					       c->in_len - c->in_off);
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		c->in_off += n;
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			answer(c);
			reset_request(c);
		} else if (e != HPE_OK) {
			c->close_after = true;
			char msg[256];
			if (c->error != NULL && strcmp(c->error, "payload") == 0)
				snprintf(msg, sizeof(msg),
					 "the request body is larger than the limit of %zu bytes "
					 "(--http-api-max-payload-size)",
					 c->srv->max_payload);
			else
				snprintf(msg, sizeof(msg), "malformed HTTP request: %s",
					 c->error != NULL ? c->error : http_errno_description(e));
			queue_fault(c, 400, msg);
			c->in_off = c->in_len;
		}
		if (c->out_len > 0 && !flush(c))
			return false;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	return true;
}

static void conn_event(void *opaque, int fd, uint32_t events)
{
	struct api_conn *c = opaque;

	(void)fd;
	if (c->out_len > 0) {
		if (!flush(c))
			return;
		if (!process(c) || c->out_len > 0)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = read(c->fd, c->in, sizeof(c->in));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The peer is gone (or half-closed with nothing to ask). */
		conn_close(c);
		return;
	}
	c->in_off = 0;
	c->in_len = (size_t)n;
	process(c);
}

static void on_accept(void *opaque, int fd, uint32_t events)
{
	struct api_server *srv = opaque;
	int slot = -1;

	(void)events;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	for (int i = 0; i < API_MAX_CONNS && slot < 0; i++)
		if (srv->conns[i] == NULL)
			slot = i;
	struct api_conn *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		log_warn("api: refusing a connection: %d already open", API_MAX_CONNS);
		close(cfd);
		return;
	}
	c->srv = srv;
	c->fd = cfd;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	srv->conns[slot] = c;
	if (evloop_add(srv->loop, cfd, EPOLLIN, conn_event, c) < 0) {
		log_warn("api: event loop full: refusing a connection");
		close(cfd);
		srv->conns[slot] = NULL;
		free(c);
	}
}

/* ------------------------------------------------------------ server */

int api_server_open(struct api_server *srv, const char *path, size_t max_payload,
		    api_handler_fn handler, void *opaque)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("--api-sock: '%s' is longer than %zu bytes", path,
			  sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	strcpy(srv->path, path);
	srv->max_payload = max_payload;
	srv->handler = handler;
	srv->opaque = opaque;
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		log_error_errno(errno, "--api-sock: socket");
		return -errno;
	}
	if (bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(srv->listen_fd, 16) < 0) {
		int e = errno;
		log_error_errno(e, "--api-sock: cannot listen on '%s'%s", path,
				e == EADDRINUSE ? " (remove the stale socket first)" : "");
		close(srv->listen_fd);
		srv->listen_fd = -1;
		return -e;
	}
	return 0;
}

int api_server_attach(struct api_server *srv, struct evloop *loop)
{
	int ret;

	srv->loop = loop;
	ret = evloop_add(loop, srv->listen_fd, EPOLLIN, on_accept, srv);
	for (int i = 0; i < API_MAX_CONNS && ret == 0; i++) {
		struct api_conn *c = srv->conns[i];
		if (c == NULL)
			continue;
		ret = evloop_add(loop, c->fd, c->want_out ? EPOLLOUT : EPOLLIN, conn_event, c);
	}
	/* Requests read but not yet answered (pipelined behind the last one). */
	for (int i = 0; i < API_MAX_CONNS && ret == 0; i++)
		if (srv->conns[i] != NULL && srv->conns[i]->out_len == 0)
			process(srv->conns[i]);
	return ret;
}

void api_server_detach(struct api_server *srv)
{
	if (srv->loop == NULL)
		return;
	evloop_del(srv->loop, srv->listen_fd);
	for (int i = 0; i < API_MAX_CONNS; i++)
		if (srv->conns[i] != NULL)
			evloop_del(srv->loop, srv->conns[i]->fd);
	srv->loop = NULL;
}

void api_server_close(struct api_server *srv, bool unlink_path)
{
	api_server_detach(srv);
	for (int i = 0; i < API_MAX_CONNS; i++)
		if (srv->conns[i] != NULL)
			conn_close(srv->conns[i]);
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		if (unlink_path)
			unlink(srv->path);
	}
	srv->listen_fd = -1;
}
