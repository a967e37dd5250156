"""FakeSnapServer: Snap's documented checks and answers, recording and fault injection."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests
from conftest import make_event

from snapcapi.testing import FakeSnapServer

HASH = hashlib.sha256(b"person@example.com").hexdigest()


def good(**overrides):
    event = {
        "event_name": "PURCHASE",
        "event_time": int(time.time()),
        "action_source": "WEB",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "e1",
        "user_data": {"em": [HASH]},
        "custom_data": {"value": 1, "currency": "USD"},
    }
    event.update(overrides)
    return event


def post(server, data, *, token=None, asset=None, path="events"):
    url = f"{server.url}/v3/{asset or server.pixel_id}/{path}"
    return requests.post(url, params={"access_token": token or server.token}, json=data, timeout=5)


def test_accepts_a_good_event_with_snaps_success_body(snap_server):
    """A valid event gets 200 and Snap's documented success body, and is recorded."""
    response = post(snap_server, {"data": [good()]})
    assert response.status_code == 200
    assert response.json() == {
        "status": "VALID",
        "reason": "Events have been processed successfully.",
    }
    assert snap_server.event_ids() == {"e1"}


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (good(event_name="Purchase"), "INVALID_EVENT_NAME"),
        (good(action_source="website"), "INVALID_ACTION_SOURCE"),
        (good(user_data={"em": ["person@example.com"]}), "UNHASHED_PII"),
        (good(user_data={"client_ip_address": "203.0.113.7"}), "INSUFFICIENT_PII"),
        (good(custom_data={"value": 1}), "MISSING_PRICE_CURRENCY"),
        (good(event_source_url=None), "MISSING_REQUIRED_FIELD"),
        (good(action_source="MOBILE_APP", user_data={"madid": "m"}), "MISSING_REQUIRED_FIELD"),
        (good(event_time=int(time.time()) - 38 * 86400), "TIMESTAMP_OUT_OF_RANGE"),
        (good(event_time=int(time.time()) + 3600), "TIMESTAMP_OUT_OF_RANGE"),
        ({k: v for k, v in good().items() if k != "event_time"}, "MISSING_REQUIRED_FIELD"),
    ],
)
def test_rejects_what_snap_documents_naming_the_event(snap_server, event, code):
    """An invalid event gets 400 INVALID naming its index, with codes and messages."""
    response = post(snap_server, {"data": [good(event_id="ok"), event]})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "INVALID"
    assert body["event"] == 1
    assert code in body["errors"]["codes"]
    assert snap_server.events == []


def test_batch_limits_tokens_and_assets(snap_server):
    """At most 2000 events; a bad token is 401, an unknown asset 404; app events need the app id."""
    assert post(snap_server, {"data": [good()] * 2001}).status_code == 400
    assert post(snap_server, {"data": [good()]}, token="nope").status_code == 401
    assert post(snap_server, {"data": [good()]}, asset="unknown").status_code == 404
    app = good(action_source="MOBILE_APP")
    assert "INVALID_ASSET" in post(snap_server, {"data": [app]}).json()["errors"]["codes"]


def test_validate_endpoint_returns_event_logs(snap_server):
    """/events/validate judges every event and records nothing as a conversion."""
    response = post(snap_server, {"data": [good(), good(event_name="x")]}, path="events/validate")
    body = response.json()
    assert [log["status"] for log in body["event_logs"]] == ["VALID", "INVALID"]
    assert body["test_event"] is True
    assert snap_server.events == []
    assert len(snap_server.validated_events) == 2


def test_get_endpoints(snap_server):
    """Logs and stats answer in Snap's documented shapes."""
    post(snap_server, {"data": [good()]}, path="events/validate")
    params = {"access_token": snap_server.token}
    base = f"{snap_server.url}/v3/{snap_server.pixel_id}/events/validate"
    logs = requests.get(f"{base}/logs", params=params, timeout=5).json()
    assert logs["status"] == "SUCCESS"
    assert logs["logs"][0]["event_name"] == "PURCHASE"
    stats = requests.get(f"{base}/stats", params=params, timeout=5).json()
    assert stats["stats"]["test"]["event_count_past_hour"] == 1


