# SPDX-License-Identifier: MIT
# udp.sh - datagrams and names in the sandbox. UDP to an echo server
# outside: sendto, sendmsg, connect+send, with replies from their true
# source; every datagram to a new destination is under policy (EACCES, and
# the denied server receives nothing). DNS: a resolver the test starts
# (dnsmasq on a loopback address of its own, port 53) answers a name the
# test chooses, and glibc programs (getent, curl, python3, nc, busybox
# wget) and a static musl program (its own resolver) fetch by that name.
# Needs root (port 53, a mount namespace for resolv.conf) and dnsmasq.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v dnsmasq >/dev/null 2>&1; then
	echo "skip: needs root and dnsmasq"
	exit 77
fi

# udp_echo NAME PORT: an echo server on 127.0.0.1:PORT that upper-cases,
# its datagram count in $T/NAME.count.
udp_echo() {
	"$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
n = 0
open(sys.argv[2], 'w').write('0\n')
print('ready', flush=True)
while True:
    d, a = s.recvfrom(65536)
    n += 1
    open(sys.argv[2], 'w').write('%d\n' % n)
    s.sendto(d.upper(), a)" "$2" "$T/$1.count" >"$T/$1.out" 2>&1 &
	bg $!
	wait_for_line "$T/$1.out" '^ready' 10 || { echo "FAIL: no echo server"; exit 1; }
}

UPORT=$(free_port)
udp_echo echo "$UPORT"
udp_echo denied "$DENY_PORT"

