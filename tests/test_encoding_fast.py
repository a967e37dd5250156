"""The client's direct encoding of events against the general path, and the flat user storage.

``_wire.encode_event`` writes an event's JSON from its fields; it must give the bytes of
``_wire.encode(event.to_payload())`` under orjson and under the standard library encoder, on
every event the models can build (every field combination, awkward text, values that orjson
refuses and hands to the standard library). ``UserData`` keeps its wire form ready to encode
(flat tuples of digest strings, atomic, so the collector untracks them): its public
attributes, repr, payload, copies and pickles must be what the fields say.
"""

from __future__ import annotations

import decimal
import json
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snapcapi
from snapcapi import normalize
from snapcapi._transport import _wire
from snapcapi._transport._prepare import Preparer
from snapcapi.errors import ValidationError
from snapcapi.user_data import _HASHED, UserData, identifier_rows

orjson = pytest.importorskip("orjson")
ORJSON = _wire.orjson_codec()
assert ORJSON is not None
CODECS = {"orjson": ORJSON, "json": _wire.STDLIB_CODEC}
EXAMPLES = 1500

# Text that exercises every escape: quotes, backslashes, control characters, DEL, non-ASCII,
# astral code points, line separators, and plain ASCII.
AWKWARD = st.sampled_from(
    [
        'a"b',
        "back\\slash",
        "tab\there",
        "nl\n",
        "\x00\x1f\x7f",
        "é",
        "Chloé García",
        "日本",
        "\U0001f600",
        "\u2028\u2029",
        "  padded  ",
        "ok",
        "a/b",
        "<script>",
        "'",
        "",
    ]
)
TEXT = st.one_of(
    AWKWARD,
    st.text(max_size=12),
    st.text(st.characters(exclude_categories=()), max_size=6),  # lone surrogates too
    st.text("abcXYZ019 -_.:/@", min_size=1, max_size=16),
)
HEX = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)
EMAILS = st.one_of(
    st.sampled_from(
        [
            "jane@example.com",
            " Chloé.García12@Example.com ",
            "BOB@GMAIL.COM",
            "x@münchen.de",
            "not an email",
            "a@b",
            '"quoted"@example.org',
            "ann+tag@mail.co.uk",
        ]
    ),
    HEX,
    st.builds(
        "{}@{}.com".format,
        st.text("abcdé.+_", min_size=1, max_size=6),
        st.text("abcxyz", min_size=1, max_size=5),
    ),
)
PHONES = st.one_of(
    st.sampled_from(
        [
            "+33 6 12 34 56 78",
            "0612345678",
            "+1 (415) 555-2671",
            "415-555-2671",
            "n/a",
            "0044 20 7946 0958",
            "07946 095812",
            "+49 30 901820",
            "123",
            "+999 1",
        ]
    ),
    HEX,
    st.text("0123456789 +-()", max_size=16),
)
NAMES = st.one_of(st.sampled_from(["Zoë", "  MARY ", "o'brien", "Łukasz", "-"]), TEXT, HEX)
COUNTRIES = st.one_of(st.sampled_from(["US", "fr", "Germany", "GBR", "zz", ""]), HEX)


def one_or_more(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, max_size=3), st.tuples(values, values))


