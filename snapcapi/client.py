"""``Client``: batch, send and validate events against Snap's Conversions API v3.

This module is the client's public face: its options (and their environment fallbacks), its
lifecycle, and the calls. The machinery lives in :mod:`snapcapi._transport`: the HTTP request
with its retry policy and redaction (``_http``, ``_retry``, ``_redact``, ``_auth``), the pure
judge of Snap's answers (``_answers``, ``_judge``), and the send pipeline (``_prepare``,
``_batching``, ``_delivery``, ``_pipeline``), which the client composes for each call.
"""

from __future__ import annotations

import platform
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import requests

from snapcapi._transport import _wire
from snapcapi._transport._answers import read_logs, read_stats
from snapcapi._transport._auth import AuthMode
from snapcapi._transport._batching import Batch
from snapcapi._transport._config import (
    DEFAULT_BASE_URL,
    missing_asset_ids,
    read_asset_id,
    read_auth,
    read_base_url,
    read_seconds,
    read_token,
    read_whole,
)
from snapcapi._transport._delivery import BatchDelivery, Brake, DeliverySettings, Post
from snapcapi._transport._http import HttpTransport, Response
from snapcapi._transport._judge import get_body
from snapcapi._transport._pipeline import PipelineSettings, SendPipeline
from snapcapi._transport._prepare import Preparer
from snapcapi._transport._redact import install_log_filter
from snapcapi._transport._retry import RetryPolicy
from snapcapi._version import __version__
from snapcapi.errors import ClientClosedError, ValidationError
from snapcapi.events import Event
from snapcapi.normalize import country as _country
from snapcapi.results import EventResult, SendResult, ValidationLog, ValidationStats

__all__ = ["DEFAULT_BASE_URL", "Client"]


def _check_session(session: requests.Session | None) -> None:
    """Refuse a session with TLS verification off, however it says so (``0``, ``""``...)."""
    if session is None:
        return
    verify = session.verify
    if verify is True or (isinstance(verify, str) and verify.strip()):
        return
    raise ValidationError(
        "session",
        f"has TLS verification turned off (verify={verify!r}); snapcapi refuses that: leave "
        "session.verify at True, or set it to the path of a CA bundle",
    )


