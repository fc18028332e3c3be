// SPDX-License-Identifier: Apache-2.0
/* instance.c: the instance state machine behind the API (the backend is machine_backend.c). */
#include "instance.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Firecracker's words for a request in the wrong state. */
#define MSG_PRE_BOOT  "The requested operation is not supported before starting the microVM."
#define MSG_POST_BOOT "The requested operation is not supported after starting the microVM."

void instance_init(struct instance *inst, struct vm_config *cfg, const struct instance_ops *ops,
		   void *ctx, struct logger *logger, struct metrics *metrics)
{
	memset(inst, 0, sizeof(*inst));
	inst->state = INSTANCE_NOT_STARTED;
	inst->cfg = cfg;
	inst->ops = ops;
	inst->ctx = ctx;
	inst->logger = logger;
	inst->metrics = metrics;
}

const char *instance_state_name(const struct instance *inst)
{
	switch (inst->state) {
	case INSTANCE_RUNNING:
		return "Running";
	case INSTANCE_PAUSED:
		return "Paused";
	default:
		return "Not started";
	}
}

static int refuse(char *err, size_t errsz, const char *msg)
{
	snprintf(err, errsz, "%s", msg);
	return -EINVAL;
}

/* Room for a hook's line: the fault message, less the words put before it. */
#define HOOK_ERR_MAX 480

/*
 * backend_error: hook (what) failed with (ret) and said why in (line), or
 * left it empty: log that once and make it the fault message.
 */
static int backend_error(int ret, const char *what, const char *line, char *err, size_t errsz)
{
	if (ret == -ENOSYS) {
		snprintf(err, errsz, "%s is not supported yet", what);
		return ret;
	}
	if (line[0] == '\0')
		line = strerror(-ret);
	log_error("%s", line);
	snprintf(err, errsz, "%s failed: %s", what, line);
	return ret;
}

/*
 * put_device: a drive or network interface PUT, then opened by the
 * backend's probe as Firecracker opens it; refused, the configuration is as
 * it was before (a replaced device comes back).
 */
static int put_device(struct instance *inst, enum config_resource res, const char *id,
		      const char *body, size_t len, char *err, size_t errsz)
{
	struct vm_config before;
	int ret;

	if (inst->ops->probe == NULL)
		return config_json_put(inst->cfg, res, id, body, len, err, errsz);
	if (config_copy(&before, inst->cfg) < 0)
		return refuse(err, errsz, "out of memory");
	ret = config_json_put(inst->cfg, res, id, body, len, err, errsz);
	if (ret == 0)
		ret = inst->ops->probe(inst->ctx, inst->cfg, res, id, err, errsz);
	if (ret < 0) {
		config_free(inst->cfg);
		*inst->cfg = before;
		return ret;
	}
	config_free(&before);
	return 0;
}

int instance_put(struct instance *inst, enum config_resource res, const char *id, const char *body,
		 size_t len, char *err, size_t errsz)
{
	int ret;

	if (inst->state != INSTANCE_NOT_STARTED)
		return refuse(err, errsz, MSG_POST_BOOT);
	if (res == CONFIG_RES_METRICS && inst->metrics != NULL && inst->metrics->fd >= 0)
		return refuse(err, errsz,
			      "metrics are already configured (only once, as Firecracker)");
	if (res == CONFIG_RES_DRIVE || res == CONFIG_RES_NET)
		ret = put_device(inst, res, id, body, len, err, errsz);
	else
		ret = config_json_put(inst->cfg, res, id, body, len, err, errsz);
	if (ret < 0)
		return ret;
	if (res == CONFIG_RES_LOGGER && inst->logger != NULL) {
		ret = logger_configure(inst->logger, &inst->cfg->logger, inst->cfg->id, err, errsz);
		if (ret < 0) {
			struct logger_config *l = &inst->cfg->logger;
			config_set_str(&l->log_path, NULL);
			config_set_str(&l->module, NULL);
			memset(l, 0, sizeof(*l));
		}
	}
	if (res == CONFIG_RES_METRICS && inst->metrics != NULL) {
		ret = metrics_configure(inst->metrics, inst->cfg->metrics_path, err, errsz);
		if (ret < 0)
			config_set_str(&inst->cfg->metrics_path, NULL);
	}
	return ret < 0 ? -EINVAL : 0;
}

