"""Event: construction, the payload Snap receives, send-readiness checks and flat records."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi import (
    ActionSource,
    AppData,
    CustomData,
    Event,
    EventName,
    UserData,
    ValidationError,
    normalize,
)

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)
NOW_TS = int(NOW.timestamp())


def purchase(**overrides):
    fields = {
        "event_name": EventName.PURCHASE,
        "event_time": NOW,
        "action_source": ActionSource.WEB,
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "order-1234",
        "user_data": UserData(
            email=" Person@Example.com ",
            phone="+44 844 412 4653",
            client_ip_address="203.0.113.7",
            client_user_agent="Mozilla/5.0",
        ),
        "custom_data": CustomData(value=Decimal("142.52"), currency="usd", order_id="order-1234"),
    }
    fields.update(overrides)
    return Event(**fields)


def test_design_example_payload():
    """The design's example event serializes to exactly the documented v3 shape."""
    assert purchase().to_payload() == {
        "event_name": "PURCHASE",
        "event_time": NOW_TS,
        "action_source": "WEB",
        "event_id": "order-1234",
        "event_source_url": "https://shop.example.com/checkout",
        "user_data": {
            "em": ["542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"],
            "ph": ["dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
        },
        "custom_data": {"value": 142.52, "currency": "USD", "order_id": "order-1234"},
    }


def test_payload_is_json_with_value_as_a_number():
    """The payload serializes with the standard json module; value is a JSON number."""
    text = json.dumps(purchase().to_payload())
    assert '"value": 142.52' in text


@pytest.mark.parametrize(
    "spelling", ["PURCHASE", "purchase", "Purchase", "Place an Order", EventName.PURCHASE]
)
def test_event_name_spellings(spelling):
    """Event names are case-insensitive and common names map to Snap's."""
    assert purchase(event_name=spelling).event_name is EventName.PURCHASE


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("website", ActionSource.WEB), ("app", ActionSource.MOBILE_APP),
     ("physical_store", ActionSource.OFFLINE), ("OFFLINE", ActionSource.OFFLINE)],
)  # fmt: skip
def test_action_source_spellings(spelling, expected):
    """Snap's and Meta's action source spellings are accepted."""
    assert purchase(action_source=spelling).action_source is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (NOW, NOW_TS),
        (NOW.astimezone(dt.timezone(dt.timedelta(hours=-5))), NOW_TS),
        (dt.date(2026, 11, 23), int(dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc).timestamp())),
        (NOW_TS, NOW_TS),
        (NOW_TS + 0.9, NOW_TS),
        (NOW_TS * 1000 + 999, NOW_TS),
        (str(NOW_TS), NOW_TS),
        ("2026-11-23T12:00:00Z", NOW_TS),
        ("2026-11-23T13:00:00+01:00", NOW_TS),
    ],
)
def test_event_time_forms(given, expected):
    """Aware datetimes, dates, seconds, milliseconds and ISO text all become Unix seconds."""
    assert purchase(event_time=given).event_time == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        (dt.datetime(2026, 11, 23, 12, 0), "naive datetime"),
        ("2026-11-23T12:00:00", "naive datetime"),
        ("yesterday", "not a time"),
        (-5, "positive"),
        (10**15, "too large"),
        (True, "bool"),
        (math.nan, "positive"),
    ],
)
def test_bad_event_times(given, fragment):
    """A naive datetime or a non-time raises, saying what to do."""
    with pytest.raises(ValidationError, match=fragment) as info:
        purchase(event_time=given)
    assert info.value.field == "event_time"


def test_event_time_defaults_to_now_and_event_id_to_a_uuid4():
    """Omitted time is now; omitted event_id is a fresh UUID4, so retries dedupe at Snap."""
    before = int(dt.datetime.now(dt.timezone.utc).timestamp())
    event = Event(event_name="SIGN_UP", action_source="OFFLINE", user_data={"email": "a@x.com"})
    assert before <= event.event_time <= before + 5
    assert uuid.UUID(event.event_id).version == 4
    other = Event(event_name="SIGN_UP", action_source="OFFLINE", user_data={"email": "a@x.com"})
    assert other.event_id != event.event_id


