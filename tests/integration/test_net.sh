#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_net.sh: virtio-net on a real tap driven by the test guest (vio.elf):
# the guest ARPs for the host end of the tap and gets the host kernel's
# reply, a frame it sends is counted by the host, --net with a bad tap name
# is a configuration error (125), and deleting the tap under a running guest
# does not hang ember. Needs root (to make taps) and /dev/kvm. Everything
# happens in a network namespace the test makes: ember runs inside it, the
# taps and their addresses live there, the host's networking is untouched.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

VIO=$O/tests/guests/vio.elf
# One /24 and tap name per run, so parallel runs do not collide.
N=$((($$ % 200) + 20))
TAP=embtap$N
HOST_IP=172.30.$N.1
GUEST_IP=172.30.$N.2
MAC=02:00:00:1e:00:$(printf %02x $N)
NS=ember-net-$$

# in_ns CMD...: run CMD inside the test's network namespace.
in_ns() { ip netns exec "$NS" "$@"; }

cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# ember itself runs in the namespace, so --net finds the taps made there.
REAL_EMBER=$(readlink -f "$EMBER")
make_ns_ember() {
	ip netns list 2>/dev/null | grep -qw "$NS" || ip netns add "$NS" || return 1
	in_ns ip link set lo up
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$REAL_EMBER" >"$TMP/ember-in-ns"
	chmod +x "$TMP/ember-in-ns"
	EMBER=$TMP/ember-in-ns
}

# need_net: root, /dev/kvm, /dev/net/tun and an ember with --net; else skip.
need_net() {
	if [ "$(id -u)" != 0 ]; then
		skip "NOT ROOT: virtio-net needs a tap, which only root may create"
		return 1
	fi
	if ! have_kvm; then
		skip "no usable /dev/kvm on this host: virtio-net not tested"
		return 1
	fi
	if [ ! -c /dev/net/tun ]; then
		skip "no /dev/net/tun: virtio-net not tested"
		return 1
	fi
	if ! "$EMBER" --help 2>&1 | grep -q -- --net; then
		skip "this ember has no --net option yet (not wired in monitor/): virtio-net not tested"
		return 1
	fi
	make_ns_ember || { skip "cannot make network namespace $NS"; return 1; }
	return 0
}

# make_tap: a fresh tap, up, with the host address; false (and fail) when it cannot.
make_tap() {
	in_ns ip link del "$TAP" 2>/dev/null
	in_ns ip tuntap add dev "$TAP" mode tap || { fail "cannot create tap $TAP"; return 1; }
	# No IPv6 chatter (router solicitations, MLD): the guest reads the first frame it gets.
	in_ns sh -c "echo 1 >/proc/sys/net/ipv6/conf/$TAP/disable_ipv6" 2>/dev/null
	in_ns ip addr add "$HOST_IP/24" dev "$TAP" &&
		in_ns ip link set "$TAP" up && return 0
	fail "cannot create tap $TAP"
	return 1
}

rx_packets() { in_ns cat "/sys/class/net/$TAP/statistics/rx_packets"; }

net_arp() { # net_arp [irq]
	need_net || return
	make_tap || return
	ember_run --kernel "$VIO" --net "$TAP,mac=$MAC" -- ${1:-} net-info \
		"net-arp=$HOST_IP,$GUEST_IP" exit=0
	expect_rc 0
	expect_out "vio: net mac=$MAC"
	expect_out "vio: net arp sent ret=0"
	# The host kernel answers from the tap's own address.
	local host_mac
	host_mac=$(in_ns cat "/sys/class/net/$TAP/address")
	expect_out "vio: net recv len=42 ethertype=0x0806 src=$host_mac"
	# (The host's neighbour entry for the guest goes with the carrier when ember exits.)
	[ "$(rx_packets)" -ge 1 ] || fail "the tap counted no frame from the guest"
}
test_net_arp_reply_polled() { net_arp; }
test_net_arp_reply_interrupts() { net_arp irq; }

test_net_guest_frames_reach_the_host() {
	need_net || return
	make_tap || return
	local before after
	before=$(rx_packets)
	ember_run --kernel "$VIO" --net "$TAP" -- net-send=60 net-send=1514 net-send=100 exit=0
	expect_rc 0
	expect_out "vio: net send len=60 ret=0"
	expect_out "vio: net send len=1514 ret=0"
	expect_out "vio: net send len=100 ret=0"
	expect_out_re "^vio: net mac=|^vio: net send"
	after=$(rx_packets)
	# The host may count its own IPv6 chatter too, never fewer than ours.
	[ $((after - before)) -ge 3 ] || fail "tap rx_packets went from $before to $after, want +3"
}

