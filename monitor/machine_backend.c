// SPDX-License-Identifier: Apache-2.0
/* machine_backend.c: struct instance_ops on today's builder (machine_build). */
#include "machine_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exit_status.h"
#include "log.h"

static int backend_start(void *ctx, const struct vm_config *cfg)
{
	struct machine_backend *b = ctx;
	struct vm_config eff = *cfg;
	char root[128];

	instance_root_args(cfg, root, sizeof(root));
	if (root[0] != '\0') {
		const char *base = cfg->cmdline != NULL ? cfg->cmdline : CONFIG_DEFAULT_CMDLINE;
		int n = snprintf(b->cmdline, sizeof(b->cmdline), "%s%s%s", base, base[0] ? " " : "",
				 root);
		if (n < 0 || (size_t)n >= sizeof(b->cmdline)) {
			log_error("boot-source: boot_args with %s are longer than %zu bytes", root,
				  sizeof(b->cmdline) - 1);
			b->build_status = EMBER_EXIT_CONFIG;
			return -E2BIG;
		}
		eff.cmdline = b->cmdline;
	}
	b->build_status = machine_build(&b->m, &eff, b->t_exec_ns);
	if (b->build_status != 0)
		return -EINVAL;
	b->built = true;
	b->m.vm.metrics = b->metrics;
	return 0;
}

int machine_backend_pause(void *ctx)
{
	struct machine_backend *b = ctx;
	int ret = vm_pause(&b->m.vm);

	if (ret == -ESHUTDOWN)
		log_error("the microVM is stopping");
	return ret;
}

int machine_backend_resume(void *ctx)
{
	struct machine_backend *b = ctx;

	vm_resume(&b->m.vm);
	return 0;
}

int machine_backend_ctrl_alt_del(void *ctx)
{
	struct machine_backend *b = ctx;

	i8042_ctrl_alt_del(&b->m.i8042);
	return 0;
}

int machine_backend_patch_drive(void *ctx, unsigned int index, const struct drive_patch *p)
{
	(void)ctx;
	(void)index;
	(void)p;
	return -ENOSYS;
}

int machine_backend_patch_net(void *ctx, unsigned int index, const struct net_patch *p)
{
	(void)ctx;
	(void)index;
	(void)p;
	return -ENOSYS;
}

const struct instance_ops machine_backend_ops = {
    .start = backend_start,
    .pause = machine_backend_pause,
    .resume = machine_backend_resume,
    .ctrl_alt_del = machine_backend_ctrl_alt_del,
    .patch_drive = machine_backend_patch_drive,
    .patch_net = machine_backend_patch_net,
};
