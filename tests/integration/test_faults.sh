#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_faults.sh: host-side faults while a guest runs (issue 11), each ending
# with nothing lost, one clear line, and ember still serving:
#   - a disk whose file system fails under it (EIO): an ext4 image on a loop
#     device, shut down (EXT4_IOC_SHUTDOWN) while the guest waits: the
#     guest's reads, writes and flushes of that disk get VIRTIO_BLK_S_IOERR,
#     another disk keeps working, one line names the disk, the block metrics
#     count execute_fails, and the image is as it was;
#   - a disk out of space (ENOSPC): a sparse image on a full tmpfs: writes
#     into holes fail, the rest works, and work again once there is room;
#   - the vsock peer killed (SIGKILL) while the guest streams to it and
#     while it streams to the guest: the stream ends, what the peer sent
#     arrives, the next connection works;
#   - API clients that vanish mid-request and mid-response;
#   - the log and metrics FIFOs: readers that go away, and one nobody reads;
#   - SIGTERM during heavy disk and vsock I/O: 128+15 at once, the API
#     socket removed, the disk holding whole writes only.
# Every run is under ember's own seccomp filters: a missing syscall would
# be exit 159 where the test expects the guest's status.
# Needs root (mounts, loop devices); cleans them up on every exit path.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VIO=$O/tests/guests/vio.elf
PEER=tests/integration/fault_peer.py
SECTOR=512
WATCHDOG_S=25	# no run here takes a tenth of that; a hang is a FAIL, not a stuck suite
PROMPT_MS=2000	# "promptly": from SIGTERM to ember's exit
BG_PIDS=()	# host peers and readers, killed at exit
MOUNTS=()	# mount points, unmounted at exit (their loop devices go with them)

cleanup() {
	local p i
	if [ -n "${TPID:-}" ] && kill -0 "$TPID" 2>/dev/null; then
		p=$(ember_pid)
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
		kill -9 "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
	fi
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null
	done
	MOUNTS=()
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: nothing booted"
	return 1
}

need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip "needs root for $1"
	return 1
}

# ---------------------------------------------------------------- ember in the background

# start_ember ARGS...: ember under a watchdog, stdin a FIFO held open on fd 7
# (the guest's "wait" word reads a byte from it); TPID is the watchdog's pid.
start_ember() {
	rm -f "$TMP/in"
	mkfifo "$TMP/in"
	timeout --signal=KILL "$WATCHDOG_S" "$EMBER" "$@" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	TPID=$!
	exec 7>"$TMP/in"
}

# ember_pid: ember's own pid (the watchdog's child).
ember_pid() {
	local p
	read -r p _ <"/proc/$TPID/task/$TPID/children" 2>/dev/null
	echo "${p:-}"
}

# wait_out RE: until ember's stdout has a line matching RE (10 s, or until
# ember is gone); fails the test if not.
wait_out() {
	local alive
	for _ in $(seq 200); do
		kill -0 "$TPID" 2>/dev/null && alive=1 || alive=0
		tr -d '\r' <"$TMP/out" | grep -qE -- "$1" && return 0
		[ "$alive" = 1 ] || break
		sleep 0.05
	done
	fail "stdout never had a line matching /$1/"
	return 1
}

# wake: a byte for the guest's "wait". If ember is gone, the write fails
# (EPIPE) rather than killing this script with SIGPIPE; only here, so that
# ember inherits no ignored SIGPIPE from us.
wake() { (trap '' PIPE; printf z >&7) 2>/dev/null; }

