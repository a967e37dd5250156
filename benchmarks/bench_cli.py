"""Throughput and memory of ``snapcapi send`` on a 200,000-row CSV.

What is measured
----------------
The same generated CSV (realistic offline sales: email, phone without country code, names,
ZIP, IP, user agent, amount, currency, time) goes through, each in a fresh process:

1. **library**: the library called directly: ``csv.DictReader`` rows →
   ``Event.from_dict(row, region="US")`` → ``event.review(now)``. The floor of any layer.
2. **cli dry run**: ``snapcapi send FILE --dry-run --report report.csv`` (column matching,
   stable event ids, one report line per row). Target: within 1.3x of the library's time.
3. **cli dry run, keyed and filtered**: the same with ``--key order_id``, a ``--where`` and
   an ``--exclude`` filter and ``--map``: the bulk path's per-row identity and filter work.
   Target: also within 1.3x of the library's time.
4. **cli send**: ``snapcapi send FILE --report report.csv`` to a ``FakeSnapServer`` running
   in a process of its own (``record=False``), all rows accepted.
5. **resume memory**: the dry run again with ``--resume`` of a 1,000,000-line report (ids
   that are not in the file, so every row is still checked): the peak RSS it adds over run 3.

Rows per second (best of ``--repeat``) and each process's peak RSS are printed.

Usage: ``python benchmarks/bench_cli.py [--rows N] [--repeat N] [--report-rows N]``
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

import snapcapi

COLUMNS = [
    "event_name", "event_time", "action_source", "order_id", "email", "phone", "first_name",
    "last_name", "zip_code", "client_ip_address", "client_user_agent", "value", "currency",
]  # fmt: skip
AREAS = ["212", "312", "415", "617", "718", "202", "305", "503"]
FIRST = ["Jane", "José", "Zoë", "Ahmed", "Li", "Anna-Lena", "O'Neil", "Émile"]
LAST = ["Doe", "García", "Müller", "Smith", "Nguyen", "Kowalski", "Brown", "Dubois"]
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148",
]


def make_csv(path: str, rows: int, seed: int = 7) -> None:
    """Write ``rows`` seeded offline-sale rows to ``path``."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for i in range(rows):
            when = (now - timedelta(minutes=rng.randrange(60, 5 * 86400 // 60))).isoformat()
            writer.writerow(
                [
                    "PURCHASE", when, "OFFLINE", f"order-{i}",
                    f" {rng.choice(FIRST)}.{i}@Example.COM ",
                    # Distinct numbers that are valid in the US (read with --region US).
                    f"({rng.choice(AREAS)}) {rng.randrange(200, 1000)}-{rng.randrange(10000):04d}",
                    rng.choice(FIRST), rng.choice(LAST),
                    f"{rng.randrange(10000, 99999)}-{i % 9999:04d}",
                    f"203.0.{rng.randrange(256)}.{rng.randrange(256)}", rng.choice(AGENTS),
                    f"{rng.randrange(1, 50000) / 100:.2f}", rng.choice(["usd", "USD"]),
                ]
            )  # fmt: skip


def make_report(path: str, rows: int) -> None:
    """Write a ``rows``-line snapcapi report whose ids belong to another file (90% accepted)."""
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["row", "event_id", "status", "reason", "codes"])
        for i in range(rows):
            accepted = i % 10 != 0
            writer.writerow([i + 1, f"k-{i:032x}", "ACCEPTED" if accepted else "FAILED",
                             "" if accepted else "HTTP 503 after 6 attempts", ""])  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_library(path: str) -> None:
    """Time the library on the file's rows (in this process); print seconds and peak."""
    started = time.perf_counter()
    valid = 0
    with open(path, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            event = snapcapi.Event.from_dict(row, region="US")
            problems, _ = event.review(time.time())
            valid += not problems
    seconds = time.perf_counter() - started
    print(f"RESULT {seconds} {_peak_mb()} {valid}")


def child_cli(argv: list[str]) -> None:
    """Time the CLI on ``argv`` (in this process); print seconds and peak."""
    from snapcapi.cli import main

    with open(os.devnull, "w") as sink:
        started = time.perf_counter()
        code = main(argv, out=sink, err=sink)
        seconds = time.perf_counter() - started
    print(f"RESULT {seconds} {_peak_mb()} {code}")


def child_server() -> None:
    """Run a fake Snap server that keeps no events; print its URL, ids and token."""
    from snapcapi.testing import FakeSnapServer

    server = FakeSnapServer(record=False).start()
    print(server.url, server.pixel_id, server.token, flush=True)
    threading.Event().wait()


def _run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    completed = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    line = next(ln for ln in completed.stdout.splitlines() if ln.startswith("RESULT"))
    _, seconds, peak, extra = line.split()
    return float(seconds), float(peak), extra


def best(repeat: int, args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Best time and the largest peak RSS over ``repeat`` fresh processes."""
    runs = [_run_child(args, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> int:
    """Generate the file, run the three measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--report-rows", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "library":
        child_library(args.rest[0])
        return 0
    if args.child == "cli":
        child_cli(args.rest)
        return 0
    if args.child == "server":
        child_server()
        return 0

    rows = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sales.csv")
        make_csv(path, rows)
        size = os.path.getsize(path) / 1e6
        print(f"snapcapi {snapcapi.__version__}, {rows:,} rows ({size:.1f} MB CSV), best of "
              f"{args.repeat}, one process each")  # fmt: skip
        lib_time, lib_peak = best(args.repeat, ["--child", "library", path])
        report = os.path.join(tmp, "report.csv")
        dry = ["--child", "cli", "--", "send", path, "--dry-run", "--region", "US", "--report",
               report, "--quiet"]  # fmt: skip
        dry_time, dry_peak = best(args.repeat, dry)
        keyed = [*dry, "--key", "order_id", "--where", "currency=usd,USD", "--exclude",
                 "first_name=Nobody", "--map", "zip_code=zip_code"]  # fmt: skip
        keyed_time, keyed_peak = best(args.repeat, keyed)
        old_report = os.path.join(tmp, "old-report.csv")
        make_report(old_report, args.report_rows)
        _, resume_peak = best(1, [*dry, "--resume", old_report])
        server = subprocess.Popen(
            [sys.executable, __file__, "--child", "server"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            url, pixel, token = server.stdout.readline().split()
            sent = ["--child", "cli", "--", "send", path, "--pixel-id", pixel, "--base-url", url,
                    "--region", "US", "--report", report, "--quiet"]  # fmt: skip
            send_time, send_peak = best(args.repeat, sent, {"SNAP_ACCESS_TOKEN": token})
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"  library (from_dict + review): {rows / lib_time:>9,.0f} rows/s  "
          f"({lib_time:.2f} s, peak RSS {lib_peak:.0f} MB)")  # fmt: skip
    print(f"  cli --dry-run --report      : {rows / dry_time:>9,.0f} rows/s  "
          f"({dry_time:.2f} s, peak RSS {dry_peak:.0f} MB)")  # fmt: skip
    print(f"  cli --dry-run --key --where : {rows / keyed_time:>9,.0f} rows/s  "
          f"({keyed_time:.2f} s, peak RSS {keyed_peak:.0f} MB)")  # fmt: skip
    print(f"  cli send --report (fake srv): {rows / send_time:>9,.0f} rows/s  "
          f"({send_time:.2f} s, peak RSS {send_peak:.0f} MB)")  # fmt: skip
    for label, seconds in (("dry run", dry_time), ("keyed + filtered", keyed_time)):
        ratio = seconds / lib_time
        verdict = "MET" if ratio <= 1.3 else "MISSED"
        print(f"  {label + ' / library cost':<28}: {ratio:.2f}x (target <= 1.3x: {verdict})")
    print(f"  --resume of a {args.report_rows:,}-line report adds {resume_peak - dry_peak:.1f} MB "
          f"peak RSS (dry run {dry_peak:.0f} MB, with resume {resume_peak:.0f} MB)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
