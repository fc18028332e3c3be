// SPDX-License-Identifier: Apache-2.0
/* test_config_json.c: Firecracker's JSON bodies and config file <-> struct vm_config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_json.h"

static char dir[64], kernel[128], initrd[128], disk1[128], disk2[128];
static struct vm_config cfg;
static char err[CONFIG_JSON_ERR_MAX];

static void touch(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static int setup_all(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ember-cj.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	touch(kernel, sizeof(kernel), "vmlinux");
	touch(initrd, sizeof(initrd), "initrd");
	touch(disk1, sizeof(disk1), "disk1");
	touch(disk2, sizeof(disk2), "disk2");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	unlink(kernel);
	unlink(initrd);
	unlink(disk1);
	unlink(disk2);
	rmdir(dir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	err[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

static int put(enum config_resource res, const char *id, const char *body)
{
	return config_json_put(&cfg, res, id, body, strlen(body), err, sizeof(err));
}

/* bad: the body is refused and the message contains (needle). */
#define bad(res, id, body, needle)                                                                 \
	do {                                                                                       \
		assert_int_equal(put(res, id, body), -EINVAL);                                     \
		if (strstr(err, needle) == NULL)                                                   \
			fail_msg("error '%s' lacks '%s'", err, needle);                            \
	} while (0)
#define good(res, id, body)                                                                        \
	do {                                                                                       \
		if (put(res, id, body) != 0)                                                       \
			fail_msg("refused: %s", err);                                              \
	} while (0)

/* ---------------------------------------------------------------- machine-config */

static void test_machine_ok(void **state)
{
	(void)state;
	good(CONFIG_RES_MACHINE, NULL,
	     "{\"vcpu_count\": 4, \"mem_size_mib\": 512, \"smt\": true, \"track_dirty_pages\": "
	     "true, \"cpu_template\": \"None\", \"huge_pages\": \"None\"}");
	assert_int_equal(cfg.vcpus, 4);
	assert_int_equal(cfg.mem_mib, 512);
	assert_true(cfg.smt);
	assert_true(cfg.track_dirty_pages);
	/* A PUT replaces: smt and track_dirty_pages fall back to false. */
	good(CONFIG_RES_MACHINE, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128}");
	assert_false(cfg.smt);
	assert_false(cfg.track_dirty_pages);
	char *s = config_json_machine(&cfg);
	assert_string_equal(s, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
			       "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	free(s);
}

static void test_machine_bad(void **state)
{
	(void)state;
	const enum config_resource M = CONFIG_RES_MACHINE;
	bad(M, NULL, "{\"mem_size_mib\": 128}", "vcpu_count: missing required field");
	bad(M, NULL, "{\"vcpu_count\": 1}", "mem_size_mib: missing required field");
	bad(M, NULL, "{\"vcpu_count\": 0, \"mem_size_mib\": 128}", "vcpu_count: 0 is out of range");
	bad(M, NULL, "{\"vcpu_count\": 33, \"mem_size_mib\": 128}",
	    "vcpu_count: 33 is out of range");
	bad(M, NULL, "{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
	    "vcpu_count: -1 is out of range");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 0}", "mem_size_mib: 0 is out of range");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 1}", "mem_size_mib: 1 is out of range");
	bad(M, NULL, "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}",
	    "vcpu_count: expected an integer, got a string");
	bad(M, NULL, "{\"vcpu_count\": 1.5, \"mem_size_mib\": 128}",
	    "vcpu_count: expected an integer, got a number");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": true}",
	    "mem_size_mib: expected an integer, got a boolean");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": 1}",
	    "smt: expected a boolean, got an integer");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"track_dirty_pages\": \"yes\"}",
	    "track_dirty_pages: expected a boolean, got a string");
	bad(M, NULL, "{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}",
	    "must be 1 or even");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"Z9\"}",
	    "cpu_template: 'Z9' is not one of C3, T2, T2S, T2CL, T2A, None");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"t2\"}",
	    "cpu_template: 't2' is not one of");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"V1N1\"}",
	    "cpu_template: 'V1N1' is for aarch64 hosts");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": 2}",
	    "cpu_template: expected a string, got an integer");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2MB\"}",
	    "huge_pages: '2MB' is not one of None, 2M, Transparent");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": 2}",
	    "huge_pages: expected a string");
	bad(M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"vcpus\": 2}",
	    "vcpus: unknown field (expected one of: vcpu_count, mem_size_mib");
	/* Nothing changed. */
	assert_int_equal(cfg.vcpus, 1);
	assert_int_equal(cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
}

