/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c: the multipurpose test guest. It reports how it was booted and what
 * the monitor gave it, then acts on its guest args (the words after "--"),
 * in order, printing lines that integration tests grep:
 *
 *   probe: entry=linux64|pvh
 *   probe: cmdline=<whole command line>
 *   probe: e820 start=0x<hex> end=0x<hex> type=<n>      (end exclusive)
 *   probe: ram=<bytes in type-1 entries, decimal>
 *   memcheck        probe: memcheck ok regions=<n> | probe: memcheck FAIL at 0x<addr>
 *   smp             probe: cpu <index> up apic=<id> (from each AP), probe: cpus=<n>
 *   timer           writes the boot timer: probe: timer
 *   wait            probe: waiting, then sleeps (HLT, woken by the COM1
 *                   interrupt, no polling) until a byte arrives on the
 *                   serial port: probe: woke byte=0x<hex>
 *   sleep=<ms>      sleeps with HLT, woken by the LAPIC timer:
 *                   probe: slept ms=<n> wakes=<HLT wake-ups>
 *   fill=<KiB>      fills <KiB> (1..4096) of a buffer with bytes no run
 *                   repeats (a generator seeded from the TSC), standing for
 *                   the state a runtime builds as it initialises:
 *                   probe: fill kib=<n> sum=0x<checksum of the buffer>
 *   random          probe: random 0x<rt_random()> generation=<rt_generation()>
 *   ticks=<n>       the next count= stops after <n> ticks and the words go on
 *   count=<ms>      probe: tick <n> (n = 0, 1, 2...) every <ms> milliseconds,
 *                   sleeping with HLT in between (LAPIC timer), forever or
 *                   for ticks=<n>; after fill=, each line ends with the
 *                   buffer's checksum again: probe: tick <n> sum=0x<sum>.
 *                   After a pause the next number follows at once.
 *   kbd=<n>         enables the i8042 keyboard interrupt (IRQ 1), prints
 *                   probe: kbd waiting, then one line per byte read from the
 *                   data port, probe: kbd 0x<hex>, until it has <n> of them
 *                   (1..64); sleeps with HLT between them
 *   inb=<port>      probe: port 0x<port> read 0x<byte> (inb; 16-bit port number)
 *   rtc             the date from the CMOS clock, read as PC firmware does
 *                   (UIP clear, then the registers, decoded as register B says):
 *                   probe: rtc YYYY-MM-DD hh:mm:ss uip-seen=<0|1>
 *   rtc-b=<byte>    write CMOS register B (0x04 binary, 0x02 24-hour) first
 *   rtc-year=<yy>   set the clock's year (SET in B, the year register in BCD,
 *                   SET cleared), as an OS sets its clock; then read it with rtc
 *   pit-wait=<ms>   wait <ms> ms (1..60000) by the PIT, as a guest calibrating its
 *                   TSC does: channel 2 in mode 0 for 50 ms at a time, gated
 *                   and polled through port 0x61 (OUT2):
 *                   probe: pit waited ms=<ms> tsc-khz=<TSC ticks per ms seen> |
 *                   probe: pit timeout
 *   pit-cal         calibrate the TSC against PIT channel 0 as guests without a
 *                   TSC rate do: mode 2 with count 0xffff, then counter-latch
 *                   reads summing the ticks until 50 ms of them passed:
 *                   probe: pit-cal tsc-khz=<TSC ticks per ms of PIT time> |
 *                   probe: pit-cal timeout ticks=<PIT ticks seen in 5 s>
 *   pic-ticks=<n>   PIC mode (8259A pair, rt_irq_use_pic), PIT channel 0 at
 *                   1 kHz (mode 2) on IRQ 0, sleeping with HLT until <n> ticks
 *                   (1..100000) arrived:
 *                   probe: pic ticks=<ticks> ms=<TSC time they took> |
 *                   probe: pic timeout ticks=<ticks>   (after <n> * 10 + 2000 ms)
 *   pic-mask        PIC mode, PIT at 1 kHz on IRQ 0: a few ticks, then IRQ 0
 *                   masked (OCW1) for 100 ms with interrupts on, then unmasked:
 *                   probe: pic masked-ticks=<ticks while masked> imr=0x<IMR
 *                   then> irr=0x<IRR then> resumed-ticks=<ticks after unmasking> |
 *                   probe: pic timeout ticks=<ticks>   (no first ticks in 2 s)
 *                   pic-ticks and pic-mask print probe: pic none when no 8259A
 *                   answers, probe: pic no-virtual-wire lint0=0x<LVT LINT0>
 *                   when the monitor left LINT0 masked or not ExtINT, and
 *                   probe: pic spurious irq7=<n> irq15=<n> after spurious
 *                   interrupts.
 *   cpuid=<leaf>    probe: cpuid 0x<leaf> eax=0x<> ebx=0x<> ecx=0x<> edx=0x<> (subleaf 0)
 *   cpuid=<leaf>.<subleaf>
 *                   probe: cpuid 0x<leaf>.0x<subleaf> eax=0x<> ebx=0x<> ecx=0x<> edx=0x<>
 *   rdmsr=<addr>    probe: rdmsr 0x<addr>=0x<value>
 *   fault=unmapped  probe: read 0x<byte at 0xd0000000>
 *   fault=ram-end   probe: ram-end addr=0x<hex> read 0x<byte>
 *   fault=triple    probe: triple fault now (then a zero-limit IDT and ud2)
 *   fault=ud2       ud2 with the runtime's IDT: it prints "runtime: exception
 *                   6 ..." and exits with RT_EXIT_EXCEPTION (119)
 *   exit=<n>        exit status (default 0)
 *   anything else   probe: unknown arg <word>
 *   probe: done                                           (always last)
 */
