#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_api.sh: Firecracker's control plane: the REST API over a Unix socket
# (driven with curl), the JSON config file, the process flags, the logger
# and the metrics. Boots the small guests under KVM through the API.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib_api.sh

HELLO=$PWD/$O/guest/hello.elf
PROBE=$PWD/$O/tests/guests/probe.elf
VIO=$PWD/$O/tests/guests/vio.elf

test_preboot_status_codes_and_bodies() {
	need_curl || return
	start_api || return
	call 200 '^\{"id":"anonymous-instance","state":"Not started","vmm_version":"[^"]+","app_name":"ember"\}$' -- GET /
	call 200 '^\{"firecracker_version":"[^"]+"\}$' -- GET /version
	call 200 '^\{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"\}$' -- GET /machine-config
	call 204 -- PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256, "smt": false}'
	[ -z "$BODY" ] || fail "204 with a body: $BODY"
	call 200 '"vcpu_count":2,"mem_size_mib":256' -- GET /machine-config
	call 400 '^\{"fault_message":"vcpu_count: 0 is out of range \(1 to 32\)"\}$' -- PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 256}'
	call 400 'vcpu_count: 33 is out of range' -- PUT /machine-config '{"vcpu_count": 33, "mem_size_mib": 256}'
	call 400 'mem_size_mib: 0 is out of range' -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 0}'
	call 400 'vcpu_count: missing required field' -- PUT /machine-config '{"mem_size_mib": 256}'
	call 400 'vcpu_count: expected an integer, got a string' -- PUT /machine-config '{"vcpu_count": "2", "mem_size_mib": 256}'
	call 400 'foo: unknown field' -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256, "foo": 1}'
	call 400 'invalid JSON at line 1' -- PUT /machine-config '{"vcpu_count": 1'
	call 400 'needs a JSON body' -- PUT /machine-config
	call 204 -- PATCH /machine-config '{"mem_size_mib": 64}'
	call 200 '"vcpu_count":2,"mem_size_mib":64' -- GET /machine-config
	call 400 'kernel_image_path: cannot open' -- PUT /boot-source '{"kernel_image_path": "/nonexistent"}'
	call 400 'boot-source: missing' -- PUT /actions '{"action_type": "InstanceStart"}'
	call 400 "action_type: 'Explode' is not one of" -- PUT /actions '{"action_type": "Explode"}'
	call 400 'before starting the microVM' -- PATCH /vm '{"state": "Paused"}'
	call 400 'before starting the microVM' -- PUT /actions '{"action_type": "SendCtrlAltDel"}'
	call 400 'metrics are not configured' -- PUT /actions '{"action_type": "FlushMetrics"}'
	# Firecracker's statuses: 400 for an unknown path or method, an empty PATCH, a GET with a body.
	call 400 '^\{"fault_message":"Invalid request method and/or path: GET /nope"\}$' -- GET /nope
	call 400 'Invalid request method and/or path: DELETE /machine-config' -- DELETE /machine-config
	call 400 -- GET /boot-source
	call 400 -- PUT /vm '{}'
	call 400 'Empty PATCH request' -- PATCH /machine-config '{}'
	call 400 'a GET request takes no body' -- GET /machine-config '{"vcpu_count": 2}'
	call 400 '^\{"fault_message":"PUT /balloon: ember does not support the balloon device"\}$' -- PUT /balloon '{"amount_mib": 64, "deflate_on_oom": true}'
	call 400 'before the microVM has started' -- PUT /snapshot/create '{"snapshot_path": "/tmp/s", "mem_file_path": "/tmp/m"}'
	call 400 "network_interfaces: no network interface 'eth0'" -- PUT /mmds/config '{"network_interfaces": ["eth0"]}'
	call 204 -- PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$HELLO\", \"is_root_device\": true, \"is_read_only\": true}"
	call 400 'does not match the id in the path' -- PUT /drives/other "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$HELLO\", \"is_root_device\": true}"
	call 400 'a root block device already exists' -- PUT /drives/second "{\"drive_id\": \"second\", \"path_on_host\": \"$HELLO\", \"is_root_device\": true}"
	# Firecracker attaches to the tap at PUT: a missing one is a 400 there.
	call 400 "host_dev_name: 'tap0': no such network interface" -- PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "AA:FC:00:00:00:01"}'
	call 204 -- PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	call 204 -- PUT /entropy '{}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}"
	call 200 '"drives":\[\{"drive_id":"rootfs"' -- GET /vm/config
	grep -q '"network-interfaces":\[\]' <<<"$BODY" || fail "vm/config holds the refused interface: $BODY"
	grep -q '"entropy":{"rate_limiter":null}' <<<"$BODY" || fail "vm/config lacks entropy: $BODY"
	call 200 '"state":"Not started"' -- GET /
	stop_ember
	expect_rc 143
	[ -S "$SOCK" ] && fail "the socket is left behind after a pre-boot exit"
}

