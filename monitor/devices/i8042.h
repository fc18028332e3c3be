/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.h: the PS/2 controller, only as far as guests use it to reset the
 * machine: ports 0x60 (data) and 0x64 (status/command). Command 0xfe
 * (pulse the CPU reset line, what Linux does with reboot=k) ends the VM
 * cleanly with status 0.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define I8042_BUF 16

struct metrics_i8042;

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t cmd;		/* command awaiting a data byte, or 0 */
	uint8_t control;	/* controller configuration byte */
	uint8_t outport;	/* output port (A20, reset) */
	uint8_t buf[I8042_BUF]; /* bytes for the guest to read from port 0x60 */
	unsigned int head, count;
	struct metrics_i8042 *counts; /* Firecracker's i8042 group; NULL: not counted */
};

/*
 * i8042_init: reset and claim ports 0x60 and 0x64 on (vm)'s bus; count
 * into (counts) (NULL: not counted) as Firecracker's i8042 group: port
 * reads (read_count), writes it understood (write_count) or not
 * (missed_write_count), CPU resets (reset_count). 0 or -errno.
 */
int i8042_init(struct i8042 *kbd, struct vm *vm, struct metrics_i8042 *counts);

/*
 * i8042_ctrl_alt_del: queue the key-down scancodes of Ctrl, Alt and Delete
 * and raise IRQ 1, as Firecracker's SendCtrlAltDel does; a guest with an
 * i8042 keyboard driver turns that into its reboot request.
 */
void i8042_ctrl_alt_del(struct i8042 *kbd);

/* i8042_destroy: release the lock. */
void i8042_destroy(struct i8042 *kbd);

/*
 * The controller as a snapshot keeps it: the command awaiting its data
 * byte, the control byte, the output port, and the bytes queued for port
 * 0x60 (a reply, or Ctrl+Alt+Del's scancodes), oldest first.
 */
struct i8042_state {
	uint8_t buf[I8042_BUF]; /* [0, count) queued, the rest zero */
	uint8_t count;
	uint8_t cmd; /* 0, or the command (0x60, 0xd1) whose data byte is awaited */
	uint8_t control;
	uint8_t outport;
	uint8_t pad[4];
};
_Static_assert(sizeof(struct i8042_state) == 24, "i8042_state has holes");

/*
 * i8042_save_state: (kbd)'s guest-visible state into (st), zeroed first.
 * VMM thread, vCPUs parked.
 */
void i8042_save_state(struct i8042 *kbd, struct i8042_state *st);

/*
 * i8042_load_state: put (kbd), freshly initialised, into (st)'s state.
 * Every field is checked first; on a bad one returns -EINVAL with one line
 * naming it in (err) (of (errsz) bytes) and leaves (kbd) unchanged. Queued
 * bytes with the keyboard interrupt enabled raise IRQ 1, as new bytes do,
 * so load it after the interrupt controllers and the vCPUs' local APICs.
 * Returns 0. VMM thread, before any vCPU runs.
 */
int i8042_load_state(struct i8042 *kbd, const struct i8042_state *st, char *err, size_t errsz);

#endif /* EMBER_I8042_H */
