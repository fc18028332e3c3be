#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_virtio.sh: virtio-mmio devices driven by a real guest driver (vio.elf):
# block reads and writes checked against the host file, read-only
# enforcement, both block engines, polled and interrupt-driven completion,
# entropy, hostile virtqueues, bad --disk input; and the seccomp filters and
# console input of a running monitor.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VIO=$O/tests/guests/vio.elf
PROBE=$O/tests/guests/probe.elf
SECTOR=512

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: virtio not tested"
	return 1
}

# make_disk N: a disk of N random sectors at $TMP/disk.img.
make_disk() {
	head -c $(($1 * SECTOR)) /dev/urandom >"$TMP/disk.img"
}

sector_crc() { # sector_crc FILE N: crc32 of sector N as the guest prints it
	python3 -c "import sys,zlib; d=open(sys.argv[1],'rb').read(); n=int(sys.argv[2]); print('0x%08x' % zlib.crc32(d[n*512:(n+1)*512]))" "$1" "$2"
}

blk_round_trip() { # blk_round_trip ENGINE [irq]
	need_kvm || return
	make_disk 64
	local want
	want=$(sector_crc "$TMP/disk.img" 5)
	ember_run --kernel "$VIO" --disk "$TMP/disk.img,id=scratch,engine=$1" -- ${2:-} blk-info \
		blk-read=5 blk-write=7,165 blk-read=7 blk-flush exit=0
	expect_rc 0
	expect_out "vio: blk capacity=64 ro=0 id=scratch"
	expect_out_re "^vio: blk read sector=5 crc=$want "
	expect_out "vio: blk write sector=7 status=0"
	expect_out_re "^vio: blk read sector=7 crc=.* first=(a5){16}$"
	expect_out "vio: blk flush status=0"
	# The host file holds what the guest wrote, and only there.
	[ "$(od -An -tx1 -j $((7 * SECTOR)) -N 4 "$TMP/disk.img" | tr -d ' ')" = a5a5a5a5 ] ||
		fail "sector 7 of the host file was not written"
	[ "$(sector_crc "$TMP/disk.img" 5)" = "$want" ] || fail "sector 5 changed"
}
test_blk_sync_polled() { blk_round_trip sync; }
test_blk_sync_interrupts() { blk_round_trip sync irq; }
test_blk_io_uring_polled() { blk_round_trip io_uring; }
test_blk_io_uring_interrupts() { blk_round_trip io_uring irq; }

# PIC mode: the disk's completions reach the guest as 8259A interrupts
# (ISA IRQ 5 is also input 5 of the master, delivered through LINT0 as
# ExtINT and ended with OCW2 EOIs) while the IOAPIC pins stay masked; the
# driver's timed waits run on the PIT's IRQ 0. blk-irq-read sleeps right
# after submitting and learns of the completion from the interrupt alone
# (by=irq: its handler ran within 2 s); as the disk's first request no
# earlier completion's interrupt can stand in for it. The guest also counts
# the interrupts its disk's IRQ delivered.
test_blk_interrupts_through_pic() {
	need_kvm || return
	make_disk 64
	local want
	want=$(sector_crc "$TMP/disk.img" 5)
	ember_run --kernel "$VIO" --disk "$TMP/disk.img" -- pic irq blk-irq-read=5 \
		blk-write=7,165 blk-read=7 irqs exit=0
	expect_rc 0
	expect_out "vio: pic mode"
	expect_out "vio: blk irq-read sector=5 crc=$want by=irq"
	expect_out "vio: blk write sector=7 status=0"
	expect_out_re "^vio: blk read sector=7 crc=.* first=(a5){16}$"
	expect_out_re "^vio: irqs dev=0 irq=5 count=[1-9][0-9]*$"
	[ "$(od -An -tx1 -j $((7 * SECTOR)) -N 4 "$TMP/disk.img" | tr -d ' ')" = a5a5a5a5 ] ||
		fail "sector 7 of the host file was not written"
}

