# SPDX-License-Identifier: MIT
# udpserver.sh - a UDP server in the sandbox: its bind gets a broker socket
# of the host under the bind policy, so that clients outside reach it on the
# address it bound, it sees their true source, and its replies come back
# from its address. A server on the wildcard learns the address a client
# used (IP_PKTINFO) and answers from it (sendmsg with IP_PKTINFO, which the
# broker judges as a bind). A denied bind is EACCES; ancillary data is
# carried as the broker carries it or refused, never used to get past the
# policy (a source address the bind policy denies, a denied destination).
EXTRA_RULES="  - name: deny-source
    match: { any: true }
    action: deny
    ops: [bind]
    bind: [127.0.0.9/32]
  - name: nobody-binds-nothing
    match: { uid: [65534] }
    action: deny
    ops: [bind]"
. "$(dirname "$0")/lib.sh"

# udp_server NAME ADDR PORT: an upper-casing echo server inside the sandbox
# on ADDR:PORT; it answers with "DATA FROM-HOST:PORT" and, on the wildcard,
# from the address the datagram was sent to (IP_PKTINFO).
udp_server() {
	$RUN "$PY" -c "
import socket, struct, sys
IP_PKTINFO = 8
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
print('ready', s.getsockname()[1], flush=True)
while True:
    d, anc, fl, a = s.recvmsg(65536, 256)
    to = ''
    for lvl, typ, data in anc:
        if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO:
            to = socket.inet_ntoa(data[8:12])
    if d == b'quit':
        break
    out = b'%s %s:%d' % (d.upper(), a[0].encode(), a[1])
    if sys.argv[1] == '0.0.0.0' and to:
        pi = struct.pack('=I4s4s', 0, socket.inet_aton(to), b'\0' * 4)
        s.sendmsg([out, b' to ' + to.encode()], [(socket.IPPROTO_IP, IP_PKTINFO, pi)], 0, a)
    else:
        s.sendto(out, a)" "$2" "$3" >"$T/$1.out" 2>&1 &
	bg $!
	wait_for_line "$T/$1.out" '^ready' 10 || { echo "FAIL: no server $1"; cat "$T/$1.out"; exit 1; }
}

# ask ADDR PORT DATA: from outside, send DATA and print "reply from-addr:port".
ask() {
	"$PY" -c "
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.bind(('127.0.0.1', 0))
c.settimeout(5)
c.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
try:
    d, a = c.recvfrom(100)
    print(d.decode(), 'from %s:%d' % a, 'me %d' % c.getsockname()[1])
except socket.timeout:
    print('timeout')" "$@"
}

