#!/bin/sh
# SPDX-License-Identifier: MIT
# confine.sh - the broker confines itself after start-up (isolation.c):
#  - /proc/PID/status of a running broker: NoNewPrivs 1, seccomp filter
#    mode 2, and CapEff/CapBnd exactly what its policy can need, for three
#    configurations: no privileged rule (none), a rule naming low ports
#    (CAP_NET_BIND_SERVICE), a rule naming raw sockets (CAP_NET_RAW);
#    --check-config prints the same; confine.user's uid and gid;
#  - confined as uid 65534 with CAP_NET_BIND_SERVICE, a caller listens on
#    a port below 1024 through it;
#  - a system call outside the allowlist kills it: the test hook's execve
#    ends the broker by SIGSYS; with confine.seccomp: false the same execve
#    runs /bin/true (exit 0), so the kill is seccomp's;
#  - SIGHUP as uid 65534 rereads the file and puts its policy in force; a
#    file that needs a capability the broker dropped is refused, the
#    running policy stays and the broker serves on;
#  - socket activation (systemd-socket-activate) serves confined as 65534;
#  - the default socket's directory (/run/sockbroker, in a mount namespace
#    with a fresh /run) is given to confine.user, which then removes its
#    socket file at exit.
#   confine.sh SOCKBROKERD SBCTL HOOKS SANITIZED
# HOOKS: 1 when the daemon has its test hooks (SB_TEST_HOOKS); SANITIZED:
# 1 in a sanitizer build, which skips the seccomp stage (and its checks).
# Exit 77 (skip) when not run as root (the broker must start as root to
# confine itself to another user).
set -u
B=$1 SBCTL=$2 HOOKS=$3 SAN=$4
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
NOBODY=65534
. "$(dirname "$0")/check.sh"
# shellcheck disable=SC2034 # read by finish (check.sh)
SHOW_LOGS="$T/*.log"
chmod 755 "$T"
mkdir "$T/run"
chown "$NOBODY" "$T/run"
# field PID NAME: the value of NAME: in /proc/PID/status.
field() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status"; }
hex() { printf '%016x' "$1"; }

# start NAME CONFIG: a broker on $T/run/NAME.sock; sets $bpid.
start() {
	"$B" --config "$2" --listen "unix:$T/run/$1.sock" >"$T/$1.log" 2>&1 &
	bpid=$!
	pids="$pids $bpid"
	wait_for 50 grep -q "listening on unix:" "$T/$1.log"
}
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

policy_root='policy:
  - name: root
    match: { uid: 0 }
    action: allow
'
printf '%s' "$policy_root" >"$T/none.yaml"
printf '%s  - name: low\n    match: { uid: 0 }\n    action: allow\n    ops: [socket, bind, listen, accept]\n    ports: [900-999]\n' \
	"$policy_root" >"$T/low.yaml"
printf '%s  - name: raw\n    match: { uid: 0 }\n    action: allow\n    types: [raw]\n' \
	"$policy_root" >"$T/raw.yaml"

# ---- capabilities per configuration, no new privileges, seccomp
want_seccomp=2
[ "$SAN" = 1 ] && want_seccomp=0
for c in "none 0 none" "low $((1 << 10)) CAP_NET_BIND_SERVICE" "raw $((1 << 13)) CAP_NET_RAW"; do
	set -- $c
	name=$1 caps=$(hex "$2") capname=$3
	if ! start "$name" "$T/$name.yaml"; then
		fail "$name: the broker did not start"
		continue
	fi
	eff=$(field "$bpid" CapEff) bnd=$(field "$bpid" CapBnd) prm=$(field "$bpid" CapPrm)
	[ "$eff" = "$caps" ] && [ "$prm" = "$caps" ] && [ "$bnd" = "$caps" ] &&
		ok "$name: CapEff = CapPrm = CapBnd = $caps" ||
		fail "$name: CapEff $eff CapPrm $prm CapBnd $bnd, want $caps"
	[ "$(field "$bpid" NoNewPrivs)" = 1 ] && ok "$name: NoNewPrivs 1" ||
		fail "$name: NoNewPrivs $(field "$bpid" NoNewPrivs)"
	[ "$(field "$bpid" Seccomp)" = "$want_seccomp" ] && ok "$name: Seccomp $want_seccomp" ||
		fail "$name: Seccomp $(field "$bpid" Seccomp), want $want_seccomp"
	"$SBCTL" --broker "unix:$T/run/$name.sock" hostname >/dev/null &&
		ok "$name: serves confined" || fail "$name: no answer"
	"$B" --check-config "$T/$name.yaml" >"$T/$name.check" 2>&1
	grep -q "^confine: no new privileges; capabilities kept: $capname$" "$T/$name.check" &&
		ok "$name: --check-config says capabilities kept: $capname" ||
		{ fail "$name: --check-config:"; cat "$T/$name.check"; }
	stop "$bpid"
