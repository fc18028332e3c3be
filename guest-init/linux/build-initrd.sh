#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-initrd.sh: the Linux guest's initramfs, a newc cpio archive.
#
#   [EMBER_INITRD_EXTRA="socat iperf3 fio mkfs.ext4"] \
#   guest-init/linux/build-initrd.sh OUT.cpio INIT MKCPIO
#
# Contents: guest-init (INIT) as /init, busybox-static as /bin/busybox with a
# symlink per applet where `busybox --list-full` puts it, /dev/console (char
# 5,1, so the kernel has a console before devtmpfs is mounted), and the
# directories /dev /proc /sys /tmp /root. Reproducible: every entry is owned
# by root:root with mtime $SOURCE_DATE_EPOCH (default 0), entries sorted by
# name, so the same inputs give the same bytes.
#
# EMBER_INITRD_EXTRA: host programs to add, by name (looked up in PATH plus
# /usr/sbin:/sbin) or by absolute path, each at its host path together with
# every shared library `ldd` lists for it, the dynamic loader included, at
# their host paths (symlinks are kept as symlinks and followed). An extra
# replaces busybox's applet of the same name. Nothing is installed: a
# program that is not there is an error naming it. Libraries loaded with
# dlopen (NSS, fio's external engines) are not found this way.
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

# ------------------------------------------------------------ extras
extra=${EMBER_INITRD_EXTRA:-}
PATH=$PATH:/usr/sbin:/sbin

# The program (name or path) as an absolute path, or nothing.
find_prog() {
	case $1 in
	/*) [ -f "$1" ] && [ -x "$1" ] && echo "$1" ;;
	*/*) ;;
	*)
		p=$(command -v "$1" 2>/dev/null || :)
		case $p in
		/*) echo "$p" ;;
		*) # a shell builtin (echo, test): look in PATH ourselves
			IFS=:
			for d in $PATH; do
				[ -n "$d" ] && [ -f "$d/$1" ] && [ -x "$d/$1" ] && { echo "$d/$1"; break; }
			done
			unset IFS ;;
		esac ;;
	esac
}

# add PATH [NAMES]: spec lines for the file PATH at its own path (a symlink
# as a symlink, then its target), with its parent directories. With NAMES,
# the basename of every link in the chain is appended to the file NAMES.
add() {
	p=$1
	shift
	[ $# -eq 0 ] || echo "${p##*/}" >>"$1"
	case $p in *[[:space:]]*) die "$p: a path with white space" ;; esac
	d=${p%/*}
	while [ -n "$d" ]; do
		echo "dir $d 0755 0 0"
		d=${d%/*}
	done
	if [ -L "$p" ]; then
		t=$(readlink "$p")
		case $t in *[[:space:]]*) die "$p -> $t: a path with white space" ;; esac
		echo "slink $p $t 0777 0 0"
		case $t in
		/*) add "$t" "$@" ;;
		*) add "$(realpath -ms "${p%/*}/$t")" "$@" ;;
		esac
	elif [ -f "$p" ]; then
		echo "file $p $p $(stat -L -c %a "$p") 0 0"
	else
		die "$p: not a regular file"
	fi
}

# Spec lines for every extra program and its libraries; the programs' names
# (and those of the files their symlinks lead to) go to $tmp.names.
extras() {
	for name in $extra; do
		prog=$(find_prog "$name")
		[ -n "$prog" ] || die "EMBER_INITRD_EXTRA: program '$name' not found (install it first, e.g. apt-get install socat iperf3 fio e2fsprogs)"
		add "$prog" "$tmp.names"
		# ldd: "name => /path (addr)", "/path (addr)" (the loader),
		# "name => not found", or "not a dynamic executable" (static: none).
		libs=$(ldd "$prog" 2>/dev/null || :)
		if printf '%s\n' "$libs" | grep -q 'not found'; then
			die "$prog: $(printf '%s\n' "$libs" | grep 'not found' | tr -s ' \t' ' ' | head -n 1)"
		fi
		for lib in $(printf '%s\n' "$libs" | sed -n -e 's/^.*=> \(\/[^ ]*\) (0x.*$/\1/p' \
			-e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*$/\1/p'); do
			add "$lib"
		done
	done
}

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
	# Extras before the applets: the first line for a name wins.
	[ -z "$extra" ] || cat "$tmp.extra"
	# Applets, except busybox's own init (ours is /init), itself, and the
	# names of extras.
	"$busybox" --list-full | while read -r applet; do
		case $applet in
		linuxrc | sbin/init | bin/busybox | */*/*/*) continue ;;
		esac
		[ -z "$extra" ] || ! grep -qxF "${applet##*/}" "$tmp.names" || continue
		echo "slink /$applet /bin/busybox 0777 0 0"
	done
}

tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.spec" "$tmp.extra" "$tmp.names"' EXIT
if [ -n "$extra" ]; then
	: >"$tmp.names"
	extras >"$tmp.extra"
fi
# One entry per name (the first), sorted: parents come before children.
spec | awk '!seen[$2]++' | LC_ALL=C sort -k2,2 >"$tmp.spec"
"$mkcpio" -t "$mtime" <"$tmp.spec" >"$tmp"
mv -f "$tmp" "$out"
