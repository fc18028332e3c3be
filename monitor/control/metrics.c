// SPDX-License-Identifier: Apache-2.0
/* metrics.c: Firecracker-shaped metrics, one JSON line per flush (jansson). */
#include "metrics.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logger.h"

/* A group's name: a prefix ("block_", "net_", "vcpu_") and an id. */
#define GROUP_NAME_MAX (sizeof("block_") + CONFIG_ID_MAX + 1)

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void metrics_set_vcpus(struct metrics *m, const struct vm_config *cfg)
{
	m->nvcpus = cfg->vcpus < METRICS_MAX_VCPUS ? cfg->vcpus : METRICS_MAX_VCPUS;
}

void metrics_forget_devices(struct metrics *m)
{
	m->nblocks = 0;
	m->nnets = 0;
}

/* group: the index of (name) in (ids), added when new; -1 when all CONFIG_MAX_DEVICES are taken. */
static int group(char (*ids)[CONFIG_ID_MAX + 1], unsigned int *n, const char *name)
{
	for (unsigned int i = 0; i < *n; i++)
		if (strcmp(ids[i], name) == 0)
			return (int)i;
	if (*n == CONFIG_MAX_DEVICES)
		return -1;
	snprintf(ids[*n], sizeof(ids[*n]), "%s", name);
	return (int)(*n)++;
}

struct block_metrics *metrics_block(struct metrics *m, const char *drive_id, unsigned int index)
{
	char name[CONFIG_ID_MAX + 1];

	if (drive_id != NULL && drive_id[0] != '\0')
		snprintf(name, sizeof(name), "%s", drive_id);
	else
		snprintf(name, sizeof(name), "disk%u", index);
	int i = group(m->block_ids, &m->nblocks, name);
	return i < 0 ? NULL : &m->now.block[i];
}

struct net_metrics *metrics_net(struct metrics *m, const char *iface_id)
{
	int i = group(m->net_ids, &m->nnets, iface_id);

	return i < 0 ? NULL : &m->now.net[i];
}

