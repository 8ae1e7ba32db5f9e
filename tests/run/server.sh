# SPDX-License-Identifier: MIT
# server.sh - servers in the sandbox: bind + listen get a broker listener on
# the host under the bind policy, put in the program's fd, so that
# `python3 -m http.server` inside is reached from outside; getsockname()
# tells the bound port before listen(); a bind the policy denies is EACCES.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
mkdir -p "$T/srv"
echo "served from the sandbox" >"$T/srv/index.txt"
$RUN "$PY" -m http.server --bind 127.0.0.1 --directory "$T/srv" "$PORT" \
	>"$T/srv.out" 2>&1 &
SRV=$!
bg $SRV
i=0
got=
while [ $i -lt 100 ]; do
	got=$(curl -sf "http://127.0.0.1:$PORT/index.txt" 2>/dev/null) && break
	sleep 0.1
	i=$((i + 1))
done
check "python3 -m http.server inside is reached from outside (got: $got)" \
	[ "$got" = "served from the sandbox" ]
grep -q "port $PORT" "$T/srv.out"
check "it printed the port it serves on" [ $? -eq 0 ]
kill -TERM $SRV
wait $SRV
check "the server's runner stops on SIGTERM (status $?)" [ $? -ne 0 ]

# The bound port before listen; port 0 gets one port, the broker's.
got=$($RUN "$PY" -c "
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0))
p = s.getsockname()[1]
s.listen(8)
print(p != 0 and s.getsockname()[1] == p, p)")
ok_port=${got#* }
check "bind to port 0: getsockname() before and after listen agree ($got)" \
	[ "${got%% *}" = "True" ]

got=$($RUN "$PY" -c "
import socket
s = socket.socket()
try:
    s.bind(('127.0.0.1', $DENY_BIND_PORT))
    print('bound')
except OSError as e:
    print(e.errno)")
check "a bind the policy denies fails with EACCES (got: $got)" [ "$got" = "13" ]
grep -q 'refused by rule "deny-bind"' "$T/broker.log"
check "the broker logged it" [ $? -eq 0 ]

# A server inside accepts a connection from outside with plain accept().
"$PY" - "$RUN" "$ok_port" >"$T/echo.out" 2>&1 <<'EOP'
import socket, subprocess, sys, time
run = sys.argv[1].split()
code = r'''
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, peer = s.accept()
c.sendall(c.recv(100).upper())
'''
p = subprocess.Popen(run + [sys.executable, "-c", code], stdout=subprocess.PIPE)
port = int(p.stdout.readline())
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"echo me")
print(c.recv(100).decode())
p.wait(timeout=10)
EOP
check "accept() inside answers a client outside ($(cat "$T/echo.out"))" \
	[ "$(cat "$T/echo.out")" = "ECHO ME" ]

# bind, close, bind again to the same port (TCP, then UDP): the broker's
# socket of the closed one goes first, as the kernel frees the port.
RPORT=$(free_port)
got=$($RUN "$PY" -c "
import socket, sys
out = []
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    for i in range(3):
        a = socket.socket(socket.AF_INET, kind)
        try:
            a.bind(('127.0.0.1', $RPORT))
            out.append('ok')
        except OSError as e:
            out.append(str(e.errno))
        a.close()
print(' '.join(out))" 2>&1)
check "bind, close, bind again: TCP and UDP (got: $got)" [ "$got" = "ok ok ok ok ok ok" ]

# A Unix socket server and client inside on relative paths: bind, listen
# and connect are done on the supervisor's copy of the socket, from the
# program's working directory and under its umask, as the kernel would.
cat >"$T/unixrel.py" <<'EOP'
import os, socket, stat, sys, tempfile
d = tempfile.mkdtemp(dir=sys.argv[1])
os.chdir(d)
os.umask(0o077)
srv = socket.socket(socket.AF_UNIX)
srv.bind("rel.sock")
srv.listen(1)
mode = stat.S_IMODE(os.stat(os.path.join(d, "rel.sock")).st_mode)
c = socket.socket(socket.AF_UNIX)
c.connect("rel.sock")
a, _ = srv.accept()
c.sendall(b"ping")
got = a.recv(4)
try:
    socket.socket(socket.AF_UNIX).connect("missing.sock")
    err = 0
except OSError as e:
    err = e.errno
print(oct(mode), got.decode(), err)
EOP
want=$("$PY" "$T/unixrel.py" "$T" 2>&1)
got=$($RUN "$PY" "$T/unixrel.py" "$T" 2>&1)
check "Unix sockets on relative paths, umask 077, ENOENT (direct: $want; sandbox: $got)" \
	[ "$want|$got" = "0o700 ping 2|0o700 ping 2" ]

finish
