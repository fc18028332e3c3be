// SPDX-License-Identifier: Apache-2.0
/*
 * test_snapshot_paths.c: a snapshot of every virtio device stays inside the
 * production VMM seccomp filter, with live host resources: io_uring
 * requests in flight, a request waiting for its rate limiter, receive
 * chains held and frames in the "tap", an open vsock connection.
 *
 * Each case runs in a forked child laid out as the two processes would be:
 * the device with its live work (the process saved) and its successor (what
 * the new process builds before it confines itself), both created
 * unfiltered. The child then installs the VMM filter and does what the VMM
 * thread does: quiesce, save, resume, serve, quiesce and save again; then,
 * guest memory copied as the memory file would restore it, load into the
 * successor and serve a request there. A syscall outside the filter kills
 * the child with SIGSYS, which fails the case.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

#define QSIZE	    16
#define MAX_Q	    3
#define SECTOR	    512
#define DISK_BYTES  (64u << 10)
#define BLK_REQS    4
#define FRAME_BYTES 60
#define RXBUF	    2048
#define CID	    7
#define HOST_PORT   1234
#define GUEST_PORT  4000
#define PUMP_ROUNDS 200
#define BUF_REGION  (256u << 10) /* each queue's share of RAM for its buffers */

/* One device on its transport, the driver's rings in one RAM. */
struct rig {
	struct vqb ram; /* owns the RAM; queue 0's rings */
	struct vqb q[MAX_Q];
	unsigned int nq;
	struct virtio_mmio_dev *t;
	void *dev;
	struct test_watcher *tw; /* the VMM loop, as the device's fds see it */
};

static void no_irq(void *ctx)
{
	(void)ctx;
}

static void rig_init(struct rig *r, unsigned int nq)
{
	uint64_t base;

	memset(r, 0, sizeof(*r));
	r->nq = nq;
	vqb_init(&r->ram, QSIZE);
	r->q[0] = r->ram;
	for (unsigned int i = 1; i < nq; i++) {
		r->q[i] = r->ram;
		r->q[i].desc = vqb_alloc(&r->ram, VIRTQ_DESC_BYTES(QSIZE));
		r->q[i].avail = vqb_alloc(&r->ram, VIRTQ_AVAIL_BYTES(QSIZE));
		r->q[i].used = vqb_alloc(&r->ram, VIRTQ_USED_BYTES(QSIZE));
	}
	base = r->ram.next_free;
	for (unsigned int i = 0; i < nq; i++)
		r->q[i].next_free = base + i * BUF_REGION;
}

/* successor_init: (s) over a RAM of its own laid out as (r)'s. */
static void successor_init(struct rig *s, const struct rig *r)
{
	*s = *r;
	vqb_clone(&s->ram, &r->ram);
	for (unsigned int i = 0; i < s->nq; i++)
		vqb_share(&s->q[i], &s->ram);
	s->t = NULL;
	s->dev = NULL;
	s->tw = NULL;
}

/* rig_attach: (dev) on its transport, its fds in a test watcher (before the filter). */
static void rig_attach(struct rig *r, const struct virtio_device_ops *ops, void *dev)
{
	CHECK(dev != NULL);
	r->dev = dev;
	r->t = virtio_mmio_create(ops, dev, &r->ram.gm, no_irq, NULL);
	CHECK(r->t != NULL);
	r->tw = tw_new();
	CHECK(virtio_mmio_attach(r->t, &r->tw->w) == 0);
}

/* driver_up: 3.1.1 with every queue, VERSION_1 and the device's own features. */
static void driver_up(struct rig *r)
{
	struct virtio_mmio_dev *t = r->t;
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint32_t lo;

	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	vqb_mmio_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = vqb_mmio_read(t, VIRTIO_MMIO_DEVICE_FEATURES);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, lo);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	s |= VIRTIO_STATUS_FEATURES_OK;
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	for (unsigned int i = 0; i < r->nq; i++)
		vqb_queue_regs(t, &r->q[i], i);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	CHECK(virtio_mmio_status(t) == (s | VIRTIO_STATUS_DRIVER_OK));
}

