#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_cpu_template.sh: CPU templates under KVM: Firecracker's static ones
# (machine-config.cpu_template, --cpu-template) refused on the other
# vendor's host and applied on their own, custom ones (PUT /cpu-config, the
# config file's "cpu-config") over CPUID and MSRs, and a snapshot that keeps
# its template. The probe guest prints the CPUID leaves and MSRs it reads.
#
# On kvm_pvm (software KVM) the guest reads ember's CPUID for most leaves,
# but the host's own for leaf 1 ECX/EDX and leaf 7: where the guest cannot
# see what ember set, ember's debug line of the CPUID it handed KVM is
# checked and the guest-side check says SKIP.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib_api.sh

PROBE=$PWD/$O/tests/guests/probe.elf
# The T2 family's leaf 1 signature: family 6, model 0x3f, stepping 2.
T2_SIGNATURE=0x306f2
SIGNATURE_MASK=0x0fff3fff

# host_vendor: intel, amd or other, from the host's CPU.
host_vendor() {
	case $(grep -m1 '^vendor_id' /proc/cpuinfo) in
	*GenuineIntel*) echo intel ;;
	*AuthenticAMD* | *HygonGenuine*) echo amd ;;
	*) echo other ;;
	esac
}

# own_template / other_template: a T2-family template written for this
# host's vendor, and one written for the other vendor.
own_template() { [ "$(host_vendor)" = amd ] && echo T2A || echo T2; }
other_template() { [ "$(host_vendor)" = amd ] && echo T2 || echo T2A; }

# reg LEAF REG: register REG (eax..edx) of the guest's "probe: cpuid LEAF" line in OUT.
reg() {
	sed -nE "s/^probe: cpuid $1 .*$2=(0x[0-9a-f]+).*/\1/p" <<<"$OUT" | head -n 1
}
# applied LEAF.SUB REG: that register in ember's debug line of the CPUID it handed KVM.
applied() {
	sed -nE "s/.*vcpu0: cpu template: CPUID $1 .*$2=(0x[0-9a-f]+).*/\1/p" <<<"$ERR" | head -n 1
}
# bit VALUE N: 1 when bit N of VALUE is set.
bit() { echo $((($1 >> $2) & 1)); }

need_vendor() {
	[ "$(host_vendor)" != other ] && return 0
	skip "host CPU is neither Intel nor AMD: no static template fits it"
	return 1
}

# A static template written for the other vendor is refused when the VM
# starts, by name, through the API as through the flag; the guest never runs.
test_static_template_for_the_other_vendor_is_refused() {
	need_kvm || return
	need_vendor || return
	local other
	other=$(other_template)
	ember_run --kernel "$PROBE" --cpu-template "$other" -- exit=0
	expect_rc 125
	expect_err_re "cpu_template $other: the template is for (Intel|AMD) CPUs; this host's CPU is '[A-Za-z]+'"
	if grep -q '^probe:' <<<"$OUT"; then fail "the guest ran: $OUT"; fi

	need_curl || return
	start_api || return
	call 204 -- PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"$other\"}"
	call 200 "\"cpu_template\":\"$other\"" -- GET /machine-config
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- exit=0\"}"
	call 400 "InstanceStart failed: cpu_template $other: the template is for" -- PUT /actions '{"action_type": "InstanceStart"}'
	stop_ember
}

# The template for this host's vendor: the guest reads the T2 family's
# signature in leaf 1 and the extended leaves as the template has them.
test_static_template_reaches_the_guest() {
	need_kvm || return
	need_vendor || return
	local tmpl eax ecx ebx8
	tmpl=$(own_template)
	ember_run --kernel "$PROBE" --cpu-template "$tmpl" -- cpuid=1 cpuid=0x80000001 cpuid=0x80000008 exit=0
	expect_rc 0
	eax=$(reg 0x1 eax)
	[ -n "$eax" ] || { fail "no cpuid line: $OUT"; return; }
	[ $((eax & SIGNATURE_MASK)) = $((T2_SIGNATURE)) ] ||
		fail "$tmpl: the guest's leaf 1 eax is $eax, not family 6 model 0x3f stepping 2"
	ecx=$(reg 0x80000001 ecx)
	[ "$(bit "$ecx" 29)" = 0 ] || fail "$tmpl: MONITORX (0x80000001 ecx bit 29) is still set: $ecx"
	if [ "$tmpl" = T2A ]; then
		[ "$(bit "$ecx" 2)" = 0 ] || fail "T2A: SVM (0x80000001 ecx bit 2) is still set: $ecx"
		ebx8=$(reg 0x80000008 ebx)
		[ $((ebx8 & 0x1c0205)) = $((0x1c0004)) ] ||
			fail "T2A: 0x80000008 ebx $ebx8: CLZERO, WBNOINVD clear and RstrFpErrPtrs, IbrsPreferred, IbrsSameMode, EferLmsleUnsupported set expected"
	else
		[ "$(bit "$ecx" 8)" = 0 ] || fail "T2: PREFETCHW (0x80000001 ecx bit 8) is still set: $ecx"
	fi
}

