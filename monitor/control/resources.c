// SPDX-License-Identifier: Apache-2.0
/* resources.c: the device resources' rules, one place for every interface (see resources.h). */
#include "resources.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"

#define MAC_TEXT_LEN 17 /* "aa:bb:cc:dd:ee:ff" */
#define TUN_DEVICE   "/dev/net/tun"
#define HEX_BASE     16

/* refuse: fill (err) for (field) and evaluate to -EINVAL. */
static int refuse(struct res_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct res_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	err->field = field;
	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* copy_str: the config's own copy of (s), or NULL with (err) filled. */
static const char *copy_str(const char *s, struct res_error *err)
{
	char *copy = strdup(s);

	if (copy == NULL)
		refuse(err, NULL, "out of memory");
	return copy;
}

/* no_room: the device table is full: the one place that says so. */
static int no_room(const struct vm_config *cfg, struct res_error *err)
{
	if (config_device_count(cfg) < CONFIG_MAX_DEVICES)
		return 0;
	return refuse(err, NULL, "at most %d virtio devices", CONFIG_MAX_DEVICES);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int res_parse_mac(const char *s, uint8_t mac[RES_MAC_BYTES])
{
	uint8_t out[RES_MAC_BYTES];

	if (s == NULL || strlen(s) != MAC_TEXT_LEN)
		return -EINVAL;
	for (int i = 0; i < RES_MAC_BYTES; i++) {
		const char *p = s + (size_t)i * 3;
		int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
		if (hi < 0 || lo < 0 || (i < RES_MAC_BYTES - 1 && p[2] != ':'))
			return -EINVAL;
		out[i] = (uint8_t)(hi * HEX_BASE + lo);
	}
	memcpy(mac, out, sizeof(out));
	return 0;
}

bool res_valid_device_id(const char *id, size_t max)
{
	size_t n = strlen(id);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* check_id: (id) in (field) is a device id of at most (max) characters. */
static int check_id(const char *field, const char *id, size_t max, struct res_error *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > max)
		return refuse(err, field, "'%s' must be 1 to %zu characters", id, max);
	if (!res_valid_device_id(id, max))
		return refuse(err, field, "'%s' may hold only alphanumeric characters and '_'", id);
	return 0;
}

/* check_path: (path) in (field) is a host path: not empty, not too long for the kernel. */
static int check_path(const char *field, const char *path, struct res_error *err)
{
	if (path == NULL || path[0] == '\0')
		return refuse(err, field, "an empty path");
	if (strlen(path) > RES_HOST_PATH_MAX)
		return refuse(err, field, "a path longer than %d bytes", RES_HOST_PATH_MAX);
	return 0;
}

/* check_host_file: (path) in (field) names a host file this process can read now. */
static int check_host_file(const char *field, const char *path, struct res_error *err)
{
	int ret = check_path(field, path, err);

	if (ret < 0)
		return ret;
	if (access(path, R_OK) != 0)
		return refuse(err, field, "cannot open '%s': %s", path, strerror(errno));
	return 0;
}

int res_drive_add(struct vm_config *cfg, const struct disk_config *d, enum res_same_id same,
		  struct res_error *err)
{
	int ret = check_host_file("path_on_host", d->path, err);

	if (ret == 0 && d->id[0] != '\0')
		ret = check_id("drive_id", d->id, CONFIG_DISK_ID_MAX, err);
	if (ret < 0)
		return ret;
	unsigned int slot = cfg->ndisks;
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *x = &cfg->disks[i];
		if (d->id[0] != '\0' && strcmp(x->id, d->id) == 0) {
			if (same == RES_REFUSE)
				return refuse(err, "drive_id", "'%s' is given twice", d->id);
			slot = i;
		} else if (d->is_root && x->is_root) {
			return refuse(err, "is_root_device",
				      "a root block device already exists ('%s')", x->id);
		}
	}
	if (slot == cfg->ndisks && (ret = no_room(cfg, err)) < 0)
		return ret;
	struct disk_config kept = *d;
	if ((kept.path = copy_str(d->path, err)) == NULL)
		return -ENOMEM;
	if (slot == cfg->ndisks)
		cfg->ndisks++;
	else
		free((char *)cfg->disks[slot].path);
	cfg->disks[slot] = kept;
	/* The root device is /dev/vda: move it first, keeping the others' order. */
	if (kept.is_root && slot != 0) {
		memmove(&cfg->disks[1], &cfg->disks[0], slot * sizeof(cfg->disks[0]));
		cfg->disks[0] = kept;
	}
	return 0;
}

static void format_mac(const uint8_t mac[RES_MAC_BYTES], char out[MAC_TEXT_LEN + 1])
{
	snprintf(out, MAC_TEXT_LEN + 1, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}

int res_net_add(struct vm_config *cfg, const struct net_config *n, enum res_same_id same,
		struct res_error *err)
{
	const char *dev = n->host_dev_name;
	int ret = check_id("iface_id", n->iface_id, CONFIG_ID_MAX, err);

	if (ret < 0)
		return ret;
	if (dev == NULL || dev[0] == '\0' || strlen(dev) > RES_TAP_NAME_MAX || strchr(dev, '/'))
		return refuse(err, "host_dev_name", "'%s' is not a tap device name (1 to %d bytes)",
			      dev != NULL ? dev : "", RES_TAP_NAME_MAX);
	if (n->has_mtu && (n->mtu < RES_MTU_MIN || n->mtu > RES_MTU_MAX))
		return refuse(err, "mtu", "%llu is not an MTU from %d to %d",
			      (unsigned long long)n->mtu, RES_MTU_MIN, RES_MTU_MAX);
	unsigned int slot = cfg->nnets;
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		const struct net_config *x = &cfg->nets[i];
		if (strcmp(x->iface_id, n->iface_id) == 0) {
			if (same == RES_REFUSE)
				return refuse(err, "iface_id", "'%s' is given twice", n->iface_id);
			slot = i;
			continue;
		}
		if (strcmp(x->host_dev_name, dev) == 0)
			return refuse(err, "host_dev_name", "'%s' is already used by '%s'", dev,
				      x->iface_id);
		if (n->has_mac && x->has_mac &&
		    memcmp(x->guest_mac, n->guest_mac, RES_MAC_BYTES) == 0) {
			char mac[MAC_TEXT_LEN + 1];
			format_mac(n->guest_mac, mac);
			return refuse(err, "guest_mac", "'%s' is already used by '%s'", mac,
				      x->iface_id);
		}
	}
	if (slot == cfg->nnets && (ret = no_room(cfg, err)) < 0)
		return ret;
	struct net_config kept = *n;
	if ((kept.host_dev_name = copy_str(dev, err)) == NULL)
		return -ENOMEM;
	if (slot == cfg->nnets)
		cfg->nnets++;
	else
		free((char *)cfg->nets[slot].host_dev_name);
	cfg->nets[slot] = kept;
	return 0;
}

int res_vsock_set(struct vm_config *cfg, const struct vsock_config *v, enum res_same_id same,
		  struct res_error *err)
{
	int ret;

	if (cfg->vsock.enabled && same == RES_REFUSE)
		return refuse(err, NULL, "given twice");
	if (v->guest_cid < CONFIG_MIN_VSOCK_CID || v->guest_cid == UINT32_MAX)
		return refuse(err, "guest_cid", "%u is reserved (a guest's CID is %d to %u)",
			      v->guest_cid, CONFIG_MIN_VSOCK_CID, UINT32_MAX - 1);
	if (v->uds_path == NULL || v->uds_path[0] == '\0')
		return refuse(err, "uds_path", "an empty path");
	if (strlen(v->uds_path) > RES_UDS_PATH_MAX)
		return refuse(err, "uds_path", "'%s' is longer than a Unix socket path (%d bytes)",
			      v->uds_path, RES_UDS_PATH_MAX);
	if (v->vsock_id[0] != '\0' &&
	    (ret = check_id("vsock_id", v->vsock_id, CONFIG_ID_MAX, err)) < 0)
		return ret;
	if (!cfg->vsock.enabled && (ret = no_room(cfg, err)) < 0)
		return ret;
	const char *path = copy_str(v->uds_path, err);
	if (path == NULL)
		return -ENOMEM;
	free((char *)cfg->vsock.uds_path);
	cfg->vsock = *v;
	cfg->vsock.uds_path = path;
	cfg->vsock.enabled = true;
	return 0;
}

int res_entropy_set(struct vm_config *cfg, const struct rate_limiter *rl, enum res_same_id same,
		    struct res_error *err)
{
	int ret;

	if (cfg->rng && same == RES_REFUSE)
		return refuse(err, NULL, "given twice");
	if (!cfg->rng && (ret = no_room(cfg, err)) < 0)
		return ret;
	cfg->rng = true;
	cfg->rng_limiter = *rl;
	return 0;
}

int res_drive_probe(const struct disk_config *d, struct res_error *err)
{
	/* O_NONBLOCK: a FIFO given as a disk must not hang the API. */
	int fd =
	    open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		int e = errno;
		refuse(err, "path_on_host", "cannot open '%s' %s: %s", d->path,
		       d->read_only ? "read-only" : "read-write", strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

int res_tap_probe(const struct net_config *n, struct res_error *err)
{
	const char *name = n->host_dev_name;
	struct ifreq ifr;
	int fd, e = 0;

	if (if_nametoindex(name) == 0) {
		e = errno;
		refuse(err, "host_dev_name",
		       "'%s': no such network interface (create it first: ip tuntap add dev %s "
		       "mode tap)",
		       name, name);
		return -e;
	}
	fd = open(TUN_DEVICE, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		refuse(err, "host_dev_name", "'%s': cannot open %s: %s", name, TUN_DEVICE,
		       strerror(e));
		return -e;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name)); /* 1..15 bytes: res_net_add checked */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		refuse(err, "host_dev_name", "'%s': cannot attach to the tap: %s", name,
		       e == EINVAL  ? "not a tap device"
		       : e == EBUSY ? "in use"
				    : strerror(e));
	}
	close(fd);
	return -e;
}

#define LINK_LOCAL_NET	0xa9fe0000U /* 169.254.0.0/16, RFC 3927 */
#define LINK_LOCAL_MASK 0xffff0000U

int res_mmds_set(struct vm_config *cfg, const struct mmds_config *m, struct res_error *err)
{
	if (m->nifaces == 0)
		return refuse(err, "network_interfaces",
			      "the list of interfaces that may reach MMDS is empty");
	for (unsigned int i = 0; i < m->nifaces; i++) {
		unsigned int k;
		for (k = 0; k < cfg->nnets; k++)
			if (strcmp(cfg->nets[k].iface_id, m->ifaces[i]) == 0)
				break;
		if (k == cfg->nnets)
			return refuse(err, "network_interfaces",
				      "no network interface '%s' (configure it first)",
				      m->ifaces[i]);
	}
	if ((m->ipv4 & LINK_LOCAL_MASK) != LINK_LOCAL_NET)
		return refuse(
		    err, "ipv4_address", "%u.%u.%u.%u is not a link-local address (169.254.0.0/16)",
		    m->ipv4 >> 24, (m->ipv4 >> 16) & 0xff, (m->ipv4 >> 8) & 0xff, m->ipv4 & 0xff);
	cfg->mmds = *m;
	cfg->mmds.set = true;
	return 0;
}

/* Firecracker's name for the Graviton template, which an x86_64 host cannot have. */
#define AARCH64_TEMPLATE "V1N1"

int res_machine_set(struct vm_config *cfg, const struct res_machine *m, struct res_error *err)
{
	enum cpu_template_id tmpl = cfg->cpu_template; /* left out: as it is, a custom one too */

	if (m->vcpu_count < 1 || m->vcpu_count > CONFIG_MAX_VCPUS)
		return refuse(err, "vcpu_count", "%llu is out of range (1 to %d)",
			      (unsigned long long)m->vcpu_count, CONFIG_MAX_VCPUS);
	/* Firecracker's rule: SMT siblings come in pairs. */
	if (m->smt && m->vcpu_count > 1 && m->vcpu_count % 2 != 0)
		return refuse(err, "vcpu_count",
			      "%llu: with smt enabled, the vCPU count must be 1 or even",
			      (unsigned long long)m->vcpu_count);
	if (m->mem_size_mib < CONFIG_MIN_MEM_MIB || m->mem_size_mib > CONFIG_MAX_MEM_MIB)
		return refuse(err, "mem_size_mib", "%llu is out of range (%d to %llu)",
			      (unsigned long long)m->mem_size_mib, CONFIG_MIN_MEM_MIB,
			      (unsigned long long)CONFIG_MAX_MEM_MIB);
	if (m->cpu_template != NULL && cpu_template_id_by_name(m->cpu_template, &tmpl) < 0) {
		if (strcmp(m->cpu_template, AARCH64_TEMPLATE) == 0)
			return refuse(err, "cpu_template",
				      "'%s' is for aarch64 hosts (ember: x86_64)", m->cpu_template);
		return refuse(err, "cpu_template",
			      "'%s' is not one of C3, T2, T2S, T2CL, T2A, None", m->cpu_template);
	}
	enum config_huge_pages huge = CONFIG_HUGE_PAGES_NONE;
	if (m->huge_pages != NULL && res_huge_pages_by_name(m->huge_pages, &huge) < 0)
		return refuse(err, "huge_pages", "'%s' is not one of None, 2M, Transparent",
			      m->huge_pages);
	/* 2 MiB pages back whole MiBs in pairs only (Firecracker's rule). */
	if (huge == CONFIG_HUGE_PAGES_2M && m->mem_size_mib % 2 != 0)
		return refuse(err, "mem_size_mib",
			      "%llu: with 2M huge pages, the memory size must be a multiple of 2",
			      (unsigned long long)m->mem_size_mib);
	cfg->vcpus = (unsigned int)m->vcpu_count;
	cfg->mem_mib = m->mem_size_mib;
	cfg->smt = m->smt;
	cfg->track_dirty_pages = m->track_dirty_pages;
	cfg->cpu_template = tmpl;
	cfg->huge_pages = huge;
	return 0;
}

/* Firecracker's names for machine-config.huge_pages, by enum config_huge_pages. */
static const char *const huge_page_names[] = {
    [CONFIG_HUGE_PAGES_NONE] = "None",
    [CONFIG_HUGE_PAGES_TRANSPARENT] = "Transparent",
    [CONFIG_HUGE_PAGES_2M] = "2M",
};

const char *res_huge_pages_name(enum config_huge_pages h)
{
	return (unsigned int)h < sizeof(huge_page_names) / sizeof(huge_page_names[0])
		   ? huge_page_names[h]
		   : "None";
}

int res_huge_pages_by_name(const char *name, enum config_huge_pages *out)
{
	for (unsigned int i = 0; i < sizeof(huge_page_names) / sizeof(huge_page_names[0]); i++)
		if (strcmp(huge_page_names[i], name) == 0) {
			*out = (enum config_huge_pages)i;
			return 0;
		}
	return -EINVAL;
}

/*
 * copy_strs: the config's own copies of the (n) strings at (in) (NULL
 * stays NULL) into (out): all of them, or none with (err) filled.
 */
static int copy_strs(const char *const *in, const char **out, size_t n, struct res_error *err)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		if (in[i] != NULL && (out[i] = copy_str(in[i], err)) == NULL) {
			while (i-- > 0)
				free((char *)out[i]);
			return -ENOMEM;
		}
	}
	return 0;
}

