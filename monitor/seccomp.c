// SPDX-License-Identifier: Apache-2.0
/* seccomp.c: load the build-time filters (see seccomp_gen.c). */
#include "seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_filters.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int seccomp_install(enum seccomp_thread kind)
{
	struct sock_fprog prog;

	switch (kind) {
	case SECCOMP_THREAD_VMM:
		prog = (struct sock_fprog){ARRAY_LEN(seccomp_vmm_insns),
					   (struct sock_filter *)seccomp_vmm_insns};
		break;
	case SECCOMP_THREAD_VCPU:
		prog = (struct sock_fprog){ARRAY_LEN(seccomp_vcpu_insns),
					   (struct sock_filter *)seccomp_vcpu_insns};
		break;
	default:
		return -EINVAL;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Raw syscall: glibc has no wrapper, and no flags means this thread only. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
