"""The judge and the answer readers: pure functions of (status, headers, body), no sockets."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapcapi import (
    APIError,
    AuthenticationError,
    RateLimitError,
    TransportError,
    UnknownAssetError,
)
from snapcapi._transport._answers import read_answer, request_id
from snapcapi._transport._http import Response
from snapcapi._transport._judge import Kind, api_error, judge

LIVE_400 = {
    "status": "INVALID",
    "error_msgs": ["Param data['event_time'] is an invalid Unix timestamp."],
}
DOCUMENTED_400 = {
    "status": "INVALID",
    "reason": "Currency not enabled",
    "event": 1,
    "errors": {"codes": ["INVALID_CURRENCY"], "error_msgs": ["Currency not enabled"]},
}

RESEND = "; safe to resend (the event_id deduplicates)"


def answer(status, body=None, headers=None, attempts=1):
    return Response(status, headers or {}, body, attempts)


def test_the_live_400_is_read():
    """Snap's live shape: top-level error_msgs, no reason, no index, become the messages."""
    read = read_answer(LIVE_400)
    assert read.messages == ("Param data['event_time'] is an invalid Unix timestamp.",)
    assert read.reason == "Param data['event_time'] is an invalid Unix timestamp."
    assert read.event is None
    assert read.codes == ()


def test_the_documented_400_is_read():
    """The documented shape: reason, event index, errors.codes and errors.error_msgs."""
    read = read_answer(DOCUMENTED_400)
    assert (read.reason, read.event) == ("Currency not enabled", 1)
    assert read.codes == ("INVALID_CURRENCY",)
    assert read.messages == ("Currency not enabled",)


@pytest.mark.parametrize(
    ("body", "messages", "codes"),
    [
        ({"error_msgs": "one string"}, ("one string",), ()),
        ({"errors": {"codes": "C1", "error_msgs": "m"}}, ("m",), ("C1",)),
        ({"message": "Bad request"}, ("Bad request",), ()),
        ({"error": ["a", "b"]}, ("a", "b"), ()),
        ({"error": {"message": "nested", "code": "E9"}}, ("nested",), ("E9",)),
        ({"errors": ["listed"], "message": "listed"}, ("listed",), ()),
        ({"codes": ["TOP"], "error_msgs": [None, 5, {"x": 1}]}, ("5",), ("TOP",)),
        ("plain text answer", ("plain text answer",), ()),
        ([1, 2, 3], (), ()),
        (None, (), ()),
    ],
    ids=[
        "msgs-string", "errors-strings", "message", "error-list", "error-object",
        "deduplicated", "odd-items", "json-string", "list", "none",
    ],
)  # fmt: skip
def test_every_shape_of_messages_is_read(body, messages, codes):
    """Messages and codes come from every field and type Snap has been seen to use."""
    read = read_answer(body)
    assert read.messages == messages
    assert read.codes == codes


def test_a_reason_wins_over_joined_messages():
    """``reason`` is the reason when given; otherwise the messages joined."""
    assert read_answer({"reason": "R", "error_msgs": ["a"]}).reason == "R"
    assert read_answer({"error_msgs": ["a", "b"]}).reason == "a; b"
    assert read_answer({"reason": 7}).reason == "7"
    assert read_answer({"status": "INVALID"}).reason is None


def test_a_reason_alone_is_snap_s_message_too():
    """The documented shape without error_msgs: the reason is in ``messages`` as well."""
    assert read_answer({"status": "INVALID", "reason": "test_event_code is invalid"}).messages == (
        "test_event_code is invalid",
    )
    assert read_answer({"reason": 7}).messages == ("7",)
    assert read_answer({"reason": "R", "error_msgs": ["a"]}).messages == ("a",)
    assert read_answer({"status": "INVALID", "reason": ""}).messages == ()
    error = api_error("events/validate/stats", answer(400, {"reason": "Unknown asset"}))
    assert error.messages == ("Unknown asset",)


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({"request_id": "body-1"}, {"X-Request-Id": "header-1"}, "body-1"),
        ({"requestId": "camel-2"}, {}, "camel-2"),
        ({}, {"x-request-id": "lower-3"}, "lower-3"),
        ({}, {"X-SNAP-REQUEST-ID": "snap-4"}, "snap-4"),
        ({}, {"Request-Id": " spaced-5 "}, "spaced-5"),
        (None, {"X-Request-Id": "no-body-6"}, "no-body-6"),
        ({"request_id": True}, {}, None),
        ({"request_id": ""}, {"X-Request-Id": ""}, None),
    ],
)
def test_request_ids_come_from_the_body_or_any_header_case(body, headers, expected):
    """A request id is kept from the body (request_id, requestId) or the headers, any case."""
    assert request_id(body, headers) == expected


