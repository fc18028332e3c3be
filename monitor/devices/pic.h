/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pic.h: the PC's pair of Intel 8259A programmable interrupt controllers,
 * master at ports 0x20/0x21, slave at 0xa0/0xa1 cascaded on the master's
 * IR2, and the edge/level control registers (ELCR) at 0x4d0/0x4d1.
 *
 * What guests use: the ICW1-ICW4 initialisation sequence (vector base,
 * single or cascade, auto-EOI, special fully nested), OCW1 masks, OCW2
 * EOIs (non-specific, specific, rotating, set priority), OCW3 (IRR or ISR
 * reads, poll mode, special mask mode), spurious IRQ 7 / 15 when a request
 * goes away before the acknowledge, and the ELCR's per-line level mode.
 *
 * ISA IRQ n (n < 16) is input n of the pair: 0-7 the master, 8-15 the
 * slave; IRQ 2 is the cascade, driven by the slave's INT, not by devices.
 * A chip requests nothing until its first ICW sequence is complete (nor
 * while a new one is written), though its IRR latches edges meanwhile.
 * The master's INT output goes to the boot CPU's LINT0 (ExtINT):
 * when it rises, (notify)(ctx) is called, and the boot vCPU's thread runs
 * the acknowledge cycle with pic_ack() and injects the vector it returns
 * with KVM_INTERRUPT once the guest can take it.
 *
 * Thread-safe: one lock; no syscalls (notify is called with the lock
 * released).
 */
#ifndef EMBER_PIC_H
#define EMBER_PIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIC_MASTER_PORT	 0x20 /* command; +1 data */
#define PIC_SLAVE_PORT	 0xa0
#define PIC_PORT_COUNT	 2
#define PIC_ELCR_PORT	 0x4d0 /* master's; +1 the slave's */
#define PIC_ELCR_COUNT	 2
#define PIC_IRQS	 16
#define PIC_CHIPS	 2 /* master and slave */
#define PIC_CASCADE_IRQ	 2
#define PIC_SPURIOUS_IRQ 7 /* of each chip: IRQ 7 or IRQ 15 */

/* pic_notify_fn: the master's INT output rose (called without the lock). */
typedef void (*pic_notify_fn)(void *ctx);

/* One 8259A. */
struct pic_chip {
	uint8_t irr;	      /* interrupt request register */
	uint8_t isr;	      /* in-service register */
	uint8_t imr;	      /* interrupt mask register (OCW1) */
	uint8_t line;	      /* input levels, for edge detection */
	uint8_t elcr;	      /* 1 = level-triggered input (ELCR) */
	uint8_t elcr_mask;    /* the ELCR bits that can be set */
	uint8_t vector_base;  /* ICW2, low three bits clear */
	uint8_t lowest;	      /* the input with the lowest priority (rotation) */
	uint8_t init_step;    /* 0 ready; 2, 3, 4: the next ICW expected */
	bool initialised;     /* a whole ICW sequence has been written */
	bool need_icw4;	      /* ICW1's IC4 */
	bool single;	      /* ICW1's SNGL: no ICW3 */
	bool auto_eoi;	      /* ICW4's AEOI */
	bool rotate_auto_eoi; /* OCW2: rotate in auto-EOI mode */
	bool special_nested;  /* ICW4's SFNM */
	bool special_mask;    /* OCW3's SMM */
	bool read_isr;	      /* OCW3's RR/RIS: the command port reads ISR, else IRR */
	bool poll;	      /* OCW3's P: the next read is a poll */
};

struct pic {
	pthread_mutex_t lock;
	struct pic_chip chip[2]; /* [0] master, [1] slave */
	bool output;		 /* the master's INT, as last computed (atomic) */
	pic_notify_fn notify;
	void *notify_ctx;
};

/*
 * pic_init: the pair at power-on: uninitialised, nothing requested, all
 * inputs edge-triggered. (notify) may be NULL. Returns 0 or -errno.
 */
int pic_init(struct pic *pic, pic_notify_fn notify, void *ctx);

/* pic_destroy: release the lock. */
void pic_destroy(struct pic *pic);

/*
 * pic_set_irq: drive input (irq) (0..15 but 2, the cascade; others ignored)
 * to (level). An edge-triggered input requests on the rising edge (latched
 * in IRR even while masked); a level-triggered one (ELCR) while high.
 */
void pic_set_irq(struct pic *pic, unsigned int irq, bool level);

/* pic_pulse: raise then lower (irq) under one lock: one edge. */
void pic_pulse(struct pic *pic, unsigned int irq);

/*
 * pic_pending: whether the master's INT output is high, i.e. an unmasked
 * request outranks what is in service. Cheap (an atomic load, no lock):
 * the boot vCPU asks before each KVM_RUN.
 */
bool pic_pending(struct pic *pic);

/*
 * pic_ack: the CPU's interrupt-acknowledge cycle: the vector of the highest
 * pending request, which goes in service (unless auto-EOI), cascading
 * through the slave. With nothing pending (the request went away), the
 * spurious vector of IRQ 7 (or IRQ 15 from the slave), with nothing put in
 * service.
 */
uint8_t pic_ack(struct pic *pic);

/*
 * pic_master_io, pic_slave_io: bus handlers for one chip's two ports
 * (offset 0 command, 1 data); (opaque) is the struct pic.
 */
void pic_master_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void pic_slave_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* pic_elcr_io: bus handler for ports PIC_ELCR_PORT and +1. */
void pic_elcr_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * One 8259A as a snapshot keeps it: struct pic_chip's fields, each flag
 * 0 or 1. The ELCR's settable bits are the board's, not state; the INT
 * output follows from the registers and is computed again on load.
 */
struct pic_chip_state {
	uint8_t irr, isr, imr, line, elcr, vector_base, lowest, init_step;
	uint8_t initialised, need_icw4, single, auto_eoi;
	uint8_t rotate_auto_eoi, special_nested, special_mask, read_isr;
	uint8_t poll;
	uint8_t pad[7];
};
_Static_assert(sizeof(struct pic_chip_state) == 24, "pic_chip_state has holes");

struct pic_state {
	struct pic_chip_state chip[PIC_CHIPS]; /* [0] master, [1] slave */
};
_Static_assert(sizeof(struct pic_state) == 48, "pic_state has holes");

/*
 * pic_save_state: (pic)'s guest-visible state into (st), zeroed first.
 * VMM thread, vCPUs parked.
 */
void pic_save_state(struct pic *pic, struct pic_state *st);

/*
 * pic_load_state: put (pic), freshly initialised, into (st)'s state. Every
 * field is checked first; on a bad one returns -EINVAL with one line naming
 * it in (err) (of (errsz) bytes) and leaves (pic) unchanged. If the master's
 * INT is high in the loaded state, (notify) is called, so the boot vCPU
 * takes the interrupt. Returns 0. VMM thread, before any vCPU runs.
 */
int pic_load_state(struct pic *pic, const struct pic_state *st, char *err, size_t errsz);

#endif /* EMBER_PIC_H */
