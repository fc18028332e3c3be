// SPDX-License-Identifier: Apache-2.0
/* fuzz_api.c: a recording backend and answer checks for the API harnesses (see fuzz_api.h). */
#include "fuzz_api.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_json.h"
#include "fuzz_util.h"

static int backend(void *ctx, char *err, size_t errsz)
{
	const struct fza *a = ctx;

	if (a->backend_ret < 0)
		snprintf(err, errsz, "fuzz: the backend refuses (%d)", a->backend_ret);
	return a->backend_ret;
}

static int f_start(void *ctx, const struct vm_config *cfg, char *err, size_t errsz)
{
	(void)cfg;
	return backend(ctx, err, errsz);
}

static int f_patch_drive(void *ctx, unsigned int index, const struct drive_patch *p, char *err,
			 size_t errsz)
{
	struct fza *a = ctx;

	FZ_CHECK(index < a->cfg.ndisks, "PATCH of drive %u of %u", index, a->cfg.ndisks);
	FZ_CHECK(!p->has_path || memchr(p->path, '\0', sizeof(p->path)) != NULL,
		 "unterminated path");
	return backend(ctx, err, errsz);
}

static int f_patch_net(void *ctx, unsigned int index, const struct net_patch *p, char *err,
		       size_t errsz)
{
	struct fza *a = ctx;

	(void)p;
	FZ_CHECK(index < a->cfg.nnets, "PATCH of interface %u of %u", index, a->cfg.nnets);
	return backend(ctx, err, errsz);
}

static const struct instance_ops ops = {
    .start = f_start,
    .pause = backend,
    .resume = backend,
    .ctrl_alt_del = backend,
    .patch_drive = f_patch_drive,
    .patch_net = f_patch_net,
};

void fza_init(struct fza *a)
{
	memset(a, 0, sizeof(*a));
	a->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	FZ_CHECK(a->devnull >= 0, "/dev/null");
}

static void put(struct fza *a, enum config_resource res, const char *id, const char *body)
{
	char err[CONFIG_JSON_ERR_MAX];

	FZ_CHECK(config_json_put(&a->cfg, res, id, body, strlen(body), err, sizeof(err)) == 0,
		 "set-up PUT refused: %s", err);
}

void fza_begin(struct fza *a, unsigned int state, bool populate, int backend_ret)
{
	config_defaults(&a->cfg);
	metrics_init(&a->metrics);
	a->metrics.fd = a->devnull;
	instance_init(&a->inst, &a->cfg, &ops, a, NULL, &a->metrics);
	a->backend_ret = backend_ret;
	if (populate) {
		put(a, CONFIG_RES_BOOT_SOURCE, NULL,
		    "{\"kernel_image_path\": \"/dev/null\", \"boot_args\": \"console=ttyS0\"}");
		put(a, CONFIG_RES_DRIVE, "rootfs",
		    "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/dev/null\", "
		    "\"is_root_device\": true, \"is_read_only\": true}");
		put(a, CONFIG_RES_NET, "eth0",
		    "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}");
	}
	if (state == 1)
		a->inst.state = INSTANCE_RUNNING;
	else if (state == 2)
		a->inst.state = INSTANCE_PAUSED;
}

void fza_end(struct fza *a)
{
	config_free(&a->cfg);
}

void fza_check_response(const struct api_response *resp)
{
	switch (resp->status) {
	case 204:
		FZ_CHECK(resp->body == NULL, "204 with a body");
		break;
	case 200:
		FZ_CHECK(resp->body != NULL, "200 without a body");
		break;
	case 400:
	case 404:
	case 405:
	case 500:
		FZ_CHECK(resp->body != NULL && strncmp(resp->body, "{\"fault_message\":", 17) == 0,
			 "%d without a fault_message: %s", resp->status,
			 resp->body ? resp->body : "(none)");
		FZ_CHECK(strstr(resp->body, "\"fault_message\":\"\"") == NULL,
			 "%d with an empty fault_message", resp->status);
		break;
	default:
		FZ_CHECK(0, "status %d", resp->status);
	}
}
