"""Hostile answers over real sockets: unreadable 2xx, odd log indices, echoed tokens, huge text."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import subprocess
import sys
import traceback
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, quote_plus, urlencode

import pytest
from conftest import make_event
from hypothesis import given
from hypothesis import strategies as st

from snapcapi import (
    APIError,
    AuthenticationError,
    BackgroundSender,
    EventStatus,
)
from snapcapi._transport._redact import redact

RESEND = "; safe to resend (the event_id deduplicates)"

# --------------------------------------------------------------------------- unreadable 2xx

UNREADABLE = {
    "truncated-refusal": b'{"status": "INVALID", "reason": "x", "err',
    "html-502": b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "deep-json": b"[" * 100_000 + b"]" * 100_000,
    "json-list": b"[1, 2, 3]",
    "json-string": b'"Bad Gateway"',
    "gateway-error": b'{"error": "upstream connect error"}',
    "failure": b'{"status": "FAILURE", "reason": "try later"}',
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_2xx_that_proves_no_success_fails_every_event(snap_server, make_client, body):
    """A 200 whose body is unreadable or not Snap's success: FAILED, safe to resend, not split."""
    snap_server.script(200, body)
    result = make_client(max_retries=0).send([make_event(i) for i in range(3)])
    assert snap_server.events == []  # the server recorded nothing
    assert len(snap_server.received) == 1  # no isolation: nothing says an event is bad
    assert [r.status for r in result.events] == [EventStatus.FAILED] * 3
    for event in result.events:
        assert event.reason.startswith("answer unreadable (HTTP 200, after 1 attempt): ")
        assert event.reason.endswith(RESEND)
        assert event.event_id is not None
        assert event.http_status == 200


def test_an_unreadable_2xx_says_why_and_keeps_the_request_id(snap_server, make_client):
    """The reason names what was wrong with the body; the request id comes from the headers."""
    snap_server.script(200, UNREADABLE["html-502"], headers={"X-Request-Id": "req-html"})
    (event,) = make_client(max_retries=0).send([make_event(0)]).events
    assert event.reason == "answer unreadable (HTTP 200, after 1 attempt): the body is not JSON" + (
        RESEND
    )
    assert event.request_id == "req-html"
    assert "nginx" not in event.reason  # an unreadable body is never quoted


def test_an_empty_2xx_and_snap_s_success_are_accepted(snap_server, make_client):
    """Snap's empty 200 and its documented success body are both a success."""
    snap_server.script(200, b"")
    snap_server.script(200, {"status": "VALID", "reason": "Events have been processed."})
    client = make_client(max_retries=0)
    assert client.send([make_event(0)]).ok
    assert client.send([make_event(1)]).ok


def test_the_validate_endpoint_s_unreadable_2xx_fails_every_event(snap_server, make_client):
    """validate() with a truncated 200: every event FAILED, none reported VALID."""
    snap_server.script(200, b'{"status": "VALID", "event_logs": [{"event": 0, "sta')
    result = make_client(max_retries=0).validate([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.FAILED] * 2
    assert all(r.reason.endswith(RESEND) for r in result.events)


@pytest.mark.parametrize(
    "body", [b"", b"{}", b'{"status": "SUCCESS"}'], ids=["empty", "{}", "success"]
)
def test_validate_needs_per_event_logs_to_call_an_event_valid(snap_server, make_client, body):
    """A 2xx from the validate endpoint without logs judged no event: FAILED, not ACCEPTED."""
    snap_server.script(200, body)
    result = make_client(max_retries=0).validate([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.FAILED] * 2
    assert all(r.reason.endswith(RESEND) for r in result.events)


@pytest.mark.parametrize("call", ["validation_logs", "validation_stats"])
@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>502 Bad Gateway</html>", "the body is"),
        (b"", "the body is empty"),
        (b"[]", "the body is not a JSON object"),
        (b'{"status": "FAILURE", "reason": "quota exceeded"}', "Snap said FAILURE: quota exceeded"),
        (b'{"status": "PENDING"}', "Snap said PENDING"),
    ],
    ids=["html", "empty", "list", "failure", "pending"],
)
def test_the_get_endpoints_raise_on_a_2xx_that_is_not_their_answer(
    snap_server, make_client, call, body, why
):
    """validation_logs/stats raise a clear APIError instead of returning empty results."""
    snap_server.script(200, body)
    with pytest.raises(APIError) as info:
        getattr(make_client(max_retries=0), call)()
    message = str(info.value)
    assert "answered HTTP 200 but did not give its answer" in message
    assert why in message
    assert info.value.status_code == 200
    assert "502 Bad Gateway" not in message