got=$($RUN "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
n = s.sendto(b'to', ('127.0.0.1', $UPORT))
d, a = s.recvfrom(100)
m = s.sendmsg([b'in ', b'parts'], [], 0, ('127.0.0.1', $UPORT))
e, b = s.recvfrom(100)
print(n, d.decode(), a == ('127.0.0.1', $UPORT), m, e.decode())")
check "sendto and sendmsg, replies from their true source (got: $got)" \
	[ "$got" = "2 TO True 8 IN PARTS" ]
got=$($RUN "$PY" -c "
import socket
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.connect(('127.0.0.1', $UPORT))
c.send(b'one')
x = c.recv(100)
c.send(b'two')
print(x.decode(), c.recv(100).decode(), c.getpeername()[1] == $UPORT)")
check "connect + send + recv (got: $got)" [ "$got" = "ONE TWO True" ]
# A new socket per query, closed after its answer (glibc's resolver does
# that): the flows of closed sockets go, and with them the broker's receive
# streams, which a session holds only so many of at once (16 here).
got=$($RUN "$PY" -c "
import socket, sys
for i in range(40):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b'q%d' % i, ('127.0.0.1', $UPORT))
    try:
        d, a = s.recvfrom(100)
    except OSError as e:
        print('socket', i, e)
        sys.exit(0)
    s.close()
print('40 answered')" 2>&1)
check "40 sockets one after the other, each answered ($got)" [ "$got" = "40 answered" ]
# A broadcast needs SO_BROADCAST on the program's socket (EACCES without),
# and the broker's socket gets it from there.
cat >"$T/bcast.py" <<'EOS'
import socket, sys
out = []
for on in (1, 0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, on)
    try:
        out.append(str(s.sendto(b"hey", ("127.255.255.255", int(sys.argv[1])))))
    except OSError as e:
        out.append(str(e.errno))
print(" ".join(out))
EOS
want=$("$PY" "$T/bcast.py" "$UPORT" 2>&1)
got=$($RUN "$PY" "$T/bcast.py" "$UPORT" 2>&1)
check "a broadcast with SO_BROADCAST, EACCES without (directly: $want; sandbox: $got)" \
	[ "$want|$got" = "3 13|3 13" ]
big=$($RUN "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'x' * 60000, ('127.0.0.1', $UPORT))
print(len(s.recv(65536)))")
check "a 60000-byte datagram both ways (got: $big)" [ "$big" = "60000" ]

got=$($RUN "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'ok', ('127.0.0.1', $UPORT))
s.recv(100)
r = []
try:
    s.sendto(b'no', ('127.0.0.1', $DENY_PORT))
    r.append('sent')
except OSError as e:
    r.append(str(e.errno))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(('127.0.0.1', $UPORT))
try:
    c.sendto(b'no', ('127.0.0.1', $DENY_PORT))
    r.append('sent')
except OSError as e:
    r.append(str(e.errno))
try:
    c.connect(('127.0.0.1', $DENY_PORT))
    r.append('connected')
except OSError as e:
    r.append(str(e.errno))
# Refused, the socket keeps its peer, as in the kernel.
r.append(str(c.getpeername()[1] == $UPORT))
c.settimeout(5)
c.send(b'still')
r.append(c.recv(100).decode())
print(' '.join(r))")
check "each new destination is under policy: sendto, sendto on a connected socket, connect give EACCES; the socket keeps its peer (got: $got)" \
	[ "$got" = "13 13 13 True STILL" ]
check "the denied server received no datagram" [ "$(accepts denied)" = "0" ]

# ---- names ----
NS=127.77.$(( $(od -An -N1 -tu1 /dev/urandom) % 250 + 1 )).$(( $(od -An -N1 -tu1 /dev/urandom) % 250 + 1 ))
dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$NS" --port=53 --local=/sbtest/ \
	--host-record=web.sbtest,127.0.0.1 --log-queries --log-facility="$T/dns.log" \
	--pid-file="$T/dns.pid" -C /dev/null >"$T/dnsmasq.out" 2>&1 &
bg $!
wait_for_line "$T/dns.log" "started" 10 || { fail "dnsmasq did not start"; cat "$T/dnsmasq.out"; finish; }
echo "nameserver $NS" >"$T/resolv.conf"
PORT=$(free_port)
start_http web "$PORT"
echo "found by name" >"$T/www/name.txt"

# innet CMD...: CMD with the test's resolv.conf, in a mount namespace.
innet() {
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
		sh "$T/resolv.conf" "$@"
}

got=$(innet $RUN getent ahostsv4 web.sbtest | awk 'NR == 1 {print $1}')
check "glibc (getent) resolves web.sbtest in the sandbox (got: $got)" [ "$got" = "127.0.0.1" ]
innet unshare -Urn getent hosts web.sbtest >/dev/null 2>&1
check "not without the runner" [ $? -ne 0 ]
got=$(innet $RUN curl -sf "http://web.sbtest:$PORT/name.txt")
check "curl by name (got: $got)" [ "$got" = "found by name" ]
got=$(innet $RUN "$PY" -c "
import urllib.request
print(urllib.request.urlopen('http://web.sbtest:$PORT/name.txt').read().decode(), end='')")
check "python3 urllib by name (got: $got)" [ "$got" = "found by name" ]
got=$(printf 'GET /name.txt HTTP/1.0\r\n\r\n' | innet $RUN nc -N web.sbtest "$PORT" | tail -n 1)
check "nc by name (got: $got)" [ "$got" = "found by name" ]
got=$(innet $RUN busybox wget -q -O - "http://web.sbtest:$PORT/name.txt")
check "busybox wget by name (got: $got)" [ "$got" = "found by name" ]
if [ -n "$FETCH" ]; then
	got=$(innet $RUN "$FETCH" web.sbtest "$PORT" /name.txt)
	check "a static musl program, its own resolver, by name (got: $got)" \
		[ "$got" = "found by name" ]
	innet $RUN "$FETCH" nope.sbtest "$PORT" /name.txt 2>"$T/nope.err"
	check "and a name that does not exist fails as it should ($(cat "$T/nope.err"))" \
		grep -q "does not resolve" "$T/nope.err"
fi
grep -q "query\[A\] web.sbtest" "$T/dns.log"
check "the queries reached the test's resolver" [ $? -eq 0 ]

finish