static void test_machine_patch(void **state)
{
	(void)state;
	good(CONFIG_RES_MACHINE, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true}");
	good(CONFIG_RES_MACHINE_PATCH, NULL, "{\"mem_size_mib\": 512}");
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(cfg.mem_mib, 512);
	assert_true(cfg.smt);
	bad(CONFIG_RES_MACHINE_PATCH, NULL, "{\"vcpu_count\": 3}", "must be 1 or even");
	bad(CONFIG_RES_MACHINE_PATCH, NULL, "{\"vcpu_count\": 0}", "out of range");
}

static void test_body_shape(void **state)
{
	(void)state;
	bad(CONFIG_RES_MACHINE, NULL, "", "needs a JSON body");
	bad(CONFIG_RES_MACHINE, NULL, "[1, 2]", "must be a JSON object, got an array");
	bad(CONFIG_RES_MACHINE, NULL, "\"x\"", "must be a JSON object");
	bad(CONFIG_RES_MACHINE, NULL, "{\"vcpu_count\": 1,", "invalid JSON at line 1");
	bad(CONFIG_RES_MACHINE, NULL, "{\"vcpu_count\": 1, \"vcpu_count\": 2, \"mem_size_mib\": 2}",
	    "duplicate");
	bad(CONFIG_RES_MACHINE, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128} x",
	    "invalid JSON");
}

/* ---------------------------------------------------------------- boot-source */

static void test_boot_source(void **state)
{
	(void)state;
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", \"boot_args\": "
		 "\"console=ttyS0\"}",
		 kernel, initrd);
	good(CONFIG_RES_BOOT_SOURCE, NULL, body);
	assert_string_equal(cfg.kernel_path, kernel);
	assert_string_equal(cfg.initrd_path, initrd);
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	/* A PUT replaces the whole source: no initrd, default boot args. */
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", kernel);
	good(CONFIG_RES_BOOT_SOURCE, NULL, body);
	assert_null(cfg.initrd_path);
	assert_null(cfg.cmdline);

	bad(CONFIG_RES_BOOT_SOURCE, NULL, "{\"boot_args\": \"x\"}",
	    "kernel_image_path: missing required field");
	bad(CONFIG_RES_BOOT_SOURCE, NULL, "{\"kernel_image_path\": \"/nonexistent/vmlinux\"}",
	    "kernel_image_path: cannot open '/nonexistent/vmlinux'");
	bad(CONFIG_RES_BOOT_SOURCE, NULL, "{\"kernel_image_path\": \"\"}",
	    "kernel_image_path: an empty path");
	bad(CONFIG_RES_BOOT_SOURCE, NULL, "{\"kernel_image_path\": 5}",
	    "kernel_image_path: expected a string, got an integer");
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"/nonexistent\"}", kernel);
	bad(CONFIG_RES_BOOT_SOURCE, NULL, body, "initrd_path: cannot open");
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": []}", kernel);
	bad(CONFIG_RES_BOOT_SOURCE, NULL, body, "boot_args: expected a string, got an array");
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"kernel\": 1}", kernel);
	bad(CONFIG_RES_BOOT_SOURCE, NULL, body, "kernel: unknown field");
	/* Refused bodies changed nothing. */
	assert_string_equal(cfg.kernel_path, kernel);
}

static void test_boot_args_too_long(void **state)
{
	(void)state;
	char *body = malloc(4096);
	char *args = malloc(3000);

	memset(args, 'a', 2999);
	args[2999] = '\0';
	snprintf(body, 4096, "{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}", kernel,
		 args);
	bad(CONFIG_RES_BOOT_SOURCE, NULL, body, "boot_args: longer than 2047 bytes");
	free(body);
	free(args);
}

/* ---------------------------------------------------------------- drives */

static void drive_body(char *out, size_t size, const char *id, const char *path, bool root,
		       const char *extra)
{
	snprintf(out, size,
		 "{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", \"is_root_device\": %s, "
		 "\"is_read_only\": false%s}",
		 id, path, root ? "true" : "false", extra);
}

