// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_devices.c: the legacy port and MMIO devices as a guest reaches them,
 * through the two buses of a struct vm the way vcpu.c dispatches exits:
 * the UART (COM1), the i8042, the IOAPIC, the 8259 pair and its ELCR, the
 * PIT and port B, the CMOS clock, the boot timer (MMIO and port) and the
 * exit port, plus what the host does to them (console input, Ctrl+Alt+Del,
 * ISA interrupt lines on both controllers, EOIs, the boot vCPU's 8259
 * acknowledge, the PIT timer reading IRQ 0's schedule). vm.c is replaced by doubles that
 * record MSIs, routes and stop requests (as tests/unit/test_ioapic.c does),
 * so no KVM is needed.
 *
 * Input: [setup] then operations of one byte and operands:
 *   0 port access: [port choice] [size] [direction+data]
 *   1 MMIO access: [address choice] [length 0..8] [direction+data]
 *   2 console input bytes   3 Ctrl+Alt+Del   4 an IRQ line to a level
 *   5 an EOI of a vector    6 a pulse on an ISA line (IOAPIC and 8259)
 *   7 flush the UART        8 the 8259 acknowledge, if its output is high
 *   9 IRQ 0's schedule, as the PIT timer reads it
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot_timer.h"
#include "bus.h"
#include "exit_port.h"
#include "fuzz_util.h"
#include "i8042.h"
#include "ioapic.h"
#include "layout.h"
#include "isa_irq.h"
#include "metrics.h"
#include "pic.h"
#include "pit.h"
#include "rtc.h"
#include "serial.h"
#include "vm.h"

/* Harness state: the machine is rebuilt for every input. */
static struct vm vm;
static struct ioapic ioapic;
static struct serial uart;
static struct i8042 kbd;
static struct boot_timer bt;
static struct pic pic;
static struct pit pit;
static struct rtc rtc;
static struct metrics metrics;
static int devnull = -1;
static uint64_t fake_ns;
static unsigned long msis, stops, pic_rises;

/* ---- doubles for vm.c ---- */

int vm_signal_msi(struct vm *v, uint64_t address, uint32_t data)
{
	(void)data;
	FZ_CHECK(v == &vm, "MSI for another VM");
	FZ_CHECK((address & ~0xff00full) == LAYOUT_LAPIC_ADDR, "MSI address 0x%llx",
		 (unsigned long long)address);
	msis++;
	return 0;
}

int vm_set_msi_route(struct vm *v, unsigned int gsi, bool enabled, uint64_t address, uint32_t data)
{
	(void)enabled;
	(void)address;
	(void)data;
	FZ_CHECK(v == &vm && gsi < VM_IOAPIC_PINS, "route for GSI %u", gsi);
	return 0;
}

void vm_request_stop(struct vm *v, int status)
{
	FZ_CHECK(v == &vm && status >= 0 && status <= 255, "stop with status %d", status);
	stops++;
}

uint64_t vm_now_ns(void)
{
	return fake_ns += 1000;
}

/* ---- the machine ---- */

static void uart_irq(void *ctx)
{
	isa_irq_pulse(ctx, LAYOUT_COM1_IRQ);
}

static void pic_rose(void *ctx)
{
	FZ_CHECK(ctx == &vm, "8259 notify for another VM");
	pic_rises++;
}

/* The PIT and CMOS clocks: a fake monotonic clock the input moves. */
static uint64_t fake_clock(void)
{
	return fake_ns;
}

static void fake_wall(struct timespec *now)
{
	now->tv_sec = (time_t)(fake_ns / 1000000000ULL);
	now->tv_nsec = (long)(fake_ns % 1000000000ULL);
}

static void check_schedule(void)
{
	struct pit_irq0_schedule s = pit_irq0_schedule(&pit);

	FZ_CHECK(pit_irq0_current(&pit, s.generation), "schedule of an old programming");
	if (!s.active)
		return;
	FZ_CHECK(s.period_ns == 0 || s.period_ns >= PIT_MIN_IRQ_PERIOD_NS, "IRQ 0 every %llu ns",
		 (unsigned long long)s.period_ns);
	/* The first edge comes within the longest count (65536 ticks + 1) of now. */
	FZ_CHECK(s.first_ns <= fake_ns + 60000000ULL, "IRQ 0 first edge %llu ns away",
		 (unsigned long long)(s.first_ns - fake_ns));
}

static void build(uint8_t setup)
{
	memset(&vm, 0, sizeof(vm));
	memset(&metrics, 0, sizeof(metrics));
	vm.metrics = (setup & 1) ? &metrics : NULL;
	vm.t_build_ns = fake_ns;
	FZ_CHECK(ioapic_init(&ioapic, &vm, 1 + (setup >> 4)) == 0, "ioapic_init");
	vm.ioapic = &ioapic;
	FZ_CHECK(pic_init(&pic, pic_rose, &vm) == 0, "pic_init");
	vm.pic = &pic;
	FZ_CHECK(bus_register(&vm.pio, PIC_MASTER_PORT, PIC_PORT_COUNT, pic_master_io, &pic) == 0 &&
		     bus_register(&vm.pio, PIC_SLAVE_PORT, PIC_PORT_COUNT, pic_slave_io, &pic) ==
			 0 &&
		     bus_register(&vm.pio, PIC_ELCR_PORT, PIC_ELCR_COUNT, pic_elcr_io, &pic) == 0,
		 "8259 ports");
	FZ_CHECK(pit_init(&pit, fake_clock) == 0, "pit_init");
	FZ_CHECK(bus_register(&vm.pio, PIT_PORT, PIT_PORT_COUNT, pit_io, &pit) == 0 &&
		     bus_register(&vm.pio, PIT_PORT_B, 1, pit_port_b_io, &pit) == 0,
		 "PIT ports");
	FZ_CHECK(rtc_init(&rtc, fake_wall) == 0, "rtc_init");
	FZ_CHECK(bus_register(&vm.pio, RTC_PORT, RTC_PORT_COUNT, rtc_io, &rtc) == 0, "RTC ports");
	serial_init(&uart, devnull, uart_irq, &vm);
	FZ_CHECK(bus_register(&vm.pio, LAYOUT_COM1_PORT, SERIAL_PORT_COUNT, serial_io, &uart) == 0,
		 "serial");
	FZ_CHECK(i8042_init(&kbd, &vm) == 0, "i8042_init");
	FZ_CHECK(boot_timer_init(&bt, &vm, setup & 2) == 0, "boot_timer_init");
	FZ_CHECK(exit_port_init(&vm) == 0, "exit_port_init");
}

static void teardown(void)
{
	serial_destroy(&uart);
	i8042_destroy(&kbd);
	rtc_destroy(&rtc);
	pit_destroy(&pit);
	pic_destroy(&pic);
	ioapic_destroy(&ioapic);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_logs();
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	FZ_CHECK(devnull >= 0, "/dev/null");
	return 0;
}

static uint64_t pick_port(struct fz *in)
{
	static const uint16_t ports[] = {LAYOUT_COM1_PORT,
					 LAYOUT_COM1_PORT + 1,
					 LAYOUT_COM1_PORT + 2,
					 LAYOUT_COM1_PORT + 3,
					 LAYOUT_COM1_PORT + 4,
					 LAYOUT_COM1_PORT + 5,
					 LAYOUT_COM1_PORT + 6,
					 LAYOUT_COM1_PORT + 7,
					 LAYOUT_I8042_DATA_PORT,
					 LAYOUT_I8042_CMD_PORT,
					 LAYOUT_I8042_DATA_PORT + 1,
					 LAYOUT_BOOT_TIMER_PORT,
					 LAYOUT_EXIT_PORT,
					 PIC_MASTER_PORT,
					 PIC_MASTER_PORT + 1,
					 PIC_SLAVE_PORT,
					 PIC_SLAVE_PORT + 1,
					 PIC_ELCR_PORT,
					 PIC_ELCR_PORT + 1,
					 PIT_PORT,
					 PIT_PORT + 1,
					 PIT_PORT + 2,
					 PIT_PORT + 3,
					 PIT_PORT_B,
					 RTC_PORT,
					 RTC_PORT + 1};
	uint8_t b = fz_u8(in);

	return b < 0xf0 ? ports[b % (sizeof(ports) / sizeof(ports[0]))] : fz_u16(in);
}

static uint64_t pick_mmio(struct fz *in)
{
	static const uint16_t ioapic_regs[] = {0x00, 0x10, 0x40, 0x04, 0x14, 0x20, 0xfff};
	uint8_t b = fz_u8(in);

	switch (b & 3) {
	case 0:
	case 1:
		return LAYOUT_IOAPIC_ADDR + ioapic_regs[(b >> 2) % 7];
	case 2:
		return LAYOUT_BOOT_TIMER_ADDR + ((b & 4) ? 0 : fz_u16(in) % LAYOUT_BOOT_TIMER_SIZE);
	default:
		return (b & 4) ? LAYOUT_IOAPIC_ADDR + fz_u16(in) : fz_u64(in);
	}
}

/* dev_access: one exit's worth, through a buffer sized exactly (len) so ASan sees overruns. */
static void dev_access(struct bus *bus, uint64_t addr, uint32_t len, struct fz *in)
{
	uint8_t dir = fz_u8(in);
	uint8_t *data = malloc(len ? len : 1);

	FZ_CHECK(data != NULL, "out of memory");
	if (dir & 1) {
		fz_fill(in, data, len);
		(void)bus_access(bus, addr, data, len, true);
	} else {
		memset(data, 0x5a, len);
		(void)bus_access(bus, addr, data, len, false);
	}
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t pio_sizes[] = {1, 2, 4, 1};
	struct fz in;

	fz_init(&in, data, size);
	build(fz_u8(&in));
	for (int i = 0; i < 1024 && fz_more(&in); i++) {
		uint8_t op = fz_u8(&in);

		switch (op % 10) {
		case 0: {
			uint64_t port = pick_port(&in);
			dev_access(&vm.pio, port, pio_sizes[(op >> 3) & 3], &in);
			break;
		}
		case 1: {
			uint64_t addr = pick_mmio(&in);
			dev_access(&vm.mmio, addr, (op >> 3) % 9, &in);
			break;
		}
		case 2: {
			const uint8_t *bytes;
			size_t n = fz_take(&in, fz_u8(&in) % 80, &bytes);
			size_t took = n > 0 ? serial_input(&uart, bytes, n) : 0;
			FZ_CHECK(took <= n, "serial_input took %zu of %zu", took, n);
			break;
		}
		case 3:
			i8042_ctrl_alt_del(&kbd);
			break;
		case 4:
			ioapic_set_irq(&ioapic, fz_u8(&in) % (VM_IOAPIC_PINS + 2), op & 0x80);
			break;
		case 5:
			ioapic_eoi(&ioapic, fz_u8(&in));
			break;
		case 6:
			isa_irq_pulse(&vm, fz_u8(&in) % (VM_IOAPIC_PINS + 2));
			break;
		case 7:
			serial_flush(&uart);
			fake_ns += (uint64_t)fz_u16(&in) << (op >> 4); /* time passes */
			break;
		case 8:
			if (pic_pending(&pic)) {
				uint8_t vector = pic_ack(&pic);
				FZ_CHECK((vector & ~7u) == pic.chip[0].vector_base ||
					     (vector & ~7u) == pic.chip[1].vector_base,
					 "8259 vector 0x%x from neither chip", vector);
			}
			break;
		default:
			check_schedule();
			break;
		}
	}
	teardown();
	return 0;
}
