// SPDX-License-Identifier: Apache-2.0
/*
 * test_resources.c: each device rule gives the same verdict through all
 * three interfaces: the command line (config_parse_args), a config file
 * (config_json_load) and the API (config_json_put, one PUT after another),
 * and each error names the field in that interface's own words.
 *
 * In the table, "@" stands for a readable file the test makes (a disk
 * image, a kernel), "#" for a Unix socket path one byte too long for
 * sun_path, "%" for a host path one byte too long, "$" for boot arguments
 * one byte too long for the command line page and "^" for ones that just
 * fit.
 */
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
#include "config_json.h"
#include "layout.h"
#include "resources.h"

#define MAX_WORDS 48
#define MAX_PUTS  24
#define TEXT_MAX  16384
#define SUB_MAX	  (RES_HOST_PATH_MAX + 1) /* the longest text a placeholder stands for */
#define NO_PUT	  (-1)

struct put {
	int res; /* enum config_resource, NO_PUT ends the list */
	const char *id;
	const char *body;
};

struct rule_case {
	const char *name;
	const char
	    *flags[MAX_WORDS];	   /* after "ember --api-sock=..."; NULL first: not expressible */
	const char *file;	   /* a config document; NULL: not expressible */
	struct put puts[MAX_PUTS]; /* empty: not expressible */
	/* NULL: accepted; else a piece of the error each interface must print. */
	const char *flag_err, *file_err, *api_err;
	/* Accepted everywhere, and every interface leaves the same configuration. */
	bool same_config;
};

static char dir[64], disk[128], api_flag[96], long_uds[RES_UDS_PATH_MAX + 2];
static char long_path[RES_HOST_PATH_MAX + 2], long_args[LAYOUT_CMDLINE_MAX + 1],
    full_args[LAYOUT_CMDLINE_MAX];

