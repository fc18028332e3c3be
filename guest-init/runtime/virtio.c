/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio.c: virtio-mmio discovery and transport (virtio 1.2, 4.2.2-4.2.3)
 * and the driver side of a split virtqueue (2.7).
 *
 * Ordering: x86 is TSO, so stores become visible in program order and loads
 * are not reordered with older loads; a compiler barrier is enough between
 * filling a descriptor/ring slot and publishing an index, and between
 * reading used->idx and the entries it covers. The one store->load order
 * the spec needs (publish avail->idx, then read the device's notification
 * suppression) takes a full fence: a LOCKed add, as Linux's smp_mb() does,
 * because KVM's instruction emulator has no MFENCE.
 */
#include "virtio.h"

#include "rt.h"

#include "layout.h"

/* MMIO registers (4.2.2). */
#define VM_MAGIC	    0x000
#define VM_VERSION	    0x004
#define VM_DEVICE_ID	    0x008
#define VM_VENDOR_ID	    0x00c
#define VM_DEVICE_FEATURES  0x010
#define VM_DEVICE_FEAT_SEL  0x014
#define VM_DRIVER_FEATURES  0x020
#define VM_DRIVER_FEAT_SEL  0x024
#define VM_QUEUE_SEL	    0x030
#define VM_QUEUE_NUM_MAX    0x034
#define VM_QUEUE_NUM	    0x038
#define VM_QUEUE_READY	    0x044
#define VM_QUEUE_NOTIFY	    0x050
#define VM_INTERRUPT_STATUS 0x060
#define VM_INTERRUPT_ACK    0x064
#define VM_STATUS	    0x070
#define VM_QUEUE_DESC_LO    0x080
#define VM_QUEUE_DESC_HI    0x084
#define VM_QUEUE_DRIVER_LO  0x090
#define VM_QUEUE_DRIVER_HI  0x094
#define VM_QUEUE_DEVICE_LO  0x0a0
#define VM_QUEUE_DEVICE_HI  0x0a4
#define VM_CONFIG_GEN	    0x0fc
#define VM_CONFIG	    0x100

#define VIRTIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_INT_CONFIG 2

#define POLL_US		  2  /* spin between used-ring checks */
#define POLL_STATUS_EVERY 16 /* read Status every this many polls */
#define CONFIG_TRIES	  8

/* Queue memory: descriptor table (16-aligned), avail (2), used (4). */
struct vq_mem {
	struct rt_vq_desc desc[RT_VQ_SIZE];
	struct rt_vq_avail avail __attribute__((aligned(64)));
	struct rt_vq_used used __attribute__((aligned(64)));
} __attribute__((aligned(64)));

static struct rt_virtio_dev devs[RT_VIRTIO_MAX_DEVS];
static struct vq_mem vq_mem[RT_VIRTIO_MAX_DEVS][RT_VIRTIO_MAX_QUEUES]
    __attribute__((section(".bss.noinit.virtio"), aligned(4096)));
static unsigned int ndevs;
static int probed;
static int irq_mode;
static int no_event_idx;
static uint64_t extra_ack; /* acked whether offered or not (rt_virtio_ack_unoffered) */

#define barrier() __asm__ volatile("" ::: "memory")

static inline void full_fence(void)
{
	__asm__ volatile("lock; addl $0, -4(%%rsp)" ::: "memory", "cc");
}

static uint32_t rd(const struct rt_virtio_dev *d, unsigned int reg)
{
	return *(volatile uint32_t *)(uintptr_t)(d->base + reg);
}

static void wr(const struct rt_virtio_dev *d, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(d->base + reg) = v;
}

/* --- discovery ------------------------------------------------------- */

/* Parse a number at (*p): decimal or 0x hex; advance (*p). -1 when none. */
static int parse_num(const char **p, uint64_t *out)
{
	const char *s = *p;
	unsigned int base = 10, digits = 0;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, digits++) {
		unsigned int dg;

		if (*s >= '0' && *s <= '9')
			dg = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			dg = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			dg = (unsigned int)(*s - 'A' + 10);
		else
			break;
		v = v * base + dg;
	}
	if (digits == 0)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

