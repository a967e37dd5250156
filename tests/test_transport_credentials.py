"""Credentials against the fake server: blank ids refused, token callables, auth modes, secrecy."""

from __future__ import annotations

import logging
import random
import threading

import pytest
from conftest import make_event

from snapcapi import AuthenticationError, Client, EventStatus, ValidationError
from snapcapi._transport._auth import TokenSource


@pytest.fixture(params=["documented", "live"])
def answers(request, snap_server):
    """Run the test against both answer shapes of the fake server."""
    snap_server.answers = request.param
    return request.param


class Tokens:
    """A token callable that returns the given tokens in turn (the last one forever)."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            self.calls += 1
            return self.tokens[min(self.calls, len(self.tokens)) - 1]


def client_for(server, token, sleeps, **options):
    options.setdefault("rng", random.Random(0))
    return Client(server.pixel_id, token, base_url=server.url, sleep=sleeps, **options)


# --------------------------------------------------------------------------- ids and blanks


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
@pytest.mark.parametrize("argument", ["pixel_id", "snap_app_id", "access_token"])
def test_blank_credentials_are_refused_naming_the_argument(monkeypatch, argument, blank):
    """An empty or blank id or token is a ValidationError naming it, environment or not."""
    monkeypatch.setenv("SNAP_PIXEL_ID", "env-pixel")
    monkeypatch.setenv("SNAP_APP_ID", "env-app")
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", "env-token")
    given = {"pixel_id": "p", "access_token": "t", "snap_app_id": "a", argument: blank}
    with pytest.raises(ValidationError) as info:
        Client(given.pop("pixel_id"), given.pop("access_token"), **given)
    assert info.value.field == argument
    assert "empty" in str(info.value)


def test_blank_environment_values_count_as_unset(monkeypatch):
    """SNAP_APP_ID='  ' is no App ID (the Pixel ID suffices), not a blank one."""
    monkeypatch.setenv("SNAP_APP_ID", "  ")
    with Client("pixel", "token", base_url="http://127.0.0.1:9") as client:
        assert client.snap_app_id is None


def test_explicit_values_are_stripped_like_environment_values(snap_server, sleeps):
    """Spaces around explicit ids and tokens go, as they do for SNAP_* variables."""
    client = Client(
        f"  {snap_server.pixel_id}\n",
        f" {snap_server.token} ",
        snap_app_id=f"\t{snap_server.snap_app_id} ",
        base_url=snap_server.url,
        sleep=sleeps,
    )
    with client:
        assert client.pixel_id == snap_server.pixel_id
        assert client.snap_app_id == snap_server.snap_app_id
        assert client.send([make_event(0)]).ok
    assert snap_server.received[0].asset_id == snap_server.pixel_id


@pytest.mark.parametrize("bad", ["a/b", "pix el", "p?x=1", "p#x", "50%"])
def test_ids_that_would_break_the_url_are_refused(bad):
    """An asset id becomes a path segment: characters that would change the URL are refused."""
    with pytest.raises(ValidationError) as info:
        Client(bad, "t")
    assert info.value.field == "pixel_id"
    with pytest.raises(ValidationError) as info:
        Client("p", "t", snap_app_id=bad)
    assert info.value.field == "snap_app_id"


def test_non_string_credentials_are_refused():
    """A number where an id or a token belongs is named, not stringified."""
    with pytest.raises(ValidationError, match="pixel_id: must be a string"):
        Client(12345, "t")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="access_token: must be a string"):
        Client("p", 42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- auth modes


def test_query_auth_is_the_default(snap_server, sleeps):
    """By default the token goes in the access_token parameter, as Snap documents v3."""
    with client_for(snap_server, snap_server.token, sleeps) as client:
        assert client.auth == "query"
        assert client.send([make_event(0)]).ok
    assert snap_server.received[0].auth == "query"


def test_bearer_auth_sends_a_header_and_no_query_parameter(snap_server, sleeps, answers):
    """auth='bearer' puts the token in Authorization: Bearer and nowhere in the URL."""
    with client_for(snap_server, snap_server.token, sleeps, auth="bearer") as client:
        assert client.send([make_event(0)]).ok
        assert client.validation_stats().live.event_count_past_hour == 1
    assert [r.auth for r in snap_server.received] == ["bearer", "bearer"]
    assert snap_server.received[0].headers.get("Authorization") == "[redacted]"


def test_bearer_auth_with_a_wrong_token_is_refused(snap_server, sleeps, answers):
    """A refused Bearer token raises AuthenticationError like a refused query token."""
    with (
        client_for(snap_server, "wrong", sleeps, auth="bearer") as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.send([make_event(0)])
    assert info.value.status_code == 401
    assert "wrong" not in str(info.value)


@pytest.mark.parametrize("mode", ["header", "Bearer", "", None])
def test_an_unknown_auth_mode_is_named(mode):
    """auth must be 'query' or 'bearer'; anything else is a ValidationError naming auth."""
    with pytest.raises(ValidationError) as info:
        Client("p", "t", auth=mode)  # type: ignore[arg-type]
    assert info.value.field == "auth"


# --------------------------------------------------------------------------- token callables


def test_a_token_callable_is_asked_lazily_and_cached(snap_server, sleeps, answers):
    """The callable is not asked at construction; once on the first request; then reused."""
    tokens = Tokens(snap_server.token)
    client = client_for(snap_server, tokens, sleeps, batch_size=1)
    assert tokens.calls == 0
    with client:
        assert client.send([make_event(i) for i in range(3)]).ok
        assert client.validation_stats().live.event_count_past_hour == 3
    assert tokens.calls == 1


@pytest.mark.parametrize("auth", ["query", "bearer"])
def test_a_rotated_token_is_refreshed_once_and_the_request_retried(
    snap_server, sleeps, answers, auth
):
    """After a 401 the callable is asked again and the same request retried, once."""
    tokens = Tokens("token-v1", "token-v2")
    snap_server.token = "token-v1"
    with client_for(snap_server, tokens, sleeps, auth=auth) as client:
        assert client.send([make_event(0)]).ok
        snap_server.token = "token-v2"
        result = client.send([make_event(1), make_event(2)])
    assert result.ok
    assert [r.attempts for r in result.events] == [2, 2]
    assert tokens.calls == 2
    assert snap_server.request_count == 3
    assert sleeps == []  # a refresh is not a backoff


def test_a_refreshed_token_that_is_refused_again_raises(snap_server, sleeps, answers):
    """The retry after a refresh is made once: a second 401 raises AuthenticationError."""
    tokens = Tokens("stale-1", "stale-2", "stale-3")
    with (
        client_for(snap_server, tokens, sleeps) as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.send([make_event(0), make_event(1)])
    assert snap_server.request_count == 2
    assert tokens.calls == 2
    assert [r.status for r in info.value.result.events] == [EventStatus.FAILED] * 2
    assert [r.attempts for r in info.value.result.events] == [2, 2]


def test_a_callable_returning_the_same_token_is_not_retried(snap_server, sleeps):
    """When the callable has nothing new, the 401 stands after one request."""
    tokens = Tokens("never-good")
    with client_for(snap_server, tokens, sleeps) as client, pytest.raises(AuthenticationError):
        client.send([make_event(0)])
    assert (snap_server.request_count, tokens.calls) == (1, 2)


def test_a_static_token_is_not_retried_after_a_401(snap_server, sleeps, answers):
    """A plain string token behaves as before: one request, then AuthenticationError."""
    with (
        client_for(snap_server, "not-the-token", sleeps) as client,
        pytest.raises(AuthenticationError),
    ):
        client.send([make_event(0)])
    assert snap_server.request_count == 1


def test_workers_refused_together_ask_the_callable_once(snap_server, sleeps):
    """Several batches refused with the same stale token share one refresh."""
    tokens = Tokens("token-v1", "token-v2", "token-v3")
    snap_server.token = "token-v1"
    with client_for(snap_server, tokens, sleeps, batch_size=1, max_workers=4) as client:
        assert client.send([make_event(0)]).ok
        snap_server.token = "token-v2"
        result = client.send([make_event(i) for i in range(1, 9)])
    assert result.ok
    assert tokens.calls == 2


@pytest.mark.parametrize(
    ("provider", "says"),
    [
        (lambda: "", "empty"),
        (lambda: "   ", "empty"),
        (lambda: None, "returned NoneType"),
        (lambda: b"bytes-token", "returned bytes"),
    ],
    ids=["empty", "blank", "none", "bytes"],
)
def test_a_callable_without_a_usable_token_is_a_validation_error(
    snap_server, sleeps, provider, says
):
    """A callable giving no usable token stops the send with a ValidationError and .result."""
    with (
        client_for(snap_server, provider, sleeps) as client,
        pytest.raises(ValidationError) as info,
    ):
        client.send([make_event(0), make_event(1)])
    assert info.value.field == "access_token"
    assert says in str(info.value)
    results = info.value.result.events
    assert [r.status for r in results] == [EventStatus.FAILED] * 2
    assert results[0].reason.startswith("not sent: access_token:")
    assert snap_server.request_count == 0


def test_a_callable_that_raises_is_a_validation_error_hiding_its_message(snap_server, sleeps):
    """The provider's exception is chained, its type named, its message (maybe secret) not."""

    def vault():
        raise RuntimeError("vault unreachable; refresh token rt-SECRET-42")

    with client_for(snap_server, vault, sleeps) as client:
        with pytest.raises(ValidationError) as info:
            client.send([make_event(0)])
        with pytest.raises(ValidationError, match="RuntimeError"):
            client.validation_logs()
    assert "RuntimeError" in str(info.value)
    assert "rt-SECRET-42" not in str(info.value)
    assert "rt-SECRET-42" not in info.value.result.events[0].reason
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_callable_failing_at_refresh_keeps_what_was_settled(snap_server, sleeps):
    """A refresh that raises mid-send stops it; events settled before keep their status."""
    given = iter(["token-v1"])

    def provider():
        return next(given)  # asked again, it raises StopIteration

    def rotate(result):
        snap_server.token = "token-v2"  # after the first event, the token expires

    snap_server.token = "token-v1"
    with (
        client_for(snap_server, provider, sleeps, batch_size=1) as client,
        pytest.raises(ValidationError) as info,
    ):
        client.send([make_event(i) for i in range(3)], on_result=rotate)
    assert "StopIteration" in str(info.value)
    statuses = [r.status for r in info.value.result.events]
    assert statuses == [EventStatus.ACCEPTED, EventStatus.FAILED]
    assert info.value.result.events[1].http_status is None
    assert snap_server.event_ids() == {"e0"}