USER = st.fixed_dictionaries(
    {},
    optional={
        "email": one_or_more(EMAILS),
        "phone": one_or_more(PHONES),
        "first_name": one_or_more(NAMES),
        "last_name": one_or_more(NAMES),
        "gender": one_or_more(st.one_of(st.sampled_from(["m", "F", "female", "x"]), HEX)),
        "date_of_birth": one_or_more(st.sampled_from(["1990-01-31", "19900131", "2001-02-30"])),
        "city": one_or_more(NAMES),
        "state": one_or_more(st.sampled_from(["CA", "California", "Île-de-France", "ny"])),
        "zip_code": one_or_more(st.sampled_from(["94103", "94103-1234", "SW1A 1AA", "75001"])),
        "country": one_or_more(COUNTRIES),
        "external_id": one_or_more(TEXT),
        "client_ip_address": st.sampled_from(["1.2.3.4", "2001:db8::1", " 10.0.0.1 ", "x"]),
        "client_user_agent": TEXT,
        "sc_click_id": TEXT,
        "sc_cookie1": TEXT,
        "madid": st.sampled_from(
            ["00000000-0000-0000-0000-000000000000", "6D92078A-8246-4BA4-AE5B-76104861E7DC"]
        ),
        "idfv": TEXT,
        "subscription_id": TEXT,
        "lead_id": st.one_of(TEXT, st.integers(0, 10**12)),
        "anon_id": one_or_more(TEXT),
        "download_id": TEXT,
        "partner_id": TEXT,
        "region": st.sampled_from(["US", "FR", "gb"]),
    },
)
AMOUNTS = st.one_of(
    st.integers(0, 10**9),
    st.floats(0, 1e9, allow_nan=False),
    st.decimals(0, 10**6, allow_nan=False, allow_infinity=False),
    st.sampled_from(["12.50", "0.1", "1e3", "19.999"]),
)
JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63) + 1, 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        TEXT,
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
CONTENT = st.fixed_dictionaries(
    {"id": st.one_of(TEXT, st.integers(0, 10**6))},
    optional={
        "quantity": st.integers(0, 99),
        "item_price": AMOUNTS,
        "delivery_category": st.sampled_from(["in_store", "home_delivery"]),
        "brand": TEXT,
    },
)
CUSTOM = st.fixed_dictionaries(
    {},
    optional={
        "value": AMOUNTS,
        "currency": st.sampled_from(["usd", "EUR", "Gbp", " jpy "]),
        "content_ids": one_or_more(TEXT),
        "contents": st.lists(CONTENT, max_size=3),
        "content_category": one_or_more(TEXT),
        "content_name": TEXT,
        "num_items": st.integers(0, 10**6),
        "order_id": st.one_of(TEXT, st.integers(0, 10**9)),
        "brands": one_or_more(TEXT),
        "predicted_ltv": AMOUNTS,
        "custom_fields": st.dictionaries(TEXT, TEXT, max_size=3),
        "extra": st.dictionaries(st.text('xyzé"\\', min_size=1, max_size=4), JSON, max_size=3),
        "checkin_date": st.sampled_from(["2026-11-20"]),
        "destination_airport": st.sampled_from(["CDG", "jfk"]),
        "num_adults": st.integers(0, 9),
        "hotel_score": st.floats(0, 10, allow_nan=False),
        "preferred_star_ratings": one_or_more(TEXT),
        "city": TEXT,
    },
)
APP = st.fixed_dictionaries(
    {},
    optional={
        "app_id": TEXT,
        "platform": st.sampled_from(["ios", "android"]),
        "advertiser_tracking_enabled": st.booleans(),
        "application_tracking_enabled": st.sampled_from([True, False, 1, 0, "true"]),
        "package_name": TEXT,
        "screen_density": st.floats(0, 5, allow_nan=False),
        "device_timezone": TEXT,
        "campaign_ids": TEXT,
        "install_referrer": TEXT,
        "installer_package": TEXT,
        "url_schemes": one_or_more(TEXT),
        "windows_attribution_id": TEXT,
    },
)
EVENT = st.fixed_dictionaries(
    {
        "event_name": st.sampled_from(["PURCHASE", "page_view", "Add to Cart", "SIGN_UP"]),
        "action_source": st.sampled_from(["WEB", "MOBILE_APP", "OFFLINE"]),
        "event_time": st.integers(1_700_000_000, 1_790_000_000),
    },
    optional={
        "event_id": st.one_of(TEXT, st.integers(0, 10**12)),
        "event_source_url": st.sampled_from(
            ["https://shop.example.com/p?q=1", "http://[2001:db8::1]/x", 'https://é.fr/"x"']
        ),
        "custom_data": CUSTOM,
        "app_data": APP,
        "data_processing_options": one_or_more(st.sampled_from(["lmu", "LMU", "x\\y", "é"])),
        "data_processing_options_country": st.sampled_from([0, 1]),
        "data_processing_options_state": st.integers(0, 2**53),
        "integration": TEXT,
        "opt_out": st.booleans(),
        "consent": st.booleans(),
    },
)


def _part(cls: Any, fields: dict[str, Any]) -> Any:
    try:
        return cls(**fields)
    except ValidationError:
        return None


