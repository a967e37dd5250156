"""Judge one answer: a pure function from (status, headers, body) to a :class:`Verdict`.

No sockets, no client: :func:`judge` takes the :class:`~snapcapi._transport._http.Response`
value of one logical request and the number of events it carried, and says what the answer
means for them. The delivery acts on the verdict (settle, re-send, split, isolate, stop).

A 2xx is a success only when it proves one: an empty body (as Snap sends today) or a JSON
object that does not say it failed. A 2xx whose body could not be read (not JSON, cut short,
too large) or is not Snap's answer leaves the events ``FAILED``, safe to resend: the server
may have recorded nothing. :func:`get_body` applies the same rule to the GET endpoints.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from snapcapi._masking import plural
from snapcapi._transport._answers import (
    SUCCESSES,
    Answer,
    cut,
    kept,
    no_success,
    read_answer,
    strings,
    unanswered,
)
from snapcapi._transport._http import Response
from snapcapi._transport._retry import retryable
from snapcapi.errors import APIError, AuthenticationError, RateLimitError

__all__ = [
    "RESEND",
    "EventVerdict",
    "Kind",
    "Verdict",
    "api_error",
    "attempts_text",
    "get_body",
    "judge",
]

#: Statuses at which Snap judged the events' content, so that one bad event may be the cause.
_CONTENT_STATUSES = frozenset({400, 422})


class Kind(enum.Enum):
    """What an answer means for the events of the request."""

    #: Snap took every event.
    ACCEPTED = "accepted"
    #: The validate endpoint judged each event (see :attr:`Verdict.logs`).
    LOGS = "logs"
    #: No usable answer after every retry (transport error, 408, 429, 5xx), or a 2xx that
    #: proves no success (unreadable, not Snap's answer): safe to resend.
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
RESEND = "; safe to resend (the event_id deduplicates)"
#: The statuses a 2xx may carry that are not a failure: a success, or Snap's refusal (judged
#: as a refusal, not as an unreadable answer).
_NOT_A_FAILURE = SUCCESSES | {"INVALID"}
#: Fields of an error: a 2xx object that has them and no ``status`` is no success of Snap's.
_ERROR_FIELDS = ("error", "errors", "error_msgs", "message")


def attempts_text(attempts: int) -> str:
    """Say ``"1 attempt"`` or ``"N attempts"``."""
    return plural(attempts, "attempt")


def judge(response: Response, events: int, *, logs_expected: bool = False) -> Verdict:
    """Say what ``response`` means for the ``events`` events its request carried.

    Args:
        response: The answer (after retries), or the transport error.
        events: How many events the request carried.
        logs_expected: The request went to the validate endpoint, which judges each event in
            ``event_logs``: a 2xx without them proves nothing, unless its ``status`` is
            ``VALID`` (or ``INVALID``: a refusal, judged as one).
    """
    tried = attempts_text(response.attempts)
    if response.error is not None:
        reason = f"{response.error} (after {tried}){RESEND}"
        return Verdict(Kind.FAILED, reason, attempts=response.attempts)
    status = response.status or 0
    body = response.body
    answer = read_answer(body, response.headers)

    def verdict(kind: Kind, reason: str | None = None, **logs: Any) -> Verdict:
        return Verdict(kind, reason, answer, status=status, attempts=response.attempts, **logs)

    if not 200 <= status < 600:  # an interim answer (1xx), or none HTTP knows
        reason = f"HTTP {status} is no final answer, so Snap's is unknown (after {tried}){RESEND}"
        return verdict(Kind.FAILED, reason)
    if status in (401, 403):
        return verdict(Kind.REFUSED, f"authentication failed (HTTP {status})")
    if status == 404:
        return verdict(Kind.UNKNOWN_ASSET, f"Snap does not know the asset id (HTTP {status})")
    judged = 200 <= status < 300 or status in _CONTENT_STATUSES
    if judged and isinstance(body, Mapping) and isinstance(body.get("event_logs"), list):
        return verdict(Kind.LOGS, logs=judge_logs(body["event_logs"], events))
    if 200 <= status < 300:
        unproven = _no_success(response, answer, logs_expected)
        if unproven is not None:
            reason = f"answer unreadable (HTTP {status}, after {tried}): {unproven}{RESEND}"
            return verdict(Kind.FAILED, reason)
        if answer.status != "INVALID":
            return verdict(Kind.ACCEPTED)
    if retryable(status):
        return verdict(Kind.FAILED, f"HTTP {status} after {tried}{RESEND}")
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


def _no_success(response: Response, answer: Answer, logs_expected: bool) -> str | None:
    """Say why a 2xx answer (without event logs) is no proof of success; None if it is one.

    A success is an empty body (as Snap sends today) or a JSON object whose ``status`` is not
    a failure; a refusal (``INVALID``) is left to the rest of :func:`judge`.
    """
    body = response.body
    if response.unreadable is not None:
        return response.unreadable
    if logs_expected and answer.status not in ("VALID", "INVALID"):
        return "the validate endpoint's answer has no event_logs judging the events"
    if body is None:
        return None
    if not isinstance(body, Mapping):
        return "the body is JSON but not an object, so not Snap's answer"
    if answer.status is not None and answer.status not in _NOT_A_FAILURE:
        said = f": {answer.reason}" if answer.reason else ""
        return f"Snap's answer says {answer.status}{said}"
    if answer.status is None and any(field in body for field in _ERROR_FIELDS):
        said = f": {answer.reason}" if answer.reason else ""
        return f"the body has no status and reads as an error{said}"
    return None


def judge_logs(logs: list[Any], events: int) -> tuple[EventVerdict | None, ...]:
    """Map the validate endpoint's per-event logs onto the request's events.

    A log is matched by its ``event`` index only, a JSON integer within the request: a log
    with none (or ``"2"``, ``2.0``, ``true``), or out of range, is about no event we can name,
    and an index claimed by several logs is ambiguous. Matching such logs by position could
    report an event as VALID on the strength of another event's log, so the events they
    would cover get no verdict (the delivery reports them ``FAILED``, safe to resend).
    """
    by_index: dict[int, Mapping[str, Any]] = {}
    claimed: set[int] = set()
    for log in logs:
        if not isinstance(log, Mapping):
            continue
        at = log.get("event")
        if isinstance(at, int) and not isinstance(at, bool) and 0 <= at < events:
            if at in claimed:
                by_index.pop(at, None)
            else:
                claimed.add(at)
                by_index[at] = log
    return tuple(_log_verdict(by_index.get(position)) for position in range(events))


def _log_verdict(log: Mapping[str, Any] | None) -> EventVerdict | None:
    """Read one event's log: None when it says neither VALID nor anything else (no status)."""
    if log is None:
        return None
    answer = read_answer(log)
    if not answer.status:
        return None
    valid = answer.status == "VALID"
    reason = None if valid else cut("; ".join(answer.messages)) or "Snap judged the event INVALID"
    warnings = kept(strings(log.get("warnings")), "warning")
    return EventVerdict(valid, reason, answer.codes, answer.messages, warnings)


def get_body(what: str, response: Response) -> Mapping[str, Any]:
    """Return the body of a GET endpoint's answer, or raise what the answer means.

    Raises:
        TransportError: Snap could not be reached (after the retries).
        APIError: Snap answered with an error status (:func:`api_error`), or a 2xx that is not
            the endpoint's answer: unreadable (not JSON, too large), empty, or a ``FAILURE``.
    """
    if response.error is not None:
        raise response.error
    status = response.status or 0
    if not 200 <= status < 300:
        raise api_error(what, response)
    body = response.body
    why = response.unreadable or no_success(body)
    if why is not None:
        raise unanswered(what, why, body, status, response.headers)
    assert isinstance(body, Mapping)  # no_success said so
    return body


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
