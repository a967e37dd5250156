"""What became of each event: ``EventStatus``, ``EventResult`` and ``SendResult``."""

from __future__ import annotations

import enum
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, overload

import attrs

from snapcapi._masking import plural

__all__ = [
    "EventResult",
    "EventStatus",
    "ResultRun",
    "ResultSequence",
    "ResultStore",
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
        codes: Snap's error codes, when Snap gave any; for an ``INVALID`` event, snapcapi's own
            problem codes (``no_match_key``, ``event_time_too_old``, ...).
        messages: Snap's error messages (or the validate endpoint's), when Snap gave any.
            What a server said is bounded: a reason or message of more than 2,000 characters
            is cut, marked ``"… [cut: N more characters]"``, and at most 20 messages are kept
            (a last one counts the others).
        warnings: Notices: identifiers dropped, old events, Snap's validation warnings.
        http_status: The HTTP status of the last response about this event, if any.
        attempts: How many HTTP requests carried this event (retries and re-sends included).
        request_id: The id Snap gave the last request about this event, when it gave one:
            quote it to Snap's support.
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
    request_id: str | None = None

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
            "request_id": self.request_id,
        }


class RunItem(Protocol):
    """What a :class:`ResultRun` reads of each of its events (a batch's items have it)."""

    @property
    def index(self) -> int: ...

    @property
    def event_id(self) -> str: ...

    @property
    def warnings(self) -> tuple[str, ...]: ...


@attrs.frozen
class ResultRun(Sequence[EventResult]):
    """Events that ended alike, held as one value: the results of a request Snap accepted.

    Every event of a run has the run's status, HTTP status, attempts and request id, no
    reason, codes nor messages, and its own index, ``event_id`` and warnings (read from its
    item). A :class:`ResultStore` records a run in one pass; the run's :class:`EventResult`
    values are made only when someone reads them (iterating, indexing, a listener).

    Attributes:
        items: The events, in the order their results became final.
        status: Their status.
        http_status: The HTTP status of the answer that settled them.
        attempts: The HTTP requests that carried each of them.
        request_id: The id Snap gave the request, if any.
    """

    items: Sequence[RunItem]
    status: EventStatus
    http_status: int | None = None
    attempts: int = 0
    request_id: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, position: int) -> EventResult: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[EventResult, ...]: ...

    def __getitem__(self, position: int | slice) -> EventResult | tuple[EventResult, ...]:
        if isinstance(position, slice):
            return tuple(self._result(item) for item in self.items[position])
        return self._result(self.items[position])

    def __iter__(self) -> Iterator[EventResult]:
        status, http, attempts = self.status, self.http_status, self.attempts
        request_id = self.request_id
        for item in self.items:
            yield EventResult(
                item.index, item.event_id, status, None, (), (), item.warnings, http, attempts,
                request_id,
            )  # fmt: skip

    def _result(self, item: RunItem) -> EventResult:
        return EventResult(
            item.index, item.event_id, self.status, None, (), (), item.warnings,
            self.http_status, self.attempts, self.request_id,
        )  # fmt: skip


_STATUSES = tuple(EventStatus)
_COLUMNS = (
    "index", "event_id", "status", "reason", "codes", "messages", "warnings", "http_status",
    "attempts", "request_id",
)  # fmt: skip
_HTML_ROWS = 20
_CODE = {status: code for code, status in enumerate(_STATUSES)}
_PENDING = 255
#: (reason or (), codes, messages, warnings, request id or ()) of one result, shared between
#: equal results (the events of one request share their request id).
_Details = tuple[
    str | tuple[()], tuple[str, ...], tuple[str, ...], tuple[str, ...], str | tuple[()]
]


