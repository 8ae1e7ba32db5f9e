# SPDX-License-Identifier: MIT
# localend.sh - a TCP client in the sandbox that binds its local end before
# connect (curl --local-port, nc -p, python bind + connect) gets that end:
# the server outside sees the chosen port; the broker binds it under the
# bind policy (a denied port is EACCES from bind(2) and the server sees
# nothing), then connects the same socket under the connect policy.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
# A server on 127.0.0.1:PORT that answers "hi" in HTTP and writes the
# peer's port of each connection to $T/peers.
"$PY" -c "
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
print('ready', flush=True)
while True:
    c, a = s.accept()
    with open(sys.argv[2], 'a') as f:
        f.write('%d\n' % a[1])
    c.settimeout(30)
    try:
        c.recv(4096)
        c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi')
    except OSError:
        pass
    c.close()" "$PORT" "$T/peers" >"$T/srv.out" 2>&1 &
bg $!
wait_for_line "$T/srv.out" '^ready' 10 || { echo "FAIL: no server"; exit 1; }
: >"$T/peers"

# peer_seen PORT: the server saw a connection from local port PORT.
peer_seen() {
	grep -qx "$1" "$T/peers"
}

LP=$(free_port)
got=$($RUN curl -sf --local-port "$LP" "http://127.0.0.1:$PORT/")
check "curl --local-port $LP fetches (got: $got)" [ "$got" = "hi" ]
check "and the server saw the connection from port $LP" peer_seen "$LP"

LP=$(free_port)
got=$(printf 'GET / HTTP/1.0\r\n\r\n' | $RUN nc -N -p "$LP" 127.0.0.1 "$PORT" | tail -n 1)
check "nc -p $LP fetches (got: $got)" [ "$got" = "hi" ]
check "and the server saw the connection from port $LP" peer_seen "$LP"

LP=$(free_port)
got=$($RUN "$PY" -c "
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $LP))
before = s.getsockname()[1]
s.connect(('127.0.0.1', $PORT))
s.sendall(b'GET / HTTP/1.0\r\n\r\n')
body = s.recv(100).split(b'\r\n\r\n')[1].decode()
print(before, s.getsockname()[1], body)")
check "python bind + connect: getsockname() before and after is the port (got: $got)" \
	[ "$got" = "$LP $LP hi" ]
check "and the server saw it" peer_seen "$LP"

# Port 0: the broker picks the port, the program sees the one it got.
got=$($RUN "$PY" -c "
import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
p = s.getsockname()[1]
s.connect(('127.0.0.1', $PORT))
print(p, s.getsockname()[1])")
check "bind to port 0 then connect: the same port before and after (got: $got)" \
	[ "${got%% *}" = "${got#* }" ]
check "and the server saw that port" peer_seen "${got#* }"

n=$(wc -l <"$T/peers")
$RUN curl -sf --local-port "$DENY_BIND_PORT" "http://127.0.0.1:$PORT/" >/dev/null 2>"$T/deny.err"
check "curl --local-port of a port the bind policy denies fails (status $?)" [ $? -ne 0 ]
got=$($RUN "$PY" -c "
import socket
s = socket.socket()
try:
    s.bind(('127.0.0.1', $DENY_BIND_PORT))
except OSError as e:
    print('bind', e.errno)
try:
    s.connect(('127.0.0.1', $PORT))
    print('connected from', s.getsockname()[1])
except OSError as e:
    print('connect', e.errno)")
check "python: the bind is EACCES; the connect after it gets another port (got: $got)" \
	sh -c "echo '$got' | head -n 1 | grep -qx 'bind 13' && ! echo '$got' | grep -q 'from $DENY_BIND_PORT\$'"
check "the server never saw a connection from the denied port" sh -c "! grep -qx $DENY_BIND_PORT $T/peers"

# A connect refused by the policy after a bind: EACCES, and nothing stays
# bound in the broker (the socket count goes back).
got=$($RUN "$PY" -c "
import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
try:
    s.connect(('127.0.0.1', $DENY_PORT))
    print('connected')
except OSError as e:
    print(e.errno)")
check "bind then a connect the policy denies: EACCES (got: $got)" [ "$got" = "13" ]
check "the broker holds no socket afterwards" wait_stat sockets_open 0

finish
