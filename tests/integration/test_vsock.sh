#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vsock.sh: virtio-vsock (Firecracker's hybrid vsock, --vsock CID,UDS_PATH)
# driven by the real guest driver in vio.elf: a guest-initiated connection to
# a host echo server listening at UDS_PATH_<port>, data both ways, refusal
# (RST) when nobody listens, interrupt mode, several connections in a row,
# the UDS_PATH listener itself (stale socket replaced, other files not),
# and 100 streams at once in each direction: guest-initiated (vsock-multi)
# against a host echo server, and host-initiated ("CONNECT <port>\n" ->
# "OK <host port>\n") from 100 host clients to the guest's echo (vsock-echo);
# tests/integration/vsock_many.py is the host side of both.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VIO=$O/tests/guests/vio.elf

# need_vsock: KVM, and a monitor that has the --vsock flag.
need_vsock() {
	if ! have_kvm; then
		skip "no usable /dev/kvm on this host: vsock not tested"
		return 1
	fi
	if ! "$EMBER" --help 2>&1 | grep -q -- --vsock; then
		skip "$EMBER has no --vsock flag yet (the monitor does not wire the device)"
		return 1
	fi
	if ! command -v python3 >/dev/null; then
		skip "python3 is needed for the host-side echo server"
		return 1
	fi
	return 0
}

