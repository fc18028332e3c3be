// SPDX-License-Identifier: Apache-2.0
/* mptable.c: MP floating pointer and configuration table (MP spec 1.4, ch. 4). */
#include "mptable.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "layout.h"
#include "ember_err.h"

/*
 * The tables live in the last KiB of base memory, which Linux scans for
 * "_MP_" without needing a BIOS data area; that KiB ends at 0xa0000.
 */
#define MP_AREA_SIZE 0x400

#define MP_SPEC_REV	   4 /* 1.4 */
#define MP_ENTRY_PROCESSOR 0
#define MP_ENTRY_BUS	   1
#define MP_ENTRY_IOAPIC	   2
#define MP_ENTRY_IOINT	   3
#define MP_ENTRY_LOCALINT  4
#define MP_CPU_ENABLED	   0x01
#define MP_CPU_BSP	   0x02
#define MP_IOAPIC_ENABLED  0x01
#define MP_INT_INT	   0
#define MP_INT_NMI	   1
#define MP_INT_EXTINT	   3
#define MP_IRQ_CONFORMS	   0 /* polarity and trigger conform to the bus: ISA is edge/high */
#define MP_BUS_ISA_ID	   0
#define MP_ALL_LAPICS	   0xff
#define MP_CPU_SIGNATURE   0x600 /* family 6, model 0, stepping 0 */
#define MP_CPU_FEATURES	   0x201 /* FPU (bit 0) and on-chip APIC (bit 9) */

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* configuration table */
	uint8_t length;	   /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* feature[0] 0: a configuration table is present */
} __attribute__((packed));

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table including this header */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type, apic_id, apic_version, flags;
	uint32_t signature, features, reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type, bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type, id, version, flags;
	uint32_t addr;
} __attribute__((packed));

struct mp_interrupt { /* I/O and local interrupt assignment entries */
	uint8_t type, irq_type;
	uint16_t flags;
	uint8_t src_bus, src_irq, dst_id, dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP spec 4.1");
_Static_assert(sizeof(struct mp_config) == 44, "MP spec 4.2");
_Static_assert(sizeof(struct mp_processor) == 20, "MP spec 4.3.1");
_Static_assert(sizeof(struct mp_bus) == 8, "MP spec 4.3.2");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP spec 4.3.3");
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP spec 4.3.4, 4.3.5");

struct mp_buf {
	uint8_t b[MP_AREA_SIZE];
	size_t len;
	uint16_t count; /* configuration table entries */
};

static void put(struct mp_buf *m, const void *e, size_t len)
{
	memcpy(m->b + m->len, e, len); /* size checked up front by mp_size() */
	m->len += len;
}

static void put_entry(struct mp_buf *m, const void *e, size_t len)
{
	put(m, e, len);
	m->count++;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)(0 - sum);
}

static size_t mp_size(unsigned int ncpus)
{
	return sizeof(struct mp_floating) + sizeof(struct mp_config) +
	       ncpus * sizeof(struct mp_processor) + sizeof(struct mp_bus) +
	       sizeof(struct mp_ioapic) + (MPTABLE_IOAPIC_PINS + 2) * sizeof(struct mp_interrupt);
}

static void put_cpus(struct mp_buf *m, unsigned int ncpus)
{
	for (unsigned int i = 0; i < ncpus; i++) {
		struct mp_processor p = {
		    .type = MP_ENTRY_PROCESSOR,
		    .apic_id = (uint8_t)i,
		    .apic_version = MPTABLE_LAPIC_VERSION,
		    .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
		    .signature = MP_CPU_SIGNATURE,
		    .features = MP_CPU_FEATURES,
		};
		put_entry(m, &p, sizeof(p));
	}
}