test_keep_alive_several_requests_one_connection() {
	need_curl || return
	start_api || return
	curl -sv --unix-socket "$SOCK" http://localhost/ http://localhost/version http://localhost/machine-config \
		>"$TMP/ka.out" 2>"$TMP/ka.err"
	[ "$(grep -c '< HTTP/1.1 200' "$TMP/ka.err")" = 3 ] || fail "three requests, not three 200s"
	grep -qiE 're-?using existing connection' "$TMP/ka.err" || fail "curl did not reuse the connection"
	stop_ember
}

test_payload_limit() {
	need_curl || return
	start_api --http-api-max-payload-size 64 || return
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	call 400 'larger than the limit of 64 bytes' -- PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false, \"track_dirty_pages\": false}"
	stop_ember
}

test_boot_hello_through_the_api() {
	need_kvm || return
	need_curl || return
	start_api || return
	call 204 -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0 -- from the API\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_ember 20
	expect_rc 0
	expect_out "hello, from the API"
}

test_post_boot_api() {
	need_kvm || return
	need_curl || return
	start_api --id post-boot-vm || return
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- sleep=2000 exit=7\"}"
	call 204 -- PUT /metrics "{\"metrics_path\": \"$TMP/metrics.json\"}"
	truncate -s 1M "$TMP/disk.img" "$TMP/disk2.img"
	call 204 -- PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	call 200 '^\{"id":"post-boot-vm","state":"Running"' -- GET /
	call 400 'not supported after starting the microVM' -- PUT /actions '{"action_type": "InstanceStart"}'
	call 400 'not supported after starting the microVM' -- PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	call 400 'not supported after starting the microVM' -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\"}"
	call 200 '"boot_args":"console=ttyS0 -- sleep=2000 exit=7"' -- GET /vm/config
	call 204 -- PUT /actions '{"action_type": "FlushMetrics"}'
	call 400 'no drive' -- PATCH /drives/nope '{"drive_id": "nope"}'
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 200 '"state":"Paused"' -- GET /
	call 204 -- PATCH /vm '{"state": "Paused"}'
	call 400 "state: 'Frozen' is not one of Paused, Resumed" -- PATCH /vm '{"state": "Frozen"}'
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	# The probe has no keyboard driver: the scancodes just wait in the i8042.
	call 204 -- PUT /actions '{"action_type": "SendCtrlAltDel"}'
	# A new backing file (the guest-visible side: test_patch_drive_guest_reads_new_file).
	call 204 -- PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/disk2.img\"}"
	call 200 "\"path_on_host\":\"$TMP/disk2.img\"" -- GET /vm/config
	call 400 "Updating a drive of a running microVM failed: virtio-blk: $TMP/nope.img: open: No such file" -- PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/nope.img\"}"
	call 200 "\"path_on_host\":\"$TMP/disk2.img\"" -- GET /vm/config
	# Rate limiters: a bucket left out stays as it was (Firecracker's BucketUpdate::None).
	call 204 -- PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100}}}'
	call 204 -- PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"ops": {"size": 1000, "one_time_burst": 5, "refill_time": 1000}}}'
	call 200 '"rate_limiter":\{"bandwidth":\{"size":1048576,"one_time_burst":0,"refill_time":100\},"ops":\{"size":1000,"one_time_burst":5,"refill_time":1000\}\}' -- GET /vm/config
	call 200 '"state":"Running"' -- GET /
	wait_ember 20
	expect_rc 7
	expect_out "probe: done"
	[ -s "$TMP/metrics.json" ] || { fail "no metrics written"; return; }
	grep -q '"put_api_requests":{"actions_count":' "$TMP/metrics.json" || fail "metrics lack put_api_requests"
	grep -q '"process_startup_time_us":' "$TMP/metrics.json" || fail "metrics lack the start-up time"
	[ "$(wc -l <"$TMP/metrics.json")" -ge 2 ] || fail "FlushMetrics and the exit flush: expected 2 lines"
	# Three PATCHes took effect (file, bandwidth, ops), one failed (no such file);
	# 'nope' never named a drive, so it is no drive's update.
	local got
	got=$(python3 -c 'import json,sys; b = json.loads(open(sys.argv[1]).read().splitlines()[-1])["block_data"]; print(b["update_count"], b["update_fails"])' "$TMP/metrics.json" 2>&1)
	[ "$got" = "3 1" ] || fail "block_data update_count update_fails: got '$got', want '3 1'"
}

