// SPDX-License-Identifier: Apache-2.0
/* test_pic.c: the 8259A pair as guests program it, through its ports only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pic.h"

#define M_CMD  0x20
#define M_DATA 0x21
#define S_CMD  0xa0
#define S_DATA 0xa1
#define ELCR_M 0x4d0
#define ELCR_S 0x4d1

#define M_BASE 0x30 /* where Linux puts the ISA vectors */
#define S_BASE 0x38

#define ICW1_ICW4	0x11 /* cascade, ICW4 follows */
#define ICW4_8086	0x01
#define ICW4_AEOI	0x03
#define ICW4_SFNM	0x11
#define EOI		0x20
#define SPECIFIC_EOI(l) (0x60 | (l))
#define ROTATE_EOI	0xa0
#define ROTATE_SEOI(l)	(0xe0 | (l))
#define SET_PRIO(l)	(0xc0 | (l))
#define ROT_AEOI_SET	0x80
#define ROT_AEOI_CLEAR	0x00
#define OCW2_NOP	0x40
#define READ_IRR	0x0a
#define READ_ISR	0x0b
#define POLL		0x0c
#define SMM_SET		0x68
#define SMM_CLEAR	0x48

struct fixture {
	struct pic pic;
	int notified;
	int notified_locked; /* notify calls made with the lock held */
};

static void on_int(void *ctx)
{
	struct fixture *f = ctx;

	__atomic_add_fetch(&f->notified, 1, __ATOMIC_RELAXED);
	/* meaningful on one thread: there, a held lock can only be the caller's */
	if (pthread_mutex_trylock(&f->pic.lock) == 0)
		pthread_mutex_unlock(&f->pic.lock);
	else
		__atomic_add_fetch(&f->notified_locked, 1, __ATOMIC_RELAXED);
}

static void io(struct pic *pic, unsigned int port, uint8_t *data, uint32_t len, bool is_write)
{
	switch (port & ~1u) {
	case M_CMD:
		pic_master_io(pic, port & 1, data, len, is_write);
		break;
	case S_CMD:
		pic_slave_io(pic, port & 1, data, len, is_write);
		break;
	default:
		pic_elcr_io(pic, port & 1, data, len, is_write);
		break;
	}
}

static void out(struct pic *pic, unsigned int port, uint8_t v)
{
	io(pic, port, &v, 1, true);
}

static uint8_t in(struct pic *pic, unsigned int port)
{
	uint8_t v = 0x5a;

	io(pic, port, &v, 1, false);
	return v;
}

static uint8_t irr(struct pic *pic, unsigned int cmd)
{
	out(pic, cmd, READ_IRR);
	return in(pic, cmd);
}

static uint8_t isr(struct pic *pic, unsigned int cmd)
{
	out(pic, cmd, READ_ISR);
	return in(pic, cmd);
}

static void init_chip(struct pic *pic, unsigned int cmd, uint8_t base, uint8_t icw3, uint8_t icw4)
{
	out(pic, cmd, ICW1_ICW4);
	out(pic, cmd + 1, base);
	out(pic, cmd + 1, icw3);
	out(pic, cmd + 1, icw4);
}

/* init_pair: Linux's sequence (init_8259A), every line unmasked. */
static void init_pair(struct pic *pic, uint8_t master_icw4, uint8_t slave_icw4)
{
	init_chip(pic, M_CMD, M_BASE, 1 << PIC_CASCADE_IRQ, master_icw4);
	init_chip(pic, S_CMD, S_BASE, PIC_CASCADE_IRQ, slave_icw4);
}

/* eoi_slave: what a guest does after IRQ 8-15: the slave, then the cascade. */
static void eoi_slave(struct pic *pic)
{
	out(pic, S_CMD, EOI);
	out(pic, M_CMD, SPECIFIC_EOI(PIC_CASCADE_IRQ));
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(pic_init(&f.pic, on_int, &f), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pic_destroy(&f->pic);
	return 0;
}

/* Before ICW1 nothing is requested; edges latch, and ICW1 forgets them. */
static void test_uninitialised_raises_nothing(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	for (unsigned int irq = 0; irq < PIC_IRQS; irq++)
		pic_pulse(pic, irq);
	assert_false(pic_pending(pic));
	assert_int_equal(f->notified, 0);
	assert_int_equal(in(pic, M_CMD), 0xfb); /* status reads start on IRR */
	assert_int_equal(in(pic, S_CMD), 0xff);
	assert_int_equal(pic_ack(pic), PIC_SPURIOUS_IRQ); /* base 0 */
	assert_int_equal(isr(pic, M_CMD), 0);

	/* half an ICW sequence still requests nothing */
	out(pic, M_CMD, ICW1_ICW4);
	assert_int_equal(irr(pic, M_CMD), 0); /* edge sense reset */
	out(pic, M_DATA, M_BASE);
	pic_pulse(pic, 0);
	assert_false(pic_pending(pic));
	out(pic, M_DATA, 1 << PIC_CASCADE_IRQ);
	assert_false(pic_pending(pic));
	out(pic, M_DATA, ICW4_8086);
	assert_true(pic_pending(pic));
	assert_int_equal(f->notified, 1);
	assert_int_equal(pic_ack(pic), M_BASE);
	out(pic, M_CMD, EOI);

	/* the master ready, the slave not: IRQ 8-15 stay quiet */
	pic_pulse(pic, 9);
	assert_false(pic_pending(pic));
	assert_int_equal(irr(pic, M_CMD), 0);
	init_chip(pic, S_CMD, S_BASE, PIC_CASCADE_IRQ, ICW4_8086);
	assert_false(pic_pending(pic)); /* the slave's ICW1 forgot the edge */
	pic_pulse(pic, 9);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), S_BASE + 1);
	assert_int_equal(f->notified, 2);
}

