"""Client against the fake Snap server, over real sockets: batching, retries, results."""

from __future__ import annotations

import json
import logging
import random
import signal
import socket
import threading
import time

import pytest
import requests
from conftest import make_app_event, make_event

from snapcapi import (
    AuthenticationError,
    Client,
    ClientClosedError,
    EventStatus,
    SnapCapiError,
    TransportError,
    UnknownAssetError,
    UserData,
    ValidationError,
    normalize,
)
from snapcapi._transport._http import transport_error
from snapcapi._transport._retry import RetryPolicy

RESEND = "; safe to resend (the event_id deduplicates)"


def bodies(server, endpoint="events"):
    return [r.body for r in server.received if r.endpoint == endpoint]


@pytest.fixture(params=["documented", "live"], autouse=True)
def answers(request, snap_server):
    """Every test of this file runs against both answer shapes of the fake server."""
    snap_server.answers = request.param
    return request.param


# --------------------------------------------------------------------------- the happy path


def test_send_reports_every_event_in_input_order(snap_server, make_client):
    """Every event gets one result, in input order, and reaches the server once."""
    events = [make_event(i) for i in range(5)]
    result = make_client().send(events)
    assert [r.index for r in result.events] == [0, 1, 2, 3, 4]
    assert [r.event_id for r in result.events] == [f"e{i}" for i in range(5)]
    assert result.ok
    assert all(r.http_status == 200 and r.attempts == 1 for r in result.events)
    assert snap_server.event_ids() == {f"e{i}" for i in range(5)}
    assert len(snap_server.events) == 5


def test_batches_respect_count_and_bytes(snap_server, make_client):
    """Requests carry at most batch_size events and max_batch_bytes of JSON, in order."""
    result = make_client(batch_size=3).send(make_event(i) for i in range(10))
    assert [len(body["data"]) for body in bodies(snap_server)] == [3, 3, 3, 1]
    assert result.ok
    snap_server.reset()
    make_client(max_batch_bytes=2048).send(make_event(i) for i in range(20))
    sizes = [len(json.dumps(b, separators=(",", ":")).encode()) for b in bodies(snap_server)]
    assert len(sizes) > 1
    assert max(sizes) <= 2048
    sent = [event["event_id"] for body in bodies(snap_server) for event in body["data"]]
    assert sent == [f"e{i}" for i in range(20)]


def test_app_events_go_to_the_snap_app_id(snap_server, make_client):
    """MOBILE_APP events are batched apart and posted to the Snap App ID."""
    events = [make_event(0), make_app_event(1), make_event(2), make_app_event(3)]
    result = make_client().send(events)
    assert result.ok
    by_asset = {r.asset_id: [e["event_id"] for e in r.body["data"]] for r in snap_server.received}
    assert by_asset == {
        snap_server.pixel_id: ["e0", "e2"],
        snap_server.snap_app_id: ["app1", "app3"],
    }


def test_missing_asset_id_is_an_error_carrying_the_results_so_far(snap_server):
    """An app event without a Snap App ID stops the call with a clear error and .result."""
    client = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    with client, pytest.raises(ValidationError, match="snap_app_id") as info:
        client.send([make_event(0, user_data=UserData()), make_app_event(1)])
    assert info.value.result is not None
    assert [r.status for r in info.value.result.events] == [EventStatus.INVALID] * 2
    assert "Snap App ID" in info.value.result.events[1].reason
    assert "'app1'" in info.value.result.events[1].reason


def test_missing_asset_id_mid_stream_reports_the_buffered_events(snap_server):
    """Events waiting in a batch when the stream stops are FAILED "not sent", never lost."""
    client = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    with client, pytest.raises(ValidationError) as info:
        client.send([make_event(0), make_event(1), make_app_event(2), make_event(3)])
    results = info.value.result.events
    assert [r.status for r in results] == [EventStatus.FAILED] * 2 + [EventStatus.INVALID]
    assert [r.event_id for r in results] == ["e0", "e1", "app2"]
    assert results[0].reason == "not sent: the send stopped early (ValidationError)" + RESEND
    assert snap_server.received == []


def test_locally_invalid_events_are_reported_and_not_sent(snap_server, make_client):
    """Events unfit to send are INVALID with the reason, and never reach Snap."""
    events = [make_event(0), make_event(1, user_data=UserData(client_ip_address="203.0.113.9"))]
    result = make_client().send(events)
    assert [r.status for r in result.events] == [EventStatus.ACCEPTED, EventStatus.INVALID]
    assert "no matching key" in result.events[1].reason
    assert result.events[1].codes == ("no_match_key",)  # snapcapi's own code, for programs
    assert result.events[1].attempts == 0
    assert snap_server.event_ids() == {"e0"}


def test_non_events_are_invalid_not_lost(make_client):
    """Something that is not an Event is reported INVALID, not skipped silently."""
    result = make_client().send([make_event(0), {"event_name": "PURCHASE"}])
    assert result.events[1].status is EventStatus.INVALID
    assert "expected an Event, got dict" in result.events[1].reason


def test_consent_is_required_when_asked(snap_server, make_client):
    """With require_consent=True only consent=True events go out; the rest are SKIPPED."""
    events = [make_event(0, consent=True), make_event(1, consent=False), make_event(2)]
    result = make_client(require_consent=True).send(events)
    assert [r.status for r in result.events] == [
        EventStatus.ACCEPTED,
        EventStatus.SKIPPED,
        EventStatus.SKIPPED,
    ]
    assert snap_server.event_ids() == {"e0"}


def test_default_region_reads_national_phones(snap_server, make_client):
    """Phones without country code wait for the client's default region."""
    event = make_event(0, user_data=UserData(phone="(415) 555-0132"))
    assert make_client().send([event]).events[0].status is EventStatus.INVALID
    assert make_client(default_region="US").send([event]).ok
    sent = bodies(snap_server)[-1]["data"][0]["user_data"]["ph"]
    assert sent == [normalize.hash_value("14155550132")]


