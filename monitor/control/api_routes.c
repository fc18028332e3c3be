// SPDX-License-Identifier: Apache-2.0
/* api_routes.c: Firecracker's API routes -> struct instance calls. */
#include "api_routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_json.h"
#include "metrics.h"
#include "mmds_store.h"

/* The counters a route bumps: (count) per request, (fails) per 400. */
struct tally {
	uint64_t *count;
	uint64_t *fails;
};

struct call {
	struct instance *inst;
	const struct api_request *req;
	struct api_response *resp;
	const char *id; /* the {id} of the path, or NULL */
	char err[CONFIG_JSON_ERR_MAX];
};

typedef int (*route_fn)(struct call *c);

struct route {
	const char *path; /* "/drives" with (has_id): "/drives/{id}" */
	bool has_id;
	route_fn get, put, patch;
};

static void ok_body(struct call *c, char *body)
{
	c->resp->status = body != NULL ? 200 : 500;
	c->resp->body = body != NULL ? body : config_json_fault("out of memory");
}

static int get_info(struct call *c)
{
	ok_body(c, config_json_instance_info(c->inst->cfg, instance_state_name(c->inst)));
	return 0;
}

static int get_version(struct call *c)
{
	ok_body(c, config_json_version());
	return 0;
}

static int get_vm_config(struct call *c)
{
	ok_body(c, config_json_vm_config(c->inst->cfg));
	return 0;
}

static int get_machine(struct call *c)
{
	ok_body(c, config_json_machine(c->inst->cfg));
	return 0;
}

static int put(struct call *c, enum config_resource res)
{
	return instance_put(c->inst, res, c->id, c->req->body, c->req->body_len, c->err,
			    sizeof(c->err));
}

static int put_machine(struct call *c)
{
	return put(c, CONFIG_RES_MACHINE);
}
static int patch_machine(struct call *c)
{
	return put(c, CONFIG_RES_MACHINE_PATCH);
}
static int put_boot(struct call *c)
{
	return put(c, CONFIG_RES_BOOT_SOURCE);
}
static int put_drive(struct call *c)
{
	return put(c, CONFIG_RES_DRIVE);
}
static int put_net(struct call *c)
{
	return put(c, CONFIG_RES_NET);
}
static int put_vsock(struct call *c)
{
	return put(c, CONFIG_RES_VSOCK);
}
static int put_entropy(struct call *c)
{
	return put(c, CONFIG_RES_ENTROPY);
}
static int put_logger(struct call *c)
{
	return put(c, CONFIG_RES_LOGGER);
}
static int put_metrics(struct call *c)
{
	return put(c, CONFIG_RES_METRICS);
}

static int put_serial(struct call *c)
{
	return put(c, CONFIG_RES_SERIAL);
}

static int put_cpu_config(struct call *c)
{
	return put(c, CONFIG_RES_CPU_CONFIG);
}

static int put_action(struct call *c)
{
	enum config_action_type a;
	int ret = config_json_action(c->req->body, c->req->body_len, &a, c->err, sizeof(c->err));

	if (ret < 0)
		return ret;
	switch (a) {
	case CONFIG_ACTION_INSTANCE_START:
		return instance_start(c->inst, c->err, sizeof(c->err));
	case CONFIG_ACTION_SEND_CTRL_ALT_DEL:
		return instance_ctrl_alt_del(c->inst, c->err, sizeof(c->err));
	case CONFIG_ACTION_FLUSH_METRICS:
		return instance_flush_metrics(c->inst, c->err, sizeof(c->err));
	}
	return -1;
}

static int patch_vm(struct call *c)
{
	bool paused;
	int ret =
	    config_json_vm_state(c->req->body, c->req->body_len, &paused, c->err, sizeof(c->err));

	return ret < 0 ? ret : instance_set_paused(c->inst, paused, c->err, sizeof(c->err));
}

static int patch_drive(struct call *c)
{
	struct drive_patch p;
	int ret = config_json_drive_patch(c->id, c->req->body, c->req->body_len, &p, c->err,
					  sizeof(c->err));

	return ret < 0 ? ret : instance_patch_drive(c->inst, &p, c->err, sizeof(c->err));
}

static int patch_net(struct call *c)
{
	struct net_patch p;
	int ret = config_json_net_patch(c->id, c->req->body, c->req->body_len, &p, c->err,
					sizeof(c->err));

	return ret < 0 ? ret : instance_patch_net(c->inst, &p, c->err, sizeof(c->err));
}

/* ---- the metadata service's store: any time, before boot and after ---- */

static int mmds_store_missing(struct call *c)
{
	snprintf(c->err, sizeof(c->err), "the metadata service is not available in this process");
	return -ENODEV;
}

static int get_mmds(struct call *c)
{
	if (c->inst->mmds == NULL)
		return mmds_store_missing(c);
	ok_body(c, mmds_store_dump(c->inst->mmds));
	return 0;
}

