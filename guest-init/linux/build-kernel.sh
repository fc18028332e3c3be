#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# build-kernel.sh: build ember's guest Linux (vmlinux + bzImage), cached.
#
#   guest-init/linux/build-kernel.sh OUTDIR
#
# Configures Debian's linux-source-6.1 with `make tinyconfig` plus
# microvm.config, applies patches/*.patch, builds vmlinux and bzImage and
# copies them to OUTDIR. Builds live in $EMBER_CACHE/kernel/<key>/ (default
# /var/cache/ember), key = sha256 of the config fragment, the patches, this
# script and the linux-source package version; a complete cached build is
# only copied. A build runs in a temporary directory renamed into place at
# the end, so an interrupted one is never taken for complete.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src_pkg=linux-source-6.1
src_tar=${EMBER_LINUX_TAR:-/usr/src/$src_pkg.tar.xz}
fragment=$here/microvm.config

say() { printf '  %-8s %s\n' KERNEL "$*"; }
die() { printf 'build-kernel.sh: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
outdir=$1
[ -r "$src_tar" ] || die "$src_tar missing: apt-get install $src_pkg"

# --- cache key ----------------------------------------------------------
src_id=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null) ||
	src_id=$(sha256sum <"$src_tar" | cut -d' ' -f1)
# bzImage compressor: LZ4 decompresses fastest, but needs Debian's lz4.
if command -v lz4 >/dev/null 2>&1; then zip=LZ4; else zip=GZIP; fi
key=$({
	echo "source $src_pkg $src_id"
	echo "compressor $zip"
	for f in "$fragment" "$here/build-kernel.sh" "$here"/patches/*.patch; do
		[ -f "$f" ] || continue
		printf '%s %s\n' "${f#"$here"/}" "$(sha256sum <"$f" | cut -d' ' -f1)"
	done
} | sha256sum | cut -c1-16)

cache=${EMBER_CACHE:-/var/cache/ember}
if ! mkdir -p "$cache/kernel" 2>/dev/null || [ ! -w "$cache/kernel" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/ember
	mkdir -p "$cache/kernel"
fi
entry=$cache/kernel/$key

install_outputs() {
	mkdir -p "$outdir"
	for f in vmlinux bzImage; do
		cp -f "$entry/$f" "$outdir/.$f.tmp"
		mv -f "$outdir/.$f.tmp" "$outdir/$f"
	done
	cp -f "$entry/config" "$outdir/kernel.config"
}

if [ -f "$entry/complete" ]; then
	install_outputs
	say "cached $entry"
	exit 0
fi

# --- build ---------------------------------------------------------------
start=$(date +%s)
jobs=$(nproc)
log=$outdir/kernel-build.log
mkdir -p "$outdir"
: >"$log"
# Leftovers of builds killed outright (SIGKILL, power loss) a day ago.
find "$cache/kernel" -maxdepth 1 -name '.build-*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
tmp=$(mktemp -d "$cache/kernel/.build-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
tree=$tmp/linux

fail() {
	echo "build-kernel.sh: $1 failed; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	exit 1
}

# Whatever make invoked us must not leak into the kernel's make: O= in
# MAKEFLAGS would redirect its output, V= its verbosity.
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEFILES MAKEOVERRIDES O V \
	CFLAGS CPPFLAGS LDFLAGS KCFLAGS 2>/dev/null || true
export KBUILD_BUILD_TIMESTAMP='1970-01-01 00:00:00 UTC'
export KBUILD_BUILD_USER=ember KBUILD_BUILD_HOST=ember
export KBUILD_BUILD_VERSION=1
kmake() { make -C "$tree" ARCH=x86_64 "$@" >>"$log" 2>&1; }

# verify_config: merge_config.sh drops options whose dependencies are
# missing without failing, so check every line of the fragment against
# $tree/.config: `=value` lines must be there verbatim, `is not set` lines
# must not be =y/=m. Prints a summary; exits listing the misses.
verify_config() {
	bad= on=0 off=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			on=$((on + 1))
			opt=${line%%=*}
			grep -qxF "$line" "$tree/.config" ||
				bad="$bad
  $line (got: $(grep -E "^(# )?$opt[= ]" "$tree/.config" || echo absent))"
			;;
		"# CONFIG_"*" is not set")
			off=$((off + 1))
			opt=${line#"# "}
			opt=${opt%% *}
			! grep -q "^$opt=" "$tree/.config" ||
				bad="$bad
  $opt should be off (got: $(grep "^$opt=" "$tree/.config"))"
			;;
		esac
	done <"$tmp/fragment"
	if [ -n "$bad" ]; then
		echo "build-kernel.sh: options that did not end up as asked:$bad" >&2
		exit 1
	fi
	echo "$on options set, $off off"
}

say "key $key, building in $tmp (log: $log)"
mkdir -p "$tree"
tar -xf "$src_tar" -C "$tree" --strip-components=1 >>"$log" 2>&1 ||
	fail "extracting $src_tar"
for p in "$here"/patches/*.patch; do
	[ -f "$p" ] || continue
	echo "### patch $p" >>"$log"
	patch -d "$tree" -p1 --forward <"$p" >>"$log" 2>&1 || fail "patch $p"
done

say "configure: tinyconfig + microvm.config (bzImage: $zip)"
sed "s/^CONFIG_KERNEL_LZ4=y\$/CONFIG_KERNEL_$zip=y/" "$fragment" >"$tmp/fragment"
kmake tinyconfig || fail "make tinyconfig"
(cd "$tree" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config \
	"$tmp/fragment") >>"$log" 2>&1 || fail "merge_config.sh"
kmake olddefconfig || fail "make olddefconfig"

summary=$(verify_config)
say "config verified: $summary"
say "make -j$jobs vmlinux bzImage"
kmake -j"$jobs" vmlinux bzImage || fail "make vmlinux bzImage"
verify_config >/dev/null

# Assemble the cache entry beside its final name, then rename it in.
res=$tmp/result
mkdir -p "$res"
cp "$tree/vmlinux" "$res/vmlinux"
cp "$tree/arch/x86/boot/bzImage" "$res/bzImage"
cp "$tree/.config" "$res/config"
cp "$tree/System.map" "$res/System.map"
echo "$key" >"$res/complete"
if ! mv -T "$res" "$entry" 2>/dev/null; then
	# A concurrent build with the same key won the rename.
	[ -f "$entry/complete" ] || die "cannot rename $res to $entry"
fi
install_outputs
say "built in $(($(date +%s) - start)) s, cached in $entry"
