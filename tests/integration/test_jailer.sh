#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_jailer.sh: run ember-jailer as root and check, from the host, what
# the jailed process gets: its root, uid/gid in all four slots, no_new_privs,
# cgroup, rlimits, fds, device nodes, PID and network namespaces; that bad
# arguments create nothing and failures clean up; that a jailed ember boots
# a guest, 20 at a time. The stand-in monitor is tests/jailer/probe_exec.c.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

JAILER=${JAILER:-$O/ember-jailer}
PROBE=$O/tests/jailer/probe_exec
HELLO=$O/guest/hello.elf
BASE=$TMP/jails
CG_PARENT=ember-jailer-test-$$
TEST_UID=123
TEST_GID=100
NETNS=ember-jt-$$
mkdir -p "$BASE"

# Whatever a test left behind: processes, cgroups, the netns, then $TMP.
cleanup_all() {
	local f p d
	for f in "$BASE"/*/*/root/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null) && kill -KILL "$p" 2>/dev/null
	done
	sleep 0.1
	for d in /sys/fs/cgroup/*/"$CG_PARENT" /sys/fs/cgroup/"$CG_PARENT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	ip netns del "$NETNS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup_all EXIT

need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "needs root (mount namespace, mknod, cgroups): ember-jailer NOT tested"
		return 1
	fi
	if [ ! -x "$JAILER" ] || [ ! -x "$PROBE" ]; then
		skip "$JAILER or $PROBE not built (make jailer test-bins)"
		return 1
	fi
	return 0
}

# cgroup v2 mount point (empty if none).
v2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# jail_run [--timeout S] ARGS...: run the jailer; sets OUT, ERR, RC.
jail_run() {
	local t=30
	if [ "$1" = --timeout ]; then t=$2; shift 2; fi
	timeout --signal=KILL "$t" "$JAILER" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
}

# std ID: the flags every probe run shares.
std() { echo --id "$1" --exec-file "$PROBE" --uid $TEST_UID --gid $TEST_GID --chroot-base-dir "$BASE"; }

# start_waiting ID JAILER_ARGS... [-- PROBE_ARGS]: start a probe that waits;
# sets PID (the probe's host pid) and OUTF. Fails the test if it never gets ready.
start_waiting() {
	local id=$1 i
	shift
	OUTF=$TMP/out-$id
	"$JAILER" $(std "$id") "$@" wait </dev/null >"$OUTF" 2>&1 &
	JPID=$!
	for i in $(seq 100); do
		grep -q '^ready$' "$OUTF" 2>/dev/null && break
		sleep 0.05
	done
	PID=$(cat "$BASE/probe_exec/$id/root/probe_exec.pid" 2>/dev/null)
	OUT=$(cat "$OUTF")
	if ! grep -q '^ready$' "$OUTF" || [ -z "$PID" ]; then
		fail "jailed probe $id never got ready"
		return 1
	fi
}

# stop PID: kill a waiting probe and wait until it is gone.
stop() {
	local i
	kill -TERM "$1" 2>/dev/null
	for i in $(seq 100); do
		[ -d "/proc/$1" ] || break
		grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null && break
		sleep 0.02
	done
	wait "$JPID" 2>/dev/null
}

# clean_jail EXEC_NAME ID: what a user does after the VM ends.
clean_jail() {
	local d
	rm -rf "${BASE:?}/$1/$2"
	for d in /sys/fs/cgroup/*/"$CG_PARENT/$2" /sys/fs/cgroup/"$CG_PARENT/$2"; do
		[ -d "$d" ] && rmdir "$d"
	done
	return 0
}

