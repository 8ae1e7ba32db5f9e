#!/bin/sh
# SPDX-License-Identifier: MIT
# static_analysis.sh - cppcheck over our own C code (lib/, server/,
# client/): warnings and portability issues fail the test; a finding that
# is wrong is silenced in the code with `// cppcheck-suppress id`.
#   tests/static_analysis.sh SOURCE_DIR
# Exit: 0 clean, 1 findings, 77 (skipped) when cppcheck is not installed.
set -u
top=${1:?usage: static_analysis.sh SOURCE_DIR}
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "cppcheck is not installed: skipped"
	exit 77
fi
dirs=
for d in lib server client; do
	[ -d "$top/$d" ] && dirs="$dirs $top/$d"
done
# shellcheck disable=SC2086 # $dirs is a list of paths without spaces
exec cppcheck --error-exitcode=1 --enable=warning,portability --inline-suppr -q \
	--std=c11 --language=c -D_GNU_SOURCE -D__linux__ \
	-I"$top/lib" -I"$top/client/include" -I"$top/server" \
	--suppress=missingIncludeSystem -j2 $dirs
