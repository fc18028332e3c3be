/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rng.h: virtio-rng (virtio 1.2, 5.4, device ID 4). One request queue;
 * every writable buffer the driver posts is filled from getrandom().
 */
#ifndef EMBER_VIRTIO_RNG_H
#define EMBER_VIRTIO_RNG_H

#include "device.h"
#include "ratelimit.h"
#include "vlog.h"

/* Bytes served per request at most, so one huge buffer cannot stall the VMM thread. */
#define RNG_MAX_PER_REQUEST (64ULL * 1024)

/*
 * rng_create: a virtio-rng device; (*ops) receives its ops table. Hand both
 * to virtio_mmio_create(), which then owns the device. NULL when out of
 * memory, said in (err) (may be NULL), not logged.
 */
void *rng_create(const struct virtio_device_ops **ops, struct vlog_err *err);

/*
 * rng_create_limited: as rng_create, enforcing (limit) (Firecracker's
 * entropy rate_limiter: one operation and the bytes served per request,
 * capped at RNG_MAX_PER_REQUEST). A request that does not fit waits, popped,
 * and the queue is not read further until the limiter's timerfd (watched
 * from ops->attach) fires. (limit) may be all zero (unlimited for now, see
 * rng_set_limiter). Before seccomp (timerfd_create). NULL on failure, said
 * in (err) as rng_create.
 */
void *rng_create_limited(const struct virtio_rate_limit *limit,
			 const struct virtio_device_ops **ops, struct vlog_err *err);

/* Counters for the metrics (Firecracker's "entropy" group). */
struct rng_stats {
	uint64_t requests;   /* queue notifications handled */
	uint64_t bytes;	     /* random bytes served */
	uint64_t host_fails; /* getrandom() failed or came up short */
	uint64_t throttled;  /* a request waited for the rate limiter */
};

/* rng_get_stats: copy (dev)'s counters into (out). Call with the transport lock held. */
void rng_get_stats(const void *dev, struct rng_stats *out);

/*
 * rng_set_limiter: enforce (limit) from now on and retry a deferred request.
 * Call with the transport lock held (virtio_mmio_with_lock). 0, or -ENOTSUP
 * for a device from rng_create.
 */
int rng_set_limiter(void *dev, const struct virtio_rate_limit *limit);

#endif /* EMBER_VIRTIO_RNG_H */
