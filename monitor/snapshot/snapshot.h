/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h: a paused microVM to a pair of files, and a new microVM from
 * them. The VM-state file (snap_file.h) holds what ember and KVM keep
 * outside guest RAM, section by section:
 *
 *   info          who wrote it, vCPU count, RAM size and layout
 *   config        the configuration as GET /vm/config shows it (JSON), so
 *                 the restore builds the same machine and its devices
 *   vcpu N        each vCPU's KVM state (vcpu_state.h)
 *   vm-clock      the kvmclock base
 *   ioapic, pic, pit, rtc, serial, i8042, boot-timer: the legacy devices
 *   virtio N      each virtio-mmio transport, its queues and device, in
 *                 slot order
 *
 * The memory file (snap_memory.h) holds guest RAM. A restore builds the
 * machine from the config section as a boot would, but maps RAM from the
 * memory file and writes the saved state into KVM and the devices instead
 * of loading a kernel.
 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ember_err.h"
#include "snap_file.h"
#include "snap_memory.h"

struct machine;

/* Room for ember's version string in the info section. */
#define SNAPSHOT_VERSION_BYTES 32

/* The info section. */
struct snap_info {
	char version[SNAPSHOT_VERSION_BYTES]; /* ember's, NUL-terminated */
	uint32_t nvcpus;
	uint32_t nslots; /* virtio-mmio devices */
	uint64_t mem_bytes;
	uint64_t mem_low_bytes; /* RAM below the MMIO gap; the rest is above 4 GiB */
	uint32_t boot_timer;	/* the machine had the boot timer device */
	uint32_t pad;
};

/* PUT /snapshot/create, or the template flags. */
struct snapshot_create_req {
	const char *state_path;
	const char *mem_path;
	/*
	 * snapshot_type Diff: the memory file holds only the pages written
	 * since the last snapshot (or since the restore), every other page a
	 * hole; ember-rebase-snap lays it over the earlier memory file. Needs
	 * a VM that tracks dirty pages. The state file is whole either way.
	 */
	bool diff;
};

/* What snapshot_create did, for the log and the bench. */
struct snapshot_create_stats {
	struct snap_memory_stats mem;
	uint64_t state_bytes;
	uint64_t elapsed_ns;
};

/* PUT /snapshot/load, or --restore. */
struct snapshot_load_req {
	const char *state_path;
	const char *mem_path; /* the memory file, or the Uffd handler's socket */
	bool mem_uffd;	      /* mem_backend.backend_type "Uffd" (snap_uffd.h) */
	bool resume;	      /* resume_vm: run at once rather than stay paused */
	unsigned int nnet_overrides;
	struct snapshot_net_override {
		const char *iface_id; /* "": the snapshot's interface in this override's place */
		const char *host_dev_name;
	} net_overrides[CONFIG_MAX_DEVICES];
	const char *vsock_uds_path; /* vsock_override.uds_path, or NULL */
	uint32_t vsock_cid;	    /* --vsock's CID, which must be the snapshot's; 0: unchecked */
	bool track_dirty_pages;	    /* the restored VM tracks dirty pages, for Diff snapshots */
};

/*
 * snapshot_create: write (m), paused, with configuration (cfg) to the two
 * files of (req): the memory file first, then the state file, each written
 * aside and renamed into place, so a failure leaves neither half written.
 * Devices finish in-flight work first. When (m) tracks dirty pages, every
 * snapshot starts a new round: the next Diff holds what changes after it.
 * VMM thread. Returns 0 or -errno with one line in (err).
 */
int snapshot_create(struct machine *m, const struct vm_config *cfg,
		    const struct snapshot_create_req *req, struct snapshot_create_stats *stats,
		    char *err, size_t errsz);

/* A state file read and checked, with its memory file open or its handler named. */
struct snapshot_image {
	struct snap_reader reader;
	struct snap_info info;
	int mem_fd;	       /* -1 with the Uffd backend */
	const char *uffd_path; /* the handler's socket (the request's), or NULL */
};

/*
 * snapshot_open: read and check (req)'s state file, apply its config
 * section and (req)'s overrides onto (cfg) (which holds no devices yet),
 * and open the memory file, checking it is long enough (with the Uffd
 * backend the handler has the file: ember never opens it). On failure (img)
 * holds nothing and (err) says which file and what. 0 or -errno.
 */
int snapshot_open(struct snapshot_image *img, const struct snapshot_load_req *req,
		  struct vm_config *cfg, char *err, size_t errsz);

/* snapshot_close: release what snapshot_open holds. */
void snapshot_close(struct snapshot_image *img);

/*
 * snapshot_restore_state: (m) is built from the image's config, with its
 * vCPUs created and not started: write every vCPU's state, the clock and
 * every device's state from (img). With the Uffd backend, a handler that
 * hangs up meanwhile fails the restore, and afterwards the VMM loop watches
 * it (snap_uffd_watch). 0 or -errno with (err).
 */
int snapshot_restore_state(struct machine *m, const struct snapshot_image *img, char *err,
			   size_t errsz);

/*
 * A template in one command (--snapshot-when-ready SNAP --mem-file MEM):
 * when the guest signals the boot timer, ember pauses the VM, writes the
 * snapshot and ends the run (exit status 0, or 120 when the snapshot
 * could not be written).
 */
struct snapshot_template {
	struct machine *m;
	const struct vm_config *cfg;
	struct snapshot_create_req req;
	struct evloop *loop;
	int fd; /* eventfd: the boot timer fired */
};

/* snapshot_template_arm: watch (m)'s boot timer for (req). 0, or -errno with (err) saying why. */
int snapshot_template_arm(struct snapshot_template *t, struct machine *m,
			  const struct vm_config *cfg, const struct snapshot_create_req *req,
			  struct ember_err *err);

/* snapshot_template_disarm: stop watching; before machine_destroy. A zeroed (t) is fine. */
void snapshot_template_disarm(struct snapshot_template *t);

#endif /* EMBER_SNAPSHOT_H */
