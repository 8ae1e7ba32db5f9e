# SPDX-License-Identifier: MIT
# http_server.py - the tests' HTTP server outside the sandbox: serves DIR on
# ADDR:PORT and writes the number of connections it accepted to COUNTFILE
# after each accept (so a test can tell that a refused connect never
# reached it). Prints "ready" once listening.
#   python3 http_server.py ADDR PORT DIR COUNTFILE
import functools
import http.server
import socketserver
import sys

addr, port, root, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    accepted = 0

    def get_request(self):
        conn = super().get_request()
        self.accepted += 1
        with open(countfile, "w") as f:
            f.write("%d\n" % self.accepted)
        return conn


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


with open(countfile, "w") as f:
    f.write("0\n")
srv = Server((addr, port), functools.partial(Quiet, directory=root))
print("ready", flush=True)
srv.serve_forever()