def test_old_events_carry_a_notice(snap_server, make_client):
    """Events older than 7 days are sent, with a warning on their result."""
    from datetime import datetime, timedelta, timezone

    old = make_event(0, event_time=datetime.now(timezone.utc) - timedelta(days=10))
    result = make_client().send([old])
    assert result.ok
    assert any("10 days old" in w for w in result.events[0].warnings)


# --------------------------------------------------------------------------- retries


def test_retries_transient_statuses_with_backoff(snap_server, make_client, sleeps):
    """503, 408 and 500 are retried with jittered backoff; the events end ACCEPTED."""
    snap_server.script(503)
    snap_server.script(408)
    snap_server.script(500)
    result = make_client(backoff_base=1.0).send([make_event(0)])
    assert result.ok
    assert result.events[0].attempts == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps, [1.0, 2.0, 4.0], strict=True))


def test_retry_after_is_honoured_and_capped(snap_server, make_client, sleeps):
    """429 with Retry-After waits as told, up to retry_after_max."""
    snap_server.script(429, headers={"Retry-After": "7"})
    snap_server.script(429, headers={"Retry-After": "3600"})
    result = make_client(retry_after_max=30.0, backoff_base=0.01).send([make_event(0)])
    assert result.ok
    assert sleeps[0] >= 7
    assert sleeps[1] == 30.0


def test_retries_run_out_into_failed_not_an_exception(snap_server, make_client, sleeps):
    """After the last retry the events are FAILED with the reason; nothing is raised."""
    snap_server.script(500, times=4)
    result = make_client(max_retries=3).send([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.FAILED] * 2
    assert result.events[0].reason == "HTTP 500 after 4 attempts" + RESEND
    assert result.events[0].attempts == 4
    assert len(sleeps) == 3


def test_other_client_errors_are_not_retried(snap_server, make_client, sleeps, answers):
    """A 409 is final at once: REJECTED with Snap's reason, no retry."""
    snap_server.script(409)
    result = make_client().send([make_event(0)])
    assert result.events[0].status is EventStatus.REJECTED
    assert result.events[0].http_status == 409
    assert result.events[0].reason == "Injected HTTP 409"
    assert snap_server.request_count == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["send", "validate"])
def test_an_unknown_asset_id_stops_the_send_naming_its_setting(
    snap_server, make_client, sleeps, answers, method
):
    """A 404 stops the send like a refused token: no retry, no isolation, every event FAILED."""
    client = make_client(batch_size=2)
    client.pixel_id = "wrong-pixel"
    with pytest.raises(UnknownAssetError) as info:
        getattr(client, method)([make_event(i) for i in range(5)])
    error = info.value
    assert error.status_code == 404
    assert error.asset_id == "wrong-pixel"
    assert error.messages == ("Unknown asset id",)
    assert error.request_id == snap_server.received[0].request_id
    text = str(error)
    assert "Snap does not know asset id 'wrong-pixel' (HTTP 404: Unknown asset id)" in text
    assert "pixel_id=" in text
    assert "SNAP_PIXEL_ID" in text
    assert "snap_app_id" not in text  # the setting that gave this asset id, not every one
    assert f"Snap request id {error.request_id}" in text
    assert snap_server.token not in text
    events = error.result.events
    assert [r.status for r in events] == [EventStatus.FAILED] * 2
    for result in events:
        assert result.reason.startswith("not sent: Snap does not know asset id 'wrong-pixel'")
        assert "safe to resend" in result.reason
        assert result.http_status == 404
    assert snap_server.request_count == 1
    assert sleeps == []


def test_an_unknown_app_id_stops_the_send_after_the_accepted_events(snap_server, make_client):
    """The events Snap accepted stay ACCEPTED; the ones sent to the unknown app id FAILED."""
    client = make_client(snap_app_id="wrong-app", batch_size=2)
    events = [make_event(0), make_event(1), make_app_event(2), make_app_event(3)]
    with pytest.raises(UnknownAssetError) as info:
        client.send(events)
    assert info.value.asset_id == "wrong-app"
    assert "SNAP_APP_ID" in str(info.value)
    statuses = [r.status for r in info.value.result.events]
    assert statuses == [EventStatus.ACCEPTED] * 2 + [EventStatus.FAILED] * 2
    assert snap_server.event_ids() == {"e0", "e1"}


def test_an_unknown_asset_id_with_workers_reports_every_event_read(snap_server, make_client):
    """With several workers, a 404 still leaves one result per event read, none twice."""
    client = make_client(batch_size=2, max_workers=3)
    client.pixel_id = "wrong-pixel"
    with pytest.raises(UnknownAssetError) as info:
        client.send(make_event(i) for i in range(40))
    results = info.value.result.events
    assert [r.index for r in results] == list(range(len(results)))
    assert {r.status for r in results} == {EventStatus.FAILED}
    assert all(r.event_id for r in results)


def test_connection_reset_and_timeout_are_retried(snap_server, make_client):
    """A dropped connection and a slow answer are retried like 5xx."""
    snap_server.script("reset")
    snap_server.script(200, delay=1.0)
    result = make_client(timeout=0.2).send([make_event(0)])
    assert result.ok
    assert result.events[0].attempts == 3