test_net_random_mac_is_local() {
	need_net || return
	make_tap || return
	ember_run --kernel "$VIO" --net "$TAP" -- net-info exit=0
	expect_rc 0
	# Locally administered, unicast: the first octet's low bits are 10.
	expect_out_re "^vio: net mac=[0-9a-f][26ae](:[0-9a-f]{2}){5}$"
}

test_net_bad_tap_is_a_config_error() {
	need_net || return
	ember_run --kernel "$VIO" --net embnosuch$N -- exit=0
	expect_rc 125
	expect_err_re "--net embnosuch$N: no such network interface"
	ember_run --kernel "$VIO" --net lo -- exit=0
	expect_rc 125
	expect_err_re "--net lo: .*not a tap"
	ember_run --kernel "$VIO" --net "a-name-much-too-long-for-linux" -- exit=0
	expect_rc 125
	expect_err_re "^ember: --net: 'a-name-much-too-long-for-linux' is not a tap device name"
	in_ns ip link show embnosuch$N >/dev/null 2>&1 && fail "ember created a tap it was not given"
}

# A MAC that does not parse is refused by name, on a tap that exists (so
# the message cannot come from the tap), before the guest runs.
test_net_bad_mac_is_a_config_error() {
	need_net || return
	make_tap || return
	local mac
	for mac in zz:00:00:00:00:00 02:00:00:00:00 02:00:00:00:00:00:00 02-00-00-00-00-01 ''; do
		ember_run --kernel "$VIO" --net "$TAP,mac=$mac" -- exit=0
		expect_rc 125
		expect_err_re "^ember: --net: '$mac' is not a MAC address xx:xx:xx:xx:xx:xx$"
		grep -q 'no such network interface' <<<"$ERR" && fail "mac=$mac: blamed the tap: $ERR"
		[ -z "$OUT" ] || fail "mac=$mac: the guest ran: $OUT"
	done
}

# mtu (Firecracker 1.16): advised to the guest through VIRTIO_NET_F_MTU only
# when set, shown in GET /vm/config, refused out of range by name; a snapshot
# keeps it, and --restore's --net overrides only the tap.
test_net_mtu_reaches_the_guest() {
	need_net || return
	command -v curl >/dev/null || { skip "curl is not installed"; return; }
	make_tap || return
	ember_run --kernel "$VIO" --net "$TAP,mtu=1400" -- net-mtu exit=0
	expect_rc 0
	expect_out "vio: net mtu=1400"
	ember_run --kernel "$VIO" --net "$TAP" -- net-mtu exit=0
	expect_rc 0
	expect_out "vio: net mtu=none"
	ember_run --kernel "$VIO" --net "$TAP,mtu=67" -- net-mtu exit=0
	expect_rc 125
	expect_err_re "^ember: --net: mtu 67 is not an MTU from 68 to 65535$"
	[ -z "$OUT" ] || fail "mtu=67: the guest ran: $OUT"
	# Through the API: PUT with an MTU, the view, then the guest; then a snapshot.
	local sock=$TMP/api.sock pid code
	rm -f "$TMP/in" && mkfifo "$TMP/in"
	exec 8<>"$TMP/in"
	"$EMBER" --api-sock "$sock" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.02; done
	code=$(api "$sock" PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\", \"mtu\": 65536}")
	[ "$code" = 400 ] && grep -q 'mtu: 65536 is not an MTU from 68 to 65535' "$TMP/body" ||
		fail "mtu 65536: $code $(cat "$TMP/body")"
	code=$(api "$sock" PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\", \"mtu\": 9000}")
	[ "$code" = 204 ] || fail "PUT mtu 9000: $code $(cat "$TMP/body")"
	curl -s --max-time 5 --unix-socket "$sock" -o "$TMP/body" http://localhost/vm/config
	python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['network-interfaces'][0].get('mtu') != 9000)" \
		"$TMP/body" || fail "GET /vm/config lacks mtu 9000: $(cat "$TMP/body")"
	code=$(api "$sock" PUT /boot-source "{\"kernel_image_path\": \"$PWD/$VIO\", \"boot_args\": \"console=ttyS0 -- net-mtu wait net-mtu exit=0\"}")
	[ "$code" = 204 ] || fail "boot-source: $code $(cat "$TMP/body")"
	code=$(api "$sock" PUT /actions '{"action_type": "InstanceStart"}')
	[ "$code" = 204 ] || fail "InstanceStart: $code $(cat "$TMP/body")"
	wait_file "$TMP/out" '^vio: waiting' || { kill "$pid"; wait "$pid"; exec 8>&-; return; }
	[ "$(api "$sock" PATCH /vm '{"state": "Paused"}')" = 204 ] || fail "pause: $(cat "$TMP/body")"
	code=$(api "$sock" PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}")
	[ "$code" = 204 ] || fail "snapshot/create: $code $(cat "$TMP/body")"
	kill "$pid"
	wait "$pid"
	exec 8>&-
	OUT=$(tr -d '\r' <"$TMP/out")
	expect_out "vio: net mtu=9000"
	# Restored, the device still advises 9000 (the driver reads it again after a reset).
	printf 'x' | timeout --signal=KILL 30 "$EMBER" --restore "$TMP/vm.snap" --mem-file "$TMP/vm.mem" \
		--net "$TAP" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_rc 0
	expect_out "vio: net mtu=9000"
	"$EMBER" --restore "$TMP/vm.snap" --mem-file "$TMP/vm.mem" --net "$TAP,mtu=1500" \
		</dev/null >/dev/null 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	expect_rc 125
	expect_err_re "--net $TAP: only the tap is overridden"
}