static void test_init_sequence(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	assert_false(pic_pending(pic));
	assert_int_equal(in(pic, M_DATA), 0); /* ICW1 cleared the IMRs */
	assert_int_equal(in(pic, S_DATA), 0);
	pic_pulse(pic, 3);
	assert_true(pic_pending(pic));
	assert_int_equal(f->notified, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	assert_false(pic_pending(pic));
	assert_int_equal(isr(pic, M_CMD), 0x08);
	assert_int_equal(irr(pic, M_CMD), 0);
	out(pic, M_CMD, EOI);
	assert_int_equal(isr(pic, M_CMD), 0);

	/* ICW2's low three bits are the chip's to fill in */
	init_chip(pic, M_CMD, M_BASE | 7, 1 << PIC_CASCADE_IRQ, ICW4_8086);
	pic_pulse(pic, 0);
	assert_int_equal(pic_ack(pic), M_BASE);
	init_chip(pic, S_CMD, 0xaf, PIC_CASCADE_IRQ, ICW4_8086);
	pic_pulse(pic, 8);
	out(pic, M_CMD, EOI);
	assert_int_equal(pic_ack(pic), 0xa8);
}

/* SNGL skips ICW3, IC4 = 0 skips ICW4: the next data byte is then the IMR. */
static void test_init_without_icw3_or_icw4(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	/* single, ICW4 (auto-EOI): ICW2, ICW4, then OCW1 */
	out(pic, M_CMD, 0x13);
	out(pic, M_DATA, 0x40);
	out(pic, M_DATA, ICW4_AEOI);
	out(pic, M_DATA, 0xfe);
	assert_int_equal(in(pic, M_DATA), 0xfe);
	pic_pulse(pic, 0);
	assert_int_equal(pic_ack(pic), 0x40);
	assert_int_equal(isr(pic, M_CMD), 0); /* auto-EOI took */

	/* single, no ICW4: ICW2 then OCW1; ICW4's modes are cleared */
	out(pic, M_CMD, 0x12);
	out(pic, M_DATA, 0x48);
	out(pic, M_DATA, 0xfd);
	assert_int_equal(in(pic, M_DATA), 0xfd);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), 0x49);
	assert_int_equal(isr(pic, M_CMD), 0x02); /* no auto-EOI any more */

	/* cascade, no ICW4: ICW2, ICW3, then OCW1 */
	out(pic, M_CMD, 0x10);
	out(pic, M_DATA, 0x50);
	out(pic, M_DATA, 1 << PIC_CASCADE_IRQ);
	out(pic, M_DATA, 0xfd);
	assert_int_equal(in(pic, M_DATA), 0xfd);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), 0x51);
	assert_int_equal(isr(pic, M_CMD), 0x02);

	/* ICW1 with IC4 again, then ICW4 with SFNM; ICW1 without IC4 clears it */
	init_pair(pic, ICW4_SFNM, ICW4_8086);
	out(pic, M_CMD, 0x10);
	out(pic, M_DATA, M_BASE);
	out(pic, M_DATA, 1 << PIC_CASCADE_IRQ);
	pic_pulse(pic, 12);
	assert_int_equal(pic_ack(pic), S_BASE + 4);
	pic_pulse(pic, 9);
	assert_false(pic_pending(pic)); /* fully nested again */
}

/* ICW1 resets the IMR, ISR, priority, special mask, status read and edge sense. */
static void test_icw1_resets(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_pulse(pic, 5);
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	out(pic, M_CMD, SET_PRIO(3));
	out(pic, M_DATA, 0x55);
	out(pic, M_CMD, SMM_SET);
	out(pic, M_CMD, READ_ISR);
	pic_pulse(pic, 6);	   /* latched before ICW1 */
	pic_set_irq(pic, 7, true); /* and still high after it */

	init_chip(pic, M_CMD, M_BASE, 1 << PIC_CASCADE_IRQ, ICW4_8086);
	assert_int_equal(in(pic, M_DATA), 0);
	assert_false(pic_pending(pic));
	pic_set_irq(pic, 7, true); /* no new edge */
	assert_false(pic_pending(pic));
	pic_set_irq(pic, 7, false);
	pic_set_irq(pic, 7, true);
	assert_true(pic_pending(pic));		/* IRQ 5 is no longer in service */
	assert_int_equal(in(pic, M_CMD), 0x80); /* status reads IRR; IRQ 6's edge is gone */
	assert_int_equal(isr(pic, M_CMD), 0);
	/* IR7 is the lowest priority again (after SET_PRIO(3), IRQ 7 led IRQ 1) */
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	/* special mask mode is off: a masked level in service still blocks */
	out(pic, M_DATA, 0x02);
	assert_false(pic_pending(pic));
	out(pic, M_CMD, SPECIFIC_EOI(1));
	assert_int_equal(pic_ack(pic), M_BASE + 7);
	assert_int_equal(isr(pic, M_CMD), 0x80);
}

