#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# longrun.sh: the long fuzzing campaign: each harness in turn until it has
# run FUZZ_RUNS inputs (10 million by default), niced, one fuzzer process at
# a time (libFuzzer's fork mode with one job: a find is saved and the run
# goes on to its count). Meant to be left running:
#
#   nohup tests/fuzz/longrun.sh [TARGET...] >/dev/null 2>&1 &
#
# The binaries are copied out of $O/fuzz first, so rebuilding the tree does
# not change a run under way. Outside the repository:
#   $FUZZ_LOGS/<target>.log     libFuzzer's output      (default /work/fuzzlogs)
#   $FUZZ_LOGS/summary.txt      one line per harness: executions, exec/s, cov, ft, finds
#   $FUZZ_WORK/<target>/        the working corpus, seeded from tests/fuzz/corpus (default /work/fuzzwork)
#   $FUZZ_WORK/artifacts/<target>/  crash-*, timeout-*, leak-*, oom-* inputs
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/fuzz/lib.sh
O=${O:-build}
RUNS=${FUZZ_RUNS:-10000000}
LOGS=${FUZZ_LOGS:-/work/fuzzlogs}
WORK=${FUZZ_WORK:-/work/fuzzwork}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(fuzz_targets)
mkdir -p "$LOGS" "$WORK/bin"
for t in "${targets[@]}"; do
	cp "$O/fuzz/fuzz_$t" "$WORK/bin/" || exit 1
done
tree=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- monitor virtio || tree+=" with uncommitted changes in monitor/ or virtio/"
echo "$(date -Is) start: ${targets[*]}, $RUNS runs each, tree $tree" >>"$LOGS/summary.txt"

for t in "${targets[@]}"; do
	mkdir -p "$WORK/$t" "$WORK/artifacts/$t"
	cp -n tests/fuzz/corpus/"$t"/* "$WORK/$t"/ 2>/dev/null
	start=$(date +%s)
	# shellcheck disable=SC2046 # the options are words
	nice -n 10 "$WORK/bin/fuzz_$t" $(fuzz_opts "$t") -fork=1 -ignore_crashes=1 \
		-ignore_timeouts=1 -ignore_ooms=1 -runs="$RUNS" \
		-artifact_prefix="$WORK/artifacts/$t/" "$WORK/$t" >"$LOGS/$t.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	read -r execs eps cov ft < <(fuzz_stats "$LOGS/$t.log")
	# Fork mode counts coverage its own way: replay the corpus for the usual cov and ft.
	# shellcheck disable=SC2046
	nice -n 10 "$WORK/bin/fuzz_$t" $(fuzz_opts "$t") -runs=0 "$WORK/$t" >"$LOGS/$t.replay.log" 2>&1
	read -r _ _ rcov rft < <(fuzz_stats "$LOGS/$t.replay.log")
	printf '%s fuzz_%s: %s executions in %s s (%s exec/s overall, %s in the last job), cov %s ft %s (fork mode; corpus replay: cov %s ft %s), corpus %s, finds %s, exit %s\n' \
		"$(date -Is)" "$t" "$execs" "$secs" "$((execs / (secs > 0 ? secs : 1)))" "$eps" \
		"$cov" "$ft" "$rcov" "$rft" "$(find "$WORK/$t" -type f | wc -l)" \
		"$(find "$WORK/artifacts/$t" -type f | wc -l)" "$rc" >>"$LOGS/summary.txt"
done
echo "$(date -Is) done" >>"$LOGS/summary.txt"
