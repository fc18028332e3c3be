/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_json.h: Firecracker's JSON <-> struct vm_config, both ways: the
 * request bodies of the API, the --config-file document, and what GET
 * /machine-config and GET /vm/config answer. Strict: unknown fields, wrong
 * types, missing required fields and out-of-range values are errors that
 * name the field (and, for a file, the line). No KVM, no I/O but access()
 * checks of the host paths a body names.
 *
 * Every parser works on a copy and changes (cfg) only on success. Strings
 * it keeps are owned by (cfg) like all of a config's (config.h: config_free).
 */
#ifndef EMBER_CONFIG_JSON_H
#define EMBER_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The size of an error message buffer that always fits. */
#define CONFIG_JSON_ERR_MAX 512

/* The pre-boot resources a PUT (or PATCH /machine-config) configures. */
enum config_resource {
	CONFIG_RES_MACHINE,	  /* PUT /machine-config */
	CONFIG_RES_MACHINE_PATCH, /* PATCH /machine-config: only the fields given */
	CONFIG_RES_BOOT_SOURCE,	  /* PUT /boot-source */
	CONFIG_RES_DRIVE,	  /* PUT /drives/{id} */
	CONFIG_RES_NET,		  /* PUT /network-interfaces/{id} */
	CONFIG_RES_VSOCK,	  /* PUT /vsock */
	CONFIG_RES_ENTROPY,	  /* PUT /entropy */
	CONFIG_RES_LOGGER,	  /* PUT /logger */
	CONFIG_RES_METRICS,	  /* PUT /metrics */
	CONFIG_RES_CPU_CONFIG,	  /* PUT /cpu-config: a custom CPU template */
	CONFIG_RES_MMDS_CONFIG,	  /* PUT /mmds/config */
	CONFIG_RES_SERIAL,	  /* PUT /serial */
};

/* PUT /actions action_type. */
enum config_action_type {
	CONFIG_ACTION_INSTANCE_START,
	CONFIG_ACTION_SEND_CTRL_ALT_DEL,
	CONFIG_ACTION_FLUSH_METRICS,
};

/* PATCH /drives/{id}: a new backing file and/or rate limiter. */
struct drive_patch {
	char drive_id[CONFIG_DISK_ID_MAX + 1];
	bool has_path;
	char path[4096];
	bool has_limiter;
	struct rate_limiter limiter;
};

/* PATCH /network-interfaces/{id}: new rate limiters. */
struct net_patch {
	char iface_id[CONFIG_ID_MAX + 1];
	bool has_rx, has_tx;
	struct rate_limiter rx, tx;
};

/*
 * config_json_put: apply one request body (body, len) for (res) to (cfg).
 * (path_id) is the {id} of the URL for drives and network interfaces (it
 * must equal the body's id), NULL otherwise. Returns 0, or -EINVAL with a
 * message naming the field in (err, errsz).
 */
int config_json_put(struct vm_config *cfg, enum config_resource res, const char *path_id,
		    const char *body, size_t len, char *err, size_t errsz);

/* config_json_action: parse a PUT /actions body. 0 or -EINVAL (err). */
int config_json_action(const char *body, size_t len, enum config_action_type *out, char *err,
		       size_t errsz);

/* config_json_vm_state: parse PATCH /vm; (*paused) true for "Paused". 0 or -EINVAL. */
int config_json_vm_state(const char *body, size_t len, bool *paused, char *err, size_t errsz);

/* config_json_drive_patch: parse PATCH /drives/{path_id}. 0 or -EINVAL. */
int config_json_drive_patch(const char *path_id, const char *body, size_t len,
			    struct drive_patch *out, char *err, size_t errsz);

/* config_json_net_patch: parse PATCH /network-interfaces/{path_id}. 0 or -EINVAL. */
int config_json_net_patch(const char *path_id, const char *body, size_t len, struct net_patch *out,
			  char *err, size_t errsz);

/*
 * config_json_apply_drive_patch: record a PATCH the backend carried out in
 * disks[index] (new path, new limiter). 0 or -ENOMEM.
 */
int config_json_apply_drive_patch(struct vm_config *cfg, unsigned int index,
				  const struct drive_patch *p);

/* Room for a host path in a request, with its NUL. */
#define CONFIG_JSON_PATH_MAX 4096
/* Room for a tap name (IFNAMSIZ) and a Unix socket path (sun_path). */
#define CONFIG_JSON_TAP_MAX 16
#define CONFIG_JSON_UDS_MAX 108

/* PUT /snapshot/create. */
struct snapshot_create_body {
	char snapshot_path[CONFIG_JSON_PATH_MAX];
	char mem_file_path[CONFIG_JSON_PATH_MAX];
	bool diff; /* snapshot_type "Diff" */
};

/* PUT /snapshot/load. */
struct snapshot_load_body {
	char snapshot_path[CONFIG_JSON_PATH_MAX];
	char mem_path[CONFIG_JSON_PATH_MAX]; /* mem_backend.backend_path or mem_file_path */
	bool uffd;			     /* mem_backend.backend_type "Uffd" */
	bool resume_vm;
	bool track_dirty_pages;
	unsigned int nnets;
	struct {
		char iface_id[CONFIG_ID_MAX + 1];
		char host_dev_name[CONFIG_JSON_TAP_MAX];
	} nets[CONFIG_MAX_DEVICES]; /* network_overrides; iface_id "": by place (--restore's --net)
				     */
	bool has_vsock_uds;
	char vsock_uds[CONFIG_JSON_UDS_MAX]; /* vsock_override.uds_path */
	uint32_t vsock_cid; /* --restore's --vsock: its CID must be the snapshot's (0: unchecked) */
};

/* config_json_snapshot_create / _load: parse those bodies. 0 or -EINVAL naming the field. */
int config_json_snapshot_create(const char *body, size_t len, struct snapshot_create_body *out,
				char *err, size_t errsz);
int config_json_snapshot_load(const char *body, size_t len, struct snapshot_load_body *out,
			      char *err, size_t errsz);

/*
 * config_json_load: apply a whole Firecracker configuration document
 * (text, len), as --config-file gives it, to (cfg). (name) names the file
 * in messages, which also carry the JSON path and line. 0 or -EINVAL.
 */
int config_json_load(struct vm_config *cfg, const char *name, const char *text, size_t len,
		     char *err, size_t errsz);

/* config_json_load_file: read (path) (at most 1 MiB) and config_json_load it. */
int config_json_load_file(struct vm_config *cfg, const char *path, char *err, size_t errsz);

/*
 * The renderers return a malloc'd NUL-terminated JSON text (free() it), or
 * NULL when out of memory.
 */
/* config_json_machine: GET /machine-config. */
char *config_json_machine(const struct vm_config *cfg);
/* config_json_vm_config: GET /vm/config, in the config-file shape. */
char *config_json_vm_config(const struct vm_config *cfg);
/* config_json_instance_info: GET /; (state) is "Not started", "Running" or "Paused". */
char *config_json_instance_info(const struct vm_config *cfg, const char *state);
/* config_json_version: GET /version. */
char *config_json_version(void);
/* config_json_fault: {"fault_message": (msg)}. */
char *config_json_fault(const char *msg);


#endif /* EMBER_CONFIG_JSON_H */
