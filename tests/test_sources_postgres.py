"""PostgreSQL for real: a throwaway server (tests/_postgres.py), typed columns, a server-side
cursor, the password kept out of every message, and a nightly sync with a cursor column."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import os
import subprocess
import sys

import pytest

from snapcapi import ValidationError
from snapcapi._sync import load_spec, run_sync
from snapcapi.records import Recipe, iter_recipe
from snapcapi.sources import from_sql
from snapcapi.testing import FakeSnapServer

sqlalchemy = pytest.importorskip("sqlalchemy")

RECENT = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)).replace(microsecond=0)
RECIPE = Recipe(
    defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"},
    key=("order_id",),
    timezone="Asia/Tokyo",  # far from UTC, so a naive time that ignored it would show
)


def table_from(postgres, name, select):
    """Make (or remake) the table ``name`` from a SELECT; return an engine on the server."""
    engine = sqlalchemy.create_engine(postgres.url)
    with engine.begin() as db:
        db.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        db.exec_driver_sql(f"CREATE TABLE {name} AS {select}")
    return engine


@pytest.fixture
def shop(postgres):
    """An ``orders`` table with every type a warehouse hands over; dropped afterwards."""
    engine = sqlalchemy.create_engine(postgres.url)
    naive_tokyo = RECENT.astimezone(dt.timezone(dt.timedelta(hours=9))).replace(tzinfo=None)
    with engine.begin() as db:
        db.exec_driver_sql("DROP TABLE IF EXISTS orders")
        db.exec_driver_sql(
            "CREATE TABLE orders (order_id TEXT PRIMARY KEY, email TEXT, phone TEXT,"
            " total NUMERIC(14, 4), currency CHAR(3), paid_at TIMESTAMPTZ,"
            " local_time TIMESTAMP, updated_at TIMESTAMPTZ, status TEXT)"
        )
        db.execute(
            sqlalchemy.text(
                "INSERT INTO orders VALUES (:o, :e, :p, :t, :c, :paid, :local, :u, :s)"
            ),
            [
                {"o": "PG1", "e": "Chloé.García@Example.com", "p": "+33 6 12 34 56 78",
                 "t": decimal.Decimal("1234567890.1235"), "c": "EUR", "paid": RECENT,
                 "local": naive_tokyo, "u": RECENT, "s": "paid"},
                {"o": "PG2", "e": "null.phone@example.com", "p": None,
                 "t": decimal.Decimal("0.0100"), "c": "USD", "paid": RECENT,
                 "local": naive_tokyo, "u": RECENT, "s": "paid"},
            ],
        )  # fmt: skip
    yield engine
    with engine.begin() as db:
        db.exec_driver_sql("DROP TABLE IF EXISTS orders")
    engine.dispose()


def test_typed_columns_arrive_typed_and_are_used_as_they_are(shop, postgres):
    """TIMESTAMPTZ is aware, naive TIMESTAMP follows the time zone, NUMERIC stays exact."""
    query = "SELECT * FROM orders ORDER BY order_id"
    with from_sql(postgres.url, query) as source:
        rows = list(source)
    records = {record["order_id"]: record for _, record in rows}
    assert records["PG1"]["paid_at"] == RECENT
    assert records["PG1"]["paid_at"].tzinfo is not None
    assert records["PG1"]["local_time"].tzinfo is None
    assert records["PG1"]["total"] == decimal.Decimal("1234567890.1235")
    assert records["PG2"]["phone"] is None

    paid = Recipe(defaults=RECIPE.defaults, key=RECIPE.key, timezone="Asia/Tokyo",
                  mapping={"event_time": "paid_at", "value": "total"})  # fmt: skip
    aware = [event for _, event in iter_recipe(paid, rows)]  # aware: the zone does not apply
    assert all(event.event_time == int(RECENT.timestamp()) for event in aware)

    local = Recipe(defaults=RECIPE.defaults, key=RECIPE.key, timezone="Asia/Tokyo",
                   mapping={"event_time": "local_time", "order_id": "order_id",
                            "email": "email", "phone": "phone", "value": "total",
                            "currency": "currency"})  # fmt: skip
    naive = [event for _, event in iter_recipe(local, rows)]
    assert [event.event_time for event in naive] == [int(RECENT.timestamp())] * 2
    payload = naive[0].to_payload()
    assert payload["custom_data"]["value"] == 1234567890.1235  # every digit kept
    assert "ph" in payload["user_data"]
    assert "ph" not in naive[1].to_payload()["user_data"]  # NULL is blank, not "None"

    utc = Recipe(defaults=RECIPE.defaults, key=RECIPE.key, mapping=local.mapping)
    refused = [event for _, event in iter_recipe(utc, rows)]
    assert all("naive" in str(problem) and "timezone" in str(problem) for problem in refused)


def test_fifty_thousand_rows_stream_through_a_server_side_cursor(postgres):
    """The rows come a batch at a time from a named cursor, not as one result in memory."""
    engine = table_from(
        postgres,
        "big",
        "SELECT 'B' || n AS order_id, 'b' || n || '@example.com' AS email,"
        " (n * 0.01)::NUMERIC(12, 2) AS total FROM generate_series(1, 50000) AS n",
    )
    try:
        with from_sql(postgres.url, "SELECT * FROM big ORDER BY order_id", batch_size=2_000) as src:
            rows = iter(src)
            first = next(rows)
            assert first[0] == 1
            assert src.rows_read == 1
            with engine.connect() as watcher:  # what the source's own session last ran
                last = watcher.execute(sqlalchemy.text(
                    "SELECT query FROM pg_stat_activity WHERE query LIKE 'FETCH FORWARD%'"
                )).scalars().all()  # fmt: skip
            assert len(last) == 1, last  # a named cursor, fetched a batch at a time
            assert 0 < int(last[0].split()[2]) <= 2_000, last
            count = 1 + sum(1 for _ in rows)
        assert count == 50_000
        assert src.last_row == 50_000
    finally:
        with engine.begin() as db:
            db.exec_driver_sql("DROP TABLE IF EXISTS big")
        engine.dispose()


def test_a_wrong_password_or_a_bad_query_never_shows_the_password(postgres):
    wrong = postgres.url.replace(":s3cret-pw-never-shown@", ":wrong-pw-Zq9@")
    with pytest.raises(ValidationError) as refused:
        from_sql(wrong, "SELECT 1")
    assert refused.value.field == "db"
    assert "password authentication failed" in str(refused.value)
    assert "wrong-pw-Zq9" not in str(refused.value) + repr(refused.value)
    with pytest.raises(ValidationError) as failed:
        from_sql(postgres.url, "SELECT * FROM no_such_table WHERE email = :e", {"e": "x@y.z"})
    assert failed.value.field == "query"
    assert "no_such_table" in str(failed.value)
    assert "x@y.z" not in str(failed.value)
    assert "s3cret-pw-never-shown" not in str(failed.value)


def test_cli_sends_a_postgres_query_and_never_prints_the_password(shop, postgres, tmp_path):
    """``snapcapi send --query`` with the URL from SNAPCAPI_DB_URL: sent, reported, no password."""
    report = tmp_path / "report.csv"
    with FakeSnapServer() as server:
        environment = {**os.environ, "SNAPCAPI_DB_URL": postgres.url,
                       "SNAP_ACCESS_TOKEN": server.token}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "snapcapi", "send", "--query",
             "SELECT * FROM orders WHERE status LIKE 'pa%'", "--map", "event_time=paid_at",
             "--map", "value=total", "--event-name", "PURCHASE", "--action-source", "OFFLINE",
             "--key", "order_id", "--report", str(report), "--pixel-id", server.pixel_id,
             "--base-url", server.url, "--max-retries", "0"],
            capture_output=True, text=True, timeout=120, env=environment, check=False,
        )  # fmt: skip
        received = list(server.events)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(received) == 2
    written = report.read_text(encoding="utf-8")
    assert [row["status"] for row in csv.DictReader(written.splitlines())] == ["ACCEPTED"] * 2
    for text in (done.stdout, done.stderr, written):
        assert "s3cret-pw-never-shown" not in text
    wrong = postgres.url.replace("s3cret-pw-never-shown", "typo-pw-Xk2")
    refused = subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", "--query", "SELECT * FROM orders",
         "--db", wrong, "--dry-run", "--event-name", "PURCHASE", "--map", "event_time=paid_at"],
        capture_output=True, text=True, timeout=120, env=environment, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "--db" in refused.stderr
    assert "password authentication failed" in refused.stderr
    assert "snapcapi:***@127.0.0.1" in refused.stderr
    assert "typo-pw-Xk2" not in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr


def test_nightly_sync_from_postgres_sends_only_what_is_new(shop, postgres, tmp_path, monkeypatch):
    """A TIMESTAMPTZ cursor: the first run sends both rows, the next only the row added since."""
    spec_path = tmp_path / "orders.toml"
    with FakeSnapServer() as server:
        monkeypatch.setenv("SNAP_ACCESS_TOKEN", server.token)
        monkeypatch.setenv("SHOP_DB", postgres.url)
        spec_path.write_text(
            f"""key = ["order_id"]