# The guest's second read is held by the rate limiter (512 bytes per 2 s)
# while the backing file changes under it: it and the third read see the new file.
test_patch_drive_guest_reads_new_file() {
	need_kvm || return
	need_curl || return
	head -c 8192 /dev/zero | tr '\0' 'A' >"$TMP/a.img"
	head -c 8192 /dev/zero | tr '\0' 'B' >"$TMP/b.img"
	write_config "$VIO" "console=ttyS0 -- blk-read=0 blk-read=0 blk-read=0 exit=0" ',
	  "drives": [{"drive_id": "data", "path_on_host": "'"$TMP/a.img"'", "is_root_device": false,
	              "rate_limiter": {"bandwidth": {"size": 512, "refill_time": 2000}}}]'
	start_api --config-file "$TMP/vm.json" || return
	wait_out '^vio: blk read sector=0 ' || { stop_ember; return; }
	call 204 -- PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/b.img\"}"
	wait_ember 20
	expect_rc 0
	local reads
	reads=$(grep -E '^vio: blk read sector=0 ' <<<"$OUT" | sed 's/.*first=//' | tr '\n' ' ')
	[ "$reads" = "41414141414141414141414141414141 42424242424242424242424242424242 42424242424242424242424242424242 " ] ||
		fail "reads before and after the swap: $reads"
}

# boot_reads LIMITER_JSON: boot vio reading 64 sectors (32 KiB) from a
# disk limited by LIMITER_JSON; sets MS to the run's wall time.
boot_reads() {
	local words="" t0 i
	for i in $(seq 0 63); do words="$words blk-read=$i"; done
	head -c 32768 /dev/urandom >"$TMP/r.img"
	write_config "$VIO" "console=ttyS0 --$words exit=0" ',
	  "drives": [{"drive_id": "data", "path_on_host": "'"$TMP/r.img"'", "is_root_device": false'"$1"'}]'
	t0=$(date +%s%N)
	ember_run --config-file "$TMP/vm.json" --no-api --metrics-path "$TMP/m.json"
	MS=$((($(date +%s%N) - t0) / 1000000))
	expect_rc 0
	[ "$(grep -cE '^vio: blk read sector=[0-9]+ crc=' <<<"$OUT")" = 64 ] || fail "not 64 good reads"
}

# 8 KiB per 500 ms, starting full: 32 KiB cannot be read in less than
# (32 - 8) / 16 = 1.5 s, whatever the read speed (unlimited, a read takes
# ~6 ms under software KVM, ~0.4 s for 64, which overlaps the wait).
test_drive_rate_limiter_slows_reads() {
	need_kvm || return
	local free
	boot_reads ""
	free=$MS
	[ "$(metric block_data rate_limiter_throttled_events)" = 0 ] ||
		fail "unlimited: rate_limiter_throttled_events $(metric block_data rate_limiter_throttled_events)"
	boot_reads ', "rate_limiter": {"bandwidth": {"size": 8192, "refill_time": 500}}'
	[ "$MS" -ge 1300 ] && [ "$MS" -ge $((free + 500)) ] ||
		fail "bandwidth-limited boot ${MS} ms, unlimited ${free} ms: expected >= 1.5 s"
	# Held back at least three times (24 KiB past the first 8), each resumed by the timer.
	[ "$(metric block_data rate_limiter_throttled_events)" -ge 3 ] ||
		fail "rate_limiter_throttled_events $(metric block_data rate_limiter_throttled_events), want >= 3"
	[ "$(metric block_data rate_limiter_event_count)" -ge 3 ] ||
		fail "rate_limiter_event_count $(metric block_data rate_limiter_event_count), want >= 3"
	[ "$(metric block_data read_count)" = 64 ] || fail "read_count $(metric block_data read_count), want 64"
	[ "$MS" -le $((free + 10000)) ] || fail "bandwidth-limited boot ${MS} ms: far too slow"
	# The ops bucket: 8 per 250 ms, 64 reads take at least (64 - 8) / 32 = 1.75 s.
	boot_reads ', "rate_limiter": {"ops": {"size": 8, "refill_time": 250}}'
	[ "$MS" -ge 1500 ] && [ "$MS" -ge $((free + 500)) ] ||
		fail "ops-limited boot ${MS} ms, unlimited ${free} ms: expected >= 1.75 s"
	[ "$MS" -le $((free + 10000)) ] || fail "ops-limited boot ${MS} ms: far too slow"
}

