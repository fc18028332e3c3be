// SPDX-License-Identifier: Apache-2.0
/* isa_irq.c: an ISA line pulsed on both interrupt controllers (see isa_irq.h). */
#include "isa_irq.h"

#include "ioapic.h"
#include "pic.h"
#include "vm.h"

void isa_irq_pulse_pic(struct vm *vm, unsigned int irq)
{
	if (vm->pic != NULL && irq < PIC_IRQS)
		pic_pulse(vm->pic, irq);
}

void isa_irq_pulse(struct vm *vm, unsigned int irq)
{
	if (vm->ioapic != NULL)
		ioapic_pulse(vm->ioapic, irq);
	isa_irq_pulse_pic(vm, irq);
}
