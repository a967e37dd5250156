"""``FakeSnapServer``: a real HTTP server on loopback that speaks Snap's CAPI v3.

Use it to test code that sends conversions, without network or credentials::

    from snapcapi import Client
    from snapcapi.testing import FakeSnapServer

    with FakeSnapServer() as server:
        client = Client(server.pixel_id, server.token, base_url=server.url)
        result = client.send(events)
        assert server.event_ids() == {r.event_id for r in result.accepted}

It serves the four v3 endpoints (``/v3/{id}/events``, ``/events/validate``,
``/events/validate/logs``, ``/events/validate/stats``) with the documented response shapes,
checks payloads the way Snap documents (required fields, hashed-looking ``em``/``ph``, at most
2,000 events, the time window, PURCHASE value and currency, matching keys) and records what it
received. It injects faults on demand: scripted responses (:meth:`FakeSnapServer.script`),
a seeded random fault rate (:meth:`FakeSnapServer.faults`), latency, connection resets and
rejections of chosen events (:meth:`FakeSnapServer.reject`).

With pytest, the ``snap_server`` fixture (registered by the package's pytest plugin) gives a
started server per test.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from snapcapi.enums import ActionSource, EventName

__all__ = ["FakeSnapServer", "Received", "ScriptedResponse"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_URL = re.compile(r"https?://[^\s/]+", re.IGNORECASE)
_VERSIONS = ("a2", "i2")
_PATH = re.compile(r"/v3/(?P<asset>[^/]+)/events(?P<rest>/validate(?:/logs|/stats)?)?/?")
_HASHED_KEYS = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id")
MAX_EVENTS = 2000
MAX_AGE_SECONDS = 37 * 86400
MAX_SKEW_SECONDS = 600

#: A fault the random injector can pick: an HTTP status, or "reset" to drop the connection.
Fault = int | str


@attrs.frozen
class ScriptedResponse:
    """A response the server gives instead of processing the request.

    ``status`` ``"reset"`` resets the connection (TCP RST) without answering; ``"process"``
    processes the request as usual (after ``delay``: a slow but successful answer).
    """

    status: int | str
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that can reset connections and close them all on stop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.connections: set[socket.socket] = set()
        self.resets: set[socket.socket] = set()
        self.guard = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.guard:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.guard:
            self.connections.discard(request)
            reset = request in self.resets
            self.resets.discard(request)
        if reset:
            request.close()  # no FIN first: SO_LINGER 0 makes the close an RST
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close every open (keep-alive) connection, so clients see the server is gone."""
        with self.guard:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away; report anything else."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


@attrs.frozen
class Received:
    """One request the server received (the access token is not kept)."""

    method: str
    path: str
    asset_id: str | None
    endpoint: str
    headers: Mapping[str, str]
    body: Any
    status: int | str


