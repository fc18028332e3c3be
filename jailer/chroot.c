// SPDX-License-Identifier: Apache-2.0
/* chroot.c: build the jail directory, copy the monitor in, pivot_root. */
#include "chroot.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int jail_check(const struct jailer_args *a, struct jerr *e)
{
	struct stat st;

	if (stat(a->exec_file, &st))
		return jerr_set(e, -errno, "--exec-file %s", a->exec_file);
	if (!S_ISREG(st.st_mode))
		return jerr_set(e, -EINVAL, "--exec-file %s is not a regular file", a->exec_file);
	if (!(st.st_mode & 0111))
		return jerr_set(e, -EACCES, "--exec-file %s is not executable", a->exec_file);
	if (stat(a->chroot_base, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return jerr_set(e, -ENOTDIR, "--chroot-base-dir %s", a->chroot_base);
	} else if (errno != ENOENT) {
		return jerr_set(e, -errno, "--chroot-base-dir %s", a->chroot_base);
	}
	return 0;
}

int jail_record(struct jail *j, const char *path, bool dir)
{
	if (j->n_made == JAIL_MAX_MADE || strlen(path) >= sizeof(j->made[0].path))
		return -ENOSPC;
	snprintf(j->made[j->n_made].path, sizeof(j->made[0].path), "%s", path);
	j->made[j->n_made].dir = dir;
	j->n_made++;
	return 0;
}

/* mkdir -p for the base directory; existing components are fine. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int copy_file(const char *src, int dirfd, const char *name, struct jerr *e,
		     const char *dst_shown)
{
	char buf[65536];
	int in, out, rc = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return jerr_set(e, -errno, "open %s", src);
	out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (out < 0) {
		rc = jerr_set(e, -errno, "create %s", dst_shown);
		close(in);
		return rc;
	}
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf)), off = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = jerr_set(e, -errno, "read %s", src);
			break;
		}
		if (r == 0)
			break;
		while (off < r) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = jerr_set(e, -errno, "write %s", dst_shown);
				break;
			}
			off += w;
		}
		if (rc)
			break;
	}
	/* umask may have narrowed the mode: the monitor's uid needs r-x. */
	if (!rc && fchmod(out, 0755))
		rc = jerr_set(e, -errno, "chmod %s", dst_shown);
	if (close(out) && !rc)
		rc = jerr_set(e, -errno, "close %s", dst_shown);
	close(in);
	return rc;
}

