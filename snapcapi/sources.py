"""Where records come from: the seam every source of rows plugs into.

A source yields ``(row, record)`` pairs lazily, so memory does not grow with the source: ``row``
is the number (or id) the report and the summary name the row by, ``record`` a mapping of
column names to values (or a :class:`~snapcapi.RowProblem` for a row that could not be read).
Files (CSV, TSV, JSONL, ``.gz``) are read by :class:`snapcapi._files.RowSource`; the other
sources live here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from snapcapi.records import RowProblem

__all__ = ["RecordSource"]


class RecordSource(Protocol):
    """What :func:`snapcapi._bulk.run_bulk` reads rows from (a file, a query, a Parquet file).

    Attributes:
        path: What the summary and messages call the source (a file's path; for a query, a
            description that holds no password).
        columns: The column names, when the source knows them before its first row (a CSV
            header, a query's result columns), else None (JSONL, whose keys vary by line).
        rows_read: Rows yielded so far.
        last_row: The ``row`` of the last row yielded (0 before the first).
        truncated: The source ended early, damaged: rows after :attr:`last_row` are missing.
        unterminated: The source's last line has no line break (files only; False elsewhere).
    """

    path: str
    columns: list[str] | None
    rows_read: int
    last_row: int
    truncated: bool

    @property
    def unterminated(self) -> bool:
        """The source's last line has no line break (files only)."""
        ...

    def check_repeated(self, columns: Iterable[str]) -> None:
        """Refuse to read a column whose name the source gives more than once."""

    def __iter__(self) -> Iterator[tuple[Hashable, Mapping[str, Any] | RowProblem]]: ...

    def close(self) -> None:
        """Let go of the file, cursor or connection."""
        ...
