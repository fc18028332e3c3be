/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_devices.h: every device of a machine into a state file and back:
 * the legacy devices (each one section, its X_state struct as bytes) and
 * the virtio-mmio slots (one section each, in slot order). The devices
 * check what they are given; this file only finds the sections.
 */
#ifndef EMBER_SNAP_DEVICES_H
#define EMBER_SNAP_DEVICES_H

#include <stddef.h>

#include "snap_file.h"

struct machine;

/* snap_devices_quiesce: devices finish in-flight work (VMM thread, VM paused). 0 or -errno. */
int snap_devices_quiesce(struct machine *m, char *err, size_t errsz);

/*
 * snap_devices_resume: devices go on serving their queues after a save
 * (the vCPUs stay paused); every quiesce is followed by one.
 */
void snap_devices_resume(struct machine *m);

/* snap_devices_save: one section per device into (w). 0 or -errno with (err). */
int snap_devices_save(struct snap_writer *w, struct machine *m, char *err, size_t errsz);

/*
 * snap_devices_restore: each device of (m), built and not yet run, from its
 * section in (r). 0, or -EINVAL with (err) naming the device and field.
 */
int snap_devices_restore(struct machine *m, const struct snap_reader *r, char *err, size_t errsz);

#endif /* EMBER_SNAP_DEVICES_H */