test_net_tap_deleted_under_the_guest() {
	need_net || return
	make_tap || return
	# The guest keeps sending and receiving (2 s timeouts) while the tap goes.
	local words=() i
	for i in $(seq 1 6); do words+=(net-send=60 net-recv); done
	timeout --signal=KILL 60 "$EMBER" --kernel "$VIO" --net "$TAP" -- irq "${words[@]}" \
		exit=0 </dev/null >"$TMP/out" 2>"$TMP/err" &
	local pid=$!
	sleep 1
	in_ns ip link del "$TAP"
	wait "$pid"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_rc 0
	expect_out "vio: done"
	expect_err_re "virtio-net: $TAP: .*tap unusable, link down"
	# Frames after the tap went are dropped, not errors for the guest.
	[ "$(grep -c '^vio: net send len=60 ret=0$' <<<"$OUT")" = 6 ] ||
		fail "some sends failed after the tap was deleted"
}

# Two taps, a disk and the entropy device at once: the guest finds them in
# ember's order (disks, nets, rng), each tap is its own device with its own
# MAC, a frame the guest sends on the second reaches the second tap only, and
# the disk serves reads of the image.
test_net_two_taps_and_disk() {
	need_net || return
	make_tap || return
	local tap2=embtap$((N + 1)) mac2 rx1 rx2 crc first
	mac2=02:00:00:00:01:$(printf %02x "$N")
	in_ns ip link del "$tap2" 2>/dev/null
	if ! in_ns ip tuntap add dev "$tap2" mode tap || ! in_ns ip link set "$tap2" up; then
		fail "cannot create $tap2"
		return
	fi
	in_ns sh -c "echo 1 >/proc/sys/net/ipv6/conf/$tap2/disable_ipv6" 2>/dev/null
	head -c 1M /dev/urandom >"$TMP/disk.img"
	# Sector 7 as the guest reports it: its CRC-32 (gzip's trailer holds it)
	# and its first 16 bytes.
	dd if="$TMP/disk.img" of="$TMP/sector7" bs=512 skip=7 count=1 status=none
	crc=$(gzip -c <"$TMP/sector7" | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
	first=$(od -An -tx1 -N16 <"$TMP/sector7" | tr -d ' \n')
	rx1=$(rx_packets)
	rx2=$(in_ns cat "/sys/class/net/$tap2/statistics/rx_packets")
	ember_run --kernel "$VIO" --disk "$TMP/disk.img,id=data0" --net "$TAP,mac=$MAC" --net "$tap2,mac=$mac2" \
		--rng -- blk-info blk-read=7 net-info net-dev=1 net-info net-send=60 net-send=61 \
		rng=64 exit=0
	expect_rc 0
	expect_out "vio: devices=4"
	expect_out_re "^vio: dev 0 id=2 addr=0xc0001000 irq=5$"
	expect_out_re "^vio: dev 1 id=1 addr=0xc0002000 irq=6$"
	expect_out_re "^vio: dev 2 id=1 addr=0xc0003000 irq=7$"
	expect_out_re "^vio: dev 3 id=4 addr=0xc0004000 irq=8$"
	expect_out "vio: blk capacity=2048 ro=0 id=data0"
	expect_out "vio: blk read sector=7 crc=0x$crc first=$first"
	expect_out "vio: net mac=$MAC"
	expect_out "vio: net dev=1"
	expect_out "vio: net mac=$mac2"
	expect_out "vio: net send len=60 ret=0"
	expect_out "vio: net send len=61 ret=0"
	expect_out_re "^vio: rng ok bytes=64 "
	expect_out "vio: done"
	# IPv6 is off on both taps: the host counts the guest's frames only.
	[ "$(in_ns cat "/sys/class/net/$tap2/statistics/rx_packets")" = $((rx2 + 2)) ] ||
		fail "$tap2 rx_packets went from $rx2 to $(in_ns cat "/sys/class/net/$tap2/statistics/rx_packets"), want +2"
	[ "$(rx_packets)" = "$rx1" ] || fail "$TAP counted frames sent on the second device ($rx1 -> $(rx_packets))"
	in_ns ip link del "$tap2" 2>/dev/null
}

# api SOCK METHOD PATH BODY: one request to the ember on SOCK; prints the status.
api() {
	curl -s --max-time 5 --unix-socket "$1" -X "$2" -H 'Content-Type: application/json' \
		-d "$4" -o "$TMP/body" -w '%{http_code}' "http://localhost$3"
}
# wait_file FILE RE: FILE gets a line matching RE within 20 s.
wait_file() {
	for _ in $(seq 1000); do
		tr -d '\r' <"$1" 2>/dev/null | grep -qE -- "$2" && return 0
		sleep 0.02
	done
	fail "$1 never matched /$2/: $(head -c 600 "$1")"
	return 1
}

# A guest snapshotted with its interface on one tap and restored onto another
# (PUT /snapshot/load with network_overrides) after the first is gone: its
# ARP goes out on the new tap and the host answers it there.
test_net_restore_onto_another_tap() {
	need_net || return
	command -v curl >/dev/null || { skip "curl is not installed"; return; }
	make_tap || return
	local tap2=embtap$((N + 2)) sock=$TMP/api.sock pid code mac2
	cat >"$TMP/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$PWD/$VIO",
                 "boot_args": "console=ttyS0 -- net-info wait net-arp=$HOST_IP,$GUEST_IP exit=0"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
 "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$TAP", "guest_mac": "$MAC"}]}
