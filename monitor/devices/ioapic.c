// SPDX-License-Identifier: Apache-2.0
/*
 * ioapic.c: the I/O APIC of the split irqchip. Register layout from the
 * Intel 82093AA datasheet (3.0, 3.2.4); MSI format from the SDM vol. 3A
 * 10.11.1-10.11.2.
 */
#include "ioapic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dev_state.h"
#include "layout.h"
#include "log.h"

/* Direct registers (offsets in the MMIO window). */
#define IOREGSEL 0x00
#define IOWIN	 0x10
#define IOEOI	 0x40
/* Indirect registers. */
#define REG_ID		0x00
#define REG_VERSION	0x01
#define REG_ARB		0x02
#define REG_REDIR_BASE	0x10
#define IOAPIC_VERSION	0x11
#define ID_SHIFT	24
#define ID_MAX		0xff /* bits 24-31 of the ID register */
#define REGSEL_MASK	0xff
#define MAX_REDIR_SHIFT 16

/* Redirection entry fields. */
#define RTE_VECTOR_MASK	    0xffULL
#define RTE_DELIVERY_SHIFT  8
#define RTE_DELIVERY_MASK   0x7ULL
#define RTE_DEST_LOGICAL    (1ULL << 11)
#define RTE_DELIVERY_STATUS (1ULL << 12)
#define RTE_REMOTE_IRR	    (1ULL << 14)
#define RTE_LEVEL	    (1ULL << 15)
#define RTE_MASKED	    (1ULL << 16)
#define RTE_DEST_SHIFT	    56
/* Bits the guest may not write: delivery status and remote IRR. */
#define RTE_READ_ONLY (RTE_DELIVERY_STATUS | RTE_REMOTE_IRR)

/* MSI address and data (SDM 10.11.1, 10.11.2). */
#define MSI_ADDR_BASE		LAYOUT_LAPIC_ADDR
#define MSI_ADDR_DEST_SHIFT	12
#define MSI_ADDR_LOGICAL	(1U << 2)
#define MSI_DATA_DELIVERY_SHIFT 8
#define MSI_DATA_ASSERT		(1U << 14)
#define MSI_DATA_LEVEL		(1U << 15)

int ioapic_init(struct ioapic *io, struct vm *vm, uint32_t id)
{
	memset(io, 0, sizeof(*io));
	io->vm = vm;
	io->id = id;
	pthread_mutex_init(&io->lock, NULL);
	for (unsigned int i = 0; i < VM_IOAPIC_PINS; i++)
		io->redir[i] = RTE_MASKED;
	int ret = bus_register(&vm->mmio, LAYOUT_IOAPIC_ADDR, LAYOUT_IOAPIC_SIZE, ioapic_mmio, io);
	if (ret < 0) {
		pthread_mutex_destroy(&io->lock);
		return ret;
	}
	vm->ioapic = io;
	return 0;
}