write_config() { # write_config KERNEL BOOT_ARGS [EXTRA_JSON]
	cat >"$TMP/vm.json" <<-JSON
	{
	  "boot-source": {"kernel_image_path": "$1", "boot_args": "$2"},
	  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}${3:-}
	}
	JSON
}

test_config_file_no_api() {
	need_kvm || return
	write_config "$HELLO" "console=ttyS0 -- from a file"
	ember_run --config-file "$TMP/vm.json" --no-api
	expect_rc 0
	expect_out "hello, from a file"
}

test_config_file_with_api_boots_at_once() {
	need_kvm || return
	need_curl || return
	write_config "$PROBE" "console=ttyS0 -- sleep=1000 exit=3"
	start_api --config-file "$TMP/vm.json" || return
	call 200 '"state":"Running"' -- GET /
	wait_ember 20
	expect_rc 3
}

# A root drive puts root= on the command line as Firecracker does, with its
# read-only flag, before the device announcements and before the words that
# go to init; boot_args that name a root= of their own are left alone.
test_config_file_root_drive_on_cmdline() {
	need_kvm || return
	head -c 4096 /dev/zero >"$TMP/root.img"
	write_config "$PROBE" "console=ttyS0 -- exit=0" ',
	  "drives": [{"drive_id": "rootfs", "path_on_host": "'"$TMP/root.img"'", "is_root_device": true,
	    "is_read_only": true}]'
	ember_run --config-file "$TMP/vm.json" --no-api
	expect_rc 0
	expect_out_re '^probe: cmdline=console=ttyS0 root=/dev/vda ro virtio_mmio\.device=4K@0xc0001000:5 -- exit=0$'
	write_config "$PROBE" "console=ttyS0 root=/dev/vdb -- exit=0" ',
	  "drives": [{"drive_id": "rootfs", "path_on_host": "'"$TMP/root.img"'", "is_root_device": true}]'
	ember_run --config-file "$TMP/vm.json" --no-api
	expect_rc 0
	expect_out_re '^probe: cmdline=console=ttyS0 root=/dev/vdb virtio_mmio\.device=4K@0xc0001000:5 -- exit=0$'
}

# A device that fails only when it is built names itself in the words of
# the interface that configured it: the resource and its id, not a flag.
test_config_file_device_error_names_the_resource() {
	need_kvm || return
	write_config "$HELLO" "x" ',
	  "network-interfaces": [{"iface_id": "uplink", "host_dev_name": "embnosuch'$$'"}]'
	ember_run --config-file "$TMP/vm.json" --no-api
	expect_rc 125
	expect_err_re "network interface 'uplink' \\(embnosuch$$\\): no such network interface"
	grep -q -- '--net' <<<"$ERR" && fail "a config file's device named by a flag: $ERR"
}