P1=$(free_port)
udp_server one 127.0.0.1 "$P1"
got=$(ask 127.0.0.1 "$P1" hello)
me=${got##* }
check "a UDP server inside answers a client outside, from its address, and saw the client's true source (got: $got)" \
	[ "$got" = "HELLO 127.0.0.1:$me from 127.0.0.1:$P1 me $me" ]
got=$(ask 127.0.0.1 "$P1" again)
check "and again (got: $got)" [ "${got%% *}" = "AGAIN" ]

P2=$(free_port)
udp_server any 0.0.0.0 "$P2"
got=$(ask 127.0.0.2 "$P2" wild)
me=${got##* }
check "a server on the wildcard learns the address the client used and answers from it (got: $got)" \
	[ "$got" = "WILD 127.0.0.1:$me to 127.0.0.2 from 127.0.0.2:$P2 me $me" ]

# Port 0: the broker picks the port; the program reports it and is reached there.
udp_server zero 127.0.0.1 0
P3=$(sed -n 's/^ready //p' "$T/zero.out")
got=$(ask 127.0.0.1 "$P3" zero)
check "a server bound to port 0 is reached on the port getsockname() told it ($P3; got: $got)" \
	[ "${got%% *}" = "ZERO" ]

# socat and an IPv6 server: asked until they answer (at most 10 s).
ask_until() {
	"$PY" -c "
import socket, sys, time
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
c = socket.socket(fam, socket.SOCK_DGRAM)
c.settimeout(0.2)
end = time.time() + 10
while time.time() < end:
    c.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        d, a = c.recvfrom(100)
        print(d.decode().strip(), a[0], a[1] == int(sys.argv[2]))
        break
    except (socket.timeout, ConnectionRefusedError):
        pass
else:
    print('timeout')" "$@"
}
P4=$(free_port)
$RUN socat -T 5 UDP-RECVFROM:"$P4",bind=127.0.0.1 SYSTEM:'tr a-z A-Z' >"$T/socat.out" 2>&1 &
bg $!
got=$(ask_until 127.0.0.1 "$P4" socat)
check "socat UDP-RECVFROM inside answers from outside (got: $got)" [ "$got" = "SOCAT 127.0.0.1 True" ]
if "$PY" -c "import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(('::1', 0))" 2>/dev/null; then
	P5=$(free_port)
	$RUN "$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('::1', int(sys.argv[1])))
d, a = s.recvfrom(100)
s.sendto(d.upper() + b' ' + a[0].encode(), a)" "$P5" >"$T/six.out" 2>&1 &
	bg $!
	got=$(ask_until ::1 "$P5" six)
	check "an IPv6 UDP server inside on ::1 (got: $got)" [ "$got" = "SIX ::1 ::1 True" ]
	# A dual-stack server on :: (IPV6_V6ONLY off): IPv4 clients reach it
	# and it sees them as ::ffff:a.b.c.d, as on the host.
	P6=$(free_port)
	$RUN "$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', int(sys.argv[1])))
for _ in range(2):
    d, a = s.recvfrom(100)
    s.sendto(d.upper() + b' ' + a[0].encode(), a)" "$P6" >"$T/dual.out" 2>&1 &
	bg $!
	got=$(ask_until 127.0.0.1 "$P6" four)
	check "a dual-stack UDP server inside on :: answers an IPv4 client, which it sees mapped (got: $got)" \
		[ "$got" = "FOUR ::ffff:127.0.0.1 127.0.0.1 True" ]
	got=$(ask_until ::1 "$P6" six)
	check "and an IPv6 client (got: $got)" [ "$got" = "SIX ::1 ::1 True" ]
	# The other way: a dual-stack client inside to an IPv4 server outside,
	# by its mapped address, with sendto and after connect.
	P7=$(free_port)
	"$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.settimeout(10)
for _ in range(2):
    d, a = s.recvfrom(100)
    s.sendto(d.upper(), a)" "$P7" >"$T/four.out" 2>&1 &
	bg $!
	got=$($RUN "$PY" -c "
import socket, sys, time
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.settimeout(5)
time.sleep(0.3)
c.sendto(b'mapped', ('::ffff:127.0.0.1', int(sys.argv[1])))
d, a = c.recvfrom(100)
c.connect(('::ffff:127.0.0.1', int(sys.argv[1])))
c.send(b'connected')
print(d.decode(), a[0], c.recv(100).decode())" "$P7" 2>&1)
	check "a dual-stack client inside reaches an IPv4 server by its mapped address (got: $got)" \
		[ "$got" = "MAPPED ::ffff:127.0.0.1 CONNECTED" ]
fi

# A program talking to its own UDP server through the host: the server's
# address is held in the sandbox by the program itself, so its answers come
# in with their header made by the runner (no relay can be bound there).
got=$($RUN "$PY" -c "
import socket
r = []
for fam, host in [(socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')]:
    try:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((host, 0))
    except OSError:
        continue
    p = s.getsockname()
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.settimeout(5)
    s.settimeout(5)
    c.sendto(b'self' * 300, p)
    d, a = s.recvfrom(2000)
    s.sendto(d.upper(), a)
    e, b = c.recvfrom(2000)
    r.append('%d %s %s' % (len(d), e == d.upper(), b[:2] == p[:2]))
print(', '.join(r))")
check "a client and a server of one program in the sandbox, through the host (got: $got)" \
	sh -c "echo '$got' | grep -q '^1200 True True'"

got=$($RUN "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(('127.0.0.1', $DENY_BIND_PORT))
    print('bound')
except OSError as e:
    print(e.errno)")
check "a UDP bind the policy denies fails with EACCES (got: $got)" [ "$got" = "13" ]
"$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $DENY_BIND_PORT))" 2>/dev/null
check "(the port is free on the host: the broker's refusal, not the kernel's)" [ $? -eq 0 ]

# ---- ancillary data of sendmsg ----
UPORT=$(free_port)
"$PY" -c "
import socket, sys
IP_PKTINFO = 8
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
open(sys.argv[2], 'w').write('0\n')
n = 0
print('ready', flush=True)
while True:
    d, anc, fl, a = s.recvmsg(65536, 256)
    n += 1
    open(sys.argv[2], 'w').write('%d\n' % n)
    tos = -1
    for lvl, typ, data in anc:
        if lvl == socket.IPPROTO_IP and typ == socket.IP_TOS:
            tos = data[0]
    s.sendto(b'%s from %s tos %d' % (d, a[0].encode(), tos), a)" "$UPORT" "$T/anc.count" \
	>"$T/anc.out" 2>&1 &
bg $!
wait_for_line "$T/anc.out" '^ready' 10 || { echo "FAIL: no server"; exit 1; }
udp_echo_denied() {
	"$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
open(sys.argv[2], 'w').write('0\n')
print('ready', flush=True)
n = 0
while True:
    s.recvfrom(65536)
    n += 1
    open(sys.argv[2], 'w').write('%d\n' % n)" "$DENY_PORT" "$T/denied.count" >"$T/denied.out" 2>&1 &
	bg $!
	wait_for_line "$T/denied.out" '^ready' 10 || { echo "FAIL: no server"; exit 1; }
}
udp_echo_denied

got=$($RUN "$PY" -c "
import socket, struct
IP_PKTINFO = 8
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
r = []
pi = struct.pack('=I4s4s', 0, socket.inet_aton('127.0.0.3'), b'\0' * 4)
s.sendmsg([b'src'], [(socket.IPPROTO_IP, IP_PKTINFO, pi)], 0, ('127.0.0.1', $UPORT))
r.append(s.recv(100).decode())
s.sendmsg([b'tos'], [(socket.IPPROTO_IP, socket.IP_TOS, struct.pack('=i', 0x28))], 0, ('127.0.0.1', $UPORT))
r.append(s.recv(100).decode())
print(' / '.join(r))")
check "sendmsg with IP_PKTINFO picks the source, IP_TOS the TOS (got: $got)" \
	[ "$got" = "src from 127.0.0.3 tos 0 / tos from 127.0.0.1 tos 40" ]

got=$($RUN "$PY" -c "
import socket, struct, array
IP_PKTINFO = 8
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = []
def tryit(anc, dst):
    try:
        s.sendmsg([b'x'], anc, 0, dst)
        r.append('sent')
    except OSError as e:
        r.append(str(e.errno))
pi = struct.pack('=I4s4s', 0, socket.inet_aton('127.0.0.9'), b'\0' * 4)
tryit([(socket.IPPROTO_IP, IP_PKTINFO, pi)], ('127.0.0.1', $UPORT))
pi = struct.pack('=I4s4s', 1, b'\0' * 4, b'\0' * 4)
tryit([(socket.IPPROTO_IP, IP_PKTINFO, pi)], ('127.0.0.1', $UPORT))
tryit([(socket.IPPROTO_IP, socket.IP_TOS, struct.pack('=i', 0))], ('127.0.0.1', $DENY_PORT))
tryit([(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [0]))], ('127.0.0.1', $UPORT))
tryit([(socket.SOL_UDP, 103, struct.pack('=H', 100))], ('127.0.0.1', $UPORT))
print(' '.join(r))")
check "refused: a source the bind policy denies (EACCES), an interface no rule names (EACCES), a denied destination with cmsg (EACCES), SCM_RIGHTS (EINVAL, as the kernel says on UDP), UDP_SEGMENT (EINVAL) (got: $got)" \
	[ "$got" = "13 13 13 22 22" ]
check "the denied server received nothing" [ "$(cat "$T/denied.count")" = "0" ]
check "the server got only the two allowed datagrams" [ "$(cat "$T/anc.count")" = "2" ]

# A client binding the wildcard at port 0 (musl's resolver does) needs no
# bind rule: that is the bind its first send would do. Any other bind does.
if command -v setpriv >/dev/null 2>&1; then
	chmod 666 "$SOCK"
	got=$(setpriv --reuid=65534 --regid=65534 --clear-groups $RUN "$PY" -c "
import socket
r = []
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.bind(('0.0.0.0', 0))
s.sendto(b'w', ('127.0.0.1', $UPORT))
r.append(s.recv(100).decode().split()[0])
for a in [('127.0.0.1', 0), ('0.0.0.0', $(free_port))]:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(a)
        r.append('bound')
    except OSError as e:
        r.append(str(e.errno))
print(' '.join(r))")
	chmod 600 "$SOCK"
	check "no bind rule: the wildcard at port 0 works, an address or a port is EACCES (got: $got)" \
		[ "$got" = "w 13 13" ]
fi

ask 127.0.0.1 "$P1" quit >/dev/null
finish