def test_unknown_event_name_lists_the_closest_names():
    """An unknown event name raises with suggestions and the custom-event hint."""
    with pytest.raises(ValidationError) as info:
        purchase(event_name="Purchse")
    assert info.value.field == "event_name"
    assert "'PURCHASE'" in str(info.value)
    assert "CUSTOM_EVENT_1..5" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("event_source_url", "shop.example.com/checkout", r"absolute http\(s\) URL"),
        ("event_source_url", "ftp://shop.example.com/", r"absolute http\(s\) URL"),
        ("event_id", "   ", "empty"),
        ("event_id", "x" * 256, "255"),
        ("user_data", "a@x.com", "UserData or a dict"),
        ("custom_data", 5, "CustomData or a dict"),
        ("action_source", "tv", "not an action source"),
        ("data_processing_options_country", -1, "negative"),
        ("opt_out", "maybe", "true or false"),
    ],
)
def test_structural_mistakes_raise_at_construction(field, value, fragment):
    """Structural mistakes raise ValidationError naming the field."""
    with pytest.raises(ValidationError, match=fragment) as info:
        purchase(**{field: value})
    assert info.value.field == field


def test_lmu_and_optional_fields_in_payload():
    """LMU options, integration and opt_out go to the event root; consent is never sent."""
    payload = purchase(
        data_processing_options="lmu",
        data_processing_options_country=1,
        data_processing_options_state=1000,
        integration="my-shop",
        opt_out="false",
        consent=True,
    ).to_payload()
    assert payload["data_processing_options"] == ["LMU"]
    assert payload["data_processing_options_country"] == 1
    assert payload["data_processing_options_state"] == 1000
    assert payload["integration"] == "my-shop"
    assert payload["opt_out"] is False
    assert "consent" not in payload


def test_a_ready_event_has_no_problems():
    """A complete event judged at its own time has nothing to report."""
    assert purchase().problems(now=NOW) == ()
    assert purchase().notices(now=NOW) == ()
    assert purchase().review(NOW_TS) == ((), ())


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"custom_data": None},
        {"event_source_url": None},
        {"action_source": "OFFLINE", "event_source_url": None},
        {"action_source": "MOBILE_APP"},
        {"event_time": NOW - dt.timedelta(days=8)},
        {"event_time": NOW - dt.timedelta(days=40)},
        {"event_time": NOW + dt.timedelta(minutes=20)},
        {"user_data": UserData(phone="(415) 555-0132")},
        {"user_data": UserData(email=["bad@", "a@x.com"], on_invalid="drop")},
        {"user_data": UserData(client_ip_address="203.0.113.7", client_user_agent="UA")},
        {"event_name": "SEARCH", "custom_data": None},
    ],
)
def test_review_is_problems_and_notices(overrides):
    """The client's fast check gives exactly what problems() and notices() give."""
    event = purchase(**overrides)
    assert event.review(NOW_TS) == (event.problems(now=NOW_TS), event.notices(now=NOW_TS))


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"user_data": UserData(client_ip_address="203.0.113.7")}, "no matching key"),
        ({"custom_data": None}, "PURCHASE events need"),
        ({"custom_data": CustomData(value=5)}, "PURCHASE events need"),
        ({"event_source_url": None}, "WEB events need event_source_url"),
        ({"action_source": "MOBILE_APP"}, "MOBILE_APP events need app_data"),
        ({"user_data": UserData(phone="(415) 555-0132")}, "no country code"),
        ({"event_time": NOW - dt.timedelta(days=38)}, "38 days old"),
        ({"event_time": NOW + dt.timedelta(minutes=11)}, "in the future"),
    ],
)
def test_problems(overrides, fragment):
    """Events unfit to send list why; the time window is judged against 'now'."""
    problems = purchase(**overrides).problems(now=NOW)
    assert any(fragment in p for p in problems), problems


