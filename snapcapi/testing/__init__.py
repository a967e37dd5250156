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
received. It refuses bad events in Snap's documented shape or in the shape live Snap has been
seen to answer (``answers="live"``). It injects faults on demand: scripted responses
(:meth:`FakeSnapServer.script`), a seeded random fault rate (:meth:`FakeSnapServer.faults`),
latency, connection resets and rejections of chosen events (:meth:`FakeSnapServer.reject`);
and it misbehaves as hostile servers do, for testing that a client stays bounded and keeps its
token secret: answers that never come (``"hang"``), come a byte at a time (``drip``), are huge
(``size``) or gzip bombs (``gzip``), or quote the request, token included (``echo``). With
``tls=`` it serves HTTPS.

With pytest, the ``snap_server`` fixture (registered by the package's pytest plugin) gives a
started server per test.

The package's rooms: ``_server`` (the server's state and the routing of each request),
``_rules`` (Snap's limits and event checks), ``_answers`` (the bodies, in both shapes) and
``_http`` (the threading HTTP server, connection tracking and resets).
"""

from __future__ import annotations

from snapcapi.testing._answers import Answers
from snapcapi.testing._rules import MAX_AGE_SECONDS, MAX_EVENTS, MAX_SKEW_SECONDS
from snapcapi.testing._server import Auth, FakeSnapServer, Fault, Received, ScriptedResponse

__all__ = [
    "MAX_AGE_SECONDS",
    "MAX_EVENTS",
    "MAX_SKEW_SECONDS",
    "Answers",
    "Auth",
    "FakeSnapServer",
    "Fault",
    "Received",
    "ScriptedResponse",
]
