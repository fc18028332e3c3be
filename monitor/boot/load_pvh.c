// SPDX-License-Identifier: Apache-2.0
/* load_pvh.c: find the Xen PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) in ELF notes. */
#include "loader.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bootproto.h"
#include "ember_err.h"

#define XEN_NOTE_NAME	"Xen"	       /* namesz 4 with the NUL */
#define PVH_ENTRY_LIMIT 0x100000000ULL /* entered in 32-bit mode */

struct note {
	uint32_t namesz, descsz, type;
	const uint8_t *name, *desc;
};

static uint64_t round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/*
 * Take one note from seg[*pos..len). Name and descriptor are padded to
 * (align); the padding after the last descriptor may be cut by the segment end.
 */
static int next_note(const uint8_t *seg, uint64_t len, uint64_t align, uint64_t *pos,
		     struct note *n)
{
	uint64_t p = *pos;

	memcpy(&n->namesz, seg + p, 4);
	memcpy(&n->descsz, seg + p + 4, 4);
	memcpy(&n->type, seg + p + 8, 4);
	p += 12;
	if (round_up(n->namesz, align) > len - p)
		return -EINVAL;
	n->name = seg + p;
	p += round_up(n->namesz, align);
	if (n->descsz > len - p)
		return -EINVAL;
	n->desc = seg + p;
	p += round_up(n->descsz, align);
	*pos = p < len ? p : len;
	return 0;
}

static int pvh_desc(const struct note *n, uint64_t *entry, struct ember_err *err)
{
	uint32_t e32;

	if (n->descsz == 4) {
		memcpy(&e32, n->desc, 4);
		*entry = e32;
	} else if (n->descsz == 8) {
		memcpy(entry, n->desc, 8);
	} else {
		ember_err_set(err, 0, "kernel: ELF PVH note: descsz %u, expected 4 or 8",
			      n->descsz);
		return -EINVAL;
	}
	if (*entry >= PVH_ENTRY_LIMIT) {
		ember_err_set(err, 0, "kernel: ELF PVH note: entry 0x%" PRIx64 " is above 4 GiB",
			      *entry);
		return -EINVAL;
	}
	return 1;
}

static bool is_pvh(const struct note *n)
{
	return n->type == BOOTPROTO_XEN_ELFNOTE_PHYS32_ENTRY &&
	       n->namesz == sizeof(XEN_NOTE_NAME) &&
	       memcmp(n->name, XEN_NOTE_NAME, sizeof(XEN_NOTE_NAME)) == 0;
}

static int scan_segment(const uint8_t *image, const Elf64_Phdr *ph, unsigned int i, uint64_t *entry,
			struct ember_err *err)
{
	const uint8_t *seg = image + ph->p_offset;
	uint64_t align = ph->p_align == 8 ? 8 : 4;
	uint64_t pos = 0;
	struct note n;

	while (ph->p_filesz - pos >= 12) {
		if (next_note(seg, ph->p_filesz, align, &pos, &n) != 0) {
			ember_err_set(
			    err, 0,
			    "kernel: ELF phdr[%u] PT_NOTE: namesz %u / descsz %u run past the "
			    "segment (0x%" PRIx64 " bytes)",
			    i, n.namesz, n.descsz, ph->p_filesz);
			return -EINVAL;
		}
		if (is_pvh(&n))
			return pvh_desc(&n, entry, err);
	}
	return 0;
}

int load_pvh_entry(const uint8_t *image, size_t size, const Elf64_Phdr *phdrs, unsigned int phnum,
		   uint64_t *entry, struct ember_err *err)
{
	for (unsigned int i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];
		int rc;

		if (ph->p_type != PT_NOTE)
			continue;
		if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
			return -EINVAL; /* load_elf.c checked and said so already */
		rc = scan_segment(image, ph, i, entry, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}
