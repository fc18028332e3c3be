#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_linux.sh: the Linux smoke test, with the default guest kernel
# (build/guest/vmlinux, bzImage) and initrd.
#
# Three Linux boots run on every host with /dev/kvm, each checking what the
# kernel prints before init (on software KVM, kvm_pvm, Linux user space
# cannot run: README.md, "Development hosts with software KVM"):
#   - vmlinux driven through the API (curl on --api-sock: machine-config,
#     boot-source, drives, network-interfaces, vsock, entropy, metrics,
#     InstanceStart, FlushMetrics) with one device of each kind: the e820 map, the
#     command line, one CPU, the initrd, and each device probed: the disk's
#     capacity, the MAC ember gave in the kernel's own IP-Config line, a
#     host CONNECT answered by the guest kernel's vsock (an RST: nobody
#     listens), the entropy pool seeded from virtio-rng, the block reads
#     ember counted (metrics), and every driver's DRIVER_OK in ember's log;
#   - vmlinux with two vCPUs from the command line (the CLI path);
#   - the bzImage, to its first line.
# On hardware KVM the user-space tests run too: the exit status round trip,
# an ext4 root mounted read-write by guest-init (root=) and written (e2fsck
# clean afterwards, the host reads the file), ping and TCP both ways over the
# tap, socat over vsock both ways. Under kvm_pvm they prepare and check their
# host side (image, namespace and tap, initrd with socat) and report SKIP.
#
# Networking happens in a network namespace the test makes (ember runs in it
# with `ip netns exec`); the host's own networking is never touched.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VMLINUX=$O/guest/vmlinux
BZIMAGE=$O/guest/bzImage
INITRD=$O/guest/initrd.cpio
GUEST_INIT=$O/guest/init
MKCPIO=$O/guest-init/linux/mkcpio
REAL_EMBER=$(readlink -f "$EMBER")
SOCK=$TMP/api.sock
# Linux is ~300x slower under kvm_pvm: minutes, not seconds.
BOOT_TIMEOUT=${EMBER_LINUX_TIMEOUT:-420}

BASE_CMDLINE="console=ttyS0 reboot=k panic=-1 pci=off nomodule i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
if software_kvm; then
	# Instructions the kvm_pvm emulator lacks (cmpxchg16b: SLUB), and the int3
	# self-test (our patch).
	BASE_CMDLINE="$BASE_CMDLINE clearcpuid=xsave,popcnt,smap,cx16 noint3test"
fi
SOFT_KVM_WHY="SOFTWARE KVM (kvm_pvm serves /dev/kvm): Linux user space cannot run here (README.md, \"Development hosts with software KVM\")"

# One /24, tap and MAC per run, so parallel runs do not collide.
N=$((($$ % 200) + 20))
NS=ember-linux-$$
TAP=emblx$N
HOST_IP=172.30.$N.1
GUEST_IP=172.30.$N.2
GUEST_MAC=02:00:00:1e:01:$(printf %02x "$N")
# The kernel configures eth0 itself (CONFIG_IP_PNP): no DHCP, no waiting.
IP_ARG="ip=$GUEST_IP::$HOST_IP:255.255.255.0::eth0:off"
# Ports of the host-side servers (TCP in the namespace, vsock UDS_PATH_<port>).
PORT_TO_GUEST=7001
PORT_FROM_GUEST=7002

PID=
HELPER_PID=

