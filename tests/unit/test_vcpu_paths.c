// SPDX-License-Identifier: Apache-2.0
/*
 * test_vcpu_paths.c: what a guest's register writes make a vCPU thread do
 * stays inside the vCPU seccomp filter, for every virtio device, while the
 * device holds live host resources (open vsock connections both ways,
 * io_uring requests in flight, frames waiting in the "tap", a posted
 * request). DESIGN.md, "What a vCPU thread may do".
 *
 * Each case runs in a forked child laid out like ember: a "vCPU" thread
 * started first installs the production vCPU filter, then the main thread
 * installs the production VMM filter, sets up the live resources through the
 * VMM-thread entry points, and lets the vCPU thread sweep the registers:
 * every QueueNotify (served queues and bogus ones), config reads and writes,
 * InterruptAck, a reset (status 0) with everything live, a full driver
 * re-initialisation (activate), and a second reset. The main thread then
 * does what the VMM loop would (the handed-off notifications, the device's
 * events) and checks the outcome. A syscall outside a filter kills the
 * child with SIGSYS, which fails the case.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "filtered_child.h"

#include "blk.h"
#include "mmio.h"
#include "net.h"
#include "rng.h"
#include "seccomp.h"
#include "test_watcher.h"
#include "vq_builder.h"
#include "vsock.h"

#define QSIZE		 64
#define MAX_Q		 3
#define CID		 7
#define GUEST_PORT	 4000
#define HOST_PORT	 1234 /* the guest connects to <uds>_1234 */
#define HOST_ASKS	 5678 /* a host client's CONNECT line */
#define DISK_BYTES	 (1u << 20)
#define SECTOR		 512
#define BLK_REQS	 4
#define NET_FRAMES	 3
#define FRAME_BYTES	 60
#define PUMP_ROUNDS	 2000
#define VSOCK_RX_BUFS	 8
#define VSOCK_RX_PAYLOAD 256
#define BUF_REGION	 (512u << 10) /* each queue's share of RAM for its buffers */

/* One device on its transport, with the driver's rings in one RAM. */
struct rig {
	struct vqb ram; /* owns the RAM; queue 0's rings */
	struct vqb q[MAX_Q];
	unsigned int nq;
	uint64_t features; /* the device's, accepted by the driver */
	void *dev;
	struct virtio_mmio_dev *t;
	struct test_watcher *tw; /* the device's own fds, as the VMM loop holds them */
	int kick[MAX_Q];	 /* the handoff's "ioeventfds" */
	pthread_barrier_t filtered, go, done;
};

static void no_irq(void *ctx)
{
	(void)ctx;
}

/* handoff: what virtio_slots does: ring the queue's eventfd (a write). */
static void handoff(void *ctx, unsigned int queue)
{
	struct rig *r = ctx;
	uint64_t one = 1;

	if (queue < r->nq && write(r->kick[queue], &one, sizeof(one)) < 0)
		child_exit(CHILD_FAILED);
}

static void rig_init(struct rig *r, unsigned int nq)
{
	memset(r, 0, sizeof(*r));
	r->nq = nq;
	vqb_init(&r->ram, QSIZE);
	r->q[0] = r->ram;
	for (unsigned int i = 1; i < nq; i++) {
		r->q[i] = r->ram;
		r->q[i].avail_idx = 0;
		r->q[i].desc = vqb_alloc(&r->ram, VIRTQ_DESC_BYTES(QSIZE));
		r->q[i].avail = vqb_alloc(&r->ram, VIRTQ_AVAIL_BYTES(QSIZE));
		r->q[i].used = vqb_alloc(&r->ram, VIRTQ_USED_BYTES(QSIZE));
	}
	/* Each queue's buffers from a region of its own (the copies' allocators are apart). */
	uint64_t base = r->ram.next_free;
	for (unsigned int i = 0; i < nq; i++)
		r->q[i].next_free = base + i * BUF_REGION;
	for (unsigned int i = 0; i < nq; i++) {
		r->kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		CHECK(r->kick[i] >= 0);
	}
}

