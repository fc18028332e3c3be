/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpuid.h: what a vCPU sees in CPUID, derived from KVM_GET_SUPPORTED_CPUID.
 *
 * Topology: one package (socket) of (count) cores, one thread per core, so
 * vCPU (index) has APIC id and x2APIC id (index). Pure function over the
 * table, no ioctls: the caller gets the table, normalises one copy per vCPU
 * and sets it with KVM_SET_CPUID2.
 */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <linux/kvm.h>
#include <stdint.h>

#define CPUID_MAX_VCPUS 255 /* initial APIC ids are 8 bits wide in leaf 1 */

/*
 * cpuid_normalise: rewrite (cpuid) in place for vCPU (index) of (count).
 * Leaf 1: initial APIC id, addressable logical processor count and HTT,
 * HYPERVISOR and TSC_DEADLINE set, PDCM clear; x2APIC left as KVM reports
 * it. Leaf 4 (Intel): cores per package and cache sharing. Leaf 6: turbo and
 * energy-performance-bias clear. Leaf 0xa (PMU): zeroed. Leaves 0xb and 0x1f:
 * SMT level (1 thread) and core level ((count) cores), x2APIC id (index); a
 * subleaf KVM did not list is not added. AMD: leaf 0x80000008 ECX core count
 * and APIC id size, 0x8000001e extended APIC id. Everything else (including
 * the KVM signature leaves 0x40000000..) stays as KVM supplied it.
 * TSC_DEADLINE is set unconditionally: KVM emulates the deadline timer in its
 * in-kernel LAPIC (KVM_CAP_TSC_DEADLINE_TIMER), which both irqchip modes use;
 * KVM_GET_SUPPORTED_CPUID reports it as 0 only because it cannot know
 * whether an in-kernel LAPIC will exist.
 * Does nothing when (cpuid) is NULL, (count) is 0 or above CPUID_MAX_VCPUS,
 * or (index) >= (count).
 */
void cpuid_normalise(struct kvm_cpuid2 *cpuid, unsigned int index, unsigned int count);

/* The hypervisor timing leaf (VMware's, also read by other hypervisors' guests). */
#define CPUID_HV_BASE	   0x40000000U
#define CPUID_HV_TIMING	   0x40000010U
#define CPUID_APIC_BUS_KHZ 1000000U /* KVM's local APIC timer runs at 1 GHz */

/*
 * cpuid_add_timing: set leaf 0x40000010 to EAX = (tsc_khz), EBX =
 * (apic_khz), the TSC and local APIC timer frequencies, so a guest need not
 * calibrate them against the PIT; and raise leaf 0x40000000's EAX (the
 * highest hypervisor leaf) to reach it. (cpuid) must have room for one more
 * entry than it holds (nent), which the leaf may take. Does nothing when
 * (tsc_khz) is 0 or the table has no leaf 0x40000000 (no KVM signature).
 */
void cpuid_add_timing(struct kvm_cpuid2 *cpuid, uint32_t tsc_khz, uint32_t apic_khz);

#endif /* EMBER_CPUID_H */
