// SPDX-License-Identifier: Apache-2.0
/*
 * iohost.c: the host side of the bench's I/O stage (bench/run.sh stage 5).
 *
 *   iohost tsc
 *       TSC ticks per millisecond, measured against CLOCK_MONOTONIC_RAW,
 *       for the I/O guest (bench/iobench.c tsc_khz=), which cannot measure
 *       it itself here.
 *   iohost blk IMAGE WORD...
 *       The host baseline for the block tests: the same words as the guest
 *       (seqread=<MiB>, seqwrite=<MiB>, randread=<n>, qd=<n>) done by this
 *       process on IMAGE with pread/pwrite, one request at a time (qd is
 *       printed as 1), buffered (page cache, no O_DIRECT), as ember's and
 *       QEMU's block devices do. Random offsets are the guest's very
 *       sequence (same xorshift64 and seed).
 *   iohost tx TAP WORD...
 *       The host baseline for the net tests: nettx=<size>,<n> writes n
 *       frames to the tap TAP the way a monitor does (IFF_VNET_HDR, a
 *       12-byte zero header, one writev per frame).
 *   iohost sink IFACE
 *       The host process the frames go to: counts the bench frames
 *       (ethertype 0x88b5) arriving on IFACE on a packet socket, per frame
 *       size, until SIGTERM or SIGINT. Prints "iohost: sink ready" once
 *       bound, then on exit one line per size:
 *       iobench: sink size=<n> frames=<n> ns=<first to last frame> drops=<n>
 *
 * Output lines match the guest's ("iobench: test=... key=value ...") so
 * run.sh parses both the same way. Exit status 0, or 1 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MIB	      (1024UL * 1024)
#define SEQ_BS	      MIB
#define RAND_BS	      4096U
#define RAND_SEED     0x9e3779b97f4a7c15ULL /* bench/iobench.c's */
#define NS_PER_S      1000000000ULL
#define NS_PER_MS     1000000ULL
#define TSC_SAMPLE_NS (200 * NS_PER_MS)
#define VNET_HDR      12 /* struct virtio_net_hdr_v1 */
#define FRAME_MAX     1514
#define ETH_HDR	      14
#define ETH_P_BENCH   0x88b5
#define SINK_RCVBUF   (64 << 20)
#define SINK_BATCH    64
#define SINK_POLL_MS  100
#define MBPS_DIV      1000000ULL

static uint64_t rng_state = RAND_SEED;
static volatile sig_atomic_t stop;

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t per_s(uint64_t n, uint64_t ns)
{
	return ns == 0 ? 0 : (uint64_t)((double)n * NS_PER_S / (double)ns);
}

static uint64_t xorshift64(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

/* value_of: for the word "key=value" return "value", else NULL. */
static const char *value_of(const char *w, const char *key)
{
	size_t n = strlen(key);

	return strncmp(w, key, n) == 0 && w[n] == '=' ? w + n + 1 : NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* ------------------------------------------------------------ tsc */

static int cmd_tsc(void)
{
	struct timespec pause = {0, (long)TSC_SAMPLE_NS};
	uint64_t t0 = now_ns(CLOCK_MONOTONIC_RAW), c0 = rdtsc(), t1, c1;

	nanosleep(&pause, NULL);
	t1 = now_ns(CLOCK_MONOTONIC_RAW);
	c1 = rdtsc();
	printf("%llu\n", (unsigned long long)((c1 - c0) * NS_PER_MS / (t1 - t0)));
	return 0;
}

/* ------------------------------------------------------------ blk */

static int blk_run(int fd, uint8_t *buf, const char *name, int write, int rand, uint32_t bs,
		   uint64_t ops, uint64_t disk)
{
	uint64_t blocks = disk / bs, start, ns, i, bytes;

	if (blocks == 0) {
		printf("iobench: error test=%s ret=disk-too-small\n", name);
		return -1;
	}
	start = now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < ops; i++) {
		uint64_t blkno = rand ? xorshift64() % blocks : i % blocks;
		off_t off = (off_t)(blkno * bs);
		ssize_t n = write ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);

		if (n != (ssize_t)bs) {
			printf("iobench: error test=%s ret=%s done=%llu\n", name,
			       n < 0 ? strerror(errno) : "short", (unsigned long long)i);
			return -1;
		}
	}
	ns = now_ns(CLOCK_MONOTONIC) - start;
	bytes = ops * bs;
	printf("iobench: test=%s bs=%u qd=1 ops=%llu bytes=%llu ns=%llu MBps=%llu iops=%llu\n",
	       name, bs, (unsigned long long)ops, (unsigned long long)bytes, (unsigned long long)ns,
	       (unsigned long long)(per_s(bytes, ns) / MBPS_DIV),
	       (unsigned long long)per_s(ops, ns));
	return 0;
}

static int cmd_blk(const char *path, int argc, char **argv)
{
	struct stat st;
	uint8_t *buf;
	int fd, i, status = 0;
	uint64_t n;
	const char *v;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "iohost: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, SEQ_BS) != 0) {
		fprintf(stderr, "iohost: out of memory\n");
		return 1;
	}
	memset(buf, 0, SEQ_BS);
	printf("iobench: disk capacity=%llu queue=1\n", (unsigned long long)st.st_size);
	for (i = 0; i < argc; i++) {
		const char *w = argv[i];
		int rc;

		if (value_of(w, "qd") != NULL)
			continue; /* one request at a time: see the header */
		if ((v = value_of(w, "seqread")) != NULL && parse_u64(v, &n) == 0)
			rc = blk_run(fd, buf, "seqread", 0, 0, SEQ_BS, n, (uint64_t)st.st_size);
		else if ((v = value_of(w, "seqwrite")) != NULL && parse_u64(v, &n) == 0)
			rc = blk_run(fd, buf, "seqwrite", 1, 0, SEQ_BS, n, (uint64_t)st.st_size);
		else if ((v = value_of(w, "randread")) != NULL && parse_u64(v, &n) == 0)
			rc = blk_run(fd, buf, "randread", 0, 1, RAND_BS, n, (uint64_t)st.st_size);
		else {
			printf("iobench: unknown arg %s\n", w);
			rc = -1;
		}
		if (rc != 0)
			status = 1;
	}
	printf("iobench: done status=%d\n", status);
	free(buf);
	close(fd);
	return status;
}

