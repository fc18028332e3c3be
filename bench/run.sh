#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh: `make bench`. Measures ember side by side with QEMU microvm and the
# floor program (bench/floor.c), interleaved, and writes
# bench/results/<date>-<host>[-quick]/: raw CSV, report.md, PNG plots.
# QUICK=1: about a minute; default: about ten. Runs after `make all bench-bins`.
# A timing never fails it; a microVM that did not boot (or exit as expected) does.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
QUICK=${QUICK:-0}
PY=/usr/bin/python3
RUNNER=$O/bench/runner
export RUNNER

# ------------------------------------------------------------ what it needs
need=()
[ -x "$PY" ] && "$PY" -c 'import matplotlib' 2>/dev/null || need+=(python3 python3-matplotlib)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}"
	[ "$(id -u)" = 0 ] || { echo "bench: need root to install ${need[*]}" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null
fi
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "bench: /dev/kvm is not usable: nothing to measure" >&2; exit 1; }
QEMU=$(command -v qemu-system-x86_64)

if [ "$QUICK" = 1 ]; then
	R_TRACE=10 R_BOOT=30 R_FOOT=1 R_B2B=200 N_EMBER="10 100" N_QEMU="10" R_LINUX=1
	R_SNAP=50 R_COLD=3 N_CLONES="10 100" R_QSNAP=10
	tag=-quick
else
	R_TRACE=60 R_BOOT=300 R_FOOT=3 R_B2B=1000 N_EMBER="10 100 1000" N_QEMU="10 100 1000" R_LINUX=3
	R_SNAP=300 R_COLD=10 N_CLONES="10 100 1000" R_QSNAP=30
	tag=
fi
OUT=bench/results/$(date +%Y%m%d-%H%M%S)-$(hostname -s)$tag
mkdir -p "$OUT"
SOFT_KVM=0
[ -d /sys/module/kvm_pvm ] && SOFT_KVM=1

# ------------------------------------------------------------ the machine
{
	echo "date=$(date -Is)"
	echo "host=$(hostname -s)"
	echo "kernel=$(uname -r)"
	echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
	echo "cores=$(nproc)"
	echo "mem_gib=$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)"
	echo "kvm=$([ $SOFT_KVM = 1 ] && echo 'kvm_pvm (software, no VMX/SVM)' || echo hardware)"
	echo "qemu=$("$QEMU" --version | head -1)"
	echo "ember=$(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "ember_size=$(stat -c %s "$O/ember")"
	echo "qemu_size=$(stat -c %s "$QEMU")"
	echo "qemu_libs=$(ldd "$QEMU" | grep -c '=>')"
	echo "floor_size=$(stat -c %s "$O/bench/floor")"
	echo "quick=$QUICK"
} >"$OUT/machine.txt"

# ------------------------------------------------------------ the commands
# The QEMU command line: the fastest that boots the same PVH file here (see
# bench/README-section.md). -cpu host alone aborts on kvm_pvm (MSR 0x10a).
QEMU_M=microvm,x-option-roms=off,rtc=off,pit=off,pic=off,isa-serial=on,acpi=off
qemu_cmd() { # qemu_cmd MEM VCPUS KERNEL APPEND...
	local mem=$1 cpus=$2 kernel=$3
	shift 3
	printf '%s\t' "$QEMU" -M "$QEMU_M" -accel kvm,kernel-irqchip=split -cpu host,-arch-capabilities \
		-m "$mem" -smp "$cpus" -nodefaults -no-user-config -nographic -no-reboot \
		-serial stdio -kernel "$kernel" -append "$*" -device isa-debug-exit,iobase=0xf4,iosize=1
}
ember_cmd() { # ember_cmd ARGS...
	printf '%s\t' "$O/ember" "$@"
}
line() { # line NAME EXPECT MARKER CMD...: one spec line (TAB separated)
	local name=$1 expect=$2 marker=$3
	shift 3
	printf '%s\t%s\t%s\t%s\n' "$name" "$expect" "$marker" "$(printf '%s' "$*" | sed 's/\t$//')"
}
HELLO=$O/guest/hello.elf
PROBE=$O/tests/guests
IDLE=$O/bench/idle.elf
FLOOR="$O/bench/floor	-t"

