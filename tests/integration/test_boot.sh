#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_boot.sh: boot the small guests under KVM and check what they report:
# each boot format, command line, memory map, SMP, exit status, faults, and
# the errors for bad input.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

HELLO=$O/guest/hello.elf
PROBE=$O/tests/guests/probe.elf
PROBE_NOPVH=$O/tests/guests/probe-nopvh.elf
PROBE_BZ=$O/tests/guests/probe.bzImage
PROBE_BZ_NO64=$O/tests/guests/probe-no64.bzImage
MIB=$((1024 * 1024))

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: KVM boot not tested"
	return 1
}

test_hello_prints_and_reports_boot_time() {
	need_kvm || return
	ember_run --kernel "$HELLO" --boot-timer -- world
	expect_rc 0
	expect_out "hello, world"
	expect_err_re '^ember: guest boot time [0-9]+ us \([0-9]+ us since exec\)$'
}

test_hello_without_args() {
	need_kvm || return
	ember_run --kernel "$HELLO"
	expect_rc 0
	expect_out "hello, world"
	grep -q "boot time" <<<"$ERR" && fail "boot time reported without --boot-timer"
}

test_hello_many_args() {
	need_kvm || return
	ember_run --kernel "$HELLO" -- from a microVM
	expect_rc 0
	expect_out "hello, from a microVM"
}

test_entry_pvh_from_elf_note() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- exit=0
	expect_rc 0
	expect_out "probe: entry=pvh"
	expect_out "probe: done"
}

test_entry_linux64_elf_without_note() {
	need_kvm || return
	ember_run --kernel "$PROBE_NOPVH" -- exit=0
	expect_rc 0
	expect_out "probe: entry=linux64"
}

test_entry_linux64_forced() {
	need_kvm || return
	ember_run --kernel "$PROBE" --boot-entry linux64 -- exit=0
	expect_rc 0
	expect_out "probe: entry=linux64"
}

test_entry_bzimage() {
	need_kvm || return
	ember_run --kernel "$PROBE_BZ" -- exit=0
	expect_rc 0
	expect_out "probe: entry=linux64"
	expect_out "probe: done"
}

test_bzimage_without_64bit_entry_refused() {
	ember_run --kernel "$PROBE_BZ_NO64"
	expect_rc 125
	expect_err_re 'XLF_KERNEL_64'
}

test_pvh_forced_without_note_refused() {
	ember_run --kernel "$PROBE_NOPVH" --boot-entry pvh
	expect_rc 125
	expect_err_re 'PVH|note'
}

test_cmdline_reaches_guest() {
	need_kvm || return
	ember_run --kernel "$PROBE" --cmdline "console=ttyS0 foo=bar" -- exit=0 x
	expect_rc 0
	expect_out "probe: cmdline=console=ttyS0 foo=bar -- exit=0 x"
}

# The default command line, word for word as README.md gives it, then the
# guest's words after " -- ".
test_default_cmdline() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- exit=0
	expect_rc 0
	expect_out "probe: cmdline=console=ttyS0 reboot=k panic=-1 pci=off nomodule i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check rcupdate.rcu_expedited=1 quiet -- exit=0"
}

# e820 as the guest reads it: both entry paths must tell the same story.
check_e820_128m() {
	expect_out "probe: e820 start=0x0 end=0x9fc00 type=1"
	expect_out "probe: e820 start=0x100000 end=0x8000000 type=1"
	expect_out "probe: ram=$((0x9fc00 + 128 * MIB - 0x100000))"
	grep -q "start=0x100000000" <<<"$OUT" && fail "RAM above 4 GiB with 128 MiB"
}

test_e820_128m_pvh() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- exit=0
	expect_rc 0
	check_e820_128m
}

test_e820_128m_linux64() {
	need_kvm || return
	ember_run --kernel "$PROBE_NOPVH" -- exit=0
	expect_rc 0
	check_e820_128m
}

test_mem_4096_has_ram_above_gap() {
	need_kvm || return
	ember_run --kernel "$PROBE" --mem 4096 -- memcheck
	expect_rc 0
	expect_out "probe: e820 start=0x100000 end=0xc0000000 type=1"
	expect_out "probe: e820 start=0x100000000 end=0x140000000 type=1"
	expect_out "probe: ram=$((0x9fc00 + 0xc0000000 - 0x100000 + 1024 * MIB))"
	expect_out_re '^probe: memcheck ok regions=[0-9]+$'
	grep -Eq 'start=0xc[0-9a-f]{7} .*type=1' <<<"$OUT" && fail "MMIO gap listed as RAM"
}

