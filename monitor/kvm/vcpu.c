// SPDX-License-Identifier: Apache-2.0
/* vcpu.c: vCPU creation, boot state, the KVM_RUN loop and exit dispatch. */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cpu_template.h"
#include "cpuid.h"
#include "exit_status.h"
#include "ioapic.h"
#include "log.h"
#include "metrics.h"
#include "pic.h"
#include "seccomp.h"
#include "vm.h"

/* Signal used only to interrupt KVM_RUN; its handler does nothing. */
#define VCPU_KICK_SIGNAL SIGUSR1
/* What a read of an MMIO address no device claims returns (an open bus). */
#define OPEN_BUS_BYTE 0xff
/*
 * What a read of a port no device claims returns: 0, as in Firecracker, whose
 * guests rely on it (a CMOS poll for update-in-progress, bit 7, then ends).
 */
#define UNCLAIMED_PORT_BYTE 0x00
/* Unclaimed MMIO accesses reported per vCPU before going quiet. */
#define UNCLAIMED_MMIO_REPORTS 8
/* A thread name's room, with its NUL (the kernel's TASK_COMM_LEN). */
#define VCPU_THREAD_NAME_MAX 16
/* While joining a stopped vCPU, how often its thread is kicked again. */
#define VCPU_REKICK_NS 20000000L
#define NSEC_PER_SEC   1000000000L

static void kick_handler(int sig)
{
	(void)sig;
}

struct vcpu *vcpu_create(struct vm *vm, unsigned int index, struct ember_err *err)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (vcpu == NULL) {
		ember_err_set(err, 0, "vcpu%u: out of memory", index);
		return NULL;
	}
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		ember_err_set(err, errno, "vcpu%u: KVM_CREATE_VCPU", index);
		free(vcpu);
		return NULL;
	}
	vcpu->run =
	    mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ember_err_set(err, errno, "vcpu%u: mmap kvm_run", index);
		close(vcpu->fd);
		free(vcpu);
		return NULL;
	}
	vm->vcpus[index] = vcpu;
	return vcpu;
}

static int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *name,
		      struct ember_err *err)
{
	if (ioctl(vcpu->fd, req, arg) < 0) {
		int e = errno;
		ember_err_set(err, e, "vcpu%u: %s", vcpu->index, name);
		return -e;
	}
	return 0;
}

/* log_template_cpuid: what the template made of the leaves it touches (debug), for vCPU 0. */
static void log_template_cpuid(const struct vcpu *vcpu, const struct cpu_template *t,
			       const struct kvm_cpuid2 *cpuid)
{
	if (vcpu->index != 0)
		return;
	for (unsigned int i = 0; i < t->nleaves; i++)
		for (uint32_t j = 0; j < cpuid->nent; j++) {
			const struct kvm_cpuid_entry2 *e = &cpuid->entries[j];
			if (e->function != t->leaves[i].leaf || e->index != t->leaves[i].subleaf)
				continue;
			log_debug("vcpu0: cpu template: CPUID 0x%x.0x%x eax=0x%x ebx=0x%x ecx=0x%x "
				  "edx=0x%x flags=0x%x",
				  e->function, e->index, e->eax, e->ebx, e->ecx, e->edx, e->flags);
		}
}

/*
 * set_cpuid: KVM's supported CPUID, normalised for this vCPU, with the
 * timing leaf, then the CPU template (tmpl, or NULL) over all of it: what
 * the template says is what the guest reads.
 */
static int set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *supported,
		     const struct cpu_template *tmpl, struct ember_err *err)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	/* Room for the timing leaf, which KVM does not list. */
	struct kvm_cpuid2 *cpuid = malloc(size + sizeof(supported->entries[0]));
	int ret, tsc_khz;

	if (cpuid == NULL) {
		ember_err_set(err, ENOMEM, "vcpu%u: CPUID", vcpu->index);
		return -ENOMEM;
	}
	memcpy(cpuid, supported, size);
	cpuid_normalise(cpuid, vcpu->index, vcpu->vm->nvcpus);
	/* KVM_GET_TSC_KHZ: the guest's TSC rate; without it, no timing leaf. */
	tsc_khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz > 0)
		cpuid_add_timing(cpuid, (uint32_t)tsc_khz, CPUID_APIC_BUS_KHZ);
	if (tmpl != NULL) {
		char why[CPU_TEMPLATE_ERR_MAX];
		if (cpu_template_apply_cpuid(tmpl, cpuid, why, sizeof(why)) < 0) {
			ember_err_set(err, 0, "vcpu%u: CPU template: %s", vcpu->index, why);
			free(cpuid);
			return -EINVAL;
		}
		log_template_cpuid(vcpu, tmpl, cpuid);
	}
	ret = vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2", err);
	free(cpuid);
	return ret;
}