# --------------------------------------------------------------------------- log indices


def test_logs_with_non_integer_indexes_are_matched_to_no_event(snap_server, make_client):
    """Indexes "1" and "0" are no indexes: no event is reported VALID on another's log."""
    snap_server.script(
        200,
        {"status": "INVALID", "event_logs": [
            {"event": "1", "status": "VALID"},
            {"event": "0", "status": "INVALID", "error_msgs": ["bad event_time"]},
        ]},
    )  # fmt: skip
    result = make_client(max_retries=0).validate([make_event(0), make_event(1)])
    assert [r.status for r in result.events] == [EventStatus.FAILED] * 2
    for event in result.events:
        assert event.reason == "Snap's answer gave no log with this event's index" + RESEND
    assert [r.event_id for r in result.events] == ["e0", "e1"]


def test_only_real_indexes_count_and_an_index_claimed_twice_counts_for_none(
    snap_server, make_client
):
    """Int indexes map; "2", 1.0, true, out-of-range and doubly claimed ones do not."""
    snap_server.script(
        200,
        {"status": "INVALID", "event_logs": [
            {"event": 1, "status": "INVALID", "error_msgs": ["bad one"]},
            {"event": "0", "status": "VALID"},
            {"event": 2.0, "status": "VALID"},
            {"event": True, "status": "VALID"},
            {"event": 7, "status": "VALID"},
            {"event": 3, "status": "VALID"},
            {"event": 3, "status": "INVALID"},
            {"status": "VALID"},
            "not a log",
        ]},
    )  # fmt: skip
    result = make_client(max_retries=0).validate([make_event(i) for i in range(4)])
    statuses = [r.status for r in result.events]
    assert statuses == [EventStatus.FAILED, EventStatus.REJECTED] + [EventStatus.FAILED] * 2
    assert result.events[1].reason == "bad one"


def test_a_refusal_naming_a_non_integer_event_rejects_nobody_by_it(snap_server, make_client):
    """A 400 naming event "1" is no culprit: the batch is split, and the good halves go."""
    snap_server.script(400, {"status": "INVALID", "reason": "bad", "event": "1"})
    result = make_client(max_retries=0).send([make_event(0), make_event(1)])
    assert result.ok
    assert snap_server.event_ids() == {"e0", "e1"}


# --------------------------------------------------------------------------- echoed tokens

TOKEN = "Sekr1t+tok/EN=zq9~Xy"


def spellings(token):
    """Every form of ``token`` a server quoting a request may put into its text."""
    encoded = {quote(token), quote(token, safe=""), quote_plus(token), quote_plus(token, safe="")}
    lower = {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in encoded}
    return {token, *encoded, *lower, quote(quote(token, safe=""), safe="")}


def assert_no_token(text):
    for form in spellings(TOKEN):
        assert form not in text, form
    assert "Sekr1t" not in text
    assert "zq9" not in text


def echo(status="INVALID"):
    """An error body quoting the request line and the token in every spelling."""
    lower = re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(TOKEN, safe=""))
    line = f"POST /v3/p/events?access_token={quote_plus(TOKEN)} HTTP/1.1"
    return {
        "status": status,
        "reason": f"Bad request: {line}",
        "error_msgs": [
            f"token {quote(TOKEN, safe='')} refused",
            f"token {lower} refused",
            f"token {TOKEN} refused",
            f"form body access_token%3D{quote(TOKEN, safe='')}&x=1",
            f"twice {quote(quote(TOKEN, safe=''), safe='')}",
            "json " + json.dumps(TOKEN).replace("/", "\\/")[1:-1],
        ],
        "errors": {"codes": [f"BAD_{TOKEN}"], "error_msgs": [f"Bearer {TOKEN}"]},
        "request_id": f"req-{quote(TOKEN, safe='')}",
    }


