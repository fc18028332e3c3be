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

/* check_host_file: (path) in (field) names a host file this process can read now. */
static int check_host_file(const char *field, const char *path, struct res_error *err)
{
	if (path == NULL || path[0] == '\0')
		return refuse(err, field, "an empty path");
	if (strlen(path) > RES_HOST_PATH_MAX)
		return refuse(err, field, "a path longer than %d bytes", RES_HOST_PATH_MAX);
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
		return refuse(err, "guest_cid", "%u is not a guest CID (%d to %u)", v->guest_cid,
			      CONFIG_MIN_VSOCK_CID, UINT32_MAX - 1);
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

const char *res_flag_word(const char *field)
{
	static const struct {
		const char *field, *word;
	} words[] = {
	    {"drive_id", "id"}, {"iface_id", "interface"},  {"guest_cid", "guest CID"},
	    {"vsock_id", "id"}, {"is_root_device", "root"},
	};

	if (field == NULL)
		return "";
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].field, field) == 0)
			return words[i].word;
	return "";
}