JSON
	"$EMBER" --api-sock "$sock" --config-file "$TMP/vm.json" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	wait_file "$TMP/out" '^vio: waiting' || { kill "$pid"; wait "$pid"; return; }
	[ "$(api "$sock" PATCH /vm '{"state": "Paused"}')" = 204 ] || fail "pause: $(cat "$TMP/body")"
	code=$(api "$sock" PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\"}")
	[ "$code" = 204 ] || fail "snapshot/create: $code $(cat "$TMP/body")"
	kill "$pid"
	wait "$pid"
	in_ns ip link del "$TAP"
	in_ns ip tuntap add dev "$tap2" mode tap && in_ns ip link set "$tap2" up ||
		{ fail "cannot create $tap2"; return; }
	in_ns sh -c "echo 1 >/proc/sys/net/ipv6/conf/$tap2/disable_ipv6" 2>/dev/null
	in_ns ip addr add "$HOST_IP/24" dev "$tap2"
	mac2=$(in_ns cat "/sys/class/net/$tap2/address")
	# The guest waits for a byte on its serial port: a FIFO, opened here first.
	rm -f "$TMP/in" && mkfifo "$TMP/in"
	exec 8<>"$TMP/in"
	rm -f "$sock"
	"$EMBER" --api-sock "$sock" <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.02; done
	code=$(api "$sock" PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_file_path\": \"$TMP/vm.mem\", \"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"$tap2\"}]}")
	[ "$code" = 204 ] || fail "snapshot/load: $code $(cat "$TMP/body")"
	printf 'x' >&8
	for _ in $(seq 1000); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	RC=$?
	exec 8>&-
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_rc 0
	expect_out "vio: woke byte=0x78"
	expect_out "vio: net arp sent ret=0"
	expect_out "vio: net recv len=42 ethertype=0x0806 src=$mac2"
	[ "$(in_ns cat "/sys/class/net/$tap2/statistics/rx_packets")" -ge 1 ] ||
		fail "$tap2 counted no frame from the restored guest"
	# The same at a shell: --restore's --net puts the snapshot's interface on a tap.
	local rx
	rx=$(in_ns cat "/sys/class/net/$tap2/statistics/rx_packets")
	printf 'x' | timeout --signal=KILL 30 "$EMBER" --restore "$TMP/vm.snap" --mem-file "$TMP/vm.mem" \
		--net "$tap2" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	expect_rc 0
	expect_out "vio: net recv len=42 ethertype=0x0806 src=$mac2"
	[ "$(in_ns cat "/sys/class/net/$tap2/statistics/rx_packets")" -gt "$rx" ] ||
		fail "--restore --net $tap2: the tap counted no frame from the restored guest"
	# More --net flags than the snapshot has interfaces, a vsock it lacks: refused by name.
	"$EMBER" --restore "$TMP/vm.snap" --mem-file "$TMP/vm.mem" --net "$tap2" --net "$TAP" \
		</dev/null >/dev/null 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	expect_rc 125
	expect_err_re "--net $TAP: the snapshot has 1 network interface\(s\), fewer than the --net flags"
	"$EMBER" --restore "$TMP/vm.snap" --mem-file "$TMP/vm.mem" --vsock "3,$TMP/v.sock" \
		</dev/null >/dev/null 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
	expect_rc 125
	expect_err_re "vsock_override: the snapshot has no vsock device"
	in_ns ip link del "$tap2" 2>/dev/null
}

