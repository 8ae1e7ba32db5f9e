# SPDX-License-Identifier: MIT
# evloop.sh - event loops in the sandbox: sockets registered in epoll before
# connect(2) and listen(2) (as nginx and Netty do) are, once the broker's
# socket is put at their fd number, in the same epoll sets with the same
# events and data: the loop sees the connection come up, its answer and an
# incoming connection, and EPOLL_CTL_MOD/DEL find the socket. The same
# program runs directly first: what it checks is what the kernel does.
. "$(dirname "$0")/lib.sh"

EVLOOP=$(dirname "$ESCAPE")/sbr_evloop
PORT=$(free_port)
start_http web "$PORT"
echo "hello from outside" >"$T/www/hello.txt"

got=$("$EVLOOP" connect "$PORT" 2>"$T/direct.err")
check "directly: the event loop's fetch works ($got; $(cat "$T/direct.err"))" \
	[ "$got" = "hello from outside" ]
got=$($RUN "$EVLOOP" connect "$PORT" 2>"$T/conn.err")
check "in the sandbox: registered before connect, the socket is in all three epoll sets, MOD/DEL find it, the answer comes ($got; $(cat "$T/conn.err"))" \
	[ "$got" = "hello from outside" ]

# listen(2) of a socket in an epoll set (EPOLLEXCLUSIVE): the broker's
# listener takes its place there; a connection from outside wakes the loop.
LPORT=$(free_port)
$RUN "$EVLOOP" listen "$LPORT" >"$T/listen.out" 2>&1 &
LPID=$!
bg $LPID
wait_for_line "$T/listen.out" listening 10
got=$("$PY" -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.settimeout(10)
print(s.recv(16).decode())" "$LPORT" 2>&1)
check "in the sandbox: a listener registered before listen() wakes its loop ($got)" \
	[ "$got" = "hi" ]
wait $LPID
check "the listening loop exits 0 ($(cat "$T/listen.out" | tr '\n' ' '))" [ $? -eq 0 ]

finish
