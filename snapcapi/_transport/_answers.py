"""Read what Snap answered, whatever shape the answer has.

Snap documents ``{"status": "INVALID", "reason": ..., "event": 3, "errors": {"codes": [...],
"error_msgs": [...]}}``, yet a live 400 reads ``{"status": "INVALID", "error_msgs": [...]}``:
messages at the top level, no ``errors``, no ``reason``, no ``event``. The readers here take
either, and ``message``/``error`` fields, strings or lists, and never raise on odd types.
They are pure functions of the parsed body and the headers.

What they keep of the server's text is bounded, so that a hostile or broken server cannot
blow up a result, a report or a log line: each text (a reason, a message, a warning) is cut
after :data:`MAX_TEXT` characters, marked ``"… [cut: N more characters]"``, and an answer
keeps at most :data:`MAX_ITEMS` messages (the rest counted in a last one, ``"… [cut: N more
messages]"``) and as many codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from snapcapi._masking import plural
from snapcapi.errors import APIError
from snapcapi.results import StatsWindow, ValidationLog, ValidationStats

__all__ = [
    "MAX_ITEMS",
    "MAX_TEXT",
    "SUCCESSES",
    "Answer",
    "count",
    "cut",
    "kept",
    "no_success",
    "read_answer",
    "read_logs",
    "read_stats",
    "request_id",
    "strings",
    "unanswered",
]

#: Where a request id may be: body fields, then headers (compared case-insensitively).
_ID_FIELDS = ("request_id", "requestId")
_ID_HEADERS = ("x-request-id", "x-snap-request-id", "request-id")
#: The most characters kept of one text of an answer (a reason, a message, a warning).
MAX_TEXT = 2_000
#: The most messages (and codes, and warnings) kept of one answer.
MAX_ITEMS = 20
#: The most characters kept of a code, a status or a request id (they are short names).
_MAX_NAME = 200
#: The ``status`` words of a success; any other status a 2xx gives is none (``FAILURE``,
#: ``ERROR``, ``PENDING``), for the POST and the GET endpoints alike.
SUCCESSES = frozenset({"VALID", "SUCCESS", "OK", "ACCEPTED"})


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """Return ``text`` whole, or its first ``limit`` characters marked as cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text) - limit:,} more characters]"


def kept(items: Iterable[str], noun: str | None = "message") -> tuple[str, ...]:
    """Return ``items`` without repeats, at most :data:`MAX_ITEMS` of them.

    Args:
        items: The texts, in order.
        noun: What they are: the items left out are counted in a last item (``"… [cut: 3
            more messages]"``). None: they are left out silently (codes, which are names).
    """
    unique = tuple(dict.fromkeys(items))
    if len(unique) <= MAX_ITEMS:
        return unique
    first = unique[:MAX_ITEMS]
    if noun is None:
        return first
    return (*first, f"… [cut: {plural(len(unique) - MAX_ITEMS, f'more {noun}')}]")


