#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-initrd.sh: the Linux guest's initramfs, a newc cpio archive.
#
#   guest-init/linux/build-initrd.sh OUT.cpio INIT MKCPIO
#
# Contents: guest-init (INIT) as /init, busybox-static as /bin/busybox with a
# symlink per applet where `busybox --list-full` puts it, /dev/console (char
# 5,1, so the kernel has a console before devtmpfs is mounted), and the
# directories /dev /proc /sys /tmp /root. Reproducible: every entry is owned
# by root:root with mtime $SOURCE_DATE_EPOCH (default 0), entries sorted by
# name, so the same inputs give the same bytes.
set -eu

die() { printf 'build-initrd.sh: %s\n' "$*" >&2; exit 1; }

[ $# -eq 3 ] || die "usage: $0 OUT.cpio INIT MKCPIO"
out=$1 init=$2 mkcpio=$3
busybox=${BUSYBOX:-/bin/busybox}
mtime=${SOURCE_DATE_EPOCH:-0}

[ -x "$init" ] || die "$init: not an executable"
[ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
# The initramfs has no dynamic loader: both binaries must be static.
for bin in "$init" "$busybox"; do
	! readelf -l "$bin" 2>/dev/null | grep -q 'Requesting program interpreter' ||
		die "$bin is dynamically linked"
done

spec() {
	for d in bin dev etc proc root sbin sys tmp usr usr/bin usr/sbin; do
		case $d in
		root) echo "dir /$d 0700 0 0" ;;
		tmp) echo "dir /$d 1777 0 0" ;;
		*) echo "dir /$d 0755 0 0" ;;
		esac
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /init $init 0755 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	# Applets, except busybox's own init (ours is /init) and itself.
	"$busybox" --list-full | while read -r applet; do
		case $applet in
		linuxrc | sbin/init | bin/busybox | */*/*/*) continue ;;
		esac
		echo "slink /$applet /bin/busybox 0777 0 0"
	done
}

tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.spec"' EXIT
spec | LC_ALL=C sort -u -k2,2 >"$tmp.spec"
"$mkcpio" -t "$mtime" <"$tmp.spec" >"$tmp"
mv -f "$tmp" "$out"
