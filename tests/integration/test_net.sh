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
	expect_err_re "--net a-name-much-too-long-for-linux: "
	in_ns ip link show embnosuch$N >/dev/null 2>&1 && fail "ember created a tap it was not given"
}

test_net_bad_mac_is_a_config_error() {
	need_net || return
	make_tap || return
	ember_run --kernel "$VIO" --net "$TAP,mac=zz:00:00:00:00:00" -- exit=0
	expect_rc 125
	expect_err_re "--net"
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

test_net_two_taps_and_disk() {
	need_net || return
	make_tap || return
	local tap2=embtap$((N + 1))
	in_ns ip link del "$tap2" 2>/dev/null
	in_ns ip tuntap add dev "$tap2" mode tap || { fail "cannot create $tap2"; return; }
	ember_run --kernel "$VIO" --net "$TAP" --net "$tap2,mac=02:00:00:00:00:02" --rng -- \
		net-info rng=64 exit=0
	in_ns ip link del "$tap2" 2>/dev/null
	expect_rc 0
	expect_out_re "^vio: devices=3$"
	expect_out_re "^vio: dev [0-9]+ id=1 "
	expect_out_re "^vio: rng ok bytes=64 "
}

test_net_leaves_host_networking_alone() {
	need_net || return
	make_tap || return
	ip link show "$TAP" >/dev/null 2>&1 && fail "tap $TAP visible in the host's namespace"
	ip -4 addr show | grep -q "$HOST_IP" && fail "$HOST_IP configured in the host's namespace"
	in_ns ip link show "$TAP" >/dev/null || fail "tap missing from $NS"
}

run_tests "$@"
