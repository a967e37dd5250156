"""Where records come from: the seam every source of rows plugs into.

A source yields ``(row, record)`` pairs lazily, so memory does not grow with the source: ``row``
is the number (or id) the report and the summary name the row by, ``record`` a mapping of
column names to values (or a :class:`~snapcapi.RowProblem` for a row that could not be read).
Files (CSV, TSV, JSONL, ``.gz``) are read by :class:`snapcapi._files.RowSource`; the other
sources live here.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from snapcapi._masking import mask, mask_email
from snapcapi.errors import ValidationError
from snapcapi.records import RowProblem

__all__ = [
    "DuckDBSource",
    "ParquetSource",
    "RecordSource",
    "SqlSource",
    "from_duckdb",
    "from_parquet",
    "from_sql",
    "safe_url",
]


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


def safe_url(url: object) -> str:
    """Return a database URL fit to show: its password and query-string values as ``***``.

    A URL SQLAlchemy cannot read is not echoed at all (it may hold a password where no parser
    would find it): only its scheme is shown.
    """
    text = str(url)
    if _sqlite_path(text) is not None:
        return text  # a file's path: no user, no password
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(text)
        # Options in the query string can be secrets too (?password=, ?sslpassword=,
        # ?private_key_file_pwd=): their values are never shown, whatever their names.
        masked = parsed.set(query=dict.fromkeys(parsed.query, "***")) if parsed.query else parsed
        return str(masked.render_as_string(hide_password=True)).replace("%2A%2A%2A", "***")
    except Exception:
        scheme = text.split("://", 1)[0] if "://" in text else "a database URL"
        if not scheme.replace("+", "").replace("-", "").isalnum():
            scheme = "a database URL"
        return f"{scheme}://(unreadable URL, not shown)"


def _needs(module: str, extra: str, field: str) -> Any:
    """Import an optional package, or say which extra to install.

    Raises:
        ValidationError: (``field``) The package is not installed.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValidationError(
            field, f"needs {module}, which is not installed: pip install 'snapcapi[{extra}]'"
        ) from None


class _Rows:
    """A source that is not a file: rows numbered 1, 2, 3 ..., columns known up front."""

    truncated = False
    unterminated = False

    def __init__(self, path: str, context: str = "") -> None:
        self.path = path
        self._context = context  # the words the user wrote (the query): shown in errors
        self.failure: str | None = None
        self.columns: list[str] | None = None
        self.rows_read = 0
        self.last_row = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}: {self.rows_read:,} rows read>"

    def check_repeated(self, columns: Iterable[str]) -> None:
        """Refuse to read a column whose name the source gives more than once.

        Raises:
            ValidationError: (``file``) One of ``columns`` is such a name.
        """
        given = self.columns or []
        clashes = sorted({c for c in columns if given.count(c) > 1})
        if clashes:
            raise ValidationError(
                "file",
                f"{self.path} gives more than one column named "
                f"{', '.join(map(repr, clashes))}; name them apart in the query (AS ...)",
            )

    def _batches(self) -> Iterator[Iterable[dict[str, Any]]]:
        raise NotImplementedError  # each source reads its own way

    def __iter__(self) -> Iterator[tuple[Hashable, Mapping[str, Any] | RowProblem]]:
        """Yield the rows; a database or file error part way stops them, as a damaged file does.

        The rows before the error are yielded; then :attr:`truncated` is set and
        :attr:`failure` says what went wrong (masked as :func:`_db_error` masks), so the
        runner settles what was read and reports the source as cut short, never a traceback.
        """
        records = itertools.chain.from_iterable(self._batches())
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except Exception as exc:  # a driver's error while fetching (a value it cannot cast)
                self.truncated = True
                self.failure = f"reading stopped after row {self.last_row:,}: " + _db_error(
                    exc, self._context
                )
                return
            self.rows_read += 1
            self.last_row = self.rows_read
            yield self.rows_read, record

    def close(self) -> None:
        """Let go of the cursor and the connection (idempotent)."""
        self._closed = True

    def __enter__(self) -> _Rows:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SqlSource(_Rows):
    """The rows of a SQL query, streamed with a server-side cursor (see :func:`from_sql`)."""

    def __init__(
        self, url_or_engine: Any, query: str, params: Mapping[str, Any] | None, batch_size: int
    ) -> None:
        sqlalchemy = _needs("sqlalchemy", "sql", "db")
        if isinstance(url_or_engine, sqlalchemy.engine.Engine):
            engine, owned = url_or_engine, False
            shown = safe_url(engine.url)
        else:
            shown = safe_url(url_or_engine)
            try:
                engine, owned = sqlalchemy.create_engine(str(url_or_engine)), True
            except Exception as exc:
                raise ValidationError(
                    "db",
                    f"cannot use {shown}: {type(exc).__name__}; check the URL's form "
                    "(dialect+driver://user:password@host/database) and that its driver is "
                    "installed",
                ) from None
        super().__init__(f"query on {shown}", f"{shown} {query}")
        self._engine, self._owned = engine, owned
        try:
            self._connection = engine.connect()
        except Exception as exc:
            self.close()
            raise ValidationError(
                "db", f"cannot connect to {shown}: {_db_error(exc, shown)}"
            ) from None
        try:
            self._result = self._connection.execution_options(
                stream_results=True, yield_per=batch_size
            ).execute(sqlalchemy.text(query), dict(params or {}))
        except Exception as exc:
            self.close()
            raise ValidationError(
                "query", f"the query on {shown} failed: {_db_error(exc, query)}"
            ) from None
        names = self._result.keys()  # a Result's, not a dict's
        self.columns = [str(c) for c in names]
        self._batch_size = batch_size

    def _batches(self) -> Iterator[Iterable[dict[str, Any]]]:
        columns = self.columns or []
        for partition in self._result.partitions(self._batch_size):
            yield (dict(zip(columns, row, strict=True)) for row in partition)

    def close(self) -> None:
        """Close the cursor and the connection; dispose of an engine made here."""
        if self._closed:
            return
        super().close()
        for thing in ("_result", "_connection"):
            part = getattr(self, thing, None)
            if part is not None:
                with contextlib.suppress(Exception):  # a connection already gone
                    part.close()
        if getattr(self, "_owned", False):
            self._engine.dispose()


