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
 *  10 a snapshot: every device's state (the PIT timer's too) saved, the
 *     machine built afresh and each state loaded back; each must load, and
 *     save the same again
 *  11 a hostile snapshot: the same, but one device's state bytes, [device]
 *     [how], are the input's: [how] odd, all of them; even, (how / 2) % 16
 *     patches of [offset] [byte] over the saved ones. A refused state must
 *     leave that device as built, with one line naming the device.
 *     Past MAX_SNAPSHOTS of them in one input, 10 and 11 are 9.
 * The operation is the byte modulo 12, and the byte divided by 12 is the
 * access size of operation 0 (its low two bits), the length of 1 (mod 9)
 * and, for 7, by how many bits the time that passes is shifted. The clocks
 * start at the same far-off instant for every input (the PIT timer's
 * timerfd, armed in the PIT's fake time, never expires in real time), so an
 * input always runs the same.
 */
#include <errno.h>
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
#include "evloop.h"
#include "pic.h"
#include "pit.h"
#include "pit_timer.h"
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
static struct pit_timer pit_timer;
static struct rtc rtc;
static struct metrics metrics;
static struct evloop loop;
static int devnull = -1;
static uint64_t fake_ns;

/*
 * Where the fake clocks start for each input: 2^62 ns, some 146 years of
 * CLOCK_MONOTONIC, which no host reaches, so the PIT timer never fires.
 */
#define FAKE_EPOCH_NS (1ULL << 62)
#define OPS	      12
#define OP_SCHEDULE   9
#define OP_SNAPSHOT   10
#define OP_HOSTILE    11
#define MAX_PATCHES   16
/* Each snapshot builds the machine again, the cost of hundreds of accesses: a few per input. */
#define MAX_SNAPSHOTS 8
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
	FZ_CHECK(pit_timer_init(&pit_timer, &pit, &vm, &loop) == 0, "pit_timer_init");
	FZ_CHECK(rtc_init(&rtc, fake_wall) == 0, "rtc_init");
	FZ_CHECK(bus_register(&vm.pio, RTC_PORT, RTC_PORT_COUNT, rtc_io, &rtc) == 0, "RTC ports");
	serial_init(&uart, devnull, uart_irq, &vm);
	FZ_CHECK(bus_register(&vm.pio, LAYOUT_COM1_PORT, SERIAL_PORT_COUNT, serial_io, &uart) == 0,
		 "serial");
	FZ_CHECK(i8042_init(&kbd, &vm, NULL) == 0, "i8042_init");
	FZ_CHECK(boot_timer_init(&bt, &vm, setup & 2) == 0, "boot_timer_init");
	FZ_CHECK(exit_port_init(&vm) == 0, "exit_port_init");
}

