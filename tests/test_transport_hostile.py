"""A hostile network against real local servers: slow, huge, forked, proxied, TLS-stripped."""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import requests
from conftest import make_event, self_signed_certificate

from snapcapi import APIError, Client, EventStatus, ValidationError
from snapcapi.testing import FakeSnapServer

#: What a bound may add to the deadline it checks: scheduling, not speed.
SLACK = 5.0


def client_for(server: FakeSnapServer, **options) -> Client:
    """A client of the fake with real sleeps (deadlines are about real time)."""
    return Client(server.pixel_id, server.token, base_url=server.url, **options)


# --------------------------------------------------------------------------- timeouts, deadline


def test_a_dripping_server_cannot_stretch_a_send_past_its_deadline(snap_server):
    """timeout bounds the whole answer: a byte every 0.25 s ends within the deadline."""
    snap_server.script(200, drip=0.25, times=10)
    with client_for(snap_server, timeout=1, max_retries=2) as client:
        assert client.deadline == 4.5  # 3 attempts of 1 s, backoff ceilings 0.5 s and 1 s
        started = time.monotonic()
        result = client.send([make_event(0)])
        elapsed = time.monotonic() - started
    assert elapsed < client.deadline + SLACK
    event = result.events[0]
    assert event.status is EventStatus.FAILED
    assert event.reason.startswith("timed out: no complete answer within 1s")
    assert event.reason.endswith("safe to resend (the event_id deduplicates)")
    assert event.attempts == snap_server.request_count == 3


def test_a_dripping_server_cannot_stretch_a_get(snap_server):
    """The GET endpoints are bounded the same way: TransportError within the deadline."""
    snap_server.script(200, drip=0.25, times=10)
    with client_for(snap_server, timeout=1, max_retries=1) as client:
        started = time.monotonic()
        with pytest.raises(Exception, match="timed out") as info:
            client.validation_stats()
        assert time.monotonic() - started < client.deadline + SLACK
    assert type(info.value).__name__ == "TransportError"


def test_the_deadline_option_bounds_the_retries(snap_server):
    """deadline= stops retrying once another attempt would not fit, whatever max_retries says."""
    snap_server.script(200, drip=0.25, times=20)
    with client_for(snap_server, timeout=1, max_retries=10, deadline=2.5) as client:
        started = time.monotonic()
        result = client.send([make_event(0)])
        assert time.monotonic() - started < 2.5 + SLACK
    assert result.events[0].status is EventStatus.FAILED
    assert result.events[0].attempts <= 4
    assert "safe to resend" in result.events[0].reason


def test_a_wait_past_the_deadline_is_not_made(snap_server, sleeps):
    """A Retry-After longer than the time left ends the request at once: FAILED, no sleep."""
    snap_server.script(503, headers={"Retry-After": "50"}, times=3)
    with client_for(snap_server, deadline=20, retry_after_max=60, sleep=sleeps) as client:
        event = client.send([make_event(0)]).events[0]
    assert sleeps == []
    assert event.status is EventStatus.FAILED
    assert event.reason == "HTTP 503 after 1 attempt; safe to resend (the event_id deduplicates)"
    assert snap_server.request_count == 1


def test_ctrl_c_ends_a_backoff_wait_at_once(snap_server):
    """A worker waiting out a Retry-After stops waiting, and retries nothing, on Ctrl-C."""
    snap_server.script(503, headers={"Retry-After": "40"})

    def events():
        yield from (make_event(i) for i in range(2))  # one full batch, handed to a worker
        while snap_server.request_count < 1:  # the batch got its 503: the worker waits
            time.sleep(0.01)
        time.sleep(0.2)
        raise KeyboardInterrupt

    client = client_for(snap_server, max_workers=2, batch_size=2, retry_after_max=60)
    with pytest.raises(KeyboardInterrupt):
        client.send(events())
    workers = [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]
    for worker in workers:
        worker.join(10)  # a bound: the wait asked for is 40 s
    assert not any(worker.is_alive() for worker in workers)
    assert snap_server.request_count == 1  # no retry after the stop
    client.close()


