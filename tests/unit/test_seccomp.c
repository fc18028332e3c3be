// SPDX-License-Identifier: Apache-2.0
/*
 * test_seccomp.c: each thread kind's filter, loaded in a forked child: an
 * allowed syscall succeeds, a forbidden one kills the process with SIGSYS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "seccomp.h"

#define CHILD_OK 42

/* run_confined: in a child, install (kind), run (body); return its wait status. */
static int run_confined(enum seccomp_thread kind, void (*body)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		if (seccomp_install(kind) != 0)
			_exit(1);
		body();
		_exit(CHILD_OK);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_ok(int status)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_OK);
}

static void assert_killed(int status)
{
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void do_getpid(void)
{
	syscall(SYS_getpid);
}
static void do_openat(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
}
static void do_execve(void)
{
	char *argv[] = {"/bin/true", NULL};
	syscall(SYS_execve, "/bin/true", argv, NULL);
}
static void do_socket(void)
{
	syscall(SYS_socket, 2 /* AF_INET */, 1, 0);
}
static void do_mmap_exec(void)
{
	syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
static void do_mmap_rw(void)
{
	syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
static void do_kvm_run(void)
{
	syscall(SYS_ioctl, -1, KVM_RUN, 0); /* EBADF if allowed, SIGSYS if not */
}
static void do_kvm_create_vm(void)
{
	syscall(SYS_ioctl, -1, KVM_CREATE_VM, 0);
}
static void do_tcgets(void)
{
	struct termios t;
	syscall(SYS_ioctl, -1, TCGETS, &t);
}
static void do_epoll_wait(void)
{
	syscall(SYS_epoll_wait, -1, NULL, 1, 0);
}

static void test_vcpu_filter(void **state)
{
	(void)state;
	assert_ok(run_confined(SECCOMP_THREAD_VCPU, do_getpid));
	assert_ok(run_confined(SECCOMP_THREAD_VCPU, do_kvm_run));
	assert_ok(run_confined(SECCOMP_THREAD_VCPU, do_mmap_rw));
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_openat));
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_execve));
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_mmap_exec));
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_kvm_create_vm));
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_epoll_wait));
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_tcgets));
}

static void test_vmm_filter(void **state)
{
	(void)state;
	assert_ok(run_confined(SECCOMP_THREAD_VMM, do_getpid));
	assert_ok(run_confined(SECCOMP_THREAD_VMM, do_epoll_wait));
	assert_ok(run_confined(SECCOMP_THREAD_VMM, do_tcgets));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_kvm_run));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_openat));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_execve));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_socket));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_mmap_exec));
}

static void test_unknown_kind(void **state)
{
	(void)state;
	assert_int_equal(seccomp_install((enum seccomp_thread)99), -22 /* EINVAL */);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_filter),
		cmocka_unit_test(test_vmm_filter),
		cmocka_unit_test(test_unknown_kind),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
