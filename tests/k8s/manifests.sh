#!/bin/sh
# SPDX-License-Identifier: MIT
# manifests.sh - every manifest of deploy/kubernetes checked offline: each
# document against Kubernetes' schemas for its apiVersion and kind
# (validate.mjs, kubernetes-models), and each ConfigMap's sockbrokerd.yaml
# by sockbrokerd --check-config. A manifest made wrong on purpose must be
# refused, so that a check that passes everything is caught.
#   manifests.sh BUILD_DIR SOURCE_DIR SOCKBROKERD
set -u
build=$1 src=$2 B=$3
T=$(mktemp -d /tmp/sb-manifests-XXXXXX)
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
finish() {
	rm -rf "$T"
	echo "$((fails == 0 ? 1 : 0)) passed, $fails failed"
	[ "$fails" -eq 0 ]
	exit $?
}
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

# ---- the check refuses what is wrong
mkdir -p "$T/bad"
sed 's/periodSeconds: 10/periodSeconds: "ten"/' "$src/deploy/kubernetes/sidecar.yaml" >"$T/bad/type.yaml"
printf 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: x }\nspec:\n  template: {}\n' \
	>"$T/bad/required.yaml"
printf 'apiVersion: v1\nkind: Pood\nmetadata: { name: x }\n' >"$T/bad/kind.yaml"
for b in type required kind; do
	if node "$v" "$T/bad" "$T/bad/$b.yaml" >"$T/bad.out" 2>&1; then
		fail "a manifest with a wrong $b passed:"; cat "$T/bad.out"
	else
		ok "a wrong $b is refused: $(grep FAIL "$T/bad.out" | head -1)"
	fi
done
finish
