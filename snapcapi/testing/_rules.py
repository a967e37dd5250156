"""Snap's documented rules for ``/v3/{id}/events``: the limits and the checks of one event.

Pure functions over the decoded JSON: they know nothing of HTTP, threads or answer shapes.
Each problem is a ``(code, message)`` pair, as Snap's ``errors.codes`` and
``errors.error_msgs`` pair them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from snapcapi.enums import ActionSource, EventName

__all__ = [
    "HASHED_KEYS",
    "MAX_AGE_SECONDS",
    "MAX_EVENTS",
    "MAX_SKEW_SECONDS",
    "Problem",
    "batch_problem",
    "check_event",
]

#: One thing wrong with an event: Snap's code and its message.
Problem = tuple[str, str]

#: At most this many events in one request.
MAX_EVENTS = 2000
#: Events older than this (37 days) are out of range.
MAX_AGE_SECONDS = 37 * 86400
#: Events more than this (10 minutes) in the future are out of range.
MAX_SKEW_SECONDS = 600
#: The ``user_data`` keys Snap wants as SHA-256 hex digests.
HASHED_KEYS = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_URL = re.compile(r"https?://[^\s/]+", re.IGNORECASE)
_VERSIONS = ("a2", "i2")
_REQUIRED = ("event_name", "event_time", "action_source", "user_data")


def batch_problem(body: Any) -> str | None:
    """Return why a request body cannot be judged event by event, or ``None`` when it can."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return 'The body must be {"data": [...]}'
    if not body["data"]:
        return "data is empty"
    if len(body["data"]) > MAX_EVENTS:
        return f"A request may carry at most {MAX_EVENTS} events"
    return None


def check_event(
    event: Any,
    *,
    asset_id: str,
    pixel_id: str,
    snap_app_id: str,
    now: Callable[[], float],
    rejections: Mapping[str, Problem],
) -> list[Problem]:
    """Return the problems Snap would find in one event, empty when it is valid.

    Args:
        event: One item of the request's ``data`` list.
        asset_id: The asset id of the URL it was posted to.
        pixel_id: The Pixel ID the server knows (WEB and OFFLINE events go there).
        snap_app_id: The Snap App ID the server knows (MOBILE_APP events go there).
        now: The clock for the time window, in epoch seconds.
        rejections: Problems to add to the events with these ``event_id`` s.
    """
    if not isinstance(event, dict):
        return [("INVALID_EVENT", "event must be a JSON object")]
    problems = [
        ("MISSING_REQUIRED_FIELD", f"{field} is required")
        for field in _REQUIRED
        if field not in event
    ]
    problems += _check_names(event)
    problems += _check_asset(event, asset_id, pixel_id, snap_app_id)
    problems += _check_source_fields(event)
    problems += _check_time(event.get("event_time"), now)
    problems += _check_user(event.get("user_data"), event.get("action_source"))
    problems += _check_purchase(event)
    event_id = event.get("event_id")
    rejection = rejections.get(str(event_id)) if event_id is not None else None
    if rejection is not None:
        problems.append(rejection)
    return problems


def _check_names(event: Mapping[str, Any]) -> list[Problem]:
    problems = []
    name = event.get("event_name")
    if name is not None and name not in EventName.__members__:
        problems.append(("INVALID_EVENT_NAME", f"Unrecognized event type {name!r}"))
    source = event.get("action_source")
    if source is not None and source not in ActionSource.__members__:
        problems.append(("INVALID_ACTION_SOURCE", f"Unrecognized action_source {source!r}"))
    return problems


def _check_asset(
    event: Mapping[str, Any], asset_id: str, pixel_id: str, snap_app_id: str
) -> list[Problem]:
    source = event.get("action_source")
    if source == "MOBILE_APP" and asset_id == pixel_id:
        return [("INVALID_ASSET", "MOBILE_APP events go to the Snap App ID")]
    if source in ("WEB", "OFFLINE") and asset_id == snap_app_id:
        return [("INVALID_ASSET", "WEB and OFFLINE events go to the Pixel ID")]
    return []


def _check_source_fields(event: Mapping[str, Any]) -> list[Problem]:
    source = event.get("action_source")
    url = event.get("event_source_url")
    if source == "WEB" and not (isinstance(url, str) and _URL.match(url)):
        return [("MISSING_REQUIRED_FIELD", "event_source_url is required for WEB events")]
    if source == "MOBILE_APP":
        app = event.get("app_data")
        extinfo = app.get("extinfo") if isinstance(app, dict) else None
        if not (isinstance(extinfo, list) and len(extinfo) == 16 and extinfo[0] in _VERSIONS):
            message = "app_data.extinfo (16 values) is required for app events"
            return [("MISSING_REQUIRED_FIELD", message)]
    return []


def _check_time(event_time: Any, now: Callable[[], float]) -> list[Problem]:
    if event_time is None:
        return []
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        return [("INVALID_TIMESTAMP", "event_time must be an integer")]
    seconds = event_time / 1000 if event_time > 10**11 else event_time
    age = now() - seconds
    if age > MAX_AGE_SECONDS or age < -MAX_SKEW_SECONDS:
        return [("TIMESTAMP_OUT_OF_RANGE", "Timestamp invalid or out of range")]
    return []


def _check_user(user: Any, source: Any) -> list[Problem]:
    if user is None:
        return []
    if not isinstance(user, dict):
        return [("INVALID_USER_DATA", "user_data must be an object")]
    problems = []
    for key in HASHED_KEYS:
        values = user.get(key)
        if values is None:
            continue
        items = values if isinstance(values, list) else [values]
        if not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in items):
            problems.append(("UNHASHED_PII", f"Unhashed PII in {key}"))
    ip_ua = user.get("client_ip_address") and user.get("client_user_agent")
    madid = user.get("madid") and source == "MOBILE_APP"
    if not (user.get("em") or user.get("ph") or ip_ua or madid):
        problems.append(("INSUFFICIENT_PII", "Insufficient PII"))
    return problems


def _check_purchase(event: Mapping[str, Any]) -> list[Problem]:
    if event.get("event_name") != "PURCHASE":
        return []
    custom = event.get("custom_data")
    if not isinstance(custom, dict) or "value" not in custom or "currency" not in custom:
        return [("MISSING_PRICE_CURRENCY", "Missing price and/or currency")]
    return []
