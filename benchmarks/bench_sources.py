"""Sources compared: rows per second from CSV, SQLite, PostgreSQL, DuckDB and Parquet, and a sync.

What is measured
----------------
The rows are :func:`bench_pipeline.generate_messy_records` flattened to columns (accented
emails, distinct national and international phones, every ``UserData`` field, a page URL on
web rows), with a unique ``order_id``, ``event_time`` and ``updated_at`` as aware UTC times,
``value`` a two-decimal amount and a ``status`` column that feeds nothing. The same ``--rows``
rows are written once, untimed, to:

* a CSV file (times as ISO 8601 with ``+00:00``), read by :class:`snapcapi._files.RowSource`;
* a SQLite table (times as ISO text, ``value`` REAL), read by :func:`snapcapi.sources.from_sql`;
* a PostgreSQL table on a throwaway local server (``tests/_postgres.py``; ``event_time`` and
  ``updated_at`` ``TIMESTAMPTZ``, ``value`` ``NUMERIC(12, 2)``, loaded with ``COPY``), read by
  :func:`~snapcapi.sources.from_sql` through psycopg 3's server-side cursor;
* a Parquet file of 8 row groups (``timestamp[us, UTC]``, ``float64``), read by
  :func:`~snapcapi.sources.from_duckdb` (``SELECT * FROM 'file.parquet'``) and by
  :func:`~snapcapi.sources.from_parquet`.

Then, in ``--rounds`` interleaved rounds (the order rotating each round, ``gc.collect()``
untimed before each run, the garbage collector on):

a. ``read``: iterate every ``(row, record)`` of the source (opening it included);
b. ``events``: the same through :func:`snapcapi.records.iter_events` (key ``order_id``, default
   event name ``PURCHASE``, columns mapped by name) to :class:`snapcapi.Event` objects: the
   records-to-events path every bulk send and sync pays. Every row must become an event.

Rows per second are given for the best and the median round, with each source's ratio to the
CSV path of the same mode (best rounds).

Last, unless ``--skip-sync``: ``--sync-rows`` rows (1,000,000) go to a PostgreSQL table (made in
chunks of 100,000 records, seeds 1000+k, ``COPY``), and ``snapcapi sync``'s ``run_sync`` runs a
spec with ``db_env``, key ``order_id`` and cursor ``updated_at`` (a ``TIMESTAMPTZ`` compared to
``:snapcapi_since``), in a fresh process of its own whose peak RSS (``VmHWM``, read in the
child: ``ru_maxrss`` survives ``exec``) is the figure, target under 200 MiB. The events go to
``bench_send``'s sink in a third process: it reads each body and answers 200 with Snap's
success body ``{"status":"VALID","reason":"Events have been processed successfully."}`` (what
``FakeSnapServer`` answers an accepted batch), validating nothing and keeping nothing, so
neither its memory nor its CPU is counted. Reported: duration, rows per second, the counts
the state holds, and the state file's bytes per row (after a ``wal_checkpoint(TRUNCATE)``).

Usage: ``python benchmarks/bench_sources.py [--rows 200000] [--rounds 3]``
``[--sync-rows 1000000] [--skip-sync]``
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import io
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import bench_pipeline  # noqa: E402

from snapcapi import Event  # noqa: E402
from snapcapi._files import RowSource  # noqa: E402
from snapcapi.records import iter_events  # noqa: E402
from snapcapi.sources import from_duckdb, from_parquet, from_sql  # noqa: E402

COLUMNS = (
    "order_id", "event_time", "updated_at", "action_source", "event_source_url", "email",
    "phone", "first_name", "last_name", "gender", "date_of_birth", "city", "state", "zip_code",
    "country", "external_id", "client_ip_address", "client_user_agent", "madid", "sc_click_id",
    "sc_cookie1", "subscription_id", "lead_id", "value", "currency", "content_category",
    "num_items", "status",
)  # fmt: skip
_TIMES = ("event_time", "updated_at")
_PG_TYPES = {"event_time": "TIMESTAMPTZ", "updated_at": "TIMESTAMPTZ", "value": "NUMERIC(12, 2)",
             "num_items": "INTEGER"}  # fmt: skip
ROW_GROUPS = 8
SYNC_CHUNK = 100_000
PIXEL = "2b1f7c1e-4b7e-4a0e-9d7e-1c2d3e4f5a6b"
TOKEN = "bench-token"
RSS_TARGET_MB = 200.0

Row = tuple[Any, ...]


# --------------------------------------------------------------------------- the rows


def flat_rows(n: int, seed: int = 0, start: int = 0) -> list[Row]:
    """Return ``n`` messy records as tuples in :data:`COLUMNS` order (order ids from ``start``)."""
    now = int(time.time())
    rows: list[Row] = []
    for i, r in enumerate(bench_pipeline.generate_messy_records(n, seed, now=now)):
        when = dt.datetime.fromtimestamp(r["event_time"], dt.timezone.utc)
        values = {
            **r,
            "order_id": f"ORD-{start + i + 1:08d}",
            "event_time": when,
            "updated_at": when + dt.timedelta(seconds=37 + i % 600),
            "value": round(float(r["value"]), 2),
            "status": "paid",
        }
        rows.append(tuple(values[c] for c in COLUMNS))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows([_text(v) for v in row] for row in rows)


def write_sqlite(path: Path, rows: Sequence[Row]) -> None:
    db = sqlite3.connect(path)
    kinds = {"value": "REAL", "num_items": "INTEGER"}
    columns = ", ".join(f"{c} {kinds.get(c, 'TEXT')}" for c in COLUMNS)
    db.execute(f"CREATE TABLE orders ({columns})")
    marks = ", ".join("?" * len(COLUMNS))
    db.executemany(
        f"INSERT INTO orders VALUES ({marks})",
        ([_text(v) if isinstance(v, dt.datetime) else v for v in row] for row in rows),
    )
    db.commit()
    db.close()


def write_parquet(path: Path, rows: Sequence[Row]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {"value": pa.float64(), "num_items": pa.int64()}
    kinds.update(dict.fromkeys(_TIMES, pa.timestamp("us", tz="UTC")))
    schema = pa.schema([(c, kinds.get(c, pa.string())) for c in COLUMNS])
    table = pa.table([[row[i] for row in rows] for i in range(len(COLUMNS))], schema=schema)
    pq.write_table(table, path, row_group_size=max(1, -(-len(rows) // ROW_GROUPS)))


def pg_create(url: str, table: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    columns = ", ".join(f"{c} {_PG_TYPES.get(c, 'TEXT')}" for c in COLUMNS)
    with engine.begin() as db:
        db.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        db.exec_driver_sql(f"CREATE TABLE {table} ({columns}, PRIMARY KEY (order_id))")
    engine.dispose()


def pg_copy(url: str, table: str, rows: Iterable[Row]) -> None:
    """Load rows with ``COPY ... FROM STDIN`` (psycopg 3 adapts datetimes and floats)."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as db, db.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        db.commit()


