# SPDX-License-Identifier: MIT
# sandbox_client.py - the client loop of tests/bench/sandbox.sh, run
# directly, in sockbroker-run and in pasta: N connections one after the
# other to HOST:PORT (a server that writes one byte and closes); prints
# "conns_per_s first_byte_us_p50".
#   python3 sandbox_client.py HOST PORT N
import socket
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat = []
t0 = time.perf_counter()
for _ in range(n):
    a = time.perf_counter()
    s = socket.create_connection((host, port))
    if not s.recv(1):
        sys.exit("no byte")
    lat.append(time.perf_counter() - a)
    s.close()
el = time.perf_counter() - t0
lat.sort()
print("%.0f %.0f" % (n / el, lat[len(lat) // 2] * 1e6))
