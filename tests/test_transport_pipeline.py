"""The send pipeline on its own: handed a prepare and a start, it reaches back into nothing."""

from __future__ import annotations

import json
import threading

import pytest

from snapcapi import AuthenticationError, EventStatus, UnknownAssetError
from snapcapi._transport._batching import Batch, Item
from snapcapi._transport._delivery import BatchDelivery, DeliverySettings
from snapcapi._transport._http import Response
from snapcapi._transport._pipeline import PipelineSettings, SendPipeline


def prepare(index, event, now):
    return "pixel", Item(index, f"e{index}", b'{"n":%d}' % index)


def indexes(body: bytes) -> list[int]:
    return [event["n"] for event in json.loads(body)["data"]]


def pipeline(post, batch_size=2, workers=1, **delivery):
    """A pipeline whose batches are delivered by real BatchDeliveries through ``post``."""
    stopping = threading.Event()
    settings = DeliverySettings(**delivery)

    def start(batch: Batch) -> BatchDelivery:
        return BatchDelivery(batch, post, settings, stopping=stopping)

    limits = PipelineSettings(batch_size, 10_000, workers)
    return SendPipeline(prepare, start, limits, now=lambda: 0.0, stopping=stopping)


def accept(asset_id: str, body: bytes) -> Response:
    return Response(200, {}, {"status": "VALID"})


def test_batches_flow_to_deliveries_and_results_keep_input_order():
    """Events go out in batches of batch_size; one result per event, in order."""
    seen = []

    def post(asset_id, body):
        seen.append(indexes(body))
        return accept(asset_id, body)

    result = pipeline(post, batch_size=2).run(range(5))
    assert seen == [[0, 1], [2, 3], [4]]
    assert [r.index for r in result.events] == [0, 1, 2, 3, 4]
    assert result.ok


def test_the_pipeline_s_parts_are_public_to_the_package():
    """What a runner needs of a pipeline is read from public attributes, not private ones."""
    sending = pipeline(accept, batch_size=3, workers=2)
    assert (sending.settings.batch_size, sending.settings.max_workers) == (3, 2)
    assert not sending.stopping.is_set()
    assert sending.prepare(0, None, 0.0)[1].event_id == "e0"


@pytest.mark.parametrize("workers", [1, 3])
def test_a_delivery_stop_is_raised_once_with_every_result(workers):
    """A Delivered carrying a stop is raised once, as is, with .result for every event read."""

    def post(asset_id, body):
        if indexes(body)[0] < 2:
            return accept(asset_id, body)
        return Response(401, {}, {"reason": "refused"})

    with pytest.raises(AuthenticationError) as info:
        pipeline(post, batch_size=2, workers=workers).run(range(10))
    results = info.value.result.events
    assert [r.index for r in results] == list(range(len(results)))
    assert [r.status for r in results[:2]] == [EventStatus.ACCEPTED] * 2
    assert {r.status for r in results[2:]} == {EventStatus.FAILED}
    assert all(r.event_id for r in results)
    assert not hasattr(info.value, "partial")


@pytest.mark.parametrize("workers", [1, 3])
def test_a_404_stops_the_send_naming_the_setting_that_gave_the_asset(workers):
    """A 404 is not a rejection: the send stops once, the events FAILED, never isolated."""
    posts = []

    def post(asset_id, body):
        posts.append(indexes(body))
        if indexes(body)[0] < 2:
            return accept(asset_id, body)
        return Response(404, {"X-Request-Id": "req-9"}, {"reason": "Unknown asset id"})

    sending = pipeline(post, batch_size=2, workers=workers, asset_settings={"pixel": "pixel_id"})
    with pytest.raises(UnknownAssetError) as info:
        sending.run(range(10))
    error = info.value
    assert (error.asset_id, error.setting, error.status_code) == ("pixel", "pixel_id", 404)
    assert error.request_id == "req-9"
    assert "give pixel_id=" in str(error)
    assert "snap_app_id" not in str(error)
    results = error.result.events
    assert [r.index for r in results] == list(range(len(results)))
    assert [r.status for r in results[:2]] == [EventStatus.ACCEPTED] * 2
    assert {r.status for r in results[2:]} == {EventStatus.FAILED}
    refused = [r for r in results if r.http_status == 404]
    assert refused
    for result in refused:
        assert result.reason == (
            "not sent: Snap does not know asset id 'pixel' (HTTP 404); safe to resend once "
            "pixel_id is fixed"
        )
        assert result.request_id == "req-9"
    assert all(len(sent) == 2 for sent in posts)  # no batch was split to isolate


def test_a_delivery_that_breaks_leaves_its_events_interrupted():
    """Should a delivery raise, its batch's events are FAILED as maybe sent, not lost."""

    def post(asset_id, body):
        raise OSError("socket gone")

    with pytest.raises(OSError, match="socket gone") as info:
        pipeline(post, batch_size=2).run(range(3))
    results = info.value.snapcapi_result.events
    assert [r.event_id for r in results] == ["e0", "e1"]  # the third was never read
    assert all(r.reason.startswith("interrupted while being sent") for r in results)


