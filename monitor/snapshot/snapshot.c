// SPDX-License-Identifier: Apache-2.0
/* snapshot.c: create a snapshot of a paused machine; restore one (see snapshot.h). */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>

#include "builder.h"
#include "config_json.h"
#include "exit_status.h"
#include "log.h"
#include "snap_devices.h"
#include "vcpu.h"
#include "vcpu_state.h"

#define MIB (1024ULL * 1024)
/*
 * Parts of the configuration a snapshot leaves out: the logger and metrics
 * belong to whichever process restores it, and the boot source was used up
 * by the boot (a restore loads no kernel, and the file need not exist).
 */
static const char *const not_saved[] = {"logger", "metrics", "boot-source"};

/* machine_config_json: (cfg) as GET /vm/config shows it, less what is not_saved. */
static char *machine_config_json(const struct vm_config *cfg)
{
	char *text = config_json_vm_config(cfg);
	json_t *root = text != NULL ? json_loads(text, 0, NULL) : NULL;

	free(text);
	if (root == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(not_saved) / sizeof(not_saved[0]); i++)
		json_object_del(root, not_saved[i]);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

static int put_info(struct snap_writer *w, const struct machine *m)
{
	struct snap_info info = {
	    .nvcpus = m->vm.nvcpus,
	    .nslots = m->virtio.count,
	    .mem_bytes = m->vm.mem_low_size + m->vm.mem_high_size,
	    .mem_low_bytes = m->vm.mem_low_size,
	    .boot_timer = m->boot_timer.report,
	};
	snprintf(info.version, sizeof(info.version), "%s", config_version());
	return snap_put(w, SNAP_TAG_INFO, 0, &info, sizeof(info));
}

static int put_vcpus(struct snap_writer *w, struct machine *m, char *err, size_t errsz)
{
	uint32_t msrs[VCPU_STATE_MAX_MSRS];
	struct vcpu_state *st = malloc(sizeof(*st));
	int ret = vcpu_saveable_msrs(m->vm.kvm_fd, msrs, VCPU_STATE_MAX_MSRS);

	if (st == NULL || ret < 0) {
		free(st);
		snprintf(err, errsz, "vcpus: %s",
			 st == NULL ? "out of memory" : "KVM_GET_MSR_INDEX_LIST failed");
		return st == NULL ? -ENOMEM : ret;
	}
	unsigned int nmsrs = (unsigned int)ret;
	ret = 0;
	for (unsigned int i = 0; i < m->vm.nvcpus && ret == 0; i++) {
		ret = vcpu_state_save(m->vm.vcpus[i], msrs, nmsrs, st, err, errsz);
		if (ret == 0)
			ret = snap_put(w, SNAP_TAG_VCPU, i, st, sizeof(*st));
	}
	free(st);
	return ret;
}

static int put_clock(struct snap_writer *w, struct machine *m, char *err, size_t errsz)
{
	struct vm_clock_state clock;
	int ret = vm_clock_save(&m->vm, &clock, err, errsz);

	return ret < 0 ? ret : snap_put(w, SNAP_TAG_VM_CLOCK, 0, &clock, sizeof(clock));
}

static int put_config(struct snap_writer *w, const struct vm_config *cfg)
{
	char *text = machine_config_json(cfg);

	if (text == NULL)
		return -ENOMEM;
	int ret = snap_put(w, SNAP_TAG_CONFIG, 0, text, strlen(text));
	free(text);
	return ret;
}

/* put_sections: every section of (m)'s state file into (w). */
static int put_sections(struct snap_writer *w, struct machine *m, const struct vm_config *cfg,
			char *err, size_t errsz)
{
	int ret = put_info(w, m);

	if (ret == 0)
		ret = put_config(w, cfg);
	if (ret == 0)
		ret = put_vcpus(w, m, err, errsz);
	if (ret == 0)
		ret = put_clock(w, m, err, errsz);
	if (ret == 0)
		ret = snap_devices_save(w, m, err, errsz);
	if (ret == -ENOMEM)
		snprintf(err, errsz, "snapshot: out of memory");
	return ret;
}

/*
 * take_dirty: a VM that tracks dirty pages starts a new round with every
 * snapshot, so a Diff holds what changed since the last one of either kind.
 */
static int take_dirty(struct machine *m, const struct snapshot_create_req *req, struct vm_dirty *d,
		      char *err, size_t errsz)
{
	if (!m->vm.track_dirty) {
		if (!req->diff)
			return 0;
		snprintf(err, errsz,
			 "snapshot_type: Diff needs a VM that tracks dirty pages "
			 "(machine-config track_dirty_pages, or track_dirty_pages at load)");
		return -EINVAL;
	}
	int ret = vm_take_dirty(&m->vm, d);
	if (ret < 0)
		snprintf(err, errsz, "cannot read the dirty-page log: %s", strerror(-ret));
	return ret;
}

int snapshot_create(struct machine *m, const struct vm_config *cfg,
		    const struct snapshot_create_req *req, struct snapshot_create_stats *stats,
		    char *err, size_t errsz)
{
	struct snap_writer w;
	const void *image;
	size_t len = 0;
	uint64_t t0 = vm_now_ns();

	memset(stats, 0, sizeof(*stats));
	/* What the guest printed before the pause goes out before anything after it. */
	serial_flush(&m->serial);
	/* Devices first: finishing their in-flight work may still write guest RAM. */
	int ret = snap_devices_quiesce(m, err, errsz);
	struct vm_dirty dirty = {0};
	snap_writer_init(&w);
	if (ret == 0)
		ret = put_sections(&w, m, cfg, err, errsz);
	if (ret == 0)
		ret = take_dirty(m, req, &dirty, err, errsz);
	if (ret == 0)
		ret = snap_memory_write(&m->vm, req->diff ? &dirty : NULL, req->mem_path,
					&stats->mem, err, errsz);
	if (ret == 0) {
		ret = snap_writer_commit(&w, req->state_path, err, errsz);
		if (ret < 0)
			unlink(req->mem_path); /* ours, just written: no half snapshot */
	}
	/* A failed snapshot starts no new round: the next one needs these pages. */
	if (ret < 0)
		vm_give_back_dirty(&m->vm, &dirty);
	vm_dirty_free(&dirty);
	if (ret == 0 && snap_writer_image(&w, &image, &len) == 0)
		stats->state_bytes = len;
	snap_writer_free(&w);
	/*
	 * Only now, with guest RAM on disk, may the devices work again (a
	 * resumed device may serve what was queued, writing RAM); the vCPUs
	 * stay paused. After a failed quiesce this resumes the ones that did.
	 */
	snap_devices_resume(m);
	stats->elapsed_ns = vm_now_ns() - t0;
	return ret;
}

/* check_info: the info section against itself and the rest of the file. */
static int check_info(const struct snapshot_image *img, const char *path, char *err, size_t errsz)
{
	const struct snap_info *in = &img->info;
	unsigned int nvcpu_sections = snap_count(&img->reader, SNAP_TAG_VCPU);

	if (memchr(in->version, '\0', sizeof(in->version)) == NULL)
		snprintf(err, errsz, "snapshot '%s': info: the version is not a string", path);
	else if (in->nvcpus == 0 || in->nvcpus > VM_MAX_VCPUS)
		snprintf(err, errsz, "snapshot '%s': info: %u vCPUs (1 to %d)", path, in->nvcpus,
			 VM_MAX_VCPUS);
	else if (nvcpu_sections != in->nvcpus)
		snprintf(err, errsz, "snapshot '%s': info says %u vCPUs, the file holds %u", path,
			 in->nvcpus, nvcpu_sections);
	else if (in->mem_bytes == 0 || in->mem_bytes % MIB != 0 || in->mem_low_bytes == 0 ||
		 in->mem_low_bytes > in->mem_bytes)
		snprintf(err, errsz, "snapshot '%s': info: a guest RAM size of %llu bytes", path,
			 (unsigned long long)in->mem_bytes);
	else if (in->nslots != snap_count(&img->reader, SNAP_TAG_VIRTIO))
		snprintf(err, errsz,
			 "snapshot '%s': info says %u virtio devices, the file holds %u", path,
			 in->nslots, snap_count(&img->reader, SNAP_TAG_VIRTIO));
	else
		return 0;
	return -EINVAL;
}

/* check_config: the machine the config section describes is the one the info saved. */
static int check_config(const struct snapshot_image *img, const struct vm_config *cfg,
			const char *path, char *err, size_t errsz)
{
	const struct snap_info *in = &img->info;
	unsigned int ndev = config_device_count(cfg);

	if (cfg->vcpus != in->nvcpus)
		snprintf(err, errsz, "snapshot '%s': its config has %u vCPUs, its state %u", path,
			 cfg->vcpus, in->nvcpus);
	else if (cfg->mem_mib * MIB != in->mem_bytes)
		snprintf(err, errsz, "snapshot '%s': its config has %llu MiB, its state %llu", path,
			 (unsigned long long)cfg->mem_mib,
			 (unsigned long long)(in->mem_bytes / MIB));
	else if (ndev != in->nslots)
		snprintf(err, errsz, "snapshot '%s': its config has %u devices, its state %u", path,
			 ndev, in->nslots);
	else
		return 0;
	return -EINVAL;
}

/* apply_overrides: network_overrides and vsock_override onto the snapshot's devices. */
static int apply_overrides(const struct snapshot_load_req *req, struct vm_config *cfg, char *err,
			   size_t errsz)
{
	for (unsigned int i = 0; i < req->nnet_overrides; i++) {
		const struct snapshot_net_override *o = &req->net_overrides[i];
		unsigned int n = 0;
		if (o->iface_id[0] == '\0') {
			if (i >= cfg->nnets) {
				snprintf(err, errsz,
					 "--net %s: the snapshot has %u network interface(s), "
					 "fewer than the --net flags",
					 o->host_dev_name, cfg->nnets);
				return -EINVAL;
			}
			n = i;
		}
		while (n < cfg->nnets && o->iface_id[0] != '\0' &&
		       strcmp(cfg->nets[n].iface_id, o->iface_id) != 0)
			n++;
		if (n == cfg->nnets) {
			snprintf(
			    err, errsz,
			    "network_overrides[%u].iface_id: the snapshot has no interface '%s'", i,
			    o->iface_id);
			return -EINVAL;
		}
		if (config_set_str(&cfg->nets[n].host_dev_name, o->host_dev_name) < 0)
			return -ENOMEM;
	}
	cfg->track_dirty_pages = req->track_dirty_pages;
	if (req->vsock_uds_path != NULL) {
		if (!cfg->vsock.enabled) {
			snprintf(err, errsz, "vsock_override: the snapshot has no vsock device");
			return -EINVAL;
		}
		if (req->vsock_cid != 0 && req->vsock_cid != cfg->vsock.guest_cid) {
			snprintf(
			    err, errsz,
			    "--vsock: the snapshot's guest CID is %u, not %u (a restored guest "
			    "keeps its CID)",
			    cfg->vsock.guest_cid, req->vsock_cid);
			return -EINVAL;
		}
		if (config_set_str(&cfg->vsock.uds_path, req->vsock_uds_path) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* load_config: the config section onto (cfg), then the overrides. */
static int load_config(const struct snapshot_image *img, const struct snapshot_load_req *req,
		       struct vm_config *cfg, char *err, size_t errsz)
{
	char name[CONFIG_JSON_ERR_MAX];
	const void *text;
	size_t len;

	if (snap_get(&img->reader, SNAP_TAG_CONFIG, 0, &text, &len) < 0) {
		snprintf(err, errsz, "snapshot '%s': no config section", req->state_path);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "snapshot '%s': config", req->state_path);
	int ret = config_json_load(cfg, name, text, len, err, errsz);
	if (ret == 0)
		ret = check_config(img, cfg, req->state_path, err, errsz);
	if (ret == 0)
		ret = apply_overrides(req, cfg, err, errsz);
	return ret;
}

int snapshot_open(struct snapshot_image *img, const struct snapshot_load_req *req,
		  struct vm_config *cfg, char *err, size_t errsz)
{
	memset(img, 0, sizeof(*img));
	img->mem_fd = -1;
	int ret = snap_read_file(&img->reader, req->state_path, err, errsz);
	if (ret < 0)
		return ret;
	ret = snap_get_exact(&img->reader, SNAP_TAG_INFO, 0, &img->info, sizeof(img->info), err,
			     errsz);
	if (ret == 0)
		ret = check_info(img, req->state_path, err, errsz);
	if (ret == 0)
		ret = load_config(img, req, cfg, err, errsz);
	if (ret == 0)
		cfg->boot_timer = img->info.boot_timer != 0;
	/* hugetlbfs pages cannot be mapped from a file: a handler must copy them in. */
	if (ret == 0 && cfg->huge_pages == CONFIG_HUGE_PAGES_2M && !req->mem_uffd) {
		snprintf(err, errsz,
			 "snapshot '%s': its VM ran on 2M huge pages, which only the Uffd memory "
			 "backend can restore (as in Firecracker)",
			 req->state_path);
		ret = -EINVAL;
	}
	if (ret == 0 && req->mem_uffd)
		img->uffd_path = req->mem_path;
	else if (ret == 0) {
		ret = snap_memory_open(req->mem_path, img->info.mem_bytes, err, errsz);
		img->mem_fd = ret;
	}
	if (ret < 0) {
		snapshot_close(img);
		return ret;
	}
	return 0;
}

void snapshot_close(struct snapshot_image *img)
{
	if (img->mem_fd >= 0)
		close(img->mem_fd);
	img->mem_fd = -1;
	snap_reader_free(&img->reader);
}

static int restore_vcpus(struct machine *m, const struct snapshot_image *img, char *err,
			 size_t errsz)
{
	struct vcpu_state *st = malloc(sizeof(*st));
	int ret = 0;

	if (st == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < m->vm.nvcpus && ret == 0; i++) {
		ret = snap_get_exact(&img->reader, SNAP_TAG_VCPU, i, st, sizeof(*st), err, errsz);
		if (ret == 0)
			ret = vcpu_state_restore(m->vm.vcpus[i], st, err, errsz);
	}
	free(st);
	return ret;
}

/* restore_state: vCPUs, clock, devices: the part that may read guest RAM. */
static int restore_state(struct machine *m, const struct snapshot_image *img, char *err,
			 size_t errsz)
{
	struct vm_clock_state clock;
	int ret = restore_vcpus(m, img, err, errsz);

	if (ret == 0)
		ret = snap_get_exact(&img->reader, SNAP_TAG_VM_CLOCK, 0, &clock, sizeof(clock), err,
				     errsz);
	if (ret == 0)
		ret = vm_clock_restore(&m->vm, &clock, err, errsz);
	if (ret == 0)
		ret = snap_devices_restore(m, &img->reader, err, errsz);
	return ret;
}

int snapshot_restore_state(struct machine *m, const struct snapshot_image *img, char *err,
			   size_t errsz)
{
	int ret = snap_uffd_guard_begin(&m->uffd, err, errsz);

	if (ret == 0)
		ret = restore_state(m, img, err, errsz);
	/* A handler's hangup is the cause of whatever else failed: its message wins. */
	int hangup = snap_uffd_guard_end(&m->uffd, err, errsz);
	if (hangup < 0)
		ret = hangup;
	if (ret == 0)
		ret = snap_uffd_watch(&m->uffd, m->loop);
	return ret;
}

/*
 * template_ready: on the vCPU thread that signalled the boot timer: stop
 * the guest where it is (every vCPU parks before its next instruction, this
 * one once its exit is done), and wake the VMM thread to write it.
 */
static void template_ready(void *ctx)
{
	struct snapshot_template *t = ctx;
	uint64_t one = 1;

	vm_pause_soon(&t->m->vm);
	if (write(t->fd, &one, sizeof(one)) < 0)
		log_warn_errno(errno, "snapshot: cannot wake the VMM thread");
}

/* template_snapshot: on the VMM thread: pause, write, end the run. */
static void template_snapshot(void *opaque, int fd, uint32_t events)
{
	struct snapshot_template *t = opaque;
	struct snapshot_create_stats st;
	char err[CONFIG_JSON_ERR_MAX];
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	if (vm_pause(&t->m->vm) < 0)
		return; /* stopping anyway */
	int ret = snapshot_create(t->m, t->cfg, &t->req, &st, err, sizeof(err));
	if (ret < 0) {
		log_error("--snapshot-when-ready: %s", err);
		vm_request_stop(&t->m->vm, EMBER_EXIT_HOST_ERROR);
		return;
	}
	log_info("snapshot: '%s' (%llu bytes) and '%s' (%llu of %llu bytes written) in %llu us",
		 t->req.state_path, (unsigned long long)st.state_bytes, t->req.mem_path,
		 (unsigned long long)st.mem.written, (unsigned long long)st.mem.bytes,
		 (unsigned long long)(st.elapsed_ns / 1000));
	vm_request_stop(&t->m->vm, EMBER_EXIT_OK);
}

int snapshot_template_arm(struct snapshot_template *t, struct machine *m,
			  const struct vm_config *cfg, const struct snapshot_create_req *req,
			  struct ember_err *err)
{
	*t = (struct snapshot_template){.m = m, .cfg = cfg, .req = *req, .loop = m->loop};
	t->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ret = t->fd < 0 ? -errno : evloop_add(t->loop, t->fd, EPOLLIN, template_snapshot, t);
	if (ret < 0) {
		ember_err_set(err, -ret, "--snapshot-when-ready: cannot watch the boot timer");
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		return -EIO;
	}
	m->boot_timer.on_ready_ctx = t;
	m->boot_timer.on_ready = template_ready;
	return 0;
}

void snapshot_template_disarm(struct snapshot_template *t)
{
	if (t->m == NULL || t->fd < 0)
		return; /* never armed (zeroed), or disarmed */
	t->m->boot_timer.on_ready = NULL;
	evloop_del(t->loop, t->fd);
	close(t->fd);
	t->fd = -1;
}
