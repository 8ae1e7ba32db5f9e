#!/bin/sh
# SPDX-License-Identifier: MIT
# errors.sh - every error path of sbctl prints one useful line on stderr
# (naming the errno, EAI_* code or gRPC status), nothing on stdout, and
# exits non-zero: no broker there, a stale socket, permission denied on the
# broker's socket, unknown host and service, connection refused (TCP and
# UDP), usage errors, a broker that goes away.
#   errors.sh SOCKBROKERD SBCTL PYTHON3
. "$(dirname "$0")/lib.sh"

# ---- no broker: the socket path does not exist.
for cmd in hostname ifaddrs "resolve localhost" "connect 127.0.0.1 9" stats health \
	"service http" watch "listen 0"; do
	# shellcheck disable=SC2086
	expect_error "no broker: $cmd" 1 \
		"^sbctl: .*broker unix:$T/none.sock: No such file or directory \(ENOENT\)$" \
		timeout 20 "$SBCTL" --broker "unix:$T/none.sock" $cmd </dev/null
done
# A bare path and $SOCKBROKER_ADDR work the same way.
expect_error "no broker (bare path)" 1 "^sbctl: broker $T/none.sock: .*\(ENOENT\)$" \
	timeout 20 "$SBCTL" --broker "$T/none.sock" hostname
SOCKBROKER_ADDR=unix:$T/none.sock expect_error "no broker (\$SOCKBROKER_ADDR)" 1 \
	"^sbctl: broker unix:$T/none.sock: .*\(ENOENT\)$" timeout 20 "$SBCTL" hostname

# ---- a stale socket: the file is there, nobody listens.
"$PY" -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.close()" "$T/stale.sock"
expect_error "stale socket" 1 \
	"^sbctl: broker unix:$T/stale.sock: Connection refused \(ECONNREFUSED\)$" \
	timeout 20 "$SBCTL" --broker "unix:$T/stale.sock" hostname
expect_error "stale socket (stats)" 1 "^sbctl: stats: broker unix:$T/stale.sock: .*\(ECONNREFUSED\)$" \
	timeout 20 "$SBCTL" --broker "unix:$T/stale.sock" stats

start_broker

# ---- permission denied: the broker (root) listens on a 0600 socket; nobody
# cannot connect(2) to it.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	cp "$SBCTL" "$T/sbctl"
	chmod 755 "$T/sbctl"
	nobody() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	}
	if nobody "$T/sbctl" --version >/dev/null 2>&1; then
		for cmd in hostname "connect 127.0.0.1 9" stats health; do
			# shellcheck disable=SC2086
			expect_error "permission denied: $cmd" 1 \
				"^sbctl: .*broker unix:$SOCK: Permission denied \(EACCES\)$" \
				timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups \
				"$T/sbctl" $cmd </dev/null
		done
	else
		echo "skip: nobody cannot run a copy of sbctl here"
	fi
else
	echo "skip: not root (or no setpriv): no permission test"
fi

# ---- unknown host: the resolver's own answer (EAI_NONAME where libc says
# so), exit 2 as getent.
want=$("$PY" -c '
import socket
try:
    socket.getaddrinfo("no.such.host.invalid", None)
    print("found")
except socket.gaierror as e:
    names = {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}
    print(names.get(e.errno, e.errno))')
case $want in
EAI_NONAME | EAI_NODATA | EAI_ADDRFAMILY) wrc=2 ;;
*) wrc=1 ;;
esac
expect_error "unknown host (libc: $want)" $wrc "^sbctl: resolve no.such.host.invalid: .* \($want\)$" \
	timeout 30 "$SBCTL" resolve no.such.host.invalid
expect_error "unknown host in connect" $wrc "^sbctl: connect no.such.host.invalid 80: .* \($want\)$" \
	timeout 30 "$SBCTL" connect no.such.host.invalid 80
expect_error "unknown service in resolve" 2 "^sbctl: resolve localhost no-such-svc: .* \(EAI_SERVICE\)$" \
	timeout 20 "$SBCTL" resolve localhost no-such-svc
expect_error "service: unknown name" 2 "^sbctl: service no-such-svc: no such service \(ENOENT\)$" \
	timeout 20 "$SBCTL" service no-such-svc
