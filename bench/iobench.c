/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iobench.c: the bench's I/O guest (bench/io.sh runs it). Drives the first
 * virtio-blk and the first virtio-net device the command line announces
 * (ember's own entries, or those QEMU microvm appends), acting on its guest
 * args in order:
 *
 *   tsc_khz=<n>       TSC ticks per millisecond, measured by the host
 *                     (bench/iohost.c tsc): the guest has no clock to
 *                     calibrate against, and CPUID 0x15/0x16 are empty on
 *                     AMD (the runtime then assumes 3 GHz). Give it first.
 *   costs             what the primitives a request uses cost (costs())
 *   qd=<n>            block requests in flight for the tests that follow
 *                     (default 1; at most QD_MAX)
 *   seqread=<MiB>     sequential 1 MiB reads from offset 0, wrapping at
 *   seqwrite=<MiB>    the end of the disk; writes are not flushed
 *   randread=<n>      n reads of 4 KiB at random 4 KiB-aligned offsets over
 *                     the whole disk (xorshift64 with a fixed seed: the
 *                     host baseline reads the very same offsets)
 *   nettx=<size>,<n>  n broadcast frames of <size> bytes (14..1514, the
 *                     Ethernet header included, no FCS, ethertype 0x88b5),
 *                     as many in flight as the transmit queue holds
 *
 * and prints, one line each:
 *
 *   iobench: disk capacity=<bytes> queue=<entries>
 *   iobench: test=costs rounds=<n> tsc_ns=<n> mmio_read_ns=<n> notify_ns=<n> insn_ps=<n>
 *   iobench: test=<seqread|seqwrite|randread> bs=<bytes> qd=<n> ops=<n> bytes=<n> ns=<n>
 *            MBps=<n> iops=<n>
 *   iobench: test=nettx size=<bytes> qd=<n> frames=<n> bytes=<n> ns=<n> fps=<n> MBps=<n>
 *   iobench: error test=<name> ret=<code>   (a device error: exit status 1)
 *   iobench: done status=<n>                (always last)
 *
 * A test's time is TSC ticks from its first submission to its last
 * completion. The runtime's queues hold RT_VQ_SIZE descriptors; a block
 * request takes three (header, data, status) and a frame one (virtio header
 * and frame in one buffer), so at most QD_MAX block requests and
 * RT_VQ_SIZE frames are in flight.
 */
#include "runtime.h"
#include "virtio.h"

#define SEQ_BS		 (1024UL * 1024) /* the MiB of seqread=<MiB> */
#define RAND_BS		 4096U
#define BLK_DESCS	 3 /* header, data, status */
#define QD_MAX		 (RT_VQ_SIZE / BLK_DESCS)
#define WAIT_US		 RT_VIRTIO_TIMEOUT_US
#define NS_PER_MS	 1000000ULL
#define ETH_HDR		 14
#define ETH_P_BENCH	 0x88b5 /* IEEE local experimental */
#define RAND_SEED	 0x9e3779b97f4a7c15ULL
#define MBPS_DIV	 1000000UL /* MB/s are decimal: bytes / 1e6 per s */
#define NS_PER_S	 1000000000ULL
#define QEMU_DEVICE_WORD "virtio_mmio."
#define COST_ROUNDS	 1000
#define POLL_TSC_EVERY	 4096
#define USED_EVENT_AHEAD 0x8000
#define QUIET_EVERY	 0x3fff /* mask: completions between quiet() calls */
#define USED_RING_OFF	 4	/* used->ring after flags and idx */
#define BLK_STATUS_NONE	 0xff	/* a status the device never writes */
#define COST_LOOP	 10000	/* iterations of a two-instruction loop */
#define VM_STATUS_REG	 0x070	/* virtio-mmio registers (4.2.2) */
#define VM_NOTIFY_REG	 0x050

/* The data buffers: never cleared (writes send whatever is there). */
static uint8_t seq_buf[QD_MAX][SEQ_BS]
    __attribute__((section(".bss.noinit.iobench"), aligned(4096)));
static uint8_t rand_buf[QD_MAX][RAND_BS]
    __attribute__((section(".bss.noinit.iobench"), aligned(4096)));
static uint8_t tx_buf[VIRTIO_NET_HDR_SIZE + RT_VNET_FRAME_MAX] __attribute__((aligned(64)));

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One block request slot: header and status stay put while in flight. */
struct slot {
	struct blk_hdr hdr __attribute__((aligned(16)));
	uint8_t status __attribute__((aligned(16)));
	uint8_t *data;
};

static struct slot slots[QD_MAX];
static int slot_of[RT_VQ_SIZE]; /* head descriptor -> slot */

static uint64_t tsc_khz;
static unsigned int qd = 1;
static struct rt_vblk blk;
static int have_blk;
static struct rt_vnet net;
static int have_net;
static uint64_t rng_state = RAND_SEED;

static uint64_t ticks_to_ns(uint64_t ticks)
{
	/* No overflow below 2^64 / 1e6 ticks: over an hour and a half at 3 GHz. */
	return ticks * NS_PER_MS / tsc_khz;
}

/* value_of: for the word "key=value" return "value", else NULL. */
static const char *value_of(const char *w, const char *key)
{
	size_t n = strlen(key);

	return strncmp(w, key, n) == 0 && w[n] == '=' ? w + n + 1 : NULL;
}

static uint64_t per_s(uint64_t n, uint64_t ns)
{
	if (ns == 0)
		return 0;
	/* n * 1e9 / ns without overflow for n up to ~1.8e10. */
	return n / ns * NS_PER_S + n % ns * NS_PER_S / ns;
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

/*
 * The request loops drive the runtime's queues directly (the queue layout is
 * public in virtio.h): every chain is built once before the clock starts,
 * and a request only rewrites its header and puts its head descriptor in
 * the avail ring, so the guest spends as few instructions per request as it
 * can. Completions are polled; the device is asked not to interrupt. The
 * runtime's bookkeeping (free list, indexes) is put back afterwards.
 */

#define barrier() __asm__ volatile("" ::: "memory")

/* The runtime's full fence: KVM's instruction emulator has no MFENCE. */
static inline void full_fence(void)
{
	__asm__ volatile("lock; addl $0, -4(%%rsp)" ::: "memory", "cc");
}

/*
 * quiet: ask the device not to interrupt: used_event half the index space
 * ahead (EVENT_IDX, 2.7.10), else VIRTQ_AVAIL_F_NO_INTERRUPT. Redone every
 * QUIET_EVERY completions so the index never catches up with it.
 */
static void quiet(struct rt_virtqueue *q)
{
	if (q->dev->event_idx)
		*(volatile uint16_t *)&q->avail->ring[q->size] =
		    (uint16_t)(q->last_used + USED_EVENT_AHEAD);
	else
		*(volatile uint16_t *)&q->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/* ring_put: queue the chain at (head); ring_publish makes it visible. */
static inline void ring_put(struct rt_virtqueue *q, uint16_t head)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
}

/*
 * ring_publish: publish avail->idx (entries from (old) on are new) and
 * notify unless the device said it does not need it (avail_event after
 * used->ring[size] with EVENT_IDX, 2.7.10; else VIRTQ_USED_F_NO_NOTIFY).
 */
static void ring_publish(struct rt_virtqueue *q, uint16_t old)
{
	uint16_t now = q->avail_idx;
	int notify;

	barrier();
	*(volatile uint16_t *)&q->avail->idx = now;
	full_fence();
	if (q->dev->event_idx) {
		uint16_t ev = *(volatile uint16_t *)((uintptr_t)q->used + USED_RING_OFF +
						     sizeof(q->used->ring[0]) * q->size);

		notify = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		notify = !(*(volatile uint16_t *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	}
	if (notify)
		rt_virtq_notify(q);
}

/*
 * ring_next: the next used entry's id, or -1 when there is none yet.
 * Consumes it.
 */
static inline int ring_next(struct rt_virtqueue *q)
{
	uint32_t id;

	if (*(volatile uint16_t *)&q->used->idx == q->last_used)
		return -1;
	barrier();
	id = *(volatile uint32_t *)&q->used->ring[q->last_used & (q->size - 1)].id;
	q->last_used++;
	return id < q->size ? (int)id : RT_VIRTIO_EDEVICE;
}

/*
 * poll_used: spin until the used ring moves; the TSC (itself an exit here)
 * is read once every POLL_TSC_EVERY spins only. 0 or RT_VIRTIO_ETIMEDOUT
 * after WAIT_US.
 */
static int poll_used(const struct rt_virtqueue *q)
{
	uint64_t start = rt_tsc(), limit = WAIT_US * tsc_khz / 1000;
	unsigned int spins;

	for (;;) {
		for (spins = 0; spins < POLL_TSC_EVERY; spins++)
			if (*(volatile uint16_t *)&q->used->idx != q->last_used)
				return 0;
		if (rt_tsc() - start > limit)
			return RT_VIRTIO_ETIMEDOUT;
	}
}

/* ring_restore: every descriptor free again, as rt_virtio_queue left them. */
static void ring_restore(struct rt_virtqueue *q)
{
	uint16_t i;

	for (i = 0; i < q->size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = q->size;
}

static int need_blk(const char *test)
{
	if (have_blk)
		return 0;
	rt_printf("iobench: error test=%s ret=no-disk\n", test);
	return -1;
}

/* blk_chain: build slot (i)'s chain at descriptors BLK_DESCS * i... */
static void blk_chain(struct rt_virtqueue *q, unsigned int i, int write, uint32_t bs)
{
	struct rt_vq_desc *d = &q->desc[BLK_DESCS * i];
	struct slot *s = &slots[i];

	s->hdr.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	s->hdr.reserved = 0;
	s->data = bs == RAND_BS ? rand_buf[i] : seq_buf[i];
	d[0] = (struct rt_vq_desc){(uintptr_t)&s->hdr, sizeof(s->hdr), VIRTQ_DESC_F_NEXT,
				   (uint16_t)(BLK_DESCS * i + 1)};
	d[1] = (struct rt_vq_desc){(uintptr_t)s->data, bs,
				   (uint16_t)(VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE)),
				   (uint16_t)(BLK_DESCS * i + 2)};
	d[2] = (struct rt_vq_desc){(uintptr_t)&s->status, 1, VIRTQ_DESC_F_WRITE, 0};
	slot_of[BLK_DESCS * i] = (int)i;
}

/*
 * blk_run: (ops) requests of (bs) bytes, (write) or read, sequential from 0
 * (wrapping) or random (rand), (qd) in flight. Prints the result line.
 */
static int blk_run(const char *name, int write, int rand, uint32_t bs, uint64_t ops)
{
	struct rt_virtqueue *q = &blk.dev->vq[0];
	uint64_t disk = blk.capacity * VIRTIO_BLK_SECTOR, blocks = disk / bs;
	uint64_t sect_per_blk = bs / VIRTIO_BLK_SECTOR, issued = 0, done = 0, start, ns;
	unsigned int depth = qd, i;
	int ret, id;

	if (blocks == 0) {
		rt_printf("iobench: error test=%s ret=disk-too-small\n", name);
		return -1;
	}
	if (depth > q->size / BLK_DESCS)
		depth = q->size / BLK_DESCS;
	if (depth > ops)
		depth = (unsigned int)ops;
	for (i = 0; i < RT_VQ_SIZE; i++)
		slot_of[i] = -1;
	for (i = 0; i < depth; i++)
		blk_chain(q, i, write, bs);
	quiet(q);
	start = rt_tsc();
	for (i = 0; i < depth; i++, issued++) {
		slots[i].hdr.sector =
		    (rand ? xorshift64() % blocks : issued % blocks) * sect_per_blk;
		slots[i].status = BLK_STATUS_NONE;
		ring_put(q, (uint16_t)(BLK_DESCS * i));
	}
	ring_publish(q, (uint16_t)(q->avail_idx - depth));
	while (done < ops) {
		uint16_t old = q->avail_idx;

		ret = poll_used(q);
		if (ret < 0)
			goto fail;
		while ((id = ring_next(q)) >= 0) {
			struct slot *s;

			if (slot_of[id] < 0) {
				ret = RT_VIRTIO_EDEVICE;
				goto fail;
			}
			s = &slots[slot_of[id]];
			if (*(volatile uint8_t *)&s->status != VIRTIO_BLK_S_OK) {
				ret = s->status;
				goto fail;
			}
			if ((++done & QUIET_EVERY) == 0)
				quiet(q);
			if (issued < ops) {
				s->hdr.sector =
				    (rand ? xorshift64() % blocks : issued % blocks) * sect_per_blk;
				s->status = BLK_STATUS_NONE;
				ring_put(q, (uint16_t)id);
				issued++;
			}
		}
		if (id != -1) {
			ret = id;
			goto fail;
		}
		if (q->avail_idx != old)
			ring_publish(q, old);
	}
	ns = ticks_to_ns(rt_tsc() - start);
	ring_restore(q);
	rt_printf("iobench: test=%s bs=%u qd=%u ops=%lu bytes=%lu ns=%lu MBps=%lu iops=%lu\n", name,
		  bs, depth, ops, ops * bs, ns, per_s(ops * bs, ns) / MBPS_DIV, per_s(ops, ns));
	return 0;
fail:
	rt_printf("iobench: error test=%s ret=%d done=%lu\n", name, ret, done);
	/* Whatever is still in flight is abandoned with the device. */
	rt_virtio_reset(blk.dev);
	have_blk = 0;
	return -1;
}

/*
 * net_run: (count) frames of (size) bytes, the queue kept full. Every
 * descriptor points at the same buffer (virtio header and frame): the
 * device only reads it.
 */
static int net_run(uint32_t size, uint64_t count)
{
	struct rt_virtqueue *q = &net.dev->vq[1];
	uint8_t *f = tx_buf + VIRTIO_NET_HDR_SIZE;
	uint64_t issued = 0, done = 0, start, ns;
	unsigned int depth = q->size, i;
	int ret, id;

	memset(tx_buf, 0, VIRTIO_NET_HDR_SIZE); /* no checksum offload, no GSO */
	memset(f, 0xff, 6);			/* broadcast */
	memcpy(f + 6, net.mac, 6);
	f[12] = ETH_P_BENCH >> 8;
	f[13] = ETH_P_BENCH & 0xff;
	for (i = ETH_HDR; i < size; i++)
		f[i] = (uint8_t)i;
	if (depth > count)
		depth = (unsigned int)count;
	for (i = 0; i < depth; i++)
		q->desc[i] =
		    (struct rt_vq_desc){(uintptr_t)tx_buf, VIRTIO_NET_HDR_SIZE + size, 0, 0};
	quiet(q);
	start = rt_tsc();
	for (i = 0; i < depth; i++, issued++)
		ring_put(q, (uint16_t)i);
	ring_publish(q, (uint16_t)(q->avail_idx - depth));
	while (done < count) {
		uint16_t old = q->avail_idx;

		ret = poll_used(q);
		if (ret < 0)
			goto fail;
		while ((id = ring_next(q)) >= 0) {
			if ((++done & QUIET_EVERY) == 0)
				quiet(q);
			if (issued < count) {
				ring_put(q, (uint16_t)id);
				issued++;
			}
		}
		if (id != -1) {
			ret = id;
			goto fail;
		}
		if (q->avail_idx != old)
			ring_publish(q, old);
	}
	ns = ticks_to_ns(rt_tsc() - start);
	ring_restore(q);
	rt_printf(
	    "iobench: test=nettx size=%u qd=%u frames=%lu bytes=%lu ns=%lu fps=%lu MBps=%lu\n",
	    size, depth, count, count * size, ns, per_s(count, ns),
	    per_s(count * size, ns) / MBPS_DIV);
	return 0;
fail:
	rt_printf("iobench: error test=nettx ret=%d done=%lu\n", ret, done);
	rt_virtio_reset(net.dev);
	have_net = 0;
	return -1;
}

/*
 * costs: what the primitives every request uses cost here, on average over
 * COST_ROUNDS: reading the TSC, an MMIO read of the block device's Status
 * register (an exit to the monitor's vCPU thread) and a QueueNotify write
 * (an ioeventfd, handled in the kernel; the queue has nothing new, so the
 * device finds no work).
 */
static int costs(void)
{
	volatile uint32_t *status, *notify;
	uint64_t t0, t1, t2, t3, t4, n = COST_LOOP;
	unsigned int i;

	if (need_blk("costs"))
		return -1;
	status = (volatile uint32_t *)(uintptr_t)(blk.dev->base + VM_STATUS_REG);
	notify = (volatile uint32_t *)(uintptr_t)(blk.dev->base + VM_NOTIFY_REG);
	t0 = rt_tsc();
	for (i = 0; i < COST_ROUNDS; i++)
		(void)rt_tsc();
	t1 = rt_tsc();
	for (i = 0; i < COST_ROUNDS; i++)
		(void)*status;
	t2 = rt_tsc();
	for (i = 0; i < COST_ROUNDS; i++)
		*notify = 0;
	t3 = rt_tsc();
	/* Two register-only instructions per iteration. */
	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n) : : "cc");
	t4 = rt_tsc();
	rt_printf("iobench: test=costs rounds=%u tsc_ns=%lu mmio_read_ns=%lu notify_ns=%lu "
		  "insn_ps=%lu\n",
		  COST_ROUNDS, ticks_to_ns(t1 - t0) / COST_ROUNDS,
		  ticks_to_ns(t2 - t1) / COST_ROUNDS, ticks_to_ns(t3 - t2) / COST_ROUNDS,
		  ticks_to_ns(t4 - t3) * 1000 / (2 * COST_LOOP));
	return 0;
}

static int word(const char *w)
{
	const char *v;
	uint64_t n, size;

	if ((v = value_of(w, "tsc_khz")) != NULL)
		return rt_parse_u64(v, &tsc_khz) == 0 && tsc_khz > 0 ? 0 : -1;
	if ((v = value_of(w, "qd")) != NULL) {
		if (rt_parse_u64(v, &n) != 0 || n == 0)
			return -1;
		qd = n > QD_MAX ? QD_MAX : (unsigned int)n;
		return 0;
	}
	if (strcmp(w, "costs") == 0)
		return costs();
	if ((v = value_of(w, "seqread")) != NULL)
		return rt_parse_u64(v, &n) != 0 || need_blk("seqread")
			   ? -1
			   : blk_run("seqread", 0, 0, SEQ_BS, n);
	if ((v = value_of(w, "seqwrite")) != NULL)
		return rt_parse_u64(v, &n) != 0 || need_blk("seqwrite")
			   ? -1
			   : blk_run("seqwrite", 1, 0, SEQ_BS, n);
	if ((v = value_of(w, "randread")) != NULL)
		return rt_parse_u64(v, &n) != 0 || need_blk("randread")
			   ? -1
			   : blk_run("randread", 0, 1, RAND_BS, n);
	if ((v = value_of(w, "nettx")) != NULL) {
		const char *comma = rt_memchr(v, ',', strlen(v));
		char num[24];

		if (comma == NULL || (size_t)(comma - v) >= sizeof(num))
			return -1;
		memcpy(num, v, (size_t)(comma - v));
		num[comma - v] = '\0';
		if (rt_parse_u64(num, &size) != 0 || rt_parse_u64(comma + 1, &n) != 0 ||
		    size < ETH_HDR || size > RT_VNET_FRAME_MAX || n == 0)
			return -1;
		if (!have_net) {
			rt_printf("iobench: error test=nettx ret=no-net\n");
			return -1;
		}
		return net_run((uint32_t)size, n);
	}
	if (strncmp(w, QEMU_DEVICE_WORD, sizeof(QEMU_DEVICE_WORD) - 1) == 0)
		return 0; /* QEMU microvm's device entries */
	rt_printf("iobench: unknown arg %s\n", w);
	return -1;
}

int main(const struct boot_info *bi)
{
	struct rt_virtio_dev *d;
	int i, status = 0;

	rt_virtio_probe(bi);
	d = rt_virtio_find(VIRTIO_ID_BLK, 0);
	if (d != NULL && rt_vblk_init(&blk, d) == 0) {
		have_blk = 1;
		rt_printf("iobench: disk capacity=%lu queue=%u\n", blk.capacity * VIRTIO_BLK_SECTOR,
			  blk.dev->vq[0].size);
	}
	d = rt_virtio_find(VIRTIO_ID_NET, 0);
	if (d != NULL && rt_vnet_init(&net, d) == 0)
		have_net = 1;
	tsc_khz = rt_tsc_per_us() * 1000;
	for (i = 0; i < bi->argc; i++)
		if (word(bi->argv[i]) != 0)
			status = 1;
	rt_printf("iobench: done status=%d\n", status);
	return status;
}