#include "runtime.h"

#include "layout.h"

#define MIB	      (1ULL << 20)
#define UNMAPPED_ADDR 0xd0000000ULL
#define AP_TIMEOUT_US 2000000ULL
#define US_PER_MS     1000ULL

/* The i8042 as the guest sees it (monitor/devices/i8042.c): ports, status bit, commands. */
#define I8042_DATA_PORT	    0x60
#define I8042_STATUS_PORT   0x64
#define I8042_STATUS_OUTPUT 0x01 /* a byte waits in the data port */
#define I8042_CMD_WRITE_CTR 0x60 /* next data byte: the configuration byte */
#define I8042_CTR_KBD_INT   0x01 /* interrupt on IRQ 1 for keyboard bytes */
#define I8042_IRQ	    1
#define KBD_MAX_BYTES	    64
/* A wake-up now and then even without IRQ 1, so a lost edge cannot hang the guest. */
#define KBD_RECHECK_US 100000ULL

static inline void port_out(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t port_in(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* The CMOS clock (monitor/devices/rtc.c, the MC146818 data sheet). */
#define CMOS_INDEX   0x70
#define CMOS_DATA    0x71
#define CMOS_A	     0x0a
#define CMOS_B	     0x0b
#define CMOS_UIP     0x80
#define CMOS_SET     0x80
#define CMOS_BINARY  0x04
#define CMOS_24H     0x02
#define CMOS_PM	     0x80
#define CMOS_CENTURY 0x32
/* Reads of register A before giving up on UIP (a few seconds of exits). */
#define CMOS_UIP_POLLS 1000000

static uint8_t cmos_read(uint8_t reg)
{
	port_out(CMOS_INDEX, reg);
	return port_in(CMOS_DATA);
}

static unsigned int cmos_value(uint8_t b, uint8_t v)
{
	return (b & CMOS_BINARY) ? v : (unsigned int)(v >> 4) * 10 + (v & 0xf);
}

/*
 * do_rtc: wait for the rising edge of UIP (so a clock that never sets it is
 * seen) and its fall, then read the time right after an update.
 */
static void do_rtc(void)
{
	unsigned int i, seen = 0, hour;
	uint8_t b = cmos_read(CMOS_B), h;

	for (i = 0; i < CMOS_UIP_POLLS && !(cmos_read(CMOS_A) & CMOS_UIP); i++)
		;
	seen = i < CMOS_UIP_POLLS;
	for (i = 0; i < CMOS_UIP_POLLS && (cmos_read(CMOS_A) & CMOS_UIP); i++)
		;
	h = cmos_read(0x04);
	hour = cmos_value(b, h & (uint8_t)~CMOS_PM);
	if (!(b & CMOS_24H))
		hour = hour % 12 + ((h & CMOS_PM) ? 12 : 0);
	rt_printf("probe: rtc %u%02u-%02u-%02u %02u:%02u:%02u uip-seen=%u\n",
		  cmos_value(b, cmos_read(CMOS_CENTURY)), cmos_value(b, cmos_read(0x09)),
		  cmos_value(b, cmos_read(0x08)), cmos_value(b, cmos_read(0x07)), hour,
		  cmos_value(b, cmos_read(0x02)), cmos_value(b, cmos_read(0x00)), seen);
}

/* The i8254 (monitor/devices/pit.c): channel 2 gated by port 0x61, as Linux calibrates. */
#define PIT_CH2		0x42
#define PIT_CONTROL	0x43
#define PIT_PORT_B	0x61
#define PIT_CH2_MODE0	0xb0 /* channel 2, LSB then MSB, mode 0, binary */
#define PIT_GATE2	0x01
#define PIT_SPKR	0x02
#define PIT_OUT2	0x20
#define PIT_STEP_MS	50
#define PIT_STEP_TICKS	59659 /* 50 ms of 1.193182 MHz */
#define PIT_MAX_WAIT_MS 60000
#define PIT_POLLS	100000000 /* per step, before calling it a timeout */

static void do_pit_wait(const char *arg)
{
	uint64_t ms, steps, t0, t1;

	if (rt_parse_u64(arg, &ms) != 0 || ms == 0 || ms > PIT_MAX_WAIT_MS) {
		rt_printf("probe: bad pit wait %s\n", arg);
		return;
	}
	steps = (ms + PIT_STEP_MS - 1) / PIT_STEP_MS;
	port_out(PIT_PORT_B, (uint8_t)((port_in(PIT_PORT_B) & ~PIT_SPKR) | PIT_GATE2));
	t0 = rt_tsc();
	for (uint64_t i = 0; i < steps; i++) {
		unsigned long polls = 0;
		port_out(PIT_CONTROL, PIT_CH2_MODE0);
		port_out(PIT_CH2, PIT_STEP_TICKS & 0xff);
		port_out(PIT_CH2, PIT_STEP_TICKS >> 8);
		while (!(port_in(PIT_PORT_B) & PIT_OUT2))
			if (++polls == PIT_POLLS) {
				rt_printf("probe: pit timeout\n");
				return;
			}
	}
	t1 = rt_tsc();
	rt_printf("probe: pit waited ms=%lu tsc-khz=%lu\n", (unsigned long)(steps * PIT_STEP_MS),
		  (unsigned long)((t1 - t0) / (steps * PIT_STEP_MS)));
}

/*
 * PIT channel 0 (the 8254 data sheet's "Control Word Format" and modes) and
 * the master 8259A (its data sheet's OCW1 and OCW3), for pit-cal and the pic
 * words. Mode 2, the rate generator, counts N..1 and reloads N at once, with
 * OUT low for the one clock at 1: a period of N clocks, one IRQ 0 edge each.
 * A mode 0 control word written alone stops the channel with OUT low (the
 * count it waits for never comes).
 */
#define PIT_CH0		 0x40
#define PIT_CH0_MODE2	 0x34 /* channel 0, LSB then MSB, mode 2, binary */
#define PIT_CH0_MODE0	 0x30 /* channel 0, LSB then MSB, mode 0, binary */
#define PIT_CH0_LATCH	 0x00 /* counter-latch command for channel 0 */
#define PIT_HZ		 1193182ULL
#define PIT_CAL_RELOAD	 0xffffU
#define PIT_CAL_TICKS	 (PIT_HZ * 50 / 1000) /* 50 ms of PIT time */
#define PIT_CAL_LIMIT_US 5000000ULL
#define PIT_1KHZ	 1193U /* mode 2 count for 1000 Hz */
#define PIC_MASTER_CMD	 0x20
#define PIC_MASTER_DATA	 0x21
#define PIC_OCW3_IRR	 0x0a /* the next command-port read returns the IRR */
#define LAPIC_LVT_LINT0	 0x350
#define PIC_PIT_IRQ	 0
#define PIC_TICKS_MAX	 100000ULL
#define PIC_FIRST_TICKS	 5    /* pic-mask: ticks seen before masking, and after */
#define PIC_MASK_MS	 100  /* pic-mask: how long IRQ 0 stays masked */
#define PIC_WAIT_MS	 2000 /* pic-mask: the longest wait for those ticks */

/* pit_ch0_read: latch channel 0's count and read it, LSB then MSB. */
static uint16_t pit_ch0_read(void)
{
	uint8_t lo, hi;

	port_out(PIT_CONTROL, PIT_CH0_LATCH);
	lo = port_in(PIT_CH0);
	hi = port_in(PIT_CH0);
	return (uint16_t)(hi << 8 | lo);
}

/* pit_ch0_start: channel 0 in mode 2 with (count). */
static void pit_ch0_start(uint16_t count)
{
	port_out(PIT_CONTROL, PIT_CH0_MODE2);
	port_out(PIT_CH0, (uint8_t)count);
	port_out(PIT_CH0, (uint8_t)(count >> 8));
}

/*
 * do_pit_cal: the TSC's rate by PIT channel 0. Each read is three port
 * exits (tens of us here), far below the 55 ms period, so at most one reload
 * falls between two reads: a count above the previous one has reloaded.
 * The TSC is read right after each count, so both ends carry the same delay.
 */
static void do_pit_cal(void)
{
	uint64_t sum = 0, t0, t1, limit = PIT_CAL_LIMIT_US * rt_tsc_per_us();
	uint16_t prev, cur;

	pit_ch0_start((uint16_t)PIT_CAL_RELOAD);
	prev = pit_ch0_read();
	t0 = t1 = rt_tsc();
	while (sum < PIT_CAL_TICKS) {
		cur = pit_ch0_read();
		t1 = rt_tsc();
		sum += cur <= prev ? (uint64_t)(prev - cur) : (uint64_t)prev + PIT_CAL_RELOAD - cur;
		prev = cur;
		if (t1 - t0 > limit)
			break;
	}
	port_out(PIT_CONTROL, PIT_CH0_MODE0); /* stop it */
	if (sum < PIT_CAL_TICKS) {
		rt_printf("probe: pit-cal timeout ticks=%lu\n", (unsigned long)sum);
		return;
	}
	rt_printf("probe: pit-cal tsc-khz=%lu\n",
		  (unsigned long)((t1 - t0) * PIT_HZ / (sum * 1000)));
}

/*
 * tsc_khz: the TSC rate the hypervisor states in CPUID 0x40000010 when its
 * leaves reach that far, else the runtime's (which assumes 3 GHz on CPUs
 * without leaf 0x15/0x16).
 */
static uint64_t tsc_khz(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	if (a >= 0x40000010 && a < 0x40010000) {
		__asm__ volatile("cpuid"
				 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				 : "a"(0x40000010), "c"(0));
		if (a != 0)
			return a;
	}
	return rt_tsc_per_us() * 1000;
}

static volatile uint64_t pic_ticks; /* IRQ 0 interrupts since pic_start() */

static void pic_tick(void *arg)
{
	(void)arg;
	pic_ticks++;
}

/* pic_start: PIC mode, IRQ 0 counted by pic_tick, the PIT at 1 kHz. 0 or -1. */
static int pic_start(void)
{
	int ret = rt_irq_use_pic();

	if (ret == RT_PIC_ENOWIRE) {
		rt_printf("probe: pic no-virtual-wire lint0=0x%x\n",
			  *(volatile uint32_t *)(uintptr_t)(LAYOUT_LAPIC_ADDR + LAPIC_LVT_LINT0));
		return -1;
	}
	if (ret != 0) {
		rt_printf("probe: pic none\n");
		return -1;
	}
	pic_ticks = 0;
	rt_irq_enable(PIC_PIT_IRQ, pic_tick, NULL);
	pit_ch0_start(PIT_1KHZ);
	return 0;
}

static void pic_stop(void)
{
	port_out(PIT_CONTROL, PIT_CH0_MODE0);
	rt_irq_disable(PIC_PIT_IRQ);
	if (rt_irq_pic_spurious(7) != 0 || rt_irq_pic_spurious(15) != 0)
		rt_printf("probe: pic spurious irq7=%lu irq15=%lu\n",
			  (unsigned long)rt_irq_pic_spurious(7),
			  (unsigned long)rt_irq_pic_spurious(15));
}

/*
 * pic_spin: interrupts on for up to (ms) ms by the TSC, spinning (no HLT:
 * with IRQ 0 masked nothing would end it) until pic_ticks reaches (want).
 */
static void pic_spin(uint64_t want, uint64_t ms, uint64_t khz)
{
	uint64_t t0 = rt_tsc(), limit = ms * khz;

	__asm__ volatile("sti" ::: "memory");
	while (pic_ticks < want && rt_tsc() - t0 < limit)
		__asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
}

static void do_pic_ticks(const char *arg)
{
	uint64_t n, khz = tsc_khz(), t0, t1, limit, got;

	if (rt_parse_u64(arg, &n) != 0 || n == 0 || n > PIC_TICKS_MAX) {
		rt_printf("probe: bad pic ticks %s\n", arg);
		return;
	}
	if (pic_start() != 0)
		return;
	t0 = rt_tsc();
	limit = (n * 10 + 2000) * khz;
	/* Tested with interrupts off; rt_irq_wait's HLT ends at the next tick. */
	while (pic_ticks < n && rt_tsc() - t0 < limit)
		rt_irq_wait();
	t1 = rt_tsc();
	got = pic_ticks;
	pic_stop();
	if (got < n)
		rt_printf("probe: pic timeout ticks=%lu\n", (unsigned long)got);
	else
		rt_printf("probe: pic ticks=%lu ms=%lu\n", (unsigned long)got,
			  (unsigned long)((t1 - t0) / khz));
}

static void do_pic_mask(void)
{
	uint64_t khz = tsc_khz(), masked, resumed;
	uint8_t imr, irr;

	if (pic_start() != 0)
		return;
	pic_spin(PIC_FIRST_TICKS, PIC_WAIT_MS, khz);
	if (pic_ticks < PIC_FIRST_TICKS) {
		rt_printf("probe: pic timeout ticks=%lu\n", (unsigned long)pic_ticks);
		pic_stop();
		return;
	}
	/* OCW1 by hand (the runtime's own mask stays as it was), then 100 ms. */
	imr = port_in(PIC_MASTER_DATA);
	port_out(PIC_MASTER_DATA, (uint8_t)(imr | 1U << PIC_PIT_IRQ));
	masked = pic_ticks;
	pic_spin(UINT64_MAX, PIC_MASK_MS, khz);
	masked = pic_ticks - masked;
	imr = port_in(PIC_MASTER_DATA);
	/* The mask stops delivery, not the request: IRR still latches the edges. */
	port_out(PIC_MASTER_CMD, PIC_OCW3_IRR);
	irr = port_in(PIC_MASTER_CMD);
	port_out(PIC_MASTER_DATA, (uint8_t)(imr & ~(1U << PIC_PIT_IRQ)));
	resumed = pic_ticks;
	pic_spin(resumed + PIC_FIRST_TICKS, PIC_WAIT_MS, khz);
	resumed = pic_ticks - resumed;
	pic_stop();
	rt_printf("probe: pic masked-ticks=%lu imr=0x%02x irr=0x%02x resumed-ticks=%lu\n",
		  (unsigned long)masked, (unsigned int)imr, (unsigned int)irr,
		  (unsigned long)resumed);
}

static void do_cpuid(const char *arg)
{
	char word[24];
	const char *dot = arg;
	uint64_t leaf, subleaf = 0;
	uint32_t a, b, c, d;

	/* "<leaf>" or "<leaf>.<subleaf>": the leaf's part copied out to parse it alone. */
	while (*dot != '\0' && *dot != '.')
		dot++;
	size_t n = (size_t)(dot - arg);
	if (*dot == '\0')
		dot = NULL;
	if (n >= sizeof(word) || (dot != NULL && rt_parse_u64(dot + 1, &subleaf) != 0)) {
		rt_printf("probe: bad cpuid leaf %s\n", arg);
		return;
	}
	memcpy(word, arg, n);
	word[n] = '\0';
	if (rt_parse_u64(word, &leaf) != 0 || leaf > 0xffffffffULL || subleaf > 0xffffffffULL) {
		rt_printf("probe: bad cpuid leaf %s\n", arg);
		return;
	}
	__asm__ volatile("cpuid"
			 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"((uint32_t)leaf), "c"((uint32_t)subleaf));
	if (dot != NULL)
		rt_printf("probe: cpuid 0x%x.0x%x eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x\n",
			  (uint32_t)leaf, (uint32_t)subleaf, a, b, c, d);
	else
		rt_printf("probe: cpuid 0x%x eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x\n", (uint32_t)leaf,
			  a, b, c, d);
}

/* do_rdmsr: read one MSR (a #GP for one the vCPU lacks ends in the runtime's exception exit). */
static void do_rdmsr(const char *arg)
{
	uint64_t addr;
	uint32_t lo, hi;

	if (rt_parse_u64(arg, &addr) != 0 || addr > 0xffffffffULL) {
		rt_printf("probe: bad msr %s\n", arg);
		return;
	}
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((uint32_t)addr));
	rt_printf("probe: rdmsr 0x%x=0x%lx\n", (uint32_t)addr,
		  ((unsigned long)hi << 32) | (unsigned long)lo);
}

static unsigned int cpus_reported;

static void ap_main(unsigned int index, void *arg)
{
	(void)arg;
	rt_printf("probe: cpu %u up apic=%u\n", index, rt_apic_id());
	__atomic_add_fetch(&cpus_reported, 1, __ATOMIC_RELEASE);
}

static void do_smp(void)
{
	unsigned int online;
	uint64_t t0;

	online = rt_smp_start(ap_main, NULL, AP_TIMEOUT_US);
	t0 = rt_tsc();
	while (__atomic_load_n(&cpus_reported, __ATOMIC_ACQUIRE) < online - 1) {
		rt_delay_us(100);
		if (rt_tsc() - t0 > 10ULL * 1000 * 1000 * 1000)
			break;
	}
	rt_printf("probe: cpus=%u\n", 1 + __atomic_load_n(&cpus_reported, __ATOMIC_ACQUIRE));
}

/* Move (a) past the first MiB and the image; 0 when (a) is then unusable. */
static uint64_t usable(const struct boot_info *bi, uint64_t a, uint64_t start, uint64_t end)
{
	if (a < MIB)
		a = MIB;
	if (a >= bi->image_start && a < bi->image_end)
		a = bi->image_end;
	if (a < start || a + 8 > end || a + 8 > bi->map_end)
		return 0;
	if (a >= LAYOUT_MMIO_GAP_START && a < LAYOUT_MMIO_GAP_END)
		return 0;
	return a;
}

/* Write a pattern at (a), read it back, restore. 0 on success. */
static int poke(uint64_t a)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)a;
	uint64_t old = *p, pat = a ^ 0xa5a55a5a0ff0f00fULL;
	int bad;

	*p = pat;
	bad = *p != pat;
	*p = ~pat;
	bad |= *p != ~pat;
	*p = old;
	return bad;
}

