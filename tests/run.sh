#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh: run every test suite and end with one summary line,
#   "tests: N passed, N failed, N skipped"
# Usage: tests/run.sh UNIT_TEST_BINARY...   (O= selects the build directory)
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

echo "=== unit tests (cmocka)"
for bin in "$@"; do
	"$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' "$log" | tail -n 1)
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		fail=$((fail + 1)); broken+=("$bin (exit $rc)")
	fi
done

for suite in tests/integration/test_*.sh; do
	echo "=== $suite"
	"$suite" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	before=$fail
	add_counts
	if [ "$rc" -ne 0 ] && [ "$fail" -eq "$before" ]; then
		fail=$((fail + 1)); broken+=("$suite (exit $rc)")
	fi
done

for b in "${broken[@]+"${broken[@]}"}"; do echo "BROKEN: $b"; done
[ "$skip" -gt 0 ] && echo "NOTE: $skip test(s) SKIPPED (see SKIP lines above)"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
