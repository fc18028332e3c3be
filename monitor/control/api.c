// SPDX-License-Identifier: Apache-2.0
/* api.c: the API's HTTP/1.1 server on a Unix socket (http_parser), on an evloop. */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config_json.h"
#include "log.h"

#define IN_BUF	  4096
#define HDR_SMALL 32
#define LISTEN_BACKLOG 16
#define NS_PER_MS      1000000ULL
#define NS_PER_SEC     1000000000ULL
/* While a request is under way, its deadline is checked this often. */
#define SWEEP_PERIOD_MS 250
/* The connection-cap and accept-failure lines: at most one a second. */
#define CAP_LOG_INTERVAL_NS NS_PER_SEC
/* Room for a fault message that quotes the URL. */
#define FAULT_MAX (API_URL_MAX + 128)

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
	size_t header_bytes;
	const char *error; /* a bound we enforce was crossed: answer 400 and close */
	bool close_after;
	uint64_t last_active_ns; /* last byte read or written */
	uint64_t busy_since_ns;	 /* a request began and is not yet answered; 0: none */
	/* Bytes read but not yet parsed (a request waits for its answer to go out). */
	char in[IN_BUF];
	size_t in_off, in_len;
	/* The answer not yet written. */
	char *out;
	size_t out_off, out_len;
	bool want_out; /* watched for EPOLLOUT instead of EPOLLIN */
};

static void conn_event(void *opaque, int fd, uint32_t events);
static void sweep_update(struct api_server *srv);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

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
	sweep_update(srv);
}

static void reset_request(struct api_conn *c)
{
	c->header_bytes = 0;
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
		c->last_active_ns = now_ns();
	}
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	c->busy_since_ns = 0; /* answered; the next request's first byte starts its clock */
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
	struct api_conn *c = p->data;

	reset_request(c);
	if (c->busy_since_ns == 0) {
		c->busy_since_ns = now_ns();
		sweep_update(c->srv);
	}
	return 0;
}

