"""``Client``: batch, send and validate events against Snap's Conversions API v3."""

from __future__ import annotations

import collections
import contextlib
import email.utils
import ipaddress
import logging
import os
import platform
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import attrs
import requests
from requests.adapters import HTTPAdapter

from snapcapi import _wire
from snapcapi._batching import Batch, Batcher, Item, join_body
from snapcapi.enums import ActionSource
from snapcapi.errors import (
    APIError,
    AuthenticationError,
    RateLimitError,
    SnapCapiError,
    TransportError,
    ValidationError,
)
from snapcapi.events import Event
from snapcapi.normalize import country as _country
from snapcapi.results import (
    EventResult,
    EventStatus,
    ResultStore,
    SendResult,
    StatsWindow,
    ValidationLog,
    ValidationStats,
)

__all__ = ["DEFAULT_BASE_URL", "Client"]

logger = logging.getLogger("snapcapi")

DEFAULT_BASE_URL = "https://tr.snapchat.com"
#: Statuses retried besides every 5xx.
RETRY_STATUSES = frozenset({408, 429})
_TOKEN_IN_TEXT = re.compile(r"(access_token=)[^&\s\"'#]+")


def _redact(text: str, token: str | None = None) -> str:
    """Remove an access token from text: both as a query parameter and anywhere verbatim."""
    text = _TOKEN_IN_TEXT.sub(r"\1***", text)
    if token:
        text = text.replace(token, "***")
    return text


class _RedactTokens(logging.Filter):
    """Scrub ``access_token=...`` from records of loggers that print request URLs (urllib3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging to report
            return True
        record.msg = _redact(message)
        record.args = ()
        return True


_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests")
_FILTER = _RedactTokens()
for _name in _URL_LOGGERS:
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


def _scrub(exc: BaseException, token: str, seen: set[int] | None = None) -> None:
    """Remove the token from an exception chain's messages in place (they quote the URL)."""
    seen = seen if seen is not None else set()
    if id(exc) in seen:
        return
    seen.add(id(exc))
    args: list[Any] = []
    for arg in exc.args:
        if isinstance(arg, BaseException):
            _scrub(arg, token, seen)
            args.append(arg)
        elif isinstance(arg, str):
            args.append(_redact(arg, token))
        else:
            args.append(arg)
    exc.args = tuple(args)
    for attribute in ("url", "reason"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str):
            setattr(exc, attribute, _redact(value, token))
        elif isinstance(value, BaseException):
            _scrub(value, token, seen)
    for attribute in ("request", "response"):
        # A request's URL carries the token, as do a response's and its redirect history.
        if getattr(exc, attribute, None) is not None:
            setattr(exc, attribute, None)
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            _scrub(linked, token, seen)


def transport_error(exc: requests.RequestException, token: str) -> TransportError:
    """Translate a ``requests`` exception into a :class:`TransportError`, token scrubbed."""
    _scrub(exc, token)
    if isinstance(exc, requests.Timeout):
        kind = "timed out"
    elif isinstance(exc, requests.exceptions.SSLError):
        kind = "TLS failed"
    elif isinstance(exc, requests.ConnectionError):
        kind = "could not connect"
    else:
        kind = "request failed"
    error = TransportError(f"{kind}: {_redact(str(exc), token)}")
    error.__cause__ = exc
    return error


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env(value: str | None, name: str) -> str | None:
    if value is not None:
        return value
    found = os.environ.get(name, "").strip()
    return found or None


@attrs.frozen
class _Outcome:
    """The last response (or transport error) for one request, after retries."""

    status: int | None
    body: Any
    attempts: int
    error: TransportError | None = None
    retry_after: float | None = None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested beyond the parser's depth
        return None


def _retryable(status: int) -> bool:
    return status >= 500 or status in RETRY_STATUSES