@pytest.mark.parametrize("option", ["timeout", "deadline"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0, -1, True, "5", [1]])
def test_timeouts_must_be_finite_positive_seconds(option, value):
    """timeout= and deadline= refuse NaN, infinity, zero, negatives, booleans and non-numbers."""
    with pytest.raises(ValidationError) as info:
        Client("pixel", "token", **{option: value})
    assert info.value.field == option
    assert "number of seconds > 0" in str(info.value)


# --------------------------------------------------------------------------- size


def _peak_while(call):
    """Run ``call``; return its result and the peak of memory allocated meanwhile (bytes)."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param({"size": 300 * 2**20}, id="300 MB streamed"),
        pytest.param({"size": 300 * 2**20, "gzip": True}, id="gzip bomb"),
        pytest.param({"body": b"x" * (5 * 2**20)}, id="5 MB with Content-Length"),
    ],
)
def test_a_huge_answer_is_not_read_and_fails_the_events(snap_server, hostile):
    """At most 4 MiB of a body is read, inflated size counted; the events are FAILED."""
    snap_server.script(200, **hostile)
    with client_for(snap_server, max_retries=0) as client:
        result, peak = _peak_while(lambda: client.send([make_event(0)]))
    assert peak < 100 * 2**20  # a bound: the whole answer would be 300 MB
    event = result.events[0]
    assert event.status is EventStatus.FAILED
    assert "the body is larger than 4 MiB" in event.reason
    assert "safe to resend" in event.reason


def test_a_gzip_bomb_from_a_get_is_an_error(snap_server):
    """A GET answered with a gzip bomb raises APIError saying why, memory bounded."""
    snap_server.script(200, size=300 * 2**20, gzip=True)
    client = client_for(snap_server, max_retries=0)
    tracemalloc.start()
    try:
        with pytest.raises(APIError, match="larger than 4 MiB"):
            client.validation_logs()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        client.close()
    assert peak < 100 * 2**20


def test_gzip_answers_are_read(snap_server):
    """A gzip-encoded answer of normal size is decompressed and judged as usual."""
    snap_server.script(400, {"status": "INVALID", "reason": "bad event"}, gzip=True)
    with client_for(snap_server, max_retries=0) as client:
        event = client.send([make_event(0)]).events[0]
    assert event.status is EventStatus.REJECTED
    assert event.reason == "bad event"


# --------------------------------------------------------------------------- base URLs


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example\\@127.0.0.1",
        "http://evil.example\\.127.0.0.1",
        "https://tr.snapchat.com\\@127.0.0.1",
        "http://user@127.0.0.1:9",
        "http://user:password@127.0.0.1:9",
        "http://127.0.0.1:9@evil.example",
        "http://127.0.0.1:9/a b",
        "http://127.0.0.1:9/\tx",
        "http://127.0.0.1:9/\x00",
        "http://127.0.0.1:9/\u2028x",
        "http://127.0.0.1\r\nHost: evil.example",
        "http://[::1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
        "https://tr.snapchat.com?access=1",
        "https://tr.snapchat.com#x",
        "http://evil.example",
    ],
)
def test_base_urls_parsers_disagree_on_are_refused(url):
    """A backslash, userinfo, whitespace, control characters or a bad host: ValidationError."""
    with pytest.raises(ValidationError) as info:
        Client("pixel", "token", base_url=url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9",
        "http://localhost:9",
        "http://LOCALHOST:9",
        "http://[::1]:9",
        "https://tr.snapchat.com",
        "https://tr.snapchat.com/",
        "https://tr.snapchat.com:443/prefix",
    ],
)
def test_plain_base_urls_are_accepted(url):
    """Ordinary https URLs and loopback http URLs are fine."""
    Client("pixel", "token", base_url=url).close()


# --------------------------------------------------------------------------- a raw server


def _read_request(conn: socket.socket) -> bytes:
    """Read one request (headers and a Content-Length body) from ``conn``."""
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")[1:])
         if k.strip().lower() == b"content-length"),
        0,
    )  # fmt: skip
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


class RawServer:
    """A loopback server that answers each request with ``answer(request) -> bytes chunks``."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = _read_request(conn)
                self.requests.append(request)
                for part in self.answer(request):
                    if isinstance(part, float):
                        time.sleep(part)
                    else:
                        conn.sendall(part)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw():
    servers: list[RawServer] = []

    def make(answer) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