/* count_header: bound the header bytes of one request. */
static int count_header(struct api_conn *c, size_t len)
{
	if (len > API_HEADERS_MAX - c->header_bytes) {
		c->error = "the request headers are longer than 8192 bytes";
		return -1;
	}
	c->header_bytes += len;
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

	if (count_header(c, len) < 0)
		return -1;
	if (c->in_value)
		end_header(c);
	append_small(c->field, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct api_conn *c = p->data;

	if (count_header(c, len) < 0)
		return -1;
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

	/* No protocol upgrades here: answer, then close. */
	c->close_after = !http_should_keep_alive(p) || p->upgrade;
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

static bool is_printable(char ch)
{
	return (unsigned char)ch >= ' ' && (unsigned char)ch <= '~';
}

/*
 * printable: replace bytes that are not printable ASCII in (s), so that a
 * message quoting client bytes is valid JSON text (UTF-8) whatever they were.
 * Returns whether (s) was printable already.
 */
static bool printable(char *s)
{
	bool was = true;

	for (; *s != '\0'; s++)
		if (!is_printable(*s)) {
			*s = '?';
			was = false;
		}
	return was;
}

static void answer(struct api_conn *c)
{
	struct api_server *srv = c->srv;
	struct http_parser_url u;
	struct api_response resp = {0};
	char path[API_URL_MAX + 1];

	http_parser_url_init(&u);
	/* A URL is ASCII text (RFC 3986); the handler, and its messages, see nothing else. */
	if (!printable(c->url) || http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		char msg[FAULT_MAX];
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
			char msg[FAULT_MAX];
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
	c->last_active_ns = now_ns();
	c->in_off = 0;
	c->in_len = (size_t)n;
	process(c);
}

/*
 * cap_log: the connection-cap and accept-failure lines, at most one per
 * CAP_LOG_INTERVAL_NS, with the count of those left out in between.
 */
static void cap_log(struct api_server *srv, const char *what)
{
	uint64_t now = now_ns();

	if (now < srv->log_next_ns) {
		srv->log_skipped++;
		return;
	}
	if (srv->log_skipped > 0)
		log_warn("api: %s (and %u more times in the last second)", what,
			 srv->log_skipped);
	else
		log_warn("api: %s", what);
	srv->log_skipped = 0;
	srv->log_next_ns = now + CAP_LOG_INTERVAL_NS;
}

/* quietest: the slot of the connection that has been quiet longest. */
static int quietest(const struct api_server *srv)
{
	int best = 0;

	for (int i = 1; i < API_MAX_CONNS; i++)
		if (srv->conns[i]->last_active_ns < srv->conns[best]->last_active_ns)
			best = i;
	return best;
}

void api_server_adopt(struct api_server *srv, int fd)
{
	int slot = -1;

	for (int i = 0; i < API_MAX_CONNS && slot < 0; i++)
		if (srv->conns[i] == NULL)
			slot = i;
	if (slot < 0) {
		char msg[128];
		slot = quietest(srv);
		snprintf(msg, sizeof(msg),
			 "%d connections open (the limit): closing the one quiet longest",
			 API_MAX_CONNS);
		cap_log(srv, msg);
		conn_close(srv->conns[slot]);
	}
	struct api_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_warn("api: out of memory: refusing a connection");
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->last_active_ns = now_ns();
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	srv->conns[slot] = c;
	/* Detached, it is watched from the next api_server_attach on, as the others are. */
	if (srv->loop != NULL && evloop_add(srv->loop, fd, EPOLLIN, conn_event, c) < 0) {
		log_warn("api: event loop full: refusing a connection");
		close(fd);
		srv->conns[slot] = NULL;
		free(c);
	}
}

static void on_accept(void *opaque, int fd, uint32_t events)
{
	struct api_server *srv = opaque;

	(void)events;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		/* Out of fds (or memory): stop the level-triggered retries until the next sweep. */
		cap_log(srv, "cannot accept a connection: not accepting for a moment");
		evloop_del(srv->loop, srv->listen_fd);
		srv->accept_paused = true;
		sweep_update(srv);
		return;
	}
	api_server_adopt(srv, cfd);
}

/* ------------------------------------------------------------ deadlines */

/* sweep_update: run the deadline timer while a request is under way or accept is paused. */
static void sweep_update(struct api_server *srv)
{
	bool need = srv->accept_paused;

	for (int i = 0; i < API_MAX_CONNS && !need; i++)
		need = srv->conns[i] != NULL && srv->conns[i]->busy_since_ns != 0;
	if (need == srv->sweep_armed || srv->sweep_fd < 0)
		return;
	struct itimerspec t = {0};
	if (need) {
		t.it_interval.tv_nsec = (long)(SWEEP_PERIOD_MS * NS_PER_MS);
		t.it_value = t.it_interval;
	}
	if (timerfd_settime(srv->sweep_fd, 0, &t, NULL) == 0)
		srv->sweep_armed = need;
}

/* on_sweep: end requests past their deadline; accept again after a pause. */
static void on_sweep(void *opaque, int fd, uint32_t events)
{
	struct api_server *srv = opaque;
	uint64_t ticks, now = now_ns();
	char msg[128];

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (srv->accept_paused && srv->loop != NULL &&
	    evloop_add(srv->loop, srv->listen_fd, EPOLLIN, on_accept, srv) == 0)
		srv->accept_paused = false;
	snprintf(msg, sizeof(msg), "the request was not completed within %llu ms",
		 (unsigned long long)(srv->request_timeout_ns / NS_PER_MS));
	for (int i = 0; i < API_MAX_CONNS; i++) {
		struct api_conn *c = srv->conns[i];
		if (c == NULL || c->busy_since_ns == 0 ||
		    now - c->busy_since_ns < srv->request_timeout_ns)
			continue;
		if (c->out_len > 0) {
			/* The client does not take its answer. */
			conn_close(c);
			continue;
		}
		log_debug("api: %s: closing the connection", msg);
		c->close_after = true;
		c->in_off = c->in_len = 0;
		queue_fault(c, 400, msg);
		flush(c);
	}
	sweep_update(srv);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ------------------------------------------------------------ server */

int api_server_open(struct api_server *srv, const char *path, size_t max_payload,
		    api_handler_fn handler, void *opaque)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = srv->sweep_fd = -1;
	srv->guard.dir_fd = srv->guard.read_fd = srv->guard.cmd_fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("--api-sock: '%s' is longer than %zu bytes", path,
			  sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	strcpy(srv->path, path);
	srv->max_payload = max_payload;
	srv->request_timeout_ns = API_REQUEST_TIMEOUT_MS * NS_PER_MS;
	srv->handler = handler;
	srv->opaque = opaque;
	srv->sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->sweep_fd < 0) {
		log_error_errno(errno, "--api-sock: timerfd");
		return -errno;
	}
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		int e = errno;
		log_error_errno(e, "--api-sock: socket");
		close_fd(&srv->sweep_fd);
		return -e;
	}
	/* bind fails on any existing path, a stale socket included, as Firecracker's does. */
	if (bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		log_error_errno(e, "--api-sock: cannot listen on '%s'%s", path,
				e == EADDRINUSE ? " (remove the stale socket first)" : "");
		close_fd(&srv->listen_fd);
		close_fd(&srv->sweep_fd);
		return -e;
	}
	sock_guard_start(&srv->guard, path);
	if (listen(srv->listen_fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		log_error_errno(e, "--api-sock: cannot listen on '%s'", path);
		api_server_close(srv, true);
		return -e;
	}
	return 0;
}

int api_server_attach(struct api_server *srv, struct evloop *loop)
{
	int ret;

	srv->loop = loop;
	ret = evloop_add(loop, srv->sweep_fd, EPOLLIN, on_sweep, srv);
	if (ret == 0 && !srv->accept_paused)
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
	evloop_del(srv->loop, srv->sweep_fd);
	if (!srv->accept_paused)
		evloop_del(srv->loop, srv->listen_fd);
	for (int i = 0; i < API_MAX_CONNS; i++)
		if (srv->conns[i] != NULL)
			evloop_del(srv->loop, srv->conns[i]->fd);
	srv->loop = NULL;
}

void api_server_close(struct api_server *srv, bool may_unlink)
{
	api_server_detach(srv);
	for (int i = 0; i < API_MAX_CONNS; i++)
		if (srv->conns[i] != NULL)
			conn_close(srv->conns[i]);
	bool bound = srv->listen_fd >= 0;
	close_fd(&srv->listen_fd);
	close_fd(&srv->sweep_fd);
	sock_guard_stop(&srv->guard, bound, may_unlink);
}
