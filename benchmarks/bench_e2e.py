"""End to end on loopback: messy records in, events normalized, hashed and POSTed, answers read.

What is measured
----------------
The records are :func:`bench_pipeline.generate_messy_records` (accented emails, distinct
phones, every field filled). They are POSTed, ``--batch`` events per request (1,000 by
default: Meta's limit per request, and within snapcapi's 2 MB per request on this workload),
to a sink server on 127.0.0.1 in a process of its own that does no validation: it reads each
body and answers a fixed 200 with ``{"status":"SUCCESS","messages":[],"fbtrace_id":...}``.
``SUCCESS`` is one of the success words snapcapi's client judges ``ACCEPTED``
(``snapcapi/_transport/_answers.py``), and Meta's ``EventRequest.execute`` reads ``messages``
and ``fbtrace_id`` from every answer (it raises ``KeyError`` without them). The sink is
``bench_send``'s, answering that body; ``snapcapi.testing.FakeSnapServer`` is not used, because
even with ``record=False`` it parses and checks every event, so its cost would be measured,
and it would refuse Meta's form-encoded body.

In one run, in interleaved rounds (the order rotating, the garbage collector on, its time
taken by ``gc.callbacks``):

a. ``snapcapi``: ``Client(pixel_id=..., access_token=..., base_url=sink, batch_size=--batch)``
   and ``client.send([...])`` of events built from the records in the timed part: building,
   validating, normalizing, hashing, encoding, posting and reading every answer.
b. ``meta``: Meta's ``facebook_business``: the same records built into its server-side events,
   then one ``EventRequest(pixel_id, events=batch).execute()`` per batch of the same size,
   against the same sink. Meta's SDK has no base URL setting; its ``FacebookAdsApi.call``
   joins ``session.GRAPH``, the API version and the path, so a ``FacebookSession`` whose
   ``GRAPH`` is the sink's URL (set on the instance, not on the class) is made the default API
   (``FacebookAdsApi.set_default_api``), which ``EventRequest.execute`` uses. Records whose
   phone Meta's normalizer refuses get no phone, decided before timing (in a batch, one
   refused phone would fail the whole request): that check is not charged to Meta.
c. ``send prebuilt``: ``Client.send`` of events built before the clock starts (fresh ones each
   round, so no round reuses what an earlier send may have cached), against ``hand loop``: one
   ``requests.Session`` posting the very request bytes ``Client.send`` sent (recorded once,
   untimed, through a recording session), ``raise_for_status`` on each answer. The loop is
   the transport floor; the ratio is what the client's batching, checks, retries and results
   cost on top of it.
d. ``stream``: in a fresh process, ``--stream-max`` events (1,000,000) from a generator through
   ``Client.send(..., keep_results=False)``: peak RSS (``VmHWM``) and the cost per event at
   10k, 30k, 100k, 300k and 1M events, overall and for each stretch between two of them (a
   flat curve means no cost grows with the number sent). The generator cycles over a pool of
   5,000 messy records, each event with its own ``event_id`` and the cycle's number added to
   the email's local part, so that no cache of values can serve a repeat.

Targets, printed MET or MISSED: (a) >= 3x the throughput of (b); (c) ``send prebuilt`` within
1.5x of the hand loop's time; (d) peak RSS under 100 MB (and the curve, reported).

Usage: ``python benchmarks/bench_e2e.py [--events N] [--rounds R] [--batch B]``
``[--stream-max N] [--seed S]`` (``--stream-max 0`` skips the stream)
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from bench_pipeline import (
    MetaEvent,
    Record,
    Run,
    Timing,
    generate_messy_records,
    make_meta_event,
    package_version,
    print_timings,
    ratio_line,
    snapcapi_event,
    time_interleaved,
)
from bench_send import PIXEL, TOKEN, peak_rss_mb

import snapcapi
from snapcapi._transport._wire import encoder_name

SINK_BODY = b'{"status":"SUCCESS","messages":[],"fbtrace_id":"bench-e2e-sink"}'
TARGET_VS_META = 3.0
TARGET_VS_HAND = 1.5
TARGET_RSS_MB = 100.0
CHECKPOINTS = (10_000, 30_000, 100_000, 300_000, 1_000_000)
STREAM_POOL = 5_000
_JSON = {"Content-Type": "application/json"}


# --------------------------------------------------------------------------- the sink


def serve_sink() -> None:
    """Run ``bench_send``'s sink in this process, answering :data:`SINK_BODY`, until killed."""
    import bench_send

    bench_send.OK_BODY = SINK_BODY  # what its handler answers every POST with
    bench_send.serve_sink(0.0)


