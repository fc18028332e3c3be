// SPDX-License-Identifier: Apache-2.0
/* args.c: ember-jailer's flags (Firecracker's jailer flags), syntax only. */
#include "args.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOFILE_MAX (1u << 20)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool args_valid_id(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++) {
		char c = id[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return n >= 1 && n <= ARGS_ID_MAX;
}

bool args_valid_path(const char *p, bool absolute)
{
	size_t n = strlen(p);
	const char *c = p;

	if (n == 0 || n >= PATH_MAX)
		return false;
	if (absolute && p[0] != '/')
		return false;
	while (*c) {
		size_t len = strcspn(c, "/");

		if (len == 2 && c[0] == '.' && c[1] == '.')
			return false;
		c += len;
		while (*c == '/')
			c++;
	}
	return true;
}

bool args_valid_parent_cgroup(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/' || strlen(p) >= PATH_MAX / 2)
		return false;
	for (;;) {
		size_t len = strcspn(c, "/");

		if (len == 0)
			return false;	/* empty component: "a//b" or "a/" */
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (size_t i = 0; i < len; i++) {
			char ch = c[i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || strchr("_.:@-", ch)))
				return false;
		}
		c += len;
		if (!*c)
			return true;
		c++;
	}
}

int args_parse_cgroup(const char *s, struct args_cgroup *out)
{
	const char *eq = strchr(s, '=');
	size_t flen, words = 1;

	if (!eq)
		return -EINVAL;
	flen = (size_t)(eq - s);
	if (flen == 0 || flen >= sizeof(out->file))
		return -EINVAL;
	for (size_t i = 0; i < flen; i++) {
		char c = s[i];

		if (c == '.') {
			/* no leading, trailing or doubled dot */
			if (i == 0 || i + 1 == flen || s[i + 1] == '.')
				return -EINVAL;
			words++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
			return -EINVAL;
		}
	}
	if (words < 2)
		return -EINVAL;
	memcpy(out->file, s, flen);
	out->file[flen] = '\0';
	/* These would move processes, not set a value. */
	if (!strcmp(out->file, "cgroup.procs") || !strcmp(out->file, "cgroup.threads") ||
	    !strcmp(out->file, "tasks"))
		return -EINVAL;
	out->value = eq + 1;
	if (!*out->value || strchr(out->value, '\n'))
		return -EINVAL;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;	/* strtoull would take "-1" or " 1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int args_parse_limit(const char *s, struct jailer_args *a)
{
	const char *eq = strchr(s, '=');
	uint64_t v;

	if (!eq || parse_u64(eq + 1, &v))
		return -EINVAL;
	if ((size_t)(eq - s) == 5 && !strncmp(s, "fsize", 5)) {
		a->fsize.set = true;
		a->fsize.value = v;
		return 0;
	}
	if ((size_t)(eq - s) == 7 && !strncmp(s, "no-file", 7)) {
		if (v < 1 || v > NOFILE_MAX)
			return -EINVAL;
		a->nofile.set = true;
		a->nofile.value = v;
		return 0;
	}
	return -EINVAL;
}

int args_parse_id_num(const char *s, uint32_t *out)
{
	uint64_t v;

	/* (uid_t)-1 means "unchanged" to setresuid: never a real target. */
	if (parse_u64(s, &v) || v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* add_cgroup: one more --cgroup (file)=(value), unless the user gave (file). */
static int add_cgroup(struct jailer_args *a, const char *file, const char *value, char *err,
		      size_t errlen)
{
	for (size_t j = 0; j < a->n_cgroups; j++)
		if (!strcmp(a->cgroups[j].file, file))
			return 0;
	if (a->n_cgroups == ARGS_MAX_CGROUPS)
		return fail(err, errlen, "--node: at most %d --cgroup files in all",
			    ARGS_MAX_CGROUPS);
	snprintf(a->cgroups[a->n_cgroups].file, sizeof(a->cgroups[0].file), "%s", file);
	a->cgroups[a->n_cgroups].value = value;
	a->n_cgroups++;
	return 0;
}

int args_add_node(struct jailer_args *a, const char *sysfs_node_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, rc;

	if (!a->node)
		return 0;
	snprintf(path, sizeof(path), "%s/node%s/cpulist", sysfs_node_dir, a->node);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fail(err, errlen, "--node %s: cannot read %s: %s", a->node, path, strerror(-rc));
		return rc;
	}
	n = read(fd, a->node_cpus, sizeof(a->node_cpus) - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (n <= 0 || a->node_cpus[0] == '\n') {
		fail(err, errlen, "--node %s: %s holds no CPU list", a->node, path);
		return rc ? rc : -EINVAL;
	}
	a->node_cpus[n] = '\0';
	a->node_cpus[strcspn(a->node_cpus, "\n")] = '\0';
	if ((rc = add_cgroup(a, "cpuset.mems", a->node, err, errlen)) ||
	    (rc = add_cgroup(a, "cpuset.cpus", a->node_cpus, err, errlen)))
		return rc;
	return 0;
}

const char *args_exec_name(const char *exec_file)
{
	const char *slash = strrchr(exec_file, '/');

	return slash ? slash + 1 : exec_file;
}

/* Flags that take a value, and where the value goes. */
enum flag {
	F_ID,
	F_EXEC,
	F_UID,
	F_GID,
	F_BASE,
	F_NETNS,
	F_CGROUP,
	F_CGVER,
	F_PARENT,
	F_LIMIT,
	F_NODE,
	F_DAEMONIZE,
	F_NEWPID,
	F_VERSION,
	F_HELP,
};

static const struct {
	const char *name;
	enum flag flag;
	bool value;
} flags[] = {
    {"id", F_ID, true},
    {"exec-file", F_EXEC, true},
    {"uid", F_UID, true},
    {"gid", F_GID, true},
    {"chroot-base-dir", F_BASE, true},
    {"netns", F_NETNS, true},
    {"cgroup", F_CGROUP, true},
    {"cgroup-version", F_CGVER, true},
    {"parent-cgroup", F_PARENT, true},
    {"resource-limit", F_LIMIT, true},
    {"node", F_NODE, true},
    {"daemonize", F_DAEMONIZE, false},
    {"new-pid-ns", F_NEWPID, false},
    {"version", F_VERSION, false},
    {"help", F_HELP, false},
};

int args_parse(struct jailer_args *a, int argc, char **argv, char *err, size_t errlen)
{
	bool seen[F_HELP + 1] = { false };
	bool have_uid = false, have_gid = false;
	int i;

	memset(a, 0, sizeof(*a));
	a->chroot_base = ARGS_DEFAULT_BASE;
	if (err && errlen)
		err[0] = '\0';

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *val = NULL, *eq;
		size_t nlen, k;
		uint32_t num;
		uint64_t num64;

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (strncmp(arg, "--", 2))
			return fail(err, errlen, "unexpected argument '%s' (monitor arguments go after --)", arg);
		name = arg + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (strlen(flags[k].name) == nlen && !strncmp(flags[k].name, name, nlen))
				break;
		if (k == sizeof(flags) / sizeof(flags[0]))
			return fail(err, errlen, "unknown flag '%.*s'", (int)(nlen + 2), arg);
		if (flags[k].value) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return fail(err, errlen, "--%s needs a value", flags[k].name);
		} else if (eq) {
			return fail(err, errlen, "--%s takes no value", flags[k].name);
		}
		if (seen[flags[k].flag] && flags[k].flag != F_CGROUP && flags[k].flag != F_LIMIT)
			return fail(err, errlen, "--%s given twice", flags[k].name);
		seen[flags[k].flag] = true;

		switch (flags[k].flag) {
		case F_ID:
			if (!args_valid_id(val))
				return fail(err, errlen, "--id '%s': want 1..%d of A-Z a-z 0-9 -",
					    val, ARGS_ID_MAX);
			a->id = val;
			break;
		case F_EXEC:
			if (!args_valid_path(val, false))
				return fail(err, errlen, "--exec-file '%s': empty, too long or has '..'", val);
			if (!*args_exec_name(val) || !strcmp(args_exec_name(val), "."))
				return fail(err, errlen, "--exec-file '%s': names no file", val);
			a->exec_file = val;
			break;
		case F_UID:
		case F_GID:
			if (args_parse_id_num(val, &num))
				return fail(err, errlen, "--%s '%s': want a number below 4294967295",
					    flags[k].name, val);
			if (flags[k].flag == F_UID) {
				a->uid = num;
				have_uid = true;
			} else {
				a->gid = num;
				have_gid = true;
			}
			break;
		case F_BASE:
			if (!args_valid_path(val, true))
				return fail(err, errlen, "--chroot-base-dir '%s': want an absolute path without '..'", val);
			a->chroot_base = val;
			break;
		case F_NETNS:
			if (!args_valid_path(val, true))
				return fail(err, errlen, "--netns '%s': want an absolute path without '..'", val);
			a->netns = val;
			break;
		case F_CGROUP:
			if (a->n_cgroups == ARGS_MAX_CGROUPS)
				return fail(err, errlen, "--cgroup: at most %d", ARGS_MAX_CGROUPS);
			if (args_parse_cgroup(val, &a->cgroups[a->n_cgroups]))
				return fail(err, errlen, "--cgroup '%s': want <controller>.<property>=<value>", val);
			for (size_t j = 0; j < a->n_cgroups; j++)
				if (!strcmp(a->cgroups[j].file, a->cgroups[a->n_cgroups].file))
					return fail(err, errlen, "--cgroup: %s given twice", a->cgroups[j].file);
			a->n_cgroups++;
			break;
		case F_NODE:
			if (parse_u64(val, &num64) || num64 > ARGS_NODE_MAX)
				return fail(err, errlen,
					    "--node '%s': want a NUMA node number 0..%d", val,
					    ARGS_NODE_MAX);
			a->node = val;
			break;
		case F_CGVER:
			if (strcmp(val, "1") && strcmp(val, "2"))
				return fail(err, errlen, "--cgroup-version '%s': want 1 or 2", val);
			a->cgroup_version = val[0] - '0';
			break;
		case F_PARENT:
			if (!args_valid_parent_cgroup(val))
				return fail(err, errlen, "--parent-cgroup '%s': want a relative path without '.', '..' or empty parts", val);
			a->parent_cgroup = val;
			break;
		case F_LIMIT:
			if (args_parse_limit(val, a))
				return fail(err, errlen, "--resource-limit '%s': want fsize=N or no-file=N (1..%u)",
					    val, NOFILE_MAX);
			break;
		case F_DAEMONIZE:
			a->daemonize = true;
			break;
		case F_NEWPID:
			a->new_pid_ns = true;
			break;
		case F_VERSION:
			a->version = true;
			break;
		case F_HELP:
			a->help = true;
			break;
		}
	}
	a->extra = argv + i;
	a->n_extra = argc - i > 0 ? argc - i : 0;

	if (a->version || a->help)
		return 0;
	if (!a->id)
		return fail(err, errlen, "--id is required");
	if (!a->exec_file)
		return fail(err, errlen, "--exec-file is required");
	if (!have_uid)
		return fail(err, errlen, "--uid is required");
	if (!have_gid)
		return fail(err, errlen, "--gid is required");
	/* The monitor gets --id from us; a second one would be ambiguous. */
	for (int j = 0; j < a->n_extra && strcmp(a->extra[j], "--"); j++)
		if (!strcmp(a->extra[j], "--id") || !strncmp(a->extra[j], "--id=", 5) ||
		    !strncmp(a->extra[j], "--start-time-", 13) ||
		    !strncmp(a->extra[j], "--parent-cpu-time-us", 20))
			return fail(err, errlen, "'%s' after --: the jailer passes it itself", a->extra[j]);
	return 0;
}
