#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_api.sh: Firecracker's control plane: the REST API over a Unix socket
# (driven with curl), the JSON config file, the process flags, the logger
# and the metrics. Boots the small guests under KVM through the API.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

HELLO=$PWD/$O/guest/hello.elf
PROBE=$PWD/$O/tests/guests/probe.elf
VIO=$PWD/$O/tests/guests/vio.elf
SOCK=$TMP/api.sock
PID=

need_kvm() {
	have_kvm && return 0
	skip "no usable /dev/kvm on this host: KVM boot not tested"
	return 1
}
need_curl() {
	command -v curl >/dev/null && return 0
	skip "curl is not installed"
	return 1
}

# start_api [ARGS...]: ember --api-sock $SOCK ARGS in the background.
start_api() {
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		sleep 0.02
	done
	fail "the API socket never appeared"
	return 1
}

# api METHOD PATH [BODY]: one request; sets CODE and BODY.
api() {
	local args=(-s --max-time 5 --unix-socket "$SOCK" -X "$1" -o "$TMP/body" -w '%{http_code}')
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	CODE=$(curl "${args[@]}" "http://localhost$2")
	BODY=$(cat "$TMP/body" 2>/dev/null)
}

# expect CODE [BODY_REGEX]: the last answer.
expect() {
	[ "$CODE" = "$1" ] || { fail "$LAST: status $CODE, expected $1 (body $BODY)"; return; }
	[ $# -lt 2 ] || grep -qE -- "$2" <<<"$BODY" || fail "$LAST: body '$BODY' lacks /$2/"
}
# call EXPECTED_CODE [BODY_REGEX] -- METHOD PATH [BODY]
call() {
	local code=$1 re=
	shift
	if [ "$1" != -- ]; then re=$1; shift; fi
	shift
	LAST="$1 $2"
	api "$@"
	if [ -n "$re" ]; then expect "$code" "$re"; else expect "$code"; fi
}

# wait_ember [SECONDS]: wait for ember to end; sets RC, OUT, ERR.
wait_ember() {
	local t=${1:-10}
	for _ in $(seq $((t * 50))); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$PID" 2>/dev/null; then
		kill -9 "$PID"
		fail "ember did not end within ${t}s"
	fi
	wait "$PID"
	RC=$?
	OUT=$(tr -d '\r' <"$TMP/out")
	ERR=$(cat "$TMP/err")
	PID=
}

stop_ember() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	wait_ember 5
}

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
	call 404 '^\{"fault_message":"Invalid request method and/or path: GET /nope"\}$' -- GET /nope
	call 405 'Invalid request method and/or path: DELETE /machine-config' -- DELETE /machine-config
	call 405 -- GET /boot-source
	call 405 -- PUT /vm '{}'
	call 204 -- PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$HELLO\", \"is_root_device\": true, \"is_read_only\": true}"
	call 400 'does not match the id in the path' -- PUT /drives/other "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$HELLO\", \"is_root_device\": true}"
	call 400 'a root block device already exists' -- PUT /drives/second "{\"drive_id\": \"second\", \"path_on_host\": \"$HELLO\", \"is_root_device\": true}"
	call 204 -- PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "AA:FC:00:00:00:01"}'
	call 204 -- PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/v.sock\"}"
	call 204 -- PUT /entropy '{}'
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}"
	call 200 '"drives":\[\{"drive_id":"rootfs"' -- GET /vm/config
	grep -q '"network-interfaces":\[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"aa:fc:00:00:00:01"' <<<"$BODY" || fail "vm/config lacks the interface: $BODY"
	grep -q '"entropy":{"rate_limiter":null}' <<<"$BODY" || fail "vm/config lacks entropy: $BODY"
	call 400 'InstanceStart failed: --net tap0: no such network interface' -- PUT /actions '{"action_type": "InstanceStart"}'
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
}

# wait_out RE [SECONDS]: wait until ember's stdout has a line matching RE.
wait_out() {
	for _ in $(seq $((${2:-10} * 50))); do
		tr -d '\r' <"$TMP/out" | grep -qE -- "$1" && return 0
		sleep 0.02
	done
	fail "stdout never matched /$1/: $(head -c 1000 "$TMP/out")"
	return 1
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
	ember_run --config-file "$TMP/vm.json" --no-api
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
	boot_reads ', "rate_limiter": {"bandwidth": {"size": 8192, "refill_time": 500}}'
	[ "$MS" -ge 1300 ] && [ "$MS" -ge $((free + 500)) ] ||
		fail "bandwidth-limited boot ${MS} ms, unlimited ${free} ms: expected >= 1.5 s"
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
	expect_err_re -- '--id:'
	printf 'sevenb!' >"$TMP/filter.bpf"
	ember_run --kernel "$HELLO" --seccomp-filter "$TMP/filter.bpf"
	expect_rc 125
	expect_err_re -- '--seccomp-filter: .* multiple of 8 bytes'
	ember_run --kernel "$HELLO" --level Loud
	expect_rc 125
	expect_err_re -- '--level:'
	ember_run --kernel "$HELLO" --http-api-max-payload-size 0
	expect_rc 125
	ember_run --kernel "$HELLO" --start-time-us -5
	expect_rc 125
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
	printf '01234567' >"$TMP/filter.bpf"
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

run_tests "$@"
