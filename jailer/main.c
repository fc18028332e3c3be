// SPDX-License-Identifier: Apache-2.0
/*
 * main.c: ember-jailer, Firecracker's jailer order: clean fds and
 * environment, validate, build the chroot, netns, rlimits, cgroup, mount
 * namespace + pivot_root, device nodes, daemon/PID namespace, drop to the
 * target uid/gid, exec the monitor. Every failure says which step failed
 * and removes what this run created.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "cgroup.h"
#include "chroot.h"
#include "devnodes.h"
#include "env.h"
#include "jerr.h"
#include "rlimit.h"

#define JAILER_VERSION "0.1.0"
/* Where --node N finds its CPUs (nodeN/cpulist). */
#define JAILER_SYSFS_NODES "/sys/devices/system/node"

/* Exit statuses: 0 handed over to the monitor, 1 a step failed, 2 bad arguments. */
#define EXIT_STEP 1
#define EXIT_ARGS 2

struct run {
	struct jailer_args a;
	struct jail j;
	struct cgroups cg;
	bool created;		/* step 3 began: there may be things to remove */
	int report_fd;		/* forked child: errors go to the waiting parent */
};

static const char usage[] =
    "usage: ember-jailer --id ID --exec-file PATH --uid UID --gid GID [OPTIONS]\n"
    "                    [-- MONITOR_ARGS...]\n"
    "\n"
    "Build a jail under <chroot-base-dir>/<exec-file name>/<id>/root, copy the\n"
    "monitor in, confine it and exec it as UID:GID with\n"
    "  --id ID --start-time-us N --start-time-cpu-us N --parent-cpu-time-us N\n"
    "  MONITOR_ARGS...\n"
    "\n"
    "  --id ID                  1..64 of A-Z a-z 0-9 - (required)\n"
    "  --exec-file PATH         the monitor binary, copied into the jail (required)\n"
    "  --uid UID, --gid GID     who the monitor runs as (required; 0 is allowed, with a note)\n"
    "  --chroot-base-dir DIR    default " ARGS_DEFAULT_BASE "\n"
    "  --netns PATH             join this network namespace (e.g. /run/netns/NAME)\n"
    "  --cgroup FILE=VALUE      write VALUE to FILE in the VM's cgroup (repeatable)\n"
    "  --cgroup-version 1|2     default: 2 on a cgroup2-only host, else 1\n"
    "  --node N                 NUMA node N: cpuset.mems=N, cpuset.cpus=its CPUs\n"
    "  --parent-cgroup PATH     cgroup parent, relative (default: exec-file name)\n"
    "  --resource-limit R=N     fsize=N or no-file=N (default no-file=2048)\n"
    "  --daemonize              new session, stdin/out/err to /dev/null\n"
    "  --new-pid-ns             the monitor is pid 1 of a new PID namespace\n"
    "  --version, --help\n"
    "\n"
    "Exit status: 2 bad arguments (nothing created), 1 a step failed (what it\n"
    "created is removed again); on success the process becomes the monitor.\n";

/* Remove what this run created, and say so. */
static void undo(struct run *r)
{
	int left;

	if (!r->created)
		return;
	left = cgroup_undo(&r->cg) + jail_cleanup(&r->j);
	if (left)
		fprintf(stderr, "ember-jailer: cleanup: %d entries could not be removed under %s and its cgroup\n",
			left, r->j.dir[0] ? r->j.dir : r->a.chroot_base);
	else
		fprintf(stderr, "ember-jailer: cleanup: removed what this run created under %s\n",
			r->j.dir[0] ? r->j.dir : r->a.chroot_base);
}

static void __attribute__((noreturn)) die(struct run *r, const char *step, int rc,
					  const struct jerr *e)
{
	char msg[1024];
	int n;

	n = snprintf(msg, sizeof(msg), "ember-jailer: %s: %s: %s\n", step,
		     e->what[0] ? e->what : "failed", strerror(rc < 0 ? -rc : rc));
	if (n < 0 || n >= (int)sizeof(msg))
		n = (int)strlen(msg);
	if (r->report_fd >= 0) {
		/* A forked child: the parent prints this and cleans up. */
		if (write(r->report_fd, msg, (size_t)n) < 0)
			_exit(EXIT_STEP);
		_exit(EXIT_STEP);
	}
	fputs(msg, stderr);
	undo(r);
	exit(EXIT_STEP);
}

/*
 * Fork the process that will become the monitor (new PID namespace if
 * unshare(CLONE_NEWPID) came before). The parent records the child's pid,
 * waits until the child's exec closes the CLOEXEC pipe (success: exit 0) or
 * a failure message arrives (clean up, exit 1). Returns 0 in the child.
 */
