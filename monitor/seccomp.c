// SPDX-License-Identifier: Apache-2.0
/* seccomp.c: load the build-time filters (see seccomp_gen.c), or the user's. */
#include "seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_filters.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* program_for: the program a thread of (kind) loads; len 0: none. */
static struct sock_fprog program_for(enum seccomp_thread kind,
				     const struct seccomp_user_filters *user)
{
	if (user != NULL) {
		const struct seccomp_prog *p =
		    &user->prog[kind == SECCOMP_THREAD_VCPU ? SECCOMP_CAT_VCPU : SECCOMP_CAT_VMM];
		return (struct sock_fprog){p->len, p->insns};
	}
	if (kind == SECCOMP_THREAD_VCPU)
		return (struct sock_fprog){ARRAY_LEN(seccomp_vcpu_insns),
					   (struct sock_filter *)seccomp_vcpu_insns};
	return (struct sock_fprog){ARRAY_LEN(seccomp_vmm_insns),
				   (struct sock_filter *)seccomp_vmm_insns};
}

int seccomp_install(enum seccomp_thread kind, const struct seccomp_user_filters *user)
{
	if (kind != SECCOMP_THREAD_VMM && kind != SECCOMP_THREAD_VCPU)
		return -EINVAL;
	struct sock_fprog prog = program_for(kind, user);
	if (prog.len == 0)
		return 0; /* a user's empty program: Firecracker installs nothing */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Raw syscall: glibc has no wrapper, and no flags means this thread only. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
