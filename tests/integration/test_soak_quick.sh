#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_soak_quick.sh: the soak's quick mode (tests/soak/soak.sh with
# SOAK_QUICK=1, about half a minute) as a regression check, one test per part:
# 200 boots each of hello.elf and vio.elf (disk, rng, vsock) with nothing left
# behind; 2000 API requests on one ember; 2000 vsock streams each way on
# another. A failed request, boot or stream, a leftover process or file, fds
# or threads above their warm-up level, or RSS growth past the bound fails it.
# `make soak` runs the full sizes.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

# soak_part PART WANT: run one part of the quick soak and check results.json;
# WANT is a python expression over r (the part's result) that must be true.
soak_part() {
	local part=$1 want=$2 dir="$TMP/soak-$1" got
	if ! have_kvm; then
		skip "no usable /dev/kvm on this host: the soak booted nothing, no leak was checked"
		return
	fi
	if ! command -v python3 >/dev/null; then
		skip "python3 is needed for the soak's host side"
		return
	fi
	O=$O EMBER=$EMBER SOAK_QUICK=1 SOAK_PARTS=$part \
		timeout --signal=KILL 300 tests/soak/soak.sh "$dir" >"$TMP/soak.out" 2>"$TMP/soak.err"
	RC=$?
	OUT=$(cat "$TMP/soak.out")
	ERR=$(tail -n 20 "$TMP/soak.err")
	if [ "$RC" = 77 ]; then
		skip "soak.sh: $(tail -n 1 <<<"$OUT")"
		return
	fi
	[ "$RC" = 0 ] || fail "soak $part failed (exit $RC): $(grep -m 1 '^FAIL' <<<"$OUT")"
	got=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["parts"][sys.argv[2]]
print("ok" if r.get("pass") and not r.get("failures") and eval("(" + sys.argv[3] + ")") else "bad")
' "$dir/results.json" "$part" "$want" 2>&1)
	[ "$got" = ok ] || fail "soak $part: results.json does not show a clean run ($got)"
}

test_soak_quick_boots() {
	soak_part boots 'r["boots"] == 400 and r["failed_boots"] == 0 and not r["left_processes"]
and not r["left_files"] and not r["left_tmp"]'
}

test_soak_quick_api() {
	soak_part api 'r["requests"] == 2000 and r["failed_requests"] == 0
and r["samples"]["end"]["fds"] == r["samples"]["warm"]["fds"]
and r["samples"]["end"]["threads"] == r["samples"]["warm"]["threads"]
and (r["rss_bound_kb"] is None or r["rss_growth_kb"] <= r["rss_bound_kb"])'
}

test_soak_quick_vsock() {
	soak_part vsock 'r["host_streams"] == 2000 and r["guest_streams"] == 2000
and r["failed_host_streams"] == 0 and r["failed_guest_streams"] == 0
and all(r["samples"][b + "_end"][k] == r["samples"][b + "_warm"][k]
        for b in ("guest", "host") for k in ("fds", "threads"))
and (r["rss_bound_kb"] is None or max(r["rss_growth_kb"].values()) <= r["rss_bound_kb"])'
}

run_tests "$@"
