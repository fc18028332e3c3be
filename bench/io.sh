#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# io.sh OUT: stage 5 of `make bench` (run by bench/run.sh, which exports O,
# QUICK, RUNNER, QEMU and qemu_cmd). The same transfers three ways,
# interleaved round by round:
#   ember  the I/O guest (bench/iobench.c) with --disk and --net
#   qemu   the same guest file on QEMU microvm with virtio-mmio blk and net
#          (QEMU appends its virtio_mmio.device= entries to the command
#          line; the runtime reads them)
#   host   bench/iohost.c doing the same transfers as a host process
#   ember-uring, qemu-uring  the block transfers again with each monitor's
#          io_uring engine (ember --disk ...,engine=io_uring; QEMU aio=io_uring)
# Block: a raw image on /dev/shm (tmpfs: page cache only, no device under
# it, so the numbers are the I/O path's, not a disk's), the same words for
# every run. Net: a tap in a network namespace made here (the host's own
# networking is never touched) and a host process counting the frames on a
# packet socket. Writes OUT/io.csv, OUT/io-costs.csv, OUT/io-logs/ and, when
# something is not measured, OUT/io.skipped. Exits 1 only when a run did not
# boot, did not finish or reported a device error; never on a timing.
set -euo pipefail
OUT=$1
IOHOST=$O/bench/iohost
GUEST=$O/bench/iobench.elf
QD_MAX=5 # the runtime's queues hold 16 descriptors, a block request takes 3

if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=2 DISK_MIB=64 SEQ_MIB=64 RAND_OPS=1000 FRAMES=2000
else
	ROUNDS=10 DISK_MIB=256 SEQ_MIB=256 RAND_OPS=4000 FRAMES=10000
fi
# Test labels, in the order the words below produce result lines.
BLK_WORDS="qd=1 seqread=$SEQ_MIB seqwrite=$SEQ_MIB randread=$RAND_OPS"
BLK_WORDS+=" qd=$QD_MAX seqread=$SEQ_MIB seqwrite=$SEQ_MIB randread=$RAND_OPS"
BLK_LABELS="seqread-qd1 seqwrite-qd1 randread-qd1 seqread-qd$QD_MAX seqwrite-qd$QD_MAX randread-qd$QD_MAX"
NET_WORDS="nettx=1514,$FRAMES nettx=60,$FRAMES"
NET_LABELS="nettx-1514 nettx-60"
MAC=02:00:00:be:00:02
RUN_TIMEOUT=120 # seconds, per run: a hung run fails, a slow one does not
SINK_WAIT=50    # x 0.1 s for the sink to bind

