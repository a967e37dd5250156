"""FakeSnapServer: Snap's documented checks and answers, recording and fault injection."""

from __future__ import annotations

import concurrent.futures
import hashlib
import re
import socket
import ssl
import time
import zlib

import pytest
import requests
from conftest import make_event, self_signed_certificate

from snapcapi import ValidationError
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


def post(server, data, *, token=None, asset=None, path="events", timeout=5.0):
    url = f"{server.url}/v3/{asset or server.pixel_id}/{path}"
    params = {"access_token": token or server.token}
    return requests.post(url, params=params, json=data, timeout=timeout)


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


@pytest.mark.parametrize("snap_server", ["documented", "live"], indirect=True)
def test_the_fixture_takes_the_answer_shape_indirectly(snap_server, request):
    """Parametrizing snap_server indirectly chooses its answer shape."""
    assert snap_server.answers == request.node.callspec.params["snap_server"]
    body = post(snap_server, {"data": [bad("b")]}).json()
    assert ("event" in body) is (snap_server.answers == "documented")


def test_the_fixture_answers_in_the_documented_shape_by_default(snap_server):
    """Without a parameter the fixture's server uses the documented shape."""
    assert snap_server.answers == "documented"


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


# --------------------------------------------------------------------------- answer shapes

HEX32 = re.compile(r"[0-9a-f]{32}")


def bad(event_id, **overrides):
    """An event with two problems: an unknown name and an unhashed email."""
    return good(
        event_id=event_id, event_name="Nope", user_data={"em": ["x@example.com"]}, **overrides
    )


def test_answers_must_be_one_of_the_two_shapes():
    """answers= at construction, the attribute and script() refuse other values, naming answers."""
    with pytest.raises(ValidationError, match="answers") as raised:
        FakeSnapServer(answers="real")
    assert isinstance(raised.value, ValueError)
    server = FakeSnapServer()
    with pytest.raises(ValidationError, match="answers"):
        server.answers = "Live"
    with pytest.raises(ValidationError, match="answers"):
        server.script(400, answers="both")
    assert server.answers == "documented"
    assert FakeSnapServer(answers="live").answers == "live"


def test_live_shape_refuses_with_top_level_error_msgs_of_the_first_bad_event():
    """Live: 400 with only status and the first bad event's messages; nothing is recorded."""
    with FakeSnapServer(answers="live") as server:
        response = post(server, {"data": [good(event_id="ok"), bad("b1"), bad("b2")]})
        assert response.status_code == 400
        assert response.json() == {
            "status": "INVALID",
            "error_msgs": ["Unrecognized event type 'Nope'", "Unhashed PII in em"],
        }
        assert server.events == []
        assert server.event_ids() == set()
        assert server.accepted_count == 0


def test_documented_shape_names_the_event_and_carries_the_request_id(snap_server):
    """Documented: reason, event index, codes and messages, and request_id equal to the header."""
    response = post(snap_server, {"data": [good(event_id="ok"), bad("b1")]})
    body = response.json()
    assert body == {
        "status": "INVALID",
        "reason": "Unrecognized event type 'Nope'",
        "event": 1,
        "errors": {
            "codes": ["INVALID_EVENT_NAME", "UNHASHED_PII"],
            "error_msgs": ["Unrecognized event type 'Nope'", "Unhashed PII in em"],
        },
        "request_id": response.headers["X-Request-Id"],
    }
    assert HEX32.fullmatch(body["request_id"])
    assert snap_server.received[-1].request_id == body["request_id"]


@pytest.mark.parametrize("answers", ["documented", "live"])
def test_success_body_is_the_same_in_both_shapes(answers):
    """A good request gets Snap's 200 VALID body whatever the shape, and is recorded."""
    with FakeSnapServer(answers=answers) as server:
        response = post(server, {"data": [good()]})
        assert response.status_code == 200
        assert response.json() == {
            "status": "VALID",
            "reason": "Events have been processed successfully.",
        }
        assert server.event_ids() == {"e1"}