static void do_memcheck(const struct boot_info *bi)
{
	unsigned int i, n = 0;

	for (i = 0; i < bi->nr_mem; i++) {
		const struct rt_mem_region *r = &bi->mem[i];
		uint64_t first, last;

		if (r->type != RT_MEM_RAM)
			continue;
		first = usable(bi, r->start, r->start, r->end);
		last = usable(bi, (r->end - 8) & ~7ULL, r->start, r->end);
		if (first == 0 && last == 0)
			continue;
		if (first != 0 && poke(first)) {
			rt_printf("probe: memcheck FAIL at 0x%lx\n", first);
			return;
		}
		if (last != 0 && poke(last)) {
			rt_printf("probe: memcheck FAIL at 0x%lx\n", last);
			return;
		}
		n++;
	}
	rt_printf("probe: memcheck ok regions=%u\n", n);
}

static void do_ram_end(const struct boot_info *bi)
{
	uint64_t end = 0;
	unsigned int i;

	for (i = 0; i < bi->nr_mem; i++)
		if (bi->mem[i].type == RT_MEM_RAM && bi->mem[i].end <= LAYOUT_MMIO_GAP_START &&
		    bi->mem[i].end > end)
			end = bi->mem[i].end;
	if (end == 0) {
		rt_printf("probe: ram-end none\n");
		return;
	}
	rt_printf("probe: ram-end addr=0x%lx read 0x%x\n", end,
		  *(volatile uint8_t *)(uintptr_t)end);
}

