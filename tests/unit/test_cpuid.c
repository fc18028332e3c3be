// SPDX-License-Identifier: Apache-2.0
/* test_cpuid.c: per-vCPU normalisation of a synthetic KVM_GET_SUPPORTED_CPUID table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpuid.h"

#define MAX_ENT 32

static struct kvm_cpuid2 *table_new(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_ENT * sizeof(struct kvm_cpuid_entry2));

	assert_non_null(c);
	return c;
}

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t a, uint32_t b,
		uint32_t cx, uint32_t d)
{
	assert_true(c->nent < MAX_ENT);
	c->entries[c->nent++] =
	    (struct kvm_cpuid_entry2){.function = fn,
				      .index = idx,
				      .eax = a,
				      .ebx = b,
				      .ecx = cx,
				      .edx = d,
				      .flags = idx ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0};
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	fail_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

/* What an Intel host's KVM might report: host topology that must not leak. */
static struct kvm_cpuid2 *intel_table(void)
{
	struct kvm_cpuid2 *c = table_new();

	add(c, 0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
	add(c, 0x1, 0, 0x000906ea, 0x07100800, 0x7ffafbff | (1U << 15), 0xbfebfbff);
	add(c, 0x4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);   /* L1d, 8 cores, 2 sharing */
	add(c, 0x4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);   /* L1i */
	add(c, 0x4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0);  /* L2 */
	add(c, 0x4, 3, 0x1c03c163, 0x03c0003f, 0x2fff, 6); /* L3, 16 sharing */
	add(c, 0x4, 4, 0, 0, 0, 0);
	add(c, 0x6, 0, 0x4 | 0x2, 0, 0x9, 0);
	add(c, 0xa, 0, 0x07300404, 0, 0, 0x603);
	add(c, 0xb, 0, 1, 2, 0x100, 7);
	add(c, 0xb, 1, 4, 12, 0x201, 7);
	add(c, 0xb, 2, 0, 0, 2, 7);
	add(c, 0x1f, 0, 1, 2, 0x100, 7);
	add(c, 0x1f, 1, 4, 12, 0x201, 7);
	add(c, 0x1f, 2, 6, 24, 0x502, 7); /* a die level */
	add(c, 0x1f, 3, 0, 0, 3, 7);
	add(c, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(c, 0x80000008, 0, 0x3027, 0, 0x1234, 0);
	return c;
}

static void check_intel(unsigned int index, unsigned int count, unsigned int bits)
{
	struct kvm_cpuid2 *c = intel_table();
	struct kvm_cpuid2 *ref = intel_table();
	const struct kvm_cpuid_entry2 *e;
	uint32_t addressable = count > 1 ? 1U << bits : 1;

	cpuid_normalise(c, index, count);
	e = find(c, 0x1, 0);
	assert_int_equal(e->ebx >> 24, index);
	assert_int_equal((e->ebx >> 16) & 0xff, addressable);
	assert_int_equal(e->ebx & 0xffff, 0x0800); /* CLFLUSH line size kept */
	assert_true(e->ecx & (1U << 31));	   /* hypervisor */
	assert_true(e->ecx & (1U << 24));	   /* TSC deadline */
	assert_false(e->ecx & (1U << 15));	   /* PDCM */
	assert_true(e->ecx & (1U << 21));	   /* x2APIC as KVM reports it */
	assert_int_equal(!!(e->edx & (1U << 28)), count > 1);
	assert_int_equal(e->eax, 0x000906ea);

	for (uint32_t s = 0; s < 4; s++) {
		e = find(c, 0x4, s);
		assert_int_equal(e->eax >> 26, (1U << bits) - 1);
		assert_int_equal((e->eax >> 14) & 0xfff, s == 3 ? (1U << bits) - 1 : 0);
		assert_int_equal(e->eax & 0x3fff, find(ref, 0x4, s)->eax & 0x3fff);
	}
	assert_int_equal(find(c, 0x4, 4)->eax, 0);

	e = find(c, 0x6, 0);
	assert_int_equal(e->eax, 0x4);
	assert_int_equal(e->ecx, 0x1);
	e = find(c, 0xa, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);

	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x1f - 0xb) {
		e = find(c, leaf, 0);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ebx, 1);
		assert_int_equal(e->ecx, 0x100);
		assert_int_equal(e->edx, index);
		e = find(c, leaf, 1);
		assert_int_equal(e->eax, bits);
		assert_int_equal(e->ebx, count);
		assert_int_equal(e->ecx, 0x201);
		assert_int_equal(e->edx, index);
		e = find(c, leaf, 2);
		assert_int_equal(e->eax | e->ebx, 0);
		assert_int_equal(e->ecx, 2);
		assert_int_equal(e->edx, index);
	}
	assert_int_equal(find(c, 0x1f, 3)->ecx, 3);

