#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# dial_channel.py - the dial channel's contract (the .proto's "Dial
# channel" rules), spoken byte by byte from Python against a real
# sockbrokerd, with the session, tickets and replies of Python stubs.
#   dial_channel.py GENDIR BROKER_TARGET
# Checks: a channel binds only with a fresh ticket of a session that has
# its hand-off channel (unknown ticket EACCES, replayed ticket EACCES, no
# hand-off channel ENOTCONN, a second dial channel EBUSY); a DialRequest
# is answered with status OK and the DialReply of a Dial call, the handed
# fd arriving on the hand-off channel under the reply's tag; a refused
# connection is a reply (ECONNREFUSED); a bad request is INVALID_ARGUMENT
# with errno EINVAL and the channel serves on; malformed bytes likewise; a
# length out of bounds or a second request before the answer closes the
# channel; the session's end closes it; the broker serves on throughout.
import array
import os
import socket
import struct
import sys

sys.path.insert(0, sys.argv[1])
from sockbroker.v1 import sockbroker_pb2 as pb        # noqa: E402
from sockbroker.v1 import sockbroker_pb2_grpc as rpc  # noqa: E402
import grpc                                           # noqa: E402
from checks import check, finish                      # noqa: E402

target = sys.argv[2]
path = target[len("unix:"):]
EACCES, ENOTCONN, EBUSY, EINVAL = 13, 107, 16, 22



chan = grpc.insecure_channel(target)
stub = rpc.SocketBrokerStub(chan)


def session(name):
    lease = stub.OpenSession(pb.OpenSessionRequest(client_name=name), timeout=60)
    first = next(lease)
    return lease, first, (("sb-session", first.token),)


def ticket(md):
    return stub.HandoffTicket(pb.HandoffTicketRequest(), metadata=md, timeout=5).ticket


