// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_virtio_net.c: virtio-net driven by a hostile driver (fuzz_virtio.c),
 * its tap an AF_UNIX SOCK_SEQPACKET socketpair (one frame per message, as a
 * tap gives them). Host actions: a frame of input-chosen length and bytes
 * arrives from the "tap", the host reads what the guest sent, new rate
 * limits, a look at the device's metric group.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "fuzz_virtio.h"
#include "net.h"

/* Room for the largest frame a tap hands over, and a little more. */
#define FRAME_MAX (NET_BUF_MAX + 64)

/* Harness state: the device lives as long as the process. */
static struct fzv net;
static struct net_metrics group; /* what the device counts into */
static int peer = -1;		 /* the host's end of the "tap" */
static int dev_end = -1;	 /* the device's end, drained between inputs */
static bool limits_set;
static uint8_t frame[FRAME_MAX];

static void drain(int fd)
{
	while (recv(fd, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
}

static uint32_t frame_len(struct fz *in)
{
	static const uint32_t special[] = {
	    0, 1, 11, 12, 13, 25, 26, 60, 1514, 1526, 65550, 65561, 65562, 65563, 65600, FRAME_MAX};
	uint8_t b = fz_u8(in);

	switch (b & 3) {
	case 0:
		return 26u + fz_u8(in);
	case 1:
		return fz_u16(in);
	case 2:
		return special[(b >> 2) % (sizeof(special) / sizeof(special[0]))];
	default:
		return 12u + fz_u8(in);
	}
}

static void read_limit(struct fz *in, struct virtio_rate_limit *l)
{
	memset(l, 0, sizeof(*l));
	l->bandwidth.size = fz_u16(in);
	l->bandwidth.one_time_burst = fz_u8(in);
	l->bandwidth.refill_time = fz_u8(in);
	l->ops.size = fz_u8(in);
	l->ops.refill_time = fz_u8(in);
}

/* New receive and/or transmit limits. */
struct limits {
	bool rx, tx;
	struct virtio_rate_limit l[2];
};

static int set_limits(void *dev, void *arg)
{
	const struct limits *a = arg;

	net_set_limiters(dev, a->rx ? &a->l[0] : NULL, a->tx ? &a->l[1] : NULL);
	return 0;
}

static void host_op(struct fzv *v, struct fz *in)
{
	uint8_t op = fz_u8(in);

	switch (op % 5) {
	case 0:
	case 1: {
		uint32_t len = frame_len(in);
		memset(frame, 0, len < 64 ? len : 64);
		fz_fill(in, frame, len < 64 ? len : 64);
		(void)send(peer, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	}
	case 2:
		drain(peer);
		break;
	case 3: {
		struct limits a = {.rx = op & 0x10, .tx = op & 0x20};
		read_limit(in, &a.l[0]);
		read_limit(in, &a.l[1]);
		(void)virtio_mmio_with_lock(v->t, set_limits, &a);
		limits_set = true;
		break;
	}
	default:
		/* Firecracker's frame counts twice over; a malformed frame is a failed one. */
		FZ_CHECK(group.rx_count == group.rx_packets_count &&
			     group.tx_count == group.tx_packets_count,
			 "frame counts differ");
		FZ_CHECK(group.tx_malformed_frames <= group.tx_fails, "more malformed than failed");
		break;
	}
}

static void cleanup(struct fzv *v)
{
	/* Frames neither side took are dropped, so the next input starts with an empty tap. */
	drain(peer);
	drain(dev_end);
	if (limits_set) {
		struct limits none = {.rx = true, .tx = true};
		(void)virtio_mmio_with_lock(v->t, set_limits, &none);
		limits_set = false;
	}
}

static const struct fzv_hooks hooks = {.host_op = host_op, .cleanup = cleanup};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct virtio_net_config cfg = {
	    .tap_name = "fuzz0", .has_mac = true, .mac = {0x02, 0, 0, 0, 0, 1}, .metrics = &group};
	const struct virtio_device_ops *ops = NULL;
	int sv[2], big = 1 << 20;
	void *dev;

	(void)argc;
	(void)argv;
	fzv_quiet_logs();
	fz_ignore_sigpipe();
	FZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0,
		 "socketpair");
	/* Room for the largest frames both ways. */
	for (int i = 0; i < 2; i++) {
		(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		(void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	peer = sv[1];
	dev_end = sv[0];
	dev = net_create_with_fd(&cfg, sv[0], &ops, NULL);
	fzv_attach(&net, ops, dev, &hooks, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds = fz_fd_count();
	struct fz in;

	fz_init(&in, data, size);
	fzv_run(&net, &in);
	FZ_CHECK(fz_fd_count() == fds, "file descriptors: %d open, %d before the input",
		 fz_fd_count(), fds);
	return 0;
}
