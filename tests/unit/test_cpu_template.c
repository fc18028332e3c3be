// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_template.c: CPU templates: the bitmap and number forms, each
 * static template's effect on sample Intel and AMD CPUID tables (named
 * feature bits, from the SDM and APM), the vendor rule, applying, and the
 * custom template JSON with its errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <linux/kvm.h>

#include "cpu_config_json.h"
#include "cpu_template.h"

#define MAX_ENT	 32
#define BIT(n)	 (1U << (n))
#define BIT64(n) (1ULL << (n))
#define ERRSZ	 256

static char err[ERRSZ];

/* ---------------------------------------------------------------- sample tables */

static struct kvm_cpuid2 *table_new(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_ENT * sizeof(struct kvm_cpuid_entry2));

	assert_non_null(c);
	return c;
}

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a,
		uint32_t b, uint32_t cx, uint32_t d)
{
	assert_true(c->nent < MAX_ENT);
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
	    .function = fn, .index = idx, .flags = flags, .eax = a, .ebx = b, .ecx = cx, .edx = d};
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	fail_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

/* Every feature bit set (all ones), so each template's clears show; vendor per (ebx). */
static struct kvm_cpuid2 *sample(uint32_t vendor_ebx, uint32_t vendor_edx, uint32_t vendor_ecx)
{
	struct kvm_cpuid2 *c = table_new();
	const uint32_t all = 0xffffffffU;

	add(c, 0x0, 0, 0, 0x1f, vendor_ebx, vendor_ecx, vendor_edx);
	add(c, 0x1, 0, 0, 0xf0a50f11, 0x00010800, all, all);
	add(c, 0x7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 1, all, all, all);
	add(c, 0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, all, 0x340, 0x340, 0);
	add(c, 0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, all, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, all, all);
	add(c, 0x80000008, 0, 0, 0x3030, all, 0, 0);
	return c;
}

static struct kvm_cpuid2 *intel(void)
{
	return sample(0x756e6547, 0x49656e69, 0x6c65746e); /* GenuineIntel */
}

static struct kvm_cpuid2 *amd(void)
{
	return sample(0x68747541, 0x69746e65, 0x444d4163); /* AuthenticAMD */
}

static void load(enum cpu_template_id id, struct cpu_template *t)
{
	assert_int_equal(cpu_template_static(id, t), 0);
}

/* applied: (host) after static template (id). */
static struct kvm_cpuid2 *applied(enum cpu_template_id id, struct kvm_cpuid2 *host)
{
	struct cpu_template *t = malloc(sizeof(*t));

	assert_non_null(t);
	load(id, t);
	assert_int_equal(cpu_template_apply_cpuid(t, host, err, sizeof(err)), 0);
	free(t);
	return host;
}

#define assert_set(v, bit)   assert_true(((v)&BIT(bit)) != 0)
#define assert_clear(v, bit) assert_true(((v)&BIT(bit)) == 0)

/* ---------------------------------------------------------------- string forms */