expect_error "service: unknown port" 2 "^sbctl: service 1/udp: no such service \(ENOENT\)$" \
	timeout 20 "$SBCTL" service 1/udp
want=$("$PY" -c '
import socket
try:
    socket.getnameinfo(("192.0.2.123", 0), socket.NI_NAMEREQD)
    print("found")
except socket.gaierror as e:
    names = {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}
    print(names.get(e.errno, e.errno))')
case $want in
EAI_NONAME | EAI_NODATA) wrc=2 ;;
*) wrc=1 ;;
esac
if [ "$want" != found ]; then
	expect_error "nameinfo --namereqd of an address without a name (libc: $want)" $wrc \
		"^sbctl: nameinfo 192.0.2.123: .* \($want\)$" \
		timeout 30 "$SBCTL" nameinfo --namereqd 192.0.2.123
fi

# ---- connection refused.
port=$(free_port)
expect_error "connection refused" 1 \
	"^sbctl: connect 127.0.0.1:$port: Connection refused \(ECONNREFUSED\)$" \
	timeout 20 "$SBCTL" connect 127.0.0.1 "$port" </dev/null
if ip -6 addr show dev lo 2>/dev/null | grep -q "inet6 ::1/"; then
	expect_error "connection refused (IPv6)" 1 \
		"^sbctl: connect \[::1\]:$port: Connection refused \(ECONNREFUSED\)$" \
		timeout 20 "$SBCTL" connect ::1 "$port" </dev/null
fi
# UDP: the ICMP port unreachable comes back as the errno of the next recv.
expect_error "UDP to a closed port" 1 \
	"^sbctl: (recv|send) 127.0.0.1:$port: Connection refused \(ECONNREFUSED\)$" \
	sh -c "printf 'x\n' | timeout 20 \"$SBCTL\" connect -u -w 2 127.0.0.1 $port"
# listen on a port in use.
"$PY" -c "
import socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(20)" >"$T/busy" &
bg $!
wait_for_line "$T/busy" "^[0-9]+$" 10
busy=$(cat "$T/busy")
expect_error "listen on a port in use" 1 "^sbctl: listen 127.0.0.1 $busy: Address already in use \(EADDRINUSE\)" \
	timeout 20 "$SBCTL" listen 127.0.0.1 "$busy" </dev/null

# ---- health of a service the broker does not know: gRPC NOT_FOUND.
expect_error "health of an unknown service" 1 "^sbctl: health no.such: .*NOT_FOUND" \
	timeout 20 "$SBCTL" health no.such

# ---- usage errors: exit 64 with the usage line.
for args in "" "bogus" "resolve" "resolve a b c" "resolve --type bad x" "connect 1.2.3.4" \
	"listen" "listen 99999" "nameinfo not-an-address" "nameinfo 127.0.0.1 port" \
	"watch --count 0" "hostname extra" "--no-such-option" "ifaddrs --no-such-option" \
	"connect -w x 127.0.0.1 1" "help bogus"; do
	# shellcheck disable=SC2086
	timeout 20 "$SBCTL" $args >"$T/u.out" 2>"$T/u.err" </dev/null
	rc=$?
	if [ $rc -eq 64 ] && [ -s "$T/u.err" ] && [ ! -s "$T/u.out" ]; then
		ok "usage error '$args': exit 64: $(head -1 "$T/u.err")"
	else
		fail "usage error '$args': exit $rc"
		cat "$T/u.err"
	fi
done

# ---- the broker goes away under a running command.
timeout 30 "$SBCTL" watch >"$T/w.out" 2>"$T/w.err" &
wpid=$!
bg $wpid
wait_for_line "$T/w.out" "^snapshot-done$" 10
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
BROKER_PID=
wait $wpid
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$T/w.err")" -eq 1 ] && grep -Eq "^sbctl: watch: .*\((E[A-Z]+)\)" "$T/w.err"; then
	ok "watch when the broker stops: exit 1: $(cat "$T/w.err")"
else
	fail "watch when the broker stops: exit $rc"
	cat "$T/w.err"
fi

finish