# The fourth device sits on IRQ 8, the slave 8259A's first input: its
# interrupt reaches the CPU through the master's cascade input (IR2), and
# only that device's handler runs.
test_blk_interrupts_through_pic_slave() {
	need_kvm || return
	make_disk 16
	local want i
	want=$(sector_crc "$TMP/disk.img" 5)
	for i in 0 1 2; do head -c 8192 /dev/zero >"$TMP/other$i.img"; done
	ember_run --kernel "$VIO" --disk "$TMP/other0.img" --disk "$TMP/other1.img" \
		--disk "$TMP/other2.img" --disk "$TMP/disk.img" -- pic irq blk-dev=3 blk-irq-read=5 irqs exit=0
	expect_rc 0
	expect_out_re "^vio: dev 3 id=2 addr=0x[0-9a-f]+ irq=8$"
	expect_out "vio: blk irq-read sector=5 crc=$want by=irq"
	expect_out_re "^vio: irqs dev=3 irq=8 count=[1-9][0-9]*$"
	expect_out "vio: irqs dev=0 irq=5 count=0"
	expect_out "vio: irqs spurious irq7=0 irq15=0"
}

# A driver built for Firecracker may ack a feature the device did not offer
# (a net driver's GUEST_ANNOUNCE, bit 21): Firecracker drops the bit with a
# warning and the device works; so does ember, for every device.
test_unoffered_feature_is_dropped_not_fatal() {
	need_kvm || return
	make_disk 16
	local want
	want=$(sector_crc "$TMP/disk.img" 3)
	ember_run --kernel "$VIO" --disk "$TMP/disk.img" -- ack-unoffered=21 blk-read=3 exit=0
	expect_rc 0
	expect_out "vio: ack-unoffered bit=21"
	expect_out_re "^vio: blk read sector=3 crc=$want "
	expect_err_re "virtio-blk: driver accepted features not offered: 0x200000: ignored"
}

test_blk_read_only_is_enforced() {
	need_kvm || return
	make_disk 16
	local before
	before=$(sha256sum <"$TMP/disk.img")
	ember_run --kernel "$VIO" --disk "$TMP/disk.img,ro" -- blk-info blk-write=2,85 blk-flush exit=0
	expect_rc 0
	expect_out_re "^vio: blk capacity=16 ro=1 id="
	expect_out "vio: blk write sector=2 status=1"
	[ "$(sha256sum <"$TMP/disk.img")" = "$before" ] || fail "read-only disk was modified"
}

test_blk_past_end_is_an_io_error() {
	need_kvm || return
	make_disk 8
	ember_run --kernel "$VIO" --disk "$TMP/disk.img" -- blk-past-end blk-read=7 exit=0
	expect_rc 0
	expect_out "vio: blk past-end status=1"
	expect_out_re "^vio: blk read sector=7 crc=$(sector_crc "$TMP/disk.img" 7) "
	[ "$(stat -c %s "$TMP/disk.img")" = $((8 * SECTOR)) ] || fail "disk grew"
}

test_two_disks_and_rng_in_order() {
	need_kvm || return
	make_disk 8
	cp "$TMP/disk.img" "$TMP/second.img"
	ember_run --kernel "$VIO" --disk "$TMP/disk.img" --disk "$TMP/second.img,ro" --rng -- rng=256 exit=0
	expect_rc 0
	expect_out "vio: devices=3"
	expect_out "vio: dev 0 id=2 addr=0xc0001000 irq=5"
	expect_out "vio: dev 1 id=2 addr=0xc0002000 irq=6"
	expect_out "vio: dev 2 id=4 addr=0xc0003000 irq=7"
	expect_out_re '^vio: rng ok bytes=256 distinct=(1[2-9][0-9]|2[0-9][0-9])$'
}

test_rng_with_interrupts() {
	need_kvm || return
	ember_run --kernel "$VIO" --rng -- irq rng=4096 exit=0
	expect_rc 0
	expect_out_re '^vio: rng ok bytes=4096 distinct=2(4[0-9]|5[0-6])$'
}

hostile_case() { # hostile_case WORD NAME
	need_kvm || return
	make_disk 8
	ember_run --kernel "$VIO" --disk "$TMP/disk.img" -- "$1" blk-read=1 exit=0
	expect_rc 0
	expect_out "vio: evil $2 sent"
	expect_out "vio: evil $2 needs-reset"
	# After the driver resets the device, it works again.
	expect_out_re "^vio: blk read sector=1 crc=$(sector_crc "$TMP/disk.img" 1) "
	expect_err_re '^ember: virtio-blk: queue 0: '
}
test_hostile_descriptor_loop() { hostile_case evil-loop loop; }
test_hostile_descriptor_out_of_ram() { hostile_case evil-oob oob; }
test_hostile_avail_index_jump() { hostile_case evil-avail avail; }

