#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# python_client.py - proof that a client generated from the .proto in
# another language uses the broker: Python stubs (protoc + grpc_python_plugin,
# generated at build time) against a real sockbrokerd.
#   python_client.py GENDIR BROKER_TARGET
# Checks: a session (the lease stream stays open), a TCP socket connected
# to a local server, send and receive, GetAddrInfo and GetIfAddrs equal to
# Python's own answers, and error cases with their errno.
import socket
import sys
import threading

sys.path.insert(0, sys.argv[1])
import grpc                                           # noqa: E402
from sockbroker.v1 import sockbroker_pb2 as pb        # noqa: E402
from sockbroker.v1 import sockbroker_pb2_grpc as rpc  # noqa: E402
from checks import check, finish                      # noqa: E402

target = sys.argv[2]



def trailer_errno(e):
    return dict(e.trailing_metadata() or ()).get("sb-errno")


chan = grpc.insecure_channel(target)
stub = rpc.SocketBrokerStub(chan)

# A session is a lease: keep the stream open while we work.
lease = stub.OpenSession(pb.OpenSessionRequest(client_name="python-interop"), timeout=60)
first = next(lease)
md = (("sb-session", first.token),)
check(len(first.token) == 32 and first.session_id != 0, "OpenSession gives a token and an id")
check(first.identity.transport == "unix" and first.max_sockets > 0,
      "OpenSession: identity (transport %r, uid %d), max_sockets %d" %
      (first.identity.transport, first.identity.uid, first.max_sockets))

# A local TCP server the broker connects to.
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(10)
port = srv.getsockname()[1]
peer = {}


def echo_once():
    c, a = srv.accept()
    peer["addr"] = a
    c.settimeout(10)
    data = c.recv(100)
    c.sendall(data.upper())
    c.close()


t = threading.Thread(target=echo_once, daemon=True)
t.start()

r = stub.Socket(pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_STREAM), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.handle != 0, "Socket(AF_INET, SOCK_STREAM)")
h = r.handle
addr = pb.Address(inet=pb.Inet4Address(addr=socket.inet_aton("127.0.0.1"), port=port))
r = stub.Connect(pb.ConnectRequest(handle=h, address=addr), metadata=md, timeout=5)
check(r.error == pb.E_OK, "Connect to a local server")
r = stub.GetSockName(pb.GetSockNameRequest(handle=h), metadata=md, timeout=5)
t.join(5)
check(r.error == pb.E_OK and r.address.WhichOneof("kind") == "inet" and
      peer.get("addr") == (socket.inet_ntoa(r.address.inet.addr), r.address.inet.port),
      "GetSockName equals the address the server saw")
r = stub.Send(pb.SendRequest(handle=h, data=b"hello broker"), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.sent == 12, "Send 12 bytes")
r = stub.Recv(pb.RecvRequest(handle=h, max_bytes=100, flags=pb.MSG_WAITALL), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.data == b"HELLO BROKER", "Recv the echo")
r = stub.Recv(pb.RecvRequest(handle=h, max_bytes=100), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.data == b"", "Recv: end of stream after the server closed")
r = stub.Close(pb.CloseRequest(handle=h), metadata=md, timeout=5)
check(r.error == pb.E_OK, "Close")

# GetAddrInfo("localhost") equals Python's own answer, row by row.
fams = {socket.AF_INET: pb.AF_INET, socket.AF_INET6: pb.AF_INET6}
types = {socket.SOCK_STREAM: pb.SOCK_STREAM, socket.SOCK_DGRAM: pb.SOCK_DGRAM,
         socket.SOCK_RAW: pb.SOCK_RAW}


def broker_rows(reply):
    rows = []
    for ai in reply.results:
        kind = ai.address.WhichOneof("kind")
        a = getattr(ai.address, kind)
        ip = socket.inet_ntop(socket.AF_INET if kind == "inet" else socket.AF_INET6, a.addr)
        rows.append((ai.family, ai.socktype, ai.protocol, ip, a.port))
    return rows


