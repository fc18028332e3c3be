#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hello.sh: boot hello.elf N times (default 20) and print the median, min and
# max of the guest boot time (ember's --boot-timer line: from the start of the
# VM build, and from process start) and of exec-to-exit wall time.
# Usage: bench/hello.sh [N]      (after `make`; O= selects the build directory)
set -eu
cd "$(dirname "$0")/.."
O=${O:-build}
N=${1:-20}
EMBER=$O/ember
GUEST=$O/guest/hello.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for ((i = 0; i < N; i++)); do
	start=$(date +%s%N)
	"$EMBER" --kernel "$GUEST" --boot-timer -- world >/dev/null 2>"$tmp/err"
	end=$(date +%s%N)
	sed -nE 's/^ember: guest boot time ([0-9]+) us \(([0-9]+) us since exec\)$/\1 \2/p' \
		"$tmp/err" >>"$tmp/boot"
	echo $(((end - start) / 1000)) >>"$tmp/wall"
done

stats() { # stats FILE COLUMN: median min max of a column of integers
	awk -v c="$2" '{print $c}' "$1" | sort -n | awk '
		{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "median %d us, min %d us, max %d us\n", m, v[1], v[NR] }'
}

echo "hello.elf, $N runs, $(nproc) cores, $(uname -r)$([ -d /sys/module/kvm_pvm ] && echo ', kvm_pvm')"
echo "  boot time (VM build -> boot timer): $(stats "$tmp/boot" 1)"
echo "  boot time (exec -> boot timer):     $(stats "$tmp/boot" 2)"
echo "  exec -> exit (wall, incl. fork):    $(stats "$tmp/wall" 1)"
