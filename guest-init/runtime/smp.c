/* SPDX-License-Identifier: Apache-2.0 */
/*
 * smp.c: find the CPUs in the MP table and start the APs (INIT, SIPI, SIPI).
 *
 * Intel MultiProcessor Specification 1.4: the floating pointer "_MP_"
 * (section 4.1) points at the configuration table "PCMP" (4.2), whose
 * processor entries (4.3.1, type 0, 20 bytes) give each CPU's local APIC
 * id and flags (bit 0 enabled, bit 1 boot processor). Start-up follows the
 * universal algorithm of appendix B.4 against the xAPIC at LAYOUT_LAPIC_ADDR.
 */
#include "rt.h"

#include "layout.h"

#define ICR_INIT	  0x500
#define ICR_STARTUP	  0x600
#define ICR_LEVEL_ASSERT  0x4000
#define ICR_TRIGGER_LEVEL 0x8000
#define ICR_BUSY	  0x1000

/*
 * B.4 asks for 10 ms after INIT and 200 us between the SIPIs. Like Linux on
 * modern and virtual CPUs, wait far less after INIT; the second SIPI is only
 * sent when the AP has not checked in 200 us after the first.
 */
#define INIT_DELAY_US 100
#define SIPI_WAIT_US  200

#define MP_PROC_ENABLED 0x1
#define MP_PROC_BSP	0x2

