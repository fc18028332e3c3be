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
#include <string.h>
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

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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
}

/* A user filter: kill on getppid, allow the rest (instead of ember's lists). */
static const struct sock_filter kill_getppid[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct seccomp_user_filters user_filters;

static void do_getppid(void)
{
	syscall(SYS_getppid);
}

static int run_user(enum seccomp_thread kind, void (*body)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		if (seccomp_install(kind, &user_filters) != 0)
			_exit(1);
		body();
		syscall(SYS_exit_group, CHILD_OK);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* A seccompiler-bin file being built: bincode of {name: [instructions]}. */
struct fc_file {
	uint8_t bytes[SECCOMP_FILE_MAX + 64];
	size_t len;
};

static void put_u64(struct fc_file *f, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		f->bytes[f->len++] = (uint8_t)(v >> (8 * i));
}

static void put_entry(struct fc_file *f, const char *name, const struct sock_filter *insns,
		      size_t n)
{
	put_u64(f, strlen(name));
	memcpy(f->bytes + f->len, name, strlen(name));
	f->len += strlen(name);
	put_u64(f, n);
	memcpy(f->bytes + f->len, insns, n * sizeof(*insns));
	f->len += n * sizeof(*insns);
}

/* fc_three: a whole file: vmm, api and vcpu with the programs given (n 0: empty). */
static void fc_three(struct fc_file *f, size_t vmm_n, size_t vcpu_n)
{
	f->len = 0;
	put_u64(f, 3);
	put_entry(f, "vmm", kill_getppid, vmm_n);
	put_entry(f, "api", kill_getppid, 0);
	put_entry(f, "vcpu", kill_getppid, vcpu_n);
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
	static struct fc_file f;
	char dir[] = "/tmp/ember-seccomp.XXXXXX";
	char path[64], err[256];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/filter.bpf", dir);
	fc_three(&f, ARRAY_LEN(kill_getppid), ARRAY_LEN(kill_getppid));
	write_file(path, f.bytes, f.len);
	assert_int_equal(seccomp_read_filters(path, &user_filters, err, sizeof(err)), 0);
	assert_int_equal(user_filters.prog[SECCOMP_CAT_VCPU].len, 4);
	assert_int_equal(user_filters.prog[SECCOMP_CAT_API].len, 0);
	/* The user's programs replace ember's: openat is allowed, getppid kills. */
	assert_ok(run_user(SECCOMP_THREAD_VCPU, do_openat));
	assert_killed(run_user(SECCOMP_THREAD_VCPU, do_getppid));
	assert_killed(run_user(SECCOMP_THREAD_VMM, do_getppid));
	seccomp_free_filters(&user_filters);

	/* An empty vcpu program: vCPU threads run unfiltered, as Firecracker's would. */
	fc_three(&f, ARRAY_LEN(kill_getppid), 0);
	write_file(path, f.bytes, f.len);
	assert_int_equal(seccomp_read_filters(path, &user_filters, err, sizeof(err)), 0);
	assert_ok(run_user(SECCOMP_THREAD_VCPU, do_getppid));
	assert_killed(run_user(SECCOMP_THREAD_VMM, do_getppid));
	seccomp_free_filters(&user_filters);

	unlink(path);
	assert_int_equal(seccomp_read_filters(path, &user_filters, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open"));
	assert_null(user_filters.prog[SECCOMP_CAT_VMM].insns);
	rmdir(dir);
}

/* refused: (f) is refused with a message containing (want), nothing kept. */
static void refused(const struct fc_file *f, const char *want)
{
	struct seccomp_user_filters out;
	char err[256] = "";

	assert_int_equal(seccomp_parse_filters(f->bytes, f->len, &out, err, sizeof(err)), -EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	for (int i = 0; i < SECCOMP_CATEGORIES; i++)
		assert_null(out.prog[i].insns);
}

static void test_filter_file_refusals(void **state)
{
	(void)state;
	static struct fc_file f, big;
	struct seccomp_user_filters out;
	char err[256];

	/* Names in any case, in any order, are Firecracker's categories. */
	f.len = 0;
	put_u64(&f, 3);
	put_entry(&f, "VCPU", kill_getppid, 1);
	put_entry(&f, "Vmm", kill_getppid, 2);
	put_entry(&f, "api", kill_getppid, 3);
	assert_int_equal(seccomp_parse_filters(f.bytes, f.len, &out, err, sizeof(err)), 0);
	assert_int_equal(out.prog[SECCOMP_CAT_VCPU].len, 1);
	assert_int_equal(out.prog[SECCOMP_CAT_VMM].len, 2);
	assert_int_equal(out.prog[SECCOMP_CAT_API].len, 3);
	seccomp_free_filters(&out);

	f.len = 0;
	refused(&f, "not a seccompiler filter file");
	/* ember's old format, a raw program, is not taken for a file. */
	memcpy(f.bytes, kill_getppid, sizeof(kill_getppid));
	f.len = sizeof(kill_getppid);
	refused(&f, "not a seccompiler filter file");

	f.len = 0;
	put_u64(&f, 2);
	put_entry(&f, "vmm", kill_getppid, 1);
	put_entry(&f, "vcpu", kill_getppid, 1);
	refused(&f, "missing thread category 'api'");

	f.len = 0;
	put_u64(&f, 3);
	put_entry(&f, "vmm", kill_getppid, 1);
	put_entry(&f, "fc_vcpu 0", kill_getppid, 1);
	refused(&f, "unknown thread category 'fc_vcpu 0'");

	f.len = 0;
	put_u64(&f, 3);
	put_entry(&f, "vmm", kill_getppid, 1);
	put_entry(&f, "VMM", kill_getppid, 1);
	refused(&f, "'vmm' appears twice");

	fc_three(&f, 1, 1);
	f.bytes[f.len++] = 0;
	refused(&f, "1 bytes after the last entry");

	fc_three(&f, 1, 4);
	f.len -= 3;
	refused(&f, "'vcpu': the file ends inside its program");

	/* A count of instructions past the kernel's limit, and a name past the end. */
	f.len = 0;
	put_u64(&f, 3);
	put_u64(&f, 3);
	memcpy(f.bytes + f.len, "vmm", 3);
	f.len += 3;
	put_u64(&f, BPF_MAXINSNS + 1);
	refused(&f, "4097 instructions");
	f.len = 0;
	put_u64(&f, 1);
	put_u64(&f, UINT64_MAX);
	refused(&f, "the file ends inside its name");
	f.len = 0;
	put_u64(&f, UINT64_MAX);
	refused(&f, "entries");

	big.len = SECCOMP_FILE_MAX + 1;
	refused(&big, "at most 100000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vcpu_filter),		cmocka_unit_test(test_vmm_filter),
	    cmocka_unit_test(test_vmm_filter_snapshot), cmocka_unit_test(test_unknown_kind),
	    cmocka_unit_test(test_user_filter_file),	cmocka_unit_test(test_filter_file_refusals),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