# What fails only when InstanceStart builds the VM answers 400 naming the
# resource in the API's words (the command line names the flag instead:
# test_boot.sh's bad_input cases), is logged once, and is that request's
# alone: the next failure says only its own reason.
test_start_failures_name_the_resource() {
	need_kvm || return
	need_curl || return
	head -c 65536 /dev/urandom >"$TMP/garbage"
	: >"$TMP/initrd.img"
	truncate -s 1M "$TMP/gone.img" "$TMP/disk.img"
	start_api || return
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$TMP/garbage\"}"
	call 400 "^\{\"fault_message\":\"InstanceStart failed: kernel: not an ELF or bzImage \(kernel_image_path '$TMP/garbage'\)\"\}$" -- PUT /actions '{"action_type": "InstanceStart"}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"initrd_path\": \"$TMP/initrd.img\"}"
	rm "$TMP/initrd.img"
	call 400 "^\{\"fault_message\":\"InstanceStart failed: initrd_path: cannot open '$TMP/initrd.img': No such file or directory\"\}$" -- PUT /actions '{"action_type": "InstanceStart"}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- sleep=2000 exit=7\"}"
	call 204 -- PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/gone.img\", \"is_root_device\": false}"
	rm "$TMP/gone.img"
	call 400 "^\{\"fault_message\":\"InstanceStart failed: drive 'data' \($TMP/gone.img\): open: No such file or directory\"\}$" -- PUT /actions '{"action_type": "InstanceStart"}'
	call 204 -- PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false}"
	local tap=embgone$$
	if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && ip tuntap add dev "$tap" mode tap 2>/dev/null; then
		call 204 -- PUT /network-interfaces/uplink "{\"iface_id\": \"uplink\", \"host_dev_name\": \"$tap\"}"
		ip link del "$tap"
		call 400 "^\{\"fault_message\":\"InstanceStart failed: network interface 'uplink' \($tap\): no such network interface" -- PUT /actions '{"action_type": "InstanceStart"}'
		grep -qE 'drive|kernel|initrd' <<<"$BODY" && fail "an earlier failure leaks into this one: $BODY"
		ip tuntap add dev "$tap" mode tap # back, for the boot below
	else
		skip "no tap (not root or no /dev/net/tun): the missing-tap case not run"
	fi
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	# A PATCH failing for its own reason says only that one.
	call 400 "^\{\"fault_message\":\"Updating a drive of a running microVM failed: virtio-blk: $TMP/nope.img: open: No such file or directory\"\}$" -- PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/nope.img\"}"
	call 400 "^\{\"fault_message\":\"The requested operation is not supported after starting the microVM.\"\}$" -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_ember 20
	ip link del "$tap" 2>/dev/null
	expect_rc 7
	# Each failure logged once, as its own line.
	[ "$(grep -c 'not an ELF or bzImage' <<<"$ERR")" = 1 ] || fail "the kernel's failure not logged once: $ERR"
	[ "$(grep -c "initrd_path: cannot open" <<<"$ERR")" = 1 ] || fail "the initrd's failure not logged once: $ERR"
	[ "$(grep -c "^ember: drive 'data' ($TMP/gone.img): open: No such file" <<<"$ERR")" = 1 ] ||
		fail "the drive's failure not logged once: $ERR"
}

test_config_file_error_names_path_and_line() {
	write_config "$HELLO" "x" ',
	  "drives": [{"drive_id": "a", "path_on_host": "/nonexistent", "is_root_device": false}]'
	ember_run --config-file "$TMP/vm.json" --no-api
	expect_rc 125
	expect_err_re "vm.json: line 4: drives\[0\]\.path_on_host: cannot open '/nonexistent'"
	printf '{\n "machine-config": {"vcpu_count": 64, "mem_size_mib": 64}\n}\n' >"$TMP/bad.json"
	ember_run --config-file "$TMP/bad.json" --no-api
	expect_rc 125
	expect_err_re 'bad.json: line 2: machine-config.vcpu_count: 64 is out of range'
	printf '{"machine-config": {}' >"$TMP/bad.json"
	ember_run --config-file "$TMP/bad.json" --no-api
	expect_rc 125
	expect_err_re 'bad.json: line 1 column [0-9]+: invalid JSON'
}

test_flag_errors() {
	ember_run --no-api
	expect_rc 125
	expect_err_re -- '--no-api: needs --config-file'
	ember_run --api-sock "$SOCK" --id 'bad id!'
	expect_rc 125
	expect_err_re "^ember: --id: 'bad id!' must be 1 to 64 alphanumeric characters or '-'$"
	printf 'sevenb!' >"$TMP/filter.bpf"
	ember_run --kernel "$HELLO" --seccomp-filter "$TMP/filter.bpf"
	expect_rc 125
	expect_err_re -- "--seccomp-filter: '$TMP/filter.bpf': not a seccompiler filter file"
	ember_run --kernel "$HELLO" --level Loud
	expect_rc 125
	expect_err_re "^ember: --level: 'Loud' is not one of Error, Warning, Info, Debug, Trace, Off$"
	# Numbers out of range or not numbers: refused by name, nothing booted.
	local flag value
	while read -r flag value; do
		ember_run --kernel "$HELLO" "$flag" "$value" -- flags
		expect_rc 125
		case $flag in
		--http-api-max-payload-size)
			expect_err_re "^ember: $flag: '$value' is not a size in bytes from 1 to 67108864$" ;;
		*) expect_err_re "^ember: $flag: '$value' is not a time in microseconds$" ;;
		esac
		grep -q 'hello' <<<"$OUT" && fail "$flag $value: the guest ran"
	done <<EOF
--http-api-max-payload-size 0
--http-api-max-payload-size 67108865
--http-api-max-payload-size 12k
--start-time-us -5
--start-time-us 12abc
--start-time-cpu-us -1
--parent-cpu-time-us -1
EOF
	ember_run --version
	expect_rc 0
}