/* replace_strs: (n) fields at (fields) take the strings at (kept); the old ones are freed. */
static void replace_strs(const char **const *fields, const char *const *kept, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)*fields[i]);
		*fields[i] = kept[i];
	}
}

#define BOOT_STRS 3 /* kernel, initrd, boot arguments */

int res_boot_source_set(struct vm_config *cfg, const struct res_boot_source *b,
			struct res_error *err)
{
	const char *in[BOOT_STRS] = {b->kernel_image_path, b->initrd_path, b->boot_args};
	const char **fields[BOOT_STRS] = {&cfg->kernel_path, &cfg->initrd_path, &cfg->cmdline};
	const char *kept[BOOT_STRS];
	int ret;

	if (b->kernel_image_path == NULL)
		return refuse(err, "kernel_image_path", "missing: a boot source needs a kernel");
	if ((ret = check_host_file("kernel_image_path", b->kernel_image_path, err)) < 0)
		return ret;
	if (b->initrd_path != NULL &&
	    (ret = check_host_file("initrd_path", b->initrd_path, err)) < 0)
		return ret;
	if (b->boot_args != NULL && strlen(b->boot_args) >= LAYOUT_CMDLINE_MAX)
		return refuse(err, "boot_args", "longer than %llu bytes",
			      (unsigned long long)LAYOUT_CMDLINE_MAX - 1);
	if ((ret = copy_strs(in, kept, BOOT_STRS, err)) < 0)
		return ret;
	replace_strs(fields, kept, BOOT_STRS);
	return 0;
}