def build(data: st.DataObject) -> snapcapi.Event:
    """Draw an event; parts that do not validate are drawn again or left out."""
    fields = data.draw(EVENT)
    for _ in range(5):
        user = _part(UserData, {**data.draw(USER), "on_invalid": "drop"})
        if user is not None:
            break
    else:
        user = UserData(email="jane@example.com")
    fields["user_data"] = user
    for key, cls in (("custom_data", snapcapi.CustomData), ("app_data", snapcapi.AppData)):
        if key in fields:
            part = _part(cls, fields[key])
            if part is None:
                del fields[key]
            else:
                fields[key] = part
    for key in list(fields):
        try:
            event = snapcapi.Event(**fields)
        except ValidationError as exc:
            # Leave out the optional field that failed (or any one, if the error is elsewhere).
            field = exc.field.partition(".")[0] if exc.field else key
            fields.pop(field if field in fields and field not in EVENT_REQUIRED else key, None)
        else:
            return refused(data, event)
    return snapcapi.Event(
        event_name="PURCHASE", action_source="OFFLINE", user_data=user, event_time=1_780_000_000
    )


def refused(data: st.DataObject, event: snapcapi.Event) -> snapcapi.Event:
    """Now and then, put in a value orjson refuses (the models never make one: a stand-in).

    Past 64 bits or a lone surrogate, orjson refuses the whole body and hands it to the
    standard library; the direct encoding must do the same.
    """
    odd = data.draw(st.sampled_from([None] * 8 + ["surrogate", "integer"]))
    if odd == "surrogate":
        return event._replace(integration=data.draw(st.sampled_from(["\ud800", "a\udfffb"])))
    if odd == "integer":
        return event._replace(data_processing_options_state=2**64 + data.draw(st.integers(0, 9)))
    return event


EVENT_REQUIRED = frozenset({"event_name", "action_source", "event_time", "user_data"})
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def general(event: snapcapi.Event, name: str) -> bytes:
    payload = event.to_payload()
    return _wire.stdlib_encode(payload) if name == "json" else orjson_or_stdlib(payload)


def orjson_or_stdlib(payload: Any) -> bytes:
    try:
        return bytes(orjson.dumps(payload))
    except TypeError:
        return _wire.stdlib_encode(payload)


@SETTINGS
@given(st.data())
def test_direct_encoding_is_the_payload_encoded(data: st.DataObject) -> None:
    event = build(data)
    for name, pieces in CODECS.items():
        assert _wire.encode_event(event, pieces) == general(event, name), name
    # The default is the encoder in use, as _wire.encode is.
    assert _wire.encode_event(event) == _wire.encode(event.to_payload())
    # And the text parses back to the payload (integers past 64 bits included).
    assert json.loads(_wire.encode_event(event, _wire.STDLIB_CODEC)) == json.loads(
        json.dumps(event.to_payload())
    )


@SETTINGS
@given(st.data())
def test_preparer_items_hold_the_payload_encoded(data: st.DataObject) -> None:
    event = build(data)
    preparer = Preparer(pixel_id="p", snap_app_id="a", default_region="US")
    prepared = preparer.prepare(0, event, 1_780_000_000.0)
    if isinstance(prepared, tuple):
        _, item = prepared
        user = event.user_data.with_default_region("US")
        sent = event._replace(user_data=user)
        assert item.encoded == _wire.encode(sent.to_payload())


def reference_payload(user: UserData) -> dict[str, Any]:
    """The user's payload from its public attributes, as the tuple-of-digests storage had it."""
    payload: dict[str, Any] = {}
    for field in user.__dict__:
        spec = _HASHED.get(field)
        value = user.__dict__[field]
        if value is None:
            continue
        if spec is not None:
            payload[spec[0]] = [normalize.hash_value(v) for v in value]
        elif field in ("region", "on_invalid", "unresolved_phones", "drops", "warnings", "_wire"):
            continue
        else:
            payload[field] = list(value) if isinstance(value, tuple) else value
    return payload


