// SPDX-License-Identifier: Apache-2.0
/*
 * pic.c: the master and slave 8259A and their ELCRs (see pic.h). Command
 * words, priority modes and the poll command as the Intel 8259A data sheet
 * describes them ("Programming the 8259A", "Operation Command Words");
 * the ELCR as the PC chipsets (PIIX, ICH) lay it out.
 */
#include "pic.h"

#include <errno.h>
#include <string.h>

#include "dev_state.h"

#define MASTER	   0
#define SLAVE	   1
#define LEVELS	   8 /* inputs per chip */
#define LEVEL_MASK 7
#define NONE	   (-1) /* no level */
#define BIT(l)	   ((uint8_t)(1u << (l)))
#define CMD_PORT   0 /* A0 = 0 */
#define DATA_PORT  1 /* A0 = 1 */

/* A command-port write: bit 4 makes it ICW1, else bit 3 tells OCW3 from OCW2. */
#define CMD_ICW1    0x10
#define CMD_OCW3    0x08
#define ICW1_IC4    0x01 /* ICW4 follows */
#define ICW1_SNGL   0x02 /* no slaves: no ICW3 */
#define ICW2_VECTOR 0xf8 /* T7-T3; the chip supplies bits 2-0 */
#define ICW4_AEOI   0x02
#define ICW4_SFNM   0x10

/* OCW2: R, SL and EOI in bits 7-5 select the command; bits 2-0 name a level. */
#define OCW2_CMD(v)		 ((v) >> 5)
#define OCW2_LEVEL(v)		 ((v)&LEVEL_MASK)
#define OCW2_ROTATE_AEOI_CLEAR	 0
#define OCW2_EOI		 1
#define OCW2_NOP		 2
#define OCW2_SPECIFIC_EOI	 3
#define OCW2_ROTATE_AEOI_SET	 4
#define OCW2_ROTATE_EOI		 5
#define OCW2_SET_PRIORITY	 6
#define OCW2_ROTATE_SPECIFIC_EOI 7

#define OCW3_RIS  0x01 /* with RR: read ISR rather than IRR */
#define OCW3_RR	  0x02 /* RIS is valid */
#define OCW3_POLL 0x04
#define OCW3_SMM  0x20 /* with ESMM: special mask mode on, else off */
#define OCW3_ESMM 0x40 /* SMM is valid */
#define POLL_INT  0x80 /* poll word: a request was taken; its level in bits 2-0 */

/* init_step: which ICW the data port takes next. */
#define STEP_READY 0
#define STEP_ICW2  2
#define STEP_ICW3  3
#define STEP_ICW4  4

/*
 * The ELCR bits a PC lets software set: IRQ 0 (timer), 1 (keyboard) and 2
 * (cascade) on the master, IRQ 8 (CMOS clock) and 13 (FPU) on the slave are
 * edge-triggered for good.
 */
#define ELCR_MASTER_MASK 0xf8
#define ELCR_SLAVE_MASK	 0xde

int pic_init(struct pic *pic, pic_notify_fn notify, void *ctx)
{
	memset(pic, 0, sizeof(*pic));
	if (pthread_mutex_init(&pic->lock, NULL) != 0)
		return -ENOMEM;
	pic->notify = notify;
	pic->notify_ctx = ctx;
	pic->chip[MASTER].elcr_mask = ELCR_MASTER_MASK;
	pic->chip[SLAVE].elcr_mask = ELCR_SLAVE_MASK;
	for (unsigned int i = 0; i < 2; i++)
		pic->chip[i].lowest = LEVELS - 1;
	return 0;
}

void pic_destroy(struct pic *pic)
{
	pthread_mutex_destroy(&pic->lock);
}

/* first: the level of highest priority in (bits), or NONE; priority runs from lowest + 1 round. */
static int first(uint8_t bits, uint8_t lowest)
{
	for (unsigned int i = 1; i <= LEVELS; i++) {
		unsigned int l = (lowest + i) & LEVEL_MASK;
		if (bits & BIT(l))
			return (int)l;
	}
	return NONE;
}

