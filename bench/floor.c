// SPDX-License-Identifier: Apache-2.0
/*
 * floor.c: the least any process on this host must do to run a guest: open
 * /dev/kvm, create a VM with one page of RAM and one vCPU, run a 16-bit guest
 * to its first port write (out 0xf4), exit with the byte written. No irqchip,
 * no threads, no libc buffering. With -t it prints, on stderr,
 * "floor: first_run_ns=<CLOCK_MONOTONIC at the first KVM_RUN>" so the bench
 * runner can take exec -> first KVM_RUN against its own clock.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	/* mov al, 0; out 0xf4, al; hlt */
	static const unsigned char code[] = {0xb0, 0x00, 0xe6, 0xf4, 0xf4};
	struct kvm_userspace_memory_region region = {.memory_size = 0x1000, .guest_phys_addr = 0x1000};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 0x2};
	struct kvm_run *run;
	struct timespec ts;
	int kvm, vm, vcpu, trace = argc > 1 && strcmp(argv[1], "-t") == 0;

	if ((kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0 ||
	    (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		return 120;
	unsigned char *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return 120;
	memcpy(mem, code, sizeof(code));
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		return 120;
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (size < 0 || run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 120;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 120;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return 120;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4 &&
		    run->io.direction == KVM_EXIT_IO_OUT)
			break;
		if (run->exit_reason != KVM_EXIT_IO)
			return 123;
	}
	if (trace)
		fprintf(stderr, "floor: first_run_ns=%lld\n",
			(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return ((unsigned char *)run)[run->io.data_offset];
}
