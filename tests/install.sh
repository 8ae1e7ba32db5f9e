#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh - libsockbroker as a program outside the tree uses it: install
# the build into a temporary prefix, build the README's C example there
# with `pkg-config --cflags --libs sockbroker` and with the CMake package
# (find_package(sockbroker)), build it in the tree with the README's line,
# and run each against the installed sockbrokerd, in a network namespace
# of its own with a web server on 127.0.0.1:80 (the example's target).
#   install.sh BUILD_DIR SOURCE_DIR
# Exit 77 (skip) when no network namespace can be made here.
set -u
build=$1 src=$2
if [ -z "${SB_IN_NETNS:-}" ]; then
	if ! unshare -n true 2>/dev/null; then
		echo "skip: cannot make a network namespace (unshare -n)"
		exit 77
	fi
	SB_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/check.sh"
ip link set lo up || { fail "lo up"; finish; }

# ---- install
if cmake --install "$build" --prefix "$T/prefix" >"$T/install.log" 2>&1; then
	ok "cmake --install into $T/prefix"
else
	fail "cmake --install"; cat "$T/install.log"; finish
fi
for f in include/sockbroker.h lib/libsockbroker.so lib/libsockbroker.so.0 \
	 lib/pkgconfig/sockbroker.pc lib/cmake/sockbroker/sockbrokerConfig.cmake \
	 sbin/sockbrokerd bin/sbctl share/man/man8/sockbrokerd.8 share/man/man1/sbctl.1; do
	[ -e "$T/prefix/$f" ] || fail "installed tree lacks $f"
done

# ---- the README's example, as it is written there
awk '/^## A C program with libsockbroker/ { sec = 1 }
     sec && /^```c$/ { code = 1; next }
     code && /^```$/ { exit }
     code { print }' "$src/README.md" >"$T/demo.c"
grep -q "sb_open" "$T/demo.c" || { fail "no C example found in README.md"; finish; }

export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs sockbroker) || { fail "pkg-config sockbroker"; finish; }
if cc -Wall -Werror "$T/demo.c" $flags -o "$T/demo-pc" 2>"$T/cc.log"; then
	ok "cc demo.c \$(pkg-config --cflags --libs sockbroker): $flags"
else
	fail "build with pkg-config"; cat "$T/cc.log"
fi

mkdir -p "$T/pkg"
cat >"$T/pkg/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(demo C)
find_package(sockbroker 0.1 CONFIG REQUIRED)
add_executable(demo-cmake demo.c)
target_link_libraries(demo-cmake PRIVATE sockbroker::sockbroker)
CM
cp "$T/demo.c" "$T/pkg/"
if cmake -S "$T/pkg" -B "$T/pkg/build" -DCMAKE_PREFIX_PATH="$T/prefix" >"$T/cm.log" 2>&1 &&
   cmake --build "$T/pkg/build" >>"$T/cm.log" 2>&1; then
	ok "find_package(sockbroker) and target sockbroker::sockbroker"
else
	fail "build with the CMake package"; tail -20 "$T/cm.log"
fi

# The README's line for building in the tree, run as written from a
# directory that looks like the top of the tree.
line=$(grep -m1 '^cc demo.c -Iclient/include' "$src/README.md")
mkdir -p "$T/tree"
ln -s "$src/client" "$T/tree/client"
ln -s "$(cd "$build" && pwd)" "$T/tree/build"
cp "$T/demo.c" "$T/tree/demo.c"
if [ -n "$line" ] && (cd "$T/tree" && sh -c "$line" 2>"$T/tree.log"); then
	mv "$T/tree/demo" "$T/demo-tree"
	ok "in the tree: $line"
else
	fail "the README's build line for the tree: '$line'"; cat "$T/tree.log" 2>/dev/null
fi

# ---- run them: a web server on 127.0.0.1:80 and the installed broker
mkdir -p "$T/www" && echo "hello from the namespace" >"$T/www/index.html"
/usr/bin/python3 -m http.server 80 --bind 127.0.0.1 --directory "$T/www" \
	>"$T/http.log" 2>&1 &
pids="$pids $!"
"$T/prefix/sbin/sockbrokerd" --listen "unix:$T/b.sock" >"$T/broker.log" 2>&1 &
pids="$pids $!"
i=0
up() {
	/usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", 80), 1)' \
		2>/dev/null
}
while [ $i -lt 100 ] && { [ ! -S "$T/b.sock" ] || ! up; }; do
	sleep 0.05; i=$((i + 1))
done
[ -S "$T/b.sock" ] || { fail "the installed broker did not start"; cat "$T/broker.log"; finish; }
export SOCKBROKER_ADDR="unix:$T/b.sock"
for d in demo-pc pkg/build/demo-cmake demo-tree; do
	[ -x "$T/$d" ] || continue
	out=$(LD_LIBRARY_PATH="$T/prefix/lib" timeout 20 "$T/$d" 2>&1)
	if printf '%s' "$out" | grep -q "hello from the namespace" &&
	   printf '%s' "$out" | grep -q "^HTTP/1.0 200"; then
		ok "$d fetched http://127.0.0.1/ through the broker"
	else
		fail "$d: $out"
	fi
done
# Without the library path the in-tree binary must still start (rpath).
if [ -x "$T/demo-tree" ]; then
	out=$(timeout 20 "$T/demo-tree" 2>&1)
	printf '%s' "$out" | grep -q "hello from the namespace" &&
		ok "the in-tree binary starts without LD_LIBRARY_PATH" ||
		fail "in-tree binary without LD_LIBRARY_PATH: $out"
fi
finish