static void test_imr(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	out(pic, M_DATA, 0xa5);
	out(pic, S_DATA, 0x3c);
	assert_int_equal(in(pic, M_DATA), 0xa5);
	assert_int_equal(in(pic, S_DATA), 0x3c);

	/* a masked edge is latched and requests once unmasked */
	out(pic, M_DATA, 0x08);
	out(pic, S_DATA, 0);
	pic_pulse(pic, 3);
	assert_false(pic_pending(pic));
	assert_int_equal(irr(pic, M_CMD), 0x08);
	assert_int_equal(f->notified, 0);
	out(pic, M_DATA, 0);
	assert_true(pic_pending(pic));
	assert_int_equal(f->notified, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	out(pic, M_CMD, EOI);

	/* masking IR2 on the master holds back the whole slave */
	out(pic, M_DATA, 1 << PIC_CASCADE_IRQ);
	pic_pulse(pic, 10);
	assert_false(pic_pending(pic));
	assert_int_equal(irr(pic, S_CMD), 0x04);
	out(pic, M_DATA, 0);
	assert_int_equal(pic_ack(pic), S_BASE + 2);
	/* and the slave's own mask */
	eoi_slave(pic);
	out(pic, S_DATA, 0x80);
	pic_pulse(pic, 15);
	assert_false(pic_pending(pic));
	out(pic, S_DATA, 0);
	assert_int_equal(pic_ack(pic), S_BASE + 7);
	assert_int_equal(isr(pic, S_CMD), 0x80);
}

static void test_eoi(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_pulse(pic, 3);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	pic_pulse(pic, 5);
	assert_false(pic_pending(pic)); /* lower than what is in service */
	pic_pulse(pic, 1);
	assert_true(pic_pending(pic)); /* higher: nests */
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	assert_int_equal(isr(pic, M_CMD), 0x0a);
	out(pic, M_CMD, EOI); /* ends the highest: IRQ 1 */
	assert_int_equal(isr(pic, M_CMD), 0x08);
	assert_false(pic_pending(pic));
	out(pic, M_CMD, OCW2_NOP);
	assert_int_equal(isr(pic, M_CMD), 0x08);
	out(pic, M_CMD, SPECIFIC_EOI(6)); /* not in service: nothing */
	assert_int_equal(isr(pic, M_CMD), 0x08);
	out(pic, M_CMD, SPECIFIC_EOI(3));
	assert_int_equal(isr(pic, M_CMD), 0);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	/* a specific EOI ends the level named even below another in service */
	pic_pulse(pic, 0);
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	out(pic, M_CMD, SPECIFIC_EOI(5));
	assert_int_equal(isr(pic, M_CMD), 0x01);
	out(pic, M_CMD, EOI);
	assert_int_equal(isr(pic, M_CMD), 0);
	out(pic, M_CMD, EOI); /* nothing in service: harmless */
	assert_int_equal(isr(pic, M_CMD), 0);
}

static void test_rotation_and_priority(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	/* rotate on non-specific EOI: the level ended becomes the lowest */
	pic_pulse(pic, 0);
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	out(pic, M_CMD, ROTATE_EOI);
	assert_int_equal(isr(pic, M_CMD), 0);
	pic_pulse(pic, 0);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	out(pic, M_CMD, ROTATE_EOI); /* now IRQ 1 is the lowest, IRQ 2 the highest */
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	out(pic, M_CMD, EOI);
	pic_pulse(pic, 1);
	pic_pulse(pic, 7);
	assert_int_equal(pic_ack(pic), M_BASE + 7);
	out(pic, M_CMD, EOI);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	out(pic, M_CMD, EOI);

	/* rotate on specific EOI */
	pic_pulse(pic, 3);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	out(pic, M_CMD, ROTATE_SEOI(3)); /* IRQ 3 the lowest, IRQ 4 the highest */
	assert_int_equal(isr(pic, M_CMD), 0);
	pic_pulse(pic, 3);
	pic_pulse(pic, 5);
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	out(pic, M_CMD, EOI);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	out(pic, M_CMD, EOI);

	/* set priority: IRQ 6 the lowest, so IRQ 7 the highest; ISR untouched */
	pic_pulse(pic, 5);
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	out(pic, M_CMD, SET_PRIO(6));
	assert_int_equal(isr(pic, M_CMD), 0x20);
	out(pic, M_CMD, SPECIFIC_EOI(5));
	pic_pulse(pic, 0);
	pic_pulse(pic, 7);
	assert_int_equal(pic_ack(pic), M_BASE + 7);
	pic_pulse(pic, 6);
	assert_false(pic_pending(pic)); /* IRQ 7 in service is now the highest */
	out(pic, M_CMD, EOI);
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	out(pic, M_CMD, EOI);
	assert_int_equal(pic_ack(pic), M_BASE + 6);
}

static void test_auto_eoi(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_AEOI, ICW4_AEOI);
	pic_pulse(pic, 3);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	assert_int_equal(isr(pic, M_CMD), 0);
	pic_pulse(pic, 4); /* nothing in service blocks it */
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), M_BASE + 4);
	pic_pulse(pic, 11);
	assert_int_equal(pic_ack(pic), S_BASE + 3);
	assert_int_equal(isr(pic, M_CMD), 0);
	assert_int_equal(isr(pic, S_CMD), 0);

	/* rotate in auto-EOI mode: each level taken becomes the lowest */
	out(pic, M_CMD, ROT_AEOI_SET);
	pic_pulse(pic, 0);
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	pic_pulse(pic, 0);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	/* cleared: taking IRQ 1 leaves IRQ 0 the lowest */
	out(pic, M_CMD, ROT_AEOI_CLEAR);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	pic_pulse(pic, 0);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	assert_int_equal(isr(pic, M_CMD), 0);
}

static void test_special_mask_mode(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	out(pic, M_DATA, 0x02); /* the handler masks its own level */
	pic_pulse(pic, 4);
	assert_false(pic_pending(pic));
	out(pic, M_CMD, 0x28); /* SMM without ESMM: no action */
	assert_false(pic_pending(pic));
	out(pic, M_CMD, SMM_SET);
	assert_true(pic_pending(pic)); /* lower levels come through */
	assert_int_equal(pic_ack(pic), M_BASE + 4);
	assert_int_equal(isr(pic, M_CMD), 0x12);
	/* a non-specific EOI passes over the masked level */
	out(pic, M_CMD, EOI);
	assert_int_equal(isr(pic, M_CMD), 0x02);
	out(pic, M_CMD, EOI);
	assert_int_equal(isr(pic, M_CMD), 0x02);
	/* an unmasked level in service still blocks lower ones */
	pic_pulse(pic, 5);
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	pic_pulse(pic, 6);
	assert_false(pic_pending(pic));
	out(pic, M_CMD, SPECIFIC_EOI(5));
	assert_true(pic_pending(pic));
	out(pic, M_CMD, SMM_CLEAR); /* IRQ 1 in service blocks again */
	assert_false(pic_pending(pic));
	out(pic, M_CMD, SMM_SET);
	assert_int_equal(pic_ack(pic), M_BASE + 6);
	out(pic, M_CMD, SMM_CLEAR);
	out(pic, M_CMD, EOI); /* without SMM, the masked level is ended too */
	assert_int_equal(isr(pic, M_CMD), 0x40);
	out(pic, M_CMD, EOI);
	assert_int_equal(isr(pic, M_CMD), 0x00);
}

