"""Read and write the files of the bulk path: CSV and JSONL records in, reports out.

Everything streams: a reader holds one row at a time, a writer writes each line as it comes,
and ``.gz`` files are read and written through :mod:`gzip` transparently.

Row numbers: for CSV the data row (the header is not counted: the first record is row 1, and
a quoted value written over several lines is one row), for JSONL the line number (blank lines
are skipped but counted, so row N is line N of the file).

A CSV quote that is never closed (or closes many lines later) would make one row of every line
after it. Such a row is reported by the lines it spans, as one unreadable row for its first
line, and reading goes on at the line after that one: the rows after it keep the numbers a
well-quoted file gives them, and none vanishes. A ``.gz`` file cut short ends the rows where
it can no longer be read: :attr:`RowSource.truncated` tells, and the rows before are read as
usual. A damaged one may decompress to garbage before gzip notices: :func:`check_gzip`
refuses it before any row is read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import json
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal, TextIO, cast

from snapcapi._mapping import MAX_DEPTH, TooDeep
from snapcapi.errors import ValidationError
from snapcapi.problems import NOT_A_RECORD, NOT_JSON, UNREADABLE_CSV, WRONG_WIDTH
from snapcapi.records import RowProblem

__all__ = [
    "CUT_MARK",
    "MAX_DEPTH",
    "MAX_QUOTED_LINES",
    "REPORT_TEXT_LIMIT",
    "DamagedFile",
    "EscapingText",
    "ReportWriter",
    "RowSource",
    "cap_text",
    "check_encoding",
    "check_gzip",
    "encodable",
    "file_format",
    "legacy_characters",
    "open_text",
]

Format = Literal["csv", "tsv", "jsonl"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
#: The report's columns, in order. New ones go at the end: ``--resume`` reads by name, so
#: reports of earlier versions (fewer columns) and of this one read alike.
REPORT_COLUMNS = (
    "row", "event_id", "event_name", "status", "reason", "codes",
    "messages", "http_status", "request_id",
)  # fmt: skip
#: Joins ``messages`` in a CSV or TSV report (JSONL has a list). Not ``;`` as ``codes`` has:
#: Snap's messages are sentences, and a sentence may hold a ``;`` or a ``,``.
MESSAGE_SEPARATOR = " | "
#: Characters of a report line's ``reason``, and of its ``messages`` together, at most: text
#: from a server is capped where it is received, and a report never holds more than this of
#: it per line (what is cut ends with :data:`CUT_MARK`).
REPORT_TEXT_LIMIT = 8192
CUT_MARK = "… (cut)"
#: Physical lines one CSV row may span (a quoted value written over several lines): past
#: this, its opening quote is taken for one that was never closed.
MAX_QUOTED_LINES = 1000
#: What reading a damaged or cut ``.gz`` raises once the readable part has been read.
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def file_format(path: str, given: str | None = None) -> Format:
    """Tell a file's format from ``given`` or its name (``orders.csv.gz`` is CSV).

    Raises:
        ValidationError: The name says nothing known and no format was given.
    """
    if given is not None:
        if given not in ("csv", "tsv", "jsonl"):
            raise ValidationError("format", f"must be csv, tsv or jsonl, not {given!r}")
        return given  # type: ignore[return-value]
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    found = _SUFFIXES.get(Path(name).suffix)
    if found is None:
        raise ValidationError(
            "format",
            f"cannot tell the format of {path!r} from its name; name it .csv, .tsv, .jsonl "
            "(optionally .gz) or pass --format",
        )
    return found


class _Legacy:
    """Bytes that were not UTF-8 and were read as cp1252, since the process started."""

    characters = 0


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode bytes that are not UTF-8 as Windows cp1252 (Excel's "CSV" on Windows).

    A UTF-8 file never calls this; a cp1252 file's accented letters are invalid UTF-8 almost
    always, so each comes here and is read as the letter Excel meant. The count is reported.
    """
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover - decoding only
        raise error
    raw = bytes(error.object[error.start : error.end])
    _Legacy.characters += len(raw)
    return raw.decode("cp1252", errors="replace"), error.end


codecs.register_error("snapcapi-cp1252", _cp1252_fallback)


def legacy_characters() -> int:
    """Count the characters read so far as cp1252 because they were not UTF-8."""
    return _Legacy.characters