static void rig_attach(struct rig *r, const struct virtio_device_ops *ops, void *dev)
{
	CHECK(dev != NULL);
	r->dev = dev;
	r->t = virtio_mmio_create(ops, dev, &r->ram.gm, no_irq, NULL);
	CHECK(r->t != NULL);
	virtio_mmio_set_handoff(r->t, handoff, r);
	r->tw = tw_new();
	CHECK(virtio_mmio_attach(r->t, &r->tw->w) == 0);
	r->features = ((uint64_t)vqb_mmio_read(r->t, VIRTIO_MMIO_DEVICE_FEATURES)) |
		      VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

/* driver_up: 3.1.1 with every queue, fresh rings; from any thread. */
static void driver_up(struct rig *r)
{
	struct virtio_mmio_dev *t = r->t;
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, 0);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)r->features);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(r->features >> 32));
	s |= VIRTIO_STATUS_FEATURES_OK;
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	for (unsigned int i = 0; i < r->nq; i++) {
		struct vqb *b = &r->q[i];
		memset(vqb_host(b, b->avail), 0, VIRTQ_AVAIL_BYTES(QSIZE));
		memset(vqb_host(b, b->used), 0, VIRTQ_USED_BYTES(QSIZE));
		b->avail_idx = 0;
		vqb_queue_regs(t, b, i);
	}
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
}

/* post_buf: one buffer of (len) bytes as descriptor (desc), published; returns its gpa. */
static uint64_t post_buf(struct vqb *q, uint16_t desc, uint32_t len, bool writable)
{
	uint64_t gpa;

	vqb_chain(q, desc, 1, &len, &writable, &gpa);
	vqb_publish(q, desc);
	return gpa;
}

static uint32_t status(struct rig *r)
{
	return virtio_mmio_status(r->t);
}

/* sweep: every register path a guest can take, on the vCPU thread. */
static void sweep(struct rig *r)
{
	uint8_t cfg[8];

	for (unsigned int q = 0; q <= r->nq + 1; q++)
		vqb_mmio_write(r->t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	vqb_mmio_write(r->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000);
	for (uint64_t off = 0; off < 64; off += 4) {
		virtio_mmio_access(r->t, VIRTIO_MMIO_CONFIG + off, cfg, 4, false);
		memset(cfg, 0xa5, sizeof(cfg));
		virtio_mmio_access(r->t, VIRTIO_MMIO_CONFIG + off, cfg, 4, true);
	}
	vqb_mmio_write(r->t, VIRTIO_MMIO_INTERRUPT_ACK, ~0u);
	(void)vqb_mmio_read(r->t, VIRTIO_MMIO_INTERRUPT_STATUS);
}

static void *vcpu_thread(void *arg)
{
	struct rig *r = arg;

	if (seccomp_install(SECCOMP_THREAD_VCPU, NULL) < 0)
		child_exit(CHILD_FAILED);
	pthread_barrier_wait(&r->filtered);
	pthread_barrier_wait(&r->go);
	sweep(r);
	vqb_mmio_write(r->t, VIRTIO_MMIO_STATUS, 0); /* reset, resources live */
	if (vqb_mmio_read(r->t, VIRTIO_MMIO_STATUS) != 0)
		child_exit(CHILD_FAILED);
	driver_up(r); /* activate again */
	sweep(r);
	vqb_mmio_write(r->t, VIRTIO_MMIO_STATUS, 0);
	driver_up(r);
	pthread_barrier_wait(&r->done);
	/*
	 * Never returns: a sanitizer's thread exit makes syscalls (sigaltstack)
	 * that no filter allows; the process's raw exit ends this thread.
	 */
	for (;;)
		pthread_barrier_wait(&r->done);
	return NULL;
}

/* vmm_pass: what the VMM loop does after the vCPU: handed-off queues, device events. */
static void vmm_pass(struct rig *r)
{
	uint64_t count;

	for (unsigned int q = 0; q < r->nq; q++)
		if (read(r->kick[q], &count, sizeof(count)) == sizeof(count))
			virtio_mmio_notify(r->t, q);
	tw_drain(r->tw, r->t, PUMP_ROUNDS);
}

/*
 * struct scenario: a device with live resources. setup runs unfiltered
 * (ember's build); live runs under the VMM filter before the vCPU's sweep;
 * after checks the outcome once the VMM side has run.
 */
struct scenario {
	void (*setup)(struct rig *r, void *ctx);
	void (*live)(struct rig *r, void *ctx);
	void (*after)(struct rig *r, void *ctx);
};

static void child(const struct scenario *sc, void *ctx)
{
	static struct rig r;
	pthread_t th;

	sc->setup(&r, ctx);
	driver_up(&r);
	CHECK(status(&r) & VIRTIO_STATUS_DRIVER_OK);
	CHECK(pthread_barrier_init(&r.filtered, NULL, 2) == 0);
	CHECK(pthread_barrier_init(&r.go, NULL, 2) == 0);
	CHECK(pthread_barrier_init(&r.done, NULL, 2) == 0);
	CHECK(pthread_create(&th, NULL, vcpu_thread, &r) == 0);
	pthread_barrier_wait(&r.filtered);
	CHECK(seccomp_install(SECCOMP_THREAD_VMM, NULL) == 0);
	sc->live(&r, ctx);
	pthread_barrier_wait(&r.go);
	pthread_barrier_wait(&r.done);
	for (int i = 0; i < PUMP_ROUNDS / 10; i++)
		vmm_pass(&r);
	CHECK((status(&r) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) ==
	      VIRTIO_STATUS_DRIVER_OK);
	sc->after(&r, ctx);
	child_exit(CHILD_OK);
}

static void run_case(const struct scenario *sc, void *ctx)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(sc, ctx);
	child_wait(pid, "its thread's filter");
}

