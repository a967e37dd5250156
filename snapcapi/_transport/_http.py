"""One logical HTTP request to Snap: authentication, retries, deadlines and redaction.

:class:`HttpTransport` owns the ``requests`` session and the token. Its
:meth:`~HttpTransport.request` makes one logical request, retrying what a :class:`RetryPolicy`
allows within its deadline, trying a refreshed token once after a 401, and returns what came
back as a :class:`Response` value. Every attempt is bounded as a whole (connect, send, headers,
body: :mod:`~snapcapi._transport._bounded`), its body capped in size; certificates are verified
and proxies skipped for loopback hosts whatever the session says. ``requests`` exceptions are
translated here, and only here, into :class:`~snapcapi.TransportError` with every token
scrubbed; any other exception leaves without the frames that held the token.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from snapcapi._transport._auth import AuthMode, TokenSource, apply_auth
from snapcapi._transport._bounded import BoundedAdapter, deadline, read_body
from snapcapi._transport._config import is_loopback_url
from snapcapi._transport._fork import renew_in_child
from snapcapi._transport._redact import redact, scrub
from snapcapi._transport._retry import RetryPolicy, retryable
from snapcapi.errors import ClientClosedError, TransportError

__all__ = ["HttpTransport", "Response", "new_session", "transport_error"]

logger = logging.getLogger("snapcapi")

#: The encodings asked for: the ones :func:`~snapcapi._transport._bounded.read_body` reads.
_ACCEPT_ENCODING = "gzip, deflate"
#: Proxy settings that send a request direct, whatever the session or the environment say.
_NO_PROXY = ("http", "https", "all")


@attrs.frozen
class Response:
    """The last answer to one logical request (after retries), or why there was none.

    Attributes:
        status: The HTTP status, None after a transport error.
        headers: The response headers (any mapping; read case-insensitively), tokens redacted.
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


def transport_error(
    exc: requests.RequestException, secrets: tuple[str, ...], *, within: float | None = None
) -> TransportError:
    """Translate a ``requests`` exception into a :class:`TransportError`, tokens scrubbed.

    The ``requests`` exception stays chained as ``__cause__``, with its messages redacted and
    no traceback (:func:`~snapcapi._transport._redact.scrub`): the frames it came through hold
    the token in their locals.

    Args:
        exc: What ``requests`` raised.
        secrets: Every token value to remove from the text.
        within: The seconds the attempt had, when it ran out of them: the message says so.
    """
    scrub(exc, secrets)
    detail = redact(str(exc), secrets)
    if within is not None and isinstance(exc, requests.exceptions.ConnectTimeout):
        text = f"timed out: could not connect within {within:.3g}s"
    elif within is not None:
        text = f"timed out: no complete answer within {within:.3g}s"
    elif isinstance(exc, requests.Timeout):
        text = f"timed out: {detail}"
    elif isinstance(exc, requests.exceptions.SSLError):
        text = f"TLS failed: {detail}"
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
        text = f"the answer was cut short: {detail}"
    elif isinstance(exc, requests.ConnectionError) and _broken_answer(exc):
        text = f"the connection broke or the answer was malformed: {detail}"
    elif isinstance(exc, requests.ConnectionError):
        text = f"could not connect: {detail}"
    else:
        text = f"request failed: {detail}"
    error = TransportError(text)
    error.__cause__ = exc
    return error


def _broken_answer(exc: requests.RequestException) -> bool:
    """Tell whether a connection error came after connecting (urllib3's ``ProtocolError``)."""
    return any(isinstance(arg, urllib3.exceptions.ProtocolError) for arg in exc.args)