# finish_ember: close the guest's stdin, wait for ember; sets RC, OUT, ERR.
finish_ember() {
	exec 7>&-
	wait "$TPID"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

# abort_ember: the test cannot go on; kill ember and collect what it said.
abort_ember() {
	local p
	p=$(ember_pid)
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	finish_ember
}

# ---------------------------------------------------------------- helpers

# metric FILE GROUP NAME...: the values of GROUP's counters NAME... summed
# over every line of the metrics FILE (each line counts what happened since
# the one before), space separated.
metric() {
	python3 - "$@" <<'EOF'
import json, sys
lines = []
for i, l in enumerate(open(sys.argv[1]).read().splitlines()):
    try:
        lines.append(json.loads(l))
    except ValueError as e:
        sys.exit("line %d of %s is not a whole JSON object (%s): %.60s" % (i + 1, sys.argv[1], e, l))
print(" ".join(str(sum(l[sys.argv[2]][n] for l in lines)) for n in sys.argv[3:]))
EOF
}

sector_crc() { # sector_crc FILE N: crc32 of sector N as the guest prints it
	python3 -c "import sys,zlib; d=open(sys.argv[1],'rb').read(); n=int(sys.argv[2]); print('0x%08x' % zlib.crc32(d[n*512:(n+1)*512]))" "$1" "$2"
}

# err_lines RE: how many lines of ember's stderr match RE.
err_lines() { grep -cE -- "$1" <<<"$ERR"; }

# said: ember's stderr lines, but the warning a sanitizer build (lib.sh's
# EMBER_SANITIZED, run without seccomp) gives at every start.
said() {
	if [ "${EMBER_SANITIZED:-0}" = 1 ]; then
		grep -v 'seccomp filters are off (--no-seccomp)' <<<"$ERR"
	else
		cat <<<"$ERR"
	fi
}

# expect_err_only N: ember's stderr has exactly N lines (the ones checked).
expect_err_only() {
	local n
	n=$(said | grep -c .)
	[ "$n" = "$1" ] || fail "stderr has $n lines, expected $1"
}

# expect_err_none_but RE: ember's stderr has no line but those matching RE.
expect_err_none_but() {
	local n
	n=$(said | grep -vE -- "$1" | grep -c .)
	[ "$n" = 0 ] || fail "stderr has $n lines besides /$1/"
}

# wait_file FILE: until FILE exists (10 s).
wait_file() {
	for _ in $(seq 200); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "$1 never appeared"
	return 1
}

# wait_count FILE N: until the number in FILE (fault_peer.py's PATH.count) is >= N (10 s).
wait_count() {
	local c
	for _ in $(seq 200); do
		c=$(cat "$1" 2>/dev/null)
		[ -n "$c" ] && [ "$((10#$c))" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "$1 never reached $2 (at '${c:-}')"
	return 1
}

count_of() { local c; c=$(cat "$1"); echo "$((10#$c))"; }

# peer MODE PATH: fault_peer.py MODE PATH in the background, listening; sets PEER_PID.
peer() {
	rm -f "$2" "$2.ready" "$2.count"
	python3 "$PEER" "$1" "$2" >"$2.log" 2>&1 &
	PEER_PID=$!
	BG_PIDS+=("$PEER_PID")
	wait_file "$2.ready"
}

# ---------------------------------------------------------------- disks that fail

# mount_ext4 DIR: a fresh 8 MiB ext4 image (DIR.img) on a loop device at DIR.
# Returns 1 and SKIPs, with the reason, when the host cannot.
mount_ext4() {
	if ! command -v mkfs.ext4 >/dev/null || ! grep -qw ext4 /proc/filesystems ||
		[ ! -e /dev/loop-control ]; then
		skip "cannot make a failing disk: needs mkfs.ext4 (e2fsprogs), ext4 and loop devices in the kernel"
		return 1
	fi
	mkdir -p "$1"
	truncate -s 8M "$1.img" && mkfs.ext4 -q -F "$1.img" >"$TMP/mkfs.log" 2>&1 || {
		skip "cannot make a failing disk: mkfs.ext4 failed: $(head -c 300 "$TMP/mkfs.log")"
		return 1
	}
	if ! mount -o loop "$1.img" "$1" 2>"$TMP/mount.err"; then
		skip "cannot make a failing disk: mount -o loop failed: $(head -c 300 "$TMP/mount.err")"
		return 1
	fi
	MOUNTS+=("$1")
}

# shut_down_fs DIR: every later read, write and fsync of a file on DIR's
# ext4 fails with EIO (EXT4_IOC_SHUTDOWN, EXT4_GOING_FLAGS_NOLOGFLUSH), as
# after a disk error; the page cache is no way around it.
shut_down_fs() {
	python3 - "$1" 2>"$TMP/shutdown.err" <<'EOF'
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, (2).to_bytes(4, "little"))  # _IOR('X', 125, __u32), NOLOGFLUSH
EOF
}

# unmount DIR: unmount it (trying for 10 s while it is busy) and forget it.
unmount() {
	local i
	for _ in $(seq 200); do
		umount "$1" 2>/dev/null && break
		sleep 0.05
	done
	mountpoint -q "$1" && return 1
	for i in "${!MOUNTS[@]}"; do [ "${MOUNTS[i]}" = "$1" ] && unset 'MOUNTS[i]'; done
	MOUNTS=("${MOUNTS[@]+"${MOUNTS[@]}"}")
}

# A disk that fails with EIO in the middle of a run (ENGINE: sync or
# io_uring): before the fault the guest reads it; after, its read, write
# and flush each get IOERR while a second disk keeps working.
blk_eio() {
	need_kvm || return
	need_root "an ext4 image on a loop device" || return
	local D want1 want4 before
	D=$(mktemp -d "$TMP/t.XXXXXX")
	mount_ext4 "$D/fs" || return
	head -c $((64 * SECTOR)) /dev/urandom >"$D/fs/bad.img"
	head -c $((64 * SECTOR)) /dev/urandom >"$D/good.img"
	sync -f "$D/fs/bad.img" # on disk before the file system goes
	before=$(sha256sum <"$D/fs/bad.img")
	want1=$(sector_crc "$D/fs/bad.img" 1)
	want4=$(sector_crc "$D/good.img" 4)
	start_ember --kernel "$VIO" --disk "$D/fs/bad.img,id=bad,engine=$1" \
		--disk "$D/good.img,id=good,engine=$1" --metrics-path "$D/m.json" -- \
		blk-read=1 wait blk-read=2 blk-write=3,7 blk-flush \
		blk-dev=1 blk-read=4 blk-write=5,9 blk-flush exit=0
	wait_out '^vio: waiting$' || { abort_ember; return; }
	if ! shut_down_fs "$D/fs"; then
		abort_ember
		skip "EXT4_IOC_SHUTDOWN refused: $(tail -n 1 "$TMP/shutdown.err")"
		return
	fi
	wake
	finish_ember
	expect_rc 0
	expect_out_re "^vio: blk read sector=1 crc=$want1 "
	# the guest's requests to the failed disk each get VIRTIO_BLK_S_IOERR ...
	expect_out "vio: blk read sector=2 status=1"
	expect_out "vio: blk write sector=3 status=1"
	expect_out "vio: blk flush status=1"
	# ... and the other disk serves on
	expect_out "vio: blk dev=1"
	expect_out_re "^vio: blk read sector=4 crc=$want4 "
	expect_out "vio: blk write sector=5 status=0"
	expect_out "vio: blk flush status=0"
	expect_out "vio: done"
	# one line, naming the disk and the error; nothing else said
	expect_err_re "^ember: virtio-blk: $D/fs/bad\\.img: (preadv|io_uring request) at 1024: Input/output error"
	expect_err_only 1
	# counted as host I/O failures of that disk, not as bad requests
	local got
	got=$(metric "$D/m.json" block_bad execute_fails invalid_reqs_count read_count write_count flush_count)
	[ "$got" = "3 0 1 0 0" ] || fail "block_bad metrics: got '$got', want '3 0 1 0 0'"
	got=$(metric "$D/m.json" block_good execute_fails read_count write_count flush_count)
	[ "$got" = "0 1 1 1" ] || fail "block_good metrics: got '$got', want '0 1 1 1'"
	[ "$(od -An -tx1 -j $((5 * SECTOR)) -N 4 "$D/good.img" | tr -d ' ')" = 09090909 ] ||
		fail "sector 5 of the good disk was not written"
	# nothing of the failed write reached the image: mount it afresh. The
	# kernel tears an io_uring down after its process has gone, so the shut-
	# down file system may live on a moment; a mount before its loop device
	# is released would get that one again.
	unmount "$D/fs" || { fail "cannot unmount the shut-down file system"; return; }
	for _ in $(seq 200); do
		[ -z "$(losetup -j "$D/fs.img")" ] && break
		sleep 0.05
	done
	[ -z "$(losetup -j "$D/fs.img")" ] ||
		{ fail "the shut-down file system stayed in use 10 s after ember ended"; return; }
	mount -o loop "$D/fs.img" "$D/fs" && MOUNTS+=("$D/fs") ||
		{ fail "cannot mount the shut-down file system again"; return; }
	[ "$(sha256sum <"$D/fs/bad.img")" = "$before" ] || fail "the failed disk's image changed"
}
test_blk_eio_sync() { blk_eio sync; }
test_blk_eio_io_uring() { blk_eio io_uring; }

# A disk out of space: a sparse 4 MiB image on a full 256 KiB tmpfs. A write
# to an allocated block works, one into a hole gets IOERR and leaves the
# hole a hole; once the host frees space, the same write works.
blk_enospc() {
	need_kvm || return
	need_root "a tmpfs mount" || return
	local D M got
	D=$(mktemp -d "$TMP/t.XXXXXX")
	M=$D/full
	mkdir "$M"
	if ! mount -t tmpfs -o size=256k tmpfs "$M" 2>"$TMP/mount.err"; then
		skip "cannot mount a tmpfs: $(head -c 300 "$TMP/mount.err")"
		return
	fi
	MOUNTS+=("$M")
	truncate -s 4M "$M/disk.img"
	head -c "$SECTOR" /dev/zero | tr '\0' 'A' | dd of="$M/disk.img" conv=notrunc status=none
	dd if=/dev/zero of="$M/filler" bs=4k status=none 2>/dev/null # until ENOSPC
	[ "$(df --output=avail "$M" | tail -n 1 | tr -d ' ')" = 0 ] || {
		fail "the tmpfs is not full: $(df -k "$M" | tail -n 1)"
		return
	}
	start_ember --kernel "$VIO" --disk "$M/disk.img,id=full,engine=$1" --metrics-path "$D/m.json" -- \
		blk-write=0,1 blk-write=4000,2 blk-read=4000 blk-flush wait blk-write=4000,3 \
		blk-read=4000 exit=0
	wait_out '^vio: waiting$' || { abort_ember; return; }
	rm "$M/filler" # room again
	wake
	finish_ember
	expect_rc 0
	expect_out "vio: blk write sector=0 status=0"
	expect_out "vio: blk write sector=4000 status=1"
	# the failed write left nothing behind
	expect_out "vio: blk read sector=4000 crc=0xb2aa7578 first=00000000000000000000000000000000"
	expect_out "vio: blk flush status=0"
	expect_out "vio: blk write sector=4000 status=0"
	expect_out_re "^vio: blk read sector=4000 crc=.* first=(03){16}$"
	expect_out "vio: done"
	expect_err_re "^ember: virtio-blk: $M/disk\\.img: (pwritev|io_uring request) at 2048000: No space left on device"
	expect_err_only 1
	got=$(metric "$D/m.json" block_full execute_fails invalid_reqs_count write_count read_count flush_count)
	[ "$got" = "1 0 2 2 1" ] || fail "block_full metrics: got '$got', want '1 0 2 2 1'"
	[ "$(stat -c %s "$M/disk.img")" = $((4 << 20)) ] || fail "the image changed size"
	[ "$(od -An -tx1 -j $((4000 * SECTOR)) -N 4 "$M/disk.img" | tr -d ' ')" = 03030303 ] ||
		fail "sector 4000 of the host file does not hold the last write"
}
test_blk_enospc_sync() { blk_enospc sync; }
test_blk_enospc_io_uring() { blk_enospc io_uring; }

# ---------------------------------------------------------------- vsock peers that die

# The host program the guest streams to is killed: the guest's stream is
# reset, and a new connection (to another program) works.
test_vsock_peer_killed_while_guest_sends() {
	need_kvm || return
	local D sent got
	D=$(mktemp -d "$TMP/t.XXXXXX")
	peer sink "$D/v.sock_5000" || return
	local sink=$PEER_PID
	peer echo "$D/v.sock_5001" || return
	start_ember --kernel "$VIO" --vsock "3,$D/v.sock" --metrics-path "$D/m.json" -- \
		vsock-stream=5000,1000000000 vsock-connect=5001 vsock-send=again vsock-recv \
		vsock-close exit=0
	wait_count "$D/v.sock_5000.count" 262144 || { abort_ember; return; }
	kill -9 "$sink"
	wait "$sink" 2>/dev/null
	finish_ember
	expect_rc 0
	# The guest learns the host end is gone: an RST, or a SHUTDOWN of both
	# directions when the guest looks before its next send (a Linux guest
	# answers that with an RST itself); not a stream that takes data for ever.
	expect_out_re "^vio: vsock stream port=5000 sent=[0-9]+ got=0 bad=0 end=(reset|peer-done)$"
	sent=$(sed -nE 's/^vio: vsock stream port=5000 sent=([0-9]+) .*/\1/p' <<<"$OUT")
	got=$(count_of "$D/v.sock_5000.count")
	[ "${sent:-0}" -ge "$got" ] || fail "the sink read $got bytes, more than the guest sent (${sent:-?})"
	expect_out "vio: vsock cid=3 connect port=5001 ret=0"
	expect_out "vio: vsock recv len=5 data=again"
	expect_out "vio: done"
	# Nothing said: packets the guest had in flight when ember reset the
	# stream get their RST quietly (the connection ended a moment ago; the
	# guest did nothing wrong).
	expect_err_only 0
	got=$(metric "$D/m.json" vsock conns_added conns_removed)
	[ "$got" = "2 2" ] || fail "vsock connections added, removed: got '$got', want '2 2'"
}

# The host program streaming to the guest is killed: the guest gets every
# byte it sent, intact, then the end of the stream; the next connection works.
test_vsock_peer_killed_while_it_sends() {
	need_kvm || return
	local D sent got
	D=$(mktemp -d "$TMP/t.XXXXXX")
	peer source "$D/v.sock_5000" || return
	local src=$PEER_PID
	peer echo "$D/v.sock_5001" || return
	start_ember --kernel "$VIO" --vsock "3,$D/v.sock" --metrics-path "$D/m.json" -- \
		vsock-stream=5000,0 vsock-connect=5001 vsock-send=again vsock-recv vsock-close exit=0
	wait_count "$D/v.sock_5000.count" 262144 || { abort_ember; return; }
	kill -9 "$src"
	wait "$src" 2>/dev/null
	sent=$(count_of "$D/v.sock_5000.count")
	finish_ember
	expect_rc 0
	expect_out_re "^vio: vsock stream port=5000 sent=0 got=[0-9]+ bad=0 end=(peer-done|reset)$"
	got=$(sed -nE 's/^vio: vsock stream port=5000 sent=0 got=([0-9]+) .*/\1/p' <<<"$OUT")
	# the source counts after each send returns: it may have sent one chunk more
	[ "${got:-0}" -ge "$sent" ] && [ "${got:-0}" -le $((sent + 3001)) ] ||
		fail "the guest got ${got:-?} bytes of the $sent the killed source had sent"
	expect_out "vio: vsock recv len=5 data=again"
	expect_out "vio: done"
	expect_err_only 0
	got=$(metric "$D/m.json" vsock conns_added conns_removed)
	[ "$got" = "2 2" ] || fail "vsock connections added, removed: got '$got', want '2 2'"
}

# ---------------------------------------------------------------- API clients that vanish

# vm_json D WORDS...: a config file booting vio.elf with WORDS, at D/vm.json.
vm_json() {
	local d=$1
	shift
	cat >"$d/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "$VIO", "boot_args": "console=ttyS0 -- $*"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
EOF
}

# api_get SOCK: GET / answers "Running".
api_get() {
	curl -s -m 3 --unix-socket "$1" http://localhost/ | grep -q '"state":"Running"'
}

fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

test_api_client_vanishes() {
	need_kvm || return
	local D c pid fds n q t
	D=$(mktemp -d "$TMP/t.XXXXXX")
	vm_json "$D" wait exit=7
	start_ember --api-sock "$D/api.sock" --config-file "$D/vm.json"
	wait_out '^vio: waiting$' || { abort_ember; return; }
	pid=$(ember_pid)
	fds=$(fd_count "$pid") # no API connection open
	api_get "$D/api.sock" || fail "GET / before any client vanished"
	for c in partial-put partial-headers big-get-close pipelined-close reset-mid-response; do
		python3 "$PEER" api "$D/api.sock" "$c" >"$D/api.out" 2>&1 ||
			fail "client $c: $(cat "$D/api.out")"
		# the pipelined clients leave with answers still to come: mid-response
		case $c in pipelined-*|reset-*)
			read -r q t <<<"$(sed -nE 's/.* queued=([0-9]+) of ([0-9]+)$/\1 \2/p' "$D/api.out")"
			[ "${q:-0}" -gt 0 ] && [ "$q" -lt "${t:-0}" ] ||
				fail "client $c did not leave mid-response: $(cat "$D/api.out")" ;;
		esac
		api_get "$D/api.sock" || fail "GET / after a client vanished ($c)"
	done
	# every connection the clients had is closed again, at once: well
	# before the 5 s a request may take, after which ember closes it anyway
	for _ in $(seq 40); do
		n=$(fd_count "$pid")
		[ "$n" = "$fds" ] && break
		sleep 0.05
	done
	[ "$n" = "$fds" ] || fail "ember holds $n fds, $fds before the clients came"
	wake
	finish_ember
	expect_rc 7
	expect_out "vio: done"
	expect_err_only 0
	[ -e "$D/api.sock" ] && fail "the API socket was left behind"
}

