/* SPDX-License-Identifier: Apache-2.0 */
/*
 * start.c: from the entry code to main(): boot info, page tables, IDT.
 *
 * The zero page layout is Linux's struct boot_params
 * (Documentation/arch/x86/zero-page.rst, boot.rst); the PVH start info is
 * Xen's struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 */
#include "rt.h"

#include "layout.h"

_Static_assert(RT_ENTRY_LINUX64 == RT_ENTRY_LINUX64_VAL, "entry.S value");
_Static_assert(RT_ENTRY_PVH == RT_ENTRY_PVH_VAL, "entry.S value");

/* Set by entry.S right after it clears .bss. */
uint64_t rt_boot_ptr;
uint32_t rt_boot_entry;

/*
 * Not cleared by the entry code (clearing costs emulated instructions on
 * kvm_pvm): rt_start() initialises every field it later reads.
 */
#define NOINIT __attribute__((section(".bss.noinit.rt")))
char rt_boot_stack[RT_BOOT_STACK_SIZE] __attribute__((section(".bss.noinit.stack"), aligned(16)));
static uint64_t pd_ext[RT_PD_PAGES - RT_BOOT_PD_PAGES][512]
    __attribute__((section(".bss.noinit.pt"), aligned(4096)));
static struct boot_info bi NOINIT;
static char cmdline[RT_CMDLINE_MAX] NOINIT;
static size_t cmdline_len NOINIT;
static char words[RT_CMDLINE_MAX] NOINIT;
static const char *argv[RT_ARGS_MAX + 1] NOINIT;

/* struct boot_params offsets used here. */
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES	    0x1e8
#define BP_HDR_CMD_LINE_PTR 0x228
#define BP_E820_TABLE	    0x2d0
#define BP_E820_MAX	    128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

static void add_region(uint64_t addr, uint64_t size, uint32_t type)
{
	struct rt_mem_region *r;

	if (bi.nr_mem >= RT_MEM_MAX || size == 0 || addr + size < addr)
		return;
	r = &bi.mem[bi.nr_mem++];
	r->start = addr;
	r->end = addr + size;
	r->type = type;
	if (type == RT_MEM_RAM)
		bi.ram_bytes += size;
}

/* Copy the command line at guest-physical (pa), NUL-terminated, bounded. */
static void copy_cmdline(uint64_t pa)
{
	const char *s = (const char *)(uintptr_t)pa;

	if (pa == 0 || pa >= LAYOUT_MMIO_GAP_START)
		return;
	cmdline_len = rt_strnlen(s, RT_CMDLINE_MAX - 1);
	memcpy(cmdline, s, cmdline_len);
	cmdline[cmdline_len] = '\0';
}

static void parse_linux64(const uint8_t *zp)
{
	const struct e820_entry *e;
	uint32_t lo, hi;
	unsigned int i, n;

	memcpy(&lo, zp + BP_HDR_CMD_LINE_PTR, 4);
	memcpy(&hi, zp + BP_EXT_CMD_LINE_PTR, 4);
	copy_cmdline((uint64_t)hi << 32 | lo);
	n = zp[BP_E820_ENTRIES];
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	e = (const struct e820_entry *)(zp + BP_E820_TABLE);
	for (i = 0; i < n; i++)
		add_region(e[i].addr, e[i].size, e[i].type);
}

static void parse_pvh(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *m;
	unsigned int i;

	if (si->magic != HVM_START_MAGIC)
		return;
	copy_cmdline(si->cmdline_paddr);
	if (si->version < 1 || si->memmap_paddr == 0 || si->memmap_paddr >= LAYOUT_MMIO_GAP_START)
		return;
	m = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
	for (i = 0; i < si->memmap_entries && i < RT_MEM_MAX; i++)
		add_region(m[i].addr, m[i].size, m[i].type);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Guest args: the words after the first "--" word. Only that tail is copied
 * and split; the rest is skipped with rt_memchr (a single REP SCASB), since
 * every C-level byte step is an emulated instruction or more under kvm_pvm.
 */
static void parse_args(void)
{
	const char *dash = cmdline, *end = cmdline + cmdline_len;
	char *p = NULL;

	bi.argc = 0;
	while ((dash = rt_memchr(dash, '-', (size_t)(end - dash))) != NULL) {
		if ((dash == cmdline || is_space(dash[-1])) && dash[1] == '-' &&
		    (dash[2] == '\0' || is_space(dash[2]))) {
			memcpy(words, dash + 2, (size_t)(end - dash) - 1);
			p = words;
			break;
		}
		dash++;
	}
	while (p != NULL) {
		char *w;

		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && !is_space(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		if (bi.argc < RT_ARGS_MAX)
			argv[bi.argc++] = w;
	}
	argv[bi.argc] = NULL;
	bi.argv = argv;
}

/*
 * Extend the identity map (4 GiB, prebuilt in entry.S) with 2 MiB pages up to
 * the top of the memory map, at most RT_PD_PAGES GiB. Costs about 2 ms per
 * GiB of RAM above 4 GiB under kvm_pvm's emulator, nothing otherwise.
 */
static void rt_paging_init(void)
{
	uint64_t top = LAYOUT_MMIO_GAP_END;
	unsigned int i, j, n;

	for (i = 0; i < bi.nr_mem; i++)
		if (bi.mem[i].end > top)
			top = bi.mem[i].end;
	n = (unsigned int)((top + (1ULL << 30) - 1) >> 30);
	if (n > RT_PD_PAGES)
		n = RT_PD_PAGES;
	bi.map_end = (uint64_t)n << 30;
	if (n <= RT_BOOT_PD_PAGES)
		return;
	for (i = RT_BOOT_PD_PAGES; i < n; i++) {
		uint64_t *pd = pd_ext[i - RT_BOOT_PD_PAGES];

		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + 0x83;
		rt_pdpt[i] = (uint64_t)(uintptr_t)pd | 3;
	}
	write_cr3((uint64_t)(uintptr_t)rt_pml4);
}

/* --- IDT: report any exception and exit -------------------------------- */

struct rt_exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void rt_idt_load(void)
{
	__asm__ volatile("lidt %0" : : "m"(*(const char(*)[10])rt_idt_desc));
}

void rt_exception(struct rt_exc_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	rt_printf_unlocked(
	    "runtime: exception %lu error=0x%lx rip=0x%lx rsp=0x%lx cr2=0x%lx apic=%u\n", f->vector,
	    f->error, f->rip, f->rsp, cr2, rt_apic_id());
	rt_exit(RT_EXIT_EXCEPTION);
}

void rt_start(void)
{
	bi.entry = (enum rt_entry)rt_boot_entry;
	bi.boot_params = rt_boot_ptr;
	bi.nr_mem = 0;
	bi.ram_bytes = 0;
	cmdline[0] = '\0';
	cmdline_len = 0;
	if (rt_boot_ptr != 0 && rt_boot_ptr < LAYOUT_MMIO_GAP_START) {
		if (bi.entry == RT_ENTRY_PVH)
			parse_pvh((const struct hvm_start_info *)(uintptr_t)rt_boot_ptr);
		else
			parse_linux64((const uint8_t *)(uintptr_t)rt_boot_ptr);
	}
	bi.cmdline = cmdline;
	parse_args();
	bi.image_start = (uint64_t)(uintptr_t)_image_start;
	bi.image_end = (uint64_t)(uintptr_t)_end;
	rt_paging_init();
	rt_exit(main(&bi));
}