	e = find(c, 0x40000000, 0);
	assert_int_equal(e->ebx, 0x4b4d564b);		       /* "KVMKVMKVM" kept */
	assert_int_equal(find(c, 0x80000008, 0)->ecx, 0x1234); /* Intel: untouched */
	free(c);
	free(ref);
}

static void test_intel_each_index(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 4; i++)
		check_intel(i, 4, 2);
	for (unsigned int i = 0; i < 3; i++)
		check_intel(i, 3, 2);
	check_intel(0, 1, 0);
	check_intel(31, 32, 5);
	check_intel(5, 6, 3);
}

static void test_amd(void **state)
{
	struct kvm_cpuid2 *c = table_new();
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	add(c, 0x0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65); /* AuthenticAMD */
	add(c, 0x1, 0, 0x00a00f11, 0x00100800, 0x80000000, 0);
	add(c, 0x4, 0, 0x1234, 0, 0, 0); /* reserved on AMD: left alone */
	add(c, 0x80000008, 0, 0x3030, 0, 0x0000700f, 0);
	add(c, 0x8000001e, 0, 0, 0, 0, 0);
	cpuid_normalise(c, 2, 3);
	e = find(c, 0x1, 0);
	assert_int_equal(e->ebx >> 24, 2);
	assert_int_equal(find(c, 0x4, 0)->eax, 0x1234);
	e = find(c, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 2);	   /* NC = count - 1 */
	assert_int_equal((e->ecx >> 12) & 0xf, 2); /* ApicIdCoreIdSize */
	e = find(c, 0x8000001e, 0);
	assert_int_equal(e->eax, 2);
	assert_int_equal(e->ebx & 0xff, 2);
	assert_int_equal(e->ecx, 0);
	free(c);
}

/* The timing leaf: added (and reached from 0x40000000) or overwritten; never without KVM's. */
static void test_timing_leaf(void **state)
{
	struct kvm_cpuid2 *c = intel_table();
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	uint32_t before = c->nent; /* KVM's signature leaf 0x40000000 is in it */
	cpuid_add_timing(c, 0, CPUID_APIC_BUS_KHZ); /* no TSC rate: nothing */
	assert_int_equal(c->nent, before);
	cpuid_add_timing(c, 2800000, CPUID_APIC_BUS_KHZ);
	assert_int_equal(c->nent, before + 1);
	e = find(c, CPUID_HV_TIMING, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 2800000);
	assert_int_equal(e->ebx, CPUID_APIC_BUS_KHZ);
	assert_int_equal(find(c, CPUID_HV_BASE, 0)->eax, CPUID_HV_TIMING);
	assert_int_equal(find(c, CPUID_HV_BASE, 0)->ebx, 0x4b4d564b); /* signature kept */
	cpuid_add_timing(c, 3000000, CPUID_APIC_BUS_KHZ); /* again: overwritten in place */
	assert_int_equal(c->nent, before + 1);
	assert_int_equal(find(c, CPUID_HV_TIMING, 0)->eax, 3000000);
	free(c);

	c = table_new(); /* no KVM signature leaf: nothing added */
	add(c, 0, 0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69);
	before = c->nent;
	cpuid_add_timing(c, 2800000, CPUID_APIC_BUS_KHZ);
	assert_int_equal(c->nent, before);
	free(c);
}

static void test_invalid_arguments(void **state)
{
	struct kvm_cpuid2 *c = intel_table();
	struct kvm_cpuid2 *ref = intel_table();
	size_t bytes = sizeof(*c) + MAX_ENT * sizeof(struct kvm_cpuid_entry2);

	(void)state;
	cpuid_normalise(c, 4, 4);
	cpuid_normalise(c, 0, 0);
	cpuid_normalise(c, 0, CPUID_MAX_VCPUS + 1);
	cpuid_normalise(NULL, 0, 1);
	assert_memory_equal(c, ref, bytes);
	c->nent = 0;
	cpuid_normalise(c, 0, 1); /* empty table: nothing to do, nothing read */
	free(c);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_intel_each_index),
	    cmocka_unit_test(test_amd),
	    cmocka_unit_test(test_timing_leaf),
	    cmocka_unit_test(test_invalid_arguments),
	};

	return cmocka_run_group_tests_name("cpuid", tests, NULL, NULL);
}
