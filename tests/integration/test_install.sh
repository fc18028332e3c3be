#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_install.sh: `make install` into a staging root puts ember,
# ember-jailer and their manual pages where system tools live, and the
# pages render.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

test_make_install_into_destdir() {
	local dest=$TMP/stage f
	make --no-print-directory -s install O="$O" DESTDIR="$dest" >"$TMP/out" 2>"$TMP/err" ||
		{ fail "make install failed: $(cat "$TMP/err")"; return; }
	for f in usr/local/bin/ember usr/local/bin/ember-jailer usr/local/bin/ember-rebase-snap; do
		[ -x "$dest/$f" ] || fail "$f is not installed executable"
	done
	cmp -s "$dest/usr/local/bin/ember" "$O/ember" || fail "the installed ember differs from $O/ember"
	for f in ember ember-jailer ember-rebase-snap; do
		[ -f "$dest/usr/local/share/man/man1/$f.1" ] || { fail "man1/$f.1 is not installed"; continue; }
		[ "$(stat -c %a "$dest/usr/local/share/man/man1/$f.1")" = 644 ] || fail "man1/$f.1 is not mode 644"
	done
	"$dest/usr/local/bin/ember" --version | grep -qE '^ember v[0-9]+\.[0-9]+\.[0-9]+ ' ||
		fail "the installed ember does not run"
	# PREFIX moves everything.
	make --no-print-directory -s install O="$O" DESTDIR="$dest" PREFIX=/opt/ember >/dev/null 2>&1
	[ -x "$dest/opt/ember/bin/ember-jailer" ] && [ -f "$dest/opt/ember/share/man/man1/ember.1" ] ||
		fail "PREFIX=/opt/ember: not installed under it"
	if ! command -v man >/dev/null; then
		skip "man is not installed: the pages' rendering NOT checked"
		return
	fi
	# Every flag --help names is in the page, and the page renders without warnings.
	MANWIDTH=100 man -l "$dest/usr/local/share/man/man1/ember.1" >"$TMP/ember.txt" 2>"$TMP/man.err" ||
		fail "man -l ember.1 failed"
	grep -q 'a minimal microVM monitor' "$TMP/ember.txt" || fail "ember.1 did not render"
	local flag
	for flag in $("$O/ember" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "$flag" "$TMP/ember.txt" || fail "ember.1 lacks $flag"
	done
	MANWIDTH=100 man -l "$dest/usr/local/share/man/man1/ember-jailer.1" >"$TMP/jailer.txt" 2>>"$TMP/man.err" ||
		fail "man -l ember-jailer.1 failed"
	for flag in $("$O/ember-jailer" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "$flag" "$TMP/jailer.txt" || fail "ember-jailer.1 lacks $flag"
	done
	[ -s "$TMP/man.err" ] && fail "man warned: $(cat "$TMP/man.err")"
	return 0
}

run_tests "${1:-}"
