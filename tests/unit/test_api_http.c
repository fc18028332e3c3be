// SPDX-License-Identifier: Apache-2.0
/* test_api_http.c: the HTTP/1.1 server over a real Unix socket: framing, limits, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "log.h"

#define MAX_PAYLOAD 100

static char dir[64], sock[128];
static struct api_server srv;
static struct evloop loop;
static int timer_fd;
static int handled;

/* echo: answers 200 {"m":"PUT","p":"/x","n":LEN}, or 204 for /empty. */
static void echo(void *opaque, const struct api_request *req, struct api_response *resp)
{
	(void)opaque;
	handled++;
	if (strcmp(req->path, "/empty") == 0) {
		resp->status = 204;
		resp->body = NULL;
		return;
	}
	resp->status = 200;
	resp->body = malloc(256);
	snprintf(resp->body, 256, "{\"m\":\"%s\",\"p\":\"%s\",\"n\":%zu}", req->method_name,
		 req->path, req->body_len);
}

static void on_timer(void *opaque, int fd, uint32_t events)
{
	uint64_t n;
	(void)opaque;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	evloop_stop(&loop);
}

/* pump: run the server's loop for a moment. */
static void pump(void)
{
	struct itimerspec t = {.it_value = {0, 30 * 1000 * 1000}};
	timerfd_settime(timer_fd, 0, &t, NULL);
	loop.done = false;
	evloop_run(&loop);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ember-http.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	handled = 0;
	if (api_server_open(&srv, sock, MAX_PAYLOAD, echo, NULL) < 0)
		return -1;
	if (evloop_init(&loop) < 0)
		return -1;
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	evloop_add(&loop, timer_fd, EPOLLIN, on_timer, NULL);
	return api_server_attach(&srv, &loop);
}

static int teardown(void **state)
{
	(void)state;
	api_server_close(&srv, true);
	evloop_destroy(&loop);
	close(timer_fd);
	rmdir(dir);
	return 0;
}

static int client(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* recv_now: what the server has sent so far (after pumping). */
static size_t recv_now(int fd, char *buf, size_t size)
{
	size_t got = 0;

	pump();
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0 || got + 1 >= size)
			break;
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* closed: the server closed (fd). */
static bool closed(int fd)
{
	char c;
	pump();
	return read(fd, &c, 1) == 0;
}

static void test_get_keep_alive(void **state)
{
	(void)state;
	char buf[2048];
	int fd = client();

	send_all(fd, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 35);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n{\"m\":\"GET\",\"p\":\"/\",\"n\":0}"));
	/* Same connection, a second request with a body and a query. */
	const char *put = "PUT /machine-config?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
	send_all(fd, put, strlen(put));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"m\":\"PUT\",\"p\":\"/machine-config\",\"n\":5}"));
	assert_int_equal(handled, 2);
	close(fd);
}

static void test_pipelined_in_order(void **state)
{
	(void)state;
	char buf[2048];
	int fd = client();
	const char *two = "GET /a HTTP/1.1\r\n\r\nPATCH /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
			  "GET /empty HTTP/1.1\r\n\r\n";

	send_all(fd, two, strlen(two));
	recv_now(fd, buf, sizeof(buf));
	char *a = strstr(buf, "\"p\":\"/a\"");
	char *b = strstr(buf, "\"p\":\"/b\"");
	char *c = strstr(buf, "HTTP/1.1 204 No Content\r\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	/* 204 carries no body and no Content-Length. */
	assert_null(strstr(c, "Content-Length"));
	close(fd);
}

static void test_split_request(void **state)
{
	(void)state;
	char buf[2048];
	int fd = client();
	const char *req = "PUT /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";

	for (size_t i = 0; i < strlen(req); i += 7) {
		size_t n = strlen(req) - i < 7 ? strlen(req) - i : 7;
		send_all(fd, req + i, n);
		pump();
	}
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"n\":3"));
	assert_int_equal(handled, 1);
	close(fd);
}

