/* SPDX-License-Identifier: Apache-2.0 */
/*
 * irq.c: external interrupts: the local APIC (xAPIC, SDM vol. 3A ch. 11),
 * the I/O APIC (Intel 82093AA datasheet 3.0, 3.2.4) and interrupt-driven
 * waiting; in PIC mode (rt_irq_use_pic, pic.c) the 8259A pair instead.
 *
 * The runtime runs with interrupts off. They are on only inside
 * rt_irq_wait() and rt_irq_wait_us(), between STI and CLI around one HLT, so
 * a handler never interrupts runtime code that holds a lock, and the vCPU
 * sleeps in KVM (no CPU used) until a device raises its line. Callers test
 * their condition with interrupts off and wait only when it is false: an
 * interrupt that arrives in between stays pending in the LAPIC and ends the
 * HLT at once (STI's one-instruction shadow covers the HLT).
 *
 * ISA IRQ N is IOAPIC pin N (ember's MP table says so for pins 0..23, and
 * QEMU microvm wires its ISA devices and virtio-mmio the same way). Pins are
 * programmed edge-triggered, active high, fixed delivery, physical
 * destination = the boot CPU's APIC id, vector RT_IRQ_VECTOR_BASE + pin.
 *
 * In PIC mode the same pins 0..15 are the 8259A pair's inputs, with the same
 * vectors and handlers; the IOAPIC pins stay masked (ISA IRQ n reaches both
 * controllers, and one delivery is enough) and the local APIC is left as the
 * monitor set it up, LINT0 ExtINT.
 */
#include "rt.h"

#include "layout.h"

/* I/O APIC direct and indirect registers. */
#define IOAPIC_REGSEL	  0x00
#define IOAPIC_WIN	  0x10
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define RTE_MASKED	  0x10000U

/*
 * LAPIC timer: divide by 1. KVM's emulated APIC bus runs at 1 GHz (one tick
 * per ns, APIC_BUS_CYCLE_NS), so a count is nanoseconds there; elsewhere
 * rt_irq_wait_us() still only ends early or late, never hangs, since its
 * callers re-check the time.
 */
#define LAPIC_DIV_1	 0xb
#define TIMER_TICKS_US	 1000ULL
#define TIMER_MAX_COUNT 0xffffffffULL

struct irq_slot {
	rt_irq_fn fn;
	void *arg;
};

static struct irq_slot slots[RT_IRQ_PINS];
static uint64_t counts[RT_IRQ_PINS]; /* interrupts dispatched, per pin */
static uint32_t pins_on;	     /* pins rt_irq_enable() enabled */
static unsigned int dest_apic;
static int lapic_on;

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAYOUT_IOAPIC_ADDR + IOAPIC_REGSEL) = reg;
	*(volatile uint32_t *)(uintptr_t)(LAYOUT_IOAPIC_ADDR + IOAPIC_WIN) = v;
}

void rt_lapic_enable(void)
{
	/*
	 * Mask LINT0: it carries an 8259's ExtINT, and an uninitialised PIC
	 * (QEMU has one) would deliver ISA IRQs there as vectors 0..15. In PIC
	 * mode the 8259A pair is ours: keep LINT0 its virtual wire.
	 */
	lapic_write(LAPIC_SVR,
		    (lapic_read(LAPIC_SVR) & ~0xffU) | LAPIC_SVR_ENABLE | RT_SPURIOUS_VECTOR);
	/* LVT writes after the enable: a disabled APIC forces their mask bit. */
	lapic_write(LAPIC_LVT_LINT0, rt_pic_on ? LAPIC_LVT_EXTINT : LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_1);
	lapic_write(LAPIC_LVT_TIMER, RT_TIMER_VECTOR); /* one-shot */
}

static void irq_init(void)
{
	if (lapic_on)
		return;
	rt_lapic_enable();
	dest_apic = rt_apic_id();
	lapic_on = 1;
}

