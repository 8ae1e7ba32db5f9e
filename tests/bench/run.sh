#!/bin/sh
# SPDX-License-Identifier: MIT
# Build and run the benchmarks: the core one (tests/bench/bench_core.c),
# the streaming one (tests/bench/bench_streams.c, needs microsocks), the
# dial one (tests/bench/bench_dial.c, needs microsocks) and the hand-off
# one (tests/bench/bench_handoff.c, needs socat). sockbroker-run against
# direct and pasta: tests/bench/sandbox.sh.
# Usage: tests/bench/run.sh [BUILD_DIR]   (default: <repo>/build)
# Knobs are the benchmarks' own environment variables (see their headers).
# Prints the tables; exits 0 when every measurement ran (targets are
# reported as PASS/MISS, not enforced).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-"$src/build"}

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build"
fi
for t in bench_core bench_streams bench_dial bench_handoff; do
	cmake --build "$build" --target "$t" --parallel 2 >/dev/null || {
		echo "run.sh: build of $t failed; rerun: cmake --build $build --target $t" >&2
		exit 1
	}
	if [ ! -x "$build/tests/bench/$t" ]; then
		echo "run.sh: $t not found under $build" >&2
		exit 1
	fi
done
rc=0
timeout 180 "$build/tests/bench/bench_core" || rc=$?
echo
timeout 180 "$build/tests/bench/bench_streams" || rc=$?
echo
timeout 120 "$build/tests/bench/bench_dial" || rc=$?
echo
timeout 120 "$build/tests/bench/bench_handoff" || rc=$?
exit $rc
