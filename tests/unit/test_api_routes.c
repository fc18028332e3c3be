// SPDX-License-Identifier: Apache-2.0
/* test_api_routes.c: paths and methods -> instance calls, status codes, the state machine. */
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

#include "api_routes.h"
#include "log.h"
#include "mmds_store.h"

/* A backend that records what it was asked. */
struct fake {
	int starts, pauses, resumes, cads, drive_patches, net_patches;
	int start_ret, pause_ret, cad_ret, patch_ret;
	unsigned int patched_index;
	const char *patch_says; /* a failed PATCH's line; NULL: it says nothing */
};

static int f_start(void *ctx, const struct vm_config *cfg, char *err, size_t errsz)
{
	struct fake *f = ctx;
	(void)cfg;
	f->starts++;
	if (f->start_ret < 0)
		snprintf(err, errsz, "boot: cannot write the boot structures");
	return f->start_ret;
}
static int f_pause(void *ctx, char *err, size_t errsz)
{
	struct fake *f = ctx;
	(void)err;
	(void)errsz;
	f->pauses++;
	return f->pause_ret;
}
static int f_resume(void *ctx, char *err, size_t errsz)
{
	struct fake *f = ctx;
	(void)err;
	(void)errsz;
	f->resumes++;
	return 0;
}
static int f_cad(void *ctx, char *err, size_t errsz)
{
	struct fake *f = ctx;
	(void)err;
	(void)errsz;
	f->cads++;
	return f->cad_ret;
}
static int f_patch_drive(void *ctx, unsigned int index, const struct drive_patch *p, char *err,
			 size_t errsz)
{
	struct fake *f = ctx;
	(void)p;
	f->drive_patches++;
	f->patched_index = index;
	if (f->patch_ret < 0 && f->patch_says != NULL)
		snprintf(err, errsz, "%s", f->patch_says);
	return f->patch_ret;
}
static int f_patch_net(void *ctx, unsigned int index, const struct net_patch *p, char *err,
		       size_t errsz)
{
	struct fake *f = ctx;
	(void)p;
	(void)index;
	(void)err;
	(void)errsz;
	f->net_patches++;
	return f->patch_ret;
}

static const struct instance_ops fake_ops = {
    .start = f_start,
    .pause = f_pause,
    .resume = f_resume,
    .ctrl_alt_del = f_cad,
    .patch_drive = f_patch_drive,
    .patch_net = f_patch_net,
};

static struct vm_config cfg;
static struct fake fake;
static struct metrics metrics;
static struct instance inst;
static struct api_response resp;
static char tmpdir[64], kernel[128], disk[128];

static int setup_all(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ember-routes.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", tmpdir);
	snprintf(disk, sizeof(disk), "%s/disk", tmpdir);
	FILE *f = fopen(kernel, "w");
	fclose(f);
	f = fopen(disk, "w");
	fclose(f);
	return 0;
}

static int teardown_all(void **state)
{
	char path[160];
	(void)state;
	unlink(kernel);
	unlink(disk);
	snprintf(path, sizeof(path), "%s/metrics", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	memset(&fake, 0, sizeof(fake));
	metrics_init(&metrics);
	instance_init(&inst, &cfg, &fake_ops, &fake, NULL, &metrics);
	memset(&resp, 0, sizeof(resp));
	log_set_level(LOG_ERROR);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(resp.body);
	resp.body = NULL;
	metrics_destroy(&metrics);
	config_free(&cfg);
	return 0;
}

/* call: one request; returns the status, the body stays in resp. */
static int call(enum api_method m, const char *path, const char *body)
{
	static const char *const names[] = {"GET", "PUT", "PATCH", "DELETE"};
	struct api_request req = {
	    .method = m,
	    .method_name = names[m],
	    .path = path,
	    .body = body ? body : "",
	    .body_len = body ? strlen(body) : 0,
	};
	free(resp.body);
	resp.body = NULL;
	api_routes_handle(&inst, &req, &resp);
	return resp.status;
}

#define body_has(s)                                                                                \
	do {                                                                                       \
		if (resp.body == NULL || strstr(resp.body, s) == NULL)                             \
			fail_msg("body '%s' lacks '%s'", resp.body ? resp.body : "(none)", s);     \
	} while (0)

static void boot_source(void)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", kernel);
	assert_int_equal(call(API_PUT, "/boot-source", body), 204);
}

