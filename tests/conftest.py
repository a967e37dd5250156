"""Shared helpers for the tests."""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from snapcapi import AppData, Client, CustomData, Event, UserData
from snapcapi.testing import FakeSnapServer

# Property tests judge behaviour, not speed: on a fresh or busy machine hypothesis' first draws
# (building its Unicode tables) and single examples can be slow, which is not a failure here.
settings.register_profile("snapcapi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("snapcapi")


# --------------------------------------------------------------------------- hostile inputs
#
# What a broken file, a careless mapping or an attacker hands the models (issue 11): numbers
# past every range, values that are no numbers, text no encoder takes, containers that never
# end, and personal data in fields where it does not belong. The property tests draw from
# these so that a constructor raising anything but ValidationError cannot go unnoticed.

#: A Latin-1 "café-1" read as UTF-8 with surrogateescape, as a file in the wrong encoding is.
LONE_SURROGATE_TEXT = b"caf\xe9-1".decode("utf-8", "surrogateescape")
#: Personal data as a careless mapping puts it in any column; errors must never quote it.
PII_VALUES = ("jane.doe@example.com", "Zebulonia Smith", "Zebulonia", "+1 415 555 0132")


def nested_list(depth: int = 600) -> list[Any]:
    """Return a list nested ``depth`` deep (a JSON bomb's shape)."""
    root: list[Any] = []
    inner = root
    for _ in range(depth - 1):
        inner.append([])
        inner = inner[0]
    return root


def nested_dict(depth: int = 600) -> dict[str, Any]:
    """Return a dict nested ``depth`` deep."""
    root: dict[str, Any] = {}
    inner = root
    for _ in range(depth - 1):
        inner["a"] = {}
        inner = inner["a"]
    return root


def cyclic_list() -> list[Any]:
    """Return a list that contains itself."""
    loop: list[Any] = []
    loop.append(loop)
    return loop


def cyclic_dict() -> dict[str, Any]:
    """Return a dict that contains itself."""
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def _huge(digits: int, sign: int) -> int:
    return sign * (10**digits - 1)


#: Integers past the float range and past Python's 4,300-digit int-to-text limit.
huge_ints = st.one_of(
    st.sampled_from([10**400, -(10**400), 10**4300, 10**4301]),
    st.builds(_huge, st.integers(min_value=300, max_value=5000), st.sampled_from([1, -1])),
)
#: Floats that are no number, or no finite one.
non_finite_floats = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324])
#: Decimals that trap, overflow or vanish.
hostile_decimals = st.one_of(
    st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("-sNaN"), Decimal("Infinity"),
                     Decimal("-Infinity"), Decimal("1e5000"), Decimal("-1e5000"),
                     Decimal("1e-5000"), Decimal("1e999999999"), Decimal("9" * 5000)]),
    st.decimals(),
)  # fmt: skip
#: Fractions, including those no float can hold.
hostile_fractions = st.one_of(
    st.fractions(),
    st.builds(Fraction, huge_ints, st.integers(min_value=1, max_value=7)),
)
#: Text with a lone surrogate somewhere (plain st.text() never draws one).
surrogate_text = st.builds(
    lambda head, point, tail: head + chr(point) + tail,
    st.text(max_size=8),
    st.integers(min_value=0xD800, max_value=0xDFFF),
    st.text(max_size=8),
) | st.just(LONE_SURROGATE_TEXT)
#: Digit strings past the int-to-text limit, and numbers written with 400 digits.
huge_digit_text = st.sampled_from(["9" * 400, "9" * 5000, "1" * 4301, "9" * 400 + ".5"])
#: Containers 600 deep, and containers that contain themselves (made afresh each draw).
hostile_containers = st.one_of(
    st.builds(nested_list), st.builds(nested_dict), st.builds(cyclic_list), st.builds(cyclic_dict),
    st.builds(lambda: [nested_list()]), st.builds(lambda: {"a": cyclic_list()}),
)  # fmt: skip
#: Values of the wrong type where a country code or a name is expected.
wrong_types = st.sampled_from([5, ["US"], ("US",), b"US", {"US"}, {"US": 1}, object(), 2.5, True])
#: Personal data: errors about it show masked forms, never these strings.
pii_text = st.one_of(
    st.sampled_from(PII_VALUES),
    st.emails(),
    st.from_regex(r"[A-Z][a-z]{3,9} [A-Z][a-z]{3,9}", fullmatch=True),
)
_hostile_scalars = st.one_of(
    huge_ints, non_finite_floats, hostile_decimals, hostile_fractions, surrogate_text,
    huge_digit_text, wrong_types, pii_text,
    st.text(alphabet=st.characters(exclude_categories=()), max_size=30),
)  # fmt: skip
#: Everything above, alone or inside a list or a dict, for "any value gives a result or
#: ValidationError, nothing else".
hostile_values = st.one_of(
    _hostile_scalars,
    hostile_containers,
    st.lists(_hostile_scalars, max_size=3),
    st.dictionaries(st.sampled_from(["note", "n"]), _hostile_scalars, max_size=2),
)