/* template_msr: whether (t) modifies MSR (index). */
static bool template_msr(const struct cpu_template *t, uint32_t index)
{
	for (unsigned int i = 0; t != NULL && i < t->nmsrs; i++)
		if (t->msrs[i].addr == index)
			return true;
	return false;
}

/* msrs_rw: KVM_GET_MSRS or KVM_SET_MSRS of (b); all done, or -EINVAL naming the MSR KVM refused. */
static int msrs_rw(struct vcpu *vcpu, unsigned long req, const char *name, struct kvm_msrs *b,
		   struct ember_err *err)
{
	int n = ioctl(vcpu->fd, req, b);

	if (n < 0) {
		int e = errno;
		ember_err_set(err, e, "vcpu%u: %s", vcpu->index, name);
		return -e;
	}
	if ((uint32_t)n < b->nmsrs && req == KVM_GET_MSRS)
		ember_err_set(err, 0,
			      "vcpu%u: CPU template: MSR 0x%x is not supported by KVM on this host",
			      vcpu->index, b->entries[n].index);
	else if ((uint32_t)n < b->nmsrs)
		ember_err_set(err, 0, "vcpu%u: CPU template: KVM refused 0x%llx for MSR 0x%x",
			      vcpu->index, (unsigned long long)b->entries[n].data,
			      b->entries[n].index);
	if ((uint32_t)n < b->nmsrs)
		return -EINVAL;
	return 0;
}

/*
 * set_template_msrs: the MSRs (t) modifies beyond the boot set: KVM's own
 * value (KVM_GET_MSRS, after KVM_SET_CPUID2: some follow CPUID) with the
 * template's bits over it. An MSR KVM does not know is an error, as in
 * Firecracker.
 */
static int set_template_msrs(struct vcpu *vcpu, const struct cpu_template *t, struct ember_err *err)
{
	struct kvm_msr_entry boot[X86_BOOT_MSRS];
	struct kvm_msrs *b = calloc(1, sizeof(*b) + t->nmsrs * sizeof(b->entries[0]));
	int ret = 0;

	if (b == NULL) {
		ember_err_set(err, ENOMEM, "vcpu%u: CPU template MSRs", vcpu->index);
		return -ENOMEM;
	}
	x86_boot_msrs(boot);
	for (unsigned int i = 0; i < t->nmsrs; i++) {
		bool in_boot = false;
		for (int j = 0; j < X86_BOOT_MSRS; j++)
			in_boot = in_boot || boot[j].index == t->msrs[i].addr;
		if (!in_boot)
			b->entries[b->nmsrs++].index = t->msrs[i].addr;
	}
	if (b->nmsrs > 0)
		ret = msrs_rw(vcpu, KVM_GET_MSRS, "KVM_GET_MSRS", b, err);
	if (ret == 0 && b->nmsrs > 0) {
		cpu_template_apply_msrs(t, b->entries, b->nmsrs);
		ret = msrs_rw(vcpu, KVM_SET_MSRS, "KVM_SET_MSRS", b, err);
	}
	for (uint32_t i = 0; ret == 0 && vcpu->index == 0 && i < b->nmsrs; i++)
		log_debug("vcpu0: cpu template: MSR 0x%x = 0x%llx", b->entries[i].index,
			  (unsigned long long)b->entries[i].data);
	free(b);
	return ret;
}

