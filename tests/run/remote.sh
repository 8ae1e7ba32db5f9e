# SPDX-License-Identifier: MIT
# remote.sh - a remote broker (TCP with mutual TLS) cannot hand fds over:
# the runner relays TCP through Pipe and datagrams through Send/RecvStream,
# so the sandbox fetches the same file and exchanges datagrams unchanged;
# the broker knows the caller by its certificate, and its policy decides.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null 2>&1 || { echo "skip: no openssl"; exit 77; }

# A CA, the broker's certificate (for 127.0.0.1) and the client's.
C=$T/certs
mkdir -p "$C"
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' >"$C/server.ext"
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$C/client.ext"
# shellcheck disable=SC2086 # $EC is a list of options
(
	openssl req -x509 $EC -keyout "$C/ca.key" -out "$C/ca.pem" -days 2 \
		-subj "/O=sbtest/CN=sbrun CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" &&
	serial=1
	for n in server client; do
		serial=$((serial + 1))
		openssl req -new $EC -keyout "$C/$n.key" -out "$C/$n.csr" -subj "/O=sbtest/CN=sbrun-$n" &&
		openssl x509 -req -in "$C/$n.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
			-set_serial "$serial" -days 2 \
			-extfile "$C/$n.ext" -out "$C/$n.pem" || exit 1
	done
) >"$T/openssl.log" 2>&1 || { fail "openssl"; cat "$T/openssl.log"; finish; }

# A second broker: TLS on a loopback port, serving the client certificate.
TPORT=$(free_port)
cat >"$T/remote.yaml" <<EOP
listen:
  - unix: $T/remote.sock
  - tcp: "127.0.0.1:$TPORT"
    tls: { cert: $C/server.pem, key: $C/server.key, client_ca: $C/ca.pem }
policy:
  - name: deny-port
    match: { any: true }
    action: deny
    destinations: [127.0.0.1/32]
    ports: [$DENY_PORT]
  - name: sbrun-client
    match: { subject: "CN=sbrun-client,O=sbtest" }
    action: allow
  - name: admin                  # GetStats over the Unix socket
    match: { uid: $(id -u) }
    action: allow
EOP
"$BROKERD" --config "$T/remote.yaml" >>"$T/remote.log" 2>&1 &
bg $!
wait_for_line "$T/remote.log" "listening on .*$TPORT" 10 || { fail "the TLS broker did not start"; cat "$T/remote.log"; finish; }
export SOCKBROKER_TLS_CA="$C/ca.pem" SOCKBROKER_TLS_CERT="$C/client.pem" SOCKBROKER_TLS_KEY="$C/client.key"
REMOTE="$RUNNER --broker 127.0.0.1:$TPORT --"

PORT=$(free_port)
start_http web "$PORT"
start_http denied "$DENY_PORT"
head -c 3000000 /dev/urandom >"$T/www/data.bin"
WANT=$(sha256sum <"$T/www/data.bin")

got=$($REMOTE curl -sf "http://127.0.0.1:$PORT/data.bin" | sha256sum)
check "curl through the remote broker fetches the same file" [ "$got" = "$WANT" ]
got=$($REMOTE "$PY" -c "
import sys, urllib.request
sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:$PORT/data.bin').read())" | sha256sum)
check "so does python3 urllib" [ "$got" = "$WANT" ]
got=$(printf 'data sent up\n' | $REMOTE "$PY" -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $PORT))
s.sendall(b'POST / HTTP/1.0\r\nContent-Length: 13\r\n\r\n' + sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
print(s.recv(12).decode())")
check "data goes up and a half-close passes (got: $got)" [ "$got" = "HTTP/1.0 501" ]
SOCKBROKER_ADDR="unix:$T/remote.sock" "$SBCTL" stats >"$T/remote.stats" 2>&1
grep -q "^identity cert:CN=sbrun-client,O=sbtest:" "$T/remote.stats"
check "the broker knows the caller by its certificate (GetStats)" [ $? -eq 0 ]
UPORT=$(free_port)
"$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $UPORT))
print('ready', flush=True)
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d.upper(), a)" >"$T/uecho.out" 2>&1 &
bg $!
wait_for_line "$T/uecho.out" '^ready' 10
got=$($REMOTE "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'far', ('127.0.0.1', $UPORT))
d, a = s.recvfrom(100)
print(d.decode(), a[1] == $UPORT)")
check "datagrams go through Send and RecvStream (got: $got)" [ "$got" = "FAR True" ]

got=$($REMOTE "$PY" -c "
import socket
try:
    socket.create_connection(('127.0.0.1', $DENY_PORT))
    print('connected')
except OSError as e:
    print(e.errno)")
check "its policy decides (EACCES, got: $got)" [ "$got" = "13" ]
check "the denied server accepted nothing" [ "$(accepts denied)" = "0" ]
got=$($REMOTE "$PY" -c "
import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
try:
    s.listen(1)
    print('listening')
except OSError as e:
    print(e.errno)")
check "a listener cannot be lent over TCP: EOPNOTSUPP (got: $got)" [ "$got" = "95" ]

finish
