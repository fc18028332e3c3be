#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh: run every test suite and end with one summary line,
#   "tests: N passed, N failed, N skipped"
# Usage: tests/run.sh UNIT_TEST_BINARY...   (O= selects the build directory;
#        EMBER= the ember binary, EMBER_SUITES= the suites, EMBER_FUZZ=0 no fuzzing)
#
# Stages: the unit test binaries (cmocka), the integration suites
# (tests/integration/test_*.sh), then the fuzz corpus regression
# (tests/fuzz/regress.sh) when it exists and is executable. A stage that
# ends with a failing status but reports no failure counts as one failure.
set -u
cd "$(dirname "$0")/.."
export O=${O:-build}

pass=0 fail=0 skip=0 broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

add_counts() { # add_counts SUITE: read "N passed, N failed, N skipped" from $log's last such line
	local line p f s
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	p=$(sed -nE 's/^(.*[^0-9])?([0-9]+) passed.*/\2/p' <<<"$line")
	f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
}

# cmocka_sum WORD: the sum of cmocka's "[  WORD  ] N test(s)" summary lines
# in $log (one per group: a binary may run several groups). The per-test
# lines ("[  FAILED  ] test_name") have no count and do not match.
cmocka_sum() {
	sed -nE "s/^\[ *$1 *\] ([0-9]+) test\(s\).*/\1/p" "$log" | awk '{ n += $1 } END { print n + 0 }'
}

# run_suite NAME CMD...: one suite whose output ends with the counts line.
run_suite() {
	local name=$1 rc before
	shift
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	before=$fail
	add_counts
	if [ "$rc" -ne 0 ] && [ "$fail" -eq "$before" ]; then
		fail=$((fail + 1)); broken+=("$name (exit $rc)")
	fi
}

# A unit test binary that hangs is stopped and counted as broken.
UNIT_TIMEOUT=${EMBER_UNIT_TIMEOUT:-600}

echo "=== unit tests (cmocka)"
for bin in "$@"; do
	timeout --signal=KILL "$UNIT_TIMEOUT" "$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(cmocka_sum PASSED)
	f=$(cmocka_sum FAILED)
	s=$(cmocka_sum SKIPPED)
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail=$((fail + 1)); broken+=("$bin (exit $rc)")
	fi
done

# EMBER_SUITES: the integration suites to run (default: all); EMBER_FUZZ=0:
# not the fuzz regression (make test-san and test-tsan set both).
for suite in ${EMBER_SUITES:-tests/integration/test_*.sh}; do
	[ -e "$suite" ] || continue # no suites: the pattern itself
	run_suite "$suite" "$suite"
done

if [ "${EMBER_FUZZ:-1}" != 0 ] && [ -x tests/fuzz/regress.sh ]; then
	run_suite tests/fuzz/regress.sh tests/fuzz/regress.sh
fi

# The sanitizer stages (when make built them: EMBER_ASAN, EMBER_TSAN): the
# suites again, against an ASan+UBSan ember and a ThreadSanitizer one, each
# a wrapper adding --no-seccomp. The sanitizers write reports as files in a
# directory of their own (log_path), and a test that leaves one fails
# (lib.sh). Left out: the jailer (a dynamic binary cannot run in its empty
# jail) and the minutes-long Linux boot; tests about the production binary
# itself skip (need_production_build).
SAN_SUITES="test_boot test_virtio test_vsock test_api test_http_robust test_net test_hostile"
SAN_SUITES+=" test_faults test_soak_quick test_snapshot"
TSAN_SUITES="test_boot test_virtio test_vsock test_api test_hostile"
san_stage() { # san_stage NAME WRAPPER SUITES
	local name=$1 wrapper=$2 logs s suite
	[ -n "$wrapper" ] || return 0
	logs=$(mktemp -d "${TMPDIR:-/tmp}/ember-$name.XXXXXX")
	echo "=== $name: reports, if any, in $logs"
	for s in $3; do
		suite=tests/integration/$s.sh
		[ -e "$suite" ] || continue
		run_suite "$name: $suite" env EMBER="$wrapper" EMBER_SANITIZED=1 EMBER_SAN_LOGS="$logs" \
			ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1" \
			UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1" \
			TSAN_OPTIONS="log_path=$logs/tsan:halt_on_error=1:exitcode=66" "$suite"
	done
}
san_stage asan "${EMBER_ASAN:-}" "$SAN_SUITES"
san_stage tsan "${EMBER_TSAN:-}" "$TSAN_SUITES"

for b in "${broken[@]+"${broken[@]}"}"; do echo "BROKEN: $b"; done
[ "$skip" -gt 0 ] && echo "NOTE: $skip test(s) SKIPPED (see SKIP lines above)"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
