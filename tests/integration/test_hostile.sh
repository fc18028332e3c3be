#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_hostile.sh: what hostile guests, images and config files found in
# ember once, each now ending cleanly (issue 11): a guest that resets its
# vsock device with connections open (the reset ran close() on the vCPU
# thread, outside its seccomp filter: SIGSYS), a guest that opens
# connections until ember has no fd left for the API, a bzImage whose
# cmdline_size is 0xffffffff (a wrap to 0: exit 125 without a word), and a
# config file with a NUL byte after a number (the error path spun for ever).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VIO=$O/tests/guests/vio.elf
PROBE_BZ=$O/tests/guests/probe.bzImage
# The exit status of a process killed by SIGSYS (seccomp), for the messages.
SIGSYS_RC=159
# Offset of cmdline_size in a bzImage (boot protocol 2.06+: setup header at 0x1f1).
BZ_CMDLINE_SIZE_OFF=$((0x238))
# RLIMIT_NOFILE for the fd-starvation run: too few for a guest's 128 streams.
NOFILE_TIGHT=128

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: nothing booted"
	return 1
}

# silent_client UDS OUT: connect to ember's vsock UDS as soon as it exists,
# write nothing, and record in OUT "connected" then "eof" when ember closes it.
silent_client() {
	python3 - "$1" "$2" <<'EOF' &
import socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
for _ in range(400):
    try:
        s.connect(path)
        break
    except OSError:
        time.sleep(0.01)
else:
    sys.exit(1)
with open(out, "w") as f:
    f.write("connected\n")
s.settimeout(20)
try:
    d = s.recv(1)
except OSError:
    d = b""
with open(out, "a") as f:
    f.write("eof\n" if not d else "data\n")
EOF
	bg_track $!
}

# vm_json FILE UDS ARGS...: a config file booting vio.elf with ARGS and a vsock at UDS
# (with --api-sock, a config file boots at once where the flags would wait for the API).
vm_json() {
	local f=$1 uds=$2
	shift 2
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "console=ttyS0 -- %s"},
 "vsock": {"guest_cid": 3, "uds_path": "%s"}}\n' "$VIO" "$*" "$uds" >"$f"
}

expect_no_sigsys() {
	[ "$RC" != "$SIGSYS_RC" ] || fail "ember was killed by seccomp (exit $RC)"
}

test_guest_resets_vsock_with_guest_connection_open() {
	need_kvm || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo_server "$D/v.sock_5000" || return
	vm_json "$D/vm.json" "$D/v.sock" vsock-connect=5000 vsock-send=before-reset vsock-recv \
		vsock-reset vsock-connect=5000 vsock-send=after-reset vsock-recv exit=0
	ember_run --config-file "$D/vm.json" --api-sock "$D/api.sock"
	expect_no_sigsys
	expect_rc 0
	expect_out "vio: vsock recv len=12 data=before-reset"
	expect_out "vio: vsock reset status=0x0"
	expect_out "vio: vsock recv len=11 data=after-reset"
	[ ! -e "$D/api.sock" ] || fail "the API socket file was left behind"
}

test_guest_resets_vsock_with_silent_host_client() {
	need_kvm || return
	local D
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo_server "$D/v.sock_5000" || return
	silent_client "$D/v.sock" "$D/client"
	# The hold gives the host client time to connect before the reset.
	ember_run --kernel "$VIO" --vsock "3,$D/v.sock" --metrics-path "$D/m.json" -- \
		vsock-hold=5000,1,1000 vsock-reset exit=0
	expect_no_sigsys
	expect_rc 0
	expect_out "vio: vsock hold open=1 refused=0"
	expect_out "vio: vsock reset status=0x0"
	for _ in $(seq 100); do
		grep -qx eof "$D/client" 2>/dev/null && break
		sleep 0.05
	done
	grep -qx connected "$D/client" 2>/dev/null || fail "the host client never connected"
	grep -qx eof "$D/client" 2>/dev/null || fail "the host client's connection was not closed"
}

test_guest_cannot_starve_the_api_of_fds() {
	need_kvm || return
	command -v curl >/dev/null || { skip "curl is needed to ask the API"; return; }
	local D pid open refused code=
	D=$(mktemp -d "$TMP/t.XXXXXX")
	echo_server "$D/v.sock_5000" || return
	# 128 streams held for 4 s, under a limit that cannot hold them all.
	vm_json "$D/vm.json" "$D/v.sock" vsock-hold=5000,128,4000 exit=0
	(
		ulimit -n "$NOFILE_TIGHT" || exit 99
		exec "$EMBER" --config-file "$D/vm.json" --api-sock "$D/api.sock" \
			--metrics-path "$D/m.json"
	) </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for _ in $(seq 200); do
		grep -q "vio: vsock hold open=" "$TMP/out" 2>/dev/null && break
		sleep 0.05
	done
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$D/api.sock" \
		http://localhost/)
	timeout --signal=KILL 30 tail --pid="$pid" -f /dev/null
	wait "$pid"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_no_sigsys
	expect_rc 0
	[ "$code" = 200 ] || fail "GET / while the guest held its streams answered '$code', not 200"
	open=$(sed -nE 's/^vio: vsock hold open=([0-9]+) refused=([0-9]+)$/\1/p' <<<"$OUT")
	refused=$(sed -nE 's/^vio: vsock hold open=([0-9]+) refused=([0-9]+)$/\2/p' <<<"$OUT")
	[ -n "$open" ] || { fail "no 'vio: vsock hold' line"; return; }
	[ "$open" -gt 0 ] || fail "no stream was accepted"
	[ "$refused" -gt 0 ] || fail "all $open streams accepted under a limit of $NOFILE_TIGHT fds"
	[ $((open + refused)) = 128 ] || fail "open=$open refused=$refused: not every stream answered"
	expect_err_re "vsock: at most $open connections at once \\(the RLIMIT_NOFILE soft limit"
	grep -qE '"conns_refused": ?[1-9]' "$D/m.json" || fail "metrics count no refused connection"
}

# bz_with_cmdline_size N: a copy of probe.bzImage whose cmdline_size is N.
bz_with_cmdline_size() {
	cp "$PROBE_BZ" "$TMP/bz"
	python3 - "$TMP/bz" "$1" "$BZ_CMDLINE_SIZE_OFF" <<'EOF'
import struct, sys
path, size, off = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(off)
    f.write(struct.pack("<I", size))
EOF
}

test_bzimage_cmdline_size_all_ones_boots() {
	need_kvm || return
	bz_with_cmdline_size 0xffffffff
	ember_run --kernel "$TMP/bz" -- exit=0
	expect_rc 0
	expect_out "probe: entry=linux64"
	expect_out "probe: done"
}

test_bzimage_cmdline_size_too_small_is_named() {
	need_kvm || return
	bz_with_cmdline_size 8
	ember_run --kernel "$TMP/bz" -- exit=0
	expect_rc 125
	expect_err_re "cmdline_size allows 8 bytes"
}

test_config_file_nul_after_number_is_refused() {
	printf '{"drives": [1\0], "bogus": 1}' >"$TMP/nul.json"
	ember_run --timeout 10 --config-file "$TMP/nul.json" --no-api
	expect_rc 125
	expect_err_re "nul.json: line 1: invalid JSON: a NUL byte \\(offset 13\\)"
}

run_tests "${1:-}"