for node, service, stype, flags in (("localhost", "", socket.SOCK_STREAM, 0),
                                    ("localhost", "http", 0, socket.AI_CANONNAME),
                                    ("127.0.0.1", "53", socket.SOCK_DGRAM, socket.AI_NUMERICHOST)):
    r = stub.GetAddrInfo(pb.GetAddrInfoRequest(
        node=node, service=service, socktype=types.get(stype, 0),
        flags=(pb.AI_CANONNAME if flags & socket.AI_CANONNAME else 0) |
              (pb.AI_NUMERICHOST if flags & socket.AI_NUMERICHOST else 0)), timeout=5)
    libc = socket.getaddrinfo(node, service or None, type=stype, flags=flags)
    want = [(fams[f], types[ty], p, a[0], a[1]) for f, ty, p, c, a in libc]
    got = broker_rows(r)
    check(r.eai == pb.EAI_OK and got == want,
          "GetAddrInfo(%r, %r) equals socket.getaddrinfo: %s" % (node, service, got))
    if flags & socket.AI_CANONNAME:
        check(r.results[0].canonname == libc[0][3], "GetAddrInfo canonname %r" % r.results[0].canonname)

# An unknown host: the same EAI code as Python's.
r = stub.GetAddrInfo(pb.GetAddrInfoRequest(node="no.such.host.invalid"), timeout=30)
try:
    socket.getaddrinfo("no.such.host.invalid", None)
    want = 0
except socket.gaierror as e:
    want = abs(e.errno)
check(r.eai == want and r.eai != pb.EAI_OK,
      "GetAddrInfo(no.such.host.invalid): %s as libc" % pb.EaiError.Name(r.eai))

# GetIfAddrs: the links equal socket.if_nameindex(), one AF_PACKET row each.
r = stub.GetIfAddrs(pb.GetIfAddrsRequest(), timeout=5)
names = {(i.name, i.index) for i in r.interfaces}
check(r.error == pb.E_OK and names == set((n, i) for i, n in socket.if_nameindex()),
      "GetIfAddrs interfaces equal socket.if_nameindex: %s" % sorted(names))
links = [i for i in r.interfaces if i.address.WhichOneof("kind") == "link"]
check(sorted((i.name, i.index) for i in links) == sorted((n, i) for i, n in socket.if_nameindex()),
      "GetIfAddrs: one link row per interface")
lo = [i for i in r.interfaces if i.name == "lo" and i.address.WhichOneof("kind") == "inet"]
check(any(socket.inet_ntoa(i.address.inet.addr) == "127.0.0.1" and
          i.flags & pb.IFF_LOOPBACK and i.flags & pb.IFF_UP for i in lo),
      "GetIfAddrs: lo has 127.0.0.1 with IFF_UP|IFF_LOOPBACK")

# Error cases with their errno. Connecting to a closed port: a result.
closed = socket.socket()
closed.bind(("127.0.0.1", 0))
cport = closed.getsockname()[1]
closed.close()
r2 = stub.Socket(pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_STREAM), metadata=md, timeout=5)
addr = pb.Address(inet=pb.Inet4Address(addr=socket.inet_aton("127.0.0.1"), port=cport))
r = stub.Connect(pb.ConnectRequest(handle=r2.handle, address=addr), metadata=md, timeout=5)
check(r.error == pb.ECONNREFUSED, "Connect to a closed port is ECONNREFUSED (%s)" % pb.Errno.Name(r.error))
# Binding a port in use: EADDRINUSE.
busy = socket.socket()
busy.bind(("127.0.0.1", 0))
busy.listen(1)
r3 = stub.Socket(pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_STREAM), metadata=md, timeout=5)
addr = pb.Address(inet=pb.Inet4Address(addr=socket.inet_aton("127.0.0.1"), port=busy.getsockname()[1]))
r = stub.Bind(pb.BindRequest(handle=r3.handle, address=addr), metadata=md, timeout=5)
check(r.error == pb.EADDRINUSE, "Bind to a port in use is EADDRINUSE (%s)" % pb.Errno.Name(r.error))
busy.close()

