"""What became of each event: ``EventStatus``, ``EventResult`` and ``SendResult``."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = [
    "EventResult",
    "EventStatus",
    "SendResult",
    "StatsWindow",
    "ValidationLog",
    "ValidationStats",
]


class EventStatus(str, enum.Enum):
    """The final status of one input event."""

    #: Snap accepted the event (HTTP 200; on the validate endpoint: VALID).
    ACCEPTED = "ACCEPTED"
    #: Snap refused the event; ``codes`` and ``messages`` say why. Fix it before resending.
    REJECTED = "REJECTED"
    #: Checked locally and not fit to send (no matching key, out-of-window time, ...); not sent.
    INVALID = "INVALID"
    #: Not sent on purpose: the client requires consent and the event had none.
    SKIPPED = "SKIPPED"
    #: Could not be delivered (network, timeouts, 5xx or 429 after every retry); safe to resend.
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class EventResult:
    """What became of one input event.

    Attributes:
        index: The event's position in the input (0-based).
        event_id: The event's ``event_id`` (generated ones included), ``None`` for non-events.
        status: One :class:`EventStatus`.
        reason: Why, in words, for every status but ``ACCEPTED`` (masked, never raw PII).
        codes: Snap's error codes, when Snap gave any.
        messages: Snap's error messages (or the validate endpoint's), when Snap gave any.
        warnings: Notices: identifiers dropped, old events, Snap's validation warnings.
        http_status: The HTTP status of the last response about this event, if any.
        attempts: How many HTTP requests carried this event (retries and re-sends included).
    """

    index: int
    event_id: str | None
    status: EventStatus
    reason: str | None = None
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    http_status: int | None = None
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a flat dict (status as its name), for reports and tables."""
        return {
            "index": self.index,
            "event_id": self.event_id,
            "status": self.status.value,
            "reason": self.reason,
            "codes": list(self.codes),
            "messages": list(self.messages),
            "warnings": list(self.warnings),
            "http_status": self.http_status,
            "attempts": self.attempts,
        }


@attrs.frozen(repr=False)
class SendResult:
    """The outcome of :meth:`snapcapi.Client.send` or :meth:`~snapcapi.Client.validate`.

    ``events`` holds exactly one :class:`EventResult` per input event, in input order.
    """

    events: tuple[EventResult, ...]

    def _with(self, status: EventStatus) -> tuple[EventResult, ...]:
        return tuple(result for result in self.events if result.status is status)

    @property
    def accepted(self) -> tuple[EventResult, ...]:
        """The results whose status is ``ACCEPTED``."""
        return self._with(EventStatus.ACCEPTED)

    @property
    def rejected(self) -> tuple[EventResult, ...]:
        """The results whose status is ``REJECTED``."""
        return self._with(EventStatus.REJECTED)

    @property
    def invalid(self) -> tuple[EventResult, ...]:
        """The results whose status is ``INVALID``."""
        return self._with(EventStatus.INVALID)

    @property
    def skipped(self) -> tuple[EventResult, ...]:
        """The results whose status is ``SKIPPED``."""
        return self._with(EventStatus.SKIPPED)

    @property
    def failed(self) -> tuple[EventResult, ...]:
        """The results whose status is ``FAILED``."""
        return self._with(EventStatus.FAILED)

    @property
    def ok(self) -> bool:
        """True when every event was accepted (and there was at least one)."""
        return bool(self.events) and all(r.status is EventStatus.ACCEPTED for r in self.events)

    @property
    def counts(self) -> dict[str, int]:
        """How many events ended in each status, every status listed."""
        found = Counter(result.status for result in self.events)
        return {status.value: found.get(status, 0) for status in EventStatus}

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[EventResult]:
        return iter(self.events)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name.lower()}={n}" for name, n in self.counts.items() if n)
        return f"SendResult({len(self.events)} events: {counts or 'none'})"


@attrs.frozen
class StatsWindow:
    """Event counts Snap reports for one kind of traffic (test or live)."""

    event_count_past_hour: int
    latest_event_ts: int


@attrs.frozen
class ValidationStats:
    """``/events/validate/stats``: recent test and live traffic for the asset."""

    test: StatsWindow
    live: StatsWindow


@attrs.frozen
class ValidationLog:
    """One entry of ``/events/validate/logs``: how Snap judged a test event."""

    event_name: str | None
    status: str | None
    event_time: str | None = None
    action_source: str | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    raw: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