test_stale_socket_refused() {
	: >"$SOCK"
	ember_run --api-sock "$SOCK"
	expect_rc 125
	expect_err_re 'cannot listen on .*stale socket'
	rm -f "$SOCK"
}

test_firecracker_flags_logger_and_metrics() {
	need_kvm || return
	write_config "$HELLO" "console=ttyS0 -- flags"
	# Firecracker's format with empty programs: no filter for any thread.
	python3 -c "import struct, sys; sys.stdout.buffer.write(struct.pack('<Q', 3) + b''.join(
		struct.pack('<Q', len(n)) + n + struct.pack('<Q', 0) for n in (b'vmm', b'api', b'vcpu')))" \
		>"$TMP/filter.bpf"
	ember_run --config-file "$TMP/vm.json" --no-api --id vm-42 --boot-timer \
		--start-time-us 1 --start-time-cpu-us 0 --parent-cpu-time-us 5 \
		--log-path "$TMP/ember.log" --level Debug --show-level --show-log-origin \
		--metrics-path "$TMP/m.json" --seccomp-filter "$TMP/filter.bpf" \
		--http-api-max-payload-size 1000 --no-seccomp
	expect_rc 0
	expect_out "hello, flags"
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ \[vm-42:vmm:WARN:ember\] seccomp filters are off' "$TMP/ember.log" ||
		fail "log file lacks the seccomp warning line: $(head -c 500 "$TMP/ember.log")"
	# With a logger, the boot timer's line goes to the log file, and its
	# numbers to the metrics.
	grep -qE 'INFO:ember\] guest boot time [0-9]+ us \([0-9]+ us since exec\)' "$TMP/ember.log" ||
		fail "log file lacks the boot time line: $(head -c 800 "$TMP/ember.log")"
	grep -q '"utc_timestamp_ms":' "$TMP/m.json" || fail "no metrics line at exit"
	grep -qE '"guest_boot_time_us":[1-9][0-9]*' "$TMP/m.json" || fail "metrics lack the boot time: $(head -c 800 "$TMP/m.json")"
	grep -qE '"exit_io_out":[1-9][0-9]*' "$TMP/m.json" || fail "metrics lack vCPU exits: $(head -c 800 "$TMP/m.json")"
}

test_logger_to_fifo_never_blocks() {
	need_kvm || return
	need_curl || return
	mkfifo "$TMP/log.fifo"
	start_api --no-seccomp || return
	call 204 -- PUT /logger "{\"log_path\": \"$TMP/log.fifo\", \"level\": \"Debug\"}"
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0 -- fifo\"}"
	# Nobody reads the FIFO: ember must still boot and end.
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_ember 20
	expect_rc 0
	expect_out "hello, fifo"
	call_logger=$(grep -c . "$TMP/err")
	[ "$call_logger" -eq 0 ] || fail "lines went to stderr instead of the FIFO: $ERR"
}

# ticks: the probe's "probe: tick N" numbers so far, one per line.
ticks() { tr -d '\r' <"$TMP/out" | sed -nE 's/^probe: tick ([0-9]+)$/\1/p'; }

# A guest that counts stops counting while paused and goes on from the next
# number once resumed.
test_pause_stops_a_counting_guest() {
	need_kvm || return
	need_curl || return
	start_api || return
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- count=20\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^probe: tick 5$' || { stop_ember; return; }
	call 204 -- PATCH /vm '{"state": "Paused"}'
	# A line the vCPU was writing when it stopped may still land: settle first.
	sleep 0.1
	local paused_at later
	paused_at=$(ticks | tail -n 1)
	sleep 0.5
	later=$(ticks | tail -n 1)
	[ "$later" = "$paused_at" ] || fail "ticks went on while paused: $paused_at -> $later"
	call 200 '"state":"Paused"' -- GET /
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	wait_out "^probe: tick $((paused_at + 3))\$" 5
	stop_ember
	# Every number once, in order: nothing skipped or repeated across the pause.
	local n
	n=$(ticks | wc -l)
	[ "$(ticks | tr '\n' ' ')" = "$(seq 0 $((n - 1)) | tr '\n' ' ')" ] ||
		fail "ticks not 0..$((n - 1)) in order: $(ticks | tr '\n' ' ' | head -c 300)"
}

