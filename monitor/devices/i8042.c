// SPDX-License-Identifier: Apache-2.0
/* i8042.c: PS/2 controller commands a guest uses at boot and to reset. */
#include "i8042.h"

#include <string.h>

#include "dev_state.h"
#include "exit_status.h"
#include "isa_irq.h"
#include "layout.h"
#include "log.h"
#include "metrics.h"
#include "vm.h"

/* Controller commands (written to the command port). */
#define CMD_READ_CTR	  0x20
#define CMD_WRITE_CTR	  0x60
#define CMD_SELF_TEST	  0xaa
#define CMD_KBD_TEST	  0xab
#define CMD_READ_OUTPORT  0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_RESET_CPU	  0xfe
/* Replies. */
#define SELF_TEST_OK 0x55
#define KBD_TEST_OK  0x00
/* Status register bits. */
#define STATUS_OUT_FULL 0x01
#define STATUS_SYSFLAG	0x04
#define STATUS_CMD	0x08
/* Keyboard interrupt: ISA IRQ 1; enabled by bit 0 of the control byte. */
#define KBD_IRQ	    1
#define CTR_KBD_INT 0x01
/* Scan code set 2 key-down codes (what Firecracker sends). */
#define SC_CTRL	    0x14
#define SC_ALT	    0x11
#define SC_EXTENDED 0xe0
#define SC_DEL	    0x71
/* Output port: bit 0 low would hold the CPU in reset; bit 1 is A20. */
#define OUTPORT_DEFAULT 0x03
#define CTR_DEFAULT	0x00

/* push: queue a byte for port 0x60; false when the buffer is full. */
static bool push(struct i8042 *kbd, uint8_t byte)
{
	if (kbd->count == I8042_BUF)
		return false;
	kbd->buf[(kbd->head + kbd->count) % I8042_BUF] = byte;
	kbd->count++;
	return true;
}

static uint8_t pop(struct i8042 *kbd)
{
	if (kbd->count == 0)
		return 0;
	uint8_t byte = kbd->buf[kbd->head];
	kbd->head = (kbd->head + 1) % I8042_BUF;
	kbd->count--;
	return byte;
}

/* reply: a command's answer goes ahead of nothing else: drop stale bytes. */
static void reply(struct i8042 *kbd, uint8_t byte)
{
	kbd->head = kbd->count = 0;
	push(kbd, byte);
}

/* key_irq: whether the guest wants an interrupt for pending key bytes. */
static bool key_irq(const struct i8042 *kbd)
{
	return kbd->count > 0 && (kbd->control & CTR_KBD_INT);
}

/* What a byte on the command port was. */
enum command_kind { COMMAND_DONE, COMMAND_RESET, COMMAND_UNKNOWN };

static enum command_kind command(struct i8042 *kbd, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		reply(kbd, kbd->control);
		break;
	case CMD_SELF_TEST:
		reply(kbd, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		reply(kbd, KBD_TEST_OK);
		break;
	case CMD_READ_OUTPORT:
		reply(kbd, kbd->outport);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
		kbd->cmd = cmd; /* the data byte follows on port 0x60 */
		break;
	case CMD_RESET_CPU:
		return COMMAND_RESET;
	default:
		return COMMAND_UNKNOWN;
	}
	return COMMAND_DONE;
}

static void data_write(struct i8042 *kbd, uint8_t byte)
{
	switch (kbd->cmd) {
	case CMD_WRITE_CTR:
		kbd->control = byte;
		break;
	case CMD_WRITE_OUTPORT:
		kbd->outport = byte;
		break;
	default:
		break; /* bytes for a keyboard we do not have */
	}
	kbd->cmd = 0;
}

static void i8042_io(struct i8042 *kbd, uint64_t port, uint8_t *data, bool is_write)
{
	bool reset = false, irq = false;

	pthread_mutex_lock(&kbd->lock);
	if (port == LAYOUT_I8042_CMD_PORT) {
		if (is_write) {
			enum command_kind kind = command(kbd, data[0]);
			reset = kind == COMMAND_RESET;
			if (kbd->counts != NULL) {
				metrics_inc(kind == COMMAND_UNKNOWN
						? &kbd->counts->missed_write_count
						: &kbd->counts->write_count);
				if (reset)
					metrics_inc(&kbd->counts->reset_count);
			}
		} else
			data[0] = STATUS_SYSFLAG | (kbd->count ? STATUS_OUT_FULL : 0) |
				  (kbd->cmd ? STATUS_CMD : 0);
	} else if (port == LAYOUT_I8042_DATA_PORT) {
		if (is_write) {
			data_write(kbd, data[0]);
			if (kbd->counts != NULL)
				metrics_inc(&kbd->counts->write_count);
		} else {
			data[0] = pop(kbd);
			irq = key_irq(kbd); /* one interrupt per byte, like the real one */
		}
	}
	if (!is_write && kbd->counts != NULL)
		metrics_inc(&kbd->counts->read_count);
	pthread_mutex_unlock(&kbd->lock);
	if (irq)
		isa_irq_pulse(kbd->vm, KBD_IRQ);
	if (reset) {
		log_info("i8042: guest reset the machine");
		vm_request_stop(kbd->vm, EMBER_EXIT_OK);
	}
}

