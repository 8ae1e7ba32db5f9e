#!/bin/sh
# SPDX-License-Identifier: MIT
# hardening.sh - the built sockbrokerd keeps its hardening: a PIE, full
# RELRO (GNU_RELRO segment and BIND_NOW), a stack protector, and, when the
# build optimises, fortified libc calls (_FORTIFY_SOURCE).
#   tests/hardening.sh SOCKBROKERD BUILD_TYPE
# Exit: 0 all present, 1 something missing, 77 (skipped) without readelf.
set -u
bin=${1:?usage: hardening.sh SOCKBROKERD BUILD_TYPE}
type=${2:-}
if ! command -v readelf >/dev/null 2>&1; then
	echo "readelf is not installed: skipped"
	exit 77
fi
fails=0
check() { # check WHAT COMMAND...: count a failure when COMMAND fails
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "ok: $what"
	else
		echo "FAIL: $bin: $what"
		fails=$((fails + 1))
	fi
}
check "PIE (ELF type DYN)" sh -c "readelf -h '$bin' | grep -Eq 'Type:[[:space:]]+DYN'"
check "PIE (DT_FLAGS_1 PIE)" sh -c "readelf -d '$bin' | grep -Eq 'FLAGS_1.*PIE'"
check "RELRO (GNU_RELRO segment)" sh -c "readelf -lW '$bin' | grep -q GNU_RELRO"
check "full RELRO (BIND_NOW)" sh -c "readelf -d '$bin' | grep -Eq 'BIND_NOW|FLAGS_1.*NOW'"
check "stack protector (__stack_chk_fail)" \
	sh -c "readelf --dyn-syms -W '$bin' | grep -q __stack_chk_fail"
if [ "$type" != Debug ]; then
	check "_FORTIFY_SOURCE (__*_chk calls)" \
		sh -c "readelf --dyn-syms -W '$bin' | grep -v __stack_chk_fail |
		       grep -Eq '__[a-z0-9_]+_chk'"
fi
[ "$fails" -eq 0 ] || exit 1
