# SPDX-License-Identifier: MIT
# escape.sh - a hostile program tries to reach the network past the broker:
# through the i386 and x32 system-call tables, io_uring, raw and packet
# sockets, by re-pointing a TCP socket the broker connected (also after
# its connection ended), and by MSG_FASTOPEN on a socket of the host's
# namespace the program inherited. Every
# attempt fails, and the server behind the denied port never sees a
# connection. The i386 attempt is first shown to work outside the sandbox
# (where this kernel has the i386 table), so that the test can fail.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
start_http web "$PORT"
start_http denied "$DENY_PORT"

# i386: outside, int 0x80 connects (when the kernel has IA32 emulation);
# inside, the filter kills the process (SIGSYS: 128 + 31).
"$ESCAPE" int80 "$DENY_PORT" >"$T/int80.out" 2>&1
outside=$?
if [ $outside -eq 1 ]; then
	wait_for_line "$T/denied.count" '^1$' 5
	check "outside the sandbox int 0x80 reaches the server" [ $? -eq 0 ]
else
	echo "note: this kernel has no i386 system calls; the attempt proves less"
fi
before=$(accepts denied)
$RUN "$ESCAPE" int80 "$DENY_PORT"
check "int 0x80 socketcall in the sandbox kills the program (status $?)" [ $? -eq 159 ]
$RUN "$ESCAPE" x32 "$DENY_PORT"
check "an x32 system call kills the program (status $?)" [ $? -eq 159 ]
check "neither reached the server" [ "$(accepts denied)" = "$before" ]

check "io_uring_setup fails with ENOSYS" $RUN "$ESCAPE" io_uring
check "raw, packet and vsock sockets are refused (EPERM, EAFNOSUPPORT)" $RUN "$ESCAPE" raw
$RUN "$ESCAPE" repoint "$PORT" "$DENY_PORT" >"$T/repoint.out" 2>&1
rc=$?
sed 's/^/    /' "$T/repoint.out"
check "a connected socket cannot be re-pointed (second connect, AF_UNSPEC, MSG_FASTOPEN)" \
	[ $rc -eq 0 ]
check "the denied server accepted nothing from it" [ "$(accepts denied)" = "$before" ]

# A thread swaps an fd number between the broker's socket and a Unix socket
# while connect(AF_UNSPEC), connect, bind and sendto(MSG_FASTOPEN) to the
# denied port go to it: what the supervisor checked as a Unix socket must
# not reach the kernel as the broker's (it would be disconnected, then
# connected or bound anywhere).
$RUN "$ESCAPE" swap "$PORT" "$DENY_PORT" >"$T/swap.out" 2>&1
rc=$?
sed 's/^/    /' "$T/swap.out"
check "swapping fd numbers under a notification re-points nothing" [ $rc -eq 0 ]
check "the denied server accepted nothing from it" [ "$(accepts denied)" = "$before" ]

# A TCP socket of the host's namespace, unconnected, handed to the program
# by whoever started the runner (as its stdin: the runner passes on no
# other descriptor): MSG_FASTOPEN would connect it from the
# host past the broker.
$PY -c '
import os, socket, sys
s = socket.socket()
os.dup2(s.fileno(), 0)
os.execvp(sys.argv[1], sys.argv[1:])' $RUN "$ESCAPE" inherited 0 "$DENY_PORT" >"$T/inherited.out" 2>&1
rc=$?
sed 's/^/    /' "$T/inherited.out"
check "an inherited host socket is not connected by MSG_FASTOPEN" [ $rc -eq 0 ]
check "the denied server accepted nothing from it" [ "$(accepts denied)" = "$before" ]

# A sandboxed root has no capability outside: it cannot enter the host's
# network namespace with setns(2).
if [ "$(id -u)" = 0 ]; then
	$RUN "$PY" -c "
import os
fd = os.open('/proc/1/ns/net', os.O_RDONLY)
os.setns(fd, os.CLONE_NEWNET)" 2>/dev/null
	check "root in the sandbox cannot setns() into the host's network" [ $? -ne 0 ]
fi

finish