# ---------------------------------------------------------------- log and metrics FIFOs

# fifo_reader FIFO OUT: a reader of FIFO copying to OUT until killed; ready
# (counted as a reader) when FIFO.ready exists. Sets READER_PID.
fifo_reader() {
	python3 - "$1" "$2" <<'EOF' &
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)  # a reader at once, never at EOF
out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
open(sys.argv[1] + ".ready", "w").close()
while True:
    os.write(out, os.read(fd, 65536))
EOF
	READER_PID=$!
	BG_PIDS+=("$READER_PID")
	wait_file "$1.ready"
}

# wait_has FILE TEXT: until FILE holds TEXT (10 s).
wait_has() {
	for _ in $(seq 200); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "$1 never held '$2'"
	return 1
}

# Both readers are killed while the guest runs: ember says so once for each,
# keeps its warnings on stderr, and runs the guest to its exit status.
test_log_and_metrics_fifo_readers_vanish() {
	need_kvm || return
	local D lr mr
	D=$(mktemp -d "$TMP/t.XXXXXX")
	mkfifo "$D/log.fifo" "$D/met.fifo"
	head -c $((8 * SECTOR)) /dev/urandom >"$D/small.img"
	fifo_reader "$D/log.fifo" "$D/log.out" || return
	lr=$READER_PID
	fifo_reader "$D/met.fifo" "$D/met.out" || return
	mr=$READER_PID
	start_ember --kernel "$VIO" --vsock "3,$D/v.sock" --disk "$D/small.img,id=small" \
		--log-path "$D/log.fifo" --level Debug --metrics-path "$D/met.fifo" -- \
		vsock-connect=1 wait vsock-connect=2 blk-past-end blk-read=7 vsock-connect=3 exit=5
	wait_out '^vio: waiting$' || { abort_ember; return; }
	# the log works before its reader goes: a debug line per refused connection
	wait_has "$D/log.out" "v.sock_1: No such file or directory" || { abort_ember; return; }
	kill -9 "$lr" "$mr"
	wait "$lr" "$mr" 2>/dev/null
	wake
	finish_ember
	expect_rc 5
	expect_out "vio: vsock cid=3 connect port=3 ret=-6"
	expect_out "vio: blk past-end status=1"
	expect_out_re "^vio: blk read sector=7 crc=$(sector_crc "$D/small.img" 7) "
	expect_out "vio: done"
	# said once each, naming the FIFO ...
	[ "$(err_lines "^ember: logger: '$D/log\\.fifo' has no reader any more: log lines are dropped")" = 1 ] ||
		fail "no single line saying the log FIFO lost its reader"
	[ "$(err_lines "^ember: metrics: '$D/met\\.fifo' has no reader any more: metrics lines are dropped")" = 1 ] ||
		fail "no single line saying the metrics FIFO lost its reader"
	# ... and the warning the dead log could not take is on stderr instead
	expect_err_re "^ember: virtio-blk: $D/small\\.img: sector 8 \\+ 512 bytes past the end"
	expect_err_only 3
	grep -q "v.sock_2" "$D/log.out" && fail "a line reached the log after its reader was killed"
}

