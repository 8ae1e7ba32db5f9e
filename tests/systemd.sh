#!/bin/sh
# SPDX-License-Identifier: MIT
# systemd.sh - sockbrokerd the way systemd runs it, without systemd as PID 1:
#  - socket activation: systemd-socket-activate passes the listening socket
#    (LISTEN_FDS) as sockbroker.socket would; the broker serves on it and
#    leaves the socket file to its owner;
#  - Type=notify: NOTIFY_SOCKET gets READY=1 at start, RELOADING=1 and
#    READY=1 on SIGHUP, STOPPING=1 on SIGTERM;
#  - systemd-analyze verify accepts the shipped units (ExecStart and
#    ExecStartPre pointed at the built daemon).
#   systemd.sh SOCKBROKERD SBCTL SOURCE_DIR
# Exit 77 (skip) when systemd's tools are missing.
set -u
BROKERD=$1 SBCTL=$2 SRC=$3
for t in systemd-socket-activate systemd-analyze; do
	command -v "$t" >/dev/null 2>&1 || { echo "skip: no $t"; exit 77; }
done
. "$(dirname "$0")/check.sh"
# shellcheck disable=SC2034 # read by finish (check.sh)
SHOW_LOGS="$T/*.log"

# ---- socket activation
systemd-socket-activate -l "$T/sa.sock" "$BROKERD" --verbose >"$T/activate.log" 2>&1 &
apid=$!
pids="$pids $apid"
if wait_for 50 test -S "$T/sa.sock" &&
   wait_for 50 "$SBCTL" --broker "unix:$T/sa.sock" hostname >"$T/hostname.out"; then
	ok "socket activation: served on the passed socket ($(cat "$T/hostname.out"))"
else
	fail "socket activation: no answer on $T/sa.sock"
fi
grep -q "socket activation" "$T/activate.log" &&
	ok "the broker says it uses the activation socket" ||
	fail "the log does not mention socket activation"
kill -TERM "$apid" 2>/dev/null
wait_for 50 sh -c "! kill -0 $apid" && ok "SIGTERM stops it" || fail "still running after SIGTERM"
wait "$apid"; rc=$?
[ "$rc" -eq 0 ] && ok "exit status 0" || fail "exit status $rc"

# ---- Type=notify
cat >"$T/notify.py" <<'PY'
import os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.5)
end = time.time() + float(sys.argv[2])
with open(sys.argv[3], "w", buffering=1) as out:
    while time.time() < end:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            continue
        for line in m.split("\n"):
            out.write(line + "\n")
PY
/usr/bin/python3 "$T/notify.py" "$T/notify.sock" 30 "$T/notify.txt" &
npid=$!
pids="$pids $npid"
wait_for 50 test -S "$T/notify.sock" || { fail "notify listener"; finish; }
printf 'policy:\n  - name: owner\n    match: { uid: 0 }\n    action: allow\n' >"$T/config.yaml"
NOTIFY_SOCKET="$T/notify.sock" "$BROKERD" --config "$T/config.yaml" \
	--listen "unix:$T/n.sock" >"$T/notify-broker.log" 2>&1 &
bpid=$!
pids="$pids $bpid"
wait_for 50 grep -qx "READY=1" "$T/notify.txt" && ok "READY=1 at start" || fail "no READY=1"
wait_for 50 "$SBCTL" --broker "unix:$T/n.sock" hostname >/dev/null &&
	ok "serving after READY=1" || fail "not serving"
kill -HUP "$bpid"
if wait_for 50 grep -qx "RELOADING=1" "$T/notify.txt" &&
   wait_for 50 sh -c "[ \$(grep -cx READY=1 '$T/notify.txt') -ge 2 ]"; then
	grep -q "^MONOTONIC_USEC=[0-9]" "$T/notify.txt" &&
		ok "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" ||
		fail "RELOADING=1 without MONOTONIC_USEC"
else
	fail "SIGHUP: no RELOADING=1 then READY=1"
fi
kill -TERM "$bpid"
wait_for 50 grep -qx "STOPPING=1" "$T/notify.txt" && ok "STOPPING=1 on SIGTERM" ||
	fail "no STOPPING=1"
wait "$bpid"; rc=$?
[ "$rc" -eq 0 ] && ok "exit status 0" || fail "exit status $rc"

# ---- the shipped units
mkdir -p "$T/units"
sed "s|^\(ExecStart\(Pre\)\{0,1\}=\)[^ ]*|\1$BROKERD|" "$SRC/deploy/systemd/sockbrokerd.service" \
	>"$T/units/sockbrokerd.service"
cp "$SRC/deploy/systemd/sockbrokerd.socket" "$T/units/"
if systemd-analyze verify "$T/units/sockbrokerd.socket" "$T/units/sockbrokerd.service" \
	>"$T/verify.log" 2>&1 && [ ! -s "$T/verify.log" ]; then
	ok "systemd-analyze verify: the units are clean"
else
	fail "systemd-analyze verify"
fi
finish
