"""``snapcapi sync SPEC.toml``: the spec, the state, the cursor, the lock and crash safety."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from snapcapi._sync import SyncState, digest, load_spec, run_sync
from snapcapi.errors import ValidationError
from snapcapi.testing import FakeSnapServer

WHEN = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
HEADER = "order_id,email,total,currency,created_at,updated_at\n"


def orders(path, first, last, updated="2026-01-01T00:00:00"):
    """Write (or append) paid orders ``first``..``last`` to a CSV file."""
    lines = [
        f"A{i},buyer{i}@example.com,{i}.50,USD,{WHEN},{updated}\n" for i in range(first, last + 1)
    ]
    if path.exists():
        with path.open("a", encoding="utf-8") as stream:
            stream.writelines(lines)
    else:
        path.write_text(HEADER + "".join(lines), encoding="utf-8")


def write_spec(tmp_path, server, *, extra="", source='file = "orders.csv"', snap=""):
    """Write a sync spec for orders.csv that sends to the fake server."""
    spec = tmp_path / "orders.toml"
    spec.write_text(
        f"""key = ["order_id"]
timezone = "UTC"
{extra}
[source]
{source}

[mapping]
email = "email"
value = "total"
currency = "currency"
event_time = "created_at"
order_id = "order_id"

[defaults]
event_name = "PURCHASE"
action_source = "OFFLINE"

[snap]
pixel_id = "{server.pixel_id}"
base_url = "{server.url}"
{snap}
""",
        encoding="utf-8",
    )
    return spec


@pytest.fixture
def server(monkeypatch):
    """A fake Snap server whose token is in SNAP_ACCESS_TOKEN."""
    with FakeSnapServer() as fake:
        monkeypatch.setenv("SNAP_ACCESS_TOKEN", fake.token)
        yield fake


def state_rows(path):
    """The state's events as {digest: (status, attempts)}."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT digest, status, attempts FROM events").fetchall()
    return {row[0]: (row[1], row[2]) for row in found}


def run_cli(*argv, env=None, timeout=120):
    """Run ``python -m snapcapi`` in a subprocess; never a traceback."""
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", *map(str, argv)],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    return completed


def test_second_run_sends_nothing_already_accepted(tmp_path, server):
    """A first run sends every row and records it; a second sends none of them again."""
    orders(tmp_path / "orders.csv", 1, 30)
    spec = load_spec(str(write_spec(tmp_path, server)))
    state = str(tmp_path / "orders.toml.state.sqlite")
    first = run_sync(spec, state)
    assert first.summary.counts["ACCEPTED"] == 30
    assert len(server.event_ids()) == 30
    recorded = state_rows(state)
    assert sorted(recorded) == sorted(digest(i) for i in server.event_ids())
    assert all(len(d) == 16 and s == ("ACCEPTED", 1) for d, s in recorded.items())
    requests = server.request_count
    second = run_sync(spec, state)
    assert second.summary.resumed == 30
    assert server.request_count == requests


def test_rejected_event_is_not_marked_accepted_and_is_retried(tmp_path, server):
    """An event Snap refused is recorded REJECTED, never ACCEPTED, and sent again next run."""
    orders(tmp_path / "orders.csv", 1, 3)
    spec = load_spec(str(write_spec(tmp_path, server)))
    run_sync(spec, str(tmp_path / "probe.sqlite"), dry_run=False)
    ids = sorted(server.event_ids())
    server.reset()
    server.reject(ids[1])
    state = str(tmp_path / "state.sqlite")
    outcome = run_sync(spec, state)
    assert outcome.summary.counts["REJECTED"] == 1
    assert state_rows(state)[digest(ids[1])] == ("REJECTED", 1)
    assert ids[1] not in server.event_ids()
    server.reset()
    again = run_sync(spec, state)
    assert server.event_ids() == {ids[1]}
    assert again.summary.resumed == 2
    assert state_rows(state)[digest(ids[1])] == ("ACCEPTED", 2)


def test_failed_events_are_sent_again_and_hold_the_cursor(tmp_path, server):
    """FAILED events are recorded as such, sent again next run, and the mark does not pass them."""
    path = tmp_path / "orders.csv"
    orders(path, 1, 4, updated="2026-01-01T00:00:00")
    spec = load_spec(
        str(write_spec(tmp_path, server, extra='cursor = "updated_at"', snap="max_retries = 0"))
    )
    state = str(tmp_path / "state.sqlite")
    server.script(500)
    failed = run_sync(spec, state)
    assert failed.summary.counts["FAILED"] == 4
    assert failed.high is None
    assert {status for status, _ in state_rows(state).values()} == {"FAILED"}
    assert server.event_ids() == set()
    again = run_sync(spec, state)
    assert again.since is None
    assert again.summary.counts["ACCEPTED"] == 4
    assert again.high == "2026-01-01T00:00:00"
    assert set(state_rows(state).values()) == {("ACCEPTED", 2)}