static void do_sleep(const char *arg)
{
	uint64_t ms, per_us = rt_tsc_per_us(), t0 = rt_tsc(), ticks, spent;
	unsigned int wakes = 0;

	if (rt_parse_u64(arg, &ms) != 0) {
		rt_printf("probe: bad sleep %s\n", arg);
		return;
	}
	ticks = ms * 1000 * per_us;
	while ((spent = rt_tsc() - t0) < ticks) {
		rt_irq_wait_us((ticks - spent) / per_us + 1);
		wakes++;
	}
	rt_printf("probe: slept ms=%lu wakes=%u\n", ms, wakes);
}

#define FILL_MAX_KIB 4096
#define KIB	     1024ULL
/* The state fill= builds: guest RAM the snapshot tests check after a restore. */
static uint64_t fill_buf[FILL_MAX_KIB * KIB / sizeof(uint64_t)];
static uint64_t fill_words;

/* fill_sum: an order-sensitive checksum (FNV-1a over 64-bit words) of what fill= wrote. */
static uint64_t fill_sum(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint64_t i = 0; i < fill_words; i++)
		h = (h ^ fill_buf[i]) * 0x100000001b3ULL;
	return h;
}

static void do_fill(const char *arg)
{
	uint64_t kib, x = rt_tsc() | 1;

	if (rt_parse_u64(arg, &kib) != 0 || kib == 0 || kib > FILL_MAX_KIB) {
		rt_printf("probe: bad fill %s\n", arg);
		return;
	}
	fill_words = kib * KIB / sizeof(uint64_t);
	for (uint64_t i = 0; i < fill_words; i++) {
		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		fill_buf[i] = x;
	}
	rt_printf("probe: fill kib=%lu sum=0x%016lx\n", kib, fill_sum());
}