/* post_buf: one buffer of (len) bytes as descriptor (desc), published; returns its gpa. */
static uint64_t post_buf(struct vqb *q, uint16_t desc, uint32_t len, bool writable)
{
	uint64_t gpa;

	vqb_chain(q, desc, 1, &len, &writable, &gpa);
	vqb_publish(q, desc);
	return gpa;
}

/* pump: what the VMM loop does: the device's events while one of its fds is ready. */
static void pump(struct rig *r)
{
	for (int i = 0; i < PUMP_ROUNDS; i++)
		if (tw_poll(r->tw, r->t, i < 10 ? 10 : 0) != 1)
			break;
}

/*
 * snapshot: under the VMM filter, (old) is quiesced, saved, resumed and
 * served, then quiesced and saved again; its RAM is copied into (new)'s, and
 * (new) loads the state and is served.
 */
static void snapshot(struct rig *old, struct rig *new)
{
	static struct virtio_mmio_state st;
	struct vlog_err err = {0};

	CHECK(seccomp_install(SECCOMP_THREAD_VMM, NULL) == 0);
	CHECK(virtio_mmio_quiesce(old->t) == 0);
	virtio_mmio_save_state(old->t, &st);
	tw_resume(old->tw, old->t);
	pump(old);
	CHECK(virtio_mmio_quiesce(old->t) == 0);
	virtio_mmio_save_state(old->t, &st);
	memcpy(new->ram.ram, old->ram.ram, VQB_RAM_SIZE);
	if (virtio_mmio_load_state(new->t, &st, &err) != 0) {
		fprintf(stderr, "load: %s\n", err.msg);
		child_exit(CHILD_FAILED);
	}
	pump(new);
}

static void run_case(void (*child)(void))
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child();
		child_exit(CHILD_OK);
	}
	child_wait(pid, "the VMM filter");
}

/* ---- virtio-blk ---- */

