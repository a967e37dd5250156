"""snapcapi.spark: the engine-neutral partition function, and send() on Spark in local[2]."""

from __future__ import annotations

import os
import pickle
import shutil
import time
from pathlib import Path

import pytest

import snapcapi.spark as spark
from snapcapi._sync import load_spec
from snapcapi.errors import ValidationError
from snapcapi.records import Recipe
from snapcapi.spark import SparkSettings, send_batches
from snapcapi.testing import FakeSnapServer

pa = pytest.importorskip("pyarrow")

TOKEN_ENV = "SNAPCAPI_SPARK_TEST_TOKEN"


def rows(n: int, start: int = 0) -> list[dict[str, object]]:
    now = int(time.time()) - 60
    return [
        {"order_id": f"o-{i}", "email": f"buyer{i}@example.com", "total": 10.5 + i,
         "currency": "USD", "created": now}
        for i in range(start, start + n)
    ]  # fmt: skip


def batches(records: list[dict[str, object]], size: int = 7) -> list[object]:
    return [pa.RecordBatch.from_pylist(records[i : i + size]) for i in range(0, len(records), size)]


def recipe() -> Recipe:
    return Recipe(
        mapping={"event_time": "created", "value": "total"},
        defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"},
        key=("order_id",),
        on_invalid="drop",
        final_region=True,
    )


def settings(server: FakeSnapServer, **options: object) -> SparkSettings:
    values: dict[str, object] = {
        "recipe": recipe(), "pixel_id": server.pixel_id, "token": None,
        "token_env": TOKEN_ENV, "base_url": server.url, "max_retries": 1,
    }  # fmt: skip
    values.update(options)
    return SparkSettings(**values)  # type: ignore[arg-type]


def statuses(out: list[object]) -> list[dict[str, object]]:
    return [row for batch in out for row in batch.to_pylist()]  # type: ignore[attr-defined]


@pytest.fixture
def server():
    with FakeSnapServer() as fake:
        yield fake


@pytest.fixture
def token_env(server, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, server.token)


def test_partition_sends_every_row_and_reports_each_in_order(server, token_env):
    """Each input row ends as one status row, in order, with the key and Snap's answer."""
    out = statuses(list(send_batches(batches(rows(25)), settings(server, batch_size=10))))
    assert [r["key"] for r in out] == [f"o-{i}" for i in range(25)]
    assert {r["status"] for r in out} == {"ACCEPTED"}
    assert {r["http_status"] for r in out} == {200}
    assert server.event_ids() == {r["event_id"] for r in out}


def test_event_ids_are_the_same_when_a_task_is_retried(server, token_env):
    """The ids derive from the key: a retried partition sends the same ids."""
    first = statuses(list(send_batches(batches(rows(5)), settings(server))))
    again = statuses(list(send_batches(batches(rows(5), size=2), settings(server))))
    assert [r["event_id"] for r in first] == [r["event_id"] for r in again]
    assert len(server.event_ids()) == 5


