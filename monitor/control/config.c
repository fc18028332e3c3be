// SPDX-License-Identifier: Apache-2.0
/* config.c: ember's command line -> struct vm_config, with errors naming the flag. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "resources.h"
#include "seccomp_file.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_VCPUS,
	OPT_BOOT_TIMER,
	OPT_BOOT_ENTRY,
	OPT_VERSION,
	OPT_HELP,
	OPT_VERBOSE,
	OPT_DISK,
	OPT_RNG,
	OPT_NET,
	OPT_VSOCK,
	OPT_NO_SECCOMP,
	/* Firecracker's process flags (what a jailer or an SDK passes). */
	OPT_ID,
	OPT_API_SOCK,
	OPT_CONFIG_FILE,
	OPT_NO_API,
	OPT_LOG_PATH,
	OPT_LEVEL,
	OPT_MODULE,
	OPT_SHOW_LEVEL,
	OPT_SHOW_LOG_ORIGIN,
	OPT_METRICS_PATH,
	OPT_SECCOMP_FILTER,
	OPT_START_TIME_US,
	OPT_START_TIME_CPU_US,
	OPT_PARENT_CPU_TIME_US,
	OPT_API_PAYLOAD,
	OPT_RESTORE,
	OPT_MEM_FILE,
	OPT_DESCRIBE_SNAPSHOT,
	OPT_RESTORE_SERVER,
	OPT_RESTORE_VIA,
	OPT_PREWARM,
	OPT_SNAPSHOT_VERSION,
	OPT_SNAPSHOT_WHEN_READY,
	OPT_ENABLE_PCI,
	OPT_CPU_TEMPLATE,
	OPT_HUGE_PAGES,
	OPT_METADATA,
	OPT_MMDS_SIZE_LIMIT,
};

/* --http-api-max-payload-size: each connection may buffer this much. */
#define CONFIG_MAX_API_PAYLOAD (64ULL * 1024 * 1024)