class SqliteSource(SqlSource):
    """A SQLite file's query, read with the standard library (see :func:`from_sql`).

    :func:`from_sql` uses it for every plain ``sqlite:///PATH`` URL, so an embedded database
    works out of the box, without the ``sql`` extra. The file is opened read-only: a missing
    file is an error, not a new empty database, and a source never writes. Values come as
    SQLite stores them, as they would through SQLAlchemy with a text query.
    """

    def __init__(  # the parent's __init__ needs SQLAlchemy: not called
        self, path: str, query: str, params: Mapping[str, Any] | None, batch_size: int
    ) -> None:
        import pathlib
        import sqlite3

        shown = f"sqlite:///{path}"
        _Rows.__init__(self, f"query on {shown}", f"{shown} {query}")
        self._owned = False
        in_memory = path in ("", ":memory:")
        if not in_memory and not pathlib.Path(path).is_file():
            raise ValidationError(
                "db",
                f"there is no SQLite file at {path!r} (from {os.getcwd()}); check the path: "
                "sqlite:///shop.db is relative, sqlite:////srv/shop.db absolute",
            )
        target = (
            "file::memory:" if in_memory else pathlib.Path(path).resolve().as_uri() + "?mode=ro"
        )
        try:
            self._connection = sqlite3.connect(target, uri=True)
        except (sqlite3.Error, sqlite3.Warning) as exc:  # 3.10: Warning for two statements
            raise ValidationError(
                "db", f"cannot open the SQLite file {path!r}: {_db_error(exc, path)}"
            ) from None
        try:
            self._result = self._connection.execute(query, dict(params or {}))
        except (sqlite3.Error, sqlite3.Warning) as exc:  # 3.10: Warning for two statements
            self.close()
            raise ValidationError(
                "query", f"the query on {shown} failed: {_db_error(exc, query)}"
            ) from None
        self.columns = [str(d[0]) for d in self._result.description or ()]
        self._batch_size = batch_size

    def _batches(self) -> Iterator[Iterable[dict[str, Any]]]:
        columns = self.columns or []
        while rows := self._result.fetchmany(self._batch_size):
            yield (dict(zip(columns, row, strict=True)) for row in rows)


def _sqlite_path(url: object) -> str | None:
    """Return the file a plain ``sqlite:///`` URL names ("" for memory), else None."""
    text = str(url)
    for scheme in ("sqlite://", "sqlite+pysqlite://"):
        if text.startswith(scheme):
            rest = text[len(scheme) :]
            if not rest:
                return ""
            if rest.startswith("/") and "?" not in rest:
                return rest[1:]
    return None


class DuckDBSource(_Rows):
    """The rows of a DuckDB query, fetched a chunk at a time (see :func:`from_duckdb`)."""

    def __init__(
        self, query: str, params: Mapping[str, Any] | None, database: str, batch_size: int
    ) -> None:
        duckdb = _needs("duckdb", "duckdb", "query")
        super().__init__("query in DuckDB", query)
        self._connection = duckdb.connect(database)
        try:
            self._cursor = self._connection.execute(query, dict(params) if params else None)
        except Exception as exc:
            self.close()
            raise ValidationError(
                "query", f"the DuckDB query failed: {_db_error(exc, query)}"
            ) from None
        self.columns = [str(d[0]) for d in self._cursor.description or ()]
        self._batch_size = batch_size

    def _batches(self) -> Iterator[Iterable[dict[str, Any]]]:
        columns = self.columns or []
        while rows := self._cursor.fetchmany(self._batch_size):
            yield (dict(zip(columns, row, strict=True)) for row in rows)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if not self._closed:
            super().close()
            self._connection.close()


