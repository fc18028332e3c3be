/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu_state.h: everything KVM holds for one vCPU, read out of a paused VM
 * and written into a new one: registers, special registers, FPU/XSAVE, XCRs,
 * debug registers, the local APIC, pending events, MP state, the MSRs KVM
 * lists as saveable, and the CPUID the vCPU was given. Plus the VM's clock.
 *
 * struct vcpu_state is plain data: the snapshot stores its bytes as they
 * are, and a state read back from a file is checked by vcpu_state_restore
 * before KVM sees it (counts within their arrays, known flags only); KVM
 * checks the register values themselves and refuses what a CPU would.
 */
#ifndef EMBER_VCPU_STATE_H
#define EMBER_VCPU_STATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;
struct vm;

/* Room for the MSRs of KVM_GET_MSR_INDEX_LIST that can be read back. */
#define VCPU_STATE_MAX_MSRS 256
/* Room for the CPUID leaves the vCPU was given (KVM_GET_CPUID2). */
#define VCPU_STATE_MAX_CPUID 256

/* vcpu_state.flags: which optional parts the host offered at save. */
#define VCPU_STATE_HAS_XSAVE	 (1u << 0) /* xsave holds the FPU, else fpu does */
#define VCPU_STATE_HAS_XCRS	 (1u << 1)
#define VCPU_STATE_HAS_DEBUGREGS (1u << 2)
#define VCPU_STATE_KNOWN_FLAGS                                                                     \
	(VCPU_STATE_HAS_XSAVE | VCPU_STATE_HAS_XCRS | VCPU_STATE_HAS_DEBUGREGS)

struct vcpu_state {
	uint32_t index; /* which vCPU (its APIC id) */
	uint32_t flags;
	uint32_t nmsrs;
	uint32_t ncpuid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	uint32_t pad;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
	struct kvm_cpuid_entry2 cpuid[VCPU_STATE_MAX_CPUID];
};

/* The VM-wide part: the kvmclock base (KVM_GET_CLOCK). */
struct vm_clock_state {
	uint64_t clock; /* ns */
	uint32_t flags;
	uint32_t pad;
};

/*
 * vcpu_saveable_msrs: the MSR indices to save, read once from /dev/kvm
 * (KVM_GET_MSR_INDEX_LIST), with IA32_TSC_DEADLINE moved after IA32_TSC so
 * that a restore sets the deadline against the restored TSC. Returns the
 * count (<= max) or -errno.
 */
int vcpu_saveable_msrs(int kvm_fd, uint32_t *indices, unsigned int max);

/*
 * vcpu_state_save: read (vcpu)'s state into (st). The vCPU must be out of
 * KVM_RUN with any port or MMIO access completed (vm_pause does both).
 * (msrs, nmsrs) come from vcpu_saveable_msrs; the ones KVM refuses to read
 * for this vCPU are left out. Returns 0, or -errno after writing one line
 * into (err).
 */
int vcpu_state_save(struct vcpu *vcpu, const uint32_t *msrs, unsigned int nmsrs,
		    struct vcpu_state *st, char *err, size_t errsz);

/*
 * vcpu_state_restore: write (st) into (vcpu), created and not yet started,
 * in the order KVM needs: CPUID first, then registers, FPU, APIC, MSRs and
 * the pending events last. (st) may come from a hostile file. Returns 0, or
 * -EINVAL (bad state) / -errno (KVM refused) with one line in (err) naming
 * the part.
 */
int vcpu_state_restore(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errsz);

/* vm_clock_save / vm_clock_restore: the kvmclock base. 0 or -errno with (err). */
int vm_clock_save(struct vm *vm, struct vm_clock_state *st, char *err, size_t errsz);
int vm_clock_restore(struct vm *vm, const struct vm_clock_state *st, char *err, size_t errsz);

#endif /* EMBER_VCPU_STATE_H */
