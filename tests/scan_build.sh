#!/bin/sh
# SPDX-License-Identifier: MIT
# scan_build.sh - the clang static analyzer over a build of the daemon,
# the client library and the tools (scan-build, its default checkers):
# a configuration of its own in OUT_DIR/build, without the tests, built
# through scan-build's compiler wrapper; the generated protobuf-c and
# nanopb code under OUT_DIR is not analysed. Any report fails the test
# (--status-bugs); the HTML reports stay in OUT_DIR/report.
#   tests/scan_build.sh SOURCE_DIR OUT_DIR
# Exit: 0 clean, 1 reports or a failed build, 77 (skipped) when
# scan-build (clang-tools) is not installed.
set -u
top=${1:?usage: scan_build.sh SOURCE_DIR OUT_DIR}
out=${2:?usage: scan_build.sh SOURCE_DIR OUT_DIR}
if ! command -v scan-build >/dev/null 2>&1; then
	echo "scan-build is not installed: skipped"
	exit 77
fi
jobs=$(nproc 2>/dev/null || echo 2)
rm -rf "$out"
mkdir -p "$out/report" || exit 1
# Configure and build both under scan-build: it points CC at its wrapper.
if ! scan-build -o "$out/report" cmake -S "$top" -B "$out/build" -DBUILD_TESTING=OFF \
	-DCMAKE_BUILD_TYPE=Debug >"$out/configure.log" 2>&1; then
	cat "$out/configure.log"
	echo "FAIL scan-build: the configuration failed"
	exit 1
fi
scan-build --status-bugs -o "$out/report" --exclude "$out/build" \
	cmake --build "$out/build" -j"$jobs" >"$out/build.log" 2>&1
rc=$?
grep -E 'scan-build: |warning: .*\[' "$out/build.log"
if [ "$rc" -ne 0 ]; then
	grep -E 'error|warning:' "$out/build.log" | head -50
	echo "FAIL scan-build: exit $rc (reports in $out/report)"
	exit 1
fi
echo "ok   scan-build: no reports"
exit 0