test_vsock_guest_connect_echo() {
	need_vsock || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo_server "$D/v.sock_5000" || return
	ember_run --kernel "$VIO" --vsock "3,$D/v.sock" --metrics-path "$D/m.json" -- \
		vsock-connect=5000 vsock-send=hello-vsock vsock-recv vsock-close exit=0
	bg_stop
	expect_rc 0
	expect_out "vio: vsock cid=3 connect port=5000 ret=0"
	expect_out "vio: vsock send ret=11"
	expect_out "vio: vsock recv len=11 data=hello-vsock"
	expect_out "vio: vsock closed"
	expect_out "vio: done"
	[ -S "$D/v.sock" ] || fail "no listening socket at UDS_PATH"
	# The vsock metrics group saw the one stream and its 11 bytes each way.
	local got
	got=$(python3 -c '
import json, sys
v = json.loads(open(sys.argv[1]).read().splitlines()[-1])["vsock"]
print(v["conns_added"], v["conns_removed"], v["conns_killed"], v["tx_bytes_count"], v["rx_bytes_count"],
      v["tx_packets_count"] >= 3, v["rx_packets_count"] >= 2, v["tx_queue_event_count"] >= 1)' "$D/m.json" 2>&1)
	[ "$got" = "1 1 0 11 11 True True True" ] ||
		fail "vsock metrics: got '$got', want '1 1 0 11 11 True True True'"
}

test_vsock_refused_without_listener() {
	need_vsock || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	ember_run --kernel "$VIO" --vsock "7,$D/v.sock" -- vsock-connect=5001 exit=0
	expect_rc 0
	expect_out "vio: vsock cid=7 connect port=5001 ret=-6"
	expect_out "vio: done"
}

test_vsock_interrupts_and_reconnect() {
	need_vsock || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo_server "$D/v.sock_6000" || return
	ember_run --kernel "$VIO" --vsock "42,$D/v.sock" -- irq vsock-connect=6000 \
		vsock-send=first vsock-recv vsock-close vsock-connect=6000 vsock-send=second \
		vsock-recv vsock-close vsock-connect=6001 exit=0
	bg_stop
	expect_rc 0
	expect_out "vio: irq mode"
	expect_out "vio: vsock recv len=5 data=first"
	expect_out "vio: vsock recv len=6 data=second"
	[ "$(grep -c '^vio: vsock cid=42 connect port=6000 ret=0$' <<<"$OUT")" = 2 ] ||
		fail "both connections to port 6000 should succeed"
	expect_out "vio: vsock cid=42 connect port=6001 ret=-6"
}

test_vsock_stale_socket_is_replaced() {
	need_vsock || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	# A socket file left by an earlier run (its owner gone).
	python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$D/v.sock"
	[ -S "$D/v.sock" ] || { fail "could not make a stale socket"; return; }
	ember_run --kernel "$VIO" --vsock "3,$D/v.sock" -- vsock-connect=5002 exit=0
	expect_rc 0
	expect_out "vio: vsock cid=3 connect port=5002 ret=-6"
}

test_vsock_other_file_is_not_replaced() {
	need_vsock || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo keep >"$D/v.sock"
	ember_run --kernel "$VIO" --vsock "3,$D/v.sock" -- exit=0
	# A configuration error (125) naming the path, before the guest runs.
	expect_rc 125
	expect_err_re "^ember: --vsock $D/v\\.sock: exists and is not a socket$"
	[ -z "$OUT" ] || fail "the guest ran: $OUT"
	[ "$(cat "$D/v.sock")" = keep ] || fail "the regular file was replaced"
}

# 100 streams at once, each way, every byte checked on both sides.
MANY=100
MANY_BYTES=10000 # per stream: more than the guest's 4 KiB per-stream buffer
MANY_SECONDS=10  # "a few seconds": both directions take about 2 s here

elapsed_s() { echo $((($(date +%s%N) - $1) / 1000000000)); }

test_vsock_100_guest_initiated_streams() {
	need_vsock || return
	local D start hpid host
	D=$(mktemp -d "$TMP/t.XXXXXX")
	python3 tests/integration/vsock_many.py serve "$D/v.sock_7001" $MANY $MANY_BYTES \
		>"$D/host" 2>&1 &
	hpid=$!
	for _ in $(seq 100); do [ -e "$D/v.sock_7001.ready" ] && break; sleep 0.05; done
	start=$(date +%s%N)
	ember_run --kernel "$VIO" --vsock "3,$D/v.sock" -- vsock-multi=7001,$MANY,$MANY_BYTES exit=0
	wait "$hpid"
	host=$(cat "$D/host")
	expect_rc 0
	# the guest read back, byte for byte, what it sent on each stream, and each ended cleanly
	expect_out "vio: vsock multi port=7001 streams=$MANY connected=$MANY verified=$MANY closed=$MANY bytes=$((MANY * MANY_BYTES))"
	# the host saw all of them open at once, each one a different guest stream, intact
	[ "$host" = "host: streams=$MANY distinct=$MANY valid=$MANY max_open=$MANY" ] ||
		fail "host side: '$host'"
	[ "$(elapsed_s "$start")" -lt $MANY_SECONDS ] || fail "took more than $MANY_SECONDS s"
}

test_vsock_100_host_initiated_streams() {
	need_vsock || return
	local D start epid host
	D=$(mktemp -d "$TMP/t.XXXXXX")
	start=$(date +%s%N)
	timeout --signal=KILL 30 "$EMBER" --kernel "$VIO" --vsock "3,$D/v.sock" -- \
		vsock-echo=7000,$MANY exit=0 </dev/null >"$TMP/out" 2>"$TMP/err" &
	epid=$!
	for _ in $(seq 100); do grep -q "^vio: vsock listening" "$TMP/out" && break; sleep 0.05; done
	host=$(python3 tests/integration/vsock_many.py connect "$D/v.sock" 7000 $MANY $MANY_BYTES 2>&1)
	wait "$epid"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_rc 0
	expect_out "vio: vsock listening port=7000"
	# 100 "OK <port>" answers, all different, and each stream's own bytes echoed back
	[ "$host" = "host: connected=$MANY distinct_ports=$MANY verified=$MANY" ] ||
		fail "host side: '$host'"
	expect_out "vio: vsock echo port=7000 accepted=$MANY closed=$MANY bytes=$((MANY * MANY_BYTES))"
	[ "$(elapsed_s "$start")" -lt $MANY_SECONDS ] || fail "took more than $MANY_SECONDS s"
}

run_tests "${1:-}"
