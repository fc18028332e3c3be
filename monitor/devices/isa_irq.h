/* SPDX-License-Identifier: Apache-2.0 */
/*
 * isa_irq.h: the PC's ISA interrupt lines, wired as on a PC: IRQ n is the
 * IOAPIC's pin n and, for n < 16, input n of the 8259 pair. A device pulses
 * its line; whichever controller the guest has enabled (an unmasked
 * redirection entry, an initialised and unmasked 8259 input, or both)
 * delivers it. Safe from any thread.
 */
#ifndef EMBER_ISA_IRQ_H
#define EMBER_ISA_IRQ_H

struct vm;

/* isa_irq_pulse: one edge on ISA line (irq) of (vm). */
void isa_irq_pulse(struct vm *vm, unsigned int irq);

/*
 * isa_irq_pulse_pic: the 8259 half alone, for a line whose IOAPIC half KVM
 * delivers itself (a virtio irqfd routed to the pin's MSI).
 */
void isa_irq_pulse_pic(struct vm *vm, unsigned int irq);

#endif /* EMBER_ISA_IRQ_H */