def check_encoding(encoding: str | None) -> str:
    """Return the codec to read with: UTF-8 (a byte-order mark skipped) unless told otherwise.

    Raises:
        ValidationError: (field ``encoding``) Python knows no such encoding.
    """
    if encoding is None:
        return _UTF8
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValidationError(
            "encoding",
            f"{encoding!r} is not an encoding Python knows; use utf-8, cp1252 (Excel on "
            "Windows), latin-1 or utf-16",
        ) from None
    return _UTF8 if name == "utf-8" else name  # a BOM is never part of the first column


_UTF8 = "utf-8-sig"


def open_text(path: str, mode: Literal["r", "w"], encoding: str | None = None) -> IO[str]:
    """Open a text file (``-`` for stdin/stdout), through gzip when it is one.

    Input is read as UTF-8 (a byte-order mark is skipped), and bytes that are not UTF-8 as
    cp1252, the encoding Excel saves in on Windows (counted: :func:`legacy_characters`). With
    an ``encoding``, bytes that do not decode are kept as lone surrogates, which the models
    refuse with a clear error for that row only. Output is UTF-8.
    """
    codec = check_encoding(encoding)
    # Without a stated encoding, bytes that are not UTF-8 are read as cp1252 (and counted);
    # with one, they are kept as lone surrogates, which the models refuse for that row.
    errors = "snapcapi-cp1252" if encoding is None else "surrogateescape"
    if codecs.lookup(codec).name.startswith(("utf-16", "utf-32")):
        errors = "replace"  # these codecs cannot keep bad bytes aside (a cut file's last byte)
    if path == "-":
        if mode == "w":
            return cast("IO[str]", EscapingText(sys.stdout))
        return io.TextIOWrapper(sys.stdin.buffer, encoding=codec, errors=errors, newline="")
    if mode == "r":
        with open(path, "rb") as probe:
            compressed = probe.read(2) == b"\x1f\x8b"
        raw: Any = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
        if encoding is None and raw.peek(2)[:2] in (b"\xff\xfe", b"\xfe\xff"):
            codec, errors = "utf-16", "replace"  # Excel's "Unicode Text" keeps a BOM
        return io.TextIOWrapper(raw, encoding=codec, errors=errors, newline="")
    if path.lower().endswith(".gz"):
        return io.TextIOWrapper(
            gzip.open(path, "wb"), encoding="utf-8", errors="backslashreplace", newline=""
        )
    return open(path, "w", encoding="utf-8", errors="backslashreplace", newline="")


def encodable(text: str, encoding: str | None) -> str:
    r"""Return ``text`` with what ``encoding`` cannot write escaped (``\udce9``, ``\U0001f600``).

    A byte that was not text in the input (kept as a lone surrogate) or a character a console's
    code page lacks would otherwise stop the writer, after the events were sent.
    """
    codec = encoding or "utf-8"
    return text.encode(codec, "backslashreplace").decode(codec, "replace")


