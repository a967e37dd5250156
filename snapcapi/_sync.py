"""``snapcapi sync SPEC.toml``: a nightly, stateful, insert-only upload.

A spec (TOML, kept in git) names the source, the recipe and the Snap ids; the state (a SQLite
file beside the spec) remembers each event id's final status as a 16-byte SHA-256 digest, and
a history of runs. A run sends what was not ACCEPTED before and records what Snap said, in
batched transactions; a cursor column's high-water mark advances only once a run's results
are recorded and no row of it FAILED, so a crash at any point is repaired by the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import glob as globbing
import hashlib
import io
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from snapcapi._bulk import BulkOptions, BulkSummary, Settled, run_bulk
from snapcapi._files import RowSource
from snapcapi._presets import load_preset
from snapcapi._progress import Progress
from snapcapi.client import Client
from snapcapi.errors import ValidationError
from snapcapi.records import Filter, Recipe, RowProblem
from snapcapi.sources import RecordSource

if sys.version_info >= (3, 11):  # pragma: no cover - the version decides
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SyncLocked", "SyncSpec", "SyncState", "load_spec", "run_sync"]

_TOP = {
    "source", "preset", "mapping", "key", "where", "exclude", "timezone", "region",
    "defaults", "consent_column", "require_consent", "cursor", "since", "snap", "aliases",
}  # fmt: skip
_SOURCE = {"file", "glob", "query", "db", "db_env", "format", "encoding"}
_SNAP = {
    "pixel_id",
    "snap_app_id",
    "token_env",
    "token_file",
    "base_url",
    "batch_size",
    "max_retries",
}
_COMMIT_EVERY = 500  # settled rows per transaction (and at most a second apart)


class SyncLocked(Exception):
    """Another run of the same spec holds the state's lock."""