static int set_msrs(struct vcpu *vcpu, const struct cpu_template *tmpl, struct ember_err *err)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[X86_BOOT_MSRS];
	} msrs = {.hdr.nmsrs = X86_BOOT_MSRS};

	x86_boot_msrs(msrs.entries);
	if (tmpl != NULL)
		cpu_template_apply_msrs(tmpl, msrs.entries, X86_BOOT_MSRS);
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (n < 0) {
		int e = errno;
		ember_err_set(err, e, "vcpu%u: KVM_SET_MSRS", vcpu->index);
		return -e;
	}
	if (n != X86_BOOT_MSRS && template_msr(tmpl, msrs.entries[n].index)) {
		ember_err_set(err, 0, "vcpu%u: CPU template: KVM refused 0x%llx for MSR 0x%x",
			      vcpu->index, (unsigned long long)msrs.entries[n].data,
			      msrs.entries[n].index);
		return -EINVAL;
	}
	if (n != X86_BOOT_MSRS)
		log_warn("vcpu%u: KVM_SET_MSRS: KVM refused MSR 0x%x", vcpu->index,
			 msrs.entries[n].index);
	return tmpl != NULL ? set_template_msrs(vcpu, tmpl, err) : 0;
}

static int set_lapic(struct vcpu *vcpu, struct ember_err *err)
{
	struct kvm_lapic_state lapic;
	int ret = vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC", err);

	if (ret < 0)
		return ret;
	x86_lapic_lints(&lapic);
	return vcpu_ioctl(vcpu, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", err);
}

static int set_boot_registers(struct vcpu *vcpu, const struct vcpu_boot *boot,
			      struct ember_err *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret = vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", err);

	if (ret < 0)
		return ret;
	x86_boot_sregs(&sregs, boot->mode);
	ret = vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", err);
	if (ret < 0)
		return ret;
	x86_boot_regs(&regs, boot->mode, boot->entry, boot->boot_info);
	return vcpu_ioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS", err);
}

int vcpu_configure(struct vcpu *vcpu, const struct kvm_cpuid2 *supported,
		   const struct cpu_template *tmpl, const struct vcpu_boot *boot,
		   struct ember_err *err)
{
	struct kvm_fpu fpu;
	int ret;

	ret = set_cpuid(vcpu, supported, tmpl, err);
	if (ret < 0)
		return ret;
	ret = set_msrs(vcpu, tmpl, err);
	if (ret < 0)
		return ret;
	x86_boot_fpu(&fpu);
	ret = vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU", err);
	if (ret < 0)
		return ret;
	ret = set_lapic(vcpu, err);
	if (ret < 0)
		return ret;
	if (vcpu->index != 0)
		return 0;
	return set_boot_registers(vcpu, boot, err);
}

static uint64_t vcpu_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

/* counters: this vCPU's metrics, or NULL when metrics are off. */
static struct metrics_vcpu *counters(struct vcpu *vcpu)
{
	struct metrics *m = vcpu->vm->metrics;

	return m != NULL && vcpu->index < METRICS_MAX_VCPUS ? &m->now.vcpu[vcpu->index] : NULL;
}

static void count_failure(struct vcpu *vcpu)
{
	struct metrics_vcpu *c = counters(vcpu);

	if (c != NULL)
		metrics_inc(&c->failures);
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	const bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	struct metrics_vcpu *c = counters(vcpu);

	if (c != NULL)
		metrics_inc(is_write ? &c->exit_io_out : &c->exit_io_in);

	/* String I/O (rep outsb/insb) arrives as count consecutive items. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (!bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write)) {
			if (!is_write)
				memset(data, UNCLAIMED_PORT_BYTE, run->io.size);
			log_debug("vcpu%u: unclaimed port %s 0x%x", vcpu->index,
				  is_write ? "write" : "read", run->io.port);
		}
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	const uint32_t len =
	    run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : sizeof(run->mmio.data);
	struct metrics_vcpu *c = counters(vcpu);

	if (c != NULL)
		metrics_inc(run->mmio.is_write ? &c->exit_mmio_write : &c->exit_mmio_read);

	if (bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
		       run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, OPEN_BUS_BYTE, len);
	if (vcpu->unclaimed_mmio < UNCLAIMED_MMIO_REPORTS) {
		vcpu->unclaimed_mmio++;
		log_warn("vcpu%u: guest %s %u bytes at 0x%llx: no device there%s", vcpu->index,
			 run->mmio.is_write ? "wrote" : "read", len,
			 (unsigned long long)run->mmio.phys_addr,
			 vcpu->unclaimed_mmio == UNCLAIMED_MMIO_REPORTS
			     ? " (further reports suppressed)"
			     : "");
	}
}

static const char *internal_suberror(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exception during event delivery";
	default:
		return "unknown";
	}
}

static void fail_internal(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char words[128] = "";
	size_t used = 0;
	uint32_t n = run->internal.ndata;

	if (n > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		n = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	for (uint32_t i = 0; i < n && used < sizeof(words); i++) {
		int w = snprintf(words + used, sizeof(words) - used, " 0x%llx",
				 (unsigned long long)run->internal.data[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	log_error("vcpu%u: KVM_EXIT_INTERNAL_ERROR suberror %u (%s) at rip 0x%llx, data:%s",
		  vcpu->index, run->internal.suberror, internal_suberror(run->internal.suberror),
		  (unsigned long long)vcpu_rip(vcpu), n ? words : " none");
	vm_request_stop(vcpu->vm, EMBER_EXIT_INTERNAL_ERROR);
}

static void handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, EMBER_EXIT_OK);
		break;
	default:
		log_error("vcpu%u: KVM_EXIT_SYSTEM_EVENT type %u at rip 0x%llx", vcpu->index,
			  vcpu->run->system_event.type, (unsigned long long)vcpu_rip(vcpu));
		vm_request_stop(vcpu->vm, EMBER_EXIT_UNHANDLED_EXIT);
	}
}

/* dispatch: handle one exit; false when the vCPU must stop. */
static bool dispatch(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		ioapic_eoi(vcpu->vm->ioapic, run->eoi.vector);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN: /* offer_extint injects before the next run */
		return true;
	case KVM_EXIT_SHUTDOWN:
		count_failure(vcpu);
		log_error("vcpu%u: guest triple fault (KVM_EXIT_SHUTDOWN) at rip 0x%llx",
			  vcpu->index, (unsigned long long)vcpu_rip(vcpu));
		vm_request_stop(vcpu->vm, EMBER_EXIT_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		count_failure(vcpu);
		fail_internal(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		count_failure(vcpu);
		log_error("vcpu%u: KVM_EXIT_FAIL_ENTRY reason 0x%llx on host cpu %u", vcpu->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			  run->fail_entry.cpu);
		vm_request_stop(vcpu->vm, EMBER_EXIT_UNHANDLED_EXIT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		return false;
	default:
		count_failure(vcpu);
		log_error("vcpu%u: unhandled KVM exit reason %u at rip 0x%llx", vcpu->index,
			  run->exit_reason, (unsigned long long)vcpu_rip(vcpu));
		vm_request_stop(vcpu->vm, EMBER_EXIT_UNHANDLED_EXIT);
		return false;
	}
}

/*
 * offer_extint: the boot vCPU's half of the 8259's interrupt-acknowledge
 * cycle. With a split irqchip KVM's local APIC takes an external interrupt
 * only through LINT0 in ExtINT mode, from KVM_INTERRUPT, and only when
 * kvm_run says the vCPU can (IF set, LINT0 accepting, no ExtINT already
 * waiting). Until then KVM is asked to exit as soon as it can, so a pending
 * 8259 request waits no longer than the guest's own interrupt window.
 * Costs one atomic load per KVM_RUN when the 8259 is idle.
 */
static void offer_extint(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct pic *pic = vcpu->vm->pic;

	if (!pic_pending(pic)) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection && run->if_flag) {
		struct kvm_interrupt irq = {.irq = pic_ack(pic)};
		if (ioctl(vcpu->fd, KVM_INTERRUPT, &irq) < 0 && !vcpu->extint_failed) {
			vcpu->extint_failed = true;
			log_warn_errno(errno,
				       "vcpu%u: KVM_INTERRUPT vector 0x%x (8259 interrupt lost)",
				       vcpu->index, irq.irq);
		}
	}
	run->request_interrupt_window = pic_pending(pic);
}

/*
 * name_thread: "fc_vcpu N", Firecracker's name for a vCPU thread: Kata
 * Containers finds vCPU threads by it to move them into their cgroup.
 * Before the thread's seccomp filter, which has no prctl.
 */
static void name_thread(const struct vcpu *vcpu)
{
	char name[VCPU_THREAD_NAME_MAX];

	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->index);
	if (prctl(PR_SET_NAME, name) < 0)
		log_debug("vcpu%u: cannot name the thread: %s", vcpu->index, strerror(errno));
}

/* exit_needs_completion: whether KVM finishes this exit's access on the next KVM_RUN. */
static bool exit_needs_completion(uint32_t reason)
{
	return reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO;
}

/*
 * settle: a pause is asked right after a port or MMIO exit: enter KVM_RUN
 * with immediate_exit set, so KVM completes the access (the value a read
 * returned lands in its register, RIP moves past the instruction) and
 * returns EINTR without running the guest. Then the vCPU's state is whole.
 */
static void settle(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int ret = ioctl(vcpu->fd, KVM_RUN, 0);
	int e = errno;
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (ret < 0 && e != EINTR && e != EAGAIN)
		log_warn_errno(e, "vcpu%u: KVM_RUN to complete an access before pausing",
			       vcpu->index);
	vcpu->access_pending = false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t unblock;

	sigemptyset(&unblock);
	sigaddset(&unblock, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
	name_thread(vcpu);
	if (vcpu->vm->seccomp) {
		int ret = seccomp_install(SECCOMP_THREAD_VCPU, vcpu->vm->user_filter);
		if (ret < 0) {
			log_error_errno(-ret, "vcpu%u: seccomp filter", vcpu->index);
			vm_request_stop(vcpu->vm, EMBER_EXIT_HOST_ERROR);
			vm_vcpu_thread_ended(vcpu->vm);
			return NULL;
		}
	}

	/* Stamped when vCPU 0 first may run: a VM may start paused. */
	bool first = vcpu->index == 0 && vcpu->vm->startup != NULL;
	for (;;) {
		enum vm_gate next = vm_vcpu_gate(vcpu->vm, !vcpu->access_pending);
		if (next == VM_GATE_STOP)
			break;
		if (first && next == VM_GATE_RUN) {
			startup_stamp(vcpu->vm->startup, STARTUP_FIRST_RUN);
			first = false;
		}
		if (next == VM_GATE_SETTLE) {
			settle(vcpu);
			continue;
		}
		if (vcpu->index == 0 && vcpu->vm->pic != NULL)
			offer_extint(vcpu);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* Atomic: vcpu_kick sets it from another thread. */
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			log_error_errno(errno, "vcpu%u: KVM_RUN", vcpu->index);
			vm_request_stop(vcpu->vm, EMBER_EXIT_HOST_ERROR);
			break;
		}
		if (!dispatch(vcpu))
			break;
		vcpu->access_pending = exit_needs_completion(vcpu->run->exit_reason);
	}
	vm_vcpu_thread_ended(vcpu->vm);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	int ret;

	/* Process-wide and idempotent: every vCPU thread uses the same no-op handler. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	vm_vcpu_thread_started(vcpu->vm);
	/*
	 * Under the VM lock, so a kick never sees the thread running without
	 * its pthread_t: a vCPU blocked in KVM_RUN only leaves on the signal.
	 */
	pthread_mutex_lock(&vcpu->vm->lock);
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	vcpu->started = ret == 0;
	pthread_mutex_unlock(&vcpu->vm->lock);
	if (ret != 0) {
		vm_vcpu_thread_ended(vcpu->vm);
		log_error_errno(ret, "vcpu%u: pthread_create", vcpu->index);
		return -ret;
	}
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu == NULL)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vcpu->vm->lock);
	if (vcpu->started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	pthread_mutex_unlock(&vcpu->vm->lock);
}

void vcpu_join(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->vm->lock);
	bool started = vcpu->started;
	pthread_mutex_unlock(&vcpu->vm->lock);
	if (!started)
		return;
	/*
	 * One kick is enough by the protocol above, but a wake-up lost in a
	 * host kernel (seen once under heavy load, never reproduced) would hang
	 * the process for good; kicking again costs nothing.
	 */
	for (;;) {
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += VCPU_REKICK_NS;
		if (deadline.tv_nsec >= NSEC_PER_SEC) {
			deadline.tv_sec++;
			deadline.tv_nsec -= NSEC_PER_SEC;
		}
		if (pthread_timedjoin_np(vcpu->thread, NULL, &deadline) != ETIMEDOUT)
			break;
		vcpu_kick(vcpu);
	}
	pthread_mutex_lock(&vcpu->vm->lock);
	vcpu->started = false;
	pthread_mutex_unlock(&vcpu->vm->lock);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu == NULL)
		return;
	munmap(vcpu->run, (size_t)vcpu->vm->run_size);
	close(vcpu->fd);
	vcpu->vm->vcpus[vcpu->index] = NULL;
	free(vcpu);
}
