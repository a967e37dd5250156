"""Sources that are not files: SQL through SQLAlchemy, DuckDB over files, Parquet by batch."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snapcapi import ValidationError
from snapcapi.records import Recipe, iter_recipe
from snapcapi.sources import from_duckdb, from_parquet, from_sql, safe_url

RECIPE = Recipe(
    defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"},
    key=("order_id",),
    timezone="America/New_York",
)
RECENT = dt.datetime.now().replace(microsecond=0) - dt.timedelta(hours=3)


def sqlite_orders(path, count):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (order_id TEXT, email TEXT, value TEXT, currency TEXT,"
                   " event_time TEXT, phone TEXT)")  # fmt: skip
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
            [(f"A{i}", f"buyer{i}@example.com", f"{i}.25", "USD", RECENT.isoformat(),
              None if i % 2 else f"+1 212 555 {i:04d}") for i in range(1, count + 1)],
        )  # fmt: skip
    return f"sqlite:///{path}"


def test_sqlite_rows_stream_in_batches_numbered_from_one(tmp_path):
    url = sqlite_orders(tmp_path / "shop.db", 3_500)
    with from_sql(url, "SELECT * FROM orders ORDER BY rowid", batch_size=500) as source:
        assert source.columns == ["order_id", "email", "value", "currency", "event_time", "phone"]
        rows = iter(source)
        first = next(rows)
        assert first[0] == 1
        assert first[1]["order_id"] == "A1"
        assert source.rows_read == 1  # lazy: one row asked for, one handed on
        rest = list(rows)
    assert len(rest) == 3_499
    assert source.last_row == 3_500
    events = [e for _, e in iter_recipe(RECIPE, [first, *rest], columns=source.columns)]
    assert all(type(e).__name__ == "Event" for e in events)
    assert events[0].custom_data.to_payload()["value"] == 1.25


def test_params_bind_and_a_bad_query_names_the_query_not_its_values(tmp_path):
    url = sqlite_orders(tmp_path / "shop.db", 10)
    query = "SELECT * FROM orders WHERE order_id > :since ORDER BY order_id"
    with from_sql(url, query, {"since": "A5"}) as source:
        assert [r["order_id"] for _, r in source] == ["A6", "A7", "A8", "A9"]
    with pytest.raises(ValidationError) as caught:
        from_sql(url, "SELECT * FROM nowhere WHERE secret = :s", {"s": "buyer@example.com"})
    assert caught.value.field == "query"
    assert "buyer@example.com" not in str(caught.value)


def test_a_password_in_the_url_is_never_shown():
    url = "postgresql+psycopg://shop:s3cr3t-pw@127.0.0.1:1/orders"
    assert "s3cr3t-pw" not in safe_url(url)
    assert "***" in safe_url(url)
    assert "s3cr3t" not in safe_url("not a url s3cr3t")
    with pytest.raises(ValidationError) as caught:
        from_sql(url, "SELECT 1")  # nothing listens on port 1
    assert "s3cr3t-pw" not in str(caught.value)
    assert "s3cr3t-pw" not in repr(caught.value)


def test_typed_values_are_used_as_they_are(tmp_path):
    """Aware datetimes as they are, naive ones in the recipe's zone, Decimal exact, NULL blank."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'typed.db'}")
    aware = RECENT.replace(tzinfo=dt.timezone.utc)
    rows = [
        {"order_id": "N", "email": "n@example.com", "value": decimal.Decimal("19.99"),
         "currency": "EUR", "event_time": RECENT, "phone": None},
        {"order_id": "Z", "email": "z@example.com", "value": decimal.Decimal("0.10"),
         "currency": "EUR", "event_time": aware, "phone": None},
    ]  # fmt: skip
    events = {}
    for row_id, record in enumerate(rows, start=1):
        events[record["order_id"]] = next(iter_recipe(RECIPE, [(row_id, record)]))[1]
    new_york = RECENT.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert abs(events["N"].event_time - new_york.timestamp()) <= 3_600  # DST either way
    assert events["Z"].event_time == int(aware.timestamp())
    assert events["N"].custom_data.to_payload()["value"] == 19.99
    with engine.connect() as connection:  # an Engine works as well as a URL
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (NULL), (2)")
        connection.commit()
    with from_sql(engine, "SELECT x FROM t") as source:
        assert [r["x"] for _, r in source] == [None, 2]


def write_parquet(path, count, row_group_size):
    table = pa.table(
        {
            "order_id": [f"P{i}" for i in range(count)],
            "email": [f"p{i}@example.com" for i in range(count)],
            "value": pa.array([decimal.Decimal(f"{i}.50") for i in range(count)],
                              pa.decimal128(10, 2)),
            "currency": ["USD"] * count,
            "event_time": pa.array([RECENT] * count, pa.timestamp("s")),
            "status": ["paid" if i % 3 else "refunded" for i in range(count)],
        }
    )  # fmt: skip
    pq.write_table(table, path, row_group_size=row_group_size)


def test_parquet_is_read_a_batch_at_a_time(tmp_path):
    path = tmp_path / "orders.parquet"
    write_parquet(path, 2_500, row_group_size=1_000)
    with from_parquet(str(path), batch_size=300) as source:
        assert source.row_groups == 3
        rows = iter(source)
        first = next(rows)
        assert first[1]["value"] == decimal.Decimal("0.50")
        assert first[1]["event_time"] == RECENT
        assert source.rows_read == 1
        assert sum(1 for _ in rows) == 2_499
    events = list(iter_recipe(RECIPE, [first], columns=source.columns))
    assert events[0][1].custom_data.to_payload()["value"] == 0.5


