/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_file.h: the file `--seccomp-filter` names, in the format
 * Firecracker's seccompiler-bin writes, so that filters compiled for
 * Firecracker load unchanged.
 *
 * The format is bincode (fixed-width little-endian integers) of a map from
 * a thread category to a BPF program:
 *
 *   u64 entries, then per entry:
 *     u64 name length, the name's bytes ("vmm", "api" or "vcpu", any case)
 *     u64 instruction count, then that many 8-byte struct sock_filter
 *
 * As Firecracker requires, every category appears exactly once and no other
 * does, the file is at most SECCOMP_FILE_MAX bytes, and a program has at
 * most BPF_MAXINSNS instructions. An empty program means "no filter" for
 * that category's threads.
 */
#ifndef EMBER_SECCOMP_FILE_H
#define EMBER_SECCOMP_FILE_H

#include <linux/filter.h>
#include <stddef.h>

/* Firecracker's bound on the file (its deserialisation limit). */
#define SECCOMP_FILE_MAX 100000
/* Room for the one line an error is. */
#define SECCOMP_ERR_MAX 256

/* Firecracker's thread categories, in the file's words. */
enum seccomp_category {
	SECCOMP_CAT_VMM,  /* "vmm": ember's VMM thread, which also serves the API */
	SECCOMP_CAT_API,  /* "api": Firecracker's API thread; ember has none */
	SECCOMP_CAT_VCPU, /* "vcpu": each vCPU thread */
	SECCOMP_CATEGORIES,
};

/* One program (len 0: none). */
struct seccomp_prog {
	struct sock_filter *insns;
	unsigned short len;
};

/* A parsed file: one program per category. */
struct seccomp_user_filters {
	struct seccomp_prog prog[SECCOMP_CATEGORIES];
};

/* seccomp_category_name: "vmm", "api" or "vcpu". */
const char *seccomp_category_name(enum seccomp_category cat);

/*
 * seccomp_parse_filters: (buf, len), the file's bytes, into (out). 0, or
 * -EINVAL with one line in (err) saying what is wrong (and where), with
 * nothing allocated.
 */
int seccomp_parse_filters(const void *buf, size_t len, struct seccomp_user_filters *out, char *err,
			  size_t errsz);

/*
 * seccomp_read_filters: read and parse the file at (path). 0, or -errno
 * with one line in (err) (not naming the path: the caller does).
 */
int seccomp_read_filters(const char *path, struct seccomp_user_filters *out, char *err,
			 size_t errsz);

/* seccomp_free_filters: release what a parse allocated (zeroed: nothing). */
void seccomp_free_filters(struct seccomp_user_filters *f);

#endif /* EMBER_SECCOMP_FILE_H */
