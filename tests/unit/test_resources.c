// SPDX-License-Identifier: Apache-2.0
/*
 * test_resources.c: each device rule gives the same verdict through all
 * three interfaces: the command line (config_parse_args), a config file
 * (config_json_load) and the API (config_json_put, one PUT after another),
 * and each error names the field in that interface's own words.
 *
 * In the table, "@" stands for a readable disk image the test makes and "#"
 * for a Unix socket path one byte too long for sun_path.
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
#include "resources.h"

#define MAX_WORDS 48
#define MAX_PUTS  24
#define TEXT_MAX  8192
#define NO_PUT	  (-1)

struct put {
	int res; /* enum config_resource, NO_PUT ends the list */
	const char *id;
	const char *body;
};

struct rule_case {
	const char *name;
	const char *flags[MAX_WORDS]; /* after "ember --kernel=k"; NULL first: not expressible */
	const char *file;	      /* a config document; NULL: not expressible */
	struct put puts[MAX_PUTS];    /* empty: not expressible */
	/* NULL: accepted; else a piece of the error each interface must print. */
	const char *flag_err, *file_err, *api_err;
};

static char dir[64], disk[128], long_uds[RES_UDS_PATH_MAX + 2];

/* expand: (in) with "@" and "#" replaced, into a static buffer of (slot). */
static const char *expand(const char *in, int slot)
{
	static char out[MAX_WORDS + MAX_PUTS + 2][TEXT_MAX];
	char *o = out[slot];
	size_t n = 0;

	for (const char *p = in; *p != '\0' && n < TEXT_MAX - RES_HOST_PATH_MAX; p++) {
		const char *sub = *p == '@' ? disk : *p == '#' ? long_uds : NULL;
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
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(disk);
	rmdir(dir);
	return 0;
}

/* via_flags: the command line; (msg) gets what ember printed on stderr. */
static int via_flags(const struct rule_case *c, char *msg, size_t size)
{
	char *argv[MAX_WORDS + 3];
	int argc = 0;
	struct vm_config cfg;
	char path[96];

	argv[argc++] = "ember";
	argv[argc++] = "--kernel=k";
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

static int via_file(const struct rule_case *c, char *msg, size_t size)
{
	struct vm_config cfg;
	const char *text = expand(c->file, MAX_WORDS);

	config_defaults(&cfg);
	msg[0] = '\0';
	int ret = config_json_load(&cfg, "vm.json", text, strlen(text), msg, size);
	config_free(&cfg);
	return ret;
}

static int via_api(const struct rule_case *c, char *msg, size_t size)
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
#define D		  CONFIG_RES_DRIVE
#define N		  CONFIG_RES_NET
#define V		  CONFIG_RES_VSOCK
#define END                                                                                        \
	{                                                                                          \
		NO_PUT, NULL, NULL                                                                 \
	}

/* clang-format off */
static const struct rule_case cases[] = {
	{"a drive", {"--disk", "@,id=data", NULL},
	 "{\"drives\": [" DRIVE("data", "@", "false") "]}",
	 {{D, "data", DRIVE("data", "@", "false")}, END}, NULL, NULL, NULL},
	{"a drive that cannot be read", {"--disk", "/nonexistent/d.img", NULL},
	 "{\"drives\": [" DRIVE("data", "/nonexistent/d.img", "false") "]}",
	 {{D, "data", DRIVE("data", "/nonexistent/d.img", "false")}, END},
	 "--disk: cannot open '/nonexistent/d.img'",
	 "vm.json: line 1: drives[0].path_on_host: cannot open '/nonexistent/d.img'",
	 "path_on_host: cannot open '/nonexistent/d.img'"},
	{"a drive id with a dash", {"--disk", "@,id=a-b", NULL},
	 "{\"drives\": [" DRIVE("a-b", "@", "false") "]}",
	 {{D, "a-b", DRIVE("a-b", "@", "false")}, END},
	 "--disk: id 'a-b' may hold only alphanumeric characters and '_'",
	 "drives[0].drive_id: 'a-b' may hold only alphanumeric characters and '_'",
	 "drive_id: 'a-b' may hold only alphanumeric characters and '_'"},
	{"a drive id too long", {"--disk", "@,id=abcdefghijklmnopqrstu", NULL},
	 "{\"drives\": [" DRIVE("abcdefghijklmnopqrstu", "@", "false") "]}",
	 {{D, "abcdefghijklmnopqrstu", DRIVE("abcdefghijklmnopqrstu", "@", "false")}, END},
	 "--disk: id 'abcdefghijklmnopqrstu' must be 1 to 20 characters",
	 "drives[0].drive_id: 'abcdefghijklmnopqrstu' must be 1 to 20 characters",
	 "drive_id: 'abcdefghijklmnopqrstu' must be 1 to 20 characters"},
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
	 "at most 19 virtio devices"},
	{"an interface", {"--net", "tap0,mac=02:00:00:00:00:01", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MAC("02:00:00:00:00:01")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MAC("02:00:00:00:00:01"))}, END}, NULL, NULL, NULL},
	{"a MAC with five bytes", {"--net", "tap0,mac=02:00:00:00:00", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MAC("02:00:00:00:00")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MAC("02:00:00:00:00"))}, END},
	 "--net: '02:00:00:00:00' is not a MAC address xx:xx:xx:xx:xx:xx",
	 "network-interfaces[0].guest_mac: '02:00:00:00:00' is not a MAC address",
	 "guest_mac: '02:00:00:00:00' is not a MAC address"},
	{"a tap name too long", {"--net", "a-name-much-too-long", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "a-name-much-too-long", "") "]}",
	 {{N, "eth0", NET("eth0", "a-name-much-too-long", "")}, END},
	 "--net: 'a-name-much-too-long' is not a tap device name (1 to 15 bytes)",
	 "network-interfaces[0].host_dev_name: 'a-name-much-too-long' is not a tap device name",
	 "host_dev_name: 'a-name-much-too-long' is not a tap device name"},
	{"one tap for two interfaces", {"--net", "tap0", "--net", "tap0", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", "") "," NET("eth1", "tap0", "") "]}",
	 {{N, "eth0", NET("eth0", "tap0", "")}, {N, "eth1", NET("eth1", "tap0", "")}, END},
	 "--net: 'tap0' is already used by 'eth0'",
	 "network-interfaces[1].host_dev_name: 'tap0' is already used by 'eth0'",
	 "host_dev_name: 'tap0' is already used by 'eth0'"},
	{"one MAC for two interfaces",
	 {"--net", "tap0,mac=02:00:00:00:00:01", "--net", "tap1,mac=02:00:00:00:00:01", NULL},
	 "{\"network-interfaces\": [" NET("eth0", "tap0", MAC("02:00:00:00:00:01")) ","
	 NET("eth1", "tap1", MAC("02:00:00:00:00:01")) "]}",
	 {{N, "eth0", NET("eth0", "tap0", MAC("02:00:00:00:00:01"))},
	  {N, "eth1", NET("eth1", "tap1", MAC("02:00:00:00:00:01"))}, END},
	 "--net: '02:00:00:00:00:01' is already used by 'eth0'",
	 "network-interfaces[1].guest_mac: '02:00:00:00:00:01' is already used by 'eth0'",
	 "guest_mac: '02:00:00:00:00:01' is already used by 'eth0'"},
	{"a vsock path longer than sun_path", {"--vsock", "3,#", NULL},
	 "{\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"#\"}}",
	 {{V, NULL, "{\"guest_cid\": 3, \"uds_path\": \"#\"}"}, END},
	 "--vsock: '/uuu", "vsock.uds_path: '/uuu", "uds_path: '/uuu"},
	{"a vsock device", {"--vsock", "3,/tmp/v.sock", NULL},
	 "{\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}}",
	 {{V, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"}, END}, NULL, NULL, NULL},
};
/* clang-format on */

static void test_same_verdict_everywhere(void **state)
{
	char msg[TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *c = &cases[i];
		int ret = via_flags(c, msg, sizeof(msg));
		verdict(c->name, "flags", ret, msg, c->flag_err);
		ret = via_file(c, msg, sizeof(msg));
		verdict(c->name, "config file", ret, msg, c->file_err);
		ret = via_api(c, msg, sizeof(msg));
		verdict(c->name, "API", ret, msg, c->api_err);
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
