/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entry.S: the runtime's two boot entries, its GDT and its exception stubs.
 *
 * Image layout (guest.ld): the image loads at 1 MiB and the section .head
 * comes first, so the Linux 64-bit entry _start64 sits at 0x100200, the
 * bzImage 64-bit entry (load address + 0x200, Documentation/arch/x86/boot.rst
 * "64-bit boot protocol"). The same link is the ELF (e_entry = _start64) and
 * the protected-mode part of the bzImage.
 *
 * PVH (pvh_start32): 32-bit protected mode, paging off, EBX = hvm_start_info.
 * We load our GDT, enable PAE, EFER.LME and paging, and far-jump into 64-bit
 * code. Linux64 (_start64): already in long mode on the monitor's tables;
 * RSI = boot_params. Both load CR3 with the same page tables and share
 * common64, which loads our GDT, IDT and stack and calls rt_start() in C.
 *
 * Why so much is prebuilt: on the software KVM of our hosts (kvm_pvm) ring-0
 * guest code runs in KVM's instruction emulator at about 1 us per
 * instruction. Building a 4 GiB identity map with 2 MiB pages in a loop costs
 * some 10 ms there, so the page tables for the first 4 GiB and the IDT are
 * static data in the image (the monitor copies them in for free);
 * rt_paging_init() only adds page directories for RAM above 4 GiB.
 */
#include "rt.h"

	.section .head, "ax"
	.code64
	.globl _head
_head:
	/* Offset 0 is the 32-bit bzImage entry, which ember never uses. */
	cli
1:	hlt
	jmp 1b
	.org 0x200, 0xcc

	.globl _start64
_start64:
	cli
	cld
	mov %rsi, %r8
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	shr $3, %rcx
	xor %eax, %eax
	rep stosq
	mov %r8, rt_boot_ptr(%rip)
	movl $RT_ENTRY_LINUX64_VAL, rt_boot_entry(%rip)
	lgdt rt_gdt_desc(%rip)
	lea rt_pml4(%rip), %rax
	mov %rax, %cr3
	jmp common64

	.text
	.code64
/* Entered from pvh_start32 by a far jump with CS = RT_SEL_CODE64. */
long_from_pvh:
common64:
	mov $RT_SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	lea rt_boot_stack + RT_BOOT_STACK_SIZE(%rip), %rsp
	/* Reload CS from our GDT. */
	pushq $RT_SEL_CODE64
	lea 2f(%rip), %rax
	pushq %rax
	lretq
2:	lidt rt_idt_desc(%rip)
	xor %ebp, %ebp
	call rt_start
	ud2

	.section .text.pvh, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %esi
	/* Zero .bss; 8-byte aligned by guest.ld. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	mov %esi, rt_boot_ptr
	movl $RT_ENTRY_PVH_VAL, rt_boot_entry

	lgdt rt_gdt_desc
	mov $RT_SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov $(rt_boot_stack + RT_BOOT_STACK_SIZE), %esp

	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $rt_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $RT_SEL_CODE64, $long_from_pvh

/*
 * GDT: null, 64-bit code, flat data, flat 32-bit code (the AP trampoline's
 * protected-mode step). Accessed bits preset, so the CPU never writes here.
 */
	.data
	.balign 16
	.globl rt_gdt
rt_gdt:
	.quad 0
	.quad 0x00af9b000000ffff
	.quad 0x00cf93000000ffff
	.quad 0x00cf9b000000ffff
	.balign 16
	.globl rt_gdt_desc
rt_gdt_desc:
	.word RT_GDT_SIZE - 1
	.quad rt_gdt

/*
 * Identity map of the first 4 GiB: PML4[0] -> PDPT, PDPT[0..3] -> four page
 * directories of 2 MiB pages (present, writable, PS); the MMIO gap
 * [3 GiB, 4 GiB) is cache-disabled (PCD | PWT).
 */
	.section .data.pt, "aw"
	.balign 4096
	.globl rt_pml4, rt_pdpt, rt_pd
rt_pml4:
	.quad rt_pdpt + 3
	.fill 511, 8, 0
rt_pdpt:
	.set i, 0
	.rept RT_BOOT_PD_PAGES
	.quad rt_pd + i * 4096 + 3
	.set i, i + 1
	.endr
	.fill 512 - RT_BOOT_PD_PAGES, 8, 0
rt_pd:
	.set i, 0
	.rept RT_BOOT_PD_PAGES * 512
	.if i >= 3 * 512
	.quad (i << 21) | 0x9b
	.else
	.quad (i << 21) | 0x83
	.endif
	.set i, i + 1
	.endr

/*
 * IDT for vectors 0..RT_IDT_VECTORS-1: 64-bit interrupt gates (present, DPL
 * 0, type 0xe) to the stubs below; 0..31 are the CPU's exceptions, 32 up the
 * runtime's interrupt vectors (rt.h: IOAPIC pins, LAPIC timer, spurious).
 * guest.ld splits the stubs' address into rt_exc_stubs_lo/_hi; the stubs are
 * 1024-byte aligned, so lo + 16 * vector never carries, and below 4 GiB, so
 * the upper 32 offset bits are 0.
 */
	.data
	.balign 16
rt_idt:
	.set vec, 0
	.rept RT_IDT_VECTORS
	.word rt_exc_stubs_lo + 16 * vec
	.word RT_SEL_CODE64
	.byte 0
	.byte 0x8e
	.word rt_exc_stubs_hi
	.long 0
	.long 0
	.set vec, vec + 1
	.endr
	.balign 16
	.globl rt_idt_desc
rt_idt_desc:
	.word RT_IDT_VECTORS * 16 - 1
	.quad rt_idt

/*
 * Stubs for vectors 0..RT_IDT_VECTORS-1, 16 bytes apart: push a zero error
 * code where the CPU pushes none, push the vector, and join exc_common
 * (exceptions: save the general registers, call rt_exception(frame)) or
 * irq_common (interrupts: save the caller-saved registers, call
 * rt_irq_dispatch(vector), restore, iretq).
 */
	.text
	.code64
	.balign 1024
	.globl rt_exc_stubs
rt_exc_stubs:
	.set vec, 0
	.rept RT_IDT_VECTORS
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	.if vec < 32
	jmp exc_common
	.else
	jmp irq_common
	.endif
	.set vec, vec + 1
	.endr

/*
 * Interrupts: the ABI's caller-saved registers plus RBX (which keeps the
 * unaligned stack pointer) are saved; rt_irq_dispatch() is ordinary C.
 */
irq_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	push %rbx
	cld
	mov 80(%rsp), %edi
	mov %rsp, %rbx
	and $-16, %rsp
	call rt_irq_dispatch
	mov %rbx, %rsp
	pop %rbx
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp
	iretq

exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	and $-16, %rsp
	call rt_exception
	ud2

	.section .note.GNU-stack, "", @progbits
