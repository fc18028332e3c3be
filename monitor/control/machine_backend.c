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
#include "mmds_stack.h"
#include "mmio.h"
#include "net.h"
#include "resources.h"
#include "rng.h"
#include "vsock.h"

static struct virtio_slot *find_slot(struct machine_backend *b, uint32_t device_id,
				     unsigned int index);

/* copy_net_stats, copy_rng_stats: under the transport lock, as the devices ask. */
static int copy_net_stats(void *dev, void *arg)
{
	net_get_stats(dev, arg);
	return 0;
}

static int copy_rng_stats(void *dev, void *arg)
{
	rng_get_stats(dev, arg);
	return 0;
}

static int copy_vsock_stats(void *dev, void *arg)
{
	vsock_get_stats(dev, arg);
	return 0;
}

/* transport_counters: what every device group takes from its virtio-mmio transport. */
static void transport_counters(struct virtio_slot *slot, uint64_t *activate_fails,
			       uint64_t *cfg_fails)
{
	struct virtio_mmio_stats ts;

	virtio_mmio_get_stats(slot->transport, &ts);
	*activate_fails = ts.activate_fails;
	*cfg_fails = ts.cfg_fails;
}

/* collect_net: one interface's counters under Firecracker's names. */
static void collect_net(struct virtio_slot *slot, struct metrics_net *out)
{
	struct net_stats st;

	if (virtio_mmio_with_lock(slot->transport, copy_net_stats, &st) < 0)
		return;
	transport_counters(slot, &out->activate_fails, &out->cfg_fails);
	out->event_fails = st.event_fails;
	out->no_rx_avail_buffer = st.no_rx_buffer;
	out->no_tx_avail_buffer = st.no_tx_buffer;
	out->rx_queue_event_count = st.rx_queue_events;
	out->rx_event_rate_limiter_count = st.rx_limiter_events;
	out->rx_tap_event_count = st.rx_tap_events;
	out->rx_bytes_count = st.rx_bytes;
	out->rx_packets_count = st.rx_frames;
	out->rx_count = st.rx_frames;
	out->rx_fails = st.rx_dropped;
	out->rx_rate_limiter_throttled = st.rx_throttled;
	out->tap_read_fails = st.tap_read_fails;
	out->tap_write_fails = st.tap_write_fails;
	out->tx_bytes_count = st.tx_bytes;
	out->tx_malformed_frames = st.tx_malformed;
	out->tx_packets_count = st.tx_frames;
	out->tx_count = st.tx_frames;
	out->tx_fails = st.tx_dropped;
	out->tx_queue_event_count = st.tx_queue_events;
	out->tx_rate_limiter_event_count = st.tx_limiter_events;
	out->tx_rate_limiter_throttled = st.tx_throttled;
}

/* collect_vsock: the vsock device's counters under Firecracker's names. */
static void collect_vsock(struct virtio_slot *slot, struct metrics_counters *now)
{
	struct vsock_stats st;

	if (virtio_mmio_with_lock(slot->transport, copy_vsock_stats, &st) < 0)
		return;
	transport_counters(slot, &now->vsock.activate_fails, &now->vsock.cfg_fails);
	now->vsock.muxer_event_fails = st.muxer_event_fails;
	now->vsock.conn_event_fails = st.conn_event_fails;
	now->vsock.rx_queue_event_count = st.rx_queue_events;
	now->vsock.tx_queue_event_count = st.tx_queue_events;
	now->vsock.rx_bytes_count = st.rx_bytes;
	now->vsock.tx_bytes_count = st.tx_bytes;
	now->vsock.rx_packets_count = st.rx_packets;
	now->vsock.tx_packets_count = st.tx_packets;
	now->vsock.conns_added = st.conns_added;
	now->vsock.conns_killed = st.conns_killed;
	now->vsock.conns_removed = st.conns_removed;
	now->vsock.tx_flush_fails = st.tx_flush_fails;
	now->vsock.tx_write_fails = st.tx_write_fails;
	now->vsock.rx_read_fails = st.rx_read_fails;
	now->vsock.conns_refused = st.conns_refused;
}