def _transient(exc: requests.RequestException) -> bool:
    """Tell whether a failed request may succeed when tried again."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not fix itself
    return isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )


def _json(content: bytes, secrets: tuple[str, ...]) -> tuple[Any, str | None]:
    """Parse a body as JSON, tokens removed: ``(value, None)``, ``(None, None)``, or why not.

    The text is redacted before it is parsed (:func:`~snapcapi._transport._redact.redact`
    knows the JSON-escaped spellings of a token), in one pass over it: no walk of the parsed
    value, which may nest as deep as the parser allows.
    """
    content = content.removeprefix(codecs.BOM_UTF8)
    if not content.strip():
        return None, None
    try:
        text = redact(content.decode(json.detect_encoding(content)), secrets)
        return json.loads(text), None
    except RecursionError:
        return None, "the body is JSON nested beyond the parser's depth"
    except ValueError:  # UnicodeDecodeError included
        return None, "the body is not JSON"


def new_session(pool_size: int) -> requests.Session:
    """Make a session pooling ``pool_size`` connections per host (one per worker thread).

    Its connections read every answer within the deadline of the attempt
    (:class:`~snapcapi._transport._bounded.BoundedAdapter`).
    """
    session = requests.Session()
    adapter = BoundedAdapter(pool_maxsize=max(10, pool_size))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _verify(session: requests.Session, url: str) -> bool | str | None:
    """Return the ``verify`` of a request: certificates are checked beyond loopback, always.

    A CA bundle the session names (a non-empty path) is used, passed with the request so
    that ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` cannot replace it (``requests`` lets them
    replace a session's); ``False``, ``0``, ``""`` or ``None`` there, set at any time, is not
    followed. For a loopback host (a test server), any other setting of the session stands.
    """
    bundle = session.verify
    if isinstance(bundle, str) and bundle.strip():
        return bundle
    return None if is_loopback_url(url) else True


def _proxies(url: str) -> dict[str, str | None] | None:
    """Return the ``proxies`` of a request: none for a loopback host, whatever is configured.

    A proxy between snapcapi and a test server on loopback can only be in the way; and the
    request to it may be plain http, which would show the token to the proxy.
    """
    if not is_loopback_url(url):
        return None
    hostname = urlsplit(url).hostname  # as requests reads it to choose a proxy
    keys = (*_NO_PROXY, *(f"{scheme}://{hostname}" for scheme in _NO_PROXY))
    return dict.fromkeys(keys)


@contextlib.contextmanager
def _certificate_files() -> Iterator[None]:
    """Turn ``requests``' bare ``OSError`` for a CA bundle it cannot read into a TLS failure.

    ``requests`` raises it before connecting when ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``
    or ``session.verify`` (or ``session.cert``) names a file that is not there; it is not
    retried (:func:`_transient`).
    """
    try:
        yield
    except requests.RequestException:
        raise
    except OSError as exc:
        raise requests.exceptions.SSLError(
            f"{exc}; check the CA bundle setting (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, "
            "session.verify) or the client certificate (session.cert)"
        ) from exc


@attrs.frozen
class _Attempt:
    """What one HTTP request brought back: a status and headers (body read or not)."""

    status: int
    headers: Mapping[str, str]
    response: requests.Response
    ends: float  # the monotonic time by which its body must be read


class HttpTransport:
    """Make requests to Snap with the client's session, token and authentication mode.

    The session made here is replaced in a forked child before its first request there (it
    would share the parent's pooled connections, and read the parent's answers); a session
    given is used as it is, in every process.

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
        renew_in_child(self)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed.is_set()

    def close(self) -> None:
        """Close the session if it was made here; refuse requests from now on."""
        if not self._closed.is_set() and self.owns_session:
            self.session.close()
        self._closed.set()

    def after_fork(self) -> None:
        """In a forked child: drop the parent's pooled connections (a session made here only).

        The inherited session is dropped without closing its sockets, which the parent uses.
        """
        if self.owns_session and not self.closed:
            self.session = new_session(self._pool_size)

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        *,
        policy: RetryPolicy,
        timeout: float,
        stopping: threading.Event | None = None,
    ) -> Response:
        """Make one logical request, retrying what ``policy`` allows within its deadline.

        Each attempt is bounded by ``timeout`` as a whole (connect, send, status, headers
        and body), and all of them, with the waits between them, by ``policy.deadline``: a
        wait that would pass it is not made, the last answer (or error) is returned instead.
        A 401 with a token given as a callable asks it for a fresh token and tries once more
        (not counted against ``max_retries``).

        Args:
            method: ``"POST"`` or ``"GET"``.
            url: The URL, without the token.
            body: The JSON body, if any.
            policy: Retries, waits and the deadline.
            timeout: Seconds one attempt may take in all.
            stopping: Set when the send stops early: waits end, no retry is made.

        Raises:
            ClientClosedError: The client was closed.
            ValidationError: The token callable failed (raised, or gave no token).
        """
        try:
            return self._request(method, url, body, policy, timeout, stopping)
        except BaseException as exc:
            # The frames below hold the token in their locals (the URL, the headers, the
            # parameters), and so may the exceptions chained to this one: raise it without
            # them, its text redacted, so that a traceback shown with its locals (an error
            # tracker's) cannot show the token.
            scrub(exc, self.token.secrets)
            raise exc.with_traceback(None)  # noqa: B904 (the same exception, not a new one)

    def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        policy: RetryPolicy,
        timeout: float,
        stopping: threading.Event | None,
    ) -> Response:
        clock = policy.clock
        ends = clock() + (policy.deadline if policy.deadline is not None else float("inf"))
        attempts = retries = 0
        refreshed = False
        while True:
            if self._closed.is_set():
                raise ClientClosedError()
            attempts += 1
            limit = min(timeout, ends - clock())
            token = self.token.current()
            try:
                attempt = self._send(method, url, body, token, limit)
                try:
                    status = attempt.status
                    if (
                        status == 401
                        and not refreshed
                        and ends > clock()  # else the 401 is the answer
                        and self.token.refresh(token) is not None
                    ):
                        refreshed = True
                        logger.debug("HTTP 401: retrying once with a refreshed access token")
                        continue
                    if retryable(status) and policy.allows(retries + 1):
                        wait = policy.retry_after(attempt.headers.get("Retry-After"))
                        delay = self._delay(policy, retries + 1, wait, f"HTTP {status}", ends)
                        if delay is not None:
                            retries += 1
                            attempt.response.close()  # not kept open while waiting
                            if not policy.pause(delay, stopping):
                                return Response(status, attempt.headers, None, attempts)
                            continue
                    return self._answer(attempt, attempts)
                finally:
                    attempt.response.close()
            except requests.RequestException as exc:
                within = limit if isinstance(exc, requests.Timeout) and limit > 0 else None
                error = transport_error(exc, self.token.secrets, within=within)
                retries += 1
                if not (_transient(exc) and policy.allows(retries)):
                    return Response(None, {}, None, attempts, error)
                delay = self._delay(policy, retries, None, str(error), ends)
                if delay is None or not policy.pause(delay, stopping):
                    return Response(None, {}, None, attempts, error)

    def _send(
        self, method: str, url: str, body: bytes | None, token: str, limit: float
    ) -> _Attempt:
        """Make one HTTP request of at most ``limit`` seconds; return its status and headers."""
        params: dict[str, str] = {}
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            "Accept-Encoding": _ACCEPT_ENCODING,
        }
        apply_auth(self.auth, token, params, headers)
        session = self.session
        if limit <= 0:
            raise requests.exceptions.ConnectTimeout("the deadline passed before this attempt")
        ends = time.monotonic() + limit
        with deadline(ends), _certificate_files():
            response = session.request(
                method,
                url,
                params=params,
                data=body,
                headers=headers,
                timeout=(limit, limit),
                # Snap does not redirect; never carry the token to another URL.
                allow_redirects=False,
                stream=True,  # the body is read here, within the deadline and capped
                verify=_verify(session, url),
                proxies=_proxies(url),  # type: ignore[arg-type]  # None: that key is dropped
            )
        secrets = self.token.secrets
        answered = CaseInsensitiveDict({k: redact(v, secrets) for k, v in response.headers.items()})
        return _Attempt(response.status_code, answered, response, ends)

    def _answer(self, attempt: _Attempt, attempts: int) -> Response:
        """Read the body of the final answer (capped, by its deadline) into a :class:`Response`.

        Raises:
            requests.RequestException: The body was cut short or not complete in time.
        """
        content, unreadable = read_body(attempt.response, attempt.ends)
        body = None
        if unreadable is None:
            # Any answer (a 2xx refusal, a proxy's error page) may quote the request, token
            # and all: nothing the server said goes further unredacted.
            body, unreadable = _json(content, self.token.secrets)
        return Response(attempt.status, attempt.headers, body, attempts, unreadable=unreadable)

    @staticmethod
    def _delay(
        policy: RetryPolicy, retry: int, retry_after: float | None, why: str, ends: float
    ) -> float | None:
        """Return the wait before retry number ``retry``; None if it would pass the deadline."""
        delay = policy.delay(retry, retry_after)
        if delay >= ends - policy.clock():
            logger.debug("not retrying after %s: waiting %.2fs would pass the deadline", why, delay)
            return None
        logger.debug("retrying in %.2fs after %s (retry %d)", delay, why, retry)
        return delay
