#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_orchestrators.sh: ember where an orchestrator expects Firecracker.
# Replays what Kata Containers' firecracker driver (src/runtime/virtcontainers/
# fc.go) does, plain and jailed: `--version` and its check, the config file
# it writes (a read-only rootfs drive and eight empty placeholder drives, a
# hybrid vsock, a log FIFO and a metrics FIFO), the launch (--api-sock and
# --config-file; or the jailer with --uid 0 --gid 0 --node 0 --daemonize and
# only --config-file, waiting on the default socket), GET / until Running,
# then PATCH /drives swapping a placeholder for a real disk. Also the default
# socket on its own, and the thread names Kata looks for.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib_api.sh

JAILER=${JAILER:-$O/ember-jailer}
VIO=$O/tests/guests/vio.elf
BASE=$TMP/run-kata
SOCK=

# Kata's fcKernelParams (with its debug console), then the test guest's words.
KATA_PARAMS="panic=1 pci=off reboot=k iommu=off net.ifnames=0 random.trust_cpu=on acpi=off console=ttyS0"

cleanup_all() {
	local f
	for f in "$BASE"/*/*/root/*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	[ -n "${EPID:-}" ] && kill -KILL "$EPID" 2>/dev/null
	[ -n "${RPID:-}" ] && kill $RPID 2>/dev/null
	sleep 0.1
	for f in /sys/fs/cgroup/*/ember/kata-*; do
		[ -d "$f" ] && rmdir "$f" 2>/dev/null
	done
	ip netns del "$NETNS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup_all EXIT
# The network namespace Kata makes for the pod and hands the jailer.
NETNS=ember-kata-$$

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: Kata's sequence NOT replayed"
	return 1
}
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip "needs root (the jailer, mount namespaces): NOT tested"
	return 1
}

