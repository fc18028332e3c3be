// SPDX-License-Identifier: Apache-2.0
/* fuzz_virtio.c: the hostile virtio driver the device harnesses share (see fuzz_virtio.h). */
#include "fuzz_virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "queue.h"
#include "vlog.h"

/* Operations per input at most: an input stays a few milliseconds even when it loops. */
#define MAX_OPS 512
/* Bytes of a readable buffer taken from the input; the rest keeps what RAM holds (zeros). */
#define FILL_MAX 64
/* What guest RAM holds while check_quiet watches it. */
#define QUIET_BYTE 0xa5
/*
 * Rounds of the device's fd events after the final reset, at most: one
 * ready fd per round (fzv_event), enough for every socket a harness opens
 * to be accepted, read and hung up, yet bounded against an fd that stays
 * ready.
 */
#define SETTLE_MAX 256
/* Snapshots loaded per input at most: each copies guest memory twice. */
#define LOADS_MAX 8
/* Bytes of the input patched into a saved state, one at a time, at most. */
#define PATCHES_MAX 16
/* Descriptors per chain at most (indirect tables may be longer than the queue). */
#define CHAIN_MAX    8
#define INDIRECT_MAX 16

enum op {
	OP_DRIVER_UP,
	OP_CHAIN,
	OP_CHAIN_NOTIFY,
	OP_INDIRECT,
	OP_NOTIFY,
	OP_EVENT,
	OP_HOST,
	OP_REG_WRITE,
	OP_REG_READ,
	OP_CONFIG,
	OP_DESC,
	OP_PUBLISH,
	OP_RING_FIELD,
	OP_POKE,
	OP_STATUS,
	OP_STATE,
	OP_COUNT
};

/* Register offsets worth aiming at, and a few that are not registers. */
static const uint16_t regs[] = {
    VIRTIO_MMIO_MAGIC_VALUE,
    VIRTIO_MMIO_VERSION,
    VIRTIO_MMIO_DEVICE_ID,
    VIRTIO_MMIO_VENDOR_ID,
    VIRTIO_MMIO_DEVICE_FEATURES,
    VIRTIO_MMIO_DEVICE_FEATURES_SEL,
    VIRTIO_MMIO_DRIVER_FEATURES,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL,
    VIRTIO_MMIO_QUEUE_SEL,
    VIRTIO_MMIO_QUEUE_NUM_MAX,
    VIRTIO_MMIO_QUEUE_NUM,
    VIRTIO_MMIO_QUEUE_READY,
    VIRTIO_MMIO_QUEUE_NOTIFY,
    VIRTIO_MMIO_INTERRUPT_STATUS,
    VIRTIO_MMIO_INTERRUPT_ACK,
    VIRTIO_MMIO_STATUS,
    VIRTIO_MMIO_QUEUE_DESC_LOW,
    VIRTIO_MMIO_QUEUE_DESC_HIGH,
    VIRTIO_MMIO_QUEUE_AVAIL_LOW,
    VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
    VIRTIO_MMIO_QUEUE_USED_LOW,
    VIRTIO_MMIO_QUEUE_USED_HIGH,
    VIRTIO_MMIO_SHM_SEL,
    VIRTIO_MMIO_SHM_LEN_LOW,
    VIRTIO_MMIO_SHM_LEN_HIGH,
    VIRTIO_MMIO_SHM_BASE_LOW,
    VIRTIO_MMIO_SHM_BASE_HIGH,
    VIRTIO_MMIO_CONFIG_GENERATION,
    VIRTIO_MMIO_CONFIG,
    VIRTIO_MMIO_CONFIG + 4,
    VIRTIO_MMIO_CONFIG + 8,
    0x0ff, /* unaligned, below config */
    0xffc, /* last word of the window */
};

