/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pic.c: PIC mode: external interrupts through the PC's pair of Intel 8259A
 * interrupt controllers, and timed waits on counter 0 of the Intel 8254
 * interval timer (IRQ 0) instead of the local APIC timer.
 *
 * Sources: the Intel 8259A Programmable Interrupt Controller data sheet
 * ("Interrupt Sequence", "Initialization Command Words", "Operation Command
 * Words", "The Cascade Buffer/Comparator"), the Intel 8254 Programmable
 * Interval Timer data sheet ("Control Word Format", "Mode 0"), the Intel
 * 82371AB (PIIX4) data sheet for the edge/level control registers, and the
 * Intel SDM vol. 3A 11.5.1 (LVT, ExtINT) and 11.8.5 (EOI).
 *
 * The wiring, as on a PC and in ember: ISA IRQ n (n < 16) is input IRn of
 * the master (n < 8) or IR(n - 8) of the slave, whose INT output drives the
 * master's IR2. The master's INT goes to the boot CPU's LINT0, which the
 * monitor programs as ExtINT ("virtual wire", as a BIOS leaves it): the CPU
 * then runs the 8259A's acknowledge cycle and takes the vector the chip
 * supplies. Such an interrupt never enters the local APIC's ISR, so it
 * takes no local APIC EOI (SDM 11.8.5). What counts is an unmasked ExtINT
 * LVT entry for LINT0: KVM takes the 8259A's interrupt on that alone, also
 * from a local APIC that is software-disabled, as the monitor leaves it. So
 * the runtime does not software-enable the local APIC in this mode (nor
 * would its rt_lapic_enable() mask LINT0 any more); if it had enabled it
 * before, rt_irq_use_pic() sets LINT0 back to ExtINT.
 *
 * Both chips are set up as a PC operating system does: edge-triggered,
 * cascaded, 8086 mode, normal (not automatic) EOI, fully nested priority
 * (IR0 highest), vectors RT_IRQ_VECTOR_BASE + n, which the runtime's static
 * IDT already has gates for. Handlers never nest (interrupt gates clear IF
 * and the runtime enables interrupts only around HLT), so a non-specific EOI
 * always ends the one request in service on a chip.
 */
#include "rt.h"

/* Ports: A0 = 0 is a chip's command port, A0 = 1 its data port. */
#define PIC_MASTER_CMD	0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_CMD	0xa0
#define PIC_SLAVE_DATA	0xa1
/* Edge/level control (PIIX4 ELCR1/ELCR2): one bit per input, 1 = level. */
#define PIC_ELCR_MASTER 0x4d0
#define PIC_ELCR_SLAVE	0x4d1
#define PIC_ELCR_EDGE	0x00

/*
 * ICW1 (command port, D4 = 1) starts the initialisation sequence. Besides
 * taking ICW2-ICW4 on the data port next, it resets the edge-sense latches
 * (an input must rise again before it requests), clears the mask register,
 * gives IR7 the lowest priority, and selects the IRR for status reads.
 * LTIM = 0: edge-triggered; SNGL = 0: cascaded, so ICW3 follows; IC4 = 1:
 * ICW4 follows.
 */
#define ICW1_INIT 0x10
#define ICW1_IC4  0x01
/* ICW2: T7-T3 of the vectors; in 8086 mode the chip fills in the input number. */
#define ICW2_VECTOR_MASK 0xf8
/* ICW3: the master's has a bit per input with a slave; the slave's is its id. */
#define ICW3_MASTER_SLAVES (1U << RT_PIC_CASCADE_IRQ)
#define ICW3_SLAVE_ID	   RT_PIC_CASCADE_IRQ
/* ICW4: uPM = 1, 8086/8088 mode; AEOI, buffered mode and SFNM all off. */
#define ICW4_8086 0x01

/*
 * OCW2 (command port, D4 = D3 = 0): EOI = 1 with SL = 0 clears the
 * highest-priority ISR bit (the request being served, in fully nested
 * mode); with SL = 1 it clears the ISR bit of input L2-L0.
 */
#define OCW2_EOI	  0x20
#define OCW2_SPECIFIC_EOI 0x60
/*
 * OCW3 (command port, D4 = 0, D3 = 1): RR = 1 makes the next read of the
 * command port return the IRR (RIS = 0) or the ISR (RIS = 1). Reads of the
 * data port return the IMR (OCW1) whatever OCW3 says.
 */
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b

#define PIC_IRQS_PER_CHIP 8
#define PIC_ALL_MASKED	  0xff
/* A chip answers an acknowledge it has no request for with its IR7's vector. */
#define PIC_SPURIOUS_INPUT 7

/*
 * The 8254's counter 0, whose OUT is ISA IRQ 0. Control word (port 0x43):
 * SC1-SC0 = 00 counter 0, RW1-RW0 = 11 LSB then MSB, M2-M0 = 000 mode 0,
 * BCD = 0 binary. Mode 0 ("interrupt on terminal count"): writing the
 * control word drives OUT low at once and the counter waits for its count;
 * N written, OUT rises N + 1 input clocks later and stays high until the
 * counter is programmed again: one rising edge, one IRQ 0 request.
 */
#define PIT_CH0		 0x40
#define PIT_CONTROL	 0x43
#define PIT_CW_CH0_MODE0 0x30
#define PIT_HZ		 1193182ULL /* the PC's 14.31818 MHz crystal / 12 */
#define PIT_MAX_COUNT	 0xffffULL  /* ~54.9 ms: callers re-check their time */
#define US_PER_S	 1000000ULL

_Static_assert((RT_IRQ_VECTOR_BASE & ~ICW2_VECTOR_MASK) == 0,
	       "ICW2 takes vector bases with their low three bits clear");
_Static_assert(RT_IRQ_VECTOR_BASE + RT_PIC_IRQS <= RT_TIMER_VECTOR,
	       "the 8259A's vectors must stay below the runtime's local APIC vectors");

int rt_pic_on;

static uint8_t imr[2] = {PIC_ALL_MASKED, PIC_ALL_MASKED}; /* what OCW1 last set */
static uint64_t spurious[2];				  /* IRQ 7, IRQ 15 */

static uint16_t data_port(unsigned int chip)
{
	return chip == 0 ? PIC_MASTER_DATA : PIC_SLAVE_DATA;
}

static uint16_t cmd_port(unsigned int chip)
{
	return chip == 0 ? PIC_MASTER_CMD : PIC_SLAVE_CMD;
}

/*
 * init_chips: the ICW sequence on both chips, every input edge-triggered and
 * masked but the cascade. 0, or -1 when the masks do not read back (no 8259A
 * answers at these ports).
 */
static int init_chips(void)
{
	/* ICW1 clears the masks; interrupts are off until OCW1 below. */
	outb(PIC_MASTER_CMD, ICW1_INIT | ICW1_IC4);
	outb(PIC_MASTER_DATA, RT_IRQ_VECTOR_BASE);
	outb(PIC_MASTER_DATA, ICW3_MASTER_SLAVES);
	outb(PIC_MASTER_DATA, ICW4_8086);
	outb(PIC_SLAVE_CMD, ICW1_INIT | ICW1_IC4);
	outb(PIC_SLAVE_DATA, RT_IRQ_VECTOR_BASE + PIC_IRQS_PER_CHIP);
	outb(PIC_SLAVE_DATA, ICW3_SLAVE_ID);
	outb(PIC_SLAVE_DATA, ICW4_8086);
	imr[0] = (uint8_t)(PIC_ALL_MASKED & ~ICW3_MASTER_SLAVES);
	imr[1] = PIC_ALL_MASKED;
	outb(PIC_MASTER_DATA, imr[0]);
	outb(PIC_SLAVE_DATA, imr[1]);
	/*
	 * Edge-triggered, as rt_irq_enable() promises (ember pulses its lines);
	 * 0 is valid for every bit, also those a PIIX keeps edge (IRQ 0, 1, 2,
	 * 8, 13).
	 */
	outb(PIC_ELCR_MASTER, PIC_ELCR_EDGE);
	outb(PIC_ELCR_SLAVE, PIC_ELCR_EDGE);
	if (inb(PIC_MASTER_DATA) != imr[0] || inb(PIC_SLAVE_DATA) != imr[1])
		return -1;
	return 0;
}

void rt_pic_set_masked(unsigned int irq, int masked)
{
	unsigned int chip = irq / PIC_IRQS_PER_CHIP;
	uint8_t bit = (uint8_t)(1U << (irq % PIC_IRQS_PER_CHIP)), v;

	if (irq >= RT_PIC_IRQS)
		return;
	v = masked ? (uint8_t)(imr[chip] | bit) : (uint8_t)(imr[chip] & ~bit);
	if (v == imr[chip])
		return;
	imr[chip] = v;
	outb(data_port(chip), v); /* OCW1 */
}

/* read_isr: (chip)'s in-service register, through OCW3. */
static uint8_t read_isr(unsigned int chip)
{
	uint8_t isr;

	outb(cmd_port(chip), OCW3_READ_ISR);
	isr = inb(cmd_port(chip));
	outb(cmd_port(chip), OCW3_READ_IRR); /* back to what ICW1 selects */
	return isr;
}

int rt_pic_spurious(unsigned int irq)
{
	unsigned int chip = irq / PIC_IRQS_PER_CHIP;

	if (irq >= RT_PIC_IRQS || irq % PIC_IRQS_PER_CHIP != PIC_SPURIOUS_INPUT)
		return 0;
	/*
	 * A request that went away before the acknowledge still gets IR7's
	 * vector, but no ISR bit: then there is nothing to end on this chip.
	 */
	if (read_isr(chip) & (1U << PIC_SPURIOUS_INPUT))
		return 0;
	spurious[chip]++;
	/* The slave's spurious acknowledge still put the master's IR2 in service. */
	if (chip == 1)
		outb(PIC_MASTER_CMD, OCW2_SPECIFIC_EOI | RT_PIC_CASCADE_IRQ);
	return 1;
}

void rt_pic_eoi(unsigned int irq)
{
	if (irq >= RT_PIC_IRQS)
		return;
	/* A slave input is in service on both chips: the slave's IRn, the master's IR2. */
	if (irq >= PIC_IRQS_PER_CHIP)
		outb(PIC_SLAVE_CMD, OCW2_EOI);
	outb(PIC_MASTER_CMD, OCW2_EOI);
}

uint64_t rt_irq_pic_spurious(unsigned int irq)
{
	if (irq == PIC_SPURIOUS_INPUT)
		return spurious[0];
	if (irq == PIC_IRQS_PER_CHIP + PIC_SPURIOUS_INPUT)
		return spurious[1];
	return 0;
}

void rt_pic_wait_us(uint64_t us, int irq0_taken)
{
	uint64_t count = PIT_MAX_COUNT;

	if (irq0_taken) {
		/* The guest's own IRQ 0 handler and timer: its next tick wakes us. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		return;
	}
	if (us < PIT_MAX_COUNT * US_PER_S / PIT_HZ)
		count = (us * PIT_HZ + US_PER_S - 1) / US_PER_S;
	if (count == 0)
		count = 1;
	outb(PIT_CONTROL, PIT_CW_CH0_MODE0);
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8));
	rt_pic_set_masked(RT_PIT_IRQ, 0);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	/* Something else woke us: the control word alone stops counter 0, OUT low. */
	outb(PIT_CONTROL, PIT_CW_CH0_MODE0);
}

int rt_irq_use_pic(void)
{
	uint32_t keep;
	unsigned int irq;

	if (rt_pic_on)
		return 0;
	if (!rt_irq_virtual_wire())
		return RT_PIC_ENOWIRE;
	if (init_chips() != 0)
		return RT_PIC_ENODEV;
	keep = rt_irq_apic_off();
	rt_pic_on = 1;
	for (irq = 0; irq < RT_PIC_IRQS; irq++)
		if (keep & (1U << irq))
			rt_pic_set_masked(irq, 0);
	return 0;
}
