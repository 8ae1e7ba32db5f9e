#!/bin/sh
# SPDX-License-Identifier: MIT
# build-image.sh - the sockbrokerd container image, built offline: a Debian
# bookworm base made with mmdebstrap (minbase plus the runtime libraries),
# imported with podman, and deploy/Containerfile built on it with the
# binaries of a build tree of this source.
#   deploy/build-image.sh [-B BUILD_DIR] [-c CACHE_DIR] [-t TAG]
# BUILD_DIR (default build/) is built first if needed; CACHE_DIR (default
# BUILD_DIR/image-cache) keeps the base tarball between runs, named by a
# hash of what goes into it, so a second build skips mmdebstrap. Prints the
# image's tag, size and the build's time on the last lines.
#
# Why the binaries come from the host's build tree and not from a builder
# stage: the host is Debian bookworm like the base, so its binaries run
# there unchanged, and a builder stage would install the whole build
# toolchain (≈700 MB) and compile gRPC-linked code again inside a
# container on every build — minutes on this 2-core machine. The runtime
# libraries come from mmdebstrap's --include, so the podman build itself
# needs no network and runs no package manager.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build cache="" tag=localhost/sockbroker:latest
while getopts B:c:t: o; do
	case $o in
	B) build=$(cd "$OPTARG" 2>/dev/null && pwd || echo "$OPTARG") ;;
	c) cache=$OPTARG ;;
	t) tag=$OPTARG ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-c CACHE_DIR] [-t TAG]" >&2; exit 2 ;;
	esac
done
cache=${cache:-$build/image-cache}
for t in podman mmdebstrap; do
	command -v "$t" >/dev/null 2>&1 || { echo "$0: $t is missing (deploy/debian-packages.txt has it)" >&2; exit 1; }
done
start=$(date +%s)

# What sockbrokerd and sbctl load at run time (ldd of both), nothing else;
# inotify-tools for the reload-on-change entrypoint.
runtime="libgrpc29,libprotobuf-c1,libyaml-0-2,libmnl0,libsystemd0,libmicrohttpd12,inotify-tools"
uid=10001
# The non-root user and the socket directory it owns are made here rather
# than in the Containerfile so that the podman build runs no command;
# apt's lists and caches are not needed to run.
# usrmerge (and perl with it, 47 MB, a third of the image) is what
# mmdebstrap installs to merge /usr; once merged, usr-is-merged stands in
# for it, and nothing at run time needs perl (perl-base stays: Essential).
hooks="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq usr-is-merged >/dev/null &&
 chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq usrmerge perl perl-modules-5.36 libperl5.36 >/dev/null &&
 chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get autoremove -y -qq --purge >/dev/null &&
 echo 'sockbroker:x:$uid:$uid:sockbroker:/nonexistent:/usr/sbin/nologin' >>\"\$1/etc/passwd\" &&
 echo 'sockbroker:x:$uid:' >>\"\$1/etc/group\" &&
 mkdir -p \"\$1/run/sockbroker\" && chown $uid:$uid \"\$1/run/sockbroker\" && chmod 0755 \"\$1/run/sockbroker\" &&
 rm -rf \"\$1\"/var/lib/apt/lists/* \"\$1\"/var/cache/apt/* \"\$1\"/var/log/*"
key=$(printf '%s\n%s\n' "$runtime" "$hooks" | sha256sum | cut -c1-12)
base_tar=$cache/base-bookworm-$key.tar
base_tag=localhost/sockbroker-base:$key
mkdir -p "$cache"
if [ ! -s "$base_tar" ]; then
	echo "== mmdebstrap --variant=minbase bookworm (+ $runtime)"
	rm -f "$base_tar.tmp"
	# Documentation (but its copyright files), man pages and locales are
	# not needed to run either.
	mmdebstrap --quiet --format=tar --variant=minbase --include="$runtime" \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--customize-hook="$hooks" \
		bookworm "$base_tar.tmp"
	mv "$base_tar.tmp" "$base_tar"
	# Bases made from an earlier recipe are of no further use.
	for f in "$cache"/base-bookworm-*.tar; do
		[ "$f" = "$base_tar" ] || rm -f "$f"
	done
fi
if ! podman image exists "$base_tag"; then
	echo "== podman import $base_tar"
	podman import --quiet "$base_tar" "$base_tag" >/dev/null
fi

echo "== binaries from $build"
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$top" -B "$build" >/dev/null
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target sockbrokerd sbctl sockbroker
ctx=$(mktemp -d /tmp/sb-image-XXXXXX)
trap 'rm -rf "$ctx"' EXIT
stage=$ctx/stage
cmake --install "$build" --prefix "$stage/usr/local" --strip >/dev/null
# Headers, pkg-config and CMake files, man pages: for building, not running.
rm -rf "$stage/usr/local/include" "$stage/usr/local/lib/pkgconfig" \
	"$stage/usr/local/lib/cmake" "$stage/usr/local/share"
install -D -m 0644 "$top/deploy/container/sockbrokerd.yaml" "$stage/etc/sockbroker/sockbrokerd.yaml"
install -D -m 0755 "$top/deploy/container/entrypoint.sh" "$stage/usr/local/bin/sockbroker-entrypoint"
cp "$top/deploy/Containerfile" "$ctx/Containerfile"

echo "== podman build $tag"
# --format docker: the OCI image format has no HEALTHCHECK, podman would
# drop it. runc: crun cannot run on this host's hybrid cgroups.
old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
podman --runtime runc build --quiet --format docker --pull=never \
	--build-arg BASE="$base_tag" -t "$tag" "$ctx" >/dev/null
# The previous build of the tag lost its name: remove it (only it).
new=$(podman image inspect --format '{{.Id}}' "$tag")
[ -n "$old" ] && [ "$old" != "$new" ] && podman rmi "$old" >/dev/null 2>&1 || true
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image $tag"
echo "base $base_tag"
echo "size $size bytes ($((size / 1048576)) MiB)"
echo "built in $(( $(date +%s) - start )) s"
