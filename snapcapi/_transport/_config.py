"""Read and check the client's options: explicit values, else the environment.

Each reader names the option it refuses, in a :class:`~snapcapi.ValidationError` saying what to
give instead. Explicit strings are stripped like environment values, and a blank explicit
value is refused rather than taken for "not given".
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from snapcapi._convert import read_seconds
from snapcapi._transport._auth import AUTH_MODES, AuthMode, TokenSource
from snapcapi.errors import Remedy, ValidationError

__all__ = [
    "APP_REMEDY",
    "DEFAULT_BASE_URL",
    "PIXEL_REMEDY",
    "TOKEN_REMEDY",
    "is_loopback_url",
    "missing_asset_ids",
    "read_asset_id",
    "read_auth",
    "read_base_url",
    "read_seconds",
    "read_token",
    "read_whole",
]

DEFAULT_BASE_URL = "https://tr.snapchat.com"
#: Characters an asset id cannot hold: it becomes a segment of the request's path.
_UNSAFE_IN_ID = re.compile(r"[\s/?#%\\]")
#: Characters a base URL cannot hold: parsers disagree on a backslash (urlsplit keeps it in
#: the host's userinfo, urllib3 ends the host there), and whitespace or control characters
#: are read differently, or dropped, by different parsers.
_UNSAFE_IN_URL = re.compile(r"[\\\s\x00-\x1f\x7f-\x9f]")
_ENVIRONMENT = {
    "pixel_id": "SNAP_PIXEL_ID",
    "snap_app_id": "SNAP_APP_ID",
    "access_token": "SNAP_ACCESS_TOKEN",
    "base_url": "SNAP_CAPI_BASE_URL",
}

#: The settings that fix a missing credential, for Python and for the command line.
PIXEL_REMEDY = Remedy(
    "pixel_id",
    "--pixel-id",
    "ID",
    "the Pixel ID WEB and OFFLINE events go to; or set SNAP_PIXEL_ID",
    python_example="'YOUR_PIXEL_ID'",
)
APP_REMEDY = Remedy(
    "snap_app_id",
    "--snap-app-id",
    "ID",
    "the Snap App ID MOBILE_APP events go to; or set SNAP_APP_ID",
    python_example="'YOUR_SNAP_APP_ID'",
)
TOKEN_REMEDY = Remedy(
    "access_token",
    "--token-file",
    "PATH",
    "the Conversions API access token; or set SNAP_ACCESS_TOKEN",
    python_example="'YOUR_ACCESS_TOKEN'",
)


def _is_loopback(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Tell whether ``url`` goes to a loopback host, as urllib3 (which connects) reads it."""
    try:
        host = parse_url(url).host
    except LocationParseError:
        return False
    return host is not None and _is_loopback(host)


def _setting(value: str | None, name: str) -> str | None:
    """Read an explicit string (stripped; blank refused), else the environment's."""
    if value is None:
        return os.environ.get(_ENVIRONMENT[name], "").strip() or None
    if not isinstance(value, str):
        raise ValidationError(name, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(
            name, f"is empty; give a value, or leave it out to read {_ENVIRONMENT[name]}"
        )
    return value.strip()


def _blank_in_environment(*names: str) -> str:
    """Say which of the options' environment variables are set but blank ("" if none)."""
    blank = [
        _ENVIRONMENT[name]
        for name in names
        if _ENVIRONMENT[name] in os.environ and not os.environ[_ENVIRONMENT[name]].strip()
    ]
    if not blank:
        return ""
    return f" ({' and '.join(blank)} {'is' if len(blank) == 1 else 'are'} set but blank)"


def missing_asset_ids() -> ValidationError:
    """Build the error of a client given neither a Pixel ID nor a Snap App ID, anywhere."""
    return ValidationError(
        "pixel_id",
        "is missing: WEB and OFFLINE events go to a Pixel ID and MOBILE_APP events to a Snap "
        f"App ID, and neither was given{_blank_in_environment('pixel_id', 'snap_app_id')}",
        remedy=PIXEL_REMEDY,
    )


def read_asset_id(value: str | None, name: str) -> str | None:
    """Read a Pixel ID or Snap App ID (``name``): it becomes a segment of the URL path."""
    found = _setting(value, name)
    if found is not None and _UNSAFE_IN_ID.search(found):
        raise ValidationError(
            name, "must be the id as Snap shows it (a UUID): no spaces, '/', '?', '#' or '%'"
        )
    return found


def read_token(value: str | Callable[[], str] | None) -> TokenSource:
    """Read the access token: a callable, a string, else ``SNAP_ACCESS_TOKEN``."""
    if callable(value):
        return TokenSource(value)
    token = _setting(value, "access_token")
    if token is None:
        raise ValidationError(
            "access_token",
            f"is missing{_blank_in_environment('access_token')}",
            remedy=TOKEN_REMEDY,
        )
    return TokenSource(token)


def read_base_url(value: str | None) -> str:
    """Read Snap's host: https, or plain http on a loopback address (the fake server).

    The URL is read as urllib3 reads it, since urllib3 is what connects, and must read the same
    way with :func:`urllib.parse.urlsplit`: a URL two parsers read differently could pass the
    loopback check while the request goes elsewhere.
    """
    url = (_setting(value, "base_url") or DEFAULT_BASE_URL).rstrip("/")
    if _UNSAFE_IN_URL.search(url):
        raise ValidationError(
            "base_url", "must not hold a backslash, whitespace or control characters"
        )
    try:
        parts = parse_url(url)
        port = urlsplit(url).port  # ValueError for a port out of range
        split_host = urlsplit(url).hostname
    except (LocationParseError, ValueError):
        raise ValidationError(
            "base_url", "is not a URL that can be read; give one such as https://tr.snapchat.com"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ValidationError("base_url", "must be an absolute URL such as https://tr.snapchat.com")
    if parts.auth is not None or "@" in (parts.netloc or ""):
        raise ValidationError(
            "base_url", "must not hold a user name or password (give the token as access_token)"
        )
    if parts.query is not None or parts.fragment is not None:
        raise ValidationError("base_url", "must not have a query ('?') or a fragment ('#')")
    host = parts.host.lower().strip("[]")
    if split_host != host or port != parts.port:
        raise ValidationError("base_url", "is read differently by different URL parsers")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValidationError(
            "base_url", "must use https (plain http is allowed only for loopback test servers)"
        )
    return url


def read_whole(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Check an integer option, naming it when it is wrong; ``500.0`` is taken as ``500``."""
    span = f"between {low} and {high}" if high is not None else f">= {low}"
    if isinstance(value, float) and value.is_integer():  # 1e6, or a number read from a config
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, f"must be a whole number {span}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValidationError(name, f"must be {span}, got {value}")
    return value


def read_auth(value: Any) -> AuthMode:
    """Check the authentication mode: ``"query"`` or ``"bearer"``."""
    for mode in AUTH_MODES:
        if value == mode:
            return mode
    raise ValidationError(
        "auth",
        "must be 'query' (the access_token parameter, as Snap documents v3) or 'bearer' "
        f"(an Authorization header), got {value!r}",
    )
