// SPDX-License-Identifier: Apache-2.0
/* machine_backend.c: struct instance_ops on the builder (machine_build). */
#include "machine_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blk.h"
#include "device.h"
#include "exit_status.h"
#include "log.h"
#include "metrics.h"
#include "mmio.h"
#include "net.h"
#include "resources.h"

/* built: the machine exists: its vCPUs count into the metrics too (its devices already do). */
static void built(struct machine_backend *b)
{
	b->built = true;
	b->m.vm.metrics = b->m.metrics;
}

static int backend_start(void *ctx, const struct vm_config *cfg, char *err, size_t errsz)
{
	struct machine_backend *b = ctx;
	struct ember_err why;

	b->build_status = machine_build(&b->m, cfg, b->startup, b->loop, &why);
	if (b->build_status != 0) {
		ember_err_line(&why, err, errsz);
		return -EINVAL;
	}
	if (cfg->snapshot_when_ready != NULL) {
		const struct snapshot_create_req req = {.state_path = cfg->snapshot_when_ready,
							.mem_path = cfg->mem_file_path};
		if (snapshot_template_arm(&b->template, &b->m, cfg, &req, &why) < 0) {
			machine_destroy(&b->m);
			b->build_status = EMBER_EXIT_HOST_ERROR;
			ember_err_line(&why, err, errsz);
			return -EIO;
		}
	}
	built(b);
	return 0;
}

static int backend_snapshot_create(void *ctx, const struct vm_config *cfg,
				   const struct snapshot_create_req *req, char *err, size_t errsz)
{
	struct machine_backend *b = ctx;
	struct snapshot_create_stats st;
	int ret = snapshot_create(&b->m, cfg, req, &st, err, errsz);

	if (ret == 0)
		log_info(
		    "snapshot: '%s' (%llu bytes) and '%s' (%llu of %llu bytes written) in %llu us",
		    req->state_path, (unsigned long long)st.state_bytes, req->mem_path,
		    (unsigned long long)st.mem.written, (unsigned long long)st.mem.bytes,
		    (unsigned long long)(st.elapsed_ns / 1000));
	return ret;
}

/*
 * backend_snapshot_load: the snapshot's configuration is built up in a
 * copy of (cfg) and replaces it only once the machine is restored.
 */
