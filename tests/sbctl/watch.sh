#!/bin/sh
# SPDX-License-Identifier: MIT
# watch.sh - sbctl watch sees interface changes as they happen. The test
# runs in a network namespace of its own (unshare -n), with a broker
# started inside it, so that it may change the interfaces freely: lo goes
# up, an address comes and goes, a dummy link comes and goes. No traffic.
#   watch.sh SOCKBROKERD SBCTL PYTHON3
# Exit 77 (skip) when no network namespace can be made here.
if [ -z "${SB_IN_NETNS:-}" ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "skip: cannot make a network namespace (unshare -n)"
		exit 77
	fi
	SB_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

start_broker

# ---- the snapshot equals ifaddrs, then snapshot-done.
timeout 20 "$SBCTL" --json watch --once >"$T/snap.json"
check "watch --once exits 0" [ $? -eq 0 ]
timeout 20 "$SBCTL" --json ifaddrs >"$T/if.json"
if "$PY" - "$T/snap.json" "$T/if.json" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
rows = json.load(open(sys.argv[2]))
if events[-1] != {"event": "snapshot-done"}:
    print("  last event:", events[-1]); sys.exit(1)
snap = [dict((k, v) for k, v in e.items() if k != "event") for e in events[:-1]]
if any(e["event"] != "snapshot" for e in events[:-1]) or snap != rows:
    print("  snapshot:", snap, "\n  ifaddrs: ", rows); sys.exit(1)
EOF
then ok "watch --once: one JSON object per line, the snapshot equals ifaddrs --json, then snapshot-done"
else fail "watch --once snapshot"
fi

# ---- changes, as they happen.
timeout 60 "$SBCTL" watch >"$T/w.txt" 2>"$T/w.err" &
wpid=$!
bg $wpid
timeout 60 "$SBCTL" -v --json watch --no-snapshot >"$T/w.json" 2>"$T/wj.err" &
jpid=$!
bg $jpid
# -c 1: exits after the first change.
timeout 60 "$SBCTL" -v watch --no-snapshot -c 1 >"$T/w1.txt" 2>"$T/w1.err" &
cpid=$!
bg $cpid
if ! wait_for_line "$T/w.txt" "^snapshot-done$" 10; then
	fail "watch prints snapshot-done"
	cat "$T/w.txt" "$T/w.err"
	finish
fi
# The --no-snapshot watchers print nothing before the first change; -v
# says on stderr when they are subscribed.
for _e in "$T/wj.err" "$T/w1.err"; do
	if ! wait_for_line "$_e" "^sbctl: watch: subscribed, changes follow$" 10; then
		fail "watch -v --no-snapshot says it is subscribed ($_e)"
		cat "$_e"
		finish
	fi
done

ip link set lo up
if wait_for_line "$T/w.txt" "^link-changed +lo +.*<UP,LOOPBACK.*>$" 10; then
	ok "lo up: $(grep -E "^link-changed +lo" "$T/w.txt" | tail -1)"
else
	fail "lo up: no link-changed line"
fi
if wait_for_line "$T/w.txt" "^address-added +lo +inet +127\\.0\\.0\\.1/8 " 10; then
	ok "lo up: $(grep -E "^address-added +lo +inet " "$T/w.txt" | head -1)"
else
	fail "lo up: no address-added 127.0.0.1/8"
fi
if [ -d /proc/sys/net/ipv6/conf/lo ] &&
   [ "$(cat /proc/sys/net/ipv6/conf/lo/disable_ipv6 2>/dev/null)" = 0 ]; then
	if wait_for_line "$T/w.txt" "^address-added +lo +inet6 +::1/128 " 10; then
		ok "lo up: address-added ::1/128"
	else
		fail "lo up: no address-added ::1/128"
	fi
fi

ip addr add 192.0.2.77/24 dev lo
if wait_for_line "$T/w.txt" "^address-added +lo +inet +192\\.0\\.2\\.77/24 " 10; then
	ok "address added: $(grep -E "192\\.0\\.2\\.77" "$T/w.txt" | head -1)"
else
	fail "no address-added 192.0.2.77/24"
fi
ip addr del 192.0.2.77/24 dev lo
if wait_for_line "$T/w.txt" "^address-removed +lo +inet +192\\.0\\.2\\.77/24 " 10; then
	ok "address removed: $(grep -E "^address-removed.*192\\.0\\.2\\.77" "$T/w.txt" | head -1)"
else
	fail "no address-removed 192.0.2.77/24"
fi

if ip link add sbwatch0 type dummy 2>/dev/null; then
	if wait_for_line "$T/w.txt" "^link-added +sbwatch0 " 10; then
		ok "link added: $(grep -E "^link-added +sbwatch0" "$T/w.txt" | head -1)"
	else
		fail "no link-added sbwatch0"
	fi
	ip link del sbwatch0
	if wait_for_line "$T/w.txt" "^link-removed +sbwatch0 " 10; then
		ok "link removed: $(grep -E "^link-removed +sbwatch0" "$T/w.txt" | head -1)"
	else
		fail "no link-removed sbwatch0"
	fi
else
	echo "skip: no dummy links here: link-added/-removed not tested"
fi

# -c 1 ended by itself after one change.
_i=0
while kill -0 $cpid 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
if ! kill -0 $cpid 2>/dev/null; then
	wait $cpid
	rc=$?
	if [ $rc -eq 0 ] && [ "$(wc -l <"$T/w1.txt")" -eq 1 ] && ! grep -q snapshot "$T/w1.txt"; then
		ok "watch --no-snapshot -c 1: one change, exit 0: $(cat "$T/w1.txt")"
	else
		fail "watch --no-snapshot -c 1: exit $rc"
		cat "$T/w1.txt" "$T/w1.err"
	fi
else
	fail "watch -c 1 did not stop after a change"
fi

# The JSON stream saw the same: one object per line, no snapshot.
wait_for_line "$T/w.json" '"address-removed".*"192\.0\.2\.77"' 10
if "$PY" - "$T/w.json" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e["event"] for e in ev]
if any(k.startswith("snapshot") for k in kinds):
    print("  snapshot events with --no-snapshot"); sys.exit(1)
added = [e for e in ev if e["event"] == "address-added" and e.get("addr") == "192.0.2.77"]
removed = [e for e in ev if e["event"] == "address-removed" and e.get("addr") == "192.0.2.77"]
if not added or not removed or added[0]["prefixlen"] != 24 or added[0]["name"] != "lo" \
        or added[0]["family"] != "inet" or added[0]["ifindex"] != 1:
    print("  events:", ev); sys.exit(1)
print("  %d events: %s" % (len(ev), ", ".join(kinds)))
EOF
then ok "watch --json --no-snapshot: one object per line with the changes"
else fail "watch --json --no-snapshot"
fi

# Stop the watchers before the broker.
kill $wpid $jpid 2>/dev/null
wait $wpid $jpid 2>/dev/null
finish
