#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh: fuzz each harness for FUZZ_SECONDS (what `make fuzz` runs), one at
# a time, each on a scratch copy of its corpus under $O/fuzz/work/<target>
# so the tree's corpus stays as committed; finds go to
# $O/fuzz/artifacts/<target>/ and the log to $O/fuzz/logs/<target>.log.
# Prints executions, exec/s and coverage per harness.
# Usage: O=build FUZZ_SECONDS=60 tests/fuzz/run.sh [TARGET...]
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/fuzz/lib.sh
O=${O:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(fuzz_targets)
found=0
for t in "${targets[@]}"; do
	bin=$O/fuzz/fuzz_$t work=$O/fuzz/work/$t art=$O/fuzz/artifacts/$t log=$O/fuzz/logs/$t.log
	if [ ! -x "$bin" ]; then
		echo "fuzz_$t: not built (make fuzz-bins)"
		found=1
		continue
	fi
	rm -rf "$work"
	mkdir -p "$work" "$art" "$(dirname "$log")"
	cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
	# shellcheck disable=SC2046 # the options are words
	"$bin" $(fuzz_opts "$t") -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" >"$log" 2>&1
	rc=$?
	read -r execs eps cov ft < <(fuzz_stats "$log")
	printf '%-14s %10s execs %8s exec/s  cov %5s  ft %6s  corpus %5s files' "fuzz_$t" \
		"$execs" "$eps" "$cov" "$ft" "$(find "$work" -type f | wc -l)"
	if [ "$rc" -ne 0 ]; then
		found=1
		printf '  FOUND: %s (%s, log %s)\n' "$(fuzz_finding "$log")" "$art" "$log"
	else
		echo
	fi
done
exit $found
