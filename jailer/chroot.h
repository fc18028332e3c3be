/* SPDX-License-Identifier: Apache-2.0 */
/* chroot.h: the jail directory, the monitor's copy, pivot_root into it. */
#ifndef JAILER_CHROOT_H
#define JAILER_CHROOT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "args.h"
#include "jerr.h"

#define JAIL_MAX_MADE 16

struct jail {
	char base[PATH_MAX];	/* --chroot-base-dir, resolved */
	char dir[PATH_MAX];	/* <base>/<exec-name>/<id> */
	char root[PATH_MAX];	/* <dir>/root: becomes the monitor's / */
	const char *exec_name;	/* last component of --exec-file */
	const char *id;
	/* For cleanup, valid across pivot_root: O_PATH fds of the host dirs. */
	int execdir_fd;		/* <base>/<exec-name> */
	int iddir_fd;		/* <base>/<exec-name>/<id> */
	int root_fd;		/* <base>/<exec-name>/<id>/root */
	bool made_id_dir;
	bool made_root_dir;
	/* Entries this run created inside root, in order, relative to it. */
	struct {
		char path[32];
		bool dir;
	} made[JAIL_MAX_MADE];
	int n_made;
};

/*
 * jail_check: validation before anything exists: --exec-file is a regular,
 * executable file, --chroot-base-dir is a directory if it exists.
 * Returns 0 or -errno.
 */
int jail_check(const struct jailer_args *a, struct jerr *e);

/*
 * jail_create: make <base>/<exec-name>/<id>/root (existing directories are
 * kept, so files can be linked in beforehand) and copy --exec-file into it
 * as /<exec-name> (a copy, so the jailed monitor cannot write through to
 * the host binary; it fails if that file exists already). Fills (j).
 * Returns 0 or -errno; on failure (j) still lists what was made, for
 * jail_cleanup.
 */
int jail_create(struct jail *j, const struct jailer_args *a, struct jerr *e);

/*
 * jail_record: note that (path) (relative to the jail root) was created by
 * this run, so jail_cleanup removes it. Returns 0 or -ENOSPC.
 */
int jail_record(struct jail *j, const char *path, bool dir);

/*
 * jail_enter: new mount namespace, "/" recursively slave (nothing we mount
 * leaks to the host; host unmounts still reach us), bind-mount the jail
 * root (recursively: bind mounts the user made inside it come along),
 * pivot_root into it and detach the old root. Afterwards "/" is the jail.
 * Call after jail_create and everything that needs host paths.
 * Returns 0 or -errno.
 */
int jail_enter(struct jail *j, struct jerr *e);

/*
 * jail_write_pidfile: write (pid) to /<exec-name>.pid inside the jail
 * (after jail_enter). Returns 0 or -errno.
 */
int jail_write_pidfile(struct jail *j, pid_t pid, struct jerr *e);

/*
 * jail_cleanup: remove what this run created (recorded entries in reverse,
 * then root and <id> if they were made here), before or after jail_enter.
 * Returns the number of entries it could not remove.
 */
int jail_cleanup(struct jail *j);

#endif
