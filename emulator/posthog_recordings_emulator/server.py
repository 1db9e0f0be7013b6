"""The HTTP layer: a threading HTTP/1.1 server that hands requests to an EmulatorCore."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import EmulatorCore, Outcome

IDLE_TIMEOUT = 120.0


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open connections so it can close them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # many clients connect at once in benchmarks

    def __init__(self, address: tuple[str, int], core: EmulatorCore) -> None:
        self.core = core
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection, then serve it in its own thread."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection and close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client that hung up (e.g. after its read timeout) is normal.

        Anything else is kept in the core's ``internal_errors`` instead of stderr.
        """
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        self.core.note_internal_error(traceback.format_exc())

    def close_connections(self) -> None:
        """Shut down every open (e.g. idle keep-alive) connection."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    """Reads a request, asks the core, writes (or withholds) the answer."""

    protocol_version = "HTTP/1.1"
    server_version = "PostHogEmulator/1.0"
    timeout = IDLE_TIMEOUT
    server: EmulatorHTTPServer

    def setup(self) -> None:
        """Send small answers at once (no Nagle delay between headers and body)."""
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log line."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length > 0 else b""
        headers = {name: value for name, value in self.headers.items()}
        outcome = self.server.core.handle(self.command, self.path, headers, raw_body)
        self._write(outcome)

    def _write(self, outcome: Outcome) -> None:
        response = outcome.response
        if response is None:
            self.close_connection = True
            return
        payload = response.payload()
        status = 200 if outcome.truncate else response.status
        self.send_response(status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
        if outcome.truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
            payload = payload[: len(payload) // 2]
        self.end_headers()
        if status != 204:
            self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_DELETE = _serve
    do_PUT = _serve