static void test_special_fully_nested(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	/* normal nesting: a slave in service locks out its own higher levels */
	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_pulse(pic, 12);
	assert_int_equal(pic_ack(pic), S_BASE + 4);
	pic_pulse(pic, 9);
	assert_false(pic_pending(pic));
	eoi_slave(pic);
	assert_int_equal(pic_ack(pic), S_BASE + 1);
	eoi_slave(pic);

	/* SFNM on the master: they come through IR2 while IR2 is in service */
	init_pair(pic, ICW4_SFNM, ICW4_8086);
	pic_pulse(pic, 12);
	assert_int_equal(pic_ack(pic), S_BASE + 4);
	pic_pulse(pic, 14);
	assert_false(pic_pending(pic)); /* the slave's own nesting still holds */
	pic_pulse(pic, 5);
	assert_false(pic_pending(pic)); /* and IR2 still blocks the master's lower levels */
	pic_pulse(pic, 9);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), S_BASE + 1);
	assert_int_equal(isr(pic, S_CMD), 0x12);
	assert_int_equal(isr(pic, M_CMD), 0x04);
	pic_pulse(pic, 0);
	assert_true(pic_pending(pic)); /* higher master levels as always */
	assert_int_equal(pic_ack(pic), M_BASE + 0);
	out(pic, M_CMD, EOI);
	/* the guest ends the slave's levels, sees its ISR empty, then the master's */
	out(pic, S_CMD, EOI);
	out(pic, S_CMD, EOI);
	assert_int_equal(isr(pic, S_CMD), 0);
	assert_true(pic_pending(pic)); /* IRQ 14, still through IR2 in service */
	assert_int_equal(pic_ack(pic), S_BASE + 6);
	eoi_slave(pic);
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	out(pic, M_CMD, EOI);

	/* SFNM means nothing to the slave: its own IR2 nests as usual */
	init_pair(pic, ICW4_SFNM, ICW4_SFNM);
	pic_pulse(pic, 10);
	assert_int_equal(pic_ack(pic), S_BASE + 2);
	pic_pulse(pic, 10);
	assert_false(pic_pending(pic));
	out(pic, S_CMD, EOI);
	assert_int_equal(pic_ack(pic), S_BASE + 2);
}

static void test_cascade(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	for (unsigned int irq = 8; irq < PIC_IRQS; irq++) {
		pic_pulse(pic, irq);
		assert_true(pic_pending(pic));
		assert_int_equal(pic_ack(pic), S_BASE + irq - 8);
		assert_false(pic_pending(pic));
		assert_int_equal(isr(pic, M_CMD), 1 << PIC_CASCADE_IRQ);
		assert_int_equal(isr(pic, S_CMD), 1 << (irq - 8));
		assert_int_equal(irr(pic, M_CMD), 0);
		assert_int_equal(irr(pic, S_CMD), 0);
		eoi_slave(pic);
		assert_int_equal(isr(pic, M_CMD), 0);
		assert_int_equal(isr(pic, S_CMD), 0);
	}
	assert_int_equal(f->notified, 8);
	/* IR2's place in the master's priority: below IRQ 1, above IRQ 3 */
	pic_pulse(pic, 3);
	pic_pulse(pic, 10);
	pic_pulse(pic, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 1);
	out(pic, M_CMD, EOI);
	assert_int_equal(pic_ack(pic), S_BASE + 2);
	eoi_slave(pic);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	out(pic, M_CMD, EOI);
	/* two slave requests: the higher first, the other after the EOIs */
	pic_pulse(pic, 13);
	pic_pulse(pic, 8);
	assert_int_equal(pic_ack(pic), S_BASE + 0);
	assert_false(pic_pending(pic));
	eoi_slave(pic);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), S_BASE + 5);
	assert_int_equal(f->notified_locked, 0);
}

/* IRQ 7: the request went away between INT and the acknowledge. */
static void test_spurious_7(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	out(pic, ELCR_M, 0x20); /* IRQ 5 level-triggered */
	pic_set_irq(pic, 5, true);
	assert_true(pic_pending(pic));
	pic_set_irq(pic, 5, false);
	assert_false(pic_pending(pic));
	assert_int_equal(pic_ack(pic), M_BASE + 7);
	assert_int_equal(isr(pic, M_CMD), 0);
	assert_int_equal(isr(pic, S_CMD), 0);

	/* an edge masked after INT rose: spurious, and still latched */
	pic_pulse(pic, 3);
	out(pic, M_DATA, 0x08);
	assert_int_equal(pic_ack(pic), M_BASE + 7);
	assert_int_equal(isr(pic, M_CMD), 0);
	out(pic, M_DATA, 0);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	out(pic, M_CMD, EOI);

	/* a real IRQ 7 has the same vector but goes in service */
	pic_pulse(pic, 7);
	assert_int_equal(pic_ack(pic), M_BASE + 7);
	assert_int_equal(isr(pic, M_CMD), 0x80);
}

/* IRQ 15: the master took IR2, but the slave's request had gone. */
static void test_spurious_15(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	out(pic, ELCR_S, 0x04); /* IRQ 10 level-triggered */
	pic_set_irq(pic, 10, true);
	assert_true(pic_pending(pic));
	pic_set_irq(pic, 10, false);
	assert_true(pic_pending(pic)); /* IR2's edge stays latched */
	assert_int_equal(irr(pic, S_CMD), 0);
	assert_int_equal(irr(pic, M_CMD), 0x04);
	assert_int_equal(pic_ack(pic), S_BASE + 7);
	assert_int_equal(isr(pic, M_CMD), 0);
	assert_int_equal(isr(pic, S_CMD), 0);
	assert_int_equal(irr(pic, M_CMD), 0); /* consumed */
	assert_false(pic_pending(pic));

	/* masked on the slave after INT rose */
	pic_pulse(pic, 11);
	out(pic, S_DATA, 0x08);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), S_BASE + 7);
	assert_false(pic_pending(pic));
	out(pic, S_DATA, 0);
	assert_int_equal(pic_ack(pic), S_BASE + 3);
	eoi_slave(pic);

	/* a real IRQ 15 goes in service on both chips */
	pic_pulse(pic, 15);
	assert_int_equal(pic_ack(pic), S_BASE + 7);
	assert_int_equal(isr(pic, S_CMD), 0x80);
	assert_int_equal(isr(pic, M_CMD), 0x04);
}

