#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# regress.sh: the fuzzers' regression check (make test): each harness runs
# every file of its committed corpus (the seeds and the crash-* reproducers
# of bugs fixed), then fuzzes for FUZZ_REGRESS_SECONDS (default 6) on a
# scratch copy. About a minute in all. One line per harness, then
#   fuzz: N passed, N failed, N skipped
# What a short run finds is kept in $O/fuzz/regress/<target>/ to reproduce:
#   $O/fuzz/fuzz_<target> $O/fuzz/regress/<target>/crash-...
# Usage: O=build tests/fuzz/regress.sh [TARGET...]   (after make fuzz-bins)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/fuzz/lib.sh
O=${O:-build}
SECONDS_EACH=${FUZZ_REGRESS_SECONDS:-6}

# have_libfuzzer: clang and its libFuzzer runtime (Debian's libclang-rt-14-dev) are installed.
have_libfuzzer() {
	command -v clang >/dev/null &&
		[ -e "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ]
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(fuzz_targets)
pass=0 nfail=0 nskip=0
for t in "${targets[@]}"; do
	bin=$O/fuzz/fuzz_$t dir=$O/fuzz/regress/$t
	if [ ! -x "$bin" ]; then
		if have_libfuzzer; then
			nfail=$((nfail + 1)); echo "FAIL  fuzz_$t: not built (make fuzz-bins)"
		else
			nskip=$((nskip + 1)); echo "SKIP  fuzz_$t: clang or libFuzzer missing (make deps)"
		fi
		continue
	fi
	rm -rf "$dir"
	mkdir -p "$dir/corpus"
	# shellcheck disable=SC2046 # the options are words
	if ! "$bin" $(fuzz_opts "$t") -runs=0 tests/fuzz/corpus/"$t" >"$dir/corpus.log" 2>&1; then
		nfail=$((nfail + 1))
		echo "FAIL  fuzz_$t: its corpus: $(fuzz_finding "$dir/corpus.log") (log $dir/corpus.log)"
		continue
	fi
	# shellcheck disable=SC2046
	if ! "$bin" $(fuzz_opts "$t") -max_total_time="$SECONDS_EACH" -artifact_prefix="$dir/" \
		"$dir/corpus" tests/fuzz/corpus/"$t" >"$dir/fuzz.log" 2>&1; then
		nfail=$((nfail + 1))
		echo "FAIL  fuzz_$t: fuzzing found: $(fuzz_finding "$dir/fuzz.log")" \
			"(input in $dir/, log $dir/fuzz.log)"
		continue
	fi
	pass=$((pass + 1))
	echo "PASS  fuzz_$t"
done
[ "$nskip" -gt 0 ] && echo "NOTE: $nskip fuzzer(s) SKIPPED: read the reasons above"
echo "fuzz: $pass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