test_memcheck_linux64() {
	need_kvm || return
	ember_run --kernel "$PROBE_NOPVH" --mem 256 -- memcheck
	expect_rc 0
	expect_out_re '^probe: memcheck ok regions=[0-9]+$'
}

exit_status_case() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- "exit=$1"
	expect_rc "$1"
}
test_exit_status_0() { exit_status_case 0; }
test_exit_status_1() { exit_status_case 1; }
test_exit_status_3() { exit_status_case 3; }
test_exit_status_255() { exit_status_case 255; }

test_boot_timer_from_probe() {
	need_kvm || return
	ember_run --kernel "$PROBE" --boot-timer -- timer exit=0
	expect_rc 0
	expect_err_re '^ember: guest boot time [0-9]+ us'
}

smp_case() {
	need_kvm || return
	local n=$1 i
	shift
	ember_run --kernel "$@" --vcpus "$n" -- smp exit=0
	expect_rc 0
	expect_out "probe: cpus=$n"
	for ((i = 1; i < n; i++)); do
		expect_out "probe: cpu $i up apic=$i"
	done
}
test_vcpus_4_pvh() { smp_case 4 "$PROBE"; }
test_vcpus_4_linux64() { smp_case 4 "$PROBE_NOPVH"; }
test_vcpus_1_smp() { smp_case 1 "$PROBE"; }

# EMBER_TRACE_STARTUP=1: one line, every phase present, and the phases
# (each the time since the previous stamp) add up to exec -> first KVM_RUN.
test_startup_trace_line() {
	need_kvm || return
	EMBER_TRACE_STARTUP=1 ember_run --kernel "$HELLO" -- x
	expect_rc 0
	expect_out "hello, x"
	local line k sum=0 total
	line=$(grep '^ember: startup ' <<<"$ERR")
	[ -n "$line" ] || { fail "no 'ember: startup' line"; return; }
	for k in main config kvm memory devices load vcpus first_run; do
		[[ $line =~ \ ${k}_us=([0-9]+) ]] || { fail "no ${k}_us in: $line"; return; }
		sum=$((sum + BASH_REMATCH[1]))
	done
	[[ $line =~ exec_to_run_us=([0-9]+) ]] || { fail "no exec_to_run_us"; return; }
	total=${BASH_REMATCH[1]}
	# Each phase is truncated to whole microseconds: at most 8 us apart.
	((total >= sum && total - sum <= 8)) || fail "phases sum to $sum us, total $total us"
	((total > 0)) || fail "exec_to_run_us is 0"
	# Without the variable: the same run, and no such line.
	ember_run --kernel "$HELLO" -- x
	expect_rc 0
	expect_out "hello, x"
	grep -q 'startup' <<<"$ERR" && fail "startup line printed without being asked for"
}

# The logger under the seccomp filters (on by default): its timestamps must
# not need a syscall the filters refuse, whichever thread logs first.
test_log_path_under_seccomp() {
	need_kvm || return
	ember_run --kernel "$HELLO" --log-path "$TMP/ember.log" --level Debug -- x
	expect_rc 0
	expect_out 'hello, x'
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+' "$TMP/ember.log" ||
		fail "no timestamped line in the log file: $(head -3 "$TMP/ember.log")"
}

# Stopping must reach every vCPU thread, including APs still parked in
# KVM_RUN waiting for a SIPI that never comes: 60 such VMs must all exit.
test_vcpus_4_stop_never_hangs() {
	need_kvm || return
	local i hung=0 bad=0
	for ((i = 0; i < 60; i++)); do
		timeout --signal=KILL 10 "$EMBER" --kernel "$HELLO" --vcpus 4 -- x \
			</dev/null >/dev/null 2>&1
		case $? in
		0) ;;
		137) hung=$((hung + 1)) ;;
		*) bad=$((bad + 1)) ;;
		esac
	done
	[ $hung = 0 ] || fail "$hung of 60 runs hung"
	[ $bad = 0 ] || fail "$bad of 60 runs exited non-zero"
}

test_unmapped_mmio_read_is_reported_not_fatal() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- fault=unmapped exit=0
	expect_rc 0
	expect_out "probe: read 0xff"
	expect_err_re 'vcpu0: guest read 1 bytes at 0xd0000000: no device there'
}

# Firecracker answers a read of a port no device claims with 0, and guests
# built for it poll on that (the CMOS update flag); so does ember. Port 0x200
# (a game port) is claimed by nothing.
test_unclaimed_port_reads_zero() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- inb=0x200 exit=0
	expect_rc 0
	expect_out "probe: port 0x200 read 0x0"
	expect_out "probe: done"
}