/* do_count: print a numbered tick every (arg) ms, forever or (limit) times. */
static void do_count(const char *arg, uint64_t limit)
{
	uint64_t ms, per_us = rt_tsc_per_us(), period, next, n = 0;

	if (rt_parse_u64(arg, &ms) != 0 || ms == 0 || ms > UINT32_MAX) {
		rt_printf("probe: bad count %s\n", arg);
		rt_exit(1);
	}
	period = ms * US_PER_MS * per_us;
	next = rt_tsc() + period;
	while (limit == 0 || n < limit) {
		uint64_t now = rt_tsc();
		if (now < next) {
			rt_irq_wait_us((next - now) / per_us + 1);
			continue;
		}
		if (fill_words != 0)
			rt_printf("probe: tick %lu sum=0x%016lx\n", n++, fill_sum());
		else
			rt_printf("probe: tick %lu\n", n++);
		/* Late (the VM was paused): keep the numbers, not the lost beats. */
		next = next + period > now ? next + period : now + period;
	}
}

/* do_kbd: print the next (arg) bytes the i8042 hands the guest. */
static void do_kbd(const char *arg)
{
	uint64_t want, got = 0;

	if (rt_parse_u64(arg, &want) != 0 || want == 0 || want > KBD_MAX_BYTES) {
		rt_printf("probe: bad kbd %s\n", arg);
		return;
	}
	port_out(I8042_STATUS_PORT, I8042_CMD_WRITE_CTR);
	port_out(I8042_DATA_PORT, I8042_CTR_KBD_INT);
	rt_irq_enable(I8042_IRQ, NULL, NULL);
	rt_printf("probe: kbd waiting\n");
	while (got < want) {
		if (port_in(I8042_STATUS_PORT) & I8042_STATUS_OUTPUT) {
			rt_printf("probe: kbd 0x%02x\n", (unsigned int)port_in(I8042_DATA_PORT));
			got++;
			continue;
		}
		rt_irq_wait_us(KBD_RECHECK_US);
	}
	rt_irq_disable(I8042_IRQ);
}