static void data_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)offset;
	(void)len;
	i8042_io(opaque, LAYOUT_I8042_DATA_PORT, data, is_write);
}

static void cmd_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)offset;
	(void)len;
	i8042_io(opaque, LAYOUT_I8042_CMD_PORT, data, is_write);
}

int i8042_init(struct i8042 *kbd, struct vm *vm, struct metrics_i8042 *counts)
{
	int ret;

	memset(kbd, 0, sizeof(*kbd));
	kbd->vm = vm;
	kbd->counts = counts;
	kbd->control = CTR_DEFAULT;
	kbd->outport = OUTPORT_DEFAULT;
	pthread_mutex_init(&kbd->lock, NULL);
	/* Two ports of their own: 0x61, between them, is port B (pit.c). */
	ret = bus_register(&vm->pio, LAYOUT_I8042_DATA_PORT, 1, data_port_io, kbd);
	if (ret == 0)
		ret = bus_register(&vm->pio, LAYOUT_I8042_CMD_PORT, 1, cmd_port_io, kbd);
	return ret;
}

void i8042_ctrl_alt_del(struct i8042 *kbd)
{
	static const uint8_t keys[] = {SC_CTRL, SC_ALT, SC_EXTENDED, SC_DEL};
	bool irq;

	pthread_mutex_lock(&kbd->lock);
	for (size_t i = 0; i < sizeof(keys); i++)
		push(kbd, keys[i]);
	irq = key_irq(kbd);
	pthread_mutex_unlock(&kbd->lock);
	if (irq)
		isa_irq_pulse(kbd->vm, KBD_IRQ);
}

void i8042_destroy(struct i8042 *kbd)
{
	pthread_mutex_destroy(&kbd->lock);
}

void i8042_save_state(struct i8042 *kbd, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&kbd->lock);
	for (unsigned int i = 0; i < kbd->count; i++)
		st->buf[i] = kbd->buf[(kbd->head + i) % I8042_BUF];
	st->count = (uint8_t)kbd->count;
	st->cmd = kbd->cmd;
	st->control = kbd->control;
	st->outport = kbd->outport;
	pthread_mutex_unlock(&kbd->lock);
}

/* check: whether (st) is a state this controller can be in; else the line saying why. */
static int check(const struct i8042_state *st, char *err, size_t errsz)
{
	if (st->count > I8042_BUF)
		return dev_state_reject(err, errsz, "i8042: count %u exceeds the buffer (%u)",
					st->count, I8042_BUF);
	if (!dev_state_zero(st->buf + st->count, I8042_BUF - st->count))
		return dev_state_reject(err, errsz, "i8042: buf holds bytes past count %u",
					st->count);
	/* Only the two commands that take a data byte are ever left waiting. */
	if (st->cmd != 0 && st->cmd != CMD_WRITE_CTR && st->cmd != CMD_WRITE_OUTPORT)
		return dev_state_reject(err, errsz, "i8042: cmd 0x%02x is not 0, 0x%02x or 0x%02x",
					st->cmd, CMD_WRITE_CTR, CMD_WRITE_OUTPORT);
	if (!dev_state_zero(st->pad, sizeof(st->pad)))
		return dev_state_reject(err, errsz, "i8042: pad is not zero");
	return 0;
}

int i8042_load_state(struct i8042 *kbd, const struct i8042_state *st, char *err, size_t errsz)
{
	int ret = check(st, err, errsz);
	bool irq;

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&kbd->lock);
	memcpy(kbd->buf, st->buf, sizeof(kbd->buf));
	kbd->head = 0;
	kbd->count = st->count;
	kbd->cmd = st->cmd;
	kbd->control = st->control;
	kbd->outport = st->outport;
	irq = key_irq(kbd);
	pthread_mutex_unlock(&kbd->lock);
	if (irq)
		isa_irq_pulse(kbd->vm, KBD_IRQ);
	return 0;
}