def test_madid_matches_only_app_events():
    """A madid alone is a matching key for MOBILE_APP events only."""
    user = UserData(madid="6d92078a-8246-4ba4-ae5b-76104861e7dc")
    web = purchase(user_data=user)
    app = purchase(user_data=user, action_source="MOBILE_APP", app_data=AppData(platform="ios"))
    assert web.match_keys == ()
    assert app.match_keys == ("madid",)
    assert app.problems(now=NOW) == ()


def test_time_window_edges():
    """37 days old is still accepted (with a notice past 7 days); 10 minutes ahead is accepted."""
    old = purchase(event_time=NOW - dt.timedelta(days=37))
    assert old.problems(now=NOW) == ()
    assert old.notices(now=NOW) == ("event_time is 37 days old; send events within 7 days",)
    assert purchase(event_time=NOW + dt.timedelta(minutes=10)).problems(now=NOW) == ()
    assert purchase(event_time=NOW - dt.timedelta(days=7)).notices(now=NOW) == ()
    assert purchase().problems(now=NOW_TS + 38 * 86400)


def test_warnings_carry_dropped_identifiers():
    """Identifiers dropped with on_invalid='drop' appear as the event's warnings and notices."""
    event = purchase(user_data=UserData(email=["bad@", "a@x.com"], on_invalid="drop"))
    assert event.warnings[0].startswith("email dropped:")
    assert event.notices(now=NOW) == event.warnings


def test_repr_masks_pii_and_is_pinned():
    """The event repr is readable and carries no raw identifiers."""
    assert repr(purchase(user_data=UserData(email="Person@Example.com"))) == (
        "Event(event_name='PURCHASE', action_source='WEB', event_time=1795435200, "
        "event_id='order-1234', user_data=UserData(email=['p*****@e******.com']), "
        "custom_data=CustomData(value=Decimal('142.52'), currency='USD', order_id='order-1234'), "
        "event_source_url='https://shop.example.com/checkout')"
    )


def test_events_are_frozen_and_comparable():
    """Events are immutable values: equal fields compare equal."""
    event = purchase()
    with pytest.raises(AttributeError):
        event.event_id = "x"  # type: ignore[misc]
    assert event == purchase()


# --------------------------------------------------------------------------- from_dict


def test_from_dict_flat_csv_row():
    """A flat row of strings, as a CSV reader gives it, builds the same event as typed values."""
    row = {
        "event_name": "Purchase",
        "event_time": "2026-11-23T12:00:00Z",
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "order-1234",
        "email": " Person@Example.com ",
        "phone": "+44 844 412 4653",
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0",
        "value": "142.52",
        "currency": "usd",
        "order_id": "order-1234",
        "first_name": "",
        "zp": None,
    }
    assert Event.from_dict(row) == purchase()


def test_from_dict_wire_names_prefixes_nesting_and_region():
    """Wire names, dotted prefixes, nested dicts and a default phone region all work."""
    event = Event.from_dict(
        {
            "event_name": "Book Flight",
            "event_time": NOW_TS,
            "action_source": "OFFLINE",
            "ph": "(415) 555-0132",
            "fn": "Jane",
            "country": "US",
            "custom_data.country": "FR",
            "custom_data": {"destination_airport": "cdg", "num_adults": "2"},
            "app_data.platform": "android",
        },
        aliases={"book flight": 3},
        region="US",
    )
    assert event.event_name is EventName.CUSTOM_EVENT_3
    assert event.user_data.phone == ("14155550132",)
    assert event.user_data.country == ("us",)
    assert event.custom_data == CustomData(country="FR", destination_airport="CDG", num_adults=2)
    assert event.app_data == AppData(platform="android")


def test_from_dict_requires_time_and_rejects_unknown_keys():
    """Files must say when an event happened; unknown columns are reported, with suggestions."""
    with pytest.raises(ValidationError, match="event_time: is missing"):
        Event.from_dict({"event_name": "PURCHASE", "action_source": "WEB", "email": "a@x.com"})
    with pytest.raises(ValidationError, match="did you mean 'email'"):
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB", "emal": "x"}
        )
    with pytest.raises(ValidationError, match="custom_data field"):
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
             "custom_data.colour": "red"}
        )  # fmt: skip


