# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# lib.sh: what run.sh, regress.sh and longrun.sh share (sourced, from the repository root).

# fuzz_targets: every harness, tests/fuzz/fuzz_<target>.c, without the shared files.
fuzz_targets() {
	local f t
	for f in tests/fuzz/fuzz_*.c; do
		t=${f#tests/fuzz/fuzz_}
		t=${t%.c}
		case $t in util | log | virtio | api) continue ;; esac
		echo "$t"
	done
}

# fuzz_opts TARGET: libFuzzer options every run of TARGET uses.
#  -timeout: an input that takes 10 s is a hang (they take milliseconds).
#  -rss_limit_mb: ASan's quarantine and the guest RAM fit well below.
#  -max_len: kernel images and HTTP sessions need more than the 4 KiB default.
#  -dict: the JSON keys and HTTP words ember knows (tests/fuzz/dict/, from mkseeds.py):
#   jansson looks keys up by hash, so the fuzzer cannot learn them from comparisons.
fuzz_opts() {
	local opts="-timeout=10 -rss_limit_mb=2048"
	case $1 in
	loader) opts+=" -max_len=16384" ;;
	http) opts+=" -max_len=8192 -dict=tests/fuzz/dict/http.dict" ;;
	config_file) opts+=" -max_len=8192 -dict=tests/fuzz/dict/json.dict" ;;
	api_body) opts+=" -dict=tests/fuzz/dict/json.dict" ;;
	virtio_* | mmds) opts+=" -max_len=8192" ;;
	esac
	echo "$opts"
}

# fuzz_stats LOG: "EXECS EXEC_PER_S COV FT" from a libFuzzer log (normal or fork mode).
fuzz_stats() {
	local last execs eps cov ft
	last=$(grep -E '^#[0-9]+:?[[:space:]].*cov: ' "$1" | tail -n 1)
	execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
	cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
	ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
	eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$1" | tail -n 1)
	[ -z "$eps" ] && eps=$(sed -nE 's/.* exec\/s:? ([0-9]+).*/\1/p' <<<"$last")
	echo "${execs:-0} ${eps:-0} ${cov:-0} ${ft:-0}"
}

# fuzz_finding LOG: one line saying what libFuzzer stopped for, empty when nothing.
fuzz_finding() {
	grep -m1 -E '^==[0-9]+==ERROR|^==FUZZ CHECK FAILED==|^SUMMARY: |ERROR: libFuzzer' "$1" |
		sed -E 's/^==[0-9]+==//' | cut -c1-200
}