def side(magic, tkt):
    """A side channel: (socket, the broker's errno for it)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(magic + tkt)
    b = s.recv(4, socket.MSG_WAITALL)
    return s, (struct.unpack("=i", b)[0] if len(b) == 4 else -1)


def ask(s, body):
    s.sendall(struct.pack("<I", len(body)) + body)


def answer(s):
    """(status, errno, body) of one answer, or None when the channel closed."""
    h = s.recv(12, socket.MSG_WAITALL)
    if len(h) < 12:
        return None
    n, st, err = struct.unpack("<IiI", h)
    body = s.recv(n - 8, socket.MSG_WAITALL) if n > 8 else b""
    return st, err, body


def closed(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return False


lease, first, md = session("dialchannel")
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
srv.settimeout(5)
port = srv.getsockname()[1]
shut = socket.socket()
shut.bind(("127.0.0.1", 0))
shut_port = shut.getsockname()[1]


def req(p, **kw):
    return pb.DialRequest(host="127.0.0.1", service=str(p), connect_timeout_ms=3000,
                          **kw).SerializeToString()


# Binding.
s, err = side(b"SBDIAL01", os.urandom(32))
check(err == EACCES and closed(s), "an unknown ticket: EACCES, closed (%d)" % err)
t = ticket(md)
s, err = side(b"SBDIAL01", t)
check(err == ENOTCONN, "no hand-off channel yet: ENOTCONN (%d)" % err)
s, err = side(b"SBDIAL01", t)
check(err == EACCES, "a ticket used twice: EACCES (%d)" % err)
ho, err = side(b"SBHOFF01", ticket(md))
check(err == 0, "the hand-off channel binds (%d)" % err)
dc, err = side(b"SBDIAL01", ticket(md))
check(err == 0, "the dial channel binds (%d)" % err)
s, err = side(b"SBDIAL01", ticket(md))
check(err == EBUSY, "a second dial channel of the session: EBUSY (%d)" % err)

# A dial with hand-off: the reply, then the fd under its tag.
ask(dc, req(port, handoff=True))
a = answer(dc)
check(a is not None and a[0] == 0, "a hand-off dial: status OK (%s)" % (a,))
rep = pb.DialReply.FromString(a[2]) if a else pb.DialReply()
check(rep.fd_tag != 0 and rep.handle == 0 and rep.peer.inet.port == port,
      "its DialReply names a tag and the peer (%s)" % rep)
fds = array.array("i")
msg, anc, _f, _a = ho.recvmsg(16, socket.CMSG_LEN(4 * fds.itemsize))
for lvl, typ, data in anc:
    if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
tag = struct.unpack("<Q", msg[:8])[0] if len(msg) >= 8 else 0
check(len(fds) == 1 and tag == rep.fd_tag, "the fd came on the hand-off channel (tag %d)" % tag)
peer, _ = srv.accept()
if fds:
    f = socket.socket(fileno=fds[0])
    f.sendall(b"ping")
    check(peer.recv(4) == b"ping", "the handed fd is connected to the server")
    f.close()
peer.close()

# A dial without hand-off: a handle of the session.
ask(dc, req(port))
a = answer(dc)
rep = pb.DialReply.FromString(a[2]) if a and a[0] == 0 else pb.DialReply()
check(rep.handle != 0, "a dial without hand-off: a handle (%s)" % (a,))
g = stub.GetPeerName(pb.GetPeerNameRequest(handle=rep.handle), metadata=md, timeout=5)
check(g.address.inet.port == port, "the handle is the session's")
stub.Close(pb.CloseRequest(handle=rep.handle), metadata=md, timeout=5)
srv.accept()[0].close()

# A refused connection is a reply.
ask(dc, req(shut_port, handoff=True))
a = answer(dc)
rep = pb.DialReply.FromString(a[2]) if a and a[0] == 0 else pb.DialReply()
check(rep.error == pb.ECONNREFUSED, "a refused connection: a reply with ECONNREFUSED (%s)" % (a,))

# A bad request, and malformed bytes: INVALID_ARGUMENT, and it serves on.
both = pb.DialRequest(host="127.0.0.1", service=str(port), address=pb.Address(
    inet=pb.Inet4Address(addr=socket.inet_aton("127.0.0.1"), port=port)))
ask(dc, both.SerializeToString())
a = answer(dc)
check(a is not None and a[0] == grpc.StatusCode.INVALID_ARGUMENT.value[0] and a[1] == EINVAL,
      "a bad request: INVALID_ARGUMENT, errno EINVAL (%s)" % (a,))
ask(dc, b"\xff\xff\xff")
a = answer(dc)
check(a is not None and a[0] == grpc.StatusCode.INVALID_ARGUMENT.value[0] and b"malformed" in a[2],
      "malformed bytes: INVALID_ARGUMENT (%s)" % (a,))
ask(dc, req(port, handoff=True))
a = answer(dc)
check(a is not None and a[0] == 0, "the channel serves on after them")
srv.accept()[0].close()
ho.recvmsg(16, socket.CMSG_LEN(4 * fds.itemsize))  # that dial's fd

# Out of step: a second request before the answer; a length out of bounds.
one = req(port, handoff=True)
dc.sendall(struct.pack("<I", len(one)) + one + struct.pack("<I", 3) + b"abc")
a = answer(dc)
check(a is None, "a second request before the answer closes the channel (%s)" % (a,))
dc2, err = side(b"SBDIAL01", ticket(md))
check(err == 0, "a new dial channel once the last closed (%d)" % err)
dc2.sendall(struct.pack("<I", 1 << 20))
check(answer(dc2) is None, "a length above the bound closes the channel")

# Random bytes (a fixed seed), each made invalid by its first byte (wire
# type 7 is no protobuf's), so that none can be a dial: each is answered
# INVALID_ARGUMENT and the channel serves on; every tenth frame has a
# length out of bounds instead, and the channel is closed without answer.
import random                                         # noqa: E402
rng = random.Random(1301)
answered = closed_oos = 0
statuses = {}
dc4, err = side(b"SBDIAL01", ticket(md))
for i in range(300):
    if dc4 is None:
        dc4, err = side(b"SBDIAL01", ticket(md))
    body = b"\xff" + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
    try:
        if i % 10 == 9:
            dc4.sendall(struct.pack("<I", rng.choice([0, 8193, 1 << 31])) + body)
        else:
            ask(dc4, body)
        a = answer(dc4)
    except OSError:
        a = None
    if a is None:
        closed_oos += 1
        dc4.close()
        dc4 = None
    else:
        answered += 1
        statuses[a[0]] = statuses.get(a[0], 0) + 1
check(answered == 270 and closed_oos == 30 and list(statuses) == [3],
      "300 random frames: %d answered (statuses %s), %d closed as out of step"
      % (answered, statuses, closed_oos))
if dc4 is not None:
    dc4.close()

# The session's end closes its channel.
dc3, err = side(b"SBDIAL01", ticket(md))
check(err == 0, "a third dial channel")
stub.CloseSession(pb.CloseSessionRequest(), metadata=md, timeout=5)
check(closed(dc3), "the session's end closes the dial channel")

# The broker serves on.
lease2, _f, md2 = session("after")
r = stub.Dial(pb.DialRequest(host="127.0.0.1", service=str(port), connect_timeout_ms=3000),
              metadata=md2, timeout=5)
check(r.handle != 0, "a Dial call after all of it")
lease2.cancel()
lease.cancel()
finish()
