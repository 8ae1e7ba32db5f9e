#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - run one fuzz target for a while from its seed corpus.
#   tests/fuzz/run.sh TARGET [SECONDS]
# TARGET is a name (addr, config, policy, request, reply: the binary is
# taken from $SB_FUZZ_BUILD, default build-fuzz) or the path of a binary.
# Default 600 seconds. Inputs that reach new code are kept in
# $SB_FUZZ_BUILD/fuzz-corpus/NAME across runs, and a crash's input is
# written there (crash-*) and the script fails. When TARGET is a path (as
# ctest runs it) new inputs go to a temporary directory and a crash's
# input to the current one. The seeds in tests/fuzz/corpus are never
# written.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 TARGET [SECONDS]" >&2; exit 2; }
secs=${2:-600}
case $1 in
*/*)
	bin=$1
	name=$(basename "$bin" | sed 's/^fuzz_//')
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	arts=$PWD
	;;
*)
	name=$1
	build=${SB_FUZZ_BUILD:-$top/build-fuzz}
	bin=$build/tests/fuzz/fuzz_$name
	work=$build/fuzz-corpus/$name
	mkdir -p "$work"
	arts=$work
	;;
esac
[ -x "$bin" ] || { echo "$0: no fuzz target $bin (configure with -DSB_FUZZ=ON)" >&2; exit 2; }
seeds=$here/corpus/$name
# The corpus given first receives the new inputs; the seeds only feed.
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$arts/" "$work" "$seeds"
