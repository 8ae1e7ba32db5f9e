#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# scrape.py - /metrics of a real broker, as a scraper and as hostile HTTP
# clients see it; the counters against the calls this script makes.
#   scrape.py SBCTL URL BROKER_PID
# URL is http://HOST:PORT (the broker's log names it); SOCKBROKER_ADDR
# points sbctl at the same broker. Prints ok/FAIL lines, exits 1 on a
# failure. Every socket has a timeout; every loop is bounded.
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

SBCTL, URL, PID = sys.argv[1], sys.argv[2], int(sys.argv[3])
HOST, PORT = URL.rsplit("/", 1)[-1].rsplit(":", 1)
PORT = int(PORT)
CONNS, REQ_BYTES, IDLE_S = 16, 8192, 5  # metrics.h
fails = 0


def ok(msg):
    print("ok   " + msg)


def fail(msg):
    global fails
    fails += 1
    print("FAIL " + msg)


def check(cond, msg):
    (ok if cond else fail)(msg)


def scrape():
    with urllib.request.urlopen(URL + "/metrics", timeout=10) as r:
        text = r.read().decode()
        return r.status, r.headers.get("Content-Type"), text


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(fams, fam, name, **labels):
    for s in fams[fam].samples if fam in fams else []:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


def sbctl(*args, ok_rc=(0,)):
    p = subprocess.run([SBCTL, *args], capture_output=True, timeout=30, text=True)
    if p.returncode not in ok_rc:
        fail("sbctl %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p.stdout


def broker_fds():
    return len(os.listdir("/proc/%d/fd" % PID))


def raw(data, timeout=10):
    """Send @data on a fresh connection; the whole answer until close."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while len(out) < 1 << 20:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def status_of(resp):
    line = resp.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else None


HG = "/sockbroker.v1.SocketBroker/GetHostName"
HIST = "sockbroker_call_duration_seconds"

# ---- the page: status, type, the text format as the client library reads it
st, ctype, text = scrape()
check(st == 200 and ctype.startswith("text/plain; version=0.0.4"),
      "GET /metrics: 200, %s" % ctype)
f0 = families(text)
want = {"sockbroker_uptime_seconds": "gauge", "sockbroker_calls": "counter",
        "sockbroker_identity_calls": "counter", HIST: "histogram",
        "sockbroker_method_calls_failed": "counter",
        "sockbroker_rule_decisions": "counter",
        "sockbroker_resident_memory_bytes": "gauge", "sockbroker_heap_bytes": "gauge",
        "sockbroker_held_bytes": "gauge", "sockbroker_identity_held_bytes": "gauge"}
bad = [(n, t, f0[n].type if n in f0 else None) for n, t in want.items()
       if n not in f0 or f0[n].type != t]
check(not bad, "parsed by prometheus_client, families and types %s" % (bad or ""))

# ---- the same families as sbctl stats --prometheus (one writer, promtext.c)
fs = families(sbctl("stats", "--prometheus"))
check(set(fs) == set(f0), "sbctl stats --prometheus has the families of /metrics (%d)"
      % len(f0))

# ---- memory figures: the broker's own
rss = sample(f0, "sockbroker_resident_memory_bytes", "sockbroker_resident_memory_bytes")
with open("/proc/%d/statm" % PID) as fh:
    statm = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
check(statm / 2 < rss < statm * 2, "resident_memory_bytes %d near /proc statm %d" % (rss, statm))
heap = sample(f0, "sockbroker_heap_bytes", "sockbroker_heap_bytes")
check(0 < heap < rss * 4, "heap_bytes %d" % heap)

# ---- the histogram counts the calls made: N hostname calls, N more
N = 7
c0 = sample(f0, HIST, HIST + "_count", method=HG)
for _ in range(N):
    sbctl("hostname")
_, _, text = scrape()
f1 = families(text)
c1 = sample(f1, HIST, HIST + "_count", method=HG)
check(c1 - c0 == N, "GetHostName histogram count moved by %d for %d calls" % (c1 - c0, N))
buckets = sorted(((float(s.labels["le"]), s.value) for s in f1[HIST].samples
                  if s.name == HIST + "_bucket" and s.labels["method"] == HG))
mono = all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
check(mono and buckets[-1][0] == float("inf") and buckets[-1][1] == c1,
      "buckets cumulative, +Inf = count (%d buckets)" % len(buckets))
s1 = sample(f1, HIST, HIST + "_sum", method=HG)
check(0 < s1 < c1 * 1.0, "GetHostName sum %.6f s for %d calls" % (s1, c1))
# GetStats' JSON says the same as the page (no call of GetHostName between).
js = json.loads(sbctl("--json", "stats"))
m = [x for x in js["methods"] if x["method"] == HG]
check(m and m[0]["calls"] == c1 and sum(m[0]["buckets"]) == c1 and
      len(m[0]["buckets"]) == len(js["latency_bounds_us"]) + 1,
      "sbctl --json stats: GetHostName calls %s, buckets sum to them"
      % (m[0]["calls"] if m else None))

# ---- rule counters: allowed by "resolve-ok", denied by "no-ifaddrs"
def rule(fams, name, dec):
    return sample(fams, "sockbroker_rule_decisions", "sockbroker_rule_decisions_total",
                  rule=name, decision=dec)


a0, d0 = rule(f1, "resolve-ok", "allow"), rule(f1, "no-ifaddrs", "deny")
id0 = sample(f1, "sockbroker_identity_denied", "sockbroker_identity_denied_total",
             identity="uid:0")
for _ in range(3):
    sbctl("resolve", "localhost", "80")
for _ in range(2):
    sbctl("ifaddrs", ok_rc=(0, 1, 2, 3, 4, 5, 6, 7, 8, 69, 75, 77, 78))
_, _, text = scrape()
f2 = families(text)
a1, d1 = rule(f2, "resolve-ok", "allow"), rule(f2, "no-ifaddrs", "deny")
id1 = sample(f2, "sockbroker_identity_denied", "sockbroker_identity_denied_total",
             identity="uid:0")
check(a1 - a0 == 3, "rule resolve-ok allowed %d more for 3 resolves" % (a1 - a0))
check(d1 - d0 == 2, "rule no-ifaddrs denied %d more for 2 ifaddrs" % (d1 - d0))
check(id1 - id0 == 2, "identity uid:0 denied %d more" % (id1 - id0))
check(rule(f2, "resolve-ok", "deny") == 0 and rule(f2, "no-ifaddrs", "allow") == 0,
      "no decision counted on the other side")
failed = sample(f2, "sockbroker_method_calls_failed", "sockbroker_method_calls_failed_total",
                method="/sockbroker.v1.SocketBroker/GetIfAddrs")
check(failed >= 2, "GetIfAddrs failed calls counted (%d)" % failed)

# ---- only GET and HEAD of /metrics
for path, want_st in (("/", 404), ("/metricsx", 404), ("/metrics/", 404), ("/x/../metrics", 404)):
    r = raw(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
    check(status_of(r) == want_st, "GET %s: %s" % (path, status_of(r)))
for meth in (b"POST", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"):
    r = raw(meth + b" /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    check(status_of(r) == 405 and b"\r\nAllow: GET, HEAD\r\n" in r,
          "%s /metrics: %s with Allow" % (meth.decode(), status_of(r)))
r = raw(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
check(status_of(r) == 200 and r.endswith(b"\r\n\r\n"), "HEAD /metrics: 200, no body")
r = raw(b"GET /metrics HTTP/1.0\r\n\r\n")
check(status_of(r) == 200 and b"sockbroker_calls_total" in r, "HTTP/1.0 GET: 200")
r = raw(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
check(status_of(r) in (None, 400), "garbage (a TLS hello): %s, no page" % status_of(r))

# ---- huge headers and request lines: refused, not buffered
r = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (256 * 1024) + b"\r\n\r\n")
check(status_of(r) in (None, 413, 431, 400) and b"sockbroker_" not in r,
      "a 256 KiB header: %s" % status_of(r))
r = raw(b"GET /metrics?" + b"q" * (64 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
check(status_of(r) in (None, 414, 431, 400) and b"sockbroker_" not in r,
      "a 64 KiB request line: %s" % status_of(r))
r = raw(b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(2000)) +
        b"\r\n")
check(status_of(r) in (None, 413, 431, 400), "2000 headers: %s" % status_of(r))

# ---- many connections: at most CONNS held, the broker's fds bounded.
# Past the cap the listener stops accepting: the kernel's backlog takes
# some more, then connects time out.
fds0 = broker_fds()
socks = []
for _ in range(200):
    try:
        socks.append(socket.create_connection((HOST, PORT), timeout=1))
    except OSError:
        break
time.sleep(0.5)
held = broker_fds() - fds0
check(len(socks) > CONNS * 2 and held <= CONNS + 2,
      "%d connections opened, the broker holds %d more fds (cap %d)" % (len(socks), held, CONNS))
# The broker's own service goes on meanwhile.
t = time.monotonic()
out = sbctl("hostname")
check(out.strip() and time.monotonic() - t < 5, "a call during the flood: %.2f s"
      % (time.monotonic() - t))
for s in socks:
    s.close()

# ---- slowloris: CONNS clients trickling a header; the broker serves on,
# each is closed IDLE_S after its last byte, then scrapes work again.
slow = []
for _ in range(CONNS):
    s = socket.create_connection((HOST, PORT), timeout=IDLE_S + 10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
for i in range(3):  # a byte each every second, for 3 s
    time.sleep(1)
    for s in slow:
        try:
            s.sendall(b"X")
        except OSError:
            pass
t = time.monotonic()
out = sbctl("hostname")
check(out.strip() and time.monotonic() - t < 5, "a call during the slowloris: %.2f s"
      % (time.monotonic() - t))
# Now they go quiet: the idle timeout closes every one.
def wait_eof(s, deadline):
    """1 when the peer closed @s before @deadline (monotonic), else 0."""
    for _ in range(1000):
        left = deadline - time.monotonic()
        if left <= 0:
            return 0
        s.settimeout(left)
        try:
            if s.recv(4096) == b"":
                return 1
        except (socket.timeout, TimeoutError):
            return 0
        except OSError:
            return 1
    return 0


t1 = time.monotonic()
closed = sum(wait_eof(s, t1 + IDLE_S + 5) for s in slow)
waited = time.monotonic() - t1
check(closed == CONNS and waited < IDLE_S + 5,
      "quiet slow clients closed by the idle timeout: %d of %d in %.1f s" % (closed, CONNS, waited))
for s in slow:
    s.close()
# A connection that never sends a byte is closed too.
s = socket.create_connection((HOST, PORT), timeout=IDLE_S + 5)
t = time.monotonic()
eof = wait_eof(s, t + IDLE_S + 4)
check(eof and time.monotonic() - t < IDLE_S + 4, "a silent connection closed after %.1f s"
      % (time.monotonic() - t))
s.close()
time.sleep(0.3)
st, _, text = scrape()
check(st == 200 and "sockbroker_calls_total" in text, "scrapes work after the attacks")
check(broker_fds() <= fds0 + 2, "the broker's fds back to %d (were %d)" % (broker_fds(), fds0))
sys.exit(1 if fails else 0)