/* rank: 0 for the level of highest priority, 7 for the lowest. */
static unsigned int rank(const struct pic_chip *c, int level)
{
	return ((unsigned int)level - c->lowest - 1) & LEVEL_MASK;
}

/*
 * request: the level a chip's INT asks the CPU for, or NONE: the unmasked
 * request of highest priority, if it outranks every level in service. In
 * special mask mode a masked level in service does not count; in special
 * fully nested mode the master lets IR2 through while IR2 is in service, so
 * a slave's higher level can interrupt its lower one.
 */
static int request(const struct pic_chip *c, bool master)
{
	if (!c->initialised || c->init_step != STEP_READY)
		return NONE;
	int r = first((uint8_t)(c->irr & ~c->imr), c->lowest);
	if (r == NONE)
		return NONE;
	uint8_t busy = c->isr;
	if (c->special_mask)
		busy &= (uint8_t)~c->imr;
	int s = first(busy, c->lowest);
	if (s == NONE || rank(c, r) < rank(c, s))
		return r;
	if (master && c->special_nested && r == PIC_CASCADE_IRQ && s == PIC_CASCADE_IRQ)
		return r;
	return NONE;
}

/*
 * take: one chip's part of an acknowledge of (level): an edge request is
 * consumed (a level one stands while its line is high); the level goes in
 * service, or with auto-EOI is ended at once, moving the lowest priority to
 * it when rotation in auto-EOI mode is on.
 */
static void take(struct pic_chip *c, int level)
{
	if (!(c->elcr & BIT(level)))
		c->irr &= (uint8_t)~BIT(level);
	if (!c->auto_eoi)
		c->isr |= BIT(level);
	else if (c->rotate_auto_eoi)
		c->lowest = (uint8_t)level;
}

/*
 * update: propagate the slave's INT and recompute the master's; returns
 * whether the master's INT rose. The master's IR2 is edge-triggered like
 * its other PC inputs: the slave's INT sets IRR bit 2 whenever it is high,
 * and only the master's acknowledge (or ICW1) clears it. So a slave request
 * that goes away before the acknowledge leaves IR2 asking, and the slave
 * answers with its IR7 vector. Lock held.
 */
static bool update(struct pic *pic)
{
	if (request(&pic->chip[SLAVE], false) != NONE)
		pic->chip[MASTER].irr |= BIT(PIC_CASCADE_IRQ);
	bool out = request(&pic->chip[MASTER], true) != NONE;
	bool was = __atomic_load_n(&pic->output, __ATOMIC_RELAXED);
	__atomic_store_n(&pic->output, out, __ATOMIC_RELEASE);
	return out && !was;
}

/* unlock: release the lock, then tell the vCPU if INT rose. */
static void unlock(struct pic *pic, bool rose)
{
	pthread_mutex_unlock(&pic->lock);
	if (rose && pic->notify != NULL)
		pic->notify(pic->notify_ctx);
}

/* drive: input (irq) goes to (level); lock held. */
static void drive(struct pic *pic, unsigned int irq, bool level)
{
	struct pic_chip *c = &pic->chip[irq / LEVELS];
	uint8_t bit = BIT(irq % LEVELS);
	bool rising = level && !(c->line & bit);

	if (level)
		c->line |= bit;
	else
		c->line &= (uint8_t)~bit;
	if (c->elcr & bit)
		c->irr = level ? c->irr | bit : c->irr & (uint8_t)~bit;
	else if (rising)
		c->irr |= bit; /* latched even while masked */
}

void pic_set_irq(struct pic *pic, unsigned int irq, bool level)
{
	if (irq >= PIC_IRQS || irq == PIC_CASCADE_IRQ)
		return;
	pthread_mutex_lock(&pic->lock);
	drive(pic, irq, level);
	unlock(pic, update(pic));
}

void pic_pulse(struct pic *pic, unsigned int irq)
{
	if (irq >= PIC_IRQS || irq == PIC_CASCADE_IRQ)
		return;
	pthread_mutex_lock(&pic->lock);
	drive(pic, irq, true);
	drive(pic, irq, false);
	unlock(pic, update(pic));
}

