// SPDX-License-Identifier: Apache-2.0
/*
 * x86_cpu.c: boot GDT, identity page tables and initial register values.
 * References: Intel SDM vol. 3A 3.4.5 (segment descriptors), 4.5 (4-level
 * paging), 9.8.5 (initializing IA-32e mode).
 */
#include "x86_cpu.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

/* Control register and EFER bits (SDM 2.5, 2.2.1). */
#define CR0_PE	 (1ULL << 0)
#define CR0_MP	 (1ULL << 1)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_CD	 (1ULL << 30)
#define CR0_NW	 (1ULL << 29)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Page-table entry bits (SDM 4.5). */
#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITE    (1ULL << 1)
#define PTE_HUGE     (1ULL << 7) /* PS: a 2 MiB page in a PD entry */
#define PAGE_SIZE_4K 0x1000ULL
#define PAGE_SIZE_2M 0x200000ULL
#define PT_ENTRIES   512ULL

/*
 * GDT descriptor flags as (flags nibble << 12 | access byte): G, D/B, L,
 * AVL in bits 15..12; P, DPL, S, type in bits 7..0.
 */
#define GDT_CODE64   0xa09bU /* G, L, present, code exec/read accessed */
#define GDT_CODE32   0xc09bU /* G, D, present, code exec/read accessed */
#define GDT_DATA     0xc093U /* G, B, present, data read/write accessed */
#define GDT_TSS64    0x808bU /* G, present, busy 64-bit TSS */
#define GDT_TSS32    0x008bU /* present, busy TSS */
#define GDT_LIMIT_4G 0xfffffU
#define GDT_ENTRIES  4

/* MSR numbers (SDM vol. 4). */
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_IA32_TSC		0x10
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE		(1ULL << 11)
#define MTRR_TYPE_WRBACK	6ULL

/* FPU state after FNINIT, MXCSR after reset (SDM 8.1.5, 10.2.3.1). */
#define FPU_FCW_DEFAULT 0x37f
#define MXCSR_DEFAULT	0x1f80