# SendCtrlAltDel reaches the guest's i8042 as the scancodes Firecracker
# sends (set 2 make codes of Ctrl, Alt, Delete: 14 11 e0 71), with IRQ 1.
test_ctrl_alt_del_reaches_the_guest_keyboard() {
	need_kvm || return
	need_curl || return
	start_api || return
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- kbd=4 exit=4\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_out '^probe: kbd waiting$' || { stop_ember; return; }
	# Nothing before the action.
	sleep 0.2
	tr -d '\r' <"$TMP/out" | grep -q '^probe: kbd 0x' && fail "the guest read a key before SendCtrlAltDel"
	call 204 -- PUT /actions '{"action_type": "SendCtrlAltDel"}'
	wait_ember 10
	expect_rc 4
	[ "$(grep -E '^probe: kbd 0x' <<<"$OUT" | tr '\n' ' ')" = \
		"probe: kbd 0x14 probe: kbd 0x11 probe: kbd 0xe0 probe: kbd 0x71 " ] ||
		fail "scancodes: $(grep -E '^probe: kbd' <<<"$OUT" | tr '\n' ' ')"
}

# metric GROUP FIELD: the value in the last line of $TMP/m.json.
metric() {
	python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]][sys.argv[3]])' \
		"$TMP/m.json" "$1" "$2"
}

# PUT /serial (Firecracker's serial_out_path and rate_limiter): the guest's
# console goes to the file, not stdout; a FIFO with no reader fails the
# start by name; output over the byte budget is dropped and counted in
# uart.rate_limiter_dropped_bytes.
test_serial_output_to_a_file() {
	need_kvm || return
	need_curl || return
	command -v python3 >/dev/null || { skip "python3 is not installed"; return; }
	start_api || return
	call 400 'serial_out_path: an empty path' -- PUT /serial '{"serial_out_path": ""}'
	call 400 'rate_limiter.refill_time: missing required field' -- PUT /serial '{"serial_out_path": "/tmp/x", "rate_limiter": {"size": 1}}'
	call 400 'serial_speed: unknown field' -- PUT /serial '{"serial_speed": 9600}'
	call 204 -- PUT /serial "{\"serial_out_path\": \"$TMP/serial.out\"}"
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0 -- to the file\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_ember 20
	expect_rc 0
	grep -q 'hello, to the file' "$TMP/serial.out" || fail "serial.out lacks the guest's line: $(head -c 300 "$TMP/serial.out")"
	grep -q 'hello, to the file' <<<"$OUT" && fail "the guest's line reached stdout too"
	# A FIFO nobody reads: InstanceStart says so instead of stalling.
	mkfifo "$TMP/serial.fifo"
	start_api || return
	call 204 -- PUT /serial "{\"serial_out_path\": \"$TMP/serial.fifo\"}"
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}"
	call 400 "InstanceStart failed: serial_out_path: cannot open '$TMP/serial.fifo' \\(a FIFO with no reader\\)" -- PUT /actions '{"action_type": "InstanceStart"}'
	stop_ember
	# A 64-byte budget that refills over 100 s: the rest of 600 bytes is dropped, counted.
	local long
	long=$(printf 'x%.0s' $(seq 600))
	rm -f "$TMP/serial.out"
	start_api || return
	call 204 -- PUT /metrics "{\"metrics_path\": \"$TMP/m.json\"}"
	call 204 -- PUT /serial "{\"serial_out_path\": \"$TMP/serial.out\", \"rate_limiter\": {\"size\": 64, \"refill_time\": 100000}}"
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0 -- $long\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	wait_ember 20
	expect_rc 0
	local kept dropped
	kept=$(wc -c <"$TMP/serial.out")
	dropped=$(metric uart rate_limiter_dropped_bytes)
	[ "$kept" -le 64 ] && [ "$kept" -gt 0 ] || fail "the file kept $kept bytes through a 64-byte budget"
	[ "$dropped" -ge 536 ] || fail "rate_limiter_dropped_bytes $dropped, want at least 536"
	# Firecracker's other uart counters: every byte kept was written out, none missed.
	[ "$(metric uart write_count)" = "$kept" ] || fail "uart.write_count $(metric uart write_count), the file has $kept"
	[ "$(metric uart missed_write_count)" = 0 ] || fail "uart.missed_write_count $(metric uart missed_write_count)"
}

