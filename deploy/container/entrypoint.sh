#!/bin/sh
# SPDX-License-Identifier: MIT
# entrypoint.sh - the container's PID 1 (/usr/local/bin/sockbroker-entrypoint):
# runs sockbrokerd on $SOCKBROKER_CONFIG and sends it SIGHUP when that
# file's directory changes, so that a new policy is read without a restart.
#   sockbroker-entrypoint [SOCKBROKERD ARGS...]
# Watching the directory, not the file: Kubernetes updates a mounted
# ConfigMap by pointing its ..data symlink at a new directory (a rename,
# moved_to), and an edit in place is close_write; a watch on the old file
# would see neither. A file the broker refuses is logged and the running
# policy stays (sockbrokerd(8)), so a bad ConfigMap cannot open anything.
set -eu
conf=${SOCKBROKER_CONFIG:-/etc/sockbroker/sockbrokerd.yaml}
/usr/local/sbin/sockbrokerd --config "$conf" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || :' TERM INT
# Only events that name the file or ..data (the kubelet's symlink) count:
# other files written beside it are not the configuration. A second SIGHUP
# for one change is harmless (a reload of an unchanged file changes
# nothing). When PID 1 exits the kernel ends this watcher with the rest of
# the container.
name=$(basename "$conf")
inotifywait -q -m -e close_write,moved_to,create --format %f "$(dirname "$conf")" 2>/dev/null |
	while read -r f; do
		case $f in
		"$name" | ..data) kill -HUP "$pid" 2>/dev/null || : ;;
		esac
	done &
# wait returns early when a trapped signal arrives: wait again until the
# broker itself has exited, and exit with its status.
while :; do
	rc=0
	wait "$pid" || rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"