static const struct option long_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"mem", required_argument, NULL, OPT_MEM},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"boot-entry", required_argument, NULL, OPT_BOOT_ENTRY},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"disk", required_argument, NULL, OPT_DISK},
    {"rng", no_argument, NULL, OPT_RNG},
    {"net", required_argument, NULL, OPT_NET},
    {"vsock", required_argument, NULL, OPT_VSOCK},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"id", required_argument, NULL, OPT_ID},
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"no-api", no_argument, NULL, OPT_NO_API},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"module", required_argument, NULL, OPT_MODULE},
    {"show-level", no_argument, NULL, OPT_SHOW_LEVEL},
    {"show-log-origin", no_argument, NULL, OPT_SHOW_LOG_ORIGIN},
    {"metrics-path", required_argument, NULL, OPT_METRICS_PATH},
    {"seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER},
    {"start-time-us", required_argument, NULL, OPT_START_TIME_US},
    {"start-time-cpu-us", required_argument, NULL, OPT_START_TIME_CPU_US},
    {"parent-cpu-time-us", required_argument, NULL, OPT_PARENT_CPU_TIME_US},
    {"http-api-max-payload-size", required_argument, NULL, OPT_API_PAYLOAD},
    {"restore", required_argument, NULL, OPT_RESTORE},
    {"mem-file", required_argument, NULL, OPT_MEM_FILE},
    {"describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT},
    {"restore-server", required_argument, NULL, OPT_RESTORE_SERVER},
    {"restore-via", required_argument, NULL, OPT_RESTORE_VIA},
    {"prewarm", required_argument, NULL, OPT_PREWARM},
    {"snapshot-version", no_argument, NULL, OPT_SNAPSHOT_VERSION},
    {"snapshot-when-ready", required_argument, NULL, OPT_SNAPSHOT_WHEN_READY},
    {"enable-pci", no_argument, NULL, OPT_ENABLE_PCI},
    {"cpu-template", required_argument, NULL, OPT_CPU_TEMPLATE},
    {"huge-pages", required_argument, NULL, OPT_HUGE_PAGES},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: ember --kernel PATH [OPTIONS] [-- GUEST_ARGS...]\n"
    "\n"
    "Boot a kernel under KVM straight into 64-bit mode and exit with the\n"
    "guest's status.\n"
    "\n"
    "  --kernel PATH      ELF vmlinux, bzImage, or ELF with a PVH note (required)\n"
    "  --initrd PATH      initial ramdisk, placed at the top of RAM below 3 GiB\n"
    "  --cmdline STR      replace the default kernel command line\n"
    "  --mem MIB          guest RAM in MiB (default 128, 2..1048576)\n"
    "  --vcpus N          virtual CPUs (default 1, 1..32)\n"
    "  --boot-timer       report the guest's boot-complete signal on stderr\n"
    "  --boot-entry E     auto (default), linux64 or pvh: how to enter an ELF\n"
    "  --cpu-template T   Firecracker's static CPU template: C3, T2, T2S, T2CL\n"
    "                     (Intel hosts), T2A (AMD hosts) or None (default)\n"
    "  --huge-pages H     what backs guest RAM: None (default), Transparent (THP)\n"
    "                     or 2M (hugetlbfs pages from vm.nr_hugepages)\n"
    "  --disk PATH[,ro][,id=NAME][,engine=sync|io_uring]\n"
    "                     a virtio block device (repeatable; the first is /dev/vda)\n"
    "  --rng              a virtio entropy device (fed from getrandom)\n"
    "  --net TAP[,mac=MAC][,mtu=N]\n"
    "                     a virtio-net device on an existing tap (repeatable)\n"
    "  --vsock CID,UDS_PATH\n"
    "                     a virtio-vsock device, Firecracker's hybrid vsock over a\n"
    "                     Unix socket (guest CID 3 or more)\n"
    "  --no-seccomp       do not confine ember's threads (debugging only)\n"
    "  --verbose          more messages (twice: debug)\n"
    "  --version          print the Firecracker API version ember follows (the second\n"
    "                     word, as Firecracker prints it) and ember's own; exit\n"
    "  --help             print this help and exit\n"
    "\n"
    "Firecracker-compatible control plane (see README):\n"
    "  --api-sock PATH    serve Firecracker's REST API on this Unix socket; the\n"
    "                     VM boots on PUT /actions InstanceStart (no --kernel)\n"
    "  --config-file FILE boot at once from Firecracker's JSON configuration\n"
    "  --no-api           no API socket (needs --config-file)\n"
    "  --id ID            instance id (alphanumerics and '-', 1..64)\n"
    "  --log-path PATH    log to this file or FIFO instead of stderr\n"
    "  --level L          Error, Warning, Info, Debug, Trace or Off\n"
    "  --module M         log module filter (stored)\n"
    "  --show-level       put the level in each log line\n"
    "  --show-log-origin  put the origin in each log line\n"
    "  --metrics-path P   write metrics, one JSON object per line, to P\n"
    "  --seccomp-filter F filters compiled by Firecracker's seccompiler-bin, instead of ember's\n"
    "  --start-time-us N, --start-time-cpu-us N, --parent-cpu-time-us N\n"
    "                     the jailer's clocks, for the start-up metrics\n"
    "  --http-api-max-payload-size N  request body limit (default 51200)\n"
    "  --enable-pci       refused: ember has virtio-mmio devices only\n"
    "  With neither --api-sock nor --no-api, and none of ember's own machine flags\n"
    "  (--kernel ... --rng, --restore), the API is served on " CONFIG_DEFAULT_API_SOCK ",\n"
    "  as Firecracker does.\n"
    "  --metadata FILE    a JSON document for the metadata service (MMDS) at start\n"
    "  --mmds-size-limit N  the MMDS document's limit in bytes (default: the payload limit)\n"
    "\n"
    "Snapshots (see README):\n"
    "  --restore SNAP --mem-file MEM [--net TAP]... [--vsock CID,UDS_PATH]\n"
    "                     run the microVM a snapshot holds (no --kernel, no devices:\n"
    "                     the snapshot brings them), resumed at once; each --net puts\n"
    "                     the snapshot's next interface on TAP, --vsock its vsock\n"
    "                     device on UDS_PATH (same CID)\n"
    "  --snapshot-when-ready SNAP --mem-file MEM\n"
    "                     boot, and when the guest signals the boot timer, pause\n"
    "                     and write a snapshot (a template), then exit\n"
    "  --restore-server SOCKET\n"
    "                     serve clones: each request on SOCKET (a PUT /snapshot/load\n"
    "                     body, with the clone's stdio) forks an ember restoring it\n"
    "  --prewarm SNAP,MEM[,COUNT]\n"
    "                     with --restore-server: COUNT (default 1, up to 4096) warm\n"
    "                     clones of that snapshot, from the start (repeatable, up to 4)\n"
    "  --restore SNAP --mem-file MEM --restore-via SOCKET\n"
    "                     that restore, forked by the server on SOCKET instead of here\n"
    "  --describe-snapshot FILE  print what a VM-state file holds and exit\n"
    "  --snapshot-version print the snapshot format version this ember writes\n"
    "\n"
    "Words after -- are appended to the kernel command line after \" -- \".\n"
    "Exit status: the guest's (exit port), 0 on guest reset, 120 host/KVM\n"
    "error, 121 triple fault, 122 KVM internal error, 123 unhandled exit,\n"
    "125 bad configuration or input.\n";

unsigned int config_device_count(const struct vm_config *cfg)
{
	return cfg->ndisks + (cfg->rng ? 1 : 0) + cfg->nnets + (cfg->vsock.enabled ? 1 : 0);
}

/* disk_option: one ",key[=value]" part of a --disk spec. */
static int disk_option(const char *part, struct disk_config *disk)
{
	if (strcmp(part, "ro") == 0) {
		disk->read_only = true;
	} else if (strcmp(part, "rw") == 0) {
		disk->read_only = false;
	} else if (strncmp(part, "id=", 3) == 0) {
		const char *id = part + 3;
		if (*id == '\0' || strlen(id) > CONFIG_DISK_ID_MAX) {
			log_error("--disk: id '%s' must be 1 to %d characters", id,
				  CONFIG_DISK_ID_MAX);
			return -EINVAL;
		}
		memcpy(disk->id, id, strlen(id) + 1); /* length checked above */
	} else if (strcmp(part, "engine=sync") == 0) {
		disk->engine = DISK_ENGINE_SYNC;
	} else if (strcmp(part, "engine=io_uring") == 0) {
		disk->engine = DISK_ENGINE_IO_URING;
	} else {
		log_error("--disk: unknown option '%s' (ro, id=NAME, engine=sync|io_uring)", part);
		return -EINVAL;
	}
	return 0;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* net_option: one of --net's options after the tap name. */
static int net_option(const char *part, struct net_config *net)
{
	if (strncmp(part, "mac=", strlen("mac=")) == 0) {
		const char *mac = part + strlen("mac=");
		if (res_parse_mac(mac, net->guest_mac) < 0) {
			log_error("--net: '%s' is not a MAC address xx:xx:xx:xx:xx:xx", mac);
			return -EINVAL;
		}
		net->has_mac = true;
	} else if (strncmp(part, "mtu=", strlen("mtu=")) == 0) {
		/* The range is res_net_add's; here only "a number". */
		if (!parse_u64(part + strlen("mtu="), 0, UINT64_MAX, &net->mtu)) {
			log_error("--net: mtu '%s' is not a number", part + strlen("mtu="));
			return -EINVAL;
		}
		net->has_mtu = true;
	} else {
		log_error("--net: unknown option '%s' (mac=MAC, mtu=N)", part);
		return -EINVAL;
	}
	return 0;
}

int config_parse_net(char *spec, struct net_config *net)
{
	char *opts = strchr(spec, ',');

	memset(net, 0, sizeof(*net));
	if (opts != NULL)
		*opts++ = '\0';
	if (spec[0] == '\0') {
		log_error("--net: '%s' is not TAP[,mac=MAC][,mtu=N]", spec);
		return -EINVAL;
	}
	for (char *part = opts, *next; part != NULL; part = next) {
		next = strchr(part, ',');
		if (next != NULL)
			*next++ = '\0';
		if (net_option(part, net) < 0)
			return -EINVAL;
	}
	net->host_dev_name = spec;
	return 0;
}

int config_parse_vsock(char *spec, struct vsock_config *vsock)
{
	char *comma = strchr(spec, ',');
	uint64_t cid;

	memset(vsock, 0, sizeof(*vsock));
	if (comma == NULL || comma[1] == '\0') {
		log_error("--vsock: '%s' is not CID,UDS_PATH", spec);
		return -EINVAL;
	}
	*comma = '\0';
	/* A number that fits the field; which CIDs a guest may have is res_vsock_set's rule. */
	if (!parse_u64(spec, 0, UINT32_MAX, &cid)) {
		log_error("--vsock: guest CID '%s' must be a number from %d to %u", spec,
			  CONFIG_MIN_VSOCK_CID, UINT32_MAX - 1);
		return -EINVAL;
	}
	vsock->enabled = true;
	vsock->guest_cid = (uint32_t)cid;
	vsock->uds_path = comma + 1;
	return 0;
}

int config_parse_disk(char *spec, struct disk_config *disk)
{
	char *save = NULL;

	memset(disk, 0, sizeof(*disk));
	if (spec[0] == ',' || spec[0] == '\0') {
		log_error("--disk: missing the image path in '%s'", spec);
		return -EINVAL;
	}
	disk->path = strtok_r(spec, ",", &save);
	for (char *part = strtok_r(NULL, ",", &save); part != NULL;
	     part = strtok_r(NULL, ",", &save)) {
		if (disk_option(part, disk) < 0)
			return -EINVAL;
	}
	return 0;
}

/* string_fields: the address of every string field (cfg) uses now; returns how many. */
static size_t string_fields(struct vm_config *cfg, const char ***out)
{
	size_t n = 0;

	out[n++] = &cfg->kernel_path;
	out[n++] = &cfg->initrd_path;
	out[n++] = &cfg->cmdline;
	out[n++] = &cfg->vsock.uds_path;
	out[n++] = &cfg->logger.log_path;
	out[n++] = &cfg->logger.module;
	out[n++] = &cfg->metrics_path;
	out[n++] = &cfg->serial.out_path;
	out[n++] = &cfg->api_sock;
	out[n++] = &cfg->config_file;
	out[n++] = &cfg->seccomp_filter;
	out[n++] = &cfg->restore_path;
	out[n++] = &cfg->mem_file_path;
	out[n++] = &cfg->describe_snapshot;
	out[n++] = &cfg->restore_server;
	out[n++] = &cfg->restore_via;
	for (unsigned int i = 0; i < cfg->nprewarm; i++) {
		out[n++] = &cfg->prewarm[i].snapshot;
		out[n++] = &cfg->prewarm[i].mem;
	}
	out[n++] = &cfg->snapshot_when_ready;
	out[n++] = &cfg->metadata_path;
	for (unsigned int i = 0; i < cfg->ndisks; i++)
		out[n++] = &cfg->disks[i].path;
	for (unsigned int i = 0; i < cfg->nnets; i++)
		out[n++] = &cfg->nets[i].host_dev_name;
	return n;
}

/* The most string fields a config has: seventeen of its own, two a --prewarm, one per device. */
#define CONFIG_STRING_FIELDS (18 + 2 * CONFIG_PREWARM_MAX + 2 * CONFIG_MAX_DEVICES)

int config_set_str(const char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -ENOMEM;
	free((char *)*field);
	*field = copy;
	return 0;
}

void config_free(struct vm_config *cfg)
{
	const char **fields[CONFIG_STRING_FIELDS];
	size_t n = string_fields(cfg, fields);

	for (size_t i = 0; i < n; i++) {
		free((char *)*fields[i]);
		*fields[i] = NULL;
	}
	for (int i = 0; i < cfg->nguest_args; i++)
		free(cfg->guest_args[i]);
	free((void *)cfg->guest_args);
	cfg->guest_args = NULL;
	cfg->nguest_args = 0;
}

/* set_guest_args: (cfg)'s own copy of the (n) words at (args). 0 or -ENOMEM. */
static int set_guest_args(struct vm_config *cfg, char *const *args, int n)
{
	char **copy = n > 0 ? calloc((size_t)n, sizeof(*copy)) : NULL;

	if (n > 0 && copy == NULL)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		copy[i] = strdup(args[i]);
		if (copy[i] == NULL) {
			while (i-- > 0)
				free(copy[i]);
			free((void *)copy);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < cfg->nguest_args; i++)
		free(cfg->guest_args[i]);
	free((void *)cfg->guest_args);
	cfg->guest_args = copy;
	cfg->nguest_args = n;
	return 0;
}

int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	const char **fields[CONFIG_STRING_FIELDS];

	*dst = *src;
	dst->guest_args = NULL;
	dst->nguest_args = 0;
	size_t n = string_fields(dst, fields);
	for (size_t i = 0; i < n; i++) {
		const char *s = *fields[i];
		if (s != NULL && (*fields[i] = strdup(s)) == NULL) {
			/* Fields from i on still point into (src): not ours to free. */
			for (size_t j = i; j < n; j++)
				*fields[j] = NULL;
			config_free(dst);
			return -ENOMEM;
		}
	}
	if (set_guest_args(dst, src->guest_args, src->nguest_args) < 0) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->boot_entry = BOOT_ENTRY_AUTO;
	strcpy(cfg->id, CONFIG_DEFAULT_ID);
	cfg->api_max_payload = CONFIG_DEFAULT_API_PAYLOAD;
	cfg->logger.level = CONFIG_LOG_INFO;
}

const char *config_version(void)
{
	return EMBER_VERSION;
}

const char *config_api_version(void)
{
	return CONFIG_FIRECRACKER_API_VERSION;
}

static const char *const log_level_names[] = {
    [CONFIG_LOG_OFF] = "Off",	[CONFIG_LOG_ERROR] = "Error", [CONFIG_LOG_WARNING] = "Warning",
    [CONFIG_LOG_INFO] = "Info", [CONFIG_LOG_DEBUG] = "Debug", [CONFIG_LOG_TRACE] = "Trace",
};

int config_parse_log_level(const char *s, enum config_log_level *out)
{
	for (unsigned int i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcasecmp(s, log_level_names[i]) == 0) {
			*out = (enum config_log_level)i;
			return 0;
		}
	}
	/* Firecracker also takes "Warn". */
	if (strcasecmp(s, "Warn") == 0) {
		*out = CONFIG_LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

const char *config_log_level_name(enum config_log_level level)
{
	return (unsigned int)level < sizeof(log_level_names) / sizeof(log_level_names[0])
		   ? log_level_names[level]
		   : "Info";
}

bool config_valid_instance_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

int config_check_seccomp_filter(const char *path)
{
	struct seccomp_user_filters f;
	char why[SECCOMP_ERR_MAX];

	if (seccomp_read_filters(path, &f, why, sizeof(why)) < 0) {
		log_error("--seccomp-filter: '%s': %s", path, why);
		return -EINVAL;
	}
	seccomp_free_filters(&f);
	return 0;
}

/* parse_u64: a whole decimal number in [min, max], or false. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_entry(const char *s, enum boot_entry_pref *out)
{
	if (strcmp(s, "auto") == 0)
		*out = BOOT_ENTRY_AUTO;
	else if (strcmp(s, "linux64") == 0)
		*out = BOOT_ENTRY_LINUX64;
	else if (strcmp(s, "pvh") == 0)
		*out = BOOT_ENTRY_PVH;
	else
		return false;
	return true;
}

/* apply: one option; false after printing an error naming it. */
/* set_str: a flag's string value, copied into (cfg); false when out of memory. */
static bool set_str(const char *flag, const char **field, const char *arg)
{
	if (config_set_str(field, arg) == 0)
		return true;
	log_error("%s: out of memory", flag);
	return false;
}

/* Digits in --prewarm's COUNT: enough for CONFIG_PREWARM_COUNT_MAX, short of overflow. */
#define PREWARM_COUNT_DIGITS 9

/*
 * add_prewarm: --prewarm SNAP,MEM[,COUNT]. SNAP ends at the first comma;
 * a last comma followed by digits only starts COUNT (so MEM may hold
 * commas, but cannot end in ",N").
 */
static bool add_prewarm(struct vm_config *cfg, const char *arg)
{
	const char *comma = strchr(arg, ',');
	unsigned long count = 1;

	if (cfg->nprewarm == CONFIG_PREWARM_MAX) {
		log_error(
		    "--prewarm: at most %d (the server keeps warm clones of that many snapshots)",
		    CONFIG_PREWARM_MAX);
		return false;
	}
	if (comma == NULL || comma == arg) {
		log_error("--prewarm: '%s' is not SNAP,MEM[,COUNT]", arg);
		return false;
	}
	const char *mem = comma + 1, *last = strrchr(mem, ',');
	size_t mem_len = strlen(mem);
	if (last != NULL && last[1] != '\0' && strspn(last + 1, "0123456789") == strlen(last + 1)) {
		if (strlen(last + 1) > PREWARM_COUNT_DIGITS ||
		    (count = strtoul(last + 1, NULL, 10)) < 1 || count > CONFIG_PREWARM_COUNT_MAX) {
			log_error("--prewarm: COUNT %s is out of range (1 to %d)", last + 1,
				  CONFIG_PREWARM_COUNT_MAX);
			return false;
		}
		mem_len = (size_t)(last - mem);
	}
	if (mem_len == 0) {
		log_error("--prewarm: '%s' is not SNAP,MEM[,COUNT]", arg);
		return false;
	}
	struct config_prewarm *p = &cfg->prewarm[cfg->nprewarm];
	char *snap = strndup(arg, (size_t)(comma - arg)), *memory = strndup(mem, mem_len);
	if (snap == NULL || memory == NULL) {
		free(snap);
		free(memory);
		log_error("--prewarm: out of memory");
		return false;
	}
	/* The config owns both strings from here (config_free frees them). */
	free((char *)p->snapshot);
	free((char *)p->mem);
	p->snapshot = snap;
	p->mem = memory;
	p->count = (unsigned int)count;
	cfg->nprewarm++;
	return true;
}

/*
 * flag_error: a resource's error in the words of the command line: the
 * flag that sets the field at fault, else (flag), the one being read; false.
 */
static bool flag_error(const char *flag, const struct res_error *err)
{
	const char *own = res_flag_name(err->field);
	const char *word = res_flag_word(err->field);

	log_error("%s: %s%s%s", own != NULL ? own : flag, word, word[0] != '\0' ? " " : "",
		  err->msg);
	return false;
}

/*
 * What several flags describe together: gathered while the flags are read
 * and checked by one resources.h validator when all are in, as the same
 * resource from the config file or the API is. Strings point into argv.
 */
struct flag_resources {
	bool machine, boot, logger, metrics; /* any of its flags given */
	struct res_machine m;
	struct res_boot_source b;
	struct res_logger l;
	struct res_metrics x;
};

static bool apply(struct vm_config *cfg, struct flag_resources *fr, int opt, const char *arg)
{
	struct res_error err;
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL:
		fr->b.kernel_image_path = arg;
		fr->boot = true;
		return true;
	case OPT_INITRD:
		fr->b.initrd_path = arg;
		fr->boot = true;
		return true;
	case OPT_CMDLINE:
		fr->b.boot_args = arg;
		fr->boot = true;
		return true;
	/* A number here; its range is res_machine_set's. */
	case OPT_MEM:
		if (!parse_u64(arg, 0, UINT64_MAX, &fr->m.mem_size_mib)) {
			log_error("--mem: '%s' is not a size in MiB from %d to %llu", arg,
				  CONFIG_MIN_MEM_MIB, (unsigned long long)CONFIG_MAX_MEM_MIB);
			return false;
		}
		fr->machine = true;
		return true;
	case OPT_VCPUS:
		if (!parse_u64(arg, 0, UINT64_MAX, &fr->m.vcpu_count)) {
			log_error("--vcpus: '%s' is not a vCPU count from 1 to %d", arg,
				  CONFIG_MAX_VCPUS);
			return false;
		}
		fr->machine = true;
		return true;
	case OPT_BOOT_TIMER:
		cfg->boot_timer = true;
		return true;
	case OPT_BOOT_ENTRY:
		if (!parse_entry(arg, &cfg->boot_entry)) {
			log_error("--boot-entry: '%s' is not one of auto, linux64, pvh", arg);
			return false;
		}
		return true;
	case OPT_CPU_TEMPLATE:
		fr->m.cpu_template = arg;
		fr->machine = true;
		return true;
	case OPT_HUGE_PAGES:
		fr->m.huge_pages = arg;
		fr->machine = true;
		return true;
	case OPT_VERBOSE:
		cfg->verbosity++;
		return true;
	case OPT_DISK: {
		struct disk_config d;
		/* getopt hands us argv memory, which we may split in place. */
		if (config_parse_disk((char *)arg, &d) < 0)
			return false;
		return res_drive_add(cfg, &d, RES_REFUSE, &err) == 0 || flag_error("--disk", &err);
	}
	case OPT_NO_SECCOMP:
		cfg->no_seccomp = true;
		return true;
	case OPT_ID:
		if (!config_valid_instance_id(arg)) {
			log_error("--id: '%s' must be 1 to %d alphanumeric characters or '-'", arg,
				  CONFIG_ID_MAX);
			return false;
		}
		strcpy(cfg->id, arg);
		return true;
	case OPT_API_SOCK:
		if (arg[0] == '\0') {
			log_error("--api-sock: needs a path");
			return false;
		}
		return set_str("--api-sock", &cfg->api_sock, arg);
	case OPT_CONFIG_FILE:
		return set_str("--config-file", &cfg->config_file, arg);
	case OPT_RESTORE:
		return set_str("--restore", &cfg->restore_path, arg);
	case OPT_MEM_FILE:
		return set_str("--mem-file", &cfg->mem_file_path, arg);
	case OPT_DESCRIBE_SNAPSHOT:
		return set_str("--describe-snapshot", &cfg->describe_snapshot, arg);
	case OPT_RESTORE_SERVER:
		return set_str("--restore-server", &cfg->restore_server, arg);
	case OPT_RESTORE_VIA:
		return set_str("--restore-via", &cfg->restore_via, arg);
	case OPT_PREWARM:
		return add_prewarm(cfg, arg);
	case OPT_SNAPSHOT_VERSION:
		cfg->snapshot_version = true;
		return true;
	case OPT_SNAPSHOT_WHEN_READY:
		return set_str("--snapshot-when-ready", &cfg->snapshot_when_ready, arg);
	case OPT_METADATA:
		return set_str("--metadata", &cfg->metadata_path, arg);
	case OPT_MMDS_SIZE_LIMIT:
		if (!parse_u64(arg, 1, CONFIG_MAX_API_PAYLOAD, &v)) {
			log_error("--mmds-size-limit: '%s' is not a size in bytes from 1 to %llu",
				  arg, (unsigned long long)CONFIG_MAX_API_PAYLOAD);
			return false;
		}
		cfg->mmds_size_limit = v;
		return true;
	case OPT_NO_API:
		cfg->no_api = true;
		return true;
	case OPT_ENABLE_PCI:
		/* Firecracker's PCIe transport: refused by name rather than ignored. */
		log_error("--enable-pci: ember has no PCI bus (its devices are virtio-mmio only); "
			  "leave the flag out");
		return false;
	case OPT_LOG_PATH:
		fr->l.log_path = arg;
		fr->logger = true;
		return true;
	case OPT_LEVEL:
		fr->l.level = arg;
		fr->logger = true;
		return true;
	case OPT_MODULE:
		fr->l.module = arg;
		fr->logger = true;
		return true;
	case OPT_SHOW_LEVEL:
		fr->l.show_level = fr->logger = true;
		return true;
	case OPT_SHOW_LOG_ORIGIN:
		fr->l.show_log_origin = fr->logger = true;
		return true;
	case OPT_METRICS_PATH:
		fr->x.metrics_path = arg;
		fr->metrics = true;
		return true;
	case OPT_SECCOMP_FILTER:
		if (config_check_seccomp_filter(arg) < 0)
			return false;
		return set_str("--seccomp-filter", &cfg->seccomp_filter, arg);
	case OPT_START_TIME_US:
	case OPT_START_TIME_CPU_US:
	case OPT_PARENT_CPU_TIME_US:
		if (!parse_u64(arg, 0, UINT64_MAX, &v)) {
			log_error("%s: '%s' is not a time in microseconds",
				  opt == OPT_START_TIME_US	 ? "--start-time-us"
				  : opt == OPT_START_TIME_CPU_US ? "--start-time-cpu-us"
								 : "--parent-cpu-time-us",
				  arg);
			return false;
		}
		if (opt == OPT_START_TIME_US) {
			cfg->start_time_us = v;
			cfg->has_start_time_us = true;
		} else if (opt == OPT_START_TIME_CPU_US) {
			cfg->start_time_cpu_us = v;
			cfg->has_start_time_cpu_us = true;
		} else {
			cfg->parent_cpu_time_us = v;
			cfg->has_parent_cpu_time_us = true;
		}
		return true;
	case OPT_API_PAYLOAD:
		if (!parse_u64(arg, 1, CONFIG_MAX_API_PAYLOAD, &v)) {
			log_error(
			    "--http-api-max-payload-size: '%s' is not a size in bytes from 1 to "
			    "%llu",
			    arg, (unsigned long long)CONFIG_MAX_API_PAYLOAD);
			return false;
		}
		cfg->api_max_payload = v;
		return true;
	case OPT_NET: {
		struct net_config n;
		/* getopt hands us argv memory, which we may split in place. */
		if (config_parse_net((char *)arg, &n) < 0)
			return false;
		snprintf(n.iface_id, sizeof(n.iface_id), "eth%u", cfg->nnets);
		return res_net_add(cfg, &n, RES_REFUSE, &err) == 0 || flag_error("--net", &err);
	}
	case OPT_VSOCK: {
		struct vsock_config vs;
		if (config_parse_vsock((char *)arg, &vs) < 0)
			return false;
		return res_vsock_set(cfg, &vs, RES_REFUSE, &err) == 0 ||
		       flag_error("--vsock", &err);
	}
	case OPT_RNG: {
		const struct rate_limiter unlimited = {0};
		return res_entropy_set(cfg, &unlimited, RES_REFUSE, &err) == 0 ||
		       flag_error("--rng", &err);
	}
	default:
		return false;
	}
}

/*
 * check_restore: --restore and --mem-file go together, and nothing else may
 * describe the machine: the snapshot brings its kernel state and devices.
 */
static int check_restore(const struct vm_config *cfg, bool kernel)
{
	const char *clash = NULL;
	bool snapshot = cfg->restore_path != NULL || cfg->snapshot_when_ready != NULL;

	if (cfg->restore_path != NULL && cfg->snapshot_when_ready != NULL) {
		log_error("--restore: conflicts with --snapshot-when-ready");
		return -EINVAL;
	}
	if (snapshot != (cfg->mem_file_path != NULL)) {
		const char *flag = cfg->restore_path	      ? "--restore"
				   : cfg->snapshot_when_ready ? "--snapshot-when-ready"
							      : "--mem-file";
		log_error("%s: needs %s", flag,
			  snapshot ? "--mem-file MEM"
				   : "--restore SNAP or --snapshot-when-ready SNAP");
		return -EINVAL;
	}
	if (cfg->restore_via != NULL && cfg->restore_path == NULL) {
		log_error("--restore-via: needs --restore SNAP --mem-file MEM");
		return -EINVAL;
	}
	if (cfg->restore_path == NULL)
		return 0;
	if (kernel)
		clash = "--kernel";
	else if (cfg->config_file != NULL)
		clash = "--config-file";
	else if (cfg->ndisks > 0 || cfg->rng)
		clash = cfg->ndisks > 0 ? "--disk" : "--rng";
	else if (cfg->cpu_template != CPU_TEMPLATE_NONE)
		clash = "--cpu-template";
	else if (cfg->huge_pages != CONFIG_HUGE_PAGES_NONE)
		clash = "--huge-pages";
	else if (cfg->restore_via != NULL && (cfg->nnets > 0 || cfg->vsock.enabled))
		clash = "--restore-via";
	for (unsigned int i = 0; i < cfg->nnets; i++)
		if (cfg->nets[i].has_mac || cfg->nets[i].has_mtu) {
			log_error("--restore: --net %s: only the tap is overridden (the snapshot "
				  "brings the interface's MAC and MTU)",
				  cfg->nets[i].host_dev_name);
			return -EINVAL;
		}
	if (clash != NULL) {
		log_error("--restore: conflicts with %s (the snapshot brings the whole machine; "
			  "only --net and --vsock, as overrides, go with it, and not through a "
			  "restore server)",
			  clash);
		return -EINVAL;
	}
	return 0;
}

/* check_restore_server: a server describes no machine of its own: each request brings one. */
static int check_restore_server(const struct vm_config *cfg, bool kernel)
{
	const char *clash = NULL;

	if (cfg->restore_server == NULL) {
		if (cfg->nprewarm > 0) {
			log_error("--prewarm: needs --restore-server SOCKET");
			return -EINVAL;
		}
		return 0;
	}
	if (cfg->restore_path != NULL || cfg->snapshot_when_ready != NULL)
		clash = cfg->restore_path != NULL ? "--restore" : "--snapshot-when-ready";
	else if (kernel)
		clash = "--kernel";
	else if (cfg->api_sock != NULL || cfg->no_api)
		clash = cfg->api_sock != NULL ? "--api-sock" : "--no-api";
	else if (cfg->config_file != NULL)
		clash = "--config-file";
	else if (config_device_count(cfg) > 0)
		clash = "a device flag (--disk, --net, --vsock, --rng)";
	else if (cfg->cpu_template != CPU_TEMPLATE_NONE)
		clash = "--cpu-template";
	else if (cfg->huge_pages != CONFIG_HUGE_PAGES_NONE)
		clash = "--huge-pages";
	if (clash != NULL) {
		log_error("--restore-server: conflicts with %s (each request names its snapshot)",
			  clash);
		return -EINVAL;
	}
	return 0;
}

/* machine_flag: (opt) is one of ember's own flags that describe a machine to boot now. */
static bool machine_flag(int opt)
{
	switch (opt) {
	case OPT_KERNEL:
	case OPT_INITRD:
	case OPT_CMDLINE:
	case OPT_MEM:
	case OPT_VCPUS:
	case OPT_BOOT_ENTRY:
	case OPT_DISK:
	case OPT_NET:
	case OPT_VSOCK:
	case OPT_RNG:
	case OPT_RESTORE:
	case OPT_MEM_FILE:
	case OPT_SNAPSHOT_WHEN_READY:
	case OPT_CPU_TEMPLATE:
	case OPT_HUGE_PAGES:
	case OPT_RESTORE_SERVER:
	case OPT_RESTORE_VIA:
	case OPT_PREWARM:
		return true;
	default:
		return false;
	}
}

/*
 * check_machine_flags: the machine, the logger and the metrics the flags
 * describe, each through its validator. false after an error naming a flag.
 */
static bool check_machine_flags(struct vm_config *cfg, const struct flag_resources *fr)
{
	struct res_error err;

	if (fr->machine && res_machine_set(cfg, &fr->m, &err) < 0)
		return flag_error("--vcpus", &err);
	if (fr->logger && res_logger_set(cfg, &fr->l, &err) < 0)
		return flag_error("--log-path", &err);
	if (fr->metrics && res_metrics_set(cfg, &fr->x, &err) < 0)
		return flag_error("--metrics-path", &err);
	return true;
}

enum config_action config_parse_args(struct vm_config *cfg, int argc, char **argv)
{
	struct flag_resources fr = {.m = {.vcpu_count = cfg->vcpus,
					  .mem_size_mib = cfg->mem_mib,
					  .smt = cfg->smt,
					  .track_dirty_pages = cfg->track_dirty_pages}};
	struct res_error err;
	bool machine = false;
	int opt;

	opterr = 0; /* we print our own messages */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			fputs(usage_text, stdout);
			return CONFIG_EXIT_OK;
		case OPT_VERSION:
			/*
			 * Firecracker's shape, "Firecracker v1.2.3" and a blank
			 * line: clients take the second word as the version
			 * (older Kata splits the whole output on spaces, so
			 * ember's own version stays on the same line).
			 */
			printf("ember v%s (Firecracker API; ember %s)\n\n",
			       CONFIG_FIRECRACKER_API_VERSION, EMBER_VERSION);
			return CONFIG_EXIT_OK;
		case ':':
			log_error("%s: needs a value", argv[optind - 1]);
			return CONFIG_INVALID;
		case '?':
			log_error("%s: unknown option (see --help)", argv[optind - 1]);
			return CONFIG_INVALID;
		default:
			machine = machine || machine_flag(opt);
			if (!apply(cfg, &fr, opt, optarg))
				return CONFIG_INVALID;
		}
	}
	if (!check_machine_flags(cfg, &fr))
		return CONFIG_INVALID;
	/* getopt_long permutes: anything left that was not after "--" is stray. */
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		log_error("'%s': unexpected argument (guest arguments go after --)", argv[optind]);
		return CONFIG_INVALID;
	}
	if (set_guest_args(cfg, argv + optind, argc - optind) < 0) {
		log_error("guest arguments: out of memory");
		return CONFIG_INVALID;
	}
	if (cfg->no_api && cfg->config_file == NULL) {
		log_error("--no-api: needs --config-file (nothing else could configure the VM)");
		return CONFIG_INVALID;
	}
	if (cfg->no_api && cfg->api_sock != NULL) {
		log_error("--no-api: conflicts with --api-sock");
		return CONFIG_INVALID;
	}
	if (cfg->describe_snapshot != NULL || cfg->snapshot_version)
		return CONFIG_RUN; /* main prints and exits */
	bool kernel = fr.b.kernel_image_path != NULL;
	if (check_restore(cfg, kernel) < 0 || check_restore_server(cfg, kernel) < 0)
		return CONFIG_INVALID;
	/* After the conflicts above: a snapshot or a server has no kernel to read. */
	if (fr.boot && res_boot_source_set(cfg, &fr.b, &err) < 0) {
		flag_error("--kernel", &err);
		return CONFIG_INVALID;
	}
	if (cfg->restore_server != NULL)
		return CONFIG_RUN;
	/* Firecracker's default socket, unless the command line is a machine of its own. */
	if (!machine && argc <= optind && !cfg->no_api && cfg->api_sock == NULL &&
	    !set_str("--api-sock", &cfg->api_sock, CONFIG_DEFAULT_API_SOCK))
		return CONFIG_INVALID;
	/* The API, the config file or a snapshot may name the kernel instead. */
	if (cfg->kernel_path == NULL && cfg->api_sock == NULL && cfg->config_file == NULL &&
	    cfg->restore_path == NULL) {
		log_error("--kernel: missing: which kernel to boot (see --help)");
		return CONFIG_INVALID;
	}
	return CONFIG_RUN;
}
