/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime.h: the whole public surface of ember's freestanding guest runtime.
 *
 * A guest is one static ELF linked at 1 MiB with guest.ld. The runtime owns
 * both boot entries (Linux 64-bit boot protocol and PVH), builds its own GDT,
 * IDT and identity page tables, parses the command line and memory map, and
 * then calls the guest's main(). Returning from main() exits the VM with the
 * returned status. Everything here runs in ring 0 with interrupts off (they
 * are enabled only while rt_irq_wait*() sleeps) and uses plain integer code, port I/O and MMIO only (no SSE, x87, xsave,
 * popcnt): the software KVM on our hosts cannot emulate more (HOST-KVM.md).
 */
#ifndef EMBER_RUNTIME_H
#define EMBER_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* How the monitor entered the guest. */
enum rt_entry {
	RT_ENTRY_LINUX64 = 1, /* ELF e_entry or bzImage +0x200, RSI = zero page */
	RT_ENTRY_PVH = 2,     /* XEN_ELFNOTE_PHYS32_ENTRY, EBX = hvm_start_info */
};

#define RT_MEM_MAX     128  /* memory map entries kept */
#define RT_ARGS_MAX    64   /* guest args kept */
#define RT_CMDLINE_MAX 2048 /* bytes, including the NUL */
#define RT_MEM_RAM     1    /* e820 / PVH memmap type of usable RAM */
#define RT_MAX_CPUS    32   /* vCPUs the SMP code brings up, BSP included */

/*
 * Status rt_exit() is called with after an unexpected CPU exception; below
 * the 120..125 ember uses for its own failures (monitor/exit_status.h).
 */
#define RT_EXIT_EXCEPTION 119

/* One memory map entry; end is exclusive. */
struct rt_mem_region {
	uint64_t start;
	uint64_t end;
	uint32_t type;
};

/* What the guest's main() gets: parsed once on the boot CPU, read-only after. */
struct boot_info {
	enum rt_entry entry;
	uint64_t boot_params;	 /* guest-physical zero page or hvm_start_info */
	const char *cmdline;	 /* the whole command line, "" when none */
	int argc;		 /* guest args: the words after the first "--" */
	const char *const *argv; /* argv[argc] == NULL */
	unsigned int nr_mem;
	struct rt_mem_region mem[RT_MEM_MAX];
	uint64_t ram_bytes;   /* sum of RT_MEM_RAM entries */
	uint64_t image_start; /* [image_start, image_end): runtime + program, */
	uint64_t image_end;   /* bss, page tables and stacks included */
	uint64_t map_end;     /* the identity map covers [0, map_end) */
};

/*
 * main: the guest program, called on the boot CPU once the runtime is up.
 * (bi) stays valid for the life of the guest. The return value is the exit
 * status (0..255) passed to rt_exit().
 */
int main(const struct boot_info *bi);

/* --- console: polled 8250 UART at COM1 ------------------------------- */

/* rt_putc: write (c); "\n" goes out as "\r\n". */
void rt_putc(char c);
/* rt_puts: write the string (s), no newline added. */
void rt_puts(const char *s);
/*
 * rt_printf: formatted output. Conversions: %s %c %d %i %u %x %p %%, length
 * modifiers l and ll, flags '0' and '-', and a field width. Whole calls are
 * serialised across CPUs, so lines from different CPUs do not interleave.
 */
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_vprintf(const char *fmt, va_list ap);
/* rt_getc: the next received byte (0..255), or -1 when none is waiting. */
int rt_getc(void);
/*
 * rt_getc_wait: sleep until a byte arrives on COM1 and return it. Interrupt
 * driven (UART IER "receive data available" + IOAPIC pin LAYOUT_COM1_IRQ,
 * HLT in between), no polling: an idle guest uses no CPU. The UART
 * interrupt and the pin are off again on return.
 */
int rt_getc_wait(void);

/* --- signals to the monitor ------------------------------------------ */

/* rt_boot_timer: write LAYOUT_BOOT_TIMER_MAGIC to the boot timer MMIO byte. */
void rt_boot_timer(void);
/*
 * rt_exit: write (status & 0xff) to the exit port. When nothing catches it
 * (not under ember), reset through the i8042, then halt forever.
 */
void rt_exit(int status) __attribute__((noreturn));

/* --- command line ---------------------------------------------------- */

/* rt_arg_value: for a guest arg "key=value" return "value", else NULL. */
const char *rt_arg_value(const struct boot_info *bi, const char *key);
/* rt_arg_has: nonzero when (word) is one of the guest args. */
int rt_arg_has(const struct boot_info *bi, const char *word);

/* --- time ------------------------------------------------------------ */

/* rt_tsc: the time stamp counter. */
uint64_t rt_tsc(void);
/*
 * rt_random: a pseudo-random number, reseeded whenever the VM generation
 * changed since the last one (a restored snapshot: see random.c).
 * rt_generation: that generation, 0 for a booted VM (or a monitor without
 * the generation page).
 */
uint64_t rt_random(void);
uint64_t rt_generation(void);
/* rt_tsc_per_us: TSC ticks per microsecond (see rt_delay_us). */
uint64_t rt_tsc_per_us(void);
/*
 * rt_delay_us: spin for at least about (us) microseconds. The TSC rate comes
 * from CPUID leaf 0x16 or 0x15 when present, else 3 GHz is assumed (which
 * errs on the long side on slower parts).
 */
