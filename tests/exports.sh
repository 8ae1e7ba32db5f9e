#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh - libsockbroker.so exports exactly the functions sockbroker.h
# declares: no internal sb__ function, no nanopb runtime, no message
# descriptor (a program with its own nanopb would bind to ours), and no
# public function missing.
#   tests/exports.sh LIBSOCKBROKER_SO SOCKBROKER_H
# Exit: 0 as declared, 1 otherwise, 77 (skipped) without nm.
set -u
lib=${1:?usage: exports.sh LIBSOCKBROKER_SO SOCKBROKER_H}
hdr=${2:?usage: exports.sh LIBSOCKBROKER_SO SOCKBROKER_H}
if ! command -v nm >/dev/null 2>&1; then
	echo "nm is not installed: skipped"
	exit 77
fi
t=$(mktemp -d /tmp/sb-exports.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
# Defined dynamic symbols, without the version node itself (type A).
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$t/exported"
# Names the header declares as functions: "sb_name(" at any position.
grep -Eo '\bsb_[a-z0-9_]+[[:space:]]*\(' "$hdr" | tr -d '( \t' | sort -u >"$t/public"
if [ ! -s "$t/exported" ] || [ ! -s "$t/public" ]; then
	echo "FAIL: no symbols read from $lib or $hdr"
	exit 1
fi
fails=0
extra=$(comm -23 "$t/exported" "$t/public")
missing=$(comm -13 "$t/public" "$t/exported")
if [ -n "$extra" ]; then
	echo "FAIL: $lib exports $(echo "$extra" | wc -l) symbols sockbroker.h does not declare:"
	echo "$extra" | head -40
	fails=1
fi
if [ -n "$missing" ]; then
	echo "FAIL: sockbroker.h declares functions $lib does not export:"
	echo "$missing"
	fails=1
fi
[ "$fails" -eq 0 ] && echo "ok: $(wc -l <"$t/exported") symbols, all of them public"
exit "$fails"
