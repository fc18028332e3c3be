/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_cpu.h: x86_64 CPU state for booting, as plain data: the boot GDT and
 * identity page tables written into guest memory, and the register values a
 * vCPU starts with. No ioctls here; vcpu.c hands the results to KVM.
 */
#ifndef EMBER_X86_CPU_H
#define EMBER_X86_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

/* How the first instruction of the guest runs. */
enum x86_boot_mode {
	X86_BOOT_LONG_MODE, /* 64-bit, paging on: ELF vmlinux and bzImage */
	X86_BOOT_PROTECTED, /* 32-bit, paging off: PVH */
};

#define X86_GDT_CODE_SEL 0x08
#define X86_GDT_DATA_SEL 0x10
#define X86_GDT_TSS_SEL	 0x18

/*
 * x86_write_boot_tables: write the GDT for (mode) at LAYOUT_GDT_ADDR, an
 * empty IDT at LAYOUT_IDT_ADDR and, for long mode, page tables that
 * identity-map the first 4 GiB with 2 MiB pages. Returns 0 or -EFAULT when
 * guest memory is too small to hold them.
 */
int x86_write_boot_tables(const struct gmem *gm, enum x86_boot_mode mode);

/*
 * x86_boot_sregs: set segments, descriptor tables, CR0/CR3/CR4 and EFER in
 * (sregs), which holds the vCPU's current values, for (mode).
 */
void x86_boot_sregs(struct kvm_sregs *sregs, enum x86_boot_mode mode);

/*
 * x86_boot_regs: general registers at entry: RIP = (entry), the boot stack,
 * and (boot_info) in RSI (long mode, zero page) or RBX (PVH start info).
 */
void x86_boot_regs(struct kvm_regs *regs, enum x86_boot_mode mode, uint64_t entry,
		   uint64_t boot_info);

/* x86_boot_fpu: the x87/SSE control words a freshly reset CPU has. */
void x86_boot_fpu(struct kvm_fpu *fpu);

/* X86_BOOT_MSRS: how many entries x86_boot_msrs fills. */
#define X86_BOOT_MSRS 11

/* x86_boot_msrs: the MSR values every vCPU starts with; fills X86_BOOT_MSRS entries. */
void x86_boot_msrs(struct kvm_msr_entry *entries);

/*
 * x86_lapic_lints: program LVT LINT0 as ExtINT and LINT1 as NMI in the
 * local APIC register page (KVM_GET_LAPIC's regs), as the MP spec's virtual
 * wire mode expects.
 */
void x86_lapic_lints(struct kvm_lapic_state *lapic);

#endif /* EMBER_X86_CPU_H */
