#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# dial_stream.py - the DialStream contract, from a client generated in
# another language (Python stubs, as python_client.py), against a real
# sockbrokerd.
#   dial_stream.py GENDIR BROKER_TARGET
# Checks: one reply per request, in order, on one call; a refused
# connection is a reply (ECONNREFUSED) and the stream goes on; a bad
# request ends the stream with INVALID_ARGUMENT (sb-errno EINVAL) and the
# broker serves on; malformed bytes likewise; the client's half close ends
# it with OK; no session is UNAUTHENTICATED; the handles it made are the
# session's (GetPeerName, Close) and the server saw exactly the
# connections asked for.
import socket
import sys

sys.path.insert(0, sys.argv[1])
import grpc                                           # noqa: E402
from sockbroker.v1 import sockbroker_pb2 as pb        # noqa: E402
from sockbroker.v1 import sockbroker_pb2_grpc as rpc  # noqa: E402
from checks import check, finish                      # noqa: E402

target = sys.argv[2]
PATH = "/sockbroker.v1.SocketBroker/DialStream"



def trailer_errno(e):
    return dict(e.trailing_metadata() or ()).get("sb-errno")


chan = grpc.insecure_channel(target)
stub = rpc.SocketBrokerStub(chan)

lease = stub.OpenSession(pb.OpenSessionRequest(client_name="dialstream"), timeout=60)
first = next(lease)
md = (("sb-session", first.token),)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
srv.settimeout(5)
port = srv.getsockname()[1]
# A port nothing listens on: bound, never listening, so connects are refused.
closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
closed.bind(("127.0.0.1", 0))
closed_port = closed.getsockname()[1]


def req(p, **kw):
    return pb.DialRequest(host="127.0.0.1", service=str(p), connect_timeout_ms=3000, **kw)


# One call, five requests: three connect, two are refused.
asks = [req(port), req(closed_port), req(port), req(closed_port), req(port)]
replies = list(stub.DialStream(iter(asks), metadata=md, timeout=20))
check(len(replies) == 5, "one reply per request on one call (%d)" % len(replies))
ok = [r for r in replies if r.handle]
check([bool(r.handle) for r in replies] == [True, False, True, False, True],
      "replies in the order of the requests")
check(all(r.error == pb.ECONNREFUSED and r.attempts == 1 for r in replies if not r.handle),
      "a refused connection is a reply with ECONNREFUSED, and the stream goes on")
check(len(set(r.handle for r in ok)) == 3, "three distinct handles")
seen = 0
for _ in range(3):
    c, _a = srv.accept()
    seen += 1
    c.close()
check(seen == 3, "the server accepted the three connections")
for r in ok:
    g = stub.GetPeerName(pb.GetPeerNameRequest(handle=r.handle), metadata=md, timeout=5)
    check(g.error == pb.E_OK and g.address.inet.port == port,
          "handle %d is the session's, connected to the server" % r.handle)
    c = stub.Close(pb.CloseRequest(handle=r.handle), metadata=md, timeout=5)
    check(c.error == pb.E_OK, "Close of a DialStream handle")

# A bad request ends the stream with the status a Dial call gets.
bad = pb.DialRequest(host="127.0.0.1", service=str(port),
                     address=pb.Address(inet=pb.Inet4Address(
                         addr=socket.inet_aton("127.0.0.1"), port=port)))
got = []
try:
    for r in stub.DialStream(iter([req(port), bad, req(port)]), metadata=md, timeout=10):
        got.append(r)
    check(False, "a bad request ends the stream")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and trailer_errno(e) == "22",
          "a bad request: INVALID_ARGUMENT, sb-errno 22 (%s, %s)" % (e.code(), trailer_errno(e)))
check(len(got) == 1 and got[0].handle != 0, "the request before it was answered")
c, _a = srv.accept()
c.close()
stub.Close(pb.CloseRequest(handle=got[0].handle), metadata=md, timeout=5)
srv.settimeout(0.5)
try:
    srv.accept()
    check(False, "nothing after the bad request is dialled")
except socket.timeout:
    check(True, "nothing after the bad request is dialled")

# Malformed bytes.
raw = chan.stream_stream(PATH, request_serializer=lambda b: b,
                         response_deserializer=lambda b: b)
try:
    list(raw(iter([b"\xff\xff\xff"]), metadata=md, timeout=10))
    check(False, "malformed bytes end the stream")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
          "malformed bytes: INVALID_ARGUMENT (%s)" % e.code())

# The client's half close, with no request: OK and no reply.
check(list(stub.DialStream(iter([]), metadata=md, timeout=10)) == [],
      "a half close with no request ends the stream with OK")

# No session.
try:
    list(stub.DialStream(iter([req(port)]), timeout=10))
    check(False, "DialStream without a session is refused")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.UNAUTHENTICATED,
          "DialStream without a session: UNAUTHENTICATED (%s)" % e.code())

# The broker serves on.
r = stub.Dial(req(port), metadata=md, timeout=5)
check(r.handle != 0, "a Dial call after all of it")
stub.Close(pb.CloseRequest(handle=r.handle), metadata=md, timeout=5)

lease.cancel()
finish()