static void test_elcr(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	assert_int_equal(in(pic, ELCR_M), 0);
	out(pic, ELCR_M, 0xff);
	out(pic, ELCR_S, 0xff);
	assert_int_equal(in(pic, ELCR_M), 0xf8);
	assert_int_equal(in(pic, ELCR_S), 0xde);
	init_pair(pic, ICW4_8086, ICW4_8086);
	assert_int_equal(in(pic, ELCR_M), 0xf8); /* ICW1 leaves it alone */

	/* level: requests while high, again after the EOI, drops with the line */
	pic_set_irq(pic, 5, true);
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	assert_int_equal(irr(pic, M_CMD), 0x20);
	out(pic, M_CMD, EOI);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), M_BASE + 5);
	pic_set_irq(pic, 5, false);
	assert_int_equal(irr(pic, M_CMD), 0);
	out(pic, M_CMD, EOI);
	assert_false(pic_pending(pic));

	/* IRQ 0, 1, 8 and 13 cannot be level: one request per edge */
	static const unsigned int edge_only[] = {0, 1, 8, 13};
	for (unsigned int i = 0; i < 4; i++) {
		unsigned int irq = edge_only[i];
		pic_set_irq(pic, irq, true);
		assert_int_equal(pic_ack(pic), irq < 8 ? M_BASE + irq : S_BASE + irq - 8);
		out(pic, irq < 8 ? M_CMD : S_CMD, EOI);
		out(pic, M_CMD, SPECIFIC_EOI(PIC_CASCADE_IRQ)); /* IRQ 0, 1: harmless */
		if (irq < 8)
			out(pic, M_CMD, SPECIFIC_EOI(irq));
		assert_false(pic_pending(pic));
		pic_set_irq(pic, irq, false);
	}
	/* IRQ 9, a level line on the slave */
	pic_set_irq(pic, 9, true);
	assert_int_equal(pic_ack(pic), S_BASE + 1);
	eoi_slave(pic);
	assert_int_equal(pic_ack(pic), S_BASE + 1);
	pic_set_irq(pic, 9, false);
	eoi_slave(pic);
	assert_false(pic_pending(pic));

	/* edge back: a high line no longer requests after its acknowledge */
	out(pic, ELCR_M, 0);
	pic_set_irq(pic, 6, true);
	assert_int_equal(pic_ack(pic), M_BASE + 6);
	out(pic, M_CMD, EOI);
	assert_false(pic_pending(pic));
	/* made level while high: it requests at once */
	out(pic, ELCR_M, 0x40);
	assert_int_equal(irr(pic, M_CMD), 0x40);
	assert_int_equal(pic_ack(pic), M_BASE + 6);
	out(pic, ELCR_S, 0);
	assert_int_equal(in(pic, ELCR_S), 0);
}

static void test_poll(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	out(pic, M_CMD, POLL);
	assert_int_equal(in(pic, M_CMD), 0); /* nothing requested */
	pic_pulse(pic, 3);
	out(pic, M_CMD, READ_ISR);
	out(pic, M_CMD, POLL); /* RR = 0: the ISR selection stands */
	assert_int_equal(in(pic, M_CMD), 0x80 | 3);
	assert_int_equal(in(pic, M_CMD), 0x08); /* the next read is ISR again */
	assert_false(pic_pending(pic));
	/* a poll through the data port, with RR/RIS selecting IRR meanwhile */
	pic_pulse(pic, 1);
	pic_pulse(pic, 4);
	out(pic, M_CMD, POLL | READ_IRR);
	assert_int_equal(in(pic, M_DATA), 0x80 | 1);
	assert_int_equal(in(pic, M_CMD), 0x10);
	out(pic, M_CMD, POLL);
	assert_int_equal(in(pic, M_CMD), 0); /* IRQ 4 is below what is in service */
	out(pic, M_CMD, EOI);
	out(pic, M_CMD, EOI);
	out(pic, M_CMD, POLL);
	assert_int_equal(in(pic, M_CMD), 0x80 | 4);
	out(pic, M_CMD, EOI);
	assert_int_equal(isr(pic, M_CMD), 0);
	/* the latest OCW3 decides: one without P cancels a poll not yet read */
	pic_pulse(pic, 6);
	out(pic, M_CMD, POLL);
	out(pic, M_CMD, READ_IRR);
	assert_int_equal(in(pic, M_CMD), 0x40);
	assert_true(pic_pending(pic));
	assert_int_equal(pic_ack(pic), M_BASE + 6);
	out(pic, M_CMD, EOI);
	/* the slave polled on its own; the master polled sees IR2 only */
	pic_pulse(pic, 13);
	out(pic, M_CMD, POLL);
	assert_int_equal(in(pic, M_CMD), 0x80 | PIC_CASCADE_IRQ);
	out(pic, S_CMD, POLL);
	assert_int_equal(in(pic, S_CMD), 0x80 | 5);
	assert_int_equal(isr(pic, S_CMD), 0x20);
	assert_int_equal(isr(pic, M_CMD), 0x04);
	assert_false(pic_pending(pic));
}

static void test_read_register_select(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_pulse(pic, 6);
	assert_int_equal(pic_ack(pic), M_BASE + 6);
	pic_pulse(pic, 7);
	out(pic, M_DATA, 0x11);
	assert_int_equal(in(pic, M_CMD), 0x80); /* IRR after ICW1 */
	out(pic, M_CMD, READ_ISR);
	assert_int_equal(in(pic, M_CMD), 0x40);
	assert_int_equal(in(pic, M_CMD), 0x40); /* it stays selected */
	out(pic, M_CMD, 0x08);			/* RR = 0 */
	assert_int_equal(in(pic, M_CMD), 0x40);
	out(pic, M_CMD, 0x09); /* RR = 0, RIS = 1 */
	assert_int_equal(in(pic, M_CMD), 0x40);
	out(pic, M_CMD, READ_IRR);
	assert_int_equal(in(pic, M_CMD), 0x80);
	out(pic, M_CMD, 0x09);
	assert_int_equal(in(pic, M_CMD), 0x80);
	assert_int_equal(in(pic, M_DATA), 0x11); /* the data port is always the IMR */
}

static void test_notify(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;

	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_pulse(pic, 3);
	assert_int_equal(f->notified, 1);
	pic_pulse(pic, 4); /* INT is already high */
	pic_pulse(pic, 3);
	assert_int_equal(f->notified, 1);
	assert_int_equal(pic_ack(pic), M_BASE + 3);
	assert_false(pic_pending(pic));
	out(pic, M_CMD, EOI); /* IRQ 4 now: INT rises again */
	assert_int_equal(f->notified, 2);
	assert_int_equal(pic_ack(pic), M_BASE + 4);
	out(pic, ELCR_M, 0x20);
	pic_set_irq(pic, 5, true);
	pic_set_irq(pic, 5, true);
	assert_int_equal(f->notified, 2); /* IRQ 4 in service blocks IRQ 5 */
	out(pic, M_CMD, EOI);
	assert_int_equal(f->notified, 3);
	pic_set_irq(pic, 5, false);
	assert_false(pic_pending(pic));
	pic_pulse(pic, 5); /* a level line's pulse: up and down under one lock */
	assert_int_equal(f->notified, 3);
	assert_false(pic_pending(pic));
	assert_int_equal(f->notified_locked, 0);

	/* no callback at all */
	struct pic quiet;
	assert_int_equal(pic_init(&quiet, NULL, NULL), 0);
	init_pair(&quiet, ICW4_8086, ICW4_8086);
	pic_pulse(&quiet, 1);
	assert_true(pic_pending(&quiet));
	assert_int_equal(pic_ack(&quiet), M_BASE + 1);
	pic_destroy(&quiet);
}

