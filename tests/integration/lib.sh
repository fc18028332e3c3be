# SPDX-License-Identifier: Apache-2.0
# lib.sh: a tiny test harness for integration tests in bash.
#
# A test is a function named test_*; it calls `fail "why"` or `skip "why"`,
# and passes when it returns without either. A fail is final: a skip after
# it (the host lacks what the rest of the test needs, say) is added to the
# reason but the verdict stays FAIL. run_tests runs every test_* function
# (or those matching $1) and ends with "N passed, N failed, N skipped".

O=${O:-build}
EMBER=${EMBER:-$O/ember}
# A sanitizer build of ember (make test-san): EMBER_SANITIZED=1, and the
# sanitizers write their reports as files in EMBER_SAN_LOGS (their
# log_path), which run_tests looks at after every test.
EMBER_SANITIZED=${EMBER_SANITIZED:-0}
EMBER_SAN_LOGS=${EMBER_SAN_LOGS:-}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ember-test.XXXXXX")
trap 'bg_stop; rm -rf "$TMP"' EXIT

_status=pass
_why=

# fail WHY: the test fails. The first reason is the one shown, with a
# count of the checks that failed after it.
_more=0
fail() {
	if [ "$_status" = fail ]; then
		_more=$((_more + 1))
	else
		_status=fail
		_why="$*"
	fi
}
# skip WHY: the test stops short for a reason of the host's, unless it has
# already failed: then the FAIL stands and the reason is only added.
skip() {
	if [ "$_status" = fail ]; then
		_why="$_why (and then SKIP: $*)"
	else
		_status=skip
		_why="$*"
	fi
}

# need_production_build: the test is about the production binary itself
# (static, under its own seccomp filters, its memory use), which a
# sanitizer build (dynamic, --no-seccomp, shadow memory) is not.
need_production_build() {
	[ "$EMBER_SANITIZED" = 1 ] || return 0
	skip "a sanitizer build of ember: this test is about the production binary"
	return 1
}

# san_reports: how many sanitizer reports there are so far.
san_reports() {
	[ -n "$EMBER_SAN_LOGS" ] || { echo 0; return; }
	find "$EMBER_SAN_LOGS" -type f 2>/dev/null | wc -l
}

# Host-side helpers a test starts in the background: bg_track PID records
# one, bg_stop ends them all (run_tests calls it after every test).
BG_PIDS=()
bg_track() { BG_PIDS+=("$1"); }
bg_stop() {
	local p
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
}

# echo_server PATH: a Unix stream socket at PATH echoing every connection
# (the host end of a guest's vsock connection to a port); returns once it
# listens.
echo_server() {
	rm -f "$1" "$1.ready"
	python3 - "$1" <<'EOF' &
import socket, sys, threading
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(256)
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
	bg_track $!
	for _ in $(seq 100); do
		[ -e "$1.ready" ] && return 0
		sleep 0.05
	done
	fail "echo server at $1 did not start"
	return 1
}

# have_kvm: /dev/kvm is there and usable by us.
have_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

# kvm_check_extension CAP: KVM_CHECK_EXTENSION's answer for CAP on /dev/kvm
# (empty when /dev/kvm cannot be asked).
kvm_check_extension() {
	python3 -c '
import fcntl, os, sys
fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
print(fcntl.ioctl(fd, 0xAE03, int(sys.argv[1])))  # KVM_CHECK_EXTENSION
' "$1" 2>/dev/null
}

# software_kvm: /dev/kvm is served by kvm_pvm, the software virtualisation
# under which Linux user space cannot run (README.md, "Development hosts
# with software KVM"), not by kvm_intel or kvm_amd. kvm_pvm being loaded
# does not settle it, as it can sit beside a hardware module, so: without
# kvm_pvm, no; with a CPU that has neither VMX nor SVM, neither hardware
# module can be what serves /dev/kvm, so yes; otherwise /dev/kvm itself is
# asked for KVM_CAP_NESTED_STATE (157): kvm_intel and kvm_amd answer the
# size of their nested state, kvm_pvm (no nesting) 0. Worked out once.
_software_kvm=
software_kvm() {
	if [ -z "$_software_kvm" ]; then
		_software_kvm=yes
		if [ ! -d /sys/module/kvm_pvm ]; then
			_software_kvm=no
		elif grep -qwE 'vmx|svm' /proc/cpuinfo; then
			case $(kvm_check_extension 157) in
			'' | 0) ;;
			*) _software_kvm=no ;;
			esac
		fi
	fi
	[ "$_software_kvm" = yes ]
}

# ember_run [--timeout S] ARGS...: run ember; sets OUT, ERR, RC.
ember_run() {
	local t=30
	if [ "$1" = --timeout ]; then t=$2; shift 2; fi
	timeout --signal=KILL "$t" "$EMBER" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

# expect_out LINE: OUT contains LINE as a whole line.
expect_out() {
	grep -qxF -- "$1" <<<"$OUT" || fail "stdout lacks line '$1'"
}
# expect_out_re RE: some stdout line matches the extended regex RE.
expect_out_re() {
	grep -qE -- "$1" <<<"$OUT" || fail "stdout has no line matching /$1/"
}
# expect_err_re RE: some stderr line matches RE.
expect_err_re() {
	grep -qE -- "$1" <<<"$ERR" || fail "stderr has no line matching /$1/"
}
# expect_rc N: ember's exit status was N.
expect_rc() {
	[ "$RC" = "$1" ] || fail "exit status $RC, expected $1"
}

run_tests() {
	local pass=0 nfail=0 nskip=0 t
	for t in $(declare -F | awk '{print $3}' | grep '^test_' | grep -E -- "${1:-.}"); do
		_status=pass
		_why=
		_more=0
		local reports
		reports=$(san_reports)
		"$t"
		bg_stop
		if [ "$(san_reports)" != "$reports" ]; then
			local newest
			newest=$(ls -t "$EMBER_SAN_LOGS" | head -n 1)
			fail "sanitizer report $EMBER_SAN_LOGS/$newest: $(grep -m1 -E \
				'ERROR|WARNING|runtime error' "$EMBER_SAN_LOGS/$newest")"
		fi
		case $_status in
		pass) pass=$((pass + 1)); echo "PASS  $t" ;;
		skip) nskip=$((nskip + 1)); echo "SKIP  $t: $_why" ;;
		*)
			nfail=$((nfail + 1))
			[ "$_more" = 0 ] || _why="$_why (and $_more more failed check(s))"
			echo "FAIL  $t: $_why"
			# (A test that failed before running anything has no RC, OUT, ERR.)
			echo "----- exit status ${RC-none}; stdout:"; head -c 4000 <<<"${OUT-}"; echo
			echo "----- stderr:"; head -c 4000 <<<"${ERR-}"; echo "-----"
			;;
		esac
	done
	[ "$nskip" -gt 0 ] && echo "NOTE: $nskip test(s) SKIPPED: read the reasons above"
	echo "integration: $pass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ]
}