def test_answers_can_change_while_running(snap_server):
    """Setting server.answers on a running server changes the next answers' shape."""
    assert "event" in post(snap_server, {"data": [bad("b")]}).json()
    snap_server.answers = "live"
    assert post(snap_server, {"data": [bad("b")]}).json() == {
        "status": "INVALID",
        "error_msgs": ["Unrecognized event type 'Nope'", "Unhashed PII in em"],
    }
    snap_server.answers = "documented"
    assert post(snap_server, {"data": [bad("b")]}).json()["event"] == 0


def test_reject_in_the_live_shape_puts_the_message_in_error_msgs():
    """reject() works in the live shape: its message is in the top-level error_msgs."""
    with FakeSnapServer(answers="live") as server:
        server.reject("e2", code="BAD", message="Param data['event_time'] is invalid")
        response = post(server, {"data": [good(event_id="e1"), good(event_id="e2")]})
        assert response.status_code == 400
        assert response.json() == {
            "status": "INVALID",
            "error_msgs": ["Param data['event_time'] is invalid"],
        }
        assert server.events == []
        assert post(server, {"data": [good(event_id="e1")]}).status_code == 200


def test_scripted_errors_without_body_follow_the_shape(snap_server):
    """A scripted error gets Snap's body in the server's shape, or in the script's answers."""
    snap_server.script(503)
    first = post(snap_server, {"data": [good()]})
    assert first.json() == {
        "status": "INVALID",
        "reason": "Injected HTTP 503",
        "request_id": first.headers["X-Request-Id"],
    }
    snap_server.script(400, answers="live")
    assert post(snap_server, {"data": [good()]}).json() == {
        "status": "INVALID",
        "error_msgs": ["Injected HTTP 400"],
    }
    snap_server.answers = "live"
    snap_server.script(500)
    snap_server.script(502, answers="documented")
    assert post(snap_server, {"data": [good()]}).json() == {
        "status": "INVALID",
        "error_msgs": ["Injected HTTP 500"],
    }
    assert post(snap_server, {"data": [good()]}).json()["reason"] == "Injected HTTP 502"
    snap_server.script(400, {"anything": 1}, answers="live")
    assert post(snap_server, {"data": [good()]}).json() == {"anything": 1}


def test_a_scripted_process_answers_in_the_scripts_shape(snap_server):
    """script("process", answers="live") processes the request and refuses in the live shape."""
    snap_server.script("process", answers="live")
    assert post(snap_server, {"data": [bad("b")]}).json() == {
        "status": "INVALID",
        "error_msgs": ["Unrecognized event type 'Nope'", "Unhashed PII in em"],
    }
    assert post(snap_server, {"data": [bad("b")]}).json()["event"] == 0


def test_live_shape_for_errors_that_name_no_event():
    """Live: a bad token, an unknown asset and a batch limit also answer with error_msgs only."""
    with FakeSnapServer(answers="live") as server:
        assert post(server, {"data": [good()]}, token="nope").json() == {
            "status": "INVALID",
            "error_msgs": ["Invalid access token"],
        }
        assert post(server, {"data": [good()]}, asset="unknown").json() == {
            "status": "INVALID",
            "error_msgs": ["Unknown asset id"],
        }
        assert post(server, {"data": [good()] * 2001}).json() == {
            "status": "INVALID",
            "error_msgs": ["A request may carry at most 2000 events"],
        }


def test_validate_and_get_endpoints_keep_the_documented_shape_when_live():
    """Live: /events/validate still answers event_logs (no request_id); logs and stats as ever."""
    with FakeSnapServer(answers="live") as live, FakeSnapServer() as documented:
        answers = []
        for server in (live, documented):
            data = {"data": [good(), good(event_name="x")]}
            response = post(server, data, path="events/validate")
            assert response.status_code == 400
            answers.append(response.json())
        request_id = answers[1].pop("request_id")
        assert HEX32.fullmatch(request_id)
        assert answers[0] == answers[1]
        assert [log["status"] for log in answers[0]["event_logs"]] == ["VALID", "INVALID"]
        base = f"{live.url}/v3/{live.pixel_id}/events/validate"
        params = {"access_token": live.token}
        logs = requests.get(f"{base}/logs", params=params, timeout=5).json()
        assert [log["status"] for log in logs["logs"]] == ["VALID", "INVALID"]
        stats = requests.get(f"{base}/stats", params=params, timeout=5).json()
        assert stats["stats"]["test"]["event_count_past_hour"] == 2


