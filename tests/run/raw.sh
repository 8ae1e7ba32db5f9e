# SPDX-License-Identifier: MIT
# raw.sh - raw ICMP sockets in the sandbox when the broker's policy names
# raw sockets: `ping` (iputils: its ICMP datagram socket is refused in the
# sandbox as on a host whose ping_group_range leaves it out, and it falls
# back to a raw socket) works for IPv4 and IPv6; a caller whose rules do
# not name raw sockets gets EPERM and ping fails at once. Every echo
# request is still under the policy for its destination, and the escape
# attempts fail: a denied destination, a port that would match another
# rule, IP_HDRINCL, connect + send, a source address by IP_PKTINFO or by
# bind(2) (a bound raw socket sends from its address on the host), raw
# sockets of other protocols, packet sockets even when a rule names them.
# An observer outside counts the echo requests that really left.
# Needs root: the broker needs CAP_NET_RAW for raw sockets.
EXTRA_RULES="  - name: deny-far
    match: { any: true }
    action: deny
    destinations: [127.0.0.3/32]
  - name: port-80-only
    match: { uid: [0] }
    action: allow
    types: [raw]
    destinations: [127.0.0.4/32]
    ports: [80]
  - name: deny-4
    match: { any: true }
    action: deny
    destinations: [127.0.0.4/32]
  - name: deny-source
    match: { any: true }
    action: deny
    ops: [bind]
    bind: [127.0.0.9/32]
  - name: raw-for-root
    match: { uid: [0] }
    action: allow
    types: [raw]
  - name: packet-for-root
    match: { uid: [0] }
    action: allow
    families: [AF_PACKET]"
if [ "$(id -u)" != 0 ]; then
	echo "skip: the broker needs CAP_NET_RAW for raw sockets (run as root)"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

# The observer: a raw ICMP socket of the host counting echo requests by
# destination into $T/seen (lines "ADDR COUNT").
"$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
n = {}
print('ready', flush=True)
while True:
    p = s.recv(65536)
    ihl = (p[0] & 15) * 4
    if p[ihl] != 8:
        continue
    d = socket.inet_ntoa(p[16:20])
    n[d] = n.get(d, 0) + 1
    with open(sys.argv[1], 'w') as f:
        for k, v in sorted(n.items()):
            f.write('%s %d\n' % (k, v))" "$T/seen" >"$T/observer.out" 2>&1 &
bg $!
wait_for_line "$T/observer.out" '^ready' 10 || { echo "FAIL: no observer"; exit 1; }
: >"$T/seen"
seen() {
	awk -v a="$1" '$1 == a { print $2 }' "$T/seen"
}

$RUN ping -c 2 -i 0.2 -W 5 127.0.0.1 >"$T/ping.out" 2>&1
rc=$?
sed 's/^/    /' "$T/ping.out"
check "ping 127.0.0.1 in the sandbox, raw sockets named for root (status $rc)" \
	[ $rc -eq 0 ] && grep -q "2 received" "$T/ping.out"
check "the replies carry the TTL they came with" grep -q "ttl=64" "$T/ping.out"
check "the observer saw the echo requests leave the host's side" \
	[ "$(seen 127.0.0.1)" -ge 2 ] 2>/dev/null
if "$PY" -c "import socket; socket.socket(socket.AF_INET6).bind(('::1', 0))" 2>/dev/null; then
	$RUN ping -6 -c 1 -W 5 ::1 >"$T/ping6.out" 2>&1
	rc=$?
	sed 's/^/    /' "$T/ping6.out"
	check "ping -6 ::1 in the sandbox (status $rc)" [ $rc -eq 0 ] && grep -q "1 received" "$T/ping6.out"
fi
unshare -Urn ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1
check "ping fails without the runner (no network in a new namespace)" [ $? -ne 0 ]

# A caller whose rules do not name raw sockets: EPERM, a clean failure.
chmod 666 "$SOCK"
start=$(date +%s)
setpriv --reuid=65534 --regid=65534 --clear-groups $RUN ping -c 1 -W 5 127.0.0.1 \
	>"$T/nobody.out" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
chmod 600 "$SOCK"
sed 's/^/    /' "$T/nobody.out"
check "uid 65534, raw sockets not named: ping fails (status $rc) at once (${took}s)" \
	[ $rc -ne 0 ] && [ "$took" -le 3 ]
check "with EPERM" grep -q "Operation not permitted" "$T/nobody.out"
grep -q "raw sockets are allowed only by a rule naming the type" "$T/broker.log"
check "the broker says why" [ $? -eq 0 ]

