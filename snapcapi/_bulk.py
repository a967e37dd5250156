"""The bulk upload behind ``snapcapi send``: file rows → events → client → report.

A thin layer: rows become events through :func:`snapcapi.records.iter_recipe` (hence
``Event.from_dict``), events go through :meth:`Client.send` (or ``validate``), and each
result is written to the report as it becomes final. Nothing here holds more than the rows in
flight, 16 bytes per event id seen (duplicates) and 8 per id a ``--resume`` report accepted.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import datetime as _dt
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import IO, Any, Protocol, TextIO, TypeVar

import attrs

from snapcapi._convert import ENCODING_REMEDY
from snapcapi._files import (
    ReportWriter,
    RowSource,
    cap_text,
    check_gzip,
    file_format,
    legacy_characters,
    open_text,
)
from snapcapi._masking import echo, plural
from snapcapi._progress import Progress
from snapcapi._resume import AcceptedIds, ReportMeta, merge_report
from snapcapi._transport import _wire
from snapcapi._transport._judge import RESEND
from snapcapi.client import Client
from snapcapi.errors import ValidationError
from snapcapi.events import Event
from snapcapi.problems import Problem
from snapcapi.records import (
    ColumnMap,
    Recipe,
    RecordStats,
    RowProblem,
    RowSkip,
    iter_recipe,
    scattered_groups,
)
from snapcapi.results import EventResult
from snapcapi.sources import RecordSource

__all__ = ["BulkOptions", "BulkSummary", "ErrorRateExceeded", "describe_map", "run_bulk"]

# Rows found wrong here (a RowProblem, an event unfit to send) are counted by what is wrong:
# their problems' titles (code, field, label), never their wording. The reasons of results
# from the client (Snap's refusals, transport failures, the client's own INVALID) are text,
# so those alone are grouped by their wording with the masked values (j***@e******.com) and
# a leading quoted value ("event_time: '11/01/2026' is ...") cut out: 30 rows with one
# mistake are one line. Only the first _GROUPED characters count (a server's text may be long,
# and what follows them rarely tells two mistakes apart), and nothing here backtracks.
_GROUPED = 500
_WORDS = re.compile(r"(\s+)")
_LEADING_VALUE = re.compile(r"^((?:[\w.]+: )?)'[^']*'")
_TOP_REASONS_KEPT = 10_000
_PLACES_SHOWN = 3
_BAD = ("INVALID", "REJECTED")


@attrs.frozen
class BulkOptions:
    """What ``snapcapi send`` was asked to do with a file."""

    path: str
    recipe: Recipe = attrs.field(factory=Recipe)
    format: str | None = None
    encoding: str | None = None
    preset: str | None = None
    dry_run: bool = False
    validate: bool = False
    payload_out: str | None = None
    report: str | None = None
    resume: str | None = None
    invalid_out: str | None = None
    test_event_code: str | None = None
    require_consent: bool = False
    max_error_rate: float | None = None
    min_rows: int = 100

    def identity(self) -> dict[str, str]:
        """Return the settings a report records: those that decide event ids.

        The preset's name is not among them: its settings are, one by one, so an edited copy
        that decides ids alike resumes its original's report.
        """
        return self.recipe.identity()


class ErrorRateExceeded(Exception):
    """Too many rows were INVALID or REJECTED (``--max-error-rate``): the run stopped.

    Attributes:
        summary: The run's summary up to the stop (every row read is in the report).
    """

    def __init__(self, bad: int, done: int, rate: float) -> None:
        self.bad, self.done, self.rate = bad, done, rate
        self.summary: BulkSummary | None = None
        super().__init__(
            f"stopped early: {bad:,} of the first {done:,} rows ({bad / done:.1%}) were "
            f"invalid or rejected, above --max-error-rate {rate:g}; the report covers every "
            "row read"
        )


def _shorten(text: str, width: int) -> str:
    """Cut text at a word boundary, never mid-word."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:") + "…"


