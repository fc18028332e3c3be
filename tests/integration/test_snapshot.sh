#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_snapshot.sh: snapshots under KVM: pause a guest, write its state and
# memory files through the API, and run it again from them in a new ember
# process, by --restore and by PUT /snapshot/load. The probe guest fills a
# buffer with random bytes and then prints a numbered tick with the buffer's
# checksum: a restored guest must go on from the next number with the same
# checksum, without booting again.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib_api.sh

PROBE=$PWD/$O/tests/guests/probe.elf
VIO=$PWD/$O/tests/guests/vio.elf
SNAP=$TMP/vm.snap
MEM=$TMP/vm.mem

# whole_lines FILE: FILE without a last line that has no end (cut by a pause or a stop).
whole_lines() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }
# ticks FILE: "N SUM" for each whole "probe: tick N sum=SUM" line of FILE (a
# line cut inside its checksum would give a short one).
ticks() { whole_lines "$1" | tr -d '\r' | sed -nE 's/^probe: tick ([0-9]+) sum=(0x[0-9a-f]+)$/\1 \2/p'; }

# make_snapshot ARGS: boot the probe (VCPUS vCPUs, default 1) with guest words ARGS through the API,
# let it tick, pause it and snapshot it to $SNAP and $MEM; then end that
# ember. Sets LAST_TICK and SUM (the last tick and checksum before the pause).
make_snapshot() {
	rm -f "$SNAP" "$MEM"
	start_api || return 1
	call 204 -- PUT /machine-config "{\"vcpu_count\": ${VCPUS:-1}, \"mem_size_mib\": 64}"
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- $*\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^probe: tick 3 ' 20 || { stop_ember; return 1; }
	call 400 'pause it first' -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	call 204 -- PATCH /vm '{"state": "Paused"}'
	sleep 0.1
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	# After ember ends: its last serial bytes reach stdout as it exits.
	stop_ember
	cp "$TMP/out" "$TMP/out.before"
	# The line being written at the pause may be cut short: its number counts.
	LAST_TICK=$(last_tick "$TMP/out.before")
	SUM=$(ticks "$TMP/out.before" | tail -n 1 | cut -d' ' -f2)
	[ -s "$SNAP" ] && [ -s "$MEM" ] || { fail "no snapshot files: $(ls -l "$TMP")"; return 1; }
	[ -n "$LAST_TICK" ] || { fail "no tick before the pause: $(head -c 500 "$TMP/out.before")"; return 1; }
	return 0
}

# check_resumed FILE: the guest in FILE went on from LAST_TICK + 1 with SUM,
# and did not boot again.
check_resumed() {
	local first
	first=$(ticks "$1" | head -n 1)
	[ "$first" = "$((LAST_TICK + 1)) $SUM" ] ||
		fail "first tick after the restore is '$first', expected '$((LAST_TICK + 1)) $SUM'"
	ticks "$1" | awk -v s="$SUM" '$2 != s { bad = 1 } END { exit bad }' ||
		fail "the buffer's checksum changed after the restore: $(ticks "$1" | head -n 5 | tr '\n' ' ')"
	if grep -q '^probe: entry=' "$1"; then fail "the restored guest booted again"; fi
}

# last_tick FILE: the number of the last tick line in FILE, the line being
# written at the pause counted even if cut short: cut before its number was
# whole ("pr", "probe: tick 1" of 13), it is the tick after the last whole one.
last_tick() {
	local n partial
	n=$(tr -d '\r' <"$1" | sed -nE 's/^probe: tick ([0-9]+) .*/\1/p' | tail -n 1)
	if [ -n "$(tail -c 1 "$1")" ]; then # FILE ends inside a line
		partial=$(tail -n 1 "$1" | tr -d '\r')
		if [[ "probe: tick " == "$partial"* || "$partial" =~ ^probe:\ tick\ [0-9]*$ ]]; then
			n=$((${n:--1} + 1))
		fi
	fi
	echo "$n"
}

