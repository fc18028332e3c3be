// SPDX-License-Identifier: Apache-2.0
/* mmds_store.c: the MMDS document (jansson), its limit, merge patch, pointer lookups. */
#include "mmds_store.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_MS 1000000ULL
#define MS_PER_S  1000ULL
#define DEC_BASE  10

struct mmds_store {
	pthread_mutex_t lock;
	json_t *doc; /* NULL until the first put */
	size_t limit;
	enum mmds_version version;
	bool imds_compat;
	struct mmds_tokens tokens;
	mmds_clock_fn clock;
	void *clock_opaque;
};

static uint64_t monotonic_ms(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

struct mmds_store *mmds_store_create(size_t limit, mmds_clock_fn clock, void *clock_opaque)
{
	struct mmds_store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	s->limit = limit;
	s->version = MMDS_V1;
	s->clock = clock != NULL ? clock : monotonic_ms;
	s->clock_opaque = clock_opaque;
	return s;
}

void mmds_store_destroy(struct mmds_store *s)
{
	if (s == NULL)
		return;
	json_decref(s->doc);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void mmds_store_set_mode(struct mmds_store *s, enum mmds_version version, bool imds_compat)
{
	pthread_mutex_lock(&s->lock);
	s->version = version;
	s->imds_compat = imds_compat;
	pthread_mutex_unlock(&s->lock);
}

enum mmds_version mmds_store_version(struct mmds_store *s)
{
	pthread_mutex_lock(&s->lock);
	enum mmds_version v = s->version;
	pthread_mutex_unlock(&s->lock);
	return v;
}

uint64_t mmds_store_now_ms(struct mmds_store *s)
{
	return s->clock(s->clock_opaque);
}

/* parse: (text, len) as one JSON value of any kind, or NULL with (err) filled. */
static json_t *parse(const char *text, size_t len, char *err, size_t errsz)
{
	json_error_t jerr;
	json_t *v;

	/* JSON text holds no NUL byte, but jansson lets one through after a number. */
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errsz, "invalid JSON: a NUL byte");
		return NULL;
	}
	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		snprintf(err, errsz, "invalid JSON: line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
	return v;
}

/* fits: (v)'s compact text is within the store's limit (-EFBIG otherwise). */
static int fits(const struct mmds_store *s, const json_t *v, char *err, size_t errsz)
{
	size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);

	if (n == 0 && !json_is_null(v)) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (n > s->limit) {
		snprintf(err, errsz,
			 "the MMDS data store would hold %zu bytes, more than its limit of %zu "
			 "(--mmds-size-limit)",
			 n, s->limit);
		return -EFBIG;
	}
	return 0;
}

int mmds_store_put(struct mmds_store *s, const char *text, size_t len, char *err, size_t errsz)
{
	json_t *v = parse(text, len, err, errsz);
	int ret;

	if (v == NULL)
		return -EINVAL;
	ret = fits(s, v, err, errsz);
	if (ret < 0) {
		json_decref(v);
		return ret;
	}
	pthread_mutex_lock(&s->lock);
	json_t *old = s->doc;
	s->doc = v;
	pthread_mutex_unlock(&s->lock);
	json_decref(old);
	return 0;
}

/*
 * merge: RFC 7396 MergePatch(target, patch), consuming a reference to
 * (target) (may be NULL) and borrowing (patch); NULL when out of memory.
 * (target) must be the caller's own copy: objects are changed in place.
 */