/* Any width: the first byte counts; reads fill every byte; stray offsets do nothing. */
static void test_access_widths(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;
	uint8_t buf[5];

	init_pair(pic, ICW4_8086, ICW4_8086);
	memcpy(buf, (uint8_t[]){0xfe, 0x12, 0x34, 0x56}, 4);
	pic_master_io(pic, 1, buf, 4, true);
	assert_int_equal(in(pic, M_DATA), 0xfe);
	memset(buf, 0xaa, sizeof(buf));
	pic_master_io(pic, 1, buf, 4, false);
	assert_memory_equal(buf, ((uint8_t[]){0xfe, 0, 0, 0, 0xaa}), 5);
	memset(buf, 0xaa, sizeof(buf));
	pic_slave_io(pic, 0, buf, 2, false);
	assert_memory_equal(buf, ((uint8_t[]){0, 0, 0xaa}), 3);
	buf[0] = 0xc0;
	buf[1] = 0xff;
	pic_elcr_io(pic, 1, buf, 2, true);
	memset(buf, 0xaa, sizeof(buf));
	pic_elcr_io(pic, 1, buf, 4, false);
	assert_memory_equal(buf, ((uint8_t[]){0xc0, 0, 0, 0, 0xaa}), 5);

	/* offsets past the ports: writes ignored, reads zero */
	for (uint64_t off = PIC_PORT_COUNT; off < 8; off++) {
		buf[0] = ICW1_ICW4;
		pic_master_io(pic, off, buf, 1, true);
		pic_slave_io(pic, off, buf, 1, true);
		pic_elcr_io(pic, off, buf, 1, true);
		memset(buf, 0xaa, sizeof(buf));
		pic_master_io(pic, off, buf, 2, false);
		assert_memory_equal(buf, ((uint8_t[]){0, 0, 0xaa}), 3);
		memset(buf, 0xaa, sizeof(buf));
		pic_elcr_io(pic, off, buf, 1, false);
		assert_int_equal(buf[0], 0);
	}
	pic_master_io(pic, UINT64_MAX, buf, 1, true);
	assert_int_equal(in(pic, M_DATA), 0xfe);
	assert_int_equal(in(pic, ELCR_S), 0xc0);
	/* a zero-length access touches nothing */
	memset(buf, 0xaa, sizeof(buf));
	pic_master_io(pic, 0, buf, 0, false);
	pic_elcr_io(pic, 0, buf, 0, false);
	assert_int_equal(buf[0], 0xaa);
	/* inputs out of range, and the cascade input itself, are ignored */
	out(pic, M_DATA, 0);
	pic_set_irq(pic, PIC_IRQS, true);
	pic_set_irq(pic, 1000, true);
	pic_pulse(pic, PIC_IRQS);
	pic_pulse(pic, PIC_CASCADE_IRQ);
	pic_set_irq(pic, PIC_CASCADE_IRQ, true);
	assert_false(pic_pending(pic));
	assert_int_equal(irr(pic, M_CMD), 0);
	assert_int_equal(irr(pic, S_CMD), 0);
	/* a wide read takes a poll like a narrow one */
	pic_pulse(pic, 6);
	out(pic, M_CMD, POLL);
	memset(buf, 0xaa, sizeof(buf));
	pic_master_io(pic, 0, buf, 4, false);
	assert_memory_equal(buf, ((uint8_t[]){0x86, 0, 0, 0, 0xaa}), 5);
}

/* xorshift32: a fixed sequence, the same on every run. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static const unsigned int ports[] = {M_CMD, M_DATA, S_CMD, S_DATA, ELCR_M, ELCR_S};

static void check_invariants(struct fixture *f)
{
	struct pic *pic = &f->pic;

	for (unsigned int i = 0; i < 2; i++) {
		const struct pic_chip *c = &pic->chip[i];
		assert_true(c->lowest < 8);
		assert_true(c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4));
		assert_int_equal(c->elcr & ~c->elcr_mask, 0);
		assert_int_equal(c->irr & c->elcr, c->line & c->elcr);
		assert_int_equal(c->vector_base & 7, 0);
	}
	assert_int_equal(pic->chip[0].elcr_mask, 0xf8);
	assert_int_equal(pic->chip[1].elcr_mask, 0xde);
	if (!pic->chip[0].initialised || pic->chip[0].init_step != 0)
		assert_false(pic_pending(pic));
	assert_int_equal(f->notified_locked, 0);
}

/* Garbage: every byte to every port, then random traffic; the chip stays sane. */
static void test_garbage(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;
	uint32_t seed = 0x8259a;
	uint8_t buf[8];
	unsigned int acks = 0, spurious = 0;

	for (unsigned int p = 0; p < 6; p++)
		for (unsigned int v = 0; v < 256; v++) {
			out(pic, ports[p], (uint8_t)v);
			(void)in(pic, ports[p]);
			pic_pulse(pic, v % PIC_IRQS);
			check_invariants(f);
		}
	for (unsigned int i = 0; i < 200000; i++) {
		uint32_t r = next_rand(&seed);
		unsigned int port = ports[r % 6];
		uint32_t len = 1u << ((r >> 3) % 3);
		unsigned int irq = (r >> 5) % (PIC_IRQS + 2);
		uint8_t v = (uint8_t)(r >> 24);

		switch ((r >> 10) % 6) {
		case 0:
			memset(buf, v, sizeof(buf));
			io(pic, port, buf, len, true);
			break;
		case 1:
			memset(buf, 0xaa, sizeof(buf));
			io(pic, port, buf, len, false);
			for (uint32_t b = 1; b < len; b++)
				assert_int_equal(buf[b], 0);
			assert_int_equal(buf[len], 0xaa);
			if (port == ELCR_M)
				assert_int_equal(buf[0] & ~0xf8, 0);
			if (port == ELCR_S)
				assert_int_equal(buf[0] & ~0xde, 0);
			break;
		case 2:
			pic_set_irq(pic, irq, (r >> 9) & 1);
			break;
		case 3:
			pic_pulse(pic, irq);
			break;
		default: {
			bool pending = pic_pending(pic);
			uint8_t mb = pic->chip[0].vector_base, sb = pic->chip[1].vector_base;
			uint8_t vec = pic_ack(pic);
			acks++;
			assert_true((vec & 0xf8) == mb || (vec & 0xf8) == sb);
			if (!pending) {
				assert_int_equal(vec,
						 mb | 7); /* no INT: the master's spurious IRQ 7 */
				spurious++;
			}
			break;
		}
		}
		check_invariants(f);
	}
	assert_true(acks > 1000);
	assert_true(spurious > 0 && spurious < acks);

	/* whatever came before, a guest that initialises the pair gets a working one */
	for (unsigned int irq = 0; irq < PIC_IRQS; irq++)
		pic_set_irq(pic, irq, false);
	out(pic, ELCR_M, 0);
	out(pic, ELCR_S, 0);
	out(pic, S_DATA, 0xff); /* as Linux does: the slave quiet while the master starts */
	init_pair(pic, ICW4_8086, ICW4_8086);
	for (unsigned int irq = 0; irq < PIC_IRQS; irq++) {
		if (irq == PIC_CASCADE_IRQ)
			continue;
		pic_pulse(pic, irq);
		assert_true(pic_pending(pic));
		assert_int_equal(pic_ack(pic), irq < 8 ? M_BASE + irq : S_BASE + irq - 8);
		if (irq >= 8)
			out(pic, S_CMD, EOI);
		out(pic, M_CMD, EOI);
		assert_false(pic_pending(pic));
	}
}

