// SPDX-License-Identifier: Apache-2.0
/* test_jailer_args.c: ember-jailer flag parsing and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"

#define ARGV(...) ((char *[]){ "ember-jailer", __VA_ARGS__, NULL })

static char err[512];

/* Parse the required flags plus (extra...); return args_parse's result. */
#define PARSE(a, ...) parse_words(a, ARGV("--id", "vm-1", "--exec-file", "/usr/bin/ember", \
				  "--uid", "123", "--gid", "100", __VA_ARGS__))

static int parse_words_n(struct jailer_args *a, char **v)
{
	int n = 0;

	while (v[n])
		n++;
	return args_parse(a, n, v, err, sizeof(err));
}
#define parse_words(a, v) parse_words_n(a, v)

static void test_minimal_and_defaults(void **state)
{
	struct jailer_args a;
	char **v = ARGV("--id", "551e7604-e35c-42b3-b825-416853441234", "--exec-file",
			"/usr/bin/ember", "--uid", "123", "--gid", "100");

	(void)state;
	assert_int_equal(parse_words(&a, v), 0);
	assert_string_equal(a.id, "551e7604-e35c-42b3-b825-416853441234");
	assert_string_equal(a.exec_file, "/usr/bin/ember");
	assert_int_equal(a.uid, 123);
	assert_int_equal(a.gid, 100);
	assert_string_equal(a.chroot_base, "/srv/jailer");
	assert_null(a.netns);
	assert_false(a.daemonize);
	assert_false(a.new_pid_ns);
	assert_int_equal(a.cgroup_version, 0);
	assert_null(a.parent_cgroup);
	assert_int_equal(a.n_cgroups, 0);
	assert_false(a.nofile.set);
	assert_false(a.fsize.set);
	assert_int_equal(a.n_extra, 0);
}

static void test_all_flags_and_extra_args(void **state)
{
	struct jailer_args a;

	(void)state;
	assert_int_equal(PARSE(&a, "--chroot-base-dir", "/var/jail", "--netns=/run/netns/n1",
			       "--daemonize", "--new-pid-ns", "--cgroup", "cpu.max=50000 100000",
			       "--cgroup=memory.max=64M", "--cgroup-version", "2",
			       "--parent-cgroup", "all_uvms/external", "--resource-limit", "fsize=250000000",
			       "--resource-limit", "no-file=1024", "--", "--kernel", "/vmlinux",
			       "--", "--id"), 0);
	assert_string_equal(a.chroot_base, "/var/jail");
	assert_string_equal(a.netns, "/run/netns/n1");
	assert_true(a.daemonize);
	assert_true(a.new_pid_ns);
	assert_int_equal(a.n_cgroups, 2);
	assert_string_equal(a.cgroups[0].file, "cpu.max");
	assert_string_equal(a.cgroups[0].value, "50000 100000");
	assert_string_equal(a.cgroups[1].file, "memory.max");
	assert_string_equal(a.cgroups[1].value, "64M");
	assert_int_equal(a.cgroup_version, 2);
	assert_string_equal(a.parent_cgroup, "all_uvms/external");
	assert_true(a.fsize.set);
	assert_int_equal(a.fsize.value, 250000000);
	assert_true(a.nofile.set);
	assert_int_equal(a.nofile.value, 1024);
	/* Everything after the first "--" is the monitor's, a guest "--id" too. */
	assert_int_equal(a.n_extra, 4);
	assert_string_equal(a.extra[0], "--kernel");
	assert_string_equal(a.extra[3], "--id");
}

static void test_ids(void **state)
{
	char long_id[80];

	(void)state;
	assert_true(args_valid_id("a"));
	assert_true(args_valid_id("551e7604-e35c-42b3-b825-416853441234"));
	assert_true(args_valid_id("ABC-def-123"));
	memset(long_id, 'a', 64);
	long_id[64] = '\0';
	assert_true(args_valid_id(long_id));
	long_id[64] = 'a';
	long_id[65] = '\0';
	assert_false(args_valid_id(long_id));
	assert_false(args_valid_id(""));
	assert_false(args_valid_id("a/b"));
	assert_false(args_valid_id(".."));
	assert_false(args_valid_id("a_b"));
	assert_false(args_valid_id("a b"));
	assert_false(args_valid_id("a.b"));
	assert_false(args_valid_id("/ad./sa12"));
	assert_false(args_valid_id("\xc3\xa9"));
}

