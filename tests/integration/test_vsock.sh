#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vsock.sh: virtio-vsock (Firecracker's hybrid vsock, --vsock CID,UDS_PATH)
# driven by the real guest driver in vio.elf: a guest-initiated connection to
# a host echo server listening at UDS_PATH_<port>, data both ways, refusal
# (RST) when nobody listens, interrupt mode, several connections in a row,
# and the UDS_PATH listener itself (stale socket replaced, other files not).
#
# Host-initiated connections ("CONNECT <port>\n" -> "OK <host port>\n") need
# a guest that listens; vio.elf has no such word, so that direction is covered
# by tests/unit/test_virtio_vsock.c only.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VIO=$O/tests/guests/vio.elf
ECHO_PID=

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

# echo_server PATH: a Unix stream socket at PATH echoing every connection.
echo_server() {
	rm -f "$1" "$1.ready"
	python3 - "$1" <<'EOF' &
import os, socket, sys, threading
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
open(path + ".ready", "w").close()
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
	ECHO_PID=$!
	for _ in $(seq 100); do
		[ -e "$1.ready" ] && return 0
		sleep 0.05
	done
	fail "echo server at $1 did not start"
	return 1
}

stop_echo() {
	if [ -n "$ECHO_PID" ]; then
		kill "$ECHO_PID" 2>/dev/null
		wait "$ECHO_PID" 2>/dev/null
		ECHO_PID=
	fi
}

test_vsock_guest_connect_echo() {
	need_vsock || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo_server "$D/v.sock_5000" || return
	ember_run --kernel "$VIO" --vsock "3,$D/v.sock" -- vsock-connect=5000 \
		vsock-send=hello-vsock vsock-recv vsock-close exit=0
	stop_echo
	expect_rc 0
	expect_out "vio: vsock cid=3 connect port=5000 ret=0"
	expect_out "vio: vsock send ret=11"
	expect_out "vio: vsock recv len=11 data=hello-vsock"
	expect_out "vio: vsock closed"
	expect_out "vio: done"
	[ -S "$D/v.sock" ] || fail "no listening socket at UDS_PATH"
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
	stop_echo
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
	[ "$RC" != 0 ] || fail "ember started over a regular file at UDS_PATH"
	expect_err_re '--vsock .*v\.sock'
	[ "$(cat "$D/v.sock")" = keep ] || fail "the regular file was replaced"
}

run_tests "${1:-}"
