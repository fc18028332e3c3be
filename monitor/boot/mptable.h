/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mptable.h: the Intel MultiProcessor Specification 1.4 tables that tell a
 * guest without ACPI about its CPUs, its IOAPIC and its interrupt routing.
 *
 * Routing: one ISA bus; ISA IRQ i goes to IOAPIC pin i for every pin
 * (0..MPTABLE_IOAPIC_PINS-1), so the IRQ number on the kernel command line
 * (virtio_mmio.device=...:5), the IOAPIC pin and the GSI are one number.
 * There is no PIT behind pin 2 to route IRQ0 to, unlike a real board.
 */
#ifndef EMBER_MPTABLE_H
#define EMBER_MPTABLE_H

#include "ember_err.h"
#include "gmem.h"

#define MPTABLE_MAX_CPUS       32
#define MPTABLE_IOAPIC_PINS    24 /* an 82093AA: pins 0..23 */
#define MPTABLE_IOAPIC_VERSION 0x11
#define MPTABLE_LAPIC_VERSION  0x14

/*
 * mptable_write: write the MP floating pointer at LAYOUT_MPTABLE_ADDR and
 * the configuration table right after it for (ncpus) processors with APIC ids
 * 0..ncpus-1 (0 is the BSP) and one IOAPIC with id (ncpus) at
 * LAYOUT_IOAPIC_ADDR. Returns 0, -EINVAL (ncpus 0), -E2BIG (ncpus above
 * MPTABLE_MAX_CPUS, or the tables would reach 0xa0000) or -EFAULT (no RAM
 * there), (err) saying which.
 */
int mptable_write(const struct gmem *gm, unsigned int ncpus, struct ember_err *err);

#endif /* EMBER_MPTABLE_H */
