/* SPDX-License-Identifier: Apache-2.0 */
/* args.h: ember-jailer's command line, parsed and validated into a struct. */
#ifndef JAILER_ARGS_H
#define JAILER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARGS_ID_MAX		64	/* Firecracker's limit on --id */
#define ARGS_MAX_CGROUPS	32	/* --cgroup given at most this often */
#define ARGS_CGROUP_FILE_MAX	64	/* "<controller>.<property>" */
#define ARGS_DEFAULT_BASE	"/srv/jailer"
#define ARGS_DEFAULT_NOFILE	2048	/* Firecracker's default no-file */
#define ARGS_NODE_MAX		1023	/* highest NUMA node --node accepts */
#define ARGS_NODE_CPUS_MAX	256	/* a node's cpulist, e.g. "0-15,32-47" */

struct args_cgroup {
	char file[ARGS_CGROUP_FILE_MAX];	/* e.g. "cpu.max" */
	const char *value;			/* points into argv */
};

struct args_limit {
	bool set;
	uint64_t value;
};

struct jailer_args {
	const char *id;
	const char *exec_file;
	uid_t uid;
	gid_t gid;
	const char *chroot_base;	/* ARGS_DEFAULT_BASE unless given */
	const char *netns;		/* NULL: stay in the caller's netns */
	bool daemonize;
	bool new_pid_ns;
	int cgroup_version;		/* 1, 2, or 0: not given (auto) */
	const char *parent_cgroup;	/* NULL: the exec file's name */
	struct args_cgroup cgroups[ARGS_MAX_CGROUPS];
	size_t n_cgroups;
	struct args_limit fsize;
	struct args_limit nofile;
	const char *node; /* --node N (Firecracker 0.x, Kata): NULL if not given */
	char node_cpus[ARGS_NODE_CPUS_MAX]; /* its cpulist, once args_add_node read it */
	char **extra;			/* words after "--", for the monitor */
	int n_extra;
	bool version;
	bool help;
};

/*
 * args_parse: parse argv (argc words, argv[0] is the program) into (a).
 * Accepts "--flag value" and "--flag=value"; everything after "--" goes to
 * the monitor. Only syntax is checked here, never the file system: ids,
 * numbers, cgroup and limit syntax, absolute paths without "..".
 * Returns 0, or -EINVAL with a one-line reason in (err, errlen).
 * With --version or --help, required flags may be missing.
 */
int args_parse(struct jailer_args *a, int argc, char **argv, char *err, size_t errlen);

/* args_valid_id: (id) is 1..64 characters of [A-Za-z0-9-]. */
bool args_valid_id(const char *id);

/*
 * args_valid_path: (p) is non-empty, shorter than PATH_MAX, has no ".."
 * component, and is absolute if (absolute).
 */
bool args_valid_path(const char *p, bool absolute);

/*
 * args_valid_parent_cgroup: (p) is a relative path of components made of
 * [A-Za-z0-9_.:@-], none of them "." or "..", no empty component.
 */
bool args_valid_parent_cgroup(const char *p);

/*
 * args_parse_cgroup: split "<controller>.<property>=<value>" (s) into (out).
 * The file is [a-z0-9_] words joined by single dots, at least two words,
 * never one that moves processes (cgroup.procs, cgroup.threads, tasks); the
 * value is non-empty and has no newline. Returns 0 or -EINVAL.
 */
int args_parse_cgroup(const char *s, struct args_cgroup *out);

/*
 * args_parse_limit: parse "fsize=N" or "no-file=N" (s) into (a).
 * no-file must be 1..2^20 (the kernel's default fs.nr_open); fsize any
 * 64-bit number. Returns 0 or -EINVAL.
 */
int args_parse_limit(const char *s, struct jailer_args *a);

/* args_parse_id_num: decimal uid/gid (s) below 2^32-1 into (out). 0 or -EINVAL. */
int args_parse_id_num(const char *s, uint32_t *out);

/*
 * args_add_node: --node N as Firecracker's jailer had it (Kata still passes
 * it): the monitor's cpuset cgroup gets cpuset.mems=N and cpuset.cpus=the
 * node's CPUs, read from (sysfs_node_dir)/nodeN/cpulist. Appends both to
 * (a)'s --cgroup list unless the user set that file; nothing without
 * --node. Returns 0, or -errno with (err) saying why.
 */
int args_add_node(struct jailer_args *a, const char *sysfs_node_dir, char *err, size_t errlen);

/* args_exec_name: the last path component of (exec_file). */
const char *args_exec_name(const char *exec_file);

#endif