static void test_gets(void **state)
{
	(void)state;
	assert_int_equal(call(API_GET, "/", NULL), 200);
	body_has("\"state\":\"Not started\"");
	body_has("\"id\":\"anonymous-instance\"");
	assert_int_equal(call(API_GET, "/version", NULL), 200);
	body_has("firecracker_version");
	assert_int_equal(call(API_GET, "/machine-config", NULL), 200);
	body_has("\"vcpu_count\":1");
	assert_int_equal(call(API_GET, "/vm/config", NULL), 200);
	body_has("\"machine-config\":{");
	assert_int_equal(metrics.now.get_api_requests.instance_info_count, 1);
	assert_int_equal(metrics.now.get_api_requests.machine_cfg_count, 1);
}

static void test_unknown_and_wrong_method(void **state)
{
	(void)state;
	assert_int_equal(call(API_GET, "/nope", NULL), 400);
	body_has("{\"fault_message\":\"Invalid request method and/or path: GET /nope\"}");
	assert_int_equal(call(API_GET, "/drives/a/b", NULL), 400);
	assert_int_equal(call(API_GET, "/machine-config/x", NULL), 400);
	assert_int_equal(call(API_PUT, "/", "{}"), 400);
	body_has("PUT /");
	assert_int_equal(call(API_GET, "/boot-source", NULL), 400);
	assert_int_equal(call(API_PATCH, "/actions", "{}"), 400);
	assert_int_equal(call(API_OTHER, "/machine-config", NULL), 400);
	body_has("DELETE /machine-config");
	assert_int_equal(call(API_PUT, "/vm", "{}"), 400);
	assert_int_equal(call(API_PUT, "/drives", "{}"), 400);
	body_has("needs an id");
	assert_int_equal(call(API_PUT, "/drives/", "{}"), 400);
	/* Firecracker endpoints ember does not serve say so, with a 400 */
	assert_int_equal(call(API_PUT, "/balloon", "{}"), 400);
	body_has("{\"fault_message\":\"PUT /balloon: ember does not support the balloon device\"}");
	assert_int_equal(call(API_PUT, "/snapshot/create", "{}"), 400);
	body_has("snapshot_path: missing required field");
	assert_int_equal(call(API_GET, "/snapshot/create", NULL), 400);
	/* The metadata service's routes exist; without a store, they say so. */
	assert_int_equal(call(API_GET, "/mmds", NULL), 400);
	body_has("the metadata service is not available");
	assert_int_equal(call(API_PUT, "/mmds/config", "{}"), 400);
	body_has("network_interfaces: missing required field");
	assert_int_equal(call(API_GET, "/mmds/config", NULL), 400);
	assert_int_equal(call(API_PATCH, "/balloon/statistics", "{}"), 400);
	/* ... but only those paths: a longer word is just unknown */
	assert_int_equal(call(API_PUT, "/balloons", "{}"), 400);
	assert_int_equal(call(API_PUT, "/snapshotter", "{}"), 400);
	assert_int_equal(call(API_PUT, "/snapshot", "{}"), 400);
}

static void test_put_machine(void **state)
{
	(void)state;
	assert_int_equal(
	    call(API_PUT, "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}"), 204);
	assert_null(resp.body);
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(
	    call(API_PUT, "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"), 400);
	body_has("{\"fault_message\":\"vcpu_count: 0 is out of range (1 to 32)\"}");
	assert_int_equal(call(API_PATCH, "/machine-config", "{\"vcpu_count\": 4}"), 204);
	assert_int_equal(cfg.vcpus, 4);
	assert_int_equal(metrics.now.put_api_requests.machine_cfg_count, 2);
	assert_int_equal(metrics.now.put_api_requests.machine_cfg_fails, 1);
	assert_int_equal(metrics.now.patch_api_requests.machine_cfg_count, 1);
}

