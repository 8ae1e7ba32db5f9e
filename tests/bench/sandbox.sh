#!/bin/sh
# SPDX-License-Identifier: MIT
# sandbox.sh - sockbroker-run against running directly and against pasta
# (passt: the closest peer for unmodified programs in a namespace), in one
# run, as ratios to direct:
#   download  curl of a $SB_BENCH_MB MiB file (default 1024) from an HTTP
#             server on the host's loopback, bytes/s   (target >= 0.95x)
#   connect   connections/s of a client loop, each waiting for a first
#             byte (target >= 0.5x, and ahead of pasta)
#   latency   median time from connect() to the first byte
# The modes take turns over $SB_BENCH_ROUNDS rounds (default 5); each
# figure is the median of its rounds.
# A measurement, not a ctest test. Needs root (pasta runs with --runas 0),
# curl, python3, busybox (httpd) and passt; without pasta its column is "-".
#   tests/bench/sandbox.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-"$src/build"}
brokerd=$build/server/sockbrokerd
runner=$build/client/run/sockbroker-run
mb=${SB_BENCH_MB:-1024}
conns=${SB_BENCH_CONNS:-2000}
rounds=${SB_BENCH_ROUNDS:-5}
for f in "$brokerd" "$runner"; do
	[ -x "$f" ] || { echo "sandbox.sh: $f is not built" >&2; exit 1; }
done
T=$(mktemp -d /tmp/sb-bench-sandbox.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$brokerd" --listen "unix:$T/b.sock" >"$T/broker.log" 2>&1 &
pids="$pids $!"
truncate -s "${mb}M" "$T/file"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# busybox httpd sends the file with sendfile(2): the server is not the limit.
busybox httpd -f -p "0.0.0.0:$port" -h "$T" &
pids="$pids $!"
# The connection server: one byte, then close (in C-like Python: a loop).
python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(1024)
while True:
    c, _ = s.accept(); c.send(b'x'); c.close()" "$cport" &
pids="$pids $!"
i=0
while [ $i -lt 50 ] && ! { [ -S "$T/b.sock" ] && curl -s -o /dev/null "http://127.0.0.1:$port/"; }; do
	sleep 0.1
	i=$((i + 1))
done

gw=
if command -v pasta >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	gw=$(pasta --runas 0 --config-net -q -f -- ip -4 route show default 2>/dev/null |
	     awk '/default/ {print $3; exit}')
fi

# mode_run MODE HOST CMD...: CMD directly, in the sandbox, or in pasta.
mode_run() {
	_m=$1
	shift
	case $_m in
	direct) "$@" ;;
	sandbox) "$runner" --broker "unix:$T/b.sock" -- "$@" ;;
	pasta) pasta --runas 0 --config-net -q -f -- "$@" 2>/dev/null ;;
	esac
}

# Warm the page cache, so that the first mode does not pay for it.
curl -s -o /dev/null "http://127.0.0.1:$port/file"

# Rounds: the modes take turns, so that a slow spell of the machine falls
# on all of them; each figure is the median of its rounds (one curl of a
# big file varies by 1.5x between runs here, in every mode alike).
med() {
	tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print 0; exit }
		printf "%.3f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
modes="direct sandbox"
[ -n "$gw" ] && modes="$modes pasta"
r=1
while [ "$r" -le "$rounds" ]; do
	for m in $modes; do
		host=127.0.0.1
		[ "$m" = pasta ] && host=$gw   # pasta maps its gateway to the host's loopback
		bps=$(mode_run $m curl -s -o /dev/null -w '%{speed_download}' "http://$host:$port/file")
		cl=$(mode_run $m python3 "$here/sandbox_client.py" "$host" "$cport" "$conns")
		eval "all_bps_$m=\"\${all_bps_$m:-} $bps\" all_cps_$m=\"\${all_cps_$m:-} ${cl% *}\"
		      all_lat_$m=\"\${all_lat_$m:-} ${cl#* }\""
	done
	r=$((r + 1))
done

printf '%-8s %14s %14s %16s   (medians of %d rounds)\n' mode "download MB/s" "connects/s" \
	"first byte us" "$rounds"
for m in direct sandbox pasta; do
	case " $modes " in
	*" $m "*) ;;
	*) printf '%-8s %14s %14s %16s\n' "$m" - - -; continue ;;
	esac
	eval "bps=\$(echo \$all_bps_$m | med) cps=\$(echo \$all_cps_$m | med) lat=\$(echo \$all_lat_$m | med)"
	printf '%-8s %14.0f %14.0f %16.0f\n' "$m" "$(echo "$bps / 1048576" | bc -l)" "$cps" "$lat"
	eval "bps_$m=\$bps cps_$m=\$cps"
done
echo
# shellcheck disable=SC2154 # set by the eval above
awk -v bd="$bps_direct" -v bs="$bps_sandbox" -v cd="$cps_direct" -v cs="$cps_sandbox" \
    -v cp="${cps_pasta:-0}" -v bp="${bps_pasta:-0}" 'BEGIN {
	printf "download: sandbox %.2fx direct (target >= 0.95: %s)", bs / bd, (bs / bd >= 0.95) ? "PASS" : "MISS"
	if (bp > 0) printf ", pasta %.2fx", bp / bd
	printf "\nconnect:  sandbox %.2fx direct (target >= 0.5: %s)", cs / cd, (cs / cd >= 0.5) ? "PASS" : "MISS"
	if (cp > 0) printf ", pasta %.2fx (sandbox ahead: %s)", cp / cd, (cs > cp) ? "PASS" : "MISS"
	printf "\n"
}'