/* ---- virtio-blk: a request posted, and with io_uring, requests in flight ---- */

struct blk_ctx {
	enum blk_engine engine;
	char path[64];
};

/* blk_post: a read of sector (sector) on queue 0, published, not notified. */
static void blk_post(struct rig *r, uint16_t first, uint64_t sector)
{
	uint32_t lens[3] = {16, SECTOR, 1};
	bool write[3] = {false, true, true};
	uint64_t gpa[3];

	vqb_chain(&r->q[0], first, 3, lens, write, gpa);
	uint8_t *h = vqb_host(&r->q[0], gpa[0]);
	memset(h, 0, 16);
	h[0] = VIRTIO_BLK_T_IN;
	memcpy(h + 8, &sector, sizeof(sector));
	vqb_publish(&r->q[0], first);
}

static void blk_setup(struct rig *r, void *ctx)
{
	struct blk_ctx *c = ctx;
	struct virtio_blk_config cfg = {.path = c->path, .engine = c->engine};
	const struct virtio_device_ops *ops;

	rig_init(r, 1);
	void *dev = blk_create(&cfg, &ops, NULL);
	rig_attach(r, ops, dev);
	CHECK(blk_engine(dev) == c->engine);
}

static void blk_live(struct rig *r, void *ctx)
{
	(void)ctx;
	for (uint16_t i = 0; i < BLK_REQS; i++)
		blk_post(r, (uint16_t)(3 * i), i);
	/* Served on the VMM thread; with io_uring they are now in flight. */
	virtio_mmio_notify(r->t, 0);
}

static void blk_after(struct rig *r, void *ctx)
{
	(void)ctx;
	/* The device serves a new request after the resets. */
	blk_post(r, 0, 1);
	vqb_mmio_write(r->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* handed off */
	for (int i = 0; i < PUMP_ROUNDS && vqb_used_idx(&r->q[0]) == 0; i++) {
		vmm_pass(r);
		sched_yield();
	}
	CHECK(vqb_used_idx(&r->q[0]) == 1);
}

static void blk_case(enum blk_engine engine)
{
	struct blk_ctx c = {.engine = engine};
	static const struct scenario sc = {blk_setup, blk_live, blk_after};

	snprintf(c.path, sizeof(c.path), "/tmp/ember-vcpu-paths-%d.img", (int)getpid());
	int fd = open(c.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_BYTES), 0);
	close(fd);
	run_case(&sc, &c);
	unlink(c.path);
}

static void test_blk_sync(void **state)
{
	(void)state;
	blk_case(BLK_ENGINE_SYNC);
}