# A metrics FIFO nobody reads: lines wait in the pipe until it is full,
# then FlushMetrics is refused and that is said once; a reader that comes
# later gets whole lines only, and together they count every request.
# Four disks and two vCPUs make a line longer than a page (about 4.5 KiB),
# so the pipe takes the last line that fits only in part.
test_metrics_fifo_nobody_reads() {
	need_kvm || return
	local D code ok=0 refused=0 got rpid i drives=
	D=$(mktemp -d "$TMP/t.XXXXXX")
	mkfifo "$D/met.fifo"
	for i in 1 2 3 4; do
		head -c 4096 /dev/zero >"$D/d$i.img"
		drives="$drives${drives:+, }{\"drive_id\": \"disk$i\", \"path_on_host\": \"$D/d$i.img\", \"is_root_device\": false, \"is_read_only\": false}"
	done
	cat >"$D/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "$VIO", "boot_args": "console=ttyS0 -- wait exit=6"},
 "drives": [$drives],
 "machine-config": {"vcpu_count": 2, "mem_size_mib": 64}}
EOF
	start_ember --api-sock "$D/api.sock" --config-file "$D/vm.json" --metrics-path "$D/met.fifo"
	wait_out '^vio: waiting$' || { abort_ember; return; }
	for _ in $(seq 40); do
		code=$(curl -s -m 3 -o "$D/resp" -w '%{http_code}' --unix-socket "$D/api.sock" \
			-X PUT http://localhost/actions -d '{"action_type": "FlushMetrics"}')
		case $code in
		204) ok=$((ok + 1)) ;;
		400) refused=$((refused + 1)); grep -q "not keeping up" "$D/resp" ||
			fail "FlushMetrics refused for another reason: $(cat "$D/resp")" ;;
		*) fail "FlushMetrics answered $code" ;;
		esac
	done
	[ "$refused" -gt 0 ] || fail "40 flushes never filled the FIFO ($ok written)"
	cat "$D/met.fifo" >"$D/met.out" &
	rpid=$!
	BG_PIDS+=("$rpid")
	# the reader takes what the full pipe held (64 KiB, less what a line
	# did not fit in) before the guest ends and ember flushes a last time
	local size=-1 now
	for _ in $(seq 200); do
		now=$(stat -c %s "$D/met.out")
		[ "$now" -ge 61440 ] && [ "$now" = "$size" ] && break
		size=$now
		sleep 0.05
	done
	wake
	finish_ember
	wait "$rpid"
	expect_rc 6
	expect_out "vio: done"
	[ "$(err_lines "^ember: metrics: '$D/met\\.fifo' is full \\(its reader is gone or not keeping up\\): metrics lines are dropped")" = 1 ] ||
		fail "no single line saying the metrics FIFO is full"
	expect_err_only 1
	# whole JSON lines only (metric parses each); no request uncounted
	got=$(metric "$D/met.out" put_api_requests actions_count actions_fails 2>&1)
	[ "$got" = "40 $refused" ] || fail "FlushMetrics counted '$got' over all lines, want '40 $refused'"
	got=$(metric "$D/met.out" logger missed_metrics_count 2>&1)
	[ "$got" = "$refused" ] || fail "missed_metrics_count '$got', want $refused"
}