# A handle that does not exist: NOT_FOUND with sb-errno EBADF.
try:
    stub.Close(pb.CloseRequest(handle=r3.handle + 1000000), metadata=md, timeout=5)
    check(False, "an unknown handle is refused")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.NOT_FOUND and trailer_errno(e) == str(pb.EBADF),
          "an unknown handle is NOT_FOUND with sb-errno EBADF (%s)" % e.details())

# A socket call without a session: UNAUTHENTICATED with sb-errno EACCES.
try:
    stub.Socket(pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_STREAM), timeout=5)
    check(False, "a socket call without a session is refused")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.UNAUTHENTICATED and trailer_errno(e) == str(pb.EACCES),
          "a socket call without a session is UNAUTHENTICATED with sb-errno EACCES")

# Dial: a connected socket in one call, from Python too.
srv2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv2.bind(("127.0.0.1", 0))
srv2.listen(1)
srv2.settimeout(10)
r = stub.Dial(pb.DialRequest(host="127.0.0.1", service=str(srv2.getsockname()[1]),
                             options=[pb.DialOption(level=pb.SOL_TCP, name=pb.TCP_NODELAY,
                                                    value=pb.SockOptValue(int_value=1))]),
              metadata=md, timeout=10)
c2, a2 = srv2.accept()
check(r.error == pb.E_OK and r.handle != 0 and r.attempts == 1 and
      (socket.inet_ntoa(r.local.inet.addr), r.local.inet.port) == a2 and
      r.peer.inet.port == srv2.getsockname()[1],
      "Dial 127.0.0.1: a handle, the peer and the local end the server saw")
o = stub.GetSockOpt(pb.GetSockOptRequest(handle=r.handle, level=pb.SOL_TCP,
                                         name=pb.TCP_NODELAY), metadata=md, timeout=5)
check(o.error == pb.E_OK and o.value.int_value == 1, "Dial set TCP_NODELAY before connecting")
c2.close()
srv2.close()
r = stub.Dial(pb.DialRequest(host="127.0.0.1", service=str(cport)), metadata=md, timeout=10)
check(r.error == pb.ECONNREFUSED and r.handle == 0,
      "Dial to a closed port: ECONNREFUSED and no handle (%s)" % pb.Errno.Name(r.error))
r = stub.Dial(pb.DialRequest(host="127.0.0.1", service="no-such-service"), metadata=md,
              timeout=10)
check(r.eai == pb.EAI_SERVICE and r.handle == 0,
      "Dial to an unknown service: EAI_SERVICE (%s)" % pb.EaiError.Name(r.eai))
try:
    stub.Dial(pb.DialRequest(host="127.0.0.1", service="80",
                             options=[pb.DialOption(level=pb.SOL_SOCKET, name=pb.SO_REUSEADDR,
                                                    value=pb.SockOptValue(raw=b"\1\0\0\0"))]),
              metadata=md, timeout=10)
    check(False, "Dial with a raw option value is refused")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and trailer_errno(e) == str(pb.EINVAL),
          "Dial with a raw option value is INVALID_ARGUMENT with sb-errno EINVAL")

# The end of the session ends the lease stream and closes its sockets.
stub.CloseSession(pb.CloseSessionRequest(), metadata=md, timeout=5)
ended = True
try:
    for ev in lease:
        pass
except grpc.RpcError as e:
    ended = e.code() in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED)
check(ended, "CloseSession ends the lease stream")
try:
    stub.Close(pb.CloseRequest(handle=r2.handle), metadata=md, timeout=5)
    check(False, "the old token is refused after CloseSession")
except grpc.RpcError as e:
    check(e.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND),
          "the old token is refused after CloseSession (%s)" % e.code().name)

chan.close()
finish()
