/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ioapic.h: the I/O APIC ember emulates for its split irqchip (82093AA
 * register set, 24 pins, at LAYOUT_IOAPIC_ADDR). The guest programs
 * redirection entries over MMIO; ember turns a raised pin into the MSI the
 * entry describes and injects it with KVM_SIGNAL_MSI. Pin N is ISA IRQ N.
 */
#ifndef EMBER_IOAPIC_H
#define EMBER_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

struct ioapic {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t id;
	uint32_t regsel;
	uint64_t redir[VM_IOAPIC_PINS];
	bool line[VM_IOAPIC_PINS]; /* current input level per pin */
};

/*
 * ioapic_init: reset state (all pins masked) and claim the MMIO window on
 * (vm)'s bus; sets vm->ioapic. (id) is the IOAPIC id the MP table gives.
 * Returns 0 or -errno.
 */
int ioapic_init(struct ioapic *io, struct vm *vm, uint32_t id);

/* ioapic_destroy: release the lock. */
void ioapic_destroy(struct ioapic *io);

/*
 * ioapic_set_irq: drive input (pin) to (level). An edge-triggered pin fires
 * on the rising edge; a level-triggered one fires while high and not
 * awaiting EOI. Out-of-range pins are ignored. Thread-safe.
 */
void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level);

/* ioapic_pulse: raise then lower (pin): one edge-triggered interrupt. */
void ioapic_pulse(struct ioapic *io, unsigned int pin);

/* ioapic_eoi: the guest ended (vector) (KVM_EXIT_IOAPIC_EOI). Thread-safe. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* ioapic_mmio: the bus handler for the register window (exposed for tests). */
void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * The IOAPIC as a snapshot keeps it: the id, the register selector, each
 * redirection entry as the guest reads it (remote IRR included: a level
 * interrupt the guest has not ended yet stays in flight), and the input
 * levels, bit N for pin N.
 */
struct ioapic_state {
	uint64_t redir[VM_IOAPIC_PINS];
	uint32_t id; /* the value the ID register holds in bits 24-31 */
	uint32_t regsel;
	uint32_t line; /* bits 0 .. VM_IOAPIC_PINS - 1 */
	uint32_t pad;
};
_Static_assert(sizeof(struct ioapic_state) == 8 * VM_IOAPIC_PINS + 16, "ioapic_state has holes");

/*
 * ioapic_save_state: (io)'s guest-visible state into (st), zeroed first.
 * VMM thread, vCPUs parked.
 */
void ioapic_save_state(struct ioapic *io, struct ioapic_state *st);

/*
 * ioapic_load_state: put (io), freshly initialised, into (st)'s state. Every
 * field is checked first; on a bad one returns -EINVAL with one line naming
 * it in (err) (of (errsz) bytes) and leaves (io) unchanged. Then, as when
 * the guest writes an entry, each pin's MSI route is pushed to KVM
 * (vm_set_msi_route), and a level pin that is high, unmasked and not
 * awaiting an EOI is delivered. Returns 0, or the first route's -errno (the
 * state is loaded, the message says which pin; the VM must not run). VMM
 * thread, before any vCPU runs, after the vCPUs' local APICs are restored.
 */
int ioapic_load_state(struct ioapic *io, const struct ioapic_state *st, char *err, size_t errsz);

#endif /* EMBER_IOAPIC_H */