static void spawn(struct run *r, const char *step)
{
	struct jerr e = { "" };
	char msg[1024];
	size_t got = 0;
	int p[2], rc;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		die(r, step, -errno, &(struct jerr){ "pipe2" });
	pid = fork();
	if (pid < 0)
		die(r, step, -errno, &(struct jerr){ "fork" });
	if (pid == 0) {
		close(p[0]);
		r->report_fd = p[1];
		return;
	}
	close(p[1]);
	rc = jail_write_pidfile(&r->j, pid, &e);
	if (rc) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		die(r, "pid file", rc, &e);
	}
	for (;;) {
		ssize_t n = read(p[0], msg + got, sizeof(msg) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == sizeof(msg) - 1)
			break;
	}
	if (got == 0)
		exit(0);	/* the child exec'd: it is the monitor now */
	msg[got] = '\0';
	waitpid(pid, NULL, 0);
	fputs(msg, stderr);
	undo(r);
	exit(EXIT_STEP);
}

/* cpu_since: this process's CPU time since (start_cpu_us), in us; 0 if the clock went back. */
static unsigned long long cpu_since(unsigned long long start_cpu_us)
{
	unsigned long long now = env_cpu_us();

	return now > start_cpu_us ? now - start_cpu_us : 0;
}

static void daemonize(struct run *r, int devnull)
{
	/* stdio now points at /dev/null: the caller's terminal or pipes are gone. */
	if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
		die(r, "daemonize", -errno, &(struct jerr){ "dup2 /dev/null onto stdio" });
	close(devnull);
}

