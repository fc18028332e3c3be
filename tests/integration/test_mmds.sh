#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_mmds.sh: the microVM metadata service with a real guest (vio.elf)
# on a real tap: its tiny TCP client ARPs for 169.254.169.254, connects and
# asks over HTTP; the answers it prints are MMDS's (text and JSON, 404, V2
# tokens and their expiry, a PATCH through the API seen at once), the
# frames it sends to MMDS never reach the tap while a frame to anyone else
# does, and the mmds metrics count it all. Needs root (taps) and /dev/kvm;
# everything happens in a network namespace of the test's own.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib_api.sh

VIO=$O/tests/guests/vio.elf
N=$((($$ % 200) + 20))
TAP=embmm$N
NS=ember-mmds-$$
DOC='{"latest": {"meta-data": {"ami-id": "ami-12345678", "network": {"mac": "x"}}}, "n": 43}'

in_ns() { ip netns exec "$NS" "$@"; }

cleanup_ns() { ip netns del "$NS" 2>/dev/null; }
trap 'bg_stop; stop_ember; cleanup_ns; rm -rf "$TMP"' EXIT

REAL_EMBER=$(readlink -f "$EMBER")

# need_mmds: root, /dev/kvm, a tap in a namespace of our own, an ember wrapper in it.
need_mmds() {
	if [ "$(id -u)" != 0 ]; then
		skip "NOT ROOT: MMDS needs a tap, which only root may create"
		return 1
	fi
	need_kvm || return 1
	if [ ! -c /dev/net/tun ]; then
		skip "no /dev/net/tun: MMDS not tested"
		return 1
	fi
	ip netns list 2>/dev/null | grep -qw "$NS" || ip netns add "$NS" ||
		{ skip "cannot make network namespace $NS"; return 1; }
	in_ns ip link set lo up
	in_ns ip link del "$TAP" 2>/dev/null
	in_ns ip tuntap add dev "$TAP" mode tap || { fail "cannot create tap $TAP"; return 1; }
	in_ns sh -c "echo 1 >/proc/sys/net/ipv6/conf/$TAP/disable_ipv6" 2>/dev/null
	in_ns ip link set "$TAP" up || { fail "cannot bring $TAP up"; return 1; }
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$REAL_EMBER" >"$TMP/ember-in-ns"
	chmod +x "$TMP/ember-in-ns"
	EMBER=$TMP/ember-in-ns
	printf '%s' "$DOC" >"$TMP/meta.json"
	return 0
}

rx_packets() { in_ns cat "/sys/class/net/$TAP/statistics/rx_packets"; }

# vm_file VERSION ARGS: a config file for vio.elf on the tap with MMDS VERSION.
vm_file() {
	cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$VIO", "boot_args": "console=ttyS0 -- $2"},
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$TAP"}],
  "mmds-config": {"network_interfaces": ["eth0"], "version": "$1"},
  "metrics": {"metrics_path": "$TMP/metrics"}
}
JSON
	: >"$TMP/metrics"
}

# mmds_metric NAME: the sum of mmds.NAME over the metrics lines written.
mmds_metric() {
	python3 -c 'import json,sys
print(sum(json.loads(l)["mmds"][sys.argv[2]] for l in open(sys.argv[1]) if l.strip()))' \
		"$TMP/metrics" "$1"
}

test_mmds_v1_text_json_404_and_other_frames_pass() {
	need_mmds || return
	local before after
	vm_file V1 "mmds-get=/latest/meta-data mmds-get=/latest/meta-data/ami-id \
mmds-get=/latest/meta-data/ami-id,json mmds-get=/latest/meta-data/network,json mmds-get=/n \
mmds-get=/latest/nope net-send=60 exit=0"
	before=$(rx_packets)
	ember_run --timeout 60 --config-file "$TMP/vm.json" --no-api --metadata "$TMP/meta.json"
	after=$(rx_packets)
	expect_rc 0
	expect_out "vio: mmds status=200 body=ami-id|network/"
	expect_out "vio: mmds status=200 body=ami-12345678"
	expect_out 'vio: mmds status=200 body="ami-12345678"'
	expect_out 'vio: mmds status=200 body={"mac":"x"}'
	expect_out "vio: mmds status=501 body=Cannot retrieve value. The value has an unsupported type."
	expect_out "vio: mmds status=404 body=Resource not found: /latest/nope."
	expect_out "vio: net send len=60 ret=0"
	# Six connections' ARP, SYN, request, ACKs and FINs were MMDS's: only the broadcast reached the tap.
	[ $((after - before)) = 1 ] ||
		fail "the tap counted $((after - before)) frames from the guest, expected 1 (the broadcast)"
	[ "$(mmds_metric rx_count)" = 6 ] || fail "mmds.rx_count $(mmds_metric rx_count), expected 6"
	[ "$(mmds_metric connections_created)" = 6 ] ||
		fail "mmds.connections_created $(mmds_metric connections_created), expected 6"
	[ "$(mmds_metric rx_accepted_err)" = 0 ] || fail "mmds.rx_accepted_err is not 0"
}

