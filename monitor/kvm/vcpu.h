/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.h: one virtual CPU: its KVM fd, shared kvm_run page and thread.
 *
 * The thread runs KVM_RUN and dispatches port I/O and MMIO exits to the
 * VM's buses; anything fatal (triple fault, emulation failure, an exit ember
 * does not handle) stops the whole VM with a documented status and one line
 * on stderr naming the vCPU, the exit reason and RIP.
 */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ember_err.h"
#include "x86_cpu.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index; /* also its APIC id */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	unsigned int unclaimed_mmio; /* warnings printed, for rate limiting */
	bool extint_failed;	     /* KVM_INTERRUPT failed once (warned) */
	bool access_pending;	     /* last exit was port/MMIO: KVM completes it on entry */
};

/* Where and how the boot vCPU starts. */
struct vcpu_boot {
	enum x86_boot_mode mode;
	uint64_t entry;
	uint64_t boot_info; /* zero page or PVH start info */
};

/*
 * vcpu_create: KVM_CREATE_VCPU (index) and map its kvm_run page. The vCPU is
 * added to vm->vcpus. Returns the vCPU, or NULL with (err) saying why.
 */
struct vcpu *vcpu_create(struct vm *vm, unsigned int index, struct ember_err *err);

struct cpu_template;

/*
 * vcpu_configure: CPUID (from (supported), normalised for this vCPU), MSRs,
 * FPU and LAPIC LINT pins for every vCPU; for vCPU 0 also the registers of
 * (boot). The others wait in KVM for INIT/SIPI from the guest, as APs do.
 * (tmpl), when not NULL, is a CPU template applied last to the CPUID and
 * the MSRs (its vendor already checked); a template KVM cannot honour (a
 * leaf or MSR it does not have) is -EINVAL, (err) naming it.
 * Call after vcpu_create, before vcpu_start. Returns 0, or -errno with
 * (err) saying which step failed.
 */
int vcpu_configure(struct vcpu *vcpu, const struct kvm_cpuid2 *supported,
		   const struct cpu_template *tmpl, const struct vcpu_boot *boot,
		   struct ember_err *err);

/* vcpu_start: start the vCPU's thread. Returns 0 or -errno. */
int vcpu_start(struct vcpu *vcpu);

/* vcpu_kick: make the vCPU leave KVM_RUN soon. Safe from any thread. */
void vcpu_kick(struct vcpu *vcpu);

/* vcpu_join: wait for the thread to end (after vm_request_stop). */
void vcpu_join(struct vcpu *vcpu);

/* vcpu_destroy: unmap and close; the thread must be joined. */
void vcpu_destroy(struct vcpu *vcpu);

#endif /* EMBER_VCPU_H */
