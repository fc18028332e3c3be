/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rng.h: virtio-rng (virtio 1.2, 5.4, device ID 4), --rng. One request
 * queue; every writable buffer the driver posts is filled from getrandom().
 */
#ifndef EMBER_VIRTIO_RNG_H
#define EMBER_VIRTIO_RNG_H

#include "device.h"

/* Bytes served per request at most, so one huge buffer cannot stall the VMM thread. */
#define RNG_MAX_PER_REQUEST (64u * 1024)

/*
 * rng_create: a virtio-rng device; (*ops) receives its ops table. Hand both
 * to virtio_mmio_create(), which then owns the device. NULL when out of memory.
 */
void *rng_create(const struct virtio_device_ops **ops);

#endif /* EMBER_VIRTIO_RNG_H */