#define LOGGER_STRS 2 /* path, module */

int res_logger_set(struct vm_config *cfg, const struct res_logger *l, struct res_error *err)
{
	struct logger_config *cur = &cfg->logger;
	const char *in[LOGGER_STRS] = {l->log_path, l->module};
	const char **fields[LOGGER_STRS] = {&cur->log_path, &cur->module};
	const char *kept[LOGGER_STRS];
	enum config_log_level level = CONFIG_LOG_INFO;
	int ret;

	if (l->log_path != NULL && (ret = check_path("log_path", l->log_path, err)) < 0)
		return ret;
	if (l->level != NULL && config_parse_log_level(l->level, &level) < 0)
		return refuse(err, "level",
			      "'%s' is not one of Error, Warning, Info, Debug, Trace, Off",
			      l->level);
	if ((ret = copy_strs(in, kept, LOGGER_STRS, err)) < 0)
		return ret;
	replace_strs(fields, kept, LOGGER_STRS);
	cur->set = true;
	cur->level = level;
	cur->level_set = l->level != NULL;
	cur->show_level = l->show_level;
	cur->show_log_origin = l->show_log_origin;
	return 0;
}

int res_metrics_set(struct vm_config *cfg, const struct res_metrics *m, struct res_error *err)
{
	const char *path;
	int ret = check_path("metrics_path", m->metrics_path, err);

	if (ret < 0)
		return ret;
	if ((path = copy_str(m->metrics_path, err)) == NULL)
		return -ENOMEM;
	free((char *)cfg->metrics_path);
	cfg->metrics_path = path;
	return 0;
}

