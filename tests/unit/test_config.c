// SPDX-License-Identifier: Apache-2.0
/* test_config.c: command-line parsing and kernel command-line assembly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kernel_cmdline.h"
#include "layout.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* The kernel and initrd files the cases name: --kernel and --initrd must be readable. */
static const char *const boot_files[] = {"k", "k.elf", "i"};
static char dir[64], old_cwd[4096];

/* setup: run in a directory of its own that holds (boot_files). */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-config.XXXXXX");
	if (getcwd(old_cwd, sizeof(old_cwd)) == NULL || mkdtemp(dir) == NULL || chdir(dir) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(boot_files) / sizeof(boot_files[0]); i++) {
		int fd = open(boot_files[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(boot_files) / sizeof(boot_files[0]); i++)
		unlink(boot_files[i]);
	if (chdir(old_cwd) != 0)
		return -1;
	return rmdir(dir);
}

/* parse: (cfg) (zeroed, or parsed before: its strings are freed) from (argv). */
static enum config_action parse(struct vm_config *cfg, char **argv, int argc)
{
	config_free(cfg);
	config_defaults(cfg);
	return config_parse_args(cfg, argc, argv);
}

static void test_defaults(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *argv[] = {"ember", "--kernel", "k.elf", NULL};

	assert_int_equal(parse(&cfg, argv, ARGC(argv)), CONFIG_RUN);
	assert_string_equal(cfg.kernel_path, "k.elf");
	assert_null(cfg.initrd_path);
	assert_int_equal(cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	assert_int_equal(cfg.vcpus, 1);
	assert_false(cfg.boot_timer);
	assert_int_equal(cfg.nguest_args, 0);
	assert_int_equal(cfg.boot_entry, BOOT_ENTRY_AUTO);
	config_free(&cfg);
}

static void test_all_flags(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *argv[] = {"ember",	"--kernel", "k",    "--initrd", "i",	 "--cmdline",
			"a=b",		"--mem",    "4096", "--vcpus",	"32",	 "--boot-timer",
			"--boot-entry", "pvh",	    "--",   "echo",	"--mem", NULL};

	assert_int_equal(parse(&cfg, argv, ARGC(argv)), CONFIG_RUN);
	assert_string_equal(cfg.initrd_path, "i");
	assert_string_equal(cfg.cmdline, "a=b");
	assert_int_equal(cfg.mem_mib, 4096);
	assert_int_equal(cfg.vcpus, 32);
	assert_true(cfg.boot_timer);
	assert_int_equal(cfg.boot_entry, BOOT_ENTRY_PVH);
	/* Words after -- are the guest's, even when they look like flags. */
	assert_int_equal(cfg.nguest_args, 2);
	assert_string_equal(cfg.guest_args[0], "echo");
	assert_string_equal(cfg.guest_args[1], "--mem");
	config_free(&cfg);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"--mem", "0"},
	    {"--mem", "1"},
	    {"--mem", "-5"},
	    {"--mem", "12x"},
	    {"--mem", ""},
	    {"--mem", "1048577"},
	    {"--vcpus", "0"},
	    {"--vcpus", "33"},
	    {"--vcpus", "+2"},
	    {"--boot-entry", "bios"},
	    {"--mem", "99999999999999999999999"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_config cfg = {0};
		char *argv[] = {"ember", "--kernel", "k", (char *)cases[i][0], (char *)cases[i][1],
				NULL};
		assert_int_equal(parse(&cfg, argv, ARGC(argv)), CONFIG_INVALID);
		config_free(&cfg);
	}
}

static void test_structure_errors(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *no_kernel[] = {"ember", "--mem", "64", NULL};
	char *unknown[] = {"ember", "--kernel", "k", "--bogus", NULL};
	char *no_value[] = {"ember", "--kernel", "k", "--mem", NULL};
	char *stray[] = {"ember", "--kernel", "k", "stray", NULL};

	assert_int_equal(parse(&cfg, no_kernel, ARGC(no_kernel)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, unknown, ARGC(unknown)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, no_value, ARGC(no_value)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, stray, ARGC(stray)), CONFIG_INVALID);
	config_free(&cfg);
}

static void test_help_version(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *help[] = {"ember", "--help", NULL};
	char *version[] = {"ember", "--version", NULL};

	assert_int_equal(parse(&cfg, help, ARGC(help)), CONFIG_EXIT_OK);
	assert_int_equal(parse(&cfg, version, ARGC(version)), CONFIG_EXIT_OK);
	config_free(&cfg);
}

/*
 * Firecracker's default socket: served when neither --api-sock nor --no-api
 * is given and the command line describes no machine of ember's own.
 */
static void test_default_api_socket(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *bare[] = {"ember", NULL};
	char *config_file[] = {"ember", "--config-file", "vm.json", "--id", "x", NULL};
	char *no_api[] = {"ember", "--config-file", "vm.json", "--no-api", NULL};
	char *own[] = {"ember", "--api-sock", "/tmp/a.sock", NULL};
	char *kernel[] = {"ember", "--kernel", "k.elf", NULL};
	char *disk_only[] = {"ember", "--disk", "/dev/null", NULL};
	char *restore[] = {"ember", "--restore", "s", "--mem-file", "m", NULL};
	char *words[] = {"ember", "--", "hello", NULL};
	char *pci[] = {"ember", "--enable-pci", NULL};

	assert_int_equal(parse(&cfg, bare, ARGC(bare)), CONFIG_RUN);
	assert_string_equal(cfg.api_sock, CONFIG_DEFAULT_API_SOCK);
	assert_string_equal(cfg.api_sock, "/run/firecracker.socket");
	assert_int_equal(parse(&cfg, config_file, ARGC(config_file)), CONFIG_RUN);
	assert_string_equal(cfg.api_sock, CONFIG_DEFAULT_API_SOCK);
	assert_int_equal(parse(&cfg, no_api, ARGC(no_api)), CONFIG_RUN);
	assert_null(cfg.api_sock);
	assert_int_equal(parse(&cfg, own, ARGC(own)), CONFIG_RUN);
	assert_string_equal(cfg.api_sock, "/tmp/a.sock");
	/* ember's own command line stays a plain command, no socket. */
	assert_int_equal(parse(&cfg, kernel, ARGC(kernel)), CONFIG_RUN);
	assert_null(cfg.api_sock);
	assert_int_equal(parse(&cfg, restore, ARGC(restore)), CONFIG_RUN);
	assert_null(cfg.api_sock);
	/* A machine flag without a kernel is still the missing --kernel. */
	assert_int_equal(parse(&cfg, disk_only, ARGC(disk_only)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, words, ARGC(words)), CONFIG_INVALID);
	/* Firecracker's PCIe flag: refused by name, ember is virtio-mmio only. */
	assert_int_equal(parse(&cfg, pci, ARGC(pci)), CONFIG_INVALID);
	config_free(&cfg);
}

/*
 * --restore takes --net and --vsock as overrides and nothing else that
 * describes a machine; a restore server describes none; --restore-via is a
 * restore, without overrides.
 */
static void test_restore_flag_rules(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *net[] = {"ember", "--restore", "s", "--mem-file", "m", "--net", "tap0", NULL};
	char vsock_spec[] = "3,/tmp/v"; /* parsed in place, as argv is */
	char *vsock[] = {"ember", "--restore", "s", "--mem-file", "m", "--vsock", vsock_spec, NULL};
	char *disk[] = {"ember", "--restore", "s", "--mem-file", "m", "--disk", "/dev/null", NULL};
	char *rng[] = {"ember", "--restore", "s", "--mem-file", "m", "--rng", NULL};
	char *server[] = {"ember", "--restore-server", "/tmp/s.sock", NULL};
	char *server_kernel[] = {"ember", "--restore-server", "/tmp/s", "--kernel", "k", NULL};
	char *server_api[] = {"ember", "--restore-server", "/tmp/s", "--api-sock", "/tmp/a", NULL};
	char *via[] = {"ember", "--restore",	 "s",	   "--mem-file",
		       "m",	"--restore-via", "/tmp/s", NULL};
	char *via_alone[] = {"ember", "--restore-via", "/tmp/s", NULL};
	char *via_net[] = {"ember",	    "--restore", "s",	  "--mem-file", "m",
			   "--restore-via", "/tmp/s",	 "--net", "tap0",	NULL};

	assert_int_equal(parse(&cfg, net, ARGC(net)), CONFIG_RUN);
	assert_int_equal(cfg.nnets, 1);
	assert_int_equal(parse(&cfg, vsock, ARGC(vsock)), CONFIG_RUN);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(parse(&cfg, disk, ARGC(disk)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, rng, ARGC(rng)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, server, ARGC(server)), CONFIG_RUN);
	assert_string_equal(cfg.restore_server, "/tmp/s.sock");
	assert_null(cfg.api_sock); /* no default socket: the server is no API */
	assert_int_equal(parse(&cfg, server_kernel, ARGC(server_kernel)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, server_api, ARGC(server_api)), CONFIG_INVALID);
	char *prewarm[] = {"ember",	"--restore-server", "/tmp/s",
			   "--prewarm", "a.snap,a.mem",	    NULL};
	char *prewarm_alone[] = {"ember",      "--prewarm", "a.snap,a.mem",
				 "--api-sock", "/tmp/a",    NULL};
	char *prewarm_bad[] = {"ember", "--restore-server", "/tmp/s", "--prewarm", "a.snap", NULL};
	char *prewarm_five[] = {"ember",  "--restore-server",
				"/tmp/s", "--prewarm",
				"a,1",	  "--prewarm",
				"b,2",	  "--prewarm",
				"c,3",	  "--prewarm",
				"d,4",	  "--prewarm",
				"e,5",	  NULL};
	char *prewarm_pool[] = {"ember",     "--restore-server", "/tmp/s",
				"--prewarm", "a.snap,m,x,4096",	 NULL};
	char *prewarm_commas[] = {"ember",     "--restore-server", "/tmp/s",
				  "--prewarm", "a,m,x,y",	   NULL};
	char *prewarm_zero[] = {"ember", "--restore-server", "/tmp/s", "--prewarm", "a,m,0", NULL};
	char *prewarm_many[] = {"ember",     "--restore-server", "/tmp/s",
				"--prewarm", "a,m,4097",	 NULL};
	char *prewarm_huge[] = {"ember",     "--restore-server",	 "/tmp/s",
				"--prewarm", "a,m,99999999999999999999", NULL};
	char *prewarm_no_mem[] = {"ember", "--restore-server", "/tmp/s", "--prewarm", "a,,3", NULL};
	assert_int_equal(parse(&cfg, prewarm, ARGC(prewarm)), CONFIG_RUN);
	assert_int_equal(cfg.nprewarm, 1);
	assert_string_equal(cfg.prewarm[0].snapshot, "a.snap");
	assert_string_equal(cfg.prewarm[0].mem, "a.mem");
	assert_int_equal(cfg.prewarm[0].count, 1);
	assert_int_equal(parse(&cfg, prewarm_pool, ARGC(prewarm_pool)), CONFIG_RUN);
	assert_string_equal(cfg.prewarm[0].mem, "m,x"); /* the last ",N" is COUNT */
	assert_int_equal(cfg.prewarm[0].count, 4096);
	assert_int_equal(parse(&cfg, prewarm_commas, ARGC(prewarm_commas)), CONFIG_RUN);
	assert_string_equal(cfg.prewarm[0].mem, "m,x,y"); /* no digits: all of it is MEM */
	assert_int_equal(cfg.prewarm[0].count, 1);
	assert_int_equal(parse(&cfg, prewarm_zero, ARGC(prewarm_zero)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, prewarm_many, ARGC(prewarm_many)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, prewarm_huge, ARGC(prewarm_huge)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, prewarm_no_mem, ARGC(prewarm_no_mem)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, prewarm_alone, ARGC(prewarm_alone)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, prewarm_bad, ARGC(prewarm_bad)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, prewarm_five, ARGC(prewarm_five)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, via, ARGC(via)), CONFIG_RUN);
	assert_int_equal(parse(&cfg, via_alone, ARGC(via_alone)), CONFIG_INVALID);
	assert_int_equal(parse(&cfg, via_net, ARGC(via_net)), CONFIG_INVALID);
	config_free(&cfg);
}

/* render: the line (cfg)'s base and guest words give with one attach step's (extra). */
static int render(const struct vm_config *cfg, const char *extra, char *out, size_t size)
{
	struct kernel_cmdline k;

	kernel_cmdline_init(&k, cfg->cmdline);
	if (extra != NULL)
		kernel_cmdline_add(&k, "%s", extra);
	return kernel_cmdline_render(&k, cfg->guest_args, cfg->nguest_args, out, size, NULL);
}

/* Attach steps add their parts in build order, all before the base's init words. */
static void test_cmdline_parts_in_build_order(void **state)
{
	(void)state;
	struct kernel_cmdline k;
	char out[LAYOUT_CMDLINE_MAX];
	char *args[] = {"x"};

	kernel_cmdline_init(&k, "console=ttyS0 -- init-word");
	assert_false(kernel_cmdline_base_has(&k, "root="));
	kernel_cmdline_add(&k, "root=/dev/vda %s", "ro");
	kernel_cmdline_add(&k, "virtio_mmio.device=4K@0x%x:%u", 0xc0001000, 5);
	kernel_cmdline_add(&k, "virtio_mmio.device=4K@0x%x:%u", 0xc0002000, 6);
	assert_true(kernel_cmdline_render(&k, args, 1, out, sizeof(out), NULL) > 0);
	assert_string_equal(out,
			    "console=ttyS0 root=/dev/vda ro virtio_mmio.device=4K@0xc0001000:5 "
			    "virtio_mmio.device=4K@0xc0002000:6 -- init-word -- x");
	/* root= counts only as a word of its own: nfsroot= is another option. */
	kernel_cmdline_init(&k, "nfsroot=/x root=/dev/vdb");
	assert_true(kernel_cmdline_base_has(&k, "root="));
	kernel_cmdline_init(&k, "nfsroot=/x");
	assert_false(kernel_cmdline_base_has(&k, "root="));
	/* NULL: the default. */
	kernel_cmdline_init(&k, NULL);
	assert_true(kernel_cmdline_render(&k, NULL, 0, out, sizeof(out), NULL) > 0);
	assert_string_equal(out, CONFIG_DEFAULT_CMDLINE);
	/* A part that does not fit fails the whole line, never a cut one. */
	kernel_cmdline_init(&k, "a");
	for (int i = 0; i < (int)(LAYOUT_CMDLINE_MAX / 8); i++)
		kernel_cmdline_add(&k, "part%04d", i);
	assert_true(k.overflow);
	assert_int_equal(kernel_cmdline_render(&k, NULL, 0, out, sizeof(out), NULL), -E2BIG);
}

static void test_cmdline_default_and_args(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char out[LAYOUT_CMDLINE_MAX];
	char *argv[] = {"ember", "--kernel", "k", "--", "/bin/sh", "-c", "exit 3", NULL};

	assert_int_equal(parse(&cfg, argv, ARGC(argv)), CONFIG_RUN);
	int len = render(&cfg, NULL, out, sizeof(out));
	assert_int_equal(len, (int)strlen(out));
	assert_string_equal(out, CONFIG_DEFAULT_CMDLINE " -- /bin/sh -c \"exit 3\"");
	config_free(&cfg);
}

static void test_cmdline_quotes_guest_args(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char out[LAYOUT_CMDLINE_MAX];
	char *argv[] = {"ember", "--kernel",	     "k", "--cmdline", "c", "--", "/bin/sh",
			"-c",	 "uname -r; exit 3", "",  NULL};

	assert_int_equal(parse(&cfg, argv, ARGC(argv)), CONFIG_RUN);
	assert_true(render(&cfg, NULL, out, sizeof(out)) > 0);
	assert_string_equal(out, "c -- /bin/sh -c \"uname -r; exit 3\" \"\"");
	config_free(&cfg); /* what follows is the test's own, not the config's */
	char *bad[] = {"say \"hi\""};
	cfg.guest_args = bad;
	cfg.nguest_args = 1;
	assert_int_equal(render(&cfg, NULL, out, sizeof(out)), -EINVAL);
}

/* Devices and root= go before a "--" in the base: words after it are init's. */
static void test_cmdline_add_before_init_args(void **state)
{
	(void)state;
	char out[LAYOUT_CMDLINE_MAX];

	assert_int_equal(kernel_cmdline_insert("console=ttyS0 -- sleep 5", "dev", out, sizeof(out)),
			 (int)strlen("console=ttyS0 dev -- sleep 5"));
	assert_string_equal(out, "console=ttyS0 dev -- sleep 5");
	kernel_cmdline_insert("-- a", "dev", out, sizeof(out));
	assert_string_equal(out, "dev -- a");
	kernel_cmdline_insert("a --", "dev", out, sizeof(out));
	assert_string_equal(out, "a dev --");
	/* Not a standalone "--": an option, an argument in quotes, a longer word. */
	kernel_cmdline_insert("a --x b-- \"q -- q\" ---", "dev", out, sizeof(out));
	assert_string_equal(out, "a --x b-- \"q -- q\" --- dev");
	kernel_cmdline_insert("a  ", "dev", out, sizeof(out));
	assert_string_equal(out, "a dev");
	kernel_cmdline_insert("", "dev", out, sizeof(out));
	assert_string_equal(out, "dev");
	kernel_cmdline_insert("a -- b", NULL, out, sizeof(out));
	assert_string_equal(out, "a -- b");
	assert_int_equal(kernel_cmdline_insert("a -- b", "dev", out, strlen("a dev -- b")), -E2BIG);
	assert_int_equal(kernel_cmdline_insert("a -- b", "dev", out, strlen("a dev -- b") + 1),
			 (int)strlen("a dev -- b"));
	assert_int_equal(kernel_cmdline_insert("abc", NULL, out, 3), -E2BIG);
}

static void test_cmdline_extra_and_replaced(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char out[LAYOUT_CMDLINE_MAX];
	char *argv[] = {"ember", "--kernel", "k", "--cmdline", "console=ttyS0", NULL};

	assert_int_equal(parse(&cfg, argv, ARGC(argv)), CONFIG_RUN);
	assert_true(render(&cfg, "virtio_mmio.device=4K@0xc0001000:5", out, sizeof(out)) > 0);
	assert_string_equal(out, "console=ttyS0 virtio_mmio.device=4K@0xc0001000:5");
	/* An empty base with only guest args (the test's own strings). */
	config_free(&cfg);
	cfg.cmdline = "";
	char *args[] = {"x"};
	cfg.guest_args = args;
	cfg.nguest_args = 1;
	assert_true(render(&cfg, NULL, out, sizeof(out)) > 0);
	assert_string_equal(out, "-- x");
}

static void test_cmdline_limit(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char out[16];

	config_defaults(&cfg);
	cfg.cmdline = "0123456789abcde"; /* 15 chars + NUL fits exactly */
	assert_int_equal(render(&cfg, NULL, out, sizeof(out)), 15);
	cfg.cmdline = "0123456789abcdef"; /* one too many */
	assert_int_equal(render(&cfg, NULL, out, sizeof(out)), -E2BIG);
	cfg.cmdline = "0123456789";
	char *args[] = {"abc"};
	cfg.guest_args = args;
	cfg.nguest_args = 1; /* "0123456789 -- abc" is 17 */
	assert_int_equal(render(&cfg, NULL, out, sizeof(out)), -E2BIG);
}

static void test_net_and_vsock_specs(void **state)
{
	(void)state;
	struct net_config net;
	struct vsock_config vs;
	char ok1[] = "tap0", ok2[] = "tap1,mac=02:AB:cd:00:11:ff";
	char bad1[] = "", bad2[] = "tap0,mac=02:ab:cd:00:11", bad3[] = "tap0,mac=02:ab:cd:00:11:zz";
	char bad4[] = "tap0,ro", bad5[] = "tap0,mac=02:ab:cd:00:11:ff:00";

	assert_int_equal(config_parse_net(ok1, &net), 0);
	assert_string_equal(net.host_dev_name, "tap0");
	assert_false(net.has_mac);
	assert_int_equal(config_parse_net(ok2, &net), 0);
	assert_true(net.has_mac);
	assert_int_equal(net.guest_mac[0], 0x02);
	assert_int_equal(net.guest_mac[1], 0xab);
	assert_int_equal(net.guest_mac[5], 0xff);
	assert_int_equal(config_parse_net(bad1, &net), -EINVAL);
	assert_int_equal(config_parse_net(bad2, &net), -EINVAL);
	assert_int_equal(config_parse_net(bad3, &net), -EINVAL);
	assert_int_equal(config_parse_net(bad4, &net), -EINVAL);
	assert_int_equal(config_parse_net(bad5, &net), -EINVAL);

	char v1[] = "3,/tmp/v.sock", v2[] = "2,/tmp/v.sock", v3[] = "x,/tmp/v", v4[] = "5",
	     v5[] = "5,", v6[] = "4294967296,/tmp/v";
	assert_int_equal(config_parse_vsock(v1, &vs), 0);
	assert_true(vs.enabled);
	assert_int_equal(vs.guest_cid, 3);
	assert_string_equal(vs.uds_path, "/tmp/v.sock");
	/* A number that fits: whether a guest may have it is res_vsock_set's (test_resources). */
	assert_int_equal(config_parse_vsock(v2, &vs), 0);
	assert_int_equal(vs.guest_cid, 2);
	assert_int_equal(config_parse_vsock(v3, &vs), -EINVAL);
	assert_int_equal(config_parse_vsock(v4, &vs), -EINVAL);
	assert_int_equal(config_parse_vsock(v5, &vs), -EINVAL);
	assert_int_equal(config_parse_vsock(v6, &vs), -EINVAL);
}

static void test_device_limit(void **state)
{
	(void)state;
	struct vm_config cfg = {0};
	char *argv[2 + 2 * (CONFIG_MAX_DEVICES + 1) + 1];
	static char paths[CONFIG_MAX_DEVICES + 1][16]; /* --disk splits its value in place */
	int argc = 0;

	argv[argc++] = "ember";
	argv[argc++] = "--kernel=k";
	for (int i = 0; i <= CONFIG_MAX_DEVICES; i++) {
		argv[argc++] = "--disk";
		memcpy(paths[i], "/dev/null",
		       sizeof("/dev/null")); /* readable, as a disk must be */
		argv[argc++] = paths[i];
	}
	argv[argc] = NULL;
	assert_int_equal(parse(&cfg, argv, argc), CONFIG_INVALID);
	assert_int_equal(cfg.ndisks, CONFIG_MAX_DEVICES);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_flags),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_help_version),
	    cmocka_unit_test(test_default_api_socket),
	    cmocka_unit_test(test_restore_flag_rules),
	    cmocka_unit_test(test_cmdline_parts_in_build_order),
	    cmocka_unit_test(test_cmdline_default_and_args),
	    cmocka_unit_test(test_cmdline_quotes_guest_args),
	    cmocka_unit_test(test_cmdline_add_before_init_args),
	    cmocka_unit_test(test_cmdline_extra_and_replaced),
	    cmocka_unit_test(test_cmdline_limit),
	    cmocka_unit_test(test_net_and_vsock_specs),
	    cmocka_unit_test(test_device_limit),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