/* Devices on one thread, the vCPU on another: no deadlock, no notify under the lock. */
struct hammer {
	struct fixture *f;
	uint32_t seed;
};

static void *devices(void *arg)
{
	struct hammer *h = arg;

	for (unsigned int i = 0; i < 50000; i++) {
		uint32_t r = next_rand(&h->seed);
		pic_set_irq(&h->f->pic, r % PIC_IRQS, (r >> 8) & 1);
		pic_pulse(&h->f->pic, (r >> 4) % PIC_IRQS);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;
	struct hammer h = {f, 12345};
	pthread_t t;

	out(pic, ELCR_S, 0x0c);
	init_pair(pic, ICW4_8086, ICW4_8086);
	assert_int_equal(pthread_create(&t, NULL, devices, &h), 0);
	for (unsigned int i = 0; i < 50000; i++) {
		if (pic_pending(pic)) {
			uint8_t vec = pic_ack(pic);
			assert_true((vec & 0xf8) == M_BASE || (vec & 0xf8) == S_BASE);
			if ((vec & 0xf8) == S_BASE)
				out(pic, S_CMD, EOI);
			out(pic, M_CMD, EOI);
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(__atomic_load_n(&f->notified, __ATOMIC_RELAXED) > 0);
}

/* ---- snapshots ---- */

/*
 * step: one operation a guest or a device could do, chosen by (r), on (pic);
 * returns what it read (a port, an acknowledge, the INT output), so two pairs
 * given the same (r) can be compared.
 */
static unsigned int step(struct pic *pic, uint32_t r)
{
	unsigned int port = ports[r % 6];
	uint8_t v = (uint8_t)(r >> 24);

	switch ((r >> 10) % 6) {
	case 0:
		out(pic, port, v);
		return 0;
	case 1:
		return in(pic, port);
	case 2:
		pic_set_irq(pic, (r >> 5) % PIC_IRQS, (r >> 9) & 1);
		return 0;
	case 3:
		pic_pulse(pic, (r >> 5) % PIC_IRQS);
		return 0;
	case 4:
		return pic_pending(pic);
	default:
		return pic_ack(pic);
	}
}

/* save_into: (f)'s state loaded into (g), freshly initialised; checks the notify rule. */
static void save_into(struct fixture *f, struct fixture *g, struct pic_state *st)
{
	struct pic_state again;
	char err[128] = "";

	memset(g, 0, sizeof(*g));
	assert_int_equal(pic_init(&g->pic, on_int, g), 0);
	pic_save_state(&f->pic, st);
	assert_int_equal(pic_load_state(&g->pic, st, err, sizeof(err)), 0);
	/* INT high in the loaded state: the boot vCPU is told, once, without the lock */
	assert_int_equal(g->notified, pic_pending(&f->pic) ? 1 : 0);
	assert_int_equal(g->notified_locked, 0);
	assert_int_equal(pic_pending(&g->pic), pic_pending(&f->pic));
	pic_save_state(&g->pic, &again);
	assert_memory_equal(st, &again, sizeof(again));
}

/* same_for: (f) and (g) do and answer the same for (n) random steps from (seed). */
static void same_for(struct fixture *f, struct fixture *g, uint32_t seed, unsigned int n)
{
	int nf = f->notified, ng = g->notified;

	for (unsigned int i = 0; i < n; i++) {
		uint32_t r = next_rand(&seed);
		assert_int_equal(step(&f->pic, r), step(&g->pic, r));
		assert_int_equal(pic_pending(&f->pic), pic_pending(&g->pic));
		assert_int_equal(f->notified - nf, g->notified - ng);
	}
}

/* A pair Linux has set up, requests in service and waiting, modes on: saved, loaded, the same. */
static void test_state_round_trip(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;
	struct fixture g;
	struct pic_state st;

	out(pic, ELCR_S, 0x04); /* IRQ 10 level-triggered */
	init_pair(pic, ICW4_SFNM, ICW4_8086);
	out(pic, M_DATA, 0x10);	      /* IRQ 4 masked */
	out(pic, M_CMD, SET_PRIO(2)); /* IR3 first, IR2 last */
	pic_set_irq(pic, 10, true);
	assert_int_equal(pic_ack(pic), S_BASE + 2); /* in service on both chips */
	pic_pulse(pic, 3);
	pic_pulse(pic, 4);			    /* latched while masked */
	assert_int_equal(pic_ack(pic), M_BASE + 3); /* a master level outranking IR2 */
	pic_pulse(pic, 9);
	out(pic, S_CMD, SMM_SET);
	out(pic, M_CMD, READ_ISR);
	out(pic, S_CMD, POLL);
	save_into(f, &g, &st);
	assert_int_equal(st.chip[1].line, 0x04);
	assert_int_equal(st.chip[0].special_nested, 1);
	assert_int_equal(st.chip[1].poll, 1);
	same_for(f, &g, 0x5a5a5a5a, 20000);
	pic_destroy(&g.pic);

	/* with INT high: a fresh request nobody has acknowledged yet */
	out(pic, S_CMD, EOI);
	out(pic, M_CMD, EOI);
	out(pic, M_CMD, EOI);
	out(pic, S_CMD, EOI);
	pic_pulse(pic, 5);
	assert_true(pic_pending(pic));
	save_into(f, &g, &st);
	assert_int_equal(g.notified, 1);
	same_for(f, &g, 0x1234, 20000);
	pic_destroy(&g.pic);
}

/* Half an initialisation (the slave waiting for ICW3), then random traffic, saved and loaded. */
static void test_state_round_trip_random(void **state)
{
	struct fixture *f = *state;
	struct pic *pic = &f->pic;
	uint32_t seed = 0xc0ffee;
	struct fixture g;
	struct pic_state st;

	init_chip(pic, M_CMD, M_BASE, 1 << PIC_CASCADE_IRQ, ICW4_8086);
	out(pic, S_CMD, ICW1_ICW4);
	out(pic, S_DATA, S_BASE);
	save_into(f, &g, &st);
	assert_int_equal(st.chip[1].init_step, 3);
	same_for(f, &g, 7, 2);
	pic_destroy(&g.pic);
	for (unsigned int round = 0; round < 200; round++) {
		for (unsigned int i = 0; i < 300; i++)
			(void)step(pic, next_rand(&seed));
		save_into(f, &g, &st);
		same_for(f, &g, seed ^ round, 1000);
		pic_destroy(&g.pic);
	}
}

/* pic_state_flag: the (i)th of a chip state's 0-or-1 fields. */
static uint8_t *pic_state_flag(struct pic_chip_state *c, unsigned int i)
{
	uint8_t *flags[] = {&c->initialised,  &c->need_icw4,	   &c->single,
			    &c->auto_eoi,     &c->rotate_auto_eoi, &c->special_nested,
			    &c->special_mask, &c->read_isr,	   &c->poll};

	return i < sizeof(flags) / sizeof(flags[0]) ? flags[i] : NULL;
}

static void test_state_rejects(void **state)
{
	static const char *const flag_names[] = {
	    "initialised",    "need_icw4",    "single",	  "auto_eoi", "rotate_auto_eoi",
	    "special_nested", "special_mask", "read_isr", "poll"};
	struct fixture *f = *state;
	struct pic *pic = &f->pic;
	struct pic_state good, before, after;
	struct {
		struct pic_state st;
		char field[48];
	} bad[32];
	unsigned int n = 0;
	struct fixture g;

	out(pic, ELCR_S, 0x04);
	init_pair(pic, ICW4_8086, ICW4_8086);
	pic_set_irq(pic, 10, true);
	pic_save_state(pic, &good);
#define BAD(field_, ...)                                                                           \
	do {                                                                                       \
		bad[n].st = good;                                                                  \
		__VA_ARGS__;                                                                       \
		snprintf(bad[n].field, sizeof(bad[n].field), "%s", (field_));                      \
		n++;                                                                               \
	} while (0)
	BAD("master elcr 0x04", bad[n].st.chip[0].elcr = 0x04);
	BAD("slave elcr 0x05", bad[n].st.chip[1].elcr = 0x05);
	BAD("slave irr 0x00 disagrees with line 0x04", bad[n].st.chip[1].irr = 0);
	BAD("slave irr 0x04 disagrees with line 0x00", bad[n].st.chip[1].line = 0);
	BAD("master vector_base 0x31", bad[n].st.chip[0].vector_base = 0x31);
	BAD("slave lowest 8", bad[n].st.chip[1].lowest = 8);
	BAD("master init_step 1", bad[n].st.chip[0].init_step = 1);
	BAD("slave init_step 5", bad[n].st.chip[1].init_step = 5);
	BAD("master line 0x04 drives the cascade", bad[n].st.chip[0].line = 0x04);
	BAD("slave pad", bad[n].st.chip[1].pad[0] = 1);
	for (unsigned int chip = 0; chip < 2; chip++)
		for (unsigned int i = 0; pic_state_flag(&bad[n].st.chip[chip], i) != NULL; i++) {
			BAD("", *pic_state_flag(&bad[n].st.chip[chip], i) = 2);
			snprintf(bad[n - 1].field, sizeof(bad[n - 1].field), "%s %s 2",
				 chip ? "slave" : "master", flag_names[i]);
		}
#undef BAD
	memset(&g, 0, sizeof(g));
	assert_int_equal(pic_init(&g.pic, on_int, &g), 0);
	pic_save_state(&g.pic, &before);
	for (unsigned int i = 0; i < n; i++) {
		char err[128] = "";
		assert_int_equal(pic_load_state(&g.pic, &bad[i].st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "pic: ", 5) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		pic_save_state(&g.pic, &after);
		assert_memory_equal(&before, &after, sizeof(before));
		assert_int_equal(g.notified, 0);
	}
	assert_int_equal(pic_load_state(&g.pic, &good, NULL, 0), 0);
	pic_destroy(&g.pic);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_uninitialised_raises_nothing),
	    T(test_init_sequence),
	    T(test_init_without_icw3_or_icw4),
	    T(test_icw1_resets),
	    T(test_imr),
	    T(test_eoi),
	    T(test_rotation_and_priority),
	    T(test_auto_eoi),
	    T(test_special_mask_mode),
	    T(test_special_fully_nested),
	    T(test_cascade),
	    T(test_spurious_7),
	    T(test_spurious_15),
	    T(test_elcr),
	    T(test_poll),
	    T(test_read_register_select),
	    T(test_notify),
	    T(test_access_widths),
	    T(test_garbage),
	    T(test_threads),
	    T(test_state_round_trip),
	    T(test_state_round_trip_random),
	    T(test_state_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