def test_a_broken_delivery_keeps_the_halves_snap_accepted():
    """A delivery breaking mid-isolation: the half Snap accepted stays ACCEPTED."""
    posts = []

    def post(asset_id, body):
        sent = indexes(body)
        posts.append(sent)
        if len(posts) == 4:
            raise OSError("socket gone")
        if 1 in sent:
            return Response(400, {}, {"status": "INVALID", "error_msgs": ["bad 1"]})
        return accept(asset_id, body)

    with pytest.raises(OSError, match="socket gone") as info:
        pipeline(post, batch_size=8).run(range(8))
    results = info.value.snapcapi_result.events
    # The batch, its first half [0-3] (refused), its second half [4-7] (accepted), then the
    # first quarter [0, 1] breaks on the wire while [2, 3] waits.
    assert posts == [list(range(8)), [0, 1, 2, 3], [4, 5, 6, 7], [0, 1]]
    assert [r.status for r in results[4:]] == [EventStatus.ACCEPTED] * 4
    assert all(r.reason.startswith("interrupted while being sent") for r in results[:2])
    assert all(r.reason.startswith("not sent again: Snap refused") for r in results[2:4])
    assert [r.event_id for r in results] == [f"e{i}" for i in range(8)]


def test_a_stopping_send_starts_no_request_and_keeps_what_was_settled():
    """With stopping set between requests, the delivery ends; abandon keeps the known results."""
    stopping = threading.Event()
    posts = []

    def post(asset_id, body):
        posts.append(indexes(body))
        if len(posts) == 3:
            stopping.set()  # the pipeline stopping while this request is on the wire
        if 0 in indexes(body):
            return Response(400, {}, {"status": "INVALID", "error_msgs": ["bad 0"]})
        return accept(asset_id, body)

    items = tuple(Item(i, f"e{i}", b'{"n":%d}' % i) for i in range(8))
    delivery = BatchDelivery(Batch("pixel", items), post, DeliverySettings(), stopping=stopping)
    delivered = delivery.run()
    assert len(posts) == 3  # the batch, [0-3], [4-7]: then no more
    assert sorted(r.index for r in delivered.results) == [4, 5, 6, 7]
    results = sorted(delivery.abandon("the send stopped early (X)"), key=lambda r: r.index)
    assert [r.status for r in results] == [EventStatus.FAILED] * 4 + [EventStatus.ACCEPTED] * 4
    assert all("not sent again" in r.reason for r in results[:4])
    assert all("the send stopped early (X)" in r.reason for r in results[:4])


def test_every_item_added_is_in_an_open_batch_or_handed_out():
    """Batcher.handed holds the batches the last add gave out, so a stop can still find them."""
    from snapcapi._transport._batching import Batcher

    batcher = Batcher(3, 10_000)
    items = [Item(i, f"e{i}", b'{"n":%d}' % i) for i in range(8)]
    for item in items:
        full = batcher.add("pixel", item)
        assert batcher.handed == full
        if item.index in (2, 5):
            assert [b.items for b in full] == [tuple(items[item.index - 2 : item.index + 1])]
        else:
            assert full == []
    assert [item.index for batch in batcher.flush() for item in batch.items] == [6, 7]


@pytest.mark.parametrize("workers", [1, 3])
def test_an_event_interrupted_while_prepared_keeps_its_id(workers):
    """Ctrl-C while an event is prepared: it is reported not sent, with its own event_id."""

    class Named:
        def __init__(self, index):
            self.event_id = f"named-{index}"

    def prepare_or_stop(index, event, now):
        if index == 5:
            raise KeyboardInterrupt
        return "pixel", Item(index, event.event_id, b'{"n":%d}' % index)

    stopping = threading.Event()

    def start(batch):
        return BatchDelivery(batch, accept, DeliverySettings(), stopping=stopping)

    limits = PipelineSettings(2, 10_000, workers)
    sending = SendPipeline(prepare_or_stop, start, limits, now=lambda: 0.0, stopping=stopping)
    with pytest.raises(KeyboardInterrupt) as info:
        sending.run(Named(i) for i in range(10))
    results = info.value.snapcapi_result.events
    assert [r.event_id for r in results] == [f"named-{i}" for i in range(6)]
    assert results[5].status is EventStatus.FAILED
    assert results[5].reason == (
        "not sent: the send stopped early (KeyboardInterrupt); safe to resend (the event_id "
        "deduplicates)"
    )
    assert results[4].reason == results[5].reason  # waiting in the open batch


def test_a_validate_delivery_needs_the_events_judged():
    """With expect_logs, an empty 2xx proves nothing: FAILED; a VALID one is accepted."""
    items = tuple(Item(i, f"e{i}", b'{"n":%d}' % i) for i in range(2))

    def answering(body):
        return lambda asset_id, sent: Response(200, {}, body)

    settings = DeliverySettings(expect_logs=True)
    empty = BatchDelivery(Batch("pixel", items), answering(None), settings).run()
    assert [r.status for r in empty.results] == [EventStatus.FAILED] * 2
    assert empty.results[0].reason == (
        "answer unreadable (HTTP 200, after 1 attempt): the validate endpoint's answer has no "
        "event_logs judging the events; safe to resend (the event_id deduplicates)"
    )
    valid = BatchDelivery(Batch("pixel", items), answering({"status": "VALID"}), settings).run()
    assert [r.status for r in valid.results] == [EventStatus.ACCEPTED] * 2