static void teardown(void)
{
	pit_timer_destroy(&pit_timer, &loop);
	/* Nothing is watched now: this only frees the handlers the loop keeps until a batch. */
	FZ_CHECK(evloop_poll(&loop, 0) == 0, "events with nothing watched");
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
	FZ_CHECK(evloop_init(&loop) == 0, "evloop_init");
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

/* ---- snapshots ---- */

/* Each device's state functions over the harness's machine, in the order a restore loads them. */
struct dev_state_ops {
	const char *name; /* the prefix of its messages */
	size_t size;
	void (*save)(void *st);
	int (*load)(const void *st, char *err, size_t errsz);
	bool resaves; /* saving again right after a load gives the same bytes */
};

static void ioapic_save(void *st)
{
	ioapic_save_state(&ioapic, st);
}
static int ioapic_load(const void *st, char *err, size_t errsz)
{
	return ioapic_load_state(&ioapic, st, err, errsz);
}
static void pic_save(void *st)
{
	pic_save_state(&pic, st);
}
static int pic_load(const void *st, char *err, size_t errsz)
{
	return pic_load_state(&pic, st, err, errsz);
}
static void pit_save(void *st)
{
	pit_save_state(&pit, st);
}
static int pit_load(const void *st, char *err, size_t errsz)
{
	return pit_load_state(&pit, st, err, errsz);
}
static void pit_timer_save(void *st)
{
	pit_timer_save_state(&pit_timer, st);
}
static int pit_timer_load(const void *st, char *err, size_t errsz)
{
	return pit_timer_load_state(&pit_timer, st, err, errsz);
}
static void serial_save(void *st)
{
	serial_save_state(&uart, st);
}
static int serial_load(const void *st, char *err, size_t errsz)
{
	return serial_load_state(&uart, st, err, errsz);
}
static void i8042_save(void *st)
{
	i8042_save_state(&kbd, st);
}
static int i8042_load(const void *st, char *err, size_t errsz)
{
	return i8042_load_state(&kbd, st, err, errsz);
}
static void rtc_save(void *st)
{
	rtc_save_state(&rtc, st);
}
static int rtc_load(const void *st, char *err, size_t errsz)
{
	return rtc_load_state(&rtc, st, err, errsz);
}
static void boot_timer_save(void *st)
{
	boot_timer_save_state(&bt, st);
}
static int boot_timer_load(const void *st, char *err, size_t errsz)
{
	return boot_timer_load_state(&bt, st, err, errsz);
}

/*
 * The interrupt controllers first: the others may raise an interrupt as they
 * load. The PIT timer's state (an edge due) is spent by loading it.
 */
static const struct dev_state_ops devs[] = {
    {"ioapic", sizeof(struct ioapic_state), ioapic_save, ioapic_load, true},
    {"pic", sizeof(struct pic_state), pic_save, pic_load, true},
    {"pit", sizeof(struct pit_state), pit_save, pit_load, true},
    {"pit_timer", sizeof(struct pit_timer_state), pit_timer_save, pit_timer_load, false},
    {"serial", sizeof(struct serial_state), serial_save, serial_load, true},
    {"i8042", sizeof(struct i8042_state), i8042_save, i8042_load, true},
    {"rtc", sizeof(struct rtc_state), rtc_save, rtc_load, true},
    {"boot_timer", sizeof(struct boot_timer_state), boot_timer_save, boot_timer_load, true},
};
#define NDEVS	  (sizeof(devs) / sizeof(devs[0]))
#define STATE_MAX 256 /* bytes: more than the largest state */

/* The timer's state is saved first: it may deliver an edge the controllers then hold. */
static const unsigned int save_order[NDEVS] = {3, 0, 1, 2, 4, 5, 6, 7};

/* hostile_bytes: (st), (size) bytes, made the input's as operation 11 says. */
static void hostile_bytes(struct fz *in, uint8_t *st, size_t size)
{
	uint8_t how = fz_u8(in);

	if (how & 1) {
		fz_fill(in, st, size);
		return;
	}
	for (unsigned int i = 0; i < (how >> 1) % MAX_PATCHES; i++) {
		size_t off = fz_u8(in) % size;
		st[off] = fz_u8(in);
	}
}

/*
 * snapshot: save every device, build the machine afresh (with (setup)) and
 * load each state back; with (hostile), one device's bytes come from (in).
 */
static void snapshot(struct fz *in, uint8_t setup, bool hostile)
{
	static uint8_t saved[NDEVS][STATE_MAX];
	uint8_t fresh[STATE_MAX], again[STATE_MAX];
	char err[160];
	unsigned int victim = hostile ? fz_u8(in) % NDEVS : NDEVS;

	for (unsigned int i = 0; i < NDEVS; i++) {
		unsigned int d = save_order[i];
		FZ_CHECK(devs[d].size <= STATE_MAX, "%s state of %zu bytes", devs[d].name,
			 devs[d].size);
		devs[d].save(saved[d]);
	}
	teardown();
	build(setup);
	if (hostile)
		hostile_bytes(in, saved[victim], devs[victim].size);
	for (unsigned int d = 0; d < NDEVS; d++) {
		err[0] = '\0';
		if (d == victim)
			devs[d].save(fresh);
		int ret = devs[d].load(saved[d], err, sizeof(err));
		if (d != victim) {
			FZ_CHECK(ret == 0, "%s refused its own saved state: %s", devs[d].name, err);
			if (devs[d].resaves) {
				devs[d].save(again);
				FZ_CHECK(memcmp(saved[d], again, devs[d].size) == 0,
					 "%s saves other bytes after loading them", devs[d].name);
			}
			continue;
		}
		if (ret == 0)
			continue;
		/* Refused: said in one line that names the device, and nothing changed. */
		FZ_CHECK(ret == -EINVAL, "%s load returned %d", devs[d].name, ret);
		FZ_CHECK(strncmp(err, devs[d].name, strlen(devs[d].name)) == 0 &&
			     err[strlen(devs[d].name)] == ':' && strchr(err, '\n') == NULL,
			 "%s refusal said '%s'", devs[d].name, err);
		if (devs[d].resaves) {
			devs[d].save(again);
			FZ_CHECK(memcmp(fresh, again, devs[d].size) == 0,
				 "%s changed by a refused state", devs[d].name);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t pio_sizes[] = {1, 2, 4, 1};
	struct fz in;

	fz_init(&in, data, size);
	fake_ns = FAKE_EPOCH_NS;
	uint8_t setup = fz_u8(&in);
	unsigned int snapshots = 0;
	build(setup);
	for (int i = 0; i < 1024 && fz_more(&in); i++) {
		uint8_t op = fz_u8(&in);
		unsigned int kind = op % OPS;

		if ((kind == OP_SNAPSHOT || kind == OP_HOSTILE) && snapshots++ >= MAX_SNAPSHOTS)
			kind = OP_SCHEDULE;
		switch (kind) {
		case 0: {
			uint64_t port = pick_port(&in);
			dev_access(&vm.pio, port, pio_sizes[(op / OPS) & 3], &in);
			break;
		}
		case 1: {
			uint64_t addr = pick_mmio(&in);
			dev_access(&vm.mmio, addr, (op / OPS) % 9, &in);
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
			fake_ns += (uint64_t)fz_u16(&in) << (op / OPS); /* time passes */
			break;
		case 8:
			if (pic_pending(&pic)) {
				uint8_t vector = pic_ack(&pic);
				FZ_CHECK((vector & ~7u) == pic.chip[0].vector_base ||
					     (vector & ~7u) == pic.chip[1].vector_base,
					 "8259 vector 0x%x from neither chip", vector);
			}
			break;
		case OP_SNAPSHOT:
			snapshot(&in, setup, false);
			break;
		case OP_HOSTILE:
			snapshot(&in, setup, true);
			break;
		default:
			check_schedule();
			break;
		}
	}
	teardown();
	return 0;
}