static void test_bitmap_valid(void **state)
{
	(void)state;
	// clang-format off
	static const struct {
		const char *s;
		unsigned int bits;
		uint64_t mask, value;
	} cases[] = {
		{"0b1", 32, 0x1, 0x1},
		{"0", 32, 0x1, 0x0},                      /* "0b" is optional */
		{"0bx1x0", 32, 0x5, 0x4},
		{"0b1_0_1", 32, 0x7, 0x5},                /* '_' groups digits */
		{"0b", 32, 0, 0},                         /* nothing given: all kept */
		{"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 32, 0, 0},
		{"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0", 32, 0x80000001, 0x80000000},
		{"0b11111111111111111111111111111111", 32, 0xffffffff, 0xffffffff},
		{"0b1000000000000000000000000000000000000000000000000000000000000000", 64,
		 UINT64_MAX, BIT64(63)},
		{"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 64,
		 BIT64(63), BIT64(63)},
		{"0b0000_0000_0000_0000_0000_0000_0000_0000_0000_0100_0000_1000_0000_1100_0100_1100",
		 64, UINT64_MAX, 0x04080c4c},
	};
	// clang-format on
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t mask = 7, value = 7;
		if (cpu_template_parse_bitmap(cases[i].s, cases[i].bits, &mask, &value, err,
					      sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", cases[i].s, err);
		if (mask != cases[i].mask || value != cases[i].value)
			fail_msg("'%s': mask 0x%llx value 0x%llx", cases[i].s,
				 (unsigned long long)mask, (unsigned long long)value);
	}
}

static void test_bitmap_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		unsigned int bits;
		const char *why;
	} cases[] = {
	    {"0b012", 32, "'2' is not 0, 1, x or _"},
	    {"0bX", 32, "'X' is not 0, 1, x or _"},
	    {"0x1f", 32, "'f' is not"},
	    {"0b 1", 32, "' ' is not"},
	    {"0b111111111111111111111111111111111", 32, "more than 32 bits"},
	    {"0b1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 64,
	     "more than 64 bits"}, /* 65 bits */
	    {"0bb1", 32, "'b' is not"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t mask, value;
		err[0] = '\0';
		if (cpu_template_parse_bitmap(cases[i].s, cases[i].bits, &mask, &value, err,
					      ERRSZ) != -EINVAL)
			fail_msg("'%s' accepted", cases[i].s);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("'%s': '%s' lacks '%s'", cases[i].s, err, cases[i].why);
	}
}

static void test_bitmap_format(void **state)
{
	(void)state;
	char out[68];
	uint64_t mask, value;

	cpu_template_format_bitmap(0x5, 0x4, 8, out);
	assert_string_equal(out, "0bxxxxx1x0");
	cpu_template_format_bitmap(0xfffffffff2f51e00ULL, 0, 64, out);
	assert_int_equal(strlen(out), 66);
	assert_int_equal(cpu_template_parse_bitmap(out, 64, &mask, &value, err, ERRSZ), 0);
	assert_true(mask == 0xfffffffff2f51e00ULL && value == 0);
}

static void test_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t max;
		int ret;
		uint64_t v;
	} cases[] = {
	    {"0x1f", UINT32_MAX, 0, 31},
	    {"0x80000001", UINT32_MAX, 0, 0x80000001},
	    {"0xFFFFFFFF", UINT32_MAX, 0, UINT32_MAX},
	    {"0b000111", UINT32_MAX, 0, 7}, /* Firecracker's own tests use binary subleaves */
	    {"0x100000000", UINT32_MAX, -EINVAL, 0},
	    {"69", UINT32_MAX, -EINVAL, 0}, /* no prefix: Firecracker refuses decimal */
	    {"0x", UINT32_MAX, -EINVAL, 0},
	    {"0b102", UINT32_MAX, -EINVAL, 0},
	    {"0xg", UINT32_MAX, -EINVAL, 0},
	    {"0X1", UINT32_MAX, -EINVAL, 0},
	    {"", UINT32_MAX, -EINVAL, 0},
	    {"0xffffffffffffffffff", UINT64_MAX, -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int ret = cpu_template_parse_number(cases[i].s, cases[i].max, &v, err, ERRSZ);
		if (ret != cases[i].ret || (ret == 0 && v != cases[i].v))
			fail_msg("'%s': %d 0x%llx (%s)", cases[i].s, ret, (unsigned long long)v,
				 err);
	}
}