static void test_blk_io_uring(void **state)
{
	struct virtio_blk_config cfg = {
	    .path = "/proc/self/exe", .read_only = true, .engine = BLK_ENGINE_IO_URING};
	const struct virtio_device_ops *ops;
	void *dev = blk_create(&cfg, &ops, NULL);

	(void)state;
	assert_non_null(dev);
	bool have = blk_engine(dev) == BLK_ENGINE_IO_URING;
	ops->destroy(dev);
	if (!have)
		skip(); /* the host refuses io_uring: the sync case covers the device */
	blk_case(BLK_ENGINE_IO_URING);
}

/* ---- virtio-net: frames waiting in the "tap", a frame posted for it ---- */

struct net_ctx {
	int peer;
};

static void net_setup(struct rig *r, void *ctx)
{
	struct net_ctx *c = ctx;
	struct virtio_net_config cfg = {.tap_name = "test0"};
	const struct virtio_device_ops *ops;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	c->peer = sv[1];
	rig_init(r, 2);
	void *dev = net_create_with_fd(&cfg, sv[0], &ops, NULL);
	rig_attach(r, ops, dev);
	r->features = VIRTIO_BIT(VIRTIO_F_VERSION_1); /* plain frames, no offloads */
}

static void net_live(struct rig *r, void *ctx)
{
	struct net_ctx *c = ctx;
	uint8_t frame[VIRTIO_NET_HDR_BYTES + FRAME_BYTES] = {0};

	/* Frames for the guest, which has posted no rx buffer: they wait. */
	for (int i = 0; i < NET_FRAMES; i++)
		CHECK(write(c->peer, frame, sizeof(frame)) == (ssize_t)sizeof(frame));
	tw_drain(r->tw, r->t, PUMP_ROUNDS);
	/* A frame to send, published but not notified. */
	post_buf(&r->q[NET_TXQ], 0, sizeof(frame), false);
}

static void net_after(struct rig *r, void *ctx)
{
	struct net_ctx *c = ctx;
	uint8_t frame[VIRTIO_NET_HDR_BYTES + FRAME_BYTES] = {0};
	uint8_t got[sizeof(frame)];

	/* The device still sends after the resets: the handed-off notification. */
	while (read(c->peer, got, sizeof(got)) > 0)
		;
	post_buf(&r->q[NET_TXQ], 0, sizeof(frame), false);
	vqb_mmio_write(r->t, VIRTIO_MMIO_QUEUE_NOTIFY, NET_TXQ);
	vmm_pass(r);
	CHECK(read(c->peer, got, sizeof(got)) == (ssize_t)sizeof(frame));
}

static void test_net(void **state)
{
	static const struct scenario sc = {net_setup, net_live, net_after};
	struct net_ctx c = {.peer = -1};

	(void)state;
	run_case(&sc, &c);
}

/* ---- virtio-rng: a request posted, notified from the register ---- */

static void rng_setup(struct rig *r, void *ctx)
{
	const struct virtio_device_ops *ops;

	(void)ctx;
	rig_init(r, 1);
	void *dev = rng_create(NULL, &ops, NULL);
	rig_attach(r, ops, dev);
}

#define RNG_REQ_BYTES 64

static void rng_live(struct rig *r, void *ctx)
{
	(void)ctx;
	post_buf(&r->q[0], 0, RNG_REQ_BYTES, true);
}

static void rng_after(struct rig *r, void *ctx)
{
	(void)ctx;
	post_buf(&r->q[0], 0, RNG_REQ_BYTES, true);
	vqb_mmio_write(r->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	vmm_pass(r);
	CHECK(vqb_used_idx(&r->q[0]) == 1);
}

static void test_rng(void **state)
{
	static const struct scenario sc = {rng_setup, rng_live, rng_after};

	(void)state;
	run_case(&sc, NULL);
}

/* ---- virtio-vsock: connections open both ways ---- */

struct vsock_ctx {
	char dir[64], uds[96], host_path[112];
	int host_listener; /* <uds>_1234, for the guest's connection */
	int host_client;   /* connected to <uds>, asked CONNECT 5678 */
	int host_accepted; /* the guest's connection, seen from the host */
};

static void vsock_hdr(struct virtio_vsock_hdr *h, uint16_t op, uint32_t src, uint32_t dst)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = CID;
	h->dst_cid = VSOCK_HOST_CID;
	h->src_port = src;
	h->dst_port = dst;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = 65536;
}