/* expand: (in) with "@" and "#" replaced, into a static buffer of (slot). */
static const char *expand(const char *in, int slot)
{
	static char out[MAX_WORDS + MAX_PUTS + 2][TEXT_MAX];
	char *o = out[slot];
	size_t n = 0;

	for (const char *p = in; *p != '\0' && n + SUB_MAX < TEXT_MAX; p++) {
		const char *sub = *p == '@'   ? disk
				  : *p == '#' ? long_uds
				  : *p == '%' ? long_path
				  : *p == '$' ? long_args
				  : *p == '^' ? full_args
					      : NULL;
		if (sub != NULL) {
			memcpy(o + n, sub, strlen(sub));
			n += strlen(sub);
		} else {
			o[n++] = *p;
		}
	}
	o[n] = '\0';
	return o;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-res.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(disk, sizeof(disk), "%s/d.img", dir);
	int fd = open(disk, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	memset(long_uds, 'u', RES_UDS_PATH_MAX + 1);
	long_uds[0] = '/';
	long_uds[RES_UDS_PATH_MAX + 1] = '\0';
	memset(long_path, 'p', RES_HOST_PATH_MAX + 1);
	long_path[0] = '/';
	long_path[RES_HOST_PATH_MAX + 1] = '\0';
	memset(long_args, 'a', LAYOUT_CMDLINE_MAX);
	long_args[LAYOUT_CMDLINE_MAX] = '\0';
	memset(full_args, 'a', LAYOUT_CMDLINE_MAX - 1);
	full_args[LAYOUT_CMDLINE_MAX - 1] = '\0';
	/* The API socket is never opened here: it only spares the cases a --kernel. */
	snprintf(api_flag, sizeof(api_flag), "--api-sock=%s/api.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(disk);
	rmdir(dir);
	return 0;
}

/* render: (cfg) as GET /vm/config shows it, into (out); "" when (ret) says it was refused. */
static void render(const struct vm_config *cfg, int ret, char *out)
{
	char *s = ret == 0 ? config_json_vm_config(cfg) : NULL;

	snprintf(out, TEXT_MAX, "%s", s != NULL ? s : "");
	free(s);
}

/* via_flags: the command line; (msg) gets what ember printed on stderr. */
static int via_flags(const struct rule_case *c, char *msg, size_t size, char *out)
{
	char *argv[MAX_WORDS + 3];
	int argc = 0;
	struct vm_config cfg;
	char path[96];

	argv[argc++] = "ember";
	argv[argc++] = api_flag;
	for (int i = 0; c->flags[i] != NULL; i++)
		argv[argc++] = strdup(expand(c->flags[i], i)); /* --disk splits its value */
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/stderr", dir);
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	int saved = dup(STDERR_FILENO);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	config_defaults(&cfg);
	enum config_action act = config_parse_args(&cfg, argc, argv);
	render(&cfg, act == CONFIG_RUN ? 0 : -1, out);
	config_free(&cfg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, msg, size - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	for (int i = 2; i < argc; i++)
		free(argv[i]);
	return act == CONFIG_RUN ? 0 : -1;
}

static int via_file(const struct rule_case *c, char *msg, size_t size, char *out)
{
	struct vm_config cfg;
	const char *text = expand(c->file, MAX_WORDS);

	config_defaults(&cfg);
	msg[0] = '\0';
	int ret = config_json_load(&cfg, "vm.json", text, strlen(text), msg, size);
	render(&cfg, ret, out);
	config_free(&cfg);
	return ret;
}

static int via_api(const struct rule_case *c, char *msg, size_t size, char *out)
{
	struct vm_config cfg;
	int ret = 0;

	config_defaults(&cfg);
	msg[0] = '\0';
	for (int i = 0; ret == 0 && c->puts[i].res != NO_PUT; i++) {
		const char *body = expand(c->puts[i].body, MAX_WORDS + 1 + i);
		ret = config_json_put(&cfg, (enum config_resource)c->puts[i].res, c->puts[i].id,
				      body, strlen(body), msg, size);
	}
	render(&cfg, ret, out);
	config_free(&cfg);
	return ret;
}

/* verdict: what one interface said against what it should have. */
static void verdict(const char *name, const char *iface, int ret, const char *msg, const char *want)
{
	if (want == NULL) {
		if (ret != 0)
			fail_msg("%s via %s: refused: %s", name, iface, msg);
		return;
	}
	if (ret == 0)
		fail_msg("%s via %s: accepted, wanted '%s'", name, iface, want);
	if (strstr(msg, want) == NULL)
		fail_msg("%s via %s: said '%s', wanted '%s'", name, iface, msg, want);
}

#define DRIVE(id, path, root)                                                                      \
	"{\"drive_id\": \"" id "\", \"path_on_host\": \"" path "\", \"is_root_device\": " root "}"
#define NET(id, tap, mac) "{\"iface_id\": \"" id "\", \"host_dev_name\": \"" tap "\"" mac "}"
#define MAC(m)		  ", \"guest_mac\": \"" m "\""
#define MTU(n)		  ", \"mtu\": " n
#define D		  CONFIG_RES_DRIVE
#define N		  CONFIG_RES_NET
#define V		  CONFIG_RES_VSOCK
#define M		  CONFIG_RES_MACHINE
#define B		  CONFIG_RES_BOOT_SOURCE
#define L		  CONFIG_RES_LOGGER
#define X		  CONFIG_RES_METRICS
#define MACHINE(fields)	  "{\"machine-config\": " fields "}"
#define BOOT(fields)	  "{\"boot-source\": " fields "}"
#define LOGGER(fields)	  "{\"logger\": " fields "}"
#define METRICS(fields)	  "{\"metrics\": " fields "}"
#define END                                                                                        \
	{                                                                                          \
		NO_PUT, NULL, NULL                                                                 \
	}

/* clang-format off */
static const struct rule_case cases[] = {
	{"a drive", {"--disk", "@,id=data", NULL},
	 "{\"drives\": [" DRIVE("data", "@", "false") "]}",
	 {{D, "data", DRIVE("data", "@", "false")}, END}, NULL, NULL, NULL, false},
	{"a drive that cannot be read", {"--disk", "/nonexistent/d.img", NULL},
	 "{\"drives\": [" DRIVE("data", "/nonexistent/d.img", "false") "]}",
	 {{D, "data", DRIVE("data", "/nonexistent/d.img", "false")}, END},
	 "--disk: cannot open '/nonexistent/d.img'",
	 "vm.json: line 1: drives[0].path_on_host: cannot open '/nonexistent/d.img'",
	 "path_on_host: cannot open '/nonexistent/d.img'", false},
	{"a drive id with a dash", {"--disk", "@,id=a-b", NULL},
	 "{\"drives\": [" DRIVE("a-b", "@", "false") "]}",
	 {{D, "a-b", DRIVE("a-b", "@", "false")}, END},
	 "--disk: id 'a-b' may hold only alphanumeric characters and '_'",
	 "drives[0].drive_id: 'a-b' may hold only alphanumeric characters and '_'",
	 "drive_id: 'a-b' may hold only alphanumeric characters and '_'", false},
	{"a drive id too long", {"--disk", "@,id=abcdefghijklmnopqrstu", NULL},
	 "{\"drives\": [" DRIVE("abcdefghijklmnopqrstu", "@", "false") "]}",
	 {{D, "abcdefghijklmnopqrstu", DRIVE("abcdefghijklmnopqrstu", "@", "false")}, END},
	 "--disk: id 'abcdefghijklmnopqrstu' must be 1 to 20 characters",
	 "drives[0].drive_id: 'abcdefghijklmnopqrstu' must be 1 to 20 characters",
	 "drive_id: 'abcdefghijklmnopqrstu' must be 1 to 20 characters", false},
	{"twenty devices", {"--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@",
	  "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@",
	  "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@", "--disk", "@",
	  "--disk", "@", "--rng", "--vsock", "3,/tmp/v.sock", NULL},
	 "{\"drives\": [" DRIVE("d0", "@", "false") "," DRIVE("d1", "@", "false") ","
	 DRIVE("d2", "@", "false") "," DRIVE("d3", "@", "false") "," DRIVE("d4", "@", "false") ","
	 DRIVE("d5", "@", "false") "," DRIVE("d6", "@", "false") "," DRIVE("d7", "@", "false") ","
	 DRIVE("d8", "@", "false") "," DRIVE("d9", "@", "false") "," DRIVE("d10", "@", "false") ","
	 DRIVE("d11", "@", "false") "," DRIVE("d12", "@", "false") "," DRIVE("d13", "@", "false") ","
	 DRIVE("d14", "@", "false") "," DRIVE("d15", "@", "false") "," DRIVE("d16", "@", "false") ","
	 DRIVE("d17", "@", "false") "], \"entropy\": {}, "
	 "\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}}",
	 {{D, "d0", DRIVE("d0", "@", "false")}, {D, "d1", DRIVE("d1", "@", "false")},
	  {D, "d2", DRIVE("d2", "@", "false")}, {D, "d3", DRIVE("d3", "@", "false")},
	  {D, "d4", DRIVE("d4", "@", "false")}, {D, "d5", DRIVE("d5", "@", "false")},
	  {D, "d6", DRIVE("d6", "@", "false")}, {D, "d7", DRIVE("d7", "@", "false")},
	  {D, "d8", DRIVE("d8", "@", "false")}, {D, "d9", DRIVE("d9", "@", "false")},
	  {D, "d10", DRIVE("d10", "@", "false")}, {D, "d11", DRIVE("d11", "@", "false")},
	  {D, "d12", DRIVE("d12", "@", "false")}, {D, "d13", DRIVE("d13", "@", "false")},
	  {D, "d14", DRIVE("d14", "@", "false")}, {D, "d15", DRIVE("d15", "@", "false")},
	  {D, "d16", DRIVE("d16", "@", "false")}, {D, "d17", DRIVE("d17", "@", "false")},
	  {CONFIG_RES_ENTROPY, NULL, "{}"},
	  {V, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"}, END},
	 "--vsock: at most 19 virtio devices", "vm.json: line 1: entropy: at most 19 virtio devices",
	 "at most 19 virtio devices", false},
	{"an interface", {"--net", "tap0,mac=02:00:00:00:00:01", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MAC("02:00:00:00:00:01")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MAC("02:00:00:00:00:01"))}, END}, NULL, NULL, NULL, false},
	{"a MAC with five bytes", {"--net", "tap0,mac=02:00:00:00:00", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MAC("02:00:00:00:00")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MAC("02:00:00:00:00"))}, END},
	 "--net: '02:00:00:00:00' is not a MAC address xx:xx:xx:xx:xx:xx",
	 "network-interfaces[0].guest_mac: '02:00:00:00:00' is not a MAC address",
	 "guest_mac: '02:00:00:00:00' is not a MAC address", false},
	{"an interface with an MTU", {"--net", "tap0,mtu=9000", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MTU("9000")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MTU("9000"))}, END}, NULL, NULL, NULL, true},
	{"an MTU below IPv4's 68", {"--net", "tap0,mtu=67", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MTU("67")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MTU("67"))}, END},
	 "--net: mtu 67 is not an MTU from 68 to 65535",
	 "network-interfaces[0].mtu: 67 is not an MTU from 68 to 65535",
	 "mtu: 67 is not an MTU from 68 to 65535", false},
	{"an MTU past 16 bits", {"--net", "tap0,mtu=65536", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MTU("65536")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MTU("65536"))}, END},
	 "--net: mtu 65536 is not an MTU from 68 to 65535",
	 "network-interfaces[0].mtu: 65536 is not an MTU from 68 to 65535",
	 "mtu: 65536 is not an MTU from 68 to 65535", false},
	{"a tap name too long", {"--net", "a-name-much-too-long", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "a-name-much-too-long", "") "]}",
	 {{N, "eth0", NET("eth0", "a-name-much-too-long", "")}, END},
	 "--net: 'a-name-much-too-long' is not a tap device name (1 to 15 bytes)",
	 "network-interfaces[0].host_dev_name: 'a-name-much-too-long' is not a tap device name",
	 "host_dev_name: 'a-name-much-too-long' is not a tap device name", false},
	{"one tap for two interfaces", {"--net", "tap0", "--net", "tap0", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", "") "," NET("eth1", "tap0", "") "]}",
	 {{N, "eth0", NET("eth0", "tap0", "")}, {N, "eth1", NET("eth1", "tap0", "")}, END},
	 "--net: 'tap0' is already used by 'eth0'",
	 "network-interfaces[1].host_dev_name: 'tap0' is already used by 'eth0'",
	 "host_dev_name: 'tap0' is already used by 'eth0'", false},
	{"one MAC for two interfaces",
	 {"--net", "tap0,mac=02:00:00:00:00:01", "--net", "tap1,mac=02:00:00:00:00:01", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MAC("02:00:00:00:00:01")) ","
	 NET("eth1", "tap1", MAC("02:00:00:00:00:01")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MAC("02:00:00:00:00:01"))},
	  {N, "eth1", NET("eth1", "tap1", MAC("02:00:00:00:00:01"))}, END},
	 "--net: '02:00:00:00:00:01' is already used by 'eth0'",
	 "network-interfaces[1].guest_mac: '02:00:00:00:00:01' is already used by 'eth0'",
	 "guest_mac: '02:00:00:00:00:01' is already used by 'eth0'", false},
	{"a reserved guest CID", {"--vsock", "2,/tmp/v.sock", NULL},
	 "{\"vsock\": {\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}}",
	 {{V, NULL, "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}"}, END},
	 "--vsock: guest CID 2 is reserved (a guest's CID is 3 to 4294967294)",
	 "vsock.guest_cid: 2 is reserved (a guest's CID is 3 to 4294967294)",
	 "guest_cid: 2 is reserved (a guest's CID is 3 to 4294967294)", false},
	{"a vsock path longer than sun_path", {"--vsock", "3,#", NULL},
	 "{\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"#\"}}",
	 {{V, NULL, "{\"guest_cid\": 3, \"uds_path\": \"#\"}"}, END},
	 "--vsock: '/uuu", "vsock.uds_path: '/uuu", "uds_path: '/uuu", false},
	{"a vsock device", {"--vsock", "3,/tmp/v.sock", NULL},
	 "{\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}}",
	 {{V, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"}, END}, NULL, NULL, NULL, false},

	/* machine-config: --vcpus, --mem, --cpu-template; smt and huge_pages have no flag. */
	{"a machine", {"--vcpus", "2", "--mem", "256", "--cpu-template", "T2", NULL},
	 MACHINE("{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"cpu_template\": \"T2\"}"),
	 {{M, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"cpu_template\": \"T2\"}"}, END},
	 NULL, NULL, NULL, true},
	{"the largest machine", {"--vcpus", "32", "--mem", "1048576", NULL},
	 MACHINE("{\"vcpu_count\": 32, \"mem_size_mib\": 1048576}"),
	 {{M, NULL, "{\"vcpu_count\": 32, \"mem_size_mib\": 1048576}"}, END}, NULL, NULL, NULL, true},
	{"no vCPU", {"--vcpus", "0", NULL}, MACHINE("{\"vcpu_count\": 0, \"mem_size_mib\": 128}"),
	 {{M, NULL, "{\"vcpu_count\": 0, \"mem_size_mib\": 128}"}, END},
	 "--vcpus: 0 is out of range (1 to 32)",
	 "vm.json: line 1: machine-config.vcpu_count: 0 is out of range (1 to 32)",
	 "vcpu_count: 0 is out of range (1 to 32)", false},
	{"33 vCPUs", {"--vcpus", "33", NULL}, MACHINE("{\"vcpu_count\": 33, \"mem_size_mib\": 128}"),
	 {{M, NULL, "{\"vcpu_count\": 33, \"mem_size_mib\": 128}"}, END},
	 "--vcpus: 33 is out of range (1 to 32)",
	 "machine-config.vcpu_count: 33 is out of range (1 to 32)",
	 "vcpu_count: 33 is out of range (1 to 32)", false},
	{"1 MiB of memory", {"--mem", "1", NULL}, MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 1}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 1}"}, END},
	 "--mem: 1 is out of range (2 to 1048576)",
	 "machine-config.mem_size_mib: 1 is out of range (2 to 1048576)",
	 "mem_size_mib: 1 is out of range (2 to 1048576)", false},
	{"more than 1 TiB", {"--mem", "1048577", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 1048577}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 1048577}"}, END},
	 "--mem: 1048577 is out of range (2 to 1048576)",
	 "machine-config.mem_size_mib: 1048577 is out of range",
	 "mem_size_mib: 1048577 is out of range", false},
	{"smt with two vCPUs", {NULL},
	 MACHINE("{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true}"),
	 {{M, NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true}"}, END},
	 NULL, NULL, NULL, true},
	{"smt with three vCPUs", {NULL},
	 MACHINE("{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}"),
	 {{M, NULL, "{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}"}, END}, NULL,
	 "machine-config.vcpu_count: 3: with smt enabled, the vCPU count must be 1 or even",
	 "vcpu_count: 3: with smt enabled, the vCPU count must be 1 or even", false},
	{"an unknown CPU template", {"--cpu-template", "Z9", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"Z9\"}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"Z9\"}"}, END},
	 "--cpu-template: 'Z9' is not one of C3, T2, T2S, T2CL, T2A, None",
	 "machine-config.cpu_template: 'Z9' is not one of C3, T2, T2S, T2CL, T2A, None",
	 "cpu_template: 'Z9' is not one of C3, T2, T2S, T2CL, T2A, None", false},
	{"an aarch64 CPU template", {"--cpu-template", "V1N1", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"V1N1\"}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"V1N1\"}"}, END},
	 "--cpu-template: 'V1N1' is for aarch64 hosts",
	 "machine-config.cpu_template: 'V1N1' is for aarch64 hosts",
	 "cpu_template: 'V1N1' is for aarch64 hosts", false},
	{"2 MiB huge pages", {"--vcpus", "1", "--mem", "128", "--huge-pages", "2M", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}"}, END}, NULL,
	 NULL, NULL, true},
	{"transparent huge pages", {"--vcpus", "1", "--mem", "128", "--huge-pages", "Transparent", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"Transparent\"}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"Transparent\"}"}, END},
	 NULL, NULL, NULL, true},
	{"2 MiB huge pages with an odd MiB", {"--vcpus", "1", "--mem", "129", "--huge-pages", "2M", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}"}, END},
	 "--mem: 129: with 2M huge pages, the memory size must be a multiple of 2",
	 "machine-config.mem_size_mib: 129: with 2M huge pages, the memory size must be a multiple of 2",
	 "mem_size_mib: 129: with 2M huge pages, the memory size must be a multiple of 2", false},
	{"an unknown huge page size", {"--vcpus", "1", "--mem", "128", "--huge-pages", "1G", NULL},
	 MACHINE("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}"),
	 {{M, NULL, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}"}, END},
	 "--huge-pages: '1G' is not one of None, 2M, Transparent",
	 "machine-config.huge_pages: '1G' is not one of None, 2M, Transparent",
	 "huge_pages: '1G' is not one of None, 2M, Transparent", false},

	/* boot-source: --kernel, --initrd, --cmdline. */
	{"a boot source", {"--kernel", "@", "--initrd", "@", "--cmdline", "console=ttyS0", NULL},
	 BOOT("{\"kernel_image_path\": \"@\", \"initrd_path\": \"@\", \"boot_args\": \"console=ttyS0\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"@\", \"initrd_path\": \"@\", "
	   "\"boot_args\": \"console=ttyS0\"}"}, END}, NULL, NULL, NULL, true},
	{"boot arguments that just fit", {"--kernel", "@", "--cmdline", "^", NULL},
	 BOOT("{\"kernel_image_path\": \"@\", \"boot_args\": \"^\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"@\", \"boot_args\": \"^\"}"}, END},
	 NULL, NULL, NULL, true},
	{"a kernel that cannot be read", {"--kernel", "/nonexistent/vmlinux", NULL},
	 BOOT("{\"kernel_image_path\": \"/nonexistent/vmlinux\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"/nonexistent/vmlinux\"}"}, END},
	 "--kernel: cannot open '/nonexistent/vmlinux'",
	 "vm.json: line 1: boot-source.kernel_image_path: cannot open '/nonexistent/vmlinux'",
	 "kernel_image_path: cannot open '/nonexistent/vmlinux'", false},
	{"an empty kernel path", {"--kernel", "", NULL}, BOOT("{\"kernel_image_path\": \"\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"\"}"}, END}, "--kernel: an empty path",
	 "boot-source.kernel_image_path: an empty path", "kernel_image_path: an empty path", false},
	{"a kernel path too long", {"--kernel", "%", NULL}, BOOT("{\"kernel_image_path\": \"%\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"%\"}"}, END},
	 "--kernel: a path longer than 4095 bytes",
	 "boot-source.kernel_image_path: a path longer than 4095 bytes",
	 "kernel_image_path: a path longer than 4095 bytes", false},
	{"an initrd without a kernel", {"--initrd", "@", NULL}, BOOT("{\"initrd_path\": \"@\"}"),
	 {{B, NULL, "{\"initrd_path\": \"@\"}"}, END}, "--kernel: missing",
	 "boot-source.kernel_image_path: missing", "kernel_image_path: missing", false},
	{"an initrd that cannot be read", {"--kernel", "@", "--initrd", "/nonexistent/initrd", NULL},
	 BOOT("{\"kernel_image_path\": \"@\", \"initrd_path\": \"/nonexistent/initrd\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"@\", \"initrd_path\": \"/nonexistent/initrd\"}"}, END},
	 "--initrd: cannot open '/nonexistent/initrd'",
	 "boot-source.initrd_path: cannot open '/nonexistent/initrd'",
	 "initrd_path: cannot open '/nonexistent/initrd'", false},
	{"an empty initrd path", {"--kernel", "@", "--initrd", "", NULL},
	 BOOT("{\"kernel_image_path\": \"@\", \"initrd_path\": \"\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"@\", \"initrd_path\": \"\"}"}, END},
	 "--initrd: an empty path", "boot-source.initrd_path: an empty path",
	 "initrd_path: an empty path", false},
	{"boot arguments too long", {"--kernel", "@", "--cmdline", "$", NULL},
	 BOOT("{\"kernel_image_path\": \"@\", \"boot_args\": \"$\"}"),
	 {{B, NULL, "{\"kernel_image_path\": \"@\", \"boot_args\": \"$\"}"}, END},
	 "--cmdline: longer than 2047 bytes", "boot-source.boot_args: longer than 2047 bytes",
	 "boot_args: longer than 2047 bytes", false},

	/* logger: --log-path, --level, --show-level, --show-log-origin, --module. */
	{"a logger", {"--log-path", "/tmp/ember-res.log", "--level", "debug", "--show-level",
	  "--show-log-origin", "--module", "api", NULL},
	 LOGGER("{\"log_path\": \"/tmp/ember-res.log\", \"level\": \"debug\", \"show_level\": true, "
		"\"show_log_origin\": true, \"module\": \"api\"}"),
	 {{L, NULL, "{\"log_path\": \"/tmp/ember-res.log\", \"level\": \"debug\", "
	   "\"show_level\": true, \"show_log_origin\": true, \"module\": \"api\"}"}, END},
	 NULL, NULL, NULL, true},
	{"Firecracker's Warn", {"--level", "Warn", NULL}, LOGGER("{\"level\": \"Warn\"}"),
	 {{L, NULL, "{\"level\": \"Warn\"}"}, END}, NULL, NULL, NULL, true},
	{"an unknown level", {"--level", "Loud", NULL}, LOGGER("{\"level\": \"Loud\"}"),
	 {{L, NULL, "{\"level\": \"Loud\"}"}, END},
	 "--level: 'Loud' is not one of Error, Warning, Info, Debug, Trace, Off",
	 "vm.json: line 1: logger.level: 'Loud' is not one of Error, Warning, Info, Debug, Trace, Off",
	 "level: 'Loud' is not one of Error, Warning, Info, Debug, Trace, Off", false},
	{"an empty log path", {"--log-path", "", NULL}, LOGGER("{\"log_path\": \"\"}"),
	 {{L, NULL, "{\"log_path\": \"\"}"}, END}, "--log-path: an empty path",
	 "logger.log_path: an empty path", "log_path: an empty path", false},
	{"a log path too long", {"--log-path", "%", NULL}, LOGGER("{\"log_path\": \"%\"}"),
	 {{L, NULL, "{\"log_path\": \"%\"}"}, END}, "--log-path: a path longer than 4095 bytes",
	 "logger.log_path: a path longer than 4095 bytes",
	 "log_path: a path longer than 4095 bytes", false},

	/* metrics: --metrics-path. */
	{"metrics", {"--metrics-path", "/tmp/ember-res.metrics", NULL},
	 METRICS("{\"metrics_path\": \"/tmp/ember-res.metrics\"}"),
	 {{X, NULL, "{\"metrics_path\": \"/tmp/ember-res.metrics\"}"}, END}, NULL, NULL, NULL, true},
	{"an empty metrics path", {"--metrics-path", "", NULL}, METRICS("{\"metrics_path\": \"\"}"),
	 {{X, NULL, "{\"metrics_path\": \"\"}"}, END}, "--metrics-path: an empty path",
	 "vm.json: line 1: metrics.metrics_path: an empty path", "metrics_path: an empty path", false},
	{"a metrics path too long", {"--metrics-path", "%", NULL},
	 METRICS("{\"metrics_path\": \"%\"}"), {{X, NULL, "{\"metrics_path\": \"%\"}"}, END},
	 "--metrics-path: a path longer than 4095 bytes",
	 "metrics.metrics_path: a path longer than 4095 bytes",
	 "metrics_path: a path longer than 4095 bytes", false},
};
/* clang-format on */

