/* SPDX-License-Identifier: Apache-2.0 */
/*
 * machine_backend.h: the instance backend on the builder. start =
 * machine_build; pause/resume = vm_pause/vm_resume; SendCtrlAltDel =
 * i8042_ctrl_alt_del. PATCH /drives = blk_set_backing and blk_set_limiter,
 * PATCH /network-interfaces = net_set_limiters, each under the device's
 * transport lock (virtio_mmio_with_lock); see each hook's contract in
 * instance.h.
 */
#ifndef EMBER_MACHINE_BACKEND_H
#define EMBER_MACHINE_BACKEND_H

#include "builder.h"
#include "instance.h"

struct machine_backend {
	struct machine m;
	struct startup_trace *startup; /* main's, see startup_trace.h */
	struct evloop *loop;	       /* main's: the process's one event loop */
	int build_status;	       /* machine_build's exit status when start failed */
	bool built;
	struct snapshot_template template; /* --snapshot-when-ready */
};

extern const struct instance_ops machine_backend_ops;

int machine_backend_pause(void *ctx, char *err, size_t errsz);
int machine_backend_resume(void *ctx, char *err, size_t errsz);
int machine_backend_ctrl_alt_del(void *ctx, char *err, size_t errsz);
int machine_backend_patch_drive(void *ctx, unsigned int index, const struct drive_patch *p,
				char *err, size_t errsz);
int machine_backend_patch_net(void *ctx, unsigned int index, const struct net_patch *p, char *err,
			      size_t errsz);

#endif /* EMBER_MACHINE_BACKEND_H */