static void test_paths(void **state)
{
	(void)state;
	assert_true(args_valid_path("/srv/jailer", true));
	assert_true(args_valid_path("/", true));
	assert_true(args_valid_path("/a/./b", true));
	assert_true(args_valid_path("/a/..b/c..", true));
	assert_true(args_valid_path("build/ember", false));
	assert_false(args_valid_path("build/ember", true));
	assert_false(args_valid_path("", false));
	assert_false(args_valid_path("/srv/../etc", true));
	assert_false(args_valid_path("/srv/..", true));
	assert_false(args_valid_path("../ember", false));
	assert_false(args_valid_path("a//../b", false));

	assert_true(args_valid_parent_cgroup("ember"));
	assert_true(args_valid_parent_cgroup("all_uvms/external_uvms"));
	assert_true(args_valid_parent_cgroup("machine.slice/ember-1"));
	assert_false(args_valid_parent_cgroup("/root"));
	assert_false(args_valid_parent_cgroup("a/../b"));
	assert_false(args_valid_parent_cgroup(".."));
	assert_false(args_valid_parent_cgroup("."));
	assert_false(args_valid_parent_cgroup("a/./b"));
	assert_false(args_valid_parent_cgroup("a//b"));
	assert_false(args_valid_parent_cgroup("a/"));
	assert_false(args_valid_parent_cgroup(""));
	assert_false(args_valid_parent_cgroup("a b"));
}

static void test_path_flags(void **state)
{
	struct jailer_args a;

	(void)state;
	assert_int_equal(PARSE(&a, "--chroot-base-dir", "/srv/../etc"), -EINVAL);
	assert_non_null(strstr(err, "--chroot-base-dir"));
	assert_int_equal(PARSE(&a, "--chroot-base-dir", "relative"), -EINVAL);
	assert_int_equal(PARSE(&a, "--netns", "/run/netns/../x"), -EINVAL);
	assert_int_equal(PARSE(&a, "--netns", "n1"), -EINVAL);
	assert_int_equal(PARSE(&a, "--parent-cgroup", "/abs"), -EINVAL);
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--exec-file", "../ember",
					      "--uid", "1", "--gid", "1")), -EINVAL);
	assert_non_null(strstr(err, "--exec-file"));
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--exec-file", "/usr/bin/",
					      "--uid", "1", "--gid", "1")), -EINVAL);
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--exec-file", "ember",
					      "--uid", "1", "--gid", "1")), 0);
	assert_string_equal(args_exec_name("/usr/bin/ember"), "ember");
	assert_string_equal(args_exec_name("ember"), "ember");
}

