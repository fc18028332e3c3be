// SPDX-License-Identifier: Apache-2.0
/* gmem.c: checked translation of guest-physical addresses. */
#include "gmem.h"

#include <errno.h>
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
