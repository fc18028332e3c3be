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
#include <stdint.h>

struct vm;

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t cmd;	 /* command awaiting a data byte, or 0 */
	uint8_t control; /* controller configuration byte */
	uint8_t outport; /* output port (A20, reset) */
	uint8_t out;	 /* output buffer */
	bool out_full;
};

/* i8042_init: reset and claim ports 0x60 and 0x64 on (vm)'s bus. 0 or -errno. */
int i8042_init(struct i8042 *kbd, struct vm *vm);

/* i8042_destroy: release the lock. */
void i8042_destroy(struct i8042 *kbd);

#endif /* EMBER_I8042_H */
