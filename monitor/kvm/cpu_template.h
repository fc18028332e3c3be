/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_template.h: CPU templates, Firecracker's way of shaping what a vCPU
 * reports: bit masks over CPUID registers and MSR values, plus KVM
 * capabilities the host must have.
 *
 * A template is plain data (no KVM here, so the configuration model can
 * hold one): a static template is one of Firecracker's named x86_64 sets
 * (C3, T2, T2S, T2CL for Intel hosts, T2A for AMD ones), a custom template
 * what PUT /cpu-config or the config file's "cpu-config" gave. Each
 * modifier says, per register bit, "set to 0", "set to 1" or "keep" (x);
 * the bits it sets are (mask), their values (value): applied to a register
 * r it gives (r & ~mask) | value.
 *
 * The parsers of the template's string forms (bitmaps "0b01x...", numbers
 * "0x1f"/"0b101") live here too, so every interface reads them alike.
 */
#ifndef EMBER_CPU_TEMPLATE_H
#define EMBER_CPU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_cpuid2;
struct kvm_msr_entry;

/* Bounds of a custom template (KVM itself lists at most 256 CPUID entries). */
#define CPU_TEMPLATE_MAX_LEAVES 256
#define CPU_TEMPLATE_MAX_MSRS	256
#define CPU_TEMPLATE_MAX_CAPS	64
#define CPU_TEMPLATE_REGS	4 /* eax, ebx, ecx, edx */
#define CPU_TEMPLATE_ERR_MAX	160

/* The CPUID output registers, in the order of their names. */
enum cpu_reg { CPU_REG_EAX, CPU_REG_EBX, CPU_REG_ECX, CPU_REG_EDX };

/* Which host CPU vendor a template is written for. */
enum cpu_vendor { CPU_VENDOR_ANY, CPU_VENDOR_INTEL, CPU_VENDOR_AMD };

/*
 * Which template a machine uses: none, one of the static ones, or the
 * custom one held beside it. The static ids are in Firecracker's order.
 */
enum cpu_template_id {
	CPU_TEMPLATE_NONE,
	CPU_TEMPLATE_C3,
	CPU_TEMPLATE_T2,
	CPU_TEMPLATE_T2S,
	CPU_TEMPLATE_T2CL,
	CPU_TEMPLATE_T2A,
	CPU_TEMPLATE_CUSTOM,
};

/* One CPUID leaf/subleaf's modifiers: per register, the bits set and their values. */
struct cpu_leaf_mod {
	uint32_t leaf, subleaf;
	uint32_t flags; /* KVM_CPUID_FLAG_*: replaces the entry's flags */
	uint32_t mask[CPU_TEMPLATE_REGS];
	uint32_t value[CPU_TEMPLATE_REGS];
};

/* One MSR's modifier. */
struct cpu_msr_mod {
	uint32_t addr;
	uint64_t mask, value;
};

/* A KVM capability the template names: required ("N") or dropped ("!N"). */
struct cpu_cap {
	uint32_t cap;
	bool remove;
};

struct cpu_template {
	enum cpu_vendor vendor; /* CPU_VENDOR_ANY for a custom template */
	unsigned int nleaves;
	struct cpu_leaf_mod leaves[CPU_TEMPLATE_MAX_LEAVES];
	unsigned int nmsrs;
	struct cpu_msr_mod msrs[CPU_TEMPLATE_MAX_MSRS];
	unsigned int ncaps;
	struct cpu_cap caps[CPU_TEMPLATE_MAX_CAPS];
};

/* KVM_CPUID_FLAG_* bits a leaf modifier may carry (significant index, stateful, read next). */
#define CPU_TEMPLATE_FLAGS_VALID 0x7U

/*
 * cpu_template_id_by_name: a static template's name (Firecracker's: "C3",
 * "T2", "T2S", "T2CL", "T2A", or "None") -> (id). 0, or -EINVAL.
 */
int cpu_template_id_by_name(const char *name, enum cpu_template_id *id);

