// SPDX-License-Identifier: Apache-2.0
/*
 * cpu_template.c: the static CPU templates as tables, the template string
 * forms, and applying a template to a CPUID table and to MSR values
 * (Intel SDM vol. 2A, CPUID; vol. 4, MSRs; AMD APM vol. 3).
 */
#include "cpu_template.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>

#define FLAG_INDEX		   KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define MSR_IA32_ARCH_CAPABILITIES 0x10aU
#define ALL_BITS64		   UINT64_MAX

/* Leaf 0's vendor signature, EBX:EDX:ECX. */
#define SIG_INTEL_EBX 0x756e6547U /* "Genu" */
#define SIG_AMD_EBX   0x68747541U /* "Auth" */
#define SIG_HYGON_EBX 0x6f677948U /* "Hygo": an AMD design */
#define SIG_BYTES     12

/* One row of a static template: a register of a leaf, the bits set and their values. */
struct leaf_row {
	uint32_t leaf, subleaf, flags;
	enum cpu_reg reg;
	uint32_t mask, value;
};

struct msr_row {
	uint32_t addr;
	uint64_t mask, value;
};

/*
 * What the T2 family (T2, T2S, T2CL, T2A) shares: a Haswell-era signature
 * (family 6, model 0x3f, stepping 2), no MONITOR, VMX, SMX, EIST, PDCM,
 * DCA or debug-store features, MCE and MTRR reported; in leaf 7 no SGX,
 * TSX, MPX, RDT, AVX-512, SHA, PT, UMIP, PKU, GFNI/VAES, LA57, RDPID, but
 * ERMS (enhanced REP MOVSB); in leaf 0xd no MPX, AVX-512 or PKRU state and
 * no XSAVEC/XGETBV1/XSAVES.
 */
// clang-format off
static const struct leaf_row t2_family[] = {
	/* leaf        sub  flags       reg          mask        value */
	{0x1,          0,   0,          CPU_REG_EAX, 0x0fff3fff, 0x000306f2},
	{0x1,          0,   0,          CPU_REG_ECX, 0x0004cdfc, 0x00000000},
	{0x1,          0,   0,          CPU_REG_EDX, 0xe8641080, 0x00001080},
	{0x7,          0,   FLAG_INDEX, CPU_REG_EBX, 0xffefda14, 0x00000200},
	{0x7,          0,   FLAG_INDEX, CPU_REG_ECX, 0x40415f5e, 0x00000000},
	{0x7,          0,   FLAG_INDEX, CPU_REG_EDX, 0x0000011c, 0x00000000},
	{0xd,          0,   FLAG_INDEX, CPU_REG_EAX, 0x000002f8, 0x00000000},
	{0xd,          1,   FLAG_INDEX, CPU_REG_EAX, 0x0000000e, 0x00000000},
};

/* T2 and T2S: no PREFETCHW, MONITORX, 1 GiB pages or WBNOINVD. */
static const struct leaf_row t2_ext[] = {
	{0x80000001,   0,   0,          CPU_REG_ECX, 0x20000100, 0x00000000},
	{0x80000001,   0,   0,          CPU_REG_EDX, 0x04000000, 0x00000000},
	{0x80000008,   0,   0,          CPU_REG_EBX, 0x00000200, 0x00000000},
};

/* T2CL: as T2, and AMD's SSE4A, MisAlignSse, MmxExt, MMX/FXSR extensions off too. */
static const struct leaf_row t2cl_ext[] = {
	{0x80000001,   0,   0,          CPU_REG_ECX, 0x200001c0, 0x00000000},
	{0x80000001,   0,   0,          CPU_REG_EDX, 0x07c00000, 0x00000000},
	{0x80000008,   0,   0,          CPU_REG_EBX, 0x00000200, 0x00000000},
};

/*
 * T2A (AMD hosts): as T2CL's instruction set, without SVM, CLZERO and
 * RstrFpErrPtrs, and with IbrsPreferred, IbrsSameMode and
 * EferLmsleUnsupported reported.
 */
static const struct leaf_row t2a_ext[] = {
	{0x80000001,   0,   0,          CPU_REG_ECX, 0x200001c4, 0x00000000},
	{0x80000001,   0,   0,          CPU_REG_EDX, 0x06400000, 0x00000000},
	{0x80000008,   0,   0,          CPU_REG_EBX, 0x001c0205, 0x001c0004},
};

/*
 * C3: an Ivy Bridge signature (family 6, model 0x3e, stepping 4) without
 * FMA, MOVBE, BMI1/2, AVX2, INVPCID and the later leaf 7 features, no LZCNT,
 * PREFETCHW or 1 GiB pages.
 */