struct mp_float {
	char sig[4]; /* "_MP_" */
	uint32_t config;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mp_config {
	char sig[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_proc {
	uint8_t type; /* 0 */
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

extern const char rt_tramp_start[], rt_tramp_end[];
extern const char rt_tramp_cr3[], rt_tramp_stack[], rt_tramp_index[];

static char ap_stacks[RT_MAX_CPUS - 1][RT_AP_STACK_SIZE]
    __attribute__((section(".bss.noinit.apstack"), aligned(16)));
static unsigned int ap_started;
static rt_ap_fn ap_fn;
static void *ap_arg;

static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n-- > 0)
		s += *b++;
	return s;
}

static const struct mp_float *scan(uint64_t start, uint64_t len)
{
	uint64_t a;

	for (a = start; a + sizeof(struct mp_float) <= start + len; a += 16) {
		const struct mp_float *f = (const struct mp_float *)(uintptr_t)a;

		if (memcmp(f->sig, "_MP_", 4) == 0 && f->length == 1 && sum(f, 16) == 0)
			return f;
	}
	return NULL;
}

static const struct mp_config *find_config(void)
{
	const struct mp_float *f;
	const struct mp_config *c;
	uint64_t ebda;

	f = scan(LAYOUT_EBDA_START, 0x400);
	if (f == NULL) {
		ebda = (uint64_t) * (volatile uint16_t *)0x40e << 4;
		if (ebda >= 0x80000 && ebda < 0xa0000 && ebda != LAYOUT_EBDA_START)
			f = scan(ebda, 0x400);
	}
	if (f == NULL)
		f = scan(0xf0000, 0x10000);
	if (f == NULL || f->config == 0 || f->config >= LAYOUT_MMIO_GAP_START)
		return NULL;
	c = (const struct mp_config *)(uintptr_t)f->config;
	if (memcmp(c->sig, "PCMP", 4) != 0 || c->length < sizeof(*c) || sum(c, c->length) != 0)
		return NULL;
	return c;
}

/*
 * Walk the processor entries of (c): call (each) for the enabled ones and
 * return their number. Other entry types are 8 bytes long. Like Linux, walk
 * by the table length, not the entry count: qboot (QEMU microvm) leaves the
 * count at 0.
 */
static unsigned int walk(const struct mp_config *c, void (*each)(const struct mp_proc *, void *),
			 void *opaque)
{
	const uint8_t *p = (const uint8_t *)(c + 1), *end = (const uint8_t *)c + c->length;
	unsigned int n = 0;

	while (p < end) {
		if (p[0] == 0) {
			const struct mp_proc *pe = (const struct mp_proc *)p;

			if (p + sizeof(*pe) > end)
				break;
			if (pe->flags & MP_PROC_ENABLED) {
				n++;
				if (each != NULL)
					each(pe, opaque);
			}
			p += sizeof(*pe);
		} else if (p[0] <= 4) {
			p += 8;
		} else {
			break; /* not a base-table entry: stop */
		}
	}
	return n;
}

unsigned int rt_smp_cpus(void)
{
	const struct mp_config *c = find_config();
	unsigned int n;

	if (c == NULL)
		return 1;
	n = walk(c, NULL, NULL);
	return n == 0 ? 1 : n;
}

static void send_ipi(unsigned int apic_id, uint32_t icr)
{
	unsigned int i;

	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	for (i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
}

static int wait_started(unsigned int index, uint64_t us)
{
	for (;;) {
		if (__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE) == index)
			return 1;
		if (us == 0)
			return 0;
		rt_delay_us(10);
		us = us > 10 ? us - 10 : 0;
	}
}

struct start_ctx {
	unsigned int bsp_id;
	unsigned int next; /* index the next AP gets */
	uint64_t timeout_us;
};

static void start_one(const struct mp_proc *pe, void *opaque)
{
	struct start_ctx *ctx = opaque;
	unsigned int index = ctx->next;
	uint8_t *tramp = (uint8_t *)(uintptr_t)RT_TRAMP_ADDR;
	uint64_t stack;

	if (pe->apic_id == ctx->bsp_id || (pe->flags & MP_PROC_BSP) || index >= RT_MAX_CPUS)
		return;
	stack = (uint64_t)(uintptr_t)ap_stacks[index - 1] + RT_AP_STACK_SIZE;
	memcpy(tramp + (rt_tramp_stack - rt_tramp_start), &stack, 8);
	memcpy(tramp + (rt_tramp_index - rt_tramp_start), &(uint64_t){index}, 8);
	__atomic_store_n(&ap_started, 0, __ATOMIC_RELEASE);

	/* B.4: INIT (assert, then de-assert), wait, SIPI, wait, SIPI. */
	send_ipi(pe->apic_id, ICR_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
	send_ipi(pe->apic_id, ICR_INIT | ICR_TRIGGER_LEVEL);
	rt_delay_us(INIT_DELAY_US);
	send_ipi(pe->apic_id, ICR_STARTUP | RT_TRAMP_VECTOR);
	if (!wait_started(index, SIPI_WAIT_US)) {
		send_ipi(pe->apic_id, ICR_STARTUP | RT_TRAMP_VECTOR);
		if (!wait_started(index, ctx->timeout_us)) {
			rt_printf("runtime: AP apic=%u did not start\n", pe->apic_id);
			return;
		}
	}
	ctx->next++;
}

unsigned int rt_smp_start(rt_ap_fn fn, void *arg, uint64_t timeout_us)
{
	const struct mp_config *c = find_config();
	struct start_ctx ctx;
	uint64_t cr3;

	if (c == NULL)
		return 1;
	ap_fn = fn;
	ap_arg = arg;
	/* Software-enable the BSP's local APIC. */
	rt_lapic_enable();
	memcpy((void *)(uintptr_t)RT_TRAMP_ADDR, rt_tramp_start,
	       (size_t)(rt_tramp_end - rt_tramp_start));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	memcpy((uint8_t *)(uintptr_t)RT_TRAMP_ADDR + (rt_tramp_cr3 - rt_tramp_start), &cr3, 8);
	ctx.bsp_id = rt_apic_id();
	ctx.next = 1;
	ctx.timeout_us = timeout_us;
	walk(c, start_one, &ctx);
	return ctx.next;
}

void rt_ap_entry(unsigned int index)
{
	rt_idt_load();
	__atomic_store_n(&ap_started, index, __ATOMIC_RELEASE);
	ap_fn(index, ap_arg);
	halt_forever();
}
