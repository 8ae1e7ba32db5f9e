#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh - the manifest check's npm packages (tests/k8s/package.json,
# versions pinned by package-lock.json) into BUILD_DIR/k8s-validate, from
# npm's registry with `npm ci`; nothing is done when that tree is already
# installed from the same lock file. Debian's npm is installed first if
# there is none (Debian packages it apart from nodejs).
#   tests/k8s/install.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1/k8s-validate
if ! command -v npm >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi
mkdir -p "$dir"
cp "$here/validate.mjs" "$dir/"
if [ -d "$dir/node_modules" ] && cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then
	exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dir/"
# --ignore-scripts: nothing of these packages runs at install time.
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
