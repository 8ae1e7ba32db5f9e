#!/bin/sh
# SPDX-License-Identifier: MIT
# metrics.sh - the broker's /metrics listener (config `metrics:`):
#  - the section as --check-config reads it: printed; a non-loopback
#    address refused unless allow_remote: true; bad addresses refused;
#  - a confined broker serving /metrics on 127.0.0.1 (port 0: the log
#    names the port): scrape.py parses the page with prometheus_client,
#    checks the histograms and rule counters against the calls it makes,
#    and plays hostile clients (wrong methods and paths, huge headers,
#    200 connections, slowloris) against the bounds of metrics.h;
#  - SIGHUP with another metrics address: logged "apply at restart", the
#    listener stays where it was;
#  - the same served by a broker confined to uid 65534 (confine.user).
#   metrics.sh SOCKBROKERD SBCTL PYTHON3
set -u
B=$1 SBCTL=$2 PY=$3
D=$(dirname "$0")
. "$D/../check.sh"
# shellcheck disable=SC2034 # read by finish (check.sh)
SHOW_LOGS="$T/*.log"
chmod 755 "$T"
# check DESCRIPTION CMD...: ok when CMD succeeds (its output discarded).
check() {
	_d=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$_d"; else fail "$_d"; fi
}
"$PY" -c 'import prometheus_client' 2>/dev/null ||
	{ echo "skip: python3-prometheus-client is missing"; rm -rf "$T"; exit 77; }

policy() {
	cat <<EOF2
policy:
  - name: no-ifaddrs
    match: { uid: 0 }
    ops: [ifaddrs]
    action: deny
  - name: resolve-ok
    match: { uid: 0 }
    ops: [resolve]
    action: allow
  - name: owner
    match: { uid: 0 }
    action: allow
EOF2
}

# ---- --check-config
conf() { printf 'listen:\n  - unix: %s\n%s\n' "$T/b.sock" "$1" >"$T/$2"; policy >>"$T/$2"; }
conf 'metrics: { listen: "127.0.0.1:9464" }' c1.yaml
out=$("$B" --check-config "$T/c1.yaml" 2>&1)
check "--check-config prints the metrics listener" \
	sh -c 'echo "$1" | grep -q "^metrics http://127.0.0.1:9464/metrics (loopback only; 16 connections"' _ "$out"
conf 'metrics: { listen: "[::1]:9464" }' c2.yaml
check "[::1] is loopback" "$B" --check-config "$T/c2.yaml"
conf 'metrics: { listen: "0.0.0.0:9464" }' c3.yaml
out=$("$B" --check-config "$T/c3.yaml" 2>&1)
rc=$?
check "0.0.0.0 refused without allow_remote (exit $rc)" \
	sh -c '[ "$1" -eq 1 ] && echo "$2" | grep -q "not a loopback address.*allow_remote: true"' _ "$rc" "$out"
conf 'metrics: { listen: "0.0.0.0:9464", allow_remote: true }' c4.yaml
out=$("$B" --check-config "$T/c4.yaml" 2>&1)
check "allow_remote: true accepts 0.0.0.0 and says so" \
	sh -c 'echo "$1" | grep -q "^metrics http://0.0.0.0:9464/metrics (allow_remote"' _ "$out"
for bad in 'metrics: { listen: "localhost:9464" }' 'metrics: { listen: "127.0.0.1" }' \
	'metrics: { listen: "127.0.0.1:70000" }' 'metrics: { allow_remote: true }' \
	'metrics: { listen: "127.0.0.1:1", path: /x }' 'metrics: "127.0.0.1:9464"'; do
	conf "$bad" cb.yaml
	if "$B" --check-config "$T/cb.yaml" >/dev/null 2>"$T/cb.err"; then
		fail "refused: $bad"
	else
		ok "refused: $bad ($(cut -c1-70 "$T/cb.err"))"
	fi
done
conf '' c0.yaml
check "no metrics section: off" sh -c '"$1" --check-config "$2" | grep -q "^metrics off"' _ "$B" "$T/c0.yaml"

# start NAME CONFIG: a broker with its log in $T/NAME.log; sets $bpid, $url.
start() {
	"$B" -c "$2" 2>"$T/$1.log" &
	bpid=$!
	pids="$pids $bpid"
	url=
	WAIT_STEP=0.1 wait_for 100 grep -q "listening on unix" "$T/$1.log"
	url=$(sed -n 's|.*metrics: serving \(http://[^/]*\)/metrics.*|\1|p' "$T/$1.log" | head -1)
}

# ---- a confined broker on 127.0.0.1, port 0
conf 'metrics: { listen: "127.0.0.1:0" }' m.yaml
start m "$T/m.yaml"
if [ -z "$url" ]; then
	fail "the log names the metrics address"
	finish
fi
ok "serving at $url"
check "the broker is confined (seccomp filter)" \
	sh -c 'grep -q "^Seccomp:[[:space:]]*2" /proc/$1/status || grep -q "seccomp skipped in this sanitizer build" "$2"' _ "$bpid" "$T/m.log"
SOCKBROKER_ADDR=unix:$T/b.sock "$PY" "$D/scrape.py" "$SBCTL" "$url" "$bpid"
check "scrape.py: the page, the counters, hostile clients" [ $? -eq 0 ]
check "the broker still runs" kill -0 "$bpid"

# ---- SIGHUP: the listener stays as started
conf 'metrics: { listen: "127.0.0.1:1" }' m.yaml
kill -HUP "$bpid"
WAIT_STEP=0.1 wait_for 50 grep -q "reloaded" "$T/m.log"
check "reload logs the metrics change for a restart" \
	grep -q "metrics: changed in the file, apply at restart" "$T/m.log"
check "after the reload /metrics is where it was" \
	sh -c 'curl -sf --max-time 5 "$1/metrics" | grep -q "^sockbroker_calls_total "' _ "$url"
kill "$bpid"
wait "$bpid" 2>/dev/null
check "SIGTERM: exit 0" [ $? -eq 0 ]
pids=

# ---- confined to uid 65534: bound before, served after
rm -f "$T/b.sock"
conf 'metrics: { listen: "127.0.0.1:0" }
confine: { user: "65534" }' n.yaml
start n "$T/n.yaml"
check "confined to 65534" sh -c '[ "$(awk "/^Uid:/ {print \$2}" /proc/$1/status)" = 65534 ]' _ "$bpid"
check "a broker confined to 65534 serves /metrics" \
	sh -c 'curl -sf --max-time 5 "$1/metrics" | "$2" -c "
import sys
from prometheus_client.parser import text_string_to_metric_families as p
sys.exit(0 if len(list(p(sys.stdin.read()))) > 20 else 1)"' _ "$url" "$PY"
# Who reaches the port reads it: uid 65534 too (the README says so).
check "any local user reads the page (documented)" \
	sh -c 'setpriv --reuid=65534 --regid=65534 --clear-groups curl -sf --max-time 5 "$1/metrics" >/dev/null' _ "$url"
finish
