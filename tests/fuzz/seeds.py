#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# seeds.py - write the seed corpus of the addr, request and reply targets
# (tests/fuzz/corpus/NAME): native addresses of each family, and one valid
# message of each kind the handlers convert, built with the .proto's
# Python classes (protoc runs into a temporary directory). A message's
# first byte picks its type, in the order of the targets' tables. Run from
# anywhere; rewrites the files.
#   tests/fuzz/seeds.py
import os
import struct
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
proto_dir = os.path.join(here, "..", "..", "proto")
tmp = tempfile.mkdtemp()
subprocess.run(["protoc", "-I" + proto_dir, "--python_out=" + tmp,
                "sockbroker/v1/sockbroker.proto"], check=True)
sys.path.insert(0, tmp)
from sockbroker.v1 import sockbroker_pb2 as pb  # noqa: E402

# Indices into fuzz_request.c's sb__requests[] and fuzz_reply.c's sb__replies[].
REQ = {"socket": 2, "bind": 4, "connect": 5, "send": 8, "recv": 9, "shutdown": 10,
       "setsockopt": 12, "getsockopt": 13, "poll": 18, "dial": 19,
       "getaddrinfo": 23, "getnameinfo": 24, "getservbyname": 26}
REP = {"accept": 7, "recv": 9, "getsockname": 14, "getaddrinfo": 23,
       "getnameinfo": 24, "getifaddrs": 27, "interface_event": 28}


def inet(ip, port):
    return pb.Address(inet=pb.Inet4Address(addr=bytes(ip), port=port))


def inet6(ip, port):
    return pb.Address(inet6=pb.Inet6Address(addr=bytes(ip), port=port, scope_id=1))


def path(p):
    return pb.Address(unix_addr=pb.UnixAddress(path=p))


def abstract(n):
    return pb.Address(unix_addr=pb.UnixAddress(abstract=n))


def write(kind, name, sel, msg, prefix=b""):
    d = os.path.join(here, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([sel]) + prefix + msg.SerializeToString())


lo = [127, 0, 0, 1]

# Native addresses: a selector byte (odd: a shorter length), then the bytes.
def sockaddr(name, b):
    with open(os.path.join(here, "corpus", "addr", name), "wb") as f:
        f.write(b"\x00" + b)


os.makedirs(os.path.join(here, "corpus", "addr"), exist_ok=True)
sockaddr("in", struct.pack("=H", 2) + struct.pack(">H", 80) + bytes(lo) + bytes(8))
sockaddr("in6", struct.pack("=H", 10) + struct.pack(">HI", 443, 7) + bytes(15) + b"\x01" +
         struct.pack("=I", 2))
sockaddr("un-path", struct.pack("=H", 1) + b"/run/x.sock\0")
sockaddr("un-abstract", struct.pack("=H", 1) + b"\0name\0x")
sockaddr("ll", struct.pack("=HHiHBB", 17, 0x0800, 2, 1, 0, 6) + bytes(range(8)))
write("request", "socket", REQ["socket"], pb.SocketRequest(family=2, type=1, protocol=6))
write("request", "bind-path", REQ["bind"], pb.BindRequest(handle=1, address=path("/tmp/s")))
write("request", "bind-abstract", REQ["bind"],
      pb.BindRequest(handle=1, address=abstract(b"a\0b")))
write("request", "connect-inet", REQ["connect"],
      pb.ConnectRequest(handle=1, address=inet(lo, 80), timeout_ms=100))
write("request", "connect-inet6", REQ["connect"],
      pb.ConnectRequest(handle=1, address=inet6([0] * 15 + [1], 443)))
write("request", "send-to-from", REQ["send"],
      pb.SendRequest(handle=1, data=b"hi", flags=0, destination=inet(lo, 53),
                     source=inet(lo, 0), ifindex=1))