/* collect_block: disk (i)'s counters under Firecracker's names. */
static void collect_block(struct machine_backend *b, unsigned int i, struct virtio_slot *slot,
			  struct metrics_block *out)
{
	struct blk_stats st;

	blk_get_stats(slot->dev, &st);
	transport_counters(slot, &out->activate_fails, &out->cfg_fails);
	out->event_fails = st.event_fails;
	out->execute_fails = st.execute_fails;
	out->flush_count = st.flush_count;
	out->invalid_reqs_count = st.invalid_reqs_count;
	out->no_avail_buffer = st.no_avail_buffer;
	out->queue_event_count = st.queue_event_count;
	out->rate_limiter_event_count = st.rate_limiter_event_count;
	out->rate_limiter_throttled_events = st.rate_limiter_throttled_events;
	out->io_engine_throttled_events = st.io_engine_throttled_events;
	out->read_bytes = st.read_bytes;
	out->read_count = st.read_count;
	out->update_count = __atomic_load_n(&b->disk_updates[i], __ATOMIC_RELAXED);
	out->update_fails = __atomic_load_n(&b->disk_update_fails[i], __ATOMIC_RELAXED);
	out->write_bytes = st.write_bytes;
	out->write_count = st.write_count;
}

/*
 * collect_mmds: the MMDS stacks' counters, summed. The stacks live on this
 * (the VMM) thread, as the metrics flush does: no lock needed.
 */
static void collect_mmds(struct machine_backend *b, struct metrics_counters *now)
{
	struct mmds_stats sum = {0}, st;

	for (unsigned int i = 0; i < CONFIG_MAX_DEVICES; i++) {
		if (b->m.mmds_stacks[i] == NULL)
			continue;
		mmds_stack_stats(b->m.mmds_stacks[i], &st);
#define ADD(n) sum.n += st.n;
		METRICS_MMDS(ADD)
#undef ADD
	}
#define SET(n) now->mmds.n = sum.n;
	METRICS_MMDS(SET)
#undef SET
}

/* collect_device_counters: counters kept by the devices, for the metrics. */
static void collect_device_counters(void *ctx, struct metrics_counters *now)
{
	struct machine_backend *b = ctx;
	struct virtio_slot *slot;
	struct rng_stats rs;

	for (unsigned int i = 0; i < CONFIG_MAX_DEVICES; i++) {
		slot = find_slot(b, VIRTIO_ID_NET, i);
		if (slot == NULL)
			break;
		collect_net(slot, &now->net[i]);
	}
	slot = find_slot(b, VIRTIO_ID_VSOCK, 0);
	if (slot != NULL)
		collect_vsock(slot, now);
	slot = find_slot(b, VIRTIO_ID_RNG, 0);
	if (slot != NULL && virtio_mmio_with_lock(slot->transport, copy_rng_stats, &rs) == 0) {
		now->entropy.entropy_event_count = rs.requests;
		now->entropy.entropy_bytes = rs.bytes;
		now->entropy.host_rng_fails = rs.host_fails;
		now->entropy.entropy_rate_limiter_throttled = rs.throttled;
	}
	for (unsigned int i = 0; i < CONFIG_MAX_DEVICES; i++) {
		slot = find_slot(b, VIRTIO_ID_BLOCK, i);
		if (slot == NULL)
			break;
		collect_block(b, i, slot, &now->block[i]);
	}
	collect_mmds(b, now);
	now->vmm.device_events = b->m.virtio.device_events;
}

/* built: the machine exists: the VM counts into the metrics, which read the devices. */
static void built(struct machine_backend *b)
{
	b->built = true;
	b->m.vm.metrics = b->metrics;
	if (b->metrics != NULL) {
		b->metrics->collect = collect_device_counters;
		b->metrics->collect_ctx = b;
	}
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
	if (index < CONFIG_MAX_DEVICES)
		__atomic_add_fetch(ret == 0 ? &b->disk_updates[index]
					    : &b->disk_update_fails[index],
				   1, __ATOMIC_RELAXED);
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
