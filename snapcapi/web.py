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

In an ASGI app (FastAPI, Starlette), :func:`from_asgi` reads the same from the request's
scope (``request.scope``, or the request itself) and gives the same :class:`RequestContext`.

When the request is an API call made by a page (a JSON checkout), its URL is not the page the
buyer was on: pass the page's URL as the front end sent it (``page_url=``, its
``location.href``) and it becomes the ``event_source_url``, its ``ScCid`` the click id.

``X-Forwarded-For`` is honoured only through ``trusted_proxies``: the number of proxies in
front of the app that you control (a load balancer: 1). Anything a client writes in that
header beyond them is ignored, so a client cannot choose the IP address sent to Snap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from wsgiref.util import request_uri

import attrs

from snapcapi._convert import check_unicode
from snapcapi.errors import ValidationError
from snapcapi.user_data import UserData

__all__ = ["RequestContext", "from_asgi", "from_wsgi"]


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
    remote = _ip(_variable(environ, "REMOTE_ADDR"))
    if trusted_proxies == 0:
        return remote
    header = _variable(environ, "HTTP_X_FORWARDED_FOR")
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if len(forwarded) < trusted_proxies:
        return remote  # the proxies we trust did not all add themselves: do not guess
    return _ip(forwarded[-trusted_proxies]) or remote


def _text(value: str | None) -> str | None:
    text = value.strip() if value is not None else ""
    return text or None


def _variable(environ: Mapping[str, Any], key: str) -> str:
    """Return an environ variable's text ("" when absent), refusing what no server sets.

    WSGI servers set text (PEP 3333): a number or text that is not valid Unicode comes from
    a hand-made environ, and is refused naming the variable rather than sent on.
    """
    value = environ.get(key)
    if value is None:
        return ""
    if key == "SERVER_PORT" and isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 0 <= value <= 65535 else ""
    if not isinstance(value, str):
        raise ValidationError(
            f"environ[{key!r}]", f"must be text, as WSGI servers set it; got {type(value).__name__}"
        )
    return check_unicode(value, f"environ[{key!r}]")


def from_wsgi(
    environ: Mapping[str, Any], *, trusted_proxies: int = 0, page_url: str | None = None
) -> RequestContext:
    """Read the request part of an event from a WSGI environ.

    Args:
        environ: The WSGI environ: Django's ``request.META``, Flask's ``request.environ``.
        trusted_proxies: Proxies you run in front of the app; the client's IP is read from
            ``X-Forwarded-For`` that many entries from the right (and the scheme and host
            from ``X-Forwarded-Proto``/``X-Forwarded-Host``). 0 (default): ``REMOTE_ADDR``.
        page_url: The page the buyer was on, when the request is an API call from it (the
            front end's ``location.href``, sent with the order). It becomes the
            ``event_source_url`` instead of the request's own URL, and its ``ScCid`` is the
            click id when the request's URL has none (the ``_scclid`` cookie comes after
            both). None or blank (default): the request's URL. Its ``#fragment`` is dropped.

    Returns:
        A :class:`RequestContext`.

    Raises:
        ValidationError: ``environ`` is not a WSGI environ (an ASGI scope or request: use
            :func:`from_asgi`), or a variable read from it is not text or not valid Unicode
            (which no WSGI server sets; the field names the variable); ``trusted_proxies`` is
            not a whole number, or is negative; ``page_url`` is not an absolute http(s) URL
            or is not valid Unicode.
    """
    if not isinstance(environ, Mapping):
        raise ValidationError("environ", _not_an_environ(environ))
    if ("type" in environ or "asgi" in environ) and _wsgi_key(environ) is None:
        raise ValidationError("environ", _asgi_not_wsgi(environ))
    _check_trusted_proxies(trusted_proxies)
    page = _page_url(page_url) if page_url is not None else None
    cookies = _cookies(_variable(environ, "HTTP_COOKIE"))
    click = _text(_click_id(_variable(environ, "QUERY_STRING")))
    if page is not None:
        url: str | None = page
        click = click or _text(_click_id(urlsplit(page).query))
    else:
        url = _request_url(environ, trusted_proxies)
    return RequestContext(
        client_ip_address=_client_ip(environ, trusted_proxies),
        client_user_agent=_text(_variable(environ, "HTTP_USER_AGENT")),
        sc_cookie1=_text(cookies.get("_scid")),
        sc_click_id=click or _text(cookies.get("_scclid")),
        event_source_url=url,
    )