static void test_same_verdict_everywhere(void **state)
{
	static char msg[TEXT_MAX], flags[TEXT_MAX], file[TEXT_MAX], api[TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *c = &cases[i];
		if (c->flags[0] != NULL) {
			int ret = via_flags(c, msg, sizeof(msg), flags);
			verdict(c->name, "flags", ret, msg, c->flag_err);
		}
		if (c->file != NULL) {
			int ret = via_file(c, msg, sizeof(msg), file);
			verdict(c->name, "config file", ret, msg, c->file_err);
		}
		if (c->puts[0].res != NO_PUT) {
			int ret = via_api(c, msg, sizeof(msg), api);
			verdict(c->name, "API", ret, msg, c->api_err);
		}
		if (!c->same_config)
			continue;
		/* Each comparison made only where both interfaces can say it. */
		if (c->flags[0] != NULL && c->file != NULL && strcmp(flags, file) != 0)
			fail_msg("%s: flags left %s, the config file %s", c->name, flags, file);
		if (c->file != NULL && c->puts[0].res != NO_PUT && strcmp(file, api) != 0)
			fail_msg("%s: the config file left %s, the API %s", c->name, file, api);
	}
}

/* One MAC parser for every interface: hex pairs, colons, nothing else. */
static void test_mac_parser(void **state)
{
	static const char *const bad[] = {"",
					  "02:00:00:00:00",
					  "02:00:00:00:00:00:00",
					  "02-00-00-00-00-01",
					  "zz:00:00:00:00:00",
					  " 2:00:00:00:00:01",
					  "+2:00:00:00:00:01",
					  "02:00:00:00:00:0",
					  "0200:00:00:00:01:"};
	uint8_t mac[RES_MAC_BYTES] = {0};

	(void)state;
	assert_int_equal(res_parse_mac("02:aB:Cd:00:11:ff", mac), 0);
	assert_int_equal(mac[1], 0xab);
	assert_int_equal(mac[2], 0xcd);
	assert_int_equal(mac[5], 0xff);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(res_parse_mac(bad[i], mac), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_verdict_everywhere),
	    cmocka_unit_test(test_mac_parser),
	};
	return cmocka_run_group_tests_name("resources", tests, setup, teardown);
}