class EscapingText:
    """A text stream (standard output) that writes any string, escaping what it cannot encode.

    ``close`` only flushes: the stream is not this object's to close.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text``; what the stream's encoding cannot hold is written escaped."""
        try:
            return self._stream.write(text)
        except UnicodeEncodeError:  # rare: a misread byte, an emoji on a cp1252 console
            return self._stream.write(encodable(text, getattr(self._stream, "encoding", None)))

    def flush(self) -> None:
        """Flush the stream."""
        self._stream.flush()

    def close(self) -> None:
        """Flush the stream, leaving it open."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Tell whether the stream is a terminal."""
        return self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class RowSource:
    """The records of a CSV, TSV or JSONL file, one at a time, numbered.

    Iterating yields ``(row, record)`` pairs; a row that cannot be read (a CSV line with the
    wrong number of values or a quote never closed, a JSONL line that is not a JSON object)
    comes as a :class:`~snapcapi.RowProblem` instead, and reading goes on. A ``.gz`` file cut
    short or damaged ends the rows where it can no longer be read (:attr:`truncated`). Use it
    as a context manager.

    Attributes:
        columns: The CSV header, or None for JSONL (whose keys may vary by line).
        rows_read: Rows yielded so far.
        last_row: The number of the last row yielded (0 before the first).
        truncated: The file is a ``.gz`` that is cut short or damaged: the rows after
            :attr:`last_row` could not be read.
        recover: A CSV quote left open fails its row alone and reading goes on at the next
            line (see the module's docstring); False for the files snapcapi writes, whose
            quotes are whole, so a value over several lines is always one row.
    """

    def __init__(
        self,
        path: str,
        format: str | None = None,
        encoding: str | None = None,
        *,
        recover: bool = True,
    ) -> None:
        self.path = path
        self.recover = recover
        self.format = file_format(path, format) if path != "-" or format else "csv"
        try:
            self._stream = open_text(path, "r", encoding)
        except _GZIP_ERRORS as exc:
            raise _damaged(path, exc) from None
        self.columns: list[str] | None = None
        self.repeated: frozenset[str] = frozenset()
        self.rows_read = 0
        self.last_row = 0
        self.truncated = False
        self._last = "\n"  # the last line read (does the file end with a line break?)
        self._delimiter = ","
        if self.format in ("csv", "tsv"):
            self._read_header()

    def _read_header(self) -> None:
        """Read the CSV header: the columns, named by place where blank, repeats numbered."""
        try:
            header_line = self._stream.readline()
        except _GZIP_ERRORS as exc:
            self.close()
            raise _damaged(self.path, exc) from None
        self._delimiter = "\t" if self.format == "tsv" else _delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=self._delimiter), [])
        columns = [column.strip() for column in header]
        if not any(columns):
            self.close()
            raise ValidationError("file", f"{self.path} has no header row")
        # Excel leaves unnamed columns (a trailing ",,"): name them by place; they feed
        # nothing and are listed as not read.
        columns = [c or f"(column {i} without a name)" for i, c in enumerate(columns, start=1)]
        # A name given twice is an error only where it is read (see check_repeated): an
        # export's two "Note" columns should not stop an upload that reads neither.
        self.repeated = frozenset(c for c in columns if columns.count(c) > 1)
        counts: dict[str, int] = {}
        named = []
        for column in columns:
            counts[column] = counts.get(column, 0) + 1
            named.append(column if counts[column] == 1 else f"{column} ({counts[column]})")
        self.columns = named

    def _plain_file_ends(self) -> str | None:
        """Return a plain file's last byte as text (None for stdin or gzip: watch the lines)."""
        if self.path == "-":
            return None
        try:
            with open(self.path, "rb") as probe:
                if probe.read(2) == b"\x1f\x8b":
                    return None
                size = probe.seek(0, 2)
                if size == 0:
                    return "\n"
                probe.seek(size - 1)
                return probe.read(1).decode("latin-1")
        except OSError:
            return None

    def check_repeated(self, columns: Iterable[str]) -> None:
        """Refuse to read a column whose name the header gives more than once.

        Raises:
            ValidationError: (``file``) One of ``columns`` is such a name.
        """
        clashes = sorted(set(columns) & self.repeated)
        if clashes:
            raise ValidationError(
                "file",
                f"{self.path} has more than one column named {', '.join(map(repr, clashes))}; "
                "rename them so each value has one place",
            )

    def _lines(self) -> Iterator[str]:
        """Return the stream's lines (for stdin and gzip, remembering the last as they go)."""
        end = self._plain_file_ends()
        if end is not None:
            self._last = end  # known already: read the lines without a layer in between
            return iter(self._stream)
        return self._watched()

    def _watched(self) -> Iterator[str]:
        """Yield the lines, the last remembered; a damaged ``.gz`` ends them (``truncated``)."""
        try:
            for line in self._stream:
                self._last = line
                yield line
        except _GZIP_ERRORS:
            self.truncated = True  # what came before the damage was read: stop there

    @property
    def unterminated(self) -> bool:
        """The file's last line has no line break: it may have been cut short."""
        return not self.truncated and not self._last.endswith(("\n", "\r"))

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (for stdin, only let go of it)."""
        if self.path == "-" and isinstance(self._stream, io.TextIOWrapper):
            self._stream.detach()
        else:
            with contextlib.suppress(*_GZIP_ERRORS):  # a damaged .gz may complain again
                self._stream.close()

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        if self.columns is not None:
            rows: Iterator[tuple[int, dict[str, Any] | RowProblem]] = self._csv_rows(self.columns)
        else:
            rows = self._jsonl_rows()
        for row, record in rows:
            self.rows_read += 1
            self.last_row = row
            yield row, record

    def _csv_rows(self, columns: list[str]) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        width = len(columns)
        # Line 1 is the header. Files snapcapi wrote (reports) always close their quotes: a
        # value over several lines there is Snap's text, never rows to read again.
        limit = MAX_QUOTED_LINES if self.recover else sys.maxsize
        feed = _Feed(self._lines(), 2, self._delimiter, limit)
        held = feed.held
        reader = csv.reader(feed.lines(), delimiter=self._delimiter)
        row = 0
        while True:
            held.clear()
            values: list[str] | None
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if len(held) < 2 or not self.recover:  # that line's (or value's) row alone
                    row += 1
                    yield row, feed.unreadable(row, f"unreadable CSV: {exc}", UNREADABLE_CSV)
                    continue
                values = None  # a quoted value over several lines ran past the field limit
            if self.truncated:
                return  # the cut came inside this row: it is not whole, so it is not a row
            if self.recover and (values is None or len(held) > 1 or feed.open_at_end):
                broken = feed.broken(values, width)
                if broken is not None:
                    row += 1
                    # The row is its first line alone: the lines after it are read again.
                    yield row, feed.unreadable(row, broken, UNREADABLE_CSV, alone=True)
                    feed.again()
                    reader = csv.reader(feed.lines(), delimiter=self._delimiter)
                    continue
            assert values is not None
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line is no record
            row += 1
            if len(values) != width:
                where = feed.where()
                why = f"{where} has {len(values)} values but the header has {width} columns"
                yield row, feed.unreadable(row, why, WRONG_WIDTH, values=values)
                continue
            yield row, dict(zip(columns, values, strict=True))

    def _jsonl_rows(self) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        for line_number, line in enumerate(self._lines(), start=1):
            if not line.strip():
                continue
            try:
                record = _loads(line)
            except ValueError as exc:
                yield line_number, _not_json(line_number, line, exc)
                continue
            if record is None or not isinstance(record, dict):
                kind = "a value nested too deeply" if record is None else type(record).__name__
                problem = RowProblem(
                    line_number, None, f"expected a JSON object, got {kind}",
                    code=NOT_A_RECORD, lines=(line_number, line_number), text=line,
                )  # fmt: skip
                yield line_number, problem
                continue
            # Nesting past MAX_DEPTH takes that many brackets: most lines cannot hold it.
            if line.count("{") + line.count("[") >= MAX_DEPTH:
                _mark_too_deep(record)
            yield line_number, record


def _loads(line: str) -> Any:
    """Parse a JSON lines line; one too deep for :func:`json.loads` is read key by key.

    Returns:
        The value, or None for a line too deep whose top level is not an object.

    Raises:
        ValueError: The line is not JSON.
    """
    try:
        return json.loads(line)
    except RecursionError:  # nested far past MAX_DEPTH: json itself gives up
        return _shallow_object(line)


def _not_json(line_number: int, line: str, exc: ValueError) -> RowProblem:
    """Make the problem of a JSON lines line that is not JSON, placed by the file's line."""
    if isinstance(exc, json.JSONDecodeError):
        # json numbers lines within the text it was given: one line, so always "line 1".
        what = exc.msg.removesuffix(" starting at").removesuffix(" at")
        why = f"{what} at line {line_number:,}, column {exc.colno:,}"
    else:
        why = f"line {line_number:,}: {exc}"
    return RowProblem(
        line_number, None, f"not valid JSON: {why}", code=NOT_JSON,
        lines=(line_number, line_number), text=line,
    )  # fmt: skip


