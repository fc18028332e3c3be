#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_http_robust.sh: the API server against broken and hostile clients
# (tests/integration/http_abuse.py): truncated requests, huge headers,
# wrong Content-Length, bodies past --http-api-max-payload-size, binary
# garbage, slow clients, a thousand connections. Each runs against a real
# ember serving a booted probe guest that counts (count=MS) and must go on
# counting; after each, ember must answer GET / on a fresh connection, and
# its open fds and RSS must come back down.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

PROBE=$PWD/$O/tests/guests/probe.elf
ABUSE=tests/integration/http_abuse.py
SOCK=$TMP/api.sock
PID=
# A probe tick every TICK_MS: the guest is alive while the count grows.
TICK_MS=10
# RSS may grow this much during a scenario (KiB): buffers, not a leak.
RSS_SLACK_KB=2048

need_tools() {
	have_kvm || { skip "no usable /dev/kvm on this host: KVM boot not tested"; return 1; }
	command -v curl >/dev/null || { skip "curl is not installed"; return 1; }
	command -v python3 >/dev/null || { skip "python3 is not installed"; return 1; }
}

# boot [EMBER_ARGS...]: ember with the API, a counting probe started through it.
boot() {
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && break
		sleep 0.02
	done
	[ -S "$SOCK" ] || { fail "the API socket never appeared"; return 1; }
	curl -s --max-time 5 --unix-socket "$SOCK" -X PUT -o /dev/null \
		-d "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- count=$TICK_MS\"}" \
		http://localhost/boot-source
	curl -s --max-time 5 --unix-socket "$SOCK" -X PUT -o /dev/null \
		-d '{"action_type": "InstanceStart"}' http://localhost/actions
	ticks_after 0 5 || { fail "the guest never counted: $(head -c 500 "$TMP/out")"; return 1; }
	FDS=$(fd_count)
	RSS=$(rss_kb)
}

ticks() { tr -d '\r' <"$TMP/out" | grep -c '^probe: tick '; }
fd_count() { ls "/proc/$PID/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null; }

# ticks_after N [SECONDS]: wait until the guest has printed more than N ticks.
ticks_after() {
	for _ in $(seq $((${2:-2} * 100))); do
		[ "$(ticks)" -gt "$1" ] && return 0
		sleep 0.01
	done
	return 1
}

# healthy WHAT [EXTRA_FDS]: ember serves GET / on a fresh connection, the
# guest counts on, fds went back to what they were after boot (plus
# EXTRA_FDS connections a test holds open), RSS did not run away.
healthy() {
	local code body n fds=0 rss max=$((FDS + ${2:-0}))
	kill -0 "$PID" 2>/dev/null || { fail "$1: ember is gone"; return 1; }
	code=$(curl -s --max-time 5 --unix-socket "$SOCK" -o "$TMP/body" -w '%{http_code}' http://localhost/)
	body=$(cat "$TMP/body" 2>/dev/null)
	[ "$code" = 200 ] && grep -q '"state":"Running"' <<<"$body" ||
		{ fail "$1: GET / answered $code '$body'"; return 1; }
	n=$(ticks)
	ticks_after "$n" 2 || { fail "$1: the guest stopped counting at $n"; return 1; }
	for _ in $(seq 100); do
		fds=$(fd_count)
		[ "$fds" -le "$max" ] && break
		sleep 0.02
	done
	[ "$fds" -le "$max" ] || { fail "$1: $fds fds open, $FDS after boot"; return 1; }
	rss=$(rss_kb)
	[ "$rss" -le $((RSS + RSS_SLACK_KB)) ] ||
		{ fail "$1: RSS $rss KiB, $RSS KiB after boot"; return 1; }
}

stop() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 250); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.02
	done
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out" | tail -n 5)
	ERR=$(cat "$TMP/err")
	PID=
}

# scenario NAME [ARGS...]: run http_abuse.py NAME against ember, then check its health.
scenario() {
	python3 "$ABUSE" "$SOCK" "$@" >"$TMP/abuse" 2>&1 ||
		{ fail "$1: $(grep -m1 FAIL "$TMP/abuse" || tail -n 3 "$TMP/abuse")"; return 1; }
	healthy "$1"
}

test_truncated_requests() {
	need_tools || return
	boot || return
	scenario truncated
	stop
}

test_huge_headers_and_url() {
	need_tools || return
	boot || return
	scenario huge_headers
	stop
}

test_wrong_content_length() {
	need_tools || return
	boot || return
	scenario content_length
	stop
}

test_body_past_the_payload_limit() {
	need_tools || return
	boot || return
	scenario payload 51200 || { stop; return; }
	stop
	boot --http-api-max-payload-size 1000 || return
	scenario payload 1000
	stop
}

test_binary_garbage() {
	need_tools || return
	boot || return
	scenario garbage
	stop
}

test_slow_and_idle_clients() {
	need_tools || return
	boot || return
	scenario slow
	stop
}

# A request left half-sent is answered 400 and closed after
# API_REQUEST_TIMEOUT_MS (5 s), while other clients are served.
test_stalled_request_times_out() {
	need_tools || return
	boot || return
	python3 "$ABUSE" "$SOCK" stall >"$TMP/stall" 2>&1 &
	local stall=$!
	for _ in 1 2 3; do
		sleep 1
		healthy "during a stalled request" 1 || break
	done
	wait "$stall" || fail "stall: $(grep -m1 FAIL "$TMP/stall")"
	healthy "after the stalled request"
	stop
}

test_thousand_connections_opened_and_dropped() {
	need_production_build || return # its RSS bound
	need_tools || return
	boot || return
	local t0=$(date +%s%N)
	scenario many 1000 || { stop; return; }
	local ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -le 10000 ] || fail "1000 connections took $ms ms"
	# The cap is logged, but not once per connection.
	local lines
	lines=$(grep -c 'connections open (the limit)' "$TMP/err")
	[ "$lines" -ge 1 ] && [ "$lines" -le $((ms / 1000 + 2)) ] ||
		fail "$lines connection-cap log lines in $ms ms"
	stop
}

test_socket_removed_after_guest_exit_and_sigterm() {
	need_tools || return
	boot || return
	[ -S "$SOCK" ] || fail "no socket while running"
	stop
	[ "$RC" = 143 ] || fail "SIGTERM: exit status $RC"
	[ -e "$SOCK" ] && fail "the socket is left behind after SIGTERM (under seccomp)"
	# The guest ends by itself.
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.02; done
	curl -s --unix-socket "$SOCK" -X PUT -o /dev/null \
		-d "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- exit=9\"}" \
		http://localhost/boot-source
	curl -s --unix-socket "$SOCK" -X PUT -o /dev/null -d '{"action_type": "InstanceStart"}' \
		http://localhost/actions
	for _ in $(seq 250); do kill -0 "$PID" 2>/dev/null || break; sleep 0.02; done
	wait "$PID"
	RC=$?
	PID=
	[ "$RC" = 9 ] || fail "guest exit: status $RC, expected 9"
	[ -e "$SOCK" ] && fail "the socket is left behind after the guest's exit"
	# A file that took the socket's place is not ours: it stays.
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.02; done
	mv "$SOCK" "$TMP/moved.sock"
	echo mine >"$SOCK"
	stop
	[ "$(cat "$SOCK" 2>/dev/null)" = mine ] || fail "ember removed a file it did not create"
	rm -f "$SOCK" "$TMP/moved.sock"
}

run_tests "$@"