static void test_start_without_kernel(void **state)
{
	(void)state;
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	body_has("boot-source: missing");
	assert_int_equal(fake.starts, 0);
	assert_int_equal(metrics.now.put_api_requests.actions_fails, 1);
}

/* PUT /cpu-config: a custom CPU template before boot, refused after, errors naming the field. */
static void test_cpu_config(void **state)
{
	(void)state;
	const char *tmpl = "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", "
			   "\"flags\": 0, \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": "
			   "\"0b0xx\"}]}]}";

	assert_int_equal(call(API_PUT, "/cpu-config", "{\"msr_modifiers\": [{\"addr\": 5}]}"), 400);
	body_has("{\"fault_message\":\"msr_modifiers[0].bitmap: missing required field\"}");
	assert_int_equal(call(API_GET, "/cpu-config", NULL), 400);
	body_has("Invalid request method and/or path: GET /cpu-config");
	assert_int_equal(call(API_PUT, "/cpu-config", tmpl), 204);
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_CUSTOM);
	assert_int_equal(call(API_GET, "/vm/config", NULL), 200);
	body_has("\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0xx\"");
	assert_int_equal(
	    call(API_PUT, "/machine-config",
		 "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2S\"}"),
	    204);
	assert_int_equal(call(API_GET, "/machine-config", NULL), 200);
	body_has("\"cpu_template\":\"T2S\"");
	boot_source();
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	assert_int_equal(call(API_PUT, "/cpu-config", tmpl), 400);
	body_has("not supported after starting the microVM");
	assert_int_equal(cfg.cpu_template, CPU_TEMPLATE_T2S);
}

static void test_start_and_post_boot(void **state)
{
	(void)state;
	char body[256];

	boot_source();
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true}",
		 disk);
	assert_int_equal(call(API_PUT, "/drives/rootfs", body), 204);
	/* Post-boot-only requests are refused before boot. */
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Paused\"}"), 400);
	body_has("not supported before starting the microVM");
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 400);
	body_has("before starting");
	assert_int_equal(call(API_PATCH, "/drives/rootfs", "{\"drive_id\": \"rootfs\"}"), 400);
	body_has("before starting");

	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	assert_int_equal(fake.starts, 1);
	assert_true(inst.start_done);
	assert_int_equal(call(API_GET, "/", NULL), 200);
	body_has("\"state\":\"Running\"");

	/* A second start, and pre-boot resources, are refused after boot. */
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	body_has("not supported after starting the microVM");
	assert_int_equal(fake.starts, 1);
	assert_int_equal(
	    call(API_PUT, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}"), 400);
	body_has("after starting");
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", kernel);
	assert_int_equal(call(API_PUT, "/boot-source", body), 400);
	body_has("after starting");
}

static void boot_source_then_start(void)
{
	boot_source();
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
}

static void test_pause_resume(void **state)
{
	(void)state;
	boot_source_then_start();
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Paused\"}"), 204);
	assert_int_equal(fake.pauses, 1);
	assert_int_equal(call(API_GET, "/", NULL), 200);
	body_has("\"state\":\"Paused\"");
	/* Pausing a paused VM changes nothing. */
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Paused\"}"), 204);
	assert_int_equal(fake.pauses, 1);
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Resumed\"}"), 204);
	assert_int_equal(fake.resumes, 1);
	assert_null(resp.body);
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Stopped\"}"), 400);
	body_has("state: 'Stopped' is not one of Paused, Resumed");
}

static void test_backend_enosys(void **state)
{
	(void)state;
	boot_source_then_start();
	fake.pause_ret = -ENOSYS;
	fake.cad_ret = -ENOSYS;
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Paused\"}"), 400);
	body_has("Pausing the microVM is not supported yet");
	assert_int_equal(call(API_GET, "/", NULL), 200);
	body_has("\"state\":\"Running\"");
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 400);
	body_has("SendCtrlAltDel is not supported yet");
}