# The entropy group counts what the guest really drew, and the limiter's holds.
test_entropy_metrics() {
	need_kvm || return
	command -v python3 >/dev/null || { skip "python3 is not installed"; return; }
	# 1000 bytes a second: the second 600-byte read waits for the bucket.
	write_config "$VIO" "console=ttyS0 -- rng=64 rng=600 rng=600 exit=0" ',
	  "entropy": {"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 1000}}}'
	ember_run --config-file "$TMP/vm.json" --no-api --metrics-path "$TMP/m.json"
	expect_rc 0
	[ "$(grep -c '^vio: rng ok bytes=600 ' <<<"$OUT")" = 2 ] || fail "not two reads of 600 bytes"
	[ "$(metric entropy entropy_bytes)" = 1264 ] || fail "entropy_bytes $(metric entropy entropy_bytes), want 1264"
	[ "$(metric entropy entropy_event_count)" -ge 3 ] || fail "entropy_event_count $(metric entropy entropy_event_count)"
	[ "$(metric entropy entropy_rate_limiter_throttled)" -ge 1 ] ||
		fail "1264 bytes through a 1000-byte bucket: throttled $(metric entropy entropy_rate_limiter_throttled)"
	[ "$(metric entropy host_rng_fails)" = 0 ] || fail "host_rng_fails $(metric entropy host_rng_fails)"
}

# The net groups count the frames the guest really sent and received on a
# tap (in a network namespace of the test's own, as test_net.sh).
test_net_metrics() {
	need_kvm || return
	command -v python3 >/dev/null || { skip "python3 is not installed"; return; }
	[ "$(id -u)" = 0 ] || { skip "NOT ROOT: a tap needs root"; return; }
	[ -c /dev/net/tun ] || { skip "no /dev/net/tun"; return; }
	local ns=ember-api-$$ n=$((($$ % 200) + 20)) tap
	tap=embapi$n
	ip netns add "$ns" || { skip "cannot make network namespace $ns"; return; }
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip tuntap add dev "$tap" mode tap
	ip netns exec "$ns" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$tap/disable_ipv6"
	ip netns exec "$ns" ip addr add "172.31.$n.1/24" dev "$tap"
	ip netns exec "$ns" ip link set "$tap" up
	write_config "$VIO" "console=ttyS0 -- net-send=60 net-send=1514 net-send=100 net-arp=172.31.$n.1,172.31.$n.2 exit=0" ',
	  "network-interfaces": [{"iface_id": "uplink", "host_dev_name": "'"$tap"'"}]'
	timeout --signal=KILL 30 ip netns exec "$ns" "$(readlink -f "$EMBER")" --config-file "$TMP/vm.json" \
		--no-api --metrics-path "$TMP/m.json" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	ip netns del "$ns"
	expect_rc 0
	expect_out_re '^vio: net recv len=42 ethertype=0x0806'
	# Three frames and the ARP request (padded to 60 bytes) out; the ARP reply in.
	[ "$(metric net_uplink tx_packets_count)" = 4 ] || fail "tx_packets_count $(metric net_uplink tx_packets_count), want 4"
	[ "$(metric net_uplink tx_bytes_count)" = $((60 + 1514 + 100 + 60)) ] ||
		fail "tx_bytes_count $(metric net_uplink tx_bytes_count), want $((60 + 1514 + 100 + 60))"
	[ "$(metric net_uplink rx_packets_count)" -ge 1 ] || fail "rx_packets_count $(metric net_uplink rx_packets_count)"
	[ "$(metric net_uplink rx_bytes_count)" -ge 42 ] || fail "rx_bytes_count $(metric net_uplink rx_bytes_count)"
	[ "$(metric net tx_bytes_count)" = "$(metric net_uplink tx_bytes_count)" ] || fail "the net aggregate differs from its one interface"
	[ "$(metric net_uplink tx_fails)" = 0 ] || fail "tx_fails $(metric net_uplink tx_fails)"
	[ "$(metric net_uplink tx_malformed_frames)" = 0 ] || fail "tx_malformed_frames $(metric net_uplink tx_malformed_frames)"
	[ "$(metric net_uplink tap_write_fails)" = 0 ] || fail "tap_write_fails $(metric net_uplink tap_write_fails)"
	[ "$(metric net_uplink tx_queue_event_count)" -ge 1 ] || fail "tx_queue_event_count $(metric net_uplink tx_queue_event_count)"
	# The ARP reply came in through the tap.
	[ "$(metric net_uplink rx_tap_event_count)" -ge 1 ] || fail "rx_tap_event_count $(metric net_uplink rx_tap_event_count)"
	[ "$(metric net_uplink activate_fails)" = 0 ] || fail "activate_fails $(metric net_uplink activate_fails)"
}

run_tests "$@"
