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

# Non-blocking connects: EINPROGRESS at once, the outcome once writable
# (SO_ERROR), a refused port, a destination the policy denies, a
# connect again; the program's own timeout holds against a destination
# that never answers (a listener whose queue is full drops SYNs).
BH_PORT=$(free_port)
"$PY" -c "
import socket, sys, time
l = socket.socket()
l.bind(('127.0.0.1', int(sys.argv[1])))
l.listen(0)
f = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
print('ready', flush=True)
time.sleep(300)" "$BH_PORT" >"$T/bh.out" 2>&1 &
bg $!
wait_for_line "$T/bh.out" ready 10
ECHO_PORT=$(free_port)
"$PY" -c "
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('127.0.0.1', int(sys.argv[1])))
l.listen(16)
print('ready', flush=True)
while True:
    c, _ = l.accept()
    c.sendall(c.recv(16))
    c.close()" "$ECHO_PORT" >"$T/echo.out" 2>&1 &
bg $!
wait_for_line "$T/echo.out" ready 10
cat >"$T/nb.py" <<'EOS'
import errno, select, socket, sys, time
echo, closed, deny, bh = (int(a) for a in sys.argv[1:5])
out = []
def name(e):
    return errno.errorcode.get(e, str(e))
s = socket.socket()
s.setblocking(False)
out.append(name(s.connect_ex(("127.0.0.1", echo))))
w = select.select([], [s], [], 5)[1]
out.append(str(bool(w)))
out.append(name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
out.append(name(s.connect_ex(("127.0.0.1", echo))))
out.append(str(s.getpeername()[1] == echo))
s.setblocking(True)
s.settimeout(5)
s.sendall(b"hi")
out.append(s.recv(16).decode())
s.close()
for port in (closed, deny):
    s = socket.socket()
    s.setblocking(False)
    out.append(name(s.connect_ex(("127.0.0.1", port))))
    select.select([], [s], [], 5)
    out.append(name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
    s.close()
t = time.time()
try:
    socket.create_connection(("127.0.0.1", bh), timeout=1)
    out.append("connected")
except OSError as e:
    out.append("%s:%d" % (type(e).__name__, round(time.time() - t)))
print(" ".join(out))
EOS
CLOSED_PORT=$(free_port)
got=$($RUN "$PY" "$T/nb.py" "$ECHO_PORT" "$CLOSED_PORT" "$DENY_PORT" "$BH_PORT" 2>&1)
want="EINPROGRESS True 0 0 True hi EINPROGRESS ECONNREFUSED EINPROGRESS EACCES TimeoutError:1"
check "non-blocking connects: EINPROGRESS, SO_ERROR, refused, denied, a timeout of 1 s (got: $got)" \
	[ "$got" = "$want" ]
t0=$(date +%s)
$RUN curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$BH_PORT/"
rc=$?
t1=$(date +%s)
check "curl --connect-timeout 1 to a destination that never answers: status 28 in $((t1 - t0)) s" \
	[ $rc -eq 28 ] && [ $((t1 - t0)) -le 5 ]

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