static void test_start_failure_reports_the_log_line(void **state)
{
	(void)state;
	boot_source();
	fake.start_ret = -EINVAL;
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	body_has("InstanceStart failed: boot: cannot write the boot structures");
	assert_false(inst.start_done);
	/* Still Not started: a fixed configuration may start. */
	fake.start_ret = 0;
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
}

/*
 * A failure's reason belongs to its request: after a failed InstanceStart,
 * a PATCH that fails says only why it failed, whether its hook gives a
 * line or only an errno; a pause that fails says nothing of either.
 */
static void test_failure_reasons_do_not_leak(void **state)
{
	(void)state;
	char body[256];

	boot_source();
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false}",
		 disk);
	assert_int_equal(call(API_PUT, "/drives/data", body), 204);
	fake.start_ret = -EINVAL;
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	body_has("InstanceStart failed: boot: cannot write the boot structures");
	fake.start_ret = 0;
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);

	snprintf(body, sizeof(body), "{\"drive_id\": \"data\", \"path_on_host\": \"%s\"}", kernel);
	fake.patch_ret = -EIO;
	assert_int_equal(call(API_PATCH, "/drives/data", body), 400);
	assert_string_equal(resp.body, "{\"fault_message\":\"Updating a drive of a running microVM "
				       "failed: Input/output error\"}");
	fake.patch_says = "virtio-blk: /x.img: open: No such file or directory";
	assert_int_equal(call(API_PATCH, "/drives/data", body), 400);
	assert_string_equal(resp.body, "{\"fault_message\":\"Updating a drive of a running microVM "
				       "failed: virtio-blk: /x.img: open: No such file or "
				       "directory\"}");
	fake.pause_ret = -EBUSY;
	assert_int_equal(call(API_PATCH, "/vm", "{\"state\": \"Paused\"}"), 400);
	assert_string_equal(resp.body, "{\"fault_message\":\"Pausing the microVM failed: Device or "
				       "resource busy\"}");
}

static void test_start_accepts_net_and_vsock(void **state)
{
	(void)state;
	boot_source();
	assert_int_equal(call(API_PUT, "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"),
			 204);
	assert_int_equal(call(API_PUT, "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v\"}"),
			 204);
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	assert_int_equal(fake.starts, 1);
	assert_int_equal(cfg.nnets, 1);
	assert_true(cfg.vsock.enabled);
}

static void test_patch_drive(void **state)
{
	(void)state;
	char body[256];

	boot_source();
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false}",
		 disk);
	assert_int_equal(call(API_PUT, "/drives/data", body), 204);
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	snprintf(body, sizeof(body), "{\"drive_id\": \"data\", \"path_on_host\": \"%s\"}", kernel);
	assert_int_equal(call(API_PATCH, "/drives/data", body), 204);
	assert_int_equal(fake.drive_patches, 1);
	assert_string_equal(cfg.disks[0].path, kernel);
	assert_int_equal(call(API_PATCH, "/drives/nope", "{\"drive_id\": \"nope\"}"), 400);
	body_has("no drive 'nope'");
	assert_int_equal(call(API_PATCH, "/drives/data", "{\"drive_id\": \"other\"}"), 400);
	body_has("does not match the id in the path");
	fake.patch_ret = -ENOSYS;
	assert_int_equal(call(API_PATCH, "/drives/data", body), 400);
	body_has("not supported yet");
	assert_int_equal(metrics.now.patch_api_requests.drive_count, 4);
	assert_int_equal(metrics.now.patch_api_requests.drive_fails, 3);
}

static void test_flush_metrics(void **state)
{
	(void)state;
	char body[256], path[160];

	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}"), 400);
	body_has("metrics are not configured");
	snprintf(path, sizeof(path), "%s/metrics", tmpdir);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", path);
	assert_int_equal(call(API_PUT, "/metrics", body), 204);
	assert_int_equal(call(API_PUT, "/metrics", body), 400);
	body_has("already configured");
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}"), 204);

	FILE *f = fopen(path, "r");
	char line[8192];
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "\"utc_timestamp_ms\":"));
	assert_non_null(strstr(line, "\"put_api_requests\":{"));
	assert_non_null(strstr(line, "\"metrics_count\":2"));
	assert_non_null(strstr(line, "\"metrics_fails\":1"));
	assert_non_null(strstr(line, "\"vcpu\":{"));
	assert_non_null(strstr(line, "\"boot_timer\":{"));
	assert_int_equal(line[strlen(line) - 1], '\n');
}

