#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# test_initrd.sh: the initramfs is reproducible and holds what the guest needs.
#
#   sh tests/guest-init/test_initrd.sh BUILD_INITRD INIT MKCPIO
set -eu

build=$1 init=$2 mkcpio=$3
unset SOURCE_DATE_EPOCH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Summary lines in cmocka's shape, which tests/run.sh counts.
fail() {
	echo "test_initrd: FAIL: $*" >&2
	echo "[  FAILED  ] 1 test(s)."
	exit 1
}

# Build twice, the second time from a copy of init with another mtime.
"$build" "$tmp/a.cpio" "$init" "$mkcpio"
cp "$init" "$tmp/init"
touch -d '2001-02-03 04:05:06' "$tmp/init"
"$build" "$tmp/b.cpio" "$tmp/init" "$mkcpio"
cmp "$tmp/a.cpio" "$tmp/b.cpio" || fail "two builds differ"
echo "ok: two builds are byte-identical ($(wc -c <"$tmp/a.cpio") bytes)"

SOURCE_DATE_EPOCH=86400 "$build" "$tmp/c.cpio" "$init" "$mkcpio"
! cmp -s "$tmp/a.cpio" "$tmp/c.cpio" || fail "SOURCE_DATE_EPOCH ignored"
echo "ok: SOURCE_DATE_EPOCH sets the mtimes"

command -v cpio >/dev/null || fail "no cpio(1) to list the archive (apt-get install cpio)"
cpio -itv --numeric-uid-gid <"$tmp/a.cpio" >"$tmp/list" 2>/dev/null || fail "cpio cannot read it"
expect() {
	grep -Eq "$1" "$tmp/list" || fail "no entry matching: $1"
}
expect '^-rwxr-xr-x +1 0 +0 .* init$'
expect '^-rwxr-xr-x +1 0 +0 .* bin/busybox$'
expect '^crw------- +1 0 +0 +5, +1 .* dev/console$'
expect '^lrwxrwxrwx .* bin/sh -> /bin/busybox$'
for d in dev proc sys root tmp; do
	expect "^d.* $d\$"
done
expect '^drwxrwxrwt .* tmp$'
! grep -v ' 0 \+0 ' "$tmp/list" | grep -q . || fail "an entry not owned by 0:0"
! grep -v 'Jan  1  1970' "$tmp/list" | grep -q . || fail "an entry with mtime != 0"
! grep -Eq ' (sbin/init|linuxrc)( |$)' "$tmp/list" || fail "busybox init in the archive"
echo "ok: $(wc -l <"$tmp/list") entries: /init, busybox, applets, /dev/console, dirs; root:root, mtime 0"
echo "[  PASSED  ] 1 test(s)."
