"""One bad event never sinks its batch: isolating the events Snap refuses without naming them."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from conftest import make_event
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi import AuthenticationError, EventStatus
from snapcapi._transport._batching import Batch, Item
from snapcapi._transport._delivery import BatchDelivery, DeliverySettings
from snapcapi._transport._http import Response


@pytest.fixture(params=["documented", "live"])
def answers(request, snap_server):
    """Run the test against both answer shapes of the fake server."""
    snap_server.answers = request.param
    return request.param


def carried(server):
    """How many requests that reached the server carried each event_id."""
    counts: Counter[str] = Counter()
    for received in server.received:
        if isinstance(received.body, dict):
            counts.update(event["event_id"] for event in received.body["data"])
    return counts


def bound(bad: int, events: int) -> float:
    return 2 * bad * math.log2(events) + 1


def test_three_poisoned_events_in_2000_are_found_within_the_bound(snap_server, make_client):
    """Live shape: 1,997 ACCEPTED, 3 REJECTED with Snap's messages, in <= 2·k·log2(n)+1 requests."""
    snap_server.answers = "live"
    poisoned = {137: "bad currency", 1024: "bad timestamp", 1999: "bad email hash"}
    for index, message in poisoned.items():
        snap_server.reject(f"e{index}", code="POISON", message=message)
    result = make_client().send(make_event(i) for i in range(2000))
    assert result.counts["ACCEPTED"] == 1997
    assert [r.index for r in result.rejected] == sorted(poisoned)
    for rejected in result.rejected:
        assert rejected.messages == (poisoned[rejected.index],)
        assert rejected.reason == poisoned[rejected.index]
        assert rejected.http_status == 400
    assert snap_server.event_ids() == {r.event_id for r in result.accepted}
    assert snap_server.request_count <= bound(3, 2000)
    counts = carried(snap_server)
    assert all(r.attempts == counts[r.event_id] for r in result.events)


def test_documented_shape_keeps_naming_the_culprit(snap_server, make_client):
    """With an event index, the culprit is rejected and the rest re-sent: no isolation."""
    for index in (137, 1024, 1999):
        snap_server.reject(f"e{index}", code="POISON", message=f"bad {index}")
    result = make_client().send(make_event(i) for i in range(2000))
    assert result.counts["ACCEPTED"] == 1997
    assert [r.codes for r in result.rejected] == [("POISON",)] * 3
    assert snap_server.request_count == 4
    assert [r.request_id for r in result.rejected] == [
        received.request_id for received in snap_server.received[:3]
    ]


def test_one_bad_event_among_five_in_either_shape(snap_server, make_client, answers):
    """Whichever shape Snap answers in, only the bad event is REJECTED, with Snap's message."""
    snap_server.reject("e3", code="INVALID_CURRENCY", message="Currency not enabled")
    result = make_client().send([make_event(i) for i in range(5)])
    assert [r.status for r in result.events] == [EventStatus.ACCEPTED] * 3 + [
        EventStatus.REJECTED,
        EventStatus.ACCEPTED,
    ]
    bad = result.events[3]
    assert bad.messages == ("Currency not enabled",)
    assert bad.codes == (("INVALID_CURRENCY",) if answers == "documented" else ())
    assert bad.request_id is not None
    assert snap_server.event_ids() == {"e0", "e1", "e2", "e4"}
    counts = carried(snap_server)
    assert all(r.attempts == counts[r.event_id] for r in result.events)


def test_the_isolation_budget_bounds_the_requests(snap_server, make_client):
    """Beyond max_isolation_requests the unresolved events are REJECTED, saying so."""
    snap_server.answers = "live"
    for index in (1, 6, 9, 14):
        snap_server.reject(f"e{index}", message=f"bad {index}")
    result = make_client(max_isolation_requests=4).send([make_event(i) for i in range(16)])
    assert snap_server.request_count == 1 + 4
    assert len(result.events) == 16
    assert {r.status for r in result.events} <= {EventStatus.ACCEPTED, EventStatus.REJECTED}
    assert {r.event_id for r in result.accepted} == snap_server.event_ids()
    assert {1, 6, 9, 14} <= {r.index for r in result.rejected}
    stopped = [r for r in result.rejected if "max_isolation_requests" in r.reason]
    assert stopped
    for rejected in stopped:
        assert "stopped after 4 requests" in rejected.reason
        assert "event_id deduplicates" in rejected.reason
        assert rejected.messages  # Snap's messages about the group it was in


def test_a_spent_budget_leaves_the_good_parts_found_accepted(snap_server, make_client):
    """Isolation goes breadth first: with the budget spent, the good half found is ACCEPTED."""
    snap_server.answers = "live"
    snap_server.reject("e0", message="bad 0")
    snap_server.reject("e1", message="bad 1")
    result = make_client(max_isolation_requests=2).send([make_event(i) for i in range(16)])
    assert [r.index for r in result.accepted] == list(range(8, 16))
    assert [r.index for r in result.rejected] == list(range(8))
    assert snap_server.request_count == 3


def test_no_isolation_budget_rejects_the_batch_as_a_whole(snap_server, make_client):
    """max_isolation_requests=0: one request, every event REJECTED with Snap's message."""
    snap_server.answers = "live"
    snap_server.reject("e2", message="bad 2")
    result = make_client(max_isolation_requests=0).send([make_event(i) for i in range(4)])
    assert [r.status for r in result.events] == [EventStatus.REJECTED] * 4
    assert all(r.messages == ("bad 2",) for r in result.events)
    assert snap_server.request_count == 1


