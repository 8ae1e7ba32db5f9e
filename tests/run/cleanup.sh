# SPDX-License-Identifier: MIT
# cleanup.sh - kill -9 of the program or of the runner leaves nothing in
# the broker: its session and sockets are gone (GetStats), the program dies
# with its runner, and a port it listened on is free again.
. "$(dirname "$0")/lib.sh"

# The program holds a broker socket (bound, not listening: the broker keeps
# it) and a listener it was handed, prints its pid and the ports, waits.
hold() {
	$RUN "$PY" -c "
import os, socket, time
a = socket.socket(); a.bind(('127.0.0.1', 0))
b = socket.socket(); b.bind(('127.0.0.1', 0)); b.listen(4)
print(os.getpid(), a.getsockname()[1], b.getsockname()[1], flush=True)
time.sleep(60)" >"$T/hold.out" 2>&1 &
	RPID=$!
	bg $RPID
	if ! wait_for_line "$T/hold.out" '^[0-9]+ [0-9]+ [0-9]+$' 10; then
		fail "the program did not start"
		cat "$T/hold.out"
		finish
	fi
	read -r CPID _ LPORT <"$T/hold.out"
}

# port_free PORT: nothing listens on 127.0.0.1:PORT (bind succeeds).
port_free() {
	"$PY" -c "
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))" "$1" 2>/dev/null
}

check "no session before" [ "$(stat_of sessions_open)" = "0" ]

hold
check "while it runs: one session" [ "$(stat_of sessions_open)" = "1" ]
check "and the broker holds its bound socket" [ "$(stat_of sockets_open)" = "1" ]
port_free "$LPORT"
check "its listener holds port $LPORT on the host" [ $? -ne 0 ]
kill -9 "$CPID"
wait $RPID
check "kill -9 of the program: the runner exits 137 ($?)" [ $? -eq 137 ]
check "the session is gone" wait_stat sessions_open 0 5
check "its sockets are gone" wait_stat sockets_open 0 5
check "the port is free again" port_free "$LPORT"

hold
# The runner's children: the program and the sandbox's socket factory.
kids=$(pgrep -P "$RPID" | tr '\n' ' ')
check "the runner has two children: the program and the socket factory ($kids)" \
	[ "$(echo $kids | wc -w)" -eq 2 ]
kill -9 "$RPID"
wait $RPID 2>/dev/null
i=0
alive=$kids
while [ -n "$alive" ] && [ $i -lt 50 ]; do
	alive=
	for p in $kids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
	sleep 0.1
	i=$((i + 1))
done
check "kill -9 of the runner: the program and the factory die with it" [ -z "$alive" ]
check "the session is gone" wait_stat sessions_open 0 5
check "its sockets are gone" wait_stat sockets_open 0 5
check "the port is free again" port_free "$LPORT"

# Processes the program started: a child left behind by a shell that
# exits, and a grandchild in a session of its own (setsid), each holding
# a listener it was handed. When the program ends, is killed, or the
# runner is killed, they go too, and their ports are free.
# leave CMD: start the program; its two children print pid and port.
cat >"$T/leave.py" <<'EOP'
import os, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
print(os.readlink("/proc/self"), l.getsockname()[1], flush=True)
time.sleep(60)
EOP
leave() {
	$RUN sh -c "$PY $T/leave.py >>$T/leave.out & setsid $PY $T/leave.py >>$T/leave.out & $1" \
		>/dev/null 2>&1 &
	RPID=$!
	bg $RPID
	i=0
	while [ "$(grep -cE '^[0-9]+ [0-9]+$' "$T/leave.out")" -lt 2 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ $i -ge 100 ]; then
		fail "the program's children did not start"
		cat "$T/leave.out"
		finish
	fi
}

# gone: every pid of leave.out has exited and every port is free.
gone() {
	i=0
	while [ $i -lt 50 ]; do
		left=
		while read -r p port; do
			if kill -0 "$p" 2>/dev/null || ! port_free "$port"; then
				left="$left $p"
			fi
		done <"$T/leave.out"
		[ -z "$left" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "    still there:$left"
	return 1
}

for how in "exit" "kill the program" "kill the runner"; do
	: >"$T/leave.out"
	case $how in
	exit) leave "sleep 2; exit 3" ;;
	*) leave "sleep 60" ;;
	esac
	case $how in
	"kill the program")
		# The runner's children: the program and the socket factory
		# (a fork of the runner, under its name).
		for p in $(pgrep -P "$RPID"); do
			[ "$(cat /proc/$p/comm 2>/dev/null)" = sockbroker-run ] || kill -9 "$p"
		done ;;
	"kill the runner") kill -9 "$RPID" ;;
	esac
	wait $RPID 2>/dev/null
	check "$how: the program's child and its setsid grandchild are gone, their ports free" gone
done
check "the session is gone" wait_stat sessions_open 0 5

finish
