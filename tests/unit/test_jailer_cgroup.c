// SPDX-License-Identifier: Apache-2.0
/* test_jailer_cgroup.c: which cgroup directories ember-jailer plans, from a mount table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "args.h"
#include "cgroup.h"

/* This host's layout: v1 controllers each on their own mount, plus cgroup2. */
static const char hybrid[] =
	"proc /proc proc rw,relatime 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n"
	"cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
	"cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime,nsdelegate 0 0\n";

static const char unified[] =
	"/dev/vda / ext4 rw,relatime 0 0\n"
	"cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n";

static const char none[] = "/dev/vda / ext4 rw,relatime 0 0\n";

static struct jailer_args args(int version, const char *parent)
{
	struct jailer_args a;

	memset(&a, 0, sizeof(a));
	a.id = "vm-1";
	a.exec_file = "/usr/bin/ember";
	a.cgroup_version = version;
	a.parent_cgroup = parent;
	return a;
}

static void add(struct jailer_args *a, const char *kv)
{
	assert_int_equal(args_parse_cgroup(kv, &a->cgroups[a->n_cgroups]), 0);
	a->n_cgroups++;
}

static void test_v1_one_dir_per_hierarchy(void **state)
{
	struct jailer_args a = args(1, NULL);
	struct cgroups cg;
	struct jerr e;

	(void)state;
	add(&a, "cpu.shares=10");
	add(&a, "cpuacct.usage=0");
	add(&a, "pids.max=50");
	add(&a, "cpuset.cpus=0");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), 0);
	assert_int_equal(cg.version, 1);
	assert_int_equal(cg.n_dirs, 3);
	assert_string_equal(cg.dirs[0].path, "/sys/fs/cgroup/cpu,cpuacct/ember/vm-1");
	assert_string_equal(cg.dirs[1].path, "/sys/fs/cgroup/pids/ember/vm-1");
	assert_string_equal(cg.dirs[2].path, "/sys/fs/cgroup/cpuset/ember/vm-1");
	assert_false(cg.dirs[0].cpuset);
	assert_true(cg.dirs[2].cpuset);
	assert_int_equal(cg.dir_of[0], 0);
	assert_int_equal(cg.dir_of[1], 0);
	assert_int_equal(cg.dir_of[2], 1);
	assert_int_equal(cg.dir_of[3], 2);
}

static void test_v1_parent_and_missing_controller(void **state)
{
	struct jailer_args a = args(1, "all_uvms/external");
	struct cgroups cg;
	struct jerr e;

	(void)state;
	add(&a, "pids.max=5");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), 0);
	assert_string_equal(cg.dirs[0].path, "/sys/fs/cgroup/pids/all_uvms/external/vm-1");

	add(&a, "memory.limit_in_bytes=1");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), -ENOENT);
	assert_non_null(strstr(e.what, "'memory'"));
	/* "name=systemd" is a name, not a controller called "systemd". */
	a = args(1, NULL);
	add(&a, "systemd.x=1");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), -ENOENT);
}

static void test_v2_always_one_cgroup(void **state)
{
	struct jailer_args a = args(2, NULL);
	struct cgroups cg;
	struct jerr e;

	(void)state;
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), 0);
	assert_int_equal(cg.version, 2);
	assert_int_equal(cg.n_dirs, 1);
	assert_string_equal(cg.dirs[0].path, "/sys/fs/cgroup/unified/ember/vm-1");
	assert_int_equal(cg.n_enable, 0);

	add(&a, "cpu.max=50000 100000");
	add(&a, "cpu.weight=10");
	add(&a, "memory.swap.max=0");
	add(&a, "cgroup.max.descendants=0");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", unified, &e), 0);
	assert_string_equal(cg.dirs[0].path, "/sys/fs/cgroup/ember/vm-1");
	/* Each controller once; core "cgroup." files need none. */
	assert_int_equal(cg.n_enable, 2);
	assert_string_equal(cg.enable[0], "cpu");
	assert_string_equal(cg.enable[1], "memory");
	for (size_t i = 0; i < a.n_cgroups; i++)
		assert_int_equal(cg.dir_of[i], 0);
}

static void test_auto_version(void **state)
{
	struct jailer_args a = args(0, NULL);
	struct cgroups cg;
	struct jerr e;

	(void)state;
	/* cgroup2-only host: v2, and the VM gets its cgroup even without --cgroup. */
	assert_int_equal(cgroup_plan(&cg, &a, "ember", unified, &e), 0);
	assert_int_equal(cg.version, 2);
	assert_int_equal(cg.n_dirs, 1);
	/* Hybrid host, no --cgroup: Firecracker's default v1 makes nothing. */
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), 0);
	assert_int_equal(cg.n_dirs, 0);
	add(&a, "pids.max=5");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", hybrid, &e), 0);
	assert_int_equal(cg.version, 1);
	assert_int_equal(cg.n_dirs, 1);
	/* No cgroups mounted, none asked for: fine. */
	a = args(0, NULL);
	assert_int_equal(cgroup_plan(&cg, &a, "ember", none, &e), 0);
	assert_int_equal(cg.n_dirs, 0);
}

static void test_missing_hierarchy(void **state)
{
	struct jailer_args a = args(2, NULL);
	struct cgroups cg;
	struct jerr e;

	(void)state;
	assert_int_equal(cgroup_plan(&cg, &a, "ember", none, &e), -ENOENT);
	assert_non_null(strstr(e.what, "cgroup2"));
	a = args(1, NULL);
	add(&a, "pids.max=1");
	assert_int_equal(cgroup_plan(&cg, &a, "ember", unified, &e), -ENOENT);
}

static void test_bad_exec_name_as_parent(void **state)
{
	struct jailer_args a = args(2, NULL);
	struct cgroups cg;
	struct jerr e;

	(void)state;
	assert_int_equal(cgroup_plan(&cg, &a, "ember vm", unified, &e), -EINVAL);
	a = args(2, "ok");
	assert_int_equal(cgroup_plan(&cg, &a, "ember vm", unified, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_one_dir_per_hierarchy),
		cmocka_unit_test(test_v1_parent_and_missing_controller),
		cmocka_unit_test(test_v2_always_one_cgroup),
		cmocka_unit_test(test_auto_version),
		cmocka_unit_test(test_missing_hierarchy),
		cmocka_unit_test(test_bad_exec_name_as_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
