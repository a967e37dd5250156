"""``snapcapi.spark.send`` in Spark ``local[2]`` against one Python process, on the same rows.

What is measured
----------------
The rows are :func:`bench_pipeline.generate_messy_records` (accented emails, every phone
distinct, every field filled), as flat columns (``content_ids`` an array of strings), sent with
the same recipe (``key="event_id"``, ``region`` mapped, identifiers that cannot be normalized
dropped) to ``bench_send``'s sink: a loopback HTTP server in a process of its own that reads
each body and answers Snap's 200 without looking at the events, so that the server's own work
is not what is measured (``FakeSnapServer`` checks every event). Both sides send 2,000 events
per request, one request in flight per sender.

a. ``spark``: ``snapcapi.spark.send(df, ...)`` on a DataFrame of the rows in 2 partitions,
   cached and counted before the clock starts (the data is already "in the cluster"). The
   timed part is the whole action: ``result.groupBy("status").count().collect()`` runs every
   partition (the JVM hands the rows to the Python workers as Arrow batches, each partition
   builds its client, maps, normalizes, hashes, posts and hands the status rows back) and
   gives the counts, checked to be all ACCEPTED.
b. ``one process``: the same rows as Python dicts in this process, through
   ``snapcapi.records.iter_events`` (the same recipe) into one ``Client.send(...,
   keep_results=False)``; the counts are checked the same way.

The runs take turns, ``--rounds`` times (the order alternating, ``gc.collect()`` untimed
before each). The SparkSession's start and the loading of the rows into Spark are timed once,
apart, and not charged to (a). Printed: rows/s of each side (best and median round), the ratio
spark / one process, and the start-up times.

Usage: ``python benchmarks/bench_spark.py [--rows N] [--rounds R] [--seed S]``
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench_pipeline import Record, generate_messy_records, package_version
from bench_send import PIXEL, TOKEN, SinkProcess

import snapcapi
import snapcapi.spark
from snapcapi.events import Event
from snapcapi.records import iter_events

KEY = "event_id"
MAPPING = {"region": "region"}
BATCH = 2000


def _token() -> str:
    return TOKEN


def one_process(records: Sequence[Record], url: str) -> dict[str, int]:
    """Send the rows from this process: ``iter_events`` into one ``Client.send``."""
    counts: dict[str, int] = {}

    def events() -> Any:
        pairs = iter_events(
            enumerate(records, 1), key=KEY, mapping=MAPPING, on_invalid="drop", final_region=True
        )
        for _, item in pairs:
            if isinstance(item, Event):
                yield item
            else:
                name = type(item).__name__
                counts[name] = counts.get(name, 0) + 1

    with snapcapi.Client(PIXEL, TOKEN, base_url=url, batch_size=BATCH, max_retries=1) as client:
        result = client.send(events(), keep_results=False)
    for status, count in result.counts.items():
        if count:
            counts[status] = counts.get(status, 0) + count
    return counts


def spark_send(df: Any, url: str) -> dict[str, int]:
    """Send the DataFrame's rows from the executors; run the action, return the counts."""
    result = snapcapi.spark.send(
        df, key=KEY, mapping=MAPPING, pixel_id=PIXEL, token=_token, base_url=url,
        batch_size=BATCH, max_retries=1,
    )  # fmt: skip
    return {r["status"]: r["count"] for r in result.groupBy("status").count().collect()}


def start_spark() -> Any:
    """Start a quiet local[2] SparkSession on loopback."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("snapcapi-bench-spark")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def load(session: Any, records: Sequence[Record]) -> Any:
    """Put the rows in Spark: an Arrow table, 2 partitions, cached and counted."""
    import pyarrow as pa

    df = session.createDataFrame(pa.Table.from_pylist(list(records))).repartition(2).cache()
    assert df.count() == len(records)
    return df


def _check(name: str, counts: dict[str, int], rows: int) -> None:
    if counts != {"ACCEPTED": rows}:
        sys.exit(f"{name}: expected {rows:,} ACCEPTED, got {counts}")


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the rows, time both sides in interleaved rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import warnings

    # PySpark 4.0 warns about pandas 3 whenever it checks for pandas (mapInArrow does).
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
    records = generate_messy_records(args.rows, args.seed)
    started = time.perf_counter()
    session = start_spark()
    startup = time.perf_counter() - started
    started = time.perf_counter()
    df = load(session, records)
    loading = time.perf_counter() - started
    sink = SinkProcess(0.0)
    try:
        runs: dict[str, Callable[[], dict[str, int]]] = {
            "spark local[2]": lambda: spark_send(df, sink.url),
            "one process": lambda: one_process(records, sink.url),
        }
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for round_number in range(args.rounds):
            order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
            for name in order:
                gc.collect()
                clock = time.perf_counter()
                counts = runs[name]()
                seconds[name].append(time.perf_counter() - clock)
                _check(name, counts, args.rows)
    finally:
        sink.shutdown()
        session.stop()
    import pyspark

    print(
        f"snapcapi {snapcapi.__version__}, pyspark {pyspark.__version__}, pyarrow "
        f"{package_version('pyarrow')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.rows:,} messy rows, {args.rounds} interleaved rounds"
    )
    print(f"SparkSession start: {startup:.1f} s; rows into Spark (cached): {loading:.1f} s")
    print(f"{'side':<16} {'best rows/s':>12} {'median rows/s':>14} {'best s':>8} {'median s':>9}"
          "  rounds (s)")  # fmt: skip
    for name, times in seconds.items():
        best, median = min(times), statistics.median(times)
        print(
            f"{name:<16} {args.rows / best:>12,.0f} {args.rows / median:>14,.0f} "
            f"{best:>8.2f} {median:>9.2f}  {', '.join(f'{t:.2f}' for t in times)}"
        )
    spark_times, one_times = seconds["spark local[2]"], seconds["one process"]
    print(
        f"spark / one process: {min(one_times) / min(spark_times):.2f}x best, "
        f"{statistics.median(one_times) / statistics.median(spark_times):.2f}x median "
        "(above 1: Spark is faster)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
