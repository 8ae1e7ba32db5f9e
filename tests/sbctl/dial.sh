#!/bin/sh
# SPDX-License-Identifier: MIT
# dial.sh - sbctl connect through Dial: a chosen local address and port
# (-s/-p, as nc names them: the server sees 127.0.0.2 and the port), Unix
# sockets by path, unix:PATH and @NAME, an absent path and a failing name
# (exit status and one line naming the errno or EAI code).
#   dial.sh SOCKBROKERD SBCTL PYTHON3
. "$(dirname "$0")/lib.sh"

start_broker

# A server that accepts one connection, writes "HOST PORT" of its peer to
# $3 and sends "hi" to it: tcp HOST PORTFILE PEERFILE | unix ADDR - PEERFILE.
server() {
	"$PY" -c '
import socket, sys
kind, addr, portfile, peerfile = sys.argv[1:5]
if kind == "tcp":
    s = socket.socket()
    s.bind((addr, 0))
else:
    s = socket.socket(socket.AF_UNIX)
    s.bind(addr.replace("@", "\0", 1) if addr.startswith("@") else addr)
s.listen(1)
s.settimeout(20)
if portfile != "-":
    open(portfile + ".tmp", "w").write("%d\n" % s.getsockname()[1])
    import os; os.rename(portfile + ".tmp", portfile)
else:
    open(peerfile + ".ready", "w").write("ready\n")
c, peer = s.accept()
open(peerfile, "w").write("%s %s\n" % peer if kind == "tcp" else "unix\n")
c.sendall(b"hi\n")
c.close()' "$@"
}

# ---- -s/-p: the server sees the local end.
lport=$(free_port)
server tcp 127.0.0.1 "$T/p1" "$T/peer1" &
bg $!
if wait_for_line "$T/p1" "^[0-9]+$" 10; then
	out=$(timeout 20 "$SBCTL" connect -s 127.0.0.2 -p "$lport" 127.0.0.1 "$(cat "$T/p1")" </dev/null)
	check "connect -s 127.0.0.2 -p $lport exits 0 and relays" [ $? -eq 0 -a "$out" = "hi" ]
	wait_for_line "$T/peer1" "." 5
	check "the server saw 127.0.0.2 port $lport ($(cat "$T/peer1" 2>/dev/null))" \
		[ "$(cat "$T/peer1" 2>/dev/null)" = "127.0.0.2 $lport" ]
else
	fail "the TCP server started"
fi

# ---- Unix: a path, unix:PATH and an abstract @NAME.
n=0
for target in "$T/u.sock" "unix:$T/u2.sock" "@sbctl-dial-$$"; do
	n=$((n + 1))
	addr=${target#unix:}
	rm -f "$T/peer.u$n" "$T/peer.u$n.ready"
	server unix "$addr" - "$T/peer.u$n" &
	bg $!
	if wait_for_line "$T/peer.u$n.ready" "^ready$" 10; then
		out=$(timeout 20 "$SBCTL" connect "$target" </dev/null)
		check "connect $target exits 0 and relays ($out)" [ $? -eq 0 -a "$out" = "hi" ]
	else
		fail "the Unix server at $addr started"
	fi
done

# ---- errors: an absent path, a Unix path with TCP options, a failing name.
expect_error "absent Unix path" 1 \
	"^sbctl: connect $T/absent.sock: No such file or directory \(ENOENT\)$" \
	timeout 20 "$SBCTL" connect "$T/absent.sock"
timeout 20 "$SBCTL" connect -p 1000 "$T/absent.sock" >"$T/up.out" 2>"$T/up.err"
rc=$?
check "a Unix path with -p: exit $rc (want 64), nothing on stdout" [ $rc -eq 64 -a ! -s "$T/up.out" ]
check "a Unix path with -p: says why" grep -q "^sbctl connect: a Unix path takes none of" "$T/up.err"
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
expect_error "failing name with -s" $wrc \
	"^sbctl: connect no.such.host.invalid 80: .* \($want\)$" \
	timeout 30 "$SBCTL" connect -s 127.0.0.1 no.such.host.invalid 80
expect_error "a non-numeric -s" 1 "^sbctl: connect 127.0.0.1:80: Invalid argument \(EINVAL\): .*numeric" \
	timeout 20 "$SBCTL" connect -s localhost 127.0.0.1 80

finish