def test_missing_token_makes_every_row_failed_without_raising(server, monkeypatch):
    """A client that cannot be built on the executor: FAILED rows naming the variable."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    out = statuses(list(send_batches(batches(rows(9)), settings(server))))
    assert len(out) == 9
    assert {r["status"] for r in out} == {"FAILED"}
    assert TOKEN_ENV in str(out[0]["reason"])
    assert server.request_count == 0


def test_wrong_token_fails_rows_and_never_shows_the_token(server):
    """Snap refusing the token: rows FAILED, the token in no status row."""
    secret = "wrong-secret-token-123"
    out = statuses(list(send_batches(batches(rows(30)), settings(server, token=lambda: secret,
                                                                  batch_size=10))))  # fmt: skip
    assert len(out) == 30
    assert {r["status"] for r in out} == {"FAILED"}
    assert secret not in repr(out)


def test_unreachable_server_fails_rows(token_env, monkeypatch):
    """A server that is gone: FAILED rows, no exception."""
    with FakeSnapServer() as gone:
        options = settings(gone, timeout=0.5, max_retries=0)
    monkeypatch.setenv(TOKEN_ENV, gone.token)
    out = statuses(list(send_batches(batches(rows(4)), options)))
    assert {r["status"] for r in out} == {"FAILED"}


def test_bad_rows_are_invalid_and_blank_keys_named(server, token_env):
    """A row without a key or time is INVALID with the field, the others still sent."""
    records = rows(3)
    records[1]["order_id"] = None
    out = statuses(list(send_batches(batches(records), settings(server))))
    assert [r["status"] for r in out] == ["ACCEPTED", "INVALID", "ACCEPTED"]
    assert out[1]["key"] is None
    assert "key" in str(out[1]["reason"])


def test_rejected_event_is_reported(server, token_env):
    """Snap refusing one event: that row REJECTED, its neighbours ACCEPTED."""
    first = statuses(list(send_batches(batches(rows(3)), settings(server))))
    server.reset()
    server.reject(str(first[1]["event_id"]))
    out = statuses(list(send_batches(batches(rows(3)), settings(server))))
    assert [r["status"] for r in out] == ["ACCEPTED", "REJECTED", "ACCEPTED"]


def test_unusable_mapping_fails_rows_not_the_task(server, token_env):
    """A mapping naming an unknown field: FAILED rows naming it, nothing raised."""
    broken = Recipe(mapping={"not_a_field": "email"}, key=("order_id",),
                    defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"})  # fmt: skip
    out = statuses(list(send_batches(batches(rows(4)), settings(server, recipe=broken))))
    assert len(out) == 4
    assert {r["status"] for r in out} == {"FAILED"}
    assert "not_a_field" in str(out[0]["reason"])


def test_input_that_breaks_mid_stream_still_reports_its_rows(server, token_env):
    """Batches whose reading raises: the rows read end with a status, nothing escapes."""

    def broken():
        yield from batches(rows(5), size=5)
        raise RuntimeError("the input broke")

    out = statuses(list(send_batches(broken(), settings(server, batch_size=3))))
    assert sorted(str(r["key"]) for r in out) == [f"o-{i}" for i in range(5)]
    assert {r["status"] for r in out} <= {"ACCEPTED", "FAILED"}
    assert "RuntimeError" in str([r["reason"] for r in out])


def test_rate_budget_paces_requests(server, token_env):
    """max_requests_per_second spaces the partition's requests."""
    started = time.monotonic()
    paced = settings(server, batch_size=2, max_requests_per_second=10)
    out = statuses(list(send_batches(batches(rows(8)), paced)))
    assert len(out) == 8
    assert server.request_count == 4
    assert time.monotonic() - started >= 0.29


def test_settings_pickle_without_the_token(server):
    """Settings travel to executors by pickle and hold no token."""
    options = settings(server)
    assert pickle.loads(pickle.dumps(options)) == options
    assert server.token not in repr(options)


