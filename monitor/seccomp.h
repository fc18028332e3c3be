/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.h: each ember thread confines itself before it runs guest code or
 * serves events. The allow-lists live in seccomp_gen.c and are compiled to
 * BPF at build time; a syscall outside its thread's list kills the process.
 */
#ifndef EMBER_SECCOMP_H
#define EMBER_SECCOMP_H

#include <linux/filter.h>

#include "ember_err.h"

enum seccomp_thread {
	SECCOMP_THREAD_VMM,  /* the main thread: event loop, devices, teardown */
	SECCOMP_THREAD_VCPU, /* a vCPU thread: KVM_RUN and its exits */
	SECCOMP_THREAD_USER, /* internal: the user's filter, for every thread */
};

/* A user-supplied filter (--seccomp-filter): raw struct sock_filter words. */
struct seccomp_prog {
	struct sock_filter *insns;
	unsigned short len;
};

/*
 * seccomp_read_filter: read a raw BPF program (an array of struct
 * sock_filter, at most BPF_MAXINSNS) from (path) into (prog), before any
 * filter is live. Returns 0 or -errno, (err) saying why and naming the file.
 */
int seccomp_read_filter(const char *path, struct seccomp_prog *prog, struct ember_err *err);

/* seccomp_free_filter: release what seccomp_read_filter allocated. */
void seccomp_free_filter(struct seccomp_prog *prog);

/*
 * seccomp_install: set no_new_privs and load a filter on the calling thread
 * only (threads created later inherit it): (user) when not NULL, as
 * Firecracker's --seccomp-filter does for every thread, else ember's own
 * for (kind). Returns 0 or -errno.
 */
int seccomp_install(enum seccomp_thread kind, const struct seccomp_prog *user);

#endif /* EMBER_SECCOMP_H */