def test_not_parquet_is_a_clear_error(tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_text("order_id,email\n1,a@example.com\n")
    with pytest.raises(ValidationError) as caught:
        from_parquet(str(path))
    assert caught.value.field == "file"
    assert "Parquet" in str(caught.value)


def test_duckdb_filters_a_parquet_glob_in_sql(tmp_path):
    for part in range(3):
        write_parquet(tmp_path / f"part-{part}.parquet", 300, row_group_size=100)
    query = f"SELECT * FROM '{tmp_path}/part-*.parquet' WHERE status = $status"
    with from_duckdb(query, {"status": "paid"}, batch_size=128) as source:
        rows = list(source)
    assert len(rows) == 3 * 200
    assert {r["status"] for _, r in rows} == {"paid"}
    assert isinstance(rows[0][1]["value"], decimal.Decimal)


def test_duckdb_unnests_ga4_style_nested_json(tmp_path):
    events = [
        {"event_name": "purchase", "event_timestamp": int(RECENT.timestamp() * 1_000_000),
         "user_pseudo_id": f"u{i}", "ecommerce": {"transaction_id": f"T{i}", "value": 10.5 + i,
         "currency": "USD"}, "event_params": [{"key": "email", "value":
         {"string_value": f"ga{i}@example.com"}}, {"key": "page", "value":
         {"string_value": "/thanks"}}]}
        for i in range(5)
    ]  # fmt: skip
    path = tmp_path / "ga4.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    query = f"""
        SELECT ecommerce.transaction_id AS order_id, ecommerce.value AS value,
               ecommerce.currency AS currency,
               to_timestamp(event_timestamp / 1000000) AS event_time,
               (SELECT p.value.string_value FROM unnest(event_params) AS t(p)
                 WHERE p.key = 'email') AS email
        FROM read_json_auto('{path}')
    """
    with from_duckdb(query) as source:
        rows = list(source)
    assert [r["email"] for _, r in rows] == [f"ga{i}@example.com" for i in range(5)]
    outcomes = [e for _, e in iter_recipe(RECIPE, rows, columns=source.columns)]
    assert all(type(e).__name__ == "Event" for e in outcomes)
    assert outcomes[0].event_time == int(RECENT.timestamp())


def test_a_bad_duckdb_query_is_a_validation_error():
    with pytest.raises(ValidationError) as caught:
        from_duckdb("SELECT * FROM 'no-such-file.parquet'")
    assert caught.value.field == "query"


def test_a_repeated_column_is_refused_where_it_is_read(tmp_path):
    url = sqlite_orders(tmp_path / "shop.db", 2)
    with from_sql(url, "SELECT email, email FROM orders") as source:
        with pytest.raises(ValidationError) as caught:
            source.check_repeated(["email"])
        source.check_repeated(["order_id"])
    assert "AS" in str(caught.value)


def test_sqlite_works_without_sqlalchemy(tmp_path, monkeypatch):
    """Without the sql extra a sqlite:/// URL is read by the standard library, read-only."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sqlalchemy" else real_find_spec(name, *a),
    )
    monkeypatch.chdir(tmp_path)
    sqlite_orders(tmp_path / "shop.db", 2_500)
    query = "SELECT * FROM orders WHERE order_id > :since ORDER BY rowid"
    with from_sql("sqlite:///shop.db", query, {"since": "A2"}, batch_size=400) as source:
        assert type(source).__name__ == "SqliteSource"
        assert source.columns == ["order_id", "email", "value", "currency", "event_time", "phone"]
        rows = list(source)
    first = {"order_id": "A3", "email": "buyer3@example.com", "value": "3.25", "currency": "USD",
             "event_time": RECENT.isoformat(), "phone": None}  # fmt: skip
    assert rows[0] == (1, first)
    assert len(rows) == sum(1 for i in range(1, 2_501) if f"A{i}" > "A2")
    events = [e for _, e in iter_recipe(RECIPE, rows[:50], columns=source.columns)]
    assert all(type(e).__name__ == "Event" for e in events)
    with pytest.raises(ValidationError) as missing:
        from_sql("sqlite:///no-such.db", "SELECT 1")
    assert missing.value.field == "db"
    assert "there is no SQLite file at 'no-such.db'" in str(missing.value)
    assert not (tmp_path / "no-such.db").exists()  # read-only: no empty database made
    with pytest.raises(ValidationError) as failed:
        from_sql("sqlite:///shop.db", "SELECT * FROM nowhere WHERE e = :e", {"e": "x@y.z"})
    assert failed.value.field == "query"
    assert "nowhere" in str(failed.value)
    assert "x@y.z" not in str(failed.value)
    with pytest.raises(ValidationError):  # read-only: a source never writes
        from_sql("sqlite:///shop.db", "DELETE FROM orders")


def test_a_mistyped_sqlite_path_is_refused_with_sqlalchemy_installed_too(tmp_path, monkeypatch):
    """SQLAlchemy would make an empty file and say "no such table"; the path is named instead."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as missing:
        from_sql("sqlite:///shop-typo.db", "SELECT * FROM orders")
    assert missing.value.field == "db"
    assert "shop-typo.db" in str(missing.value)
    assert not (tmp_path / "shop-typo.db").exists()
