"""Read what Snap answered, whatever shape the answer has.

Snap documents ``{"status": "INVALID", "reason": ..., "event": 3, "errors": {"codes": [...],
"error_msgs": [...]}}``, yet a live 400 reads ``{"status": "INVALID", "error_msgs": [...]}``:
messages at the top level, no ``errors``, no ``reason``, no ``event``. The readers here take
either, and ``message``/``error`` fields, strings or lists, and never raise on odd types.
They are pure functions of the parsed body and the headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from snapcapi.results import StatsWindow, ValidationLog, ValidationStats

__all__ = ["Answer", "count", "read_answer", "read_logs", "read_stats", "request_id", "strings"]

#: Where a request id may be: body fields, then headers (compared case-insensitively).
_ID_FIELDS = ("request_id", "requestId")
_ID_HEADERS = ("x-request-id", "x-snap-request-id", "request-id")
#: The longest text read from a body that is a bare JSON string.
_MAX_TEXT = 500


def strings(value: Any) -> tuple[str, ...]:
    """Read a list of strings from a response field of any shape."""
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None and not isinstance(v, (dict, list)))
    if isinstance(value, str) and value:
        return (value,)
    return ()


def count(value: Any) -> int:
    """Read a count or timestamp from a response field of any shape (0 when unreadable)."""
    if isinstance(value, bool):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def request_id(body: Any, headers: Mapping[str, str]) -> str | None:
    """Find the id Snap gave the request, in the body or the headers; None if there is none."""
    if isinstance(body, Mapping):
        for field in _ID_FIELDS:
            value = body.get(field)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)
    if headers:
        lowered = {str(name).lower(): value for name, value in headers.items()}
        for name in _ID_HEADERS:
            value = lowered.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


@attrs.frozen
class Answer:
    """What an answer says, read from any of its shapes.

    Attributes:
        status: The body's ``status`` field, upper-cased (``"VALID"``, ``"INVALID"``), or None.
        reason: The body's ``reason``, or else its messages joined; None if it gave neither.
        codes: Snap's error codes (``errors.codes``, ``codes``).
        messages: Snap's error messages (top-level ``error_msgs``, ``errors.error_msgs``,
            ``message``, ``error``), in that order, without repeats; when Snap gave none of
            those but a ``reason``, the reason: whenever Snap said anything, it is here.
        event: The index of the event the answer names, if it names one.
        request_id: The id Snap gave the request, from the body or the headers.
    """

    status: str | None = None
    reason: str | None = None
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    event: int | None = None
    request_id: str | None = None


def read_answer(body: Any, headers: Mapping[str, str] | None = None) -> Answer:
    """Read an answer body (parsed JSON, or None) and its headers into an :class:`Answer`."""
    found_id = request_id(body, headers or {})
    if isinstance(body, str) and body.strip():  # a bare JSON string: the message itself
        text = body.strip()[:_MAX_TEXT]
        return Answer(reason=text, messages=(text,), request_id=found_id)
    if not isinstance(body, Mapping):
        return Answer(request_id=found_id)
    codes: list[str] = list(strings(body.get("codes")))
    messages: list[str] = list(strings(body.get("error_msgs")))
    errors = body.get("errors")
    if isinstance(errors, Mapping):
        codes.extend(strings(errors.get("codes")))
        messages.extend(strings(errors.get("error_msgs")))
    else:
        messages.extend(strings(errors))
    for field in ("message", "error"):
        value = body.get(field)
        if isinstance(value, Mapping):  # {"error": {"message": ..., "code": ...}}
            messages.extend(strings(value.get("message")))
            codes.extend(strings(value.get("code")))
        else:
            messages.extend(strings(value))
    reason = body.get("reason")
    said = str(reason) if reason not in (None, "", False) else None
    if not messages and said is not None:  # Snap's only words: they are its message too
        messages.append(said)
    unique = tuple(dict.fromkeys(messages))
    said = said or "; ".join(unique) or None
    status = body.get("status")
    index = body.get("event")
    return Answer(
        status=str(status).upper() if isinstance(status, str) else None,
        reason=said,
        codes=tuple(dict.fromkeys(codes)),
        messages=unique,
        event=index if isinstance(index, int) and not isinstance(index, bool) else None,
        request_id=found_id,
    )


def read_logs(body: Any) -> tuple[ValidationLog, ...]:
    """Read ``/events/validate/logs`` into :class:`~snapcapi.results.ValidationLog` values."""
    logs = body.get("logs") if isinstance(body, Mapping) else None
    found = []
    for entry in logs if isinstance(logs, list) else ():
        if not isinstance(entry, Mapping):
            continue
        when = entry.get("event_time")
        found.append(
            ValidationLog(
                event_name=entry.get("event_name"),
                status=entry.get("status"),
                event_time=None if when is None else str(when),
                action_source=entry.get("action_source"),
                errors=strings(entry.get("error_records")),
                warnings=strings(entry.get("warning_records")),
                raw=dict(entry),
            )
        )
    return tuple(found)


def read_stats(body: Any) -> ValidationStats:
    """Read ``/events/validate/stats`` into a :class:`~snapcapi.results.ValidationStats`."""
    found = body.get("stats") if isinstance(body, Mapping) else None
    stats: Mapping[str, Any] = found if isinstance(found, Mapping) else {}

    def window(name: str) -> StatsWindow:
        part = stats.get(name)
        data: Mapping[str, Any] = part if isinstance(part, Mapping) else {}
        return StatsWindow(
            event_count_past_hour=count(data.get("event_count_past_hour")),
            latest_event_ts=count(data.get("latest_event_ts")),
        )

    return ValidationStats(test=window("test"), live=window("live"))
