// SPDX-License-Identifier: Apache-2.0
/* vcpu_state.c: a vCPU's KVM state out of one VM and into another. */
#include "vcpu_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vcpu.h"
#include "vm.h"

#define MSR_IA32_TSC	      0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* A struct kvm_msrs with room for a whole state's worth of entries. */
struct msr_block {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entries[VCPU_STATE_MAX_MSRS];
};

/* A struct kvm_cpuid2 with room for a whole state's worth of leaves. */
struct cpuid_block {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 entries[VCPU_STATE_MAX_CPUID];
};

int vcpu_saveable_msrs(int kvm_fd, uint32_t *indices, unsigned int max)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t indices[VCPU_STATE_MAX_MSRS];
	} list = {.hdr.nmsrs = VCPU_STATE_MAX_MSRS};

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
		return -errno;
	unsigned int n = 0;
	bool deadline = false;
	for (uint32_t i = 0; i < list.hdr.nmsrs && n < max; i++) {
		if (list.indices[i] == MSR_IA32_TSC_DEADLINE)
			deadline = true; /* goes last, see the header */
		else
			indices[n++] = list.indices[i];
	}
	if (deadline && n < max)
		indices[n++] = MSR_IA32_TSC_DEADLINE;
	return (int)n;
}

static int fail(char *err, size_t errsz, unsigned int index, const char *what, int e)
{
	snprintf(err, errsz, "vcpu %u: %s: %s", index, what, strerror(e));
	return -e;
}

/* get: one KVM_GET_* ioctl on the vCPU, named in the error. */
static int get(struct vcpu *vcpu, unsigned long req, void *arg, const char *name, char *err,
	       size_t errsz)
{
	if (ioctl(vcpu->fd, req, arg) < 0)
		return fail(err, errsz, vcpu->index, name, errno);
	return 0;
}