static void test_drives(void **state)
{
	(void)state;
	char body[1024];

	drive_body(body, sizeof(body), "data", disk2, false,
		   ", \"cache_type\": \"Writeback\", \"io_engine\": \"Async\"");
	good(CONFIG_RES_DRIVE, "data", body);
	drive_body(body, sizeof(body), "rootfs", disk1, true,
		   ", \"partuuid\": \"0eaa91a0-01\", \"rate_limiter\": {\"bandwidth\": {\"size\": "
		   "1000, \"refill_time\": 100, \"one_time_burst\": 5}, \"ops\": {\"size\": 10, "
		   "\"refill_time\": 1000}}");
	good(CONFIG_RES_DRIVE, "rootfs", body);
	/* The root device goes first: it is /dev/vda. */
	assert_int_equal(cfg.ndisks, 2);
	assert_string_equal(cfg.disks[0].id, "rootfs");
	assert_true(cfg.disks[0].is_root);
	assert_string_equal(cfg.disks[0].partuuid, "0eaa91a0-01");
	assert_string_equal(cfg.disks[0].path, disk1);
	assert_true(cfg.disks[0].limiter.bandwidth.set);
	assert_int_equal(cfg.disks[0].limiter.bandwidth.size, 1000);
	assert_int_equal(cfg.disks[0].limiter.bandwidth.one_time_burst, 5);
	assert_int_equal(cfg.disks[0].limiter.ops.refill_time, 1000);
	assert_string_equal(cfg.disks[1].id, "data");
	assert_int_equal(cfg.disks[1].engine, DISK_ENGINE_IO_URING);
	assert_int_equal(cfg.disks[1].cache, DISK_CACHE_WRITEBACK);

	/* Same id: replaced in place. */
	drive_body(body, sizeof(body), "data", disk1, false, ", \"is_read_only\": true");
	bad(CONFIG_RES_DRIVE, "data", body, "duplicate");
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false, "
		 "\"is_read_only\": true}",
		 disk1);
	good(CONFIG_RES_DRIVE, "data", body);
	assert_int_equal(cfg.ndisks, 2);
	assert_true(cfg.disks[1].read_only);
	assert_int_equal(cfg.disks[1].engine, DISK_ENGINE_SYNC);

	/* A second root device. */
	drive_body(body, sizeof(body), "other", disk2, true, "");
	bad(CONFIG_RES_DRIVE, "other", body, "is_root_device: a root block device already exists");
	assert_int_equal(cfg.ndisks, 2);
}

static void test_drives_bad(void **state)
{
	(void)state;
	char body[1024];
	const enum config_resource D = CONFIG_RES_DRIVE;

	drive_body(body, sizeof(body), "a", disk1, false, "");
	bad(D, "b", body, "drive_id: 'a' does not match the id in the path ('b')");
	drive_body(body, sizeof(body), "a-b", disk1, false, "");
	bad(D, "a-b", body, "drive_id: 'a-b' may hold only alphanumeric characters and '_'");
	drive_body(body, sizeof(body), "abcdefghijklmnopqrstu", disk1, false, "");
	bad(D, NULL, body, "must be 1 to 20 characters");
	drive_body(body, sizeof(body), "a", "/nonexistent/disk", false, "");
	bad(D, "a", body, "path_on_host: cannot open");
	bad(D, "a", "{\"drive_id\": \"a\", \"is_root_device\": false}",
	    "path_on_host: missing required field");
	snprintf(body, sizeof(body), "{\"drive_id\": \"a\", \"path_on_host\": \"%s\"}", disk1);
	bad(D, "a", body, "is_root_device: missing required field");
	bad(D, "a", "{\"path_on_host\": \"x\", \"is_root_device\": false}",
	    "drive_id: missing required field");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"cache_type\": \"None\"");
	bad(D, "a", body, "cache_type: 'None' is not one of Unsafe, Writeback");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"io_engine\": \"io_uring\"");
	bad(D, "a", body, "io_engine: 'io_uring' is not one of Sync, Async");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"partuuid\": \"a b\"");
	bad(D, "a", body, "partuuid: 'a b' must be");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"is_read_only\": 0");
	bad(D, "a", body, "duplicate");
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"a\", \"path_on_host\": \"%s\", \"is_root_device\": \"no\"}",
		 disk1);
	bad(D, "a", body, "is_root_device: expected a boolean, got a string");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"socket\": \"/tmp/vhost\"");
	bad(D, "a", body, "socket: vhost-user block devices are not supported");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"rate_limiter\": {\"bandwidth\": 5}");
	bad(D, "a", body, "rate_limiter.bandwidth: expected an object, got an integer");
	drive_body(body, sizeof(body), "a", disk1, false,
		   ", \"rate_limiter\": {\"bandwidth\": {\"refill_time\": 1}}");
	bad(D, "a", body, "rate_limiter.bandwidth.size: missing required field");
	drive_body(body, sizeof(body), "a", disk1, false,
		   ", \"rate_limiter\": {\"ops\": {\"size\": 1}}");
	bad(D, "a", body, "rate_limiter.ops.refill_time: missing required field");
	drive_body(body, sizeof(body), "a", disk1, false,
		   ", \"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}");
	bad(D, "a", body, "rate_limiter.ops.size: -1 is out of range");
	drive_body(body, sizeof(body), "a", disk1, false,
		   ", \"rate_limiter\": {\"iops\": {\"size\": 1, \"refill_time\": 1}}");
	bad(D, "a", body, "rate_limiter.iops: unknown field (expected one of: bandwidth, ops)");
	drive_body(body, sizeof(body), "a", disk1, false, ", \"rate\": 1");
	bad(D, "a", body, "rate: unknown field");
	assert_int_equal(cfg.ndisks, 0);
}