# Hostile queue set-ups against each device (vio.elf's hostile= words): the
# used ring past the end of RAM, across either edge of the MMIO gap (with
# RAM on both sides: --mem above 4 GiB), over the device's registers, over
# the descriptor table or the available ring; QueueNum above QueueNumMax, 0,
# not a power of two; rings resized after QueueReady and after DRIVER_OK;
# more buffers posted than the queue holds. Every attack runs twice.
ATTACKS="used-end used-gap used-gap-end used-mmio used-desc used-avail num-big num-zero num-odd
resize-ready resize-live overrun"
REFUSED="used-end used-gap used-gap-end used-mmio used-desc used-avail num-big num-zero num-odd"
BIG_MEM=4608 # MiB: 3 GiB below the MMIO gap, the rest above 4 GiB

hostile_words() { # hostile_words DEV: target=DEV and every attack, twice
	local a
	echo "target=$1"
	for a in $ATTACKS $ATTACKS; do echo "hostile=$a"; done
}

# expect_hostile DEV QUEUE: what the run of hostile_words DEV must show.
expect_hostile() {
	local dev=$1 q=$2 a n
	expect_rc 0
	for a in $REFUSED; do
		# QueueReady stays 0, DRIVER_OK ends in DEVICE_NEEDS_RESET, nothing is served
		[ "$(grep -cxF "vio: hostile $dev $a ready=0 status=0x4f result=needs-reset" <<<"$OUT")" = 2 ] ||
			fail "$dev $a: the layout was not refused twice"
	done
	# writes the driver must not make while the queue is live are ignored
	expect_out "vio: hostile $dev resize-ready ready=1 status=0xf result=completed"
	expect_out "vio: hostile $dev resize-live ready=1 status=0xf result=completed"
	expect_out "vio: hostile $dev overrun ready=1 status=0x4f result=needs-reset"
	for a in $ATTACKS; do
		[ "$(grep -cxF "vio: hostile $dev $a recovered=1 status=0xf" <<<"$OUT")" = 2 ] ||
			fail "$dev $a: the device did not work again after a reset"
	done
	expect_err_re "^ember: virtio-$dev: queue $q: used ring \\[.*\\) is not inside guest RAM"
	expect_err_re "^ember: virtio-$dev: queue $q: avail idx 17 runs ahead .* queue size 16"
	expect_err_re "^ember: virtio-$dev: activation failed"
	# the running device that broke was stopped until the driver's reset
	expect_err_re "^ember: virtio-$dev: DEVICE_NEEDS_RESET: stopped until the driver resets it"
	# 24 attacks, one line per kind of fault: setup, activation, notify, queue
	# register, avail index, device stopped
	n=$(grep -c "virtio-$dev" <<<"$ERR")
	[ "$n" -le 6 ] || fail "$n log lines for virtio-$dev: not rate-limited"
	expect_out "vio: done"
}

test_hostile_queues_blk() {
	need_kvm || return
	make_disk 8
	ember_run --mem $BIG_MEM --kernel "$VIO" --disk "$TMP/disk.img" --rng -- \
		$(hostile_words blk) rng=256 blk-read=1 exit=0
	expect_hostile blk 0
	# the healthy device next to it, and the attacked one after its reset
	expect_out_re '^vio: rng ok bytes=256 distinct=(1[2-9][0-9]|2[0-9][0-9])$'
	expect_out_re "^vio: blk read sector=1 crc=$(sector_crc "$TMP/disk.img" 1) "
}

test_hostile_queues_rng() {
	need_kvm || return
	make_disk 8
	ember_run --mem $BIG_MEM --kernel "$VIO" --rng --disk "$TMP/disk.img" -- \
		$(hostile_words rng) blk-read=3 rng=256 exit=0
	expect_hostile rng 0
	expect_out_re "^vio: blk read sector=3 crc=$(sector_crc "$TMP/disk.img" 3) "
	expect_out_re '^vio: rng ok bytes=256 distinct=(1[2-9][0-9]|2[0-9][0-9])$'
}