done

# ---- confine.user: uid and gid 65534, a low port through the kept capability
printf 'confine:\n  user: %s\n' "$NOBODY" | cat - "$T/low.yaml" >"$T/user.yaml"
gid=$(getent passwd "$NOBODY" | cut -d: -f4)
if start user "$T/user.yaml"; then
	upid=$bpid
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$upid/status")
	gids=$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$upid/status")
	[ "$uids" = "$NOBODY $NOBODY $NOBODY $NOBODY" ] && [ "$gids" = "$gid $gid $gid $gid" ] &&
		ok "confine.user: uid $NOBODY, gid $gid (real, effective, saved, fs)" ||
		fail "confine.user: Uid $uids, Gid $gids"
	[ "$(field "$upid" Groups)" = "" ] && ok "confine.user: no supplementary groups" ||
		fail "confine.user: Groups $(field "$upid" Groups)"
	[ "$(field "$upid" CapEff)" = "$(hex $((1 << 10)))" ] &&
		ok "confine.user: CAP_NET_BIND_SERVICE kept across the user change" ||
		fail "confine.user: CapEff $(field "$upid" CapEff)"
	port=$((900 + $$ % 100))
	timeout 10 "$SBCTL" --broker "unix:$T/run/user.sock" listen 127.0.0.1 "$port" -v \
		</dev/null >/dev/null 2>"$T/listen.log" &
	lpid=$!
	wait_for 50 grep -q "listening on 127.0.0.1:$port" "$T/listen.log" &&
		ok "confined as $NOBODY, a caller listens on port $port through the broker" ||
		fail "no listener on port $port: $(cat "$T/listen.log")"
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null

	# ---- SIGHUP as 65534: a good file applies, one needing a dropped capability does not
	chmod 644 "$T/user.yaml"
	printf '  - name: resolve-only\n    match: { uid: 1000 }\n    action: allow\n    ops: [resolve]\n' \
		>>"$T/user.yaml"
	kill -HUP "$upid"
	wait_for 50 grep -q "reloaded: policy rules 2 -> 3" "$T/user.log" &&
		ok "SIGHUP confined as $NOBODY: the file is read again, 3 rules in force" ||
		fail "SIGHUP confined: no reload line"
	printf '  - name: raw\n    match: { uid: 0 }\n    action: allow\n    types: [raw]\n' \
		>>"$T/user.yaml"
	kill -HUP "$upid"
	wait_for 50 grep -q "reload refused: it needs CAP_NET_RAW (rule \"raw\" names raw sockets)" \
		"$T/user.log" &&
		ok "SIGHUP: a file needing CAP_NET_RAW is refused, naming the rule" ||
		fail "SIGHUP: no refusal for a dropped capability"
	grep -q "the running configuration stays in force (3 policy rules)" "$T/user.log" &&
		ok "the running configuration (3 rules) stays" || fail "no 'stays in force' line"
	"$SBCTL" --broker "unix:$T/run/user.sock" hostname >/dev/null &&
		ok "still serving after the refused reload" || fail "no answer after the refused reload"
	[ "$(field "$upid" CapEff)" = "$(hex $((1 << 10)))" ] && ok "capabilities unchanged" ||
		fail "CapEff $(field "$upid" CapEff) after the reload"
	stop "$upid"; rc=$?
	[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0 as $NOBODY" || fail "exit status $rc"
	[ ! -e "$T/run/user.sock" ] && ok "the socket file is removed (its directory is $NOBODY's)" ||
		fail "socket file left behind"
else
	fail "confine.user: the broker did not start"
fi

# ---- the default socket in the broker's own /run/sockbroker, as 65534 (in a
# mount namespace of its own with a fresh /run, so the host's is untouched)
printf 'confine:\n  user: %s\n' "$NOBODY" | cat - "$T/none.yaml" >"$T/default.yaml"
cat >"$T/default.sh" <<'EOF'
B=$1 SBCTL=$2 CFG=$3 LOG=$4 NOBODY=$5
S=/run/sockbroker/sockbroker.sock
mount -t tmpfs sb-run /run || exit 77
"$B" --config "$CFG" >"$LOG" 2>&1 &
p=$!
n=50
while [ $n -gt 0 ] && ! "$SBCTL" --broker "unix:$S" hostname >/dev/null 2>&1; do
	sleep 0.1; n=$((n - 1))
done
[ $n -gt 0 ] || { echo "no answer on $S"; kill $p; exit 1; }
[ "$(stat -c %u /run/sockbroker)" = "$NOBODY" ] || { echo "/run/sockbroker not $NOBODY's"; exit 1; }
kill -TERM $p
wait $p || { echo "exit status $?"; exit 1; }
[ ! -e "$S" ] || { echo "$S left behind"; exit 1; }
EOF
unshare -m --propagation private sh "$T/default.sh" "$B" "$SBCTL" "$T/default.yaml" \
	"$T/default.log" "$NOBODY" >"$T/default.out" 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
	echo "skip default socket: no mount namespace"
elif [ "$rc" -eq 0 ]; then
	ok "default socket as $NOBODY: /run/sockbroker is given to it, served, removed at exit"
else
	fail "default socket as $NOBODY: $(cat "$T/default.out")"
fi

# ---- a system call outside the allowlist kills the broker
if [ "$HOOKS" = 1 ] && [ "$SAN" != 1 ]; then
	SOCKBROKERD_TEST_EXECVE=1 "$B" --config "$T/none.yaml" --listen "unix:$T/run/x.sock" \
		>"$T/execve.log" 2>&1 &
	xpid=$!
	wait_for 50 sh -c "! kill -0 $xpid"
	wait "$xpid"; rc=$?
	[ "$rc" -eq $((128 + 31)) ] && ok "execve after confinement: killed by SIGSYS" ||
		fail "execve after confinement: exit status $rc, want $((128 + 31)) (SIGSYS)"
	grep -q "test hook: execve" "$T/execve.log" && ok "the hook ran after confinement" ||
		fail "the hook did not run"
	printf 'confine:\n  seccomp: false\n' | cat - "$T/none.yaml" >"$T/noseccomp.yaml"
	SOCKBROKERD_TEST_EXECVE=1 timeout 10 "$B" --config "$T/noseccomp.yaml" \
		--listen "unix:$T/run/y.sock" >"$T/noseccomp.log" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && ok "with confine.seccomp: false the same execve runs /bin/true" ||
		fail "confine.seccomp: false: exit status $rc, want 0"
	rm -f "$T/run/y.sock"
else
	echo "skip execve: hooks $HOOKS, sanitizer build $SAN (no seccomp stage)"
fi

# ---- socket activation, confined as 65534
if command -v systemd-socket-activate >/dev/null 2>&1; then
	printf 'confine:\n  user: %s\n' "$NOBODY" | cat - "$T/none.yaml" >"$T/sa.yaml"
	systemd-socket-activate -l "$T/run/sa.sock" "$B" --config "$T/sa.yaml" \
		>"$T/activate.log" 2>&1 &
	apid=$!
	pids="$pids $apid"
	if wait_for 50 test -S "$T/run/sa.sock" &&
	   wait_for 50 "$SBCTL" --broker "unix:$T/run/sa.sock" hostname >/dev/null; then
		ok "socket activation: served on the inherited socket"
		[ "$(awk '$1 == "Uid:" { print $3 }' "/proc/$apid/status")" = "$NOBODY" ] &&
			[ "$(field "$apid" NoNewPrivs)" = 1 ] &&
			ok "socket activation: confined as $NOBODY" ||
			fail "socket activation: not confined"
	else
		fail "socket activation: no answer"
	fi
	stop "$apid"; rc=$?
	[ "$rc" -eq 0 ] && ok "socket activation: exit 0" || fail "socket activation: exit $rc"
else
	echo "skip socket activation: no systemd-socket-activate"
fi
finish