/* cpu_template_name: "None", a static template's name, or "Custom". */
const char *cpu_template_name(enum cpu_template_id id);

/*
 * cpu_template_static: fill (t) with static template (id) and its vendor.
 * -EINVAL for CPU_TEMPLATE_NONE and CPU_TEMPLATE_CUSTOM.
 */
int cpu_template_static(enum cpu_template_id id, struct cpu_template *t);

/*
 * cpu_template_parse_bitmap: Firecracker's bitmap string: an optional "0b",
 * then at most (bits) of '0', '1' and 'x' (keep), most significant first,
 * '_' ignored; bits left of the ones given are kept. (bits) is 32 or 64.
 * 0 with (*mask, *value), or -EINVAL with why in (err).
 */
int cpu_template_parse_bitmap(const char *s, unsigned int bits, uint64_t *mask, uint64_t *value,
			      char *err, size_t errsz);

/*
 * cpu_template_format_bitmap: (mask, value) as "0b" and (bits) characters
 * of 0, 1 and x. (out) needs (bits) + 3 bytes.
 */
void cpu_template_format_bitmap(uint64_t mask, uint64_t value, unsigned int bits, char *out);

/*
 * cpu_template_parse_number: Firecracker's number string, "0x" hex or "0b"
 * binary, at most (max). 0 with (*out), or -EINVAL with why in (err).
 */
int cpu_template_parse_number(const char *s, uint64_t max, uint64_t *out, char *err, size_t errsz);

/* cpu_template_parse_reg: "eax", "ebx", "ecx" or "edx" -> (reg). 0 or -EINVAL. */
int cpu_template_parse_reg(const char *s, enum cpu_reg *reg);

/* cpu_template_reg_name: "eax".."edx". */
const char *cpu_template_reg_name(enum cpu_reg reg);

/*
 * cpu_template_add_leaf_reg: add a register modifier for (leaf, subleaf)
 * with (flags) to (t): a leaf already present takes the new flags and the
 * modifier after the ones it has (applying both in turn, as Firecracker
 * applies a list). 0, or -ENOSPC when (t) holds CPU_TEMPLATE_MAX_LEAVES.
 */
int cpu_template_add_leaf_reg(struct cpu_template *t, uint32_t leaf, uint32_t subleaf,
			      uint32_t flags, enum cpu_reg reg, uint32_t mask, uint32_t value);

/* cpu_template_add_msr: likewise for an MSR. 0 or -ENOSPC. */
int cpu_template_add_msr(struct cpu_template *t, uint32_t addr, uint64_t mask, uint64_t value);

/*
 * cpu_template_vendor_of: the vendor of a KVM_GET_SUPPORTED_CPUID table
 * (leaf 0's signature), and that signature as text in (sig) (13 bytes).
 */
enum cpu_vendor cpu_template_vendor_of(const struct kvm_cpuid2 *cpuid, char sig[13]);

/*
 * cpu_template_check_vendor: whether (t) may run on the host whose KVM
 * reports (cpuid). 0, or -EINVAL with a line naming both in (err).
 */
int cpu_template_check_vendor(const struct cpu_template *t, const struct kvm_cpuid2 *cpuid,
			      char *err, size_t errsz);

/*
 * cpu_template_apply_cpuid: apply (t)'s CPUID modifiers to (cpuid): each
 * modifier's leaf/subleaf must be an entry of the table (as Firecracker, a
 * template cannot add a leaf KVM does not report). Checks every leaf before
 * it changes any. 0, or -ENOENT with the leaf named in (err).
 */
int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid2 *cpuid, char *err,
			     size_t errsz);

/*
 * cpu_template_apply_msrs: apply (t)'s MSR modifiers to the (n) (entries)
 * that carry their index; entries without a modifier are left alone.
 * Returns how many modifiers found no entry (0 when all did).
 */
unsigned int cpu_template_apply_msrs(const struct cpu_template *t, struct kvm_msr_entry *entries,
				     unsigned int n);

#endif /* EMBER_CPU_TEMPLATE_H */