/* blk_post: a read of (sector) as descriptors 3i..3i+2 on queue 0, published. */
static void blk_post(struct vqb *q, uint16_t i, uint64_t sector)
{
	uint64_t hdr = vqb_alloc(q, 16), data = vqb_alloc(q, SECTOR), status = vqb_alloc(q, 1);
	uint32_t type = VIRTIO_BLK_T_IN;
	uint16_t d = (uint16_t)(3 * i);

	memcpy(vqb_host(q, hdr), &type, 4);
	memcpy((uint8_t *)vqb_host(q, hdr) + 8, &sector, 8);
	vqb_desc(q, q->desc, d, hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	vqb_desc(q, q->desc, (uint16_t)(d + 1), data, SECTOR,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(d + 2));
	vqb_desc(q, q->desc, (uint16_t)(d + 2), status, 1, VIRTQ_DESC_F_WRITE, 0);
	vqb_publish(q, d);
}

static void *blk_make(const char *path, enum blk_engine engine,
		      const struct virtio_rate_limit *limiter, const struct virtio_device_ops **ops)
{
	struct virtio_blk_config cfg = {.path = path, .engine = engine, .limiter = limiter};

	return blk_create(&cfg, ops, NULL);
}

/*
 * blk_case: requests in flight (io_uring) or one waiting for its limiter
 * (sync, one operation per 100 s) at the save; all of them served in the end.
 */
static void blk_case(enum blk_engine engine, const struct virtio_rate_limit *limiter)
{
	static struct rig old, new;
	const struct virtio_device_ops *ops;
	char path[] = "/tmp/ember-snap-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0 && ftruncate(fd, DISK_BYTES) == 0);
	close(fd);
	rig_init(&old, 1);
	old.dev = blk_make(path, engine, limiter, &ops);
	rig_attach(&old, ops, old.dev);
	if (engine == BLK_ENGINE_IO_URING && blk_engine(old.dev) != BLK_ENGINE_IO_URING)
		child_exit(CHILD_OK); /* the host refuses io_uring: nothing to show */
	driver_up(&old);
	for (uint16_t i = 0; i < BLK_REQS; i++)
		blk_post(&old.q[0], i, i);
	virtio_mmio_notify(old.t, 0);
	successor_init(&new, &old);
	rig_attach(&new, ops, blk_make(path, engine, limiter, &ops));
	unlink(path);

	snapshot(&old, &new);
	if (limiter == NULL) {
		CHECK(vqb_used_idx(&new.q[0]) == BLK_REQS); /* all done at the quiesce */
	} else {
		CHECK(vqb_used_idx(&new.q[0]) == 1); /* the rest wait for tokens */
		CHECK(blk_set_limiter(new.dev, &(struct virtio_rate_limit){0}) == 0);
		CHECK(vqb_used_idx(&new.q[0]) == BLK_REQS);
	}
	blk_post(&new.q[0], BLK_REQS, 1);
	virtio_mmio_notify(new.t, 0);
	pump(&new);
	CHECK(vqb_used_idx(&new.q[0]) == BLK_REQS + 1);
}

static void blk_uring_child(void)
{
	blk_case(BLK_ENGINE_IO_URING, NULL);
}

static void blk_limited_child(void)
{
	static const struct virtio_rate_limit one_op = {.ops = {.size = 1, .refill_time = 100000}};

	blk_case(BLK_ENGINE_SYNC, &one_op);
}

static void test_blk_io_uring(void **state)
{
	(void)state;
	run_case(blk_uring_child);
}

static void test_blk_rate_limited(void **state)
{
	(void)state;
	run_case(blk_limited_child);
}

/* ---- virtio-net: receive chains held, frames in the "tap" at the save ---- */

static void net_child(void)
{
	static struct rig old, new;
	static const struct virtio_net_config cfg = {.tap_name = "test0"};
	const struct virtio_device_ops *ops;
	uint8_t frame[VIRTIO_NET_HDR_BYTES + FRAME_BYTES] = {0};
	int sv[2], sv2[2];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv2) == 0);
	rig_init(&old, 2);
	old.dev = net_create_with_fd(&cfg, sv[0], &ops, NULL);
	rig_attach(&old, ops, old.dev);
	driver_up(&old);
	for (uint16_t i = 0; i < 4; i++)
		post_buf(&old.q[NET_RXQ], i, RXBUF, true);
	virtio_mmio_notify(old.t, NET_RXQ); /* the tap is empty: a chain is held */
	memcpy(vqb_host(&old.q[NET_TXQ], post_buf(&old.q[NET_TXQ], 0, sizeof(frame), false)), frame,
	       sizeof(frame));
	virtio_mmio_notify(old.t, NET_TXQ);
	CHECK(send(sv[1], frame, sizeof(frame), 0) == (ssize_t)sizeof(frame));
	successor_init(&new, &old);
	rig_attach(&new, ops, net_create_with_fd(&cfg, sv2[0], &ops, NULL));

	snapshot(&old, &new);
	CHECK(vqb_used_idx(&old.q[NET_RXQ]) == 1); /* served between the two saves */
	/* the host side of the "tap" (another process in real life) */
	CHECK(write(sv2[1], frame, sizeof(frame)) == (ssize_t)sizeof(frame));
	pump(&new);
	CHECK(vqb_used_idx(&new.q[NET_RXQ]) == 2);
	CHECK(vqb_used_idx(&new.q[NET_TXQ]) == 1);
}

static void test_net(void **state)
{
	(void)state;
	run_case(net_child);
}

/* ---- virtio-rng: a request waiting for its limiter ---- */

