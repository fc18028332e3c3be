// SPDX-License-Identifier: Apache-2.0
/* cgroup.c: create the VM's cgroup, write --cgroup values, move in. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *cgroup_read_file(const char *path)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		int err = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			close(fd);
		free(buf);
		errno = err;
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;

			free(buf);
			close(fd);
			errno = err;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(value);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = write(fd, value, n);
	if (w < 0 || (size_t)w != n) {
		int rc = w < 0 ? -errno : -EIO;

		close(fd);
		return rc;
	}
	return close(fd) ? -errno : 0;
}

/* (word) is one of the comma-separated items of (list)? */
static bool in_list(const char *list, size_t listlen, const char *word, char sep)
{
	size_t wl = strlen(word);
	const char *p = list, *end = list + listlen;

	while (p < end) {
		const char *q = memchr(p, sep, (size_t)(end - p));
		size_t l = q ? (size_t)(q - p) : (size_t)(end - p);

		if (l == wl && !memcmp(p, word, wl))
			return true;
		p += l + 1;
	}
	return false;
}

/* Each whitespace-separated word of (list) as a set: is (word) in it? */
static bool in_words(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t l;

		p += strspn(p, " \t\n");
		l = strcspn(p, " \t\n");
		if (l == wl && !strncmp(p, word, wl))
			return true;
		p += l;
	}
	return false;
}

struct mnt {
	const char *dir, *type, *opts;
	size_t dirlen, typelen, optslen;
};

/* Next "src dir type opts ..." line of (*p); false at the end. */
static bool next_mount(const char **p, struct mnt *m)
{
	while (**p) {
		const char *line = *p, *nl = strchr(line, '\n');
		const char *f[4];
		size_t fl[4];
		const char *c = line, *end = nl ? nl : line + strlen(line);
		int n = 0;

		*p = nl ? nl + 1 : end;
		while (n < 4 && c < end) {
			while (c < end && *c == ' ')
				c++;
			f[n] = c;
			while (c < end && *c != ' ')
				c++;
			fl[n] = (size_t)(c - f[n]);
			if (fl[n])
				n++;
		}
		if (n < 4)
			continue;
		m->dir = f[1];
		m->dirlen = fl[1];
		m->type = f[2];
		m->typelen = fl[2];
		m->opts = f[3];
		m->optslen = fl[3];
		return true;
	}
	return false;
}

static bool is_type(const struct mnt *m, const char *t)
{
	return m->typelen == strlen(t) && !memcmp(m->type, t, m->typelen);
}

static int dir_path(struct cgroup_dir *d, const char *mount, size_t mlen,
		    const char *parent, const char *id, struct jerr *e)
{
	if (mlen >= sizeof(d->mount))
		return jerr_set(e, -ENAMETOOLONG, "cgroup mount point");
	memcpy(d->mount, mount, mlen);
	d->mount[mlen] = '\0';
	if (snprintf(d->path, sizeof(d->path), "%s/%s/%s", d->mount, parent, id) >=
	    (int)sizeof(d->path))
		return jerr_set(e, -ENAMETOOLONG, "cgroup path under %s", d->mount);
	d->parent_fd = d->orig_fd = -1;
	return 0;
}