def check_user(user: UserData) -> None:
    payload = user.to_payload()
    assert payload == reference_payload(user)
    assert list(payload) == list(reference_payload(user))  # the same order
    for field, (key, _) in _HASHED.items():
        normalized = getattr(user, field)
        stored = user._wire.get(key)
        if normalized is None:
            assert stored is None
            continue
        assert isinstance(normalized, tuple)
        assert all(isinstance(v, str) for v in normalized)
        # A flat tuple of digest strings, one per normalized value, in its order.
        assert isinstance(stored, tuple)
        assert stored == tuple(normalize.hash_value(v) for v in normalized)
    for value in user._wire.values():  # atomic only: strings, or tuples of strings
        assert isinstance(value, str) or all(isinstance(v, str) for v in value)
    copy = pickle.loads(pickle.dumps(user))
    assert copy == user
    assert hash(copy) == hash(user)
    assert repr(copy) == repr(user)
    assert copy.to_payload() == payload
    assert identifier_rows(copy) == identifier_rows(user)
    assert user._json(_wire.STDLIB_CODEC.quote, _wire.STDLIB_CODEC.value).encode() == (
        _wire.stdlib_encode(payload)
    )
    try:
        expected = orjson.dumps(payload)
    except TypeError:  # a lone surrogate: the pieces refuse it too
        with pytest.raises(TypeError):
            user._json(ORJSON.quote, ORJSON.value)
    else:
        assert user._json(ORJSON.quote, ORJSON.value).encode() == expected


@SETTINGS
@given(USER, st.sampled_from(["raise", "drop"]))
def test_user_storage_gives_the_public_attributes(fields: dict[str, Any], mode: str) -> None:
    try:
        user = UserData(**fields, on_invalid=mode)
    except ValidationError:
        return
    check_user(user)
    if user.unresolved_phones:
        try:
            resolved = user.with_default_region("FR")
        except ValidationError:
            assert mode == "raise"
        else:
            assert resolved.unresolved_phones is None
            check_user(resolved)
        dropped = user.without_unresolved("no region")
        assert dropped.unresolved_phones is None
        check_user(dropped)


def test_single_and_several_values_are_stored_flat() -> None:
    user = UserData(email="Jane@Example.com", phone=["+33 6 12 34 56 78", "+1 415 555 2671"])
    assert user.email == ("jane@example.com",)
    assert user._wire["em"] == (normalize.hash_value("jane@example.com"),)
    assert user._wire["ph"] == tuple(normalize.hash_value(p) for p in user.phone or ())
    assert user.to_payload()["em"] == [normalize.hash_value("jane@example.com")]
    shown = "email=['j***@e******.com'], phone=['3********78', '1********71']"
    assert repr(user) == f"UserData({shown})"


def test_unresolved_phones_join_the_known_ones() -> None:
    user = UserData(phone=["+33 6 12 34 56 78", "(415) 555-2671"], email="a@b.com")
    assert user.phone == ("33612345678",)
    assert user.unresolved_phones == ("(415) 555-2671",)
    resolved = user.with_default_region("US")
    assert resolved.phone == ("33612345678", "14155552671")
    assert resolved._wire["ph"] == tuple(normalize.hash_value(p) for p in resolved.phone)
    assert user._wire["ph"] == (normalize.hash_value("33612345678"),)  # the original unchanged
    check_user(resolved)


@pytest.mark.parametrize("name", sorted(CODECS))
def test_enum_names_are_plain_text(name: str) -> None:
    # The event name and action source go in as they are: they must need no escape.
    for member in (*snapcapi.EventName, *snapcapi.ActionSource):
        assert CODECS[name].quote(member.value) == f'"{member.value}"'


def test_a_broken_piece_is_seen() -> None:
    """The comparison catches an encoder whose pieces differ from the whole (a self-check)."""
    event = snapcapi.Event(
        event_name="PURCHASE",
        action_source="OFFLINE",
        event_time=1_780_000_000,
        user_data={"email": "a@b.com"},
        custom_data={"value": decimal.Decimal("1.5"), "currency": "usd"},
        integration='say "hi"',
    )
    naive = _wire.Codec(lambda s: f'"{s}"', ORJSON.value, ORJSON.general)
    assert _wire.encode_event(event, naive) != general(event, "orjson")
    assert _wire.encode_event(event, ORJSON) == general(event, "orjson")


def test_orjson_refusals_take_the_general_path() -> None:
    event = snapcapi.Event(
        event_name="PURCHASE",
        action_source="OFFLINE",
        event_time=1_780_000_000,
        user_data={"email": "a@b.com"},
    )._replace(data_processing_options_country=2**70)
    assert _wire.encode_event(event, ORJSON) == _wire.stdlib_encode(event.to_payload())
    assert b"1180591620717411303424" in _wire.encode_event(event, ORJSON)
