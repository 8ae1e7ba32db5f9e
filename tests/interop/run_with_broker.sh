#!/bin/sh
# SPDX-License-Identifier: MIT
# run_with_broker.sh - start a real sockbrokerd on a socket in a fresh
# temporary directory, run a client with the broker's target as its last
# argument, stop the broker (a trap, also on failure), and exit with the
# client's status.
#   run_with_broker.sh SOCKBROKERD CLIENT [ARG]...
set -u
brokerd=${1:?usage: $0 SOCKBROKERD CLIENT [ARG]...}
shift
dir=$(mktemp -d /tmp/sb-interop.XXXXXX)
sock=$dir/b.sock
pid=
rc=1

stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ]; then
		echo "---- sockbrokerd log ----"
		cat "$dir/broker.log"
	fi
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

"$brokerd" --listen "unix:$sock" >"$dir/broker.log" 2>&1 &
pid=$!
# At most 5 s until the socket is there.
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "sockbrokerd exited during start-up"
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
if [ ! -S "$sock" ]; then
	echo "sockbrokerd did not listen on $sock within 5 s"
	exit 1
fi
# The client: bounded too. Python clients import tests/interop/checks.py:
# no bytecode written into the source tree.
PYTHONDONTWRITEBYTECODE=1 timeout 120 "$@" "unix:$sock"
rc=$?
exit $rc
