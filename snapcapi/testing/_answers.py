"""The bodies the fake answers with, in Snap's two known shapes.

``"documented"`` is the shape of Snap's OpenAPI schema (``EventResponse``): a refusal names
the failing event's index and carries ``errors.codes`` and ``errors.error_msgs``. ``"live"`` is
the shape a live Snap 400 has been seen to have (segmentio/action-destinations PR #3959):
``{"status": "INVALID", "error_msgs": [...]}``, no ``errors``, no ``reason``, no ``event``.

Snap documents no request id. The fake's documented-shape error bodies carry one
(``request_id``, the same as the ``X-Request-Id`` header) so a client can be tested to keep it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from snapcapi.errors import ValidationError
from snapcapi.testing._rules import Problem

__all__ = [
    "SUCCESS",
    "Answers",
    "event_refusal",
    "logs_body",
    "refusal",
    "resolve_answers",
    "stats_body",
    "validate_body",
]

#: The answer shapes: Snap's documented one, or the one its live API has been seen to send.
Answers = Literal["documented", "live"]

#: Snap's success body for ``/events``, in both shapes.
SUCCESS = {"status": "VALID", "reason": "Events have been processed successfully."}


def resolve_answers(value: object, field: str = "answers") -> Answers:
    """Return ``value`` as an answer shape, or raise ``ValidationError`` naming ``field``."""
    if value == "documented":
        return "documented"
    if value == "live":
        return "live"
    raise ValidationError(field, f'must be "documented" or "live", not {value!r}')


def refusal(shape: Answers, reason: str, request_id: str) -> dict[str, Any]:
    """Return the body of an error that names no event (a bad token, an unknown asset...)."""
    if shape == "live":
        return {"status": "INVALID", "error_msgs": [reason]}
    return {"status": "INVALID", "reason": reason, "request_id": request_id}


def event_refusal(
    shape: Answers, index: int, problems: Sequence[Problem], request_id: str
) -> dict[str, Any]:
    """Return the body refusing a request because of its event at ``index``."""
    messages = [message for _, message in problems]
    if shape == "live":
        return {"status": "INVALID", "error_msgs": messages}
    return {
        "status": "INVALID",
        "reason": messages[0],
        "event": index,
        "errors": {"codes": [code for code, _ in problems], "error_msgs": messages},
        "request_id": request_id,
    }


def validate_body(
    shape: Answers, data: Sequence[Any], checks: Sequence[Sequence[Problem]], request_id: str
) -> tuple[int, dict[str, Any]]:
    """Return ``/events/validate``'s status and body: one log per event, as Snap documents.

    Both shapes use the documented ``ValidateResponse``: nothing shows the live endpoint
    answering otherwise. Only a documented-shape 400 carries the fake's ``request_id``.
    """
    logs = [
        _event_log(index, event, errors)
        for index, (event, errors) in enumerate(zip(data, checks, strict=True))
    ]
    valid = not any(checks)
    body: dict[str, Any] = {
        "status": "VALID" if valid else "INVALID",
        "test_event": True,
        "reason": "Events validated" if valid else "Some events are invalid",
        "event_logs": logs,
    }
    if not valid and shape == "documented":
        body["request_id"] = request_id
    return (200 if valid else 400), body


def _event_log(index: int, event: Any, errors: Sequence[Problem]) -> dict[str, Any]:
    log: dict[str, Any] = {"event": index, "status": "INVALID" if errors else "VALID"}
    if errors:
        log["errors"] = {
            "codes": [code for code, _ in errors],
            "error_msgs": [message for _, message in errors],
        }
    if "event_id" not in (event if isinstance(event, dict) else {}):
        log["warnings"] = ["event_id is missing; deduplication with the Pixel fails"]
    return log


def logs_body(judged: Sequence[tuple[dict[str, Any], Sequence[Problem]]]) -> dict[str, Any]:
    """Return ``/events/validate/logs``' body for the events judged most recently."""
    logs = [
        {
            "event_name": event.get("event_name"),
            "raw_event_name": event.get("event_name"),
            "event_time": str(event.get("event_time")),
            "action_source": event.get("action_source"),
            "status": "INVALID" if errors else "VALID",
            "integration": event.get("integration", ""),
            "error_records": [message for _, message in errors],
            "warning_records": [] if "event_id" in event else ["event_id is missing"],
        }
        for event, errors in judged
    ]
    return {"status": "SUCCESS", "reason": "", "logs": logs}


def stats_body(now: float, test: int, live: int) -> dict[str, Any]:
    """Return ``/events/validate/stats``' body: events validated (test) and accepted (live)."""
    window = {"latest_event_ts": int(now * 1000), "event_count_past_hour": 0}
    return {
        "status": "SUCCESS",
        "reason": "",
        "stats": {
            "test": {**window, "event_count_past_hour": test},
            "live": {**window, "event_count_past_hour": live},
        },
    }