cleanup() {
	[ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null
	[ -z "$HELPER_PID" ] || kill -KILL "$HELPER_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

need_linux() {
	have_kvm || { skip "no usable /dev/kvm: Linux boot not tested"; return 1; }
	[ -f "$VMLINUX" ] && [ -f "$INITRD" ] || { fail "missing $VMLINUX or $INITRD (make guest)"; return 1; }
}

need_curl() {
	command -v curl >/dev/null && return 0
	skip "curl is not installed: the API boot is not tested"
	return 1
}

need_python() {
	command -v python3 >/dev/null && return 0
	skip "python3 is needed for the host-side servers"
	return 1
}

# ------------------------------------------------------------ network namespace

in_ns() { ip netns exec "$NS" "$@"; }

# make_net: the namespace with lo up and a tap holding HOST_IP; skips when
# this host cannot (not root, no /dev/net/tun), fails when it should but does not.
make_net() {
	if [ "$(id -u)" != 0 ]; then
		skip "NOT ROOT: virtio-net needs a tap, which only root may create"
		return 1
	fi
	if [ ! -c /dev/net/tun ]; then
		skip "no /dev/net/tun: virtio-net not tested"
		return 1
	fi
	ip netns list 2>/dev/null | grep -qw "$NS" || ip netns add "$NS" ||
		{ fail "cannot make network namespace $NS"; return 1; }
	in_ns ip link set lo up
	in_ns ip link del "$TAP" 2>/dev/null
	in_ns ip tuntap add dev "$TAP" mode tap && in_ns ip addr add "$HOST_IP/24" dev "$TAP" &&
		in_ns ip link set "$TAP" up && return 0
	fail "cannot create tap $TAP in $NS"
	return 1
}

# ------------------------------------------------------------ running ember

# boot_until PATTERN ARGS...: run ember until the console shows PATTERN or
# ember exits; sets OUT, ERR, RC (RC is empty when we stopped it).
boot_until() {
	local pattern=$1 waited=0
	shift
	: >"$TMP/out"
	"$EMBER" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	RC=
	while kill -0 "$PID" 2>/dev/null; do
		if grep -qE -- "$pattern" "$TMP/out"; then
			kill -KILL "$PID" 2>/dev/null
			wait "$PID" 2>/dev/null
			break
		fi
		if [ "$waited" -ge "$BOOT_TIMEOUT" ]; then
			kill -KILL "$PID" 2>/dev/null
			wait "$PID" 2>/dev/null
			RC=timeout
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	if [ -z "$RC" ] && ! grep -qE -- "$pattern" "$TMP/out"; then
		wait "$PID"
		RC=$?
	fi
	PID=
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	echo "      (linux: ${waited}s, console $(wc -l <"$TMP/out") lines)"
}

# ns_ember_run [--timeout S] ARGS...: ember_run inside the namespace.
ns_ember_run() {
	local t=30
	if [ "$1" = --timeout ]; then t=$2; shift 2; fi
	timeout --signal=KILL "$t" ip netns exec "$NS" "$REAL_EMBER" "$@" \
		</dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

# api METHOD PATH [BODY]: one request on $SOCK; fails the test unless the
# answer is a 2xx. Sets CODE and BODY.
api() {
	local args=(-s --max-time 10 --unix-socket "$SOCK" -X "$1" -o "$TMP/body" -w '%{http_code}')
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	CODE=$(curl "${args[@]}" "http://localhost$2")
	BODY=$(cat "$TMP/body" 2>/dev/null)
	case $CODE in
	2??) return 0 ;;
	esac
	fail "$1 $2: status $CODE, body $BODY"
	return 1
}

# wait_console RE SECONDS: until the console has a line matching RE (0),
# ember has ended (1) or SECONDS passed (2). Sets WAITED.
wait_console() {
	WAITED=0
	while :; do
		tr -d '\r' <"$TMP/out" | grep -qE -- "$1" && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		[ "$WAITED" -lt "$2" ] || return 2
		sleep 1
		WAITED=$((WAITED + 1))
	done
}

# wait_exit SECONDS: wait for ember to end (killing it after SECONDS, RC
# empty then); sets RC, OUT, ERR.
wait_exit() {
	local t=0
	RC=
	while kill -0 "$PID" 2>/dev/null && [ "$t" -lt "$1" ]; do
		sleep 1
		t=$((t + 1))
	done
	if kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	else
		wait "$PID"
		RC=$?
	fi
	PID=
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

# reap_helper: the host-side helper's exit status, once ember has ended; a
# helper still waiting (for a guest that never came) is killed after 5 s.
reap_helper() {
	local rc
	[ -n "$HELPER_PID" ] || return 0
	for _ in $(seq 50); do
		kill -0 "$HELPER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$HELPER_PID" 2>/dev/null
	wait "$HELPER_PID"
	rc=$?
	HELPER_PID=
	return "$rc"
}

# vsock_probe UDS PORT: a host-initiated connection ("CONNECT PORT\n")
# through ember's vsock; prints what came back and after how long:
# "closed S" (no OK: the guest reset it, or ember gave up), "OK <port> S",
# or "silent S" (nothing within 10 s).
vsock_probe() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.sendall(b"CONNECT %d\n" % int(sys.argv[2]))
try:
    d = s.recv(64)
    what = "closed" if d == b"" else d.decode(errors="replace").strip()
except socket.timeout:
    what = "silent"
print("%s %.3f" % (what, time.monotonic() - t0))
EOF
}

# metric GROUP FIELD: FIELD of GROUP summed over every metrics line.
metric() {
	python3 - "$TMP/metrics.json" "$1" "$2" <<'EOF'
import json, sys
total = 0
for line in open(sys.argv[1]):
    total += json.loads(line).get(sys.argv[2], {}).get(sys.argv[3], 0)
print(total)
EOF
}

# ------------------------------------------------------------ early boot

# check_early_log: what every boot with 256 MiB prints before the devices.
check_early_log() {
	expect_out_re 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable'
	expect_out_re 'BIOS-e820: \[mem 0x0000000000100000-0x000000000fffffff\] usable'
	expect_out_re "Command line: $BASE_CMDLINE"
	expect_out_re 'Linux version 6\.1\.'
}

# The API boot with one device of each kind. The guest command (sleep 5)
# keeps a hardware-KVM guest alive while the host probes vsock and flushes
# the metrics; under kvm_pvm the kernel panics at /init's first system call
# instead and panic=-1 ends the VM (both end with status 0). The command is
# given without " -- ": words the kernel does not know that have neither "="
# nor "." become init's arguments (Documentation/admin-guide/kernel-parameters.rst),
# and ember adds its own parameters (virtio_mmio.device=) after boot_args.
test_linux_api_boot_probes_every_device() {
	need_linux || return
	need_curl || return
	need_python || return
	make_net || return
	local vs=$TMP/v.sock probe took
	truncate -s 8M "$TMP/disk.img"
	rm -f "$SOCK"
	# --level Debug: ember's log (DRIVER_OK per device, vsock CONNECTs) on stderr.
	ip netns exec "$NS" "$REAL_EMBER" --api-sock "$SOCK" --level Debug \
		</dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 250); do
		[ -S "$SOCK" ] && break
		sleep 0.02
	done
	[ -S "$SOCK" ] || { fail "the API socket never appeared"; return; }
	api PUT /metrics "{\"metrics_path\": \"$TMP/metrics.json\"}" &&
		api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}' &&
		api PUT /boot-source "{\"kernel_image_path\": \"$PWD/$VMLINUX\", \"initrd_path\": \"$PWD/$INITRD\", \"boot_args\": \"$BASE_CMDLINE $IP_ARG sleep 5\"}" &&
		api PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false, \"is_read_only\": false}" &&
		api PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\", \"guest_mac\": \"$GUEST_MAC\"}" &&
		api PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$vs\"}" &&
		api PUT /entropy '{}' &&
		api PUT /actions '{"action_type": "InstanceStart"}' &&
		api GET / || { wait_exit 0; return; }
	grep -q '"state":"Running"' <<<"$BODY" || fail "GET / after InstanceStart: $BODY"

	# ip_auto_config is a late initcall: every driver has probed by then.
	wait_console "hwaddr=" "$BOOT_TIMEOUT"
	case $? in
	1) wait_exit 0; fail "ember ended before the kernel configured eth0"; return ;;
	2) wait_exit 0; fail "no IP-Config line within ${BOOT_TIMEOUT}s"; return ;;
	esac
	echo "      (linux: IP-Config after ${WAITED}s)"
	# Nobody listens on port 1234 in the guest: its kernel answers the
	# REQUEST with an RST, and ember closes our end without "OK". Ember's
	# own give-up takes VSOCK_TIMEOUT_MS (2 s) and says so in its log.
	probe=$(vsock_probe "$vs" 1234)
	echo "      (vsock CONNECT 1234: $probe s)"
	api PUT /actions '{"action_type": "FlushMetrics"}'
	wait_exit "$BOOT_TIMEOUT"
	[ -n "$RC" ] || fail "ember still ran ${BOOT_TIMEOUT}s after IP-Config"
	[ -z "$RC" ] || expect_rc 0

	check_early_log
	expect_out_re 'smpboot: Allowing 1 CPUs'
	expect_out_re 'Freeing initrd memory: [0-9]+K'
	# The kernel found the devices ember announced, in their order.
	expect_out_re 'virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6 virtio_mmio.device=4K@0xc0003000:7 virtio_mmio.device=4K@0xc0004000:8'
	# Block: the capacity, read from config space.
	expect_out_re 'virtio_blk virtio0: \[vda\] 16384 512-byte logical blocks'
	# Net: the MAC we gave, read by virtio_net from config space, on an
	# interface the kernel opened and configured.
	expect_out_re "device=eth0, hwaddr=$GUEST_MAC, ipaddr=$GUEST_IP, mask=255\.255\.255\.0, gw=$HOST_IP"
	expect_out_re 'Run /init as init process'
	# Every driver finished its probe with DRIVER_OK (virtio/mmio.c).
	local dev
	for dev in blk net rng vsock; do
		grep -qE "^ember: virtio-$dev: driver ready, features 0x[0-9a-f]+" "$TMP/err" ||
			fail "ember's log has no 'virtio-$dev: driver ready' line"
	done
	# Vsock: the guest kernel's RST came back well before ember's 2 s timeout.
	took=${probe#* }
	case $probe in
	closed\ *) ;;
	*) fail "vsock CONNECT 1234: '$probe', expected the guest's RST (closed)" ;;
	esac
	grep -q 'virtio-vsock: host CONNECT 1234 from host port' "$TMP/err" ||
		fail "ember's log does not show the CONNECT 1234"
	! grep -q 'guest did not answer REQUEST to port 1234' "$TMP/err" ||
		fail "vsock: the guest never answered the REQUEST (closed by ember's timeout after ${took}s)"
	# Entropy: our kernel credits no CPU or boot-loader seed
	# (RANDOM_TRUST_CPU, RANDOM_TRUST_BOOTLOADER off), so its pool becomes
	# ready this early only from the hwrng thread, which credits virtio-rng
	# bytes (quality 1000) as soon as the device registers: after the devices
	# are announced, before the block driver (drivers/char probes first).
	local announced crng blk
	announced=$(grep -n 'virtio-mmio: Registering device virtio-mmio.3 ' <<<"$OUT" | head -n 1 | cut -d: -f1)
	crng=$(grep -n 'random: crng init done' <<<"$OUT" | head -n 1 | cut -d: -f1)
	blk=$(grep -n 'virtio_blk virtio0: \[vda\]' <<<"$OUT" | head -n 1 | cut -d: -f1)
	[ -n "$announced" ] && [ -n "$crng" ] && [ -n "$blk" ] &&
		[ "$announced" -lt "$crng" ] && [ "$crng" -lt "$blk" ] ||
		fail "virtio-rng: no 'random: crng init done' between the device announcements and the block probe (lines ${announced:-none}, ${crng:-none}, ${blk:-none})"
	# Block: bytes the guest read (the partition scan), as ember counted them.
	[ -s "$TMP/metrics.json" ] || { fail "no metrics written"; return; }
	[ "$(metric block read_bytes)" -gt 0 ] ||
		fail "metrics: block read_bytes is 0: the guest read nothing from vda"
	# Entropy: bytes the guest's hwrng thread took from virtio-rng.
	[ "$(metric entropy entropy_bytes)" -gt 0 ] ||
		fail "metrics: entropy entropy_bytes is 0: the guest took nothing from virtio-rng"
}

