# SPDX-License-Identifier: MIT
# lib.sh - what the sbctl tests share (sourced): a real sockbrokerd on a
# socket in a fresh temporary directory, stopped by a trap on exit; checks
# that count failures; bounded waits.
#   . lib.sh SOCKBROKERD SBCTL PYTHON3
# sets: BROKERD SBCTL PY T (the temp dir) SOCK TARGET, and exports
# SOCKBROKER_ADDR=$TARGET so that sbctl finds the broker without --broker.

set -u
BROKERD=${1:?usage: $0 SOCKBROKERD SBCTL PYTHON3}
# shellcheck disable=SC2034 # used by the scripts that source this file
SBCTL=${2:?usage: $0 SOCKBROKERD SBCTL PYTHON3}
PY=${3:-python3}
T=$(mktemp -d /tmp/sbctl-test.XXXXXX)
chmod 755 "$T"   # the permission test runs sbctl as nobody in here
SOCK=$T/b.sock
TARGET=unix:$SOCK
export SOCKBROKER_ADDR="$TARGET"
BROKER_PID=
FAILS=0
CHECKS=0
BG_PIDS=

cleanup() {
	for p in $BG_PIDS; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$BROKER_PID" ]; then
		kill "$BROKER_PID" 2>/dev/null
		# At most 5 s for a clean stop, then KILL.
		i=0
		while kill -0 "$BROKER_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$BROKER_PID" 2>/dev/null
		wait "$BROKER_PID" 2>/dev/null
		_brc=$?
		[ "$_brc" -ne 0 ] && echo "note: sockbrokerd exited with status $_brc on SIGTERM"
	fi
	if [ -f "$T/broker.log" ] && grep -Eq "assertion failed|AddressSanitizer|runtime error" "$T/broker.log"; then
		echo "note: sockbrokerd logged a crash:"
		grep -E -B2 -A20 "assertion failed|AddressSanitizer|runtime error" "$T/broker.log" | head -60
	elif [ "$FAILS" -ne 0 ] && [ -f "$T/broker.log" ]; then
		echo "---- sockbrokerd log ----"
		cat "$T/broker.log"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# start_broker [SOCKET]: start sockbrokerd listening on SOCKET (default
# $SOCK), with $BROKER_ARGS when set (e.g. "--config FILE"), and wait at
# most 5 s until it accepts connections.
start_broker() {
	_sock=${1:-$SOCK}
	# shellcheck disable=SC2086 # BROKER_ARGS is a list of words
	"$BROKERD" --listen "unix:$_sock" ${BROKER_ARGS:-} >>"$T/broker.log" 2>&1 &
	BROKER_PID=$!
	_i=0
	while [ $_i -lt 50 ]; do
		if [ -S "$_sock" ] && "$PY" -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])" "$_sock" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$BROKER_PID" 2>/dev/null; then
			echo "FAIL: sockbrokerd exited during start-up"
			cat "$T/broker.log"
			exit 1
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "FAIL: sockbrokerd did not listen on $_sock within 5 s"
	cat "$T/broker.log"
	exit 1
}

# bg PID: kill it on exit (a process the test started in the background).
bg() {
	BG_PIDS="$BG_PIDS $1"
}

ok() {
	CHECKS=$((CHECKS + 1))
	echo "ok: $*"
}

fail() {
	CHECKS=$((CHECKS + 1))
	FAILS=$((FAILS + 1))
	echo "FAIL: $*"
}

# check WHAT COMMAND...: run COMMAND, pass when it exits 0.
check() {
	_what=$1
	shift
	if "$@"; then ok "$_what"; else fail "$_what"; fi
}

# (Helpers name their variables _x: sh has no locals.)
# same_output WHAT FILE_A FILE_B: identical files, a diff when not.
same_output() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1"
		diff -u "$2" "$3" | head -40
	fi
}

# wait_for_line FILE PATTERN [SECS]: until FILE has a line matching the
# extended regex PATTERN, at most SECS (default 10). Return: 0 or 1.
wait_for_line() {
	_n=$(( ${3:-10} * 10 ))
	_i=0
	while [ $_i -lt $_n ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# expect_error WHAT WANT_RC REGEX COMMAND...: COMMAND exits WANT_RC and
# prints exactly one line on stderr, matching REGEX, and nothing on stdout.
expect_error() {
	_what=$1 _want=$2 _re=$3
	shift 3
	"$@" >"$T/err.out" 2>"$T/err.err"
	_rc=$?
	_lines=$(wc -l <"$T/err.err")
	if [ "$_rc" -eq "$_want" ] && [ "$_lines" -eq 1 ] && grep -Eq "$_re" "$T/err.err" &&
	   [ ! -s "$T/err.out" ]; then
		ok "$_what: $(cat "$T/err.err")"
	else
		fail "$_what: exit $_rc (want $_want), stderr:"
		sed 's/^/    /' "$T/err.err"
		[ -s "$T/err.out" ] && { echo "  stdout:"; sed 's/^/    /' "$T/err.out"; }
	fi
}

# free_port: a port of 127.0.0.1 that nothing holds right now, TCP or UDP.
free_port() {
	"$PY" -c "
import random, socket
# Below the kernel's ephemeral range (net.ipv4.ip_local_port_range), so
# that no connection made meanwhile takes the port as its own before the
# test binds it; free for TCP and for UDP.
lo = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
for _ in range(1000):
    p = random.randrange(10000, max(lo, 10001))
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(('127.0.0.1', p))
            s.close()
        print(p)
        break
    except OSError:
        continue"
}

# finish: the summary line and the exit status.
finish() {
	echo "$((CHECKS - FAILS)) passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
	exit $?
}
