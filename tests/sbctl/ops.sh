#!/bin/sh
# SPDX-License-Identifier: MIT
# ops.sh - sbctl stats and health against a real broker, the help of the
# tool and of every command (--help, `help CMD`), --version, and the man
# page (it renders without warnings and names every command).
#   ops.sh SOCKBROKERD SBCTL PYTHON3 [MANPAGE]
MANPAGE=${4:-}
. "$(dirname "$0")/lib.sh"

start_broker
COMMANDS="ifaddrs resolve nameinfo hostname service connect listen stats health watch help"

# ---- health
out=$(timeout 20 "$SBCTL" health)
check "health exits 0" [ $? -eq 0 ]
check "health prints SERVING" [ "$out" = SERVING ]
out=$(timeout 20 "$SBCTL" health sockbroker.v1.SocketBroker)
check "health sockbroker.v1.SocketBroker: SERVING" [ "$out" = SERVING ]
if timeout 20 "$SBCTL" --json health | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d == {"service": "", "status": "SERVING"} else 1)'
then ok "health --json"
else fail "health --json"
fi

# ---- stats: key: value lines; the counters move with our own calls.
timeout 20 "$SBCTL" stats >"$T/s1"
check "stats exits 0" [ $? -eq 0 ]
for key in uptime_ms sessions_open sessions_total sockets_open sockets_total calls_total \
	calls_failed bytes_sent bytes_received datagrams_dropped waits_parked policy_denied \
	limits_hit bytes_held max_session_bytes max_identity_bytes connections_open \
	connections_refused_policy connections_refused_limit connections_idle_closed \
	connections_dropped_emfile rss_bytes heap_bytes; do
	if grep -Eq "^$key: [0-9]+$" "$T/s1"; then ok "stats has '$key: N'"
	else fail "stats has '$key: N'"; cat "$T/s1"; fi
done
timeout 20 "$SBCTL" hostname >/dev/null
timeout 20 "$SBCTL" --json stats >"$T/s2.json"
check "stats --json exits 0" [ $? -eq 0 ]
if "$PY" - "$T/s1" "$T/s2.json" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
before = dict(l.split(": ", 1) for l in lines
              if not l.startswith(("identity ", "method ", "rule ", "latency_bounds_us:")))
after = json.load(open(sys.argv[2]))
bad = [k for k in before if k not in after or not isinstance(after[k], int)]
if bad or not isinstance(after.get("identities"), list):
    print("  missing or not numbers:", bad, after)
    sys.exit(1)
# The latency histograms: the bounds, and a line per method called.
bounds = [l for l in lines if l.startswith("latency_bounds_us: ")]
if not bounds or [int(x) for x in bounds[0].split(": ")[1].split(",")] != \
        after["latency_bounds_us"]:
    print("  latency_bounds_us:", bounds, after.get("latency_bounds_us"))
    sys.exit(1)
if not any(l.startswith("method /grpc.health.v1.Health/Check: calls=")
           for l in lines):
    print("  no method line for the health checks"); sys.exit(1)
for m in after["methods"]:
    if set(m) != {"method", "calls", "failed", "duration_us_sum", "buckets"} or \
            sum(m["buckets"]) != m["calls"] or \
            len(m["buckets"]) != len(after["latency_bounds_us"]) + 1:
        print("  method object:", m); sys.exit(1)
# Root sees the rules' counters; "owner" decided our calls.
rules = {r["rule"]: r for r in after["rules"]}
if "default" not in rules or not any(l.startswith("rule default: allowed=") for l in lines):
    print("  rules:", after["rules"]); sys.exit(1)
if after["rss_bytes"] < 1 << 20 or after["heap_bytes"] == 0:
    print("  memory:", after["rss_bytes"], after["heap_bytes"]); sys.exit(1)
# One more session (hostname) at least, and more calls.
if after["sessions_total"] <= int(before["sessions_total"]) or \
        after["calls_total"] <= int(before["calls_total"]):
    print("  counters did not move:", before, after)
    sys.exit(1)
for i in after["identities"]:
    if set(i) != {"identity", "sessions_open", "sockets_open", "calls", "denied", "limited",
                  "bytes_held", "connections_open", "connections_refused"}:
        print("  identity object:", i)
        sys.exit(1)
EOF
then ok "stats --json: the same keys as numbers, counters moved, identities"
else fail "stats --json"
fi

# While a session holds a socket, stats shows it (and its identity).
timeout 30 "$SBCTL" -v listen 127.0.0.1 0 </dev/null >/dev/null 2>"$T/l.err" &
lpid=$!
bg $lpid
if wait_for_line "$T/l.err" "listening on" 10; then
	timeout 20 "$SBCTL" stats >"$T/s3"
	if grep -Eq "^sockets_open: [1-9]" "$T/s3" && grep -Eq "^sessions_open: [1-9]" "$T/s3"
	then ok "stats counts an open session and its listening socket"
	else fail "stats counts an open session and its listening socket"; cat "$T/s3"; fi
	# The contract has per-identity counters; a broker that sends none
	# (sockbrokerd 0.1 does not fill GetStatsReply.identities) gets a note.
	if ! grep -q "^identity " "$T/s3"; then
		echo "note: the broker's GetStats reply has no identities"
	elif grep -Eq "^identity uid:$(id -u): sessions_open=[1-9][0-9]* sockets_open=[1-9][0-9]* calls=[0-9]+ denied=[0-9]+ limited=[0-9]+ bytes_held=[0-9]+ connections_open=[1-9][0-9]* connections_refused=[0-9]+$" "$T/s3"
	then ok "stats names the identity: $(grep "^identity uid:$(id -u)" "$T/s3")"
	else fail "stats identity line"; cat "$T/s3"; fi