test_linux_two_vcpus_counted() {
	need_linux || return
	boot_until 'smpboot: Allowing [0-9]+ CPUs|Kernel panic' \
		--kernel "$VMLINUX" --initrd "$INITRD" --mem 256 --vcpus 2 --cmdline "$BASE_CMDLINE"
	[ "$RC" = timeout ] && { fail "no CPU count within ${BOOT_TIMEOUT}s"; return; }
	expect_out_re 'smpboot: Allowing 2 CPUs'
	check_early_log
}

test_linux_bzimage_starts() {
	need_linux || return
	[ -f "$BZIMAGE" ] || { fail "missing $BZIMAGE"; return; }
	# A bzImage first decompresses itself (a minute here); its first line proves the entry.
	boot_until 'Linux version 6\.1\.|Kernel panic' \
		--kernel "$BZIMAGE" --initrd "$INITRD" --mem 256 --cmdline "$BASE_CMDLINE"
	[ "$RC" = timeout ] && { fail "bzImage printed nothing within ${BOOT_TIMEOUT}s"; return; }
	expect_out_re 'Linux version 6\.1\.'
}

# linux_snapshot_and_restore: boot Linux (2 vCPUs) through the API, pause it
# in the middle of its boot (right after it counted its CPUs), snapshot it,
# end that ember and start the snapshot in a new one (PID). 1 when a step failed.
linux_snapshot_and_restore() {
	rm -f "$SOCK"
	"$REAL_EMBER" --api-sock "$SOCK" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 250); do
		[ -S "$SOCK" ] && break
		sleep 0.02
	done
	api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}' &&
		api PUT /boot-source "{\"kernel_image_path\": \"$PWD/$VMLINUX\", \"initrd_path\": \"$PWD/$INITRD\", \"boot_args\": \"$BASE_CMDLINE -- /bin/sh -c 'exit 6'\"}" &&
		api PUT /actions '{"action_type": "InstanceStart"}' || { wait_exit 0; return 1; }
	wait_console 'smpboot: Allowing 2 CPUs' "$BOOT_TIMEOUT"
	case $? in
	1) wait_exit 0; fail "ember ended before the guest counted its CPUs: $(tail -c 600 "$TMP/out")"; return 1 ;;
	2) wait_exit 0; fail "no CPU count within ${BOOT_TIMEOUT}s"; return 1 ;;
	esac
	api PATCH /vm '{"state": "Paused"}' &&
		api PUT /snapshot/create "{\"snapshot_path\": \"$TMP/linux.snap\", \"mem_file_path\": \"$TMP/linux.mem\"}"
	kill -TERM "$PID" 2>/dev/null
	wait_exit 10
	if grep -q 'Run /init' "$TMP/out"; then
		fail "the guest reached /init before the pause: nothing left to test"
		return 1
	fi
	"$REAL_EMBER" --restore "$TMP/linux.snap" --mem-file "$TMP/linux.mem" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	return 0
}