test_mmds_v2_tokens_and_expiry() {
	need_mmds || return
	vm_file V2 "mmds-get=/latest/meta-data/ami-id mmds-token=60 \
mmds-get-token=/latest/meta-data/ami-id mmds-token=1 idle=2500 \
mmds-get-token=/latest/meta-data/ami-id exit=0"
	ember_run --timeout 60 --config-file "$TMP/vm.json" --no-api --metadata "$TMP/meta.json"
	expect_rc 0
	expect_out_re '^vio: mmds status=401 body=No MMDS token provided'
	expect_out "vio: mmds token status=200 len=64"
	expect_out "vio: mmds status=200 body=ami-12345678"
	# The one-second token, asked for after 2.5 s.
	expect_out "vio: mmds status=401 body=MMDS token not valid."
	[ "$(mmds_metric rx_no_token)" = 1 ] || fail "mmds.rx_no_token $(mmds_metric rx_no_token), expected 1"
	[ "$(mmds_metric rx_invalid_token)" = 1 ] ||
		fail "mmds.rx_invalid_token $(mmds_metric rx_invalid_token), expected 1"
}

test_mmds_api_patch_is_seen_at_once() {
	need_mmds || return
	need_curl || return
	start_api || return
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$VIO\", \"boot_args\": \"console=ttyS0 -- mmds-get=/k idle=4000 mmds-get=/k exit=0\"}"
	call 204 -- PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\"}"
	call 400 "network_interfaces: no network interface 'eth1'" -- PUT /mmds/config '{"network_interfaces": ["eth1"]}'
	call 204 -- PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	call 204 -- PUT /mmds '{"k": "one"}'
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^vio: mmds status=200 body=one$' 30 || { stop_ember; return; }
	call 204 -- PATCH /mmds '{"k": "two", "other": {"x": "y"}}'
	call 200 '^\{"k":"two","other":\{"x":"y"\}\}$' -- GET /mmds
	call 400 'not supported after starting' -- PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	wait_ember 30
	expect_rc 0
	expect_out "vio: mmds status=200 body=one"
	expect_out "vio: mmds status=200 body=two"
}

# firecracker-go-sdk v1.0.0's default handler chain, request for request
# (machine.go's defaultFcInitHandlerList: the socket probe with GET
# /machine-config, logger, metrics, machine-config, boot source, drives,
# network interfaces by index, vsock, PUT /mmds/config for an interface
# with AllowMMDS, SetMetadata's PUT /mmds, InstanceStart), then what its
# Machine.GetMetadata reads: every answer as the SDK expects, and the
# guest reads the metadata the SDK set.
test_go_sdk_handler_chain() {
	need_mmds || return
	need_curl || return
	head -c 1048576 /dev/zero >"$TMP/root.img"
	start_api || return
	call 200 '"vcpu_count":' -- GET /machine-config
	call 204 -- PUT /logger "{\"log_path\": \"$TMP/log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}"
	call 204 -- PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}"
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "smt": false}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$VIO\", \"boot_args\": \"console=ttyS0 -- mmds-get=/latest/meta-data/ami-id exit=0\"}"
	call 204 -- PUT /drives/1 "{\"drive_id\": \"1\", \"path_on_host\": \"$TMP/root.img\", \"is_root_device\": true, \"is_read_only\": false}"
	call 204 -- PUT /network-interfaces/1 "{\"iface_id\": \"1\", \"host_dev_name\": \"$TAP\", \"guest_mac\": \"06:00:ac:10:00:02\"}"
	call 204 -- PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	call 204 -- PUT /mmds/config '{"network_interfaces": ["1"]}'
	call 204 -- PUT /mmds "$DOC"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_ember 60
	expect_rc 0
	expect_out "vio: mmds status=200 body=ami-12345678"
	grep -q ':DEBUG:' "$TMP/log" || fail "the SDK's logger (Debug, show_level) got no DEBUG line: $(head -c 300 "$TMP/log")"
}

run_tests "$@"
