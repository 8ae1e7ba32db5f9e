#!/bin/sh
# SPDX-License-Identifier: MIT
# quickstart.sh - run sockbrokerd on its embedded default configuration:
# installs what is missing, builds once into build/, then runs the broker in
# the foreground (Ctrl-C stops it and removes its socket).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deploy/install-deps.sh
if [ ! -x build/server/sockbrokerd ]; then
	cmake -S . -B build >/dev/null
	cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target sockbrokerd sockbroker
fi
if [ "$(id -u)" -eq 0 ]; then
	sock=/run/sockbroker/sockbroker.sock
else
	sock=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/sockbroker.sock
fi
cat <<MSG
sockbrokerd starts on unix:$sock (mode 0600, serving uid $(id -u) and root).
Talk to it from another shell:
  export SOCKBROKER_ADDR=unix:$sock
  and use libsockbroker (build/client/libsockbroker.so, header
  client/include/sockbroker.h), or any gRPC client of
  proto/sockbroker/v1/sockbroker.proto.
MSG
exec build/server/sockbrokerd "$@"