{
	line floor 0 - "$FLOOR"
	line ember 0 hello "$(ember_cmd --kernel "$HELLO" --boot-timer -- world)"
	line qemu 1 hello "$(qemu_cmd 128 1 "$HELLO" -- world)"
} >"$OUT/startup.spec"

{
	cat "$OUT/startup.spec"
	line ember-linux64 0 hello "$(ember_cmd --kernel "$HELLO" --boot-entry linux64 --boot-timer -- world)"
	line ember-probe-pvh 0 'probe: done' "$(ember_cmd --kernel "$PROBE/probe.elf" --boot-timer -- timer)"
	line qemu-probe-pvh 1 'probe: done' "$(qemu_cmd 128 1 "$PROBE/probe.elf" -- timer)"
	line ember-probe-bzimage 0 'probe: done' "$(ember_cmd --kernel "$PROBE/probe.bzImage" --boot-timer -- timer)"
	line ember-4vcpu 0 hello "$(ember_cmd --kernel "$HELLO" --vcpus 4 --boot-timer -- world)"
	line qemu-4vcpu 1 hello "$(qemu_cmd 128 4 "$HELLO" -- world)"
	line ember-smp4 0 'cpus=4' "$(ember_cmd --kernel "$PROBE/probe.elf" --vcpus 4 --boot-timer -- smp timer)"
	line qemu-smp4 1 'cpus=4' "$(qemu_cmd 128 4 "$PROBE/probe.elf" -- smp timer)"
	line ember-4g 0 hello "$(ember_cmd --kernel "$HELLO" --mem 4096 --boot-timer -- world)"
	line qemu-4g 1 hello "$(qemu_cmd 4096 1 "$HELLO" -- world)"
} >"$OUT/boot.spec"

# ------------------------------------------------------------ run
t_start=$(date +%s)
stage() { echo "bench: [$(($(date +%s) - t_start))s] $*"; }
fail=0

stage "1/6 start-up: exec -> first KVM_RUN, traced (tracefs), $R_TRACE rounds x 3"
"$PY" bench/ktrace.py -r "$R_TRACE" -o "$OUT/startup.csv" "$OUT/startup.spec" || fail=1

# ember prints "ember: startup ..." (its own exec -> first KVM_RUN stamps);
# the runner keeps the line and the report shows its medians.
export EMBER_TRACE_STARTUP=1
stage "2/6 boot: $R_BOOT rounds x $(wc -l <"$OUT/boot.spec") configs, interleaved"
"$RUNNER" seq -r "$R_BOOT" -T 10 -o "$OUT/boot.csv" "$OUT/boot.spec" || fail=1

if [ $SOFT_KVM = 0 ] && [ -f "$O/guest/vmlinux" ] && [ -f "$O/guest/initrd.cpio" ]; then
	stage "2b/6 boot: Linux guest, $R_LINUX rounds"
	LCMD="console=ttyS0 reboot=k panic=-1 pci=off nomodule quiet -- /bin/sh -c exit"
	{
		line ember-linux 0 - "$(ember_cmd --kernel "$O/guest/vmlinux" --initrd "$O/guest/initrd.cpio" \
			--boot-timer -- /bin/sh -c exit)"
		line qemu-linux 1 - "$(qemu_cmd 128 1 "$O/guest/bzImage" "$LCMD" | sed "s|\t-kernel|\t-initrd\t$O/guest/initrd.cpio\t-kernel|")"
	} >"$OUT/linux.spec"
	"$RUNNER" seq -r "$R_LINUX" -T 300 -o "$OUT/linux.csv" "$OUT/linux.spec" || fail=1