# --------------------------------------------------------------------------- the runs


def _sources(csv_path: Path, sqlite_path: Path, pg_url: str, parquet_path: Path) -> dict[str, Any]:
    query = "SELECT * FROM orders"
    return {
        "csv (RowSource)": lambda: RowSource(str(csv_path)),
        "sqlite (from_sql)": lambda: from_sql(f"sqlite:///{sqlite_path}", query),
        "postgresql (from_sql)": lambda: from_sql(pg_url, query),
        "parquet (from_duckdb)": lambda: from_duckdb(f"SELECT * FROM '{parquet_path}'"),
        "parquet (from_parquet)": lambda: from_parquet(str(parquet_path)),
    }


def read_all(open_source: Callable[[], Any]) -> int:
    source = open_source()
    try:
        count = 0
        for _row, _record in source:
            count += 1
        return count
    finally:
        source.close()


def events_all(open_source: Callable[[], Any]) -> int:
    source = open_source()
    try:
        count = 0
        stream = iter_events(
            source, columns=source.columns, key="order_id", defaults={"event_name": "PURCHASE"}
        )
        for row, event in stream:
            if not isinstance(event, Event):
                raise SystemExit(f"row {row} did not become an event: {event}")
            count += 1
        return count
    finally:
        source.close()


def compare(sources: dict[str, Any], rows: int, rounds: int) -> dict[tuple[str, str], list[float]]:
    """Time every (mode, source) in interleaved rounds; return rows/s per run."""
    runs = [(mode, name) for mode in ("read", "events") for name in sources]
    rates: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    for turn in range(rounds):
        order = runs[turn % len(runs) :] + runs[: turn % len(runs)]
        for mode, name in order:
            gc.collect()
            work = read_all if mode == "read" else events_all
            start = time.perf_counter()
            count = work(sources[name])
            seconds = time.perf_counter() - start
            if count != rows:
                raise SystemExit(f"{name} {mode}: {count:,} rows, not {rows:,}")
            rates[mode, name].append(rows / seconds)
            print(f"  round {turn + 1} {mode:6} {name:24} {rows / seconds:>10,.0f} rows/s",
                  flush=True)  # fmt: skip
    return rates