/* Local APIC LVT registers and delivery modes (SDM 10.5.1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_DM_MASK   0x700U
#define APIC_DM_NMI    0x400U
#define APIC_DM_EXTINT 0x700U

static uint64_t gdt_entry(uint32_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000U) << 32) | ((uint64_t)(flags & 0xf0ffU) << 40) |
	       ((uint64_t)(limit & 0x000f0000U) << 32) | ((uint64_t)(base & 0x00ffffffU) << 16) |
	       (uint64_t)(limit & 0x0000ffffU);
}

static struct kvm_segment segment_from(uint32_t flags, uint16_t selector)
{
	const uint32_t limit = GDT_LIMIT_4G;
	const bool gran = (flags >> 15) & 1;
	struct kvm_segment s = {
	    .base = 0,
	    .limit = gran ? (limit << 12) | 0xfffU : limit,
	    .selector = selector,
	    .type = flags & 0xf,
	    .present = (flags >> 7) & 1,
	    .dpl = (flags >> 5) & 3,
	    .db = (flags >> 14) & 1,
	    .s = (flags >> 4) & 1,
	    .l = (flags >> 13) & 1,
	    .g = gran,
	    .avl = (flags >> 12) & 1,
	};
	s.unusable = !s.present;
	return s;
}

static void gdt_flags(enum x86_boot_mode mode, uint32_t out[GDT_ENTRIES])
{
	out[0] = 0;
	out[1] = mode == X86_BOOT_LONG_MODE ? GDT_CODE64 : GDT_CODE32;
	out[2] = GDT_DATA;
	out[3] = mode == X86_BOOT_LONG_MODE ? GDT_TSS64 : GDT_TSS32;
}

static int write_page_tables(const struct gmem *gm)
{
	uint64_t *pml4 = gmem_ptr(gm, LAYOUT_PML4_ADDR, PAGE_SIZE_4K);
	uint64_t *pdpt = gmem_ptr(gm, LAYOUT_PDPT_ADDR, PAGE_SIZE_4K);
	uint64_t *pd = gmem_ptr(gm, LAYOUT_PD_ADDR, PAGE_SIZE_4K * LAYOUT_PD_PAGES);

	if (pml4 == NULL || pdpt == NULL || pd == NULL)
		return -EFAULT;
	memset(pml4, 0, PAGE_SIZE_4K);
	memset(pdpt, 0, PAGE_SIZE_4K);
	pml4[0] = LAYOUT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < LAYOUT_PD_PAGES; i++)
		pdpt[i] = (LAYOUT_PD_ADDR + i * PAGE_SIZE_4K) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < LAYOUT_PD_PAGES * PT_ENTRIES; i++)
		pd[i] = (i * PAGE_SIZE_2M) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	return 0;
}

int x86_write_boot_tables(const struct gmem *gm, enum x86_boot_mode mode)
{
	uint32_t flags[GDT_ENTRIES];
	uint64_t gdt[GDT_ENTRIES];
	const uint64_t idt = 0;

	gdt_flags(mode, flags);
	for (int i = 0; i < GDT_ENTRIES; i++)
		gdt[i] = flags[i] == 0 ? 0 : gdt_entry(flags[i], 0, GDT_LIMIT_4G);
	if (gmem_write(gm, LAYOUT_GDT_ADDR, gdt, sizeof(gdt)) < 0 ||
	    gmem_write(gm, LAYOUT_IDT_ADDR, &idt, sizeof(idt)) < 0)
		return -EFAULT;
	if (mode == X86_BOOT_LONG_MODE)
		return write_page_tables(gm);
	return 0;
}

void x86_boot_sregs(struct kvm_sregs *sregs, enum x86_boot_mode mode)
{
	uint32_t flags[GDT_ENTRIES];

	gdt_flags(mode, flags);
	struct kvm_segment code = segment_from(flags[1], X86_GDT_CODE_SEL);
	struct kvm_segment data = segment_from(flags[2], X86_GDT_DATA_SEL);
	struct kvm_segment tss = segment_from(flags[3], X86_GDT_TSS_SEL);

	sregs->gdt.base = LAYOUT_GDT_ADDR;
	sregs->gdt.limit = GDT_ENTRIES * sizeof(uint64_t) - 1;
	sregs->idt.base = LAYOUT_IDT_ADDR;
	sregs->idt.limit = sizeof(uint64_t) - 1;
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = tss;

	sregs->cr0 &= ~(CR0_CD | CR0_NW);
	sregs->cr0 |= CR0_PE | CR0_MP | CR0_ET | CR0_NE;
	if (mode == X86_BOOT_LONG_MODE) {
		sregs->cr3 = LAYOUT_PML4_ADDR;
		sregs->cr4 |= CR4_PAE;
		sregs->cr0 |= CR0_PG;
		sregs->efer |= EFER_LME | EFER_LMA;
	} else {
		sregs->cr0 &= ~CR0_PG;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
	}
}

void x86_boot_regs(struct kvm_regs *regs, enum x86_boot_mode mode, uint64_t entry,
		   uint64_t boot_info)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* bit 1 is reserved and always set */
	regs->rip = entry;
	regs->rsp = LAYOUT_BOOT_STACK_TOP;
	regs->rbp = LAYOUT_BOOT_STACK_TOP;
	if (mode == X86_BOOT_LONG_MODE)
		regs->rsi = boot_info;
	else
		regs->rbx = boot_info;
}

void x86_boot_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = FPU_FCW_DEFAULT;
	fpu->mxcsr = MXCSR_DEFAULT;
}

void x86_boot_msrs(struct kvm_msr_entry *entries)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} msrs[X86_BOOT_MSRS] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_LSTAR, 0},
	    {MSR_IA32_TSC, 0},
	    {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
	    {MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK},
	};
	for (int i = 0; i < X86_BOOT_MSRS; i++)
		entries[i] = (struct kvm_msr_entry){.index = msrs[i].index, .data = msrs[i].data};
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~APIC_DM_MASK) | mode;
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

void x86_lapic_lints(struct kvm_lapic_state *lapic)
{
	set_lvt_mode(lapic, APIC_LVT_LINT0, APIC_DM_EXTINT);
	set_lvt_mode(lapic, APIC_LVT_LINT1, APIC_DM_NMI);
}