int instance_start(struct instance *inst, char *err, size_t errsz)
{
	const struct vm_config *cfg = inst->cfg;
	int ret;

	if (inst->state != INSTANCE_NOT_STARTED)
		return refuse(err, errsz, MSG_POST_BOOT);
	if (cfg->kernel_path == NULL)
		return refuse(err, errsz,
			      "boot-source: missing: no kernel to boot (PUT /boot-source first)");
	if (inst->metrics != NULL)
		metrics_set_vcpus(inst->metrics, cfg);
	char line[HOOK_ERR_MAX] = "";
	ret = inst->ops->start(inst->ctx, cfg, line, sizeof(line));
	if (ret < 0)
		return backend_error(ret, "InstanceStart", line, err, errsz);
	inst->state = INSTANCE_RUNNING;
	inst->start_done = true;
	return 0;
}

int instance_set_paused(struct instance *inst, bool paused, char *err, size_t errsz)
{
	int ret;

	if (inst->state == INSTANCE_NOT_STARTED)
		return refuse(err, errsz, MSG_PRE_BOOT);
	/* Pausing a paused VM (or resuming a running one) changes nothing. */
	if (paused == (inst->state == INSTANCE_PAUSED))
		return 0;
	char line[HOOK_ERR_MAX] = "";
	ret = paused ? inst->ops->pause(inst->ctx, line, sizeof(line))
		     : inst->ops->resume(inst->ctx, line, sizeof(line));
	if (ret < 0)
		return backend_error(ret, paused ? "Pausing the microVM" : "Resuming the microVM",
				     line, err, errsz);
	inst->state = paused ? INSTANCE_PAUSED : INSTANCE_RUNNING;
	return 0;
}

int instance_ctrl_alt_del(struct instance *inst, char *err, size_t errsz)
{
	int ret;

	if (inst->state == INSTANCE_NOT_STARTED)
		return refuse(err, errsz, MSG_PRE_BOOT);
	char line[HOOK_ERR_MAX] = "";
	ret = inst->ops->ctrl_alt_del(inst->ctx, line, sizeof(line));
	return ret < 0 ? backend_error(ret, "SendCtrlAltDel", line, err, errsz) : 0;
}

