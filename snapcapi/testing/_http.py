"""The fake's HTTP plumbing: a threading server that tracks and resets connections.

It knows nothing of Snap: each request's method, target, headers and body go to a
:class:`Responder`, whose :class:`Reply` it writes back (or, for ``"reset"``, answers with a
TCP RST). It can also misbehave as hostile servers do: answer a byte at a time, never answer
(``"hang"``), stream a body of any size generated as it goes, or gzip it (a gzip bomb).
"""

from __future__ import annotations

import contextlib
import http
import json
import socket
import ssl
import struct
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import attrs

__all__ = ["PADDED_MINIMUM", "Handler", "Reply", "Responder", "Server"]

#: How a padded body begins and ends: a JSON object, so only its size makes it unreadable.
_PADDED_HEAD = b'{"status": "VALID", "reason": "'
_PADDED_TAIL = b'"}'
#: The smallest padded body.
PADDED_MINIMUM = len(_PADDED_HEAD) + len(_PADDED_TAIL)
_PIECE = 64 * 1024


@attrs.frozen
class Reply:
    """What to write back: an HTTP status with a body and headers, ``"reset"`` or ``"hang"``.

    Attributes:
        status: The HTTP status; ``"reset"`` resets the connection, ``"hang"`` never answers.
        body: The body: bytes or text as they are, anything else as JSON.
        headers: Headers to add.
        drip: Seconds between the bytes of the answer (0: all at once).
        size: Send instead a body of this many bytes, generated while it is sent (chunked).
        gzip: Send the body gzip-compressed (``Content-Encoding: gzip``).
    """

    status: int | str
    body: Any
    headers: Mapping[str, str]
    drip: float = 0.0
    size: int | None = None
    gzip: bool = False


def padded(size: int) -> Iterator[bytes]:
    """Yield a JSON object of exactly ``size`` bytes (at least :data:`PADDED_MINIMUM`)."""
    yield _PADDED_HEAD
    left = size - PADDED_MINIMUM
    piece = b"x" * _PIECE
    while left > 0:
        yield piece[:left]
        left -= _PIECE
    yield _PADDED_TAIL


def gzipped(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Yield ``pieces`` gzip-compressed, compressing as they come."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for piece in pieces:
        out = compressor.compress(piece)
        if out:
            yield out
    yield compressor.flush()


class Responder(Protocol):
    """Who decides the answers: the fake server."""

    def _respond(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        """Answer one request."""

    def _refuse_unreadable(self, reason: str) -> Reply:
        """Answer a request whose body could not be read."""


class Server(ThreadingHTTPServer):
    """A threading HTTP server that can reset connections and close them all on stop.

    Args:
        address: Where to listen.
        handler: The request handler class.
        tls: Serve HTTPS with this context (server side); plain HTTP without.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(address, handler)
        self.tls = tls
        self.connections: set[socket.socket] = set()
        self.resets: set[socket.socket] = set()
        self.guard = threading.Lock()
        #: Set by :meth:`stop`: answers that hang or drip end.
        self.stopping = threading.Event()

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; with TLS, its handshake is left to the handler's thread."""
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
        return connection, address

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
        """Stay quiet about clients that went away or refused the certificate; report others."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
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
        if reply.status == "hang":
            self._hang()
            return
        status = int(reply.status)
        head = [
            f"{self.protocol_version} {status} {_phrase(status)}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            "Content-Type: application/json",
        ]
        pieces: Iterable[bytes] = padded(reply.size) if reply.size is not None else [_data(reply)]
        if reply.gzip:
            pieces = gzipped(pieces)
            head.append("Content-Encoding: gzip")
        streamed = reply.size is not None
        if streamed:
            head.append("Transfer-Encoding: chunked")
        else:
            whole = b"".join(pieces)
            pieces = [whole]
            head.append(f"Content-Length: {len(whole)}")
        if streamed or reply.drip:
            head.append("Connection: close")  # a hostile answer ends its connection
        head.extend(f"{name}: {value}" for name, value in reply.headers.items())
        if streamed or reply.drip or _closes(reply.headers):
            self.close_connection = True
        self._write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"), reply.drip)
        for piece in pieces:
            if streamed:
                piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            self._write(piece, reply.drip)
        if streamed:
            self._write(b"0\r\n\r\n", reply.drip)

    def _write(self, data: bytes, drip: float) -> None:
        """Write ``data``; with ``drip``, a byte at a time, that many seconds apart."""
        if not drip:
            self.wfile.write(data)
            return
        stopping = self._stopping()
        for at in range(len(data)):
            self.wfile.write(data[at : at + 1])
            if stopping.wait(drip):
                raise ConnectionAbortedError("the server is stopping")

    def _hang(self) -> None:
        """Never answer: wait until the client goes away or the server stops."""
        self.close_connection = True
        stopping = self._stopping()
        self.connection.settimeout(0.05)
        while not stopping.is_set():
            try:
                if not self.connection.recv(1):
                    return  # the client gave up
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except OSError:
                return

    def _stopping(self) -> threading.Event:
        server = self.server
        assert isinstance(server, Server)
        return server.stopping

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def _data(reply: Reply) -> bytes:
    """Return the body of a reply as bytes: bytes and text as they are, the rest as JSON."""
    answer = reply.body
    payload = answer if isinstance(answer, (bytes, str)) else json.dumps(answer)
    return payload.encode() if isinstance(payload, str) else payload


def _closes(headers: Mapping[str, str]) -> bool:
    """Tell whether the reply's own headers say the connection closes after it."""
    return any(k.lower() == "connection" and v.lower() == "close" for k, v in headers.items())
