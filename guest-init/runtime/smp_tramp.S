/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smp_tramp.S: the AP start-up trampoline, copied to RT_TRAMP_ADDR (0x3000).
 *
 * An AP leaves wait-for-SIPI in real mode at CS:IP = 0x300:0000. It loads the
 * runtime's GDT, enters 32-bit protected mode, enables PAE, loads the BSP's
 * CR3 (rt_tramp_cr3), sets EFER.LME and paging, far-jumps to 64-bit code,
 * takes its stack and index from the parameter block the BSP filled in
 * (rt_tramp_stack, rt_tramp_index) and calls rt_ap_entry(index).
 * Code here runs at RT_TRAMP_ADDR, so addresses are computed as offsets from
 * rt_tramp_start plus RT_TRAMP_ADDR.
 */
#include "rt.h"

#define T(sym) (RT_TRAMP_ADDR + (sym) - rt_tramp_start)

	.section .rodata.tramp, "a"
	.balign 16
	.globl rt_tramp_start
rt_tramp_start:
	.code16
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tr_gdt_desc - rt_tramp_start
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $RT_SEL_CODE32, $T(tr32)

	.code32
tr32:
	mov $RT_SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov T(rt_tramp_cr3), %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $CR0_PG, %eax
	mov %eax, %cr0
	ljmp $RT_SEL_CODE64, $T(tr64)

	.code64
tr64:
	mov $RT_SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov T(rt_tramp_stack), %rsp
	mov T(rt_tramp_index), %edi
	xor %ebp, %ebp
	movabs $rt_ap_entry, %rax
	call *%rax
	ud2

	.balign 8
tr_gdt_desc:
	.word RT_GDT_SIZE - 1
	.long rt_gdt
	.balign 8
	.globl rt_tramp_cr3, rt_tramp_stack, rt_tramp_index
rt_tramp_cr3:
	.quad 0
rt_tramp_stack:
	.quad 0
rt_tramp_index:
	.quad 0
	.globl rt_tramp_end
rt_tramp_end:

	.section .note.GNU-stack, "", @progbits
