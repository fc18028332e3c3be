#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# soak.sh: long runs without leaks (issue 11). Three parts, each one
# tests/soak/soak.py subcommand:
#   boots  N boots back to back of hello.elf and N of vio.elf (a disk, the
#          rng, a vsock stream echoed by a host server), each with its exit
#          status and output checked; afterwards no child process, socket or
#          temp file may be left (as root: in a private mount namespace with
#          fresh tmpfs on /tmp, /var/tmp and /dev/shm, so any file ember made
#          there is seen).
#   api    one ember (config file + --api-sock + --metrics-path, vio.elf idling)
#          serving M API requests of many kinds, good and malformed (pause
#          and resume and live PATCH /drives among them), fresh, keep-alive
#          and pipelined, every answer checked and the metrics lines
#          counting exactly what was sent.
#   vsock  one ember serving K guest-initiated (vio vsock-dial) and K
#          host-initiated ("CONNECT <port>" to vio vsock-serve) streams.
# api and vsock sample /proc/<pid> (fds, Threads, VmRSS) at the start, after
# a warm-up (a tenth of the run) and at the end; they pass when every request
# was right, fds and threads at the end equal the warm-up's and RSS grew by
# at most SOAK_RSS_BOUND_KB (256) from the warm-up to the end.
#
# Usage: tests/soak/soak.sh [OUTDIR]
#   O=build          the build directory (ember, hello.elf, vio.elf)
#   SOAK_QUICK=1     200 boots of each guest, 2000 API requests, 2000 vsock
#                    streams each way (under a minute); default: 10000,
#                    100000, 100000
#   SOAK_SCALE=F     multiply those sizes by F (e.g. 0.1)
#   SOAK_BOOTS, SOAK_API, SOAK_VSOCK, SOAK_VSOCK_GUEST   set one size
#   SOAK_PARTS="boots api vsock"   the parts to run
#   SOAK_ALLOW_VSOCK_UDS=1   the vsock UDS_PATH ember leaves when it ends is
#                    a NOTE, not a failure (default 1; 0 makes it fail)
# OUTDIR (default bench/results/soak-<date>[-quick]) receives boots.json,
# api.json, vsock.json, results.json and summary.txt; the summary is printed
# too and ends with "soak: PASS" or "soak: FAIL (...)". Exit status 0 when
# every part passed, 1 when one failed, 77 without a usable /dev/kvm.
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
EMBER=${EMBER:-$O/ember}
HELLO=$O/guest/hello.elf
VIO=$O/tests/guests/vio.elf
SOAK=tests/soak/soak.py
QUICK=${SOAK_QUICK:-0}
SCALE=${SOAK_SCALE:-1}
PARTS=${SOAK_PARTS:-boots api vsock}
BOUND=${SOAK_RSS_BOUND_KB:-256}
DATE=$(date +%Y%m%d-%H%M%S)

if [ "$QUICK" = 1 ]; then
	mode=quick base_boots=200 base_api=2000 base_vsock=2000
else
	mode=full base_boots=10000 base_api=100000 base_vsock=100000
fi
scale() { python3 -c 'import sys; print(max(1, round(int(sys.argv[1]) * float(sys.argv[2]))))' "$1" "$SCALE"; }
BOOTS=${SOAK_BOOTS:-$(scale $base_boots)}
API=${SOAK_API:-$(scale $base_api)}
VSOCK=${SOAK_VSOCK:-$(scale $base_vsock)}
VSOCK_GUEST=${SOAK_VSOCK_GUEST:-$VSOCK}
[ "$SCALE" = 1 ] || mode="$mode x$SCALE"

OUT=${1:-bench/results/soak-$DATE$([ "$QUICK" = 1 ] && echo -quick)}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "soak: SKIP: no usable /dev/kvm on this host: nothing was booted, no leak was checked"
	exit 77
fi
for f in "$EMBER" "$HELLO" "$VIO"; do
	[ -e "$f" ] || { echo "soak: $f is missing: make O=$O all" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "soak: python3 is needed" >&2; exit 1; }

