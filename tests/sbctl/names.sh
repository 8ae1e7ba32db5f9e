#!/bin/sh
# SPDX-License-Identifier: MIT
# names.sh - sbctl's name and interface commands against this host's own
# tools: ifaddrs vs `ip -j addr` / `ip -brief addr`, resolve vs `getent
# ahosts`, hostname vs hostname(1), service vs `getent services`, nameinfo
# vs Python's socket.getnameinfo. The broker runs here, so the answers
# must be the same.
#   names.sh SOCKBROKERD SBCTL PYTHON3
. "$(dirname "$0")/lib.sh"

start_broker

# ---- ifaddrs --json vs ip -j addr: names, indexes, addresses, prefixes,
# MACs, MTUs and flags.
if ! ip -j addr >"$T/ip.json" 2>/dev/null; then
	fail "ip -j addr runs (iproute2)"
elif ! timeout 20 "$SBCTL" --json ifaddrs >"$T/sb.json"; then
	fail "sbctl --json ifaddrs exits 0"
else
	ok "sbctl --json ifaddrs exits 0"
	if "$PY" - "$T/ip.json" "$T/sb.json" <<'EOF'
import json, sys

ip = json.load(open(sys.argv[1]))
sb = json.load(open(sys.argv[2]))
bad = 0

def diff(what, a, b):
    global bad
    if a != b:
        bad += 1
        print("  %s differ:\n    ip:    %s\n    sbctl: %s" % (what, sorted(a), sorted(b)))

for row in sb:
    for key in ("name", "ifindex", "family", "addr", "flags", "mtu"):
        if key not in row:
            bad += 1
            print("  row without %r: %r" % (key, row))

links_ip = {(l["ifname"], l["ifindex"]) for l in ip}
links_sb = {(r["name"], r["ifindex"]) for r in sb if r["family"] == "packet"}
diff("links (name, ifindex)", links_ip, links_sb)

addrs_ip = {(l["ifname"], l["ifindex"], a["family"], a["local"], a["prefixlen"])
            for l in ip for a in l.get("addr_info", [])
            if a.get("family") in ("inet", "inet6")}
addrs_sb = {(r["name"], r["ifindex"], r["family"], r["addr"], r["prefixlen"])
            for r in sb if r["family"] in ("inet", "inet6")}
diff("addresses (name, ifindex, family, addr, prefixlen)", addrs_ip, addrs_sb)

brd_ip = {(l["ifname"], a["local"], a["broadcast"]) for l in ip for a in l.get("addr_info", [])
          if a.get("family") == "inet" and a.get("broadcast")}
brd_sb = {(r["name"], r["addr"], r["broadaddr"]) for r in sb
          if r["family"] == "inet" and r.get("broadaddr")}
diff("IPv4 broadcast addresses", brd_ip, brd_sb)

macs_ip = {(l["ifname"], l["address"]) for l in ip if l.get("address")}
macs_sb = {(r["name"], r["addr"]) for r in sb if r["family"] == "packet" and r["addr"]}
diff("MAC addresses", macs_ip, macs_sb)

mtu_ip = {(l["ifname"], l["mtu"]) for l in ip}
mtu_sb = {(r["name"], r["mtu"]) for r in sb}
diff("MTUs", mtu_ip, mtu_sb)

# ip names the IFF_* bits it prints the same way, without RUNNING, and adds
# the pseudo flags NO-CARRIER and M-DOWN.
for l in ip:
    mine = {f for r in sb if r["name"] == l["ifname"] and r["family"] == "packet"
            for f in r["flags"]}
    theirs = set(l["flags"]) - {"NO-CARRIER", "M-DOWN"}
    if not theirs <= mine or not mine - {"RUNNING"} <= theirs:
        bad += 1
        print("  flags of %s differ: ip %s, sbctl %s" % (l["ifname"], sorted(theirs), sorted(mine)))

# Rows in libc's order: every packet row comes before the address rows.
fams = [r["family"] for r in sb]
if "packet" in fams and fams.index("packet") != 0:
    bad += 1
    print("  the first row is not a packet row:", fams[:3])
if fams.count("packet") and max(i for i, f in enumerate(fams) if f == "packet") >= \
        min([i for i, f in enumerate(fams) if f != "packet"] or [len(fams)]):
    bad += 1
    print("  packet rows and address rows are interleaved (not libc's order)")
sys.exit(1 if bad else 0)
EOF
	then ok "ifaddrs --json equals ip -j addr (links, addresses, prefixes, broadcasts, MACs, MTUs, flags)"
	else fail "ifaddrs --json equals ip -j addr"
	fi
fi

# ---- ifaddrs text vs ip -brief addr: names and addresses column by column
# (the state column is derived from the flags; see sbctl(1)).
ip -brief addr | awk '{ sub(/@.*/, "", $1); $2 = ""; print }' >"$T/ip.brief"
timeout 20 "$SBCTL" ifaddrs | awk '{ $2 = ""; print }' >"$T/sb.brief"
same_output "ifaddrs equals ip -brief addr (names, addresses)" "$T/ip.brief" "$T/sb.brief"
ip -brief addr | awk '$2 == "UP" || $2 == "DOWN" || $1 == "lo" { sub(/@.*/, "", $1); print $1, $2 }' \
	>"$T/ip.state"