static void test_cgroup_syntax(void **state)
{
	struct args_cgroup c;
	char long_file[80];

	(void)state;
	assert_int_equal(args_parse_cgroup("cpuset.cpus=0-3", &c), 0);
	assert_string_equal(c.file, "cpuset.cpus");
	assert_string_equal(c.value, "0-3");
	assert_int_equal(args_parse_cgroup("memory.swap.max=0", &c), 0);
	assert_string_equal(c.file, "memory.swap.max");
	assert_int_equal(args_parse_cgroup("cpu.max=max 100000", &c), 0);
	assert_string_equal(c.value, "max 100000");
	assert_int_equal(args_parse_cgroup("a.b=x=y", &c), 0);
	assert_string_equal(c.value, "x=y");

	assert_int_equal(args_parse_cgroup("zzz", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cpu=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cpu.shares=", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup(".cpu=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cpu.=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cpu..max=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("../cpu.max=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cpu/x.max=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("Cpu.max=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cpu.max=1\n2", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cgroup.procs=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cgroup.threads=1", &c), -EINVAL);
	assert_int_equal(args_parse_cgroup("cgroup.max.descendants=3", &c), 0);
	memset(long_file, 'a', sizeof(long_file));
	long_file[3] = '.';
	strcpy(long_file + 70, "=1");
	assert_int_equal(args_parse_cgroup(long_file, &c), -EINVAL);
}

static void test_cgroup_flags(void **state)
{
	struct jailer_args a;

	(void)state;
	assert_int_equal(PARSE(&a, "--cgroup", "nodot=1"), -EINVAL);
	assert_non_null(strstr(err, "--cgroup"));
	assert_int_equal(PARSE(&a, "--cgroup", "pids.max=1", "--cgroup", "pids.max=2"), -EINVAL);
	assert_int_equal(PARSE(&a, "--cgroup-version", "3"), -EINVAL);
	assert_int_equal(PARSE(&a, "--cgroup-version", "v2"), -EINVAL);
	assert_int_equal(PARSE(&a, "--cgroup-version", "1"), 0);
	assert_int_equal(a.cgroup_version, 1);
}

static void test_limits(void **state)
{
	struct jailer_args a;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(args_parse_limit("no-file=1", &a), 0);
	assert_int_equal(a.nofile.value, 1);
	assert_int_equal(args_parse_limit("no-file=1048576", &a), 0);
	assert_int_equal(args_parse_limit("no-file=1048577", &a), -EINVAL);
	assert_int_equal(args_parse_limit("no-file=0", &a), -EINVAL);
	assert_int_equal(args_parse_limit("fsize=0", &a), 0);
	assert_int_equal(args_parse_limit("fsize=18446744073709551615", &a), 0);
	assert_int_equal(a.fsize.value, UINT64_MAX);
	assert_int_equal(args_parse_limit("fsize=18446744073709551616", &a), -EINVAL);
	assert_int_equal(args_parse_limit("fsize=-1", &a), -EINVAL);
	assert_int_equal(args_parse_limit("fsize= 1", &a), -EINVAL);
	assert_int_equal(args_parse_limit("fsize=1k", &a), -EINVAL);
	assert_int_equal(args_parse_limit("fsize=", &a), -EINVAL);
	assert_int_equal(args_parse_limit("fsize", &a), -EINVAL);
	assert_int_equal(args_parse_limit("nofile=10", &a), -EINVAL);
	assert_int_equal(args_parse_limit("cpu=10", &a), -EINVAL);
	assert_int_equal(PARSE(&a, "--resource-limit", "stack=1"), -EINVAL);
	assert_non_null(strstr(err, "--resource-limit"));
}

static void test_uid_gid(void **state)
{
	struct jailer_args a;
	uint32_t v;

	(void)state;
	assert_int_equal(args_parse_id_num("0", &v), 0);
	assert_int_equal(args_parse_id_num("4294967294", &v), 0);
	assert_int_equal(v, 4294967294u);
	assert_int_equal(args_parse_id_num("4294967295", &v), -EINVAL);
	assert_int_equal(args_parse_id_num("-1", &v), -EINVAL);
	assert_int_equal(args_parse_id_num("zzz", &v), -EINVAL);
	assert_int_equal(args_parse_id_num("12a", &v), -EINVAL);
	assert_int_equal(args_parse_id_num("", &v), -EINVAL);
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--exec-file", "/e", "--uid", "x",
					      "--gid", "1")), -EINVAL);
	assert_non_null(strstr(err, "--uid"));
}