static void test_registers_and_names(void **state)
{
	(void)state;
	static const char *const good[] = {"eax", "ebx", "ecx", "edx"};
	static const char *const bad[] = {"EAX", "ekx", "", "rax", "eax "};
	enum cpu_reg r;
	enum cpu_template_id id;

	for (int i = 0; i < 4; i++) {
		assert_int_equal(cpu_template_parse_reg(good[i], &r), 0);
		assert_int_equal(r, i);
		assert_string_equal(cpu_template_reg_name(r), good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cpu_template_parse_reg(bad[i], &r), -EINVAL);

	static const char *const names[] = {"None", "C3", "T2", "T2S", "T2CL", "T2A"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(cpu_template_id_by_name(names[i], &id), 0);
		assert_int_equal(id, i);
		assert_string_equal(cpu_template_name(id), names[i]);
	}
	assert_int_equal(cpu_template_id_by_name("t2", &id), -EINVAL);
	assert_int_equal(cpu_template_id_by_name("V1N1", &id), -EINVAL);
	assert_int_equal(cpu_template_id_by_name("Custom", &id), -EINVAL);
	assert_string_equal(cpu_template_name(CPU_TEMPLATE_CUSTOM), "Custom");
	struct cpu_template *t = malloc(sizeof(*t));
	assert_int_equal(cpu_template_static(CPU_TEMPLATE_NONE, t), -EINVAL);
	assert_int_equal(cpu_template_static(CPU_TEMPLATE_CUSTOM, t), -EINVAL);
	free(t);
}

/* ---------------------------------------------------------------- static templates */

/* What the T2 family does to leaves 1, 7 and 0xd (SDM vol. 2A, CPUID). */
static void check_t2_family(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *l1 = find(c, 1, 0), *l7 = find(c, 7, 0);

	/* Family 6, model 0x3f, stepping 2; bits 31:28 and 15:14 (reserved) kept. */
	assert_int_equal(l1->eax, 0xf00306f2 | (0xf0a50f11 & 0x0000c000));
	assert_clear(l1->ecx, 3);  /* MONITOR */
	assert_clear(l1->ecx, 5);  /* VMX */
	assert_clear(l1->ecx, 15); /* PDCM */
	assert_set(l1->ecx, 0);	   /* SSE3 kept */
	assert_set(l1->ecx, 28);   /* AVX kept */
	assert_set(l1->edx, 7);	   /* MCE set */
	assert_set(l1->edx, 12);   /* MTRR set */
	assert_clear(l1->edx, 21); /* DS */
	assert_clear(l1->edx, 31); /* PBE */
	assert_set(l1->edx, 0);	   /* FPU kept */
	assert_clear(l7->ebx, 16); /* AVX512F */
	assert_clear(l7->ebx, 11); /* RTM */
	assert_clear(l7->ebx, 29); /* SHA */
	assert_set(l7->ebx, 9);	   /* ERMS set */
	assert_set(l7->ebx, 5);	   /* AVX2 kept */
	assert_set(l7->ebx, 3);	   /* BMI1 kept */
	assert_clear(l7->ecx, 16); /* LA57 */
	assert_clear(l7->ecx, 22); /* RDPID */
	assert_clear(l7->edx, 4);  /* fast short REP MOV */
	assert_int_equal(l7->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(find(c, 0xd, 0)->eax & 0x2f8, 0); /* MPX, AVX-512, PKRU state */
	assert_int_equal(find(c, 0xd, 0)->eax & 0x7, 0x7); /* x87, SSE, AVX state kept */
	assert_int_equal(find(c, 0xd, 1)->eax & 0xe, 0);   /* XSAVEC, XGETBV1, XSAVES */
	assert_set(find(c, 0xd, 1)->eax, 0);		   /* XSAVEOPT kept */
}

static void test_t2(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = applied(CPU_TEMPLATE_T2, intel());

	check_t2_family(c);
	assert_clear(find(c, 0x80000001, 0)->ecx, 8);  /* PREFETCHW */
	assert_clear(find(c, 0x80000001, 0)->ecx, 29); /* MONITORX */
	assert_set(find(c, 0x80000001, 0)->ecx, 6);    /* SSE4A: not T2's business */
	assert_clear(find(c, 0x80000001, 0)->edx, 26); /* 1 GiB pages */
	assert_clear(find(c, 0x80000008, 0)->ebx, 9);  /* WBNOINVD */
	free(c);
}

static void test_t2s(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = applied(CPU_TEMPLATE_T2S, intel()),
			  *t2 = applied(CPU_TEMPLATE_T2, intel());
	struct cpu_template *t = malloc(sizeof(*t));
	struct kvm_msr_entry msrs[2] = {{.index = 0x10a, .data = UINT64_MAX},
					{.index = 0x1a0, .data = 1}};

	/* T2's CPUID exactly. */
	assert_memory_equal(c->entries, t2->entries, c->nent * sizeof(c->entries[0]));
	/* IA32_ARCH_CAPABILITIES: every bit fixed, whatever the host has. */
	load(CPU_TEMPLATE_T2S, t);
	assert_int_equal(t->nmsrs, 1);
	assert_int_equal(cpu_template_apply_msrs(t, msrs, 2), 0);
	assert_true(msrs[0].data == 0x04080c4cULL);
	assert_true(msrs[1].data == 1); /* no modifier: untouched */
	msrs[0].data = 0;
	cpu_template_apply_msrs(t, msrs, 2);
	assert_true(msrs[0].data == 0x04080c4cULL);
	free(t);
	free(c);
	free(t2);
}

static void test_t2cl(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = applied(CPU_TEMPLATE_T2CL, intel());
	struct cpu_template *t = malloc(sizeof(*t));
	struct kvm_msr_entry arch = {.index = 0x10a, .data = UINT64_MAX};

	check_t2_family(c);
	assert_clear(find(c, 0x80000001, 0)->ecx, 6);  /* SSE4A */
	assert_clear(find(c, 0x80000001, 0)->ecx, 7);  /* MisAlignSse */
	assert_clear(find(c, 0x80000001, 0)->edx, 22); /* MmxExt */
	assert_clear(find(c, 0x80000001, 0)->edx, 25); /* FFXSR */
	assert_set(find(c, 0x80000001, 0)->edx, 27);   /* RDTSCP kept */
	load(CPU_TEMPLATE_T2CL, t);
	assert_int_equal(cpu_template_apply_msrs(t, &arch, 1), 0);
	/* Mitigations passed through: RDCL_NO (0), MDS_NO (5), TAA_NO (8), PBRSB_NO (24). */
	assert_true((arch.data & (BIT64(0) | BIT64(5) | BIT64(8) | BIT64(24))) ==
		    (BIT64(0) | BIT64(5) | BIT64(8) | BIT64(24)));
	/* Controls and reserved bits cleared: MCU_CONTROL (9), DOITM (12), 63:28. */
	assert_true((arch.data & (BIT64(9) | BIT64(12) | BIT64(40) | BIT64(63))) == 0);
	free(t);
	free(c);
}

static void test_t2a(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = applied(CPU_TEMPLATE_T2A, amd());
	struct cpu_template *t = malloc(sizeof(*t));

	check_t2_family(c);
	assert_clear(find(c, 0x80000001, 0)->ecx, 2); /* SVM */
	assert_clear(find(c, 0x80000001, 0)->ecx, 6); /* SSE4A */
	assert_set(find(c, 0x80000001, 0)->edx, 23);  /* MMX kept (T2CL clears it) */
	assert_clear(find(c, 0x80000008, 0)->ebx, 0); /* CLZERO */
	assert_set(find(c, 0x80000008, 0)->ebx, 2);   /* RstrFpErrPtrs set */
	assert_set(find(c, 0x80000008, 0)->ebx, 18);  /* IbrsPreferred */
	assert_set(find(c, 0x80000008, 0)->ebx, 19);  /* IbrsSameMode */
	assert_set(find(c, 0x80000008, 0)->ebx, 20);  /* EferLmsleUnsupported */
	load(CPU_TEMPLATE_T2A, t);
	assert_int_equal(t->vendor, CPU_VENDOR_AMD);
	assert_int_equal(t->nmsrs, 0);
	free(t);
	free(c);
}

static void test_c3(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = applied(CPU_TEMPLATE_C3, intel());
	struct kvm_cpuid_entry2 *l1 = find(c, 1, 0), *l7 = find(c, 7, 0);

	assert_int_equal(l1->eax & 0x0fff3fff, 0x000306e4); /* family 6, model 0x3e, stepping 4 */
	assert_clear(l1->ecx, 12);			    /* FMA */
	assert_clear(l1->ecx, 22);			    /* MOVBE */
	assert_set(l1->ecx, 6);				    /* SMX: not C3's business */
	assert_clear(l1->edx, 31);			    /* PBE */
	assert_set(l1->edx, 30);			    /* kept by C3, cleared by T2 */
	assert_clear(l7->ebx, 3);			    /* BMI1 */
	assert_clear(l7->ebx, 5);			    /* AVX2 */
	assert_clear(l7->ebx, 8);			    /* BMI2 */
	assert_set(l7->ebx, 9);				    /* ERMS kept */
	assert_set(l7->ebx, 0);				    /* FSGSBASE kept */
	assert_clear(find(c, 0x80000001, 0)->ecx, 5);	    /* LZCNT */
	assert_clear(find(c, 0x80000001, 0)->ecx, 8);	    /* PREFETCHW */
	assert_int_equal(find(c, 0x80000008, 0)->ebx, 0xffffffff); /* untouched */
	free(c);
}

static void test_vendor_rule(void **state)
{
	(void)state;
	static const struct {
		enum cpu_template_id id;
		bool on_intel, on_amd;
	} cases[] = {
	    {CPU_TEMPLATE_C3, true, false},  {CPU_TEMPLATE_T2, true, false},
	    {CPU_TEMPLATE_T2S, true, false}, {CPU_TEMPLATE_T2CL, true, false},
	    {CPU_TEMPLATE_T2A, false, true},
	};
	struct kvm_cpuid2 *i = intel(), *a = amd();
	struct cpu_template *t = calloc(1, sizeof(*t));
	char sig[13];

	assert_int_equal(cpu_template_vendor_of(i, sig), CPU_VENDOR_INTEL);
	assert_string_equal(sig, "GenuineIntel");
	assert_int_equal(cpu_template_vendor_of(a, sig), CPU_VENDOR_AMD);
	assert_string_equal(sig, "AuthenticAMD");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		load(cases[k].id, t);
		assert_int_equal(cpu_template_check_vendor(t, i, err, ERRSZ),
				 cases[k].on_intel ? 0 : -EINVAL);
		assert_int_equal(cpu_template_check_vendor(t, a, err, ERRSZ),
				 cases[k].on_amd ? 0 : -EINVAL);
	}
	load(CPU_TEMPLATE_T2, t);
	cpu_template_check_vendor(t, a, err, ERRSZ);
	assert_non_null(strstr(err, "for Intel CPUs"));
	assert_non_null(strstr(err, "'AuthenticAMD'"));
	/* A custom template fits any host. */
	memset(t, 0, sizeof(*t));
	assert_int_equal(cpu_template_check_vendor(t, a, err, ERRSZ), 0);
	assert_int_equal(cpu_template_check_vendor(t, i, err, ERRSZ), 0);
	free(t);
	free(i);
	free(a);
}

/* ---------------------------------------------------------------- applying */

static void test_apply_missing_leaf(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = intel(), *before = intel();
	struct cpu_template *t = calloc(1, sizeof(*t));

	assert_int_equal(cpu_template_add_leaf_reg(t, 1, 0, 0, CPU_REG_ECX, 0xff, 0), 0);
	assert_int_equal(cpu_template_add_leaf_reg(t, 0x14, 1, 1, CPU_REG_EAX, 1, 1), 0);
	assert_int_equal(cpu_template_apply_cpuid(t, c, err, ERRSZ), -ENOENT);
	assert_non_null(strstr(err, "leaf 0x14 subleaf 0x1"));
	/* Checked before anything changed: leaf 1 is as it was. */
	assert_memory_equal(c->entries, before->entries, c->nent * sizeof(c->entries[0]));
	/* A subleaf KVM did not list is missing too, as in Firecracker. */
	memset(t, 0, sizeof(*t));
	cpu_template_add_leaf_reg(t, 0xd, 5, 1, CPU_REG_EAX, 1, 0);
	assert_int_equal(cpu_template_apply_cpuid(t, c, err, ERRSZ), -ENOENT);
	free(t);
	free(c);
	free(before);
}

static void test_apply_composes_and_sets_flags(void **state)
{
	(void)state;
	struct kvm_cpuid2 *c = intel();
	struct cpu_template *t = calloc(1, sizeof(*t));
	struct kvm_msr_entry e[2] = {{.index = 0x277, .data = 0x0007040600070406ULL},
				     {.index = 0x1a0, .data = 1}};

	/* Two modifiers of one register: the second's bits win, the first's others stay. */
	cpu_template_add_leaf_reg(t, 0x80000001, 0, 0, CPU_REG_ECX, 0x0f, 0x05);
	cpu_template_add_leaf_reg(t, 0x80000001, 0, 2, CPU_REG_ECX, 0x03, 0x02);
	assert_int_equal(t->nleaves, 1);
	assert_int_equal(cpu_template_apply_cpuid(t, c, err, ERRSZ), 0);
	assert_int_equal(find(c, 0x80000001, 0)->ecx, 0xfffffff6); /* 0b0110 in bits 3:0 */
	assert_int_equal(find(c, 0x80000001, 0)->flags, 2);	   /* the last flags */
	assert_int_equal(find(c, 0x80000001, 0)->edx, 0xffffffff);

	cpu_template_add_msr(t, 0x277, 0xff, 0x04);
	cpu_template_add_msr(t, 0x10a, UINT64_MAX, 0);
	assert_int_equal(cpu_template_apply_msrs(t, e, 2), 1); /* 0x10a has no entry */
	assert_true(e[0].data == 0x0007040600070404ULL);
	assert_true(e[1].data == 1);
	free(t);
	free(c);
}

static void test_limits(void **state)
{
	(void)state;
	struct cpu_template *t = calloc(1, sizeof(*t));

	for (uint32_t i = 0; i < CPU_TEMPLATE_MAX_LEAVES; i++)
		assert_int_equal(cpu_template_add_leaf_reg(t, i, 0, 0, CPU_REG_EAX, 1, 0), 0);
	assert_int_equal(cpu_template_add_leaf_reg(t, 0, 0, 0, CPU_REG_EBX, 1, 0), 0); /* known */
	assert_int_equal(cpu_template_add_leaf_reg(t, 0x9999, 0, 0, CPU_REG_EAX, 1, 0), -ENOSPC);
	for (uint32_t i = 0; i < CPU_TEMPLATE_MAX_MSRS; i++)
		assert_int_equal(cpu_template_add_msr(t, i, 1, 0), 0);
	assert_int_equal(cpu_template_add_msr(t, 0x9999, 1, 0), -ENOSPC);
	free(t);
}

/* ---------------------------------------------------------------- the JSON form */

static int parse(const char *text, struct cpu_template *t, struct cpu_config_error *e)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (root == NULL)
		fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
	int ret = cpu_config_json_parse(root, t, e);
	json_decref(root);
	return ret;
}

