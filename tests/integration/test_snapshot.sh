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
	call 400 'snapshot_type: a Diff snapshot needs dirty-page tracking' -- PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	# After ember ends: its last serial bytes reach stdout as it exits.
	stop_ember
	cp "$TMP/out" "$TMP/out.before"
	# The line being written at the pause may be cut short: its number counts.
	LAST_TICK=$(last_tick "$TMP/out.before")
	# The buffer's sum is the same on every tick; the last line may be cut short.
	SUM=$(ticks "$TMP/out.before" | head -n 1 | cut -d' ' -f2)
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

# restore_with_byte [ARGS...]: as ember_run --restore "$SNAP" --mem-file "$MEM"
# ARGS, with one byte (x) on stdin, a pipe, for a guest waiting on its serial port.
restore_with_byte() {
	printf 'x' | timeout --signal=KILL 30 "$EMBER" --restore "$SNAP" --mem-file "$MEM" "$@" >"$TMP/out" 2>"$TMP/err"
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

# start_api_typed: as start_api, with the serial console's input a FIFO held
# open on fd 7, so the test can type to a guest waiting on it (type_byte).
start_api_typed() {
	rm -f "$SOCK" "$TMP/in"
	mkfifo "$TMP/in"
	"$EMBER" --api-sock "$SOCK" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	exec 7>"$TMP/in"
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		sleep 0.02
	done
	fail "the API socket never appeared"
	return 1
}
type_byte() { printf 'x' >&7; }
close_typed() { exec 7>&-; }

# snapshot_pair NAME: pause, a Diff snapshot to $TMP/NAME.{snap,mem}, then at
# once a Full one to $TMP/NAME.full.{snap,mem} of the same paused state.
snapshot_pair() {
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 204 -- PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$TMP/$1.snap\", \"mem_file_path\": \"$TMP/$1.mem\"}"
	call 204 -- PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$TMP/$1.full.snap\", \"mem_file_path\": \"$TMP/$1.full.mem\"}"
}

# rebase_matches BASE NAME: BASE with the diff NAME laid over it is the
# memory of the Full snapshot taken at the same moment, byte for byte; the
# diff alone is sparse, and BASE alone is not that memory (the check can fail).
rebase_matches() {
	cp --sparse=always "$1" "$TMP/$2.merged"
	"$O/ember-rebase-snap" --base-file "$TMP/$2.merged" --diff-file "$TMP/$2.mem" >"$TMP/rebase.out" 2>&1 ||
		fail "ember-rebase-snap failed: $(cat "$TMP/rebase.out")"
	cmp -s "$TMP/$2.merged" "$TMP/$2.full.mem" ||
		fail "base + diff is not the memory a Full snapshot saw: $(cmp "$TMP/$2.merged" "$TMP/$2.full.mem" 2>&1 | head -n 1)"
	if cmp -s "$1" "$TMP/$2.full.mem"; then fail "the guest changed no memory between the two snapshots"; fi
	local diff_kib full_kib
	diff_kib=$(du -k "$TMP/$2.mem" | cut -f1)
	full_kib=$(du -k "$TMP/$2.full.mem" | cut -f1)
	[ "$diff_kib" -lt "$full_kib" ] || fail "the diff takes $diff_kib KiB, the whole memory $full_kib KiB"
}

# Base + diff restores the state of the diff: the vCPU's writes (KVM's dirty
# log) and a device's (virtio-rng filling a guest buffer, which KVM never
# sees) between the two snapshots are both in the diff.
test_diff_snapshot_over_its_base() {
	need_kvm || return
	need_curl || return
	start_api_typed || return
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": true}'
	call 204 -- PUT /entropy '{}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$VIO\", \"boot_args\": \"console=ttyS0 -- rng=16 wait rng=4096 wait\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^vio: waiting' 20 || { close_typed; stop_ember; return; }
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$TMP/base.snap\", \"mem_file_path\": \"$TMP/base.mem\"}"
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	type_byte
	wait_out '^vio: rng ok bytes=4096' 20 || { close_typed; stop_ember; return; }
	wait_out '^vio: woke byte=0x78' 5
	sleep 0.2
	snapshot_pair d1
	close_typed
	stop_ember
	rebase_matches "$TMP/base.mem" d1
	# The merged memory and the diff's state file run on from the second wait.
	printf 'x' | timeout --signal=KILL 30 "$EMBER" --restore "$TMP/d1.snap" --mem-file "$TMP/d1.merged" >"$TMP/out" 2>"$TMP/err"
	grep -q '^vio: woke byte=0x78' <(tr -d '\r' <"$TMP/out") ||
		fail "the restored guest did not go on from its second wait: $(head -c 600 "$TMP/out") $(head -c 600 "$TMP/err")"
}

# A VM restored with track_dirty_pages takes diffs against the memory file it
# was restored from.
test_diff_snapshot_of_a_restored_vm() {
	need_kvm || return
	need_curl || return
	make_snapshot fill=256 count=40 || return
	start_api || return
	call 204 -- PUT /snapshot/load "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\", \"track_dirty_pages\": true, \"resume_vm\": true}"
	call 200 '"track_dirty_pages":true' -- GET /vm/config
	wait_out "^probe: tick $((LAST_TICK + 2)) " 20 || { stop_ember; return; }
	snapshot_pair d2
	# Diffs chain: the next holds only what changed after this one.
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	wait_out "^probe: tick $((LAST_TICK + 4)) " 20 || { stop_ember; return; }
	snapshot_pair d3
	stop_ember
	cp "$TMP/out" "$TMP/out.second"
	rebase_matches "$MEM" d2
	rebase_matches "$TMP/d2.merged" d3
	LAST_TICK=$(last_tick "$TMP/out.second")
	restore_ticks "$TMP/d3.snap" "$TMP/d3.merged" 2
}

# start_server [FLAGS]: an ember --restore-server on $RSOCK (startup lines
# on, so a clone says how it started); RPID is its pid.
start_server() {
	RSOCK=$TMP/restore.sock
	rm -f "$RSOCK"
	EMBER_TRACE_STARTUP=1 "$EMBER" --restore-server "$RSOCK" --verbose "$@" </dev/null \
		>"$TMP/server.out" 2>"$TMP/server.err" &
	RPID=$!
	for _ in $(seq 100); do
		[ -S "$RSOCK" ] && return 0
		sleep 0.02
	done
	fail "the restore server's socket never appeared: $(cat "$TMP/server.err")"
	return 1
}
stop_server() {
	kill -TERM "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
	[ ! -e "$RSOCK" ] || fail "the restore server left its socket behind"
}

# seqpacket JSON: send one request (no descriptors) to the server, print its answer.
seqpacket() {
	python3 - "$RSOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(sys.argv[2].encode())
s.settimeout(10)
print(s.recv(1024).decode())
PY
}

# via_server N: N clients at once ask the server on $RSOCK for a clone of
# $SNAP, each checked (check_clone; BAD counts the failures); WARM counts
# those a warm clone served (its start-up has no KVM or memory phase: done
# before the request).
via_server() {
	local n=$1 i pids=()
	BAD=0 WARM=0
	# stdin a pipe: a warm clone takes it as its console's input (under its VMM filter).
	for i in $(seq "$n"); do
		true | timeout --signal=KILL 60 "$EMBER" --restore "$SNAP" --mem-file "$MEM" --restore-via "$RSOCK" \
			>"$TMP/clone$i.out" 2>"$TMP/clone$i.err" &
		pids+=($!)
	done
	for i in $(seq "$n"); do
		wait "${pids[$((i - 1))]}"
		check_clone "$i" $? || continue
		if grep -q 'startup exec_to_run_us=' "$TMP/clone$i.err" && ! grep -q 'kvm_us=' "$TMP/clone$i.err"; then
			WARM=$((WARM + 1))
		fi
	done
}

# Clones through the restore server: forked, not exec'd, each with the
# client's stdio and exit status; warm clones (restored ahead, paused: the
# first by --prewarm, each next one after a request) serve the requests and
# only resume.
test_restore_server_clones() {
	need_kvm || return
	need_curl || return
	local n=20
	make_snapshot fill=64 ticks=12 count=20 exit=7 || return
	start_server --prewarm "$SNAP,$MEM" || return
	via_server $n
	[ "$BAD" = 0 ] || fail "$BAD of $n clones failed"
	# --prewarm: even the first request found a warm clone, and each the next.
	[ "$WARM" = "$n" ] || fail "$WARM of $n requests were served by a warm clone: $(cat "$TMP"/clone1.err)"
	kill -0 "$RPID" 2>/dev/null || fail "the restore server ended"
	stop_server
	grep -q 'restore server: stopping on a signal' "$TMP/server.err" || fail "server log: $(cat "$TMP/server.err")"
}

# warm_children: how many children the server has now (its warm clones, when no request runs).
warm_children() { pgrep -P "$RPID" | wc -l; }

# --prewarm SNAP,MEM,COUNT: a pool of warm clones made before any request,
# so a burst of COUNT requests is served by clones restored ahead of it
# (their start-up has no KVM or memory phase), and refilled after.
test_restore_server_pool() {
	need_kvm || return
	need_curl || return
	local n=6 t out
	make_snapshot fill=64 ticks=12 count=20 exit=7 || return
	start_server --prewarm "$SNAP,$MEM,$n" || return
	for t in $(seq 100); do [ "$(warm_children)" -ge $n ] && break; sleep 0.1; done
	[ "$(warm_children)" = $n ] || fail "the pool holds $(warm_children) warm clones, expected $n"
	sleep 1 # each done restoring, parked
	via_server $n
	[ "$BAD" = 0 ] || fail "$BAD of $n clones failed"
	[ "$WARM" = $n ] || fail "$WARM of $n requests at once were served by the pool"
	# Refilled: n warm clones again, and no more.
	for t in $(seq 100); do [ "$(warm_children)" -ge $n ] && break; sleep 0.1; done
	sleep 0.5
	[ "$(warm_children)" = $n ] || fail "after the burst the pool holds $(warm_children), expected $n"
	out=$("$EMBER" --restore-server "$TMP/s2.sock" --prewarm "$SNAP,$MEM,0" 2>&1)
	echo "$out" | grep -q -- '--prewarm: COUNT 0 is out of range (1 to 4096)' || fail "--prewarm COUNT 0: $out"
	stop_server
	sleep 0.5
	[ -z "$(pgrep -f "restore-server $RSOCK")" ] || fail "the server still runs"
	# 100 descriptors: the pool stops at what leaves clients theirs (100 less
	# 16 for the server and 64 for clients: 20), says so once, and clients
	# are all served.
	rm -f "$RSOCK"
	(ulimit -n 100 && exec "$EMBER" --restore-server "$RSOCK" --prewarm "$SNAP,$MEM,50") </dev/null \
		>"$TMP/server.out" 2>"$TMP/server.err" &
	RPID=$!
	for t in $(seq 100); do [ "$(warm_children)" -ge 20 ] && break; sleep 0.1; done
	sleep 1
	[ "$(warm_children)" = 20 ] || fail "with 100 descriptors the pool holds $(warm_children), expected 20"
	[ "$(grep -c "no warm clone of '$SNAP' for now" "$TMP/server.err")" = 1 ] ||
		fail "a pool short of descriptors: $(cat "$TMP/server.err")"
	via_server 5
	[ "$BAD" = 0 ] || fail "$BAD of 5 clients of a server short of descriptors failed"
	stop_server
}

# One connection, many requests (as an orchestrator keeps one): each is
# answered in order, {"pid"} or {"error"}, and each clone's end comes back
# as {"pid", "exit_status"}. The client reads nothing until all are sent,
# more answers than a socket queues, so the server must hold them in order.
test_restore_server_one_connection() {
	local out
	start_server || return
	out=$(python3 - "$RSOCK" "$TMP/none.snap" <<'PY'
import json, socket, sys, time
N, BAD_EVERY = 600, 100
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
good = json.dumps({"snapshot_path": sys.argv[2], "mem_file_path": sys.argv[2]}).encode()
for i in range(N):
    s.send(b"not json" if i % BAD_EVERY == BAD_EVERY // 2 else good)
time.sleep(3)  # every clone has ended by now; their answers wait in the server
s.settimeout(30)
order, ends = [], {}
while len(order) < N or len(ends) < sum(1 for a in order if a != "error"):
    m = json.loads(s.recv(1024))
    if "exit_status" in m:
        assert m["pid"] not in ends, m
        ends[m["pid"]] = m["exit_status"]
    elif "pid" in m:
        order.append(m["pid"])
    else:
        assert "error" in m, m
        order.append("error")
errors = [i for i, a in enumerate(order) if a == "error"]
pids = [a for a in order if a != "error"]
assert errors == list(range(BAD_EVERY // 2, N, BAD_EVERY)), errors
assert len(set(pids)) == len(pids) == N - N // BAD_EVERY, len(pids)
assert set(ends) == set(pids), "ends for pids never answered"
assert set(ends.values()) == {125}, set(ends.values())
print("ok", len(pids), len(errors))
PY
)
	[ "$out" = "ok 594 6" ] || fail "one connection, many requests: $out"
	# A client that asks for 50 clones and hangs up at once: they run on, and their
	# ends, owed to a connection gone, are dropped (the sanitizer stages watch this).
	python3 - "$RSOCK" "$TMP/none.snap" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
for _ in range(50):
    s.send(json.dumps({"snapshot_path": sys.argv[2], "mem_file_path": sys.argv[2]}).encode())
s.close()
PY
	sleep 1
	out=$(seqpacket "{\"snapshot_path\": \"$TMP/none.snap\", \"mem_file_path\": \"$MEM\"}")
	echo "$out" | grep -q '"pid": [0-9]' || fail "no answer after a client hung up on its clones: $out"
	grep -q 'lost' "$TMP/server.err" && fail "the server lost answers: $(cat "$TMP/server.err")"
	kill -0 "$RPID" 2>/dev/null || fail "the restore server ended"
	stop_server
}

# What the server refuses it answers with {"error"}, and serves on; a clone
# that cannot restore reports on the client's stderr and in its status; a
# signal to the client reaches the clone.
test_restore_server_refusals() {
	need_kvm || return
	need_curl || return
	local out
	make_snapshot fill=64 count=50 || return
	start_server || return
	out=$(seqpacket '{"snapshot_path": 1}')
	echo "$out" | grep -qE '"error": ?"snapshot_path: expected a string' || fail "bad field: $out"
	out=$(seqpacket 'not json')
	echo "$out" | grep -q '"error"' || fail "not JSON: $out"
	# A client that connects and says nothing is answered and dropped after 5 s.
	out=$(python3 - "$RSOCK" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(15)
t = time.monotonic()
print(s.recv(1024).decode(), round(time.monotonic() - t))
PY
)
	echo "$out" | grep -qE 'no request within 5 s of connecting"\} [5-7]$' || fail "a silent client: $out"
	out=$(seqpacket "{\"snapshot_path\": \"$TMP/none.snap\", \"mem_file_path\": \"$MEM\"}")
	echo "$out" | grep -q '"pid": [0-9]' || fail "a request without stdio was not forked: $out"
	# Another missing file than the one above, so no warm clone of it (which would
	# fail on its own, before the request) can be handed the request.
	"$EMBER" --restore "$TMP/none2.snap" --mem-file "$MEM" --restore-via "$RSOCK" </dev/null >/dev/null 2>"$TMP/err"
	RC=$?
	[ "$RC" = 125 ] || fail "a clone of a missing snapshot: exit status $RC, expected 125 (config)"
	grep -q "snapshot '$TMP/none2.snap'" "$TMP/err" || fail "the clone did not say why: $(cat "$TMP/err")"
	out=$("$EMBER" --restore "$SNAP" --mem-file "$MEM" --restore-via "$TMP/no.sock" 2>&1)
	echo "$out" | grep -q "cannot reach a restore server at '$TMP/no.sock'" || fail "no server: $out"
	# A long-running clone, stopped through its client.
	"$EMBER" --restore "$SNAP" --mem-file "$MEM" --restore-via "$RSOCK" --verbose </dev/null \
		>"$TMP/out" 2>"$TMP/err" &
	PID=$!
	wait_out "^probe: tick $((LAST_TICK + 2)) " 20
	local cpid
	cpid=$(sed -nE 's/.*clone ([0-9]+) runs.*/\1/p' "$TMP/err")
	kill -TERM "$PID"
	wait "$PID"
	RC=$?
	[ "$RC" = 143 ] || fail "the client of a clone stopped by SIGTERM: exit status $RC, expected 143"
	[ -n "$cpid" ] && ! kill -0 "$cpid" 2>/dev/null || fail "clone $cpid still runs"
	PID=
	kill -0 "$RPID" 2>/dev/null || fail "the restore server ended: $(cat "$TMP/server.err")"
	stop_server
	out=$("$EMBER" --restore-server "$TMP/s2.sock" --kernel /x 2>&1)
	echo "$out" | grep -q -- '--restore-server: conflicts with --kernel' || fail "server with --kernel: $out"
	out=$("$EMBER" --prewarm "$SNAP,$MEM" --api-sock "$TMP/a.sock" 2>&1)
	echo "$out" | grep -q -- '--prewarm: needs --restore-server SOCKET' || fail "--prewarm alone: $out"
	out=$("$EMBER" --restore-server "$TMP/s2.sock" --prewarm "$SNAP" 2>&1)
	echo "$out" | grep -q -- "--prewarm: '$SNAP' is not SNAP,MEM" || fail "--prewarm without MEM: $out"
	# A prewarmed snapshot that is not there: the warm clone ends, the server serves on.
	start_server --prewarm "$TMP/none.snap,$MEM" || return
	sleep 1
	grep -q "a warm clone of '$TMP/none.snap' ended" "$TMP/server.err" ||
		fail "a failed prewarm was not reported: $(cat "$TMP/server.err")"
	kill -0 "$RPID" 2>/dev/null || fail "the restore server ended after a failed prewarm"
	stop_server
}

# ember-rebase-snap refuses what is not a diff of that base, naming the flag.
test_rebase_snap_refuses_bad_files() {
	local tool=$O/ember-rebase-snap out
	truncate -s 1M "$TMP/b.mem"
	truncate -s 2M "$TMP/d.mem"
	out=$("$tool" --base-file "$TMP/b.mem" 2>&1) && fail "a missing --diff-file passed"
	echo "$out" | grep -q 'both --base-file and --diff-file are needed' || fail "missing flag: $out"
	out=$("$tool" --base-file "$TMP/b.mem" --diff-file "$TMP/none" 2>&1) && fail "a missing diff passed"
	echo "$out" | grep -q "\-\-diff-file '$TMP/none': cannot open" || fail "missing file: $out"
	out=$("$tool" --base-file "$TMP/b.mem" --diff-file "$TMP/d.mem" 2>&1) && fail "a diff of another size passed"
	echo "$out" | grep -q 'is 2097152 bytes and --base-file' || fail "size mismatch: $out"
	out=$("$tool" --base-file "$TMP/b.mem" --diff-file "$TMP/b.mem" 2>&1) && fail "a base laid over itself passed"
	echo "$out" | grep -q 'is the base file itself' || fail "same file: $out"
	out=$("$tool" --base-file "$TMP" --diff-file "$TMP/b.mem" 2>&1) && fail "a directory as base passed"
	echo "$out" | grep -q "\-\-base-file '$TMP': cannot open" || fail "directory: $out"
	# A diff holding one page changes that page of the base and nothing else.
	head -c 1M /dev/urandom >"$TMP/b.mem"
	cp "$TMP/b.mem" "$TMP/b.orig"
	truncate -s 1M "$TMP/d1.mem"
	printf 'diffpage' | dd of="$TMP/d1.mem" bs=4096 seek=5 conv=notrunc status=none
	"$tool" --base-file "$TMP/b.mem" --diff-file "$TMP/d1.mem" >/dev/null || fail "a good diff was refused"
	cmp -s <(head -c 20480 "$TMP/b.mem") <(head -c 20480 "$TMP/b.orig") || fail "pages before the diff's changed"
	[ "$(dd if="$TMP/b.mem" bs=4096 skip=5 count=1 status=none | head -c 8)" = diffpage ] || fail "the diff's page was not laid over"
	cmp -s <(tail -c +24577 "$TMP/b.mem") <(tail -c +24577 "$TMP/b.orig") || fail "pages after the diff's changed"
}

# check_clone I RC: clone I (made by make_snapshot fill=64 ticks=12 count=20
# exit=7) ended with RC: the guest's status, going on where it paused to its
# last tick. A failure counts in BAD (only the first is described).
check_clone() {
	if [ "$2" != 7 ]; then
		BAD=$((BAD + 1))
		[ "$BAD" -gt 1 ] || fail "clone $1: exit status $2, expected 7: $(head -c 300 "$TMP/clone$1.err")"
		return 1
	fi
	check_resumed "$TMP/clone$1.out"
	[ "$(ticks "$TMP/clone$1.out" | tail -n 1 | cut -d' ' -f1)" = 11 ] ||
		fail "clone $1 did not count to its last tick: $(tail -c 200 "$TMP/clone$1.out")"
}

# 100 clones of one snapshot at once: each goes on from the same tick with
# the same memory, runs its remaining ticks and exits with the guest's status.
test_clones_run_at_once() {
	need_kvm || return
	need_curl || return
	local n=100 i pids=()
	BAD=0
	make_snapshot fill=64 ticks=12 count=20 exit=7 || return
	for i in $(seq $n); do
		timeout --signal=KILL 60 "$EMBER" --restore "$SNAP" --mem-file "$MEM" \
			</dev/null >"$TMP/clone$i.out" 2>"$TMP/clone$i.err" &
		pids+=($!)
	done
	for i in $(seq $n); do
		wait "${pids[$((i - 1))]}"
		check_clone "$i" $? || continue
	done
	[ "$BAD" = 0 ] || fail "$BAD of $n clones failed"
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
# for a byte when it was saved. The restored disk counts under its drive id
# from zero: only the requests made after the restore.
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
	: >"$TMP/m.json"
	restore_with_byte --metrics-path "$TMP/m.json"
	expect_rc 9
	expect_out "vio: woke byte=0x78"
	expect_out_re "^vio: blk read sector=4 $before"
	expect_out_re '^vio: blk write sector=5 status=0'
	expect_out_re '^vio: rng ok bytes=16'
	if grep -q '^vio: devices=' <<<"$OUT"; then fail "the restored guest booted again"; fi
	[ "$(od -An -tu1 -j $((5 * 512)) -N1 "$TMP/disk.img" | tr -d ' ')" = 172 ] ||
		fail "the restored guest's write did not reach the disk image"
	local got
	got=$(python3 -c "
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(d['block_scratch']['read_count'], d['block_scratch']['write_count'], d['entropy']['entropy_bytes'])" \
		"$TMP/m.json" 2>&1)
	[ "$got" = "2 1 16" ] || fail "metrics after the restore: got '$got', want '2 1 16'"
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

# ram_smaps FIELD: FIELD's line of the 64 MiB guest-RAM mapping in ember's smaps.
ram_smaps() {
	awk -v f="$1:" '/^[0-9a-f]+-[0-9a-f]+ / { ram = 0 } $1 == "Size:" && $2 == 65536 { ram = 1 }
		ram && $1 == f { print $2; exit }' "/proc/$PID/smaps"
}

# machine-config.huge_pages: 2M takes guest RAM from the host's hugetlbfs
# pool (and says so when the pool is short), Transparent marks it for THP;
# the view shows the choice, a PATCH keeps it, and a snapshot of a 2M VM is
# refused at restore by name, as no backend of ember's can map it yet.
test_huge_pages_back_guest_ram() {
	need_kvm || return
	[ "$(id -u)" = 0 ] || { skip "NOT ROOT: cannot reserve 2M huge pages"; return; }
	local old free
	old=$(cat /proc/sys/vm/nr_hugepages)
	echo $((old + 40)) >/proc/sys/vm/nr_hugepages 2>/dev/null
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	if [ "${free:-0}" -lt 32 ]; then
		echo "$old" >/proc/sys/vm/nr_hugepages
		skip "the host could not reserve 32 free 2M huge pages"
		return
	fi
	start_api || { echo "$old" >/proc/sys/vm/nr_hugepages; return; }
	call 400 "huge_pages: 'Huge' is not one of None, 2M, Transparent" -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "Huge"}'
	call 400 'mem_size_mib: 63: with 2M huge pages, the memory size must be a multiple of 2' -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 63, "huge_pages": "2M"}'
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}'
	call 204 -- PATCH /machine-config '{"vcpu_count": 1}'
	call 200 '"huge_pages": ?"2M"' -- GET /machine-config
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- count=20\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^probe: tick 3' 20
	[ "$(ram_smaps KernelPageSize)" = 2048 ] ||
		fail "guest RAM is not on 2M pages: KernelPageSize $(ram_smaps KernelPageSize) kB"
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 204 -- PUT /snapshot/create "{\"snapshot_path\": \"$SNAP\", \"mem_file_path\": \"$MEM\"}"
	stop_ember
	local last
	last=$(tr -d '\r' <"$TMP/out" | sed -nE 's/^probe: tick ([0-9]+)$/\1/p' | tail -n 1)
	# A memory file cannot back hugetlbfs pages: the File backend is refused by name.
	"$EMBER" --restore "$SNAP" --mem-file "$MEM" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	expect_rc 125
	expect_err_re "its VM ran on 2M huge pages, which only the Uffd memory backend can restore"
	# Through a page-fault handler it restores, on 2M pages, each copied whole.
	if need_uffd; then
		start_handler || { echo "$old" >/proc/sys/vm/nr_hugepages; return; }
		start_api || { echo "$old" >/proc/sys/vm/nr_hugepages; return; }
		call 204 -- PUT /snapshot/load "$(uffd_load "$USOCK")"
		wait_out "^probe: tick $((${last:-0} + 3))\$" 20
		[ "$(ram_smaps KernelPageSize)" = 2048 ] ||
			fail "restored RAM is not on 2M pages: KernelPageSize $(ram_smaps KernelPageSize) kB"
		stop_ember
		wait_handler
		grep -qE '^uffd_handler: served [1-9][0-9]* faults \([1-9][0-9]* copied, 0 zero pages\)' <<<"$HOUT" ||
			fail "the handler did not copy 2 MiB pages: $HOUT $(cat "$TMP/handler.err")"
	fi
	echo "$old" >/proc/sys/vm/nr_hugepages
	# With the pool back as it was, 2M pages run out: said when the VM is made.
	ember_run --kernel "$PROBE" --mem 64 --huge-pages 2M -- exit=0
	[ "$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)" -lt 32 ] && {
		expect_rc 120
		expect_err_re "on 2M huge pages \(is vm.nr_hugepages enough\?\)"
	}
	# Transparent: guest RAM may take THP (the host's mode is madvise or always).
	start_api || return
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "Transparent"}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- count=20\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^probe: tick 1' 20
	grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled ||
		[ "$(ram_smaps THPeligible)" = 1 ] || fail "guest RAM is not THP-eligible: $(ram_smaps THPeligible)"
	call 200 '"huge_pages": ?"Transparent"' -- GET /vm/config
	stop_ember
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
	call 400 'track_dirty_pages: expected a boolean' -- PUT /snapshot/load '{"snapshot_path": "/tmp/a", "mem_file_path": "/tmp/b", "track_dirty_pages": "yes"}'
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
	# A FIFO is refused at once, not waited on for a writer.
	mkfifo "$TMP/fifo.mem"
	ember_run --timeout 10 --restore "$SNAP" --mem-file "$TMP/fifo.mem"
	expect_rc 125
	expect_err_re "memory file '$TMP/fifo.mem': not a regular file"
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
