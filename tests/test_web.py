"""snapcapi.web: the request part of an event from a WSGI environ."""

from __future__ import annotations

import pytest

from snapcapi import ValidationError, web

BASE = {
    "REMOTE_ADDR": "10.0.0.2",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    "HTTP_COOKIE": 'theme=dark; _scid="9b2f-scid"; broken; _scclid=cookie-click',
    "QUERY_STRING": "ScCid=query-click&utm_source=snap",
    "HTTP_HOST": "shop.example.com",
    "PATH_INFO": "/checkout/thanks",
    "SERVER_NAME": "internal",
    "SERVER_PORT": "8000",
    "wsgi.url_scheme": "http",
}


def test_reads_ip_agent_cookie_click_id_and_url():
    """Without trusted proxies the IP is REMOTE_ADDR; the query click id beats the cookie."""
    context = web.from_wsgi(BASE)
    assert context.client_ip_address == "10.0.0.2"
    assert context.client_user_agent.startswith("Mozilla/5.0")
    assert context.sc_cookie1 == "9b2f-scid"
    assert context.sc_click_id == "query-click"
    assert context.event_source_url == (
        "http://shop.example.com/checkout/thanks?ScCid=query-click&utm_source=snap"
    )
    without_query = web.from_wsgi({**BASE, "QUERY_STRING": ""})
    assert without_query.sc_click_id == "cookie-click"


@pytest.mark.parametrize(
    ("forwarded", "trusted", "expected"),
    [
        ("198.51.100.9, 203.0.113.7", 1, "203.0.113.7"),  # the proxy appended the client
        ("198.51.100.9, 203.0.113.7", 2, "198.51.100.9"),
        ("spoofed, 203.0.113.7", 1, "203.0.113.7"),  # a client's own entries are ignored
        ("203.0.113.7", 2, "10.0.0.2"),  # fewer entries than trusted proxies: no guess
        ("not-an-ip", 1, "10.0.0.2"),
        ("[2001:db8::1]:443", 1, "2001:db8::1"),
        ("203.0.113.7:51234", 1, "203.0.113.7"),
        ("198.51.100.9, 203.0.113.7", 0, "10.0.0.2"),  # no trusted proxy: header ignored
    ],
)
def test_forwarded_for_only_through_trusted_proxies(forwarded, trusted, expected):
    """X-Forwarded-For is read from the right, only as far as the trusted proxies go."""
    environ = {**BASE, "HTTP_X_FORWARDED_FOR": forwarded}
    assert web.from_wsgi(environ, trusted_proxies=trusted).client_ip_address == expected


def test_forwarded_scheme_and_host_behind_a_trusted_proxy():
    """Behind a trusted proxy the page URL uses the forwarded scheme and host."""
    environ = {**BASE, "HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "www.shop.com"}
    assert web.from_wsgi(environ, trusted_proxies=1).event_source_url.startswith(
        "https://www.shop.com/checkout/thanks"
    )
    assert web.from_wsgi(environ).event_source_url.startswith("http://shop.example.com/")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        web.from_wsgi(environ, trusted_proxies=-1)


def test_user_data_merges_identifiers_and_repr_masks():
    """user_data() adds the request's fields; given identifiers win; repr shows no raw values."""
    context = web.from_wsgi(BASE)
    user = context.user_data(email="jane@example.com", sc_click_id="given-click")
    assert user.sc_click_id == "given-click"
    assert user.client_ip_address == "10.0.0.2"
    assert user.match_keys == ("em", "client_ip_address+client_user_agent")
    shown = repr(context)
    assert "10.0.0.2" not in shown
    assert "9b2f-scid" not in shown
    assert "utm_source" not in shown


def test_an_empty_environ_gives_nothing():
    """A bare environ (no host, no headers) gives None everywhere, not an error."""
    context = web.from_wsgi({})
    assert context == web.RequestContext()
    assert context.user_data().match_keys == ()
