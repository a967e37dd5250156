"""The send pipeline on its own: handed a prepare and a deliver, it reaches back into nothing."""

from __future__ import annotations

import threading

import pytest

from snapcapi import AuthenticationError, EventStatus
from snapcapi._transport._batching import Batch, Item
from snapcapi._transport._delivery import Delivered
from snapcapi._transport._pipeline import PipelineSettings, SendPipeline
from snapcapi.results import EventResult


def prepare(index, event, now):
    return "pixel", Item(index, f"e{index}", b'{"n":%d}' % index)


def accept(batch: Batch) -> Delivered:
    return Delivered(
        tuple(EventResult(i.index, i.event_id, EventStatus.ACCEPTED) for i in batch.items)
    )


def pipeline(deliver, batch_size=2, workers=1):
    settings = PipelineSettings(batch_size, 10_000, workers)
    return SendPipeline(prepare, deliver, settings, now=lambda: 0.0)


def test_batches_flow_to_deliver_and_results_keep_input_order():
    """Events go to deliver in batches of batch_size; one result per event, in order."""
    seen = []

    def deliver(batch):
        seen.append([item.index for item in batch.items])
        return accept(batch)

    result = pipeline(deliver, batch_size=2).run(range(5))
    assert seen == [[0, 1], [2, 3], [4]]
    assert [r.index for r in result.events] == [0, 1, 2, 3, 4]
    assert result.ok


@pytest.mark.parametrize("workers", [1, 3])
def test_a_delivery_stop_is_raised_once_with_every_result(workers):
    """A Delivered carrying a stop is raised once, as is, with .result for every event read."""
    refusals = []
    lock = threading.Lock()

    def deliver(batch):
        if batch.items[0].index < 2:
            return accept(batch)
        error = AuthenticationError("refused", status_code=401)
        with lock:
            refusals.append(error)
        failed = tuple(
            EventResult(i.index, i.event_id, EventStatus.FAILED, "authentication failed")
            for i in batch.items
        )
        return Delivered(failed, error)

    with pytest.raises(AuthenticationError) as info:
        pipeline(deliver, batch_size=2, workers=workers).run(range(10))
    assert info.value in refusals
    results = info.value.result.events
    assert [r.index for r in results] == list(range(len(results)))
    assert [r.status for r in results[:2]] == [EventStatus.ACCEPTED] * 2
    assert {r.status for r in results[2:]} == {EventStatus.FAILED}
    assert all(r.event_id for r in results)
    assert not hasattr(info.value, "partial")


def test_a_delivery_that_breaks_leaves_its_events_interrupted():
    """Should deliver itself raise, its batch's events are FAILED as maybe sent, not lost."""

    def deliver(batch):
        raise OSError("socket gone")

    with pytest.raises(OSError, match="socket gone") as info:
        pipeline(deliver, batch_size=2).run(range(3))
    results = info.value.snapcapi_result.events
    assert [r.event_id for r in results[:2]] == ["e0", "e1"]
    assert results[0].reason.startswith("interrupted while being sent")