# The restored Linux boots on from where it was paused to "Run /init",
# without starting again.
test_linux_snapshot_during_boot_restores() {
	need_linux || return
	need_curl || return
	linux_snapshot_and_restore || return
	wait_console 'Run /init as init process|Kernel panic' "$BOOT_TIMEOUT"
	kill -KILL "$PID" 2>/dev/null
	wait_exit 0
	expect_out_re 'Run /init as init process'
	if grep -q 'Linux version' <<<"$OUT"; then fail "the restored guest booted again"; fi
	# Only before /init: under kvm_pvm user space cannot run, so init's fault and a
	# panic may follow (as after any boot here) before the test stops the guest.
	if sed '/Run \/init as init process/q' <<<"$OUT" | grep -q 'Kernel panic'; then
		fail "the restored guest panicked before /init"
	fi
}

# ------------------------------------------------------------ user space (hardware KVM)

test_linux_user_space_exit_status() {
	# The kernel and initrd first: a missing one is a FAIL on every host.
	need_linux || return
	if software_kvm; then
		skip "$SOFT_KVM_WHY; guest-init exit-status round trip needs hardware KVM (host side checked: $VMLINUX and $INITRD exist)"
		return
	fi
	ember_run --timeout "$BOOT_TIMEOUT" --kernel "$VMLINUX" --initrd "$INITRD" --mem 256 --vcpus 2 \
		--boot-timer -- /bin/sh -c 'uname -r; exit 3'
	expect_rc 3
	expect_out_re '^6\.1\.'
	expect_err_re '^ember: guest boot time [0-9]+ us'
}