static void test_device_limit(void **state)
{
	(void)state;
	char body[1024], id[16];

	for (int i = 0; i < CONFIG_MAX_DEVICES; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		drive_body(body, sizeof(body), id, disk1, false, "");
		good(CONFIG_RES_DRIVE, id, body);
	}
	drive_body(body, sizeof(body), "one_more", disk1, false, "");
	bad(CONFIG_RES_DRIVE, "one_more", body, "at most 19 virtio devices");
	bad(CONFIG_RES_ENTROPY, NULL, "{}", "at most 19 virtio devices");
}

/* ---------------------------------------------------------------- network, vsock, entropy */

static void test_network(void **state)
{
	(void)state;
	const enum config_resource N = CONFIG_RES_NET;

	good(N, "eth0",
	     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
	     "\"AA:FC:00:00:00:01\", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": "
	     "2}}, \"tx_rate_limiter\": null}");
	assert_int_equal(cfg.nnets, 1);
	assert_string_equal(cfg.nets[0].host_dev_name, "tap0");
	assert_true(cfg.nets[0].has_mac);
	assert_int_equal(cfg.nets[0].guest_mac[0], 0xaa);
	assert_int_equal(cfg.nets[0].guest_mac[5], 0x01);
	assert_true(cfg.nets[0].rx_limiter.ops.set);
	assert_false(cfg.nets[0].tx_limiter.ops.set);
	bad(N, "eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}",
	    "host_dev_name: 'tap0' is already used by 'eth0'");
	bad(N, "eth1",
	    "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"guest_mac\": "
	    "\"aa:fc:00:00:00:01\"}",
	    "guest_mac: 'aa:fc:00:00:00:01' is already used by 'eth0'");
	bad(N, "eth1",
	    "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"guest_mac\": \"aa:fc:00\"}",
	    "guest_mac: 'aa:fc:00' is not a MAC address");
	bad(N, "eth1", "{\"iface_id\": \"eth1\"}", "host_dev_name: missing required field");
	bad(N, "eth1", "{\"host_dev_name\": \"tap1\"}", "iface_id: missing required field");
	bad(N, "eth2", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}",
	    "does not match the id in the path");
	bad(N, "eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"a_very_long_tap_name\"}",
	    "host_dev_name: 'a_very_long_tap_name' is not a tap device name");
	/* mtu (Firecracker 1.16): 68 to 65535, an integer; null is "not set". */
	bad(N, "eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"mtu\": 67}",
	    "mtu: 67 is not an MTU from 68 to 65535");
	bad(N, "eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"mtu\": \"1500\"}",
	    "mtu: expected an integer, got a string");
	bad(N, "eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"mtu\": -1}",
	    "mtu: -1 is out of range");
	good(N, "eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 9000}");
	assert_true(cfg.nets[0].has_mtu);
	assert_int_equal(cfg.nets[0].mtu, 9000);
	/* Replaced by id. */
	good(N, "eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap9\", \"mtu\": null}");
	assert_int_equal(cfg.nnets, 1);
	assert_string_equal(cfg.nets[0].host_dev_name, "tap9");
	assert_false(cfg.nets[0].has_mac);
	assert_false(cfg.nets[0].has_mtu);
}

static void test_vsock(void **state)
{
	(void)state;
	good(CONFIG_RES_VSOCK, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}");
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.guest_cid, 3);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/v.sock");
	bad(CONFIG_RES_VSOCK, NULL, "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}",
	    "guest_cid: 2 is reserved (a guest's CID is 3 to 4294967294)");
	bad(CONFIG_RES_VSOCK, NULL, "{\"guest_cid\": 3}", "uds_path: missing required field");
	bad(CONFIG_RES_VSOCK, NULL, "{\"uds_path\": \"/x\"}", "guest_cid: missing required field");
	bad(CONFIG_RES_VSOCK, NULL, "{\"guest_cid\": \"3\", \"uds_path\": \"/x\"}",
	    "guest_cid: expected an integer");
	good(CONFIG_RES_VSOCK, NULL,
	     "{\"guest_cid\": 7, \"uds_path\": \"/tmp/w.sock\", \"vsock_id\": \"vsock0\"}");
	assert_int_equal(cfg.vsock.guest_cid, 7);
	assert_string_equal(cfg.vsock.vsock_id, "vsock0");
}