cursor = "updated_at"

[source]
db_env = "SHOP_DB"
query = '''
SELECT order_id, email, phone, total, currency, paid_at, updated_at FROM orders
WHERE status = 'paid'
  AND (CAST(:snapcapi_since AS TIMESTAMPTZ) IS NULL
       OR updated_at > CAST(:snapcapi_since AS TIMESTAMPTZ))
'''

[mapping]
value = "total"
event_time = "paid_at"

[defaults]
event_name = "PURCHASE"
action_source = "OFFLINE"

[snap]
pixel_id = "{server.pixel_id}"
base_url = "{server.url}"
""",
            encoding="utf-8",
        )
        spec = load_spec(str(spec_path))
        state = str(tmp_path / "orders.toml.state.sqlite")
        first = run_sync(spec, state)
        assert first.summary.counts["ACCEPTED"] == 2
        assert first.high == RECENT
        later = RECENT + dt.timedelta(minutes=30)
        with shop.begin() as db:
            db.execute(
                sqlalchemy.text(
                    "INSERT INTO orders VALUES ('PG3', 'new@example.com', NULL, 5, 'USD',"
                    " :t, NULL, :t, 'paid')"
                ),
                {"t": later},
            )
        second = run_sync(spec, state)
        assert second.summary.rows == 1
        assert second.summary.counts["ACCEPTED"] == 1
        assert second.high == later
        third = run_sync(spec, state)
        assert third.summary.rows == 0
        full = run_sync(spec, state, full=True)  # the cursor ignored, the state still holds
        assert full.summary.rows == 3
        assert full.summary.resumed == 3
        ids, received = server.event_ids(), len(server.events)
    assert len(ids) == received == 3  # each order once: nothing was sent twice


def test_a_query_that_fails_part_way_settles_the_rows_before_and_names_no_value(postgres, tmp_path):
    """A value the server cannot cast on row 4,001 (after two fetches): the 4,000 rows before
    are sent and reported, the run exits 2 naming --query, and the value is masked."""
    engine = table_from(
        postgres,
        "late",
        "SELECT n, 'late' || n || '@example.com' AS email,"
        " now() - INTERVAL '1 hour' AS event_time FROM generate_series(1, 5000) AS n",
    )
    engine.dispose()
    query = (
        "SELECT n AS order_id, email, event_time,"
        " CASE WHEN n > 4000 THEN email::int END AS boom FROM late"  # a scan, in order
    )
    report = tmp_path / "report.csv"
    with FakeSnapServer() as server:
        environment = {**os.environ, "SNAPCAPI_DB_URL": postgres.url,
                       "SNAP_ACCESS_TOKEN": server.token}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "snapcapi", "send", "--query", query, "--key", "order_id",
             "--event-name", "SIGN_UP", "--action-source", "OFFLINE", "--report", str(report),
             "--pixel-id", server.pixel_id, "--base-url", server.url, "--max-retries", "0"],
            capture_output=True, text=True, timeout=300, env=environment, check=False,
        )  # fmt: skip
        received = len(server.event_ids())
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "--query" in done.stderr
    assert "reading stopped after row 4,000" in done.stderr
    assert "invalid input syntax for type integer" in done.stderr
    assert "late4001@example.com" not in done.stdout + done.stderr
    assert "s3cret-pw-never-shown" not in done.stdout + done.stderr
    rows = list(csv.DictReader(report.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == received == 4_000
    assert {row["status"] for row in rows} == {"ACCEPTED"}


def test_values_in_a_database_error_and_secrets_in_a_url_are_masked(postgres):
    with pytest.raises(ValidationError) as refused:
        from_sql(postgres.url, "SELECT 1 WHERE 1 = CAST(:x AS INTEGER)",
                 {"x": "alice.smith@example.com"})  # fmt: skip
    assert "invalid input syntax for type integer" in str(refused.value)
    assert "alice.smith@example.com" not in str(refused.value)
    in_query = postgres.url.replace(":s3cret-pw-never-shown@", "@") + (
        "?password=s3cret-pw-never-shown&application_name=snapcapi-test"
    )
    with from_sql(in_query, "SELECT 1 AS one") as source:  # psycopg reads ?password=
        assert [record for _, record in source] == [{"one": 1}]
        assert "s3cret-pw-never-shown" not in source.path + repr(source)
        assert "password=***" in source.path
    with pytest.raises(ValidationError) as failed:
        from_sql(in_query, "SELECT * FROM no_such_table")
    assert "s3cret-pw-never-shown" not in str(failed.value)


def test_a_sync_whose_query_fails_part_way_keeps_its_cursor(postgres, tmp_path):
    """The rows before the failure are recorded; the cursor stays; the fixed rerun sends the
    rest and none twice."""
    engine = table_from(
        postgres,
        "flaky",
        "SELECT n, 'f' || n || '@example.com' AS email,"
        " now() - INTERVAL '1 hour' AS event_time, n AS version,"
        " CASE WHEN n > 2500 THEN 'x' ELSE '1' END AS factor"
        " FROM generate_series(1, 3000) AS n",
    )
    spec = tmp_path / "flaky.toml"
    with FakeSnapServer() as server:
        spec.write_text(
            f"""key = ["order_id"]