# Leaf 7 as the template leaves it: no AVX-512F (bit 16), ERMS (bit 9) set.
# ember's own record of what it handed KVM is checked everywhere; the guest's
# view only where the host shows the guest that leaf (not kvm_pvm).
test_static_template_leaf7() {
	need_kvm || return
	need_vendor || return
	local tmpl set_ebx guest_ebx
	tmpl=$(own_template)
	ember_run --kernel "$PROBE" --cpu-template "$tmpl" --verbose --verbose -- cpuid=7.0 exit=0
	expect_rc 0
	set_ebx=$(applied 0x7.0x0 ebx)
	[ -n "$set_ebx" ] || { fail "no debug line of leaf 7 from ember: $ERR"; return; }
	[ "$(bit "$set_ebx" 16)" = 0 ] || fail "$tmpl: ember handed KVM leaf 7 ebx $set_ebx with AVX512F"
	[ "$(bit "$set_ebx" 9)" = 1 ] || fail "$tmpl: ember handed KVM leaf 7 ebx $set_ebx without ERMS"
	guest_ebx=$(reg 0x7.0x0 ebx)
	[ -n "$guest_ebx" ] || { fail "no cpuid line from the guest: $OUT"; return; }
	if [ $((guest_ebx)) != $((set_ebx)) ] && software_kvm; then
		skip "SOFTWARE KVM (kvm_pvm): the guest reads the host's leaf 7 (ebx $guest_ebx), not the $set_ebx ember set; checked ember's side only"
		return
	fi
	[ $((guest_ebx)) = $((set_ebx)) ] || fail "the guest reads leaf 7 ebx $guest_ebx, ember set $set_ebx"
}

# A custom template over the API: a CPUID bit cleared, a leaf 1 field set,
# one MSR of ember's boot set (IA32_MISC_ENABLE) and one outside it
# (IA32_PAT, whose KVM value is read first) changed: the guest reads each,
# against a run without the template.
CUSTOM='{"cpuid_modifiers": [
   {"leaf": "0x80000001", "subleaf": "0x0", "flags": 0,
    "modifiers": [{"register": "ecx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"}]},
   {"leaf": "0x1", "subleaf": "0x0", "flags": 0,
    "modifiers": [{"register": "eax", "bitmap": "0b1010"}]}],
 "msr_modifiers": [
   {"addr": "0x1a0", "bitmap": "0b0"},
   {"addr": "0x277", "bitmap": "0b00000100"}]}'
WORDS='cpuid=0x80000001 cpuid=1 rdmsr=0x1a0 rdmsr=0x277 exit=0'

test_custom_template_over_the_api() {
	need_kvm || return
	need_curl || return
	local base_ecx base_eax base_pat ecx eax pat
	ember_run --kernel "$PROBE" -- $WORDS
	expect_rc 0
	base_ecx=$(reg 0x80000001 ecx)
	base_eax=$(reg 0x1 eax)
	base_pat=$(sed -nE 's/^probe: rdmsr 0x277=(0x[0-9a-f]+)$/\1/p' <<<"$OUT")
	expect_out "probe: rdmsr 0x1a0=0x1"
	[ -n "$base_pat" ] || { fail "no PAT read without a template: $OUT"; return; }
	[ "$(bit "$base_ecx" 0)" = 1 ] || { skip "the host's CPUID lacks LAHF/SAHF (0x80000001 ecx bit 0)"; return; }

	start_api || return
	call 400 '^\{"fault_message":"cpuid_modifiers\[0\]\.modifiers\[0\]\.bitmap: .0b2.: .2. is not 0, 1, x or _"\}$' -- PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0b2"}]}]}'
	call 204 -- PUT /cpu-config "$CUSTOM"
	call 200 '"cpu-config":\{"cpuid_modifiers":\[\{"leaf":"0x80000001","subleaf":"0x0","flags":0,"modifiers":\[\{"register":"ecx","bitmap":"0bx+0"\}\]\}' -- GET /vm/config
	call 204 -- PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}'
	call 200 '"cpu_template":"None"' -- GET /machine-config
	call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- $WORDS\"}"
	call 204 -- PUT /actions '{"action_type": "InstanceStart"}'
	call 400 'not supported after starting' -- PUT /cpu-config "$CUSTOM"
	wait_ember 20
	expect_rc 0
	ecx=$(reg 0x80000001 ecx)
	eax=$(reg 0x1 eax)
	pat=$(sed -nE 's/^probe: rdmsr 0x277=(0x[0-9a-f]+)$/\1/p' <<<"$OUT")
	[ $((ecx)) = $((base_ecx & ~1)) ] || fail "0x80000001 ecx: $ecx with the template, $base_ecx without: only bit 0 should go"
	[ $((eax)) = $(((base_eax & ~0xf) | 0xa)) ] || fail "leaf 1 eax: $eax with the template, $base_eax without: stepping 0xa expected"
	expect_out "probe: rdmsr 0x1a0=0x0"
	[ $((pat)) = $(((base_pat & ~0xff) | 0x4)) ] || fail "IA32_PAT: $pat with the template, $base_pat without"
}