int main(int argc, char **argv)
{
	struct run run = { .report_fd = -1 };
	struct run *r = &run;
	struct jailer_args *a = &r->a;
	struct jerr e = { "" };
	unsigned long long start_us = env_now_us(), start_cpu_us = env_cpu_us();
	/* CPU time spent in jailer processes the monitor does not descend from (forks). */
	unsigned long long parent_cpu_us = 0;
	char err[512], *mounts;
	int netns_fd = -1, devnull = -1, rc;
	dev_t uffd;

	r->j.execdir_fd = r->j.iddir_fd = r->j.root_fd = -1;

	/* 1. Nothing inherited reaches the jail: no fds above 2, no environment. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)	/* keep 0-2 taken */
			die(r, "environment", -EBADF, &(struct jerr){ "reopen a closed stdio fd" });
	if ((rc = env_close_fds(&e)) || (rc = env_clear(&e)))
		die(r, "environment", rc, &e);

	/* 2. Validate everything before creating anything. */
	if (args_parse(a, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "ember-jailer: arguments: %s\n(see ember-jailer --help)\n", err);
		return EXIT_ARGS;
	}
	if (a->help) {
		fputs(usage, stdout);
		return 0;
	}
	if (a->version) {
		printf("ember-jailer %s\n", JAILER_VERSION);
		return 0;
	}
	/*
	 * Firecracker's jailer takes any uid and gid, and Kata Containers passes
	 * 0 and 0: allow it, say so once. The namespaces, the chroot, the
	 * cgroups and ember's own seccomp filters still apply.
	 */
	if (a->uid == 0 || a->gid == 0)
		fprintf(stderr, "ember-jailer: note: --uid %u --gid %u: the monitor keeps root's "
				"uid or gid in its jail\n",
			(unsigned)a->uid, (unsigned)a->gid);
	if (geteuid() != 0) {
		fprintf(stderr, "ember-jailer: arguments: must run as root (mount namespace, mknod, setns, cgroups)\n");
		return EXIT_ARGS;
	}
	if ((rc = jail_check(a, &e)) || (rc = rlimit_check(a, &e)))
		goto bad_arg;
	if (a->netns && (netns_fd = env_open_netns(a->netns, &e)) < 0) {
		rc = netns_fd;
		goto bad_arg;
	}
	if (args_add_node(a, JAILER_SYSFS_NODES, err, sizeof(err))) {
		fprintf(stderr, "ember-jailer: arguments: %s\n", err);
		return EXIT_ARGS;
	}
	mounts = cgroup_read_file("/proc/mounts");
	if (!mounts) {
		rc = jerr_set(&e, -errno, "read /proc/mounts");
		goto bad_arg;
	}
	rc = cgroup_plan(&r->cg, a, args_exec_name(a->exec_file), mounts, &e);
	free(mounts);
	if (rc || (rc = cgroup_check(&r->cg, &e)))
		goto bad_arg;

	/* 3. The jail directory and the monitor's own copy of its binary. */
	r->created = true;
	if ((rc = jail_create(&r->j, a, &e)))
		die(r, "chroot dir", rc, &e);

	/* 4. Network namespace, then limits (they hold for the monitor too). */
	if (netns_fd >= 0 && (rc = env_join_netns(netns_fd, a->netns, &e)))
		die(r, "netns", rc, &e);
	if ((rc = rlimit_apply(a, &e)))
		die(r, "rlimits", rc, &e);

	/* 5. The cgroup, while host paths still resolve. */
	if ((rc = cgroup_setup(&r->cg, a, &e)))
		die(r, "cgroup", rc, &e);

	/* Last looks at the host before it disappears. */
	uffd = devnodes_probe_uffd();
	if (a->daemonize) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			die(r, "daemonize", -errno, &(struct jerr){ "open /dev/null" });
	}

	/* 6. From here on "/" is the jail; the host's files are out of reach. */
	if ((rc = jail_enter(&r->j, &e)))
		die(r, "mount namespace", rc, &e);

	/* 7. The devices the monitor opens, owned by its uid/gid. */
	if ((rc = devnodes_create(&r->j, a->uid, a->gid, uffd, &e)))
		die(r, "device nodes", rc, &e);

	/* 8. Daemon and/or PID namespace; the pid file names the monitor's pid. */
	if (a->new_pid_ns) {
		/* The next child is pid 1 of a new PID namespace; we stay outside. */
		if (unshare(CLONE_NEWPID))
			die(r, "pid namespace", -errno, &(struct jerr){ "unshare(CLONE_NEWPID)" });
		parent_cpu_us = cpu_since(start_cpu_us);
		spawn(r, "pid namespace");
		start_cpu_us = 0;	/* a new process: its CPU clock restarted */
		if (a->daemonize) {
			if (setsid() < 0)
				die(r, "daemonize", -errno, &(struct jerr){ "setsid" });
			daemonize(r, devnull);
		}
	} else if (a->daemonize) {
		if (setsid() < 0) {
			/* A process group leader cannot setsid: let a child do it. */
			if (errno != EPERM)
				die(r, "daemonize", -errno, &(struct jerr){ "setsid" });
			parent_cpu_us = cpu_since(start_cpu_us);
			spawn(r, "daemonize");
			start_cpu_us = 0; /* a new process: its CPU clock restarted */
			if (setsid() < 0)
				die(r, "daemonize", -errno, &(struct jerr){ "setsid in the child" });
		} else if ((rc = jail_write_pidfile(&r->j, getpid(), &e))) {
			die(r, "pid file", rc, &e);
		}
		daemonize(r, devnull);
	} else if ((rc = jail_write_pidfile(&r->j, getpid(), &e))) {
		die(r, "pid file", rc, &e);
	}

	/*
	 * 9. Drop privileges, in an order where each step is still allowed.
	 * Supplementary groups first: after setresgid/setresuid we could not.
	 * Remains: root uid, all capabilities.
	 */
	if (setgroups(0, NULL))
		die(r, "privileges", -errno, &(struct jerr){ "setgroups(0)" });
	/* Remains: root uid (so setresuid still works); gid is now the target in all three slots. */
	if (setresgid(a->gid, a->gid, a->gid))
		die(r, "privileges", -errno, &(struct jerr){ "setresgid" });
	/*
	 * Real, effective and saved uid to the target: the kernel clears the
	 * permitted, effective and ambient capability sets. Remains: the
	 * target uid/gid, the fds we hold (all CLOEXEC except stdio), the jail.
	 */
	if (setresuid(a->uid, a->uid, a->uid))
		die(r, "privileges", -errno, &(struct jerr){ "setresuid" });
	{
		uid_t ru, eu, su;
		gid_t rg, eg, sg;

		if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) ||
		    ru != a->uid || eu != a->uid || su != a->uid ||
		    rg != a->gid || eg != a->gid || sg != a->gid || (a->uid != 0 && setuid(0) == 0))
			die(r, "privileges", -EPERM, &(struct jerr){ "uid/gid did not stick" });
	}
	/* No setuid binary or file capability can hand privileges back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die(r, "privileges", -errno, &(struct jerr){ "PR_SET_NO_NEW_PRIVS" });

	{
		char path[PATH_MAX], us[24], cpu[24], parent[24];
		char **args = calloc((size_t)a->n_extra + 10, sizeof(*args));
		char *envp[] = { NULL };
		int n = 0;

		if (!args)
			die(r, "exec", -ENOMEM, &(struct jerr){ "argv" });
		snprintf(path, sizeof(path), "/%s", r->j.exec_name);
		snprintf(us, sizeof(us), "%llu", start_us);
		snprintf(cpu, sizeof(cpu), "%llu", start_cpu_us);
		snprintf(parent, sizeof(parent), "%llu", parent_cpu_us);
		args[n++] = path;
		args[n++] = "--id";
		args[n++] = (char *)a->id;
		args[n++] = "--start-time-us";
		args[n++] = us;
		args[n++] = "--start-time-cpu-us";
		args[n++] = cpu;
		/* As Firecracker's jailer: the monitor adds it to its start-up CPU metric. */
		args[n++] = "--parent-cpu-time-us";
		args[n++] = parent;
		for (int i = 0; i < a->n_extra; i++)
			args[n++] = a->extra[i];
		args[n] = NULL;
		execve(path, args, envp);
		rc = jerr_set(&e, -errno, "execve %s in the jail", path);
		die(r, "exec", rc, &e);
	}

bad_arg:
	fprintf(stderr, "ember-jailer: arguments: %s: %s\n", e.what, strerror(-rc));
	return EXIT_ARGS;
}
