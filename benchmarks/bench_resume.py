"""Memory and time of reading a 1,000,000-line report for ``snapcapi send --resume``.

What is measured
----------------
A seeded CSV report as ``snapcapi send --report`` writes it (``row,event_id,status,reason,
codes``; event ids like ``ord-<36 hex>``, 40 characters; 90% ``ACCEPTED``, the rest
``INVALID``, ``FAILED`` or ``REJECTED`` with their reasons) is read, each in a fresh process:

1. **AcceptedIds**: ``AcceptedIds.from_report(path)``, the sorted 64-bit digests of the
   accepted ids. Targets: under 40 MB traced at peak, about 8 MB kept.
2. **set of str**: the naive reference, the same ``RowSource`` loop collecting the accepted
   ids in a Python ``set``.

For each: the time to build (best of ``--repeat`` processes, tracemalloc off), the growth of
peak RSS during that build (``resource.getrusage``), lookups per second over all the report's
ids in shuffled order (90% present, best of 3), and the peak and kept memory traced by
:mod:`tracemalloc` (a second build, in the first process only: tracing slows it tenfold).
Ratios of the reference to AcceptedIds follow.

Usage: ``python benchmarks/bench_resume.py [--rows N] [--repeat N]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import snapcapi
from snapcapi._files import ReportWriter, RowSource
from snapcapi._resume import AcceptedIds

FAILURES = [
    ("INVALID", "email: not an email address (p*****@example)", ()),
    ("INVALID", "event_time: more than 7 days ago", ()),
    ("FAILED", "HTTP 503 after 5 attempts", ()),
    ("REJECTED", "Snap refused the event: invalid pixel id", ("E1234",)),
]


def event_ids(rows: int, seed: int) -> Iterator[str]:
    """The report's event ids, in row order: ``ord-`` and 36 hex digits."""
    rng = random.Random(seed)
    for _ in range(rows):
        yield f"ord-{rng.getrandbits(144):036x}"


def make_report(path: str, rows: int, seed: int = 7) -> int:
    """Write a ``rows``-line report to ``path``; return how many lines are ACCEPTED."""
    rng = random.Random(seed + 1)
    accepted = 0
    with ReportWriter(path) as report:
        for row, event_id in enumerate(event_ids(rows, seed), start=1):
            if rng.random() < 0.9:
                report.write(row, event_id, "ACCEPTED", None)
                accepted += 1
            else:
                status, reason, codes = rng.choice(FAILURES)
                report.write(row, event_id, status, reason, codes)
    return accepted


def naive_set(path: str) -> set[str]:
    """The reference: the accepted ids as a set of strings, read by the same loop."""
    accepted: set[str] = set()
    with RowSource(path) as source:
        for _, line in source:
            if isinstance(line, dict) and line["status"] == "ACCEPTED" and line["event_id"]:
                accepted.add(line["event_id"])
    return accepted


BUILDERS: dict[str, Callable[[str], Any]] = {"ids": AcceptedIds.from_report, "set": naive_set}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, path: str, rows: int, seed: int, trace: bool) -> None:
    """Build with ``kind`` (in this fresh process); print a RESULT line of JSON figures."""
    build = BUILDERS[kind]
    gc.collect()
    rss_before = _rss_mb()
    started = time.perf_counter()
    built = build(path)
    seconds = time.perf_counter() - started
    rss_delta = _rss_mb() - rss_before
    size = len(built)
    queries = list(event_ids(rows, seed))
    random.Random(seed + 2).shuffle(queries)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        found = sum(1 for q in queries if q in built)
        best = min(best, time.perf_counter() - started)
    assert found == size, (found, size)
    figures = {"seconds": seconds, "rss": rss_delta, "size": size, "lookups": len(queries) / best}
    del queries, built
    if trace:
        gc.collect()
        tracemalloc.start()
        built = build(path)
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(built) == size
        figures.update(peak=peak / 1e6, kept=kept / 1e6)
    print("RESULT " + json.dumps(figures))


def _run_child(args: list[str]) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    line = next(ln for ln in completed.stdout.splitlines() if ln.startswith("RESULT"))
    figures: dict[str, float] = json.loads(line[len("RESULT ") :])
    return figures


def best(repeat: int, args: list[str]) -> dict[str, float]:
    """Best times and the largest memory figures over ``repeat`` fresh processes."""
    runs = [_run_child([*args, *(["--trace"] if i == 0 else [])]) for i in range(repeat)]
    return {
        "seconds": min(r["seconds"] for r in runs),
        "lookups": max(r["lookups"] for r in runs),
        "rss": max(r["rss"] for r in runs),
        "peak": runs[0]["peak"],
        "kept": runs[0]["kept"],
        "size": runs[0]["size"],
    }


def _ratio(reference: float, ours: float) -> str:
    return f"{reference / ours:.1f}x" if ours >= 1 else f"{reference:.0f} MB vs < 1 MB"


def main() -> int:
    """Write the report, measure each way of reading it, print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rest[0], args.rows, args.seed, args.trace)
        return 0

    rows = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.csv")
        accepted = make_report(path, rows, args.seed)
        size = os.path.getsize(path) / 1e6
        print(f"snapcapi {snapcapi.__version__}, Python {sys.version.split()[0]}: {rows:,}-line "
              f"report ({size:.1f} MB CSV, {accepted:,} accepted), best of {args.repeat}, "
              "one process each")  # fmt: skip
        common = ["--rows", str(rows), "--seed", str(args.seed)]
        results = {kind: best(args.repeat, ["--child", kind, *common, path]) for kind in BUILDERS}
    labels = {"ids": "AcceptedIds", "set": "set of str"}
    print(f"  {'':<12} {'build':>8} {'rows/s':>10} {'peak':>9} {'kept':>9} {'RSS +':>9} "
          f"{'lookups/s':>11}")  # fmt: skip
    for kind, r in results.items():
        print(f"  {labels[kind]:<12} {r['seconds']:>6.2f} s {rows / r['seconds']:>10,.0f} "
              f"{r['peak']:>6.1f} MB {r['kept']:>6.1f} MB {r['rss']:>6.1f} MB "
              f"{r['lookups']:>11,.0f}")  # fmt: skip
    ids, ref = results["ids"], results["set"]
    assert ids["size"] == ref["size"] == accepted, (ids["size"], ref["size"], accepted)
    print(f"  set / AcceptedIds: peak {ref['peak'] / ids['peak']:.1f}x, kept "
          f"{ref['kept'] / ids['kept']:.1f}x, RSS growth {_ratio(ref['rss'], ids['rss'])}; "
          f"build time {ids['seconds'] / ref['seconds']:.2f}x, lookups "
          f"{ref['lookups'] / ids['lookups']:.1f}x faster in the set")  # fmt: skip
    per_id = ids["kept"] * 1e6 / accepted
    verdict = "MET" if ids["peak"] < 40 else "MISSED"
    print(f"  AcceptedIds: {per_id:.2f} bytes kept per accepted id; peak "
          f"{ids['peak']:.1f} MB (target < 40 MB: {verdict})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
