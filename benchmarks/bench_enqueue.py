"""What ``BackgroundSender.enqueue`` adds to a web request.

10,000 ``enqueue`` calls, one at a time as request handlers would make them, while the worker
sends to a fake Snap server (in a process of its own) that adds 50 ms per request, as a real
network does. Each call is timed with ``perf_counter_ns``; the median and p99 are printed,
next to the cost of building the event itself for scale. Target: median under 50 µs.

Usage: ``python benchmarks/bench_enqueue.py [--calls N] [--latency SECONDS]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import snapcapi


def serve(latency: float) -> None:
    """Run a fake Snap server that keeps no events; print its URL, pixel id and token."""
    from snapcapi.testing import FakeSnapServer

    server = FakeSnapServer(latency=latency, record=False).start()
    print(server.url, server.pixel_id, server.token, flush=True)
    threading.Event().wait()


def make_event(i: int) -> snapcapi.Event:
    """One web purchase, as a checkout view builds it."""
    return snapcapi.Event(
        event_name="PURCHASE",
        event_time=datetime.now(timezone.utc),
        action_source="WEB",
        event_source_url="https://shop.example.com/checkout/thanks",
        event_id=f"order-{i}",
        user_data=snapcapi.UserData(
            email=f"customer.{i}@example.com",
            client_ip_address="203.0.113.7",
            client_user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15",
        ),
        custom_data=snapcapi.CustomData(value=Decimal("42.50"), currency="USD"),
    )


def main() -> int:
    """Time the calls and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return 0
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url, pixel, token = process.stdout.readline().split()
        client = snapcapi.Client(pixel, token, base_url=url)
        sender = snapcapi.BackgroundSender(client, flush_at=100, flush_interval=0.5)
        events = [make_event(i) for i in range(args.calls)]
        build = []
        for i in range(1000):
            started = time.perf_counter_ns()
            make_event(i)
            build.append(time.perf_counter_ns() - started)
        timings = []
        for event in events:
            started = time.perf_counter_ns()
            sender.enqueue(event)
            timings.append(time.perf_counter_ns() - started)
            time.sleep(0.0002)  # requests arrive one after another, not in one burst
        flushed = sender.flush(timeout=120)
        sender.close()
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    timings.sort()
    median = statistics.median(timings) / 1000
    p99 = timings[int(len(timings) * 0.99)] / 1000
    print(f"snapcapi {snapcapi.__version__}: {args.calls:,} enqueue calls, server latency "
          f"{args.latency * 1000:.0f} ms, all delivered: {flushed}")  # fmt: skip
    print(f"  enqueue median : {median:8.1f} µs (target < 50 µs: "
          f"{'MET' if median < 50 else 'MISSED'})")  # fmt: skip
    print(f"  enqueue p99    : {p99:8.1f} µs")
    print(f"  building the event (for scale), median: {statistics.median(build) / 1000:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