int cgroup_plan(struct cgroups *cg, const struct jailer_args *a, const char *exec_name,
		const char *mounts, struct jerr *e)
{
	const char *parent = a->parent_cgroup ? a->parent_cgroup : exec_name;
	const char *p;
	struct mnt m, v2 = { 0 };
	bool have_v1 = false, have_v2 = false;
	int rc;

	memset(cg, 0, sizeof(*cg));
	cg->id = a->id;
	for (p = mounts; next_mount(&p, &m);) {
		if (is_type(&m, "cgroup"))
			have_v1 = true;
		if (is_type(&m, "cgroup2") && !have_v2) {
			have_v2 = true;
			v2 = m;
		}
	}
	cg->version = a->cgroup_version;
	if (!cg->version)
		cg->version = have_v2 && !have_v1 ? 2 : a->n_cgroups ? 1 : 0;
	if (!args_valid_parent_cgroup(parent))
		return jerr_set(e, -EINVAL, "exec file name '%s' as parent cgroup", parent);

	if (cg->version == 2) {
		if (!have_v2)
			return jerr_set(e, -ENOENT, "no cgroup2 file system is mounted (see /proc/mounts)");
		cg->n_dirs = 1;
		if ((rc = dir_path(&cg->dirs[0], v2.dir, v2.dirlen, parent, a->id, e)))
			return rc;
		for (size_t i = 0; i < a->n_cgroups; i++) {
			const char *f = a->cgroups[i].file;
			size_t cl = strcspn(f, ".");
			size_t k;

			cg->dir_of[i] = 0;
			if (cl >= CGROUP_CTRL_MAX)
				return jerr_set(e, -EINVAL, "controller of %s", f);
			if (cl == 6 && !strncmp(f, "cgroup", 6))
				continue;	/* core file: no controller to enable */
			for (k = 0; k < cg->n_enable; k++)
				if (strlen(cg->enable[k]) == cl && !strncmp(cg->enable[k], f, cl))
					break;
			if (k == cg->n_enable) {
				memcpy(cg->enable[k], f, cl);
				cg->enable[k][cl] = '\0';
				cg->n_enable++;
			}
		}
		return 0;
	}
	if (cg->version != 1)
		return 0;

	for (size_t i = 0; i < a->n_cgroups; i++) {
		const char *f = a->cgroups[i].file;
		char ctrl[CGROUP_CTRL_MAX];
		size_t cl = strcspn(f, "."), k;
		bool found = false;

		if (cl >= sizeof(ctrl))
			return jerr_set(e, -EINVAL, "controller of %s", f);
		memcpy(ctrl, f, cl);
		ctrl[cl] = '\0';
		for (p = mounts; next_mount(&p, &m);) {
			if (!is_type(&m, "cgroup") || !in_list(m.opts, m.optslen, ctrl, ','))
				continue;
			found = true;
			break;
		}
		if (!found)
			return jerr_set(e, -ENOENT, "--cgroup %s: no cgroup v1 hierarchy has the '%s' controller mounted",
					f, ctrl);
		for (k = 0; k < cg->n_dirs; k++)
			if (strlen(cg->dirs[k].mount) == m.dirlen &&
			    !memcmp(cg->dirs[k].mount, m.dir, m.dirlen))
				break;
		if (k == cg->n_dirs) {
			struct cgroup_dir *d = &cg->dirs[k];

			if ((rc = dir_path(d, m.dir, m.dirlen, parent, a->id, e)))
				return rc;
			snprintf(d->ctrl, sizeof(d->ctrl), "%s", ctrl);
			d->cpuset = in_list(m.opts, m.optslen, "cpuset", ',');
			cg->n_dirs++;
		}
		cg->dir_of[i] = k;
	}
	return 0;
}

int cgroup_check(struct cgroups *cg, struct jerr *e)
{
	char *self, path[PATH_MAX + 32];

	if (!cg->version || !cg->n_dirs)
		return 0;
	if (cg->version == 2 && cg->n_enable) {
		char *avail;

		snprintf(path, sizeof(path), "%s/cgroup.controllers", cg->dirs[0].mount);
		avail = cgroup_read_file(path);
		if (!avail)
			return jerr_set(e, -errno, "read %s", path);
		for (size_t k = 0; k < cg->n_enable; k++) {
			if (!in_words(avail, cg->enable[k])) {
				avail[strcspn(avail, "\n")] = '\0';
				jerr_set(e, -ENOENT, "controller '%s' is not available in cgroup v2 at %s (it has: %s)",
					 cg->enable[k], cg->dirs[0].mount, *avail ? avail : "none");
				free(avail);
				return -ENOENT;
			}
		}
		free(avail);
	}
	/* Where we are now, from /proc/self/cgroup ("id:controllers:path"). */
	self = cgroup_read_file("/proc/self/cgroup");
	if (!self)
		return jerr_set(e, -errno, "read /proc/self/cgroup");
	for (size_t k = 0; k < cg->n_dirs; k++) {
		struct cgroup_dir *d = &cg->dirs[k];
		const char *line = self;

		d->orig[0] = '\0';
		while (*line) {
			const char *nl = strchr(line, '\n'), *c1 = strchr(line, ':'), *c2;
			size_t len = nl ? (size_t)(nl - line) : strlen(line);

			c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 - line) - 1) : NULL;
			if (c1 && c2 && c1 < line + len) {
				bool match = cg->version == 2
					? (c2 == c1 + 1 && c1 - line == 1 && line[0] == '0')
					: in_list(c1 + 1, (size_t)(c2 - c1 - 1), d->ctrl, ',');
				if (match) {
					int pl = (int)(len - (size_t)(c2 + 1 - line));

					snprintf(d->orig, sizeof(d->orig), "%s%.*s", d->mount, pl, c2 + 1);
					break;
				}
			}
			line += len + (nl ? 1 : 0);
		}
	}
	free(self);
	return 0;
}

/* v1 cpuset: a new cgroup's cpus/mems start empty and then nothing can join. */
static int cpuset_inherit(const char *dir, struct jerr *e)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[PATH_MAX + 32], ppath[PATH_MAX + 32];

	for (size_t i = 0; i < 2; i++) {
		char *cur, *par;
		size_t dl = strrchr(dir, '/') ? (size_t)(strrchr(dir, '/') - dir) : 0;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		snprintf(ppath, sizeof(ppath), "%.*s/%s", (int)dl, dir, files[i]);
		cur = cgroup_read_file(path);
		if (!cur)
			return jerr_set(e, -errno, "read %s", path);
		if (cur[strspn(cur, " \n")] == '\0') {
			int rc;

			par = cgroup_read_file(ppath);
			if (!par) {
				free(cur);
				return jerr_set(e, -errno, "read %s", ppath);
			}
			rc = write_file(path, par);
			free(par);
			if (rc) {
				/* A jailer running beside us may have filled it first. */
				char *now = cgroup_read_file(path);
				bool filled = now && now[strspn(now, " \n")] != '\0';

				free(now);
				if (!filled) {
					free(cur);
					return jerr_set(e, rc, "copy %s to %s", ppath, path);
				}
			}
		}
		free(cur);
	}
	return 0;
}

