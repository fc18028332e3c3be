// SPDX-License-Identifier: Apache-2.0
/* vq_builder.c: driver-side virtqueue layout over malloc'd guest RAM, for tests. */
#include "vq_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"

static void die(const char *what)
{
	fprintf(stderr, "vq_builder: %s\n", what);
	abort();
}

void vqb_init(struct vqb *b, uint16_t size)
{
	memset(b, 0, sizeof(*b));
	b->ram = aligned_alloc(4096, VQB_RAM_SIZE);
	if (b->ram == NULL)
		die("out of memory");
	memset(b->ram, 0, VQB_RAM_SIZE);
	if (gmem_add_region(&b->gm, VQB_RAM_GPA, VQB_RAM_SIZE, b->ram) != 0)
		die("gmem_add_region");
	b->size = size;
	/* Rings at the spec's alignments, each on its own page. */
	b->desc = VQB_RAM_GPA + 0x1000;
	b->avail = b->desc + ((VIRTQ_DESC_BYTES(size) + 0xfff) & ~0xfffull);
	b->used = b->avail + ((VIRTQ_AVAIL_BYTES(size) + 0xfff) & ~0xfffull);
	b->next_free = b->used + ((VIRTQ_USED_BYTES(size) + 0xfff) & ~0xfffull);
}

void vqb_free(struct vqb *b)
{
	free(b->ram);
	b->ram = NULL;
}

void vqb_clone(struct vqb *dst, const struct vqb *src)
{
	*dst = *src;
	dst->ram = aligned_alloc(4096, VQB_RAM_SIZE);
	if (dst->ram == NULL)
		die("out of memory");
	memcpy(dst->ram, src->ram, VQB_RAM_SIZE);
	memset(&dst->gm, 0, sizeof(dst->gm));
	if (gmem_add_region(&dst->gm, VQB_RAM_GPA, VQB_RAM_SIZE, dst->ram) != 0)
		die("gmem_add_region");
}

void vqb_share(struct vqb *q, const struct vqb *owner)
{
	q->ram = owner->ram;
	q->gm = owner->gm;
}

void *vqb_host(const struct vqb *b, uint64_t gpa)
{
	void *p = gmem_ptr(&b->gm, gpa, 0);
	if (p == NULL)
		die("gpa outside RAM");
	return p;
}

uint64_t vqb_alloc(struct vqb *b, uint64_t len)
{
	uint64_t gpa = b->next_free;

	if (len > VQB_RAM_GPA + VQB_RAM_SIZE - gpa)
		die("RAM exhausted");
	b->next_free = (gpa + len + 15) & ~15ull;
	return gpa;
}

void vqb_desc(struct vqb *b, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next)
{
	uint8_t *d = vqb_host(b, table + 16ull * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

uint16_t vqb_chain(struct vqb *b, uint16_t first, unsigned int n, const uint32_t *lens,
		   const bool *write, uint64_t *gpas)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = vqb_alloc(b, lens[i]);
		uint16_t flags =
		    (write[i] ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		vqb_desc(b, b->desc, (uint16_t)(first + i), gpa, lens[i], flags,
			 (uint16_t)(first + i + 1));
		if (gpas != NULL)
			gpas[i] = gpa;
	}
	return first;
}

static uint16_t *avail16(const struct vqb *b, unsigned int i)
{
	return (uint16_t *)vqb_host(b, b->avail + 2ull * i);
}

void vqb_publish(struct vqb *b, uint16_t head)
{
	*avail16(b, 2 + b->avail_idx % b->size) = head;
	b->avail_idx++;
	__atomic_store_n(avail16(b, 1), b->avail_idx, __ATOMIC_RELEASE);
}

void vqb_set_avail_idx(struct vqb *b, uint16_t idx)
{
	b->avail_idx = idx;
	__atomic_store_n(avail16(b, 1), idx, __ATOMIC_RELEASE);
}

void vqb_set_avail_flags(struct vqb *b, uint16_t flags)
{
	*avail16(b, 0) = flags;
}

void vqb_set_used_event(struct vqb *b, uint16_t v)
{
	*avail16(b, 2 + b->size) = v;
}

uint16_t vqb_avail_event(const struct vqb *b)
{
	uint16_t v;

	memcpy(&v, vqb_host(b, b->used + 4 + 8ull * b->size), 2);
	return v;
}

uint16_t vqb_used_idx(const struct vqb *b)
{
	return __atomic_load_n((uint16_t *)vqb_host(b, b->used + 2), __ATOMIC_ACQUIRE);
}

void vqb_used_elem(const struct vqb *b, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = vqb_host(b, b->used + 4 + 8ull * (i % b->size));

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

int vqb_queue(struct vqb *b, struct virtq *q, uint16_t max_size, bool event_idx, bool indirect)
{
	vq_init(q, "test", 0, max_size);
	q->size = b->size;
	q->desc_gpa = b->desc;
	q->avail_gpa = b->avail;
	q->used_gpa = b->used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	return vq_enable(q, &b->gm);
}

uint32_t vqb_mmio_read(struct virtio_mmio_dev *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(t, off, (uint8_t *)&v, 4, false);
	return v;
}

void vqb_mmio_write(struct virtio_mmio_dev *t, uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, true);
}

void vqb_queue_regs(struct virtio_mmio_dev *t, const struct vqb *b, unsigned int index)
{
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_SEL, index);
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_NUM, b->size);
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)b->desc);
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(b->desc >> 32));
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)b->avail);
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(b->avail >> 32));
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)b->used);
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(b->used >> 32));
	vqb_mmio_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}
uint32_t vqb_driver_init(struct virtio_mmio_dev *t, struct vqb *b, unsigned int index,
			 uint64_t want)
{
	uint64_t offered;
	uint32_t s;

	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, 0);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vqb_mmio_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = vqb_mmio_read(t, VIRTIO_MMIO_DEVICE_FEATURES);
	vqb_mmio_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)vqb_mmio_read(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	offered &= want;
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)offered);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vqb_mmio_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(offered >> 32));
	s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s);
	if (!(vqb_mmio_read(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return vqb_mmio_read(t, VIRTIO_MMIO_STATUS);
	vqb_queue_regs(t, b, index);
	vqb_mmio_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	return vqb_mmio_read(t, VIRTIO_MMIO_STATUS);
}