int jail_create(struct jail *j, const struct jailer_args *a, struct jerr *e)
{
	char resolved[PATH_MAX];
	int rc;

	j->exec_name = args_exec_name(a->exec_file);
	j->id = a->id;

	rc = mkdir_p(a->chroot_base, 0755);
	if (rc)
		return jerr_set(e, rc, "mkdir -p %s", a->chroot_base);
	if (!realpath(a->chroot_base, resolved))
		return jerr_set(e, -errno, "realpath %s", a->chroot_base);
	if (snprintf(j->base, sizeof(j->base), "%s", resolved) >= (int)sizeof(j->base) ||
	    snprintf(j->dir, sizeof(j->dir), "%s/%s/%s",
		     strcmp(resolved, "/") ? resolved : "", j->exec_name, a->id) >= (int)sizeof(j->dir) ||
	    snprintf(j->root, sizeof(j->root), "%s/root", j->dir) >= (int)sizeof(j->root))
		return jerr_set(e, -ENAMETOOLONG, "jail path under %s", resolved);

	/* <base>/<exec-name> is shared by every jail of that binary: never removed. */
	{
		char execdir[PATH_MAX + NAME_MAX + 2];

		snprintf(execdir, sizeof(execdir), "%s/%s",
			 strcmp(resolved, "/") ? resolved : "", j->exec_name);
		if (mkdir(execdir, 0755) && errno != EEXIST)
			return jerr_set(e, -errno, "mkdir %s", execdir);
		j->execdir_fd = open(execdir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (j->execdir_fd < 0)
			return jerr_set(e, -errno, "open %s", execdir);
	}
	if (mkdirat(j->execdir_fd, a->id, 0755) == 0)
		j->made_id_dir = true;
	else if (errno != EEXIST)
		return jerr_set(e, -errno, "mkdir %s", j->dir);
	j->iddir_fd = openat(j->execdir_fd, a->id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->iddir_fd < 0)
		return jerr_set(e, -errno, "open %s", j->dir);
	if (mkdirat(j->iddir_fd, "root", 0700) == 0)
		j->made_root_dir = true;
	else if (errno != EEXIST)
		return jerr_set(e, -errno, "mkdir %s", j->root);
	j->root_fd = openat(j->iddir_fd, "root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->root_fd < 0)
		return jerr_set(e, -errno, "open %s", j->root);

	{
		char shown[PATH_MAX + 64];

		snprintf(shown, sizeof(shown), "%s/%s", j->root, j->exec_name);
		rc = copy_file(a->exec_file, j->root_fd, j->exec_name, e, shown);
		if (rc == -EEXIST)
			jerr_set(e, rc, "copy %s to %s (a jail with this id is in use or was not cleaned up)",
				 a->exec_file, shown);
		/* Unless it was there before, remove it on failure (even half-written). */
		if (rc != -EEXIST && jail_record(j, j->exec_name, false))
			return jerr_set(e, -ENOSPC, "record %s", shown);
		if (rc)
			return rc;
	}
	return 0;
}

int jail_enter(struct jail *j, struct jerr *e)
{
	if (unshare(CLONE_NEWNS))
		return jerr_set(e, -errno, "unshare(CLONE_NEWNS)");
	/* Slave, not shared: our mounts never propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return jerr_set(e, -errno, "mount / MS_SLAVE|MS_REC");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(j->root, j->root, NULL, MS_BIND | MS_REC, NULL))
		return jerr_set(e, -errno, "bind-mount %s", j->root);
	if (chdir(j->root))
		return jerr_set(e, -errno, "chdir %s", j->root);
	/* pivot_root(".", "."): the old root ends up stacked on "." (pivot_root(2)). */
	if (syscall(SYS_pivot_root, ".", "."))
		return jerr_set(e, -errno, "pivot_root %s", j->root);
	if (umount2(".", MNT_DETACH))
		return jerr_set(e, -errno, "detach the old root");
	if (chroot(".") || chdir("/"))
		return jerr_set(e, -errno, "chroot into %s", j->root);
	return 0;
}

int jail_write_pidfile(struct jail *j, pid_t pid, struct jerr *e)
{
	char name[64], text[32];
	int fd, n, rc = 0;

	snprintf(name, sizeof(name), "%s.pid", j->exec_name);
	fd = openat(j->root_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return jerr_set(e, -errno, "create %s/%s", j->root, name);
	if (jail_record(j, name, false)) {
		close(fd);
		return jerr_set(e, -ENOSPC, "record %s", name);
	}
	n = snprintf(text, sizeof(text), "%d", (int)pid);
	if (write(fd, text, (size_t)n) != n)
		rc = jerr_set(e, -EIO, "write %s/%s", j->root, name);
	if (close(fd) && !rc)
		rc = jerr_set(e, -errno, "close %s/%s", j->root, name);
	return rc;
}

int jail_cleanup(struct jail *j)
{
	int left = 0;

	if (j->root_fd < 0)
		return 0;
	for (int i = j->n_made - 1; i >= 0; i--)
		if (unlinkat(j->root_fd, j->made[i].path, j->made[i].dir ? AT_REMOVEDIR : 0) &&
		    errno != ENOENT)
			left++;
	j->n_made = 0;
	if (j->made_root_dir && unlinkat(j->iddir_fd, "root", AT_REMOVEDIR) && errno != ENOENT)
		left++;
	if (j->made_id_dir && unlinkat(j->execdir_fd, j->id, AT_REMOVEDIR) && errno != ENOENT)
		left++;
	j->made_root_dir = j->made_id_dir = false;
	return left;
}
