"""Read and write the files of the bulk path: CSV and JSONL records in, reports out.

Everything streams: a reader holds one row at a time, a writer writes each line as it comes,
and ``.gz`` files are read and written through :mod:`gzip` transparently.

Row numbers: for CSV the data row (the header is not counted: the first record is row 1), for
JSONL the line number (blank lines are skipped but counted, so row N is line N of the file).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

from snapcapi.errors import ValidationError
from snapcapi.problems import NOT_A_RECORD, NOT_JSON, UNREADABLE_CSV, WRONG_WIDTH
from snapcapi.records import RowProblem

__all__ = [
    "ReportWriter",
    "RowSource",
    "check_encoding",
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
            return sys.stdout
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


class RowSource:
    """The records of a CSV, TSV or JSONL file, one at a time, numbered.

    Iterating yields ``(row, record)`` pairs; a row that cannot be read (a CSV line with the
    wrong number of values, a JSONL line that is not a JSON object) comes as a
    :class:`~snapcapi.RowProblem` instead, and reading goes on. Use it as a context manager.

    Attributes:
        columns: The CSV header, or None for JSONL (whose keys may vary by line).
        rows_read: Rows yielded so far.
    """

    def __init__(self, path: str, format: str | None = None, encoding: str | None = None) -> None:
        self.path = path
        self.format = file_format(path, format) if path != "-" or format else "csv"
        self._stream = open_text(path, "r", encoding)
        self.columns: list[str] | None = None
        self.repeated: frozenset[str] = frozenset()
        self.rows_read = 0
        self._last = "\n"  # the last line read (does the file end with a line break?)
        self._reader: Any = None
        if self.format in ("csv", "tsv"):
            header_line = self._stream.readline()
            delimiter = "\t" if self.format == "tsv" else _delimiter(header_line)
            header = next(csv.reader([header_line], delimiter=delimiter), [])
            self.columns = [column.strip() for column in header]
            if not any(self.columns):
                self.close()
                raise ValidationError("file", f"{path} has no header row")
            # Excel leaves unnamed columns (a trailing ",,"): name them by place; they feed
            # nothing and are listed as not read.
            self.columns = [c or f"(column {i} without a name)" for i, c in
                            enumerate(self.columns, start=1)]  # fmt: skip
            # A name given twice is an error only where it is read (see check_repeated): an
            # export's two "Note" columns should not stop an upload that reads neither.
            self.repeated = frozenset(c for c in self.columns if self.columns.count(c) > 1)
            counts: dict[str, int] = {}
            named = []
            for column in self.columns:
                counts[column] = counts.get(column, 0) + 1
                named.append(column if counts[column] == 1 else f"{column} ({counts[column]})")
            self.columns = named
            self._reader = csv.reader(self._lines(), delimiter=delimiter)

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
        for line in self._stream:
            self._last = line
            yield line

    @property
    def unterminated(self) -> bool:
        """The file's last line has no line break: it may have been cut short."""
        return not self._last.endswith(("\n", "\r"))

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (for stdin, only let go of it)."""
        if self.path == "-" and isinstance(self._stream, io.TextIOWrapper):
            self._stream.detach()
        else:
            self._stream.close()

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        if self.columns is not None:
            yield from self._csv_rows(self.columns)
        else:
            yield from self._jsonl_rows()

    def _csv_rows(self, columns: list[str]) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        width = len(columns)
        row = 0
        while True:
            try:
                values = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                self.rows_read += 1
                yield row, RowProblem(row, None, f"unreadable CSV: {exc}", code=UNREADABLE_CSV)
                continue
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line is no record
            row += 1
            self.rows_read += 1
            if len(values) != width:
                yield (
                    row,
                    RowProblem(
                        row,
                        None,
                        f"has {len(values)} values but the header has {width} columns",
                        code=WRONG_WIDTH,
                    ),
                )
                continue
            yield row, dict(zip(columns, values, strict=True))

    def _jsonl_rows(self) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
        for line_number, line in enumerate(self._lines(), start=1):
            if not line.strip():
                continue
            self.rows_read += 1
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                problem = RowProblem(line_number, None, f"not valid JSON: {exc}", code=NOT_JSON)
                yield line_number, problem
                continue
            if not isinstance(record, dict):
                kind = type(record).__name__
                yield (
                    line_number,
                    RowProblem(
                        line_number, None, f"expected a JSON object, got {kind}", code=NOT_A_RECORD
                    ),
                )
                continue
            yield line_number, record


def _delimiter(header: str) -> str:
    """Guess a CSV delimiter from the header line: the most frequent of , ; tab and |."""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class ReportWriter:
    """Write one line per input row: CSV or JSONL by the file's name (``.gz`` too)."""

    def __init__(self, path: str) -> None:
        self.format = file_format(path)
        self._stream = open_text(path, "w")
        self._csv: Any = None
        if self.format in ("csv", "tsv"):
            delimiter = "\t" if self.format == "tsv" else ","
            self._csv = csv.writer(self._stream, delimiter=delimiter, lineterminator="\n")
            self._csv.writerow(REPORT_COLUMNS)

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
        ``;`` and ``messages`` with :data:`MESSAGE_SEPARATOR`; in JSONL both are lists.
        """
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
