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

# EMBER_INITRD_EXTRA: a dynamically linked coreutils program (env) with its
# libraries and the loader, at their host paths, reproducibly.
prog=$(command -v env)
case $prog in /*) ;; *) fail "no env(1) in PATH" ;; esac
readelf -l "$prog" | grep -q 'Requesting program interpreter' || fail "$prog is static: pick another"
EMBER_INITRD_EXTRA="env" "$build" "$tmp/x.cpio" "$init" "$mkcpio"
EMBER_INITRD_EXTRA="env" "$build" "$tmp/y.cpio" "$tmp/init" "$mkcpio"
cmp "$tmp/x.cpio" "$tmp/y.cpio" || fail "two builds with extras differ"
cpio -itv --numeric-uid-gid <"$tmp/x.cpio" >"$tmp/xlist" 2>/dev/null || fail "cpio cannot read it"
has() { # has PATH: PATH (no leading /) is a file or a symlink in the archive
	grep -Eq "^[-l].* $1( -> .*)?\$" "$tmp/xlist" || fail "extra: no $1 in the archive"
}
has "${prog#/}"
grep -Eq "^-rwx.* ${prog#/}\$" "$tmp/xlist" || fail "extra: ${prog#/} is not a file (busybox's applet?)"
libs=$(ldd "$prog" | sed -n -e 's/^.*=> \(\/[^ ]*\) (0x.*$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*$/\1/p')
[ -n "$libs" ] || fail "ldd lists no libraries for $prog"
for lib in $libs; do
	has "${lib#/}"
done
grep -q ' lib64/ld-linux-x86-64.so.2' "$tmp/xlist" || fail "extra: no dynamic loader"
# The same bytes as the host's file.
(cd "$tmp" && mkdir x && cd x && cpio -idm --quiet <"$tmp/x.cpio") || fail "cpio -i"
cmp "$tmp/x${prog}" "$(readlink -f "$prog")" || fail "extra: $prog differs from the host's"
! grep -v ' 0 \+0 ' "$tmp/xlist" | grep -q . || fail "extra: an entry not owned by 0:0"
# It runs from the archive alone (chroot needs root).
if [ "$(id -u)" = 0 ]; then
	[ "$(chroot "$tmp/x" "$prog" EMBER=ok "$prog" sh -c 'echo $EMBER')" = ok ] ||
		fail "extra: $prog does not run in a chroot of the archive"
	echo "ok: $prog runs in a chroot of the archive"
fi
echo "ok: EMBER_INITRD_EXTRA=env: $prog, $(echo $libs | wc -w) libraries (loader included), reproducible"

# A program that is not there is an error naming it.
if EMBER_INITRD_EXTRA="env ember-no-such-program" "$build" "$tmp/z.cpio" "$init" "$mkcpio" \
	2>"$tmp/err"; then
	fail "a missing extra program was accepted"
fi
grep -q "ember-no-such-program" "$tmp/err" || fail "the error does not name the program: $(cat "$tmp/err")"
[ ! -e "$tmp/z.cpio" ] || fail "an archive was written anyway"
echo "ok: a missing extra is an error naming it: $(cat "$tmp/err")"
echo "[  PASSED  ] 1 test(s)."
