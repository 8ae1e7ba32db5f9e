# SPDX-License-Identifier: MIT
# check.sh - what the stand-alone shell tests share (sourced, after their
# skip checks): a temporary directory, checks that count failures, a
# bounded wait and one exit path.
#   . check.sh
# sets T (a new /tmp/sb-NAME-XXXXXX, NAME the script's name), fails=0 and pids="" (background
# processes finish kills). A script may define on_finish, which finish runs
# before T is removed, and set SHOW_LOGS to the files (globs allowed) that
# finish prints when a check failed.

_name=${0##*/}
T=$(mktemp -d "/tmp/sb-${_name%.sh}-XXXXXX")
fails=0 pids=""
# shellcheck disable=SC2034 # set by the scripts that source this file
SHOW_LOGS=

ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# finish: stop what the test started, clean up, print the summary and exit
# 0 when every check passed.
finish() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	command -v on_finish >/dev/null 2>&1 && on_finish
	if [ "$fails" -ne 0 ]; then
		# shellcheck disable=SC2086 # SHOW_LOGS is a list of globs
		for f in $SHOW_LOGS; do
			[ -f "$f" ] && { echo "---- $f"; cat "$f"; }
		done
	fi
	rm -rf "$T"
	echo "$((fails == 0 ? 1 : 0)) passed, $fails failed"
	[ "$fails" -eq 0 ]
	exit $?
}

# wait_for COUNT CMD...: run CMD every WAIT_STEP seconds (default 0.1), at
# most COUNT times, until it succeeds. CMD's stderr is discarded, its
# stdout is the caller's.
wait_for() {
	_n=$1
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep "${WAIT_STEP:-0.1}"
		_n=$((_n - 1))
	done
	return 1
}
