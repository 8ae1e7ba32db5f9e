#!/bin/sh
# SPDX-License-Identifier: MIT
# sidecar.sh - the sidecar pattern with real containers: the image of
# deploy/build-image.sh runs the broker (--network host: it lends the
# host's network), an application container with --network none shares
# its socket through a podman volume and fetches a page from a web server
# on the host's loopback, through the broker only; then the policy file is
# replaced the way the kubelet updates a ConfigMap (a rename in the mounted
# directory), the entrypoint reloads the broker, and the same fetch is
# refused. Also: the image's user and capabilities, its health check, and
# that the application cannot reach the server by itself. Last, the
# DaemonSet's layout: one socket per workload directory, two root
# applications told apart by the directory they mount.
#   sidecar.sh BUILD_DIR SOURCE_DIR
# Exit 77 (skip) only when podman is missing or cannot run a container
# here. The base tarball stays in BUILD_DIR/image-cache between runs; the
# images, containers and volume are removed at the end.
set -u
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
command -v podman >/dev/null 2>&1 || { echo "skip: podman is not installed"; exit 77; }
command -v mmdebstrap >/dev/null 2>&1 || { echo "skip: mmdebstrap is not installed"; exit 77; }
. "$(dirname "$0")/../check.sh"
chmod 755 "$T"
id=$$
img=localhost/sockbroker-test:$id
broker=sb-broker-$id vol=sb-sock-$id
# runc: crun fails on this host's hybrid cgroups; the ulimits: without
# them setrlimit is refused in the container.
pod() { timeout 120 podman --runtime runc "$@"; }
run() { pod run --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"; }
on_finish() {
	if [ "$fails" -ne 0 ] && podman container exists "$broker" 2>/dev/null; then
		echo "---- broker log"; podman logs "$broker" 2>&1 | tail -40
	fi
	podman rm -f -t 0 "$broker" >/dev/null 2>&1
	podman volume rm -f "$vol" >/dev/null 2>&1
	podman rmi -f "$img" >/dev/null 2>&1
	[ -n "${base:-}" ] && podman rmi "$base" >/dev/null 2>&1
}
trap 'fails=$((fails + 1)); finish' INT TERM HUP
WAIT_STEP=0.2

# ---- the image
t0=$(date +%s)
if ! timeout 600 "$src/deploy/build-image.sh" -B "$build" -t "$img" >"$T/image.log" 2>&1; then
	fail "deploy/build-image.sh"; cat "$T/image.log"; finish
fi
base=$(sed -n 's/^base //p' "$T/image.log")
ok "deploy/build-image.sh in $(( $(date +%s) - t0 )) s: $(grep '^size ' "$T/image.log")"
if ! run --rm --network none --entrypoint /bin/true "$img" >"$T/true.log" 2>&1; then
	echo "skip: podman cannot run a container here:"; cat "$T/true.log"
	fails=0; podman rmi -f "$img" >/dev/null 2>&1
	[ -n "$base" ] && podman rmi "$base" >/dev/null 2>&1
	rm -rf "$T"; exit 77
fi
[ "$(podman image inspect --format '{{.Config.User}}' "$img")" = "10001:10001" ] &&
	ok "the image runs as 10001:10001" || fail "the image's user is not 10001:10001"
podman image inspect --format '{{json .Config.Healthcheck}}' "$img" | grep -q "sbctl" &&
	ok "the image has a health check (sbctl health)" || fail "no HEALTHCHECK in the image"

# ---- a web server on the host's loopback
mkdir -p "$T/www" "$T/conf"
echo "hello from the host $id" >"$T/www/page"
cd "$T/www" || finish
/usr/bin/python3 -m http.server --bind 127.0.0.1 0 >"$T/http.log" 2>&1 &
pids="$pids $!"
cd / || finish
wait_for 50 grep -q "Serving HTTP" "$T/http.log" || { fail "web server"; finish; }
port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -1)

