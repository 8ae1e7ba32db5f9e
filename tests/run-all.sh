#!/bin/sh
# SPDX-License-Identifier: MIT
# run-all.sh - the project's test command: install the Debian packages,
# build with warnings as errors, run the whole ctest suite, then build again
# with AddressSanitizer + UBSan and run the suite under them.
#   tests/run-all.sh [--no-asan]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0
jobs=$(nproc 2>/dev/null || echo 2)

deploy/install-deps.sh

echo "== build (Release with debug info, -Werror)"
cmake -S . -B build -DSB_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== ctest"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

if [ "$asan" -eq 1 ]; then
	echo "== build (ASan + UBSan)"
	cmake -S . -B build-asan -DSB_WERROR=ON -DSB_SANITIZE=ON \
		-DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j"$jobs"
	echo "== ctest under ASan + UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions="$top/tests/lsan.supp" \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600
fi
echo "== all tests passed"