# --------------------------------------------------------------------------- proxies


BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.fixture
def proxy(monkeypatch):
    """A "proxy" that records what it receives and answers 502, in every proxy variable."""
    recorder = RawServer(lambda request: [BAD_GATEWAY])
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, recorder.url)
    yield recorder
    recorder.close()


@pytest.mark.parametrize("auth", ["query", "bearer"])
def test_a_loopback_server_is_reached_without_the_environment_s_proxy(snap_server, proxy, auth):
    """HTTP_PROXY and friends are skipped for a loopback base URL: the token never goes there."""
    with client_for(snap_server, auth=auth, max_retries=0) as client:
        assert client.send([make_event(0)]).ok
        assert client.validation_stats() is not None
    assert proxy.requests == []
    assert snap_server.event_ids() == {"e0"}


def test_a_session_s_own_proxies_are_skipped_for_a_loopback_server(snap_server, proxy):
    """Proxies set on a session given to the client are skipped for loopback hosts too."""
    session = requests.Session()
    session.proxies = {"http": proxy.url, "https": proxy.url, "all": proxy.url}
    local = snap_server.url.replace("127.0.0.1", "localhost")
    with Client(snap_server.pixel_id, snap_server.token, base_url=local, session=session) as c:
        assert c.send([make_event(1)]).ok
    assert proxy.requests == []


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for snap.test (and its key), made with openssl."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), "snap.test")


