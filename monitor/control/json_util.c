// SPDX-License-Identifier: Apache-2.0
/* json_util.c: JSON paths, type names and key checks (see json_util.h). */
#include "json_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t json_path_push(char *path, size_t size, const char *name, long idx)
{
	size_t len = strnlen(path, size);

	if (len >= size)
		return len;
	if (idx >= 0)
		snprintf(path + len, size - len, "%s%s[%ld]", len ? "." : "", name, idx);
	else
		snprintf(path + len, size - len, "%s%s", len ? "." : "", name);
	return len;
}

void json_path_pop(char *path, size_t len)
{
	path[len] = '\0';
}

const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

const char *json_unknown_key(json_t *obj, const char *const *allowed, char *list, size_t size)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a != NULL && !ok; a++)
			ok = strcmp(key, *a) == 0;
		if (ok)
			continue;
		list[0] = '\0';
		for (const char *const *a = allowed; *a != NULL; a++) {
			size_t n = strnlen(list, size);
			if (n < size)
				snprintf(list + n, size - n, "%s%s", n ? ", " : "", *a);
		}
		return key;
	}
	return NULL;
}