def test_key_is_required_and_checked():
    """send() refuses a missing key, a key column the frame lacks, a bad budget."""

    class Frame:
        columns = ("order_id", "email")

    with pytest.raises(ValidationError, match="key"):
        spark.send(Frame(), pixel_id="p", key=[])
    with pytest.raises(ValidationError, match="no column"):
        spark.send(Frame(), pixel_id="p", key="id")
    with pytest.raises(ValidationError, match="max_requests_per_second"):
        spark.send(Frame(), pixel_id="p", key="order_id", max_requests_per_second=0,
                   defaults={"event_name": "PURCHASE", "action_source": "OFFLINE",
                             "event_time": 1})  # fmt: skip
    with pytest.raises(ValidationError, match="partitions"):
        spark.send(Frame(), pixel_id="p", key="order_id", max_requests_per_second=5,
                   defaults={"event_name": "PURCHASE", "action_source": "OFFLINE",
                             "event_time": 1})  # fmt: skip


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'snapcapi[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (pyspark needs Java 17)"
    return None


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A local[2] Spark session, quiet, for this module's Spark tests.

    Its tables live in a temporary warehouse, and its executors have the fake server's
    (fixed) token in ``SNAP_ACCESS_TOKEN``, as a cluster's ``spark.executorEnv`` gives it.
    """
    missing = _spark_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {missing}")
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, and no warning

    built = (
        SparkSession.builder.master("local[2]")
        .appName("snapcapi-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
        .config("spark.executorEnv.SNAP_ACCESS_TOKEN", FakeSnapServer().token)
        .getOrCreate()
    )
    built.sparkContext.setLogLevel("ERROR")
    yield built
    built.stop()


# PySpark 4.0 warns about pandas 3 whenever it checks for pandas (mapInArrow does).
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_send_in_local_mode(session):
    """send() on a 2-partition DataFrame: one status row per row, every key received once."""
    with FakeSnapServer() as server:
        df = session.createDataFrame(rows(300)).repartition(2)
        token = server.token
        result = spark.send(
            df, pixel_id=server.pixel_id, key="order_id", token=lambda: token,
            base_url=server.url, mapping={"event_time": "created", "value": "total"},
            defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"},
            max_requests_per_second=50, batch_size=50,
        ).collect()  # fmt: skip
        assert len(result) == 300
        assert {r["status"] for r in result} == {"ACCEPTED"}
        assert sorted(r["key"] for r in result) == sorted(f"o-{i}" for i in range(300))
        assert server.event_ids() == {r["event_id"] for r in result}
        assert token not in repr(result)


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_typed_columns_and_a_split_budget(session):
    """TIMESTAMP and DECIMAL columns arrive typed; the budget is split by the given count."""
    import datetime as dt
    from decimal import Decimal

    paid = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(minutes=5)
    data = [(f"t-{i}", f"t{i}@example.com", paid, Decimal("19.99")) for i in range(40)]
    schema = "order_id string, email string, paid_at timestamp, total decimal(10,2)"
    with FakeSnapServer() as server:
        token = server.token
        df = session.createDataFrame(data, schema).repartition(2)
        result = spark.send(
            df, pixel_id=server.pixel_id, key="order_id", token=lambda: token,
            base_url=server.url, mapping={"event_time": "paid_at", "value": "total"},
            defaults={"event_name": "PURCHASE", "action_source": "OFFLINE", "currency": "EUR"},
            max_requests_per_second=100, partitions=2, batch_size=10,
        ).collect()  # fmt: skip
        assert {r["status"] for r in result} == {"ACCEPTED"}
        events = list(server.unique_events().values())
        assert {e["event_time"] for e in events} == {int(paid.timestamp())}
        assert {e["custom_data"]["value"] for e in events} == {19.99}


def write_spec(path, server: FakeSnapServer, snap: str = "", top: str = "") -> str:
    """A sync spec like a nightly job's: its [source] is never read by spark.send."""
    spec = path / "orders.toml"
    spec.write_text(
        f"""key = "order_id"
timezone = "Europe/Paris"
{top}
[source]
file = "not-read-on-spark.csv"

[mapping]
event_time = "created"
value = "total"

[defaults]
event_name = "PURCHASE"
action_source = "OFFLINE"

[where]
currency = ["USD"]

[snap]
pixel_id = "{server.pixel_id}"
base_url = "{server.url}"
batch_size = 4
max_retries = 1
{snap}
""",
        encoding="utf-8",
    )
    return str(spec)


class Frame:
    """Just enough of a DataFrame for send(): columns, and mapInArrow run on the driver."""

    def __init__(self, records: list[dict[str, object]]) -> None:
        self.records = records
        self.columns = tuple(records[0])

    def mapInArrow(self, function, schema):
        return statuses(list(function(iter(batches(self.records)))))


def messy(n: int) -> list[dict[str, object]]:
    records = rows(n)
    for i, record in enumerate(records):
        if i % 5 == 0:
            record["currency"] = "EUR"  # filtered out by the spec's where
    return records