/* "<size>[KMG]@<addr>:<irq>[:<id>]" at (s). 0 on success. */
static int parse_device(const char *s, uint64_t *size, uint64_t *addr, uint64_t *irq)
{
	if (parse_num(&s, size) != 0)
		return -1;
	if (*s == 'K' || *s == 'k')
		*size <<= 10, s++;
	else if (*s == 'M' || *s == 'm')
		*size <<= 20, s++;
	else if (*s == 'G' || *s == 'g')
		*size <<= 30, s++;
	if (*s++ != '@' || parse_num(&s, addr) != 0 || *s++ != ':' || parse_num(&s, irq) != 0)
		return -1;
	return 0;
}

static void add_window(uint64_t size, uint64_t addr, uint64_t irq)
{
	struct rt_virtio_dev *d;
	uint32_t magic, version;

	if (ndevs >= RT_VIRTIO_MAX_DEVS) {
		rt_printf("runtime: virtio: more than %u devices, 0x%lx ignored\n",
			  RT_VIRTIO_MAX_DEVS, addr);
		return;
	}
	if (size < VM_CONFIG || addr < LAYOUT_MMIO_GAP_START || addr >= LAYOUT_MMIO_GAP_END ||
	    irq >= RT_IRQ_PINS) {
		rt_printf("runtime: virtio: bad window 0x%lx size 0x%lx irq %lu\n", addr, size,
			  irq);
		return;
	}
	d = &devs[ndevs];
	memset(d, 0, sizeof(*d));
	d->base = addr;
	d->size = size;
	d->irq = (unsigned int)irq;
	magic = rd(d, VM_MAGIC);
	version = rd(d, VM_VERSION);
	if (magic != VIRTIO_MAGIC || version != 2) {
		rt_printf("runtime: virtio: 0x%lx magic=0x%x version=%u, ignored\n", addr, magic,
			  version);
		return;
	}
	d->version = version;
	d->device_id = rd(d, VM_DEVICE_ID);
	if (d->device_id == 0)
		return; /* a placeholder transport */
	d->vendor_id = rd(d, VM_VENDOR_ID);
	d->index = ndevs++;
}

unsigned int rt_virtio_probe(const struct boot_info *bi)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p, *end;

	if (probed)
		return ndevs;
	probed = 1;
	p = bi->cmdline;
	end = p + strlen(p);
	while (p < end && (p = rt_memchr(p, 'v', (size_t)(end - p))) != NULL) {
		if ((p == bi->cmdline || p[-1] == ' ') &&
		    (size_t)(end - p) > sizeof(key) - 1 &&
		    memcmp(p, key, sizeof(key) - 1) == 0) {
			uint64_t size, addr, irq;

			if (parse_device(p + sizeof(key) - 1, &size, &addr, &irq) == 0)
				add_window(size, addr, irq);
			else
				rt_printf("runtime: virtio: cannot parse %s\n", p);
			p += sizeof(key) - 1;
		} else {
			p++;
		}
	}
	return ndevs;
}

unsigned int rt_virtio_count(void)
{
	return ndevs;
}

struct rt_virtio_dev *rt_virtio_dev(unsigned int index)
{
	return index < ndevs ? &devs[index] : NULL;
}

struct rt_virtio_dev *rt_virtio_find(uint32_t device_id, unsigned int nth)
{
	unsigned int i;

	for (i = 0; i < ndevs; i++)
		if (devs[i].device_id == device_id && nth-- == 0)
			return &devs[i];
	return NULL;
}

/* --- transport ------------------------------------------------------- */

static void dev_irq(void *arg)
{
	struct rt_virtio_dev *d = arg;
	uint32_t s = rd(d, VM_INTERRUPT_STATUS);

	if (s != 0)
		wr(d, VM_INTERRUPT_ACK, s);
	d->isr |= s;
}

uint32_t rt_virtio_status(const struct rt_virtio_dev *d)
{
	return rd(d, VM_STATUS);
}

void rt_virtio_reset(struct rt_virtio_dev *d)
{
	unsigned int i;

	wr(d, VM_STATUS, 0);
	(void)rd(d, VM_STATUS);
	if (d->ready && irq_mode)
		rt_irq_disable(d->irq);
	d->ready = 0;
	d->isr = 0;
	for (i = 0; i < RT_VIRTIO_MAX_QUEUES; i++)
		d->vq[i].size = 0;
}

