// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_gen.c: the monitor's seccomp policy, one allow-list per thread
 * kind, compiled to BPF at build time with libseccomp and written out as a
 * C header (seccomp_filters.h) that seccomp.c loads with seccomp(2). So
 * ember pays nothing to build filters at start-up and does not carry
 * libseccomp.
 *
 * Default action: kill the process. Each rule names who needs it.
 * Usage: seccomp_gen > seccomp_filters.h
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

/* A rule: a syscall, optionally with one argument comparison. */
struct rule {
	int nr;
	int nargs;		   /* 0 or 1 */
	struct scmp_arg_cmp arg; /* when nargs == 1 */
	const char *why;
};

#define ANY(name, why) {SCMP_SYS(name), 0, {0}, why}
#define ARG(name, cmp, why) {SCMP_SYS(name), 1, cmp, why}
#define IOCTL(req, why) ARG(ioctl, SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)(req)), why)
/* mmap/mprotect never with PROT_EXEC: no new code after start-up. */
#define NOEXEC(name, why) ARG(name, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0), why)
#define END {0, 0, {0}, NULL}

/* What every thread of ember may do. */
static const struct rule common[] = {
	ANY(read, "eventfds, stdin, timerfds"),
	ANY(write, "serial output to stdout, log lines to stderr, eventfds"),
	ANY(futex, "pthread mutexes and joins"),
	ANY(rt_sigreturn, "return from the vCPU kick signal handler"),
	ANY(rt_sigprocmask, "pthread internals"),
	ANY(exit, "thread exit"),
	ANY(exit_group, "process exit"),
	ANY(brk, "malloc"),
	NOEXEC(mmap, "malloc of large blocks"),
	NOEXEC(mprotect, "malloc arenas"),
	ANY(munmap, "free, teardown of guest memory and kvm_run pages"),
	ANY(madvise, "glibc releasing a finished thread's stack"),
	ANY(clock_gettime, "boot timer, when the vDSO is not used"),
	ANY(gettid, "pthread_kill"),
	ANY(getpid, "pthread_kill"),
	ANY(tgkill, "kick a vCPU out of KVM_RUN"),
	ANY(sched_yield, "pthread spin paths"),
	ANY(restart_syscall, "interrupted futex waits"),
	END,
};

/* The VMM thread: event loop, device emulation, teardown. */
static const struct rule vmm[] = {
    ANY(epoll_wait, "the event loop"),
    ANY(epoll_pwait, "the event loop (glibc may use pwait)"),
    ANY(epoll_ctl, "device fds (vsock connections) in and out of the loop, rearmed"),
    ANY(close, "teardown, API connections closing"),
    ANY(accept4, "API connections (the API serves from the VMM loop after boot)"),
    ANY(fstat, "stdio; PATCH /drives: the new backing file's size"),
    ANY(newfstatat, "stdio; PATCH /drives, as fstat"),
    /*
     * Only as blk_set_backing opens: O_CLOEXEC, never creating or
     * truncating (the new file must exist, as with --disk).
     */
    ARG(openat, SCMP_A2(SCMP_CMP_MASKED_EQ, O_CLOEXEC | O_CREAT | O_TRUNC, O_CLOEXEC),
	"PATCH /drives: the new backing file"),
    /*
     * Only as a snapshot's files are created (snap_writer_commit, the state
     * file; snap_memory_write, the memory file), each as a temporary copy:
     * write-only, O_CREAT with O_EXCL and never O_TRUNC, so no file that
     * exists (nor a symlink's target) is opened for writing.
     */
    ARG(openat,
	SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CLOEXEC | O_CREAT | O_EXCL | O_TRUNC,
		O_WRONLY | O_CLOEXEC | O_CREAT | O_EXCL),
	"snapshot create: the state and memory files' temporary copies"),
    ANY(fsync, "snapshot create: each file's data, then the state file's directory entry"),
    ANY(rename, "snapshot create: a complete temporary copy over the state or memory file"),
    ANY(unlink, "snapshot create: a stale temporary copy, or one a failed write left"),
    IOCTL(BLKGETSIZE64, "PATCH /drives: the size of a new block-device backing"),
    ANY(preadv, "virtio-blk reads into guest memory"),
    ANY(pwritev, "virtio-blk writes from guest memory"),
    ANY(fdatasync, "virtio-blk FLUSH"),
    ANY(getrandom, "virtio-rng; MMDS V2 session tokens"),
    ANY(readv, "virtio-net: tap to guest memory; vsock"),
    ANY(writev, "virtio-net: guest memory to tap"),
    IOCTL(TUNSETOFFLOAD, "virtio-net: the offloads the driver acked"),
    ARG(socket, SCMP_A0(SCMP_CMP_EQ, AF_UNIX), "virtio-vsock: guest connects to UDS_PATH_PORT"),
    ANY(connect, "virtio-vsock: guest-initiated connections"),
    ANY(sendmsg, "virtio-vsock: data to host sockets"),
    ANY(recvmsg, "virtio-vsock: data from host sockets"),
    ANY(shutdown, "virtio-vsock: half-close"),
    ANY(timerfd_settime, "virtio-vsock: connection timeouts; virtio rate limiters' timers"),
    ANY(io_uring_enter, "virtio-blk io_uring engine"),
    IOCTL(KVM_SIGNAL_MSI, "serial input interrupt through the IOAPIC"),
    IOCTL(KVM_SET_GSI_ROUTING, "IOAPIC route updates"),
    /* PUT /snapshot/create, on the paused VM (monitor/snapshot/). */
    IOCTL(KVM_CHECK_EXTENSION, "snapshot: which optional vCPU state the host keeps"),
    IOCTL(KVM_GET_MSR_INDEX_LIST, "snapshot: the MSRs to save"),
    IOCTL(KVM_GET_REGS, "snapshot: vCPU registers"),
    IOCTL(KVM_GET_SREGS, "snapshot: vCPU special registers"),
    IOCTL(KVM_GET_FPU, "snapshot: vCPU FPU, without XSAVE"),
    IOCTL(KVM_GET_XSAVE, "snapshot: vCPU FPU and vector state"),
    IOCTL(KVM_GET_XCRS, "snapshot: vCPU XCR0"),
    IOCTL(KVM_GET_DEBUGREGS, "snapshot: vCPU debug registers"),
    IOCTL(KVM_GET_LAPIC, "snapshot: the local APIC"),
    IOCTL(KVM_GET_VCPU_EVENTS, "snapshot: pending exceptions and interrupts"),
    IOCTL(KVM_GET_MP_STATE, "snapshot: running, halted or waiting for SIPI"),
    IOCTL(KVM_GET_MSRS, "snapshot: vCPU MSRs"),
    IOCTL(KVM_GET_CPUID2, "snapshot: the CPUID the vCPU was given"),
    IOCTL(KVM_GET_CLOCK, "snapshot: the kvmclock base"),
    IOCTL(KVM_GET_DIRTY_LOG, "snapshot: pages the vCPUs wrote since the last one (Diff)"),
    ANY(pwrite64, "snapshot: guest RAM into the memory file"),
    ANY(ftruncate, "snapshot: the memory file's length (its holes are zero pages)"),
    ARG(dup2, SCMP_A1(SCMP_CMP_LE, STDERR_FILENO),
	"a warm clone's order: the client's stdio onto 0, 1 and 2 (restore_server.h)"),
    IOCTL(TCSETS, "restore the terminal at exit; a warm clone's new terminal"),
    IOCTL(TCGETS, "isatty"),
    END,
};

