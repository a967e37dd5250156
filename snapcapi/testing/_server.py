"""``FakeSnapServer``: the state of a fake ``tr.snapchat.com`` and its answers to each request.

The HTTP plumbing is in :mod:`snapcapi.testing._http`, Snap's rules in
:mod:`snapcapi.testing._rules` and the answer shapes in :mod:`snapcapi.testing._answers`;
this module holds what the server knows (token, asset ids, scripts, faults, rejections), what it
received, and the routing of one request to its answer.
"""

from __future__ import annotations

import json
import random
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import attrs

from snapcapi._convert import read_seconds
from snapcapi.errors import ValidationError
from snapcapi.testing import _answers, _rules
from snapcapi.testing._answers import Answers
from snapcapi.testing._http import PADDED_MINIMUM, Handler, Reply, Server
from snapcapi.testing._rules import Problem

__all__ = ["Auth", "FakeSnapServer", "Fault", "Received", "ScriptedResponse"]

#: A fault the random injector can pick: an HTTP status, or "reset" to drop the connection.
Fault = int | str
#: How a request carried its token: the ``access_token`` query parameter, an
#: ``Authorization: Bearer`` header, or not at all.
Auth = Literal["query", "bearer"] | None

_PATH = re.compile(r"/v3/(?P<asset>[^/]+)/events(?P<rest>/validate(?:/logs|/stats)?)?/?")
_BEARER = re.compile(r"[ \t]*Bearer[ \t]+(?P<token>[^ \t]+)[ \t]*", re.IGNORECASE)
_REQUEST_ID = "x-request-id"
_REDACTED = "[redacted]"


@attrs.frozen
class ScriptedResponse:
    """A response the server gives instead of processing the request.

    ``status`` ``"reset"`` resets the connection (TCP RST) without answering; ``"hang"``
    reads the request and never answers; ``"process"`` processes the request as usual (after
    ``delay``: a slow but successful answer). ``answers`` is the shape of the bodies the fake
    builds for it (``None``: the server's). ``drip``, ``size``, ``gzip`` and ``echo`` are the
    hostile answers of :meth:`FakeSnapServer.script`.
    """

    status: int | str
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    answers: Answers | None = None
    drip: float = 0.0
    size: int | None = None
    gzip: bool = False
    echo: bool = False


@attrs.frozen
class Received:
    """One request the server received (the access token is not kept).

    ``auth`` says how the token came: ``"query"`` when the ``access_token`` parameter was
    there (with or without a header), ``"bearer"`` when only an ``Authorization`` header
    carried it, ``None`` when neither did. ``request_id`` is the ``X-Request-Id`` of the
    answer (for a reset, the id it would have had). An ``Authorization`` header is recorded
    as ``"[redacted]"``.
    """

    method: str
    path: str
    asset_id: str | None
    endpoint: str
    headers: Mapping[str, str]
    body: Any
    status: int | str
    auth: Auth = None
    request_id: str = ""


@attrs.frozen
class _Request:
    """One request as the server reads it."""

    method: str
    path: str
    matched: bool
    asset_id: str | None
    endpoint: str
    headers: Mapping[str, str]
    body: Any
    query_token: str | None
    authorization: str | None

    @property
    def auth(self) -> Auth:
        if self.query_token is not None:
            return "query"
        return "bearer" if self.authorization is not None else None


def _parse(method: str, target: str, headers: Mapping[str, str], raw: bytes) -> _Request:
    """Read a request's route, token(s) and JSON body."""
    parts = urlsplit(target)
    match = _PATH.fullmatch(parts.path)
    rest = (match["rest"] or "") if match else ""
    endpoint = {"": "events", "/validate": "validate"}.get(rest, rest.rsplit("/", 1)[-1])
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    return _Request(
        method=method,
        path=parts.path,
        matched=match is not None,
        asset_id=match["asset"] if match else None,
        endpoint=endpoint,
        headers=headers,
        body=body,
        query_token=parse_qs(parts.query).get("access_token", [None])[0],
        authorization=authorization,
    )