/* assert_same: (a) and (b) hold the same modifiers (field by field: structs have padding). */
static void assert_same(const struct cpu_template *a, const struct cpu_template *b)
{
	assert_int_equal(a->nleaves, b->nleaves);
	assert_memory_equal(a->leaves, b->leaves, a->nleaves * sizeof(a->leaves[0]));
	assert_int_equal(a->nmsrs, b->nmsrs);
	for (unsigned int i = 0; i < a->nmsrs; i++)
		assert_true(a->msrs[i].addr == b->msrs[i].addr &&
			    a->msrs[i].mask == b->msrs[i].mask &&
			    a->msrs[i].value == b->msrs[i].value);
	assert_int_equal(a->ncaps, b->ncaps);
	for (unsigned int i = 0; i < a->ncaps; i++)
		assert_true(a->caps[i].cap == b->caps[i].cap &&
			    a->caps[i].remove == b->caps[i].remove);
}

#define MOD(reg, bits) "{\"register\": \"" reg "\", \"bitmap\": \"" bits "\"}"
#define LEAF(leaf, sub, flags, mods)                                                               \
	"{\"leaf\": " leaf ", \"subleaf\": " sub ", \"flags\": " flags ", \"modifiers\": [" mods   \
	"]}"

static void test_json_valid(void **state)
{
	(void)state;
	struct cpu_template *t = malloc(sizeof(*t)), *again = malloc(sizeof(*again));
	struct cpu_config_error e;
	const char *text = "{\"cpuid_modifiers\": [" LEAF(
	    "\"0x1\"", "\"0x0\"", "0",
	    MOD("ecx", "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0xx") ", " MOD(
		"eax",
		"0b0000_1111")) ", " LEAF("\"0x7\"", "0", "1",
					  MOD("ebx",
					      "0b1")) ", " LEAF("\"0b1101\"", "\"0x1\"", "1",
								"") "],"
								    " \"msr_modifiers\": "
								    "[{\"addr\": \"0x10a\", "
								    "\"bitmap\": \"0b1100\"}],"
								    " \"kvm_capabilities\": "
								    "[\"171\", \"!172\"]}";

	if (parse(text, t, &e) != 0)
		fail_msg("refused: %s: %s", e.field, e.msg);
	assert_int_equal(t->vendor, CPU_VENDOR_ANY);
	assert_int_equal(t->nleaves, 3);
	assert_int_equal(t->leaves[0].leaf, 1);
	assert_int_equal(t->leaves[0].mask[CPU_REG_ECX], 0x4);
	assert_int_equal(t->leaves[0].value[CPU_REG_ECX], 0);
	assert_int_equal(t->leaves[0].mask[CPU_REG_EAX], 0xff);
	assert_int_equal(t->leaves[0].value[CPU_REG_EAX], 0x0f);
	assert_int_equal(t->leaves[1].leaf, 7); /* a plain integer subleaf too */
	assert_int_equal(t->leaves[1].flags, 1);
	assert_int_equal(t->leaves[2].leaf, 0xd);
	assert_int_equal(t->leaves[2].subleaf, 1);
	assert_int_equal(t->nmsrs, 1);
	assert_int_equal(t->msrs[0].addr, 0x10a);
	assert_true(t->msrs[0].mask == 0xf && t->msrs[0].value == 0xc);
	assert_int_equal(t->ncaps, 2);
	assert_true(t->caps[0].cap == 171 && !t->caps[0].remove);
	assert_true(t->caps[1].cap == 172 && t->caps[1].remove);

	/* Rendered and read back: the same template. */
	json_t *r = cpu_config_json_render(t);
	assert_non_null(r);
	assert_int_equal(cpu_config_json_parse(r, again, &e), 0);
	json_decref(r);
	assert_same(t, again);

	/* Empty and null parts are no modifiers. */
	assert_int_equal(parse("{}", t, &e), 0);
	assert_int_equal(t->nleaves + t->nmsrs + t->ncaps, 0);
	assert_int_equal(parse("{\"cpuid_modifiers\": null, \"msr_modifiers\": []}", t, &e), 0);
	free(t);
	free(again);
}