@attrs.define
class BulkSummary:
    """Counts per status and the commonest reasons, for the closing lines."""

    rows: int = 0
    resumed: int = 0
    counts: collections.Counter[str] = attrs.field(factory=collections.Counter)
    reasons: collections.Counter[str] = attrs.field(factory=collections.Counter)
    warnings: collections.Counter[str] = attrs.field(factory=collections.Counter)
    seconds: float = 0.0
    ignored_columns: tuple[str, ...] = ()
    dry_run: bool = False
    stats: RecordStats = attrs.field(factory=RecordStats)
    stopped: str | None = None
    legacy_characters: int = 0
    resume_unusable: int = 0
    resume_truncated: bool = False
    unterminated: bool = False
    kept_report: tuple[str, str] | None = None
    merged_report: str | None = None
    leftover_merged: str | None = None
    truncated_after: int | None = None
    #: Why the source stopped at ``truncated_after``, when it says (a database's error);
    #: None for a damaged file, whose cut speaks for itself.
    cut_reason: str | None = None
    #: Where the first rows counted under a reason are in the file (``line 401``), for the
    #: rows the reader could not read: without a report, the summary says where to look.
    places: dict[str, list[str]] = attrs.field(factory=dict)

    def add(
        self, status: str, reason: str | None, kind: str | None = None, place: str | None = None
    ) -> None:
        """Count one row's final status (and why, when it went wrong).

        Args:
            status: The row's final status.
            reason: Why, as the report words it.
            kind: What is wrong as titles of problems (see :func:`_kind_of`), when the row was
                judged here; then ``reason`` is not read. Results from the client have none.
            place: Where the row is in the file (its physical lines), when it could not be read.
        """
        self.counts[status] += 1
        # Skipped rows are counted by filter and as duplicates below, not as reasons.
        if status in ("ACCEPTED", "VALID", "SKIPPED"):
            return
        if kind is None:
            if not reason:
                return
            kind = _grouping_key(reason)
        key = f"{status}: {kind}"
        if key in self.reasons or len(self.reasons) < _TOP_REASONS_KEPT:
            self.reasons[key] += 1
            if place is not None:
                places = self.places.setdefault(key, [])
                if len(places) < _PLACES_SHOWN:
                    places.append(place)

    def _places(self, reason: str, count: int) -> str:
        """Say where the first rows counted under ``reason`` are (`` (line 401, line 9)``)."""
        places = self.places.get(reason)
        if not places:
            return ""
        more = ", ..." if count > len(places) else ""
        return f" ({', '.join(places)}{more})"

    def warn(self, drop: Problem, advice: str | None = None) -> None:
        """Count one identifier dropped from an event that was kept, by what is wrong."""
        key = drop.title if advice is None else f"{drop.title}; {advice}"
        if key in self.warnings or len(self.warnings) < _TOP_REASONS_KEPT:
            self.warnings[key] += 1

    @property
    def bad(self) -> int:
        """Rows that ended INVALID, REJECTED or FAILED."""
        return sum(self.counts[s] for s in (*_BAD, "FAILED"))

    @property
    def all_skipped(self) -> bool:
        """Every row was left out (a filter that matches nothing is a mistake, not a success)."""
        return self.counts["SKIPPED"] > 0 and self.counts["SKIPPED"] == sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """Every row ended well: accepted or valid, or skipped on purpose (not all of them)."""
        if self.truncated_after is not None:
            return False  # the rows after the damage were not read
        if not sum(self.counts.values()) or self.stopped is not None or self.all_skipped:
            return False
        return self.bad == 0

    def write(self, out: TextIO) -> None:
        """Print the summary: counts per status, what was left out and why, top reasons."""
        counts = ", ".join(f"{n:,} {status.lower()}" for status, n in self.counts.most_common())
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        verb = "checked" if self.dry_run else "processed"
        rows = plural(self.rows, "row")
        out.write(
            f"{rows} {verb} in {self.seconds:.1f}s ({rate:,.0f} rows/s): {counts or 'nothing'}\n"
        )
        stats = self.stats
        if self.resumed:
            out.write(f"  {_rows(self.resumed)} accepted in an earlier run, not sent again\n")
        for rule, n in stats.filtered.most_common():
            out.write(f"  {_rows(n)} skipped by {rule.describe('cli')}\n")
        if stats.folded:
            out.write(f"  {stats.folded:,} line-item rows folded into their order's event\n")
        if stats.duplicates:
            out.write(
                f"  {_rows(stats.duplicates)} collapsed into an earlier row with the same "
                "event_id (one event)\n"
            )
        if stats.split_groups:
            out.write(
                f"  {stats.split_groups:,} --group-by values came again after other rows: those "
                "rows are INVALID; sort the file by that column and send it again\n"
            )
        if stats.placeholder_ids:
            out.write(
                f"  {stats.placeholder_ids:,} placeholder external ids (0, guest, null, ...) "
                "were dropped, not hashed into one shared id\n"
            )
        if self.legacy_characters:
            out.write(
                f"  {self.legacy_characters:,} "
                f"{'character was' if self.legacy_characters == 1 else 'characters were'} "
                "not UTF-8 and read as "
                "Windows cp1252 (as Excel saves); pass --encoding to read them otherwise\n"
            )
        if self.unterminated:
            out.write(
                "  the file does not end with a line break: its last row may have been cut "
                "short; check it\n"
            )
        if self.resume_truncated:
            out.write(
                "  the --resume report is cut short (a damaged .gz?): rows after the cut were "
                "sent again (Snap deduplicates them by event_id)\n"
            )
        if self.leftover_merged is not None:
            out.write(
                f"  {self.leftover_merged}, the lines an interrupted run wrote aside, was merged "
                "into the --resume report first\n"
            )
        if self.merged_report is not None:
            out.write(
                f"  the run did not complete: {self.merged_report} now holds this run's lines "
                "and, for the rows it did not reach, the earlier run's accepted ones; resume "
                "with it again\n"
            )
        if self.kept_report is not None:
            report, partial = self.kept_report
            out.write(
                f"  the run did not complete: {report} was kept as it was and this run's "
                f"lines are in {partial}; resume with {report} again (it reads both)\n"
            )
        if self.resume_unusable:
            out.write(
                f"  {plural(self.resume_unusable, 'line')} of the --resume report could not be "
                "used (unreadable, or ACCEPTED without an event_id); their rows were sent again\n"
            )
        if self.warnings:
            total = sum(self.warnings.values())
            what = "identifier was" if total == 1 else "identifiers were"
            out.write(f"  {total:,} {what} unusable and dropped (events kept):\n")
            for warning, n in self.warnings.most_common(5):
                out.write(f"  {n:>9,}  {_shorten(warning, 150)}\n")
        if self.reasons:
            out.write("top reasons:\n")
            for reason, n in self.reasons.most_common(5):
                out.write(f"  {n:>9,}  {_shorten(reason, 220)}{self._places(reason, n)}\n")
        if self.all_skipped:
            out.write("every row was skipped: check the filters (--where, --exclude)\n")
        if self.stopped:
            out.write(f"{self.stopped}\n")


