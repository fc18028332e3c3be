/* SPDX-License-Identifier: Apache-2.0 */
/*
 * resources.h: one validator per resource, called alike by the command
 * line (config.c), the config file and the API (config_json.c), as
 * Firecracker's vmm_config does: the machine, the boot source, a drive, a
 * network interface, the vsock and entropy devices, MMDS, the logger and
 * the metrics are checked by the same rules and put into the same struct
 * vm_config whichever interface the user spoke.
 *
 * Errors travel as values: a struct res_error names the field at fault by
 * Firecracker's JSON name and says what is wrong with its value; each
 * interface renders it in its own words (res_flag_name() and
 * res_flag_word() for flags, the JSON path for a document or a request
 * body).
 *
 * Each add/set takes the resource as parsed (syntax is the interface's
 * business) and the config it joins; on error the config is unchanged.
 * Strings: the resource's (a drive's path, a tap name, a socket path, a
 * kernel's path) are the caller's; on success the config keeps its own
 * copies (and frees those of a resource it replaces).
 */
#ifndef EMBER_RESOURCES_H
#define EMBER_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define RES_ERR_MAX	  320
#define RES_MAC_BYTES	  6
#define RES_UDS_PATH_MAX  107 /* sun_path holds 108 bytes with the NUL */
#define RES_HOST_PATH_MAX 4095
#define RES_TAP_NAME_MAX  15 /* IFNAMSIZ - 1 */
#define RES_MTU_MIN	  68	/* IPv4's minimum (RFC 791), Firecracker's bound */
#define RES_MTU_MAX	  65535 /* virtio-net's field is 16 bits */

/* What is wrong, and with which field (Firecracker's name; NULL: the resource). */
struct res_error {
	const char *field;
	char msg[RES_ERR_MAX];
};

/* How a resource with the same id as one already configured is treated. */
enum res_same_id {
	RES_REPLACE, /* a PUT: the new one replaces it (the API, the config file) */
	RES_REFUSE,  /* an error (flags: each one adds a device) */
};

/* res_parse_mac: "aa:bb:cc:dd:ee:ff" (hex digits, any case) into (mac). 0 or -EINVAL. */
int res_parse_mac(const char *s, uint8_t mac[RES_MAC_BYTES]);

/* res_valid_device_id: 1..(max) of [A-Za-z0-9_], Firecracker's rule for device ids. */
bool res_valid_device_id(const char *id, size_t max);

/*
 * res_drive_add: a block device. Its path must be readable now; its id, when
 * set (flags may leave it empty), a device id of at most CONFIG_DISK_ID_MAX;
 * at most one root device, which goes first (it is /dev/vda). 0 or -EINVAL.
 */
int res_drive_add(struct vm_config *cfg, const struct disk_config *d, enum res_same_id same,
		  struct res_error *err);

/*
 * res_net_add: a network interface on a tap: a tap name of 1..15 bytes, no
 * tap or MAC used by another interface, a unique iface_id, an MTU (when
 * set) from RES_MTU_MIN to RES_MTU_MAX. 0 or -EINVAL.
 */
int res_net_add(struct vm_config *cfg, const struct net_config *n, enum res_same_id same,
		struct res_error *err);

/*
 * res_vsock_set: the vsock device: a guest CID from CONFIG_MIN_VSOCK_CID,
 * a Unix socket path that fits sun_path, an optional device id. 0 or -EINVAL.
 */
int res_vsock_set(struct vm_config *cfg, const struct vsock_config *v, enum res_same_id same,
		  struct res_error *err);

/* res_entropy_set: the entropy device, with its rate limiter. 0 or -EINVAL. */
int res_entropy_set(struct vm_config *cfg, const struct rate_limiter *rl, enum res_same_id same,
		    struct res_error *err);

/*
 * Host checks, for what Firecracker opens when a device is PUT (a drive's
 * file, a tap) rather than when the VM starts: a missing tap or a file the
 * process (in a jail: its uid) may not open is a 400 on the PUT. Each opens
 * and closes at once: nothing is held. Before seccomp (the API's pre-boot
 * requests), as they open files and /dev/net/tun.
 */

/*
 * res_drive_probe: (d)'s path opens now, read-only or read-write as (d)
 * says. 0, or -errno with (err) naming path_on_host.
 */
int res_drive_probe(const struct disk_config *d, struct res_error *err);