# ---------------------------------------------------------------- SIGTERM under load

# sigterm_now: SIGTERM to ember; sets RC, OUT, ERR and ELAPSED_MS (signal to exit).
sigterm_now() {
	local pid t0
	pid=$(ember_pid)
	[ -n "$pid" ] || { fail "ember is not running"; finish_ember; return 1; }
	t0=$(date +%s%N)
	kill -TERM "$pid"
	finish_ember
	ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
}

# check_stress FILE SECTORS ACKED: what blk-stress wrote is whole: every
# sector a record of one round, none older than ACKED (the last round the
# guest was told is done), and the rounds go down at most once, by one.
check_stress() {
	python3 - "$@" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
n, acked = int(sys.argv[2]), int(sys.argv[3])
rounds = []
for s in range(n):
    rec = data[s * 512:(s + 1) * 512]
    r, sec = struct.unpack("<QQ", rec[8:24])
    want = b"vio-strs" + rec[8:24] + bytes([(r * 31 + s) & 0xFF]) * (512 - 24)
    if rec != want or sec != s:
        print("sector %d is not a whole record: %s" % (s, rec[:32].hex()))
        sys.exit(1)
    rounds.append(r)
if min(rounds) < acked:
    print("sector %d holds round %d, but round %d was done" % (rounds.index(min(rounds)), min(rounds), acked))
    sys.exit(1)
if rounds != sorted(rounds, reverse=True) or rounds[0] - rounds[-1] > 1:
    print("rounds out of order: %s" % sorted(set(rounds)))
    sys.exit(1)
print("rounds %d..%d" % (rounds[-1], rounds[0]))
EOF
}