static const struct leaf_row c3_rows[] = {
	{0x1,          0,   0,          CPU_REG_EAX, 0x0fff3fff, 0x000306e4},
	{0x1,          0,   0,          CPU_REG_ECX, 0x0040dd3c, 0x00000000},
	{0x1,          0,   0,          CPU_REG_EDX, 0xa8641080, 0x00001080},
	{0x7,          0,   FLAG_INDEX, CPU_REG_EBX, 0xffafdd3c, 0x00000000},
	{0x7,          0,   FLAG_INDEX, CPU_REG_ECX, 0x4041481e, 0x00000000},
	{0x7,          0,   FLAG_INDEX, CPU_REG_EDX, 0x0000000c, 0x00000000},
	{0xd,          0,   FLAG_INDEX, CPU_REG_EAX, 0x000002f8, 0x00000000},
	{0xd,          1,   FLAG_INDEX, CPU_REG_EAX, 0x0000000e, 0x00000000},
	{0x80000001,   0,   0,          CPU_REG_ECX, 0x00000120, 0x00000000},
	{0x80000001,   0,   0,          CPU_REG_EDX, 0x04000000, 0x00000000},
};

/*
 * T2S: IA32_ARCH_CAPABILITIES fixed to what both Skylake and Cascade Lake
 * hosts can honour (RSBA, SKIP_L1DFL_VMENTRY, IF_PSCHANGE_MC_NO,
 * MISC_PACKAGE_CTLS, ENERGY_FILTERING_CTL, RRSBA, GDS_NO), so a snapshot
 * may move between them.
 */
static const struct msr_row t2s_msrs[] = {
	{MSR_IA32_ARCH_CAPABILITIES, ALL_BITS64, 0x0000000004080c4cULL},
};

/*
 * T2CL: IA32_ARCH_CAPABILITIES keeps the mitigation bits KVM passes through
 * and clears the control and reserved ones.
 */
static const struct msr_row t2cl_msrs[] = {
	{MSR_IA32_ARCH_CAPABILITIES, 0xfffffffff2f51e00ULL, 0},
};
// clang-format on

#define ROWS(a) (a), (sizeof(a) / sizeof((a)[0]))

/* The static templates: name, vendor and up to two row tables each. */
static const struct static_template {
	const char *name;
	enum cpu_vendor vendor;
	const struct leaf_row *base;
	size_t nbase;
	const struct leaf_row *ext;
	size_t next;
	const struct msr_row *msrs;
	size_t nmsrs;
} statics[] = {
    [CPU_TEMPLATE_C3] = {"C3", CPU_VENDOR_INTEL, ROWS(c3_rows), NULL, 0, NULL, 0},
    [CPU_TEMPLATE_T2] = {"T2", CPU_VENDOR_INTEL, ROWS(t2_family), ROWS(t2_ext), NULL, 0},
    [CPU_TEMPLATE_T2S] = {"T2S", CPU_VENDOR_INTEL, ROWS(t2_family), ROWS(t2_ext), ROWS(t2s_msrs)},
    [CPU_TEMPLATE_T2CL] = {"T2CL", CPU_VENDOR_INTEL, ROWS(t2_family), ROWS(t2cl_ext),
			   ROWS(t2cl_msrs)},
    [CPU_TEMPLATE_T2A] = {"T2A", CPU_VENDOR_AMD, ROWS(t2_family), ROWS(t2a_ext), NULL, 0},
};

#define NSTATICS (sizeof(statics) / sizeof(statics[0]))

static const char *const reg_names[CPU_TEMPLATE_REGS] = {"eax", "ebx", "ecx", "edx"};