static bool has_cap(const struct vcpu *vcpu, int cap)
{
	return ioctl(vcpu->vm->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

/*
 * save_msrs: read (indices) into st->msrs. KVM_GET_MSRS stops at the first
 * MSR it cannot read and says how many it did; that one is dropped and the
 * rest read again, so the state holds every MSR this vCPU can give.
 */
static int save_msrs(struct vcpu *vcpu, const uint32_t *indices, unsigned int nmsrs,
		     struct vcpu_state *st, char *err, size_t errsz)
{
	struct msr_block *b = calloc(1, sizeof(*b));
	unsigned int n = 0; /* MSRs still to read, at the front of b->entries */

	if (b == NULL)
		return fail(err, errsz, vcpu->index, "MSRs", ENOMEM);
	for (unsigned int i = 0; i < nmsrs && i < VCPU_STATE_MAX_MSRS; i++)
		b->entries[n++].index = indices[i];
	while (n > 0) {
		b->hdr.nmsrs = n;
		int got = ioctl(vcpu->fd, KVM_GET_MSRS, b);
		if (got < 0) {
			free(b);
			return fail(err, errsz, vcpu->index, "KVM_GET_MSRS", errno);
		}
		for (int i = 0; i < got; i++)
			st->msrs[st->nmsrs++] = b->entries[i];
		unsigned int skip = (unsigned int)got + 1; /* the one KVM refused */
		if (skip >= n)
			break;
		memmove(b->entries, b->entries + skip, (n - skip) * sizeof(b->entries[0]));
		n -= skip;
	}
	free(b);
	return 0;
}

static int save_cpuid(struct vcpu *vcpu, struct vcpu_state *st, char *err, size_t errsz)
{
	struct cpuid_block *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return fail(err, errsz, vcpu->index, "CPUID", ENOMEM);
	b->hdr.nent = VCPU_STATE_MAX_CPUID;
	int ret = get(vcpu, KVM_GET_CPUID2, b, "KVM_GET_CPUID2", err, errsz);
	if (ret == 0) {
		st->ncpuid = b->hdr.nent;
		memcpy(st->cpuid, b->entries, b->hdr.nent * sizeof(b->entries[0]));
	}
	free(b);
	return ret;
}

int vcpu_state_save(struct vcpu *vcpu, const uint32_t *msrs, unsigned int nmsrs,
		    struct vcpu_state *st, char *err, size_t errsz)
{
	int ret;

	memset(st, 0, sizeof(*st));
	st->index = vcpu->index;
	ret = get(vcpu, KVM_GET_REGS, &st->regs, "KVM_GET_REGS", err, errsz);
	if (ret == 0)
		ret = get(vcpu, KVM_GET_SREGS, &st->sregs, "KVM_GET_SREGS", err, errsz);
	if (ret == 0 && has_cap(vcpu, KVM_CAP_XSAVE)) {
		st->flags |= VCPU_STATE_HAS_XSAVE;
		ret = get(vcpu, KVM_GET_XSAVE, &st->xsave, "KVM_GET_XSAVE", err, errsz);
	} else if (ret == 0) {
		ret = get(vcpu, KVM_GET_FPU, &st->fpu, "KVM_GET_FPU", err, errsz);
	}
	if (ret == 0 && has_cap(vcpu, KVM_CAP_XCRS)) {
		st->flags |= VCPU_STATE_HAS_XCRS;
		ret = get(vcpu, KVM_GET_XCRS, &st->xcrs, "KVM_GET_XCRS", err, errsz);
	}
	if (ret == 0 && has_cap(vcpu, KVM_CAP_DEBUGREGS)) {
		st->flags |= VCPU_STATE_HAS_DEBUGREGS;
		ret = get(vcpu, KVM_GET_DEBUGREGS, &st->debugregs, "KVM_GET_DEBUGREGS", err, errsz);
	}
	if (ret == 0)
		ret = get(vcpu, KVM_GET_LAPIC, &st->lapic, "KVM_GET_LAPIC", err, errsz);
	if (ret == 0)
		ret =
		    get(vcpu, KVM_GET_VCPU_EVENTS, &st->events, "KVM_GET_VCPU_EVENTS", err, errsz);
	if (ret == 0)
		ret = get(vcpu, KVM_GET_MP_STATE, &st->mp_state, "KVM_GET_MP_STATE", err, errsz);
	if (ret == 0)
		ret = save_msrs(vcpu, msrs, nmsrs, st, err, errsz);
	if (ret == 0)
		ret = save_cpuid(vcpu, st, err, errsz);
	return ret;
}

/* set: one KVM_SET_* ioctl on the vCPU, named in the error. */
static int set(struct vcpu *vcpu, unsigned long req, const void *arg, const char *name, char *err,
	       size_t errsz)
{
	if (ioctl(vcpu->fd, req, arg) < 0)
		return fail(err, errsz, vcpu->index, name, errno);
	return 0;
}

/* check: the parts of a state from a file that ember itself indexes by. */
static int check(const struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errsz)
{
	if (st->index != vcpu->index)
		snprintf(err, errsz, "vcpu %u: the state is vCPU %u's", vcpu->index, st->index);
	else if ((st->flags & ~VCPU_STATE_KNOWN_FLAGS) != 0)
		snprintf(err, errsz, "vcpu %u: unknown flags 0x%x", vcpu->index,
			 st->flags & ~VCPU_STATE_KNOWN_FLAGS);
	else if (st->nmsrs > VCPU_STATE_MAX_MSRS)
		snprintf(err, errsz, "vcpu %u: %u MSRs, at most %d", vcpu->index, st->nmsrs,
			 VCPU_STATE_MAX_MSRS);
	else if (st->ncpuid == 0 || st->ncpuid > VCPU_STATE_MAX_CPUID)
		snprintf(err, errsz, "vcpu %u: %u CPUID leaves, need 1 to %d", vcpu->index,
			 st->ncpuid, VCPU_STATE_MAX_CPUID);
	else if ((st->flags & VCPU_STATE_HAS_XSAVE) && !has_cap(vcpu, KVM_CAP_XSAVE))
		snprintf(err, errsz, "vcpu %u: the state has XSAVE, this host's KVM does not",
			 vcpu->index);
	else
		return 0;
	return -EINVAL;
}

static int restore_cpuid(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errsz)
{
	struct cpuid_block *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return fail(err, errsz, vcpu->index, "CPUID", ENOMEM);
	b->hdr.nent = st->ncpuid;
	memcpy(b->entries, st->cpuid, st->ncpuid * sizeof(b->entries[0]));
	int ret = set(vcpu, KVM_SET_CPUID2, b, "KVM_SET_CPUID2", err, errsz);
	free(b);
	return ret;
}

static int restore_msrs(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errsz)
{
	struct msr_block *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return fail(err, errsz, vcpu->index, "MSRs", ENOMEM);
	b->hdr.nmsrs = st->nmsrs;
	memcpy(b->entries, st->msrs, st->nmsrs * sizeof(b->entries[0]));
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, b);
	int ret = 0;
	if (n < 0)
		ret = fail(err, errsz, vcpu->index, "KVM_SET_MSRS", errno);
	else if ((uint32_t)n < st->nmsrs) {
		snprintf(err, errsz, "vcpu %u: KVM_SET_MSRS: KVM refused MSR 0x%x = 0x%llx",
			 vcpu->index, st->msrs[n].index, (unsigned long long)st->msrs[n].data);
		ret = -EINVAL;
	}
	free(b);
	return ret;
}

int vcpu_state_restore(struct vcpu *vcpu, const struct vcpu_state *st, char *err, size_t errsz)
{
	int ret = check(vcpu, st, err, errsz);

	if (ret == 0)
		ret = restore_cpuid(vcpu, st, err, errsz);
	if (ret == 0)
		ret = set(vcpu, KVM_SET_MP_STATE, &st->mp_state, "KVM_SET_MP_STATE", err, errsz);
	if (ret == 0)
		ret = set(vcpu, KVM_SET_REGS, &st->regs, "KVM_SET_REGS", err, errsz);
	/* Special registers before the APIC: they carry its base address. */
	if (ret == 0)
		ret = set(vcpu, KVM_SET_SREGS, &st->sregs, "KVM_SET_SREGS", err, errsz);
	if (ret == 0 && (st->flags & VCPU_STATE_HAS_XSAVE))
		ret = set(vcpu, KVM_SET_XSAVE, &st->xsave, "KVM_SET_XSAVE", err, errsz);
	else if (ret == 0)
		ret = set(vcpu, KVM_SET_FPU, &st->fpu, "KVM_SET_FPU", err, errsz);
	if (ret == 0 && (st->flags & VCPU_STATE_HAS_XCRS))
		ret = set(vcpu, KVM_SET_XCRS, &st->xcrs, "KVM_SET_XCRS", err, errsz);
	if (ret == 0 && (st->flags & VCPU_STATE_HAS_DEBUGREGS))
		ret = set(vcpu, KVM_SET_DEBUGREGS, &st->debugregs, "KVM_SET_DEBUGREGS", err, errsz);
	if (ret == 0)
		ret = set(vcpu, KVM_SET_LAPIC, &st->lapic, "KVM_SET_LAPIC", err, errsz);
	/* MSRs after the APIC: the TSC deadline is armed against the restored timer. */
	if (ret == 0)
		ret = restore_msrs(vcpu, st, err, errsz);
	if (ret == 0) {
		/* Pending NMI and SIPI are set only when the flags say the values are meant. */
		struct kvm_vcpu_events ev = st->events;
		ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
		ret = set(vcpu, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS", err, errsz);
	}
	return ret;
}

int vm_clock_save(struct vm *vm, struct vm_clock_state *st, char *err, size_t errsz)
{
	struct kvm_clock_data data = {0};

	memset(st, 0, sizeof(*st));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &data) < 0) {
		int e = errno;
		snprintf(err, errsz, "vm: KVM_GET_CLOCK: %s", strerror(e));
		return -e;
	}
	st->clock = data.clock;
	st->flags = data.flags;
	return 0;
}

int vm_clock_restore(struct vm *vm, const struct vm_clock_state *st, char *err, size_t errsz)
{
	/* Only the clock value: the host-time fields of a saved read mean nothing here. */
	struct kvm_clock_data data = {.clock = st->clock};

	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &data) < 0) {
		int e = errno;
		snprintf(err, errsz, "vm: KVM_SET_CLOCK: %s", strerror(e));
		return -e;
	}
	return 0;
}