test_hostile_queues_vsock() {
	need_kvm || return
	make_disk 8
	ember_run --kernel "$VIO" --vsock "3,$TMP/v.sock" --disk "$TMP/disk.img" --rng -- \
		$(hostile_words vsock) blk-read=2 rng=64 vsock-connect=9 exit=0
	expect_hostile vsock 1
	expect_out_re "^vio: blk read sector=2 crc=$(sector_crc "$TMP/disk.img" 2) "
	expect_out_re '^vio: rng ok bytes=64 '
	# the attacked device, driven by its real driver afterwards: nobody listens on 9
	expect_out "vio: vsock cid=3 connect port=9 ret=-6"
}

test_hostile_queues_net() {
	need_kvm || return
	if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
		skip "NOT ROOT or no /dev/net/tun: virtio-net needs a tap"
		return
	fi
	local ns=ember-vio-$$ tap=embvio$$
	ip netns add "$ns" || { skip "cannot make network namespace $ns"; return; }
	if ip netns exec "$ns" ip tuntap add dev "$tap" mode tap &&
		ip netns exec "$ns" ip link set "$tap" up; then
		make_disk 8
		printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$(readlink -f "$EMBER")" \
			>"$TMP/ember-in-ns"
		chmod +x "$TMP/ember-in-ns"
		EMBER=$TMP/ember-in-ns ember_run --kernel "$VIO" --net "$tap" --disk "$TMP/disk.img" \
			-- $(hostile_words net) blk-read=4 net-send=60 exit=0
		expect_hostile net 1
		expect_out_re "^vio: blk read sector=4 crc=$(sector_crc "$TMP/disk.img" 4) "
		expect_out "vio: net send len=60 ret=0"
	else
		fail "cannot create tap $tap in $ns"
	fi
	ip netns del "$ns"
}

bad_disk_case() { # bad_disk_case REGEX SPEC
	ember_run --kernel "$PROBE" --disk "$2"
	expect_rc 125
	expect_err_re "$1"
}
test_disk_missing_file() { bad_disk_case "^ember: --disk: cannot open '$TMP/none': No such file" "$TMP/none"; }
test_disk_bad_option() { bad_disk_case "^ember: --disk: unknown option 'fast'" "$TMP/x,fast"; }
test_disk_empty_path() { bad_disk_case "^ember: --disk: missing the image path" ",ro"; }
test_disk_long_id() { bad_disk_case "^ember: --disk: id '.*' must be 1 to 20 characters" "$TMP/x,id=abcdefghijklmnopqrstuvwxyz"; }
test_rng_twice() {
	ember_run --kernel "$PROBE" --rng --rng
	expect_rc 125
	expect_err_re '^ember: --rng: given twice'
}

