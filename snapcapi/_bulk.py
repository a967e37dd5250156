"""The bulk upload behind ``snapcapi send``: file rows → events → client → report.

A thin layer: rows become events through :func:`snapcapi.records.iter_events` (hence
``Event.from_dict``), events go through :meth:`Client.send` (or ``validate``), and each
result is written to the report as it becomes final. Nothing here holds more than the rows in
flight, a byte per row for ``--resume`` and a 4-byte row number per event sent.
"""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, TextIO

import attrs

from snapcapi import _wire
from snapcapi._files import ReportWriter, RowSource, open_text, read_report_accepted
from snapcapi._progress import Progress
from snapcapi.client import Client
from snapcapi.enums import EventName
from snapcapi.events import Event
from snapcapi.records import RowProblem, iter_events
from snapcapi.results import EventResult
from snapcapi.user_data import OnInvalid

__all__ = ["BulkOptions", "BulkSummary", "run_bulk"]

_MASKED = re.compile(r"\S*\*\S*")
_TOP_REASONS_KEPT = 10_000


@attrs.frozen
class BulkOptions:
    """What ``snapcapi send`` was asked to do with a file."""

    path: str
    format: str | None = None
    mapping: Mapping[str, str] = attrs.field(factory=dict)
    aliases: Mapping[str, str | int | EventName] = attrs.field(factory=dict)
    region: str | None = None
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    on_invalid: OnInvalid = "raise"
    dry_run: bool = False
    validate: bool = False
    payload_out: str | None = None
    report: str | None = None
    resume: str | None = None
    test_event_code: str | None = None


@attrs.define
class BulkSummary:
    """Counts per status and the commonest reasons, for the closing lines."""

    rows: int = 0
    resumed: int = 0
    counts: collections.Counter[str] = attrs.field(factory=collections.Counter)
    reasons: collections.Counter[str] = attrs.field(factory=collections.Counter)
    seconds: float = 0.0
    ignored_columns: tuple[str, ...] = ()
    dry_run: bool = False

    def add(self, status: str, reason: str | None) -> None:
        """Count one row's final status (and its reason, unless it went well)."""
        self.counts[status] += 1
        if reason and status not in ("ACCEPTED", "VALID"):
            key = f"{status}: {_MASKED.sub('…', reason)}"
            if key in self.reasons or len(self.reasons) < _TOP_REASONS_KEPT:
                self.reasons[key] += 1

    @property
    def ok(self) -> bool:
        """Every row ended well: accepted (sent) or valid (dry run)."""
        good = self.counts["VALID" if self.dry_run else "ACCEPTED"]
        return self.rows > 0 and good == self.rows

    def write(self, out: TextIO) -> None:
        """Print the summary: counts per status, then the top reasons."""
        counts = ", ".join(f"{n:,} {status.lower()}" for status, n in self.counts.most_common())
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        verb = "checked" if self.dry_run else "processed"
        out.write(
            f"{self.rows:,} rows {verb} in {self.seconds:.1f}s ({rate:,.0f} rows/s): "
            f"{counts or 'nothing'}\n"
        )
        if self.resumed:
            out.write(f"{self.resumed:,} rows were accepted in an earlier run and skipped\n")
        if self.ignored_columns:
            out.write(f"ignored columns (no matching field): {', '.join(self.ignored_columns)}\n")
        if self.reasons:
            out.write("top reasons:\n")
            for reason, n in self.reasons.most_common(5):
                out.write(f"  {n:>9,}  {reason[:160]}\n")


