// SPDX-License-Identifier: Apache-2.0
/* config_json.c: Firecracker's JSON bodies and config file <-> struct vm_config (jansson). */
#include "config_json.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_config_json.h"
#include "json_util.h"
#include "kernel_cmdline.h"
#include "layout.h"
#include "resources.h"

#define FILE_MAX (1024L * 1024) /* a config file larger than this is refused */

/* One parse: where errors go and the JSON path of what is being read. */
struct ctx {
	struct vm_config *cfg;
	char *err;
	size_t errsz;
	char path[256]; /* "drives[1].rate_limiter"; "" at the top of a body */
	char fail_path[256];
};

/* ------------------------------------------------------------ strings */

/*
 * A parse works on a deep copy of the config (config_copy) and replaces the
 * original only when the whole body or document is good, so a failed one
 * changes nothing; every string the config holds is its own (config.h).
 */

/* commit: keep (copy) as (*cfg) when the parse went well (ret 0), else drop it. */
static int commit(struct vm_config *cfg, struct vm_config *copy, int ret)
{
	if (ret < 0) {
		config_free(copy);
		return ret;
	}
	config_free(cfg);
	*cfg = *copy;
	return 0;
}

/* ------------------------------------------------------------ errors */

__attribute__((format(printf, 3, 4))) static void report(struct ctx *c, const char *field,
							 const char *fmt, ...)
{
	char msg[CONFIG_JSON_ERR_MAX];
	char where[320];
	va_list ap;

	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (field != NULL && c->path[0] != '\0')
		snprintf(where, sizeof(where), "%s.%s", c->path, field);
	else if (field != NULL)
		snprintf(where, sizeof(where), "%s", field);
	else
		snprintf(where, sizeof(where), "%s", c->path);
	snprintf(c->fail_path, sizeof(c->fail_path), "%.255s", where);
	if (where[0] != '\0')
		snprintf(c->err, c->errsz, "%s: %s", where, msg);
	else
		snprintf(c->err, c->errsz, "%s", msg);
}

/* fail: report an error naming (field) and evaluate to -EINVAL. */
#define fail(...) (report(__VA_ARGS__), -EINVAL)

/* push/pop: descend into (name) of the JSON path for messages. */
static size_t push(struct ctx *c, const char *name, long idx)
{
	return json_path_push(c->path, sizeof(c->path), name, idx);
}

static void pop(struct ctx *c, size_t len)
{
	json_path_pop(c->path, len);
}

/* check_keys: every key of (obj) is in (allowed) (NULL-terminated). */
static int check_keys(struct ctx *c, json_t *obj, const char *const *allowed)
{
	char list[256];
	const char *key = json_unknown_key(obj, allowed, list, sizeof(list));

	return key == NULL ? 0 : fail(c, key, "unknown field (expected one of: %s)", list);
}

/* get: (key) of (obj), NULL when absent or null (and then an error if required). */
static int get(struct ctx *c, json_t *obj, const char *key, bool required, json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = (v == NULL || json_is_null(v)) ? NULL : v;
	if (*out == NULL && required)
		return fail(c, key, "missing required field");
	return 0;
}

static int get_string(struct ctx *c, json_t *obj, const char *key, bool required, const char **out)
{
	json_t *v;
	int ret = get(c, obj, key, required, &v);

	if (ret != 0 || v == NULL)
		return ret;
	if (!json_is_string(v))
		return fail(c, key, "expected a string, got %s", json_kind(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, key, "a string with a NUL byte");
	*out = json_string_value(v);
	return 0;
}

static int get_bool(struct ctx *c, json_t *obj, const char *key, bool required, bool *out)
{
	json_t *v;
	int ret = get(c, obj, key, required, &v);

	if (ret != 0 || v == NULL)
		return ret;
	if (!json_is_boolean(v))
		return fail(c, key, "expected a boolean, got %s", json_kind(v));
	*out = json_is_true(v);
	return 0;
}

static int get_u64(struct ctx *c, json_t *obj, const char *key, bool required, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	json_t *v;
	int ret = get(c, obj, key, required, &v);

	if (ret != 0 || v == NULL)
		return ret;
	if (!json_is_integer(v))
		return fail(c, key, "expected an integer, got %s", json_kind(v));
	json_int_t i = json_integer_value(v);
	if (i < 0)
		return fail(c, key, "%lld is out of range: it cannot be negative", (long long)i);
	if ((uint64_t)i < min || (uint64_t)i > max)
		return fail(c, key, "%lld is out of range (%llu to %llu)", (long long)i,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

/* get_object: (key) must be an object when present. */
static int get_object(struct ctx *c, json_t *obj, const char *key, bool required, json_t **out)
{
	int ret = get(c, obj, key, required, out);

	if (ret == 0 && *out != NULL && !json_is_object(*out))
		return fail(c, key, "expected an object, got %s", json_kind(*out));
	return ret;
}

static int path_string(struct ctx *c, json_t *obj, const char *key, bool required, const char **out)
{
	const char *s = NULL;
	int ret = get_string(c, obj, key, required, &s);

	if (ret != 0)
		return ret;
	if (s == NULL)
		return required ? fail(c, key, "missing required field") : 0;
	if (s[0] == '\0')
		return fail(c, key, "an empty path");
	if (strlen(s) >= 4096)
		return fail(c, key, "a path longer than 4095 bytes");
	*out = s;
	return 0;
}

/* device ids: Firecracker allows alphanumerics and '_'. */
static int check_id(struct ctx *c, const char *key, const char *id, size_t max)
{
	size_t n = strlen(id);

	if (n == 0 || n > max)
		return fail(c, key, "'%s' must be 1 to %zu characters", id, max);
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return fail(c, key, "'%s' may hold only alphanumeric characters and '_'",
				    id);
	}
	return 0;
}

/*
 * get_choice: string field (key) naming one of (names) (NULL-terminated);
 * stores its index, or -1 when the field is absent and not required. The
 * error lists the names.
 */
static int get_choice(struct ctx *c, json_t *obj, const char *key, bool required,
		      const char *const names[], int *index)
{
	const char *value = NULL;
	char list[128] = "";
	int ret = get_string(c, obj, key, required, &value);

	*index = -1;
	if (ret != 0 || value == NULL)
		return ret;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(value, names[i]) == 0) {
			*index = i;
			return 0;
		}
	}
	for (int i = 0; names[i] != NULL; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
	}
	return fail(c, key, "'%s' is not one of %s", value, list);
}

/*
 * body_id: the body's (key) id: present, valid, and equal to the {id} in
 * the URL when there is one (path_id).
 */