# The guest writes and reads back a disk in a loop; SIGTERM: 143 at once,
# the API socket gone, and the disk holds every round the guest was told was
# done and nothing torn.
sigterm_disk() {
	need_kvm || return
	local D acked res
	D=$(mktemp -d "$TMP/t.XXXXXX")
	head -c $((256 * SECTOR)) /dev/zero >"$D/disk.img"
	cat >"$D/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "$VIO", "boot_args": "console=ttyS0 -- blk-stress=0,256,1000000 exit=0"},
 "drives": [{"drive_id": "st", "path_on_host": "$D/disk.img", "is_root_device": false,
             "is_read_only": false, "io_engine": "$1"}],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
EOF
	start_ember --api-sock "$D/api.sock" --config-file "$D/vm.json"
	wait_out '^vio: blk stress round=3 done$' || { abort_ember; return; }
	[ -S "$D/api.sock" ] || fail "no API socket while running"
	sigterm_now || return
	expect_rc 143
	[ "$ELAPSED_MS" -lt "$PROMPT_MS" ] || fail "took $ELAPSED_MS ms to stop"
	[ -e "$D/api.sock" ] && fail "the API socket was left behind"
	expect_err_re "^ember: stopping the VM on signal 15$"
	expect_err_only 1
	grep -q "end=" <<<"$OUT" && fail "the guest ended its loop by itself: $(grep "end=" <<<"$OUT")"
	acked=$(grep -cE '^vio: blk stress round=[0-9]+ done$' <<<"$OUT")
	res=$(check_stress "$D/disk.img" 256 "$acked") || fail "disk after SIGTERM: $res"
}
test_sigterm_during_disk_io_sync() { sigterm_disk Sync; }
test_sigterm_during_disk_io_io_uring() { sigterm_disk Async; }