static void test_payload_limit(void **state)
{
	(void)state;
	char buf[2048], req[512], body[MAX_PAYLOAD + 2];
	int fd = client();

	memset(body, 'a', sizeof(body));
	body[MAX_PAYLOAD] = '\0';
	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", MAX_PAYLOAD,
		 body);
	send_all(fd, req, strlen(req));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"n\":100"));
	close(fd);

	fd = client();
	body[MAX_PAYLOAD] = 'a';
	body[MAX_PAYLOAD + 1] = '\0';
	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s",
		 MAX_PAYLOAD + 1, body);
	send_all(fd, req, strlen(req));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "{\"fault_message\":\"the request body is larger than the "
				    "limit of 100 bytes (--http-api-max-payload-size)\"}"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_true(closed(fd));
	close(fd);
	assert_int_equal(handled, 1);
}

static void test_chunked_limit(void **state)
{
	(void)state;
	char buf[2048];
	int fd = client();
	const char *ok =
	    "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";

	send_all(fd, ok, strlen(ok));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"n\":5"));
	/* Chunks past the limit are refused as they arrive. */
	const char *big =
	    "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"
	    "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n";
	send_all(fd, big, strlen(big));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "larger than the limit"));
	close(fd);
}

static void test_malformed(void **state)
{
	(void)state;
	char buf[4096], req[4096];
	int fd = client();

	send_all(fd, "GARBAGE\r\n\r\n", 11);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "{\"fault_message\":\"malformed HTTP request: "));
	assert_true(closed(fd));
	close(fd);

	fd = client();
	send_all(fd, "PUT /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 40);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "400 Bad Request"));
	close(fd);

	fd = client();
	memset(req, 0, sizeof(req));
	strcpy(req, "GET /");
	memset(req + 5, 'a', 3000);
	strcat(req, " HTTP/1.1\r\n\r\n");
	send_all(fd, req, strlen(req));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "the request URL is longer than 2048 bytes"));
	close(fd);
	assert_int_equal(handled, 0);
}

static void test_connection_close(void **state)
{
	(void)state;
	char buf[2048];
	int fd = client();

	send_all(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 38);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_true(closed(fd));
	close(fd);
	/* HTTP/1.0 without keep-alive closes too. */
	fd = client();
	send_all(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "200 OK"));
	assert_true(closed(fd));
	close(fd);
}

static void test_expect_continue(void **state)
{
	(void)state;
	char buf[2048];
	int fd = client();

	send_all(fd, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", 61);
	recv_now(fd, buf, sizeof(buf));
	assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
	send_all(fd, "{}", 2);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"n\":2"));
	close(fd);
}

/* With every slot taken, a new connection replaces the one quiet longest. */
static void test_connection_limit(void **state)
{
	(void)state;
	int fds[API_MAX_CONNS + 1];
	char buf[512];

	for (int i = 0; i <= API_MAX_CONNS; i++) {
		fds[i] = client();
		pump();
	}
	assert_true(closed(fds[0]));
	/* The newest and the others still answer. */
	for (int i = 1; i <= API_MAX_CONNS; i++) {
		send_all(fds[i], "GET / HTTP/1.1\r\n\r\n", 18);
		recv_now(fds[i], buf, sizeof(buf));
		assert_non_null(strstr(buf, "200 OK"));
	}
	/* Now fds[1] is the quietest: the next newcomer replaces it. */
	int extra = client();
	pump();
	assert_true(closed(fds[1]));
	send_all(fds[2], "GET / HTTP/1.1\r\n\r\n", 18);
	recv_now(fds[2], buf, sizeof(buf));
	assert_non_null(strstr(buf, "200 OK"));
	for (int i = 0; i <= API_MAX_CONNS; i++)
		close(fds[i]);
	close(extra);
	pump();
	/* Closed connections free their slots. */
	int fd = client();
	send_all(fd, "GET / HTTP/1.1\r\n\r\n", 18);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "200 OK"));
	close(fd);
}

/* A socket handed over (api_server_adopt) is served as an accepted one, attached or not. */
static void test_adopted_socket(void **state)
{
	(void)state;
	int sv[2];
	char buf[512];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	api_server_adopt(&srv, sv[1]);
	send_all(sv[0], "GET /a HTTP/1.1\r\n\r\n", 19);
	recv_now(sv[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"m\":\"GET\",\"p\":\"/a\",\"n\":0}"));
	/* Detached: held, and served once attached again. */
	api_server_detach(&srv);
	int other[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, other),
			 0);
	api_server_adopt(&srv, other[1]);
	send_all(other[0], "GET /b HTTP/1.1\r\n\r\n", 19);
	assert_int_equal(api_server_attach(&srv, &loop), 0);
	recv_now(other[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"p\":\"/b\""));
	assert_int_equal(handled, 2);
	/* Their slots are free once the clients leave. */
	close(sv[0]);
	close(other[0]);
	pump();
	for (int i = 0; i < API_MAX_CONNS; i++)
		assert_null(srv.conns[i]);
}