/* mkdir each component of <parent> under the mount; enable v2 controllers on the way. */
static int make_parents(struct cgroups *cg, struct cgroup_dir *d, struct jerr *e)
{
	char path[PATH_MAX];
	size_t mlen = strlen(d->mount);
	size_t leaf = strrchr(d->path, '/') - d->path;
	int rc;

	memcpy(path, d->path, leaf);
	path[leaf] = '\0';
	/* Walk: <mount>, then each "/component" up to the parent of <id>. */
	for (size_t end = mlen; ; ) {
		char saved = path[end];

		path[end] = '\0';
		if (end > mlen && mkdir(path, 0755) && errno != EEXIST)
			return jerr_set(e, -errno, "mkdir %s", path);
		if (cg->version == 1 && d->cpuset && end > mlen && (rc = cpuset_inherit(path, e)))
			return rc;
		for (size_t k = 0; cg->version == 2 && k < cg->n_enable; k++) {
			char sc[PATH_MAX + 32], val[CGROUP_CTRL_MAX + 2];
			char *cur;

			snprintf(sc, sizeof(sc), "%s/cgroup.subtree_control", path);
			cur = cgroup_read_file(sc);
			if (cur && in_words(cur, cg->enable[k])) {
				free(cur);
				continue;
			}
			free(cur);
			snprintf(val, sizeof(val), "+%s", cg->enable[k]);
			if ((rc = write_file(sc, val)))
				return jerr_set(e, rc, "write '%s' to %s", val, sc);
		}
		path[end] = saved;
		if (end == leaf)
			break;
		end = end + 1 + strcspn(path + end + 1, "/");
	}
	return 0;
}

int cgroup_setup(struct cgroups *cg, const struct jailer_args *a, struct jerr *e)
{
	char path[PATH_MAX + 32], pid[24];
	int rc;

	for (size_t k = 0; k < cg->n_dirs; k++) {
		struct cgroup_dir *d = &cg->dirs[k];
		size_t leaf = strrchr(d->path, '/') - d->path;

		if ((rc = make_parents(cg, d, e)))
			return rc;
		memcpy(path, d->path, leaf);
		path[leaf] = '\0';
		d->parent_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d->parent_fd < 0)
			return jerr_set(e, -errno, "open %s", path);
		if (mkdirat(d->parent_fd, cg->id, 0755) == 0)
			d->made = true;
		else if (errno != EEXIST)
			return jerr_set(e, -errno, "mkdir %s", d->path);
		if (cg->version == 1 && d->cpuset && (rc = cpuset_inherit(d->path, e)))
			return rc;
		if (d->orig[0]) {
			snprintf(path, sizeof(path), "%s/cgroup.procs", d->orig);
			d->orig_fd = open(path, O_WRONLY | O_CLOEXEC);
		}
	}
	/* Values first, then move in: cpuset needs cpus/mems before any task joins. */
	for (size_t i = 0; i < a->n_cgroups; i++) {
		struct cgroup_dir *d = &cg->dirs[cg->dir_of[i]];

		snprintf(path, sizeof(path), "%s/%s", d->path, a->cgroups[i].file);
		if ((rc = write_file(path, a->cgroups[i].value)))
			return jerr_set(e, rc, "write '%s' to %s", a->cgroups[i].value, path);
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (size_t k = 0; k < cg->n_dirs; k++) {
		struct cgroup_dir *d = &cg->dirs[k];

		snprintf(path, sizeof(path), "%s/cgroup.procs", d->path);
		if ((rc = write_file(path, pid)))
			return jerr_set(e, rc, "move pid %s into %s", pid, path);
		d->joined = true;
	}
	return 0;
}

int cgroup_undo(struct cgroups *cg)
{
	char pid[24];
	int left = 0;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (size_t k = 0; k < cg->n_dirs; k++) {
		struct cgroup_dir *d = &cg->dirs[k];

		if (d->joined && d->orig_fd >= 0) {
			if (write(d->orig_fd, pid, strlen(pid)) < 0)
				left++;
			d->joined = false;
		}
		if (d->made && d->parent_fd >= 0) {
			/* A child that just exited may still be leaving: retry briefly. */
			for (int tries = 0; ; tries++) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };

				if (!unlinkat(d->parent_fd, cg->id, AT_REMOVEDIR) || errno == ENOENT)
					break;
				if (errno != EBUSY || tries == 50) {
					left++;
					break;
				}
				nanosleep(&ts, NULL);
			}
			d->made = false;
		}
		if (d->orig_fd >= 0)
			close(d->orig_fd);
		if (d->parent_fd >= 0)
			close(d->parent_fd);
		d->orig_fd = d->parent_fd = -1;
	}
	return left;
}