# ---- the broker: the application's uid 1000 may fetch from that server
policy() { # policy FILE PORT [RULE]: uid 1000 may connect to 127.0.0.1:PORT
	cat >"$1" <<Y
listen:
  - unix: /run/sockbroker/sockbroker.sock
    mode: 0666
policy:
  - name: app
    match: { uid: 1000 }
    action: allow
    ops: [socket, connect]
    destinations: [127.0.0.1/32]
    ports: [$2]
  - name: self
    match: { uid: 10001 }
    action: allow
    ops: [resolve]
${3:-}
Y
}
policy "$T/conf/sockbrokerd.yaml" "$port"
chmod -R a+rX "$T/conf"
pod volume create "$vol" >/dev/null || { fail "podman volume create"; finish; }
# --network host for the broker only: it is the one that lends the host's
# network, so it must be in it (the web server is on the host's loopback);
# the application has none.
if ! run -d --name "$broker" --network host --cap-drop all \
	--security-opt no-new-privileges --read-only \
	-v "$vol:/run/sockbroker" -v "$T/conf:/etc/sockbroker:ro" "$img" >/dev/null 2>"$T/run.log"; then
	fail "podman run (the broker)"; cat "$T/run.log"; finish
fi
if wait_for 75 pod healthcheck run "$broker" >/dev/null; then
	ok "podman healthcheck run: healthy (grpc.health.v1 over the socket)"
else
	fail "the broker's health check never passed"; finish
fi
st=$(pod exec "$broker" sh -c 'for p in /proc/[0-9]*; do
	[ "$(cat $p/comm)" = sockbrokerd ] && grep -E "^(Uid|CapEff|CapPrm)" $p/status; done')
echo "$st" | grep -Eq "^Uid:[[:space:]]+10001[[:space:]]" &&
	ok "sockbrokerd runs as uid 10001" || fail "sockbrokerd's uid: $st"
[ "$(echo "$st" | grep -c '0000000000000000')" -eq 2 ] &&
	ok "sockbrokerd has no capability (CapEff and CapPrm are 0)" || fail "capabilities: $st"

# ---- the application: --network none, the socket through the volume
app() { # app LOG CMD...: run CMD in the application's container, as uid 1000
	_log=$1 _ep=$2; shift 2
	run --rm --network none --no-healthcheck --user 1000:1000 \
		-v "$vol:/run/sockbroker" --entrypoint "$_ep" "$img" "$@" >"$_log" 2>&1 </dev/null
}
fetch() { # fetch LOG: GET /page through the broker with sbctl connect
	_log=$1
	run --rm -i --network none --no-healthcheck --user 1000:1000 \
		-v "$vol:/run/sockbroker" --entrypoint /usr/local/bin/sbctl "$img" \
		connect -q 5 127.0.0.1 "$port" \
		>"$_log" 2>&1 <<R
GET /page HTTP/1.0
Host: 127.0.0.1

R
}
if fetch "$T/fetch1.log" && grep -q "hello from the host $id" "$T/fetch1.log"; then
	ok "the application fetched the host's page through the broker"
else
	fail "fetch through the broker:"; cat "$T/fetch1.log"
fi
if app "$T/direct.log" /bin/bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"; then
	fail "the application reached the host's server without the broker"
else
	ok "without the broker the application cannot reach the server ($(tail -1 "$T/direct.log"))"
fi

# ---- a policy that denies it, as the kubelet updates a ConfigMap: uid 1000
# may now reach port 443 only (a third rule tells this reload in the log)
policy "$T/conf/new.yaml" 443 "  - { name: metadata, match: { any: true }, action: deny, destinations: [169.254.169.254/32] }"
chmod a+r "$T/conf/new.yaml"
before=$(podman logs "$broker" 2>&1 | wc -l)
mv "$T/conf/new.yaml" "$T/conf/sockbrokerd.yaml"
reloaded() { [ "$(podman logs "$broker" 2>&1 | tail -n +"$((before + 1))" | grep -c "reloaded: policy rules 2 -> 3")" -gt 0 ]; }
if wait_for 50 reloaded; then
	ok "the policy file changed: the broker reloaded ($(podman logs "$broker" 2>&1 |
		tail -n +"$((before + 1))" | grep -o "reloaded: policy rules 2 -> 3" | head -1))"