def table(rates: dict[tuple[str, str], list[float]]) -> str:
    lines = [
        "| source | read rows/s best | median | vs CSV | read + iter_events rows/s best | "
        "median | vs CSV |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = list(dict.fromkeys(name for _, name in rates))
    base = {mode: max(rates[mode, names[0]]) for mode in ("read", "events")}
    for name in names:
        cells = [name]
        for mode in ("read", "events"):
            runs = rates[mode, name]
            cells += [f"{max(runs):,.0f}", f"{statistics.median(runs):,.0f}",
                      f"{max(runs) / base[mode]:.2f}x"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the sync


SPEC = """key = ["order_id"]
cursor = "updated_at"

[source]
db_env = "BENCH_SOURCES_DB"
query = '''
SELECT * FROM sync_orders
WHERE status = 'paid'
  AND (CAST(:snapcapi_since AS TIMESTAMPTZ) IS NULL
       OR updated_at > CAST(:snapcapi_since AS TIMESTAMPTZ))
'''

[defaults]
event_name = "PURCHASE"

[snap]
pixel_id = "{pixel}"
base_url = "{url}"
max_retries = 0
"""


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (``VmHWM``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync_child(spec_path: str, state_path: str) -> None:
    """Run the sync once in this fresh process; print what it did as JSON."""
    from snapcapi._sync import load_spec, run_sync

    start = time.perf_counter()
    outcome = run_sync(load_spec(spec_path), state_path)
    seconds = time.perf_counter() - start
    summary = outcome.summary
    print(json.dumps({"seconds": seconds, "rows": summary.rows, "counts": dict(summary.counts),
                      "high": str(outcome.high), "rss_mb": peak_rss_mb()}))  # fmt: skip


def sync(pg_url: str, total: int, work: Path) -> dict[str, Any]:
    """Load ``total`` rows into PostgreSQL, then sync them in a child process."""
    import bench_send

    pg_create(pg_url, "sync_orders")
    start = time.perf_counter()
    for k, offset in enumerate(range(0, total, SYNC_CHUNK)):
        chunk = flat_rows(min(SYNC_CHUNK, total - offset), seed=1000 + k, start=offset)
        pg_copy(pg_url, "sync_orders", chunk)
        print(f"  sync table: {offset + len(chunk):,} rows", flush=True)
    print(f"  sync table made in {time.perf_counter() - start:.0f} s", flush=True)
    sink = bench_send.SinkProcess(0.0)
    try:
        spec_path = work / "orders.toml"
        spec_path.write_text(SPEC.format(pixel=PIXEL, url=sink.url), encoding="utf-8")
        state_path = work / "orders.toml.state.sqlite"
        env = {**os.environ, "BENCH_SOURCES_DB": pg_url, "SNAP_ACCESS_TOKEN": TOKEN}
        done = subprocess.run(
            [sys.executable, __file__, "--sync-child", str(spec_path), str(state_path)],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
    finally:
        sink.shutdown()
    if done.returncode != 0:
        raise SystemExit(f"the sync failed:\n{done.stderr[-4000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    db = sqlite3.connect(state_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    found["state_counts"] = dict(db.execute("SELECT status, COUNT(*) FROM events GROUP BY status"))
    found["state_runs"] = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    db.close()
    found["state_bytes"] = sum(
        p.stat().st_size for p in work.iterdir() if p.name.startswith(state_path.name)
    )
    return found


def sync_table(found: dict[str, Any], total: int) -> str:
    stored = sum(found["state_counts"].values())
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(found["state_counts"].items()))
    verdict = "met" if found["rss_mb"] < RSS_TARGET_MB else "MISSED"
    return "\n".join([
        "| sync of PostgreSQL rows | figure |",
        "|---|---:|",
        f"| rows | {total:,} |",
        f"| duration | {found['seconds']:.1f} s |",
        f"| rows/s | {found['rows'] / found['seconds']:,.0f} |",
        f"| peak RSS of the sync process | {found['rss_mb']:.1f} MiB "
        f"(target < {RSS_TARGET_MB:.0f} MiB: {verdict}) |",
        f"| state file | {found['state_bytes'] / 1e6:.1f} MB, "
        f"{found['state_bytes'] / max(stored, 1):.1f} bytes per row |",
        f"| state holds | {counts} ({found['state_runs']} run) |",
    ])  # fmt: skip


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sync-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--sync-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sync_child:
        sync_child(*args.sync_child)
        return 0

    from _postgres import PostgresServer

    print(f"Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"{args.rows:,} rows, {args.rounds} rounds", flush=True)  # fmt: skip
    start = time.perf_counter()
    rows = flat_rows(args.rows, seed=0)
    print(f"  {args.rows:,} rows made in {time.perf_counter() - start:.0f} s", flush=True)
    server = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sources-") as tmp:
            work = Path(tmp)
            paths = {k: work / f"orders.{k}" for k in ("csv", "sqlite", "parquet")}
            write_csv(paths["csv"], rows)
            write_sqlite(paths["sqlite"], rows)
            write_parquet(paths["parquet"], rows)
            pg_create(server.url, "orders")
            pg_copy(server.url, "orders", rows)
            del rows
            sizes = ", ".join(f"{k} {p.stat().st_size / 1e6:.0f} MB" for k, p in paths.items())
            print(f"  written: {sizes}", flush=True)
            sources = _sources(paths["csv"], paths["sqlite"], server.url, paths["parquet"])
            rates = compare(sources, args.rows, args.rounds)
            out = io.StringIO()
            out.write(f"\n{table(rates)}\n")
            if not args.skip_sync:
                found = sync(server.url, args.sync_rows, work)
                out.write(f"\n{sync_table(found, args.sync_rows)}\n")
            print(out.getvalue())
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
