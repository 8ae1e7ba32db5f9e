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

finish