def _auth_problem(request: _Request, token: str) -> str | None:
    """Return why the request's credentials are refused, or ``None`` when they are good."""
    presented: list[str] = []
    if request.query_token is not None:
        presented.append(request.query_token)
    if request.authorization is not None:
        bearer = _BEARER.fullmatch(request.authorization)
        if bearer is None:
            return "The Authorization header must be 'Bearer <access token>'"
        presented.append(bearer["token"])
    if not presented:
        return "No access token: pass ?access_token= or an Authorization: Bearer header"
    if len(set(presented)) > 1:
        return "The access_token parameter and the Authorization header disagree"
    return None if presented[0] == token else "Invalid access token"


def _redact(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: _REDACTED if k.lower() == "authorization" else v for k, v in headers.items()}


def _check_tls(tls: object) -> ssl.SSLContext | None:
    """Check the TLS context of a server: None, or a server side ``ssl.SSLContext``."""
    if tls is None or (isinstance(tls, ssl.SSLContext) and tls.check_hostname is False):
        return tls
    raise ValidationError("tls", "must be a server-side ssl.SSLContext (ssl.PROTOCOL_TLS_SERVER)")


def _check_hostile(body: Any, drip: Any, size: Any, echo: Any) -> None:
    """Check the hostile options of a scripted answer, naming the one that is wrong."""
    read_seconds("drip", drip, zero=True)
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < PADDED_MINIMUM:
            raise ValidationError(
                "size", f"must be a whole number of bytes >= {PADDED_MINIMUM}, got {size!r}"
            )
        if body is not None:
            raise ValidationError("size", "makes the body itself; give no body with it")
    if echo and body is not None:
        raise ValidationError("echo", "makes the body itself; give no body with it")


def _echo(method: str, target: str, headers: Mapping[str, str]) -> str:
    """Quote a request line and headers, as a misconfigured proxy's error page does."""
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return "\n".join(lines)


def _check_token(token: object) -> str:
    if not isinstance(token, str) or not token.strip():
        raise ValidationError("token", "must be a non-blank string")
    return token


