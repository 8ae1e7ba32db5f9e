#!/bin/sh
# SPDX-License-Identifier: MIT
# listener_identity.sh - listeners as identities (listen: identity:,
# match: listener:): one caller, one uid, three sockets of one broker, each
# served what the rules of its listener's identity say:
#  - web.sock (identity web): connect to the test's server on 127.0.0.1;
#  - batch.sock (identity batch): names only, its connect is refused by
#    policy naming the rule "default";
#  - plain.sock (no identity): no rule serves it, the connection is refused;
#  - GetStats counts each identity apart ("listener:web/uid:N"), and
#    each sees its own record alone;
#  - --check-config shows the identities; a TCP or abstract listener with
#    an identity, and a bad name, are refused.
#   listener_identity.sh SOCKBROKERD SBCTL
set -u
B=$1 SBCTL=$2
. "$(dirname "$0")/check.sh"
# shellcheck disable=SC2034 # read by finish (check.sh)
SHOW_LOGS="$T/broker.log"

# A server on 127.0.0.1 that greets each connection.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hello from the server\n"); c.close()
' >"$T/port" 2>&1 &
pids="$pids $!"
wait_for 50 test -s "$T/port" || { fail "server"; finish; }
port=$(cat "$T/port")

cat >"$T/conf.yaml" <<Y
listen:
  - unix: $T/web.sock
    identity: web
  - unix: $T/batch.sock
    identity: batch
  - unix: $T/plain.sock
policy:
  - name: web
    match: { listener: web }
    action: allow
    ops: [socket, connect]
    destinations: [127.0.0.1/32]
    ports: [$port]
  - name: batch
    match: { listener: [batch, nightly] }
    action: allow
    ops: [resolve]
Y
if "$B" --check-config "$T/conf.yaml" >"$T/check.out" 2>&1 &&
   grep -q "^listen unix:$T/web.sock mode 0600 identity web$" "$T/check.out" &&
   grep -q "^listen unix:$T/plain.sock mode 0600$" "$T/check.out" &&
   grep -q 'allow "batch": .*listener batch,nightly' "$T/check.out"; then
	ok "--check-config shows listener identities and listener matches"
else
	fail "--check-config:"; cat "$T/check.out"
fi
"$B" --config "$T/conf.yaml" >"$T/broker.log" 2>&1 &
pids="$pids $!"
wait_for 50 test -S "$T/plain.sock" || { fail "broker did not start"; finish; }

via() { _s=$1; shift; "$SBCTL" --broker "unix:$T/$_s.sock" "$@"; }
if via web connect -q 2 127.0.0.1 "$port" </dev/null >"$T/web.out" 2>&1 &&
   grep -q "hello from the server" "$T/web.out"; then
	ok "through web.sock: connected to 127.0.0.1:$port"
else
	fail "through web.sock:"; cat "$T/web.out"
fi
if via batch connect -q 2 127.0.0.1 "$port" </dev/null >"$T/batch.out" 2>&1; then
	fail "through batch.sock the connect was allowed"
elif grep -q 'EACCES.*"default' "$T/batch.out"; then
	ok "through batch.sock: connect refused by policy ($(tail -1 "$T/batch.out"))"
else
	fail "through batch.sock, not a policy refusal:"; cat "$T/batch.out"
fi
via batch hostname >"$T/batch-host.out" 2>&1 &&
	ok "through batch.sock: names (hostname $(cat "$T/batch-host.out"))" ||
	{ fail "through batch.sock, hostname:"; cat "$T/batch-host.out"; }
if via plain hostname >"$T/plain.out" 2>&1; then
	fail "through plain.sock (no identity) a caller was served"
else
	ok "through plain.sock (no identity): not served"
fi
# Each listener's callers are counted apart and see their own record only
# (uid 0 behind a listener identity is a workload's root, not the host's).
via web stats >"$T/stats.out" 2>&1
via batch stats >"$T/stats-b.out" 2>&1
if grep -q "^identity listener:web/uid:$(id -u):" "$T/stats.out" &&
   ! grep -q "listener:batch" "$T/stats.out" &&
   grep -q "^identity listener:batch/uid:$(id -u):" "$T/stats-b.out" &&
   ! grep -q "listener:web" "$T/stats-b.out"; then
	ok "GetStats counts listener:web/uid:$(id -u) and listener:batch/uid:$(id -u) apart, each sees its own"
else
	fail "GetStats identities:"; cat "$T/stats.out" "$T/stats-b.out"
fi

# ---- what the configuration refuses
bad() { # bad WHAT PATTERN YAML_LISTEN_ENTRY
	printf 'listen:\n%s\npolicy:\n  - { name: a, match: { listener: x }, action: allow }\n' \
		"$3" >"$T/bad.yaml"
	if "$B" --check-config "$T/bad.yaml" >"$T/bad.out" 2>&1; then
		fail "$1 was accepted"
	elif grep -q "$2" "$T/bad.out"; then
		ok "$1 is refused: $(grep "$2" "$T/bad.out" | head -1)"
	else
		fail "$1: unexpected message:"; cat "$T/bad.out"
	fi
}
bad "an identity on a TCP listener" "only for unix listeners" \
	'  - { tcp: "127.0.0.1:0", insecure: true, identity: x }'
bad "an identity on an abstract socket" "reaches an abstract socket" \
	'  - { abstract: sb-x, identity: x }'
bad "an identity that is not a word" "1..63 of" \
	"  - { unix: $T/x.sock, identity: \"a b\" }"
finish
