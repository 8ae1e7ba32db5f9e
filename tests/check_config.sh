#!/bin/sh
# SPDX-License-Identifier: MIT
# check_config.sh - sockbrokerd --check-config FILE: a valid file prints
# what would be served (listeners, limits, the rules in order, the
# confinement) and exits 0
# without binding anything; an empty file, a file without a policy and a
# bad value exit 1 with the reason on stderr.
#   check_config.sh SOCKBROKERD SOURCE_DIR
set -u
B=$1 SRC=$2
. "$(dirname "$0")/check.sh"

# expect WHAT RC FILE PATTERN...: exit status RC; every PATTERN (grep -E)
# found in stdout+stderr.
expect() {
	_what=$1 _rc=$2 _f=$3
	shift 3
	"$B" --check-config "$_f" >"$T/out" 2>&1
	_got=$?
	[ "$_got" -eq "$_rc" ] || { fail "$_what: exit $_got, want $_rc"; cat "$T/out"; return; }
	for _p in "$@"; do
		grep -Eq -- "$_p" "$T/out" || { fail "$_what: no '$_p' in:"; cat "$T/out"; return; }
	done
	ok "$_what"
}

expect "the shipped example" 0 "$SRC/deploy/sockbrokerd.yaml" \
	"sockbrokerd.yaml: valid" "^listen unix:/run/sockbroker/sockbroker.sock mode 0600$" \
	"^limit max_sessions 1024$" "^  1\. allow \"owner\": uid 0; every operation$" \
	"^confine: no new privileges; capabilities kept: none$" \
	"^confine: user unchanged" "^confine: seccomp (on|skipped)"

cat >"$T/three.yaml" <<Y
listen:
  - unix: $T/never.sock
    mode: 0660
limits:
  max_sockets_per_session: 9
policy:
  - name: no-metadata
    match: { any: true }
    action: deny
    destinations: [169.254.169.254/32]
  - name: web
    match: { uid: [1000, 1001] }
    action: allow
    ops: [socket, connect, resolve]
    destinations: [0.0.0.0/0]
    ports: [80, 443, 8000-8080]
  - name: root
    match: { uid: 0 }
    action: allow
Y
expect "three rules in order" 0 "$T/three.yaml" \
	"^listen unix:$T/never.sock mode 0660$" "^limit max_sockets_per_session 9$" \
	"policy: 3 rules" "^  1\. deny \"no-metadata\": any caller; connect,sendto; 1 destinations$" \
	"^  2\. allow \"web\": uid 1000,1001; socket,connect,resolve; 1 destinations; ports 80,443,8000-8080$" \
	"^  3\. allow \"root\": uid 0; every operation$"
[ -e "$T/never.sock" ] && fail "--check-config bound $T/never.sock" ||
	ok "nothing was bound"

: >"$T/empty.yaml"
expect "an empty file" 1 "$T/empty.yaml" "no policy section"
printf 'limits:\n  max_sessions: 0\npolicy:\n  - name: x\n    match: { uid: 0 }\n    action: allow\n' >"$T/bad.yaml"
expect "a bad value" 1 "$T/bad.yaml" "line 2: limits.max_sessions: out of range"
expect "a missing file" 1 "$T/absent.yaml" "absent.yaml"
printf 'confine:\n  user: no-such-user-here\npolicy:\n  - name: x\n    match: { uid: 0 }\n    action: allow\n' >"$T/user.yaml"
expect "an unknown confine.user" 1 "$T/user.yaml" "line 2: confine.user: no such user"
printf 'confine:\n  user: root\npolicy:\n  - name: x\n    match: { uid: 0 }\n    action: allow\n' >"$T/root.yaml"
expect "root as confine.user" 1 "$T/root.yaml" "confine.user: root is no dedicated user"
printf 'confine:\n  credentials: true\npolicy:\n  - name: x\n    match: { uid: 0 }\n    action: allow\n' >"$T/cred.yaml"
expect "confine.credentials keeps three capabilities" 0 "$T/cred.yaml" \
	"capabilities kept: CAP_SYS_ADMIN,CAP_SETUID,CAP_SETGID$"
finish