def _grouping_key(reason: str) -> str:
    """Return the line a reason of the client's is counted under, its values cut out.

    In time linear in the text's first :data:`_GROUPED` characters, whatever the text.
    """
    text = _LEADING_VALUE.sub(r"\1…", reason[:_GROUPED])
    # Each run of non-space characters holding a masked value (*) becomes one "…".
    return "".join("…" if "*" in part else part for part in _WORDS.split(text))


def _rows(count: int) -> str:
    return f"{count:,} row was" if count == 1 else f"{count:,} rows were"


def describe_map(found: ColumnMap, recipe: Recipe) -> str:
    """Return the column → field table a run uses, the defaults and the columns not read."""
    lines = ["columns → fields:"]
    width = min(36, max((len(", ".join(m.columns)) for m in found.matches), default=10))
    for match in found.matches:
        columns = ", ".join(match.columns)
        how = "explicit" if match.how == "--map" else match.how
        lines.append(f"  {columns:<{width}} → {match.field:<20} ({how})")
    if not found.matches:
        lines.append("  (none)")
    filled = {k: v for k, v in recipe.defaults.items() if v is not None}
    if filled:
        lines.append("  for blank cells: " + ", ".join(f"{k}={v}" for k, v in filled.items()))
    if recipe.key:
        lines.append(f"  event_id from --key {','.join(recipe.key)} and the event name")
    if recipe.group_by:
        lines.append(f"  rows with the same {recipe.group_by} in a row are one event")
    for rule in (*recipe.where, *recipe.exclude):
        lines.append(f"  filter: {rule.describe('cli')}")
    for column, note in found.notes.items():
        lines.append(f"  not read: {column}: {note}")
    used = {r.column for r in (*recipe.where, *recipe.exclude)} | set(recipe.key)
    used |= {recipe.group_by} if recipe.group_by else set()
    others = [c for c in found.ignored if c not in found.notes and c not in used]
    if others:
        lines.extend(_listing("  not read (no matching field): ", others))
    return "\n".join(lines) + "\n"


def _listing(head: str, names: Sequence[str], width: int = 96) -> list[str]:
    """Lay out names after ``head``, comma-separated, breaking lines between names only."""
    lines: list[str] = []
    line = head
    for position, name in enumerate(names):
        item = name + ("," if position < len(names) - 1 else "")
        if len(line) + len(item) > width and line.strip() and line != head:
            lines.append(line.rstrip())
            line = "    "
        line += item + " "
    lines.append(line.rstrip())
    return lines