else
	fail "listen for the stats check"
fi
kill $lpid 2>/dev/null
wait $lpid 2>/dev/null

# ---- stats --prometheus: the text format a scraper reads, parsed by the
# Prometheus client library.
timeout 20 "$SBCTL" stats --prometheus >"$T/p.txt"
check "stats --prometheus exits 0" [ $? -eq 0 ]
if "$PY" - "$T/p.txt" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
want = {"sockbroker_uptime_seconds": "gauge", "sockbroker_sessions": "counter",
        "sockbroker_sockets_open": "gauge", "sockbroker_calls": "counter",
        "sockbroker_policy_denied": "counter", "sockbroker_held_bytes": "gauge",
        "sockbroker_connections_refused": "counter",
        "sockbroker_identity_calls": "counter", "sockbroker_identity_sessions_open": "gauge"}
bad = [(n, t, fams[n].type if n in fams else None) for n, t in want.items()
       if n not in fams or fams[n].type != t]
if bad:
    print("  families:", bad); sys.exit(1)
reasons = sorted(s.labels.get("reason") for s in fams["sockbroker_connections_refused"].samples)
if reasons != ["emfile", "limit", "policy"]:
    print("  connections_refused reasons:", reasons); sys.exit(1)
ids = [s.labels.get("identity") for s in fams["sockbroker_identity_calls"].samples]
if not any(i.startswith("uid:") for i in ids):
    print("  identities:", ids); sys.exit(1)
if text.count("# TYPE sockbroker_connections_refused_total ") != 1:
    print("  a family announced twice"); sys.exit(1)
print("  %d families, %d samples" % (len(fams), sum(len(f.samples) for f in fams.values())))
EOF
then ok "stats --prometheus: the text format, parsed; types, reasons and identities"
else fail "stats --prometheus"; cat "$T/p.txt"; fi
timeout 10 "$SBCTL" --json stats --prometheus >/dev/null 2>"$T/pj.err"
check "--json with --prometheus is a usage error (exit 64)" [ $? -eq 64 ]

# ---- help: the tool's, every command's, both ways, exit 0 on stdout.
timeout 10 "$SBCTL" --help >"$T/h"
check "--help exits 0" [ $? -eq 0 ]
for c in $COMMANDS; do
	if grep -Eq "^  $c " "$T/h"; then ok "--help lists $c"; else fail "--help lists $c"; fi
	timeout 10 "$SBCTL" "$c" --help >"$T/h1" 2>"$T/h1.err"
	rc1=$?
	timeout 10 "$SBCTL" help "$c" >"$T/h2" 2>&1
	rc2=$?
	if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ ! -s "$T/h1.err" ] &&
	   grep -q "^Usage: sbctl .*$c" "$T/h1" && [ "$(wc -l <"$T/h1")" -ge 4 ] &&
	   cmp -s "$T/h1" "$T/h2"; then
		ok "sbctl $c --help equals sbctl help $c ($(wc -l <"$T/h1") lines)"
	else
		fail "sbctl $c --help (exit $rc1) / sbctl help $c (exit $rc2)"
		cat "$T/h1" "$T/h1.err"
	fi
	# -h works too, after other options.
	if timeout 10 "$SBCTL" --json "$c" -h | cmp -s - "$T/h1"; then ok "sbctl --json $c -h"
	else fail "sbctl --json $c -h"; fi
done
timeout 10 "$SBCTL" help >"$T/h3"
same_output "sbctl help equals sbctl --help" "$T/h" "$T/h3"
out=$(timeout 10 "$SBCTL" --version)
case $out in
"sbctl "[0-9]*) ok "--version: $out" ;;
*) fail "--version: '$out'" ;;
esac

# ---- the man page.
if [ -n "$MANPAGE" ]; then
	check "the man page exists" [ -s "$MANPAGE" ]
	for c in $COMMANDS; do
		if grep -qx "\.SS $c" "$MANPAGE"; then
			ok "the man page has a section for $c"
		else
			fail "the man page has a section for $c"
		fi
	done
	if command -v groff >/dev/null 2>&1; then
		groff -man -Tutf8 -ww -z "$MANPAGE" 2>"$T/groff.err"
		if [ ! -s "$T/groff.err" ]; then ok "the man page renders without groff warnings"
		else fail "groff warnings:"; cat "$T/groff.err"; fi
	else
		echo "skip: no groff: the man page is not rendered"
	fi
fi

finish