int metrics_configure(struct metrics *m, const char *path, char *err, unsigned long errsz)
{
	if (m->fd >= 0) {
		snprintf(err, errsz, "metrics are already configured (only once, as Firecracker)");
		return -EBUSY;
	}
	m->path = strdup(path);
	if (m->path == NULL) {
		snprintf(err, errsz, "metrics_path: out of memory");
		return -ENOMEM;
	}
	m->fd = logger_open_nonblocking(path);
	if (m->fd < 0) {
		int e = errno;
		snprintf(err, errsz, "metrics_path: cannot open '%s': %s", path, strerror(e));
		free(m->path);
		m->path = NULL;
		return -e;
	}
	return 0;
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/*
 * The growth of each counter since (prev), into (delta); the values it was
 * taken from into (seen): the new (prev) once the line is out.
 */
static void deltas(struct metrics *m, struct metrics_counters *delta, struct metrics_counters *seen)
{
	const uint64_t *now = (const uint64_t *)&m->now;
	const uint64_t *prev = (const uint64_t *)&m->prev;
	uint64_t *d = (uint64_t *)delta, *s = (uint64_t *)seen;

	for (size_t i = 0; i < sizeof(m->now) / sizeof(uint64_t); i++) {
		uint64_t v = load(&now[i]);
		d[i] = v - prev[i];
		s[i] = v;
	}
}

#define PUT(n) json_object_set_new(o, #n, json_integer((json_int_t)g->n));
#define GROUP(name, LIST, src)                                                                     \
	do {                                                                                       \
		json_t *o = json_object();                                                         \
		const __typeof__(src) *g = &(src);                                                 \
		LIST(PUT)                                                                          \
		json_object_set_new(root, name, o);                                                \
	} while (0)

/* render: the JSON line; (seen) gets the counters it was made from. */
static char *render(struct metrics *m, struct metrics_counters *seen)
{
	struct metrics_counters d;
	struct metrics_vcpu all = {0};
	struct block_metrics blocks = {0};
	struct net_metrics nets = {0};
	struct timespec ts;
	json_t *root = json_object();
	char name[GROUP_NAME_MAX];

	if (root == NULL)
		return NULL;
	/* The logger's own counters live with the logger. */
	if (m->missed_log_count != NULL)
		m->now.logger.missed_log_count = load(m->missed_log_count);
	if (m->log_fails != NULL)
		m->now.logger.log_fails = load(m->log_fails);
	deltas(m, &d, seen);
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(root, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	json_object_set_new(
	    root, "api_server",
	    json_pack("{s:I,s:I,s:I,s:I}", "process_startup_time_us",
		      (json_int_t)m->store.process_startup_time_us, "process_startup_time_cpu_us",
		      (json_int_t)m->store.process_startup_time_cpu_us, "sync_response_fails",
		      (json_int_t)d.api_server.sync_response_fails, "sync_vmm_send_timeout_count",
		      (json_int_t)d.api_server.sync_vmm_send_timeout_count));
	GROUP("get_api_requests", METRICS_GET_API, d.get_api_requests);
	GROUP("put_api_requests", METRICS_PUT_API, d.put_api_requests);
	GROUP("patch_api_requests", METRICS_PATCH_API, d.patch_api_requests);
	GROUP("logger", METRICS_LOGGER, d.logger);
	GROUP("vmm", METRICS_VMM, d.vmm);
	GROUP("i8042", METRICS_I8042, d.i8042);
	GROUP("uart", METRICS_UART, d.uart);
	GROUP("entropy", DEV_METRICS_ENTROPY, d.entropy);
	GROUP("vsock", DEV_METRICS_VSOCK, d.vsock);
	GROUP("mmds", MMDS_STATS, d.mmds);
	json_object_set_new(
	    root, "boot_timer",
	    json_pack("{s:I,s:I}", "guest_boot_time_us", (json_int_t)m->store.guest_boot_time_us,
		      "boot_time_since_exec_us", (json_int_t)m->store.boot_time_since_exec_us));
	/* "vcpu" sums every vCPU, as Firecracker's; "vcpu_<n>" is each one. */
	for (unsigned int i = 0; i < m->nvcpus; i++) {
#define SUM(n) all.n += d.vcpu[i].n;
		METRICS_VCPU(SUM)
#undef SUM
	}
	GROUP("vcpu", METRICS_VCPU, all);
	for (unsigned int i = 0; i < m->nvcpus; i++) {
		snprintf(name, sizeof(name), "vcpu_%u", i);
		GROUP(name, METRICS_VCPU, d.vcpu[i]);
	}
	for (unsigned int i = 0; i < m->nblocks; i++) {
#define SUM(n) blocks.n += d.block[i].n;
		DEV_METRICS_BLOCK(SUM)
#undef SUM
	}
	GROUP("block", DEV_METRICS_BLOCK, blocks);
	for (unsigned int i = 0; i < m->nblocks; i++) {
		snprintf(name, sizeof(name), "block_%s", m->block_ids[i]);
		GROUP(name, DEV_METRICS_BLOCK, d.block[i]);
	}
	/* "net" sums every interface, "net_<iface_id>" is each one (Firecracker's). */
	for (unsigned int i = 0; i < m->nnets; i++) {
#define SUM(n) nets.n += d.net[i].n;
		DEV_METRICS_NET(SUM)
#undef SUM
	}
	GROUP("net", DEV_METRICS_NET, nets);
	for (unsigned int i = 0; i < m->nnets; i++) {
		snprintf(name, sizeof(name), "net_%s", m->net_ids[i]);
		GROUP(name, DEV_METRICS_NET, d.net[i]);
	}
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

char *metrics_render(struct metrics *m, int commit)
{
	struct metrics_counters seen;
	char *s = render(m, &seen);

	if (s != NULL && commit)
		m->prev = seen;
	return s;
}

/* put: one non-blocking write of (len) bytes: how many went, or -errno when none did. */
static ssize_t put(int fd, const char *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -EAGAIN : n;
}

static void drop_tail(struct metrics *m)
{
	free(m->tail);
	m->tail = NULL;
	m->tail_off = m->tail_len = 0;
}

/* lost: a line (or its rest) could not be written (err): count it, and say so once. */
static int lost(struct metrics *m, int err)
{
	metrics_inc(err == EAGAIN ? &m->now.logger.missed_metrics_count
				  : &m->now.logger.metrics_fails);
	/* The reader that had a line's start is gone: a new one must not get its end. */
	if (err == EPIPE)
		drop_tail(m);
	if (!m->lost) {
		m->lost = true;
		log_warn("metrics: '%s' %s: metrics lines are dropped (counted in logger.%s); "
			 "their counts go into the next line written",
			 m->path != NULL ? m->path : "?", logger_lost_reason(err),
			 err == EAGAIN ? "missed_metrics_count" : "metrics_fails");
	}
	return -err;
}

int metrics_flush(struct metrics *m)
{
	struct metrics_counters seen;
	ssize_t n;

	if (m->fd < 0)
		return -ENODEV;
	/* The rest of a line the reader took part of goes first: lines stay whole. */
	if (m->tail != NULL) {
		n = put(m->fd, m->tail + m->tail_off, m->tail_len - m->tail_off);
		if (n < 0)
			return lost(m, (int)-n);
		m->tail_off += (size_t)n;
		if (m->tail_off < m->tail_len)
			return lost(m, EAGAIN);
		drop_tail(m);
	}
	char *line = render(m, &seen);
	if (line == NULL)
		return -ENOMEM;
	size_t len = strlen(line);
	line[len] = '\n'; /* json_dumps' NUL becomes the line end */
	len++;
	n = put(m->fd, line, len);
	if (n < 0) {
		free(line);
		return lost(m, (int)-n); /* the counts wait for the next line */
	}
	m->prev = seen;
	if ((size_t)n < len) {
		m->tail = line;
		m->tail_off = (size_t)n;
		m->tail_len = len;
		return 0;
	}
	free(line);
	return 0;
}

void metrics_destroy(struct metrics *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	drop_tail(m);
	free(m->path);
	m->path = NULL;
}
