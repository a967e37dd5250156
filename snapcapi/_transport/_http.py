"""One logical HTTP request to Snap: authentication, retries, and redaction at the boundary.

:class:`HttpTransport` owns the ``requests`` session and the token. Its
:meth:`~HttpTransport.request` makes one logical request, retrying what a :class:`RetryPolicy`
allows, trying a refreshed token once after a 401, and returns what came back as a
:class:`Response` value. ``requests`` exceptions are translated here, and only here, into
:class:`~snapcapi.TransportError` with every token scrubbed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import attrs
import requests
from requests.adapters import HTTPAdapter

from snapcapi._transport._auth import AuthMode, TokenSource, apply_auth
from snapcapi._transport._redact import redact, redact_json, scrub
from snapcapi._transport._retry import RetryPolicy, retryable
from snapcapi.errors import ClientClosedError, SnapCapiError, TransportError

__all__ = ["HttpTransport", "Response", "new_session", "transport_error"]

logger = logging.getLogger("snapcapi")


@attrs.frozen
class Response:
    """The last answer to one logical request (after retries), or why there was none.

    Attributes:
        status: The HTTP status, None after a transport error.
        headers: The response headers (any mapping; read case-insensitively).
        body: The body parsed as JSON, None when it was not JSON.
        attempts: HTTP requests made for it (retries and a token refresh included).
        error: The transport error after the last attempt, if no answer came.
        unreadable: Why the body could not be read (not JSON, cut short, too large), or None
            when it was read or empty. A 2xx whose body is unreadable is no proof of success.
    """

    status: int | None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: Any = None
    attempts: int = 1
    error: TransportError | None = None
    unreadable: str | None = None


def transport_error(exc: requests.RequestException, secrets: tuple[str, ...]) -> TransportError:
    """Translate a ``requests`` exception into a :class:`TransportError`, tokens scrubbed.

    The ``requests`` exception stays chained as ``__cause__``, with its messages redacted and
    no traceback (:func:`~snapcapi._transport._redact.scrub`): the frames it came through hold
    the token in their locals.
    """
    scrub(exc, secrets)
    if isinstance(exc, requests.Timeout):
        kind = "timed out"
    elif isinstance(exc, requests.exceptions.SSLError):
        kind = "TLS failed"
    elif isinstance(exc, requests.ConnectionError):
        kind = "could not connect"
    else:
        kind = "request failed"
    error = TransportError(f"{kind}: {redact(str(exc), secrets)}")
    error.__cause__ = exc
    return error


def _transient(exc: requests.RequestException) -> bool:
    """Tell whether a failed request may succeed when tried again."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not fix itself
    return isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )


def _json(response: requests.Response) -> tuple[Any, str | None]:
    """Parse the body as JSON: ``(value, None)``, ``(None, None)`` if empty, else why not."""
    if not response.content.strip():
        return None, None
    try:
        return response.json(), None
    except RecursionError:
        return None, "the body is JSON nested beyond the parser's depth"
    except ValueError:
        return None, "the body is not JSON"


def new_session(pool_size: int) -> requests.Session:
    """Make a session pooling ``pool_size`` connections per host (one per worker thread)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_maxsize=max(10, pool_size))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class HttpTransport:
    """Make requests to Snap with the client's session, token and authentication mode.

    Args:
        token: Where the access token comes from.
        auth: ``"query"`` (the ``access_token`` parameter) or ``"bearer"`` (a header).
        user_agent: The ``User-Agent`` of every request.
        session: A session to use and leave open; one is made (and closed) otherwise.
        pool_size: Connections the session made here keeps per host.
    """

    def __init__(
        self,
        token: TokenSource,
        *,
        auth: AuthMode,
        user_agent: str,
        session: requests.Session | None = None,
        pool_size: int = 10,
    ) -> None:
        self.token = token
        self.auth: AuthMode = auth
        self.user_agent = user_agent
        self.owns_session = session is None
        self.session = session if session is not None else new_session(pool_size)
        self._pool_size = pool_size
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed.is_set()

    def close(self) -> None:
        """Close the session if it was made here; refuse requests from now on."""
        if not self._closed.is_set() and self.owns_session:
            self.session.close()
        self._closed.set()

    def reset_after_fork(self) -> None:
        """In a forked child: drop the parent's pooled connections (a session made here only).

        The inherited session is dropped without closing its sockets, which the parent uses.
        """
        if self.owns_session and not self.closed:
            self.session = new_session(self._pool_size)

    def request(
        self, method: str, url: str, body: bytes | None, *, policy: RetryPolicy, timeout: float
    ) -> Response:
        """Make one logical request, retrying what ``policy`` allows.

        A 401 with a token given as a callable asks it for a fresh token and tries once more
        (not counted against ``max_retries``).

        Raises:
            ClientClosedError: The client was closed.
            ValidationError: The token callable failed (raised, or gave no token).
        """
        try:
            return self._request(method, url, body, policy, timeout)
        except (SnapCapiError, KeyboardInterrupt) as exc:
            # The frames below hold the token in their locals: raise from here without them,
            # so that a traceback shown with its locals cannot show the token.
            raise exc.with_traceback(None)  # noqa: B904 (the same exception, not a new one)

    def _request(
        self, method: str, url: str, body: bytes | None, policy: RetryPolicy, timeout: float
    ) -> Response:
        attempts = retries = 0
        refreshed = False
        while True:
            if self._closed.is_set():
                raise ClientClosedError()
            attempts += 1
            token = self.token.current()
            try:
                response = self._send(method, url, body, token, timeout)
            except requests.RequestException as exc:
                error = transport_error(exc, self.token.secrets)
                retries += 1
                if not (_transient(exc) and policy.allows(retries)):
                    return Response(None, {}, None, attempts, error)
                self._wait(policy, retries, None, str(error), attempts)
                continue
            status = response.status_code
            if status == 401 and not refreshed and self.token.refresh(token) is not None:
                refreshed = True
                response.close()
                logger.debug("HTTP 401: retrying once with a refreshed access token")
                continue
            if retryable(status) and policy.allows(retries + 1):
                retries += 1
                wait = policy.retry_after(response.headers.get("Retry-After"))
                response.close()
                self._wait(policy, retries, wait, f"HTTP {status}", attempts)
                continue
            body, unreadable = _json(response)
            # Any answer (a 2xx refusal, a proxy's error page) may quote the request, token
            # and all: nothing the server said goes further unredacted.
            body = redact_json(body, self.token.secrets)
            return Response(status, response.headers, body, attempts, unreadable=unreadable)

    def _send(
        self, method: str, url: str, body: bytes | None, token: str, timeout: float
    ) -> requests.Response:
        params: dict[str, str] = {}
        headers = {"Content-Type": "application/json", "User-Agent": self.user_agent}
        apply_auth(self.auth, token, params, headers)
        return self.session.request(
            method,
            url,
            params=params,
            data=body,
            headers=headers,
            timeout=timeout,
            # Snap does not redirect; never carry the token to another URL.
            allow_redirects=False,
        )

    @staticmethod
    def _wait(
        policy: RetryPolicy, retry: int, retry_after: float | None, why: str, attempt: int
    ) -> None:
        delay = policy.delay(retry, retry_after)
        logger.debug("retrying in %.2fs after %s (attempt %d)", delay, why, attempt)
        policy.sleep(delay)
