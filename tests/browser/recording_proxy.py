"""A recording HTTP/HTTPS proxy on 127.0.0.1 that never lets a request leave.

Point a browser (``--proxy-server``) and processes (``HTTP_PROXY`` /
``HTTPS_PROXY``) at it: every request and every ``CONNECT`` tunnel is recorded
with its target host. Targets on the loopback interface are forwarded, so the
tests work as usual; any other target is refused (403) without a connection
being opened, so nothing reaches the network even when something tries.

``proxy.seen()`` lists ``(method, host, port, path)`` of everything seen (the
path is empty for a tunnel, whose content is encrypted or a WebSocket);
``proxy.outside()`` the ones whose host is not a loopback address.
"""

from __future__ import annotations

import http.client
import ipaddress
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade"}


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle client connection is dropped after this

    def log_message(self, format, *args):  # quiet: the record is the log
        pass

    def _record(self, host, port, path=""):
        self.server.record((self.command, host, port, path))
        return is_loopback(host)

    def _refuse(self, host):
        body = f"recording proxy: {host} is outside this machine\n".encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        port = int(port or 443)
        if not self._record(host, port):
            self._refuse(host)
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), port), timeout=10)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        _pipe(self.connection, upstream)

    def _forward(self):
        url = urlsplit(self.path)
        if not url.hostname:  # spoken to as a server, not as a proxy
            self._record("127.0.0.1", self.server.server_address[1], self.path)
            self.send_error(400, "this is a proxy")
            self.close_connection = True
            return
        host, port = url.hostname, url.port or 80
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        if not self._record(host, port, path):
            self._refuse(host)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.request(self.command, path, body=body, headers=headers)
            resp = conn.getresponse()
            # one request per client connection: the body ends when we close
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                while chunk := resp.read1(65536):
                    self.wfile.write(chunk)
        except OSError:
            pass
        finally:
            conn.close()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def _pipe(a: socket.socket, b: socket.socket):
    """Relay bytes both ways until either side closes (a CONNECT tunnel)."""
    try:
        socks = [a, b]
        while True:
            readable, _, broken = select.select(socks, [], socks, 120)
            if broken or not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class RecordingProxy:
    """``with RecordingProxy() as proxy: ... proxy.url ... proxy.outside()``."""

    def __init__(self):
        self._lock = threading.Lock()
        self.targets: list[tuple[str, str, int, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.record = self._record
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)

    def _record(self, entry):
        with self._lock:
            self.targets.append(entry)

    def seen(self):
        with self._lock:
            return list(self.targets)

    def outside(self):
        return [t for t in self.seen() if not is_loopback(t[1])]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def proxy_env(url: str) -> dict[str, str]:
    """Environment variables that send a process's HTTP(S) traffic to ``url``."""
    env = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = url
    env["NO_PROXY"] = env["no_proxy"] = ""  # loopback too: it must show in the record
    return env
