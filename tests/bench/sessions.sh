#!/bin/sh
# SPDX-License-Identifier: MIT
# 1,000 concurrent sessions, each doing ROUNDS rounds of six calls:
# tests/integration/it_many_sessions.c, which prints call latency
# p50/p99/max, calls/s and the broker's RSS and fds idle, with 1,000
# sessions and after. ctest runs it with 5 rounds.
# Usage: tests/bench/sessions.sh [ROUNDS] [BUILD_DIR]   (default 100, <repo>/build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
rounds=${1:-100}
build=${2:-"$src/build"}

cmake --build "$build" --target it_many_sessions --parallel 2 >/dev/null
SB_SESSIONS_ROUNDS=$rounds exec "$build/tests/integration/it_many_sessions"
