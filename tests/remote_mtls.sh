#!/bin/sh
# SPDX-License-Identifier: MIT
# remote_mtls.sh - the README's "Remote inspection over mutual TLS", run as
# it is written there: its three sh blocks, in order, in a temporary
# directory, with the built sockbrokerd and sbctl first on PATH; only the
# port 7443 becomes a free one. Checks what the README says of each
# command: the certificates and --check-config; health SERVING; the
# interfaces (lo with 127.0.0.1); resolve; stats naming the certificate's
# identity and no rules; connect refused by the policy; no client
# certificate refused.
#   remote_mtls.sh SOCKBROKERD SBCTL SOURCE_DIR
set -u
B=$(readlink -f "$1") SBCTL=$(readlink -f "$2") SRC=$(readlink -f "$3")
command -v openssl >/dev/null 2>&1 || { echo "skip: no openssl"; exit 77; }
. "$(dirname "$0")/check.sh"
# shellcheck disable=SC2034 # read by finish (check.sh)
SHOW_LOGS="$T/*.log $T/*.out"

# block N: the N-th sh block of the section.
block() {
	awk -v want="$1" '/^### Remote inspection over mutual TLS/ { sec = 1; next }
	     sec && /^##/ { exit }
	     sec && /^```sh$/ { n++; code = (n == want); next }
	     code && /^```$/ { code = 0; next }
	     code { print }' "$SRC/README.md"
}
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for i in 1 2 3; do
	block $i | sed "s/7443/$PORT/g" >"$T/block$i.sh"
	[ -s "$T/block$i.sh" ] || { fail "README block $i of the section is missing"; finish; }
done
mkdir -p "$T/bin"
ln -s "$B" "$T/bin/sockbrokerd"
ln -s "$SBCTL" "$T/bin/sbctl"
PATH=$T/bin:$PATH
export PATH
cd "$T" || exit 1

# ---- 1: certificates, configuration, --check-config
sh -e block1.sh >block1.out 2>&1
check_rc=$?
if [ $check_rc -eq 0 ] && grep -q "^listen tcp 127.0.0.1:$PORT (mutual TLS)" block1.out &&
   grep -q 'allow "inspect":  *subject "CN=alice,O=ops"; resolve,ifaddrs' block1.out; then
	ok "block 1: certificates made, --check-config reads the file"
else
	fail "block 1 (exit $check_rc)"; cat block1.out; finish
fi
check_cert() {
	if openssl verify -CAfile pki/ca.pem "pki/$1.pem" >/dev/null 2>&1; then ok "$1.pem verifies"
	else fail "$1.pem verifies"; fi
}
check_cert broker
check_cert alice

# ---- 2: the broker, as written, in the background
line=$(grep -v '^#' block2.sh | grep .)
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || { fail "block 2 is one command: $line"; finish; }
sh -c "exec $line" >broker.log 2>&1 &
bpid=$!
pids=$bpid
if WAIT_STEP=0.1 wait_for 100 grep -q "listening on tcp 127.0.0.1:$PORT (mutual TLS)" broker.log; then
	ok "block 2: the broker listens on tcp 127.0.0.1:$PORT with mutual TLS"
else
	fail "block 2: the broker did not start"; finish
fi

# ---- 3: each command on its own, its output and status kept
n=0
while IFS= read -r cmd; do
	case $cmd in '' | '#'*) continue ;; esac
	n=$((n + 1))
	# The export line applies to the commands after it, as in a shell.
	case $cmd in
	export\ *) eval "$cmd"; continue ;;
	esac
	timeout 30 sh -c "$cmd" >"c$n.out" 2>&1
	echo $? >"c$n.rc"
	printf '%s\n' "$cmd" >"c$n.cmd"
done <block3.sh

# cmd_with WORD: the number of the command that has WORD.
cmd_with() {
	_k=1
	while [ $_k -le $n ]; do
		[ -f "c$_k.cmd" ] && grep -q -- "$1" "c$_k.cmd" && { echo $_k; return; }
		_k=$((_k + 1))
	done
}
rc() { cat "c$1.rc"; }
check_out() { # DESCRIPTION N WANT_RC PATTERN
	if [ -n "$2" ] && [ "$(rc "$2")" = "$3" ] && grep -Eq -- "$4" "c$2.out"; then ok "$1"
	else fail "$1 (exit $(rc "$2" 2>/dev/null), output: $(head -c 300 "c$2.out" 2>/dev/null))"; fi
}
check_out "health: SERVING" "$(cmd_with ' health ')" 0 '^SERVING$'
check_out "ifaddrs: lo with 127.0.0.1" "$(cmd_with ' ifaddrs ')" 0 '^lo .*127\.0\.0\.1/8'
check_out "resolve localhost 80: 127.0.0.1" "$(cmd_with ' resolve ')" 0 '^127\.0\.0\.1 +80 +STREAM'
check_out "stats: the certificate's identity" "$(cmd_with ' stats ')" 0 \
	'^identity cert:CN=alice,O=ops: .*calls=[1-9]'
i=$(cmd_with ' stats ')
if [ -n "$i" ] && ! grep -q '^rule ' "c$i.out" && [ "$(grep -c '^identity ' "c$i.out")" -eq 1 ]
then ok "stats over TCP: its own identity alone, no rule counters"
else fail "stats over TCP shows more than its own record"; fi
check_out "connect: refused by the policy" "$(cmd_with ' connect ')" 1 'EACCES.*refused by policy.*default'
check_out "no client certificate: refused" "$(cmd_with 'env -u SOCKBROKER_TLS_CERT')" 1 'UNAVAILABLE'
if kill -0 "$bpid" 2>/dev/null; then ok "the broker still runs"; else fail "the broker still runs"; fi
cd / || exit 1
finish