def test_from_dict_drop_mode_and_nan():
    """on_invalid='drop' applies to the record's identifiers; NaN cells count as blank."""
    event = Event.from_dict(
        {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "OFFLINE",
         "email": "broken@", "phone": "+14155550132", "value": math.nan},
        on_invalid="drop",
    )  # fmt: skip
    assert event.user_data.email is None
    assert event.user_data.phone == ("14155550132",)
    assert event.custom_data is None
    assert event.warnings


def test_from_dict_extinfo_column():
    """An extinfo column (list or comma-separated text) becomes AppData."""
    event = Event.from_dict(
        {"event_name": "APP_OPEN", "event_time": NOW_TS, "action_source": "app",
         "madid": "6d92078a-8246-4ba4-ae5b-76104861e7dc", "extinfo": "i2,com.shop.app,42"}
    )  # fmt: skip
    assert event.app_data is not None
    assert event.app_data.to_payload()["extinfo"][:3] == ["i2", "com.shop.app", "42"]


record_values = st.one_of(
    st.none(), st.text(st.characters(exclude_categories=()), max_size=30),
    st.integers(), st.floats(), st.booleans(),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)  # fmt: skip
record_keys = st.sampled_from(
    ["event_name", "event_time", "action_source", "email", "phone", "first_name", "value",
     "currency", "num_items", "contents", "content_ids", "event_source_url", "madid",
     "date_of_birth", "country", "opt_out", "data_processing_options", "custom_data",
     "user_data", "platform", "extinfo", "brands", "predicted_ltv"]
)  # fmt: skip


@given(record=st.dictionaries(record_keys, record_values, max_size=10))
@settings(max_examples=500)
def test_any_record_gives_an_event_or_validation_error(record):
    """Whatever a record holds, from_dict gives an Event or ValidationError, nothing else."""
    record = {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB", **record}
    try:
        event = Event.from_dict(record, region="US")
    except ValidationError:
        return
    json.dumps(event.to_payload())
    for moment in (NOW_TS, NOW_TS - 10 * 86400, NOW_TS + 3600, NOW_TS - 40 * 86400):
        assert event.review(moment) == (event.problems(now=moment), event.notices(now=moment))
    repr(event)


def test_hash_of_normalized_values_only():
    """Names in the payload are hashes of normalized text, never of raw input."""
    event = purchase(user_data=UserData(first_name=" JOHN ", email="a@x.com"))
    assert event.to_payload()["user_data"]["fn"] == [normalize.hash_value("john")]


# --------------------------------------------------------------------------- review regressions


def test_date_only_text_is_midnight_utc_and_numpy_times_work():
    """'2026-11-23' means the date at midnight UTC, like a date object; numpy ints are times."""
    midnight = int(dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc).timestamp())
    assert purchase(event_time="2026-11-23").event_time == midnight
    np = pytest.importorskip("numpy")
    assert purchase(event_time=np.int64(NOW_TS)).event_time == NOW_TS


def test_from_dict_checks_its_input_shape():
    """Records must be dicts with string field names; nested dicts take wire names too."""
    with pytest.raises(ValidationError, match="record"):
        Event.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="record"):
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
             "user_data": {"emial": "a@x.com"}}
        )  # fmt: skip
    event = Event.from_dict(
        {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
         "user_data": {"em": "a@x.com"}}
    )  # fmt: skip
    assert event.user_data.email == ("a@x.com",)


def test_repr_hides_the_url_query():
    """Query strings often carry emails or tokens: the repr leaves them out."""
    event = purchase(event_source_url="https://u:pw@shop.example.com/thanks?email=jane@x.com#top")
    assert "jane" not in repr(event)
    assert "pw" not in repr(event)
    assert "event_source_url='https://shop.example.com/thanks?…'" in repr(event)
    assert event.to_payload()["event_source_url"].endswith("?email=jane@x.com#top")


def test_shifted_columns_do_not_leak_into_errors():
    """An email in the event_name or an unknown column header is masked in the error."""
    with pytest.raises(ValidationError) as info:
        purchase(event_name="jane.doe@example.com")
    assert "jane.doe" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
             "jane.doe@example.com": "x"}
        )  # fmt: skip
    assert "jane.doe" not in str(info.value)
