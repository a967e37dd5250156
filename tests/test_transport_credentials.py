"""Credentials against the fake server: blank ids refused, token callables, auth modes, secrecy."""

from __future__ import annotations

import logging
import random
import socket
import threading
import traceback
from urllib.parse import quote, quote_plus

import pytest
import requests
import urllib3
from conftest import make_event

from snapcapi import (
    APIError,
    AuthenticationError,
    Client,
    EventStatus,
    TransportError,
    ValidationError,
)
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
    options.setdefault("base_url", server.url)
    return Client(server.pixel_id, token, sleep=sleeps, **options)


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
        (lambda: "", "returned an empty string"),
        (lambda: "   ", "returned a blank string"),
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


def _frames_holding(exc: BaseException, secrets: tuple[str, ...]) -> list[str]:
    """Where a traceback of ``exc`` shown with its locals would show a secret (this file aside)."""
    found, stack, seen = (
        [],
        [traceback.TracebackException.from_exception(exc, capture_locals=True)],
        set(),
    )
    while stack:
        shown = stack.pop()
        if id(shown) in seen:
            continue
        seen.add(id(shown))
        for frame in shown.stack:
            if frame.filename == __file__:
                continue  # the test's own frames hold the token it gave, of course
            for name, value in (frame.locals or {}).items():
                if any(secret in value for secret in secrets):
                    found.append(f"{frame.filename}:{frame.name}: {name}")
        stack.extend(linked for linked in (shown.__cause__, shown.__context__) if linked)
        found.extend(
            f"message of {type(exc).__name__}"
            for secret in secrets
            if secret in "".join(shown.format_exception_only())
        )
    return found


@pytest.mark.parametrize("auth", ["query", "bearer"])
@pytest.mark.parametrize("kind", ["string", "callable"])
def test_no_error_carries_a_frame_holding_the_token(snap_server, sleeps, auth, kind):
    """Every error path: a traceback printed with capture_locals=True never shows the token."""
    secrets = ("tok-A-s3cr3t", "tok-B-s3cr3t")
    snap_server.token = secrets[1]  # the client's token is refused
    token = Tokens(secrets[0]) if kind == "callable" else secrets[0]
    errors: list[BaseException] = []
    with client_for(snap_server, token, sleeps, auth=auth) as client:
        with pytest.raises(AuthenticationError) as refused:
            client.send([make_event(1), make_event(2)])
        errors.append(refused.value)
        with pytest.raises(AuthenticationError) as refused_get:
            client.validation_logs()
        errors.append(refused_get.value)
        snap_server.script(418)
        snap_server.token = secrets[0]
        with pytest.raises(APIError) as other:
            client.validation_stats()
        errors.append(other.value)
    with client_for(
        snap_server, token, sleeps, auth=auth, base_url="http://127.0.0.1:9", max_retries=0
    ) as dead:
        with pytest.raises(TransportError) as unreachable:
            dead.validation_stats()
        errors.append(unreachable.value)
        down = dead.send([make_event(3)])  # from send, a transport error is a FAILED result
    assert down.events[0].status is EventStatus.FAILED
    assert not any(secret in str(down.events[0].to_dict()) for secret in secrets)
    assert isinstance(unreachable.value.__cause__, requests.ConnectionError)  # chained, bare
    for error in errors:
        assert _frames_holding(error, secrets) == [], type(error).__name__


#: A token whose URL-encoded forms differ from it, as the query string carries it.
ENCODED_TOKEN = "tok/A+s3cr3t=="
ENCODED_FORMS = (ENCODED_TOKEN, quote(ENCODED_TOKEN, safe=""), quote_plus(ENCODED_TOKEN))


class RawServer:
    """A server on loopback that reads a request and writes ``reply`` (None: never answers).

    After a reply it closes the connection, so a reply shorter than its Content-Length is an
    answer cut short.
    """

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection = self.listener.accept()[0]
            except OSError:
                return
            if self.reply is None:
                self.held.append(connection)
                continue
            with connection:
                try:
                    connection.recv(65536)
                    connection.sendall(self.reply)
                except OSError:
                    continue

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def hanging():
    server = RawServer(None)
    yield server
    server.close()