# Escape attempts with the raw socket root may have.
$RUN "$PY" -c "
import socket, struct
IP_PKTINFO = 8
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
def echo(ident):
    h = struct.pack('!BBHHH', 8, 0, 0, ident, 1) + b'sbrun-raw'
    h += b'\0' * (len(h) % 2)
    return h[:2] + struct.pack('!H', csum(h)) + h[4:]
def attempt(what, f):
    try:
        r = f()
        print(what, 'ok', r)
    except OSError as e:
        print(what, e.errno)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
attempt('allowed', lambda: s.sendto(echo(1), ('127.0.0.1', 0)))
attempt('denied', lambda: s.sendto(echo(2), ('127.0.0.3', 0)))
attempt('port80', lambda: s.sendto(echo(3), ('127.0.0.4', 80)))
attempt('msgdenied', lambda: s.sendmsg([echo(4)], [], 0, ('127.0.0.3', 0)))
pi = struct.pack('=I4s4s', 0, socket.inet_aton('127.0.0.9'), b'\0' * 4)
attempt('pktinfo', lambda: s.sendmsg([echo(5)], [(socket.IPPROTO_IP, IP_PKTINFO, pi)], 0, ('127.0.0.1', 0)))
attempt('connect', lambda: s.connect(('127.0.0.3', 0)))
attempt('send', lambda: s.send(echo(6)))
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 0, 0, 0, 64, 1, 0, socket.inet_aton('127.0.0.1'), socket.inet_aton('127.0.0.3'))
attempt('hdrincl', lambda: s.sendto(ip + echo(7), ('127.0.0.1', 0)))
b = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
b.bind(('127.0.0.2', 0))
b.settimeout(5)
attempt('bound', lambda: b.sendto(echo(8), ('127.0.0.1', 0)))
try:
    for _ in range(50):
        p = b.recv(65536)
        ihl = (p[0] & 15) * 4
        if p[ihl] == 0 and struct.unpack('!H', p[ihl + 4:ihl + 6])[0] == 8:
            print('boundreply to', socket.inet_ntoa(p[16:20]))
            break
except OSError as e:
    print('boundreply', e)
d = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
d.bind(('127.0.0.9', 0))
attempt('bounddenied', lambda: d.sendto(echo(9), ('127.0.0.1', 0)))
for name, fam, typ, proto in [('rawudp', socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP),
                              ('rawip', socket.AF_INET, socket.SOCK_RAW, 255),
                              ('rawtcp6', socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),
                              ('packet', socket.AF_PACKET, socket.SOCK_RAW, 0x300),
                              ('packetdgram', socket.AF_PACKET, socket.SOCK_DGRAM, 0x300),
                              ('sockpacket', socket.AF_INET, 10, 0x300)]:
    attempt(name, lambda: socket.socket(fam, typ, proto).fileno() >= 0)
" >"$T/escape.out" 2>&1
sed 's/^/    /' "$T/escape.out"
expect() {
	grep -qx "$1" "$T/escape.out"
}
check "an echo request to an allowed address is sent" expect "allowed ok 18"
check "to a denied one: EACCES" expect "denied 13"
check "a port in the address does not match a rule's ports (a raw socket has none): EACCES" \
	expect "port80 13"
check "sendmsg to a denied one: EACCES" expect "msgdenied 13"
check "a source address the bind policy denies (IP_PKTINFO): EACCES" expect "pktinfo 13"
check "a raw socket bound to 127.0.0.2 sends from it on the host: the reply comes to 127.0.0.2" \
	expect "boundreply to 127.0.0.2"
check "bound to a source the bind policy denies: its sends are EACCES" expect "bounddenied 13"
check "connect (re-pointing the socket): EOPNOTSUPP" expect "connect 95"
check "and send without an address: EDESTADDRREQ" expect "send 89"
check "a header of its own (IP_HDRINCL): EPERM" expect "hdrincl 1"
check "raw UDP, raw IP, raw TCP, packet and SOCK_PACKET sockets: EPERM (a rule names packet sockets)" \
	sh -c "for n in rawudp rawip rawtcp6 packet packetdgram sockpacket; do grep -qx \"\$n 1\" '$T/escape.out' || exit 1; done"
sleep 0.5
check "the observer saw no echo request to 127.0.0.3 or 127.0.0.4 ($(tr '\n' ' ' <"$T/seen"))" \
	[ -z "$(seen 127.0.0.3)" ] && [ -z "$(seen 127.0.0.4)" ]

finish