static int backend_snapshot_load(void *ctx, struct vm_config *cfg,
				 const struct snapshot_load_req *req, char *err, size_t errsz)
{
	struct machine_backend *b = ctx;
	struct snapshot_image img;
	struct vm_config next;
	struct ember_err why;

	if (config_copy(&next, cfg) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	int ret = snapshot_open(&img, req, &next, err, errsz);
	if (ret < 0) {
		config_free(&next);
		b->build_status = EMBER_EXIT_CONFIG;
		return ret;
	}
	b->build_status = machine_restore(&b->m, &next, &img, b->startup, b->loop, &why);
	snapshot_close(&img);
	if (b->build_status != 0) {
		ember_err_line(&why, err, errsz);
		config_free(&next);
		return -EINVAL;
	}
	config_free(cfg);
	*cfg = next;
	if (!req->resume)
		vm_start_paused(&b->m.vm);
	built(b);
	return 0;
}

int machine_backend_pause(void *ctx, char *err, size_t errsz)
{
	struct machine_backend *b = ctx;
	int ret = vm_pause(&b->m.vm);

	if (ret == -ESHUTDOWN)
		snprintf(err, errsz, "the microVM is stopping");
	else if (ret < 0)
		snprintf(err, errsz, "%s", strerror(-ret));
	return ret;
}

/* Cannot fail: (err) stays as it is; the hook's signature has it writable. */
// NOLINTNEXTLINE(readability-non-const-parameter)
int machine_backend_resume(void *ctx, char *err, size_t errsz)
{
	struct machine_backend *b = ctx;

	(void)err;
	(void)errsz;
	vm_resume(&b->m.vm);
	return 0;
}

/* Cannot fail: (err) stays as it is; the hook's signature has it writable. */
// NOLINTNEXTLINE(readability-non-const-parameter)
int machine_backend_ctrl_alt_del(void *ctx, char *err, size_t errsz)
{
	struct machine_backend *b = ctx;

	(void)err;
	(void)errsz;
	i8042_ctrl_alt_del(&b->m.i8042);
	return 0;
}

/*
 * find_slot: the (index)th virtio device of type (device_id), counting in
 * the order builder.c adds them (disks, network interfaces, entropy, vsock),
 * so disk i and interface i of the configuration. NULL when there is none.
 * For PATCH requests; the metrics know each device by its id instead.
 */
static struct virtio_slot *find_slot(struct machine_backend *b, uint32_t device_id,
				     unsigned int index)
{
	struct virtio_slots *s = &b->m.virtio;

	if (!b->built)
		return NULL;
	for (unsigned int i = 0; i < s->count; i++)
		if (s->slots[i].ops->device_id == device_id && index-- == 0)
			return &s->slots[i];
	return NULL;
}

struct drive_change {
	const struct drive_patch *p;
	struct virtio_rate_limit limit;
	struct ember_err err; /* why it failed */
};

/* patch_disk: under the disk's transport lock: the new file, then the new limiter. */
static int patch_disk(void *dev, void *arg)
{
	struct drive_change *c = arg;
	struct vlog_err why = {0};
	int ret = 0;

	if (c->p->has_path) {
		ret = blk_set_backing(dev, c->p->path, &why);
		if (ret < 0)
			ember_err_set(&c->err, why.errnum, "virtio-blk: %s: %s", c->p->path,
				      why.msg);
	}
	if (ret == 0 && c->p->has_limiter) {
		ret = blk_set_limiter(dev, &c->limit);
		if (ret < 0)
			ember_err_set(&c->err, 0, "drive %s: no rate limiter timer",
				      c->p->drive_id);
	}
	return ret;
}

int machine_backend_patch_drive(void *ctx, unsigned int index, const struct drive_patch *p,
				char *err, size_t errsz)
{
	struct machine_backend *b = ctx;
	struct virtio_slot *slot = find_slot(b, VIRTIO_ID_BLOCK, index);
	struct drive_change c = {.p = p, .limit = machine_rate_limit(&p->limiter)};
	int ret;

	if (slot == NULL) {
		snprintf(err, errsz, "drive %s: no such virtio-blk device", p->drive_id);
		return -ENODEV;
	}
	ret = virtio_mmio_with_lock(slot->transport, patch_disk, &c);
	if (ret < 0)
		ember_err_line(&c.err, err, errsz);
	struct block_metrics *g = metrics_block(b->m.metrics, p->drive_id, index);
	if (g != NULL)
		metrics_inc(ret == 0 ? &g->update_count : &g->update_fails);
	return ret;
}

struct net_change {
	struct virtio_rate_limit rx, tx;
	bool has_rx, has_tx;
};

static int patch_iface(void *dev, void *arg)
{
	const struct net_change *c = arg;

	net_set_limiters(dev, c->has_rx ? &c->rx : NULL, c->has_tx ? &c->tx : NULL);
	return 0;
}

int machine_backend_patch_net(void *ctx, unsigned int index, const struct net_patch *p, char *err,
			      size_t errsz)
{
	struct virtio_slot *slot = find_slot(ctx, VIRTIO_ID_NET, index);
	struct net_change c = {
	    .rx = machine_rate_limit(&p->rx),
	    .tx = machine_rate_limit(&p->tx),
	    .has_rx = p->has_rx,
	    .has_tx = p->has_tx,
	};

	if (slot == NULL) {
		snprintf(err, errsz, "network interface %s: no such virtio-net device",
			 p->iface_id);
		return -ENODEV;
	}
	return virtio_mmio_with_lock(slot->transport, patch_iface, &c);
}

/* backend_probe: open the drive or tap (res, id) of (cfg) now, and close it (resources.h). */
static int backend_probe(void *ctx, const struct vm_config *cfg, enum config_resource res,
			 const char *id, char *err, size_t errsz)
{
	struct res_error e = {0};
	int ret = 0;

	(void)ctx;
	if (res == CONFIG_RES_DRIVE) {
		for (unsigned int i = 0; i < cfg->ndisks && ret == 0; i++)
			if (id != NULL && strcmp(cfg->disks[i].id, id) == 0)
				ret = res_drive_probe(&cfg->disks[i], &e);
	} else if (res == CONFIG_RES_NET) {
		for (unsigned int i = 0; i < cfg->nnets && ret == 0; i++)
			if (id != NULL && strcmp(cfg->nets[i].iface_id, id) == 0)
				ret = res_tap_probe(&cfg->nets[i], &e);
	}
	if (ret < 0)
		snprintf(err, errsz, "%s: %s", e.field != NULL ? e.field : "device", e.msg);
	return ret < 0 ? ret : 0;
}

const struct instance_ops machine_backend_ops = {
    .start = backend_start,
    .probe = backend_probe,
    .pause = machine_backend_pause,
    .resume = machine_backend_resume,
    .ctrl_alt_del = machine_backend_ctrl_alt_del,
    .patch_drive = machine_backend_patch_drive,
    .patch_net = machine_backend_patch_net,
    .snapshot_create = backend_snapshot_create,
    .snapshot_load = backend_snapshot_load,
};