# nothing_created ID: no jail directory and no cgroup for ID.
nothing_created() {
	local d
	[ -e "$BASE/probe_exec/$1" ] && fail "jail dir for $1 left behind: $(find "$BASE/probe_exec/$1")"
	for d in /sys/fs/cgroup/*/"$CG_PARENT/$1" /sys/fs/cgroup/"$CG_PARENT/$1"; do
		[ -d "$d" ] && fail "cgroup $d left behind"
	done
	return 0
}

# bad_run OVERRIDE...: the jailer with the usual flags, those the overrides
# give left out, then the overrides; sets OUT, ERR, RC.
bad_run() {
	local -A over=()
	local args=() a i
	local defaults=(--id bad1 --exec-file "$PROBE" --uid "$TEST_UID" --gid "$TEST_GID"
		--chroot-base-dir "$BASE" --parent-cgroup "$CG_PARENT")
	for a in "$@"; do
		[[ $a == --* ]] && over[$a]=1
	done
	for ((i = 0; i < ${#defaults[@]}; i += 2)); do
		[ -n "${over[${defaults[i]}]:-}" ] || args+=("${defaults[i]}" "${defaults[i + 1]}")
	done
	jail_run "${args[@]}" "$@"
}

# bad_case WHAT REGEX OVERRIDE...: exit status 2, a stderr line matching
# REGEX (the message for this very mistake), and nothing made anywhere.
bad_case() {
	local what=$1 re=$2
	shift 2
	bad_run "$@"
	[ "$RC" = 2 ] || { fail "$what: exit status $RC, expected 2 (stderr: $ERR)"; return 1; }
	grep -qE -- "$re" <<<"$ERR" || { fail "$what: stderr has no line matching /$re/: $ERR"; return 1; }
	nothing_created bad1
	[ -z "$(ls -A "$BASE")" ] || fail "$what: base dir not empty: $(ls -A "$BASE")"
	[ ! -e "$TMP/x" ] || fail "$what: $TMP/x created"
}

test_bad_arguments_create_nothing() {
	need_root || return
	local A='^ember-jailer: arguments: ' long v2 v2_re
	long=$(printf 'a%.0s' $(seq 65))
	v2=$(v2_mount)
	if [ -n "$v2" ]; then
		v2_re="${A}controller 'nosuchctl' is not available in cgroup v2 at $v2 \(it has: [^)]*\): No such file or directory$"
	else
		v2_re="${A}no cgroup2 file system is mounted"
	fi
	bad_case "long id" "$A--id '$long': want 1\.\.64 of A-Z a-z 0-9 -$" --id "$long" || return
	bad_case "id with a slash" "$A--id 'a/b': want 1\.\.64 of A-Z a-z 0-9 -$" --id 'a/b' || return
	bad_case "base with .." "$A--chroot-base-dir '$BASE/\.\./x': want an absolute path without '\.\.'$" \
		--chroot-base-dir "$BASE/../x" || return
	bad_case "cgroup syntax" "$A--cgroup 'nodot=1': want <controller>\.<property>=<value>$" \
		--cgroup nodot=1 || return
	bad_case "cgroup controller missing" \
		"$A--cgroup nosuchctl\.max: no cgroup v1 hierarchy has the 'nosuchctl' controller mounted: No such file or directory$" \
		--cgroup-version 1 --cgroup nosuchctl.max=1 || return
	bad_case "v2 controller missing" "$v2_re" --cgroup-version 2 --cgroup nosuchctl.max=1 || return
	bad_case "limit syntax" "$A--resource-limit 'nofile=10': want fsize=N or no-file=N \(1\.\.1048576\)$" \
		--resource-limit nofile=10 || return
	bad_case "limit above nr_open" \
		"$A--resource-limit 'no-file=1048577': want fsize=N or no-file=N \(1\.\.1048576\)$" \
		--resource-limit no-file=1048577 || return
	bad_case "netns not a namespace" "$A/etc/passwd is not a network namespace handle: Invalid argument$" \
		--netns /etc/passwd || return
	bad_case "netns missing" "${A}open /run/netns/does-not-exist: No such file or directory$" \
		--netns /run/netns/does-not-exist || return
	bad_case "exec file missing" "$A--exec-file $TMP/nope: No such file or directory$" \
		--exec-file "$TMP/nope" || return
	bad_case "version 3" "$A--cgroup-version '3': want 1 or 2$" --cgroup-version 3 || return
	bad_case "a flag twice" "$A--uid given twice$" --uid 5 --uid 6 || return
}

# Kata runs the jailer with --uid 0 --gid 0, which Firecracker's accepts:
# so does ember-jailer, with one note on stderr; the jail is the same.
test_uid_0_is_allowed_with_a_note() {
	need_root || return
	jail_run --id root1 --exec-file "$PROBE" --uid 0 --gid 0 --chroot-base-dir "$BASE" -- one
	expect_rc 0
	expect_out "uid: 0 0 0"
	expect_out "gid: 0 0 0"
	expect_out "nnp: 1"
	expect_out "host files: hidden"
	[ "$(grep -c 'ember-jailer: note: --uid 0 --gid 0' <<<"$ERR")" = 1 ] ||
		fail "expected one note about uid 0 on stderr: $ERR"
	clean_jail probe_exec root1
}

test_probe_sees_only_its_jail() {
	need_root || return
	jail_run $(std see1) -- one two
	expect_rc 0
	expect_out "argv[0]: /probe_exec"
	expect_out "argv[1]: --id"
	expect_out "argv[2]: see1"
	expect_out "argv[3]: --start-time-us"
	expect_out_re '^argv\[4\]: [0-9]+$'
	expect_out "argv[5]: --start-time-cpu-us"
	expect_out_re '^argv\[6\]: [0-9]+$'
	# As Firecracker's jailer: the CPU time of jailer processes the monitor
	# does not descend from (none here: no fork).
	expect_out "argv[7]: --parent-cpu-time-us"
	expect_out "argv[8]: 0"
	expect_out "argv[9]: one"
	expect_out "argv[10]: two"
	expect_out "uid: $TEST_UID $TEST_UID $TEST_UID"
	expect_out "gid: $TEST_GID $TEST_GID $TEST_GID"
	expect_out "groups: 0"
	expect_out "nnp: 1"
	expect_out "cwd: /"
	expect_out "nofile: 2048 2048"
	expect_out "fds: 0 1 2"
	expect_out "environ: empty"
	expect_out "host files: hidden"
	expect_out "dev /dev/kvm: ok"
	expect_out "dev /dev/net/tun: ok"
	expect_out "dev /dev/urandom: ok"
	expect_out "write /: ok"
	expect_out_re '^root: .*\bprobe_exec\b'
	clean_jail probe_exec see1
}

test_host_view_of_jailed_process() {
	need_root || return
	local v2 root cgpath
	v2=$(v2_mount)
	[ -n "$v2" ] || { skip "no cgroup2 mount"; return; }
	start_waiting host1 --cgroup-version 2 --parent-cgroup "$CG_PARENT" \
		--cgroup cgroup.max.descendants=2 --resource-limit fsize=1048576 \
		--resource-limit no-file=512 -- || { clean_jail probe_exec host1; return; }
	root=$BASE/probe_exec/host1/root
	grep -qE "^Uid:\s+$TEST_UID\s+$TEST_UID\s+$TEST_UID\s+$TEST_UID$" /proc/$PID/status || fail "Uid not $TEST_UID x4"
	grep -qE "^Gid:\s+$TEST_GID\s+$TEST_GID\s+$TEST_GID\s+$TEST_GID$" /proc/$PID/status || fail "Gid not $TEST_GID x4"
	grep -qE '^Groups:\s*$' /proc/$PID/status || fail "supplementary groups not empty"
	grep -qE '^NoNewPrivs:\s+1$' /proc/$PID/status || fail "NoNewPrivs not 1"
	grep -qE '^CapEff:\s+0+$' /proc/$PID/status || fail "effective capabilities left"
	grep -qE '^CapPrm:\s+0+$' /proc/$PID/status || fail "permitted capabilities left"
	[ "$(stat -L -c %d:%i /proc/$PID/root)" = "$(stat -c %d:%i "$root")" ] || fail "/proc/$PID/root is not the jail root"
	# Its working directory is the jail's root (read from here, the path
	# would be the host's name for it): compare the directory itself.
	[ "$(stat -L -c %d:%i /proc/$PID/cwd)" = "$(stat -c %d:%i "$root")" ] ||
		fail "its working directory is not the jail root: $(readlink /proc/$PID/cwd)"
	cgpath=$(sed -n 's/^0:://p' /proc/$PID/cgroup)
	[ "$cgpath" = "/$CG_PARENT/host1" ] || fail "cgroup v2 path '$cgpath', expected /$CG_PARENT/host1"
	[ "$(cat "$v2/$CG_PARENT/host1/cgroup.max.descendants")" = 2 ] || fail "cgroup value not written"
	grep -qE '^Max open files\s+512\s+512\s' /proc/$PID/limits || fail "no-file limit not 512/512"
	grep -qE '^Max file size\s+1048576\s+1048576\s' /proc/$PID/limits || fail "fsize limit not 1048576"
	[ "$(ls /proc/$PID/fd | sort -n | tr '\n' ' ')" = "0 1 2 " ] || fail "fds beyond stdio: $(ls /proc/$PID/fd)"
	# A copy, not a link: its own inode, one link, same bytes.
	[ "$(stat -c %i "$root/probe_exec")" != "$(stat -c %i "$PROBE")" ] || fail "binary is a hard link"
	[ "$(stat -c %h "$root/probe_exec")" = 1 ] || fail "binary has more than one link"
	cmp -s "$root/probe_exec" "$PROBE" || fail "binary copy differs"
	[ "$(stat -c '%F %u:%g %t,%T' "$root/dev/kvm")" = "character special file $TEST_UID:$TEST_GID a,e8" ] ||
		fail "/dev/kvm: $(stat -c '%F %u:%g %t,%T' "$root/dev/kvm")"
	[ "$(stat -c '%u:%g %a' "$root")" = "$TEST_UID:$TEST_GID 700" ] || fail "jail root not owned 0700 by the target"
	if [ -c /dev/userfaultfd ]; then
		[ -c "$root/dev/userfaultfd" ] || fail "no /dev/userfaultfd in the jail though the host has one"
	fi
	[ -d "$root/run" ] || fail "no /run in the jail"
	stop "$PID"
	clean_jail probe_exec host1
}

test_cgroup_v1() {
	need_root || return
	local mnt
	mnt=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { print $2; exit }' /proc/mounts)
	[ -n "$mnt" ] || { skip "no cgroup v1 pids hierarchy on this host"; return; }
	start_waiting v1a --cgroup-version 1 --parent-cgroup "$CG_PARENT/nested" \
		--cgroup pids.max=64 -- || { clean_jail probe_exec v1a; return; }
	grep -qE ":pids:/$CG_PARENT/nested/v1a$" /proc/$PID/cgroup || fail "not in the pids cgroup: $(cat /proc/$PID/cgroup)"
	[ "$(cat "$mnt/$CG_PARENT/nested/v1a/pids.max")" = 64 ] || fail "pids.max not written"
	stop "$PID"
	clean_jail probe_exec v1a
}

test_new_pid_ns() {
	need_root || return
	start_waiting pidns1 --new-pid-ns -- || { clean_jail probe_exec pidns1; return; }
	expect_out "pid: 1"
	grep -qE "^NSpid:\s+$PID\s+1$" /proc/$PID/status || fail "pid file $PID is not pid 1 of a new namespace"
	[ "$(readlink /proc/$PID/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || fail "same PID namespace as the host"
	stop "$PID"
	clean_jail probe_exec pidns1
}

test_daemonize() {
	need_root || return
	local t0 t1
	# As a process group leader (what setsid(1) makes it), setsid(2) would
	# fail: the jailer then forks once, and returns when the monitor runs.
	t0=$(date +%s)
	setsid -w "$JAILER" $(std daemon1) --daemonize -- wait </dev/null >"$TMP/dout" 2>&1
	RC=$?
	t1=$(date +%s)
	expect_rc 0
	[ $((t1 - t0)) -lt 10 ] || fail "jailer did not return while the monitor runs"
	PID=$(cat "$BASE/probe_exec/daemon1/root/probe_exec.pid")
	[ "$(readlink /proc/$PID/fd/0)" = /dev/null ] && [ "$(readlink /proc/$PID/fd/1)" = /dev/null ] &&
		[ "$(readlink /proc/$PID/fd/2)" = /dev/null ] || fail "stdio not /dev/null"
	[ "$(ps -o sid= -p "$PID" | tr -d ' ')" = "$PID" ] || fail "not a session leader"
	[ -s "$TMP/dout" ] && fail "daemon wrote to the caller's stdout: $(cat "$TMP/dout")"
	kill "$PID"
	sleep 0.1
	clean_jail probe_exec daemon1
}

test_netns_tap() {
	need_root || return
	command -v ip >/dev/null || { skip "no ip(8)"; return; }
	ip netns add "$NETNS" || { skip "ip netns add failed"; return; }
	ip netns exec "$NETNS" ip tuntap add dev jt0 mode tap user $TEST_UID group $TEST_GID ||
		{ fail "tuntap add"; return; }
	start_waiting net1 --netns "/run/netns/$NETNS" -- tap=jt0 || { clean_jail probe_exec net1; return; }
	expect_out "tap: jt0 attached"
	[ "$(stat -L -c %i /proc/$PID/ns/net)" = "$(stat -L -c %i "/run/netns/$NETNS")" ] ||
		fail "not in netns $NETNS"
	ip netns exec "$NETNS" ip -d link show jt0 >/dev/null || fail "tap gone from the netns"
	ip link show jt0 >/dev/null 2>&1 && fail "tap visible in the host netns"
	stop "$PID"
	clean_jail probe_exec net1
	# Without --netns the same tap is not there, and the jailed uid may not
	# create one: the probe runs (status 0) and its TUNSETIFF is refused.
	jail_run $(std net2) -- tap=jt0
	expect_rc 0
	expect_out "argv[0]: /probe_exec"
	expect_out "uid: $TEST_UID $TEST_UID $TEST_UID"
	expect_out "tap: jt0: Operation not permitted"
	expect_out "ready"
	ip link show jt0 >/dev/null 2>&1 && fail "a tap jt0 appeared in the host netns"
	clean_jail probe_exec net2
	ip netns del "$NETNS"
}

test_failures_clean_up() {
	need_root || return
	local v2 root
	v2=$(v2_mount)
	# cgroup step: a value the kernel refuses, after the jail dir exists.
	if [ -n "$v2" ]; then
		jail_run $(std fail1) --cgroup-version 2 --parent-cgroup "$CG_PARENT" --cgroup cgroup.max.depth=bogus
		expect_rc 1
		expect_err_re "^ember-jailer: cgroup: write 'bogus' to .*/cgroup.max.depth: Invalid argument$"
		expect_err_re '^ember-jailer: cleanup: removed'
		nothing_created fail1
	fi
	# exec step: a script whose interpreter is not in the jail; the user's
	# pre-made root and the file in it survive, everything else goes.
	printf '#!/bin/sh\necho hi\n' >"$TMP/script"
	chmod 755 "$TMP/script"
	root=$BASE/script/fail2/root
	mkdir -p "$root"
	echo kernel >"$root/kernel"
	jail_run --id fail2 --exec-file "$TMP/script" --uid $TEST_UID --gid $TEST_GID \
		--chroot-base-dir "$BASE" --new-pid-ns
	expect_rc 1
	expect_err_re '^ember-jailer: exec: execve /script in the jail: No such file or directory$'
	[ "$(ls -A "$root")" = kernel ] || fail "jail not back to what the user made: $(ls -A "$root")"
	rm -rf "$BASE/script"
	# chroot step: the same id twice.
	start_waiting dup1 -- || { clean_jail probe_exec dup1; return; }
	jail_run $(std dup1)
	expect_rc 1
	expect_err_re '^ember-jailer: chroot dir: copy .* in use or was not cleaned up\): File exists$'
	[ -f "$BASE/probe_exec/dup1/root/probe_exec" ] || fail "the running jail's binary was removed"
	stop "$PID"
	clean_jail probe_exec dup1
}