bool pic_pending(struct pic *pic)
{
	return __atomic_load_n(&pic->output, __ATOMIC_ACQUIRE);
}

uint8_t pic_ack(struct pic *pic)
{
	struct pic_chip *m = &pic->chip[MASTER], *s = &pic->chip[SLAVE];
	uint8_t vector;

	pthread_mutex_lock(&pic->lock);
	int l = request(m, true);
	if (l == NONE) {
		vector = m->vector_base | PIC_SPURIOUS_IRQ;
	} else if (l != PIC_CASCADE_IRQ) {
		take(m, l);
		vector = m->vector_base | (uint8_t)l;
	} else {
		int sl = request(s, false);
		if (sl == NONE) {
			/* IR2 rose but the slave's request is gone: its IR7, nothing in service */
			m->irr &= (uint8_t)~BIT(PIC_CASCADE_IRQ);
			vector = s->vector_base | PIC_SPURIOUS_IRQ;
		} else {
			take(m, l);
			take(s, sl);
			vector = s->vector_base | (uint8_t)sl;
		}
	}
	unlock(pic, update(pic));
	return vector;
}

/*
 * icw1: start (re)initialising. The data sheet's list: the edge sense is
 * reset (an input must go low and high again to request), the IMR cleared,
 * IR7 given the lowest priority, special mask mode cleared, status reads
 * set to the IRR, and without IC4 the ICW4 modes cleared. ISR is cleared as
 * well, so a re-initialising guest cannot leave a level blocked for good.
 */
static void icw1(struct pic_chip *c, uint8_t v)
{
	c->init_step = STEP_ICW2;
	c->need_icw4 = v & ICW1_IC4;
	c->single = v & ICW1_SNGL;
	c->irr = c->line & c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->lowest = LEVELS - 1;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_auto_eoi = false;
	if (!c->need_icw4) {
		c->auto_eoi = false;
		c->special_nested = false;
	}
}

/* eoi_highest: end the level in service of highest priority (non-specific EOI). */
static void eoi_highest(struct pic_chip *c, bool rotate)
{
	uint8_t eligible = c->isr;

	if (c->special_mask)
		eligible &= (uint8_t)~c->imr; /* masked levels need a specific EOI */
	int l = first(eligible, c->lowest);
	if (l == NONE)
		return;
	c->isr &= (uint8_t)~BIT(l);
	if (rotate)
		c->lowest = (uint8_t)l;
}

static void ocw2(struct pic_chip *c, uint8_t v)
{
	uint8_t level = OCW2_LEVEL(v);

	switch (OCW2_CMD(v)) {
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_auto_eoi = false;
		break;
	case OCW2_EOI:
		eoi_highest(c, false);
		break;
	case OCW2_SPECIFIC_EOI:
		c->isr &= (uint8_t)~BIT(level);
		break;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_auto_eoi = true;
		break;
	case OCW2_ROTATE_EOI:
		eoi_highest(c, true);
		break;
	case OCW2_SET_PRIORITY:
		c->lowest = level;
		break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= (uint8_t)~BIT(level);
		c->lowest = level;
		break;
	default: /* OCW2_NOP */
		break;
	}
}

/* ocw3: the register the command port reads, the poll command, special mask mode. */
static void ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
	c->poll = v & OCW3_POLL;
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
}

static void write_command(struct pic_chip *c, uint8_t v)
{
	if (v & CMD_ICW1)
		icw1(c, v);
	else if (v & CMD_OCW3)
		ocw3(c, v);
	else
		ocw2(c, v);
}