int cpu_template_id_by_name(const char *name, enum cpu_template_id *id)
{
	if (strcmp(name, "None") == 0) {
		*id = CPU_TEMPLATE_NONE;
		return 0;
	}
	for (size_t i = 0; i < NSTATICS; i++) {
		if (statics[i].name != NULL && strcmp(name, statics[i].name) == 0) {
			*id = (enum cpu_template_id)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cpu_template_name(enum cpu_template_id id)
{
	if (id == CPU_TEMPLATE_CUSTOM)
		return "Custom";
	if ((size_t)id < NSTATICS && statics[id].name != NULL)
		return statics[id].name;
	return "None";
}

static int add_rows(struct cpu_template *t, const struct leaf_row *rows, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++)
		ret = cpu_template_add_leaf_reg(t, rows[i].leaf, rows[i].subleaf, rows[i].flags,
						rows[i].reg, rows[i].mask, rows[i].value);
	return ret;
}

int cpu_template_static(enum cpu_template_id id, struct cpu_template *t)
{
	if ((size_t)id >= NSTATICS || statics[id].name == NULL)
		return -EINVAL;
	const struct static_template *s = &statics[id];
	int ret;

	memset(t, 0, sizeof(*t));
	t->vendor = s->vendor;
	ret = add_rows(t, s->base, s->nbase);
	if (ret == 0)
		ret = add_rows(t, s->ext, s->next);
	for (size_t i = 0; i < s->nmsrs && ret == 0; i++)
		ret = cpu_template_add_msr(t, s->msrs[i].addr, s->msrs[i].mask, s->msrs[i].value);
	return ret;
}

/* ------------------------------------------------------------ string forms */

int cpu_template_parse_bitmap(const char *s, unsigned int bits, uint64_t *mask, uint64_t *value,
			      char *err, size_t errsz)
{
	const char *p = strncmp(s, "0b", 2) == 0 ? s + 2 : s;
	size_t len = strlen(p);
	unsigned int bit = 0;

	*mask = *value = 0;
	/* From the right: the last character is bit 0. */
	for (size_t i = len; i-- > 0;) {
		char c = p[i];
		if (c == '_')
			continue;
		if (c != '0' && c != '1' && c != 'x') {
			snprintf(err, errsz, "'%.80s': '%c' is not 0, 1, x or _", s, c);
			return -EINVAL;
		}
		if (bit == bits) {
			snprintf(err, errsz, "'%.80s': more than %u bits", s, bits);
			return -EINVAL;
		}
		if (c != 'x')
			*mask |= 1ULL << bit;
		if (c == '1')
			*value |= 1ULL << bit;
		bit++;
	}
	return 0;
}

void cpu_template_format_bitmap(uint64_t mask, uint64_t value, unsigned int bits, char *out)
{
	size_t n = 0;

	out[n++] = '0';
	out[n++] = 'b';
	for (unsigned int i = bits; i-- > 0;) {
		uint64_t b = 1ULL << i;
		out[n++] = (mask & b) == 0 ? 'x' : (value & b) != 0 ? '1' : '0';
	}
	out[n] = '\0';
}

int cpu_template_parse_number(const char *s, uint64_t max, uint64_t *out, char *err, size_t errsz)
{
	unsigned int base;
	uint64_t v = 0;
	const char *p;

	if (strncmp(s, "0x", 2) == 0)
		base = 16;
	else if (strncmp(s, "0b", 2) == 0)
		base = 2;
	else {
		snprintf(err, errsz, "'%.80s' has no 0x (hexadecimal) or 0b (binary) prefix", s);
		return -EINVAL;
	}
	if (s[2] == '\0') {
		snprintf(err, errsz, "'%.80s' has no digits", s);
		return -EINVAL;
	}
	for (p = s + 2; *p != '\0'; p++) {
		unsigned int d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a') + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A') + 10;
		else
			d = base;
		if (d >= base) {
			snprintf(err, errsz, "'%.80s': '%c' is not a base-%u digit", s, *p, base);
			return -EINVAL;
		}
		if (v > (max - d) / base) {
			snprintf(err, errsz, "'%.80s' is larger than 0x%llx", s,
				 (unsigned long long)max);
			return -EINVAL;
		}
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int cpu_template_parse_reg(const char *s, enum cpu_reg *reg)
{
	for (int i = 0; i < CPU_TEMPLATE_REGS; i++) {
		if (strcmp(s, reg_names[i]) == 0) {
			*reg = (enum cpu_reg)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cpu_template_reg_name(enum cpu_reg reg)
{
	return (unsigned int)reg < CPU_TEMPLATE_REGS ? reg_names[reg] : "?";
}

/* ------------------------------------------------------------ building */

int cpu_template_add_leaf_reg(struct cpu_template *t, uint32_t leaf, uint32_t subleaf,
			      uint32_t flags, enum cpu_reg reg, uint32_t mask, uint32_t value)
{
	struct cpu_leaf_mod *m = NULL;

	for (unsigned int i = 0; i < t->nleaves && m == NULL; i++)
		if (t->leaves[i].leaf == leaf && t->leaves[i].subleaf == subleaf)
			m = &t->leaves[i];
	if (m == NULL) {
		if (t->nleaves >= CPU_TEMPLATE_MAX_LEAVES)
			return -ENOSPC;
		m = &t->leaves[t->nleaves++];
		*m = (struct cpu_leaf_mod){.leaf = leaf, .subleaf = subleaf};
	}
	m->flags = flags;
	/* The new modifier after the old: its bits win, the old ones it keeps stay. */
	m->value[reg] = (m->value[reg] & ~mask) | (value & mask);
	m->mask[reg] |= mask;
	return 0;
}

int cpu_template_add_msr(struct cpu_template *t, uint32_t addr, uint64_t mask, uint64_t value)
{
	struct cpu_msr_mod *m = NULL;

	for (unsigned int i = 0; i < t->nmsrs && m == NULL; i++)
		if (t->msrs[i].addr == addr)
			m = &t->msrs[i];
	if (m == NULL) {
		if (t->nmsrs >= CPU_TEMPLATE_MAX_MSRS)
			return -ENOSPC;
		m = &t->msrs[t->nmsrs++];
		*m = (struct cpu_msr_mod){.addr = addr};
	}
	m->value = (m->value & ~mask) | (value & mask);
	m->mask |= mask;
	return 0;
}

/* ------------------------------------------------------------ applying */

static const char *vendor_name(enum cpu_vendor v)
{
	return v == CPU_VENDOR_INTEL ? "Intel" : v == CPU_VENDOR_AMD ? "AMD" : "any";
}

enum cpu_vendor cpu_template_vendor_of(const struct kvm_cpuid2 *cpuid, char sig[13])
{
	sig[0] = '\0';
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function != 0)
			continue;
		uint32_t words[3] = {e->ebx, e->edx, e->ecx};
		memcpy(sig, words, SIG_BYTES);
		sig[SIG_BYTES] = '\0';
		for (int j = 0; j < SIG_BYTES; j++)
			if (sig[j] < ' ' || sig[j] > '~')
				sig[j] = '?';
		if (e->ebx == SIG_INTEL_EBX)
			return CPU_VENDOR_INTEL;
		if (e->ebx == SIG_AMD_EBX || e->ebx == SIG_HYGON_EBX)
			return CPU_VENDOR_AMD;
		return CPU_VENDOR_ANY;
	}
	return CPU_VENDOR_ANY;
}

int cpu_template_check_vendor(const struct cpu_template *t, const struct kvm_cpuid2 *cpuid,
			      char *err, size_t errsz)
{
	char sig[SIG_BYTES + 1];
	enum cpu_vendor host = cpu_template_vendor_of(cpuid, sig);

	if (t->vendor == CPU_VENDOR_ANY || t->vendor == host)
		return 0;
	snprintf(err, errsz, "the template is for %s CPUs; this host's CPU is '%s' (%s)",
		 vendor_name(t->vendor), sig[0] ? sig : "unknown",
		 host == CPU_VENDOR_ANY ? "neither Intel nor AMD" : vendor_name(host));
	return -EINVAL;
}

static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid2 *cpuid, uint32_t leaf,
					   uint32_t subleaf)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == leaf && cpuid->entries[i].index == subleaf)
			return &cpuid->entries[i];
	return NULL;
}

static uint32_t apply32(uint32_t r, uint32_t mask, uint32_t value)
{
	return (r & ~mask) | (value & mask);
}

int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid2 *cpuid, char *err,
			     size_t errsz)
{
	for (unsigned int i = 0; i < t->nleaves; i++) {
		const struct cpu_leaf_mod *m = &t->leaves[i];
		if (find_entry(cpuid, m->leaf, m->subleaf) == NULL) {
			snprintf(err, errsz,
				 "the template changes CPUID leaf 0x%x subleaf 0x%x, which KVM "
				 "does not report on this host",
				 m->leaf, m->subleaf);
			return -ENOENT;
		}
	}
	for (unsigned int i = 0; i < t->nleaves; i++) {
		const struct cpu_leaf_mod *m = &t->leaves[i];
		struct kvm_cpuid_entry2 *e = find_entry(cpuid, m->leaf, m->subleaf);
		e->flags = m->flags;
		e->eax = apply32(e->eax, m->mask[CPU_REG_EAX], m->value[CPU_REG_EAX]);
		e->ebx = apply32(e->ebx, m->mask[CPU_REG_EBX], m->value[CPU_REG_EBX]);
		e->ecx = apply32(e->ecx, m->mask[CPU_REG_ECX], m->value[CPU_REG_ECX]);
		e->edx = apply32(e->edx, m->mask[CPU_REG_EDX], m->value[CPU_REG_EDX]);
	}
	return 0;
}

unsigned int cpu_template_apply_msrs(const struct cpu_template *t, struct kvm_msr_entry *entries,
				     unsigned int n)
{
	unsigned int missing = 0;

	for (unsigned int i = 0; i < t->nmsrs; i++) {
		const struct cpu_msr_mod *m = &t->msrs[i];
		bool found = false;
		for (unsigned int j = 0; j < n; j++) {
			if (entries[j].index != m->addr)
				continue;
			entries[j].data = (entries[j].data & ~m->mask) | (m->value & m->mask);
			found = true;
		}
		missing += !found;
	}
	return missing;
}