# boot_in_jail ID EXEC [EXTRA_LINK]: jail EXEC with hello.elf linked in; sets OUT/ERR/RC.
link_in() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

need_ember() {
	have_kvm || { skip "no usable /dev/kvm: jailed boot not tested"; return 1; }
	[ -x "$EMBER" ] && [ -f "$HELLO" ] || { skip "$EMBER or $HELLO not built"; return 1; }
	return 0
}
# can_boot: what need_ember asks, without a verdict.
can_boot() { have_kvm && [ -x "$EMBER" ] && [ -f "$HELLO" ]; }

test_jailed_ember_boots() {
	need_root || return
	need_ember || return
	local root=$BASE/ember/real1/root
	mkdir -p "$root"
	link_in "$HELLO" "$root/hello.elf"
	jail_run --id real1 --exec-file "$EMBER" --uid $TEST_UID --gid $TEST_GID --chroot-base-dir "$BASE" \
		-- --kernel /hello.elf -- jail
	expect_rc 0
	expect_out "hello, jail"
	rm -rf "$BASE/ember/real1"
}

# The real monitor in its jail, seen from the host while its guest waits:
# chroot root, target ids, no_new_privs, and a seccomp filter on every thread.
test_jailed_ember_is_confined() {
	need_root || return
	need_ember || return
	local root=$BASE/ember/conf1/root pid t threads=0 confined=0
	mkdir -p "$root"
	link_in "$PWD/$O/tests/guests/probe.elf" "$root/probe.elf"
	mkfifo "$TMP/jin"
	"$JAILER" --id conf1 --exec-file "$EMBER" --uid $TEST_UID --gid $TEST_GID --chroot-base-dir "$BASE" \
		-- --kernel /probe.elf -- wait exit=5 <"$TMP/jin" >"$TMP/jout" 2>"$TMP/jerr" &
	pid=$!
	exec 8>"$TMP/jin"
	for _ in $(seq 100); do grep -q "probe: waiting" "$TMP/jout" && break; sleep 0.05; done
	# In its own mount namespace the path reads "/": compare the directory itself.
	[ "$(stat -L -c %d:%i /proc/$pid/root)" = "$(stat -c %d:%i "$root")" ] ||
		fail "its root is not the jail's root directory $root"
	grep -qE "^Uid:\s+$TEST_UID\s+$TEST_UID\s+$TEST_UID\s+$TEST_UID$" /proc/$pid/status || fail "uids not all $TEST_UID"
	grep -qE "^Gid:\s+$TEST_GID\s+$TEST_GID\s+$TEST_GID\s+$TEST_GID$" /proc/$pid/status || fail "gids not all $TEST_GID"
	grep -qE '^NoNewPrivs:\s+1$' /proc/$pid/status || fail "NoNewPrivs not 1"
	for t in /proc/$pid/task/*; do
		threads=$((threads + 1))
		grep -qE '^Seccomp:\s+2$' "$t/status" && confined=$((confined + 1))
	done
	[ "$threads" -ge 2 ] && [ "$confined" = "$threads" ] || fail "$confined of $threads threads confined"
	printf 'q' >&8
	exec 8>&-
	wait "$pid"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/jout")
	ERR=$(cat "$TMP/jerr")
	expect_rc 5
	expect_out "probe: woke byte=0x71"
	rm -rf "$BASE/ember/conf1"
}

# A template made in one jail and restored in another: the snapshot's files
# live inside each jail, written and read by the jailed uid under the
# production seccomp filters.
test_jailed_snapshot_and_restore() {
	need_root || return
	need_ember || return
	local one=$BASE/ember/snap1/root two=$BASE/ember/snap2/root
	mkdir -p "$one" "$two"
	link_in "$PWD/$O/tests/guests/probe.elf" "$one/probe.elf"
	jail_run --id snap1 --exec-file "$EMBER" --uid $TEST_UID --gid $TEST_GID --chroot-base-dir "$BASE" \
		-- --kernel /probe.elf --snapshot-when-ready /vm.snap --mem-file /vm.mem -- timer random exit=3
	expect_rc 0
	[ "$(stat -c %u "$one/vm.snap" 2>/dev/null)" = $TEST_UID ] || fail "no state file written by uid $TEST_UID: $(ls -ln "$one")"
	[ -f "$one/vm.mem" ] || fail "no memory file in the jail"
	if grep -q '^probe: random' <<<"$OUT"; then fail "the template ran past its ready signal"; fi
	mv "$one/vm.snap" "$one/vm.mem" "$two/"
	jail_run --id snap2 --exec-file "$EMBER" --uid $TEST_UID --gid $TEST_GID --chroot-base-dir "$BASE" \
		-- --restore /vm.snap --mem-file /vm.mem
	expect_rc 3
	expect_out_re '^probe: random 0x[0-9a-f]+ generation=1$'
	rm -rf "$BASE/ember/snap1" "$BASE/ember/snap2"
}

test_parallel_20_jails() {
	need_root || return
	local n=20 i exec name v2 ok=0 extra=()
	v2=$(v2_mount)
	if can_boot; then
		exec=$EMBER
	else
		exec=$PROBE	# no KVM: still 20 jails, no boot (the reason is in the SKIPs above)
	fi
	name=$(basename "$exec")
	[ -n "$v2" ] && extra=(--cgroup-version 2 --parent-cgroup "$CG_PARENT" --cgroup cgroup.max.descendants=4)
	for i in $(seq $n); do
		mkdir -p "$BASE/$name/par$i/root"
		if [ "$exec" != "$PROBE" ]; then
			link_in "$HELLO" "$BASE/$name/par$i/root/hello.elf"
		fi
	done
	for i in $(seq $n); do
		if [ "$exec" = "$PROBE" ]; then
			"$JAILER" --id par$i --exec-file "$exec" --uid $TEST_UID --gid $TEST_GID --chroot-base-dir "$BASE" \
				--new-pid-ns "${extra[@]}" -- "hello, par$i" >"$TMP/par$i" 2>&1 &
		else
			timeout --signal=KILL 60 "$JAILER" --id par$i --exec-file "$exec" --uid $TEST_UID --gid $TEST_GID \
				--chroot-base-dir "$BASE" "${extra[@]}" -- --kernel /hello.elf -- par$i \
				</dev/null >"$TMP/par$i" 2>&1 &
		fi
	done
	wait
	for i in $(seq $n); do
		if [ "$exec" = "$PROBE" ]; then
			# --new-pid-ns: the jailer returned once the probe exec'd; let it finish.
			for _ in $(seq 100); do grep -q '^ready$' "$TMP/par$i" && break; sleep 0.05; done
			grep -q '^ready$' "$TMP/par$i" && ok=$((ok + 1))
		else
			tr -d '\r' <"$TMP/par$i" | grep -qx "hello, par$i" && ok=$((ok + 1))
		fi
	done
	sleep 0.1
	for i in $(seq $n); do clean_jail "$name" par$i; done
	[ "$ok" = $n ] || { OUT=$(head -n 20 "$TMP"/par*); fail "$ok of $n jailed $name runs succeeded"; }
	[ -z "$(ls -A "$BASE/$name")" ] || fail "jail dirs left: $(ls -A "$BASE/$name")"
	if [ -n "$v2" ] && [ -n "$(find "$v2/$CG_PARENT" -mindepth 1 -type d 2>/dev/null)" ]; then
		fail "cgroups left under $v2/$CG_PARENT"
	fi
	# After a FAIL above this adds to its reason (lib.sh), never hides it.
	[ "$exec" = "$PROBE" ] && skip "20 jails ran the probe, not a guest: no KVM or ember here"
	return 0
}

run_tests "${1:-}"
