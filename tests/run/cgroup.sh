# SPDX-License-Identifier: MIT
# cgroup.sh - sockbroker-run --cgroup: the runner and the sandbox move into
# the given cgroup v2 before the broker sees them, so that a policy rule
# matching that cgroup applies to the sandbox, and does not without the
# option. The test makes its own cgroup under the cgroup2 mount (on this
# kind of host a hybrid layout: /sys/fs/cgroup/unified) and removes it.
# Needs root (to make a cgroup); skips only when the kernel refuses one.
CG=/sbrun-test-$$
CG_PORT_FILE=$(mktemp)
# The port only the cgroup may reach, picked before the policy is written.
python3 -c "
import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1])" >"$CG_PORT_FILE"
CG_PORT=$(cat "$CG_PORT_FILE")
rm -f "$CG_PORT_FILE"
EXTRA_RULES="  - name: in-cgroup
    match: { cgroup: [$CG] }
    action: allow
    destinations: [127.0.0.1/32]
    ports: [$CG_PORT]
  - name: cgroup-port
    match: { any: true }
    action: deny
    destinations: [127.0.0.1/32]
    ports: [$CG_PORT]"
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root to make a cgroup"
	exit 77
fi
ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -z "$ROOT" ] || ! mkdir "$ROOT$CG" 2>"$T/mkdir.err"; then
	echo "skip: the kernel gives no cgroup v2 here: ${ROOT:-no cgroup2 mount} $(cat "$T/mkdir.err" 2>/dev/null)"
	exit 77
fi
# The cgroup goes when the test ends; nothing is left in it by then.
trap 'rmdir "$ROOT$CG" 2>/dev/null; cleanup' EXIT

start_http web "$CG_PORT"
echo "for the cgroup" >"$T/www/cg.txt"
CGRUN="$RUNNER --broker $TARGET --cgroup $CG --"

got=$($CGRUN cat /proc/self/cgroup | sed -n 's/^0:://p')
check "with --cgroup the program runs in $CG (got: $got)" [ "$got" = "$CG" ]
got=$($CGRUN curl -sf "http://127.0.0.1:$CG_PORT/cg.txt")
check "a rule matching the cgroup applies: the fetch works (got: $got)" \
	[ "$got" = "for the cgroup" ]
check "the server accepted it" [ "$(accepts web)" = "1" ]

got=$($RUN cat /proc/self/cgroup | sed -n 's/^0:://p')
check "without it the program stays where the runner was (got: $got)" [ "$got" != "$CG" ]
$RUN curl -sf "http://127.0.0.1:$CG_PORT/cg.txt" >/dev/null 2>&1
check "and the rule does not apply: the fetch is refused (status $?)" [ $? -ne 0 ]
check "the server accepted nothing more" [ "$(accepts web)" = "1" ]
grep -q 'refused by rule "cgroup-port"' "$T/broker.log"
check "the broker names the deny rule" [ $? -eq 0 ]

# A sub-cgroup of the rule's prefix matches too; another cgroup does not.
mkdir "$ROOT$CG/sub"
got=$($RUNNER --broker "$TARGET" --cgroup "$CG/sub" -- curl -sf "http://127.0.0.1:$CG_PORT/cg.txt")
check "a cgroup below the rule's prefix matches (got: $got)" [ "$got" = "for the cgroup" ]
mkdir "$ROOT$CG-other"
$RUNNER --broker "$TARGET" --cgroup "$CG-other" -- curl -sf "http://127.0.0.1:$CG_PORT/cg.txt" \
	>/dev/null 2>&1
rc=$?
rmdir "$ROOT$CG-other"
check "a cgroup whose name only starts like it does not (status $rc)" [ $rc -ne 0 ]
rmdir "$ROOT$CG/sub"

$RUNNER --broker "$TARGET" --cgroup /sbrun-no-such-cgroup-$$ -- true 2>"$T/nocg.err"
rc=$?
check "a cgroup that does not exist: status 125 and a message (status $rc: $(cat "$T/nocg.err"))" \
	[ $rc -eq 125 ] && grep -q "cannot move into" "$T/nocg.err"
$RUNNER --broker "$TARGET" --cgroup ../x -- true 2>/dev/null
check "a relative path is refused (status $?)" [ $? -eq 125 ]

finish
