"""snapcapi.web: the request part of an event from a WSGI environ or an ASGI scope."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request

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


# The same request as BASE, as an ASGI server (uvicorn, hypercorn) hands it to the app.
SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/checkout/thanks",
    "raw_path": b"/checkout/thanks",
    "root_path": "",
    "query_string": b"ScCid=query-click&utm_source=snap",
    "headers": [
        (b"host", b"shop.example.com"),
        (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"),
        (b"cookie", b'theme=dark; _scid="9b2f-scid"; broken; _scclid=cookie-click'),
    ],
    "client": ("10.0.0.2", 51234),
    "server": ("internal", 8000),
}

FORWARDED_CASES = [
    ("198.51.100.9, 203.0.113.7", 1, "203.0.113.7"),  # the proxy appended the client
    ("198.51.100.9, 203.0.113.7", 2, "198.51.100.9"),
    ("spoofed, 203.0.113.7", 1, "203.0.113.7"),  # a client's own entries are ignored
    ("203.0.113.7", 2, "10.0.0.2"),  # fewer entries than trusted proxies: no guess
    ("not-an-ip", 1, "10.0.0.2"),
    ("[2001:db8::1]:443", 1, "2001:db8::1"),
    ("203.0.113.7:51234", 1, "203.0.113.7"),
    ("198.51.100.9, 203.0.113.7", 0, "10.0.0.2"),  # no trusted proxy: header ignored
]


def scope(*headers: tuple[bytes, bytes], **keys):
    """SCOPE with more headers and some keys replaced."""
    return {**SCOPE, "headers": [*SCOPE["headers"], *headers], **keys}


@pytest.mark.parametrize(("forwarded", "trusted", "expected"), FORWARDED_CASES)
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


def test_an_asgi_scope_gives_what_the_same_wsgi_request_gives():
    """from_asgi reads the scope as the environ it stands for: the very same RequestContext."""
    context = web.from_asgi(SCOPE)
    assert context == web.from_wsgi(BASE)
    assert context.client_ip_address == "10.0.0.2"
    assert context.sc_cookie1 == "9b2f-scid"
    assert context.sc_click_id == "query-click"
    assert context.event_source_url == (
        "http://shop.example.com/checkout/thanks?ScCid=query-click&utm_source=snap"
    )
    assert web.from_asgi(scope(query_string=b"")).sc_click_id == "cookie-click"
    assert web.from_asgi({"type": "http"}) == web.RequestContext()


@pytest.mark.parametrize(("forwarded", "trusted", "expected"), FORWARDED_CASES)
def test_asgi_forwarded_for_only_through_trusted_proxies(forwarded, trusted, expected):
    """from_asgi follows from_wsgi's X-Forwarded-For rules, case by case."""
    read = web.from_asgi(scope((b"x-forwarded-for", forwarded.encode())), trusted_proxies=trusted)
    assert read.client_ip_address == expected


def test_asgi_repeated_forwarded_for_headers_read_as_one_list():
    """Two X-Forwarded-For headers count as one list, in the order they came."""
    two = scope((b"x-forwarded-for", b"198.51.100.9"), (b"x-forwarded-for", b"203.0.113.7"))
    assert web.from_asgi(two, trusted_proxies=1).client_ip_address == "203.0.113.7"
    assert web.from_asgi(two, trusted_proxies=2).client_ip_address == "198.51.100.9"


def test_asgi_header_with_an_underscore_cannot_pass_for_a_forwarded_header():
    """A client's x_forwarded_for header is ignored, as WSGI servers ignore it."""
    forged = scope((b"x-forwarded-for", b"203.0.113.7"), (b"x_forwarded_for", b"198.51.100.66"))
    assert web.from_asgi(forged, trusted_proxies=1).client_ip_address == "203.0.113.7"
    alone = scope((b"x_forwarded_for", b"198.51.100.66"))
    assert web.from_asgi(alone, trusted_proxies=1).client_ip_address == "10.0.0.2"


def test_asgi_cookies_split_over_several_headers():
    """HTTP/2 may send one Cookie header per cookie: they are read together."""
    split = scope(headers=[(b"cookie", b"theme=dark"), (b"cookie", b"_scid=pixel-cookie")])
    assert web.from_asgi(split).sc_cookie1 == "pixel-cookie"


def test_asgi_forwarded_scheme_and_host_behind_a_trusted_proxy():
    """Behind a trusted proxy the page URL uses the forwarded scheme and host, as in WSGI."""
    forwarded = scope((b"x-forwarded-proto", b"https"), (b"x-forwarded-host", b"www.shop.com"))
    assert web.from_asgi(forwarded, trusted_proxies=1).event_source_url.startswith(
        "https://www.shop.com/checkout/thanks"
    )
    assert web.from_asgi(forwarded).event_source_url.startswith("http://shop.example.com/")


