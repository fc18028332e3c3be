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

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
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
		if (seccomp_install(kind, NULL) != 0)
			_exit(1);
		body();
		/* Raw exit: sanitizer runtimes hook _exit with syscalls of their own. */
		syscall(SYS_exit_group, CHILD_OK);
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
/* What PATCH /drives needs on the VMM thread: open an existing file, close-on-exec. */
static void do_open_existing(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
}
static void do_open_create(void)
{
	syscall(SYS_openat, AT_FDCWD, "/tmp/ember-seccomp-must-not-exist",
		O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}
static void do_open_truncate(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_WRONLY | O_TRUNC | O_CLOEXEC);
}
/* What a snapshot commit needs on the VMM thread (snap_file.c), in a scratch directory. */
static char snap_dir[] = "/tmp/ember-seccomp-snap.XXXXXX";
static char snap_tmp[64], snap_file[64];
static void do_open_create_excl(void)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, snap_tmp,
			      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	syscall(SYS_fsync, fd);
	syscall(SYS_close, fd);
	syscall(SYS_rename, snap_tmp, snap_file);
}
static void do_unlink(void)
{
	syscall(SYS_unlink, snap_file);
}
static void do_open_create_excl_truncate(void)
{
	syscall(SYS_openat, AT_FDCWD, snap_tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC,
		0600);
}
static void do_open_create_excl_rdwr(void)
{
	syscall(SYS_openat, AT_FDCWD, snap_tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
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
	assert_killed(run_confined(SECCOMP_THREAD_VCPU, do_open_existing));
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
	/* The VMM may reopen a disk (PATCH /drives), never truncate; create only with O_EXCL. */
	assert_ok(run_confined(SECCOMP_THREAD_VMM, do_open_existing));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_open_create));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_open_truncate));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_openat)); /* without O_CLOEXEC */
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_execve));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_socket));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_mmap_exec));
}

/* A snapshot commit may create a new file exclusively, sync, rename and unlink; nothing more. */
static void test_vmm_filter_snapshot(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(snap_dir));
	snprintf(snap_tmp, sizeof(snap_tmp), "%s/vm.tmp", snap_dir);
	snprintf(snap_file, sizeof(snap_file), "%s/vm", snap_dir);
	assert_ok(run_confined(SECCOMP_THREAD_VMM, do_open_create_excl));
	/* Each step did its work: created, then renamed. */
	assert_int_equal(access(snap_tmp, F_OK), -1);
	assert_int_equal(access(snap_file, F_OK), 0);
	assert_ok(run_confined(SECCOMP_THREAD_VMM, do_unlink));
	assert_int_equal(access(snap_file, F_OK), -1);
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_open_create_excl_truncate));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_open_create_excl_rdwr));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_open_create));
	assert_killed(run_confined(SECCOMP_THREAD_VMM, do_open_truncate));
	assert_int_equal(rmdir(snap_dir), 0);
}

static void test_unknown_kind(void **state)
{
	(void)state;
	assert_int_equal(seccomp_install((enum seccomp_thread)99, NULL), -22 /* EINVAL */);
	assert_int_equal(seccomp_install(SECCOMP_THREAD_USER, NULL), -22);
}

/* A user filter: kill on getppid, allow the rest (instead of ember's lists). */
static const struct sock_filter kill_getppid[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct seccomp_prog user_prog;

static void do_getppid(void)
{
	syscall(SYS_getppid);
}

static int run_user(void (*body)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		if (seccomp_install(SECCOMP_THREAD_VCPU, &user_prog) != 0)
			_exit(1);
		body();
		syscall(SYS_exit_group, CHILD_OK);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_user_filter_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/ember-seccomp.XXXXXX";
	char path[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/filter.bpf", dir);
	write_file(path, kill_getppid, sizeof(kill_getppid));
	assert_int_equal(seccomp_read_filter(path, &user_prog, NULL), 0);
	assert_int_equal(user_prog.len, 4);
	/* The user's program replaces ember's: openat is allowed, getppid kills. */
	assert_ok(run_user(do_openat));
	assert_killed(run_user(do_getppid));
	seccomp_free_filter(&user_prog);

	/* Not a program: empty, a partial instruction, missing. */
	write_file(path, "", 0);
	assert_int_equal(seccomp_read_filter(path, &user_prog, NULL), -EINVAL);
	write_file(path, kill_getppid, sizeof(kill_getppid) - 3);
	assert_int_equal(seccomp_read_filter(path, &user_prog, NULL), -EINVAL);
	unlink(path);
	assert_int_equal(seccomp_read_filter(path, &user_prog, NULL), -ENOENT);
	assert_null(user_prog.insns);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_filter),
		cmocka_unit_test(test_vmm_filter),
		cmocka_unit_test(test_vmm_filter_snapshot),
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_user_filter_file),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
