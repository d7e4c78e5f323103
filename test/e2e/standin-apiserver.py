#!/usr/bin/python3
# Stand-in for kube-apiserver in the HA load-balancer end-to-end test (test/e2e/ha-lb.test.ts), until the real
# control plane runs in these hosts. HTTPS on :6443 with a self-signed certificate, like the apiserver:
#   GET /healthz  200 "ok", or 500 while the flag file exists (what haproxy's check and check_apiserver.sh see)
#   GET /whoami   200 with this host's name (which backend a request through the load balancer reached)
# Every request is appended to the log as "<unix time> <client address> <path> <status>", so the test can tell
# whether any request reached this backend after haproxy took it out of rotation.
import http.server
import os
import socket
import ssl
import threading
import time

DIR = "/etc/standin-apiserver"
FLAG = os.path.join(DIR, "unhealthy")
LOG = "/var/log/standin-apiserver.log"
NAME = socket.gethostname()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    # a client that connects and never finishes the TLS handshake or the request must not hold a thread forever
    timeout = 5

    def do_GET(self):
        if self.path == "/healthz":
            code, body = (500, b"unhealthy\n") if os.path.exists(FLAG) else (200, b"ok\n")
        elif self.path == "/whoami":
            code, body = 200, (NAME + "\n").encode()
        else:
            code, body = 404, b"not found\n"
        with lock, open(LOG, "a") as f:
            f.write("%.3f %s %s %d\n" % (time.time(), self.client_address[0], self.path, code))
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", NAME)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(DIR, "tls.crt"), os.path.join(DIR, "tls.key"))
server = http.server.ThreadingHTTPServer(("0.0.0.0", 6443), Handler)
server.daemon_threads = True
# the handshake happens on the first read, in the request's own thread, not in accept() (which would let one
# silent client block every other)
server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
server.serve_forever()
