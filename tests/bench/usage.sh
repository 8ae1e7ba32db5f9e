#!/bin/sh
# SPDX-License-Identifier: MIT
# usage.sh - what the broker costs under the benchmarks: runs each one and
# samples its sockbrokerd (the benchmark's child) every 0.2 s: peak RSS,
# and CPU (user + system) over the broker's lifetime. The figures behind
# the resource requests of deploy/kubernetes.
#   tests/bench/usage.sh [BUILD_DIR] [BENCH...]   (default: build, all four)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-"$here/../../build"}
[ "$#" -gt 0 ] && shift
benches=${*:-bench_core bench_streams bench_dial bench_handoff}
for b in $benches; do
	cmake --build "$build" --target "$b" --parallel 2 >/dev/null
done
hz=$(getconf CLK_TCK)
printf '%-14s %10s %10s %12s %10s\n' bench wall_s rss_idle rss_peak_KiB cpu_cores
for b in $benches; do
	"$build/tests/bench/$b" >/dev/null 2>&1 &
	bp=$!
	peak=0 first=0 cpu=0 t0="" t1=""
	while kill -0 "$bp" 2>/dev/null; do
		for p in $(pgrep -P "$bp" -x sockbrokerd 2>/dev/null); do
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
			[ -n "$rss" ] || continue
			[ "$first" -eq 0 ] && first=$rss
			[ "$rss" -gt "$peak" ] && peak=$rss
			# utime + stime, in clock ticks, of the newest sample
			c=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo "")
			[ -n "$c" ] && cpu=$c
			now=$(date +%s.%N)
			[ -z "$t0" ] && t0=$now
			t1=$now
		done
		sleep 0.2
	done
	wait "$bp" || echo "note: $b exited with status $?" >&2
	wall=$(echo "${t1:-0} ${t0:-0}" | awk '{ printf "%.1f", $1 - $2 }')
	cores=$(echo "$cpu $hz $wall" | awk '{ printf "%.2f", ($3 > 0) ? $1 / $2 / $3 : 0 }')
	printf '%-14s %10s %10s %12s %10s\n' "$b" "$wall" "$first" "$peak" "$cores"
done