/*
 * res_tap_probe: (n)'s host_dev_name is an existing tap this process may
 * attach to (TUNSETIFF as virtio-net does; it would create a missing one,
 * so that is looked up first). 0, or -errno with (err) naming host_dev_name.
 */
int res_tap_probe(const struct net_config *n, struct res_error *err);

/*
 * res_mmds_set: the metadata service's configuration: at least one
 * network_interfaces id, each naming an interface configured already; an
 * IPv4 address that is link-local (169.254.0.0/16), as Firecracker asks.
 * 0 or -EINVAL.
 */
int res_mmds_set(struct vm_config *cfg, const struct mmds_config *m, struct res_error *err);

/* Firecracker's machine-config, as an interface read it. */
struct res_machine {
	uint64_t vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	const char *cpu_template; /* a static template's name; NULL: left as it is */
	const char *huge_pages;	  /* a name (res_huge_pages_by_name); NULL: "None" */
};

/*
 * res_machine_set: the machine: 1..CONFIG_MAX_VCPUS vCPUs, 1 or an even
 * count with smt; CONFIG_MIN_MEM_MIB..CONFIG_MAX_MEM_MIB of memory; a
 * static CPU template this host's architecture has; huge pages None,
 * Transparent or 2M (with an even memory size).
 * 0 or -EINVAL.
 */
int res_machine_set(struct vm_config *cfg, const struct res_machine *m, struct res_error *err);

/* Firecracker's boot-source. */
struct res_boot_source {
	const char *kernel_image_path;
	const char *initrd_path; /* NULL: none */
	const char *boot_args;	 /* NULL: CONFIG_DEFAULT_CMDLINE */
};

/*
 * res_boot_source_set: the boot source, replacing the whole of it: a
 * kernel and an optional initrd readable now, boot arguments that fit the
 * command line page (LAYOUT_CMDLINE_MAX with the NUL). 0, -EINVAL or
 * -ENOMEM.
 */
int res_boot_source_set(struct vm_config *cfg, const struct res_boot_source *b,
			struct res_error *err);

/*
 * res_serial_set: where the guest's serial output goes (NULL: stdout; else
 * a path that is not empty and at most RES_HOST_PATH_MAX bytes, opened at
 * start) and its byte budget. Replaces what was set. 0, -EINVAL or -ENOMEM.
 */
int res_serial_set(struct vm_config *cfg, const struct serial_config *s, struct res_error *err);

/* Firecracker's logger. */
struct res_logger {
	const char *log_path; /* NULL: stderr */
	const char *level;    /* a level name (config_parse_log_level); NULL: Info */
	bool show_level;
	bool show_log_origin;
	const char *module;
};

/*
 * res_logger_set: the logger, replacing the whole of it: a path that is
 * not empty and at most RES_HOST_PATH_MAX bytes, one of Firecracker's level names. The file
 * is opened later (logger.c). 0, -EINVAL or -ENOMEM.
 */
int res_logger_set(struct vm_config *cfg, const struct res_logger *l, struct res_error *err);

/* Firecracker's metrics. */
struct res_metrics {
	const char *metrics_path;
};

/*
 * res_metrics_set: where metrics go: a path that is not empty and at most
 * RES_HOST_PATH_MAX bytes. The file is opened later (metrics.c). 0, -EINVAL or -ENOMEM.
 */
int res_metrics_set(struct vm_config *cfg, const struct res_metrics *m, struct res_error *err);

/* res_huge_pages_name: Firecracker's name of (h): "None", "Transparent" or "2M". */
const char *res_huge_pages_name(enum config_huge_pages h);

/* res_huge_pages_by_name: the value Firecracker's (name) means (exact case). 0 or -EINVAL. */
int res_huge_pages_by_name(const char *name, enum config_huge_pages *out);

/*
 * res_flag_name: the command-line flag that sets (field) ("--vcpus" for
 * vcpu_count), or NULL when no flag does (a device's fields are parts of
 * one flag's value: see res_flag_word).
 */
const char *res_flag_name(const char *field);

/*
 * res_flag_word: how a flag's value names (field), for messages such as
 * "--disk: id 'x' must be ...": "id" for drive_id, "" where the value
 * speaks for itself (a path, a tap, a MAC).
 */
const char *res_flag_word(const char *field);

#endif /* EMBER_RESOURCES_H */