def test_script_faults_latency_and_reset(snap_server):
    """Scripted answers come first, then random faults, and reset() forgets everything."""
    snap_server.script(503, headers={"Retry-After": "2"})
    first = post(snap_server, {"data": [good()]})
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "2"
    snap_server.script("reset")
    with pytest.raises(requests.ConnectionError):
        post(snap_server, {"data": [good()]})
    snap_server.faults(1.0, seed=1, kinds=[500])
    assert post(snap_server, {"data": [good()]}).status_code == 500
    snap_server.reset()
    assert snap_server.received == []
    snap_server.latency = 0.05
    started = time.monotonic()
    assert post(snap_server, {"data": [good()]}).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_duplicates_are_recorded_and_deduplicated_view(snap_server):
    """Every arrival is kept; unique_events() keeps the first per event_id, as Snap dedupes."""
    post(snap_server, {"data": [good(), good(custom_data={"value": 2, "currency": "USD"})]})
    assert len(snap_server.events) == 2
    assert snap_server.unique_events()["e1"]["custom_data"]["value"] == 1


def test_the_token_is_not_recorded_and_nothing_is_printed(snap_server, capsys):
    """Recorded requests keep no token; the server does not write request lines to stderr."""
    post(snap_server, {"data": [good()]})
    received = snap_server.received[0]
    assert snap_server.token not in repr(received)
    assert capsys.readouterr().err == ""


def test_lifecycle():
    """start/stop are idempotent; the URL is only available while running."""
    server = FakeSnapServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    server.start()
    assert server.url.startswith("http://127.0.0.1:")
    assert "FakeSnapServer(http://127.0.0.1" in repr(server)
    server.stop()
    server.stop()
    assert "stopped" in repr(server)


def test_fixture_is_registered(pytestconfig, snap_server):
    """The snap_server fixture comes from the plugin snapcapi registers with pytest."""
    assert pytestconfig.pluginmanager.has_plugin("snapcapi")
    assert isinstance(snap_server, FakeSnapServer)
    assert make_event(0).event_id == "e0"


def test_web_and_app_requirements(snap_server):
    """WEB events need event_source_url; app events need a 16-value extinfo."""
    app = good(
        action_source="MOBILE_APP",
        user_data={"madid": "6d92078a-8246-4ba4-ae5b-76104861e7dc"},
        app_data={"extinfo": ["i2"] + [""] * 15},
    )
    del app["event_source_url"]
    assert post(snap_server, {"data": [app]}, asset=snap_server.snap_app_id).status_code == 200
    app["app_data"] = {"extinfo": ["i2", "x"]}
    assert post(snap_server, {"data": [app]}, asset=snap_server.snap_app_id).status_code == 400


def test_validation_logs_say_how_events_were_judged(snap_server):
    """The logs endpoint reports INVALID events with their errors, not everything VALID."""
    post(snap_server, {"data": [good(), good(event_name="Nope")]}, path="events/validate")
    response = requests.get(
        f"{snap_server.url}/v3/{snap_server.pixel_id}/events/validate/logs",
        params={"access_token": snap_server.token},
        timeout=5,
    )
    logs = response.json()["logs"]
    assert [log["status"] for log in logs] == ["VALID", "INVALID"]
    assert logs[1]["error_records"] == ["Unrecognized event type 'Nope'"]


def test_events_without_id_are_kept_apart(snap_server):
    """Events without event_id cannot be de-duplicated: each one stays."""
    first, second = good(), good()
    del first["event_id"], second["event_id"]
    post(snap_server, {"data": [first, second, good()]})
    assert len(snap_server.unique_events()) == 3
    assert snap_server.event_ids() == {"e1"}


def test_scripted_slow_success(snap_server):
    """script("process", delay=...) answers late but processes the request."""
    snap_server.script("process", delay=0.2)
    started = time.monotonic()
    response = post(snap_server, {"data": [good()]})
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert snap_server.event_ids() == {"e1"}


def _read_to_end(sock):
    answer = b""
    while chunk := sock.recv(1024):
        answer += chunk
    return answer


def test_reset_is_a_tcp_reset(snap_server):
    """A scripted reset drops the connection with RST: the client sees a reset, no answer."""
    import socket

    snap_server.script("reset")
    host, port = snap_server.url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /v3/x/events/validate/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            _read_to_end(sock)


def test_bad_content_length_gets_400(snap_server):
    """A request with an unreadable Content-Length is refused, not a server crash."""
    import socket

    host, port = snap_server.url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v3/x/events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        answer = _read_to_end(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Bad Content-Length" in answer


def test_stop_closes_keep_alive_connections():
    """After stop(), a pooled keep-alive connection is closed, so clients do not hang."""
    server = FakeSnapServer().start()
    session = requests.Session()
    url = f"{server.url}/v3/{server.pixel_id}/events/validate/stats"
    assert session.get(url, params={"access_token": server.token}, timeout=5).ok
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, params={"access_token": server.token}, timeout=5)
    session.close()
