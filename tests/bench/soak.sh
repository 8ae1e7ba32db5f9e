#!/bin/sh
# SPDX-License-Identifier: MIT
# The churn soak for as long as you like: tests/integration/it_churn.c
# (sessions, sockets, dials, streams and pipes opened and closed as fast as
# the machine allows; the broker's threads, fds and RSS sampled every
# second and checked flat after the warm-up). ctest runs it for 40 s.
# Usage: tests/bench/soak.sh [SECONDS] [BUILD_DIR]   (default 3600, <repo>/build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
seconds=${1:-3600}
build=${2:-"$src/build"}

cmake --build "$build" --target it_churn --parallel 2 >/dev/null
SB_CHURN_SECONDS=$seconds exec "$build/tests/integration/it_churn"