def _check_trusted_proxies(trusted_proxies: object) -> None:
    if isinstance(trusted_proxies, bool) or not isinstance(trusted_proxies, int):
        raise ValidationError(
            "trusted_proxies",
            f"must be a whole number of proxies, got {type(trusted_proxies).__name__}"
            " (convert a setting read from the environment with int())",
        )
    if trusted_proxies < 0:
        raise ValidationError("trusted_proxies", "must be 0 or more")


def _click_id(query_string: str) -> str | None:
    """Return the ``ScCid`` parameter of a query string (any letter case), or None."""
    query = parse_qs(query_string, keep_blank_values=False)
    return next(
        (values[0] for key, values in query.items() if key.lower() == "sccid" and values),
        None,
    )


# What request_uri reads, with the value a hand-made environ may leave out.
_URL_VARIABLES = {
    "wsgi.url_scheme": "http",
    "HTTP_HOST": "",
    "SERVER_NAME": "",
    "SERVER_PORT": "",
    "SCRIPT_NAME": "",
    "PATH_INFO": "",
    "QUERY_STRING": "",
}


def _request_url(environ: Mapping[str, Any], trusted_proxies: int) -> str | None:
    """Return the URL the request was made to, or None when the environ names no host."""
    url_environ = {
        key: _variable(environ, key) or default for key, default in _URL_VARIABLES.items()
    }
    if url_environ["wsgi.url_scheme"] not in ("http", "https"):
        url_environ["wsgi.url_scheme"] = "http"
    if not url_environ["SERVER_PORT"]:  # the scheme's own port: none is written in the URL
        url_environ["SERVER_PORT"] = "443" if url_environ["wsgi.url_scheme"] == "https" else "80"
    if trusted_proxies:
        proto = _text(_variable(environ, "HTTP_X_FORWARDED_PROTO").split(",")[0])
        host = _text(_variable(environ, "HTTP_X_FORWARDED_HOST").split(",")[0])
        if proto in ("http", "https"):
            url_environ["wsgi.url_scheme"] = proto
        if host:
            url_environ["HTTP_HOST"] = host
    if not (url_environ["HTTP_HOST"] or url_environ["SERVER_NAME"]):
        return None
    for key in ("SCRIPT_NAME", "PATH_INFO"):  # request_uri quotes them as latin-1
        url_environ[key] = _latin1(url_environ[key])
    return request_uri(url_environ, include_query=True)