class _Feed:
    """The lines of a CSV file for :mod:`csv`, numbered, keeping those of the row being read.

    A quote that is never closed would make one row of every line after it. When a row read
    over several lines does not look whole (see :meth:`broken`), :meth:`again` puts back its
    lines after the first, and a new reader over :meth:`lines` reads them as rows again.
    """

    def __init__(self, lines: Iterator[str], first: int, delimiter: str, limit: int) -> None:
        self._source = lines
        self.delimiter = delimiter
        self.limit = limit  # lines one row may span
        self.held: list[str] = []  # the lines of the row being read
        self._again: list[str] = []  # lines to read again, the next one last
        self.next_line = first  # the physical number of the next line handed out
        self.open_at_end = False  # the file ended inside a quoted value
        self.ran_on = False  # a quoted value ran over ``limit`` lines

    def lines(self) -> Iterator[str]:
        """Yield the lines to read again first, then the file's; stop a value's run-on."""
        held, again, source = self.held, self._again, self._source
        while True:
            if again:
                line = again.pop()
            else:
                try:
                    line = next(source)
                except StopIteration:
                    self.open_at_end = bool(held)
                    return
            if len(held) >= self.limit:
                again.append(line)
                self.ran_on = True
                return
            held.append(line)
            self.next_line += 1
            yield line

    def where(self) -> str:
        """Name the physical line(s) of the row just read (``line 9``, ``lines 9-11``)."""
        first, last = self.next_line - len(self.held), self.next_line - 1
        return f"line {first:,}" if first == last else f"lines {first:,}-{last:,}"

    def unreadable(
        self,
        row: int,
        reason: str,
        code: str,
        *,
        alone: bool = False,
        values: list[str] | None = None,
    ) -> RowProblem:
        """Make the problem of the row just read, with its lines, its text and what it holds.

        Args:
            row: Its row number.
            reason: What is wrong.
            code: The problem's code.
            alone: The row is its first line alone (the lines after it are read again).
            values: Its values as the csv module read them, when it did.
        """
        held = self.held[:1] if alone else self.held
        first = self.next_line - len(self.held)
        text = "".join(held)
        if values is None or alone:
            values = _salvaged(text, self.delimiter)
        return RowProblem(
            row, None, reason, code=code, lines=(first, first + max(len(held), 1) - 1),
            text=text, values=tuple(values),
        )  # fmt: skip

    def broken(self, values: list[str] | None, width: int) -> str | None:
        """Say why the row just read is not one row, or None when it is.

        Args:
            values: Its values, or None when the csv module refused it (a field too long).
            width: The header's number of columns.
        """
        first = self.next_line - len(self.held)
        last = self.next_line - 1
        if values is None:
            why = f"runs past {csv.field_size_limit():,} characters"
        elif self.ran_on:
            why = f"runs over {self.limit:,} lines"
        elif self.open_at_end:
            why = "is not closed before the end of the file"
        elif len(values) != width:
            why = (
                f"closes only on line {last:,}, which makes {len(values)} values where the "
                f"header has {width} columns"
            )
        else:
            inner = self._whole_row_inside(width)
            if inner is None:
                return None  # a value written over several lines, as exports have them
            why = f"closes only on line {last:,}, and line {inner:,} inside it reads as a row"
        where = f"line {first:,}" if first == last else f"lines {first:,}-{last:,}"
        after = "" if first == last else ", and the lines after it are read as rows again"
        return (
            f"unreadable CSV: {where}: the quote opened on line {first:,} {why}; is a quote "
            f"missing? This row is line {first:,} alone{after}"
        )

    def _whole_row_inside(self, width: int) -> int | None:
        """Return the first line after the row's first that is a whole row on its own.

        A value over several lines that holds such a line has most likely swallowed rows: a
        quote was left open and a stray one closed it further down.
        """
        first = self.next_line - len(self.held)
        for offset, line in enumerate(self.held[1:], start=1):
            if len(next(csv.reader([line], delimiter=self.delimiter), [])) == width:
                return first + offset
        return None

    def again(self) -> None:
        """Put back the lines of the row just read after its first, to be read again."""
        held = self.held
        self._again.extend(reversed(held[1:]))
        self.next_line -= len(held) - 1
        held.clear()
        self.open_at_end = self.ran_on = False