timeout 20 "$SBCTL" ifaddrs | awk 'NR == FNR { want[$1] = 1; next } ($1 in want) { print $1, $2 }' \
	"$T/ip.state" - >"$T/sb.state"
same_output "ifaddrs states UP/DOWN/UNKNOWN(lo) equal ip's" "$T/ip.state" "$T/sb.state"

# ---- resolve vs getent ahosts, byte for byte.
for host in localhost 127.0.0.1 ::1 "$(hostname)"; do
	for v in "ahosts:" "ahostsv4:-4" "ahostsv6:-6"; do
		db=${v%%:*}
		opt=${v#*:}
		getent "$db" "$host" >"$T/getent.out"
		grc=$?
		# shellcheck disable=SC2086
		timeout 20 "$SBCTL" resolve $opt "$host" >"$T/sb.out" 2>"$T/sb.err"
		src=$?
		if [ "$grc" -eq 0 ]; then
			if [ "$src" -eq 0 ]; then
				same_output "resolve${opt:+ $opt} $host equals getent $db $host" \
					"$T/getent.out" "$T/sb.out"
			else
				fail "resolve${opt:+ $opt} $host: exit $src: $(cat "$T/sb.err")"
			fi
		elif [ "$src" -eq 2 ]; then
			ok "resolve${opt:+ $opt} $host fails as getent $db does (exit 2): $(cat "$T/sb.err")"
		else
			fail "resolve${opt:+ $opt} $host: exit $src where getent $db exits $grc"
		fi
	done
done

# --json rows carry the fields and agree with the text.
if timeout 20 "$SBCTL" --json resolve localhost http >"$T/r.json" &&
   "$PY" - "$T/r.json" <<'EOF'
import json, socket, sys
rows = json.load(open(sys.argv[1]))
want = socket.getaddrinfo("localhost", "http", flags=socket.AI_V4MAPPED |
                          socket.AI_ADDRCONFIG | socket.AI_CANONNAME)
fam = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}
typ = {socket.SOCK_STREAM: "stream", socket.SOCK_DGRAM: "dgram", socket.SOCK_RAW: "raw"}
got = [(r["family"], r["socktype"], r["protocol"], r["addr"], r["port"]) for r in rows]
exp = [(fam[f], typ[t], p, a[0], a[1]) for f, t, p, c, a in want]
if got != exp or rows[0]["canonname"] != (want[0][3] or None):
    print("  sbctl:", got, rows[0]["canonname"], "\n  libc: ", exp, want[0][3])
    sys.exit(1)
EOF
then ok "resolve --json localhost http equals socket.getaddrinfo (family, socktype, protocol, addr, port, canonname)"
else fail "resolve --json localhost http equals socket.getaddrinfo"
fi

# ---- hostname
hostname >"$T/h.want"
timeout 20 "$SBCTL" hostname >"$T/h.got"
same_output "hostname equals hostname(1)" "$T/h.want" "$T/h.got"
if [ "$(timeout 20 "$SBCTL" --json hostname | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["hostname"])')" = "$(hostname)" ]; then
	ok "hostname --json"
else
	fail "hostname --json"
fi

# ---- service vs getent services (name, name/proto, port, port/proto).
for key in http http/tcp ssh domain/udp 53/udp 22 443/tcp ntp/udp; do
	getent services "$key" >"$T/s.want"
	if [ -s "$T/s.want" ]; then
		timeout 20 "$SBCTL" service "$key" >"$T/s.got"
		same_output "service $key equals getent services $key" "$T/s.want" "$T/s.got"
	fi
done
getent services domain/udp >"$T/s.want"
timeout 20 "$SBCTL" service domain udp >"$T/s.got"
same_output "service domain udp (protocol as an argument)" "$T/s.want" "$T/s.got"
if timeout 20 "$SBCTL" --json service http | "$PY" -c '
import json, socket, sys
d = json.load(sys.stdin)
sys.exit(0 if (d["name"], d["port"], d["proto"]) ==
         ("http", socket.getservbyname("http", "tcp"), "tcp") and isinstance(d["aliases"], list) else 1)'
then ok "service --json http"
else fail "service --json http"
fi

# ---- nameinfo vs socket.getnameinfo.
for a in "127.0.0.1 22" "127.0.0.1 80" "::1 443" "127.0.0.1"; do
	# shellcheck disable=SC2086
	want=$("$PY" -c '
import socket, sys
a = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
h, s = socket.getnameinfo((a, port), 0)
print(h, s) if len(sys.argv) > 2 else print(h)' $a)
	# shellcheck disable=SC2086
	got=$(timeout 20 "$SBCTL" nameinfo $a)
	if [ "$got" = "$want" ]; then ok "nameinfo $a: $got"; else fail "nameinfo $a: '$got', libc '$want'"; fi
done
got=$(timeout 20 "$SBCTL" nameinfo -n -N 127.0.0.1 80)
if [ "$got" = "127.0.0.1 80" ]; then ok "nameinfo -n -N"; else fail "nameinfo -n -N: '$got'"; fi

finish
