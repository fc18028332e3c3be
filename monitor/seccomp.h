/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.h: each ember thread confines itself before it runs guest code or
 * serves events. The allow-lists live in seccomp_gen.c and are compiled to
 * BPF at build time; a syscall outside its thread's list kills the process.
 */
#ifndef EMBER_SECCOMP_H
#define EMBER_SECCOMP_H

#include "seccomp_file.h"

enum seccomp_thread {
	SECCOMP_THREAD_VMM,  /* the main thread: event loop, devices, teardown */
	SECCOMP_THREAD_VCPU, /* a vCPU thread: KVM_RUN and its exits */
};

/*
 * seccomp_install: set no_new_privs and load a filter on the calling thread
 * only (threads created later inherit it): ember's own for (kind), or, when
 * (user) is not NULL (--seccomp-filter, seccomp_file.h), the user's program
 * for the thread's category as Firecracker does: "vmm" for the VMM thread,
 * "vcpu" for a vCPU thread; an empty program installs nothing. The "api"
 * program has no thread here (ember's VMM thread serves the API) and is
 * never installed. Returns 0 or -errno.
 */
int seccomp_install(enum seccomp_thread kind, const struct seccomp_user_filters *user);

#endif /* EMBER_SECCOMP_H */