def strings(value: Any, limit: int = MAX_TEXT) -> tuple[str, ...]:
    """Read a list of strings from a response field of any shape, each cut at ``limit``."""
    if isinstance(value, (list, tuple)):
        return tuple(
            cut(str(v), limit) for v in value if v is not None and not isinstance(v, (dict, list))
        )
    if isinstance(value, str) and value:
        return (cut(value, limit),)
    return ()


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Read one text field: a string or a number as text (cut), anything else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return cut(str(value), limit)


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
                return cut(str(value), _MAX_NAME)
    if headers:
        lowered = {str(name).lower(): value for name, value in headers.items()}
        for name in _ID_HEADERS:
            value = lowered.get(name)
            if isinstance(value, str) and value.strip():
                return cut(value.strip(), _MAX_NAME)
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
        event: The index of the event the answer names, if it names one: a JSON integer
            (``"2"``, ``2.0`` and ``true`` name nobody).
        request_id: The id Snap gave the request, from the body or the headers.

    Texts are cut at :data:`MAX_TEXT` characters, and at most :data:`MAX_ITEMS` messages and
    codes are kept (see the module's docstring).
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
        text = cut(body.strip())
        return Answer(reason=text, messages=(text,), request_id=found_id)
    if not isinstance(body, Mapping):
        return Answer(request_id=found_id)
    codes, messages = _codes_and_messages(body)
    said = _reason(body.get("reason"))
    if not messages and said is not None:  # Snap's only words: they are its message too
        messages.append(said)
    unique = kept(messages)
    said = said or cut("; ".join(unique)) or None
    status = body.get("status")
    index = body.get("event")
    return Answer(
        status=cut(status.strip(), _MAX_NAME).upper() if isinstance(status, str) else None,
        reason=said,
        codes=kept(codes, None),
        messages=unique,
        event=index if isinstance(index, int) and not isinstance(index, bool) else None,
        request_id=found_id,
    )


def _codes_and_messages(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Gather the codes and messages of every field Snap has been seen to use."""
    codes: list[str] = list(strings(body.get("codes"), _MAX_NAME))
    messages: list[str] = list(strings(body.get("error_msgs")))
    errors = body.get("errors")
    if isinstance(errors, Mapping):
        codes.extend(strings(errors.get("codes"), _MAX_NAME))
        messages.extend(strings(errors.get("error_msgs")))
    else:
        messages.extend(strings(errors))
    for field in ("message", "error"):
        value = body.get(field)
        if isinstance(value, Mapping):  # {"error": {"message": ..., "code": ...}}
            messages.extend(strings(value.get("message")))
            codes.extend(strings(value.get("code"), _MAX_NAME))
        else:
            messages.extend(strings(value))
    return codes, messages


def _reason(value: Any) -> str | None:
    """Read the ``reason`` field: a text, a number, or a list of texts (joined)."""
    if isinstance(value, list):
        return cut("; ".join(kept(strings(value)))) or None
    if value == "":
        return None
    return _text(value)


def no_success(body: Any) -> str | None:
    """Say why the body of a GET endpoint's 2xx is no readable success; None when it is one.

    The logs and stats endpoints answer a JSON object whose ``status`` is ``SUCCESS``; an
    empty body, another JSON value, or a ``status`` other than a success word
    (:data:`SUCCESSES`: ``FAILURE``, say) is not their answer.
    """
    if body is None:
        return "the body is empty"
    if not isinstance(body, Mapping):
        return "the body is not a JSON object"
    status = body.get("status")
    if isinstance(status, str) and status.strip().upper() not in SUCCESSES:
        said = read_answer(body).reason
        return f"Snap said {cut(status, _MAX_NAME)}" + (f": {said}" if said else "")
    return None


def unanswered(
    what: str,
    why: str,
    body: Any = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> APIError:
    """Build the error of a GET endpoint whose 2xx is not its answer (``why``, in words)."""
    answer = read_answer(body, headers)
    return APIError(
        f"{what} answered HTTP {status} but did not give its answer: {why}; nothing was read, "
        "try again later",
        status_code=status,
        codes=answer.codes,
        messages=answer.messages,
        request_id=answer.request_id,
    )


def read_logs(body: Any, what: str = "events/validate/logs") -> tuple[ValidationLog, ...]:
    """Read ``/events/validate/logs`` into :class:`~snapcapi.results.ValidationLog` values.

    Raises:
        APIError: The body is not the endpoint's answer (see :func:`no_success`).
    """
    why = no_success(body)
    if why is not None:
        raise unanswered(what, why, body)
    logs = body.get("logs")
    found = []
    for entry in logs if isinstance(logs, list) else ():
        if not isinstance(entry, Mapping):
            continue
        found.append(
            ValidationLog(
                event_name=_text(entry.get("event_name"), _MAX_NAME),
                status=_text(entry.get("status"), _MAX_NAME),
                event_time=_text(entry.get("event_time"), _MAX_NAME),
                action_source=_text(entry.get("action_source"), _MAX_NAME),
                errors=kept(strings(entry.get("error_records"))),
                warnings=kept(strings(entry.get("warning_records")), "warning"),
                raw=dict(entry),
            )
        )
    return tuple(found)


def read_stats(body: Any, what: str = "events/validate/stats") -> ValidationStats:
    """Read ``/events/validate/stats`` into a :class:`~snapcapi.results.ValidationStats`.

    Raises:
        APIError: The body is not the endpoint's answer (see :func:`no_success`).
    """
    why = no_success(body)
    if why is not None:
        raise unanswered(what, why, body)
    found = body.get("stats")
    stats: Mapping[str, Any] = found if isinstance(found, Mapping) else {}

    def window(name: str) -> StatsWindow:
        part = stats.get(name)
        data: Mapping[str, Any] = part if isinstance(part, Mapping) else {}
        return StatsWindow(
            event_count_past_hour=count(data.get("event_count_past_hour")),
            latest_event_ts=count(data.get("latest_event_ts")),
        )

    return ValidationStats(test=window("test"), live=window("live"))