int res_serial_set(struct vm_config *cfg, const struct serial_config *s, struct res_error *err)
{
	const char *path = NULL;

	if (s->out_path != NULL) {
		int ret = check_path("serial_out_path", s->out_path, err);
		if (ret < 0)
			return ret;
		if ((path = copy_str(s->out_path, err)) == NULL)
			return -ENOMEM;
	}
	free((char *)cfg->serial.out_path);
	cfg->serial = *s;
	cfg->serial.out_path = path;
	return 0;
}

const char *res_flag_name(const char *field)
{
	static const struct {
		const char *field, *flag;
	} flags[] = {
	    {"vcpu_count", "--vcpus"},
	    {"mem_size_mib", "--mem"},
	    {"cpu_template", "--cpu-template"},
	    {"huge_pages", "--huge-pages"},
	    {"kernel_image_path", "--kernel"},
	    {"initrd_path", "--initrd"},
	    {"boot_args", "--cmdline"},
	    {"log_path", "--log-path"},
	    {"level", "--level"},
	    {"module", "--module"},
	    {"show_level", "--show-level"},
	    {"show_log_origin", "--show-log-origin"},
	    {"metrics_path", "--metrics-path"},
	};

	if (field == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(flags[i].field, field) == 0)
			return flags[i].flag;
	return NULL;
}

const char *res_flag_word(const char *field)
{
	static const struct {
		const char *field, *word;
	} words[] = {
	    {"drive_id", "id"}, {"iface_id", "interface"},  {"guest_cid", "guest CID"},
	    {"vsock_id", "id"}, {"is_root_device", "root"}, {"mtu", "mtu"},
	};

	if (field == NULL)
		return "";
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].field, field) == 0)
			return words[i].word;
	return "";
}