def _transient(exc: requests.RequestException) -> bool:
    """Tell whether a failed request may succeed when tried again."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not fix itself
    return isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )


def _strings(value: Any) -> tuple[str, ...]:
    """Read a list of strings from a response field of any shape."""
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None)
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _count(value: Any) -> int:
    """Read a count or timestamp from a response field of any shape (0 when unreadable)."""
    if isinstance(value, bool):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _final(
    item: Item,
    outcome: _Outcome,
    attempts: Mapping[int, int],
    status: EventStatus,
    reason: str | None,
    *,
    codes: tuple[str, ...] = (),
    messages: tuple[str, ...] = (),
    warnings: tuple[str, ...] = (),
) -> EventResult:
    """Build the final result of one event after ``outcome``."""
    return EventResult(
        item.index,
        item.event_id,
        status,
        reason,
        codes=codes,
        messages=messages,
        warnings=item.warnings + warnings,
        http_status=outcome.status,
        attempts=attempts[item.index],
    )


def _snap_errors(body: Any) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """Read Snap's (reason, codes, messages) from an error body of any shape."""
    if not isinstance(body, Mapping):
        return None, (), ()
    errors = body.get("errors")
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    if isinstance(errors, Mapping):
        codes = _strings(errors.get("codes"))
        messages = _strings(errors.get("error_msgs"))
    reason = body.get("reason")
    return (str(reason) if reason else None), codes, messages


