// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_http.c: the API's HTTP server, bytes in and answers out, in process:
 * the real server (api.c) on a Unix socket, serving the real routes over a
 * recording backend (fuzz_api.c), its event loop dispatched here without
 * blocking (epoll_wait with a zero timeout), clients that are plain sockets.
 * The server, its loop and the instance are made once per process; an input
 * starts from a fresh instance and no connection.
 *
 * What an input costs is system calls, a new connection's above all: so a
 * client is one end of a socketpair whose other end the server adopts
 * (api_server_adopt, what it does with an accepted socket), and the loop is
 * polled only when a client did something since it was last idle.
 *
 * Input: operations of one byte and operands.
 *   0 connect a client (up to 10, past the server's limit of 8); with the
 *     high nibble 15, through the listening socket (connect and accept)
 *   1 send bytes to client k: [k] [length] [bytes]
 *   2 run the server until it is idle
 *   3 read what client k was answered
 *   4 half-close client k; 5 close it
 *   6 send a canned request line (GET / and such) to client k
 * The input's first byte picks the instance's state and the backend's
 * result. After the input every client closes, and once the server has run,
 * it must hold no connection: nothing a client did may outlive the client.
 *
 * Answers are checked: each starts with "HTTP/1.1 " and a known status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "api_routes.h"
#include "evloop.h"
#include "fuzz_api.h"
#include "fuzz_util.h"

#define NCLIENTS    10
#define PUMP_ROUNDS 64
#define MAX_PAYLOAD 4096 /* small, so the payload limit is in reach */

/* Harness state: the server, its loop and the clients live as long as the process. */
static struct fza api;
static struct api_server srv;
static struct evloop loop;
static char sock_path[108];
static int clients[NCLIENTS] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static char answer[1 << 16];
/* The loop had nothing to dispatch when last polled, and no client has acted since. */
static bool settled;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fz_tmpdir("http");

	(void)argc;
	(void)argv;
	fz_quiet_logs();
	fz_ignore_sigpipe();
	fza_init(&api);
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	FZ_CHECK(api_server_open(&srv, sock_path, MAX_PAYLOAD, api_routes_handle, &api.inst) == 0,
		 "api_server_open");
	FZ_CHECK(evloop_init(&loop) == 0 && api_server_attach(&srv, &loop) == 0, "attach");
	return 0;
}

/*
 * pump: what evloop_run does, without waiting: dispatch ready fds until none
 * is. Only the clients' acts (and the deadline timer, which runs on the clock
 * and not on the input) make the server's fds ready: while none came since
 * the loop was last idle, there is nothing to poll for.
 */
static void pump(void)
{
	if (settled)
		return;
	for (int round = 0; round < PUMP_ROUNDS; round++)
		if (evloop_poll(&loop, 0) <= 0) {
			settled = true;
			return;
		}
}

static void close_client(int k)
{
	if (clients[k] < 0)
		return;
	close(clients[k]);
	clients[k] = -1;
	settled = false;
}

