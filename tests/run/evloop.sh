# SPDX-License-Identifier: MIT
# evloop.sh - event loops in the sandbox: sockets registered in epoll before
# connect(2) and listen(2) (as nginx and Netty do) are, once the broker's
# socket is put at their fd number, in the same epoll sets with the same
# events and data: the loop sees the connection come up, its answer and an
# incoming connection, and EPOLL_CTL_MOD/DEL find the socket; O_ASYNC and
# its owner and signal go with the socket too. The same programs run
# directly first: what they check is what the kernel does.
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

# Signal-driven I/O: O_ASYNC, F_SETOWN and F_SETSIG set before connect
# belong to the open file, and go with the socket put in its place.
cat >"$T/sigio.py" <<'EOS'
import fcntl, os, signal, socket, sys, time
got = []
signal.signal(signal.SIGRTMIN + 1, lambda *a: got.append(1))
s = socket.socket()
fcntl.fcntl(s, fcntl.F_SETOWN, os.getpid())
fcntl.fcntl(s, 10, int(signal.SIGRTMIN) + 1)  # F_SETSIG
fcntl.fcntl(s, fcntl.F_SETFL, fcntl.fcntl(s, fcntl.F_GETFL) | os.O_ASYNC)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
t = time.time()
while not got and time.time() - t < 5:
    time.sleep(0.01)
print(bool(fcntl.fcntl(s, fcntl.F_GETFL) & os.O_ASYNC), fcntl.fcntl(s, fcntl.F_GETOWN) == os.getpid(),
      fcntl.fcntl(s, 11) == int(signal.SIGRTMIN) + 1, bool(got))  # F_GETSIG
EOS
want=$("$PY" "$T/sigio.py" "$PORT" 2>&1)
got=$($RUN "$PY" "$T/sigio.py" "$PORT" 2>&1)
check "O_ASYNC, the owner and the signal go with the socket, and the signal comes (directly: $want; sandbox: $got)" \
	[ "$want|$got" = "True True True True|True True True True" ]

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