class Sink:
    """The sink in a process of its own, as Snap is: its work does not share our GIL."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.shutdown()
            sys.exit("the sink server did not start")

    def shutdown(self) -> None:
        """Stop the sink process."""
        self._process.terminate()
        self._process.wait(timeout=10)


# --------------------------------------------------------------------------- the runs


class RecordingSession(requests.Session):
    """A session that keeps the URL, query parameters and body of every POST it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[str, dict[str, str], bytes]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Record a POST, then make the request as any session does."""
        if method == "POST":
            self.posts.append((str(url), dict(kwargs.get("params") or {}), kwargs["data"]))
        return super().request(method, url, *args, **kwargs)


def send_events(url: str, batch: int, events: Sequence[snapcapi.Event]) -> snapcapi.SendResult:
    """Send ``events`` with a new client and make sure the sink took every one."""
    with snapcapi.Client(PIXEL, TOKEN, base_url=url, batch_size=batch) as client:
        result = client.send(events)
    if result.counts["ACCEPTED"] != len(events):
        sys.exit(f"snapcapi: not every event was accepted: {result!r}")
    return result


def record_requests(
    url: str, batch: int, records: Sequence[Record]
) -> list[tuple[str, dict[str, str], bytes]]:
    """Send the records once through a recording session; return what was POSTed."""
    session = RecordingSession()
    events = [snapcapi_event(record) for record in records]
    with snapcapi.Client(PIXEL, TOKEN, base_url=url, batch_size=batch, session=session) as c:
        result = c.send(events)
    session.close()
    sent = sum(len(json.loads(body)["data"]) for _, _, body in session.posts)
    if result.counts["ACCEPTED"] != len(records) or sent != len(records):
        sys.exit(f"snapcapi sent {sent} events for {len(records)} records: {result!r}")
    return session.posts


def hand_loop(posts: Sequence[tuple[str, dict[str, str], bytes]]) -> None:
    """Post pre-encoded request bodies one after the other on one session: the floor."""
    with requests.Session() as session:
        for url, params, body in posts:
            session.post(url, params=params, data=body, headers=_JSON).raise_for_status()


def meta_records(records: Sequence[Record], meta_event: MetaEvent) -> list[Record]:
    """Return the records as Meta's SDK can send them: no phone where it refuses the phone."""
    ready = []
    for record in records:
        try:
            meta_event(record, record["phone"]).normalize()
        except ValueError:
            record = {**record, "phone": None}
        ready.append(record)
    return ready


def make_run_meta(url: str, batch: int, records: Sequence[Record]) -> Run:
    """Return Meta's end to end run: build its events, ``EventRequest.execute`` per batch."""
    from facebook_business.adobjects.serverside.event_request import EventRequest
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    meta_event = make_meta_event()

    def run_meta(_: object) -> list[Any]:
        session = FacebookSession(access_token=TOKEN)
        session.GRAPH = url  # FacebookAdsApi.call builds GRAPH/version/pixel/events
        FacebookAdsApi.set_default_api(FacebookAdsApi(session))
        events = [meta_event(record, record["phone"]) for record in records]
        answers = [
            EventRequest(pixel_id=PIXEL, events=events[start : start + batch]).execute()
            for start in range(0, len(events), batch)
        ]
        session.requests.close()
        return answers

    return run_meta


# --------------------------------------------------------------------------- the stream


