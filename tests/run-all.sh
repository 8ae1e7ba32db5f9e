#!/bin/sh
# SPDX-License-Identifier: MIT
# run-all.sh - the project's test command: install the Debian packages and
# the manifest check's npm packages (tests/k8s), build with warnings as
# errors, run the whole ctest suite (the container test included: it
# builds the image and runs the sidecar pattern with podman when podman can
# run containers here, and is skipped otherwise; the static analysis too:
# cppcheck, clang-tidy and scan-build, label `static`), then build again
# with AddressSanitizer + UBSan and run the suite under them, then build
# with ThreadSanitizer (SB_TSAN) and run the tests labelled `threads` one
# at a time (build-tsan; about 4-5 minutes of tests here), then build
# the libFuzzer targets with clang and run each briefly (tests/fuzz).
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
echo "== npm packages of the manifest check"
tests/k8s/install.sh build
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
# ThreadSanitizer over the tests whose broker and clients run many threads
# (ctest -L threads). One test at a time: under TSan's slowdown two at once
# on two cores miss the tests' own deadlines. tests/tsan.supp names what
# is reported inside the uninstrumented libgrpc, libgpr and abseil only.
echo "== build (ThreadSanitizer)"
cmake -S . -B build-tsan -DSB_WERROR=ON -DSB_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs"
echo "== ctest -L threads under ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$top/tests/tsan.supp" \
	ctest --test-dir build-tsan -L threads --output-on-failure -j1 --timeout 600
# The fuzz targets: replay the seed corpus, then a short run of each
# (SB_FUZZ_SECONDS each; the whole stage is about two minutes here).
if command -v clang >/dev/null 2>&1; then
	echo "== build (clang, libFuzzer + ASan + UBSan: the fuzz targets)"
	cmake -S . -B build-fuzz -DSB_WERROR=ON -DSB_FUZZ=ON -DCMAKE_C_COMPILER=clang \
		-DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j"$jobs" --target fuzz
	echo "== ctest -L fuzz"
	ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs" --timeout 300
else
	echo "== fuzz targets skipped: clang is not installed (deploy/debian-packages.txt has it)"
fi
echo "== all tests passed"