# The same restore, on to user space: a command run by the restored guest's
# init decides ember's exit status.
test_linux_restored_user_space_exit_status() {
	need_linux || return
	if software_kvm; then
		skip "$SOFT_KVM_WHY; a restored guest's user space needs hardware KVM (test_linux_snapshot_during_boot_restores covers the restore up to /init here)"
		return
	fi
	need_curl || return
	linux_snapshot_and_restore || return
	wait_exit "$BOOT_TIMEOUT"
	expect_rc 6
	expect_out_re 'Run /init as init process'
}

# An ext4 image holding only busybox becomes the root (guest-init's root=,
# read-write); the guest writes a file, remounts / read-only (a journalled
# file system is clean only once nothing is left to replay), exits 7. The
# host then finds the file system clean and the file in it.
test_linux_ext4_root_written() {
	need_linux || return
	local root=$TMP/rootdir img=$TMP/root.ext4 token=ember-ext4-$$-$RANDOM
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" &&
		cp /bin/busybox "$root/bin/busybox" && ln -s busybox "$root/bin/sh" ||
		{ fail "cannot lay out the root directory"; return; }
	truncate -s 32M "$img"
	mkfs.ext4 -q -F -L ember-root -d "$root" "$img" || { fail "mkfs.ext4 -d failed"; return; }
	e2fsck -fn "$img" >"$TMP/fsck" 2>&1 || { fail "fresh image not clean: $(cat "$TMP/fsck")"; return; }
	if software_kvm; then
		skip "$SOFT_KVM_WHY; ext4 root written by the guest needs hardware KVM (host side checked: image made, clean)"
		return
	fi
	ember_run --timeout "$BOOT_TIMEOUT" --kernel "$VMLINUX" --initrd "$INITRD" --mem 256 \
		--disk "$img" --cmdline "$BASE_CMDLINE root=/dev/vda rw" -- \
		/bin/sh -c "echo $token >/written.txt && busybox grep ' / ' /proc/mounts && busybox mount -o remount,ro / && exit 7"
	expect_rc 7
	expect_out 'init: switched to root=/dev/vda (/dev/vda, rw)'
	expect_out_re '^/dev/vda / ext4 rw'
	e2fsck -fn "$img" >"$TMP/fsck" 2>&1 || fail "e2fsck -fn after the guest: $(tail -n 5 "$TMP/fsck")"
	[ "$(debugfs -R 'cat /written.txt' "$img" 2>/dev/null)" = "$token" ] ||
		fail "the host does not find '$token' in /written.txt"
}