static void put_irqs(struct mp_buf *m, uint8_t ioapic_id)
{
	struct mp_bus bus = {.type = MP_ENTRY_BUS, .bus_id = MP_BUS_ISA_ID, .bus_type = "ISA   "};
	struct mp_ioapic io = {.type = MP_ENTRY_IOAPIC,
			       .id = ioapic_id,
			       .version = MPTABLE_IOAPIC_VERSION,
			       .flags = MP_IOAPIC_ENABLED,
			       .addr = (uint32_t)LAYOUT_IOAPIC_ADDR};
	/* LINT0 carries the (absent) 8259's ExtINT to the BSP, LINT1 NMI to all. */
	struct mp_interrupt lint0 = {.type = MP_ENTRY_LOCALINT,
				     .irq_type = MP_INT_EXTINT,
				     .src_bus = MP_BUS_ISA_ID,
				     .dst_id = 0,
				     .dst_pin = 0};
	struct mp_interrupt lint1 = {.type = MP_ENTRY_LOCALINT,
				     .irq_type = MP_INT_NMI,
				     .src_bus = MP_BUS_ISA_ID,
				     .dst_id = MP_ALL_LAPICS,
				     .dst_pin = 1};

	put_entry(m, &bus, sizeof(bus));
	put_entry(m, &io, sizeof(io));
	for (uint8_t pin = 0; pin < MPTABLE_IOAPIC_PINS; pin++) {
		struct mp_interrupt irq = {.type = MP_ENTRY_IOINT,
					   .irq_type = MP_INT_INT,
					   .flags = MP_IRQ_CONFORMS,
					   .src_bus = MP_BUS_ISA_ID,
					   .src_irq = pin,
					   .dst_id = ioapic_id,
					   .dst_pin = pin};
		put_entry(m, &irq, sizeof(irq));
	}
	put_entry(m, &lint0, sizeof(lint0));
	put_entry(m, &lint1, sizeof(lint1));
}

static void finish(struct mp_buf *m)
{
	struct mp_floating fp = {.signature = {'_', 'M', 'P', '_'},
				 .physptr = (uint32_t)(LAYOUT_MPTABLE_ADDR + sizeof(fp)),
				 .length = 1,
				 .spec_rev = MP_SPEC_REV};
	struct mp_config hdr = {
	    .signature = {'P', 'C', 'M', 'P'},
	    .length = (uint16_t)(m->len - sizeof(fp)),
	    .spec_rev = MP_SPEC_REV,
	    .oem = {'E', 'M', 'B', 'E', 'R', ' ', ' ', ' '},
	    .product = {'M', 'I', 'C', 'R', 'O', 'V', 'M', ' ', ' ', ' ', ' ', ' '},
	    .count = m->count,
	    .lapic = (uint32_t)LAYOUT_LAPIC_ADDR};

	memcpy(m->b + sizeof(fp), &hdr, sizeof(hdr));
	m->b[sizeof(fp) + offsetof(struct mp_config, checksum)] =
	    checksum(m->b + sizeof(fp), hdr.length);
	fp.checksum = checksum((const uint8_t *)&fp, sizeof(fp));
	memcpy(m->b, &fp, sizeof(fp));
}

int mptable_write(const struct gmem *gm, unsigned int ncpus, struct ember_err *err)
{
	struct mp_buf m = {.len = sizeof(struct mp_floating) + sizeof(struct mp_config)};

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS || mp_size(ncpus) > MP_AREA_SIZE) {
		ember_err_set(err, 0, "mptable: %u vCPUs: supported are 1..%u", ncpus,
			      MPTABLE_MAX_CPUS);
		return ncpus == 0 ? -EINVAL : -E2BIG;
	}
	put_cpus(&m, ncpus);
	put_irqs(&m, (uint8_t)ncpus);
	finish(&m);
	if (gmem_write(gm, LAYOUT_MPTABLE_ADDR, m.b, m.len) != 0) {
		ember_err_set(err, 0, "mptable: 0x%llx is not in guest RAM", LAYOUT_MPTABLE_ADDR);
		return -EFAULT;
	}
	return 0;
}
