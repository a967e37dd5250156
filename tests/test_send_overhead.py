"""The fast paths of a send against the general ones they stand for (issue 12).

``Client.send``'s own cost per event was cut by four fast paths; each is compared here with the
general path it skips, on random inputs, and fails if the fast path is broken:

- :meth:`Batcher.offer` (one look-up when the item fits its open batch) and the rewritten
  :meth:`Batcher.add`: the same batches, at the same moments, as the former batcher (kept
  below as :class:`ReferenceBatcher`), on item sizes drawn near the limits;
- :func:`join_body` (one copy of the body): the same bytes as the former join;
- :class:`ResultRun` (a request Snap accepted, recorded a column at a time by
  :class:`ResultStore`): the same results, counts, repr, records and listener calls as the
  same events recorded one by one;
- the attempts of a batch's events, counted once for its first request: the same counts as
  one per event per request, through deliveries that re-send, split and isolate.
"""

from __future__ import annotations

import json
import pickle
import random
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi import EventResult, EventStatus, SendResult
from snapcapi._transport import _pipeline
from snapcapi._transport._batching import Batch, Batcher, Item, join_body
from snapcapi._transport._delivery import BatchDelivery, Delivered, DeliverySettings
from snapcapi._transport._http import Response
from snapcapi._transport._pipeline import PipelineSettings, SendPipeline
from snapcapi.results import ResultRun, ResultStore

# --------------------------------------------------------------------------- the former code

_OPEN = b'{"data":['
_CLOSE = b"]}"


def reference_join(items: Sequence[Item], root: bytes = b"") -> bytes:
    """join_body as it was before the one-copy join."""
    return _OPEN + b",".join(item.encoded for item in items) + b"]" + root + b"}"


class ReferenceBatcher:
    """The batcher as it was before offer() (two dictionaries, a list per add)."""

    def __init__(self, max_events: int, max_bytes: int, root_bytes: int = 0) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._root = root_bytes
        self._open: dict[str, list[Item]] = {}
        self._sizes: dict[str, int] = {}

    def fits_alone(self, item: Item) -> bool:
        return len(_OPEN) + len(_CLOSE) + self._root + len(item.encoded) <= self.max_bytes

    def add(self, asset_id: str, item: Item) -> list[Batch]:
        items = self._open.setdefault(asset_id, [])
        size = self._sizes.get(asset_id, len(_OPEN) + len(_CLOSE) + self._root - 1)
        grown = size + len(item.encoded) + 1
        full: list[Batch] = []
        if items and grown > self.max_bytes:
            full.append(Batch(asset_id, tuple(items)))
            items.clear()
            grown = len(_OPEN) + len(_CLOSE) + self._root + len(item.encoded)
        items.append(item)
        self._sizes[asset_id] = grown
        if len(items) >= self.max_events:
            full.append(Batch(asset_id, tuple(items)))
            items.clear()
            del self._sizes[asset_id]
        return full

    def flush(self) -> Iterator[Batch]:
        for asset_id, items in self._open.items():
            if items:
                yield Batch(asset_id, tuple(items))
        self._open.clear()
        self._sizes.clear()


class EachStore(ResultStore):
    """A result store that records every run result by result: the general path."""

    def _record_run(self, run: ResultRun) -> bool:
        return False


# --------------------------------------------------------------------------- batching


def _fragment(index: int, size: int) -> bytes:
    return b'"' + bytes([97 + index % 26]) * max(size - 2, 0) + b'"'