cursor = "version"
[source]
db_env = "FLAKY_DB"
query = '''SELECT n AS order_id, email, event_time, version, CAST(factor AS INTEGER) AS f
FROM flaky WHERE CAST(:snapcapi_since AS INTEGER) IS NULL OR version > :snapcapi_since'''
[defaults]
event_name = "SIGN_UP"
action_source = "OFFLINE"
[snap]
pixel_id = "{server.pixel_id}"
base_url = "{server.url}"
""",
            encoding="utf-8",
        )
        environment = {**os.environ, "FLAKY_DB": postgres.url, "SNAP_ACCESS_TOKEN": server.token}
        sync = [sys.executable, "-m", "snapcapi", "sync", str(spec), "--quiet"]
        done = subprocess.run(sync, capture_output=True, text=True, timeout=300,
                              env=environment, check=False)  # fmt: skip
        assert done.returncode == 2, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        assert "source: reading stopped after row 2,000" in done.stderr
        assert "the cursor did not advance" in done.stderr
        assert len(server.event_ids()) == 2_000
        with engine.begin() as db:
            db.exec_driver_sql("UPDATE flaky SET factor = '1'")
        done = subprocess.run(sync, capture_output=True, text=True, timeout=300,
                              env=environment, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert "2,000 rows were accepted in an earlier run" in done.stdout
        ids, received = server.event_ids(), len(server.events)
    engine.dispose()
    assert len(ids) == received == 3_000  # every key once, none sent twice
