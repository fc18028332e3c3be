// SPDX-License-Identifier: Apache-2.0
/* gmem.c: checked translation of guest-physical addresses. */
#include "gmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gmem_add_region(struct gmem *gm, uint64_t gpa, uint64_t size, void *host)
{
	if (size == 0 || host == NULL || gpa + size < gpa)
		return -EINVAL;
	if (gm->nregions == GMEM_MAX_REGIONS)
		return -ENOSPC;
	if (gm->nregions > 0) {
		const struct gmem_region *last = &gm->regions[gm->nregions - 1];
		if (gpa < last->gpa + last->size)
			return -EINVAL;
	}
	gm->regions[gm->nregions++] = (struct gmem_region){.gpa = gpa, .size = size, .host = host};
	return 0;
}

void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		if (gpa < r->gpa)
			continue;
		/* Subtract first, then compare: no overflow on gpa + len. */
		uint64_t off = gpa - r->gpa;
		if (off >= r->size && !(off == r->size && len == 0))
			continue;
		if (len > r->size - off)
			break;
		return r->host + off;
	}
	errno = EFAULT;
	return NULL;
}

int gmem_read(const struct gmem *gm, void *dst, uint64_t gpa, uint64_t len)
{
	const void *src = gmem_ptr(gm, gpa, len);
	if (src == NULL)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gmem_ptr(gm, gpa, len);
	if (dst == NULL)
		return -EFAULT;
	memcpy(dst, src, len);
	gmem_mark_dirty(gm, gpa, len);
	return 0;
}

uint64_t gmem_ram_end(const struct gmem *gm)
{
	if (gm->nregions == 0)
		return 0;
	const struct gmem_region *last = &gm->regions[gm->nregions - 1];
	return last->gpa + last->size;
}

uint64_t gmem_ram_size(const struct gmem *gm)
{
	uint64_t total = 0;
	for (unsigned int i = 0; i < gm->nregions; i++)
		total += gm->regions[i].size;
	return total;
}

size_t gmem_dirty_words(const struct gmem_region *r)
{
	uint64_t pages = (r->size + GMEM_PAGE_BYTES - 1) / GMEM_PAGE_BYTES;
	return (size_t)((pages + GMEM_BITS_PER_WORD - 1) / GMEM_BITS_PER_WORD);
}

int gmem_track_dirty(struct gmem *gm, bool all_dirty)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		struct gmem_region *r = &gm->regions[i];
		size_t words = gmem_dirty_words(r);

		r->dirty = calloc(words, sizeof(*r->dirty));
		if (r->dirty == NULL) {
			gmem_untrack_dirty(gm);
			return -ENOMEM;
		}
		/* Bits past the last page stay clear even when all are dirty. */
		if (all_dirty) {
			uint64_t pages = (r->size + GMEM_PAGE_BYTES - 1) / GMEM_PAGE_BYTES;
			for (uint64_t p = 0; p < pages; p++)
				r->dirty[p / GMEM_BITS_PER_WORD] |= 1ULL
								    << (p % GMEM_BITS_PER_WORD);
		}
	}
	return 0;
}

void gmem_untrack_dirty(struct gmem *gm)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		free(gm->regions[i].dirty);
		gm->regions[i].dirty = NULL;
	}
}

void gmem_mark_dirty(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		if (r->dirty == NULL || len == 0 || gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		uint64_t last = off + (len - 1 < r->size - off ? len - 1 : r->size - off - 1);
		for (uint64_t p = off / GMEM_PAGE_BYTES; p <= last / GMEM_PAGE_BYTES; p++)
			__atomic_fetch_or(&r->dirty[p / GMEM_BITS_PER_WORD],
					  1ULL << (p % GMEM_BITS_PER_WORD), __ATOMIC_RELAXED);
		return;
	}
}

void gmem_take_dirty(const struct gmem *gm, unsigned int index, uint64_t *out)
{
	if (index >= gm->nregions || gm->regions[index].dirty == NULL)
		return;
	const struct gmem_region *r = &gm->regions[index];
	for (size_t w = 0; w < gmem_dirty_words(r); w++)
		out[w] |= __atomic_exchange_n(&r->dirty[w], 0, __ATOMIC_RELAXED);
}

void gmem_give_dirty(const struct gmem *gm, unsigned int index, const uint64_t *bits)
{
	if (index >= gm->nregions || gm->regions[index].dirty == NULL)
		return;
	const struct gmem_region *r = &gm->regions[index];
	for (size_t w = 0; w < gmem_dirty_words(r); w++)
		__atomic_fetch_or(&r->dirty[w], bits[w], __ATOMIC_RELAXED);
}