def _stream(pool: Sequence[Record], total: int) -> Iterator[snapcapi.Event]:
    size = len(pool)
    for index in range(total):
        record = pool[index % size]
        cycle = str(index // size)
        yield snapcapi_event(
            {
                **record,
                "event_id": f"stream-{index}",
                "email": record["email"].replace("@", f"{cycle}@", 1),
            }
        )


def stream_child(total: int, url: str, batch: int, seed: int) -> None:
    """Stream ``total`` events through ``send(keep_results=False)``; print JSON checkpoints."""
    pool = generate_messy_records(min(STREAM_POOL, total), seed)
    marks = iter(sorted({mark for mark in CHECKPOINTS if mark < total} | {total}))
    mark, done = next(marks), 0
    print(json.dumps({"events": 0, "seconds": 0.0, "hwm_mb": peak_rss_mb()}), flush=True)
    started = time.perf_counter()

    def on_result(_: snapcapi.EventResult) -> None:
        nonlocal mark, done
        done += 1
        if done == mark:
            seconds = time.perf_counter() - started
            print(json.dumps({"events": done, "seconds": seconds, "hwm_mb": peak_rss_mb()}))
            mark = next(marks, 0)

    with snapcapi.Client(PIXEL, TOKEN, base_url=url, batch_size=batch) as client:
        result = client.send(_stream(pool, total), on_result=on_result, keep_results=False)
    print(json.dumps({"accepted": result.counts["ACCEPTED"]}), flush=True)


def stream(total: int, url: str, batch: int, seed: int) -> float:
    """Run :func:`stream_child` in a fresh process, print the curve; return the peak RSS."""
    command = [sys.executable, __file__, "--stream-child", str(total), "--sink-url", url]
    command += ["--batch", str(batch), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    accepted = lines.pop()["accepted"]
    base = lines.pop(0)
    print(
        f"stream: {total:,} events from a generator through send(keep_results=False), fresh "
        f"process, batches of {batch}, pool of {min(STREAM_POOL, total):,} messy records"
    )
    print(f"  before sending (imports and pool): peak RSS {base['hwm_mb']:.1f} MB")
    print(f"  {'events':>10} {'µs/event':>9} {'stretch µs/ev':>14} {'peak RSS MB':>12}")
    previous = {"events": 0, "seconds": 0.0}
    stretches = []
    for point in lines:
        overall = point["seconds"] / point["events"] * 1e6
        stretch = (point["seconds"] - previous["seconds"]) / (point["events"] - previous["events"])
        stretches.append(stretch * 1e6)
        print(
            f"  {point['events']:>10,} {overall:>9.2f} {stretch * 1e6:>14.2f} "
            f"{point['hwm_mb']:>12.1f}"
        )
        previous = point
    growth = lines[-1]["hwm_mb"] - base["hwm_mb"]
    print(f"  accepted {accepted:,} of {total:,}; peak RSS grew {growth:+.1f} MB while sending")
    if len(stretches) > 1:
        print(
            f"  last stretch / first stretch: {stretches[-1] / stretches[0]:.2f}x per event "
            "(1.00x: flat)"
        )
    return float(lines[-1]["hwm_mb"])


# --------------------------------------------------------------------------- main


def compare(
    records: Sequence[Record], url: str, batch: int, rounds: int, meta: bool
) -> dict[str, Timing]:
    """Time (a), (b) and (c) in interleaved rounds; print the table; return the timings."""
    posts = record_requests(url, batch, records)  # also warms snapcapi up
    size = sum(len(body) for _, _, body in posts)
    print(
        f"snapcapi: {len(posts)} requests, {len(records) / len(posts):,.0f} events and "
        f"{size / len(posts) / 1e6:.2f} MB a request, {size / len(records):,.0f} bytes an event"
    )
    runs: dict[str, Run] = {
        "snapcapi": lambda _: send_events(url, batch, [snapcapi_event(r) for r in records]),
        "send prebuilt": lambda events: send_events(url, batch, events),
        "hand loop": lambda _: hand_loop(posts),
    }
    prepare = {"send prebuilt": lambda: [snapcapi_event(record) for record in records]}
    if meta:
        ready = meta_records(records, make_meta_event())
        refused = sum(a is not b for a, b in zip(ready, records, strict=True))
        print(f"meta: {refused:,} records ({refused / len(records):.1%}) sent without a phone")
        make_run_meta(url, batch, ready[:batch])(None)  # warms Meta's lazy imports up
        runs["meta"] = make_run_meta(url, batch, ready)
    print(f"{rounds} interleaved rounds, garbage collector on, {len(records):,} events each:")
    timings = time_interleaved(runs, len(records), rounds, prepare=prepare)
    print_timings(timings, "snapcapi", "snapcapi/this")
    return {timing.name: timing for timing in timings}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, then run the comparison and the stream and check the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="records per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--batch", type=int, default=1000, help="events per request")
    parser.add_argument("--stream-max", type=int, default=1_000_000, help="events streamed")
    parser.add_argument("--seed", type=int, default=20240601, help="generator seed")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stream-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        serve_sink()
        return 0
    if args.stream_child:
        stream_child(args.stream_child, args.sink_url, args.batch, args.seed)
        return 0
    if args.events < 1 or args.rounds < 1 or args.stream_max < 0:
        parser.error("--events and --rounds must be positive, --stream-max at least 0")
    if not 1 <= args.batch <= 2000:
        parser.error("--batch must be between 1 and 2000 (Snap's limit)")

    try:
        make_meta_event()
        meta = True
    except ImportError:
        meta = False
        print("facebook-business is not installed; skipping the meta run", file=sys.stderr)
    print(
        f"Python {platform.python_version()} | snapcapi {snapcapi.__version__} "
        f"| facebook-business {package_version('facebook-business')} "
        f"| requests {requests.__version__} | snapcapi encoder {encoder_name()}"
    )
    records = generate_messy_records(args.events, args.seed)
    sink = Sink()
    try:
        print(f"sink {sink.url} (own process), batches of {args.batch}")
        timings = compare(records, sink.url, args.batch, args.rounds, meta)
        print()
        peak = stream(args.stream_max, sink.url, args.batch, args.seed) if args.stream_max else None
    finally:
        sink.shutdown()

    print()
    ours = timings["snapcapi"]
    if "meta" in timings:
        print(ratio_line(ours, timings["meta"], TARGET_VS_META, "end to end, snapcapi / meta"))
    prebuilt, floor = timings["send prebuilt"], timings["hand loop"]
    best, median = prebuilt.best / floor.best, prebuilt.median / floor.median
    verdict = "MET" if best <= TARGET_VS_HAND else "MISSED"
    print(
        f"send prebuilt / hand loop (time): {best:.3f}x best, {median:.3f}x median "
        f"(target <= {TARGET_VS_HAND:.1f}x: {verdict})"
    )
    if peak is not None:
        verdict = "MET" if peak < TARGET_RSS_MB else "MISSED"
        print(
            f"stream of {args.stream_max:,}: peak RSS {peak:.1f} MB "
            f"(target < {TARGET_RSS_MB:.0f} MB: {verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
