// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_virtio_vsock.c: virtio-vsock (Firecracker's hybrid form) driven by a
 * hostile driver (fuzz_virtio.c), with the host side in the input too: host
 * programs connect to the device's Unix socket, send CONNECT lines and
 * bytes, read, half-close and close; listeners at <uds>_1024 and <uds>_5000
 * take the guest's connections, and the input accepts, feeds, reads and
 * closes those. After each input every host socket is closed, the device's
 * events are run until it is quiet and the transport is reset: then the
 * device must hold no connection and the process no extra descriptor.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "fuzz_virtio.h"
#include "vsock.h"

#define GUEST_CID 3
#define NSOCKS	  4

/* Harness state: the device and the listeners live as long as the process. */
static struct fzv vs;
static char uds[108];
static const uint32_t listen_ports[2] = {1024, 5000};
static int listeners[2] = {-1, -1};
static int clients[NSOCKS] = {-1, -1, -1, -1}; /* host programs that connected to uds */
static int peers[NSOCKS] = {-1, -1, -1, -1};   /* the guest's connections, accepted */
static uint8_t buf[1 << 16];

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int unix_socket(const char *path, bool listen_on)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	FZ_CHECK(fd >= 0, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (listen_on) {
		FZ_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 64) == 0,
			 "listen on %s", path);
		return fd;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		close_fd(&fd); /* the device's backlog is full: the host program gives up */
	return fd;
}

static void drain(int fd)
{
	for (int i = 0; i < 8 && fd >= 0; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

static void send_input(int fd, struct fz *in, size_t len)
{
	size_t head = len < 64 ? len : 64;

	if (fd < 0)
		return;
	memset(buf, 0, len);
	fz_fill(in, buf, head);
	(void)send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void host_op(struct fzv *v, struct fz *in)
{
	uint8_t op = fz_u8(in);
	unsigned int k = (op >> 4) % NSOCKS;

	(void)v;
	switch (op % 10) {
	case 0:
		close_fd(&clients[k]);
		clients[k] = unix_socket(uds, false);
		break;
	case 1:
		send_input(clients[k], in, fz_u8(in) % 64);
		break;
	case 2: {
		/* A CONNECT line to a port with a listener, to one without, or any. */
		uint8_t which = fz_u8(in);
		uint32_t port = which & 2 ? (which & 1 ? 7 : fz_u32(in)) : listen_ports[which & 1];
		char line[40];
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
		if (clients[k] >= 0)
			(void)send(clients[k], line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	}
	case 3:
		drain(clients[k]);
		break;
	case 4:
		if (clients[k] >= 0)
			(void)shutdown(clients[k], (op & 8) ? SHUT_RDWR : SHUT_WR);
		break;
	case 5:
		close_fd(&clients[k]);
		break;
	case 6:
		close_fd(&peers[k]);
		peers[k] = accept4(listeners[op & 1], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case 7:
		send_input(peers[k], in, (size_t)fz_u8(in) * 256);
		break;
	case 8:
		drain(peers[k]);
		break;
	default:
		if (op & 8)
			close_fd(&peers[k]);
		else if (peers[k] >= 0)
			(void)shutdown(peers[k], SHUT_WR);
		break;
	}
}

static void cleanup(struct fzv *v)
{
	struct fz none = {0};

	for (int i = 0; i < NSOCKS; i++) {
		close_fd(&clients[i]);
		close_fd(&peers[i]);
	}
	/*
	 * A running device with empty rings takes in what the host did last
	 * (accepts, hang-ups); the final reset in fzv_run must then drop it all.
	 */
	fzv_clear_rings(v);
	fzv_driver_up(v, &none);
	fzv_settle(v);
	for (int i = 0; i < 2; i++) {
		int fd;
		while ((fd = accept4(listeners[i], NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
	}
}

static const struct fzv_hooks hooks = {.host_op = host_op, .cleanup = cleanup};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fz_tmpdir("vsock");
	const struct virtio_device_ops *ops = NULL;
	struct virtio_vsock_config cfg = {.guest_cid = GUEST_CID, .uds_path = uds};
	char path[sizeof(uds) + 16];
	void *dev;

	(void)argc;
	(void)argv;
	fzv_quiet_logs();
	fz_ignore_sigpipe();
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s_%u", uds, listen_ports[i]);
		listeners[i] = unix_socket(path, true);
	}
	dev = vsock_create(&cfg, &ops, NULL);
	fzv_attach(&vs, ops, dev, &hooks, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds = fz_fd_count();
	struct fz in;

	fz_init(&in, data, size);
	fzv_run(&vs, &in);
	FZ_CHECK(vsock_conn_count(vs.dev) == 0, "%u connections left after a reset",
		 vsock_conn_count(vs.dev));
	FZ_CHECK(fz_fd_count() == fds, "file descriptors: %d open, %d before the input",
		 fz_fd_count(), fds);
	return 0;
}