static json_t *merge(json_t *target, json_t *patch)
{
	const char *key;
	json_t *v;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_incref(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (target == NULL)
			return NULL;
	}
	json_object_foreach(patch, key, v)
	{
		if (json_is_null(v)) {
			json_object_del(target, key);
			continue;
		}
		json_t *m = merge(json_incref(json_object_get(target, key)), v);
		if (m == NULL || json_object_set_new(target, key, m) < 0) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

int mmds_store_patch(struct mmds_store *s, const char *text, size_t len, char *err, size_t errsz)
{
	json_t *patch = parse(text, len, err, errsz), *copy, *merged;
	int ret = 0;

	if (patch == NULL)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->doc == NULL) {
		snprintf(err, errsz, "The MMDS data store is not initialized (PUT /mmds first).");
		ret = -ENOENT;
		goto out;
	}
	/* Merge into a copy: a refused patch leaves the document as it was. */
	copy = json_deep_copy(s->doc);
	merged = copy != NULL ? merge(copy, patch) : NULL;
	if (merged == NULL) {
		snprintf(err, errsz, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	ret = fits(s, merged, err, errsz);
	if (ret < 0) {
		json_decref(merged);
		goto out;
	}
	json_decref(s->doc);
	s->doc = merged;
out:
	pthread_mutex_unlock(&s->lock);
	json_decref(patch);
	return ret;
}

char *mmds_store_dump(struct mmds_store *s)
{
	char *text;

	pthread_mutex_lock(&s->lock);
	text = s->doc != NULL ? json_dumps(s->doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
			      : strdup("{}");
	pthread_mutex_unlock(&s->lock);
	return text;
}

/* array_index: an RFC 6901 array index (no leading zero, no sign) below (size), or -1. */
static long array_index(const char *seg, size_t len, size_t size)
{
	size_t v = 0;

	if (len == 0 || (len > 1 && seg[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return -1;
		v = v * DEC_BASE + (size_t)(seg[i] - '0');
		if (v >= size)
			return -1;
	}
	return (long)v;
}

/*
 * step: the child of (v) named by the raw pointer segment (seg, len), with
 * "~1" -> '/' and "~0" -> '~' undone into (key); NULL when absent.
 */
static json_t *step(json_t *v, const char *seg, size_t len, char *key)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		if (seg[i] == '~' && i + 1 < len && (seg[i + 1] == '0' || seg[i + 1] == '1')) {
			key[k++] = seg[i + 1] == '1' ? '/' : '~';
			i++;
		} else if (seg[i] == '~') {
			return NULL; /* an escape RFC 6901 does not define */
		} else {
			key[k++] = seg[i];
		}
	}
	if (json_is_object(v))
		return json_object_getn(v, key, k);
	if (json_is_array(v)) {
		long idx = array_index(key, k, json_array_size(v));
		return idx < 0 ? NULL : json_array_get(v, (size_t)idx);
	}
	return NULL;
}

/* find: the value at (path, len) in (root) (may be NULL: JSON null), or NULL. */
static json_t *find(json_t *root, const char *path, size_t len, char *key)
{
	json_t *v = root != NULL ? root : json_null();
	size_t i = 0;

	/* Squeeze runs of '/', drop one trailing '/' (Firecracker's sanitize_uri). */
	while (i < len) {
		while (i < len && path[i] == '/')
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		v = step(v, path + start, i - start, key);
		if (v == NULL)
			return NULL;
	}
	return v;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* imds_listing: an object's keys, sorted, one per line, '/' after objects. */
static char *imds_listing(json_t *obj, size_t *out_len)
{
	size_t n = json_object_size(obj), total = 0, k = 0;
	const char **keys = calloc(n > 0 ? n : 1, sizeof(*keys));
	const char *key;
	json_t *v;
	char *out, *p;

	if (keys == NULL)
		return NULL;
	json_object_foreach(obj, key, v)
	{
		keys[k++] = key;
		total += strlen(key) + 2; /* '/' and '\n' at most */
	}
	qsort((void *)keys, n, sizeof(*keys), cmp_keys);
	out = p = malloc(total + 1);
	if (out == NULL) {
		free((void *)keys);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(keys[i]);
		if (i > 0)
			*p++ = '\n';
		memcpy(p, keys[i], kl);
		p += kl;
		if (json_is_object(json_object_get(obj, keys[i])))
			*p++ = '/';
	}
	*p = '\0';
	*out_len = (size_t)(p - out);
	free((void *)keys);
	return out;
}

enum mmds_lookup mmds_store_lookup(struct mmds_store *s, const char *path, size_t len,
				   bool want_json, char **out, size_t *out_len, bool *as_json)
{
	enum mmds_lookup ret = MMDS_LOOKUP_OK;
	char *key = malloc(len + 1);
	json_t *v;

	*out = NULL;
	*out_len = 0;
	if (key == NULL)
		return MMDS_LOOKUP_NOMEM;
	pthread_mutex_lock(&s->lock);
	*as_json = want_json && !s->imds_compat;
	v = find(s->doc, path, len, key);
	if (v == NULL) {
		ret = MMDS_LOOKUP_NOT_FOUND;
	} else if (*as_json) {
		*out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		*out_len = *out != NULL ? strlen(*out) : 0;
	} else if (json_is_object(v)) {
		*out = imds_listing(v, out_len);
	} else if (json_is_string(v)) {
		*out_len = json_string_length(v);
		*out = malloc(*out_len + 1);
		if (*out != NULL) {
			memcpy(*out, json_string_value(v), *out_len);
			(*out)[*out_len] = '\0';
		}
	} else {
		ret = MMDS_LOOKUP_UNSUPPORTED;
	}
	pthread_mutex_unlock(&s->lock);
	free(key);
	if (ret == MMDS_LOOKUP_OK && *out == NULL)
		ret = MMDS_LOOKUP_NOMEM;
	return ret;
}

int mmds_store_issue_token(struct mmds_store *s, uint64_t ttl_s, char out[MMDS_TOKEN_TEXT])
{
	uint64_t now = mmds_store_now_ms(s);

	pthread_mutex_lock(&s->lock);
	int ret = mmds_tokens_issue(&s->tokens, ttl_s, now, out);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

bool mmds_store_token_valid(struct mmds_store *s, const char *text, size_t len)
{
	uint64_t now = mmds_store_now_ms(s);

	pthread_mutex_lock(&s->lock);
	bool ok = mmds_tokens_valid(&s->tokens, text, len, now);
	pthread_mutex_unlock(&s->lock);
	return ok;
}
