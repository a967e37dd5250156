"""The request part of an event, read from a WSGI request (Django, Flask and the rest).

In a view, :func:`from_wsgi` reads what Snap matches a web event with: the client's IP
address, its user agent, the ``_scid`` cookie the Snap Pixel sets, the click id (the ``ScCid``
landing-page parameter, or the ``_scclid`` cookie where the Pixel stored it) and the page URL::

    # Django: request.META; Flask: request.environ
    context = snapcapi.web.from_wsgi(request.META, trusted_proxies=1)
    event = snapcapi.Event(
        event_name="PURCHASE", event_time=now, action_source="WEB",
        event_source_url=context.event_source_url,
        user_data=context.user_data(email=order.email),
        custom_data=...,
    )

``X-Forwarded-For`` is honoured only through ``trusted_proxies``: the number of proxies in
front of the app that you control (a load balancer: 1). Anything a client writes in that
header beyond them is ignored, so a client cannot choose the IP address sent to Snap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs
from wsgiref.util import request_uri

import attrs

from snapcapi.errors import ValidationError
from snapcapi.user_data import UserData

__all__ = ["RequestContext", "from_wsgi"]


@attrs.frozen(repr=False)
class RequestContext:
    """What a web request tells Snap about its user; None where the request had nothing.

    Attributes:
        client_ip_address: The client's IP address.
        client_user_agent: The ``User-Agent`` header.
        sc_cookie1: The ``_scid`` first-party cookie of the Snap Pixel.
        sc_click_id: The ``ScCid`` query parameter, else the ``_scclid`` cookie.
        event_source_url: The page URL (scheme, host, path and query).
    """

    client_ip_address: str | None = None
    client_user_agent: str | None = None
    sc_cookie1: str | None = None
    sc_click_id: str | None = None
    event_source_url: str | None = None

    def user_data(self, **identifiers: Any) -> UserData:
        """Build :class:`~snapcapi.UserData` from the request plus ``identifiers``.

        ``identifiers`` are any ``UserData`` arguments (``email=``, ``phone=``, ...); one
        given there wins over the request's value.
        """
        fields: dict[str, Any] = {
            key: value
            for key, value in attrs.asdict(self).items()
            if value is not None and key != "event_source_url"
        }
        fields.update(identifiers)
        return UserData(**fields)

    def __repr__(self) -> str:
        # The same masked view UserData gives, and the URL without its query.
        shown = self.user_data()._shown()
        url = self.event_source_url
        if url is not None:
            url = url.partition("?")[0] + ("?…" if "?" in url else "")
        parts = [f"{key}={value!r}" for key, value in shown]
        parts.append(f"event_source_url={url!r}")
        return f"RequestContext({', '.join(parts)})"


def _cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently (one bad cookie must not hide the others)."""
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name and name not in found:
            found[name] = value.strip().strip('"')
    return found


def _ip(text: str | None) -> str | None:
    """Read an IP address from a header value (ports and IPv6 brackets removed), or None."""
    if not text:
        return None
    candidate = text.strip()
    if candidate.startswith("["):  # [2001:db8::1]:443
        candidate = candidate[1:].partition("]")[0]
    elif candidate.count(":") == 1:  # 203.0.113.7:51234
        candidate = candidate.partition(":")[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def _client_ip(environ: Mapping[str, Any], trusted_proxies: int) -> str | None:
    remote = _ip(environ.get("REMOTE_ADDR"))
    if trusted_proxies == 0:
        return remote
    header = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if len(forwarded) < trusted_proxies:
        return remote  # the proxies we trust did not all add themselves: do not guess
    return _ip(forwarded[-trusted_proxies]) or remote


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def from_wsgi(environ: Mapping[str, Any], *, trusted_proxies: int = 0) -> RequestContext:
    """Read the request part of an event from a WSGI environ.

    Args:
        environ: The WSGI environ: Django's ``request.META``, Flask's ``request.environ``.
        trusted_proxies: Proxies you run in front of the app; the client's IP is read from
            ``X-Forwarded-For`` that many entries from the right (and the scheme and host
            from ``X-Forwarded-Proto``/``X-Forwarded-Host``). 0 (default): ``REMOTE_ADDR``.

    Returns:
        A :class:`RequestContext`.

    Raises:
        ValidationError: ``trusted_proxies`` is negative.
    """
    if trusted_proxies < 0:
        raise ValidationError("trusted_proxies", "must be 0 or more")
    cookies = _cookies(str(environ.get("HTTP_COOKIE", "")))
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=False)
    click = next(
        (values[0] for key, values in query.items() if key.lower() == "sccid" and values),
        None,
    )
    url_environ = dict(environ)
    if trusted_proxies:
        proto = _text(str(environ.get("HTTP_X_FORWARDED_PROTO", "")).split(",")[0])
        host = _text(str(environ.get("HTTP_X_FORWARDED_HOST", "")).split(",")[0])
        if proto in ("http", "https"):
            url_environ["wsgi.url_scheme"] = proto
        if host:
            url_environ["HTTP_HOST"] = host
    has_host = url_environ.get("HTTP_HOST") or url_environ.get("SERVER_NAME")
    url = request_uri(url_environ, include_query=True) if has_host else None
    return RequestContext(
        client_ip_address=_client_ip(environ, trusted_proxies),
        client_user_agent=_text(environ.get("HTTP_USER_AGENT")),
        sc_cookie1=_text(cookies.get("_scid")),
        sc_click_id=_text(click) or _text(cookies.get("_scclid")),
        event_source_url=url,
    )