def test_server_down_means_failed_with_a_transport_reason(sleeps):
    """With nothing listening, events end FAILED after the retries, reason given."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(
        "p", "secret-token", base_url=f"http://127.0.0.1:{port}", sleep=sleeps, max_retries=2
    )
    with client:
        result = client.send([make_event(0)])
    event = result.events[0]
    assert event.status is EventStatus.FAILED
    assert event.reason.startswith("could not connect")
    assert event.attempts == 3
    assert "secret-token" not in event.reason


def test_payload_too_large_is_split(snap_server, make_client):
    """A 413 splits the batch in halves, each sent on its own."""
    snap_server.script(413)
    result = make_client().send([make_event(i) for i in range(4)])
    assert result.ok
    assert [len(b["data"]) for b in bodies(snap_server)] == [4, 2, 2]


# --------------------------------------------------------------------------- rejections


def test_a_rejected_event_is_isolated_and_the_rest_resent(snap_server, make_client, answers):
    """One bad event is REJECTED with Snap's messages (and codes, if given); the others go."""
    snap_server.reject("e2", code="INVALID_CURRENCY", message="Currency not enabled")
    result = make_client().send([make_event(i) for i in range(5)])
    statuses = [r.status for r in result.events]
    assert (
        statuses == [EventStatus.ACCEPTED] * 2 + [EventStatus.REJECTED] + [EventStatus.ACCEPTED] * 2
    )
    rejected = result.events[2]
    assert rejected.messages == ("Currency not enabled",)
    assert rejected.reason == "Currency not enabled"
    assert rejected.http_status == 400
    assert snap_server.event_ids() == {"e0", "e1", "e3", "e4"}
    if answers == "documented":  # Snap names the event: it goes, the rest is sent again
        assert rejected.codes == ("INVALID_CURRENCY",)
        assert [len(b["data"]) for b in bodies(snap_server)] == [5, 4]
    else:  # no index: halves of halves until the bad event is alone
        assert rejected.codes == ()
        assert [len(b["data"]) for b in bodies(snap_server)] == [5, 2, 3, 1, 2]


@pytest.mark.parametrize("answers", ["documented"], indirect=True)  # Snap names the culprit
def test_resends_are_bounded(snap_server, make_client):
    """After max_resends rejections in one batch, the rest is FAILED instead of looping."""
    for i in range(4):
        snap_server.reject(f"e{i}")
    result = make_client(max_resends=2).send([make_event(i) for i in range(6)])
    statuses = [r.status for r in result.events]
    assert statuses[:3] == [EventStatus.REJECTED] * 3
    assert statuses[3:] == [EventStatus.FAILED] * 3
    assert "gave up" in result.events[5].reason