void ioapic_destroy(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

/* msi_for: the MSI a redirection entry describes (SDM 10.11.1-10.11.2). */
static void msi_for(uint64_t rte, uint64_t *addr, uint32_t *data)
{
	*addr = MSI_ADDR_BASE | ((rte >> RTE_DEST_SHIFT) << MSI_ADDR_DEST_SHIFT);
	*data = (uint32_t)(rte & RTE_VECTOR_MASK) |
		(uint32_t)(((rte >> RTE_DELIVERY_SHIFT) & RTE_DELIVERY_MASK)
			   << MSI_DATA_DELIVERY_SHIFT);
	if (rte & RTE_DEST_LOGICAL)
		*addr |= MSI_ADDR_LOGICAL;
	if (rte & RTE_LEVEL)
		*data |= MSI_DATA_LEVEL | MSI_DATA_ASSERT;
}

/* deliver: send pin's MSI; called with the lock held. */
static void deliver(struct ioapic *io, unsigned int pin)
{
	uint64_t addr;
	uint32_t data;

	msi_for(io->redir[pin], &addr, &data);
	if (io->redir[pin] & RTE_LEVEL)
		io->redir[pin] |= RTE_REMOTE_IRR;
	int ret = vm_signal_msi(io->vm, addr, data);
	if (ret < 0)
		log_warn_errno(-ret, "ioapic: KVM_SIGNAL_MSI for pin %u", pin);
}

/*
 * sync_route: keep KVM's route for GSI (pin) equal to the entry, so an
 * irqfd on that GSI delivers what the guest programmed; lock held. Returns
 * 0 or -errno (vm.c has logged it).
 */
static int sync_route(struct ioapic *io, unsigned int pin)
{
	uint64_t addr;
	uint32_t data;

	msi_for(io->redir[pin], &addr, &data);
	return vm_set_msi_route(io->vm, pin, !(io->redir[pin] & RTE_MASKED), addr, data);
}

/* level_waiting: a level pin that is high and unmasked, with no interrupt in flight; lock held. */
static bool level_waiting(const struct ioapic *io, unsigned int pin)
{
	uint64_t rte = io->redir[pin];

	return !(rte & RTE_MASKED) && (rte & RTE_LEVEL) && io->line[pin] && !(rte & RTE_REMOTE_IRR);
}

void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level)
{
	if (pin >= VM_IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	bool rising = level && !io->line[pin];
	uint64_t rte = io->redir[pin];
	io->line[pin] = level;
	if (!(rte & RTE_MASKED)) {
		if (rte & RTE_LEVEL) {
			if (level && !(rte & RTE_REMOTE_IRR))
				deliver(io, pin);
		} else if (rising) {
			deliver(io, pin);
		}
	}
	pthread_mutex_unlock(&io->lock);
}

void ioapic_pulse(struct ioapic *io, unsigned int pin)
{
	ioapic_set_irq(io, pin, true);
	ioapic_set_irq(io, pin, false);
}

/* end_of_interrupt: clear remote IRR of level pins on (vector); lock held. */
static void end_of_interrupt(struct ioapic *io, uint8_t vector)
{
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++) {
		uint64_t rte = io->redir[pin];
		if ((rte & RTE_VECTOR_MASK) != vector || !(rte & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		if (io->line[pin] && !(rte & RTE_MASKED))
			deliver(io, pin);
	}
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	if (io == NULL)
		return;
	pthread_mutex_lock(&io->lock);
	end_of_interrupt(io, vector);
	pthread_mutex_unlock(&io->lock);
}

static uint32_t read_indirect(const struct ioapic *io)
{
	uint32_t reg = io->regsel;

	switch (reg) {
	case REG_ID:
	case REG_ARB:
		return io->id << ID_SHIFT;
	case REG_VERSION:
		return ((VM_IOAPIC_PINS - 1) << MAX_REDIR_SHIFT) | IOAPIC_VERSION;
	default:
		break;
	}
	if (reg >= REG_REDIR_BASE && reg < REG_REDIR_BASE + 2 * VM_IOAPIC_PINS) {
		uint64_t rte = io->redir[(reg - REG_REDIR_BASE) / 2];
		return (reg & 1) ? (uint32_t)(rte >> 32) : (uint32_t)rte;
	}
	return 0;
}

/* write_indirect: lock held. */
static void write_indirect(struct ioapic *io, uint32_t value)
{
	uint32_t reg = io->regsel;

	if (reg == REG_ID) {
		io->id = (value >> ID_SHIFT) & 0xf;
		return;
	}
	if (reg < REG_REDIR_BASE || reg >= REG_REDIR_BASE + 2 * VM_IOAPIC_PINS)
		return;
	unsigned int pin = (reg - REG_REDIR_BASE) / 2;
	uint64_t old = io->redir[pin];
	uint64_t rte = old;
	if (reg & 1)
		rte = (rte & 0xffffffffULL) | ((uint64_t)value << 32);
	else
		rte = (rte & ~0xffffffffULL) | value;
	io->redir[pin] = (rte & ~RTE_READ_ONLY) | (old & RTE_READ_ONLY);
	(void)sync_route(io, pin);
	/* Unmasking a level pin that is still high delivers it now. */
	if (level_waiting(io, pin))
		deliver(io, pin);
}

void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct ioapic *io = opaque;
	uint32_t value = 0;

	/* The registers are 32 bits wide; narrower accesses use the low bytes. */
	if (len > sizeof(value))
		len = sizeof(value);
	if (is_write)
		memcpy(&value, data, len);
	pthread_mutex_lock(&io->lock);
	switch (offset) {
	case IOREGSEL:
		if (is_write)
			io->regsel = value & REGSEL_MASK;
		else
			value = io->regsel;
		break;
	case IOWIN:
		if (is_write)
			write_indirect(io, value);
		else
			value = read_indirect(io);
		break;
	case IOEOI:
		if (is_write)
			end_of_interrupt(io, (uint8_t)value);
		break;
	default:
		value = 0;
		break;
	}
	pthread_mutex_unlock(&io->lock);
	if (!is_write)
		memcpy(data, &value, len);
}

void ioapic_save_state(struct ioapic *io, struct ioapic_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&io->lock);
	memcpy(st->redir, io->redir, sizeof(st->redir));
	st->id = io->id;
	st->regsel = io->regsel;
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++)
		if (io->line[pin])
			st->line |= 1U << pin;
	pthread_mutex_unlock(&io->lock);
}

/* check: whether (st) is a state this IOAPIC can be in; else the line saying why. */
static int check(const struct ioapic_state *st, char *err, size_t errsz)
{
	const uint32_t pins = (1U << VM_IOAPIC_PINS) - 1;

	if (st->id > ID_MAX)
		return dev_state_reject(
		    err, errsz, "ioapic: id %u does not fit the ID register (%u)", st->id, ID_MAX);
	if (st->regsel > REGSEL_MASK)
		return dev_state_reject(err, errsz, "ioapic: regsel 0x%x exceeds 0x%x", st->regsel,
					REGSEL_MASK);
	/* Delivery status is never set here: an MSI leaves at once. */
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++)
		if (st->redir[pin] & RTE_DELIVERY_STATUS)
			return dev_state_reject(err, errsz,
						"ioapic: redir[%u] 0x%016llx sets delivery status",
						pin, (unsigned long long)st->redir[pin]);
	if (st->line & ~pins)
		return dev_state_reject(err, errsz, "ioapic: line 0x%x names pins past %u",
					st->line, VM_IOAPIC_PINS - 1);
	if (st->pad != 0)
		return dev_state_reject(err, errsz, "ioapic: pad is not zero");
	return 0;
}

int ioapic_load_state(struct ioapic *io, const struct ioapic_state *st, char *err, size_t errsz)
{
	int ret = check(st, err, errsz);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&io->lock);
	memcpy(io->redir, st->redir, sizeof(io->redir));
	io->id = st->id;
	io->regsel = st->regsel;
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++)
		io->line[pin] = st->line & (1U << pin);
	for (unsigned int pin = 0; pin < VM_IOAPIC_PINS; pin++) {
		int r = sync_route(io, pin);
		if (r < 0 && ret == 0) {
			ret = r;
			if (err != NULL && errsz > 0)
				snprintf(err, errsz, "ioapic: cannot route pin %u to KVM", pin);
		}
		if (level_waiting(io, pin))
			deliver(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
	return ret;
}