def test_verdicts_for_each_kind_of_answer():
    """Each answer maps to one kind of verdict, with the counts of attempts in words."""
    assert judge(answer(200, {"status": "VALID"}), 3).kind is Kind.ACCEPTED
    assert judge(answer(200, {"status": "INVALID", "event": 0}), 3).kind is Kind.CULPRIT
    assert judge(answer(401, {"reason": "bad"}), 3).kind is Kind.REFUSED
    assert judge(answer(403), 1).kind is Kind.REFUSED
    assert judge(answer(413), 2).kind is Kind.TOO_LARGE
    assert judge(answer(413), 1).kind is Kind.REJECTED
    assert judge(answer(400, LIVE_400), 2).kind is Kind.ISOLATE
    assert judge(answer(400, LIVE_400), 1).kind is Kind.REJECTED
    assert judge(answer(404, {"reason": "Unknown asset id"}), 5).kind is Kind.UNKNOWN_ASSET
    assert judge(answer(404, {"status": "INVALID", "event": 0}), 1).kind is Kind.UNKNOWN_ASSET
    assert judge(answer(302), 2).kind is Kind.REJECTED
    assert "redirect" in judge(answer(302), 2).reason
    one = judge(answer(500, attempts=1), 1)
    assert (one.kind, one.reason) == (Kind.FAILED, "HTTP 500 after 1 attempt" + RESEND)
    assert judge(answer(503, attempts=4), 1).reason == "HTTP 503 after 4 attempts" + RESEND
    broken = Response(None, {}, None, 1, TransportError("could not connect: refused"))
    assert judge(broken, 1).reason == "could not connect: refused (after 1 attempt)" + RESEND


def test_a_named_index_out_of_range_is_not_a_culprit():
    """An index beyond the batch (or a boolean) names nobody: the batch is isolated."""
    assert judge(answer(400, {"status": "INVALID", "event": 9}), 3).kind is Kind.ISOLATE
    assert judge(answer(400, {"status": "INVALID", "event": True}), 3).kind is Kind.ISOLATE


def test_validate_logs_map_by_index():
    """Per-event logs are mapped by their index; uncovered events get no verdict."""
    body = {
        "status": "INVALID",
        "event_logs": [
            {"event": 1, "status": "INVALID", "error_msgs": ["live-shaped log"]},
            {"event": 0, "status": "VALID", "warnings": ["old"]},
        ],
    }
    verdict = judge(answer(400, body), 3)
    assert verdict.kind is Kind.LOGS
    first, second, third = verdict.logs
    assert first.valid
    assert first.warnings == ("old",)
    assert not second.valid
    assert second.reason == "live-shaped log"
    assert third is None


def test_api_errors_carry_the_request_id_and_messages():
    """A failed GET raises the right class, with messages and the request id in the text."""
    error = api_error("events/validate/stats", answer(401, LIVE_400, {"X-Request-Id": "r-77"}))
    assert isinstance(error, AuthenticationError)
    assert error.request_id == "r-77"
    assert error.messages == tuple(LIVE_400["error_msgs"])
    assert "r-77" in str(error)
    assert "invalid Unix timestamp" in str(error)
    assert isinstance(api_error("x", answer(429)), RateLimitError)
    plain = api_error("x", answer(418))
    assert type(plain) is APIError
    assert plain.request_id is None
    assert "request id" not in str(plain)


def test_api_errors_pickle_with_their_details():
    """An APIError survives pickling (worker processes) with status, messages and id."""
    error = APIError("bad", status_code=400, codes=("C",), messages=("m",), request_id="r1")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status_code, copy.codes, copy.messages, copy.request_id) == (
        400,
        ("C",),
        ("m",),
        "r1",
    )
    assert str(copy) == str(error) == "bad (Snap request id r1)"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
_FIELDS = ["status", "reason", "event", "errors", "error_msgs", "message", "error", "request_id"]


@given(
    body=st.one_of(_json, st.dictionaries(st.sampled_from(_FIELDS), _json)),
    status=st.integers(100, 599),
    events=st.integers(1, 50),
)
def test_the_judge_never_raises_on_any_body(body, status, events):
    """Whatever the body, the judge returns a verdict with string messages and codes."""
    verdict = judge(answer(status, body), events)
    assert all(isinstance(m, str) for m in verdict.answer.messages)
    assert all(isinstance(c, str) for c in verdict.answer.codes)
    if verdict.kind is Kind.CULPRIT:
        assert 0 <= verdict.answer.event < events


def test_an_unknown_asset_error_names_the_setting_in_each_interface_and_pickles():
    """The advice names the setting that gave the asset id (both when unknown), per interface."""
    error = UnknownAssetError("wrong-pixel", setting="pixel_id", reason="Unknown asset id",
                              request_id="req-1")  # fmt: skip
    assert isinstance(error, APIError)
    assert error.status_code == 404
    text = str(error)
    assert "Snap does not know asset id 'wrong-pixel' (HTTP 404: Unknown asset id)" in text
    assert "give pixel_id=" in text
    assert "SNAP_PIXEL_ID" in text
    assert "snap_app_id" not in text
    assert text.endswith("(Snap request id req-1)")
    cli = error.explain("cli")
    assert "pass --pixel-id ID" in cli
    assert "SNAP_PIXEL_ID" in cli
    assert "pixel_id=" not in cli
    assert cli.endswith("(Snap request id req-1)")
    both = UnknownAssetError("x").explain("cli")
    assert "--pixel-id" in both
    assert "--snap-app-id" in both
    assert "SNAP_APP_ID" in both
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.explain("cli")) == (type(error), text, cli)
    assert (copy.asset_id, copy.setting, copy.request_id) == ("wrong-pixel", "pixel_id", "req-1")