else
	echo "skipped: software KVM" >"$OUT/linux.skipped"
	stage "2b/6 boot: Linux guest skipped: software KVM (kvm_pvm)"
fi

stage "3/6 footprint: one idle microVM (128 MiB) per monitor, $R_FOOT rounds"
for ((r = 0; r < R_FOOT; r++)); do
	"$RUNNER" burst -n 1 -H 500 -m 128 -s "$OUT/footprint.csv" ember -- \
		"$O/ember" --kernel "$IDLE" || fail=1
	IFS=$'\t' read -r -a q <<<"$(qemu_cmd 128 1 "$IDLE" -- idle)"
	"$RUNNER" burst -n 1 -H 500 -m 128 -s "$OUT/footprint.csv" qemu -- "${q[@]}" || fail=1
done

stage "4/6 launch rate: $R_B2B back to back per monitor, interleaved"
"$RUNNER" seq -r "$R_B2B" -T 60 -o "$OUT/b2b.csv" "$OUT/startup.spec" || fail=1

stage "4/6 density: N at once (ember: $N_EMBER; qemu: $N_QEMU), 1 vCPU, 128 MiB, idle until SIGTERM"
avail_kb() { awk '/MemAvailable/ {print $2}' /proc/meminfo; }
per_vm_kb() { # per_vm_kb NAME: host memory per microVM at the largest N so far
	awk -F, -v n="$1" 'NR > 1 && $1 == n && $2 >= 10 {v = int($9 / $2)} END {print v + 0}' "$OUT/density.csv" 2>/dev/null || echo 0
}
for mon in ember qemu; do
	[ $mon = ember ] && list=$N_EMBER || list=$N_QEMU
	for n in $list; do
		per=$(per_vm_kb $mon)
		need=$((per * n))
		if [ "$per" -gt 0 ] && [ $need -gt $(($(avail_kb) * 6 / 10)) ]; then
			echo "$mon,$n,$need,$(avail_kb)" >>"$OUT/density.skipped"
			echo "    $mon: $n at once skipped: would need $((need / 1024)) MiB, over 60% of MemAvailable"
			continue
		fi
		if [ $mon = ember ]; then
			cmd=("$O/ember" --kernel "$IDLE")
		else
			IFS=$'\t' read -r -a cmd <<<"$(qemu_cmd 128 1 "$IDLE" -- idle)"
		fi
		"$RUNNER" burst -n "$n" -T 300 -H 500 -m 128 -o "$OUT/density-vms.csv" \
			-s "$OUT/density.csv" $mon -- "${cmd[@]}" || fail=1
		sleep 1
	done
done

stage "5/6 snapshots: a warm guest (300 ms of work, 16 MiB written) restored ($R_SNAP rounds) and booted cold ($R_COLD); clones ($N_CLONES)"
SNAPD=$OUT/snapshot-files
mkdir -p "$SNAPD"
WARM=$O/bench/warm.elf
WARM_ARGS=(work=300 touch=16384)
# The templates: booted once, snapshotted by ember when the guest signals the boot timer.
for t in warm idle; do
	extra=(wait)
	[ $t = idle ] && extra=(wait idle)
	"$O/ember" --kernel "$WARM" --level Info --snapshot-when-ready "$SNAPD/$t.snap" \
		--mem-file "$SNAPD/$t.mem" -- "${WARM_ARGS[@]}" "${extra[@]}" </dev/null >/dev/null \
		2>"$SNAPD/$t.create.log" || { echo "bench: the $t template failed: $(cat "$SNAPD/$t.create.log")" >&2; fail=1; }
	{
		echo "template=$t"
		sed -nE 's/.*snapshot: .* \(([0-9]+) bytes\) and .* \(([0-9]+) of ([0-9]+) bytes written\) in ([0-9]+) us/state_bytes=\1\nmem_written=\2\nmem_bytes=\3\ncreate_us=\4/p' "$SNAPD/$t.create.log"
		echo "mem_disk_kb=$(du -k "$SNAPD/$t.mem" | cut -f1)"
	} >"$OUT/snapshot-$t.txt"
