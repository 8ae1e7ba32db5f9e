#!/bin/sh
# SPDX-License-Identifier: MIT
# manifests.sh - every manifest of deploy/kubernetes checked offline: each
# document against Kubernetes' schemas for its apiVersion and kind
# (validate.mjs, kubernetes-models; a field its type does not have is an
# error), and each ConfigMap's sockbrokerd.yaml
# by sockbrokerd --check-config. A manifest made wrong on purpose must be
# refused, so that a check that passes everything is caught. Then the
# DaemonSet's configuration runs in a real broker (its /run/sockbroker
# moved to a temporary directory): each workload's socket is served what
# its identity's rules say, the probes' socket answers the health check.
#   manifests.sh BUILD_DIR SOURCE_DIR SOCKBROKERD SBCTL
set -u
build=$1 src=$2 B=$3 SBCTL=$4
. "$(dirname "$0")/../check.sh"
# shellcheck disable=SC2034 # read by finish (check.sh)
SHOW_LOGS="$T/broker.log"
# tests/run-all.sh installs the packages; a plain ctest run does it here.
if ! timeout 240 "$src/tests/k8s/install.sh" "$build" >"$T/npm.log" 2>&1; then
	fail "tests/k8s/install.sh (npm ci)"; cat "$T/npm.log"; finish
fi
v=$build/k8s-validate/validate.mjs
set -- "$src"/deploy/kubernetes/*.yaml
[ "$#" -ge 2 ] || fail "fewer than two manifests in deploy/kubernetes"
if timeout 60 node "$v" "$T" "$@" >"$T/out" 2>&1; then
	ok "schemas: $(grep -c '^ok' "$T/out") documents valid"
else
	fail "schemas:"
fi
cat "$T/out"
for f in "$src"/deploy/kubernetes/*.yaml; do
	grep -q "^kind: ConfigMap" "$f" || continue
	n=$(basename "$f")
	ls "$T/$n".*.sockbrokerd.yaml >/dev/null 2>&1 || fail "$n: no sockbrokerd.yaml in its ConfigMap"
done
for c in "$T"/*.sockbrokerd.yaml; do
	[ -f "$c" ] || continue
	if "$B" --check-config "$c" >"$T/check.out" 2>&1; then
		ok "sockbrokerd --check-config $(basename "$c"): $(grep -c '^  [0-9]*\. ' "$T/check.out") rules"
	else
		fail "sockbrokerd --check-config $(basename "$c"):"; cat "$T/check.out"
	fi
done

# ---- the DaemonSet's configuration, run
ds=$T/daemonset.yaml.sockbrokerd.sockbrokerd.yaml
if [ -f "$ds" ]; then
	sed "s|/run/sockbroker/|$T/run/|g" "$ds" >"$T/ds.yaml"
	mkdir -p "$T/run/probe" "$T/run/workloads/fetcher" "$T/run/workloads/batch"
	"$B" --config "$T/ds.yaml" >"$T/broker.log" 2>&1 &
	pids="$pids $!"
	n=50
	while [ "$n" -gt 0 ] && [ ! -S "$T/run/workloads/batch/sockbroker.sock" ]; do
		sleep 0.1; n=$((n - 1))
	done
	via() { _w=$1; shift; timeout 20 "$SBCTL" --broker "unix:$T/run/$_w/sockbroker.sock" "$@" 2>&1; }
	# expect WHAT WANT_RC PATTERN SOCKET SBCTL_ARGS...
	expect() {
		_what=$1 _rc=$2 _re=$3; shift 3
		_out=$(via "$@" </dev/null); _got=$?
		if [ "$_got" -eq "$_rc" ] && echo "$_out" | grep -Eq -- "$_re"; then
			ok "daemonset: $_what ($(echo "$_out" | tail -1))"
		else
			fail "daemonset: $_what: exit $_got, want $_rc, output: $_out"
		fi
	}
	expect "the probes' socket: SERVING" 0 "^SERVING$" probe health
	expect "fetcher: names" 0 "." workloads/fetcher hostname
	expect "fetcher: metadata service refused" 1 'EACCES.*no-metadata' \
		workloads/fetcher connect 169.254.169.254 443
	expect "fetcher: a port other than 443 refused" 1 'EACCES.*"default' \
		workloads/fetcher connect 127.0.0.1 9
	expect "batch: names" 0 "." workloads/batch hostname
	expect "batch: no connect" 1 'EACCES.*"default' workloads/batch connect 127.0.0.1 443
	expect "GetStats counts each workload apart" 0 "^identity listener:fetcher/uid:$(id -u):" \
		workloads/fetcher stats
	# A pod's root is no host root: a workload sees its own record only.
	_out=$(via workloads/batch stats </dev/null)
	if echo "$_out" | grep -q "^identity listener:batch/uid:$(id -u):" &&
	   ! echo "$_out" | grep -q "listener:fetcher" && ! echo "$_out" | grep -q "^rule "; then
		ok "daemonset: batch's GetStats shows batch alone, no rules"
	else
		fail "daemonset: batch's GetStats shows another workload or the rules: $_out"
	fi
fi

# ---- the check refuses what is wrong
mkdir -p "$T/bad"
sed 's/periodSeconds: 10/periodSeconds: "ten"/' "$src/deploy/kubernetes/sidecar.yaml" >"$T/bad/type.yaml"
printf 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: x }\nspec:\n  template: {}\n' \
	>"$T/bad/required.yaml"
printf 'apiVersion: v1\nkind: Pood\nmetadata: { name: x }\n' >"$T/bad/kind.yaml"
# Misspelt keys, at the top, deep in a pod template, in a list of volumes.
sed 's/^spec:/spek:/' "$src/deploy/kubernetes/sidecar.yaml" >"$T/bad/field-top.yaml"
sed 's/periodSeconds: 10/periodSecond: 10/' "$src/deploy/kubernetes/sidecar.yaml" \
	>"$T/bad/field-probe.yaml"
sed 's/hostPath:/hostPth:/' "$src/deploy/kubernetes/daemonset.yaml" >"$T/bad/field-volume.yaml"
for b in type required kind field-top field-probe field-volume; do
	if node "$v" "$T/bad" "$T/bad/$b.yaml" >"$T/bad.out" 2>&1; then
		fail "a manifest with a wrong $b passed:"; cat "$T/bad.out"
	else
		ok "a wrong $b is refused: $(grep FAIL "$T/bad.out" | head -1)"
	fi
done
finish
