"""``snapcapi send`` on a query (SQLite, DuckDB over files) or a Parquet file, as users run it."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import run_snapcapi as snapcapi

DEFAULTS = ("--event-name", "PURCHASE", "--action-source", "OFFLINE", "--key", "order_id")
WHEN = (dt.datetime.now() - dt.timedelta(hours=2)).replace(microsecond=0)
SECRET = "pw-never-shown-7f3a"


def shop_db(path, count=40):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (order_id TEXT, email TEXT, total TEXT, currency TEXT,"
                   " created_at TEXT, status TEXT)")  # fmt: skip
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
            [(f"A{i}", f"b{i}@example.com", f"{i}.50", "USD", WHEN.isoformat(),
              "paid" if i % 4 else "refunded") for i in range(1, count + 1)],
        )  # fmt: skip
    return f"sqlite:///{path}"


def parquet(path, count=30, prefix="P"):
    table = pa.table({
        "order_id": [f"{prefix}{i}" for i in range(count)],
        "email": [f"{prefix.lower()}{i}@example.com" for i in range(count)],
        "value": [1.5 + i for i in range(count)],
        "currency": ["EUR"] * count,
        "event_time": pa.array([WHEN] * count, pa.timestamp("s")),
    })  # fmt: skip
    pq.write_table(table, path, row_group_size=10)


def report(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_a_sqlite_query_is_sent_with_every_row_reported(snap_server, tmp_path):
    url = shop_db(tmp_path / "shop.db")
    out = tmp_path / "report.csv"
    query = "SELECT * FROM orders WHERE status = 'paid' ORDER BY order_id"
    done = snapcapi("send", "--query", query, "--db", url, *DEFAULTS, "--timezone",
                    "Europe/Paris", "--report", out, server=snap_server)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "30 rows processed" in done.stdout
    lines = report(out)
    assert len(lines) == 30
    assert {line["status"] for line in lines} == {"ACCEPTED"}
    assert {line["event_id"] for line in lines} == snap_server.event_ids()


def test_the_database_url_may_come_from_the_environment(snap_server, tmp_path):
    url = shop_db(tmp_path / "shop.db", count=5)
    done = snapcapi("send", "--query", "SELECT * FROM orders", *DEFAULTS, "--timezone", "UTC",
                    server=snap_server, env={"SNAPCAPI_DB_URL": url})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert snap_server.accepted_count == 5


def test_a_parquet_file_is_sent_by_its_name(snap_server, tmp_path):
    path = tmp_path / "orders.parquet"
    parquet(path)
    done = snapcapi("send", path, *DEFAULTS, "--timezone", "UTC", server=snap_server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "30 rows processed" in done.stdout
    assert snap_server.accepted_count == 30


def test_without_db_the_query_runs_in_duckdb_over_files(snap_server, tmp_path):
    parquet(tmp_path / "a.parquet", 10, "A")
    parquet(tmp_path / "b.parquet", 10, "B")
    query = "SELECT * FROM 'orders/*.parquet' WHERE order_id NOT IN ('A0', 'B0')"
    (tmp_path / "orders").mkdir()
    for name in ("a.parquet", "b.parquet"):
        (tmp_path / name).rename(tmp_path / "orders" / name)
    done = snapcapi("send", "--query", query, *DEFAULTS, "--timezone", "UTC",
                    server=snap_server, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert snap_server.accepted_count == 18


def test_naive_database_times_need_a_time_zone(tmp_path):
    url = shop_db(tmp_path / "shop.db", count=3)
    done = snapcapi("send", "--query", "SELECT * FROM orders", "--db", url, *DEFAULTS,
                    "--dry-run")  # fmt: skip
    assert done.returncode == 1
    assert "--timezone" in done.stdout


def test_a_password_in_the_url_is_never_printed_or_reported(tmp_path):
    url = f"postgresql+psycopg://shop:{SECRET}@127.0.0.1:1/orders"
    out = tmp_path / "report.csv"
    for env, flags in (({}, ("--db", url)), ({"SNAPCAPI_DB_URL": url}, ())):
        done = snapcapi("send", "--query", "SELECT 1", *flags, *DEFAULTS, "--dry-run",
                        "--report", out, env=env)  # fmt: skip
        assert done.returncode == 2
        assert "--db: cannot connect to postgresql+psycopg://shop:***@127.0.0.1:1" in done.stderr
        assert SECRET not in done.stdout + done.stderr
        for written in tmp_path.iterdir():
            assert SECRET not in written.read_text(errors="replace")


def test_a_bad_query_names_the_flag(tmp_path):
    url = shop_db(tmp_path / "shop.db", count=1)
    done = snapcapi("send", "--query", "SELECT * FROM nowhere", "--db", url, *DEFAULTS,
                    "--dry-run")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("snapcapi: error: --query: the query on sqlite:///")


def test_file_and_query_flags_are_used_together_rightly(tmp_path):
    path = tmp_path / "orders.parquet"
    parquet(path, 2)
    cases = [
        (("send", path, "--query", "SELECT 1"), "give FILE or --query, not both"),
        (("send", path, "--db", "sqlite:///x.db"), "--db goes with --query"),
        (("send",), "give a FILE to read, or --query SQL"),
        (("send", "--query", "  "), "--query is empty"),
        (("send", "--query", "SELECT 1", "--db", "  "), "--db is empty"),  # not DuckDB instead
    ]
    for argv, message in cases:
        done = snapcapi(*argv, *DEFAULTS, "--dry-run")
        assert done.returncode == 2, argv
        assert message in done.stderr, (argv, done.stderr)


def test_a_file_that_is_not_parquet_says_so(tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_text("order_id,email\nA1,a@example.com\n")
    done = snapcapi("send", path, *DEFAULTS, "--dry-run")
    assert done.returncode == 2
    assert "is not a Parquet file" in done.stderr


def test_diagnose_reads_a_query_and_a_parquet_file(tmp_path):
    """The analyst's check before a campaign works on a query and on Parquet, as send does."""
    url = shop_db(tmp_path / "shop.db")
    query = "SELECT * FROM orders WHERE status = 'paid'"
    done = snapcapi("diagnose", "--query", query, "--db", url, "--map", "event_time=created_at",
                    "--map", "value=total", "--event-name", "PURCHASE", "--timezone", "UTC",
                    "--action-source", "OFFLINE", "--key", "order_id", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["usable_events"] == 30  # 40 orders, every fourth refunded
    assert report["score"] == 100.0
    parquet(tmp_path / "orders.parquet")
    done = snapcapi("diagnose", tmp_path / "orders.parquet", "--event-name", "PURCHASE",
                    "--action-source", "OFFLINE", "--key", "order_id", "--quiet")  # fmt: skip
    assert done.returncode == 1
    assert "30  event_time: is a naive datetime" in done.stdout
    assert "Traceback" not in done.stderr
    done = snapcapi("diagnose", "--db", url, "--event-name", "PURCHASE")
    assert done.returncode == 2
    assert "--db goes with --query" in done.stderr


def test_a_sqlite_query_needs_no_extra(snap_server, tmp_path):
    """On an install without SQLAlchemy, ``--db sqlite:///FILE`` still reads the file."""
    url = shop_db(tmp_path / "shop.db", count=8)
    written = tmp_path / "report.csv"
    argv = ["send", "--query", "SELECT * FROM orders WHERE status = 'paid'", "--db", url,
            "--map", "event_time=created_at", "--map", "value=total", "--timezone", "UTC",
            *DEFAULTS, "--report", str(written), "--pixel-id", snap_server.pixel_id,
            "--base-url", snap_server.url, "--max-retries", "0"]  # fmt: skip
    blocked = (
        "import sys; sys.modules['sqlalchemy'] = None  # as if the sql extra were not installed\n"
        "from snapcapi.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120,
        env={**os.environ, "SNAP_ACCESS_TOKEN": snap_server.token}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert [row["status"] for row in report(written)] == ["ACCEPTED"] * 6
    assert len(snap_server.event_ids()) == 6


def test_explain_shows_a_query_and_a_parquet_file(tmp_path):
    """--explain works on what send reads: a query's and a Parquet file's first rows, masked."""
    url = shop_db(tmp_path / "shop.db")
    done = snapcapi("send", "--query", "SELECT * FROM orders", "--db", url, "--explain",
                    "--map", "event_time=created_at", "--map", "value=total",
                    "--timezone", "UTC", *DEFAULTS)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "row 1:" in done.stdout
    assert "b1@example.com" not in done.stdout  # masked
    path = tmp_path / "orders.parquet"
    parquet(path, 4)
    for command in ("send", "diagnose"):
        done = snapcapi(command, path, "--explain", "--timezone", "UTC", *DEFAULTS)
        assert done.returncode == 0, done.stderr
        assert "row 3:" in done.stdout