static int put_mmds(struct call *c)
{
	if (c->inst->mmds == NULL)
		return mmds_store_missing(c);
	return mmds_store_put(c->inst->mmds, c->req->body, c->req->body_len, c->err,
			      sizeof(c->err));
}

static int patch_mmds(struct call *c)
{
	if (c->inst->mmds == NULL)
		return mmds_store_missing(c);
	return mmds_store_patch(c->inst->mmds, c->req->body, c->req->body_len, c->err,
				sizeof(c->err));
}

static int put_mmds_config(struct call *c)
{
	return put(c, CONFIG_RES_MMDS_CONFIG);
}

static int put_snapshot_create(struct call *c)
{
	struct snapshot_create_body b;
	int ret =
	    config_json_snapshot_create(c->req->body, c->req->body_len, &b, c->err, sizeof(c->err));

	return ret < 0 ? ret : instance_snapshot_create(c->inst, &b, c->err, sizeof(c->err));
}

static int put_snapshot_load(struct call *c)
{
	/* Large (paths and overrides): off the stack of the loop's thread. */
	struct snapshot_load_body *b = malloc(sizeof(*b));
	int ret;

	if (b == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -ENOMEM;
	}
	ret = config_json_snapshot_load(c->req->body, c->req->body_len, b, c->err, sizeof(c->err));
	if (ret == 0)
		ret = instance_snapshot_load(c->inst, b, c->err, sizeof(c->err));
	free(b);
	return ret;
}

static const struct route routes[] = {
    {"/", false, get_info, NULL, NULL},
    {"/version", false, get_version, NULL, NULL},
    {"/vm/config", false, get_vm_config, NULL, NULL},
    {"/machine-config", false, get_machine, put_machine, patch_machine},
    {"/boot-source", false, NULL, put_boot, NULL},
    {"/drives", true, NULL, put_drive, patch_drive},
    {"/network-interfaces", true, NULL, put_net, patch_net},
    {"/vsock", false, NULL, put_vsock, NULL},
    {"/entropy", false, NULL, put_entropy, NULL},
    {"/logger", false, NULL, put_logger, NULL},
    {"/metrics", false, NULL, put_metrics, NULL},
    {"/cpu-config", false, NULL, put_cpu_config, NULL},
    {"/serial", false, NULL, put_serial, NULL},
    {"/actions", false, NULL, put_action, NULL},
    {"/vm", false, NULL, NULL, patch_vm},
    {"/snapshot/create", false, NULL, put_snapshot_create, NULL},
    {"/snapshot/load", false, NULL, put_snapshot_load, NULL},
    {"/mmds", false, get_mmds, put_mmds, patch_mmds},
    {"/mmds/config", false, NULL, put_mmds_config, NULL},
};

/*
 * Firecracker endpoints ember does not serve: a 400 that says what is
 * missing, rather than "invalid path", so an orchestrator's log names the gap.
 */
static const struct {
	const char *path; /* the path and everything under it */
	const char *what;
} unsupported[] = {
    {"/balloon", "the balloon device"},
    {"/hotplug", "hotplug"},
    {"/pmem", "virtio-pmem devices"},
};