static void test_json_errors(void **state)
{
	(void)state;
	// clang-format off
	static const struct {
		const char *text, *field, *msg;
	} cases[] = {
		{"[]", "", "expected an object, got an array"},
		{"{\"foo\": 1}", "foo", "unknown field (expected one of: cpuid_modifiers, msr_modifiers, kvm_capabilities)"},
		{"{\"reg_modifiers\": []}", "reg_modifiers", "aarch64"},
		{"{\"vcpu_features\": []}", "vcpu_features", "aarch64"},
		{"{\"cpuid_modifiers\": {}}", "cpuid_modifiers", "expected an array, got an object"},
		{"{\"cpuid_modifiers\": [1]}", "cpuid_modifiers[0]", "expected an object, got an integer"},
		{"{\"cpuid_modifiers\": [{\"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		 "cpuid_modifiers[0].leaf", "missing required field"},
		{"{\"cpuid_modifiers\": [" LEAF("\"69\"", "\"0x0\"", "0", "") "]}",
		 "cpuid_modifiers[0].leaf", "no 0x (hexadecimal) or 0b (binary) prefix"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x100000000\"", "\"0x0\"", "0", "") "]}",
		 "cpuid_modifiers[0].leaf", "larger than 0xffffffff"},
		{"{\"cpuid_modifiers\": [" LEAF("-1", "\"0x0\"", "0", "") "]}",
		 "cpuid_modifiers[0].leaf", "-1 is out of range"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "true", "0", "") "]}",
		 "cpuid_modifiers[0].subleaf", "expected a \"0x...\" string, got a boolean"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "\"1\"", "") "]}",
		 "cpuid_modifiers[0].flags", "expected an integer, got a string"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "8", "") "]}",
		 "cpuid_modifiers[0].flags", "only KVM_CPUID_FLAG_* bits"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0}]}",
		 "cpuid_modifiers[0].modifiers", "missing required field"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, "
		 "\"modifiers\": [], \"extra\": 1}]}",
		 "cpuid_modifiers[0].extra", "unknown field"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "0", MOD("ekx", "0b1")) "]}",
		 "cpuid_modifiers[0].modifiers[0].register", "'ekx' is not one of eax, ebx, ecx, edx"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "0", "{\"register\": \"eax\"}") "]}",
		 "cpuid_modifiers[0].modifiers[0].bitmap", "missing required field"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "0", "") ", "
		 LEAF("\"0x7\"", "\"0x0\"", "1", "") ", "
		 LEAF("\"0x80000001\"", "\"0x0\"", "0", MOD("eax", "0b1") ", "
		      MOD("ecx", "0b111111111111111111111111111111111")) "]}",
		 "cpuid_modifiers[2].modifiers[1].bitmap", "more than 32 bits"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "0", MOD("eax", "0b01y")) "]}",
		 "cpuid_modifiers[0].modifiers[0].bitmap", "'y' is not 0, 1, x or _"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "0",
		      "{\"register\": \"eax\", \"bitmap\": 5}") "]}",
		 "cpuid_modifiers[0].modifiers[0].bitmap", "expected a string, got an integer"},
		{"{\"cpuid_modifiers\": [" LEAF("\"0x1\"", "\"0x0\"", "0",
		      "{\"register\": \"eax\", \"bitmap\": \"0b1\", \"mask\": 1}") "]}",
		 "cpuid_modifiers[0].modifiers[0].mask", "unknown field"},
		{"{\"msr_modifiers\": [{\"bitmap\": \"0b1\"}]}", "msr_modifiers[0].addr",
		 "missing required field"},
		{"{\"msr_modifiers\": [{\"addr\": \"0jj0\", \"bitmap\": \"0b1\"}]}",
		 "msr_modifiers[0].addr", "no 0x"},
		{"{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": "
		 "\"0b10000000000000000000000000000000000000000000000000000000000000000\"}]}",
		 "msr_modifiers[0].bitmap", "more than 64 bits"},
		{"{\"kvm_capabilities\": [1]}", "kvm_capabilities[0]", "expected a string"},
		{"{\"kvm_capabilities\": [\"!\"]}", "kvm_capabilities[0]", "not a capability number"},
		{"{\"kvm_capabilities\": [\"12a\"]}", "kvm_capabilities[0]", "not a capability number"},
		{"{\"kvm_capabilities\": [\"4294967296\"]}", "kvm_capabilities[0]", "from 0 to 4294967295"},
		{"{\"kvm_capabilities\": \"171\"}", "kvm_capabilities", "expected an array, got a string"},
	};
	// clang-format on
	struct cpu_template *t = malloc(sizeof(*t));
	struct cpu_config_error e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].text, t, &e) != -EINVAL)
			fail_msg("accepted: %s", cases[i].text);
		if (strcmp(e.field, cases[i].field) != 0 || strstr(e.msg, cases[i].msg) == NULL)
			fail_msg("%s\n  gave '%s: %s'\n  want '%s: ...%s...'", cases[i].text,
				 e.field, e.msg, cases[i].field, cases[i].msg);
	}
	free(t);
}