static void test_entropy(void **state)
{
	(void)state;
	good(CONFIG_RES_ENTROPY, NULL, "{}");
	assert_true(cfg.rng);
	good(CONFIG_RES_ENTROPY, NULL,
	     "{\"rate_limiter\": {\"bandwidth\": {\"size\": 100, \"refill_time\": 10}}}");
	assert_int_equal(cfg.rng_limiter.bandwidth.size, 100);
	bad(CONFIG_RES_ENTROPY, NULL, "{\"rate\": 1}", "rate: unknown field");
	assert_int_equal(config_device_count(&cfg), 1);
}

/* ---------------------------------------------------------------- logger, metrics */

static void test_logger_metrics(void **state)
{
	(void)state;
	good(CONFIG_RES_LOGGER, NULL,
	     "{\"log_path\": \"/tmp/log\", \"level\": \"debug\", \"show_level\": true, "
	     "\"show_log_origin\": false, \"module\": \"api_server\"}");
	assert_true(cfg.logger.set);
	assert_string_equal(cfg.logger.log_path, "/tmp/log");
	assert_int_equal(cfg.logger.level, CONFIG_LOG_DEBUG);
	assert_true(cfg.logger.show_level);
	assert_string_equal(cfg.logger.module, "api_server");
	good(CONFIG_RES_LOGGER, NULL, "{\"level\": \"Warn\"}");
	assert_int_equal(cfg.logger.level, CONFIG_LOG_WARNING);
	assert_null(cfg.logger.log_path);
	bad(CONFIG_RES_LOGGER, NULL, "{\"level\": \"Loud\"}", "level: 'Loud' is not one of");
	bad(CONFIG_RES_LOGGER, NULL, "{\"show_level\": \"yes\"}", "show_level: expected a boolean");
	bad(CONFIG_RES_LOGGER, NULL, "{\"path\": \"/x\"}", "path: unknown field");
	good(CONFIG_RES_METRICS, NULL, "{\"metrics_path\": \"/tmp/m\"}");
	assert_string_equal(cfg.metrics_path, "/tmp/m");
	bad(CONFIG_RES_METRICS, NULL, "{}", "metrics_path: missing required field");
	bad(CONFIG_RES_METRICS, NULL, "{\"metrics_path\": 1}", "metrics_path: expected a string");
}

/* ---------------------------------------------------------------- actions, vm, patches */

static void test_actions(void **state)
{
	(void)state;
	enum config_action_type a;
	bool paused;
#define ACT(s) config_json_action(s, strlen(s), &a, err, sizeof(err))
	assert_int_equal(ACT("{\"action_type\": \"InstanceStart\"}"), 0);
	assert_int_equal(a, CONFIG_ACTION_INSTANCE_START);
	assert_int_equal(ACT("{\"action_type\": \"SendCtrlAltDel\"}"), 0);
	assert_int_equal(a, CONFIG_ACTION_SEND_CTRL_ALT_DEL);
	assert_int_equal(ACT("{\"action_type\": \"FlushMetrics\"}"), 0);
	assert_int_equal(a, CONFIG_ACTION_FLUSH_METRICS);
	assert_int_equal(ACT("{\"action_type\": \"Reboot\"}"), -EINVAL);
	assert_non_null(strstr(err, "action_type: 'Reboot' is not one of"));
	assert_int_equal(ACT("{}"), -EINVAL);
	assert_non_null(strstr(err, "action_type: missing required field"));
	assert_int_equal(ACT("{\"action_type\": \"FlushMetrics\", \"x\": 1}"), -EINVAL);
	assert_non_null(strstr(err, "x: unknown field"));
	assert_int_equal(ACT("{\"action_type\": 1}"), -EINVAL);
#define VM(s) config_json_vm_state(s, strlen(s), &paused, err, sizeof(err))
	assert_int_equal(VM("{\"state\": \"Paused\"}"), 0);
	assert_true(paused);
	assert_int_equal(VM("{\"state\": \"Resumed\"}"), 0);
	assert_false(paused);
	assert_int_equal(VM("{\"state\": \"Running\"}"), -EINVAL);
	assert_non_null(strstr(err, "state: 'Running' is not one of Paused, Resumed"));
	assert_int_equal(VM("{}"), -EINVAL);
}