# The CMOS clock reads the host's date and time (UTC), in each format register
# B asks for, after the update-in-progress flag has risen and fallen as on the
# chip (a guest waiting for it must not hang). A guest sets B itself.
test_cmos_clock_reads_host_time() {
	need_kvm || return
	local t0 t1 line
	t0=$(date -u +%s)
	ember_run --kernel "$PROBE" -- rtc rtc-b=0x04 rtc rtc-b=0x06 rtc exit=0
	t1=$(date -u +%s)
	expect_rc 0
	[ "$(grep -c '^probe: rtc .* uip-seen=1$' <<<"$OUT")" = 3 ] || fail "not 3 clock reads with UIP seen"
	while read -r line; do
		local when
		when=$(date -u -d "${line#probe: rtc }" +%s 2>/dev/null) || { fail "bad date in '$line'"; continue; }
		[ "$when" -ge $((t0 - 2)) ] && [ "$when" -le $((t1 + 2)) ] ||
			fail "'$line' is not between $(date -u -d @"$t0" '+%F %T') and $(date -u -d @"$t1" '+%F %T')"
	done < <(grep '^probe: rtc ' <<<"$OUT" | sed 's/ uip-seen=.*//')
}

# A guest that sets its clock moves its own time only, and the clock runs on
# from there (the offset to the host's survives; the host's clock is untouched).
# 2044 is a leap year, so today's date exists in it.
test_cmos_clock_set_by_guest() {
	need_kvm || return
	local year
	year=$(date -u +%Y)
	ember_run --kernel "$PROBE" -- rtc-year=44 rtc exit=0
	expect_rc 0
	expect_out_re "^probe: rtc 2044-$(date -u +%m)-[0-9]{2} [0-9:]{8} uip-seen=1$"
	[ "$(date -u +%Y)" = "$year" ] || fail "the host's year changed"
}

# The PIT counts real time: a guest that waits 1.5 s on channel 2 (mode 0,
# gated and polled through port 0x61, as Linux calibrates its TSC) takes
# at least that long and not much longer.
test_pit_counts_real_time() {
	need_kvm || return
	local t0 t1
	t0=$(date +%s%N)
	ember_run --kernel "$PROBE" -- pit-wait=1500 exit=0
	t1=$(date +%s%N)
	expect_rc 0
	expect_out_re "^probe: pit waited ms=1500 tsc-khz=[1-9][0-9]*$"
	local ms=$(((t1 - t0) / 1000000))
	[ "$ms" -ge 1500 ] || fail "1.5 s by the PIT took only $ms ms: it runs fast"
	[ "$ms" -lt 3000 ] || fail "1.5 s by the PIT took $ms ms: it runs slow"
}

# CPUID leaf 0x40000010 gives the TSC and APIC timer rates (kHz), so a guest
# need not calibrate against the PIT; 0x40000000 reaches it.
test_cpuid_timing_leaf() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- cpuid=0x40000000 cpuid=0x40000010 exit=0
	expect_rc 0
	expect_out_re "^probe: cpuid 0x40000000 eax=0x400000(1[0-9a-f]|[2-9a-f][0-9a-f]) ebx=0x4b4d564b "
	expect_out_re "^probe: cpuid 0x40000010 eax=0x[1-9a-f][0-9a-f]* ebx=0xf4240 ecx=0x0 edx=0x0$"
}

# A guest without a stated TSC rate calibrates its TSC against PIT channel 0,
# as Linux and unikernels built for Firecracker do: mode 2 with count 0xffff,
# counter-latch reads summed over 50 ms of PIT ticks. The rate it finds must
# be within 5% of the one CPUID leaf 0x40000010 states (on software KVM the
# guest reads the host's CPUID there, which states the same TSC).
test_pit_calibrates_tsc() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- pit-cal cpuid=0x40000010 exit=0
	expect_rc 0
	local cal stated diff
	cal=$(sed -nE 's/^probe: pit-cal tsc-khz=([0-9]+)$/\1/p' <<<"$OUT")
	stated=$(sed -nE 's/^probe: cpuid 0x40000010 eax=(0x[0-9a-f]+) .*/\1/p' <<<"$OUT")
	[ -n "$cal" ] || { fail "no calibration: $(grep '^probe: pit-cal' <<<"$OUT")"; return; }
	stated=$((${stated:-0}))
	[ "$stated" -gt 0 ] || { fail "CPUID 0x40000010 states no TSC rate"; return; }
	diff=$((cal > stated ? cal - stated : stated - cal))
	[ $((diff * 20)) -le "$stated" ] ||
		fail "the TSC by the PIT runs at $cal kHz, CPUID 0x40000010 says $stated kHz: more than 5% apart"
}