LOGS=$OUT/io-logs
mkdir -p "$LOGS"
TMPD=$(mktemp -d /dev/shm/ember-bench-io.XXXXXX)
IMG=$TMPD/disk.img
NS=
SINK=
cleanup() {
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null && wait "$SINK" 2>/dev/null
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Every page of the image exists before the first run (tmpfs holes read
# differently from data).
dd if=/dev/zero of="$IMG" bs=1M count="$DISK_MIB" status=none

# ------------------------------------------------------------ network
NET=0
if [ "$(id -u)" != 0 ]; then
	echo "net: not root (a tap needs root)" >>"$OUT/io.skipped"
elif [ ! -c /dev/net/tun ]; then
	echo "net: no /dev/net/tun" >>"$OUT/io.skipped"
else
	NS=ember-bench-io-$$
	TAP=embio$((($$ % 200) + 20))
	if ip netns add "$NS" && ip netns exec "$NS" ip link set lo up &&
		ip netns exec "$NS" ip tuntap add dev "$TAP" mode tap &&
		ip netns exec "$NS" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$TAP/disable_ipv6" &&
		ip netns exec "$NS" ip link set "$TAP" up; then
		NET=1
	else
		echo "net: could not make a tap in a network namespace" >>"$OUT/io.skipped"
		ip netns del "$NS" 2>/dev/null || true
		NS=
	fi
fi
# IN_NS: the prefix that runs a command inside the namespace (exec'ing it).
IN_NS=()
[ $NET = 1 ] && IN_NS=(ip netns exec "$NS")

TSC_KHZ=$("$IOHOST" tsc)
LABELS=$BLK_LABELS
GWORDS="tsc_khz=$TSC_KHZ costs $BLK_WORDS"
if [ $NET = 1 ]; then
	LABELS="$LABELS $NET_LABELS"
	GWORDS="$GWORDS $NET_WORDS"
fi
EMBER_CMD=("$O/ember" --kernel "$GUEST" --disk "$IMG")
[ $NET = 1 ] && EMBER_CMD+=(--net "$TAP,mac=$MAC")
# shellcheck disable=SC2206 # a word list, split on purpose
EMBER_CMD+=(-- $GWORDS)
# shellcheck disable=SC2086 # a word list, split on purpose
IFS=$'\t' read -r -a QEMU_CMD <<<"$(qemu_cmd 128 1 "$GUEST" -- $GWORDS)"
# virtio-mmio in QEMU is legacy (version 1) unless told otherwise; the
# runtime drives version 2 only, as ember offers it.
QEMU_CMD+=(-global "virtio-mmio.force-legacy=false")
QEMU_CMD+=(-drive "file=$IMG,format=raw,if=none,id=d0" -device "virtio-blk-device,drive=d0")
[ $NET = 1 ] && QEMU_CMD+=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no"
	-device "virtio-net-device,netdev=n0,mac=$MAC")
# The io_uring engines: block words only.
UWORDS="tsc_khz=$TSC_KHZ $BLK_WORDS"
# shellcheck disable=SC2206 # a word list, split on purpose
URING_CMD=("$O/ember" --kernel "$GUEST" --disk "$IMG,engine=io_uring" -- $UWORDS)
# shellcheck disable=SC2086 # a word list, split on purpose
IFS=$'\t' read -r -a QEMU_URING_CMD <<<"$(qemu_cmd 128 1 "$GUEST" -- $UWORDS)"
QEMU_URING_CMD+=(-global "virtio-mmio.force-legacy=false")
QEMU_URING_CMD+=(-drive "file=$IMG,format=raw,if=none,id=d0,aio=io_uring" -device "virtio-blk-device,drive=d0")
{
	printf 'ember\t%s\n' "${EMBER_CMD[*]}"
	printf 'qemu\t%s\n' "${QEMU_CMD[*]}"
	printf 'ember-uring\t%s\n' "${URING_CMD[*]}"
	printf 'qemu-uring\t%s\n' "${QEMU_URING_CMD[*]}"
	printf 'host\t%s blk %s %s\n' "$IOHOST" "$IMG" "$BLK_WORDS"
	[ $NET = 1 ] && printf 'host\t%s tx %s %s\n' "$IOHOST" "$TAP" "$NET_WORDS"
	[ $NET = 1 ] && printf 'sink\t%s sink %s (in netns %s)\n' "$IOHOST" "$TAP" "$NS"
} >"$OUT/io.spec"

sink_start() { # sink_start LOG
	"${IN_NS[@]}" "$IOHOST" sink "$TAP" >"$1" 2>&1 &
	SINK=$!
	for ((i = 0; i < SINK_WAIT; i++)); do
		grep -q "sink ready" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "    sink did not start: $(cat "$1")" >&2
	return 1
}
sink_stop() {
	kill -TERM "$SINK" 2>/dev/null || true
	wait "$SINK" 2>/dev/null || true
	SINK=
}

# tocsv ROUND NAME LOG LABELS: the result lines of one run as CSV rows.
tocsv() {
	awk -v round="$1" -v name="$2" -v labels="$4" -v costs="$OUT/io-costs.csv" '
	function kv(i, a) { for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] } }
	BEGIN { n = split(labels, lab, " ") }
	/^iobench: sink / { delete v; kv(); sf[v["size"]] = v["frames"]; sn[v["size"]] = v["ns"]; sd[v["size"]] = v["drops"]; next }
	/^iobench: test=costs / { delete v; kv()
		printf "%s,%s,%s,%s,%s,%s\n", round, name, v["tsc_ns"], v["mmio_read_ns"], v["notify_ns"], v["insn_ps"] >>costs; next }
	/^iobench: test=/ { delete v; kv(); k++
		t[k] = v["test"]; q[k] = v["qd"]; sz[k] = (v["test"] == "nettx") ? v["size"] : v["bs"]
		ops[k] = (v["test"] == "nettx") ? v["frames"] : v["ops"]; by[k] = v["bytes"]; ns[k] = v["ns"] }
	END { for (i = 1; i <= k; i++) {
		s = (t[i] == "nettx") ? sz[i] : ""
		printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", round, name, (i <= n ? lab[i] : "?"), t[i], sz[i], q[i],
			ops[i], by[i], ns[i], (s != "" ? sf[s] + 0 : ""), (s != "" ? sn[s] + 0 : ""), (s != "" ? sd[s] + 0 : "") } }
	' "$3" >>"$OUT/io.csv"
}