class ParquetSource(_Rows):
    """The rows of a Parquet file, read a batch at a time (see :func:`from_parquet`)."""

    def __init__(self, path: str, batch_size: int) -> None:
        parquet = _needs("pyarrow.parquet", "parquet", "file")
        super().__init__(path, path)
        try:
            self._file = parquet.ParquetFile(path)
        except OSError as exc:
            raise ValidationError("file", f"cannot read {path}: {exc.strerror or exc}") from None
        except Exception as exc:
            raise ValidationError(
                "file", f"{path} is not a Parquet file snapcapi can read ({type(exc).__name__})"
            ) from None
        self.columns = [str(name) for name in self._file.schema_arrow.names]
        self._batch_size = batch_size
        self.row_groups = self._file.num_row_groups

    def _batches(self) -> Iterator[Iterable[dict[str, Any]]]:
        for batch in self._file.iter_batches(batch_size=self._batch_size):
            yield batch.to_pylist()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._closed:
            super().close()
            self._file.close()


#: A quoted stretch of a driver's message ("..." or '...'), which may be a value from the data.
_QUOTED = re.compile(r"""("[^"\n]{1,200}"|'[^'\n]{1,200}')""")
#: What looks like an email address or a phone number, wherever it stands.
_PERSONAL = re.compile(r"[^\s\"'@()=,:;<>]+@[^\s\"'@()=,:;<>]+|\+?\d[\d ().-]{5,}\d")


def _db_error(exc: BaseException, context: str = "") -> str:
    """Say what a database refused, without the statement or the data's values.

    Only the first line is kept (drivers quote the statement and the bound values after it).
    In that line, a quoted stretch, or anything shaped like an email or a phone number, that is
    not in ``context`` (the query, or the URL as shown: names the user wrote stay) is masked:
    a conversion error quotes the value it could not convert, which may be personal data.
    """
    original = getattr(exc, "orig", None) or exc
    text = str(original).splitlines()[0] if str(original) else ""

    def quoted(found: re.Match[str]) -> str:
        whole = found.group(0)
        inner = whole[1:-1]
        return whole if inner in context else f"{whole[0]}{mask(inner)}{whole[0]}"

    def personal(found: re.Match[str]) -> str:
        value = found.group(0)
        if value in context or "*" in value:  # the user's own words, or masked already
            return value
        return mask_email(value) if "@" in value else mask(value)

    text = _PERSONAL.sub(personal, _QUOTED.sub(quoted, text))
    return f"{type(original).__name__}: {text}"[:300]


def from_sql(
    url_or_engine: Any,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    batch_size: int = 2_000,
) -> SqlSource:
    """Read the rows of a SQL query, streamed with a server-side cursor.

    Any SQLAlchemy URL works with its dialect installed (``postgresql+psycopg://``,
    ``mysql+pymysql://``, ``snowflake://``, ``bigquery://``); a ``sqlite:///PATH`` file is
    read by the standard library, read-only, with or without SQLAlchemy.
    Values arrive typed: aware datetimes are used as they are, naive ones follow the
    recipe's ``timezone``, ``DECIMAL`` stays exact, ``NULL`` is blank.

    Args:
        url_or_engine: A SQLAlchemy URL (a password in it is never shown) or an ``Engine``.
        query: The SQL, with ``:name`` parameters.
        params: The parameters' values.
        batch_size: Rows fetched at a time (memory stays bounded by it).

    Raises:
        ValidationError: (``db``) The URL cannot be used; (``query``) the query failed.
    """
    if isinstance(url_or_engine, (str, os.PathLike)):
        path = _sqlite_path(url_or_engine)
        if path is not None:  # a SQLite file: read-only, with or without SQLAlchemy
            return SqliteSource(path, query, params, batch_size)
    return SqlSource(url_or_engine, query, params, batch_size)


def from_duckdb(
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    database: str = ":memory:",
    batch_size: int = 2_000,
) -> DuckDBSource:
    """Read the rows of a DuckDB query: SQL over Parquet, CSV and (nested) JSON files.

    For example ``SELECT ... FROM 'orders/*.parquet' WHERE status = 'paid'``; line items can
    be joined, filtered and grouped in SQL instead of with flags.

    Args:
        query: The SQL, with ``$name`` parameters.
        params: The parameters' values.
        database: A DuckDB database file, or ``:memory:``.
        batch_size: Rows fetched at a time.

    Raises:
        ValidationError: (``query``) The query failed.
    """
    return DuckDBSource(query, params, database, batch_size)


def from_parquet(path: str, *, batch_size: int = 2_000) -> ParquetSource:
    """Read a Parquet file batch by batch (row groups are never read whole into memory).

    Raises:
        ValidationError: (``file``) The file cannot be read or is not Parquet.
    """
    return ParquetSource(path, batch_size)