_NAME = re.compile(r"[A-Z][a-z]{3,9} [A-Z][a-z]{3,9}")


def looks_personal(raw: object) -> bool:
    """Tell whether a drawn value is personal data as pii_text makes it (an email, a name).

    Other text is not checked: short random text ("code") is found in any message's words.
    """
    if not isinstance(raw, str):
        return False
    text = raw.strip()
    return text in PII_VALUES or ("@" in text and len(text) >= 6) or bool(_NAME.fullmatch(text))


def assert_never_quoted(error: BaseException, raw: object) -> None:
    """Assert that no text an error carries (str, repr, args, reason) holds personal ``raw``."""
    if not looks_personal(raw):
        return
    assert isinstance(raw, str)
    texts = [str(error), repr(error), *(str(arg) for arg in error.args)]
    texts += [str(getattr(error, name, "")) for name in ("problem", "reason", "field")]
    explain = getattr(error, "explain", None)
    if explain is not None:
        texts.append(explain("cli"))
    for text in texts:
        assert raw.strip() not in text, (raw, text)


def self_signed_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """Make a one-day self-signed certificate for ``name`` (a DNS name or an IP) with openssl.

    Returns the certificate's and the key's paths. Without the openssl command the test is
    skipped on a developer's machine and fails in CI (``CI=true``), never silently passes.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        message = "needs the openssl command to make a certificate"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    kind = "IP" if name.replace(".", "").isdigit() else "DNS"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName={kind}:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def make_event(i: int = 0, **overrides: Any) -> Event:
    """A valid WEB purchase with event_id f"e{i}"."""
    fields: dict[str, Any] = {
        "event_name": "PURCHASE",
        "event_time": datetime.now(timezone.utc) - timedelta(minutes=5),
        "action_source": "WEB",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": f"e{i}",
        "user_data": UserData(email=f"buyer{i}@example.com"),
        "custom_data": CustomData(value=Decimal("10.50"), currency="USD"),
    }
    fields.update(overrides)
    return Event(**fields)


def make_app_event(i: int = 0) -> Event:
    """A valid MOBILE_APP event with event_id f"app{i}"."""
    return make_event(
        i,
        event_name="APP_OPEN",
        action_source="MOBILE_APP",
        event_id=f"app{i}",
        event_source_url=None,
        custom_data=None,
        user_data=UserData(madid="6d92078a-8246-4ba4-ae5b-76104861e7dc"),
        app_data=AppData(platform="ios", app_id="123456789"),
    )


class Sleeps(list[float]):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(snap_server: FakeSnapServer, sleeps: Sleeps):
    """Build clients for the fake server that sleep instantly; closed after the test."""
    made: list[Client] = []

    def build(**options: Any) -> Client:
        settings: dict[str, Any] = {
            "snap_app_id": snap_server.snap_app_id,
            "base_url": snap_server.url,
            "sleep": sleeps,
            "rng": random.Random(0),
        }
        settings.update(options)
        client = Client(snap_server.pixel_id, snap_server.token, **settings)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


# --------------------------------------------------------------------------- the CLI
def run_snapcapi(*argv, server=None, env=None, cwd=None, timeout=120):
    """Run ``python -m snapcapi`` as a user does; with ``server``, its credentials and address.

    The environment's own token is dropped (a test gives one or tests its absence). Output is
    decoded as UTF-8 (undecodable bytes shown, not raised), and no run may end in a traceback.
    """
    import sys

    environment = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", **(env or {})}
    environment.pop("SNAP_ACCESS_TOKEN", None)
    extra: list[str] = []
    if server is not None:
        environment["SNAP_ACCESS_TOKEN"] = server.token
        extra = ["--pixel-id", server.pixel_id, "--base-url", server.url, "--max-retries", "0"]
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", *map(str, argv), *extra],
        capture_output=True, text=True, timeout=timeout, env=environment, check=False,
        cwd=cwd, encoding="utf-8", errors="backslashreplace",
    )  # fmt: skip
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    return completed


# --------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the session (tests/_postgres.py), stopped at the end.

    Without PostgreSQL installed the tests that need it skip with the reason; in CI (``CI=true``)
    they fail instead, since ``.ci/run`` installs it.
    """
    from _postgres import PostgresServer, Unavailable

    try:
        pytest.importorskip("psycopg", reason="psycopg is in the test extra")
        server = PostgresServer().start()
    except Unavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no PostgreSQL server: {exc}")
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