static void fzv_line(void *opaque, enum vlog_level level, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* fzv_line: format the line (so the formats run), print it only to a stream in (opaque). */
static void fzv_line(void *opaque, enum vlog_level level, int errnum, const char *fmt, va_list ap)
{
	char line[1024];
	FILE *out = opaque;

	(void)level;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (out == NULL)
		return;
	if (errnum != 0)
		fprintf(out, "%s: %s\n", line, strerror(errnum));
	else
		fprintf(out, "%s\n", line);
}

void fzv_quiet_logs(void)
{
	vlog_set_sink(fzv_line, getenv("FUZZ_LOG") != NULL ? stderr : NULL);
}

static void irq(void *ctx)
{
	struct fzv *v = ctx;

	v->irqs++;
}

/* The watcher: a real epoll set, as the device's fds would be in the monitor's loop. */
static int fzv_watch(void *ctx, int fd, uint32_t events, uint64_t tag)
{
	struct fzv *v = ctx;
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)fd};

	FZ_CHECK(fd >= 0 && fd < FZV_MAX_FDS, "fd %d", fd);
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	v->tags[fd] = tag;
	return 0;
}

static int fzv_rearm(void *ctx, int fd, uint32_t events)
{
	struct fzv *v = ctx;
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)fd};

	return epoll_ctl(v->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

static void fzv_unwatch(void *ctx, int fd)
{
	struct fzv *v = ctx;

	(void)epoll_ctl(v->epfd, EPOLL_CTL_DEL, fd, NULL);
}

bool fzv_event(struct fzv *v)
{
	struct epoll_event ev;

	/* One event per wait: its fd cannot have been unwatched since. */
	if (epoll_wait(v->epfd, &ev, 1, 0) != 1)
		return false;
	(void)virtio_mmio_fd_ready(v->t, v->tags[ev.data.u64], ev.events);
	return true;
}

void fzv_attach(struct fzv *v, const struct virtio_device_ops *ops, void *dev,
		const struct fzv_hooks *hooks, void *ctx)
{
	memset(v, 0, sizeof(*v));
	v->ram = aligned_alloc(4096, FZV_RAM_SIZE);
	v->ram2 = aligned_alloc(4096, FZV_RAM2_SIZE);
	v->saved_ram = malloc(FZV_RAM_SIZE);
	v->saved_ram2 = malloc(FZV_RAM2_SIZE);
	FZ_CHECK(v->ram != NULL && v->ram2 != NULL && v->saved_ram != NULL && v->saved_ram2 != NULL,
		 "out of memory");
	memset(v->ram, 0, FZV_RAM_SIZE);
	memset(v->ram2, 0, FZV_RAM2_SIZE);
	FZ_CHECK(gmem_add_region(&v->gm, FZV_RAM_GPA, FZV_RAM_SIZE, v->ram) == 0, "gmem");
	FZ_CHECK(gmem_add_region(&v->gm, FZV_RAM2_GPA, FZV_RAM2_SIZE, v->ram2) == 0, "gmem");
	FZ_CHECK(dev != NULL, "%s: device not created", ops->name);
	v->t = virtio_mmio_create(ops, dev, &v->gm, irq, v);
	FZ_CHECK(v->t != NULL, "%s: transport not created", ops->name);
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	FZ_CHECK(v->epfd >= 0, "epoll_create1");
	v->watcher = (struct virtio_watcher){
	    .ctx = v, .watch = fzv_watch, .rearm = fzv_rearm, .unwatch = fzv_unwatch};
	FZ_CHECK(virtio_mmio_attach(v->t, &v->watcher) == 0, "%s: attach", ops->name);
	v->dev = dev;
	v->nq = virtio_mmio_num_queues(v->t);
	FZ_CHECK(v->nq <= FZV_MAX_QUEUES, "%s: %u queues", ops->name, v->nq);
	v->hooks = hooks;
	v->ctx = ctx;
}

/* ---- registers ---- */

/* transport_access: one transport access of (len) bytes through an exactly sized buffer. */
static void transport_access(struct fzv *v, uint64_t off, uint8_t *data, uint32_t len,
			     bool is_write)
{
	/* Heap-allocated to its length so ASan sees a device writing past it. */
	uint8_t *buf = malloc(len ? len : 1);

	FZ_CHECK(buf != NULL, "out of memory");
	memcpy(buf, data, len);
	virtio_mmio_access(v->t, off, buf, len, is_write);
	memcpy(data, buf, len);
	free(buf);
}

void fzv_reg_write(struct fzv *v, uint64_t off, uint32_t val)
{
	transport_access(v, off, (uint8_t *)&val, 4, true);
}

uint32_t fzv_reg_read(struct fzv *v, uint64_t off)
{
	uint32_t val = 0;

	transport_access(v, off, (uint8_t *)&val, 4, false);
	return val;
}

static uint64_t pick_reg(struct fz *in)
{
	uint8_t b = fz_u8(in);

	if (b < sizeof(regs) / sizeof(regs[0]))
		return regs[b];
	if (b < 0xf0)
		return regs[b % (sizeof(regs) / sizeof(regs[0]))];
	return fz_u16(in) % (VIRTIO_MMIO_WINDOW + 0x100);
}

static uint32_t pick_access_len(struct fz *in)
{
	static const uint32_t odd[] = {1, 2, 8, 3, 0, 4096};
	uint8_t b = fz_u8(in);

	return (b & 7) != 0 ? 4 : odd[(b >> 3) % (sizeof(odd) / sizeof(odd[0]))];
}

static void reg_access(struct fzv *v, struct fz *in, bool is_write)
{
	uint64_t off = pick_reg(in);
	uint32_t len = pick_access_len(in);
	uint8_t data[4096];

	memset(data, 0, sizeof(data));
	if (is_write)
		fz_fill(in, data, len < 8 ? len : 8);
	transport_access(v, off, data, len, is_write);
}

static void config_access(struct fzv *v, struct fz *in)
{
	uint8_t b = fz_u8(in);
	uint32_t len = 1u << (b & 3); /* 1, 2, 4, 8 */
	uint64_t off = VIRTIO_MMIO_CONFIG + fz_u8(in);
	uint8_t data[8] = {0};

	if (b & 4)
		fz_fill(in, data, len);
	transport_access(v, off, data, len, b & 4);
}

/* ---- the driver's bookkeeping ---- */

void fzv_reset(struct fzv *v)
{
	fzv_reg_write(v, VIRTIO_MMIO_STATUS, 0);
	memset(v->q, 0, sizeof(v->q));
}

void fzv_clear_rings(struct fzv *v)
{
	memset(v->ram, 0, FZV_DATA_GPA - FZV_RAM_GPA);
}

uint64_t fzv_gpa(struct fzv *v, struct fz *in)
{
	uint8_t k = fz_u8(in) % 16;

	(void)v;
	if (k < 6)
		return FZV_DATA_GPA + ((fz_u32(in) % (FZV_DATA_END - FZV_DATA_GPA)) & ~15ull);
	if (k < 10)
		return FZV_DATA_GPA + fz_u32(in) % (FZV_DATA_END - FZV_DATA_GPA);
	if (k < 12)
		return FZV_RAM2_GPA + fz_u16(in) % FZV_RAM2_SIZE;
	if (k == 12)
		return FZV_RAM_GPA + FZV_RAM_SIZE - fz_u8(in);
	if (k == 13)
		return FZV_RAM2_GPA + FZV_RAM2_SIZE - fz_u8(in);
	if (k == 14)
		return FZV_RAM_GPA + fz_u16(in) % (FZV_DATA_GPA - FZV_RAM_GPA); /* into the rings */
	return fz_u64(in);
}

/* alloc: (len) bytes of the buffer area, wrapping around; 0 when it cannot hold them. */
static uint64_t alloc(struct fzv *v, uint64_t len)
{
	uint64_t gpa;

	if (len > FZV_DATA_END - FZV_DATA_GPA)
		return 0;
	if (v->heap < FZV_DATA_GPA || len > FZV_DATA_END - v->heap)
		v->heap = FZV_DATA_GPA;
	gpa = v->heap;
	v->heap = (gpa + len + 15) & ~15ull;
	return gpa;
}

/* pick_len: a buffer length: mostly small, sometimes one a device treats specially. */
static uint32_t pick_len(struct fz *in)
{
	static const uint32_t special[] = {
	    0,	  1,	 12,	16,    17,    44,    45,	 512,	     513,	1514,
	    4096, 65536, 65550, 65562, 65580, 65581, 0x7fffffff, 0x80000000, 0xffffffff};
	uint8_t b = fz_u8(in);

	switch (b & 7) {
	case 0:
		return b >> 3;
	case 1:
		return fz_u8(in);
	case 2:
		return fz_u16(in);
	case 3:
		return special[(b >> 3) % (sizeof(special) / sizeof(special[0]))];
	case 4:
		return fz_u32(in);
	case 5:
		return 512u * (1u + (b >> 3) % 8);
	case 6:
		return 1u + fz_u8(in);
	default:
		return 44u + fz_u8(in);
	}
}

static void put_desc(struct fzv *v, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[VIRTQ_DESC_SIZE];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	(void)gmem_write(&v->gm, table + (uint64_t)VIRTQ_DESC_SIZE * i, d, sizeof(d));
}

static void put16(struct fzv *v, uint64_t gpa, uint16_t val)
{
	(void)gmem_write(&v->gm, gpa, &val, sizeof(val));
}

/* publish: (head) into the avail ring of (q), then avail->idx. */
static void publish(struct fzv *v, struct fzv_queue *q, uint16_t head)
{
	uint16_t size = q->size ? q->size : 1;

	put16(v, q->avail + 4 + 2ull * (q->avail_idx % size), head);
	q->avail_idx++;
	put16(v, q->avail + 2, q->avail_idx);
}

/* queue_of: the queue an operation names, NULL when none was set up. */
static struct fzv_queue *queue_of(struct fzv *v, struct fz *in, unsigned int *index)
{
	unsigned int i = fz_u8(in) % (v->nq ? v->nq : 1);

	*index = i;
	return v->q[i].size != 0 ? &v->q[i] : NULL;
}

/* ---- driver operations ---- */

void fzv_driver_up(struct fzv *v, struct fz *in)
{
	uint8_t mode = fz_u8(in);
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t offered, want;

	fzv_reset(v);
	fzv_reg_write(v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fzv_reg_write(v, VIRTIO_MMIO_STATUS, s);
	fzv_reg_write(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = fzv_reg_read(v, VIRTIO_MMIO_DEVICE_FEATURES);
	fzv_reg_write(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)fzv_reg_read(v, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	switch (mode & 3) {
	case 0:
		want = offered;
		break;
	case 1:
		want = offered & fz_u64(in);
		break;
	case 2:
		want = fz_u64(in);
		break;
	default:
		want = offered & ~(VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
				   VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
		break;
	}
	fzv_reg_write(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fzv_reg_write(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	fzv_reg_write(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fzv_reg_write(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	s |= VIRTIO_STATUS_FEATURES_OK;
	fzv_reg_write(v, VIRTIO_MMIO_STATUS, s);

	for (unsigned int i = 0; i < v->nq; i++) {
		struct fzv_queue *q = &v->q[i];
		uint8_t qm = fz_u8(in);
		uint32_t size;

		if (((qm >> 2) & 3) == 3)
			continue; /* this queue stays not ready */
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_SEL, i);
		switch (qm & 3) {
		case 0:
			size = fzv_reg_read(v, VIRTIO_MMIO_QUEUE_NUM_MAX);
			break;
		case 1:
			size = 1u << (fz_u8(in) % 10);
			break;
		case 2:
			size = fz_u8(in) % 17;
			break;
		default:
			size = fz_u16(in);
			break;
		}
		if (((qm >> 2) & 3) == 2) {
			q->desc = fzv_gpa(v, in);
			q->avail = fzv_gpa(v, in);
			q->used = fzv_gpa(v, in);
		} else {
			q->desc = FZV_RAM_GPA + i * FZV_RING_STRIDE;
			q->avail = q->desc + 0x1000;
			q->used = q->desc + 0x2000;
		}
		q->size = (uint16_t)(size != 0 && size <= 0xffff ? size : 1);
		q->avail_idx = q->next_desc = 0;
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_NUM, size);
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(q->avail >> 32));
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(q->used >> 32));
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	if (!(mode & 0x80))
		fzv_reg_write(v, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
}

/* fill: a readable buffer's first bytes from the input. */
static void fill(struct fzv *v, struct fz *in, uint64_t gpa, uint32_t len)
{
	uint32_t n = len < FILL_MAX ? len : FILL_MAX;
	uint8_t *p = gmem_ptr(&v->gm, gpa, n);

	if (p != NULL)
		fz_fill(in, p, n);
}

/*
 * chain: a descriptor chain of input-chosen buffers, direct in the queue's
 * table or (indirect) in a table of its own; published and notified when the
 * input says so. Returns the queue index, or -1 when none is set up.
 */
static int chain(struct fzv *v, struct fz *in, bool indirect, bool force_notify)
{
	unsigned int qi;
	struct fzv_queue *q = queue_of(v, in, &qi);
	uint8_t nb = fz_u8(in), wmask = fz_u8(in), how = fz_u8(in);
	unsigned int n = 1 + nb % (indirect ? INDIRECT_MAX : CHAIN_MAX);
	uint16_t head;
	uint64_t table;

	if (q == NULL)
		return -1;
	head = q->next_desc % q->size;
	table = indirect ? alloc(v, (uint64_t)VIRTQ_DESC_SIZE * n) : q->desc;
	if (table == 0)
		return -1;
	for (unsigned int j = 0; j < n; j++) {
		uint32_t len = pick_len(in);
		bool write = (wmask >> (j % 8)) & 1;
		uint64_t gpa = (how & 0x40) ? fzv_gpa(v, in) : alloc(v, len);
		uint16_t flags = (uint16_t)((write ? VIRTQ_DESC_F_WRITE : 0) |
					    (j + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		uint32_t slot = indirect ? j : (head + j) % q->size;
		uint16_t next = (uint16_t)(indirect ? j + 1 : (head + j + 1) % q->size);

		if (gpa == 0)
			gpa = fzv_gpa(v, in);
		if (!write)
			fill(v, in, gpa, len);
		put_desc(v, table, slot, gpa, len, flags, next);
	}
	if (how & 4) {
		/* One descriptor with flags and next of the input's choosing. */
		unsigned int j = fz_u8(in) % n;
		uint32_t slot = indirect ? j : (head + j) % q->size;
		uint8_t d[4];

		fz_fill(in, d, sizeof(d));
		(void)gmem_write(&v->gm, table + (uint64_t)VIRTQ_DESC_SIZE * slot + 12, d,
				 sizeof(d));
	}
	if (indirect) {
		uint32_t len = (how & 8) ? pick_len(in) : VIRTQ_DESC_SIZE * n;
		put_desc(v, q->desc, head, table, len, VIRTQ_DESC_F_INDIRECT, 0);
		q->next_desc = (uint16_t)(head + 1);
	} else {
		q->next_desc = (uint16_t)(head + n);
	}
	if (!(how & 1))
		publish(v, q, head);
	if (force_notify || (how & 2))
		virtio_mmio_notify(v->t, qi);
	return (int)qi;
}

static void notify(struct fzv *v, struct fz *in)
{
	uint8_t b = fz_u8(in);

	if (b & 0x80)
		fzv_reg_write(v, VIRTIO_MMIO_QUEUE_NOTIFY, (b & 0x40) ? fz_u32(in) : (b & 3));
	else
		virtio_mmio_notify(v->t, b % (v->nq + 1));
}

static void raw_desc(struct fzv *v, struct fz *in)
{
	unsigned int qi;
	struct fzv_queue *q = queue_of(v, in, &qi);
	uint32_t i = fz_u16(in);
	uint64_t addr = fzv_gpa(v, in);
	uint32_t len = pick_len(in);
	uint16_t flags = fz_u16(in), next = fz_u16(in);

	if (q != NULL)
		put_desc(v, q->desc, i % (2u * q->size), addr, len, flags, next);
}

static void ring_field(struct fzv *v, struct fz *in)
{
	unsigned int qi;
	struct fzv_queue *q = queue_of(v, in, &qi);
	uint8_t which = fz_u8(in);
	uint16_t val = fz_u16(in);

	if (q == NULL)
		return;
	switch (which % 4) {
	case 0: /* avail->idx jumps */
		q->avail_idx = val;
		put16(v, q->avail + 2, val);
		break;
	case 1:
		put16(v, q->avail, val); /* avail->flags */
		break;
	case 2:
		put16(v, q->avail + 4 + 2ull * q->size, val); /* used_event */
		break;
	default:
		put16(v, q->used + 2, val); /* the driver scribbling on used->idx */
		break;
	}
}

static void poke(struct fzv *v, struct fz *in)
{
	uint64_t gpa = fzv_gpa(v, in);
	uint8_t buf[64];
	uint32_t n = fz_u8(in) % sizeof(buf);

	fz_fill(in, buf, n);
	(void)gmem_write(&v->gm, gpa, buf, n);
}

static void status(struct fzv *v, struct fz *in)
{
	uint8_t b = fz_u8(in);

	if (b & 1)
		fzv_reg_write(v, VIRTIO_MMIO_STATUS, (b & 2) ? fz_u32(in) : (uint32_t)(b >> 2));
	else
		fzv_reset(v);
}

/*
 * patch: input bytes into (st): single bytes at input-chosen offsets, or a
 * run of them (up to the whole state) from an input-chosen offset.
 */
static void patch(struct fz *in, struct virtio_mmio_state *st, uint8_t how)
{
	uint8_t *p = (uint8_t *)st;

	if (how & 0x40) {
		size_t off = fz_u16(in) % sizeof(*st);
		size_t len = fz_u16(in) % (sizeof(*st) - off + 1);
		fz_fill(in, p + off, len);
		return;
	}
	for (unsigned int i = (how >> 2) % (PATCHES_MAX + 1); i > 0; i--) {
		size_t off = fz_u16(in) % sizeof(*st);
		p[off] = fz_u8(in);
	}
}

/*
 * state: a snapshot, as (how) says: bits 0-1: 0 quiesce and resume, 1
 * quiesce (until a later resume or the input's end), 2 save and load what
 * was saved, 3 the same patched with input bytes (patch: bit 6, bits 2-5);
 * bit 7: load into the transport in use (refused unless at status 0).
 * Loading: quiesce, save, resume (the transport can be reset only then; the
 * device serves its queues), reset as new, guest memory put back as it was
 * at the save, load.
 */
static void state(struct fzv *v, struct fz *in)
{
	uint8_t how = fz_u8(in);
	struct virtio_mmio_state st;
	struct vlog_err err = {0};
	bool faithful;
	int rc;

	switch (how & 3) {
	case 0:
		(void)virtio_mmio_quiesce(v->t);
		virtio_mmio_resume(v->t);
		return;
	case 1:
		(void)virtio_mmio_quiesce(v->t);
		return;
	default:
		break;
	}
	if (v->loads >= LOADS_MAX)
		return;
	v->loads++;
	faithful = virtio_mmio_quiesce(v->t) == 0;
	virtio_mmio_save_state(v->t, &st);
	memcpy(v->saved_ram, v->ram, FZV_RAM_SIZE);
	memcpy(v->saved_ram2, v->ram2, FZV_RAM2_SIZE);
	virtio_mmio_resume(v->t);
	if (!(how & 0x80)) /* else loaded into a transport in use: refused */
		fzv_reg_write(v, VIRTIO_MMIO_STATUS, 0);
	memcpy(v->ram, v->saved_ram, FZV_RAM_SIZE);
	memcpy(v->ram2, v->saved_ram2, FZV_RAM2_SIZE);
	if ((how & 3) == 3) {
		patch(in, &st, how);
		faithful = false;
	}
	faithful = faithful && !(how & 0x80);
	rc = virtio_mmio_load_state(v->t, &st, &err);
	if (rc != 0 && getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "fuzz: load refused (%d): %s\n", rc, err.msg);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EBUSY, "load: %d", rc);
	FZ_CHECK(rc == 0 || !faithful, "a state just saved was refused: %s", err.msg);
	FZ_CHECK(rc != -EINVAL || (virtio_mmio_status(v->t) == 0 && err.msg[0] != '\0'),
		 "refused (%s), but status 0x%x", err.msg, virtio_mmio_status(v->t));
}

/* trace: with FUZZ_LOG, how far the device got: its status, interrupts, each queue's indexes. */
static void trace(struct fzv *v)
{
	fprintf(stderr, "fuzz: status 0x%x, %lu interrupts\n", virtio_mmio_status(v->t), v->irqs);
	for (unsigned int i = 0; i < v->nq; i++) {
		uint16_t used = 0;
		if (v->q[i].size == 0)
			continue;
		(void)gmem_read(&v->gm, &used, v->q[i].used + 2, sizeof(used));
		fprintf(stderr, "fuzz: queue %u: %u published, %u used\n", i, v->q[i].avail_idx,
			used);
	}
}

/*
 * check_quiet: after a reset the device holds no reference to guest memory
 * (device.h): with RAM set to a pattern, notifications of every queue and
 * the device's event handler must leave it as it is.
 */
static void check_quiet(struct fzv *v)
{
	static uint8_t pattern[FZV_RAM_SIZE];

	if (pattern[0] != QUIET_BYTE)
		memset(pattern, QUIET_BYTE, sizeof(pattern));
	memset(v->ram, QUIET_BYTE, FZV_RAM_SIZE);
	memset(v->ram2, QUIET_BYTE, FZV_RAM2_SIZE);
	for (unsigned int i = 0; i < v->nq; i++)
		virtio_mmio_notify(v->t, i);
	(void)fzv_event(v);
	fzv_settle(v);
	FZ_CHECK(memcmp(v->ram, pattern, FZV_RAM_SIZE) == 0 &&
		     memcmp(v->ram2, pattern, FZV_RAM2_SIZE) == 0,
		 "the device wrote guest memory after a reset");
}

void fzv_run(struct fzv *v, struct fz *in)
{
	v->irqs = 0;
	v->loads = 0;
	memset(v->ram, 0, FZV_RAM_SIZE);
	memset(v->ram2, 0, FZV_RAM2_SIZE);
	v->heap = FZV_DATA_GPA;
	fzv_reset(v);
	for (int i = 0; i < MAX_OPS && fz_more(in); i++) {
		enum op op = (enum op)(fz_u8(in) % OP_COUNT);

		switch (op) {
		case OP_DRIVER_UP:
			fzv_driver_up(v, in);
			break;
		case OP_CHAIN:
			(void)chain(v, in, false, false);
			break;
		case OP_CHAIN_NOTIFY:
			(void)chain(v, in, false, true);
			break;
		case OP_INDIRECT:
			(void)chain(v, in, true, false);
			break;
		case OP_NOTIFY:
			notify(v, in);
			break;
		case OP_EVENT:
			(void)fzv_event(v);
			break;
		case OP_HOST:
			if (v->hooks != NULL && v->hooks->host_op != NULL)
				v->hooks->host_op(v, in);
			break;
		case OP_REG_WRITE:
			reg_access(v, in, true);
			break;
		case OP_REG_READ:
			reg_access(v, in, false);
			break;
		case OP_CONFIG:
			config_access(v, in);
			break;
		case OP_DESC:
			raw_desc(v, in);
			break;
		case OP_PUBLISH: {
			unsigned int qi;
			struct fzv_queue *q = queue_of(v, in, &qi);
			uint16_t head = fz_u16(in);
			if (q != NULL)
				publish(v, q, head);
			break;
		}
		case OP_RING_FIELD:
			ring_field(v, in);
			break;
		case OP_POKE:
			poke(v, in);
			break;
		case OP_STATUS:
		case OP_COUNT:
			status(v, in);
			break;
		case OP_STATE:
			state(v, in);
			break;
		}
	}
	virtio_mmio_resume(v->t); /* a quiesce that was never resumed */
	if (getenv("FUZZ_LOG") != NULL)
		trace(v);
	if (v->hooks != NULL && v->hooks->cleanup != NULL)
		v->hooks->cleanup(v);
	fzv_reset(v);
	fzv_settle(v);
	check_quiet(v);
}

void fzv_settle(struct fzv *v)
{
	for (int i = 0; i < SETTLE_MAX && fzv_event(v); i++)
		;
}
