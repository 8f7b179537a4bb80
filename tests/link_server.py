"""A local web site for the link-check tests: one path per kind of answer the internet gives
(fine, moved, gone, HEAD refused, too slow), on 127.0.0.1, never a real site."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How long /slow waits before answering: longer than the tests' short timeout.
SLOW_SECONDS = 1.5


@dataclass
class FakeSite:
    """The running site: its base URL and every request it was sent, as (method, path,
    User-Agent)."""

    base: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


class _Handler(BaseHTTPRequestHandler):
    site: FakeSite

    def do_HEAD(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.site.requests.append((self.command, self.path, self.headers.get("User-Agent", "")))
        path = self.path.split("?")[0]
        if path == "/ok":
            self._send(200)
        elif path == "/moved":
            self._send(301, location="/ok")
        elif path == "/moved-to-missing":
            self._send(302, location="/missing")
        elif path == "/loop":
            self._send(302, location="/loop")
        elif path == "/no-head":
            self._send(405 if self.command == "HEAD" else 200)
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200)
        elif path == "/broken":
            self._send(500)
        else:
            self._send(404)

    def _send(self, status: int, location: str | None = None) -> None:
        body = f"status {status}\n".encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet test output
        pass


class _Server(ThreadingHTTPServer):
    # A test that timed out must not wait for the slow handler to finish.
    daemon_threads = True
    block_on_close = False


@contextmanager
def fake_site() -> Iterator[FakeSite]:
    """The site, serving until the block ends."""
    site = FakeSite("")
    # A handler class of its own per site: two sites at once keep their own request logs.
    server = _Server(("127.0.0.1", 0), type("Handler", (_Handler,), {"site": site}))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    # Polled every 50 ms: shutdown() waits up to one poll interval (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