/* ------------------------------------------------------------ tx */

static int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd, hdr = VNET_HDR;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "iohost: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		fprintf(stderr, "iohost: tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int tx_run(int fd, uint32_t size, uint64_t count)
{
	static uint8_t hdr[VNET_HDR];
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint8_t frame[FRAME_MAX];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {frame, size}};
	uint64_t start, ns, i, bytes;

	memset(frame, 0xff, 6);
	memcpy(frame + 6, src, sizeof(src));
	frame[12] = ETH_P_BENCH >> 8;
	frame[13] = ETH_P_BENCH & 0xff;
	for (i = ETH_HDR; i < size; i++)
		frame[i] = (uint8_t)i;
	start = now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < count; i++) {
		if (writev(fd, iov, 2) != (ssize_t)(sizeof(hdr) + size)) {
			printf("iobench: error test=nettx ret=%s done=%llu\n", strerror(errno),
			       (unsigned long long)i);
			return -1;
		}
	}
	ns = now_ns(CLOCK_MONOTONIC) - start;
	bytes = count * size;
	printf(
	    "iobench: test=nettx size=%u qd=1 frames=%llu bytes=%llu ns=%llu fps=%llu MBps=%llu\n",
	    size, (unsigned long long)count, (unsigned long long)bytes, (unsigned long long)ns,
	    (unsigned long long)per_s(count, ns),
	    (unsigned long long)(per_s(bytes, ns) / MBPS_DIV));
	return 0;
}

static int cmd_tx(const char *tap, int argc, char **argv)
{
	int fd = tap_open(tap), i, status = 0;

	if (fd < 0)
		return 1;
	for (i = 0; i < argc; i++) {
		const char *v = value_of(argv[i], "nettx");
		uint64_t size, n;
		char *comma;

		if (v == NULL || (comma = strchr(v, ',')) == NULL) {
			printf("iobench: unknown arg %s\n", argv[i]);
			status = 1;
			continue;
		}
		*comma = '\0';
		if (parse_u64(v, &size) != 0 || parse_u64(comma + 1, &n) != 0 || size < ETH_HDR ||
		    size > FRAME_MAX || n == 0) {
			printf("iobench: bad nettx %s,%s\n", v, comma + 1);
			status = 1;
			continue;
		}
		if (tx_run(fd, (uint32_t)size, n) != 0)
			status = 1;
	}
	printf("iobench: done status=%d\n", status);
	close(fd);
	return status;
}

/* ------------------------------------------------------------ sink */

struct size_stat {
	uint64_t frames, first_ns, last_ns;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_sink(const char *ifname)
{
	static struct size_stat stats[FRAME_MAX + 1];
	static uint8_t bufs[SINK_BATCH][FRAME_MAX + 1];
	struct mmsghdr msgs[SINK_BATCH];
	struct iovec iovs[SINK_BATCH];
	struct sockaddr_ll sll;
	struct tpacket_stats tps;
	struct sigaction sa;
	socklen_t len = sizeof(tps);
	int fd, rcvbuf = SINK_RCVBUF, i;
	unsigned int ifindex = if_nametoindex(ifname);

	if (ifindex == 0) {
		fprintf(stderr, "iohost: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_BENCH));
	if (fd < 0) {
		fprintf(stderr, "iohost: packet socket: %s\n", strerror(errno));
		return 1;
	}
	/* Root may exceed rmem_max: room for a whole burst of frames. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_BENCH);
	sll.sll_ifindex = (int)ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "iohost: bind %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < SINK_BATCH; i++) {
		iovs[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("iohost: sink ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd pfd = {fd, POLLIN, 0};
		uint64_t t;
		int n;

		if (poll(&pfd, 1, SINK_POLL_MS) <= 0)
			continue;
		n = recvmmsg(fd, msgs, SINK_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		t = now_ns(CLOCK_MONOTONIC);
		for (i = 0; i < n; i++) {
			struct size_stat *s =
			    &stats[msgs[i].msg_len > FRAME_MAX ? FRAME_MAX : msgs[i].msg_len];

			if (s->frames++ == 0)
				s->first_ns = t;
			s->last_ns = t;
		}
	}
	memset(&tps, 0, sizeof(tps));
	(void)getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &tps, &len);
	for (i = 0; i <= FRAME_MAX; i++)
		if (stats[i].frames > 0)
			printf("iobench: sink size=%d frames=%llu ns=%llu drops=%u\n", i,
			       (unsigned long long)stats[i].frames,
			       (unsigned long long)(stats[i].last_ns - stats[i].first_ns),
			       tps.tp_drops);
	close(fd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: iohost tsc | blk IMAGE WORD... | tx TAP WORD... | sink IFACE\n");
	return 2;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "tsc") == 0)
		return cmd_tsc();
	if (argc >= 3 && strcmp(argv[1], "blk") == 0)
		return cmd_blk(argv[2], argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[1], "tx") == 0)
		return cmd_tx(argv[2], argc - 3, argv + 3);
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return cmd_sink(argv[2]);
	return usage();
}