def test_spec_gives_the_recipe_and_the_snap_settings(server, tmp_path, monkeypatch):
    """spec= alone: its key, mapping, filters, pixel, base_url, token_env and batch size."""
    monkeypatch.setenv("SPEC_TOKEN", server.token)
    path = write_spec(tmp_path, server, snap='token_env = "SPEC_TOKEN"')
    out = spark.send(Frame(messy(10)), spec=path)
    assert [r["key"] for r in out] == [f"o-{i}" for i in range(10)]
    assert [r["status"] for r in out] == ["SKIPPED", *["ACCEPTED"] * 4] * 2
    assert server.request_count == 3  # 10 rows settled 4 at a time: the spec's batch_size
    assert server.event_ids() == {r["event_id"] for r in out if r["status"] == "ACCEPTED"}


def test_keywords_win_over_the_spec(server, tmp_path, monkeypatch):
    """Arguments given with spec= win: a scalar replaces, a mapping merges field by field."""
    loaded = load_spec(write_spec(tmp_path, server))
    with FakeSnapServer() as other:
        monkeypatch.setenv(TOKEN_ENV, other.token)
        out = spark.send(
            Frame(messy(5)), spec=loaded, pixel_id=other.pixel_id, base_url=other.url,
            token_env=TOKEN_ENV, batch_size=10, where={"currency": ["USD", "EUR"]},
            defaults={"currency": "GBP"}, mapping={"value": "created"},
        )  # fmt: skip
        assert {r["status"] for r in out} == {"ACCEPTED"}
        assert other.request_count == 1
        assert server.request_count == 0
        events = list(other.unique_events().values())
        assert {e["event_name"] for e in events} == {"PURCHASE"}  # the spec's default stays
        assert {e["custom_data"]["currency"] for e in events} == {"EUR", "USD"}
        assert {e["custom_data"]["value"] for e in events} == {float(rows(1)[0]["created"])}


def test_spec_token_file_is_refused_naming_spec(server, tmp_path):
    """The executors would need the spec's token file: refused, unless token= is given."""
    (tmp_path / "token").write_text(server.token, encoding="utf-8")
    path = write_spec(tmp_path, server, snap='token_file = "token"')
    with pytest.raises(ValidationError, match="token_file") as refused:
        spark.send(Frame(rows(2)), spec=path)
    assert refused.value.field == "spec"
    assert "token_env" in str(refused.value)
    assert "token=" in str(refused.value)
    token = server.token
    out = spark.send(Frame(rows(2)), spec=path, token=lambda: token)
    assert {r["status"] for r in out} == {"ACCEPTED"}


def test_spec_refusals(server, tmp_path):
    """A spec is checked on the driver: preset= beside it, a missing file, a consent rule."""
    path = write_spec(tmp_path, server)
    with pytest.raises(ValidationError, match="preset"):
        spark.send(Frame(rows(1)), spec=path, preset="shopify")
    with pytest.raises(ValidationError, match="cannot read") as missing:
        spark.send(Frame(rows(1)), spec=str(tmp_path / "nope.toml"))
    assert missing.value.field == "spec"
    consent = write_spec(tmp_path, server, top="require_consent = true")
    with pytest.raises(ValidationError, match="consent") as unconsented:
        spark.send(Frame(rows(1)), spec=consent)
    assert unconsented.value.field == "require_consent"
    with pytest.raises(ValidationError, match="no column"):
        spark.send(Frame(rows(1)), spec=path, key="id")