@attrs.frozen
class SyncSpec:
    """A sync spec, checked.

    Attributes:
        path: The spec file.
        source: The ``[source]`` table (``file``, ``glob`` or ``query`` with ``db``/``db_env``).
        recipe: How rows become events (the mapping, key, filters, time zone, ...).
        cursor: The column whose high-water mark bounds the next run (``:snapcapi_since``).
        since: The lower bound of the first run (None: no bound).
        pixel_id: The Snap Pixel ID.
        snap_app_id: The Snap App ID (MOBILE_APP events).
        token_env: The environment variable holding the token.
        token_file: A file holding the token (read at run time, never copied).
        base_url: Another Conversions API address (a fake server in tests).
        batch_size: Events per request (at most 2000).
        max_retries: Retries of a request that failed in passing (a timeout, a 5xx).
        require_consent: Send only rows whose consent column says yes.
    """

    path: str
    source: Mapping[str, str] = attrs.field(repr=False)  # a database URL may hold a password
    recipe: Recipe
    cursor: str | None = None
    since: Any = None
    pixel_id: str | None = None
    snap_app_id: str | None = None
    token_env: str = "SNAP_ACCESS_TOKEN"
    token_file: str | None = None
    base_url: str | None = None
    batch_size: int = 2000
    max_retries: int = 5
    require_consent: bool = False

    @property
    def display(self) -> str:
        """What reports call the source (never a database URL, which may hold a password)."""
        if "query" in self.source:
            return f"query ({self.source.get('db_env') or 'database in spec'})"
        return self.source.get("file") or self.source.get("glob") or self.path

    def token(self) -> str:
        """Read the Snap token from :attr:`token_file` or the :attr:`token_env` variable.

        Raises:
            ValidationError: (``snap.token_env``/``snap.token_file``) There is no token.
        """
        if self.token_file:
            try:
                token = Path(self.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                reason = f"cannot read the token file: {exc.strerror or exc}"
                raise ValidationError("snap.token_file", reason) from None
            if not token:
                raise ValidationError("snap.token_file", "the token file is empty")
            return token
        token = os.environ.get(self.token_env, "").strip()
        if not token:
            raise ValidationError(
                "snap.token_env",
                f"{self.token_env} is not set: export the token in it, or give snap.token_file",
            )
        return token


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for name in table:
        if name not in allowed:
            place = f"{where}.{name}" if where else name
            hint = ""
            if where == "snap" and "token" in name:
                hint = ": the token never goes in the spec; use token_env or token_file"
            raise ValidationError(
                place, f"unknown key {place!r} in the sync spec{hint or '; remove it'}"
            )


def _table(spec: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = spec.get(name, {})
    if not isinstance(value, Mapping):
        raise ValidationError(name, f"{name} must be a table ([{name}])")
    return value


def _text(table: Mapping[str, Any], name: str, where: str) -> str | None:
    value = table.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(f"{where}{name}", f"{where}{name} must be non-empty text")
    return value


def _filters(table: Mapping[str, Any], *, keep: bool) -> tuple[Filter, ...]:
    field = "where" if keep else "exclude"
    found = []
    for column, values in table.items():
        listed = [values] if isinstance(values, str) else values
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            raise ValidationError(f"{field}.{column}", "give a value or a list of values")
        found.append(Filter(column, tuple(listed), keep))
    return tuple(found)


def load_spec(path: str) -> SyncSpec:
    """Read and check a sync spec; paths in it are relative to the spec's folder.

    Raises:
        ValidationError: Naming the spec's key that is unknown, missing or wrong.
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("spec", f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("spec", f"{path} is not valid TOML: {exc}") from None
    _unknown(raw, _TOP, "")
    here = Path(path).resolve().parent
    preset_name = _text(raw, "preset", "")
    preset = load_preset(preset_name).settings if preset_name else {}
    if not isinstance(raw.get("require_consent", False), bool):
        raise ValidationError("require_consent", "require_consent is true or false")
    source = dict(_table(raw, "source"))
    _unknown(source, _SOURCE, "source")
    kinds = [k for k in ("file", "glob", "query") if k in source]
    if len(kinds) != 1:
        raise ValidationError("source", "give exactly one of source.file, glob or query")
    for name in source:
        _text(source, name, "source.")
    for name in ("format", "encoding"):
        if name not in source and name in preset:
            source[name] = preset[name]
    for name in ("file", "glob"):
        if name in source:
            source[name] = str(here / source[name])
    if ("db" in source or "db_env" in source) and "query" not in source:
        raise ValidationError("source.db", "source.db and source.db_env go with source.query")
    snap = _table(raw, "snap")
    _unknown(snap, _SNAP, "snap")
    for name in snap:
        if name not in ("batch_size", "max_retries"):
            _text(snap, name, "snap.")
    max_retries = snap.get("max_retries", 5)
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ValidationError("snap.max_retries", "snap.max_retries is a whole number, 0 or more")
    batch_size = snap.get("batch_size", 2000)
    if (
        not isinstance(batch_size, int)
        or isinstance(batch_size, bool)
        or not 1 <= batch_size <= 2000
    ):
        raise ValidationError("snap.batch_size", "snap.batch_size is a whole number from 1 to 2000")
    key = raw.get("key")
    keys = [key] if isinstance(key, str) else key
    if not keys or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationError("key", "key is required: the column(s) naming each row uniquely")
    mapping: dict[str, Any] = {**preset.get("map", {}), **_table(raw, "mapping")}
    defaults = {**preset.get("set", {}), **_table(raw, "defaults")}
    recipe = Recipe(
        mapping=mapping,
        aliases={**preset.get("aliases", {}), **_table(raw, "aliases")} or None,
        region=_text(raw, "region", ""),
        defaults=defaults,
        on_invalid="drop",
        key=tuple(k.strip() for k in keys),
        timezone=_text(raw, "timezone", "") or preset.get("timezone"),
        time_format=preset.get("time_format"),
        group_by=preset.get("group_by"),
        ignore=tuple(preset.get("ignore", ())),
        synonyms=bool(preset.get("synonyms", True)),
        decimal_comma=bool(preset.get("decimal_comma", False)),
        where=_filters({**preset.get("where", {}), **_table(raw, "where")}, keep=True),
        exclude=_filters({**preset.get("exclude", {}), **_table(raw, "exclude")}, keep=False),
        consent_column=_text(raw, "consent_column", "") or preset.get("consent_column"),
        final_region=True,
        optional=frozenset(preset.get("map", {})) - set(_table(raw, "mapping")),
    )
    recipe.check()
    token_file = snap.get("token_file")
    return SyncSpec(
        path=str(path),
        source=source,
        recipe=recipe,
        cursor=_text(raw, "cursor", ""),
        since=raw.get("since"),
        pixel_id=snap.get("pixel_id"),
        snap_app_id=snap.get("snap_app_id"),
        token_env=snap.get("token_env", "SNAP_ACCESS_TOKEN"),
        token_file=str(here / token_file) if token_file else None,
        base_url=snap.get("base_url"),
        batch_size=batch_size,
        max_retries=max_retries,
        require_consent=bool(raw.get("require_consent", False)),
    )


def digest(event_id: str) -> bytes:
    """Return the compact form the state keeps an event id as (16 bytes of SHA-256)."""
    return hashlib.sha256(event_id.encode("utf-8")).digest()[:16]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    digest BLOB PRIMARY KEY, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    first_attempt REAL NOT NULL, last_attempt REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started REAL NOT NULL, finished REAL, full INTEGER NOT NULL,
    rows_read INTEGER, sent INTEGER, accepted INTEGER, rejected INTEGER, invalid INTEGER,
    skipped INTEGER, failed INTEGER, already INTEGER, duration REAL, cursor_value TEXT,
    cursor_type TEXT
);
"""
# An event already ACCEPTED stays so; any other status is replaced by the latest one.
_UPSERT = """
INSERT INTO events VALUES (?, ?, ?, ?, ?)
ON CONFLICT(digest) DO UPDATE SET
    status = CASE WHEN events.status = 'ACCEPTED' THEN 'ACCEPTED' ELSE excluded.status END,
    attempts = events.attempts + excluded.attempts,
    last_attempt = excluded.last_attempt
"""


def _encode(value: Any) -> tuple[str, str]:
    if isinstance(value, dt.datetime):
        return value.isoformat(), "datetime"
    if isinstance(value, dt.date):
        return value.isoformat(), "date"
    if isinstance(value, bool):
        return str(value), "str"
    for kind in (int, float, Decimal):
        if isinstance(value, kind):
            return str(value), kind.__name__.lower()
    return str(value), "str"


def _decode(text: str, kind: str) -> Any:
    readers: dict[str, Callable[[str], Any]] = {
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "int": int,
        "float": float,
        "decimal": Decimal,
    }
    return readers.get(kind, str)(text)


class SyncState:
    """The SQLite state of one spec: event statuses by digest, the run history, the lock.

    Args:
        path: The state file (created when missing).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock: int | None = None
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise ValidationError(
                "state", f"cannot open {path} ({exc}); give --state a path to a writable file"
            ) from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self.db.close()
            raise ValidationError(
                "state",
                f"{path} is not a snapcapi sync state ({type(exc).__name__}: {exc}); give "
                "--state another path, or move that file away",
            ) from None
        self._pending: list[tuple[bytes, str, int, float, float]] = []
        self._flushed = time.monotonic()

    def lock(self) -> None:
        """Hold the spec's lock until :meth:`close` (the kernel lets go if the process dies).

        Raises:
            SyncLocked: Another run holds it.
        """
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException as exc:
            os.close(fd)
            if not isinstance(exc, BlockingIOError):
                raise
            raise SyncLocked(
                f"another snapcapi sync of this spec is running (its state {self.path} is "
                "locked); wait for it to finish"
            ) from None
        self._lock = fd

    def accepted(self, event_id: str, event_name: str) -> bool:
        """Tell whether Snap accepted this event in an earlier run."""
        found = self.db.execute(
            "SELECT status FROM events WHERE digest = ?", (digest(event_id),)
        ).fetchone()
        return found is not None and found[0] == "ACCEPTED"

    def record(self, settled: Settled) -> None:
        """Keep a row's final status (an earlier run's acceptance is not recorded again)."""
        if settled.event_id is None or settled.status == "VALID":
            return
        if settled.status == "ACCEPTED" and settled.result is None:
            return  # accepted in an earlier run: already recorded
        now = time.time()
        tried = 1 if settled.result is not None else 0
        self._pending.append((digest(settled.event_id), settled.status, tried, now, now))
        if len(self._pending) >= _COMMIT_EVERY or time.monotonic() - self._flushed > 1:
            self.flush()

    def flush(self) -> None:
        """Write the statuses heard so far in one transaction."""
        if self._pending:
            with self._transaction():
                self.db.executemany(_UPSERT, self._pending)
            self._pending.clear()
        self._flushed = time.monotonic()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def since(self) -> Any:
        """Return the high-water mark of the last run that advanced it (None: none did)."""
        found = self.db.execute(
            "SELECT cursor_value, cursor_type FROM runs WHERE cursor_value IS NOT NULL "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if found is None else _decode(found[0], found[1])

    def start_run(self, *, full: bool) -> int:
        """Record that a run started; return its id."""
        with self._transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (started, full) VALUES (?, ?)", (time.time(), int(full))
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run: int, summary: BulkSummary, high: Any) -> None:
        """Record the run's counts and (when given) its new high-water mark, after its events."""
        self.flush()
        counts = summary.counts
        accepted = counts.get("ACCEPTED", 0) - summary.resumed
        sent = accepted + counts.get("REJECTED", 0) + counts.get("FAILED", 0)
        value, kind = _encode(high) if high is not None else (None, None)
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET finished = ?, rows_read = ?, sent = ?, accepted = ?, "
                "rejected = ?, invalid = ?, skipped = ?, failed = ?, already = ?, "
                "duration = ?, cursor_value = ?, cursor_type = ? WHERE id = ?",
                (
                    time.time(), summary.rows, sent, accepted, counts.get("REJECTED", 0),
                    counts.get("INVALID", 0), counts.get("SKIPPED", 0),
                    counts.get("FAILED", 0), summary.resumed, summary.seconds, value, kind, run,
                ),
            )  # fmt: skip

    def status(self, out: Any, last: int = 10) -> None:
        """Write the last runs and the events' counts by status."""
        rows = self.db.execute(
            "SELECT id, started, finished, full, rows_read, sent, accepted, rejected, invalid, "
            "skipped, failed, already, duration, cursor_value FROM runs ORDER BY id DESC LIMIT ?",
            (last,),
        ).fetchall()
        out.write(f"state: {self.path}\n")
        if not rows:
            out.write("no runs yet\n")
        for r in reversed(rows):
            when = dt.datetime.fromtimestamp(r[1], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
            if r[2] is None:
                out.write(f"run {r[0]}  {when}  did not finish (crashed or still running)\n")
                continue
            out.write(
                f"run {r[0]}  {when}  {'full ' if r[3] else ''}read {r[4]:,}  sent {r[5]:,}  "
                f"accepted {r[6]:,}  rejected {r[7]:,}  invalid {r[8]:,}  skipped {r[9]:,}  "
                f"failed {r[10]:,}  already accepted {r[11]:,}  {r[12]:.1f}s"
                + (f"  cursor {r[13]}" if r[13] is not None else "")
                + "\n"
            )
        counts = self.db.execute(
            "SELECT status, COUNT(*) FROM events GROUP BY status ORDER BY status"
        ).fetchall()
        listed = ", ".join(f"{status} {count:,}" for status, count in counts) or "none"
        out.write(f"events: {listed}\n")

    def close(self) -> None:
        """Write what is pending, close the database and let go of the lock."""
        with contextlib.suppress(sqlite3.Error):
            self.flush()
        self.db.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


class _Chained:
    """Files of a glob read one after another as one source, rows numbered throughout."""

    def __init__(self, paths: list[str], format: str | None, encoding: str | None) -> None:
        self.path = paths[0]
        self._paths = paths
        self._format = format
        self._encoding = encoding
        self._current = RowSource(paths[0], format, encoding)
        self.columns = self._current.columns
        self.rows_read = 0
        self.last_row = 0
        self.truncated = False
        self._checked: list[str] = []

    @property
    def unterminated(self) -> bool:
        """Whether the file read last lacks a final line break."""
        return self._current.unterminated

    def check_repeated(self, columns: Iterable[str]) -> None:
        """Refuse a repeated column that is read, in every file."""
        self._checked = list(columns)
        self._current.check_repeated(self._checked)

    def __iter__(self) -> Iterator[tuple[Hashable, Mapping[str, Any] | RowProblem]]:
        for number, path in enumerate(self._paths):
            if number:
                self._current.close()
                self.path = path
                self._current = RowSource(path, self._format, self._encoding)
                self._current.check_repeated(self._checked)
            for _, record in self._current:
                self.rows_read += 1
                self.last_row = self.rows_read
                yield self.rows_read, record
            if self._current.truncated:
                self.truncated = True
                return

    def close(self) -> None:
        """Close the file being read."""
        self._current.close()


class _Cursored:
    """A source whose rows' cursor column is watched (and, for files, bounded by ``since``)."""

    def __init__(self, inner: RecordSource, column: str, since: Any, *, bound: bool) -> None:
        self.inner = inner
        self.column = column
        self.since = since
        self.bound = bound  # files: drop rows under the mark here (a query does it)
        self.high: Any = since
        self.rows_read = 0  # rows passed on: those under the mark were never in the run
        self.last_row = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __iter__(self) -> Iterator[tuple[Hashable, Mapping[str, Any] | RowProblem]]:
        columns = self.inner.columns
        if columns is not None and self.column not in columns:
            shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
            raise ValidationError(
                "cursor",
                f"{self.column!r} is not a column of the source (its columns: {shown}); name "
                "the column whose value grows when a row is added or changed",
            )
        for row, record in self.inner:
            if isinstance(record, Mapping):
                value = record.get(self.column)
                if value not in (None, ""):
                    # Rows AT the mark are read again (a row committed later with the same
                    # time must not be lost); the state keeps the accepted ones from going twice.
                    if self.bound and self.since is not None and str(value) < str(self.since):
                        continue
                    try:
                        if self.high is None or value > self.high:
                            self.high = value
                    except TypeError:
                        raise ValidationError(
                            "cursor", f"the cursor column {self.column!r} mixes types"
                        ) from None
            self.rows_read += 1
            self.last_row = self.inner.last_row
            yield row, record


def _open(spec: SyncSpec, since: Any) -> RecordSource:
    source = spec.source
    fmt, enc = source.get("format"), source.get("encoding")
    if "file" in source:
        return RowSource(source["file"], fmt, enc)
    if "glob" in source:
        paths = sorted(globbing.glob(source["glob"]))
        if not paths:
            raise ValidationError("source.glob", f"no file matches {source['glob']!r}")
        return _Chained(paths, fmt, enc)
    params = {"snapcapi_since": since} if spec.cursor else None
    url = source.get("db")
    if "db_env" in source:
        url = os.environ.get(source["db_env"], "").strip()
        if not url:
            raise ValidationError("source.db_env", f"{source['db_env']} is not set")
    from snapcapi import sources

    if url:
        return sources.from_sql(url, source["query"], params)
    return sources.from_duckdb(source["query"], params)


@attrs.frozen
class SyncOutcome:
    """What one sync run did.

    Attributes:
        summary: The bulk run's summary (counts by status).
        since: The lower bound the run read from (None: none).
        high: The high-water mark recorded for the next run (None: unchanged or no cursor).
    """

    summary: BulkSummary
    since: Any
    high: Any


def run_sync(
    spec: SyncSpec,
    state_path: str,
    *,
    dry_run: bool = False,
    full: bool = False,
    progress: Progress | None = None,
) -> SyncOutcome:
    """Run the sync once: send what the state has not seen accepted, record what Snap said.

    Args:
        spec: The checked spec.
        state_path: The SQLite state file.
        dry_run: Check every row, send nothing, record nothing.
        full: Read from no lower bound (the state still keeps accepted events from resending).
        progress: The progress display (none by default).

    Raises:
        SyncLocked: Another run of this spec is under way.
        ValidationError: The spec, the source or the token is unusable.
    """
    state = SyncState(state_path)
    try:
        if not dry_run:  # a dry run records nothing: it may look while a run holds the lock
            state.lock()
        since = None if full else (state.since() if spec.cursor else None)
        if since is None and not full:
            since = spec.since
        watched: list[_Cursored] = []

        def opening() -> RecordSource:
            opened = _open(spec, since)
            if not spec.cursor:
                return opened
            wrapped = _Cursored(opened, spec.cursor, since, bound="query" not in spec.source)
            watched.append(wrapped)
            return wrapped

        options = BulkOptions(
            path=spec.display,
            recipe=spec.recipe,
            format=spec.source.get("format"),
            encoding=spec.source.get("encoding"),
            dry_run=dry_run,
            require_consent=spec.require_consent,
        )
        factory = None
        if not dry_run:
            client = Client(
                spec.pixel_id,
                spec.token(),
                snap_app_id=spec.snap_app_id,
                base_url=spec.base_url,
                batch_size=spec.batch_size,
                max_retries=spec.max_retries,
                default_region=spec.recipe.region,
                require_consent=spec.require_consent,
            )

            def factory() -> Client:
                return client

        run = None if dry_run else state.start_run(full=full)
        summary = run_bulk(
            options,
            factory,
            progress or Progress(io.StringIO(), enabled=False),
            source=opening,
            accepted=state,
            on_settle=None if dry_run else state.record,
        )
        high = watched[0].high if watched else None
        if summary.counts.get("FAILED", 0) or summary.truncated_after is not None:
            high = None  # re-read those rows next time: the mark must not pass them
        if run is not None:
            state.finish_run(run, summary, high)
        return SyncOutcome(summary, since, high)
    finally:
        state.close()