static void rng_child(void)
{
	static struct rig old, new;
	static const struct virtio_rate_limit one_op = {.ops = {.size = 1, .refill_time = 100000}};
	const struct virtio_device_ops *ops;

	rig_init(&old, 1);
	old.dev = rng_create_limited(&one_op, NULL, &ops, NULL);
	rig_attach(&old, ops, old.dev);
	driver_up(&old);
	post_buf(&old.q[0], 0, 64, true);
	post_buf(&old.q[0], 1, 64, true);
	virtio_mmio_notify(old.t, 0);
	successor_init(&new, &old);
	rig_attach(&new, ops, rng_create_limited(&one_op, NULL, &ops, NULL));

	snapshot(&old, &new);
	CHECK(vqb_used_idx(&new.q[0]) == 1);
	CHECK(rng_set_limiter(new.dev, &(struct virtio_rate_limit){0}) == 0);
	CHECK(vqb_used_idx(&new.q[0]) == 2);
}

static void test_rng(void **state)
{
	(void)state;
	run_case(rng_child);
}

/* ---- virtio-vsock: a guest connection open at the save ---- */

static void vsock_tx(struct rig *r, uint16_t desc, uint16_t op)
{
	struct virtio_vsock_hdr h = {.src_cid = CID,
				     .dst_cid = VSOCK_HOST_CID,
				     .src_port = GUEST_PORT,
				     .dst_port = HOST_PORT,
				     .type = VSOCK_TYPE_STREAM,
				     .op = op,
				     .buf_alloc = 65536};
	struct vqb *q = &r->q[VSOCK_QUEUE_TX];

	memcpy(vqb_host(q, post_buf(q, desc, sizeof(h), false)), &h, sizeof(h));
	virtio_mmio_notify(r->t, VSOCK_QUEUE_TX);
}

static void vsock_child(void)
{
	static struct rig old, new;
	const struct virtio_device_ops *ops;
	char dir[] = "/tmp/ember-snap-XXXXXX", uds[80], port_path[96];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct virtio_vsock_config cfg = {.guest_cid = CID, .uds_path = uds};
	uint64_t ev;
	uint32_t id;
	int lfd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	snprintf(port_path, sizeof(port_path), "%s_%u", uds, HOST_PORT);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", port_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	      listen(lfd, 8) == 0);
	rig_init(&old, 3);
	old.dev = vsock_create(&cfg, &ops, NULL);
	rig_attach(&old, ops, old.dev);
	driver_up(&old);
	for (uint16_t i = 0; i < 4; i++)
		post_buf(&old.q[VSOCK_QUEUE_RX], i, RXBUF, true);
	ev = post_buf(&old.q[VSOCK_QUEUE_EVENT], 0, 4, true);
	virtio_mmio_notify(old.t, VSOCK_QUEUE_RX);
	vsock_tx(&old, 0, VSOCK_OP_REQUEST);
	pump(&old);
	CHECK(vsock_conn_count(old.dev) == 1);
	successor_init(&new, &old);
	rig_attach(&new, ops, vsock_create(&cfg, &ops, NULL));
	unlink(port_path);
	unlink(uds);
	rmdir(dir);

	snapshot(&old, &new);
	CHECK(vsock_conn_count(old.dev) == 1); /* the old process's connection lived on */
	CHECK(vqb_used_idx(&new.q[VSOCK_QUEUE_EVENT]) == 1);
	memcpy(&id, vqb_host(&new.q[VSOCK_QUEUE_EVENT], ev), sizeof(id));
	CHECK(id == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	/* the guest's old connection is unknown here: its packets get an RST */
	vsock_tx(&new, 2, VSOCK_OP_RW);
	pump(&new);
	CHECK(vqb_used_idx(&new.q[VSOCK_QUEUE_TX]) == 2);
	CHECK(vqb_used_idx(&new.q[VSOCK_QUEUE_RX]) == vqb_used_idx(&old.q[VSOCK_QUEUE_RX]) + 1);
}

static void test_vsock(void **state)
{
	(void)state;
	run_case(vsock_child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blk_io_uring), cmocka_unit_test(test_blk_rate_limited),
	    cmocka_unit_test(test_net),		 cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_vsock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