class _InvalidRows:
    """``--invalid-out``: the rows that were INVALID or REJECTED, as they came, plus why."""

    def __init__(self, path: str, columns: Sequence[str] | None) -> None:
        self.format = file_format(path)
        if columns is None and self.format != "jsonl":
            raise ValidationError(
                "invalid_out",
                f"the rows of a JSON lines file are written as JSON lines: name it "
                f"{path.rsplit('.', 1)[0]}.jsonl",
            )
        if columns is not None and self.format == "jsonl":
            raise ValidationError(
                "invalid_out",
                f"the rows of a CSV file are written as CSV: name it .csv, not {path}",
            )
        self._stream: IO[str] = open_text(path, "w")
        self._columns = list(columns) if columns is not None else None
        # JSON records vary: their own "status" must never be overwritten, so always prefix.
        taken = set(self._columns) if self._columns is not None else {"status", "reason"}
        self._status = "status" if "status" not in taken else "snapcapi_status"
        self._reason = "reason" if "reason" not in taken else "snapcapi_reason"
        self._csv: Any = None
        self._delimiter = "\t" if self.format == "tsv" else ","
        if self._columns is not None:
            self._csv = csv.writer(self._stream, delimiter=self._delimiter, lineterminator="\n")
            self._csv.writerow([*self._columns, self._status, self._reason])

    def write(
        self, group: Sequence[Mapping[str, Any] | RowProblem], status: str, reason: str | None
    ) -> None:
        """Write the row (every row of a line-item group) with its status and reason.

        A row the file reader could not read is written as far as it could be read: in CSV,
        the values of its own text (its first line, for a quote left open; values past the
        header's width joined into its last column), in JSON lines its text and row number.
        """
        reason = cap_text(reason)
        for record in group:
            if isinstance(record, RowProblem):
                self._write_unread(record, status, reason or "")
            elif self._csv is not None and self._columns is not None:
                values = [record.get(c, "") for c in self._columns]
                self._csv.writerow([*values, status, reason or ""])
            else:
                line = {**record, self._status: status, self._reason: reason or ""}
                self._stream.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def _write_unread(self, problem: RowProblem, status: str, reason: str) -> None:
        """Write a row the file reader could not read, with what could be read of it."""
        if self._csv is not None and self._columns is not None:
            width = len(self._columns)
            values = list(problem.values or ((problem.text or "").rstrip("\r\n"),))
            if len(values) > width:  # a line wider than the header: keep all of its text
                values[width - 1 :] = [self._delimiter.join(values[width - 1 :])]
            values += [""] * (width - len(values))
            self._csv.writerow([*values, status, reason])
            return
        line = {
            "snapcapi_row": problem.row,
            "snapcapi_text": (problem.text or "").rstrip("\r\n"),
            self._status: status,
            self._reason: reason,
        }
        self._stream.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        self._stream.close()


_EARLIER = "accepted in an earlier run (--resume)"


def _note_drops(event: Event, summary: BulkSummary) -> str | None:
    """Count an event's drops in the summary; return what its report line says of them.

    A drop of text that did not decode (a byte ``--encoding`` kept aside as a lone surrogate)
    says which ``--encoding`` to pass, once, after the drops it fixes.
    """
    if not event.drops:
        return None
    said: dict[str, None] = {}
    advices: dict[str, None] = {}
    for drop in event.drops:
        advice = drop.remedy.advice("cli") if drop.remedy == ENCODING_REMEDY else None
        summary.warn(drop, advice)
        said[drop.message] = None
        if advice is not None:
            advices[advice] = None
    return "; ".join([*said, *advices])


class Accepted(Protocol):
    """Which events were accepted before (a ``--resume`` report, a sync's state)."""

    def accepted(self, event_id: str, event_name: str) -> bool:
        """Tell whether this event was accepted before (it is then not sent again)."""
        ...


@attrs.frozen
class Settled:
    """One row's final status, as :func:`run_bulk`'s ``on_settle`` hears it.

    Attributes:
        row: The row's number (or id) in its source.
        status: ``ACCEPTED``, ``REJECTED``, ``FAILED``, ``INVALID``, ``SKIPPED`` or ``VALID``.
        reason: Why, for any status but a plain ACCEPTED or VALID (no personal data).
        event_id: The event's id, when the row got that far.
        event_name: The event's name, when the row got that far.
        result: What the client said of the event, for a row that was sent (or tried).
    """

    row: Hashable
    status: str
    reason: str | None
    event_id: str | None
    event_name: str | None
    result: EventResult | None = attrs.field(default=None, repr=False)