void rt_delay_us(uint64_t us);

/* --- interrupts ------------------------------------------------------ */

/* An interrupt handler; runs on the boot CPU inside rt_irq_wait*(). */
typedef void (*rt_irq_fn)(void *arg);

/*
 * rt_irq_enable: route ISA IRQ / IOAPIC pin (pin) (0..23) to the boot CPU,
 * edge-triggered, active high, and call (fn)(arg) (fn may be NULL: the
 * interrupt only wakes rt_irq_wait) for each interrupt. Enables the local
 * APIC on first use. In PIC mode (rt_irq_use_pic) it unmasks 8259A input
 * (pin) instead, which takes 0..15 but 2 (the cascade). Returns 0, or -1 for
 * a bad pin.
 */
int rt_irq_enable(unsigned int pin, rt_irq_fn fn, void *arg);
/* rt_irq_disable: mask (pin) in the IOAPIC (or the 8259A) and forget its handler. */
void rt_irq_disable(unsigned int pin);
/*
 * rt_irq_wait: STI; HLT; CLI. The vCPU sleeps until an interrupt (whose
 * handler has run when this returns). Test the condition you wait for with
 * interrupts off (as always in the runtime) and call this only when it is
 * false: an interrupt in between is not lost, it ends the HLT at once.
 */
void rt_irq_wait(void);
/*
 * rt_irq_wait_us: as rt_irq_wait(), but also woken after about (us)
 * microseconds by the local APIC timer (one-shot, 1 GHz KVM APIC bus
 * assumed). Callers loop until their condition or a TSC deadline. In PIC
 * mode the timer is the PIT's counter 0 on IRQ 0 (mode 0, at most ~54.9 ms
 * a wait), unless the guest enabled IRQ 0 itself: then the PIT is the
 * guest's, and its next interrupt ends the wait.
 */
void rt_irq_wait_us(uint64_t us);
/* rt_irq_use_pic's failures. */
#define RT_PIC_ENODEV  (-1) /* no 8259A answers: its masks do not read back */
#define RT_PIC_ENOWIRE (-2) /* LINT0 is no virtual wire (masked, or not ExtINT) */

/*
 * rt_irq_use_pic: PIC mode from now on. Initialises the 8259A pair as a PC
 * operating system does (vectors RT_IRQ_VECTOR_BASE + 0..15, edge-triggered,
 * every input masked but the cascade), masks the IOAPIC pins enabled so far
 * and carries pins 0..15 (but 2) over to the 8259A with their handlers
 * (others are disabled). Interrupts then reach the boot CPU through its
 * LINT0 in ExtINT mode, as the monitor set it up: the runtime no longer
 * software-enables the local APIC, whose timer rt_irq_wait_us() stops
 * using. Returns 0 (also when already in PIC mode), RT_PIC_ENOWIRE when the
 * monitor left LINT0 masked or not ExtINT (and the runtime has not enabled
 * the local APIC, with which it could rewire it), or RT_PIC_ENODEV when no
 * 8259A answers; nothing else changed then.
 */
int rt_irq_use_pic(void);
/* rt_irq_count: interrupts taken on (pin) so far (spurious ones excluded). */
uint64_t rt_irq_count(unsigned int pin);
/*
 * rt_irq_pic_spurious: in PIC mode, the spurious interrupts seen on IRQ 7
 * ((irq) 7) or IRQ 15 ((irq) 15): acknowledges no request backed (a request
 * gone before the CPU took it), which got no handler call and no EOI.
 */
uint64_t rt_irq_pic_spurious(unsigned int irq);

/* --- SMP ------------------------------------------------------------- */

/* Function an application processor runs; it halts when this returns. */
typedef void (*rt_ap_fn)(unsigned int index, void *arg);

/*
 * rt_smp_cpus: number of enabled processors in the Intel MP table (BSP
 * included), searched in [0x9fc00, 0xa0000), the EBDA and 0xf0000..0xfffff.
 * 1 when there is no MP table.
 */
unsigned int rt_smp_cpus(void);
/*
 * rt_smp_start: start every AP in the MP table (at most RT_MAX_CPUS - 1)
 * with INIT, SIPI, SIPI through a real-mode trampoline at 0x3000. APs get
 * indexes 1..n-1 in MP table order; each runs (fn)(index, arg) on its own
 * stack with the BSP's GDT, IDT and page tables. Starts them one at a time,
 * waiting up to (timeout_us) for each to reach C. Call once, from main().
 * Returns the number of CPUs online, BSP included.
 */
unsigned int rt_smp_start(rt_ap_fn fn, void *arg, uint64_t timeout_us);
/* rt_apic_id: the calling CPU's local APIC id (xAPIC register 0x20). */
unsigned int rt_apic_id(void);

/* --- freestanding libc bits (the compiler may emit calls to these) ----- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* rt_memchr: first (c) in the (n) bytes at (s), or NULL. */
const void *rt_memchr(const void *s, int c, size_t n);
/* rt_strnlen: length of (s), at most (max). */
size_t rt_strnlen(const char *s, size_t max);

/* rt_parse_u64: parse a decimal or 0x-prefixed hex number; -1 on junk. */
int rt_parse_u64(const char *s, uint64_t *out);

#endif /* EMBER_RUNTIME_H */
