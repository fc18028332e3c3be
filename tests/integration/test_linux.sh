#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_linux.sh: the Linux smoke test. Boots the default guest kernel
# (build/guest/vmlinux, bzImage) with the initrd and checks what the kernel
# prints before init: the e820 map, the command line, the CPU count, the
# initrd. On hardware KVM it goes on into guest-init and checks the exit
# status round trip; on software KVM (kvm_pvm) Linux user space cannot run
# (shared/HOST-KVM.md), so that part reports SKIP.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VMLINUX=$O/guest/vmlinux
BZIMAGE=$O/guest/bzImage
INITRD=$O/guest/initrd.cpio
# Linux is ~300x slower under kvm_pvm: minutes, not seconds.
BOOT_TIMEOUT=${EMBER_LINUX_TIMEOUT:-420}

BASE_CMDLINE="console=ttyS0 reboot=k panic=-1 pci=off nomodule i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
if software_kvm; then
	# Instructions the kvm_pvm emulator lacks (cmpxchg16b: SLUB), and the int3
	# self-test (our patch).
	BASE_CMDLINE="$BASE_CMDLINE clearcpuid=xsave,popcnt,smap,cx16 noint3test"
fi

need_linux() {
	have_kvm || { skip "no usable /dev/kvm: Linux boot not tested"; return 1; }
	[ -f "$VMLINUX" ] && [ -f "$INITRD" ] || { fail "missing $VMLINUX or $INITRD (make guest)"; return 1; }
}

# boot_until PATTERN ARGS...: run ember until the console shows PATTERN or
# ember exits; sets OUT, ERR, RC (RC is empty when we stopped it).
boot_until() {
	local pattern=$1 pid waited=0
	shift
	: >"$TMP/out"
	"$EMBER" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	RC=
	while kill -0 "$pid" 2>/dev/null; do
		if grep -qE -- "$pattern" "$TMP/out"; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			break
		fi
		if [ "$waited" -ge "$BOOT_TIMEOUT" ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			RC=timeout
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	if [ -z "$RC" ] && ! grep -qE -- "$pattern" "$TMP/out"; then
		wait "$pid"
		RC=$?
	fi
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	echo "      (linux: ${waited}s, console $(wc -l <"$TMP/out") lines)"
}

check_early_log() {
	expect_out_re 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable'
	expect_out_re 'BIOS-e820: \[mem 0x0000000000100000-0x000000000fffffff\] usable'
	expect_out_re "Command line: $BASE_CMDLINE"
	expect_out_re 'Linux version 6\.1\.'
}

test_linux_vmlinux_boots_to_init() {
	need_linux || return
	truncate -s 8M "$TMP/disk.img"
	boot_until 'Run /init as init process|Kernel panic|guest-init:' \
		--kernel "$VMLINUX" --initrd "$INITRD" --mem 256 --cmdline "$BASE_CMDLINE" \
		--disk "$TMP/disk.img" --rng --vsock "3,$TMP/v.sock"
	[ "$RC" = timeout ] && { fail "no 'Run /init' within ${BOOT_TIMEOUT}s"; return; }
	check_early_log
	expect_out_re 'smpboot: Allowing 1 CPUs'
	expect_out_re 'Freeing initrd memory: [0-9]+K'
	# The kernel found the devices ember announced on its command line.
	expect_out_re 'virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6 virtio_mmio.device=4K@0xc0003000:7'
	expect_out_re 'virtio_blk virtio0: \[vda\] 16384 512-byte logical blocks'
	expect_out_re 'Run /init as init process'
}

test_linux_two_vcpus_counted() {
	need_linux || return
	boot_until 'smpboot: Allowing [0-9]+ CPUs|Kernel panic' \
		--kernel "$VMLINUX" --initrd "$INITRD" --mem 256 --vcpus 2 --cmdline "$BASE_CMDLINE"
	[ "$RC" = timeout ] && { fail "no CPU count within ${BOOT_TIMEOUT}s"; return; }
	expect_out_re 'smpboot: Allowing 2 CPUs'
	expect_out_re 'Command line: '
}

test_linux_bzimage_starts() {
	need_linux || return
	[ -f "$BZIMAGE" ] || { fail "missing $BZIMAGE"; return; }
	# A bzImage first decompresses itself (a minute here); its first line proves the entry.
	boot_until 'Linux version 6\.1\.|Kernel panic' \
		--kernel "$BZIMAGE" --initrd "$INITRD" --mem 256 --cmdline "$BASE_CMDLINE"
	[ "$RC" = timeout ] && { fail "bzImage printed nothing within ${BOOT_TIMEOUT}s"; return; }
	expect_out_re 'Linux version 6\.1\.'
}

test_linux_user_space_exit_status() {
	if software_kvm; then
		skip "SOFTWARE KVM (kvm_pvm): Linux user space cannot run here; guest-init exit-status round trip needs hardware KVM"
		return
	fi
	need_linux || return
	ember_run --timeout "$BOOT_TIMEOUT" --kernel "$VMLINUX" --initrd "$INITRD" --mem 256 --vcpus 2 \
		--boot-timer -- /bin/sh -c 'uname -r; exit 3'
	expect_rc 3
	expect_out_re '^6\.1\.'
	expect_err_re '^ember: guest boot time [0-9]+ us'
}

run_tests "${1:-}"