def test_a_batch_rejected_as_a_whole(snap_server, make_client):
    """A 400 without an event index that every part of the batch gets rejects every event."""
    snap_server.script(400, {"status": "INVALID", "reason": "Malformed request"}, times=3)
    result = make_client().send([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.REJECTED] * 2
    assert result.events[0].reason == "Malformed request"


def test_bad_token_raises_with_the_results_so_far(snap_server, make_client, answers):
    """401 raises AuthenticationError; .result has a status for every event read so far."""
    client = make_client(batch_size=2)
    snap_server.token = "another-token"
    with pytest.raises(AuthenticationError) as info:
        client.send([make_event(i) for i in range(5)])
    error = info.value
    assert error.status_code == 401
    assert [r.status for r in error.result.events] == [EventStatus.FAILED] * 2
    assert "fake-snap-token" not in str(error)
    assert "another-token" not in str(error)
    assert "Invalid access token" in str(error)
    assert error.messages == ("Invalid access token",)  # a reason alone is Snap's message too
    assert error.request_id == snap_server.received[0].request_id
    assert f"Snap request id {error.request_id}" in str(error)


# --------------------------------------------------------------------------- validate & test codes


def test_validate_maps_event_logs(snap_server, make_client, answers):
    """validate() uses /events/validate; Snap's per-event verdicts become results."""
    snap_server.reject("e1", code="INVALID_VALUE", message="Value looks wrong")
    result = make_client().validate([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.ACCEPTED, EventStatus.REJECTED]
    assert result.events[1].codes == ("INVALID_VALUE",)
    assert result.events[1].reason == "Value looks wrong"
    assert {r.endpoint for r in snap_server.received} == {"validate"}
    assert snap_server.events == []
    assert len(snap_server.validated_events) == 2


def test_validation_logs_and_stats(snap_server, make_client):
    """The two GET endpoints come back as typed objects."""
    client = make_client()
    client.validate([make_event(0)])
    client.send([make_event(1)])
    logs = client.validation_logs()
    assert [log.event_name for log in logs] == ["PURCHASE"]
    assert logs[0].status == "VALID"
    stats = client.validation_stats()
    assert stats.test.event_count_past_hour == 1
    assert stats.live.event_count_past_hour == 1


def test_get_endpoints_raise_api_errors(snap_server, make_client, answers):
    """GET calls raise: AuthenticationError for 401, APIError otherwise, TransportError offline."""
    client = make_client(max_retries=0)
    snap_server.script(401)
    with pytest.raises(AuthenticationError) as info:
        client.validation_stats()
    assert info.value.request_id == snap_server.received[-1].request_id
    assert info.value.request_id in str(info.value)
    assert "Injected HTTP 401" in str(info.value)  # the reason, or the live error_msgs
    assert info.value.messages == ("Injected HTTP 401",)  # whichever shape Snap says it in
    snap_server.script(418)
    with pytest.raises(SnapCapiError, match="HTTP 418"):
        client.validation_logs()
    snap_server.script("reset")
    with pytest.raises(TransportError):
        client.validation_logs()


def test_test_event_code_goes_to_the_body_root(snap_server, make_client):
    """A test event code sits next to data; the fake, like Snap, records nothing."""
    result = make_client().send([make_event(0)], test_event_code="TEST4321")
    assert result.ok
    assert bodies(snap_server)[0]["test_event_code"] == "TEST4321"
    assert snap_server.events == []


# --------------------------------------------------------------------------- streaming & workers


def test_the_input_is_read_lazily(snap_server, make_client):
    """With one worker, the generator is never read more than a batch ahead of the wire."""
    seen = []

    def events():
        for i in range(50):
            seen.append((i, len(snap_server.received)))
            yield make_event(i)

    assert make_client(batch_size=10).send(events()).ok
    for index, requests_so_far in seen:
        assert requests_so_far == index // 10


def test_workers_keep_input_order_and_bound_reading(snap_server, make_client):
    """With 4 workers, results keep input order and at most 4 batches are in flight."""
    snap_server.latency = 0.02
    seen = []
    lock = threading.Lock()

    def events():
        for i in range(200):
            with lock:
                seen.append((i, len(snap_server.received)))
            yield make_event(i)

    result = make_client(batch_size=10, max_workers=4).send(events())
    assert [r.index for r in result.events] == list(range(200))
    assert result.ok
    for index, answered in seen:
        assert index // 10 - answered <= 4 + 1


# --------------------------------------------------------------------------- configuration


def test_https_is_required_except_on_loopback():
    """Plain http only for loopback hosts; TLS verification cannot be switched off."""
    with pytest.raises(ValidationError, match="https"):
        Client("p", "t", base_url="http://tr.snapchat.com")
    for url in ("http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"):
        Client("p", "t", base_url=url).close()
    session = requests.Session()
    session.verify = False
    with pytest.raises(ValidationError, match="TLS verification"):
        Client("p", "t", session=session)


def test_environment_fallbacks(monkeypatch):
    """SNAP_* variables fill in what is not given; explicit arguments win."""
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", "env-token")
    monkeypatch.setenv("SNAP_PIXEL_ID", "env-pixel")
    monkeypatch.setenv("SNAP_APP_ID", "env-app")
    monkeypatch.setenv("SNAP_CAPI_BASE_URL", "http://127.0.0.1:1")
    with Client() as client:
        assert (client.pixel_id, client.snap_app_id, client.base_url) == (
            "env-pixel",
            "env-app",
            "http://127.0.0.1:1",
        )
    with Client("arg-pixel", base_url="https://example.test") as client:
        assert client.pixel_id == "arg-pixel"
        assert client.base_url == "https://example.test"


def test_missing_credentials_are_clear(monkeypatch):
    """No token, or no asset id at all, is a ValidationError saying what to set."""
    for name in ("SNAP_ACCESS_TOKEN", "SNAP_PIXEL_ID", "SNAP_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="SNAP_ACCESS_TOKEN"):
        Client("pixel")
    with pytest.raises(ValidationError, match="SNAP_PIXEL_ID"):
        Client(access_token="t")
    with pytest.raises(ValidationError, match="batch_size"):
        Client("p", "t", batch_size=2001)


def test_close_is_idempotent_and_spares_injected_sessions(snap_server):
    """close() twice is fine; a session passed in is left open; a closed client refuses."""
    session = requests.Session()
    client = Client(
        snap_server.pixel_id, snap_server.token, base_url=snap_server.url, session=session
    )
    client.close()
    client.close()
    with pytest.raises(SnapCapiError, match="closed"):
        client.send([make_event(0)])
    assert session.get(snap_server.url + "/nowhere").status_code == 404
    session.close()


def test_repr_and_user_agent(snap_server, make_client):
    """The repr shows ids, never the token; requests carry a snapcapi User-Agent."""
    client = make_client()
    assert "fake-snap-token" not in repr(client)
    assert repr(client).startswith("Client(pixel_id=")
    client.send([make_event(0)])
    agent = snap_server.received[0].headers["User-Agent"]
    assert agent.startswith("snapcapi/")


# --------------------------------------------------------------------------- secrets & logs


def test_no_token_or_pii_in_any_log_record(snap_server, make_client, caplog):
    """At DEBUG, across all loggers (urllib3's included), the token and raw email never appear."""
    caplog.set_level(logging.DEBUG)
    client = make_client(max_retries=1)
    snap_server.script("reset")
    snap_server.script(503)
    snap_server.reject("e1")
    event = make_event(1, user_data=UserData(email="Jane.Secret@Example.com"))
    client.send([make_event(0), event])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline = Client(
        "p",
        snap_server.token,
        base_url=f"http://127.0.0.1:{port}",
        max_retries=1,
        sleep=lambda s: None,
    )
    result = offline.send([make_event(2)])
    offline.close()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert any(r.name == "snapcapi" and r.levelno == logging.INFO for r in caplog.records)
    assert snap_server.token not in text
    assert "jane.secret" not in text.lower()
    assert snap_server.token not in repr(result)
    assert snap_server.token not in str(result.events[0].reason)


def test_one_info_line_per_batch(snap_server, make_client, caplog):
    """The snapcapi logger writes one INFO line per batch with counts and status."""
    caplog.set_level(logging.INFO, logger="snapcapi")
    make_client(batch_size=2).send([make_event(i) for i in range(3)])
    lines = [r.getMessage() for r in caplog.records if r.name == "snapcapi"]
    assert len(lines) == 2
    assert "2 events, HTTP 200, 1 attempt," in lines[0]
    assert "accepted=2" in lines[0]


def _request_exceptions():
    found = []
    for name in dir(requests.exceptions):
        value = getattr(requests.exceptions, name)
        if isinstance(value, type) and issubclass(value, requests.RequestException):
            found.append(value)
    return sorted(found, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", _request_exceptions(), ids=lambda cls: cls.__name__)
def test_every_requests_exception_maps_to_transport_error(cls):
    """Each requests exception becomes a TransportError, cause kept, token scrubbed."""
    url = "https://tr.snapchat.com/v3/p/events?access_token=sekrit-123"
    if issubclass(cls, requests.exceptions.JSONDecodeError):
        original = cls(f"boom at {url}", "{", 0)
    else:
        original = cls(f"boom at {url}")
    error = transport_error(original, ("sekrit-123",))
    assert isinstance(error, TransportError)
    assert error.__cause__ is original
    assert "sekrit-123" not in str(error)
    assert "sekrit-123" not in str(original)
    assert "access_token=***" in str(error)


def test_chaos_every_event_reported_once_and_accepted_means_recorded(snap_server, make_client):
    """20,000 events through a seeded 20% fault rate: nothing lost, nothing double counted."""
    snap_server.faults(0.2, seed=7)
    snap_server.reject("e777")
    client = make_client(batch_size=400, max_retries=3, max_workers=2)
    result = client.send(make_event(i) for i in range(20_000))
    assert [r.index for r in result.events] == list(range(20_000))
    accepted = {r.event_id for r in result.accepted}
    assert accepted == snap_server.event_ids()
    assert len(accepted) + len(result.rejected) + len(result.failed) == 20_000
    assert result.events[777].status in (EventStatus.REJECTED, EventStatus.FAILED)
    assert len(accepted) > 19_000


def test_chaos_with_hostile_answers_accepted_means_recorded(snap_server, make_client):
    """Hostile 2xx answers among faults: an event is ACCEPTED only if the server recorded it."""
    chance = random.Random(3)
    hostile = [
        (200, b'{"status": "INVALID", "reason": "x", "err'),
        (200, b"<html><title>502 Bad Gateway</title></html>"),
        (200, b"[" * 5_000 + b"]" * 5_000),
        (200, b"[1, 2, 3]"),
        (200, b'{"error": "upstream"}'),
        (200, b'{"status": "FAILURE"}'),
        (400, {"status": "INVALID", "reason": "r" * 100_000, "event": "0"}),
        (503, {"reason": "echo access_token=" + snap_server.token}),
    ]
    for _ in range(300):
        if chance.random() < 0.3:
            status, body = chance.choice(hostile)
            snap_server.script(status, body)
        else:
            snap_server.script("process")
    client = make_client(batch_size=20, max_retries=2, max_workers=3)
    result = client.send(make_event(i) for i in range(2_000))
    assert [r.index for r in result.events] == list(range(2_000))
    assert {r.event_id for r in result.accepted} <= snap_server.event_ids()
    assert len(result.accepted) > 0
    for event in result.events:
        assert snap_server.token not in repr(event)
        assert len(event.reason or "") < 5_000
        if event.status is EventStatus.FAILED:
            assert event.reason.endswith(RESEND)


# --------------------------------------------------------------------------- stopping early


def test_a_failing_input_delivers_what_was_read_then_raises(snap_server, make_client):
    """If the events iterable raises, the events read are sent, and the error propagates."""

    def events():
        yield from (make_event(i) for i in range(3))
        raise OSError("the export file vanished")

    with pytest.raises(OSError, match="vanished") as info:
        make_client(batch_size=10).send(events())
    assert snap_server.event_ids() == {"e0", "e1", "e2"}
    assert info.value.snapcapi_result.counts["ACCEPTED"] == 3


def test_an_interrupt_reports_the_unsent_events(snap_server, make_client):
    """Ctrl-C mid-stream: no more requests; every event read is in the attached result."""

    def events():
        yield from (make_event(i) for i in range(3))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        make_client(batch_size=2).send(events())
    result = info.value.snapcapi_result
    assert [r.status for r in result.events] == [EventStatus.ACCEPTED] * 2 + [EventStatus.FAILED]
    assert result.events[2].reason.startswith("not sent")
    assert snap_server.event_ids() == {"e0", "e1"}


INTERRUPTED = "interrupted while being sent, the send stopped early (KeyboardInterrupt): it may"
NOT_SENT = "not sent: the send stopped early (KeyboardInterrupt)" + RESEND


def wait_for(condition, seconds=10.0):
    """Wait until ``condition()`` holds (a bounded wait, not a speed target)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


def sent_ids(server):
    return {e.get("event_id") for r in server.received for e in (r.body or {}).get("data", [])}


def check_interrupted(result, server, read):
    """Every event read has its id; what was not sent never reaches the server."""
    assert [r.index for r in result.events] == list(range(read))
    assert [r.event_id for r in result.events] == [f"e{i}" for i in range(read)]
    for event in result.events:
        if event.status is EventStatus.ACCEPTED:
            assert event.event_id in server.event_ids()
        else:
            assert event.status is EventStatus.FAILED
            assert event.reason.startswith(INTERRUPTED) or event.reason == NOT_SENT, event
    time.sleep(0.3)  # let the requests that were on the wire finish on the server's side
    never_sent = {r.event_id for r in result.events if r.reason == NOT_SENT}
    assert not never_sent & sent_ids(server)


def test_ctrl_c_with_workers_keeps_every_event_id_and_says_what_is_on_the_wire(
    snap_server, make_client
):
    """Ctrl-C with 4 batches on the wire: they may have reached Snap; the rest were not sent."""
    snap_server.script("process", delay=0.5, times=4)
    calls = []

    def now():  # asked once per event read, as it is prepared
        calls.append(None)
        if len(calls) == 46:  # event 45, in the fifth batch; the first four are on the wire
            wait_for(lambda: snap_server.request_count >= 4)
            raise KeyboardInterrupt
        return time.time()

    client = make_client(batch_size=10, max_workers=4, now=now)
    with pytest.raises(KeyboardInterrupt) as info:
        client.send(make_event(i) for i in range(100))
    result = info.value.snapcapi_result
    check_interrupted(result, snap_server, 46)
    assert all(r.reason.startswith(INTERRUPTED) for r in result.events[:40])
    assert all(r.reason == NOT_SENT for r in result.events[40:])
    assert snap_server.request_count == 4


def test_ctrl_c_in_on_result_with_workers_settles_the_batch_then_stops(snap_server, make_client):
    """A KeyboardInterrupt raised by on_result: its batch is recorded whole, the rest reported."""
    snap_server.latency = 0.2
    seen = []

    def progress(result):
        seen.append(result.index)
        if len(seen) == 1:
            raise KeyboardInterrupt

    client = make_client(batch_size=10, max_workers=4)
    with pytest.raises(KeyboardInterrupt) as info:
        client.send((make_event(i) for i in range(200)), on_result=progress)
    result = info.value.snapcapi_result
    check_interrupted(result, snap_server, len(result.events))
    assert sorted(seen) == list(range(len(result.events)))  # every result heard, once
    assert [r.status for r in result.events[:10]] == [EventStatus.ACCEPTED] * 10


def test_ctrl_c_at_any_instant_with_workers_loses_no_event_id(snap_server, make_client):
    """SIGINT at seeded random instants of a 4-worker send: every event read keeps its id."""
    main = threading.main_thread().ident
    armed = threading.Event()

    def interrupt(signum, frame):
        if armed.is_set():
            armed.clear()
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    chance = random.Random(11)
    events = [make_event(i) for i in range(850)]
    try:
        for _ in range(12):
            snap_server.reset()
            snap_server.latency = chance.choice([0.0, 0.005, 0.02])
            client = make_client(batch_size=50, max_workers=4)
            timer = threading.Timer(chance.uniform(0.0, 0.2), signal.pthread_kill,
                                    (main, signal.SIGINT))  # fmt: skip
            armed.set()
            timer.start()
            try:
                client.send(iter(events))
            except KeyboardInterrupt as exc:
                check_interrupted(exc.snapcapi_result, snap_server, len(exc.snapcapi_result))
            finally:
                armed.clear()
                timer.cancel()
                timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_refused_token_keeps_the_statuses_settled_before_it(snap_server, make_client):
    """A 401 after a rejection or a 413 half: .result keeps what Snap had already decided."""
    snap_server.script(400, {"status": "INVALID", "reason": "bad", "event": 1})
    snap_server.script(401)
    with pytest.raises(AuthenticationError) as info:
        make_client().send([make_event(i) for i in range(3)])
    statuses = [r.status for r in info.value.result.events]
    assert statuses == [EventStatus.FAILED, EventStatus.REJECTED, EventStatus.FAILED]

    snap_server.reset()
    snap_server.script(413)
    snap_server.script(200, {"status": "VALID", "reason": "ok"})
    snap_server.script(401)
    with pytest.raises(AuthenticationError) as info:
        make_client().send([make_event(i) for i in range(4)])
    statuses = [r.status for r in info.value.result.events]
    assert statuses == [EventStatus.ACCEPTED] * 2 + [EventStatus.FAILED] * 2


def test_auth_failure_with_workers_reports_every_event_read(snap_server, make_client):
    """With several workers, a 401 still leaves one result per event read, none twice."""
    client = make_client(batch_size=2, max_workers=3)
    snap_server.token = "another-token"
    with pytest.raises(AuthenticationError) as info:
        client.send(make_event(i) for i in range(40))
    results = info.value.result.events
    assert [r.index for r in results] == list(range(len(results)))
    assert {r.status for r in results} == {EventStatus.FAILED}
    assert all(r.event_id for r in results)


# --------------------------------------------------------------------------- odd answers


@pytest.mark.parametrize(
    "body",
    [
        {"status": "INVALID", "errors": {"codes": "BAD_THING", "error_msgs": 5}, "event": True},
        {"status": "INVALID", "errors": ["not", "a", "mapping"], "reason": 7},
        "[" * 100_000 + "]" * 100_000,
        "<html>bad gateway</html>",
        [1, 2, 3],
    ],
    ids=["scalar-codes", "list-errors", "deep-json", "html", "list-body"],
)
def test_odd_error_bodies_reject_the_batch_cleanly(snap_server, make_client, body):
    """Whatever shape a 400 body has, the events end REJECTED; nothing else is raised."""
    snap_server.script(400, body, times=3)  # the batch, then each half while isolating
    result = make_client().send([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.REJECTED] * 2
    if isinstance(body, dict) and isinstance(body["errors"], dict):
        assert result.events[0].codes == ("BAD_THING",)
        assert result.events[0].messages == ()


def test_a_200_saying_invalid_is_not_accepted(snap_server, make_client):
    """A 2xx whose body says INVALID is a rejection, not a success."""
    snap_server.script(200, {"status": "INVALID", "reason": "Insufficient PII", "event": 0})
    result = make_client().send([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.REJECTED, EventStatus.ACCEPTED]
    assert result.events[0].reason == "Insufficient PII"


def test_redirects_are_not_followed(snap_server, make_client, sleeps):
    """A 3xx is final and never followed: the token must not travel to another URL."""
    snap_server.script(302, "", headers={"Location": snap_server.url + "/elsewhere"})
    result = make_client().send([make_event(0)])
    assert result.events[0].status is EventStatus.REJECTED
    assert "redirect" in result.events[0].reason
    assert len(snap_server.received) == 1
    assert sleeps == []


def test_odd_validate_logs_and_stats_are_read_safely(snap_server, make_client):
    """Validate logs and stats with odd field types still come back as results, not errors."""
    snap_server.script(
        200,
        {"status": "VALID", "event_logs": [
            {"event": 0, "status": "VALID", "warnings": "old event"},
            {"event": 1, "status": "INVALID", "errors": {"codes": None, "error_msgs": ["x"]}},
        ]},
    )  # fmt: skip
    result = make_client().validate([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.ACCEPTED, EventStatus.REJECTED]
    assert result.events[0].warnings == ("old event",)
    snap_server.script(
        200, {"stats": {"test": {"event_count_past_hour": "many", "latest_event_ts": [1]}}}
    )
    stats = make_client().validation_stats()
    assert stats.test.event_count_past_hour == 0
    assert stats.live.latest_event_ts == 0


# --------------------------------------------------------------------------- retry edges


def test_every_5xx_is_retried(snap_server, make_client, sleeps):
    """501, 507 and 599 are retried like 500."""
    for status in (501, 507, 599):
        snap_server.script(status)
    result = make_client().send([make_event(0)])
    assert result.ok
    assert result.events[0].attempts == 4


def test_retry_after_as_an_http_date(snap_server, make_client, sleeps):
    """Retry-After in its HTTP-date form waits until that moment (by the injected clock)."""
    from email.utils import formatdate

    now = 1_800_000_000.0
    snap_server.script(503, headers={"Retry-After": formatdate(now + 20, usegmt=True)})
    snap_server.script(503, headers={"Retry-After": "not a date"})
    client = make_client(now=lambda: now, backoff_base=0.01)
    client.send([make_event(0, event_time=int(now) - 60)])
    assert 19.0 <= sleeps[0] <= 20.0
    assert sleeps[1] <= 0.02


def test_non_transient_request_errors_are_not_retried(snap_server, make_client, sleeps):
    """An invalid URL or header fails at once: retrying cannot help."""

    class Broken(requests.Session):
        def request(self, *args, **kwargs):
            raise requests.exceptions.InvalidHeader("bad header in https://x/?access_token=t0k")

    result = make_client(session=Broken()).send([make_event(0)])
    assert result.events[0].status is EventStatus.FAILED
    assert result.events[0].attempts == 1
    assert "t0k" not in result.events[0].reason
    assert sleeps == []


def test_backoff_settings_are_checked_and_capped(snap_server, make_client):
    """Negative backoff settings are refused; a huge attempt number does not overflow."""
    with pytest.raises(ValidationError, match="backoff_base"):
        make_client(backoff_base=-1)
    policy = RetryPolicy(backoff_base=1.0, backoff_max=30.0)
    assert 0 <= policy.delay(10_000) <= 30.0


def test_owned_session_pools_a_connection_per_worker(snap_server, make_client):
    """The session the client makes keeps as many connections as there are workers."""
    client = make_client(max_workers=16)
    adapter = client._http.session.get_adapter(snap_server.url)
    assert adapter._pool_maxsize == 16


@pytest.mark.parametrize("answers", ["documented"], indirect=True)  # Snap names the culprit
def test_the_info_line_counts_events_given_up(snap_server, make_client, caplog):
    """When re-sending stops at max_resends, the INFO line counts the FAILED ones too."""
    caplog.set_level(logging.INFO, logger="snapcapi")
    snap_server.reject("e0")
    snap_server.reject("e1")
    result = make_client(max_resends=1).send([make_event(i) for i in range(4)])
    assert [r.status for r in result.events][2:] == [EventStatus.FAILED] * 2
    assert "safe to resend" in result.events[3].reason
    lines = [r.getMessage() for r in caplog.records if r.name == "snapcapi"]
    assert "rejected=1, failed=2" in lines[-1]


def test_scrubbing_clears_urls_held_by_requests_and_responses():
    """The token leaves no trace in an exception's request, response or wrapped urllib3 error."""
    import urllib3

    url = "https://tr.snapchat.com/v3/p/events?access_token=sekrit-123"
    response = requests.Response()
    response.url = url
    inner = urllib3.exceptions.MaxRetryError(
        None, url, urllib3.exceptions.NewConnectionError(None, f"failed for {url}")
    )
    original = requests.exceptions.TooManyRedirects(inner, response=response)
    original.request = requests.Request("POST", url).prepare()
    error = transport_error(original, ("sekrit-123",))
    assert original.response is None
    assert original.request is None
    assert inner.url.endswith("access_token=***")
    seen, stack = [], [error]
    while stack:
        exc = stack.pop()
        seen.append(exc)
        stack.extend(a for a in exc.args if isinstance(a, BaseException))
        stack.extend(e for e in (exc.__cause__, exc.__context__, getattr(exc, "reason", None))
                     if isinstance(e, BaseException) and e not in seen)  # fmt: skip
    assert not any("sekrit-123" in repr(exc) or "sekrit-123" in str(exc) for exc in seen)


def test_on_result_streams_results_and_keep_results_false_keeps_only_counts(
    snap_server, make_client
):
    """on_result sees every result once; keep_results=False keeps counts, not results."""
    seen = []
    events = [make_event(i) for i in range(5)] + [make_event(5, user_data=UserData())]
    result = make_client(batch_size=2).send(events, on_result=seen.append, keep_results=False)
    assert sorted(r.index for r in seen) == list(range(6))
    assert [r.status for r in seen if r.index == 5] == [EventStatus.INVALID]
    assert result.counts["ACCEPTED"] == 5
    assert result.counts["INVALID"] == 1
    assert len(result) == 6
    with pytest.raises(LookupError, match="keep_results=False"):
        result.events[0]


# --------------------------------------------------------------------------- the client's face


def test_a_closed_client_raises_client_closed_error(snap_server, make_client):
    """Every call on a closed client raises ClientClosedError, a SnapCapiError and RuntimeError."""
    client = make_client()
    client.close()
    calls = (
        lambda: client.send([make_event(0)]),
        lambda: client.validate([make_event(0)]),
        client.validation_logs,
        client.validation_stats,
    )
    for call in calls:
        with pytest.raises(ClientClosedError, match="closed") as info:
            call()
        assert isinstance(info.value, SnapCapiError)
        assert isinstance(info.value, RuntimeError)
    assert snap_server.request_count == 0


def test_clients_compare_by_identity(snap_server, make_client):
    """Two clients with the same options are different objects; a client is hashable."""
    first, second = make_client(), make_client()
    assert first == first
    assert first != second
    assert len({first, second, first}) == 2


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("timeout", -1.0),
        ("timeout", float("nan")),
        ("timeout", "10"),
        ("max_retries", -1),
        ("max_resends", -1),
        ("max_resends", 2.5),
        ("max_workers", 0),
        ("max_isolation_requests", -1),
        ("batch_size", 0),
        ("batch_size", 2001),
        ("max_batch_bytes", 1000),
        ("backoff_base", -1),
        ("backoff_max", -0.5),
        ("retry_after_max", -1),
        ("auth", "token"),
    ],
)
def test_each_option_error_names_that_option(option, value):
    """A bad option is a ValidationError naming it, and only it."""
    with pytest.raises(ValidationError) as info:
        Client("p", "t", **{option: value})
    assert info.value.field == option
    others = {"timeout", "max_retries", "max_resends", "max_workers", "backoff_base"} - {option}
    assert not any(name in info.value.reason for name in others)


def test_a_missing_pixel_id_speaks_each_interface(snap_server):
    """An OFFLINE event without a Pixel ID: the event by its id, advice for Python and the CLI."""
    client = Client(
        access_token=snap_server.token,
        snap_app_id=snap_server.snap_app_id,
        base_url=snap_server.url,
    )
    offline = make_event(7, action_source="OFFLINE", event_source_url=None, event_id="order-7")
    with client, pytest.raises(ValidationError) as info:
        client.send([offline])
    error = info.value
    assert error.field == "pixel_id"
    assert error.remedy is not None
    assert (error.remedy.argument, error.remedy.flag) == ("pixel_id", "--pixel-id")
    assert "'order-7'" in error.problem
    assert "Client(" not in error.explain("cli")
    assert "pass --pixel-id ID" in error.explain("cli")
    assert "give pixel_id='YOUR_PIXEL_ID'" in str(error)
    assert error.result.events[0].reason == error.problem
    assert "pixel_id" not in error.problem


def test_results_keep_snap_request_ids(snap_server, make_client, answers):
    """Each result carries the id of the last request about it, also in to_dict."""
    snap_server.reject("e1")
    result = make_client(batch_size=2).send([make_event(i) for i in range(3)])
    ids = [received.request_id for received in snap_server.received]
    assert all(ids)
    by_event = {r.event_id: r.request_id for r in result.events}
    assert by_event["e2"] == ids[-1]
    assert by_event["e1"] in ids
    assert result.events[0].to_dict()["request_id"] == result.events[0].request_id
    assert result.to_records()[2]["request_id"] == ids[-1]


def test_reasons_count_attempts_in_the_singular(snap_server, make_client, sleeps):
    """One attempt is "1 attempt", in the reason of HTTP and transport failures alike."""
    snap_server.script(500)
    result = make_client(max_retries=0).send([make_event(0)])
    assert result.events[0].reason == "HTTP 500 after 1 attempt" + RESEND
    snap_server.script("reset")
    result = make_client(max_retries=0).send([make_event(1)])
    assert result.events[0].reason.endswith("(after 1 attempt)" + RESEND)


def test_the_live_400_for_one_event_keeps_snap_s_message(snap_server, make_client):
    """Snap's live body is read: the reason is its message, not "HTTP 400"."""
    live = {
        "status": "INVALID",
        "error_msgs": ["Param data['event_time'] is an invalid Unix timestamp."],
    }
    snap_server.script(400, live)
    result = make_client().send([make_event(0)])
    event = result.events[0]
    assert event.status is EventStatus.REJECTED
    assert event.reason == "Param data['event_time'] is an invalid Unix timestamp."
    assert event.messages == tuple(live["error_msgs"])


# --------------------------------------------------------------------------- on_result raising


@pytest.mark.parametrize("workers", [1, 2])
def test_on_result_raising_keeps_the_batch_s_results(snap_server, make_client, workers):
    """The batch at hand is recorded whole, then on_result's error raises, with every result."""
    seen = []

    def progress(result):
        seen.append(result.index)
        if len(seen) == 3:
            raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke") as info:
        make_client(batch_size=5, max_workers=workers).send(
            (make_event(i) for i in range(5)), on_result=progress
        )
    results = info.value.snapcapi_result.events
    assert [r.status for r in results] == [EventStatus.ACCEPTED] * 5
    assert [r.event_id for r in results] == [f"e{i}" for i in range(5)]
    assert snap_server.event_ids() == {f"e{i}" for i in range(5)}
    assert sorted(seen) == list(range(5))  # each result once, the ones after the error too


def test_on_result_raising_again_while_stopping_still_attaches_the_result(snap_server, make_client):
    """A callback broken for good: its first error is raised, the result attached anyway."""
    seen = []

    def sink(result):
        seen.append(result.index)
        raise RuntimeError(f"broken sink #{len(seen)}")

    with pytest.raises(RuntimeError) as info:
        make_client(batch_size=5, max_workers=4).send(
            (make_event(i) for i in range(40)), on_result=sink
        )
    assert str(info.value) == "broken sink #1"
    result = info.value.snapcapi_result
    assert [r.index for r in result.events] == list(range(len(result.events)))
    assert sorted(seen) == list(range(len(result.events)))  # each once
    assert {r.event_id for r in result.accepted} == snap_server.event_ids()
    assert all(r.event_id for r in result.events)


# --------------------------------------------------------------------------- small things


@pytest.mark.parametrize(
    ("option", "value", "kept"),
    [
        ("batch_size", 500.0, 500),
        ("max_batch_bytes", 1e6, 1_000_000),
        ("max_retries", 3.0, 3),
        ("max_workers", 2.0, 2),
        ("max_isolation_requests", 0.0, 0),
    ],
)
def test_whole_number_floats_are_taken_as_integers(option, value, kept):
    """batch_size=500.0 is 500, as it always was: an int, not a float."""
    with Client("p", "t", **{option: value}) as client:
        found = getattr(client, option)
    assert found == kept
    assert type(found) is int


@pytest.mark.parametrize(
    ("option", "value"),
    [("batch_size", 500.5), ("max_retries", True), ("max_workers", "2"), ("batch_size", 1e300)],
)
def test_other_non_integers_are_refused_naming_the_option(option, value):
    """A fraction, a bool or a string is still a ValidationError naming the option."""
    with pytest.raises(ValidationError) as info:
        Client("p", "t", **{option: value})
    assert info.value.field == option


def test_a_closed_client_cannot_be_entered_again(snap_server, make_client):
    """``with closed_client:`` raises ClientClosedError at once."""
    client = make_client()
    client.close()
    with pytest.raises(ClientClosedError, match="make a new Client"), client:
        pass


def test_the_missing_asset_error_gives_the_event_s_position(snap_server):
    """The app event without a Snap App ID is named by its name, id and input index."""
    client = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    with client, pytest.raises(ValidationError) as info:
        client.send([make_event(0), make_event(1), make_event(2), make_app_event(3)])
    assert "the APP_OPEN event 'app3' (input index 3)" in info.value.problem
    assert info.value.result.events[3].reason == info.value.problem


def test_a_404_without_snap_s_answer_points_at_the_base_url(sleeps):
    """A host that is not Snap's (an HTML Not Found) says the URL may be wrong, not just the id."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotSnap(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            page = b"<html><body>Not Found</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotSnap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = Client(pixel_id="p1", access_token="t", base_url=url, sleep=sleeps.append)
        with client, pytest.raises(UnknownAssetError) as info:
            client.send([make_event(0)])
    finally:
        server.shutdown()
        server.server_close()
    error = info.value
    assert error.from_snap is False
    assert "the base URL may be wrong" in str(error)
    assert "base_url=" in str(error)
    assert "pixel_id=" in str(error)
    assert "pass --base-url https://tr.snapchat.com" in error.explain("cli")
    assert "Snap does not know" not in str(error)
    assert info.value.result.events[0].status is EventStatus.FAILED
