#!/bin/sh
# SPDX-License-Identifier: MIT
# clang_tidy.sh - clang-tidy (bugprone-*, cert-*, clang-analyzer-*, less
# the checks .clang-tidy says are noise, and why) over our own C code:
# lib/, server/ and client/, with the flags of the build's
# compile_commands.json. Any finding fails the test; a wrong one is
# silenced where it is (NOLINT with the check's name and a reason). The
# generated protobuf-c and nanopb code in the build directory is not ours
# and is not analysed.
#   tests/clang_tidy.sh SOURCE_DIR BUILD_DIR
# Exit: 0 clean, 1 findings, 77 (skipped) when clang-tidy is not installed.
set -u
top=${1:?usage: clang_tidy.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: clang_tidy.sh SOURCE_DIR BUILD_DIR}
tidy=
for t in clang-tidy clang-tidy-14; do
	command -v "$t" >/dev/null 2>&1 && { tidy=$t; break; }
done
if [ -z "$tidy" ]; then
	echo "clang-tidy is not installed: skipped"
	exit 77
fi
if [ ! -f "$build/compile_commands.json" ]; then
	echo "FAIL $build/compile_commands.json is missing (CMAKE_EXPORT_COMPILE_COMMANDS)"
	exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)
out=$(mktemp /tmp/sb-clang-tidy-XXXXXX)
trap 'rm -f "$out"' EXIT
# Every .c of ours that the build compiles (a file outside the build, such
# as a fuzz target of another configuration, has no flags to be read with).
files=$(cd "$top" && find lib server client -name '*.c' | sort)
n=0
list=
for f in $files; do
	grep -q "\"file\": \"$top/$f\"" "$build/compile_commands.json" || continue
	list="$list $top/$f"
	n=$((n + 1))
done
echo "clang-tidy ($("$tidy" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1)) over $n files, $jobs at a time"
# shellcheck disable=SC2086 # $list holds paths without spaces
printf '%s\n' $list | xargs -P "$jobs" -n 1 "$tidy" -p "$build" --quiet \
	--config-file="$top/.clang-tidy" \
	--header-filter="^$top/(lib|server|client)/" >"$out" 2>&1
rc=$?
findings=$(grep -cE ': (warning|error): ' "$out")
if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
	grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' "$out"
	echo "FAIL clang-tidy: $findings findings (exit $rc)"
	exit 1
fi
echo "ok   clang-tidy: no findings in $n files"
exit 0