static int body_id(struct ctx *c, json_t *root, const char *key, const char *path_id, size_t max,
		   const char **id)
{
	int ret = get_string(c, root, key, true, id);

	if (ret == 0 && *id == NULL)
		ret = fail(c, key, "missing");
	if (ret == 0)
		ret = check_id(c, key, *id, max);
	if (ret == 0 && path_id != NULL && strcmp(path_id, *id) != 0)
		ret = fail(c, key, "'%s' does not match the id in the path ('%s')", *id, path_id);
	return ret;
}

/* loads: parse a request body; it must be one JSON object. */
static json_t *loads(struct ctx *c, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *root;

	c->err[0] = '\0';
	if (len == 0) {
		report(c, NULL, "the request needs a JSON body");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		report(c, NULL, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		       jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		report(c, NULL, "the body must be a JSON object, got %s", json_kind(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ------------------------------------------------------------ sections */

static int token_bucket(struct ctx *c, json_t *obj, const char *key, struct rate_bucket *b)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	json_t *o;
	int ret = get_object(c, obj, key, false, &o);

	memset(b, 0, sizeof(*b));
	if (ret != 0 || o == NULL)
		return ret;
	size_t mark = push(c, key, -1);
	ret = check_keys(c, o, keys);
	if (ret == 0)
		ret = get_u64(c, o, "size", true, 0, INT64_MAX, &b->size);
	if (ret == 0)
		ret = get_u64(c, o, "one_time_burst", false, 0, INT64_MAX, &b->one_time_burst);
	if (ret == 0)
		ret = get_u64(c, o, "refill_time", true, 0, INT64_MAX, &b->refill_time);
	pop(c, mark);
	b->set = ret == 0;
	return ret;
}

static int rate_limiter(struct ctx *c, json_t *obj, const char *key, struct rate_limiter *rl,
			bool *present)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	json_t *o;
	int ret = get_object(c, obj, key, false, &o);

	memset(rl, 0, sizeof(*rl));
	if (present != NULL)
		*present = o != NULL;
	if (ret != 0 || o == NULL)
		return ret;
	size_t mark = push(c, key, -1);
	ret = check_keys(c, o, keys);
	if (ret == 0)
		ret = token_bucket(c, o, "bandwidth", &rl->bandwidth);
	if (ret == 0)
		ret = token_bucket(c, o, "ops", &rl->ops);
	pop(c, mark);
	return ret;
}

/* resource_error: a validator's verdict (ret, e) in the document's words. */
static int resource_error(struct ctx *c, int ret, const struct res_error *e)
{
	return ret == 0 ? 0 : fail(c, e->field, "%s", e->msg);
}

static int machine(struct ctx *c, json_t *o, bool patch)
{
	static const char *const keys[] = {
	    "vcpu_count",   "mem_size_mib", "smt", "track_dirty_pages",
	    "cpu_template", "huge_pages",   NULL};
	struct vm_config *cfg = c->cfg;
	struct res_machine m = {.vcpu_count = cfg->vcpus, .mem_size_mib = cfg->mem_mib};
	struct res_error e;
	int ret = check_keys(c, o, keys);

	/* Firecracker refuses a PATCH that names no field: it would change nothing. */
	if (ret == 0 && patch && json_object_size(o) == 0)
		return fail(c, NULL, "Empty PATCH request: name at least one field to change");
	/* A PUT sets smt and track_dirty_pages afresh; a PATCH keeps what it leaves out. */
	if (patch) {
		m.smt = cfg->smt;
		m.track_dirty_pages = cfg->track_dirty_pages;
		m.huge_pages = res_huge_pages_name(cfg->huge_pages);
	}
	if (ret == 0)
		ret = get_u64(c, o, "vcpu_count", !patch, 0, UINT64_MAX, &m.vcpu_count);
	if (ret == 0)
		ret = get_u64(c, o, "mem_size_mib", !patch, 0, UINT64_MAX, &m.mem_size_mib);
	if (ret == 0)
		ret = get_bool(c, o, "smt", false, &m.smt);
	if (ret == 0)
		ret = get_bool(c, o, "track_dirty_pages", false, &m.track_dirty_pages);
	if (ret == 0)
		ret = get_string(c, o, "cpu_template", false, &m.cpu_template);
	if (ret == 0)
		ret = get_string(c, o, "huge_pages", false, &m.huge_pages);
	if (ret != 0)
		return ret;
	return resource_error(c, res_machine_set(cfg, &m, &e), &e);
}

/* PUT /cpu-config, the "cpu-config" section: a custom CPU template (cpu_config_json.h). */
static int cpu_config(struct ctx *c, json_t *o)
{
	struct cpu_config_error e;

	if (cpu_config_json_parse(o, &c->cfg->custom_cpu, &e) < 0)
		return fail(c, e.field[0] ? e.field : NULL, "%s", e.msg);
	c->cfg->cpu_template = CPU_TEMPLATE_CUSTOM;
	return 0;
}

static int boot_source(struct ctx *c, json_t *o)
{
	static const char *const keys[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
	struct res_boot_source b = {0};
	struct res_error e;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get_string(c, o, "kernel_image_path", true, &b.kernel_image_path);
	if (ret == 0)
		ret = get_string(c, o, "initrd_path", false, &b.initrd_path);
	if (ret == 0)
		ret = get_string(c, o, "boot_args", false, &b.boot_args);
	if (ret != 0)
		return ret;
	ret = res_boot_source_set(c->cfg, &b, &e);
	if (ret == 0)
		c->cfg->boot_origin = CONFIG_FROM_JSON;
	return resource_error(c, ret, &e);
}

static int drive(struct ctx *c, json_t *o, const char *path_id)
{
	struct res_error e;
	static const char *const keys[] = {
	    "drive_id",	  "path_on_host", "is_root_device", "is_read_only", "partuuid",
	    "cache_type", "io_engine",	  "rate_limiter",   "socket",	    NULL};
	struct vm_config *cfg = c->cfg;
	struct disk_config d = {0};
	const char *id = NULL, *path = NULL, *partuuid = NULL;
	const char *sock = NULL;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = body_id(c, o, "drive_id", path_id, CONFIG_DISK_ID_MAX, &id);
	if (ret == 0)
		ret = get_string(c, o, "socket", false, &sock);
	if (ret == 0 && sock != NULL)
		ret = fail(c, "socket", "vhost-user block devices are not supported");
	if (ret == 0)
		ret = path_string(c, o, "path_on_host", true, &path);
	if (ret == 0)
		ret = get_bool(c, o, "is_root_device", true, &d.is_root);
	if (ret == 0)
		ret = get_bool(c, o, "is_read_only", false, &d.read_only);
	if (ret == 0)
		ret = get_string(c, o, "partuuid", false, &partuuid);
	if (ret == 0 && partuuid != NULL) {
		size_t n = strlen(partuuid);
		bool ok = n > 0 && n <= CONFIG_PARTUUID_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = (partuuid[i] >= '0' && partuuid[i] <= '9') ||
			     (partuuid[i] >= 'a' && partuuid[i] <= 'z') ||
			     (partuuid[i] >= 'A' && partuuid[i] <= 'Z') || partuuid[i] == '-';
		if (!ok)
			ret = fail(c, "partuuid",
				   "'%s' must be 1 to %d alphanumeric characters or '-'", partuuid,
				   CONFIG_PARTUUID_MAX);
		else
			strcpy(d.partuuid, partuuid);
	}
	/* Firecracker's names, in the order of enum disk_cache / enum disk_engine. */
	static const char *const caches[] = {"Unsafe", "Writeback", NULL};
	static const char *const engines[] = {"Sync", "Async", NULL};
	int choice = -1;
	if (ret == 0)
		ret = get_choice(c, o, "cache_type", false, caches, &choice);
	if (ret == 0 && choice >= 0)
		d.cache = choice == 0 ? DISK_CACHE_UNSAFE : DISK_CACHE_WRITEBACK;
	if (ret == 0)
		ret = get_choice(c, o, "io_engine", false, engines, &choice);
	if (ret == 0 && choice >= 0)
		d.engine = choice == 0 ? DISK_ENGINE_SYNC : DISK_ENGINE_IO_URING;
	if (ret == 0)
		ret = rate_limiter(c, o, "rate_limiter", &d.limiter, NULL);
	if (ret != 0)
		return ret;

	strcpy(d.id, id);
	d.origin = CONFIG_FROM_JSON;
	d.path = path;
	return resource_error(c, res_drive_add(cfg, &d, RES_REPLACE, &e), &e);
}

static int network(struct ctx *c, json_t *o, const char *path_id)
{
	struct res_error e;
	static const char *const keys[] = {"iface_id",	      "host_dev_name",	 "guest_mac", "mtu",
					   "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct vm_config *cfg = c->cfg;
	struct net_config n = {0};
	const char *id = NULL, *dev = NULL, *mac = NULL;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = body_id(c, o, "iface_id", path_id, CONFIG_ID_MAX, &id);
	if (ret == 0)
		ret = get_string(c, o, "host_dev_name", true, &dev);
	if (ret == 0)
		ret = get_string(c, o, "guest_mac", false, &mac);
	if (ret == 0 && mac != NULL) {
		if (res_parse_mac(mac, n.guest_mac) < 0)
			ret = fail(c, "guest_mac", "'%s' is not a MAC address xx:xx:xx:xx:xx:xx",
				   mac);
		n.has_mac = true;
	}
	/* The range is the validator's (res_net_add); null is "not set". */
	n.mtu = UINT64_MAX;
	if (ret == 0)
		ret = get_u64(c, o, "mtu", false, 0, UINT64_MAX, &n.mtu);
	n.has_mtu = n.mtu != UINT64_MAX;
	if (!n.has_mtu)
		n.mtu = 0;
	if (ret == 0)
		ret = rate_limiter(c, o, "rx_rate_limiter", &n.rx_limiter, NULL);
	if (ret == 0)
		ret = rate_limiter(c, o, "tx_rate_limiter", &n.tx_limiter, NULL);
	if (ret != 0)
		return ret;

	strcpy(n.iface_id, id);
	n.origin = CONFIG_FROM_JSON;
	n.host_dev_name = dev;
	return resource_error(c, res_net_add(cfg, &n, RES_REPLACE, &e), &e);
}

static int vsock(struct ctx *c, json_t *o)
{
	struct res_error e;
	static const char *const keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	struct vm_config *cfg = c->cfg;
	uint64_t cid = 0;
	const char *uds = NULL, *id = NULL;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get_u64(c, o, "guest_cid", true, 0, UINT32_MAX,
			      &cid); /* res_vsock_set: which */
	if (ret == 0)
		ret = path_string(c, o, "uds_path", true, &uds);
	if (ret == 0)
		ret = get_string(c, o, "vsock_id", false, &id);
	if (ret == 0 && id != NULL && (id[0] == '\0' || strlen(id) > CONFIG_ID_MAX))
		ret = fail(c, "vsock_id", "'%s' must be 1 to %d characters", id, CONFIG_ID_MAX);
	if (ret != 0)
		return ret;
	struct vsock_config v = {.guest_cid = (uint32_t)cid, .origin = CONFIG_FROM_JSON};
	if (id != NULL)
		strcpy(v.vsock_id, id);
	v.uds_path = uds;
	return resource_error(c, res_vsock_set(cfg, &v, RES_REPLACE, &e), &e);
}

static int entropy(struct ctx *c, json_t *o)
{
	struct res_error e;
	static const char *const keys[] = {"rate_limiter", NULL};
	struct vm_config *cfg = c->cfg;
	struct rate_limiter rl;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = rate_limiter(c, o, "rate_limiter", &rl, NULL);
	if (ret != 0)
		return ret;
	ret = res_entropy_set(cfg, &rl, RES_REPLACE, &e);
	if (ret == 0)
		cfg->rng_origin = CONFIG_FROM_JSON;
	return resource_error(c, ret, &e);
}

static int serial(struct ctx *c, json_t *o)
{
	static const char *const keys[] = {"serial_out_path", "rate_limiter", NULL};
	struct serial_config s = {0};
	struct res_error e;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get_string(c, o, "serial_out_path", false, &s.out_path);
	if (ret == 0)
		ret = token_bucket(c, o, "rate_limiter", &s.limiter);
	if (ret != 0)
		return ret;
	return resource_error(c, res_serial_set(c->cfg, &s, &e), &e);
}

static int logger(struct ctx *c, json_t *o)
{
	static const char *const keys[] = {"log_path",	      "level",	"show_level",
					   "show_log_origin", "module", NULL};
	struct res_logger l = {0};
	struct res_error e;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get_string(c, o, "log_path", false, &l.log_path);
	if (ret == 0)
		ret = get_string(c, o, "level", false, &l.level);
	if (ret == 0)
		ret = get_bool(c, o, "show_level", false, &l.show_level);
	if (ret == 0)
		ret = get_bool(c, o, "show_log_origin", false, &l.show_log_origin);
	if (ret == 0)
		ret = get_string(c, o, "module", false, &l.module);
	if (ret != 0)
		return ret;
	return resource_error(c, res_logger_set(c->cfg, &l, &e), &e);
}

static int metrics(struct ctx *c, json_t *o)
{
	static const char *const keys[] = {"metrics_path", NULL};
	struct res_metrics m = {0};
	struct res_error e;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get_string(c, o, "metrics_path", true, &m.metrics_path);
	if (ret != 0)
		return ret;
	return resource_error(c, res_metrics_set(c->cfg, &m, &e), &e);
}

/* mmds_config: PUT /mmds/config, the "mmds-config" section (Firecracker's MmdsConfig). */
static int mmds_config(struct ctx *c, json_t *o)
{
	static const char *const keys[] = {"network_interfaces", "version", "ipv4_address",
					   "imds_compat", NULL};
	static const char *const versions[] = {"V1", "V2", NULL};
	struct mmds_config m = {.ipv4 = CONFIG_MMDS_DEFAULT_IPV4};
	const char *ip = NULL;
	struct in_addr addr;
	struct res_error e;
	json_t *list, *v;
	int version = -1;
	size_t i;
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get(c, o, "network_interfaces", true, &list);
	if (ret == 0 && !json_is_array(list))
		ret = fail(c, "network_interfaces", "expected an array, got %s", json_kind(list));
	if (ret == 0 && json_array_size(list) > CONFIG_MAX_DEVICES)
		ret = fail(c, "network_interfaces", "at most %d interfaces", CONFIG_MAX_DEVICES);
	if (ret != 0)
		return ret;
	json_array_foreach(list, i, v)
	{
		const char *id = json_is_string(v) ? json_string_value(v) : NULL;
		if (id == NULL || strlen(id) != json_string_length(v) || id[0] == '\0' ||
		    strlen(id) > CONFIG_ID_MAX)
			return fail(c, "network_interfaces", "item %zu is not an interface id", i);
		strcpy(m.ifaces[m.nifaces++], id);
	}
	ret = get_choice(c, o, "version", false, versions, &version);
	if (ret == 0)
		ret = get_string(c, o, "ipv4_address", false, &ip);
	if (ret == 0 && ip != NULL) {
		if (inet_pton(AF_INET, ip, &addr) != 1)
			ret = fail(c, "ipv4_address", "'%s' is not an IPv4 address", ip);
		m.ipv4 = ntohl(addr.s_addr);
	}
	if (ret == 0)
		ret = get_bool(c, o, "imds_compat", false, &m.imds_compat);
	if (ret != 0)
		return ret;
	m.v2 = version == 1;
	return resource_error(c, res_mmds_set(c->cfg, &m, &e), &e);
}

static int resource(struct ctx *c, enum config_resource res, json_t *o, const char *path_id)
{
	switch (res) {
	case CONFIG_RES_MACHINE:
		return machine(c, o, false);
	case CONFIG_RES_MACHINE_PATCH:
		return machine(c, o, true);
	case CONFIG_RES_BOOT_SOURCE:
		return boot_source(c, o);
	case CONFIG_RES_DRIVE:
		return drive(c, o, path_id);
	case CONFIG_RES_NET:
		return network(c, o, path_id);
	case CONFIG_RES_VSOCK:
		return vsock(c, o);
	case CONFIG_RES_ENTROPY:
		return entropy(c, o);
	case CONFIG_RES_LOGGER:
		return logger(c, o);
	case CONFIG_RES_METRICS:
		return metrics(c, o);
	case CONFIG_RES_CPU_CONFIG:
		return cpu_config(c, o);
	case CONFIG_RES_MMDS_CONFIG:
		return mmds_config(c, o);
	case CONFIG_RES_SERIAL:
		return serial(c, o);
	}
	return fail(c, NULL, "unknown resource");
}

/* ------------------------------------------------------------ entry points */

int config_json_put(struct vm_config *cfg, enum config_resource res, const char *path_id,
		    const char *body, size_t len, char *err, size_t errsz)
{
	err[0] = '\0';
	struct vm_config copy;
	struct ctx c = {.cfg = &copy, .err = err, .errsz = errsz};
	json_t *root = loads(&c, body, len);
	int ret;

	if (root == NULL)
		return -EINVAL;
	if (config_copy(&copy, cfg) < 0) {
		json_decref(root);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	ret = resource(&c, res, root, path_id);
	json_decref(root);
	return commit(cfg, &copy, ret);
}

/*
 * body_object: a request body that must be one JSON object with only
 * (keys): 0 with (*root) to release (json_decref takes NULL too), or -EINVAL.
 */
static int body_object(struct ctx *c, const char *body, size_t len, const char *const *keys,
		       json_t **root)
{
	*root = loads(c, body, len);
	return *root != NULL ? check_keys(c, *root, keys) : -EINVAL;
}

/* parse_choice: a body that is exactly {"<key>": "<one of names>"}. */
static int parse_choice(const char *body, size_t len, const char *key, const char *const names[],
			unsigned int *index, char *err, size_t errsz)
{
	const char *const keys[] = {key, NULL};
	struct ctx c = {.err = err, .errsz = errsz};
	json_t *root;
	int choice = -1;
	int ret;

	err[0] = '\0';
	ret = body_object(&c, body, len, keys, &root);
	if (ret == 0)
		ret = get_choice(&c, root, key, true, names, &choice);
	if (ret == 0 && choice < 0)
		ret = fail(&c, key, "missing");
	if (ret == 0)
		*index = (unsigned int)choice;
	json_decref(root);
	return ret;
}

int config_json_action(const char *body, size_t len, enum config_action_type *out, char *err,
		       size_t errsz)
{
	static const char *const names[] = {"InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					    NULL};
	static const enum config_action_type types[] = {CONFIG_ACTION_INSTANCE_START,
							CONFIG_ACTION_SEND_CTRL_ALT_DEL,
							CONFIG_ACTION_FLUSH_METRICS};
	unsigned int i;
	int ret = parse_choice(body, len, "action_type", names, &i, err, errsz);

	if (ret == 0)
		*out = types[i];
	return ret;
}

int config_json_vm_state(const char *body, size_t len, bool *paused, char *err, size_t errsz)
{
	static const char *const names[] = {"Paused", "Resumed", NULL};
	unsigned int i;
	int ret = parse_choice(body, len, "state", names, &i, err, errsz);

	if (ret == 0)
		*paused = i == 0;
	return ret;
}

/* copy_string: a parsed string into a fixed buffer, or a clear error when it does not fit. */
static int copy_string(struct ctx *c, const char *key, const char *s, char *out, size_t size)
{
	if (strlen(s) >= size)
		return fail(c, key, "longer than %zu bytes", size - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int config_json_snapshot_create(const char *body, size_t len, struct snapshot_create_body *out,
				char *err, size_t errsz)
{
	static const char *const keys[] = {"snapshot_type", "snapshot_path", "mem_file_path",
					   "version", NULL};
	static const char *const types[] = {"Full", "Diff", NULL};
	struct ctx c = {.err = err, .errsz = errsz};
	const char *snap = NULL, *mem = NULL, *version = NULL;
	int type = -1;

	json_t *root;

	err[0] = '\0';
	memset(out, 0, sizeof(*out));
	int ret = body_object(&c, body, len, keys, &root);
	if (ret == 0)
		ret = get_choice(&c, root, "snapshot_type", false, types, &type);
	if (ret == 0)
		ret = path_string(&c, root, "snapshot_path", true, &snap);
	if (ret == 0)
		ret = path_string(&c, root, "mem_file_path", true, &mem);
	/* Firecracker before 1.5 took a target version; there is only one here. */
	if (ret == 0)
		ret = get_string(&c, root, "version", false, &version);
	if (ret == 0 && strcmp(snap, mem) == 0)
		ret = fail(&c, "mem_file_path", "the same file as snapshot_path");
	if (ret == 0) {
		out->diff = type == 1;
		snprintf(out->snapshot_path, sizeof(out->snapshot_path), "%s", snap);
		snprintf(out->mem_file_path, sizeof(out->mem_file_path), "%s", mem);
	}
	json_decref(root);
	return ret;
}

/* mem_backend: {"backend_type": "File"|"Uffd", "backend_path": ...}. */
static int mem_backend(struct ctx *c, json_t *o, struct snapshot_load_body *out)
{
	static const char *const keys[] = {"backend_type", "backend_path", NULL};
	static const char *const types[] = {"File", "Uffd", NULL};
	const char *path = NULL;
	int type = -1;
	size_t at = push(c, "mem_backend", -1);
	int ret = check_keys(c, o, keys);

	if (ret == 0)
		ret = get_choice(c, o, "backend_type", true, types, &type);
	if (ret == 0)
		ret = path_string(c, o, "backend_path", true, &path);
	if (ret == 0)
		ret = copy_string(c, "backend_path", path, out->mem_path, sizeof(out->mem_path));
	out->uffd = type == 1;
	pop(c, at);
	return ret;
}

/* net_override: one of network_overrides: {"iface_id", "host_dev_name"}. */
static int net_override(struct ctx *c, json_t *o, unsigned int i, struct snapshot_load_body *out)
{
	static const char *const keys[] = {"iface_id", "host_dev_name", NULL};
	const char *id = NULL, *tap = NULL;
	size_t at = push(c, "network_overrides", i);
	int ret = json_is_object(o) ? check_keys(c, o, keys)
				    : fail(c, NULL, "expected an object, got %s", json_kind(o));

	if (ret == 0)
		ret = get_string(c, o, "iface_id", true, &id);
	if (ret == 0)
		ret = check_id(c, "iface_id", id, CONFIG_ID_MAX);
	if (ret == 0)
		ret = get_string(c, o, "host_dev_name", true, &tap);
	if (ret == 0 && tap[0] == '\0')
		ret = fail(c, "host_dev_name", "an empty name");
	if (ret == 0)
		ret = copy_string(c, "host_dev_name", tap, out->nets[i].host_dev_name,
				  sizeof(out->nets[i].host_dev_name));
	if (ret == 0)
		snprintf(out->nets[i].iface_id, sizeof(out->nets[i].iface_id), "%s", id);
	pop(c, at);
	return ret;
}

static int load_overrides(struct ctx *c, json_t *root, struct snapshot_load_body *out)
{
	json_t *nets = NULL, *vsock = NULL;
	const char *uds = NULL;
	int ret = get(c, root, "network_overrides", false, &nets);

	if (ret == 0 && nets != NULL && !json_is_array(nets))
		ret = fail(c, "network_overrides", "expected an array, got %s", json_kind(nets));
	if (ret == 0 && nets != NULL && json_array_size(nets) > CONFIG_MAX_DEVICES)
		ret = fail(c, "network_overrides", "more than %d entries", CONFIG_MAX_DEVICES);
	for (size_t i = 0; ret == 0 && nets != NULL && i < json_array_size(nets); i++) {
		ret = net_override(c, json_array_get(nets, i), (unsigned int)i, out);
		out->nnets = (unsigned int)i + 1;
	}
	if (ret == 0)
		ret = get_object(c, root, "vsock_override", false, &vsock);
	if (ret == 0 && vsock != NULL) {
		static const char *const keys[] = {"uds_path", NULL};
		size_t at = push(c, "vsock_override", -1);
		ret = check_keys(c, vsock, keys);
		if (ret == 0)
			ret = path_string(c, vsock, "uds_path", true, &uds);
		if (ret == 0)
			ret =
			    copy_string(c, "uds_path", uds, out->vsock_uds, sizeof(out->vsock_uds));
		out->has_vsock_uds = ret == 0;
		pop(c, at);
	}
	return ret;
}

int config_json_snapshot_load(const char *body, size_t len, struct snapshot_load_body *out,
			      char *err, size_t errsz)
{
	static const char *const keys[] = {
	    "snapshot_path",	     "mem_file_path",	  "mem_backend",
	    "enable_diff_snapshots", "track_dirty_pages", "resume_vm",
	    "network_overrides",     "vsock_override",	  NULL};
	struct ctx c = {.err = err, .errsz = errsz};
	const char *snap = NULL, *mem = NULL;
	json_t *backend = NULL;
	bool diff = false;

	json_t *root;

	err[0] = '\0';
	memset(out, 0, sizeof(*out));
	int ret = body_object(&c, body, len, keys, &root);
	if (ret == 0)
		ret = path_string(&c, root, "snapshot_path", true, &snap);
	if (ret == 0)
		ret = copy_string(&c, "snapshot_path", snap, out->snapshot_path,
				  sizeof(out->snapshot_path));
	if (ret == 0)
		ret = path_string(&c, root, "mem_file_path", false, &mem);
	if (ret == 0)
		ret = get_object(&c, root, "mem_backend", false, &backend);
	if (ret == 0 && mem != NULL && backend != NULL)
		ret = fail(&c, "mem_backend", "give mem_backend or mem_file_path, not both");
	else if (ret == 0 && mem == NULL && backend == NULL)
		ret = fail(&c, "mem_backend", "missing: give mem_backend (or mem_file_path)");
	else if (ret == 0 && mem != NULL)
		ret = copy_string(&c, "mem_file_path", mem, out->mem_path, sizeof(out->mem_path));
	else if (ret == 0)
		ret = mem_backend(&c, backend, out);
	/* enable_diff_snapshots is track_dirty_pages' older name. */
	if (ret == 0)
		ret = get_bool(&c, root, "enable_diff_snapshots", false, &diff);
	if (ret == 0)
		ret = get_bool(&c, root, "track_dirty_pages", false, &out->track_dirty_pages);
	out->track_dirty_pages |= diff;
	if (ret == 0)
		ret = get_bool(&c, root, "resume_vm", false, &out->resume_vm);
	if (ret == 0)
		ret = load_overrides(&c, root, out);
	json_decref(root);
	return ret;
}

int config_json_drive_patch(const char *path_id, const char *body, size_t len,
			    struct drive_patch *out, char *err, size_t errsz)
{
	err[0] = '\0';
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	struct ctx c = {.err = err, .errsz = errsz};
	const char *id = NULL, *path = NULL;
	json_t *root;

	memset(out, 0, sizeof(*out));
	int ret = body_object(&c, body, len, keys, &root);
	if (ret == 0)
		ret = body_id(&c, root, "drive_id", path_id, CONFIG_DISK_ID_MAX, &id);
	if (ret == 0)
		ret = path_string(&c, root, "path_on_host", false, &path);
	/*
	 * No access() check here: this runs after boot under the VMM thread's
	 * seccomp filter; the backend's open of the new file is the check.
	 */
	if (ret == 0)
		ret = rate_limiter(&c, root, "rate_limiter", &out->limiter, &out->has_limiter);
	if (ret == 0) {
		strcpy(out->drive_id, id);
		if (path != NULL) {
			out->has_path = true;
			strcpy(out->path, path);
		}
	}
	json_decref(root);
	return ret;
}

int config_json_net_patch(const char *path_id, const char *body, size_t len, struct net_patch *out,
			  char *err, size_t errsz)
{
	err[0] = '\0';
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct ctx c = {.err = err, .errsz = errsz};
	const char *id = NULL;
	json_t *root;

	memset(out, 0, sizeof(*out));
	int ret = body_object(&c, body, len, keys, &root);
	if (ret == 0)
		ret = body_id(&c, root, "iface_id", path_id, CONFIG_ID_MAX, &id);
	if (ret == 0)
		ret = rate_limiter(&c, root, "rx_rate_limiter", &out->rx, &out->has_rx);
	if (ret == 0)
		ret = rate_limiter(&c, root, "tx_rate_limiter", &out->tx, &out->has_tx);
	if (ret == 0)
		strcpy(out->iface_id, id);
	json_decref(root);
	return ret;
}

int config_json_apply_drive_patch(struct vm_config *cfg, unsigned int index,
				  const struct drive_patch *p)
{
	struct disk_config *d = &cfg->disks[index];

	if (p->has_path && config_set_str(&d->path, p->path) < 0)
		return -ENOMEM;
	if (p->has_limiter)
		d->limiter = p->limiter;
	return 0;
}

/* ------------------------------------------------------------ config file */

/*
 * A tiny scanner over text jansson already accepted, to find the line of
 * the value at a JSON path ("drives[1].path_on_host"): jansson reports
 * positions for syntax errors only. It must end on any input, whatever
 * jansson let through: every loop step consumes at least one byte
 * (step_done), and only find() recurses, once per component of our own path.
 */
struct scan {
	const char *p, *end;
	int line;
};

/* step_done: end of one loop step that began at (before): move on if it did not. */
static void step_done(struct scan *s, const char *before)
{
	if (s->p == before && s->p < s->end)
		s->p++;
}

static void ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n')) {
		if (*s->p == '\n')
			s->line++;
		s->p++;
	}
}

/* string: skip a string at s->p; (key, klen) receive its raw contents. */
static void string(struct scan *s, const char **key, size_t *klen)
{
	const char *start = ++s->p;

	while (s->p < s->end && *s->p != '"')
		s->p += (*s->p == '\\' && s->p + 1 < s->end) ? 2 : 1;
	if (key != NULL) {
		*key = start;
		*klen = (size_t)(s->p - start);
	}
	if (s->p < s->end)
		s->p++;
}

/* scalar_end: a byte that ends a number, true, false or null; never NUL (strchr's would). */
static bool scalar_end(char c)
{
	return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* skip_container: skip the object or array at s->p, nested ones by counting, not recursion. */
static void skip_container(struct scan *s)
{
	unsigned long depth = 0;

	while (s->p < s->end) {
		char c = *s->p;
		if (c == '"') {
			string(s, NULL, NULL);
			continue;
		}
		if (c == '\n')
			s->line++;
		s->p++;
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return;
	}
}

static void skip_value(struct scan *s)
{
	ws(s);
	if (s->p >= s->end)
		return;
	if (*s->p == '{' || *s->p == '[')
		skip_container(s);
	else if (*s->p == '"')
		string(s, NULL, NULL);
	else
		while (s->p < s->end && !scalar_end(*s->p))
			s->p++;
}

/* find: the line of the value at (path) from the value at s->p. */
static int find(struct scan *s, const char *path)
{
	ws(s);
	if (*path == '\0' || s->p >= s->end)
		return s->line;
	if (*path == '.')
		path++;
	if (*path == '[') {
		long idx = strtol(path + 1, NULL, 10);
		const char *rest = strchr(path, ']');
		if (*s->p != '[' || rest == NULL)
			return s->line;
		s->p++;
		for (long i = 0;; i++) {
			const char *before;
			ws(s);
			before = s->p;
			if (s->p >= s->end || *s->p == ']')
				return s->line;
			if (i == idx)
				return find(s, rest + 1);
			skip_value(s);
			ws(s);
			if (s->p < s->end && *s->p == ',')
				s->p++;
			step_done(s, before);
		}
	}
	size_t n = strcspn(path, ".[");
	if (*s->p != '{')
		return s->line;
	s->p++;
	for (;;) {
		const char *key, *before;
		size_t klen;
		ws(s);
		before = s->p;
		if (s->p >= s->end || *s->p != '"')
			return s->line;
		string(s, &key, &klen);
		ws(s);
		if (s->p < s->end && *s->p == ':')
			s->p++;
		if (klen == n && memcmp(key, path, n) == 0)
			return find(s, path + n);
		skip_value(s);
		ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
		step_done(s, before);
	}
}

static int line_of(const char *text, size_t len, const char *path)
{
	struct scan s = {.p = text, .end = text + len, .line = 1};

	return find(&s, path);
}

/* section: an optional top-level object, or null. */
static int section(struct ctx *c, json_t *root, const char *key, enum config_resource res)
{
	json_t *o;
	int ret = get_object(c, root, key, false, &o);

	if (ret != 0 || o == NULL)
		return ret;
	size_t mark = push(c, key, -1);
	ret = resource(c, res, o, NULL);
	pop(c, mark);
	return ret;
}

static int array(struct ctx *c, json_t *root, const char *key, enum config_resource res)
{
	json_t *a;
	int ret = get(c, root, key, false, &a);
	size_t i;
	json_t *o;

	if (ret != 0 || a == NULL)
		return ret;
	if (!json_is_array(a))
		return fail(c, key, "expected an array, got %s", json_kind(a));
	json_array_foreach(a, i, o)
	{
		size_t mark = push(c, key, (long)i);
		if (!json_is_object(o))
			ret = fail(c, NULL, "expected an object, got %s", json_kind(o));
		else
			ret = resource(c, res, o, NULL);
		pop(c, mark);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* cpu_config_section: "cpu-config", which a static machine-config.cpu_template excludes. */
static int cpu_config_section(struct ctx *c, json_t *root)
{
	json_t *o = json_object_get(root, "cpu-config");
	enum cpu_template_id set = c->cfg->cpu_template;

	if (o != NULL && !json_is_null(o) && set != CPU_TEMPLATE_NONE && set != CPU_TEMPLATE_CUSTOM)
		return fail(c, "cpu-config",
			    "a custom CPU template and machine-config.cpu_template '%s' exclude "
			    "each other",
			    cpu_template_name(set));
	return section(c, root, "cpu-config", CONFIG_RES_CPU_CONFIG);
}

static int document(struct ctx *c, json_t *root)
{
	static const char *const keys[] = {"boot-source",
					   "drives",
					   "machine-config",
					   "network-interfaces",
					   "vsock",
					   "entropy",
					   "logger",
					   "metrics",
					   "balloon",
					   "mmds-config",
					   "cpu-config",
					   "serial",
					   "pmem",
					   "memory-hotplug",
					   NULL};
	static const char *const unsupported[] = {"balloon", "serial", "pmem", "memory-hotplug",
						  NULL};
	int ret = check_keys(c, root, keys);

	for (const char *const *u = unsupported; ret == 0 && *u != NULL; u++) {
		json_t *v = json_object_get(root, *u);
		if (v != NULL && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
			ret = fail(c, *u, "not supported by ember yet");
	}
	if (ret == 0)
		ret = section(c, root, "logger", CONFIG_RES_LOGGER);
	if (ret == 0)
		ret = section(c, root, "metrics", CONFIG_RES_METRICS);
	if (ret == 0)
		ret = section(c, root, "machine-config", CONFIG_RES_MACHINE);
	if (ret == 0)
		ret = cpu_config_section(c, root);
	if (ret == 0)
		ret = section(c, root, "boot-source", CONFIG_RES_BOOT_SOURCE);
	if (ret == 0)
		ret = array(c, root, "drives", CONFIG_RES_DRIVE);
	if (ret == 0)
		ret = array(c, root, "network-interfaces", CONFIG_RES_NET);
	if (ret == 0) /* after the interfaces it names */
		ret = section(c, root, "mmds-config", CONFIG_RES_MMDS_CONFIG);
	if (ret == 0)
		ret = section(c, root, "vsock", CONFIG_RES_VSOCK);
	if (ret == 0)
		ret = section(c, root, "entropy", CONFIG_RES_ENTROPY);
	return ret;
}

int config_json_load(struct vm_config *cfg, const char *name, const char *text, size_t len,
		     char *err, size_t errsz)
{
	struct vm_config copy;
	char msg[CONFIG_JSON_ERR_MAX];
	struct ctx c = {.cfg = &copy, .err = msg, .errsz = sizeof(msg)};
	json_error_t jerr;
	json_t *root;
	int ret;

	/* JSON text holds no NUL byte, but jansson lets one through after a number. */
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		int line = 1;
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		snprintf(err, errsz, "%s: line %d: invalid JSON: a NUL byte (offset %zu)", name,
			 line, (size_t)(nul - text));
		return -EINVAL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errsz, "%s: line %d column %d: invalid JSON: %s", name, jerr.line,
			 jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errsz, "%s: line 1: the configuration must be a JSON object", name);
		json_decref(root);
		return -EINVAL;
	}
	if (config_copy(&copy, cfg) < 0) {
		json_decref(root);
		snprintf(err, errsz, "%s: out of memory", name);
		return -ENOMEM;
	}
	ret = document(&c, root);
	json_decref(root);
	if (ret < 0)
		snprintf(err, errsz, "%s: line %d: %s", name, line_of(text, len, c.fail_path), msg);
	return commit(cfg, &copy, ret);
}

int config_json_load_file(struct vm_config *cfg, const char *path, char *err, size_t errsz)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text;
	ssize_t n;
	int ret;

	if (fd < 0) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		snprintf(err, errsz, "%s: not a regular file of at most %ld bytes", path, FILE_MAX);
		close(fd);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		close(fd);
		snprintf(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errsz, "%s: short read", path);
		free(text);
		return -EIO;
	}
	ret = config_json_load(cfg, path, text, (size_t)n, err, errsz);
	free(text);
	return ret;
}

/* ------------------------------------------------------------ rendering */

static char *dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *machine_obj(const struct vm_config *cfg)
{
	json_t *o =
	    json_pack("{s:I,s:I,s:b,s:b,s:s}", "vcpu_count", (json_int_t)cfg->vcpus, "mem_size_mib",
		      (json_int_t)cfg->mem_mib, "smt", cfg->smt, "track_dirty_pages",
		      cfg->track_dirty_pages, "huge_pages", res_huge_pages_name(cfg->huge_pages));
	/* Firecracker names a static template here, and "None" for a custom one. */
	if (o != NULL && cfg->cpu_template != CPU_TEMPLATE_NONE)
		json_object_set_new(o, "cpu_template",
				    json_string(cfg->cpu_template == CPU_TEMPLATE_CUSTOM
						    ? "None"
						    : cpu_template_name(cfg->cpu_template)));
	return o;
}

char *config_json_machine(const struct vm_config *cfg)
{
	return dump(machine_obj(cfg));
}

static json_t *bucket_obj(const struct rate_bucket *b)
{
	if (!b->set)
		return json_null();
	return json_pack("{s:I,s:I,s:I}", "size", (json_int_t)b->size, "one_time_burst",
			 (json_int_t)b->one_time_burst, "refill_time", (json_int_t)b->refill_time);
}

static json_t *limiter_obj(const struct rate_limiter *rl)
{
	if (!rl->bandwidth.set && !rl->ops.set)
		return json_null();
	return json_pack("{s:o,s:o}", "bandwidth", bucket_obj(&rl->bandwidth), "ops",
			 bucket_obj(&rl->ops));
}

static json_t *boot_obj(const struct vm_config *cfg)
{
	char cmdline[LAYOUT_CMDLINE_MAX];

	if (cfg->kernel_path == NULL)
		return json_null();
	/* The effective arguments: boot_args (or the default) and guest words. */
	struct kernel_cmdline k;
	kernel_cmdline_init(&k, cfg->cmdline);
	if (kernel_cmdline_render(&k, cfg->guest_args, cfg->nguest_args, cmdline, sizeof(cmdline),
				  NULL) < 0)
		snprintf(cmdline, sizeof(cmdline), "%s",
			 cfg->cmdline ? cfg->cmdline : CONFIG_DEFAULT_CMDLINE);
	return json_pack("{s:s,s:o,s:s}", "kernel_image_path", cfg->kernel_path, "initrd_path",
			 str_or_null(cfg->initrd_path), "boot_args", cmdline);
}

static json_t *drives_arr(const struct vm_config *cfg)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a != NULL && i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		char id[CONFIG_DISK_ID_MAX + 1];
		/* A --disk without id=: name it by position. */
		snprintf(id, sizeof(id), "%s", d->id);
		if (id[0] == '\0')
			snprintf(id, sizeof(id), "disk%u", i);
		json_array_append_new(
		    a, json_pack("{s:s,s:o,s:b,s:s,s:b,s:s,s:o,s:s}", "drive_id", id, "partuuid",
				 str_or_null(d->partuuid[0] ? d->partuuid : NULL), "is_root_device",
				 d->is_root, "cache_type",
				 d->cache == DISK_CACHE_WRITEBACK ? "Writeback" : "Unsafe",
				 "is_read_only", d->read_only, "path_on_host", d->path,
				 "rate_limiter", limiter_obj(&d->limiter), "io_engine",
				 d->engine == DISK_ENGINE_IO_URING ? "Async" : "Sync"));
	}
	return a;
}

static json_t *nets_arr(const struct vm_config *cfg)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a != NULL && i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->nets[i];
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0],
			 n->guest_mac[1], n->guest_mac[2], n->guest_mac[3], n->guest_mac[4],
			 n->guest_mac[5]);
		json_t *o =
		    json_pack("{s:s,s:s,s:o,s:o,s:o}", "iface_id", n->iface_id, "host_dev_name",
			      n->host_dev_name, "guest_mac", str_or_null(n->has_mac ? mac : NULL),
			      "rx_rate_limiter", limiter_obj(&n->rx_limiter), "tx_rate_limiter",
			      limiter_obj(&n->tx_limiter));
		if (o != NULL && n->has_mtu)
			json_object_set_new(o, "mtu", json_integer((json_int_t)n->mtu));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *vsock_obj(const struct vm_config *cfg)
{
	if (!cfg->vsock.enabled)
		return json_null();
	json_t *o = json_pack("{s:I,s:s}", "guest_cid", (json_int_t)cfg->vsock.guest_cid,
			      "uds_path", cfg->vsock.uds_path);
	if (o != NULL && cfg->vsock.vsock_id[0] != '\0')
		json_object_set_new(o, "vsock_id", json_string(cfg->vsock.vsock_id));
	return o;
}

static json_t *logger_obj(const struct vm_config *cfg)
{
	const struct logger_config *l = &cfg->logger;

	if (!l->set)
		return json_null();
	json_t *o = json_pack("{s:s,s:b,s:b}", "level", config_log_level_name(l->level),
			      "show_level", l->show_level, "show_log_origin", l->show_log_origin);
	if (o != NULL && l->log_path != NULL)
		json_object_set_new(o, "log_path", json_string(l->log_path));
	if (o != NULL && l->module != NULL)
		json_object_set_new(o, "module", json_string(l->module));
	return o;
}

static json_t *mmds_obj(const struct vm_config *cfg)
{
	const struct mmds_config *m = &cfg->mmds;
	struct in_addr addr = {.s_addr = htonl(m->ipv4)};
	char ip[INET_ADDRSTRLEN];
	json_t *ids = json_array();

	if (!m->set) {
		json_decref(ids);
		return json_null();
	}
	for (unsigned int i = 0; ids != NULL && i < m->nifaces; i++)
		json_array_append_new(ids, json_string(m->ifaces[i]));
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	return json_pack("{s:s,s:o,s:s,s:b}", "version", m->v2 ? "V2" : "V1", "network_interfaces",
			 ids, "ipv4_address", ip, "imds_compat", m->imds_compat);
}

char *config_json_vm_config(const struct vm_config *cfg)
{
	json_t *entropy = cfg->rng
			      ? json_pack("{s:o}", "rate_limiter", limiter_obj(&cfg->rng_limiter))
			      : json_null();
	json_t *metrics = cfg->metrics_path != NULL
			      ? json_pack("{s:s}", "metrics_path", cfg->metrics_path)
			      : json_null();

	json_t *cpu = cfg->cpu_template == CPU_TEMPLATE_CUSTOM
			  ? cpu_config_json_render(&cfg->custom_cpu)
			  : json_null();

	return dump(json_pack(
	    "{s:n,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "balloon", "drives", drives_arr(cfg),
	    "boot-source", boot_obj(cfg), "cpu-config", cpu, "logger", logger_obj(cfg),
	    "machine-config", machine_obj(cfg), "metrics", metrics, "mmds-config", mmds_obj(cfg),
	    "network-interfaces", nets_arr(cfg), "vsock", vsock_obj(cfg), "entropy", entropy));
}

char *config_json_instance_info(const struct vm_config *cfg, const char *state)
{
	return dump(json_pack("{s:s,s:s,s:s,s:s}", "id", cfg->id, "state", state, "vmm_version",
			      config_api_version(), "app_name", "ember"));
}

char *config_json_version(void)
{
	return dump(json_pack("{s:s}", "firecracker_version", config_api_version()));
}

char *config_json_fault(const char *msg)
{
	return dump(json_pack("{s:s}", "fault_message", msg));
}