def test_query_source_binds_the_cursor(tmp_path, server):
    """A SQL query gets :snapcapi_since bound: NULL first, then the last run's mark."""
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as db:
        db.execute(
            "CREATE TABLE orders (order_id TEXT, email TEXT, total TEXT, currency TEXT,"
            " created_at TEXT, updated_at TEXT)"
        )
        rows = [
            (f"A{i}", f"b{i}@example.com", "5.00", "USD", WHEN, f"2026-01-0{i}") for i in (1, 2)
        ]
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.close()
    query = (
        'query = "SELECT * FROM orders WHERE :snapcapi_since IS NULL'
        ' OR updated_at > :snapcapi_since"\n'
        f'db = "sqlite:///{database}"'
    )
    spec = load_spec(str(write_spec(tmp_path, server, extra='cursor = "updated_at"', source=query)))
    state = str(tmp_path / "state.sqlite")
    first = run_sync(spec, state)
    assert (first.summary.rows, first.high) == (2, "2026-01-02")
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO orders VALUES ('A3', 'c@example.com', '1.00', 'USD', ?, ?)",
                   (WHEN, "2026-01-03"))  # fmt: skip
    db.close()
    second = run_sync(spec, state)
    assert (second.summary.rows, second.high) == (1, "2026-01-03")
    assert len(server.event_ids()) == 3


def test_dry_run_records_nothing(tmp_path, server):
    """A dry run checks the rows but leaves no event and no run in the state."""
    orders(tmp_path / "orders.csv", 1, 5)
    spec = load_spec(str(write_spec(tmp_path, server)))
    state = str(tmp_path / "state.sqlite")
    outcome = run_sync(spec, state, dry_run=True)
    assert outcome.summary.counts["VALID"] == 5
    assert server.request_count == 0
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_cursor_reads_only_newer_rows_and_full_ignores_it(tmp_path, server):
    """With a cursor, the next run reads only rows past the high-water mark; --full reads all."""
    path = tmp_path / "orders.csv"
    orders(path, 1, 10, updated="2026-01-01T00:00:00")
    spec = load_spec(str(write_spec(tmp_path, server, extra='cursor = "updated_at"')))
    state = str(tmp_path / "state.sqlite")
    first = run_sync(spec, state)
    assert first.high == "2026-01-01T00:00:00"
    orders(path, 11, 14, updated="2026-01-02T00:00:00")
    second = run_sync(spec, state)
    assert second.since == "2026-01-01T00:00:00"
    assert second.summary.rows == 14  # the 10 at the mark are read again, not sent again
    assert second.summary.resumed == 10
    assert len(server.event_ids()) == len(server.events) == 14
    orders(path, 15, 15, updated="2026-01-02T00:00:00")  # committed late, stamped at the mark
    third = run_sync(spec, state)
    assert (third.summary.rows, third.summary.resumed) == (5, 4)
    assert len(server.event_ids()) == len(server.events) == 15  # not lost, and none twice
    full = run_sync(spec, state, full=True)
    assert full.summary.rows == 15
    assert full.summary.resumed == 15


def test_glob_source_reads_every_file(tmp_path, server):
    """A glob source reads its files in name order as one source."""
    orders(tmp_path / "day1.csv", 1, 4)
    orders(tmp_path / "day2.csv", 5, 9)
    spec = load_spec(str(write_spec(tmp_path, server, source='glob = "day*.csv"')))
    outcome = run_sync(spec, str(tmp_path / "state.sqlite"))
    assert outcome.summary.rows == 9
    assert len(server.event_ids()) == 9


@pytest.mark.parametrize(
    ("extra", "snap", "field"),
    [
        ("colour = 1", "", "colour"),
        ("", 'access_token = "x"', "snap.access_token"),
        ("", "batch_size = 0", "snap.batch_size"),
    ],
)
def test_unknown_or_wrong_keys_are_refused_by_name(tmp_path, extra, snap, field):
    """A key the spec does not know (a token above all) is a ValidationError naming it."""
    with FakeSnapServer() as fake:
        spec = write_spec(tmp_path, fake, extra=extra, snap=snap)
    with pytest.raises(ValidationError) as caught:
        load_spec(str(spec))
    assert caught.value.field == field
    assert 'x"' not in str(caught.value)