def _latin1(text: str) -> str:
    """Return a path as WSGI carries it: text beyond latin-1 as the latin-1 of its UTF-8."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")
    return text


def _page_url(value: object) -> str | None:
    """Check the page URL a front end sent: an absolute http(s) URL, its fragment dropped."""
    if not isinstance(value, str):
        raise ValidationError(
            "page_url",
            f"must be the page's URL as text (the front end's location.href), "
            f"got {type(value).__name__}",
        )
    text = check_unicode(value.strip(), "page_url")
    if not text:
        return None
    try:
        parts = urlsplit(text)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        valid = False
    if not valid:
        raise ValidationError(
            "page_url",
            "must be an absolute http(s) URL such as https://shop.example.com/cart "
            "(the front end's location.href)",
        )
    return urlunsplit(parts._replace(fragment=""))


# Keys every WSGI server sets (PEP 3333), or that a hand-made environ has.
_WSGI_KEYS = (
    "REQUEST_METHOD",
    "wsgi.version",
    "wsgi.url_scheme",
    "PATH_INFO",
    "QUERY_STRING",
    "REMOTE_ADDR",
    "SERVER_NAME",
    "HTTP_HOST",
)


def _wsgi_key(mapping: Mapping[str, Any]) -> str | None:
    """Return a key of ``mapping`` that only a WSGI environ has, or None (an unusual path)."""
    found = next((key for key in _WSGI_KEYS if key in mapping), None)
    if found is None:
        found = next(
            (key for key in mapping if isinstance(key, str) and key.startswith("HTTP_")), None
        )
    return found


def _asgi_not_wsgi(value: Mapping[str, Any]) -> str:
    """Say that an ASGI scope or request was given where a WSGI environ was wanted."""
    if hasattr(value, "scope"):  # a Starlette Request is a mapping over its scope
        return (
            f"got a {type(value).__name__}, an ASGI request (FastAPI, Starlette), not a WSGI "
            "environ: read it with snapcapi.web.from_asgi(request)"
        )
    return (
        "is an ASGI scope (it has ASGI's 'type'/'asgi' keys and none of a WSGI environ's, "
        "such as REQUEST_METHOD): read it with snapcapi.web.from_asgi(scope)"
    )


def _not_an_environ(value: object) -> str:
    """Say what ``value`` is instead of a WSGI environ, and what to pass."""
    kind = type(value).__name__
    if hasattr(value, "META"):
        return f"expected the WSGI environ (a mapping), got a {kind}: pass request.META"
    if hasattr(value, "environ"):
        return f"expected the WSGI environ (a mapping), got a {kind}: pass request.environ"
    if hasattr(value, "scope"):
        return (
            f"expected the WSGI environ (a mapping), got a {kind} with .scope, an ASGI request "
            "(FastAPI, Starlette): read it with snapcapi.web.from_asgi(request)"
        )
    return (
        "expected the WSGI environ (a mapping: Django's request.META, Flask's "
        f"request.environ), got {kind}"
    )


def from_asgi(
    scope: Mapping[str, Any] | object, *, trusted_proxies: int = 0, page_url: str | None = None
) -> RequestContext:
    """Read the request part of an event from an ASGI HTTP scope (FastAPI, Starlette).

    The scope is read as the WSGI environ the ASGI specification maps it to, so the result
    and the ``trusted_proxies`` rules are exactly those of :func:`from_wsgi`. Repeated
    headers are joined in the order they came (``Cookie`` with ``"; "``, the others with
    ``", "``); header names with an underscore are ignored, as WSGI servers do, so that
    ``X_Forwarded_For`` cannot pass for ``X-Forwarded-For``.

    Args:
        scope: The ASGI connection scope (a mapping whose ``type`` is ``"http"``), or an
            object that carries it as ``.scope``: a Starlette or FastAPI ``Request``.
        trusted_proxies: As for :func:`from_wsgi`: proxies you run in front of the app,
            whose ``X-Forwarded-For``/``-Proto``/``-Host`` entries are believed. 0
            (default): the scope's ``client`` address.
        page_url: As for :func:`from_wsgi`: the page the buyer was on (the front end's
            ``location.href``), for the ``event_source_url`` and the click id.

    Returns:
        A :class:`RequestContext`.

    Raises:
        ValidationError: ``scope`` is not an ASGI HTTP scope (a WSGI environ: use
            :func:`from_wsgi`), or its path or query string are not the strings and bytes
            ASGI gives; ``scope['headers']`` is not a list of ``(name, value)`` pairs of
            bytes; ``trusted_proxies`` is not a whole number, or is negative; ``page_url`` is
            not an absolute http(s) URL.
    """
    environ = _environ(_http_scope(scope))
    return from_wsgi(environ, trusted_proxies=trusted_proxies, page_url=page_url)


def _http_scope(value: object) -> Mapping[str, Any]:
    """Return the ASGI HTTP scope given, or the one a request carries as ``.scope``."""
    scope = value if isinstance(value, Mapping) else getattr(value, "scope", None)
    if not isinstance(scope, Mapping):
        raise ValidationError(
            "scope",
            f"expected an ASGI scope (a mapping) or a request with .scope, "
            f"got {type(value).__name__}",
        )
    kind = scope.get("type")
    if kind == "http":
        return scope
    if "type" not in scope:
        found = _wsgi_key(scope)
        if found is not None:
            raise ValidationError(
                "scope",
                f"has no 'type' key, and its {found!r} key is a WSGI environ's: read an "
                "environ with snapcapi.web.from_wsgi(environ)",
            )
        raise ValidationError(
            "scope",
            "has no 'type' key; an ASGI HTTP scope has type 'http' (pass request.scope, or "
            "the FastAPI/Starlette request itself)",
        )
    shown = repr(kind) if isinstance(kind, str) else type(kind).__name__
    raise ValidationError("scope", f"must be an HTTP scope (type 'http'), got type {shown[:40]}")


def _environ(scope: Mapping[str, Any]) -> dict[str, str]:
    """Map an ASGI HTTP scope to the WSGI environ it stands for (as the ASGI spec does)."""
    # ASGI's path includes root_path (older Starlette left it out: then it is kept whole).
    root = _wsgi_text(_string(scope, "root_path", "")).rstrip("/")
    path = _wsgi_text(_string(scope, "path", "/"))
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    environ = {
        "wsgi.url_scheme": _string(scope, "scheme", "http") or "http",
        "SCRIPT_NAME": root,
        "PATH_INFO": path,
        "QUERY_STRING": _bytes_text(scope.get("query_string", b""), "query_string"),
    }
    client = _address(scope, "client")
    if client is not None and client[0] is not None:
        environ["REMOTE_ADDR"] = str(client[0])
    server = _address(scope, "server")
    if server is not None and server[0] is not None and server[1] is not None:
        environ["SERVER_NAME"] = str(server[0])  # a Unix socket has no port: no URL from it
        environ["SERVER_PORT"] = str(server[1])
    environ.update(_header_variables(scope.get("headers", ())))
    return environ


def _header_variables(headers: Any) -> dict[str, str]:
    """Build the ``HTTP_*`` variables from ASGI ``(name, value)`` byte pairs, joining repeats."""
    try:
        pairs = [(name, value) for name, value in headers]
    except (TypeError, ValueError):
        raise ValidationError(
            "scope['headers']",
            "must be a list of (name, value) byte pairs, as ASGI gives them",
        ) from None
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        if not isinstance(name, (bytes, bytearray)) or not isinstance(value, (bytes, bytearray)):
            raise ValidationError(
                "scope['headers']",
                "must be (name, value) pairs of bytes, as the ASGI specification says, got a "
                f"({type(name).__name__}, {type(value).__name__}) pair (encode text as latin-1)",
            )
        key = bytes(name).decode("latin-1").lower()
        if "_" not in key:
            joined.setdefault(key, []).append(bytes(value).decode("latin-1"))
    return {
        "HTTP_" + key.upper().replace("-", "_"): ("; " if key == "cookie" else ", ").join(values)
        for key, values in joined.items()
    }


def _string(scope: Mapping[str, Any], key: str, default: str) -> str:
    value = scope.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError("scope", f"{key} must be a string, got {type(value).__name__}")
    return value


def _bytes_text(value: Any, key: str) -> str:
    """Read ASGI bytes as the latin-1 text WSGI uses (text given instead is kept as it is)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if isinstance(value, str):
        return value
    raise ValidationError("scope", f"{key} must be bytes, got {type(value).__name__}")


def _wsgi_text(text: str) -> str:
    """Write text as WSGI carries it: the latin-1 reading of its UTF-8 bytes."""
    return text.encode("utf-8", "replace").decode("latin-1")


def _address(scope: Mapping[str, Any], key: str) -> tuple[Any, Any] | None:
    """Return the scope's ``client`` or ``server``: a ``(host, port)`` pair, or None."""
    value = scope.get(key)
    if value is None:
        return None
    try:
        host, port = value
    except (TypeError, ValueError):
        raise ValidationError(
            "scope", f"{key} must be a (host, port) pair or None, got {type(value).__name__}"
        ) from None
    return host, port