def test_spec_require_consent_reaches_the_executors(server, tmp_path):
    """A spec's require_consent: rows whose consent column is not yes are SKIPPED, unsent."""
    path = write_spec(tmp_path, server, top='require_consent = true\nconsent_column = "ok"')
    records = [{**r, "ok": "yes" if i % 2 else "no"} for i, r in enumerate(rows(4))]
    token = server.token
    out = spark.send(Frame(records), spec=path, token=lambda: token)
    assert [r["status"] for r in out] == ["SKIPPED", "ACCEPTED"] * 2
    assert len(server.event_ids()) == 2


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_send_from_a_spec_equals_the_same_keywords(session, tmp_path):
    """local[2]: a spec's send and the same options as keywords give the same status rows."""
    with FakeSnapServer() as server:
        token = server.token
        df = session.createDataFrame(messy(200)).repartition(2)
        path = write_spec(tmp_path, server)
        from_spec = spark.send(df, spec=path, token=lambda: token).collect()
        spec_ids = server.event_ids()
        server.reset()
        from_keywords = spark.send(
            df, key="order_id", timezone="Europe/Paris", pixel_id=server.pixel_id,
            base_url=server.url, batch_size=4, max_retries=1, token=lambda: token,
            mapping={"event_time": "created", "value": "total"},
            defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"},
            where={"currency": ["USD"]},
        ).collect()  # fmt: skip
        assert sorted(map(tuple, from_spec)) == sorted(map(tuple, from_keywords))
        assert len(from_spec) == 200
        assert sum(r["status"] == "ACCEPTED" for r in from_spec) == 160
        assert {r["status"] for r in from_spec} == {"ACCEPTED", "SKIPPED"}
        assert (
            spec_ids
            == server.event_ids()
            == {r["event_id"] for r in from_spec if r["status"] == "ACCEPTED"}
        )


def _doc_block(heading: str) -> str:
    """The Python block under a heading of docs/spark.md, as the page gives it."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "spark.md").read_text("utf-8")
    section = page.split(f"## {heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_the_pages_examples_run_as_pasted(session, tmp_path):
    """docs/spark.md's two cluster examples, with only the Pixel, the address and the spec's
    path put in: a table in, a table of statuses out, each paid order received once."""
    from pyspark.sql import functions as f

    with FakeSnapServer() as server:
        for database in ("sales", "marketing"):
            session.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
        session.sql("DROP TABLE IF EXISTS marketing.snap_sends")
        orders = session.createDataFrame(
            [
                {
                    "order_id": f"S-{i}",
                    "email": f"b{i}@example.com",
                    "total": 20.0 + i,
                    "currency": "EUR",
                    "status": "paid" if i % 4 else "refunded",
                }
                for i in range(40)
            ]
        ).withColumn(
            "paid_at", f.expr("CAST(current_timestamp() - INTERVAL 2 HOURS AS TIMESTAMP_NTZ)")
        )
        orders.write.mode("overwrite").saveAsTable("sales.orders")
        pasted = _doc_block("Send a table").replace(
            '"YOUR_PIXEL_ID",', f"{server.pixel_id!r}, base_url={server.url!r},"
        )
        exec(compile(pasted, "docs/spark.md", "exec"), {"spark": session})
        sent = {r["key"]: r["status"] for r in session.table("marketing.snap_sends").collect()}
        paid = {f"S-{i}" for i in range(40) if i % 4}
        assert sent == dict.fromkeys(paid, "ACCEPTED")
        assert len(server.event_ids()) == len(paid)

        spec = tmp_path / "orders.toml"
        spec.write_text(
            'key = ["order_id"]\ntimezone = "Europe/Paris"\n[source]\nfile = "unused.csv"\n'
            '[mapping]\nevent_time = "paid_at"\nvalue = "total"\n[where]\nstatus = ["paid"]\n'
            '[defaults]\nevent_name = "PURCHASE"\naction_source = "OFFLINE"\n'
            f'[snap]\npixel_id = "{server.pixel_id}"\nbase_url = "{server.url}"\n',
            encoding="utf-8",
        )
        pasted = _doc_block("From a sync spec").replace("/Workspace/snap/orders.toml", str(spec))
        exec(compile(pasted, "docs/spark.md", "exec"), {"spark": session})
        appended = session.table("marketing.snap_sends").collect()
        assert len(appended) == len(paid) + 40  # every row of the second send has its status
        skipped = {r["key"] for r in appended if r["status"] == "SKIPPED"}
        assert skipped == {f"S-{i}" for i in range(40)} - paid  # the spec's [where]
        accepted = [r["key"] for r in appended if r["status"] == "ACCEPTED"]
        assert sorted(accepted) == sorted([*paid, *paid])  # sent twice, under the same ids:
        assert len(set(server.event_ids())) == len(paid)