done
# The restore server: clones by fork, each request served by a warm clone
# made after the one before (monitor/restore_server.h).
SERVER_SOCK=$SNAPD/restore.sock
rm -f "$SERVER_SOCK"
EMBER_TRACE_STARTUP=1 "$O/ember" --restore-server "$SERVER_SOCK" --prewarm "$SNAPD/warm.snap,$SNAPD/warm.mem" \
	--prewarm "$SNAPD/idle.snap,$SNAPD/idle.mem" 2>"$SNAPD/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -S "$SERVER_SOCK" ] && break; sleep 0.02; done
{
	line floor 0 - "$FLOOR"
	line ember-restore 0 ready "$(ember_cmd --restore "$SNAPD/warm.snap" --mem-file "$SNAPD/warm.mem")"
	printf 'ember-clone\t0\tready\t@clone\t%s\t%s\t%s\n' "$SERVER_SOCK" "$SNAPD/warm.snap" "$SNAPD/warm.mem"
} >"$OUT/snapshot.spec"
"$RUNNER" seq -r "$R_SNAP" -T 30 -o "$OUT/snapshot.csv" "$OUT/snapshot.spec" || fail=1
# QEMU's own save (a migration to a file) and restore of the same guest,
# which beats rather than waits: QEMU has no generation page.
IFS=$'\t' read -r -a qwarm <<<"$(qemu_cmd 128 1 "$WARM" -- "${WARM_ARGS[@]}" beat)"
if "$PY" bench/qemu_snap.py save "$SNAPD/qemu.state" "$OUT/snapshot-qemu.txt" -- "${qwarm[@]}"; then
	"$PY" bench/qemu_snap.py restore "$R_QSNAP" "$OUT/snapshot-qemu.csv" "$SNAPD/qemu.state" \
		-- "${qwarm[@]}" || fail=1
else
	echo "bench: QEMU's save of the warm guest failed" >&2
	fail=1
fi
rm -f "$SNAPD/qemu.state"
# The cold boot, fewer rounds: it is the slow thing a restore saves (seconds here).
line ember-cold 0 ready "$(ember_cmd --kernel "$WARM" -- "${WARM_ARGS[@]}")" >"$OUT/snapshot-cold.spec"
"$RUNNER" seq -r "$R_COLD" -T 120 -o "$OUT/snapshot-cold.csv" "$OUT/snapshot-cold.spec" || fail=1
# children_cpu PID: the CPU ticks PID's children have used so far.
children_cpu() { pgrep -P "$1" | sed 's|.*|/proc/&/stat|' | xargs -r cat 2>/dev/null | awk '{t += $14 + $15} END {print t + 0}'; }
# pool_burst N: a server of its own keeps a pool of N warm clones of the
# idle template (--prewarm SNAP,MEM,N); once all are made and done
# restoring (their CPU time stops growing), N requests at once only
# resume them: the restores were paid before the burst.
pool_burst() {
	local n=$1 sock=$SNAPD/pool.sock pid t c0 c1
	rm -f "$sock"
	"$O/ember" --restore-server "$sock" --prewarm "$SNAPD/idle.snap,$SNAPD/idle.mem,$n" 2>"$SNAPD/pool.log" &
	pid=$!
	for t in $(seq 600); do [ "$(pgrep -P $pid | wc -l)" -ge "$n" ] && break; sleep 0.1; done
	c1=$(children_cpu $pid)
	for t in $(seq 300); do
		c0=$c1
		sleep 0.2
		c1=$(children_cpu $pid)
		[ "$c1" = "$c0" ] && break
	done
	"$RUNNER" burst -n "$n" -T 300 -H 500 -m 128 -o "$OUT/clones-vms.csv" -s "$OUT/clones.csv" \
		ember-pool -- @clone "$sock" "$SNAPD/idle.snap" "$SNAPD/idle.mem"
	local rc=$?
	kill -TERM $pid 2>/dev/null
	wait $pid 2>/dev/null
	return $rc
}
for n in $N_CLONES; do
	"$RUNNER" burst -n "$n" -T 300 -H 500 -m 128 -o "$OUT/clones-vms.csv" -s "$OUT/clones.csv" \
		ember-restore -- "$O/ember" --restore "$SNAPD/idle.snap" --mem-file "$SNAPD/idle.mem" || fail=1
	sleep 1
	"$RUNNER" burst -n "$n" -T 300 -H 500 -m 128 -o "$OUT/clones-vms.csv" -s "$OUT/clones.csv" \
		ember-clone -- @clone "$SERVER_SOCK" "$SNAPD/idle.snap" "$SNAPD/idle.mem" || fail=1
	sleep 1
	pool_burst "$n" || fail=1
	sleep 1