def _salvaged(text: str, delimiter: str) -> list[str]:
    """Read the values of a row's own text as far as they go (a quote left open ends there)."""
    line = text.rstrip("\r\n").replace("\x00", "")
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # pragma: no cover - one line without NUL reads in non-strict mode
        return [line]


def _mark_too_deep(record: dict[str, Any]) -> None:
    """Put a :class:`TooDeep` in place of each value nested deeper than :data:`MAX_DEPTH`.

    Without recursion, so a value nested thousands deep is walked as safely as a flat one.
    """
    for key, value in record.items():
        if value.__class__ in (dict, list) and _depth_over(value, MAX_DEPTH):
            record[key] = TooDeep()


def _depth_over(value: Any, limit: int) -> bool:
    """Tell whether a record's value nests containers deeper than ``limit`` (the record is 1)."""
    stack: list[tuple[Any, int]] = [(value, 2)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if item.__class__ is dict else item
        for child in children:
            if child.__class__ in (dict, list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _shallow_object(line: str) -> dict[str, Any] | None:
    """Read a JSON object too deep for :func:`json.loads`, one top-level value at a time.

    Each value nested deeper than :data:`MAX_DEPTH` becomes a :class:`TooDeep` without being
    parsed (in time linear in its length); the others are parsed as usual.

    Returns:
        The record, or None when the line's top level is not an object.

    Raises:
        ValueError: The line is not JSON.
    """
    decoder = json.JSONDecoder()
    position = _skip_space(line, 0)
    if not line.startswith("{", position):
        return None
    record: dict[str, Any] = {}
    position = _skip_space(line, position + 1)
    if line.startswith("}", position):
        return record
    while True:
        key, position = decoder.raw_decode(line, position)
        position = _skip_space(line, position)
        if not isinstance(key, str) or not line.startswith(":", position):
            raise ValueError("expected a key and a colon")
        start = _skip_space(line, position + 1)
        end, depth = _value_span(line, start)
        record[key] = TooDeep() if depth >= MAX_DEPTH else json.loads(line[start:end])
        position = _skip_space(line, end)
        if line.startswith("}", position):
            return record
        if not line.startswith(",", position):
            raise ValueError("expected , or }")
        position = _skip_space(line, position + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _value_span(text: str, start: int) -> tuple[int, int]:
    """Return where the JSON value at ``start`` ends and how deep its containers nest."""
    if start >= len(text) or text[start] not in "[{":
        return json.JSONDecoder().raw_decode(text, start)[1], 0
    depth = deepest = 0
    position = start
    in_string = False
    while position < len(text):
        char = text[position]
        if in_string:
            if char == "\\":
                position += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return position + 1, deepest
        position += 1
    raise ValueError("a value is not closed before the end of the line")


class DamagedFile(ValidationError):
    """A ``.gz`` file that cannot be read from its start, or is corrupt (field ``file``)."""


def check_gzip(path: str) -> None:
    """Refuse a ``.gz`` file whose content fails gzip's own checks, before any row is read.

    gzip checks the decompressed data (its CRC and length) only at the end of the stream, and
    corrupt compressed data can decompress to plausible text for a while before it fails:
    any row may be garbage, and no row of it can be trusted. A file merely cut short (a copy
    or download stopped early) passes: what comes before the cut is the file's own data,
    read and sent as usual (see :attr:`RowSource.truncated`). Reads the file once, in 1 MB
    pieces; files that are not gzip (and ``-``) are not read.

    Raises:
        DamagedFile: The file is a corrupt ``.gz``.
    """
    if path == "-":
        return
    with open(path, "rb") as probe:
        if probe.read(2) != b"\x1f\x8b":
            return
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(1 << 20):
                pass
    except EOFError:
        return  # cut short: the rows before the cut are whole
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise DamagedFile(
            "file",
            f"{path} is a damaged .gz ({exc}): damaged data can decompress to plausible rows "
            "before gzip notices (its check of the whole content comes at the end of the "
            "stream), so any of its rows may be garbage, and none was read or sent; copy or "
            f"download it again (gzip -t {path} tells a good copy)",
        ) from None


def _damaged(path: str, exc: BaseException) -> DamagedFile:
    """Say that a ``.gz`` cannot be read from its start."""
    return DamagedFile(
        "file",
        f"{path} cannot be read: it is a damaged or cut .gz ({exc}); copy or download it again",
    )


def cap_text(text: str | None) -> str | None:
    """Cut a report's text at :data:`REPORT_TEXT_LIMIT` characters, marked as cut."""
    if text is None or len(text) <= REPORT_TEXT_LIMIT:
        return text
    return text[: REPORT_TEXT_LIMIT - len(CUT_MARK)] + CUT_MARK


def _capped_messages(messages: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the messages that fit in :data:`REPORT_TEXT_LIMIT` characters together."""
    room = REPORT_TEXT_LIMIT
    for index, message in enumerate(messages):
        if len(message) > room:
            kept = list(messages[:index])
            if room > len(CUT_MARK):
                kept.append(message[: room - len(CUT_MARK)] + CUT_MARK)
            left = len(messages) - len(kept)
            if left:
                kept.append(f"… ({left:,} more cut)")
            return tuple(kept)
        room -= len(message) + len(MESSAGE_SEPARATOR)
    return messages


def _appended(path: str) -> IO[str]:
    """Open a report to add lines at its end (a ``.gz`` gets a new member)."""
    if path.lower().endswith(".gz"):
        return io.TextIOWrapper(
            gzip.open(path, "ab"), encoding="utf-8", errors="backslashreplace", newline=""
        )
    return open(path, "a", encoding="utf-8", errors="backslashreplace", newline="")


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _listed(value: Any, separator: str) -> tuple[str, ...]:
    """Read a report's ``codes`` or ``messages``: a JSON list, or CSV text joined."""
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    if isinstance(value, str) and value:
        return tuple(value.split(separator))
    return ()


def _number(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 3 else None


def _delimiter(header: str) -> str:
    """Guess a CSV delimiter from the header line: the most frequent of , ; tab and |."""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class ReportWriter:
    """Write one line per input row: CSV or JSONL by the file's name (``.gz`` too).

    With ``append``, lines are added to the end of an existing report (no header; a ``.gz``
    gets one more gzip member, which every gzip reader reads on).
    """

    def __init__(self, path: str, *, append: bool = False) -> None:
        self.format = file_format(path)
        self._stream = _appended(path) if append else open_text(path, "w")
        self._csv: Any = None
        if self.format in ("csv", "tsv"):
            delimiter = "\t" if self.format == "tsv" else ","
            self._csv = csv.writer(self._stream, delimiter=delimiter, lineterminator="\n")
            if not append:
                self._csv.writerow(REPORT_COLUMNS)

    def copy(self, line: Mapping[str, Any]) -> None:
        """Write a line read from a report (CSV cells or a JSON object) as it was."""
        codes, messages, status = line.get("codes"), line.get("messages"), line.get("http_status")
        self.write(
            line.get("row", ""),
            _text_or_none(line.get("event_id")),
            str(line.get("status", "")),
            _text_or_none(line.get("reason")),
            _listed(codes, ";"),
            _text_or_none(line.get("event_name")),
            messages=_listed(messages, MESSAGE_SEPARATOR),
            http_status=status if isinstance(status, int) else _number(status),
            request_id=_text_or_none(line.get("request_id")),
        )

    def write(
        self,
        row: object,
        event_id: str | None,
        status: str,
        reason: str | None,
        codes: tuple[str, ...] = (),
        event_name: str | None = None,
        *,
        messages: tuple[str, ...] = (),
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Write the line of one row.

        ``messages``, ``http_status`` and ``request_id`` are Snap's answer about the row's
        event (its error messages, the HTTP status, the id to quote to Snap's support); a row
        settled here, without asking Snap, has none. In CSV and TSV ``codes`` are joined with
        ``;`` and ``messages`` with :data:`MESSAGE_SEPARATOR`; in JSONL both are lists. The
        reason, and the messages together, are cut at :data:`REPORT_TEXT_LIMIT` characters.
        Any string is written: what UTF-8 cannot hold (a lone surrogate) is escaped.
        """
        reason = cap_text(reason)
        messages = _capped_messages(messages)
        if self._csv is not None:
            self._csv.writerow(
                (
                    row, event_id or "", event_name or "", status, reason or "", ";".join(codes),
                    MESSAGE_SEPARATOR.join(messages),
                    "" if http_status is None else http_status, request_id or "",
                )
            )  # fmt: skip
        else:
            line = {
                "row": row,
                "event_id": event_id,
                "event_name": event_name,
                "status": status,
                "reason": reason,
                "codes": list(codes),
                "messages": list(messages),
                "http_status": http_status,
                "request_id": request_id,
            }
            self._stream.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Flush and close the report."""
        if self._stream is not sys.stdout:
            self._stream.close()
        else:
            self._stream.flush()

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