else
	fail "no reload after the policy file changed"
fi
if fetch "$T/fetch2.log"; then
	fail "the fetch succeeded under a policy that denies it:"; cat "$T/fetch2.log"
elif grep -q "hello from the host" "$T/fetch2.log"; then
	fail "the page came through under a policy that denies it"
else
	ok "under the denying policy the fetch is refused ($(tail -1 "$T/fetch2.log"))"
fi
pod healthcheck run "$broker" >/dev/null 2>&1 && ok "still healthy after the reload" ||
	fail "unhealthy after the reload"
pod stop -t 10 "$broker" >/dev/null 2>&1
rc=$(podman inspect --format '{{.State.ExitCode}}' "$broker")
[ "$rc" = 0 ] && ok "podman stop: the broker exits 0 on SIGTERM" || fail "exit code $rc on stop"
pod rm -f -t 0 "$broker" >/dev/null 2>&1

# ---- per-workload sockets, as the DaemonSet runs them: a node directory
# (the hostPath) with one directory per workload; two application
# containers, both root (uid 0, as pods are without user namespaces), each
# mounting its own workload's directory only, are served differently.
node=$T/node
mkdir -p "$node/probe" "$node/workloads/web" "$node/workloads/batch" "$T/dsconf"
chown -R 10001:10001 "$node"   # what the DaemonSet's init container does
cat >"$T/dsconf/sockbrokerd.yaml" <<Y
listen:
  - unix: /run/sockbroker/probe/sockbroker.sock
    identity: probe
  - unix: /run/sockbroker/workloads/web/sockbroker.sock
    mode: 0666
    identity: web
  - unix: /run/sockbroker/workloads/batch/sockbroker.sock
    mode: 0666
    identity: batch
policy:
  - name: web
    match: { listener: web }
    action: allow
    ops: [socket, connect]
    destinations: [127.0.0.1/32]
    ports: [$port]
  - name: batch
    match: { listener: batch }
    action: allow
    ops: [resolve]
  - name: probe
    match: { listener: probe }
    action: allow
    ops: [resolve]
Y
chmod -R a+rX "$T/dsconf"
if ! run -d --name "$broker" --network host --cap-drop all \
	--security-opt no-new-privileges --read-only \
	-e SOCKBROKER_ADDR=unix:/run/sockbroker/probe/sockbroker.sock \
	-v "$node:/run/sockbroker" -v "$T/dsconf:/etc/sockbroker:ro" "$img" >/dev/null 2>"$T/run2.log"; then
	fail "podman run (the per-node broker)"; cat "$T/run2.log"; finish
fi
wait_for 75 pod healthcheck run "$broker" >/dev/null &&
	ok "per-node broker: healthy through the probes' socket" || fail "per-node broker: unhealthy"
wfetch() { # wfetch WORKLOAD LOG: GET /page as root through that workload's socket
	run --rm -i --network none --no-healthcheck --user 0:0 \
		-v "$node/workloads/$1:/run/sockbroker" --entrypoint /usr/local/bin/sbctl "$img" \
		connect -q 5 127.0.0.1 "$port" >"$2" 2>&1 <<R
GET /page HTTP/1.0
Host: 127.0.0.1

R
}
if wfetch web "$T/web.log" && grep -q "hello from the host $id" "$T/web.log"; then
	ok "root in workload web: fetched the page through its socket"
else
	fail "root in workload web:"; cat "$T/web.log"
fi
if wfetch batch "$T/batch.log"; then
	fail "root in workload batch fetched the page"
elif grep -q 'EACCES' "$T/batch.log"; then
	ok "root in workload batch: refused ($(tail -1 "$T/batch.log"))"
else
	fail "root in workload batch, not a policy refusal:"; cat "$T/batch.log"
fi
pod stop -t 10 "$broker" >/dev/null 2>&1
finish