# PIC mode (the guest initialises the 8259A pair as a PC OS does): the PIT's
# IRQ 0 reaches the boot CPU through the master 8259A and LINT0 (ExtINT), the
# guest sleeping in HLT between ticks and ending each with an OCW2 EOI. At
# 1 kHz (mode 2, count 1193), 200 ticks take 200 ms of TSC time; 150..600 ms
# allows for this slow host. Spurious IRQ 7s (a request gone before the
# acknowledge) are legal and only printed.
test_pic_delivers_pit_ticks() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- pic-ticks=200 exit=0
	expect_rc 0
	local line
	line=$(grep -m1 -E '^probe: pic (ticks|timeout|none|no-virtual-wire)' <<<"$OUT")
	if [[ ! $line =~ ^probe:\ pic\ ticks=([0-9]+)\ ms=([0-9]+)$ ]]; then
		fail "no 200 ticks through the 8259A: '${line:-no pic line}'"
		return
	fi
	local ticks=${BASH_REMATCH[1]} ms=${BASH_REMATCH[2]}
	[ "$ticks" -ge 200 ] || fail "only $ticks ticks"
	[ "$ms" -ge 150 ] || fail "200 ticks at 1 kHz took only $ms ms: IRQ 0 comes too often"
	[ "$ms" -le 600 ] || fail "200 ticks at 1 kHz took $ms ms: IRQ 0 comes too rarely"
}

# An input masked with OCW1 delivers nothing, though its requests still latch
# in the IRR (the mask acts after the IRR, and a request the CPU has not yet
# acknowledged when the mask is set must not arrive either); the IMR reads
# back as written; unmasked, the ticks come again.
test_pic_mask_holds_irq0() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- pic-mask exit=0
	expect_rc 0
	local line re='^probe: pic masked-ticks=([0-9]+) imr=0x([0-9a-f]{2}) irr=0x([0-9a-f]{2}) resumed-ticks=([0-9]+)$'
	line=$(grep -m1 -E '^probe: pic (masked-ticks|timeout|none|no-virtual-wire)' <<<"$OUT")
	if [[ ! $line =~ $re ]]; then
		fail "no masking result: '${line:-no pic line}'"
		return
	fi
	local masked=${BASH_REMATCH[1]} imr=${BASH_REMATCH[2]} irr=${BASH_REMATCH[3]} resumed=${BASH_REMATCH[4]}
	[ "$masked" = 0 ] || fail "$masked ticks arrived while IRQ 0 was masked"
	(((0x$imr & 1) == 1)) || fail "IMR reads 0x$imr: IRQ 0's mask bit is not set"
	(((0x$irr & 1) == 1)) || fail "IRR reads 0x$irr: the masked IRQ 0 request was not latched"
	[ "$resumed" -gt 0 ] || fail "no ticks after IRQ 0 was unmasked again"
}

test_triple_fault_is_a_clear_error() {
	need_kvm || return
	ember_run --kernel "$PROBE" -- fault=triple
	expect_rc 121
	expect_err_re '^ember: vcpu0: guest triple fault \(KVM_EXIT_SHUTDOWN\) at rip 0x[0-9a-f]+$'
}

# --- bad input: a clear error naming the problem, status 125, no crash ---

bad_input_case() {
	local what=$1 re=$2
	shift 2
	ember_run "$@"
	expect_rc 125
	expect_err_re "$re"
	[ "$RC" -ge 128 ] && fail "$what: ember died of a signal"
	[ -z "$OUT" ] || fail "$what: unexpected stdout"
}

test_kernel_missing_file() {
	bad_input_case missing "^ember: --kernel: cannot open '$TMP/nope': No such file" \
		--kernel "$TMP/nope"
}

test_kernel_directory() {
	bad_input_case directory "^ember: --kernel: '$TMP' is not a regular file" --kernel "$TMP"
}

test_kernel_empty() {
	: >"$TMP/empty"
	bad_input_case empty "^ember: --kernel: '$TMP/empty' is empty" --kernel "$TMP/empty"
}

test_kernel_garbage() {
	head -c 65536 /dev/urandom >"$TMP/garbage"
	bad_input_case garbage "^ember: kernel: " --kernel "$TMP/garbage"
}