def test_key_is_required(tmp_path):
    """A spec without a key is refused: event ids must not depend on row positions."""
    spec = tmp_path / "s.toml"
    spec.write_text('[source]\nfile = "o.csv"\n', encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_spec(str(spec))
    assert caught.value.field == "key"


def test_cli_status_and_a_second_concurrent_run_refuses(tmp_path, server):
    """`sync --status` lists the runs; a run while another holds the lock exits 75, clearly."""
    orders(tmp_path / "orders.csv", 1, 3)
    spec = write_spec(tmp_path, server)
    env = {"SNAP_ACCESS_TOKEN": server.token}
    done = run_cli("sync", spec, env=env)
    assert done.returncode == 0, done.stderr
    assert server.token not in done.stdout + done.stderr
    status = run_cli("sync", spec, "--status")
    assert "accepted 3" in status.stdout
    assert "events: ACCEPTED 3" in status.stdout
    holder = SyncState(f"{spec}.state.sqlite")
    try:
        holder.lock()
        refused = run_cli("sync", spec, env=env)
        looked = run_cli("sync", spec, "--dry-run", env=env)  # records nothing: not locked out
    finally:
        holder.close()
    assert looked.returncode == 0, looked.stderr
    assert refused.returncode == 75
    assert "another snapcapi sync of this spec is running" in refused.stderr


def test_cli_names_the_missing_token(tmp_path, server):
    """Without the token variable the run stops before reading, naming the variable."""
    orders(tmp_path / "orders.csv", 1, 3)
    spec = write_spec(tmp_path, server)
    env = {k: v for k, v in os.environ.items() if k != "SNAP_ACCESS_TOKEN"}
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "sync", str(spec)],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "SNAP_ACCESS_TOKEN is not set" in completed.stderr
    assert server.request_count == 0


def test_sigkill_mid_run_repeatedly_then_complete(tmp_path):
    """Killed with SIGKILL mid-run again and again, the next run completes: one id per key."""
    count = 1200
    orders(tmp_path / "orders.csv", 1, count)
    rng = random.Random(13)
    with FakeSnapServer(latency=0.03) as server:
        spec = write_spec(tmp_path, server, snap="batch_size = 40")
        env = {"SNAP_ACCESS_TOKEN": server.token}
        command = [sys.executable, "-m", "snapcapi", "sync", str(spec), "--quiet"]
        environment = {**os.environ, **env}
        for _ in range(5):
            before = server.request_count
            process = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 30
            while server.request_count < before + rng.randint(1, 6):
                assert process.poll() is None, "the run ended before it was killed"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait()
        killed_with = len(server.event_ids())
        assert 0 < killed_with < count
        final = run_cli("sync", spec, env=env)
        assert final.returncode == 0, final.stdout + final.stderr
        by_key: dict[str, set[str]] = {}
        for event in server.events:
            by_key.setdefault(event["custom_data"]["order_id"], set()).add(event["event_id"])
    assert set(by_key) == {f"A{i}" for i in range(1, count + 1)}
    assert all(len(ids) == 1 for ids in by_key.values())
    rows = state_rows(f"{spec}.state.sqlite")
    assert len(rows) == count
    assert {status for status, _ in rows.values()} == {"ACCEPTED"}


def test_a_state_that_is_not_one_is_refused_by_name(tmp_path, server):
    """--state pointing at some other file (or a folder): exit 2 naming it, no traceback."""
    orders(tmp_path / "orders.csv", 1, 3)
    spec = write_spec(tmp_path, server)
    other = tmp_path / "notes.txt"
    other.write_text("this is not a database\n" * 100, encoding="utf-8")
    for state in (other, tmp_path):
        done = run_cli("sync", spec, "--state", state)
        assert done.returncode == 2, done.stderr
        assert "state:" in done.stderr
        assert str(state) in done.stderr
        done = run_cli("sync", spec, "--state", state, "--status")
        assert done.returncode in (0, 2), done.stderr
    assert len(server.event_ids()) == 0
    assert other.read_text(encoding="utf-8").startswith("this is not a database")


def test_a_spec_repr_shows_no_database_url(tmp_path, server):
    source = 'query = "SELECT 1"\ndb = "postgresql+psycopg://shop:hunter2-secret@db/shop"'
    spec = load_spec(str(write_spec(tmp_path, server, source=source)))
    assert "hunter2-secret" not in repr(spec)


def test_a_cursor_that_names_no_column_is_refused(tmp_path, server):
    orders(tmp_path / "orders.csv", 1, 3)
    spec = load_spec(str(write_spec(tmp_path, server, extra='cursor = "updatedat"')))
    with pytest.raises(ValidationError) as refused:
        run_sync(spec, str(tmp_path / "state.sqlite"))
    assert refused.value.field == "cursor"
    assert "'updatedat' is not a column" in str(refused.value)
    assert "updated_at" in str(refused.value)  # the columns it could have meant
    assert len(server.event_ids()) == 0