static void test_patches(void **state)
{
	(void)state;
	struct drive_patch dp;
	struct net_patch np;
	char body[512];

	snprintf(body, sizeof(body), "{\"drive_id\": \"root\", \"path_on_host\": \"%s\"}", disk2);
	assert_int_equal(config_json_drive_patch("root", body, strlen(body), &dp, err, sizeof(err)),
			 0);
	assert_true(dp.has_path);
	assert_false(dp.has_limiter);
	assert_string_equal(dp.path, disk2);
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"root\", \"rate_limiter\": {\"ops\": {\"size\": 5, "
		 "\"refill_time\": 1}}}");
	assert_int_equal(config_json_drive_patch("root", body, strlen(body), &dp, err, sizeof(err)),
			 0);
	assert_true(dp.has_limiter);
	assert_int_equal(dp.limiter.ops.size, 5);
	snprintf(body, sizeof(body), "{\"drive_id\": \"root\", \"is_read_only\": true}");
	assert_int_equal(config_json_drive_patch("root", body, strlen(body), &dp, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "is_read_only: unknown field"));
	snprintf(body, sizeof(body), "{\"drive_id\": \"x\"}");
	assert_int_equal(config_json_drive_patch("root", body, strlen(body), &dp, err, sizeof(err)),
			 -EINVAL);
	snprintf(body, sizeof(body), "{\"drive_id\": \"root\", \"path_on_host\": \"\"}");
	assert_int_equal(config_json_drive_patch("root", body, strlen(body), &dp, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "path_on_host: an empty path"));

	snprintf(body, sizeof(body),
		 "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 1, "
		 "\"refill_time\": 1}}}");
	assert_int_equal(config_json_net_patch("eth0", body, strlen(body), &np, err, sizeof(err)),
			 0);
	assert_true(np.has_tx);
	assert_false(np.has_rx);
	snprintf(body, sizeof(body), "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}");
	assert_int_equal(config_json_net_patch("eth0", body, strlen(body), &np, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "host_dev_name: unknown field"));
}

/* ---------------------------------------------------------------- config file */

static int load(const char *text)
{
	return config_json_load(&cfg, "vm.json", text, strlen(text), err, sizeof(err));
}

static void test_file_full(void **state)
{
	(void)state;
	char text[2048];

	snprintf(
	    text, sizeof(text),
	    "{\n"
	    "  \"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
	    "\"console=ttyS0\"},\n"
	    "  \"drives\": [\n"
	    "    {\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true,\n"
	    "     \"is_read_only\": true}\n"
	    "  ],\n"
	    "  \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256},\n"
	    "  \"network-interfaces\": [],\n"
	    "  \"entropy\": {},\n"
	    "  \"logger\": null, \"metrics\": null, \"vsock\": null, \"balloon\": null\n"
	    "}\n",
	    kernel, disk1);
	assert_int_equal(load(text), 0);
	assert_string_equal(cfg.kernel_path, kernel);
	assert_int_equal(cfg.ndisks, 1);
	assert_true(cfg.disks[0].read_only);
	assert_int_equal(cfg.vcpus, 2);
	assert_true(cfg.rng);

	/* Round trip: what GET /vm/config says loads back to the same. */
	char *once = config_json_vm_config(&cfg);
	assert_non_null(once);
	struct vm_config saved = cfg;
	config_defaults(&cfg);
	assert_int_equal(load(once), 0);
	char *twice = config_json_vm_config(&cfg);
	assert_string_equal(once, twice);
	free(once);
	free(twice);
	config_free(&saved);
}