class ResultStore:
    """Per-event results kept compactly while a send runs (about 30 bytes an event).

    An event costs a status byte, two small integers, a reference to its ``event_id`` and the
    number of its details (reason, codes, messages, warnings, request id) in a table where
    equal details are kept once: a million events failing the same way, or carrying the same
    warning, share one entry (one per request, when Snap gives each request an id). This is
    what lets a million-event upload finish in bounded memory.

    Reserving an event appends its status byte only; the other columns grow as results come
    in. A :class:`ResultRun` (a request Snap accepted whole) is written a column at a time
    when its events are consecutive and pending, as they are in a batch, instead of result by
    result; the results read back are the same.

    Args:
        listener: Called with each result as it is recorded (progress bars, reports).
        keep: Keep each result; without, only its status is kept (a byte per event), for
            streams whose results go to ``listener`` alone.
    """

    def __init__(
        self, listener: Callable[[EventResult], object] | None = None, *, keep: bool = True
    ) -> None:
        self._listener = listener
        self._keep = keep
        self._status = bytearray()
        self._ids: list[str | None] = []
        self._http = array("H")
        self._attempts = array("H")
        self._detail = array("I")
        self._details: list[_Details] = [((), (), (), (), ())]  # entry 0: none
        self._detail_numbers: dict[_Details, int] = {self._details[0]: 0}
        # Runs recorded whose results the listener has not all heard (see _tell).
        self._unheard: list[tuple[ResultRun, int]] = []

    def reserve(self) -> int:
        """Make room for the next input event; return its index."""
        self._status.append(_PENDING)
        return len(self._status) - 1

    def _grow(self, size: int) -> None:
        """Extend the kept columns to ``size`` events (no result: None, 0).

        Each column is measured on its own, so a growth cut short (a Ctrl-C between two
        columns) is completed by the next one instead of leaving the columns misaligned.
        """
        for column, width in ((self._http, 2), (self._attempts, 2), (self._detail, 4)):
            more = size - len(column)
            if more > 0:
                column.frombytes(bytes(width * more))
        more = size - len(self._ids)
        if more > 0:
            self._ids.extend([None] * more)

    def put(self, result: EventResult) -> None:
        """Record the final result of one event, then hand it to the listener.

        Raises:
            RuntimeError: The event already has a result (each event is reported exactly once).
            Exception: Whatever the listener raised (the result is recorded all the same).
        """
        self._record(result)
        if self._listener is not None:
            self._listener(result)

    def put_all(self, results: Iterable[EventResult | ResultRun]) -> BaseException | None:
        """Record every result, handing each to the listener once, whatever the listener does.

        ``results`` may hold :class:`ResultRun` values: each stands for its results, in order.

        A listener that raises does not stop the recording: the results after it are recorded
        and handed to it too, so that a broken progress bar never loses what Snap decided. That
        holds for ``KeyboardInterrupt`` and ``SystemExit`` too (a Ctrl-C landing in the
        listener): the caller raises them once the results are recorded.

        Returns:
            The first exception the listener raised, for the caller to raise; None if none.
        """
        listener, first = self._listener, None
        if self._unheard:
            # A run recorded by a call that an interrupt cut short while it was handing the
            # run's results to the listener: the rest are heard now (the interrupted send
            # records its remaining results through this method).
            unheard, self._unheard = self._unheard, []
            for run, heard in unheard:
                first = self._tell(run, heard, first)
        for entry in results:
            if isinstance(entry, ResultRun):
                if not self._record_run(entry):
                    first = self._put_each(entry, first)
                    continue
                if listener is not None:
                    first = self._tell(entry, 0, first)
                continue
            self._record(entry)
            if listener is None:
                continue
            try:
                listener(entry)
            except BaseException as exc:  # raised by the caller, once the results are recorded
                first = first or exc
        return first

    def _tell(
        self, run: ResultRun, start: int, first: BaseException | None
    ) -> BaseException | None:
        """Hand the results of a recorded run, from ``start`` on, to the listener.

        An interrupt outside the listener (while a result is being made) leaves the run and
        how far it got in ``_unheard`` for the next :meth:`put_all`, then propagates.
        """
        listener = self._listener
        if listener is None:
            return first
        heard = start
        try:
            for position in range(start, len(run)):
                result = run[position]
                heard = position + 1
                try:
                    listener(result)
                except BaseException as exc:  # raised by the caller, as in put_all
                    first = first or exc
        except BaseException:
            self._unheard.append((run, heard))
            raise
        return first

    def _put_each(
        self, results: Iterable[EventResult], first: BaseException | None
    ) -> BaseException | None:
        """Record results one by one, handing each to the listener (``put_all``'s loop)."""
        listener = self._listener
        for result in results:
            self._record(result)
            if listener is None:
                continue
            try:
                listener(result)
            except BaseException as exc:
                first = first or exc
        return first

    def _record_run(self, run: ResultRun) -> bool:
        """Record a run a column at a time; say whether it was.

        False, with nothing recorded, if one of its events is not pending (or is named twice,
        or is out of range): :meth:`_put_each` then records the run one by one, and refuses
        where it must, as it would have.
        """
        items = run.items
        n = len(items)
        if not n:
            return True
        status, code = self._status, _CODE[run.status]
        indexes = [item.index for item in items]
        start = indexes[0]
        end = start + n
        consecutive = start >= 0 and end <= len(status) and indexes == list(range(start, end))
        if consecutive:
            if status.count(_PENDING, start, end) != n:
                return False
        else:
            size = len(status)
            if len(set(indexes)) != n or not all(
                0 <= i < size and status[i] == _PENDING for i in indexes
            ):
                return False
        # The columns first, the statuses last: an interrupt in between leaves the events
        # pending (their columns are written again when they settle), never settled without
        # the columns a reader needs.
        if self._keep:
            self._write_columns(run, indexes, consecutive)
        if consecutive:
            status[start:end] = bytes((code,)) * n
        else:
            for i in indexes:
                status[i] = code
        return True

    def _write_columns(self, run: ResultRun, indexes: list[int], consecutive: bool) -> None:
        """Write a run's kept columns (all but the statuses)."""
        items = run.items
        n = len(items)
        start = indexes[0]
        end = start + n
        request_id = run.request_id or ()
        warnings = [item.warnings for item in items]
        if warnings.count(()) == n:
            detail = array("I", (self._number(((), (), (), (), request_id)),)) * n
        else:
            numbers: dict[tuple[str, ...], int] = {}
            detail = array("I")
            for warned in warnings:
                number = numbers.get(warned)
                if number is None:
                    number = numbers[warned] = self._number(((), (), (), warned, request_id))
                detail.append(number)
        http = min(run.http_status or 0, 65535)
        attempts = min(run.attempts, 65535)
        if consecutive:
            self._grow(end)
            self._ids[start:end] = [item.event_id for item in items]
            self._http[start:end] = array("H", (http,)) * n
            self._attempts[start:end] = array("H", (attempts,)) * n
            self._detail[start:end] = detail
            return
        self._grow(max(indexes) + 1)
        ids, https, tries, details = self._ids, self._http, self._attempts, self._detail
        for item, number in zip(items, detail, strict=True):
            i = item.index
            ids[i] = item.event_id
            https[i] = http
            tries[i] = attempts
            details[i] = number

    def _number(self, details: _Details) -> int:
        """Return the number of ``details`` in the table (0: none), adding them if new."""
        if details == self._details[0]:
            return 0
        number = self._detail_numbers.get(details)
        if number is None:
            number = self._detail_numbers[details] = len(self._details)
            self._details.append(details)
        return number

    def _record(self, result: EventResult) -> None:
        index = result.index
        if self._status[index] != _PENDING:
            raise RuntimeError(f"event {index} was reported twice")
        self._status[index] = _CODE[result.status]
        if not self._keep:
            return
        if not 0 <= index < len(self._ids):  # a negative index counts from the last reserved
            self._grow(len(self._status))
        self._ids[index] = result.event_id
        self._http[index] = min(result.http_status or 0, 65535)
        self._attempts[index] = min(result.attempts, 65535)
        details: _Details = (
            result.reason or (),
            result.codes,
            result.messages,
            result.warnings,
            result.request_id or (),
        )
        if details != self._details[0]:
            self._detail[index] = self._number(details)

    @property
    def keeps_results(self) -> bool:
        """Whether whole results are kept (else only statuses, see ``keep``)."""
        return self._keep

    def is_pending(self, index: int) -> bool:
        """Tell whether the event has no result yet."""
        return self._status[index] == _PENDING

    def get(self, index: int) -> EventResult:
        """Rebuild the result of one event."""
        code = self._status[index]
        if code == _PENDING:
            raise LookupError(f"event {index} has no result yet")
        if not self._keep:
            raise LookupError(
                "results were not kept (keep_results=False): read them through on_result"
            )
        reason, codes, messages, warnings, request_id = self._details[self._detail[index]]
        return EventResult(
            index,
            self._ids[index],
            _STATUSES[code],
            reason or None,
            codes=codes,
            messages=messages,
            warnings=warnings,
            http_status=self._http[index] or None,
            attempts=self._attempts[index],
            request_id=request_id or None,
        )

    def pending(self) -> list[int]:
        """Indexes of the events that have no result yet."""
        return [i for i, code in enumerate(self._status) if code == _PENDING]

    def settled(self) -> list[int]:
        """Indexes of the events that have a result."""
        return [i for i, code in enumerate(self._status) if code != _PENDING]

    def count(self, status: EventStatus) -> int:
        """How many events ended in ``status``."""
        return self._status.count(_CODE[status])

    def __len__(self) -> int:
        return len(self._status)