int instance_flush_metrics(struct instance *inst, char *err, size_t errsz)
{
	int ret;

	if (inst->metrics == NULL || inst->metrics->fd < 0)
		return refuse(err, errsz,
			      "FlushMetrics: metrics are not configured (PUT /metrics)");
	ret = metrics_flush(inst->metrics);
	if (ret == -EAGAIN)
		return refuse(err, errsz,
			      "FlushMetrics: the metrics reader is not keeping up (line dropped)");
	if (ret < 0) {
		snprintf(err, errsz, "FlushMetrics: cannot write the metrics: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * merge_limiter: Firecracker's PATCH semantics for a rate limiter (BucketUpdate):
 * a bucket left out of (*rl) stays as (cur) has it; one given replaces it
 * (size or refill_time 0: unlimited).
 */
static void merge_limiter(struct rate_limiter *rl, const struct rate_limiter *cur)
{
	if (!rl->bandwidth.set)
		rl->bandwidth = cur->bandwidth;
	if (!rl->ops.set)
		rl->ops = cur->ops;
}

int instance_patch_drive(struct instance *inst, const struct drive_patch *req, char *err,
			 size_t errsz)
{
	struct vm_config *cfg = inst->cfg;
	struct drive_patch p;
	unsigned int i;
	int ret;

	if (inst->state == INSTANCE_NOT_STARTED)
		return refuse(err, errsz, MSG_PRE_BOOT);
	for (i = 0; i < cfg->ndisks; i++)
		if (strcmp(cfg->disks[i].id, req->drive_id) == 0)
			break;
	if (i == cfg->ndisks) {
		snprintf(err, errsz, "drive_id: no drive '%s'", req->drive_id);
		return -EINVAL;
	}
	if (!req->has_path && !req->has_limiter)
		return 0;
	p = *req;
	if (p.has_limiter)
		merge_limiter(&p.limiter, &cfg->disks[i].limiter);
	char line[HOOK_ERR_MAX] = "";
	ret = inst->ops->patch_drive(inst->ctx, i, &p, line, sizeof(line));
	if (ret < 0)
		return backend_error(ret, "Updating a drive of a running microVM", line, err,
				     errsz);
	if (config_json_apply_drive_patch(cfg, i, &p) < 0)
		return refuse(err, errsz, "out of memory");
	return 0;
}

int instance_patch_net(struct instance *inst, const struct net_patch *p, char *err, size_t errsz)
{
	struct vm_config *cfg = inst->cfg;
	struct net_patch merged;
	unsigned int i;
	int ret;

	if (inst->state == INSTANCE_NOT_STARTED)
		return refuse(err, errsz, MSG_PRE_BOOT);
	for (i = 0; i < cfg->nnets; i++)
		if (strcmp(cfg->nets[i].iface_id, p->iface_id) == 0)
			break;
	if (i == cfg->nnets) {
		snprintf(err, errsz, "iface_id: no network interface '%s'", p->iface_id);
		return -EINVAL;
	}
	merged = *p;
	if (merged.has_rx)
		merge_limiter(&merged.rx, &cfg->nets[i].rx_limiter);
	if (merged.has_tx)
		merge_limiter(&merged.tx, &cfg->nets[i].tx_limiter);
	char line[HOOK_ERR_MAX] = "";
	ret = inst->ops->patch_net(inst->ctx, i, &merged, line, sizeof(line));
	if (ret < 0)
		return backend_error(ret, "Updating a network interface of a running microVM", line,
				     err, errsz);
	if (merged.has_rx)
		cfg->nets[i].rx_limiter = merged.rx;
	if (merged.has_tx)
		cfg->nets[i].tx_limiter = merged.tx;
	return 0;
}

int instance_snapshot_create(struct instance *inst, const struct snapshot_create_body *b, char *err,
			     size_t errsz)
{
	const struct snapshot_create_req req = {
	    .state_path = b->snapshot_path, .mem_path = b->mem_file_path, .diff = b->diff};

	if (inst->state != INSTANCE_PAUSED)
		return refuse(err, errsz,
			      inst->state == INSTANCE_NOT_STARTED
				  ? "Cannot create a snapshot before the microVM has started."
				  : "Cannot create a snapshot of a running microVM: pause it first "
				    "(PATCH /vm {\"state\": \"Paused\"}).");
	if (b->diff && !inst->cfg->track_dirty_pages)
		return refuse(
		    err, errsz,
		    "snapshot_type: a Diff snapshot needs dirty-page tracking, which this "
		    "microVM does not have (machine-config track_dirty_pages, or "
		    "track_dirty_pages in PUT /snapshot/load)");
	if (inst->ops->snapshot_create == NULL)
		return refuse(err, errsz, "snapshots are not supported by this backend");
	char msg[CONFIG_JSON_ERR_MAX];
	int ret = inst->ops->snapshot_create(inst->ctx, inst->cfg, &req, msg, sizeof(msg));
	if (ret < 0)
		snprintf(err, errsz, "Cannot create the snapshot: %.440s", msg);
	return ret < 0 ? -EINVAL : 0;
}

/* configured: what a snapshot would replace is already set (Firecracker refuses too). */
static const char *configured(const struct vm_config *cfg)
{
	if (cfg->kernel_path != NULL)
		return "boot-source";
	if (cfg->ndisks > 0)
		return "drives";
	if (cfg->nnets > 0)
		return "network-interfaces";
	if (cfg->vsock.enabled)
		return "vsock";
	if (cfg->rng)
		return "entropy";
	return NULL;
}

int instance_snapshot_load(struct instance *inst, const struct snapshot_load_body *b, char *err,
			   size_t errsz)
{
	struct snapshot_load_req req = {
	    .state_path = b->snapshot_path,
	    .mem_path = b->mem_path,
	    .mem_uffd = b->uffd,
	    .resume = b->resume_vm,
	    .nnet_overrides = b->nnets,
	    .vsock_uds_path = b->has_vsock_uds ? b->vsock_uds : NULL,
	    .vsock_cid = b->vsock_cid,
	    .track_dirty_pages = b->track_dirty_pages,
	};
	const char *set = configured(inst->cfg);

	if (inst->state != INSTANCE_NOT_STARTED)
		return refuse(err, errsz,
			      "Cannot load a snapshot into a microVM that has started.");
	if (set != NULL) {
		snprintf(err, errsz,
			 "Cannot load a snapshot after %s was configured: the snapshot brings the "
			 "whole machine",
			 set);
		return -EINVAL;
	}
	if (inst->ops->snapshot_load == NULL)
		return refuse(err, errsz, "snapshots are not supported by this backend");
	for (unsigned int i = 0; i < b->nnets; i++)
		req.net_overrides[i] = (struct snapshot_net_override){
		    .iface_id = b->nets[i].iface_id, .host_dev_name = b->nets[i].host_dev_name};
	char msg[CONFIG_JSON_ERR_MAX];
	int ret = inst->ops->snapshot_load(inst->ctx, inst->cfg, &req, msg, sizeof(msg));
	if (ret < 0) {
		snprintf(err, errsz, "Cannot load the snapshot: %.440s", msg);
		return -EINVAL;
	}
	if (inst->metrics != NULL)
		metrics_set_vcpus(inst->metrics, inst->cfg);
	inst->state = b->resume_vm ? INSTANCE_RUNNING : INSTANCE_PAUSED;
	inst->start_done = true;
	return 0;
}