static void test_file_errors(void **state)
{
	(void)state;
	char text[2048];

	assert_int_equal(load("{\n  \"machine-config\": {\"vcpu_count\": 1,\n"), -EINVAL);
	assert_non_null(strstr(err, "vm.json: line 3"));
	assert_int_equal(load("[]"), -EINVAL);
	assert_int_equal(load("{\n\n  \"machine_config\": {}\n}"), -EINVAL);
	assert_string_equal(err, "vm.json: line 3: machine_config: unknown field (expected one of: "
				 "boot-source, drives, machine-config, network-interfaces, vsock, "
				 "entropy, logger, metrics, balloon, mmds-config, cpu-config, "
				 "serial, pmem, memory-hotplug)");
	assert_int_equal(load("{\"machine-config\": {\"vcpu_count\": 1,\n\"mem_size_mib\": 0}}"),
			 -EINVAL);
	assert_string_equal(err, "vm.json: line 2: machine-config.mem_size_mib: 0 is out of range "
				 "(2 to 1048576)");
	snprintf(text, sizeof(text),
		 "{\"drives\": [\n"
		 "  {\"drive_id\": \"a\", \"path_on_host\": \"%s\", \"is_root_device\": false},\n"
		 "  {\"drive_id\": \"b\",\n"
		 "   \"path_on_host\": \"/nonexistent\", \"is_root_device\": false}\n"
		 "]}",
		 disk1);
	assert_int_equal(load(text), -EINVAL);
	assert_non_null(strstr(err, "vm.json: line 4: drives[1].path_on_host: cannot open"));
	assert_int_equal(load("{\"drives\": {}}"), -EINVAL);
	assert_non_null(strstr(err, "drives: expected an array, got an object"));
	assert_int_equal(load("{\"drives\": [1]}"), -EINVAL);
	assert_non_null(strstr(err, "drives[0]: expected an object, got an integer"));
	assert_int_equal(load("{\"balloon\": {\"amount_mib\": 1}}"), -EINVAL);
	assert_non_null(strstr(err, "balloon: not supported by ember yet"));
	assert_int_equal(load("{\"vsock\": {\"guest_cid\": 1, \"uds_path\": \"/x\"}}"), -EINVAL);
	assert_non_null(strstr(err, "line 1: vsock.guest_cid: 1 is reserved"));
	/* A refused file changes nothing. */
	assert_int_equal(cfg.ndisks, 0);
	assert_null(cfg.kernel_path);
}

/*
 * Found by fuzzing: jansson lets a NUL through after a number, and the
 * scanner that finds an error's line then made no progress on it. Such a
 * file is refused at once; the scanner ends on text jansson accepts with
 * values it cannot read (nested containers, an error deep in a long file).
 */
static void test_file_hostile_text(void **state)
{
	static const char nul[] = "{\"drives\": [1\0], \"bogus\": 1}";
	char text[4096];
	size_t at = 0;

	(void)state;
	assert_int_equal(sizeof(nul) - 1, 28);
	assert_int_equal(config_json_load(&cfg, "vm.json", nul, sizeof(nul) - 1, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "vm.json: line 1: invalid JSON: a NUL byte (offset 13)");
	/* An error after deeply nested siblings is still found, on its line. */
	at += (size_t)snprintf(text + at, sizeof(text) - at, "{\"drives\": [[");
	for (int i = 0; i < 500; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "[");
	for (int i = 0; i < 500; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "]");
	snprintf(text + at, sizeof(text) - at, "], \"x\"\n]}");
	assert_int_equal(load(text), -EINVAL);
	assert_string_equal(err, "vm.json: line 1: drives[0]: expected an object, got an array");
	assert_int_equal(load("{\"drives\": [{}, {\"a\": \"]}[{\\\"\"},\n\n 7]}"), -EINVAL);
	assert_non_null(strstr(err, "vm.json: line 1: drives[0]"));
}

/* ---------------------------------------------------------------- renderers */

/*
 * CPU templates: a static one by name in machine-config (kept by a PUT or
 * PATCH that leaves the field out, as Firecracker does), a custom one by
 * PUT /cpu-config; GET /machine-config and /vm/config show them and a
 * config file reads them back.
 */
static void test_cpu_templates(void **state)
{
	(void)state;
	const char *tmpl = "{\"cpuid_modifiers\": [{\"leaf\": \"0x80000001\", \"subleaf\": "
			   "\"0x0\", \"flags\": 0, \"modifiers\": [{\"register\": \"ecx\", "
			   "\"bitmap\": \"0b0\"}]}], \"msr_modifiers\": [{\"addr\": \"0x1a0\", "
			   "\"bitmap\": \"0b0\"}]}";
	char *s;

	good(CONFIG_RES_MACHINE, NULL,
	     "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}");
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_T2);
	good(CONFIG_RES_MACHINE, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 128}");
	good(CONFIG_RES_MACHINE_PATCH, NULL, "{\"vcpu_count\": 1}");
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_T2);
	s = config_json_machine(&cfg);
	assert_string_equal(s, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
			       "\"track_dirty_pages\":false,\"huge_pages\":\"None\","
			       "\"cpu_template\":\"T2\"}");
	free(s);
	good(CONFIG_RES_MACHINE_PATCH, NULL, "{\"cpu_template\": \"T2A\"}");
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_T2A);

	/* A custom template replaces the static one; errors name the field and change nothing. */
	bad(CONFIG_RES_CPU_CONFIG, NULL,
	    "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, "
	    "\"modifiers\": [{\"register\": \"eax\", \"bitmap\": \"0b2\"}]}]}",
	    "cpuid_modifiers[0].modifiers[0].bitmap: '0b2': '2' is not 0, 1, x or _");
	bad(CONFIG_RES_CPU_CONFIG, NULL, "[]", "the body must be a JSON object");
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_T2A);
	good(CONFIG_RES_CPU_CONFIG, NULL, tmpl);
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_CUSTOM);
	assert_int_equal(cfg.custom_cpu.nleaves, 1);
	assert_int_equal(cfg.custom_cpu.nmsrs, 1);
	/* Firecracker says "None" in machine-config for a custom template. */
	s = config_json_machine(&cfg);
	assert_non_null(strstr(s, "\"cpu_template\":\"None\""));
	free(s);

	/* /vm/config carries the custom template; loading it gives the same config. */
	s = config_json_vm_config(&cfg);
	assert_non_null(strstr(s, "\"cpu-config\":{\"cpuid_modifiers\":[{\"leaf\":\"0x80000001\","
				  "\"subleaf\":\"0x0\",\"flags\":0,\"modifiers\":[{\"register\":"
				  "\"ecx\",\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0\"}]}]"));
	struct vm_config saved = cfg;
	config_defaults(&cfg);
	assert_int_equal(load(s), 0);
	char *again = config_json_vm_config(&cfg);
	assert_string_equal(s, again);
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_CUSTOM);
	free(s);
	free(again);
	config_free(&saved);

	/* "None" clears it; a static one round-trips through the file as well. */
	good(CONFIG_RES_MACHINE_PATCH, NULL, "{\"cpu_template\": \"None\"}");
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_NONE);
	s = config_json_machine(&cfg);
	assert_null(strstr(s, "cpu_template"));
	free(s);
	config_defaults(&cfg);
	assert_int_equal(load("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, "
			      "\"cpu_template\": \"C3\"}, \"cpu-config\": null}"),
			 0);
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_C3);
}