/* write_data: the next ICW while initialising, else OCW1 (the IMR). */
static void write_data(struct pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case STEP_ICW2:
		c->vector_base = v & ICW2_VECTOR;
		if (!c->single)
			c->init_step = STEP_ICW3;
		else
			c->init_step = c->need_icw4 ? STEP_ICW4 : STEP_READY;
		break;
	case STEP_ICW3: /* the PC wires its one slave to IR2, whatever this says */
		c->init_step = c->need_icw4 ? STEP_ICW4 : STEP_READY;
		break;
	case STEP_ICW4: /* microprocessor mode and buffering do not matter here */
		c->auto_eoi = v & ICW4_AEOI;
		c->special_nested = v & ICW4_SFNM;
		c->init_step = STEP_READY;
		break;
	default:
		c->imr = v;
		return;
	}
	if (c->init_step == STEP_READY)
		c->initialised = true;
}

/*
 * read_port: a read of either port after a poll command takes the request
 * INT stands for, as an acknowledge would (on this chip only), and returns
 * the poll word; otherwise the command port reads IRR or ISR, the data
 * port the IMR.
 */
static uint8_t read_port(struct pic_chip *c, bool master, uint64_t offset)
{
	if (c->poll) {
		c->poll = false;
		int l = request(c, master);
		if (l == NONE)
			return 0;
		take(c, l);
		return POLL_INT | (uint8_t)l;
	}
	if (offset == CMD_PORT)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

/* fill: a read of (len) bytes: the register in the first, zeros after. */
static void fill(uint8_t *data, uint32_t len, uint8_t v)
{
	data[0] = v;
	memset(data + 1, 0, len - 1);
}

/* chip_io: the 8-bit ports are decoded from the first byte; wider accesses ignore the rest. */
static void chip_io(struct pic *pic, unsigned int which, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write)
{
	struct pic_chip *c = &pic->chip[which];
	uint8_t v = 0;

	if (len == 0)
		return;
	pthread_mutex_lock(&pic->lock);
	if (offset == CMD_PORT && is_write)
		write_command(c, data[0]);
	else if (offset == DATA_PORT && is_write)
		write_data(c, data[0]);
	else if (offset < PIC_PORT_COUNT && !is_write)
		v = read_port(c, which == MASTER, offset);
	unlock(pic, update(pic));
	if (!is_write)
		fill(data, len, v);
}

void pic_master_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	chip_io(opaque, MASTER, offset, data, len, is_write);
}

void pic_slave_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	chip_io(opaque, SLAVE, offset, data, len, is_write);
}

void pic_elcr_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pic *pic = opaque;
	uint8_t v = 0;

	if (len == 0)
		return;
	pthread_mutex_lock(&pic->lock);
	if (offset < PIC_ELCR_COUNT) {
		struct pic_chip *c = &pic->chip[offset];
		if (is_write) {
			c->elcr = data[0] & c->elcr_mask;
			/* a level input requests while high, from now on */
			c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->line & c->elcr));
		} else {
			v = c->elcr;
		}
	}
	unlock(pic, update(pic));
	if (!is_write)
		fill(data, len, v);
}

void pic_save_state(struct pic *pic, struct pic_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&pic->lock);
	for (unsigned int i = 0; i < PIC_CHIPS; i++) {
		const struct pic_chip *c = &pic->chip[i];
		struct pic_chip_state *cs = &st->chip[i];
		cs->irr = c->irr;
		cs->isr = c->isr;
		cs->imr = c->imr;
		cs->line = c->line;
		cs->elcr = c->elcr;
		cs->vector_base = c->vector_base;
		cs->lowest = c->lowest;
		cs->init_step = c->init_step;
		cs->initialised = c->initialised;
		cs->need_icw4 = c->need_icw4;
		cs->single = c->single;
		cs->auto_eoi = c->auto_eoi;
		cs->rotate_auto_eoi = c->rotate_auto_eoi;
		cs->special_nested = c->special_nested;
		cs->special_mask = c->special_mask;
		cs->read_isr = c->read_isr;
		cs->poll = c->poll;
	}
	pthread_mutex_unlock(&pic->lock);
}