@pytest.mark.parametrize(
    ("keys", "url"),
    [
        ({"path": "/shop/thanks", "root_path": "/shop"}, "http://shop.example.com/shop/thanks"),
        # older Starlette left root_path out of path: the URL is the same
        ({"path": "/thanks", "root_path": "/shop"}, "http://shop.example.com/shop/thanks"),
        ({"path": "/shopping", "root_path": "/shop"}, "http://shop.example.com/shop/shopping"),
        ({"path": "/café/ü"}, "http://shop.example.com/caf%C3%A9/%C3%BC"),
        ({"path": "/"}, "http://shop.example.com/"),
    ],
)
def test_asgi_page_url_from_root_path_and_path(keys, url):
    """The page URL is root_path and path, percent-encoded as the browser sent them."""
    assert web.from_asgi(scope(query_string=b"", **keys)).event_source_url == url


@pytest.mark.parametrize(
    ("keys", "url"),
    [
        ({"scheme": "http", "server": ("internal", 8000)}, "http://internal:8000/t"),
        ({"scheme": "https", "server": ("internal", 443)}, "https://internal/t"),
        ({"scheme": "http", "server": ["internal", 80]}, "http://internal/t"),
        ({"server": ("/run/app.sock", None)}, None),  # a Unix socket: no host to name
        ({"server": None}, None),
    ],
)
def test_asgi_page_url_without_a_host_header(keys, url):
    """Without a Host header the URL names the server, as WSGI does; a socket path gives none."""
    bare = {"type": "http", "path": "/t", **keys}
    assert web.from_asgi(bare).event_source_url == url


def test_asgi_client_address_forms():
    """The client is a (host, port) pair or None; IPv6 is kept whole; a non-IP is no IP."""
    assert web.from_asgi(scope(client=("2001:db8::7", 5000))).client_ip_address == "2001:db8::7"
    assert web.from_asgi(scope(client=["203.0.113.7", 5000])).client_ip_address == "203.0.113.7"
    assert web.from_asgi(scope(client=None)).client_ip_address is None
    assert web.from_asgi(scope(client=("testclient", 50000))).client_ip_address is None


def test_asgi_accepts_a_starlette_request_or_anything_with_a_scope():
    """A Starlette/FastAPI Request, or any object with .scope, reads as its scope."""
    assert web.from_asgi(Request(SCOPE)) == web.from_asgi(SCOPE)

    class Carrier:
        scope = SCOPE

    assert web.from_asgi(Carrier(), trusted_proxies=1) == web.from_asgi(SCOPE)


def test_asgi_text_query_string_is_taken_as_it_is():
    """A query string given as text (some test harnesses do) reads like bytes."""
    read = web.from_asgi(scope(query_string="ScCid=text-click"))
    assert read.sc_click_id == "text-click"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("x-forwarded-for", "203.0.113.7")], r"pairs of bytes.* got a \(str, str\) pair"),
        ([(b"host", "shop.example.com")], r"got a \(bytes, str\) pair"),
        ([(b"host", 7)], r"got a \(bytes, int\) pair"),
        (b"host: x", r"must be a list of \(name, value\) byte pairs"),
        ({b"host": b"x"}, r"must be a list of \(name, value\) byte pairs"),
        ([(b"host",)], "must be a list"),
    ],
)
def test_asgi_headers_that_are_not_byte_pairs_name_scope_headers(headers, message):
    """Headers must be (name, value) byte pairs, as ASGI says: else scope['headers'] is named."""
    with pytest.raises(ValidationError, match=message) as raised:
        web.from_asgi({**SCOPE, "headers": headers})
    assert raised.value.field == "scope['headers']"
    assert str(raised.value).startswith("scope['headers']: ")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"type": "websocket", "path": "/ws"}, "must be an HTTP scope .*'websocket'"),
        ({"type": "lifespan"}, "must be an HTTP scope .*'lifespan'"),
        ({"path": "/"}, "has no 'type' key; an ASGI HTTP scope has type 'http'"),
        ({"REMOTE_ADDR": "1.2.3.4"}, "'REMOTE_ADDR' key is a WSGI environ's: .*from_wsgi"),
        (BASE, "no 'type' key, .*WSGI environ's: read an environ with snapcapi.web.from_wsgi"),
        ({"REQUEST_METHOD": "GET", "wsgi.version": (1, 0)}, "'REQUEST_METHOD'.*from_wsgi"),
        (42, "expected an ASGI scope .* got int"),
        (object(), "expected an ASGI scope .* got object"),
        (scope(query_string=7), "query_string must be bytes, got int"),
        (scope(path=b"/checkout"), "path must be a string, got bytes"),
        (scope(client="10.0.0.2"), r"client must be a \(host, port\) pair or None, got str"),
    ],
)
def test_asgi_anything_but_an_http_scope_names_scope(given, message):
    """A scope that is not an ASGI HTTP scope is a ValidationError on ``scope``."""
    with pytest.raises(ValidationError, match=message) as raised:
        web.from_asgi(given)
    assert raised.value.field == "scope"