class FakeSnapServer:
    """A fake of ``tr.snapchat.com`` on ``127.0.0.1``, in a background thread.

    Args:
        token: The access token it accepts; other tokens get 401.
        pixel_id: The Pixel ID it knows. ``snap_app_id``: the Snap App ID it knows. Other asset
            ids get 404 unless ``any_asset`` is true.
        latency: Seconds to wait before answering each request (as a real network would).
        now: Clock for the time-window check (default ``time.time``).
        any_asset: Accept every asset id.
        port: The loopback port to listen on (default: any free one).
        record: Keep request bodies and accepted events (:attr:`received`, :attr:`events`).
            Turn it off for uploads of hundreds of thousands of events: then only
            :attr:`accepted_count` and :meth:`event_ids` are kept.
    """

    def __init__(
        self,
        *,
        token: str = "fake-snap-token",
        pixel_id: str | None = None,
        snap_app_id: str | None = None,
        latency: float = 0.0,
        now: Any = time.time,
        any_asset: bool = False,
        record: bool = True,
        port: int = 0,
    ) -> None:
        self.token = token
        self.port = port
        self.pixel_id = pixel_id or str(uuid.uuid4())
        self.snap_app_id = snap_app_id or str(uuid.uuid4())
        self.latency = latency
        self.any_asset = any_asset
        self.record = record
        #: How many events ``/events`` accepted (duplicates included).
        self.accepted_count = 0
        self._ids: set[str] = set()
        self._now = now
        self._lock = threading.Lock()
        self._script: list[ScriptedResponse] = []
        self._fault_rate = 0.0
        self._fault_choices: tuple[Fault, ...] = ()
        self._fault_random = random.Random(0)
        self._rejections: dict[str, tuple[str, str]] = {}
        self._received: list[Received] = []
        self._accepted: list[dict[str, Any]] = []
        self._validated: list[dict[str, Any]] = []
        self._validated_count = 0
        self._judged: list[tuple[dict[str, Any], list[tuple[str, str]]]] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSnapServer:
        """Start serving on an ephemeral loopback port; returns ``self``."""
        if self._httpd is not None:
            return self
        server = self

        class Handler(_Handler):
            fake = server

        httpd = _Server(("127.0.0.1", self.port), Handler)
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
        return f"http://{host!s}:{port}"

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
    ) -> None:
        """Answer the next ``times`` requests with this response instead of processing them.

        ``status="reset"`` resets the connection without an answer; ``status="process"``
        processes the request as usual after ``delay`` seconds (a slow success). Without a
        body, an error status gets Snap's ``{"status": "INVALID", "reason": ...}`` shape.
        """
        with self._lock:
            self._script.extend(
                [ScriptedResponse(status, body, dict(headers or {}), delay)] * times
            )

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
        """Reject the event with this ``event_id`` as Snap does: 400 naming its index."""
        with self._lock:
            self._rejections[event_id] = (code, message)

    def reset(self) -> None:
        """Forget received requests and events, scripts, faults and rejections."""
        with self._lock:
            self._script.clear()
            self._fault_rate = 0.0
            self._rejections.clear()
            self._received.clear()
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

    # ------------------------------------------------------------------ request handling

    def _next_fault(self) -> ScriptedResponse | None:
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self._fault_rate and self._fault_random.random() < self._fault_rate:
                kind = self._fault_random.choice(self._fault_choices)
                return ScriptedResponse(kind, None, {"Retry-After": "0"} if kind == 429 else {})
            return None

    def _record(self, received: Received) -> None:
        if not self.record:
            received = attrs.evolve(received, body=None)
        with self._lock:
            self._received.append(received)

    def _asset_known(self, asset_id: str) -> bool:
        return self.any_asset or asset_id in (self.pixel_id, self.snap_app_id)

    def _check_event(self, event: Any, asset_id: str) -> list[tuple[str, str]]:
        """Return Snap-style (code, message) errors for one event, empty when valid."""
        if not isinstance(event, dict):
            return [("INVALID_EVENT", "event must be a JSON object")]
        errors: list[tuple[str, str]] = []
        for field in ("event_name", "event_time", "action_source", "user_data"):
            if field not in event:
                errors.append(("MISSING_REQUIRED_FIELD", f"{field} is required"))
        name = event.get("event_name")
        if name is not None and name not in EventName.__members__:
            errors.append(("INVALID_EVENT_NAME", f"Unrecognized event type {name!r}"))
        source = event.get("action_source")
        if source is not None and source not in ActionSource.__members__:
            errors.append(("INVALID_ACTION_SOURCE", f"Unrecognized action_source {source!r}"))
        if source == "MOBILE_APP" and asset_id == self.pixel_id:
            errors.append(("INVALID_ASSET", "MOBILE_APP events go to the Snap App ID"))
        if source in ("WEB", "OFFLINE") and asset_id == self.snap_app_id:
            errors.append(("INVALID_ASSET", "WEB and OFFLINE events go to the Pixel ID"))
        url = event.get("event_source_url")
        if source == "WEB" and not (isinstance(url, str) and _URL.match(url)):
            errors.append(("MISSING_REQUIRED_FIELD", "event_source_url is required for WEB events"))
        app = event.get("app_data")
        if source == "MOBILE_APP":
            extinfo = app.get("extinfo") if isinstance(app, dict) else None
            if not (isinstance(extinfo, list) and len(extinfo) == 16 and extinfo[0] in _VERSIONS):
                errors.append(
                    (
                        "MISSING_REQUIRED_FIELD",
                        "app_data.extinfo (16 values) is required for app events",
                    )
                )
        event_time = event.get("event_time")
        if event_time is not None:
            if not isinstance(event_time, int) or isinstance(event_time, bool):
                errors.append(("INVALID_TIMESTAMP", "event_time must be an integer"))
            else:
                seconds = event_time / 1000 if event_time > 10**11 else event_time
                age = self._now() - seconds
                if age > MAX_AGE_SECONDS or age < -MAX_SKEW_SECONDS:
                    errors.append(("TIMESTAMP_OUT_OF_RANGE", "Timestamp invalid or out of range"))
        user = event.get("user_data")
        if isinstance(user, dict):
            for key in _HASHED_KEYS:
                values = user.get(key)
                if values is None:
                    continue
                items = values if isinstance(values, list) else [values]
                if not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in items):
                    errors.append(("UNHASHED_PII", f"Unhashed PII in {key}"))
            ip_ua = user.get("client_ip_address") and user.get("client_user_agent")
            madid = user.get("madid") and source == "MOBILE_APP"
            if not (user.get("em") or user.get("ph") or ip_ua or madid):
                errors.append(("INSUFFICIENT_PII", "Insufficient PII"))
        elif user is not None:
            errors.append(("INVALID_USER_DATA", "user_data must be an object"))
        if name == "PURCHASE":
            custom = event.get("custom_data")
            if not isinstance(custom, dict) or "value" not in custom or "currency" not in custom:
                errors.append(("MISSING_PRICE_CURRENCY", "Missing price and/or currency"))
        event_id = event.get("event_id")
        with self._lock:
            rejection = self._rejections.get(str(event_id)) if event_id is not None else None
        if rejection is not None:
            errors.append(rejection)
        return errors

    def _handle_events(self, body: Any, asset_id: str, validate: bool) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return 400, {"status": "INVALID", "reason": 'The body must be {"data": [...]}'}
        data = body["data"]
        if not data:
            return 400, {"status": "INVALID", "reason": "data is empty"}
        if len(data) > MAX_EVENTS:
            return 400, {
                "status": "INVALID",
                "reason": f"A request may carry at most {MAX_EVENTS} events",
            }
        checks = [self._check_event(event, asset_id) for event in data]
        if validate:
            logs = []
            for index, errors in enumerate(checks):
                log: dict[str, Any] = {"event": index, "status": "INVALID" if errors else "VALID"}
                if errors:
                    log["errors"] = {
                        "codes": [code for code, _ in errors],
                        "error_msgs": [message for _, message in errors],
                    }
                event = data[index] if isinstance(data[index], dict) else {}
                if "event_id" not in event:
                    log["warnings"] = ["event_id is missing; deduplication with the Pixel fails"]
                logs.append(log)
            with self._lock:
                for event, errors in zip(data, checks, strict=True):
                    if isinstance(event, dict):
                        self._validated_count += 1
                        if self.record:
                            self._validated.append(event)
                        self._judged.append((event, errors))
                del self._judged[:-1000]
            valid = not any(checks)
            return (200 if valid else 400), {
                "status": "VALID" if valid else "INVALID",
                "test_event": True,
                "reason": "Events validated" if valid else "Some events are invalid",
                "event_logs": logs,
            }
        for index, errors in enumerate(checks):
            if errors:
                return 400, {
                    "status": "INVALID",
                    "reason": errors[0][1],
                    "event": index,
                    "errors": {
                        "codes": [code for code, _ in errors],
                        "error_msgs": [message for _, message in errors],
                    },
                }
        if "test_event_code" not in body:
            with self._lock:
                self.accepted_count += len(data)
                self._ids.update(str(e["event_id"]) for e in data if e.get("event_id") is not None)
                if self.record:
                    self._accepted.extend(data)
        return 200, {"status": "VALID", "reason": "Events have been processed successfully."}

    def _handle_logs(self) -> tuple[int, Any]:
        with self._lock:
            judged = list(self._judged[-100:])
        logs = [
            {
                "event_name": e.get("event_name"),
                "raw_event_name": e.get("event_name"),
                "event_time": str(e.get("event_time")),
                "action_source": e.get("action_source"),
                "status": "INVALID" if errors else "VALID",
                "integration": e.get("integration", ""),
                "error_records": [message for _, message in errors],
                "warning_records": [] if "event_id" in e else ["event_id is missing"],
            }
            for e, errors in judged
        ]
        return 200, {"status": "SUCCESS", "reason": "", "logs": logs}

    def _handle_stats(self) -> tuple[int, Any]:
        now = self._now()
        with self._lock:
            test = self._validated_count
            live = self.accepted_count
        window = {"latest_event_ts": int(now * 1000), "event_count_past_hour": 0}
        return 200, {
            "status": "SUCCESS",
            "reason": "",
            "stats": {
                "test": {**window, "event_count_past_hour": test},
                "live": {**window, "event_count_past_hour": live},
            },
        }

    def _respond(self, method: str, raw_path: str, headers: Mapping[str, str], raw: bytes) -> Any:
        """Decide the answer to one request: (status, body, headers) or the string "reset"."""
        parts = urlsplit(raw_path)
        match = _PATH.fullmatch(parts.path)
        token = parse_qs(parts.query).get("access_token", [None])[0]
        asset_id = match["asset"] if match else None
        rest = (match["rest"] or "") if match else ""
        endpoint = {"": "events", "/validate": "validate"}.get(rest, rest.rsplit("/", 1)[-1])
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        fault = self._next_fault()
        if self.latency:
            time.sleep(self.latency)
        status: int | str
        headers_out: dict[str, str] = {}
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status == "process":
            fault = None
        if fault is not None:
            status = fault.status
            answer = fault.body
            if answer is None and isinstance(status, int) and status >= 400:
                answer = {"status": "INVALID", "reason": f"Injected HTTP {status}"}
            headers_out = dict(fault.headers)
        elif match is None:
            status, answer = 404, {"status": "INVALID", "reason": "Not found"}
        elif token != self.token:
            status, answer = 401, {"status": "INVALID", "reason": "Invalid access token"}
        elif asset_id is None or not self._asset_known(asset_id):
            status, answer = 404, {"status": "INVALID", "reason": "Unknown asset id"}
        elif endpoint in ("events", "validate"):
            if method != "POST":
                status, answer = 405, {"status": "INVALID", "reason": "Use POST"}
            else:
                status, answer = self._handle_events(body, asset_id, endpoint == "validate")
        elif method != "GET":
            status, answer = 405, {"status": "INVALID", "reason": "Use GET"}
        elif endpoint == "logs":
            status, answer = self._handle_logs()
        else:
            status, answer = self._handle_stats()
        self._record(Received(method, parts.path, asset_id, endpoint, dict(headers), body, status))
        return status, answer, headers_out


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSnapServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, every answer would stall ~40 ms
    # waiting for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the default writes every request (with its token) to stderr."""

    def _serve(self, method: str) -> None:
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit():
            self.close_connection = True
            self._send(400, {"status": "INVALID", "reason": "Bad Content-Length"}, {})
            return
        length = int(declared)
        raw = self.rfile.read(length) if length else b""
        status, answer, headers = self.fake._respond(method, self.path, dict(self.headers), raw)
        if status == "reset":
            # Close with RST, as a crashed load balancer would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            server = self.server
            assert isinstance(server, _Server)
            with server.guard:
                server.resets.add(self.connection)
            self.close_connection = True
            return
        self._send(int(status), answer, headers)

    def _send(self, status: int, answer: Any, headers: Mapping[str, str]) -> None:
        payload = answer if isinstance(answer, (bytes, str)) else json.dumps(answer)
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")
