"""The fake's HTTP plumbing: a threading server that tracks and resets connections.

It knows nothing of Snap: each request's method, target, headers and body go to a
:class:`Responder`, whose :class:`Reply` it writes back (or, for ``"reset"``, answers with a
TCP RST).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import attrs

__all__ = ["Handler", "Reply", "Responder", "Server"]


@attrs.frozen
class Reply:
    """What to write back: an HTTP status with a body and headers, or ``"reset"``."""

    status: int | str
    body: Any
    headers: Mapping[str, str]


class Responder(Protocol):
    """Who decides the answers: the fake server."""

    def _respond(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        """Answer one request."""

    def _refuse_unreadable(self, reason: str) -> Reply:
        """Answer a request whose body could not be read."""


class Server(ThreadingHTTPServer):
    """A threading HTTP server that can reset connections and close them all on stop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.connections: set[socket.socket] = set()
        self.resets: set[socket.socket] = set()
        self.guard = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.guard:
            self.connections.add(request)
        super().process_request(request, client_address)

    def mark_reset(self, connection: socket.socket) -> None:
        """Close ``connection`` with an RST (not a FIN) once its request is done."""
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self.guard:
            self.resets.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self.guard:
            self.connections.discard(request)
            reset = request in self.resets
            self.resets.discard(request)
        if reset:
            request.close()  # no FIN first: SO_LINGER 0 makes the close an RST
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close every open (keep-alive) connection, so clients see the server is gone."""
        with self.guard:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away; report anything else."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Read one request, ask the :attr:`responder`, write its reply."""

    responder: Responder
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, every answer would stall ~40 ms
    # waiting for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the default writes every request (with its token) to stderr."""

    def _serve(self, method: str) -> None:
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit():
            self.close_connection = True
            self._send(self.responder._refuse_unreadable("Bad Content-Length"))
            return
        length = int(declared)
        raw = self.rfile.read(length) if length else b""
        reply = self.responder._respond(method, self.path, dict(self.headers), raw)
        if reply.status == "reset":
            # Close with RST, as a crashed load balancer would.
            server = self.server
            assert isinstance(server, Server)
            server.mark_reset(self.connection)
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        answer = reply.body
        payload = answer if isinstance(answer, (bytes, str)) else json.dumps(answer)
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(int(reply.status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")