class Interrupts:
    """Stop reading on Ctrl-C or SIGTERM, settle the rows already read, then stop.

    A row read from the file but neither settled nor handed to the client would have no
    line in the report, although the summary counts it as read (and the mapping reads a
    sample of rows ahead, line items a row ahead). The command line's signal handlers call
    :meth:`arrive`: an interrupt that comes while the command line works on rows (not while
    the client sends, nor during a read of standard input, which may wait for ever) stops
    the reading; the rows already read are settled (events not yet with the client as
    ``FAILED``, not sent, safe to resend), then it is raised. That takes microseconds per
    row: nothing waits on the network. A second Ctrl-C while one waits is raised at once.
    """

    def __init__(self) -> None:
        self.holding = False
        self.pending: KeyboardInterrupt | None = None

    def arrive(self, interrupt: KeyboardInterrupt) -> None:
        """Raise ``interrupt`` now, or stop the reading and keep it for when rows are settled."""
        if self.holding and self.pending is None:
            self.pending = interrupt
            return
        raise interrupt

    def check(self) -> None:
        """Raise the interrupt that stopped the reading, if one did."""
        pending, self.pending = self.pending, None
        if pending is not None:
            raise pending

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep interrupts for later while the command line works on rows."""
        holding, self.holding = self.holding, True
        try:
            yield
        finally:
            self.holding = holding

    @contextlib.contextmanager
    def let_through(self) -> Iterator[None]:
        """Let interrupts through during a read that may wait for ever (standard input)."""
        holding, self.holding = self.holding, False
        try:
            self.check()
            yield
        finally:
            self.holding = holding


#: The one the command line's signal handlers tell (signals reach the main thread only).
interrupts = Interrupts()


class _Run:
    """One bulk run: reads the rows, settles every one, writes report and summary."""

    def __init__(
        self,
        options: BulkOptions,
        progress: Progress,
        now: Callable[[], float],
        on_map: Callable[[str], None] | None,
    ) -> None:
        self.options = options
        self.progress = progress
        self.now = now
        self.on_map = on_map
        self.summary = BulkSummary(dry_run=options.dry_run)
        self.accepted: Accepted = AcceptedIds()
        self.on_settle: Callable[[Settled], None] | None = None
        self.report: ReportWriter | None = None
        self.invalid: _InvalidRows | None = None
        self.groups: dict[Hashable, Sequence[Mapping[str, Any] | RowProblem]] = {}
        self.handed = 0  # rows settled at once or passed on to be sent
        self.notes: dict[Hashable, str] = {}  # row -> its event's drops, until it settles

    def settle(
        self,
        row: Hashable,
        status: str,
        reason: str | None = None,
        event_id: str | None = None,
        result: EventResult | None = None,
        event_name: str | None = None,
        problems: Sequence[Problem] = (),
        kind: str | None = None,
        place: str | None = None,
    ) -> None:
        """Record one row's final status: report, invalid rows, summary, progress.

        ``problems`` are what was found wrong here (their codes go in the report's ``codes``),
        ``kind`` the line the summary counts the row under (see :func:`_kind_of`) and
        ``place`` the physical lines of a row the file reader could not read.
        """
        codes = result.codes if result is not None else tuple(p.code for p in problems)
        note = self.notes.pop(row, None) if self.notes else None
        if note is not None and status in ("ACCEPTED", "VALID") and not reason:
            reason = note  # what the event lost on the way (identifiers dropped)
        if self.report is not None:
            # What Snap answered about the event (none for a row settled here, unsent).
            self.report.write(
                row, event_id, status, reason, codes, event_name,
                messages=result.messages if result is not None else (),
                http_status=result.http_status if result is not None else None,
                request_id=result.request_id if result is not None else None,
            )  # fmt: skip
        if self.invalid is not None:
            group = self.groups.pop(row, None)
            if status in _BAD and group is not None:
                self.invalid.write(group, status, reason)
        self.summary.add(status, reason, kind, place)
        if self.on_settle is not None:
            self.on_settle(Settled(row, status, reason, event_id, event_name, result))
        self.progress.result(status, sent=result is not None and result.http_status is not None)

    def check_rate(self) -> None:
        """Stop the run when the share of INVALID and REJECTED rows passes the limit.

        The share is of the rows handed on so far (settled at once, or on their way to Snap),
        so events waiting in a batch count as well as the rows refused at once. Called between
        rows, never between reading a row and settling or passing it on.
        """
        rate = self.options.max_error_rate
        if rate is None or self.handed < max(1, self.options.min_rows):
            return
        bad = sum(self.summary.counts[s] for s in _BAD)
        if bad > rate * self.handed:
            raise ErrorRateExceeded(bad, self.handed, rate)

    def keep_group(self, row: Hashable, group: Sequence[Mapping[str, Any] | RowProblem]) -> None:
        """Keep a row's source records until it settles (for ``--invalid-out``).

        A row the file reader could not read is kept as its problem, which holds its text.
        """
        if not group:
            return
        first = group[0]
        if isinstance(first, Mapping) or (isinstance(first, RowProblem) and first.text):
            self.groups[row] = group

    def outcomes(
        self, source: RecordSource
    ) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
        options = self.options
        stats = self.summary.stats

        def counted() -> Iterator[tuple[Hashable, Any]]:
            # An interrupt stops the reading here: the rows read are settled, then it is raised.
            stdin = source.path == "-"
            rows = iter(source)
            while interrupts.pending is None:
                if stdin:
                    with interrupts.let_through():
                        read = next(rows, None)
                else:
                    read = next(rows, None)
                if read is None:
                    return
                self.progress.row()
                yield read

        def mapped(found: ColumnMap) -> None:
            recipe = options.recipe
            read = [c for m in found.matches for c in m.columns]
            read += [r.column for r in (*recipe.where, *recipe.exclude)]
            read += [*recipe.key, *([recipe.group_by] if recipe.group_by else [])]
            source.check_repeated(read)
            given = found.mapped_fields | set(recipe.defaults)
            if options.require_consent and "consent" not in given:
                raise ValidationError(
                    "require_consent",
                    "no column says whether each user consented, so every row would be "
                    "skipped; pass --consent-column COLUMN",
                )
            self.summary.ignored_columns = found.ignored
            if self.on_map is not None:
                self.on_map(describe_map(found, options.recipe))

        return iter_recipe(
            options.recipe,
            counted(),
            columns=source.columns,
            stats=stats,
            on_map=mapped,
            on_group=self.keep_group if self.invalid is not None else None,
        )

    def settled_early(self, row: Hashable, item: Event | RowProblem | RowSkip) -> Event | None:
        """Settle a row that goes nowhere (problem, skip, resumed); return the event otherwise."""
        if isinstance(item, RowProblem):
            problem = item.to_problem()
            advice = "" if item.remedy is None else f"; {item.remedy.advice('cli')}"
            self.settle(
                row,
                "INVALID",
                _problem_text(item),
                item.event_id,
                problems=(problem,),
                kind=problem.title + advice,
                place=item.where,
            )
            return None
        if isinstance(item, RowSkip):
            self.settle(row, "SKIPPED", item.explain("cli"), item.event_id)
            return None
        name = item.event_name.value
        if self.accepted.accepted(item.event_id, name):
            self.summary.resumed += 1
            self.settle(row, "ACCEPTED", _EARLIER, item.event_id, event_name=name)
            return None
        note = _note_drops(item, self.summary)
        if note is not None:
            self.notes[row] = note
        return item

    def settled_unfit(self, row: Hashable, event: Event) -> bool:
        """Settle an event unfit to send as INVALID, counted by its problems' codes.

        The client would find the same problems, but its results carry them as text; judged
        here, the summary and the report count them as a dry run does.
        """
        problems, _ = event._review_values(self.now())
        if not problems:
            return False
        self.settle(
            row,
            "INVALID",
            "; ".join(problem.message for problem in problems),
            event.event_id,
            event_name=event.event_name.value,
            problems=problems,
            kind=_kind_of(problems),
        )
        return True

    def dry_run(self, pairs: Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]) -> None:
        options = self.options
        path = options.payload_out
        payloads = _writable("payload_out", path, lambda: open_text(path, "w")) if path else None
        try:
            with interrupts.hold():
                for row, item in pairs:
                    self.handed += 1
                    event = self.settled_early(row, item)
                    if event is not None and not self.settled_unfit(row, event):
                        name = event.event_name.value
                        if options.require_consent and event.consent is not True:
                            reason = "no consent (--require-consent)"
                            self.settle(row, "SKIPPED", reason, event.event_id, event_name=name)
                        else:
                            self.settle(row, "VALID", None, event.event_id, event_name=name)
                            if payloads is not None:
                                text = _wire.encode(event.to_payload()).decode("utf-8")
                                payloads.write(text + "\n")
                    self.check_rate()
            interrupts.check()
        finally:
            if payloads is not None:
                payloads.close()

    def send(
        self, pairs: Iterator[tuple[Hashable, Event | RowProblem | RowSkip]], client: Client
    ) -> None:
        rows: dict[int, tuple[Hashable, str]] = {}  # event index -> row and event name, unsettled
        no_default_region = client.default_region is None
        consent = client.require_consent

        def events() -> Iterator[Event]:
            index = 0
            while True:
                with interrupts.hold():
                    pair = next(pairs, None)
                    if pair is None:
                        break
                    row, item = pair
                    self.handed += 1
                    event = self.settled_early(row, item)
                    # The client's own order stands: consent first (SKIPPED, not INVALID),
                    # and phones still without a country are its to read in its region.
                    if (
                        event is not None
                        and (not consent or event.consent is True)
                        and (no_default_region or not event.user_data.unresolved_phones)
                        and self.settled_unfit(row, event)
                    ):
                        event = None
                    if event is not None and interrupts.pending is not None:
                        # The reading stopped: the rows read settle here, then it is raised.
                        why = f"the send stopped early ({type(interrupts.pending).__name__})"
                        name = event.event_name.value
                        reason = f"not sent: {why}{RESEND}"
                        self.settle(row, "FAILED", reason, event.event_id, event_name=name)
                        event = None
                if event is not None:
                    rows[index] = (row, event.event_name.value)
                    index += 1
                    yield event
                self.check_rate()  # after the row is settled or in the client's hands
            interrupts.check()

        def on_result(result: EventResult) -> None:
            row, name = rows.pop(result.index)
            self.settle(row, result.status.value, result.reason, result.event_id, result, name)

        if self.options.validate:
            client.validate(events(), on_result=on_result, keep_results=False)
        else:
            client.send(
                events(),
                test_event_code=self.options.test_event_code,
                on_result=on_result,
                keep_results=False,
            )
        self.check_rate()


def run_bulk(
    options: BulkOptions,
    client_factory: Callable[[], Client] | None,
    progress: Progress,
    now: Callable[[], float] = time.time,
    *,
    on_map: Callable[[str], None] | None = None,
    source: Callable[[], RecordSource] | None = None,
    accepted: Accepted | None = None,
    on_settle: Callable[[Settled], None] | None = None,
) -> BulkSummary:
    """Read the file, check or send every row, write the report; return the summary.

    Args:
        options: What to do.
        client_factory: Makes the client (None for a dry run).
        progress: The progress display.
        now: The clock events are judged against in a dry run.
        on_map: Receives the column → field table once it is known (before any row settles).
        source: Opens the rows to read (a query, a Parquet file); by default the file
            ``options.path`` names. A source that is not a file is neither checked for gzip
            damage nor scanned for scattered ``group_by`` values first (those rows come out
            INVALID as they are met: sort them in the query).
        accepted: Tells which events were accepted before (a sync's state), instead of the
            ``--resume`` report: those rows are not sent again.
        on_settle: Hears every row's final status as it settles (a sync records it).

    Raises:
        ValidationError: The file, the mapping or the options are unusable (nothing sent).
        AuthenticationError: Snap refused the token (the report covers the rows read).
        ErrorRateExceeded: ``max_error_rate`` was passed; the summary is on the exception
            (``exc.summary``) and the report covers every row read.
    """
    started = time.monotonic()
    interrupts.pending = None  # one a run before this one left (an embedding program's)
    run = _Run(options, progress, now, on_map)
    meta = ReportMeta(source=options.path, settings=options.identity())
    if options.resume:
        # The settings first: a refusal should not wait for a million lines to be read.
        earlier = ReportMeta.read(options.resume)
        if earlier is not None:
            differs = earlier.differs(meta, report=options.resume)
            if differs is not None:
                raise ValidationError("resume", differs)
    if source is None:
        check_gzip(options.path)  # a corrupt .gz may decompress to garbage: none is sent
    if accepted is not None:
        run.accepted = accepted
    run.on_settle = on_settle
    if options.resume:
        run.summary.leftover_merged = _merge_leftover(options.resume, meta)
        # Read before the new report is opened: --report and --resume may name one file.
        run.accepted = AcceptedIds.from_report(options.resume)
        run.summary.resume_unusable = run.accepted.unidentified + run.accepted.unreadable
        run.summary.resume_truncated = run.accepted.truncated
    if source is None:
        _check_groups(options)  # before counting: the scan decodes the file once more
    legacy_before = legacy_characters()
    # A report that rewrites the one being resumed is written aside and put in its place
    # only when the run completes: an interrupted run must not lose what the old one holds.
    report_path = options.report
    if report_path and options.resume and _same_file(report_path, options.resume):
        report_path = _partial(report_path)
    completed = False
    opened = (
        source()
        if source is not None
        else RowSource(options.path, options.format, options.encoding)
    )
    with contextlib.closing(opened) as rows:
        if report_path:
            run.report = _writable("report", report_path, lambda: ReportWriter(report_path))
            _writable("report", report_path, lambda: meta.write(report_path))
        if options.invalid_out:
            path = options.invalid_out
            run.invalid = _writable("invalid_out", path, lambda: _InvalidRows(path, rows.columns))
        try:
            with interrupts.hold():  # the mapping reads a sample of rows at once
                pairs = run.outcomes(rows)
            if options.dry_run:
                run.dry_run(pairs)
            else:
                assert client_factory is not None
                with client_factory() as client:
                    run.send(pairs, client)
            completed = True
        except ErrorRateExceeded as exc:
            # Counted now, not when the limit was passed: events already read were still
            # delivered (and some of them rejected) before the send stopped.
            bad = sum(run.summary.counts[s] for s in _BAD)
            run.summary.stopped = (
                f"stopped early at --max-error-rate {exc.rate:g}: {bad:,} of the {run.handed:,} "
                f"rows read ({bad / max(run.handed, 1):.1%}) were invalid or rejected; the "
                "report covers every row read"
            )
            exc.summary = run.summary
            raise
        except BaseException as exc:  # Ctrl-C, a refused token: the summary still counts
            exc.snapcapi_summary = run.summary  # type: ignore[attr-defined]
            raise
        finally:
            run.summary.rows = rows.rows_read
            run.summary.unterminated = rows.unterminated
            run.summary.truncated_after = rows.last_row if rows.truncated else None
            run.summary.cut_reason = getattr(rows, "failure", None)
            run.summary.seconds = time.monotonic() - started
            run.summary.legacy_characters = legacy_characters() - legacy_before
            if run.report is not None:
                run.report.close()
            if run.invalid is not None:
                run.invalid.close()
            if report_path != options.report and report_path is not None:
                _settle_report(report_path, options.report or "", completed, run.summary)
    return run.summary


_T = TypeVar("_T")


def _writable(field: str, path: str | None, opening: Callable[[], _T]) -> _T:
    """Open an output the options name; one that cannot be written is the option's error.

    Raises:
        ValidationError: (``field``) The file cannot be created or written.
    """
    try:
        return opening()
    except OSError as exc:
        raise ValidationError(
            field,
            f"cannot write {path}: {exc.strerror or exc}; give a path in a folder that exists "
            "and that you may write to",
        ) from None


def _check_groups(options: BulkOptions) -> None:
    """Refuse a file whose line-item rows are not together, before any row is sent.

    An order whose rows come back after other rows would be sent without its later items,
    and its id claimed, so a sorted file could never complete it. A file (not standard
    input) is read once more for this, the grouping column only.

    Raises:
        ValidationError: (``group_by``) Some values' rows are not together.
    """
    column = options.recipe.group_by
    if column is None or options.path == "-":
        return
    with RowSource(options.path, options.format, options.encoding) as scan:
        count, examples = scattered_groups(scan, column)
    if count:
        shown = "; ".join(f"{echo(v)} at rows {a} and {b}" for v, a, b in examples)
        raise ValidationError(
            "group_by",
            f"the rows of {count:,} {column} values are not together ({shown}): sort the file "
            f"by {column} first, so that each one's line items are read together",
        )


def _partial(path: str) -> str:
    """Name the file a report is written to aside: ``r.csv.gz`` → ``r.partial.csv.gz``."""
    gz = ".gz" if path.lower().endswith(".gz") else ""
    root, ext = os.path.splitext(path[: len(path) - len(gz)])
    return f"{root}.partial{ext}{gz}"


def _same_file(first: str, second: str) -> bool:
    if first == "-" or second == "-":
        return False
    return os.path.abspath(first) == os.path.abspath(second)


def _settle_report(partial: str, report: str, completed: bool, summary: BulkSummary) -> None:
    """Put a report written aside in place of the one resumed.

    A run that completed read every row: its report replaces the old one. A run that did not
    (Ctrl-C, SIGTERM, a refused token) has lines only for the rows it read: the old report's
    ACCEPTED lines for the other rows are added to them, so resuming with the report again
    skips every event either run got accepted. Should even that fail, both files are kept,
    and the next ``--resume`` of the report merges them first.
    """
    meta = f"{partial}.meta.json"
    if completed:
        os.replace(partial, report)
        if os.path.exists(meta):
            os.replace(meta, f"{report}.meta.json")
        return
    try:
        merge_report(partial, report, report)
    except (Exception, KeyboardInterrupt):  # a second Ctrl-C, a full disk: keep both as they are
        summary.kept_report = (report, partial)
    else:
        summary.merged_report = report


def _merge_leftover(resume: str, meta: ReportMeta) -> str | None:
    """Merge a report an interrupted run left aside into the report it resumed, if one is there.

    Only a leftover made with this run's settings is merged; return its path when one was.
    """
    leftover = _partial(resume)
    if resume == "-" or not os.path.exists(leftover):
        return None
    try:
        made = ReportMeta.read(leftover)
    except ValidationError:
        return None
    if made is None or made.differs(meta) is not None:
        return None
    try:
        merge_report(leftover, resume, resume)
    except (OSError, ValidationError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(
            "resume",
            f"cannot merge {leftover} (the lines an interrupted run wrote aside) into {resume}: "
            f"{detail}; fix that, or delete {leftover} to resend the rows it accepted",
        ) from None
    return leftover


def explain(
    options: BulkOptions,
    out: TextIO,
    rows: int = 3,
    now: Callable[[], float] = time.time,
    *,
    source: Callable[[], RecordSource] | None = None,
) -> None:
    """Print the mapping and the first ``rows`` rows' normalized values (PII masked).

    ``source`` opens the rows when they are not a file ``options.path`` names (a query, a
    Parquet file), as :func:`run_bulk` takes it.
    """
    opened = source() if source else RowSource(options.path, options.format, options.encoding)
    with contextlib.closing(opened):
        outcomes = iter_recipe(
            options.recipe,
            iter(opened),
            columns=opened.columns,
            on_map=lambda found: _write(out, describe_map(found, options.recipe)),
        )
        for row, item in itertools.islice(outcomes, rows):
            out.write(f"\nrow {row}:\n")
            if isinstance(item, RowProblem):
                out.write(f"  INVALID: {_problem_text(item)}\n")
            elif isinstance(item, RowSkip):
                out.write(f"  SKIPPED: {item.explain('cli')}\n")
            else:
                for name, value in _explained(item):
                    out.write(f"  {name:<22} {value}\n")
                problems, notices = item.review(now())
                for problem in problems:
                    out.write(f"  INVALID: {problem}\n")
                for notice in notices:
                    out.write(f"  note: {notice}\n")


def _kind_of(problems: Sequence[Problem]) -> str:
    """Return the summary line of an event's problems: their titles, without any value."""
    return "; ".join(problem.title for problem in problems)


def _problem_text(problem: RowProblem) -> str:
    """Say what is wrong with a row in the command line's words, its field first."""
    reason = problem.explain("cli")
    return f"{problem.field}: {reason}" if problem.field else reason


def _write(out: TextIO, text: str) -> None:
    out.write(text)


def _explained(event: Event) -> list[tuple[str, str]]:
    when = _dt.datetime.fromtimestamp(event.event_time, _dt.timezone.utc)
    found: list[tuple[str, str]] = [
        ("event_name", event.event_name.value),
        ("event_time", f"{when.isoformat()} ({event.event_time})"),
        ("action_source", event.action_source.value),
        ("event_id", event.event_id),
    ]
    found.extend(
        (name, str(value)) for name, value in event.user_data._shown() if name != "on_invalid"
    )
    if event.custom_data is not None:
        for name, value in event.custom_data.to_payload().items():
            found.append((f"custom_data.{name}", json.dumps(value, ensure_ascii=False)))
    return found
