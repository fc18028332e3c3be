// SPDX-License-Identifier: Apache-2.0
/* seccomp.c: load the build-time filters (see seccomp_gen.c). */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ember_err.h"
#include "seccomp_filters.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int seccomp_read_filter(const char *path, struct seccomp_prog *prog, struct ember_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	prog->insns = NULL;
	prog->len = 0;
	if (fd < 0) {
		ret = -errno;
		ember_err_set(err, -ret, "--seccomp-filter: cannot open '%s'", path);
		return ret;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    (size_t)st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ember_err_set(err, 0,
			      "--seccomp-filter: '%s' is not a BPF program of 1 to %d instructions "
			      "(%zu bytes each)",
			      path, BPF_MAXINSNS, sizeof(struct sock_filter));
		close(fd);
		return -EINVAL;
	}
	prog->insns = malloc((size_t)st.st_size);
	if (prog->insns == NULL) {
		ember_err_set(err, ENOMEM, "--seccomp-filter: '%s'", path);
		close(fd);
		return -ENOMEM;
	}
	ssize_t n = read(fd, prog->insns, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		ember_err_set(err, 0, "--seccomp-filter: short read of '%s'", path);
		seccomp_free_filter(prog);
		return -EIO;
	}
	prog->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	return ret;
}

void seccomp_free_filter(struct seccomp_prog *prog)
{
	free(prog->insns);
	prog->insns = NULL;
	prog->len = 0;
}

int seccomp_install(enum seccomp_thread kind, const struct seccomp_prog *user)
{
	struct sock_fprog prog;

	if (user != NULL && user->len > 0)
		kind = SECCOMP_THREAD_USER;
	switch (kind) {
	case SECCOMP_THREAD_USER:
		if (user == NULL)
			return -EINVAL;
		prog = (struct sock_fprog){user->len, user->insns};
		break;
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