/* unsupported_what: what (path) would configure, when ember knows it does not serve it. */
static const char *unsupported_what(const char *path)
{
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		size_t n = strlen(unsupported[i].path);
		if (strncmp(path, unsupported[i].path, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return unsupported[i].what;
	}
	return NULL;
}

/* tally_for: the Firecracker metric a request counts under (both NULL: none). */
static struct tally tally_for(struct metrics *m, const struct route *r, enum api_method method)
{
	struct tally t = {0};

	if (m == NULL)
		return t;
#define T(group, name)                                                                             \
	(struct tally)                                                                             \
	{                                                                                          \
		&m->now.group.name##_count, &m->now.group.name##_fails                             \
	}
	if (method == API_GET) {
		if (strcmp(r->path, "/") == 0)
			t.count = &m->now.get_api_requests.instance_info_count;
		else if (strcmp(r->path, "/version") == 0)
			t.count = &m->now.get_api_requests.vmm_version_count;
		else if (strcmp(r->path, "/vm/config") == 0)
			t.count = &m->now.get_api_requests.vm_config_count;
		else if (strcmp(r->path, "/machine-config") == 0)
			t.count = &m->now.get_api_requests.machine_cfg_count;
		else if (strcmp(r->path, "/mmds") == 0)
			t.count = &m->now.get_api_requests.mmds_count;
	} else if (method == API_PUT) {
		if (strcmp(r->path, "/machine-config") == 0)
			t = T(put_api_requests, machine_cfg);
		else if (strcmp(r->path, "/boot-source") == 0)
			t = T(put_api_requests, boot_source);
		else if (strcmp(r->path, "/drives") == 0)
			t = T(put_api_requests, drive);
		else if (strcmp(r->path, "/network-interfaces") == 0)
			t = T(put_api_requests, network);
		else if (strcmp(r->path, "/vsock") == 0)
			t = T(put_api_requests, vsock);
		else if (strcmp(r->path, "/entropy") == 0)
			t = T(put_api_requests, entropy);
		else if (strcmp(r->path, "/logger") == 0)
			t = T(put_api_requests, logger);
		else if (strcmp(r->path, "/metrics") == 0)
			t = T(put_api_requests, metrics);
		else if (strcmp(r->path, "/actions") == 0)
			t = T(put_api_requests, actions);
		else if (strncmp(r->path, "/mmds", strlen("/mmds")) == 0)
			t = T(put_api_requests, mmds); /* /mmds and /mmds/config, as Firecracker */
	} else if (method == API_PATCH) {
		if (strcmp(r->path, "/machine-config") == 0)
			t = T(patch_api_requests, machine_cfg);
		else if (strcmp(r->path, "/drives") == 0)
			t = T(patch_api_requests, drive);
		else if (strcmp(r->path, "/network-interfaces") == 0)
			t = T(patch_api_requests, network);
		else if (strcmp(r->path, "/vm") == 0)
			t = T(patch_api_requests, vm);
		else if (strcmp(r->path, "/mmds") == 0)
			t = T(patch_api_requests, mmds);
	}
#undef T
	return t;
}

static void fault(struct api_response *resp, int status, const char *msg)
{
	resp->status = status;
	resp->body = config_json_fault(msg);
}

/* match: the route for (path), with its {id}; NULL when none. */
static const struct route *match(const char *path, char *id, size_t idsz, bool *missing_id)
{
	*missing_id = false;
	id[0] = '\0';
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->path);
		if (!r->has_id) {
			if (strcmp(path, r->path) == 0)
				return r;
			continue;
		}
		if (strncmp(path, r->path, n) != 0 || (path[n] != '\0' && path[n] != '/'))
			continue;
		const char *rest = path[n] == '/' ? path + n + 1 : path + n;
		if (strchr(rest, '/') != NULL)
			return NULL;
		if (rest[0] == '\0' || strlen(rest) >= idsz)
			*missing_id = rest[0] == '\0';
		else
			strcpy(id, rest);
		if (id[0] == '\0' && !*missing_id)
			return NULL; /* an id too long for any device */
		return r;
	}
	return NULL;
}

void api_routes_handle(void *opaque, const struct api_request *req, struct api_response *resp)
{
	struct instance *inst = opaque;
	char id[CONFIG_ID_MAX + 1], msg[CONFIG_JSON_ERR_MAX + 64];
	bool missing_id;
	const struct route *r = match(req->path, id, sizeof(id), &missing_id);
	route_fn fn = NULL;

	resp->status = 204;
	resp->body = NULL;
	if (r == NULL && unsupported_what(req->path) != NULL) {
		snprintf(msg, sizeof(msg), "%s %s: ember does not support %s", req->method_name,
			 req->path, unsupported_what(req->path));
		fault(resp, 400, msg);
		return;
	}
	/* Firecracker answers an unknown path or method with 400, not 404 or 405. */
	if (r == NULL) {
		snprintf(msg, sizeof(msg), "Invalid request method and/or path: %s %s",
			 req->method_name, req->path);
		fault(resp, 400, msg);
		return;
	}
	if (req->method == API_GET)
		fn = r->get;
	else if (req->method == API_PUT)
		fn = r->put;
	else if (req->method == API_PATCH)
		fn = r->patch;
	if (fn == NULL) {
		snprintf(msg, sizeof(msg), "Invalid request method and/or path: %s %s",
			 req->method_name, req->path);
		fault(resp, 400, msg);
		return;
	}
	if (req->method == API_GET && req->body_len > 0) {
		snprintf(msg, sizeof(msg), "GET %s: a GET request takes no body", req->path);
		fault(resp, 400, msg);
		return;
	}
	struct tally t = tally_for(inst->metrics, r, req->method);
	if (t.count != NULL)
		metrics_inc(t.count);
	if (missing_id) {
		snprintf(msg, sizeof(msg), "%s: the path needs an id (%s/{id})", req->path,
			 r->path);
		if (t.fails != NULL)
			metrics_inc(t.fails);
		fault(resp, 400, msg);
		return;
	}
	/* Bodies are checked by their parser (a GET's was refused above). */
	struct call c = {.inst = inst, .req = req, .resp = resp, .id = r->has_id ? id : NULL};
	if (fn(&c) < 0) {
		if (t.fails != NULL)
			metrics_inc(t.fails);
		free(resp->body);
		fault(resp, 400, c.err[0] ? c.err : "the request failed");
	}
}