/* The metadata service through the API: config before boot only, the store any time. */
static void test_mmds(void **state)
{
	struct mmds_store *store = mmds_store_create(64, NULL, NULL);

	(void)state;
	assert_non_null(store);
	inst.mmds = store;
	assert_int_equal(call(API_GET, "/mmds", NULL), 200);
	assert_string_equal(resp.body, "{}");
	assert_int_equal(call(API_PATCH, "/mmds", "{\"a\": 1}"), 400);
	body_has("not initialized");
	assert_int_equal(call(API_PUT, "/mmds", "{\"b\": {\"c\": \"d\"}}"), 204);
	assert_int_equal(call(API_PATCH, "/mmds", "{\"b\": {\"e\": \"f\"}}"), 204);
	assert_int_equal(call(API_GET, "/mmds", NULL), 200);
	assert_string_equal(resp.body, "{\"b\":{\"c\":\"d\",\"e\":\"f\"}}");
	assert_int_equal(call(API_PUT, "/mmds",
			      "{\"b\": \"0123456789012345678901234567890123456789"
			      "0123456789012345678901234567890123456789\"}"),
			 400);
	body_has("limit of 64");
	assert_int_equal(call(API_PUT, "/mmds", "{not json"), 400);
	body_has("invalid JSON");
	assert_int_equal(call(API_PUT, "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"),
			 400);
	body_has("network_interfaces: no network interface 'eth0'");
	assert_int_equal(call(API_PUT, "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"),
			 204);
	assert_int_equal(
	    call(API_PUT, "/mmds/config",
		 "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"1.2.3.4\"}"),
	    400);
	body_has("ipv4_address: 1.2.3.4 is not a link-local address");
	assert_int_equal(call(API_PUT, "/mmds/config",
			      "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"x\"}"),
			 400);
	body_has("ipv4_address: 'x' is not an IPv4 address");
	assert_int_equal(call(API_PUT, "/mmds/config",
			      "{\"network_interfaces\": [\"eth0\"], \"version\": \"V2\", "
			      "\"ipv4_address\": \"169.254.170.2\", \"imds_compat\": true}"),
			 204);
	assert_int_equal(call(API_GET, "/vm/config", NULL), 200);
	body_has("\"mmds-config\":{\"version\":\"V2\",\"network_interfaces\":[\"eth0\"],"
		 "\"ipv4_address\":\"169.254.170.2\",\"imds_compat\":true}");
	assert_int_equal(metrics.now.put_api_requests.mmds_count, 7);
	assert_int_equal(metrics.now.put_api_requests.mmds_fails, 5);
	assert_int_equal(metrics.now.patch_api_requests.mmds_count, 2);
	assert_int_equal(metrics.now.get_api_requests.mmds_count, 2);
	/* After boot: the config is fixed, the store still changes. */
	boot_source();
	assert_int_equal(call(API_PUT, "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	assert_int_equal(call(API_PUT, "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"),
			 400);
	assert_int_equal(call(API_PATCH, "/mmds", "{\"b\": null}"), 204);
	assert_int_equal(call(API_GET, "/mmds", NULL), 200);
	assert_string_equal(resp.body, "{}");
	inst.mmds = NULL;
	mmds_store_destroy(store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_gets),
	    T(test_unknown_and_wrong_method),
	    T(test_put_machine),
	    T(test_start_without_kernel),
	    T(test_start_and_post_boot),
	    T(test_cpu_config),
	    T(test_pause_resume),
	    T(test_backend_enosys),
	    T(test_start_failure_reports_the_log_line),
	    T(test_failure_reasons_do_not_leak),
	    T(test_start_accepts_net_and_vsock),
	    T(test_patch_drive),
	    T(test_flush_metrics),
	    T(test_mmds),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