static void __attribute__((noreturn)) triple_fault(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {0, 0};

	rt_printf("probe: triple fault now\n");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(idtr));
	__builtin_unreachable();
}

int main(const struct boot_info *bi)
{
	uint64_t status = 0, ticks = 0;
	unsigned int i;
	int a;

	rt_printf("probe: entry=%s\n", bi->entry == RT_ENTRY_PVH ? "pvh" : "linux64");
	rt_printf("probe: cmdline=%s\n", bi->cmdline);
	for (i = 0; i < bi->nr_mem; i++)
		rt_printf("probe: e820 start=0x%lx end=0x%lx type=%u\n", bi->mem[i].start,
			  bi->mem[i].end, bi->mem[i].type);
	rt_printf("probe: ram=%lu\n", bi->ram_bytes);

	for (a = 0; a < bi->argc; a++) {
		const char *w = bi->argv[a];

		if (strcmp(w, "memcheck") == 0) {
			do_memcheck(bi);
		} else if (strcmp(w, "smp") == 0) {
			do_smp();
		} else if (strcmp(w, "timer") == 0) {
			rt_boot_timer();
			rt_printf("probe: timer\n");
		} else if (strcmp(w, "wait") == 0) {
			rt_printf("probe: waiting\n");
			rt_printf("probe: woke byte=0x%x\n", (unsigned int)rt_getc_wait());
		} else if (strncmp(w, "sleep=", 6) == 0) {
			do_sleep(w + 6);
		} else if (strncmp(w, "fill=", 5) == 0) {
			do_fill(w + 5);
		} else if (strcmp(w, "random") == 0) {
			uint64_t r = rt_random();
			rt_printf("probe: random 0x%016lx generation=%lu\n", r, rt_generation());
		} else if (strncmp(w, "ticks=", 6) == 0) {
			if (rt_parse_u64(w + 6, &ticks) != 0)
				rt_printf("probe: bad ticks %s\n", w + 6);
		} else if (strncmp(w, "count=", 6) == 0) {
			do_count(w + 6, ticks);
			ticks = 0;
		} else if (strncmp(w, "kbd=", 4) == 0) {
			do_kbd(w + 4);
		} else if (strncmp(w, "exit=", 5) == 0) {
			if (rt_parse_u64(w + 5, &status) != 0 || status > 255) {
				rt_printf("probe: bad exit status %s\n", w + 5);
				status = 0;
			}
		} else if (strncmp(w, "inb=", 4) == 0) {
			uint64_t port;
			if (rt_parse_u64(w + 4, &port) != 0 || port > 0xffff)
				rt_printf("probe: bad port %s\n", w + 4);
			else
				rt_printf("probe: port 0x%x read 0x%x\n", (unsigned int)port,
					  (unsigned int)port_in((uint16_t)port));
		} else if (strcmp(w, "rtc") == 0) {
			do_rtc();
		} else if (strncmp(w, "rtc-b=", 6) == 0) {
			uint64_t b;
			if (rt_parse_u64(w + 6, &b) != 0 || b > 0xff) {
				rt_printf("probe: bad register B %s\n", w + 6);
			} else {
				port_out(CMOS_INDEX, CMOS_B);
				port_out(CMOS_DATA, (uint8_t)b);
			}
		} else if (strncmp(w, "rtc-year=", 9) == 0) {
			uint64_t y;
			if (rt_parse_u64(w + 9, &y) != 0 || y > 99) {
				rt_printf("probe: bad year %s\n", w + 9);
			} else {
				uint8_t b = cmos_read(CMOS_B);
				port_out(CMOS_INDEX, CMOS_B);
				port_out(CMOS_DATA, b | CMOS_SET);
				port_out(CMOS_INDEX, 0x09);
				port_out(CMOS_DATA, (uint8_t)((y / 10) << 4 | y % 10));
				port_out(CMOS_INDEX, CMOS_B);
				port_out(CMOS_DATA, b);
			}
		} else if (strncmp(w, "pit-wait=", 9) == 0) {
			do_pit_wait(w + 9);
		} else if (strcmp(w, "pit-cal") == 0) {
			do_pit_cal();
		} else if (strncmp(w, "pic-ticks=", 10) == 0) {
			do_pic_ticks(w + 10);
		} else if (strcmp(w, "pic-mask") == 0) {
			do_pic_mask();
		} else if (strncmp(w, "cpuid=", 6) == 0) {
			do_cpuid(w + 6);
		} else if (strncmp(w, "rdmsr=", 6) == 0) {
			do_rdmsr(w + 6);
		} else if (strcmp(w, "fault=unmapped") == 0) {
			rt_printf("probe: read 0x%x\n",
				  *(volatile uint8_t *)(uintptr_t)UNMAPPED_ADDR);
		} else if (strcmp(w, "fault=ram-end") == 0) {
			do_ram_end(bi);
		} else if (strcmp(w, "fault=triple") == 0) {
			triple_fault();
		} else if (strcmp(w, "fault=ud2") == 0) {
			__asm__ volatile("ud2");
		} else {
			rt_printf("probe: unknown arg %s\n", w);
		}
	}
	rt_printf("probe: done\n");
	return (int)status;
}