kvm=hardware
[ -d /sys/module/kvm_pvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo && kvm="kvm_pvm (software)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ember-soak.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
echo "soak: $mode: $BOOTS boots of each guest, $API API requests, $VSOCK host- and" \
	"$VSOCK_GUEST guest-initiated vsock streams; results in $OUT"
uds=()
[ "${SOAK_ALLOW_VSOCK_UDS:-1}" = 1 ] && uds=(--allow-vsock-uds)
# A sanitizer build (EMBER_SANITIZED=1, tests/run.sh's sanitizer stages):
# its allocator's quarantine makes RSS no measure of leaks (its leak checker
# reports at exit instead), and its reports go to files under /tmp, which the
# boots part must not hide behind a tmpfs.
san=${EMBER_SANITIZED:-0}
rss=(--rss-bound-kb "$BOUND")
[ "$san" = 1 ] && rss+=(--no-rss-check)

# under_tmp PATH: PATH lies in a directory the boots part hides behind a tmpfs.
under_tmp() {
	case $(realpath -m "$1") in /tmp/* | /var/tmp/* | /dev/shm/*) return 0 ;; esac
	return 1
}

# What is soaked: the binary's build time and the tree it was built in, as now.
desc="$EMBER (built $(date -r "$EMBER" '+%F %T'), tree $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
git diff --quiet HEAD -- monitor virtio 2>/dev/null || desc+=" with uncommitted monitor/virtio changes"
desc+=")"
t0=$(date +%s.%N)
for part in $PARTS; do
	echo "soak: part $part"
	case $part in
	boots)
		args=(boots --ember "$EMBER" --hello "$HELLO" --vio "$VIO" --n "$BOOTS" "${uds[@]}")
		private=0
		if [ "$(id -u)" = 0 ] && [ "$san" != 1 ] && command -v unshare >/dev/null &&
			! under_tmp "$EMBER" && ! under_tmp "$HELLO" && ! under_tmp "$VIO" &&
			! under_tmp "$SOAK" && unshare --mount --propagation private true 2>/dev/null; then
			private=1
		fi
		if [ $private = 1 ]; then
			# A mount namespace of our own, fresh tmpfs on the temp directories:
			# whatever is in them afterwards was made by this run.
			# shellcheck disable=SC2016 # expanded by the inner bash
			unshare --mount --propagation private -- bash -c '
				for d in /tmp /var/tmp /dev/shm; do
					mount -t tmpfs -o mode=1777,size=512m soak-tmp "$d" || exit 1
				done
				exec python3 "$@" --work /tmp/soak-boots --tmp-dirs /tmp /var/tmp /dev/shm
			' bash "$SOAK" "${args[@]}" >"$OUT/boots.json"
		else
			echo "soak: NOTE: not root, no unshare, a sanitizer build or a binary under /tmp:" \
				"/tmp, /var/tmp and /dev/shm are not checked"
			python3 "$SOAK" "${args[@]}" --work "$WORK/boots" >"$OUT/boots.json"
		fi
		;;
	api)
		python3 "$SOAK" api --ember "$EMBER" --vio "$VIO" --m "$API" --work "$WORK/api" \
			"${rss[@]}" >"$OUT/api.json"
		;;
	vsock)
		python3 "$SOAK" vsock --ember "$EMBER" --vio "$VIO" --k "$VSOCK" --kg "$VSOCK_GUEST" \
			--work "$WORK/vsock" "${rss[@]}" "${uds[@]}" >"$OUT/vsock.json"
		;;
	*)
		echo "soak: unknown part '$part' (boots, api, vsock)" >&2
		exit 1
		;;
	esac
done
wall=$(python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))' "$t0" "$(date +%s.%N)")
# shellcheck disable=SC2086 # PARTS is a list of words
python3 "$SOAK" report --dir "$OUT" --parts $PARTS --mode "$mode" --date "$DATE" \
	--ember "$desc" \
	--kvm "$kvm" --wall "$wall" --rss-bound-kb "$BOUND"
