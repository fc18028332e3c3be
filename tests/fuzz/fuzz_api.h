/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_api.h: the control plane as fuzz_api_body.c and fuzz_http.c drive it:
 * a real struct instance (api_routes -> instance -> config_json) over a
 * backend that only records, and checks on every answer.
 *
 * Nothing a request names is opened: the logger is absent, and the metrics
 * write to /dev/null, already "configured", so PUT /metrics (which would
 * create the file it names) is refused and FlushMetrics still renders them.
 */
#ifndef EMBER_FUZZ_API_H
#define EMBER_FUZZ_API_H

#include <stdint.h>

#include "api.h"
#include "instance.h"

struct fza {
	struct vm_config cfg;
	struct metrics metrics;
	struct instance inst;
	int backend_ret; /* what every backend hook returns */
	int devnull;
};

/* fza_init: once per process. */
void fza_init(struct fza *a);

/*
 * fza_begin: a fresh Not-started instance; (state) 1 or 2 makes it Running or
 * Paused, (populate) gives it a kernel, a drive "rootfs" and an interface
 * "eth0" first; backend hooks return (backend_ret).
 */
void fza_begin(struct fza *a, unsigned int state, bool populate, int backend_ret);

/* fza_end: release what the input's requests allocated. */
void fza_end(struct fza *a);

/* fza_check_response: the invariants of any answer the routes give. */
void fza_check_response(const struct api_response *resp);

#endif /* EMBER_FUZZ_API_H */