# A monitor that stays up: every thread confined, input through stdin.
test_running_monitor_is_confined_and_hears_stdin() {
	need_production_build || return
	need_kvm || return
	mkfifo "$TMP/in"
	"$EMBER" --kernel "$PROBE" --vcpus 2 --disk "$TMP/disk.img" -- wait exit=9 <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	local pid=$! t threads=0 confined=0 names=""
	exec 7>"$TMP/in"
	for _ in $(seq 50); do grep -q "probe: waiting" "$TMP/out" && break; sleep 0.1; done
	for t in /proc/$pid/task/*; do
		threads=$((threads + 1))
		grep -q '^Seccomp:[[:space:]]*2$' "$t/status" && confined=$((confined + 1))
		names+="$(cat "$t/comm");"
	done
	printf 'z' >&7
	exec 7>&-
	wait "$pid"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	[ "$threads" -ge 3 ] || fail "expected at least 3 threads (VMM + 2 vCPUs), saw $threads"
	[ "$confined" = "$threads" ] || fail "only $confined of $threads threads have a seccomp filter"
	# Firecracker's vCPU thread names, which Kata looks for.
	[[ "$names" == *"fc_vcpu 0;"* && "$names" == *"fc_vcpu 1;"* ]] ||
		fail "vCPU threads not named 'fc_vcpu N': $names"
	expect_rc 9
	expect_out "probe: woke byte=0x7a"
}

test_no_seccomp_warns() {
	need_kvm || return
	ember_run --kernel "$PROBE" --no-seccomp -- exit=0
	expect_rc 0
	expect_err_re 'seccomp filters are off \(--no-seccomp\)'
}

# Metrics with the filters on: the last flush after the guest ends must not
# trip seccomp, and the block counters come from the device.
test_block_metrics_with_seccomp() {
	need_kvm || return
	make_disk 16
	ember_run --kernel "$VIO" --disk "$TMP/disk.img,id=data" --metrics-path "$TMP/m.json" -- \
		blk-read=0 blk-read=1 blk-write=2,1 blk-flush exit=0
	expect_rc 0
	local got
	got=$(python3 -c "
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
b = d['block_data']
print(b['read_count'], b['read_bytes'], b['write_count'], b['write_bytes'], b['flush_count'],
      b['invalid_reqs_count'], b['execute_fails'], b['activate_fails'], b['queue_event_count'] >= 1)" "$TMP/m.json" 2>&1)
	[ "$got" = "2 1024 1 512 1 0 0 0 True" ] ||
		fail "block metrics: got '$got', want '2 1024 1 512 1 0 0 0 True'"
}

# Each drive's group is named by its id, whatever the ids' order: the
# second disk ("alpha") counts under block_alpha, the first under
# block_zeta, "block" sums both, and the groups come in attach order.
test_block_metrics_per_drive_id() {
	need_kvm || return
	make_disk 16
	cp "$TMP/disk.img" "$TMP/second.img"
	ember_run --kernel "$VIO" --disk "$TMP/disk.img,id=zeta" --disk "$TMP/second.img,id=alpha" \
		--metrics-path "$TMP/m.json" -- blk-read=0 blk-dev=1 blk-read=1 blk-read=2 exit=0
	expect_rc 0
	local got
	got=$(python3 -c "
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
keys = [k for k in d if k.startswith('block_')]
print(d['block_zeta']['read_count'], d['block_alpha']['read_count'], d['block']['read_count'],
      ','.join(keys))" "$TMP/m.json" 2>&1)
	[ "$got" = "1 2 3 block_zeta,block_alpha" ] ||
		fail "block metrics per drive: got '$got', want '1 2 3 block_zeta,block_alpha'"
}

# bpf_file PATH KILL_NR [RAW]: filters as Firecracker's seccompiler-bin writes
# them (bincode: u64 entry count; per entry a u64-length name and a
# u64-length array of 8-byte instructions), vmm, api and vcpu each killing
# syscall KILL_NR and allowing the rest; RAW: the bare program instead.
bpf_file() {
	python3 - "$1" "$2" "${3:-}" <<'PY'
import struct, sys
nr = int(sys.argv[2])
insns = [(0x20, 0, 0, 0),              # ld [nr]
         (0x15, 0, 1, nr),             # jeq nr
         (0x06, 0, 0, 0x80000000),     # ret KILL_PROCESS
         (0x06, 0, 0, 0x7fff0000)]     # ret ALLOW
prog = b''.join(struct.pack('<HBBI', *i) for i in insns)
out = struct.pack('<Q', 3)
for name in (b'vmm', b'api', b'vcpu'):
    out += struct.pack('<Q', len(name)) + name + struct.pack('<Q', len(insns)) + prog
open(sys.argv[1], 'wb').write(prog if sys.argv[3] else out)
PY
}

test_user_seccomp_filter_replaces_ours() {
	need_production_build || return
	need_kvm || return
	bpf_file "$TMP/allow.bpf" 110 # getppid: never called
	ember_run --kernel "$PROBE" --seccomp-filter "$TMP/allow.bpf" -- exit=6
	expect_rc 6
	bpf_file "$TMP/noioctl.bpf" 16 # ioctl: KVM_RUN dies, so the filter is live
	ember_run --kernel "$PROBE" --seccomp-filter "$TMP/noioctl.bpf" -- exit=0
	expect_rc 159 # 128 + SIGSYS
	head -c 12 /dev/zero >"$TMP/bad.bpf"
	ember_run --kernel "$PROBE" --seccomp-filter "$TMP/bad.bpf"
	expect_rc 125
	expect_err_re "^ember: --seccomp-filter: '$TMP/bad.bpf': missing thread category 'vmm'"
	# ember's old format, a bare program, is refused by name.
	bpf_file "$TMP/raw.bpf" 110 raw
	ember_run --kernel "$PROBE" --seccomp-filter "$TMP/raw.bpf"
	expect_rc 125
	expect_err_re "--seccomp-filter: .*raw.bpf': not a seccompiler filter file"
}

run_tests "${1:-}"
