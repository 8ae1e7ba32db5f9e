#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# peer.py - a native (kernel socket) peer for the sbctl relay tests.
#   peer.py tcp-server FAMILY PORTFILE SENDFILE RECVFILE
#       listen on the loopback address of FAMILY (4 or 6), write the port to
#       PORTFILE, accept one connection, send SENDFILE (then shut down for
#       writing) while receiving into RECVFILE until EOF.
#   peer.py tcp-client HOST PORT SENDFILE RECVFILE
#       the same, connecting to HOST PORT.
#   peer.py udp-echo PORTFILE
#       answer each datagram on 127.0.0.1 with it upper-cased; exit after
#       10 s without one.
# Every wait is bounded (30 s per socket operation).
import socket
import sys
import threading


def relay(conn, sendfile, recvfile):
    def sender():
        with open(sendfile, "rb") as f:
            while True:
                chunk = f.read(65536)
                if not chunk:
                    break
                conn.sendall(chunk)
        conn.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=sender)
    t.start()
    with open(recvfile, "wb") as out:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            out.write(data)
    t.join(30)
    conn.close()


def main():
    mode = sys.argv[1]
    if mode == "tcp-server":
        fam = socket.AF_INET6 if sys.argv[2] == "6" else socket.AF_INET
        srv = socket.socket(fam, socket.SOCK_STREAM)
        srv.settimeout(30)
        srv.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", 0))
        srv.listen(1)
        with open(sys.argv[3] + ".tmp", "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        # Renamed when complete, so that a reader never sees half of it.
        import os
        os.rename(sys.argv[3] + ".tmp", sys.argv[3])
        conn, _ = srv.accept()
        conn.settimeout(30)
        relay(conn, sys.argv[4], sys.argv[5])
    elif mode == "tcp-client":
        conn = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=30)
        relay(conn, sys.argv[4], sys.argv[5])
    elif mode == "udp-echo":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(10)
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write("%d\n" % s.getsockname()[1])
        import os
        os.rename(sys.argv[2] + ".tmp", sys.argv[2])
        try:
            while True:
                data, addr = s.recvfrom(70000)
                s.sendto(data.upper(), addr)
        except socket.timeout:
            pass
    else:
        sys.exit("unknown mode " + mode)


main()