/*
 * A vCPU thread: KVM_RUN and the exits it handles itself. It never runs a
 * device's data path: a QueueNotify that reaches it is handed to the VMM
 * thread through the queue's eventfd (a write), and what a register write
 * triggers (virtio activate and reset, IOAPIC, 8259, PIT and serial
 * registers, i8042 reset, the exit port) only changes state, writes eventfds and waits on
 * locks, or is listed here (DESIGN.md, "What a vCPU thread may do").
 */
static const struct rule vcpu[] = {
	IOCTL(KVM_RUN, "run the guest"),
	IOCTL(KVM_GET_REGS, "RIP for fatal exit reports"),
	IOCTL(KVM_SIGNAL_MSI, "IOAPIC delivery (serial interrupts)"),
	IOCTL(KVM_SET_GSI_ROUTING, "IOAPIC route updates when the guest programs a pin"),
	IOCTL(KVM_INTERRUPT, "the boot vCPU injects the 8259's vector (ExtINT)"),
	ANY(io_uring_enter, "a guest reset of an io_uring disk waits for its requests"),
	END,
};

static int add_rules(scmp_filter_ctx ctx, const struct rule *rules)
{
	for (const struct rule *r = rules; r->why != NULL; r++) {
		int ret = r->nargs ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1, r->arg)
				   : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
		if (ret < 0) {
			fprintf(stderr, "seccomp_gen: rule for syscall %d (%s): %s\n", r->nr, r->why,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int emit(const char *name, const struct rule *rules)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	FILE *tmp = tmpfile();
	int ret = -ENOMEM;

	if (ctx == NULL || tmp == NULL)
		goto out;
	ret = add_rules(ctx, common);
	if (ret == 0)
		ret = add_rules(ctx, rules);
	if (ret == 0)
		ret = seccomp_export_bpf(ctx, fileno(tmp));
	if (ret < 0)
		goto out;
	rewind(tmp);
	printf("static const struct sock_filter seccomp_%s_insns[] = {\n", name);
	struct sock_insn {
		unsigned short code;
		unsigned char jt, jf;
		unsigned int k;
	} insn;
	size_t n = 0;
	while (fread(&insn, sizeof(insn), 1, tmp) == 1) {
		printf("\t{0x%04x, %u, %u, 0x%08x},\n", insn.code, insn.jt, insn.jf, insn.k);
		n++;
	}
	printf("};\n\n");
	ret = n > 0 ? 0 : -EIO;
out:
	if (tmp != NULL)
		fclose(tmp);
	seccomp_release(ctx);
	return ret;
}

int main(void)
{
	printf("/* Generated by monitor/seccomp_gen.c: do not edit. */\n");
	printf("#include <linux/filter.h>\n\n");
	if (emit("vmm", vmm) < 0 || emit("vcpu", vcpu) < 0) {
		fprintf(stderr, "seccomp_gen: cannot build the filters\n");
		return 1;
	}
	return 0;
}
