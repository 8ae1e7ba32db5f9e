#!/bin/sh
# SPDX-License-Identifier: MIT
# Build and run the core benchmark (tests/bench/bench_core.c).
# Usage: tests/bench/run.sh [BUILD_DIR]   (default: <repo>/build)
# Prints the table; exits 0 when the measurement ran (targets are reported
# as PASS/MISS, not enforced).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-"$src/build"}

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build"
fi
cmake --build "$build" --target bench_core --parallel 2 >/dev/null || {
	echo "run.sh: build of bench_core failed; rerun: cmake --build $build --target bench_core" >&2
	exit 1
}
exe="$build/tests/bench/bench_core"
if [ ! -x "$exe" ]; then
	echo "run.sh: bench_core not found under $build" >&2
	exit 1
fi
exec timeout 180 "$exe"
