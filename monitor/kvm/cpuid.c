// SPDX-License-Identifier: Apache-2.0
/* cpuid.c: per-vCPU CPUID normalisation (Intel SDM vol. 2A, CPUID; AMD APM vol. 3). */
#include "cpuid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BIT(n) (1U << (n))

#define LEAF1_EBX_KEEP	       0x0000ffffU /* brand index, CLFLUSH line size */
#define LEAF1_ECX_PDCM	       BIT(15)
#define LEAF1_ECX_TSC_DEADLINE BIT(24)
#define LEAF1_ECX_HYPERVISOR   BIT(31)
#define LEAF1_EDX_HTT	       BIT(28)
#define LEAF4_EAX_TOPO_MASK    0xffffc000U /* bits 31:14 */
#define LEAF6_EAX_TURBO	       BIT(1)
#define LEAF6_ECX_EPB	       BIT(3)
#define TOPO_TYPE_SMT	       1
#define TOPO_TYPE_CORE	       2
#define AMD_80000008_ECX_MASK  0x0000f0ffU /* NC (7:0), ApicIdCoreIdSize (15:12) */
#define VENDOR_AMD_EBX	       0x68747541U /* "Auth" of AuthenticAMD */
#define VENDOR_HYGON_EBX       0x6f677948U /* "Hygo" of HygonGenuine */

struct topo {
	uint32_t index;	    /* APIC id of this vCPU */
	uint32_t count;	    /* vCPUs = cores in the package */
	uint32_t core_bits; /* APIC id bits for the core: ceil(log2(count)) */
	bool amd;
};

static uint32_t bits_for(uint32_t n)
{
	uint32_t b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static bool is_amd(const struct kvm_cpuid2 *cpuid)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0)
			return e->ebx == VENDOR_AMD_EBX || e->ebx == VENDOR_HYGON_EBX;
	}
	return false;
}

static void leaf1(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	uint32_t logical = t->count > 1 ? 1U << t->core_bits : 1;

	if (logical > 0xff)
		logical = 0xff;
	e->ebx = (e->ebx & LEAF1_EBX_KEEP) | (logical << 16) | (t->index << 24);
	e->ecx |= LEAF1_ECX_HYPERVISOR | LEAF1_ECX_TSC_DEADLINE;
	e->ecx &= ~LEAF1_ECX_PDCM;
	if (t->count > 1)
		e->edx |= LEAF1_EDX_HTT;
	else
		e->edx &= ~LEAF1_EDX_HTT;
}

/* Deterministic cache parameters: L1/L2 private to a core, L3 shared. */
static void leaf4(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	uint32_t cores = (1U << t->core_bits) - 1;
	uint32_t level = (e->eax >> 5) & 0x7;
	uint32_t sharing = level >= 3 ? cores : 0;

	if ((e->eax & 0x1f) == 0) /* no more caches */
		return;
	if (cores > 63)
		cores = 63;
	e->eax = (e->eax & ~LEAF4_EAX_TOPO_MASK) | (cores << 26) | ((sharing & 0xfff) << 14);
}

static void leaf6(struct kvm_cpuid_entry2 *e)
{
	e->eax &= ~LEAF6_EAX_TURBO;
	e->ecx &= ~LEAF6_ECX_EPB;
}

/* Extended topology (0xb, 0x1f): subleaf 0 SMT, 1 core, the rest invalid. */
static void leaf_topology(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	uint32_t level = e->index;

	e->edx = t->index;
	if (level == 0) {
		e->eax = 0; /* one thread per core: no bits to shift */
		e->ebx = 1;
		e->ecx = TOPO_TYPE_SMT << 8; /* level 0 */
	} else if (level == 1) {
		e->eax = t->core_bits;
		e->ebx = t->count;
		e->ecx = (TOPO_TYPE_CORE << 8) | level;
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = level & 0xff;
	}
}

static void amd_leaves(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	if (e->function == 0x80000008) {
		e->ecx = (e->ecx & ~AMD_80000008_ECX_MASK) | (t->core_bits << 12) |
			 ((t->count - 1) & 0xff);
	} else if (e->function == 0x8000001e) {
		e->eax = t->index;	  /* extended APIC id */
		e->ebx = t->index & 0xff; /* compute unit id; one thread per unit */
		e->ecx = 0;		  /* node 0, one node per package */
	}
}

static void normalise_entry(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	switch (e->function) {
	case 0x1:
		leaf1(e, t);
		break;
	case 0x4:
		if (!t->amd)
			leaf4(e, t);
		break;
	case 0x6:
		leaf6(e);
		break;
	case 0xa:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		leaf_topology(e, t);
		break;
	case 0x80000008:
	case 0x8000001e:
		if (t->amd)
			amd_leaves(e, t);
		break;
	default:
		break;
	}
}

void cpuid_normalise(struct kvm_cpuid2 *cpuid, unsigned int index, unsigned int count)
{
	struct topo t;

	if (cpuid == NULL || count == 0 || count > CPUID_MAX_VCPUS || index >= count)
		return;
	t = (struct topo){
	    .index = index, .count = count, .core_bits = bits_for(count), .amd = is_amd(cpuid)};
	for (uint32_t i = 0; i < cpuid->nent; i++)
		normalise_entry(&cpuid->entries[i], &t);
}

void cpuid_add_timing(struct kvm_cpuid2 *cpuid, uint32_t tsc_khz, uint32_t apic_khz)
{
	struct kvm_cpuid_entry2 *base = NULL, *timing = NULL;

	if (cpuid == NULL || tsc_khz == 0)
		return;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == CPUID_HV_BASE && base == NULL)
			base = &cpuid->entries[i];
		else if (cpuid->entries[i].function == CPUID_HV_TIMING && timing == NULL)
			timing = &cpuid->entries[i];
	}
	if (base == NULL)
		return;
	if (base->eax < CPUID_HV_TIMING)
		base->eax = CPUID_HV_TIMING;
	if (timing == NULL) {
		timing = &cpuid->entries[cpuid->nent++];
		*timing = (struct kvm_cpuid_entry2){.function = CPUID_HV_TIMING};
	}
	timing->eax = tsc_khz;
	timing->ebx = apic_khz;
	timing->ecx = timing->edx = 0;
}