@pytest.mark.parametrize("trusted", [-1, "1", 1.0, True, None])
def test_trusted_proxies_must_be_a_whole_number(trusted):
    """trusted_proxies is an int of 0 or more (a setting read as text must be int()-ed)."""
    for read in (lambda: web.from_wsgi(BASE, trusted_proxies=trusted),
                 lambda: web.from_asgi(SCOPE, trusted_proxies=trusted)):  # fmt: skip
        with pytest.raises(ValidationError, match="trusted_proxies") as raised:
            read()
        assert raised.value.field == "trusted_proxies"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (SCOPE, r"is an ASGI scope .*from_asgi\(scope\)"),
        ({"type": "http"}, r"is an ASGI scope .*from_asgi\(scope\)"),
        ({"asgi": {"version": "3.0"}}, r"is an ASGI scope .*from_asgi\(scope\)"),
        (Request(SCOPE), r"got a Request, an ASGI request .*from_asgi\(request\)"),
        (None, "expected the WSGI environ .*request.META.*got NoneType"),
    ],
)
def test_wsgi_refuses_an_asgi_scope_or_request_and_points_to_from_asgi(given, message):
    """from_wsgi given what from_asgi reads says so, instead of reading an empty request."""
    with pytest.raises(ValidationError, match=message) as raised:
        web.from_wsgi(given)
    assert raised.value.field == "environ"


def test_wsgi_given_a_framework_request_names_the_environ_to_pass():
    """A Django or Flask request object, or any carrier of .scope, is told what to pass."""

    class DjangoRequest:
        META = BASE

    class FlaskRequest:
        environ = BASE

    class AsgiCarrier:
        scope = SCOPE

    for given, advice in [
        (DjangoRequest(), "pass request.META"),
        (FlaskRequest(), "pass request.environ"),
        (AsgiCarrier(), "from_asgi(request)"),
    ]:
        with pytest.raises(ValidationError, match=re.escape(advice)) as raised:
            web.from_wsgi(given)
        assert raised.value.field == "environ"


def test_an_environ_with_a_type_key_and_wsgi_keys_is_still_an_environ():
    """Only a mapping with ASGI's keys and none of WSGI's is refused: a 'type' alone is kept."""
    assert web.from_wsgi({**BASE, "type": "http"}) == web.from_wsgi(BASE)
    assert web.from_wsgi({"type": "x", "HTTP_USER_AGENT": "UA"}).client_user_agent == "UA"


API_CALL = {**BASE, "PATH_INFO": "/api/checkout", "QUERY_STRING": ""}


def test_page_url_is_the_event_source_url_and_gives_the_click_id():
    """The page the buyer was on is the event's URL; its ScCid is the click id."""
    page = "https://shop.example.com/cart?ScCid=page-click&utm_source=snap#pay"
    context = web.from_wsgi(API_CALL, page_url=page)
    assert (
        context.event_source_url == "https://shop.example.com/cart?ScCid=page-click&utm_source=snap"
    )
    assert context.sc_click_id == "page-click"  # beats the _scclid cookie
    assert web.from_asgi({**SCOPE, "path": "/api/checkout", "query_string": b""},
                         page_url=page) == context  # fmt: skip
    # The API call's own ScCid comes first; then the page's; then the cookie.
    api_click = web.from_wsgi({**API_CALL, "QUERY_STRING": "ScCid=api-click"}, page_url=page)
    assert api_click.sc_click_id == "api-click"
    plain_page = web.from_wsgi(API_CALL, page_url="https://shop.example.com/cart")
    assert plain_page.sc_click_id == "cookie-click"
    assert plain_page.event_source_url == "https://shop.example.com/cart"


def test_no_page_url_keeps_the_request_url():
    """Without a page URL (None or blank), the request's own URL is the event's."""
    expected = "http://shop.example.com/api/checkout"
    assert web.from_wsgi(API_CALL).event_source_url == expected
    assert web.from_wsgi(API_CALL, page_url="  ").event_source_url == expected
    assert web.from_wsgi(API_CALL, page_url=None) == web.from_wsgi(API_CALL)


@pytest.mark.parametrize(
    ("page_url", "message"),
    [
        ("/basket", "must be an absolute http.s. URL"),
        ("ftp://shop.example.com/basket", "must be an absolute http.s. URL"),
        ("https://", "must be an absolute http.s. URL"),
        ("http://[::1/basket", "must be an absolute http.s. URL"),
        (42, "must be the page's URL as text .*got int"),
    ],
)
def test_a_page_url_that_is_not_an_http_url_names_page_url(page_url, message):
    """A page URL that is not an absolute http(s) URL is a ValidationError on page_url."""
    for read in (lambda: web.from_wsgi(API_CALL, page_url=page_url),
                 lambda: web.from_asgi(SCOPE, page_url=page_url)):  # fmt: skip
        with pytest.raises(ValidationError, match=message) as raised:
            read()
        assert raised.value.field == "page_url"
        assert "basket" not in str(raised.value)  # the value itself is not repeated
