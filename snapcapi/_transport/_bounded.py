"""Bounded answers: a deadline on every read of a response, and a cap on the size of its body.

A socket timeout bounds one read, not an answer: a server sending a byte every second never
trips it. So the connections of the session snapcapi makes (:class:`BoundedAdapter`) read
each response through :class:`_DeadlineReader`, which sets the socket's timeout to the time
left before the deadline of the attempt (:func:`deadline`) before every read, and fails the
read once that time is spent: status line, headers and body alike.

:func:`read_body` reads a streamed body, decompressing it here (not in urllib3), so that at
most :data:`MAX_BODY_BYTES` are read and at most that many decompressed: a body that would be
larger (a 300 MB answer, a gzip bomb) is left unread and said to be too large. It reads what
each socket read brings (``read1``), checking the deadline after every one, so that the body
of an answer on a connection of another session (``session=``) is bounded too: by the deadline
plus at most one read's timeout.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import io
import socket
import time
import zlib
from collections.abc import Iterator
from typing import Any, Protocol

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3 import connectionpool
from urllib3.connection import HTTPConnection, HTTPSConnection

__all__ = ["MAX_BODY_BYTES", "BoundedAdapter", "deadline", "read_body"]

#: The most of an answer's body that is read (decompressed): Snap's answers are a few KB.
MAX_BODY_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024
#: The most interim answers (``102``, ``103``) skipped before the final one.
_MAX_INTERIM = 20
_TOO_LARGE = f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB"

#: The monotonic time by which the answer being read must be complete, if any.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "snapcapi_deadline", default=None
)


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound the responses read in this block: complete by ``at`` (``time.monotonic``)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class _DeadlineReader(io.RawIOBase):
    """Read a socket, each read bounded by the time left before a deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, at: float) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._at = at
        self._restore = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer was not complete in time")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            # A kept-alive connection goes on with the timeout urllib3 gave it.
            with contextlib.suppress(OSError):
                self._sock.settimeout(self._restore)
            self._raw.close()
        super().close()


