/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_util.h: small pieces every JSON reader of the control plane needs
 * alike (config_json.c, cpu_config_json.c): the path of the value being
 * read, for messages such as "drives[1].rate_limiter.bandwidth: ...", the
 * name of a value's type, and the first unknown key of an object. Each
 * reader keeps its own error reporting.
 */
#ifndef EMBER_JSON_UTIL_H
#define EMBER_JSON_UTIL_H

#include <stddef.h>

#include <jansson.h>

/*
 * json_path_push: append (name), or "name[idx]" when (idx) >= 0, to the
 * dotted path in (path) of (size) bytes (cut short if it does not fit).
 * Returns the old length, for json_path_pop.
 */
size_t json_path_push(char *path, size_t size, const char *name, long idx);

/* json_path_pop: back to the length json_path_push returned. */
void json_path_pop(char *path, size_t len);

/* json_kind: "an object", "an array", "a string", "an integer", "a number", "a boolean", "null". */
const char *json_kind(const json_t *v);

/*
 * json_unknown_key: the first key of (obj) that is not in (allowed)
 * (NULL-terminated), or NULL when all are known; then (list), of (size)
 * bytes, holds the allowed keys as "a, b, c" for the message.
 */
const char *json_unknown_key(json_t *obj, const char *const *allowed, char *list, size_t size);

#endif /* EMBER_JSON_UTIL_H */
