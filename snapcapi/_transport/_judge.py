"""Judge one answer: a pure function from (status, headers, body) to a :class:`Verdict`.

No sockets, no client: :func:`judge` takes the :class:`~snapcapi._transport._http.Response`
value of one logical request and the number of events it carried, and says what the answer
means for them. The delivery acts on the verdict (settle, re-send, split, isolate, stop).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from snapcapi._masking import plural
from snapcapi._transport._answers import Answer, read_answer, strings
from snapcapi._transport._http import Response
from snapcapi._transport._retry import retryable
from snapcapi.errors import APIError, AuthenticationError, RateLimitError

__all__ = ["EventVerdict", "Kind", "Verdict", "api_error", "attempts_text", "judge"]

#: Statuses at which Snap judged the events' content, so that one bad event may be the cause.
_CONTENT_STATUSES = frozenset({400, 422})


class Kind(enum.Enum):
    """What an answer means for the events of the request."""

    #: Snap took every event.
    ACCEPTED = "accepted"
    #: The validate endpoint judged each event (see :attr:`Verdict.logs`).
    LOGS = "logs"
    #: No usable answer after every retry (transport error, 408, 429, 5xx): safe to resend.
    FAILED = "failed"
    #: Snap refused the access token (401/403): the send stops.
    REFUSED = "refused"
    #: Snap does not know the asset id (404): the send stops.
    UNKNOWN_ASSET = "unknown_asset"
    #: Too large for Snap (413) with more than one event: send each half on its own.
    TOO_LARGE = "too_large"
    #: Snap refused the request naming one event (:attr:`Answer.event`): reject it, re-send
    #: the others.
    CULPRIT = "culprit"
    #: Snap refused several events' request without naming one: split it to find the culprits.
    ISOLATE = "isolate"
    #: A final refusal of every event of the request.
    REJECTED = "rejected"


@attrs.frozen
class EventVerdict:
    """How the validate endpoint judged one event."""

    valid: bool
    reason: str | None = None
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@attrs.frozen
class Verdict:
    """What one answer means.

    Attributes:
        kind: One :class:`Kind`.
        reason: The reason to give the events, for the kinds that settle them badly.
        answer: What the answer said (codes, messages, event index, request id).
        logs: For ``LOGS``: one verdict per event of the request, None for an event the
            answer did not cover.
        status: The HTTP status answered, None after a transport error.
        attempts: HTTP requests made for the answer.
    """

    kind: Kind
    reason: str | None = None
    answer: Answer = attrs.field(factory=Answer)
    logs: tuple[EventVerdict | None, ...] = ()
    status: int | None = None
    attempts: int = 1


#: What a FAILED event's reason ends with: Snap gave no usable answer, so nothing is known.
_RESEND = "; safe to resend (the event_id deduplicates)"


def attempts_text(attempts: int) -> str:
    """Say ``"1 attempt"`` or ``"N attempts"``."""
    return plural(attempts, "attempt")


def judge(response: Response, events: int) -> Verdict:
    """Say what ``response`` means for the ``events`` events its request carried."""
    tried = attempts_text(response.attempts)
    if response.error is not None:
        reason = f"{response.error} (after {tried}){_RESEND}"
        return Verdict(Kind.FAILED, reason, attempts=response.attempts)
    status = response.status or 0
    body = response.body
    answer = read_answer(body, response.headers)

    def verdict(kind: Kind, reason: str | None = None, **logs: Any) -> Verdict:
        return Verdict(kind, reason, answer, status=status, attempts=response.attempts, **logs)

    if status in (401, 403):
        return verdict(Kind.REFUSED, f"authentication failed (HTTP {status})")
    if status == 404:
        return verdict(Kind.UNKNOWN_ASSET, f"Snap does not know the asset id (HTTP {status})")
    if isinstance(body, Mapping) and isinstance(body.get("event_logs"), list):
        return verdict(Kind.LOGS, logs=judge_logs(body["event_logs"], events))
    if 200 <= status < 300 and answer.status != "INVALID":
        return verdict(Kind.ACCEPTED)
    if retryable(status):
        return verdict(Kind.FAILED, f"HTTP {status} after {tried}{_RESEND}")
    if status == 413 and events > 1:
        return verdict(Kind.TOO_LARGE)
    if 300 <= status < 400:
        return verdict(
            Kind.REJECTED,
            f"HTTP {status}: Snap answered with a redirect, which snapcapi does not follow",
        )
    reason = answer.reason or f"HTTP {status}"
    if answer.event is not None and 0 <= answer.event < events:
        return verdict(Kind.CULPRIT, reason)
    if events > 1 and (status in _CONTENT_STATUSES or 200 <= status < 300):
        return verdict(Kind.ISOLATE, reason)
    return verdict(Kind.REJECTED, reason)


def judge_logs(logs: list[Any], events: int) -> tuple[EventVerdict | None, ...]:
    """Map the validate endpoint's per-event logs onto the request's events."""
    by_index: dict[int, Mapping[str, Any]] = {}
    for position, log in enumerate(logs):
        if isinstance(log, Mapping):
            at = log.get("event", position)
            usable = isinstance(at, int) and not isinstance(at, bool)
            by_index[at if usable else position] = log
    verdicts: list[EventVerdict | None] = []
    for position in range(events):
        log = by_index.get(position)
        if log is None:
            verdicts.append(None)
            continue
        answer = read_answer(log)
        valid = answer.status == "VALID"
        reason = None if valid else "; ".join(answer.messages) or "Snap judged the event INVALID"
        verdicts.append(
            EventVerdict(valid, reason, answer.codes, answer.messages, strings(log.get("warnings")))
        )
    return tuple(verdicts)


def api_error(what: str, response: Response) -> APIError:
    """Build the error a failed GET raises: Authentication-, RateLimit- or :class:`APIError`."""
    status = response.status or 0
    answer = read_answer(response.body, response.headers)
    text = f"{what} answered HTTP {status}: {answer.reason or 'no reason given'}"
    kind = APIError
    if status in (401, 403):
        kind = AuthenticationError
    elif status == 429:
        kind = RateLimitError
    return kind(
        text,
        status_code=status,
        codes=answer.codes,
        messages=answer.messages,
        request_id=answer.request_id,
    )
