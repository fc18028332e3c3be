/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rng.h: virtio-rng (virtio 1.2, 5.4, device ID 4). One request queue;
 * every writable buffer the driver posts is filled from getrandom().
 */
#ifndef EMBER_VIRTIO_RNG_H
#define EMBER_VIRTIO_RNG_H

#include "dev_metrics.h"
#include "device.h"
#include "ratelimit.h"
#include "vlog.h"

/* Bytes served per request at most, so one huge buffer cannot stall the VMM thread. */
#define RNG_MAX_PER_REQUEST (64ULL * 1024)

/*
 * rng_create: a virtio-rng device counting into (metrics) (dev_metrics.h;
 * NULL: a group of its own); (*ops) receives its ops table. Hand both to
 * virtio_mmio_create(), which then owns the device. NULL when out of
 * memory, said in (err) (may be NULL), not logged.
 */
void *rng_create(struct entropy_metrics *metrics, const struct virtio_device_ops **ops,
		 struct vlog_err *err);

/*
 * rng_create_limited: as rng_create, enforcing (limit) (Firecracker's
 * entropy rate_limiter: one operation and the bytes served per request,
 * capped at RNG_MAX_PER_REQUEST). A request that does not fit waits, popped,
 * and the queue is not read further until the limiter's timerfd (watched
 * from ops->attach) fires. (limit) may be all zero (unlimited for now, see
 * rng_set_limiter). Before seccomp (timerfd_create). NULL on failure, said
 * in (err) as rng_create.
 */
void *rng_create_limited(const struct virtio_rate_limit *limit, struct entropy_metrics *metrics,
			 const struct virtio_device_ops **ops, struct vlog_err *err);

/*
 * rng_set_limiter: enforce (limit) from now on and retry a deferred request.
 * Call with the transport lock held (virtio_mmio_with_lock). 0, or -ENOTSUP
 * for a device from rng_create.
 */
int rng_set_limiter(void *dev, const struct virtio_rate_limit *limit);

#endif /* EMBER_VIRTIO_RNG_H */
