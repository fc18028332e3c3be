/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h: HTTP/1.1 on a Unix socket, on the VMM thread's event loop:
 * keep-alive, one request at a time per connection, up to API_MAX_CONNS
 * connections. Requests are parsed with http_parser and handed whole to
 * one handler (api_routes.c), whose answer is written back without ever
 * blocking the loop. Every size is bounded: the URL, the headers (the
 * parser's limit) and the body (max_payload, Firecracker's
 * --http-api-max-payload-size). Malformed requests get 400 and a
 * {"fault_message": ...} that names the problem, then the connection closes.
 *
 * The server is not tied to one loop: api_server_attach/detach move its
 * fds, so it serves from a loop of its own before the VM exists and from
 * the VM's loop after InstanceStart.
 */
#ifndef EMBER_API_H
#define EMBER_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"
#include "sock_guard.h"

#define API_MAX_CONNS 8
#define API_URL_MAX   2048
/* Header names and values of one request, in bytes. */
#define API_HEADERS_MAX 8192
/* From a request's first byte to its last, and for its answer to be taken. */
#define API_REQUEST_TIMEOUT_MS 5000

enum api_method { API_GET, API_PUT, API_PATCH, API_OTHER };

struct api_request {
	enum api_method method;
	const char *method_name; /* "GET", "DELETE", ... */
	const char *path;	 /* "/drives/rootfs", without the query */
	const char *body;	 /* NUL-terminated; "" when there is none */
	size_t body_len;
};

struct api_response {
	int status;
	char *body; /* malloc'd JSON, or NULL (204, or an empty body) */
};

/* api_handler_fn: fill (resp) for (req). */
typedef void (*api_handler_fn)(void *opaque, const struct api_request *req,
			       struct api_response *resp);

struct api_conn;

struct api_server {
	int listen_fd;
	struct evloop *loop; /* NULL while detached */
	size_t max_payload;
	uint64_t request_timeout_ns; /* API_REQUEST_TIMEOUT_MS; tests may lower it */
	api_handler_fn handler;
	void *opaque;
	char path[108];
	struct api_conn *conns[API_MAX_CONNS];
	int sweep_fd;	   /* timerfd: checks request deadlines while one runs */
	bool sweep_armed;
	bool accept_paused; /* out of fds: accepting again on the next sweep */
	uint64_t log_next_ns; /* rate limit of the connection-cap line */
	unsigned int log_skipped;
	struct sock_guard guard; /* removes the socket file at exit */
};

/*
 * api_server_open: bind and listen on Unix socket (path), which must not
 * exist, and start the guard thread. Before any seccomp filter. Returns 0
 * or -errno after a log line saying why.
 */
int api_server_open(struct api_server *srv, const char *path, size_t max_payload,
		    api_handler_fn handler, void *opaque);

/* api_server_attach: watch the listening socket and connections in (loop). 0 or -errno. */
int api_server_attach(struct api_server *srv, struct evloop *loop);

/*
 * api_server_adopt: serve (fd), a connected non-blocking stream socket, as
 * one accepted from the listening socket is served (the same connection
 * limit). Takes (fd): closed on failure. For tests, which can hand it one
 * end of a socketpair instead of connecting.
 */
void api_server_adopt(struct api_server *srv, int fd);

/* api_server_detach: stop watching them (they stay open). */
void api_server_detach(struct api_server *srv);

/*
 * api_server_close: close everything and remove the socket file if it is
 * still the one we bound: through the guard thread, or, when that could not
 * start, directly if (may_unlink) says the calling thread's seccomp filter
 * (if any) allows unlink.
 */
void api_server_close(struct api_server *srv, bool may_unlink);

/*
 * api_format_response: the bytes of an HTTP/1.1 response with (status) and
 * (body) (may be NULL). Malloc'd, length in (*len). For tests and api.c.
 */
char *api_format_response(int status, const char *body, bool close, size_t *len);

#endif /* EMBER_API_H */
