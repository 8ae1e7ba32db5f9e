# SPDX-License-Identifier: MIT
# tcp.sh - sockbroker-run with unmodified programs: the sandbox has only
# loopback, the runner passes on exit status, signals, stdin/stdout; curl,
# Python's urllib, nc, busybox wget and a static musl client fetch a file
# from an HTTP server outside the sandbox through the broker, and fail
# without the runner; a destination the policy denies gives EACCES and
# never reaches its server.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
start_http web "$PORT"
start_http denied "$DENY_PORT"
head -c 4194304 /dev/urandom >"$T/www/data.bin"
echo "hello from outside" >"$T/www/hello.txt"
WANT=$(sha256sum <"$T/www/data.bin")
URL=http://127.0.0.1:$PORT

# ---- the sandbox and the process ----
# shellcheck disable=SC2016 # $$ is the sandboxed shell's
$RUN sh -c 'exit 7'
check "exit status 7 is passed on" [ $? -eq 7 ]
# shellcheck disable=SC2016
$RUN sh -c 'kill -TERM $$'
check "death by SIGTERM is 128+15" [ $? -eq 143 ]
links=$($RUN ip -o link | awk '{print $2}' | tr -d '\n')
check "the sandbox has only lo (got: $links)" [ "$links" = "lo:" ]
# 127.0.0.2 and (when the host has IPv6) fd5b:7c6f:2d73:6272::2 are the
# sandbox's own, so that AI_ADDRCONFIG finds the families configured.
addrs=$($RUN ip -o addr | awk '{print $4}' | sort | tr '\n' ' ')
case $addrs in
"127.0.0.1/8 127.0.0.2/32 ::1/128 " | \
"127.0.0.1/8 127.0.0.2/32 ::1/128 fd5b:7c6f:2d73:6272::2/128 ") ok "lo has the sandbox's addresses: $addrs" ;;
*) fail "lo's addresses: $addrs" ;;
esac
out=$(echo "through stdin" | $RUN cat)
check "stdin and stdout are the program's" [ "$out" = "through stdin" ]
out=$($RUN sh -c 'ls -l /proc/self/fd | grep -c " -> "')
check "the program gets fds 0-2 and no other (plus ls's own: $out)" [ "$out" -le 4 ]
uid_in=$($RUN id -u)
check "the program runs as the invoking user ($uid_in)" [ "$uid_in" = "$(id -u)" ]

$RUN sh -c 'echo ready >"$1"; exec sleep 30' sh "$T/term.ready" &
rpid=$!
wait_for_line "$T/term.ready" ready 10
kill -TERM $rpid
i=0
while kill -0 $rpid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
wait $rpid
check "SIGTERM to the runner is forwarded (status $?)" [ $i -lt 50 ]
# A background job of sh starts with SIGINT ignored: undo that first.
# shellcheck disable=SC2016
"$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' $RUN sh -c 'trap "kill \$p; exit 42" INT; sleep 30 & p=$!; echo ready >"$1"; wait' sh "$T/int.ready" &
rpid=$!
wait_for_line "$T/int.ready" ready 10
kill -INT $rpid
i=0
while kill -0 $rpid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
wait $rpid
check "SIGINT is forwarded and CMD's handler decides the status" [ $? -eq 42 ]

expect_error "no broker: a clear error" 125 "cannot reach the broker at unix:$T/none.sock" \
	"$RUNNER" --broker "unix:$T/none.sock" -- true
expect_error "no broker over TCP: a clear error" 125 "broker unavailable.*127.0.0.1:1" \
	"$RUNNER" --broker 127.0.0.1:1 -- true
expect_error "a command that does not exist" 127 "cannot run the command" \
	"$RUNNER" --broker "$TARGET" -- /nonexistent/cmd
expect_error "no command" 125 "no command given" "$RUNNER" --broker "$TARGET"

# ---- without the runner: no network ----
if unshare -Urn true 2>/dev/null; then
	unshare -Urn curl -sf -o /dev/null "$URL/hello.txt" 2>/dev/null
	check "curl in a bare network namespace fails" [ $? -ne 0 ]
	if [ -n "$FETCH" ]; then
		unshare -Urn "$FETCH" 127.0.0.1 "$PORT" /hello.txt >/dev/null 2>&1
		check "the musl client in a bare network namespace fails" [ $? -ne 0 ]
	fi
fi

# ---- through the runner ----
before=$(accepts web)
got=$($RUN curl -sf "$URL/data.bin" | sha256sum)
check "curl fetches 4 MiB intact" [ "$got" = "$WANT" ]
got=$($RUN "$PY" -c "
import sys, urllib.request
sys.stdout.buffer.write(urllib.request.urlopen('$URL/data.bin').read())" | sha256sum)
check "python3 urllib fetches it" [ "$got" = "$WANT" ]
got=$(printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | $RUN nc -N 127.0.0.1 "$PORT" | tail -n 1)
check "nc fetches hello.txt (got: $got)" [ "$got" = "hello from outside" ]
got=$($RUN busybox wget -q -O - "$URL/data.bin" | sha256sum)
check "busybox wget fetches it" [ "$got" = "$WANT" ]
if [ -n "$FETCH" ]; then
	got=$($RUN "$FETCH" 127.0.0.1 "$PORT" /data.bin | sha256sum)
	check "a static musl client fetches it" [ "$got" = "$WANT" ]
else
	echo "note: no musl-gcc: the static client is not tried"
fi
after=$(accepts web)
check "the server saw the connections ($before -> $after)" [ "$after" -gt "$before" ]

# Non-blocking connect, options kept: Python sets them, the fd keeps them.
got=$($RUN "$PY" -c "
import socket
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setblocking(False)
try:
    s.connect(('127.0.0.1', $PORT))
except BlockingIOError:
    pass
import select
select.select([], [s], [], 5)
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR),
      s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
      s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
      s.getblocking(), s.getpeername()[1] == $PORT)")
