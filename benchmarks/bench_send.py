"""Sending throughput, worker scaling and memory of ``snapcapi.Client`` on loopback.

What is measured
----------------
1. **Throughput vs a raw loop.** 200,000 pre-built events go through ``Client.send`` to a sink
   server on 127.0.0.1, in a process of its own (it reads each body and answers Snap's 200),
   and in the same run a raw ``requests.Session`` loop posts the very same bodies,
   pre-serialized, batch after batch: the transport floor of any client on this machine.
   Target: snapcapi >= 0.8x the raw loop with ``max_workers=1``. A third loop is what people
   write by hand: ``to_payload()`` + ``json.dumps`` + ``post`` per batch, no checks, retries
   or results. The sink, not ``FakeSnapServer``, answers here, because the fake server's own
   per-event checks would dominate every side and hide the client's cost.
2. **Worker scaling.** The sink adds 50 ms per request, as a real network would; events per
   second with ``max_workers`` 1, 2 and 4. Target: at least 3x from 1 to 4 workers.
3. **Memory.** In a fresh process, 1,000,000 events from a generator stream through
   ``Client.send`` (``max_workers=1``); peak RSS is reported. Target: under 200 MB.

4. **Before and after** (``--compare PATH``): the throughput of ``Client.send`` with the
   snapcapi of another source tree (say a ``git worktree`` of the last release) against this
   one, each in fresh processes (``PYTHONPATH``) taking turns against the same sink, so that
   a change in the machine's speed during the run affects both alike. Reports the ratio
   new/before of events per second: 1.00 means no change, below 1 a slowdown.

Usage: ``python benchmarks/bench_send.py [--events N] [--latency-events N] [--rss-events N]``
``[--compare PATH [--rounds N]]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

import snapcapi

try:
    from snapcapi._transport._wire import encoder_name, request_body
except ImportError:  # an older tree (--compare runs this file against one)
    from snapcapi._wire import encoder_name, request_body  # type: ignore[no-redef]

OK_BODY = b'{"status":"VALID","reason":"Events have been processed successfully."}'
TOKEN = "bench-token"
PIXEL = "2b1f7c1e-4b7e-4a0e-9d7e-1c2d3e4f5a6b"


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    latency = 0.0
    # Headers and body go out in two writes; with Nagle on, each answer would stall ~40 ms
    # waiting for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.latency:
            time.sleep(self.latency)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(OK_BODY)))
        self.end_headers()
        self.wfile.write(OK_BODY)


def start_sink(latency: float) -> tuple[ThreadingHTTPServer, str]:
    """Start a sink server on loopback in this process; return it and its base URL."""
    handler = type("Sink", (_Sink,), {"latency": latency})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class SinkProcess:
    """The sink in a process of its own, as Snap is: its work does not share our GIL."""

    def __init__(self, latency: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()

    def shutdown(self) -> None:
        """Stop the sink process."""
        self._process.terminate()
        self._process.wait(timeout=10)


def serve_sink(latency: float) -> None:
    """Run a sink in this process until terminated, printing its URL first."""
    _server, url = start_sink(latency)
    print(url, flush=True)
    threading.Event().wait()


def make_event(i: int, now: datetime) -> snapcapi.Event:
    """One realistic web purchase (normalization happens here, outside the timed part)."""
    return snapcapi.Event(
        event_name="PURCHASE",
        event_time=now,
        action_source="WEB",
        event_source_url="https://shop.example.com/checkout/thanks",
        event_id=f"order-{i}",
        user_data=snapcapi.UserData(
            email=f"customer.{i}@example.com",
            phone=f"+1 415 555 {i % 10000:04d}",
            first_name="Jane",
            last_name="Doe",
            zip_code="94107",
            client_ip_address=f"203.0.{(i >> 8) % 256}.{i % 256}",
            client_user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15",
        ),
        custom_data=snapcapi.CustomData(
            value=Decimal("42.50"), currency="USD", order_id=f"order-{i}"
        ),
    )


def best_of(repeat: int, run: Any) -> float:
    """Best wall time of ``run()`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def throughput(count: int, repeat: int) -> None:
    """Client.send vs a raw requests loop posting the same bodies."""
    now = datetime.now(timezone.utc)
    events = [make_event(i, now) for i in range(count)]
    payloads = [event.to_payload() for event in events]
    bodies = [request_body(payloads[i : i + 2000]) for i in range(0, count, 2000)]
    server = SinkProcess(0.0)
    url = server.url
    try:
        session = requests.Session()
        post_url = f"{url}/v3/{PIXEL}/events"
        headers = {"Content-Type": "application/json"}

        def raw() -> None:
            for body in bodies:
                response = session.post(
                    post_url, params={"access_token": TOKEN}, data=body, headers=headers
                )
                response.raise_for_status()

        def hand_rolled() -> None:
            # What people write by hand: payload dicts, json.dumps, post; no checks, no retries.
            for start in range(0, count, 2000):
                body = json.dumps({"data": [e.to_payload() for e in events[start : start + 2000]]})
                response = session.post(
                    post_url, params={"access_token": TOKEN}, data=body, headers=headers
                )
                response.raise_for_status()

        def ours() -> None:
            with snapcapi.Client(PIXEL, TOKEN, base_url=url) as client:
                result = client.send(events)
            assert result.counts["ACCEPTED"] == count, result

        raw_time = best_of(repeat, raw)
        hand_time = best_of(repeat, hand_rolled)
        our_time = best_of(repeat, ours)
        session.close()
    finally:
        server.shutdown()
    print(f"throughput, {count:,} pre-built events, batches of 2000, encoder {encoder_name()}")
    print(f"  raw requests loop : {count / raw_time:>10,.0f} events/s  ({raw_time:.2f} s)")
    print(f"  hand-rolled loop  : {count / hand_time:>10,.0f} events/s  ({hand_time:.2f} s)")
    print(f"  snapcapi send     : {count / our_time:>10,.0f} events/s  ({our_time:.2f} s)")
    print(f"  snapcapi / hand-rolled: {hand_time / our_time:.2f}x")
    ratio = raw_time / our_time
    verdict = "MET" if ratio >= 0.8 else "MISSED"
    print(f"  snapcapi / raw    : {ratio:.2f}x (target >= 0.8x: {verdict})")


def scaling(count: int, latency: float) -> None:
    """Events per second with 1, 2 and 4 workers against a server adding latency."""
    now = datetime.now(timezone.utc)
    events = [make_event(i, now) for i in range(count)]
    server = SinkProcess(latency)
    url = server.url
    rates = {}
    try:
        for workers in (1, 2, 4):
            with snapcapi.Client(
                PIXEL, TOKEN, base_url=url, batch_size=500, max_workers=workers
            ) as c:
                seconds = best_of(1, lambda c=c: c.send(events))
            rates[workers] = count / seconds
    finally:
        server.shutdown()
    print(f"worker scaling, {count:,} events, batches of 500, {latency * 1000:.0f} ms per request")
    for workers, rate in rates.items():
        print(f"  max_workers={workers}: {rate:>10,.0f} events/s")
    gain = rates[4] / rates[1]
    print(f"  4 workers / 1     : {gain:.2f}x (target >= 3x: {'MET' if gain >= 3 else 'MISSED'})")


def _stream(count: int) -> Iterator[snapcapi.Event]:
    now = datetime.now(timezone.utc)
    for i in range(count):
        yield make_event(i, now)


def rss_child(count: int) -> None:
    """Stream ``count`` events through send() in this process and print peak RSS in MB."""
    server, url = start_sink(0.0)
    with snapcapi.Client(PIXEL, TOKEN, base_url=url) as client:
        result = client.send(_stream(count))
    server.shutdown()
    print(f"{peak_rss_mb():.1f} {result.counts['ACCEPTED']}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    VmHWM is read from /proc, because ``ru_maxrss`` survives ``exec`` on Linux and would report
    the parent's peak for a child started from a big benchmark process.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(count: int) -> None:
    """Run the streaming send in a fresh process and report its peak RSS."""
    completed = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, accepted = completed.stdout.split()
    verdict = "MET" if float(peak) < 200 else "MISSED"
    print(f"memory, {count:,} events streamed from a generator: peak RSS {peak} MB")
    print(f"  accepted {int(accepted):,}; target < 200 MB: {verdict}")


def send_child(count: int, repeat: int, url: str) -> None:
    """Time ``Client.send`` of ``count`` events to the sink at ``url``; print the best seconds."""
    now = datetime.now(timezone.utc)
    events = [make_event(i, now) for i in range(count)]

    def ours() -> None:
        with snapcapi.Client(PIXEL, TOKEN, base_url=url) as client:
            result = client.send(events)
        assert result.counts["ACCEPTED"] == count, result

    ours()  # warm up: imports, connection, encoder
    print(f"{best_of(repeat, ours)} {pathlib.Path(snapcapi.__file__).parent.parent}")


def compare(before: str, count: int, repeat: int, rounds: int) -> None:
    """Time send() with the snapcapi of ``before`` and of this tree, taking turns."""
    here = str(pathlib.Path(__file__).resolve().parent.parent)
    trees = {"before": str(pathlib.Path(before).resolve()), "new": here}
    best = dict.fromkeys(trees, float("inf"))
    where = {}
    server = SinkProcess(0.0)
    try:
        for turn in range(rounds):
            order = list(trees) if turn % 2 == 0 else list(reversed(trees))
            for name in order:
                env = {**os.environ, "PYTHONPATH": trees[name]}
                command = [sys.executable, __file__, "--send-child", str(count)]
                command += ["--repeat", str(repeat), "--sink-url", server.url]
                done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
                seconds, where[name] = done.stdout.split()
                best[name] = min(best[name], float(seconds))
    finally:
        server.shutdown()
    print(f"before/after, {count:,} events, best of {rounds} rounds x {repeat} runs each")
    for name in trees:
        print(f"  {name:<6} ({where[name]}): {count / best[name]:>10,.0f} events/s")
    ratio = best["before"] / best["new"]
    print(f"  new / before: {ratio:.2f}x events/s ({'no slowdown' if ratio >= 0.97 else 'SLOWER'})")


def main() -> int:
    """Run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-events", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rss-events", type=int, default=1_000_000)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--compare", metavar="PATH", help="another tree to compare send() with")
    parser.add_argument("--rounds", type=int, default=3, help="turns each tree takes (--compare)")
    parser.add_argument("--sink", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--send-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink is not None:
        serve_sink(args.sink)
        return 0
    if args.rss_child:
        rss_child(args.rss_child)
        return 0
    if args.send_child:
        send_child(args.send_child, args.repeat, args.sink_url)
        return 0
    if args.compare:
        compare(args.compare, args.events, args.repeat, args.rounds)
        return 0
    print(f"snapcapi {snapcapi.__version__}, requests {requests.__version__}")
    throughput(args.events, args.repeat)
    scaling(args.latency_events, args.latency)
    memory(args.rss_events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
