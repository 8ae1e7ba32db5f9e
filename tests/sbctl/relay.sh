#!/bin/sh
# SPDX-License-Identifier: MIT
# relay.sh - sbctl connect and listen relay files both ways through the
# broker, byte for byte (sha256): sbctl to sbctl, sbctl to a native peer
# and back, over IPv4 and IPv6; listen -k takes several connections; UDP
# datagrams go out line by line and come back.
#   relay.sh SOCKBROKERD SBCTL PYTHON3
. "$(dirname "$0")/lib.sh"
PEER="$(dirname "$0")/peer.py"

start_broker
head -c 5242880 /dev/urandom >"$T/a"
head -c 5242880 /dev/urandom >"$T/b"
head -c 1048576 /dev/urandom >"$T/c"
head -c 777 /dev/urandom >"$T/d"

# same_sha WHAT FILE COPY
same_sha() {
	want=$(sha256sum <"$2" | cut -d' ' -f1)
	got=$(sha256sum <"$3" | cut -d' ' -f1)
	if [ "$want" = "$got" ]; then
		ok "$1 ($(wc -c <"$3") bytes, sha256 ${got%"${got#????????????}"}...)"
	else
		fail "$1: sha256 $got ($(wc -c <"$3") bytes), want $want ($(wc -c <"$2") bytes)"
	fi
}

# listen_port LOGFILE FAMILY_REGEX: the port a `sbctl -v listen` reported.
listen_port() {
	if ! wait_for_line "$1" "listening on $2" 20; then
		echo "  no 'listening on' line in $1:" >&2
		cat "$1" >&2
		return 1
	fi
	sed -n "s/.*listening on $2:\([0-9][0-9]*\)$/\1/p" "$1" | head -1
}

# ---- 1. sbctl listen <-> sbctl connect, 5 MiB each way at once.
timeout 60 "$SBCTL" -v listen 127.0.0.1 0 <"$T/a" >"$T/a.at-connect.out" 2>"$T/l1.err" &
lpid=$!
bg $lpid
port=$(listen_port "$T/l1.err" "127\\.0\\.0\\.1")
if [ -n "$port" ]; then
	timeout 60 "$SBCTL" connect 127.0.0.1 "$port" <"$T/b" >"$T/b.at-connect.out" 2>"$T/c1.err"
	crc=$?
	wait $lpid
	lrc=$?
	if [ $crc -eq 0 ] && [ $lrc -eq 0 ]; then
		ok "sbctl listen and sbctl connect exit 0"
	else
		fail "sbctl listen exit $lrc, sbctl connect exit $crc"
		cat "$T/l1.err" "$T/c1.err"
	fi
	same_sha "sbctl listen -> sbctl connect" "$T/a" "$T/b.at-connect.out"
	same_sha "sbctl connect -> sbctl listen" "$T/b" "$T/a.at-connect.out"
	if [ -s "$T/c1.err" ]; then fail "connect without -v prints nothing on stderr"; cat "$T/c1.err"
	else ok "connect without -v prints nothing on stderr"; fi
	if grep -q "connection from 127.0.0.1:" "$T/l1.err"; then ok "listen -v names the peer"
	else fail "listen -v names the peer"; cat "$T/l1.err"; fi
else
	fail "sbctl listen reports its port"
fi

# ---- 2. sbctl connect <-> a native server.
rm -f "$T/p2"
timeout 60 "$PY" "$PEER" tcp-server 4 "$T/p2" "$T/a" "$T/n2.recv" &
ppid=$!
bg $ppid
if wait_for_line "$T/p2" "^[0-9]+$" 10; then
	timeout 60 "$SBCTL" connect 127.0.0.1 "$(cat "$T/p2")" <"$T/b" >"$T/n2.out"
	check "sbctl connect to a native server exits 0" [ $? -eq 0 ]
	wait $ppid
	check "the native server exits 0" [ $? -eq 0 ]
	same_sha "native server -> sbctl connect" "$T/a" "$T/n2.out"
	same_sha "sbctl connect -> native server" "$T/b" "$T/n2.recv"
else
	fail "the native server started"
fi

# ---- 2b. all of a file to a native server that sends nothing: sbctl
# exits at once after the peer's EOF, which must not cut what the broker
# still has to write.
rm -f "$T/p2b"
timeout 60 "$PY" "$PEER" tcp-server 4 "$T/p2b" /dev/null "$T/n2b.recv" &
ppid=$!
bg $ppid
if wait_for_line "$T/p2b" "^[0-9]+$" 10; then
	timeout 60 "$SBCTL" connect 127.0.0.1 "$(cat "$T/p2b")" <"$T/a" >"$T/n2b.out"
	check "sbctl connect to a sink exits 0" [ $? -eq 0 ]
	wait $ppid
	same_sha "sbctl connect -> native sink, nothing lost at the end" "$T/a" "$T/n2b.recv"
	check "nothing came back from the sink" [ ! -s "$T/n2b.out" ]
else
	fail "the native sink started"
fi

# ---- 3. a native client <-> sbctl listen.
timeout 60 "$SBCTL" -v listen 0 -4 <"$T/b" >"$T/n3.out" 2>"$T/l3.err" &
lpid=$!
bg $lpid
port=$(listen_port "$T/l3.err" "0\\.0\\.0\\.0")
if [ -n "$port" ]; then
	timeout 60 "$PY" "$PEER" tcp-client 127.0.0.1 "$port" "$T/a" "$T/n3.recv"
	check "native client exits 0" [ $? -eq 0 ]
	wait $lpid
	check "sbctl listen -4 exits 0" [ $? -eq 0 ]
	same_sha "native client -> sbctl listen" "$T/a" "$T/n3.out"
	same_sha "sbctl listen -> native client" "$T/b" "$T/n3.recv"
else
	fail "sbctl listen -4 reports its port"
fi

# ---- 4. IPv6, when this host has ::1.
if ip -6 addr show dev lo 2>/dev/null | grep -q "inet6 ::1/"; then
	timeout 60 "$SBCTL" -v listen ::1 0 <"$T/c" >"$T/v6l.out" 2>"$T/l4.err" &
	lpid=$!
	bg $lpid
	port=$(listen_port "$T/l4.err" "\\[::1\\]")
	if [ -n "$port" ]; then
		timeout 60 "$SBCTL" connect -6 ::1 "$port" <"$T/d" >"$T/v6c.out" 2>"$T/c4.err"
		check "sbctl connect over IPv6 exits 0" [ $? -eq 0 ]
		wait $lpid
		same_sha "IPv6: sbctl listen -> sbctl connect" "$T/c" "$T/v6c.out"
		same_sha "IPv6: sbctl connect -> sbctl listen" "$T/d" "$T/v6l.out"
	else
		fail "sbctl listen ::1 reports its port"
	fi
else
	echo "skip: no ::1 on lo: no IPv6 relay"
fi

# ---- 5. listen -k: one connection after the other.
timeout 60 "$SBCTL" -v listen -k 127.0.0.1 0 </dev/null >"$T/k.out" 2>"$T/l5.err" &
kpid=$!
bg $kpid
port=$(listen_port "$T/l5.err" "127\\.0\\.0\\.1")
if [ -n "$port" ]; then
	printf 'first\n' >"$T/k1"
	printf 'second\n' >"$T/k2"
	timeout 30 "$PY" "$PEER" tcp-client 127.0.0.1 "$port" "$T/k1" "$T/k1.recv" &&
		wait_for_line "$T/k.out" "^first$" 10 &&
		timeout 30 "$PY" "$PEER" tcp-client 127.0.0.1 "$port" "$T/k2" "$T/k2.recv" &&
		wait_for_line "$T/k.out" "^second$" 10
	check "listen -k relays two connections in turn" [ $? -eq 0 ]
	check "listen -k is still listening after them" kill -0 $kpid
	if [ "$(grep -c 'connection from' "$T/l5.err")" -eq 2 ]; then ok "listen -k -v names both peers"
	else fail "listen -k -v names both peers"; cat "$T/l5.err"; fi
	kill $kpid 2>/dev/null
	wait $kpid 2>/dev/null
else
	fail "sbctl listen -k reports its port"
fi

# ---- 6. UDP: each line a datagram, the answers on stdout.
rm -f "$T/p6"
timeout 30 "$PY" "$PEER" udp-echo "$T/p6" &
upid=$!
bg $upid
if wait_for_line "$T/p6" "^[0-9]+$" 10; then
	printf 'alpha\nbeta\ngamma\n' |
		timeout 30 "$SBCTL" connect -u -w 0.5 127.0.0.1 "$(cat "$T/p6")" >"$T/u.out"
	check "sbctl connect -u exits 0" [ $? -eq 0 ]
	printf 'ALPHA\nBETA\nGAMMA\n' >"$T/u.want"
	same_output "UDP: three datagrams out, three answers back" "$T/u.want" "$T/u.out"
else
	fail "the UDP echo peer started"
fi

finish