int rt_irq_enable(unsigned int pin, rt_irq_fn fn, void *arg)
{
	if (pin >= RT_IRQ_PINS)
		return -1;
	if (rt_pic_on) {
		if (pin >= RT_PIC_IRQS || pin == RT_PIC_CASCADE_IRQ)
			return -1;
		slots[pin].fn = fn;
		slots[pin].arg = arg;
		pins_on |= 1U << pin;
		rt_pic_set_masked(pin, 0);
		return 0;
	}
	irq_init();
	slots[pin].fn = fn;
	slots[pin].arg = arg;
	pins_on |= 1U << pin;
	/* Destination first, then the low word, which unmasks. */
	ioapic_write(IOAPIC_REDIR(pin) + 1, dest_apic << 24);
	ioapic_write(IOAPIC_REDIR(pin), RT_IRQ_VECTOR_BASE + pin);
	return 0;
}

void rt_irq_disable(unsigned int pin)
{
	if (pin >= RT_IRQ_PINS)
		return;
	if (rt_pic_on) {
		if (pin >= RT_PIC_IRQS || pin == RT_PIC_CASCADE_IRQ)
			return;
		rt_pic_set_masked(pin, 1);
	} else {
		ioapic_write(IOAPIC_REDIR(pin), RTE_MASKED | (RT_IRQ_VECTOR_BASE + pin));
	}
	pins_on &= ~(1U << pin);
	slots[pin].fn = NULL;
	slots[pin].arg = NULL;
}

uint32_t rt_irq_apic_off(void)
{
	unsigned int pin;

	for (pin = 0; pin < RT_IRQ_PINS; pin++) {
		if (!(pins_on & (1U << pin)))
			continue;
		ioapic_write(IOAPIC_REDIR(pin), RTE_MASKED | (RT_IRQ_VECTOR_BASE + pin));
		if (pin >= RT_PIC_IRQS || pin == RT_PIC_CASCADE_IRQ) {
			pins_on &= ~(1U << pin);
			slots[pin].fn = NULL;
			slots[pin].arg = NULL;
		}
	}
	/* Enabled by irq_init() or by rt_smp_start(), which does not tell us. */
	if (lapic_read(LAPIC_SVR) & LAPIC_SVR_ENABLE) {
		lapic_write(LAPIC_TIMER_INIT, 0);
		/*
		 * Take what the local APIC accepted before the pins were masked
		 * while rt_irq_dispatch() still ends it there: in PIC mode the
		 * same vector would be taken for the 8259A's and never get its
		 * local APIC EOI. STI's shadow covers the NOP; the window is
		 * the boundary before CLI.
		 */
		__asm__ volatile("sti; nop; cli" ::: "memory");
		lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_EXTINT);
	}
	return pins_on;
}

int rt_irq_virtual_wire(void)
{
	uint32_t lint0 = lapic_read(LAPIC_LVT_LINT0);

	if (lapic_read(LAPIC_SVR) & LAPIC_SVR_ENABLE)
		return 1;
	return (lint0 & (LAPIC_LVT_MASKED | LAPIC_LVT_DM_MASK)) == LAPIC_LVT_EXTINT;
}

uint64_t rt_irq_count(unsigned int pin)
{
	return pin < RT_IRQ_PINS ? counts[pin] : 0;
}

static void call_handler(unsigned int pin)
{
	const struct irq_slot *s = &slots[pin];

	counts[pin]++;
	if (s->fn != NULL)
		s->fn(s->arg);
}

void rt_irq_dispatch(unsigned int vector)
{
	unsigned int pin = vector - RT_IRQ_VECTOR_BASE; /* wraps high below the base */

	if (vector == RT_SPURIOUS_VECTOR)
		return; /* no EOI for a spurious interrupt */
	if (rt_pic_on && pin < RT_PIC_IRQS) {
		/* ExtINT: the 8259A's vector, ended there; the local APIC has no part. */
		if (rt_pic_spurious(pin))
			return;
		call_handler(pin);
		rt_pic_eoi(pin);
		return;
	}
	if (pin < RT_IRQ_PINS)
		call_handler(pin);
	lapic_write(LAPIC_EOI, 0);
}

void rt_irq_wait(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void rt_irq_wait_us(uint64_t us)
{
	uint64_t count = us * TIMER_TICKS_US;

	if (rt_pic_on) {
		rt_pic_wait_us(us, (pins_on & (1U << RT_PIT_IRQ)) != 0);
		return;
	}
	irq_init();
	if (count == 0)
		count = 1;
	if (count > TIMER_MAX_COUNT)
		count = TIMER_MAX_COUNT;
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)count);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	lapic_write(LAPIC_TIMER_INIT, 0); /* stop it if something else woke us */
}