# The guest streams to a host program over vsock; SIGTERM: 143 at once, the
# API socket gone, the host program sees its connection end.
test_sigterm_during_vsock_stream() {
	need_kvm || return
	local D sink
	D=$(mktemp -d "$TMP/t.XXXXXX")
	peer sink "$D/v.sock_5000" || return
	sink=$PEER_PID
	cat >"$D/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "$VIO", "boot_args": "console=ttyS0 -- vsock-stream=5000,1000000000000 exit=0"},
 "vsock": {"guest_cid": 3, "uds_path": "$D/v.sock"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
EOF
	start_ember --api-sock "$D/api.sock" --config-file "$D/vm.json"
	wait_count "$D/v.sock_5000.count" 1048576 || { abort_ember; return; }
	sigterm_now || return
	expect_rc 143
	[ "$ELAPSED_MS" -lt "$PROMPT_MS" ] || fail "took $ELAPSED_MS ms to stop"
	[ -e "$D/api.sock" ] && fail "the API socket was left behind"
	expect_err_re "^ember: stopping the VM on signal 15$"
	expect_err_only 1
	grep -q "^vio: vsock stream" <<<"$OUT" && fail "the guest's stream ended before SIGTERM"
	# the host end of the stream is closed: the sink reads its end and exits
	for _ in $(seq 100); do kill -0 "$sink" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$sink" 2>/dev/null && fail "the host program's connection was left open"
}

run_tests "${1:-}"