@pytest.fixture
def cutting():
    server = RawServer(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"status":')
    yield server
    server.close()


class Raising(requests.adapters.HTTPAdapter):
    """An adapter (a user's session might mount one) failing with no requests exception."""

    def send(self, request, **kwargs):
        raise ValueError("the adapter broke")


def _gets(client: Client) -> list[BaseException]:
    """Every exception the two GETs raise."""
    errors = []
    for call in (client.validation_logs, client.validation_stats):
        with pytest.raises(BaseException) as info:  # noqa: PT011 (any failure will do)
            call()
        errors.append(info.value)
    return errors


@pytest.mark.parametrize("auth", ["query", "bearer"])
@pytest.mark.parametrize("kind", ["string", "callable"])
def test_no_transport_failure_carries_the_token_in_any_form(
    snap_server, hanging, cutting, auth, kind
):
    """Refused, timed out, cut short, a broken adapter: no frame shows the token, raw or encoded."""
    token = Tokens(ENCODED_TOKEN) if kind == "callable" else ENCODED_TOKEN
    errors: list[BaseException] = []
    options = {"auth": auth, "max_retries": 0, "timeout": 0.5}
    for url in ("http://127.0.0.1:9", hanging.url, cutting.url):
        with Client("pixel", token, base_url=url, **options) as client:
            errors.extend(_gets(client))
    session = requests.Session()
    session.mount("http://", Raising())
    with Client("pixel", token, base_url=snap_server.url, session=session, **options) as client:
        errors.extend(_gets(client))
        for call in (client.send, client.validate):
            with pytest.raises(ValueError, match="the adapter broke") as from_call:
                call([make_event(0)])
            errors.append(from_call.value)
    assert {type(error).__name__ for error in errors} == {"TransportError", "ValueError"}
    for error in errors:
        assert _frames_holding(error, ENCODED_FORMS) == [], type(error).__name__


@pytest.mark.parametrize("auth", ["query", "bearer"])
def test_ctrl_c_inside_urllib3_carries_no_frame_holding_the_token(hanging, monkeypatch, auth):
    """KeyboardInterrupt while urllib3 handles a timeout: neither it nor its context shows it."""
    close = urllib3.connection.HTTPConnection.close

    def interrupted(self):
        close(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "close", interrupted)
    client = Client("pixel", ENCODED_TOKEN, base_url=hanging.url, auth=auth, timeout=0.5)
    with pytest.raises(KeyboardInterrupt) as info:
        client.validation_logs()
    monkeypatch.undo()
    client.close()
    assert info.value.__context__ is not None  # what urllib3 was handling: the timeout
    assert _frames_holding(info.value, ENCODED_FORMS) == []


@pytest.mark.parametrize("bad", ["tok en", "tok\nen", "tök-en", "tok\x00en"])
def test_a_token_no_header_can_carry_is_refused_unquoted(snap_server, sleeps, bad):
    """A token with a space, control or non-ASCII character: ValidationError, token unquoted."""
    with pytest.raises(ValidationError) as given:
        Client("pixel", bad)
    with (
        client_for(snap_server, lambda: bad, sleeps) as client,
        pytest.raises(ValidationError) as returned,
    ):
        client.send([make_event(0)])
    for error in (given.value, returned.value):
        assert error.field == "access_token"
        assert bad not in str(error)
    assert snap_server.request_count == 0


def test_a_failing_refresh_carries_no_frame_holding_the_token(snap_server, sleeps):
    """The token callable failing after a 401, from send and from a GET: no frame shows it."""
    given = ["tok-A-s3cr3t"]

    def provider():
        if not given:
            raise RuntimeError("vault sealed")
        return given.pop()

    snap_server.token = "tok-B-s3cr3t"
    with client_for(snap_server, provider, sleeps) as client:
        with pytest.raises(ValidationError) as from_send:
            client.send([make_event(0)])
        with pytest.raises(ValidationError) as from_get:
            client.validation_logs()
    for error in (from_send.value, from_get.value):
        assert "RuntimeError" in str(error)
        assert isinstance(error.__cause__, RuntimeError)
        assert _frames_holding(error, ("tok-A-s3cr3t", "tok-B-s3cr3t")) == []


# --------------------------------------------------------------------------- refreshing together


def test_concurrent_refreshes_of_a_refused_token_ask_once():
    """Eight threads refused with one token, the callable giving it back: one call between them."""
    calls = Tokens("T1")
    source = TokenSource(calls)
    source.start_call()
    assert source.current() == "T1"
    barrier = threading.Barrier(8)
    answers = []

    def refused() -> None:
        barrier.wait()
        answers.append(source.refresh("T1"))

    threads = [threading.Thread(target=refused) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [None] * 8
    assert calls.calls == 2  # the first token, then one refresh
    assert source.refresh("T1") is None
    assert calls.calls == 2  # a later request of the same call: nothing new to ask
    source.start_call()
    assert source.refresh("T1") is None
    assert calls.calls == 3  # the next call asks again: the token may have been renewed


def test_workers_refused_with_a_token_the_callable_keeps_returning_ask_once(snap_server, sleeps):
    """8 workers, 8 requests refused together, the callable stuck on the old token: 1 refresh."""
    tokens = Tokens("T1")
    snap_server.token = "T1"
    with client_for(snap_server, tokens, sleeps, batch_size=10, max_workers=8) as client:
        assert client.send([make_event(0)]).ok
        snap_server.token = "T2"
        with pytest.raises(AuthenticationError):
            client.send(make_event(i) for i in range(80))
    assert tokens.calls == 2
    assert all(received.status == 401 for received in snap_server.received[1:])


# --------------------------------------------------------------------------- blank environment


def test_a_blank_environment_variable_is_named_with_flag_advice(monkeypatch):
    """SNAP_PIXEL_ID='  ' alone: the error says it is blank, and names --pixel-id for the CLI."""
    monkeypatch.setenv("SNAP_PIXEL_ID", "  ")
    monkeypatch.delenv("SNAP_APP_ID", raising=False)
    with pytest.raises(ValidationError) as info:
        Client(access_token="t")
    error = info.value
    assert error.field == "pixel_id"
    assert "SNAP_PIXEL_ID is set but blank" in error.problem
    assert "give pixel_id='YOUR_PIXEL_ID'" in str(error)
    assert "pass --pixel-id ID" in error.explain("cli")
    assert "Client(" not in error.explain("cli")

    monkeypatch.setenv("SNAP_ACCESS_TOKEN", " \t")
    with pytest.raises(ValidationError) as info:
        Client("pixel")
    error = info.value
    assert error.field == "access_token"
    assert "SNAP_ACCESS_TOKEN is set but blank" in error.problem
    assert "give access_token='YOUR_ACCESS_TOKEN'" in str(error)
    assert "pass --token-file PATH" in error.explain("cli")


def test_the_command_line_words_a_blank_pixel_id_as_flags(monkeypatch, tmp_path, capsys):
    """snapcapi send with SNAP_PIXEL_ID='  ': --pixel-id advice, no Python words."""
    from snapcapi import cli

    rows = tmp_path / "orders.csv"
    rows.write_text("email,value,currency,order_id\na@example.com,10,USD,o1\n", encoding="utf-8")
    monkeypatch.setenv("SNAP_PIXEL_ID", "  ")
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", "t")
    monkeypatch.delenv("SNAP_APP_ID", raising=False)
    argv = ["send", str(rows), "--action-source", "OFFLINE", "--event-name", "PURCHASE"]
    assert cli.main(argv) == 2
    said = capsys.readouterr().err
    assert "no Pixel ID: WEB and OFFLINE events go to --pixel-id ID" in said
    assert "SNAP_PIXEL_ID is set but blank" in said
    assert "Client(" not in said