# kata_version_check: fc.go's getVersionNumber and checkVersion: the
# first line's second space-separated word, 'v' trimmed, at least 0.21.1.
kata_version_check() {
	local out word
	out=$("$EMBER" --version) || { fail "--version failed"; return 1; }
	word=$(head -n1 <<<"$out" | cut -d' ' -f2)
	word=${word#v}
	[[ $word =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { fail "--version: '$word' is no semver"; return 1; }
	[ "$(printf '%s\n0.21.1\n' "$word" | sort -V | head -n1)" = 0.21.1 ] ||
		{ fail "--version: $word is below Kata's minimum 0.21.1"; return 1; }
	# Kata before 2.x split the whole output on spaces: the word must end there.
	[ "$(cut -d' ' -f2 <<<"$out" | head -n1)" = "v$word" ] || fail "--version: the second word runs on"
}

# kata_layout ROOT PREFIX WORDS: what fc.go's fcInitConfiguration puts in
# the jail root ROOT: run/, the kernel, the rootfs, eight empty placeholder
# drives, the FIFOs (with readers, as Kata's goroutines), and the config
# file; PREFIX is how ember will see ROOT ("" in a jail, ROOT plain).
kata_layout() {
	local root=$1 p=$2 words=$3 i drives
	mkdir -p "$root/run"
	cp "$VIO" "$root/vmlinux"
	head -c 4096 /dev/zero | tr '\0' R >"$root/rootfs"
	drives='{"drive_id": "rootfs", "is_read_only": true, "is_root_device": false, "path_on_host": "'$p'/rootfs"}'
	for i in $(seq 0 7); do
		: >"$root/drive_$i"
		drives="$drives, "'{"drive_id": "drive_'$i'", "is_read_only": false, "is_root_device": false, "path_on_host": "'$p'/drive_'$i'"}'
	done
	mkfifo "$root/logs.fifo" "$root/metrics.fifo"
	cat "$root/logs.fifo" >"$TMP/logs" &
	RPID="$RPID $!"
	cat "$root/metrics.fifo" >"$TMP/metrics" &
	RPID="$RPID $!"
	# json.MarshalIndent of Kata's FcConfig (fields in its struct order).
	cat >"$root/fcConfig.json" <<EOF
{
	"boot-source": {"kernel_image_path": "$p/vmlinux", "boot_args": "$KATA_PARAMS -- $words"},
	"drives": [$drives],
	"logger": {"level": "Debug", "log_path": "$p/logs.fifo"},
	"machine-config": {"mem_size_mib": 128, "smt": false, "vcpu_count": 1},
	"metrics": {"metrics_path": "$p/metrics.fifo"},
	"vsock": {"guest_cid": 3, "uds_path": "$p/kata.hvsock", "vsock_id": "root"}
}
EOF
}

# wait_running: fc.go's waitVMMRunning: GET / every 10 ms for up to 10 s.
wait_running() {
	local i
	for i in $(seq 1000); do
		if [ -S "$SOCK" ]; then
			api GET /
			[ "$CODE" = 200 ] && grep -q '"state":"Running"' <<<"$BODY" && return 0
		fi
		sleep 0.01
	done
	fail "GET / never said Running (last: $CODE $BODY)"
	return 1
}

# vcpu_threads PID: the names Kata's cgroup code looks for.
vcpu_threads() {
	local names
	names=$(cat /proc/"$1"/task/*/comm 2>/dev/null | sort | tr '\n' ';')
	[[ $names == *"fc_vcpu 0;"* ]] || fail "no thread named 'fc_vcpu 0' in ember: $names"
}

# swap_drive ROOT PREFIX: fc.go's fcUpdateBlockDrive: drive_0 onto a real image.
swap_drive() {
	head -c 8192 /dev/zero | tr '\0' K >"$1/disk.img"
	api PATCH /drives/drive_0 '{"drive_id": "drive_0", "path_on_host": "'"$2"'/disk.img"}'
	[ "$CODE" = 204 ] || fail "PATCH /drives/drive_0: $CODE $BODY"
}

# Kata without the jailer: --api-sock and --config-file; the guest reads
# drive_0 before and after the swap (it waits for a console byte between).
test_kata_plain() {
	need_kvm || return
	kata_version_check || return
	local root=$TMP/plain/root
	RPID=
	mkdir -p "$root"
	kata_layout "$root" "$root" "blk-dev=1 blk-info wait blk-info blk-read=0 exit=0"
	SOCK=$root/run/firecracker.socket
	mkfifo "$TMP/stdin"
	"$EMBER" --api-sock "$SOCK" --config-file "$root/fcConfig.json" <"$TMP/stdin" >"$TMP/out" 2>"$TMP/err" &
	EPID=$!
	exec {hold}>"$TMP/stdin"
	wait_running || { exec {hold}>&-; return; }
	[ -S "$root/kata.hvsock" ] && chmod 0640 "$root/kata.hvsock" || fail "no hybrid vsock socket"
	vcpu_threads "$EPID"
	for _ in $(seq 500); do grep -q '^vio: waiting' "$TMP/out" && break; sleep 0.01; done
	swap_drive "$root" "$root"
	printf 'x' >&"$hold"
	exec {hold}>&-
	local i
	for i in $(seq 1000); do [ -d /proc/"$EPID" ] || break; sleep 0.01; done
	wait "$EPID"
	RC=$?
	EPID=
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_rc 0
	expect_out_re '^vio: blk capacity=0 ro=0 id=drive_0$'
	expect_out_re '^vio: blk read sector=0 .* first=4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b$'
	[ -S "$SOCK" ] && fail "the API socket outlived ember"
	sleep 0.1
	grep -q '"api_server"' "$TMP/metrics" || fail "no metrics line reached the FIFO"
}

# Kata with the jailer: --uid 0 --gid 0 --node 0 --daemonize --netns, only
# --config-file after --: ember serves /run/firecracker.socket in the jail,
# inside the pod's network namespace.
test_kata_jailed() {
	need_kvm || return
	need_root || return
	[ -x "$JAILER" ] || { skip "$JAILER not built"; return; }
	local id=kata-$$ root pid
	root=$BASE/ember/$id/root
	RPID=
	mkdir -p "$root"
	kata_layout "$root" "" "blk-dev=1 blk-info wait exit=0"
	SOCK=$root/run/firecracker.socket
	# As fc.go's cmd.Start(): the jailer (a daemon, it may become ember
	# itself) is not waited for; the pid file and the socket say it is up.
	ip netns add "$NETNS" || { fail "cannot make network namespace $NETNS"; return; }
	"$JAILER" --id "$id" --node 0 --exec-file "$(readlink -f "$EMBER")" \
		--uid 0 --gid 0 --chroot-base-dir "$BASE" --netns "/var/run/netns/$NETNS" \
		--daemonize -- --config-file /fcConfig.json \
		</dev/null >"$TMP/jout" 2>"$TMP/jerr" &
	EPID=$!
	wait_running || return
	pid=$(cat "$root/ember.pid" 2>/dev/null)
	[ -n "$pid" ] || { fail "no pid file"; return; }
	ERR=$(cat "$TMP/jerr")
	[ "$(grep -c 'ember-jailer: note: --uid 0 --gid 0' <<<"$ERR")" = 1 ] ||
		fail "expected one note about uid 0 on stderr: $ERR"
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "ember runs in the host's mount namespace"
	[ "$(stat -L -c %i "/proc/$pid/ns/net")" = "$(stat -L -c %i "/var/run/netns/$NETNS")" ] ||
		fail "ember is not in the pod's network namespace $NETNS"
	[ -x "$root/ember" ] || fail "no copy of ember in the jail"
	vcpu_threads "$pid"
	# The jailer passed Firecracker's three clocks.
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE -- '--start-time-us [0-9]+ --start-time-cpu-us [0-9]+ --parent-cpu-time-us [0-9]+ ' ||
		fail "the jailer did not pass --start-time-us/--start-time-cpu-us/--parent-cpu-time-us: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	# --node 0: the cpuset cgroup holds node 0's memory.
	local cs
	cs=$(awk -F: '$2 ~ /cpuset/ { print $3 }' "/proc/$pid/cgroup")
	[ "$cs" = "/ember/$id" ] || fail "ember is in cpuset cgroup '$cs', want /ember/$id"
	[ -S "$root/kata.hvsock" ] || fail "no hybrid vsock socket in the jail"
	swap_drive "$root" ""
	api PUT /actions '{"action_type": "FlushMetrics"}'
	[ "$CODE" = 204 ] || fail "FlushMetrics: $CODE $BODY"
	sleep 0.2
	python3 - "$TMP/metrics" <<'EOF' || fail "metrics after the swap: $(tail -c 300 "$TMP/metrics")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]).read().splitlines() if l.strip()]
last = lines[-1]
assert last["block_drive_0"]["update_count"] == 1, last["block_drive_0"]
assert last["api_server"]["process_startup_time_us"] > 0
EOF
	# fc.go's fcEnd: SIGTERM, then wait.
	kill -TERM "$pid"
	for _ in $(seq 500); do [ -d "/proc/$pid" ] || break; sleep 0.01; done
	[ -d "/proc/$pid" ] && fail "ember ignored SIGTERM"
	wait "$EPID" 2>/dev/null
	EPID=
	[ -S "$SOCK" ] && fail "the API socket outlived ember"
	rmdir /sys/fs/cgroup/*/ember/"$id" 2>/dev/null
	return 0
}

# Firecracker's default socket: with neither --api-sock nor --no-api ember
# serves /run/firecracker.socket, and refuses to start when it exists. In a
# private mount namespace, over a /run of its own.
test_default_socket() {
	need_root || return
	command -v unshare >/dev/null || { skip "no unshare"; return; }
	unshare -m sh -c '
		mount -t tmpfs none /run || exit 90
		"$1" --id dflt </dev/null >"$2/dout" 2>"$2/derr" &
		p=$!
		for i in $(seq 200); do [ -S /run/firecracker.socket ] && break; sleep 0.01; done
		curl -s --max-time 5 --unix-socket /run/firecracker.socket http://localhost/ >"$2/dbody"
		echo >>"$2/dbody"
		kill -TERM $p; wait $p; echo "rc=$?" >>"$2/dbody"
		[ -e /run/firecracker.socket ] && echo "left behind" >>"$2/dbody"
		: >/run/firecracker.socket
		"$1" --id dflt </dev/null >/dev/null 2>"$2/derr2"; echo "rc2=$?" >>"$2/dbody"
		' sh "$(readlink -f "$EMBER")" "$TMP"
	BODY=$(cat "$TMP/dbody" 2>/dev/null)
	grep -q '^{"id":"dflt","state":"Not started"' <<<"$BODY" || fail "GET / on the default socket: $BODY"
	grep -q '^rc=143$' <<<"$BODY" || fail "SIGTERM: $BODY"
	grep -q 'left behind' <<<"$BODY" && fail "the default socket stayed after ember ended"
	grep -q '^rc2=125$' <<<"$BODY" || fail "an existing default socket was not refused: $BODY"
	grep -q 'firecracker.socket' "$TMP/derr2" || fail "the refusal does not name the socket: $(cat "$TMP/derr2")"
	return 0
}

# Firecracker opens a drive's file and a tap at PUT: a file the monitor's
# uid may not open, or a tap that does not exist, is a 400 there naming
# the field (not an InstanceStart failure), and a refused replacement
# leaves the drive as it was. ember runs as nobody, as in a jail.
test_put_opens_drive_and_tap() {
	need_root || return
	command -v setpriv >/dev/null || { skip "no setpriv"; return; }
	local dir=$TMP/put
	chmod 0711 "$TMP" && mkdir -p "$dir" && chmod 0777 "$dir"
	head -c 4096 /dev/zero >"$dir/open.img" && chmod 0644 "$dir/open.img"
	head -c 4096 /dev/zero >"$dir/secret.img" && chmod 0600 "$dir/secret.img"
	SOCK=$dir/api.sock
	setpriv --reuid=65534 --regid=65534 --clear-groups "$(readlink -f "$EMBER")" --api-sock "$SOCK" \
		</dev/null >"$TMP/pout" 2>"$TMP/perr" &
	EPID=$!
	for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.01; done
	api PUT /drives/d '{"drive_id": "d", "path_on_host": "'"$dir"'/open.img", "is_root_device": false, "is_read_only": true}'
	[ "$CODE" = 204 ] || fail "a read-only drive nobody may read: $CODE $BODY"
	api PUT /drives/d '{"drive_id": "d", "path_on_host": "'"$dir"'/open.img", "is_root_device": false, "is_read_only": false}'
	[ "$CODE" = 400 ] && grep -q "path_on_host: cannot open '$dir/open.img' read-write: Permission denied" <<<"$BODY" ||
		fail "a read-write drive nobody may write: $CODE $BODY"
	api PUT /drives/e '{"drive_id": "e", "path_on_host": "'"$dir"'/secret.img", "is_root_device": false, "is_read_only": true}'
	[ "$CODE" = 400 ] && grep -qE "path_on_host: cannot open '$dir/secret.img'.*: Permission denied" <<<"$BODY" ||
		fail "a drive nobody may read: $CODE $BODY"
	api PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "nosuchtap9"}'
	[ "$CODE" = 400 ] && grep -q "host_dev_name: 'nosuchtap9': no such network interface" <<<"$BODY" ||
		fail "a tap that does not exist: $CODE $BODY"
	api GET /vm/config
	python3 -c '
import json, sys
c = json.loads(sys.argv[1])
assert [(d["drive_id"], d["is_read_only"]) for d in c["drives"]] == [("d", True)], c["drives"]
assert c["network-interfaces"] == [], c["network-interfaces"]
' "$BODY" || fail "the refused PUTs changed the configuration: $BODY"
	kill -TERM "$EPID"
	wait "$EPID"
	EPID=
	return 0
}

run_tests "${1:-}"