# What a template asks and KVM cannot give fails InstanceStart, by name:
# a leaf KVM does not report, an MSR it does not know, a capability it lacks.
test_custom_template_the_host_cannot_honour() {
	need_kvm || return
	need_curl || return
	local body
	for body in \
		'{"cpuid_modifiers": [{"leaf": "0x8ffffff0", "subleaf": "0x0", "flags": 0, "modifiers": []}]}|leaf 0x8ffffff0 subleaf 0x0, which KVM does not report' \
		'{"msr_modifiers": [{"addr": "0xdeadbeef", "bitmap": "0b1"}]}|MSR 0xdeadbeef is not supported by KVM on this host' \
		'{"kvm_capabilities": ["9999"]}|lacks capability 9999'; do
		start_api || return
		call 204 -- PUT /cpu-config "${body%%|*}"
		call 204 -- PUT /boot-source "{\"kernel_image_path\": \"$PROBE\", \"boot_args\": \"console=ttyS0 -- exit=0\"}"
		call 400 "InstanceStart failed: .*${body##*|}" -- PUT /actions '{"action_type": "InstanceStart"}'
		stop_ember
	done
}

# The config file's "cpu-config", and its error naming file, line and field.
test_custom_template_in_the_config_file() {
	need_kvm || return
	cat >"$TMP/vm.json" <<EOF
{"boot-source": {"kernel_image_path": "$PROBE", "boot_args": "console=ttyS0 -- $WORDS"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
 "cpu-config": $CUSTOM}
EOF
	ember_run --config-file "$TMP/vm.json" --no-api
	expect_rc 0
	expect_out "probe: rdmsr 0x1a0=0x0"
	[ "$(bit "$(reg 0x80000001 ecx)" 0)" = 0 ] || fail "0x80000001 ecx bit 0 still set: $OUT"

	sed 's/"0x277"/"0x2zz"/' "$TMP/vm.json" >"$TMP/bad.json"
	ember_run --config-file "$TMP/bad.json" --no-api
	expect_rc 125
	expect_err_re "bad.json: line 10: cpu-config.msr_modifiers\[1\].addr: '0x2zz': 'z' is not a base-16 digit"
}

# A snapshot keeps the template: the restored vCPU reads the template's
# CPUID (saved as set), and the restored configuration names it.
test_snapshot_keeps_the_template() {
	need_kvm || return
	need_vendor || return
	need_curl || return
	local tmpl eax
	tmpl=$(own_template)
	ember_run --kernel "$PROBE" --cpu-template "$tmpl" --snapshot-when-ready "$TMP/vm.snap" \
		--mem-file "$TMP/vm.mem" -- timer cpuid=1 exit=0
	expect_rc 0
	start_api || return
	call 204 -- PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vm.snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vm.mem\"}, \"resume_vm\": false}"
	call 200 "\"cpu_template\":\"$tmpl\"" -- GET /machine-config
	call 204 -- PATCH /vm '{"state": "Resumed"}'
	wait_ember 20
	expect_rc 0
	if grep -q '^probe: entry=' <<<"$OUT"; then fail "the restored guest booted again"; fi
	eax=$(reg 0x1 eax)
	[ -n "$eax" ] && [ $((eax & SIGNATURE_MASK)) = $((T2_SIGNATURE)) ] ||
		fail "after the restore the guest's leaf 1 eax is '$eax', not $tmpl's signature"
}

run_tests "$@"