# --------------------------------------------------------------------------- secrecy


@pytest.mark.parametrize("auth", ["query", "bearer"])
def test_no_token_anywhere_whichever_form_it_takes(snap_server, sleeps, caplog, auth):
    """Every token a callable returned stays out of logs (urllib3 too), reprs, errors, results."""
    caplog.set_level(logging.DEBUG)
    tokens = Tokens("first-SECRET-token", "second-SECRET-token", "third-SECRET-token")
    snap_server.token = "first-SECRET-token"
    client = client_for(snap_server, tokens, sleeps, auth=auth, max_retries=1)
    snap_server.script("reset")
    first = client.send([make_event(0)])
    snap_server.token = "second-SECRET-token"
    second = client.send([make_event(1)])
    snap_server.token = "fourth-never-given"
    with pytest.raises(AuthenticationError) as info:
        client.send([make_event(2)])
    client.close()
    offline = client_for(snap_server, Tokens("offline-SECRET-token"), sleeps, max_retries=0)
    snap_server.stop()
    down = offline.send([make_event(3)])
    offline.close()
    shown = [
        "\n".join(record.getMessage() for record in caplog.records),
        repr(client),
        repr(offline),
        repr(client._http.token),
        str(info.value),
        repr(info.value),
        repr(info.value.args),
        *(repr(r) for result in (first, second, down, info.value.result) for r in result),
        *(str(r.to_dict()) for r in down),
    ]
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert down.events[0].status is EventStatus.FAILED
    for text in shown:
        assert "SECRET" not in text
    assert first.ok
    assert second.ok


def test_the_token_source_repr_hides_the_token():
    """A TokenSource shows its kind, never its value."""
    assert "abc" not in repr(TokenSource("abc"))
    source = TokenSource(lambda: "xyz")
    source.current()
    assert "xyz" not in repr(source)
    assert source.secrets == ("xyz",)


def test_an_error_answer_quoting_the_token_is_scrubbed(snap_server, sleeps, answers):
    """Should Snap echo the token in an error, results and exceptions still never show it."""
    echo = {"status": "INVALID", "error_msgs": [f"token {snap_server.token} lacks access"]}
    snap_server.script(400, echo)
    snap_server.script(401, {"status": "INVALID", "reason": f"bad {snap_server.token}"})
    with client_for(snap_server, snap_server.token, sleeps) as client:
        rejected = client.send([make_event(0)]).events[0]
        with pytest.raises(AuthenticationError) as info:
            client.validation_stats()
    assert rejected.messages == ("token *** lacks access",)
    assert snap_server.token not in rejected.reason
    assert snap_server.token not in str(info.value)
