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
from snapcapi._transport._answers import (
    MAX_ITEMS,
    MAX_TEXT,
    cut,
    kept,
    read_answer,
    read_logs,
    read_stats,
    request_id,
)
from snapcapi._transport._http import Response
from snapcapi._transport._judge import Kind, api_error, get_body, judge, judge_logs

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


def answer(status, body=None, headers=None, attempts=1, unreadable=None):
    return Response(status, headers or {}, body, attempts, unreadable=unreadable)


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


#: Hostile values: huge texts, long lists, numbers that are no index, odd log lists.
_hostile = st.one_of(
    st.text(min_size=MAX_TEXT, max_size=MAX_TEXT * 3),
    st.lists(st.text(max_size=5), min_size=MAX_ITEMS, max_size=MAX_ITEMS * 3),
    st.sampled_from(["0", "1", "2", 0.0, 1.0, -1, 10**30, True, float("nan")]),
    st.lists(st.dictionaries(st.sampled_from(["event", "status", "error_msgs"]), _json)),
)
_bodies = st.one_of(
    _json,
    st.dictionaries(st.sampled_from([*_FIELDS, "event_logs"]), _json | _hostile),
)
_UNREADABLE = st.none() | st.sampled_from(["the body is not JSON", "the body is too large"])


@given(
    body=_bodies,
    status=st.integers(100, 599),
    events=st.integers(1, 50),
    unreadable=_UNREADABLE,
    logs_expected=st.booleans(),
)
def test_the_judge_never_raises_on_any_body(body, status, events, unreadable, logs_expected):
    """Whatever the body, a verdict with bounded string messages; no unproven 2xx accepted."""
    if unreadable is not None:
        body = None  # an unreadable body is never parsed
    response = answer(status, body, unreadable=unreadable)
    verdict = judge(response, events, logs_expected=logs_expected)
    assert all(isinstance(m, str) for m in verdict.answer.messages)
    assert all(isinstance(c, str) for c in verdict.answer.codes)
    assert len(verdict.answer.messages) <= MAX_ITEMS + 1
    assert all(len(m) <= MAX_TEXT + 60 for m in verdict.answer.messages)
    assert len(verdict.reason or "") <= 2 * MAX_TEXT
    if verdict.kind is Kind.CULPRIT:
        assert 0 <= verdict.answer.event < events
        assert type(body["event"]) is int
    if unreadable is not None and 200 <= status < 300:
        assert verdict.kind is Kind.FAILED
    if verdict.kind is Kind.ACCEPTED:
        assert body is None or isinstance(body, dict)
    for log in verdict.logs:
        assert log is None or len(log.warnings) <= MAX_ITEMS + 1


# --------------------------------------------------------------------------- hostile answers


@pytest.mark.parametrize(
    ("body", "unreadable", "why"),
    [
        (None, "the body is not JSON", "the body is not JSON"),
        (None, "the body is larger than 8 MB", "the body is larger than 8 MB"),
        ([1, 2], None, "the body is JSON but not an object, so not Snap's answer"),
        ("Bad Gateway", None, "the body is JSON but not an object, so not Snap's answer"),
        ({"error": "upstream"}, None, "the body has no status and reads as an error: upstream"),
        ({"status": "FAILURE", "reason": "later"}, None, "Snap's answer says FAILURE: later"),
    ],
)
def test_a_2xx_that_proves_no_success_is_failed(body, unreadable, why):
    """An unreadable 2xx, or one that is not Snap's answer, is FAILED: safe to resend."""
    verdict = judge(answer(200, body, attempts=2, unreadable=unreadable), 3)
    assert verdict.kind is Kind.FAILED
    assert verdict.reason == f"answer unreadable (HTTP 200, after 2 attempts): {why}" + RESEND


def test_an_empty_or_documented_2xx_is_a_success():
    """An empty body (Snap's today) and Snap's documented success are both ACCEPTED."""
    assert judge(answer(200), 3).kind is Kind.ACCEPTED
    assert judge(answer(204), 3).kind is Kind.ACCEPTED
    assert judge(answer(200, {"status": "VALID", "reason": "ok"}), 3).kind is Kind.ACCEPTED
    assert judge(answer(200, {"reason": "Events processed"}), 3).kind is Kind.ACCEPTED


def test_the_validate_endpoint_must_judge_the_events():
    """With logs expected, a 2xx without event_logs is FAILED unless it says VALID or INVALID."""
    assert judge(answer(200), 2, logs_expected=True).kind is Kind.FAILED
    assert judge(answer(200, {"reason": "x"}), 2, logs_expected=True).kind is Kind.FAILED
    assert judge(answer(200, {"status": "VALID"}), 2, logs_expected=True).kind is Kind.ACCEPTED
    refusal = {"status": "INVALID", "error_msgs": ["bad"]}
    assert judge(answer(200, refusal), 2, logs_expected=True).kind is Kind.ISOLATE