class ResultSequence(Sequence[EventResult]):
    """A read-only sequence of results, built on access from a :class:`ResultStore`.

    It behaves like a tuple (indexing, slicing, iteration, ``len``, equality with other
    sequences of results) without holding a million result objects at once.
    """

    __slots__ = ("_indexes", "_store")

    def __init__(self, store: ResultStore, indexes: Sequence[int] | None = None) -> None:
        self._store = store
        self._indexes = indexes

    def __len__(self) -> int:
        return len(self._store) if self._indexes is None else len(self._indexes)

    @overload
    def __getitem__(self, position: int) -> EventResult: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[EventResult, ...]: ...

    def __getitem__(self, position: int | slice) -> EventResult | tuple[EventResult, ...]:
        if isinstance(position, slice):
            return tuple(self[i] for i in range(*position.indices(len(self))))
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("result index out of range")
        index = position if self._indexes is None else self._indexes[position]
        return self._store.get(index)

    def __iter__(self) -> Iterator[EventResult]:
        for position in range(len(self)):
            yield self[position]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{len(self)} event results>"


def _as_results(events: Iterable[EventResult]) -> Sequence[EventResult]:
    return events if isinstance(events, ResultSequence) else tuple(events)


@attrs.frozen(repr=False)
class SendResult:
    """The outcome of :meth:`snapcapi.Client.send` or :meth:`~snapcapi.Client.validate`.

    ``events`` holds exactly one :class:`EventResult` per input event, in input order: a
    tuple, or for results the client built, a tuple-like read-only sequence that rebuilds
    each result on access (so a million-event send stays small in memory).
    """

    events: Sequence[EventResult] = attrs.field(converter=_as_results)

    @classmethod
    def from_store(cls, store: ResultStore, *, settled_only: bool = False) -> SendResult:
        """Wrap a client's result store (only the events with a result, if asked)."""
        indexes = store.settled() if settled_only else None
        return cls(ResultSequence(store, indexes))

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
        return bool(self.events) and self.counts["ACCEPTED"] == len(self.events)

    @property
    def counts(self) -> dict[str, int]:
        """How many events ended in each status, every status listed."""
        events = self.events
        if isinstance(events, ResultSequence) and events._indexes is None:
            return {status.value: events._store.count(status) for status in EventStatus}
        found = dict.fromkeys(EventStatus, 0)
        for result in events:
            found[result.status] += 1
        return {status.value: n for status, n in found.items()}

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[EventResult]:
        return iter(self.events)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name.lower()}={n}" for name, n in self.counts.items() if n)
        n = len(self.events)
        return f"SendResult({plural(n, 'event')}: {counts or 'none'})"

    def to_records(self) -> list[dict[str, Any]]:
        """Return one flat dict per event (:meth:`EventResult.to_dict`), in input order."""
        return [result.to_dict() for result in self.events]

    def to_dataframe(self) -> Any:
        """Return the results as a pandas DataFrame, one row per event (the ``pandas`` extra).

        Columns: ``index``, ``event_id``, ``status``, ``reason``, ``codes``, ``messages``,
        ``warnings``, ``http_status`` (nullable ``Int64``), ``attempts``, ``request_id``.

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas
        except ImportError as exc:
            raise ImportError(
                "SendResult.to_dataframe needs pandas: pip install 'snapcapi[pandas]'"
            ) from exc
        frame = pandas.DataFrame(self.to_records(), columns=list(_COLUMNS))
        # Nullable integers: a status code stays 200, not 200.0, beside events never posted.
        return frame.astype({"http_status": "Int64"})

    def _repr_html_(self) -> str:
        """Show the counts and the first results that went wrong, for notebooks."""
        from snapcapi._html import table

        counts = table(
            ("status", "events"), [(name, f"{n:,}") for name, n in self.counts.items() if n]
        )
        troubled = []
        events = self.events
        if isinstance(events, ResultSequence) and not events._store.keeps_results:
            return counts  # results were streamed through on_result, not kept
        for result in events:
            if result.status is not EventStatus.ACCEPTED:
                troubled.append(
                    (result.index, result.event_id or "", result.status.value,
                     result.reason or "", ", ".join(result.codes))
                )  # fmt: skip
                if len(troubled) == _HTML_ROWS:
                    break
        if not troubled:
            return counts
        caption = f"first {len(troubled)} events not accepted"
        headers = ("index", "event_id", "status", "reason", "codes")
        return counts + table(headers, troubled, caption)


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
