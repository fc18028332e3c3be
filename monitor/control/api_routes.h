/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_routes.h: Firecracker's API paths and methods -> instance actions.
 * A request becomes a call on struct instance (instance.h); this file only
 * matches the path and method, picks the JSON parser, counts the request
 * in the metrics and shapes the answer: 204 (no body) on success, 200 with
 * a body for GETs, 400 {"fault_message"} for everything refused, as
 * Firecracker answers: bad input, a request the instance's state forbids,
 * an unknown path or method, a GET with a body, an empty PATCH.
 */
#ifndef EMBER_API_ROUTES_H
#define EMBER_API_ROUTES_H

#include "api.h"
#include "instance.h"

/* api_routes_handle: an api_handler_fn; (opaque) is the struct instance. */
void api_routes_handle(void *opaque, const struct api_request *req, struct api_response *resp);

#endif /* EMBER_API_ROUTES_H */