# tcp_servers: in the namespace, PORT_TO_GUEST sends $TMP/payload to the
# first client, PORT_FROM_GUEST stores what its first client sends in
# $TMP/from-guest; $TMP/tcp.ready appears once both listen.
tcp_servers() {
	rm -f "$TMP/tcp.ready"
	in_ns python3 - "$PORT_TO_GUEST" "$TMP/payload" "$PORT_FROM_GUEST" "$TMP/from-guest" \
		"$TMP/tcp.ready" "$BOOT_TIMEOUT" <<'EOF' &
import socket, sys
to_port, payload, from_port, sink, ready, limit = sys.argv[1:7]
def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(1)
    s.settimeout(float(limit))
    return s
a, b = listen(to_port), listen(from_port)
open(ready, "w").close()
c, _ = a.accept()
c.sendall(open(payload, "rb").read())
c.close()
c, _ = b.accept()
with open(sink, "wb") as f:
    while True:
        d = c.recv(65536)
        if not d:
            break
        f.write(d)
EOF
	HELPER_PID=$!
	for _ in $(seq 100); do
		[ -e "$TMP/tcp.ready" ] && return 0
		sleep 0.05
	done
	fail "the host's TCP servers did not start"
	return 1
}

# The guest pings the host end of the tap, takes a payload over TCP and
# prints its hash, then sends its /init back: every byte both ways. Under
# kvm_pvm the same guest command runs on the host instead, chrooted into the
# unpacked initrd inside the namespace (HOST_IP is local there), against the
# same servers: that checks the script and the host side, then SKIPs.
test_linux_net_ping_and_tcp() {
	need_linux || return
	need_python || return
	make_net || return
	head -c 2M /dev/urandom >"$TMP/payload"
	local want sent cmd
	want=$(sha256sum <"$TMP/payload" | cut -d' ' -f1)
	cmd="ping -c 3 -W 10 $HOST_IP && nc $HOST_IP $PORT_TO_GUEST | sha256sum && sha256sum /init && nc $HOST_IP $PORT_FROM_GUEST </init"
	tcp_servers || return
	if software_kvm; then
		mkdir "$TMP/initrd-root" && (cd "$TMP/initrd-root" && cpio -idm --quiet) <"$INITRD" ||
			{ reap_helper; fail "cannot unpack $INITRD"; return; }
		timeout --signal=KILL 60 ip netns exec "$NS" chroot "$TMP/initrd-root" /bin/sh -c "$cmd" \
			</dev/null >"$TMP/out" 2>"$TMP/err"
		RC=$?
	else
		ns_ember_run --timeout "$BOOT_TIMEOUT" --kernel "$VMLINUX" --initrd "$INITRD" --mem 256 \
			--net "$TAP,mac=$GUEST_MAC" --cmdline "$BASE_CMDLINE $IP_ARG" -- /bin/sh -c "$cmd"
	fi
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	reap_helper || fail "the host's TCP servers failed (status $?)"
	expect_rc 0
	software_kvm || expect_out_re "hwaddr=$GUEST_MAC, ipaddr=$GUEST_IP"
	expect_out_re '3 packets transmitted, 3 packets received'
	expect_out "$want  -"
	sent=$(sed -n 's/^\([0-9a-f]\{64\}\)  \/init$/\1/p' <<<"$OUT")
	[ -n "$sent" ] || { fail "the guest printed no hash of /init"; return; }
	[ "$(sha256sum <"$TMP/from-guest" | cut -d' ' -f1)" = "$sent" ] ||
		fail "the host received $(wc -c <"$TMP/from-guest") bytes that are not the guest's /init"
	# A FAIL above stands: lib.sh's skip does not replace it.
	! software_kvm ||
		skip "$SOFT_KVM_WHY; ping and TCP over the tap need hardware KVM (host side and guest command checked on the host: chroot of the initrd in the namespace)"
}

