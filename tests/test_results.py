"""SendResult and EventResult."""

from __future__ import annotations

import pytest

from snapcapi import EventResult, EventStatus, SendResult


def test_filters_counts_ok_and_repr():
    """Status filters, counts, ok and the repr summarise the per-event results."""
    result = SendResult(
        (
            EventResult(0, "a", EventStatus.ACCEPTED, http_status=200, attempts=1),
            EventResult(1, "b", EventStatus.REJECTED, "bad", codes=("C",)),
            EventResult(2, "c", EventStatus.INVALID, "no key"),
            EventResult(3, "d", EventStatus.SKIPPED, "no consent"),
            EventResult(4, "e", EventStatus.FAILED, "HTTP 503 after 6 attempts"),
        )
    )
    assert [r.event_id for r in result.accepted] == ["a"]
    assert [r.event_id for r in result.rejected] == ["b"]
    assert [r.event_id for r in result.invalid] == ["c"]
    assert [r.event_id for r in result.skipped] == ["d"]
    assert [r.event_id for r in result.failed] == ["e"]
    assert not result.ok
    assert result.counts == {
        "ACCEPTED": 1,
        "REJECTED": 1,
        "INVALID": 1,
        "SKIPPED": 1,
        "FAILED": 1,
    }
    assert len(result) == 5
    assert repr(result) == (
        "SendResult(5 events: accepted=1, rejected=1, invalid=1, skipped=1, failed=1)"
    )
    assert result.events[1].to_dict()["codes"] == ["C"]
    assert str(EventStatus.FAILED) == "FAILED"


def test_empty_result_is_not_ok():
    """Sending nothing is not a success."""
    assert not SendResult(()).ok
    assert repr(SendResult(())) == "SendResult(0 events: none)"


def test_store_reports_each_event_once_and_shares_details():
    """A second result for one event is an error; equal details are stored once."""
    from snapcapi.results import ResultStore

    store = ResultStore()
    for index in range(1000):
        store.reserve()
        store.put(EventResult(index, f"e{index}", EventStatus.ACCEPTED, warnings=("7 days old",)))
    assert len(store._details) == 2
    assert store.get(999) == EventResult(
        999, "e999", EventStatus.ACCEPTED, warnings=("7 days old",)
    )
    with pytest.raises(RuntimeError, match="reported twice"):
        store.put(EventResult(3, "e3", EventStatus.FAILED, "again"))


def test_the_repr_counts_one_event_in_the_singular():
    """One event is "1 event", not "1 events"."""
    one = SendResult((EventResult(0, "a", EventStatus.ACCEPTED),))
    assert repr(one) == "SendResult(1 event: accepted=1)"


def test_put_all_records_every_result_past_a_raising_listener():
    """A listener that raises: every result is recorded and heard once; the first error returned."""
    from snapcapi.results import ResultStore

    heard = []

    def listener(result):
        heard.append(result.index)
        if result.index >= 1:
            raise RuntimeError(f"sink broke at {result.index}")

    store = ResultStore(listener)
    for _ in range(4):
        store.reserve()
    error = store.put_all(EventResult(i, f"e{i}", EventStatus.ACCEPTED) for i in range(4))
    assert str(error) == "sink broke at 1"
    assert heard == [0, 1, 2, 3]
    assert store.pending() == []
    assert store.put_all([]) is None


def test_put_all_records_every_result_past_a_ctrl_c_in_the_listener():
    """A KeyboardInterrupt in the listener is returned once the whole batch is recorded."""
    from snapcapi.results import ResultStore

    heard = []

    def listener(result):
        heard.append(result.index)
        if result.index == 0:
            raise KeyboardInterrupt

    store = ResultStore(listener)
    for _ in range(3):
        store.reserve()
    try:
        error = store.put_all(EventResult(i, f"e{i}", EventStatus.ACCEPTED) for i in range(3))
    except KeyboardInterrupt:
        pytest.fail("the listener's KeyboardInterrupt escaped before the batch was recorded")
    assert isinstance(error, KeyboardInterrupt)
    assert heard == [0, 1, 2]
    assert store.pending() == []