# --------------------------------------------------------------------------- request ids


def test_every_response_carries_a_unique_request_id(snap_server):
    """Successes, refusals, scripted answers and GETs each carry a fresh 32-hex X-Request-Id."""
    snap_server.script(503)
    responses = [
        post(snap_server, {"data": [good()]}),
        post(snap_server, {"data": [good()]}),
        post(snap_server, {"data": [bad("b")]}),
        post(snap_server, {"data": [good()]}, token="nope"),
        post(snap_server, {"data": [good()]}, asset="unknown"),
        requests.get(f"{snap_server.url}/nowhere", timeout=5),
        requests.get(
            f"{snap_server.url}/v3/{snap_server.pixel_id}/events/validate/stats",
            params={"access_token": snap_server.token},
            timeout=5,
        ),
    ]
    ids = [response.headers["X-Request-Id"] for response in responses]
    assert all(HEX32.fullmatch(request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)
    assert [received.request_id for received in snap_server.received] == ids
    assert [r.status_code for r in responses] == [503, 200, 400, 401, 404, 404, 200]


def test_a_scripted_request_id_replaces_the_fakes(snap_server):
    """An X-Request-Id given to script() is the one sent, recorded and put in the body."""
    snap_server.script(500, headers={"x-request-id": "snap-123"})
    response = post(snap_server, {"data": [good()]})
    assert response.headers["X-Request-Id"] == "snap-123"
    assert response.json()["request_id"] == "snap-123"
    assert snap_server.received[-1].request_id == "snap-123"


# --------------------------------------------------------------------------- request count


def test_request_count_counts_every_request():
    """Scripted, fault, reset, unreadable and refused requests all count, with record=False too."""
    with FakeSnapServer(record=False) as server:
        assert server.request_count == 0
        post(server, {"data": [good()]})
        server.script(503)
        post(server, {"data": [good()]})
        server.script("reset")
        with pytest.raises(requests.ConnectionError):
            post(server, {"data": [good()]})
        server.faults(1.0, kinds=[500])
        post(server, {"data": [good()]})
        server.faults(0.0)
        post(server, {"data": [good()]}, token="nope")
        host, port = server.url.rsplit("/", 1)[-1].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /v3/x/events HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
            answer = _read_to_end(sock)
        assert b"X-Request-Id: " in answer
        assert server.request_count == 6
        server.reset()
        assert server.request_count == 0


def test_request_count_is_exact_under_concurrent_requests(snap_server):
    """Requests from many threads at once are each counted once."""

    def send(_):
        with requests.Session() as session:
            for _ in range(20):
                url = f"{snap_server.url}/v3/{snap_server.pixel_id}/events"
                params = {"access_token": snap_server.token}
                session.post(url, params=params, json={"data": [good()]}, timeout=5)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(8)))
    assert snap_server.request_count == 160
    assert snap_server.accepted_count == 160
    assert len(snap_server.received) == 160


# --------------------------------------------------------------------------- auth


def bearer_post(server, data, token, *, query=None):
    url = f"{server.url}/v3/{server.pixel_id}/events"
    params = {} if query is None else {"access_token": query}
    headers = {} if token is None else {"Authorization": token}
    return requests.post(url, params=params, headers=headers, json=data, timeout=5)


def test_a_bearer_header_is_accepted_and_recorded_as_bearer(snap_server):
    """Authorization: Bearer <token> without a query parameter is accepted; auth is "bearer"."""
    response = bearer_post(snap_server, {"data": [good()]}, f"Bearer {snap_server.token}")
    assert response.status_code == 200
    assert bearer_post(snap_server, {"data": [good()]}, f"bearer  {snap_server.token}").ok
    post(snap_server, {"data": [good()]})
    received = snap_server.received
    assert [r.auth for r in received] == ["bearer", "bearer", "query"]
    assert received[0].headers["Authorization"] == "[redacted]"
    assert snap_server.token not in repr(received)


