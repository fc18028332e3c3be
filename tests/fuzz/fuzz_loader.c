// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_loader.c: the kernel loaders (ELF vmlinux, PVH, bzImage) and the boot
 * structures written after them, in the order monitor/builder.c's
 * write_boot_structures uses: kernel, initrd, command line (its limit from
 * the bzImage's cmdline_size), zero page or PVH start info, MP table, GDT and
 * page tables. No KVM: guest RAM is an anonymous mapping behind a gmem.
 *
 * Input: 8 bytes of options, then the kernel image.
 *   [0] flags: bits 0-1 boot entry (auto, linux64, pvh, an invalid value),
 *       bit 2 RAM is fresh (LOAD_RAM_ZEROED), bit 3 RAM above 4 GiB too,
 *       bit 4 an initrd, bit 5 a command line of our own (else the default)
 *   [1] vCPUs for the MP table
 *   [2..3] initrd size in 16-byte units (bit 7 of [0]: in 4 KiB units)
 *   [4..5] command line length (bytes of 'x' and ' ', from [6..7])
 *   [6..7] seed of the command line's words
 *
 * Invariants beyond the sanitizers: every failure logs an error line (ember
 * must never exit 125 without saying why); what loaded lies in RAM at or
 * above 1 MiB; nothing touches [0xa0000, 1 MiB), which no boot structure uses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bootparams.h"
#include "config.h"
#include "kernel_cmdline.h"
#include "fuzz_util.h"
#include "layout.h"
#include "loader.h"
#include "log.h"
#include "mptable.h"
#include "x86_cpu.h"

#define LOW_SIZE   (32ull << 20)
#define HIGH_SIZE  (2ull << 20)
#define HOLE_START 0xa0000ull /* MP table ends below; [0xa0000, 1 MiB) is never written */
#define HOLE_BYTES (LAYOUT_HIMEM_START - HOLE_START)
#define HOLE_BYTE  0xa5

/* Harness state: guest RAM is mapped once. */
static uint8_t *low, *high, *initrd;
static struct gmem gm_low, gm_both;
static uint8_t hole_pattern[HOLE_BYTES];

static void *map(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	FZ_CHECK(p != MAP_FAILED, "mmap");
	return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_logs();
	low = map(LOW_SIZE);
	high = map(HIGH_SIZE);
	initrd = map(LOW_SIZE); /* any initrd that fits in RAM; its bytes do not matter */
	FZ_CHECK(gmem_add_region(&gm_low, 0, LOW_SIZE, low) == 0, "gmem");
	FZ_CHECK(gmem_add_region(&gm_both, 0, LOW_SIZE, low) == 0, "gmem");
	FZ_CHECK(gmem_add_region(&gm_both, LAYOUT_MMIO_GAP_END, HIGH_SIZE, high) == 0, "gmem");
	memset(hole_pattern, HOLE_BYTE, sizeof(hole_pattern));
	memcpy(low + HOLE_START, hole_pattern, sizeof(hole_pattern));
	return 0;
}

/* failed: a step returned (rc) < 0; ember reports that step's reason, so there must be one. */
static bool failed(int rc, const char *what, const struct ember_err *why)
{
	if (rc >= 0)
		return false;
	FZ_CHECK(why->msg[0] != '\0', "%s failed (%d) without a reason", what, rc);
	return true;
}

/* make_cmdline: (len) bytes of words from (seed) into (out), NUL-terminated. */
static void make_cmdline(char *out, size_t len, uint16_t seed)
{
	static const char *const words[] = {
	    "console=ttyS0", "--", "root=/dev/vda", "\"a b\"", "quiet", " ", "x", "--x"};
	size_t at = 0;

	while (at < len) {
		const char *w = words[seed % 8];
		size_t n = strlen(w);
		seed = (uint16_t)(seed * 31 + 7);
		if (n > len - at)
			n = len - at;
		memcpy(out + at, w, n);
		at += n;
		if (at < len)
			out[at++] = ' ';
	}
	out[len] = '\0';
}

/*
 * write_cmdline: as builder.c's: the limit is our buffer, or the bzImage's
 * cmdline_size and its NUL when that is less.
 */
static int write_cmdline(const struct gmem *gm, const struct kernel_info *k,
			 const struct vm_config *cfg, struct boot_layout *bl, struct ember_err *why)
{
	char cmdline[LAYOUT_CMDLINE_MAX];
	size_t limit = sizeof(cmdline);
	int len;

	if (k->cmdline_max != 0 && k->cmdline_max + 1 < limit)
		limit = k->cmdline_max + 1;
	struct kernel_cmdline kc;
	kernel_cmdline_init(&kc, cfg->cmdline);
	kernel_cmdline_add(&kc, "virtio_mmio.device=4K@0x%x:%u", 0xc0001000u, 5u);
	len = kernel_cmdline_render(&kc, cfg->guest_args, cfg->nguest_args, cmdline, limit, why);
	if (len < 0)
		return len;
	bl->cmdline_gpa = LAYOUT_CMDLINE_ADDR;
	bl->cmdline_size = (uint32_t)len + 1;
	if (gmem_write(gm, LAYOUT_CMDLINE_ADDR, cmdline, (uint64_t)len + 1) != 0) {
		ember_err_set(why, 0, "cmdline: not in guest RAM");
		return -EFAULT;
	}
	return 0;
}

static void check_loaded(const struct gmem *gm, const struct kernel_info *k)
{
	FZ_CHECK(k->load_start >= LAYOUT_HIMEM_START && k->load_start <= k->load_end,
		 "loaded at [0x%llx, 0x%llx)", (unsigned long long)k->load_start,
		 (unsigned long long)k->load_end);
	/* With one region, the whole span must be RAM; with two it may straddle the gap. */
	if (gm->nregions == 1)
		FZ_CHECK(k->load_end <= LOW_SIZE, "loaded up to 0x%llx, RAM ends at 0x%llx",
			 (unsigned long long)k->load_end, LOW_SIZE);
	FZ_CHECK(k->setup_header_len <= sizeof(k->setup_header), "setup header of %zu bytes",
		 k->setup_header_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum boot_entry_pref prefs[] = {BOOT_ENTRY_AUTO, BOOT_ENTRY_LINUX64,
						     BOOT_ENTRY_PVH, (enum boot_entry_pref)7};
	char cmdline[4096];
	struct fz in;
	struct vm_config cfg;
	struct kernel_info k;
	struct boot_layout bl = {0};
	struct ember_err why = {0};
	const uint8_t *image;
	size_t image_size;
	int rc;

	fz_init(&in, data, size);
	uint8_t flags = fz_u8(&in);
	unsigned int vcpus = fz_u8(&in) % (CONFIG_MAX_VCPUS + 2);
	uint64_t initrd_size = (uint64_t)fz_u16(&in) << ((flags & 0x80) ? 12 : 4);
	size_t cmdline_len = fz_u16(&in) % (sizeof(cmdline) - 1);
	uint16_t seed = fz_u16(&in);
	const struct gmem *gm = (flags & 8) ? &gm_both : &gm_low;

	image_size = fz_take(&in, SIZE_MAX, &image);
	if (image == NULL)
		image = (const uint8_t *)""; /* an empty input: a valid pointer to no bytes */
	memset(low, 0, LAYOUT_CMDLINE_ADDR + LAYOUT_CMDLINE_MAX);
	config_defaults(&cfg);
	if (flags & 0x20) {
		make_cmdline(cmdline, cmdline_len, seed);
		cfg.cmdline = cmdline;
	}

	rc = loader_load_kernel(gm, image, image_size, prefs[flags & 3],
				(flags & 4) ? LOAD_RAM_ZEROED : LOAD_RAM_DIRTY, &k, &why);
	if (failed(rc, "loader_load_kernel", &why))
		goto out;
	check_loaded(gm, &k);
	if ((flags & 0x10) && initrd_size <= LOW_SIZE) {
		rc = loader_load_initrd(gm, &k, initrd, initrd_size, &bl.initrd_gpa, &why);
		if (failed(rc, "loader_load_initrd", &why))
			goto out;
		bl.initrd_size = initrd_size;
		FZ_CHECK(bl.initrd_gpa >= k.load_end && bl.initrd_gpa % 4096 == 0 &&
			     bl.initrd_gpa + initrd_size <= LAYOUT_MMIO_GAP_START,
			 "initrd at 0x%llx, kernel ends at 0x%llx",
			 (unsigned long long)bl.initrd_gpa, (unsigned long long)k.load_end);
	}
	rc = write_cmdline(gm, &k, &cfg, &bl, &why);
	if (failed(rc, "the command line", &why))
		goto out;
	if (k.format == KERNEL_FORMAT_PVH)
		rc = bootparams_write_pvh(gm, &bl, &why);
	else
		rc = bootparams_write_zero_page(gm, &k, &bl, &why);
	if (failed(rc, "bootparams", &why))
		goto out;
	rc = mptable_write(gm, vcpus, &why);
	if (failed(rc, "mptable_write", &why))
		goto out;
	rc = x86_write_boot_tables(gm, k.format == KERNEL_FORMAT_PVH ? X86_BOOT_PROTECTED
								     : X86_BOOT_LONG_MODE);
	FZ_CHECK(rc == 0, "boot tables (%d) in 32 MiB of RAM", rc);
out:
	FZ_CHECK(memcmp(low + HOLE_START, hole_pattern, HOLE_BYTES) == 0,
		 "something wrote into [0xa0000, 1 MiB)");
	return 0;
}