@pytest.fixture
def tls_server(certificate, monkeypatch):
    """A fake Snap over TLS with a self-signed certificate, reached as https://snap.test:PORT.

    snap.test resolves to 127.0.0.1 (the resolver is patched), so the client sees a host that
    is not loopback, and its loopback exemptions do not apply; the bytes still go to loopback.
    """
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    resolve = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        return resolve("127.0.0.1" if host == "snap.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with FakeSnapServer(tls=context) as server:
        server.public_url = f"https://snap.test:{server.url.rsplit(':', 1)[1]}"
        yield server


@pytest.mark.parametrize("off", [False, 0, "", None])
def test_certificates_are_verified_whatever_the_session_says_later(tls_server, off):
    """verify turned off after the client was made, in any spelling: the token stays home."""
    session = requests.Session()
    with Client(
        tls_server.pixel_id, tls_server.token, base_url=tls_server.public_url,
        session=session, max_retries=0,
    ) as client:  # fmt: skip
        session.verify = off
        event = client.send([make_event(0)]).events[0]
        with pytest.raises(Exception, match="TLS failed"):
            client.validation_logs()
    assert event.status is EventStatus.FAILED
    assert event.reason.startswith("TLS failed")
    assert tls_server.request_count == 0  # no request got past the handshake


def test_a_ca_bundle_the_session_names_is_used(tls_server, certificate):
    """A session naming a CA bundle that signs the server's certificate gets through."""
    session = requests.Session()
    session.verify = str(certificate[0])
    with Client(
        tls_server.pixel_id, tls_server.token, base_url=tls_server.public_url, session=session
    ) as client:
        assert client.send([make_event(0)]).ok
    assert tls_server.event_ids() == {"e0"}


@pytest.mark.parametrize("host", ["snap.test", "127.0.0.1"], ids=["public", "loopback"])
def test_a_session_s_ca_bundle_beats_the_environment_s(tmp_path, monkeypatch, host):
    """REQUESTS_CA_BUNDLE naming another CA does not replace the bundle the session names."""
    cert, key = self_signed_certificate(tmp_path, host)
    (tmp_path / "other").mkdir()
    other, _ = self_signed_certificate(tmp_path / "other", "elsewhere.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    resolve = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda name, *a, **k: resolve("127.0.0.1" if name == "snap.test" else name, *a, **k),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    session = requests.Session()
    session.verify = str(cert)
    with FakeSnapServer(tls=context) as server:
        url = f"https://{host}:{server.url.rsplit(':', 1)[1]}"
        with Client(server.pixel_id, server.token, base_url=url, session=session) as client:
            assert client.send([make_event(0)]).ok
        assert server.event_ids() == {"e0"}


@pytest.mark.parametrize("off", [False, 0, "", None])
def test_a_session_with_verification_off_is_refused(off):
    """A session whose verify is off in any spelling is refused when the client is made."""
    session = requests.Session()
    session.verify = off
    with pytest.raises(ValidationError) as info:
        Client("pixel", "token", session=session)
    assert info.value.field == "session"
    assert "CA bundle" in str(info.value)


# --------------------------------------------------------------------------- fork


_FORKED = """
import json, os, sys
sys.path.insert(0, {tests!r})
from conftest import make_event
import snapcapi

client = snapcapi.Client({pixel!r}, {token!r}, base_url={url!r}, batch_size=1, max_retries=0)
assert client.send([make_event(1000)]).ok  # the parent's keep-alive connection, pooled
pid = os.fork()
first = 0 if pid == 0 else 100
result = client.send([make_event(first + i) for i in range(100)])
rows = [[event.event_id, event.status.value] for event in result.events]
if pid == 0:
    with open({child!r}, "w") as out:
        json.dump(rows, out)
    os._exit(0)
os.waitpid(pid, 0)
with open({child!r}) as given:
    print(json.dumps(json.load(given) + rows))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_client_shared_across_fork_reads_only_its_own_answers(snap_server, tmp_path):
    """Parent and child send with one client after fork: each event's status is the server's."""
    rejected = {f"e{i}" for i in range(0, 200, 3)}
    for event_id in rejected:
        snap_server.reject(event_id)
    script = _FORKED.format(
        tests=str(Path(__file__).parent),
        pixel=snap_server.pixel_id,
        token=snap_server.token,
        url=snap_server.url,
        child=str(tmp_path / "child.json"),
    )
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    rows = json.loads(completed.stdout)
    assert len(rows) == 200
    accepted = snap_server.event_ids()
    expected = [
        [event_id, "REJECTED" if event_id in rejected else "ACCEPTED"] for event_id, _ in rows
    ]
    assert rows == expected
    assert accepted == {event_id for event_id, status in rows if status == "ACCEPTED"} | {"e1000"}


# --------------------------------------------------------------------------- raw hostile answers

PIXEL = "11111111-2222-3333-4444-555555555555"
TOKEN = "AbC+dEf/GhI=jkl_SECRET"


def _answer(body: bytes, status: bytes = b"200 OK", headers: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nConnection: close\r\nContent-Length: %d\r\n" % len(body)
        + headers + b"\r\n" + body
    )  # fmt: skip


def _raw_client(server: RawServer, **options) -> Client:
    return Client(PIXEL, TOKEN, base_url=server.url, max_retries=0, **options)


@pytest.mark.parametrize("depth", [500, 900])
def test_a_deeply_nested_answer_is_read_without_recursion(raw, depth):
    """JSON nested hundreds deep, which json.loads takes, reaches no recursive walk."""
    body = b'{"status":"SUCCESS","x":' + b"[" * depth + b"]" * depth + b"}"
    server = raw(lambda request: [_answer(body)])
    with _raw_client(server) as client:
        assert client.send([make_event(0)]).events[0].status is EventStatus.ACCEPTED
        client.validation_stats()
        client.validation_logs()


def test_a_token_echoed_in_a_body_is_redacted_before_it_is_parsed(raw):
    """Raw, URL-encoded and JSON-escaped spellings of the token are gone from the reason."""
    escaped = json.dumps(TOKEN)[1:-1].replace("/", "\\/").replace("+", "\\u002b")
    body = json.dumps({"status": "INVALID", "reason": f"saw {TOKEN} and "}).encode()[:-2]
    body += f' and {escaped} and access_token=%41bc\\"x"}}'.encode()
    server = raw(lambda request: [_answer(body, b"400 Bad Request")])
    with _raw_client(server) as client:
        reason = client.send([make_event(0)]).events[0].reason
    assert reason.startswith("saw *** and  and *** and access_token=***")
    assert TOKEN not in reason
    assert "GhI" not in reason


@pytest.mark.parametrize(
    "declared", [b"\xb2", b"9" * 5_000, b"0" * 5_000 + b"2"], ids=["unicode", "huge", "zeros"]
)
def test_a_content_length_python_cannot_read_is_no_crash(raw, declared):
    """``Content-Length: ²`` or 5,000 digits (past int()'s limit) raise nothing of ours."""
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + declared + b"\r\n\r\n"
    server = raw(lambda request: [answer])
    with _raw_client(server) as client:
        event = client.send([make_event(0)]).events[0]
    assert event.status in (EventStatus.ACCEPTED, EventStatus.FAILED)


def test_an_encoding_header_echoing_the_token_is_not_quoted(raw):
    """A Content-Encoding naming the token: the reason and the GET's error say no header."""

    def answer(request: bytes):
        return [_answer(b"{}", headers=b"Content-Encoding: " + TOKEN.encode() + b"\r\n")]

    server = raw(answer)
    with _raw_client(server) as client:
        reason = client.send([make_event(0)]).events[0].reason
        with pytest.raises(APIError) as info:
            client.validation_stats()
    for text in (reason, str(info.value)):
        assert "an encoding snapcapi did not ask for" in text
        assert "GhI" not in text
        assert "access_token" not in text


@pytest.mark.parametrize("auth", ["query", "bearer"])
def test_warnings_with_a_traceback_quoting_the_request_keep_no_token(raw, auth):
    """urllib3 logs a header parsing failure with exc_info: its traceback text is redacted."""

    def answer(request: bytes):
        quoted = request.split(b"\r\n")[0] + b"\r\nAuthorization " + TOKEN.encode()
        return [_answer(b"{}", headers=b"X-Seen: yes\r\n" + quoted + b"\r\n")]

    server = raw(answer)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("urllib3")
    logger.addHandler(handler)
    try:
        with _raw_client(server, auth=auth) as client:
            client.send([make_event(0)])
    finally:
        logger.removeHandler(handler)
    assert records, "urllib3 logged no warning: the test proves nothing"
    formatter = logging.Formatter()
    text = "\n".join(formatter.format(record) for record in records)
    assert "HeaderParsingError" in text
    for spelling in (TOKEN, "AbC%2BdEf", "GhI"):
        assert spelling not in text


_FORK_IN_CALLABLE = """
import os, sys, threading, time
sys.path.insert(0, {tests!r})
from conftest import make_event
from snapcapi import Client
inside = threading.Event()
def token():
    inside.set()
    time.sleep(3)
    return "tok"
client = Client({pixel!r}, token, base_url={url!r}, max_retries=0, timeout=2)
threading.Thread(target=lambda: client.send([make_event(0)]), daemon=True).start()
inside.wait()
pid = os.fork()
if pid == 0:
    status = client.send([make_event(1)]).events[0].status.name
    os._exit(0 if status == "ACCEPTED" else 1)
_, code = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(code))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_while_the_token_callable_runs_does_not_hang_the_child(snap_server):
    """The token source's lock, held by a thread that is not in the child, is made anew."""
    script = _FORK_IN_CALLABLE.format(
        tests=str(Path(__file__).parent),
        pixel=snap_server.pixel_id,
        url=snap_server.url,
    )
    snap_server.token = "tok"
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "0"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_dripped_body_is_bounded_with_a_session_of_ones_own(raw, chunked):
    """With session=, the body of an answer dripping a byte at a time ends by the deadline."""

    def answer(request: bytes):
        if chunked:
            yield b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            for _ in range(60):
                yield b"1\r\n \r\n"
                yield 0.25
            yield b"0\r\n\r\n"
        else:
            yield b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n"
            for _ in range(60):
                yield b" "
                yield 0.25

    server = raw(answer)
    with requests.Session() as session, _raw_client(server, timeout=1, session=session) as client:
        started = time.monotonic()
        event = client.send([make_event(0)]).events[0]
        assert time.monotonic() - started < client.deadline + 1 + SLACK  # 15 s unbounded
    assert event.status is EventStatus.FAILED
    assert event.reason.startswith("timed out")


@pytest.mark.parametrize("interim", [b"102 Processing", b"103 Early Hints"])
def test_interim_answers_are_skipped_for_the_final_one(raw, interim):
    """102 and 103 before the 200: the events are ACCEPTED, as the server answered."""
    head = b"HTTP/1.1 " + interim + b"\r\nLink: </a.css>; rel=preload\r\n\r\n"
    server = raw(lambda request: [head, _answer(b"")])
    with _raw_client(server) as client:
        result = client.send([make_event(0), make_event(1)])
    assert [e.status for e in result.events] == [EventStatus.ACCEPTED] * 2


@pytest.mark.parametrize("status", [b"101 Switching Protocols", b"999 Odd", b"000 None"])
def test_a_status_outside_the_final_ones_fails_the_events(raw, status):
    """A status that is no final HTTP answer leaves the events FAILED, safe to resend."""
    server = raw(lambda request: [_answer(b'{"status":"INVALID"}', status)])
    with _raw_client(server) as client:
        result = client.send([make_event(0), make_event(1)])
    for event in result.events:
        assert event.status is EventStatus.FAILED
        assert "safe to resend" in event.reason


def test_413_splitting_counts_against_the_isolation_budget(snap_server):
    """Splitting a too-large request stops after max_isolation_requests, events FAILED."""
    snap_server.script(413, times=10_000)
    with client_for(snap_server, max_retries=0, max_isolation_requests=10) as client:
        result = client.send([make_event(i) for i in range(64)])
    assert snap_server.request_count == 11  # was 127: 2n - 1
    assert {e.status for e in result.events} == {EventStatus.FAILED}
    assert "max_isolation_requests" in result.events[-1].reason


@pytest.mark.parametrize("where", ["environment", "session"])
def test_a_missing_ca_bundle_is_a_transport_failure(monkeypatch, where):
    """A CA bundle path that names no file: FAILED and TransportError, naming the setting."""
    session = requests.Session()
    if where == "environment":
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    else:
        session.verify = "/nonexistent/ca.pem"
    # An https host that is never reached: requests refuses before connecting.
    client = Client(PIXEL, TOKEN, base_url="https://snap.invalid", session=session, max_retries=0)
    with client:
        event = client.send([make_event(0)]).events[0]
        with pytest.raises(Exception, match="CA bundle") as info:
            client.validation_stats()
    assert event.status is EventStatus.FAILED
    assert "CA bundle" in event.reason
    assert type(info.value).__name__ == "TransportError"
    session.close()


def test_a_malformed_status_line_is_not_said_to_be_a_failure_to_connect(raw):
    """The server was reached: the reason says the answer was malformed, not 'could not connect'."""
    server = raw(lambda request: [b"HTTP/1.1 abc Odd\r\n\r\n"])
    with _raw_client(server) as client:
        event = client.send([make_event(0)]).events[0]
    assert event.status is EventStatus.FAILED
    assert event.reason.startswith("the connection broke or the answer was malformed")


@pytest.mark.parametrize("status", ["REJECTED", "DENIED", "PENDING"])
def test_a_2xx_whose_status_is_no_success_word_fails_the_events(raw, status):
    """Only VALID, SUCCESS, OK, ACCEPTED (or no status) prove a success; anything else FAILED."""
    body = json.dumps({"status": status}).encode()
    server = raw(lambda request: [_answer(body)])
    with _raw_client(server) as client:
        event = client.send([make_event(0)]).events[0]
    assert event.status is EventStatus.FAILED
    assert f"Snap's answer says {status}" in event.reason


def test_event_logs_are_read_with_spaces_around_the_status_and_none_is_no_verdict(raw):
    """A log saying " VALID " is VALID; a log with no status is no verdict: FAILED."""
    logs = [{"event": 0, "status": " VALID "}, {"event": 1}]
    body = json.dumps({"status": "VALID", "event_logs": logs}).encode()
    server = raw(lambda request: [_answer(body)])
    with _raw_client(server) as client:
        result = client.validate([make_event(0), make_event(1)])
    assert [e.status for e in result.events] == [EventStatus.ACCEPTED, EventStatus.FAILED]


def test_scrub_cleans_the_text_attributes_of_exceptions():
    """BadStatusLine.line (what the server sent) loses the token too."""
    import http.client

    from snapcapi._transport._redact import scrub

    exc = http.client.BadStatusLine(f"GET /?access_token={TOKEN} HTTP/1.1")
    scrub(exc, (TOKEN,))
    assert TOKEN not in exc.line
    assert TOKEN not in str(exc.args)
