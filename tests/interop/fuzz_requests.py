#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# fuzz_requests.py - malformed and random requests to every method of a
# real sockbrokerd: each answer must be a status the contract names (never
# UNKNOWN or INTERNAL, never a dropped connection), and afterwards the
# broker still serves. Run under the ASan build, a crash or a memory error
# fails the test. Bounded: a fixed seed, 4,000 requests, 90 s.
#   fuzz_requests.py GENDIR BROKER_TARGET
import random
import sys
import time

sys.path.insert(0, sys.argv[1])
import grpc                                           # noqa: E402
from sockbroker.v1 import sockbroker_pb2 as pb        # noqa: E402

target = sys.argv[2]
raw = lambda b: b                                     # noqa: E731
chan = grpc.insecure_channel(target)
svc = pb.DESCRIPTOR.services_by_name["SocketBroker"]
PATH = "/sockbroker.v1.SocketBroker/"


def open_session():
    lease = chan.unary_stream(PATH + "OpenSession", request_serializer=raw,
                              response_deserializer=raw)(
        pb.OpenSessionRequest(client_name="fuzz").SerializeToString(), timeout=60)
    return lease, (("sb-session", pb.SessionEvent.FromString(next(lease)).token),)


rnd = random.Random(20261125)


def junk():
    """Random bytes, or well-formed tags with random values and lengths."""
    if rnd.randrange(3) == 0:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(80)))
    out = bytearray()
    for _ in range(rnd.randrange(10)):
        field, wt = rnd.randrange(1, 16), rnd.choice([0, 0, 2, 2, 1, 5, 3])
        out += bytes([(field << 3) | wt])
        if wt == 0:
            out += bytes([rnd.randrange(128, 256) for _ in range(rnd.randrange(9))]
                         + [rnd.randrange(128)])
        elif wt == 2:
            n = rnd.randrange(40)
            out += bytes([n]) + bytes(rnd.randrange(256) for _ in range(n))
        elif wt == 1:
            out += bytes(rnd.randrange(256) for _ in range(8))
        elif wt == 5:
            out += bytes(rnd.randrange(256) for _ in range(4))
    return bytes(out)


unary = [m.name for m in svc.methods
         if not m.client_streaming and not m.server_streaming and m.name != "CloseSession"]
sstream = [m.name for m in svc.methods
           if m.server_streaming and not m.client_streaming and m.name != "OpenSession"]
# The statuses the contract names (FAILED_PRECONDITION: a hand-off without
# a channel or of a socket that cannot be handed; ABORTED: a Pipe whose
# socket write failed).
allowed = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED",
           "RESOURCE_EXHAUSTED", "PERMISSION_DENIED", "DEADLINE_EXCEEDED",
           "CANCELLED", "UNIMPLEMENTED", "FAILED_PRECONDITION", "ABORTED"}
lease, md = open_session()
seen, bad = {}, []
start = time.monotonic()
for i in range(4000):
    if time.monotonic() - start > 90:
        break
    name = rnd.choice(unary + sstream + ["Pipe"])
    meta = md if rnd.random() < 0.9 else ()
    try:
        if name in unary:
            chan.unary_unary(PATH + name, request_serializer=raw,
                             response_deserializer=raw)(junk(), metadata=meta, timeout=0.5)
        elif name == "Pipe":
            it = chan.stream_stream(PATH + name, request_serializer=raw,
                                    response_deserializer=raw)(
                iter([junk() for _ in range(rnd.randrange(1, 4))]), metadata=meta,
                timeout=0.3)
            for _ in range(2):
                next(it)
        else:
            it = chan.unary_stream(PATH + name, request_serializer=raw,
                                   response_deserializer=raw)(junk(), metadata=meta,
                                                              timeout=0.3)
            for _ in range(2):
                next(it)
        code = "OK"
    except grpc.RpcError as e:
        code = e.code().name
    except StopIteration:
        code = "OK"
    seen[code] = seen.get(code, 0) + 1
    if code not in allowed:
        bad.append((name, code))
print("answers:", seen)
fails = 0
if bad:
    fails += 1
    print("FAIL: statuses outside the contract:", bad[:10])
# The broker still serves: a name call, the old session, a new one.
try:
    r = chan.unary_unary(PATH + "GetHostName", request_serializer=raw,
                         response_deserializer=raw)(b"", timeout=5)
    print("ok: GetHostName after the fuzz:", pb.GetHostNameReply.FromString(r).name)
    lease2, md2 = open_session()
    r = chan.unary_unary(PATH + "Socket", request_serializer=raw, response_deserializer=raw)(
        pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_DGRAM).SerializeToString(),
        metadata=md2, timeout=5)
    print("ok: a new session makes a socket:", pb.SocketReply.FromString(r).handle != 0)
    lease2.cancel()
except grpc.RpcError as e:
    fails += 1
    print("FAIL: the broker stopped serving:", e.code().name, e.details())
lease.cancel()
sys.exit(1 if fails else 0)