int rt_virtio_begin(struct rt_virtio_dev *d, uint64_t wanted)
{
	uint64_t want;
	uint32_t st;

	rt_virtio_reset(d);
	st = VIRTIO_STATUS_ACKNOWLEDGE;
	wr(d, VM_STATUS, st);
	st |= VIRTIO_STATUS_DRIVER;
	wr(d, VM_STATUS, st);

	wr(d, VM_DEVICE_FEAT_SEL, 0);
	d->offered = rd(d, VM_DEVICE_FEATURES);
	wr(d, VM_DEVICE_FEAT_SEL, 1);
	d->offered |= (uint64_t)rd(d, VM_DEVICE_FEATURES) << 32;
	if (!(d->offered & (1ULL << VIRTIO_F_VERSION_1)))
		goto failed;
	want = wanted | 1ULL << VIRTIO_F_VERSION_1;
	if (!no_event_idx)
		want |= 1ULL << VIRTIO_F_RING_EVENT_IDX;
	d->features = d->offered & want;
	d->event_idx = (d->features >> VIRTIO_F_RING_EVENT_IDX) & 1;
	wr(d, VM_DRIVER_FEAT_SEL, 0);
	wr(d, VM_DRIVER_FEATURES, (uint32_t)(d->features | extra_ack));
	wr(d, VM_DRIVER_FEAT_SEL, 1);
	wr(d, VM_DRIVER_FEATURES, (uint32_t)((d->features | extra_ack) >> 32));
	st |= VIRTIO_STATUS_FEATURES_OK;
	wr(d, VM_STATUS, st);
	if (!(rd(d, VM_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		goto failed;
	return 0;
failed:
	wr(d, VM_STATUS, st | VIRTIO_STATUS_FAILED);
	return RT_VIRTIO_EFEATURE;
}

int rt_virtio_queue(struct rt_virtio_dev *d, unsigned int qi)
{
	struct rt_virtqueue *q;
	struct vq_mem *m;
	uint32_t max;
	uint16_t size, i;

	if (qi >= RT_VIRTIO_MAX_QUEUES || d->index >= RT_VIRTIO_MAX_DEVS)
		return RT_VIRTIO_EINVAL;
	q = &d->vq[qi];
	m = &vq_mem[d->index][qi];
	wr(d, VM_QUEUE_SEL, qi);
	if (rd(d, VM_QUEUE_READY) != 0)
		return RT_VIRTIO_EINVAL;
	max = rd(d, VM_QUEUE_NUM_MAX);
	if (max == 0)
		return RT_VIRTIO_EINVAL;
	for (size = RT_VQ_SIZE; size > max; size >>= 1)
		;
	memset(m, 0, sizeof(*m));
	for (i = 0; i < size; i++)
		m->desc[i].next = (uint16_t)(i + 1);
	q->dev = d;
	q->index = (uint16_t)qi;
	q->desc = m->desc;
	q->avail = &m->avail;
	q->used = &m->used;
	q->free_head = 0;
	q->num_free = size;
	q->avail_idx = 0;
	q->last_used = 0;
	wr(d, VM_QUEUE_NUM, size);
	wr(d, VM_QUEUE_DESC_LO, (uint32_t)(uintptr_t)q->desc);
	wr(d, VM_QUEUE_DESC_HI, (uint32_t)((uint64_t)(uintptr_t)q->desc >> 32));
	wr(d, VM_QUEUE_DRIVER_LO, (uint32_t)(uintptr_t)q->avail);
	wr(d, VM_QUEUE_DRIVER_HI, (uint32_t)((uint64_t)(uintptr_t)q->avail >> 32));
	wr(d, VM_QUEUE_DEVICE_LO, (uint32_t)(uintptr_t)q->used);
	wr(d, VM_QUEUE_DEVICE_HI, (uint32_t)((uint64_t)(uintptr_t)q->used >> 32));
	wr(d, VM_QUEUE_READY, 1);
	q->size = size;
	return 0;
}

/*
 * Enable (d)'s pin and acknowledge what is already pending: a device whose
 * line is level (QEMU's) and already high would otherwise never make the
 * edge our edge-triggered pin needs. Waiters check the used ring before they
 * sleep, so nothing acknowledged here is lost.
 */
static void irq_on(struct rt_virtio_dev *d)
{
	rt_irq_enable(d->irq, dev_irq, d);
	dev_irq(d);
}

void rt_virtio_ready(struct rt_virtio_dev *d)
{
	unsigned int i;

	wr(d, VM_STATUS, rd(d, VM_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	d->ready = 1;
	/* Buffers made available before DRIVER_OK (3.1.1 step 7) are announced now. */
	full_fence();
	for (i = 0; i < RT_VIRTIO_MAX_QUEUES; i++)
		if (d->vq[i].size != 0 && d->vq[i].avail_idx != 0)
			rt_virtq_notify(&d->vq[i]);
	if (irq_mode)
		irq_on(d);
}

int rt_virtio_has(const struct rt_virtio_dev *d, unsigned int bit)
{
	return bit < 64 && ((d->features >> bit) & 1);
}

int rt_virtio_offered(const struct rt_virtio_dev *d, unsigned int bit)
{
	return bit < 64 && ((d->offered >> bit) & 1);
}

static uint64_t config_once(const struct rt_virtio_dev *d, unsigned int off, unsigned int len)
{
	uintptr_t a = (uintptr_t)(d->base + VM_CONFIG + off);

	switch (len) {
	case 1:
		return *(volatile uint8_t *)a;
	case 2:
		return *(volatile uint16_t *)a;
	case 4:
		return *(volatile uint32_t *)a;
	default:
		return *(volatile uint32_t *)a | (uint64_t) * (volatile uint32_t *)(a + 4) << 32;
	}
}

uint64_t rt_virtio_config(const struct rt_virtio_dev *d, unsigned int off, unsigned int len)
{
	unsigned int tries;
	uint64_t v = 0;

	for (tries = 0; tries < CONFIG_TRIES; tries++) {
		uint32_t gen = rd(d, VM_CONFIG_GEN);

		v = config_once(d, off, len);
		if (rd(d, VM_CONFIG_GEN) == gen)
			break;
	}
	return v;
}

void rt_virtio_use_irq(int on)
{
	unsigned int i;

	if (on == irq_mode)
		return;
	irq_mode = on;
	for (i = 0; i < ndevs; i++) {
		if (!devs[i].ready)
			continue;
		if (on)
			irq_on(&devs[i]);
		else
			rt_irq_disable(devs[i].irq);
	}
}

void rt_virtio_set_event_idx(int on)
{
	no_event_idx = !on;
}

void rt_virtio_ack_unoffered(uint64_t bits)
{
	extra_ack = bits;
}

/* --- split virtqueue ------------------------------------------------- */

static uint16_t used_idx(const struct rt_virtqueue *q)
{
	return *(volatile uint16_t *)&q->used->idx;
}

int rt_virtq_alloc(struct rt_virtqueue *q)
{
	uint16_t i;

	if (q->num_free == 0)
		return -1;
	i = q->free_head;
	q->free_head = q->desc[i].next;
	q->num_free--;
	return i;
}

void rt_virtq_notify(struct rt_virtqueue *q)
{
	wr(q->dev, VM_QUEUE_NOTIFY, q->index);
}

void rt_virtq_publish(struct rt_virtqueue *q, uint16_t head)
{
	uint16_t old = q->avail_idx, now = (uint16_t)(old + 1);
	int notify;

	q->avail->ring[old & (q->size - 1)] = head;
	barrier();
	*(volatile uint16_t *)&q->avail->idx = now;
	q->avail_idx = now;
	full_fence();
	if (!q->dev->ready) {
		/* No notifications before DRIVER_OK (3.1.1): rt_virtio_ready sends it. */
		notify = 0;
	} else if (q->dev->event_idx) {
		/* avail_event follows used->ring[size] (2.7.10). */
		uint16_t ev = *(volatile uint16_t *)(uintptr_t)((uintptr_t)q->used + 4 +
								  sizeof(q->used->ring[0]) * q->size);

		notify = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		notify = !(*(volatile uint16_t *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	}
	if (notify)
		rt_virtq_notify(q);
}

int rt_virtq_submit(struct rt_virtqueue *q, const struct rt_vbuf *bufs, unsigned int n)
{
	uint16_t head, i;
	unsigned int k;

	if (q->size == 0 || n == 0)
		return RT_VIRTIO_EINVAL;
	if (q->num_free < n)
		return RT_VIRTIO_ENOSPC;
	/* The free list is linked through .next: take its first n entries. */
	head = i = q->free_head;
	for (k = 0; k < n; k++) {
		struct rt_vq_desc *dsc = &q->desc[i];

		dsc->addr = (uint64_t)(uintptr_t)bufs[k].addr;
		dsc->len = bufs[k].len;
		dsc->flags = (uint16_t)((bufs[k].writable ? VIRTQ_DESC_F_WRITE : 0) |
					(k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		if (k + 1 < n)
			i = dsc->next;
		else
			q->free_head = dsc->next;
	}
	q->num_free = (uint16_t)(q->num_free - n);
	rt_virtq_publish(q, head);
	return head;
}

int rt_virtq_wait(struct rt_virtqueue *q, uint64_t timeout_us)
{
	struct rt_virtio_dev *d = q->dev;
	uint64_t per_us = rt_tsc_per_us(), start = rt_tsc(), ticks = timeout_us * per_us;
	unsigned int n;

	if (q->size == 0)
		return RT_VIRTIO_EINVAL;
	/*
	 * Interrupt mode: an interrupt for the next used entry (EVENT_IDX) or
	 * every one. Polling: none (used_event half the index space away).
	 */
	if (d->event_idx)
		*(volatile uint16_t *)&q->avail->ring[q->size] =
		    (uint16_t)(q->last_used + (irq_mode ? 0 : 0x8000));
	else
		q->avail->flags = irq_mode ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	full_fence();
	for (n = 1;; n++) {
		uint64_t spent;

		if (used_idx(q) != q->last_used)
			return 0;
		if ((irq_mode || n % POLL_STATUS_EVERY == 0) &&
		    (rd(d, VM_STATUS) &
		     (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)))
			return RT_VIRTIO_EDEVICE;
		spent = rt_tsc() - start;
		if (spent >= ticks)
			return RT_VIRTIO_ETIMEDOUT;
		if (irq_mode)
			rt_irq_wait_us((ticks - spent) / per_us + 1);
		else
			rt_delay_us(POLL_US);
	}
}

int rt_virtq_get(struct rt_virtqueue *q, uint32_t *len)
{
	const struct rt_vq_used_elem *e;
	uint32_t id, n;
	uint16_t i;

	if (q->size == 0 || used_idx(q) == q->last_used)
		return -1;
	barrier();
	e = &q->used->ring[q->last_used & (q->size - 1)];
	id = *(volatile uint32_t *)&e->id;
	if (len != NULL)
		*len = *(volatile uint32_t *)&e->len;
	q->last_used++;
	if (id >= q->size)
		return RT_VIRTIO_EDEVICE;
	/* Give the chain back: walk it (bounded) and link its tail to free. */
	for (i = (uint16_t)id, n = 1; (q->desc[i].flags & VIRTQ_DESC_F_NEXT) && n < q->size; n++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + n);
	if (q->num_free > q->size)
		q->num_free = q->size;
	return (int)id;
}

int64_t rt_virtq_call(struct rt_virtqueue *q, const struct rt_vbuf *bufs, unsigned int n,
		      uint64_t timeout_us)
{
	uint64_t per_us = rt_tsc_per_us(), start = rt_tsc();
	uint32_t len = 0;
	int head, ret;

	head = rt_virtq_submit(q, bufs, n);
	if (head < 0)
		return head;
	for (;;) {
		uint64_t spent = (rt_tsc() - start) / per_us;

		ret = rt_virtq_wait(q, spent < timeout_us ? timeout_us - spent : 0);
		if (ret < 0)
			return ret;
		ret = rt_virtq_get(q, &len);
		if (ret == head)
			return len;
		if (ret == RT_VIRTIO_EDEVICE)
			return ret;
		/* Another chain's completion (not ours): keep waiting. */
	}
}
