/* SPDX-License-Identifier: Apache-2.0 */
/*
 * instance.h: one microVM instance as the control plane sees it: its
 * configuration, its state (Not started -> Running <-> Paused) and the
 * actions the API may ask of it. This file decides what is allowed when
 * (the 400s); the backend behind struct instance_ops does the work on the
 * VMM thread. api_routes.c turns HTTP requests into these calls; nothing
 * here knows HTTP, and nothing in the API touches struct vm.
 *
 * Every function returns 0, or -errno with a fault message for the
 * client in (err, errsz). When a backend hook fails, its line is logged
 * once here too, whoever asked (the API or the command line).
 */
#ifndef EMBER_INSTANCE_H
#define EMBER_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "config_json.h"
#include "logger.h"
#include "metrics.h"
#include "snapshot.h"

struct mmds_store;

enum instance_state { INSTANCE_NOT_STARTED, INSTANCE_RUNNING, INSTANCE_PAUSED };

/*
 * The backend. Each hook runs on the VMM thread and returns 0, or -errno
 * with one line in (err, errsz) saying what failed, which the instance
 * reports (a hook logs nothing of its failure itself). -ENOSYS means "not
 * implemented yet": the API answers 400 "... not supported yet".
 */
struct instance_ops {
	/* start: build the VM for (cfg) and get it ready to run; on failure nothing is left. */
	int (*start)(void *ctx, const struct vm_config *cfg, char *err, size_t errsz);
	/*
	 * probe: device (res, id) of (cfg), just PUT, can be opened now, as
	 * Firecracker opens a drive's file and a tap at PUT; says why not in
	 * (err). NULL: no check.
	 */
	int (*probe)(void *ctx, const struct vm_config *cfg, enum config_resource res,
		     const char *id, char *err, size_t errsz);
	/* pause: stop every vCPU out of KVM_RUN and keep it out until resume. */
	int (*pause)(void *ctx, char *err, size_t errsz);
	/* resume: let paused vCPUs run again. */
	int (*resume)(void *ctx, char *err, size_t errsz);
	/* ctrl_alt_del: queue Ctrl+Alt+Del scancodes in the i8042 and raise its IRQ 1. */
	int (*ctrl_alt_del)(void *ctx, char *err, size_t errsz);
	/*
	 * patch_drive: disk (index) of the running VM: when (p->has_path),
	 * reopen p->path as its backing file (read-only as configured), update
	 * its capacity and raise a config-change interrupt; when
	 * (p->has_limiter), replace its rate limiter.
	 */
	int (*patch_drive)(void *ctx, unsigned int index, const struct drive_patch *p, char *err,
			   size_t errsz);
	/* patch_net: replace interface (index)'s rx/tx rate limiters. */
	int (*patch_net)(void *ctx, unsigned int index, const struct net_patch *p, char *err,
			 size_t errsz);
	/*
	 * snapshot_create: write the paused VM, configured as (cfg), to the
	 * files of (req). Says what failed in (err).
	 */
	int (*snapshot_create)(void *ctx, const struct vm_config *cfg,
			       const struct snapshot_create_req *req, char *err, size_t errsz);
	/*
	 * snapshot_load: build the VM of (req)'s snapshot; on success (cfg)
	 * has become the snapshot's configuration, and the VM is ready to run,
	 * paused unless req->resume. On failure (cfg) is as it was, nothing is
	 * left, and (err) says what failed.
	 */
	int (*snapshot_load)(void *ctx, struct vm_config *cfg, const struct snapshot_load_req *req,
			     char *err, size_t errsz);
};

struct instance {
	enum instance_state state;
	struct vm_config *cfg;
	const struct instance_ops *ops;
	void *ctx;
	struct logger *logger;
	struct metrics *metrics;
	bool start_done; /* InstanceStart succeeded: the VMM loop should run the VM */
	struct mmds_store *mmds; /* the metadata service's store (PUT/PATCH/GET /mmds), or NULL */
};

/* instance_init: a Not-started instance over (cfg) with backend (ops, ctx). */
void instance_init(struct instance *inst, struct vm_config *cfg, const struct instance_ops *ops,
		   void *ctx, struct logger *logger, struct metrics *metrics);

/* instance_state_name: "Not started", "Running" or "Paused" (GET /). */
const char *instance_state_name(const struct instance *inst);

/*
 * instance_put: PUT (or PATCH /machine-config) of pre-boot resource (res)
 * from a JSON body; (id) is the URL's {id} or NULL. Logger and metrics
 * take effect at once. 400 material after boot.
 */
int instance_put(struct instance *inst, enum config_resource res, const char *id, const char *body,
		 size_t len, char *err, size_t errsz);

/*
 * instance_start: InstanceStart: check what ember cannot build yet, then
 * ops->start. A failure of the backend is logged here, as its line (the
 * words the command line shows), and answered "InstanceStart failed: <line>".
 */
int instance_start(struct instance *inst, char *err, size_t errsz);

/* instance_set_paused: PATCH /vm. Running or Paused only. */
int instance_set_paused(struct instance *inst, bool paused, char *err, size_t errsz);

/* instance_ctrl_alt_del: SendCtrlAltDel. Running or Paused only. */
int instance_ctrl_alt_del(struct instance *inst, char *err, size_t errsz);

/* instance_flush_metrics: FlushMetrics, any time metrics are configured. */
int instance_flush_metrics(struct instance *inst, char *err, size_t errsz);

/* instance_patch_drive: PATCH /drives/{id} after boot. */
int instance_patch_drive(struct instance *inst, const struct drive_patch *p, char *err,
			 size_t errsz);

/* instance_patch_net: PATCH /network-interfaces/{id} after boot. */
int instance_patch_net(struct instance *inst, const struct net_patch *p, char *err, size_t errsz);

/* instance_snapshot_create: PUT /snapshot/create. Paused only. */
int instance_snapshot_create(struct instance *inst, const struct snapshot_create_body *b, char *err,
			     size_t errsz);

/*
 * instance_snapshot_load: PUT /snapshot/load, or --restore. Before boot
 * only, with no machine resource configured (the snapshot brings its own);
 * afterwards the instance is Paused, or Running with resume_vm.
 */
int instance_snapshot_load(struct instance *inst, const struct snapshot_load_body *b, char *err,
			   size_t errsz);

#endif /* EMBER_INSTANCE_H */
