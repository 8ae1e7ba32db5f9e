# SPDX-License-Identifier: MIT
# checks.py - the tally of the interop clients: check() prints a line per
# condition ("ok:" or "FAIL:"), finish() prints the counts and exits with
# 1 when any failed.
import sys

passed = 0
fails = 0


def check(cond, what):
    global passed, fails
    if cond:
        passed += 1
        print("ok:", what)
    else:
        fails += 1
        print("FAIL:", what)


def finish():
    print("%d passed, %d failed" % (passed, fails))
    sys.exit(1 if fails else 0)