# vsock_host UDS PORT PAYLOAD SINK FROM_PORT READY: the host side of the
# vsock test. Listens on UDS_FROM_PORT for the guest's connection (stored in
# SINK), then touches READY; connects to the guest's PORT through "CONNECT PORT" until the
# guest's listener answers OK (a refusal is the guest not listening yet),
# sends PAYLOAD and half-closes.
vsock_host() {
	python3 - "$@" "$BOOT_TIMEOUT" <<'EOF' &
import os, socket, sys, threading, time
uds, port, payload, sink, from_port, ready, limit = sys.argv[1:8]
limit = float(limit)
lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
path = "%s_%s" % (uds, from_port)
if os.path.exists(path):
    os.unlink(path)
lst.bind(path)
lst.listen(1)
lst.settimeout(limit)
def receive():
    c, _ = lst.accept()
    with open(sink, "wb") as f:
        while True:
            d = c.recv(65536)
            if not d:
                break
            f.write(d)
t = threading.Thread(target=receive)
t.start()
open(ready, "w").close()
deadline = time.monotonic() + limit
while True:
    if time.monotonic() > deadline:
        sys.exit("vsock_host: the guest never accepted CONNECT %s" % port)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(uds)
        s.sendall(b"CONNECT %s\n" % port.encode())
        line = s.makefile("rb").readline()
    except OSError:
        line = b""
    if line.startswith(b"OK "):
        break
    s.close()
    time.sleep(0.2)
s.sendall(open(payload, "rb").read())
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
t.join()
EOF
	HELPER_PID=$!
}