def test_event_logs_count_only_on_answers_that_judge_events():
    """A 5xx carrying event_logs is a failure to retry, not a verdict on the events."""
    logs = {"event_logs": [{"event": 0, "status": "VALID"}]}
    assert judge(answer(503, logs), 1).kind is Kind.FAILED
    assert judge(answer(400, logs), 1).kind is Kind.LOGS
    assert judge(answer(200, logs), 1).kind is Kind.LOGS


def test_logs_are_matched_by_a_real_index_only():
    """No positional fallback: "0", 1.0, true, absent, out-of-range or doubled names nobody."""
    verdicts = judge_logs(
        [
            {"status": "VALID"},
            {"event": "0", "status": "VALID"},
            {"event": 1.0, "status": "VALID"},
            {"event": True, "status": "VALID"},
            {"event": -1, "status": "VALID"},
            {"event": 2, "status": "INVALID", "error_msgs": ["bad"]},
            {"event": 3, "status": "VALID"},
            {"event": 3, "status": "VALID"},
            {"event": 3, "status": "VALID"},
        ],
        4,
    )
    assert verdicts[0] is None
    assert verdicts[1] is None
    assert not verdicts[2].valid
    assert verdicts[2].reason == "bad"
    assert verdicts[3] is None


def test_a_refusal_names_a_culprit_only_by_an_integer():
    """The top-level event of a refusal must be a JSON integer to name a culprit."""
    for index in ("1", 1.0, True, None, [1]):
        refusal = {"status": "INVALID", "reason": "bad", "event": index}
        assert judge(answer(400, refusal), 3).kind is Kind.ISOLATE
    assert judge(answer(400, {"status": "INVALID", "event": 1}), 3).kind is Kind.CULPRIT


def test_server_text_is_cut_and_marked_where_it_is_read():
    """Reasons, messages, codes, warnings and request ids are bounded, cuts are marked."""
    read = read_answer(
        {
            "reason": "r" * 10_000,
            "error_msgs": [f"m{i}" for i in range(100)],
            "errors": {"codes": [f"C{i}" for i in range(100)] + ["c" * 1_000]},
            "request_id": "i" * 5_000,
        }
    )
    assert read.reason == "r" * MAX_TEXT + "… [cut: 8,000 more characters]"
    assert read.messages == (*(f"m{i}" for i in range(20)), "… [cut: 80 more messages]")
    assert read.codes == tuple(f"C{i}" for i in range(20))  # names: left out silently
    assert read.request_id == "i" * 200 + "… [cut: 4,800 more characters]"
    assert read_answer("s" * 3_000).reason == "s" * MAX_TEXT + "… [cut: 1,000 more characters]"
    assert read_answer({"reason": ["a", "b"]}).reason == "a; b"
    assert read_answer({"reason": {"nested": "x"}}).reason is None
    assert cut("short") == "short"
    assert kept(["a", "a", "b"]) == ("a", "b")
    warnings = judge_logs([{"event": 0, "status": "VALID", "warnings": ["w", "w"]}], 1)
    assert warnings[0].warnings == ("w",)
    many = judge_logs([{"event": 0, "status": "VALID", "warnings": [str(i) for i in range(30)]}], 1)
    assert many[0].warnings[-1] == "… [cut: 10 more warnings]"


def test_the_get_endpoints_read_only_their_answer():
    """get_body returns a JSON object; it raises an APIError on a 2xx that is not the answer."""
    assert get_body("x", answer(200, {"status": "SUCCESS", "logs": []})) == {
        "status": "SUCCESS",
        "logs": [],
    }
    with pytest.raises(APIError, match="the body is not JSON") as info:
        get_body("events/validate/logs", answer(200, None, {"X-Request-Id": "r1"},
                                                unreadable="the body is not JSON"))  # fmt: skip
    assert info.value.request_id == "r1"
    assert str(info.value).startswith(
        "events/validate/logs answered HTTP 200 but did not give its answer: the body is not JSON"
    )
    with pytest.raises(APIError, match="Snap said FAILURE: busy"):
        get_body("x", answer(200, {"status": "FAILURE", "reason": "busy"}))
    with pytest.raises(AuthenticationError):
        get_body("x", answer(401))
    with pytest.raises(TransportError):
        get_body("x", Response(None, {}, None, 1, TransportError("could not connect")))
    for body in (None, [], "text"):
        with pytest.raises(APIError, match="did not give its answer"):
            read_logs(body)
        with pytest.raises(APIError, match="did not give its answer"):
            read_stats(body)
    assert read_logs({"status": "SUCCESS"}) == ()


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
