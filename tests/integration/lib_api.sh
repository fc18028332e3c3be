# SPDX-License-Identifier: Apache-2.0
# lib_api.sh: driving one ember through its API socket with curl, for the
# suites that do (after lib.sh): start it, make requests, check answers,
# wait for its output and its end.

SOCK=$TMP/api.sock
PID=

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: KVM boot not tested"
	return 1
}
need_curl() {
	command -v curl >/dev/null && return 0
	skip "curl is not installed"
	return 1
}

# start_api [ARGS...]: ember --api-sock $SOCK ARGS in the background.
start_api() {
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		sleep 0.02
	done
	fail "the API socket never appeared"
	return 1
}

# api METHOD PATH [BODY]: one request; sets CODE and BODY.
api() {
	local args=(-s --max-time 5 --unix-socket "$SOCK" -X "$1" -o "$TMP/body" -w '%{http_code}')
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	CODE=$(curl "${args[@]}" "http://localhost$2")
	BODY=$(cat "$TMP/body" 2>/dev/null)
}

# expect CODE [BODY_REGEX]: the last answer.
expect() {
	[ "$CODE" = "$1" ] || { fail "$LAST: status $CODE, expected $1 (body $BODY)"; return; }
	[ $# -lt 2 ] || grep -qE -- "$2" <<<"$BODY" || fail "$LAST: body '$BODY' lacks /$2/"
}
# call EXPECTED_CODE [BODY_REGEX] -- METHOD PATH [BODY]
call() {
	local code=$1 re=
	shift
	if [ "$1" != -- ]; then re=$1; shift; fi
	shift
	LAST="$1 $2"
	api "$@"
	if [ -n "$re" ]; then expect "$code" "$re"; else expect "$code"; fi
}

# wait_ember [SECONDS]: wait for ember to end; sets RC, OUT, ERR.
wait_ember() {
	local t=${1:-10}
	for _ in $(seq $((t * 50))); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$PID" 2>/dev/null; then
		kill -9 "$PID"
		fail "ember did not end within ${t}s"
	fi
	wait "$PID"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	PID=
}

stop_ember() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	wait_ember 5
}

# wait_out RE [SECONDS]: wait until ember's stdout has a line matching RE.
wait_out() {
	for _ in $(seq $((${2:-10} * 50))); do
		tr -d '\r' <"$TMP/out" | grep -qE -- "$1" && return 0
		sleep 0.02
	done
	fail "stdout never matched /$1/: $(head -c 1000 "$TMP/out")"
	return 1
}

