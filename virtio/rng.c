// SPDX-License-Identifier: Apache-2.0
/* rng.c: virtio-rng, buffers filled from getrandom(). */
#include "rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include "mmio.h"
#include "queue.h"
#include "state.h"
#include "vlog.h"

/* Host problems, each logged once per device. */
enum rng_error {
	ERR_GETRANDOM, /* getrandom() failed or came up short */
};

struct rng {
	struct virtio_mmio_dev *t; /* set while active */
	struct virtq_chain chain;
	/* Where it counts: the monitor's group (dev_metrics.h), or (own). */
	struct entropy_metrics *metrics;
	struct entropy_metrics own;
	struct vlog_limit log; /* host problems, each kind logged once */
	bool has_limiter;
	bool deferred; /* (chain) popped, waiting for tokens */
	struct ratelimit rl;
	struct virtio_watcher w; /* the monitor's loop, from rng_attach */
};

static int rng_activate(void *dev, struct virtio_mmio_dev *t)
{
	struct rng *r = dev;
	struct virtq *q = virtio_mmio_queue(t, 0);

	if (q == NULL || !q->ready)
		return -EINVAL;
	r->t = t;
	return 0;
}

/* fill: random bytes into the chain's writable buffers, up to RNG_MAX_PER_REQUEST. */
static uint32_t fill(struct rng *r, const struct virtq_chain *c)
{
	uint32_t done = 0;

	for (unsigned int i = c->nread; i < c->niov && done < RNG_MAX_PER_REQUEST; i++) {
		size_t want = c->iov[i].iov_len, got = 0;
		if (want > RNG_MAX_PER_REQUEST - done)
			want = RNG_MAX_PER_REQUEST - done;
		while (got < want) {
			ssize_t n = getrandom((char *)c->iov[i].iov_base + got, want - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				metrics_inc(&r->metrics->host_rng_fails);
				vlog_limited(&r->log, "virtio-rng", ERR_GETRANDOM, "getrandom: %s",
					     strerror(errno));
				return done + (uint32_t)got;
			}
			got += (size_t)n;
		}
		done += (uint32_t)got;
	}
	return done;
}

/* process: serve requests until the ring is empty or the rate limiter defers one. */
static void process(struct rng *r)
{
	struct virtq *q = virtio_mmio_queue(r->t, 0);
	int rc = 0;

	for (;;) {
		uint64_t want;
		uint32_t n;

		if (!r->deferred && (rc = vq_pop(q, &r->chain)) != 1)
			break;
		want = r->chain.write_len < RNG_MAX_PER_REQUEST ? r->chain.write_len
								: RNG_MAX_PER_REQUEST;
		if (r->has_limiter && !ratelimit_consume(&r->rl, want, 1)) {
			r->deferred = true;
			metrics_inc(&r->metrics->entropy_rate_limiter_throttled);
			break;
		}
		r->deferred = false;
		n = fill(r, &r->chain);
		metrics_add(&r->metrics->entropy_bytes, n);
		vq_push(q, &r->chain, n);
	}
	if (rc < 0)
		virtio_mmio_needs_reset(r->t);
	virtio_mmio_signal_used(r->t, 0);
}

static void rng_notify(void *dev, unsigned int queue)
{
	struct rng *r = dev;

	(void)queue;
	metrics_inc(&r->metrics->entropy_event_count);
	process(r);
}

/* rng_fd_ready: the limiter's timer fired (VMM thread, transport lock held). */
static void rng_fd_ready(void *dev, uint64_t tag, uint32_t events)
{
	struct rng *r = dev;

	(void)tag; /* the timer is its only fd */
	(void)events;
	ratelimit_event(&r->rl);
	if (r->t != NULL)
		process(r);
}

/* rng_attach: only a limited device has an fd: its timer. */
static int rng_attach(void *dev, const struct virtio_watcher *w)
{
	struct rng *r = dev;

	r->w = *w;
	return r->has_limiter ? virtio_watch(&r->w, ratelimit_fd(&r->rl), EPOLLIN, 0) : 0;
}

static void rng_reset(void *dev)
{
	struct rng *r = dev;

	r->deferred = false;
	r->t = NULL;
}

/* rng_quiesce: for a snapshot: a request waiting for tokens goes back to the ring. */
static int rng_quiesce(void *dev)
{
	struct rng *r = dev;

	r->deferred = false;
	return 0;
}

/* rng_resume: after quiesce or a load: serve what the ring holds. */
static void rng_resume(void *dev)
{
	struct rng *r = dev;

	if (r->t != NULL)
		process(r);
}

/* The device's part in a snapshot: its optional rate limiter. */
_Static_assert(sizeof(struct ratelimit_opt_state) <= VIRTIO_DEV_STATE_MAX, "virtio-rng's part");

static uint32_t rng_save_state(void *dev, void *buf, uint32_t cap)
{
	const struct rng *r = dev;
	struct ratelimit_opt_state st;

	if (cap < sizeof(st))
		return 0;
	ratelimit_save_opt(&r->rl, r->has_limiter, &st);
	memcpy(buf, &st, sizeof(st));
	return sizeof(st);
}

static int rng_load_state(void *dev, const void *buf, uint32_t len, struct vlog_err *err)
{
	struct rng *r = dev;
	struct ratelimit_opt_state st;

	if (len != sizeof(st)) {
		vlog_err_set(err, 0, "dev_len: %u, virtio-rng's part is %zu bytes", len,
			     sizeof(st));
		return -EINVAL;
	}
	memcpy(&st, buf, sizeof(st));
	if (ratelimit_check_opt_state(&st, "dev", err) < 0)
		return -EINVAL;
	ratelimit_load_opt(&r->rl, r->has_limiter, &st);
	return 0;
}

static void rng_destroy(void *dev)
{
	struct rng *r = dev;

	if (r->has_limiter)
		virtio_unwatch(&r->w, ratelimit_fd(&r->rl));
	ratelimit_destroy(&r->rl);
	free(r);
}

static const struct virtio_device_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .max_queue_size = 256,
    .features = 0,
    .activate = rng_activate,
    .notify = rng_notify,
    .reset = rng_reset,
    .attach = rng_attach,
    .fd_ready = rng_fd_ready,
    .destroy = rng_destroy,
    .quiesce = rng_quiesce,
    .resume = rng_resume,
    .save_state = rng_save_state,
    .load_state = rng_load_state,
};

void *rng_create(struct entropy_metrics *metrics, const struct virtio_device_ops **ops,
		 struct vlog_err *err)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		vlog_err_set(err, 0, "out of memory");
		return NULL;
	}
	r->metrics = metrics != NULL ? metrics : &r->own;
	r->rl.timer_fd = -1;
	*ops = &rng_ops;
	return r;
}

void *rng_create_limited(const struct virtio_rate_limit *limit, struct entropy_metrics *metrics,
			 const struct virtio_device_ops **ops, struct vlog_err *err)
{
	struct rng *r = rng_create(metrics, ops, err);
	int rc;

	if (r == NULL)
		return NULL;
	rc = ratelimit_init(&r->rl, limit);
	if (rc < 0) {
		vlog_err_set(err, -rc, "rate limiter timer");
		free(r);
		return NULL;
	}
	r->has_limiter = true;
	return r;
}

int rng_set_limiter(void *dev, const struct virtio_rate_limit *limit)
{
	struct rng *r = dev;

	if (!r->has_limiter)
		return -ENOTSUP;
	ratelimit_update(&r->rl, limit);
	if (r->t != NULL && r->deferred)
		process(r);
	return 0;
}
