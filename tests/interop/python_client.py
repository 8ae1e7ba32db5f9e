#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# python_client.py - proof that a client generated from the .proto in
# another language uses the broker: Python stubs (protoc + grpc_python_plugin,
# generated at test time) against a real sockbrokerd.
#   python_client.py GENDIR BROKER_TARGET
import socket
import sys
import threading

sys.path.insert(0, sys.argv[1])
import grpc                                           # noqa: E402
from sockbroker.v1 import sockbroker_pb2 as pb        # noqa: E402
from sockbroker.v1 import sockbroker_pb2_grpc as rpc  # noqa: E402

target = sys.argv[2]
fails = 0


def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)
    else:
        print("ok:", what)


chan = grpc.insecure_channel(target)
stub = rpc.SocketBrokerStub(chan)

# A session is a lease: keep the stream open while we work.
lease = stub.OpenSession(pb.OpenSessionRequest(client_name="python-interop"))
first = next(lease)
md = (("sb-session", first.token),)
check(len(first.token) == 32, "OpenSession gives a token")

# A local TCP server the broker connects to.
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]


def echo_once():
    c, _ = srv.accept()
    data = c.recv(100)
    c.sendall(data.upper())
    c.close()


t = threading.Thread(target=echo_once, daemon=True)
t.start()

r = stub.Socket(pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_STREAM), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.handle != 0, "Socket")
h = r.handle
addr = pb.Address(inet=pb.Inet4Address(addr=socket.inet_aton("127.0.0.1"), port=port))
r = stub.Connect(pb.ConnectRequest(handle=h, address=addr), metadata=md, timeout=5)
check(r.error == pb.E_OK, "Connect to a local server")
r = stub.Send(pb.SendRequest(handle=h, data=b"hello broker"), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.sent == 12, "Send")
r = stub.Recv(pb.RecvRequest(handle=h, max_bytes=100, flags=pb.MSG_WAITALL), metadata=md, timeout=5)
check(r.error == pb.E_OK and r.data == b"HELLO BROKER", "Recv the echo")
t.join(5)

# GetAddrInfo("localhost") equals Python's own answer.
r = stub.GetAddrInfo(pb.GetAddrInfoRequest(node="localhost", socktype=pb.SOCK_STREAM), timeout=5)
mine = sorted((ai.family, ai.address.WhichOneof("kind")) for ai in r.results)
fams = {socket.AF_INET: pb.AF_INET, socket.AF_INET6: pb.AF_INET6}
libc = sorted((fams[f], "inet" if f == socket.AF_INET else "inet6")
              for f, _, _, _, _ in socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM))
check(r.eai == pb.EAI_OK and mine == libc, "GetAddrInfo(localhost) equals socket.getaddrinfo")

# GetIfAddrs names equal socket.if_nameindex().
r = stub.GetIfAddrs(pb.GetIfAddrsRequest(), timeout=5)
names = {(i.name, i.index) for i in r.interfaces}
check(names == set((n, i) for i, n in socket.if_nameindex()), "GetIfAddrs equals socket.if_nameindex")

# An error case with its errno: connecting to a closed port.
closed = socket.socket()
closed.bind(("127.0.0.1", 0))
cport = closed.getsockname()[1]
closed.close()
r2 = stub.Socket(pb.SocketRequest(family=pb.AF_INET, type=pb.SOCK_STREAM), metadata=md, timeout=5)
addr = pb.Address(inet=pb.Inet4Address(addr=socket.inet_aton("127.0.0.1"), port=cport))
r = stub.Connect(pb.ConnectRequest(handle=r2.handle, address=addr), metadata=md, timeout=5)
check(r.error == pb.ECONNREFUSED, "Connect to a closed port is ECONNREFUSED")

# A foreign handle is NOT_FOUND with sb-errno EBADF.
try:
    stub.Close(pb.CloseRequest(handle=h + 1000000), metadata=md, timeout=5)
    check(False, "unknown handle refused")
except grpc.RpcError as e:
    errno_md = dict(e.trailing_metadata() or ()).get("sb-errno")
    check(e.code() == grpc.StatusCode.NOT_FOUND and errno_md == str(pb.EBADF),
          "unknown handle is NOT_FOUND with sb-errno EBADF")

lease.cancel()
sys.exit(1 if fails else 0)