class _BoundedResponse(http.client.HTTPResponse):
    """An ``http.client`` response read through a :class:`_DeadlineReader`, if in a deadline."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        at = _DEADLINE.get()
        if at is None or not isinstance(self.fp, io.BufferedReader):
            return
        if not isinstance(self.fp.raw, socket.SocketIO) or not hasattr(sock, "settimeout"):
            return  # a TLS-in-TLS transport: its reads stay bounded per read only
        self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, at))

    def _read_status(self) -> tuple[str, int, str]:
        """Read the status line of the final answer, skipping interim ones (1xx but 101).

        ``http.client`` skips ``100 Continue`` only; ``102 Processing`` and ``103 Early
        Hints`` would be taken for the answer. Their headers are skipped as it skips 100's,
        and at most :data:`_MAX_INTERIM` of them are.
        """
        for _ in range(_MAX_INTERIM):
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 102 <= status < 200:
                return version, status, reason
            _skip_headers(self.fp)
        raise http.client.HTTPException(f"more than {_MAX_INTERIM} interim answers")


def _skip_headers(fp: Any) -> None:
    """Read the header lines of an interim answer, up to the empty line that ends them."""
    for _ in range(http.client._MAXHEADERS + 1):  # type: ignore[attr-defined]
        line = fp.readline(http.client._MAXLINE + 1)  # type: ignore[attr-defined]
        if len(line) > http.client._MAXLINE:  # type: ignore[attr-defined]
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return
    raise http.client.HTTPException(f"got more than {http.client._MAXHEADERS} headers")  # type: ignore[attr-defined]


class _BoundedHTTPConnection(HTTPConnection):
    response_class = _BoundedResponse


class _BoundedHTTPSConnection(HTTPSConnection):
    response_class = _BoundedResponse


# Named as urllib3's: their names are in the messages of the errors they raise.
class HTTPConnectionPool(connectionpool.HTTPConnectionPool):
    """A pool of :class:`_BoundedHTTPConnection`."""

    ConnectionCls = _BoundedHTTPConnection


class HTTPSConnectionPool(connectionpool.HTTPSConnectionPool):
    """A pool of :class:`_BoundedHTTPSConnection`."""

    ConnectionCls = _BoundedHTTPSConnection


_POOLS = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}


class BoundedAdapter(HTTPAdapter):
    """An adapter whose connections read their answers within :func:`deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Make the pool manager, with connections that keep the deadline."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Make the manager of a proxy, with connections that keep the deadline (not SOCKS)."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Decoder(Protocol):
    """What :func:`read_body` needs of a decompressor (``zlib``'s, or :class:`_Identity`)."""

    @property
    def eof(self) -> bool:
        """Whether the end of the stream was reached."""

    def decompress(self, data: bytes, /, max_length: int = 0) -> bytes:
        """Decompress ``data``, returning at most ``max_length`` bytes (0: no limit)."""

    def flush(self) -> bytes:
        """Return what is left to decompress."""


class _Identity:
    """The decoder of a body sent as it is."""

    eof = True

    def decompress(self, data: bytes, /, max_length: int = 0) -> bytes:
        """Return ``data`` as it is."""
        return data

    def flush(self) -> bytes:
        """Return nothing: nothing is held back."""
        return b""


def _decoder(encoding: str) -> _Decoder | None:
    """Return the decoder of a ``Content-Encoding`` snapcapi asked for, else None."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped, as HTTP means it
    return None


def _read(raw: Any, amount: int, at: float) -> bytes:
    """Read what one socket read gives of the body as sent (at most ``amount`` bytes).

    urllib3's errors are translated into ``requests``'. Where the socket is reachable (a
    connection of a session snapcapi did not make), its timeout is first set to the time left
    before ``at``.
    """
    _bound_socket(raw, at)
    try:
        return bytes(raw.read1(amount, decode_content=False))
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.ConnectionError(exc) from exc


def _bound_socket(raw: Any, at: float) -> None:
    """Set the timeout of the socket under ``raw`` to the time left before ``at``, if reachable."""
    fp = getattr(getattr(raw, "_fp", None), "fp", None)
    reader = getattr(fp, "raw", None)
    if isinstance(reader, _DeadlineReader):
        return  # it does so itself, before every read
    sock = getattr(reader, "_sock", None)
    if isinstance(reader, socket.SocketIO) and sock is not None:
        with contextlib.suppress(OSError, ValueError):
            sock.settimeout(max(at - time.monotonic(), 0.001))


def _declared_too_large(declared: str) -> bool:
    """Tell whether a ``Content-Length`` says more than :data:`MAX_BODY_BYTES` (ASCII digits)."""
    declared = declared.strip().lstrip("0")
    if not (declared.isascii() and declared.isdigit()):
        return False
    # Compared by length first: int() refuses digits past the int-string limit (4,300).
    limit = str(MAX_BODY_BYTES)
    return len(declared) > len(limit) or (len(declared) == len(limit) and declared > limit)


def read_body(response: requests.Response, at: float) -> tuple[bytes, str | None]:
    """Read a streamed body by ``at`` (``time.monotonic``), at most :data:`MAX_BODY_BYTES`.

    Returns:
        The body, decompressed, and None; or ``b""`` and why it cannot be read (too large,
        in an encoding snapcapi did not ask for, corrupt).

    Raises:
        requests.RequestException: The connection failed, or the deadline passed, before
            the body was complete (``ReadTimeout``).
    """
    if _declared_too_large(response.headers.get("Content-Length", "")):
        return b"", _TOO_LARGE
    encoding = response.headers.get("Content-Encoding", "")
    decoder = _decoder(encoding)
    if decoder is None:  # not quoted: a server may echo anything there, the token too
        return b"", "the body is in an encoding snapcapi did not ask for"
    encoding = encoding.strip().lower()  # one of the few _decoder knows
    body, sent = bytearray(), 0
    while True:
        if time.monotonic() >= at:
            raise requests.exceptions.ReadTimeout("the answer was not complete in time")
        chunk = _read(response.raw, _CHUNK, at)
        if not chunk:
            break
        sent += len(chunk)
        try:
            body += decoder.decompress(chunk, MAX_BODY_BYTES - len(body) + 1)
        except zlib.error:
            return b"", f"the body's {encoding} encoding is corrupt"
        if len(body) > MAX_BODY_BYTES or sent > MAX_BODY_BYTES:
            return b"", _TOO_LARGE
    try:
        body += decoder.flush()
    except zlib.error:
        return b"", f"the body's {encoding} encoding is corrupt"
    if not decoder.eof:
        return b"", f"the body is cut short (its {encoding} stream does not end)"
    if len(body) > MAX_BODY_BYTES:
        return b"", _TOO_LARGE
    return bytes(body), None