check "non-blocking connect keeps O_NONBLOCK, TCP_NODELAY, SO_KEEPALIVE (got: $got)" \
	[ "$got" = "0 True True False True" ]

# More options set before connect, read back as the program set them: the
# same script run directly and in the sandbox prints the same.
OPTS_PY='
import socket, sys
S = socket
s = socket.socket()
want = [(S.IPPROTO_IP, S.IP_TTL, 33), (S.IPPROTO_IP, S.IP_TOS, 0x10),
        (S.SOL_SOCKET, S.SO_PRIORITY, 3), (S.SOL_SOCKET, S.SO_BROADCAST, 1),
        (S.IPPROTO_TCP, S.TCP_KEEPIDLE, 33), (S.IPPROTO_TCP, S.TCP_USER_TIMEOUT, 1234)]
for l, o, v in want:
    s.setsockopt(l, o, v)
s.setsockopt(S.IPPROTO_TCP, S.TCP_CONGESTION, b"reno")
s.connect(("127.0.0.1", int(sys.argv[1])))
print(*[s.getsockopt(l, o) for l, o, v in want],
      s.getsockopt(S.IPPROTO_TCP, S.TCP_CONGESTION, 16).rstrip(b"\0").decode())'
direct=$("$PY" -c "$OPTS_PY" "$PORT" 2>&1)
got=$($RUN "$PY" -c "$OPTS_PY" "$PORT" 2>&1)
check "IP_TTL, IP_TOS, SO_PRIORITY, SO_BROADCAST, TCP timings, TCP_CONGESTION kept (direct: $direct; sandbox: $got)" \
	[ -n "$direct" -a "$got" = "$direct" ]

# ---- a connect that hangs holds up only its own thread ----
# A listener with a full accept queue drops SYNs: a connect to it waits.
HANG_PORT=$(free_port)
"$PY" -c "
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', $HANG_PORT)); s.listen(0)
c = socket.create_connection(('127.0.0.1', $HANG_PORT))
print('ready', flush=True)
time.sleep(60)" >"$T/hang.out" 2>&1 &
bg $!
wait_for_line "$T/hang.out" '^ready' 10
start=$(date +%s)
got=$($RUN "$PY" -c "
import socket, threading, time, urllib.request, os
def hang():
    try:
        socket.create_connection(('127.0.0.1', $HANG_PORT), timeout=30)
    except OSError:
        pass
threading.Thread(target=hang, daemon=True).start()
time.sleep(0.5)
t = time.monotonic()
body = urllib.request.urlopen('$URL/hello.txt', timeout=10).read().decode().strip()
print(body, time.monotonic() - t < 3, flush=True)
os._exit(0)")
rc=$?
took=$(( $(date +%s) - start ))
check "another thread's connect completes while one hangs (got: $got)" \
	[ "$got" = "hello from outside True" ]
check "the runner exits at once with the program (status $rc, ${took}s)" \
	[ $rc -eq 0 ] && [ $took -lt 10 ]

# Many threads connect at once while some hang, with datagrams and binds
# between them (the calls other than connect are answered one at a time):
# every fetch completes and the UDP answers come back.
got=$($RUN "$PY" -c "
import socket, threading, urllib.request, os
ok = []
def hang():
    try:
        socket.create_connection(('127.0.0.1', $HANG_PORT), timeout=30)
    except OSError:
        pass
def fetch():
    for _ in range(5):
        b = urllib.request.urlopen('$URL/hello.txt', timeout=20).read().decode().strip()
        ok.append(b == 'hello from outside')
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(10)
    c.sendto(b'x', p)
    ok.append(s.recvfrom(10)[0] == b'x')
ts = [threading.Thread(target=hang, daemon=True) for _ in range(8)]
for t in ts:
    t.start()
ts = [threading.Thread(target=fetch) for _ in range(24)] + \
     [threading.Thread(target=udp) for _ in range(8)]
for t in ts:
    t.start()
for t in ts:
    t.join(40)
print(len(ok), all(ok), flush=True)
os._exit(0)")
check "24 threads fetching 5 times each and 8 UDP binds while 8 connects hang (got: $got)" \
	[ "$got" = "128 True" ]

# ---- an unprivileged caller: a user namespace of its own ----
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	chmod 666 "$SOCK"
	got=$(setpriv --reuid=$IT_NOBODY --regid=$IT_NOBODY --clear-groups \
		$RUN sh -c 'id -u; curl -sf '"$URL/data.bin"' | sha256sum')
	want=$(printf '%s\n%s' $IT_NOBODY "$WANT")
	check "uid $IT_NOBODY runs curl in the sandbox as itself" [ "$got" = "$want" ]
	grep -q "opened by uid $IT_NOBODY" "$T/broker.log"
	check "the broker saw uid $IT_NOBODY as the caller" [ $? -eq 0 ]
	chmod 600 "$SOCK"
fi

# ---- the policy decides ----
$RUN curl -sf -o /dev/null "http://127.0.0.1:$DENY_PORT/hello.txt" 2>/dev/null
check "curl to a denied destination fails" [ $? -ne 0 ]
got=$($RUN "$PY" -c "
import socket
try:
    socket.create_connection(('127.0.0.1', $DENY_PORT))
    print('connected')
except OSError as e:
    print(e.errno)")
check "the program's connect fails with EACCES (got: $got)" [ "$got" = "13" ]
check "the denied server accepted nothing" [ "$(accepts denied)" = "0" ]
grep -q "deny-port" "$T/broker.log"
check "the broker logged the refusal with its rule" [ $? -eq 0 ]

finish