static void test_bad_command_lines(void **state)
{
	struct jailer_args a;

	(void)state;
	assert_int_equal(parse_words(&a, ARGV("--exec-file", "/e", "--uid", "1", "--gid", "1")), -EINVAL);
	assert_non_null(strstr(err, "--id is required"));
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--uid", "1", "--gid", "1")), -EINVAL);
	assert_non_null(strstr(err, "--exec-file is required"));
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--exec-file", "/e", "--gid", "1")), -EINVAL);
	assert_int_equal(parse_words(&a, ARGV("--id", "a", "--exec-file", "/e", "--uid", "1")), -EINVAL);
	assert_int_equal(PARSE(&a, "--bogus"), -EINVAL);
	assert_non_null(strstr(err, "unknown flag '--bogus'"));
	assert_int_equal(PARSE(&a, "stray"), -EINVAL);
	assert_int_equal(PARSE(&a, "--netns"), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(PARSE(&a, "--daemonize=1"), -EINVAL);
	assert_int_equal(PARSE(&a, "--id", "b"), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(PARSE(&a, "--", "--id", "x"), -EINVAL);
	assert_int_equal(PARSE(&a, "--", "--start-time-us", "1"), -EINVAL);
	assert_int_equal(PARSE(&a, "--", "--parent-cpu-time-us", "1"), -EINVAL);
	/* --version and --help need nothing else. */
	assert_int_equal(args_parse(&a, 2, ARGV("--version"), err, sizeof(err)), 0);
	assert_true(a.version);
	assert_int_equal(args_parse(&a, 2, ARGV("--help"), err, sizeof(err)), 0);
	assert_true(a.help);
}

/* write_cpulist: (dir)/node(n)/cpulist holding (text). */
static void write_cpulist(const char *dir, int n, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/node%d", dir, n);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/node%d/cpulist", dir, n);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* --node N, as Kata passes it: the node's memory and CPUs become cpuset files. */
static void test_node(void **state)
{
	char dir[] = "/tmp/jailer-nodes-XXXXXX";
	struct jailer_args a;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_cpulist(dir, 0, "0-3,8\n");
	write_cpulist(dir, 1, "\n");

	assert_int_equal(PARSE(&a, "--node", "0"), 0);
	assert_string_equal(a.node, "0");
	assert_int_equal(a.n_cgroups, 0);
	assert_int_equal(args_add_node(&a, dir, err, sizeof(err)), 0);
	assert_int_equal(a.n_cgroups, 2);
	assert_string_equal(a.cgroups[0].file, "cpuset.mems");
	assert_string_equal(a.cgroups[0].value, "0");
	assert_string_equal(a.cgroups[1].file, "cpuset.cpus");
	assert_string_equal(a.cgroups[1].value, "0-3,8");

	/* A --cgroup of the user's own wins over the node's. */
	assert_int_equal(PARSE(&a, "--node=0", "--cgroup", "cpuset.cpus=2"), 0);
	assert_int_equal(args_add_node(&a, dir, err, sizeof(err)), 0);
	assert_int_equal(a.n_cgroups, 2);
	assert_string_equal(a.cgroups[0].value, "2");
	assert_string_equal(a.cgroups[1].file, "cpuset.mems");

	/* No node: nothing added. */
	assert_int_equal(PARSE(&a, "--daemonize"), 0);
	assert_int_equal(args_add_node(&a, dir, err, sizeof(err)), 0);
	assert_int_equal(a.n_cgroups, 0);

	/* A node the host lacks, one without CPUs, and bad syntax. */
	assert_int_equal(PARSE(&a, "--node", "7"), 0);
	assert_int_equal(args_add_node(&a, dir, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "--node 7: cannot read"));
	assert_int_equal(PARSE(&a, "--node", "1"), 0);
	assert_int_equal(args_add_node(&a, dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "holds no CPU list"));
	assert_int_equal(PARSE(&a, "--node", "x"), -EINVAL);
	assert_non_null(strstr(err, "--node 'x': want a NUMA node number"));
	assert_int_equal(PARSE(&a, "--node", "1024"), -EINVAL);
	assert_int_equal(PARSE(&a, "--node", "0", "--node", "0"), -EINVAL);

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_and_defaults),
	    cmocka_unit_test(test_all_flags_and_extra_args),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_path_flags),
	    cmocka_unit_test(test_cgroup_syntax),
	    cmocka_unit_test(test_cgroup_flags),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_uid_gid),
	    cmocka_unit_test(test_bad_command_lines),
	    cmocka_unit_test(test_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