@pytest.fixture
def echoing(snap_server):
    snap_server.token = TOKEN
    return snap_server


def test_an_echoed_token_is_in_no_result(echoing, make_client):
    """Results carry Snap's words with every spelling of the token removed."""
    echoing.script(400, echo())
    result = make_client(max_retries=0).send([make_event(0)])
    (event,) = result.events
    assert event.status is EventStatus.REJECTED
    assert "Bad request: POST /v3/p/events?access_token=***" in event.reason
    assert "token *** refused" in event.messages
    assert_no_token(repr(event))
    assert_no_token(json.dumps(result.to_records()))
    assert_no_token(result._repr_html_())


def test_an_echoed_token_is_in_no_authentication_error(echoing, make_client):
    """A 401 quoting the token: the error's message, messages, codes, id and trace hold none."""
    echoing.script(401, echo())
    with pytest.raises(AuthenticationError) as info:
        make_client(max_retries=0).send([make_event(0)])
    error = info.value
    assert_no_token(str(error))
    assert_no_token(repr(error))
    assert_no_token(" ".join((*error.messages, *error.codes, error.request_id or "")))
    assert_no_token("".join(traceback.format_exception(error)))
    assert_no_token(json.dumps(error.result.to_records()))


@pytest.mark.parametrize("status", [400, 401, 429, 500])
def test_an_echoed_token_is_in_no_error_of_the_get_endpoints(echoing, make_client, status):
    """validation_logs() answered by an echo raises an APIError without the token."""
    echoing.script(status, echo())
    with pytest.raises(APIError) as info:
        make_client(max_retries=0).validation_logs()
    assert_no_token(str(info.value) + " ".join(info.value.messages))
    echoing.script(200, echo("FAILURE"))
    with pytest.raises(APIError) as info:
        make_client(max_retries=0).validation_stats()
    assert "Snap said FAILURE" in str(info.value)
    assert_no_token(str(info.value) + " ".join(info.value.messages))


def test_an_unreadable_body_holding_the_token_is_never_quoted(echoing, make_client):
    """A proxy's HTML page quoting the request line: nothing of it reaches the result."""
    page = f"<html>POST /v3/p/events?access_token={quote(TOKEN, safe='')} {TOKEN}</html>"
    headers = {"X-Request-Id": f"id-{quote(TOKEN, safe='')}"}  # a header may echo it too
    echoing.script(400, page.encode(), headers=headers)
    echoing.script(200, page.encode(), headers=headers)
    client = make_client(max_retries=0)
    for _ in range(2):
        (event,) = client.send([make_event(0)]).events
        assert event.status in (EventStatus.REJECTED, EventStatus.FAILED)
        assert "<html>" not in repr(event)
        assert_no_token(repr(event))


def test_an_echoed_token_is_in_no_log_line_of_the_background_sender(echoing, make_client, caplog):
    """The background sender logs the refused send and reports each event, without the token."""
    echoing.script(401, echo(), times=5)
    results = []
    client = make_client(max_retries=0)
    sender = BackgroundSender(client, flush_at=1, on_result=results.append)
    with caplog.at_level(logging.DEBUG, logger="snapcapi"):
        sender.enqueue(make_event(0))
        assert sender.flush(timeout=30)
        sender.close()
    assert "background send" in caplog.text
    assert_no_token(caplog.text)
    assert [r.status for r in results] == [EventStatus.FAILED]
    assert_no_token(repr(results))


WHEN = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
CLI_FLAGS = ("--event-name", "PURCHASE", "--action-source", "OFFLINE", "--region", "US",
             "--max-retries", "0")  # fmt: skip


def write_orders(path, n):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["order_id", "Email", "price", "currency", "timestamp"])
        writer.writerows([f"A{i}", f"buyer{i}@example.com", "9.50", "usd", WHEN] for i in range(n))
    return str(path)