@pytest.mark.parametrize(
    ("header", "query", "status", "auth"),
    [
        ("Bearer {token}", "{token}", 200, "query"),
        ("Bearer {token}", "other", 401, "query"),
        ("Bearer other", "{token}", 401, "query"),
        ("Bearer other", None, 401, "bearer"),
        ("Basic {token}", None, 401, "bearer"),
        ("Bearer", None, 401, "bearer"),
        (None, None, 401, None),
    ],
)
def test_credentials_both_ways_must_agree(snap_server, header, query, status, auth):
    """Both ways agreeing is fine; disagreeing, malformed or missing credentials get 401."""
    fill = {"token": snap_server.token}
    response = bearer_post(
        snap_server,
        {"data": [good()]},
        None if header is None else header.format(**fill),
        query=None if query is None else query.format(**fill),
    )
    assert response.status_code == status
    assert snap_server.received[-1].auth == auth
    assert snap_server.token not in repr(snap_server.received)
    if status == 401:
        assert snap_server.token not in response.text
        assert snap_server.events == []


def test_the_refusal_says_what_is_wrong_with_the_credentials(snap_server):
    """A 401's reason tells a missing token from a mismatch from a wrong token."""
    reasons = [
        bearer_post(snap_server, {"data": [good()]}, None).json()["reason"],
        bearer_post(snap_server, {"data": [good()]}, "Bearer a", query="b").json()["reason"],
        bearer_post(snap_server, {"data": [good()]}, "Bearer a").json()["reason"],
    ]
    assert reasons == [
        "No access token: pass ?access_token= or an Authorization: Bearer header",
        "The access_token parameter and the Authorization header disagree",
        "Invalid access token",
    ]


def test_the_token_can_be_rotated_while_running(snap_server):
    """After server.token is reassigned, the old token gets 401 both ways and the new one 200."""
    old = snap_server.token
    assert post(snap_server, {"data": [good()]}).status_code == 200
    snap_server.token = "rotated-token"
    assert snap_server.token == "rotated-token"
    assert post(snap_server, {"data": [good()]}, token=old).status_code == 401
    assert bearer_post(snap_server, {"data": [good()]}, f"Bearer {old}").status_code == 401
    assert post(snap_server, {"data": [good()]}, token="rotated-token").status_code == 200
    assert bearer_post(snap_server, {"data": [good()]}, "Bearer rotated-token").status_code == 200


def test_a_blank_token_is_refused():
    """token= and the token attribute must be non-blank strings."""
    with pytest.raises(ValidationError, match="token"):
        FakeSnapServer(token=" ")
    server = FakeSnapServer()
    with pytest.raises(ValidationError, match="token"):
        server.token = ""
    assert server.token == "fake-snap-token"


# --------------------------------------------------------------------------- hostile servers