class FakeSnapServer:
    """A fake of ``tr.snapchat.com`` on ``127.0.0.1``, in a background thread.

    Args:
        token: The access token it accepts, as ``?access_token=`` or as an
            ``Authorization: Bearer`` header; other tokens get 401. Reassign :attr:`token`
            while running to rotate it.
        pixel_id: The Pixel ID it knows. ``snap_app_id``: the Snap App ID it knows. Other asset
            ids get 404 unless ``any_asset`` is true.
        latency: Seconds to wait before answering each request (as a real network would).
        now: Clock for the time-window check (default ``time.time``).
        any_asset: Accept every asset id.
        port: The loopback port to listen on (default: any free one).
        record: Keep request bodies and accepted events (:attr:`received`, :attr:`events`).
            Turn it off for uploads of hundreds of thousands of events: then only
            :attr:`accepted_count` and :meth:`event_ids` are kept.
        answers: The shape of its error bodies: ``"documented"`` (Snap's schema: ``reason``,
            ``event`` index, ``errors.codes`` and ``errors.error_msgs``) or ``"live"`` (what a
            live Snap 400 has been seen to send: only a top-level ``error_msgs``). Settable
            while running as :attr:`answers`.
        tls: Serve HTTPS with this server-side context (its certificate loaded): the
            :attr:`url` is then ``https://``. A certificate your client does not trust makes
            the fake a stand-in for a man in the middle.

    Raises:
        ValidationError: ``answers`` is neither shape, ``token`` is blank, or ``tls`` is not
            a server-side ``ssl.SSLContext``.
    """

    def __init__(
        self,
        *,
        token: str = "fake-snap-token",
        pixel_id: str | None = None,
        snap_app_id: str | None = None,
        latency: float = 0.0,
        now: Callable[[], float] = time.time,
        any_asset: bool = False,
        record: bool = True,
        port: int = 0,
        answers: Answers = "documented",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._tls = _check_tls(tls)
        self._lock = threading.Lock()
        self._token = _check_token(token)
        self._answers: Answers = _answers.resolve_answers(answers)
        self.port = port
        self.pixel_id = pixel_id or str(uuid.uuid4())
        self.snap_app_id = snap_app_id or str(uuid.uuid4())
        self.latency = latency
        self.any_asset = any_asset
        self.record = record
        #: How many events ``/events`` accepted (duplicates included).
        self.accepted_count = 0
        self._request_count = 0
        self._ids: set[str] = set()
        self._now = now
        self._script: list[ScriptedResponse] = []
        self._fault_rate = 0.0
        self._fault_choices: tuple[Fault, ...] = ()
        self._fault_random = random.Random(0)
        self._rejections: dict[str, Problem] = {}
        self._received: list[Received] = []
        self._accepted: list[dict[str, Any]] = []
        self._validated: list[dict[str, Any]] = []
        self._validated_count = 0
        self._judged: list[tuple[dict[str, Any], list[Problem]]] = []
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ settings

    @property
    def token(self) -> str:
        """The access token it accepts.

        Assign a new one while running to rotate it: every request that arrives afterwards is
        judged against the new token (the old one gets 401); a request already arrived is
        judged against the token current when it arrived.
        """
        with self._lock:
            return self._token

    @token.setter
    def token(self, value: str) -> None:
        checked = _check_token(value)
        with self._lock:
            self._token = checked

    @property
    def answers(self) -> Answers:
        """The shape of its error bodies, ``"documented"`` or ``"live"`` (settable)."""
        with self._lock:
            return self._answers

    @answers.setter
    def answers(self, value: Answers) -> None:
        shape = _answers.resolve_answers(value)
        with self._lock:
            self._answers = shape

    @property
    def request_count(self) -> int:
        """How many requests reached the server, whatever their answer.

        Scripted answers, faults, resets and unreadable requests count too, and counting goes
        on with ``record=False``. :meth:`reset` sets it back to 0.
        """
        with self._lock:
            return self._request_count

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSnapServer:
        """Start serving on an ephemeral loopback port; returns ``self``."""
        if self._httpd is not None:
            return self
        server = self

        class _Handler(Handler):
            responder = server

        httpd = Server(("127.0.0.1", self.port), _Handler, self._tls)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="FakeSnapServer", kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port. Safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()  # answers that hang or drip end
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSnapServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give the client, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; call start() or use it in a with block")
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self._tls is not None else 'http'}://{host!s}:{port}"

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"FakeSnapServer({where}, pixel_id={self.pixel_id!r})"

    # ------------------------------------------------------------------ faults

    def script(
        self,
        status: int | str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        answers: Answers | None = None,
        drip: float = 0.0,
        size: int | None = None,
        gzip: bool = False,
        echo: bool = False,
    ) -> None:
        """Answer the next ``times`` requests with this response instead of processing them.

        ``status="reset"`` resets the connection without an answer; ``status="hang"`` reads
        the request and never answers (until the client gives up or the server stops);
        ``status="process"`` processes the request as usual after ``delay`` seconds (a slow
        success). Without a body, an error status gets Snap's error body in the shape
        ``answers`` (default: the server's :attr:`answers`); a ``"process"`` answer is built
        in that shape too. An ``X-Request-Id`` in ``headers`` replaces the fake's own.

        Hostile servers, to test that your code stays bounded and keeps the token secret:

        - ``drip``: send the answer (status line, headers, body) a byte at a time, ``drip``
          seconds apart: a slowloris server, which no per-read timeout stops.
        - ``size``: send a body of ``size`` bytes (a JSON object padded with ``x``),
          generated while it is sent and chunked (no ``Content-Length``): a client must
          count what it reads to stop.
        - ``gzip``: send the body gzip-compressed (``Content-Encoding: gzip``); with
          ``size``, compressed as it is generated: a gzip bomb of ``size`` bytes inflated.
        - ``echo``: an error body quoting the request line and headers, token included, as
          a misconfigured proxy does (as the ``reason``, in the shape ``answers``).

        Raises:
            ValidationError: ``answers`` is neither ``"documented"`` nor ``"live"``, or a
                hostile option is out of range or combined with a ``body``.
        """
        shape = None if answers is None else _answers.resolve_answers(answers)
        _check_hostile(body, drip, size, echo)
        scripted = ScriptedResponse(
            status, body, dict(headers or {}), delay, shape, float(drip), size, bool(gzip), echo
        )
        with self._lock:
            self._script.extend([scripted] * times)

    def faults(
        self, rate: float, *, seed: int = 0, kinds: Iterable[Fault] = (500, 503, 429, "reset")
    ) -> None:
        """Fail a share ``rate`` of requests at random (seeded), with one of ``kinds``."""
        with self._lock:
            self._fault_rate = rate
            self._fault_choices = tuple(kinds)
            self._fault_random = random.Random(seed)

    def reject(
        self, event_id: str, *, code: str = "INVALID_EVENT", message: str = "rejected"
    ) -> None:
        """Reject the event with this ``event_id`` as Snap does.

        The request carrying it gets 400 and nothing of it is recorded. In the documented shape
        the body names the event's index, ``code`` and ``message``; in the live shape
        ``message`` is in the top-level ``error_msgs``.
        """
        with self._lock:
            self._rejections[event_id] = (code, message)

    def reset(self) -> None:
        """Forget received requests and events, the request count, scripts, faults, rejections."""
        with self._lock:
            self._script.clear()
            self._fault_rate = 0.0
            self._rejections.clear()
            self._received.clear()
            self._request_count = 0
            self._accepted.clear()
            self._ids.clear()
            self.accepted_count = 0
            self._validated.clear()
            self._validated_count = 0
            self._judged.clear()

    # ------------------------------------------------------------------ what was received

    @property
    def received(self) -> list[Received]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event Snap would have recorded (accepted by ``/events``), duplicates included."""
        with self._lock:
            return list(self._accepted)

    @property
    def validated_events(self) -> list[dict[str, Any]]:
        """Every event sent to ``/events/validate``."""
        with self._lock:
            return list(self._validated)

    def unique_events(self) -> dict[str, dict[str, Any]]:
        """Return accepted events de-duplicated by ``event_id`` (the first arrival wins).

        Events without an ``event_id`` cannot be de-duplicated (as at Snap): each is kept, under
        the key ``"#N"``, N its position in :attr:`events`.
        """
        unique: dict[str, dict[str, Any]] = {}
        for position, event in enumerate(self.events):
            event_id = event.get("event_id")
            unique.setdefault(f"#{position}" if event_id is None else str(event_id), event)
        return unique

    def event_ids(self) -> set[str]:
        """Return the ``event_id`` of every accepted event that has one."""
        with self._lock:
            return set(self._ids)

    # ------------------------------------------------------------------ answering a request

    def _respond(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        """Decide the answer to one request (called by the HTTP handler's threads)."""
        token, shape = self._arrive()
        request = _parse(method, target, headers, raw)
        fault = self._next_fault()
        if self.latency:
            time.sleep(self.latency)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None:
            shape = fault.answers or shape
        request_id = _scripted_request_id(fault) or uuid.uuid4().hex
        if fault is not None and fault.status != "process":
            status, answer = fault.status, fault.body
            if fault.echo:
                answer = _answers.refusal(shape, _echo(method, target, headers), request_id)
            elif answer is None and isinstance(status, int) and status >= 400:
                answer = _answers.refusal(shape, f"Injected HTTP {status}", request_id)
            extra = dict(fault.headers)
        else:
            status, answer = self._route(request, token, shape, request_id)
            extra = dict(fault.headers) if fault is not None else {}
        self._record(request, status, request_id)
        if not any(name.lower() == _REQUEST_ID for name in extra):
            extra["X-Request-Id"] = request_id
        if fault is None:
            return Reply(status, answer, extra)
        return Reply(status, answer, extra, fault.drip, fault.size, fault.gzip)

    def _refuse_unreadable(self, reason: str) -> Reply:
        """Answer a request whose body could not be read: 400, counted, not recorded."""
        _, shape = self._arrive()
        request_id = uuid.uuid4().hex
        return Reply(400, _answers.refusal(shape, reason, request_id), {"X-Request-Id": request_id})

    def _arrive(self) -> tuple[str, Answers]:
        """Count a request; return the token and answer shape current at its arrival."""
        with self._lock:
            self._request_count += 1
            return self._token, self._answers

    def _next_fault(self) -> ScriptedResponse | None:
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self._fault_rate and self._fault_random.random() < self._fault_rate:
                kind = self._fault_random.choice(self._fault_choices)
                return ScriptedResponse(kind, None, {"Retry-After": "0"} if kind == 429 else {})
            return None

    def _route(
        self, request: _Request, token: str, shape: Answers, request_id: str
    ) -> tuple[int, Any]:
        """Return the status and body Snap would give a request nobody scripted."""

        def refuse(status: int, reason: str) -> tuple[int, Any]:
            return status, _answers.refusal(shape, reason, request_id)

        if not request.matched:
            return refuse(404, "Not found")
        problem = _auth_problem(request, token)
        if problem is not None:
            return refuse(401, problem)
        asset_id = request.asset_id
        if asset_id is None or not self._asset_known(asset_id):
            return refuse(404, "Unknown asset id")
        if request.endpoint in ("events", "validate"):
            if request.method != "POST":
                return refuse(405, "Use POST")
            reason = _rules.batch_problem(request.body)
            if reason is not None:
                return refuse(400, reason)
            data = request.body["data"]
            if request.endpoint == "validate":
                return self._handle_validate(data, asset_id, shape, request_id)
            return self._handle_events(request.body, asset_id, shape, request_id)
        if request.method != "GET":
            return refuse(405, "Use GET")
        if request.endpoint == "logs":
            return self._handle_logs()
        return self._handle_stats()

    def _asset_known(self, asset_id: str) -> bool:
        return self.any_asset or asset_id in (self.pixel_id, self.snap_app_id)

    def _check_all(self, data: Sequence[Any], asset_id: str) -> list[list[Problem]]:
        with self._lock:
            rejections = dict(self._rejections)
        return [
            _rules.check_event(
                event,
                asset_id=asset_id,
                pixel_id=self.pixel_id,
                snap_app_id=self.snap_app_id,
                now=self._now,
                rejections=rejections,
            )
            for event in data
        ]

    def _handle_events(
        self, body: dict[str, Any], asset_id: str, shape: Answers, request_id: str
    ) -> tuple[int, Any]:
        data = body["data"]
        for index, problems in enumerate(self._check_all(data, asset_id)):
            if problems:
                # Snap refuses the whole request: nothing of it is recorded.
                return 400, _answers.event_refusal(shape, index, problems, request_id)
        if "test_event_code" not in body:
            with self._lock:
                self.accepted_count += len(data)
                self._ids.update(str(e["event_id"]) for e in data if e.get("event_id") is not None)
                if self.record:
                    self._accepted.extend(data)
        return 200, dict(_answers.SUCCESS)

    def _handle_validate(
        self, data: list[Any], asset_id: str, shape: Answers, request_id: str
    ) -> tuple[int, Any]:
        checks = self._check_all(data, asset_id)
        with self._lock:
            for event, problems in zip(data, checks, strict=True):
                if isinstance(event, dict):
                    self._validated_count += 1
                    if self.record:
                        self._validated.append(event)
                    self._judged.append((event, problems))
            del self._judged[:-1000]
        return _answers.validate_body(shape, data, checks, request_id)

    def _handle_logs(self) -> tuple[int, Any]:
        with self._lock:
            judged = list(self._judged[-100:])
        return 200, _answers.logs_body(judged)

    def _handle_stats(self) -> tuple[int, Any]:
        now = self._now()
        with self._lock:
            test, live = self._validated_count, self.accepted_count
        return 200, _answers.stats_body(now, test, live)

    def _record(self, request: _Request, status: int | str, request_id: str) -> None:
        received = Received(
            method=request.method,
            path=request.path,
            asset_id=request.asset_id,
            endpoint=request.endpoint,
            headers=_redact(request.headers),
            body=request.body if self.record else None,
            status=status,
            auth=request.auth,
            request_id=request_id,
        )
        with self._lock:
            self._received.append(received)


def _scripted_request_id(fault: ScriptedResponse | None) -> str | None:
    """Return the ``X-Request-Id`` a scripted response sets itself, if it does."""
    if fault is None:
        return None
    return next((v for k, v in fault.headers.items() if k.lower() == _REQUEST_ID), None)