def run_cli(server, tmp_path, *extra):
    """Run ``python -m snapcapi send`` against ``server``; return (process, report text)."""
    source = write_orders(tmp_path / "orders.csv", 3)
    report = tmp_path / "report.csv"
    env = {**os.environ, "SNAP_ACCESS_TOKEN": TOKEN}
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", source, *CLI_FLAGS, "--pixel-id",
         server.pixel_id, "--base-url", server.url, "--report", str(report), *extra],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    written = report.read_text(encoding="utf-8") if report.exists() else ""
    return completed, written


@pytest.mark.parametrize("status", [400, 401])
def test_an_echoed_token_is_in_no_cli_output_or_report(echoing, tmp_path, status):
    """`snapcapi send` against an echoing server: stdout, stderr and the report hold no token."""
    echoing.script(status, echo(), times=50)
    completed, report = run_cli(echoing, tmp_path)
    assert "Traceback" not in completed.stderr
    assert completed.returncode != 0
    assert_no_token(completed.stdout)
    assert_no_token(completed.stderr)
    assert_no_token(report)
    if status == 400:
        assert "REJECTED" in report
        assert "access_token=***" in report


# --------------------------------------------------------------------------- huge text


def test_a_huge_reason_and_many_messages_are_cut_and_marked(snap_server, make_client):
    """A 1.25 MB reason and 500 messages: a few KB per result, each cut marked."""
    snap_server.script(400, {
        "status": "INVALID",
        "reason": "r" * 1_250_000,
        "error_msgs": ["m" * 50_000] + [f"message {i}" for i in range(500)],
    })  # fmt: skip
    (event,) = make_client(max_retries=0).send([make_event(0)]).events
    assert event.status is EventStatus.REJECTED
    assert event.reason == "r" * 2_000 + "… [cut: 1,248,000 more characters]"
    assert len(event.messages) == 21
    assert event.messages[0] == "m" * 2_000 + "… [cut: 48,000 more characters]"
    assert event.messages[-1] == "… [cut: 481 more messages]"
    assert sum(map(len, event.messages)) < 10_000


def test_a_huge_reason_makes_a_small_cli_report(snap_server, tmp_path, monkeypatch):
    """Rows refused with a 1.25 MB reason: the report stays a few KB a row."""
    snap_server.token = TOKEN
    snap_server.script(400, {"status": "INVALID", "reason": "r" * 1_250_000}, times=20)
    completed, report = run_cli(snap_server, tmp_path)
    assert "Traceback" not in completed.stderr
    assert report.count("REJECTED") == 3
    assert len(report) < 3 * 10_000
    assert "[cut: 1,248,000 more characters]" in report
    assert len(completed.stdout) + len(completed.stderr) < 20_000


# --------------------------------------------------------------------------- redaction laws

_TOKEN_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
_ENCODINGS = {
    "raw": lambda t: t,
    "quote": quote,
    "quote-all": lambda t: quote(t, safe=""),
    "quote-plus": quote_plus,
    "lower-hex": lambda t: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(t, safe="")),
    "twice": lambda t: quote(quote(t, safe=""), safe=""),
    "form": lambda t: urlencode({"access_token": t, "x": "1"}),
    "json": lambda t: json.dumps(t)[1:-1].replace("/", "\\/"),
    "json-ascii": lambda t: "".join(f"\\u{ord(c):04x}" for c in t),
}


@given(
    token=st.text(_TOKEN_CHARS, min_size=12, max_size=40),
    encoding=st.sampled_from(sorted(_ENCODINGS)),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_redaction_removes_a_token_in_every_spelling(token, encoding, before, after):
    """Whatever the token and how a server spelled it, none of it survives redaction."""
    spelled = _ENCODINGS[encoding](token)
    cleaned = redact(f"{before} {spelled} {after}", (token,))
    assert spelled not in cleaned
    assert "***" in cleaned


def test_redaction_leaves_other_text_alone():
    """Only the tokens go: the text around them, and text without them, stays as it was."""
    assert redact("HTTP 400: bad event_time", ("tok-123456",)) == "HTTP 400: bad event_time"
    assert redact("x tok%2D123456 y", ("tok-123456",)) == "x *** y"
    assert redact("Bearer%20abc.def", ()) == "Bearer%20***"
    assert redact('{"access_token": "abc"}', ()) == '{"access_token": "***"}'