static void test_cpu_config_file_errors(void **state)
{
	(void)state;
	assert_int_equal(load("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64,\n"
			      "  \"cpu_template\": \"T2\"},\n"
			      "\"cpu-config\": {}}"),
			 -EINVAL);
	assert_non_null(strstr(err, "vm.json: line 3: cpu-config: a custom CPU template and "
				    "machine-config.cpu_template 'T2' exclude each other"));
	assert_int_equal(load("{\"cpu-config\": {\"msr_modifiers\": [\n"
			      "  {\"addr\": \"0x10a\", \"bitmap\": \"0b1\"},\n"
			      "  {\"addr\": \"10a\", \"bitmap\": \"0b1\"}]}}"),
			 -EINVAL);
	assert_non_null(strstr(err, "vm.json: line 3: cpu-config.msr_modifiers[1].addr: '10a' has "
				    "no 0x (hexadecimal) or 0b (binary) prefix"));
	assert_int_equal(load("{\"cpu-config\": []}"), -EINVAL);
	assert_non_null(strstr(err, "cpu-config: expected an object, got an array"));
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_NONE);
}

static void test_render(void **state)
{
	(void)state;
	char *s = config_json_instance_info(&cfg, "Not started");
	assert_string_equal(s, "{\"id\":\"anonymous-instance\",\"state\":\"Not started\","
			       "\"vmm_version\":\"" CONFIG_FIRECRACKER_API_VERSION
			       "\",\"app_name\":\"ember\"}");
	free(s);
	s = config_json_fault("a \"quoted\" message");
	assert_string_equal(s, "{\"fault_message\":\"a \\\"quoted\\\" message\"}");
	free(s);
	s = config_json_version();
	assert_string_equal(s, "{\"firecracker_version\":\"" CONFIG_FIRECRACKER_API_VERSION "\"}");
	free(s);
	/* Nothing configured: the sections are null, the lists empty. */
	s = config_json_vm_config(&cfg);
	assert_non_null(strstr(s, "\"boot-source\":null"));
	assert_non_null(strstr(s, "\"drives\":[]"));
	assert_non_null(strstr(s, "\"vsock\":null"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_machine_ok),	    T(test_machine_bad),   T(test_machine_patch),
	    T(test_body_shape),	    T(test_boot_source),   T(test_boot_args_too_long),
	    T(test_drives),	    T(test_drives_bad),	   T(test_device_limit),
	    T(test_network),	    T(test_vsock),	   T(test_entropy),
	    T(test_logger_metrics), T(test_actions),	   T(test_patches),
	    T(test_file_full),	    T(test_file_errors),   T(test_file_hostile_text),
	    T(test_render),	    T(test_cpu_templates), T(test_cpu_config_file_errors),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