test_kernel_truncated_elf() {
	head -c 100 "$PROBE" >"$TMP/trunc.elf"
	bad_input_case truncated "^ember: kernel: " --kernel "$TMP/trunc.elf"
}

test_initrd_missing() {
	bad_input_case initrd "^ember: --initrd: cannot open" --kernel "$PROBE" --initrd "$TMP/none"
}

test_initrd_too_big() {
	truncate -s 64M "$TMP/big.img"
	bad_input_case initrd-big "^ember: initrd: " --kernel "$PROBE" --mem 32 --initrd "$TMP/big.img"
}

# error_lines: stderr's lines but the warning a sanitizer stage's
# --no-seccomp adds (tests/run.sh's wrappers).
error_lines() { grep -vc 'seccomp filters are off' <<<"$ERR"; }

# A failure found while building names the flag that gave the file, on one
# line (the API names the field instead: test_api.sh).
test_build_failure_is_one_line_naming_the_flag() {
	head -c 65536 /dev/urandom >"$TMP/garbage"
	bad_input_case garbage "^ember: kernel: not an ELF or bzImage \(--kernel '$TMP/garbage'\)$" \
		--kernel "$TMP/garbage"
	[ "$(error_lines)" = 1 ] || fail "more than the one line: $ERR"
	truncate -s 64M "$TMP/big.img"
	bad_input_case initrd-big "^ember: initrd: 67108864 bytes do not fit .*\(--initrd '$TMP/big.img'\)$" \
		--kernel "$PROBE" --mem 32 --initrd "$TMP/big.img"
	[ "$(error_lines)" = 1 ] || fail "more than the one line: $ERR"
	if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]; then
		bad_input_case tap "^ember: --net embnosuch$$: no such network interface" \
			--kernel "$PROBE" --net "embnosuch$$"
		grep -q "network interface '" <<<"$ERR" && fail "a flag's device named as the API's: $ERR"
	fi
}

test_flag_mem_zero() { bad_input_case mem "^ember: --mem: 0 is out of range \(2 to 1048576\)" --kernel "$PROBE" --mem 0; }
test_flag_mem_text() { bad_input_case mem "^ember: --mem: 'lots'" --kernel "$PROBE" --mem lots; }
test_flag_vcpus_33() { bad_input_case vcpus "^ember: --vcpus: 33 is out of range \(1 to 32\)" --kernel "$PROBE" --vcpus 33; }
test_flag_vcpus_0() { bad_input_case vcpus "^ember: --vcpus: 0 is out of range" --kernel "$PROBE" --vcpus 0; }
test_flag_unknown() { bad_input_case unknown "^ember: --frobnicate: unknown option" --frobnicate; }
test_flag_missing_value() { bad_input_case value "^ember: --mem: needs a value" --kernel "$PROBE" --mem; }
test_flag_no_kernel() { bad_input_case nokernel "^ember: --kernel: missing" --mem 64; }
test_flag_stray_argument() { bad_input_case stray "'oops': unexpected argument" --kernel "$PROBE" oops; }
test_flag_boot_entry() { bad_input_case entry "^ember: --boot-entry: 'bios'" --kernel "$PROBE" --boot-entry bios; }

test_cmdline_too_long() {
	local long
	long=$(head -c 3000 /dev/zero | tr '\0' a)
	bad_input_case cmdline "longer than 2047 bytes" --kernel "$PROBE" --cmdline "$long"
}

test_version_and_help() {
	ember_run --version
	expect_rc 0
	# Firecracker's shape: the API version is the second word, 'v'-prefixed
	# (Kata reads it so and wants at least 0.21.1); ember's own follows.
	expect_out_re '^ember v1\.[0-9]+\.[0-9]+ \(Firecracker API; ember [0-9]+\.[0-9]+\.[0-9]+\)$'
	local second
	second=$(head -n1 <<<"$OUT" | cut -d' ' -f2)
	[ "$second" = "v$(sed -n 's/^#define CONFIG_FIRECRACKER_API_VERSION "\(.*\)"$/\1/p' monitor/control/config.h)" ] ||
		fail "--version: second word '$second' is not the API version of config.h"
	ember_run --help
	expect_rc 0
	expect_out_re '^usage: ember --kernel PATH'
}

test_binary_is_static() {
	need_production_build || return
	file -L "$EMBER" | grep -q "statically linked" || { RC=; OUT=$(file -L "$EMBER"); fail "ember is not statically linked"; }
}

run_tests "${1:-}"