# socat in the guest listens on vsock port 5000 (the host connects through
# CONNECT), hashes what arrives, then connects to the host (CID 2) on port
# 5001, which ember turns into UDS_PATH_5001, and sends its /init.
test_linux_vsock_socat_both_ways() {
	need_linux || return
	need_python || return
	if ! command -v socat >/dev/null; then
		skip "socat is not installed on the host (apt-get install socat): the guest's copy comes from it"
		return
	fi
	[ -x "$GUEST_INIT" ] && [ -x "$MKCPIO" ] || { fail "missing $GUEST_INIT or $MKCPIO (make guest)"; return; }
	local initrd=$TMP/initrd-socat.cpio vs=$TMP/v.sock want f
	EMBER_INITRD_EXTRA=socat guest-init/linux/build-initrd.sh "$initrd" "$GUEST_INIT" "$MKCPIO" ||
		{ fail "build-initrd.sh with EMBER_INITRD_EXTRA=socat failed"; return; }
	cpio -t <"$initrd" >"$TMP/initrd.list" 2>/dev/null
	for f in init bin/busybox usr/bin/socat lib64/ld-linux-x86-64.so.2; do
		grep -qxF "$f" "$TMP/initrd.list" || fail "the socat initrd lacks $f"
	done
	head -c 2M /dev/urandom >"$TMP/payload"
	want=$(sha256sum <"$TMP/payload" | cut -d' ' -f1)
	if software_kvm; then
		skip "$SOFT_KVM_WHY; socat over vsock needs hardware KVM (host side checked: initrd with socat and its libraries)"
		return
	fi
	vsock_host "$vs" 5000 "$TMP/payload" "$TMP/from-guest" 5001 "$TMP/vsock.ready"
	for _ in $(seq 100); do
		[ -e "$TMP/vsock.ready" ] && break
		sleep 0.05
	done
	ember_run --timeout "$BOOT_TIMEOUT" --kernel "$VMLINUX" --initrd "$initrd" --mem 256 \
		--vsock "3,$vs" --cmdline "$BASE_CMDLINE" -- /bin/sh -c \
		"socat -u VSOCK-LISTEN:5000 STDOUT | sha256sum && sha256sum /init && socat -u OPEN:/init VSOCK-CONNECT:2:5001"
	reap_helper || fail "the host side of the vsock test failed (status $?)"
	expect_rc 0
	expect_out "$want  -"
	local sent
	sent=$(sed -n 's/^\([0-9a-f]\{64\}\)  \/init$/\1/p' <<<"$OUT")
	[ -n "$sent" ] || { fail "the guest printed no hash of /init"; return; }
	[ "$(sha256sum <"$TMP/from-guest" | cut -d' ' -f1)" = "$sent" ] ||
		fail "the host received $(wc -c <"$TMP/from-guest") bytes over vsock that are not the guest's /init"
}

run_tests "${1:-}"