def run_bulk(
    options: BulkOptions,
    client_factory: Callable[[], Client] | None,
    progress: Progress,
    now: Callable[[], float] = time.time,
) -> BulkSummary:
    """Read the file, check or send every row, write the report; return the summary.

    Raises:
        ValidationError: The file, the mapping or the options are unusable (nothing sent).
        AuthenticationError: Snap refused the token (the report covers the rows read).
    """
    started = time.monotonic()
    summary = BulkSummary(dry_run=options.dry_run)
    accepted_before = read_report_accepted(options.resume) if options.resume else bytearray()
    ignored: set[str] = set()
    with RowSource(options.path, options.format) as source:
        report = ReportWriter(options.report) if options.report else None
        try:
            pairs = iter_events(
                _counted(source, progress),
                mapping=options.mapping,
                aliases=options.aliases,
                region=options.region,
                defaults=options.defaults,
                on_invalid=options.on_invalid,
                stable_ids=True,
                columns=source.columns,
                ignored=ignored,
            )
            summary.ignored_columns = tuple(sorted(ignored))

            def record(row: Hashable, result: EventResult | None, **fields: Any) -> None:
                status = result.status.value if result is not None else fields["status"]
                reason = result.reason if result is not None else fields.get("reason")
                if report is not None:
                    report.write(
                        row,
                        result.event_id if result is not None else fields.get("event_id"),
                        status,
                        reason,
                        result.codes if result is not None else (),
                    )
                summary.add(status, reason)
                progress.result(status, sent=result is not None and result.http_status is not None)

            if options.dry_run:
                _dry_run(pairs, options, record, accepted_before, summary, now)
            else:
                assert client_factory is not None
                with client_factory() as client:
                    _send(pairs, options, client, record, accepted_before, summary)
        finally:
            summary.rows = source.rows_read
            summary.ignored_columns = tuple(sorted(ignored))
            summary.seconds = time.monotonic() - started
            if report is not None:
                report.close()
    return summary


def _counted(source: RowSource, progress: Progress) -> Iterator[tuple[int, Any]]:
    for pair in source:
        progress.row()
        yield pair


def _resumed(row: Hashable, accepted_before: bytearray) -> bool:
    return isinstance(row, int) and 0 <= row < len(accepted_before) and accepted_before[row] == 1


_EARLIER = "accepted in an earlier run (--resume)"


def _dry_run(
    pairs: Iterator[tuple[Hashable, Event | RowProblem]],
    options: BulkOptions,
    record: Callable[..., None],
    accepted_before: bytearray,
    summary: BulkSummary,
    now: Callable[[], float],
) -> None:
    payloads = open_text(options.payload_out, "w") if options.payload_out else None
    try:
        for row, item in pairs:
            if isinstance(item, RowProblem):
                record(row, None, status="INVALID", reason=_problem_text(item))
                continue
            if _resumed(row, accepted_before):
                summary.resumed += 1
                record(row, None, status="ACCEPTED", event_id=item.event_id, reason=_EARLIER)
                continue
            problems, _ = item.review(now())
            if problems:
                record(
                    row, None, status="INVALID", event_id=item.event_id, reason="; ".join(problems)
                )
                continue
            record(row, None, status="VALID", event_id=item.event_id)
            if payloads is not None:
                payloads.write(_wire.encode(item.to_payload()).decode("utf-8") + "\n")
    finally:
        if payloads is not None:
            payloads.close()


def _send(
    pairs: Iterator[tuple[Hashable, Event | RowProblem]],
    options: BulkOptions,
    client: Client,
    record: Callable[..., None],
    accepted_before: bytearray,
    summary: BulkSummary,
) -> None:
    rows: dict[int, Hashable] = {}  # event index -> row, for the events not settled yet

    def events() -> Iterator[Event]:
        index = 0
        for row, item in pairs:
            if isinstance(item, RowProblem):
                record(row, None, status="INVALID", reason=_problem_text(item))
            elif _resumed(row, accepted_before):
                summary.resumed += 1
                record(row, None, status="ACCEPTED", event_id=item.event_id, reason=_EARLIER)
            else:
                rows[index] = row
                index += 1
                yield item

    def on_result(result: EventResult) -> None:
        record(rows.pop(result.index), result)

    if options.validate:
        client.validate(events(), on_result=on_result, keep_results=False)
    else:
        client.send(
            events(),
            test_event_code=options.test_event_code,
            on_result=on_result,
            keep_results=False,
        )


def _problem_text(problem: RowProblem) -> str:
    return f"{problem.field}: {problem.reason}" if problem.field else problem.reason