/* A request that does not arrive whole in time gets 400 and the connection closes. */
static void test_request_timeout(void **state)
{
	(void)state;
	char buf[1024];
	int slow = client(), idle = client();

	srv.request_timeout_ns = 100ULL * 1000 * 1000;
	send_all(slow, "PUT /x HTTP/1.1\r\nContent-Len", 28);
	for (int i = 0; i < 10; i++)
		pump();
	recv_now(slow, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "{\"fault_message\":\"the request was not completed within "
				    "100 ms\"}"));
	assert_true(closed(slow));
	close(slow);
	/* A connection that sent nothing has no request to time out: it stays. */
	send_all(idle, "GET / HTTP/1.1\r\n\r\n", 18);
	recv_now(idle, buf, sizeof(buf));
	assert_non_null(strstr(buf, "200 OK"));
	close(idle);
	assert_int_equal(handled, 1);
}

static void test_header_bound(void **state)
{
	(void)state;
	char buf[1024];
	static char req[2 * API_HEADERS_MAX];
	int fd = client();

	/* Many small headers: their sum is bounded, not each one (24 of each 28 bytes count). */
	strcpy(req, "GET / HTTP/1.1\r\n");
	while (strlen(req) < API_HEADERS_MAX + API_HEADERS_MAX / 4)
		strcat(req, "X-Filler: 0123456789abcdef\r\n");
	strcat(req, "\r\n");
	send_all(fd, req, strlen(req));
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"fault_message\":\"malformed HTTP request: the request "
				    "headers are longer than 8192 bytes\"}"));
	assert_true(closed(fd));
	close(fd);
	assert_int_equal(handled, 0);
}

/* Bytes that are not text in a quoted URL still give a JSON fault body. */
static void test_binary_url_fault_is_json(void **state)
{
	(void)state;
	char buf[1024];
	int fd = client();
	const char req[] = "GET http://\xff\xfe HTTP/1.1\r\n\r\n";

	send_all(fd, req, sizeof(req) - 1);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "{\"fault_message\":\""));
	assert_null(strstr(buf, "\xff"));
	close(fd);
	/* In the path too: the handler never sees it. */
	fd = client();
	const char path[] = "GET /drives/\xc3\xa9 HTTP/1.1\r\n\r\n";
	send_all(fd, path, sizeof(path) - 1);
	recv_now(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "{\"fault_message\":\"invalid request URL '/drives/?\?'\"}"));
	close(fd);
	assert_int_equal(handled, 0);
}

/* The socket file goes with the server, but only if it is still the one bound. */
static void test_socket_file_removed(void **state)
{
	(void)state;
	struct api_server other;
	char path[160], moved[170];
	struct stat st;

	snprintf(path, sizeof(path), "%s/b.sock", dir);
	snprintf(moved, sizeof(moved), "%s/b.moved", dir);
	assert_int_equal(api_server_open(&other, path, 10, echo, NULL), 0);
	assert_true(other.guard.running);
	api_server_close(&other, false); /* the guard removes it, whatever the caller may do */
	assert_int_equal(stat(path, &st), -1);

	/* Replaced under us: the new file stays. */
	assert_int_equal(api_server_open(&other, path, 10, echo, NULL), 0);
	assert_int_equal(rename(path, moved), 0);
	int f = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(f >= 0);
	close(f);
	api_server_close(&other, true);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	unlink(moved);
}

static void test_socket_in_use(void **state)
{
	(void)state;
	struct api_server other;

	log_set_level(LOG_ERROR);
	assert_int_equal(api_server_open(&other, sock, 10, echo, NULL), -EADDRINUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_get_keep_alive),   T(test_pipelined_in_order), T(test_split_request),
	    T(test_payload_limit),    T(test_chunked_limit),	  T(test_malformed),
	    T(test_connection_close), T(test_expect_continue),	  T(test_connection_limit),
	    T(test_socket_in_use),    T(test_request_timeout),	  T(test_header_bound),
	    T(test_binary_url_fault_is_json), T(test_socket_file_removed), T(test_adopted_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