@st.composite
def batching_cases(draw: st.DrawFn) -> tuple[int, int, int, list[tuple[str, int]]]:
    """Limits, and item sizes drawn around them (the sizes that just fit, or just do not)."""
    max_events = draw(st.integers(1, 12))
    max_bytes = draw(st.integers(60, 600))
    root = draw(st.integers(0, 30))
    room = max_bytes - len(_OPEN) - len(_CLOSE) - root  # the largest item that fits alone
    near = st.integers(max(room - 3, 1), max(room + 3, 1))
    halves = st.integers(max(room // 2 - 3, 1), max(room // 2 + 3, 1))
    small = st.integers(1, max(room // max_events + 3, 2))
    sizes = st.one_of(near, halves, small, st.integers(1, max(room + 10, 2)))
    items = draw(st.lists(st.tuples(st.sampled_from(["pixel", "app"]), sizes), max_size=80))
    return max_events, max_bytes, root, items


@given(batching_cases(), st.booleans())
@settings(max_examples=1500)
def test_offer_and_add_batch_as_the_former_batcher(case, use_add):
    """Each add or offer hands out the former batcher's batches (and handed them), in order."""
    max_events, max_bytes, root, sizes = case
    old, new = ReferenceBatcher(max_events, max_bytes, root), Batcher(max_events, max_bytes, root)
    for index, (asset, size) in enumerate(sizes):
        item = Item(index, f"e{index}", _fragment(index, size))
        fits = old.fits_alone(item)
        assert new.fits_alone(item) is fits
        if use_add:
            if not fits:
                continue
            got: Sequence[Batch] | None = new.add(asset, item)
        else:
            got = new.offer(asset, item)
            if not fits:
                assert got is None
                continue
        expected = old.add(asset, item)
        assert got is not None
        assert list(got) == expected
        assert list(new.handed) == expected
        for batch in expected:
            body = join_body(batch.items, b"r" * root)
            assert len(body) <= max_bytes
    assert list(new.flush()) == list(old.flush())
    assert list(new.flush()) == []


@given(
    st.lists(st.binary(max_size=40), max_size=12),
    st.sampled_from([b"", b',"test_event_code":"T1"', b",x"]),
)
@settings(max_examples=1000)
def test_join_body_is_the_former_join(fragments, root):
    """The one-copy join gives the former bytes, for no, one or many events."""
    items = [Item(i, f"e{i}", fragment) for i, fragment in enumerate(fragments)]
    assert join_body(items, root) == reference_join(items, root)
    assert join_body(tuple(items)) == reference_join(items)


def test_item_compares_as_before_and_shows_no_body():
    """Item is slotted; it compares by value, positional as before; its repr leaves out the body.

    The body holds the user's IP address, user agent and page URL, and reprs of locals reach
    error trackers (a ResultRun in a frame shows its items).
    """
    body = b'{"user_data":{"client_ip_address":"203.0.113.7"}}'
    item = Item(3, "e3", body, ("old",))
    assert item == Item(3, "e3", body, ("old",))
    assert item != Item(3, "e3", body)
    assert Item(1, "e", b"{}").warnings == ()
    assert repr(item) == "Item(index=3, event_id='e3', warnings=('old',))"
    run = ResultRun((item,), EventStatus.ACCEPTED, 200, 1, None)
    assert "203.0.113.7" not in repr(run)
    assert not hasattr(item, "__dict__")


# --------------------------------------------------------------------------- the result store

_WARNINGS = [(), (), (), ("event_time is 7 days old",), ("phone dropped", "7 days old")]
_IDS = [None, "req-1", "req-2"]


def _single(rng: random.Random, index: int) -> EventResult:
    """A result as the general path records it: any status, any details."""
    status = rng.choice(list(EventStatus))
    return EventResult(
        index,
        rng.choice([f"e{index}", None]),
        status,
        None if status is EventStatus.ACCEPTED and rng.random() < 0.5 else rng.choice(["bad", "x"]),
        codes=rng.choice([(), ("C1",), ("C1", "C2")]),
        messages=rng.choice([(), ("m",)]),
        warnings=rng.choice(_WARNINGS),
        http_status=rng.choice([None, 200, 400, 503, 70000]),
        attempts=rng.choice([0, 1, 3, 70000]),
        request_id=rng.choice(_IDS),
    )


def _entries(seed: int, n: int) -> list[EventResult | ResultRun]:
    """Results for events 0..n-1 in a random order of settling, accepted ones as runs.

    Runs are consecutive (a batch), scattered (a batch among invalid events, or a part of a
    batch after a culprit left it), or of one event; some statuses other than ACCEPTED too.
    """
    rng = random.Random(seed)
    order = list(range(n))
    entries: list[EventResult | ResultRun] = []
    position = 0
    while position < n:
        kind = rng.random()
        if kind < 0.35:  # single results
            take = rng.randint(1, 4)
            entries.extend(_single(rng, i) for i in order[position : position + take])
        else:  # a run: consecutive, or every other event of a stretch
            take = rng.randint(1, 30)
            stretch = order[position : position + take]
            run = stretch if kind < 0.7 else stretch[::2]
            rest = [] if kind < 0.7 else stretch[1::2]
            items = tuple(Item(i, f"e{i}", b"{}", rng.choice(_WARNINGS)) for i in run)
            status = EventStatus.ACCEPTED if rng.random() < 0.9 else EventStatus.FAILED
            entries.append(
                ResultRun(
                    items,
                    status,
                    rng.choice([None, 200, 202, 70000]),
                    rng.choice([0, 1, 2, 70000]),
                    rng.choice(_IDS),
                )
            )
            entries.extend(_single(rng, i) for i in rest)
        position += take
    # Settled in batches, not input order: shuffle blocks of entries.
    blocks = [entries[i : i + 3] for i in range(0, len(entries), 3)]
    rng.shuffle(blocks)
    return [entry for block in blocks for entry in block]


def _expanded(entries: Sequence[EventResult | ResultRun]) -> list[EventResult]:
    spelled: list[EventResult] = []
    for entry in entries:
        spelled.extend(entry if isinstance(entry, ResultRun) else [entry])
    return spelled


def _fill(store: ResultStore, entries: Sequence[EventResult | ResultRun], n: int, cut: int) -> Any:
    for _ in range(n):
        store.reserve()
    first = store.put_all(entries[:cut])
    second = store.put_all(entries[cut:])
    return first, second


def _public(result: SendResult, keep: bool) -> dict[str, Any]:
    """Everything SendResult shows of its events."""
    shown: dict[str, Any] = {"counts": result.counts, "repr": repr(result), "len": len(result)}
    shown["ok"] = result.ok
    if keep:
        events = result.events
        shown["events"] = list(events)
        shown["iter"] = list(result)
        shown["records"] = result.to_records()
        shown["by_status"] = [
            result.accepted,
            result.rejected,
            result.invalid,
            result.skipped,
            result.failed,
        ]
        shown["slices"] = [events[1:7:2], events[-3:], events[::-1][:4]]
        shown["negative"] = events[-1] if len(events) else None
        shown["html"] = result._repr_html_()
        shown["hash"] = hash(events)
    return shown


@given(
    seed=st.integers(0, 2**32),
    n=st.integers(0, 120),
    keep=st.booleans(),
    cut=st.integers(0, 200),
    listen=st.booleans(),
)
@settings(max_examples=1500)
def test_runs_read_back_as_the_results_recorded_one_by_one(seed, n, keep, cut, listen):
    """A store fed runs shows what one fed the same results one by one shows, everywhere."""
    entries = _entries(seed, n)
    heard: dict[str, list[EventResult]] = {"fast": [], "each": []}

    def listener(name: str) -> Any:
        return heard[name].append if listen else None

    fast = ResultStore(listener("fast"), keep=keep)
    each = EachStore(listener("each"), keep=keep)
    cut = min(cut, len(entries))
    assert _fill(fast, entries, n, cut) == _fill(each, entries, n, cut) == (None, None)
    assert heard["fast"] == heard["each"]
    if listen:
        assert heard["fast"] == _expanded(entries)
    fast_result, each_result = SendResult.from_store(fast), SendResult.from_store(each)
    assert _public(fast_result, keep) == _public(each_result, keep)
    assert fast.pending() == each.pending() == []
    if keep:
        recorded = [  # the store keeps HTTP statuses and attempts up to 65,535
            attrs.evolve(r, http_status=r.http_status and min(r.http_status, 65535),
                         attempts=min(r.attempts, 65535))
            for r in sorted(_expanded(entries), key=lambda r: r.index)
        ]  # fmt: skip
        as_tuple = SendResult(tuple(recorded))
        assert fast_result.events == as_tuple.events
        assert _public(fast_result, keep) == _public(as_tuple, keep)
        assert pickle.loads(pickle.dumps(fast_result.events[:])) == as_tuple.events
        assert fast._details == each._details  # the same table of shared details


@given(seed=st.integers(0, 2**32), n=st.integers(2, 60), keep=st.booleans())
@settings(max_examples=500)
def test_a_run_reporting_an_event_twice_is_refused_as_one_by_one(seed, n, keep):
    """A run naming a settled (or repeated) event stops where the general path stops."""
    rng = random.Random(seed)
    entries = _entries(seed, n)
    again = rng.randrange(n)
    shape = rng.random()
    if shape < 0.4:  # a later run names an event already settled
        twice = [Item(i, f"e{i}", b"{}") for i in sorted({again, *rng.sample(range(n), min(n, 3))})]
    elif shape < 0.7:  # a run names one event twice
        twice = [Item(again, "x", b"{}"), Item(again, "x", b"{}")]
    else:  # a consecutive run over settled events
        start = rng.randrange(n)
        twice = [Item(i, f"e{i}", b"{}") for i in range(start, min(n, start + 5))]
    entries.append(ResultRun(tuple(twice), EventStatus.ACCEPTED, 200, 1, None))
    heard: dict[str, list[EventResult]] = {"fast": [], "each": []}
    fast = ResultStore(heard["fast"].append, keep=keep)
    each = EachStore(heard["each"].append, keep=keep)
    outcomes = []
    for store in (fast, each):
        for _ in range(n):
            store.reserve()
        with pytest.raises(RuntimeError, match="reported twice") as info:
            store.put_all(entries)
        outcomes.append(str(info.value))
    assert outcomes[0] == outcomes[1]
    assert heard["fast"] == heard["each"]
    assert fast._status == each._status
    if keep:
        settled = fast.settled()
        assert settled == each.settled()
        assert [fast.get(i) for i in settled] == [each.get(i) for i in settled]


@given(
    indexes=st.lists(st.integers(0, 15), min_size=1, max_size=12),
    settled=st.sets(st.integers(0, 15), max_size=4),
    keep=st.booleans(),
)
@settings(max_examples=500)
def test_a_run_of_any_indexes_is_recorded_as_one_by_one(indexes, settled, keep):
    """A run over any indexes (repeats, gaps, some settled) ends as the general path ends."""
    ends = []
    for store in (ResultStore(keep=keep), EachStore(keep=keep)):
        for _ in range(16):
            store.reserve()
        for i in sorted(settled):
            store.put(EventResult(i, f"s{i}", EventStatus.INVALID, "bad"))
        run = ResultRun(
            tuple(Item(i, f"e{i}", b"{}", ("w",) if i % 3 else ()) for i in indexes),
            EventStatus.ACCEPTED,
            200,
            1,
            "req",
        )
        try:
            store.put_all([run])
            raised = None
        except RuntimeError as exc:
            raised = str(exc)
        shown = [store.get(i) for i in store.settled()] if keep else store.settled()
        ends.append((raised, bytes(store._status), shown))
    assert ends[0] == ends[1]


def test_a_run_past_the_reserved_events_is_refused_as_one_by_one():
    """A run reaching past the events reserved raises the general path's IndexError."""
    for store in (ResultStore(), EachStore()):
        store.reserve()
        run = ResultRun((Item(0, "a", b"{}"), Item(1, "b", b"{}")), EventStatus.ACCEPTED)
        with pytest.raises(IndexError):
            store.put_all([run])
        assert store.get(0) == EventResult(0, "a", EventStatus.ACCEPTED)


def test_a_listener_that_raises_hears_every_result_of_a_run():
    """A raising listener still hears each result of a run once; its first error comes back."""
    heard: list[int] = []

    def listener(result: EventResult) -> None:
        heard.append(result.index)
        if result.index in (1, 4):
            raise ValueError(result.index)

    store = ResultStore(listener)
    for _ in range(6):
        store.reserve()
    run = ResultRun(tuple(Item(i, f"e{i}", b"{}") for i in range(6)), EventStatus.ACCEPTED)
    error = store.put_all([run])
    assert isinstance(error, ValueError)
    assert error.args == (1,)
    assert heard == list(range(6))
    assert SendResult.from_store(store).ok


def test_a_run_is_a_sequence_of_its_results():
    """A run indexes, slices and iterates as the tuple of results it stands for."""
    items = (Item(4, "a", b"{}", ("w",)), Item(7, "b", b"{}"))
    run = ResultRun(items, EventStatus.ACCEPTED, 200, 2, "req")
    spelled = (
        EventResult(4, "a", EventStatus.ACCEPTED, warnings=("w",), http_status=200,
                    attempts=2, request_id="req"),
        EventResult(7, "b", EventStatus.ACCEPTED, http_status=200, attempts=2,
                    request_id="req"),
    )  # fmt: skip
    assert tuple(run) == spelled
    assert (run[0], run[-1], run[0:1], len(run)) == (spelled[0], spelled[1], spelled[:1], 2)
    assert Delivered((run, spelled[0])).results == (*spelled, spelled[0])


# --------------------------------------------------------------------------- through deliveries


def _scripted(seed: int, culprits: set[int]) -> Any:
    """A Snap that accepts, names a culprit, refuses unnamed, fails or finds a body too large."""
    rng = random.Random(seed)
    posts: list[tuple[list[int], int]] = []

    def post(asset_id: str, body: bytes) -> Response:
        indexes = [event["n"] for event in json.loads(body)["data"]]
        attempts = rng.choice([1, 1, 2, 3])
        posts.append((indexes, attempts))
        bad = [position for position, i in enumerate(indexes) if i in culprits]
        roll = rng.random()
        headers = {"X-Request-Id": f"req-{len(posts)}"}
        if roll < 0.08:
            return Response(503, headers, None, attempts=attempts)
        if roll < 0.14 and len(indexes) > 1:
            return Response(413, headers, None, attempts=attempts)
        if not bad:
            return Response(200, headers, None, attempts=attempts)
        if roll < 0.6:
            answer = {"status": "INVALID", "event": bad[0], "reason": "bad", "error_msgs": ["m"]}
            return Response(400, headers, answer, attempts=attempts)
        return Response(400, headers, {"status": "INVALID", "reason": "refused"}, attempts=attempts)

    return post, posts


def _send(seed: int, n: int, keep: bool, store: type[ResultStore], monkeypatch: Any) -> Any:
    rng = random.Random(seed)
    culprits = {i for i in range(n) if rng.random() < 0.08}
    skipped = {i for i in range(n) if rng.random() < 0.1}
    post, posts = _scripted(seed, culprits)
    stopping = threading.Event()
    settings_ = DeliverySettings(
        max_resends=rng.choice([0, 2, 50]), max_isolation_requests=rng.choice([0, 3, 250])
    )

    def start(batch: Batch) -> BatchDelivery:
        return BatchDelivery(batch, post, settings_, stopping=stopping)

    def prepare(index: int, event: Any, now: float) -> Any:
        if index in skipped:
            return EventResult(index, f"e{index}", EventStatus.SKIPPED, "no consent")
        warned = ("7 days old",) if index % 5 == 0 else ()
        return "pixel", Item(index, f"e{index}", b'{"n":%d}' % index, warned)

    limits = PipelineSettings(rng.randint(1, 12), 10_000, 1)
    heard: list[EventResult] = []
    monkeypatch.setattr(_pipeline, "ResultStore", store)
    pipeline = SendPipeline(prepare, start, limits, now=lambda: 0.0, stopping=stopping)
    result = pipeline.run(range(n), heard.append, keep_results=keep)
    return result, heard, posts


@given(seed=st.integers(0, 2**32), n=st.integers(0, 60), keep=st.booleans())
@settings(max_examples=300)
def test_sends_end_as_with_results_recorded_one_by_one(seed, n, keep):
    """Through deliveries that re-send, split and isolate: the results the general path gives.

    Each event's attempts are also counted from the requests made: the sum of the attempts
    of every request that carried it.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, fast_heard, posts = _send(seed, n, keep, ResultStore, monkeypatch)
        each, each_heard, each_posts = _send(seed, n, keep, EachStore, monkeypatch)
    assert posts == each_posts
    assert fast_heard == each_heard
    assert _public(fast, keep) == _public(each, keep)
    carried: dict[int, int] = {}
    for indexes, attempts in posts:
        for i in indexes:
            carried[i] = carried.get(i, 0) + attempts
    assert sorted(r.index for r in fast_heard) == list(range(n))
    for heard in fast_heard:
        assert heard.attempts == carried.get(heard.index, 0), heard
        if heard.status is EventStatus.ACCEPTED:
            assert heard.warnings == (("7 days old",) if heard.index % 5 == 0 else ())


def test_an_accepted_batch_is_settled_as_one_run():
    """A batch Snap accepts at once is one run in Delivered.settled, not a result each."""
    items = tuple(Item(i, f"e{i}", b"{}") for i in range(5))

    def post(asset_id: str, body: bytes) -> Response:
        return Response(200, {"X-Request-Id": "r1"}, None, attempts=2)

    delivered = BatchDelivery(Batch("pixel", items), post, DeliverySettings()).run()
    assert delivered.settled == (ResultRun(items, EventStatus.ACCEPTED, 200, 2, "r1"),)
    assert [r.attempts for r in delivered.results] == [2] * 5


# --------------------------------------------------------------------------- interrupts


class _Interrupt(BaseException):
    """Stands for a Ctrl-C landing at one chosen instant."""


def _run_of(store: ResultStore, count: int) -> ResultRun:
    items = tuple(Item(store.reserve(), f"e{i}", b"{}") for i in range(count))
    return ResultRun(items, EventStatus.ACCEPTED, 200, 1, "req")


@pytest.mark.parametrize("at", [0, 1, 4, 9])
def test_an_interrupt_while_a_run_is_told_loses_no_notification(at, monkeypatch):
    """A Ctrl-C while a run's results are made for the listener: the next put_all tells the rest.

    The interrupted send records its remaining results through put_all (stop_early), so every
    result of the run reaches the listener once, in order.
    """
    heard: list[str | None] = []
    store = ResultStore(lambda result: heard.append(result.event_id))
    run = _run_of(store, 10)
    made = 0
    real = ResultRun._result

    def interrupted(self, item):
        nonlocal made
        made += 1
        if made == at + 1:
            raise _Interrupt
        return real(self, item)

    monkeypatch.setattr(ResultRun, "_result", interrupted)
    with pytest.raises(_Interrupt):
        store.put_all([run])
    assert heard == [f"e{i}" for i in range(at)]
    assert store.put_all([]) is None  # what stop_early's put_quietly does
    assert heard == [f"e{i}" for i in range(10)]
    assert [r.event_id for r in SendResult.from_store(store).events] == heard


def test_an_interrupt_before_a_runs_statuses_leaves_it_pending_and_readable(monkeypatch):
    """Columns are written before statuses: cut in between, the events are still pending."""
    store = ResultStore()
    run = _run_of(store, 5)

    def interrupted(self, details):
        raise _Interrupt

    monkeypatch.setattr(ResultStore, "_number", interrupted)
    with pytest.raises(_Interrupt):
        store.put_all([run])
    assert all(store.is_pending(i) for i in range(5))
    monkeypatch.undo()
    store.put_all([run])
    assert [r.status for r in SendResult.from_store(store).events] == [EventStatus.ACCEPTED] * 5


def test_a_growth_cut_short_is_completed_by_the_next():
    """Columns are grown each to the size asked, so a growth cut between columns heals."""
    store = ResultStore()
    for _ in range(6):
        store.reserve()
    store._http.frombytes(bytes(2 * 4))  # as if a growth to 4 stopped after its first column
    store._grow(6)
    assert len(store._ids) == len(store._http) == len(store._attempts) == len(store._detail) == 6
    run = ResultRun(
        tuple(Item(i, f"e{i}", b"{}") for i in range(6)), EventStatus.ACCEPTED, 200, 1, None
    )
    store.put_all([run])
    assert [r.event_id for r in SendResult.from_store(store).events] == [f"e{i}" for i in range(6)]