@attrs.define(init=False, repr=False)
class Client:
    """A synchronous client for Snap's Conversions API v3.

    Args:
        pixel_id: The Pixel ID, for ``WEB`` and ``OFFLINE`` events (else ``SNAP_PIXEL_ID``).
        access_token: The Conversions API token (else ``SNAP_ACCESS_TOKEN``). It is sent as the
            ``access_token`` query parameter, as Snap documents, and never logged or shown.
        snap_app_id: The Snap App ID, for ``MOBILE_APP`` events (else ``SNAP_APP_ID``).
        base_url: Snap's host (else ``SNAP_CAPI_BASE_URL``, else ``https://tr.snapchat.com``);
            must be ``https`` unless it is a loopback address (the fake server).
        timeout: Seconds to wait for Snap per request.
        max_retries: Retries of one request after a connection error, a timeout, 408, 429 or
            5xx, with capped exponential backoff, full jitter and ``Retry-After`` honoured.
        batch_size: Events per request, at most 2,000 (Snap's limit).
        max_batch_bytes: Bytes of JSON per request.
        max_workers: Requests in flight at once (threads); results keep input order anyway.
        default_region: Region for phone numbers of users with neither a ``country`` nor a
            ``region`` (never overrides either; see ``docs/normalization.md``).
        require_consent: Send only events whose ``consent`` is ``True``; others are SKIPPED.
        session: A ``requests.Session`` to use (and leave open); one is made otherwise.
        max_resends: How often a batch is re-sent after Snap rejects one of its events.
        backoff_base, backoff_max: Backoff of the first retry and the cap, in seconds.
        retry_after_max: The longest ``Retry-After`` honoured, in seconds.
        sleep, clock, now, rng: Injectable ``time.sleep``, ``time.monotonic``, ``time.time``
            and random source, so tests run instantly and deterministically.

    Raises:
        ValidationError: A missing token or asset id, a bad ``base_url`` or a setting out of
            range.
    """

    pixel_id: str | None
    snap_app_id: str | None
    base_url: str
    timeout: float
    max_retries: int
    batch_size: int
    max_batch_bytes: int
    max_workers: int
    default_region: str | None
    require_consent: bool
    max_resends: int
    backoff_base: float
    backoff_max: float
    retry_after_max: float
    _token: str
    _session: requests.Session
    _owns_session: bool
    _sleep: Callable[[float], None]
    _clock: Callable[[], float]
    _now: Callable[[], float]
    _rng: random.Random
    _closed: bool

    def __init__(
        self,
        pixel_id: str | None = None,
        access_token: str | None = None,
        *,
        snap_app_id: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 5,
        batch_size: int = 2000,
        max_batch_bytes: int = 2_000_000,
        max_workers: int = 1,
        default_region: str | None = None,
        require_consent: bool = False,
        session: requests.Session | None = None,
        max_resends: int = 50,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        token = _env(access_token, "SNAP_ACCESS_TOKEN")
        if not token:
            raise ValidationError(
                "access_token", "is missing; pass Client(access_token=...) or set SNAP_ACCESS_TOKEN"
            )
        pixel = _env(pixel_id, "SNAP_PIXEL_ID")
        app = _env(snap_app_id, "SNAP_APP_ID")
        if not pixel and not app:
            raise ValidationError(
                "pixel_id",
                "is missing; pass Client(pixel_id=...) (WEB/OFFLINE events) or snap_app_id= "
                "(MOBILE_APP events), or set SNAP_PIXEL_ID / SNAP_APP_ID",
            )
        url = (_env(base_url, "SNAP_CAPI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(
                "base_url", "must be an absolute URL such as https://tr.snapchat.com"
            )
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValidationError(
                "base_url", "must use https (plain http is allowed only for loopback test servers)"
            )
        if not 1 <= batch_size <= 2000:
            raise ValidationError("batch_size", "must be between 1 and 2000 (Snap's limit)")
        if max_batch_bytes < 1024:
            raise ValidationError("max_batch_bytes", "must be at least 1024")
        if max_workers < 1 or max_retries < 0 or max_resends < 0 or timeout <= 0:
            raise ValidationError(
                "max_workers", "max_workers must be >= 1, max_retries/max_resends >= 0, timeout > 0"
            )
        if min(backoff_base, backoff_max, retry_after_max) < 0:
            raise ValidationError(
                "backoff_base", "backoff_base, backoff_max and retry_after_max must be >= 0"
            )
        if session is not None and session.verify is False:
            raise ValidationError(
                "session", "has TLS verification turned off; snapcapi refuses that"
            )
        self.pixel_id = pixel
        self.snap_app_id = app
        self.base_url = url
        self.timeout = timeout
        self.max_retries = max_retries
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.max_workers = max_workers
        self.default_region = _country(default_region) if default_region else None
        self.require_consent = require_consent
        self.max_resends = max_resends
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._token = token
        self._owns_session = session is None
        self._session = session if session is not None else self._new_session()
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._rng = rng if rng is not None else random.Random()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # One pooled connection per worker thread, so concurrent batches reuse connections.
        adapter = HTTPAdapter(pool_maxsize=max(10, self.max_workers))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def _reset_after_fork(self) -> None:
        """In a forked child: stop sharing the parent's pooled connections.

        The session the client made is replaced (the inherited one is dropped without closing
        its sockets, which the parent still uses); a session passed in stays as it is.
        """
        if self._owns_session and not self._closed:
            self._session = self._new_session()

    def close(self) -> None:
        """Close the HTTP session if the client made it. Safe to call more than once."""
        if not self._closed and self._owns_session:
            self._session.close()
        self._closed = True

    def __enter__(self) -> Client:
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
        from snapcapi._version import __version__

        return (
            f"snapcapi/{__version__} (python/{platform.python_version()}; "
            f"requests/{requests.__version__})"
        )

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
        consent ``SKIPPED``) and not sent.

        Args:
            events: Any iterable of :class:`~snapcapi.Event`.
            test_event_code: Put at the body root: Snap shows the events in its test tool and
                does not record them as conversions.
            on_result: Called with each event's result as soon as it is final, in the calling
                thread, in the order results become final (not input order): for progress
                displays and reports written as the send goes. Its exceptions propagate.
            keep_results: With ``False``, the returned result keeps only the counts per
                status (a byte per event), and the per-event results reach you through
                ``on_result`` alone: for endless streams.

        Returns:
            One :class:`~snapcapi.EventResult` per input event, in input order.

        Raises:
            AuthenticationError: Snap refused the token (401/403); ``.result`` holds the
                statuses reached so far.
            ValidationError: An event needs an asset id the client lacks (a MOBILE_APP event
                without ``snap_app_id``); ``.result`` holds the statuses so far.
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
        """Read ``/events/validate/logs``: how Snap judged recent test events (24 hours)."""
        body = self._get(asset_id, "events/validate/logs")
        logs = body.get("logs") if isinstance(body, Mapping) else None
        found = []
        for entry in logs or ():
            if not isinstance(entry, Mapping):
                continue
            found.append(
                ValidationLog(
                    event_name=entry.get("event_name"),
                    status=entry.get("status"),
                    event_time=None
                    if entry.get("event_time") is None
                    else str(entry["event_time"]),
                    action_source=entry.get("action_source"),
                    errors=_strings(entry.get("error_records")),
                    warnings=_strings(entry.get("warning_records")),
                    raw=dict(entry),
                )
            )
        return tuple(found)

    def validation_stats(self, *, asset_id: str | None = None) -> ValidationStats:
        """Read ``/events/validate/stats``: test and live event counts of the past hour."""
        body = self._get(asset_id, "events/validate/stats")
        found = body.get("stats") if isinstance(body, Mapping) else None
        stats: Mapping[str, Any] = found if isinstance(found, Mapping) else {}

        def window(name: str) -> StatsWindow:
            part = stats.get(name)
            data: Mapping[str, Any] = part if isinstance(part, Mapping) else {}
            return StatsWindow(
                event_count_past_hour=_count(data.get("event_count_past_hour")),
                latest_event_ts=_count(data.get("latest_event_ts")),
            )

        return ValidationStats(test=window("test"), live=window("live"))

    # ------------------------------------------------------------------ the pipeline

    def _asset_for(self, event: Event) -> str | None:
        if event.action_source is ActionSource.MOBILE_APP:
            return self.snap_app_id
        return self.pixel_id

    def _prepare(self, index: int, event: Any, now: float) -> Item | EventResult | None:
        """Check one event; return its encoded item, its final result, or None (no asset id)."""
        if not isinstance(event, Event):
            return EventResult(
                index, None, EventStatus.INVALID, f"expected an Event, got {type(event).__name__}"
            )
        if self.require_consent and event.consent is not True:
            return EventResult(
                index,
                event.event_id,
                EventStatus.SKIPPED,
                "no consent: the client requires consent=True (require_consent=True)",
            )
        user = event.user_data
        if user.unresolved_phones and self.default_region:
            try:
                event = event._replace(user_data=user.with_default_region(self.default_region))
            except ValidationError as exc:
                return EventResult(index, event.event_id, EventStatus.INVALID, str(exc))
        problems, notices = event.review(now)
        if problems:
            return EventResult(
                index, event.event_id, EventStatus.INVALID, "; ".join(problems), warnings=notices
            )
        if self._asset_for(event) is None:
            return None
        return Item(index, event.event_id, _wire.encode(event.to_payload()), notices)

    def _run(
        self,
        events: Iterable[Event],
        endpoint: str,
        root: bytes,
        on_result: Callable[[EventResult], object] | None = None,
        keep_results: bool = True,
    ) -> SendResult:
        if self._closed:
            raise SnapCapiError("the client is closed")
        store = ResultStore(on_result, keep=keep_results)
        batcher = Batcher(self.batch_size, self.max_batch_bytes, len(root))
        pool = ThreadPoolExecutor(self.max_workers) if self.max_workers > 1 else None
        in_flight: collections.deque[tuple[Batch, Future[list[EventResult]]]] = collections.deque()

        def settle(batch_results: Iterable[EventResult]) -> None:
            for result in batch_results:
                store.put(result)

        sending: list[Batch] = []  # the batch being posted from this thread, if any
        waiting: list[Batch] = []  # the batch waiting for a free worker, if any

        def dispatch(batch: Batch) -> None:
            if pool is None:
                sending.append(batch)
                results = self._deliver(batch, endpoint, root)
                sending.clear()
                settle(results)
                return
            waiting.append(batch)
            while len(in_flight) >= self.max_workers:
                settle(in_flight.popleft()[1].result())
            in_flight.append((batch, pool.submit(self._deliver, batch, endpoint, root)))
            waiting.clear()

        iterator = iter(events)
        index = -1
        try:
            while True:
                try:
                    event = next(iterator)
                except StopIteration:
                    break
                except Exception as exc:
                    # The input broke: deliver every event read before it, then re-raise.
                    for batch in batcher.flush():
                        dispatch(batch)
                    while in_flight:
                        settle(in_flight.popleft()[1].result())
                    logger.warning(
                        "the events iterable raised %s after %d events; those were delivered",
                        type(exc).__name__,
                        index + 1,
                    )
                    raise
                index = store.reserve()
                # Judged against the clock now, as it is about to be sent (a long upload
                # must not send an event that aged out while earlier ones were going).
                prepared = self._prepare(index, event, self._now())
                if prepared is None:
                    needed = (
                        "snap_app_id"
                        if event.action_source is ActionSource.MOBILE_APP
                        else "pixel_id"
                    )
                    error = ValidationError(
                        needed,
                        f"event {index} is {event.action_source.value} but the client has no "
                        f"{needed}; pass Client({needed}=...)",
                    )
                    store.put(EventResult(index, event.event_id, EventStatus.INVALID, str(error)))
                    raise error
                if isinstance(prepared, EventResult):
                    store.put(prepared)
                    continue
                if not batcher.fits_alone(prepared):
                    too_large = f"the event is larger than max_batch_bytes ({self.max_batch_bytes})"
                    store.put(EventResult(index, prepared.event_id, EventStatus.INVALID, too_large))
                    continue
                asset = self._asset_for(event)
                assert asset is not None
                for batch in batcher.add(asset, prepared):
                    dispatch(batch)
            for batch in batcher.flush():
                dispatch(batch)
            while in_flight:
                settle(in_flight.popleft()[1].result())
        except BaseException as exc:
            self._stop_early(exc, store, batcher, in_flight, sending, waiting)
            if pool is not None:
                # On Ctrl-C, do not wait for requests on the wire: their events are reported.
                pool.shutdown(wait=isinstance(exc, Exception), cancel_futures=True)
            raise
        if pool is not None:
            pool.shutdown(wait=True)
        return SendResult.from_store(store)

    def _stop_early(
        self,
        exc: BaseException,
        store: ResultStore,
        batcher: Batcher,
        in_flight: collections.deque[tuple[Batch, Future[list[EventResult]]]],
        sending: list[Batch],
        waiting: list[Batch],
    ) -> None:
        """Give every event read a result when a send stops early, and attach them to ``exc``.

        Requests already on the wire finish (unless the stop is a ``KeyboardInterrupt`` or
        ``SystemExit``); batches not yet posted are not posted, and their events are
        ``FAILED`` (safe to resend). The result is ``exc.result`` for snapcapi's own errors and
        ``exc.snapcapi_result`` for any other exception.
        """
        for result in getattr(exc, "partial", ()):
            if store.is_pending(result.index):
                store.put(result)
        for _, future in in_flight:
            future.cancel()
        unsent: list[Item] = [item for batch in batcher.flush() for item in batch.items]
        unsent.extend(item for batch in waiting for item in batch.items)
        interrupted: list[Item] = [item for batch in sending for item in batch.items]
        for batch, future in in_flight:
            if future.cancelled():
                unsent.extend(batch.items)
                continue
            if not isinstance(exc, Exception) and not future.done():
                interrupted.extend(batch.items)
                continue
            try:
                results = future.result()
            except BaseException as other:  # another batch failed too (say, the same 401)
                results = getattr(other, "partial", [])
            for result in results:
                if store.is_pending(result.index):
                    store.put(result)
        in_flight.clear()
        stopped = f"the send stopped early ({type(exc).__name__})"
        for items, reason in (
            (interrupted, f"interrupted while being sent, {stopped}: it may have reached Snap; "
             "safe to resend (the event_id deduplicates)"),
            (unsent, f"not sent: {stopped}"),
        ):  # fmt: skip
            for item in items:
                if store.is_pending(item.index):
                    store.put(
                        EventResult(
                            item.index,
                            item.event_id,
                            EventStatus.FAILED,
                            reason,
                            warnings=item.warnings,
                        )
                    )
        for index in store.pending():  # a safety net: no event read goes unreported
            store.put(EventResult(index, None, EventStatus.FAILED, f"not sent: {stopped}"))
        result = SendResult.from_store(store)
        if isinstance(exc, SnapCapiError):
            exc.result = result
        else:
            with contextlib.suppress(AttributeError):  # a type that takes no attributes
                exc.snapcapi_result = result  # type: ignore[attr-defined]
        logger.warning(
            "send stopped early (%s): %s",
            type(exc).__name__,
            ", ".join(f"{name.lower()}={n}" for name, n in result.counts.items() if n),
        )

    def _deliver(self, batch: Batch, endpoint: str, root: bytes) -> list[EventResult]:
        """Post one batch until every event in it has a final status.

        Raises:
            AuthenticationError: Snap refused the token; its ``partial`` holds a result for
                every event of the batch (those not settled before are ``FAILED``).
        """
        url = f"{self.base_url}/v3/{batch.asset_id}/{endpoint}"
        remaining = list(batch.items)
        attempts = dict.fromkeys((item.index for item in remaining), 0)
        done: list[EventResult] = []
        resends = 0
        try:
            while remaining:
                started = self._clock()
                outcome = self._post(url, join_body(remaining, root))
                for item in remaining:
                    attempts[item.index] += outcome.attempts
                judged, remaining = self._judge(batch, endpoint, root, outcome, remaining, attempts)
                done.extend(judged)
                if remaining and resends >= self.max_resends:
                    reason = (
                        f"Snap rejected other events of this batch {resends + 1} times; gave "
                        f"up re-sending the rest after {resends} re-sends (max_resends); "
                        "safe to resend"
                    )
                    gave_up = [
                        _final(item, outcome, attempts, EventStatus.FAILED, reason)
                        for item in remaining
                    ]
                    judged = judged + gave_up
                    done.extend(gave_up)
                    remaining = []
                elif remaining:
                    resends += 1
                self._log_batch(batch, outcome, judged, remaining, self._clock() - started)
        except AuthenticationError as exc:
            settled = done + getattr(exc, "partial", [])
            covered = {result.index for result in settled}
            exc.partial = settled + [  # type: ignore[attr-defined]
                EventResult(
                    item.index,
                    item.event_id,
                    EventStatus.FAILED,
                    f"not sent: Snap refused the access token (HTTP {exc.status_code})",
                    warnings=item.warnings,
                    http_status=exc.status_code,
                    attempts=attempts[item.index],
                )
                for item in batch.items
                if item.index not in covered
            ]
            raise
        return done

    def _log_batch(
        self,
        batch: Batch,
        outcome: _Outcome,
        judged: list[EventResult],
        remaining: list[Item],
        seconds: float,
    ) -> None:
        """Write the one INFO line of a request: counts per status, HTTP status, attempts."""
        if not logger.isEnabledFor(logging.INFO):
            return
        counts = collections.Counter(result.status.value.lower() for result in judged)
        logger.info(
            "batch to %s: %d events, HTTP %s, %d attempts, %.3fs: %s",
            batch.asset_id,
            len(judged) + len(remaining),
            outcome.status if outcome.error is None else "none (transport error)",
            outcome.attempts,
            seconds,
            ", ".join(f"{name}={n}" for name, n in counts.items())
            + (f", re-sending {len(remaining)}" if remaining else ""),
        )

    def _judge(
        self,
        batch: Batch,
        endpoint: str,
        root: bytes,
        outcome: _Outcome,
        items: list[Item],
        attempts: dict[int, int],
    ) -> tuple[list[EventResult], list[Item]]:
        """Turn one response into final results, and the items to send again (if any)."""
        status, body = outcome.status, outcome.body

        def every(state: EventStatus, reason: str | None, **extra: Any) -> list[EventResult]:
            return [_final(item, outcome, attempts, state, reason, **extra) for item in items]

        if outcome.error is not None:
            return every(
                EventStatus.FAILED, f"{outcome.error} (after {outcome.attempts} attempts)"
            ), []
        if status in (401, 403):
            reason, codes, messages = _snap_errors(body)
            error = AuthenticationError(
                f"Snap refused the access token (HTTP {status}): {reason or 'no reason given'}; "
                "check SNAP_ACCESS_TOKEN and that the token belongs to the organization owning "
                f"asset {batch.asset_id}",
                status_code=status or 0,
                codes=codes,
                messages=messages,
            )
            error.partial = every(EventStatus.FAILED, f"authentication failed (HTTP {status})")  # type: ignore[attr-defined]
            raise error
        if isinstance(body, Mapping) and isinstance(body.get("event_logs"), list):
            return self._judge_logs(items, body["event_logs"], outcome, attempts), []
        refused = isinstance(body, Mapping) and str(body.get("status", "")).upper() == "INVALID"
        if status is not None and 200 <= status < 300 and not refused:
            return every(EventStatus.ACCEPTED, None), []
        if status is not None and _retryable(status):
            return every(EventStatus.FAILED, f"HTTP {status} after {outcome.attempts} attempts"), []
        if status == 413 and len(items) > 1:
            # Too large for Snap: send each half on its own.
            half = len(items) // 2
            done: list[EventResult] = []
            for part in (items[:half], items[half:]):
                try:
                    delivered = self._deliver(Batch(batch.asset_id, tuple(part)), endpoint, root)
                except AuthenticationError as exc:
                    exc.partial = done + exc.partial  # type: ignore[attr-defined]
                    raise
                for result in delivered:
                    spent = result.attempts + attempts[result.index]
                    done.append(attrs.evolve(result, attempts=spent))
            return done, []
        reason, codes, messages = _snap_errors(body)
        text = reason or f"HTTP {status}"
        if status is not None and 300 <= status < 400:
            text = f"HTTP {status}: Snap answered with a redirect, which snapcapi does not follow"
        index = body.get("event") if isinstance(body, Mapping) else None
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(items):
            # Snap names one bad event: it is rejected, the others go again without it.
            culprit = items[index]
            rejected = _final(
                culprit,
                outcome,
                attempts,
                EventStatus.REJECTED,
                text,
                codes=codes,
                messages=messages,
            )
            return [rejected], items[:index] + items[index + 1 :]
        return every(EventStatus.REJECTED, text, codes=codes, messages=messages), []

    def _judge_logs(
        self, items: list[Item], logs: list[Any], outcome: _Outcome, attempts: dict[int, int]
    ) -> list[EventResult]:
        """Map the validate endpoint's per-event logs onto results."""
        by_index: dict[int, Mapping[str, Any]] = {}
        for position, log in enumerate(logs):
            if isinstance(log, Mapping):
                at = log.get("event", position)
                usable = isinstance(at, int) and not isinstance(at, bool)
                by_index[at if usable else position] = log
        judged = []
        for position, item in enumerate(items):
            log = by_index.get(position)
            if log is None:
                reason = "Snap's answer did not cover this event"
                judged.append(_final(item, outcome, attempts, EventStatus.FAILED, reason))
                continue
            _, codes, messages = _snap_errors(log)
            warnings = _strings(log.get("warnings"))
            valid = str(log.get("status", "")).upper() == "VALID"
            judged.append(
                _final(
                    item,
                    outcome,
                    attempts,
                    EventStatus.ACCEPTED if valid else EventStatus.REJECTED,
                    None if valid else "; ".join(messages) or "Snap judged the event INVALID",
                    codes=codes,
                    messages=messages,
                    warnings=warnings,
                )
            )
        return judged

    # ------------------------------------------------------------------ HTTP

    def _headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "User-Agent": self.user_agent}

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to the capped exponential backoff of this attempt."""
        ceiling = self.backoff_base * 2.0 ** min(attempt - 1, 60)
        return self._rng.uniform(0, min(self.backoff_max, ceiling))

    def _retry_after(self, response: requests.Response) -> float | None:
        """Read ``Retry-After`` (seconds or an HTTP date), capped at ``retry_after_max``."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None  # unreadable: fall back to our own backoff
            if when.tzinfo is None:
                return None
            seconds = when.timestamp() - self._now()
        if seconds != seconds:  # NaN
            return None
        return max(0.0, min(seconds, self.retry_after_max))

    def _request(self, method: str, url: str, body: bytes | None) -> _Outcome:
        """Make one logical request, retrying transient failures."""
        if self._closed:
            raise SnapCapiError("the client is closed")
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._session.request(
                    method,
                    url,
                    params={"access_token": self._token},
                    data=body,
                    headers=self._headers(),
                    timeout=self.timeout,
                    # Snap does not redirect; never carry the token to another URL.
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                transient = _transient(exc)
                error = transport_error(exc, self._token)
                if attempt > self.max_retries or not transient:
                    return _Outcome(None, None, attempt, error)
                delay = self._backoff(attempt)
                logger.debug("retrying in %.2fs after %s (attempt %d)", delay, error, attempt)
                self._sleep(delay)
                continue
            status = response.status_code
            if _retryable(status) and attempt <= self.max_retries:
                retry_after = self._retry_after(response)
                delay = max(self._backoff(attempt), retry_after or 0.0)
                logger.debug("retrying in %.2fs after HTTP %d (attempt %d)", delay, status, attempt)
                response.close()
                self._sleep(delay)
                continue
            return _Outcome(status, _json(response), attempt, None, self._retry_after(response))

    def _post(self, url: str, body: bytes) -> _Outcome:
        return self._request("POST", url, body)

    def _get(self, asset_id: str | None, endpoint: str) -> Any:
        asset = asset_id or self.pixel_id or self.snap_app_id
        outcome = self._request("GET", f"{self.base_url}/v3/{asset}/{endpoint}", None)
        if outcome.error is not None:
            raise outcome.error
        status = outcome.status or 0
        if 200 <= status < 300:
            return outcome.body
        reason, codes, messages = _snap_errors(outcome.body)
        text = f"{endpoint} answered HTTP {status}: {reason or 'no reason given'}"
        if status in (401, 403):
            raise AuthenticationError(text, status_code=status, codes=codes, messages=messages)
        if status == 429:
            raise RateLimitError(text, status_code=status, codes=codes, messages=messages)
        raise APIError(text, status_code=status, codes=codes, messages=messages)
