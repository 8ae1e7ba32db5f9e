# SPDX-License-Identifier: MIT
# lib.sh - what the sockbroker-run tests share (sourced), on top of the
# sbctl tests' lib.sh (a real broker in a temporary directory, checks,
# bounded waits):
#   . lib.sh SOCKBROKERD SBCTL PYTHON3 SOCKBROKER-RUN ESCAPE FETCH
# sets RUNNER ESCAPE FETCH (FETCH empty without musl-gcc) and RUN (the
# runner with --broker and "--"), and starts the broker with a policy
# written to $T/policy.yaml: connect to $DENY_PORT and bind of
# $DENY_BIND_PORT refused, everything else allowed to the invoking user
# (and to uid 65534). A script may set EXTRA_RULES (YAML list items,
# two-space indented) before sourcing: they come first.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../sbctl/lib.sh" "$1" "$2" "$3"
RUNNER=${4:?usage: $0 SOCKBROKERD SBCTL PYTHON3 SOCKBROKER-RUN ESCAPE [FETCH]}
ESCAPE=${5:?}
FETCH=${6:-}
RUN="$RUNNER --broker $TARGET --"

# The unprivileged caller of tcp.sh (when run as root).
IT_NOBODY=65534
DENY_PORT=$(free_port)
DENY_BIND_PORT=$(free_port)
cat >"$T/policy.yaml" <<EOP
policy:
${EXTRA_RULES:-}
  - name: deny-port
    match: { any: true }
    action: deny
    destinations: [127.0.0.1/32]
    ports: [$DENY_PORT]
  - name: deny-bind
    match: { any: true }
    action: deny
    ops: [bind]
    ports: [$DENY_BIND_PORT]
  - name: runner
    match: { uid: [$(id -u), $IT_NOBODY] }
    action: allow
EOP
BROKER_ARGS="--config $T/policy.yaml"
start_broker

# start_http NAME PORT: the tests' HTTP server on 127.0.0.1:PORT serving
# $T/www, its accept count in $T/NAME.count; waits at most 10 s for it.
mkdir -p "$T/www"
start_http() {
	"$PY" "$HERE/http_server.py" 127.0.0.1 "$2" "$T/www" "$T/$1.count" >"$T/$1.out" 2>&1 &
	bg $!
	if ! wait_for_line "$T/$1.out" '^ready' 10; then
		echo "FAIL: the HTTP server $1 did not start"
		cat "$T/$1.out"
		exit 1
	fi
}

# accepts NAME: how many connections server NAME accepted.
accepts() {
	cat "$T/$1.count"
}

# stat_of NAME: a counter of sbctl stats.
stat_of() {
	"$SBCTL" stats | sed -n "s/^$1: //p"
}

# wait_stat NAME VALUE [SECS]: until the counter is VALUE (default 10 s).
wait_stat() {
	_n=$(( ${3:-10} * 10 ))
	_i=0
	while [ $_i -lt $_n ]; do
		[ "$(stat_of "$1")" = "$2" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