def _raw_request(server, path="events"):
    """Open a socket to the fake and send a request for ``path``; return the socket."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    body = b'{"data": []}'
    connection.sendall(
        f"POST /v3/{server.pixel_id}/{path}?access_token={server.token} HTTP/1.1\r\n"
        f"Host: {host}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return connection


def test_a_raw_body_is_sent_as_it_is(snap_server):
    """script(status, body=b'...') sends exactly those bytes, with their Content-Length."""
    snap_server.script(200, b'{"status": "INVALID", "reason": "cut', headers={"X-A": "1"})
    response = post(snap_server, {"data": [good()]})
    assert response.content == b'{"status": "INVALID", "reason": "cut'
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["X-A"] == "1"


def test_a_dripping_answer_comes_a_byte_at_a_time(snap_server):
    """drip=: status line, headers and body a byte at a time, the answer itself intact."""
    snap_server.script(200, {"status": "VALID"}, drip=0.01)
    with _raw_request(snap_server) as connection:
        first = connection.recv(1024)
        answer = first
        while not answer.endswith(b'{"status": "VALID"}'):
            piece = connection.recv(1024)
            assert piece
            answer += piece
    assert len(first) < 10  # the rest was not sent yet
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in answer


def test_a_hanging_answer_never_comes_and_stop_ends_it():
    """status="hang": the request is read and recorded, no answer ever comes; stop() is prompt."""
    server = FakeSnapServer().start()
    server.script("hang")
    with pytest.raises(requests.ReadTimeout):
        post(server, {"data": [good()]}, timeout=0.5)
    server.script("hang")
    connection = _raw_request(server)
    while server.request_count < 2:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 10  # a bound: a hang lasts until the server stops
    assert connection.recv(1024) == b""  # closed, never answered
    connection.close()
    assert [r.status for r in server.received] == ["hang", "hang"]


def test_a_sized_body_is_streamed_chunked_and_generated(snap_server):
    """size=N: a JSON object of exactly N bytes, chunked (no Content-Length)."""
    snap_server.script(200, size=5 * 2**20)
    response = requests.post(
        f"{snap_server.url}/v3/{snap_server.pixel_id}/events",
        params={"access_token": snap_server.token}, json={"data": []}, timeout=30,
    )  # fmt: skip
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.headers
    assert len(response.content) == 5 * 2**20
    assert response.json()["status"] == "VALID"


def test_gzip_bodies_and_bombs(snap_server):
    """gzip=True: Content-Encoding gzip; with size=, a bomb compressed as it is generated."""
    snap_server.script(400, {"status": "INVALID", "reason": "zipped"}, gzip=True)
    response = post(snap_server, {"data": [good()]})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.json() == {"status": "INVALID", "reason": "zipped"}
    snap_server.script(200, size=50 * 2**20, gzip=True)
    response = requests.post(
        f"{snap_server.url}/v3/{snap_server.pixel_id}/events",
        params={"access_token": snap_server.token}, json={"data": []}, timeout=30, stream=True,
    )  # fmt: skip
    compressed = response.raw.read(decode_content=False)
    assert len(compressed) < 2**20  # 50 MiB inflated from under 1 MiB
    inflate, inflated = zlib.decompressobj(16 + zlib.MAX_WBITS), 0
    while compressed:
        inflated += len(inflate.decompress(compressed, 2**20))
        compressed = inflate.unconsumed_tail
    assert inflated == 50 * 2**20


@pytest.mark.parametrize("answers", ["documented", "live"])
def test_an_echo_quotes_the_request_line_and_headers_token_included(snap_server, answers):
    """echo=True: the reason quotes the request as a misconfigured proxy does, token and all."""
    snap_server.answers = answers
    snap_server.script(502, echo=True)
    response = requests.post(
        f"{snap_server.url}/v3/{snap_server.pixel_id}/events",
        params={"access_token": "a/b+c"}, headers={"Authorization": "Bearer a/b+c"},
        json={"data": []}, timeout=5,
    )  # fmt: skip
    body = response.json()
    text = body["reason"] if answers == "documented" else body["error_msgs"][0]
    assert response.status_code == 502
    assert text.startswith(f"POST /v3/{snap_server.pixel_id}/events?access_token=a%2Fb%2Bc HTTP")
    assert "\nAuthorization: Bearer a/b+c" in text


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"drip": -1}, "drip"),
        ({"drip": float("nan")}, "drip"),
        ({"drip": True}, "drip"),
        ({"size": 10}, "size"),
        ({"size": 2.5}, "size"),
        ({"size": 1000, "body": b"x"}, "size"),
        ({"echo": True, "body": b"x"}, "echo"),
    ],
)
def test_hostile_options_are_checked(snap_server, options, field):
    """Out-of-range hostile options, or ones combined with a body, are refused by name."""
    with pytest.raises(ValidationError) as info:
        snap_server.script(200, **options)
    assert info.value.field == field


def test_tls_serves_https_with_the_given_certificate(tmp_path):
    """tls=: the fake speaks HTTPS; a client trusting its certificate gets through."""
    cert, key = self_signed_certificate(tmp_path, "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FakeSnapServer(tls=context) as server:
        assert server.url.startswith("https://127.0.0.1:")
        url = f"{server.url}/v3/{server.pixel_id}/events"
        with pytest.raises(requests.exceptions.SSLError):
            requests.post(url, params={"access_token": server.token}, json={}, timeout=5)
        answer = requests.post(
            url, params={"access_token": server.token}, json={"data": [good()]}, timeout=5,
            verify=str(cert),
        )  # fmt: skip
    assert answer.status_code == 200
    assert server.event_ids() == {"e1"}
    with pytest.raises(ValidationError, match="tls"):
        FakeSnapServer(tls=ssl.create_default_context())
