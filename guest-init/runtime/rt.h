/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rt.h: runtime internals shared by its C and assembly files (not for guests).
 */
#ifndef EMBER_RT_H
#define EMBER_RT_H

/* GDT selectors (entry.S builds the table). */
#define RT_SEL_CODE64 0x08
#define RT_SEL_DATA   0x10
#define RT_SEL_CODE32 0x18
#define RT_GDT_SIZE   32 /* 4 descriptors */

#define RT_BOOT_STACK_SIZE 16384
#define RT_AP_STACK_SIZE   16384

/*
 * Identity map: one PML4 entry, one PDPT, one page directory per GiB with
 * 2 MiB pages. entry.S has the first 4 GiB prebuilt; rt_paging_init() extends
 * the map to the top of the memory map, up to RT_PD_PAGES GiB.
 */
#define RT_PD_PAGES	 64
#define RT_BOOT_PD_PAGES 4

/*
 * The AP trampoline is copied here: page 3, SIPI vector 3. The monitor
 * puts nothing at 0x3000 (layout.h: GDT/IDT at 0x500, PVH info at 0x6000).
 */
#define RT_TRAMP_ADDR	0x3000
#define RT_TRAMP_VECTOR (RT_TRAMP_ADDR >> 12)

/*
 * Interrupt vectors (entry.S builds a static IDT of RT_IDT_VECTORS gates):
 * 0..31 CPU exceptions, RT_IRQ_VECTOR_BASE + pin for IOAPIC pin 0..
 * RT_IRQ_PINS-1, the LAPIC timer and the LAPIC's spurious vector (its low
 * four bits must be 1111 on older APICs).
 */
#define RT_IDT_VECTORS	   64
#define RT_IRQ_VECTOR_BASE 0x20
#define RT_IRQ_PINS	   24
#define RT_TIMER_VECTOR	   0x3e
#define RT_SPURIOUS_VECTOR 0x3f
/*
 * PIC mode (pic.c): the 8259A pair's 16 inputs use vectors
 * RT_IRQ_VECTOR_BASE + 0..15; the slave hangs on the master's IR2.
 */
#define RT_PIC_IRQS	   16
#define RT_PIC_CASCADE_IRQ 2
#define RT_PIT_IRQ	   0 /* the 8254's counter 0 */

/* enum rt_entry values, for entry.S (start.c checks they match). */
#define RT_ENTRY_LINUX64_VAL 1
#define RT_ENTRY_PVH_VAL     2

#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE	 0x1
#define CR0_PG	 0x80000000
#define CR4_PAE	 0x20

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "layout.h"
#include "runtime.h"

/* entry.S / C shared state, set by the entry code before rt_start(). */
extern uint64_t rt_boot_ptr;
extern uint32_t rt_boot_entry;
extern uint64_t rt_pml4[512];
extern uint64_t rt_pdpt[512];
extern char rt_gdt[];
extern const char rt_idt_desc[];
extern char _image_start[], _end[];

/* start.c */
void rt_start(void) __attribute__((noreturn));
void rt_idt_load(void);
struct rt_exc_frame;
void rt_exception(struct rt_exc_frame *f) __attribute__((noreturn));

/* irq.c: called by entry.S's interrupt stubs. */
void rt_irq_dispatch(unsigned int vector);
/*
 * irq.c: software-enable the calling CPU's local APIC (idempotent). LINT0 is
 * masked, or left ExtINT (virtual wire) in PIC mode.
 */
void rt_lapic_enable(void);
/*
 * irq.c: leave the APICs for PIC mode: mask every IOAPIC pin enabled so far,
 * stop the local APIC timer and, when the local APIC is software-enabled,
 * set LINT0 back to ExtINT. Forgets pins the 8259A pair cannot carry (16 and
 * up, the cascade) and returns the bit mask of the pins still enabled.
 */
uint32_t rt_irq_apic_off(void);
/*
 * irq.c: whether the boot CPU's LINT0 is a virtual wire for the 8259A: an
 * unmasked ExtINT entry, or a local APIC the runtime software-enabled, which
 * rt_irq_apic_off() can set so again. A software-disabled local APIC keeps
 * its LVT entries masked (SDM 11.4.7.2), so a LINT0 the monitor did not wire
 * stays cut off unless the runtime enabled the APIC, which PIC mode must not.
 */
int rt_irq_virtual_wire(void);

/* pic.c: nonzero once rt_irq_use_pic() succeeded. */
extern int rt_pic_on;
/* pic.c: mask (masked nonzero) or unmask 8259A input (irq) (0..15) with OCW1. */
void rt_pic_set_masked(unsigned int irq, int masked);
/*
 * pic.c: for the vector of IRQ 7 or 15: 1 when no ISR bit backs it (a
 * spurious acknowledge, counted, and the master's cascade ended for IRQ 15):
 * the interrupt must then get no handler and no EOI. 0 otherwise.
 */
int rt_pic_spurious(unsigned int irq);
/* pic.c: end (irq)'s interrupt: non-specific EOIs, the slave's first. */
void rt_pic_eoi(unsigned int irq);
/*
 * pic.c: rt_irq_wait_us() in PIC mode: one HLT ended by any interrupt or by
 * counter 0 of the PIT (mode 0, IRQ 0) after about (us), at most ~54.9 ms.
 * (irq0_taken) nonzero: the guest handles IRQ 0 itself, the PIT is left
 * alone and only its next interrupt (or another) ends the wait.
 */
void rt_pic_wait_us(uint64_t us, int irq0_taken);

/* console.c: print without taking the console lock (exception path). */
void rt_printf_unlocked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* smp.c: C entry of an AP, from the trampoline in long mode. */
void rt_ap_entry(unsigned int index) __attribute__((noreturn));

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* xAPIC registers at LAYOUT_LAPIC_ADDR (SDM vol. 3A, table 11-1). */
#define LAPIC_ID	  0x20
#define LAPIC_TPR	  0x80
#define LAPIC_EOI	  0xb0
#define LAPIC_SVR	  0xf0
#define LAPIC_ICR_LO	  0x300
#define LAPIC_ICR_HI	  0x310
#define LAPIC_LVT_TIMER	  0x320
#define LAPIC_LVT_LINT0	  0x350
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR	  0x390
#define LAPIC_TIMER_DIV	  0x3e0
#define LAPIC_SVR_ENABLE  0x100
#define LAPIC_LVT_MASKED  0x10000
#define LAPIC_LVT_DM_MASK 0x700
#define LAPIC_LVT_EXTINT  0x700 /* delivery mode 111: the 8259A supplies the vector */

static inline uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAYOUT_LAPIC_ADDR + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAYOUT_LAPIC_ADDR + reg) = v;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
#endif /* !__ASSEMBLER__ */

#endif /* EMBER_RT_H */
