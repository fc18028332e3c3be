// SPDX-License-Identifier: Apache-2.0
/* load_bzimage.c: Linux bzImage, 64-bit boot protocol (boot.rst). */
#include "loader.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bootproto.h"
#include "layout.h"
#include "ember_err.h"

struct bzimage {
	const uint8_t *image;
	size_t size;
	struct setup_header hdr; /* a copy: the image may be unaligned */
	uint64_t setup_size;	 /* real-mode part, bytes */
	uint64_t pm_size;	 /* protected-mode part, bytes */
	struct ember_err *err;	 /* a failure's reason */
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

bool load_bzimage_probe(const uint8_t *image, size_t size)
{
	return size >= BOOTPROTO_HDRS_OFF + 4 &&
	       rd16(image + BOOTPROTO_BOOT_FLAG_OFF) == BOOTPROTO_BOOT_FLAG &&
	       rd32(image + BOOTPROTO_HDRS_OFF) == BOOTPROTO_HDRS_MAGIC;
}

static int check_header(const struct bzimage *bz)
{
	struct ember_err *err = bz->err;
	const struct setup_header *h = &bz->hdr;

	if (h->version < BOOTPROTO_MIN_VERSION) {
		ember_err_set(err, 0,
			      "kernel: bzImage version: boot protocol %u.%02u, need 2.12 or later",
			      h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		ember_err_set(err, 0, "kernel: bzImage lacks XLF_KERNEL_64: a 64-bit entry point");
		return -ENOEXEC;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		ember_err_set(err, 0, "kernel: bzImage loadflags: LOADED_HIGH clear (a zImage)");
		return -ENOEXEC;
	}
	return 0;
}

static int parse(struct bzimage *bz)
{
	struct ember_err *err = bz->err;
	unsigned int sects;
	int rc;

	if (bz->size < BOOTPROTO_SETUP_HDR_END) {
		ember_err_set(err, 0, "kernel: bzImage setup header: truncated (%zu bytes)",
			      bz->size);
		return -EINVAL;
	}
	memcpy(&bz->hdr, bz->image + BOOTPROTO_SETUP_HDR_OFF, sizeof(bz->hdr));
	rc = check_header(bz);
	if (rc != 0)
		return rc;
	sects = bz->hdr.setup_sects ? bz->hdr.setup_sects : BOOTPROTO_DEFAULT_SETUP_SECTS;
	bz->setup_size = (uint64_t)(sects + 1) * BOOTPROTO_SECTOR;
	if (bz->setup_size + BOOTPROTO_ENTRY64_OFFSET >= bz->size) {
		ember_err_set(
		    err, 0,
		    "kernel: bzImage setup_sects: %u puts the 64-bit entry at offset 0x%" PRIx64
		    ", past the end of the file (%zu bytes)",
		    bz->hdr.setup_sects, bz->setup_size + BOOTPROTO_ENTRY64_OFFSET, bz->size);
		return -EINVAL;
	}
	bz->pm_size = bz->size - bz->setup_size;
	return 0;
}

/*
 * Where the kernel will decompress and run: boot.rst has the kernel use
 * init_size bytes from its runtime address, which for x86_64 is
 * pref_address (LOAD_PHYSICAL_ADDR) when that is above the load address.
 */
static int runtime_range(const struct gmem *gm, const struct bzimage *bz, uint64_t *end)
{
	uint64_t base = LAYOUT_HIMEM_START;
	int rc;

	*end = LAYOUT_HIMEM_START + bz->pm_size;
	if (bz->hdr.init_size == 0)
		return 0;
	if (bz->hdr.pref_address > base)
		base = bz->hdr.pref_address;
	rc = loader_check_range(gm, "bzImage pref_address + init_size", base, bz->hdr.init_size,
				bz->err);
	if (rc != 0)
		return rc;
	if (base + bz->hdr.init_size > *end)
		*end = base + bz->hdr.init_size;
	return 0;
}

static void fill_info(const struct bzimage *bz, uint64_t end, struct kernel_info *out)
{
	size_t hdr_end = BOOTPROTO_HDRS_OFF + bz->image[BOOTPROTO_JUMP_OFF + 1];

	/* boot.rst: the header ends at 0x202 + the byte at 0x201. */
	if (hdr_end > BOOTPROTO_SETUP_HDR_END)
		hdr_end = BOOTPROTO_SETUP_HDR_END;
	out->format = KERNEL_FORMAT_BZIMAGE;
	out->entry = LAYOUT_HIMEM_START + BOOTPROTO_ENTRY64_OFFSET;
	out->load_start = LAYOUT_HIMEM_START;
	out->load_end = end;
	out->setup_header_len = hdr_end - BOOTPROTO_SETUP_HDR_OFF;
	memcpy(out->setup_header, bz->image + BOOTPROTO_SETUP_HDR_OFF, out->setup_header_len);
	out->initrd_addr_max = bz->hdr.initrd_addr_max;
	/*
	 * ember writes at most LAYOUT_CMDLINE_MAX - 1 bytes whatever the kernel
	 * accepts; a larger cmdline_size (0xffffffff from a hostile image) would
	 * only make callers' cmdline_max + 1 wrap to 0.
	 */
	out->cmdline_max = bz->hdr.cmdline_size < LAYOUT_CMDLINE_MAX - 1 ? bz->hdr.cmdline_size
									 : LAYOUT_CMDLINE_MAX - 1;
}

int load_bzimage_image(const struct gmem *gm, const uint8_t *image, size_t size,
		       enum boot_entry_pref pref, struct kernel_info *out, struct ember_err *err)
{
	struct bzimage bz = {.image = image, .size = size, .err = err};
	uint64_t end = 0;
	int rc;

	_Static_assert(BOOTPROTO_SETUP_HDR_END - BOOTPROTO_SETUP_HDR_OFF <= LOADER_SETUP_HEADER_MAX,
		       "kernel_info.setup_header holds the whole setup header");
	if (pref == BOOT_ENTRY_PVH) {
		ember_err_set(err, 0,
			      "kernel: PVH boot requested but a bzImage has no PVH entry (boot the "
			      "vmlinux instead)");
		return -EINVAL;
	}
	rc = parse(&bz);
	if (rc == 0)
		rc = loader_check_range(gm, "bzImage protected-mode code", LAYOUT_HIMEM_START,
					bz.pm_size, err);
	if (rc == 0)
		rc = runtime_range(gm, &bz, &end);
	if (rc != 0)
		return rc;
	if (gmem_write(gm, LAYOUT_HIMEM_START, image + bz.setup_size, bz.pm_size) != 0) {
		ember_err_set(err, 0, "kernel: bzImage protected-mode code: not in guest RAM");
		return -EFAULT;
	}
	fill_info(&bz, end, out);
	return 0;
}