/* client_send: (n) bytes from client k, if it is connected; work for the server once sent. */
static void client_send(int k, const void *bytes, size_t n)
{
	if (clients[k] >= 0 && n > 0 && send(clients[k], bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		settled = false;
}

static void connect_client(bool through_listener)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int k = 0, sv[2];

	while (k < NCLIENTS && clients[k] >= 0)
		k++;
	if (k == NCLIENTS)
		return;
	if (!through_listener) {
		/* Nothing is ready for the server in a new pair: (settled) stands. */
		int ret = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
		FZ_CHECK(ret == 0, "socketpair");
		clients[k] = sv[0];
		api_server_adopt(&srv, sv[1]);
		return;
	}
	clients[k] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	FZ_CHECK(clients[k] >= 0, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(clients[k], (struct sockaddr *)&sa, sizeof(sa)) != 0)
		close_client(k); /* backlog full */
	settled = false;
}

/* check_answers: (buf, len) is what the server wrote: a run of HTTP/1.1 responses. */
static void check_answers(const char *buf, size_t len)
{
	static const char *const ok[] = {"100 ", "200 ", "204 ", "400 ", "404 ", "405 ", "500 "};
	const char *p = buf, *end = buf + len;

	while (end - p >= 13) {
		bool known = false;
		FZ_CHECK(memcmp(p, "HTTP/1.1 ", 9) == 0, "not a response: %.40s", p);
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			known |= memcmp(p + 9, ok[i], 4) == 0;
		FZ_CHECK(known, "unexpected status: %.20s", p);
		/* The next response starts after this one's head and body. */
		const char *head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (head_end == NULL)
			return; /* cut short by the read: the rest comes later */
		const char *cl = memmem(p, (size_t)(head_end - p), "Content-Length: ", 16);
		size_t body = cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;
		p = head_end + 4 + body;
	}
}

static void read_client(int k)
{
	ssize_t n;

	if (clients[k] < 0)
		return;
	n = recv(clients[k], answer, sizeof(answer), MSG_DONTWAIT);
	if (n > 0)
		settled = false; /* room for the rest of an answer the server holds */
	/* Answers are small: one read from the start of the stream sees whole heads. */
	if (n > 0 && memcmp(answer, "HTTP", 4) == 0)
		check_answers(answer, (size_t)n);
}

static void send_canned(int k, uint8_t which)
{
	static const char *const canned[] = {
	    "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
	    "GET /machine-config HTTP/1.1\r\n\r\n",
	    "PUT /machine-config HTTP/1.1\r\nContent-Length: 38\r\n\r\n"
	    "{\"vcpu_count\": 2, \"mem_size_mib\": 64}",
	    "PUT /actions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n"
	    "{\"action_type\": \"InstanceStart\"}",
	    "PATCH /vm HTTP/1.1\r\nContent-Length: 19\r\n\r\n{\"state\": \"Paused\"}",
	    "PUT /drives/rootfs HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
	    "GET /vm/config HTTP/1.1\r\nConnection: close\r\n\r\n",
	    "PUT /boot-source HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\n{\"ker\r\n0\r\n\r\n",
	};
	const char *s = canned[which % (sizeof(canned) / sizeof(canned[0]))];

	client_send(k, s, strlen(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds = fz_fd_count();
	struct fz in;

	fz_init(&in, data, size);
	uint8_t setup = fz_u8(&in);
	fza_begin(&api, setup & 3, setup & 4, (setup & 8) ? -5 : 0);
	settled = false;
	for (int i = 0; i < 256 && fz_more(&in); i++) {
		uint8_t op = fz_u8(&in);
		int k = (op >> 4) % NCLIENTS;
		const uint8_t *bytes;
		size_t n;

		switch (op % 8) {
		case 0:
			connect_client(op >> 4 == 15);
			pump();
			break;
		case 1:
			n = fz_take(&in, fz_u8(&in), &bytes);
			client_send(k, bytes, n);
			break;
		case 2:
			pump();
			break;
		case 3:
			pump();
			read_client(k);
			break;
		case 4:
			if (clients[k] >= 0 && shutdown(clients[k], SHUT_WR) == 0)
				settled = false;
			break;
		case 5:
			close_client(k);
			break;
		case 6:
			send_canned(k, fz_u8(&in));
			break;
		default:
			/* A large body, so that answers and the payload limit meet it. */
			n = (size_t)fz_u8(&in) * 64;
			if (clients[k] >= 0 && n > 0) {
				memset(answer, 'x', n);
				client_send(k, answer, n);
			}
			break;
		}
	}
	for (int k = 0; k < NCLIENTS; k++)
		close_client(k);
	pump();
	for (int i = 0; i < API_MAX_CONNS; i++)
		FZ_CHECK(srv.conns[i] == NULL, "connection %d still open after its client closed",
			 i);
	/* Freed in the input: one with more mallocs than frees is run again for a leak. */
	fza_end(&api);
	FZ_CHECK(fz_fd_count() == fds, "file descriptors: %d open, %d before the input",
		 fz_fd_count(), fds);
	return 0;
}
