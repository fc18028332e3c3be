// SPDX-License-Identifier: Apache-2.0
/* snap_devices.c: a machine's devices into sections and back (see snap_devices.h). */
#include "snap_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "mmio.h"
#include "vlog.h"

/*
 * LEGACY: one legacy device: its section, its state struct, and the
 * device's own save and load. Written out per device so that each call is
 * type-checked against the device's header.
 */
#define LEGACY_SAVE(w, tag, type, save, dev, err, errsz)                                           \
	do {                                                                                       \
		struct type st_;                                                                   \
		save(dev, &st_);                                                                   \
		if (snap_put(w, tag, 0, &st_, sizeof(st_)) < 0) {                                  \
			snprintf(err, errsz, "%s: out of memory", snap_tag_name(tag));             \
			return -ENOMEM;                                                            \
		}                                                                                  \
	} while (0)

#define LEGACY_LOAD(r, tag, type, load, dev, err, errsz)                                           \
	do {                                                                                       \
		struct type st_;                                                                   \
		int ret_ = snap_get_exact(r, tag, 0, &st_, sizeof(st_), err, errsz);               \
		if (ret_ == 0)                                                                     \
			ret_ = load(dev, &st_, err, errsz);                                        \
		if (ret_ < 0)                                                                      \
			return ret_;                                                               \
	} while (0)

int snap_devices_quiesce(struct machine *m, char *err, size_t errsz)
{

	for (unsigned int i = 0; i < m->virtio.count; i++) {
		int ret = virtio_mmio_quiesce(m->virtio.slots[i].transport);
		if (ret < 0) {
			snprintf(err, errsz,
				 "virtio device %u (%s): cannot finish its requests: %s", i,
				 m->virtio.slots[i].ops->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void snap_devices_resume(struct machine *m)
{
	virtio_slots_resume(&m->virtio); /* and their fds quieted meanwhile */
}

int snap_devices_save(struct snap_writer *w, struct machine *m, char *err, size_t errsz)
{
	/* The PIT's timer first: an IRQ 0 edge due by now lands in the controllers saved next. */
	LEGACY_SAVE(w, SNAP_TAG_PIT_TIMER, pit_timer_state, pit_timer_save_state, &m->pit_timer,
		    err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_IOAPIC, ioapic_state, ioapic_save_state, &m->ioapic, err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_PIC, pic_state, pic_save_state, &m->pic, err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_PIT, pit_state, pit_save_state, &m->pit, err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_RTC, rtc_state, rtc_save_state, &m->rtc, err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_SERIAL, serial_state, serial_save_state, &m->serial, err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_I8042, i8042_state, i8042_save_state, &m->i8042, err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_BOOT_TIMER, boot_timer_state, boot_timer_save_state, &m->boot_timer,
		    err, errsz);
	LEGACY_SAVE(w, SNAP_TAG_GENERATION, generation_state, generation_save_state, &m->generation,
		    err, errsz);

	/* Large (queues and the device's own part): off the stack. */
	struct virtio_mmio_state *st = malloc(sizeof(*st));
	if (st == NULL) {
		snprintf(err, errsz, "virtio devices: out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < m->virtio.count; i++) {
		virtio_mmio_save_state(m->virtio.slots[i].transport, st);
		if (snap_put(w, SNAP_TAG_VIRTIO, i, st, sizeof(*st)) < 0) {
			free(st);
			snprintf(err, errsz, "virtio device %u: out of memory", i);
			return -ENOMEM;
		}
	}
	free(st);
	return 0;
}

static int restore_virtio(struct machine *m, const struct snap_reader *r, char *err, size_t errsz)
{
	struct virtio_mmio_state *st = malloc(sizeof(*st));
	int ret = 0;

	if (st == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < m->virtio.count && ret == 0; i++) {
		struct virtio_slot *slot = &m->virtio.slots[i];
		struct vlog_err verr = {0};
		ret = snap_get_exact(r, SNAP_TAG_VIRTIO, i, st, sizeof(*st), err, errsz);
		if (ret == 0 && virtio_mmio_load_state(slot->transport, st, &verr) < 0) {
			snprintf(err, errsz, "virtio device %u (%s): %s", i, slot->ops->name,
				 verr.msg);
			ret = -EINVAL;
		}
	}
	free(st);
	return ret;
}

int snap_devices_restore(struct machine *m, const struct snap_reader *r, char *err, size_t errsz)
{
	/* The IOAPIC first: the others may raise interrupts as they come back. */
	LEGACY_LOAD(r, SNAP_TAG_IOAPIC, ioapic_state, ioapic_load_state, &m->ioapic, err, errsz);
	LEGACY_LOAD(r, SNAP_TAG_PIC, pic_state, pic_load_state, &m->pic, err, errsz);
	LEGACY_LOAD(r, SNAP_TAG_PIT, pit_state, pit_load_state, &m->pit, err, errsz);
	/* After the PIT and the controllers (and the vCPUs' local APICs, loaded before). */
	LEGACY_LOAD(r, SNAP_TAG_PIT_TIMER, pit_timer_state, pit_timer_load_state, &m->pit_timer,
		    err, errsz);
	LEGACY_LOAD(r, SNAP_TAG_RTC, rtc_state, rtc_load_state, &m->rtc, err, errsz);
	LEGACY_LOAD(r, SNAP_TAG_SERIAL, serial_state, serial_load_state, &m->serial, err, errsz);
	LEGACY_LOAD(r, SNAP_TAG_I8042, i8042_state, i8042_load_state, &m->i8042, err, errsz);
	LEGACY_LOAD(r, SNAP_TAG_BOOT_TIMER, boot_timer_state, boot_timer_load_state, &m->boot_timer,
		    err, errsz);
	/* A restored VM is a new generation: its guest learns it is a copy. */
	LEGACY_LOAD(r, SNAP_TAG_GENERATION, generation_state, generation_load_state, &m->generation,
		    err, errsz);
	return restore_virtio(m, r, err, errsz);
}