def test_a_refusal_every_part_gets_rejects_each_event_individually(snap_server, make_client):
    """A batch-level refusal repeated for every part ends with each event REJECTED by Snap."""
    snap_server.script(400, {"status": "INVALID", "error_msgs": ["Malformed"]}, times=100)
    result = make_client().send([make_event(i) for i in range(8)])
    assert [r.status for r in result.events] == [EventStatus.REJECTED] * 8
    assert all(r.reason == "Malformed" for r in result.events)
    assert snap_server.request_count == 15  # the batch, then every node of its halving tree


def test_retries_while_isolating_count_for_each_event(snap_server, make_client, sleeps):
    """A 503 during isolation is retried; each event's attempts count the requests carrying it."""
    snap_server.answers = "live"
    snap_server.reject("e0", message="bad 0")
    snap_server.script("process")  # the whole batch: refused as usual
    snap_server.script(503)  # its first half: retried once
    result = make_client().send([make_event(i) for i in range(4)])
    assert [r.status for r in result.events] == [EventStatus.REJECTED] + [EventStatus.ACCEPTED] * 3
    assert len(sleeps) == 1
    counts = carried(snap_server)
    assert [r.attempts for r in result.events] == [counts[f"e{i}"] for i in range(4)]
    assert result.events[0].attempts == 4  # the batch, its half twice, itself


def test_a_refused_token_while_isolating_raises_once_with_every_result(snap_server, make_client):
    """A 401 mid-isolation is raised once, with .result covering the batch; nothing patched."""
    snap_server.answers = "live"
    snap_server.script(400)  # live shape: no event named
    snap_server.script(401)
    with pytest.raises(AuthenticationError) as info:
        make_client().send([make_event(i) for i in range(4)])
    results = info.value.result.events
    assert [r.status for r in results] == [EventStatus.FAILED] * 4
    assert [r.reason for r in results[:2]] == ["authentication failed (HTTP 401)"] * 2
    assert results[2].reason == "not sent: Snap refused the access token (HTTP 401)"
    assert [r.http_status for r in results] == [401] * 4
    assert results[2].attempts == 1  # carried by the refused batch only
    assert not hasattr(info.value, "partial")
    assert snap_server.request_count == 2


def test_too_large_halving_stays_in_the_live_shape(snap_server, make_client):
    """A 413 still splits the batch in halves, whichever shape the errors have."""
    snap_server.answers = "live"
    snap_server.script(413)
    result = make_client().send([make_event(i) for i in range(4)])
    assert result.ok
    assert [len(r.body["data"]) for r in snap_server.received] == [4, 2, 2]
    assert [r.attempts for r in result.events] == [2] * 4


def test_the_info_lines_say_what_isolation_does(snap_server, make_client, caplog):
    """The request Snap refused logs that its events are being isolated."""
    import logging

    caplog.set_level(logging.INFO, logger="snapcapi")
    snap_server.answers = "live"
    snap_server.reject("e1")
    make_client().send([make_event(i) for i in range(2)])
    lines = [r.getMessage() for r in caplog.records if r.name == "snapcapi"]
    assert "HTTP 400, 1 attempt" in lines[0]
    assert "isolating 2 in halves" in lines[0]
    assert "rejected=1" in lines[-1]


# --------------------------------------------------------------------------- the law, no sockets


def _live_snap(bad: dict[int, str], posts: list[list[int]]):
    """A post callable that answers like live Snap: the first bad event's message, no index."""

    def post(asset_id: str, body: bytes) -> Response:
        import json

        indexes = [int(event["i"]) for event in json.loads(body)["data"]]
        posts.append(indexes)
        for index in indexes:
            if index in bad:
                return Response(400, {}, {"status": "INVALID", "error_msgs": [bad[index]]})
        return Response(200, {"X-Request-Id": "ok"}, {"status": "VALID"})

    return post


@settings(max_examples=200)
@given(data=st.data(), events=st.integers(1, 400))
def test_isolation_finds_every_bad_event_within_the_bound(data, events):
    """For any n and k <= 5 bad events: good ACCEPTED, bad REJECTED, <= 2·k·ceil(log2 n)+1."""
    bad_count = data.draw(st.integers(0, min(events, 5)))
    positions = data.draw(
        st.sets(st.integers(0, events - 1), min_size=bad_count, max_size=bad_count)
    )
    bad = {index: f"bad {index}" for index in positions}
    items = tuple(Item(i, f"e{i}", b'{"i":%d}' % i) for i in range(events))
    posts: list[list[int]] = []
    delivered = BatchDelivery(
        Batch("pixel", items), _live_snap(bad, posts), DeliverySettings(max_isolation_requests=200)
    ).run()
    assert delivered.stop is None
    results = sorted(delivered.results, key=lambda r: r.index)
    assert [r.index for r in results] == list(range(events))
    for result in results:
        if result.index in bad:
            assert result.status is EventStatus.REJECTED
            assert result.messages == (bad[result.index],)
        else:
            assert result.status is EventStatus.ACCEPTED
        assert result.attempts == sum(result.index in sent for sent in posts)
    depth = math.ceil(math.log2(events)) if events > 1 else 0
    assert len(posts) <= 2 * len(bad) * depth + 1