# host_net: the host namespace's links (name, MAC, flags), addresses and
# routes, for before-and-after comparisons.
host_net() {
	ip -o link show | sed -E 's/^[0-9]+: ([^:]+): <([^>]*)>.* link\/[a-z]+ ([0-9a-f:]+).*/\1 \3 \2/'
	ip -o addr show | awk '{print $2, $3, $4}'
	ip route show table all # IPv4 and IPv6
}

# ember with --net on the namespace's tap, running a guest that sends and
# waits: while it runs and after it ends, the host's namespace has no new
# link, address or route, no tap of that name and nothing with the guest's
# MAC; the guest's frames went to the namespace's tap.
test_net_leaves_host_networking_alone() {
	need_net || return
	make_tap || return
	local before during after pid rx
	before=$(host_net)
	rx=$(rx_packets)
	# net-recv waits 2 s for a frame that does not come: the time to look.
	timeout --signal=KILL 30 "$EMBER" --kernel "$VIO" --net "$TAP,mac=$MAC" -- \
		net-info net-send=60 net-recv net-recv exit=0 </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	# Up to 20 s for the send (a loaded host is slow to boot even this guest);
	# the two net-recv waits after it leave 4 s to look.
	for _ in $(seq 1000); do
		grep -q '^vio: net send len=60' "$TMP/out" && break
		sleep 0.02
	done
	grep -q '^vio: net send len=60' "$TMP/out" || fail "the guest never sent its frame within 20 s"
	during=$(host_net)
	ip link show "$TAP" >/dev/null 2>&1 && fail "tap $TAP visible in the host's namespace while ember runs"
	grep -qi "$MAC" <<<"$during" && fail "a host link has the guest's MAC $MAC while ember runs"
	wait "$pid"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	after=$(host_net)
	expect_rc 0
	expect_out "vio: net mac=$MAC"
	expect_out "vio: net send len=60 ret=0"
	expect_out "vio: done"
	[ "$(rx_packets)" -gt "$rx" ] || fail "the namespace's tap counted no frame from the guest"
	[ "$during" = "$before" ] ||
		fail "the host's networking changed while ember ran: $(diff <(echo "$before") <(echo "$during") | grep '^[<>]')"
	[ "$after" = "$before" ] ||
		fail "the host's networking changed after ember ran: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]')"
	grep -q "$HOST_IP" <<<"$after" && fail "$HOST_IP configured in the host's namespace"
	in_ns ip link show "$TAP" >/dev/null || fail "tap missing from $NS"
}

run_tests "$@"