done
# CLONES_MAX=N: N more at once, of the same guest made a 32 MiB template
# (KVM's bookkeeping per clone grows with guest RAM), through the server:
# as many as the machine holds. Each clone is two threads, so
# kernel.pid_max is raised for the run when it is lower than that needs,
# said in clones-max.txt, and put back after.
if [ -n "${CLONES_MAX:-}" ]; then
	MAX_MIB=32 PID_ROOM=3 # a clone's two threads, and room for the rest of the machine
	"$O/ember" --kernel "$WARM" --mem $MAX_MIB --level Info --snapshot-when-ready "$SNAPD/idle$MAX_MIB.snap" \
		--mem-file "$SNAPD/idle$MAX_MIB.mem" -- "${WARM_ARGS[@]}" wait idle </dev/null >/dev/null \
		2>"$SNAPD/idle$MAX_MIB.create.log" || { echo "bench: the $MAX_MIB MiB template failed" >&2; fail=1; }
	old_pid_max=$(cat /proc/sys/kernel/pid_max)
	want=$((CLONES_MAX * PID_ROOM + 32768))
	{
		echo "n=$CLONES_MAX"
		echo "guest_mib=$MAX_MIB"
		echo "memavailable_kb=$(avail_kb)"
		echo "pid_max=$old_pid_max"
	} >"$OUT/clones-max.txt"
	if [ "$old_pid_max" -lt "$want" ]; then
		trap 'echo "$old_pid_max" >/proc/sys/kernel/pid_max' EXIT
		echo "$want" >/proc/sys/kernel/pid_max && echo "pid_max_raised_to=$want" >>"$OUT/clones-max.txt"
		echo "    kernel.pid_max raised from $old_pid_max to $(cat /proc/sys/kernel/pid_max) for $CLONES_MAX clones"
	fi
	"$RUNNER" burst -n "$CLONES_MAX" -T 1800 -H 500 -m $MAX_MIB -o "$OUT/clones-vms.csv" -s "$OUT/clones.csv" \
		ember-clone-${MAX_MIB}m -- @clone "$SERVER_SOCK" "$SNAPD/idle$MAX_MIB.snap" "$SNAPD/idle$MAX_MIB.mem" || fail=1
	echo "$old_pid_max" >/proc/sys/kernel/pid_max
	trap - EXIT
fi
kill -TERM "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
rm -f "$SNAPD"/*.mem # large; the sizes are in snapshot-*.txt

stage "6/6 I/O: virtio-blk and virtio-net from bench/iobench.c: ember, QEMU microvm, the host itself"
export O QUICK QEMU QEMU_M
export -f qemu_cmd
bench/io.sh "$OUT" || fail=1
stage "report"
"$PY" bench/report.py "$OUT"
echo "bench: $OUT/report.md ($(($(date +%s) - t_start)) s)"
if [ $fail != 0 ]; then
	echo "bench: FAILED: some microVM did not boot or exit as expected (see above)" >&2
	exit 1
fi