@attrs.define(init=False, repr=False, eq=False)
class Client:
    """A synchronous client for Snap's Conversions API v3.

    Args:
        pixel_id: The Pixel ID, for ``WEB`` and ``OFFLINE`` events (else ``SNAP_PIXEL_ID``).
        access_token: The Conversions API token (else ``SNAP_ACCESS_TOKEN``), or a callable
            returning the current token (for OAuth tokens that expire): asked on the first
            request, then again once after a 401 before that request is retried. It is never
            logged or shown.
        snap_app_id: The Snap App ID, for ``MOBILE_APP`` events (else ``SNAP_APP_ID``).
        base_url: Snap's host (else ``SNAP_CAPI_BASE_URL``, else ``https://tr.snapchat.com``);
            must be ``https`` unless it is a loopback address (the fake server).
        auth: ``"query"``: the token goes in the ``access_token`` query parameter, as Snap
            documents v3; ``"bearer"``: in an ``Authorization: Bearer`` header instead.
        timeout: Seconds one attempt of a request may take in all: connecting, sending, and
            reading the status, headers and body (a server that answers a byte at a time
            cannot stretch it).
        deadline: Seconds one request may take in all, its retries and the waits before them
            included; a retry that would end past it is not made, and the request's events
            are ``FAILED`` (safe to resend). By default, the longest the other settings
            allow: ``(max_retries + 1) × timeout`` plus the backoff ceiling of each retry
            (``min(backoff_max, backoff_base × 2^(n-1))`` for retry ``n``).
        max_retries: Retries of one request after a connection error, a timeout, 408, 429 or
            5xx, with capped exponential backoff, full jitter and ``Retry-After`` honoured.
        batch_size: Events per request, at most 2,000 (Snap's limit).
        max_batch_bytes: Bytes of JSON per request.
        max_workers: Requests in flight at once (threads); results keep input order anyway.
        default_region: Region for phone numbers of users with neither a ``country`` nor a
            ``region`` (never overrides either; see ``docs/normalization.md``).
        require_consent: Send only events whose ``consent`` is ``True``; others are SKIPPED.
        session: A ``requests.Session`` to use (and leave open); one is made otherwise. Its
            TLS verification must stay on (a CA bundle path is fine): it is enforced on every
            request to a host other than loopback whatever ``session.verify`` says later.
        max_resends: How often a batch is re-sent after Snap rejects one of its events.
        max_isolation_requests: Requests spent, per batch Snap refuses without naming the bad
            event, sending halves of it to find the bad events. ``k`` bad events among ``n``
            take at most ``1 + 2·k·⌈log2 n⌉`` requests, the first included: 221 for 10 in
            2,000, within the default 250. Events still unresolved then are REJECTED, blaming
            none; 0 turns isolation off. Once a batch's isolation found no event Snap
            accepts, the refusal is about the request, and the send's later refused batches
            are rejected whole.
        backoff_base, backoff_max: Backoff of the first retry and the cap, in seconds.
        retry_after_max: The longest ``Retry-After`` honoured, in seconds.
        sleep, clock, now, rng: Injectable ``time.sleep``, ``time.monotonic``, ``time.time``
            and random source, so tests run instantly and deterministically.

    Raises:
        ValidationError: A missing or blank token or asset id, a bad ``base_url`` or ``auth``,
            a session with TLS verification off, or a setting out of range; the error names
            the argument.
    """

    pixel_id: str | None
    snap_app_id: str | None
    base_url: str
    auth: AuthMode
    timeout: float
    deadline: float
    max_retries: int
    batch_size: int
    max_batch_bytes: int
    max_workers: int
    default_region: str | None
    require_consent: bool
    max_resends: int
    max_isolation_requests: int
    backoff_base: float
    backoff_max: float
    retry_after_max: float
    _http: HttpTransport
    _sleep: Callable[[float], None]
    _clock: Callable[[], float]
    _now: Callable[[], float]
    _rng: random.Random

    def __init__(
        self,
        pixel_id: str | None = None,
        access_token: str | Callable[[], str] | None = None,
        *,
        snap_app_id: str | None = None,
        base_url: str | None = None,
        auth: AuthMode = "query",
        timeout: float = 10.0,
        deadline: float | None = None,
        max_retries: int = 5,
        batch_size: int = 2000,
        max_batch_bytes: int = 2_000_000,
        max_workers: int = 1,
        default_region: str | None = None,
        require_consent: bool = False,
        session: requests.Session | None = None,
        max_resends: int = 50,
        max_isolation_requests: int = 250,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        token = read_token(access_token)
        self.pixel_id = read_asset_id(pixel_id, "pixel_id")
        self.snap_app_id = read_asset_id(snap_app_id, "snap_app_id")
        if not self.pixel_id and not self.snap_app_id:
            raise missing_asset_ids()
        self.base_url = read_base_url(base_url)
        self.auth = read_auth(auth)
        self.timeout = read_seconds("timeout", timeout)
        self.batch_size = read_whole("batch_size", batch_size, 1, 2000)  # 2000: Snap's limit
        self.max_batch_bytes = read_whole("max_batch_bytes", max_batch_bytes, 1024)
        self.max_workers = read_whole("max_workers", max_workers, 1)
        self.max_resends = read_whole("max_resends", max_resends, 0)
        self.max_isolation_requests = read_whole(
            "max_isolation_requests", max_isolation_requests, 0
        )
        self.max_retries = read_whole("max_retries", max_retries, 0)
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.retry_after_max = retry_after_max
        self._sleep, self._clock, self._now = sleep, clock, now
        self._rng = rng if rng is not None else random.Random()
        checked = self._policy(deadline=False)  # checks the retry settings, naming the bad one
        self.deadline = (
            read_seconds("deadline", deadline)
            if deadline is not None
            else checked.longest(self.timeout)
        )
        self.default_region = _country(default_region) if default_region else None
        self.require_consent = require_consent
        _check_session(session)
        install_log_filter()
        agent, workers = self.user_agent, self.max_workers
        self._http = HttpTransport(
            token, auth=self.auth, user_agent=agent, session=session, pool_size=workers
        )

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the HTTP session if the client made it. Safe to call more than once.

        A closed client refuses to send: :class:`~snapcapi.errors.ClientClosedError`.
        """
        self._http.close()

    def __enter__(self) -> Client:
        self._check_open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Client(pixel_id={self.pixel_id!r}, snap_app_id={self.snap_app_id!r}, "
            f"base_url={self.base_url!r})"
        )

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` sent with every request."""
        return (
            f"snapcapi/{__version__} (python/{platform.python_version()}; "
            f"requests/{requests.__version__})"
        )

    def _check_open(self) -> None:
        if self._http.closed:
            raise ClientClosedError()

    # ------------------------------------------------------------------ public calls

    def send(
        self,
        events: Iterable[Event],
        *,
        test_event_code: str | None = None,
        on_result: Callable[[EventResult], object] | None = None,
        keep_results: bool = True,
    ) -> SendResult:
        """Send events to ``/v3/{asset_id}/events``, batched, and report on every one.

        Events are read lazily: at most one batch per asset is being filled and at most
        ``max_workers`` requests are in flight, so a generator of millions of events is fine.
        Events unfit to send are reported ``INVALID`` (with ``require_consent``, events without
        consent ``SKIPPED``) and not sent. When Snap refuses a batch without naming the bad
        event, halves of it are sent (``max_isolation_requests``) so that only the bad events
        end ``REJECTED``; once a batch's isolation found no event Snap accepts, later refused
        batches of the send are rejected whole.

        Args:
            events: Any iterable of :class:`~snapcapi.Event`.
            test_event_code: Put at the body root: Snap shows the events in its test tool and
                does not record them as conversions.
            on_result: Called once with each event's result as soon as it is final, in the
                calling thread, in the order results become final (not input order): for
                progress displays and reports written as the send goes. Its first exception
                propagates (with ``.snapcapi_result``) once the results of the batch at hand
                are recorded; it is still called for the results settled while stopping, and
                what it raises then is ignored.
            keep_results: With ``False``, the returned result keeps only the counts per
                status (a byte per event), and the per-event results reach you through
                ``on_result`` alone: for endless streams.

        Returns:
            One :class:`~snapcapi.EventResult` per input event, in input order.

        Raises:
            AuthenticationError: Snap refused the token (401/403, after asking a token
                callable once more); ``.result`` holds the statuses reached so far.
            ValidationError: An event needs an asset id the client lacks (a MOBILE_APP event
                without ``snap_app_id``), or the token callable failed; ``.result`` holds the
                statuses so far.
            ClientClosedError: The client was closed.
        """
        root = b""
        if test_event_code is not None:
            code = str(test_event_code).strip()
            if not code:
                raise ValidationError("test_event_code", "is empty")
            root = b',"test_event_code":' + _wire.encode(code)
        return self._run(events, "events", root, on_result, keep_results)

    def validate(
        self,
        events: Iterable[Event],
        *,
        on_result: Callable[[EventResult], object] | None = None,
        keep_results: bool = True,
    ) -> SendResult:
        """Send events to Snap's ``/events/validate`` endpoint; nothing is recorded.

        Each event's result says how Snap judged it: ``ACCEPTED`` for VALID, ``REJECTED`` with
        Snap's codes and messages for INVALID, warnings in ``warnings``. ``on_result`` and
        ``keep_results`` are as for :meth:`send`.
        """
        return self._run(events, "events/validate", b"", on_result, keep_results)

    def validation_logs(self, *, asset_id: str | None = None) -> tuple[ValidationLog, ...]:
        """Read ``/events/validate/logs``: how Snap judged recent test events (24 hours).

        Raises:
            APIError: Snap answered with an error (its request id in ``request_id``);
                ``AuthenticationError`` for 401/403, ``RateLimitError`` for 429.
            TransportError: Snap could not be reached.
            ValidationError: The token callable failed (raised, or gave no token).
            ClientClosedError: The client was closed.
        """
        return read_logs(self._get(asset_id, "events/validate/logs"))

    def validation_stats(self, *, asset_id: str | None = None) -> ValidationStats:
        """Read ``/events/validate/stats``: test and live event counts of the past hour.

        Raises:
            APIError: As for :meth:`validation_logs`.
            TransportError: Snap could not be reached.
            ValidationError: The token callable failed (raised, or gave no token).
            ClientClosedError: The client was closed.
        """
        return read_stats(self._get(asset_id, "events/validate/stats"))

    # ------------------------------------------------------------------ composing the machinery

    def _policy(self, *, deadline: bool = True) -> RetryPolicy:
        """Build the retry policy of the client's current settings (``deadline``: with it)."""
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            retry_after_max=self.retry_after_max,
            deadline=self.deadline if deadline else None,
            sleep=self._sleep,
            clock=self._clock,
            now=self._now,
            rng=self._rng,
        )

    def _poster(self, endpoint: str, policy: RetryPolicy, stopping: threading.Event) -> Post:
        """Make a ``post(asset_id, body)`` for ``endpoint`` with the current settings.

        Its waits before a retry end, and no retry is made, once the send is ``stopping``.
        """
        http, base, timeout = self._http, self.base_url, self.timeout

        def post(asset_id: str, body: bytes) -> Response:
            url = f"{base}/v3/{asset_id}/{endpoint}"
            return http.request(
                "POST", url, body, policy=policy, timeout=timeout, stopping=stopping
            )

        return post

    def _run(
        self,
        events: Iterable[Event],
        endpoint: str,
        root: bytes,
        on_result: Callable[[EventResult], object] | None,
        keep_results: bool,
    ) -> SendResult:
        self._check_open()
        self._http.token.start_call()
        policy = self._policy()
        stopping, brake = threading.Event(), Brake()  # shared by the batches of this send
        post = self._poster(endpoint, policy, stopping)
        assets = {self.snap_app_id: "snap_app_id", self.pixel_id: "pixel_id"}
        settings = DeliverySettings(
            self.max_resends,
            self.max_isolation_requests,
            root,
            {asset: name for asset, name in assets.items() if asset},
            expect_logs=endpoint == "events/validate",
        )

        def start(batch: Batch) -> BatchDelivery:
            return BatchDelivery(
                batch, post, settings, policy.clock, stopping=stopping, brake=brake
            )

        preparer = Preparer(
            self.pixel_id, self.snap_app_id, self.require_consent, self.default_region
        )
        limits = PipelineSettings(
            self.batch_size, self.max_batch_bytes, self.max_workers, len(root)
        )
        pipeline = SendPipeline(preparer.prepare, start, limits, self._now, stopping)
        return pipeline.run(events, on_result, keep_results)

    def _get(self, asset_id: str | None, endpoint: str) -> Any:
        self._check_open()
        self._http.token.start_call()
        asset = asset_id or self.pixel_id or self.snap_app_id
        url = f"{self.base_url}/v3/{asset}/{endpoint}"
        response = self._http.request("GET", url, None, policy=self._policy(), timeout=self.timeout)
        return get_body(endpoint, response)