write("request", "recv", REQ["recv"], pb.RecvRequest(handle=1, max_bytes=100, flags=2))
write("request", "shutdown", REQ["shutdown"], pb.ShutdownRequest(handle=1, how=2))
for name, lvl, opt, val in [
        ("int", 1, 2, pb.SockOptValue(int_value=1)),                 # SO_REUSEADDR
        ("linger", 1, 13, pb.SockOptValue(linger=pb.Linger(onoff=True, linger_s=5))),
        ("timeval", 1, 20, pb.SockOptValue(timeval=pb.Timeval(sec=1, usec=5))),
        ("text", 6, 13, pb.SockOptValue(text="cubic")),             # TCP_CONGESTION
        ("mreq", 0, 35, pb.SockOptValue(ip_mreq=pb.IpMreq(multiaddr=bytes([224, 0, 0, 1])))),
        ("mreq6", 41, 20, pb.SockOptValue(ipv6_mreq=pb.Ipv6Mreq(
            multiaddr=bytes([0xff, 2] + [0] * 13 + [1])))),
        ("raw", 0, 4, pb.SockOptValue(raw=bytes(8)))]:              # IP_OPTIONS
    write("request", "setsockopt-" + name, REQ["setsockopt"],
          pb.SetSockOptRequest(handle=1, level=lvl, name=opt, value=val))
write("request", "getsockopt", REQ["getsockopt"],
      pb.GetSockOptRequest(handle=1, level=1, name=7, max_bytes=4))
write("request", "poll", REQ["poll"],
      pb.PollRequest(items=[pb.PollItem(handle=1, events=1), pb.PollItem(handle=2, events=4)]))
write("request", "dial", REQ["dial"],
      pb.DialRequest(host="localhost", service="80", family=2, local_host="127.0.0.1",
                     options=[pb.DialOption(level=6, name=1,
                                            value=pb.SockOptValue(int_value=1))]))
write("request", "getaddrinfo", REQ["getaddrinfo"],
      pb.GetAddrInfoRequest(node="localhost", service="http", flags=2, family=10,
                            socktype=1))
write("request", "getnameinfo", REQ["getnameinfo"],
      pb.GetNameInfoRequest(address=inet(lo, 80), flags=1, want_host=True))
write("request", "getservbyname", REQ["getservbyname"],
      pb.GetServByNameRequest(name="http", proto="tcp"))

# Replies: the second byte is the caller's buffer size.
write("reply", "accept", REP["accept"], pb.AcceptReply(handle=2, peer=inet(lo, 4000)),
      b"\x10")
write("reply", "recv", REP["recv"],
      pb.RecvReply(data=b"hello", source=inet6([0] * 15 + [1], 53), truncated=True,
                   length=9), b"\x04")
write("reply", "getsockname-path", REP["getsockname"],
      pb.GetSockNameReply(address=path("/run/x.sock")), b"\x20")
write("reply", "getaddrinfo", REP["getaddrinfo"], pb.GetAddrInfoReply(results=[
    pb.AddrInfo(flags=2, family=2, socktype=1, protocol=6, address=inet(lo, 80),
                canonname="localhost"),
    pb.AddrInfo(family=10, socktype=2, protocol=17, address=inet6([0] * 15 + [1], 80)),
    pb.AddrInfo(family=1, socktype=1, address=abstract(b"x"))]), b"\x80")
write("reply", "getnameinfo", REP["getnameinfo"],
      pb.GetNameInfoReply(host="localhost", service="http"), b"\x00")
write("reply", "getifaddrs", REP["getifaddrs"], pb.GetIfAddrsReply(interfaces=[
    pb.IfAddr(name="lo", index=1, flags=0x49, address=inet(lo, 0),
              netmask=inet([255, 0, 0, 0], 0), mtu=65536),
    pb.IfAddr(name="eth0", index=2, flags=0x1043, address=inet6([0xfe, 0x80] + [0] * 13 + [1], 0),
              broadcast=inet([10, 0, 0, 255], 0), hwaddr=bytes(6))]), b"\x10")
ev = pb.InterfaceEvent(kind=5)
getattr(ev, "interface").CopyFrom(pb.IfAddr(name="wlan0", index=3, address=inet6([0xfd] + [0] * 14 + [2], 0)))
write("reply", "interface-event", REP["interface_event"], ev, b"\x08")