/* check_chip: whether (cs) is a state chip (c) can be in; else the line saying why. */
static int check_chip(const struct pic_chip *c, const struct pic_chip_state *cs, const char *name,
		      char *err, size_t errsz)
{
	const struct {
		const char *field;
		uint8_t value;
	} flags[] = {
	    {"initialised", cs->initialised},
	    {"need_icw4", cs->need_icw4},
	    {"single", cs->single},
	    {"auto_eoi", cs->auto_eoi},
	    {"rotate_auto_eoi", cs->rotate_auto_eoi},
	    {"special_nested", cs->special_nested},
	    {"special_mask", cs->special_mask},
	    {"read_isr", cs->read_isr},
	    {"poll", cs->poll},
	};

	if (cs->elcr & ~c->elcr_mask)
		return dev_state_reject(err, errsz, "pic: %s elcr 0x%02x sets bits outside 0x%02x",
					name, cs->elcr, c->elcr_mask);
	/* A level input requests exactly while its line is high. */
	if ((cs->irr ^ cs->line) & cs->elcr)
		return dev_state_reject(err, errsz,
					"pic: %s irr 0x%02x disagrees with line 0x%02x on its "
					"level inputs (elcr 0x%02x)",
					name, cs->irr, cs->line, cs->elcr);
	if (cs->vector_base & ~ICW2_VECTOR)
		return dev_state_reject(err, errsz,
					"pic: %s vector_base 0x%02x sets bits the chip supplies",
					name, cs->vector_base);
	if (cs->lowest > LEVEL_MASK)
		return dev_state_reject(err, errsz, "pic: %s lowest %u is not a level (0-%u)", name,
					cs->lowest, LEVEL_MASK);
	if (cs->init_step != STEP_READY && cs->init_step != STEP_ICW2 &&
	    cs->init_step != STEP_ICW3 && cs->init_step != STEP_ICW4)
		return dev_state_reject(err, errsz, "pic: %s init_step %u is not 0, 2, 3 or 4",
					name, cs->init_step);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (flags[i].value > 1)
			return dev_state_reject(err, errsz, "pic: %s %s %u is not 0 or 1", name,
						flags[i].field, flags[i].value);
	if (!dev_state_zero(cs->pad, sizeof(cs->pad)))
		return dev_state_reject(err, errsz, "pic: %s pad is not zero", name);
	return 0;
}

int pic_load_state(struct pic *pic, const struct pic_state *st, char *err, size_t errsz)
{
	static const char *const names[PIC_CHIPS] = {"master", "slave"};
	int ret = 0;

	/* No device drives the master's IR2: the slave's INT sets its IRR bit alone. */
	if (st->chip[MASTER].line & BIT(PIC_CASCADE_IRQ))
		return dev_state_reject(err, errsz,
					"pic: master line 0x%02x drives the cascade input",
					st->chip[MASTER].line);
	pthread_mutex_lock(&pic->lock);
	for (unsigned int i = 0; i < PIC_CHIPS && ret == 0; i++)
		ret = check_chip(&pic->chip[i], &st->chip[i], names[i], err, errsz);
	if (ret < 0) {
		pthread_mutex_unlock(&pic->lock);
		return ret;
	}
	for (unsigned int i = 0; i < PIC_CHIPS; i++) {
		struct pic_chip *c = &pic->chip[i];
		const struct pic_chip_state *cs = &st->chip[i];
		c->irr = cs->irr;
		c->isr = cs->isr;
		c->imr = cs->imr;
		c->line = cs->line;
		c->elcr = cs->elcr;
		c->vector_base = cs->vector_base;
		c->lowest = cs->lowest;
		c->init_step = cs->init_step;
		c->initialised = cs->initialised;
		c->need_icw4 = cs->need_icw4;
		c->single = cs->single;
		c->auto_eoi = cs->auto_eoi;
		c->rotate_auto_eoi = cs->rotate_auto_eoi;
		c->special_nested = cs->special_nested;
		c->special_mask = cs->special_mask;
		c->read_isr = cs->read_isr;
		c->poll = cs->poll;
	}
	/* From low, so a high INT counts as rising and the boot vCPU is told. */
	__atomic_store_n(&pic->output, false, __ATOMIC_RELAXED);
	unlock(pic, update(pic));
	return 0;
}