# run_one ROUND NAME: one run, its log in io-logs/, its rows in io.csv.
run_one() {
	local round=$1 name=$2 log=$LOGS/$2-$1.log rc=0 expect=0 ok=1 want labels=$LABELS net=$NET
	: >"$log"
	case $name in *-uring) labels=$BLK_LABELS net=0 ;; esac
	[ $net = 1 ] && { sink_start "$TMPD/sink.txt" || ok=0; }
	case $name in
	ember) timeout "$RUN_TIMEOUT" "${IN_NS[@]}" "${EMBER_CMD[@]}" >>"$log" 2>&1 || rc=$? ;;
	qemu)
		expect=1 # QEMU exits 2N+1 for the guest's status N on isa-debug-exit
		timeout "$RUN_TIMEOUT" "${IN_NS[@]}" "${QEMU_CMD[@]}" </dev/null >>"$log" 2>&1 || rc=$?
		;;
	ember-uring)
		timeout "$RUN_TIMEOUT" "${URING_CMD[@]}" >>"$log" 2>&1 || rc=$?
		if grep -q "io_uring unavailable" "$log"; then
			# ember fell back to its sync engine: these would not be io_uring rows.
			grep -qs "^io_uring:" "$OUT/io.skipped" ||
				echo "io_uring: not available on this host (ember fell back to its sync engine)" >>"$OUT/io.skipped"
			return 0
		fi
		;;
	qemu-uring)
		expect=1
		timeout "$RUN_TIMEOUT" "${QEMU_URING_CMD[@]}" </dev/null >>"$log" 2>&1 || rc=$?
		;;
	host)
		timeout "$RUN_TIMEOUT" "$IOHOST" blk "$IMG" $BLK_WORDS >>"$log" 2>&1 || rc=$?
		if [ $NET = 1 ] && [ $rc = 0 ]; then
			timeout "$RUN_TIMEOUT" "${IN_NS[@]}" "$IOHOST" tx "$TAP" $NET_WORDS >>"$log" 2>&1 || rc=$?
		fi
		;;
	esac
	if [ $net = 1 ]; then
		sink_stop
		cat "$TMPD/sink.txt" >>"$log"
	fi
	want=$(wc -w <<<"$labels")
	if [ $rc != $expect ] || grep -q "^iobench: error" "$log" ||
		[ "$(grep -c '^iobench: test=[a-z]*read\|^iobench: test=seqwrite\|^iobench: test=nettx' "$log")" != "$want" ]; then
		ok=0
	fi
	if [ $net = 1 ] && [ $ok = 1 ]; then
		# The frames must reach the host process (how many is a result).
		for size in 1514 60; do
			grep -q "^iobench: sink size=$size frames=[1-9]" "$log" || ok=0
		done
	fi
	tocsv "$round" "$name" "$log" "$labels"
	if [ $ok = 0 ]; then
		echo "    I/O $name round $round FAILED (status $rc, want $expect): see $log" >&2
		return 1
	fi
}

echo "round,name,label,test,size,qd,ops,bytes,ns,sink_frames,sink_ns,sink_drops" >"$OUT/io.csv"
echo "round,name,tsc_ns,mmio_read_ns,notify_ns,insn_ps" >"$OUT/io-costs.csv"
echo "    disk ${DISK_MIB} MiB on tmpfs; $ROUNDS rounds of: $BLK_WORDS$([ $NET = 1 ] && echo " $NET_WORDS")"
fail=0
for ((r = 1; r <= ROUNDS; r++)); do
	for name in ember qemu host ember-uring qemu-uring; do
		run_one "$r" "$name" || fail=1
	done
done
exit $fail