static void vsock_setup(struct rig *r, void *ctx)
{
	struct vsock_ctx *c = ctx;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const struct virtio_device_ops *ops;

	snprintf(c->uds, sizeof(c->uds), "%s/v.sock", c->dir);
	snprintf(c->host_path, sizeof(c->host_path), "%s_%u", c->uds, HOST_PORT);
	struct virtio_vsock_config cfg = {.guest_cid = CID, .uds_path = c->uds};
	rig_init(r, 3);
	void *dev = vsock_create(&cfg, &ops, NULL);
	rig_attach(r, ops, dev);
	r->features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	c->host_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c->host_listener >= 0);
	memcpy(sa.sun_path, c->host_path, strlen(c->host_path) + 1);
	CHECK(bind(c->host_listener, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(c->host_listener, 4) == 0);
	c->host_client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c->host_client >= 0);
	memcpy(sa.sun_path, c->uds, strlen(c->uds) + 1);
	CHECK(connect(c->host_client, (struct sockaddr *)&sa, sizeof(sa)) == 0);
}

static void vsock_live(struct rig *r, void *ctx)
{
	struct vsock_ctx *c = ctx;
	static const char line[] = "CONNECT 5678\n";
	uint64_t gpa;

	/* rx buffers, so the device can send the guest its REQUEST and RESPONSEs. */
	for (uint16_t i = 0; i < VSOCK_RX_BUFS; i++)
		post_buf(&r->q[VSOCK_QUEUE_RX], i, VSOCK_HDR_BYTES + VSOCK_RX_PAYLOAD, true);
	/* The guest connects to host port 1234: the device connects to <uds>_1234. */
	gpa = post_buf(&r->q[VSOCK_QUEUE_TX], 0, VSOCK_HDR_BYTES, false);
	vsock_hdr(vqb_host(&r->q[VSOCK_QUEUE_TX], gpa), VSOCK_OP_REQUEST, GUEST_PORT, HOST_PORT);
	virtio_mmio_notify(r->t, VSOCK_QUEUE_TX);
	c->host_accepted = accept4(c->host_listener, NULL, NULL, SOCK_CLOEXEC);
	CHECK(c->host_accepted >= 0);
	/* A host program asks for guest port 5678: the device sends a REQUEST. */
	CHECK(write(c->host_client, line, sizeof(line) - 1) == (ssize_t)(sizeof(line) - 1));
	for (int i = 0; i < PUMP_ROUNDS && vsock_conn_count(r->dev) < 2; i++) {
		tw_drain(r->tw, r->t, PUMP_ROUNDS);
		sched_yield();
	}
	CHECK(vsock_conn_count(r->dev) == 2);
}

/* hung_up: the host end of a connection the device closed reads EOF (it is blocking). */
static bool hung_up(int fd)
{
	char b;
	ssize_t n = read(fd, &b, 1);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void vsock_after(struct rig *r, void *ctx)
{
	struct vsock_ctx *c = ctx;

	CHECK(vsock_conn_count(r->dev) == 0);
	CHECK(hung_up(c->host_accepted));
	CHECK(hung_up(c->host_client));
}

static void test_vsock(void **state)
{
	static const struct scenario sc = {vsock_setup, vsock_live, vsock_after};
	struct vsock_ctx c = {0};

	(void)state;
	snprintf(c.dir, sizeof(c.dir), "/tmp/ember-vcpu-paths.XXXXXX");
	assert_non_null(mkdtemp(c.dir));
	run_case(&sc, &c);
	snprintf(c.uds, sizeof(c.uds), "%s/v.sock", c.dir);
	snprintf(c.host_path, sizeof(c.host_path), "%s_%u", c.uds, HOST_PORT);
	unlink(c.uds);
	unlink(c.host_path);
	rmdir(c.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blk_sync), cmocka_unit_test(test_blk_io_uring),
	    cmocka_unit_test(test_net),	     cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_vsock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
