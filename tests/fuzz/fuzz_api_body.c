// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_api_body.c: every API request body, through the parser its route
 * uses and through the routes themselves.
 *
 * Input: [target] [aux] [id length] [id] [body...]
 *   target % 16: 0..8 config_json_put for that enum config_resource (the id
 *   for drives and interfaces), 9 actions, 10 PATCH /vm, 11 PATCH /drives/{id},
 *   12 PATCH /network-interfaces/{id}, 13..15 api_routes_handle with a path
 *   chosen by aux; target bit 6: the instance already has a kernel, a drive
 *   "rootfs" and an interface "eth0"; bit 7: the backend fails.
 *   aux: bits 0-1 the instance state (Not started, Running, Paused), bits 2-3
 *   the method (GET, PUT, PATCH, another), bits 4-7 the path.
 *
 * Invariants beyond the sanitizers: a refused body has a message; an
 * accepted one leaves a configuration that renders; every answer of the
 * routes is well formed (fuzz_api.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_routes.h"
#include "config_json.h"
#include "fuzz_api.h"
#include "fuzz_util.h"

/* Harness state. */
static struct fza api;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_logs();
	fza_init(&api);
	return 0;
}

static void refused(int rc, const char *err, const char *what)
{
	if (rc < 0)
		FZ_CHECK(err[0] != '\0', "%s refused (%d) without a message", what, rc);
}

static void render(const struct vm_config *cfg)
{
	char *s[3] = {config_json_vm_config(cfg), config_json_machine(cfg),
		      config_json_instance_info(cfg, "Not started")};

	for (int i = 0; i < 3; i++) {
		FZ_CHECK(s[i] != NULL, "render %d", i);
		free(s[i]);
	}
}

static void route(uint8_t aux, char *id, const char *body, size_t len)
{
	static const char *const paths[] = {"/",
					    "/version",
					    "/vm/config",
					    "/machine-config",
					    "/boot-source",
					    "/drives",
					    "/network-interfaces",
					    "/vsock",
					    "/entropy",
					    "/logger",
					    "/metrics",
					    "/actions",
					    "/vm",
					    "/cpu-config",
					    "/mmds/config",
					    "/snapshot/create"};
	static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE"};
	char path[256];
	struct api_response resp = {0};
	unsigned int p = aux >> 4;

	/* api.c hands the routes printable ASCII paths only: keep to that contract. */
	for (char *c = id; *c != '\0'; c++)
		if (*c < ' ' || *c > '~')
			*c = '?';
	/* Drives and interfaces get the id, and any other path does when it is not empty. */
	if (id[0] != '\0' || p == 5 || p == 6)
		snprintf(path, sizeof(path), "%s/%s", paths[p], id);
	else
		snprintf(path, sizeof(path), "%s", paths[p]);
	struct api_request req = {
	    .method = (enum api_method)((aux >> 2) & 3),
	    .method_name = methods[(aux >> 2) & 3],
	    .path = path,
	    .body = body,
	    .body_len = len,
	};
	api_routes_handle(&api.inst, &req, &resp);
	fza_check_response(&resp);
	free(resp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in;
	char id[256], err[CONFIG_JSON_ERR_MAX];
	const uint8_t *idp, *bodyp;
	char *body;
	size_t idlen, len;
	int rc = 0;

	fz_init(&in, data, size);
	uint8_t target = fz_u8(&in), aux = fz_u8(&in);
	idlen = fz_take(&in, fz_u8(&in) % 100, &idp);
	memcpy(id, idp != NULL ? idp : (const uint8_t *)"", idlen);
	id[idlen] = '\0';
	len = fz_take(&in, SIZE_MAX, &bodyp);
	/* Bodies arrive NUL-terminated (api.c adds one), with their length. */
	body = malloc(len + 1);
	FZ_CHECK(body != NULL, "out of memory");
	if (len > 0)
		memcpy(body, bodyp, len);
	body[len] = '\0';

	fza_begin(&api, (target & 15) >= 13 ? aux & 3 : 0, target & 0x40, (target & 0x80) ? -5 : 0);
	err[0] = '\0';
	switch (target & 15) {
	case 9: {
		enum config_action_type a;
		rc = config_json_action(body, len, &a, err, sizeof(err));
		refused(rc, err, "action");
		break;
	}
	case 10: {
		bool paused;
		rc = config_json_vm_state(body, len, &paused, err, sizeof(err));
		refused(rc, err, "vm state");
		break;
	}
	case 11: {
		struct drive_patch p;
		rc = config_json_drive_patch(id, body, len, &p, err, sizeof(err));
		refused(rc, err, "drive patch");
		if (rc == 0 && api.cfg.ndisks > 0)
			FZ_CHECK(config_json_apply_drive_patch(&api.cfg, 0, &p) == 0, "apply");
		break;
	}
	case 12: {
		struct net_patch p;
		rc = config_json_net_patch(id, body, len, &p, err, sizeof(err));
		refused(rc, err, "interface patch");
		break;
	}
	case 13:
	case 14:
	case 15:
		route(aux, id, body, len);
		break;
	default: {
		enum config_resource res = (enum config_resource)(target & 15);
		bool with_id = res == CONFIG_RES_DRIVE || res == CONFIG_RES_NET;
		rc = config_json_put(&api.cfg, res, with_id ? id : NULL, body, len, err,
				     sizeof(err));
		refused(rc, err, "PUT");
		break;
	}
	}
	render(&api.cfg);
	fza_end(&api);
	free(body);
	return 0;
}
