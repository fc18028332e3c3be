# SPDX-License-Identifier: Apache-2.0
# lib.sh: a tiny test harness for integration tests in bash.
#
# A test is a function named test_*; it calls `fail "why"` or `skip "why"`,
# and passes when it returns without either. run_tests runs every test_*
# function (or those matching $1) and ends with "N passed, N failed, N skipped".

O=${O:-build}
EMBER=${EMBER:-$O/ember}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ember-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

_status=pass
_why=

fail() { _status=fail; _why="$*"; }
skip() { _status=skip; _why="$*"; }

# have_kvm: /dev/kvm is there and usable by us.
have_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
# software_kvm: the host's KVM is kvm_pvm (see shared/HOST-KVM.md).
software_kvm() { [ -d /sys/module/kvm_pvm ]; }

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
		"$t"
		case $_status in
		pass) pass=$((pass + 1)); echo "PASS  $t" ;;
		skip) nskip=$((nskip + 1)); echo "SKIP  $t: $_why" ;;
		*)
			nfail=$((nfail + 1))
			echo "FAIL  $t: $_why"
			echo "----- exit status $RC; stdout:"; head -c 4000 <<<"$OUT"; echo
			echo "----- stderr:"; head -c 4000 <<<"$ERR"; echo "-----"
			;;
		esac
	done
	[ "$nskip" -gt 0 ] && echo "NOTE: $nskip test(s) SKIPPED: read the reasons above"
	echo "integration: $pass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ]
}