/* More distinct leaves than a template holds is an error naming the one too many. */
static void test_json_too_many_leaves(void **state)
{
	(void)state;
	struct cpu_template *t = malloc(sizeof(*t));
	struct cpu_config_error e;
	json_t *leaves = json_array();

	for (int i = 0; i <= CPU_TEMPLATE_MAX_LEAVES; i++)
		json_array_append_new(leaves, json_pack("{s:I,s:s,s:i,s:[]}", "leaf", (json_int_t)i,
							"subleaf", "0x0", "flags", 0, "modifiers"));
	json_t *root = json_pack("{s:o}", "cpuid_modifiers", leaves);
	assert_int_equal(cpu_config_json_parse(root, t, &e), -EINVAL);
	assert_string_equal(e.field, "cpuid_modifiers[256]");
	assert_non_null(strstr(e.msg, "more than 256 distinct CPUID leaves"));
	json_decref(root);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bitmap_valid),
	    cmocka_unit_test(test_bitmap_invalid),
	    cmocka_unit_test(test_bitmap_format),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_registers_and_names),
	    cmocka_unit_test(test_t2),
	    cmocka_unit_test(test_t2s),
	    cmocka_unit_test(test_t2cl),
	    cmocka_unit_test(test_t2a),
	    cmocka_unit_test(test_c3),
	    cmocka_unit_test(test_vendor_rule),
	    cmocka_unit_test(test_apply_missing_leaf),
	    cmocka_unit_test(test_apply_composes_and_sets_flags),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_json_valid),
	    cmocka_unit_test(test_json_errors),
	    cmocka_unit_test(test_json_too_many_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
