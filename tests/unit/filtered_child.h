/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filtered_child.h: running a test's body in a forked child under one of
 * ember's production seccomp filters, for tests/unit/test_*_paths.c. The
 * child reports a failed check by its exit status (the filter allows little
 * more than write and exit), and the parent turns a death by SIGSYS, a
 * syscall the filter lacks, into a failure that says so. Include after
 * cmocka.h.
 */
#ifndef EMBER_TEST_FILTERED_CHILD_H
#define EMBER_TEST_FILTERED_CHILD_H

#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit codes of the child (a failed check prints its line first). */
#define CHILD_OK     0
#define CHILD_FAILED 3

/* Raw exit: sanitizer runtimes hook _exit with syscalls (leak checks) no filter allows. */
#define child_exit(code) syscall(SYS_exit_group, (code))

/* CHECK: in the child, a check that ends it with CHILD_FAILED and one line. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			fflush(stderr);                                                            \
			child_exit(CHILD_FAILED);                                                  \
		}                                                                                  \
	} while (0)

/*
 * child_wait: in the parent, wait for child (pid) and fail the test unless
 * it exited with CHILD_OK; (filter) names the filter in the SIGSYS message.
 */
static inline void child_wait(pid_t pid, const char *filter)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("child killed by signal %d%s%s%s", WTERMSIG(st),
			 WTERMSIG(st) == SIGSYS ? " (a syscall outside " : "",
			 WTERMSIG(st) == SIGSYS ? filter : "", WTERMSIG(st) == SIGSYS ? ")" : "");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CHILD_OK);
}

#endif /* EMBER_TEST_FILTERED_CHILD_H */
