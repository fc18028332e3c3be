/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup.h: the monitor's cgroup: <mount>/<parent-cgroup>/<id>, v2 or v1. */
#ifndef JAILER_CGROUP_H
#define JAILER_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "args.h"
#include "jerr.h"

#define CGROUP_CTRL_MAX 32

struct cgroup_dir {
	char mount[PATH_MAX];	/* the hierarchy's mount point */
	char path[PATH_MAX];	/* <mount>/<parent>/<id> */
	char ctrl[CGROUP_CTRL_MAX]; /* v1: a controller of this hierarchy */
	char orig[PATH_MAX];	/* the cgroup we came from, to go back on failure */
	bool cpuset;		/* v1 cpuset hierarchy: cpus/mems must be filled */
	bool made;		/* this run created the <id> directory */
	bool joined;		/* this process moved into it */
	int parent_fd;		/* O_PATH <mount>/<parent>, for rmdir after pivot_root */
	int orig_fd;		/* <orig>/cgroup.procs, opened before moving */
};

struct cgroups {
	int version;		/* 1 or 2; 0: no cgroup to make */
	const char *id;
	struct cgroup_dir dirs[ARGS_MAX_CGROUPS];	/* v1: one per hierarchy */
	size_t n_dirs;
	size_t dir_of[ARGS_MAX_CGROUPS];		/* --cgroup i lives in dirs[dir_of[i]] */
	char enable[ARGS_MAX_CGROUPS][CGROUP_CTRL_MAX];	/* v2: controllers for subtree_control */
	size_t n_enable;
};

/*
 * cgroup_plan: decide, from the mount table text (mounts, /proc/mounts
 * format), which cgroup directories (a) needs, without touching them.
 * Version: --cgroup-version, else 2 on a cgroup2-only host, else 1 when
 * --cgroup is given, else none. v2 always makes a cgroup for the VM; v1
 * makes one in each hierarchy a --cgroup file names. (exec_name) is the
 * default parent. Returns 0, or -ENOENT/-EINVAL/-ENAMETOOLONG.
 */
int cgroup_plan(struct cgroups *cg, const struct jailer_args *a, const char *exec_name,
		const char *mounts, struct jerr *e);

/*
 * cgroup_check: after cgroup_plan, on the live system: every v2 controller
 * is available at the hierarchy root, and where this process is now (for
 * moving back). Part of validation: creates nothing. Returns 0 or -errno.
 */
int cgroup_check(struct cgroups *cg, struct jerr *e);

/*
 * cgroup_setup: create the directories (v1 cpuset: fill cpus/mems from the
 * parent; v2: enable the controllers along the parent path), write every
 * --cgroup value, then move this process in. Returns 0 or -errno; what was
 * made is kept in (cg) for cgroup_undo.
 */
int cgroup_setup(struct cgroups *cg, const struct jailer_args *a, struct jerr *e);

/*
 * cgroup_undo: move back to the original cgroups and remove the <id>
 * directories this run made; works after pivot_root (it uses the fds).
 * Returns the number of directories it could not remove.
 */
int cgroup_undo(struct cgroups *cg);

/* cgroup_read_file: read all of (path) into a malloc'd string; NULL and errno on failure. */
char *cgroup_read_file(const char *path);

#endif