# restore_ticks SNAP MEM N: run the snapshot until its guest printed tick
# LAST_TICK + N, end it, and check it went on where it paused.
restore_ticks() {
	"$EMBER" --restore "$1" --mem-file "$2" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	wait_out "^probe: tick $((LAST_TICK + $3)) " 20
	stop_ember
	check_resumed "$TMP/out"
}

# restore_with_byte: as ember_run --restore "$SNAP" --mem-file "$MEM", with
# one byte (x) on stdin, a pipe, for a guest waiting on its serial port.
restore_with_byte() {
	printf 'x' | timeout --signal=KILL 30 "$EMBER" --restore "$SNAP" --mem-file "$MEM" >"$TMP/out" 2>"$TMP/err"
	RC=${PIPESTATUS[1]}
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

test_restore_goes_on_where_it_paused() {
	need_kvm || return
	need_curl || return
	make_snapshot fill=1024 count=20 || return
	# Sparse: the 1 MiB the guest filled and its own image, not its 64 MiB.
	local used
	used=$(du -k "$MEM" | cut -f1)
	[ "$(stat -c %s "$MEM")" = $((64 << 20)) ] || fail "memory file is $(stat -c %s "$MEM") bytes, expected 64 MiB"
	[ "$used" -lt 8192 ] || fail "memory file takes $used KiB of disk: not sparse"
	restore_ticks "$SNAP" "$MEM" 4
}

test_load_through_the_api_paused_then_resumed() {
	need_kvm || return
	need_curl || return
	make_snapshot fill=512 count=20 || return
	start_api || return
	call 204 -- PUT /snapshot/load "{\"snapshot_path\": \"$SNAP\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$MEM\"}}"
	call 200 '"state":"Paused"' -- GET /
	call 200 '"mem_size_mib":64' -- GET /vm/config
	sleep 0.3
	[ -z "$(ticks "$TMP/out")" ] || fail "a restored guest ran before PATCH /vm Resumed"
	call 400 'has started' -- PUT /snapshot/load "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	wait_out "^probe: tick $((LAST_TICK + 3)) " 20
	stop_ember
	check_resumed "$TMP/out"
}

# A second snapshot of a restored VM, restored again: the chain holds.
test_snapshot_of_a_restored_vm() {
	need_kvm || return
	need_curl || return
	make_snapshot fill=256 count=20 || return
	start_api || return
	call 204 -- PUT /snapshot/load "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\", \"resume_vm\": true}"
	wait_out "^probe: tick $((LAST_TICK + 2)) " 20 || { stop_ember; return; }
	call 204 -- PATCH /vm '{"state": "Paused"}'
	sleep 0.1
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP.2\", \"mem_file_path\": \"$MEM.2\"}"
	stop_ember
	cp "$TMP/out" "$TMP/out.second"
	LAST_TICK=$(last_tick "$TMP/out.second")
	restore_ticks "$SNAP.2" "$MEM.2" 2
}

# 100 clones of one snapshot at once: each goes on from the same tick with
# the same memory, runs its remaining ticks and exits with the guest's status.
test_clones_run_at_once() {
	need_kvm || return
	need_curl || return
	local n=100 i pids=() bad=0
	make_snapshot fill=64 ticks=12 count=20 exit=7 || return
	for i in $(seq $n); do
		timeout --signal=KILL 60 "$EMBER" --restore "$SNAP" --mem-file "$MEM" \
			</dev/null >"$TMP/clone$i.out" 2>"$TMP/clone$i.err" &
		pids+=($!)
	done
	for i in $(seq $n); do
		wait "${pids[$((i - 1))]}"
		local rc=$?
		if [ "$rc" != 7 ]; then
			bad=$((bad + 1))
			[ "$bad" -gt 1 ] || fail "clone $i: exit status $rc, expected 7: $(head -c 300 "$TMP/clone$i.err")"
			continue
		fi
		check_resumed "$TMP/clone$i.out"
		[ "$(ticks "$TMP/clone$i.out" | tail -n 1 | cut -d' ' -f1)" = 11 ] ||
			fail "clone $i did not count to its last tick: $(tail -c 200 "$TMP/clone$i.out")"
	done
	[ "$bad" = 0 ] || fail "$bad of $n clones failed"
}

# Clones are not twins: each restored copy sees a new VM generation and its
# guest draws different random numbers, though the generator's state was
# saved once.
test_clones_draw_different_random_numbers() {
	need_kvm || return
	need_curl || return
	make_snapshot fill=4 random ticks=30 count=20 random exit=0 || return
	local before a b
	before=$(tr -d '\r' <"$TMP/out.before" | sed -nE 's/^probe: random (0x[0-9a-f]+) generation=0$/\1/p')
	[ -n "$before" ] || { fail "no random number before the snapshot: $(head -c 400 "$TMP/out.before")"; return; }
	for i in 1 2; do
		ember_run --restore "$SNAP" --mem-file "$MEM"
		expect_rc 0
		expect_out_re '^probe: random 0x[0-9a-f]+ generation=1$'
		cp "$TMP/out" "$TMP/clone$i.out"
	done
	a=$(sed -nE 's/^probe: random (0x[0-9a-f]+) generation=1\r?$/\1/p' "$TMP/clone1.out")
	b=$(sed -nE 's/^probe: random (0x[0-9a-f]+) generation=1\r?$/\1/p' "$TMP/clone2.out")
	[ -n "$a" ] && [ -n "$b" ] || { fail "clones printed no random number"; return; }
	[ "$a" != "$b" ] || fail "two clones drew the same number $a"
	[ "$a" != "$before" ] && [ "$b" != "$before" ] || fail "a clone repeated the number drawn before the snapshot"
}

# Devices across a restore: a disk written before the snapshot reads back
# the same after it, the entropy device answers, and the serial port's
# interrupt (through the restored IOAPIC) wakes a guest that was sleeping
# for a byte when it was saved.
test_devices_work_after_a_restore() {
	need_kvm || return
	need_curl || return
	rm -f "$SNAP" "$MEM"
	truncate -s 1M "$TMP/disk.img"
	start_api || return
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$VIO\", \"boot_args\": \"console=ttyS0 -- blk-write=4,171 blk-read=4 wait blk-read=4 blk-write=5,172 blk-read=5 rng=16 exit=9\"}"
	call 204 -- PUT /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false, \"is_read_only\": false}"
	call 204 -- PUT /entropy '{}'
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^vio: waiting' 20 || { stop_ember; return; }
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	local before
	before=$(tr -d '\r' <"$TMP/out" | sed -nE 's/^vio: blk read sector=4 (crc=0x[0-9a-f]+).*/\1/p' | head -n 1)
	stop_ember
	[ -n "$before" ] || { fail "no read before the snapshot: $(head -c 600 "$TMP/out")"; return; }
	restore_with_byte
	expect_rc 9
	expect_out "vio: woke byte=0x78"
	expect_out_re "^vio: blk read sector=4 $before"
	expect_out_re '^vio: blk write sector=5 status=0'
	expect_out_re '^vio: rng ok bytes=16'
	if grep -q '^vio: devices=' <<<"$OUT"; then fail "the restored guest booted again"; fi
	[ "$(od -An -tu1 -j $((5 * 512)) -N1 "$TMP/disk.img" | tr -d ' ')" = 172 ] ||
		fail "the restored guest's write did not reach the disk image"
}

# An SMP guest: every vCPU's state is saved and restored (the APs were
# started by the guest, INIT/SIPI, before the snapshot).
test_smp_guest_restores() {
	need_kvm || return
	need_curl || return
	VCPUS=4 make_snapshot smp fill=16 count=20 || return
	grep -q '^probe: cpus=4' "$TMP/out.before" || fail "the guest did not bring up 4 vCPUs: $(head -c 600 "$TMP/out.before")"
	"$EMBER" --describe-snapshot "$SNAP" >"$TMP/describe" 2>&1
	[ "$(grep -c '^  vcpu ' "$TMP/describe")" = 4 ] || fail "not 4 vCPU sections: $(cat "$TMP/describe")"
	restore_ticks "$SNAP" "$MEM" 3
}

# vsock across a restore: host connections cannot survive one, so the guest
# gets the transport reset event, sees its stream ended and connects again.
test_vsock_reset_and_reconnect_after_a_restore() {
	need_kvm || return
	need_curl || return
	rm -f "$SNAP" "$MEM"
	echo_server "$TMP/v.sock_52" || return
	start_api || return
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$VIO\", \"boot_args\": \"console=ttyS0 -- vsock-connect=52 vsock-send=hi vsock-recv wait vsock-events vsock-connect=52 vsock-send=again vsock-recv exit=4\"}"
	call 204 -- PUT /vsock "{\"guest_cid\": 7, \"uds_path\": \"$TMP/v.sock\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^vio: waiting' 20 || { stop_ember; return; }
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	grep -q '^vio: vsock recv len=2 data=hi' "$TMP/out" || fail "no echo before the snapshot: $(head -c 600 "$TMP/out")"
	stop_ember
	rm -f "$TMP/v.sock" # as with Firecracker, the socket path must be free
	restore_with_byte
	expect_rc 4
	expect_out "vio: woke byte=0x78"
	expect_out_re "^vio: vsock resets=1 cid=7 state=-7$"
	expect_out_re "^vio: vsock cid=7 connect port=52 ret=0$"
	expect_out_re "^vio: vsock recv len=5 data=again"
}

test_bad_snapshot_requests() {
	need_curl || return
	start_api || return
	call 400 'snapshot_path: missing required field' -- PUT /snapshot/create '{"mem_file_path": "/tmp/x"}'
	call 400 'before the microVM has started' -- PUT /snapshot/create '{"snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b"}'
	call 400 "snapshot_type: 'Half' is not one of Full, Diff" -- PUT /snapshot/create '{"snapshot_type": "Half", "snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b"}'
	call 400 'mem_backend: missing' -- PUT /snapshot/load '{"snapshot_path": "/tmp/a"}'
	call 400 'not both' -- PUT /snapshot/load '{"snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b", "mem_backend": {"backend_type": "File", "backend_path": "/tmp/b"}}'
	call 400 "backend_type: 'Disk' is not one of File, Uffd" -- PUT /snapshot/load '{"snapshot_path": "/tmp/a", "mem_backend": {"backend_type": "Disk", "backend_path": "/tmp/b"}}'
	call 400 'network_overrides\[0\].host_dev_name: missing' -- PUT /snapshot/load '{"snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b", "network_overrides": [{"iface_id": "eth0"}]}'
	call 400 "snapshot '$TMP/none': " -- PUT /snapshot/load "{\"snapshot_path\": \"$TMP/none\", \"mem_file_path\": \"$TMP/none.mem\"}"
	call 400 'resume_vm: expected a boolean' -- PUT /snapshot/load '{"snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b", "resume_vm": 1}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\"}"
	call 400 'after boot-source was configured' -- PUT /snapshot/load '{"snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b"}'
	stop_ember
}

# A damaged state or memory file is refused with a line that says what is
# wrong, and nothing runs.
test_damaged_snapshot_files() {
	need_kvm || return
	need_curl || return
	make_snapshot fill=64 count=20 || return
	local size
	size=$(stat -c %s "$SNAP")
	head -c $((size / 2)) "$SNAP" >"$TMP/half.snap"
	cp "$SNAP" "$TMP/flip.snap"
	printf '\xff' | dd of="$TMP/flip.snap" bs=1 seek=$((size - 9)) conv=notrunc status=none
	head -c $((1 << 20)) "$MEM" >"$TMP/short.mem"
	ember_run --restore "$TMP/half.snap" --mem-file "$MEM"
	expect_rc 125
	expect_err_re "truncated"
	ember_run --restore "$TMP/flip.snap" --mem-file "$MEM"
	expect_rc 125
	expect_err_re "checksum"
	ember_run --restore "$SNAP" --mem-file "$TMP/short.mem"
	expect_rc 125
	expect_err_re "memory file '$TMP/short.mem' is 1048576 bytes, the snapshot's guest has 67108864"
	ember_run --restore "$SNAP"
	expect_rc 125
	expect_err_re "restore: needs --mem-file"
	ember_run --restore "$SNAP" --mem-file "$MEM" --kernel "$PROBE"
	expect_rc 125
	expect_err_re "conflicts with --kernel"
	ember_run --describe-snapshot "$SNAP"
	expect_rc 0
	expect_out_re "vcpu"
	ember_run --describe-snapshot "$TMP/flip.snap"
	expect_rc 125
}

# ------------------------------------------------------------ Uffd backend
# PUT /snapshot/load with mem_backend Uffd: guest RAM is served by a
# page-fault handler process (tests/tools/uffd_handler) from the memory
# file, which ember never opens.
UFFD_HANDLER=$PWD/$O/tests/tools/uffd_handler
USOCK=$TMP/uffd.sock

# need_uffd: the handler is built and this host gives ember a userfaultfd
# (root, or vm.unprivileged_userfaultfd=1, or /dev/userfaultfd).
need_uffd() {
	[ -x "$UFFD_HANDLER" ] || { fail "$UFFD_HANDLER is not built (make guests)"; return 1; }
	[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null)" = 1 ] ||
		[ -w /dev/userfaultfd ] || { skip "no userfaultfd for this user on this host"; return 1; }
}

# start_handler [ARGS...]: uffd_handler on $USOCK serving $MEM, in the
# background (HPID), its output in $TMP/handler.out; returns once it listens.
start_handler() {
	rm -f "$USOCK"
	"$UFFD_HANDLER" "$USOCK" "$MEM" "$@" >"$TMP/handler.out" 2>"$TMP/handler.err" &
	HPID=$!
	bg_track "$HPID"
	for _ in $(seq 100); do
		[ -S "$USOCK" ] && return 0
		sleep 0.02
	done
	fail "the page-fault handler never listened: $(cat "$TMP/handler.err")"
	return 1
}

# wait_handler: the handler's end (it ends when ember does); sets HRC and HOUT.
wait_handler() {
	for _ in $(seq 250); do
		kill -0 "$HPID" 2>/dev/null || break
		sleep 0.02
	done
	kill -0 "$HPID" 2>/dev/null && { kill -9 "$HPID"; fail "the handler did not end after ember"; }
	wait "$HPID"
	HRC=$?
	HOUT=$(cat "$TMP/handler.out")
}

uffd_load() {
	echo "{\"snapshot_path\": \"$SNAP\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$1\"}, \"resume_vm\": ${2:-true}}"
}

# The guest goes on where it paused with the same memory, every page of
# which came through the handler: its count of faults served is not zero,
# and the memory file was moved away so ember could not have read it.
test_uffd_backend_restores_through_the_handler() {
	need_kvm || return
	need_curl || return
	need_uffd || return
	make_snapshot fill=1024 count=20 || return
	start_handler || return
	mv "$MEM" "$MEM.away" # the handler has it mapped; ember must not need it
	start_api || return
	call 204 -- PUT /snapshot/load "$(uffd_load "$USOCK" false)"
	call 200 '"state":"Paused"' -- GET /
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	wait_out "^probe: tick $((LAST_TICK + 3)) " 20
	stop_ember
	check_resumed "$TMP/out"
	wait_handler
	[ "$HRC" = 0 ] || fail "the handler ended with status $HRC: $(cat "$TMP/handler.err")"
	local n
	n=$(sed -nE 's/^uffd_handler: served ([0-9]+) faults .*/\1/p' <<<"$HOUT")
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "the handler served no faults: $HOUT"
	# The guest filled 1 MiB before the pause: those pages came from the file.
	local copied
	copied=$(sed -nE 's/.*\(([0-9]+) copied.*/\1/p' <<<"$HOUT")
	[ -n "$copied" ] && [ "$copied" -ge 256 ] || fail "fewer than 256 pages copied from the file: $HOUT"
}

# A snapshot of a VM whose RAM came through the handler: writing the memory
# file reads every page, each served by the handler on the VMM thread under
# its filter; the new snapshot restores from its file and goes on.
test_snapshot_of_a_uffd_restored_vm() {
	need_kvm || return
	need_curl || return
	need_uffd || return
	make_snapshot fill=256 count=20 || return
	start_handler || return
	start_api || return
	call 204 -- PUT /snapshot/load "$(uffd_load "$USOCK")"
	wait_out "^probe: tick $((LAST_TICK + 2)) " 20 || { stop_ember; return; }
	call 204 -- PATCH /vm '{"state": "Paused"}'
	sleep 0.1
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP.2\", \"mem_file_path\": \"$MEM.2\"}"
	stop_ember
	check_resumed "$TMP/out"
	wait_handler
	local n
	n=$(sed -nE 's/^uffd_handler: served ([0-9]+) faults .*/\1/p' <<<"$HOUT")
	# 64 MiB is 16384 pages; the file write read each one.
	[ -n "$n" ] && [ "$n" -ge 16384 ] || fail "the handler served ${n:-no} faults, not every page: $HOUT"
	cmp -s "$MEM" "$MEM.2" && fail "the second memory file is the first: the guest ran on and wrote nothing?"
	cp "$TMP/out" "$TMP/out.second"
	LAST_TICK=$(last_tick "$TMP/out.second")
	restore_ticks "$SNAP.2" "$MEM.2" 2
}

# No socket at backend_path: a 400 naming the field, and ember stays usable
# (a File load afterwards works).
test_uffd_backend_without_a_handler() {
	need_kvm || return
	need_curl || return
	need_uffd || return
	make_snapshot fill=16 count=20 || return
	start_api || return
	call 400 "mem_backend.backend_path: cannot connect to '$TMP/none.sock': No such file or directory" -- \
		PUT /snapshot/load "$(uffd_load "$TMP/none.sock")"
	call 400 'mem_backend.backend_path: cannot connect to .*Connection refused' -- \
		PUT /snapshot/load "$(uffd_load "$MEM")"
	call 200 '"state":"Not started"' -- GET /
	call 204 -- PUT /snapshot/load "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\", \"resume_vm\": true}"
	wait_out "^probe: tick $((LAST_TICK + 2)) " 20
	stop_ember
	check_resumed "$TMP/out"
}

# A handler that hangs up at once, the region list unread: the load fails
# with a message that says so, without hanging, and ember stays usable.
test_uffd_handler_that_hangs_up_at_once() {
	need_kvm || return
	need_curl || return
	need_uffd || return
	make_snapshot fill=16 count=20 || return
	start_handler --hang-up || return
	start_api || return
	call 400 "mem_backend.backend_path: the page-fault handler at '$USOCK' hung up before the restore was done" -- \
		PUT /snapshot/load "$(uffd_load "$USOCK")"
	call 200 '"state":"Not started"' -- GET /
	wait_handler
	grep -q '^uffd_handler: hung up' <<<"$HOUT" || fail "the handler did not hang up: $HOUT"
	start_handler || return
	call 204 -- PUT /snapshot/load "$(uffd_load "$USOCK")"
	wait_out "^probe: tick $((LAST_TICK + 2)) " 20
	stop_ember
	check_resumed "$TMP/out"
}

# A handler that dies while the guest runs (under the production seccomp
# filters: the VMM thread sees the hangup): ember stops the microVM with a
# host error and says why; it neither hangs nor is killed by its filter.
test_uffd_handler_that_dies_while_the_guest_runs() {
	need_kvm || return
	need_curl || return
	need_uffd || return
	make_snapshot fill=1024 count=20 || return
	start_handler --exit-after 40 || return
	start_api || return
	call 204 -- PUT /snapshot/load "$(uffd_load "$USOCK")"
	wait_ember 20
	expect_rc 120
	expect_err_re "the page-fault handler at '$USOCK' hung up: stopping the microVM"
	wait_handler
	[ "$HRC" = 3 ] || fail "the handler did not stop after 40 faults: status $HRC, $HOUT"
}

run_tests "$@"
